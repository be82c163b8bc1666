/*
 * STORE and UID STORE (RFC 3501 6.4.6): flags set, added or removed,
 * in the replica first with the op that replays them (one op for a whole
 * +FLAGS or -FLAGS). \Deleted is this mailbox's own and never leaves the
 * replica; EXPUNGE is what reaches the service.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "imap-private.h"

/* The flags of a STORE as keywords, and what it does with \Deleted. */
struct imap_flag_change {
	struct sb_buf keywords; /* space-separated, lower case */
	bool deleted;           /* \Deleted among the flags */
};

static const struct {
	const char *flag, *keyword;
} imap_flag_names[] = {
        {"\\Seen", "$seen"},
        {"\\Answered", "$answered"},
        {"\\Flagged", "$flagged"},
        {"\\Draft", "$draft"},
};

/* Reads the flags; 0, or -1 with *why_r. */
static int
imap_flags_read(const struct imap_store_flags *sf, struct imap_flag_change *fc,
                const char **why_r)
{
	struct sb_sv f;
	size_t i, k;
	bool known;

	for (i = 0; i < sf->count; i++) {
		if (imap_value_flag(&sf->flags[i], &f, why_r) < 0)
			return -1;
		if (f.len > 0 && f.p[0] == '\\') {
			known = false;
			if (f.len == 8 &&
			    strncasecmp(f.p, "\\Deleted", 8) == 0) {
				fc->deleted = true;
				continue;
			}
			/* \Recent is the server's to set (RFC 3501 2.3.2). */
			if (f.len == 7 && strncasecmp(f.p, "\\Recent", 7) == 0)
				continue;
			for (k = 0; k < SB_N_ELEMENTS(imap_flag_names); k++) {
				const char *n = imap_flag_names[k].flag;

				if (strlen(n) == f.len &&
				    strncasecmp(n, f.p, f.len) == 0) {
					if (sb_buf_add_printf(
					            &fc->keywords, " %s",
					            imap_flag_names[k]
					                    .keyword) < 0)
						abort();
					known = true;
				}
			}
			if (!known) {
				*why_r = "Unknown system flag";
				return -1;
			}
			continue;
		}
		if (sb_buf_add_char(&fc->keywords, ' ') < 0 ||
		    sb_buf_add(&fc->keywords, f.p, f.len) < 0)
			abort();
	}
	return 0;
}

/* True when the (normalised) keyword list holds word. */
static bool
imap_has_word(const char *list, const char *word, size_t len)
{
	const char *p = list;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == len && strncasecmp(p, word, len) == 0)
			return true;
		p += n + strspn(p + n, " ");
	}
	return false;
}

/* Words of a that b lacks, appended to out. */
static void
imap_words_minus(const char *a, const char *b, struct sb_buf *out)
{
	const char *p = a;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n > 0 && !imap_has_word(b, p, n) &&
		    (sb_buf_add_char(out, ' ') < 0 ||
		     sb_buf_add(out, p, n) < 0))
			abort();
		p += n + strspn(p + n, " ");
	}
}

/* The changes, in the caller's transaction. */
static int SB_WUR
imap_store_apply(struct imap_session *s, const struct imap_store_flags *sf,
                 const struct imap_flag_change *fc,
                 const struct imap_targets *t, const char **error_r)
{
	const char *words = sb_buf_str(&fc->keywords);
	struct store_patch p;
	struct sb_buf add, remove;
	int64_t *ids;
	size_t i;
	int ret = 0;

	for (i = 0; i < t->count && ret == 0; i++) {
		const struct imap_target *e = &t->items[i];
		bool want = sf->op == IMAP_STORE_REMOVE ? false
		            : sf->op == IMAP_STORE_ADD
		                    ? (e->deleted || fc->deleted)
		                    : fc->deleted;

		if (sf->op != IMAP_STORE_REPLACE && !fc->deleted)
			continue;
		if (want != e->deleted)
			ret = store_mailbox_set_deleted(s->st,
			                                s->view.mailbox_id,
			                                e->uid, want, error_r);
	}
	if (ret < 0 || t->count == 0)
		return ret;
	memset(&p, 0, sizeof(p));
	if (sf->op != IMAP_STORE_REPLACE) {
		if (words[0] == '\0')
			return 0;
		if (sf->op == IMAP_STORE_ADD)
			p.add_keywords = words;
		else
			p.remove_keywords = words;
		ids = sb_calloc(t->count, sizeof(*ids));
		for (i = 0; i < t->count; i++)
			ids[i] = t->items[i].message_id;
		ret = store_local_update(s->st, ids, t->count, &p, time(NULL),
		                         NULL, error_r);
		free(ids);
		return ret;
	}
	/* FLAGS: each message gets what it lacks and loses the rest. */
	sb_buf_init(&add, SIZE_MAX);
	sb_buf_init(&remove, SIZE_MAX);
	for (i = 0; i < t->count && ret == 0; i++) {
		sb_buf_reset(&add);
		sb_buf_reset(&remove);
		imap_words_minus(words, t->items[i].keywords, &add);
		imap_words_minus(t->items[i].keywords, words, &remove);
		if (add.len == 0 && remove.len == 0)
			continue;
		p.add_keywords = sb_buf_str(&add);
		p.remove_keywords = sb_buf_str(&remove);
		ret = store_local_update(s->st, &t->items[i].message_id, 1, &p,
		                         time(NULL), NULL, error_r);
	}
	sb_buf_free(&add);
	sb_buf_free(&remove);
	return ret;
}

/* The FETCH responses of a STORE without .SILENT. */
static void
imap_store_report(struct imap_session *s, const struct imap_command *c,
                  const struct imap_targets *t)
{
	struct sb_buf flags;
	size_t i;

	sb_buf_init(&flags, SIZE_MAX);
	for (i = 0; i < t->count; i++) {
		sb_buf_reset(&flags);
		imap_write_flags(t->items[i].keywords, t->items[i].deleted,
		                 &flags);
		if (c->uid)
			imap_reply(s, "* %zu FETCH (UID %u FLAGS %s)",
			           t->items[i].seq, t->items[i].uid,
			           sb_buf_str(&flags));
		else
			imap_reply(s, "* %zu FETCH (FLAGS %s)", t->items[i].seq,
			           sb_buf_str(&flags));
	}
	sb_buf_free(&flags);
}

void
imap_cmd_store(struct imap_session *s, const struct imap_command *c)
{
	struct imap_flag_change fc;
	struct imap_store_flags sf;
	struct imap_targets t;
	struct store_mailbox_status st;
	const char *error;
	uint64_t top0, top1;
	int ret;

	if (c->arg_count < 2 ||
	    imap_parse_store_flags(&c->args[1], c->arg_count - 1, &sf, &error) <
	            0) {
		imap_bad_args(s, c, "STORE takes a set, an action and flags");
		return;
	}
	memset(&fc, 0, sizeof(fc));
	memset(&st, 0, sizeof(st));
	sb_buf_init(&fc.keywords, SIZE_MAX);
	if (imap_flags_read(&sf, &fc, &error) < 0) {
		imap_bad_args(s, c, error);
		goto out;
	}
	if (s->view.readonly) {
		imap_reply(s, "%s NO [READ-ONLY] The mailbox is read-only",
		           c->tag);
		goto out;
	}
	if (imap_targets_get(s, c, &c->args[0], c->uid, &t) < 0)
		goto out;
	/*
	 * In one transaction, between two readings of the mailbox's modseq:
	 * when the view was up to date before, it is after, and this
	 * session's own changes are not told twice.
	 */
	ret = store_begin(s->st, &error);
	if (ret == 0)
		ret = store_mailbox_status(s->st, s->view.mailbox_id, &st,
		                           &error);
	top0 = st.highestmodseq;
	if (ret == 0)
		ret = imap_store_apply(s, &sf, &fc, &t, &error);
	if (ret == 0)
		ret = store_mailbox_status(s->st, s->view.mailbox_id, &st,
		                           &error);
	top1 = st.highestmodseq;
	if (ret == 0)
		ret = store_commit(s->st, &error);
	else
		store_rollback(s->st);
	imap_targets_free(&t);
	if (ret < 0) {
		imap_reply(s, "%s NO %s", c->tag, error);
		goto out;
	}
	if (s->view.modseq == top0)
		s->view.modseq = top1;
	if (!sf.silent) {
		if (imap_targets_get(s, c, &c->args[0], c->uid, &t) < 0)
			goto out;
		imap_store_report(s, c, &t);
		imap_targets_free(&t);
	}
	imap_reply(s, "%s OK %sSTORE completed", c->tag, c->uid ? "UID " : "");
out:
	sb_buf_free(&fc.keywords);
}
