/*
 * The send pipeline (docs/send.md): SMTP puts a message into the outbox
 * (outbox.c), encrypted and on disk before its 250; the sender of each
 * account (send.c) then submits it to the service: Bcc stripped from
 * what recipients get, one body sealed with a key packet per recipient
 * on the service, a cleartext copy for those elsewhere, the sender's
 * own copy for Sent, one Idempotency-Key per message. A temporary
 * failure is retried with backoff; a permanent one puts a bounce in the
 * sender's INBOX (bounce.c).
 */
#ifndef SB_BRIDGE_SEND_H
#define SB_BRIDGE_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/client.h"
#include "bridge/mail.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "crypto/crypto.h"
#include "store/store.h"

/* A queue id: hex, NUL-terminated. */
#define BRIDGE_QUEUE_ID_MAX 25

/* ---- outbox.c: into the outbox and back ---- */

struct bridge_outbox_writer;

/*
 * A message from sender to the recipients, of at most max_size bytes,
 * written in pieces and encrypted as it comes into a RECEIVING outbox
 * entry; finish makes it QUEUED (durable) and gives its queue id; abort
 * removes it. finish frees the writer either way.
 */
int bridge_outbox_begin(const struct bridge_mail_keys *k, struct store *st,
                        int64_t account_id, const char *sender,
                        const char *const *recipients, size_t n_recipients,
                        uint64_t max_size, struct bridge_outbox_writer **w_r,
                        const char **error_r) SB_WUR;
int bridge_outbox_write(struct bridge_outbox_writer *w, const void *data,
                        size_t len, const char **error_r) SB_WUR;
int bridge_outbox_finish(struct bridge_outbox_writer **w,
                         char queue_id_r[BRIDGE_QUEUE_ID_MAX],
                         const char **error_r) SB_WUR;
void bridge_outbox_abort(struct bridge_outbox_writer **w);

/*
 * Decrypts a QUEUED or FAILED entry's message into sink. The sink sees
 * the plaintext before it is known whole: on -1, discard what it got.
 */
int bridge_outbox_read(const struct bridge_mail_keys *k, struct store *st,
                       const struct store_outbox *o, sb_crypto_sink *sink,
                       void *ctx, const char **error_r) SB_WUR;

/* ---- send-build.c: the header of each copy ---- */

/* The largest header section a message may have. */
#define BRIDGE_SEND_HEADER_MAX (1024 * 1024)

/* Where a copy of the message goes, with or without its Bcc fields. */
struct bridge_send_out {
	sb_crypto_sink *sink;
	void *ctx;
	bool keep_bcc;
};

struct bridge_send_build;

/*
 * Splits a message written in pieces into its header section and body,
 * and writes each out its copy: the header without Bcc (unless
 * keep_bcc), with a Date and a Message-ID added when missing (the
 * Message-ID's domain is the sender's), then the body as it comes.
 * Nothing but the header section is held.
 */
struct bridge_send_build *bridge_send_build_new(const struct bridge_send_out *o,
                                                size_t n_outs,
                                                const char *sender);
/* An sb_crypto_sink: 0, or -1 (a copy's sink failed, or see below). */
int bridge_send_build_write(void *build, const void *data, size_t len);
/* Why the message itself was refused (for good), or NULL. */
const char *bridge_send_build_error(const struct bridge_send_build *b);
/* The end of the message: 0 or -1 with *error_r. */
int bridge_send_build_finish(struct bridge_send_build *b,
                             const char **error_r) SB_WUR;
/* The header section as the client wrote it (empty before its end). */
const char *bridge_send_build_header(const struct bridge_send_build *b,
                                     size_t *len_r);
/*
 * The Message-ID the client gave, without angle brackets ("" when it gave
 * none, and before the header's end).
 */
const char *bridge_send_build_message_id(const struct bridge_send_build *b);
void bridge_send_build_free(struct bridge_send_build **b);

/* ---- send.c: the sender of one account ---- */

struct bridge_sender_config {
	const char *replica_path;
	struct store_hub *hub; /* wakes the thread; NULL: it polls */
	int64_t account_id;    /* the replica's */
	const char *email;
	struct api_client *api; /* the sender's own */
	const struct bridge_mail_keys *keys;
	/* Seconds a message is retried before it bounces; 0: 2 days. */
	int64_t give_up_s;
};

struct bridge_sender;

int bridge_sender_new(const struct bridge_sender_config *cfg,
                      struct bridge_sender **s_r, const char **error_r) SB_WUR;
int bridge_sender_start(struct bridge_sender *s, const char **error_r) SB_WUR;
void bridge_sender_stop(struct bridge_sender *s);
void bridge_sender_free(struct bridge_sender **s);
/*
 * Submits every due message of the account once, on the caller's thread
 * (the thread not running): *sent_r counts those the service took.
 */
int bridge_sender_run(struct bridge_sender *s, size_t *sent_r,
                      const char **error_r) SB_WUR;

/* ---- sent-copy.c: one Sent copy per message sent ---- */

#define BRIDGE_MSGID_HASH_BYTES 32

/* A Message-ID (without brackets) hashed with a key of the account's. */
void bridge_msgid_hash(const struct bridge_mail_keys *k, const char *msgid,
                       unsigned char hash_r[BRIDGE_MSGID_HASH_BYTES]);
/*
 * An APPEND of a message with this Message-ID (NULL or "": none) to the
 * mailbox: when it is Sent and the message was sent through the bridge,
 * 1 with the UID of the Sent copy the service filed (the APPEND stores
 * nothing), else 0 (a message still in the outbox will be filed without
 * the service's copy), or -1.
 */
int bridge_sent_copy_check(const struct bridge_mail_keys *k, struct store *st,
                           int64_t account_id, int64_t mailbox_id,
                           const char *msgid, uint32_t *uid_r,
                           const char **error_r) SB_WUR;

/* ---- bounce.c ---- */

/*
 * A delivery status notification (RFC 3464) from the bridge into the
 * account's INBOX: why the message with this header section was not
 * delivered, to whom. 0 or -1.
 */
int bridge_bounce(const struct bridge_mail_keys *k, struct store *st,
                  int64_t account_id, const char *sender,
                  const char *recipients, const char *why, const void *headers,
                  size_t headers_len, const char **error_r) SB_WUR;

#endif
