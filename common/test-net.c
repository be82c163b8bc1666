/*
 * Plain-text connections over loopback: listeners, lines, limits,
 * timeouts, deadlines, waiting on a socket and an eventfd, and SIGPIPE.
 * Both ends live in this one thread, the kernel's socket buffers being
 * enough, except for a peer that trickles bytes: it runs in a thread of
 * its own, which never calls the TEST_ macros.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
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

	/* A SIGPIPE would end the test, as it would the daemon. */
	TEST_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	conn_pair(64, TIMEOUT_MS, &s, &c);
	sb_conn_free(&c);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = sb_conn_write(s, chunk, sizeof(chunk), &error);
	TEST_EQ_INT(ret, -1);
	TEST_ASSERT(strstr(error, "write failed") != NULL);
	sb_conn_free(&s);
}

/*
 * A peer in a thread that, every interval_ms, sends one byte of `byte`
 * (after `prefix`, sent at once) or reads up to read_size bytes, `count`
 * times. `finished` is set when it did all of that; `stop` ends it early.
 */
struct trickle {
	pthread_t thread;
	int fd;
	const char *prefix;
	char byte;
	size_t read_size; /* 0: send */
	int count, interval_ms;
	atomic_bool stop, finished;
	char error[128];
};

static void
trickle_sleep(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
	                      .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
trickle_main(void *arg)
{
	struct trickle *t = arg;
	static char buf[65536];
	size_t len = t->prefix != NULL ? strlen(t->prefix) : 0;

	if (len > 0 &&
	    send(t->fd, t->prefix, len, MSG_NOSIGNAL) != (ssize_t)len) {
		snprintf(t->error, sizeof(t->error), "prefix: %s",
		         strerror(errno));
		return NULL;
	}
	for (int i = 0; i < t->count; i++) {
		if (atomic_load(&t->stop))
			return NULL;
		trickle_sleep(t->interval_ms);
		if (t->read_size == 0 &&
		    send(t->fd, &t->byte, 1, MSG_NOSIGNAL) != 1) {
			snprintf(t->error, sizeof(t->error), "send: %s",
			         strerror(errno));
			return NULL;
		}
		if (t->read_size > 0 && recv(t->fd, buf, t->read_size, 0) < 0 &&
		    errno != EAGAIN) {
			snprintf(t->error, sizeof(t->error), "recv: %s",
			         strerror(errno));
			return NULL;
		}
	}
	atomic_store(&t->finished, true);
	return NULL;
}

/* Starts a peer that sends prefix, then byte every 100 ms for 4 s. */
static void
trickle_start_send(struct trickle *t, int fd, const char *prefix, char byte)
{
	memset(t, 0, sizeof(*t));
	t->fd = fd;
	t->prefix = prefix;
	t->byte = byte;
	t->count = 40;
	t->interval_ms = 100;
	atomic_init(&t->stop, false);
	atomic_init(&t->finished, false);
	TEST_EQ_INT(pthread_create(&t->thread, NULL, trickle_main, t), 0);
}

static void
trickle_join(struct trickle *t)
{
	atomic_store(&t->stop, true);
	TEST_EQ_INT(pthread_join(t->thread, NULL), 0);
	TEST_EQ_STR(t->error, "");
}

/* A line that never ends, one byte per 100 ms: the deadline ends it. */
static void
test_net_trickled_line(void)
{
	struct sb_conn *s, *c;
	enum sb_conn_status status = SB_CONN_OK;
	const char *error = NULL;
	struct trickle t;
	struct sb_sv line;
	int ret;

	conn_pair(64, 200, &s, &c);
	sb_conn_set_deadline(s, 600);
	trickle_start_send(&t, sb_conn_fd(c), "A1 LOGIN ", 'x');
	ret = sb_conn_read_line(s, &line, &status, &error);
	/* Returned while the peer was still sending. */
	TEST_ASSERT(!atomic_load(&t.finished));
	trickle_join(&t);
	TEST_EQ_INT(ret, 0);
	TEST_EQ_INT(status, SB_CONN_TIMEOUT);
	TEST_EQ_STR(error, "deadline passed");
	/* The connection is still usable, and nothing was lost. */
	send_str(c, "\r\n");
	sb_conn_set_deadline(s, SB_CONN_DEADLINE_DEFAULT);
	ret = sb_conn_read_line(s, &line, &status, &error);
	TEST_EQ_INT(ret, 1);
	TEST_ASSERT(line.len > 9 && memcmp(line.p, "A1 LOGIN x", 10) == 0);
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/*
 * The rest of a too long line, trickled: skipping it has the same
 * deadline, here the default one (SB_CONN_DEADLINE_FACTOR times idle).
 */
static void
test_net_trickled_long_line(void)
{
	struct sb_conn *s, *c;
	struct trickle t;

	conn_pair(8, 200, &s, &c);
	trickle_start_send(&t, sb_conn_fd(c), "A1 far too long ", 'x');
	expect_status(s, 0, SB_CONN_LINE_TOO_LONG);
	expect_status(s, 0, SB_CONN_TIMEOUT);
	TEST_ASSERT(!atomic_load(&t.finished));
	trickle_join(&t);
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/* Makes the socket buffers of a pair small, so that a writer waits. */
static void
small_buffers(struct sb_conn *writer, struct sb_conn *reader)
{
	int size = 32768;

	TEST_EQ_INT(setsockopt(sb_conn_fd(writer), SOL_SOCKET, SO_SNDBUF, &size,
	                       sizeof(size)),
	            0);
	TEST_EQ_INT(setsockopt(sb_conn_fd(reader), SOL_SOCKET, SO_RCVBUF, &size,
	                       sizeof(size)),
	            0);
}

/*
 * A peer that reads a little now and then, each time before the idle
 * timeout, cannot hold a write forever.
 */
static void
test_net_slow_reader(void)
{
	/* More than the peer takes in the 4 s it reads. */
	static char big[16 * 1024 * 1024];
	struct sb_conn *s, *c;
	const char *error = NULL;
	struct trickle t;
	int ret;

	conn_pair(64, 200, &s, &c);
	sb_conn_set_deadline(s, 600);
	small_buffers(s, c);
	memset(&t, 0, sizeof(t));
	t.fd = sb_conn_fd(c);
	t.read_size = 65536;
	t.count = 40;
	t.interval_ms = 100;
	atomic_init(&t.stop, false);
	atomic_init(&t.finished, false);
	TEST_EQ_INT(pthread_create(&t.thread, NULL, trickle_main, &t), 0);
	ret = sb_conn_write(s, big, sizeof(big), &error);
	TEST_ASSERT(!atomic_load(&t.finished));
	trickle_join(&t);
	TEST_EQ_INT(ret, -1);
	TEST_ASSERT(strstr(error, "write failed") != NULL);
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/*
 * Reads whatever the socket holds, until it stays empty for 100 ms.
 * Returns true when a '*' was among the bytes.
 */
static bool
drain(int fd)
{
	static char buf[65536];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	bool star = false;
	ssize_t n;

	while (poll(&pfd, 1, 100) > 0 &&
	       (n = recv(fd, buf, sizeof(buf), 0)) > 0)
		star = star || memchr(buf, '*', (size_t)n) != NULL;
	return star;
}

/*
 * After a write that timed out, part of its bytes may be on the wire:
 * later writes are refused at once, even when the peer reads again.
 */
static void
test_net_write_broken(void)
{
	static char big[4 * 1024 * 1024];
	struct sb_conn *s, *c;
	const char *error = NULL;

	/* Without a reader, the write stalls: the idle timeout ends it. */
	conn_pair(64, 100, &s, &c);
	small_buffers(s, c);
	TEST_EQ_INT(sb_conn_write(s, big, sizeof(big), &error), -1);
	TEST_EQ_STR(error, "write failed: idle timeout");
	/* The peer takes everything: there would be room now. */
	TEST_ASSERT(!drain(sb_conn_fd(c)));
	TEST_EQ_INT(sb_conn_write(s, "* BYE\r\n", 7, &error), -1);
	TEST_EQ_STR(error, "write refused: an earlier write failed");
	TEST_EQ_INT(sb_conn_printf(s, &error, "* BYE %s\r\n", "now"), -1);
	TEST_EQ_STR(error, "write refused: an earlier write failed");
	/* Nothing of them arrived, only the rest of the big write. */
	TEST_ASSERT(!drain(sb_conn_fd(c)));
	/* Reading still works. */
	send_str(c, "A1 LOGOUT\r\n");
	expect_line(s, "A1 LOGOUT");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/* Signals an event from a thread, once the peer has bytes to read. */
struct canceller {
	pthread_t thread;
	int peer_fd, event_fd;
};

static void *
canceller_main(void *arg)
{
	struct canceller *k = arg;
	struct pollfd pfd = {.fd = k->peer_fd, .events = POLLIN};

	/* The write has started; it soon waits on the full socket. */
	(void)poll(&pfd, 1, -1);
	sb_event_signal(k->event_fd);
	return NULL;
}

/*
 * A server that stops does not wait for a peer that takes nothing: once
 * the cancel event fires, waits end at once, whatever the time limits
 * (here none at all).
 */
static void
test_net_cancel(void)
{
	static char big[16 * 1024 * 1024];
	struct sb_conn *s, *c;
	struct canceller k;
	const char *error = NULL;
	int efd = -1;

	TEST_EQ_INT(sb_event_new(&efd, &error), 0);
	/* The event fires while a write waits for the peer. */
	conn_pair(64, -1, &s, &c);
	sb_conn_set_cancel(s, efd);
	small_buffers(s, c);
	k.peer_fd = sb_conn_fd(c);
	k.event_fd = efd;
	TEST_EQ_INT(pthread_create(&k.thread, NULL, canceller_main, &k), 0);
	TEST_EQ_INT(sb_conn_write(s, big, sizeof(big), &error), -1);
	TEST_EQ_INT(pthread_join(k.thread, NULL), 0);
	TEST_EQ_STR(error, "write failed: cancelled");
	TEST_EQ_INT(sb_conn_write(s, "x", 1, &error), -1);
	TEST_EQ_STR(error, "write refused: an earlier write failed");
	sb_conn_free(&c);
	sb_conn_free(&s);

	/* Fired already: what needs no wait is still done. */
	conn_pair(64, -1, &s, &c);
	sb_conn_set_cancel(s, efd);
	small_buffers(s, c);
	send_str(s, "* BYE stopping\r\n");
	expect_line(c, "* BYE stopping");
	send_str(c, "line\r\n");
	expect_line(s, "line");
	/* A read that must wait gives up, and the connection stays usable. */
	expect_status(s, 0, SB_CONN_TIMEOUT);
	send_str(s, "* still there\r\n");
	expect_line(c, "* still there");
	TEST_EQ_INT(sb_conn_write(s, big, sizeof(big), &error), -1);
	TEST_EQ_STR(error, "write failed: cancelled");
	sb_conn_free(&c);
	sb_conn_free(&s);
	sb_event_close(&efd);
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
	        {"trickled line", test_net_trickled_line},
	        {"trickled too long line", test_net_trickled_long_line},
	        {"slow reader", test_net_slow_reader},
	        {"broken for writing after a failed write",
	         test_net_write_broken},
	        {"cancelled waits", test_net_cancel},
	        {NULL, NULL},
	};

	return test_run(cases);
}
