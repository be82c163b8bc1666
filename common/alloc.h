/*
 * Allocation wrappers. Out of memory is not an error a caller handles: these
 * log and abort, so no code path is half written for it.
 */
#ifndef SB_ALLOC_H
#define SB_ALLOC_H

#include <stddef.h>

#include "compiler.h"

void *sb_malloc(size_t size) __attribute__((malloc, returns_nonnull));
void *sb_calloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
/* Also aborts when n * size overflows. */
void *sb_reallocarray(void *ptr, size_t n, size_t size)
        __attribute__((returns_nonnull));
char *sb_strdup(const char *s) __attribute__((malloc, returns_nonnull));
/* Copies at most len bytes of s and always NUL-terminates. */
char *sb_strndup(const char *s, size_t len)
        __attribute__((malloc, returns_nonnull));
void *sb_memdup(const void *mem, size_t len)
        __attribute__((malloc, returns_nonnull));
/* Copies exactly len bytes (NULs included) and adds a terminating NUL. */
char *sb_memdupz(const void *mem, size_t len)
        __attribute__((malloc, returns_nonnull));

/* Reports the failed allocation of `size` bytes and aborts. */
SB_NORETURN void sb_oom(size_t size);

#endif
