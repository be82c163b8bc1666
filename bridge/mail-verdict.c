/*
 * What the bridge derives from a message and keeps, sealed under the
 * account's cache key, in the replica's messages.cache (docs/crypto.md,
 * "Cache records"): the signature verdict with the header it serves, and
 * the texts the IMAP server caches. The verdict is computed once, from
 * the summary and the sender's key as the service lists it, and then
 * fixed, so that a message's size and bytes never change once served.
 * No message content and no address reaches a log.
 */
#include "bridge/mail.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "crypto/seal.h"

#define BRIDGE_VERDICT_HEADER "X-Saltbridge-Signature"

void
bridge_mail_cache_init(struct bridge_mail_cache *c)
{
	sb_buf_init_secret(&c->plain, SIZE_MAX);
	sb_cache_records_init(&c->rs);
}

void
bridge_mail_cache_free(struct bridge_mail_cache *c)
{
	sb_buf_free_wipe(&c->plain);
	sb_cache_records_init(&c->rs);
}

/* The context a message's value is bound to: "cache:ID". */
static void
bridge_mail_cache_context(int64_t message_id, char *out, size_t size)
{
	snprintf(out, size, "cache:%lld", (long long)message_id);
}

/* The records of a sealed value into c; 1, or 0 (logged) when unusable. */
static int
bridge_mail_cache_decode(const struct bridge_mail_keys *k, int64_t message_id,
                         const struct sb_buf *sealed,
                         struct bridge_mail_cache *c)
{
	char context[32];
	const char *error;

	bridge_mail_cache_context(message_id, context, sizeof(context));
	if (sb_cache_open(k->cache_key, context, sealed->data, sealed->len,
	                  &c->plain, &error) == 0 &&
	    sb_cache_records_decode(c->plain.data, c->plain.len, &c->rs,
	                            &error) == 0)
		return 1;
	sb_log_warn("message %lld: its cache value cannot be read (%s); it "
	            "is made again",
	            (long long)message_id, error);
	sb_buf_reset(&c->plain);
	sb_cache_records_init(&c->rs);
	return 0;
}

int
bridge_mail_cache_load(const struct bridge_mail_keys *k, struct store *st,
                       int64_t message_id, struct bridge_mail_cache *c,
                       const char **error_r)
{
	struct sb_buf sealed;
	int ret;

	sb_buf_reset(&c->plain);
	sb_cache_records_init(&c->rs);
	if (k->cache_key == NULL)
		return 0;
	sb_buf_init(&sealed, SIZE_MAX);
	ret = store_message_cache_get(st, message_id, &sealed, error_r);
	if (ret == 0)
		ret = sealed.len > 0 ? bridge_mail_cache_decode(k, message_id,
		                                                &sealed, c)
		                     : 0;
	sb_buf_free(&sealed);
	return ret;
}

int
bridge_mail_cache_add(const struct bridge_mail_keys *k, struct store *st,
                      int64_t message_id, const struct sb_cache_record *add,
                      size_t n, struct bridge_mail_cache *c,
                      const char **error_r)
{
	struct sb_buf plain, sealed;
	char context[32];
	size_t i, added = 0;
	int ret;

	if (k->cache_key == NULL) {
		*error_r = "the vault holds no cache key for the account: log "
		           "it in again";
		return -1;
	}
	/* Read and written in one transaction: the first writer wins. */
	if (store_begin(st, error_r) < 0)
		return -1;
	if (bridge_mail_cache_load(k, st, message_id, c, error_r) < 0) {
		store_rollback(st);
		return -1;
	}
	for (i = 0; i < n; i++) {
		ret = sb_cache_records_add(&c->rs, add[i].type, add[i].value,
		                           add[i].len, error_r);
		if (ret < 0) {
			store_rollback(st);
			return -1;
		}
		added += (size_t)ret;
	}
	if (added == 0) {
		store_rollback(st);
		return 0;
	}
	sb_buf_init_secret(&plain, SIZE_MAX);
	sb_buf_init(&sealed, SIZE_MAX);
	bridge_mail_cache_context(message_id, context, sizeof(context));
	ret = -1;
	if (sb_cache_records_encode(&c->rs, &plain) != 0 ||
	    sb_cache_seal(k->cache_key, context, plain.data, plain.len,
	                  &sealed) != 0)
		*error_r = "cannot seal the message's cache value";
	else if (store_message_cache_set(st, message_id, sealed.data,
	                                 sealed.len, error_r) == 0 &&
	         store_commit(st, error_r) == 0)
		ret = 0;
	if (ret < 0)
		store_rollback(st);
	/* c's new records point into add: point them into c's own copy. */
	sb_buf_free_wipe(&c->plain);
	c->plain = plain;
	sb_cache_records_init(&c->rs);
	if (ret == 0 && sb_cache_records_decode(c->plain.data, c->plain.len,
	                                        &c->rs, error_r) != 0)
		abort(); /* what was just encoded decodes */
	sb_buf_free(&sealed);
	return ret;
}

/* ---- The signature header ---- */

static bool
bridge_mail_owns(const struct bridge_mail_keys *k, const char *address)
{
	size_t i;

	for (i = 0; i < k->n_addresses; i++) {
		if (strcmp(k->addresses[i], address) == 0)
			return true;
	}
	return false;
}

/* Whether one of the account's addresses is a signed recipient. */
static bool
bridge_mail_listed(const struct bridge_mail_keys *k,
                   const struct sb_summary *sum)
{
	size_t i;

	for (i = 0; i < sum->n_recipients; i++) {
		if (bridge_mail_owns(k, sum->recipients[i]))
			return true;
	}
	return false;
}

/* A parameter value: as it is when it is a token of safe bytes, else
 * quoted with \ before " and \. */
static int
bridge_mail_field_value(struct sb_buf *b, const char *v)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyz"
	                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                           "!#$%&'*+-./=?^_`{|}~@";
	const char *p;
	int ret = 0;

	if (v[0] != '\0' && strspn(v, safe) == strlen(v))
		return sb_buf_add_str(b, v);
	ret |= sb_buf_add_char(b, '"');
	for (p = v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			ret |= sb_buf_add_char(b, '\\');
		ret |= sb_buf_add_char(b, *p);
	}
	ret |= sb_buf_add_char(b, '"');
	return ret != 0 ? -1 : 0;
}

/*
 * "X-Saltbridge-Signature: VERDICT; signer=ADDRESS[; recipient=unlisted]
 * [; reason="..."]\r\n" into field (one line, checked).
 */
static int
bridge_mail_field(const struct sb_verdict *v, bool listed, const char *signer,
                  struct sb_buf *field)
{
	static const char *const names[] = {
	        [SB_VERDICT_VALID] = "valid",
	        [SB_VERDICT_INVALID] = "invalid",
	        [SB_VERDICT_UNSIGNED] = "unsigned",
	        [SB_VERDICT_KEY_UNKNOWN] = "signer-key-unknown",
	};
	int ret = 0;

	ret |= sb_buf_add_printf(
	        field, BRIDGE_VERDICT_HEADER ": %s; signer=", names[v->status]);
	ret |= bridge_mail_field_value(field, signer);
	if (!listed)
		ret |= sb_buf_add_str(field, "; recipient=unlisted");
	if (v->status == SB_VERDICT_INVALID) {
		ret |= sb_buf_add_str(field, "; reason=");
		ret |= bridge_mail_field_value(field, v->reason);
	}
	ret |= sb_buf_add_str(field, "\r\n");
	if (ret != 0 || !sb_cache_field_valid(field->data, field->len))
		return -1;
	return 0;
}

/*
 * The verdict of docs/crypto.md on a summary whose body will only be
 * served when it matches the summary's hash (bridge_mail_body_open), so
 * the summary's hash stands for the body's; and the check crypto/ leaves
 * to the reader: the From header names the signed sender.
 */
static void
bridge_mail_judge(const struct bridge_mail_keys *k,
                  const struct sb_summary *sum, const unsigned char *trusted,
                  struct sb_verdict *v)
{
	struct sb_header_addresses a;

	sb_summary_verify(sum, sum->body_hash, trusted,
	                  k->n_addresses > 0 ? k->addresses[0] : "", v);
	v->reader_listed = bridge_mail_listed(k, sum);
	if (sum->headers == NULL || v->status == SB_VERDICT_INVALID)
		return;
	sb_header_addresses_get(sum->headers, sum->headers_len, &a);
	if (a.from == NULL || strcmp(a.from, sum->sender) != 0) {
		v->status = SB_VERDICT_INVALID;
		v->reason = "the From header does not name the signer";
	}
	sb_header_addresses_free(&a);
}

int
bridge_mail_verdict_field(const struct bridge_mail_keys *k, struct store *st,
                          int64_t message_id, const struct sb_summary *sum,
                          bridge_mail_key_fn *key_fn, void *key_ctx,
                          struct sb_buf *field, const char **error_r)
{
	unsigned char pk[SB_KEY_BYTES];
	const unsigned char *trusted = NULL;
	const struct sb_cache_record *r;
	struct sb_cache_verdict cv;
	struct sb_cache_record rec;
	struct bridge_mail_cache c;
	struct sb_verdict v;
	struct sb_buf line, value;
	bool own;
	int ret;

	if (!sum->is_signed || sum->sender == NULL)
		return 0;
	/* The account's own mail, signed with its key: no header. */
	own = bridge_mail_owns(k, sum->sender);
	if (own && k->sign_sk == NULL)
		return 0;
	bridge_mail_cache_init(&c);
	ret = bridge_mail_cache_load(k, st, message_id, &c, error_r);
	if (ret < 0)
		goto out;
	r = sb_cache_records_find(&c.rs, SB_CACHE_VERDICT);
	if (r == NULL && own) {
		bridge_mail_judge(k, sum, k->sign_pk, &v);
		if (v.status == SB_VERDICT_VALID) {
			ret = 0;
			goto out;
		}
		trusted = k->sign_pk;
	}
	if (r == NULL && !own) {
		ret = key_fn(key_ctx, sum->sender, pk, error_r);
		if (ret < 0)
			goto out;
		trusted = ret == 1 ? pk : NULL;
	}
	if (r == NULL) {
		/* Computed once, fixed in the cache value. */
		bridge_mail_judge(k, sum, trusted, &v);
		sb_buf_init(&line, SB_CACHE_MAX_FIELD);
		sb_buf_init(&value, SB_CACHE_MAX_FIELD + 2);
		ret = -1;
		if (bridge_mail_field(&v, v.reader_listed, sum->sender,
		                      &line) != 0) {
			*error_r = "the signature header is too long";
		} else {
			cv.status = v.status;
			cv.reader_listed = v.reader_listed;
			cv.field = line.data;
			cv.field_len = line.len;
			rec.type = SB_CACHE_VERDICT;
			if (sb_cache_verdict_encode(&cv, &value) != 0)
				abort(); /* the field was checked */
			rec.value = (const unsigned char *)value.data;
			rec.len = value.len;
			ret = bridge_mail_cache_add(k, st, message_id, &rec, 1,
			                            &c, error_r);
		}
		sb_buf_free(&line);
		sb_buf_free(&value);
		if (ret < 0)
			goto out;
		r = sb_cache_records_find(&c.rs, SB_CACHE_VERDICT);
		sb_log_debug("message %lld: signature verdict fixed",
		             (long long)message_id);
	}
	ret = -1;
	if (r == NULL ||
	    sb_cache_verdict_decode(r->value, r->len, &cv, error_r) != 0)
		*error_r = "the message's cached verdict cannot be read";
	else if (sb_buf_add(field, cv.field, cv.field_len) != 0)
		*error_r = "the signature header is too long";
	else
		ret = 0;
out:
	bridge_mail_cache_free(&c);
	return ret;
}

int
bridge_mail_headers(const struct bridge_mail_keys *k, struct store *st,
                    int64_t message_id, bridge_mail_key_fn *key_fn,
                    void *key_ctx, struct sb_buf *headers, uint64_t *size_r,
                    const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_summary *sum = NULL;
	size_t start = headers->len;
	int ret = -1;

	if (bridge_mail_summary(k, st, message_id, key, &sum, NULL, error_r) <
	            0 ||
	    bridge_mail_verdict_field(k, st, message_id, sum, key_fn, key_ctx,
	                              headers, error_r) < 0)
		goto out;
	*size_r = sum->size + (headers->len - start);
	if (sum->headers_len > 0 &&
	    sb_buf_add(headers, sum->headers, sum->headers_len) != 0) {
		*error_r = "the header section is too large";
		goto out;
	}
	ret = 0;
out:
	if (ret < 0)
		sb_buf_truncate(headers, start);
	sb_summary_free(&sum);
	sb_secure_free(&key);
	return ret;
}

int
bridge_mail_message(const struct bridge_mail_keys *k, struct store *st,
                    int64_t message_id, bridge_mail_key_fn *key_fn,
                    void *key_ctx, struct sb_buf *out, const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_summary *sum = NULL;
	size_t start = out->len;
	bool cached;
	int ret = -1;

	if (bridge_mail_summary(k, st, message_id, key, &sum, &cached,
	                        error_r) < 0)
		goto out;
	if (!cached) {
		ret = 0;
		goto out;
	}
	if (bridge_mail_verdict_field(k, st, message_id, sum, key_fn, key_ctx,
	                              out, error_r) < 0)
		goto out;
	ret = bridge_mail_body_open(st, message_id, key, sum, out, error_r);
out:
	if (ret != 1)
		sb_buf_truncate(out, start);
	sb_summary_free(&sum);
	sb_secure_free(&key);
	return ret;
}
