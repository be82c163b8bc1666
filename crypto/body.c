/*
 * The body stream: a message's full RFC 5322 text under its message key,
 * in crypto_secretstream chunks of SB_BODY_CHUNK plaintext bytes. The last
 * chunk carries the FINAL tag, so truncation is detected; secretstream's
 * internal counter detects reordering. See docs/crypto.md.
 */
#include "crypto.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto-private.h"

/* The fixed part of the header, bound to every chunk as associated data. */
#define SB_BODY_PREFIX_BYTES 9
/* The largest chunk size a reader accepts, to bound its memory. */
#define SB_BODY_MAX_CHUNK (1024 * 1024)

struct sb_body_encryptor {
	crypto_secretstream_xchacha20poly1305_state state;
	sb_crypto_sink *sink;
	void *ctx;
	crypto_generichash_state hash;
	uint64_t size;
	unsigned char prefix[SB_BODY_PREFIX_BYTES];
	size_t fill;          /* plaintext bytes in chunk */
	unsigned char *chunk; /* SB_BODY_CHUNK bytes, secure */
	unsigned char *out;   /* one encrypted chunk */
	bool failed;          /* the sink refused a chunk */
};

void
sb_message_key_new(unsigned char key[SB_KEY_BYTES])
{
	crypto_secretstream_xchacha20poly1305_keygen(key);
}

static void
sb_body_prefix(unsigned char prefix[SB_BODY_PREFIX_BYTES], uint32_t chunk)
{
	memcpy(prefix, SB_MAGIC_BODY, SB_MAGIC_BYTES);
	prefix[4] = SB_FORMAT_V1;
	sb_put_u32(prefix + 5, chunk);
}

int
sb_body_encryptor_new(const unsigned char key[SB_KEY_BYTES],
                      sb_crypto_sink *sink, void *ctx,
                      struct sb_body_encryptor **enc_r)
{
	struct sb_body_encryptor *e = sb_secure_alloc(sizeof(*e));
	unsigned char header[SB_BODY_HEADER_BYTES];

	memset(e, 0, sizeof(*e));
	e->sink = sink;
	e->ctx = ctx;
	e->chunk = sb_secure_alloc(SB_BODY_CHUNK);
	e->out = sb_malloc(SB_BODY_CHUNK + SB_BODY_CHUNK_OVERHEAD);
	sb_body_prefix(e->prefix, SB_BODY_CHUNK);
	memcpy(header, e->prefix, SB_BODY_PREFIX_BYTES);
	crypto_secretstream_xchacha20poly1305_init_push(
	        &e->state, header + SB_BODY_PREFIX_BYTES, key);
	crypto_generichash_init(&e->hash, NULL, 0, SB_HASH_BYTES);
	if (sink(ctx, header, sizeof(header)) != 0) {
		sb_body_encryptor_free(&e);
		return -1;
	}
	*enc_r = e;
	return 0;
}

/*
 * Encrypts the buffered chunk with the given tag and hands it on. A sink
 * failure fails the encryptor for good: the stream it wrote is unusable.
 */
static int SB_WUR
sb_body_push(struct sb_body_encryptor *e, unsigned char tag)
{
	unsigned long long out_len;

	crypto_secretstream_xchacha20poly1305_push(&e->state, e->out, &out_len,
	                                           e->chunk, e->fill, e->prefix,
	                                           SB_BODY_PREFIX_BYTES, tag);
	e->fill = 0;
	if (e->sink(e->ctx, e->out, (size_t)out_len) != 0)
		e->failed = true;
	return e->failed ? -1 : 0;
}

int
sb_body_encryptor_write(struct sb_body_encryptor *e, const void *data,
                        size_t len)
{
	const unsigned char *p = data;
	size_t n;

	if (e->failed)
		return -1;
	crypto_generichash_update(&e->hash, p, len);
	e->size += len;
	while (len > 0) {
		/*
		 * A full chunk is pushed only once more data arrives: the
		 * last chunk, full or not, must carry the FINAL tag.
		 */
		if (e->fill == SB_BODY_CHUNK &&
		    sb_body_push(
		            e,
		            crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) !=
		            0)
			return -1;
		n = SB_BODY_CHUNK - e->fill;
		if (n > len)
			n = len;
		memcpy(e->chunk + e->fill, p, n);
		e->fill += n;
		p += n;
		len -= n;
	}
	return 0;
}

int
sb_body_encryptor_finish(struct sb_body_encryptor **encp, uint64_t *size_r,
                         unsigned char hash_r[SB_HASH_BYTES])
{
	struct sb_body_encryptor *e = *encp;
	int ret = -1;

	if (!e->failed)
		ret = sb_body_push(
		        e, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	crypto_generichash_final(&e->hash, hash_r, SB_HASH_BYTES);
	*size_r = e->size;
	sb_body_encryptor_free(encp);
	return ret;
}

void
sb_body_encryptor_free(struct sb_body_encryptor **encp)
{
	struct sb_body_encryptor *e = *encp;

	if (e == NULL)
		return;
	sb_secure_free(&e->chunk);
	free(e->out);
	sb_secure_free(encp);
}

enum sb_body_phase {
	SB_BODY_HEADER, /* collecting the stream header */
	SB_BODY_CHUNKS, /* collecting chunks */
	SB_BODY_DONE,   /* the FINAL chunk was read */
	SB_BODY_FAILED,
};

struct sb_body_decryptor {
	crypto_secretstream_xchacha20poly1305_state state;
	unsigned char key[SB_KEY_BYTES];
	enum sb_body_phase phase;
	sb_crypto_sink *sink;
	void *ctx;
	crypto_generichash_state hash;
	uint64_t size, max_size;
	unsigned char header[SB_BODY_HEADER_BYTES];
	size_t chunk_size; /* encrypted bytes of a full chunk */
	size_t fill;
	unsigned char *in;  /* one encrypted chunk being collected */
	unsigned char *out; /* its plaintext, secure */
};

struct sb_body_decryptor *
sb_body_decryptor_new(const unsigned char key[SB_KEY_BYTES], uint64_t max_size,
                      sb_crypto_sink *sink, void *ctx)
{
	struct sb_body_decryptor *d = sb_secure_alloc(sizeof(*d));

	memset(d, 0, sizeof(*d));
	memcpy(d->key, key, SB_KEY_BYTES);
	d->phase = SB_BODY_HEADER;
	d->sink = sink;
	d->ctx = ctx;
	d->max_size = max_size;
	crypto_generichash_init(&d->hash, NULL, 0, SB_HASH_BYTES);
	return d;
}

static int SB_WUR
sb_body_fail(struct sb_body_decryptor *d, const char *why, const char **error_r)
{
	d->phase = SB_BODY_FAILED;
	*error_r = why;
	return -1;
}

/* Checks the collected header and starts the stream. */
static int SB_WUR
sb_body_start(struct sb_body_decryptor *d, const char **error_r)
{
	uint32_t chunk;

	if (!sb_format_check(d->header, SB_BODY_HEADER_BYTES, SB_MAGIC_BODY))
		return sb_body_fail(d, "not a message body of a known version",
		                    error_r);
	chunk = sb_get_u32(d->header + SB_MAGIC_BYTES + 1);
	if (chunk == 0 || chunk > SB_BODY_MAX_CHUNK)
		return sb_body_fail(d, "the message body has a bad chunk size",
		                    error_r);
	if (crypto_secretstream_xchacha20poly1305_init_pull(
	            &d->state, d->header + SB_BODY_PREFIX_BYTES, d->key) != 0)
		return sb_body_fail(d, "the message body header is invalid",
		                    error_r);
	d->chunk_size = (size_t)chunk + SB_BODY_CHUNK_OVERHEAD;
	d->in = sb_malloc(d->chunk_size);
	d->out = sb_secure_alloc(chunk);
	d->phase = SB_BODY_CHUNKS;
	d->fill = 0;
	return 0;
}

/* Opens the collected chunk; its plaintext goes on only if it verifies. */
static int SB_WUR
sb_body_open_chunk(struct sb_body_decryptor *d, const char **error_r)
{
	unsigned long long out_len;
	unsigned char tag;

	if (d->fill < SB_BODY_CHUNK_OVERHEAD ||
	    crypto_secretstream_xchacha20poly1305_pull(
	            &d->state, d->out, &out_len, &tag, d->in, d->fill,
	            d->header, SB_BODY_PREFIX_BYTES) != 0)
		return sb_body_fail(d,
		                    "the message body is damaged or was "
		                    "altered",
		                    error_r);
	d->fill = 0;
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
		d->phase = SB_BODY_DONE;
	else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
		return sb_body_fail(d,
		                    "the message body has an unknown chunk "
		                    "tag",
		                    error_r);
	if (out_len > d->max_size - d->size)
		return sb_body_fail(
		        d, "the message body is larger than allowed", error_r);
	d->size += out_len;
	crypto_generichash_update(&d->hash, d->out, out_len);
	if (out_len > 0 && d->sink(d->ctx, d->out, (size_t)out_len) != 0)
		return sb_body_fail(d, "the message body could not be written",
		                    error_r);
	return 0;
}

int
sb_body_decryptor_feed(struct sb_body_decryptor *d, const void *data,
                       size_t len, const char **error_r)
{
	const unsigned char *p = data;
	size_t n;

	while (len > 0) {
		switch (d->phase) {
		case SB_BODY_HEADER:
			n = SB_BODY_HEADER_BYTES - d->fill;
			n = n < len ? n : len;
			memcpy(d->header + d->fill, p, n);
			d->fill += n;
			if (d->fill == SB_BODY_HEADER_BYTES &&
			    sb_body_start(d, error_r) != 0)
				return -1;
			break;
		case SB_BODY_CHUNKS:
			/*
			 * A full chunk is opened only when more bytes follow
			 * it; the last one is opened by finish().
			 */
			if (d->fill == d->chunk_size &&
			    sb_body_open_chunk(d, error_r) != 0)
				return -1;
			if (d->phase == SB_BODY_DONE)
				continue;
			n = d->chunk_size - d->fill;
			n = n < len ? n : len;
			memcpy(d->in + d->fill, p, n);
			d->fill += n;
			break;
		case SB_BODY_DONE:
			return sb_body_fail(d,
			                    "the message body continues "
			                    "after its final chunk",
			                    error_r);
		case SB_BODY_FAILED:
		default:
			*error_r = "the message body already failed";
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int
sb_body_decryptor_finish(struct sb_body_decryptor **decp, uint64_t *size_r,
                         unsigned char hash_r[SB_HASH_BYTES],
                         const char **error_r)
{
	struct sb_body_decryptor *d = *decp;
	int ret = -1;

	if (d->phase == SB_BODY_CHUNKS && d->fill < SB_BODY_CHUNK_OVERHEAD) {
		*error_r = "the message body is truncated";
		goto out;
	}
	if (d->phase == SB_BODY_CHUNKS && sb_body_open_chunk(d, error_r) != 0)
		goto out;
	if (d->phase == SB_BODY_FAILED) {
		*error_r = "the message body already failed";
		goto out;
	}
	if (d->phase != SB_BODY_DONE) {
		*error_r = "the message body is truncated";
		goto out;
	}
	crypto_generichash_final(&d->hash, hash_r, SB_HASH_BYTES);
	*size_r = d->size;
	ret = 0;
out:
	sb_body_decryptor_free(decp);
	return ret;
}

void
sb_body_decryptor_free(struct sb_body_decryptor **decp)
{
	struct sb_body_decryptor *d = *decp;

	if (d == NULL)
		return;
	free(d->in);
	if (d->out != NULL)
		sb_secure_free(&d->out);
	sb_secure_free(decp);
}
