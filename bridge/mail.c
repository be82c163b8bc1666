/*
 * Reading an account's mail from the replica: the message key from the
 * key packet, the summary (plaintext size, header section), and the body
 * stream decrypted into secure memory, its hash checked against the
 * summary's (docs/crypto.md, "Opening a message"). Nothing decrypted is
 * ever written to disk.
 */
#include "bridge/mail.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

int
bridge_mail_keys_load(const struct sb_vault *v, const char *account_id,
                      struct bridge_mail_keys *k, const char **error_r)
{
	const unsigned char *sk, *pk;
	size_t sk_len, pk_len;

	memset(k, 0, sizeof(*k));
	if (!bridge_entry_get(v, account_id, BRIDGE_ENTRY_ENC_SK, &sk,
	                      &sk_len) ||
	    !bridge_entry_get(v, account_id, BRIDGE_ENTRY_ENC_PK, &pk,
	                      &pk_len) ||
	    sk_len != SB_KEY_BYTES || pk_len != SB_KEY_BYTES) {
		*error_r =
		        "the vault holds no encryption keys for the account: "
		        "log it in again";
		return -1;
	}
	k->enc_sk = sb_secure_alloc(SB_KEY_BYTES);
	memcpy(k->enc_sk, sk, SB_KEY_BYTES);
	memcpy(k->enc_pk, pk, SB_KEY_BYTES);
	return 0;
}

void
bridge_mail_keys_clear(struct bridge_mail_keys *k)
{
	if (k->enc_sk != NULL)
		sb_secure_free(&k->enc_sk);
	memset(k, 0, sizeof(*k));
}

int
bridge_mail_summary(const struct bridge_mail_keys *k, struct store *st,
                    int64_t message_id, unsigned char *key,
                    struct sb_summary **s_r, bool *cached_r,
                    const char **error_r)
{
	struct store_message m;
	int ret;

	ret = store_message_get(st, message_id, &m, error_r);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = "the message is gone";
		return -1;
	}
	ret = -1;
	if (sb_key_packet_open(m.key_packet, m.key_packet_len, k->enc_pk,
	                       k->enc_sk, key, error_r) == 0 &&
	    sb_summary_open(key, m.summary, m.summary_len, s_r, error_r) == 0)
		ret = 0;
	if (cached_r != NULL)
		*cached_r = m.body_cached;
	store_message_free_contents(&m);
	return ret;
}

/* Body pieces from the store into the decryptor. */
struct bridge_mail_feed {
	struct sb_body_decryptor *dec;
};

static int
bridge_mail_piece(void *ctx, const void *data, size_t len, const char **error_r)
{
	struct bridge_mail_feed *f = ctx;

	return sb_body_decryptor_feed(f->dec, data, len, error_r);
}

static int
bridge_mail_sink(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len) == 0 ? 0 : -1;
}

int
bridge_mail_body(const struct bridge_mail_keys *k, struct store *st,
                 int64_t message_id, struct sb_buf *out, const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	unsigned char hash[SB_HASH_BYTES];
	struct bridge_mail_feed f = {NULL};
	struct sb_summary *sum = NULL;
	bool cached;
	uint64_t size;
	int ret = -1;

	if (bridge_mail_summary(k, st, message_id, key, &sum, &cached,
	                        error_r) < 0)
		goto out;
	if (!cached) {
		ret = 0;
		goto out;
	}
	f.dec = sb_body_decryptor_new(key, sum->size, bridge_mail_sink, out);
	ret = store_body_read(st, message_id, 0, UINT64_MAX, bridge_mail_piece,
	                      &f, error_r);
	if (ret <= 0) {
		sb_body_decryptor_free(&f.dec);
		goto out;
	}
	ret = -1;
	if (sb_body_decryptor_finish(&f.dec, &size, hash, error_r) < 0)
		goto out;
	/* The body the summary (and its signature) speaks of, or none. */
	if (size != sum->size ||
	    sodium_memcmp(hash, sum->body_hash, SB_HASH_BYTES) != 0) {
		*error_r = "the message's body does not match its summary";
		goto out;
	}
	ret = 1;
out:
	sb_summary_free(&sum);
	sb_secure_free(&key);
	return ret;
}
