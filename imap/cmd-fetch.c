/*
 * FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2). Flags, UID and date come
 * from the replica; the size, ENVELOPE and headers from the message's
 * summary, without its body; the rest (BODY[...], RFC822, BODYSTRUCTURE)
 * from the message, decrypted in memory by the backend (its body
 * downloaded first when it is not stored yet). Reading a body part
 * without .PEEK sets \Seen (6.4.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/mime.h"
#include "imap-private.h"
#include "imap/bodystructure.h"
#include "imap/envelope.h"
#include "imap/quote.h"

/* BODY[...] items one FETCH may ask for. */
#define IMAP_FETCH_MAX_SECTIONS 32

/* What one message's FETCH needs, read once. */
struct imap_fetch_msg {
	struct sb_buf headers; /* the header section (summary) */
	uint64_t size;
	bool have_headers;
	struct sb_buf body; /* the whole message (secret) */
	struct mime_part *tree;
	bool have_body;
	/* BODYSTRUCTURE and BODY texts, from the cache or the message. */
	struct sb_buf structure[IMAP_CACHE_KINDS]; /* secret */
	bool have_structure[IMAP_CACHE_KINDS];
};

static void
imap_fetch_msg_init(struct imap_fetch_msg *m)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	sb_buf_init_secret(&m->headers, SIZE_MAX);
	sb_buf_init_secret(&m->body, SIZE_MAX);
	for (i = 0; i < IMAP_CACHE_KINDS; i++)
		sb_buf_init_secret(&m->structure[i], SIZE_MAX);
}

static void
imap_fetch_msg_free(struct imap_fetch_msg *m)
{
	size_t i;

	sb_buf_free_wipe(&m->headers);
	sb_buf_free_wipe(&m->body);
	mime_part_free(&m->tree);
	for (i = 0; i < IMAP_CACHE_KINDS; i++)
		sb_buf_free_wipe(&m->structure[i]);
}

static int SB_WUR
imap_need_headers(struct imap_session *s, const struct imap_target *t,
                  struct imap_fetch_msg *m, const char **error_r)
{
	const struct imap_backend *b = &s->shared->cfg->backend;

	if (m->have_headers)
		return 0;
	if (b->message_headers(b->ctx, s->st, s->account_id, t->message_id,
	                       &m->headers, &m->size, error_r) < 0)
		return -1;
	m->have_headers = true;
	return 0;
}

static int SB_WUR
imap_need_body(struct imap_session *s, const struct imap_target *t,
               struct imap_fetch_msg *m, const char **error_r)
{
	const struct imap_backend *b = &s->shared->cfg->backend;

	if (m->have_body)
		return 0;
	if (b->message_read(b->ctx, s->st, s->account_id, t->message_id,
	                    &m->body, error_r) < 0)
		return -1;
	sb_log_debug("imap %lu: UID %u: message read", s->id, t->uid);
	m->tree = mime_parse(m->body.data != NULL ? m->body.data : "",
	                     m->body.len, NULL);
	m->have_body = true;
	return 0;
}

/*
 * The BODYSTRUCTURE and BODY texts the items want: kept by the backend's
 * cache, or written from the message, which is then read, and both kept
 * for the next time (a cache that fails only costs that).
 */
static int SB_WUR
imap_need_structures(struct imap_session *s, const struct imap_target *t,
                     const bool want[IMAP_CACHE_KINDS],
                     struct imap_fetch_msg *m, const char **error_r)
{
	const struct imap_backend *b = &s->shared->cfg->backend;
	struct imap_cache_item items[IMAP_CACHE_KINDS];
	bool missing = false, cache;
	const char *error;
	size_t i;

	cache = b->message_cache_get != NULL && b->message_cache_put != NULL;
	for (i = 0; i < IMAP_CACHE_KINDS; i++) {
		if (!want[i] || m->have_structure[i])
			continue;
		if (cache &&
		    b->message_cache_get(b->ctx, s->st, s->account_id,
		                         t->message_id, (enum imap_cache_kind)i,
		                         &m->structure[i], &error) == 1)
			m->have_structure[i] = true;
		else
			missing = true;
	}
	if (!missing)
		return 0;
	if (imap_need_body(s, t, m, error_r) < 0)
		return -1;
	for (i = 0; i < IMAP_CACHE_KINDS; i++) {
		sb_buf_reset(&m->structure[i]);
		if (imap_bodystructure_write(m->tree, m->body.data, m->body.len,
		                             i == IMAP_CACHE_BODYSTRUCTURE,
		                             &m->structure[i]) < 0)
			abort();
		m->have_structure[i] = true;
		items[i].kind = (enum imap_cache_kind)i;
		items[i].data = m->structure[i].data;
		items[i].len = m->structure[i].len;
	}
	if (cache &&
	    b->message_cache_put(b->ctx, s->st, s->account_id, t->message_id,
	                         items, IMAP_CACHE_KINDS, &error) < 0)
		sb_log_warn("imap %lu: UID %u: its structure is not cached: %s",
		            s->id, t->uid, error);
	return 0;
}

/*
 * " NAME {n}\r\n" and the bytes: what out holds so far goes out first, and
 * the bytes straight after it, so that a large part is never copied into
 * a response buffer on top of the message.
 */
static void
imap_put_literal(struct imap_session *s, struct sb_buf *out, const char *name,
                 const void *data, size_t len)
{
	if (sb_buf_add_printf(out, " %s {%zu}\r\n", name, len) < 0)
		abort();
	imap_reply_raw(s, out->data, out->len);
	sb_buf_reset(out);
	if (len > 0)
		imap_reply_raw(s, data, len);
}

/* The header fields of a section that HEADER.FIELDS[.NOT] keeps. */
static void
imap_filter_fields(const char *hdr, size_t len, const struct imap_fetch_body *b,
                   struct sb_buf *out)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	size_t i;
	bool named;

	mime_header_iter_init(&it, hdr, len);
	while (mime_header_iter_next(&it, &f) == 1) {
		named = false;
		for (i = 0; i < b->field_count && !named; i++)
			named = b->fields[i].len == f.name.len &&
			        strncasecmp(b->fields[i].p, f.name.p,
			                    f.name.len) == 0;
		if (named == (b->text == IMAP_SECTION_HEADER_FIELDS) &&
		    sb_buf_add(out, hdr + f.offset, f.size) < 0)
			abort();
	}
	/* The empty line that ends a header section. */
	if (sb_buf_add_str(out, "\r\n") < 0)
		abort();
}

/* The response name of a section: BODY[1.2.HEADER.FIELDS (A B)]<0>. */
static void
imap_section_name(const struct imap_fetch_body *b, struct sb_buf *out)
{
	static const char *const texts[] = {
	        "",     "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	        "TEXT", "MIME"};
	unsigned i;
	size_t k;

	if (sb_buf_add_str(out, "BODY[") < 0)
		abort();
	for (i = 0; i < b->part_count; i++) {
		if (sb_buf_add_printf(out, "%s%u", i > 0 ? "." : "",
		                      b->parts[i]) < 0)
			abort();
	}
	if (b->text != IMAP_SECTION_WHOLE &&
	    sb_buf_add_printf(out, "%s%s", b->part_count > 0 ? "." : "",
	                      texts[b->text]) < 0)
		abort();
	if (b->text == IMAP_SECTION_HEADER_FIELDS ||
	    b->text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		if (sb_buf_add_str(out, " (") < 0)
			abort();
		for (k = 0; k < b->field_count; k++) {
			if ((k > 0 && sb_buf_add_char(out, ' ') < 0) ||
			    sb_buf_add(out, b->fields[k].p, b->fields[k].len) <
			            0)
				abort();
		}
		if (sb_buf_add_char(out, ')') < 0)
			abort();
	}
	if (sb_buf_add_char(out, ']') < 0 ||
	    (b->partial &&
	     sb_buf_add_printf(out, "<%llu>", (unsigned long long)b->origin) <
	             0))
		abort();
}

/* One BODY[section] item of one message. */
static int SB_WUR
imap_fetch_section(struct imap_session *s, const struct imap_target *t,
                   const struct imap_fetch_body *b, struct imap_fetch_msg *m,
                   struct sb_buf *out, const char **error_r)
{
	struct imap_section_range r;
	struct sb_buf data, name;
	const char *p;
	uint64_t from, n;

	sb_buf_init_secret(&data, SIZE_MAX);
	/* The message's own header: the summary has it. */
	if (b->part_count == 0 && (b->text == IMAP_SECTION_HEADER ||
	                           b->text == IMAP_SECTION_HEADER_FIELDS ||
	                           b->text == IMAP_SECTION_HEADER_FIELDS_NOT)) {
		if (imap_need_headers(s, t, m, error_r) < 0)
			goto fail;
		p = m->headers.data != NULL ? m->headers.data : "";
		if (b->text == IMAP_SECTION_HEADER) {
			if (sb_buf_add(&data, p, m->headers.len) < 0)
				abort();
		} else {
			imap_filter_fields(p, m->headers.len, b, &data);
		}
	} else {
		if (imap_need_body(s, t, m, error_r) < 0)
			goto fail;
		if (imap_section_find(m->tree, m->body.len, b, &r, error_r) <
		    0) {
			/* A part the message does not have is empty. */
			r.offset = r.size = 0;
		}
		p = m->body.data != NULL ? m->body.data : "";
		if (b->text == IMAP_SECTION_HEADER_FIELDS ||
		    b->text == IMAP_SECTION_HEADER_FIELDS_NOT)
			imap_filter_fields(p + r.offset, r.size, b, &data);
		else if (sb_buf_add(&data, p + r.offset, r.size) < 0)
			abort();
	}
	from = 0;
	n = data.len;
	if (b->partial) {
		from = b->origin < data.len ? b->origin : data.len;
		n = data.len - from < b->count ? data.len - from : b->count;
	}
	sb_buf_init(&name, SIZE_MAX);
	imap_section_name(b, &name);
	imap_put_literal(s, out, sb_buf_str(&name), data.data + from, n);
	sb_buf_free(&name);
	sb_buf_free_wipe(&data);
	return 0;
fail:
	sb_buf_free_wipe(&data);
	return -1;
}

/* "dd-Mon-yyyy hh:mm:ss +0000" */
static void
imap_internaldate(int64_t t, struct sb_buf *out)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
	                                     "May", "Jun", "Jul", "Aug",
	                                     "Sep", "Oct", "Nov", "Dec"};
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (sb_buf_add_printf(out,
	                      " INTERNALDATE \"%02d-%s-%04d %02d:%02d:%02d "
	                      "+0000\"",
	                      tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	                      tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
		abort();
}

static bool imap_is_seen(const char *keywords);

/* What the items need read: the summary, the message itself. */
static void
imap_fetch_needs(const struct imap_fetch_atts *a, bool *headers_r, bool *body_r)
{
	size_t i;

	*headers_r = (a->items & (IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE |
	                          IMAP_FETCH_RFC822_HEADER)) != 0;
	/* BODY and BODYSTRUCTURE: imap_need_structures. */
	*body_r =
	        (a->items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT)) != 0;
	for (i = 0; i < a->body_count; i++) {
		const struct imap_fetch_body *b = &a->bodies[i];

		if (b->part_count == 0 &&
		    (b->text == IMAP_SECTION_HEADER ||
		     b->text == IMAP_SECTION_HEADER_FIELDS ||
		     b->text == IMAP_SECTION_HEADER_FIELDS_NOT))
			*headers_r = true;
		else
			*body_r = true;
	}
}

/* Adds \Seen to a message a body part of which is being read. */
static int SB_WUR
imap_fetch_seen(struct imap_session *s, struct imap_target *t,
                const char **error_r)
{
	struct store_patch p = {.add_keywords = "$seen"};
	struct sb_buf kw;

	if (store_local_update(s->st, &t->message_id, 1, &p, time(NULL), NULL,
	                       error_r) < 0)
		return -1;
	sb_buf_init(&kw, SIZE_MAX);
	if (sb_buf_add_printf(&kw, "%s%s$seen", t->keywords,
	                      t->keywords[0] != '\0' ? " " : "") < 0)
		abort();
	free(t->keywords);
	t->keywords = sb_buf_take(&kw, NULL);
	return 0;
}

/*
 * The FETCH response of one message. Everything it needs is read first:
 * a message that cannot be read fails before a byte of its response is
 * written (and before \Seen is set).
 */
static int SB_WUR
imap_fetch_one(struct imap_session *s, const struct imap_command *c,
               const struct imap_fetch_atts *a, struct imap_target *t,
               bool flags, bool mark_seen, struct sb_buf *out,
               const char **error_r)
{
	struct imap_fetch_msg m;
	bool need_headers, need_body, want[IMAP_CACHE_KINDS];
	size_t i;
	int ret = 0;

	imap_fetch_msg_init(&m);
	imap_fetch_needs(a, &need_headers, &need_body);
	want[IMAP_CACHE_BODYSTRUCTURE] =
	        (a->items & IMAP_FETCH_BODYSTRUCTURE) != 0;
	want[IMAP_CACHE_BODY] = (a->items & IMAP_FETCH_BODY) != 0;
	if ((need_headers && imap_need_headers(s, t, &m, error_r) < 0) ||
	    (need_body && imap_need_body(s, t, &m, error_r) < 0) ||
	    ((want[IMAP_CACHE_BODYSTRUCTURE] || want[IMAP_CACHE_BODY]) &&
	     imap_need_structures(s, t, want, &m, error_r) < 0) ||
	    (mark_seen && !imap_is_seen(t->keywords) &&
	     imap_fetch_seen(s, t, error_r) < 0)) {
		imap_fetch_msg_free(&m);
		return -1;
	}
	/* The response says so when \Seen came with it (RFC 3501 6.4.5). */
	flags = flags || mark_seen;
	if (sb_buf_add_printf(out, "* %zu FETCH (UID %u", t->seq, t->uid) < 0)
		abort();
	if (flags) {
		if (sb_buf_add_str(out, " FLAGS ") < 0)
			abort();
		imap_write_flags(t->keywords, t->deleted, out);
	}
	/* Once CONDSTORE is on, every FETCH carries it (RFC 7162 3.1). */
	if (((a->items & IMAP_FETCH_MODSEQ) || s->condstore) &&
	    sb_buf_add_printf(out, " MODSEQ (%llu)",
	                      (unsigned long long)t->modseq) < 0)
		abort();
	if (a->items & IMAP_FETCH_INTERNALDATE)
		imap_internaldate(t->received_at, out);
	if (a->items & IMAP_FETCH_RFC822_SIZE) {
		ret = imap_need_headers(s, t, &m, error_r);
		if (ret == 0 &&
		    sb_buf_add_printf(out, " RFC822.SIZE %llu",
		                      (unsigned long long)m.size) < 0)
			abort();
	}
	if (ret == 0 && (a->items & IMAP_FETCH_ENVELOPE)) {
		ret = imap_need_headers(s, t, &m, error_r);
		if (ret == 0 &&
		    (sb_buf_add_str(out, " ENVELOPE ") < 0 ||
		     imap_envelope_write(m.headers.data != NULL ? m.headers.data
		                                                : "",
		                         m.headers.len, out) < 0))
			abort();
	}
	if (ret == 0 && (a->items & IMAP_FETCH_RFC822_HEADER)) {
		ret = imap_need_headers(s, t, &m, error_r);
		if (ret == 0)
			imap_put_literal(s, out, "RFC822.HEADER",
			                 m.headers.data, m.headers.len);
	}
	if (ret == 0 &&
	    (a->items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT)))
		ret = imap_need_body(s, t, &m, error_r);
	if (ret == 0 &&
	    (a->items & (IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE)))
		ret = imap_need_structures(s, t, want, &m, error_r);
	if (ret == 0 && (a->items & IMAP_FETCH_BODY) &&
	    (sb_buf_add_str(out, " BODY ") < 0 ||
	     sb_buf_add(out, m.structure[IMAP_CACHE_BODY].data,
	                m.structure[IMAP_CACHE_BODY].len) < 0))
		abort();
	if (ret == 0 && (a->items & IMAP_FETCH_BODYSTRUCTURE) &&
	    (sb_buf_add_str(out, " BODYSTRUCTURE ") < 0 ||
	     sb_buf_add(out, m.structure[IMAP_CACHE_BODYSTRUCTURE].data,
	                m.structure[IMAP_CACHE_BODYSTRUCTURE].len) < 0))
		abort();
	if (ret == 0 && (a->items & IMAP_FETCH_RFC822))
		imap_put_literal(s, out, "RFC822", m.body.data, m.body.len);
	if (ret == 0 && (a->items & IMAP_FETCH_RFC822_TEXT)) {
		struct imap_fetch_body text = {.text = IMAP_SECTION_TEXT};
		struct imap_section_range r = {0, 0};

		if (imap_section_find(m.tree, m.body.len, &text, &r, error_r) <
		    0)
			r.offset = r.size = 0;
		imap_put_literal(s, out, "RFC822.TEXT",
		                 m.body.data != NULL ? m.body.data + r.offset
		                                     : "",
		                 r.size);
	}
	for (i = 0; ret == 0 && i < a->body_count; i++)
		ret = imap_fetch_section(s, t, &a->bodies[i], &m, out, error_r);
	imap_fetch_msg_free(&m);
	if (sb_buf_add_str(out, ")\r\n") < 0)
		abort();
	imap_reply_raw(s, out->data, out->len);
	sb_buf_reset(out);
	(void)c;
	/* Everything was read first: nothing above fails any more. */
	return 0;
}

/* True when the items read a body part without .PEEK (sets \Seen). */
static bool
imap_fetch_sets_seen(const struct imap_fetch_atts *a)
{
	size_t i;

	if (a->items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT))
		return true;
	for (i = 0; i < a->body_count; i++) {
		if (!a->bodies[i].peek)
			return true;
	}
	return false;
}

static bool
imap_is_seen(const char *keywords)
{
	const char *p = keywords;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == 5 && strncmp(p, "$seen", 5) == 0)
			return true;
		p += n + strspn(p + n, " ");
	}
	return false;
}

/* FETCH's modifiers (RFC 7162 3.1.4, 3.2.6). */
struct imap_fetch_mod {
	uint64_t changedsince; /* 0: none */
	bool vanished;
};

/* Reads them from args[from]; 0, or -1 after answering BAD. */
static int
imap_fetch_modifiers(struct imap_session *s, const struct imap_command *c,
                     size_t from, struct imap_fetch_mod *mod)
{
	const struct imap_value *l;
	const char *error;
	size_t i;

	memset(mod, 0, sizeof(*mod));
	if (from == c->arg_count)
		return 0;
	l = &c->args[from];
	if (from + 1 != c->arg_count || l->type != IMAP_VALUE_LIST)
		goto bad;
	for (i = 0; i < l->count; i++) {
		if (imap_value_is_atom(&l->list[i], "CHANGEDSINCE") &&
		    i + 1 < l->count &&
		    imap_value_nz_number(&l->list[i + 1], &mod->changedsince,
		                         &error) == 0) {
			i++;
		} else if (imap_value_is_atom(&l->list[i], "VANISHED")) {
			mod->vanished = true;
		} else {
			goto bad;
		}
	}
	/* VANISHED: UID FETCH, QRESYNC on, with CHANGEDSINCE (3.2.6). */
	if (mod->vanished && (!c->uid || !s->qresync || mod->changedsince == 0))
		goto bad;
	if (mod->changedsince > 0)
		s->condstore = true;
	return 0;
bad:
	imap_bad_args(s, c, "Unknown or bad FETCH modifiers");
	return -1;
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED): the expunged UIDs of its set. */
static int
imap_fetch_vanished(struct imap_session *s, const struct imap_command *c,
                    uint64_t since)
{
	struct imap_seqset set;
	struct sb_sv text;
	const char *error;
	uint32_t star;
	int ret;

	star = s->view.count > 0 ? s->view.uids[s->view.count - 1] : 1;
	imap_seqset_init(&set, 0);
	ret = imap_value_seqset(&c->args[0], &text, &error);
	if (ret == 0)
		ret = imap_seqset_parse(&set, text.p, text.len, IMAP_SEQSET_UID,
		                        star, &error);
	if (ret == 0 && imap_vanished_reply(s, true, since, &set, &error) < 0) {
		imap_store_failed(s, c, error);
		ret = -1;
	} else if (ret < 0) {
		imap_bad_args(s, c, error);
	}
	imap_seqset_free(&set);
	return ret;
}

void
imap_cmd_fetch(struct imap_session *s, const struct imap_command *c)
{
	struct imap_fetch_atts a;
	struct imap_fetch_mod mod;
	struct imap_targets t;
	struct sb_buf out;
	const char *error;
	size_t used, i, failed = 0;
	bool flags, mark_seen;

	if (c->arg_count < 2 ||
	    imap_parse_fetch_atts(&c->args[1], c->arg_count - 1, &a, &used,
	                          &error) < 0) {
		imap_bad_args(s, c,
		              c->arg_count < 2 ? "FETCH takes a set and "
		                                 "items"
		                               : error);
		return;
	}
	if (a.body_count > IMAP_FETCH_MAX_SECTIONS) {
		/* Each section is a copy of up to a whole message. */
		imap_bad_args(s, c, "Too many sections in one FETCH");
		imap_fetch_atts_free(&a);
		return;
	}
	if (imap_fetch_modifiers(s, c, 1 + used, &mod) < 0) {
		imap_fetch_atts_free(&a);
		return;
	}
	if (a.items & IMAP_FETCH_MODSEQ)
		s->condstore = true;
	if (imap_targets_get_since(s, c, &c->args[0], c->uid, mod.changedsince,
	                           &t) < 0) {
		imap_fetch_atts_free(&a);
		return;
	}
	if (mod.changedsince > 0) {
		if (mod.vanished &&
		    imap_fetch_vanished(s, c, mod.changedsince) < 0) {
			imap_targets_free(&t);
			imap_fetch_atts_free(&a);
			return;
		}
	}
	mark_seen = !s->view.readonly && imap_fetch_sets_seen(&a);
	flags = (a.items & IMAP_FETCH_FLAGS) != 0;
	sb_buf_init_secret(&out, SIZE_MAX);
	for (i = 0; i < t.count && !s->broken; i++) {
		sb_buf_reset(&out);
		if (imap_fetch_one(s, c, &a, &t.items[i], flags, mark_seen,
		                   &out, &error) < 0) {
			/* Logged, and the rest goes on (RFC 5530 UNAVAILABLE).
			 */
			sb_log_warn("imap %lu: FETCH of UID %u: %s", s->id,
			            t.items[i].uid, error);
			failed++;
		}
	}
	if (failed > 0)
		imap_reply(s,
		           "%s NO [UNAVAILABLE] %zu messages cannot be read "
		           "now; the others were sent",
		           c->tag, failed);
	else
		imap_reply(s, "%s OK %sFETCH completed", c->tag,
		           c->uid ? "UID " : "");
	sb_buf_free_wipe(&out);
	imap_targets_free(&t);
	imap_fetch_atts_free(&a);
}
