/*
 * Fuzzes the decoders of crypto/'s binary formats. The first input byte
 * picks the format; the rest is the input. A MAC stops random bytes early,
 * so for the summary and the vault the rest is sealed first under a fixed
 * key with the documented header, and the decoder behind the MAC sees it
 * as plaintext. The body stream is fed both as raw bytes and as the
 * encryption of the input, split at a point the input chooses, and must
 * then decrypt to the input exactly.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

static const unsigned char fuzz_key[SB_KEY_BYTES] = {7, 7, 7};
static const unsigned char fuzz_nonce[24] = {1};

static int
sink_buf(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

/* magic|version|nonce|AEAD(plain) with the header as associated data. */
static unsigned char *
seal_as(const char *magic, const uint8_t *plain, size_t len, size_t *out_len)
{
	unsigned char *out = malloc(29 + len + 16);

	if (out == NULL)
		abort();
	memcpy(out, magic, 4);
	out[4] = 1;
	memcpy(out + 5, fuzz_nonce, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        out + 29, NULL, plain, len, out, 5, NULL, out + 5, fuzz_key);
	*out_len = 29 + len + 16;
	return out;
}

static void
fuzz_summary(const uint8_t *data, size_t size)
{
	struct sb_summary *s = NULL;
	const char *error;
	size_t len;
	unsigned char *in = seal_as("SBMS", data, size, &len);

	if (sb_summary_open(fuzz_key, in, len, &s, &error) == 0) {
		struct sb_buf again;
		struct sb_verdict v;
		unsigned char hash[32] = {0};

		sb_summary_verify(s, hash, fuzz_key, "a@b", &v);
		/* What opened must seal again. */
		sb_buf_init(&again, 8 * 1024 * 1024);
		if (sb_summary_seal(s, fuzz_key, &again) != 0)
			abort();
		sb_buf_free(&again);
		sb_summary_free(&s);
	}
	free(in);
	/* And the raw bytes as a sealed summary. */
	if (sb_summary_open(fuzz_key, data, size, &s, &error) == 0)
		abort();
}

static void
fuzz_vault(const uint8_t *data, size_t size)
{
	struct sb_vault *v = NULL;
	const char *error;
	size_t len;
	unsigned char *in = seal_as("SBVT", data, size, &len);

	if (sb_vault_decode(fuzz_key, in, len, &v, &error) == 0) {
		struct sb_buf again;

		sb_buf_init(&again, 32 * 1024 * 1024);
		if (sb_vault_encode(v, fuzz_key, &again) != 0)
			abort();
		sb_buf_free(&again);
		sb_vault_free(&v);
	}
	free(in);
}

static void
fuzz_body_raw(const uint8_t *data, size_t size)
{
	struct sb_body_decryptor *dec;
	unsigned char hash[32];
	const char *error;
	struct sb_buf out;
	uint64_t n;

	sb_buf_init(&out, 1 << 20);
	dec = sb_body_decryptor_new(fuzz_key, 1 << 20, sink_buf, &out);
	if (sb_body_decryptor_feed(dec, data, size, &error) == 0)
		(void)!sb_body_decryptor_finish(&dec, &n, hash, &error);
	sb_body_decryptor_free(&dec);
	sb_buf_free(&out);
}

static void
fuzz_body_round_trip(const uint8_t *data, size_t size)
{
	struct sb_body_encryptor *enc;
	struct sb_body_decryptor *dec;
	unsigned char h1[32], h2[32];
	struct sb_buf ct, pt;
	const char *error;
	size_t split = size > 0 ? data[0] * 301u % (size + 1) : 0;
	uint64_t n1, n2;

	sb_buf_init(&ct, 4 << 20);
	sb_buf_init(&pt, 4 << 20);
	if (sb_body_encryptor_new(fuzz_key, sink_buf, &ct, &enc) != 0 ||
	    sb_body_encryptor_write(enc, data, size) != 0 ||
	    sb_body_encryptor_finish(&enc, &n1, h1) != 0)
		abort();
	dec = sb_body_decryptor_new(fuzz_key, 4 << 20, sink_buf, &pt);
	split = split > ct.len ? ct.len : split;
	if (sb_body_decryptor_feed(dec, ct.data, split, &error) != 0 ||
	    sb_body_decryptor_feed(dec, ct.data + split, ct.len - split,
	                           &error) != 0 ||
	    sb_body_decryptor_finish(&dec, &n2, h2, &error) != 0)
		abort();
	if (n1 != size || n2 != size || pt.len != size ||
	    (size > 0 && memcmp(pt.data, data, size) != 0) ||
	    memcmp(h1, h2, 32) != 0)
		abort();
	sb_buf_free(&ct);
	sb_buf_free(&pt);
}

static void
fuzz_small_formats(const uint8_t *data, size_t size)
{
	unsigned char out[32], pk[32] = {9}, sk[32] = {3};
	unsigned char packet[SB_KEY_PACKET_BYTES];
	const char *error;

	/* Any 32 bytes as a recipient key: refused or sealed, never a crash. */
	if (size >= 32)
		(void)!sb_key_packet_seal(fuzz_key, data, packet, &error);
	if (sb_key_unwrap(fuzz_key, SB_WRAP_ACCOUNT_KEY, "a", data, size, out,
	                  &error) == 0 ||
	    sb_key_packet_open(data, size, pk, sk, out, &error) == 0)
		abort();
	{
		struct sb_buf b;

		sb_buf_init(&b, 1 << 20);
		if (sb_cache_open(fuzz_key, "ctx", data, size, &b, &error) == 0)
			abort();
		sb_buf_free(&b);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		if (sb_crypto_init() != 0)
			abort();
		ready = 1;
	}
	if (size == 0)
		return 0;
	switch (data[0] % 5) {
	case 0:
		fuzz_summary(data + 1, size - 1);
		break;
	case 1:
		fuzz_vault(data + 1, size - 1);
		break;
	case 2:
		fuzz_body_raw(data + 1, size - 1);
		break;
	case 3:
		fuzz_body_round_trip(data + 1, size - 1);
		break;
	default:
		fuzz_small_formats(data + 1, size - 1);
		break;
	}
	return 0;
}
