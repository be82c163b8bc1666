/*
 * Fuzz target for BODYSTRUCTURE, BODY, ENVELOPE and the section map: any
 * bytes as a message. The first byte chooses small MIME limits now and
 * then; the rest is the message. BODY and BODYSTRUCTURE must be one body
 * each by RFC 3501's grammar (test-imap-syntax.h), the root's ENVELOPE
 * one envelope, and every part they describe must have, at its section
 * number, exactly the size and the line count they give.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/bodystructure.h"
#include "imap/envelope.h"
#include "test-imap-syntax.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_msg {
	const struct mime_part *root;
	const char *msg;
	size_t len;
};

static void
fuzz_fail(const char *what, const char *error)
{
	fprintf(stderr, "fuzz-bodystructure: %s: %s\n", what, error);
	abort();
}

static uint64_t
fuzz_count_lf(const char *p, uint64_t len)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < len; i++)
		n += p[i] == '\n';
	return n;
}

/* A part the text described: its section must hold what it says. */
static void
fuzz_check_part(void *context, const struct tis_part *part)
{
	const struct fuzz_msg *m = context;
	struct imap_fetch_body section;
	struct imap_section_range range;
	const char *error = NULL;

	if (imap_section_parse(part->section, strlen(part->section), &section,
	                       &error) != 0)
		fuzz_fail(part->section, error);
	if (imap_section_find(m->root, m->len, &section, &range, &error) != 0)
		fuzz_fail(part->section, error);
	if (range.offset > m->len || range.size > m->len - range.offset)
		fuzz_fail(part->section, "range outside the message");
	if (range.size != part->size)
		fuzz_fail(part->section, "size");
	if ((part->text || part->message) &&
	    fuzz_count_lf(m->msg + range.offset, range.size) != part->lines)
		fuzz_fail(part->section, "lines");
}

static void
fuzz_check_structure(const struct fuzz_msg *m, bool extended)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 1 << 26);
	if (imap_bodystructure_write(m->root, m->msg, m->len, extended, &out) !=
	    0)
		fuzz_fail("write", "failed");
	if (tis_check_body(sb_buf_str(&out), out.len, extended, fuzz_check_part,
	                   (void *)m, &error) != 0)
		fuzz_fail(extended ? "BODYSTRUCTURE" : "BODY", error);
	if (tis_check_balanced(sb_buf_str(&out), out.len, &error) != 0)
		fuzz_fail("balanced", error);
	sb_buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits limits = {0};
	struct imap_section_range range;
	struct imap_fetch_body section = {.text = IMAP_SECTION_TEXT};
	struct fuzz_msg m;
	struct mime_part *root;
	struct sb_buf out;
	const char *error = NULL;

	if (size < 1)
		return 0;
	if (data[0] & 0x80) {
		limits.max_depth = 1 + data[0] % 4;
		limits.max_parts = 1 + data[0] % 7;
		limits.max_header_size = 16 + data[0] % 64;
		limits.max_params = 1 + data[0] % 3;
	}
	m.msg = (const char *)data + 1;
	m.len = size - 1;
	root = mime_parse(m.msg, m.len, &limits);
	m.root = root;
	fuzz_check_structure(&m, true);
	fuzz_check_structure(&m, false);

	sb_buf_init(&out, 1 << 24);
	if (imap_envelope_write(m.msg + root->header.offset,
	                        (size_t)root->header.size, &out) != 0)
		fuzz_fail("envelope", "failed");
	if (tis_check_envelope(sb_buf_str(&out), out.len, &error) != 0)
		fuzz_fail("ENVELOPE", error);
	sb_buf_free(&out);

	/* BODY[TEXT] and BODY[HEADER] tile the message. */
	if (imap_section_find(root, m.len, &section, &range, &error) != 0 ||
	    range.offset + range.size != m.len)
		fuzz_fail("TEXT", "not the end of the message");
	section.text = IMAP_SECTION_HEADER;
	if (imap_section_find(root, m.len, &section, &range, &error) != 0 ||
	    range.offset != 0)
		fuzz_fail("HEADER", "not the start of the message");
	mime_part_free(&root);
	return 0;
}
