/*
 * Conversion of text in a named charset to UTF-8, with glibc's iconv.
 * Invalid or unconvertible bytes become U+FFFD; nothing is dropped
 * silently, and the caller learns that it happened.
 */
#ifndef SB_CHARSET_H
#define SB_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compiler.h"

/* True when the bytes are well-formed UTF-8 (no overlongs, no surrogates). */
bool sb_utf8_valid(const void *data, size_t len);

/*
 * Appends the UTF-8 form of `len` bytes in `charset` (a MIME charset name,
 * case-insensitive; aliases such as "latin1", "utf8" and "ascii" work) to
 * out. Returns 0 when every byte converted, 1 when some were replaced by
 * U+FFFD, and -1 when the charset is unknown (nothing appended) or out
 * passed its maximum (out is then freed, see buf.h). Use
 * sb_charset_to_utf8_ex to tell these two failures apart.
 */
int sb_charset_to_utf8(const char *charset, const void *in, size_t len,
                       struct sb_buf *out) SB_WUR;

/* Why sb_charset_to_utf8_ex returned -1. */
enum sb_charset_error {
	SB_CHARSET_ERR_NONE = 0,
	/* The charset is not known: nothing was appended, out is intact. */
	SB_CHARSET_ERR_UNKNOWN,
	/* out passed its maximum and was freed (see buf.h). */
	SB_CHARSET_ERR_FULL,
};

/* Charset names longer than this are converted but never cached. */
#define SB_CHARSET_CACHE_NAME  72
#define SB_CHARSET_CACHE_SLOTS 4

/*
 * Conversions opened during one caller's work (such as decoding one header
 * value), kept so that words in alternating charsets do not open a new
 * conversion each time. Charsets found unknown are remembered too. A cache
 * belongs to one thread; sb_charset_cache_deinit releases it.
 */
struct sb_charset_cache {
	struct {
		char name[SB_CHARSET_CACHE_NAME + 1]; /* "" when free */
		void *cd; /* an iconv_t; (void *)-1 for an unknown charset */
	} slot[SB_CHARSET_CACHE_SLOTS];
	unsigned int next; /* the slot to reuse when all are taken */
};

void sb_charset_cache_init(struct sb_charset_cache *cache);
void sb_charset_cache_deinit(struct sb_charset_cache *cache);

/*
 * Same as sb_charset_to_utf8, with an optional cache (may be NULL) and
 * an optional error_r (may be NULL) that says, on -1, which failure it
 * was; it is SB_CHARSET_ERR_NONE on success.
 */
int sb_charset_to_utf8_ex(const char *charset, const void *in, size_t len,
                          struct sb_buf *out, struct sb_charset_cache *cache,
                          enum sb_charset_error *error_r) SB_WUR;

#endif
