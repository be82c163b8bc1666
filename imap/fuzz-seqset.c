/*
 * Fuzz target for the sequence-set parser. The first byte picks the kind,
 * the value of "*" and sometimes a small maximum of ranges; the rest is
 * the set. When it parses, the ranges must be sorted, disjoint, apart and
 * within bounds; the compact form must parse back to the same ranges;
 * adding the ranges one by one in reverse must build the same set; and
 * membership, count and iteration must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/seqset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-seqset: %s\n", what);
	abort();
}

static void
fuzz_check_same(const struct imap_seqset *a, const struct imap_seqset *b)
{
	if (a->count != b->count ||
	    (a->count > 0 && memcmp(a->ranges, b->ranges,
	                            a->count * sizeof(a->ranges[0])) != 0))
		fuzz_fail("sets differ");
}

static void
fuzz_check_ranges(const struct imap_seqset *set, enum imap_seqset_kind kind,
                  uint32_t star)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seqset_range *r = &set->ranges[i];

		if (r->first == 0 || r->first > r->last)
			fuzz_fail("bad range");
		if (kind == IMAP_SEQSET_SEQ && r->last > star)
			fuzz_fail("sequence number past the count");
		if (i > 0 && (uint64_t)set->ranges[i - 1].last + 1 >= r->first)
			fuzz_fail("ranges not sorted and apart");
		if (!imap_seqset_contains(set, r->first) ||
		    !imap_seqset_contains(set, r->last) ||
		    imap_seqset_contains(set, r->first - 1))
			fuzz_fail("membership");
		if (r->last < UINT32_MAX &&
		    imap_seqset_contains(set, r->last + 1))
			fuzz_fail("membership past a range");
	}
}

/* Iterates at most 100000 numbers and checks them against the ranges. */
static void
fuzz_check_iter(const struct imap_seqset *set)
{
	struct imap_seqset_iter it;
	uint64_t seen = 0;
	uint32_t n, prev = 0;

	imap_seqset_iter_init(&it, set);
	while (seen < 100000 && imap_seqset_iter_next(&it, &n)) {
		if (n <= prev || !imap_seqset_contains(set, n))
			fuzz_fail("iteration");
		prev = n;
		seen++;
	}
	if (seen < 100000 && seen != imap_seqset_count(set))
		fuzz_fail("iteration count");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t stars[] = {0, 1, 7, 100, 4294967295u};
	struct imap_seqset set, again, built;
	enum imap_seqset_kind kind;
	const char *error = NULL;
	struct sb_buf out;
	uint32_t star;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? IMAP_SEQSET_UID : IMAP_SEQSET_SEQ;
	star = stars[(data[0] >> 1) % SB_N_ELEMENTS(stars)];
	imap_seqset_init(&set, data[0] & 0x80 ? 1 + (data[0] >> 4 & 7) : 0);
	imap_seqset_init(&again, set.max_ranges);
	imap_seqset_init(&built, set.max_ranges);
	if (imap_seqset_parse(&set, (const char *)data + 1, size - 1, kind,
	                      star, &error) != 0) {
		if (error == NULL || set.count != 0)
			fuzz_fail("error without a message, or a set");
		goto done;
	}
	if (set.count == 0)
		fuzz_fail("empty set parsed");
	fuzz_check_ranges(&set, kind, star);
	fuzz_check_iter(&set);
	sb_buf_init(&out, 1 << 24);
	if (imap_seqset_format(&set, &out) != 0 ||
	    imap_seqset_parse(&again, out.data, out.len, IMAP_SEQSET_UID, 1,
	                      &error) != 0)
		fuzz_fail("the compact form does not parse");
	fuzz_check_same(&set, &again);
	sb_buf_free(&out);
	for (size_t i = set.count; i > 0; i--) {
		if (imap_seqset_add(&built, set.ranges[i - 1].last,
		                    set.ranges[i - 1].first) != 0)
			fuzz_fail("add");
	}
	fuzz_check_same(&set, &built);
done:
	imap_seqset_free(&set);
	imap_seqset_free(&again);
	imap_seqset_free(&built);
	return 0;
}
