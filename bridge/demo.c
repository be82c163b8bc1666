/*
 * saltbridge demo (bridge/demo.h, docs/bridge.md): saltmaild with two
 * accounts and sample mail, both accounts logged in to a bridge home of
 * the demo's own, saltbridge serve on it, and the settings a mail client
 * needs; until SIGINT or SIGTERM, then everything it started is stopped.
 *
 * The demo is a supervisor: saltmaild and serve run as child processes
 * (demo-proc.c), so that each is exactly the program a user would run;
 * the signup, the logins and reading the bridge passwords happen in the
 * demo (demo-service.c), with the bridge's own functions. This file has
 * the folder, serve, what is printed, the wait and the stop.
 */
#include "bridge/demo.h"
#include "bridge/demo-private.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <sodium.h>

#include "common/alloc.h"
#include "common/file.h"
#include "common/log.h"
#include "common/net.h"
#include "crypto/crypto.h"

/* The ports mail clients usually find a bridge on. */
#define DEMO_USUAL_IMAP_PORT 1143
#define DEMO_USUAL_SMTP_PORT 1025

static const char usage_demo[] =
        "usage: saltbridge demo [--dir DIR] [--imap-port N] [--smtp-port N]\n"
        "                       [--saltmaild PATH] [--no-wait]\n"
        "\n"
        "Shows Saltbridge at work on this machine in one command. It runs\n"
        "saltmaild, the reference mail service, on 127.0.0.1 with two\n"
        "accounts, alice@demo.test and bob@demo.test, and a few sample\n"
        "messages; logs both in to a bridge of its own; runs 'saltbridge\n"
        "serve' for them; and prints what a mail client such as Thunderbird\n"
        "needs: hosts, ports, security, usernames and bridge passwords.\n"
        "Then it prints \"saltbridge demo: ready\" and runs until Ctrl-C or\n"
        "SIGTERM, stops everything it started, and exits 0.\n"
        "\n"
        "Everything is kept in DIR, by default $XDG_DATA_HOME/saltbridge-demo\n"
        "(~/.local/share/saltbridge-demo): saltmaild's data (service/), the\n"
        "bridge's home (bridge/) and the accounts' passwords (demo.state,\n"
        "mode 0600). A second run reuses it all: the same accounts, bridge\n"
        "passwords and mail. Remove DIR to start afresh. The bridge of your\n"
        "own accounts is not touched.\n"
        "\n"
        "  --dir DIR          keep the demo in DIR\n"
        "  --imap-port N      the IMAP (STARTTLS) port; default 1143 when\n"
        "                     it is free, else a free one; 0: a free one\n"
        "  --smtp-port N      the SMTP (STARTTLS) port; default 1025 when\n"
        "                     it is free, else a free one; 0: a free one\n"
        "  --saltmaild PATH   the saltmaild to run; default: the one next\n"
        "                     to this program, in its build tree, or on "
        "PATH\n"
        "  --no-wait          stop everything once the settings are "
        "printed\n"
        "  --log-level LEVEL  debug, info, warn or error (warn), also for\n"
        "                     saltmaild and serve\n";

/* See demo-private.h. */
void
demo_say(const char *fmt, ...)
{
	va_list ap;

	fputs("saltbridge demo: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The longest folder the demo takes: its files' names fit after it. */
#define DEMO_DIR_MAX (PATH_MAX - 128)

/*
 * dir + "/" + name, malloc'd; dir is at most DEMO_DIR_MAX long (checked
 * by demo_dir) and names are short.
 */
static char *
demo_join(const char *dir, const char *name)
{
	struct sb_buf b;

	sb_buf_init(&b, 2 * PATH_MAX);
	if (sb_buf_add_printf(&b, "%s/%s", dir, name) != 0)
		abort();
	return sb_buf_take(&b, NULL);
}

/* ---- The folder ---- */

/* DIR: the option made absolute, or the XDG data folder's. */
static int SB_WUR
demo_dir(struct demo *d, const char **error_r)
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char cwd[PATH_MAX], *base;

	if (d->o->dir != NULL && d->o->dir[0] == '\0') {
		*error_r = "--dir needs a folder";
		return -1;
	}
	if ((d->o->dir != NULL && strlen(d->o->dir) > DEMO_DIR_MAX / 2) ||
	    (xdg != NULL && strlen(xdg) > DEMO_DIR_MAX / 2) ||
	    (home != NULL && strlen(home) > DEMO_DIR_MAX / 2)) {
		*error_r = "the demo's folder has too long a path";
		return -1;
	}
	if (d->o->dir != NULL && d->o->dir[0] == '/') {
		d->dir = sb_strdup(d->o->dir);
	} else if (d->o->dir != NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			*error_r = bridge_errorf("cannot tell the current "
			                         "folder: %s",
			                         strerror(errno));
			return -1;
		}
		d->dir = demo_join(cwd, d->o->dir);
	} else if (xdg != NULL && xdg[0] == '/') {
		d->dir = demo_join(xdg, "saltbridge-demo");
	} else if (home != NULL && home[0] == '/') {
		base = demo_join(home, ".local/share");
		d->dir = demo_join(base, "saltbridge-demo");
		free(base);
	} else {
		*error_r = "cannot find the home folder: set HOME, or give "
		           "--dir DIR";
		return -1;
	}
	if (strlen(d->dir) > DEMO_DIR_MAX) {
		*error_r = "the demo's folder has too long a path";
		return -1;
	}
	if (sb_mkdir_p(d->dir, 0700, error_r) != 0)
		return -1;
	d->service_dir = demo_join(d->dir, "service");
	d->bridge_home = demo_join(d->dir, "bridge");
	d->state_path = demo_join(d->dir, DEMO_STATE_FILENAME);
	d->ca_file = demo_join(d->service_dir, "tls/cert.pem");
	return bridge_paths_init(&d->paths, d->bridge_home, error_r);
}

/* One demo at a time in a folder: DIR/demo.lock, held until the end. */
static int SB_WUR
demo_lock(struct demo *d, const char **error_r)
{
	char *path = demo_join(d->dir, "demo.lock");

	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0) {
		*error_r = bridge_errorf("cannot open %s: %s", path,
		                         strerror(errno));
	} else if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		*error_r = errno == EWOULDBLOCK
		                   ? bridge_errorf("another saltbridge demo "
		                                   "runs in %s",
		                                   d->dir)
		                   : bridge_errorf("cannot lock %s: %s", path,
		                                   strerror(errno));
	} else {
		free(path);
		return 0;
	}
	free(path);
	return -1;
}

/* ---- The programs ---- */

static bool
demo_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* saltmaild: the option, beside this program, its build tree, or PATH. */
static int SB_WUR
demo_programs(struct demo *d, const char **error_r)
{
	static const char *const beside[] = {
	        "saltmaild",           /* installed together */
	        "../server/saltmaild", /* the build tree */
	        "../sbin/saltmaild",   /* installed as a daemon */
	};
	char self[PATH_MAX], *dir, *path;
	const char *env;
	ssize_t n;
	size_t i, len;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		*error_r = bridge_errorf("cannot find this program: %s",
		                         strerror(errno));
		return -1;
	}
	self[n] = '\0';
	d->self = sb_strdup(self);
	if (d->o->saltmaild != NULL) {
		if (!demo_executable(d->o->saltmaild)) {
			*error_r = bridge_errorf("--saltmaild %s: not a "
			                         "program that can be run",
			                         d->o->saltmaild);
			return -1;
		}
		d->saltmaild = sb_strdup(d->o->saltmaild);
		return 0;
	}
	dir = sb_strndup(self, (size_t)(strrchr(self, '/') - self));
	for (i = 0; i < SB_N_ELEMENTS(beside) && d->saltmaild == NULL; i++) {
		path = demo_join(dir, beside[i]);
		if (demo_executable(path))
			d->saltmaild = path;
		else
			free(path);
	}
	free(dir);
	for (env = getenv("PATH");
	     d->saltmaild == NULL && env != NULL && *env != '\0';
	     env += len + (env[len] == ':')) {
		len = strcspn(env, ":");
		if (len == 0 || len > PATH_MAX || env[0] != '/')
			continue;
		dir = sb_strndup(env, len);
		path = demo_join(dir, "saltmaild");
		free(dir);
		if (demo_executable(path))
			d->saltmaild = path;
		else
			free(path);
	}
	if (d->saltmaild == NULL) {
		*error_r = bridge_errorf("cannot find saltmaild beside %s or "
		                         "on PATH: give --saltmaild PATH",
		                         d->self);
		return -1;
	}
	return 0;
}

/* ---- The state ---- */

/* The state file read, and passwords made for accounts without one. */
static int SB_WUR
demo_state_prepare(struct demo *d, const char **error_r)
{
	bool changed = false;
	size_t i;
	int ret;

	ret = demo_state_load(d->state_path, &d->st, error_r);
	if (ret < 0)
		return -1;
	d->first_run = ret == 0;
	for (i = 0; i < DEMO_ACCOUNTS; i++) {
		if (d->st.passwords[i] != NULL)
			continue;
		/* Kept before the signup: a crash then cannot lose it. */
		d->st.passwords[i] = sb_secure_alloc(DEMO_PASSWORD_MAX + 1);
		bridge_password_new(d->st.passwords[i]);
		changed = true;
	}
	if (changed || d->first_run)
		return demo_state_save(d->state_path, &d->st, error_r);
	return 0;
}

/* ---- saltbridge serve ---- */

/* The usual port when nothing listens on it, else 0 (a free one). */
static unsigned
demo_port(unsigned option, unsigned usual, const char *what)
{
	struct sb_listener *l;
	const char *error;

	if (option != DEMO_PORT_USUAL)
		return option;
	if (sb_listener_new("127.0.0.1", usual, &l, &error) == 0) {
		sb_listener_free(&l);
		return usual;
	}
	demo_say("port %u is taken: %s takes a free one", usual, what);
	return 0;
}

/*
 * "saltbridge: KIND on HOST:PORT (STARTTLS)": the host and port, or
 * false for another line.
 */
static bool
demo_listen_line(const char *line, const char *kind, char host[64],
                 unsigned *port_r)
{
	char prefix[32];
	const char *addr, *colon, *end;
	unsigned long port;
	char *num_end;

	snprintf(prefix, sizeof(prefix), "saltbridge: %s on ", kind);
	if (strncmp(line, prefix, strlen(prefix)) != 0)
		return false;
	addr = line + strlen(prefix);
	end = strstr(addr, " (STARTTLS)");
	if (end == NULL || end[strlen(" (STARTTLS)")] != '\0')
		return false;
	colon = memrchr(addr, ':', (size_t)(end - addr));
	if (colon == NULL || colon == addr || (size_t)(colon - addr) >= 64)
		return false;
	port = strtoul(colon + 1, &num_end, 10);
	if (num_end != end || port == 0 || port > 65535)
		return false;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	*port_r = (unsigned)port;
	return true;
}

/* saltbridge --home DIR/bridge serve, up to its ready line. */
static int SB_WUR
demo_serve_start(struct demo *d, const char **error_r)
{
	char imap[16], smtp[16];
	const char *argv[] = {d->self,       "--home",     d->bridge_home,
	                      "--log-level", d->log_level, "serve",
	                      "--imap-port", imap,         "--smtp-port",
	                      smtp,          NULL};
	struct sb_buf line;
	int ret = -1;

	snprintf(imap, sizeof(imap), "%u",
	         demo_port(d->o->imap_port, DEMO_USUAL_IMAP_PORT, "IMAP"));
	snprintf(smtp, sizeof(smtp), "%u",
	         demo_port(d->o->smtp_port, DEMO_USUAL_SMTP_PORT, "SMTP"));
	if (demo_child_start(&d->serve, argv, -1, DEMO_CAPTURE, -1, error_r) !=
	    0)
		return -1;
	sb_buf_init(&line, DEMO_LINE_MAX + 1);
	while (ret < 0) {
		switch (demo_child_line(&d->serve, &d->sig, DEMO_SERVE_READY_MS,
		                        DEMO_LINE_MAX, &line)) {
		case DEMO_WAIT_LINE:
			if (demo_listen_line(sb_buf_str(&line), "IMAP",
			                     d->imap_host, &d->imap_port) ||
			    demo_listen_line(sb_buf_str(&line), "SMTP",
			                     d->smtp_host, &d->smtp_port))
				continue;
			if (strncmp(sb_buf_str(&line), "saltbridge: ready",
			            17) == 0) {
				ret = 0;
				continue;
			}
			/* Nothing else is expected: pass it on. */
			printf("%s\n", sb_buf_str(&line));
			continue;
		case DEMO_WAIT_ENDED:
			(void)demo_child_stop(&d->serve, DEMO_SERVE_STOP_MS);
			*error_r = bridge_errorf(
			        "saltbridge serve %s before it was ready",
			        demo_status_text(d->serve.status));
			break;
		case DEMO_WAIT_TIMEOUT:
			*error_r = bridge_errorf("saltbridge serve was not "
			                         "ready within %d s",
			                         DEMO_SERVE_READY_MS / 1000);
			break;
		case DEMO_WAIT_STOP:
			*error_r = "stopped";
			break;
		default:
			*error_r = "cannot read what saltbridge serve says";
			break;
		}
		break;
	}
	sb_buf_free(&line);
	if (ret == 0 && (d->imap_port == 0 || d->smtp_port == 0)) {
		*error_r = "saltbridge serve did not say where it listens";
		ret = -1;
	}
	if (ret == 0)
		demo_say("saltbridge serve running, pid %ld",
		         (long)d->serve.pid);
	return ret;
}

/* ---- What is printed ---- */

static int SB_WUR
demo_settings(const struct demo *d, struct sb_buf *b)
{
	size_t i;

	if (sb_buf_add_str(b, "\nSet up a mail client with these settings. "
	                      "In Thunderbird: Account\nSettings, Account "
	                      "Actions, Add Mail Account, your name, the "
	                      "address\nand the password below, then "
	                      "\"Configure manually\"; the authentication\n"
	                      "method is \"Normal password\".\n") != 0)
		return -1;
	for (i = 0; i < DEMO_ACCOUNTS; i++) {
		if (sb_buf_add_printf(
		            b,
		            "\n%s\n"
		            "  %-12s host %s, port %u, security STARTTLS\n"
		            "  %-12s host %s, port %u, security STARTTLS\n"
		            "  %-12s %s\n"
		            "  %-12s %s\n",
		            demo_emails[i], "IMAP", d->imap_host, d->imap_port,
		            "SMTP", d->smtp_host, d->smtp_port, "Username",
		            demo_emails[i], "Password",
		            d->bridge_passwords[i]) != 0)
			return -1;
	}
	if (sb_buf_add_printf(b,
	                      "\nThe bridge's certificate is self-signed, "
	                      "made on this machine:\n  %s\nA mail client "
	                      "asks once whether to trust it: docs/clients.md "
	                      "says how,\nclient by client.\n",
	                      d->cert) != 0)
		return -1;
	if (d->o->no_wait)
		return sb_buf_add_str(b, "\nThe demo stops now (--no-wait); "
		                         "run it again to carry on where it "
		                         "left off.\n");
	return sb_buf_add_str(b, "\nCtrl-C stops the demo; run it again to "
	                         "carry on where you left off.\n");
}

/* The settings, in a buffer wiped afterwards (it holds passwords). */
static int SB_WUR
demo_print(const struct demo *d, const char **error_r)
{
	struct sb_buf b;
	int ret;

	sb_buf_init_secret(&b, 64 * 1024);
	ret = demo_settings(d, &b);
	if (ret != 0)
		*error_r = "the settings are too long to print";
	else if (fflush(stdout) != 0 ||
	         bridge_write_all(STDOUT_FILENO, b.data, b.len) != 0) {
		*error_r = "cannot write the settings";
		ret = -1;
	}
	sb_buf_free_wipe(&b);
	if (ret == 0)
		demo_say("ready");
	return ret;
}

/* ---- Running ---- */

/* Passes on what a child prints after it is ready; false at its end. */
static void
demo_forward(struct demo_child *c)
{
	char chunk[4096];
	ssize_t n;

	n = read(c->out, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(c->out);
		c->out = -1;
		return;
	}
	fflush(stdout);
	(void)!bridge_write_all(STDOUT_FILENO, chunk, (size_t)n);
}

/*
 * Until a stop is asked for (0) or a child ends on its own (-1, saying
 * which).
 */
static int SB_WUR
demo_wait(struct demo *d, const char **error_r)
{
	struct demo_child *children[] = {&d->maild, &d->serve};
	struct pollfd fds[3];
	size_t i;

	for (;;) {
		if (demo_signals_poll(&d->sig))
			return 0;
		for (i = 0; i < SB_N_ELEMENTS(children); i++) {
			if (d->sig.child && demo_child_ended(children[i])) {
				*error_r = bridge_errorf(
				        "%s %s while the demo ran",
				        children[i]->name,
				        demo_status_text(children[i]->status));
				return -1;
			}
		}
		d->sig.child = false;
		fds[0] = (struct pollfd){.fd = d->sig.fd, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = d->maild.out, .events = POLLIN};
		fds[2] = (struct pollfd){.fd = d->serve.out, .events = POLLIN};
		if (poll(fds, 3, -1) < 0 && errno != EINTR) {
			*error_r = bridge_errorf("poll: %s", strerror(errno));
			return -1;
		}
		for (i = 0; i < SB_N_ELEMENTS(children); i++) {
			if (fds[i + 1].revents != 0)
				demo_forward(children[i]);
		}
	}
}

/*
 * serve first (it sends what its outbox holds while the service is
 * there), then saltmaild; false when one of them did not exit 0.
 */
static bool
demo_stop(struct demo *d)
{
	struct demo_child *children[] = {&d->serve, &d->maild};
	unsigned grace[] = {DEMO_SERVE_STOP_MS, DEMO_SERVICE_STOP_MS};
	bool ok = true;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(children); i++) {
		if (children[i]->pid <= 0)
			continue;
		if (!demo_child_stop(children[i], grace[i])) {
			fprintf(stderr, "saltbridge demo: %s %s on its stop\n",
			        children[i]->name,
			        demo_status_text(children[i]->status));
			ok = false;
		}
	}
	return ok;
}

static void
demo_free(struct demo *d)
{
	size_t i;

	demo_child_free(&d->serve);
	demo_child_free(&d->maild);
	demo_signals_close(&d->sig);
	demo_state_clear(&d->st);
	for (i = 0; i < DEMO_ACCOUNTS; i++) {
		if (d->bridge_passwords[i] != NULL)
			sb_secure_free(&d->bridge_passwords[i]);
	}
	bridge_paths_free(&d->paths);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->dir);
	free(d->service_dir);
	free(d->bridge_home);
	free(d->state_path);
	free(d->cert);
	free(d->ca_file);
	free(d->self);
	free(d->saltmaild);
}

/* Everything up to the ready line. */
static int SB_WUR
demo_start(struct demo *d, const char **error_r)
{
	unsigned char raw[8];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(d->run_id, sizeof(d->run_id), raw, sizeof(raw));
	if (demo_dir(d, error_r) != 0 || demo_lock(d, error_r) != 0 ||
	    demo_programs(d, error_r) != 0 ||
	    demo_state_prepare(d, error_r) != 0)
		return -1;
	d->cert = demo_join(d->paths.data_dir, "tls/cert.pem");
	demo_say("%s in %s", d->first_run ? "setting up" : "reusing", d->dir);
	if (demo_service_start(d, error_r) != 0 ||
	    demo_accounts(d, error_r) != 0 ||
	    demo_deliver_samples(d, error_r) != 0 ||
	    demo_bridge_passwords(d, error_r) != 0 ||
	    demo_serve_start(d, error_r) != 0)
		return -1;
	return demo_print(d, error_r);
}

/* The demo itself: 0 after a stop asked for, 1 on a failure. */
static int
demo_main(const struct demo_options *o)
{
	const char *error = NULL;
	struct demo d;
	bool ok;
	int ret;

	memset(&d, 0, sizeof(d));
	d.o = o;
	d.lock_fd = -1;
	d.log_level = sb_log_level_name(sb_log_get_level());
	demo_child_init(&d.maild, "saltmaild");
	demo_child_init(&d.serve, "saltbridge serve");
	/* Before any child or thread starts. */
	ret = demo_signals_open(&d.sig, &error);
	if (ret == 0)
		ret = demo_start(&d, &error);
	if (ret == 0 && !o->no_wait)
		ret = demo_wait(&d, &error);
	if (ret != 0 && d.sig.stop) {
		/* Stopped while it started: what the user asked for. */
		ret = 0;
	}
	if (ret != 0)
		fprintf(stderr, "saltbridge demo: %s\n", error);
	if (d.maild.pid > 0 || d.serve.pid > 0)
		demo_say("stopping");
	ok = demo_stop(&d);
	if (ret == 0 && ok)
		demo_say("stopped");
	demo_free(&d);
	return ret == 0 && ok ? 0 : 1;
}

/* ---- The command line ---- */

enum {
	OPT_DIR = 256,
	OPT_SALTMAILD,
	OPT_IMAP_PORT,
	OPT_SMTP_PORT,
	OPT_NO_WAIT,
	OPT_LOG_LEVEL,
	OPT_HELP,
};

/* A port 0 to 65535; 2 (wrong usage) when not. */
static int SB_WUR
demo_parse_port(const char *arg, unsigned *port_r)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v > 65535 ||
	    arg[0] == '-') {
		fprintf(stderr, "saltbridge: '%s' is not a port (0 to 65535)\n",
		        arg);
		return 2;
	}
	*port_r = (unsigned)v;
	return 0;
}

int
bridge_demo_command(int argc, char **argv, const char *home)
{
	static const struct option opts[] = {
	        {"dir", required_argument, NULL, OPT_DIR},
	        {"saltmaild", required_argument, NULL, OPT_SALTMAILD},
	        {"imap-port", required_argument, NULL, OPT_IMAP_PORT},
	        {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
	        {"no-wait", no_argument, NULL, OPT_NO_WAIT},
	        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	        {"help", no_argument, NULL, OPT_HELP},
	        {NULL, 0, NULL, 0},
	};
	struct demo_options o = {
	        .imap_port = DEMO_PORT_USUAL,
	        .smtp_port = DEMO_PORT_USUAL,
	};
	enum sb_log_level level;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			o.dir = optarg;
			break;
		case OPT_SALTMAILD:
			o.saltmaild = optarg;
			break;
		case OPT_IMAP_PORT:
			if (demo_parse_port(optarg, &o.imap_port) != 0)
				return 2;
			break;
		case OPT_SMTP_PORT:
			if (demo_parse_port(optarg, &o.smtp_port) != 0)
				return 2;
			break;
		case OPT_NO_WAIT:
			o.no_wait = true;
			break;
		case OPT_LOG_LEVEL:
			if (sb_log_level_parse(optarg, &level) != 0) {
				fprintf(stderr,
				        "saltbridge: unknown log level '%s'\n",
				        optarg);
				return 2;
			}
			sb_log_set_level(level);
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage_demo, stdout);
			return 0;
		default:
			fputs(usage_demo, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fputs(usage_demo, stderr);
		return 2;
	}
	if (home != NULL) {
		fprintf(stderr, "saltbridge: the demo keeps its bridge home "
		                "under its own folder: give --dir DIR instead "
		                "of --home\n");
		return 2;
	}
	return demo_main(&o);
}
