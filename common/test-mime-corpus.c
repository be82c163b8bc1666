/*
 * The part-tree parser on large and real-world input: a multi-megabyte
 * base64 attachment (offsets right, memory bounded), and, when Debian's
 * libpython3.11-testsuite is installed, Python's email test messages.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/mime.h"
#include "test-mime-util.h"
#include "test.h"

#define PY_EMAIL_DATA "/usr/lib/python3.11/test/test_email/data"

static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends `n` pseudo-random bytes base64-encoded in 76-column lines. */
static void
add_base64(struct sb_buf *b, size_t n)
{
	uint32_t x = 12345;
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned char in[3];
		char out[4];

		for (int k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			in[k] = (unsigned char)(x >> 16);
		}
		out[0] = b64[in[0] >> 2];
		out[1] = b64[((in[0] & 3) << 4) | (in[1] >> 4)];
		out[2] = b64[((in[1] & 15) << 2) | (in[2] >> 6)];
		out[3] = b64[in[2] & 63];
		TEST_ASSERT(sb_buf_add(b, out, 4) == 0);
		col += 4;
		if (col == 76) {
			TEST_ASSERT(sb_buf_add(b, "\r\n", 2) == 0);
			col = 0;
		}
	}
	if (col > 0)
		TEST_ASSERT(sb_buf_add(b, "\r\n", 2) == 0);
}

static void
test_big_attachment(void)
{
	static const char head[] =
	        "From: a@example.org\r\n"
	        "Content-Type: multipart/mixed; boundary=\"=_big\"\r\n\r\n"
	        "--=_big\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
	        "--=_big\r\nContent-Type: application/octet-stream\r\n"
	        "Content-Transfer-Encoding: base64\r\n\r\n";
	const size_t raw = 57 * 55189; /* about 3 MB, whole 76-column lines */
	struct mime_parser_stats stats;
	struct mime_parser *p;
	struct mime_part *root, *att;
	struct sb_buf b;
	size_t len, body_off, body_len;
	char *msg;

	sb_buf_init(&b, 8 * 1024 * 1024);
	TEST_ASSERT(sb_buf_add_str(&b, head) == 0);
	body_off = sb_buf_len(&b);
	add_base64(&b, raw);
	body_len = sb_buf_len(&b) - body_off - 2;
	TEST_ASSERT(sb_buf_add_str(&b, "--=_big--\r\n") == 0);
	msg = sb_buf_take(&b, &len);

	/* 4/3 of the bytes plus CRLF per 76 columns. */
	TEST_EQ_UINT(body_len, raw / 57 * 78 - 2);
	p = mime_parser_new(NULL);
	for (size_t pos = 0; pos < len; pos += 4093)
		mime_parser_feed(p, msg + pos,
		                 len - pos < 4093 ? len - pos : 4093);
	mime_parser_get_stats(p, &stats);
	root = mime_parser_finish(&p);
	TEST_EQ_UINT(stats.bytes, len);
	TEST_EQ_UINT(stats.parts, 3);
	/* Only header blocks (and a delimiter's first bytes) were held. */
	TEST_ASSERT(stats.peak_buffered <= 128);
	TEST_EQ_UINT(stats.header_buffered, 72 + 28 + 77);

	TEST_EQ_UINT(root->child_count, 2);
	att = root->children->next;
	TEST_EQ_STR(att->encoding, "base64");
	TEST_EQ_UINT(att->body.offset, body_off);
	TEST_EQ_UINT(att->body.size, body_len);
	TEST_EQ_UINT(att->body.lines, raw / 57 - 1);
	TEST_EQ_UINT(root->body.offset + root->body.size, len);
	{
		const char *error = NULL;

		if (mime_part_check(root, msg, len, &error) != 0)
			test_fail(__FILE__, __LINE__, "%s", error);
	}
	tmu_assert_tiling(root, len);
	mime_part_free(&root);

	/* Random pieces give the same tree. */
	root = mime_parse(msg, len, NULL);
	att = tmu_parse_random(msg, len, 7, 65536, NULL);
	{
		const char *error = NULL;

		if (mime_part_compare(root, att, &error) != 0)
			test_fail(__FILE__, __LINE__, "%s", error);
	}
	mime_part_free(&att);
	mime_part_free(&root);
	free(msg);
}

/*
 * The structure of a few of Python's samples, as its email package sees
 * it: a parser that made one leaf of everything would fail here.
 */
struct py_expect {
	const char *name;
	const char *type; /* top level, "type/subtype" */
	unsigned children;
	const char *first; /* the first child's type, or NULL */
};

static const struct py_expect py_expected[] = {
        {"msg_01.txt", "text/plain", 0, NULL},
        {"msg_02.txt", "multipart/mixed", 4, "text/plain"},
        {"msg_06.txt", "message/rfc822", 1, "text/plain"},
        {"msg_10.txt", "multipart/mixed", 5, "text/plain"},
        {"msg_28.txt", "multipart/digest", 2, "message/rfc822"},
        {"msg_38.txt", "multipart/mixed", 3, "multipart/mixed"},
        {"msg_39.txt", "multipart/mixed", 2, "multipart/mixed"},
        {"msg_45.txt", "multipart/signed", 2, "text/plain"},
};

static bool
part_is(const struct mime_part *part, const char *type)
{
	size_t n = strlen(part->type);

	return strncmp(type, part->type, n) == 0 && type[n] == '/' &&
	       strcmp(type + n + 1, part->subtype) == 0;
}

/* Checks root against py_expected when name is listed; true if so. */
static bool
check_py_structure(const char *name, const struct mime_part *root)
{
	for (size_t i = 0; i < SB_N_ELEMENTS(py_expected); i++) {
		const struct py_expect *e = &py_expected[i];

		if (strcmp(e->name, name) != 0)
			continue;
		if (!part_is(root, e->type) || root->child_count != e->children)
			test_fail(__FILE__, __LINE__,
			          "%s: %s/%s with %u children, want %s with %u",
			          name, root->type, root->subtype,
			          root->child_count, e->type, e->children);
		if (e->first != NULL && !part_is(root->children, e->first))
			test_fail(__FILE__, __LINE__,
			          "%s: first child %s/%s, want %s", name,
			          root->children->type, root->children->subtype,
			          e->first);
		return true;
	}
	return false;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_python_samples(void)
{
	DIR *d = opendir(PY_EMAIL_DATA);
	struct dirent *de;
	char **names = NULL;
	size_t count = 0, alloc = 0, checked = 0;

	if (d == NULL) {
		printf("note: %s missing (install libpython3.11-testsuite); "
		       "skipped\n",
		       PY_EMAIL_DATA);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "msg_", 4) != 0)
			continue;
		if (count == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			names = sb_reallocarray(names, alloc, sizeof(names[0]));
		}
		names[count++] = sb_strdup(de->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof(names[0]), name_cmp);
	TEST_ASSERT(count > 10);
	for (size_t i = 0; i < count; i++) {
		char path[512];
		struct mime_part *root;
		size_t len;
		char *data;

		(void)snprintf(path, sizeof(path), "%s/%s", PY_EMAIL_DATA,
		               names[i]);
		data = test_read_file(path, &len);
		/* Checks invariants, whole vs byte-at-a-time vs pieces. */
		root = tmu_parse_all_ways(data, len, NULL);
		if (check_py_structure(names[i], root))
			checked++;
		mime_part_free(&root);
		free(data);
		free(names[i]);
	}
	TEST_EQ_UINT(checked, SB_N_ELEMENTS(py_expected));
	printf("note: %zu python email samples parsed, %zu structures "
	       "checked\n",
	       count, checked);
	free(names);
}

static const struct test_case cases[] = {
        {"big attachment", test_big_attachment},
        {"python email samples", test_python_samples},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
