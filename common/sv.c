#include "sv.h"

#include "alloc.h"

static inline char
sb_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
sb_sv_eq(struct sb_sv a, struct sb_sv b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool
sb_sv_eq_ci(struct sb_sv a, struct sb_sv b)
{
	size_t i;

	if (a.len != b.len)
		return false;
	for (i = 0; i < a.len; i++) {
		if (sb_ascii_lower(a.p[i]) != sb_ascii_lower(b.p[i]))
			return false;
	}
	return true;
}

bool
sb_sv_eq_cstr_ci(struct sb_sv a, const char *s)
{
	return sb_sv_eq_ci(a, sb_sv_cstr(s));
}

bool
sb_sv_starts_with_ci(struct sb_sv a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && sb_sv_eq_ci(sb_sv(a.p, n), sb_sv(prefix, n));
}

ptrdiff_t
sb_sv_find_char(struct sb_sv v, char c)
{
	const char *p = v.len > 0 ? memchr(v.p, c, v.len) : NULL;

	return p == NULL ? -1 : p - v.p;
}

static inline bool
sb_is_trim_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct sb_sv
sb_sv_trim(struct sb_sv v)
{
	while (v.len > 0 && sb_is_trim_space(v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len > 0 && sb_is_trim_space(v.p[v.len - 1]))
		v.len--;
	return v;
}

struct sb_sv
sb_sv_sub(struct sb_sv v, size_t start, size_t len)
{
	if (start > v.len)
		start = v.len;
	if (len > v.len - start)
		len = v.len - start;
	return sb_sv(v.p + start, len);
}

char *
sb_sv_dup(struct sb_sv v)
{
	return sb_memdupz(v.p, v.len);
}

void
sb_sv_advance(struct sb_sv *v, size_t n)
{
	if (n > v->len)
		n = v->len;
	v->p += n;
	v->len -= n;
}

size_t
sb_sv_skip_ws(struct sb_sv *cur, size_t max)
{
	size_t n = 0;

	while (n < max && n < cur->len &&
	       (cur->p[n] == ' ' || cur->p[n] == '\t'))
		n++;
	sb_sv_advance(cur, n);
	return n;
}

bool
sb_sv_take_char(struct sb_sv *cur, char c)
{
	if (cur->len == 0 || cur->p[0] != c)
		return false;
	sb_sv_advance(cur, 1);
	return true;
}

bool
sb_sv_take_prefix_ci(struct sb_sv *cur, const char *s)
{
	if (!sb_sv_starts_with_ci(*cur, s))
		return false;
	sb_sv_advance(cur, strlen(s));
	return true;
}

int
sb_sv_take_until(struct sb_sv *cur, char delim, size_t max,
                 struct sb_sv *token_r)
{
	struct sb_sv window =
	        sb_sv_sub(*cur, 0, max == SIZE_MAX ? max : max + 1);
	ptrdiff_t at = sb_sv_find_char(window, delim);

	if (at < 0)
		return -1;
	*token_r = sb_sv(cur->p, (size_t)at);
	sb_sv_advance(cur, (size_t)at + 1);
	return 0;
}

int
sb_sv_take_while(struct sb_sv *cur, bool (*accept)(char c), size_t max,
                 struct sb_sv *token_r)
{
	size_t n = 0;

	while (n < cur->len && accept(cur->p[n])) {
		if (n == max)
			return -1;
		n++;
	}
	if (n == 0)
		return -1;
	*token_r = sb_sv(cur->p, n);
	sb_sv_advance(cur, n);
	return 0;
}

int
sb_sv_take_u64(struct sb_sv *cur, uint64_t max, uint64_t *value_r)
{
	uint64_t v = 0;
	size_t n = 0;

	while (n < cur->len && cur->p[n] >= '0' && cur->p[n] <= '9') {
		unsigned d = (unsigned)(cur->p[n] - '0');

		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
		n++;
	}
	if (n == 0)
		return -1;
	*value_r = v;
	sb_sv_advance(cur, n);
	return 0;
}

int
sb_sv_to_u64(struct sb_sv v, uint64_t max, uint64_t *value_r)
{
	struct sb_sv cur = v;
	uint64_t value;

	if (sb_sv_take_u64(&cur, max, &value) != 0 || cur.len != 0)
		return -1;
	*value_r = value;
	return 0;
}
