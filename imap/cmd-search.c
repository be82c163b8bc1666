/*
 * SEARCH and UID SEARCH (RFC 3501 6.4.4). The keys are read into a tree
 * (search-parse.c) and every message of the view is tested against it
 * (search-match.c) with what the replica holds first; the summary is
 * opened, and then the message decrypted, only for a message whose fate
 * the cheaper keys leave open. No search string and no message text is
 * ever logged.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "imap-private.h"
#include "imap/search.h"

/* Loads what imap_search_match asked for; 0 or -1 with *error_r. */
static int SB_WUR
imap_search_load(struct imap_session *s, const struct imap_target *t,
                 enum imap_search_cost need, struct imap_search_msg *m,
                 struct sb_buf *headers, struct sb_buf *body,
                 const char **error_r)
{
	const struct imap_backend *b = &s->shared->cfg->backend;

	if (need == IMAP_SEARCH_COST_SUMMARY && !m->have_summary &&
	    !m->have_message) {
		if (b->message_headers(b->ctx, s->st, s->account_id,
		                       t->message_id, headers, &m->size,
		                       error_r) < 0)
			return -1;
		m->headers = sb_buf_str(headers);
		m->headers_len = headers->len;
		m->have_summary = true;
		return 0;
	}
	if (need == IMAP_SEARCH_COST_MESSAGE && !m->have_message) {
		if (b->message_read(b->ctx, s->st, s->account_id, t->message_id,
		                    body, error_r) < 0)
			return -1;
		m->message = sb_buf_str(body);
		m->message_len = body->len;
		m->have_message = true;
		return 0;
	}
	abort(); /* asked for what it has */
}

/* Tests one message; 1 or 0, or -1 with *error_r when it cannot be read. */
static int SB_WUR
imap_search_one(struct imap_session *s, const struct imap_search *search,
                const struct imap_target *t, const char **error_r)
{
	struct imap_search_msg m;
	struct sb_buf headers, body;
	enum imap_search_result r;
	enum imap_search_cost need;
	int ret = 0;

	imap_search_msg_init(&m);
	m.seq = (uint32_t)t->seq;
	m.uid = t->uid;
	m.keywords = t->keywords;
	m.deleted = t->deleted;
	m.received_at = t->received_at;
	m.modseq = t->modseq;
	sb_buf_init_secret(&headers, SIZE_MAX);
	sb_buf_init_secret(&body, SIZE_MAX);
	while ((r = imap_search_match(search, &m, &need)) == IMAP_SEARCH_NEED) {
		if (imap_search_load(s, t, need, &m, &headers, &body, error_r) <
		    0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0)
		ret = r == IMAP_SEARCH_YES ? 1 : 0;
	imap_search_msg_free(&m);
	sb_buf_free_wipe(&headers);
	sb_buf_free_wipe(&body);
	return ret;
}

static int
imap_search_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * "* SEARCH n n n" in increasing order, with "(MODSEQ m)", the highest
 * modseq of those found, after a MODSEQ key (RFC 7162 3.1.5).
 */
static void
imap_search_reply(struct imap_session *s, uint32_t *found, size_t n,
                  bool modseq, uint64_t top)
{
	struct sb_buf line;
	size_t i;

	qsort(found, n, sizeof(*found), imap_search_cmp);
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, "* SEARCH") < 0)
		abort();
	for (i = 0; i < n; i++) {
		if (sb_buf_add_printf(&line, " %u", found[i]) < 0)
			abort();
	}
	if (modseq && n > 0 &&
	    sb_buf_add_printf(&line, " (MODSEQ %llu)",
	                      (unsigned long long)top) < 0)
		abort();
	if (sb_buf_add_str(&line, "\r\n") < 0)
		abort();
	imap_reply_raw(s, line.data, line.len);
	sb_buf_free(&line);
}

void
imap_cmd_search(struct imap_session *s, const struct imap_command *c)
{
	/* Every message of the view, by UID. */
	static const struct imap_value all = {
	        .type = IMAP_VALUE_ATOM, .str = "1:*", .len = 3};
	const struct imap_view *v = &s->view;
	struct imap_search_params p;
	struct imap_search *search;
	enum imap_search_error kind;
	struct imap_targets t;
	const char *error;
	uint32_t *found;
	uint64_t top = 0;
	size_t i, n = 0;
	int ret;

	p.messages = (uint32_t)v->count;
	p.max_uid = v->count > 0 ? v->uids[v->count - 1] : 1;
	if (imap_search_parse(c->args, c->arg_count, &p, &search, &kind,
	                      &error) < 0) {
		if (kind == IMAP_SEARCH_ERR_CHARSET)
			imap_reply(s, "%s NO [BADCHARSET (US-ASCII UTF-8)] %s",
			           c->tag, error);
		else
			imap_bad_args(s, c, error);
		return;
	}
	/* A CONDSTORE enabling command (RFC 7162 3.1). */
	if (search->modseq)
		s->condstore = true;
	if (imap_targets_get(s, c, &all, true, &t) < 0) {
		imap_search_free(&search);
		return;
	}
	found = sb_calloc(t.count + 1, sizeof(*found));
	for (i = 0; i < t.count; i++) {
		ret = imap_search_one(s, search, &t.items[i], &error);
		if (ret < 0) {
			sb_log_warn("imap %lu: SEARCH in UID %u: %s", s->id,
			            t.items[i].uid, error);
			imap_reply(s,
			           "%s NO [UNAVAILABLE] Message %zu cannot "
			           "be read now",
			           c->tag, t.items[i].seq);
			goto out;
		}
		if (ret == 0)
			continue;
		found[n++] = c->uid ? t.items[i].uid : (uint32_t)t.items[i].seq;
		if (t.items[i].modseq > top)
			top = t.items[i].modseq;
	}
	imap_search_reply(s, found, n, search->modseq, top);
	imap_reply(s, "%s OK %sSEARCH completed", c->tag, c->uid ? "UID " : "");
out:
	free(found);
	imap_targets_free(&t);
	imap_search_free(&search);
}
