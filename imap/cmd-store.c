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
                  const struct imap_targets *t,
                  const struct imap_seqset *modified)
{
	struct sb_buf line;
	size_t i;

	sb_buf_init(&line, SIZE_MAX);
	for (i = 0; i < t->count; i++) {
		/* Those UNCHANGEDSINCE kept the client learns of by MODIFIED.
		 */
		if (imap_seqset_contains(modified,
		                         c->uid ? t->items[i].uid
		                                : (uint32_t)t->items[i].seq))
			continue;
		sb_buf_reset(&line);
		if (sb_buf_add_printf(&line, "* %zu FETCH (", t->items[i].seq) <
		            0 ||
		    (c->uid && sb_buf_add_printf(&line, "UID %u ",
		                                 t->items[i].uid) < 0) ||
		    sb_buf_add_str(&line, "FLAGS ") < 0)
			abort();
		imap_write_flags(t->items[i].keywords, t->items[i].deleted,
		                 &line);
		if ((s->condstore &&
		     sb_buf_add_printf(&line, " MODSEQ (%llu)",
		                       (unsigned long long)t->items[i].modseq) <
		             0) ||
		    sb_buf_add_str(&line, ")\r\n") < 0)
			abort();
		imap_reply_raw(s, line.data, line.len);
	}
	sb_buf_free(&line);
}

/*
 * UNCHANGEDSINCE (RFC 7162 3.1.3): the targets changed after it are left
 * alone and listed in *modified (UIDs, or sequence numbers).
 */
static void
imap_store_unchanged(struct imap_targets *t, uint64_t since, bool uid,
                     struct imap_seqset *modified)
{
	size_t i, kept = 0;

	for (i = 0; i < t->count; i++) {
		if (t->items[i].modseq <= since) {
			t->items[kept++] = t->items[i];
			continue;
		}
		if (imap_seqset_add(modified,
		                    uid ? t->items[i].uid
		                        : (uint32_t)t->items[i].seq,
		                    uid ? t->items[i].uid
		                        : (uint32_t)t->items[i].seq) < 0)
			abort(); /* fewer than the targets */
		free(t->items[i].keywords);
	}
	t->count = kept;
}

void
imap_cmd_store(struct imap_session *s, const struct imap_command *c)
{
	struct imap_flag_change fc;
	struct imap_store_flags sf;
	struct imap_targets t;
	struct store_mailbox_status st;
	struct imap_seqset modified;
	struct sb_buf mtext;
	const char *error;
	uint64_t top0, top1, since = 0;
	size_t first = 1;
	bool unchanged = false;
	int ret;

	/* STORE set [(UNCHANGEDSINCE n)] action flags */
	if (c->arg_count >= 3 && c->args[1].type == IMAP_VALUE_LIST) {
		const struct imap_value *m = &c->args[1];

		if (m->count != 2 ||
		    !imap_value_is_atom(&m->list[0], "UNCHANGEDSINCE") ||
		    imap_value_number(&m->list[1], &since, &error) < 0) {
			imap_bad_args(s, c, "Unknown STORE modifier");
			return;
		}
		unchanged = true;
		first = 2;
		s->condstore = true;
	}
	if (c->arg_count < first + 1 ||
	    imap_parse_store_flags(&c->args[first], c->arg_count - first, &sf,
	                           &error) < 0) {
		imap_bad_args(s, c, "STORE takes a set, an action and flags");
		return;
	}
	memset(&fc, 0, sizeof(fc));
	memset(&st, 0, sizeof(st));
	imap_seqset_init(&modified, 0);
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
	/*
	 * One transaction from the reading of the targets' flags and modseqs
	 * to the last write: FLAGS computes what to add and take from them,
	 * UNCHANGEDSINCE compares with them, and another session's change
	 * coming in between would be undone or missed. The mailbox's modseq
	 * is read before and after the writes: when the view was up to date
	 * before, it is after, and this session's own changes are not told
	 * twice.
	 */
	if (store_begin(s->st, &error) < 0) {
		imap_reply(s, "%s NO %s", c->tag, error);
		goto out;
	}
	if (imap_targets_get(s, c, &c->args[0], c->uid, &t) < 0) {
		store_rollback(s->st);
		goto out;
	}
	if (unchanged)
		imap_store_unchanged(&t, since, c->uid, &modified);
	ret = store_mailbox_status(s->st, s->view.mailbox_id, &st, &error);
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
		imap_store_report(s, c, &t, &modified);
		imap_targets_free(&t);
	}
	if (modified.count > 0) {
		sb_buf_init(&mtext, SIZE_MAX);
		if (imap_seqset_format(&modified, &mtext) < 0)
			abort();
		imap_reply(s, "%s OK [MODIFIED %s] Conditional STORE failed",
		           c->tag, sb_buf_str(&mtext));
		sb_buf_free(&mtext);
	} else {
		imap_reply(s, "%s OK %sSTORE completed", c->tag,
		           c->uid ? "UID " : "");
	}
out:
	imap_seqset_free(&modified);
	sb_buf_free(&fc.keywords);
}
