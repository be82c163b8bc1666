/*
 * A tiny unit-test harness. A test file defines functions of type
 * test_fn, lists them in a NULL-terminated array of struct test_case and
 * returns test_run(cases) from main(). A failed check prints where and why
 * and ends that test case; the run goes on with the next case and exits
 * non-zero if any failed. The last line is "N passed, N failed".
 */
#ifndef SB_TEST_H
#define SB_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void test_fn(void);

struct test_case {
	const char *name;
	test_fn *fn;
};

int test_run(const struct test_case *cases);

/* Records a failure and leaves the current test case. */
void test_fail(const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 3, 4), noreturn));

/* Prints a hex/escaped view of bytes, for failure messages. */
void test_dump(const char *label, const void *data, size_t len);

#define TEST_ASSERT(cond)                                                     \
	do {                                                                  \
		if (!(cond))                                                  \
			test_fail(__FILE__, __LINE__, "assertion failed: %s", \
			          #cond);                                     \
	} while (0)

#define TEST_EQ_INT(a, b)                                                    \
	do {                                                                 \
		long long test_a_ = (long long)(a);                          \
		long long test_b_ = (long long)(b);                          \
		if (test_a_ != test_b_)                                      \
			test_fail(__FILE__, __LINE__,                        \
			          "%s == %s: %lld != %lld", #a, #b, test_a_, \
			          test_b_);                                  \
	} while (0)

#define TEST_EQ_UINT(a, b)                                                   \
	do {                                                                 \
		unsigned long long test_a_ = (unsigned long long)(a);        \
		unsigned long long test_b_ = (unsigned long long)(b);        \
		if (test_a_ != test_b_)                                      \
			test_fail(__FILE__, __LINE__,                        \
			          "%s == %s: %llu != %llu", #a, #b, test_a_, \
			          test_b_);                                  \
	} while (0)

#define TEST_EQ_STR(a, b)                                               \
	do {                                                            \
		const char *test_a_ = (a);                              \
		const char *test_b_ = (b);                              \
		if (!test_str_eq(test_a_, test_b_))                     \
			test_fail(__FILE__, __LINE__,                   \
			          "%s == %s: \"%s\" != \"%s\"", #a, #b, \
			          test_a_ ? test_a_ : "(null)",         \
			          test_b_ ? test_b_ : "(null)");        \
	} while (0)

#define TEST_EQ_MEM(a, alen, b, blen)                                      \
	do {                                                               \
		size_t test_al_ = (alen), test_bl_ = (blen);               \
		if (!test_mem_eq((a), test_al_, (b), test_bl_)) {          \
			test_dump(#a, (a), test_al_);                      \
			test_dump(#b, (b), test_bl_);                      \
			test_fail(__FILE__, __LINE__, "%s != %s", #a, #b); \
		}                                                          \
	} while (0)

bool test_str_eq(const char *a, const char *b);
bool test_mem_eq(const void *a, size_t alen, const void *b, size_t blen);

/*
 * Reads a whole test-data file into a malloc'd, NUL-terminated buffer.
 * Fails the test when it cannot.
 */
char *test_read_file(const char *path, size_t *len_r);

/*
 * A fresh private directory under $TMPDIR, removed when the process
 * exits (after main's cleanup, so that servers it stops find their data).
 */
const char *test_tmpdir(void);

#endif
