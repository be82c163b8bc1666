/*
 * The incremental part-tree parser.
 *
 * The input is cut into lines as it comes; a line may arrive in any number
 * of pieces, so everything known about the current line is kept in the
 * parser: where it started, its length so far, whether its last byte is a
 * CR, and, while it may still be a boundary delimiter line, its first
 * bytes (at most max_boundary_len + 4 of them). Nothing else of a body is
 * kept. A part's header block is buffered (up to the limits) until its
 * empty line, then parsed and dropped.
 *
 * Offsets decide everything. A line that turns out to be a delimiter ends
 * the open parts at E = (its start) - (the previous line's end), so that
 * the line end before a delimiter belongs to the delimiter. prev_eol is
 * reset to 0 whenever a new header or body starts, so E never reaches back
 * into the region before. Line counts work the same way: the number of
 * LFs seen is kept, and a range's count is the difference between the
 * counts at its two ends. While a part is open its ranges' `lines` and
 * `bare_lf` hold the counts at their start.
 *
 * The open parts are the current part and its ancestors; closing them
 * walks the parent pointers, and the active boundaries live in an explicit
 * stack bounded by max_depth, so nothing here recurses.
 */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mime-private.h"

/* An active boundary: the multipart that declared it. */
struct mime_level {
	struct mime_part *multipart;
	struct mime_part *last_child;
	char *boundary;
	size_t boundary_len;
};

enum mime_state {
	MIME_STATE_HEADER,
	MIME_STATE_BODY,
};

struct mime_parser {
	struct mime_limits limits;
	struct mime_part *root;
	struct mime_part *cur; /* whose header or body is being read */
	enum mime_state state;

	uint64_t offset;  /* of the next byte */
	uint64_t lf;      /* LFs seen */
	uint64_t bare_lf; /* of which not after a CR */

	/* The current line. */
	bool at_line_start; /* the next byte starts a new line */
	uint64_t line_start;
	uint64_t ls_lf, ls_bare_lf; /* the counts at line_start */
	uint64_t line_len;          /* bytes so far, line end excluded */
	bool line_cr;               /* its last byte so far is a CR */
	unsigned prev_eol;          /* see above: 0, 1 or 2 */

	/* The start of the current line while it may be a delimiter. */
	bool cand_active;
	char *cand;
	size_t cand_len, cand_cap;

	/* The current part's header block. */
	struct sb_buf header;
	size_t header_line_mark; /* its length when the line started */
	bool header_full;        /* a limit was hit: no more is kept */
	size_t header_total;     /* header bytes kept for earlier parts */

	struct mime_level *levels;
	unsigned level_count, level_alloc;

	unsigned part_count;
	size_t peak_buffered;
};

static void
mime_range_begin(struct mime_range *range, const struct mime_parser *p)
{
	range->offset = p->offset;
	range->size = 0;
	range->lines = p->lf;
	range->bare_lf = p->bare_lf;
}

static void
mime_range_end(struct mime_range *range, uint64_t end, uint64_t lf,
               uint64_t bare_lf)
{
	range->size = end - range->offset;
	range->lines = lf - range->lines;
	range->bare_lf = bare_lf - range->bare_lf;
}

bool
mime_part_is_multipart(const struct mime_part *part)
{
	return part->type != NULL && strcmp(part->type, "multipart") == 0;
}

static bool
mime_part_is_digest(const struct mime_part *part)
{
	return part != NULL && mime_part_is_multipart(part) &&
	       strcmp(part->subtype, "digest") == 0;
}

/* message/rfc822 or message/global in an encoding we can look into. */
static bool
mime_part_is_message(const struct mime_part *part)
{
	const char *enc = part->encoding;

	if (strcmp(part->type, "message") != 0 ||
	    (strcmp(part->subtype, "rfc822") != 0 &&
	     strcmp(part->subtype, "global") != 0))
		return false;
	return strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
	       strcmp(enc, "binary") == 0;
}

static struct mime_part *
mime_part_new(struct mime_parser *p, struct mime_part *parent)
{
	struct mime_part *part = sb_calloc(1, sizeof(*part));

	part->parent = parent;
	part->depth = parent == NULL ? 0 : parent->depth + 1;
	p->part_count++;
	return part;
}

/* Starts reading the header of part at the current offset. */
static void
mime_header_begin(struct mime_parser *p, struct mime_part *part)
{
	mime_range_begin(&part->header, p);
	p->cur = part;
	p->state = MIME_STATE_HEADER;
	p->prev_eol = 0;
	sb_buf_reset(&p->header);
	p->header_line_mark = 0;
	p->header_full = false;
}

static void
mime_body_begin(struct mime_parser *p, struct mime_part *part)
{
	mime_range_begin(&part->body, p);
	p->cur = part;
	p->state = MIME_STATE_BODY;
	p->prev_eol = 0;
}

static void
mime_level_push(struct mime_parser *p, struct mime_part *multipart,
                struct sb_sv boundary)
{
	struct mime_level *level;

	if (p->level_count == p->level_alloc) {
		p->level_alloc = p->level_alloc == 0 ? 4 : p->level_alloc * 2;
		p->levels = sb_reallocarray(p->levels, p->level_alloc,
		                            sizeof(p->levels[0]));
	}
	level = &p->levels[p->level_count++];
	level->multipart = multipart;
	level->last_child = NULL;
	level->boundary = sb_memdupz(boundary.p, boundary.len);
	level->boundary_len = boundary.len;
}

static void
mime_level_pop(struct mime_parser *p)
{
	if (p->level_count == 0)
		abort();
	free(p->levels[--p->level_count].boundary);
}

/*
 * The boundary of a multipart part, without the trailing spaces RFC 2046
 * forbids. A multipart without a usable one (missing, empty, too long)
 * is made text/plain and flagged; false then, and for other types.
 */
static bool
mime_part_boundary(const struct mime_parser *p, struct mime_part *part,
                   struct sb_sv *boundary_r)
{
	const struct mime_param *param;
	size_t len = 0;

	if (!mime_part_is_multipart(part))
		return false;
	param = mime_params_find(&part->params, "boundary");
	if (param != NULL) {
		len = param->value_len;
		while (len > 0 && mime_is_wsp(param->value[len - 1]))
			len--;
	}
	if (len == 0 || len > p->limits.max_boundary_len) {
		part->flags |= MIME_PART_FLAG_NO_BOUNDARY;
		free(part->type);
		free(part->subtype);
		part->type = sb_strdup("text");
		part->subtype = sb_strdup("plain");
		return false;
	}
	*boundary_r = sb_sv(param->value, len);
	return true;
}

/*
 * Ends the header of the current part at `end` and parses it.
 * terminated: it ended with an empty line.
 */
static void
mime_header_done(struct mime_parser *p, uint64_t end, uint64_t lf,
                 uint64_t bare_lf, bool terminated)
{
	struct mime_part *part = p->cur;

	mime_range_end(&part->header, end, lf, bare_lf);
	if (!terminated)
		part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
	if (p->header_full)
		part->flags |= MIME_PART_FLAG_HEADER_TRUNCATED;
	mime_part_parse_header(part, sb_buf_str(&p->header),
	                       sb_buf_len(&p->header), &p->limits,
	                       mime_part_is_digest(part->parent));
	p->header_total += sb_buf_len(&p->header);
	sb_buf_reset(&p->header);
}

/*
 * The empty line after the current part's header was just read: starts
 * its body, and its boundary or its encapsulated message.
 */
static void
mime_body_start(struct mime_parser *p)
{
	struct mime_part *part = p->cur, *child;
	struct sb_sv boundary;
	bool multipart;

	mime_body_begin(p, part);
	multipart = mime_part_boundary(p, part, &boundary);
	if (!multipart && !mime_part_is_message(part))
		return;
	if (part->depth + 1 > p->limits.max_depth) {
		part->flags |= MIME_PART_FLAG_DEPTH_LIMIT;
		return;
	}
	if (multipart) {
		mime_level_push(p, part, boundary);
		return;
	}
	if (p->part_count >= p->limits.max_parts) {
		part->flags |= MIME_PART_FLAG_PART_LIMIT;
		return;
	}
	child = mime_part_new(p, part);
	part->children = child;
	part->child_count = 1;
	mime_header_begin(p, child);
}

/*
 * Ends every open part from the current one up to, not including, `stop`
 * (NULL: all of them) at offset `end`; the multiparts among them lose
 * their boundary and, having seen no close delimiter, are flagged.
 */
static void
mime_close_parts(struct mime_parser *p, const struct mime_part *stop,
                 uint64_t end, uint64_t lf, uint64_t bare_lf)
{
	struct mime_part *part;
	struct sb_sv boundary;

	for (part = p->cur; part != stop; part = part->parent) {
		if (part == p->cur && p->state == MIME_STATE_HEADER) {
			mime_header_done(p, end, lf, bare_lf, false);
			part->body.offset = end;
			if (mime_part_boundary(p, part, &boundary))
				part->flags |= MIME_PART_FLAG_NO_END_BOUNDARY;
		} else {
			mime_range_end(&part->body, end, lf, bare_lf);
		}
		if (p->level_count > 0 &&
		    p->levels[p->level_count - 1].multipart == part) {
			part->flags |= MIME_PART_FLAG_NO_END_BOUNDARY;
			mime_level_pop(p);
		}
	}
}

/*
 * Which active boundary the candidate line is, innermost first; -1 if
 * none. Trailing whitespace (and CRs) after the boundary is allowed.
 */
static int SB_WUR
mime_match_delimiter(const struct mime_parser *p, bool *close_r)
{
	const char *s = p->cand;
	size_t n = p->cand_len;
	unsigned k;

	while (n > 0 && (mime_is_wsp(s[n - 1]) || s[n - 1] == '\r'))
		n--;
	if (n < 2 || s[0] != '-' || s[1] != '-')
		return -1;
	for (k = p->level_count; k-- > 0;) {
		const struct mime_level *l = &p->levels[k];

		if (n - 2 < l->boundary_len ||
		    memcmp(s + 2, l->boundary, l->boundary_len) != 0)
			continue;
		if (n - 2 == l->boundary_len) {
			*close_r = false;
			return (int)k;
		}
		if (n - 2 == l->boundary_len + 2 && s[n - 2] == '-' &&
		    s[n - 1] == '-') {
			*close_r = true;
			return (int)k;
		}
	}
	return -1;
}

/*
 * Acts on the current line if it is a delimiter; has_eol is false for a
 * last line without line end. Returns false when the line is content.
 */
static bool
mime_delimiter(struct mime_parser *p, bool has_eol)
{
	struct mime_level *level;
	struct mime_part *multipart, *child;
	uint64_t end, lf, bare_lf;
	bool close;
	int k = mime_match_delimiter(p, &close);

	if (k < 0)
		return false;
	if (!close && p->part_count >= p->limits.max_parts) {
		p->cur->flags |= MIME_PART_FLAG_PART_LIMIT;
		return false;
	}
	end = p->line_start - p->prev_eol;
	lf = p->ls_lf - (p->prev_eol > 0 ? 1 : 0);
	bare_lf = p->ls_bare_lf - (p->prev_eol == 1 ? 1 : 0);
	multipart = p->levels[k].multipart;
	if (p->state == MIME_STATE_HEADER)
		sb_buf_truncate(&p->header, p->header_line_mark);
	mime_close_parts(p, multipart, end, lf, bare_lf);
	if (p->level_count != (unsigned)k + 1)
		abort();
	p->cur = multipart;
	p->state = MIME_STATE_BODY;
	p->prev_eol = 0;
	if (close) {
		mime_level_pop(p);
		return true;
	}
	if (!has_eol)
		return true;
	level = &p->levels[k];
	child = mime_part_new(p, multipart);
	if (level->last_child == NULL)
		multipart->children = child;
	else
		level->last_child->next = child;
	level->last_child = child;
	multipart->child_count++;
	mime_header_begin(p, child);
	return true;
}

static void
mime_note_buffered(struct mime_parser *p)
{
	size_t n = sb_buf_len(&p->header) + p->cand_len;

	if (n > p->peak_buffered)
		p->peak_buffered = n;
}

/* Keeps header bytes; past a limit the partial line is dropped too. */
static void
mime_header_add(struct mime_parser *p, const char *s, size_t n)
{
	size_t len = sb_buf_len(&p->header);
	size_t room = p->limits.max_header_size - len;
	size_t total_room = p->limits.max_total_header_size - p->header_total;

	if (total_room - len < room)
		room = total_room - len;
	if (n > room) {
		p->header_full = true;
		sb_buf_truncate(&p->header, p->header_line_mark);
		return;
	}
	if (sb_buf_add(&p->header, s, n) != 0)
		abort(); /* the room was checked */
	mime_note_buffered(p);
}

/* Keeps the start of a line that may still be a delimiter. */
static void
mime_cand_add(struct mime_parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n && p->cand_active; i++) {
		char c = s[i];

		if (p->cand_len < 2 && c != '-')
			p->cand_active = false;
		else if (p->cand_len < p->cand_cap)
			p->cand[p->cand_len++] = c;
		else if (!mime_is_wsp(c) && c != '\r')
			p->cand_active = false;
	}
	mime_note_buffered(p);
}

static void
mime_line_begin(struct mime_parser *p)
{
	p->at_line_start = false;
	p->line_start = p->offset;
	p->ls_lf = p->lf;
	p->ls_bare_lf = p->bare_lf;
	p->line_len = 0;
	p->line_cr = false;
	p->cand_active = p->level_count > 0;
	p->cand_len = 0;
	p->header_line_mark = sb_buf_len(&p->header);
}

/* n > 0 bytes of the current line, no LF among them. */
static void
mime_line_bytes(struct mime_parser *p, const char *s, size_t n)
{
	if (p->cand_active)
		mime_cand_add(p, s, n);
	if (p->state == MIME_STATE_HEADER && !p->header_full)
		mime_header_add(p, s, n);
	p->line_len += n;
	p->line_cr = s[n - 1] == '\r';
	p->offset += n;
}

/* The LF that ends the current line. */
static void
mime_line_end(struct mime_parser *p)
{
	unsigned eol = p->line_cr ? 2 : 1;
	bool empty = p->line_len == 0 || (p->line_len == 1 && p->line_cr);

	if (p->state == MIME_STATE_HEADER && !p->header_full)
		mime_header_add(p, "\n", 1);
	p->offset++;
	p->lf++;
	if (eol == 1)
		p->bare_lf++;
	p->at_line_start = true;
	if (p->cand_active && mime_delimiter(p, true))
		return;
	if (p->state == MIME_STATE_HEADER && empty) {
		mime_header_done(p, p->offset, p->lf, p->bare_lf, true);
		mime_body_start(p);
		return;
	}
	p->prev_eol = eol;
}

struct mime_parser *
mime_parser_new(const struct mime_limits *limits)
{
	struct mime_parser *p = sb_calloc(1, sizeof(*p));

	mime_limits_fill(&p->limits, limits);
	/* Headers and candidate delimiter lines are the message's text. */
	sb_buf_init_secret(&p->header, p->limits.max_header_size);
	p->cand_cap = p->limits.max_boundary_len + 4;
	p->cand = sb_malloc(p->cand_cap);
	p->at_line_start = true;
	p->root = mime_part_new(p, NULL);
	mime_header_begin(p, p->root);
	return p;
}

void
mime_parser_feed(struct mime_parser *p, const void *data, size_t len)
{
	const char *s = data;

	while (len > 0) {
		const char *lf = memchr(s, '\n', len);
		size_t n = lf == NULL ? len : (size_t)(lf - s);

		if (p->at_line_start)
			mime_line_begin(p);
		if (n > 0)
			mime_line_bytes(p, s, n);
		if (lf == NULL)
			return;
		mime_line_end(p);
		s += n + 1;
		len -= n + 1;
	}
}

void
mime_parser_free(struct mime_parser **_p)
{
	struct mime_parser *p = *_p;

	if (p == NULL)
		return;
	*_p = NULL;
	while (p->level_count > 0)
		mime_level_pop(p);
	free(p->levels);
	sb_secret_free(p->cand, p->cand_cap);
	sb_buf_free(&p->header);
	mime_part_free(&p->root);
	free(p);
}

struct mime_part *
mime_parser_finish(struct mime_parser **_p)
{
	struct mime_parser *p = *_p;
	struct mime_part *root;

	/* A last line without line end may still be a delimiter. */
	if (!p->at_line_start && p->cand_active)
		(void)mime_delimiter(p, false);
	mime_close_parts(p, NULL, p->offset, p->lf, p->bare_lf);
	root = p->root;
	p->root = NULL;
	mime_parser_free(_p);
	return root;
}

void
mime_parser_get_stats(const struct mime_parser *p,
                      struct mime_parser_stats *stats_r)
{
	stats_r->bytes = p->offset;
	stats_r->parts = p->part_count;
	stats_r->peak_buffered = p->peak_buffered;
	stats_r->header_buffered = p->header_total + sb_buf_len(&p->header);
}

struct mime_part *
mime_parse(const void *data, size_t len, const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);

	mime_parser_feed(p, data, len);
	return mime_parser_finish(&p);
}

struct mime_part *
mime_part_next(struct mime_part *part, const struct mime_part *top)
{
	if (part->children != NULL)
		return part->children;
	for (; part != NULL && part != top; part = part->parent) {
		if (part->next != NULL)
			return part->next;
	}
	return NULL;
}

/*
 * Frees children before parents, walking down and back up with the
 * parent pointers instead of recursing.
 */
void
mime_part_free(struct mime_part **_part)
{
	struct mime_part *top = *_part, *part = top, *next;

	*_part = NULL;
	while (part != NULL) {
		if (part->children != NULL) {
			next = part->children;
			part->children = NULL;
			part = next;
			continue;
		}
		next = part == top          ? NULL
		       : part->next != NULL ? part->next
		                            : part->parent;
		mime_part_free_fields(part);
		free(part);
		part = next;
	}
}
