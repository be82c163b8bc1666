#include <string.h>

#include "common/charset.h"
#include "test.h"

static void
expect_utf8(const char *charset, const char *in, size_t len, int ret,
            const char *expected)
{
	struct sb_buf out;

	sb_buf_init(&out, 4096);
	TEST_EQ_INT(sb_charset_to_utf8(charset, in, len, &out), ret);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	sb_buf_free(&out);
}

static void
test_utf8_valid(void)
{
	TEST_ASSERT(sb_utf8_valid("caf\xc3\xa9", 5));
	TEST_ASSERT(sb_utf8_valid("\xf0\x9f\x93\xa7", 4));
	TEST_ASSERT(!sb_utf8_valid("\xc3", 1));
	TEST_ASSERT(!sb_utf8_valid("\xc0\xaf", 2));         /* overlong */
	TEST_ASSERT(!sb_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	TEST_ASSERT(!sb_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	TEST_ASSERT(!sb_utf8_valid("\xff", 1));
}

static void
test_charset_conversions(void)
{
	expect_utf8("UTF-8", "caf\xc3\xa9", 5, 0, "caf\xc3\xa9");
	expect_utf8("utf-8", "bad\xff!", 5, 1, "bad\xef\xbf\xbd!");
	expect_utf8("iso-8859-1", "caf\xe9", 4, 0, "caf\xc3\xa9");
	/* Labelled latin-1, but 0x80 is the euro sign in windows-1252. */
	expect_utf8("ISO-8859-1", "\x80", 1, 0, "\xe2\x82\xac");
	expect_utf8("iso-8859-15", "\xa4", 1, 0, "\xe2\x82\xac");
	expect_utf8("koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 6, 0,
	            "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	expect_utf8("ISO-2022-JP", "\x1b$B$3$s\x1b(B", 10, 0,
	            "\xe3\x81\x93\xe3\x82\x93");
	expect_utf8("shift_jis", "\x82\xa0", 2, 0, "\xe3\x81\x82");
	expect_utf8("us-ascii", "plain", 5, 0, "plain");
	/* 0x81 is undefined in windows-1252. */
	expect_utf8("windows-1252", "a\x81z", 3, 1, "a\xef\xbf\xbdz");
	expect_utf8("x-no-such-charset", "abc", 3, -1, "");
}

static void
test_charset_respects_maximum(void)
{
	struct sb_buf out;

	sb_buf_init(&out, 3);
	TEST_EQ_INT(sb_charset_to_utf8("iso-8859-1", "\xe9\xe9", 2, &out), -1);
	TEST_ASSERT(out.data == NULL);
	sb_buf_free(&out);
}

/* Unknown charset and full output are told apart. */
static void
test_charset_errors(void)
{
	enum sb_charset_error err = SB_CHARSET_ERR_FULL;
	struct sb_buf out;

	sb_buf_init(&out, 64);
	TEST_EQ_INT(sb_buf_add_str(&out, "kept"), 0);
	TEST_EQ_INT(sb_charset_to_utf8_ex("x-no-such-charset", "abc", 3, &out,
	                                  NULL, &err),
	            -1);
	TEST_EQ_INT(err, SB_CHARSET_ERR_UNKNOWN);
	TEST_EQ_STR(sb_buf_str(&out), "kept");
	TEST_EQ_INT(sb_charset_to_utf8_ex("utf-8", "abc", 3, &out, NULL, &err),
	            0);
	TEST_EQ_INT(err, SB_CHARSET_ERR_NONE);
	TEST_EQ_STR(sb_buf_str(&out), "keptabc");
	sb_buf_free(&out);

	/* TSCII 0x82 is four characters: 12 bytes of UTF-8 from one. */
	sb_buf_init(&out, 11);
	TEST_EQ_INT(sb_charset_to_utf8_ex("TSCII", "\x82", 1, &out, NULL, &err),
	            -1);
	TEST_EQ_INT(err, SB_CHARSET_ERR_FULL);
	TEST_ASSERT(out.data == NULL);
	out.max = 12;
	TEST_EQ_INT(sb_charset_to_utf8_ex("TSCII", "\x82", 1, &out, NULL, &err),
	            0);
	TEST_EQ_STR(sb_buf_str(&out), "\xe0\xae\xb8\xe0\xaf\x8d\xe0\xae\xb0"
	                              "\xe0\xaf\x80");
	sb_buf_free(&out);
	sb_buf_init(&out, 4);
	TEST_EQ_INT(
	        sb_charset_to_utf8_ex("utf-8", "abcde", 5, &out, NULL, &err),
	        -1);
	TEST_EQ_INT(err, SB_CHARSET_ERR_FULL);
	sb_buf_free(&out);
}

/* A cache gives the same results, stateful charsets included. */
static void
test_charset_cache(void)
{
	static const char *const names[] = {"koi8-r",    "ISO-2022-JP",
	                                    "x-unknown", "latin1",
	                                    "shift_jis", "KOI8-R"};
	struct sb_charset_cache cache;
	enum sb_charset_error err;
	struct sb_buf out;
	size_t round, i;
	int ret;

	sb_charset_cache_init(&cache);
	sb_buf_init(&out, 4096);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < SB_N_ELEMENTS(names); i++) {
			sb_buf_reset(&out);
			switch (i) {
			case 0:
			case 5:
				ret = sb_charset_to_utf8_ex(names[i], "\xf0", 1,
				                            &out, &cache, &err);
				TEST_EQ_INT(ret, 0);
				TEST_EQ_STR(sb_buf_str(&out), "\xd0\x9f");
				break;
			case 1:
				/* Left in its shifted state: must not leak. */
				ret = sb_charset_to_utf8_ex(names[i],
				                            "\x1b$B$3", 5, &out,
				                            &cache, &err);
				TEST_EQ_INT(ret, 0);
				TEST_EQ_STR(sb_buf_str(&out), "\xe3\x81\x93");
				ret = sb_charset_to_utf8_ex(names[i], "$3", 2,
				                            &out, &cache, &err);
				TEST_EQ_INT(ret, 0);
				TEST_EQ_STR(sb_buf_str(&out), "\xe3\x81\x93$3");
				break;
			case 2:
				ret = sb_charset_to_utf8_ex(names[i], "a", 1,
				                            &out, &cache, &err);
				TEST_EQ_INT(ret, -1);
				TEST_EQ_INT(err, SB_CHARSET_ERR_UNKNOWN);
				break;
			case 3:
				ret = sb_charset_to_utf8_ex(names[i], "\x80", 1,
				                            &out, &cache, &err);
				TEST_EQ_INT(ret, 0);
				TEST_EQ_STR(sb_buf_str(&out), "\xe2\x82\xac");
				break;
			case 4:
				ret = sb_charset_to_utf8_ex(names[i],
				                            "\x82\xa0", 2, &out,
				                            &cache, &err);
				TEST_EQ_INT(ret, 0);
				TEST_EQ_STR(sb_buf_str(&out), "\xe3\x81\x82");
				break;
			}
		}
	}
	sb_buf_free(&out);
	sb_charset_cache_deinit(&cache);
	TEST_EQ_STR(cache.slot[0].name, "");
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"utf-8 validity", test_utf8_valid},
	        {"conversions", test_charset_conversions},
	        {"respects maximum", test_charset_respects_maximum},
	        {"errors told apart", test_charset_errors},
	        {"cache", test_charset_cache},
	        {NULL, NULL},
	};
	return test_run(cases);
}
