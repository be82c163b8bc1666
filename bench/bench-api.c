/*
 * Salt Mail API throughput of saltmaild, against nginx serving the same
 * bytes as static files over HTTPS in the same run.
 *
 * Setup (not timed): a fresh data folder, one account, many small messages
 * and one large one delivered with `saltmaild deliver`, `saltmaild serve` on
 * a free loopback port, and a login as a client does it (prelogin,
 * Argon2id, login). The first page of the message list and the large
 * message's blob are then fetched once and written under a document root
 * at the same paths, and nginx (Debian's package, run as the current user)
 * serves that root with saltmaild's own certificate.
 *
 * Timed: the same libcurl client code for both servers, each on one reused
 * keep-alive HTTPS connection, the same request lines and headers:
 *   - GET /api/v1/messages?limit=100 (a list page: JSON from the database);
 *   - GET /api/v1/blobs/ID of the large message (bytes from disk).
 * Each is the best of several rounds. The ratio is saltmaild / nginx: 1.0
 * means the API costs no more than handing out a file.
 *
 * Without nginx the saltmaild numbers are printed alone, with a note on
 * stderr, and the program still exits 0. Every child process runs in its
 * own process group, and all of them and the temporary folder are removed
 * at exit, on failure and on SIGINT/SIGTERM/SIGHUP.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "bench.h"
#include "common/buf.h"
#include "crypto/crypto.h"

#ifndef NGINX_PATH
#define NGINX_PATH "/usr/sbin/nginx"
#endif
#ifndef SALTMAILD_PATH
#error "SALTMAILD_PATH must name the saltmaild binary"
#endif

#define BENCH_EMAIL    "bench@example.org"
#define BENCH_PASSWORD "correct horse battery staple"
#define LIST_PATH      "/api/v1/messages?limit=100"
#define START_TIMEOUT  30.0 /* seconds for a server to come up */
#define STOP_GRACE     5.0  /* seconds between SIGTERM and SIGKILL */
#define MAX_RESPONSE   (8 * 1024 * 1024) /* a JSON answer read whole */

extern char **environ;

/* ---- Children and the temporary folder, cleaned up on every exit ---- */

/* Process group leaders we started; 0 when none. */
static volatile pid_t child_serve, child_nginx, child_cmd;
static char tmp_dir[PATH_MAX];

/*
 * Stops the process group led by *pid: SIGTERM, then SIGKILL after grace
 * seconds. The leader is only reaped after the group is swept, so its id
 * cannot have been reused. Returns its wait status.
 */
static int
stop_group(volatile pid_t *pid, double grace)
{
	double until = bench_now() + grace;
	siginfo_t info;
	int status = 0;
	pid_t p = *pid;

	if (p <= 0)
		return 0;
	kill(-p, SIGTERM);
	for (;;) {
		memset(&info, 0, sizeof(info));
		if (waitid(P_PID, (id_t)p, &info,
		           WEXITED | WNOHANG | WNOWAIT) != 0 ||
		    info.si_pid == p || bench_now() > until)
			break;
		usleep(10000);
	}
	/* Whatever is left in the group (nginx's worker, a slow leader). */
	kill(-p, SIGKILL);
	waitpid(p, &status, 0);
	*pid = 0;
	return status;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
cleanup(void)
{
	stop_group(&child_nginx, STOP_GRACE);
	stop_group(&child_serve, STOP_GRACE);
	stop_group(&child_cmd, 0);
	if (tmp_dir[0] != '\0') {
		nftw(tmp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		tmp_dir[0] = '\0';
	}
}

/*
 * On a signal only async-signal-safe calls: kill the groups, have rm
 * remove the folder, then die of the same signal.
 */
static void
on_signal(int sig)
{
	char *const argv[] = {"rm", "-rf", "--", tmp_dir, NULL};
	const pid_t leaders[] = {child_nginx, child_serve, child_cmd};
	size_t i;
	pid_t p;

	for (i = 0; i < SB_N_ELEMENTS(leaders); i++) {
		if (leaders[i] > 0) {
			kill(-leaders[i], SIGKILL);
			waitpid(leaders[i], NULL, 0);
		}
	}
	if (tmp_dir[0] != '\0' && (p = fork()) == 0) {
		execve("/bin/rm", argv, environ);
		_exit(127);
	} else if (tmp_dir[0] != '\0' && p > 0) {
		waitpid(p, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void SB_NORETURN SB_PRINTF(1, 2) fail(const char *fmt, ...)
{
	va_list ap;

	fputs("bench-api: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1); /* cleanup() runs from atexit */
}

/* Prints the last bytes of a log file of the temporary folder. */
static void
print_tail(const char *name)
{
	char path[PATH_MAX + 64], buf[2048];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) != 0)
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "bench-api: --- end of %s ---\n%s\n", name, buf);
}

/* A path inside the temporary folder. */
static void
tmp_path(char *out, size_t size, const char *name)
{
	if ((size_t)snprintf(out, size, "%s/%s", tmp_dir, name) >= size)
		fail("path too long: %s/%s", tmp_dir, name);
}

/* Opens a file of the temporary folder for a child's stdout or stderr. */
static int
open_log(const char *name)
{
	char path[PATH_MAX + 64];
	int fd;

	tmp_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	return fd;
}

/*
 * Starts argv in a process group of its own, with stdin, stdout and stderr
 * from the given descriptors (-1: /dev/null) and no other descriptor of
 * ours. Returns the pid.
 */
static pid_t
spawn(char *const argv[], int in, int out, int err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	const int fds[3] = {in, out, err};
	pid_t pid;
	int i, e;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawnattr_init(&attr) != 0)
		fail("posix_spawn setup failed");
	for (i = 0; i < 3; i++) {
		e = fds[i] >= 0
		            ? posix_spawn_file_actions_adddup2(&fa, fds[i], i)
		            : posix_spawn_file_actions_addopen(
		                      &fa, i, "/dev/null",
		                      i == 0 ? O_RDONLY : O_WRONLY, 0);
		if (e != 0)
			fail("posix_spawn setup failed");
	}
	if (posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0)
		fail("posix_spawn setup failed");
	e = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e != 0)
		fail("cannot run %s: %s", argv[0], strerror(e));
	return pid;
}

/* Runs a short command to its end; fails unless it exits 0. */
static void
run_cmd(char *const argv[], int in, const char *what)
{
	int log = open_log("commands.log"), status;

	child_cmd = spawn(argv, in, log, log);
	close(log);
	if (waitpid(child_cmd, &status, 0) < 0)
		fail("waitpid: %s", strerror(errno));
	child_cmd = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_tail("commands.log");
		fail("%s failed (status %d)", what, status);
	}
}

/* ---- saltmaild: data folder, account, mail, server ---- */

struct setup {
	int quick;
	char data[PATH_MAX + 64], cert[PATH_MAX + 96], key[PATH_MAX + 96];
	char root[PATH_MAX + 64]; /* nginx's document root */
	size_t n_small;           /* small messages delivered */
	size_t big_size;          /* bytes of the large message */
	int serve_out;            /* read end of saltmaild's stdout */
	unsigned serve_port, nginx_port;
};

/* Writes one RFC 5322 message of about body_bytes of text to path. */
static void
write_message(const char *path, size_t i, size_t body_bytes)
{
	static const char line[] =
	        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, "
	        "sed do eiusmod.\r\n";
	size_t n;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail("%s: %s", path, strerror(errno));
	fprintf(f,
	        "From: Alice Example <alice@example.net>\r\n"
	        "To: " BENCH_EMAIL "\r\n"
	        "Subject: Benchmark message %zu\r\n"
	        "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	        "Message-ID: <bench-%zu@example.net>\r\n"
	        "MIME-Version: 1.0\r\n"
	        "Content-Type: text/plain; charset=utf-8\r\n\r\n",
	        i, i);
	for (n = 0; n < body_bytes; n += sizeof(line) - 1)
		fputs(line, f);
	if (fclose(f) != 0)
		fail("%s: write failed", path);
}

static void
deliver_one(struct setup *s, size_t i, size_t body_bytes)
{
	char *argv[] = {SALTMAILD_PATH, "deliver",   "--data", s->data,
	                "--to",         BENCH_EMAIL, NULL};
	char path[PATH_MAX + 64];
	int fd;

	tmp_path(path, sizeof(path), "message.eml");
	write_message(path, i, body_bytes);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail("%s: %s", path, strerror(errno));
	run_cmd(argv, fd, "saltmaild deliver");
	close(fd);
}

/* init, user add (password through a pipe), then the mail. */
static void
setup_data(struct setup *s)
{
	char *init[] = {SALTMAILD_PATH, "init", "--data", s->data, NULL};
	char *add[] = {SALTMAILD_PATH,     "user",  "add",
	               "--data",           s->data, BENCH_EMAIL,
	               "--password-stdin", NULL};
	static const char pw[] = BENCH_PASSWORD "\n";
	double t = bench_now();
	int p[2];
	size_t i;

	tmp_path(s->data, sizeof(s->data), "data");
	snprintf(s->cert, sizeof(s->cert), "%s/tls/cert.pem", s->data);
	snprintf(s->key, sizeof(s->key), "%s/tls/key.pem", s->data);
	run_cmd(init, -1, "saltmaild init");
	if (pipe2(p, O_CLOEXEC) != 0)
		fail("pipe: %s", strerror(errno));
	/* The line fits in the pipe: write it before the reader starts. */
	if (write(p[1], pw, sizeof(pw) - 1) != (ssize_t)(sizeof(pw) - 1))
		fail("pipe write: %s", strerror(errno));
	close(p[1]);
	run_cmd(add, p[0], "saltmaild user add");
	close(p[0]);
	/* The large one first: the first page holds small ones only. */
	deliver_one(s, 0, s->big_size);
	for (i = 1; i <= s->n_small; i++)
		deliver_one(s, i, 1500 + (i * 37) % 3000);
	fprintf(stderr, "bench-api: delivered %zu messages in %.1f s\n",
	        s->n_small + 1, bench_now() - t);
}

/*
 * Starts `saltmaild serve` and reads "saltmaild: ready https://ADDR:PORT"
 * from its stdout, which stays open (unread) until the end.
 */
static void
start_saltmaild(struct setup *s)
{
	static const char ready[] = "saltmaild: ready https://127.0.0.1:";
	char *argv[] = {SALTMAILD_PATH, "serve",       "--data",        s->data,
	                "--listen",     "127.0.0.1:0", "--open-signup", NULL};
	char line[256], *end;
	double until = bench_now() + START_TIMEOUT;
	size_t len = 0;
	unsigned long port;
	int p[2], err;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0)
		fail("pipe: %s", strerror(errno));
	err = open_log("saltmaild.log");
	child_serve = spawn(argv, -1, p[1], err);
	close(p[1]);
	close(err);
	s->serve_out = p[0];
	while (memchr(line, '\n', len) == NULL) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int left = (int)((until - bench_now()) * 1000);

		if (left <= 0 || poll(&pfd, 1, left) <= 0 ||
		    len + 1 >= sizeof(line) ||
		    (n = read(p[0], line + len, sizeof(line) - 1 - len)) <= 0) {
			print_tail("saltmaild.log");
			fail("saltmaild serve printed no ready line");
		}
		len += (size_t)n;
	}
	line[len] = '\0';
	errno = 0;
	port = strncmp(line, ready, sizeof(ready) - 1) == 0
	               ? strtoul(line + sizeof(ready) - 1, &end, 10)
	               : 0;
	if (port == 0 || port > 65535 || errno != 0 || *end != '\n')
		fail("unexpected ready line: %s", line);
	s->serve_port = (unsigned)port;
}

/* ---- The HTTPS client: one easy handle, one kept-alive connection ---- */

struct client {
	CURL *h;
	char base[64]; /* https://127.0.0.1:PORT */
	struct curl_slist *headers;
	char errbuf[CURL_ERROR_SIZE];
};

/* The write callbacks: count, keep in a buffer, or write to a file. */
static size_t
sink_count(char *data, size_t size, size_t n, void *ctx)
{
	(void)data;
	*(size_t *)ctx += size * n;
	return size * n;
}

static size_t
sink_buf(char *data, size_t size, size_t n, void *ctx)
{
	return sb_buf_add(ctx, data, size * n) == 0 ? size * n : 0;
}

static size_t
sink_file(char *data, size_t size, size_t n, void *ctx)
{
	return fwrite(data, size, n, ctx) * size;
}

static void
client_init(struct client *c, unsigned port, const char *cafile)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->base, sizeof(c->base), "https://127.0.0.1:%u", port);
	c->h = curl_easy_init();
	if (c->h == NULL)
		fail("curl_easy_init failed");
	curl_easy_setopt(c->h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c->h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	/*
	 * The same cipher for both servers, whichever TLS version each
	 * speaks (Debian's nginx 1.22 enables 1.3 only when told to, as
	 * the configuration below does).
	 */
	curl_easy_setopt(c->h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(c->h, CURLOPT_TLS13_CIPHERS, "TLS_AES_256_GCM_SHA384");
	curl_easy_setopt(c->h, CURLOPT_SSL_CIPHER_LIST,
	                 "ECDHE-ECDSA-AES256-GCM-SHA384:"
	                 "ECDHE-RSA-AES256-GCM-SHA384");
	curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c->h, CURLOPT_ERRORBUFFER, c->errbuf);
}

static void
client_free(struct client *c)
{
	curl_slist_free_all(c->headers);
	if (c->h != NULL)
		curl_easy_cleanup(c->h);
	c->h = NULL;
	c->headers = NULL;
}

/* Every later request carries this header (both servers get the same). */
static void
client_set_token(struct client *c, const char *token)
{
	struct sb_buf b;

	sb_buf_init(&b, API_TOKEN_MAX + 64);
	if (sb_buf_add_printf(&b, "Authorization: Bearer %s", token) != 0)
		fail("access token too long");
	c->headers = curl_slist_append(c->headers, sb_buf_str(&b));
	sb_buf_free_wipe(&b);
	if (c->headers == NULL)
		fail("out of memory");
}

/*
 * One request on the kept connection: GET, or POST of a JSON body when
 * json is not NULL. The answer goes to the write callback; fails unless
 * the status is 200. Returns the number of new connections it opened.
 */
static long
client_do(struct client *c, const char *path, const char *json,
          curl_write_callback fn, void *ctx)
{
	struct curl_slist *post = NULL;
	char url[512];
	long status = 0, connects = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s%s", c->base, path);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, fn);
	curl_easy_setopt(c->h, CURLOPT_WRITEDATA, ctx);
	if (json != NULL) {
		post = curl_slist_append(NULL, "Content-Type: "
		                               "application/json");
		if (post == NULL)
			fail("out of memory");
		curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, post);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(c->h, CURLOPT_POSTFIELDSIZE,
		                 (long)strlen(json));
	} else {
		curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, c->headers);
		curl_easy_setopt(c->h, CURLOPT_HTTPGET, 1L);
	}
	rc = curl_easy_perform(c->h);
	curl_slist_free_all(post);
	if (rc != CURLE_OK)
		fail("%s%s: %s", c->base, path,
		     c->errbuf[0] != '\0' ? c->errbuf : curl_easy_strerror(rc));
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &connects);
	if (status != 200)
		fail("%s%s: HTTP status %ld", c->base, path, status);
	return connects;
}

/* A request whose JSON answer is parsed; the object is the caller's. */
static struct json_object *
client_json(struct client *c, const char *path, const char *post)
{
	struct json_object *obj;
	const char *error;
	struct sb_buf b;

	sb_buf_init(&b, MAX_RESPONSE);
	client_do(c, path, post, sink_buf, &b);
	if (api_json_parse(b.data, b.len, &obj, &error) != 0)
		fail("%s: %s", path, error);
	sb_buf_free(&b);
	return obj;
}

/* prelogin, the password keys, login: returns the access token. */
static char *
login(struct client *c)
{
	struct json_object *req, *resp, *kdf_obj;
	struct sb_password_keys *keys;
	struct sb_kdf_params params;
	struct api_session session;
	struct api_kdf kdf;
	const char *error;
	char *token;
	size_t len;

	req = json_object_new_object();
	api_json_add_string(req, "email", BENCH_EMAIL);
	resp = client_json(c, "/api/v1/auth/prelogin",
	                   api_json_text(req, &len));
	json_object_put(req);
	if (api_json_get_object(resp, "kdf", true, &kdf_obj, &error) != 0 ||
	    api_kdf_decode(kdf_obj, API_LENIENT, &kdf, &error) != 0)
		fail("prelogin: %s", error);
	json_object_put(resp);
	params.opslimit = kdf.opslimit;
	params.memlimit = kdf.memlimit;
	memcpy(params.salt, kdf.salt, sizeof(params.salt));
	if (sb_kdf_params_check(&params, &error) != 0 ||
	    sb_password_derive(BENCH_PASSWORD, strlen(BENCH_PASSWORD), &params,
	                       &keys, &error) != 0)
		fail("password keys: %s", error);
	req = json_object_new_object();
	api_json_add_string(req, "email", BENCH_EMAIL);
	api_json_add_bytes(req, "auth_key", keys->auth_key,
	                   sizeof(keys->auth_key));
	sb_secure_free(&keys);
	resp = client_json(c, "/api/v1/auth/login", api_json_text(req, &len));
	json_object_put(req);
	if (api_session_decode(resp, API_LENIENT, &session, &error) != 0)
		fail("login: %s", error);
	json_object_put(resp);
	token = session.access_token;
	session.access_token = NULL;
	api_session_free(&session);
	return token;
}

/*
 * Pages through the whole list (checking every message decodes) and
 * returns the blob id of the largest message, malloc'd.
 */
static char *
find_big_blob(struct client *c, size_t *count_r)
{
	struct json_object *resp, *msgs, *cursor;
	struct api_message m;
	char path[512], *best = NULL, *esc;
	uint64_t best_size = 0;
	const char *error;
	size_t i, count = 0;

	snprintf(path, sizeof(path), "/api/v1/messages?limit=%d", API_MAX_PAGE);
	for (;;) {
		resp = client_json(c, path, NULL);
		if (!json_object_object_get_ex(resp, "messages", &msgs) ||
		    !json_object_is_type(msgs, json_type_array))
			fail("message list without messages");
		for (i = 0; i < json_object_array_length(msgs); i++, count++) {
			if (api_message_decode(
			            json_object_array_get_idx(msgs, i),
			            API_LENIENT, &m, &error) != 0)
				fail("message list: %s", error);
			if (best == NULL || m.size > best_size) {
				free(best);
				best = strdup(m.blob_id);
				best_size = m.size;
			}
			api_message_free(&m);
		}
		if (!json_object_object_get_ex(resp, "next_cursor", &cursor) ||
		    !json_object_is_type(cursor, json_type_string)) {
			json_object_put(resp);
			break;
		}
		esc = curl_easy_escape(c->h, json_object_get_string(cursor), 0);
		snprintf(path, sizeof(path),
		         "/api/v1/messages?limit=%d&cursor=%s", API_MAX_PAGE,
		         esc);
		curl_free(esc);
		json_object_put(resp);
	}
	if (best == NULL)
		fail("no messages listed");
	*count_r = count;
	return best;
}

/* Creates the folders of path under root (mkdir -p of its dirname). */
static void
make_parents(const char *root, const char *path, char *full, size_t size)
{
	char *p;

	if ((size_t)snprintf(full, size, "%s%s", root, path) >= size)
		fail("path too long: %s%s", root, path);
	for (p = full + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(full, 0700) != 0 && errno != EEXIST)
			fail("mkdir %s: %s", full, strerror(errno));
		*p = '/';
	}
}

/*
 * Fetches url_path from saltmaild into the document root at file_path
 * (the bytes nginx will serve); returns their size.
 */
static size_t
capture(struct client *c, const char *url_path, const char *file_path,
        const char *root)
{
	char full[PATH_MAX + 256];
	FILE *f;
	long size;

	make_parents(root, file_path, full, sizeof(full));
	f = fopen(full, "wb");
	if (f == NULL)
		fail("%s: %s", full, strerror(errno));
	client_do(c, url_path, NULL, sink_file, f);
	size = ftell(f);
	if (fclose(f) != 0 || size <= 0)
		fail("%s: write failed", full);
	return (size_t)size;
}

/* ---- nginx: the same bytes as static files, same certificate ---- */

/* A free loopback port: bound, read back, released. */
static unsigned
free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		fail("no free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

static void
write_nginx_conf(const struct setup *s, const char *path)
{
	struct passwd *pw = geteuid() == 0 ? getpwuid(0) : NULL;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		fail("%s: %s", path, strerror(errno));
	/* As root nginx would drop its worker to nobody: keep the user. */
	if (pw != NULL)
		fprintf(f, "user %s;\n", pw->pw_name);
	fprintf(f,
	        "worker_processes 1;\n"
	        "daemon off;\n"
	        "pid %1$s/nginx.pid;\n"
	        "error_log %1$s/nginx-error.log warn;\n"
	        "events { worker_connections 64; }\n"
	        "http {\n"
	        "  access_log %1$s/nginx-access.log;\n"
	        "  client_body_temp_path %1$s/nginx-body;\n"
	        "  proxy_temp_path %1$s/nginx-proxy;\n"
	        "  fastcgi_temp_path %1$s/nginx-fastcgi;\n"
	        "  uwsgi_temp_path %1$s/nginx-uwsgi;\n"
	        "  scgi_temp_path %1$s/nginx-scgi;\n"
	        "  keepalive_requests 1000000;\n"
	        "  keepalive_timeout 120s;\n"
	        "  types { }\n"
	        "  default_type application/octet-stream;\n"
	        "  server {\n"
	        "    listen 127.0.0.1:%2$u ssl;\n"
	        "    ssl_certificate %3$s;\n"
	        "    ssl_certificate_key %4$s;\n"
	        "    ssl_protocols TLSv1.2 TLSv1.3;\n"
	        "    root %5$s;\n"
	        "    location = /api/v1/messages {\n"
	        "      default_type application/json;\n"
	        "    }\n"
	        "  }\n"
	        "}\n",
	        tmp_dir, s->nginx_port, s->cert, s->key, s->root);
	if (fclose(f) != 0)
		fail("%s: write failed", path);
}

/* Waits until something accepts on the port, or the child exits. */
static int
wait_listening(unsigned port, volatile pid_t *pid)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	double until = bench_now() + START_TIMEOUT;
	int fd, ok, status;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	while (bench_now() < until) {
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = 0;
			return -1;
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ok = fd >= 0 &&
		     connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* Starts nginx as the current user; -1 (and a note) when it cannot. */
static int
start_nginx(struct setup *s)
{
	char conf[PATH_MAX + 64], errlog[PATH_MAX + 64];
	char *argv[] = {NGINX_PATH, "-p", tmp_dir, "-e",
	                errlog,     "-c", conf,    NULL};
	int out;

	if (access(NGINX_PATH, X_OK) != 0) {
		fprintf(stderr,
		        "bench-api: no %s (Debian's nginx-light): "
		        "no baseline in this run\n",
		        NGINX_PATH);
		return -1;
	}
	tmp_path(conf, sizeof(conf), "nginx.conf");
	tmp_path(errlog, sizeof(errlog), "nginx-error.log");
	s->nginx_port = free_port();
	write_nginx_conf(s, conf);
	out = open_log("nginx.out");
	child_nginx = spawn(argv, -1, out, out);
	close(out);
	if (wait_listening(s->nginx_port, &child_nginx) != 0) {
		print_tail("nginx.out");
		print_tail("nginx-error.log");
		stop_group(&child_nginx, 0);
		fprintf(stderr, "bench-api: nginx did not start: no baseline "
		                "in this run\n");
		return -1;
	}
	return 0;
}

/* ---- Timed runs ---- */

struct job {
	struct client *c;
	const char *path;
	size_t expect; /* bytes of each answer */
	int count;     /* requests per round */
	long connects; /* new connections opened during the rounds */
};

static void
run_requests(void *arg)
{
	struct job *j = arg;
	size_t got;
	int i;

	for (i = 0; i < j->count; i++) {
		got = 0;
		j->connects += client_do(j->c, j->path, NULL, sink_count, &got);
		if (got != j->expect)
			fail("%s%s: %zu bytes, expected %zu", j->c->base,
			     j->path, got, j->expect);
	}
}

/* Requests per round for about `target` seconds on the slower server. */
static int
calibrate(struct job *j, double target, int min, int max)
{
	double t, per;
	int n = j->count;

	t = bench_now();
	run_requests(j);
	per = (bench_now() - t) / n;
	n = per > 0 ? (int)(target / per) : max;
	return n < min ? min : n > max ? max : n;
}

static double
time_round(struct job *j)
{
	double t = bench_now();

	run_requests(j);
	return (bench_now() - t) / j->count;
}

/*
 * Best-of-rounds seconds per request of a and of b (NULL: a alone). The
 * rounds alternate, so a burst of load elsewhere on the machine falls on
 * both sides alike. Warns if a connection was not kept.
 */
static void
measure(struct job *a, struct job *b, int rounds, double *ta_r, double *tb_r)
{
	struct job *both[2] = {a, b};
	double t;
	int i, k;

	for (k = 0; k < 2 && both[k] != NULL; k++)
		both[k]->connects = 0;
	for (i = 0; i < rounds; i++) {
		t = time_round(a);
		*ta_r = i == 0 || t < *ta_r ? t : *ta_r;
		if (b == NULL)
			continue;
		t = time_round(b);
		*tb_r = i == 0 || t < *tb_r ? t : *tb_r;
	}
	for (k = 0; k < 2 && both[k] != NULL; k++) {
		if (both[k]->connects != 0)
			fprintf(stderr,
			        "bench-api: %s opened %ld new connections "
			        "while timed\n",
			        both[k]->c->base, both[k]->connects);
	}
}

static void
report(struct bench_report *r, const char *name, double value, const char *unit,
       const char *base_name, double base_value, int have_base)
{
	if (have_base)
		bench_report_add(r, name, value, unit, base_name, base_value);
	else
		printf("%s: %.6g %s\n", name, value, unit);
}

/* Both measurements for saltmaild and, with have_base, for nginx. */
static void
run_timed(struct bench_report *r, const struct setup *s, struct client *api,
          struct client *ngx, const char *blob_path, size_t list_bytes,
          size_t blob_bytes, int have_base)
{
	int rounds = s->quick ? 1 : 7;
	struct job la = {api, LIST_PATH, list_bytes, 20, 0};
	struct job ln = {ngx, LIST_PATH, list_bytes, 1, 0};
	struct job ba = {api, blob_path, blob_bytes, 2, 0};
	struct job bn = {ngx, blob_path, blob_bytes, 1, 0};
	double t_la = 0, t_ln = 0, t_ba = 0, t_bn = 0, mb;
	char name[64];

	/* Warm both connections and caches; size the rounds on saltmaild. */
	la.count = s->quick ? 10 : calibrate(&la, 0.5, 100, 20000);
	ba.count = s->quick ? 2 : calibrate(&ba, 0.5, 3, 200);
	if (have_base) {
		run_requests(&ln);
		run_requests(&bn);
	}
	ln.count = la.count;
	bn.count = ba.count;
	measure(&la, have_base ? &ln : NULL, rounds, &t_la, &t_ln);
	measure(&ba, have_base ? &bn : NULL, rounds, &t_ba, &t_bn);
	fprintf(stderr,
	        "bench-api: list page %zu bytes, %d requests a round; blob "
	        "%zu bytes, %d downloads a round; best of %d\n",
	        list_bytes, la.count, blob_bytes, ba.count, rounds);
	report(r, "api_message_list", 1 / t_la, "req/s", "nginx_static_json",
	       have_base ? 1 / t_ln : 0, have_base);
	mb = (double)list_bytes / 1e6;
	report(r, "api_message_list_bytes", mb / t_la, "MB/s",
	       "nginx_static_json", have_base ? mb / t_ln : 0, have_base);
	mb = (double)blob_bytes / 1e6;
	snprintf(name, sizeof(name), "api_blob_download_%s",
	         s->quick ? "quick" : "10MB");
	report(r, name, mb / t_ba, "MB/s", "nginx_static_file",
	       have_base ? mb / t_bn : 0, have_base);
}

/* ---- main ---- */

static void
setup_start(struct setup *s, int quick)
{
	const char *base = getenv("TMPDIR");
	struct sigaction sa;

	memset(s, 0, sizeof(*s));
	s->quick = quick;
	s->n_small = quick ? 20 : 500;
	s->big_size = quick ? 200 * 1000 : 10 * 1000 * 1000;
	s->serve_out = -1;
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/bench-api-XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (atexit(cleanup) != 0 || mkdtemp(tmp_dir) == NULL) {
		tmp_dir[0] = '\0';
		fail("cannot make a temporary folder: %s", strerror(errno));
	}
	tmp_path(s->root, sizeof(s->root), "www");
	if (mkdir(s->root, 0700) != 0)
		fail("mkdir %s: %s", s->root, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct bench_report *r = bench_report_new(argc, argv);
	struct client api, ngx;
	struct setup s;
	char blob_path[API_ID_MAX + 32], *token, *blob_id;
	size_t list_bytes, blob_bytes, listed;
	int have_base, status;

	if (sb_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
		fail("cannot initialise libsodium or libcurl");
	setup_start(&s, bench_report_quick(r));
	setup_data(&s);
	start_saltmaild(&s);
	client_init(&api, s.serve_port, s.cert);
	token = login(&api);
	client_set_token(&api, token);
	blob_id = find_big_blob(&api, &listed);
	if (listed != s.n_small + 1)
		fail("listed %zu messages, delivered %zu", listed,
		     s.n_small + 1);
	snprintf(blob_path, sizeof(blob_path), "/api/v1/blobs/%s", blob_id);
	free(blob_id);
	list_bytes = capture(&api, LIST_PATH, "/api/v1/messages", s.root);
	blob_bytes = capture(&api, blob_path, blob_path, s.root);
	have_base = start_nginx(&s) == 0;
	client_init(&ngx, s.nginx_port, s.cert);
	client_set_token(&ngx, token);
	sodium_memzero(token, strlen(token));
	free(token);
	run_timed(r, &s, &api, &ngx, blob_path, list_bytes, blob_bytes,
	          have_base);
	client_free(&api);
	client_free(&ngx);
	curl_global_cleanup();
	status = stop_group(&child_serve, STOP_GRACE);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_tail("saltmaild.log");
		fprintf(stderr, "bench-api: saltmaild stopped with status %d\n",
		        status);
	}
	stop_group(&child_nginx, STOP_GRACE);
	if (s.serve_out >= 0)
		close(s.serve_out);
	return bench_report_finish(&r);
}
