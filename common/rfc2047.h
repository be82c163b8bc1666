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
	/*
	 * Control characters (C0 but TAB, and DEL) were in the text or in a
	 * decoded word: CR and LF became a space, the others U+FFFD.
	 */
	SB_RFC2047_CONTROL = 1 << 3,
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
 * U+FFFD. No control character is ever appended (see SB_RFC2047_CONTROL),
 * NUL included. An encoded word that cannot be decoded is kept as written.
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
 * unstructured field such as Subject (not for a display name: printable
 * ASCII words stay as they are, specials such as ',' and '<' included; use
 * sb_rfc2047_encode_phrase there). Runs of other words become
 * "=?UTF-8?B?...?=" or "=?UTF-8?Q?...?=" words of at most 75 characters
 * that never split a character.
 *
 * Lines are folded with "\r\n " at a space so that each ends by column
 * 76, `column` being how many characters already stand on the first line
 * (such as 9 for "Subject: "). The exceptions, as exact as they are:
 *  - A word of printable ASCII is never split: one longer than the room on
 *    a line passes column 76.
 *  - The first word cannot be folded when the value does not start with a
 *    space: when `column` leaves it no room it passes column 76. A caller
 *    short of room writes the field name and colon without the space and
 *    starts the value with one, so the first word can move too.
 *  - Spaces at the end of the value stay with the last word, so no line is
 *    whitespace only: the last word moves to the next line when it and
 *    they do not fit. Encoded, they become part of the last encoded word;
 *    written as they are, a very long run of them passes column 76, as
 *    does a value made of spaces only.
 *
 * Returns 0, or -1 with *error_r set when the value is not UTF-8, holds
 * control characters (C0 but TAB, or DEL) or out passed its maximum.
 */
int sb_rfc2047_encode(const char *in, size_t len, size_t column,
                      enum sb_rfc2047_encoding encoding, struct sb_buf *out,
                      const char **error_r) SB_WUR;

/*
 * Same as sb_rfc2047_encode, for a phrase such as a display name: the
 * result is one RFC 5322 phrase. A value of printable ASCII that holds
 * specials ("()<>[]:;@\\,.\"") is written as one quoted string (folded at
 * its spaces like the rest); otherwise each word that holds a special is
 * encoded as well, so that "Smith, John" can never split an address list.
 */
int sb_rfc2047_encode_phrase(const char *in, size_t len, size_t column,
                             enum sb_rfc2047_encoding encoding,
                             struct sb_buf *out, const char **error_r) SB_WUR;

#endif
