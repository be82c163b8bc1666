/*
 * Fuzzes the line reader: the first byte picks the maximum line length,
 * the second the sizes of the pieces fed, the rest is the input. The
 * input is fed whole, one byte at a time and in pseudo-random pieces, and
 * every transcript must equal the one worked out by the simple model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "test-linereader-model.h"

struct fuzz_chunks {
	uint32_t state;
	size_t max;
};

static size_t
fuzz_chunk_random(size_t i, void *ctx)
{
	struct fuzz_chunks *c = ctx;

	(void)i;
	c->state = c->state * 1103515245u + 12345u;
	return 1 + (c->state >> 16) % c->max;
}

static size_t
fuzz_chunk_fixed(size_t i, void *ctx)
{
	(void)i;
	return *(size_t *)ctx;
}

static void
fuzz_check(const char *what, const struct sb_buf *got,
           const struct sb_buf *want, int ret)
{
	if (ret != 0 || got->len != want->len ||
	    (got->len > 0 && memcmp(got->data, want->data, got->len) != 0)) {
		fprintf(stderr, "line reader fed %s differs from the model\n",
		        what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks chunks;
	struct sb_buf want, got;
	const char *in = (const char *)data + 2;
	size_t len, max_line, one = 1, all;
	int ret;

	if (size < 2)
		return 0;
	len = size - 2;
	max_line = 1 + data[0] % 64;
	chunks.state = data[1];
	chunks.max = 1 + data[1] % 32;
	all = len > 0 ? len : 1;

	sb_buf_init(&want, 64 + 16 * len);
	sb_buf_init(&got, 64 + 16 * len);
	model_transcript(in, len, max_line, &want);

	ret = model_run(in, len, max_line, fuzz_chunk_fixed, &all, &got);
	fuzz_check("whole", &got, &want, ret);
	sb_buf_reset(&got);
	ret = model_run(in, len, max_line, fuzz_chunk_fixed, &one, &got);
	fuzz_check("byte by byte", &got, &want, ret);
	sb_buf_reset(&got);
	ret = model_run(in, len, max_line, fuzz_chunk_random, &chunks, &got);
	fuzz_check("in pieces", &got, &want, ret);

	sb_buf_free(&want);
	sb_buf_free(&got);
	return 0;
}
