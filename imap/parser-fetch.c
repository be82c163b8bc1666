/*
 * FETCH's data items and STORE's flags item, read from a parsed command's
 * values (RFC 3501 sections 6.4.5, 6.4.6 and 9; RFC 7162 adds MODSEQ).
 *
 *   fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
 *               "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
 *               "BODY" ["STRUCTURE"] / "UID" / "MODSEQ" /
 *               "BODY" [".PEEK"] section ["<" number "." nz-number ">"]
 *   section   = "[" [section-spec] "]"
 *   section-spec = section-msgtext / (section-part ["." section-text])
 *   section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                     "TEXT"
 *   section-part = nz-number *("." nz-number)
 *   section-text = section-msgtext / "MIME"
 *
 * The generic grammar gives "BODY[HEADER.FIELDS (A B)]<0.9>" as three
 * values (see struct imap_value's attached); "BODY[1.TEXT]<0.9>" is one.
 */
#include "parser.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static int
fetch_fail(const char **error_r, const char *error)
{
	*error_r = error;
	return -1;
}

static bool
sv_eq(struct sb_sv a, const char *b)
{
	return sb_sv_eq_cstr_ci(a, b);
}

/* Reads a number of at most max; nz: no 0 and no leading zero. */
static int
take_number(struct sb_sv *cur, bool nz, uint64_t max, uint64_t *value_r)
{
	if (cur->len == 0 || (nz && cur->p[0] == '0'))
		return -1;
	if (sb_sv_take_u64(cur, max, value_r) != 0)
		return -1;
	return nz && *value_r == 0 ? -1 : 0;
}

/* The text after the part numbers: HEADER, TEXT, ... */
static int
section_text(struct sb_sv s, struct imap_fetch_body *body, bool has_list,
             const char **error_r)
{
	static const struct {
		const char *name;
		enum imap_section_text text;
	} texts[] = {
	        {"HEADER", IMAP_SECTION_HEADER},
	        {"HEADER.FIELDS", IMAP_SECTION_HEADER_FIELDS},
	        {"HEADER.FIELDS.NOT", IMAP_SECTION_HEADER_FIELDS_NOT},
	        {"TEXT", IMAP_SECTION_TEXT},
	        {"MIME", IMAP_SECTION_MIME},
	};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(texts); i++)
		if (sv_eq(s, texts[i].name))
			break;
	if (i == SB_N_ELEMENTS(texts))
		return fetch_fail(error_r, "Invalid section");
	body->text = texts[i].text;
	if (body->text == IMAP_SECTION_MIME && body->part_count == 0)
		return fetch_fail(error_r, "MIME needs a part number");
	if (has_list != (body->text == IMAP_SECTION_HEADER_FIELDS ||
	                 body->text == IMAP_SECTION_HEADER_FIELDS_NOT))
		return fetch_fail(error_r, "Invalid section");
	return 0;
}

/* section-spec without its brackets (and without the header-list). */
static int
section_spec(struct sb_sv s, struct imap_fetch_body *body, bool has_list,
             const char **error_r)
{
	uint64_t part;

	while (s.len > 0 && s.p[0] >= '0' && s.p[0] <= '9') {
		if (body->part_count == IMAP_SECTION_MAX_PARTS)
			return fetch_fail(error_r, "Too many section parts");
		if (take_number(&s, true, UINT32_MAX, &part) != 0)
			return fetch_fail(error_r, "Invalid section part");
		body->parts[body->part_count++] = (uint32_t)part;
		if (s.len == 0)
			break;
		if (!sb_sv_take_char(&s, '.') || s.len == 0)
			return fetch_fail(error_r, "Invalid section");
	}
	if (s.len == 0) {
		body->text = IMAP_SECTION_WHOLE;
		if (has_list)
			return fetch_fail(error_r, "Invalid section");
		return 0;
	}
	return section_text(s, body, has_list, error_r);
}

/* "" or "<" number "." nz-number ">" */
static int
section_partial(struct sb_sv s, struct imap_fetch_body *body,
                const char **error_r)
{
	if (s.len == 0)
		return 0;
	if (!sb_sv_take_char(&s, '<') ||
	    take_number(&s, false, UINT64_MAX, &body->origin) != 0 ||
	    !sb_sv_take_char(&s, '.') ||
	    take_number(&s, true, UINT64_MAX, &body->count) != 0 ||
	    !sb_sv_take_char(&s, '>') || s.len != 0)
		return fetch_fail(error_r, "Invalid partial");
	body->partial = true;
	return 0;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int
section_fields(const struct imap_value *list, struct imap_fetch_body *body,
               const char **error_r)
{
	if (list->type != IMAP_VALUE_LIST || list->count == 0)
		return fetch_fail(error_r, "Invalid header list");
	body->fields = sb_calloc(list->count, sizeof(*body->fields));
	for (size_t i = 0; i < list->count; i++) {
		if (imap_value_astring(&list->list[i], &body->fields[i],
		                       error_r) != 0)
			return -1;
		body->field_count++;
	}
	return 0;
}

static struct imap_fetch_body *
atts_add_body(struct imap_fetch_atts *atts)
{
	struct imap_fetch_body *body;

	atts->bodies = sb_reallocarray(atts->bodies, atts->body_count + 1,
	                               sizeof(*atts->bodies));
	body = &atts->bodies[atts->body_count++];
	memset(body, 0, sizeof(*body));
	return body;
}

/*
 * BODY[...] or BODY.PEEK[...] starting at v[0]: one atom, or the atom
 * that opens the section, the header list and the attached "]...".
 */
static int
fetch_body(const struct imap_value *v, size_t avail, struct sb_sv name,
           struct imap_fetch_atts *atts, size_t *used_r, const char **error_r)
{
	struct sb_sv rest = sb_sv(v->str + name.len + 1, v->len - name.len - 1);
	struct imap_fetch_body *body;
	ptrdiff_t close = sb_sv_find_char(rest, ']');
	struct sb_sv spec, after;
	bool has_list = close < 0, peek = sv_eq(name, "BODY.PEEK");

	if (!peek && !sv_eq(name, "BODY"))
		return fetch_fail(error_r, "Unknown fetch attribute");
	body = atts_add_body(atts);
	body->peek = peek;
	if (has_list) {
		if (avail < 3 || !v[2].attached)
			return fetch_fail(error_r, "Invalid section");
		spec = rest;
		after = sb_sv(v[2].str + 1, v[2].len - 1);
		*used_r = 3;
	} else {
		spec = sb_sv(rest.p, (size_t)close);
		after = sb_sv(rest.p + close + 1, rest.len - (size_t)close - 1);
		*used_r = 1;
	}
	if (section_spec(spec, body, has_list, error_r) != 0)
		return -1;
	if (has_list && section_fields(&v[1], body, error_r) != 0)
		return -1;
	return section_partial(after, body, error_r);
}

/* One fetch-att at v[0]; *used_r is how many values it took. */
static int
fetch_att(const struct imap_value *v, size_t avail,
          struct imap_fetch_atts *atts, size_t *used_r, const char **error_r)
{
	static const struct {
		const char *name;
		unsigned item;
	} items[] = {
	        {"ENVELOPE", IMAP_FETCH_ENVELOPE},
	        {"FLAGS", IMAP_FETCH_FLAGS},
	        {"INTERNALDATE", IMAP_FETCH_INTERNALDATE},
	        {"RFC822", IMAP_FETCH_RFC822},
	        {"RFC822.HEADER", IMAP_FETCH_RFC822_HEADER},
	        {"RFC822.SIZE", IMAP_FETCH_RFC822_SIZE},
	        {"RFC822.TEXT", IMAP_FETCH_RFC822_TEXT},
	        {"BODY", IMAP_FETCH_BODY},
	        {"BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE},
	        {"UID", IMAP_FETCH_UID},
	        {"MODSEQ", IMAP_FETCH_MODSEQ},
	};
	struct sb_sv text;
	ptrdiff_t open;

	if (v->type != IMAP_VALUE_ATOM || v->attached)
		return fetch_fail(error_r, "Invalid fetch attribute");
	text = sb_sv(v->str, v->len);
	open = sb_sv_find_char(text, '[');
	if (open >= 0)
		return fetch_body(v, avail, sb_sv(text.p, (size_t)open), atts,
		                  used_r, error_r);
	for (size_t i = 0; i < SB_N_ELEMENTS(items); i++) {
		if (sv_eq(text, items[i].name)) {
			atts->items |= items[i].item;
			*used_r = 1;
			return 0;
		}
	}
	return fetch_fail(error_r, "Unknown fetch attribute");
}

static int
fetch_macro(const struct imap_value *v, struct imap_fetch_atts *atts)
{
	static const unsigned fast = IMAP_FETCH_FLAGS |
	                             IMAP_FETCH_INTERNALDATE |
	                             IMAP_FETCH_RFC822_SIZE;

	if (imap_value_is_atom(v, "FAST"))
		atts->items = fast;
	else if (imap_value_is_atom(v, "ALL"))
		atts->items = fast | IMAP_FETCH_ENVELOPE;
	else if (imap_value_is_atom(v, "FULL"))
		atts->items = fast | IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY;
	else
		return -1;
	return 0;
}

int
imap_parse_fetch_atts(const struct imap_value *args, size_t count,
                      struct imap_fetch_atts *atts, size_t *used_r,
                      const char **error_r)
{
	size_t i = 0, used;

	memset(atts, 0, sizeof(*atts));
	*used_r = 0;
	if (count == 0)
		return fetch_fail(error_r, "Missing fetch attributes");
	if (args[0].type != IMAP_VALUE_LIST) {
		if (fetch_macro(&args[0], atts) == 0) {
			*used_r = 1;
			return 0;
		}
		if (fetch_att(args, count, atts, used_r, error_r) != 0)
			goto fail;
		return 0;
	}
	if (args[0].count == 0) {
		fetch_fail(error_r, "Empty fetch attribute list");
		goto fail;
	}
	while (i < args[0].count) {
		if (fetch_att(&args[0].list[i], args[0].count - i, atts, &used,
		              error_r) != 0)
			goto fail;
		i += used;
	}
	*used_r = 1;
	return 0;
fail:
	imap_fetch_atts_free(atts);
	*used_r = 0;
	return -1;
}

void
imap_fetch_atts_free(struct imap_fetch_atts *atts)
{
	for (size_t i = 0; i < atts->body_count; i++)
		free(atts->bodies[i].fields);
	free(atts->bodies);
	memset(atts, 0, sizeof(*atts));
}

int
imap_parse_store_flags(const struct imap_value *args, size_t count,
                       struct imap_store_flags *store, const char **error_r)
{
	struct sb_sv item, flag;

	memset(store, 0, sizeof(*store));
	if (count < 2 || imap_value_atom(&args[0], &item, error_r) != 0)
		return fetch_fail(error_r, "Expected a flags item and flags");
	store->op = IMAP_STORE_REPLACE;
	if (sb_sv_take_char(&item, '+'))
		store->op = IMAP_STORE_ADD;
	else if (sb_sv_take_char(&item, '-'))
		store->op = IMAP_STORE_REMOVE;
	if (sv_eq(item, "FLAGS.SILENT"))
		store->silent = true;
	else if (!sv_eq(item, "FLAGS"))
		return fetch_fail(error_r, "Unknown store item");
	if (args[1].type == IMAP_VALUE_LIST) {
		if (count != 2)
			return fetch_fail(error_r, "Unexpected values after "
			                           "the flag list");
		if (imap_value_flag_list(&args[1], error_r) != 0)
			return -1;
		store->flags = args[1].list;
		store->count = args[1].count;
		return 0;
	}
	for (size_t i = 1; i < count; i++)
		if (imap_value_flag(&args[i], &flag, error_r) != 0)
			return -1;
	store->flags = &args[1];
	store->count = count - 1;
	return 0;
}
