#include "address.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "charset.h"
#include "rfc2047.h"
#include "sv.h"

enum sb_addr_tok_type {
	SB_TOK_END,
	SB_TOK_ATOM,    /* a run of atext (and stray bytes) */
	SB_TOK_QUOTED,  /* text between quotes, quoted-pairs still in it */
	SB_TOK_LITERAL, /* a domain literal with its brackets */
	SB_TOK_SPECIAL, /* one of < > @ , ; : . */
};

struct sb_addr_tok {
	enum sb_addr_tok_type type;
	struct sb_sv text;
	bool space_before; /* whitespace or a comment came before it */
};

/*
 * Entries take a display name's decoded form at most this long; a longer
 * one falls back to the name as written, made valid UTF-8 and cut.
 */
#define SB_ADDRESS_MAX_DISPLAY (SB_ADDRESS_MAX_PART * 4)

struct sb_addr_parser {
	struct sb_sv in;
	size_t pos;
	unsigned int item_flags; /* problems of the current entry */
	struct sb_sv comment;    /* the last comment in the current entry */
	bool have_comment;
	size_t comment_ntoks; /* how many tokens came before that comment */

	struct sb_addr_tok *toks;
	size_t ntoks, toks_alloc;

	struct sb_address_list *list;
	size_t alloc, max;
	bool in_group;
};

static bool
sb_addr_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Bytes that end an atom; everything else (8-bit too) belongs to it. A NUL
 * belongs to it as well (and becomes U+FFFD, see sb_addr_put), so that it
 * can never cut a part short.
 */
static bool
sb_addr_is_delim(char c)
{
	return sb_addr_is_space(c) ||
	       (c != '\0' && strchr("()<>[]:;@,.\"", c) != NULL);
}

/*
 * Skips a comment starting at the '(' at in.p[pos]. Nesting is counted
 * without a limit (a loop, no recursion), so that every ')' closes what
 * a '(' opened, as RFC 5322 and other readers see it; nesting past
 * SB_ADDRESS_MAX_COMMENT_DEPTH is only flagged. Records the text inside
 * the outer parentheses as the entry's last comment.
 */
static void
sb_addr_skip_comment(struct sb_addr_parser *ps)
{
	const char *p = ps->in.p;
	size_t i = ps->pos + 1, start = i, depth = 1;

	while (i < ps->in.len && depth > 0) {
		if (p[i] == '\\' && i + 1 < ps->in.len) {
			i += 2;
			continue;
		}
		if (p[i] == '(') {
			depth++;
			if (depth > SB_ADDRESS_MAX_COMMENT_DEPTH)
				ps->item_flags |= SB_ADDRESS_ERR_DEPTH;
		} else if (p[i] == ')') {
			depth--;
		}
		i++;
	}
	if (depth > 0) {
		ps->item_flags |= SB_ADDRESS_ERR_UNTERMINATED;
		ps->comment = sb_sv(p + start, i - start);
	} else {
		ps->comment = sb_sv(p + start, i - 1 - start);
	}
	ps->have_comment = true;
	ps->comment_ntoks = ps->ntoks;
	ps->pos = i;
}

/* Scans to the `close` byte that ends a quoted string or literal. */
static size_t
sb_addr_scan_closed(struct sb_addr_parser *ps, size_t i, char close)
{
	while (i < ps->in.len && ps->in.p[i] != close) {
		if (ps->in.p[i] == '\\' && i + 1 < ps->in.len)
			i++;
		i++;
	}
	if (i >= ps->in.len) {
		ps->item_flags |= SB_ADDRESS_ERR_UNTERMINATED;
		return ps->in.len;
	}
	return i;
}

/* Reads the next token, skipping whitespace and comments. */
static void
sb_addr_next(struct sb_addr_parser *ps, struct sb_addr_tok *tok)
{
	const char *p = ps->in.p;
	size_t start, end;

	tok->space_before = false;
	for (;;) {
		while (ps->pos < ps->in.len && sb_addr_is_space(p[ps->pos])) {
			ps->pos++;
			tok->space_before = true;
		}
		if (ps->pos < ps->in.len && p[ps->pos] == '(') {
			sb_addr_skip_comment(ps);
			tok->space_before = true;
		} else if (ps->pos < ps->in.len && p[ps->pos] == ')') {
			ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
			ps->pos++;
		} else {
			break;
		}
	}
	if (ps->pos >= ps->in.len) {
		tok->type = SB_TOK_END;
		tok->text = sb_sv(p + ps->in.len, 0);
		return;
	}
	start = ps->pos;
	if (p[start] == '"') {
		end = sb_addr_scan_closed(ps, start + 1, '"');
		tok->type = SB_TOK_QUOTED;
		tok->text = sb_sv(p + start + 1, end - start - 1);
		ps->pos = end < ps->in.len ? end + 1 : end;
	} else if (p[start] == '[') {
		end = sb_addr_scan_closed(ps, start + 1, ']');
		end = end < ps->in.len ? end + 1 : end;
		tok->type = SB_TOK_LITERAL;
		tok->text = sb_sv(p + start, end - start);
		ps->pos = end;
	} else if (strchr("<>@,;:.", p[start]) != NULL && p[start] != '\0') {
		tok->type = SB_TOK_SPECIAL;
		tok->text = sb_sv(p + start, 1);
		ps->pos++;
	} else {
		end = start + 1;
		while (end < ps->in.len && !sb_addr_is_delim(p[end]))
			end++;
		/* A stray ']' or NUL starts an atom of its own. */
		tok->type = SB_TOK_ATOM;
		tok->text = sb_sv(p + start, end - start);
		ps->pos = end;
	}
}

static bool
sb_addr_is_special(const struct sb_addr_tok *tok, char c)
{
	return tok->type == SB_TOK_SPECIAL && tok->text.p[0] == c;
}

static void
sb_addr_push_tok(struct sb_addr_parser *ps, const struct sb_addr_tok *tok)
{
	if (ps->ntoks == SB_ADDRESS_MAX_TOKENS) {
		ps->item_flags |= SB_ADDRESS_ERR_TOO_LONG;
		return;
	}
	if (ps->ntoks == ps->toks_alloc) {
		ps->toks_alloc = ps->toks_alloc == 0 ? 16 : ps->toks_alloc * 2;
		ps->toks = sb_reallocarray(ps->toks, ps->toks_alloc,
		                           sizeof(*ps->toks));
	}
	ps->toks[ps->ntoks++] = *tok;
}

/* Appends what fits of p[0..len), cutting (and flagging) the rest. */
static void
sb_addr_put_clamped(struct sb_addr_parser *ps, struct sb_buf *b, const char *p,
                    size_t len)
{
	if (len > b->max - b->len) {
		ps->item_flags |= SB_ADDRESS_ERR_TOO_LONG;
		len = b->max - b->len;
	}
	if (sb_buf_add(b, p, len) != 0)
		abort(); /* cannot happen: the length was clamped */
}

/*
 * Appends what fits of p[0..len) to a part, cutting (and flagging) what
 * would pass its maximum, so that a part never fails as a whole. A NUL
 * becomes U+FFFD (flagged), so that no part is cut short as a C string.
 */
static void
sb_addr_put(struct sb_addr_parser *ps, struct sb_buf *b, const char *p,
            size_t len)
{
	const char *nul;

	while ((nul = memchr(p, '\0', len)) != NULL) {
		sb_addr_put_clamped(ps, b, p, (size_t)(nul - p));
		sb_addr_put_clamped(ps, b, "\xef\xbf\xbd", 3);
		ps->item_flags |= SB_ADDRESS_ERR_NUL;
		len -= (size_t)(nul - p) + 1;
		p = nul + 1;
	}
	sb_addr_put_clamped(ps, b, p, len);
}

/*
 * Appends quoted or comment text without its quoted-pairs and folding:
 * a CR or LF goes, also when a backslash stands before it.
 */
static void
sb_addr_put_unescaped(struct sb_addr_parser *ps, struct sb_buf *b,
                      struct sb_sv text)
{
	size_t i;

	for (i = 0; i < text.len; i++) {
		if (text.p[i] == '\\' && i + 1 < text.len)
			i++;
		if (text.p[i] == '\r' || text.p[i] == '\n')
			continue;
		sb_addr_put(ps, b, text.p + i, 1);
	}
}

/*
 * Appends a domain literal with its brackets and quoted-pairs but without
 * its folding whitespace (which carries no meaning there).
 */
static void
sb_addr_put_literal(struct sb_addr_parser *ps, struct sb_buf *b,
                    struct sb_sv text)
{
	size_t i;

	for (i = 0; i < text.len; i++) {
		if (sb_addr_is_space(text.p[i]))
			continue;
		if (text.p[i] == '\\' && i + 1 < text.len) {
			i++;
			if (text.p[i] == '\r' || text.p[i] == '\n')
				continue;
			sb_addr_put(ps, b, "\\", 1);
		}
		sb_addr_put(ps, b, text.p + i, 1);
	}
}

/* Appends a token's text as its type wants it, without folding. */
static void
sb_addr_put_tok(struct sb_addr_parser *ps, struct sb_buf *b,
                const struct sb_addr_tok *t)
{
	if (t->type == SB_TOK_QUOTED)
		sb_addr_put_unescaped(ps, b, t->text);
	else if (t->type == SB_TOK_LITERAL)
		sb_addr_put_literal(ps, b, t->text);
	else
		sb_addr_put(ps, b, t->text.p, t->text.len);
}

/* Joins the words of a display name, one space where the input had any. */
static void
sb_addr_join_phrase(struct sb_addr_parser *ps, const struct sb_addr_tok *t,
                    size_t n, struct sb_buf *b)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0 && t[i].space_before)
			sb_addr_put(ps, b, " ", 1);
		if (t[i].type == SB_TOK_QUOTED) {
			sb_addr_put_unescaped(ps, b, t[i].text);
			continue;
		}
		/* obs-phrase allows '.'; other specials are errors. */
		if (t[i].type == SB_TOK_SPECIAL &&
		    !sb_addr_is_special(&t[i], '.'))
			ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
		sb_addr_put_tok(ps, b, &t[i]);
	}
}

/*
 * Joins a local part or a domain: words and dots, with the whitespace and
 * comments that the obsolete syntax allows around dots removed. Two words
 * not joined by a dot, or a special, are flagged.
 */
static void
sb_addr_join_dotted(struct sb_addr_parser *ps, const struct sb_addr_tok *t,
                    size_t n, struct sb_buf *b)
{
	bool want_word = true;
	size_t i;

	for (i = 0; i < n; i++) {
		if (sb_addr_is_special(&t[i], '.')) {
			if (want_word && i > 0)
				ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
			want_word = true;
		} else {
			if (!want_word || t[i].type == SB_TOK_SPECIAL)
				ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
			want_word = false;
		}
		sb_addr_put_tok(ps, b, &t[i]);
	}
}

/* Makes room for one more entry and returns it, zeroed. */
static struct sb_address *
sb_addr_new_entry(struct sb_addr_parser *ps, enum sb_address_type type)
{
	struct sb_address_list *list = ps->list;
	struct sb_address *a;

	if (list->count == ps->alloc) {
		ps->alloc = ps->alloc == 0 ? 8 : ps->alloc * 2;
		list->addrs = sb_reallocarray(list->addrs, ps->alloc,
		                              sizeof(*list->addrs));
	}
	a = &list->addrs[list->count++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->flags = ps->item_flags;
	list->flags |= ps->item_flags;
	ps->item_flags = 0;
	return a;
}

/* True when `need` more entries fit; flags the list when they do not. */
static bool
sb_addr_room(struct sb_addr_parser *ps, size_t need)
{
	size_t reserve = ps->in_group ? 1 : 0;

	if (ps->list->count + reserve + need <= ps->max)
		return true;
	ps->list->flags |= SB_ADDRESS_ERR_TOO_MANY;
	return false;
}

/* A malloc'd copy of a part; NULL for an empty one when empty_null. */
static char *
sb_addr_take(struct sb_buf *b, bool empty_null)
{
	if (empty_null && b->len == 0) {
		sb_buf_free(b);
		return NULL;
	}
	return sb_buf_take(b, NULL);
}

/* The length of the UTF-8 character at p, or 0 when it is not one. */
static size_t SB_WUR
sb_addr_utf8_char(const char *p, size_t left)
{
	size_t n;

	for (n = 1; n <= 4 && n <= left; n++) {
		if (sb_utf8_valid(p, n))
			return n;
	}
	return 0;
}

/*
 * The name as written, as valid UTF-8 for display: bytes that are not
 * UTF-8 and control characters but TAB become U+FFFD (as in
 * sb_rfc2047_decode), and it is cut at a
 * character boundary within SB_ADDRESS_MAX_DISPLAY.
 */
static char *
sb_addr_sanitise_name(const char *name)
{
	size_t i = 0, len = strlen(name), n, clen;
	const char *c;
	struct sb_buf b;

	sb_buf_init_secret(&b, SB_ADDRESS_MAX_DISPLAY);
	while (i < len) {
		n = sb_addr_utf8_char(name + i, len - i);
		if (n == 0 ||
		    (n == 1 && name[i] != '\t' &&
		     ((unsigned char)name[i] < 0x20 || name[i] == 0x7f))) {
			c = "\xef\xbf\xbd";
			clen = 3;
			n = 1;
		} else {
			c = name + i;
			clen = n;
		}
		if (clen > b.max - b.len)
			break; /* cut before the character that does not fit */
		if (sb_buf_add(&b, c, clen) != 0)
			abort(); /* cannot happen: checked against the max */
		i += n;
	}
	return sb_buf_take(&b, NULL);
}

/*
 * The UTF-8 form of a name, for display. When decoding would pass the
 * bound, the name as written serves, made valid UTF-8 (flagged).
 */
static char *
sb_addr_decode_name(struct sb_addr_parser *ps, const char *name)
{
	struct sb_buf b;

	if (name == NULL)
		return NULL;
	sb_buf_init_secret(&b, SB_ADDRESS_MAX_DISPLAY);
	if (sb_rfc2047_decode(name, strlen(name), &b, NULL) != 0) {
		ps->item_flags |= SB_ADDRESS_ERR_TOO_LONG;
		return sb_addr_sanitise_name(name);
	}
	return sb_buf_take(&b, NULL);
}

static void
sb_addr_group_end(struct sb_addr_parser *ps)
{
	(void)sb_addr_new_entry(ps, SB_ADDRESS_GROUP_END);
	ps->in_group = false;
}

/* Moves a parsed entry into the list with the problems met on the way. */
static void
sb_addr_commit(struct sb_addr_parser *ps, const struct sb_address *tmp)
{
	struct sb_address *a = sb_addr_new_entry(ps, tmp->type);
	unsigned int flags = a->flags;

	*a = *tmp;
	a->flags = flags;
}

/* A comment's text as a name: no quoted-pairs, no outer whitespace. */
static char *
sb_addr_comment_name(struct sb_addr_parser *ps)
{
	struct sb_buf b;

	sb_buf_init_secret(&b, SB_ADDRESS_MAX_PART);
	sb_addr_put_unescaped(ps, &b, sb_sv_trim(ps->comment));
	return sb_addr_take(&b, true);
}

/*
 * Takes an obsolete route "@a,@b:" at t[start] inside angle brackets.
 * Returns where the addr-spec starts.
 */
static size_t
sb_addr_route(struct sb_addr_parser *ps, const struct sb_addr_tok *t,
              size_t start, size_t end, struct sb_address *a)
{
	struct sb_buf b;
	size_t colon, i;

	if (start >= end || !sb_addr_is_special(&t[start], '@'))
		return start;
	for (colon = start; colon < end; colon++) {
		if (sb_addr_is_special(&t[colon], ':'))
			break;
	}
	if (colon == end) {
		ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
		return start;
	}
	sb_buf_init_secret(&b, SB_ADDRESS_MAX_PART);
	for (i = start; i < colon; i++)
		sb_addr_put_tok(ps, &b, &t[i]);
	a->route = sb_addr_take(&b, true);
	return colon + 1;
}

/*
 * Fills mailbox and domain from the tokens of an addr-spec. Without '@'
 * the whole is the local part and the domain is "".
 */
static void
sb_addr_spec(struct sb_addr_parser *ps, const struct sb_addr_tok *t, size_t n,
             struct sb_address *a)
{
	struct sb_buf local, domain;
	size_t at;

	for (at = 0; at < n; at++) {
		if (sb_addr_is_special(&t[at], '@'))
			break;
	}
	sb_buf_init_secret(&local, SB_ADDRESS_MAX_PART);
	sb_buf_init_secret(&domain, SB_ADDRESS_MAX_PART);
	sb_addr_join_dotted(ps, t, at, &local);
	if (at < n)
		sb_addr_join_dotted(ps, t + at + 1, n - at - 1, &domain);
	if (domain.len == 0)
		ps->item_flags |= SB_ADDRESS_ERR_NO_DOMAIN;
	a->mailbox = sb_addr_take(&local, false);
	a->domain = sb_addr_take(&domain, false);
}

/*
 * For an address without angle brackets, where its addr-spec starts: the
 * words joined to the local part before '@' by dots or by no space at all.
 * Words before them ("John Smith john@example.com") are a name, flagged.
 */
static size_t
sb_addr_bare_start(struct sb_addr_parser *ps, const struct sb_addr_tok *t,
                   size_t n)
{
	size_t at, k;

	for (at = 0; at < n; at++) {
		if (sb_addr_is_special(&t[at], '@'))
			break;
	}
	if (at == n || at == 0)
		return 0;
	k = at - 1;
	while (k > 0) {
		if (sb_addr_is_special(&t[k], '.') ||
		    sb_addr_is_special(&t[k - 1], '.') || !t[k].space_before)
			k--;
		else
			break;
	}
	if (k > 0)
		ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
	return k;
}

/* Makes a mailbox entry of the collected tokens. */
static void
sb_addr_mailbox(struct sb_addr_parser *ps)
{
	const struct sb_addr_tok *t = ps->toks;
	struct sb_address a = {.type = SB_ADDRESS_MAILBOX};
	size_t n = ps->ntoks, lt, gt, spec_start, spec_end;
	struct sb_buf name;

	for (lt = 0; lt < n; lt++) {
		if (sb_addr_is_special(&t[lt], '<'))
			break;
	}
	sb_buf_init_secret(&name, SB_ADDRESS_MAX_PART);
	if (lt < n) {
		for (gt = lt + 1; gt < n; gt++) {
			if (sb_addr_is_special(&t[gt], '>'))
				break;
		}
		if (gt == n)
			ps->item_flags |= SB_ADDRESS_ERR_NO_ANGLE;
		else if (gt + 1 < n)
			ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
		sb_addr_join_phrase(ps, t, lt, &name);
		spec_start = sb_addr_route(ps, t, lt + 1, gt, &a);
		spec_end = gt;
	} else {
		spec_start = sb_addr_bare_start(ps, t, n);
		spec_end = n;
		sb_addr_join_phrase(ps, t, spec_start, &name);
	}
	sb_addr_spec(ps, t + spec_start, spec_end - spec_start, &a);
	a.name = sb_addr_take(&name, true);
	/*
	 * "addr@example.com (Name)": a comment after a bare addr-spec names
	 * it, as mail readers do; one before it or inside it does not.
	 */
	if (a.name == NULL && lt == n && ps->have_comment &&
	    ps->comment_ntoks == n)
		a.name = sb_addr_comment_name(ps);
	a.display_name = sb_addr_decode_name(ps, a.name);
	sb_addr_commit(ps, &a);
}

/* Makes a group start entry named by the collected tokens. */
static void
sb_addr_group_start(struct sb_addr_parser *ps)
{
	struct sb_address a = {.type = SB_ADDRESS_GROUP_START};
	struct sb_buf name;

	sb_buf_init_secret(&name, SB_ADDRESS_MAX_PART);
	sb_addr_join_phrase(ps, ps->toks, ps->ntoks, &name);
	if (name.len == 0)
		ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
	a.mailbox = sb_addr_take(&name, false);
	a.display_name = sb_addr_decode_name(ps, a.mailbox);
	sb_addr_commit(ps, &a);
	ps->in_group = true;
}

/* True when the token after the current position is '@'. */
static bool
sb_addr_peek_at(struct sb_addr_parser *ps)
{
	struct sb_addr_parser saved = *ps;
	struct sb_addr_tok tok;

	sb_addr_next(ps, &tok);
	*ps = saved;
	return sb_addr_is_special(&tok, '@');
}

/*
 * Collects the tokens of one entry, up to a ',', ';' or ':' that is not
 * part of an angle-bracketed route, or to the end. Returns that delimiter,
 * or '\0' at the end.
 */
static char
sb_addr_collect(struct sb_addr_parser *ps)
{
	struct sb_addr_tok tok;
	bool angle = false;
	char c;

	ps->ntoks = 0;
	ps->have_comment = false;
	for (;;) {
		sb_addr_next(ps, &tok);
		if (tok.type == SB_TOK_END)
			return '\0';
		c = tok.type == SB_TOK_SPECIAL ? tok.text.p[0] : '\0';
		if (c == '<') {
			if (angle)
				ps->item_flags |= SB_ADDRESS_ERR_SYNTAX;
			angle = true;
		} else if (c == '>') {
			angle = false;
		} else if (c == ';' || (c == ':' && !angle)) {
			return c;
		} else if (c == ',' && (!angle || !sb_addr_peek_at(ps))) {
			return c;
		}
		sb_addr_push_tok(ps, &tok);
	}
}

struct sb_address_list *
sb_address_list_parse_new(const char *value, size_t len, size_t max_addresses)
{
	struct sb_addr_parser ps;
	bool full = false;
	char delim;

	memset(&ps, 0, sizeof(ps));
	/* An empty value may come without a pointer. */
	ps.in = sb_sv(value != NULL ? value : "", len);
	ps.max = max_addresses < 2 ? 2 : max_addresses;
	ps.list = sb_calloc(1, sizeof(*ps.list));
	for (;;) {
		delim = sb_addr_collect(&ps);
		if (delim == ':') {
			if (ps.in_group) {
				/* Groups do not nest: close the first one. */
				ps.item_flags |= SB_ADDRESS_ERR_GROUP;
				sb_addr_group_end(&ps);
			}
			if (!sb_addr_room(&ps, 2)) {
				full = true;
				break;
			}
			sb_addr_group_start(&ps);
			continue;
		}
		if (ps.ntoks > 0) {
			if (!sb_addr_room(&ps, 1)) {
				full = true;
				break;
			}
			sb_addr_mailbox(&ps);
		}
		if (delim == ';') {
			if (ps.in_group)
				sb_addr_group_end(&ps);
			else
				ps.item_flags |= SB_ADDRESS_ERR_GROUP;
		}
		ps.list->flags |= ps.item_flags;
		ps.item_flags = 0;
		if (delim == '\0')
			break;
	}
	if (ps.in_group) {
		/* Its ';' is missing, unless the list was cut short. */
		if (!full)
			ps.item_flags |= SB_ADDRESS_ERR_GROUP;
		sb_addr_group_end(&ps);
	}
	ps.list->flags |= ps.item_flags;
	free(ps.toks);
	return ps.list;
}

void
sb_address_list_free(struct sb_address_list **list)
{
	struct sb_address_list *l = *list;
	size_t i;

	if (l == NULL)
		return;
	/* A message's addresses may have been decrypted: wiped. */
	for (i = 0; i < l->count; i++) {
		sb_secret_free_str(l->addrs[i].name);
		sb_secret_free_str(l->addrs[i].display_name);
		sb_secret_free_str(l->addrs[i].route);
		sb_secret_free_str(l->addrs[i].mailbox);
		sb_secret_free_str(l->addrs[i].domain);
	}
	free(l->addrs);
	free(l);
	*list = NULL;
}

static bool
sb_addr_is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c >= 0x80 ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A dot-atom needs no quotes: atoms joined by single dots. */
static bool
sb_addr_is_dot_atom(const char *s)
{
	bool after_dot = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (after_dot)
				return false;
			after_dot = true;
		} else if (sb_addr_is_atext((unsigned char)*s)) {
			after_dot = false;
		} else {
			return false;
		}
	}
	return !after_dot;
}

/* A C0 control character or DEL: never written into a header. */
static bool
sb_addr_has_control(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	}
	return false;
}

/* "[...]" of dtext (RFC 5322 3.4.1): printable ASCII but '[', ']', '\\'. */
static bool
sb_addr_is_domain_literal(const char *s)
{
	size_t len = strlen(s), i;

	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return false;
	for (i = 1; i < len - 1; i++) {
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126 ||
		    s[i] == '[' || s[i] == ']' || s[i] == '\\')
			return false;
	}
	return true;
}

int
sb_address_write_addr_spec(const struct sb_address *addr, struct sb_buf *out)
{
	const char *s;

	if (addr->type != SB_ADDRESS_MAILBOX || addr->mailbox == NULL)
		return -1;
	if (sb_addr_has_control(addr->mailbox))
		return -1;
	if (addr->domain != NULL && addr->domain[0] != '\0' &&
	    !sb_addr_is_dot_atom(addr->domain) &&
	    !sb_addr_is_domain_literal(addr->domain))
		return -1;
	if (sb_addr_is_dot_atom(addr->mailbox)) {
		if (sb_buf_add_str(out, addr->mailbox) != 0)
			return -1;
	} else {
		if (sb_buf_add_char(out, '"') != 0)
			return -1;
		for (s = addr->mailbox; *s != '\0'; s++) {
			if ((*s == '"' || *s == '\\') &&
			    sb_buf_add_char(out, '\\') != 0)
				return -1;
			if (sb_buf_add_char(out, *s) != 0)
				return -1;
		}
		if (sb_buf_add_char(out, '"') != 0)
			return -1;
	}
	if (addr->domain == NULL || addr->domain[0] == '\0')
		return 0;
	if (sb_buf_add_char(out, '@') != 0)
		return -1;
	return sb_buf_add_str(out, addr->domain);
}
