/*
 * RFC 2047 encoded words in header values: "=?charset?Q?...?=" and
 * "=?charset?B?...?=" (the charset may carry an RFC 2231 "*language").
 */
#ifndef SB_RFC2047_H
#define SB_RFC2047_H

#include <stddef.h>

#include "buf.h"
#include "compiler.h"

/* What the decoder met on the way; the bits accumulate in *flags_r. */
enum sb_rfc2047_flag {
	/* Something shaped like an encoded word did not decode; kept. */
	SB_RFC2047_BROKEN_WORD = 1 << 0,
	/* An encoded word named a charset iconv does not know; kept. */
	SB_RFC2047_UNKNOWN_CHARSET = 1 << 1,
	/* Bytes invalid in their charset were replaced by U+FFFD. */
	SB_RFC2047_REPLACED = 1 << 2,
};

/* Longest charset name (with its language) taken in an encoded word. */
#define SB_RFC2047_MAX_CHARSET 64

/*
 * Appends the UTF-8 form of a header value to out: encoded words are
 * decoded (also when they touch other text, as mail clients do), the
 * whitespace between two encoded words is dropped, and adjacent words in
 * the same charset are converted together so that a character split
 * across two words survives. Line breaks of folding are removed. Raw 8-bit
 * text (RFC 6532) passes through when it is UTF-8; other bytes become
 * U+FFFD. An encoded word that cannot be decoded is kept as written.
 * flags_r (may be NULL) receives the enum sb_rfc2047_flag bits. Returns 0,
 * or -1 when out passed its maximum (out is then freed, see buf.h).
 */
int sb_rfc2047_decode(const char *in, size_t len, struct sb_buf *out,
                      unsigned int *flags_r) SB_WUR;

enum sb_rfc2047_encoding {
	SB_RFC2047_AUTO, /* the shorter of B and Q for each run */
	SB_RFC2047_B,
	SB_RFC2047_Q,
};

/* An encoded word is at most this long (RFC 2047 section 2). */
#define SB_RFC2047_MAX_WORD 75
/* Lines are folded before they pass this many characters. */
#define SB_RFC2047_LINE 76

/*
 * Appends a header-safe ASCII form of a UTF-8 value to out, for an
 * unstructured field such as Subject or for a display name (the Q form
 * uses only characters allowed in a phrase). Words of printable ASCII
 * stay as they are; runs of other words become "=?UTF-8?B?...?=" or
 * "=?UTF-8?Q?...?=" words of at most 75 characters that never split a
 * character. Lines are folded with "\r\n " at whitespace to stay within
 * 76 characters where possible; `column` is how many characters already
 * stand on the first line (such as 9 for "Subject: "). Returns 0, or -1
 * with *error_r set when the value is not UTF-8 or out passed its maximum.
 */
int sb_rfc2047_encode(const char *in, size_t len, size_t column,
                      enum sb_rfc2047_encoding encoding, struct sb_buf *out,
                      const char **error_r) SB_WUR;

#endif
