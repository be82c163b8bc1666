#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "test.h"

static void
test_buf_append_and_nul(void)
{
	struct sb_buf b;

	sb_buf_init(&b, 100);
	TEST_EQ_STR(sb_buf_str(&b), "");
	TEST_EQ_INT(sb_buf_add_str(&b, "hello"), 0);
	TEST_EQ_INT(sb_buf_add_char(&b, ' '), 0);
	TEST_EQ_INT(sb_buf_add_printf(&b, "%d-%s", 42, "x"), 0);
	TEST_EQ_STR(sb_buf_str(&b), "hello 42-x");
	TEST_EQ_UINT(sb_buf_len(&b), 10);
	TEST_EQ_INT(b.data[b.len], '\0');
	sb_buf_free(&b);
	TEST_ASSERT(b.data == NULL);
}

static void
test_buf_max_is_exact(void)
{
	struct sb_buf b;

	sb_buf_init(&b, 8);
	TEST_EQ_INT(sb_buf_add(&b, "12345678", 8), 0);
	TEST_EQ_UINT(sb_buf_len(&b), 8);
	/* One more byte passes the maximum: the buffer frees itself. */
	TEST_EQ_INT(sb_buf_add_char(&b, '9'), -1);
	TEST_ASSERT(b.data == NULL);
	TEST_EQ_UINT(sb_buf_len(&b), 0);
	TEST_EQ_UINT(b.max, 8);
	/* And it is usable again. */
	TEST_EQ_INT(sb_buf_add_str(&b, "abc"), 0);
	TEST_EQ_INT(sb_buf_add_printf(&b, "%s", "123456"), -1);
	TEST_EQ_STR(sb_buf_str(&b), "");
	sb_buf_free(&b);
}

static void
test_buf_huge_length_does_not_wrap(void)
{
	struct sb_buf b;

	sb_buf_init(&b, SIZE_MAX);
	TEST_EQ_INT(sb_buf_add_str(&b, "x"), 0);
	TEST_EQ_INT(sb_buf_add(&b, "", SIZE_MAX), -1);
	sb_buf_free(&b);
}

static void
test_buf_consume_truncate_take(void)
{
	struct sb_buf b;
	size_t len;
	char *s;

	sb_buf_init(&b, 1024);
	TEST_EQ_INT(sb_buf_add_str(&b, "line1\r\nline2"), 0);
	sb_buf_consume(&b, 7);
	TEST_EQ_STR(sb_buf_str(&b), "line2");
	sb_buf_truncate(&b, 4);
	TEST_EQ_STR(sb_buf_str(&b), "line");
	s = sb_buf_take(&b, &len);
	TEST_EQ_STR(s, "line");
	TEST_EQ_UINT(len, 4);
	TEST_ASSERT(b.data == NULL);
	free(s);
	s = sb_buf_take(&b, &len);
	TEST_EQ_STR(s, "");
	TEST_EQ_UINT(len, 0);
	free(s);
	sb_buf_consume(&b, 10);
	TEST_EQ_UINT(sb_buf_len(&b), 0);
}

static void
test_buf_growth_keeps_bytes(void)
{
	struct sb_buf b;
	size_t i;

	sb_buf_init(&b, 1 << 20);
	for (i = 0; i < 100000; i++)
		TEST_EQ_INT(sb_buf_add_char(&b, (char)('a' + i % 26)), 0);
	TEST_EQ_UINT(sb_buf_len(&b), 100000);
	for (i = 0; i < 100000; i++)
		TEST_EQ_INT(b.data[i], 'a' + i % 26);
	TEST_ASSERT(b.alloc <= (1 << 20) + 1);
	sb_buf_free_wipe(&b);
	TEST_ASSERT(b.data == NULL);
}

static void
test_buf_embedded_nul(void)
{
	struct sb_buf b;

	sb_buf_init(&b, 16);
	TEST_EQ_INT(sb_buf_add(&b, "a\0b", 3), 0);
	TEST_EQ_MEM(b.data, b.len, "a\0b", 3);
	sb_buf_free(&b);
}

static size_t released_blocks;
static bool released_dirty;

/* Checks each block a secret buffer gives up: wiped before it is freed. */
static void
check_released(const void *p, size_t size)
{
	const unsigned char *c = p;
	size_t i;

	released_blocks++;
	for (i = 0; i < size; i++) {
		if (c[i] != 0)
			released_dirty = true;
	}
}

static void
test_buf_secret_growth_wipes(void)
{
	struct sb_buf b;
	size_t i;

	released_blocks = 0;
	released_dirty = false;
	sb_buf_secret_release_hook = check_released;
	sb_buf_init_secret(&b, 1 << 20);
	for (i = 0; i < 1000; i++)
		TEST_EQ_INT(sb_buf_add_char(&b, 'k'), 0);
	/* 64, 128, 256, 512 were each copied to a larger block. */
	TEST_EQ_UINT(released_blocks, 4);
	for (i = 0; i < 1000; i++)
		TEST_EQ_INT(b.data[i], 'k');
	TEST_EQ_INT(b.data[1000], '\0');
	TEST_EQ_INT(sb_buf_add_printf(&b, "%s", "tail"), 0);
	TEST_EQ_UINT(sb_buf_len(&b), 1004);
	sb_buf_free(&b);
	TEST_EQ_UINT(released_blocks, 5);
	TEST_ASSERT(b.wipe);
	TEST_ASSERT(!released_dirty);
	sb_buf_secret_release_hook = NULL;
}

static void
test_buf_secret_over_max_wipes(void)
{
	struct sb_buf b;

	released_blocks = 0;
	released_dirty = false;
	sb_buf_secret_release_hook = check_released;
	sb_buf_init_secret(&b, 8);
	TEST_EQ_INT(sb_buf_add(&b, "password", 8), 0);
	TEST_EQ_INT(sb_buf_add_char(&b, '!'), -1);
	TEST_ASSERT(b.data == NULL);
	TEST_EQ_UINT(released_blocks, 1);
	TEST_ASSERT(!released_dirty);
	/* Still secret after the failure. */
	TEST_ASSERT(b.wipe);
	TEST_EQ_INT(sb_buf_add_str(&b, "abc"), 0);
	sb_buf_truncate(&b, 1);
	TEST_EQ_STR(sb_buf_str(&b), "a");
	TEST_EQ_INT(b.data[2], '\0');
	sb_buf_free(&b);
	TEST_EQ_UINT(released_blocks, 2);

	/* An ordinary buffer is freed without the wipe. */
	sb_buf_init(&b, 8);
	TEST_EQ_INT(sb_buf_add(&b, "12345678", 8), 0);
	TEST_EQ_INT(sb_buf_add_char(&b, '9'), -1);
	TEST_EQ_UINT(released_blocks, 2);
	/* sb_buf_free_wipe wipes whatever the flag. */
	TEST_EQ_INT(sb_buf_add_str(&b, "x"), 0);
	sb_buf_free_wipe(&b);
	TEST_EQ_UINT(released_blocks, 3);
	TEST_ASSERT(!b.wipe);
	TEST_ASSERT(!released_dirty);
	sb_buf_secret_release_hook = NULL;
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"append and NUL", test_buf_append_and_nul},
	        {"max is exact", test_buf_max_is_exact},
	        {"huge length does not wrap",
	         test_buf_huge_length_does_not_wrap},
	        {"consume, truncate, take", test_buf_consume_truncate_take},
	        {"growth keeps bytes", test_buf_growth_keeps_bytes},
	        {"embedded NUL", test_buf_embedded_nul},
	        {"secret growth wipes", test_buf_secret_growth_wipes},
	        {"secret over max wipes", test_buf_secret_over_max_wipes},
	        {NULL, NULL},
	};
	return test_run(cases);
}
