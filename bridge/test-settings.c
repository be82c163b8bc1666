/*
 * The settings file: its values, the strict parser fed whole, a byte at a
 * time and in pieces of every size (each must give the same answer), the
 * rewrite of one line, and the file read and changed on disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/settings.h"
#include "test.h"

/* The parser's answer for text fed in pieces of `piece` bytes (0: whole). */
struct parsed {
	int ret;
	char error[BRIDGE_SETTINGS_LINE_MAX + 128];
	struct bridge_settings s;
};

static void
parse_pieces(const char *text, size_t len, size_t piece, struct parsed *r)
{
	struct bridge_settings_parser pp;
	const char *error = NULL;
	size_t i, n;

	memset(r, 0, sizeof(*r));
	bridge_settings_parser_init(&pp, &r->s);
	r->ret = 0;
	for (i = 0; i < len && r->ret == 0; i += n) {
		n = piece == 0 || len - i < piece ? len - i : piece;
		r->ret = bridge_settings_parser_feed(&pp, text + i, n, &error);
	}
	if (r->ret == 0)
		r->ret = bridge_settings_parser_finish(&pp, &error);
	else
		/* A failed parser stays failed. */
		TEST_EQ_INT(bridge_settings_parser_finish(&pp, &error), -1);
	if (r->ret != 0)
		snprintf(r->error, sizeof(r->error), "%s", error);
}

/* Parses whole, then checks every other way of cutting gives the same. */
static struct parsed
parse(const char *text, size_t len)
{
	struct parsed whole, cut;
	size_t piece;

	parse_pieces(text, len, 0, &whole);
	for (piece = 1; piece <= 7; piece++) {
		parse_pieces(text, len, piece, &cut);
		TEST_EQ_INT(cut.ret, whole.ret);
		TEST_EQ_STR(cut.error, whole.error);
		TEST_EQ_MEM(&cut.s, sizeof(cut.s), &whole.s, sizeof(whole.s));
	}
	return whole;
}

static struct parsed
parse_str(const char *text)
{
	return parse(text, strlen(text));
}

static void
expect_error(const char *text, size_t len, const char *want)
{
	struct parsed r = parse(text, len);

	TEST_EQ_INT(r.ret, -1);
	if (strstr(r.error, want) == NULL)
		test_fail(__FILE__, __LINE__, "%s: \"%s\" lacks \"%s\"", text,
		          r.error, want);
}

static void
expect_error_str(const char *text, const char *want)
{
	expect_error(text, strlen(text), want);
}

static const char *
shown(const struct bridge_settings *s, enum bridge_setting key)
{
	static char out[BRIDGE_SETTING_VALUE_MAX];

	bridge_setting_format(s, key, out);
	return out;
}

static void
test_defaults(void)
{
	struct bridge_settings s;
	struct parsed r;
	size_t i;

	bridge_settings_default(&s);
	TEST_EQ_UINT(s.imap_port, 1143);
	TEST_EQ_UINT(s.imaps_port, BRIDGE_PORT_OFF);
	TEST_EQ_UINT(s.smtp_port, 1025);
	TEST_EQ_UINT(s.smtps_port, BRIDGE_PORT_OFF);
	TEST_EQ_STR(s.listen, "127.0.0.1");
	TEST_EQ_INT(s.log_level, SB_LOG_WARN);
	TEST_EQ_UINT(s.given, 0);
	TEST_EQ_STR(shown(&s, BRIDGE_SETTING_IMAPS_PORT), "off");
	TEST_EQ_STR(shown(&s, BRIDGE_SETTING_LOG_LEVEL), "warn");
	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		const char *name = bridge_setting_name(i);

		TEST_EQ_INT(bridge_setting_find(name, strlen(name)), (int)i);
		TEST_ASSERT(bridge_setting_about(i)[0] != '\0');
	}
	TEST_EQ_INT(bridge_setting_find("imap", 4), -1);
	TEST_EQ_INT(bridge_setting_find("imap-port ", 10), -1);
	TEST_EQ_INT(bridge_settings_check(&s, &(const char *){NULL}), 0);
	/* An empty file, or one of comments, is every default. */
	r = parse_str("");
	TEST_EQ_INT(r.ret, 0);
	TEST_EQ_MEM(&r.s, sizeof(s), &s, sizeof(s));
	r = parse_str("# nothing\n\n  \t\n   # more");
	TEST_EQ_INT(r.ret, 0);
	TEST_EQ_MEM(&r.s, sizeof(s), &s, sizeof(s));
}

static void
test_values(void)
{
	static const struct {
		enum bridge_setting key;
		const char *in, *out;
	} good[] = {
	        {BRIDGE_SETTING_IMAP_PORT, "0", "0"},
	        {BRIDGE_SETTING_IMAP_PORT, "1", "1"},
	        {BRIDGE_SETTING_IMAP_PORT, "65535", "65535"},
	        {BRIDGE_SETTING_SMTPS_PORT, "off", "off"},
	        {BRIDGE_SETTING_LISTEN, "::1", "::1"},
	        {BRIDGE_SETTING_LISTEN, "0:0:0:0:0:0:0:1", "::1"},
	        {BRIDGE_SETTING_LISTEN, "192.168.1.10", "192.168.1.10"},
	        {BRIDGE_SETTING_LISTEN, "::", "::"},
	        {BRIDGE_SETTING_LOG_LEVEL, "INFO", "info"},
	        {BRIDGE_SETTING_LOG_LEVEL, "warning", "warn"},
	        {BRIDGE_SETTING_LOG_LEVEL, "debug", "debug"},
	};
	static const struct {
		enum bridge_setting key;
		const char *in, *why;
	} bad[] = {
	        {BRIDGE_SETTING_IMAP_PORT, "65536", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "-1", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "+1", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "01143", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "1e3", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "OFF", "not a port"},
	        {BRIDGE_SETTING_IMAP_PORT, "99999999999999999999",
	         "not a port"},
	        {BRIDGE_SETTING_LISTEN, "localhost", "not an IP address"},
	        {BRIDGE_SETTING_LISTEN, "127.0.0.1:25", "not an IP address"},
	        {BRIDGE_SETTING_LISTEN, "127.1", "not an IP address"},
	        {BRIDGE_SETTING_LISTEN, "fe80::1%eth0", "not an IP address"},
	        {BRIDGE_SETTING_LISTEN, "[::1]", "not an IP address"},
	        {BRIDGE_SETTING_LOG_LEVEL, "loud", "not a level"},
	        {BRIDGE_SETTING_LOG_LEVEL, "", "not a level"},
	};
	struct bridge_settings s, before;
	const char *error = NULL;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(good); i++) {
		bridge_settings_default(&s);
		TEST_EQ_INT(bridge_setting_parse(&s, good[i].key, good[i].in,
		                                 strlen(good[i].in), &error),
		            0);
		TEST_EQ_STR(shown(&s, good[i].key), good[i].out);
		TEST_EQ_UINT(s.given, 1u << good[i].key);
		bridge_setting_reset(&s, good[i].key);
		bridge_settings_default(&before);
		TEST_EQ_MEM(&s, sizeof(s), &before, sizeof(before));
	}
	for (i = 0; i < SB_N_ELEMENTS(bad); i++) {
		bridge_settings_default(&s);
		before = s;
		TEST_EQ_INT(bridge_setting_parse(&s, bad[i].key, bad[i].in,
		                                 strlen(bad[i].in), &error),
		            -1);
		if (strstr(error, bad[i].why) == NULL ||
		    strstr(error, bridge_setting_name(bad[i].key)) == NULL)
			test_fail(__FILE__, __LINE__, "%s: %s", bad[i].in,
			          error);
		TEST_EQ_MEM(&s, sizeof(s), &before, sizeof(before));
	}
	/* What a person typed is shown cut and without control bytes. */
	TEST_EQ_INT(bridge_setting_parse(&s, BRIDGE_SETTING_LISTEN,
	                                 "\x1b[2J and a long tail of words", 29,
	                                 &error),
	            -1);
	TEST_ASSERT(strchr(error, '\x1b') == NULL);
	/* Every port reads back as it is written. */
	for (i = 0; i <= 65535; i++) {
		char text[16];

		snprintf(text, sizeof(text), "%zu", i);
		TEST_EQ_INT(bridge_setting_parse(&s, BRIDGE_SETTING_SMTP_PORT,
		                                 text, strlen(text), &error),
		            0);
		TEST_EQ_UINT(s.smtp_port, i);
		TEST_EQ_STR(shown(&s, BRIDGE_SETTING_SMTP_PORT), text);
	}
}

static void
test_parse_good(void)
{
	struct parsed r;

	r = parse_str("# ports\n"
	              "imap-port = 2143\n"
	              "\timaps-port\t=\t1993\t\n"
	              "smtp-port=0\n"
	              "  smtps-port =off\n"
	              "\n"
	              "listen = ::1\n"
	              "log-level = info");
	TEST_EQ_STR(r.error, "");
	TEST_EQ_INT(r.ret, 0);
	TEST_EQ_UINT(r.s.imap_port, 2143);
	TEST_EQ_UINT(r.s.imaps_port, 1993);
	TEST_EQ_UINT(r.s.smtp_port, 0);
	TEST_EQ_UINT(r.s.smtps_port, BRIDGE_PORT_OFF);
	TEST_EQ_STR(r.s.listen, "::1");
	TEST_EQ_INT(r.s.log_level, SB_LOG_INFO);
	TEST_EQ_UINT(r.s.given, (1u << BRIDGE_SETTINGS_COUNT) - 1);
	/* CR LF line ends, and a file that is a lone CR. */
	r = parse_str("imap-port = 2143\r\n# x\r\nlisten = 127.0.0.2\r\n");
	TEST_EQ_INT(r.ret, 0);
	TEST_EQ_UINT(r.s.imap_port, 2143);
	TEST_EQ_STR(r.s.listen, "127.0.0.2");
	TEST_EQ_UINT(r.s.given, 1u << BRIDGE_SETTING_IMAP_PORT |
	                                1u << BRIDGE_SETTING_LISTEN);
	TEST_EQ_INT(parse_str("\r").ret, 0);
	/* Two listeners on any free port is fine, off twice too. */
	TEST_EQ_INT(parse_str("imap-port = 0\nsmtp-port = 0\nimaps-port = "
	                      "off\n")
	                    .ret,
	            0);
	/* UTF-8 in a comment. */
	TEST_EQ_INT(parse_str("# r\xc3\xa9glages\nimap-port = 1\n").ret, 0);
}

static void
test_parse_bad(void)
{
	char line[BRIDGE_SETTINGS_LINE_MAX + 40], *big;
	size_t n;

	expect_error_str("imap_port = 1\n",
	                 "line 1: unknown setting 'imap_port'");
	expect_error_str("# a\n\nimap-port 1143\n",
	                 "line 3: 'imap-port 1143' is not KEY = VALUE");
	expect_error_str("imap-port\n", "line 1: 'imap-port' is not KEY");
	expect_error_str("= 1\n", "line 1: unknown setting ''");
	expect_error_str("imap-port =\n", "line 1: imap-port has no value");
	expect_error_str("imap-port = \t \n", "line 1: imap-port has no value");
	expect_error_str("imap-port = 1\nsmtp-port = 2\nimap-port = 3\n",
	                 "line 3: imap-port again (it is set on line 1)");
	expect_error_str("imap-port = 1143 # the usual\n",
	                 "line 1: imap-port: '1143 # the usual' is not a port");
	expect_error_str("smtp-port = on\n", "line 1: smtp-port: 'on' is not");
	expect_error_str("listen = localhost\n",
	                 "line 1: listen: 'localhost' is not an IP address");
	expect_error_str("log-level = loud\n", "line 1: log-level: 'loud'");
	expect_error_str("IMAP-PORT = 1\n", "unknown setting 'IMAP-PORT'");
	/* Control bytes, anywhere, even in a comment. */
	expect_error("imap-port = 1\n# \0\n", 18,
	             "line 2: a control byte (0x00)");
	expect_error_str("imap-port = 1\r2\n", "line 1: a control byte (0x0d)");
	expect_error_str("imap-port = 1\r\r\n",
	                 "line 1: a control byte (0x0d)");
	expect_error_str("# \x1b[2J\n", "line 1: a control byte (0x1b)");
	expect_error_str("listen = ::1\x7f", "line 1: a control byte (0x7f)");
	/* Listeners on one port. */
	expect_error_str("imap-port = 2000\nsmtps-port = 2000\n",
	                 "imap-port and smtps-port are both 2000");
	expect_error_str("smtp-port = 1143\n",
	                 "imap-port and smtp-port are both 1143");
	/* Lines up to the limit, and one byte more; CR LF aside. */
	memset(line, '#', sizeof(line));
	TEST_EQ_INT(parse(line, BRIDGE_SETTINGS_LINE_MAX).ret, 0);
	line[BRIDGE_SETTINGS_LINE_MAX] = '\r';
	line[BRIDGE_SETTINGS_LINE_MAX + 1] = '\n';
	TEST_EQ_INT(parse(line, BRIDGE_SETTINGS_LINE_MAX + 2).ret, 0);
	memset(line, '#', sizeof(line));
	expect_error(line, BRIDGE_SETTINGS_LINE_MAX + 1,
	             "line 1: longer than 256 bytes");
	expect_error(line, sizeof(line), "line 1: longer than 256 bytes");
	line[BRIDGE_SETTINGS_LINE_MAX + 1] = '\n';
	expect_error(line, BRIDGE_SETTINGS_LINE_MAX + 2,
	             "line 1: longer than 256 bytes");
	/* A file of comments up to the limit, and a byte more. */
	n = BRIDGE_SETTINGS_FILE_MAX + 1;
	big = malloc(n);
	TEST_ASSERT(big != NULL);
	memset(big, '\n', n);
	big[0] = '#';
	TEST_EQ_INT(parse(big, n - 1).ret, 0);
	expect_error(big, n, "larger than 65536 bytes");
	free(big);
}

/* Rewriting one line of a text; the result must parse to *s_r. */
static char *
rewrite(const char *text, enum bridge_setting key, const char *value,
        struct bridge_settings *s_r, const char **error_r)
{
	struct sb_buf out;
	struct parsed back;

	sb_buf_init(&out, BRIDGE_SETTINGS_FILE_MAX);
	if (bridge_settings_rewrite(text, strlen(text), key, value, &out, s_r,
	                            error_r) != 0) {
		sb_buf_free(&out);
		return NULL;
	}
	back = parse(out.data, out.len);
	TEST_EQ_STR(back.error, "");
	TEST_EQ_MEM(&back.s, sizeof(back.s), s_r, sizeof(*s_r));
	return sb_buf_take(&out, NULL);
}

static void
test_rewrite(void)
{
	struct bridge_settings s;
	const char *error = NULL;
	char *out;

	/* A new file gets a header, then the line. */
	out = rewrite("", BRIDGE_SETTING_IMAP_PORT, "2143", &s, &error);
	TEST_ASSERT(out != NULL);
	TEST_ASSERT(strncmp(out, "# ", 2) == 0);
	TEST_ASSERT(strstr(out, "\nimap-port = 2143\n") != NULL);
	TEST_EQ_UINT(s.given, 1u << BRIDGE_SETTING_IMAP_PORT);
	free(out);
	/* In place, comments and odd spacing kept; the value canonical. */
	out = rewrite("# mine\n  listen\t= 127.0.0.1 \n# end",
	              BRIDGE_SETTING_LISTEN, "0:0::1", &s, &error);
	TEST_EQ_STR(out, "# mine\nlisten = ::1\n# end\n");
	free(out);
	/* Added at the end, after a last line without LF. */
	out = rewrite("listen = ::1", BRIDGE_SETTING_LOG_LEVEL, "DEBUG", &s,
	              &error);
	TEST_EQ_STR(out, "listen = ::1\nlog-level = debug\n");
	free(out);
	/* Removed; a CR LF line keeps its end. */
	out = rewrite("imap-port = 1\r\nlisten = ::1\r\n",
	              BRIDGE_SETTING_IMAP_PORT, NULL, &s, &error);
	TEST_EQ_STR(out, "listen = ::1\r\n");
	TEST_EQ_UINT(s.imap_port, 1143);
	free(out);
	out = rewrite("imap-port = 1\r\nlisten = ::1\r\n",
	              BRIDGE_SETTING_LISTEN, "127.0.0.1", &s, &error);
	TEST_EQ_STR(out, "imap-port = 1\r\nlisten = 127.0.0.1\r\n");
	free(out);
	/* Removing what is not there changes nothing. */
	out = rewrite("# x\n", BRIDGE_SETTING_SMTP_PORT, NULL, &s, &error);
	TEST_EQ_STR(out, "# x\n");
	free(out);
	/* Refused: a bad value, a clash, a bad file. */
	TEST_ASSERT(rewrite("", BRIDGE_SETTING_IMAP_PORT, "x", &s, &error) ==
	            NULL);
	TEST_ASSERT(strstr(error, "not a port") != NULL);
	TEST_ASSERT(rewrite("", BRIDGE_SETTING_IMAP_PORT, "1025", &s, &error) ==
	            NULL);
	TEST_ASSERT(strstr(error, "both 1025") != NULL);
	TEST_ASSERT(rewrite("nonsense\n", BRIDGE_SETTING_IMAP_PORT, "1", &s,
	                    &error) == NULL);
	TEST_ASSERT(strstr(error, "line 1") != NULL);
}

static void
test_files(void)
{
	char path[512], dir[400];
	struct bridge_settings s, d;
	const char *error = NULL;
	size_t len;
	struct stat st;
	char *text;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/files", test_tmpdir());
	TEST_EQ_INT(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/settings", dir);
	bridge_settings_default(&d);
	/* Missing: the defaults, and nothing is made. */
	TEST_EQ_INT(bridge_settings_load(path, &s, &error), 0);
	TEST_EQ_MEM(&s, sizeof(s), &d, sizeof(d));
	TEST_ASSERT(stat(path, &st) != 0);
	TEST_EQ_INT(bridge_settings_change(path, BRIDGE_SETTING_SMTP_PORT,
	                                   "2525", &s, &error),
	            0);
	TEST_EQ_UINT(s.smtp_port, 2525);
	TEST_EQ_INT(stat(path, &st), 0);
	TEST_EQ_INT(st.st_mode & 07777, 0600);
	TEST_EQ_INT(bridge_settings_load(path, &s, &error), 0);
	TEST_EQ_UINT(s.smtp_port, 2525);
	/* A bad value leaves the file as it was. */
	text = test_read_file(path, &len);
	TEST_EQ_INT(bridge_settings_change(path, BRIDGE_SETTING_SMTP_PORT,
	                                   "1143", &s, &error),
	            -1);
	TEST_ASSERT(strstr(error, "both 1143") != NULL);
	TEST_EQ_INT(bridge_settings_change(path, BRIDGE_SETTING_LISTEN, "x", &s,
	                                   &error),
	            -1);
	free(test_read_file(path, &len));
	free(text);
	/* A bad file: named, with its line, and what to do. */
	f = fopen(path, "a");
	TEST_ASSERT(f != NULL);
	fputs("bogus = 1\n", f);
	fclose(f);
	TEST_EQ_INT(bridge_settings_load(path, &s, &error), -1);
	TEST_ASSERT(strstr(error, path) != NULL);
	TEST_ASSERT(strstr(error, "line 4: unknown setting 'bogus'") != NULL);
	TEST_EQ_INT(bridge_settings_change(path, BRIDGE_SETTING_SMTP_PORT, NULL,
	                                   &s, &error),
	            -1);
	TEST_ASSERT(strstr(error, "line 4") != NULL);
	TEST_ASSERT(strstr(error, "fix the file first") != NULL);
	/* A folder in its place cannot be read. */
	TEST_EQ_INT(unlink(path), 0);
	TEST_EQ_INT(mkdir(path, 0700), 0);
	TEST_EQ_INT(bridge_settings_load(path, &s, &error), -1);
	TEST_ASSERT(strstr(error, "cannot read the settings") != NULL);
	TEST_EQ_INT(rmdir(path), 0);
}

static void
test_listeners(void)
{
	struct bridge_settings a, b, top;
	const char *error = NULL;

	TEST_ASSERT(bridge_listen_is_loopback("127.0.0.1"));
	TEST_ASSERT(bridge_listen_is_loopback("127.8.9.10"));
	TEST_ASSERT(bridge_listen_is_loopback("::1"));
	TEST_ASSERT(bridge_listen_is_loopback("::ffff:127.0.0.1"));
	TEST_ASSERT(!bridge_listen_is_loopback("0.0.0.0"));
	TEST_ASSERT(!bridge_listen_is_loopback("::"));
	TEST_ASSERT(!bridge_listen_is_loopback("192.168.1.1"));
	TEST_ASSERT(!bridge_listen_is_loopback("::ffff:10.0.0.1"));
	TEST_ASSERT(!bridge_listen_is_loopback("localhost"));
	/* Command-line options over the file's settings. */
	a = parse_str("imap-port = 2143\nsmtp-port = 2025\nlog-level = "
	              "debug\n")
	            .s;
	bridge_settings_default(&top);
	TEST_EQ_INT(bridge_setting_parse(&top, BRIDGE_SETTING_IMAP_PORT, "0", 1,
	                                 &error),
	            0);
	b = a;
	bridge_settings_overlay(&b, &top);
	TEST_EQ_UINT(b.imap_port, 0);
	TEST_EQ_UINT(b.smtp_port, 2025);
	TEST_EQ_INT(b.log_level, SB_LOG_DEBUG);
	TEST_ASSERT(bridge_settings_imap_differ(&a, &b));
	TEST_ASSERT(!bridge_settings_smtp_differ(&a, &b));
	TEST_EQ_INT(bridge_setting_parse(&b, BRIDGE_SETTING_LISTEN, "::1", 3,
	                                 &error),
	            0);
	TEST_ASSERT(bridge_settings_smtp_differ(&a, &b));
	b = a;
	b.log_level = SB_LOG_ERROR;
	TEST_ASSERT(!bridge_settings_imap_differ(&a, &b));
	TEST_ASSERT(!bridge_settings_smtp_differ(&a, &b));
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"defaults and names", test_defaults},
	        {"values", test_values},
	        {"files that parse", test_parse_good},
	        {"files refused, with their line", test_parse_bad},
	        {"one line rewritten", test_rewrite},
	        {"read and changed on disk", test_files},
	        {"listeners: loopback, overlay, changes", test_listeners},
	        {NULL, NULL},
	};

	return test_run(cases);
}
