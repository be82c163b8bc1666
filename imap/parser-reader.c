/*
 * Stage 1 of the IMAP parser: framing a byte stream into commands, lines
 * and literals (see parser.h). A small state machine that looks at every
 * byte of a line once and copies literal bytes in bulk.
 *
 * A bad line is never reported half-way: the reader reads it to its end,
 * so that it knows whether a literal marker ends it (and so whether bytes
 * the client sends without waiting must be skipped) before it reports
 * one error for it, with the tag and with must_close when the stream can
 * no longer be followed.
 */
#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"

enum reader_state {
	RS_LINE,           /* reading a line of a command (or a raw line) */
	RS_LITERAL_WAIT,   /* a literal was announced: accept or reject */
	RS_LITERAL_BUFFER, /* copying a literal into the command */
	RS_LITERAL_STREAM, /* handing a literal's bytes out */
	RS_DISCARD,        /* throwing away a rejected literal */
	RS_SKIP_LINE,      /* throwing away the rest of a rejected command */
	RS_CLOSED,         /* the stream cannot be followed any more */
};

/* Where a line's last bytes stand with respect to "{digits[+]}". */
enum marker_state {
	MK_NONE,
	MK_OPEN,   /* "{" */
	MK_DIGITS, /* "{1" */
	MK_PLUS,   /* "{1+" */
	MK_CLOSED, /* "{1}" or "{1+}": a literal marker if the line ends */
};

struct marker {
	enum marker_state state;
	bool plus;
	bool overflow;
	uint64_t size;
};

struct imap_reader {
	struct imap_limits limits;      /* of the command being read */
	struct imap_limits next_limits; /* from the next command on */
	bool limits_changed;

	enum reader_state state;
	struct sb_buf cmd; /* the command's lines and buffered literals */
	struct imap_part *parts;
	unsigned part_count;
	unsigned part_alloc;
	struct imap_reader_command view;

	/* The line being read. */
	size_t line_start; /* offset in cmd */
	size_t line_len;   /* bytes seen, stored or not */
	bool cr_pending;   /* the last byte was a CR */
	/* The first thing wrong with the line, if any. */
	enum imap_reader_error line_error;
	struct marker marker;

	bool raw;           /* the next line is a raw line */
	bool reset_pending; /* the command ended: start afresh when fed */
	bool in_command;    /* bytes of a command have been taken */

	unsigned literal_count;
	uint64_t literal_left; /* BUFFER, STREAM, DISCARD */
	uint64_t discarded;    /* bytes thrown away for this command */
	enum imap_reader_error close_error;
};

static const char *const reader_error_texts[] = {
        [IMAP_READER_ERR_NONE] = "No error",
        [IMAP_READER_ERR_LINE_TOO_LONG] = "Line too long",
        [IMAP_READER_ERR_COMMAND_TOO_LONG] = "Command too long",
        [IMAP_READER_ERR_TOO_MANY_LITERALS] = "Too many literals",
        [IMAP_READER_ERR_LITERAL_SIZE] = "Literal size too large",
        [IMAP_READER_ERR_NUL] = "NUL byte in command",
        [IMAP_READER_ERR_BARE_CR] = "CR without LF in command",
        [IMAP_READER_ERR_DISCARD_LIMIT] = "Too much literal data to skip",
};

void
imap_limits_default(struct imap_limits *limits_r)
{
	limits_r->max_line = 64 * 1024;
	limits_r->max_command = 256 * 1024;
	limits_r->max_literal = 64 * 1024;
	limits_r->max_literals = 64;
	limits_r->max_discard = 64 * 1024 * 1024;
	limits_r->max_values = 16384;
}

void
imap_limits_prelogin(struct imap_limits *limits_r)
{
	limits_r->max_line = 8 * 1024;
	limits_r->max_command = 16 * 1024;
	limits_r->max_literal = 8 * 1024;
	limits_r->max_literals = 8;
	limits_r->max_discard = 64 * 1024;
	limits_r->max_values = 256;
}

/* Checked once, so that the arithmetic below cannot overflow. */
static void
reader_check_limits(const struct imap_limits *l)
{
	if (l->max_line == 0 || l->max_line > ((size_t)1 << 30) ||
	    l->max_command < l->max_line ||
	    l->max_command > ((size_t)1 << 30) ||
	    l->max_literal > l->max_command || l->max_literals > 4096 ||
	    l->max_values == 0 || l->max_values > (1u << 24)) {
		sb_log_error("imap reader: invalid limits");
		abort();
	}
}

/* Parts: lines and literals alternate, plus one for a PENDING literal. */
static void
reader_apply_limits(struct imap_reader *r, const struct imap_limits *l)
{
	unsigned parts = 2 * l->max_literals + 2;

	r->limits = *l;
	sb_buf_free(&r->cmd);
	sb_buf_init_secret(&r->cmd, l->max_command);
	if (parts > r->part_alloc) {
		r->parts = sb_reallocarray(r->parts, parts, sizeof(*r->parts));
		r->part_alloc = parts;
	}
}

static void
marker_reset(struct marker *m)
{
	m->state = MK_NONE;
	m->plus = false;
	m->overflow = false;
	m->size = 0;
}

/* Follows one more byte of a line. */
static inline void
marker_step(struct marker *m, unsigned char c)
{
	if (c == '{') {
		marker_reset(m);
		m->state = MK_OPEN;
		return;
	}
	switch (m->state) {
	case MK_OPEN:
	case MK_DIGITS:
		if (c >= '0' && c <= '9') {
			if (m->size > (UINT64_MAX - (c - '0')) / 10)
				m->overflow = true;
			else
				m->size = m->size * 10 + (c - '0');
			m->state = MK_DIGITS;
			return;
		}
		if (m->state == MK_DIGITS && (c == '+' || c == '}')) {
			m->plus = c == '+';
			m->state = c == '+' ? MK_PLUS : MK_CLOSED;
			return;
		}
		break;
	case MK_PLUS:
		if (c == '}') {
			m->state = MK_CLOSED;
			return;
		}
		break;
	case MK_NONE:
	case MK_CLOSED:
		break;
	}
	m->state = MK_NONE;
}

static void
reader_start_line(struct imap_reader *r)
{
	r->line_start = r->cmd.len;
	r->line_len = 0;
	r->cr_pending = false;
	r->line_error = IMAP_READER_ERR_NONE;
	marker_reset(&r->marker);
}

/* Forgets the command (wiping it) and gets ready for the next one. */
static void
reader_reset(struct imap_reader *r)
{
	if (r->limits_changed) {
		r->limits_changed = false;
		reader_apply_limits(r, &r->next_limits);
	} else {
		sb_buf_reset(&r->cmd);
	}
	r->state = RS_LINE;
	r->part_count = 0;
	r->literal_count = 0;
	r->literal_left = 0;
	r->discarded = 0;
	r->reset_pending = false;
	r->in_command = false;
	reader_start_line(r);
}

struct imap_reader *
imap_reader_new(const struct imap_limits *limits)
{
	struct imap_reader *r = sb_calloc(1, sizeof(*r));

	reader_check_limits(limits);
	sb_buf_init_secret(&r->cmd, limits->max_command);
	reader_apply_limits(r, limits);
	reader_reset(r);
	return r;
}

void
imap_reader_free(struct imap_reader **rp)
{
	struct imap_reader *r = *rp;

	if (r == NULL)
		return;
	sb_buf_free(&r->cmd);
	free(r->parts);
	free(r);
	*rp = NULL;
}

void
imap_reader_set_limits(struct imap_reader *r, const struct imap_limits *limits)
{
	reader_check_limits(limits);
	r->next_limits = *limits;
	r->limits_changed = true;
	/* Nothing read yet: the buffer is empty and no view is out. */
	if (!r->in_command && r->state == RS_LINE) {
		r->limits_changed = false;
		reader_apply_limits(r, limits);
	}
}

void
imap_reader_set_raw_line(struct imap_reader *r)
{
	/* The last event's views stay valid: the reset waits for a feed. */
	if (r->state != RS_LINE || (r->in_command && !r->reset_pending)) {
		sb_log_error("imap reader: raw line asked for mid-command");
		abort();
	}
	r->raw = true;
}

bool
imap_reader_in_command(const struct imap_reader *r)
{
	return r->in_command && !r->reset_pending;
}

static void
reader_add_part(struct imap_reader *r, enum imap_part_type type, size_t offset,
                size_t len, uint64_t size)
{
	struct imap_part *p;

	if (r->part_count >= r->part_alloc) {
		sb_log_error("imap reader: too many parts");
		abort();
	}
	p = &r->parts[r->part_count++];
	p->type = type;
	p->offset = offset;
	p->len = len;
	p->size = size;
}

static const struct imap_reader_command *
reader_view(struct imap_reader *r)
{
	r->view.data = r->cmd.data != NULL ? r->cmd.data : "";
	r->view.len = r->cmd.len;
	r->view.parts = r->parts;
	r->view.count = r->part_count;
	r->view.limits = &r->limits;
	return &r->view;
}

static bool
reader_tag_char(unsigned char c)
{
	/* ASTRING-CHAR except "+": no atom-specials but "]". */
	return c > ' ' && c < 0x7f && c != '(' && c != ')' && c != '{' &&
	       c != '%' && c != '*' && c != '"' && c != '\\' && c != '+';
}

/* The tag of the command's first line, if it has a valid one. */
static struct sb_sv
reader_tag(const struct imap_reader *r)
{
	size_t len, i;

	/* The first line starts at 0: its bytes are stored up to a limit. */
	len = r->part_count > 0 ? r->parts[0].len : r->cmd.len;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)r->cmd.data[i];

		if (c == ' ')
			return i > 0 ? sb_sv(r->cmd.data, i) : sb_sv("", 0);
		if (!reader_tag_char(c))
			break;
	}
	return sb_sv("", 0);
}

static void
event_init(struct imap_event *ev, enum imap_event_type type)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->tag = sb_sv("", 0);
	ev->data = sb_sv("", 0);
	ev->line = sb_sv("", 0);
	ev->error_text = "";
}

static enum imap_event_type
reader_error_event(struct imap_reader *r, enum imap_reader_error error,
                   bool must_close, struct imap_event *ev)
{
	event_init(ev, IMAP_EV_ERROR);
	ev->tag = r->raw ? sb_sv("", 0) : reader_tag(r);
	ev->error = error;
	ev->error_text = reader_error_texts[error];
	ev->must_close = must_close;
	if (must_close) {
		r->state = RS_CLOSED;
		r->close_error = error;
	}
	return IMAP_EV_ERROR;
}

/*
 * A non-synchronizing literal of a rejected command is coming: skip it if
 * the budget allows. Returns false when the connection must close.
 */
static bool
reader_discard(struct imap_reader *r, const struct marker *m)
{
	if (m->overflow || m->size > r->limits.max_discard - r->discarded)
		return false;
	r->discarded += m->size;
	r->literal_left = m->size;
	r->state = RS_DISCARD;
	return true;
}

/*
 * The command is rejected at the end of a line (the reason in error):
 * report it once, and arrange to skip what the client sends on.
 */
static enum imap_event_type
reader_reject_line(struct imap_reader *r, enum imap_reader_error error,
                   struct imap_event *ev)
{
	struct marker m = r->marker;
	bool nonsync = m.state == MK_CLOSED && m.plus;

	if (r->raw || !nonsync) {
		/* A synchronizing literal is never sent: the command ends. */
		reader_error_event(r, error, false, ev);
		r->raw = false;
		r->reset_pending = true;
		return IMAP_EV_ERROR;
	}
	if (!reader_discard(r, &m))
		return reader_error_event(r, error, true, ev);
	return reader_error_event(r, error, false, ev);
}

static void
reader_line_fail(struct imap_reader *r, enum imap_reader_error error)
{
	if (r->line_error == IMAP_READER_ERR_NONE)
		r->line_error = error;
}

/* A line of a command (not raw) ended well. */
static enum imap_event_type
reader_command_line(struct imap_reader *r, struct imap_event *ev)
{
	const struct marker *m = &r->marker;

	reader_add_part(r, IMAP_PART_LINE, r->line_start, r->line_len, 0);
	if (m->state != MK_CLOSED) {
		event_init(ev, IMAP_EV_COMMAND);
		ev->command = reader_view(r);
		r->reset_pending = true;
		return IMAP_EV_COMMAND;
	}
	if (m->overflow)
		return reader_reject_line(r, IMAP_READER_ERR_LITERAL_SIZE, ev);
	if (r->literal_count >= r->limits.max_literals)
		return reader_reject_line(r, IMAP_READER_ERR_TOO_MANY_LITERALS,
		                          ev);
	reader_add_part(r, IMAP_PART_PENDING, 0, 0, m->size);
	r->state = RS_LITERAL_WAIT;
	return IMAP_EV_LITERAL;
}

static void
reader_literal_event(struct imap_reader *r, struct imap_event *ev)
{
	uint64_t size = r->marker.size;

	event_init(ev, IMAP_EV_LITERAL);
	ev->tag = reader_tag(r);
	ev->command = reader_view(r);
	ev->literal_size = size;
	ev->literal_sync = !r->marker.plus;
	ev->literal_index = r->literal_count;
	ev->literal_fits = size <= r->limits.max_literal &&
	                   size <= r->limits.max_command - r->cmd.len;
}

/* The LF of a line was taken. */
static enum imap_event_type
reader_end_line(struct imap_reader *r, struct imap_event *ev)
{
	if (r->line_error != IMAP_READER_ERR_NONE)
		return reader_reject_line(r, r->line_error, ev);
	if (r->raw) {
		event_init(ev, IMAP_EV_RAW_LINE);
		/* NUL-terminate: the buffer's own NUL follows the line. */
		ev->line = r->cmd.data != NULL
		                   ? sb_sv(r->cmd.data + r->line_start,
		                           r->line_len)
		                   : sb_sv("", 0);
		r->raw = false;
		r->reset_pending = true;
		return IMAP_EV_RAW_LINE;
	}
	if (reader_command_line(r, ev) == IMAP_EV_LITERAL) {
		reader_literal_event(r, ev);
		return IMAP_EV_LITERAL;
	}
	return ev->type;
}

/*
 * Stores line bytes that hold no CR, LF or NUL, within the limits. The
 * limit reported is the one the first byte too many crosses, so that it
 * does not depend on how the bytes were split (a tie is the line's).
 */
static void
reader_store(struct imap_reader *r, const char *p, size_t n)
{
	size_t line_room, cmd_room, room = n;

	if (r->line_error != IMAP_READER_ERR_NONE) {
		r->line_len += n;
		return;
	}
	/* Without an error so far the line is within max_line. */
	line_room = r->limits.max_line - r->line_len;
	cmd_room = r->limits.max_command - r->cmd.len;
	r->line_len += n;
	if (n > line_room || n > cmd_room) {
		if (line_room <= cmd_room) {
			/* Keep the start of the line: the tag is in it. */
			reader_line_fail(r, IMAP_READER_ERR_LINE_TOO_LONG);
			room = line_room;
		} else {
			reader_line_fail(r, IMAP_READER_ERR_COMMAND_TOO_LONG);
			room = cmd_room;
		}
	}
	if (room > 0 && sb_buf_add(&r->cmd, p, room) != 0) {
		sb_log_error("imap reader: command buffer overflow");
		abort();
	}
}

/*
 * Reads line bytes from p[0..len) up to and including an LF. Returns the
 * bytes taken; *ended is set when the LF was among them. Lines of a
 * rejected command (RS_SKIP_LINE) are only followed for their marker.
 */
static size_t
reader_scan_line(struct imap_reader *r, const char *p, size_t len, bool *ended)
{
	bool store = r->state == RS_LINE;
	size_t i = 0, run;

	*ended = false;
	r->in_command = true;
	while (i < len) {
		unsigned char c = (unsigned char)p[i];

		if (r->cr_pending) {
			r->cr_pending = false;
			if (c == '\n') {
				*ended = true;
				return i + 1;
			}
			/* The CR was a byte of the line after all. */
			reader_line_fail(r, IMAP_READER_ERR_BARE_CR);
			marker_step(&r->marker, '\r');
			r->line_len++;
		}
		if (c == '\n') {
			*ended = true;
			return i + 1;
		}
		if (c == '\r') {
			r->cr_pending = true;
			i++;
			continue;
		}
		if (c == '\0') {
			reader_line_fail(r, IMAP_READER_ERR_NUL);
			marker_reset(&r->marker);
			r->line_len++;
			i++;
			continue;
		}
		for (run = i; run < len; run++) {
			c = (unsigned char)p[run];
			if (c == '\n' || c == '\r' || c == '\0')
				break;
			marker_step(&r->marker, c);
		}
		if (store)
			reader_store(r, p + i, run - i);
		else
			r->line_len += run - i;
		i = run;
	}
	return i;
}

/* The end of a line of a rejected command. */
static enum imap_event_type
reader_end_skipped_line(struct imap_reader *r, struct imap_event *ev)
{
	struct marker m = r->marker;

	if (m.state == MK_CLOSED && m.plus) {
		if (!reader_discard(r, &m))
			return reader_error_event(
			        r, IMAP_READER_ERR_DISCARD_LIMIT, true, ev);
		return IMAP_EV_NEED_MORE;
	}
	/* The command is over (a synchronizing literal is never sent). */
	reader_reset(r);
	return IMAP_EV_NEED_MORE;
}

/* Moves on after a literal's last byte. */
static void
reader_literal_done(struct imap_reader *r)
{
	enum reader_state next =
	        r->state == RS_DISCARD ? RS_SKIP_LINE : RS_LINE;

	r->state = next;
	reader_start_line(r);
}

static size_t
min_left(uint64_t left, size_t len)
{
	return left < len ? (size_t)left : len;
}

enum imap_event_type
imap_reader_feed(struct imap_reader *r, const void *data, size_t len,
                 size_t *consumed_r, struct imap_event *ev_r)
{
	const char *p = data;
	size_t pos = 0, n;
	enum imap_event_type type;
	bool ended;

	*consumed_r = 0;
	if (r->state == RS_CLOSED)
		return reader_error_event(r, r->close_error, true, ev_r);
	if (r->state == RS_LITERAL_WAIT) {
		reader_literal_event(r, ev_r);
		return IMAP_EV_LITERAL;
	}
	if (r->reset_pending)
		reader_reset(r);
	while (pos < len) {
		switch (r->state) {
		case RS_LINE:
		case RS_SKIP_LINE:
			pos += reader_scan_line(r, p + pos, len - pos, &ended);
			if (!ended)
				break;
			type = r->state == RS_LINE
			               ? reader_end_line(r, ev_r)
			               : reader_end_skipped_line(r, ev_r);
			if (type != IMAP_EV_NEED_MORE) {
				*consumed_r = pos;
				return type;
			}
			break;
		case RS_LITERAL_BUFFER:
			n = min_left(r->literal_left, len - pos);
			if (sb_buf_add(&r->cmd, p + pos, n) != 0) {
				sb_log_error("imap reader: literal overflow");
				abort();
			}
			pos += n;
			r->literal_left -= n;
			if (r->literal_left == 0)
				reader_literal_done(r);
			break;
		case RS_LITERAL_STREAM:
			n = min_left(r->literal_left, len - pos);
			r->literal_left -= n;
			event_init(ev_r, IMAP_EV_LITERAL_DATA);
			ev_r->data = sb_sv(p + pos, n);
			ev_r->literal_left = r->literal_left;
			if (r->literal_left == 0)
				reader_literal_done(r);
			*consumed_r = pos + n;
			return IMAP_EV_LITERAL_DATA;
		case RS_DISCARD:
			n = min_left(r->literal_left, len - pos);
			pos += n;
			r->literal_left -= n;
			if (r->literal_left == 0)
				reader_literal_done(r);
			break;
		case RS_LITERAL_WAIT:
		case RS_CLOSED:
			/* Both return above and are only entered with an
			   event, which returns at once. */
			abort();
		}
	}
	*consumed_r = pos;
	event_init(ev_r, IMAP_EV_NEED_MORE);
	return IMAP_EV_NEED_MORE;
}

static void
reader_check_waiting(const struct imap_reader *r)
{
	if (r->state != RS_LITERAL_WAIT) {
		sb_log_error("imap reader: no literal is waiting");
		abort();
	}
}

int
imap_reader_literal_accept(struct imap_reader *r, enum imap_literal_mode mode,
                           const char **error_r)
{
	struct imap_part *pending;
	uint64_t size = r->marker.size;

	reader_check_waiting(r);
	pending = &r->parts[r->part_count - 1];
	if (mode == IMAP_LITERAL_BUFFER) {
		if (size > r->limits.max_literal ||
		    size > r->limits.max_command - r->cmd.len) {
			*error_r = "Literal too large";
			return -1;
		}
		pending->type = IMAP_PART_LITERAL;
		pending->offset = r->cmd.len;
		pending->len = (size_t)size;
		r->state = RS_LITERAL_BUFFER;
	} else {
		pending->type = IMAP_PART_STREAMED;
		r->state = RS_LITERAL_STREAM;
	}
	r->literal_count++;
	r->literal_left = size;
	if (size == 0)
		reader_literal_done(r);
	return 0;
}

int
imap_reader_literal_reject(struct imap_reader *r)
{
	struct marker m = r->marker;

	reader_check_waiting(r);
	r->part_count--;
	if (!m.plus) {
		/* The client waits for "+" and gets the tagged reply. */
		r->state = RS_LINE;
		r->reset_pending = true;
		return 0;
	}
	if (!reader_discard(r, &m)) {
		r->state = RS_CLOSED;
		r->close_error = IMAP_READER_ERR_DISCARD_LIMIT;
		return -1;
	}
	return 0;
}
