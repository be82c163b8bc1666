/*
 * A growable byte buffer with a mandatory maximum size, always
 * NUL-terminated after its contents.
 *
 * An append that would grow the contents past the maximum fails with -1 and
 * frees the buffer (it is left empty, as after sb_buf_init), so a caller
 * that bails out on error leaks nothing and never uses half-built data.
 * Out of memory aborts (alloc.h). Any append may move the data: never keep
 * a pointer into it across one.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct sb_buf {
	char *data;   /* NULL until the first append */
	size_t len;   /* bytes of contents, not counting the NUL */
	size_t alloc; /* bytes allocated */
	size_t max;   /* the contents may not exceed this many bytes */
	bool wipe;    /* secret: every block is wiped before it is freed */
};

/* A buffer whose contents may grow to max bytes. Allocates nothing. */
void sb_buf_init(struct sb_buf *b, size_t max);
/*
 * Likewise for a buffer that will hold a secret: growth copies into a new
 * block and wipes the old one (no realloc leaves a copy behind), and
 * sb_buf_free, the over-maximum failure of an append, sb_buf_reset,
 * sb_buf_truncate and sb_buf_consume wipe what they give up. The flag
 * stays across sb_buf_free and sb_buf_take. A string taken out with
 * sb_buf_take is the caller's to wipe.
 */
void sb_buf_init_secret(struct sb_buf *b, size_t max);
/* Releases the memory; the buffer can be used again with the same max. */
void sb_buf_free(struct sb_buf *b);
/* Same as sb_buf_free, but always wipes the bytes first (for secrets). */
void sb_buf_free_wipe(struct sb_buf *b);
/* Empties the contents but keeps the allocation. */
void sb_buf_reset(struct sb_buf *b);

int sb_buf_add(struct sb_buf *b, const void *mem, size_t len) SB_WUR;
int sb_buf_add_str(struct sb_buf *b, const char *s) SB_WUR;
int sb_buf_add_char(struct sb_buf *b, char c) SB_WUR;
int sb_buf_add_printf(struct sb_buf *b, const char *fmt, ...) SB_WUR
        SB_PRINTF(2, 3);
int sb_buf_add_vprintf(struct sb_buf *b, const char *fmt, va_list ap) SB_WUR
        SB_PRINTF(2, 0);

/* Removes the first n bytes (n at most the length), moving the rest down. */
void sb_buf_consume(struct sb_buf *b, size_t n);
/* Cuts the contents to len bytes (len at most the length). */
void sb_buf_truncate(struct sb_buf *b, size_t len);

/* The contents as a C string: "" when empty, never NULL. */
const char *sb_buf_str(const struct sb_buf *b);
static inline size_t
sb_buf_len(const struct sb_buf *b)
{
	return b->len;
}

/*
 * Moves the contents out: returns a malloc'd NUL-terminated string (free()
 * it) and leaves the buffer empty. len_r may be NULL.
 */
char *sb_buf_take(struct sb_buf *b, size_t *len_r);

/*
 * Wipes the size bytes at p, then frees it (NULL is fine): for a string
 * sb_buf_take took out of a secret buffer, and other copies of secrets.
 */
void sb_secret_free(void *p, size_t size);
/* The same for a NUL-terminated string, wiped up to its NUL included. */
void sb_secret_free_str(char *s);

/*
 * For tests only: when set, called with each block a secret buffer gives
 * up, and each block of sb_secret_free and sb_secret_free_str, after it
 * was wiped and just before it is freed. NULL otherwise.
 */
extern void (*sb_buf_secret_release_hook)(const void *p, size_t size);

#endif
