#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/seqset.h"
#include "test.h"

/* Parses `in` and checks the compact form the set formats back to. */
static void
expect_set(const char *in, enum imap_seqset_kind kind, uint32_t star,
           const char *expected)
{
	struct imap_seqset set;
	struct sb_buf out;
	const char *error = NULL;

	imap_seqset_init(&set, 0);
	sb_buf_init(&out, 1 << 20);
	if (imap_seqset_parse(&set, in, strlen(in), kind, star, &error) != 0)
		test_fail(__FILE__, __LINE__, "\"%s\": %s", in, error);
	TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	sb_buf_free(&out);
	imap_seqset_free(&set);
}

static void
expect_error(const char *in, enum imap_seqset_kind kind, uint32_t star)
{
	struct imap_seqset set;
	const char *error = NULL;

	imap_seqset_init(&set, 0);
	if (imap_seqset_parse(&set, in, strlen(in), kind, star, &error) == 0)
		test_fail(__FILE__, __LINE__, "\"%s\" was accepted", in);
	TEST_ASSERT(error != NULL);
	TEST_EQ_UINT(set.count, 0);
	imap_seqset_free(&set);
}

static void
test_parse(void)
{
	expect_set("1", IMAP_SEQSET_SEQ, 1, "1");
	expect_set("1:*", IMAP_SEQSET_SEQ, 10, "1:10");
	expect_set("3,5:7,9", IMAP_SEQSET_SEQ, 10, "3,5:7,9");
	expect_set("*:4", IMAP_SEQSET_SEQ, 10, "4:10");
	expect_set("*", IMAP_SEQSET_SEQ, 10, "10");
	expect_set("2,2,3", IMAP_SEQSET_SEQ, 10, "2:3");
	expect_set("5:3", IMAP_SEQSET_SEQ, 10, "3:5");
	expect_set("9,1,5,3,7", IMAP_SEQSET_SEQ, 10, "1,3,5,7,9");
	expect_set("1:3,2:6,8:9,7", IMAP_SEQSET_SEQ, 10, "1:9");
	expect_set("4,1:2,3", IMAP_SEQSET_SEQ, 10, "1:4");
	expect_set("1:10,3:4", IMAP_SEQSET_SEQ, 10, "1:10");
	expect_set("10:10", IMAP_SEQSET_SEQ, 10, "10");
	/* UIDs: numbers past "*" are fine, "n:*" holds the last UID. */
	expect_set("559:*", IMAP_SEQSET_UID, 4, "4:559");
	expect_set("1:*", IMAP_SEQSET_UID, 7, "1:7");
	expect_set("4294967295", IMAP_SEQSET_UID, 1, "4294967295");
	expect_set("1:4294967295", IMAP_SEQSET_UID, 1, "1:4294967295");
	expect_set("4294967294,4294967295,1", IMAP_SEQSET_UID, 5,
	           "1,4294967294:4294967295");
	expect_set("*:4294967295", IMAP_SEQSET_UID, 4294967295u, "4294967295");
}

static void
test_errors(void)
{
	static const char *const bad[] = {
	        "",
	        "0",
	        "01",
	        "1,",
	        ",1",
	        "1,,2",
	        "1::2",
	        "1:",
	        ":1",
	        "a",
	        "1a",
	        "1 2",
	        "$",
	        "1:0",
	        "0:1",
	        "-1",
	        "+1",
	        "1.5",
	        "*:*:1",
	        "1:2:3",
	        "**",
	        "4294967296",
	        "99999999999999999999",
	        "1,\r\n",
	};
	struct imap_seqset set;
	const char *error = NULL;

	for (size_t i = 0; i < SB_N_ELEMENTS(bad); i++)
		expect_error(bad[i], IMAP_SEQSET_UID, 100);
	/* Sequence numbers past the message count are errors (BAD). */
	expect_error("11", IMAP_SEQSET_SEQ, 10);
	expect_error("1:11", IMAP_SEQSET_SEQ, 10);
	expect_error("11:*", IMAP_SEQSET_SEQ, 10);
	/* "*" in an empty mailbox, and any number there. */
	expect_error("*", IMAP_SEQSET_SEQ, 0);
	expect_error("1:*", IMAP_SEQSET_SEQ, 0);
	expect_error("1", IMAP_SEQSET_SEQ, 0);
	expect_error("*", IMAP_SEQSET_UID, 0);
	/* A NUL is a byte like any other. */
	imap_seqset_init(&set, 0);
	TEST_EQ_INT(
	        imap_seqset_parse(&set, "1\0", 2, IMAP_SEQSET_UID, 5, &error),
	        -1);
	imap_seqset_free(&set);
}

/* A string "1,3,5,..." of n single numbers, highest first. */
static char *
many(size_t n)
{
	struct sb_buf b;

	sb_buf_init(&b, 16 * n + 16);
	for (size_t i = n; i > 0; i--)
		TEST_ASSERT(sb_buf_add_printf(&b, "%s%zu", i == n ? "" : ",",
		                              2 * i - 1) == 0);
	return sb_buf_take(&b, NULL);
}

static void
test_limits(void)
{
	struct imap_seqset set;
	const char *error = NULL;
	char *s;

	imap_seqset_init(&set, 3);
	TEST_EQ_INT(
	        imap_seqset_parse(&set, "1,3,5", 5, IMAP_SEQSET_UID, 9, &error),
	        0);
	TEST_EQ_UINT(set.count, 3);
	/* Elements are counted as written, before merging. */
	TEST_EQ_INT(imap_seqset_parse(&set, "1,2,3,4", 7, IMAP_SEQSET_UID, 9,
	                              &error),
	            -1);
	TEST_EQ_STR(error, "sequence set has too many ranges");
	imap_seqset_free(&set);

	imap_seqset_init(&set, 0);
	s = many(IMAP_SEQSET_DEFAULT_MAX_RANGES);
	TEST_EQ_INT(imap_seqset_parse(&set, s, strlen(s), IMAP_SEQSET_UID, 1,
	                              &error),
	            0);
	TEST_EQ_UINT(set.count, IMAP_SEQSET_DEFAULT_MAX_RANGES);
	TEST_EQ_UINT(set.ranges[0].first, 1);
	TEST_EQ_UINT(imap_seqset_count(&set), IMAP_SEQSET_DEFAULT_MAX_RANGES);
	TEST_ASSERT(imap_seqset_contains(&set, 199999));
	TEST_ASSERT(!imap_seqset_contains(&set, 200000));
	free(s);
	s = many(IMAP_SEQSET_DEFAULT_MAX_RANGES + 1);
	TEST_EQ_INT(imap_seqset_parse(&set, s, strlen(s), IMAP_SEQSET_UID, 1,
	                              &error),
	            -1);
	TEST_EQ_UINT(set.count, 0);
	free(s);
	imap_seqset_free(&set);
}

static void
test_add(void)
{
	struct imap_seqset set;
	struct sb_buf out;

	imap_seqset_init(&set, 4);
	sb_buf_init(&out, 1024);
	/* In order, as APPENDUID and COPYUID build them. */
	for (uint32_t uid = 1; uid <= 3; uid++)
		TEST_EQ_INT(imap_seqset_add(&set, uid, uid), 0);
	TEST_EQ_INT(imap_seqset_add(&set, 7, 7), 0);
	TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "1:3,7");
	/* Before, between, reversed, and one joining three. */
	TEST_EQ_INT(imap_seqset_add(&set, 12, 10), 0);
	TEST_EQ_INT(imap_seqset_add(&set, 5, 5), 0);
	TEST_EQ_UINT(set.count, 4);
	TEST_EQ_INT(imap_seqset_add(&set, 20, 20), -1); /* a fifth range */
	TEST_EQ_UINT(set.count, 4);
	TEST_EQ_INT(imap_seqset_add(&set, 0, 3), -1);
	TEST_EQ_INT(imap_seqset_add(&set, 4, 4), 0); /* 1:5 now */
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "1:5,7,10:12");
	TEST_EQ_INT(imap_seqset_add(&set, 6, 9), 0);
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "1:12");
	TEST_EQ_INT(imap_seqset_add(&set, 4294967295u, 14), 0);
	TEST_EQ_INT(imap_seqset_add(&set, 13, 13), 0);
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "1:4294967295");
	TEST_EQ_UINT(imap_seqset_count(&set), 4294967295u);
	TEST_ASSERT(imap_seqset_contains(&set, 4294967295u));
	TEST_ASSERT(!imap_seqset_contains(&set, 0));
	sb_buf_free(&out);
	imap_seqset_free(&set);
}

static void
test_iter(void)
{
	struct imap_seqset set;
	struct imap_seqset_iter it;
	const char *error = NULL;
	uint32_t got[8], n;
	size_t count = 0;
	const char *in = "4294967294:*,2,5:6";

	imap_seqset_init(&set, 0);
	TEST_EQ_INT(imap_seqset_parse(&set, in, strlen(in), IMAP_SEQSET_UID,
	                              4294967295u, &error),
	            0);
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_iter_next(&it, &n)) {
		TEST_ASSERT(count < SB_N_ELEMENTS(got));
		got[count++] = n;
	}
	TEST_EQ_UINT(count, 5);
	TEST_EQ_UINT(got[0], 2);
	TEST_EQ_UINT(got[1], 5);
	TEST_EQ_UINT(got[2], 6);
	TEST_EQ_UINT(got[3], 4294967294u);
	TEST_EQ_UINT(got[4], 4294967295u);
	TEST_ASSERT(!imap_seqset_iter_next(&it, &n));
	imap_seqset_clear(&set);
	imap_seqset_iter_init(&it, &set);
	TEST_ASSERT(!imap_seqset_iter_next(&it, &n));
	imap_seqset_free(&set);
}

/*
 * Random sets over 1..200 against a bitmap: membership, count, the
 * iteration, and that the formatted form parses back to the same set
 * and is itself normal (formatting it again gives the same text).
 */
static void
test_model(void)
{
	uint32_t x = 99;

	for (int round = 0; round < 2000; round++) {
		bool model[202] = {false};
		struct imap_seqset set, again;
		struct imap_seqset_iter it;
		struct sb_buf in, out, out2;
		const char *error = NULL;
		uint64_t count = 0;
		uint32_t star, n, prev = 0;
		int elems;

		x = x * 1103515245u + 12345u;
		star = 1 + (x >> 16) % 200;
		elems = 1 + (int)((x >> 8) % 12);
		sb_buf_init(&in, 4096);
		for (int e = 0; e < elems; e++) {
			uint32_t a, b;

			x = x * 1103515245u + 12345u;
			a = 1 + (x >> 16) % star;
			b = (x & 3) == 0 ? a : 1 + (x >> 4) % star;
			if (e > 0)
				TEST_ASSERT(sb_buf_add_char(&in, ',') == 0);
			if ((x & 0x70) == 0x70) {
				TEST_ASSERT(sb_buf_add_printf(&in, "*:%u", b) ==
				            0);
				a = star;
			} else if (a == b) {
				TEST_ASSERT(sb_buf_add_printf(&in, "%u", a) ==
				            0);
			} else {
				TEST_ASSERT(sb_buf_add_printf(&in, "%u:%u", a,
				                              b) == 0);
			}
			for (uint32_t i = a < b ? a : b; i <= (a < b ? b : a);
			     i++)
				model[i] = true;
		}
		imap_seqset_init(&set, 0);
		imap_seqset_init(&again, 0);
		TEST_EQ_INT(imap_seqset_parse(&set, in.data, in.len,
		                              IMAP_SEQSET_SEQ, star, &error),
		            0);
		for (uint32_t i = 0; i <= 201; i++) {
			TEST_EQ_INT(imap_seqset_contains(&set, i), model[i]);
			count += model[i];
		}
		TEST_EQ_UINT(imap_seqset_count(&set), count);
		imap_seqset_iter_init(&it, &set);
		while (imap_seqset_iter_next(&it, &n)) {
			TEST_ASSERT(n > prev && model[n]);
			prev = n;
			count--;
		}
		TEST_EQ_UINT(count, 0);
		sb_buf_init(&out, 4096);
		sb_buf_init(&out2, 4096);
		TEST_EQ_INT(imap_seqset_format(&set, &out), 0);
		TEST_EQ_INT(imap_seqset_parse(&again, out.data, out.len,
		                              IMAP_SEQSET_SEQ, star, &error),
		            0);
		TEST_EQ_INT(imap_seqset_format(&again, &out2), 0);
		TEST_EQ_STR(sb_buf_str(&out2), sb_buf_str(&out));
		TEST_EQ_UINT(again.count, set.count);
		sb_buf_free(&in);
		sb_buf_free(&out);
		sb_buf_free(&out2);
		imap_seqset_free(&set);
		imap_seqset_free(&again);
	}
}

static void
test_format_full(void)
{
	struct imap_seqset set;
	struct sb_buf out;

	imap_seqset_init(&set, 0);
	TEST_EQ_INT(imap_seqset_add(&set, 100, 200), 0);
	TEST_EQ_INT(imap_seqset_add(&set, 300, 300), 0);
	sb_buf_init(&out, 8); /* "100:200," fits, "300" does not */
	TEST_EQ_INT(imap_seqset_format(&set, &out), -1);
	TEST_EQ_UINT(out.len, 0);
	sb_buf_free(&out);
	imap_seqset_free(&set);
}

static const struct test_case cases[] = {
        {"parse", test_parse},
        {"errors", test_errors},
        {"limits", test_limits},
        {"add", test_add},
        {"iterate", test_iter},
        {"random sets against a model", test_model},
        {"format past the buffer's maximum", test_format_full},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
