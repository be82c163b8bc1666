/*
 * For tests of code that holds a message's text: which blocks were given
 * up as secrets (wiped, then freed; sb_buf_secret_release_hook) while a
 * watch is on. A test notes where a copy lives before it frees it, then
 * asks whether that block was wiped.
 */
#ifndef SB_TEST_SECRET_H
#define SB_TEST_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"

#define TEST_SECRET_MAX 4096

static const void *test_secret_blocks[TEST_SECRET_MAX];
static size_t test_secret_count;

static inline void
test_secret_record(const void *p, size_t size)
{
	(void)size;
	if (test_secret_count < TEST_SECRET_MAX)
		test_secret_blocks[test_secret_count++] = p;
}

/* Starts recording, forgetting what was recorded before. */
static inline void
test_secret_watch(void)
{
	test_secret_count = 0;
	sb_buf_secret_release_hook = test_secret_record;
}

static inline void
test_secret_unwatch(void)
{
	sb_buf_secret_release_hook = NULL;
}

/* True when the block at p was wiped and freed while watching. */
static inline bool
test_secret_wiped(const void *p)
{
	for (size_t i = 0; i < test_secret_count; i++) {
		if (test_secret_blocks[i] == p)
			return true;
	}
	return false;
}

#endif
