/*
 * The selected state: SELECT and EXAMINE (RFC 3501 6.3.1-2), CLOSE,
 * UNSELECT (RFC 3691), CHECK and EXPUNGE (6.4.1-3).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "imap-private.h"

#define IMAP_FLAGS "\\Answered \\Flagged \\Deleted \\Seen \\Draft"

/* Finds the first message without $seen (RFC 3501's [UNSEEN n]). */
struct imap_first_unseen {
	uint32_t uid;
};

static int
imap_first_unseen_cb(void *ctx, const struct store_entry *e,
                     const char **error_r)
{
	struct imap_first_unseen *u = ctx;
	const char *k = e->keywords;
	size_t len;

	(void)error_r;
	while (*k != '\0') {
		len = strcspn(k, " ");
		if (len == 5 && strncmp(k, "$seen", 5) == 0)
			return 0;
		k += len + strspn(k + len, " ");
	}
	u->uid = e->uid;
	return 1;
}

static void
imap_select_common(struct imap_session *s, const struct imap_command *c,
                   bool readonly)
{
	struct imap_first_unseen u = {0};
	struct store_mailbox_status st;
	struct store_mailbox mb;
	struct sb_sv name;
	const char *error;
	char *path;
	size_t i;
	int ret;

	if (c->arg_count != 1 ||
	    imap_value_mailbox(&c->args[0], &name, &error) < 0) {
		imap_bad_args(s, c, "It takes a mailbox name");
		return;
	}
	/* A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1). */
	if (s->state == IMAP_STATE_SELECTED) {
		imap_view_close(s);
		s->state = IMAP_STATE_AUTH;
		imap_reply(s, "* OK [CLOSED] Previous mailbox closed");
	}
	if (imap_name_to_path(name.p, name.len, &path, &error) < 0) {
		imap_reply(s, "%s NO %s", c->tag, error);
		return;
	}
	ret = store_mailbox_find_path(s->st, s->account_id, path, &mb, &error);
	free(path);
	if (ret <= 0) {
		if (ret < 0)
			imap_store_failed(s, c, error);
		else
			imap_reply(s, "%s NO [NONEXISTENT] No such mailbox",
			           c->tag);
		return;
	}
	if (imap_view_open(s, mb.id, readonly, &error) < 0 ||
	    store_mailbox_status(s->st, mb.id, &st, &error) < 0 ||
	    store_mailbox_fetch(s->st, mb.id, 1, UINT32_MAX, 0,
	                        imap_first_unseen_cb, &u, &error) < 0) {
		store_mailbox_free_contents(&mb);
		imap_view_close(s);
		imap_store_failed(s, c, error);
		return;
	}
	store_mailbox_free_contents(&mb);
	s->state = IMAP_STATE_SELECTED;
	imap_reply(s, "* FLAGS (" IMAP_FLAGS ")");
	imap_reply(s, "* OK [PERMANENTFLAGS (%s)] Flags permitted",
	           readonly ? "" : IMAP_FLAGS " \\*");
	imap_reply(s, "* %zu EXISTS", s->view.count);
	imap_reply(s, "* 0 RECENT");
	for (i = 0; u.uid != 0 && i < s->view.count; i++) {
		if (s->view.uids[i] == u.uid) {
			imap_reply(s, "* OK [UNSEEN %zu] First unseen", i + 1);
			break;
		}
	}
	imap_reply(s, "* OK [UIDVALIDITY %u] UIDs valid", s->view.uidvalidity);
	if (st.uidnext <= UINT32_MAX)
		imap_reply(s, "* OK [UIDNEXT %llu] Predicted next UID",
		           (unsigned long long)st.uidnext);
	imap_reply(s, "%s OK [%s] %s completed", c->tag,
	           readonly ? "READ-ONLY" : "READ-WRITE", c->name);
}

void
imap_cmd_select(struct imap_session *s, const struct imap_command *c)
{
	imap_select_common(s, c, false);
}

void
imap_cmd_examine(struct imap_session *s, const struct imap_command *c)
{
	imap_select_common(s, c, true);
}

static bool
imap_no_args(struct imap_session *s, const struct imap_command *c)
{
	if (c->arg_count == 0)
		return true;
	imap_bad_args(s, c, "It takes no arguments");
	return false;
}

void
imap_cmd_close(struct imap_session *s, const struct imap_command *c)
{
	const char *error;

	if (!imap_no_args(s, c))
		return;
	/* CLOSE expunges silently, unless the mailbox is read-only. */
	if (!s->view.readonly &&
	    store_local_expunge(s->st, s->view.mailbox_id, NULL, 0, time(NULL),
	                        &error) < 0) {
		imap_store_failed(s, c, error);
		return;
	}
	imap_view_close(s);
	s->state = IMAP_STATE_AUTH;
	imap_reply(s, "%s OK CLOSE completed", c->tag);
}

void
imap_cmd_unselect(struct imap_session *s, const struct imap_command *c)
{
	if (!imap_no_args(s, c))
		return;
	imap_view_close(s);
	s->state = IMAP_STATE_AUTH;
	imap_reply(s, "%s OK UNSELECT completed", c->tag);
}

void
imap_cmd_check(struct imap_session *s, const struct imap_command *c)
{
	if (!imap_no_args(s, c))
		return;
	imap_reply(s, "%s OK CHECK completed", c->tag);
}

void
imap_cmd_expunge(struct imap_session *s, const struct imap_command *c)
{
	const char *error;

	if (c->uid) {
		imap_cmd_uid_expunge(s, c);
		return;
	}
	if (!imap_no_args(s, c))
		return;
	if (s->view.readonly) {
		imap_reply(s, "%s NO [READ-ONLY] The mailbox is read-only",
		           c->tag);
		return;
	}
	if (store_local_expunge(s->st, s->view.mailbox_id, NULL, 0, time(NULL),
	                        &error) < 0) {
		imap_store_failed(s, c, error);
		return;
	}
	/* The EXPUNGE responses, before the completion. */
	if (imap_view_update(s, true, &error) < 0) {
		imap_store_failed(s, c, error);
		return;
	}
	imap_reply(s, "%s OK EXPUNGE completed", c->tag);
}
