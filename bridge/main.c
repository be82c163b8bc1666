/* saltbridge: the command line. See docs/bridge.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "bridge/bridge-private.h"
#include "bridge/demo.h"
#include "bridge/settings.h"
#include "bridge/config.h"
#include "common/alloc.h"
#include "common/log.h"
#include "crypto/crypto.h"

/* The longest password read, in bytes. */
#define PASSWORD_MAX 4096

static const char usage_main[] =
        "usage: saltbridge [--home DIR] [--log-level LEVEL] COMMAND ...\n"
        "\n"
        "A local IMAP and SMTP bridge to an end-to-end encrypted Salt Mail\n"
        "service.\n"
        "\n"
        "commands:\n"
        "  login [--api URL] [--ca-file FILE] [--password-stdin]\n"
        "        [--new-password] EMAIL\n"
        "                        log an account in and make its bridge\n"
        "                        password\n"
        "  logout EMAIL          end the account's session and remove its\n"
        "                        local data\n"
        "  accounts [--json]     list the accounts with their client\n"
        "                        settings\n"
        "  info [--json] [EMAIL] show what a mail client needs: hosts,\n"
        "                        ports, security, username, bridge password\n"
        "  serve                 run the bridge: keep every account's\n"
        "                        local copy in sync until stopped\n"
        "  demo [--dir DIR] [--no-wait]\n"
        "                        try it all on this machine: saltmaild\n"
        "                        with two accounts and sample mail, and\n"
        "                        serve, with the settings for a client\n"
        "  set [KEY [VALUE]]     list the settings, or show or change one\n"
        "  unset KEY             put a setting back to its default\n"
        "  status [--json]       whether serve runs, and each account's\n"
        "                        sync, mail stored and changes waiting\n"
        "  cert show|export FILE|install\n"
        "                        the listeners' certificate: show it,\n"
        "                        write it to FILE (- for standard\n"
        "                        output), or trust it system-wide\n"
        "  config thunderbird|apple-mail EMAIL [--output FILE]\n"
        "                        write a file that sets a mail client up\n"
        "\n"
        "options:\n"
        "  --home DIR            keep everything under DIR (default: the\n"
        "                        XDG folders, ~/.config/saltbridge and\n"
        "                        ~/.local/share/saltbridge)\n"
        "  --log-level LEVEL     debug, info, warn or error (warn)\n"
        "  --help                show this help\n"
        "\n"
        "Run 'saltbridge COMMAND --help' for a command's options. Exit\n"
        "codes: 0 success, 1 failure, 2 wrong usage.\n";

static const char usage_login[] =
        "usage: saltbridge login [--api URL] [--ca-file FILE]\n"
        "                        [--password-stdin] [--new-password] EMAIL\n"
        "\n"
        "Logs EMAIL in with its account password, asked for on the\n"
        "terminal without echo, or read as one line from standard input\n"
        "with --password-stdin. The password never leaves this machine:\n"
        "only a key derived from it is sent. Mail clients then log in to\n"
        "the bridge with EMAIL and a random bridge password, shown here\n"
        "and by 'saltbridge info'.\n"
        "\n"
        "  --api URL          the service (https://...); default: the one\n"
        "                     of the last login of EMAIL\n"
        "  --ca-file FILE     trust the service's certificate from FILE\n"
        "                     (PEM) instead of the system's CAs\n"
        "  --password-stdin   read the password from standard input\n"
        "  --new-password     make a new bridge password (a new login\n"
        "                     keeps the old one)\n";

static const char usage_logout[] =
        "usage: saltbridge logout EMAIL\n"
        "\n"
        "Ends the account's session on the service and removes what this\n"
        "bridge keeps of it: its keys, tokens, bridge password and local\n"
        "copy of the mailbox. When the service cannot be reached the local\n"
        "data is removed anyway, and a warning says so.\n";

static const char usage_accounts[] =
        "usage: saltbridge accounts [--json]\n"
        "\n"
        "Lists the accounts logged in, with the IMAP and SMTP settings and\n"
        "the bridge password of each. --json prints the JSON described in\n"
        "docs/bridge.md.\n";

static const char usage_info[] =
        "usage: saltbridge info [--json] [EMAIL]\n"
        "\n"
        "Shows what a mail client needs to connect to the bridge for EMAIL\n"
        "(every account without it): IMAP and SMTP host, port, security,\n"
        "username and bridge password. --json prints the JSON described\n"
        "in docs/bridge.md.\n";

static const char usage_serve[] =
        "usage: saltbridge serve [--imap-port N] [--imaps-port N]\n"
        "                        [--smtp-port N] [--smtps-port N]\n"
        "                        [--listen ADDRESS]\n"
        "\n"
        "Runs the bridge in the foreground: keeps the local copy of every\n"
        "account logged in up to date with the service, and keeps the\n"
        "vault open (other commands that need it fail while serve runs;\n"
        "'saltbridge status' does not need it). Prints\n"
        "\"saltbridge: ready (N accounts)\" once every account's sync has\n"
        "started. SIGTERM or SIGINT (Ctrl-C) stops it; it then exits 0.\n"
        "Fails when no account is logged in, and when another serve runs\n"
        "on the same home.\n"
        "\n"
        "IMAP listens on 127.0.0.1, port 1143 with STARTTLS by default\n"
        "(--imap-port), and with implicit TLS on --imaps-port (off by\n"
        "default; 1993 is usual). 0 picks a free port, off turns a\n"
        "listener off. The ports in use are printed as\n"
        "\"saltbridge: IMAP on 127.0.0.1:PORT (STARTTLS)\" before the ready\n"
        "line. SMTP (submission, for sending) listens likewise on port\n"
        "1025 with STARTTLS (--smtp-port) and, when asked, with implicit\n"
        "TLS on --smtps-port (1465 is usual), printed as \"saltbridge:\n"
        "SMTP on ...\". Mail accepted is kept encrypted in the outbox\n"
        "until the service takes it.\n"
        "\n"
        "The defaults come from the settings ('saltbridge set'); an\n"
        "option here wins over its setting. SIGHUP reads the settings\n"
        "again: a new log level applies at once, and changed ports or\n"
        "address are bound anew (the sessions on the old listeners are\n"
        "ended), then \"saltbridge: reloaded\" is printed. A settings\n"
        "file with a mistake changes nothing; the log says why. The\n"
        "hangup of serve's terminal stops it, as SIGTERM does.\n"
        "\n"
        "The listeners' certificate is DATA/tls/cert.pem ('saltbridge\n"
        "cert'): made at the first start, and made anew (with its key)\n"
        "when it expires within 30 days, checked at start and daily.\n";

static const char usage_set[] =
        "usage: saltbridge set [KEY [VALUE]] [--reset] [--allow-remote]\n"
        "       saltbridge unset KEY\n"
        "\n"
        "Without KEY, lists every setting with its value; with KEY alone,\n"
        "shows that one; with a VALUE, changes it. --reset (or 'unset')\n"
        "puts it back to its default. Settings are kept in\n"
        "CONFIG/settings; serve reads them when it starts and on SIGHUP.\n"
        "\n"
        "  imap-port N     IMAP with STARTTLS (default 1143)\n"
        "  imaps-port N    IMAP with implicit TLS (default off)\n"
        "  smtp-port N     SMTP submission with STARTTLS (default 1025)\n"
        "  smtps-port N    SMTP submission with implicit TLS (default off)\n"
        "  listen ADDRESS  the IP address the listeners bind to\n"
        "                  (default 127.0.0.1)\n"
        "  log-level L     serve's log: debug, info, warn or error\n"
        "                  (default warn)\n"
        "\n"
        "A port is 0 to 65535 (0: any free one) or off. A listen address\n"
        "that is not a loopback one lets other machines reach the bridge:\n"
        "it is refused unless --allow-remote says that is meant.\n";

static const char usage_status[] =
        "usage: saltbridge status [--json]\n"
        "\n"
        "Shows whether saltbridge serve runs on this home (its pid and\n"
        "listeners), the listeners' certificate, and for each account:\n"
        "its sync (the initial sync's progress, or when the changes were\n"
        "last read), its messages and the bodies stored and missing,\n"
        "local changes waiting for the service and those that failed,\n"
        "and mail in the outbox. It reads the local copy only, so it\n"
        "works while serve runs. --json prints the JSON described in\n"
        "docs/bridge.md.\n";

static const char usage_cert[] =
        "usage: saltbridge cert show\n"
        "       saltbridge cert export FILE\n"
        "       saltbridge cert install\n"
        "\n"
        "The listeners' self-signed certificate (DATA/tls/cert.pem), which\n"
        "mail clients are asked to trust.\n"
        "\n"
        "  show          its path, expiry and SHA-256 fingerprint\n"
        "  export FILE   writes it, in PEM form and without its key, to\n"
        "                FILE (- for standard output); made first when\n"
        "                there is none yet and serve does not run\n"
        "  install       adds it to the system's trust store: needs root\n"
        "                (update-ca-certificates, or update-ca-trust);\n"
        "                without root, says what to do instead and exits 1\n";

/* Options every command takes as well as the global ones. */
struct cli {
	const char *home;
	bool json;
	bool password_stdin;
	bool new_password;
	const char *api_url;
	const char *ca_file;
	/* Settings given as options (serve's), with their bits. */
	struct bridge_settings given;
	bool reset;
	bool allow_remote;
};

enum {
	OPT_HOME = 256,
	OPT_LOG_LEVEL,
	OPT_JSON,
	OPT_API,
	OPT_CA_FILE,
	OPT_PASSWORD_STDIN,
	OPT_NEW_PASSWORD,
	OPT_IMAP_PORT,
	OPT_IMAPS_PORT,
	OPT_SMTP_PORT,
	OPT_SMTPS_PORT,
	OPT_LISTEN,
	OPT_RESET,
	OPT_ALLOW_REMOTE,
	OPT_HELP,
};

/* A setting given as an option; prints the error. */
static int SB_WUR
take_setting(struct cli *c, enum bridge_setting key, const char *arg)
{
	const char *error;

	if (bridge_setting_parse(&c->given, key, arg, strlen(arg), &error) !=
	    0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		return -1;
	}
	return 0;
}

/* Handles --home and --log-level; returns 2 on a bad value, else 0. */
static int SB_WUR
take_common(struct cli *c, int o, const char *arg)
{
	enum sb_log_level level;

	if (o == OPT_HOME) {
		c->home = arg;
	} else if (o == OPT_LOG_LEVEL) {
		if (sb_log_level_parse(arg, &level) != 0) {
			fprintf(stderr, "saltbridge: unknown log level '%s'\n",
			        arg);
			return 2;
		}
		sb_log_set_level(level);
		/* serve's setting too: the command line wins. */
		if (take_setting(c, BRIDGE_SETTING_LOG_LEVEL, arg) != 0)
			return 2;
	}
	return 0;
}

static enum bridge_setting
option_setting(int o)
{
	switch (o) {
	case OPT_IMAP_PORT:
		return BRIDGE_SETTING_IMAP_PORT;
	case OPT_IMAPS_PORT:
		return BRIDGE_SETTING_IMAPS_PORT;
	case OPT_SMTP_PORT:
		return BRIDGE_SETTING_SMTP_PORT;
	case OPT_SMTPS_PORT:
		return BRIDGE_SETTING_SMTPS_PORT;
	default:
		return BRIDGE_SETTING_LISTEN;
	}
}

/*
 * Parses a command's options (the common ones included). Returns -1 to
 * go on, or the exit code (0 after --help, 2 on a mistake).
 */
static int SB_WUR
parse_command(struct cli *c, int argc, char **argv, const char *usage,
              const struct option *opts)
{
	int o;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_HOME:
		case OPT_LOG_LEVEL:
			if (take_common(c, o, optarg) != 0)
				return 2;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case OPT_API:
			c->api_url = optarg;
			break;
		case OPT_CA_FILE:
			c->ca_file = optarg;
			break;
		case OPT_PASSWORD_STDIN:
			c->password_stdin = true;
			break;
		case OPT_NEW_PASSWORD:
			c->new_password = true;
			break;
		case OPT_IMAP_PORT:
		case OPT_IMAPS_PORT:
		case OPT_SMTP_PORT:
		case OPT_SMTPS_PORT:
		case OPT_LISTEN:
			if (take_setting(c, option_setting(o), optarg) != 0)
				return 2;
			break;
		case OPT_RESET:
			c->reset = true;
			break;
		case OPT_ALLOW_REMOTE:
			c->allow_remote = true;
			break;
		case 'h':
		case OPT_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	return -1;
}

#define COMMON_OPTIONS                                                 \
	{"home", required_argument, NULL, OPT_HOME},                   \
	        {"log-level", required_argument, NULL, OPT_LOG_LEVEL}, \
	{                                                              \
		"help", no_argument, NULL, OPT_HELP                    \
	}

/* ---- Reading the password ---- */

/*
 * While the prompt runs, tty_fd is the terminal whose echo is off; the
 * handlers below put tty_saved back before the process ends or stops.
 */
static volatile sig_atomic_t tty_fd = -1;
static struct termios tty_saved, tty_quiet;

/* Signals whose default action ends the process. */
static const int prompt_fatal_signals[] = {
        SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2, SIGPIPE,
};
/* Signals whose default action stops it. */
static const int prompt_stop_signals[] = {SIGTSTP, SIGTTIN, SIGTTOU};

/* Echo back on, then the signal's default action; async-signal-safe. */
static void
on_prompt_fatal(int sig)
{
	int saved_errno = errno, fd = tty_fd;

	if (fd >= 0)
		(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig); /* delivered when the handler returns */
	errno = saved_errno;
}

static void on_prompt_stop(int sig);

static void
prompt_handle(int sig, void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(sig, &sa, NULL);
}

/*
 * Echo back on, stop as the default action would, and once continued
 * turn the echo off again; async-signal-safe.
 */
static void
on_prompt_stop(int sig)
{
	int saved_errno = errno, fd = tty_fd;
	sigset_t set;

	if (fd >= 0)
		(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
	(void)signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	(void)raise(sig);
	/* Unblocked, the pending stop takes effect here. */
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	/* Continued. */
	prompt_handle(sig, on_prompt_stop);
	fd = tty_fd;
	if (fd >= 0)
		(void)tcsetattr(fd, TCSAFLUSH, &tty_quiet);
	errno = saved_errno;
}

static void
prompt_signals(bool catch)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(prompt_fatal_signals); i++)
		prompt_handle(prompt_fatal_signals[i],
		              catch ? on_prompt_fatal : SIG_DFL);
	for (i = 0; i < SB_N_ELEMENTS(prompt_stop_signals); i++)
		prompt_handle(prompt_stop_signals[i],
		              catch ? on_prompt_stop : SIG_DFL);
}

/* Reads up to the line end into pw (secure memory, PASSWORD_MAX + 1). */
static int SB_WUR
read_line(int fd, char *pw, size_t *len_r, const char **error_r)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		n = read(fd, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "cannot read the password";
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (len == PASSWORD_MAX) {
			*error_r = "the password is too long";
			return -1;
		}
		pw[len++] = c;
	}
	c = 0;
	if (len > 0 && pw[len - 1] == '\r')
		len--;
	pw[len] = '\0';
	*len_r = len;
	return 0;
}

/* Asks on the terminal, without echo. */
static int SB_WUR
prompt_password(const char *email, char *pw, size_t *len_r,
                const char **error_r)
{
	char prompt[400];
	int fd, ret;

	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &tty_saved) != 0) {
		if (fd >= 0)
			close(fd);
		*error_r = "there is no terminal to ask for the password on; "
		           "give it on standard input with --password-stdin";
		return -1;
	}
	tty_quiet = tty_saved;
	tty_quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	tty_quiet.c_lflag |= ICANON;
	snprintf(prompt, sizeof(prompt), "Password for %s: ", email);
	/* The handlers are in place before the echo goes off. */
	tty_fd = fd;
	prompt_signals(true);
	/* Echo off first: what is typed after the prompt is never shown. */
	if (tcsetattr(fd, TCSAFLUSH, &tty_quiet) != 0) {
		*error_r = "cannot turn the terminal's echo off";
		ret = -1;
	} else {
		if (bridge_write_all(fd, prompt, strlen(prompt)) != 0) {
			*error_r = "cannot write the prompt on the terminal";
			ret = -1;
		} else {
			ret = read_line(fd, pw, len_r, error_r);
		}
		(void)tcsetattr(fd, TCSAFLUSH, &tty_saved);
		/* The line end the user typed was not echoed. */
		if (ret == 0 && bridge_write_all(fd, "\n", 1) != 0) {
			/* Only cosmetic: the prompt's line stays open. */
		}
	}
	tty_fd = -1;
	prompt_signals(false);
	close(fd);
	return ret;
}

/* ---- Commands ---- */

/* The home's paths; prints the error. */
static int SB_WUR
open_paths(const struct cli *c, struct bridge_paths *p)
{
	const char *error;

	if (bridge_paths_init(p, c->home, &error) != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		return -1;
	}
	return 0;
}

/* One EMAIL argument, normalised; 2 on a usage mistake. */
static int SB_WUR
take_email(int argc, char **argv, const char *usage, char **email_r)
{
	const char *error;

	if (optind + 1 != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (bridge_email_normalize(argv[optind], email_r, &error) != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		return 2;
	}
	return 0;
}

static int SB_WUR
run_login(const struct cli *c, const char *email, const char *pw, size_t len)
{
	struct bridge_login_options o = {
	        .email = email,
	        .api_url = c->api_url,
	        .ca_file = c->ca_file,
	        .new_password = c->new_password,
	};
	char id[API_ACCOUNT_ID_LEN + 1];
	struct bridge_paths p;
	const char *error;
	struct sb_buf shown;
	int ret = 1;

	if (open_paths(c, &p) != 0)
		return 1;
	sb_buf_init_secret(&shown, 64 * 1024);
	o.shown = &shown;
	if (bridge_login(&p, &o, pw, len, id, &error) != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
	} else {
		printf("Logged in as %s. Set up your mail client with:\n\n",
		       email);
		/* The block holds the bridge password: no stdio copy. */
		if (fflush(stdout) != 0 ||
		    bridge_write_all(STDOUT_FILENO, shown.data, shown.len) != 0)
			fprintf(stderr,
			        "saltbridge: cannot write the output\n");
		else
			ret = 0;
	}
	sb_buf_free_wipe(&shown);
	bridge_paths_free(&p);
	return ret;
}

static int SB_WUR
cmd_login(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {"api", required_argument, NULL, OPT_API},
	        {"ca-file", required_argument, NULL, OPT_CA_FILE},
	        {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
	        {"new-password", no_argument, NULL, OPT_NEW_PASSWORD},
	        {NULL, 0, NULL, 0},
	};
	const char *error;
	char *email, *pw;
	size_t len = 0;
	int ret;

	ret = parse_command(c, argc, argv, usage_login, opts);
	if (ret >= 0)
		return ret;
	if (take_email(argc, argv, usage_login, &email) != 0)
		return 2;
	if (c->password_stdin && isatty(STDIN_FILENO)) {
		fprintf(stderr,
		        "saltbridge: --password-stdin reads a password "
		        "piped to it, and standard input is a terminal, "
		        "which would show it: leave --password-stdin "
		        "out to be asked without echo\n");
		free(email);
		return 1;
	}
	pw = sb_secure_alloc(PASSWORD_MAX + 1);
	if (c->password_stdin)
		ret = read_line(STDIN_FILENO, pw, &len, &error);
	else
		ret = prompt_password(email, pw, &len, &error);
	if (ret == 0 && len == 0) {
		error = "the password is empty";
		ret = -1;
	}
	if (ret != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		ret = 1;
	} else {
		ret = run_login(c, email, pw, len);
	}
	sb_secure_free(&pw);
	free(email);
	return ret;
}

static int SB_WUR
cmd_logout(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	const char *error, *why;
	struct bridge_paths p;
	char *email;
	int ret;

	ret = parse_command(c, argc, argv, usage_logout, opts);
	if (ret >= 0)
		return ret;
	if (take_email(argc, argv, usage_logout, &email) != 0)
		return 2;
	ret = 1;
	if (open_paths(c, &p) == 0) {
		if (bridge_logout(&p, email, &why, &error) != 0) {
			fprintf(stderr, "saltbridge: %s\n", error);
		} else {
			if (why != NULL)
				fprintf(stderr,
				        "saltbridge: warning: the session "
				        "could "
				        "not be ended on the service (%s); it "
				        "stays valid there until it expires\n",
				        why);
			printf("Logged out %s; its local data is removed.\n",
			       email);
			ret = 0;
		}
		bridge_paths_free(&p);
	}
	free(email);
	return ret;
}

/* accounts and info. */
static int SB_WUR
cmd_show(struct cli *c, int argc, char **argv, bool info)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {"json", no_argument, NULL, OPT_JSON},
	        {NULL, 0, NULL, 0},
	};
	const char *usage = info ? usage_info : usage_accounts, *error;
	struct bridge_paths p;
	char *email = NULL;
	int ret;

	ret = parse_command(c, argc, argv, usage, opts);
	if (ret >= 0)
		return ret;
	if (optind < argc && (!info || optind + 1 != argc)) {
		fputs(usage, stderr);
		return 2;
	}
	if (optind < argc && take_email(argc, argv, usage, &email) != 0)
		return 2;
	if (open_paths(c, &p) != 0) {
		free(email);
		return 1;
	}
	ret = bridge_print_accounts(&p, email,
	                            c->json ? BRIDGE_FORMAT_JSON
	                            : info  ? BRIDGE_FORMAT_INFO
	                                    : BRIDGE_FORMAT_TABLE,
	                            STDOUT_FILENO, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	bridge_paths_free(&p);
	free(email);
	return ret != 0 ? 1 : 0;
}

static int SB_WUR
cmd_serve(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {"imap-port", required_argument, NULL, OPT_IMAP_PORT},
	        {"imaps-port", required_argument, NULL, OPT_IMAPS_PORT},
	        {"smtp-port", required_argument, NULL, OPT_SMTP_PORT},
	        {"smtps-port", required_argument, NULL, OPT_SMTPS_PORT},
	        {"listen", required_argument, NULL, OPT_LISTEN},
	        {NULL, 0, NULL, 0},
	};
	struct bridge_paths p;
	const char *error;
	int ret;

	ret = parse_command(c, argc, argv, usage_serve, opts);
	if (ret >= 0)
		return ret;
	if (optind < argc) {
		fputs(usage_serve, stderr);
		return 2;
	}
	if (open_paths(c, &p) != 0)
		return 1;
	ret = bridge_serve(&p, &c->given, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	bridge_paths_free(&p);
	return ret != 0 ? 1 : 0;
}

/* set and unset. */
static int SB_WUR
cmd_set(struct cli *c, int argc, char **argv, bool unset)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {"reset", no_argument, NULL, OPT_RESET},
	        {"allow-remote", no_argument, NULL, OPT_ALLOW_REMOTE},
	        {NULL, 0, NULL, 0},
	};
	struct bridge_paths p;
	const char *error;
	int ret, key = -1;
	size_t n;

	ret = parse_command(c, argc, argv, usage_set, opts);
	if (ret >= 0)
		return ret;
	n = (size_t)(argc - optind);
	if (unset)
		c->reset = true;
	if (n > 2 || (c->reset && n != 1) || (unset && c->allow_remote)) {
		fputs(usage_set, stderr);
		return 2;
	}
	if (n > 0) {
		key = bridge_setting_find(argv[optind], strlen(argv[optind]));
		if (key < 0) {
			fprintf(stderr,
			        "saltbridge: unknown setting '%s' (there are "
			        "imap-port, imaps-port, smtp-port, smtps-port, "
			        "listen and log-level)\n",
			        argv[optind]);
			return 2;
		}
	}
	if (open_paths(c, &p) != 0)
		return 1;
	if (n == 2 || c->reset)
		ret = bridge_settings_set(&p, key,
		                          n == 2 ? argv[optind + 1] : NULL,
		                          c->allow_remote, &error);
	else
		ret = bridge_settings_show(&p, key, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	bridge_paths_free(&p);
	return ret != 0 ? 1 : 0;
}

static int SB_WUR
cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {"json", no_argument, NULL, OPT_JSON},
	        {NULL, 0, NULL, 0},
	};
	struct bridge_paths p;
	const char *error;
	int ret;

	ret = parse_command(c, argc, argv, usage_status, opts);
	if (ret >= 0)
		return ret;
	if (optind < argc) {
		fputs(usage_status, stderr);
		return 2;
	}
	if (open_paths(c, &p) != 0)
		return 1;
	ret = bridge_print_status(&p, c->json, STDOUT_FILENO, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	bridge_paths_free(&p);
	return ret != 0 ? 1 : 0;
}

static int SB_WUR
cmd_cert(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	struct bridge_paths p;
	const char *error, *what;
	int ret, n;

	ret = parse_command(c, argc, argv, usage_cert, opts);
	if (ret >= 0)
		return ret;
	n = argc - optind;
	what = n > 0 ? argv[optind] : "";
	if (!((n == 1 && strcmp(what, "show") == 0) ||
	      (n == 2 && strcmp(what, "export") == 0) ||
	      (n == 1 && strcmp(what, "install") == 0))) {
		fputs(usage_cert, stderr);
		return 2;
	}
	if (open_paths(c, &p) != 0)
		return 1;
	if (what[0] == 's')
		ret = bridge_cert_show(&p, &error);
	else if (what[0] == 'e')
		ret = bridge_cert_export(&p, argv[optind + 1], &error);
	else
		ret = bridge_cert_install(&p, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	bridge_paths_free(&p);
	return ret != 0 ? 1 : 0;
}

/* The global options, before the command; returns the command's index. */
static int SB_WUR
parse_global(struct cli *c, int argc, char **argv, int *exit_r)
{
	static const struct option opts[] = {
	        COMMON_OPTIONS,
	        {NULL, 0, NULL, 0},
	};
	int o;

	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (o == OPT_HOME || o == OPT_LOG_LEVEL) {
			if (take_common(c, o, optarg) != 0) {
				*exit_r = 2;
				return -1;
			}
		} else if (o == 'h' || o == OPT_HELP) {
			fputs(usage_main, stdout);
			*exit_r = 0;
			return -1;
		} else {
			fputs(usage_main, stderr);
			*exit_r = 2;
			return -1;
		}
	}
	if (optind >= argc) {
		fputs(usage_main, stderr);
		*exit_r = 2;
		return -1;
	}
	return optind;
}

int
main(int argc, char **argv)
{
	struct cli c;
	const char *cmd;
	int i, ret;

	/*
	 * No core dump, and no ptrace by other processes of the user: the
	 * memory holds the password, keys and tokens.
	 */
	{
		struct rlimit none = {0, 0};

		(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		(void)setrlimit(RLIMIT_CORE, &none);
	}
	/* Every file the bridge makes is the user's alone. */
	umask(077);
	sb_log_set_ident("saltbridge");
	sb_log_set_level(SB_LOG_WARN);
	if (sb_crypto_init() != 0) {
		fprintf(stderr, "saltbridge: cannot initialise libsodium\n");
		return 1;
	}
	memset(&c, 0, sizeof(c));
	i = parse_global(&c, argc, argv, &ret);
	if (i < 0)
		return ret;
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (strcmp(cmd, "login") == 0)
		return cmd_login(&c, argc, argv);
	if (strcmp(cmd, "logout") == 0)
		return cmd_logout(&c, argc, argv);
	if (strcmp(cmd, "accounts") == 0)
		return cmd_show(&c, argc, argv, false);
	if (strcmp(cmd, "info") == 0)
		return cmd_show(&c, argc, argv, true);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(&c, argc, argv);
	if (strcmp(cmd, "demo") == 0)
		return bridge_demo_command(argc, argv, c.home);
	if (strcmp(cmd, "set") == 0 || strcmp(cmd, "unset") == 0)
		return cmd_set(&c, argc, argv, cmd[0] == 'u');
	if (strcmp(cmd, "status") == 0)
		return cmd_status(&c, argc, argv);
	if (strcmp(cmd, "cert") == 0)
		return cmd_cert(&c, argc, argv);
	if (strcmp(cmd, "config") == 0)
		return bridge_cmd_config(c.home, argc, argv);
	if (strcmp(cmd, "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	fprintf(stderr, "saltbridge: unknown command '%s'\n\n%s", cmd,
	        usage_main);
	return 2;
}
