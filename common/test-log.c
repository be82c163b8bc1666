#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "test.h"

static void
test_log_level_parse(void)
{
	enum sb_log_level l;

	TEST_EQ_INT(sb_log_level_parse("DEBUG", &l), 0);
	TEST_EQ_INT(l, SB_LOG_DEBUG);
	TEST_EQ_INT(sb_log_level_parse("warning", &l), 0);
	TEST_EQ_INT(l, SB_LOG_WARN);
	TEST_EQ_INT(sb_log_level_parse("none", &l), 0);
	TEST_EQ_INT(l, SB_LOG_NONE);
	TEST_EQ_INT(sb_log_level_parse("verbose", &l), -1);
	TEST_EQ_STR(sb_log_level_name(SB_LOG_ERROR), "error");
}

static void
expect_redacted(const char *line, bool in_sasl, const char *expected)
{
	char out[128];

	sb_log_redact_command(line, strlen(line), in_sasl, out, sizeof(out));
	TEST_EQ_STR(out, expected);
}

static void
test_log_redact_command(void)
{
	expect_redacted("a1 LOGIN alice@example.org hunter2\r\n", false,
	                "a1 LOGIN <redacted>");
	expect_redacted("a2 login \"alice\" {7+}\r\n", false,
	                "a2 login <redacted>");
	expect_redacted("a3 AUTHENTICATE PLAIN AGFsaWNlAGh1bnRlcjI=\r\n", false,
	                "a3 AUTHENTICATE PLAIN <redacted>");
	expect_redacted("a4 AUTHENTICATE PLAIN\r\n", false,
	                "a4 AUTHENTICATE PLAIN");
	expect_redacted("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=\r\n", false,
	                "AUTH PLAIN <redacted>");
	expect_redacted("AUTH LOGIN\r\n", false, "AUTH LOGIN");
	expect_redacted("PASS hunter2\r\n", false, "PASS <redacted>");
	expect_redacted("AGFsaWNlAGh1bnRlcjI=\r\n", true, " <redacted>");
	expect_redacted("a5 SELECT INBOX\r\n", false, "a5 SELECT INBOX");
	expect_redacted("", false, "");
}

/* A line whose words are split by CR, or cut short, never leaks. */
static void
test_log_redact_separators(void)
{
	char out[128];
	static const char line[] = "a AUTHENTICATE\rPLAIN AHVzZXIAcGFzcw==\r\n";

	expect_redacted("a AUTHENTICATE\rPLAIN AHVzZXIAcGFzcw==\r\n", false,
	                "a AUTHENTICATE PLAIN <redacted>");
	expect_redacted("a LOGIN\ruser pass", false, "a LOGIN <redacted>");
	expect_redacted("a\tLOGIN\tuser\tpass", false, "a LOGIN <redacted>");
	expect_redacted("a LOGIN\nuser pass", false, "a LOGIN <redacted>");
	expect_redacted("a AUTHENTICATE", false, "a AUTHENTICATE");
	expect_redacted("a AUTHENTICATE ", false, "a AUTHENTICATE");
	expect_redacted("a AUTHENTICATE\r\n", false, "a AUTHENTICATE");
	expect_redacted("a AUTHENTICATE AHVzZXIAcGFzcw==", false,
	                "a AUTHENTICATE <redacted>");
	expect_redacted("AUTH\rPLAIN AHVzZXIAcGFzcw==", false,
	                "AUTH PLAIN <redacted>");
	expect_redacted("AUTH AHVzZXIAcGFzcw==", false, "AUTH <redacted>");
	expect_redacted("PASS\rhunter2", false, "PASS <redacted>");
	expect_redacted("a LOGIN", false, "a LOGIN");
	/* Only the given length is read: no byte past it reaches out. */
	sb_log_redact_command(line, 20, false, out, sizeof(out));
	TEST_EQ_STR(out, "a AUTHENTICATE PLAIN");
	sb_log_redact_command(line, 22, false, out, sizeof(out));
	TEST_EQ_STR(out, "a AUTHENTICATE PLAIN <redacted>");
	sb_log_redact_command(line, 15, false, out, sizeof(out));
	TEST_EQ_STR(out, "a AUTHENTICATE");
	sb_log_redact_command("a LOGIN userX", 12, false, out, 4);
	TEST_EQ_STR(out, "a L");
}

/* IMAP literals of LOGIN and AUTHENTICATE: redacted with their size. */
static void
test_log_redact_literals(void)
{
	char out[64];

	TEST_ASSERT(sb_log_command_is_sensitive("a LOGIN {5}\r\n", 13));
	TEST_ASSERT(sb_log_command_is_sensitive("a login\r{5}", 12));
	TEST_ASSERT(
	        sb_log_command_is_sensitive("a AUTHENTICATE PLAIN {20}", 25));
	TEST_ASSERT(sb_log_command_is_sensitive("AUTH PLAIN", 10));
	TEST_ASSERT(sb_log_command_is_sensitive("PASS x", 6));
	TEST_ASSERT(!sb_log_command_is_sensitive("a SELECT {5}", 12));
	TEST_ASSERT(!sb_log_command_is_sensitive("", 0));
	expect_redacted("a LOGIN {5}\r\n", false, "a LOGIN <redacted>");
	sb_log_redact_data(5, out, sizeof(out));
	TEST_EQ_STR(out, "<redacted 5 bytes>");
	sb_log_redact_data(0, out, sizeof(out));
	TEST_EQ_STR(out, "<redacted 0 bytes>");
	sb_log_redact_data(123456, out, 8);
	TEST_EQ_STR(out, "<redact");
}

static void
test_log_redact_truncates(void)
{
	char out[8];

	sb_log_redact_command("a1 SELECT INBOX", 15, false, out, sizeof(out));
	TEST_EQ_STR(out, "a1 SELE");
}

/* Runs one log call with stderr sent to a file and returns what it wrote. */
static char *
capture_log(enum sb_log_level level, const char *msg)
{
	char path[512];
	size_t len;
	int saved, fd;

	snprintf(path, sizeof(path), "%s/log.txt", test_tmpdir());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	TEST_ASSERT(saved >= 0);
	TEST_ASSERT(dup2(fd, STDERR_FILENO) >= 0);
	sb_log(level, "%s", msg);
	fflush(stderr);
	TEST_ASSERT(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fd);
	return test_read_file(path, &len);
}

static void
test_log_escapes_and_filters(void)
{
	char *out;

	sb_log_set_level(SB_LOG_INFO);
	sb_log_set_ident("test");
	out = capture_log(SB_LOG_INFO, "peer said \"x\r\nFAKE: y\"\x01\\");
	TEST_ASSERT(strstr(out, " test info: ") != NULL);
	TEST_ASSERT(
	        strstr(out, "peer said \"x\\x0d\\x0aFAKE: y\"\\x01\\\\\n") !=
	        NULL);
	/* Exactly one line. */
	TEST_ASSERT(strchr(out, '\n') == out + strlen(out) - 1);
	free(out);

	out = capture_log(SB_LOG_DEBUG, "hidden");
	TEST_EQ_STR(out, "");
	free(out);
	sb_log_set_level(SB_LOG_DEBUG);
	out = capture_log(SB_LOG_DEBUG, "shown");
	TEST_ASSERT(strstr(out, "debug: shown\n") != NULL);
	free(out);
	sb_log_set_level(SB_LOG_NONE);
	out = capture_log(SB_LOG_ERROR, "silenced");
	TEST_EQ_STR(out, "");
	free(out);
	sb_log_set_level(SB_LOG_INFO);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"level parse", test_log_level_parse},
	        {"redact command", test_log_redact_command},
	        {"redact separators", test_log_redact_separators},
	        {"redact literals", test_log_redact_literals},
	        {"redact truncates", test_log_redact_truncates},
	        {"escapes and filters", test_log_escapes_and_filters},
	        {NULL, NULL},
	};
	return test_run(cases);
}
