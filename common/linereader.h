/*
 * An incremental line parser with bounded memory and no I/O.
 *
 * Bytes are fed in pieces of any size; complete lines come out as views
 * without their line ending. A line ends at LF; one CR right before the LF
 * is part of the ending too, so "CRLF" and bare "LF" both work. Any other
 * byte, NUL included, is part of the line. The parser can stop and resume
 * at any byte: feeding one byte at a time gives the same lines as feeding
 * everything at once.
 *
 * At most max_line + 2 bytes are ever buffered. A line longer than
 * max_line bytes is reported once, as soon as it is known to be too long,
 * and its bytes are thrown away up to and including its LF, even the ones
 * that have not arrived yet; the line after it is read normally. A server
 * can so answer "line too long" and go on with the next command.
 *
 * Raw bytes (an IMAP literal, SMTP DATA) are taken from what is buffered
 * with sb_linereader_buffered() and sb_linereader_consume().
 */
#ifndef SB_LINEREADER_H
#define SB_LINEREADER_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compiler.h"
#include "sv.h"

/* The largest max_line accepted by sb_linereader_init. */
#define SB_LINEREADER_MAX_LINE ((size_t)1 << 30)

struct sb_linereader {
	struct sb_buf buf; /* data[start..len) is not consumed yet */
	size_t start;      /* offset of the first unconsumed byte */
	size_t scanned;    /* bytes after start known to hold no LF */
	size_t drop;       /* bytes of the last line returned, dropped later */
	size_t max_line;   /* longest line accepted, without its ending */
	bool skipping;     /* throwing away the rest of a too long line */
};

/*
 * Prepares an empty reader for lines of at most max_line bytes (1 to
 * SB_LINEREADER_MAX_LINE; anything else aborts). Allocates nothing.
 */
void sb_linereader_init(struct sb_linereader *lr, size_t max_line);
/* Releases the memory; the reader must be initialised again before use. */
void sb_linereader_free(struct sb_linereader *lr);

/*
 * Bytes that sb_linereader_feed() accepts now, all of them guaranteed.
 * It is at least 1 whenever sb_linereader_next() has just returned 0.
 */
size_t sb_linereader_space(const struct sb_linereader *lr);

/*
 * Adds bytes and returns how many were taken, which is less than len only
 * when the buffer is full: then call sb_linereader_next() until it returns
 * 0 and feed the rest. Bytes of a too long line count as taken.
 */
size_t sb_linereader_feed(struct sb_linereader *lr, const void *data,
                          size_t len) SB_WUR;

/*
 * Takes the next line.
 * Returns 1 with *line_r set to the line without its ending. The view is
 * NUL-terminated (line_r->p[line_r->len] == '\0') and stays valid until the
 * next call of any sb_linereader_ function.
 * Returns 0 when no complete line is buffered: feed more bytes.
 * Returns -1 when the next line is longer than max_line: it is being
 * skipped, and the reader can be used on as before.
 */
int sb_linereader_next(struct sb_linereader *lr, struct sb_sv *line_r) SB_WUR;

/*
 * Bytes buffered after the last line returned: the start of the next
 * line, or raw bytes the protocol reads on its own. Valid until the next
 * call of any sb_linereader_ function.
 */
struct sb_sv sb_linereader_buffered(struct sb_linereader *lr);
/* Number of bytes sb_linereader_buffered() would return. */
size_t sb_linereader_buffered_len(const struct sb_linereader *lr);
/* Drops n bytes (at most the buffered length) from the front. */
void sb_linereader_consume(struct sb_linereader *lr, size_t n);

/* True while the rest of a too long line is being thrown away. */
bool sb_linereader_skipping(const struct sb_linereader *lr);

#endif
