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

/* The keys that open an account's key packets. */
struct bridge_mail_keys {
	unsigned char *enc_sk; /* secure memory */
	unsigned char enc_pk[SB_KEY_BYTES];
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

#endif
