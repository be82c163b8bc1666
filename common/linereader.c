#include "linereader.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

/*
 * The buffer holds a whole line of max_line bytes plus CR and LF. When it
 * is full and holds no LF, the line in it is certainly too long.
 */
static size_t
lr_capacity(const struct sb_linereader *lr)
{
	return lr->max_line + 2;
}

static size_t
lr_unconsumed(const struct sb_linereader *lr)
{
	return lr->buf.len - lr->start - lr->drop;
}

/* Forgets the line returned last, and the buffer once all is consumed. */
static void
lr_apply_drop(struct sb_linereader *lr)
{
	lr->start += lr->drop;
	lr->drop = 0;
	if (lr->start == lr->buf.len) {
		sb_buf_reset(&lr->buf);
		lr->start = 0;
		lr->scanned = 0;
	}
}

void
sb_linereader_init(struct sb_linereader *lr, size_t max_line)
{
	if (max_line == 0 || max_line > SB_LINEREADER_MAX_LINE) {
		sb_log_error("line reader: invalid maximum line length %zu",
		             max_line);
		abort();
	}
	lr->max_line = max_line;
	sb_buf_init(&lr->buf, lr_capacity(lr));
	lr->start = 0;
	lr->scanned = 0;
	lr->drop = 0;
	lr->skipping = false;
}

void
sb_linereader_free(struct sb_linereader *lr)
{
	sb_buf_free(&lr->buf);
	lr->start = 0;
	lr->scanned = 0;
	lr->drop = 0;
	lr->skipping = false;
}

size_t
sb_linereader_space(const struct sb_linereader *lr)
{
	/* While skipping the buffer is empty. */
	return lr_capacity(lr) - lr_unconsumed(lr);
}

size_t
sb_linereader_feed(struct sb_linereader *lr, const void *data, size_t len)
{
	const char *p = data;
	size_t taken = 0, n;

	lr_apply_drop(lr);
	if (len == 0)
		return 0;
	if (lr->skipping) {
		const char *lf = memchr(p, '\n', len);

		if (lf == NULL)
			return len;
		lr->skipping = false;
		taken = (size_t)(lf - p) + 1;
	}
	n = len - taken;
	if (n > sb_linereader_space(lr))
		n = sb_linereader_space(lr);
	if (n == 0)
		return taken;
	if (lr->buf.len + n > lr_capacity(lr)) {
		/* Move the unconsumed bytes down to make room. */
		sb_buf_consume(&lr->buf, lr->start);
		lr->start = 0;
	}
	if (sb_buf_add(&lr->buf, p + taken, n) != 0) {
		sb_log_error("line reader: buffer overflow");
		abort();
	}
	return taken + n;
}

int
sb_linereader_next(struct sb_linereader *lr, struct sb_sv *line_r)
{
	size_t avail, line_len, content_len;
	const char *lf;
	char *p;

	lr_apply_drop(lr);
	avail = lr->buf.len - lr->start;
	if (avail == 0)
		return 0;
	p = lr->buf.data + lr->start;
	lf = memchr(p + lr->scanned, '\n', avail - lr->scanned);
	if (lf == NULL) {
		if (avail < lr_capacity(lr)) {
			lr->scanned = avail;
			return 0;
		}
		/* Full and no LF: too long. Skip up to its LF. */
		sb_buf_reset(&lr->buf);
		lr->start = 0;
		lr->scanned = 0;
		lr->skipping = true;
		return -1;
	}
	line_len = (size_t)(lf - p);
	content_len = line_len;
	if (content_len > 0 && p[content_len - 1] == '\r')
		content_len--;
	lr->scanned = 0;
	lr->drop = line_len + 1;
	if (content_len > lr->max_line)
		return -1;
	/* Overwrites the CR or the LF, both already accounted for. */
	p[content_len] = '\0';
	*line_r = sb_sv(p, content_len);
	return 1;
}

struct sb_sv
sb_linereader_buffered(struct sb_linereader *lr)
{
	lr_apply_drop(lr);
	if (lr->buf.len == lr->start)
		return sb_sv("", 0);
	return sb_sv(lr->buf.data + lr->start, lr->buf.len - lr->start);
}

size_t
sb_linereader_buffered_len(const struct sb_linereader *lr)
{
	return lr_unconsumed(lr);
}

void
sb_linereader_consume(struct sb_linereader *lr, size_t n)
{
	lr_apply_drop(lr);
	if (n > lr->buf.len - lr->start) {
		sb_log_error("line reader: consuming %zu bytes of %zu", n,
		             lr->buf.len - lr->start);
		abort();
	}
	lr->start += n;
	lr->scanned = lr->scanned > n ? lr->scanned - n : 0;
	if (lr->start == lr->buf.len) {
		sb_buf_reset(&lr->buf);
		lr->start = 0;
	}
}

bool
sb_linereader_skipping(const struct sb_linereader *lr)
{
	return lr->skipping;
}
