/* Password keys, the key hierarchy, and fingerprints. */
#include "crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto-private.h"

/*
 * Default Argon2id cost: 3 passes over 64 MiB, the second recommended
 * setting of RFC 9106 (with one lane, as libsodium computes it).
 */
#define SB_KDF_OPSLIMIT 3
#define SB_KDF_MEMLIMIT (64ULL * 1024 * 1024)
/*
 * What a client accepts from a server. The floor is the default itself: a
 * hostile server must not get a cheaper hash to guess the password from
 * (the auth key goes to the server). The ceiling keeps it from exhausting
 * the client.
 */
#define SB_KDF_MIN_OPSLIMIT SB_KDF_OPSLIMIT
#define SB_KDF_MIN_MEMLIMIT SB_KDF_MEMLIMIT
#define SB_KDF_MAX_OPSLIMIT 10
#define SB_KDF_MAX_MEMLIMIT (1024ULL * 1024 * 1024)

/* crypto_kdf context and subkey ids for the two password keys. */
static const char sb_kdf_context[crypto_kdf_CONTEXTBYTES] = "sbpass01";
enum { SB_SUBKEY_AUTH = 1, SB_SUBKEY_KEK = 2 };

int
sb_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

void *
sb_secure_alloc(size_t size)
{
	void *p = sodium_malloc(size);

	if (p == NULL)
		sb_oom(size);
	return p;
}

void
sb_secure_free(void *pp)
{
	void **p = pp;

	/* sodium_free wipes the memory before releasing it. */
	sodium_free(*p);
	*p = NULL;
}

bool
sb_format_check(const void *in, size_t len, const char *magic)
{
	const unsigned char *p = in;

	return len > SB_MAGIC_BYTES && memcmp(p, magic, SB_MAGIC_BYTES) == 0 &&
	       p[SB_MAGIC_BYTES] == SB_FORMAT_V1;
}

void
sb_kdf_params_new(struct sb_kdf_params *params_r)
{
	params_r->opslimit = SB_KDF_OPSLIMIT;
	params_r->memlimit = SB_KDF_MEMLIMIT;
	randombytes_buf(params_r->salt, sizeof(params_r->salt));
}

int
sb_kdf_params_check(const struct sb_kdf_params *params, const char **error_r)
{
	if (params->opslimit < SB_KDF_MIN_OPSLIMIT ||
	    params->opslimit > SB_KDF_MAX_OPSLIMIT) {
		*error_r = "the server's password hashing passes are out of "
		           "bounds";
		return -1;
	}
	if (params->memlimit < SB_KDF_MIN_MEMLIMIT ||
	    params->memlimit > SB_KDF_MAX_MEMLIMIT) {
		*error_r = "the server's password hashing memory is out of "
		           "bounds";
		return -1;
	}
	return 0;
}

int
sb_password_derive(const char *password, size_t password_len,
                   const struct sb_kdf_params *params,
                   struct sb_password_keys **keys_r, const char **error_r)
{
	unsigned char *root;
	struct sb_password_keys *keys;

	if (sb_kdf_params_check(params, error_r) != 0)
		return -1;
	root = sb_secure_alloc(SB_KEY_BYTES);
	if (crypto_pwhash(root, SB_KEY_BYTES, password, password_len,
	                  params->salt, params->opslimit,
	                  (size_t)params->memlimit,
	                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sb_secure_free(&root);
		*error_r = "not enough memory to hash the password";
		return -1;
	}
	keys = sb_secure_alloc(sizeof(*keys));
	crypto_kdf_derive_from_key(keys->auth_key, SB_KEY_BYTES, SB_SUBKEY_AUTH,
	                           sb_kdf_context, root);
	crypto_kdf_derive_from_key(keys->kek, SB_KEY_BYTES, SB_SUBKEY_KEK,
	                           sb_kdf_context, root);
	sb_secure_free(&root);
	*keys_r = keys;
	return 0;
}

int
sb_account_keys_generate(struct sb_account_keys **keys_r)
{
	struct sb_account_keys *k = sb_secure_alloc(sizeof(*k));

	crypto_aead_xchacha20poly1305_ietf_keygen(k->account_key);
	if (crypto_box_keypair(k->enc_pk, k->enc_sk) != 0 ||
	    crypto_sign_keypair(k->sign_pk, k->sign_sk) != 0) {
		sb_secure_free(&k);
		return -1;
	}
	*keys_r = k;
	return 0;
}

/* The associated data of a wrapped key: its header and the account id. */
static unsigned char *
sb_wrap_ad(enum sb_wrap_kind kind, const char *account_id, size_t *len_r)
{
	size_t id_len = strlen(account_id);
	unsigned char *ad = sb_malloc(SB_MAGIC_BYTES + 2 + id_len);

	memcpy(ad, SB_MAGIC_WRAPPED_KEY, SB_MAGIC_BYTES);
	ad[4] = SB_FORMAT_V1;
	ad[5] = (unsigned char)kind;
	memcpy(ad + 6, account_id, id_len);
	*len_r = SB_MAGIC_BYTES + 2 + id_len;
	return ad;
}

void
sb_key_wrap(const unsigned char key[SB_KEY_BYTES], enum sb_wrap_kind kind,
            const char *account_id, const unsigned char secret[SB_KEY_BYTES],
            unsigned char out[SB_WRAPPED_KEY_BYTES])
{
	unsigned char *nonce = out + 6;
	size_t ad_len;
	unsigned char *ad = sb_wrap_ad(kind, account_id, &ad_len);

	memcpy(out, ad, 6);
	randombytes_buf(nonce, SB_AEAD_NONCE_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + 6 + SB_AEAD_NONCE_BYTES, NULL, secret, SB_KEY_BYTES, ad,
	        ad_len, NULL, nonce, key);
	free(ad);
}

int
sb_key_unwrap(const unsigned char key[SB_KEY_BYTES], enum sb_wrap_kind kind,
              const char *account_id, const unsigned char *in, size_t in_len,
              unsigned char secret_r[SB_KEY_BYTES], const char **error_r)
{
	size_t ad_len;
	unsigned char *ad;
	int ret;

	if (in_len != SB_WRAPPED_KEY_BYTES ||
	    !sb_format_check(in, in_len, SB_MAGIC_WRAPPED_KEY)) {
		*error_r = "not a wrapped key of a known version";
		return -1;
	}
	if (in[5] != (unsigned char)kind) {
		*error_r = "the wrapped key is of another kind";
		return -1;
	}
	ad = sb_wrap_ad(kind, account_id, &ad_len);
	ret = crypto_aead_xchacha20poly1305_ietf_decrypt(
	        secret_r, NULL, NULL, in + 6 + SB_AEAD_NONCE_BYTES,
	        SB_KEY_BYTES + SB_AEAD_TAG_BYTES, ad, ad_len, in + 6, key);
	free(ad);
	if (ret != 0) {
		*error_r = "the wrapped key does not open with this key "
		           "(wrong password or damaged key)";
		return -1;
	}
	return 0;
}

void
sb_account_keys_wrap(const struct sb_account_keys *keys,
                     const unsigned char kek[SB_KEY_BYTES],
                     const char *account_id, struct sb_wrapped_account *out)
{
	sb_key_wrap(kek, SB_WRAP_ACCOUNT_KEY, account_id, keys->account_key,
	            out->account_key);
	sb_key_wrap(keys->account_key, SB_WRAP_ENC_SECRET, account_id,
	            keys->enc_sk, out->enc_sk);
	/* An Ed25519 secret key is its 32-byte seed and the public key. */
	sb_key_wrap(keys->account_key, SB_WRAP_SIGN_SEED, account_id,
	            keys->sign_sk, out->sign_seed);
	memcpy(out->enc_pk, keys->enc_pk, SB_KEY_BYTES);
	memcpy(out->sign_pk, keys->sign_pk, SB_KEY_BYTES);
}

/* Rebuilds both keypairs from their secrets and checks the public keys. */
static int SB_WUR
sb_account_keys_rebuild(struct sb_account_keys *k, const unsigned char *seed,
                        const struct sb_wrapped_account *w,
                        const char **error_r)
{
	unsigned char pk[SB_KEY_BYTES];

	if (crypto_scalarmult_base(k->enc_pk, k->enc_sk) != 0 ||
	    sodium_memcmp(k->enc_pk, w->enc_pk, SB_KEY_BYTES) != 0) {
		*error_r = "the encryption key does not match its public key";
		return -1;
	}
	if (crypto_sign_seed_keypair(pk, k->sign_sk, seed) != 0 ||
	    sodium_memcmp(pk, w->sign_pk, SB_KEY_BYTES) != 0) {
		*error_r = "the signing key does not match its public key";
		return -1;
	}
	memcpy(k->sign_pk, pk, SB_KEY_BYTES);
	return 0;
}

int
sb_account_keys_unwrap(const struct sb_wrapped_account *w,
                       const unsigned char kek[SB_KEY_BYTES],
                       const char *account_id, struct sb_account_keys **keys_r,
                       const char **error_r)
{
	struct sb_account_keys *k = sb_secure_alloc(sizeof(*k));
	unsigned char *seed = sb_secure_alloc(SB_KEY_BYTES);
	int ret = -1;

	if (sb_key_unwrap(kek, SB_WRAP_ACCOUNT_KEY, account_id, w->account_key,
	                  SB_WRAPPED_KEY_BYTES, k->account_key, error_r) != 0 ||
	    sb_key_unwrap(k->account_key, SB_WRAP_ENC_SECRET, account_id,
	                  w->enc_sk, SB_WRAPPED_KEY_BYTES, k->enc_sk,
	                  error_r) != 0 ||
	    sb_key_unwrap(k->account_key, SB_WRAP_SIGN_SEED, account_id,
	                  w->sign_seed, SB_WRAPPED_KEY_BYTES, seed,
	                  error_r) != 0 ||
	    sb_account_keys_rebuild(k, seed, w, error_r) != 0)
		goto out;
	*keys_r = k;
	k = NULL;
	ret = 0;
out:
	sb_secure_free(&seed);
	if (k != NULL)
		sb_secure_free(&k);
	return ret;
}

void
sb_fingerprint(const unsigned char enc_pk[SB_KEY_BYTES],
               const unsigned char sign_pk[SB_KEY_BYTES],
               char out[SB_FINGERPRINT_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char hash[20];
	crypto_generichash_state st;
	size_t i, o = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	crypto_generichash_update(&st,
	                          (const unsigned char *)SB_MAGIC_FINGERPRINT,
	                          SB_MAGIC_BYTES);
	crypto_generichash_update(&st, enc_pk, SB_KEY_BYTES);
	crypto_generichash_update(&st, sign_pk, SB_KEY_BYTES);
	crypto_generichash_final(&st, hash, sizeof(hash));
	for (i = 0; i < sizeof(hash); i++) {
		out[o++] = hex[hash[i] >> 4];
		out[o++] = hex[hash[i] & 0xf];
		if (i % 2 == 1 && i + 1 < sizeof(hash))
			out[o++] = ' ';
	}
	out[o] = '\0';
}
