/*
 * Content-Type and Content-Disposition values: type tokens and parameters
 * (RFC 2045 5.1), with RFC 2231 continuations and encoded values.
 *
 * Parameters are read in two passes. The first collects raw entries (name,
 * RFC 2231 section, whether encoded, unquoted value); the second groups the
 * entries of one name, orders the sections by number and decodes them.
 *
 * A message's parameters (file names...) are its content, which may have
 * been decrypted: every copy of a value is wiped when it is given up.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sv.h"
#include "charset.h"
#include "mime-private.h"

/* One parameter as written, before RFC 2231 reassembly. */
struct mime_raw_param {
	char *name;   /* lowercased base name */
	long section; /* RFC 2231 section number, or -1 */
	bool encoded; /* the name ended in '*' */
	char *value;  /* unquoted */
	size_t value_len;
	bool used;
};

struct mime_raw_params {
	struct mime_raw_param *v;
	unsigned count, max;
	unsigned flags;
};

void
mime_limits_default(struct mime_limits *limits_r)
{
	limits_r->max_header_size = 256 * 1024;
	limits_r->max_total_header_size = 4 * 1024 * 1024;
	limits_r->max_boundary_len = 200;
	limits_r->max_depth = 20;
	limits_r->max_parts = 5000;
	limits_r->max_params = 64;
	limits_r->max_param_sections = 64;
}

void
mime_limits_fill(struct mime_limits *limits_r, const struct mime_limits *limits)
{
	struct mime_limits def;

	mime_limits_default(&def);
	if (limits == NULL) {
		*limits_r = def;
		return;
	}
	*limits_r = *limits;
#define MIME_FILL(field)          \
	if (limits_r->field == 0) \
	limits_r->field = def.field
	MIME_FILL(max_header_size);
	MIME_FILL(max_total_header_size);
	MIME_FILL(max_boundary_len);
	MIME_FILL(max_depth);
	MIME_FILL(max_parts);
	MIME_FILL(max_params);
	MIME_FILL(max_param_sections);
#undef MIME_FILL
}

bool
mime_is_token_char(char c)
{
	unsigned char u = (unsigned char)c;

	if (u <= ' ' || u == 0x7f)
		return false;
	return strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Comments nest; a counter tracks the depth, so nothing recurses. */
void
mime_skip_cfws(struct sb_sv *cur)
{
	size_t depth = 0;

	while (cur->len > 0) {
		char c = cur->p[0];

		if (depth > 0 && c == '\\' && cur->len >= 2) {
			sb_sv_advance(cur, 2);
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && !mime_is_wsp(c) && c != '\r' &&
		         c != '\n')
			return;
		sb_sv_advance(cur, 1);
	}
}

static bool SB_WUR
mime_take_token(struct sb_sv *cur, struct sb_sv *token_r)
{
	return sb_sv_take_while(cur, mime_is_token_char, SIZE_MAX, token_r) ==
	       0;
}

static char *
mime_lower_dup(struct sb_sv v)
{
	char *s = sb_memdupz(v.p, v.len);

	for (size_t i = 0; i < v.len; i++)
		s[i] = mime_ascii_lower(s[i]);
	return s;
}

/* Skips to the next ';' outside quotes (or the end). */
static void
mime_skip_to_semicolon(struct sb_sv *cur)
{
	bool quoted = false;

	while (cur->len > 0 && (quoted || cur->p[0] != ';')) {
		if (quoted && cur->p[0] == '\\' && cur->len >= 2)
			sb_sv_advance(cur, 1);
		else if (cur->p[0] == '"')
			quoted = !quoted;
		sb_sv_advance(cur, 1);
	}
}

/*
 * A quoted string without its quotes and quoted-pairs; an unterminated one
 * runs to the end of the value (and is flagged).
 */
static char *
mime_take_quoted(struct sb_sv *cur, size_t *len_r, unsigned *flags)
{
	size_t n = 0, end = 1;
	char *out;

	/* Sized first, so that each byte of the field is copied once. */
	while (end < cur->len && cur->p[end] != '"')
		end += cur->p[end] == '\\' && end + 1 < cur->len ? 2 : 1;
	out = sb_malloc(end);
	sb_sv_advance(cur, 1);
	while (cur->len > 0 && cur->p[0] != '"') {
		if (cur->p[0] == '\\' && cur->len >= 2)
			sb_sv_advance(cur, 1);
		out[n++] = cur->p[0];
		sb_sv_advance(cur, 1);
	}
	if (!sb_sv_take_char(cur, '"'))
		*flags |= MIME_FIELD_BAD_PARAMS;
	out[n] = '\0';
	*len_r = n;
	return out;
}

/* True when a token and '=' come next: a parameter. */
static bool
mime_next_is_param(struct sb_sv rest)
{
	struct sb_sv name;

	if (!mime_take_token(&rest, &name))
		return false;
	mime_skip_cfws(&rest);
	return rest.len > 0 && rest.p[0] == '=';
}

/*
 * An unquoted value: a token. Real mail also has spaces in unquoted
 * values (filename=my file.pdf); then the value runs to the next ';',
 * trailing whitespace dropped, and the parameter is flagged. When a
 * token and '=' follow, that is rather the next parameter with its ';'
 * missing (charset=utf-8 format=flowed): the token alone is taken.
 */
static char *
mime_take_unquoted(struct sb_sv *cur, size_t *len_r, unsigned *flags)
{
	struct sb_sv start = *cur, tok = sb_sv(cur->p, 0), rest;

	if (!mime_take_token(cur, &tok))
		tok = sb_sv(cur->p, 0); /* no token: an empty value so far */
	rest = *cur;
	mime_skip_cfws(&rest);
	if (rest.len == 0 || rest.p[0] == ';' || mime_next_is_param(rest)) {
		*cur = rest;
		*len_r = tok.len;
		return sb_memdupz(tok.p, tok.len);
	}
	*flags |= MIME_FIELD_BAD_PARAMS;
	mime_skip_to_semicolon(cur);
	tok = sb_sv(start.p, (size_t)(cur->p - start.p));
	while (tok.len > 0 && mime_is_wsp(tok.p[tok.len - 1]))
		tok.len--;
	*len_r = tok.len;
	return sb_memdupz(tok.p, tok.len);
}

/*
 * Splits "name*3*" into the base name, section 3 and encoded. Returns
 * false for a section past the limit: that entry is dropped.
 */
static bool SB_WUR
mime_raw_param_name(struct mime_raw_param *rp, struct sb_sv name,
                    const struct mime_limits *limits, unsigned *flags)
{
	ptrdiff_t star = sb_sv_find_char(name, '*');
	struct sb_sv rest;
	uint64_t section;

	rp->section = -1;
	rp->encoded = false;
	if (star > 0) {
		rest = sb_sv(name.p + star + 1, name.len - (size_t)star - 1);
		if (rest.len > 0 && rest.p[rest.len - 1] == '*') {
			rp->encoded = true;
			rest.len--;
		}
		if (rest.len == 0) {
			/* "name*": one encoded value. */
			rp->encoded = true;
			name.len = (size_t)star;
		} else if (sb_sv_to_u64(rest, limits->max_param_sections - 1,
		                        &section) == 0) {
			rp->section = (long)section;
			name.len = (size_t)star;
		} else if (sb_sv_take_u64(&rest, UINT64_MAX, &section) == 0 &&
		           rest.len == 0) {
			*flags |= MIME_FIELD_BAD_PARAMS;
			return false;
		} else {
			/* Not RFC 2231: a '*' inside a plain name. */
			rp->encoded = false;
		}
	}
	rp->name = mime_lower_dup(name);
	return true;
}

/* Reads one "name=value" into a raw entry; false when malformed. */
static bool SB_WUR
mime_take_param(struct sb_sv *cur, struct mime_raw_params *raw,
                const struct mime_limits *limits)
{
	struct mime_raw_param rp;
	struct sb_sv name;

	if (!mime_take_token(cur, &name))
		return false;
	mime_skip_cfws(cur);
	if (!sb_sv_take_char(cur, '='))
		return false;
	mime_skip_cfws(cur);
	memset(&rp, 0, sizeof(rp));
	if (cur->len > 0 && cur->p[0] == '"')
		rp.value = mime_take_quoted(cur, &rp.value_len, &raw->flags);
	else
		rp.value = mime_take_unquoted(cur, &rp.value_len, &raw->flags);
	if (raw->count == raw->max ||
	    !mime_raw_param_name(&rp, name, limits, &raw->flags)) {
		raw->flags |= MIME_FIELD_BAD_PARAMS;
		sb_secret_free(rp.value, rp.value_len + 1);
		return true;
	}
	raw->v[raw->count++] = rp;
	return true;
}

/* The parameter list after the type: "; name=value" repeated. */
static void
mime_collect_params(struct sb_sv *cur, struct mime_raw_params *raw,
                    const struct mime_limits *limits)
{
	for (;;) {
		mime_skip_cfws(cur);
		if (cur->len == 0)
			return;
		if (cur->p[0] == ';') {
			sb_sv_advance(cur, 1);
			continue;
		}
		if (!mime_take_param(cur, raw, limits)) {
			raw->flags |= MIME_FIELD_BAD_PARAMS;
			mime_skip_to_semicolon(cur);
			continue;
		}
		mime_skip_cfws(cur);
		if (cur->len > 0 && cur->p[0] != ';') {
			/* A missing ';' (the next round reads on) or junk
			   after a quoted value (skipped next round). */
			raw->flags |= MIME_FIELD_BAD_PARAMS;
		}
	}
}

/* Appends an RFC 2231 %XX-encoded value, decoded; bad escapes as is. */
static int SB_WUR
mime_add_pct_decoded(struct sb_buf *out, const char *s, size_t len,
                     unsigned *flags)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%' && i + 2 < len && sb_hex_digit(s[i + 1]) >= 0 &&
		    sb_hex_digit(s[i + 2]) >= 0) {
			c = (char)(sb_hex_digit(s[i + 1]) * 16 +
			           sb_hex_digit(s[i + 2]));
			i += 2;
		} else if (c == '%') {
			*flags |= MIME_FIELD_BAD_PARAMS;
		}
		if (sb_buf_add_char(out, c) != 0)
			return -1;
	}
	return 0;
}

/*
 * Splits the "charset'language'" prefix off an RFC 2231 encoded value.
 * Without the two quotes the whole value is taken as encoded text of no
 * known charset.
 */
static struct sb_sv
mime_split_2231(const struct mime_raw_param *rp, char **charset_r,
                char **language_r, unsigned *flags)
{
	struct sb_sv v = sb_sv(rp->value, rp->value_len), cs, lang;

	*charset_r = *language_r = NULL;
	if (sb_sv_take_until(&v, '\'', SIZE_MAX, &cs) != 0 ||
	    sb_sv_take_until(&v, '\'', SIZE_MAX, &lang) != 0) {
		*flags |= MIME_FIELD_BAD_PARAMS;
		return sb_sv(rp->value, rp->value_len);
	}
	if (cs.len > 0)
		*charset_r = sb_memdupz(cs.p, cs.len);
	if (lang.len > 0)
		*language_r = sb_memdupz(lang.p, lang.len);
	return v;
}

/*
 * Replaces bytes with their conversion from charset to UTF-8. Returns
 * what sb_charset_to_utf8 returns; on -1 bytes are left as they were.
 */
static int SB_WUR
mime_convert(struct sb_buf *bytes, const char *charset,
             const struct mime_limits *limits)
{
	struct sb_buf utf8;
	int ret;

	/* Each input byte gives at most 3 bytes (U+FFFD) of UTF-8. */
	sb_buf_init_secret(&utf8, limits->max_header_size * 4 + 16);
	ret = sb_charset_to_utf8(charset, sb_buf_str(bytes), sb_buf_len(bytes),
	                         &utf8);
	if (ret >= 0) {
		sb_buf_free(bytes);
		*bytes = utf8;
	} else {
		sb_buf_free(&utf8);
	}
	return ret;
}

/*
 * Converts the reassembled bytes of an RFC 2231 value to UTF-8 and stores
 * them in param. Whatever the charset said (none, an unknown one, a wrong
 * one), the result is valid UTF-8, as mime.h promises: what is not
 * becomes U+FFFD and is flagged.
 */
static void
mime_param_set_converted(struct mime_param *param, struct sb_buf *bytes,
                         const char *charset, const struct mime_limits *limits,
                         unsigned *flags)
{
	if (charset != NULL && mime_convert(bytes, charset, limits) != 0)
		*flags |= MIME_FIELD_BAD_CHARSET;
	if (!sb_utf8_valid(sb_buf_str(bytes), sb_buf_len(bytes))) {
		*flags |= MIME_FIELD_BAD_CHARSET;
		if (mime_convert(bytes, "utf-8", limits) < 0) {
			/* Cannot happen: UTF-8 is known, the size bounded. */
			sb_buf_free(bytes);
			*flags |= MIME_FIELD_BAD_PARAMS;
		}
	}
	param->value_len = sb_buf_len(bytes);
	param->value = sb_buf_take(bytes, NULL);
	if (param->value == NULL)
		param->value = sb_strdup("");
}

/*
 * Puts the sections of one parameter back together in number order
 * (they may come in any order; a missing one is flagged and skipped) and
 * decodes the encoded ones.
 */
static void
mime_param_from_sections(struct mime_param *param, struct mime_raw_param **sec,
                         unsigned nsec, const struct mime_limits *limits,
                         unsigned *flags)
{
	char *charset = NULL;
	struct sb_buf bytes;
	unsigned i;

	sb_buf_init_secret(&bytes, limits->max_header_size + 1);
	for (i = 0; i < nsec; i++) {
		struct mime_raw_param *rp = sec[i];
		struct sb_sv v;
		int ret;

		if (rp == NULL) {
			*flags |= MIME_FIELD_BAD_PARAMS;
			continue;
		}
		v = sb_sv(rp->value, rp->value_len);
		if (i == 0 && rp->encoded)
			v = mime_split_2231(rp, &charset, &param->language,
			                    flags);
		if (rp->encoded)
			ret = mime_add_pct_decoded(&bytes, v.p, v.len, flags);
		else
			ret = sb_buf_add(&bytes, v.p, v.len);
		if (ret != 0) {
			/* Cannot happen: the value came from the header. */
			*flags |= MIME_FIELD_BAD_PARAMS;
			sb_buf_init_secret(&bytes, limits->max_header_size + 1);
		}
	}
	param->extended = true;
	mime_param_set_converted(param, &bytes, charset, limits, flags);
	free(charset);
}

/*
 * Builds the parameter whose first raw entry is raw->v[first] from every
 * entry of that name, marking them used. The RFC 2231 form wins over a
 * plain one; of two plain ones, the first.
 */
static void
mime_param_build(struct mime_param *param, struct mime_raw_params *raw,
                 unsigned first, const struct mime_limits *limits)
{
	unsigned nsec = 0, i, plain = UINT32_MAX, ext = UINT32_MAX;
	struct mime_raw_param **sec;
	const char *name = raw->v[first].name;

	sec = sb_calloc(limits->max_param_sections, sizeof(sec[0]));
	for (i = first; i < raw->count; i++) {
		struct mime_raw_param *rp = &raw->v[i];

		if (rp->used || strcmp(rp->name, name) != 0)
			continue;
		rp->used = true;
		if (rp->section >= 0 && sec[rp->section] == NULL) {
			sec[rp->section] = rp;
			if ((unsigned)rp->section + 1 > nsec)
				nsec = (unsigned)rp->section + 1;
		} else if (rp->section < 0 && rp->encoded &&
		           ext == UINT32_MAX) {
			ext = i;
		} else if (rp->section < 0 && !rp->encoded &&
		           plain == UINT32_MAX) {
			plain = i;
		} else {
			raw->flags |= MIME_FIELD_BAD_PARAMS;
		}
	}
	param->name = sb_strdup(name);
	/* Both "name*=" and "name*0*=": the sections win, flagged. */
	if (ext != UINT32_MAX && nsec > 0)
		raw->flags |= MIME_FIELD_BAD_PARAMS;
	if (ext != UINT32_MAX && nsec == 0) {
		sec[0] = &raw->v[ext];
		nsec = 1;
	}
	if (nsec > 0) {
		mime_param_from_sections(param, sec, nsec, limits, &raw->flags);
	} else {
		param->value = sb_memdupz(raw->v[plain].value,
		                          raw->v[plain].value_len);
		param->value_len = raw->v[plain].value_len;
	}
	free(sec);
}

/* Second pass: one mime_param per distinct name, in order of appearance. */
static void
mime_params_build(struct mime_params *params, struct mime_raw_params *raw,
                  const struct mime_limits *limits)
{
	unsigned i, alloc = 0;

	params->v = NULL;
	params->count = 0;
	for (i = 0; i < raw->count; i++) {
		if (raw->v[i].used)
			continue;
		if (params->count == limits->max_params) {
			raw->flags |= MIME_FIELD_BAD_PARAMS;
			break;
		}
		if (params->count == alloc) {
			alloc = alloc == 0 ? 4 : alloc * 2;
			params->v = sb_reallocarray(params->v, alloc,
			                            sizeof(params->v[0]));
		}
		memset(&params->v[params->count], 0, sizeof(params->v[0]));
		mime_param_build(&params->v[params->count++], raw, i, limits);
	}
	for (i = 0; i < raw->count; i++) {
		free(raw->v[i].name);
		sb_secret_free(raw->v[i].value, raw->v[i].value_len + 1);
	}
	free(raw->v);
}

/* Collects and builds the parameters that follow the type in cur. */
static void
mime_parse_params(struct sb_sv *cur, const struct mime_limits *limits,
                  struct mime_params *params_r, unsigned *flags_r)
{
	struct mime_raw_params raw;

	memset(&raw, 0, sizeof(raw));
	/* Sections count against the limit too, up to one full set. */
	raw.max = limits->max_params + limits->max_param_sections;
	raw.v = sb_calloc(raw.max, sizeof(raw.v[0]));
	mime_collect_params(cur, &raw, limits);
	mime_params_build(params_r, &raw, limits);
	*flags_r |= raw.flags;
}

int
mime_content_type_parse(struct sb_sv value, const struct mime_limits *limits,
                        char **type_r, char **subtype_r,
                        struct mime_params *params_r, unsigned *flags_r,
                        const char **error_r)
{
	struct mime_limits lim;
	struct sb_sv cur = value, type, subtype;

	mime_limits_fill(&lim, limits);
	mime_skip_cfws(&cur);
	if (!mime_take_token(&cur, &type)) {
		*error_r = "Content-Type: missing type";
		return -1;
	}
	mime_skip_cfws(&cur);
	if (!sb_sv_take_char(&cur, '/')) {
		*error_r = "Content-Type: missing '/'";
		return -1;
	}
	mime_skip_cfws(&cur);
	if (!mime_take_token(&cur, &subtype)) {
		*error_r = "Content-Type: missing subtype";
		return -1;
	}
	*type_r = mime_lower_dup(type);
	*subtype_r = mime_lower_dup(subtype);
	mime_parse_params(&cur, &lim, params_r, flags_r);
	return 0;
}

int
mime_disposition_parse(struct sb_sv value, const struct mime_limits *limits,
                       char **disposition_r, struct mime_params *params_r,
                       unsigned *flags_r, const char **error_r)
{
	struct mime_limits lim;
	struct sb_sv cur = value, type;

	mime_limits_fill(&lim, limits);
	mime_skip_cfws(&cur);
	if (!mime_take_token(&cur, &type)) {
		*error_r = "Content-Disposition: missing type";
		return -1;
	}
	*disposition_r = mime_lower_dup(type);
	mime_parse_params(&cur, &lim, params_r, flags_r);
	return 0;
}

const struct mime_param *
mime_params_find(const struct mime_params *params, const char *name)
{
	for (unsigned i = 0; i < params->count; i++) {
		if (sb_sv_eq_cstr_ci(sb_sv_cstr(params->v[i].name), name))
			return &params->v[i];
	}
	return NULL;
}

void
mime_params_free(struct mime_params *params)
{
	for (unsigned i = 0; i < params->count; i++) {
		free(params->v[i].name);
		sb_secret_free(params->v[i].value, params->v[i].value_len + 1);
		sb_secret_free_str(params->v[i].language);
	}
	free(params->v);
	params->v = NULL;
	params->count = 0;
}
