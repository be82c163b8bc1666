#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "crypto/crypto.h"
#include "test.h"

#define MB (1024 * 1024)

static int
sink_buf(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

/* Fills p with a repeatable pattern that is not all one byte. */
static void
pattern(unsigned char *p, size_t len, unsigned seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)((i * 131 + seed * 7 + (i >> 9)) & 0xff);
}

static void
encrypt(const unsigned char *key, const unsigned char *plain, size_t len,
        size_t piece, struct sb_buf *out, unsigned char hash_r[SB_HASH_BYTES])
{
	struct sb_body_encryptor *enc;
	uint64_t size;
	size_t off, n;

	sb_buf_init(out, 64 * MB);
	TEST_EQ_INT(sb_body_encryptor_new(key, sink_buf, out, &enc), 0);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		TEST_EQ_INT(sb_body_encryptor_write(enc, plain + off, n), 0);
	}
	TEST_EQ_INT(sb_body_encryptor_finish(&enc, &size, hash_r), 0);
	TEST_ASSERT(enc == NULL);
	TEST_EQ_UINT(size, len);
}

/* Decrypts, feeding `piece` bytes at a time; returns 0 or -1. */
static int
decrypt(const unsigned char *key, const void *ct, size_t len, size_t piece,
        struct sb_buf *out, unsigned char hash_r[SB_HASH_BYTES])
{
	struct sb_body_decryptor *dec;
	const char *error = NULL;
	const unsigned char *p = ct;
	uint64_t size;
	size_t off, n;

	sb_buf_init(out, 64 * MB);
	dec = sb_body_decryptor_new(key, 64 * MB, sink_buf, out);
	for (off = 0; off < len; off += n) {
		n = len - off < piece ? len - off : piece;
		if (sb_body_decryptor_feed(dec, p + off, n, &error) != 0) {
			TEST_ASSERT(error != NULL);
			sb_body_decryptor_free(&dec);
			return -1;
		}
	}
	if (sb_body_decryptor_finish(&dec, &size, hash_r, &error) != 0) {
		TEST_ASSERT(error != NULL);
		return -1;
	}
	TEST_EQ_UINT(size, out->len);
	return 0;
}

static size_t
expected_size(size_t len)
{
	size_t chunks = len / SB_BODY_CHUNK + 1;

	/* A multiple of the chunk size ends in a full final chunk. */
	if (len > 0 && len % SB_BODY_CHUNK == 0)
		chunks--;
	return SB_BODY_HEADER_BYTES + len + chunks * SB_BODY_CHUNK_OVERHEAD;
}

static void
round_trip(size_t len, size_t piece)
{
	unsigned char key[SB_KEY_BYTES], h1[SB_HASH_BYTES], h2[SB_HASH_BYTES];
	unsigned char want[SB_HASH_BYTES];
	unsigned char *plain = malloc(len + 1);
	struct sb_buf ct, pt;

	pattern(plain, len, (unsigned)len);
	sb_message_key_new(key);
	encrypt(key, plain, len, piece, &ct, h1);
	TEST_EQ_UINT(ct.len, expected_size(len));
	crypto_generichash(want, sizeof(want), plain, len, NULL, 0);
	TEST_EQ_MEM(h1, SB_HASH_BYTES, want, SB_HASH_BYTES);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, piece, &pt, h2), 0);
	TEST_EQ_MEM(pt.data, pt.len, plain, len);
	TEST_EQ_MEM(h2, SB_HASH_BYTES, want, SB_HASH_BYTES);
	sb_buf_free(&ct);
	sb_buf_free(&pt);
	free(plain);
}

static void
test_body_round_trips(void)
{
	round_trip(0, 1);
	round_trip(1, 1);
	round_trip(SB_BODY_CHUNK - 1, 4096);
	round_trip(SB_BODY_CHUNK, SB_BODY_CHUNK);
	round_trip(SB_BODY_CHUNK, 1000);
	round_trip(SB_BODY_CHUNK + 1, 7777);
	round_trip(3 * SB_BODY_CHUNK, 65536 * 2);
}

static void
test_body_25mb(void)
{
	round_trip(25 * MB, 1 * MB + 3);
}

static void
test_body_byte_at_a_time(void)
{
	unsigned char key[SB_KEY_BYTES], h1[SB_HASH_BYTES], h2[SB_HASH_BYTES];
	unsigned char plain[SB_BODY_CHUNK + 100];
	struct sb_buf ct, whole, bytes;

	pattern(plain, sizeof(plain), 3);
	sb_message_key_new(key);
	encrypt(key, plain, sizeof(plain), 1, &ct, h1);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, ct.len, &whole, h2), 0);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, 1, &bytes, h1), 0);
	TEST_EQ_MEM(whole.data, whole.len, bytes.data, bytes.len);
	TEST_EQ_MEM(h1, SB_HASH_BYTES, h2, SB_HASH_BYTES);
	sb_buf_free(&ct);
	sb_buf_free(&whole);
	sb_buf_free(&bytes);
}

/* Every single flipped bit of a small stream is detected. */
static void
test_body_every_bit_flip(void)
{
	unsigned char key[SB_KEY_BYTES], h[SB_HASH_BYTES];
	struct sb_buf ct, pt;
	size_t i;
	int bit;

	sb_message_key_new(key);
	encrypt(key, (const unsigned char *)"Subject: hi\r\n\r\nyo", 18, 18,
	        &ct, h);
	for (i = 0; i < ct.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			ct.data[i] ^= (char)(1 << bit);
			TEST_EQ_INT(
			        decrypt(key, ct.data, ct.len, ct.len, &pt, h),
			        -1);
			/* Nothing reached the sink: the only chunk failed. */
			TEST_EQ_UINT(pt.len, 0);
			sb_buf_free(&pt);
			ct.data[i] ^= (char)(1 << bit);
		}
	}
	sb_buf_free(&ct);
}

static void
test_body_truncation(void)
{
	unsigned char key[SB_KEY_BYTES], h[SB_HASH_BYTES];
	unsigned char plain[2 * SB_BODY_CHUNK + 10];
	struct sb_buf ct, pt;
	size_t cut;

	pattern(plain, sizeof(plain), 9);
	sb_message_key_new(key);
	encrypt(key, plain, sizeof(plain), sizeof(plain), &ct, h);
	/* Every cut length fails, including at chunk boundaries. */
	for (cut = 0; cut < ct.len; cut += (cut < 100 ? 1 : 997)) {
		TEST_EQ_INT(decrypt(key, ct.data, cut, 4096, &pt, h), -1);
		sb_buf_free(&pt);
	}
	/* Right at the end of the first and second full chunks. */
	cut = SB_BODY_HEADER_BYTES + SB_BODY_CHUNK + SB_BODY_CHUNK_OVERHEAD;
	TEST_EQ_INT(decrypt(key, ct.data, cut, 4096, &pt, h), -1);
	sb_buf_free(&pt);
	TEST_EQ_INT(decrypt(key, ct.data, 2 * cut - SB_BODY_HEADER_BYTES, 4096,
	                    &pt, h),
	            -1);
	sb_buf_free(&pt);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len - 1, 4096, &pt, h), -1);
	sb_buf_free(&pt);
	sb_buf_free(&ct);
}

static void
test_body_reorder_append_wrong_key(void)
{
	unsigned char key[SB_KEY_BYTES], other[SB_KEY_BYTES];
	unsigned char h[SB_HASH_BYTES];
	unsigned char plain[3 * SB_BODY_CHUNK];
	const size_t c = SB_BODY_CHUNK + SB_BODY_CHUNK_OVERHEAD;
	struct sb_buf ct, pt;
	unsigned char *tmp = malloc(c);
	char *first;

	pattern(plain, sizeof(plain), 5);
	sb_message_key_new(key);
	sb_message_key_new(other);
	encrypt(key, plain, sizeof(plain), sizeof(plain), &ct, h);

	/* Swap chunks one and two. */
	first = ct.data + SB_BODY_HEADER_BYTES;
	memcpy(tmp, first, c);
	memmove(first, first + c, c);
	memcpy(first + c, tmp, c);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, 8192, &pt, h), -1);
	sb_buf_free(&pt);
	memcpy(first + c, first, c);
	memcpy(first, tmp, c);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, 8192, &pt, h), 0);
	sb_buf_free(&pt);

	/* Bytes after the final chunk. */
	TEST_EQ_INT(sb_buf_add(&ct, "x", 1), 0);
	TEST_EQ_INT(decrypt(key, ct.data, ct.len, 8192, &pt, h), -1);
	sb_buf_free(&pt);
	TEST_EQ_INT(decrypt(other, ct.data, ct.len - 1, 8192, &pt, h), -1);
	TEST_EQ_UINT(pt.len, 0);
	sb_buf_free(&pt);
	sb_buf_free(&ct);
	free(tmp);
}

static void
test_body_size_limit(void)
{
	unsigned char key[SB_KEY_BYTES], h[SB_HASH_BYTES];
	unsigned char plain[1000];
	struct sb_body_decryptor *dec;
	const char *error;
	struct sb_buf ct, pt;

	pattern(plain, sizeof(plain), 1);
	sb_message_key_new(key);
	encrypt(key, plain, sizeof(plain), sizeof(plain), &ct, h);
	sb_buf_init(&pt, MB);
	dec = sb_body_decryptor_new(key, 999, sink_buf, &pt);
	TEST_EQ_INT(sb_body_decryptor_feed(dec, ct.data, ct.len, &error), 0);
	{
		uint64_t size;

		TEST_EQ_INT(sb_body_decryptor_finish(&dec, &size, h, &error),
		            -1);
		TEST_ASSERT(strstr(error, "larger") != NULL);
	}
	TEST_EQ_UINT(pt.len, 0);
	sb_buf_free(&pt);
	sb_buf_free(&ct);
}

/* A sink that takes `left` bytes, then fails. */
static int
sink_limited(void *ctx, const void *data, size_t len)
{
	size_t *left = ctx;

	(void)data;
	if (len > *left)
		return -1;
	*left -= len;
	return 0;
}

/* Once the sink failed, the encryptor never reports success again. */
static void
test_body_sink_failure(void)
{
	unsigned char key[SB_KEY_BYTES], h[SB_HASH_BYTES];
	unsigned char *plain = calloc(1, 3 * SB_BODY_CHUNK);
	struct sb_body_encryptor *enc;
	size_t left = 100;
	uint64_t size;

	sb_message_key_new(key);
	/* The header (33 bytes) fits; the first chunk does not. */
	TEST_EQ_INT(sb_body_encryptor_new(key, sink_limited, &left, &enc), 0);
	TEST_EQ_INT(sb_body_encryptor_write(enc, plain, 3 * SB_BODY_CHUNK), -1);
	TEST_EQ_INT(sb_body_encryptor_write(enc, plain, 10), -1);
	TEST_EQ_INT(sb_body_encryptor_finish(&enc, &size, h), -1);
	TEST_ASSERT(enc == NULL);
	/* A sink that fails at the header fails the start. */
	left = 10;
	TEST_EQ_INT(sb_body_encryptor_new(key, sink_limited, &left, &enc), -1);
	/* One that fails on the final chunk fails the finish. */
	left = SB_BODY_HEADER_BYTES;
	TEST_EQ_INT(sb_body_encryptor_new(key, sink_limited, &left, &enc), 0);
	TEST_EQ_INT(sb_body_encryptor_write(enc, plain, 10), 0);
	TEST_EQ_INT(sb_body_encryptor_finish(&enc, &size, h), -1);
	free(plain);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"round trips", test_body_round_trips},
	        {"25 MB", test_body_25mb},
	        {"byte at a time", test_body_byte_at_a_time},
	        {"every bit flip", test_body_every_bit_flip},
	        {"truncation", test_body_truncation},
	        {"reorder, append, wrong key",
	         test_body_reorder_append_wrong_key},
	        {"size limit", test_body_size_limit},
	        {"sink failure", test_body_sink_failure},
	        {NULL, NULL},
	};

	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
