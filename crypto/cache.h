/*
 * The plaintext of a local cache value (docs/crypto.md, "Local cache
 * values"): a small versioned set of typed records holding what the
 * bridge derives from one message (the signature verdict it serves, the
 * BODYSTRUCTURE and BODY texts), sealed whole with sb_cache_seal into the
 * replica's messages.cache.
 *
 * Decoding never copies: a decoded set's values point into the input,
 * which must outlive it. Nothing here logs or allocates.
 */
#ifndef SB_CRYPTO_CACHE_H
#define SB_CRYPTO_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "crypto/crypto.h"

enum sb_cache_type {
	SB_CACHE_VERDICT = 1,       /* see struct sb_cache_verdict */
	SB_CACHE_BODYSTRUCTURE = 2, /* IMAP BODYSTRUCTURE text */
	SB_CACHE_BODY = 3,          /* IMAP BODY text */
};

/* Types from here up must be known to the reader (never skipped). */
#define SB_CACHE_TYPE_REQUIRED 0x80
/* At most one record per type, types below SB_CACHE_TYPE_REQUIRED. */
#define SB_CACHE_MAX_RECORDS 127
/* The largest value of one record. */
#define SB_CACHE_MAX_VALUE (4u * 1024 * 1024)
/* A verdict's header field: at most 998 bytes and its CRLF (RFC 5322). */
#define SB_CACHE_MAX_FIELD 1000

struct sb_cache_record {
	unsigned type;
	const unsigned char *value;
	size_t len;
};

/* Records in increasing type order, unknown ones (kept as they are) too. */
struct sb_cache_records {
	size_t count;
	struct sb_cache_record r[SB_CACHE_MAX_RECORDS];
};

void sb_cache_records_init(struct sb_cache_records *rs);
/*
 * Reads a plaintext: "SBCR", version 1, records each type (1) || length
 * (4) || value in strictly increasing type order, and the end record
 * (type 0, length 0) last. Refuses a wrong magic or version, a record
 * past the end, types out of order, an unknown type from
 * SB_CACHE_TYPE_REQUIRED up, a known record whose value is malformed, a
 * missing end record (a truncated value) and bytes after it. 0, or -1
 * with *error_r.
 */
int sb_cache_records_decode(const void *in, size_t len,
                            struct sb_cache_records *rs,
                            const char **error_r) SB_WUR;
/* Appends the plaintext of rs to out; -1 when out's maximum is passed. */
int sb_cache_records_encode(const struct sb_cache_records *rs,
                            struct sb_buf *out) SB_WUR;
/* The record of a type, or NULL. */
const struct sb_cache_record *
sb_cache_records_find(const struct sb_cache_records *rs, unsigned type);
/*
 * Adds a record (the value is not copied: it must outlive rs). 1 when
 * added, 0 when rs has a record of that type already (which is kept: a
 * value, once cached, is fixed), -1 with *error_r for a type or value
 * the decoder would refuse.
 */
int sb_cache_records_add(struct sb_cache_records *rs, unsigned type,
                         const void *value, size_t len,
                         const char **error_r) SB_WUR;

/*
 * The verdict record: the verdict (crypto.h) as the bridge fixed it, and
 * the header field it serves with the message, "Name: value\r\n" (at
 * most SB_CACHE_MAX_FIELD bytes, no CR, LF or NUL before its CRLF).
 */
struct sb_cache_verdict {
	enum sb_verdict_status status;
	bool reader_listed;
	const char *field; /* points into the decoded value */
	size_t field_len;
};

int sb_cache_verdict_encode(const struct sb_cache_verdict *v,
                            struct sb_buf *out) SB_WUR;
int sb_cache_verdict_decode(const void *in, size_t len,
                            struct sb_cache_verdict *v,
                            const char **error_r) SB_WUR;
/* True for one header field line as the verdict record holds it. */
bool sb_cache_field_valid(const void *field, size_t len);

#endif
