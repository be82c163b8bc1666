/*
 * The SMTP command parser: the line reader fed whole, one byte at a time,
 * in pieces of 2, 3 and 7 bytes and in random pieces (all must give the
 * same transcript); verbs; MAIL FROM and RCPT TO with the paths and
 * parameters real clients send, and the ones they must not.
 */
#include <stdio.h>
#include <string.h>

#include "common/buf.h"
#include "smtp/parser.h"
#include "test.h"

/* ---- The line reader ---- */

/* Appends bytes to a transcript, escaping what is not printable. */
static void
tr_add_bytes(struct sb_buf *out, const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\'
		            ? sb_buf_add_char(out, (char)c) < 0
		            : sb_buf_add_printf(out, "\\x%02x", c) < 0)
			test_fail(__FILE__, __LINE__, "transcript too long");
	}
}

/*
 * Feeds in to a reader in pieces of the given sizes (0: random ones from
 * seed) and writes what comes out: "L[line]" per line, "LONG" per line
 * too long, "PART n" for the bytes of a line not ended.
 */
static void
lines_run(const char *in, size_t len, size_t max, size_t piece, uint32_t seed,
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
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 9;
		}
		end = pos + n < len ? pos + n : len;
		while (pos < end) {
			ret = smtp_line_feed(&lr, in + pos, end - pos,
			                     &consumed, &line);
			TEST_ASSERT(consumed > 0 && consumed <= end - pos);
			pos += consumed;
			if (ret > 0) {
				TEST_ASSERT(line.p[line.len] == '\0');
				TEST_ASSERT(sb_buf_add_str(out, "L[") == 0);
				tr_add_bytes(out, line.p, line.len);
				TEST_ASSERT(sb_buf_add_str(out, "]") == 0);
			} else if (ret < 0) {
				TEST_ASSERT(sb_buf_add_str(out, "LONG") == 0);
			}
		}
	}
	if (lr.len > 0 || lr.too_long)
		TEST_ASSERT(sb_buf_add_printf(out, "PART %zu%s", lr.len,
		                              lr.too_long ? "+" : "") == 0);
	smtp_line_wipe(&lr);
}

struct line_case {
	const char *in;
	size_t len;
	size_t max;
	const char *expect;
};

#define LC(in, max, expect)                           \
	{                                             \
		(in), sizeof(in) - 1, (max), (expect) \
	}

static const struct line_case line_cases[] = {
        LC("EHLO client.example\r\n", 510, "L[EHLO client.example]"),
        LC("NOOP\n", 510, "L[NOOP]"),
        LC("MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n", 510,
           "L[MAIL FROM:<a@b>]L[RCPT TO:<c@d>]L[DATA]"),
        LC("A\rB\r\n", 510, "L[A\\x0dB]"),
        LC("\r\n\n", 510, "L[]L[]"),
        LC("A\0B\r\n", 510, "L[A\\x00B]"),
        LC("QUIT", 510, "PART 4"),
        LC("QUIT\r", 510, "PART 5"),
        /* The limit: 8 bytes, without the line end. */
        LC("12345678\r\n", 8, "L[12345678]"),
        LC("12345678\n", 8, "L[12345678]"),
        LC("123456789\r\n", 8, "LONG"),
        LC("123456789\n", 8, "LONG"),
        LC("12345678\r\r\n", 8, "LONG"),
        LC("123456789012345678901234567890\r\nNOOP\r\n", 8, "LONGL[NOOP]"),
        LC("1234567890123\r\n12\r\n123456789", 8, "LONGL[12]PART 9"),
        LC("12\r\n1234567890", 8, "L[12]PART 0+"),
        LC("1234567\r\n1234567890\nab\r\n", 8, "L[1234567]LONGL[ab]"),
};

static void
test_lines(void)
{
	static const size_t pieces[] = {1000000, 1, 2, 3, 7, 0, 0, 0};
	struct sb_buf got;
	size_t i, j;

	sb_buf_init(&got, 1u << 20);
	for (i = 0; i < SB_N_ELEMENTS(line_cases); i++) {
		const struct line_case *c = &line_cases[i];

		for (j = 0; j < SB_N_ELEMENTS(pieces); j++) {
			sb_buf_reset(&got);
			lines_run(c->in, c->len, c->max, pieces[j],
			          (uint32_t)j * 7919u, &got);
			if (strcmp(sb_buf_str(&got), c->expect) != 0) {
				test_dump("input", c->in, c->len);
				test_fail(__FILE__, __LINE__,
				          "pieces %zu: got %s, expected %s",
				          pieces[j], sb_buf_str(&got),
				          c->expect);
			}
		}
	}
	sb_buf_free(&got);
}

/* A line far longer than the buffer is thrown away, once. */
static void
test_lines_huge(void)
{
	static char in[100000];
	struct sb_buf got;

	memset(in, 'x', sizeof(in));
	memcpy(in + sizeof(in) - 8, "\r\nQUIT\r\n", 8);
	sb_buf_init(&got, 1u << 20);
	lines_run(in, sizeof(in), SMTP_LINE_MAX, 1000000, 0, &got);
	TEST_EQ_STR(sb_buf_str(&got), "LONGL[QUIT]");
	sb_buf_reset(&got);
	lines_run(in, sizeof(in), SMTP_LINE_MAX, 4096, 0, &got);
	TEST_EQ_STR(sb_buf_str(&got), "LONGL[QUIT]");
	sb_buf_free(&got);
}

/* Wiping leaves nothing of the lines given, and the next line intact. */
static void
test_lines_wipe(void)
{
	static const char in[] = "AUTH PLAIN c2VjcmV0\r\nNO";
	static struct smtp_line_reader lr;
	struct sb_sv line;
	size_t consumed, i;

	smtp_line_init(&lr, 100);
	TEST_EQ_INT(smtp_line_feed(&lr, in, sizeof(in) - 1, &consumed, &line),
	            1);
	TEST_EQ_UINT(consumed, 21);
	TEST_EQ_INT(smtp_line_feed(&lr, in + consumed, 2, &consumed, &line), 0);
	smtp_line_wipe(&lr);
	TEST_EQ_UINT(lr.len, 2);
	for (i = 2; i < sizeof(lr.buf); i++)
		TEST_ASSERT(lr.buf[i] == '\0');
	TEST_EQ_INT(smtp_line_feed(&lr, "OP\r\n", 4, &consumed, &line), 1);
	TEST_EQ_MEM(line.p, line.len, "NOOP", 4);
}

/* ---- Verbs ---- */

struct verb_case {
	const char *line;
	const char *verb; /* NULL: refused */
	const char *args;
};

static const struct verb_case verb_cases[] = {
        {"EHLO client.example", "EHLO", "client.example"},
        {"ehlo   [127.0.0.1]  ", "ehlo", "[127.0.0.1]"},
        {"QUIT", "QUIT", ""},
        {"QUIT ", "QUIT", ""},
        {"MAIL FROM:<a@b> SIZE=10", "MAIL", "FROM:<a@b> SIZE=10"},
        {"StartTLS", "StartTLS", ""},
        {"ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOP", ""},
        {"", NULL, NULL},
        {" EHLO x", NULL, NULL},
        {"MAIL:x", NULL, NULL},
        {"E1LO x", NULL, NULL},
        {"DATA\t", NULL, NULL},
        {"ABCDEFGHIJKLMNOPQ", NULL, NULL},
        {"\xc3\xa9HLO x", NULL, NULL},
};

static void
test_verbs(void)
{
	struct sb_sv verb, args;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(verb_cases); i++) {
		const struct verb_case *c = &verb_cases[i];
		int ret = smtp_parse_verb(sb_sv_cstr(c->line), &verb, &args);

		if (c->verb == NULL) {
			if (ret != -1)
				test_fail(__FILE__, __LINE__,
				          "\"%s\" was taken", c->line);
			continue;
		}
		if (ret != 0)
			test_fail(__FILE__, __LINE__, "\"%s\" was refused",
			          c->line);
		TEST_EQ_MEM(verb.p, verb.len, c->verb, strlen(c->verb));
		TEST_EQ_MEM(args.p, args.len, c->args, strlen(c->args));
	}
}

/* ---- MAIL FROM and RCPT TO ---- */

struct path_case {
	const char *args;
	size_t len;
	/* Taken: the address, and what the parameters said. */
	const char *addr;
	bool utf8;
	const char *params; /* "size=N body=B utf8 auth" as given */
	/* Refused: "501 5.1.7" */
	const char *error;
};

#define OK(args, addr, utf8, params)                                     \
	{                                                                \
		(args), sizeof(args) - 1, (addr), (utf8), (params), NULL \
	}
#define BAD(args, error)                                             \
	{                                                            \
		(args), sizeof(args) - 1, NULL, false, NULL, (error) \
	}

static const struct path_case mail_cases[] = {
        OK("FROM:<alice@example.org>", "alice@example.org", false, ""),
        OK("from:<Alice@Example.ORG>", "Alice@Example.ORG", false, ""),
        OK("FROM: <alice@example.org>", "alice@example.org", false, ""),
        OK("FROM:<>", "", false, ""),
        OK("FROM:<> SIZE=0", "", false, "size=0"),
        OK("FROM:<@relay.example,@[10.0.0.1]:alice@example.org>",
           "alice@example.org", false, ""),
        OK("FROM:<\"alice\"@example.org>", "alice@example.org", false, ""),
        OK("FROM:<\"a\\lice\"@example.org>", "alice@example.org", false, ""),
        OK("FROM:<\"a b\"@example.org>", "\"a b\"@example.org", false, ""),
        OK("FROM:<\"a\\\"b\"@example.org>", "\"a\\\"b\"@example.org", false,
           ""),
        OK("FROM:<\"\"@example.org>", "\"\"@example.org", false, ""),
        OK("FROM:<first.last+tag@mail.example.org>",
           "first.last+tag@mail.example.org", false, ""),
        OK("FROM:<!#$%&'*+-/=?^_`{|}~@x-y.example>",
           "!#$%&'*+-/=?^_`{|}~@x-y.example", false, ""),
        OK("FROM:<a@[127.0.0.1]>", "a@[127.0.0.1]", false, ""),
        OK("FROM:<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", false, ""),
        OK("FROM:<a@[x-tag:some.thing]>", "a@[x-tag:some.thing]", false, ""),
        OK("FROM:<a@xn--caf-dma.example>", "a@xn--caf-dma.example", false, ""),
        OK("FROM:<alice@example.org> SIZE=1000", "alice@example.org", false,
           "size=1000"),
        OK("FROM:<alice@example.org> SIZE=1000 BODY=8BITMIME SMTPUTF8",
           "alice@example.org", false, "size=1000 body=8 utf8"),
        OK("FROM:<alice@example.org> body=7bit auth=<>", "alice@example.org",
           false, "body=7 auth"),
        OK("FROM:<alice@example.org>  SIZE=5  ", "alice@example.org", false,
           "size=5"),
        OK("FROM:<alice@example.org> SIZE=99999999999999999999",
           "alice@example.org", false, "size=18446744073709551615"),
        OK("FROM:<j\xc3\xa9r\xc3\xb4me@example.fr> SMTPUTF8",
           "j\xc3\xa9r\xc3\xb4me@example.fr", true, "utf8"),
        OK("FROM:<x@\xc3\xa9t\xc3\xa9.example>", "x@\xc3\xa9t\xc3\xa9.example",
           true, ""),
        OK("FROM:<\"\xe2\x82\xac uro\"@example.org>",
           "\"\xe2\x82\xac uro\"@example.org", true, ""),
        OK("FROM:<a@b> AUTH=\xc3\xa9", "a@b", false, "auth"),
        /* MAIL's own syntax */
        BAD("", "501 5.5.4"),
        BAD("TO:<alice@example.org>", "501 5.5.4"),
        BAD("FROM <alice@example.org>", "501 5.5.4"),
        /* Paths */
        BAD("FROM:alice@example.org", "501 5.1.7"),
        BAD("FROM:<alice@example.org", "501 5.1.7"),
        BAD("FROM:<alice>", "501 5.1.7"),
        BAD("FROM:<@example.org>", "501 5.1.7"),
        BAD("FROM:<@a.example>", "501 5.1.7"),
        BAD("FROM:<@a.example:>", "501 5.1.7"),
        BAD("FROM:<.alice@example.org>", "501 5.1.7"),
        BAD("FROM:<alice.@example.org>", "501 5.1.7"),
        BAD("FROM:<al..ice@example.org>", "501 5.1.7"),
        BAD("FROM:<al ice@example.org>", "501 5.1.7"),
        BAD("FROM:<alice@@example.org>", "501 5.1.7"),
        BAD("FROM:<alice@-example.org>", "501 5.1.7"),
        BAD("FROM:<alice@example-.org>", "501 5.1.7"),
        BAD("FROM:<alice@example..org>", "501 5.1.7"),
        BAD("FROM:<alice@example.org.>", "501 5.1.7"),
        BAD("FROM:<alice@exa_mple.org>", "501 5.1.7"),
        BAD("FROM:<alice@>", "501 5.1.7"),
        BAD("FROM:<a@[300.1.1.1]>", "501 5.1.7"),
        BAD("FROM:<a@[IPv6:zz::1]>", "501 5.1.7"),
        BAD("FROM:<a@[]>", "501 5.1.7"),
        BAD("FROM:<a@[tag:]>", "501 5.1.7"),
        BAD("FROM:<a@[127.0.0.1>", "501 5.1.7"),
        BAD("FROM:<a@[127.0.0.1\0]>", "501 5.1.7"),
        BAD("FROM:<a@[IPv6:::1\0x]>", "501 5.1.7"),
        BAD("FROM:<a@[tag:a\0b]>", "501 5.1.7"),
        BAD("FROM:<a@[tag:a b]>", "501 5.1.7"),
        BAD("FROM:<a@[tag-:x]>", "501 5.1.7"),
        BAD("FROM:<\"a\tb\"@example.org>", "501 5.1.7"),
        BAD("FROM:<\"ab@example.org>", "501 5.1.7"),
        BAD("FROM:<\"a\\\x01\"@example.org>", "501 5.1.7"),
        BAD("FROM:<a\0b@example.org>", "501 5.1.7"),
        BAD("FROM:<a\x7f@example.org>", "501 5.1.7"),
        BAD("FROM:<j\xc3@example.fr>", "501 5.1.7"),
        BAD("FROM:<j\xc0\xafx@example.fr>", "501 5.1.7"),
        BAD("FROM:<j\xed\xa0\x80x@example.fr>", "501 5.1.7"),
        BAD("FROM:<alice@example.org>x", "501 5.1.7"),
        BAD("FROM:<alice@example.org>SIZE=1", "501 5.1.7"),
        BAD("FROM:<<alice@example.org>>", "501 5.1.7"),
        /* Parameters */
        BAD("FROM:<alice@example.org> SIZE=", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SIZE", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SIZE=12a", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SIZE=-1", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SIZE=1 SIZE=2", "501 5.5.4"),
        BAD("FROM:<alice@example.org> BODY=BINARYMIME", "501 5.5.4"),
        BAD("FROM:<alice@example.org> BODY=7BIT BODY=7BIT", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SMTPUTF8=yes", "501 5.5.4"),
        BAD("FROM:<alice@example.org> SMTPUTF8 SMTPUTF8", "501 5.5.4"),
        BAD("FROM:<alice@example.org> AUTH", "501 5.5.4"),
        BAD("FROM:<alice@example.org> =1", "501 5.5.4"),
        BAD("FROM:<alice@example.org> -X=1", "501 5.5.4"),
        BAD("FROM:<alice@example.org> X_Y=1", "501 5.5.4"),
        BAD("FROM:<alice@example.org> X=a=b", "501 5.5.4"),
        BAD("FROM:<alice@example.org> X=\x01", "501 5.5.4"),
        BAD("FROM:<alice@example.org> RET=FULL", "555 5.5.4"),
        BAD("FROM:<alice@example.org> ENVID=x", "555 5.5.4"),
        BAD("FROM:<alice@example.org> X-NEW", "555 5.5.4"),
};

static const struct path_case rcpt_cases[] = {
        OK("TO:<bob@example.com>", "bob@example.com", false, ""),
        OK("to:<Bob@Example.COM>", "Bob@Example.COM", false, ""),
        OK("TO: <bob@example.com>  ", "bob@example.com", false, ""),
        OK("TO:<@a.example:bob@example.com>", "bob@example.com", false, ""),
        OK("TO:<@\xc3\xa9.example:bob@example.com>", "bob@example.com", false,
           ""),
        OK("TO:<postmaster@example.com>", "postmaster@example.com", false, ""),
        OK("TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
           "\xe5\xb9\xbf\xe5\x91\x8a>",
           "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90."
           "\xe5\xb9\xbf\xe5\x91\x8a",
           true, ""),
        BAD("", "501 5.5.4"),
        BAD("FROM:<bob@example.com>", "501 5.5.4"),
        BAD("TO:<>", "501 5.1.3"),
        BAD("TO:<Postmaster>", "501 5.1.3"),
        BAD("TO:bob@example.com", "501 5.1.3"),
        BAD("TO:<bob@example.com", "501 5.1.3"),
        BAD("TO:<bob@.com>", "501 5.1.3"),
        BAD("TO:<bob@example.com>x", "501 5.1.3"),
        BAD("TO:<bob@example.com> NOTIFY=NEVER", "555 5.5.4"),
        BAD("TO:<bob@example.com> ORCPT=rfc822;bob@example.com", "555 5.5.4"),
        BAD("TO:<bob@example.com> =x", "501 5.5.4"),
};

/* The parameters as the table writes them. */
static void
params_text(const struct smtp_mail_params *p, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	if (p->has_size)
		n += (size_t)snprintf(out + n, size - n, "size=%llu ",
		                      (unsigned long long)p->size);
	if (p->body != SMTP_BODY_NONE)
		n += (size_t)snprintf(out + n, size - n, "body=%s ",
		                      p->body == SMTP_BODY_7BIT ? "7" : "8");
	if (p->smtputf8)
		n += (size_t)snprintf(out + n, size - n, "utf8 ");
	if (p->has_auth)
		n += (size_t)snprintf(out + n, size - n, "auth ");
	if (n > 0)
		out[n - 1] = '\0';
}

static void
check_path_case(const struct path_case *c, bool mail)
{
	const struct smtp_error *e = NULL;
	struct smtp_mail_params params;
	struct smtp_path path;
	char text[128];
	int ret;

	ret = mail ? smtp_parse_mail(sb_sv(c->args, c->len), &path, &params, &e)
	           : smtp_parse_rcpt(sb_sv(c->args, c->len), &path, &e);
	if (c->error != NULL) {
		if (ret == 0) {
			test_dump("args", c->args, c->len);
			test_fail(__FILE__, __LINE__, "taken as <%s>",
			          path.addr);
		}
		snprintf(text, sizeof(text), "%u %s", e->code, e->status);
		if (strcmp(text, c->error) != 0) {
			test_dump("args", c->args, c->len);
			test_fail(__FILE__, __LINE__, "%s, expected %s", text,
			          c->error);
		}
		return;
	}
	if (ret != 0) {
		test_dump("args", c->args, c->len);
		test_fail(__FILE__, __LINE__, "refused: %u %s %s", e->code,
		          e->status, e->text);
	}
	TEST_EQ_STR(path.addr, c->addr);
	TEST_EQ_UINT(path.len, strlen(c->addr));
	TEST_EQ_INT(path.null, c->addr[0] == '\0');
	TEST_EQ_INT(path.utf8, c->utf8);
	if (mail) {
		params_text(&params, text, sizeof(text));
		TEST_EQ_STR(text, c->params);
	}
}

static void
test_mail(void)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(mail_cases); i++)
		check_path_case(&mail_cases[i], true);
}

static void
test_rcpt(void)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(rcpt_cases); i++)
		check_path_case(&rcpt_cases[i], false);
}

/* Local part 64, domain labels 63, the whole path 256 octets. */
static void
test_path_limits(void)
{
	char args[600], local[80], label[80];
	const struct smtp_error *e;
	struct smtp_mail_params params;
	struct smtp_path path;

	memset(local, 'l', 64);
	local[64] = '\0';
	snprintf(args, sizeof(args), "FROM:<%s@example.org>", local);
	TEST_EQ_INT(smtp_parse_mail(sb_sv_cstr(args), &path, &params, &e), 0);
	memset(local, 'l', 65);
	local[65] = '\0';
	snprintf(args, sizeof(args), "FROM:<%s@example.org>", local);
	TEST_EQ_INT(smtp_parse_mail(sb_sv_cstr(args), &path, &params, &e), -1);
	TEST_EQ_STR(e->status, "5.1.7");
	TEST_EQ_STR(e->text, "Sender address too long");
	/* A quoted local part counts as written. */
	memset(local, 'q', 63);
	local[63] = '\0';
	snprintf(args, sizeof(args), "TO:<\"%s\"@example.org>", local);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), -1);
	TEST_EQ_STR(e->text, "Recipient address too long");

	memset(label, 'd', 63);
	label[63] = '\0';
	snprintf(args, sizeof(args), "TO:<a@%s.example>", label);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), 0);
	memset(label, 'd', 64);
	label[64] = '\0';
	snprintf(args, sizeof(args), "TO:<a@%s.example>", label);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), -1);
	TEST_EQ_STR(e->status, "5.1.3");

	/* <ab@ + 4 labels of 62 + dots + > = 256 octets. */
	memset(label, 'd', 62);
	label[62] = '\0';
	snprintf(args, sizeof(args), "TO:<ab@%s.%s.%s.%s>", label, label, label,
	         label);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), 0);
	TEST_EQ_UINT(path.len, 3 + 4 * 62 + 3);
	snprintf(args, sizeof(args), "TO:<abc@%s.%s.%s.%s>", label, label,
	         label, label);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), -1);
	TEST_EQ_STR(e->text, "Recipient address too long");
	/* A long source route counts too. */
	snprintf(args, sizeof(args), "TO:<@%s.%s.%s.%s:a@b.example>", label,
	         label, label, label);
	TEST_EQ_INT(smtp_parse_rcpt(sb_sv_cstr(args), &path, &e), -1);
	TEST_EQ_STR(e->text, "Recipient address too long");
}

static void
test_utf8(void)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
	        {"\xc3\xa9", 2},
	        {"\xe2\x82\xac", 3},
	        {"\xf0\x9f\x98\x80", 4},
	        {"\xf4\x8f\xbf\xbf", 4},
	        {"\xc2\x80", 2},
	        {"\xef\xbf\xbf", 3},
	        {"\xc1\xbf", 0},
	        {"\xe0\x9f\xbf", 0},
	        {"\xed\xa0\x80", 0},
	        {"\xf0\x8f\xbf\xbf", 0},
	        {"\xf4\x90\x80\x80", 0},
	        {"\xf5\x80\x80\x80", 0},
	        {"\x80", 0},
	        {"a", 0},
	        {"\xc3", 0},
	        {"\xe2\x82", 0},
	        {"\xc3\x28", 0},
	};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(cases); i++)
		TEST_EQ_UINT(smtp_utf8_len((const unsigned char *)cases[i].s,
		                           strlen(cases[i].s)),
		             cases[i].len);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"lines", test_lines},
	        {"lines_huge", test_lines_huge},
	        {"lines_wipe", test_lines_wipe},
	        {"verbs", test_verbs},
	        {"mail", test_mail},
	        {"rcpt", test_rcpt},
	        {"path_limits", test_path_limits},
	        {"utf8", test_utf8},
	        {NULL, NULL},
	};

	return test_run(cases);
}
