/* Key packets (a message key sealed to one recipient) and cache sealing. */
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto-private.h"

#define SB_SEALED_KEY_BYTES (SB_KEY_BYTES + crypto_box_SEALBYTES)
#define SB_CACHE_HEAD_BYTES (SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES)

_Static_assert(SB_KEY_PACKET_BYTES == SB_MAGIC_BYTES + 1 + SB_SEALED_KEY_BYTES,
               "key packet size");
_Static_assert(SB_CACHE_OVERHEAD == SB_CACHE_HEAD_BYTES + SB_AEAD_TAG_BYTES,
               "cache overhead");

int
sb_key_packet_seal(const unsigned char key[SB_KEY_BYTES],
                   const unsigned char enc_pk[SB_KEY_BYTES],
                   unsigned char packet_r[SB_KEY_PACKET_BYTES],
                   const char **error_r)
{
	memcpy(packet_r, SB_MAGIC_KEY_PACKET, SB_MAGIC_BYTES);
	packet_r[4] = SB_FORMAT_V1;
	/*
	 * Fails for a public key of small order (the shared secret would be
	 * all zero): a hostile server or account can publish one.
	 */
	if (crypto_box_seal(packet_r + 5, key, SB_KEY_BYTES, enc_pk) != 0) {
		*error_r = "the recipient's public key is not a valid key";
		return -1;
	}
	return 0;
}

int
sb_key_packet_open(const void *in, size_t len,
                   const unsigned char enc_pk[SB_KEY_BYTES],
                   const unsigned char enc_sk[SB_KEY_BYTES],
                   unsigned char key_r[SB_KEY_BYTES], const char **error_r)
{
	const unsigned char *p = in;

	if (len != SB_KEY_PACKET_BYTES ||
	    !sb_format_check(in, len, SB_MAGIC_KEY_PACKET)) {
		*error_r = "not a key packet of a known version";
		return -1;
	}
	if (crypto_box_seal_open(key_r, p + 5, SB_SEALED_KEY_BYTES, enc_pk,
	                         enc_sk) != 0) {
		*error_r = "the key packet is not for this key, or was altered";
		return -1;
	}
	return 0;
}

/* The associated data of a cache value: its header and its context. */
static unsigned char *
sb_cache_ad(const char *context, size_t *len_r)
{
	size_t clen = strlen(context);
	unsigned char *ad = sb_malloc(SB_MAGIC_BYTES + 1 + clen);

	memcpy(ad, SB_MAGIC_CACHE, SB_MAGIC_BYTES);
	ad[4] = SB_FORMAT_V1;
	memcpy(ad + 5, context, clen);
	*len_r = SB_MAGIC_BYTES + 1 + clen;
	return ad;
}

int
sb_cache_seal(const unsigned char key[SB_KEY_BYTES], const char *context,
              const void *in, size_t len, struct sb_buf *out)
{
	unsigned char head[SB_CACHE_HEAD_BYTES];
	unsigned char *ad, *ct;
	size_t ad_len;
	int ret;

	memcpy(head, SB_MAGIC_CACHE, SB_MAGIC_BYTES);
	head[4] = SB_FORMAT_V1;
	randombytes_buf(head + 5, SB_AEAD_NONCE_BYTES);
	ad = sb_cache_ad(context, &ad_len);
	if (len > SIZE_MAX - SB_CACHE_OVERHEAD)
		sb_oom(len);
	ct = sb_malloc(len + SB_AEAD_TAG_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(ct, NULL, in, len, ad,
	                                           ad_len, NULL, head + 5, key);
	ret = sb_buf_add(out, head, sizeof(head)) != 0 ||
	                      sb_buf_add(out, ct, len + SB_AEAD_TAG_BYTES) != 0
	              ? -1
	              : 0;
	free(ct);
	free(ad);
	return ret;
}

int
sb_cache_open(const unsigned char key[SB_KEY_BYTES], const char *context,
              const void *in, size_t len, struct sb_buf *out,
              const char **error_r)
{
	const unsigned char *p = in;
	unsigned char *ad, *plain;
	size_t ad_len, plain_len;
	int ret;

	if (len < SB_CACHE_OVERHEAD ||
	    !sb_format_check(in, len, SB_MAGIC_CACHE)) {
		*error_r = "not a cache value of a known version";
		return -1;
	}
	plain_len = len - SB_CACHE_OVERHEAD;
	plain = sb_secure_alloc(plain_len + 1);
	ad = sb_cache_ad(context, &ad_len);
	ret = crypto_aead_xchacha20poly1305_ietf_decrypt(
	        plain, NULL, NULL, p + SB_CACHE_HEAD_BYTES,
	        len - SB_CACHE_HEAD_BYTES, ad, ad_len, p + 5, key);
	free(ad);
	if (ret != 0) {
		*error_r = "the cache value is damaged, moved or under "
		           "another key";
	} else if (sb_buf_add(out, plain, plain_len) != 0) {
		*error_r = "the cache value is larger than allowed";
		ret = -1;
	}
	sb_secure_free(&plain);
	return ret;
}
