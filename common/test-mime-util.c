#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "test-mime-util.h"
#include "test.h"

struct mime_part *
tmu_parse_chunked(const char *data, size_t len, size_t chunk,
                  const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);
	size_t pos = 0;

	if (chunk == 0)
		chunk = len;
	while (pos < len) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		mime_parser_feed(p, data + pos, n);
		pos += n;
	}
	return mime_parser_finish(&p);
}

struct mime_part *
tmu_parse_random(const char *data, size_t len, unsigned seed, size_t max,
                 const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);
	size_t pos = 0;
	uint32_t x = seed * 2654435761u + 1;

	while (pos < len) {
		size_t n;

		/* xorshift32: a fixed sequence for a fixed seed. */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		n = 1 + x % max;
		if (n > len - pos)
			n = len - pos;
		mime_parser_feed(p, data + pos, n);
		pos += n;
	}
	return mime_parser_finish(&p);
}

struct tmu_span {
	uint64_t start, end;
};

struct tmu_spans {
	struct tmu_span *v;
	size_t count, alloc;
};

static void
tmu_add(struct tmu_spans *s, uint64_t start, uint64_t end)
{
	if (start == end)
		return;
	TEST_ASSERT(start < end);
	if (s->count == s->alloc) {
		s->alloc = s->alloc == 0 ? 64 : s->alloc * 2;
		s->v = sb_reallocarray(s->v, s->alloc, sizeof(s->v[0]));
	}
	s->v[s->count].start = start;
	s->v[s->count++].end = end;
}

static int
tmu_span_cmp(const void *a, const void *b)
{
	const struct tmu_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The spans a part contributes that belong to no child. */
static void
tmu_part_spans(const struct mime_part *part, struct tmu_spans *s)
{
	uint64_t pos = part->body.offset;
	uint64_t end = part->body.offset + part->body.size;
	const struct mime_part *c;

	tmu_add(s, part->header.offset,
	        part->header.offset + part->header.size);
	if (part->children == NULL) {
		tmu_add(s, pos, end);
		return;
	}
	/* Preamble and delimiters, between children, then the epilogue. */
	for (c = part->children; c != NULL; c = c->next) {
		tmu_add(s, pos, c->header.offset);
		pos = c->body.offset + c->body.size;
	}
	tmu_add(s, pos, end);
}

void
tmu_assert_tiling(const struct mime_part *root, size_t len)
{
	struct tmu_spans s = {0};
	struct mime_part *part;
	uint64_t pos = 0;

	for (part = (struct mime_part *)root; part != NULL;
	     part = mime_part_next(part, root))
		tmu_part_spans(part, &s);
	if (s.count > 0)
		qsort(s.v, s.count, sizeof(s.v[0]), tmu_span_cmp);
	for (size_t i = 0; i < s.count; i++) {
		if (s.v[i].start != pos)
			test_fail(__FILE__, __LINE__, "byte %llu: %s",
			          (unsigned long long)pos,
			          s.v[i].start < pos ? "counted twice"
			                             : "not accounted for");
		pos = s.v[i].end;
	}
	free(s.v);
	TEST_EQ_UINT(pos, len);
}

static void
tmu_assert_same(const struct mime_part *a, struct mime_part *b, const char *how)
{
	const char *error = NULL;

	if (mime_part_compare(a, b, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s: %s", how, error);
	mime_part_free(&b);
}

struct mime_part *
tmu_parse_all_ways(const char *data, size_t len,
                   const struct mime_limits *limits)
{
	struct mime_part *root = mime_parse(data, len, limits);
	const char *error = NULL;

	if (mime_part_check(root, data, len, &error) != 0)
		test_fail(__FILE__, __LINE__, "invariant: %s", error);
	tmu_assert_tiling(root, len);
	tmu_assert_same(root, tmu_parse_chunked(data, len, 1, limits),
	                "one byte at a time");
	tmu_assert_same(root, tmu_parse_chunked(data, len, 7, limits),
	                "7-byte pieces");
	for (unsigned seed = 1; seed <= 4; seed++)
		tmu_assert_same(root,
		                tmu_parse_random(data, len, seed, 64, limits),
		                "random pieces");
	return root;
}
