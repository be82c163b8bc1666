/*
 * The records of a cache value (crypto/cache.h): a known answer, round
 * trips, every truncation and every single-byte change of the plaintext,
 * and the sealed value moved, altered or under another key.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cache.h"
#include "test.h"

#define FIELD "X-Saltbridge-Signature: valid; signer=alice@example.org\r\n"

/* A set with a verdict, a BODYSTRUCTURE and a BODY, encoded into out. */
static void
sample(struct sb_buf *out, struct sb_buf *verdict)
{
	struct sb_cache_verdict v = {SB_VERDICT_VALID, true, FIELD,
	                             sizeof(FIELD) - 1};
	struct sb_cache_records rs;
	const char *error;

	sb_buf_init(verdict, 4096);
	TEST_EQ_INT(sb_cache_verdict_encode(&v, verdict), 0);
	sb_cache_records_init(&rs);
	/* Added out of order: the set keeps them by type. */
	TEST_EQ_INT(sb_cache_records_add(&rs, SB_CACHE_BODY, "(\"TEXT\")", 8,
	                                 &error),
	            1);
	TEST_EQ_INT(sb_cache_records_add(&rs, SB_CACHE_VERDICT, verdict->data,
	                                 verdict->len, &error),
	            1);
	TEST_EQ_INT(sb_cache_records_add(&rs, SB_CACHE_BODYSTRUCTURE,
	                                 "(\"TEXT\" x)", 10, &error),
	            1);
	sb_buf_init(out, 1 << 20);
	TEST_EQ_INT(sb_cache_records_encode(&rs, out), 0);
}

static void
test_known_answer(void)
{
	static const unsigned char want_head[] = {
	        'S', 'B', 'C', 'R', 1, /* magic, version */
	        1,   0,   0,   0,   2 + 57,
	        1,   1,   'X', /* verdict, valid, listed */
	};
	static const unsigned char want_tail[] = {
	        2,   0,   0,   0,   10, '(', '"', 'T', 'E', 'X', 'T', '"',
	        ' ', 'x', ')', 3,   0,  0,   0,   8,   '(', '"', 'T', 'E',
	        'X', 'T', '"', ')', 0,  0,   0,   0,   0, /* the end record */
	};
	struct sb_buf out, verdict;

	TEST_EQ_UINT(sizeof(FIELD) - 1, 57);
	sample(&out, &verdict);
	TEST_EQ_UINT(out.len, 5 + 5 + 2 + 57 + sizeof(want_tail));
	TEST_EQ_MEM(out.data, sizeof(want_head), want_head, sizeof(want_head));
	TEST_EQ_MEM(out.data + 12, 57, FIELD, 57);
	TEST_EQ_MEM(out.data + 12 + 57, sizeof(want_tail), want_tail,
	            sizeof(want_tail));
	sb_buf_free(&out);
	sb_buf_free(&verdict);
}

static void
test_round_trip(void)
{
	struct sb_cache_records rs;
	const struct sb_cache_record *r;
	struct sb_cache_verdict v;
	struct sb_buf out, again, verdict;
	const char *error;

	sample(&out, &verdict);
	TEST_EQ_INT(sb_cache_records_decode(out.data, out.len, &rs, &error), 0);
	TEST_EQ_UINT(rs.count, 3);
	r = sb_cache_records_find(&rs, SB_CACHE_VERDICT);
	TEST_ASSERT(r != NULL);
	TEST_EQ_INT(sb_cache_verdict_decode(r->value, r->len, &v, &error), 0);
	TEST_EQ_INT(v.status, SB_VERDICT_VALID);
	TEST_ASSERT(v.reader_listed);
	TEST_EQ_MEM(v.field, v.field_len, FIELD, sizeof(FIELD) - 1);
	r = sb_cache_records_find(&rs, SB_CACHE_BODY);
	TEST_EQ_MEM(r->value, r->len, "(\"TEXT\")", 8);
	/* A value once cached is kept: a second one of its type is not. */
	TEST_EQ_INT(sb_cache_records_add(&rs, SB_CACHE_BODY, "(x)", 3, &error),
	            0);
	r = sb_cache_records_find(&rs, SB_CACHE_BODY);
	TEST_EQ_MEM(r->value, r->len, "(\"TEXT\")", 8);
	/* Encoding is canonical: what decoded encodes to the same bytes. */
	sb_buf_init(&again, 1 << 20);
	TEST_EQ_INT(sb_cache_records_encode(&rs, &again), 0);
	TEST_EQ_MEM(again.data, again.len, out.data, out.len);
	/* The empty set. */
	sb_cache_records_init(&rs);
	sb_buf_reset(&again);
	TEST_EQ_INT(sb_cache_records_encode(&rs, &again), 0);
	TEST_EQ_MEM(again.data, again.len, "SBCR\x01\0\0\0\0\0", 10);
	TEST_EQ_INT(sb_cache_records_decode(again.data, again.len, &rs, &error),
	            0);
	TEST_EQ_UINT(rs.count, 0);
	sb_buf_free(&again);
	sb_buf_free(&out);
	sb_buf_free(&verdict);
}

/* Every strict prefix is refused: the end record marks the whole. */
static void
test_truncated(void)
{
	struct sb_cache_records rs;
	struct sb_buf out, verdict;
	const char *error;
	size_t n;

	sample(&out, &verdict);
	for (n = 0; n < out.len; n++) {
		/* A copy of exactly n bytes, so ASan sees a read past it. */
		unsigned char *p = malloc(n > 0 ? n : 1);

		memcpy(p, out.data, n);
		if (sb_cache_records_decode(p, n, &rs, &error) == 0)
			test_fail(__FILE__, __LINE__, "prefix %zu decoded", n);
		free(p);
	}
	sb_buf_free(&out);
	sb_buf_free(&verdict);
}

/*
 * Every byte changed to every value: refused, or a set that encodes back
 * to exactly the changed bytes (the change made another valid set).
 */
static void
test_garbled(void)
{
	struct sb_cache_records rs;
	struct sb_buf out, verdict, again;
	const char *error;
	size_t i;
	unsigned b;

	sample(&out, &verdict);
	sb_buf_init(&again, 1 << 20);
	for (i = 0; i < out.len; i++) {
		unsigned char *p = malloc(out.len);

		memcpy(p, out.data, out.len);
		for (b = 0; b < 256; b++) {
			if (b == (unsigned char)out.data[i])
				continue;
			p[i] = (unsigned char)b;
			if (sb_cache_records_decode(p, out.len, &rs, &error) !=
			    0)
				continue;
			sb_buf_reset(&again);
			TEST_EQ_INT(sb_cache_records_encode(&rs, &again), 0);
			TEST_EQ_MEM(again.data, again.len, p, out.len);
		}
		free(p);
	}
	sb_buf_free(&again);
	sb_buf_free(&out);
	sb_buf_free(&verdict);
}

static void
test_refusals(void)
{
	static const struct {
		const char *in;
		size_t len;
	} bad[] = {
#define B(s) {s, sizeof(s) - 1}
	        B(""),
	        B("SBCR"),
	        B("SBCR\x02\0\0\0\0\0"),             /* version 2 */
	        B("SBCE\x01\0\0\0\0\0"),             /* another magic */
	        B("SBCR\x01\0\0\0\0\0x"),            /* bytes after the end */
	        B("SBCR\x01\0\0\0\0\1"),             /* an end with a length */
	        B("SBCR\x01\x80\0\0\0\0\0\0\0\0\0"), /* unknown, required */
	        B("SBCR\x01\2\0\0\0\0\0\0\0\0\0"),   /* empty BODYSTRUCTURE */
	        B("SBCR\x01\3\0\0\0\1x\2\0\0\0\1x\0\0\0\0\0"), /* order */
	        B("SBCR\x01\3\0\0\0\1x\3\0\0\0\1x\0\0\0\0\0"), /* repeated */
	        B("SBCR\x01\3\0\0\0\7x\0\0\0\0\0"), /* past the end */
	        B("SBCR\x01\3\xff\xff\xff\xffx\0\0\0\0\0"),
	        B("SBCR\x01\1\0\0\0\5\1\0:\r\n\0\0\0\0\0"),    /* no name */
	        B("SBCR\x01\1\0\0\0\7\5\0X: \r\n\0\0\0\0\0"),  /* verdict 5 */
	        B("SBCR\x01\1\0\0\0\7\1\2X: \r\n\0\0\0\0\0"),  /* flag 2 */
	        B("SBCR\x01\1\0\0\0\7\1\0X:\n\r\n\0\0\0\0\0"), /* LF */
	        B("SBCR\x01\1\0\0\0\7\1\0 X:\r\n\0\0\0\0\0"),  /* name */
	        B("SBCR\x01\1\0\0\0\7\1\0XY \r\n\0\0\0\0\0"),  /* no colon */
	        B("SBCR\x01\1\0\0\0\7\1\0X: \r\r\0\0\0\0\0"),  /* no CRLF */
#undef B
	};
	struct sb_cache_records rs;
	const char *error;
	size_t i;

	TEST_EQ_INT(sb_cache_records_decode("SBCR\x01\1\0\0\0\7\1\0X: \r\n"
	                                    "\x7f\0\0\0\0\0\0\0\0\0",
	                                    27, &rs, &error),
	            0);
	/* An unknown type below 0x80 is kept. */
	TEST_EQ_UINT(rs.count, 2);
	TEST_EQ_UINT(rs.r[1].type, 0x7f);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		if (sb_cache_records_decode(bad[i].in, bad[i].len, &rs,
		                            &error) == 0)
			test_fail(__FILE__, __LINE__, "bad input %zu decoded",
			          i);
	}
	sb_cache_records_init(&rs);
	TEST_EQ_INT(sb_cache_records_add(&rs, 0, "x", 1, &error), -1);
	TEST_EQ_INT(sb_cache_records_add(&rs, 0x80, "x", 1, &error), -1);
	TEST_EQ_INT(
	        sb_cache_records_add(&rs, SB_CACHE_VERDICT, "\1\0X", 3, &error),
	        -1);
	TEST_EQ_INT(sb_cache_records_add(&rs, SB_CACHE_BODYSTRUCTURE, "", 0,
	                                 &error),
	            -1);
	TEST_EQ_UINT(rs.count, 0);
}

static void
test_verdict_field(void)
{
	char big[SB_CACHE_MAX_FIELD + 1];
	struct sb_cache_verdict v = {SB_VERDICT_INVALID, false, FIELD,
	                             sizeof(FIELD) - 1};
	struct sb_buf b;

	TEST_ASSERT(sb_cache_field_valid(FIELD, sizeof(FIELD) - 1));
	TEST_ASSERT(sb_cache_field_valid("X:\xc3\xa9\r\n", 6));
	TEST_ASSERT(!sb_cache_field_valid("X:\0\r\n", 5));
	memset(big, 'a', sizeof(big));
	big[1] = ':';
	memcpy(big + SB_CACHE_MAX_FIELD - 2, "\r\n", 2);
	TEST_ASSERT(sb_cache_field_valid(big, SB_CACHE_MAX_FIELD));
	memcpy(big + SB_CACHE_MAX_FIELD - 1, "\r\n", 2);
	TEST_ASSERT(!sb_cache_field_valid(big, SB_CACHE_MAX_FIELD + 1));
	sb_buf_init(&b, 4096);
	TEST_EQ_INT(sb_cache_verdict_encode(&v, &b), 0);
	TEST_EQ_MEM(b.data, 2, "\2\0", 2);
	v.field = "no field";
	v.field_len = 8;
	TEST_EQ_INT(sb_cache_verdict_encode(&v, &b), -1);
	sb_buf_free(&b);
}

/* Sealed: another row's context, another key, any byte changed. */
static void
test_sealed(void)
{
	unsigned char key[SB_KEY_BYTES], other[SB_KEY_BYTES];
	struct sb_buf plain, verdict, sealed, opened;
	const char *error;
	size_t i;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	sample(&plain, &verdict);
	sb_buf_init(&sealed, 1 << 20);
	sb_buf_init(&opened, 1 << 20);
	TEST_EQ_INT(
	        sb_cache_seal(key, "cache:12", plain.data, plain.len, &sealed),
	        0);
	TEST_EQ_INT(sb_cache_open(key, "cache:12", sealed.data, sealed.len,
	                          &opened, &error),
	            0);
	TEST_EQ_MEM(opened.data, opened.len, plain.data, plain.len);
	sb_buf_reset(&opened);
	TEST_EQ_INT(sb_cache_open(key, "cache:13", sealed.data, sealed.len,
	                          &opened, &error),
	            -1);
	TEST_EQ_INT(sb_cache_open(other, "cache:12", sealed.data, sealed.len,
	                          &opened, &error),
	            -1);
	for (i = 0; i < sealed.len; i++) {
		sealed.data[i] ^= 0x20;
		TEST_EQ_INT(sb_cache_open(key, "cache:12", sealed.data,
		                          sealed.len, &opened, &error),
		            -1);
		sealed.data[i] ^= 0x20;
	}
	TEST_EQ_UINT(opened.len, 0);
	sb_buf_free(&opened);
	sb_buf_free(&sealed);
	sb_buf_free(&plain);
	sb_buf_free(&verdict);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"known answer", test_known_answer},
	        {"round trip", test_round_trip},
	        {"truncated", test_truncated},
	        {"garbled", test_garbled},
	        {"refusals", test_refusals},
	        {"verdict field", test_verdict_field},
	        {"sealed", test_sealed},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
