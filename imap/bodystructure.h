/*
 * BODYSTRUCTURE and BODY (RFC 3501 section 7.4.2, RFC 9051 7.5.2) of a
 * message held in memory, and the byte ranges of its sections for
 * BODY[section] (RFC 3501 6.4.5), both from common/mime.h's part tree so
 * that what BODYSTRUCTURE describes and what BODY[...] returns agree.
 *
 * The message is the exact bytes that FETCH BODY[] returns: sizes are
 * octets of those bytes (line ends as they are), line counts are their
 * LF bytes. The CRLF before a boundary delimiter belongs to the
 * delimiter (RFC 2046 5.1.1), so a part "hello\r\n\r\n--b" has 7 octets
 * and 1 line. (Dovecot's test-imap-bodystructure.c, read to compare
 * conventions, counts the same way.)
 *
 * What the structure shows (each a decision; see docs/imap.md):
 *  - Media type, subtype, parameter names, encoding and disposition type
 *    in upper case ("TEXT" "PLAIN" ("CHARSET" "utf-8")), as RFC 3501's
 *    examples write them; they are case-insensitive and mime.h keeps them
 *    lowercased. Parameter values are as the header has them, unquoted.
 *  - A part without a valid Content-Type is "TEXT" "PLAIN" ("CHARSET"
 *    "US-ASCII"), and encoding "7BIT" when it has none (RFC 2045).
 *  - RFC 2231 parameters are put back together and decoded (RFC 9051
 *    7.5.2: servers SHOULD): "name*0" "name*1" become "NAME", and so does
 *    an encoded one ("name*0*", "name*") whose value is printable ASCII
 *    and has no language. Any other encoded one becomes "NAME*" whose
 *    value is the whole value converted to UTF-8 (RFC 9051) and written
 *    in RFC 2231's own form "UTF-8'lang'percent-encoded": ASCII, so it
 *    needs no literal, and right for every client that decodes RFC 2231,
 *    as a client of "name*" must.
 *  - Id, description, MD5, language and location are the header's text;
 *    RFC 2047 encoded words in a description stay as they are.
 *  - message/rfc822 parts carry the envelope and structure of the
 *    message they hold. message/global is written like any other type
 *    (and has no sections inside): RFC 3501's grammar knows only
 *    message/rfc822, so an IMAP4rev1 client expects no envelope after
 *    it.
 *  - Broken MIME still gives valid IMAP. A multipart without parts (its
 *    boundary never found, or past the depth limit) is shown holding one
 *    "TEXT" "PLAIN" part with an empty header whose body is the
 *    multipart's whole body; a message/rfc822 whose message was not
 *    parsed (encoded as base64, or past a limit) holds a message with an
 *    empty header (an envelope of NILs) and that body as "TEXT" "PLAIN".
 *    The section map below shows the same parts.
 *
 * The writer does not recurse: it walks the tree with its parent links.
 */
#ifndef SB_IMAP_BODYSTRUCTURE_H
#define SB_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/mime.h"
#include "imap/parser.h"

/*
 * Appends the BODYSTRUCTURE (extended) or BODY (not extended) of the
 * message at msg, whose part tree is root (from mime_parse of the same
 * len bytes: a tree that does not cover len bytes aborts), to out: one
 * parenthesized body, "(" ... ")". Returns 0, or -1 when out passed its
 * maximum (out is then freed, see common/buf.h).
 */
int imap_bodystructure_write(const struct mime_part *root, const void *msg,
                             size_t len, bool extended,
                             struct sb_buf *out) SB_WUR;

/* Same, parsing the message with the default limits first. */
int imap_bodystructure_write_message(const void *msg, size_t len, bool extended,
                                     struct sb_buf *out) SB_WUR;

/* ---- Sections: BODY[1.2.HEADER] and the like ----
 *
 * A section is given as the parser's struct imap_fetch_body (parser.h):
 * its part numbers and its enum imap_section_text; the rest of it
 * (peek, field names, partial) is the caller's.
 */

/*
 * Parses the section-spec between "[" and "]" (RFC 3501 section 9),
 * case-insensitively, up to and not including the SP and header-list of
 * HEADER.FIELDS: "", "1.2", "HEADER", "3.TEXT", "1.MIME",
 * "4.2.HEADER.FIELDS.NOT". Fills in body_r's part numbers and text and
 * clears the rest. Returns 0, or -1 with error_r when it is not a
 * section-spec: MIME without a part number, a part number 0 or with a
 * leading zero, more than IMAP_SECTION_MAX_PARTS numbers. For tests and
 * tools: FETCH's own parser is imap_parse_fetch_atts.
 */
int imap_section_parse(const char *in, size_t len,
                       struct imap_fetch_body *body_r,
                       const char **error_r) SB_WUR;

/* Bytes of the message: [offset, offset + size). */
struct imap_section_range {
	uint64_t offset;
	uint64_t size;
};

/*
 * The bytes a section names in the message whose tree is root and which
 * is len bytes long (RFC 3501 6.4.5):
 *  - no part number: BODY[] is the whole message, HEADER its header
 *    (the blank line after it included), TEXT its body;
 *  - part n of a multipart is its n-th child; a message that is not
 *    multipart has only part 1, its body; the parts of a message/rfc822
 *    part are those of the message it holds (3.1, 3.2, ...);
 *  - BODY[n] is the part's body (for a message/rfc822 part, the whole
 *    message it holds), n.MIME the part's own header, and n.HEADER,
 *    n.HEADER.FIELDS and n.TEXT the header and body of the message a
 *    message/rfc822 part holds. For HEADER.FIELDS the range is the
 *    whole header: the caller picks the fields.
 * Only section's parts, part_count and text are read. Returns 0, or -1
 * with error_r when the message has no such part, or the part is not a
 * message/rfc822 for HEADER or TEXT.
 */
int imap_section_find(const struct mime_part *root, uint64_t len,
                      const struct imap_fetch_body *section,
                      struct imap_section_range *range_r,
                      const char **error_r) SB_WUR;

/*
 * Same for a message in memory, parsed with the default limits, with the
 * section given as text (imap_section_parse).
 */
int imap_section_range(const void *msg, size_t len, const char *spec,
                       size_t spec_len, struct imap_section_range *range_r,
                       const char **error_r) SB_WUR;

#endif
