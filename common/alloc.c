#include "alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void
sb_oom(size_t size)
{
	char msg[96];
	int n;

	/* No stdio buffering and no allocation: memory is gone. */
	n = snprintf(msg, sizeof(msg), "fatal: out of memory (%zu bytes)\n",
	             size);
	if (n > 0 && write(STDERR_FILENO, msg, (size_t)n) < 0) {
		/* Nothing more can be done. */
	}
	abort();
}

void *
sb_malloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		sb_oom(size);
	return p;
}

void *
sb_calloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		sb_oom(n * size);
	return p;
}

void *
sb_reallocarray(void *ptr, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		sb_oom(SIZE_MAX);
	p = realloc(ptr, n * size == 0 ? 1 : n * size);
	if (p == NULL)
		sb_oom(n * size);
	return p;
}

char *
sb_strdup(const char *s)
{
	return sb_memdup(s, strlen(s) + 1);
}

char *
sb_strndup(const char *s, size_t len)
{
	size_t n = strnlen(s, len);
	char *p = sb_malloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *
sb_memdup(const void *mem, size_t len)
{
	void *p = sb_malloc(len);

	if (len > 0)
		memcpy(p, mem, len);
	return p;
}

char *
sb_memdupz(const void *mem, size_t len)
{
	char *p;

	if (len == SIZE_MAX)
		sb_oom(len);
	p = sb_malloc(len + 1);
	if (len > 0)
		memcpy(p, mem, len);
	p[len] = '\0';
	return p;
}
