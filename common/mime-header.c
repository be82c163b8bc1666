/*
 * Header blocks: the field tokenizer, unfolding, and the Content-* fields
 * of a part.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mime-private.h"

void
mime_header_iter_init(struct mime_header_iter *it, const void *data, size_t len)
{
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = len;
}

/* Length of the line at pos, its line end included. */
static size_t
mime_line_len(const struct mime_header_iter *it, size_t pos)
{
	const char *lf = memchr(it->data + pos, '\n', it->len - pos);

	return lf == NULL ? it->len - pos : (size_t)(lf - (it->data + pos)) + 1;
}

/* True when the line at pos holds nothing but its line end. */
static bool
mime_line_is_empty(const struct mime_header_iter *it, size_t pos)
{
	const char *p = it->data + pos;
	size_t left = it->len - pos;

	return (left >= 1 && p[0] == '\n') ||
	       (left >= 2 && p[0] == '\r' && p[1] == '\n');
}

/*
 * A field name is printable ASCII without colon (RFC 5322 ftext), once the
 * obsolete whitespace before the colon is dropped. Returns its length, or
 * 0 when the line at pos does not start a field.
 */
static size_t
mime_field_name_len(const char *line, size_t len, size_t *colon_r)
{
	size_t i, n;

	for (i = 0; i < len && line[i] != ':' && line[i] != '\n'; i++)
		;
	if (i == len || line[i] != ':')
		return 0;
	*colon_r = i;
	n = i;
	while (n > 0 && mime_is_wsp(line[n - 1]))
		n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c <= ' ' || c >= 0x7f)
			return 0;
	}
	return n;
}

int
mime_header_iter_next(struct mime_header_iter *it,
                      struct mime_header_field *field_r)
{
	while (!it->done && it->pos < it->len) {
		size_t start = it->pos, line_len, name_len, colon = 0, end;

		if (mime_line_is_empty(it, start))
			break;
		line_len = mime_line_len(it, start);
		name_len =
		        mime_field_name_len(it->data + start, line_len, &colon);
		/* The field goes on while lines start with a space or tab. */
		end = start + line_len;
		while (end < it->len && mime_is_wsp(it->data[end]))
			end += mime_line_len(it, end);
		it->pos = end;
		if (name_len == 0) {
			it->bad_lines++;
			continue;
		}
		field_r->name = sb_sv(it->data + start, name_len);
		field_r->offset = start;
		field_r->size = end - start;
		/* The value stops before the final line end. */
		if (end > start && it->data[end - 1] == '\n') {
			end--;
			if (end > start + colon && it->data[end - 1] == '\r')
				end--;
		}
		field_r->value = sb_sv(it->data + start + colon + 1,
		                       end - (start + colon + 1));
		return 1;
	}
	it->done = true;
	return 0;
}

int
mime_unfold(struct sb_sv raw, struct sb_buf *out)
{
	size_t i = 0, run = 0;

	/* Copies runs of bytes between the line ends that precede WSP. */
	while (i < raw.len) {
		size_t eol = 0;

		if (raw.p[i] == '\n')
			eol = 1;
		else if (raw.p[i] == '\r' && i + 1 < raw.len &&
		         raw.p[i + 1] == '\n')
			eol = 2;
		if (eol > 0 && i + eol < raw.len &&
		    mime_is_wsp(raw.p[i + eol])) {
			if (sb_buf_add(out, raw.p + run, i - run) != 0)
				return -1;
			i += eol;
			run = i;
			continue;
		}
		i++;
	}
	return sb_buf_add(out, raw.p + run, i - run);
}

/* The unfolded value without surrounding whitespace, malloc'd. */
static char *
mime_field_value_dup(struct sb_sv raw, size_t max)
{
	struct sb_buf buf;
	struct sb_sv v;
	char *s;

	sb_buf_init_secret(&buf, max);
	if (mime_unfold(raw, &buf) != 0)
		return sb_strdup("");
	v = sb_sv_trim(sb_sv(sb_buf_str(&buf), sb_buf_len(&buf)));
	s = sb_memdupz(v.p, v.len);
	sb_buf_free(&buf);
	return s;
}

/* The fields are the message's text, which may have been decrypted. */
void
mime_part_free_fields(struct mime_part *part)
{
	sb_secret_free_str(part->type);
	sb_secret_free_str(part->subtype);
	mime_params_free(&part->params);
	sb_secret_free_str(part->encoding);
	sb_secret_free_str(part->disposition);
	mime_params_free(&part->disposition_params);
	sb_secret_free_str(part->content_id);
	sb_secret_free_str(part->description);
	sb_secret_free_str(part->language);
	sb_secret_free_str(part->location);
	sb_secret_free_str(part->md5);
	part->type = part->subtype = part->encoding = part->disposition = NULL;
	part->content_id = part->description = part->language = NULL;
	part->location = part->md5 = NULL;
}

void
mime_part_set_default_type(struct mime_part *part, bool in_digest)
{
	if (part->type != NULL)
		return;
	mime_params_free(&part->params);
	if (in_digest) {
		part->type = sb_strdup("message");
		part->subtype = sb_strdup("rfc822");
		return;
	}
	part->type = sb_strdup("text");
	part->subtype = sb_strdup("plain");
	part->params.v = sb_calloc(1, sizeof(part->params.v[0]));
	part->params.v[0].name = sb_strdup("charset");
	part->params.v[0].value = sb_strdup("us-ascii");
	part->params.v[0].value_len = strlen("us-ascii");
	part->params.count = 1;
}

/*
 * Content-Transfer-Encoding (RFC 2045 6.1), from the raw, still folded
 * value: one token, lowercased, with the folding and comments around it
 * skipped. When there is no token, "7bit"; both that and anything but
 * comments after the token set MIME_PART_FLAG_BAD_ENCODING.
 */
static char *
mime_encoding_dup(struct sb_sv value, unsigned *flags)
{
	struct sb_sv cur = value, token;
	char *s;

	mime_skip_cfws(&cur);
	token = sb_sv(cur.p, 0);
	while (token.len < cur.len && mime_is_token_char(cur.p[token.len]))
		token.len++;
	sb_sv_advance(&cur, token.len);
	mime_skip_cfws(&cur);
	if (token.len == 0 || cur.len > 0)
		*flags |= MIME_PART_FLAG_BAD_ENCODING;
	if (token.len == 0)
		return sb_strdup("7bit");
	s = sb_memdupz(token.p, token.len);
	for (size_t i = 0; i < token.len; i++)
		s[i] = mime_ascii_lower(s[i]);
	return s;
}

/* Keeps the first of a repeated field: returns false when already set. */
static bool
mime_take_raw(char **field, struct sb_sv value, size_t max)
{
	if (*field != NULL)
		return false;
	*field = mime_field_value_dup(value, max);
	return true;
}

/* Content-Type: the first one counts. */
static void
mime_part_set_content_type(struct mime_part *part, struct sb_sv value,
                           const struct mime_limits *limits)
{
	const char *error;
	unsigned flags = 0;

	if (part->type != NULL ||
	    (part->flags & MIME_PART_FLAG_BAD_CONTENT_TYPE))
		return;
	if (mime_content_type_parse(value, limits, &part->type, &part->subtype,
	                            &part->params, &flags, &error) != 0)
		part->flags |= MIME_PART_FLAG_BAD_CONTENT_TYPE;
	part->flags |= flags;
}

static void
mime_part_set_disposition(struct mime_part *part, struct sb_sv value,
                          const struct mime_limits *limits)
{
	const char *error;
	unsigned flags = 0;

	if (part->disposition != NULL)
		return;
	if (mime_disposition_parse(value, limits, &part->disposition,
	                           &part->disposition_params, &flags,
	                           &error) != 0)
		flags |= MIME_FIELD_BAD_PARAMS;
	part->flags |= flags;
}

/* Unfolds a structured field's value for the parameter parser. */
static void
mime_part_apply_field(struct mime_part *part, const struct mime_header_field *f,
                      const struct mime_limits *limits)
{
	size_t max = limits->max_header_size;
	struct sb_buf buf;
	struct sb_sv v;

	if (!sb_sv_starts_with_ci(f->name, "content-"))
		return;
	v = sb_sv(f->name.p + 8, f->name.len - 8);
	if (sb_sv_eq_cstr_ci(v, "type") || sb_sv_eq_cstr_ci(v, "disposition")) {
		sb_buf_init_secret(&buf, max);
		if (mime_unfold(f->value, &buf) != 0)
			return;
		if (sb_sv_eq_cstr_ci(v, "type"))
			mime_part_set_content_type(
			        part, sb_sv(sb_buf_str(&buf), buf.len), limits);
		else
			mime_part_set_disposition(
			        part, sb_sv(sb_buf_str(&buf), buf.len), limits);
		sb_buf_free(&buf);
	} else if (sb_sv_eq_cstr_ci(v, "transfer-encoding")) {
		if (part->encoding == NULL)
			part->encoding =
			        mime_encoding_dup(f->value, &part->flags);
	} else if (sb_sv_eq_cstr_ci(v, "id")) {
		(void)mime_take_raw(&part->content_id, f->value, max);
	} else if (sb_sv_eq_cstr_ci(v, "description")) {
		(void)mime_take_raw(&part->description, f->value, max);
	} else if (sb_sv_eq_cstr_ci(v, "language")) {
		(void)mime_take_raw(&part->language, f->value, max);
	} else if (sb_sv_eq_cstr_ci(v, "location")) {
		(void)mime_take_raw(&part->location, f->value, max);
	} else if (sb_sv_eq_cstr_ci(v, "md5")) {
		(void)mime_take_raw(&part->md5, f->value, max);
	}
}

/* Flags 8-bit bytes and NULs anywhere in the buffered header. */
static unsigned
mime_header_byte_flags(const char *data, size_t len)
{
	unsigned flags = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		if (c >= 0x80)
			flags |= MIME_PART_FLAG_HEADER_8BIT;
		else if (c == 0)
			flags |= MIME_PART_FLAG_HEADER_NUL;
	}
	return flags;
}

void
mime_part_parse_header(struct mime_part *part, const char *data, size_t len,
                       const struct mime_limits *limits, bool in_digest)
{
	struct mime_header_iter it;
	struct mime_header_field f;

	mime_header_iter_init(&it, data, len);
	while (mime_header_iter_next(&it, &f) > 0)
		mime_part_apply_field(part, &f, limits);
	if (it.bad_lines > 0)
		part->flags |= MIME_PART_FLAG_BAD_HEADER_LINE;
	part->flags |= mime_header_byte_flags(data, len);
	if (part->type == NULL &&
	    !(part->flags & MIME_PART_FLAG_BAD_CONTENT_TYPE))
		part->flags |= MIME_PART_FLAG_DEFAULT_TYPE;
	/* An invalid Content-Type means text/plain, even in a digest. */
	mime_part_set_default_type(
	        part,
	        in_digest && !(part->flags & MIME_PART_FLAG_BAD_CONTENT_TYPE));
	if (part->encoding == NULL)
		part->encoding = sb_strdup("7bit");
}
