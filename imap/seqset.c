#include "seqset.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

void
imap_seqset_init(struct imap_seqset *set, size_t max_ranges)
{
	memset(set, 0, sizeof(*set));
	set->max_ranges =
	        max_ranges == 0 ? IMAP_SEQSET_DEFAULT_MAX_RANGES : max_ranges;
}

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = 0;
	set->alloc = 0;
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	set->count = 0;
}

/* Room for one more range; false when the set is at its maximum. */
static bool
seqset_reserve(struct imap_seqset *set)
{
	size_t n;

	if (set->count >= set->max_ranges)
		return false;
	if (set->count < set->alloc)
		return true;
	n = set->alloc == 0 ? 8 : set->alloc * 2;
	if (n > set->max_ranges)
		n = set->max_ranges;
	set->ranges = sb_reallocarray(set->ranges, n, sizeof(set->ranges[0]));
	set->alloc = n;
	return true;
}

/*
 * One seq-number at *pos: "*" or an nz-number of at most 4294967295.
 * Advances *pos past it.
 */
static int
seqset_take_number(const char *in, size_t len, size_t *pos, uint32_t star,
                   uint32_t *n_r, bool *is_star_r, const char **error_r)
{
	size_t i = *pos;
	uint64_t n = 0;

	*is_star_r = false;
	if (i < len && in[i] == '*') {
		if (star == 0) {
			*error_r = "\"*\" used in an empty mailbox";
			return -1;
		}
		*n_r = star;
		*is_star_r = true;
		*pos = i + 1;
		return 0;
	}
	if (i >= len || in[i] < '1' || in[i] > '9') {
		*error_r = "invalid sequence set: number expected";
		return -1;
	}
	for (; i < len && in[i] >= '0' && in[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(in[i] - '0');
		if (n > UINT32_MAX) {
			*error_r = "invalid sequence set: number too large";
			return -1;
		}
	}
	*n_r = (uint32_t)n;
	*pos = i;
	return 0;
}

static int
seqset_range_cmp(const void *a, const void *b)
{
	const struct imap_seqset_range *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return 0;
}

/* Sorts the ranges and merges those that overlap or touch. */
static void
seqset_normalize(struct imap_seqset *set)
{
	size_t out = 0;

	if (set->count == 0)
		return;
	qsort(set->ranges, set->count, sizeof(set->ranges[0]),
	      seqset_range_cmp);
	for (size_t i = 1; i < set->count; i++) {
		struct imap_seqset_range *r = &set->ranges[i];
		struct imap_seqset_range *o = &set->ranges[out];

		if ((uint64_t)o->last + 1 >= r->first) {
			if (r->last > o->last)
				o->last = r->last;
		} else {
			set->ranges[++out] = *r;
		}
	}
	set->count = out + 1;
}

int
imap_seqset_parse(struct imap_seqset *set, const char *in, size_t len,
                  enum imap_seqset_kind kind, uint32_t star,
                  const char **error_r)
{
	size_t pos = 0;

	set->count = 0;
	for (;;) {
		uint32_t a, b;
		bool a_star, b_star;

		if (seqset_take_number(in, len, &pos, star, &a, &a_star,
		                       error_r) != 0)
			goto fail;
		b = a;
		b_star = a_star;
		if (pos < len && in[pos] == ':') {
			pos++;
			if (seqset_take_number(in, len, &pos, star, &b, &b_star,
			                       error_r) != 0)
				goto fail;
		}
		if (kind == IMAP_SEQSET_SEQ && (a > star || b > star)) {
			*error_r = "message sequence number out of range";
			goto fail;
		}
		if (!seqset_reserve(set)) {
			*error_r = "sequence set has too many ranges";
			goto fail;
		}
		set->ranges[set->count].first = a < b ? a : b;
		set->ranges[set->count].last = a < b ? b : a;
		set->count++;
		if (pos == len)
			break;
		if (in[pos] != ',') {
			*error_r = "invalid sequence set: unexpected character";
			goto fail;
		}
		pos++;
	}
	seqset_normalize(set);
	return 0;
fail:
	set->count = 0;
	return -1;
}

/* The first range whose last number is at least n - 1 (it may merge). */
static size_t
seqset_lower(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((uint64_t)set->ranges[mid].last + 1 >= n)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The first range that starts after n + 1 (it cannot merge), from lo. */
static size_t
seqset_upper(const struct imap_seqset *set, size_t lo, uint32_t n)
{
	size_t hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->ranges[mid].first > (uint64_t)n + 1)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

int
imap_seqset_add(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	struct imap_seqset_range r;
	size_t i, j;

	if (first == 0 || last == 0)
		return -1;
	r.first = first < last ? first : last;
	r.last = first < last ? last : first;
	i = seqset_lower(set, r.first);
	j = seqset_upper(set, i, r.last);
	if (i == j) {
		/* Touches nothing: a new range at i. */
		if (!seqset_reserve(set))
			return -1;
		memmove(&set->ranges[i + 1], &set->ranges[i],
		        (set->count - i) * sizeof(set->ranges[0]));
		set->ranges[i] = r;
		set->count++;
		return 0;
	}
	/* Ranges i..j-1 overlap or touch r: they become one. */
	if (set->ranges[i].first < r.first)
		r.first = set->ranges[i].first;
	if (set->ranges[j - 1].last > r.last)
		r.last = set->ranges[j - 1].last;
	set->ranges[i] = r;
	memmove(&set->ranges[i + 1], &set->ranges[j],
	        (set->count - j) * sizeof(set->ranges[0]));
	set->count -= j - i - 1;
	return 0;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	/* lo becomes the number of ranges that start at n or before. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (set->ranges[mid].first <= n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && set->ranges[lo - 1].last >= n;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t n = 0;

	for (size_t i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].last - set->ranges[i].first + 1;
	return n;
}

int
imap_seqset_format(const struct imap_seqset *set, struct sb_buf *out)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seqset_range *r = &set->ranges[i];
		int ret;

		if (i > 0 && sb_buf_add_char(out, ',') != 0)
			return -1;
		if (r->first == r->last)
			ret = sb_buf_add_printf(out, "%" PRIu32, r->first);
		else
			ret = sb_buf_add_printf(out, "%" PRIu32 ":%" PRIu32,
			                        r->first, r->last);
		if (ret != 0)
			return -1;
	}
	return 0;
}

void
imap_seqset_iter_init(struct imap_seqset_iter *it,
                      const struct imap_seqset *set)
{
	it->set = set;
	it->range = 0;
	it->next = set->count > 0 ? set->ranges[0].first : 0;
}

bool
imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r)
{
	const struct imap_seqset *set = it->set;

	if (it->range >= set->count)
		return false;
	*n_r = (uint32_t)it->next;
	if (it->next < set->ranges[it->range].last) {
		it->next++;
	} else if (++it->range < set->count) {
		it->next = set->ranges[it->range].first;
	}
	return true;
}
