/*
 * Fuzz target for the SMTP command parser. The first byte picks the line
 * limit (the AUTH limit, the command limit, or a small one so that every
 * limit is reached); the second seeds the sizes of the pieces fed. The
 * rest is a client's stream: its lines are read whole, one byte at a
 * time and in pseudo-random pieces, and the three transcripts must be
 * equal. Each line's verb is read, and its arguments as MAIL FROM and as
 * RCPT TO; a path taken must be well formed and must read back the same
 * when written again as "<address>" (the address is canonical). Any
 * difference aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "smtp/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what, const char *addr)
{
	fprintf(stderr, "fuzz-parser: %s: <%s>\n", what, addr);
	abort();
}

static void
fuzz_add(struct sb_buf *out, const void *p, size_t len)
{
	if (sb_buf_add(out, p, len) < 0)
		abort();
}

/* A path taken: its form, and the same read again from its text. */
static void
fuzz_check_path(const struct smtp_path *path, bool mail)
{
	char args[SMTP_PATH_MAX + 16];
	const struct smtp_error *e;
	struct smtp_mail_params params;
	struct smtp_path again;
	int n, ret;

	if (path->len > SMTP_PATH_MAX || path->addr[path->len] != '\0' ||
	    strlen(path->addr) != path->len || path->null != (path->len == 0))
		fuzz_fail("a path out of shape", path->addr);
	if (path->null)
		return;
	n = snprintf(args, sizeof(args), "%s<%s>",
	             mail ? "FROM:" : "TO:", path->addr);
	if (n < 0 || (size_t)n >= sizeof(args))
		fuzz_fail("a path too long to write", path->addr);
	ret = mail ? smtp_parse_mail(sb_sv(args, (size_t)n), &again, &params,
	                             &e)
	           : smtp_parse_rcpt(sb_sv(args, (size_t)n), &again, &e);
	if (ret < 0 || strcmp(again.addr, path->addr) != 0 ||
	    again.utf8 != path->utf8)
		fuzz_fail("a path that does not read back", path->addr);
}

/* What one line gives, into the transcript. */
static void
fuzz_line(struct sb_sv line, struct sb_buf *out)
{
	const struct smtp_error *e;
	struct smtp_mail_params params;
	struct smtp_path path;
	struct sb_sv verb, args;
	char text[64];
	int n;

	fuzz_add(out, "L ", 2);
	fuzz_add(out, line.p, line.len);
	if (smtp_parse_verb(line, &verb, &args) < 0) {
		fuzz_add(out, " -\n", 3);
		return;
	}
	if (smtp_parse_mail(args, &path, &params, &e) == 0) {
		fuzz_check_path(&path, true);
		n = snprintf(text, sizeof(text), " M%d%d%d%d%llu",
		             (int)params.body, params.smtputf8, params.has_auth,
		             params.has_size, (unsigned long long)params.size);
		fuzz_add(out, text, (size_t)n);
	}
	if (smtp_parse_rcpt(args, &path, &e) == 0)
		fuzz_check_path(&path, false);
	fuzz_add(out, "\n", 1);
}

/* Feeds the stream in pieces (piece 0: random sizes from seed). */
static void
fuzz_run(const char *in, size_t len, size_t max, size_t piece, uint32_t seed,
         struct sb_buf *out)
{
	static struct smtp_line_reader lr;
	size_t pos = 0, end, consumed, n;
	struct sb_sv line;
	int ret;

	smtp_line_init(&lr, max);
	while (pos < len) {
		n = piece;
		if (n == 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = 1 + seed % 64;
		}
		end = pos + n < len ? pos + n : len;
		while (pos < end) {
			ret = smtp_line_feed(&lr, in + pos, end - pos,
			                     &consumed, &line);
			if (consumed == 0 || consumed > end - pos)
				abort();
			pos += consumed;
			if (ret > 0)
				fuzz_line(line, out);
			else if (ret < 0)
				fuzz_add(out, "LONG\n", 5);
		}
	}
	smtp_line_wipe(&lr);
}

static void
fuzz_compare(const struct sb_buf *want, const struct sb_buf *got,
             const char *how)
{
	if (want->len != got->len ||
	    (want->len > 0 && memcmp(want->data, got->data, want->len) != 0)) {
		fprintf(stderr, "fuzz-parser: fed %s, the transcript differs\n",
		        how);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t limits[] = {SMTP_LINE_MAX, 510, 1022, 16};
	struct sb_buf want, got;
	const char *in = (const char *)data + 2;
	size_t len, max;

	if (size < 2)
		return 0;
	len = size - 2;
	max = limits[data[0] % 4];
	if (data[0] >= 0x80)
		max = 1 + data[0] % 64;
	sb_buf_init(&want, SIZE_MAX / 2);
	sb_buf_init(&got, SIZE_MAX / 2);
	fuzz_run(in, len, max, len > 0 ? len : 1, 0, &want);
	fuzz_run(in, len, max, 1, 0, &got);
	fuzz_compare(&want, &got, "one byte at a time");
	sb_buf_reset(&got);
	fuzz_run(in, len, max, 0, 2463534242u ^ data[1], &got);
	fuzz_compare(&want, &got, "in random pieces");
	sb_buf_free(&want);
	sb_buf_free(&got);
	return 0;
}
