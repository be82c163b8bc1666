/*
 * Mailbox names in modified UTF-7 (RFC 3501 section 5.1.3), the form
 * IMAP4rev1 clients send and expect, to and from UTF-8, the form the
 * replica keeps.
 *
 * Modified UTF-7: printable ASCII but '&' (0x20-0x25, 0x27-0x7e) stands
 * for itself; "&-" is '&'; anything else is UTF-16 in base64 with ','
 * for '/', between '&' and '-'.
 *
 * The decoder is strict: every name has exactly one encoding, so a name
 * that decodes also encodes back to the same bytes, and two spellings
 * can never name the same mailbox.
 */
#ifndef SB_IMAP_UTF7_H
#define SB_IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"

/*
 * True when a UTF-8 mailbox name can be used: well-formed UTF-8 (no
 * overlong forms, no surrogates) without control characters (U+0000 to
 * U+001F, U+007F, U+0080 to U+009F).
 */
bool imap_utf8_name_valid(const char *name, size_t len);

/*
 * Appends the UTF-8 form of a modified UTF-7 name to out. Refused, with
 * error_r set and out unchanged (-1):
 *  - a byte that is not printable ASCII;
 *  - a character outside the modified base64 alphabet in a shift, or a
 *    shift that never ends with '-';
 *  - a shift that is not minimal: one that encodes printable ASCII
 *    (which must stand for itself), one that follows another with
 *    nothing between ("&AOk-&AOk-" is "&AOkA6Q-"), one with a base64
 *    character more than its characters need, or one whose unused
 *    final bits are not zero;
 *  - UTF-16 that is not well formed: a surrogate without its pair;
 *  - a control character, which imap_utf8_name_valid refuses.
 * Also -1 when out passed its maximum (out is then freed, see buf.h).
 */
int imap_utf7_to_utf8(const char *in, size_t len, struct sb_buf *out,
                      const char **error_r) SB_WUR;

/*
 * Appends the modified UTF-7 form of a UTF-8 name to out: every run of
 * characters that are not printable ASCII becomes one shift. Returns 0,
 * or -1 with error_r when the name fails imap_utf8_name_valid (out
 * unchanged) or out passed its maximum (out is then freed).
 */
int imap_utf8_to_utf7(const char *in, size_t len, struct sb_buf *out,
                      const char **error_r) SB_WUR;

#endif
