#include "bodystructure.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/sv.h"
#include "envelope.h"
#include "quote.h"

/*
 * The writer's state. Writing stops at the first failed append (the
 * buffer is freed then, and could take appends again): `failed` keeps
 * every later write from happening.
 */
struct bs_writer {
	const char *msg;
	size_t len;
	bool extended;
	bool failed;
	struct sb_buf *out;
};

static void
bs_check(struct bs_writer *w, int ret)
{
	if (ret != 0)
		w->failed = true;
}

static void
bs_add(struct bs_writer *w, const char *s)
{
	if (!w->failed)
		bs_check(w, sb_buf_add_str(w->out, s));
}

static void
bs_number(struct bs_writer *w, uint64_t n)
{
	if (!w->failed)
		bs_check(w, sb_buf_add_printf(w->out, " %" PRIu64, n));
}

static void
bs_string(struct bs_writer *w, const char *s, size_t len)
{
	if (!w->failed)
		bs_check(w, imap_write_string(s, len, w->out));
}

static void
bs_nstring(struct bs_writer *w, const char *s)
{
	if (!w->failed)
		bs_check(w, imap_write_nstring_cstr(s, w->out));
}

/* s in upper case, and `suffix` after it, as a string. */
static void
bs_upper(struct bs_writer *w, const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	char *u;

	if (w->failed)
		return;
	u = sb_malloc(n + m + 1);
	for (size_t i = 0; i < n; i++)
		u[i] = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 'a' + 'A')
		                                  : s[i];
	memcpy(u + n, suffix, m + 1);
	bs_string(w, u, n + m);
	/* A parameter's name is the message's text: wiped like the rest. */
	sb_secret_free(u, n + m + 1);
}

static bool
bs_is(const struct mime_part *p, const char *type, const char *subtype)
{
	return strcmp(p->type, type) == 0 &&
	       (subtype == NULL || strcmp(p->subtype, subtype) == 0);
}

/* Parts that the structure shows as an encapsulated message. */
static bool
bs_is_rfc822(const struct mime_part *p)
{
	return bs_is(p, "message", "rfc822");
}

/* RFC 2231 attribute-char: what an extended value keeps unencoded. */
static bool
bs_is_attribute_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f &&
	       strchr("*'%()<>@,;:\\\"/[]?=", c) == NULL;
}

/*
 * An RFC 2231 value (UTF-8 in mime.h) in RFC 2231's extended form:
 * "UTF-8'lang'" and the value with every byte that is not an
 * attribute-char percent-encoded. A language tag of anything but
 * letters, digits and '-' is left out.
 */
static void
bs_extended_value(struct bs_writer *w, const struct mime_param *param)
{
	struct sb_buf v;
	const char *lang = param->language;

	if (w->failed)
		return;
	for (const char *c = lang; c != NULL && *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '-'))
			lang = NULL;
	}
	/* At most three bytes per byte, and the charset and language. */
	sb_buf_init_secret(&v, 3 * param->value_len + 16 +
	                               (lang == NULL ? 0 : strlen(lang)));
	bs_check(w,
	         sb_buf_add_printf(&v, "UTF-8'%s'", lang == NULL ? "" : lang));
	for (size_t i = 0; i < param->value_len && !w->failed; i++) {
		unsigned char c = (unsigned char)param->value[i];

		if (bs_is_attribute_char(c))
			bs_check(w, sb_buf_add_char(&v, (char)c));
		else
			bs_check(w, sb_buf_add_printf(&v, "%%%02X", c));
	}
	if (w->failed)
		abort(); /* v was sized for the worst case */
	bs_string(w, sb_buf_str(&v), v.len);
	sb_buf_free(&v);
}

/*
 * Whether an RFC 2231 parameter must stay in the extended form "name*":
 * when it has a language, or a value that is not printable ASCII. Others
 * (continuations of plain values, or encoded ASCII) lose nothing as a
 * plain "name", which RFC 9051 7.5.2 asks for continuations.
 */
static bool
bs_needs_star(const struct mime_param *param)
{
	if (param->language != NULL && param->language[0] != '\0')
		return true;
	for (size_t i = 0; i < param->value_len; i++) {
		unsigned char c = (unsigned char)param->value[i];

		if (c < 0x20 || c >= 0x7f)
			return true;
	}
	return false;
}

/* body-fld-param: ("NAME" "value" ...) or NIL. */
static void
bs_params(struct bs_writer *w, const struct mime_params *params)
{
	if (params->count == 0) {
		bs_add(w, "NIL");
		return;
	}
	bs_add(w, "(");
	for (unsigned i = 0; i < params->count; i++) {
		const struct mime_param *p = &params->v[i];

		if (i > 0)
			bs_add(w, " ");
		bool star = p->extended && bs_needs_star(p);

		bs_upper(w, p->name, star ? "*" : "");
		bs_add(w, " ");
		if (star)
			bs_extended_value(w, p);
		else
			bs_string(w, p->value, p->value_len);
	}
	bs_add(w, ")");
}

/* body-fld-dsp: ("ATTACHMENT" ("FILENAME" "a.pdf")) or NIL. */
static void
bs_disposition(struct bs_writer *w, const struct mime_part *p)
{
	if (p->disposition == NULL) {
		bs_add(w, "NIL");
		return;
	}
	bs_add(w, "(");
	bs_upper(w, p->disposition, "");
	bs_add(w, " ");
	bs_params(w, &p->disposition_params);
	bs_add(w, ")");
}

/* The next language tag of a Content-Language list (RFC 3282). */
static bool
bs_next_language(struct sb_sv *cur, struct sb_sv *tag_r)
{
	unsigned depth = 0;

	while (cur->len > 0) {
		char c = cur->p[0];

		if (c == '(') {
			depth++;
		} else if (c == ')') {
			/* A stray ')' separates, like a comma. */
			if (depth > 0)
				depth--;
		} else if (depth == 0 && strchr(" \t\r\n,", c) == NULL) {
			/* c is not a separator: the tag is not empty. */
			tag_r->p = cur->p;
			tag_r->len = 0;
			while (tag_r->len < cur->len &&
			       strchr(" \t\r\n,()", cur->p[tag_r->len]) == NULL)
				tag_r->len++;
			sb_sv_advance(cur, tag_r->len);
			return true;
		}
		sb_sv_advance(cur, 1);
	}
	return false;
}

/* body-fld-lang: one tag as a string, several as a list, or NIL. */
static void
bs_language(struct bs_writer *w, const char *language)
{
	struct sb_sv cur, tag;
	unsigned n = 0;

	if (language != NULL) {
		cur = sb_sv_cstr(language);
		while (bs_next_language(&cur, &tag))
			n++;
	}
	if (n == 0) {
		bs_add(w, "NIL");
		return;
	}
	if (n > 1)
		bs_add(w, "(");
	cur = sb_sv_cstr(language);
	for (unsigned i = 0; bs_next_language(&cur, &tag); i++) {
		if (i > 0)
			bs_add(w, " ");
		bs_string(w, tag.p, tag.len);
	}
	if (n > 1)
		bs_add(w, ")");
}

/* The extension data of a part that is not a multipart. */
static void
bs_ext_1part(struct bs_writer *w, const struct mime_part *p)
{
	if (!w->extended)
		return;
	bs_add(w, " ");
	bs_nstring(w, p->md5);
	bs_add(w, " ");
	bs_disposition(w, p);
	bs_add(w, " ");
	bs_language(w, p->language);
	bs_add(w, " ");
	bs_nstring(w, p->location);
}

/* type, subtype, parameters, id, description, encoding and size. */
static void
bs_fields(struct bs_writer *w, const struct mime_part *p)
{
	bs_upper(w, p->type, "");
	bs_add(w, " ");
	bs_upper(w, p->subtype, "");
	bs_add(w, " ");
	if (bs_is(p, "text", NULL) &&
	    (p->flags &
	     (MIME_PART_FLAG_DEFAULT_TYPE | MIME_PART_FLAG_BAD_CONTENT_TYPE)))
		bs_add(w, "(\"CHARSET\" \"US-ASCII\")");
	else
		bs_params(w, &p->params);
	bs_add(w, " ");
	bs_nstring(w, p->content_id);
	bs_add(w, " ");
	bs_nstring(w, p->description);
	bs_add(w, " ");
	bs_upper(w, p->encoding, "");
	bs_number(w, p->body.size);
}

/*
 * The text/plain part with an empty header that stands for the body of a
 * multipart without parts, or of a message/rfc822 that was not parsed.
 */
static void
bs_stand_in(struct bs_writer *w, const struct mime_range *body)
{
	bs_add(w, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	          "\"7BIT\"");
	bs_number(w, body->size);
	bs_number(w, body->lines);
	if (w->extended)
		bs_add(w, " NIL NIL NIL NIL");
	bs_add(w, ")");
}

static void
bs_envelope(struct bs_writer *w, const struct mime_part *message)
{
	if (w->failed)
		return;
	if (message == NULL) {
		bs_add(w, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	bs_check(w, imap_envelope_write(w->msg + message->header.offset,
	                                (size_t)message->header.size, w->out));
}

/*
 * Writes what comes before a part's children. Returns true when the
 * walk should go down into them; otherwise the part is complete, or (a
 * container without children) only its closing remains.
 */
static bool
bs_open(struct bs_writer *w, const struct mime_part *p)
{
	bs_add(w, "(");
	if (mime_part_is_multipart(p)) {
		if (p->children != NULL)
			return true;
		bs_stand_in(w, &p->body);
		return false;
	}
	bs_fields(w, p);
	if (bs_is_rfc822(p)) {
		bs_add(w, " ");
		bs_envelope(w, p->children);
		bs_add(w, " ");
		if (p->children != NULL)
			return true;
		bs_stand_in(w, &p->body);
		return false;
	}
	if (bs_is(p, "text", NULL))
		bs_number(w, p->body.lines);
	bs_ext_1part(w, p);
	bs_add(w, ")");
	return false;
}

/* Writes what follows the children of a multipart or message/rfc822. */
static void
bs_close(struct bs_writer *w, const struct mime_part *p)
{
	if (mime_part_is_multipart(p)) {
		bs_add(w, " ");
		bs_upper(w, p->subtype, "");
		if (w->extended) {
			bs_add(w, " ");
			bs_params(w, &p->params);
			bs_add(w, " ");
			bs_disposition(w, p);
			bs_add(w, " ");
			bs_language(w, p->language);
			bs_add(w, " ");
			bs_nstring(w, p->location);
		}
		bs_add(w, ")");
	} else if (bs_is_rfc822(p)) {
		bs_number(w, p->body.lines);
		bs_ext_1part(w, p);
		bs_add(w, ")");
	}
}

static bool
bs_is_container(const struct mime_part *p)
{
	return mime_part_is_multipart(p) || bs_is_rfc822(p);
}

int
imap_bodystructure_write(const struct mime_part *root, const void *msg,
                         size_t len, bool extended, struct sb_buf *out)
{
	struct bs_writer w = {msg, len, extended, false, out};
	const struct mime_part *p = root;

	/* The tree must be that of these bytes (mime.h: it covers them). */
	if (root->body.offset + root->body.size != len)
		abort();
	while (!w.failed) {
		if (bs_open(&w, p)) {
			p = p->children;
			continue;
		}
		if (bs_is_container(p))
			bs_close(&w, p);
		while (p != root && p->next == NULL) {
			p = p->parent;
			bs_close(&w, p);
		}
		if (p == root)
			break;
		p = p->next;
	}
	return w.failed ? -1 : 0;
}

int
imap_bodystructure_write_message(const void *msg, size_t len, bool extended,
                                 struct sb_buf *out)
{
	struct mime_part *root = mime_parse(msg, len, NULL);
	int ret = imap_bodystructure_write(root, msg, len, extended, out);

	mime_part_free(&root);
	return ret;
}

/* ---- Sections ---- */

/*
 * A part as the section map sees it: a part of the tree, or one of the
 * stand-ins that the structure shows (see bodystructure.h), both given by
 * the part they stand in for.
 */
enum bs_node_kind {
	BS_NODE_PART,
	BS_NODE_STAND_IN_CHILD,   /* the one part of a childless multipart */
	BS_NODE_STAND_IN_MESSAGE, /* the message of an unparsed rfc822 */
};

struct bs_node {
	const struct mime_part *part;
	enum bs_node_kind kind;
};

static struct imap_section_range
bs_node_header(struct bs_node n)
{
	if (n.kind == BS_NODE_PART)
		return (struct imap_section_range){n.part->header.offset,
		                                   n.part->header.size};
	return (struct imap_section_range){n.part->body.offset, 0};
}

static struct imap_section_range
bs_node_body(struct bs_node n)
{
	return (struct imap_section_range){n.part->body.offset,
	                                   n.part->body.size};
}

static bool
bs_node_is_multipart(struct bs_node n)
{
	return n.kind == BS_NODE_PART && mime_part_is_multipart(n.part);
}

static bool
bs_node_is_rfc822(struct bs_node n)
{
	return n.kind == BS_NODE_PART && bs_is_rfc822(n.part);
}

/* The message a message/rfc822 node holds. */
static struct bs_node
bs_node_message(struct bs_node n)
{
	if (n.part->children != NULL)
		return (struct bs_node){n.part->children, BS_NODE_PART};
	return (struct bs_node){n.part, BS_NODE_STAND_IN_MESSAGE};
}

/* Part k of a multipart node. */
static int
bs_node_child(struct bs_node n, uint32_t k, struct bs_node *child_r)
{
	const struct mime_part *c = n.part->children;

	if (c == NULL) {
		*child_r = (struct bs_node){n.part, BS_NODE_STAND_IN_CHILD};
		return k == 1 ? 0 : -1;
	}
	if (k > n.part->child_count)
		return -1;
	for (uint32_t i = 1; i < k; i++)
		c = c->next;
	*child_r = (struct bs_node){c, BS_NODE_PART};
	return 0;
}

/*
 * Part k of a message (the root, or one held by a message/rfc822): the
 * parts of a multipart, or the message's own body as its only part 1.
 */
static int
bs_message_part(struct bs_node message, uint32_t k, struct bs_node *part_r)
{
	if (bs_node_is_multipart(message))
		return bs_node_child(message, k, part_r);
	*part_r = message;
	return k == 1 ? 0 : -1;
}

int
imap_section_find(const struct mime_part *root, uint64_t len,
                  const struct imap_fetch_body *section,
                  struct imap_section_range *range_r, const char **error_r)
{
	struct bs_node n = {root, BS_NODE_PART};
	enum imap_section_text text = section->text;

	if (section->part_count > IMAP_SECTION_MAX_PARTS) {
		*error_r = "section has too many part numbers";
		return -1;
	}
	if (section->part_count == 0) {
		if (text == IMAP_SECTION_MIME) {
			*error_r = "MIME needs a part number";
			return -1;
		}
		if (text == IMAP_SECTION_WHOLE)
			*range_r = (struct imap_section_range){0, len};
		else if (text == IMAP_SECTION_TEXT)
			*range_r = bs_node_body(n);
		else
			*range_r = bs_node_header(n);
		return 0;
	}
	for (unsigned i = 0; i < section->part_count; i++) {
		uint32_t k = section->parts[i];
		int ret;

		if (i == 0)
			ret = bs_message_part(n, k, &n);
		else if (bs_node_is_multipart(n))
			ret = bs_node_child(n, k, &n);
		else if (bs_node_is_rfc822(n))
			ret = bs_message_part(bs_node_message(n), k, &n);
		else
			ret = -1;
		if (ret != 0) {
			*error_r = "no such message part";
			return -1;
		}
	}
	switch (text) {
	case IMAP_SECTION_WHOLE:
		*range_r = bs_node_body(n);
		return 0;
	case IMAP_SECTION_MIME:
		*range_r = bs_node_header(n);
		return 0;
	case IMAP_SECTION_HEADER:
	case IMAP_SECTION_HEADER_FIELDS:
	case IMAP_SECTION_HEADER_FIELDS_NOT:
	case IMAP_SECTION_TEXT:
		break;
	}
	if (!bs_node_is_rfc822(n)) {
		*error_r = "HEADER and TEXT need a message/rfc822 part";
		return -1;
	}
	n = bs_node_message(n);
	*range_r =
	        text == IMAP_SECTION_TEXT ? bs_node_body(n) : bs_node_header(n);
	return 0;
}

static const struct {
	const char *name;
	enum imap_section_text text;
} bs_section_texts[] = {
        {"HEADER", IMAP_SECTION_HEADER},
        {"HEADER.FIELDS", IMAP_SECTION_HEADER_FIELDS},
        {"HEADER.FIELDS.NOT", IMAP_SECTION_HEADER_FIELDS_NOT},
        {"TEXT", IMAP_SECTION_TEXT},
        {"MIME", IMAP_SECTION_MIME},
};

int
imap_section_parse(const char *in, size_t len,
                   struct imap_fetch_body *section_r, const char **error_r)
{
	struct sb_sv rest;
	size_t pos = 0;

	memset(section_r, 0, sizeof(*section_r));
	section_r->text = IMAP_SECTION_WHOLE;
	for (;;) {
		uint64_t n = 0;

		if (pos == len) {
			if (section_r->part_count == 0)
				return 0;
			*error_r = "section ends with '.'";
			return -1;
		}
		if (in[pos] < '0' || in[pos] > '9')
			break;
		if (in[pos] == '0') {
			*error_r = "section part numbers start at 1";
			return -1;
		}
		for (; pos < len && in[pos] >= '0' && in[pos] <= '9'; pos++) {
			n = n * 10 + (uint64_t)(in[pos] - '0');
			if (n > UINT32_MAX) {
				*error_r = "section part number too large";
				return -1;
			}
		}
		if (section_r->part_count == IMAP_SECTION_MAX_PARTS) {
			*error_r = "section has too many part numbers";
			return -1;
		}
		section_r->parts[section_r->part_count++] = (uint32_t)n;
		if (pos == len)
			return 0;
		if (in[pos] != '.') {
			*error_r = "invalid section";
			return -1;
		}
		pos++;
	}
	rest = sb_sv(in + pos, len - pos);
	for (size_t i = 0; i < SB_N_ELEMENTS(bs_section_texts); i++) {
		if (!sb_sv_eq_cstr_ci(rest, bs_section_texts[i].name))
			continue;
		section_r->text = bs_section_texts[i].text;
		if (section_r->text == IMAP_SECTION_MIME &&
		    section_r->part_count == 0) {
			*error_r = "MIME needs a part number";
			return -1;
		}
		return 0;
	}
	*error_r = "invalid section";
	return -1;
}

int
imap_section_range(const void *msg, size_t len, const char *spec,
                   size_t spec_len, struct imap_section_range *range_r,
                   const char **error_r)
{
	struct imap_fetch_body section;
	struct mime_part *root;
	int ret;

	if (imap_section_parse(spec, spec_len, &section, error_r) != 0)
		return -1;
	root = mime_parse(msg, len, NULL);
	ret = imap_section_find(root, len, &section, range_r, error_r);
	mime_part_free(&root);
	return ret;
}
