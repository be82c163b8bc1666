/*
 * The outbox (docs/send.md): a message SMTP accepts is encrypted as it
 * comes under a fresh key, sealed to the account's own public key, into
 * the replica's outbox; the entry is QUEUED, on disk, before SMTP's 250.
 * The sender reads it back with the account's secret key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bridge/send.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "crypto/seal.h"

struct bridge_outbox_writer {
	struct store *st;
	int64_t outbox_id;
	struct store_body_writer *w;
	struct sb_body_encryptor *enc;
	const char *error; /* the body writer's, when it failed */
	char queue_id[BRIDGE_QUEUE_ID_MAX];
	/* Reads the Message-ID on the way (sent-copy.c). */
	const struct bridge_mail_keys *keys;
	struct bridge_send_build *msgid;
};

static int
bridge_outbox_sink(void *ctx, const void *data, size_t len)
{
	struct bridge_outbox_writer *w = ctx;

	return store_body_write_chunk(w->w, data, len, &w->error);
}

/* The envelope's recipients, one per line, as the outbox keeps them. */
static char *
bridge_outbox_lines(const char *const *recipients, size_t n)
{
	struct sb_buf b;
	size_t i;

	sb_buf_init(&b, SIZE_MAX);
	for (i = 0; i < n; i++) {
		if (sb_buf_add_printf(&b, "%s\n", recipients[i]) < 0)
			abort(); /* no maximum */
	}
	return sb_buf_take(&b, NULL);
}

int
bridge_outbox_begin(const struct bridge_mail_keys *k, struct store *st,
                    int64_t account_id, const char *sender,
                    const char *const *recipients, size_t n_recipients,
                    uint64_t max_size, struct bridge_outbox_writer **w_r,
                    const char **error_r)
{
	struct bridge_outbox_writer *w = sb_calloc(1, sizeof(*w));
	unsigned char packet[SB_KEY_PACKET_BYTES], raw[12];
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	char *lines;
	int ret;

	w->st = st;
	w->keys = k;
	w->msgid = bridge_send_build_new(NULL, 0, sender);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(w->queue_id, sizeof(w->queue_id), raw, sizeof(raw));
	sb_message_key_new(key);
	lines = bridge_outbox_lines(recipients, n_recipients);
	ret = sb_key_packet_seal(key, k->enc_pk, packet, error_r);
	if (ret == 0)
		ret = store_outbox_add(st, account_id, w->queue_id, sender,
		                       lines, packet, sizeof(packet),
		                       (int64_t)time(NULL), &w->outbox_id,
		                       error_r);
	free(lines);
	if (ret == 0)
		ret = store_outbox_write_begin(st, w->outbox_id,
		                               sb_body_stream_size(max_size),
		                               &w->w, error_r);
	if (ret == 0 &&
	    sb_body_encryptor_new(key, bridge_outbox_sink, w, &w->enc) < 0) {
		*error_r = w->error != NULL ? w->error
		                            : "cannot start the encryption";
		ret = -1;
	}
	sb_secure_free(&key);
	if (ret < 0) {
		bridge_outbox_abort(&w);
		return -1;
	}
	*w_r = w;
	return 0;
}

int
bridge_outbox_write(struct bridge_outbox_writer *w, const void *data,
                    size_t len, const char **error_r)
{
	/* A header too large has no Message-ID for us: not an error here. */
	(void)bridge_send_build_write(w->msgid, data, len);
	if (sb_body_encryptor_write(w->enc, data, len) == 0)
		return 0;
	*error_r = w->error != NULL ? w->error : "cannot encrypt the message";
	return -1;
}

/* The client's Message-ID, hashed, kept with the entry. */
static int
bridge_outbox_msgid(struct bridge_outbox_writer *w, const char **error_r)
{
	unsigned char hash[BRIDGE_MSGID_HASH_BYTES];
	const char *id, *why;

	if (bridge_send_build_finish(w->msgid, &why) < 0)
		return 0;
	id = bridge_send_build_message_id(w->msgid);
	if (id[0] == '\0')
		return 0;
	bridge_msgid_hash(w->keys, id, hash);
	return store_outbox_set_msgid(w->st, w->outbox_id, hash, sizeof(hash),
	                              error_r);
}

int
bridge_outbox_finish(struct bridge_outbox_writer **wp,
                     char queue_id_r[BRIDGE_QUEUE_ID_MAX], const char **error_r)
{
	struct bridge_outbox_writer *w = *wp;
	unsigned char hash[SB_HASH_BYTES];
	uint64_t size;

	if (sb_body_encryptor_finish(&w->enc, &size, hash) < 0) {
		*error_r = w->error != NULL ? w->error
		                            : "cannot encrypt the message";
		bridge_outbox_abort(wp);
		return -1;
	}
	if (bridge_outbox_msgid(w, error_r) < 0) {
		bridge_outbox_abort(wp);
		return -1;
	}
	/* QUEUED in the commit that stores the last piece (synchronous). */
	if (store_body_write_end(&w->w, error_r) < 0) {
		bridge_outbox_abort(wp);
		return -1;
	}
	memcpy(queue_id_r, w->queue_id, BRIDGE_QUEUE_ID_MAX);
	bridge_send_build_free(&w->msgid);
	free(w);
	*wp = NULL;
	return 0;
}

void
bridge_outbox_abort(struct bridge_outbox_writer **wp)
{
	struct bridge_outbox_writer *w = *wp;
	const char *error;

	if (w == NULL)
		return;
	sb_body_encryptor_free(&w->enc);
	store_body_write_abort(&w->w);
	bridge_send_build_free(&w->msgid);
	/* Deletes the entry in any state; else swept at the next start. */
	if (w->outbox_id != 0 &&
	    store_outbox_sent(w->st, w->outbox_id, &error) < 0)
		sb_log_warn("outbox: cannot drop an abandoned message: %s",
		            error);
	free(w);
	*wp = NULL;
}

/* Feeds the decryptor from the stored pieces. */
struct bridge_outbox_reader {
	struct sb_body_decryptor *dec;
};

static int
bridge_outbox_piece(void *ctx, const void *data, size_t len,
                    const char **error_r)
{
	struct bridge_outbox_reader *r = ctx;

	return sb_body_decryptor_feed(r->dec, data, len, error_r);
}

int
bridge_outbox_read(const struct bridge_mail_keys *k, struct store *st,
                   const struct store_outbox *o, sb_crypto_sink *sink,
                   void *ctx, const char **error_r)
{
	struct bridge_outbox_reader r;
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	unsigned char hash[SB_HASH_BYTES];
	uint64_t size;
	int ret;

	ret = sb_key_packet_open(o->sealed_key, o->sealed_key_len, k->enc_pk,
	                         k->enc_sk, key, error_r);
	if (ret < 0) {
		sb_secure_free(&key);
		return -1;
	}
	r.dec = sb_body_decryptor_new(key, UINT64_MAX, sink, ctx);
	sb_secure_free(&key);
	ret = store_outbox_read(st, o->id, 0, UINT64_MAX, bridge_outbox_piece,
	                        &r, error_r);
	if (ret < 0) {
		sb_body_decryptor_free(&r.dec);
		return -1;
	}
	return sb_body_decryptor_finish(&r.dec, &size, hash, error_r);
}
