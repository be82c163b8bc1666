/*
 * A whole message sealed as docs/crypto.md "Messages" says: body stream,
 * header section kept for the summary, summary signed when the signer
 * wrote the message.
 */
#include "crypto/seal.h"

#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/alloc.h"
#include "common/mime.h"

struct sb_sealer {
	unsigned char *key; /* secure memory */
	struct sb_body_encryptor *enc;
	/* The header section, up to and including its empty line. */
	struct sb_buf headers;
	bool bol, headers_done, headers_too_long;
};

int
sb_sealer_new(sb_crypto_sink *sink, void *ctx, struct sb_sealer **s_r)
{
	struct sb_sealer *s = sb_calloc(1, sizeof(*s));

	s->key = sb_secure_alloc(SB_KEY_BYTES);
	sb_message_key_new(s->key);
	/* The limit is the record's: a longer section is left out. */
	sb_buf_init_secret(&s->headers, SB_SUMMARY_MAX_HEADERS);
	s->bol = true;
	if (sb_body_encryptor_new(s->key, sink, ctx, &s->enc) != 0) {
		sb_sealer_free(&s);
		return -1;
	}
	*s_r = s;
	return 0;
}

/* Keeps the bytes up to the end of the header section. */
static void
sb_sealer_headers(struct sb_sealer *s, const char *p, size_t len)
{
	size_t i;

	if (s->headers_done || s->headers_too_long)
		return;
	for (i = 0; i < len && !s->headers_done; i++) {
		if (p[i] == '\n') {
			s->headers_done = s->bol;
			s->bol = true;
		} else if (p[i] != '\r') {
			s->bol = false;
		}
	}
	if (sb_buf_add(&s->headers, p, i) != 0)
		s->headers_too_long = true;
}

int
sb_sealer_write(struct sb_sealer *s, const void *data, size_t len)
{
	sb_sealer_headers(s, data, len);
	return sb_body_encryptor_write(s->enc, data, len);
}

/* True when addr is one of the signer's. */
static bool
sb_signer_owns(const struct sb_signer *signer, const char *addr)
{
	size_t i;

	for (i = 0; i < signer->n_addresses; i++) {
		if (strcmp(signer->addresses[i], addr) == 0)
			return true;
	}
	return false;
}

int
sb_sealer_finish(struct sb_sealer **sp, const struct sb_signer *signer,
                 struct sb_sealed *out, const char **error_r)
{
	struct sb_sealer *s = *sp;
	struct sb_header_addresses a = {0};
	struct sb_summary *sum = sb_summary_new();
	const void *h;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	sb_buf_init(&out->summary, SIZE_MAX);
	*error_r = "cannot write the encrypted message";
	if (sb_body_encryptor_finish(&s->enc, &sum->size, sum->body_hash) != 0)
		goto out;
	*error_r = "cannot seal the summary";
	h = s->headers.data != NULL ? s->headers.data : "";
	if (!s->headers_too_long &&
	    sb_summary_set_headers(sum, h, s->headers.len) != 0)
		goto out;
	if (signer != NULL && !s->headers_too_long) {
		sb_header_addresses_get(h, s->headers.len, &a);
		if (a.from != NULL && sb_signer_owns(signer, a.from)) {
			if (sb_summary_set_sender(sum, a.from) != 0 ||
			    sb_summary_set_recipients(
			            sum, (const char *const *)a.recipients,
			            a.n_recipients) != 0 ||
			    sb_summary_sign(sum, signer->sign_sk) != 0)
				goto out;
			out->is_signed = true;
		}
	}
	if (sb_summary_seal(sum, s->key, &out->summary) != 0)
		goto out;
	out->size = sum->size;
	out->key = s->key;
	s->key = NULL;
	ret = 0;
out:
	sb_header_addresses_free(&a);
	sb_summary_free(&sum);
	if (ret != 0)
		sb_sealed_clear(out);
	sb_sealer_free(sp);
	return ret;
}

void
sb_sealer_free(struct sb_sealer **sp)
{
	struct sb_sealer *s = *sp;

	if (s == NULL)
		return;
	sb_body_encryptor_free(&s->enc);
	if (s->key != NULL)
		sb_secure_free(&s->key);
	sb_buf_free(&s->headers);
	free(s);
	*sp = NULL;
}

void
sb_sealed_clear(struct sb_sealed *out)
{
	if (out->key != NULL)
		sb_secure_free(&out->key);
	sb_buf_free(&out->summary);
	memset(out, 0, sizeof(*out));
}

/* ---- Addresses of the header section ---- */

/* The addresses a header list can hold that a summary keeps. */
#define SB_HEADER_MAX_ADDRESSES (SB_SUMMARY_MAX_RECIPIENTS + 2)

/* "local@domain" of a mailbox, lower-cased; NULL when not usable. */
static char *
sb_header_addr(const struct sb_address *addr)
{
	struct sb_buf b;
	size_t i;
	char *s;

	if (addr->type != SB_ADDRESS_MAILBOX || addr->domain == NULL ||
	    addr->domain[0] == '\0')
		return NULL;
	sb_buf_init(&b, SB_SUMMARY_MAX_ADDRESS + 1);
	if (sb_address_write_addr_spec(addr, &b) != 0)
		return NULL;
	s = sb_buf_take(&b, NULL);
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f || i >= SB_SUMMARY_MAX_ADDRESS) {
			free(s);
			return NULL;
		}
		if (c >= 'A' && c <= 'Z')
			s[i] = (char)(c - 'A' + 'a');
	}
	return s;
}

static int
sb_header_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
sb_header_named(struct sb_sv name, const char *want)
{
	size_t n = strlen(want), i;

	if (name.len != n)
		return false;
	for (i = 0; i < n; i++) {
		char c = name.p[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != want[i])
			return false;
	}
	return true;
}

void
sb_header_addresses_get(const void *headers, size_t len,
                        struct sb_header_addresses *out)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	struct sb_address_list *list;
	size_t i, kept;
	bool from, rcpt;
	char *addr;

	memset(out, 0, sizeof(*out));
	mime_header_iter_init(&it, headers, len);
	while (mime_header_iter_next(&it, &f) == 1) {
		from = sb_header_named(f.name, "from");
		rcpt = sb_header_named(f.name, "to") ||
		       sb_header_named(f.name, "cc");
		if (!(from && out->from == NULL) && !rcpt)
			continue;
		list = sb_address_list_parse_new(f.value.p, f.value.len,
		                                 SB_HEADER_MAX_ADDRESSES);
		for (i = 0; i < list->count; i++) {
			addr = sb_header_addr(&list->addrs[i]);
			if (addr == NULL)
				continue;
			if (from && out->from == NULL) {
				out->from = addr;
			} else if (rcpt && out->n_recipients <
			                           SB_SUMMARY_MAX_RECIPIENTS) {
				out->recipients = sb_reallocarray(
				        out->recipients, out->n_recipients + 1,
				        sizeof(*out->recipients));
				out->recipients[out->n_recipients++] = addr;
			} else {
				free(addr);
			}
			if (from && !rcpt)
				break; /* the first mailbox of From */
		}
		sb_address_list_free(&list);
	}
	if (out->n_recipients == 0)
		return;
	qsort(out->recipients, out->n_recipients, sizeof(*out->recipients),
	      sb_header_cmp);
	for (i = 1, kept = 1; i < out->n_recipients; i++) {
		if (strcmp(out->recipients[i], out->recipients[kept - 1]) == 0)
			free(out->recipients[i]);
		else
			out->recipients[kept++] = out->recipients[i];
	}
	out->n_recipients = kept;
}

void
sb_header_addresses_free(struct sb_header_addresses *a)
{
	size_t i;

	free(a->from);
	for (i = 0; i < a->n_recipients; i++)
		free(a->recipients[i]);
	free(a->recipients);
	memset(a, 0, sizeof(*a));
}

uint64_t
sb_body_stream_size(uint64_t plain)
{
	uint64_t full = plain / SB_BODY_CHUNK, rest = plain % SB_BODY_CHUNK;

	/*
	 * Every chunk is full but the last, which holds the rest: a message
	 * of a whole number of chunks ends in a full one (docs/crypto.md).
	 */
	if (rest == 0 && full > 0) {
		full--;
		rest = SB_BODY_CHUNK;
	}
	return SB_BODY_HEADER_BYTES +
	       full * (SB_BODY_CHUNK + SB_BODY_CHUNK_OVERHEAD) + rest +
	       SB_BODY_CHUNK_OVERHEAD;
}
