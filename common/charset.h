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
 * passed its maximum (out is then freed, see buf.h).
 */
int sb_charset_to_utf8(const char *charset, const void *in, size_t len,
		       struct sb_buf *out) SB_WUR;

#endif
