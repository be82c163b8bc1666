/*
 * The part-tree parser on the hand-written messages of testdata/mime/:
 * the expected trees below were counted from the files by hand. Every
 * message is also fed one byte at a time and in random pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/mime.h"
#include "test-mime-util.h"
#include "test-secret.h"
#include "test.h"

#define F_DEF   MIME_PART_FLAG_DEFAULT_TYPE
#define F_NOEND MIME_PART_FLAG_NO_END_BOUNDARY
#define F_8BIT  MIME_PART_FLAG_HEADER_8BIT

/* One part in depth-first order. */
struct exp_part {
	unsigned depth;
	const char *type; /* "type/subtype" */
	uint64_t hoff, hsize, hlines;
	uint64_t boff, bsize, blines;
	unsigned flags;
};

struct exp_msg {
	const char *file;
	size_t size;
	bool bare_lf; /* every line ends in bare LF (else all in CRLF) */
	const struct exp_part *parts;
	unsigned count;
};

#define EXP(file, size, bare, parts)                          \
	{                                                     \
		file, size, bare, parts, SB_N_ELEMENTS(parts) \
	}

static const struct exp_part exp_simple[] = {
        {0, "text/plain", 0, 150, 6, 150, 50, 5, F_DEF},
};

static const struct exp_part exp_nested[] = {
        {0, "multipart/mixed", 0, 149, 6, 149, 927, 44, 0},
        {1, "multipart/alternative", 208, 59, 3, 267, 488, 26, 0},
        {2, "text/plain", 276, 76, 3, 352, 27, 2, 0},
        {2, "multipart/related", 390, 69, 2, 459, 283, 14, 0},
        {3, "text/html", 468, 87, 3, 555, 38, 1, 0},
        {3, "image/png", 604, 113, 5, 717, 12, 0, 0},
        {1, "application/pdf", 768, 281, 8, 1049, 12, 0, 0},
};

static const struct exp_part exp_rfc822[] = {
        {0, "multipart/mixed", 0, 124, 5, 124, 420, 25, 0},
        {1, "text/plain", 133, 28, 2, 161, 28, 1, 0},
        {1, "message/rfc822", 200, 65, 3, 265, 266, 14, 0},
        {2, "multipart/alternative", 265, 125, 5, 390, 141, 9, 0},
        {3, "text/plain", 399, 46, 2, 445, 14, 0, 0},
        {3, "text/html", 470, 27, 2, 497, 21, 0, 0},
};

static const struct exp_part exp_digest[] = {
        {0, "multipart/digest", 0, 116, 5, 116, 221, 21, 0},
        {1, "message/rfc822", 123, 2, 1, 125, 45, 4, F_DEF},
        {2, "text/plain", 125, 37, 3, 162, 8, 1, F_DEF},
        {1, "message/rfc822", 179, 2, 1, 181, 92, 5, F_DEF},
        {2, "text/plain", 181, 83, 4, 264, 9, 1, 0},
        {1, "text/plain", 282, 28, 2, 310, 16, 1, 0},
};

static const struct exp_part exp_encoded[] = {
        {0, "text/plain", 0, 356, 9, 356, 8, 1, 0},
};

static const struct exp_part exp_2231[] = {
        {0, "multipart/mixed", 0, 120, 5, 120, 559, 21, 0},
        {1, "text/plain", 129, 173, 6, 302, 3, 0, 0},
        {1, "application/octet-stream", 316, 191, 5, 507, 3, 0, 0},
        {1, "text/plain", 521, 140, 3, 661, 5, 0, 0},
};

static const struct exp_part exp_nofinal[] = {
        {0, "multipart/mixed", 0, 67, 3, 67, 95, 8, F_NOEND},
        {1, "text/plain", 72, 28, 2, 100, 5, 0, 0},
        {1, "text/plain", 112, 28, 2, 140, 22, 1, 0},
};

static const struct exp_part exp_8bit[] = {
        {0, "multipart/mixed", 0, 103, 4, 103, 124, 6, F_8BIT},
        {1, "text/plain", 110, 101, 3, 211, 5, 0, F_8BIT},
};

static const struct exp_part exp_barelf[] = {
        {0, "multipart/alternative", 0, 108, 4, 108, 111, 13, 0},
        {1, "text/plain", 122, 26, 2, 148, 12, 2, 0},
        {1, "text/html", 166, 25, 2, 191, 11, 0, 0},
};

static const struct exp_part exp_prefix[] = {
        {0, "multipart/mixed", 0, 85, 3, 85, 239, 16, 0},
        {1, "multipart/alternative", 100, 57, 2, 157, 94, 7, F_NOEND},
        {2, "text/plain", 166, 28, 2, 194, 9, 0, 0},
        {2, "text/plain", 214, 28, 2, 242, 9, 0, 0},
        {1, "text/plain", 268, 28, 2, 296, 9, 0, 0},
};

static const struct exp_part exp_preamble[] = {
        {0, "multipart/mixed", 0, 80, 3, 80, 162, 11, 0},
        {1, "text/plain", 156, 28, 2, 184, 11, 1, 0},
};

static const struct exp_msg exp_msgs[] = {
        EXP("testdata/mime/simple.eml", 200, false, exp_simple),
        EXP("testdata/mime/nested.eml", 1076, false, exp_nested),
        EXP("testdata/mime/rfc822-attach.eml", 544, false, exp_rfc822),
        EXP("testdata/mime/digest.eml", 337, false, exp_digest),
        EXP("testdata/mime/encoded-words.eml", 364, false, exp_encoded),
        EXP("testdata/mime/rfc2231.eml", 679, false, exp_2231),
        EXP("testdata/mime/no-final-boundary.eml", 162, false, exp_nofinal),
        EXP("testdata/mime/8bit-headers.eml", 227, false, exp_8bit),
        EXP("testdata/mime/bare-lf.eml", 219, true, exp_barelf),
        EXP("testdata/mime/prefix-boundary.eml", 324, false, exp_prefix),
        EXP("testdata/mime/preamble-epilogue.eml", 242, false, exp_preamble),
};

static void
assert_part(const struct mime_part *part, const struct exp_part *e, bool bare)
{
	char type[128];

	(void)snprintf(type, sizeof(type), "%s/%s", part->type, part->subtype);
	TEST_EQ_STR(type, e->type);
	TEST_EQ_UINT(part->depth, e->depth);
	TEST_EQ_UINT(part->header.offset, e->hoff);
	TEST_EQ_UINT(part->header.size, e->hsize);
	TEST_EQ_UINT(part->header.lines, e->hlines);
	TEST_EQ_UINT(part->header.bare_lf, bare ? e->hlines : 0);
	TEST_EQ_UINT(part->body.offset, e->boff);
	TEST_EQ_UINT(part->body.size, e->bsize);
	TEST_EQ_UINT(part->body.lines, e->blines);
	TEST_EQ_UINT(part->body.bare_lf, bare ? e->blines : 0);
	TEST_EQ_UINT(part->flags, e->flags);
}

/* Parses a corpus file every way and checks its tree; returns it. */
static struct mime_part *
parse_expected(const struct exp_msg *m, char **data_r)
{
	struct mime_part *root, *part;
	size_t len;
	char *data = test_read_file(m->file, &len);
	unsigned i = 0;

	TEST_EQ_UINT(len, m->size);
	root = tmu_parse_all_ways(data, len, NULL);
	for (part = root; part != NULL; part = mime_part_next(part, root)) {
		if (i == m->count)
			test_fail(__FILE__, __LINE__, "%s: too many parts",
			          m->file);
		assert_part(part, &m->parts[i++], m->bare_lf);
	}
	TEST_EQ_UINT(i, m->count);
	*data_r = data;
	return root;
}

static struct mime_part *
nth_part(struct mime_part *root, unsigned n)
{
	struct mime_part *part = root;

	while (n-- > 0 && part != NULL)
		part = mime_part_next(part, root);
	TEST_ASSERT(part != NULL);
	return part;
}

static void
assert_param(const struct mime_params *params, const char *name,
             const char *value, const char *language)
{
	const struct mime_param *p = mime_params_find(params, name);

	if (p == NULL)
		test_fail(__FILE__, __LINE__, "no parameter %s", name);
	TEST_EQ_MEM(p->value, p->value_len, value, strlen(value));
	TEST_EQ_STR(p->language, language);
}

static void
test_corpus_trees(void)
{
	for (size_t i = 0; i < SB_N_ELEMENTS(exp_msgs); i++) {
		char *data;
		struct mime_part *root = parse_expected(&exp_msgs[i], &data);

		mime_part_free(&root);
		free(data);
	}
}

/* Looks up a corpus message by file name and parses it. */
static struct mime_part *
parse_file(const char *name, char **data_r)
{
	for (size_t i = 0; i < SB_N_ELEMENTS(exp_msgs); i++) {
		if (strstr(exp_msgs[i].file, name) != NULL)
			return parse_expected(&exp_msgs[i], data_r);
	}
	test_fail(__FILE__, __LINE__, "no corpus file %s", name);
}

static void
test_corpus_fields(void)
{
	struct mime_part *root, *p;
	char *data;

	root = parse_file("simple.eml", &data);
	assert_param(&root->params, "charset", "us-ascii", NULL);
	TEST_EQ_STR(root->encoding, "7bit");
	TEST_ASSERT(root->content_id == NULL && root->disposition == NULL);
	mime_part_free(&root);
	free(data);

	root = parse_file("nested.eml", &data);
	assert_param(&root->params, "boundary", "mixed-1", NULL);
	assert_param(&nth_part(root, 1)->params, "boundary", "alt-2", NULL);
	p = nth_part(root, 3);
	assert_param(&p->params, "boundary", "rel-3", NULL);
	assert_param(&p->params, "type", "text/html", NULL);
	p = nth_part(root, 4);
	TEST_EQ_STR(p->encoding, "quoted-printable");
	assert_param(&p->params, "charset", "utf-8", NULL);
	p = nth_part(root, 5);
	TEST_EQ_STR(p->encoding, "base64");
	TEST_EQ_STR(p->content_id, "<img1@x>");
	TEST_EQ_STR(p->disposition, "inline");
	TEST_EQ_UINT(p->disposition_params.count, 0);
	TEST_EQ_UINT(p->params.count, 0);
	p = nth_part(root, 6);
	assert_param(&p->params, "name", "doc.pdf", NULL);
	TEST_EQ_STR(p->disposition, "attachment");
	assert_param(&p->disposition_params, "filename", "doc.pdf", NULL);
	TEST_EQ_STR(p->description, "A document");
	TEST_EQ_STR(p->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	TEST_EQ_STR(p->language, "en, fr");
	TEST_EQ_STR(p->location, "http://example.org/doc.pdf");
	mime_part_free(&root);
	free(data);

	root = parse_file("digest.eml", &data);
	TEST_EQ_UINT(nth_part(root, 1)->params.count, 0);
	assert_param(&nth_part(root, 2)->params, "charset", "us-ascii", NULL);
	assert_param(&nth_part(root, 4)->params, "charset", "iso-8859-1", NULL);
	TEST_EQ_UINT(nth_part(root, 5)->params.count, 0);
	mime_part_free(&root);
	free(data);

	root = parse_file("encoded-words.eml", &data);
	assert_param(&root->params, "charset", "koi8-r", NULL);
	TEST_EQ_STR(root->encoding, "8bit");
	TEST_EQ_STR(root->description, "=?utf-8?q?r=C3=A9sum=C3=A9?=");
	mime_part_free(&root);
	free(data);

	root = parse_file("8bit-headers.eml", &data);
	assert_param(&nth_part(root, 1)->disposition_params, "filename",
	             "r\xc3\xa9sum\xc3\xa9.txt", NULL);
	mime_part_free(&root);
	free(data);
}

static void
test_corpus_rfc2231(void)
{
	struct mime_part *root, *p;
	char *data;

	root = parse_file("rfc2231.eml", &data);
	p = nth_part(root, 1);
	TEST_EQ_UINT(p->params.count, 2);
	assert_param(&p->params, "charset", "us-ascii", NULL);
	assert_param(&p->params, "format", "flowed", NULL);
	assert_param(&p->disposition_params, "filename", "very long name.txt",
	             NULL);
	TEST_ASSERT(p->disposition_params.v[0].extended);
	p = nth_part(root, 2);
	assert_param(&p->params, "name", "caf\xc3\xa9.txt", "fr");
	/* Sections given as 2, 0, 1. */
	assert_param(&p->disposition_params, "filename",
	             "na\xc3\xafve file\xe2\x82\xac.txt", "en");
	p = nth_part(root, 3);
	TEST_EQ_UINT(p->params.count, 2);
	TEST_EQ_STR(p->params.v[0].name, "title");
	assert_param(&p->params, "title", "This is ***fun***", NULL);
	assert_param(&p->params, "charset", "a \"quoted\" cs", NULL);
	mime_part_free(&root);
	free(data);
}

/*
 * A decrypted message's parameters, descriptions and the parser's own
 * copies of its header lines are wiped when they are given up.
 */
static void
test_text_wiped(void)
{
	static const char msg[] =
	        "Content-Type: application/pdf;\r\n"
	        " name*=utf-8'fr'plan%20secret%C3%A9.pdf\r\n"
	        "Content-Disposition: attachment; filename=\"plan.pdf\"\r\n"
	        "Content-Description: the secret plan\r\n"
	        "\r\n"
	        "body\r\n";
	struct mime_part *root;
	const void *name, *lang, *filename, *description;

	test_secret_watch();
	root = mime_parse(msg, sizeof(msg) - 1, NULL);
	/* The header line, the raw and the decoded parameters. */
	TEST_ASSERT(test_secret_count >= 3);
	assert_param(&root->params, "name", "plan secret\xc3\xa9.pdf", "fr");
	name = root->params.v[0].value;
	lang = root->params.v[0].language;
	filename = root->disposition_params.v[0].value;
	description = root->description;
	mime_part_free(&root);
	TEST_ASSERT(test_secret_wiped(name));
	TEST_ASSERT(test_secret_wiped(lang));
	TEST_ASSERT(test_secret_wiped(filename));
	TEST_ASSERT(test_secret_wiped(description));
	test_secret_unwatch();
}

/* Parses an in-memory message every way; returns the tree. */
static struct mime_part *
parse_str(const char *msg, const struct mime_limits *limits)
{
	return tmu_parse_all_ways(msg, strlen(msg), limits);
}

static void
test_broken_multipart(void)
{
	struct mime_part *root;

	/* No boundary parameter: text/plain, flagged. */
	root = parse_str("Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\n"
	                 "a\r\n--x--\r\n",
	                 NULL);
	TEST_EQ_STR(root->type, "text");
	TEST_EQ_STR(root->subtype, "plain");
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_NO_BOUNDARY);
	TEST_EQ_UINT(root->child_count, 0);
	TEST_EQ_UINT(root->body.size, 17);
	mime_part_free(&root);

	/* Boundary never found: the whole body is preamble. */
	root = parse_str("Content-Type: multipart/mixed; boundary=x\r\n\r\n"
	                 "--y\r\nhello\r\n--x-\r\n",
	                 NULL);
	TEST_EQ_STR(root->type, "multipart");
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_NO_END_BOUNDARY);
	TEST_EQ_UINT(root->child_count, 0);
	TEST_EQ_UINT(root->body.offset, 45);
	TEST_EQ_UINT(root->body.size, 18);
	TEST_EQ_UINT(root->body.lines, 3);
	mime_part_free(&root);

	/* The close delimiter is the last line, without line end; a
	   delimiter line may end in whitespace and bare CRs. */
	root = parse_str("Content-Type: multipart/mixed; boundary=x\n\n"
	                 "--x \t\r\r\n\nbody\n--x--",
	                 NULL);
	TEST_EQ_UINT(root->flags, 0);
	TEST_EQ_UINT(root->child_count, 1);
	TEST_EQ_UINT(root->children->header.offset, 51);
	TEST_EQ_UINT(root->children->header.size, 1);
	TEST_EQ_UINT(root->children->body.offset, 52);
	TEST_EQ_UINT(root->children->body.size, 4);
	TEST_EQ_UINT(root->children->body.lines, 0);
	TEST_EQ_UINT(root->body.size, 62 - 43);
	mime_part_free(&root);

	/* A non-close delimiter at EOF starts no part. */
	root = parse_str("Content-Type: multipart/mixed; boundary=x\n\n"
	                 "--x\n\na\n--x",
	                 NULL);
	TEST_EQ_UINT(root->child_count, 1);
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_NO_END_BOUNDARY);
	TEST_EQ_UINT(root->children->body.size, 1);
	mime_part_free(&root);
}

static void
test_mixed_line_ends(void)
{
	/* Offsets: 0 header (42 bytes + "\r\n"), 44 "--b\r\n",
	   49 child header "Content-Type: text/plain\n\n" (26),
	   75 "x\r\n" (the CRLF goes to the delimiter), 78 "--b--\n". */
	const char *msg = "Content-Type: multipart/mixed; boundary=b\n\r\n"
	                  "--b\r\nContent-Type: text/plain\n\nx\r\n--b--\n";
	struct mime_part *root = parse_str(msg, NULL), *c;

	TEST_EQ_UINT(root->header.size, 44);
	TEST_EQ_UINT(root->header.lines, 2);
	TEST_EQ_UINT(root->header.bare_lf, 1);
	TEST_EQ_UINT(root->body.size, 84 - 44);
	TEST_EQ_UINT(root->body.lines, 5);
	TEST_EQ_UINT(root->body.bare_lf, 3);
	c = root->children;
	TEST_EQ_UINT(c->header.offset, 49);
	TEST_EQ_UINT(c->header.size, 26);
	TEST_EQ_UINT(c->header.bare_lf, 2);
	TEST_EQ_UINT(c->body.offset, 75);
	TEST_EQ_UINT(c->body.size, 1);
	TEST_EQ_UINT(c->body.lines, 0);
	mime_part_free(&root);
}

static void
test_broken_headers(void)
{
	struct mime_part *root;
	static const char nul_msg[] = "Subject: a\0b\r\nContent-Type: text/"
	                              "html\r\n\r\nbo\0dy";

	/* No blank line before EOF: all header. */
	root = parse_str("Subject: x\r\nContent-Type: text/html", NULL);
	TEST_EQ_UINT(root->header.size, 35);
	TEST_EQ_UINT(root->body.offset, 35);
	TEST_EQ_UINT(root->body.size, 0);
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_HEADER_UNTERMINATED);
	TEST_EQ_STR(root->subtype, "html");
	mime_part_free(&root);

	root = parse_str("", NULL);
	TEST_EQ_UINT(root->header.size + root->body.size, 0);
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_HEADER_UNTERMINATED |
	                                  MIME_PART_FLAG_DEFAULT_TYPE);
	mime_part_free(&root);

	/* A line without colon is skipped; obsolete space before colon. */
	root = parse_str("Subject: a\r\nbogus line\r\n  more bogus\r\n"
	                 "Content-Type  : text/html\r\n\r\nx",
	                 NULL);
	TEST_EQ_STR(root->subtype, "html");
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_BAD_HEADER_LINE);
	mime_part_free(&root);

	root = tmu_parse_all_ways(nul_msg, sizeof(nul_msg) - 1, NULL);
	TEST_EQ_STR(root->subtype, "html");
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_HEADER_NUL);
	TEST_EQ_UINT(root->body.size, 5);
	mime_part_free(&root);

	/* Invalid Content-Type: text/plain; charset=us-ascii. */
	root = parse_str("Content-Type: text\r\n\r\n", NULL);
	TEST_EQ_STR(root->type, "text");
	TEST_EQ_UINT(root->params.count, 1);
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_BAD_CONTENT_TYPE);
	mime_part_free(&root);
}

/*
 * A part whose header is cut by a delimiter: the line end before the
 * delimiter still goes to the delimiter.
 */
static void
test_header_cut_by_boundary(void)
{
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                  "--b\r\nContent-Type: text/html\r\n--b\r\n--b--\r\n";
	struct mime_part *root = parse_str(msg, NULL), *c;

	TEST_EQ_UINT(root->child_count, 2);
	c = root->children;
	TEST_EQ_UINT(c->header.offset, 50);
	TEST_EQ_UINT(c->header.size, 23);
	TEST_EQ_UINT(c->header.lines, 0);
	TEST_EQ_UINT(c->body.offset, 73);
	TEST_EQ_UINT(c->body.size, 0);
	TEST_EQ_STR(c->subtype, "html");
	TEST_EQ_UINT(c->flags, MIME_PART_FLAG_HEADER_UNTERMINATED);
	c = c->next;
	TEST_EQ_UINT(c->header.offset, 80);
	TEST_EQ_UINT(c->header.size, 0);
	TEST_EQ_UINT(c->body.size, 0);
	mime_part_free(&root);
}

/* Builds an sb_buf message from repeated pieces. */
static char *
nested_multiparts(unsigned levels, size_t *len_r)
{
	struct sb_buf b;
	unsigned i;

	sb_buf_init(&b, 1 << 20);
	for (i = 0; i < levels; i++)
		TEST_ASSERT(sb_buf_add_printf(&b,
		                              "Content-Type: multipart/mixed; "
		                              "boundary=b%u\r\n\r\n--b%u\r\n",
		                              i, i) == 0);
	TEST_ASSERT(sb_buf_add_str(&b, "\r\nleaf\r\n") == 0);
	while (i-- > 0)
		TEST_ASSERT(sb_buf_add_printf(&b, "--b%u--\r\n", i) == 0);
	return sb_buf_take(&b, len_r);
}

static struct mime_part *
deepest(struct mime_part *root)
{
	struct mime_part *part, *deep = root;

	for (part = root; part != NULL; part = mime_part_next(part, root)) {
		if (part->depth > deep->depth)
			deep = part;
	}
	return deep;
}

static void
test_depth_limit(void)
{
	struct mime_limits limits = {.max_depth = 5};
	struct mime_part *root, *deep;
	struct sb_buf b;
	size_t len;
	char *msg = nested_multiparts(30, &len);

	root = tmu_parse_all_ways(msg, len, NULL);
	deep = deepest(root);
	TEST_EQ_UINT(deep->depth, 20);
	TEST_EQ_STR(deep->type, "multipart");
	TEST_EQ_UINT(deep->child_count, 0);
	TEST_EQ_UINT(deep->flags, MIME_PART_FLAG_DEPTH_LIMIT);
	/* It holds everything down to its parent's close delimiter. */
	TEST_EQ_UINT(deep->body.offset + deep->body.size,
	             (size_t)(strstr(msg, "\r\n--b19--") - msg));
	mime_part_free(&root);
	root = tmu_parse_all_ways(msg, len, &limits);
	TEST_EQ_UINT(deepest(root)->depth, 5);
	mime_part_free(&root);
	free(msg);

	/* Messages inside messages. */
	sb_buf_init(&b, 1 << 20);
	for (int i = 0; i < 50; i++)
		TEST_ASSERT(sb_buf_add_str(&b, "Content-Type: message/rfc822"
		                               "\r\n\r\n") == 0);
	TEST_ASSERT(sb_buf_add_str(&b, "\r\nbody\r\n") == 0);
	msg = sb_buf_take(&b, &len);
	root = tmu_parse_all_ways(msg, len, NULL);
	deep = deepest(root);
	TEST_EQ_UINT(deep->depth, 20);
	TEST_EQ_UINT(deep->flags, MIME_PART_FLAG_DEPTH_LIMIT);
	TEST_EQ_UINT(deep->body.offset, 21 * 32);
	TEST_EQ_UINT(deep->body.size, len - 21 * 32);
	mime_part_free(&root);
	free(msg);
}

static void
test_part_limit(void)
{
	struct mime_limits limits = {.max_parts = 3};
	const char *msg = "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	                  "--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n"
	                  "--b\r\n\r\n4\r\n--b--\r\n";
	struct mime_part *root = parse_str(msg, &limits), *c;

	TEST_EQ_UINT(root->child_count, 2);
	TEST_EQ_UINT(root->flags, 0);
	c = root->children->next;
	TEST_EQ_UINT(c->flags, MIME_PART_FLAG_PART_LIMIT | F_DEF);
	/* "2\r\n--b\r\n\r\n3\r\n--b\r\n\r\n4" */
	TEST_EQ_UINT(c->body.offset, 62);
	TEST_EQ_UINT(c->body.size, 21);
	TEST_EQ_UINT(c->body.lines, 6);
	mime_part_free(&root);
}

static void
test_header_limit(void)
{
	struct mime_limits limits = {.max_header_size = 64};
	struct mime_parser_stats stats;
	struct mime_parser *p;
	struct mime_part *root;
	char msg[512];
	int len;

	len = snprintf(msg, sizeof(msg),
	               "Content-Type: text/html\r\nX-Long: %0100d\r\n"
	               "Content-Disposition: inline\r\n\r\nbody",
	               0);
	TEST_ASSERT(len > 0 && (size_t)len < sizeof(msg));
	p = mime_parser_new(&limits);
	for (int i = 0; i < len; i++)
		mime_parser_feed(p, msg + i, 1);
	mime_parser_get_stats(p, &stats);
	TEST_EQ_UINT(stats.bytes, (unsigned)len);
	TEST_ASSERT(stats.peak_buffered <= 64);
	TEST_EQ_UINT(stats.header_buffered, 25);
	root = mime_parser_finish(&p);
	TEST_EQ_STR(root->subtype, "html");
	TEST_ASSERT(root->disposition == NULL);
	TEST_EQ_UINT(root->flags, MIME_PART_FLAG_HEADER_TRUNCATED);
	TEST_EQ_UINT(root->header.size, (unsigned)len - 4);
	TEST_EQ_UINT(root->body.size, 4);
	mime_part_free(&root);
	root = tmu_parse_all_ways(msg, (size_t)len, &limits);
	mime_part_free(&root);
}

static void
test_total_header_limit(void)
{
	/* Root header 52 bytes, then each child's 27: the third child's
	   header no longer fits in 120 bytes. */
	struct mime_limits limits = {.max_total_header_size = 120};
	const char *msg = "Content-Type: multipart/mixed; boundary=bb\r\n"
	                  "X: y\r\n\r\n"
	                  "--bb\r\nContent-Type: text/html\r\n\r\n1\r\n"
	                  "--bb\r\nContent-Type: text/html\r\n\r\n2\r\n"
	                  "--bb\r\nContent-Type: text/html\r\n\r\n3\r\n"
	                  "--bb--\r\n";
	struct mime_part *root = parse_str(msg, &limits), *c;

	TEST_EQ_UINT(root->header.size, 52);
	c = root->children;
	TEST_EQ_STR(c->subtype, "html");
	TEST_EQ_STR(c->next->subtype, "html");
	c = c->next->next;
	TEST_EQ_STR(c->subtype, "plain");
	TEST_EQ_UINT(c->flags, MIME_PART_FLAG_HEADER_TRUNCATED |
	                               MIME_PART_FLAG_DEFAULT_TYPE);
	TEST_EQ_UINT(c->header.size, 27);
	mime_part_free(&root);
}

static void
test_encoded_message_is_leaf(void)
{
	struct mime_part *root = parse_str(
	        "Content-Type: message/rfc822\r\n"
	        "Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0K\r\n",
	        NULL);

	TEST_EQ_UINT(root->child_count, 0);
	TEST_EQ_STR(root->encoding, "base64");
	mime_part_free(&root);
}

/* A folded Content-Transfer-Encoding with a comment is still 7bit. */
static void
test_folded_encoding(void)
{
	static const char msg[] = "Content-Type: message/rfc822\r\n"
	                          "Content-Transfer-Encoding: 7Bit\r\n"
	                          " (folded, with a comment)\r\n\r\n"
	                          "Subject: inner\r\n\r\nbody\r\n";
	struct mime_part *root = tmu_parse_all_ways(msg, strlen(msg), NULL);

	TEST_EQ_STR(root->encoding, "7bit");
	TEST_EQ_UINT(root->flags, 0);
	/* So the encapsulated message is looked into. */
	TEST_EQ_UINT(root->child_count, 1);
	TEST_EQ_STR(root->children->type, "text");
	mime_part_free(&root);
}

/* Only a token is taken; junk or nothing is flagged. */
static void
expect_encoding(const char *field, const char *want, unsigned flags)
{
	char msg[256];
	struct mime_part *root;

	snprintf(msg, sizeof(msg),
	         "Content-Type: text/plain\r\n"
	         "Content-Transfer-Encoding:%s\r\n\r\nbody\r\n",
	         field);
	root = mime_parse(msg, strlen(msg), NULL);
	if (strcmp(root->encoding, want) != 0)
		test_fail(__FILE__, __LINE__, "\"%s\": got \"%s\", want \"%s\"",
		          field, root->encoding, want);
	TEST_EQ_UINT(root->flags, flags);
	mime_part_free(&root);
}

static void
test_encoding_junk(void)
{
	const unsigned bad = MIME_PART_FLAG_BAD_ENCODING;

	expect_encoding(" Base64", "base64", 0);
	expect_encoding("\r\n\tquoted-printable", "quoted-printable", 0);
	expect_encoding(" (c) 8bit (c (nested))", "8bit", 0);
	expect_encoding(" 7bit\"x", "7bit", bad);
	expect_encoding(" 7bit; x=y", "7bit", bad);
	expect_encoding(" \"7bit\"", "7bit", bad);
	expect_encoding(" (only a comment)", "7bit", bad);
	expect_encoding("", "7bit", bad);
	expect_encoding(" x-uu\r\n  ", "x-uu", 0);
}

static const struct test_case cases[] = {
        {"corpus trees", test_corpus_trees},
        {"corpus fields", test_corpus_fields},
        {"corpus rfc2231", test_corpus_rfc2231},
        {"broken multipart", test_broken_multipart},
        {"mixed line ends", test_mixed_line_ends},
        {"broken headers", test_broken_headers},
        {"header cut by boundary", test_header_cut_by_boundary},
        {"depth limit", test_depth_limit},
        {"part limit", test_part_limit},
        {"header limit", test_header_limit},
        {"total header limit", test_total_header_limit},
        {"encoded message is a leaf", test_encoded_message_is_leaf},
        {"folded Content-Transfer-Encoding", test_folded_encoding},
        {"Content-Transfer-Encoding junk", test_encoding_junk},
        {"text wiped when freed", test_text_wiped},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
