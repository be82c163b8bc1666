/*
 * APPEND (RFC 3501 6.3.11) with UIDPLUS's APPENDUID (RFC 4315). The
 * message literal is never kept in the command: when the reader announces
 * it, the session checks the mailbox, flags, date and size, and then the
 * bytes stream into the backend, which encrypts them into the replica as
 * they come. The message is in the mailbox, with its import to the
 * service queued, before the OK is sent.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "imap-private.h"

/* What the APPEND's arguments before the literal say. */
struct imap_append_args {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	struct sb_buf keywords;
	int64_t received_at;
};

/* IMAP flags to the replica's keywords; \Recent and \Deleted dropped. */
static int
imap_append_flags(const struct imap_value *list, struct sb_buf *out,
                  const char **why_r)
{
	static const struct {
		const char *flag, *keyword;
	} names[] = {{"\\Seen", "$seen"},
	             {"\\Answered", "$answered"},
	             {"\\Flagged", "$flagged"},
	             {"\\Draft", "$draft"}};
	struct sb_sv f;
	size_t i, k;
	bool known;

	for (i = 0; i < list->count; i++) {
		if (imap_value_flag(&list->list[i], &f, why_r) < 0)
			return -1;
		if (f.p[0] != '\\') {
			if (sb_buf_add_char(out, ' ') < 0 ||
			    sb_buf_add(out, f.p, f.len) < 0)
				abort();
			continue;
		}
		known = (f.len == 7 && strncasecmp(f.p, "\\Recent", 7) == 0) ||
		        (f.len == 8 && strncasecmp(f.p, "\\Deleted", 8) == 0);
		for (k = 0; k < SB_N_ELEMENTS(names) && !known; k++) {
			if (strlen(names[k].flag) == f.len &&
			    strncasecmp(names[k].flag, f.p, f.len) == 0) {
				if (sb_buf_add_printf(out, " %s",
				                      names[k].keyword) < 0)
					abort();
				known = true;
			}
		}
		if (!known) {
			*why_r = "Unknown system flag";
			return -1;
		}
	}
	return 0;
}

/*
 * Reads the arguments of the partial command: mailbox [flags] [date]
 * literal. 0, or -1 after answering (the literal is then refused).
 */
static int
imap_append_args(struct imap_session *s, const struct imap_command *c,
                 struct imap_append_args *a)
{
	struct store_mailbox_status st;
	struct store_mailbox mb;
	struct sb_date date;
	struct sb_sv name;
	const char *why;
	char *path;
	size_t i = 1;
	int ret;

	if (c->arg_count < 2 || c->arg_count > 4 ||
	    imap_value_mailbox(&c->args[0], &name, &why) < 0) {
		imap_bad_args(s, c,
		              "APPEND takes a mailbox, flags, a date and "
		              "a message");
		return -1;
	}
	if (c->args[i].type == IMAP_VALUE_LIST) {
		if (imap_append_flags(&c->args[i], &a->keywords, &why) < 0) {
			imap_bad_args(s, c, why);
			return -1;
		}
		i++;
	}
	a->received_at = (int64_t)time(NULL);
	if (i < c->arg_count - 1) {
		if (imap_value_datetime(&c->args[i], &date, &why) < 0) {
			imap_bad_args(s, c, why);
			return -1;
		}
		a->received_at = (int64_t)date.time;
		i++;
	}
	if (i != c->arg_count - 1 || c->args[i].type != IMAP_VALUE_LITERAL) {
		imap_bad_args(s, c, "APPEND takes one message");
		return -1;
	}
	if (imap_name_to_path(name.p, name.len, &path, &why) < 0) {
		imap_reply(s, "%s NO %s", c->tag, why);
		return -1;
	}
	ret = store_mailbox_find_path(s->st, s->account_id, path, &mb, &why);
	free(path);
	if (ret <= 0) {
		if (ret < 0)
			imap_store_failed(s, c, why);
		else
			imap_reply(s, "%s NO [TRYCREATE] No such mailbox",
			           c->tag);
		return -1;
	}
	if (mb.role != NULL && strcmp(mb.role, STORE_ROLE_ALL) == 0) {
		store_mailbox_free_contents(&mb);
		imap_reply(s,
		           "%s NO [CANNOT] All Mail holds every message by "
		           "itself: append to another mailbox",
		           c->tag);
		return -1;
	}
	a->mailbox_id = mb.id;
	store_mailbox_free_contents(&mb);
	if (store_mailbox_status(s->st, a->mailbox_id, &st, &why) < 0) {
		imap_store_failed(s, c, why);
		return -1;
	}
	a->uidvalidity = st.uidvalidity;
	return 0;
}

/* Reads the literal's bytes into the backend, then the command's end. */
static bool
imap_append_stream(struct imap_session *s, const struct imap_command *c,
                   const struct imap_append_args *a, void *app)
{
	const struct imap_backend *b = &s->shared->cfg->backend;
	struct imap_event ev;
	const char *why, *failed = NULL;
	uint32_t uid = 0;

	for (;;) {
		if (imap_next_event(s, &ev, &why) == 0) {
			b->append_abort(app);
			if (why != NULL)
				imap_reply(s, "* BYE %s", why);
			return false;
		}
		if (ev.type != IMAP_EV_LITERAL_DATA)
			break;
		if (failed == NULL &&
		    b->append_write(app, ev.data.p, ev.data.len, &failed) < 0)
			sb_log_warn("imap %lu: APPEND: %s", s->id, failed);
	}
	if (ev.type != IMAP_EV_COMMAND) {
		b->append_abort(app);
		if (ev.type == IMAP_EV_LITERAL) {
			/* A second message: MULTIAPPEND is not offered. */
			imap_reply(s, "%s BAD One message per APPEND", c->tag);
			return imap_reader_literal_reject(s->reader) == 0;
		}
		imap_reply(s, "%s BAD %s", c->tag,
		           ev.type == IMAP_EV_ERROR ? ev.error_text
		                                    : "Unexpected input");
		return !(ev.type == IMAP_EV_ERROR && ev.must_close);
	}
	if (failed != NULL) {
		b->append_abort(app);
		imap_reply(s,
		           "%s NO [SERVERBUG] The message cannot be stored "
		           "now",
		           c->tag);
		return true;
	}
	if (b->append_finish(app, a->mailbox_id, sb_buf_str(&a->keywords),
	                     a->received_at, &uid, &why) < 0) {
		sb_log_warn("imap %lu: APPEND: %s", s->id, why);
		imap_reply(s,
		           "%s NO [SERVERBUG] The message cannot be stored "
		           "now",
		           c->tag);
		return true;
	}
	if (imap_view_update(s, true, &why) < 0)
		sb_log_warn("imap %lu: %s", s->id, why);
	imap_reply(s, "%s OK [APPENDUID %u %u] APPEND completed", c->tag,
	           a->uidvalidity, uid);
	return true;
}

bool
imap_append_literal(struct imap_session *s, const struct imap_event *ev,
                    const struct imap_command *c)
{
	const struct imap_backend *b = &s->shared->cfg->backend;
	struct imap_append_args a;
	const char *error;
	void *app = NULL;
	bool ok;

	memset(&a, 0, sizeof(a));
	sb_buf_init(&a.keywords, SIZE_MAX);
	if (s->state == IMAP_STATE_NOT_AUTH) {
		imap_reply(s, "%s BAD APPEND is not allowed before logging in",
		           c->tag);
		goto refuse;
	}
	if (imap_append_args(s, c, &a) < 0)
		goto refuse;
	if (ev->literal_size > IMAP_APPEND_MAX) {
		imap_reply(s,
		           "%s NO [TOOBIG] The message is larger than %u "
		           "bytes",
		           c->tag, IMAP_APPEND_MAX);
		goto refuse;
	}
	if (b->append_begin(b->ctx, s->st, s->account_id, ev->literal_size,
	                    &app, &error) < 0) {
		sb_log_warn("imap %lu: APPEND: %s", s->id, error);
		imap_reply(s,
		           "%s NO [SERVERBUG] The message cannot be stored "
		           "now",
		           c->tag);
		goto refuse;
	}
	if (imap_reader_literal_accept(s->reader, IMAP_LITERAL_STREAM, &error) <
	    0) {
		b->append_abort(app);
		imap_reply(s, "%s BAD %s", c->tag, error);
		goto refuse;
	}
	if (ev->literal_sync)
		imap_reply(s, "+ Ready for the message");
	ok = imap_append_stream(s, c, &a, app);
	sb_buf_free(&a.keywords);
	return ok;
refuse:
	sb_buf_free(&a.keywords);
	return imap_reader_literal_reject(s->reader) == 0;
}

/* An APPEND whose message came as a quoted string, not a literal. */
void
imap_cmd_append(struct imap_session *s, const struct imap_command *c)
{
	imap_bad_args(s, c, "APPEND's message must be a literal");
}
