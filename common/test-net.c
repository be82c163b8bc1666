/*
 * Plain-text connections over loopback: listeners, lines, limits,
 * timeouts, waiting on a socket and an eventfd, and SIGPIPE. Both ends
 * live in this one thread; the kernel's socket buffers are enough.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/net.h"
#include "test.h"

#define TIMEOUT_MS 5000

static struct sb_listener *
listen_any(void)
{
	struct sb_listener *l = NULL;
	const char *error = NULL;

	if (sb_listener_new(NULL, 0, &l, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s", error);
	return l;
}

/* A connected pair over loopback: *server_r accepted, *client_r dialled. */
static void
conn_pair(size_t max_line, int timeout_ms, struct sb_conn **server_r,
          struct sb_conn **client_r)
{
	struct sb_listener *l = listen_any();
	const char *error = NULL;
	int sfd = -1, cfd = -1;

	if (sb_net_connect("127.0.0.1", sb_listener_port(l), TIMEOUT_MS, &cfd,
	                   &error) != 0)
		test_fail(__FILE__, __LINE__, "%s", error);
	TEST_EQ_INT(sb_listener_accept(l, TIMEOUT_MS, &sfd, &error), 1);
	sb_listener_free(&l);
	*server_r = sb_conn_new(sfd, max_line, timeout_ms);
	*client_r = sb_conn_new(cfd, max_line, timeout_ms);
}

static void
send_str(struct sb_conn *c, const char *s)
{
	const char *error = NULL;

	if (sb_conn_write(c, s, strlen(s), &error) != 0)
		test_fail(__FILE__, __LINE__, "write: %s", error);
}

/* Reads one line and checks it. */
static void
expect_line(struct sb_conn *c, const char *want)
{
	enum sb_conn_status status = SB_CONN_ERROR;
	const char *error = NULL;
	struct sb_sv line;
	int ret = sb_conn_read_line(c, &line, &status, &error);

	if (ret != 1)
		test_fail(__FILE__, __LINE__, "read_line: %d %s", ret,
		          error != NULL ? error : "");
	TEST_EQ_INT(status, SB_CONN_OK);
	TEST_EQ_MEM(line.p, line.len, want, strlen(want));
}

static void
expect_status(struct sb_conn *c, int want_ret, enum sb_conn_status want)
{
	enum sb_conn_status status = SB_CONN_OK;
	const char *error = NULL;
	struct sb_sv line;

	TEST_EQ_INT(sb_conn_read_line(c, &line, &status, &error), want_ret);
	TEST_EQ_INT(status, want);
	TEST_ASSERT(error != NULL);
}

static void
test_net_listener(void)
{
	struct sb_listener *l = listen_any(), *l2 = NULL;
	const char *error = NULL;
	char want[64];
	int fd = -1;

	TEST_ASSERT(sb_listener_port(l) != 0);
	snprintf(want, sizeof(want), "127.0.0.1:%u", sb_listener_port(l));
	TEST_EQ_STR(sb_listener_name(l), want);
	/* Nobody calls: the accept times out. */
	TEST_EQ_INT(sb_listener_accept(l, 20, &fd, &error), 0);
	/* The port is taken. */
	TEST_EQ_INT(
	        sb_listener_new("127.0.0.1", sb_listener_port(l), &l2, &error),
	        -1);
	snprintf(want, sizeof(want),
	         "cannot listen on 127.0.0.1:%u: Address already in use",
	         sb_listener_port(l));
	TEST_EQ_STR(error, want);
	TEST_EQ_INT(sb_listener_new("localhost", 0, &l2, &error), -1);
	TEST_ASSERT(strstr(error, "localhost") != NULL);
	TEST_EQ_INT(sb_listener_new(NULL, 70000, &l2, &error), -1);
	sb_listener_free(&l);
	TEST_ASSERT(l == NULL);
}

static void
test_net_listener_ipv6(void)
{
	struct sb_listener *l = NULL;
	struct sb_conn *c;
	const char *error = NULL;
	char want[64];
	int sfd = -1, cfd = -1;

	if (sb_listener_new("::1", 0, &l, &error) != 0) {
		/* Some containers have no IPv6 loopback at all. */
		printf("     skipped: %s\n", error);
		return;
	}
	snprintf(want, sizeof(want), "[::1]:%u", sb_listener_port(l));
	TEST_EQ_STR(sb_listener_name(l), want);
	if (sb_net_connect("::1", sb_listener_port(l), TIMEOUT_MS, &cfd,
	                   &error) != 0)
		test_fail(__FILE__, __LINE__, "%s", error);
	TEST_EQ_INT(sb_listener_accept(l, TIMEOUT_MS, &sfd, &error), 1);
	c = sb_conn_new(sfd, 64, TIMEOUT_MS);
	TEST_EQ_INT(write(cfd, "hi6\r\n", 5), 5);
	expect_line(c, "hi6");
	close(cfd);
	sb_conn_free(&c);
	sb_listener_free(&l);
}

static void
test_net_connect_refused(void)
{
	struct sb_listener *l = listen_any();
	unsigned port = sb_listener_port(l);
	const char *error = NULL;
	int fd = -1;

	sb_listener_free(&l);
	TEST_EQ_INT(sb_net_connect("127.0.0.1", port, TIMEOUT_MS, &fd, &error),
	            -1);
	TEST_ASSERT(strstr(error, "Connection refused") != NULL);
}

static void
test_net_lines_and_raw(void)
{
	struct sb_conn *s, *c;
	enum sb_conn_status status;
	const char *error = NULL;
	char raw[16];
	size_t got = 0;

	conn_pair(64, TIMEOUT_MS, &s, &c);
	TEST_ASSERT(!sb_conn_is_tls(s));
	TEST_ASSERT(sb_conn_tls_version(s) == NULL);
	TEST_EQ_INT(sb_conn_printf(c, &error, "%s %d\r\n", "A1 NOOP", 7), 0);
	send_str(c, "bare\n\r\nA2 APPEND {5}\r\nhel");
	expect_line(s, "A1 NOOP 7");
	expect_line(s, "bare");
	expect_line(s, "");
	expect_line(s, "A2 APPEND {5}");
	/* The literal: three bytes buffered, then two from the socket. */
	TEST_EQ_INT(sb_conn_read(s, raw, 5, &got, &status, &error), 1);
	TEST_EQ_MEM(raw, got, "hel", 3);
	send_str(c, "lo)\r\nA3 LOGOUT\r\nunfinished");
	TEST_EQ_INT(sb_conn_read(s, raw, 2, &got, &status, &error), 1);
	TEST_EQ_MEM(raw, got, "lo", 2);
	expect_line(s, ")");
	expect_line(s, "A3 LOGOUT");
	sb_conn_free(&c);
	TEST_ASSERT(c == NULL);
	/* EOF; the unfinished line is still there to read. */
	expect_status(s, 0, SB_CONN_EOF);
	TEST_EQ_INT(sb_conn_read(s, raw, sizeof(raw), &got, &status, &error),
	            1);
	TEST_EQ_MEM(raw, got, "unfinished", 10);
	TEST_EQ_INT(sb_conn_read(s, raw, sizeof(raw), &got, &status, &error),
	            0);
	TEST_EQ_INT(status, SB_CONN_EOF);
	sb_conn_free(&s);
}

static void
test_net_line_too_long(void)
{
	struct sb_conn *s, *c;
	char big[10000];

	conn_pair(32, TIMEOUT_MS, &s, &c);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	send_str(c, "A1 short\r\n");
	send_str(c, "A2 ");
	/* Longer than the socket reads, so it is skipped over many. */
	send_str(c, big);
	send_str(c, "\r\nA3 NOOP\r\n");
	expect_line(s, "A1 short");
	expect_status(s, 0, SB_CONN_LINE_TOO_LONG);
	/* The server answers and goes on with the next command. */
	send_str(s, "* BAD line too long\r\n");
	expect_line(c, "* BAD line too long");
	expect_line(s, "A3 NOOP");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

static void
test_net_idle_timeout(void)
{
	struct sb_conn *s, *c;

	conn_pair(64, 100, &s, &c);
	expect_status(s, 0, SB_CONN_TIMEOUT);
	/* Still usable after the timeout. */
	send_str(s, "* BYE idle\r\n");
	expect_line(c, "* BYE idle");
	send_str(c, "late\r\n");
	expect_line(s, "late");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

static void
test_net_wait(void)
{
	struct sb_conn *s, *c;
	const char *error = NULL;
	int efd = -1;

	conn_pair(64, TIMEOUT_MS, &s, &c);
	TEST_EQ_INT(sb_event_new(&efd, &error), 0);
	/* Nothing yet. */
	TEST_EQ_INT(sb_conn_wait(s, efd, 20, &error), 0);
	TEST_EQ_INT(sb_conn_wait(s, -1, 0, &error), 0);
	/* The event fires, twice, and one drain clears it. */
	sb_event_signal(efd);
	sb_event_signal(efd);
	TEST_EQ_INT(sb_conn_wait(s, efd, TIMEOUT_MS, &error),
	            SB_CONN_WAIT_EVENT);
	sb_event_drain(efd);
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error), 0);
	/* Input on the socket. */
	send_str(c, "one\r\ntwo\r\n");
	TEST_EQ_INT(sb_conn_wait(s, efd, TIMEOUT_MS, &error),
	            SB_CONN_WAIT_INPUT);
	/* Both at once. */
	sb_event_signal(efd);
	TEST_EQ_INT(sb_conn_wait(s, efd, TIMEOUT_MS, &error),
	            SB_CONN_WAIT_INPUT | SB_CONN_WAIT_EVENT);
	sb_event_drain(efd);
	/* "two" sits in the line reader, the socket is empty: still input. */
	expect_line(s, "one");
	TEST_EQ_INT(sb_conn_wait(s, efd, TIMEOUT_MS, &error),
	            SB_CONN_WAIT_INPUT);
	expect_line(s, "two");
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error), 0);
	/* The peer leaving counts as input: the read tells EOF. */
	sb_conn_free(&c);
	TEST_EQ_INT(sb_conn_wait(s, efd, TIMEOUT_MS, &error),
	            SB_CONN_WAIT_INPUT);
	expect_status(s, 0, SB_CONN_EOF);
	sb_event_close(&efd);
	TEST_EQ_INT(efd, -1);
	sb_conn_free(&s);
}

/* Writing to a peer that is gone is an error, not a SIGPIPE. */
static void
test_net_no_sigpipe(void)
{
	struct sb_conn *s, *c;
	static char chunk[65536];
	const char *error = NULL;
	int i, ret = 0;

	conn_pair(64, TIMEOUT_MS, &s, &c);
	sb_conn_free(&c);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = sb_conn_write(s, chunk, sizeof(chunk), &error);
	TEST_EQ_INT(ret, -1);
	TEST_ASSERT(strstr(error, "write failed") != NULL);
	sb_conn_free(&s);
}

static void
test_net_printf_limit(void)
{
	struct sb_conn *s, *c;
	static char big[SB_CONN_PRINTF_MAX + 2];
	const char *error = NULL;

	conn_pair(64, 100, &s, &c);
	memset(big, 'y', sizeof(big) - 1);
	TEST_EQ_INT(sb_conn_printf(c, &error, "%s", big), -1);
	TEST_ASSERT(strstr(error, "longer") != NULL);
	/* Nothing was sent. */
	send_str(c, "next\r\n");
	expect_line(s, "next");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"listener", test_net_listener},
	        {"listener on ::1", test_net_listener_ipv6},
	        {"connect refused", test_net_connect_refused},
	        {"lines and raw bytes", test_net_lines_and_raw},
	        {"line too long", test_net_line_too_long},
	        {"idle timeout", test_net_idle_timeout},
	        {"wait on socket and eventfd", test_net_wait},
	        {"no SIGPIPE", test_net_no_sigpipe},
	        {"printf limit", test_net_printf_limit},
	        {NULL, NULL},
	};

	return test_run(cases);
}
