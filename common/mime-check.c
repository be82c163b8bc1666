/*
 * Checks on part trees, for tests and fuzzing: the invariants of one tree
 * against its message, and the equality of two trees.
 */
#include <string.h>

#include "mime-private.h"

static uint64_t
mime_range_end_offset(const struct mime_range *r)
{
	return r->offset + r->size;
}

/* The range lies inside the message and its line counts are right. */
static int SB_WUR
mime_check_range(const struct mime_range *r, const unsigned char *data,
                 size_t size, const char **error_r)
{
	uint64_t lines = 0, bare_lf = 0;

	if (r->offset > size || r->size > size - r->offset) {
		*error_r = "range outside the message";
		return -1;
	}
	for (uint64_t i = r->offset; i < r->offset + r->size; i++) {
		if (data[i] != '\n')
			continue;
		lines++;
		if (i == 0 || data[i - 1] != '\r')
			bare_lf++;
	}
	if (lines != r->lines || bare_lf != r->bare_lf) {
		*error_r = "line counts do not match the bytes";
		return -1;
	}
	return 0;
}

/*
 * The bytes between two children (or before the first) end with a
 * delimiter line; before it comes the preamble (first child) or the line
 * end the delimiter took from the previous child.
 */
static bool
mime_gap_is_delimiter(const unsigned char *s, size_t len, bool first)
{
	size_t start;

	if (len < 3 || s[len - 1] != '\n')
		return false;
	start = len - 1;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	if (len - start < 3 || s[start] != '-' || s[start + 1] != '-')
		return false;
	if (first || start == 0)
		return true;
	return (start == 1 && s[0] == '\n') ||
	       (start == 2 && s[0] == '\r' && s[1] == '\n');
}

/* After the last child: nothing, or the close delimiter and epilogue. */
static bool
mime_epilogue_ok(const unsigned char *s, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return true;
	if (len >= 2 && s[0] == '\r' && s[1] == '\n')
		i = 2;
	else if (s[0] == '\n')
		i = 1;
	return len - i >= 2 && s[i] == '-' && s[i + 1] == '-';
}

static int SB_WUR
mime_check_multipart(const struct mime_part *part, const unsigned char *data,
                     const char **error_r)
{
	uint64_t pos = part->body.offset,
	         end = mime_range_end_offset(&part->body);
	const struct mime_part *c;

	for (c = part->children; c != NULL; c = c->next) {
		if (c->header.offset < pos) {
			*error_r = "children overlap or are out of order";
			return -1;
		}
		if (!mime_gap_is_delimiter(data + pos, c->header.offset - pos,
		                           c == part->children)) {
			*error_r = "no delimiter line before a child";
			return -1;
		}
		pos = mime_range_end_offset(&c->body);
		if (pos > end) {
			*error_r = "child ends after its parent";
			return -1;
		}
	}
	if (part->children != NULL &&
	    !mime_epilogue_ok(data + pos, end - pos)) {
		*error_r = "bytes after the last child are not a delimiter";
		return -1;
	}
	return 0;
}

/* A message part's body is exactly its one child. */
static int SB_WUR
mime_check_message(const struct mime_part *part, const char **error_r)
{
	const struct mime_part *c = part->children;

	if (strcmp(part->type, "message") != 0 || c->next != NULL) {
		*error_r = "a non-multipart part has several children";
		return -1;
	}
	if (c->header.offset != part->body.offset ||
	    mime_range_end_offset(&c->body) !=
	            mime_range_end_offset(&part->body)) {
		*error_r = "message child does not fill its parent's body";
		return -1;
	}
	return 0;
}

/* Links, depth, child count, and header followed by body. */
static int SB_WUR
mime_check_links(const struct mime_part *part, const char **error_r)
{
	const struct mime_part *c;
	unsigned n = 0;

	if (part->type == NULL || part->subtype == NULL ||
	    part->encoding == NULL) {
		*error_r = "type or encoding missing";
		return -1;
	}
	if (mime_range_end_offset(&part->header) != part->body.offset) {
		*error_r = "body does not follow its header";
		return -1;
	}
	for (c = part->children; c != NULL; c = c->next) {
		if (c->parent != part || c->depth != part->depth + 1) {
			*error_r = "bad parent link or depth";
			return -1;
		}
		n++;
	}
	if (n != part->child_count) {
		*error_r = "child_count is wrong";
		return -1;
	}
	return 0;
}

int
mime_part_check(const struct mime_part *root, const void *data, size_t size,
                const char **error_r)
{
	const unsigned char *s = data;
	struct mime_part *part;

	if (root->parent != NULL || root->depth != 0 ||
	    root->header.offset != 0 ||
	    mime_range_end_offset(&root->body) != size) {
		*error_r = "the root does not cover the message";
		return -1;
	}
	for (part = (struct mime_part *)root; part != NULL;
	     part = mime_part_next(part, root)) {
		if (mime_check_links(part, error_r) != 0 ||
		    mime_check_range(&part->header, s, size, error_r) != 0 ||
		    mime_check_range(&part->body, s, size, error_r) != 0)
			return -1;
		if (part->children == NULL)
			continue;
		if (mime_part_is_multipart(part)) {
			if (mime_check_multipart(part, s, error_r) != 0)
				return -1;
		} else if (mime_check_message(part, error_r) != 0) {
			return -1;
		}
	}
	return 0;
}

static bool
mime_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
mime_params_eq(const struct mime_params *a, const struct mime_params *b)
{
	if (a->count != b->count)
		return false;
	for (unsigned i = 0; i < a->count; i++) {
		const struct mime_param *x = &a->v[i], *y = &b->v[i];

		if (!mime_str_eq(x->name, y->name) ||
		    x->value_len != y->value_len ||
		    memcmp(x->value, y->value, x->value_len) != 0 ||
		    !mime_str_eq(x->language, y->language) ||
		    x->extended != y->extended)
			return false;
	}
	return true;
}

static bool
mime_range_eq(const struct mime_range *a, const struct mime_range *b)
{
	return a->offset == b->offset && a->size == b->size &&
	       a->lines == b->lines && a->bare_lf == b->bare_lf;
}

/* One part's own fields, not its children. */
static int
mime_part_compare_one(const struct mime_part *a, const struct mime_part *b,
                      const char **error_r)
{
	if (a->depth != b->depth || a->child_count != b->child_count)
		*error_r = "tree shapes differ";
	else if (!mime_range_eq(&a->header, &b->header))
		*error_r = "header ranges differ";
	else if (!mime_range_eq(&a->body, &b->body))
		*error_r = "body ranges differ";
	else if (a->flags != b->flags)
		*error_r = "flags differ";
	else if (!mime_str_eq(a->type, b->type) ||
	         !mime_str_eq(a->subtype, b->subtype) ||
	         !mime_params_eq(&a->params, &b->params))
		*error_r = "content types differ";
	else if (!mime_str_eq(a->disposition, b->disposition) ||
	         !mime_params_eq(&a->disposition_params,
	                         &b->disposition_params))
		*error_r = "dispositions differ";
	else if (!mime_str_eq(a->encoding, b->encoding) ||
	         !mime_str_eq(a->content_id, b->content_id) ||
	         !mime_str_eq(a->description, b->description) ||
	         !mime_str_eq(a->language, b->language) ||
	         !mime_str_eq(a->location, b->location) ||
	         !mime_str_eq(a->md5, b->md5))
		*error_r = "content fields differ";
	else
		return 0;
	return -1;
}

int
mime_part_compare(const struct mime_part *a, const struct mime_part *b,
                  const char **error_r)
{
	struct mime_part *x = (struct mime_part *)a;
	struct mime_part *y = (struct mime_part *)b;

	/* Both in depth-first order: same depths and child counts at every
	   step mean the same shape. */
	while (x != NULL && y != NULL) {
		if (mime_part_compare_one(x, y, error_r) != 0)
			return -1;
		x = mime_part_next(x, a);
		y = mime_part_next(y, b);
	}
	if (x != NULL || y != NULL) {
		*error_r = "tree shapes differ";
		return -1;
	}
	return 0;
}
