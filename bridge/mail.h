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
#include "crypto/crypto.h"
#include "store/store.h"

/* The keys that open an account's key packets and sign what it writes. */
struct bridge_mail_keys {
	unsigned char *enc_sk; /* secure memory */
	unsigned char enc_pk[SB_KEY_BYTES];
	unsigned char *sign_sk; /* secure memory */
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
 * or -1 (also when the body does not match its summary's size and hash).
 */
int bridge_mail_body(const struct bridge_mail_keys *k, struct store *st,
                     int64_t message_id, struct sb_buf *out,
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
