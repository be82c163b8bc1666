/* The header given to each copy of a message being sent (send-build.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/send.h"
#include "test.h"

struct copies {
	struct sb_buf out[2]; /* without Bcc, with Bcc */
	struct bridge_send_out outs[2];
	struct bridge_send_build *b;
	char message_id[256];
	const char *error;
	int ret;
};

static int
test_sink(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

/* Builds the two copies, writing the message in pieces of `step`. */
static void
test_build(struct copies *c, const char *msg, size_t step)
{
	size_t i, len = strlen(msg), n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < 2; i++) {
		sb_buf_init(&c->out[i], SIZE_MAX);
		c->outs[i].sink = test_sink;
		c->outs[i].ctx = &c->out[i];
		c->outs[i].keep_bcc = i == 1;
	}
	c->b = bridge_send_build_new(c->outs, 2, "alice@example.org");
	for (i = 0; i < len && c->ret == 0; i += n) {
		n = len - i < step ? len - i : step;
		c->ret = bridge_send_build_write(c->b, msg + i, n);
	}
	if (c->ret == 0)
		c->ret = bridge_send_build_finish(c->b, &c->error);
	else
		c->error = bridge_send_build_error(c->b);
	snprintf(c->message_id, sizeof(c->message_id), "%s",
	         bridge_send_build_message_id(c->b));
	bridge_send_build_free(&c->b);
}

static void
test_free(struct copies *c)
{
	sb_buf_free(&c->out[0]);
	sb_buf_free(&c->out[1]);
}

static const char with_bcc[] = "From: Alice <alice@example.org>\r\n"
                               "To: bob@example.org\r\n"
                               "Bcc: carol@example.org,\r\n"
                               "\tdave@example.org\r\n"
                               "Bcc-Note: stays\r\n"
                               "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
                               "Message-ID: <m1@example.org>\r\n"
                               "Subject: hi\r\n"
                               "\r\n"
                               "Bcc: not a field in the body\r\n";

static const char without_bcc[] = "From: Alice <alice@example.org>\r\n"
                                  "To: bob@example.org\r\n"
                                  "Bcc-Note: stays\r\n"
                                  "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
                                  "Message-ID: <m1@example.org>\r\n"
                                  "Subject: hi\r\n"
                                  "\r\n"
                                  "Bcc: not a field in the body\r\n";

static void
test_bcc(void)
{
	static const size_t steps[] = {1, 2, 3, 7, 64, 4096};
	struct copies c;
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(*steps); i++) {
		test_build(&c, with_bcc, steps[i]);
		TEST_EQ_INT(c.ret, 0);
		TEST_EQ_STR(sb_buf_str(&c.out[0]), without_bcc);
		TEST_EQ_STR(sb_buf_str(&c.out[1]), with_bcc);
		TEST_EQ_STR(c.message_id, "m1@example.org");
		test_free(&c);
	}
}

/* Date and Message-ID added on top of both copies, the same in each. */
static void
test_added(void)
{
	static const char msg[] = "From: alice@example.org\n"
	                          "Bcc: x@example.org\n"
	                          "\n"
	                          "text\n";
	struct copies c;
	const char *p;
	char want[512];
	size_t i;

	for (i = 1; i <= 5; i += 4) {
		test_build(&c, msg, i);
		TEST_EQ_INT(c.ret, 0);
		/* Not the client's: it is not said to be. */
		TEST_EQ_STR(c.message_id, "");
		p = strstr(sb_buf_str(&c.out[0]), "Message-ID: <");
		TEST_ASSERT(p != NULL);
		snprintf(c.message_id, sizeof(c.message_id), "%.*s",
		         (int)strcspn(p + 13, ">"), p + 13);
		TEST_ASSERT(strlen(c.message_id) > 20);
		TEST_ASSERT(strstr(c.message_id, "@example.org") != NULL);
		p = sb_buf_str(&c.out[0]);
		TEST_ASSERT(strncmp(p, "Date: ", 6) == 0);
		snprintf(want, sizeof(want),
		         "\r\nMessage-ID: <%s>\r\nFrom: alice@example.org\n"
		         "\ntext\n",
		         c.message_id);
		TEST_ASSERT(strstr(p, want) != NULL);
		/* The Sent copy: the same, with its Bcc. */
		snprintf(want, sizeof(want),
		         "\r\nMessage-ID: <%s>\r\nFrom: alice@example.org\n"
		         "Bcc: x@example.org\n\ntext\n",
		         c.message_id);
		TEST_ASSERT(strstr(sb_buf_str(&c.out[1]), want) != NULL);
		TEST_EQ_INT(strcspn(p, "\n"),
		            strcspn(sb_buf_str(&c.out[1]), "\n"));
		test_free(&c);
	}
}

/* A message of header only, and one of body only. */
static void
test_edges(void)
{
	struct copies c;

	test_build(&c,
	           "Date: x\r\nMessage-ID: <a@b>\r\nBcc: z@example.org\r\n"
	           "Subject: none",
	           1);
	TEST_EQ_INT(c.ret, 0);
	TEST_EQ_STR(sb_buf_str(&c.out[0]),
	            "Date: x\r\nMessage-ID: <a@b>\r\nSubject: none\r\n\r\n");
	TEST_EQ_STR(sb_buf_str(&c.out[1]),
	            "Date: x\r\nMessage-ID: <a@b>\r\nBcc: z@example.org\r\n"
	            "Subject: none\r\n\r\n");
	test_free(&c);

	test_build(&c, "\r\nonly a body\r\n", 1);
	TEST_EQ_INT(c.ret, 0);
	TEST_ASSERT(strstr(sb_buf_str(&c.out[0]), "\r\n\r\nonly a body\r\n") !=
	            NULL);
	test_free(&c);
}

static void
test_too_large(void)
{
	struct copies c;
	char *msg = malloc(BRIDGE_SEND_HEADER_MAX + 100);
	size_t i;

	TEST_ASSERT(msg != NULL);
	for (i = 0; i + 1 < BRIDGE_SEND_HEADER_MAX + 100; i++)
		msg[i] = i % 70 == 69 ? '\n' : 'x';
	msg[i] = '\0';
	test_build(&c, msg, 65536);
	TEST_EQ_INT(c.ret, -1);
	TEST_ASSERT(c.error != NULL && strstr(c.error, "too large") != NULL);
	TEST_EQ_UINT(c.out[0].len, 0);
	test_free(&c);
	free(msg);
}

/* A header near the maximum, then a body in large pieces: taken. */
static void
test_near_the_limit(void)
{
	size_t hlen = BRIDGE_SEND_HEADER_MAX - 10240, i;
	char *msg = malloc(hlen + 200000);
	struct copies c;
	static const char top[] = "Message-ID: <n@x>\r\nDate: d\r\nX-Long: ";

	TEST_ASSERT(msg != NULL);
	memcpy(msg, top, sizeof(top) - 1);
	/* One long field, folded now and then. */
	for (i = sizeof(top) - 1; i + 2 < hlen; i++)
		msg[i] = i % 70 == 0 ? '\n' : i % 70 == 1 ? ' ' : 'x';
	memcpy(msg + hlen - 2, "\r\n", 2);
	memcpy(msg + hlen, "\r\n", 2);
	for (i = hlen + 2; i + 1 < hlen + 200000; i++)
		msg[i] = i % 80 == 0 ? '\n' : 'b';
	msg[i] = '\0';
	test_build(&c, msg, 65536);
	TEST_EQ_INT(c.ret, 0);
	TEST_EQ_STR(c.message_id, "n@x");
	TEST_EQ_UINT(c.out[0].len, strlen(msg));
	test_free(&c);
	free(msg);
}

/* A Message-ID the client wrote but without brackets is not doubled. */
static void
test_unreadable_id(void)
{
	struct copies c;
	const char *p;

	test_build(&c, "Message-ID: no-brackets@x\r\nDate: d\r\n\r\nb\r\n", 3);
	TEST_EQ_INT(c.ret, 0);
	TEST_EQ_STR(c.message_id, "");
	p = sb_buf_str(&c.out[0]);
	TEST_EQ_STR(p, "Message-ID: no-brackets@x\r\nDate: d\r\n\r\nb\r\n");
	test_free(&c);
}

static const struct test_case cases[] = {
        {"Bcc only in the Sent copy, in any pieces", test_bcc},
        {"Date and Message-ID added", test_added},
        {"header only, body only", test_edges},
        {"a header section too large", test_too_large},
        {"a header near the limit and a large body", test_near_the_limit},
        {"a Message-ID without brackets", test_unreadable_id},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
