/* Internals shared by mime.c, mime-header.c, mime-param.c, mime-check.c. */
#ifndef SB_MIME_PRIVATE_H
#define SB_MIME_PRIVATE_H

#include "mime.h"

/* limits_r gets limits (or the defaults) with every zero field filled. */
void mime_limits_fill(struct mime_limits *limits_r,
                      const struct mime_limits *limits);

/*
 * Parses the header block of a part (data, len: the bytes buffered for it)
 * and sets its Content-* fields, its type defaults and the matching flags.
 * in_digest: the part is a child of a multipart/digest.
 */
void mime_part_parse_header(struct mime_part *part, const char *data,
                            size_t len, const struct mime_limits *limits,
                            bool in_digest);

/* Sets the default type fields of a part that has none yet. */
void mime_part_set_default_type(struct mime_part *part, bool in_digest);

/* Frees the strings and parameters of one part (not its children). */
void mime_part_free_fields(struct mime_part *part);

/* RFC 2045 token characters; 8-bit bytes are let in, as mail has them. */
bool mime_is_token_char(char c);

/*
 * Skips whitespace, line ends (so folding too) and comments, which may
 * nest, from the front of cur. Never recurses.
 */
void mime_skip_cfws(struct sb_sv *cur);

static inline char
mime_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline bool
mime_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

#endif
