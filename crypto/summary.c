/*
 * The message summary: what the bridge needs to list a message without
 * its body, sealed under the message key, and the sender's signature that
 * it carries. See docs/crypto.md for the record layout.
 */
#include "crypto.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto-private.h"

/* Record types of the summary plaintext. */
enum sb_summary_record {
	SB_REC_SIZE = 1,
	SB_REC_BODY_HASH = 2,
	SB_REC_SENDER = 3,
	SB_REC_RECIPIENT = 4,
	SB_REC_HEADERS = 5,
	SB_REC_SIGNATURE = 6,
	SB_REC_STRUCTURE = 7,
	/* Types from here up must be understood: an unknown one fails. */
	SB_REC_CRITICAL = 0x80,
};

#define SB_REC_HEADER_BYTES      5
#define SB_SUMMARY_MAX_PLAINTEXT (4 * 1024 * 1024)

struct sb_summary *
sb_summary_new(void)
{
	return sb_calloc(1, sizeof(struct sb_summary));
}

static void
sb_summary_clear_recipients(struct sb_summary *s)
{
	size_t i;

	for (i = 0; i < s->n_recipients; i++)
		free(s->recipients[i]);
	free(s->recipients);
	s->recipients = NULL;
	s->n_recipients = 0;
}

void
sb_summary_free(struct sb_summary **sp)
{
	struct sb_summary *s = *sp;

	if (s == NULL)
		return;
	free(s->sender);
	sb_summary_clear_recipients(s);
	if (s->headers != NULL)
		sodium_memzero(s->headers, s->headers_len);
	free(s->headers);
	if (s->structure != NULL)
		sodium_memzero(s->structure, s->structure_len);
	free(s->structure);
	free(s);
	*sp = NULL;
}

/* A lower-cased copy of an address, or NULL when it is not acceptable. */
static char *
sb_address_normalize(const char *addr, size_t len)
{
	char *copy;
	size_t i;

	if (len == 0 || len > SB_SUMMARY_MAX_ADDRESS)
		return NULL;
	copy = sb_memdupz(addr, len);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)copy[i];

		/* Addresses are printable; UTF-8 (RFC 6532) passes as is. */
		if (c <= 0x20 || c == 0x7f) {
			free(copy);
			return NULL;
		}
		if (c >= 'A' && c <= 'Z')
			copy[i] = (char)(c - 'A' + 'a');
	}
	return copy;
}

int
sb_summary_set_sender(struct sb_summary *s, const char *address)
{
	char *n = sb_address_normalize(address, strlen(address));

	if (n == NULL)
		return -1;
	free(s->sender);
	s->sender = n;
	return 0;
}

static int
sb_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
sb_summary_set_recipients(struct sb_summary *s, const char *const *addrs,
                          size_t n)
{
	char **list;
	size_t i, out = 0;

	if (n > SB_SUMMARY_MAX_RECIPIENTS)
		return -1;
	list = sb_calloc(n == 0 ? 1 : n, sizeof(*list));
	for (i = 0; i < n; i++) {
		list[i] = sb_address_normalize(addrs[i], strlen(addrs[i]));
		if (list[i] == NULL) {
			while (i > 0)
				free(list[--i]);
			free(list);
			return -1;
		}
	}
	qsort(list, n, sizeof(*list), sb_strcmp_ptr);
	for (i = 0; i < n; i++) {
		if (out > 0 && strcmp(list[out - 1], list[i]) == 0)
			free(list[i]);
		else
			list[out++] = list[i];
	}
	sb_summary_clear_recipients(s);
	s->recipients = list;
	s->n_recipients = out;
	return 0;
}

/* Replaces a content field, wiping the old value. */
static void
sb_summary_replace(unsigned char **field, size_t *field_len, const void *value,
                   size_t len)
{
	if (*field != NULL)
		sodium_memzero(*field, *field_len);
	free(*field);
	*field = sb_memdup(value, len);
	*field_len = len;
}

int
sb_summary_set_headers(struct sb_summary *s, const void *headers, size_t len)
{
	if (len > SB_SUMMARY_MAX_HEADERS)
		return -1;
	sb_summary_replace(&s->headers, &s->headers_len, headers, len);
	return 0;
}

int
sb_summary_set_structure(struct sb_summary *s, const void *structure,
                         size_t len)
{
	if (len > SB_SUMMARY_MAX_STRUCTURE)
		return -1;
	sb_summary_replace(&s->structure, &s->structure_len, structure, len);
	return 0;
}

/*
 * The bytes a signature covers: a domain tag, the body hash and size, the
 * sender and the sorted visible recipients, each length-prefixed so no two
 * lists encode alike, and the hashes of the header and structure records,
 * so what a list shows cannot be changed either.
 */
static int SB_WUR
sb_summary_signed_bytes(const struct sb_summary *s, struct sb_buf *out)
{
	unsigned char fixed[SB_MAGIC_BYTES + 1 + SB_HASH_BYTES + 8];
	unsigned char len[2], hash[SB_HASH_BYTES];
	size_t i;

	if (s->sender == NULL)
		return -1;
	memcpy(fixed, SB_MAGIC_SIGNED, SB_MAGIC_BYTES);
	fixed[4] = SB_FORMAT_V1;
	memcpy(fixed + 5, s->body_hash, SB_HASH_BYTES);
	sb_put_u64(fixed + 5 + SB_HASH_BYTES, s->size);
	if (sb_buf_add(out, fixed, sizeof(fixed)) != 0)
		return -1;
	sb_put_u16(len, (uint16_t)strlen(s->sender));
	if (sb_buf_add(out, len, 2) != 0 || sb_buf_add_str(out, s->sender) != 0)
		return -1;
	sb_put_u16(len, (uint16_t)s->n_recipients);
	if (sb_buf_add(out, len, 2) != 0)
		return -1;
	for (i = 0; i < s->n_recipients; i++) {
		sb_put_u16(len, (uint16_t)strlen(s->recipients[i]));
		if (sb_buf_add(out, len, 2) != 0 ||
		    sb_buf_add_str(out, s->recipients[i]) != 0)
			return -1;
	}
	crypto_generichash(hash, sizeof(hash), s->headers, s->headers_len, NULL,
	                   0);
	if (sb_buf_add(out, hash, sizeof(hash)) != 0)
		return -1;
	crypto_generichash(hash, sizeof(hash), s->structure, s->structure_len,
	                   NULL, 0);
	return sb_buf_add(out, hash, sizeof(hash));
}

#define SB_SIGNED_MAX                                                     \
	(SB_MAGIC_BYTES + 1 + SB_HASH_BYTES + 8 + 4 +                     \
	 (SB_SUMMARY_MAX_RECIPIENTS + 1) * (2 + SB_SUMMARY_MAX_ADDRESS) + \
	 2 * SB_HASH_BYTES)

int
sb_summary_sign(struct sb_summary *s,
                const unsigned char sign_sk[SB_SIGN_SECRET_BYTES])
{
	struct sb_buf msg;

	sb_buf_init(&msg, SB_SIGNED_MAX);
	if (sb_summary_signed_bytes(s, &msg) != 0)
		return -1;
	crypto_sign_detached(s->signature, NULL,
	                     (const unsigned char *)msg.data, msg.len, sign_sk);
	/* The public half is the second half of an Ed25519 secret key. */
	memcpy(s->signer_pk, sign_sk + 32, SB_KEY_BYTES);
	s->is_signed = true;
	sb_buf_free(&msg);
	return 0;
}

/* Appends one record at *p, moving *p past it. */
static void
sb_rec_put(unsigned char **p, unsigned type, const void *data, size_t len)
{
	(*p)[0] = (unsigned char)type;
	sb_put_u32(*p + 1, (uint32_t)len);
	if (len > 0)
		memcpy(*p + SB_REC_HEADER_BYTES, data, len);
	*p += SB_REC_HEADER_BYTES + len;
}

/*
 * Checks what a reader will check, so the writer never makes a summary
 * that readers refuse; returns the encoded size, or 0 when it is invalid.
 */
static size_t
sb_summary_encoded_size(const struct sb_summary *s)
{
	size_t i, size = 2 * SB_REC_HEADER_BYTES + 8 + SB_HASH_BYTES;

	if ((s->is_signed && s->sender == NULL) ||
	    s->n_recipients > SB_SUMMARY_MAX_RECIPIENTS ||
	    s->headers_len > SB_SUMMARY_MAX_HEADERS ||
	    s->structure_len > SB_SUMMARY_MAX_STRUCTURE)
		return 0;
	if (s->sender != NULL)
		size += SB_REC_HEADER_BYTES + strlen(s->sender);
	for (i = 0; i < s->n_recipients; i++) {
		/* Sorted, unique, and in normal form, as they were signed. */
		if (strlen(s->recipients[i]) > SB_SUMMARY_MAX_ADDRESS ||
		    (i > 0 &&
		     strcmp(s->recipients[i - 1], s->recipients[i]) >= 0))
			return 0;
		size += SB_REC_HEADER_BYTES + strlen(s->recipients[i]);
	}
	if (s->headers != NULL)
		size += SB_REC_HEADER_BYTES + s->headers_len;
	if (s->is_signed)
		size += SB_REC_HEADER_BYTES + SB_KEY_BYTES + SB_SIGNATURE_BYTES;
	if (s->structure != NULL)
		size += SB_REC_HEADER_BYTES + s->structure_len;
	return size;
}

/* Encodes the summary's records into plain, of the size computed above. */
static void
sb_summary_encode(const struct sb_summary *s, unsigned char *plain)
{
	unsigned char size[8], sig[SB_KEY_BYTES + SB_SIGNATURE_BYTES];
	unsigned char *p = plain;
	size_t i;

	sb_put_u64(size, s->size);
	sb_rec_put(&p, SB_REC_SIZE, size, 8);
	sb_rec_put(&p, SB_REC_BODY_HASH, s->body_hash, SB_HASH_BYTES);
	if (s->sender != NULL)
		sb_rec_put(&p, SB_REC_SENDER, s->sender, strlen(s->sender));
	for (i = 0; i < s->n_recipients; i++)
		sb_rec_put(&p, SB_REC_RECIPIENT, s->recipients[i],
		           strlen(s->recipients[i]));
	if (s->headers != NULL)
		sb_rec_put(&p, SB_REC_HEADERS, s->headers, s->headers_len);
	if (s->is_signed) {
		memcpy(sig, s->signer_pk, SB_KEY_BYTES);
		memcpy(sig + SB_KEY_BYTES, s->signature, SB_SIGNATURE_BYTES);
		sb_rec_put(&p, SB_REC_SIGNATURE, sig, sizeof(sig));
	}
	if (s->structure != NULL)
		sb_rec_put(&p, SB_REC_STRUCTURE, s->structure,
		           s->structure_len);
}

int
sb_summary_seal(const struct sb_summary *s,
                const unsigned char key[SB_KEY_BYTES], struct sb_buf *out)
{
	unsigned char head[SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES];
	size_t plain_len = sb_summary_encoded_size(s);
	unsigned char *plain, *ct;
	int ret;

	if (plain_len == 0)
		return -1;
	/* The plaintext is message content: it lives in secure memory. */
	plain = sb_secure_alloc(plain_len);
	sb_summary_encode(s, plain);
	memcpy(head, SB_MAGIC_SUMMARY, SB_MAGIC_BYTES);
	head[4] = SB_FORMAT_V1;
	randombytes_buf(head + 5, SB_AEAD_NONCE_BYTES);
	ct = sb_malloc(plain_len + SB_AEAD_TAG_BYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	        ct, NULL, plain, plain_len, head, 5, NULL, head + 5, key);
	sb_secure_free(&plain);
	ret = sb_buf_add(out, head, sizeof(head)) != 0 ||
	                      sb_buf_add(out, ct,
	                                 plain_len + SB_AEAD_TAG_BYTES) != 0
	              ? -1
	              : 0;
	free(ct);
	return ret;
}

/* Takes one record's value into s; enforces each record's rules. */
static int SB_WUR
sb_summary_take_record(struct sb_summary *s, unsigned type,
                       const unsigned char *v, size_t len, bool *seen,
                       const char **error_r)
{
	char *addr;

	/* Records 1 to 7 are known; each but a recipient comes once. */
	if (type >= SB_REC_SIZE && type <= SB_REC_STRUCTURE &&
	    type != SB_REC_RECIPIENT) {
		if (seen[type]) {
			*error_r = "the summary repeats a record";
			return -1;
		}
		seen[type] = true;
	}
	switch (type) {
	case SB_REC_SIZE:
		if (len != 8)
			break;
		s->size = sb_get_u64(v);
		return 0;
	case SB_REC_BODY_HASH:
		if (len != SB_HASH_BYTES)
			break;
		memcpy(s->body_hash, v, SB_HASH_BYTES);
		return 0;
	case SB_REC_SENDER:
	case SB_REC_RECIPIENT:
		addr = sb_address_normalize((const char *)v, len);
		if (addr == NULL || memcmp(addr, v, len) != 0) {
			free(addr);
			break;
		}
		if (type == SB_REC_SENDER) {
			s->sender = addr;
			return 0;
		}
		/* Recipients come sorted and unique, as they were signed. */
		if (s->n_recipients == SB_SUMMARY_MAX_RECIPIENTS ||
		    (s->n_recipients > 0 &&
		     strcmp(s->recipients[s->n_recipients - 1], addr) >= 0)) {
			free(addr);
			break;
		}
		s->recipients = sb_reallocarray(
		        s->recipients, s->n_recipients + 1, sizeof(char *));
		s->recipients[s->n_recipients++] = addr;
		return 0;
	case SB_REC_HEADERS:
		if (len > SB_SUMMARY_MAX_HEADERS)
			break;
		s->headers = sb_memdup(v, len);
		s->headers_len = len;
		return 0;
	case SB_REC_SIGNATURE:
		if (len != SB_KEY_BYTES + SB_SIGNATURE_BYTES)
			break;
		memcpy(s->signer_pk, v, SB_KEY_BYTES);
		memcpy(s->signature, v + SB_KEY_BYTES, SB_SIGNATURE_BYTES);
		s->is_signed = true;
		return 0;
	case SB_REC_STRUCTURE:
		if (len > SB_SUMMARY_MAX_STRUCTURE)
			break;
		s->structure = sb_memdup(v, len);
		s->structure_len = len;
		return 0;
	default:
		if (type >= SB_REC_CRITICAL) {
			*error_r = "the summary needs a newer version";
			return -1;
		}
		/* A record of a later minor revision: skipped. */
		return 0;
	}
	*error_r = "the summary has a malformed record";
	return -1;
}

/* Decodes the records of a summary's plaintext. */
static int SB_WUR
sb_summary_decode(const unsigned char *p, size_t len, struct sb_summary *s,
                  const char **error_r)
{
	bool seen[8] = {false};
	unsigned type;
	size_t vlen;

	while (len > 0) {
		if (len < SB_REC_HEADER_BYTES) {
			*error_r = "the summary ends inside a record";
			return -1;
		}
		type = p[0];
		vlen = sb_get_u32(p + 1);
		p += SB_REC_HEADER_BYTES;
		len -= SB_REC_HEADER_BYTES;
		if (vlen > len) {
			*error_r = "the summary ends inside a record";
			return -1;
		}
		if (sb_summary_take_record(s, type, p, vlen, seen, error_r) !=
		    0)
			return -1;
		p += vlen;
		len -= vlen;
	}
	if (!seen[SB_REC_SIZE] || !seen[SB_REC_BODY_HASH]) {
		*error_r = "the summary lacks its size or body hash";
		return -1;
	}
	if (s->is_signed && s->sender == NULL) {
		*error_r = "the summary is signed but names no sender";
		return -1;
	}
	return 0;
}

int
sb_summary_open(const unsigned char key[SB_KEY_BYTES], const void *in,
                size_t len, struct sb_summary **s_r, const char **error_r)
{
	const size_t head = SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES;
	const unsigned char *p = in;
	unsigned char *plain;
	unsigned long long plain_len;
	struct sb_summary *s;
	int ret;

	if (!sb_format_check(in, len, SB_MAGIC_SUMMARY)) {
		*error_r = "not a message summary of a known version";
		return -1;
	}
	if (len < head + SB_AEAD_TAG_BYTES ||
	    len - head - SB_AEAD_TAG_BYTES > SB_SUMMARY_MAX_PLAINTEXT) {
		*error_r = "the message summary has a bad length";
		return -1;
	}
	plain = sb_secure_alloc(len - head);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plain_len, NULL,
	                                               p + head, len - head, p,
	                                               5, p + 5, key) != 0) {
		sb_secure_free(&plain);
		*error_r = "the message summary is damaged or was altered";
		return -1;
	}
	s = sb_summary_new();
	ret = sb_summary_decode(plain, (size_t)plain_len, s, error_r);
	sb_secure_free(&plain);
	if (ret != 0) {
		sb_summary_free(&s);
		return -1;
	}
	*s_r = s;
	return 0;
}

static bool
sb_summary_lists(const struct sb_summary *s, const char *reader)
{
	char *r = reader != NULL ? sb_address_normalize(reader, strlen(reader))
	                         : NULL;
	bool found = false;
	size_t i;

	for (i = 0; r != NULL && i < s->n_recipients && !found; i++)
		found = strcmp(s->recipients[i], r) == 0;
	free(r);
	return found;
}

void
sb_summary_verify(const struct sb_summary *s,
                  const unsigned char body_hash[SB_HASH_BYTES],
                  const unsigned char *trusted_pk, const char *reader,
                  struct sb_verdict *v)
{
	struct sb_buf msg;

	v->reader_listed = sb_summary_lists(s, reader);
	if (sodium_memcmp(s->body_hash, body_hash, SB_HASH_BYTES) != 0) {
		v->status = SB_VERDICT_INVALID;
		v->reason = "the body does not match its summary";
		return;
	}
	if (!s->is_signed) {
		v->status = SB_VERDICT_UNSIGNED;
		v->reason = "the message is not signed";
		return;
	}
	if (trusted_pk == NULL) {
		v->status = SB_VERDICT_KEY_UNKNOWN;
		v->reason = "the message is signed, but the sender's key is "
		            "unknown";
		return;
	}
	if (sodium_memcmp(s->signer_pk, trusted_pk, SB_KEY_BYTES) != 0) {
		v->status = SB_VERDICT_INVALID;
		v->reason = "the message is signed by another key than the "
		            "sender's";
		return;
	}
	sb_buf_init(&msg, SB_SIGNED_MAX);
	if (sb_summary_signed_bytes(s, &msg) != 0 ||
	    crypto_sign_verify_detached(s->signature,
	                                (const unsigned char *)msg.data,
	                                msg.len, trusted_pk) != 0) {
		v->status = SB_VERDICT_INVALID;
		v->reason = "the signature does not verify";
	} else {
		v->status = SB_VERDICT_VALID;
		v->reason = v->reader_listed
		                    ? "the signature is valid"
		                    : "the signature is valid, but you are not "
		                      "among the signed recipients (Bcc or "
		                      "forwarded)";
	}
	sb_buf_free(&msg);
}
