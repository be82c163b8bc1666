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
 * at exit, on failure and on SIGINT/SIGTERM/SIGHUP (bench.h).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "bench-bridge.h"
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
#define START_TIMEOUT  30.0              /* seconds for nginx to come up */
#define CMD_LOG        "commands.log"    /* the short commands' output */
#define MAX_RESPONSE   (8 * 1024 * 1024) /* a JSON answer read whole */

/* ---- saltmaild: data folder, account, mail, server ---- */

struct setup {
	int quick;
	struct bench_saltmaild d;
	char key[PATH_MAX + 96];  /* saltmaild's certificate's key */
	char root[PATH_MAX + 64]; /* nginx's document root */
	size_t n_small;           /* small messages delivered */
	size_t big_size;          /* bytes of the large message */
	unsigned nginx_port;
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
		bench_fail("%s: %s", path, strerror(errno));
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
		bench_fail("%s: write failed", path);
}

static void
deliver_one(struct setup *s, size_t i, size_t body_bytes)
{
	char *argv[] = {SALTMAILD_PATH, "deliver",   "--data", s->d.data,
	                "--to",         BENCH_EMAIL, NULL};
	char path[PATH_MAX + 64];
	int fd;

	bench_tmp_path(path, sizeof(path), "message.eml");
	write_message(path, i, body_bytes);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		bench_fail("%s: %s", path, strerror(errno));
	bench_run(argv, fd, CMD_LOG, CMD_LOG, "saltmaild deliver");
	close(fd);
}

/* init, user add (password through a pipe), then the mail. */
static void
setup_data(struct setup *s)
{
	char *init[] = {SALTMAILD_PATH, "init", "--data", s->d.data, NULL};
	char *add[] = {SALTMAILD_PATH,     "user",    "add",
	               "--data",           s->d.data, BENCH_EMAIL,
	               "--password-stdin", NULL};
	static const char pw[] = BENCH_PASSWORD "\n";
	double t = bench_now();
	int p[2];
	size_t i;

	snprintf(s->key, sizeof(s->key), "%s/tls/key.pem", s->d.data);
	bench_run(init, -1, CMD_LOG, CMD_LOG, "saltmaild init");
	if (pipe2(p, O_CLOEXEC) != 0)
		bench_fail("pipe: %s", strerror(errno));
	/* The line fits in the pipe: write it before the reader starts. */
	if (write(p[1], pw, sizeof(pw) - 1) != (ssize_t)(sizeof(pw) - 1))
		bench_fail("pipe write: %s", strerror(errno));
	close(p[1]);
	bench_run(add, p[0], CMD_LOG, CMD_LOG, "saltmaild user add");
	close(p[0]);
	/* The large one first: the first page holds small ones only. */
	deliver_one(s, 0, s->big_size);
	for (i = 1; i <= s->n_small; i++)
		deliver_one(s, i, 1500 + (i * 37) % 3000);
	fprintf(stderr, "bench-api: delivered %zu messages in %.1f s\n",
	        s->n_small + 1, bench_now() - t);
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
		bench_fail("curl_easy_init failed");
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
		bench_fail("access token too long");
	c->headers = curl_slist_append(c->headers, sb_buf_str(&b));
	sb_buf_free_wipe(&b);
	if (c->headers == NULL)
		bench_fail("out of memory");
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
			bench_fail("out of memory");
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
		bench_fail("%s%s: %s", c->base, path,
		           c->errbuf[0] != '\0' ? c->errbuf
		                                : curl_easy_strerror(rc));
	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &connects);
	if (status != 200)
		bench_fail("%s%s: HTTP status %ld", c->base, path, status);
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
		bench_fail("%s: %s", path, error);
	sb_buf_free(&b);
	return obj;
}

/* prelogin, the password keys, login: returns the access token. */
static char *
login(struct client *c)
{
	struct json_object *req, *resp, *kdf_obj;
	struct sb_password_keys *keys;
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
		bench_fail("prelogin: %s", error);
	json_object_put(resp);
	keys = bench_password_keys(&kdf, BENCH_PASSWORD);
	req = json_object_new_object();
	api_json_add_string(req, "email", BENCH_EMAIL);
	api_json_add_bytes(req, "auth_key", keys->auth_key,
	                   sizeof(keys->auth_key));
	sb_secure_free(&keys);
	resp = client_json(c, "/api/v1/auth/login", api_json_text(req, &len));
	json_object_put(req);
	if (api_session_decode(resp, API_LENIENT, &session, &error) != 0)
		bench_fail("login: %s", error);
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
			bench_fail("message list without messages");
		for (i = 0; i < json_object_array_length(msgs); i++, count++) {
			if (api_message_decode(
			            json_object_array_get_idx(msgs, i),
			            API_LENIENT, &m, &error) != 0)
				bench_fail("message list: %s", error);
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
		bench_fail("no messages listed");
	*count_r = count;
	return best;
}

/* Creates the folders of path under root (mkdir -p of its dirname). */
static void
make_parents(const char *root, const char *path, char *full, size_t size)
{
	char *p;

	if ((size_t)snprintf(full, size, "%s%s", root, path) >= size)
		bench_fail("path too long: %s%s", root, path);
	for (p = full + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(full, 0700) != 0 && errno != EEXIST)
			bench_fail("mkdir %s: %s", full, strerror(errno));
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
		bench_fail("%s: %s", full, strerror(errno));
	client_do(c, url_path, NULL, sink_file, f);
	size = ftell(f);
	if (fclose(f) != 0 || size <= 0)
		bench_fail("%s: write failed", full);
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
		bench_fail("no free port: %s", strerror(errno));
	close(fd);
	return ntohs(a.sin_port);
}

static void
write_nginx_conf(const struct setup *s, const char *path)
{
	struct passwd *pw = geteuid() == 0 ? getpwuid(0) : NULL;
	FILE *f = fopen(path, "w");

	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
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
	        bench_tmp_dir(), s->nginx_port, s->d.cert, s->key, s->root);
	if (fclose(f) != 0)
		bench_fail("%s: write failed", path);
}

/* Waits until something accepts on the port, or the child exits. */
static int
wait_listening(unsigned port, enum bench_child slot)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	double until = bench_now() + START_TIMEOUT;
	int fd, ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	while (bench_now() < until) {
		if (bench_child_ended(slot))
			return -1;
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
	char conf[PATH_MAX + 64], errlog[PATH_MAX + 64], prefix[PATH_MAX];
	char *argv[] = {NGINX_PATH, "-p", prefix, "-e",
	                errlog,     "-c", conf,   NULL};
	int out;

	if (access(NGINX_PATH, X_OK) != 0) {
		fprintf(stderr,
		        "bench-api: no %s (Debian's nginx-light): "
		        "no baseline in this run\n",
		        NGINX_PATH);
		return -1;
	}
	snprintf(prefix, sizeof(prefix), "%s", bench_tmp_dir());
	bench_tmp_path(conf, sizeof(conf), "nginx.conf");
	bench_tmp_path(errlog, sizeof(errlog), "nginx-error.log");
	s->nginx_port = free_port();
	write_nginx_conf(s, conf);
	out = bench_open_log("nginx.out");
	bench_spawn(BENCH_CHILD_OTHER, argv, -1, out, out);
	close(out);
	if (wait_listening(s->nginx_port, BENCH_CHILD_OTHER) != 0) {
		bench_print_tail("nginx.out");
		bench_print_tail("nginx-error.log");
		bench_stop(BENCH_CHILD_OTHER, 0);
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
			bench_fail("%s%s: %zu bytes, expected %zu", j->c->base,
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
	memset(s, 0, sizeof(*s));
	s->quick = quick;
	s->n_small = quick ? 20 : 500;
	s->big_size = quick ? 200 * 1000 : 10 * 1000 * 1000;
	bench_saltmaild_init(&s->d);
	bench_tmp_path(s->root, sizeof(s->root), "www");
	if (mkdir(s->root, 0700) != 0)
		bench_fail("mkdir %s: %s", s->root, strerror(errno));
}

int
main(int argc, char **argv)
{
	struct bench_report *r = bench_report_new(argc, argv);
	struct client api, ngx;
	struct setup s;
	char blob_path[API_ID_MAX + 32], *token, *blob_id;
	size_t list_bytes, blob_bytes, listed;
	int have_base;

	bench_setup("bench-api");
	if (sb_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
		bench_fail("cannot initialise libsodium or libcurl");
	setup_start(&s, bench_report_quick(r));
	setup_data(&s);
	bench_saltmaild_start(&s.d, SALTMAILD_PATH, NULL);
	client_init(&api, s.d.port, s.d.cert);
	token = login(&api);
	client_set_token(&api, token);
	blob_id = find_big_blob(&api, &listed);
	if (listed != s.n_small + 1)
		bench_fail("listed %zu messages, delivered %zu", listed,
		           s.n_small + 1);
	snprintf(blob_path, sizeof(blob_path), "/api/v1/blobs/%s", blob_id);
	free(blob_id);
	list_bytes = capture(&api, LIST_PATH, "/api/v1/messages", s.root);
	blob_bytes = capture(&api, blob_path, blob_path, s.root);
	have_base = start_nginx(&s) == 0;
	client_init(&ngx, s.nginx_port, s.d.cert);
	client_set_token(&ngx, token);
	sodium_memzero(token, strlen(token));
	free(token);
	run_timed(r, &s, &api, &ngx, blob_path, list_bytes, blob_bytes,
	          have_base);
	client_free(&api);
	client_free(&ngx);
	curl_global_cleanup();
	/* A saltmaild that stops badly is reported; the figures stand. */
	bench_saltmaild_stop(&s.d, false);
	bench_stop(BENCH_CHILD_OTHER, BENCH_STOP_GRACE);
	return bench_report_finish(&r);
}
