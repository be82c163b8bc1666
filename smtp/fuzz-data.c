/*
 * Fuzz target for the DATA reader. The first byte picks the line limit
 * and the output size, the second seeds the sizes of the pieces fed; the
 * rest is what a client sends after "354". It is read whole, one byte at
 * a time and in pseudo-random pieces: the message, where it stopped and
 * what it said of long lines must agree. The message must have only
 * CRLF line ends, and once the end was read, the message dot-stuffed
 * again with ".\r\n" after it must read back as itself. Any difference
 * aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "smtp/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_result {
	struct sb_buf msg;
	size_t consumed;
	bool done, too_long;
};

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-data: %s\n", what);
	abort();
}

/* Feeds in (piece 0: random sizes from seed) into outputs of out_size. */
static void
fuzz_run(const char *in, size_t len, size_t line_max, size_t piece,
         size_t out_size, uint32_t seed, struct fuzz_result *res)
{
	struct smtp_data_reader r;
	char out[256];
	size_t pos = 0, end, consumed, produced, n;
	int ret = 0;

	sb_buf_init(&res->msg, SIZE_MAX / 2);
	smtp_data_init(&r, line_max);
	while (pos < len && ret == 0) {
		n = piece;
		if (n == 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = 1 + seed % 64;
		}
		end = pos + n < len ? pos + n : len;
		while (pos < end && ret == 0) {
			ret = smtp_data_feed(&r, in + pos, end - pos, &consumed,
			                     out, out_size, &produced);
			if (produced > out_size || consumed > end - pos ||
			    (consumed == 0 && ret == 0))
				fuzz_fail("no progress, or past the buffers");
			pos += consumed;
			if (sb_buf_add(&res->msg, out, produced) < 0)
				abort();
		}
	}
	if (r.size != res->msg.len)
		fuzz_fail("the size is not what came out");
	res->consumed = pos;
	res->done = ret == 1;
	res->too_long = r.line_too_long;
}

static void
fuzz_compare(const struct fuzz_result *a, const struct fuzz_result *b,
             const char *how)
{
	if (a->msg.len != b->msg.len ||
	    (a->msg.len > 0 && memcmp(a->msg.data, b->msg.data, a->msg.len)) ||
	    a->consumed != b->consumed || a->done != b->done ||
	    a->too_long != b->too_long) {
		fprintf(stderr, "fuzz-data: fed %s, the result differs\n", how);
		abort();
	}
}

/* CRLF only; an ended message ends in CRLF (or is empty). */
static void
fuzz_check_lines(const struct fuzz_result *res)
{
	const char *p = res->msg.data;
	size_t i, n = res->msg.len;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			fuzz_fail("a bare LF came out");
	}
	if (res->done && n > 0 &&
	    (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n'))
		fuzz_fail("an ended message does not end in CRLF");
}

/* The message stuffed again, then read: itself. */
static void
fuzz_round_trip(const struct fuzz_result *res, size_t line_max)
{
	struct fuzz_result again;
	struct sb_buf stuffed;
	const char *p = res->msg.data;
	size_t i, n = res->msg.len;

	sb_buf_init(&stuffed, SIZE_MAX / 2);
	for (i = 0; i < n; i++) {
		if (p[i] == '.' && (i == 0 || p[i - 1] == '\n') &&
		    sb_buf_add_char(&stuffed, '.') < 0)
			abort();
		if (sb_buf_add_char(&stuffed, p[i]) < 0)
			abort();
	}
	if (sb_buf_add_str(&stuffed, ".\r\n") < 0)
		abort();
	fuzz_run(stuffed.data, stuffed.len, line_max, stuffed.len, 256, 0,
	         &again);
	if (!again.done || again.consumed != stuffed.len ||
	    again.msg.len != n ||
	    (n > 0 && memcmp(again.msg.data, res->msg.data, n) != 0))
		fuzz_fail("the message does not read back");
	sb_buf_free(&again.msg);
	sb_buf_free(&stuffed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_result want, got;
	const char *in = (const char *)data + 2;
	size_t len, line_max, out_size;

	if (size < 2)
		return 0;
	len = size - 2;
	line_max = (data[0] & 1) ? 998 : 1 + (data[0] >> 1) % 16;
	out_size = 2 + (data[0] >> 4) * 16;
	fuzz_run(in, len, line_max, len > 0 ? len : 1, 256, 0, &want);
	fuzz_check_lines(&want);
	fuzz_run(in, len, line_max, 1, out_size, 0, &got);
	fuzz_compare(&want, &got, "one byte at a time");
	sb_buf_free(&got.msg);
	fuzz_run(in, len, line_max, 0, out_size, 2463534242u ^ data[1], &got);
	fuzz_compare(&want, &got, "in random pieces");
	sb_buf_free(&got.msg);
	if (want.done)
		fuzz_round_trip(&want, line_max);
	sb_buf_free(&want.msg);
	return 0;
}
