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

/* FETCH (UID FLAGS MODSEQ) of each entry changed since a modseq. */
struct imap_changed_since {
	struct imap_session *s;
};

static int
imap_changed_since_cb(void *ctx, const struct store_entry *e,
                      const char **error_r)
{
	struct imap_changed_since *cs = ctx;
	struct imap_session *s = cs->s;
	struct sb_buf flags;
	size_t lo = 0, hi = s->view.count;

	(void)error_r;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->view.uids[mid] < e->uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= s->view.count || s->view.uids[lo] != e->uid)
		return 0;
	sb_buf_init(&flags, SIZE_MAX);
	imap_write_flags(e->keywords, e->deleted, &flags);
	imap_reply(s, "* %zu FETCH (UID %u FLAGS %s MODSEQ (%llu))", lo + 1,
	           e->uid, sb_buf_str(&flags), (unsigned long long)e->modseq);
	sb_buf_free(&flags);
	return 0;
}

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

/* SELECT's QRESYNC parameter (RFC 7162 3.2.5). */
struct imap_qresync {
	bool on;
	uint32_t uidvalidity;
	uint64_t modseq;
	bool known;
	struct imap_seqset known_uids;
};

static void
imap_qresync_free(struct imap_qresync *q)
{
	if (q->known)
		imap_seqset_free(&q->known_uids);
	memset(q, 0, sizeof(*q));
}

/*
 * Reads SELECT's optional parameters: (CONDSTORE) or (QRESYNC (uidvalidity
 * modseq [known-uids [seq-match]])). 0, or -1 after answering BAD.
 */
static int
imap_select_params(struct imap_session *s, const struct imap_command *c,
                   struct imap_qresync *q)
{
	const struct imap_value *p, *l;
	struct sb_sv set;
	const char *error;
	uint64_t n;
	size_t i;

	memset(q, 0, sizeof(*q));
	if (c->arg_count < 2)
		return 0;
	p = &c->args[1];
	if (p->type != IMAP_VALUE_LIST)
		goto bad;
	for (i = 0; i < p->count; i++) {
		if (imap_value_is_atom(&p->list[i], "CONDSTORE")) {
			s->condstore = true;
			continue;
		}
		if (!imap_value_is_atom(&p->list[i], "QRESYNC") ||
		    i + 1 >= p->count || !s->qresync)
			goto bad;
		l = &p->list[++i];
		if (l->type != IMAP_VALUE_LIST || l->count < 2 ||
		    l->count > 4 ||
		    imap_value_nz_number(&l->list[0], &n, &error) < 0 ||
		    n > UINT32_MAX)
			goto bad;
		q->uidvalidity = (uint32_t)n;
		if (imap_value_nz_number(&l->list[1], &q->modseq, &error) < 0)
			goto bad;
		if (l->count >= 3) {
			if (imap_value_seqset(&l->list[2], &set, &error) < 0)
				goto bad;
			imap_seqset_init(&q->known_uids, 0);
			q->known = true;
			if (imap_seqset_parse(&q->known_uids, set.p, set.len,
			                      IMAP_SEQSET_UID, UINT32_MAX,
			                      &error) < 0)
				goto bad;
		}
		q->on = true;
	}
	return 0;
bad:
	imap_qresync_free(q);
	imap_bad_args(s, c,
	              s->qresync ? "Bad SELECT parameters"
	                         : "Bad SELECT parameters (QRESYNC "
	                           "must be enabled first)");
	return -1;
}

/* The changes a QRESYNC client missed since its modseq: VANISHED, FETCH. */
static int SB_WUR
imap_qresync_tell(struct imap_session *s, const struct imap_qresync *q,
                  const char **error_r)
{
	struct imap_changed_since cs = {s};

	if (imap_vanished_reply(s, true, q->modseq,
	                        q->known ? &q->known_uids : NULL, error_r) < 0)
		return -1;
	return store_mailbox_fetch(s->st, s->view.mailbox_id, 1, UINT32_MAX,
	                           q->modseq, imap_changed_since_cb, &cs,
	                           error_r);
}

static void
imap_select_common(struct imap_session *s, const struct imap_command *c,
                   bool readonly)
{
	struct imap_first_unseen u = {0};
	struct imap_qresync q;
	struct store_mailbox mb;
	struct sb_sv name;
	const char *error;
	char *path;
	size_t i;
	int ret;

	if (c->arg_count < 1 || c->arg_count > 2 ||
	    imap_value_mailbox(&c->args[0], &name, &error) < 0) {
		imap_bad_args(s, c,
		              "It takes a mailbox name and maybe CONDSTORE or "
		              "QRESYNC parameters");
		return;
	}
	if (imap_select_params(s, c, &q) < 0)
		return;
	/* A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1). */
	if (s->state == IMAP_STATE_SELECTED) {
		imap_view_close(s);
		s->state = IMAP_STATE_AUTH;
		imap_reply(s, "* OK [CLOSED] Previous mailbox closed");
	}
	if (imap_name_to_path(name.p, name.len, &path, &error) < 0) {
		imap_reply(s, "%s NO %s", c->tag, error);
		imap_qresync_free(&q);
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
		imap_qresync_free(&q);
		return;
	}
	if (imap_view_open(s, mb.id, readonly, &error) < 0 ||
	    store_mailbox_fetch(s->st, mb.id, 1, UINT32_MAX, 0,
	                        imap_first_unseen_cb, &u, &error) < 0) {
		store_mailbox_free_contents(&mb);
		imap_view_close(s);
		imap_qresync_free(&q);
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
	if (s->view.uidnext <= UINT32_MAX)
		imap_reply(s, "* OK [UIDNEXT %llu] Predicted next UID",
		           (unsigned long long)s->view.uidnext);
	imap_reply(s, "* OK [HIGHESTMODSEQ %llu] Highest",
	           (unsigned long long)s->view.modseq);
	if (q.on && q.uidvalidity == s->view.uidvalidity &&
	    imap_qresync_tell(s, &q, &error) < 0) {
		imap_qresync_free(&q);
		imap_store_failed(s, c, error);
		return;
	}
	imap_qresync_free(&q);
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
