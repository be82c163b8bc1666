/*
 * The selected mailbox as the session told its client about it, and the
 * untagged responses that bring the client up to date when the replica
 * changed: by this session, another one, or the sync engine.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "imap-private.h"

/* IMAP's system flags and the keywords the API names them with. */
static const struct {
	const char *keyword, *flag;
} imap_system_flags[] = {
        {"$answered", "\\Answered"},
        {"$flagged", "\\Flagged"},
        {"$seen", "\\Seen"},
        {"$draft", "\\Draft"},
};

void
imap_write_flags(const char *keywords, bool deleted, struct sb_buf *out)
{
	const char *p = keywords != NULL ? keywords : "";
	bool first = true;
	size_t len, i;

	if (sb_buf_add_char(out, '(') < 0)
		abort();
	while (*p != '\0') {
		len = strcspn(p, " ");
		if (len > 0) {
			const char *word = p;
			size_t wlen = len;

			for (i = 0; i < SB_N_ELEMENTS(imap_system_flags); i++) {
				if (strlen(imap_system_flags[i].keyword) ==
				            len &&
				    strncmp(imap_system_flags[i].keyword, p,
				            len) == 0) {
					word = imap_system_flags[i].flag;
					wlen = strlen(word);
				}
			}
			if ((!first && sb_buf_add_char(out, ' ') < 0) ||
			    sb_buf_add(out, word, wlen) < 0)
				abort();
			first = false;
		}
		p += len + strspn(p + len, " ");
	}
	if (deleted && ((!first && sb_buf_add_char(out, ' ') < 0) ||
	                sb_buf_add_str(out, "\\Deleted") < 0))
		abort();
	if (sb_buf_add_char(out, ')') < 0)
		abort();
}

int
imap_view_open(struct imap_session *s, int64_t mailbox_id, bool readonly,
               const char **error_r)
{
	struct store_mailbox mb;
	struct imap_view *v = &s->view;
	uint32_t *uids;
	size_t n;
	int ret;

	imap_view_close(s);
	/* One row, not the counts of the status. */
	ret = store_mailbox_get(s->st, mailbox_id, &mb, error_r);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = "the mailbox is gone";
		return -1;
	}
	/* The UIDs after the modseq: what changed between comes again. */
	if (store_mailbox_uids(s->st, mailbox_id, &uids, &n, error_r) < 0) {
		store_mailbox_free_contents(&mb);
		return -1;
	}
	v->mailbox_id = mailbox_id;
	v->uidvalidity = mb.uidvalidity;
	v->uidnext = mb.uidnext;
	v->readonly = readonly;
	v->uids = uids;
	v->count = v->alloc = n;
	v->modseq = v->expunged_modseq = mb.highestmodseq;
	store_mailbox_free_contents(&mb);
	return 0;
}

void
imap_view_close(struct imap_session *s)
{
	free(s->view.uids);
	memset(&s->view, 0, sizeof(s->view));
}

/* The sequence number of a UID of the view, or 0. */
static size_t
imap_view_seq(const struct imap_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->count && v->uids[lo] == uid ? lo + 1 : 0;
}

/* Collects the UIDs expunged since the view's expunged_modseq. */
struct imap_gone {
	uint32_t *uids;
	size_t count, alloc;
};

static int
imap_gone_cb(void *ctx, uint32_t uid, const char **error_r)
{
	struct imap_gone *g = ctx;

	(void)error_r;
	if (g->count == g->alloc) {
		g->alloc = g->alloc * 2 + 64;
		g->uids = sb_reallocarray(g->uids, g->alloc, sizeof(*g->uids));
	}
	g->uids[g->count++] = uid;
	return 0;
}

static int SB_WUR
imap_view_expunges(struct imap_session *s, const char **error_r)
{
	struct imap_view *v = &s->view;
	struct imap_gone g = {NULL, 0, 0};
	struct imap_seqset gone;
	struct sb_buf text;
	size_t i, seq;

	if (store_mailbox_vanished(s->st, v->mailbox_id, v->expunged_modseq,
	                           imap_gone_cb, &g, error_r) < 0) {
		free(g.uids);
		return -1;
	}
	imap_seqset_init(&gone, 0);
	for (i = 0; i < g.count; i++) {
		seq = imap_view_seq(v, g.uids[i]);
		if (seq == 0)
			continue;
		/* With QRESYNC, the UIDs in one VANISHED (RFC 7162 3.2.10). */
		if (s->qresync) {
			if (imap_seqset_add(&gone, g.uids[i], g.uids[i]) < 0)
				abort(); /* fewer than the view holds */
		} else {
			imap_reply(s, "* %zu EXPUNGE", seq);
		}
		memmove(&v->uids[seq - 1], &v->uids[seq],
		        (v->count - seq) * sizeof(*v->uids));
		v->count--;
	}
	if (gone.count > 0) {
		sb_buf_init(&text, SIZE_MAX);
		if (imap_seqset_format(&gone, &text) < 0)
			abort();
		imap_reply(s, "* VANISHED %s", sb_buf_str(&text));
		sb_buf_free(&text);
	}
	imap_seqset_free(&gone);
	free(g.uids);
	return 0;
}

/* What one pass over the entries changed since the view's modseq. */
struct imap_changed {
	struct imap_session *s;
	size_t added;
	uint64_t top; /* the highest modseq met */
};

static int
imap_changed_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct imap_changed *c = ctx;
	struct imap_view *v = &c->s->view;
	struct sb_buf flags;
	size_t seq;

	(void)error_r;
	if (e->modseq > c->top)
		c->top = e->modseq;
	if (v->count == 0 || e->uid > v->uids[v->count - 1]) {
		if (v->count == v->alloc) {
			v->alloc = v->alloc * 2 + 64;
			v->uids = sb_reallocarray(v->uids, v->alloc,
			                          sizeof(*v->uids));
		}
		v->uids[v->count++] = e->uid;
		c->added++;
		return 0;
	}
	seq = imap_view_seq(v, e->uid);
	if (seq == 0)
		return 0; /* expunged here, still to be told */
	sb_buf_init(&flags, SIZE_MAX);
	imap_write_flags(e->keywords, e->deleted, &flags);
	if (c->s->condstore)
		imap_reply(c->s,
		           "* %zu FETCH (UID %u FLAGS %.*s MODSEQ (%llu))", seq,
		           e->uid, (int)flags.len, flags.data,
		           (unsigned long long)e->modseq);
	else
		imap_reply(c->s, "* %zu FETCH (UID %u FLAGS %.*s)", seq, e->uid,
		           (int)flags.len, flags.data);
	sb_buf_free(&flags);
	return 0;
}

int
imap_view_update(struct imap_session *s, bool expunges, const char **error_r)
{
	struct imap_view *v = &s->view;
	struct imap_changed c = {s, 0, 0};
	uint64_t top;
	int ret;

	if (s->state != IMAP_STATE_SELECTED)
		return 0;
	/* One row read: this runs before every command. */
	ret = store_mailbox_highestmodseq(s->st, v->mailbox_id, &top, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		/*
		 * Deleted by another session or by the sync: nothing the
		 * client holds is valid any more.
		 */
		imap_reply(s, "* BYE The selected mailbox was deleted");
		imap_view_close(s);
		s->state = IMAP_STATE_LOGOUT;
		return 0;
	}
	if (top == v->modseq && (top == v->expunged_modseq || !expunges))
		return 0;
	if (expunges && v->expunged_modseq < top) {
		if (imap_view_expunges(s, error_r) < 0)
			return -1;
		v->expunged_modseq = top;
	}
	if (v->modseq < top) {
		if (store_mailbox_fetch(s->st, v->mailbox_id, 1, UINT32_MAX,
		                        v->modseq, imap_changed_cb, &c,
		                        error_r) < 0)
			return -1;
		if (c.added > 0)
			imap_reply(s, "* %zu EXISTS", v->count);
		v->modseq = c.top > top ? c.top : top;
	}
	return 0;
}

void
imap_store_failed(struct imap_session *s, const struct imap_command *c,
                  const char *error)
{
	sb_log_warn("imap %lu: %s: %s", s->id, c->name, error);
	imap_reply(s, "%s NO [SERVERBUG] The local copy cannot be read now",
	           c->tag);
}

/* ---- The entries a command names ---- */

struct imap_targets_scan {
	const struct imap_view *v;
	const struct imap_seqset *uids; /* the set, as UIDs */
	struct imap_targets *t;
	size_t alloc; /* items allocated in t */
};

static int
imap_targets_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct imap_targets_scan *sc = ctx;
	struct imap_target *it;
	size_t seq;

	(void)error_r;
	if (!imap_seqset_contains(sc->uids, e->uid))
		return 0;
	/* Only what the client was told of: its sequence numbers hold. */
	seq = imap_view_seq(sc->v, e->uid);
	if (seq == 0)
		return 0;
	if (sc->t->count == sc->alloc) {
		/* Doubling: a whole mailbox (1:*) is one scan. */
		sc->alloc = sc->alloc * 2 + 64;
		sc->t->items = sb_reallocarray(sc->t->items, sc->alloc,
		                               sizeof(*sc->t->items));
	}
	it = &sc->t->items[sc->t->count++];
	it->seq = seq;
	it->uid = e->uid;
	it->message_id = e->message_id;
	it->deleted = e->deleted;
	it->received_at = e->received_at;
	it->modseq = e->modseq;
	it->keywords = sb_strdup(e->keywords != NULL ? e->keywords : "");
	return 0;
}

int
imap_targets_get(struct imap_session *s, const struct imap_command *c,
                 const struct imap_value *arg, bool uid, struct imap_targets *t)
{
	return imap_targets_get_since(s, c, arg, uid, 0, t);
}

int
imap_targets_get_since(struct imap_session *s, const struct imap_command *c,
                       const struct imap_value *arg, bool uid,
                       uint64_t changedsince, struct imap_targets *t)
{
	const struct imap_view *v = &s->view;
	struct imap_targets_scan sc = {v, NULL, t, 0};
	struct imap_seqset set, uids;
	struct sb_sv text;
	const char *error;
	uint32_t star;
	size_t i;
	int ret;

	memset(t, 0, sizeof(*t));
	if (imap_value_seqset(arg, &text, &error) < 0) {
		imap_bad_args(s, c, error);
		return -1;
	}
	imap_seqset_init(&set, 0);
	imap_seqset_init(&uids, 0);
	if (uid)
		star = v->count > 0 ? v->uids[v->count - 1] : 1;
	else
		star = (uint32_t)v->count;
	if (imap_seqset_parse(&set, text.p, text.len,
	                      uid ? IMAP_SEQSET_UID : IMAP_SEQSET_SEQ, star,
	                      &error) < 0) {
		imap_bad_args(s, c, error);
		ret = -1;
		goto out;
	}
	if (uid) {
		imap_seqset_free(&uids);
		uids = set;
		imap_seqset_init(&set, 0);
	} else {
		/*
		 * Sequence numbers a..b stand for the view's UIDs from
		 * uids[a - 1] to uids[b - 1]: the replica has no other UID
		 * between them (new ones come after the view's last), and
		 * the scan keeps only UIDs of the view.
		 */
		for (i = 0; i < set.count; i++) {
			if (imap_seqset_add(
			            &uids, v->uids[set.ranges[i].first - 1],
			            v->uids[set.ranges[i].last - 1]) < 0) {
				imap_bad_args(s, c, "Too many messages named");
				ret = -1;
				goto out;
			}
		}
	}
	ret = 0;
	sc.uids = &uids;
	/*
	 * A scan per range of the set (a sparse set reads its own rows,
	 * not all between its ends), and only the entries changed after
	 * changedsince (the index on modseq).
	 */
	for (i = 0; i < uids.count && ret == 0; i++) {
		if (store_mailbox_fetch(s->st, v->mailbox_id,
		                        uids.ranges[i].first,
		                        uids.ranges[i].last, changedsince,
		                        imap_targets_cb, &sc, &error) < 0) {
			imap_targets_free(t);
			imap_store_failed(s, c, error);
			ret = -1;
		}
	}
out:
	imap_seqset_free(&set);
	imap_seqset_free(&uids);
	return ret;
}

void
imap_targets_free(struct imap_targets *t)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		free(t->items[i].keywords);
	free(t->items);
	memset(t, 0, sizeof(*t));
}

/* ---- VANISHED (EARLIER) ---- */

/* Every UID below uidnext that the mailbox no longer holds, into out. */
static int SB_WUR
imap_vanished_all(struct imap_session *s, uint64_t uidnext,
                  struct imap_seqset *out, const char **error_r)
{
	uint32_t *uids, next = 1;
	size_t n, i;

	if (store_mailbox_uids(s->st, s->view.mailbox_id, &uids, &n, error_r) <
	    0)
		return -1;
	for (i = 0; i <= n; i++) {
		uint64_t end = i < n ? uids[i] : uidnext;

		/* The gap before this UID (or before uidnext). */
		if (end > next &&
		    imap_seqset_add(out, next, (uint32_t)(end - 1)) < 0) {
			free(uids);
			*error_r = "too many ranges";
			return -1;
		}
		if (i < n)
			next = uids[i] + 1;
	}
	free(uids);
	return 0;
}

int
imap_vanished_reply(struct imap_session *s, bool earlier, uint64_t since,
                    const struct imap_seqset *within, const char **error_r)
{
	struct store_mailbox_status st;
	struct imap_gone g = {NULL, 0, 0};
	struct imap_seqset gone, kept;
	struct sb_buf text;
	size_t i, k;
	int ret = 0;

	if (store_mailbox_status(s->st, s->view.mailbox_id, &st, error_r) < 0)
		return -1;
	imap_seqset_init(&gone, 0);
	if (since < st.expunged_floor) {
		/*
		 * The records before the floor were forgotten: every UID the
		 * mailbox lacks counts (RFC 7162 3.2.5.2 allows UIDs the
		 * client never saw).
		 */
		ret = imap_vanished_all(s, st.uidnext, &gone, error_r);
	} else {
		ret = store_mailbox_vanished(s->st, s->view.mailbox_id, since,
		                             imap_gone_cb, &g, error_r);
		for (i = 0; ret == 0 && i < g.count; i++) {
			if (imap_seqset_add(&gone, g.uids[i], g.uids[i]) < 0) {
				*error_r = "too many ranges";
				ret = -1;
			}
		}
		free(g.uids);
	}
	if (ret == 0 && within != NULL) {
		/* Only those of the client's set: the two sorted lists met. */
		imap_seqset_init(&kept, 0);
		for (i = 0, k = 0;
		     ret == 0 && i < gone.count && k < within->count;) {
			const struct imap_seqset_range *a = &gone.ranges[i];
			const struct imap_seqset_range *b = &within->ranges[k];
			uint32_t lo = a->first > b->first ? a->first : b->first;
			uint32_t hi = a->last < b->last ? a->last : b->last;

			if (lo <= hi && imap_seqset_add(&kept, lo, hi) < 0) {
				*error_r = "too many ranges";
				ret = -1;
			}
			if (a->last < b->last)
				i++;
			else
				k++;
		}
		imap_seqset_free(&gone);
		gone = kept;
	}
	if (ret == 0 && gone.count > 0) {
		sb_buf_init(&text, SIZE_MAX);
		if (imap_seqset_format(&gone, &text) < 0)
			abort();
		imap_reply(s, "* VANISHED%s %s", earlier ? " (EARLIER)" : "",
		           sb_buf_str(&text));
		sb_buf_free(&text);
	}
	imap_seqset_free(&gone);
	return ret;
}
