#include <stdio.h>
#include <string.h>

#include "imap/utf7.h"
#include "test.h"

/* A name in both forms; each must convert to the other. */
struct utf7_vector {
	const char *utf7;
	const char *utf8;
};

static const struct utf7_vector vectors[] = {
        {"", ""},
        {"INBOX", "INBOX"},
        {"&-", "&"},
        {"A&-B&-&-", "A&B&&"},
        {"-", "-"},
        {"Entw&APw-rfe", "Entw\xc3\xbcrfe"},
        {"R&AOk-pertoire", "R\xc3\xa9pertoire"},
        /* RFC 3501 5.1.3's example. */
        {"~peter/mail/&U,BTFw-/&ZeVnLIqe-",
         "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
         "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
        {"&Jjo-!", "\xe2\x98\xba!"},
        /* A run of several characters is one shift. */
        {"&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9"},
        /* '&' between two runs: two shifts, not a null shift. */
        {"&AOk-&-&AOk-", "\xc3\xa9&\xc3\xa9"},
        /* U+1F600 as the surrogate pair D83D DE00. */
        {"&2D3eAA-", "\xf0\x9f\x98\x80"},
        {"a&2D3eAACg-b", "a\xf0\x9f\x98\x80\xc2\xa0"
                         "b"},
        /* U+FFFD, U+00A0 (the first character after C1). */
        {"&,,0-", "\xef\xbf\xbd"},
        {"&AKA-", "\xc2\xa0"},
};

static void
expect_decode_error(const char *in, size_t len)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 1024);
	TEST_ASSERT(sb_buf_add_str(&out, "keep") == 0);
	if (imap_utf7_to_utf8(in, len, &out, &error) == 0) {
		test_dump("input", in, len);
		test_fail(__FILE__, __LINE__, "decoded to \"%s\"",
		          sb_buf_str(&out));
	}
	TEST_ASSERT(error != NULL);
	/* out is as it was: never a wrong name, not even half of one. */
	TEST_EQ_STR(sb_buf_str(&out), "keep");
	sb_buf_free(&out);
}

static void
test_vectors(void)
{
	for (size_t i = 0; i < SB_N_ELEMENTS(vectors); i++) {
		const struct utf7_vector *v = &vectors[i];
		struct sb_buf out;
		const char *error = NULL;

		sb_buf_init(&out, 1024);
		if (imap_utf7_to_utf8(v->utf7, strlen(v->utf7), &out, &error) !=
		    0)
			test_fail(__FILE__, __LINE__, "%s: %s", v->utf7, error);
		TEST_EQ_STR(sb_buf_str(&out), v->utf8);
		sb_buf_reset(&out);
		if (imap_utf8_to_utf7(v->utf8, strlen(v->utf8), &out, &error) !=
		    0)
			test_fail(__FILE__, __LINE__, "%s: %s", v->utf7, error);
		TEST_EQ_STR(sb_buf_str(&out), v->utf7);
		TEST_ASSERT(imap_utf8_name_valid(v->utf8, strlen(v->utf8)));
		sb_buf_free(&out);
	}
}

/*
 * "&" and the modified base64 of the given UTF-16 units, padded with
 * zero bits, then "-": a way to write shifts the encoder never makes.
 */
static void
shift_of(const uint16_t *units, size_t n, char *out, size_t size)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "abcdefghijklmnopqrstuvwxyz0123456789+,";
	uint32_t bits = 0;
	unsigned nbits = 0;
	size_t o = 0;

	out[o++] = '&';
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | units[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			out[o++] = b64[(bits >> nbits) & 63];
		}
		bits &= (1u << nbits) - 1;
	}
	if (nbits > 0)
		out[o++] = b64[(bits << (6 - nbits)) & 63];
	out[o++] = '-';
	out[o] = '\0';
	TEST_ASSERT(o < size);
}

static void
expect_units_error(const uint16_t *units, size_t n)
{
	char s[64];

	shift_of(units, n, s, sizeof(s));
	expect_decode_error(s, strlen(s));
}

static void
test_decode_errors(void)
{
	static const char *const bad[] = {
	        "&",           /* unterminated */
	        "&AOk",        /* unterminated */
	        "a&AOkA6Q",    /* unterminated */
	        "&AOk-&AOk-",  /* a null shift: "-&" inside base64 */
	        "&AOk-&AOkA-", /* the same, and a needless character */
	        "&AGE-",       /* 'a' encoded */
	        "&ACY-",       /* '&' encoded: it must be "&-" */
	        "&ACA-",       /* ' ' encoded */
	        "&AH4-",       /* '~' encoded */
	        "&AOl-",       /* the unused bits are not zero */
	        "&AOkA-",      /* a character more than needed */
	        "&A-",         /* six bits: no character */
	        "&AO-",        /* twelve bits */
	        "&2D0-",       /* a high surrogate alone */
	        "&3gA-",       /* a low surrogate alone */
	        "&AO/k-",      /* '/' is not modified base64 */
	        "&AO=k-",      /* nor is '=' */
	        "&AO k-",      /* nor SP */
	        "&&-",         /* '&' inside base64 */
	        "caf\xc3\xa9", /* raw 8-bit: not modified UTF-7 */
	        "a\tb",        /* a control character */
	        "a\x7f",       /* DEL */
	        "a\rb",        /* CR */
	};
	/* High then not low, low then anything, two highs. */
	static const uint16_t pair_bad1[] = {0xd83d, 0x00e9};
	static const uint16_t pair_bad2[] = {0xde00, 0xd83d};
	static const uint16_t pair_bad3[] = {0xd83d, 0xd83d, 0xde00};
	static const uint16_t pair_bad4[] = {0x00e9, 0xde00};
	/* Control characters encoded: U+0000, U+001F, U+007F, U+0085. */
	static const uint16_t c0[] = {0x0000}, c1f[] = {0x001f},
	                      del[] = {0x007f}, c1[] = {0x0085};
	/* Printable ASCII after a character that needs encoding. */
	static const uint16_t ascii_after[] = {0x00e9, 0x0041};

	for (size_t i = 0; i < SB_N_ELEMENTS(bad); i++)
		expect_decode_error(bad[i], strlen(bad[i]));
	expect_decode_error("a\0b", 3);
	expect_decode_error("&AOk\0-", 6);
	expect_units_error(pair_bad1, 2);
	expect_units_error(pair_bad2, 2);
	expect_units_error(pair_bad3, 3);
	expect_units_error(pair_bad4, 2);
	expect_units_error(c0, 1);
	expect_units_error(c1f, 1);
	expect_units_error(del, 1);
	expect_units_error(c1, 1);
	expect_units_error(ascii_after, 2);
}

static void
test_encode_errors(void)
{
	static const char *const bad[] = {
	        "caf\xe9",          /* Latin-1, not UTF-8 */
	        "\xc3",             /* truncated */
	        "\xc0\xaf",         /* overlong '/' */
	        "\xed\xa0\x80",     /* a surrogate in UTF-8 */
	        "\xf4\x90\x80\x80", /* past U+10FFFF */
	        "a\tb",             /* C0 */
	        "a\x7f",            /* DEL */
	        "a\xc2\x85",        /* C1: NEL */
	        "a\xc2\x9f",        /* C1, the last */
	        "new\nline",
	};

	for (size_t i = 0; i < SB_N_ELEMENTS(bad); i++) {
		struct sb_buf out;
		const char *error = NULL;

		TEST_ASSERT(!imap_utf8_name_valid(bad[i], strlen(bad[i])));
		sb_buf_init(&out, 1024);
		TEST_EQ_INT(
		        imap_utf8_to_utf7(bad[i], strlen(bad[i]), &out, &error),
		        -1);
		TEST_ASSERT(error != NULL);
		TEST_EQ_UINT(out.len, 0);
		sb_buf_free(&out);
	}
	TEST_ASSERT(!imap_utf8_name_valid("a\0b", 3));
}

/* Every BMP character and a sample of the others survive both ways. */
static void
test_round_trip_all(void)
{
	struct sb_buf utf8, utf7, back;
	const char *error = NULL;

	sb_buf_init(&utf8, 64);
	sb_buf_init(&utf7, 64);
	sb_buf_init(&back, 64);
	for (uint32_t cp = 0xa0; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) {
		char b[4];
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		if (cp < 0x800) {
			b[0] = (char)(0xc0 | (cp >> 6));
			b[1] = (char)(0x80 | (cp & 0x3f));
			n = 2;
		} else if (cp < 0x10000) {
			b[0] = (char)(0xe0 | (cp >> 12));
			b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
			b[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else {
			b[0] = (char)(0xf0 | (cp >> 18));
			b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			b[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		}
		sb_buf_reset(&utf8);
		sb_buf_reset(&utf7);
		sb_buf_reset(&back);
		TEST_ASSERT(sb_buf_add_str(&utf8, "x") == 0);
		TEST_ASSERT(sb_buf_add(&utf8, b, n) == 0);
		TEST_ASSERT(sb_buf_add(&utf8, b, n) == 0);
		TEST_ASSERT(sb_buf_add_str(&utf8, "&y") == 0);
		TEST_ASSERT(sb_buf_add(&utf8, b, n) == 0);
		if (imap_utf8_to_utf7(utf8.data, utf8.len, &utf7, &error) != 0)
			test_fail(__FILE__, __LINE__, "U+%04X: %s", cp, error);
		if (imap_utf7_to_utf8(utf7.data, utf7.len, &back, &error) != 0)
			test_fail(__FILE__, __LINE__, "U+%04X: %s: %s", cp,
			          utf7.data, error);
		TEST_EQ_MEM(back.data, back.len, utf8.data, utf8.len);
	}
	sb_buf_free(&utf8);
	sb_buf_free(&utf7);
	sb_buf_free(&back);
}

static void
test_full(void)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 6);
	TEST_EQ_INT(imap_utf7_to_utf8("R&AOk-pertoire", 14, &out, &error), -1);
	TEST_EQ_STR(error, "mailbox name too long");
	TEST_EQ_UINT(out.len, 0);
	TEST_EQ_INT(imap_utf8_to_utf7("R\xc3\xa9pertoire", 11, &out, &error),
	            -1);
	TEST_EQ_STR(error, "mailbox name too long");
	sb_buf_free(&out);
}

static const struct test_case cases[] = {
        {"vectors", test_vectors},
        {"malformed modified UTF-7", test_decode_errors},
        {"names the encoder refuses", test_encode_errors},
        {"round trip of every character", test_round_trip_all},
        {"output past the maximum", test_full},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
