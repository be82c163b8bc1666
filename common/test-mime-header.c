/* The header tokenizer, unfolding and Content-* parameter parsing. */
#include <stdlib.h>
#include <string.h>

#include "common/charset.h"
#include "common/mime.h"
#include "test.h"

static void
expect_field(struct mime_header_iter *it, const char *name, const char *value)
{
	struct mime_header_field f;

	TEST_EQ_INT(mime_header_iter_next(it, &f), 1);
	TEST_EQ_MEM(f.name.p, f.name.len, name, strlen(name));
	TEST_EQ_MEM(f.value.p, f.value.len, value, strlen(value));
}

static void
test_header_iter(void)
{
	static const char block[] = "From: a@b\r\n"
	                            "Subject: one\r\n two\n\tthree\r\n"
	                            "no colon here\r\n"
	                            " continued junk\r\n"
	                            "X-Obs \t: v\n"
	                            "X-8bit: caf\xc3\xa9\r\n"
	                            "X-Empty:\r\n"
	                            "\r\n"
	                            "Body: not a field\r\n";
	static const char from_[] = "From a@b Mon Jan 1 10:00:00 2024\n"
	                            "Caf\xc3\xa9: x\n: empty\n";
	struct mime_header_iter it;
	struct mime_header_field f;

	mime_header_iter_init(&it, block, sizeof(block) - 1);
	expect_field(&it, "From", " a@b");
	expect_field(&it, "Subject", " one\r\n two\n\tthree");
	expect_field(&it, "X-Obs", " v");
	expect_field(&it, "X-8bit", " caf\xc3\xa9");
	expect_field(&it, "X-Empty", "");
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 0);
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 0);
	TEST_EQ_UINT(it.bad_lines, 1);

	/* Offsets and sizes; a last field without line end. */
	mime_header_iter_init(&it, "A: 1\nB: 2", 9);
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 1);
	TEST_EQ_UINT(f.offset, 0);
	TEST_EQ_UINT(f.size, 5);
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 1);
	TEST_EQ_UINT(f.offset, 5);
	TEST_EQ_UINT(f.size, 4);
	TEST_EQ_MEM(f.value.p, f.value.len, " 2", 2);
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 0);

	/* Names must be printable ASCII: an mbox From_ line is no field. */
	mime_header_iter_init(&it, from_, sizeof(from_) - 1);
	TEST_EQ_INT(mime_header_iter_next(&it, &f), 0);
	TEST_EQ_UINT(it.bad_lines, 3);
}

static void
expect_unfold(const char *raw, const char *expected)
{
	struct sb_buf out;

	sb_buf_init(&out, 1024);
	TEST_EQ_INT(mime_unfold(sb_sv_cstr(raw), &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	sb_buf_free(&out);
}

static void
test_unfold(void)
{
	struct sb_buf out;

	expect_unfold(" a\r\n b\n\tc", " a b\tc");
	expect_unfold("a\r\n\r\n b", "a\r\n b");
	expect_unfold("a\r\n", "a\r\n");
	expect_unfold("a\rb\r\n  c", "a\rb  c");
	expect_unfold("", "");
	sb_buf_init(&out, 3);
	TEST_EQ_INT(mime_unfold(SB_SV_LIT("abcd"), &out), -1);
}

/* Parses a Content-Type and checks type, subtype and flags. */
static void
parse_ct(const char *value, const char *type, const char *subtype,
         unsigned flags, struct mime_params *params_r)
{
	char *t = NULL, *s = NULL;
	unsigned got_flags = 0;
	const char *error = NULL;

	TEST_EQ_INT(mime_content_type_parse(sb_sv_cstr(value), NULL, &t, &s,
	                                    params_r, &got_flags, &error),
	            0);
	TEST_EQ_STR(t, type);
	TEST_EQ_STR(s, subtype);
	TEST_EQ_UINT(got_flags, flags);
	free(t);
	free(s);
}

static void
expect_param(const struct mime_params *params, unsigned i, const char *name,
             const char *value, const char *language, bool extended)
{
	TEST_ASSERT(i < params->count);
	TEST_EQ_STR(params->v[i].name, name);
	TEST_EQ_MEM(params->v[i].value, params->v[i].value_len, value,
	            strlen(value));
	TEST_EQ_STR(params->v[i].language, language);
	TEST_EQ_INT(params->v[i].extended, extended);
}

static void
test_content_type(void)
{
	struct mime_params params;
	char *t, *s;
	unsigned flags = 0;
	const char *error;

	parse_ct(" (c) Text / HTML (x (nested) y) ; CharSet = \"UTF-8\" "
	         "(comment); Format=flowed",
	         "text", "html", 0, &params);
	TEST_EQ_UINT(params.count, 2);
	expect_param(&params, 0, "charset", "UTF-8", NULL, false);
	expect_param(&params, 1, "format", "flowed", NULL, false);
	mime_params_free(&params);

	/* Quoted-pairs, tspecials in quotes, an empty value. */
	parse_ct("a/b; x=\"q\\\"uo;te\\\\\"; y=\"\"", "a", "b", 0, &params);
	expect_param(&params, 0, "x", "q\"uo;te\\", NULL, false);
	expect_param(&params, 1, "y", "", NULL, false);
	mime_params_free(&params);

	/* Broken but common: unquoted spaces, missing ';', junk. */
	parse_ct("application/pdf; name=my file.pdf; ;; =x; novalue; "
	         "charset=utf-8 format=flowed; last=\"unterminated",
	         "application", "pdf", MIME_FIELD_BAD_PARAMS, &params);
	TEST_EQ_UINT(params.count, 4);
	expect_param(&params, 0, "name", "my file.pdf", NULL, false);
	expect_param(&params, 1, "charset", "utf-8", NULL, false);
	expect_param(&params, 2, "format", "flowed", NULL, false);
	expect_param(&params, 3, "last", "unterminated", NULL, false);
	mime_params_free(&params);

	/* Repeated: the first wins, flagged. */
	parse_ct("a/b; n=1; N=2", "a", "b", MIME_FIELD_BAD_PARAMS, &params);
	TEST_EQ_UINT(params.count, 1);
	expect_param(&params, 0, "n", "1", NULL, false);
	mime_params_free(&params);

	TEST_EQ_INT(mime_content_type_parse(SB_SV_LIT("text"), NULL, &t, &s,
	                                    &params, &flags, &error),
	            -1);
	TEST_EQ_INT(mime_content_type_parse(SB_SV_LIT("/plain"), NULL, &t, &s,
	                                    &params, &flags, &error),
	            -1);
	TEST_EQ_INT(mime_content_type_parse(SB_SV_LIT("text/"), NULL, &t, &s,
	                                    &params, &flags, &error),
	            -1);
	TEST_EQ_INT(mime_content_type_parse(SB_SV_LIT(""), NULL, &t, &s,
	                                    &params, &flags, &error),
	            -1);
}

static void
test_rfc2231(void)
{
	struct mime_params params;

	/* Sections out of order, mixed encoded and plain. */
	parse_ct("a/b; t*2=\"c\"; t*0*=UTF-8'de'%C3%A4; t*1*=b%20;"
	         " t=plain",
	         "a", "b", 0, &params);
	TEST_EQ_UINT(params.count, 1);
	expect_param(&params, 0, "t",
	             "\xc3\xa4"
	             "b c",
	             "de", true);
	mime_params_free(&params);

	/* Charsets are converted to UTF-8. */
	parse_ct("a/b; x*=iso-8859-1''%E9t%E9; y*=koi8-r'ru'%F0%D2%C9; "
	         "z*=''%C3%A4",
	         "a", "b", 0, &params);
	expect_param(&params, 0, "x", "\xc3\xa9t\xc3\xa9", NULL, true);
	expect_param(&params, 1, "y", "\xd0\x9f\xd1\x80\xd0\xb8", "ru", true);
	/* No charset, but valid UTF-8: kept. */
	expect_param(&params, 2, "z", "\xc3\xa4", NULL, true);
	mime_params_free(&params);

	/* Unknown charset: raw bytes, flagged. A gap: flagged, skipped. */
	parse_ct("a/b; x*=no-such-charset''%41%FF", "a", "b",
	         MIME_FIELD_BAD_CHARSET, &params);
	expect_param(&params, 0, "x", "A\xef\xbf\xbd", NULL, true);
	mime_params_free(&params);
	parse_ct("a/b; x*=no-such-charset''%41%42", "a", "b",
	         MIME_FIELD_BAD_CHARSET, &params);
	expect_param(&params, 0, "x", "AB", NULL, true);
	mime_params_free(&params);
	parse_ct("a/b; x*0=a; x*2=c", "a", "b", MIME_FIELD_BAD_PARAMS, &params);
	expect_param(&params, 0, "x", "ac", NULL, true);
	mime_params_free(&params);

	/* Bad escapes stay as they are; no quotes: no charset. */
	parse_ct("a/b; x*=%4g%", "a", "b", MIME_FIELD_BAD_PARAMS, &params);
	expect_param(&params, 0, "x", "%4g%", NULL, true);
	mime_params_free(&params);

	/* Past the section limit (64): dropped from the value, flagged. */
	parse_ct("a/b; x*0=a; x*64=b; x*1=c", "a", "b", MIME_FIELD_BAD_PARAMS,
	         &params);
	TEST_EQ_UINT(params.count, 1);
	expect_param(&params, 0, "x", "ac", NULL, true);
	mime_params_free(&params);
}

/* Checks that every extended parameter's value is valid UTF-8. */
static void
expect_utf8_values(const struct mime_params *params)
{
	for (unsigned i = 0; i < params->count; i++) {
		if (params->v[i].extended)
			TEST_ASSERT(sb_utf8_valid(params->v[i].value,
			                          params->v[i].value_len));
	}
}

/* RFC 2231 values are UTF-8 whatever they held: bad bytes are U+FFFD. */
static void
test_rfc2231_utf8(void)
{
	struct mime_params params;

	/* No charset: the bytes are not UTF-8. */
	parse_ct("a/b; name*=''%FF%FE", "a", "b", MIME_FIELD_BAD_CHARSET,
	         &params);
	expect_param(&params, 0, "name", "\xef\xbf\xbd\xef\xbf\xbd", NULL,
	             true);
	expect_utf8_values(&params);
	mime_params_free(&params);

	/* No quotes at all: no charset either. */
	parse_ct("a/b; name*=abc%FF", "a", "b",
	         MIME_FIELD_BAD_PARAMS | MIME_FIELD_BAD_CHARSET, &params);
	expect_param(&params, 0, "name", "abc\xef\xbf\xbd", NULL, true);
	expect_utf8_values(&params);
	mime_params_free(&params);

	/* Plain sections of raw 8-bit bytes. */
	parse_ct("a/b; name*0=\"\xff\xfe\"; name*1=x", "a", "b",
	         MIME_FIELD_BAD_CHARSET, &params);
	expect_param(&params, 0, "name",
	             "\xef\xbf\xbd\xef\xbf\xbd"
	             "x",
	             NULL, true);
	expect_utf8_values(&params);
	mime_params_free(&params);

	/* Plain sections that are UTF-8 already: kept, not flagged. */
	parse_ct("a/b; name*0=\"\xc3\xa4\"; name*1=x", "a", "b", 0, &params);
	expect_param(&params, 0, "name",
	             "\xc3\xa4"
	             "x",
	             NULL, true);
	mime_params_free(&params);

	/* A plain parameter is not RFC 2231: its bytes are left alone. */
	parse_ct("a/b; name=\"\xff\"", "a", "b", 0, &params);
	expect_param(&params, 0, "name", "\xff", NULL, false);
	mime_params_free(&params);
}

/* "name*=" and "name*0*=" together: the sections win, flagged. */
static void
test_rfc2231_both_forms(void)
{
	struct mime_params params;

	parse_ct("a/b; n*=utf-8''one; n*0*=utf-8''tw; n*1=o", "a", "b",
	         MIME_FIELD_BAD_PARAMS, &params);
	TEST_EQ_UINT(params.count, 1);
	expect_param(&params, 0, "n", "two", NULL, true);
	mime_params_free(&params);
	/* A plain fallback next to the RFC 2231 form is normal. */
	parse_ct("a/b; n=one; n*0*=utf-8''tw; n*1=o", "a", "b", 0, &params);
	expect_param(&params, 0, "n", "two", NULL, true);
	mime_params_free(&params);
}

static void
test_param_limits(void)
{
	struct mime_limits limits = {.max_params = 2};
	struct mime_params params;
	char *t = NULL, *s = NULL;
	unsigned flags = 0;
	const char *error;

	TEST_EQ_INT(mime_content_type_parse(SB_SV_LIT("a/b; p=1; q=2; r=3"),
	                                    &limits, &t, &s, &params, &flags,
	                                    &error),
	            0);
	TEST_EQ_UINT(params.count, 2);
	TEST_EQ_UINT(flags, MIME_FIELD_BAD_PARAMS);
	TEST_ASSERT(mime_params_find(&params, "Q") != NULL);
	TEST_ASSERT(mime_params_find(&params, "r") == NULL);
	mime_params_free(&params);
	free(t);
	free(s);
}

static void
test_disposition(void)
{
	struct mime_params params;
	char *d = NULL;
	unsigned flags = 0;
	const char *error;

	TEST_EQ_INT(mime_disposition_parse(
	                    SB_SV_LIT("Attachment; filename=\"a b.txt\"; "
	                              "size=12"),
	                    NULL, &d, &params, &flags, &error),
	            0);
	TEST_EQ_STR(d, "attachment");
	expect_param(&params, 0, "filename", "a b.txt", NULL, false);
	expect_param(&params, 1, "size", "12", NULL, false);
	mime_params_free(&params);
	free(d);
	TEST_EQ_INT(mime_disposition_parse(SB_SV_LIT(" ; x=y"), NULL, &d,
	                                   &params, &flags, &error),
	            -1);
}

/* Fields of many parameters stay linear: a 200 KB value parses at once. */
static void
test_param_flood(void)
{
	static const char *const pieces[] = {"x=1 ", "q=\"v\" ", "n*9*=%41; ",
	                                     "(c) ", "; ",       "y=a b "};
	struct mime_params params;
	struct sb_buf b;
	unsigned flags = 0;
	char *t, *s;
	const char *error;

	for (size_t k = 0; k < SB_N_ELEMENTS(pieces); k++) {
		sb_buf_init(&b, 1 << 20);
		TEST_ASSERT(sb_buf_add_str(&b, "a/b; ") == 0);
		while (sb_buf_len(&b) < 200 * 1024)
			TEST_ASSERT(sb_buf_add_str(&b, pieces[k]) == 0);
		TEST_EQ_INT(mime_content_type_parse(
		                    sb_sv(sb_buf_str(&b), sb_buf_len(&b)), NULL,
		                    &t, &s, &params, &flags, &error),
		            0);
		TEST_ASSERT(params.count <= 64);
		mime_params_free(&params);
		free(t);
		free(s);
		sb_buf_free(&b);
	}
}

static const struct test_case cases[] = {
        {"parameter flood", test_param_flood},
        {"header iterator", test_header_iter},
        {"unfold", test_unfold},
        {"content type", test_content_type},
        {"rfc2231", test_rfc2231},
        {"rfc2231 values are UTF-8", test_rfc2231_utf8},
        {"rfc2231 both forms", test_rfc2231_both_forms},
        {"parameter limits", test_param_limits},
        {"disposition", test_disposition},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
