#include <stdlib.h>

#include "common/sv.h"
#include "test.h"

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void
test_sv_compare(void)
{
	TEST_ASSERT(sb_sv_eq(SB_SV_LIT("abc"), sb_sv_cstr("abc")));
	TEST_ASSERT(!sb_sv_eq(SB_SV_LIT("abc"), SB_SV_LIT("abd")));
	TEST_ASSERT(sb_sv_eq_ci(SB_SV_LIT("InBoX"), SB_SV_LIT("INBOX")));
	TEST_ASSERT(!sb_sv_eq_ci(SB_SV_LIT("INBOX"), SB_SV_LIT("INBOX2")));
	TEST_ASSERT(sb_sv_eq_cstr_ci(SB_SV_LIT("Login"), "LOGIN"));
	TEST_ASSERT(
	        sb_sv_starts_with_ci(SB_SV_LIT("Content-Type"), "content-"));
	TEST_ASSERT(!sb_sv_starts_with_ci(SB_SV_LIT("Con"), "content-"));
	TEST_EQ_INT(sb_sv_find_char(SB_SV_LIT("a:b"), ':'), 1);
	TEST_EQ_INT(sb_sv_find_char(SB_SV_LIT("ab"), ':'), -1);
	TEST_EQ_INT(sb_sv_find_char(sb_sv(NULL, 0), ':'), -1);
}

static void
test_sv_trim_sub_dup(void)
{
	struct sb_sv v = sb_sv_trim(SB_SV_LIT(" \t x y \r\n"));
	char *s;

	TEST_EQ_MEM(v.p, v.len, "x y", 3);
	v = sb_sv_trim(SB_SV_LIT("   "));
	TEST_EQ_UINT(v.len, 0);
	v = sb_sv_sub(SB_SV_LIT("hello"), 3, 100);
	TEST_EQ_MEM(v.p, v.len, "lo", 2);
	v = sb_sv_sub(SB_SV_LIT("hello"), 9, 1);
	TEST_EQ_UINT(v.len, 0);
	s = sb_sv_dup(SB_SV_LIT("a\0b"));
	TEST_EQ_MEM(s, 4, "a\0b\0", 4);
	free(s);
}

static void
test_sv_take_until(void)
{
	struct sb_sv cur = SB_SV_LIT("key:value"), tok;

	/* The delimiter must lie within the maximum. */
	TEST_EQ_INT(sb_sv_take_until(&cur, ':', 2, &tok), -1);
	TEST_EQ_UINT(cur.len, 9);
	TEST_EQ_INT(sb_sv_take_until(&cur, ':', 3, &tok), 0);
	TEST_EQ_MEM(tok.p, tok.len, "key", 3);
	TEST_EQ_MEM(cur.p, cur.len, "value", 5);
	TEST_EQ_INT(sb_sv_take_until(&cur, ':', 100, &tok), -1);
	TEST_EQ_MEM(cur.p, cur.len, "value", 5);
}

static void
test_sv_take_while_and_ws(void)
{
	struct sb_sv cur = SB_SV_LIT("FETCH \t 1:*"), tok;

	TEST_EQ_INT(sb_sv_take_while(&cur, is_alpha, 4, &tok), -1);
	TEST_EQ_UINT(cur.len, 11);
	TEST_EQ_INT(sb_sv_take_while(&cur, is_alpha, 5, &tok), 0);
	TEST_EQ_MEM(tok.p, tok.len, "FETCH", 5);
	TEST_EQ_UINT(sb_sv_skip_ws(&cur, 2), 2);
	TEST_EQ_UINT(sb_sv_skip_ws(&cur, 10), 1);
	TEST_EQ_INT(sb_sv_take_while(&cur, is_alpha, 10, &tok), -1);
	TEST_ASSERT(sb_sv_take_char(&cur, '1'));
	TEST_ASSERT(!sb_sv_take_char(&cur, '1'));
	TEST_ASSERT(sb_sv_take_prefix_ci(&cur, ":"));
	TEST_ASSERT(!sb_sv_take_prefix_ci(&cur, "**"));
	TEST_ASSERT(sb_sv_take_char(&cur, '*'));
	TEST_EQ_UINT(cur.len, 0);
	TEST_ASSERT(!sb_sv_take_char(&cur, '*'));
}

static void
test_sv_numbers(void)
{
	struct sb_sv cur = SB_SV_LIT("4294967295 x");
	uint64_t v = 7;

	TEST_EQ_INT(sb_sv_take_u64(&cur, 4294967294u, &v), -1);
	TEST_EQ_UINT(v, 7);
	TEST_EQ_INT(sb_sv_take_u64(&cur, 4294967295u, &v), 0);
	TEST_EQ_UINT(v, 4294967295u);
	TEST_EQ_INT(sb_sv_take_u64(&cur, 10, &v), -1);
	TEST_EQ_INT(
	        sb_sv_to_u64(SB_SV_LIT("18446744073709551615"), UINT64_MAX, &v),
	        0);
	TEST_EQ_UINT(v, UINT64_MAX);
	TEST_EQ_INT(
	        sb_sv_to_u64(SB_SV_LIT("18446744073709551616"), UINT64_MAX, &v),
	        -1);
	/* A digit larger than the maximum itself. */
	TEST_EQ_INT(sb_sv_to_u64(SB_SV_LIT("7"), 5, &v), -1);
	TEST_EQ_INT(sb_sv_to_u64(SB_SV_LIT("5"), 5, &v), 0);
	TEST_EQ_INT(sb_sv_to_u64(SB_SV_LIT(""), 5, &v), -1);
	TEST_EQ_INT(sb_sv_to_u64(SB_SV_LIT("+1"), 5, &v), -1);
	TEST_EQ_INT(sb_sv_to_u64(SB_SV_LIT("1 "), 5, &v), -1);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"compare", test_sv_compare},
	        {"trim, sub, dup", test_sv_trim_sub_dup},
	        {"take until", test_sv_take_until},
	        {"take while and whitespace", test_sv_take_while_and_ws},
	        {"numbers", test_sv_numbers},
	        {NULL, NULL},
	};
	return test_run(cases);
}
