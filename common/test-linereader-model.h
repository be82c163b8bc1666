/*
 * What a line reader must report, written the simple way, for the unit
 * test and the fuzz target to compare the incremental parser against.
 *
 * A transcript records each outcome in order: "L<len>:<bytes>\n" for a
 * line, "T\n" for a line too long, and at the end "R<len>:<bytes>\n" for
 * the bytes left buffered, followed by "S\n" when the reader is skipping
 * the rest of a too long line.
 */
#ifndef SB_TEST_LINEREADER_MODEL_H
#define SB_TEST_LINEREADER_MODEL_H

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/linereader.h"

static inline void
model_add(struct sb_buf *out, char kind, const char *p, size_t len)
{
	if (sb_buf_add_printf(out, "%c%zu:", kind, len) != 0 ||
	    sb_buf_add(out, p, len) != 0 || sb_buf_add_char(out, '\n') != 0)
		abort();
}

static inline void
model_add_str(struct sb_buf *out, const char *s)
{
	if (sb_buf_add_str(out, s) != 0)
		abort();
}

/* The transcript of the whole input, worked out line by line. */
static inline void
model_transcript(const char *in, size_t len, size_t max_line,
                 struct sb_buf *out)
{
	size_t pos = 0, line_len, content_len;
	const char *lf;

	while (pos < len && (lf = memchr(in + pos, '\n', len - pos)) != NULL) {
		line_len = (size_t)(lf - (in + pos));
		content_len = line_len;
		if (content_len > 0 && in[pos + content_len - 1] == '\r')
			content_len--;
		if (content_len > max_line)
			model_add_str(out, "T\n");
		else
			model_add(out, 'L', in + pos, content_len);
		pos += line_len + 1;
	}
	if (len - pos >= max_line + 2) {
		/* The buffer fills before the line ends. */
		model_add_str(out, "T\n");
		model_add(out, 'R', "", 0);
		model_add_str(out, "S\n");
	} else {
		model_add(out, 'R', in + pos, len - pos);
	}
}

/* Takes every complete line out of the reader into the transcript. */
static inline int
model_drain(struct sb_linereader *lr, struct sb_buf *out)
{
	struct sb_sv line;
	int ret;

	while ((ret = sb_linereader_next(lr, &line)) != 0) {
		if (ret < 0) {
			model_add_str(out, "T\n");
			continue;
		}
		if (line.p[line.len] != '\0')
			return -1;
		model_add(out, 'L', line.p, line.len);
	}
	return 0;
}

/*
 * The transcript of the real parser fed in pieces: chunk(i) gives the size
 * of the i-th piece (at least 1). Returns -1 when the parser breaks one of
 * its promises (space, termination, progress).
 */
static inline int
model_run(const char *in, size_t len, size_t max_line,
          size_t (*chunk)(size_t i, void *ctx), void *ctx, struct sb_buf *out)
{
	struct sb_linereader lr;
	struct sb_sv rest;
	size_t pos = 0, i = 0, n, space, taken;
	int ret = 0;

	sb_linereader_init(&lr, max_line);
	while (pos < len && ret == 0) {
		n = chunk(i++, ctx);
		if (n > len - pos)
			n = len - pos;
		space = sb_linereader_space(&lr);
		taken = sb_linereader_feed(&lr, in + pos, n);
		if (taken == 0 || taken < (n < space ? n : space))
			ret = -1;
		pos += taken;
		if (model_drain(&lr, out) != 0)
			ret = -1;
	}
	rest = sb_linereader_buffered(&lr);
	model_add(out, 'R', rest.p, rest.len);
	if (sb_linereader_skipping(&lr))
		model_add_str(out, "S\n");
	sb_linereader_free(&lr);
	return ret;
}

#endif
