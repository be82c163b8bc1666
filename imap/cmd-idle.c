/*
 * IDLE (RFC 2177): the session waits for its client's DONE and, while it
 * waits, tells at once what changes in the selected mailbox: the replica
 * signals the session's subscription when a commit touched the mailbox
 * (by another session, or by the sync engine).
 */
#include <string.h>

#include "common/log.h"
#include "imap-private.h"

/* The subscription fired: what changed goes out now. */
static bool
imap_idle_changed(struct imap_session *s)
{
	const char *error;

	if (imap_view_update(s, true, &error) < 0)
		sb_log_warn("imap %lu: IDLE: %s", s->id, error);
	return imap_flush(s);
}

void
imap_cmd_idle(struct imap_session *s, const struct imap_command *c)
{
	const struct imap_config *cfg = s->shared->cfg;
	struct store_sub *sub = NULL;
	struct imap_event ev;
	const char *error, *why = NULL;
	int fd = -1;

	if (c->arg_count != 0) {
		imap_bad_args(s, c, "IDLE takes no arguments");
		return;
	}
	if (s->state == IMAP_STATE_SELECTED && cfg->hub != NULL) {
		if (store_subscribe(cfg->hub, s->view.mailbox_id, &sub,
		                    &error) < 0) {
			imap_store_failed(s, c, error);
			return;
		}
		fd = store_sub_fd(sub);
	}
	imap_reply(s, "+ idling");
	imap_reader_set_raw_line(s->reader);
	/* What changed between the update before the command and now. */
	if (!imap_idle_changed(s))
		goto out;
	if (fd >= 0 ? imap_next_event_watch(s, fd, imap_idle_changed, &ev,
	                                    &why) == 0
	            : imap_next_event(s, &ev, &why) == 0) {
		if (why != NULL)
			imap_reply(s, "* BYE %s", why);
		s->state = IMAP_STATE_LOGOUT;
		goto out;
	}
	if (ev.type == IMAP_EV_RAW_LINE && ev.line.len == 4 &&
	    strncasecmp(ev.line.p, "DONE", 4) == 0)
		imap_reply(s, "%s OK IDLE terminated", c->tag);
	else
		imap_reply(s, "%s BAD Expected DONE", c->tag);
out:
	if (sub != NULL)
		store_unsubscribe(cfg->hub, &sub);
}
