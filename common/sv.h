/*
 * A non-owning view of bytes: a pointer and a length, not NUL-terminated.
 * The cursor helpers consume from the front of a view and each takes a
 * maximum, so that no peer input can make them read or accept more than the
 * caller allows. They return 0 on success and -1 when the input does not
 * match or passes the maximum, leaving the cursor where it was.
 */
#ifndef SB_SV_H
#define SB_SV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "compiler.h"

struct sb_sv {
	const char *p;
	size_t len;
};

#define SB_SV_LIT(s) ((struct sb_sv){(s), sizeof(s) - 1})

static inline struct sb_sv
sb_sv(const void *p, size_t len)
{
	return (struct sb_sv){(const char *)p, len};
}

static inline struct sb_sv
sb_sv_cstr(const char *s)
{
	return (struct sb_sv){s, strlen(s)};
}

/* The value of a hexadecimal digit (either case), or -1. */
static inline int
sb_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool sb_sv_eq(struct sb_sv a, struct sb_sv b);
/* ASCII case-insensitive comparison. */
bool sb_sv_eq_ci(struct sb_sv a, struct sb_sv b);
bool sb_sv_eq_cstr_ci(struct sb_sv a, const char *s);
bool sb_sv_starts_with_ci(struct sb_sv a, const char *prefix);
/* Offset of the first c in v, or -1. */
ptrdiff_t sb_sv_find_char(struct sb_sv v, char c);
/* v without leading and trailing spaces, tabs, CR and LF. */
struct sb_sv sb_sv_trim(struct sb_sv v);
/* The subview [start, start+len), clamped to v. */
struct sb_sv sb_sv_sub(struct sb_sv v, size_t start, size_t len);
/* A malloc'd NUL-terminated copy (embedded NULs are kept). */
char *sb_sv_dup(struct sb_sv v);

/* Drops n bytes (at most v->len) from the front. */
void sb_sv_advance(struct sb_sv *v, size_t n);
/* Skips spaces and tabs, at most max of them; returns how many. */
size_t sb_sv_skip_ws(struct sb_sv *cur, size_t max);
/* Consumes c when it is next. */
bool sb_sv_take_char(struct sb_sv *cur, char c);
/* Consumes the literal prefix s (ASCII case-insensitive) when it is next. */
bool sb_sv_take_prefix_ci(struct sb_sv *cur, const char *s);
/*
 * Takes the bytes up to (not including) delim into token_r and consumes
 * the delimiter too. Fails when delim is not within max bytes.
 */
int sb_sv_take_until(struct sb_sv *cur, char delim, size_t max,
                     struct sb_sv *token_r) SB_WUR;
/*
 * Takes 1..max bytes for which accept() is true. Fails on none or on more
 * than max.
 */
int sb_sv_take_while(struct sb_sv *cur, bool (*accept)(char c), size_t max,
                     struct sb_sv *token_r) SB_WUR;
/*
 * Takes a decimal number of at most `max` value (no sign, no leading '+',
 * at least one digit). Fails on overflow past max.
 */
int sb_sv_take_u64(struct sb_sv *cur, uint64_t max, uint64_t *value_r) SB_WUR;

/* Parses all of v as a decimal number no greater than max. */
int sb_sv_to_u64(struct sb_sv v, uint64_t max, uint64_t *value_r) SB_WUR;

#endif
