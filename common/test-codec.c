#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "common/codec.h"
#include "test.h"

enum codec_kind { KIND_BASE64, KIND_QP };

/* Decodes in feeds of `step` bytes (0: all at once) into out. */
static int
decode_steps(enum codec_kind kind, const char *in, size_t len, size_t step,
             struct sb_buf *out, unsigned int *flags_r)
{
	struct sb_base64_decoder b;
	struct sb_qp_decoder q;
	size_t i, n;
	int ret;

	if (step == 0)
		step = len == 0 ? 1 : len;
	sb_base64_decoder_init(&b, out);
	sb_qp_decoder_init(&q, out);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		ret = kind == KIND_BASE64
		              ? sb_base64_decoder_feed(&b, in + i, n)
		              : sb_qp_decoder_feed(&q, in + i, n);
		if (ret < 0)
			return -1;
	}
	ret = kind == KIND_BASE64 ? sb_base64_decoder_finish(&b)
	                          : sb_qp_decoder_finish(&q);
	*flags_r = kind == KIND_BASE64 ? b.flags : q.flags;
	return ret;
}

/*
 * Checks one known answer: whole, byte at a time and in odd chunks, all
 * must give exactly the expected bytes and flags.
 */
static void
expect_decode(enum codec_kind kind, const char *in, const char *expected,
              size_t expected_len, unsigned int expected_flags)
{
	static const size_t steps[] = {0, 1, 2, 3, 5, 7, 64};
	struct sb_buf out;
	unsigned int flags;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(steps); i++) {
		sb_buf_init(&out, 1 << 20);
		TEST_EQ_INT(decode_steps(kind, in, strlen(in), steps[i], &out,
		                         &flags),
		            0);
		TEST_EQ_MEM(sb_buf_str(&out), out.len, expected, expected_len);
		TEST_EQ_UINT(flags, expected_flags);
		sb_buf_free(&out);
	}
}

#define B64(in, out, flags) \
	expect_decode(KIND_BASE64, in, out, sizeof(out) - 1, flags)
#define QP(in, out, flags) \
	expect_decode(KIND_QP, in, out, sizeof(out) - 1, flags)

static void
test_base64_vectors(void)
{
	/* RFC 4648 section 10. */
	B64("", "", 0);
	B64("Zg==", "f", 0);
	B64("Zm8=", "fo", 0);
	B64("Zm9v", "foo", 0);
	B64("Zm9vYg==", "foob", 0);
	B64("Zm9vYmE=", "fooba", 0);
	B64("Zm9vYmFy", "foobar", 0);
	B64("AP8A/w==", "\x00\xff\x00\xff", 0);
	B64("+/+/", "\xfb\xff\xbf", 0);
}

static void
test_base64_lenient(void)
{
	B64("Zm9v\r\nYmFy\r\n", "foobar", 0);
	B64(" Z m 9\tv Y\nm\r\nF y ", "foobar", 0);
	/* Missing padding is decoded, and flagged. */
	B64("Zm9vYg", "foob", SB_CODEC_MISSING_PADDING);
	B64("Zm9vYmE", "fooba", SB_CODEC_MISSING_PADDING);
	B64("Zm9vYg=", "foob", SB_CODEC_MISSING_PADDING);
	/* A lone sextet cannot make a byte. */
	B64("Zm9vY", "foo", SB_CODEC_TRUNCATED);
	B64("Zm9vY=", "foo", SB_CODEC_TRUNCATED);
	/* Invalid characters are skipped and flagged. */
	B64("Zm9v!YmFy", "foobar", SB_CODEC_INVALID_CHAR);
	B64("Zm\x80\xff"
	    "9v-_",
	    "foo", SB_CODEC_INVALID_CHAR);
	/* Padding ends the data. */
	B64("Zg==Zm9v", "f", SB_CODEC_DATA_AFTER_END);
	B64("Zg==\r\n  \r\n", "f", 0);
	B64("Zm8=Zg", "fo", SB_CODEC_DATA_AFTER_END);
	B64("Zg=Zg", "f", SB_CODEC_DATA_AFTER_END);
	B64("=Zm9v", "", SB_CODEC_INVALID_CHAR | SB_CODEC_DATA_AFTER_END);
	B64("Zm9v=", "foo", SB_CODEC_INVALID_CHAR);
}

static void
test_base64_feed_returns_end(void)
{
	struct sb_base64_decoder d;
	struct sb_buf out;

	sb_buf_init(&out, 100);
	sb_base64_decoder_init(&d, &out);
	TEST_EQ_INT(sb_base64_decoder_feed(&d, "Zm9v", 4), 0);
	TEST_EQ_INT(sb_base64_decoder_feed(&d, "Zg=", 3), 0);
	TEST_EQ_INT(sb_base64_decoder_feed(&d, "=", 1), 1);
	TEST_EQ_INT(sb_base64_decoder_feed(&d, "\r\n", 2), 1);
	TEST_EQ_INT(sb_base64_decoder_finish(&d), 0);
	TEST_EQ_STR(sb_buf_str(&out), "foof");
	TEST_EQ_UINT(d.flags, 0);
	sb_buf_free(&out);
}

static int
count_sink(void *context, const void *data, size_t len)
{
	struct sb_buf *b = context;

	return sb_buf_add(b, data, len);
}

static int
failing_sink(void *context, const void *data, size_t len)
{
	(void)context;
	(void)data;
	(void)len;
	return -1;
}

/* A large input through a callback: chunks come out, all of them. */
static void
test_base64_large_callback(void)
{
	struct sb_base64_encoder e;
	struct sb_base64_decoder d;
	struct sb_buf enc, dec;
	unsigned char data[5000];
	size_t i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 13);
	sb_buf_init(&enc, 1 << 20);
	sb_base64_encoder_init(&e, 76, &enc);
	for (i = 0; i < sizeof(data); i += 333) {
		TEST_EQ_INT(sb_base64_encoder_feed(&e, data + i,
		                                   sizeof(data) - i < 333
		                                           ? sizeof(data) - i
		                                           : 333),
		            0);
	}
	TEST_EQ_INT(sb_base64_encoder_finish(&e), 0);
	/* 6668 characters in lines of 76, each ended by CRLF. */
	TEST_EQ_UINT(enc.len, 6668 + 88 * 2);
	TEST_ASSERT(memcmp(enc.data + 76, "\r\n", 2) == 0);
	TEST_ASSERT(memcmp(enc.data + enc.len - 2, "\r\n", 2) == 0);

	sb_buf_init(&dec, 1 << 20);
	sb_base64_decoder_init_fn(&d, count_sink, &dec);
	for (i = 0; i < enc.len; i++)
		TEST_ASSERT(sb_base64_decoder_feed(&d, enc.data + i, 1) >= 0);
	TEST_EQ_INT(sb_base64_decoder_finish(&d), 0);
	TEST_EQ_UINT(d.flags, 0);
	TEST_EQ_MEM(dec.data, dec.len, data, sizeof(data));

	sb_base64_decoder_init_fn(&d, failing_sink, NULL);
	TEST_EQ_INT(sb_base64_decoder_feed(&d, enc.data, enc.len), -1);
	sb_buf_free(&enc);
	sb_buf_free(&dec);
}

static void
test_base64_respects_maximum(void)
{
	struct sb_buf out;
	unsigned int flags;

	sb_buf_init(&out, 5);
	TEST_EQ_INT(sb_base64_decode("Zm9vYmFy", 8, &out, &flags), -1);
	TEST_ASSERT(out.data == NULL);
	TEST_EQ_INT(sb_base64_decode("Zm9vYmE=", 8, &out, &flags), 0);
	TEST_EQ_STR(sb_buf_str(&out), "fooba");
	sb_buf_free(&out);
}

static void
expect_b64_encode(const char *in, size_t len, size_t line_len,
                  const char *expected)
{
	struct sb_base64_encoder e;
	struct sb_buf out, one;
	size_t i;

	sb_buf_init(&out, 1000);
	sb_buf_init(&one, 1000);
	if (line_len == 0) {
		TEST_EQ_INT(sb_base64_encode(in, len, &out), 0);
		TEST_EQ_UINT(sb_base64_encoded_len(len), out.len);
	} else {
		sb_base64_encoder_init(&e, line_len, &out);
		TEST_EQ_INT(sb_base64_encoder_feed(&e, in, len), 0);
		TEST_EQ_INT(sb_base64_encoder_finish(&e), 0);
	}
	TEST_EQ_STR(sb_buf_str(&out), expected);
	/* Byte at a time gives the same. */
	sb_base64_encoder_init(&e, line_len, &one);
	for (i = 0; i < len; i++)
		TEST_EQ_INT(sb_base64_encoder_feed(&e, in + i, 1), 0);
	TEST_EQ_INT(sb_base64_encoder_finish(&e), 0);
	TEST_EQ_STR(sb_buf_str(&one), expected);
	sb_buf_free(&out);
	sb_buf_free(&one);
}

static void
test_base64_encode(void)
{
	expect_b64_encode("", 0, 0, "");
	expect_b64_encode("f", 1, 0, "Zg==");
	expect_b64_encode("fo", 2, 0, "Zm8=");
	expect_b64_encode("foo", 3, 0, "Zm9v");
	expect_b64_encode("foobar", 6, 0, "Zm9vYmFy");
	expect_b64_encode("\0user\0pass", 10, 0, "AHVzZXIAcGFzcw==");
	expect_b64_encode("\xfb\xff\xbf", 3, 0, "+/+/");
	/* Lines of 8 (line_len 10 rounds down to 8). */
	expect_b64_encode("foobarfoobarf", 13, 10,
	                  "Zm9vYmFy\r\nZm9vYmFy\r\nZg==\r\n");
	expect_b64_encode("foobar", 6, 8, "Zm9vYmFy\r\n");
	expect_b64_encode("", 0, 76, "");
}

static void
test_qp_vectors(void)
{
	QP("", "", 0);
	QP("plain text", "plain text", 0);
	QP("caf=C3=A9", "caf\xc3\xa9", 0);
	QP("caf=c3=a9", "caf\xc3\xa9", 0);
	QP("a=3Db", "a=b", 0);
	/* Soft line breaks, with CRLF, LF, and padding after the '='. */
	QP("long li=\r\nne", "long line", 0);
	QP("long li=\nne", "long line", 0);
	QP("long li= \t \r\nne", "long line", 0);
	QP("long li=  \nne", "long line", 0);
	/* Hard line breaks are kept as written. */
	QP("one\r\ntwo\nthree", "one\r\ntwo\nthree", 0);
	/* Whitespace before a line break goes, elsewhere it stays. */
	QP("end   \r\nnext \t\nlast  ", "end\r\nnext\nlast", 0);
	QP("a  b\t c", "a  b\t c", 0);
	QP("a=20\r\n", "a \r\n", 0);
	/* A bare CR is text. */
	QP("a \rb", "a \rb", 0);
	QP("a\r", "a\r", 0);
	/* A final '=' is a soft break before the end. */
	QP("no newline=", "no newline", 0);
	QP("no newline= ", "no newline", 0);
	QP("8bit \xe9 passes", "8bit \xe9 passes", 0);
}

static void
test_qp_broken(void)
{
	QP("a=XYb", "a=XYb", SB_CODEC_INVALID_CHAR);
	QP("a=4Xb", "a=4Xb", SB_CODEC_INVALID_CHAR);
	QP("100%=", "100%", 0);
	QP("a=4", "a=4", SB_CODEC_INVALID_CHAR);
	QP("a= b", "a= b", SB_CODEC_INVALID_CHAR);
	QP("a==41", "a=A", SB_CODEC_INVALID_CHAR);
	QP("a=\rb", "ab", SB_CODEC_BAD_LINE_BREAK);
	QP("a=\r", "a", SB_CODEC_BAD_LINE_BREAK);
	QP("=\r\n=\r\n=41", "A", 0);
}

/* A whitespace run longer than what is held back is not lost. */
static void
test_qp_long_space(void)
{
	char in[400], expected[400];

	memset(in, ' ', 300);
	memcpy(in + 300, "x\n", 3);
	memset(expected, ' ', 300);
	memcpy(expected + 300, "x\n", 3);
	expect_decode(KIND_QP, in, expected, 302, 0);
	/* Trailing: only what was held back can be dropped. */
	memset(in, ' ', 300);
	memcpy(in + 300, "\n", 2);
	memset(expected, ' ', 2 * SB_QP_MAX_SPACE);
	expected[2 * SB_QP_MAX_SPACE] = '\n';
	expect_decode(KIND_QP, in, expected, 2 * SB_QP_MAX_SPACE + 1, 0);
}

static void
expect_qp_encode(const char *in, size_t len, unsigned int flags,
                 const char *expected)
{
	struct sb_buf out, back;
	const char *line, *nl;
	unsigned int dflags;

	sb_buf_init(&out, 10000);
	sb_buf_init(&back, 10000);
	TEST_EQ_INT(sb_qp_encode(in, len, flags, &out), 0);
	if (expected != NULL)
		TEST_EQ_STR(sb_buf_str(&out), expected);
	for (line = sb_buf_str(&out); (nl = strchr(line, '\n')) != NULL;
	     line = nl + 1)
		TEST_ASSERT(nl - line <= 77);
	TEST_ASSERT(strlen(line) <= 76);
	/* It decodes back (line breaks as CRLF). */
	TEST_EQ_INT(sb_qp_decode(out.data, out.len, &back, &dflags), 0);
	TEST_EQ_UINT(dflags, 0);
	if ((flags & SB_QP_ENCODE_BINARY) != 0)
		TEST_EQ_MEM(sb_buf_str(&back), back.len, in, len);
	sb_buf_free(&out);
	sb_buf_free(&back);
}

static void
test_qp_encode(void)
{
	char in[200];
	size_t i;

	expect_qp_encode("", 0, 0, "");
	expect_qp_encode("plain", 5, 0, "plain");
	expect_qp_encode("caf\xc3\xa9 = ok", 10, 0, "caf=C3=A9 =3D ok");
	expect_qp_encode("end \nnext\t\r\nx ", 14, 0,
	                 "end=20\r\nnext=09\r\nx=20");
	expect_qp_encode(".\nFrom me\nFrom", 14, 0, "=2E\r\n=46rom me\r\nFrom");
	expect_qp_encode("a\r\nb", 4, SB_QP_ENCODE_BINARY, "a=0D=0Ab");
	expect_qp_encode("\x00\xff", 2, SB_QP_ENCODE_BINARY, "=00=FF");
	/* 80 'a's: 75 on the first line, then a soft break. */
	memset(in, 'a', 80);
	expect_qp_encode(
	        in, 80, 0,
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaa=\r\naaaaa");
	/* An escape is never split by a soft break. */
	memset(in, 'a', 74);
	in[74] = '=';
	expect_qp_encode(
	        in, 75, 0,
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaa=\r\n=3D");
	/* A '.' pushed to a new line by a soft break is escaped there. */
	memset(in, 'a', 75);
	in[75] = '.';
	expect_qp_encode(
	        in, 76, 0,
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaa=\r\n=2E");
	for (i = 0; i < 200; i++)
		in[i] = (char)(i * 37);
	/* Any bytes survive the round trip in binary mode. */
	expect_qp_encode(in, 200, SB_QP_ENCODE_BINARY, NULL);
}

/* The encoded length saturates instead of wrapping around. */
static void
test_base64_encoded_len_saturates(void)
{
	TEST_EQ_UINT(sb_base64_encoded_len(0), 0);
	TEST_EQ_UINT(sb_base64_encoded_len(1), 4);
	TEST_EQ_UINT(sb_base64_encoded_len(3), 4);
	TEST_EQ_UINT(sb_base64_encoded_len(4), 8);
	TEST_EQ_UINT(sb_base64_encoded_len(SIZE_MAX / 4 * 3), SIZE_MAX / 4 * 4);
	TEST_EQ_UINT(sb_base64_encoded_len(SIZE_MAX / 4 * 3 + 1), SIZE_MAX);
	TEST_EQ_UINT(sb_base64_encoded_len(SIZE_MAX / 4 * 3 + 3), SIZE_MAX);
	TEST_EQ_UINT(sb_base64_encoded_len(SIZE_MAX - 1), SIZE_MAX);
	TEST_EQ_UINT(sb_base64_encoded_len(SIZE_MAX), SIZE_MAX);
}

/* Each digit and its value, with either digit 63; and what is not one. */
static void
test_base64_digits(void)
{
	static const char mime[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                           "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int v;

	for (v = 0; v < 64; v++) {
		char imap = v == 63 ? ',' : mime[v];

		TEST_EQ_INT(sb_base64_digit(v, '/'), mime[v]);
		TEST_EQ_INT(sb_base64_digit(v, ','), imap);
		TEST_EQ_INT(sb_base64_digit(v + 64, '/'), mime[v]);
		TEST_EQ_INT(sb_base64_digit_value((unsigned char)mime[v], '/'),
		            v);
		TEST_EQ_INT(sb_base64_digit_value((unsigned char)imap, ','), v);
	}
	TEST_EQ_INT(sb_base64_digit_value('/', ','), -1);
	TEST_EQ_INT(sb_base64_digit_value(',', '/'), -1);
	TEST_EQ_INT(sb_base64_digit_value('=', '/'), -1);
	TEST_EQ_INT(sb_base64_digit_value('-', ','), -1);
	TEST_EQ_INT(sb_base64_digit_value(0xc3, '/'), -1);
	TEST_EQ_INT(sb_base64_digit_value('\0', '/'), -1);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"base64 vectors", test_base64_vectors},
	        {"base64 lenient", test_base64_lenient},
	        {"base64 feed reports the end", test_base64_feed_returns_end},
	        {"base64 large, callback", test_base64_large_callback},
	        {"base64 respects maximum", test_base64_respects_maximum},
	        {"base64 encode", test_base64_encode},
	        {"base64 digits, either digit 63", test_base64_digits},
	        {"qp vectors", test_qp_vectors},
	        {"qp broken", test_qp_broken},
	        {"qp long whitespace", test_qp_long_space},
	        {"qp encode", test_qp_encode},
	        {"base64 encoded length saturates",
	         test_base64_encoded_len_saturates},
	        {NULL, NULL},
	};
	return test_run(cases);
}
