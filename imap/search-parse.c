/*
 * SEARCH's key list (RFC 3501 6.4.4 and its grammar in section 9) read
 * from a parsed command's values into the tree of search.h.
 *
 * No recursion: a stack of open keys (the whole list, parenthesized
 * lists, NOT and OR waiting for their keys) at most IMAP_SEARCH_MAX_DEPTH
 * deep. Each list reads its own values; NOT and OR take theirs from the
 * innermost list around them, as do a key's arguments.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/charset.h"
#include "common/date.h"
#include "imap/search.h"

/* A key still open while the values are read. */
struct search_frame {
	uint32_t node;
	uint32_t last; /* its last child so far */
	/* NOT: 1, OR: 2 keys still wanted; 0 for a list. */
	unsigned want;
	bool list;
	/* A list's values and where it is in them. */
	const struct imap_value *vals;
	size_t n, i;
	/* The frame whose values this one reads: its innermost list. */
	size_t cursor;
};

struct search_parser {
	struct imap_search *search;
	const struct imap_search_params *params;
	struct search_frame stack[IMAP_SEARCH_MAX_DEPTH];
	size_t depth;
	const char *error;
};

static int64_t
search_day(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* A new node (index) of the tree, zeroed; -1 past the limit. */
static int SB_WUR
search_new(struct search_parser *sp, enum imap_search_op op, uint32_t *idx_r)
{
	struct imap_search *s = sp->search;
	struct imap_search_node *n;

	if (s->count == IMAP_SEARCH_MAX_NODES) {
		sp->error = "Too many search keys";
		return -1;
	}
	if (s->count == s->alloc) {
		s->alloc = s->alloc == 0 ? 16 : s->alloc * 2;
		if (s->alloc > IMAP_SEARCH_MAX_NODES)
			s->alloc = IMAP_SEARCH_MAX_NODES;
		s->nodes =
		        sb_reallocarray(s->nodes, s->alloc, sizeof(*s->nodes));
	}
	n = &s->nodes[s->count];
	memset(n, 0, sizeof(*n));
	n->op = op;
	n->child = n->next = IMAP_SEARCH_NONE;
	imap_seqset_init(&n->set, 0);
	*idx_r = (uint32_t)s->count++;
	return 0;
}

/* Makes node the last child of the open key on top. */
static void
search_attach(struct search_parser *sp, uint32_t node)
{
	struct search_frame *f = &sp->stack[sp->depth - 1];
	struct imap_search_node *nodes = sp->search->nodes;

	if (f->last == IMAP_SEARCH_NONE)
		nodes[f->node].child = node;
	else
		nodes[f->last].next = node;
	f->last = node;
}

static int SB_WUR
search_push(struct search_parser *sp, uint32_t node, bool list, unsigned want,
            const struct imap_value *vals, size_t n)
{
	struct search_frame *f;

	if (sp->depth == IMAP_SEARCH_MAX_DEPTH) {
		sp->error = "Search keys nested too deep";
		return -1;
	}
	f = &sp->stack[sp->depth];
	f->node = node;
	f->last = IMAP_SEARCH_NONE;
	f->want = want;
	f->list = list;
	f->vals = vals;
	f->n = n;
	f->i = 0;
	f->cursor = list ? sp->depth : sp->stack[sp->depth - 1].cursor;
	sp->depth++;
	return 0;
}

/*
 * A key was completed for the open key on top: NOT and OR that have all
 * theirs are complete in turn.
 */
static void
search_key_done(struct search_parser *sp)
{
	while (sp->depth > 0) {
		struct search_frame *f = &sp->stack[sp->depth - 1];

		if (f->list || --f->want > 0)
			return;
		sp->depth--;
	}
}

/* The next value of the innermost list: a key's argument. */
static const struct imap_value *
search_arg(struct search_parser *sp)
{
	struct search_frame *cur = &sp->stack[sp->stack[sp->depth - 1].cursor];

	if (cur->i == cur->n) {
		sp->error = "Search key without its argument";
		return NULL;
	}
	return &cur->vals[cur->i++];
}

/* A search string: UTF-8 (US-ASCII is), kept case-folded. */
static int SB_WUR
search_string(struct search_parser *sp, struct imap_search_node *n)
{
	const struct imap_value *v = search_arg(sp);
	struct sb_sv str;

	if (v == NULL)
		return -1;
	if (imap_value_astring(v, &str, &sp->error) < 0)
		return -1;
	if (!sb_utf8_valid(str.p, str.len)) {
		sp->error = "Search string is not UTF-8";
		return -1;
	}
	n->str = sb_memdupz(str.p, str.len);
	n->len = str.len;
	imap_search_fold(n->str, n->len);
	return 0;
}

static int SB_WUR
search_field(struct search_parser *sp, struct imap_search_node *n,
             const char *name)
{
	const struct imap_value *v;
	struct sb_sv str;
	size_t i;

	if (name == NULL) {
		v = search_arg(sp);
		if (v == NULL || imap_value_astring(v, &str, &sp->error) < 0)
			return -1;
	} else {
		str = sb_sv_cstr(name);
	}
	n->field = sb_memdupz(str.p, str.len);
	for (i = 0; i < str.len; i++) {
		if (n->field[i] >= 'A' && n->field[i] <= 'Z')
			n->field[i] = (char)(n->field[i] - 'A' + 'a');
	}
	return search_string(sp, n);
}

static int SB_WUR
search_date(struct search_parser *sp, struct imap_search_node *n)
{
	const struct imap_value *v = search_arg(sp);
	time_t t;

	if (v == NULL || imap_value_date(v, &t, &sp->error) < 0)
		return -1;
	n->day = search_day((int64_t)t);
	return 0;
}

static int SB_WUR
search_number(struct search_parser *sp, struct imap_search_node *n)
{
	const struct imap_value *v = search_arg(sp);

	if (v == NULL || imap_value_number(v, &n->number, &sp->error) < 0)
		return -1;
	return 0;
}

/*
 * MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162
 * 3.1.5): the entry name is "/flags/" and a flag, its type priv, shared
 * or all; the value at most 2^63 - 1.
 */
static int SB_WUR
search_modseq(struct search_parser *sp, struct imap_search_node *n)
{
	const struct imap_value *v = search_arg(sp);
	struct sb_sv entry;

	if (v != NULL && v->type != IMAP_VALUE_NUMBER) {
		if (imap_value_string(v, &entry, &sp->error) < 0)
			return -1;
		if (!sb_sv_starts_with_ci(entry, "/flags/") || entry.len == 7) {
			sp->error = "MODSEQ names flags only";
			return -1;
		}
		v = search_arg(sp);
		if (v == NULL)
			return -1;
		if (!imap_value_is_atom(v, "priv") &&
		    !imap_value_is_atom(v, "shared") &&
		    !imap_value_is_atom(v, "all")) {
			sp->error = "MODSEQ entry type is priv, shared or all";
			return -1;
		}
		v = search_arg(sp);
	}
	if (v == NULL || imap_value_number(v, &n->number, &sp->error) < 0)
		return -1;
	if (n->number > INT64_MAX) {
		sp->error = "MODSEQ value too large";
		return -1;
	}
	sp->search->modseq = true;
	return 0;
}

static int SB_WUR
search_keyword(struct search_parser *sp, struct imap_search_node *n)
{
	const struct imap_value *v = search_arg(sp);
	struct sb_sv flag;

	if (v == NULL || imap_value_flag(v, &flag, &sp->error) < 0)
		return -1;
	if (flag.p[0] == '\\') {
		sp->error = "KEYWORD takes a keyword, not a system flag";
		return -1;
	}
	n->str = sb_memdupz(flag.p, flag.len);
	n->len = flag.len;
	return 0;
}

static int SB_WUR
search_set(struct search_parser *sp, struct imap_search_node *n,
           const struct imap_value *v)
{
	bool uid = n->op == IMAP_SEARCH_UID;
	struct sb_sv text;

	if (v == NULL || imap_value_seqset(v, &text, &sp->error) < 0)
		return -1;
	if (memchr(text.p, '$', text.len) != NULL) {
		/* RFC 5182's saved result: SEARCHRES is not offered. */
		sp->error = "Invalid sequence set";
		return -1;
	}
	return imap_seqset_parse(
	        &n->set, text.p, text.len,
	        uid ? IMAP_SEQSET_UID : IMAP_SEQSET_SEQ,
	        uid ? sp->params->max_uid : sp->params->messages, &sp->error);
}

/* What each leaf key is and which arguments it takes. */
enum search_arg {
	SEARCH_ARG_NONE,
	SEARCH_ARG_STRING, /* header keys with a fixed field, BODY, TEXT */
	SEARCH_ARG_FIELD,  /* HEADER field-name string */
	SEARCH_ARG_DATE,
	SEARCH_ARG_NUMBER,
	SEARCH_ARG_KEYWORD,
	SEARCH_ARG_SET,
	SEARCH_ARG_MODSEQ,
};

static const struct search_key {
	const char *name;
	enum imap_search_op op;
	enum search_arg arg;
	bool negate;
	const char *what; /* KEYWORD: the keyword; HEADER: the field */
	bool value;       /* CONST */
} search_keys[] = {
        {"ALL", IMAP_SEARCH_CONST, SEARCH_ARG_NONE, false, NULL, true},
        {"ANSWERED", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, false, "$answered",
         false},
        {"BCC", IMAP_SEARCH_HEADER, SEARCH_ARG_STRING, false, "bcc", false},
        {"BEFORE", IMAP_SEARCH_BEFORE, SEARCH_ARG_DATE, false, NULL, false},
        {"BODY", IMAP_SEARCH_BODY, SEARCH_ARG_STRING, false, NULL, false},
        {"CC", IMAP_SEARCH_HEADER, SEARCH_ARG_STRING, false, "cc", false},
        {"DELETED", IMAP_SEARCH_DELETED, SEARCH_ARG_NONE, false, NULL, false},
        {"DRAFT", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, false, "$draft", false},
        {"FLAGGED", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, false, "$flagged",
         false},
        {"FROM", IMAP_SEARCH_HEADER, SEARCH_ARG_STRING, false, "from", false},
        {"HEADER", IMAP_SEARCH_HEADER, SEARCH_ARG_FIELD, false, NULL, false},
        {"KEYWORD", IMAP_SEARCH_KEYWORD, SEARCH_ARG_KEYWORD, false, NULL,
         false},
        {"LARGER", IMAP_SEARCH_LARGER, SEARCH_ARG_NUMBER, false, NULL, false},
        /* \Recent is never set (docs/imap.md): NEW is RECENT UNSEEN. */
        {"MODSEQ", IMAP_SEARCH_MODSEQ, SEARCH_ARG_MODSEQ, false, NULL, false},
        {"NEW", IMAP_SEARCH_CONST, SEARCH_ARG_NONE, false, NULL, false},
        {"OLD", IMAP_SEARCH_CONST, SEARCH_ARG_NONE, false, NULL, true},
        {"ON", IMAP_SEARCH_ON, SEARCH_ARG_DATE, false, NULL, false},
        {"RECENT", IMAP_SEARCH_CONST, SEARCH_ARG_NONE, false, NULL, false},
        {"SEEN", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, false, "$seen", false},
        {"SENTBEFORE", IMAP_SEARCH_SENTBEFORE, SEARCH_ARG_DATE, false, NULL,
         false},
        {"SENTON", IMAP_SEARCH_SENTON, SEARCH_ARG_DATE, false, NULL, false},
        {"SENTSINCE", IMAP_SEARCH_SENTSINCE, SEARCH_ARG_DATE, false, NULL,
         false},
        {"SINCE", IMAP_SEARCH_SINCE, SEARCH_ARG_DATE, false, NULL, false},
        {"SMALLER", IMAP_SEARCH_SMALLER, SEARCH_ARG_NUMBER, false, NULL, false},
        {"SUBJECT", IMAP_SEARCH_HEADER, SEARCH_ARG_STRING, false, "subject",
         false},
        {"TEXT", IMAP_SEARCH_TEXT, SEARCH_ARG_STRING, false, NULL, false},
        {"TO", IMAP_SEARCH_HEADER, SEARCH_ARG_STRING, false, "to", false},
        {"UID", IMAP_SEARCH_UID, SEARCH_ARG_SET, false, NULL, false},
        {"UNANSWERED", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, true, "$answered",
         false},
        {"UNDELETED", IMAP_SEARCH_DELETED, SEARCH_ARG_NONE, true, NULL, false},
        {"UNDRAFT", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, true, "$draft",
         false},
        {"UNFLAGGED", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, true, "$flagged",
         false},
        {"UNKEYWORD", IMAP_SEARCH_KEYWORD, SEARCH_ARG_KEYWORD, true, NULL,
         false},
        {"UNSEEN", IMAP_SEARCH_KEYWORD, SEARCH_ARG_NONE, true, "$seen", false},
};

static enum imap_search_cost
search_leaf_cost(enum imap_search_op op)
{
	switch (op) {
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_HEADER:
		return IMAP_SEARCH_COST_SUMMARY;
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		return IMAP_SEARCH_COST_MESSAGE;
	default:
		return IMAP_SEARCH_COST_REPLICA;
	}
}

/* A leaf key starting with v, its arguments taken after it. */
static int SB_WUR
search_leaf(struct search_parser *sp, const struct imap_value *v)
{
	const struct search_key *k = NULL;
	struct imap_search_node *n;
	uint32_t idx;
	size_t i;
	int ret = 0;

	if (v->type != IMAP_VALUE_ATOM && v->type != IMAP_VALUE_NUMBER) {
		sp->error = "Expected a search key";
		return -1;
	}
	if ((v->str[0] >= '0' && v->str[0] <= '9') || v->str[0] == '*' ||
	    v->str[0] == '$') {
		if (search_new(sp, IMAP_SEARCH_SEQ, &idx) < 0)
			return -1;
		search_attach(sp, idx);
		return search_set(sp, &sp->search->nodes[idx], v);
	}
	for (i = 0; i < SB_N_ELEMENTS(search_keys) && k == NULL; i++) {
		if (imap_value_is_atom(v, search_keys[i].name))
			k = &search_keys[i];
	}
	if (k == NULL) {
		sp->error = "Unknown search key";
		return -1;
	}
	if (search_new(sp, k->op, &idx) < 0)
		return -1;
	search_attach(sp, idx);
	n = &sp->search->nodes[idx];
	n->negate = k->negate;
	n->value = k->value;
	n->cost = search_leaf_cost(k->op);
	switch (k->arg) {
	case SEARCH_ARG_NONE:
		if (k->what != NULL) {
			n->str = sb_strdup(k->what);
			n->len = strlen(k->what);
		}
		break;
	case SEARCH_ARG_STRING:
		ret = k->what != NULL ? search_field(sp, n, k->what)
		                      : search_string(sp, n);
		break;
	case SEARCH_ARG_FIELD:
		ret = search_field(sp, n, NULL);
		break;
	case SEARCH_ARG_DATE:
		ret = search_date(sp, n);
		break;
	case SEARCH_ARG_NUMBER:
		ret = search_number(sp, n);
		break;
	case SEARCH_ARG_KEYWORD:
		ret = search_keyword(sp, n);
		break;
	case SEARCH_ARG_SET:
		ret = search_set(sp, n, search_arg(sp));
		break;
	case SEARCH_ARG_MODSEQ:
		ret = search_modseq(sp, n);
		break;
	}
	return ret;
}

/* Reads the keys of the open lists until the outermost one is closed. */
static int SB_WUR
search_keys_read(struct search_parser *sp)
{
	const struct imap_value *v;
	struct search_frame *top, *cur;
	uint32_t idx;

	while (sp->depth > 0) {
		top = &sp->stack[sp->depth - 1];
		cur = &sp->stack[top->cursor];
		if (cur->i == cur->n) {
			if (!top->list) {
				sp->error = "NOT or OR without its keys";
				return -1;
			}
			if (top->last == IMAP_SEARCH_NONE) {
				sp->error = "Empty list of search keys";
				return -1;
			}
			sp->depth--;
			search_key_done(sp);
			continue;
		}
		v = &cur->vals[cur->i++];
		if (v->type == IMAP_VALUE_LIST) {
			if (search_new(sp, IMAP_SEARCH_AND, &idx) < 0)
				return -1;
			search_attach(sp, idx);
			if (search_push(sp, idx, true, 0, v->list, v->count) <
			    0)
				return -1;
			continue;
		}
		if (imap_value_is_atom(v, "NOT") ||
		    imap_value_is_atom(v, "OR")) {
			bool or = imap_value_is_atom(v, "OR");

			if (search_new(sp,
			               or ? IMAP_SEARCH_OR : IMAP_SEARCH_NOT,
			               &idx) < 0)
				return -1;
			search_attach(sp, idx);
			if (search_push(sp, idx, false, or ? 2 : 1, NULL, 0) <
			    0)
				return -1;
			continue;
		}
		if (search_leaf(sp, v) < 0)
			return -1;
		search_key_done(sp);
	}
	return 0;
}

/*
 * Each operator's cost is its dearest key's, and its children go
 * cheapest first (a stable reordering: and, or and not do not care), so
 * that short-circuiting tries the cheap keys before the dear ones.
 * Children have higher indexes than their parent, so one pass from the
 * end sees every child before its parent.
 */
static void
search_order(struct imap_search *s)
{
	struct imap_search_node *nodes = s->nodes;
	uint32_t heads[3], tails[3], c, next;
	size_t i;
	unsigned k;

	for (i = s->count; i-- > 0;) {
		struct imap_search_node *n = &nodes[i];

		if (n->op != IMAP_SEARCH_AND && n->op != IMAP_SEARCH_OR &&
		    n->op != IMAP_SEARCH_NOT)
			continue;
		for (k = 0; k < 3; k++)
			heads[k] = tails[k] = IMAP_SEARCH_NONE;
		n->cost = IMAP_SEARCH_COST_REPLICA;
		for (c = n->child; c != IMAP_SEARCH_NONE; c = next) {
			k = nodes[c].cost;
			next = nodes[c].next;
			nodes[c].next = IMAP_SEARCH_NONE;
			if (tails[k] == IMAP_SEARCH_NONE)
				heads[k] = c;
			else
				nodes[tails[k]].next = c;
			tails[k] = c;
			if (nodes[c].cost > n->cost)
				n->cost = nodes[c].cost;
		}
		n->child = IMAP_SEARCH_NONE;
		for (k = 3; k-- > 0;) {
			if (heads[k] == IMAP_SEARCH_NONE)
				continue;
			nodes[tails[k]].next = n->child;
			n->child = heads[k];
		}
	}
}

int
imap_search_parse(const struct imap_value *args, size_t count,
                  const struct imap_search_params *p,
                  struct imap_search **search_r, enum imap_search_error *kind_r,
                  const char **error_r)
{
	struct search_parser sp;
	struct sb_sv charset;
	size_t start = 0;
	uint32_t root;

	memset(&sp, 0, sizeof(sp));
	*search_r = NULL;
	*kind_r = IMAP_SEARCH_ERR_SYNTAX;
	if (count > 0 && imap_value_is_atom(&args[0], "CHARSET")) {
		if (count < 2 ||
		    imap_value_astring(&args[1], &charset, error_r) < 0) {
			*error_r = "CHARSET takes a charset name";
			return -1;
		}
		if (!sb_sv_eq_cstr_ci(charset, "US-ASCII") &&
		    !sb_sv_eq_cstr_ci(charset, "UTF-8")) {
			*kind_r = IMAP_SEARCH_ERR_CHARSET;
			*error_r = "Only US-ASCII and UTF-8 are searched";
			return -1;
		}
		start = 2;
	}
	sp.search = sb_calloc(1, sizeof(*sp.search));
	sp.params = p;
	if (search_new(&sp, IMAP_SEARCH_AND, &root) < 0 ||
	    /* No keys (args NULL): no pointer arithmetic on it. */
	    search_push(&sp, root, true, 0, count > start ? args + start : NULL,
	                count - start) < 0 ||
	    search_keys_read(&sp) < 0) {
		imap_search_free(&sp.search);
		*error_r = sp.error != NULL ? sp.error : "Invalid search keys";
		return -1;
	}
	search_order(sp.search);
	*search_r = sp.search;
	return 0;
}

void
imap_search_free(struct imap_search **search)
{
	struct imap_search *s = *search;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->count; i++) {
		struct imap_search_node *n = &s->nodes[i];

		if (n->str != NULL)
			explicit_bzero(n->str, n->len);
		free(n->str);
		free(n->field);
		imap_seqset_free(&n->set);
	}
	free(s->nodes);
	free(s);
	*search = NULL;
}

/* ---- For tests ---- */

static void
search_put_str(struct sb_buf *out, const char *p, size_t len)
{
	size_t i;
	int ret = sb_buf_add_char(out, '"');

	for (i = 0; ret == 0 && i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			ret = sb_buf_add_printf(out, "\\x%02x", ch);
		else
			ret = sb_buf_add_char(out, (char)ch);
	}
	if (ret < 0 || sb_buf_add_char(out, '"') < 0)
		abort();
}

static void
search_put_leaf(const struct imap_search_node *n, struct sb_buf *out)
{
	static const char *const names[] = {
	        [IMAP_SEARCH_BEFORE] = "before",
	        [IMAP_SEARCH_ON] = "on",
	        [IMAP_SEARCH_SINCE] = "since",
	        [IMAP_SEARCH_SENTBEFORE] = "sentbefore",
	        [IMAP_SEARCH_SENTON] = "senton",
	        [IMAP_SEARCH_SENTSINCE] = "sentsince",
	        [IMAP_SEARCH_LARGER] = "larger",
	        [IMAP_SEARCH_SMALLER] = "smaller",
	        [IMAP_SEARCH_MODSEQ] = "modseq",
	        [IMAP_SEARCH_BODY] = "body",
	        [IMAP_SEARCH_TEXT] = "text",
	};
	int ret = 0;

	if (n->negate)
		ret = sb_buf_add_char(out, '!');
	switch (n->op) {
	case IMAP_SEARCH_CONST:
		ret = ret < 0 ? ret
		              : sb_buf_add_str(out,
		                               n->value ? "true" : "false");
		break;
	case IMAP_SEARCH_KEYWORD:
		ret = ret < 0 ? ret
		              : sb_buf_add_printf(out, "keyword:%s", n->str);
		break;
	case IMAP_SEARCH_DELETED:
		ret = ret < 0 ? ret : sb_buf_add_str(out, "deleted");
		break;
	case IMAP_SEARCH_SEQ:
	case IMAP_SEARCH_UID:
		ret = ret < 0 ? ret
		              : sb_buf_add_str(out, n->op == IMAP_SEARCH_SEQ
		                                            ? "seq:"
		                                            : "uid:");
		if (ret == 0)
			ret = imap_seqset_format(&n->set, out);
		break;
	case IMAP_SEARCH_BEFORE:
	case IMAP_SEARCH_ON:
	case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		ret = ret < 0 ? ret
		              : sb_buf_add_printf(out, "%s:%lld", names[n->op],
		                                  (long long)n->day);
		break;
	case IMAP_SEARCH_LARGER:
	case IMAP_SEARCH_SMALLER:
	case IMAP_SEARCH_MODSEQ:
		ret = ret < 0 ? ret
		              : sb_buf_add_printf(
		                        out, "%s:%llu", names[n->op],
		                        (unsigned long long)n->number);
		break;
	case IMAP_SEARCH_HEADER:
		ret = ret < 0 ? ret
		              : sb_buf_add_printf(out, "header:%s:", n->field);
		if (ret == 0)
			search_put_str(out, n->str, n->len);
		break;
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		ret = ret < 0 ? ret
		              : sb_buf_add_printf(out, "%s:", names[n->op]);
		if (ret == 0)
			search_put_str(out, n->str, n->len);
		break;
	default:
		abort();
	}
	if (ret < 0)
		abort();
}

void
imap_search_describe(const struct imap_search *search, struct sb_buf *out)
{
	static const char *const ops[] = {"(and", "(or", "(not"};
	const struct imap_search_node *nodes = search->nodes;
	uint32_t stack[IMAP_SEARCH_MAX_DEPTH + 1];
	size_t depth = 0;
	uint32_t at = 0;

	/* Depth first without recursion: after a node, its child, else
	   its next sibling, else the closing parentheses of its parents. */
	for (;;) {
		const struct imap_search_node *n = &nodes[at];

		if (n->op <= IMAP_SEARCH_NOT) {
			if (sb_buf_add_str(out, ops[n->op]) < 0)
				abort();
			if (n->child != IMAP_SEARCH_NONE) {
				if (depth == SB_N_ELEMENTS(stack))
					abort();
				stack[depth++] = at;
				at = n->child;
				if (sb_buf_add_char(out, ' ') < 0)
					abort();
				continue;
			}
			if (sb_buf_add_char(out, ')') < 0)
				abort();
		} else {
			search_put_leaf(n, out);
		}
		while (nodes[at].next == IMAP_SEARCH_NONE) {
			if (depth == 0)
				return;
			at = stack[--depth];
			if (sb_buf_add_char(out, ')') < 0)
				abort();
		}
		at = nodes[at].next;
		if (sb_buf_add_char(out, ' ') < 0)
			abort();
	}
}
