#include "buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

/* Smallest allocation, so that tiny appends do not each reallocate. */
#define SB_BUF_MIN_ALLOC 64

void (*sb_buf_secret_release_hook)(const void *p, size_t size);

void
sb_buf_init(struct sb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->max = max;
	b->wipe = false;
}

void
sb_buf_init_secret(struct sb_buf *b, size_t max)
{
	sb_buf_init(b, max);
	b->wipe = true;
}

/* Frees a block, wiping its `size` bytes first when wipe is set. */
static void
sb_buf_release(char *p, size_t size, bool wipe)
{
	if (p == NULL)
		return;
	if (wipe) {
		/* explicit_bzero is in glibc and cannot be optimised out. */
		explicit_bzero(p, size);
		if (sb_buf_secret_release_hook != NULL)
			sb_buf_secret_release_hook(p, size);
	}
	free(p);
}

void
sb_secret_free(void *p, size_t size)
{
	sb_buf_release(p, size, true);
}

void
sb_secret_free_str(char *s)
{
	if (s != NULL)
		sb_buf_release(s, strlen(s) + 1, true);
}

/* Empties the buffer without freeing: its max and wipe flag stay. */
static void
sb_buf_clear(struct sb_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
}

void
sb_buf_free(struct sb_buf *b)
{
	sb_buf_release(b->data, b->alloc, b->wipe);
	sb_buf_clear(b);
}

void
sb_buf_free_wipe(struct sb_buf *b)
{
	bool wipe = b->wipe;

	b->wipe = true;
	sb_buf_free(b);
	b->wipe = wipe;
}

/* Wipes the allocated bytes from `from` on, in a secret buffer. */
static void
sb_buf_wipe_tail(struct sb_buf *b, size_t from)
{
	if (b->wipe && b->data != NULL && from < b->alloc)
		explicit_bzero(b->data + from, b->alloc - from);
}

void
sb_buf_reset(struct sb_buf *b)
{
	b->len = 0;
	sb_buf_wipe_tail(b, 0);
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Makes room for `extra` more bytes plus the NUL. Fails (freeing the buffer)
 * when the contents would pass the maximum.
 */
static int SB_WUR
sb_buf_grow(struct sb_buf *b, size_t extra)
{
	size_t need, a;

	if (extra > b->max || b->len > b->max - extra) {
		sb_buf_free(b);
		return -1;
	}
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	a = b->alloc < SB_BUF_MIN_ALLOC ? SB_BUF_MIN_ALLOC : b->alloc;
	while (a < need)
		a = a > SIZE_MAX / 2 ? need : a * 2;
	/* Never allocate much more than the maximum allows. */
	if (b->max < SIZE_MAX && a > b->max + 1)
		a = b->max + 1;
	if (b->wipe) {
		/* No realloc: it could leave a copy of the secret behind. */
		char *p = sb_malloc(a);

		if (b->data != NULL)
			memcpy(p, b->data, b->len + 1);
		sb_buf_release(b->data, b->alloc, true);
		b->data = p;
	} else {
		b->data = sb_reallocarray(b->data, a, 1);
	}
	b->alloc = a;
	return 0;
}

int
sb_buf_add(struct sb_buf *b, const void *mem, size_t len)
{
	if (sb_buf_grow(b, len) != 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, mem, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
sb_buf_add_str(struct sb_buf *b, const char *s)
{
	return sb_buf_add(b, s, strlen(s));
}

int
sb_buf_add_char(struct sb_buf *b, char c)
{
	return sb_buf_add(b, &c, 1);
}

int
sb_buf_add_vprintf(struct sb_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb_buf_free(b);
		return -1;
	}
	if (sb_buf_grow(b, (size_t)n) != 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
sb_buf_add_printf(struct sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sb_buf_add_vprintf(b, fmt, ap);
	va_end(ap);
	return ret;
}

void
sb_buf_consume(struct sb_buf *b, size_t n)
{
	if (n >= b->len) {
		sb_buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
	sb_buf_wipe_tail(b, b->len + 1);
}

void
sb_buf_truncate(struct sb_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
		sb_buf_wipe_tail(b, len + 1);
	}
}

const char *
sb_buf_str(const struct sb_buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
sb_buf_take(struct sb_buf *b, size_t *len_r)
{
	char *p = b->data != NULL ? b->data : sb_strdup("");

	if (len_r != NULL)
		*len_r = b->len;
	sb_buf_clear(b);
	return p;
}
