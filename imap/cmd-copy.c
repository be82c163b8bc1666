/*
 * COPY, MOVE (RFC 6851) and UID EXPUNGE (RFC 4315), with UIDPLUS's
 * COPYUID. One message can be in several mailboxes: a copy adds a
 * mailbox to it (with a new UID there), a move replaces one with
 * another, both in the replica first with the op that replays them.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "imap-private.h"

/* "TAG OK [COPYUID v src dst] text": no length limit on the sets. */
static void
imap_copyuid(struct imap_session *s, const char *tag, uint32_t validity,
             const struct sb_buf *src, const struct sb_buf *dst,
             const char *text)
{
	struct sb_buf line;

	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_printf(&line, "%s OK [COPYUID %u ", tag, validity) < 0 ||
	    sb_buf_add(&line, src->data, src->len) < 0 ||
	    sb_buf_add_char(&line, ' ') < 0 ||
	    sb_buf_add(&line, dst->data, dst->len) < 0 ||
	    sb_buf_add_printf(&line, "] %s\r\n", text) < 0)
		abort();
	imap_reply_raw(s, line.data, line.len);
	sb_buf_free(&line);
}

/* Appends "lo" or "lo:hi" to a UID set, after a comma if not the first. */
static void
imap_uid_run(struct sb_buf *set, uint32_t lo, uint32_t hi)
{
	if ((set->len > 0 && sb_buf_add_char(set, ',') < 0) ||
	    (lo == hi ? sb_buf_add_printf(set, "%u", lo)
	              : sb_buf_add_printf(set, "%u:%u", lo, hi)) < 0)
		abort(); /* the buffer has no maximum */
}

static void
imap_copy_move(struct imap_session *s, const struct imap_command *c, bool move)
{
	struct store_mailbox_status st;
	struct store_mailbox to;
	struct store_patch p;
	struct imap_targets t;
	struct sb_buf src, dst;
	const char *error;
	int64_t *ids;
	uint32_t *uids;
	size_t i, j;
	int ret;

	if (c->arg_count != 2) {
		imap_bad_args(s, c, "It takes a set and a mailbox");
		return;
	}
	if (move && s->view.readonly) {
		imap_reply(s, "%s NO [READ-ONLY] The mailbox is read-only",
		           c->tag);
		return;
	}
	if (imap_mailbox_arg(s, c, 1, "TRYCREATE", &to) == 0)
		return;
	if (imap_targets_get(s, c, &c->args[0], c->uid, &t) < 0) {
		store_mailbox_free_contents(&to);
		return;
	}
	if (t.count == 0) {
		/* Nothing named (UID sets may name none): nothing to do. */
		imap_reply(s, "%s OK %s completed", c->tag, c->name);
		goto out;
	}
	if (to.role != NULL && strcmp(to.role, STORE_ROLE_ALL) == 0) {
		imap_reply(s,
		           "%s NO [CANNOT] All Mail holds every message by "
		           "itself: %s to another mailbox",
		           c->tag, move ? "move" : "copy");
		goto out;
	}
	if (move && to.id == s->view.mailbox_id) {
		imap_reply(s,
		           "%s NO [CANNOT] A message cannot move onto "
		           "itself",
		           c->tag);
		goto out;
	}
	ids = sb_calloc(t.count, sizeof(*ids));
	uids = sb_calloc(t.count, sizeof(*uids));
	for (i = 0; i < t.count; i++)
		ids[i] = t.items[i].message_id;
	memset(&p, 0, sizeof(p));
	p.add_mailbox = to.id;
	p.remove_mailbox = move ? s->view.mailbox_id : 0;
	ret = store_local_update(s->st, ids, t.count, &p, time(NULL), uids,
	                         &error);
	if (ret == 0)
		ret = store_mailbox_status(s->st, to.id, &st, &error);
	free(ids);
	if (ret < 0) {
		free(uids);
		imap_reply(s, "%s NO %s", c->tag, error);
		goto out;
	}
	/*
	 * COPYUID uidvalidity source-uids target-uids, matched one to one
	 * in the order given (RFC 4315 3): the sources ascend, the targets
	 * mostly too, but a message the target held already keeps its UID
	 * there, so runs are only those that ascend on both sides.
	 */
	sb_buf_init(&src, SIZE_MAX);
	sb_buf_init(&dst, SIZE_MAX);
	for (i = 0; i < t.count; i = j) {
		for (j = i + 1;
		     j < t.count && t.items[j].uid == t.items[j - 1].uid + 1 &&
		     uids[j] == uids[j - 1] + 1;
		     j++)
			;
		imap_uid_run(&src, t.items[i].uid, t.items[j - 1].uid);
		imap_uid_run(&dst, uids[i], uids[j - 1]);
	}
	free(uids);
	if (move) {
		imap_copyuid(s, "*", st.uidvalidity, &src, &dst, "Moved");
		if (imap_view_update(s, true, &error) < 0)
			imap_store_failed(s, c, error);
		else
			imap_reply(s, "%s OK %sMOVE completed", c->tag,
			           c->uid ? "UID " : "");
	} else {
		imap_copyuid(s, c->tag, st.uidvalidity, &src, &dst,
		             c->uid ? "UID COPY completed" : "COPY completed");
	}
	sb_buf_free(&src);
	sb_buf_free(&dst);
out:
	imap_targets_free(&t);
	store_mailbox_free_contents(&to);
}

void
imap_cmd_copy(struct imap_session *s, const struct imap_command *c)
{
	imap_copy_move(s, c, false);
}

void
imap_cmd_move(struct imap_session *s, const struct imap_command *c)
{
	imap_copy_move(s, c, true);
}

/* UID EXPUNGE set: only those of the set (RFC 4315 2.1). */
void
imap_cmd_uid_expunge(struct imap_session *s, const struct imap_command *c)
{
	struct imap_targets t;
	const char *error;
	uint32_t *uids;
	size_t i;
	int ret;

	if (c->arg_count != 1) {
		imap_bad_args(s, c, "UID EXPUNGE takes a set of UIDs");
		return;
	}
	if (s->view.readonly) {
		imap_reply(s, "%s NO [READ-ONLY] The mailbox is read-only",
		           c->tag);
		return;
	}
	if (imap_targets_get(s, c, &c->args[0], true, &t) < 0)
		return;
	uids = sb_calloc(t.count + 1, sizeof(*uids));
	for (i = 0; i < t.count; i++)
		uids[i] = t.items[i].uid;
	ret = store_local_expunge(s->st, s->view.mailbox_id, uids, t.count,
	                          time(NULL), &error);
	free(uids);
	imap_targets_free(&t);
	if (ret < 0 || imap_view_update(s, true, &error) < 0) {
		imap_store_failed(s, c, error);
		return;
	}
	imap_reply(s, "%s OK UID EXPUNGE completed", c->tag);
}
