#include <stdint.h>
#include <string.h>

#include "common/buf.h"
#include "common/linereader.h"
#include "test-linereader-model.h"
#include "test.h"

#define TRANSCRIPT_MAX (1u << 20)

static size_t
chunk_fixed(size_t i, void *ctx)
{
	(void)i;
	return *(size_t *)ctx;
}

/* Sizes 1, 2, 3, 5, 8, ... cycling, so splits fall everywhere. */
static size_t
chunk_varied(size_t i, void *ctx)
{
	static const size_t sizes[] = {1, 2, 3, 5, 8, 13, 1, 1, 21};

	(void)ctx;
	return sizes[i % SB_N_ELEMENTS(sizes)];
}

/*
 * Feeds `in` whole, one byte at a time and in varied pieces, and checks
 * each transcript against the expected one and against the model.
 */
static void
check_input(const char *in, size_t len, size_t max_line, const char *expect,
            size_t expect_len)
{
	struct sb_buf model, got;
	size_t sizes[] = {1, 2, 3, 7, len > 0 ? len : 1};
	size_t i;

	sb_buf_init(&model, TRANSCRIPT_MAX);
	sb_buf_init(&got, TRANSCRIPT_MAX);
	model_transcript(in, len, max_line, &model);
	if (expect != NULL)
		TEST_EQ_MEM(model.data, model.len, expect, expect_len);
	for (i = 0; i < SB_N_ELEMENTS(sizes); i++) {
		sb_buf_reset(&got);
		TEST_EQ_INT(model_run(in, len, max_line, chunk_fixed, &sizes[i],
		                      &got),
		            0);
		TEST_EQ_MEM(got.data, got.len, model.data, model.len);
	}
	sb_buf_reset(&got);
	TEST_EQ_INT(model_run(in, len, max_line, chunk_varied, NULL, &got), 0);
	TEST_EQ_MEM(got.data, got.len, model.data, model.len);
	sb_buf_free(&model);
	sb_buf_free(&got);
}

#define CHECK(in, max, expect) \
	check_input((in), sizeof(in) - 1, (max), (expect), sizeof(expect) - 1)

static void
test_lr_endings(void)
{
	/* CRLF, bare LF, empty lines, and an unfinished last line. */
	CHECK("a\r\nbb\ncc\r\n\r\n\nlast", 16,
	      "L1:a\nL2:bb\nL2:cc\nL0:\nL0:\nR4:last\n");
	/* Only the CR right before LF belongs to the ending. */
	CHECK("a\rb\r\nx\r\r\n\r", 16, "L3:a\rb\nL2:x\r\nR1:\r\n");
	CHECK("", 16, "R0:\n");
	CHECK("\n", 1, "L0:\nR0:\n");
}

static void
test_lr_nul_bytes(void)
{
	CHECK("a\0b\r\n\0\n", 16, "L3:a\0b\nL1:\0\nR0:\n");
}

static void
test_lr_too_long(void)
{
	/* Exactly the maximum fits, with either ending. */
	CHECK("1234\r\n1234\nok\n", 4, "L4:1234\nL4:1234\nL2:ok\nR0:\n");
	/* One byte more is reported once, and the next line is read. */
	CHECK("12345\r\nok\r\n", 4, "T\nL2:ok\nR0:\n");
	CHECK("12345\nok\n", 4, "T\nL2:ok\nR0:\n");
	CHECK("123456789012345678901234567890\r\nok\r\n", 4, "T\nL2:ok\nR0:\n");
	/* A CR in the middle of a long line changes nothing. */
	CHECK("1234\r5\r\nok\n", 4, "T\nL2:ok\nR0:\n");
	/* Unfinished and already too long: skipping until its LF. */
	CHECK("ok\n123456789", 4, "L2:ok\nT\nR0:\nS\n");
	/* Unfinished but still possibly fine. */
	CHECK("ok\n1234\r", 4, "L2:ok\nR5:1234\r\n");
}

static void
test_lr_view_and_raw(void)
{
	static const char in[] = "A APPEND {5}\r\nhel";
	struct sb_linereader lr;
	struct sb_sv line, raw;

	sb_linereader_init(&lr, 64);
	TEST_EQ_UINT(sb_linereader_feed(&lr, in, sizeof(in) - 1),
	             sizeof(in) - 1);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 1);
	TEST_EQ_MEM(line.p, line.len, "A APPEND {5}", 12);
	TEST_EQ_INT(line.p[line.len], '\0');
	TEST_EQ_UINT(sb_linereader_buffered_len(&lr), 3);
	/* The literal: three bytes buffered, two more fed later. */
	raw = sb_linereader_buffered(&lr);
	TEST_EQ_MEM(raw.p, raw.len, "hel", 3);
	sb_linereader_consume(&lr, 3);
	TEST_EQ_UINT(sb_linereader_feed(&lr, "lo\r\nB NOOP\r\n", 12), 12);
	raw = sb_linereader_buffered(&lr);
	TEST_EQ_MEM(raw.p, 2, "lo", 2);
	sb_linereader_consume(&lr, 2);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 1);
	TEST_EQ_UINT(line.len, 0);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 1);
	TEST_EQ_MEM(line.p, line.len, "B NOOP", 6);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 0);
	TEST_EQ_UINT(sb_linereader_buffered_len(&lr), 0);
	sb_linereader_free(&lr);
}

static void
test_lr_bounded(void)
{
	struct sb_linereader lr;
	struct sb_sv line;
	char big[100];

	memset(big, 'x', sizeof(big));
	sb_linereader_init(&lr, 8);
	/* No more than a line and its ending is ever taken in. */
	TEST_EQ_UINT(sb_linereader_space(&lr), 10);
	TEST_EQ_UINT(sb_linereader_feed(&lr, big, sizeof(big)), 10);
	TEST_EQ_UINT(sb_linereader_feed(&lr, big, sizeof(big)), 0);
	TEST_ASSERT(lr.buf.alloc <= 11);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), -1);
	TEST_ASSERT(sb_linereader_skipping(&lr));
	/* The rest of the long line goes, however much of it comes. */
	TEST_EQ_UINT(sb_linereader_feed(&lr, big, sizeof(big)), sizeof(big));
	TEST_EQ_UINT(sb_linereader_feed(&lr, "xx\nabc\n", 7), 7);
	TEST_ASSERT(!sb_linereader_skipping(&lr));
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 1);
	TEST_EQ_MEM(line.p, line.len, "abc", 3);
	TEST_EQ_INT(sb_linereader_next(&lr, &line), 0);
	TEST_EQ_UINT(sb_linereader_space(&lr), 10);
	sb_linereader_free(&lr);
}

/* Random inputs from a small alphabet, checked against the model. */
static void
test_lr_random_against_model(void)
{
	static const char alphabet[] = {'a', 'b', '\r', '\n', '\0', 'z'};
	char in[300];
	uint32_t seed = 12345;
	size_t len, max_line, i;
	unsigned round;

	for (round = 0; round < 300; round++) {
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 8) % sizeof(in);
		max_line = 1 + (seed >> 20) % 12;
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			/* Mostly letters, so that long lines happen. */
			in[i] = (seed >> 16) % 4 != 0
			                ? 'a'
			                : alphabet[(seed >> 8) %
			                           sizeof(alphabet)];
		}
		check_input(in, len, max_line, NULL, 0);
	}
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"endings", test_lr_endings},
	        {"nul bytes", test_lr_nul_bytes},
	        {"too long", test_lr_too_long},
	        {"view and raw bytes", test_lr_view_and_raw},
	        {"bounded memory", test_lr_bounded},
	        {"random against model", test_lr_random_against_model},
	        {NULL, NULL},
	};

	return test_run(cases);
}
