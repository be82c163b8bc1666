/*
 * The DATA reader: each message is fed whole, one byte at a time, in
 * pieces of 2, 3 and 7 bytes and in random pieces, into outputs of 2, 3,
 * 5 and plenty of bytes; every way must give the same message, stop at
 * the same byte after the final dot and say the same of long lines.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "smtp/data.h"
#include "test.h"

struct data_result {
	struct sb_buf out;
	size_t consumed;
	bool done;
	bool too_long;
};

/* Feeds in (pieces of `piece` bytes, 0: random) into outputs of out_size. */
static void
data_run(const char *in, size_t len, size_t line_max, size_t piece,
         size_t out_size, uint32_t seed, struct data_result *res)
{
	struct smtp_data_reader r;
	char out[4096];
	size_t pos = 0, end, consumed, produced, n;
	int ret = 0;

	smtp_data_init(&r, line_max);
	while (pos < len && ret == 0) {
		n = piece;
		if (n == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 11;
		}
		end = pos + n < len ? pos + n : len;
		while (pos < end && ret == 0) {
			ret = smtp_data_feed(&r, in + pos, end - pos, &consumed,
			                     out, out_size, &produced);
			TEST_ASSERT(produced <= out_size);
			TEST_ASSERT(consumed > 0 || ret == 1);
			pos += consumed;
			TEST_ASSERT(sb_buf_add(&res->out, out, produced) == 0);
		}
	}
	TEST_EQ_UINT(r.size, res->out.len);
	res->consumed = pos;
	res->done = ret == 1;
	res->too_long = r.line_too_long;
}

struct data_case {
	const char *in;
	size_t len;
	const char *out;
	size_t out_len;
	size_t rest; /* bytes after the final dot, not taken */
	bool done;
	bool too_long;
};

#define DC(in, out, rest, done)                                               \
	{                                                                     \
		(in), sizeof(in) - 1, (out), sizeof(out) - 1, (rest), (done), \
		        false                                                 \
	}

static const struct data_case data_cases[] = {
        DC("Hello\r\n.\r\n", "Hello\r\n", 0, true),
        DC(".\r\n", "", 0, true),
        DC("\r\n.\r\n", "\r\n", 0, true),
        DC("Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\r\n\r\nbody\r\n", 0,
           true),
        /* Dot-unstuffing */
        DC("a\r\n..b\r\n.\r\n", "a\r\n.b\r\n", 0, true),
        DC("..\r\n.\r\n", ".\r\n", 0, true),
        DC("...\r\n.\r\n", "..\r\n", 0, true),
        DC(".x\r\n.\r\n", "x\r\n", 0, true),
        DC("a.\r\n.b.\r\n.\r\n", "a.\r\nb.\r\n", 0, true),
        DC(". \r\n.\r\n", " \r\n", 0, true),
        /* Bare LF ends a line, and the message: LF.LF */
        DC("a\nb\n.\n", "a\r\nb\r\n", 0, true),
        DC("a\r\nb\n.\r\n", "a\r\nb\r\n", 0, true),
        DC("a\n.\r\n", "a\r\n", 0, true),
        DC("a\r\n.\n", "a\r\n", 0, true),
        DC("\n\n.\n", "\r\n\r\n", 0, true),
        DC("..\n.\n", ".\r\n", 0, true),
        /* A CR not followed by LF is text */
        DC("a\rb\r\n.\r\n", "a\rb\r\n", 0, true),
        DC("a\r\r\n.\r\n", "a\r\r\n", 0, true),
        DC("a\r\r\r\n.\r\n", "a\r\r\r\n", 0, true),
        DC(".\rx\r\n.\r\n", "\rx\r\n", 0, true),
        DC(".\r\r\n.\r\n", "\r\r\n", 0, true),
        DC(".\r.\r\n.\r\n", "\r.\r\n", 0, true),
        DC("\r.\r\n.\r\n", "\r.\r\n", 0, true),
        /* The bytes after the end are the next command's */
        DC("a\r\n.\r\nQUIT\r\n", "a\r\n", 6, true),
        DC("a\n.\nMAIL FROM:<x@y>\n", "a\r\n", 16, true),
        DC(".\r\n.\r\n", "", 3, true),
        /* Not ended yet */
        DC("a\r\n..", "a\r\n.", 0, false),
        DC("a\r\n.", "a\r\n", 0, false),
        DC("a\r\n.\r", "a\r\n", 0, false),
        DC("a\r", "a", 0, false),
        DC("a\r\n.x", "a\r\nx", 0, false),
        DC("", "", 0, false),
        /* NUL and 8-bit bytes pass */
        DC("\0\xff\xc3\xa9\r\n.\r\n", "\0\xff\xc3\xa9\r\n", 0, true),
};

static void
check_data_case(const struct data_case *c, size_t line_max)
{
	static const size_t pieces[] = {1000000, 1, 2, 3, 7, 0, 0};
	static const size_t outs[] = {4096, 2, 3, 5};
	struct data_result res;
	size_t i, j;

	for (i = 0; i < SB_N_ELEMENTS(pieces); i++) {
		for (j = 0; j < SB_N_ELEMENTS(outs); j++) {
			memset(&res, 0, sizeof(res));
			sb_buf_init(&res.out, 1u << 24);
			data_run(c->in, c->len, line_max, pieces[i], outs[j],
			         (uint32_t)(i * 31 + j), &res);
			if (!test_mem_eq(res.out.data != NULL ? res.out.data
			                                      : "",
			                 res.out.len, c->out, c->out_len) ||
			    res.consumed != c->len - c->rest ||
			    res.done != c->done ||
			    res.too_long != c->too_long) {
				test_dump("input", c->in, c->len);
				test_dump("output", sb_buf_str(&res.out),
				          res.out.len);
				test_fail(
				        __FILE__, __LINE__,
				        "pieces %zu, output %zu: consumed %zu "
				        "done %d long %d",
				        pieces[i], outs[j], res.consumed,
				        res.done, res.too_long);
			}
			sb_buf_free(&res.out);
		}
	}
}

static void
test_data_cases(void)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(data_cases); i++)
		check_data_case(&data_cases[i], 998);
}

/*
 * Lines of 998 bytes pass; 999 are too long (the stuffing dot counts:
 * the limit is on the line as sent), yet every byte still comes out and
 * the end is found.
 */
static void
test_data_long_lines(void)
{
	static char in[5000], out[5000];
	struct data_case c = {in, 0, out, 0, 0, true, false};
	size_t n;

	memset(in, 'x', 998);
	memcpy(in + 998, "\r\n.\r\n", 5);
	c.len = 1003;
	memcpy(out, in, 1000);
	c.out_len = 1000;
	check_data_case(&c, 998);

	memset(in, 'x', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	c.len = 1004;
	memcpy(out, in, 1001);
	c.out_len = 1001;
	c.too_long = true;
	check_data_case(&c, 998);

	in[0] = '.';
	memset(in + 1, 'x', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	memset(out, 'x', 998);
	memcpy(out + 998, "\r\n", 2);
	c.out_len = 1000;
	check_data_case(&c, 998);

	/* Bare CRs inside count; the CR of the line end does not. */
	memset(in, '\r', 998);
	memcpy(in + 998, "\r\n.\r\n", 5);
	c.len = 1003;
	memcpy(out, in, 1000);
	c.out_len = 1000;
	c.too_long = false;
	check_data_case(&c, 998);

	/* A long line, then short ones: the flag stays. */
	n = 0;
	memset(in, 'y', 3000);
	n = 3000;
	memcpy(in + n, "\r\nshort\r\n.\r\n", 12);
	c.len = n + 12;
	memcpy(out, in, n + 9);
	c.out_len = n + 9;
	c.too_long = true;
	check_data_case(&c, 998);
}

/* A reader that ended stays there: more input is not its. */
static void
test_data_end(void)
{
	struct smtp_data_reader r;
	size_t consumed, produced;
	char out[16];

	smtp_data_init(&r, 998);
	TEST_EQ_INT(smtp_data_feed(&r, ".\r\nNOOP\r\n", 9, &consumed, out,
	                           sizeof(out), &produced),
	            1);
	TEST_EQ_UINT(consumed, 3);
	TEST_EQ_UINT(produced, 0);
	TEST_EQ_INT(smtp_data_feed(&r, "NOOP\r\n", 6, &consumed, out,
	                           sizeof(out), &produced),
	            1);
	TEST_EQ_UINT(consumed, 0);
	TEST_EQ_UINT(produced, 0);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"data_cases", test_data_cases},
	        {"data_long_lines", test_data_long_lines},
	        {"data_end", test_data_end},
	        {NULL, NULL},
	};

	return test_run(cases);
}
