#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "test.h"

struct fixture {
	unsigned char key[SB_KEY_BYTES];
	unsigned char pk[SB_KEY_BYTES], sk[SB_SIGN_SECRET_BYTES];
	unsigned char hash[SB_HASH_BYTES];
};

static void
fixture_init(struct fixture *f)
{
	sb_message_key_new(f->key);
	crypto_sign_keypair(f->pk, f->sk);
	crypto_generichash(f->hash, SB_HASH_BYTES,
	                   (const unsigned char *)"body", 4, NULL, 0);
}

static struct sb_summary *
signed_summary(const struct fixture *f)
{
	static const char *const rcpts[] = {
	        "Bob@Example.org", "carol@example.org", "bob@example.org"};
	struct sb_summary *s = sb_summary_new();

	s->size = 4;
	memcpy(s->body_hash, f->hash, SB_HASH_BYTES);
	TEST_EQ_INT(sb_summary_set_sender(s, "Alice@Example.org"), 0);
	TEST_EQ_INT(sb_summary_set_recipients(s, rcpts, 3), 0);
	TEST_EQ_INT(sb_summary_set_headers(s, "Subject: hi\r\n\r\n", 15), 0);
	TEST_EQ_INT(sb_summary_sign(s, f->sk), 0);
	return s;
}

static struct sb_summary *
reseal_and_open(const struct sb_summary *s, const unsigned char *key)
{
	struct sb_summary *o = NULL;
	const char *error;
	struct sb_buf b;

	sb_buf_init(&b, 1 << 20);
	TEST_EQ_INT(sb_summary_seal(s, key, &b), 0);
	TEST_ASSERT(memmem(b.data, b.len, "Subject", 7) == NULL);
	TEST_EQ_INT(sb_summary_open(key, b.data, b.len, &o, &error), 0);
	sb_buf_free(&b);
	return o;
}

static void
test_summary_round_trip_and_normalisation(void)
{
	struct fixture f;
	struct sb_summary *s, *o;

	fixture_init(&f);
	s = signed_summary(&f);
	TEST_EQ_STR(s->sender, "alice@example.org");
	TEST_EQ_UINT(s->n_recipients, 2);
	TEST_EQ_STR(s->recipients[0], "bob@example.org");
	TEST_EQ_STR(s->recipients[1], "carol@example.org");
	o = reseal_and_open(s, f.key);
	TEST_EQ_UINT(o->size, 4);
	TEST_EQ_MEM(o->body_hash, 32, f.hash, 32);
	TEST_EQ_STR(o->sender, s->sender);
	TEST_EQ_UINT(o->n_recipients, 2);
	TEST_EQ_STR(o->recipients[1], "carol@example.org");
	TEST_EQ_MEM(o->headers, o->headers_len, "Subject: hi\r\n\r\n", 15);
	TEST_ASSERT(o->is_signed);
	TEST_EQ_MEM(o->signer_pk, 32, f.pk, 32);
	TEST_EQ_MEM(o->signature, 64, s->signature, 64);
	TEST_ASSERT(o->structure == NULL);
	sb_summary_free(&s);
	sb_summary_free(&o);
	TEST_ASSERT(o == NULL);
}

static void
expect_verdict(const struct sb_summary *s, const unsigned char *hash,
               const unsigned char *pk, const char *reader,
               enum sb_verdict_status status, bool listed)
{
	struct sb_verdict v;

	sb_summary_verify(s, hash, pk, reader, &v);
	TEST_EQ_INT(v.status, status);
	TEST_EQ_INT(v.reader_listed, listed);
	TEST_ASSERT(v.reason != NULL && v.reason[0] != '\0');
}

static void
test_summary_verdicts(void)
{
	unsigned char other_pk[32], other_sk[64], bad_hash[32];
	struct fixture f;
	struct sb_summary *s, *o;

	fixture_init(&f);
	crypto_sign_keypair(other_pk, other_sk);
	s = signed_summary(&f);
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "BOB@example.org", SB_VERDICT_VALID,
	               true);
	/* A Bcc'd or forwarded reader: valid, but not listed. */
	expect_verdict(o, f.hash, f.pk, "dave@example.org", SB_VERDICT_VALID,
	               false);
	expect_verdict(o, f.hash, NULL, "bob@example.org",
	               SB_VERDICT_KEY_UNKNOWN, true);
	expect_verdict(o, f.hash, other_pk, "bob@example.org",
	               SB_VERDICT_INVALID, true);
	memcpy(bad_hash, f.hash, 32);
	bad_hash[31] ^= 1;
	expect_verdict(o, bad_hash, f.pk, "bob@example.org", SB_VERDICT_INVALID,
	               true);
	sb_summary_free(&o);

	/* Re-addressed after signing: the signature no longer holds. */
	{
		static const char *const rcpts[] = {"mallory@example.org"};

		TEST_EQ_INT(sb_summary_set_recipients(s, rcpts, 1), 0);
		o = reseal_and_open(s, f.key);
		expect_verdict(o, f.hash, f.pk, "mallory@example.org",
		               SB_VERDICT_INVALID, true);
		sb_summary_free(&o);
		TEST_EQ_INT(sb_summary_set_sender(s, "eve@example.org"), 0);
		o = reseal_and_open(s, f.key);
		expect_verdict(o, f.hash, f.pk, "mallory@example.org",
		               SB_VERDICT_INVALID, true);
		sb_summary_free(&o);
	}
	/* The signer key field swapped to the key the reader trusts. */
	TEST_EQ_INT(sb_summary_set_sender(s, "alice@example.org"), 0);
	{
		static const char *const rcpts[] = {"bob@example.org"};

		TEST_EQ_INT(sb_summary_set_recipients(s, rcpts, 1), 0);
	}
	TEST_EQ_INT(sb_summary_sign(s, f.sk), 0);
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_VALID,
	               true);
	memcpy(o->signer_pk, other_pk, 32);
	expect_verdict(o, f.hash, other_pk, "bob@example.org",
	               SB_VERDICT_INVALID, true);
	sb_summary_free(&o);
	/* Headers or structure changed after signing. */
	{
		static const char forged[] = "Subject: pay mallory\r\n\r\n";

		TEST_EQ_INT(
		        sb_summary_set_headers(s, forged, sizeof(forged) - 1),
		        0);
	}
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_INVALID,
	               true);
	sb_summary_free(&o);
	TEST_EQ_INT(sb_summary_set_headers(s, "Subject: hi\r\n\r\n", 15), 0);
	TEST_EQ_INT(sb_summary_set_structure(s, "(forged)", 8), 0);
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_INVALID,
	               true);
	sb_summary_free(&o);
	/* Size changed with the signature kept. */
	TEST_EQ_INT(sb_summary_set_structure(s, "", 0), 0);
	TEST_EQ_INT(sb_summary_sign(s, f.sk), 0);
	s->size = 5;
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_INVALID,
	               true);
	sb_summary_free(&o);
	s->size = 4;

	/* A signature by someone else, claimed as the sender's. */
	TEST_EQ_INT(sb_summary_sign(s, other_sk), 0);
	o = reseal_and_open(s, f.key);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_INVALID,
	               true);
	sb_summary_free(&o);
	sb_summary_free(&s);

	/* Unsigned: external mail encrypted on arrival. */
	s = sb_summary_new();
	s->size = 4;
	memcpy(s->body_hash, f.hash, 32);
	o = reseal_and_open(s, f.key);
	TEST_ASSERT(!o->is_signed);
	TEST_ASSERT(o->sender == NULL);
	expect_verdict(o, f.hash, f.pk, "bob@example.org", SB_VERDICT_UNSIGNED,
	               false);
	sb_summary_free(&o);
	sb_summary_free(&s);
}

static void
test_summary_tampering(void)
{
	unsigned char other[32];
	struct fixture f;
	struct sb_summary *s, *o = NULL;
	const char *error;
	struct sb_buf b;
	size_t i;

	fixture_init(&f);
	sb_message_key_new(other);
	s = signed_summary(&f);
	sb_buf_init(&b, 1 << 20);
	TEST_EQ_INT(sb_summary_seal(s, f.key, &b), 0);
	for (i = 0; i < b.len; i++) {
		b.data[i] ^= 0x10;
		TEST_EQ_INT(sb_summary_open(f.key, b.data, b.len, &o, &error),
		            -1);
		b.data[i] ^= 0x10;
	}
	for (i = 0; i < b.len; i++)
		TEST_EQ_INT(sb_summary_open(f.key, b.data, i, &o, &error), -1);
	TEST_EQ_INT(sb_summary_open(other, b.data, b.len, &o, &error), -1);
	TEST_ASSERT(o == NULL);
	sb_buf_free(&b);
	sb_summary_free(&s);
}

/* Seals hand-made records, as a hostile or newer sender could. */
static int
open_records(const unsigned char *key, const void *plain, size_t len,
             struct sb_summary **s_r, const char **error_r)
{
	unsigned char *in = malloc(29 + len + 16);
	int ret;

	memcpy(in, "SBMS\x01", 5);
	randombytes_buf(in + 5, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(in + 29, NULL, plain, len,
	                                           in, 5, NULL, in + 5, key);
	ret = sb_summary_open(key, in, 29 + len + 16, s_r, error_r);
	free(in);
	return ret;
}

#define REC_SIZE "\x01\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x04"
#define REC_HASH               \
	"\x02\x00\x00\x00\x20" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

static void
expect_records(const unsigned char *key, const char *plain, size_t len, int ret,
               const char *error_part)
{
	struct sb_summary *s = NULL;
	const char *error = NULL;

	TEST_EQ_INT(open_records(key, plain, len, &s, &error), ret);
	if (ret == 0) {
		TEST_ASSERT(s != NULL);
		sb_summary_free(&s);
	} else {
		TEST_ASSERT(s == NULL);
		TEST_ASSERT(strstr(error, error_part) != NULL);
	}
}

static void
test_summary_record_rules(void)
{
	unsigned char key[32];

	sb_message_key_new(key);
	expect_records(key, REC_SIZE REC_HASH, 13 + 37, 0, NULL);
	/* An unknown ordinary record is skipped; a critical one is not. */
	expect_records(key, REC_SIZE REC_HASH "\x30\x00\x00\x00\x01z",
	               13 + 37 + 6, 0, NULL);
	expect_records(key, REC_SIZE REC_HASH "\x90\x00\x00\x00\x01z",
	               13 + 37 + 6, -1, "newer version");
	/* Type 0 is an unknown ordinary type: skipped, even twice. */
	expect_records(key,
	               REC_SIZE REC_HASH "\x00\x00\x00\x00\x00"
	                                 "\x00\x00\x00\x00\x00",
	               13 + 37 + 10, 0, NULL);
	expect_records(key, REC_SIZE, 13, -1, "lacks");
	expect_records(key, REC_SIZE REC_SIZE REC_HASH, 13 + 13 + 37, -1,
	               "repeats");
	expect_records(key, REC_SIZE REC_HASH "\x04\x00\x00\x00\x09",
	               13 + 37 + 5, -1, "ends inside");
	/* Recipients must be sorted, unique and lower case. */
	expect_records(key,
	               REC_SIZE REC_HASH "\x04\x00\x00\x00\x03"
	                                 "b@c"
	                                 "\x04\x00\x00\x00\x03"
	                                 "a@c",
	               13 + 37 + 16, -1, "malformed");
	expect_records(key,
	               REC_SIZE REC_HASH "\x04\x00\x00\x00\x03"
	                                 "a@c"
	                                 "\x04\x00\x00\x00\x03"
	                                 "a@c",
	               13 + 37 + 16, -1, "malformed");
	expect_records(key,
	               REC_SIZE REC_HASH "\x04\x00\x00\x00\x03"
	                                 "A@c",
	               13 + 37 + 8, -1, "malformed");
	/* A signature with no sender is refused. */
	{
		char rec[13 + 37 + 5 + 96];

		memcpy(rec, REC_SIZE REC_HASH, 50);
		memcpy(rec + 50, "\x06\x00\x00\x00\x60", 5);
		memset(rec + 55, 7, 96);
		expect_records(key, rec, sizeof(rec), -1, "no sender");
	}
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"round trip and normalisation",
	         test_summary_round_trip_and_normalisation},
	        {"verdicts", test_summary_verdicts},
	        {"tampering", test_summary_tampering},
	        {"record rules", test_summary_record_rules},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
