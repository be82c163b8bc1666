/*
 * The session's output (session.c): replies gathered in a secret buffer
 * and written out, which goes back to a small size after a large
 * response, so that an idle session does not hold its peak.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/test-secret.h"
#include "imap-private.h"
#include "test.h"

/* Output kept between writes: see session.c. */
#define KEEP (128 * 1024)

struct reader {
	pthread_t thread;
	int fd;
	size_t got;
};

/* Reads the client's end until the session closes it. */
static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		r->got += (size_t)n;
	return NULL;
}

static void
test_output_shrinks(void)
{
	static char big[4 * 1024 * 1024];
	struct imap_session s;
	struct reader r;
	int fds[2];

	TEST_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	memset(&s, 0, sizeof(s));
	s.conn = sb_conn_new(fds[0], 1024, 5000);
	sb_buf_init_secret(&s.out, SIZE_MAX);
	memset(&r, 0, sizeof(r));
	r.fd = fds[1];
	TEST_EQ_INT(pthread_create(&r.thread, NULL, reader_main, &r), 0);

	/* Small replies keep their block from one write to the next. */
	imap_reply(&s, "* OK %s", "small");
	TEST_ASSERT(imap_flush(&s));
	TEST_ASSERT(s.out.data != NULL && s.out.alloc <= KEEP);

	/*
	 * A literal of 4 MiB goes out in one piece, written as soon as it
	 * is there; its block goes, wiped.
	 */
	memset(big, 'x', sizeof(big));
	imap_reply(&s, "* 1 FETCH (BODY[] {%zu}", sizeof(big));
	test_secret_watch();
	imap_reply_raw(&s, big, sizeof(big));
	TEST_EQ_UINT(s.out.len, 0);
	TEST_ASSERT(s.out.alloc <= KEEP);
	TEST_ASSERT(test_secret_count >= 1);
	test_secret_unwatch();
	imap_reply(&s, ")");
	TEST_ASSERT(imap_flush(&s));
	TEST_ASSERT(s.out.alloc <= KEEP);

	imap_reply(&s, "a OK done");
	TEST_ASSERT(imap_flush(&s));
	TEST_ASSERT(s.out.alloc <= KEEP);
	sb_conn_free(&s.conn);
	TEST_EQ_INT(pthread_join(r.thread, NULL), 0);
	close(fds[1]);
	TEST_ASSERT(r.got > sizeof(big));
	sb_buf_free(&s.out);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"output buffer shrinks after a large response",
	         test_output_shrinks},
	        {NULL, NULL},
	};

	return test_run(cases);
}
