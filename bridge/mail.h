/*
 * Reading mail from the replica with an account's keys (bridge/mail.c):
 * what the IMAP server's backend hands out, decrypted in memory only.
 */
#ifndef SB_BRIDGE_MAIL_H
#define SB_BRIDGE_MAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "bridge/bridge.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "crypto/cache.h"
#include "crypto/crypto.h"
#include "store/store.h"

/* The keys that open an account's key packets and sign what it writes. */
struct bridge_mail_keys {
	unsigned char *enc_sk; /* secure memory */
	unsigned char enc_pk[SB_KEY_BYTES];
	unsigned char *sign_sk;              /* secure memory */
	unsigned char sign_pk[SB_KEY_BYTES]; /* when sign_sk is set */
	/* Seals what the replica derives from content; secure memory. */
	unsigned char *cache_key;
	/* The account's addresses (lower case): its email and others. */
	char **addresses;
	size_t n_addresses;
};

int bridge_mail_keys_load(const struct sb_vault *v, const char *account_id,
                          struct bridge_mail_keys *k,
                          const char **error_r) SB_WUR;
void bridge_mail_keys_clear(struct bridge_mail_keys *k);

/*
 * The message key (into key, SB_KEY_BYTES of the caller's secure
 * memory) and the summary of a replica message; *cached_r (may be NULL)
 * tells whether its body is stored. 0 or -1.
 */
int bridge_mail_summary(const struct bridge_mail_keys *k, struct store *st,
                        int64_t message_id, unsigned char *key,
                        struct sb_summary **s_r, bool *cached_r,
                        const char **error_r) SB_WUR;
/*
 * The whole message, decrypted, appended to out (give it a secret
 * buffer): 1, or 0 when its body is not stored yet (download it first),
 * or -1 (also when the body does not match its summary's size and hash,
 * or its header section is not the summary's header record). On 0 and
 * -1, what was appended is the caller's to drop.
 */
int bridge_mail_body(const struct bridge_mail_keys *k, struct store *st,
                     int64_t message_id, struct sb_buf *out,
                     const char **error_r) SB_WUR;
/*
 * bridge_mail_body with the message key and the summary already opened
 * (bridge_mail_summary), for a body stored (else 0).
 */
int bridge_mail_body_open(struct store *st, int64_t message_id,
                          const unsigned char *key,
                          const struct sb_summary *sum, struct sb_buf *out,
                          const char **error_r) SB_WUR;
/*
 * The length of a message's header section, up to and including the LF
 * of its first empty line (a line of nothing or only CRs), as
 * crypto/seal.c keeps it for the summary; the whole length when none.
 */
size_t bridge_mail_header_end(const void *message, size_t len);

/* ---- Derived data and the signature header (bridge/mail-verdict.c) ---- */

/*
 * A message's cache records (crypto/cache.h), opened from the replica's
 * messages.cache with the account's cache key; the records point into
 * plain.
 */
struct bridge_mail_cache {
	struct sb_buf plain; /* secret */
	struct sb_cache_records rs;
};

void bridge_mail_cache_init(struct bridge_mail_cache *c);
void bridge_mail_cache_free(struct bridge_mail_cache *c);
/*
 * Reads them: 1, or 0 when the message has none (or none that opens or
 * decodes: logged, and the next add replaces it), or -1 with *error_r.
 * c is left empty when not 1.
 */
int bridge_mail_cache_load(const struct bridge_mail_keys *k, struct store *st,
                           int64_t message_id, struct bridge_mail_cache *c,
                           const char **error_r) SB_WUR;
/*
 * Adds records, in one transaction with reading what is stored: a type
 * the message's value already has keeps its value (a verdict, once
 * fixed, stays). c then holds the records as stored. 0, or -1 with
 * *error_r (nothing changed).
 */
int bridge_mail_cache_add(const struct bridge_mail_keys *k, struct store *st,
                          int64_t message_id, const struct sb_cache_record *add,
                          size_t n, struct bridge_mail_cache *c,
                          const char **error_r) SB_WUR;

/*
 * A sender's signing key as the service lists it: 1 with the key, 0
 * when the service says it has none (a definite answer), -1 with
 * *error_r when it cannot be asked now.
 */
typedef int bridge_mail_key_fn(void *ctx, const char *email,
                               unsigned char sign_pk[SB_KEY_BYTES],
                               const char **error_r);

/*
 * The signature header served with a message (docs/imap.md), appended to
 * field: nothing for a message that is not signed or that the account
 * signed itself (its key, a valid signature); else the verdict fixed in
 * its cache value, or, the first time, computed with the sender's key
 * from key_fn and fixed there. -1 with *error_r when it is not fixed
 * yet and cannot be now (the key lookup failed, the cache cannot be
 * written): the message must not be served.
 */
int bridge_mail_verdict_field(const struct bridge_mail_keys *k,
                              struct store *st, int64_t message_id,
                              const struct sb_summary *sum,
                              bridge_mail_key_fn *key_fn, void *key_ctx,
                              struct sb_buf *field,
                              const char **error_r) SB_WUR;
/*
 * The message as served, from its summary alone: its header section
 * (appended to headers) with the signature header first, and its size
 * (the header's length and the plaintext's). 0, or -1 with *error_r.
 */
int bridge_mail_headers(const struct bridge_mail_keys *k, struct store *st,
                        int64_t message_id, bridge_mail_key_fn *key_fn,
                        void *key_ctx, struct sb_buf *headers, uint64_t *size_r,
                        const char **error_r) SB_WUR;
/*
 * The whole message as served (the signature header, then the message):
 * as bridge_mail_body, 1, 0 when its body is not stored yet, or -1; out
 * is left as it was unless 1.
 */
int bridge_mail_message(const struct bridge_mail_keys *k, struct store *st,
                        int64_t message_id, bridge_mail_key_fn *key_fn,
                        void *key_ctx, struct sb_buf *out,
                        const char **error_r) SB_WUR;

/*
 * APPEND: a message written in pieces (size bytes in all) is sealed for
 * the account as it comes, into a staged message of the replica; finish
 * puts it into the mailbox with its keywords and date and queues its
 * import (store_local_append). Signed when its From is the account's.
 */
struct bridge_mail_append;

int bridge_mail_append_begin(const struct bridge_mail_keys *k, struct store *st,
                             int64_t account_id, uint64_t size,
                             struct bridge_mail_append **a_r,
                             const char **error_r) SB_WUR;
int bridge_mail_append_write(struct bridge_mail_append *a, const void *data,
                             size_t len, const char **error_r) SB_WUR;
/* Frees a either way; 0 with the message's UID in the mailbox, or -1. */
int bridge_mail_append_finish(struct bridge_mail_append **a, int64_t mailbox_id,
                              const char *keywords, int64_t received_at,
                              uint32_t *uid_r, const char **error_r) SB_WUR;
/* Abandons it: the staged message goes. */
void bridge_mail_append_abort(struct bridge_mail_append **a);

#endif
