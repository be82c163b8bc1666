/*
 * One message against SEARCH's tree (search.h): three-valued keys, so
 * that what the replica holds decides first, the summary next and the
 * message itself last.
 *
 * Strings match as case-folded substrings of UTF-8 text: a header
 * field's value unfolded and with its RFC 2047 encoded words decoded;
 * for BODY, the text parts of the message with their transfer encoding
 * undone and their charset converted (and the header fields of messages
 * attached to it); for TEXT, the header fields too. That text is
 * decoded once per message and wiped when the message is done with.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/date.h"
#include "common/mime.h"
#include "common/rfc2047.h"
#include "imap/search.h"

/* ---- Case folding ---- */

/* The folded form of a code point of two UTF-8 bytes (U+0080..U+07FF). */
static unsigned
search_fold_cp(unsigned c)
{
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) ||
	    (c >= 0x391 && c <= 0x3ab && c != 0x3a2) ||
	    (c >= 0x410 && c <= 0x42f))
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40f)
		return c + 0x50;
	if (c >= 0x531 && c <= 0x556)
		return c + 0x30;
	/* Latin Extended-A: upper and lower case in pairs. */
	if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) ||
	    (c >= 0x14a && c <= 0x177))
		return c | 1;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
		return (c & 1) ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	/* Greek with tonos, and the final sigma. */
	if (c == 0x386)
		return 0x3ac;
	if (c >= 0x388 && c <= 0x38a)
		return c + 0x25;
	if (c == 0x38c)
		return 0x3cc;
	if (c == 0x38e || c == 0x38f)
		return c + 0x3f;
	if (c == 0x3c2)
		return 0x3c3;
	/* Cyrillic letters in pairs. */
	if ((c >= 0x460 && c <= 0x481) || (c >= 0x48a && c <= 0x4bf) ||
	    (c >= 0x4d0 && c <= 0x52f))
		return c | 1;
	if (c >= 0x4c1 && c <= 0x4ce)
		return (c & 1) ? c + 1 : c;
	if (c == 0x4c0)
		return 0x4cf;
	return c;
}

void
imap_search_fold(char *p, size_t len)
{
	unsigned char *s = (unsigned char *)p;
	size_t i = 0;
	unsigned c;

	while (i < len) {
		if (s[i] >= 'A' && s[i] <= 'Z') {
			s[i] = (unsigned char)(s[i] + ('a' - 'A'));
			i++;
		} else if (s[i] >= 0xc2 && s[i] <= 0xdf && i + 1 < len &&
		           (s[i + 1] & 0xc0) == 0x80) {
			c = search_fold_cp((unsigned)(s[i] & 0x1f) << 6 |
			                   (s[i + 1] & 0x3f));
			s[i] = (unsigned char)(0xc0 | c >> 6);
			s[i + 1] = (unsigned char)(0x80 | (c & 0x3f));
			i += 2;
		} else {
			/* ASCII, longer characters, stray bytes: as they are.
			   A continuation byte is never a lead byte above. */
			i++;
		}
	}
}

/* ---- The message's data ---- */

void
imap_search_msg_init(struct imap_search_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->keywords = "";
	sb_buf_init_secret(&m->header_text_, IMAP_SEARCH_TEXT_MAX);
	sb_buf_init_secret(&m->body_text_, IMAP_SEARCH_TEXT_MAX);
	sb_buf_init_secret(&m->scratch_, IMAP_SEARCH_TEXT_MAX);
	sb_charset_cache_init(&m->charsets_);
}

void
imap_search_msg_free(struct imap_search_msg *m)
{
	sb_buf_free_wipe(&m->header_text_);
	sb_buf_free_wipe(&m->body_text_);
	sb_buf_free_wipe(&m->scratch_);
	sb_charset_cache_deinit(&m->charsets_);
	memset(m, 0, sizeof(*m));
}

/* The header section, from the summary or from the message itself. */
static bool
search_headers(const struct imap_search_msg *m, const char **p_r, size_t *len_r)
{
	if (m->have_summary) {
		*p_r = m->headers != NULL ? m->headers : "";
		*len_r = m->headers_len;
		return true;
	}
	if (m->have_message) {
		/* The header iterator stops at the empty line. */
		*p_r = m->message != NULL ? m->message : "";
		*len_r = m->message_len;
		return true;
	}
	return false;
}

static int64_t
search_day(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

static bool
search_has_keyword(const char *list, const char *word, size_t len)
{
	const char *p = list != NULL ? list : "";
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, " ");
		if (n == len && strncasecmp(p, word, len) == 0)
			return true;
		p += n + strspn(p + n, " ");
	}
	return false;
}

/* Appends when it fits the buffer's maximum; otherwise -1, out intact. */
static int SB_WUR
search_append(struct sb_buf *out, const void *p, size_t len)
{
	if (len > out->max - out->len)
		return -1;
	if (sb_buf_add(out, p, len) < 0)
		abort(); /* it fits */
	return 0;
}

/*
 * A field's value unfolded and decoded to UTF-8 into the scratch buffer
 * (emptied first). -1 when it is too large to decode.
 */
static int SB_WUR
search_decode_value(struct imap_search_msg *m, struct sb_sv value)
{
	sb_buf_reset(&m->scratch_);
	return sb_rfc2047_decode(value.p, value.len, &m->scratch_, NULL);
}

/* HEADER, FROM, TO, CC, BCC, SUBJECT: any field of that name holds it. */
static bool
search_header(const struct imap_search_node *n, struct imap_search_msg *m)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	const char *p;
	size_t len;

	if (!search_headers(m, &p, &len))
		abort(); /* the caller checked */
	mime_header_iter_init(&it, p, len);
	while (mime_header_iter_next(&it, &f) == 1) {
		if (!sb_sv_eq_cstr_ci(f.name, n->field))
			continue;
		if (n->len == 0)
			return true;
		if (search_decode_value(m, f.value) < 0)
			continue;
		imap_search_fold(m->scratch_.data, m->scratch_.len);
		if (m->scratch_.len >= n->len &&
		    memmem(m->scratch_.data, m->scratch_.len, n->str, n->len) !=
		            NULL)
			return true;
	}
	return false;
}

/*
 * The day of the Date: header as written (its own zone, RFC 3501
 * "disregarding time and timezone"); INTERNALDATE's when there is none
 * that parses, as RFC 5256 does for SORT.
 */
static int64_t
search_sent_day(struct imap_search_msg *m)
{
	struct mime_header_iter it;
	struct mime_header_field f;
	struct sb_date d;
	const char *p, *error;
	size_t len;

	if (!search_headers(m, &p, &len))
		abort();
	mime_header_iter_init(&it, p, len);
	while (mime_header_iter_next(&it, &f) == 1) {
		if (!sb_sv_eq_cstr_ci(f.name, "date"))
			continue;
		sb_buf_reset(&m->scratch_);
		if (mime_unfold(f.value, &m->scratch_) == 0 &&
		    sb_date_parse_rfc5322(sb_buf_str(&m->scratch_),
		                          m->scratch_.len, &d, &error) == 0)
			return search_day((int64_t)d.time +
			                  (int64_t)d.tz_offset * 60);
		break; /* the first Date: field counts */
	}
	return search_day(m->received_at);
}

/* "Name: value\n" for each field of a header, decoded, into out. */
static int SB_WUR
search_add_fields(struct imap_search_msg *m, const char *p, size_t len,
                  struct sb_buf *out)
{
	struct mime_header_iter it;
	struct mime_header_field f;

	mime_header_iter_init(&it, p, len);
	while (mime_header_iter_next(&it, &f) == 1) {
		if (search_decode_value(m, f.value) < 0)
			continue;
		if (search_append(out, f.name.p, f.name.len) < 0 ||
		    search_append(out, ":", 1) < 0 ||
		    search_append(out, m->scratch_.data, m->scratch_.len) < 0 ||
		    search_append(out, "\n", 1) < 0)
			return -1;
	}
	return 0;
}

static bool
search_is_message(const struct mime_part *part)
{
	return strcmp(part->type, "message") == 0 &&
	       (strcmp(part->subtype, "rfc822") == 0 ||
	        strcmp(part->subtype, "global") == 0);
}

static bool
search_is_utf8_name(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
	       strcasecmp(charset, "utf8") == 0 ||
	       strcasecmp(charset, "us-ascii") == 0 ||
	       strcasecmp(charset, "ascii") == 0;
}

/*
 * A text part's body, its transfer encoding undone and its charset
 * converted to UTF-8, appended to the body text. Text labelled US-ASCII
 * or UTF-8, or in a charset iconv does not know, is taken as UTF-8 with
 * U+FFFD for the bytes that are not. -1 once the text is full.
 */
static int SB_WUR
search_add_part(struct imap_search_msg *m, const struct mime_part *part)
{
	const struct mime_param *cs =
	        mime_params_find(&part->params, "charset");
	const char *body = m->message + part->body.offset;
	size_t size = (size_t)part->body.size;
	struct sb_buf *out = &m->body_text_;
	struct sb_buf conv;
	enum sb_charset_error cerr = SB_CHARSET_ERR_NONE;
	int ret;

	sb_buf_reset(&m->scratch_);
	if (strcmp(part->encoding, "base64") == 0)
		ret = sb_base64_decode(body, size, &m->scratch_, NULL);
	else if (strcmp(part->encoding, "quoted-printable") == 0)
		ret = sb_qp_decode(body, size, &m->scratch_, NULL);
	else
		ret = search_append(&m->scratch_, body, size);
	if (ret < 0)
		return -1;
	sb_buf_init_secret(&conv, out->max - out->len);
	ret = -1;
	if (cs != NULL && !search_is_utf8_name(cs->value)) {
		ret = sb_charset_to_utf8_ex(cs->value, sb_buf_str(&m->scratch_),
		                            m->scratch_.len, &conv,
		                            &m->charsets_, &cerr);
		if (ret < 0 && cerr != SB_CHARSET_ERR_UNKNOWN)
			goto full;
	}
	if (ret < 0) {
		if (sb_utf8_valid(sb_buf_str(&m->scratch_), m->scratch_.len))
			ret = search_append(&conv, m->scratch_.data,
			                    m->scratch_.len);
		else
			ret = sb_charset_to_utf8("UTF-8",
			                         sb_buf_str(&m->scratch_),
			                         m->scratch_.len, &conv);
		if (ret < 0)
			goto full;
	}
	ret = search_append(out, conv.data, conv.len);
	if (ret == 0)
		ret = search_append(out, "\n", 1);
	sb_buf_free_wipe(&conv);
	return ret;
full:
	sb_buf_free_wipe(&conv);
	return -1;
}

/*
 * The body text: each text part decoded, and the header of each message
 * attached (message/rfc822), in order. Other parts (images, archives)
 * are not text to search. Past IMAP_SEARCH_TEXT_MAX the rest is left out.
 */
static void
search_body_text(struct imap_search_msg *m)
{
	const char *msg = m->message != NULL ? m->message : "";
	struct mime_part *root = mime_parse(msg, m->message_len, NULL);
	struct mime_part *part;

	m->message = msg;
	for (part = root; part != NULL; part = mime_part_next(part, root)) {
		if (part->parent != NULL && search_is_message(part->parent) &&
		    search_add_fields(m, msg + part->header.offset,
		                      (size_t)part->header.size,
		                      &m->body_text_) < 0)
			break;
		if (part->children != NULL)
			continue;
		/* A multipart without parts is shown as text/plain. */
		if ((strcmp(part->type, "text") == 0 ||
		     mime_part_is_multipart(part)) &&
		    search_add_part(m, part) < 0)
			break;
	}
	mime_part_free(&root);
	sb_buf_reset(&m->scratch_);
	imap_search_fold(m->body_text_.data, m->body_text_.len);
	m->have_body_text_ = true;
}

static bool
search_in(const struct sb_buf *text, const struct imap_search_node *n)
{
	if (n->len == 0)
		return true;
	return text->len >= n->len &&
	       memmem(text->data, text->len, n->str, n->len) != NULL;
}

/* BODY and TEXT, the message being loaded. */
static bool
search_text(const struct imap_search_node *n, struct imap_search_msg *m)
{
	const char *p;
	size_t len;

	if (!m->have_body_text_)
		search_body_text(m);
	if (search_in(&m->body_text_, n))
		return true;
	if (n->op != IMAP_SEARCH_TEXT)
		return false;
	if (!m->have_header_text_) {
		if (!search_headers(m, &p, &len))
			abort();
		if (search_add_fields(m, p, len, &m->header_text_) < 0) {
			/* Full: what fits is searched. */
		}
		sb_buf_reset(&m->scratch_);
		imap_search_fold(m->header_text_.data, m->header_text_.len);
		m->have_header_text_ = true;
	}
	return search_in(&m->header_text_, n);
}

/* ---- Evaluation ---- */

enum search_tri {
	SEARCH_FALSE,
	SEARCH_TRUE,
	SEARCH_UNKNOWN,
};

static bool
search_known(const struct imap_search_node *n, const struct imap_search_msg *m)
{
	switch (n->cost) {
	case IMAP_SEARCH_COST_REPLICA:
		return true;
	case IMAP_SEARCH_COST_SUMMARY:
		return m->have_summary || m->have_message;
	case IMAP_SEARCH_COST_MESSAGE:
		return m->have_message;
	}
	return false;
}

static enum search_tri
search_leaf(const struct imap_search_node *n, struct imap_search_msg *m,
            unsigned *need)
{
	uint64_t size = m->have_summary ? m->size : m->message_len;
	bool r;

	if (!search_known(n, m)) {
		if ((unsigned)n->cost < *need)
			*need = n->cost;
		return SEARCH_UNKNOWN;
	}
	switch (n->op) {
	case IMAP_SEARCH_CONST:
		r = n->value;
		break;
	case IMAP_SEARCH_KEYWORD:
		r = search_has_keyword(m->keywords, n->str, n->len);
		break;
	case IMAP_SEARCH_DELETED:
		r = m->deleted;
		break;
	case IMAP_SEARCH_SEQ:
		r = imap_seqset_contains(&n->set, m->seq);
		break;
	case IMAP_SEARCH_UID:
		r = imap_seqset_contains(&n->set, m->uid);
		break;
	case IMAP_SEARCH_BEFORE:
		r = search_day(m->received_at) < n->day;
		break;
	case IMAP_SEARCH_ON:
		r = search_day(m->received_at) == n->day;
		break;
	case IMAP_SEARCH_SINCE:
		r = search_day(m->received_at) >= n->day;
		break;
	case IMAP_SEARCH_SENTBEFORE:
		r = search_sent_day(m) < n->day;
		break;
	case IMAP_SEARCH_SENTON:
		r = search_sent_day(m) == n->day;
		break;
	case IMAP_SEARCH_SENTSINCE:
		r = search_sent_day(m) >= n->day;
		break;
	case IMAP_SEARCH_LARGER:
		r = size > n->number;
		break;
	case IMAP_SEARCH_SMALLER:
		r = size < n->number;
		break;
	case IMAP_SEARCH_MODSEQ:
		r = m->modseq >= n->number;
		break;
	case IMAP_SEARCH_HEADER:
		r = search_header(n, m);
		break;
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		r = search_text(n, m);
		break;
	default:
		abort(); /* operators are not leaves */
	}
	return r != n->negate ? SEARCH_TRUE : SEARCH_FALSE;
}

/* An operator waiting for the values of its children. */
struct search_eval_frame {
	uint32_t node;
	uint32_t child; /* the next child to ask, or NONE when decided */
	enum search_tri acc;
};

/*
 * Adds a child's value to an operator's; true when that decides it
 * (and: a no; or: a yes; not: its only child).
 */
static bool
search_combine(enum imap_search_op op, struct search_eval_frame *f,
               enum search_tri v)
{
	switch (op) {
	case IMAP_SEARCH_AND:
		if (v == SEARCH_FALSE) {
			f->acc = SEARCH_FALSE;
			return true;
		}
		if (v == SEARCH_UNKNOWN)
			f->acc = SEARCH_UNKNOWN;
		return false;
	case IMAP_SEARCH_OR:
		if (v == SEARCH_TRUE) {
			f->acc = SEARCH_TRUE;
			return true;
		}
		if (v == SEARCH_UNKNOWN)
			f->acc = SEARCH_UNKNOWN;
		return false;
	case IMAP_SEARCH_NOT:
		f->acc = v == SEARCH_UNKNOWN ? v
		         : v == SEARCH_TRUE  ? SEARCH_FALSE
		                             : SEARCH_TRUE;
		return true;
	default:
		abort();
	}
}

static bool
search_is_op(const struct imap_search_node *n)
{
	return n->op == IMAP_SEARCH_AND || n->op == IMAP_SEARCH_OR ||
	       n->op == IMAP_SEARCH_NOT;
}

enum imap_search_result
imap_search_match(const struct imap_search *search, struct imap_search_msg *m,
                  enum imap_search_cost *need_r)
{
	const struct imap_search_node *nodes = search->nodes;
	/* The parser keeps operators at most IMAP_SEARCH_MAX_DEPTH deep. */
	struct search_eval_frame stack[IMAP_SEARCH_MAX_DEPTH];
	struct search_eval_frame *f;
	unsigned need = IMAP_SEARCH_COST_MESSAGE + 1;
	size_t sp = 0;
	enum search_tri v;

	stack[0].node = 0;
	stack[0].child = nodes[0].child;
	stack[0].acc = SEARCH_TRUE;
	for (;;) {
		f = &stack[sp];
		if (f->child == IMAP_SEARCH_NONE) {
			/* f is decided: its value goes to its parent. */
			v = f->acc;
			if (sp == 0)
				break;
			f = &stack[--sp];
		} else if (search_is_op(&nodes[f->child])) {
			const struct imap_search_node *c = &nodes[f->child];

			if (sp + 1 == SB_N_ELEMENTS(stack))
				abort();
			stack[++sp].node = f->child;
			stack[sp].child = c->child;
			stack[sp].acc = c->op == IMAP_SEARCH_OR ? SEARCH_FALSE
			                                        : SEARCH_TRUE;
			continue;
		} else {
			v = search_leaf(&nodes[f->child], m, &need);
		}
		if (search_combine(nodes[f->node].op, f, v))
			f->child = IMAP_SEARCH_NONE;
		else
			f->child = nodes[f->child].next;
	}
	if (v == SEARCH_UNKNOWN) {
		if (need > IMAP_SEARCH_COST_MESSAGE)
			abort(); /* an unknown comes from a leaf */
		*need_r = (enum imap_search_cost)need;
		return IMAP_SEARCH_NEED;
	}
	return v == SEARCH_TRUE ? IMAP_SEARCH_YES : IMAP_SEARCH_NO;
}
