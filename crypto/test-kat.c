/*
 * Known-answer vectors for every crypto/ format. With the deterministic
 * test random source, each run draws the same keys, salts and nonces, so
 * the output is fixed; it is compared with testdata/kat-v1.txt (lines
 * "name hex"), and with --write the file is made anew (only when a format
 * changes on purpose, which also needs a new version byte).
 * tests/crypto_kat.py checks the same file against docs/crypto.md with
 * another libsodium binding.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/file.h"
#include "crypto/crypto.h"
#include "test-rng.h"

#define KAT_FILE       "testdata/kat-v1.txt"
#define KAT_LONG_BODY  "testdata/kat-v1-long-body.bin"
#define KAT_EXACT_BODY "testdata/kat-v1-exact-body.bin"
#define KAT_LONG_SIZE  (SB_BODY_CHUNK + 1000)

static struct sb_buf kat_out;

static void
kat_hex(const char *name, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	if (sb_buf_add_printf(&kat_out, "%s ", name) != 0)
		abort();
	for (i = 0; i < len; i++) {
		if (sb_buf_add_printf(&kat_out, "%02x", p[i]) != 0)
			abort();
	}
	if (sb_buf_add_char(&kat_out, '\n') != 0)
		abort();
}

static void
kat_str(const char *name, const char *s)
{
	kat_hex(name, s, strlen(s));
}

static int
sink_buf(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

static void
kat_u64(const char *name, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (56 - 8 * i));
	kat_hex(name, b, 8);
}

static void
kat_keys(struct sb_account_keys **keys_r)
{
	struct sb_password_keys *pw;
	struct sb_wrapped_account w;
	struct sb_kdf_params params;
	char fp[SB_FINGERPRINT_SIZE];
	const char *error;

	sb_kdf_params_new(&params);
	kat_str("password", "correct horse battery staple");
	kat_u64("kdf.opslimit", params.opslimit);
	kat_u64("kdf.memlimit", params.memlimit);
	kat_hex("kdf.salt", params.salt, sizeof(params.salt));
	if (sb_password_derive("correct horse battery staple", 28, &params, &pw,
	                       &error) != 0)
		abort();
	kat_hex("auth_key", pw->auth_key, 32);
	kat_hex("kek", pw->kek, 32);
	if (sb_account_keys_generate(keys_r) != 0)
		abort();
	kat_str("account_id", "acct-kat");
	kat_hex("account_key", (*keys_r)->account_key, 32);
	kat_hex("enc_pk", (*keys_r)->enc_pk, 32);
	kat_hex("sign_pk", (*keys_r)->sign_pk, 32);
	sb_account_keys_wrap(*keys_r, pw->kek, "acct-kat", &w);
	kat_hex("wrapped.account_key", w.account_key, SB_WRAPPED_KEY_BYTES);
	kat_hex("wrapped.enc_sk", w.enc_sk, SB_WRAPPED_KEY_BYTES);
	kat_hex("wrapped.sign_seed", w.sign_seed, SB_WRAPPED_KEY_BYTES);
	sb_fingerprint((*keys_r)->enc_pk, (*keys_r)->sign_pk, fp);
	kat_str("fingerprint", fp);
	sb_secure_free(&pw);
}

static void
kat_body(const unsigned char *key, const void *plain, size_t len,
         const char *name, struct sb_buf *ct, unsigned char hash[32])
{
	struct sb_body_encryptor *enc;
	uint64_t size;
	char label[64];

	sb_buf_init(ct, 1 << 20);
	if (sb_body_encryptor_new(key, sink_buf, ct, &enc) != 0 ||
	    sb_body_encryptor_write(enc, plain, len) != 0 ||
	    sb_body_encryptor_finish(&enc, &size, hash) != 0)
		abort();
	snprintf(label, sizeof(label), "%s.hash", name);
	kat_hex(label, hash, 32);
}

static void
kat_message(const struct sb_account_keys *keys, struct sb_buf *long_body,
            struct sb_buf *exact_body)
{
	static const char plain[] = "From: alice@example.org\r\n"
	                            "To: bob@example.org\r\n"
	                            "Subject: known answers\r\n\r\nHello.\r\n";
	static const char *const rcpts[] = {"Carol@example.org",
	                                    "bob@example.org"};
	unsigned char key[32], hash[32], other_hash[32], rpk[32], rsk[32];
	unsigned char packet[SB_KEY_PACKET_BYTES];
	unsigned char *big = malloc(KAT_LONG_SIZE);
	struct sb_summary *s = sb_summary_new();
	struct sb_buf ct, sealed;
	const char *error;
	size_t i;

	sb_message_key_new(key);
	kat_hex("message_key", key, 32);
	kat_str("body.plain", plain);
	kat_body(key, plain, sizeof(plain) - 1, "body", &ct, hash);
	kat_hex("body.cipher", ct.data, ct.len);
	sb_buf_free(&ct);
	kat_body(key, "", 0, "empty_body", &ct, other_hash);
	kat_hex("empty_body.cipher", ct.data, ct.len);
	sb_buf_free(&ct);

	s->size = sizeof(plain) - 1;
	memcpy(s->body_hash, hash, 32);
	if (sb_summary_set_sender(s, "alice@example.org") != 0 ||
	    sb_summary_set_recipients(s, rcpts, 2) != 0 ||
	    sb_summary_set_structure(s, "(text plain)", 12) != 0 ||
	    sb_summary_set_headers(
	            s, plain,
	            (size_t)(strstr(plain, "\r\n\r\n") + 4 - plain)) != 0 ||
	    sb_summary_sign(s, keys->sign_sk) != 0)
		abort();
	sb_buf_init(&sealed, 1 << 20);
	if (sb_summary_seal(s, key, &sealed) != 0)
		abort();
	kat_hex("summary.sealed", sealed.data, sealed.len);
	sb_buf_free(&sealed);
	sb_summary_free(&s);

	crypto_box_keypair(rpk, rsk);
	kat_hex("recipient.enc_pk", rpk, 32);
	kat_hex("recipient.enc_sk", rsk, 32);
	if (sb_key_packet_seal(key, rpk, packet, &error) != 0)
		abort();
	kat_hex("key_packet", packet, sizeof(packet));

	for (i = 0; i < KAT_LONG_SIZE; i++)
		big[i] = (unsigned char)(i % 251);
	kat_u64("long_body.size", KAT_LONG_SIZE);
	kat_body(key, big, KAT_LONG_SIZE, "long_body", long_body, other_hash);
	kat_u64("exact_body.size", SB_BODY_CHUNK);
	kat_body(key, big, SB_BODY_CHUNK, "exact_body", exact_body, other_hash);
	free(big);
}

/* The key file the file key store writes, read back byte for byte. */
static void
kat_vault_key_file(const unsigned char key[32])
{
	struct sb_vault_keystore ks;
	char dir[] = "/tmp/sbkat.XXXXXX", path[64];
	const char *error;
	struct sb_buf b;

	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/vault.key", dir);
	sb_vault_keystore_file(&ks, path);
	sb_buf_init(&b, 64);
	if (ks.store(&ks, key, &error) != 0 ||
	    sb_file_read_all(path, &b, NULL, &error) != 0)
		abort();
	kat_hex("vault.key_file", b.data, b.len);
	sb_buf_free(&b);
	unlink(path);
	rmdir(dir);
}

static void
kat_cache_and_vault(void)
{
	unsigned char cache_key[32], vault_key[32];
	struct sb_vault *v;
	struct sb_buf b;
	const char *error;

	crypto_secretbox_keygen(cache_key);
	kat_hex("cache.key", cache_key, 32);
	kat_str("cache.context", "envelope:42");
	kat_str("cache.plain", "(\"Mon, 1 Jul 2003\" \"hi\")");
	sb_buf_init(&b, 4096);
	if (sb_cache_seal(cache_key, "envelope:42",
	                  "(\"Mon, 1 Jul 2003\" \"hi\")", 24, &b) != 0)
		abort();
	kat_hex("cache.sealed", b.data, b.len);
	sb_buf_reset(&b);

	crypto_secretbox_keygen(vault_key);
	kat_hex("vault.key", vault_key, 32);
	kat_vault_key_file(vault_key);
	if (sb_vault_decode(vault_key, NULL, 0, &v, &error) == 0)
		abort();
	/* An empty vault, then two entries, through the public calls. */
	{
		unsigned char empty_plain[29 + 16];

		memcpy(empty_plain, "SBVT\x01", 5);
		memset(empty_plain + 5, 0, 24);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
		        empty_plain + 29, NULL, NULL, 0, empty_plain, 5, NULL,
		        empty_plain + 5, vault_key);
		if (sb_vault_decode(vault_key, empty_plain, sizeof(empty_plain),
		                    &v, &error) != 0)
			abort();
	}
	if (sb_vault_set(v, "account/acct-kat/refresh-token", "rt-1", 4,
	                 &error) != 0 ||
	    sb_vault_set(v, "account/acct-kat/bridge-password", "bp-1", 4,
	                 &error) != 0 ||
	    sb_vault_encode(v, vault_key, &b) != 0)
		abort();
	kat_hex("vault.file", b.data, b.len);
	sb_vault_free(&v);
	sb_buf_free(&b);
}

/* Compares a made value with its file; returns 0 when equal. */
static int
kat_compare(const char *path, const struct sb_buf *made)
{
	const char *error;
	struct sb_buf want;
	int ret = 0;

	sb_buf_init(&want, 4 << 20);
	if (sb_file_read_all(path, &want, NULL, &error) != 0) {
		fprintf(stderr, "%s\n", error);
		ret = -1;
	} else if (want.len != made->len ||
	           memcmp(want.data, made->data, want.len) != 0) {
		fprintf(stderr, "the formats no longer match %s\n", path);
		ret = -1;
	}
	sb_buf_free(&want);
	return ret;
}

int
main(int argc, char **argv)
{
	struct sb_account_keys *keys;
	struct sb_buf long_body, exact_body;
	const char *error;
	int failed;

	sb_test_rng_install(20261122);
	if (sb_crypto_init() != 0)
		return 1;
	sb_buf_init(&kat_out, 1 << 20);
	kat_keys(&keys);
	kat_message(keys, &long_body, &exact_body);
	kat_cache_and_vault();
	sb_secure_free(&keys);

	if (argc == 2 && strcmp(argv[1], "--write") == 0) {
		if (sb_file_write_atomic(KAT_FILE, kat_out.data, kat_out.len,
		                         0644, &error) != 0 ||
		    sb_file_write_atomic(KAT_LONG_BODY, long_body.data,
		                         long_body.len, 0644, &error) != 0 ||
		    sb_file_write_atomic(KAT_EXACT_BODY, exact_body.data,
		                         exact_body.len, 0644, &error) != 0) {
			fprintf(stderr, "%s\n", error);
			return 1;
		}
		printf("wrote %s and the body files\n", KAT_FILE);
		failed = 0;
	} else {
		failed = (kat_compare(KAT_FILE, &kat_out) != 0) +
		         (kat_compare(KAT_LONG_BODY, &long_body) != 0) +
		         (kat_compare(KAT_EXACT_BODY, &exact_body) != 0);
		if (failed > 0)
			fprintf(stderr, "made now:\n%s", kat_out.data);
		printf("%d passed, %d failed\n", 3 - failed, failed);
	}
	sb_buf_free(&long_body);
	sb_buf_free(&exact_body);
	sb_buf_free(&kat_out);
	return failed == 0 ? 0 : 1;
}
