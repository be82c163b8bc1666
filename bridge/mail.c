/*
 * Reading an account's mail from the replica: the message key from the
 * key packet, the summary (plaintext size, header section), and the body
 * stream decrypted into secure memory, its hash checked against the
 * summary's (docs/crypto.md, "Opening a message"). Nothing decrypted is
 * ever written to disk.
 */
#include "bridge/mail.h"
#include "bridge/send.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "crypto/seal.h"

static void
bridge_mail_add_address(struct bridge_mail_keys *k, const void *p, size_t len)
{
	char *a;
	size_t i;

	if (len == 0)
		return;
	a = sb_memdupz(p, len);
	for (i = 0; i < len; i++) {
		if (a[i] >= 'A' && a[i] <= 'Z')
			a[i] = (char)(a[i] - 'A' + 'a');
	}
	k->addresses = sb_reallocarray(k->addresses, k->n_addresses + 1,
	                               sizeof(*k->addresses));
	k->addresses[k->n_addresses++] = a;
}

/* The email, and the addresses the service listed at the last login. */
static void
bridge_mail_addresses(const struct sb_vault *v, const char *account_id,
                      struct bridge_mail_keys *k)
{
	const unsigned char *value, *p, *nl, *end;
	size_t len;

	if (bridge_entry_get(v, account_id, BRIDGE_ENTRY_EMAIL, &value, &len))
		bridge_mail_add_address(k, value, len);
	if (!bridge_entry_get(v, account_id, BRIDGE_ENTRY_ADDRESSES, &value,
	                      &len))
		return;
	for (p = value, end = value + len; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		bridge_mail_add_address(k, p, (size_t)(nl - p));
	}
}

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
	if (bridge_entry_get(v, account_id, BRIDGE_ENTRY_SIGN_SK, &sk,
	                     &sk_len) &&
	    sk_len == SB_SIGN_SECRET_BYTES) {
		k->sign_sk = sb_secure_alloc(SB_SIGN_SECRET_BYTES);
		memcpy(k->sign_sk, sk, SB_SIGN_SECRET_BYTES);
		/* An Ed25519 secret key ends with its public key. */
		memcpy(k->sign_pk, sk + SB_SIGN_SECRET_BYTES - SB_KEY_BYTES,
		       SB_KEY_BYTES);
	}
	if (bridge_entry_get(v, account_id, BRIDGE_ENTRY_CACHE_KEY, &sk,
	                     &sk_len) &&
	    sk_len == SB_KEY_BYTES) {
		k->cache_key = sb_secure_alloc(SB_KEY_BYTES);
		memcpy(k->cache_key, sk, SB_KEY_BYTES);
	}
	bridge_mail_addresses(v, account_id, k);
	return 0;
}

void
bridge_mail_keys_clear(struct bridge_mail_keys *k)
{
	size_t i;

	if (k->enc_sk != NULL)
		sb_secure_free(&k->enc_sk);
	if (k->sign_sk != NULL)
		sb_secure_free(&k->sign_sk);
	if (k->cache_key != NULL)
		sb_secure_free(&k->cache_key);
	for (i = 0; i < k->n_addresses; i++)
		free(k->addresses[i]);
	free(k->addresses);
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

size_t
bridge_mail_header_end(const void *message, size_t len)
{
	const char *p = message;
	bool bol = true;
	size_t i;

	/* As the sealer keeps it (crypto/seal.c): a line of CRs is empty. */
	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			if (bol)
				return i + 1;
			bol = true;
		} else if (p[i] != '\r') {
			bol = false;
		}
	}
	return len;
}

/*
 * True when the message's header section is the one its summary holds
 * (or the summary holds none): what FETCH serves from the summary
 * (RFC822.SIZE, ENVELOPE, BODY[HEADER]) then describes what it serves
 * from the body.
 */
static bool
bridge_mail_headers_match(const struct sb_summary *sum, const char *message,
                          size_t len)
{
	size_t end;

	if (sum->headers == NULL)
		return true;
	end = bridge_mail_header_end(message, len);
	return end == sum->headers_len &&
	       (end == 0 || memcmp(message, sum->headers, end) == 0);
}

int
bridge_mail_body_open(struct store *st, int64_t message_id,
                      const unsigned char *key, const struct sb_summary *sum,
                      struct sb_buf *out, const char **error_r)
{
	unsigned char hash[SB_HASH_BYTES];
	struct bridge_mail_feed f = {NULL};
	size_t start = out->len;
	uint64_t size;
	int ret;

	f.dec = sb_body_decryptor_new(key, sum->size, bridge_mail_sink, out);
	ret = store_body_read(st, message_id, 0, UINT64_MAX, bridge_mail_piece,
	                      &f, error_r);
	if (ret <= 0) {
		sb_body_decryptor_free(&f.dec);
		return ret;
	}
	if (sb_body_decryptor_finish(&f.dec, &size, hash, error_r) < 0)
		return -1;
	/* The body the summary (and its signature) speaks of, or none. */
	if (size != sum->size ||
	    sodium_memcmp(hash, sum->body_hash, SB_HASH_BYTES) != 0) {
		*error_r = "the message's body does not match its summary";
		return -1;
	}
	if (!bridge_mail_headers_match(
	            sum, out->data != NULL ? out->data + start : "",
	            out->len - start)) {
		sb_log_warn("message %lld: its body's header section differs "
		            "from its summary's; it is not served",
		            (long long)message_id);
		*error_r = "the message's header section differs from its "
		           "summary's";
		return -1;
	}
	return 1;
}

int
bridge_mail_body(const struct bridge_mail_keys *k, struct store *st,
                 int64_t message_id, struct sb_buf *out, const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_summary *sum = NULL;
	bool cached;
	int ret = -1;

	if (bridge_mail_summary(k, st, message_id, key, &sum, &cached,
	                        error_r) == 0)
		ret = cached ? bridge_mail_body_open(st, message_id, key, sum,
		                                     out, error_r)
		             : 0;
	sb_summary_free(&sum);
	sb_secure_free(&key);
	return ret;
}

/* ---- APPEND ---- */

struct bridge_mail_append {
	const struct bridge_mail_keys *keys;
	struct store *st;
	int64_t account_id, message_id;
	struct store_body_writer *w;
	struct sb_sealer *sealer;
	const char *error; /* the body writer's, when it failed */
	/* Reads the Message-ID on the way (sent-copy.c). */
	struct bridge_send_build *msgid;
};

/* The sealer's output: pieces of the body stream into the replica. */
static int
bridge_mail_append_sink(void *ctx, const void *data, size_t len)
{
	struct bridge_mail_append *a = ctx;

	return store_body_write_chunk(a->w, data, len, &a->error);
}

int
bridge_mail_append_begin(const struct bridge_mail_keys *k, struct store *st,
                         int64_t account_id, uint64_t size,
                         struct bridge_mail_append **a_r, const char **error_r)
{
	struct bridge_mail_append *a = sb_calloc(1, sizeof(*a));

	a->keys = k;
	a->st = st;
	a->account_id = account_id;
	a->msgid = bridge_send_build_new(NULL, 0, "");
	if (store_stage_message(st, account_id, sb_body_stream_size(size),
	                        (int64_t)time(NULL), &a->message_id,
	                        error_r) < 0) {
		bridge_send_build_free(&a->msgid);
		free(a);
		return -1;
	}
	if (store_body_write_begin(st, a->message_id, &a->w, error_r) < 0 ||
	    sb_sealer_new(bridge_mail_append_sink, a, &a->sealer) < 0) {
		if (a->sealer == NULL && a->w != NULL)
			*error_r = "cannot start the encryption";
		bridge_mail_append_abort(&a);
		return -1;
	}
	*a_r = a;
	return 0;
}

int
bridge_mail_append_write(struct bridge_mail_append *a, const void *data,
                         size_t len, const char **error_r)
{
	/* A header too large has no Message-ID for us: not an error here. */
	(void)bridge_send_build_write(a->msgid, data, len);
	if (sb_sealer_write(a->sealer, data, len) == 0)
		return 0;
	*error_r = a->error != NULL ? a->error : "cannot encrypt the message";
	return -1;
}

int
bridge_mail_append_finish(struct bridge_mail_append **ap, int64_t mailbox_id,
                          const char *keywords, int64_t received_at,
                          uint32_t *uid_r, const char **error_r)
{
	struct bridge_mail_append *a = *ap;
	unsigned char packet[SB_KEY_PACKET_BYTES];
	struct sb_signer signer, *sp = NULL;
	struct store_append app;
	struct sb_sealed sealed;
	const char *why;
	int ret = -1;

	memset(&sealed, 0, sizeof(sealed));
	/* Sent through the bridge, filed by the service: stored already. */
	if (bridge_send_build_finish(a->msgid, &why) == 0) {
		ret = bridge_sent_copy_check(
		        a->keys, a->st, a->account_id, mailbox_id,
		        bridge_send_build_message_id(a->msgid), uid_r, error_r);
		if (ret != 0) {
			bridge_mail_append_abort(ap);
			return ret > 0 ? 0 : -1;
		}
		ret = -1;
	}
	if (a->keys->sign_sk != NULL) {
		signer.sign_sk = a->keys->sign_sk;
		signer.addresses = (const char *const *)a->keys->addresses;
		signer.n_addresses = a->keys->n_addresses;
		sp = &signer;
	}
	if (sb_sealer_finish(&a->sealer, sp, &sealed, error_r) < 0) {
		if (a->error != NULL)
			*error_r = a->error;
		goto out;
	}
	if (sb_key_packet_seal(sealed.key, a->keys->enc_pk, packet, error_r) <
	            0 ||
	    store_body_write_end(&a->w, error_r) < 0)
		goto out;
	memset(&app, 0, sizeof(app));
	app.summary = sealed.summary.data;
	app.summary_len = sealed.summary.len;
	app.key_packet = packet;
	app.key_packet_len = sizeof(packet);
	app.keywords = keywords;
	app.received_at = received_at;
	ret = store_local_append(a->st, a->message_id, mailbox_id, &app,
	                         (int64_t)time(NULL), uid_r, error_r);
out:
	sb_sealed_clear(&sealed);
	if (ret == 0) {
		bridge_send_build_free(&a->msgid);
		free(a);
		*ap = NULL;
	} else {
		bridge_mail_append_abort(ap);
	}
	return ret;
}

void
bridge_mail_append_abort(struct bridge_mail_append **ap)
{
	struct bridge_mail_append *a = *ap;
	const char *error;

	if (a == NULL)
		return;
	sb_sealer_free(&a->sealer);
	store_body_write_abort(&a->w);
	bridge_send_build_free(&a->msgid);
	if (store_stage_drop(a->st, a->message_id, &error) < 0) {
		/* Swept at the next start. */
	}
	free(a);
	*ap = NULL;
}
