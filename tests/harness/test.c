#include "test.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jmp_buf test_jmp;
/* A case runs: test_jmp leads back into test_run. */
static volatile bool test_in_case;
static char test_dir[256];

static void test_rm_dir(void);

void
test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* Outside a case (in main's cleanup, say) there is no way back. */
	if (!test_in_case)
		exit(1);
	longjmp(test_jmp, 1);
}

void
test_dump(const char *label, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, shown = len > 512 ? 512 : len;

	fprintf(stderr, "  %s (%zu bytes): \"", label, len);
	for (i = 0; i < shown; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fprintf(stderr, "\"%s\n", shown < len ? "..." : "");
}

bool
test_str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
test_mem_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

char *
test_read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long size;

	if (f == NULL)
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		test_fail(__FILE__, __LINE__, "cannot size %s", path);
	}
	data = malloc((size_t)size + 1);
	if (data == NULL)
		abort();
	if (fread(data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(data);
		test_fail(__FILE__, __LINE__, "cannot read %s", path);
	}
	fclose(f);
	data[size] = '\0';
	*len_r = (size_t)size;
	return data;
}

const char *
test_tmpdir(void)
{
	const char *base;

	if (test_dir[0] != '\0')
		return test_dir;
	base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if ((size_t)snprintf(test_dir, sizeof(test_dir), "%s/sbtest.XXXXXX",
	                     base) >= sizeof(test_dir) ||
	    mkdtemp(test_dir) == NULL) {
		test_dir[0] = '\0';
		test_fail(__FILE__, __LINE__, "cannot make a temporary dir");
	}
	/*
	 * Removed at exit, after main's own cleanup: a server the test
	 * started keeps its data folder until it was stopped.
	 */
	atexit(test_rm_dir);
	return test_dir;
}

static int
test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
test_rm_dir(void)
{
	if (test_dir[0] != '\0')
		nftw(test_dir, test_rm, 16, FTW_DEPTH | FTW_PHYS);
}

int
test_run(const struct test_case *cases)
{
	/* volatile: these change between setjmp and longjmp. */
	volatile unsigned passed = 0, failed = 0;
	const struct test_case *volatile tc;

	for (tc = cases; tc->name != NULL; tc++) {
		if (setjmp(test_jmp) == 0) {
			test_in_case = true;
			tc->fn();
			printf("ok   %s\n", tc->name);
			passed++;
		} else {
			printf("FAIL %s\n", tc->name);
			failed++;
		}
		test_in_case = false;
		fflush(stdout);
	}
	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
