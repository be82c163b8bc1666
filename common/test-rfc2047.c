#include <stdio.h>
#include <string.h>

#include "common/address.h"
#include "common/charset.h"
#include "common/rfc2047.h"
#include "test.h"

static void
expect_decode(const char *in, const char *expected, unsigned int flags)
{
	struct sb_buf out;
	unsigned int got = 0xffff;

	sb_buf_init(&out, 4096);
	TEST_EQ_INT(sb_rfc2047_decode(in, strlen(in), &out, &got), 0);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	TEST_EQ_UINT(got, flags);
	sb_buf_free(&out);
}

/* The examples of RFC 2047 section 8. */
static void
test_rfc_examples(void)
{
	expect_decode("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard",
	              0);
	expect_decode("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore", 0);
	expect_decode("(=?ISO-8859-1?Q?a?=)", "(a)", 0);
	expect_decode("(=?ISO-8859-1?Q?a?= b)", "(a b)", 0);
	expect_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)", 0);
	expect_decode("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)", 0);
	expect_decode("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)",
	              0);
	expect_decode("(=?ISO-8859-1?Q?a_b?=)", "(a b)", 0);
	expect_decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)", 0);
	/* RFC 2231 section 5: a language after '*'. */
	expect_decode("=?US-ASCII*EN?Q?Keith_Moore?=", "Keith Moore", 0);
	expect_decode("=?utf-8*de-CH?b?R3LDvGV6aQ==?=",
	              "Gr\xc3\xbc"
	              "ezi",
	              0);
}

static void
test_charsets(void)
{
	expect_decode("=?UTF-8?Q?caf=C3=A9?=", "caf\xc3\xa9", 0);
	expect_decode("=?utf-8?b?Y2Fmw6k=?=", "caf\xc3\xa9", 0);
	expect_decode("=?iso-8859-15?q?=A4uro?=",
	              "\xe2\x82\xac"
	              "uro",
	              0);
	expect_decode("=?windows-1252?Q?=93quoted=94?=",
	              "\xe2\x80\x9cquoted\xe2\x80\x9d", 0);
	expect_decode("=?KOI8-R?B?8NLJ18XU?=",
	              "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", 0);
	expect_decode("=?ISO-2022-JP?B?GyRCJDMkcxsoQg==?=",
	              "\xe3\x81\x93\xe3\x82\x93", 0);
	expect_decode("=?Shift_JIS?B?gqA=?=", "\xe3\x81\x82", 0);
	expect_decode("=?GB2312?B?1tDOxA==?=", "\xe4\xb8\xad\xe6\x96\x87", 0);
	expect_decode("=?gbk?B?1tDOxA==?=", "\xe4\xb8\xad\xe6\x96\x87", 0);
	expect_decode("=?UTF-8?Q?=FF?=", "\xef\xbf\xbd", SB_RFC2047_REPLACED);
}

/* A character split across adjacent words of one charset survives. */
static void
test_split_characters(void)
{
	expect_decode("=?UTF-8?Q?caf=C3?= =?UTF-8?Q?=A9?=", "caf\xc3\xa9", 0);
	expect_decode("=?utf-8?q?caf=C3?=\r\n =?UTF-8?Q?=A9!?=", "caf\xc3\xa9!",
	              0);
	expect_decode("=?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "\xc3\xa9\xc3\xa9",
	              0);
	expect_decode(
	        "=?Shift_JIS?B?gg==?= =?Shift_JIS?B?oA==?=", "\xe3\x81\x82", 0);
	expect_decode("=?GB2312?B?1g==?= =?GB2312?B?0M7E?=",
	              "\xe4\xb8\xad\xe6\x96\x87", 0);
	expect_decode("=?ISO-2022-JP?B?GyRCJDMbKEI=?= "
	              "=?ISO-2022-JP?B?GyRCJHMbKEI=?=",
	              "\xe3\x81\x93\xe3\x82\x93", 0);
	/* A change of charset ends the join, still without the space. */
	expect_decode("=?UTF-8?Q?=C3?= =?ISO-8859-1?Q?=A9?=",
	              "\xef\xbf\xbd\xc2\xa9", SB_RFC2047_REPLACED);
	/* Text between words ends the join. */
	expect_decode("=?UTF-8?Q?=C3?= x =?UTF-8?Q?=A9?=",
	              "\xef\xbf\xbd x \xef\xbf\xbd", SB_RFC2047_REPLACED);
}

static void
test_lenient_placement(void)
{
	expect_decode("=?UTF-8?Q?a?==?UTF-8?Q?b?=", "ab", 0);
	expect_decode("foo=?UTF-8?Q?bar?=baz", "foobarbaz", 0);
	expect_decode("Re: [list] =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= zusammen",
	              "Re: [list] Gr\xc3\xbc\xc3\x9f"
	              "e zusammen",
	              0);
	expect_decode("=?UTF-8?Q?\?=", "", 0);
	expect_decode("=?UTF-8?Q?a=ZZb=?=", "a=ZZb=", 0);
	expect_decode("=?UTF-8?B?YWJj?=", "abc", 0);
	/* Unpadded B is fine. */
	expect_decode("=?UTF-8?B?YWI?=", "ab", 0);
}

static void
test_broken_kept(void)
{
	expect_decode("=?x-unknown?Q?abc?= tail", "=?x-unknown?Q?abc?= tail",
	              SB_RFC2047_UNKNOWN_CHARSET);
	expect_decode("=?x-unknown?Q?a?= =?x-unknown?Q?b?=",
	              "=?x-unknown?Q?a?= =?x-unknown?Q?b?=",
	              SB_RFC2047_UNKNOWN_CHARSET);
	expect_decode(
	        "=?UTF-8?B?!!!?=", "=?UTF-8?B?!!!?=", SB_RFC2047_BROKEN_WORD);
	expect_decode("=?UTF-8?Q?a?= =?UTF-8?B?%%?= =?UTF-8?Q?b?=",
	              "a =?UTF-8?B?%%?= b", SB_RFC2047_BROKEN_WORD);
	expect_decode("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=", 0);
	expect_decode("=?UTF-8?Q?no end", "=?UTF-8?Q?no end", 0);
	expect_decode("=?UTF-8?Q?sp ace?=", "=?UTF-8?Q?sp ace?=", 0);
	expect_decode("=??Q?abc?=", "=??Q?abc?=", 0);
	expect_decode("=?", "=?", 0);
	expect_decode("a=?b", "a=?b", 0);
	expect_decode("=?=?UTF-8?Q?x?=", "=?x", 0);
}

static void
test_raw_text(void)
{
	expect_decode("plain", "plain", 0);
	expect_decode("", "", 0);
	expect_decode("Caf\xc3\xa9 =?UTF-8?Q?ok?=", "Caf\xc3\xa9 ok", 0);
	expect_decode("a\xe9z", "a\xef\xbf\xbdz", SB_RFC2047_REPLACED);
	expect_decode("Hello\r\n world", "Hello world", 0);
	expect_decode("Hello\n\tworld", "Hello\tworld", 0);
}

static void
test_decode_maximum(void)
{
	struct sb_buf out;

	sb_buf_init(&out, 5);
	TEST_EQ_INT(sb_rfc2047_decode("=?UTF-8?Q?abcdef?=", 18, &out, NULL),
	            -1);
	TEST_ASSERT(out.data == NULL);
	TEST_EQ_INT(sb_rfc2047_decode("abcdef", 6, &out, NULL), -1);
	TEST_EQ_INT(sb_rfc2047_decode("=?UTF-8?Q?abcde?=", 17, &out, NULL), 0);
	TEST_EQ_STR(sb_buf_str(&out), "abcde");
	sb_buf_free(&out);
}

static void
expect_encode(const char *in, size_t column, enum sb_rfc2047_encoding enc,
              const char *expected)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 4096);
	TEST_EQ_INT(
	        sb_rfc2047_encode(in, strlen(in), column, enc, &out, &error),
	        0);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	sb_buf_free(&out);
}

static void
test_encode_known(void)
{
	expect_encode("Hello world", 9, SB_RFC2047_AUTO, "Hello world");
	expect_encode("caf\xc3\xa9", 9, SB_RFC2047_AUTO,
	              "=?UTF-8?B?Y2Fmw6k=?=");
	expect_encode("caf\xc3\xa9", 9, SB_RFC2047_Q, "=?UTF-8?Q?caf=C3=A9?=");
	expect_encode("Gr\xc3\xbc\xc3\x9f"
	              "e aus K\xc3\xb6ln",
	              9, SB_RFC2047_Q,
	              "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?Q?K=C3=B6ln?=");
	/* Adjacent words needing it share one run, the space inside. */
	expect_encode("na\xc3\xafve caf\xc3\xa9 ok", 0, SB_RFC2047_Q,
	              "=?UTF-8?Q?na=C3=AFve_caf=C3=A9?= ok");
	/* Text that looks like an encoded word is encoded. */
	expect_encode("a =?x?= b", 0, SB_RFC2047_Q,
	              "a =?UTF-8?Q?=3D=3Fx=3F=3D?= b");
	/* Phrase-safe Q: specials and '_' are escaped. */
	expect_encode("\xc3\xa9_(x)", 0, SB_RFC2047_Q,
	              "=?UTF-8?Q?=C3=A9=5F=28x=29?=");
	expect_encode("tab\there", 0, SB_RFC2047_Q, "=?UTF-8?Q?tab=09here?=");
	/* Long ASCII text folds at spaces. */
	expect_encode("aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	              "ffffffffff gggggggggg",
	              9, SB_RFC2047_AUTO,
	              "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	              "ffffffffff\r\n gggggggggg");
}

/* Every line within 76, every word within 75, and it decodes back. */
static void
expect_roundtrip(const char *in, size_t column, enum sb_rfc2047_encoding enc)
{
	struct sb_buf out, back;
	const char *error = NULL, *p, *line, *w, *end;

	sb_buf_init(&out, 8192);
	sb_buf_init(&back, 8192);
	TEST_EQ_INT(
	        sb_rfc2047_encode(in, strlen(in), column, enc, &out, &error),
	        0);
	line = sb_buf_str(&out);
	for (p = line;; p++) {
		if (*p == '\r' || *p == '\0') {
			TEST_ASSERT((size_t)(p - line) +
			                    (line == out.data ? column : 0) <=
			            SB_RFC2047_LINE);
			if (*p == '\0')
				break;
			line = p + 2;
			/* No continuation line is whitespace only. */
			TEST_ASSERT(strspn(line, " \t") < strcspn(line, "\r"));
		}
	}
	for (w = strstr(out.data, "=?"); w != NULL; w = strstr(end, "=?")) {
		end = strstr(w + 2, "?=");
		TEST_ASSERT(end != NULL);
		end += 2;
		TEST_ASSERT(end - w <= SB_RFC2047_MAX_WORD);
	}
	TEST_EQ_INT(sb_rfc2047_decode(out.data, out.len, &back, NULL), 0);
	TEST_EQ_STR(sb_buf_str(&back), in);
	sb_buf_free(&out);
	sb_buf_free(&back);
}

static void
test_encode_roundtrip(void)
{
	static const enum sb_rfc2047_encoding encs[] = {
	        SB_RFC2047_AUTO, SB_RFC2047_B, SB_RFC2047_Q};
	char many[512];
	size_t i, n = 0;

	for (i = 0; i < 100; i++) {
		memcpy(many + n, "\xc3\xa9", 2);
		n += 2;
	}
	memcpy(many + n, " and \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x93\xa7", 17);
	many[n + 17] = '\0';
	for (i = 0; i < SB_N_ELEMENTS(encs); i++) {
		expect_roundtrip(many, 9, encs[i]);
		expect_roundtrip("Re: Gr\xc3\xbc\xc3\x9f"
		                 "e aus K\xc3\xb6ln, und so weiter und so "
		                 "fort, eine sehr lange Betreffzeile \xe2\x82"
		                 "\xac",
		                 9, encs[i]);
		expect_roundtrip("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1"
		                 "\x82 \xd0\xbc\xd0\xb8\xd1\x80",
		                 30, encs[i]);
		expect_roundtrip("plain ascii", 0, encs[i]);
	}
}

/* A charset that turns one byte into 12 bytes of UTF-8 still decodes. */
static void
test_decode_growth(void)
{
	char in[128], expected[512];
	size_t i, n = 0, e = 0;

	n += (size_t)snprintf(in, sizeof(in), "=?TSCII?Q?");
	for (i = 0; i < 20; i++) {
		memcpy(in + n, "=82", 3);
		n += 3;
		memcpy(expected + e,
		       "\xe0\xae\xb8\xe0\xaf\x8d\xe0\xae\xb0\xe0\xaf\x80", 12);
		e += 12;
	}
	memcpy(in + n, "?=", 3);
	expected[e] = '\0';
	expect_decode(in, expected, 0);
}

/* No control character (and never NUL) reaches the decoded text. */
static void
test_decode_controls(void)
{
	struct sb_buf out;
	unsigned int flags;

	expect_decode("=?utf-8?q?a=0D=0Ab=00c?=",
	              "a  b\xef\xbf\xbd"
	              "c",
	              SB_RFC2047_CONTROL);
	expect_decode("=?utf-8?b?YQFif2MJZA==?=",
	              "a\xef\xbf\xbd"
	              "b\xef\xbf\xbd"
	              "c\td",
	              SB_RFC2047_CONTROL);
	expect_decode("=?UTF-16BE?B?AEEAAABC?=",
	              "A\xef\xbf\xbd"
	              "B",
	              SB_RFC2047_CONTROL);
	expect_decode("plain\x01text\x7f", "plain\xef\xbf\xbdtext\xef\xbf\xbd",
	              SB_RFC2047_CONTROL);
	expect_decode("=?x-unknown?Q?a?=\x02", "=?x-unknown?Q?a?=\xef\xbf\xbd",
	              SB_RFC2047_UNKNOWN_CHARSET | SB_RFC2047_CONTROL);
	expect_decode("tab\tkept", "tab\tkept", 0);
	/* An embedded NUL in the raw value is replaced too. */
	sb_buf_init(&out, 64);
	TEST_EQ_INT(sb_rfc2047_decode("a\0b", 3, &out, &flags), 0);
	TEST_EQ_STR(sb_buf_str(&out), "a\xef\xbf\xbd"
	                              "b");
	TEST_EQ_UINT(out.len, 5);
	TEST_EQ_UINT(flags, SB_RFC2047_CONTROL);
	sb_buf_free(&out);
	/* The replacement counts against the maximum. */
	sb_buf_init(&out, 4);
	TEST_EQ_INT(sb_rfc2047_decode("=?utf-8?q?ab=00?=", 17, &out, &flags),
	            -1);
	TEST_ASSERT(out.data == NULL);
	sb_buf_free(&out);
}

/* Words in many charsets, alternating: all decode (through the cache). */
static void
test_decode_alternating(void)
{
	struct sb_buf in, out, expected;
	unsigned int flags;
	size_t i;

	sb_buf_init(&in, 1 << 16);
	sb_buf_init(&out, 1 << 16);
	sb_buf_init(&expected, 1 << 16);
	for (i = 0; i < 200; i++) {
		TEST_EQ_INT(
		        sb_buf_add_str(
		                &in,
		                i % 3 == 0 ? "=?koi8-r?q?=F0?= x "
		                : i % 3 == 1
		                        ? "=?ISO-2022-JP?B?GyRCJDMbKEI=?= x "
		                        : "=?x-nope?q?z?= x "),
		        0);
		TEST_EQ_INT(sb_buf_add_str(&expected,
		                           i % 3 == 0   ? "\xd0\x9f x "
		                           : i % 3 == 1 ? "\xe3\x81\x93 x "
		                                        : "=?x-nope?q?z?= x "),
		            0);
	}
	TEST_EQ_INT(sb_rfc2047_decode(in.data, in.len, &out, &flags), 0);
	TEST_EQ_STR(sb_buf_str(&out), sb_buf_str(&expected));
	TEST_EQ_UINT(flags, SB_RFC2047_UNKNOWN_CHARSET);
	sb_buf_free(&in);
	sb_buf_free(&out);
	sb_buf_free(&expected);
}

static void
expect_phrase(const char *in, size_t column, enum sb_rfc2047_encoding enc,
              const char *expected)
{
	struct sb_address_list *list;
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 4096);
	TEST_EQ_INT(sb_rfc2047_encode_phrase(in, strlen(in), column, enc, &out,
	                                     &error),
	            0);
	if (expected != NULL)
		TEST_EQ_STR(sb_buf_str(&out), expected);
	/* As the display name of an address: one address, the same name. */
	TEST_EQ_INT(sb_buf_add_str(&out, " <a@b.test>"), 0);
	list = sb_address_list_parse_new(out.data, out.len, 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_UINT(list->flags, 0);
	TEST_EQ_STR(list->addrs[0].mailbox, "a");
	TEST_ASSERT(list->addrs[0].display_name != NULL);
	/* Outer spaces of a name are not kept, inner runs are one space. */
	if (strchr(in, ' ') == NULL || strstr(in, "  ") == NULL)
		TEST_EQ_STR(list->addrs[0].display_name, in);
	sb_address_list_free(&list);
	sb_buf_free(&out);
}

static void
test_encode_phrase(void)
{
	char long_name[300];
	size_t i;

	/* The plain encoder keeps specials: fine in a Subject only. */
	expect_encode("Smith, John", 0, SB_RFC2047_AUTO, "Smith, John");
	expect_phrase("Smith, John", 6, SB_RFC2047_AUTO, "\"Smith, John\"");
	expect_phrase("Joe Q. Public", 6, SB_RFC2047_AUTO, "\"Joe Q. Public\"");
	expect_phrase("a\"b\\c <d@e>", 0, SB_RFC2047_AUTO,
	              "\"a\\\"b\\\\c <d@e>\"");
	expect_phrase("John Smith", 6, SB_RFC2047_AUTO, "John Smith");
	expect_phrase("J\xc3\xb6rg, Dr.", 6, SB_RFC2047_Q,
	              "=?UTF-8?Q?J=C3=B6rg=2C_Dr=2E?=");
	expect_phrase("Dr. J\xc3\xb6rg Smith", 6, SB_RFC2047_Q,
	              "=?UTF-8?Q?Dr=2E_J=C3=B6rg?= Smith");
	expect_phrase("evil@attacker.example, J\xc3\xb6rg", 6, SB_RFC2047_Q,
	              NULL);
	expect_phrase("\xc3\xa9 (x) [y] a:b;c", 6, SB_RFC2047_B, NULL);
	/* A long quoted phrase folds inside the quotes. */
	for (i = 0; i < 28; i++)
		memcpy(long_name + i * 10, "Smith, Jo ", 10);
	long_name[279] = '\0';
	expect_phrase(long_name, 6, SB_RFC2047_AUTO, NULL);
	expect_roundtrip(long_name, 6, SB_RFC2047_AUTO);
}

/* Trailing spaces never make a whitespace-only line; see rfc2047.h. */
static void
test_encode_folding_edges(void)
{
	struct sb_buf out;
	const char *error;

	expect_encode("aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	              "ffffffffff        ",
	              9, SB_RFC2047_AUTO,
	              "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee"
	              "\r\n ffffffffff        ");
	expect_roundtrip("aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd "
	                 "eeeeeeeeee ffffffffff        ",
	                 9, SB_RFC2047_AUTO);
	expect_encode("caf\xc3\xa9   ", 9, SB_RFC2047_Q,
	              "=?UTF-8?Q?caf=C3=A9___?=");
	expect_roundtrip("x caf\xc3\xa9                                      "
	                 "                                ",
	                 30, SB_RFC2047_Q);
	expect_roundtrip("x caf\xc3\xa9                                      "
	                 "                                ",
	                 30, SB_RFC2047_B);
	/* Spaces only: kept on the line, however long. */
	expect_encode("   ", 75, SB_RFC2047_AUTO, "   ");
	/* High column, no leading space: the first word cannot move. */
	expect_encode("caf\xc3\xa9", 74, SB_RFC2047_Q, "=?UTF-8?Q?caf=C3=A9?=");
	/* With a leading space it can, and every line fits. */
	expect_encode(" caf\xc3\xa9", 74, SB_RFC2047_Q,
	              "\r\n =?UTF-8?Q?caf=C3=A9?=");
	/* Control characters are refused. */
	sb_buf_init(&out, 100);
	TEST_EQ_INT(sb_rfc2047_encode("a\r\nb", 4, 0, SB_RFC2047_AUTO, &out,
	                              &error),
	            -1);
	TEST_EQ_STR(error, "header value has control characters");
	TEST_EQ_INT(sb_rfc2047_encode_phrase("a\x7f", 2, 0, SB_RFC2047_AUTO,
	                                     &out, &error),
	            -1);
	TEST_EQ_INT(
	        sb_rfc2047_encode("a\tb", 3, 0, SB_RFC2047_AUTO, &out, &error),
	        0);
	sb_buf_free(&out);
}

static void
test_encode_errors(void)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 100);
	TEST_EQ_INT(sb_rfc2047_encode("bad\xff", 4, 0, SB_RFC2047_AUTO, &out,
	                              &error),
	            -1);
	TEST_EQ_STR(error, "header value is not UTF-8");
	sb_buf_init(&out, 10);
	TEST_EQ_INT(sb_rfc2047_encode("\xc3\xa9\xc3\xa9", 4, 0, SB_RFC2047_AUTO,
	                              &out, &error),
	            -1);
	TEST_ASSERT(out.data == NULL);
	sb_buf_free(&out);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"RFC 2047 examples", test_rfc_examples},
	        {"charsets", test_charsets},
	        {"split characters", test_split_characters},
	        {"lenient placement", test_lenient_placement},
	        {"broken words kept", test_broken_kept},
	        {"raw text", test_raw_text},
	        {"decode maximum", test_decode_maximum},
	        {"encode known answers", test_encode_known},
	        {"encode round trip", test_encode_roundtrip},
	        {"encode errors", test_encode_errors},
	        {"decode growth", test_decode_growth},
	        {"decode controls", test_decode_controls},
	        {"decode alternating charsets", test_decode_alternating},
	        {"encode phrase", test_encode_phrase},
	        {"encode folding edges", test_encode_folding_edges},
	        {NULL, NULL},
	};
	return test_run(cases);
}
