#include <sodium.h>
#include <string.h>

#include "crypto/crypto.h"
#include "test.h"

/* The default parameters with a fixed salt. */
static void
fixed_params(struct sb_kdf_params *p, unsigned char salt_byte)
{
	sb_kdf_params_new(p);
	memset(p->salt, salt_byte, sizeof(p->salt));
}

static void
test_kdf_params_bounds(void)
{
	struct sb_kdf_params p;
	const char *error;

	sb_kdf_params_new(&p);
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), 0);
	p.memlimit = 4ULL * 1024 * 1024 * 1024;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	TEST_ASSERT(strstr(error, "memory") != NULL);
	sb_kdf_params_new(&p);
	p.opslimit = 0;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	p.opslimit = 1000000;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	/* A server may not ask for a cheaper hash than the default. */
	sb_kdf_params_new(&p);
	p.opslimit = 2;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	TEST_ASSERT(strstr(error, "passes") != NULL);
	sb_kdf_params_new(&p);
	p.memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	p.memlimit = 64ULL * 1024 * 1024 - 1;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), -1);
	p.memlimit = 64ULL * 1024 * 1024;
	TEST_EQ_INT(sb_kdf_params_check(&p, &error), 0);
	{
		struct sb_password_keys *k = NULL;

		p.opslimit = 1;
		TEST_EQ_INT(sb_password_derive("pw", 2, &p, &k, &error), -1);
		TEST_ASSERT(k == NULL);
	}
}

static void
test_password_keys(void)
{
	struct sb_password_keys *a, *b, *c;
	struct sb_kdf_params p;
	const char *error;

	fixed_params(&p, 1);
	TEST_EQ_INT(sb_password_derive("hunter2", 7, &p, &a, &error), 0);
	TEST_EQ_INT(sb_password_derive("hunter2", 7, &p, &b, &error), 0);
	/* Repeatable, and the two keys differ from each other. */
	TEST_EQ_MEM(a->auth_key, 32, b->auth_key, 32);
	TEST_EQ_MEM(a->kek, 32, b->kek, 32);
	TEST_ASSERT(memcmp(a->auth_key, a->kek, 32) != 0);
	/* Another salt or password gives other keys. */
	fixed_params(&p, 2);
	TEST_EQ_INT(sb_password_derive("hunter2", 7, &p, &c, &error), 0);
	TEST_ASSERT(memcmp(a->kek, c->kek, 32) != 0);
	sb_secure_free(&c);
	fixed_params(&p, 1);
	TEST_EQ_INT(sb_password_derive("hunter3", 7, &p, &c, &error), 0);
	TEST_ASSERT(memcmp(a->auth_key, c->auth_key, 32) != 0);
	sb_secure_free(&a);
	sb_secure_free(&b);
	sb_secure_free(&c);
	TEST_ASSERT(a == NULL);
}

static void
test_account_keys_wrap_unwrap(void)
{
	struct sb_account_keys *k, *u;
	struct sb_wrapped_account w;
	unsigned char kek[32], kek2[32];
	const char *error;

	crypto_secretbox_keygen(kek);
	crypto_secretbox_keygen(kek2);
	TEST_EQ_INT(sb_account_keys_generate(&k), 0);
	sb_account_keys_wrap(k, kek, "acct-1", &w);
	TEST_EQ_INT(sb_account_keys_unwrap(&w, kek, "acct-1", &u, &error), 0);
	TEST_EQ_MEM(u->account_key, 32, k->account_key, 32);
	TEST_EQ_MEM(u->enc_sk, 32, k->enc_sk, 32);
	TEST_EQ_MEM(u->enc_pk, 32, k->enc_pk, 32);
	TEST_EQ_MEM(u->sign_sk, 64, k->sign_sk, 64);
	TEST_EQ_MEM(u->sign_pk, 32, k->sign_pk, 32);
	sb_secure_free(&u);

	/* Wrong password (KEK) and wrong account id are refused. */
	TEST_EQ_INT(sb_account_keys_unwrap(&w, kek2, "acct-1", &u, &error), -1);
	TEST_ASSERT(strstr(error, "wrong password") != NULL);
	TEST_EQ_INT(sb_account_keys_unwrap(&w, kek, "acct-2", &u, &error), -1);

	/* A password change re-wraps only the account key. */
	{
		struct sb_wrapped_account w2 = w;

		sb_key_wrap(kek2, SB_WRAP_ACCOUNT_KEY, "acct-1", k->account_key,
		            w2.account_key);
		TEST_EQ_INT(
		        sb_account_keys_unwrap(&w2, kek2, "acct-1", &u, &error),
		        0);
		TEST_EQ_MEM(u->sign_sk, 64, k->sign_sk, 64);
		sb_secure_free(&u);
		TEST_EQ_INT(
		        sb_account_keys_unwrap(&w2, kek, "acct-1", &u, &error),
		        -1);
	}

	/* Swapping the two wrapped secrets is caught by the kind byte. */
	{
		struct sb_wrapped_account w3 = w;

		memcpy(w3.enc_sk, w.sign_seed, SB_WRAPPED_KEY_BYTES);
		memcpy(w3.sign_seed, w.enc_sk, SB_WRAPPED_KEY_BYTES);
		TEST_EQ_INT(
		        sb_account_keys_unwrap(&w3, kek, "acct-1", &u, &error),
		        -1);
	}
	/* A public key that does not match its secret is refused. */
	{
		struct sb_wrapped_account w4 = w;

		w4.sign_pk[0] ^= 1;
		TEST_EQ_INT(
		        sb_account_keys_unwrap(&w4, kek, "acct-1", &u, &error),
		        -1);
		TEST_ASSERT(strstr(error, "signing key") != NULL);
	}
	sb_secure_free(&k);
}

static void
test_wrapped_key_every_bit_flip(void)
{
	unsigned char key[32], secret[32], out[32];
	unsigned char w[SB_WRAPPED_KEY_BYTES];
	const char *error;
	size_t i;
	int bit;

	crypto_secretbox_keygen(key);
	randombytes_buf(secret, sizeof(secret));
	sb_key_wrap(key, SB_WRAP_ENC_SECRET, "a", secret, w);
	TEST_EQ_INT(sb_key_unwrap(key, SB_WRAP_ENC_SECRET, "a", w, sizeof(w),
	                          out, &error),
	            0);
	TEST_EQ_MEM(out, 32, secret, 32);
	for (i = 0; i < sizeof(w); i++) {
		for (bit = 0; bit < 8; bit++) {
			w[i] ^= (unsigned char)(1 << bit);
			TEST_EQ_INT(sb_key_unwrap(key, SB_WRAP_ENC_SECRET, "a",
			                          w, sizeof(w), out, &error),
			            -1);
			w[i] ^= (unsigned char)(1 << bit);
		}
	}
	TEST_EQ_INT(sb_key_unwrap(key, SB_WRAP_ENC_SECRET, "a", w,
	                          sizeof(w) - 1, out, &error),
	            -1);
	TEST_EQ_INT(sb_key_unwrap(key, SB_WRAP_SIGN_SEED, "a", w, sizeof(w),
	                          out, &error),
	            -1);
}

static void
test_fingerprint(void)
{
	unsigned char a[32] = {1}, b[32] = {2};
	char f1[SB_FINGERPRINT_SIZE], f2[SB_FINGERPRINT_SIZE];
	size_t i;

	sb_fingerprint(a, b, f1);
	sb_fingerprint(b, a, f2);
	TEST_EQ_UINT(strlen(f1), 49);
	for (i = 0; i < 49; i++) {
		if (i % 5 == 4)
			TEST_EQ_INT(f1[i], ' ');
		else
			TEST_ASSERT(strchr("0123456789abcdef", f1[i]) != NULL);
	}
	TEST_ASSERT(strcmp(f1, f2) != 0);
	sb_fingerprint(a, b, f2);
	TEST_EQ_STR(f1, f2);
}

static void
test_key_packets(void)
{
	unsigned char pk[32], sk[32], pk2[32], sk2[32];
	unsigned char key[32], got[32], packet[SB_KEY_PACKET_BYTES];
	const char *error;
	size_t i;

	crypto_box_keypair(pk, sk);
	crypto_box_keypair(pk2, sk2);
	sb_message_key_new(key);
	TEST_EQ_INT(sb_key_packet_seal(key, pk, packet, &error), 0);
	TEST_EQ_MEM(packet, 5, "SBKP\x01", 5);
	TEST_EQ_INT(
	        sb_key_packet_open(packet, sizeof(packet), pk, sk, got, &error),
	        0);
	TEST_EQ_MEM(got, 32, key, 32);
	TEST_EQ_INT(sb_key_packet_open(packet, sizeof(packet), pk2, sk2, got,
	                               &error),
	            -1);
	for (i = 0; i < sizeof(packet); i++) {
		packet[i] ^= 0x40;
		TEST_EQ_INT(sb_key_packet_open(packet, sizeof(packet), pk, sk,
		                               got, &error),
		            -1);
		packet[i] ^= 0x40;
	}
	TEST_EQ_INT(sb_key_packet_open(packet, 10, pk, sk, got, &error), -1);

	/* A key of small order (here all zero) is refused, not a crash. */
	memset(pk2, 0, sizeof(pk2));
	TEST_EQ_INT(sb_key_packet_seal(key, pk2, packet, &error), -1);
	TEST_ASSERT(strstr(error, "not a valid key") != NULL);
}

static void
test_cache_seal(void)
{
	unsigned char key[32], other[32];
	struct sb_buf sealed, plain;
	const char *error;
	size_t i;

	crypto_secretbox_keygen(key);
	crypto_secretbox_keygen(other);
	sb_buf_init(&sealed, 4096);
	sb_buf_init(&plain, 4096);
	TEST_EQ_INT(
	        sb_cache_seal(key, "envelope:42", "(\"Mon\" NIL)", 11, &sealed),
	        0);
	TEST_EQ_UINT(sealed.len, 11 + SB_CACHE_OVERHEAD);
	TEST_ASSERT(memmem(sealed.data, sealed.len, "Mon", 3) == NULL);
	TEST_EQ_INT(sb_cache_open(key, "envelope:42", sealed.data, sealed.len,
	                          &plain, &error),
	            0);
	TEST_EQ_MEM(plain.data, plain.len, "(\"Mon\" NIL)", 11);
	sb_buf_reset(&plain);
	/* Moved to another row, or opened under another key: refused. */
	TEST_EQ_INT(sb_cache_open(key, "envelope:43", sealed.data, sealed.len,
	                          &plain, &error),
	            -1);
	TEST_EQ_INT(sb_cache_open(other, "envelope:42", sealed.data, sealed.len,
	                          &plain, &error),
	            -1);
	for (i = 0; i < sealed.len; i++) {
		sealed.data[i] ^= 1;
		TEST_EQ_INT(sb_cache_open(key, "envelope:42", sealed.data,
		                          sealed.len, &plain, &error),
		            -1);
		sealed.data[i] ^= 1;
	}
	TEST_EQ_UINT(plain.len, 0);
	/* Empty values work too. */
	sb_buf_reset(&sealed);
	TEST_EQ_INT(sb_cache_seal(key, "x", "", 0, &sealed), 0);
	TEST_EQ_INT(sb_cache_open(key, "x", sealed.data, sealed.len, &plain,
	                          &error),
	            0);
	TEST_EQ_UINT(plain.len, 0);
	sb_buf_free(&sealed);
	sb_buf_free(&plain);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"kdf params bounds", test_kdf_params_bounds},
	        {"password keys", test_password_keys},
	        {"account keys wrap and unwrap", test_account_keys_wrap_unwrap},
	        {"wrapped key: every bit flip",
	         test_wrapped_key_every_bit_flip},
	        {"fingerprint", test_fingerprint},
	        {"key packets", test_key_packets},
	        {"cache seal", test_cache_seal},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
