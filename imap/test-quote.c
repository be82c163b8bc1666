#include <string.h>

#include "imap/quote.h"
#include "test.h"

enum quote_kind {
	ASTRING,
	STRING,
	NSTRING,
	LITERAL,
	HEADER_TEXT,
};

static void
expect_len(enum quote_kind kind, const char *in, size_t len,
           const char *expected, size_t expected_len)
{
	struct sb_buf out;
	int ret = -1;

	sb_buf_init(&out, 1 << 16);
	switch (kind) {
	case ASTRING:
		ret = imap_write_astring(in, len, &out);
		break;
	case STRING:
		ret = imap_write_string(in, len, &out);
		break;
	case NSTRING:
		ret = imap_write_nstring(in, len, &out);
		break;
	case LITERAL:
		ret = imap_write_literal(in, len, &out);
		break;
	case HEADER_TEXT:
		ret = imap_write_header_text(in, len, &out);
		break;
	}
	TEST_EQ_INT(ret, 0);
	TEST_EQ_MEM(out.data, out.len, expected, expected_len);
	sb_buf_free(&out);
}

static void
expect(enum quote_kind kind, const char *in, const char *expected)
{
	expect_len(kind, in, in == NULL ? 0 : strlen(in), expected,
	           strlen(expected));
}

static void
test_astring(void)
{
	expect(ASTRING, "INBOX", "INBOX");
	expect(ASTRING, "Sent.2024", "Sent.2024");
	/* ']' is an ASTRING-CHAR; '[' is an atom character too. */
	expect(ASTRING, "[Gmail]/All", "[Gmail]/All");
	expect(ASTRING, "a]b", "a]b");
	expect(ASTRING, "&AOk-t&AOk-", "&AOk-t&AOk-");
	expect(ASTRING, "", "\"\"");
	expect(ASTRING, "two words", "\"two words\"");
	expect(ASTRING, "a(b", "\"a(b\"");
	expect(ASTRING, "a)b", "\"a)b\"");
	expect(ASTRING, "a{b", "\"a{b\"");
	expect(ASTRING, "50%", "\"50%\"");
	expect(ASTRING, "a*", "\"a*\"");
	expect(ASTRING, "say \"hi\"", "\"say \\\"hi\\\"\"");
	expect(ASTRING, "back\\slash", "\"back\\\\slash\"");
	expect(ASTRING, "\\", "\"\\\\\"");
	/* NIL would read as NIL where an nstring is expected. */
	expect(ASTRING, "NIL", "\"NIL\"");
	expect(ASTRING, "nil", "\"nil\"");
	expect(ASTRING, "NILS", "NILS");
	expect(ASTRING, "tab\there", "\"tab\there\"");
	expect(ASTRING, "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9");
	expect(ASTRING, "a\r\nb", "{4}\r\na\r\nb");
	expect(ASTRING, "bell\a", "{5}\r\nbell\a");
	expect(ASTRING, "del\x7f", "{4}\r\ndel\x7f");
}

static void
test_string(void)
{
	char long_text[IMAP_QUOTE_MAX_QUOTED + 2];
	struct sb_buf want;

	expect(STRING, "INBOX", "\"INBOX\"");
	expect(STRING, "", "\"\"");
	expect(STRING, "NIL", "\"NIL\"");
	expect(STRING, "a \"b\" \\c", "\"a \\\"b\\\" \\\\c\"");
	expect(STRING, "\"", "\"\\\"\"");
	expect(STRING, "x\n", "{2}\r\nx\n");
	expect(STRING, "\r", "{1}\r\n\r");
	expect(STRING, "\xff", "{1}\r\n\xff");
	/* The longest quoted string, and one byte more. */
	memset(long_text, 'a', sizeof(long_text));
	long_text[IMAP_QUOTE_MAX_QUOTED] = '\0';
	sb_buf_init(&want, 4096);
	TEST_ASSERT(sb_buf_add_printf(&want, "\"%s\"", long_text) == 0);
	expect(STRING, long_text, sb_buf_str(&want));
	long_text[IMAP_QUOTE_MAX_QUOTED] = 'a';
	long_text[IMAP_QUOTE_MAX_QUOTED + 1] = '\0';
	sb_buf_reset(&want);
	TEST_ASSERT(sb_buf_add_printf(&want, "{%d}\r\n%s",
	                              IMAP_QUOTE_MAX_QUOTED + 1,
	                              long_text) == 0);
	expect(STRING, long_text, sb_buf_str(&want));
	sb_buf_free(&want);
}

/* A NUL cannot be in an IMAP4rev1 string: it becomes U+FFFD. */
static void
test_nul(void)
{
	expect_len(STRING, "a\0b", 3,
	           "{5}\r\na\xef\xbf\xbd"
	           "b",
	           10);
	expect_len(LITERAL, "\0\0", 2, "{6}\r\n\xef\xbf\xbd\xef\xbf\xbd", 11);
	expect_len(ASTRING, "\0", 1, "{3}\r\n\xef\xbf\xbd", 8);
	expect_len(LITERAL, "", 0, "{0}\r\n", 5);
	expect_len(LITERAL, "abc", 3, "{3}\r\nabc", 8);
}

static void
test_nstring(void)
{
	expect(NSTRING, NULL, "NIL");
	expect(NSTRING, "NIL", "\"NIL\"");
	expect(NSTRING, "", "\"\"");
	expect(NSTRING, "x y", "\"x y\"");
	expect_len(NSTRING, "\xe2\x82\xac", 3, "{3}\r\n\xe2\x82\xac", 8);
	{
		struct sb_buf out;

		sb_buf_init(&out, 64);
		TEST_EQ_INT(imap_write_nstring_cstr(NULL, &out), 0);
		TEST_EQ_INT(imap_write_nstring_cstr("q", &out), 0);
		TEST_EQ_INT(imap_write_string_cstr("r", &out), 0);
		TEST_EQ_STR(sb_buf_str(&out), "NIL\"q\"\"r\"");
		sb_buf_free(&out);
	}
}

static void
test_header_text(void)
{
	expect(HEADER_TEXT, NULL, "NIL");
	expect(HEADER_TEXT, "", "\"\"");
	expect(HEADER_TEXT, "   ", "\"\"");
	expect(HEADER_TEXT, " Hello", "\"Hello\"");
	expect(HEADER_TEXT, " Hello \t", "\"Hello\"");
	/* Folding is removed, the whitespace after it stays. */
	expect(HEADER_TEXT, " a long\r\n subject", "\"a long subject\"");
	expect(HEADER_TEXT, " a\r\n\tb", "\"a\tb\"");
	expect(HEADER_TEXT, " a\n b\n  c", "\"a b  c\"");
	/* Encoded words are the header's text: not decoded. */
	expect(HEADER_TEXT,
	       " =?UTF-8?Q?caf=C3=A9?=", "\"=?UTF-8?Q?caf=C3=A9?=\"");
	/* 8-bit text and line ends that are not folding: a literal. */
	expect(HEADER_TEXT,
	       " Gr\xc3\xbc\xc3\x9f"
	       "e",
	       "{7}\r\nGr\xc3\xbc\xc3\x9f"
	       "e");
	expect(HEADER_TEXT, " a\rb", "{3}\r\na\rb");
	expect(HEADER_TEXT, " a\r\n", "{3}\r\na\r\n");
	expect(HEADER_TEXT, " \"quoted\"", "\"\\\"quoted\\\"\"");
	expect_len(HEADER_TEXT, " a\0", 3, "{4}\r\na\xef\xbf\xbd", 9);
}

static void
test_full(void)
{
	struct sb_buf out;

	sb_buf_init(&out, 6);
	TEST_EQ_INT(imap_write_string("12345", 5, &out), -1);
	TEST_EQ_UINT(out.len, 0);
	TEST_EQ_INT(imap_write_literal("x", 1, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "{1}\r\nx");
	TEST_EQ_INT(imap_write_astring("y", 1, &out), -1);
	TEST_EQ_INT(imap_write_header_text(" 1234567", 8, &out), -1);
	TEST_EQ_INT(imap_write_nstring_cstr(NULL, &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "NIL");
	sb_buf_free(&out);
}

static void
test_chars(void)
{
	for (unsigned c = 0; c < 256; c++) {
		bool atom = c > 0x20 && c < 0x7f && c != '(' && c != ')' &&
		            c != '{' && c != '%' && c != '*' && c != '"' &&
		            c != '\\' && c != ']';

		TEST_EQ_INT(imap_is_atom_char((unsigned char)c), atom);
		TEST_EQ_INT(imap_is_astring_char((unsigned char)c),
		            atom || c == ']');
	}
}

static const struct test_case cases[] = {
        {"astring", test_astring},
        {"string", test_string},
        {"NUL", test_nul},
        {"nstring", test_nstring},
        {"header text", test_header_text},
        {"output past the maximum", test_full},
        {"atom characters", test_chars},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
