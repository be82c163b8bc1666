/*
 * MIME structure parsing throughput, against the least work any parser
 * must do over the same bytes in the same run: finding every line end with
 * memchr. The message is a multipart/mixed with a text part, an HTML part
 * and a base64 attachment, fed in 64 KiB pieces as it would stream from
 * disk. The ratio (parser / baseline) is how close the parser comes to a
 * bare scan; memory is the most input the parser held at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common/buf.h"
#include "common/mime.h"

struct job {
	char *msg;
	size_t len;
	size_t lines;
	size_t peak;
};

/* Builds a message of about `size` bytes. */
static void
make_message(struct job *j, size_t size)
{
	struct sb_buf b;
	size_t i;

	sb_buf_init(&b, size + 4096);
	if (sb_buf_add_str(&b,
	                   "From: alice@example.org\r\n"
	                   "To: bob@example.org\r\n"
	                   "Subject: quarterly figures\r\n"
	                   "MIME-Version: 1.0\r\n"
	                   "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
	                   "\r\npreamble\r\n--b1\r\n"
	                   "Content-Type: text/plain; charset=utf-8\r\n\r\n"
	                   "Hello Bob,\r\nthe figures are attached.\r\n"
	                   "--b1\r\nContent-Type: text/html\r\n\r\n"
	                   "<p>Hello Bob,</p>\r\n--b1\r\n"
	                   "Content-Type: application/pdf; name=q.pdf\r\n"
	                   "Content-Transfer-Encoding: base64\r\n\r\n") != 0)
		abort();
	for (i = 0; b.len + 80 < size; i++) {
		if (sb_buf_add_str(
		            &b, "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGgg"
		                "NiAwIFIvRmlsdGVyIC9GbGF0ZURlY29kZT4+CnN0cmVh"
		                "\r\n") != 0)
			abort();
	}
	if (sb_buf_add_str(&b, "--b1--\r\nepilogue\r\n") != 0)
		abort();
	j->len = b.len;
	j->msg = sb_buf_take(&b, NULL);
}

static void
parse(void *arg)
{
	struct job *j = arg;
	struct mime_parser *p = mime_parser_new(NULL);
	struct mime_parser_stats st;
	struct mime_part *root;
	size_t off, n;

	for (off = 0; off < j->len; off += n) {
		n = j->len - off < 65536 ? j->len - off : 65536;
		mime_parser_feed(p, j->msg + off, n);
	}
	mime_parser_get_stats(p, &st);
	j->peak = st.peak_buffered;
	root = mime_parser_finish(&p);
	if (root == NULL || root->child_count != 3)
		abort();
	mime_part_free(&root);
}

static void
scan_lines(void *arg)
{
	struct job *j = arg;
	const char *p = j->msg, *end = j->msg + j->len, *nl;
	size_t lines = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p = nl + 1;
	}
	j->lines = lines;
}

int
main(int argc, char **argv)
{
	struct bench_report *r = bench_report_new(argc, argv);
	size_t size = bench_report_quick(r) ? 200 * 1000 : 20 * 1000 * 1000;
	int rounds = bench_report_quick(r) ? 1 : 5;
	struct job j;
	double t_parse, t_scan, mb;

	memset(&j, 0, sizeof(j));
	make_message(&j, size);
	mb = (double)j.len / 1e6;
	t_parse = bench_best_of(rounds, parse, &j);
	t_scan = bench_best_of(rounds, scan_lines, &j);
	bench_report_add(r,
	                 bench_report_quick(r) ? "mime_parse_quick"
	                                       : "mime_parse_20MB",
	                 mb / t_parse, "MB/s", "memchr_line_scan", mb / t_scan);
	bench_report_add(r, "mime_peak_buffered", (double)j.peak, "bytes",
	                 "message_size", (double)j.len);
	free(j.msg);
	return bench_report_finish(&r);
}
