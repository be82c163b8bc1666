/*
 * The records of a local cache value (crypto/cache.h, docs/crypto.md
 * "Local cache values"). The sealing around them is packet.c's
 * sb_cache_seal; this file only reads and writes the plaintext.
 */
#include "crypto/cache.h"

#include <string.h>

#include "crypto-private.h"

#define SB_MAGIC_CACHE_RECORDS "SBCR"
/* magic, version */
#define SB_CACHE_RECORDS_HEAD 5
/* type, length */
#define SB_CACHE_RECORD_HEAD 5

/* The verdict's status byte in the record (fixed by the format). */
static const struct {
	enum sb_verdict_status status;
	unsigned char byte;
} sb_cache_statuses[] = {
        {SB_VERDICT_VALID, 1},
        {SB_VERDICT_INVALID, 2},
        {SB_VERDICT_UNSIGNED, 3},
        {SB_VERDICT_KEY_UNKNOWN, 4},
};

#define SB_CACHE_LISTED 0x01 /* flags: the reader is a signed recipient */

void
sb_cache_records_init(struct sb_cache_records *rs)
{
	rs->count = 0;
}

bool
sb_cache_field_valid(const void *field, size_t len)
{
	const unsigned char *p = field;
	size_t i, colon = 0;

	if (len < 4 || len > SB_CACHE_MAX_FIELD || p[len - 2] != '\r' ||
	    p[len - 1] != '\n')
		return false;
	/* A field name of printable ASCII, then ':'. */
	for (i = 0; i < len - 2 && colon == 0; i++) {
		if (p[i] == ':')
			colon = i;
		else if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	}
	if (colon == 0)
		return false;
	/* A value on one line: no NUL, CR or LF before the CRLF. */
	for (i = colon + 1; i < len - 2; i++) {
		if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
			return false;
	}
	return true;
}

int
sb_cache_verdict_decode(const void *in, size_t len, struct sb_cache_verdict *v,
                        const char **error_r)
{
	const unsigned char *p = in;
	size_t i;

	if (len < 2) {
		*error_r = "the verdict record is too short";
		return -1;
	}
	for (i = 0; i < sizeof(sb_cache_statuses) / sizeof(*sb_cache_statuses);
	     i++) {
		if (sb_cache_statuses[i].byte == p[0])
			break;
	}
	if (i == sizeof(sb_cache_statuses) / sizeof(*sb_cache_statuses)) {
		*error_r = "the verdict record has an unknown verdict";
		return -1;
	}
	if ((p[1] & ~SB_CACHE_LISTED) != 0) {
		*error_r = "the verdict record has unknown flags";
		return -1;
	}
	if (!sb_cache_field_valid(p + 2, len - 2)) {
		*error_r = "the verdict record's header field is malformed";
		return -1;
	}
	v->status = sb_cache_statuses[i].status;
	v->reader_listed = (p[1] & SB_CACHE_LISTED) != 0;
	v->field = (const char *)p + 2;
	v->field_len = len - 2;
	return 0;
}

int
sb_cache_verdict_encode(const struct sb_cache_verdict *v, struct sb_buf *out)
{
	unsigned char head[2] = {0, 0};
	size_t i;

	for (i = 0; i < sizeof(sb_cache_statuses) / sizeof(*sb_cache_statuses);
	     i++) {
		if (sb_cache_statuses[i].status == v->status)
			head[0] = sb_cache_statuses[i].byte;
	}
	if (head[0] == 0 || !sb_cache_field_valid(v->field, v->field_len))
		return -1;
	head[1] = v->reader_listed ? SB_CACHE_LISTED : 0;
	if (sb_buf_add(out, head, sizeof(head)) != 0 ||
	    sb_buf_add(out, v->field, v->field_len) != 0)
		return -1;
	return 0;
}

/* The checks of a record's type and value, the same for decode and add. */
static int
sb_cache_record_check(unsigned type, const void *value, size_t len,
                      const char **error_r)
{
	struct sb_cache_verdict v;

	if (type == 0 || type >= SB_CACHE_TYPE_REQUIRED) {
		*error_r = "a cache record of an unknown required type";
		return -1;
	}
	if (len > SB_CACHE_MAX_VALUE) {
		*error_r = "a cache record is too large";
		return -1;
	}
	switch (type) {
	case SB_CACHE_VERDICT:
		return sb_cache_verdict_decode(value, len, &v, error_r);
	case SB_CACHE_BODYSTRUCTURE:
	case SB_CACHE_BODY:
		if (len == 0) {
			*error_r = "an empty structure record";
			return -1;
		}
		return 0;
	default:
		return 0; /* a later minor addition: kept as it is */
	}
}

int
sb_cache_records_decode(const void *in, size_t len, struct sb_cache_records *rs,
                        const char **error_r)
{
	const unsigned char *p = in, *end = p + len;
	unsigned type, last = 0;
	uint32_t vlen;

	sb_cache_records_init(rs);
	if (len < SB_CACHE_RECORDS_HEAD ||
	    memcmp(p, SB_MAGIC_CACHE_RECORDS, SB_MAGIC_BYTES) != 0 ||
	    p[SB_MAGIC_BYTES] != SB_FORMAT_V1) {
		*error_r = "not cache records of a known version";
		return -1;
	}
	p += SB_CACHE_RECORDS_HEAD;
	for (;;) {
		if ((size_t)(end - p) < SB_CACHE_RECORD_HEAD) {
			*error_r = "the cache records end without their end "
			           "record";
			return -1;
		}
		type = p[0];
		vlen = sb_get_u32(p + 1);
		p += SB_CACHE_RECORD_HEAD;
		if (type == 0) {
			if (vlen != 0 || p != end) {
				*error_r = "bytes after the cache records' end";
				return -1;
			}
			return 0;
		}
		if (type <= last) {
			*error_r = "cache records out of order or repeated";
			return -1;
		}
		if (vlen > (size_t)(end - p)) {
			*error_r = "a cache record runs past the end";
			return -1;
		}
		if (sb_cache_record_check(type, p, vlen, error_r) != 0)
			return -1;
		/* Types strictly increase below 0x80: never more records. */
		rs->r[rs->count].type = type;
		rs->r[rs->count].value = p;
		rs->r[rs->count].len = vlen;
		rs->count++;
		last = type;
		p += vlen;
	}
}

int
sb_cache_records_encode(const struct sb_cache_records *rs, struct sb_buf *out)
{
	unsigned char head[SB_CACHE_RECORD_HEAD];
	size_t i;

	if (sb_buf_add(out, SB_MAGIC_CACHE_RECORDS, SB_MAGIC_BYTES) != 0 ||
	    sb_buf_add_char(out, SB_FORMAT_V1) != 0)
		return -1;
	for (i = 0; i < rs->count; i++) {
		head[0] = (unsigned char)rs->r[i].type;
		sb_put_u32(head + 1, (uint32_t)rs->r[i].len);
		if (sb_buf_add(out, head, sizeof(head)) != 0 ||
		    (rs->r[i].len > 0 &&
		     sb_buf_add(out, rs->r[i].value, rs->r[i].len) != 0))
			return -1;
	}
	memset(head, 0, sizeof(head));
	return sb_buf_add(out, head, sizeof(head)) != 0 ? -1 : 0;
}

const struct sb_cache_record *
sb_cache_records_find(const struct sb_cache_records *rs, unsigned type)
{
	size_t i;

	for (i = 0; i < rs->count; i++) {
		if (rs->r[i].type == type)
			return &rs->r[i];
	}
	return NULL;
}

int
sb_cache_records_add(struct sb_cache_records *rs, unsigned type,
                     const void *value, size_t len, const char **error_r)
{
	size_t i;

	if (sb_cache_record_check(type, value, len, error_r) != 0)
		return -1;
	for (i = 0; i < rs->count && rs->r[i].type < type; i++)
		;
	if (i < rs->count && rs->r[i].type == type)
		return 0;
	memmove(&rs->r[i + 1], &rs->r[i], (rs->count - i) * sizeof(rs->r[0]));
	rs->r[i].type = type;
	rs->r[i].value = value;
	rs->r[i].len = len;
	rs->count++;
	return 1;
}
