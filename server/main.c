/* saltmaild: the command line. See saltmaild(8) and docs/api.md. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "server/server.h"

static const char usage_main[] =
        "usage: saltmaild COMMAND [OPTIONS]\n"
        "\n"
        "The reference Salt Mail API server: HTTPS JSON, end-to-end\n"
        "encrypted mail stored as ciphertext only.\n"
        "\n"
        "commands:\n"
        "  init --data DIR              create a data folder\n"
        "  serve --data DIR [...]       serve the API over HTTPS\n"
        "  user add --data DIR EMAIL --password-stdin\n"
        "                               create an account (keys made here)\n"
        "  deliver --data DIR --to EMAIL [--mailbox NAME] < MESSAGE\n"
        "                               deliver mail from outside, encrypted\n"
        "                               on arrival\n"
        "  import --data DIR --to EMAIL [--mailbox NAME] PATH\n"
        "                               import an mbox file or a Maildir,\n"
        "                               encrypted on arrival\n"
        "\n"
        "Run 'saltmaild COMMAND --help' for a command's options.\n";

static const char usage_serve[] =
        "usage: saltmaild serve --data DIR [OPTIONS]\n"
        "\n"
        "  --listen ADDR:PORT    address to listen on (127.0.0.1:0; port 0\n"
        "                        picks a free port)\n"
        "  --open-signup         anyone may sign up\n"
        "  --invite-code CODE    signup needs this code\n"
        "  --quota BYTES         storage per account (1073741824)\n"
        "  --max-blob BYTES      largest blob (67108864)\n"
        "  --token-ttl SECONDS   access token lifetime (900)\n"
        "  --changes-keep N      changes kept per account, at least (10000)\n"
        "  --login-limit N       failed logins per address per minute (5);\n"
        "                        per client address, 20 times that\n"
        "  --lookup-limit N      key lookups per account per minute (600)\n"
        "  --cert FILE           the TLS certificate chain (PEM); with\n"
        "  --key FILE            its key (PEM); default: a self-signed\n"
        "                        certificate made in DIR/tls/\n"
        "  --smarthost HOST:PORT relay for mail to other services\n"
        "  --relay-max-age SECONDS\n"
        "                        how long mail the smarthost defers is\n"
        "                        retried before it is returned to its\n"
        "                        sender (432000: 5 days)\n"
        "  --log-level LEVEL     debug, info, warn or error (info)\n"
        "\n"
        "Prints 'saltmaild: ready https://ADDR:PORT' once listening;\n"
        "SIGTERM stops it cleanly.\n";

/* Parses a decimal number of at most max; exits with a message if not. */
static uint64_t
parse_number(const char *opt, const char *value, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v > max ||
	    value[0] == '-') {
		fprintf(stderr, "saltmaild: %s takes a number up to %llu\n",
		        opt, (unsigned long long)max);
		exit(2);
	}
	return v;
}

/* Splits ADDR:PORT (IPv6 as [ADDR]:PORT). */
static void
parse_listen(char *value, struct srv_config *c)
{
	char *colon = strrchr(value, ':');

	if (colon == NULL) {
		fprintf(stderr, "saltmaild: --listen takes ADDR:PORT\n");
		exit(2);
	}
	*colon = '\0';
	c->listen_port = (unsigned)parse_number("--listen", colon + 1, 65535);
	if (value[0] == '[' && colon > value + 1 && colon[-1] == ']') {
		colon[-1] = '\0';
		value++;
	}
	c->listen_addr = value;
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
	        {"data", required_argument, NULL, 'd'},
	        {"listen", required_argument, NULL, 'l'},
	        {"open-signup", no_argument, NULL, 'o'},
	        {"invite-code", required_argument, NULL, 'i'},
	        {"quota", required_argument, NULL, 'q'},
	        {"max-blob", required_argument, NULL, 'b'},
	        {"token-ttl", required_argument, NULL, 't'},
	        {"changes-keep", required_argument, NULL, 'k'},
	        {"login-limit", required_argument, NULL, 'L'},
	        {"lookup-limit", required_argument, NULL, 'K'},
	        {"relay-max-age", required_argument, NULL, 'R'},
	        {"smarthost", required_argument, NULL, 's'},
	        {"cert", required_argument, NULL, 'C'},
	        {"key", required_argument, NULL, 'Y'},
	        {"log-level", required_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct srv_config c;
	enum sb_log_level level;
	const char *error;
	int o;

	srv_config_default(&c);
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			c.data_dir = optarg;
			break;
		case 'l':
			parse_listen(optarg, &c);
			break;
		case 'o':
			c.open_signup = true;
			break;
		case 'i':
			c.invite_code = optarg;
			break;
		case 'q':
			c.quota = parse_number("--quota", optarg, 1ULL << 50);
			break;
		case 'b':
			c.max_blob =
			        parse_number("--max-blob", optarg, 1ULL << 40);
			break;
		case 't':
			c.token_ttl =
			        parse_number("--token-ttl", optarg, 86400 * 30);
			break;
		case 'k':
			c.changes_keep = parse_number("--changes-keep", optarg,
			                              1ULL << 40);
			break;
		case 'L':
			c.login_limit = (unsigned)parse_number("--login-limit",
			                                       optarg, 1000000);
			break;
		case 'K':
			c.lookup_limit = (unsigned)parse_number(
			        "--lookup-limit", optarg, 1000000);
			break;
		case 'R':
			c.relay_max_age = parse_number("--relay-max-age",
			                               optarg, 365ULL * 86400);
			break;
		case 'C':
			c.cert_file = optarg;
			break;
		case 'Y':
			c.key_file = optarg;
			break;
		case 's':
			c.smarthost = optarg;
			break;
		case 'v':
			if (sb_log_level_parse(optarg, &level) != 0) {
				fprintf(stderr,
				        "saltmaild: unknown log level "
				        "'%s'\n",
				        optarg);
				return 2;
			}
			sb_log_set_level(level);
			break;
		case 'h':
			fputs(usage_serve, stdout);
			return 0;
		default:
			fputs(usage_serve, stderr);
			return 2;
		}
	}
	if ((c.cert_file == NULL) != (c.key_file == NULL)) {
		fprintf(stderr, "saltmaild: --cert and --key go together\n");
		return 2;
	}
	if (c.data_dir == NULL || optind != argc || c.login_limit == 0 ||
	    c.lookup_limit == 0 || c.max_blob == 0 || c.token_ttl == 0) {
		fputs(usage_serve, stderr);
		return 2;
	}
	if (srv_serve(&c, &error) != 0) {
		fprintf(stderr, "saltmaild: %s\n", error);
		return 1;
	}
	return 0;
}

/* --data DIR and --help for the small commands; returns DIR. */
static const char *
parse_data_only(int argc, char **argv, const char *usage,
                const struct option *extra, void (*take)(int o, char *arg))
{
	struct option opts[8];
	const char *dir = NULL;
	size_t n = 0;
	int o;

	opts[n++] = (struct option){"data", required_argument, NULL, 'd'};
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	while (extra != NULL && extra->name != NULL && n < 7)
		opts[n++] = *extra++;
	opts[n] = (struct option){NULL, 0, NULL, 0};
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'd') {
			dir = optarg;
		} else if (o == 'h') {
			fputs(usage, stdout);
			exit(0);
		} else if (o != '?' && take != NULL) {
			take(o, optarg);
		} else {
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (dir == NULL) {
		fputs(usage, stderr);
		exit(2);
	}
	return dir;
}

static int
cmd_init(int argc, char **argv)
{
	static const char usage[] = "usage: saltmaild init --data DIR\n";
	const char *dir = parse_data_only(argc, argv, usage, NULL, NULL);
	const char *error;

	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (srv_init_data(dir, &error) != 0) {
		fprintf(stderr, "saltmaild: %s\n", error);
		return 1;
	}
	printf("saltmaild: data folder ready in %s\n", dir);
	return 0;
}

static bool user_password_stdin;

static void
take_user_opt(int o, char *arg)
{
	(void)arg;
	if (o == 'p')
		user_password_stdin = true;
}

static int
cmd_user_add(int argc, char **argv)
{
	static const char usage[] =
	        "usage: saltmaild user add --data DIR EMAIL --password-stdin\n"
	        "\n"
	        "Creates an account. The password is read from standard input\n"
	        "(one line); the keys are made and wrapped here, as a client\n"
	        "would, so the server never sees the password.\n";
	static const struct option extra[] = {
	        {"password-stdin", no_argument, NULL, 'p'},
	        {NULL, 0, NULL, 0},
	};
	const char *dir, *error;
	struct sb_buf pw;
	char chunk[256];
	ssize_t n;
	int ret;

	dir = parse_data_only(argc, argv, usage, extra, take_user_opt);
	if (optind + 1 != argc || !user_password_stdin) {
		fputs(usage, stderr);
		return 2;
	}
	sb_buf_init(&pw, 4096);
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) > 0) {
		if (sb_buf_add(&pw, chunk, (size_t)n) != 0) {
			fprintf(stderr,
			        "saltmaild: the password is too long\n");
			return 1;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	/* One line: drop the line end. */
	while (pw.len > 0 &&
	       (pw.data[pw.len - 1] == '\n' || pw.data[pw.len - 1] == '\r'))
		sb_buf_truncate(&pw, pw.len - 1);
	if (pw.len == 0) {
		fprintf(stderr, "saltmaild: no password on standard input\n");
		return 1;
	}
	ret = srv_user_add(dir, argv[optind], pw.data, pw.len, &error);
	sb_buf_free_wipe(&pw);
	if (ret != 0) {
		fprintf(stderr, "saltmaild: %s\n", error);
		return 1;
	}
	printf("saltmaild: account %s created\n", argv[optind]);
	return 0;
}

static const char *deliver_to, *deliver_mailbox;

static void
take_deliver_opt(int o, char *arg)
{
	if (o == 't')
		deliver_to = arg;
	else if (o == 'm')
		deliver_mailbox = arg;
}

static int
cmd_deliver(int argc, char **argv)
{
	static const char usage[] =
	        "usage: saltmaild deliver --data DIR --to EMAIL "
	        "[--mailbox NAME] < MESSAGE\n"
	        "\n"
	        "Delivers one RFC 5322 message from outside to an account,\n"
	        "encrypted to its key on arrival: nothing is stored in clear.\n"
	        "Works while 'saltmaild serve' runs on the same data folder.\n"
	        "Exit codes follow sysexits: 67 unknown recipient, 75 try\n"
	        "again later.\n";
	static const struct option extra[] = {
	        {"to", required_argument, NULL, 't'},
	        {"mailbox", required_argument, NULL, 'm'},
	        {NULL, 0, NULL, 0},
	};
	const char *dir, *error;

	dir = parse_data_only(argc, argv, usage, extra, take_deliver_opt);
	if (optind != argc || deliver_to == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (srv_deliver(dir, deliver_to, deliver_mailbox, STDIN_FILENO,
	                &error) != 0) {
		fprintf(stderr, "saltmaild: %s\n", error);
		return strstr(error, "no account") != NULL ? 67 : 75;
	}
	return 0;
}

static int
cmd_import(int argc, char **argv)
{
	static const char usage[] =
	        "usage: saltmaild import --data DIR --to EMAIL "
	        "[--mailbox NAME] PATH\n"
	        "\n"
	        "Imports the messages of PATH, an mbox file or a Maildir, "
	        "into\n"
	        "an account's INBOX (or the top-level mailbox NAME), each one\n"
	        "encrypted to the account's key on arrival as 'deliver' does.\n"
	        "\n"
	        "An mbox file is read as mboxrd: a line starting \"From \"\n"
	        "begins a message and gives its received time, and one '>' is\n"
	        "taken off lines starting \">From \", \">>From \", ...\n"
	        "A Maildir's cur/ and new/ are read; the received time is a\n"
	        "file's mtime, and its flags become keywords: S $seen,\n"
	        "F $flagged, R $answered, D $draft, P $forwarded. Messages\n"
	        "marked T (trashed) are skipped, as are empty ones and ones\n"
	        "larger than 67108864 bytes, with a warning.\n"
	        "\n"
	        "Works while 'saltmaild serve' runs on the same data folder:\n"
	        "messages are filed up to 100 per transaction, so clients see\n"
	        "them arrive. A progress bar is shown when standard error is "
	        "a\n"
	        "terminal. SIGINT or SIGTERM stops it after the message being\n"
	        "read; what was imported stays, whole messages only. Exit\n"
	        "codes: 1 on an error, 67 unknown recipient.\n";
	static const struct option extra[] = {
	        {"to", required_argument, NULL, 't'},
	        {"mailbox", required_argument, NULL, 'm'},
	        {NULL, 0, NULL, 0},
	};
	struct srv_import_stats stats;
	const char *dir, *error;

	dir = parse_data_only(argc, argv, usage, extra, take_deliver_opt);
	if (optind + 1 != argc || deliver_to == NULL) {
		fputs(usage, stderr);
		return 2;
	}
	if (srv_import(dir, deliver_to, deliver_mailbox, argv[optind],
	               isatty(STDERR_FILENO) == 1, &stats, &error) != 0) {
		fprintf(stderr, "saltmaild: %s\n", error);
		if (stats.imported > 0)
			fprintf(stderr,
			        "saltmaild: %llu messages were imported "
			        "before the error\n",
			        (unsigned long long)stats.imported);
		return strstr(error, "no account") != NULL ? 67 : 1;
	}
	printf("saltmaild: imported %llu messages (%llu skipped",
	       (unsigned long long)stats.imported,
	       (unsigned long long)stats.skipped);
	if (stats.trashed > 0)
		printf(", %llu of them trashed",
		       (unsigned long long)stats.trashed);
	printf(") into %s\n", deliver_to);
	return 0;
}

int
main(int argc, char **argv)
{
	sb_log_set_ident("saltmaild");
	if (sb_crypto_init() != 0) {
		fprintf(stderr, "saltmaild: cannot initialise libsodium\n");
		return 1;
	}
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "deliver") == 0)
		return cmd_deliver(argc - 1, argv + 1);
	if (strcmp(argv[1], "import") == 0)
		return cmd_import(argc - 1, argv + 1);
	if (strcmp(argv[1], "user") == 0 && argc > 2 &&
	    strcmp(argv[2], "add") == 0)
		return cmd_user_add(argc - 2, argv + 2);
	fprintf(stderr, "saltmaild: unknown command '%s'\n\n%s", argv[1],
	        usage_main);
	return 2;
}
