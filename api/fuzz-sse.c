/*
 * Fuzzes the server-sent events parser: the input is fed whole, then
 * split at points the input itself chooses, then one byte at a time; the
 * three must give the same events (type and data) and the same outcome.
 * A small limit makes the overlong-line and large-event paths reachable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/events.h"
#include "common/buf.h"

#define FUZZ_SSE_LINE  64
#define FUZZ_SSE_EVENT 256

static int
fuzz_sse_collect(void *ctx, const char *name, const char *data, size_t len)
{
	struct sb_buf *out = ctx;

	/* A record: type, NUL, length, data. Grows past no sane bound. */
	if (strlen(data) > len || sb_buf_add_str(out, name) != 0 ||
	    sb_buf_add_char(out, '\0') != 0 ||
	    sb_buf_add(out, &len, sizeof(len)) != 0 ||
	    sb_buf_add(out, data, len) != 0)
		abort();
	return 0;
}

/* Feeds data in pieces of the sizes given by step (0: whole). */
static int
fuzz_sse_run(const uint8_t *data, size_t size, size_t step, struct sb_buf *out)
{
	struct api_sse_parser p;
	const char *error;
	size_t off = 0, n;
	int rc = 0;

	api_sse_parser_init(&p, FUZZ_SSE_LINE, FUZZ_SSE_EVENT, fuzz_sse_collect,
	                    out);
	while (off < size && rc == 0) {
		n = step == 0 || step > size - off ? size - off : step;
		rc = api_sse_feed(&p, data + off, n, &error);
		off += n;
		/* Vary the piece size with the data. */
		if (step > 1)
			step = 1 + data[off - 1] % 7;
	}
	api_sse_parser_free(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_buf whole, split, bytes;
	int a, b, c;

	sb_buf_init(&whole, 1 << 24);
	sb_buf_init(&split, 1 << 24);
	sb_buf_init(&bytes, 1 << 24);
	a = fuzz_sse_run(data, size, 0, &whole);
	b = fuzz_sse_run(data, size, 3, &split);
	c = fuzz_sse_run(data, size, 1, &bytes);
	if (a != b || a != c || whole.len != split.len ||
	    whole.len != bytes.len ||
	    (whole.len > 0 && (memcmp(whole.data, split.data, whole.len) != 0 ||
	                       memcmp(whole.data, bytes.data, whole.len) != 0)))
		abort();
	sb_buf_free(&whole);
	sb_buf_free(&split);
	sb_buf_free(&bytes);
	return 0;
}
