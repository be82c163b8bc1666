/*
 * RFC 5322 / MIME structure: header fields, Content-* parameters (RFC 2045,
 * RFC 2231) and the part tree of a message with the byte offsets of every
 * part's header and body, as IMAP BODYSTRUCTURE and BODY[section] need them.
 *
 * The parser is incremental: it is fed the message in pieces of any size
 * and builds the same tree whatever the split. It never keeps bodies in
 * memory, only one part's header block at a time (bounded) and the stack of
 * active boundaries, so its memory does not grow with the message.
 *
 * Byte accounting: every byte of the message belongs to exactly one of
 *  - the header of some part (its blank line included),
 *  - the body of a leaf part,
 *  - the preamble, a delimiter or the epilogue of a multipart.
 * The line end just before a boundary delimiter line belongs to the
 * delimiter, not to the body before it (RFC 2046 5.1.1). A multipart's body
 * is its preamble, delimiters, children and epilogue; a message/rfc822 (or
 * message/global) part's body is exactly its encapsulated message, which is
 * its only child.
 *
 * Broken mail is never an error: the tree always covers the whole input and
 * what was odd about a part is reported in its flags.
 *
 * Decoding of bodies, of RFC 2047 encoded words and of addresses is not done
 * here (see rfc822.h and codec.h).
 */
#ifndef SB_MIME_H
#define SB_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compiler.h"
#include "sv.h"

/* Limits; a zero field means the default shown. */
struct mime_limits {
	size_t max_header_size;       /* one part's header block: 256 KiB */
	size_t max_total_header_size; /* all header blocks together: 4 MiB */
	size_t max_boundary_len;      /* a boundary parameter: 200 bytes */
	unsigned max_depth;           /* nesting below the root: 20 */
	unsigned max_parts;  /* parts in the tree, root included: 5000 */
	unsigned max_params; /* parameters kept per field: 64 */
	unsigned max_param_sections; /* RFC 2231 sections per parameter: 64 */
};

/* Fills in every field with its default. */
void mime_limits_default(struct mime_limits *limits_r);

/* ---- Header block tokenizer ---- */

/*
 * Iterates the fields of a header block held in memory. Lines may end in
 * CRLF or bare LF. The block ends at the first empty line or at the end of
 * the data. A line that is not a field (no colon, or a name that is not
 * printable ASCII) is skipped together with its continuation lines, and
 * `bad_lines` counts it.
 */
struct mime_header_iter {
	const char *data;
	size_t len;
	size_t pos;
	unsigned bad_lines;
	bool done;
};

struct mime_header_field {
	/* The name, without the obsolete whitespace before the colon. */
	struct sb_sv name;
	/*
	 * The raw value: everything after the colon up to the end of the
	 * field's last line, line end excluded, still folded.
	 */
	struct sb_sv value;
	size_t offset; /* of the field in the block */
	size_t size;   /* of the whole field, final line end included */
};

void mime_header_iter_init(struct mime_header_iter *it, const void *data,
                           size_t len);
/* Returns 1 with the next field in field_r, or 0 at the end of the block. */
int mime_header_iter_next(struct mime_header_iter *it,
                          struct mime_header_field *field_r) SB_WUR;

/*
 * Appends raw to out with the folding removed (RFC 5322 2.2.3): each CRLF
 * or bare LF that is followed by a space or a tab is dropped. Returns -1
 * when out passes its maximum (out is then freed, see buf.h).
 */
int mime_unfold(struct sb_sv raw, struct sb_buf *out) SB_WUR;

/* ---- Content-Type, Content-Disposition parameters ---- */

struct mime_param {
	char *name;  /* lowercased; RFC 2231 "*" and section removed */
	char *value; /* NUL-terminated; may hold NULs, see value_len */
	size_t value_len;
	char *language; /* RFC 2231 language tag, or NULL */
	/* Came in RFC 2231 form. The value is then always valid UTF-8:
	   converted from its charset, and where that could not be done
	   (no charset, an unknown one, bytes that are not UTF-8) any byte
	   that is not valid UTF-8 became U+FFFD, with
	   MIME_FIELD_BAD_CHARSET set. */
	bool extended;
};

struct mime_params {
	struct mime_param *v;
	unsigned count;
};

/* Problems met while parsing a field; also set in mime_part.flags. */
enum mime_field_flags {
	/* A parameter was malformed, repeated, or past a limit. */
	MIME_FIELD_BAD_PARAMS = 1u << 0,
	/* An RFC 2231 value had an unknown charset (its bytes kept where
	   they were valid UTF-8), no charset and bytes that were not UTF-8,
	   or bytes that did not convert; such bytes became U+FFFD. */
	MIME_FIELD_BAD_CHARSET = 1u << 1,
};

/*
 * Parses an unfolded Content-Type value: type and subtype (lowercased) and
 * its parameters. Quoted strings lose their quotes and quoted-pairs,
 * comments are skipped, RFC 2231 continuations are put back together in
 * section order and encoded values converted to UTF-8. Returns -1 with
 * error_r when there is no valid type/subtype: nothing is returned then,
 * and RFC 2045 says to treat the part as text/plain; charset=us-ascii.
 * flags_r gets enum mime_field_flags bits (it is or'ed into).
 */
int mime_content_type_parse(struct sb_sv value,
                            const struct mime_limits *limits, char **type_r,
                            char **subtype_r, struct mime_params *params_r,
                            unsigned *flags_r, const char **error_r) SB_WUR;
/* Same for Content-Disposition: the disposition type (lowercased). */
int mime_disposition_parse(struct sb_sv value, const struct mime_limits *limits,
                           char **disposition_r, struct mime_params *params_r,
                           unsigned *flags_r, const char **error_r) SB_WUR;
/* The first parameter called name (case-insensitive), or NULL. */
const struct mime_param *mime_params_find(const struct mime_params *params,
                                          const char *name);
void mime_params_free(struct mime_params *params);

/* ---- The part tree ---- */

/* A byte range of the message and the line ends it holds. */
struct mime_range {
	uint64_t offset;
	uint64_t size;
	uint64_t lines;   /* LF bytes in the range */
	uint64_t bare_lf; /* LFs not preceded by CR: size + bare_lf is the
	                     size once every line ends in CRLF */
};

enum mime_part_flags {
	/* enum mime_field_flags bits come first, from any Content-* field. */
	MIME_PART_FLAG_BAD_PARAMS = MIME_FIELD_BAD_PARAMS,
	MIME_PART_FLAG_BAD_CHARSET = MIME_FIELD_BAD_CHARSET,
	/* The header did not end with an empty line (EOF or a boundary). */
	MIME_PART_FLAG_HEADER_UNTERMINATED = 1u << 2,
	/* The header passed max_header_size (or the total): fields after
	   the cut were not parsed, but its bytes are all counted. */
	MIME_PART_FLAG_HEADER_TRUNCATED = 1u << 3,
	/* A header line was not a field and was skipped. */
	MIME_PART_FLAG_BAD_HEADER_LINE = 1u << 4,
	/* The header holds 8-bit bytes or NULs. */
	MIME_PART_FLAG_HEADER_8BIT = 1u << 5,
	MIME_PART_FLAG_HEADER_NUL = 1u << 6,
	/* Content-Type was present but invalid: defaults were used. */
	MIME_PART_FLAG_BAD_CONTENT_TYPE = 1u << 7,
	/* Content-Type was absent: the default was used. Informative. */
	MIME_PART_FLAG_DEFAULT_TYPE = 1u << 8,
	/* multipart/ without a usable boundary: made text/plain. */
	MIME_PART_FLAG_NO_BOUNDARY = 1u << 9,
	/* A multipart whose close delimiter never came (EOF or an outer
	   boundary ended it); with no children, no delimiter at all. */
	MIME_PART_FLAG_NO_END_BOUNDARY = 1u << 10,
	/* A multipart or message at max_depth, kept as an opaque leaf. */
	MIME_PART_FLAG_DEPTH_LIMIT = 1u << 11,
	/* max_parts was reached: this part's body took in what would have
	   been further parts (or, for a message, its encapsulation). */
	MIME_PART_FLAG_PART_LIMIT = 1u << 12,
	/* Content-Transfer-Encoding held no token ("7bit" was used), or
	   something other than comments after it (ignored). */
	MIME_PART_FLAG_BAD_ENCODING = 1u << 13,
};

/*
 * One part. Children: a multipart's parts in order, or the one
 * encapsulated message of a message/rfc822 or message/global part (only
 * when its encoding is 7bit, 8bit or binary). A multipart may have no
 * children (boundary never found, depth limit).
 */
struct mime_part {
	struct mime_part *parent;
	struct mime_part *next;     /* next sibling */
	struct mime_part *children; /* first child */
	unsigned child_count;
	unsigned depth; /* 0 for the root */
	unsigned flags; /* enum mime_part_flags */

	struct mime_range header; /* the blank line included */
	struct mime_range body;

	/* Lowercased, never NULL. Defaults (RFC 2045, RFC 2046 5.1.5):
	   text/plain; charset=us-ascii, or message/rfc822 (no parameters)
	   inside a multipart/digest. */
	char *type;
	char *subtype;
	struct mime_params params;
	/* Content-Transfer-Encoding: its token only (RFC 2045 token
	   characters), lowercased; "7bit" when absent or empty. */
	char *encoding;
	char *disposition; /* lowercased, or NULL */
	struct mime_params disposition_params;
	/* Unfolded and trimmed, NULL when absent: kept as the message had
	   them (encoded words included) for BODYSTRUCTURE. */
	char *content_id;
	char *description;
	char *language;
	char *location;
	char *md5;
};

struct mime_parser;

struct mime_parser_stats {
	uint64_t bytes;         /* fed so far */
	unsigned parts;         /* in the tree so far */
	size_t peak_buffered;   /* most input bytes held at one time */
	size_t header_buffered; /* header bytes held over the whole run */
};

/* A parser with the given limits (NULL: the defaults). */
struct mime_parser *mime_parser_new(const struct mime_limits *limits);
/*
 * Feeds the next len bytes of the message. It cannot fail: everything is
 * consumed, and problems in the input end up in the parts' flags.
 */
void mime_parser_feed(struct mime_parser *parser, const void *data, size_t len);
/*
 * Ends the input and returns the tree (never NULL; free it with
 * mime_part_free). The parser is freed and *parser set to NULL.
 */
struct mime_part *mime_parser_finish(struct mime_parser **parser) SB_WUR;
/* Abandons a parser without building the tree. */
void mime_parser_free(struct mime_parser **parser);
void mime_parser_get_stats(const struct mime_parser *parser,
                           struct mime_parser_stats *stats_r);

/* Parses a message held whole in memory. */
struct mime_part *mime_parse(const void *data, size_t len,
                             const struct mime_limits *limits) SB_WUR;

/* Frees a part and all below it, and sets *part to NULL. */
void mime_part_free(struct mime_part **part);

/*
 * The part after `part` in depth-first order (parent before children),
 * staying inside the subtree of `top`; NULL at the end.
 */
struct mime_part *mime_part_next(struct mime_part *part,
                                 const struct mime_part *top);

/* True for multipart/ parts (whatever their number of children). */
bool mime_part_is_multipart(const struct mime_part *part);

/*
 * Checks the invariants of a tree built from the `size` bytes at data: the
 * ranges tile the message (see above), children lie in their parent's
 * body, depth and parent links agree, the line counts match the bytes, and
 * every gap between a multipart's children ends with a delimiter line.
 * Returns -1 with error_r on the first violation. For tests and fuzzing.
 */
int mime_part_check(const struct mime_part *root, const void *data, size_t size,
                    const char **error_r) SB_WUR;
/*
 * Compares two trees field by field (ranges, flags, types, parameters,
 * fields). Returns -1 with error_r naming the first difference.
 */
int mime_part_compare(const struct mime_part *a, const struct mime_part *b,
                      const char **error_r) SB_WUR;

#endif
