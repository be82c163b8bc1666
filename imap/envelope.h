/*
 * The ENVELOPE of a message (RFC 3501 section 7.4.2, RFC 9051 7.5.2),
 * written as the exact IMAP text from the message's header block.
 *
 * What each member shows:
 *  - date, subject, in-reply-to, message-id: the field's value as the
 *    header has it, unfolded, without the spaces around it; NIL when the
 *    field is absent, "" when it is present but empty.
 *  - from, sender, reply-to, to, cc, bcc: a list of addresses
 *    ((name adl mailbox host) ...), NIL when the field is absent or holds
 *    no address. sender and reply-to are the from list when their field
 *    is absent or holds no address (the RFC: the client is not expected
 *    to know to do this). An RFC 5322 group is (NIL NIL "name" NIL) before
 *    its members and (NIL NIL NIL NIL) after them. An address without a
 *    domain has host "" (never NIL, which would mean a group).
 *  - Text is not decoded: RFC 2047 encoded words are sent as the header
 *    has them, since ENVELOPE strings are the header's text and clients
 *    decode them (RFC 3501 gives no other rule, and a server that decoded
 *    would have to pick a charset the client may not expect). Display
 *    names lose their quotes and quoted-pairs (they are strings now).
 *    8-bit header text (RFC 6532 UTF-8, or raw bytes of another charset)
 *    is sent as it is, in a literal.
 *  - When a field appears more than once, the first counts.
 */
#ifndef SB_IMAP_ENVELOPE_H
#define SB_IMAP_ENVELOPE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"

/* Addresses parsed per field; more are dropped (see common/address.h). */
#define IMAP_ENVELOPE_MAX_ADDRESSES 10000

/*
 * Appends the envelope "(date subject from ...)" of the header block at
 * header (it ends at the first empty line or at len; lines may end in
 * CRLF or LF) to out. Returns 0, or -1 when out passed its maximum (out
 * is then freed, see common/buf.h).
 */
int imap_envelope_write(const void *header, size_t len,
                        struct sb_buf *out) SB_WUR;

#endif
