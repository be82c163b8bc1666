/*
 * A driver for the IMAP parser that the unit test and the fuzz target
 * share: it feeds an input to a reader in pieces chosen by a callback,
 * answers literals the way a session would, parses every command (and
 * FETCH and STORE items) and writes what happened as a transcript, one
 * line per outcome:
 *
 *   L<size>[+] i<index> fits<0|1>   a literal was announced, then
 *   P <command> / P! <error>        the partial command parsed then, and
 *   -> buffer|stream|reject|close   what the driver did with it
 *   S<len>:<bytes>                  a streamed literal, all its pieces
 *   C <command> / C! <error> tag=T  a complete command parsed
 *   F <items> / F! <error>          FETCH's items; T <op> for STORE
 *   R<bytes>                        a raw line
 *   E<text> tag=T[ close]           a reader error
 *   END[ mid-command]               the input ran out
 *
 * Values print as: atoms as written (^ before an attached one), #N for
 * numbers, NIL, "..." for quoted strings, {N:bytes} {N:stream}
 * {N:pending} for literals ({N+:...} when non-synchronizing), (a b) for
 * lists. In strings, literals and field names, bytes outside printable
 * ASCII, '"' and '\' print as \xHH.
 *
 * Every value also goes through every accessor, and a successful LOGIN
 * widens the limits to the defaults, as a session would. The transcript
 * does not depend on how the input is split: that is what the test and
 * the fuzz target check.
 */
#ifndef SB_IMAP_TEST_PARSER_TRANSCRIPT_H
#define SB_IMAP_TEST_PARSER_TRANSCRIPT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "imap/parser.h"

enum tp_policy {
	/* APPEND's literals are streamed; others kept when they fit and
	   rejected when they do not. */
	TP_SESSION,
	/* Literals with an even index kept (rejected when they do not
	   fit), odd ones streamed. */
	TP_ALTERNATE,
	/* Every literal rejected. */
	TP_REJECT,
};

/* Gives the size of the i-th piece (at least 1). */
typedef size_t tp_chunk_fn(size_t i, void *ctx);

static inline size_t
tp_chunk_fixed(size_t i, void *ctx)
{
	(void)i;
	return *(const size_t *)ctx;
}

/* ctx points to a uint32_t seed; pieces of 1..16 bytes. */
static inline size_t
tp_chunk_random(size_t i, void *ctx)
{
	uint32_t *state = ctx;

	(void)i;
	*state = *state * 1103515245u + 12345u;
	return 1 + (*state >> 16) % 16;
}

static inline void
tp_add(struct sb_buf *out, const char *s, size_t len)
{
	if (sb_buf_add(out, s, len) != 0)
		abort();
}

static inline void
tp_str(struct sb_buf *out, const char *s)
{
	tp_add(out, s, strlen(s));
}

static inline void
tp_fmt_u64(struct sb_buf *out, const char *prefix, uint64_t n)
{
	if (sb_buf_add_printf(out, "%s%" PRIu64, prefix, n) != 0)
		abort();
}

static inline void
tp_bytes(struct sb_buf *out, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
			if (sb_buf_add_printf(out, "\\x%02X", c) != 0)
				abort();
		} else {
			tp_add(out, p + i, 1);
		}
	}
}

static inline void
tp_value(struct sb_buf *out, const struct imap_value *v)
{
	switch (v->type) {
	case IMAP_VALUE_ATOM:
		/* Atoms hold printable ASCII only. */
		if (v->attached)
			tp_str(out, "^");
		tp_add(out, v->str, v->len);
		break;
	case IMAP_VALUE_NUMBER:
		tp_fmt_u64(out, "#", v->number);
		break;
	case IMAP_VALUE_NIL:
		tp_str(out, "NIL");
		break;
	case IMAP_VALUE_QUOTED:
		tp_str(out, "\"");
		tp_bytes(out, v->str, v->len);
		tp_str(out, "\"");
		break;
	case IMAP_VALUE_LITERAL:
		tp_fmt_u64(out, "{", v->number);
		tp_str(out, v->literal_sync ? ":" : "+:");
		if (v->literal == IMAP_LITERAL_BUFFERED)
			tp_bytes(out, v->str, v->len);
		else
			tp_str(out, v->literal == IMAP_LITERAL_STREAMED
			                    ? "stream"
			                    : "pending");
		tp_str(out, "}");
		break;
	case IMAP_VALUE_LIST:
		tp_str(out, "(");
		for (size_t i = 0; i < v->count; i++) {
			if (i > 0)
				tp_str(out, " ");
			tp_value(out, &v->list[i]);
		}
		tp_str(out, ")");
		break;
	}
}

static inline void
tp_command(struct sb_buf *out, const struct imap_command *cmd)
{
	tp_str(out, cmd->tag);
	tp_str(out, cmd->uid ? " UID " : " ");
	tp_str(out, cmd->name);
	for (size_t i = 0; i < cmd->arg_count; i++) {
		tp_str(out, " ");
		tp_value(out, &cmd->args[i]);
	}
	if (cmd->partial)
		tp_str(out, " ...");
}

static inline void
tp_fetch_body(struct sb_buf *out, const struct imap_fetch_body *b)
{
	static const char *const texts[] = {
	        "",     "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	        "TEXT", "MIME"};

	tp_str(out, b->peek ? " BODY.PEEK[" : " BODY[");
	for (unsigned i = 0; i < b->part_count; i++)
		tp_fmt_u64(out, i > 0 ? "." : "", b->parts[i]);
	if (b->part_count > 0 && b->text != IMAP_SECTION_WHOLE)
		tp_str(out, ".");
	tp_str(out, texts[b->text]);
	for (size_t i = 0; i < b->field_count; i++) {
		tp_str(out, i == 0 ? " (" : " ");
		tp_bytes(out, b->fields[i].p, b->fields[i].len);
	}
	tp_str(out, b->field_count > 0 ? ")]" : "]");
	if (b->partial) {
		tp_fmt_u64(out, "<", b->origin);
		tp_fmt_u64(out, ".", b->count);
		tp_str(out, ">");
	}
}

/* FETCH set items [modifiers], STORE set [mods] item flags. */
static inline void
tp_items(struct sb_buf *out, const struct imap_command *cmd)
{
	const char *error = NULL;

	if (strcmp(cmd->name, "FETCH") == 0 && cmd->arg_count >= 2) {
		struct imap_fetch_atts atts;
		size_t used;

		if (imap_parse_fetch_atts(cmd->args + 1, cmd->arg_count - 1,
		                          &atts, &used, &error) != 0) {
			tp_str(out, "F! ");
			tp_str(out, error);
			tp_str(out, "\n");
			return;
		}
		if (sb_buf_add_printf(out, "F 0x%x", atts.items) != 0)
			abort();
		for (size_t i = 0; i < atts.body_count; i++)
			tp_fetch_body(out, &atts.bodies[i]);
		tp_fmt_u64(out, " used=", used);
		tp_str(out, "\n");
		imap_fetch_atts_free(&atts);
	} else if (strcmp(cmd->name, "STORE") == 0 && cmd->arg_count >= 3) {
		static const char *const ops[] = {"set", "add", "remove"};
		size_t first = cmd->args[1].type == IMAP_VALUE_LIST ? 2 : 1;
		struct imap_store_flags store;

		if (imap_parse_store_flags(cmd->args + first,
		                           cmd->arg_count - first, &store,
		                           &error) != 0) {
			tp_str(out, "T! ");
			tp_str(out, error);
			tp_str(out, "\n");
			return;
		}
		tp_str(out, "T ");
		tp_str(out, ops[store.op]);
		tp_str(out, store.silent ? " silent" : "");
		for (size_t i = 0; i < store.count; i++) {
			tp_str(out, " ");
			tp_add(out, store.flags[i].str, store.flags[i].len);
		}
		tp_str(out, "\n");
	}
}

/* A view an accessor returned must end in a NUL (or be NIL's NULL). */
static inline void
tp_check_view(int ret, struct sb_sv sv)
{
	if (ret == 0 && sv.p != NULL && sv.p[sv.len] != '\0')
		abort();
}

/*
 * Runs every accessor on every value (results unprinted: the point is
 * that none misbehaves on whatever the grammar let through).
 */
static inline void
tp_accessors(const struct imap_value *v, size_t count)
{
	const char *error;
	struct sb_sv sv;
	struct sb_date date;
	uint64_t n;
	time_t t;
	int fails = 0;

	for (size_t i = 0; i < count; i++) {
		tp_check_view(imap_value_atom(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_astring(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_string(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_nstring(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_seqset(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_mailbox(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_list_mailbox(&v[i], &sv, &error), sv);
		tp_check_view(imap_value_flag(&v[i], &sv, &error), sv);
		fails += imap_value_number(&v[i], &n, &error);
		fails += imap_value_nz_number(&v[i], &n, &error);
		fails += imap_value_flag_list(&v[i], &error);
		fails += imap_value_date(&v[i], &t, &error);
		fails += imap_value_datetime(&v[i], &date, &error);
		(void)imap_value_is_atom(&v[i], "NIL");
		if (v[i].type == IMAP_VALUE_LIST)
			tp_accessors(v[i].list, v[i].count);
	}
	(void)fails;
}

/* What tp_parse found out about a command, for the driver. */
enum tp_kind {
	TP_OTHER,
	TP_LOGIN,
	TP_APPEND,
	/* AUTHENTICATE without an initial response, or IDLE: a session
	   reads the next line raw. */
	TP_RAW_NEXT,
};

/* Parses a framed command and writes it after prefix ("C" or "P"). */
static inline enum tp_kind
tp_parse(struct sb_buf *out, const char *prefix,
         const struct imap_reader_command *in)
{
	enum tp_kind kind = TP_OTHER;
	struct imap_command cmd;
	const char *error = NULL;

	tp_str(out, prefix);
	if (imap_parse_command(in, &cmd, &error) != 0) {
		tp_str(out, "! ");
		tp_str(out, error);
		tp_str(out, " tag=");
		tp_str(out, cmd.tag != NULL ? cmd.tag : "");
		tp_str(out, "\n");
		imap_command_free(&cmd);
		return kind;
	}
	tp_str(out, " ");
	tp_command(out, &cmd);
	tp_str(out, "\n");
	if (!cmd.partial)
		tp_items(out, &cmd);
	tp_accessors(cmd.args, cmd.arg_count);
	if (strcmp(cmd.name, "APPEND") == 0)
		kind = TP_APPEND;
	else if (strcmp(cmd.name, "LOGIN") == 0)
		kind = TP_LOGIN;
	else if ((strcmp(cmd.name, "AUTHENTICATE") == 0 &&
	          cmd.arg_count == 1) ||
	         strcmp(cmd.name, "IDLE") == 0)
		kind = TP_RAW_NEXT;
	imap_command_free(&cmd);
	return kind;
}

/* Accepts or rejects the literal of ev; false when the stream must end. */
static inline bool
tp_literal(struct imap_reader *r, const struct imap_event *ev,
           enum tp_policy policy, struct sb_buf *out)
{
	const char *error;
	bool stream;

	tp_fmt_u64(out, "L", ev->literal_size);
	if (sb_buf_add_printf(out, "%s i%u fits%d\n",
	                      ev->literal_sync ? "" : "+", ev->literal_index,
	                      ev->literal_fits ? 1 : 0) != 0)
		abort();
	stream = tp_parse(out, "P", ev->command) == TP_APPEND;
	if (policy != TP_SESSION)
		stream = (ev->literal_index & 1) != 0;
	if (policy != TP_REJECT && (stream || ev->literal_fits)) {
		if (imap_reader_literal_accept(r,
		                               stream ? IMAP_LITERAL_STREAM
		                                      : IMAP_LITERAL_BUFFER,
		                               &error) != 0)
			abort();
		tp_str(out, stream ? "-> stream\n" : "-> buffer\n");
		return true;
	}
	if (imap_reader_literal_reject(r) != 0) {
		tp_str(out, "-> close\n");
		return false;
	}
	tp_str(out, "-> reject\n");
	return true;
}

/*
 * Feeds in[0..len) in pieces of chunk(i, ctx) bytes and writes the
 * transcript to out.
 */
static inline void
tp_run(const char *in, size_t len, const struct imap_limits *limits,
       enum tp_policy policy, tp_chunk_fn *chunk, void *ctx, struct sb_buf *out)
{
	struct imap_reader *r = imap_reader_new(limits);
	struct imap_limits wide;
	struct sb_buf stream;
	struct imap_event ev;
	size_t pos = 0, end = 0, piece = 0, consumed;
	bool open = true;

	imap_limits_default(&wide);
	sb_buf_init(&stream, SIZE_MAX / 2);
	while (open) {
		if (pos == end) {
			if (pos == len)
				break;
			end = pos + chunk(piece++, ctx);
			if (end > len)
				end = len;
		}
		switch (imap_reader_feed(r, in + pos, end - pos, &consumed,
		                         &ev)) {
		case IMAP_EV_NEED_MORE:
			break;
		case IMAP_EV_LITERAL:
			open = tp_literal(r, &ev, policy, out);
			break;
		case IMAP_EV_LITERAL_DATA:
			tp_add(&stream, ev.data.p, ev.data.len);
			if (ev.literal_left == 0) {
				if (sb_buf_add_printf(out,
				                      "S%zu:", stream.len) != 0)
					abort();
				tp_bytes(out, stream.data, stream.len);
				tp_str(out, "\n");
				sb_buf_reset(&stream);
			}
			break;
		case IMAP_EV_COMMAND:
			switch (tp_parse(out, "C", ev.command)) {
			case TP_RAW_NEXT:
				imap_reader_set_raw_line(r);
				break;
			case TP_LOGIN:
				/* As a session does once logged in. */
				imap_reader_set_limits(r, &wide);
				break;
			case TP_OTHER:
			case TP_APPEND:
				break;
			}
			break;
		case IMAP_EV_RAW_LINE:
			tp_str(out, "R");
			tp_bytes(out, ev.line.p, ev.line.len);
			tp_str(out, "\n");
			break;
		case IMAP_EV_ERROR:
			tp_str(out, "E");
			tp_str(out, ev.error_text);
			tp_str(out, " tag=");
			tp_add(out, ev.tag.p, ev.tag.len);
			tp_str(out, ev.must_close ? " close\n" : "\n");
			open = !ev.must_close;
			break;
		}
		pos += consumed;
	}
	tp_str(out, imap_reader_in_command(r) && open ? "END mid-command\n"
	                                              : "END\n");
	sb_buf_free(&stream);
	imap_reader_free(&r);
}

#endif
