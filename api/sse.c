/*
 * The server-sent events parser (events.h), after the HTML Living
 * Standard's "Interpreting an event stream". State lives between feeds in
 * the parser, so a feed may end at any byte: inside a line, between the
 * CR and LF of a line end, or inside the leading BOM.
 */
#include "events.h"

#include <string.h>

static const unsigned char api_sse_bom[3] = {0xef, 0xbb, 0xbf};

void
api_sse_parser_init(struct api_sse_parser *p, size_t max_line, size_t max_event,
                    api_event_fn *fn, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->fn = fn;
	p->ctx = ctx;
	p->max_line = max_line;
	sb_buf_init(&p->line, max_line);
	sb_buf_init(&p->data, max_event);
	sb_buf_init(&p->name, max_line);
	sb_buf_init(&p->id, max_line);
}

void
api_sse_parser_free(struct api_sse_parser *p)
{
	sb_buf_free(&p->line);
	sb_buf_free(&p->data);
	sb_buf_free(&p->name);
	sb_buf_free(&p->id);
}

const char *
api_sse_last_id(const struct api_sse_parser *p)
{
	return sb_buf_str(&p->id);
}

/*
 * Ends an event at a blank line: hands it to fn when it has data, then
 * starts the next. Returns 0, or 1 when fn asked to stop.
 */
static int SB_WUR
api_sse_dispatch(struct api_sse_parser *p)
{
	const char *name;
	int ret = 0;

	if (p->data.len > 0) {
		/* Every data line added an LF: the last one goes. */
		sb_buf_truncate(&p->data, p->data.len - 1);
		name = p->name.len > 0 ? sb_buf_str(&p->name) : "message";
		if (p->fn(p->ctx, name, sb_buf_str(&p->data), p->data.len) != 0)
			ret = 1;
	}
	sb_buf_reset(&p->data);
	sb_buf_reset(&p->name);
	return ret;
}

/* True for a retry value: ASCII digits only, at least one. */
static bool
api_sse_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
	}
	return len > 0;
}

/* Applies one field to the event being built; unknown fields are ignored. */
static int SB_WUR
api_sse_field(struct api_sse_parser *p, const char *field, size_t flen,
              const char *value, size_t vlen, const char **error_r)
{
	if (flen == 4 && memcmp(field, "data", 4) == 0) {
		if (sb_buf_add(&p->data, value, vlen) != 0 ||
		    sb_buf_add_char(&p->data, '\n') != 0) {
			*error_r = "an event is larger than allowed";
			return -1;
		}
	} else if (flen == 5 && memcmp(field, "event", 5) == 0) {
		sb_buf_reset(&p->name);
		/* value is part of a line, so it fits the same maximum. */
		if (sb_buf_add(&p->name, value, vlen) != 0) {
			*error_r = "an event type is longer than allowed";
			return -1;
		}
	} else if (flen == 2 && memcmp(field, "id", 2) == 0) {
		/* An id with a NUL is ignored, as the standard says. */
		if (memchr(value, '\0', vlen) == NULL) {
			sb_buf_reset(&p->id);
			if (sb_buf_add(&p->id, value, vlen) != 0) {
				*error_r = "an event id is longer than "
				           "allowed";
				return -1;
			}
		}
	} else if (flen == 5 && memcmp(field, "retry", 5) == 0) {
		if (api_sse_digits(value, vlen) && vlen <= 9) {
			uint64_t ms = 0;
			size_t i;

			for (i = 0; i < vlen; i++)
				ms = ms * 10 + (uint64_t)(value[i] - '0');
			p->retry_ms = ms;
		}
	}
	return 0;
}

/*
 * Interprets the complete line in p->line, then empties it. Returns 0,
 * 1 when fn asked to stop, or -1 with error_r.
 */
static int SB_WUR
api_sse_line(struct api_sse_parser *p, const char **error_r)
{
	const char *s = p->line.data, *colon, *value;
	size_t len = p->line.len, flen, vlen;
	int ret;

	if (len == 0)
		return api_sse_dispatch(p);
	if (s[0] == ':') {
		sb_buf_reset(&p->line);
		return 0;
	}
	colon = memchr(s, ':', len);
	if (colon != NULL) {
		flen = (size_t)(colon - s);
		value = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && value[0] == ' ') {
			value++;
			vlen--;
		}
	} else {
		flen = len;
		value = s + len;
		vlen = 0;
	}
	ret = api_sse_field(p, s, flen, value, vlen, error_r);
	sb_buf_reset(&p->line);
	return ret;
}

/*
 * Matches the optional BOM at the start of the stream. Returns how many
 * bytes of data it used. When the start turns out not to be a BOM, the
 * bytes matched so far are the start of the first line.
 */
static size_t
api_sse_bom_skip(struct api_sse_parser *p, const unsigned char *s, size_t len)
{
	size_t used = 0;

	while (p->bom_seen < 3 && used < len) {
		if (s[used] != api_sse_bom[p->bom_seen]) {
			/* At most two bytes; the line buffer is empty. */
			if (p->bom_seen > 0 &&
			    sb_buf_add(&p->line, api_sse_bom, p->bom_seen) != 0)
				p->failed = true;
			p->bom_seen = 3;
			return used;
		}
		p->bom_seen++;
		used++;
	}
	return used;
}

static int SB_WUR
api_sse_fail(struct api_sse_parser *p, const char *why, const char **error_r)
{
	p->failed = true;
	*error_r = why;
	return -1;
}

int
api_sse_feed(struct api_sse_parser *p, const void *data, size_t len,
             const char **error_r)
{
	static const char too_long[] = "a line of the event stream is longer "
	                               "than allowed";
	const unsigned char *s = data;
	size_t i, used;
	int ret;

	if (p->failed) {
		*error_r = "the event stream passed a limit before";
		return -1;
	}
	used = api_sse_bom_skip(p, s, len);
	if (p->failed)
		return api_sse_fail(p, too_long, error_r);
	s += used;
	len -= used;
	while (len > 0) {
		if (p->after_cr) {
			p->after_cr = false;
			if (s[0] == '\n') {
				s++;
				len--;
				continue;
			}
		}
		for (i = 0; i < len && s[i] != '\r' && s[i] != '\n'; i++)
			;
		if (i > p->max_line - p->line.len ||
		    sb_buf_add(&p->line, s, i) != 0)
			return api_sse_fail(p, too_long, error_r);
		if (i == len)
			return 0;
		p->after_cr = s[i] == '\r';
		s += i + 1;
		len -= i + 1;
		ret = api_sse_line(p, error_r);
		if (ret < 0)
			return api_sse_fail(p, *error_r, error_r);
		if (ret > 0)
			return 1;
	}
	return 0;
}
