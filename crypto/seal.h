/*
 * Sealing a whole message (docs/crypto.md, "Messages"): the plaintext,
 * written in pieces of any size, becomes the body stream under a fresh
 * message key (to the caller's sink); the header section is kept on the
 * way; finishing seals the summary, signed when the caller gives a signer
 * whose address is the message's From. Key packets for each reader are
 * then made from the message key. The plaintext is never held whole.
 */
#ifndef SB_CRYPTO_SEAL_H
#define SB_CRYPTO_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "crypto/crypto.h"

struct sb_sealer;

/* Who signs: the account's Ed25519 key and the addresses it owns. */
struct sb_signer {
	const unsigned char *sign_sk; /* SB_SIGN_SECRET_BYTES */
	const char *const *addresses; /* lower case */
	size_t n_addresses;
};

/* What a finished sealer gives. The key is in secure memory. */
struct sb_sealed {
	unsigned char *key; /* SB_KEY_BYTES; sb_sealed_clear wipes it */
	struct sb_buf summary;
	uint64_t size; /* of the plaintext */
	bool is_signed;
};

/* A sealer writing the body stream to sink (which may fail: then so do
 * the writes and finish). */
int sb_sealer_new(sb_crypto_sink *sink, void *ctx,
                  struct sb_sealer **s_r) SB_WUR;
int sb_sealer_write(struct sb_sealer *s, const void *data, size_t len) SB_WUR;
/*
 * Ends the body stream and seals the summary: size, hash, the header
 * section (left out when past SB_SUMMARY_MAX_HEADERS), and, with a signer
 * (may be NULL) whose addresses hold the From address: the sender, the
 * To and Cc addresses as recipients, and the signature. A message whose
 * From is not one of the signer's addresses is sealed unsigned: a
 * signature would claim what the signer did not write. Frees the sealer
 * either way.
 */
int sb_sealer_finish(struct sb_sealer **s, const struct sb_signer *signer,
                     struct sb_sealed *out, const char **error_r) SB_WUR;
void sb_sealer_free(struct sb_sealer **s);
void sb_sealed_clear(struct sb_sealed *out);

/*
 * The addresses of a header section for a summary: the first From
 * mailbox (NULL when none) and the To and Cc mailboxes, lower-cased,
 * sorted and unique; those too long or not in normal form are left out.
 * Owned: free with sb_header_addresses_free.
 */
struct sb_header_addresses {
	char *from;
	char **recipients;
	size_t n_recipients;
};

void sb_header_addresses_get(const void *headers, size_t len,
                             struct sb_header_addresses *out);
void sb_header_addresses_free(struct sb_header_addresses *a);

/* The ciphertext size of a body stream of `plain` bytes. */
uint64_t sb_body_stream_size(uint64_t plain);

#endif
