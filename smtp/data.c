/*
 * The DATA reader: a state machine over single bytes (see data.h), so
 * that where the input is cut never matters.
 */
#include "data.h"

#include <stdlib.h>

#include "common/log.h"

void
smtp_data_init(struct smtp_data_reader *r, size_t line_max)
{
	r->state = SMTP_DATA_LINE_START;
	r->line_max = line_max;
	r->line_len = 0;
	r->line_too_long = false;
	r->size = 0;
}

/* Counts n bytes of the current line. */
static void
smtp_data_count(struct smtp_data_reader *r, size_t n)
{
	r->line_len += n;
	if (r->line_len > r->line_max)
		r->line_too_long = true;
}

/* The end of a line: CRLF out. */
static size_t
smtp_data_eol(struct smtp_data_reader *r, char *out)
{
	out[0] = '\r';
	out[1] = '\n';
	r->line_len = 0;
	r->state = SMTP_DATA_LINE_START;
	return 2;
}

/* A byte inside a line. */
static size_t
smtp_data_text(struct smtp_data_reader *r, char c, char *out)
{
	if (c == '\r') {
		r->state = SMTP_DATA_CR;
		return 0;
	}
	if (c == '\n')
		return smtp_data_eol(r, out);
	smtp_data_count(r, 1);
	out[0] = c;
	r->state = SMTP_DATA_TEXT;
	return 1;
}

/*
 * After a CR that did not end its line (c is not LF): the CR is text,
 * and c follows it; another CR may end the line in turn.
 */
static size_t
smtp_data_bare_cr(struct smtp_data_reader *r, char c, char *out)
{
	smtp_data_count(r, 1);
	out[0] = '\r';
	if (c == '\r') {
		r->state = SMTP_DATA_CR;
		return 1;
	}
	return 1 + smtp_data_text(r, c, out + 1);
}

/* One byte of input; writes at most 2 bytes at out, returns how many. */
static size_t
smtp_data_step(struct smtp_data_reader *r, char c, char *out)
{
	switch (r->state) {
	case SMTP_DATA_LINE_START:
		if (c == '.') {
			/* The terminator, or a stuffing dot (not given out). */
			smtp_data_count(r, 1);
			r->state = SMTP_DATA_DOT;
			return 0;
		}
		return smtp_data_text(r, c, out);
	case SMTP_DATA_TEXT:
		return smtp_data_text(r, c, out);
	case SMTP_DATA_CR:
		if (c == '\n')
			return smtp_data_eol(r, out);
		return smtp_data_bare_cr(r, c, out);
	case SMTP_DATA_DOT:
		if (c == '\r') {
			r->state = SMTP_DATA_DOT_CR;
			return 0;
		}
		if (c == '\n') {
			r->state = SMTP_DATA_END;
			return 0;
		}
		return smtp_data_text(r, c, out);
	case SMTP_DATA_DOT_CR:
		if (c == '\n') {
			r->state = SMTP_DATA_END;
			return 0;
		}
		return smtp_data_bare_cr(r, c, out);
	case SMTP_DATA_END:
		break;
	}
	sb_log_error("smtp: DATA read past its end");
	abort();
}

int
smtp_data_feed(struct smtp_data_reader *r, const char *in, size_t len,
               size_t *consumed_r, char *out, size_t out_size,
               size_t *produced_r)
{
	size_t i = 0, n = 0;

	if (out_size < SMTP_DATA_OUT_MIN) {
		sb_log_error("smtp: DATA output of %zu bytes", out_size);
		abort();
	}
	while (r->state != SMTP_DATA_END && i < len &&
	       out_size - n >= SMTP_DATA_OUT_MIN)
		n += smtp_data_step(r, in[i++], out + n);
	r->size += n;
	*consumed_r = i;
	*produced_r = n;
	return r->state == SMTP_DATA_END ? 1 : 0;
}
