/*
 * Writing IMAP strings (RFC 3501 section 4.3 and 9, RFC 9051 4.3) into a
 * bounded buffer: an atom where the grammar allows one, a quoted string
 * for short printable text, a literal "{N}\r\n..." for the rest.
 *
 * The output is valid IMAP4rev1 for any input bytes: a NUL, which no
 * IMAP4rev1 string can carry (CHAR8 is %x01-ff), is written as U+FFFD
 * (EF BF BD). 8-bit bytes always go into a literal, which every client
 * accepts, so the output does not depend on UTF8=ACCEPT.
 *
 * Every function appends to out and returns 0, or -1 when out passed its
 * maximum (out is then freed, see common/buf.h).
 */
#ifndef SB_IMAP_QUOTE_H
#define SB_IMAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"

/* Longer strings are written as literals even when printable. */
#define IMAP_QUOTE_MAX_QUOTED 1024

/*
 * True for ASTRING-CHAR: an atom character or ']'. Atom characters are
 * CHAR (%x01-7f) but atom-specials: "(" ")" "{" SP CTL "%" "*" DQUOTE
 * "\" and "]".
 */
bool imap_is_astring_char(unsigned char c);
/* True for ATOM-CHAR (as above, without ']'). */
bool imap_is_atom_char(unsigned char c);

/*
 * An astring: as an atom when it is one (1*ASTRING-CHAR) and is not "NIL"
 * in any case (which a reader expecting an nstring would take for NIL),
 * else as a string (below).
 */
int imap_write_astring(const void *s, size_t len, struct sb_buf *out) SB_WUR;

/*
 * A string: quoted when it is at most IMAP_QUOTE_MAX_QUOTED bytes of
 * printable ASCII or TAB (with '"' and '\' escaped), else a literal.
 */
int imap_write_string(const void *s, size_t len, struct sb_buf *out) SB_WUR;
int imap_write_string_cstr(const char *s, struct sb_buf *out) SB_WUR;

/* A literal "{N}\r\n" and the bytes, whatever they are (NUL as above). */
int imap_write_literal(const void *s, size_t len, struct sb_buf *out) SB_WUR;

/* An nstring: NIL when s is NULL, else a string. */
int imap_write_nstring(const void *s, size_t len, struct sb_buf *out) SB_WUR;
int imap_write_nstring_cstr(const char *s, struct sb_buf *out) SB_WUR;

/*
 * The string for an unstructured header value as ENVELOPE shows it
 * (Subject, Date, Message-ID, In-Reply-To): the raw value as the header
 * has it, still folded, is unfolded (a CRLF or LF before a space or tab
 * is removed, RFC 5322 2.2.3) and stripped of the spaces and tabs around
 * it; RFC 2047 encoded words are left as they are. NIL when raw is NULL.
 * Quoted when it can be, else a literal (8-bit text, a bare CR or LF
 * left in the value, or a long one).
 */
int imap_write_header_text(const char *raw, size_t len,
                           struct sb_buf *out) SB_WUR;

#endif
