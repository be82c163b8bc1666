/*
 * The child processes and the temporary folder of the benchmarks that
 * drive real servers (bench-api, bench-sync, bench-imap, bench-smtp), and the
 * mail they give saltmaild to import; see bench.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "common/codec.h"

#define START_TIMEOUT 30.0 /* seconds for saltmaild to come up */

extern char **environ;

/* Each slot's child: a process group leader, or the fork (0: none). */
static volatile pid_t bench_children[BENCH_N_CHILDREN];
/* Only this process cleans up: a forked child must leave it all be. */
static pid_t bench_owner;
static const char *bench_name = "bench";
static char bench_tmp[PATH_MAX];

static int
bench_remove_entry(const char *path, const struct stat *st, int flag,
                   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void
bench_remove_tree(const char *path)
{
	nftw(path, bench_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
bench_stop(enum bench_child slot, double grace)
{
	double until = bench_now() + grace;
	pid_t p = bench_children[slot];
	siginfo_t info;
	int status = 0;

	if (p <= 0)
		return 0;
	if (slot == BENCH_CHILD_FORK) {
		/* In our own process group: only the child itself. */
		kill(p, SIGKILL);
		waitpid(p, &status, 0);
		bench_children[slot] = 0;
		return status;
	}
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
	bench_children[slot] = 0;
	return status;
}

static void
bench_cleanup(void)
{
	if (getpid() != bench_owner)
		return;
	bench_stop(BENCH_CHILD_FORK, 0);
	bench_stop(BENCH_CHILD_CMD, 0);
	bench_stop(BENCH_CHILD_OTHER, BENCH_STOP_GRACE);
	bench_stop(BENCH_CHILD_SERVE, BENCH_STOP_GRACE);
	if (bench_tmp[0] != '\0') {
		bench_remove_tree(bench_tmp);
		bench_tmp[0] = '\0';
	}
}

/*
 * Async-signal-safe only: kill the children, have rm remove the folder,
 * then die of the same signal. In a forked child: just die.
 */
static void
bench_on_signal(int sig)
{
	char *const argv[] = {"rm", "-rf", "--", bench_tmp, NULL};
	size_t i;
	pid_t p;

	if (getpid() != bench_owner)
		_exit(128 + sig);
	for (i = 0; i < BENCH_N_CHILDREN; i++) {
		p = bench_children[i];
		if (p > 0) {
			kill(i == BENCH_CHILD_FORK ? p : -p, SIGKILL);
			waitpid(p, NULL, 0);
		}
	}
	if (bench_tmp[0] != '\0' && (p = fork()) == 0) {
		execve("/bin/rm", argv, environ);
		_exit(127);
	} else if (bench_tmp[0] != '\0' && p > 0) {
		waitpid(p, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void
bench_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (bench_owner != 0 && getpid() != bench_owner)
		_exit(1);
	exit(1); /* bench_cleanup() runs from atexit */
}

void
bench_setup(const char *name)
{
	const char *base = getenv("TMPDIR");
	struct sigaction sa;

	bench_name = name;
	bench_owner = getpid();
	snprintf(bench_tmp, sizeof(bench_tmp), "%s/%s-XXXXXX",
	         base != NULL && base[0] != '\0' ? base : "/tmp", name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bench_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (atexit(bench_cleanup) != 0 || mkdtemp(bench_tmp) == NULL) {
		bench_tmp[0] = '\0';
		bench_fail("cannot make a temporary folder: %s",
		           strerror(errno));
	}
}

const char *
bench_tmp_dir(void)
{
	return bench_tmp;
}

void
bench_tmp_path(char *out, size_t size, const char *name)
{
	if ((size_t)snprintf(out, size, "%s/%s", bench_tmp, name) >= size)
		bench_fail("path too long: %s/%s", bench_tmp, name);
}

void
bench_print_tail(const char *name)
{
	char path[PATH_MAX + 64], buf[2048];
	size_t n;
	FILE *f;

	bench_tmp_path(path, sizeof(path), name);
	f = fopen(path, "r");
	if (f == NULL)
		return;
	if (fseek(f, -(long)(sizeof(buf) - 1), SEEK_END) != 0)
		rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	fprintf(stderr, "%s: --- end of %s ---\n%s\n", bench_name, name, buf);
}

int
bench_open_log(const char *name)
{
	char path[PATH_MAX + 64];
	int fd;

	bench_tmp_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_fail("%s: %s", path, strerror(errno));
	return fd;
}

pid_t
bench_spawn(enum bench_child slot, char *const argv[], int in, int out, int err)
{
	const int fds[3] = {in, out, err};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;
	int i, e = 0;

	if (slot == BENCH_CHILD_FORK || bench_children[slot] > 0)
		abort();
	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawnattr_init(&attr) != 0)
		bench_fail("posix_spawn setup failed");
	for (i = 0; i < 3 && e == 0; i++) {
		if (fds[i] >= 0)
			e = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
		else
			e = posix_spawn_file_actions_addopen(
			        &fa, i, "/dev/null",
			        i == 0 ? O_RDONLY : O_WRONLY, 0);
	}
	if (e != 0 || posix_spawn_file_actions_addclosefrom_np(&fa, 3) != 0 ||
	    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0 ||
	    posix_spawnattr_setpgroup(&attr, 0) != 0)
		bench_fail("posix_spawn setup failed");
	e = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e != 0)
		bench_fail("cannot run %s: %s", argv[0], strerror(e));
	bench_children[slot] = pid;
	return pid;
}

void
bench_run(char *const argv[], int in, const char *out_name,
          const char *err_name, const char *what)
{
	int out = bench_open_log(out_name), err = bench_open_log(err_name);
	int status;
	pid_t pid;

	pid = bench_spawn(BENCH_CHILD_CMD, argv, in, out, err);
	close(out);
	close(err);
	if (waitpid(pid, &status, 0) < 0)
		bench_fail("waitpid: %s", strerror(errno));
	bench_children[BENCH_CHILD_CMD] = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_print_tail(err_name);
		bench_fail("%s failed (status %d)", what, status);
	}
}

bool
bench_child_ended(enum bench_child slot)
{
	pid_t p = bench_children[slot];
	int status;

	if (p <= 0)
		return true;
	if (waitpid(p, &status, WNOHANG) != p)
		return false;
	bench_children[slot] = 0;
	return true;
}

pid_t
bench_fork(void)
{
	pid_t pid;

	if (bench_children[BENCH_CHILD_FORK] > 0)
		abort();
	pid = fork();
	if (pid < 0)
		bench_fail("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		return 0;
	}
	bench_children[BENCH_CHILD_FORK] = pid;
	return pid;
}

int
bench_fork_wait(void)
{
	int status = -1;

	waitpid(bench_children[BENCH_CHILD_FORK], &status, 0);
	bench_children[BENCH_CHILD_FORK] = 0;
	return status;
}

/* Runs argv to its end with password and a newline on its stdin. */
void
bench_run_with_password(char *const argv[], const char *password,
                        const char *log, const char *what)
{
	char path[PATH_MAX + 64];
	size_t len = strlen(password);
	int fd;

	/* A file of mode 0600 rather than a pipe: no size to fit. */
	bench_tmp_path(path, sizeof(path), "password");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, password, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || lseek(fd, 0, SEEK_SET) != 0)
		bench_fail("%s: %s", path, strerror(errno));
	bench_run(argv, fd, log, log, what);
	close(fd);
	remove(path);
}

/* ---- saltmaild serve ---- */

void
bench_saltmaild_init(struct bench_saltmaild *d)
{
	memset(d, 0, sizeof(*d));
	d->out = -1;
	bench_tmp_path(d->data, sizeof(d->data), "data");
	snprintf(d->cert, sizeof(d->cert), "%s/tls/cert.pem", d->data);
}

int
bench_spawn_until(enum bench_child slot, char *const argv[], const char *log,
                  double seconds, bench_line_fn *fn, void *ctx, pid_t *pid_r)
{
	double until = bench_now() + seconds;
	char buf[1024], *nl;
	size_t len = 0;
	ssize_t got;
	int p[2], err;
	bool done = false;

	if (pipe2(p, O_CLOEXEC) != 0)
		bench_fail("pipe: %s", strerror(errno));
	err = bench_open_log(log);
	*pid_r = bench_spawn(slot, argv, -1, p[1], err);
	close(p[1]);
	close(err);
	while (!done) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int left = (int)((until - bench_now()) * 1000);

		if (left <= 0 || poll(&pfd, 1, left) <= 0 ||
		    len + 1 >= sizeof(buf) ||
		    (got = read(p[0], buf + len, sizeof(buf) - 1 - len)) <= 0) {
			bench_print_tail(log);
			bench_fail("%s printed no ready line", argv[0]);
		}
		len += (size_t)got;
		while (!done && (nl = memchr(buf, '\n', len)) != NULL) {
			*nl = '\0';
			done = fn(ctx, buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
	}
	return p[0];
}

/* Its first line must be "saltmaild: ready https://127.0.0.1:PORT". */
static bool
bench_saltmaild_ready(void *ctx, const char *line)
{
	static const char ready[] = "saltmaild: ready https://127.0.0.1:";
	struct bench_saltmaild *d = ctx;
	unsigned long port = 0;
	char *end = NULL;

	errno = 0;
	if (strncmp(line, ready, sizeof(ready) - 1) == 0)
		port = strtoul(line + sizeof(ready) - 1, &end, 10);
	if (port == 0 || port > 65535 || errno != 0 || *end != '\0')
		bench_fail("unexpected ready line: %s", line);
	d->port = (unsigned)port;
	snprintf(d->base_url, sizeof(d->base_url), "https://127.0.0.1:%lu",
	         port);
	return true;
}

void
bench_saltmaild_start(struct bench_saltmaild *d, const char *binary,
                      const char *const *extra)
{
	char *argv[16] = {(char *)binary, "serve",    "--data",
	                  d->data,        "--listen", "127.0.0.1:0",
	                  "--open-signup"};
	size_t n = 7;
	pid_t pid;

	while (extra != NULL && *extra != NULL && n < SB_N_ELEMENTS(argv) - 1)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	d->out = bench_spawn_until(BENCH_CHILD_SERVE, argv, "saltmaild.log",
	                           START_TIMEOUT, bench_saltmaild_ready, d,
	                           &pid);
}

void
bench_saltmaild_user_add(const struct bench_saltmaild *d, const char *binary,
                         const char *email, const char *password)
{
	char *argv[] = {(char *)binary,
	                "user",
	                "add",
	                "--data",
	                (char *)d->data,
	                (char *)email,
	                "--password-stdin",
	                NULL};

	bench_run_with_password(argv, password, "user-add.log",
	                        "saltmaild user add");
}

void
bench_saltmaild_stop(struct bench_saltmaild *d, bool must_be_clean)
{
	int status = bench_stop(BENCH_CHILD_SERVE, BENCH_STOP_GRACE);

	if (d->out >= 0)
		close(d->out);
	d->out = -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	bench_print_tail("saltmaild.log");
	if (must_be_clean)
		bench_fail("saltmaild stopped with status %d", status);
	fprintf(stderr, "%s: saltmaild stopped with status %d\n", bench_name,
	        status);
}

/* ---- Generated mail ---- */

/* xorshift64*: the same messages on every run and machine. */
static uint64_t
bench_rng_next(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 2685821657736338717ULL;
}

static size_t
bench_rng_range(uint64_t *x, size_t lo, size_t hi)
{
	return lo + (size_t)(bench_rng_next(x) % (hi - lo + 1));
}

/* About `bytes` of text in lines of at most 72 characters. */
static void
bench_write_text(FILE *f, uint64_t *x, size_t bytes)
{
	static const char *const words[] = {
	        "the",     "mail",    "bridge",   "replica", "sync",
	        "of",      "message", "and",      "a",       "to",
	        "body",    "meeting", "Thursday", "report",  "draft",
	        "please",  "see",     "attached", "quarter", "budget",
	        "numbers", "review",  "thanks",   "we",      "will",
	        "send",    "update",  "on",       "plan",    "team",
	        "server",  "notes",
	};
	size_t n = 0, col = 0, len;
	const char *w;

	while (n < bytes) {
		w = words[bench_rng_next(x) % SB_N_ELEMENTS(words)];
		len = strlen(w);
		if (col > 0 && col + 1 + len > 72) {
			fputc('\n', f);
			col = 0;
		} else if (col > 0) {
			fputc(' ', f);
			col++;
		}
		fputs(w, f);
		col += len;
		n += len + 1;
	}
	fputc('\n', f);
}

/* `bytes` random bytes as base64 lines of 76 characters. */
static void
bench_write_base64(FILE *f, uint64_t *x, size_t bytes)
{
	unsigned char raw[57];
	char line[80];
	size_t n, k, i, o;
	uint32_t v;

	for (n = 0; n < bytes; n += k) {
		k = bytes - n < sizeof(raw) ? bytes - n : sizeof(raw);
		for (i = 0; i < k; i++)
			raw[i] = (unsigned char)(bench_rng_next(x) >> 56);
		for (i = o = 0; i < k; i += 3) {
			v = (uint32_t)raw[i] << 16;
			v |= i + 1 < k ? (uint32_t)raw[i + 1] << 8 : 0;
			v |= i + 2 < k ? raw[i + 2] : 0;
			line[o++] = sb_base64_digit(v >> 18, '/');
			line[o++] = sb_base64_digit(v >> 12, '/');
			line[o++] =
			        i + 1 < k ? sb_base64_digit(v >> 6, '/') : '=';
			line[o++] = i + 2 < k ? sb_base64_digit(v, '/') : '=';
		}
		line[o] = '\0';
		fprintf(f, "%s\n", line);
	}
}

void
bench_mail_message(FILE *f, uint64_t *x, const struct bench_mail *m, size_t i,
                   time_t when)
{
	bool big = m->big_one_in > 0 && i % m->big_one_in == 7;
	bool multi = big || bench_rng_next(x) % m->multi_one_in == 0;
	size_t attach = big ? bench_rng_range(x, m->big_min, m->big_max)
	                    : bench_rng_range(x, m->attach_min, m->attach_max);
	size_t text = bench_rng_range(x, m->text_min, m->text_max);
	char date[64];
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (m->from != NULL)
		fprintf(f, "From: %s\n", m->from);
	else
		fprintf(f, "From: Sender %zu <sender%zu@example.net>\n", i % 97,
		        i % 97);
	fprintf(f,
	        "To: %s\n"
	        "Subject: Benchmark message %zu\n"
	        "Date: %s\n"
	        "Message-ID: <bench-%zu@example.net>\n"
	        "MIME-Version: 1.0\n",
	        m->to, i, date, i);
	if (!multi) {
		fputs("Content-Type: text/plain; charset=utf-8\n\n", f);
		bench_write_text(f, x, text);
		return;
	}
	fprintf(f,
	        "Content-Type: multipart/mixed; boundary=\"b-%zu\"\n\n"
	        "--b-%zu\n"
	        "Content-Type: text/plain; charset=utf-8\n\n",
	        i, i);
	bench_write_text(f, x, text);
	fprintf(f,
	        "--b-%zu\n"
	        "Content-Type: application/pdf; name=\"report-%zu.pdf\"\n"
	        "Content-Disposition: attachment; "
	        "filename=\"report-%zu.pdf\"\n"
	        "Content-Transfer-Encoding: base64\n\n",
	        i, i, i);
	bench_write_base64(f, x, attach);
	fprintf(f, "--b-%zu--\n", i);
}

void
bench_maildir_write(const char *dir, size_t n, const struct bench_mail *mail)
{
	static const char *const subs[] = {"", "/cur", "/new", "/tmp"};
	char path[PATH_MAX + 128];
	uint64_t x = BENCH_MAIL_SEED;
	struct timespec times[2];
	time_t when;
	size_t i;
	FILE *f;

	for (i = 0; i < SB_N_ELEMENTS(subs); i++) {
		snprintf(path, sizeof(path), "%s%s", dir, subs[i]);
		if (mkdir(path, 0700) != 0)
			bench_fail("mkdir %s: %s", path, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		when = 1700000000 + (time_t)i * 60;
		/* The flags in the order Maildir wants them. */
		snprintf(path, sizeof(path),
		         "%s/cur/%lld.M%zuP1.bench:2,%s%s%s", dir,
		         (long long)when, i, i % 17 == 0 ? "F" : "",
		         mail->answered && i % 23 == 0 ? "R" : "",
		         i % 3 != 0 ? "S" : "");
		f = fopen(path, "w");
		if (f == NULL)
			bench_fail("%s: %s", path, strerror(errno));
		bench_mail_message(f, &x, mail, i, when);
		if (fclose(f) != 0)
			bench_fail("%s: write failed", path);
		times[0].tv_sec = times[1].tv_sec = when;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, path, times, 0) != 0)
			bench_fail("%s: %s", path, strerror(errno));
	}
}
