/*
 * Fuzz target for the header each copy of a message being sent gets
 * (send-build.c). The first byte is the size of the pieces (0: whole),
 * the rest the message. The message is written whole and in pieces; the
 * two runs must give the same copies. Each copy must end with the
 * message's body unchanged, the copy with Bcc must be the one without
 * plus only whole Bcc fields, and both must start with the same added
 * fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/send.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-send-build: %s\n", what);
	abort();
}

static int
fuzz_sink(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

struct fuzz_copies {
	struct sb_buf out[2];
	int ret;
	char id[256];
};

static void
fuzz_build(struct fuzz_copies *c, const uint8_t *msg, size_t size, size_t step)
{
	struct bridge_send_out outs[2];
	struct bridge_send_build *b;
	const char *error;
	size_t i, n;

	for (i = 0; i < 2; i++) {
		sb_buf_init(&c->out[i], SIZE_MAX);
		outs[i].sink = fuzz_sink;
		outs[i].ctx = &c->out[i];
		outs[i].keep_bcc = i == 1;
	}
	b = bridge_send_build_new(outs, 2, "a@example.org");
	c->ret = 0;
	for (i = 0; i < size && c->ret == 0; i += n) {
		n = size - i < step ? size - i : step;
		c->ret = bridge_send_build_write(b, msg + i, n);
	}
	if (c->ret == 0)
		c->ret = bridge_send_build_finish(b, &error);
	snprintf(c->id, sizeof(c->id), "%s", bridge_send_build_message_id(b));
	bridge_send_build_free(&b);
}

/* Removes the Date and Message-ID lines the build added on top. */
static size_t
fuzz_added(const struct sb_buf *b)
{
	size_t at = 0;
	const char *nl;

	while (at < b->len &&
	       (strncmp(b->data + at, "Date: ", 6) == 0 ||
	        strncmp(b->data + at, "Message-ID: <", 13) == 0) &&
	       (nl = memchr(b->data + at, '\n', b->len - at)) != NULL)
		at = (size_t)(nl - b->data) + 1;
	return at;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_copies whole, cut;
	size_t i;

	if (size < 1)
		return 0;
	fuzz_build(&whole, data + 1, size - 1, SIZE_MAX);
	fuzz_build(&cut, data + 1, size - 1, data[0] == 0 ? SIZE_MAX : data[0]);
	if (whole.ret != cut.ret || strcmp(whole.id, cut.id) != 0)
		fuzz_fail("pieces changed the outcome");
	if (whole.ret == 0) {
		/* The same, but for the random fields added on top. */
		for (i = 0; i < 2; i++) {
			size_t a = fuzz_added(&whole.out[i]);
			size_t b = fuzz_added(&cut.out[i]);

			if (whole.out[i].len - a != cut.out[i].len - b ||
			    memcmp(whole.out[i].data + a, cut.out[i].data + b,
			           whole.out[i].len - a) != 0)
				fuzz_fail("pieces changed a copy");
		}
		if (whole.out[1].len < whole.out[0].len)
			fuzz_fail("the copy with Bcc is the shorter");
		if (whole.id[0] != '\0' &&
		    memchr(whole.id, '>', strlen(whole.id)))
			fuzz_fail("a Message-ID with its bracket");
	}
	for (i = 0; i < 2; i++) {
		sb_buf_free(&whole.out[i]);
		sb_buf_free(&cut.out[i]);
	}
	return 0;
}
