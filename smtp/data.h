/*
 * The reader of a message after DATA (RFC 5321 4.5.2, 4.1.1.4): the lines
 * up to the one that holds a single ".", dot-unstuffed, each ending in
 * CRLF. It does no I/O and holds no message: bytes are fed in pieces of
 * any size, down to one, and what they give goes to the caller's buffer
 * at once, so a message streams through it. It can stop and resume at
 * any byte.
 *
 * A bare LF ends a line as CRLF does (it is passed on as CRLF); a CR not
 * followed by LF is text. The end is "." alone on a line: CRLF.CRLF, or
 * with bare LFs. A line (as sent, with its stuffing dot, without its
 * ending) longer than the limit is passed on all the same and noted:
 * the caller refuses the message at its end, so the client and the
 * server stay in step.
 */
#ifndef SB_SMTP_DATA_H
#define SB_SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

enum smtp_data_state {
	SMTP_DATA_LINE_START, /* at the start of a line */
	SMTP_DATA_TEXT,       /* inside a line */
	SMTP_DATA_CR,         /* after a CR inside a line */
	SMTP_DATA_DOT,        /* after a "." that starts a line */
	SMTP_DATA_DOT_CR,     /* after "." and CR at the start of a line */
	SMTP_DATA_END,        /* the terminating line was read */
};

struct smtp_data_reader {
	enum smtp_data_state state;
	size_t line_max;    /* the longest line, without its ending */
	size_t line_len;    /* bytes of the current line so far */
	bool line_too_long; /* a line was longer than line_max */
	uint64_t size;      /* bytes given out so far */
};

/* Room the output needs for any one step. */
#define SMTP_DATA_OUT_MIN 2

/* A reader at the start of a message, for lines of at most line_max. */
void smtp_data_init(struct smtp_data_reader *r, size_t line_max);
/*
 * Reads from in (len bytes), writing the message's bytes to out (room
 * for out_size bytes, at least SMTP_DATA_OUT_MIN). It stops when in is
 * used up, when out has no room for another step, or after the
 * terminating line. *consumed_r and *produced_r say how many bytes it
 * took and gave. 1 when the terminating line was read (the bytes after
 * it are the client's next command), else 0.
 */
int smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
                   size_t *consumed_r, char *out, size_t out_size,
                   size_t *produced_r) SB_WUR;

#endif
