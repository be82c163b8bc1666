/*
 * Fuzz target for the MIME part-tree parser. The first two bytes choose
 * where to split the rest and how small the limits are; the message is
 * parsed whole, in two pieces at that split, and one byte at a time (for
 * short inputs). Every tree must pass mime_part_check and all must be
 * equal, and every part must keep the promises of mime.h on its fields;
 * any difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/charset.h"
#include "common/mime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *error)
{
	fprintf(stderr, "fuzz-mime: %s: %s\n", what, error);
	abort();
}

static void
fuzz_check_same(const struct mime_part *whole, struct mime_part *other,
                const char *what)
{
	const char *error = NULL;

	if (mime_part_compare(whole, other, &error) != 0)
		fuzz_fail(what, error);
}

/* RFC 2231 values are UTF-8 (mime.h). */
static void
fuzz_check_params(const struct mime_params *params)
{
	for (unsigned i = 0; i < params->count; i++) {
		const struct mime_param *p = &params->v[i];

		if (p->extended && !sb_utf8_valid(p->value, p->value_len))
			fuzz_fail("parameter", "extended value not UTF-8");
	}
}

/* The encoding is one lowercase token (mime.h). */
static void
fuzz_check_encoding(const char *enc)
{
	if (enc[0] == '\0')
		fuzz_fail("encoding", "empty");
	for (const char *c = enc; *c != '\0'; c++) {
		unsigned char u = (unsigned char)*c;

		if (u <= ' ' || u == 0x7f || (u >= 'A' && u <= 'Z') ||
		    strchr("()<>@,;:\\\"/[]?=", *c) != NULL)
			fuzz_fail("encoding", enc);
	}
}

static void
fuzz_check_fields(struct mime_part *root)
{
	for (struct mime_part *p = root; p != NULL;
	     p = mime_part_next(p, root)) {
		fuzz_check_params(&p->params);
		fuzz_check_params(&p->disposition_params);
		fuzz_check_encoding(p->encoding);
	}
}

static struct mime_part *
fuzz_parse_split(const uint8_t *msg, size_t len, size_t split,
                 const struct mime_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);

	mime_parser_feed(p, msg, split);
	mime_parser_feed(p, msg + split, len - split);
	return mime_parser_finish(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits limits = {0};
	struct mime_part *whole, *other;
	struct mime_parser *p;
	const char *error = NULL;
	const uint8_t *msg;
	size_t len, split;

	if (size < 2)
		return 0;
	msg = data + 2;
	len = size - 2;
	split = len == 0 ? 0 : (data[0] * 257u + data[1]) % (len + 1);
	/* Small limits now and then, so that they are reached. */
	if (data[0] & 0x80) {
		limits.max_header_size = 1 + data[1] % 128;
		limits.max_total_header_size = 1 + data[1] * 3u;
		limits.max_depth = 1 + data[1] % 6;
		limits.max_parts = 1 + data[1] % 9;
		limits.max_boundary_len = 1 + data[1] % 16;
		limits.max_params = 1 + data[1] % 4;
		limits.max_param_sections = 1 + data[1] % 5;
	}

	whole = mime_parse(msg, len, &limits);
	if (mime_part_check(whole, msg, len, &error) != 0)
		fuzz_fail("invariant", error);
	fuzz_check_fields(whole);
	other = fuzz_parse_split(msg, len, split, &limits);
	fuzz_check_same(whole, other, "split in two");
	mime_part_free(&other);
	if (len <= 4096) {
		p = mime_parser_new(&limits);
		for (size_t i = 0; i < len; i++)
			mime_parser_feed(p, msg + i, 1);
		other = mime_parser_finish(&p);
		fuzz_check_same(whole, other, "one byte at a time");
		mime_part_free(&other);
	}
	mime_part_free(&whole);
	return 0;
}
