/* Internals shared by the crypto/ files: magics and byte packing. */
#ifndef SB_CRYPTO_PRIVATE_H
#define SB_CRYPTO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* Every format starts with a 4-byte magic and a version byte. */
#define SB_MAGIC_BYTES 4
#define SB_FORMAT_V1   0x01

#define SB_MAGIC_WRAPPED_KEY "SBWK"
#define SB_MAGIC_BODY        "SBMB"
#define SB_MAGIC_SUMMARY     "SBMS"
#define SB_MAGIC_KEY_PACKET  "SBKP"
#define SB_MAGIC_CACHE       "SBCE"
#define SB_MAGIC_VAULT       "SBVT"
#define SB_MAGIC_VAULT_KEY   "SBVK"
#define SB_MAGIC_SIGNED      "SBSG"
#define SB_MAGIC_FINGERPRINT "SBFP"

/* XChaCha20-Poly1305 (IETF) nonce and tag sizes. */
#define SB_AEAD_NONCE_BYTES 24
#define SB_AEAD_TAG_BYTES   16

static inline void
sb_put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static inline void
sb_put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static inline void
sb_put_u64(unsigned char *p, uint64_t v)
{
	sb_put_u32(p, (uint32_t)(v >> 32));
	sb_put_u32(p + 4, (uint32_t)v);
}

static inline uint16_t
sb_get_u16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t
sb_get_u32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t
sb_get_u64(const unsigned char *p)
{
	return ((uint64_t)sb_get_u32(p) << 32) | sb_get_u32(p + 4);
}

struct sb_vault;
/* An empty vault (vault.c). */
struct sb_vault *sb_vault_new_empty(void);
/* The vault keeps fd (a held lock) and closes it when freed. */
void sb_vault_hold_lock(struct sb_vault *v, int fd);

/* The largest vault file: header, the largest plaintext, tag. */
#define SB_VAULT_MAX_FILE_BYTES                                              \
	(SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES + SB_VAULT_MAX_PLAINTEXT + \
	 SB_AEAD_TAG_BYTES)

/* True when in starts with magic and version 1. */
bool sb_format_check(const void *in, size_t len, const char *magic);

#endif
