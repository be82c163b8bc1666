#include "test-imap-syntax.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Deeper nesting is refused (the writer's input is bounded far below). */
#define TIS_MAX_DEPTH 200

struct tis {
	const char *p;
	size_t len;
	size_t pos;
	bool extended;
	unsigned depth;
	const char *error;
	tis_part_fn *fn;
	void *context;
};

static bool
tis_fail(struct tis *c, const char *error)
{
	if (c->error == NULL)
		c->error = error;
	return false;
}

static bool
tis_peek(const struct tis *c, char ch)
{
	return c->pos < c->len && c->p[c->pos] == ch;
}

static bool
tis_char(struct tis *c, char ch, const char *error)
{
	if (!tis_peek(c, ch))
		return tis_fail(c, error);
	c->pos++;
	return true;
}

static bool
tis_sp(struct tis *c)
{
	return tis_char(c, ' ', "SP expected");
}

/* Consumes a SP when one is next. */
static bool
tis_take_sp(struct tis *c)
{
	if (!tis_peek(c, ' '))
		return false;
	c->pos++;
	return true;
}

/* The atom NIL, which must end there. */
static bool
tis_take_nil(struct tis *c)
{
	if (c->len - c->pos < 3 || memcmp(c->p + c->pos, "NIL", 3) != 0)
		return false;
	if (c->pos + 3 < c->len && strchr(" )", c->p[c->pos + 3]) == NULL)
		return false;
	c->pos += 3;
	return true;
}

/*
 * quoted / literal. The raw text between the quotes, or the literal's
 * bytes, goes to value_r.
 */
static bool
tis_string(struct tis *c, const char **value_r, size_t *len_r)
{
	uint64_t n = 0;
	size_t start;

	if (tis_peek(c, '"')) {
		start = ++c->pos;
		for (;;) {
			unsigned char ch;

			if (c->pos >= c->len)
				return tis_fail(c,
				                "unterminated quoted string");
			ch = (unsigned char)c->p[c->pos];
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (c->pos + 1 >= c->len ||
				    strchr("\"\\", c->p[c->pos + 1]) == NULL ||
				    c->p[c->pos + 1] == '\0')
					return tis_fail(c, "bad quoted-pair");
				c->pos += 2;
				continue;
			}
			if (ch == '\0' || ch == '\r' || ch == '\n' ||
			    ch >= 0x80)
				return tis_fail(c, "bad byte in quoted string");
			c->pos++;
		}
		if (value_r != NULL) {
			*value_r = c->p + start;
			*len_r = c->pos - start;
		}
		c->pos++;
		return true;
	}
	if (!tis_char(c, '{', "string expected"))
		return false;
	start = c->pos;
	while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		n = n * 10 + (uint64_t)(c->p[c->pos++] - '0');
		if (n > c->len)
			return tis_fail(c, "literal too long");
	}
	if (c->pos == start || !tis_char(c, '}', "bad literal") ||
	    !tis_char(c, '\r', "literal without CRLF") ||
	    !tis_char(c, '\n', "literal without CRLF"))
		return tis_fail(c, "bad literal");
	if (c->len - c->pos < n)
		return tis_fail(c, "literal past the end");
	if (memchr(c->p + c->pos, '\0', (size_t)n) != NULL)
		return tis_fail(c, "NUL in a literal");
	if (value_r != NULL) {
		*value_r = c->p + c->pos;
		*len_r = (size_t)n;
	}
	c->pos += (size_t)n;
	return true;
}

/* nstring; *nil_r tells which. */
static bool
tis_nstring(struct tis *c, bool *nil_r)
{
	bool nil = tis_take_nil(c);

	if (nil_r != NULL)
		*nil_r = nil;
	return nil || tis_string(c, NULL, NULL);
}

static bool
tis_number(struct tis *c, uint64_t *n_r)
{
	size_t start = c->pos;
	uint64_t n = 0;

	while (c->pos < c->len && c->p[c->pos] >= '0' && c->p[c->pos] <= '9') {
		if (n > (UINT64_MAX - 9) / 10)
			return tis_fail(c, "number too large");
		n = n * 10 + (uint64_t)(c->p[c->pos++] - '0');
	}
	if (c->pos == start)
		return tis_fail(c, "number expected");
	*n_r = n;
	return true;
}

/* body-fld-param = "(" string SP string *(SP string SP string) ")" / nil */
static bool
tis_params(struct tis *c)
{
	if (tis_take_nil(c))
		return true;
	if (!tis_char(c, '(', "parameter list expected"))
		return false;
	do {
		if (!tis_string(c, NULL, NULL) || !tis_sp(c) ||
		    !tis_string(c, NULL, NULL))
			return false;
	} while (tis_take_sp(c));
	return tis_char(c, ')', "')' expected after parameters");
}

/* body-fld-dsp = "(" string SP body-fld-param ")" / nil */
static bool
tis_disposition(struct tis *c)
{
	if (tis_take_nil(c))
		return true;
	return tis_char(c, '(', "disposition expected") &&
	       tis_string(c, NULL, NULL) && tis_sp(c) && tis_params(c) &&
	       tis_char(c, ')', "')' expected after disposition");
}

/* body-fld-lang = nstring / "(" string *(SP string) ")" */
static bool
tis_language(struct tis *c)
{
	if (!tis_peek(c, '('))
		return tis_nstring(c, NULL);
	c->pos++;
	do {
		if (!tis_string(c, NULL, NULL))
			return false;
	} while (tis_take_sp(c));
	return tis_char(c, ')', "')' expected after languages");
}

/*
 * address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")",
 * with a group's start (mailbox, no host) and end (neither) in order.
 */
static bool
tis_address(struct tis *c, bool *in_group)
{
	bool nil_mailbox, nil_host;

	if (!tis_char(c, '(', "address expected") || !tis_nstring(c, NULL) ||
	    !tis_sp(c) || !tis_nstring(c, NULL) || !tis_sp(c) ||
	    !tis_nstring(c, &nil_mailbox) || !tis_sp(c) ||
	    !tis_nstring(c, &nil_host) ||
	    !tis_char(c, ')', "')' expected after address"))
		return false;
	if (!nil_host)
		return true;
	if (!nil_mailbox) {
		if (*in_group)
			return tis_fail(c, "group inside a group");
		*in_group = true;
	} else {
		if (!*in_group)
			return tis_fail(c, "group end without a start");
		*in_group = false;
	}
	return true;
}

/* "(" 1*address ")" / nil */
static bool
tis_address_list(struct tis *c)
{
	bool in_group = false;

	if (tis_take_nil(c))
		return true;
	if (!tis_char(c, '(', "address list expected"))
		return false;
	do {
		if (!tis_address(c, &in_group))
			return false;
	} while (tis_peek(c, '('));
	if (in_group)
		return tis_fail(c, "group never ended");
	return tis_char(c, ')', "')' expected after addresses");
}

static bool
tis_envelope(struct tis *c)
{
	if (!tis_char(c, '(', "envelope expected") || !tis_nstring(c, NULL) ||
	    !tis_sp(c) || !tis_nstring(c, NULL))
		return false;
	for (int i = 0; i < 6; i++) {
		if (!tis_sp(c) || !tis_address_list(c))
			return false;
	}
	return tis_sp(c) && tis_nstring(c, NULL) && tis_sp(c) &&
	       tis_nstring(c, NULL) &&
	       tis_char(c, ')', "')' expected after envelope");
}

static bool
tis_is(const char *s, size_t len, const char *what)
{
	return len == strlen(what) && strncasecmp(s, what, len) == 0;
}

static bool
tis_join(char *out, size_t size, const char *prefix, const char *suffix,
         unsigned n)
{
	int r;

	if (suffix != NULL)
		r = snprintf(out, size, "%s%s%s", prefix, *prefix ? "." : "",
		             suffix);
	else
		r = snprintf(out, size, "%s%s%u", prefix, *prefix ? "." : "",
		             n);
	return r > 0 && (size_t)r < size;
}

static bool tis_body(struct tis *c, const char *prefix, const char *self);

/* The parts and subtype of a multipart; c is past its "(". */
static bool
tis_multipart(struct tis *c, const char *prefix)
{
	char path[512];
	unsigned k = 0;

	while (tis_peek(c, '(')) {
		if (!tis_join(path, sizeof(path), prefix, NULL, ++k))
			return tis_fail(c, "section number too long");
		if (!tis_body(c, path, path))
			return false;
	}
	if (!tis_sp(c) || !tis_string(c, NULL, NULL))
		return false;
	if (c->extended &&
	    (!tis_sp(c) || !tis_params(c) || !tis_sp(c) ||
	     !tis_disposition(c) || !tis_sp(c) || !tis_language(c) ||
	     !tis_sp(c) || !tis_nstring(c, NULL)))
		return false;
	return tis_char(c, ')', "')' expected after multipart");
}

/*
 * A part that is not a multipart, called `self`; c is past its "(". A
 * message's parts are numbered under self.
 */
static bool
tis_single(struct tis *c, const char *self)
{
	struct tis_part part = {self, false, false, 0, 0};
	const char *type, *subtype;
	size_t type_len, subtype_len;
	char inner[512];

	if (!tis_string(c, &type, &type_len) || !tis_sp(c) ||
	    !tis_string(c, &subtype, &subtype_len) || !tis_sp(c) ||
	    !tis_params(c) || !tis_sp(c) || !tis_nstring(c, NULL) ||
	    !tis_sp(c) || !tis_nstring(c, NULL) || !tis_sp(c) ||
	    !tis_string(c, NULL, NULL) || !tis_sp(c) ||
	    !tis_number(c, &part.size))
		return false;
	part.message = tis_is(type, type_len, "MESSAGE") &&
	               tis_is(subtype, subtype_len, "RFC822");
	part.text = tis_is(type, type_len, "TEXT");
	if (part.message) {
		if (!tis_sp(c) || !tis_envelope(c) || !tis_sp(c))
			return false;
		/* The message's own body is part 1 unless it is multipart. */
		if (!tis_join(inner, sizeof(inner), self, "1", 0))
			return tis_fail(c, "section number too long");
		if (!tis_body(c, self, inner) || !tis_sp(c) ||
		    !tis_number(c, &part.lines))
			return false;
	} else if (part.text) {
		if (!tis_sp(c) || !tis_number(c, &part.lines))
			return false;
	}
	if (c->extended &&
	    (!tis_sp(c) || !tis_nstring(c, NULL) || !tis_sp(c) ||
	     !tis_disposition(c) || !tis_sp(c) || !tis_language(c) ||
	     !tis_sp(c) || !tis_nstring(c, NULL)))
		return false;
	if (!tis_char(c, ')', "')' expected after body"))
		return false;
	/* A message is reported after the parts it holds. */
	if (c->fn != NULL)
		c->fn(c->context, &part);
	return true;
}

/*
 * body = "(" (body-type-1part / body-type-mpart) ")". A multipart's
 * parts are numbered under prefix; any other body is called self.
 */
static bool
tis_body(struct tis *c, const char *prefix, const char *self)
{
	bool ok;

	if (++c->depth > TIS_MAX_DEPTH)
		return tis_fail(c, "too deep");
	if (!tis_char(c, '(', "body expected"))
		return false;
	ok = tis_peek(c, '(') ? tis_multipart(c, prefix) : tis_single(c, self);
	c->depth--;
	return ok;
}

static int
tis_finish(struct tis *c, bool ok, const char **error_r)
{
	if (ok && c->pos != c->len)
		ok = tis_fail(c, "text after the end");
	if (!ok)
		*error_r = c->error != NULL ? c->error : "syntax error";
	return ok ? 0 : -1;
}

int
tis_check_body(const char *p, size_t len, bool extended, tis_part_fn *fn,
               void *context, const char **error_r)
{
	struct tis c = {p, len, 0, extended, 0, NULL, fn, context};

	return tis_finish(&c, tis_body(&c, "", "1"), error_r);
}

int
tis_check_envelope(const char *p, size_t len, const char **error_r)
{
	struct tis c = {p, len, 0, false, 0, NULL, NULL, NULL};

	return tis_finish(&c, tis_envelope(&c), error_r);
}

int
tis_check_balanced(const char *p, size_t len, const char **error_r)
{
	struct tis c = {p, len, 0, false, 0, NULL, NULL, NULL};
	unsigned depth = 0;

	while (c.pos < c.len) {
		char ch = c.p[c.pos];

		if (ch == '"' || ch == '{') {
			if (!tis_string(&c, NULL, NULL))
				return tis_finish(&c, false, error_r);
			continue;
		}
		if (ch == '(') {
			depth++;
		} else if (ch == ')') {
			if (depth == 0)
				return tis_finish(
				        &c, tis_fail(&c, "unbalanced ')'"),
				        error_r);
			depth--;
		} else if (ch == '\r' || ch == '\n' || ch == '\0') {
			return tis_finish(&c, tis_fail(&c, "stray byte"),
			                  error_r);
		}
		c.pos++;
	}
	return tis_finish(&c, depth == 0 || tis_fail(&c, "unclosed '('"),
	                  error_r);
}
