#include <stdlib.h>
#include <string.h>

#include "common/address.h"
#include "common/charset.h"
#include "test-secret.h"
#include "test.h"

static void
render_string(struct sb_buf *b, const char *s)
{
	if (s == NULL) {
		TEST_EQ_INT(sb_buf_add_str(b, "NIL"), 0);
		return;
	}
	TEST_EQ_INT(sb_buf_add_printf(b, "\"%s\"", s), 0);
}

/*
 * The list the way an IMAP ENVELOPE shows it: one "(name route mailbox
 * domain)" per entry.
 */
static char *
render(const struct sb_address_list *list)
{
	struct sb_buf b;
	size_t i;

	sb_buf_init(&b, 1 << 16);
	for (i = 0; i < list->count; i++) {
		const struct sb_address *a = &list->addrs[i];

		TEST_EQ_INT(sb_buf_add_str(&b, "("), 0);
		render_string(&b, a->name);
		TEST_EQ_INT(sb_buf_add_str(&b, " "), 0);
		render_string(&b, a->route);
		TEST_EQ_INT(sb_buf_add_str(&b, " "), 0);
		render_string(&b, a->mailbox);
		TEST_EQ_INT(sb_buf_add_str(&b, " "), 0);
		render_string(&b, a->domain);
		TEST_EQ_INT(sb_buf_add_str(&b, ")"), 0);
	}
	return sb_buf_take(&b, NULL);
}

static struct sb_address_list *
expect_list(const char *in, size_t max, const char *expected,
            unsigned int flags)
{
	struct sb_address_list *list;
	char *got;

	list = sb_address_list_parse_new(in, strlen(in), max);
	got = render(list);
	TEST_EQ_STR(got, expected);
	free(got);
	TEST_EQ_UINT(list->flags, flags);
	return list;
}

static void
expect(const char *in, const char *expected, unsigned int flags)
{
	struct sb_address_list *list = expect_list(in, 100, expected, flags);

	sb_address_list_free(&list);
	TEST_ASSERT(list == NULL);
}

/* Examples from RFC 5322 appendix A. */
static void
test_rfc_examples(void)
{
	expect("John Doe <jdoe@machine.example>",
	       "(\"John Doe\" NIL \"jdoe\" \"machine.example\")", 0);
	expect("\"Joe Q. Public\" <john.q.public@example.com>",
	       "(\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")", 0);
	expect("Mary Smith <mary@x.test>, jdoe@example.org, Who? "
	       "<one@y.test>",
	       "(\"Mary Smith\" NIL \"mary\" \"x.test\")"
	       "(NIL NIL \"jdoe\" \"example.org\")"
	       "(\"Who?\" NIL \"one\" \"y.test\")",
	       0);
	expect("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
	       "<sysservices@example.net>",
	       "(NIL NIL \"boss\" \"nil.test\")"
	       "(\"Giant; \"Big\" Box\" NIL \"sysservices\" \"example.net\")",
	       0);
	expect("A Group:Ed Jones <c@a.test>,joe@where.test,John "
	       "<jdoe@one.test>;",
	       "(NIL NIL \"A Group\" NIL)"
	       "(\"Ed Jones\" NIL \"c\" \"a.test\")"
	       "(NIL NIL \"joe\" \"where.test\")"
	       "(\"John\" NIL \"jdoe\" \"one.test\")"
	       "(NIL NIL NIL NIL)",
	       0);
	expect("Undisclosed recipients:;",
	       "(NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL)", 0);
	expect("Pete(A nice \\) chap) <pete(his account)@silly.test(his "
	       "host)>",
	       "(\"Pete\" NIL \"pete\" \"silly.test\")", 0);
	expect("A Group(Some people)\r\n     :Chris Jones "
	       "<c@(Chris's host.)public.example>,\r\n         "
	       "joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); "
	       "(the end of the group)",
	       "(NIL NIL \"A Group\" NIL)"
	       "(\"Chris Jones\" NIL \"c\" \"public.example\")"
	       "(NIL NIL \"joe\" \"example.org\")"
	       "(\"John\" NIL \"jdoe\" \"one.test\")"
	       "(NIL NIL NIL NIL)",
	       0);
	/* Obsolete forms (A.6.1, 4.4). */
	expect("Joe Q. Public <john.q.public@example.com>",
	       "(\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")", 0);
	expect("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . "
	       "example",
	       "(\"Mary Smith\" \"@node.test\" \"mary\" \"example.net\")"
	       "(NIL NIL \"jdoe\" \"test.example\")",
	       0);
	expect("<@route1.test,@route2.test:user@host.test>",
	       "(NIL \"@route1.test,@route2.test\" \"user\" \"host.test\")", 0);
	expect("john . doe @ example . com",
	       "(NIL NIL \"john.doe\" \"example.com\")", 0);
}

static void
test_common_forms(void)
{
	expect("jsmith@example.com", "(NIL NIL \"jsmith\" \"example.com\")", 0);
	expect("jsmith@example.com (John Smith)",
	       "(\"John Smith\" NIL \"jsmith\" \"example.com\")", 0);
	expect("\"Smith, John\" <jsmith@example.com>, ann@example.org",
	       "(\"Smith, John\" NIL \"jsmith\" \"example.com\")"
	       "(NIL NIL \"ann\" \"example.org\")",
	       0);
	expect("\"john doe\"@example.com",
	       "(NIL NIL \"john doe\" \"example.com\")", 0);
	expect("user@[192.168.0.1]", "(NIL NIL \"user\" \"[192.168.0.1]\")", 0);
	expect("\"a\\\\b\" <x@y.test>", "(\"a\\b\" NIL \"x\" \"y.test\")", 0);
	expect("John\r\n Smith <js@x.test>",
	       "(\"John Smith\" NIL \"js\" \"x.test\")", 0);
	expect("\"John\" \"Smith\" <js@x.test>",
	       "(\"John Smith\" NIL \"js\" \"x.test\")", 0);
	expect("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc"
	       "cher.example>",
	       "(\"J\xc3\xb6rg\" NIL \"j\xc3\xb6rg\" \"b\xc3\xbc"
	       "cher.example\")",
	       0);
	expect(",, a@b.test ,,, d@e.test,",
	       "(NIL NIL \"a\" \"b.test\")(NIL NIL \"d\" \"e.test\")", 0);
	expect("", "", 0);
	expect("  (just a comment) ", "", 0);
}

static void
test_display_names(void)
{
	struct sb_address_list *list;

	list = expect_list("=?UTF-8?Q?J=C3=B6rg?= <j@x.test>, "
	                   "\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" <a@x.test>, "
	                   "b@x.test (=?UTF-8?B?w4lyaWM=?=), c@x.test, "
	                   "=?UTF-8?Q?Gr=C3=BCppe?=: ;",
	                   100,
	                   "(\"=?UTF-8?Q?J=C3=B6rg?=\" NIL \"j\" \"x.test\")"
	                   "(\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" NIL \"a\" "
	                   "\"x.test\")"
	                   "(\"=?UTF-8?B?w4lyaWM=?=\" NIL \"b\" \"x.test\")"
	                   "(NIL NIL \"c\" \"x.test\")"
	                   "(NIL NIL \"=?UTF-8?Q?Gr=C3=BCppe?=\" NIL)"
	                   "(NIL NIL NIL NIL)",
	                   0);
	TEST_EQ_STR(list->addrs[0].display_name, "J\xc3\xb6rg");
	TEST_EQ_STR(list->addrs[1].display_name, "Andr\xc3\xa9 Pirard");
	TEST_EQ_STR(list->addrs[2].display_name, "\xc3\x89ric");
	TEST_ASSERT(list->addrs[3].display_name == NULL);
	TEST_EQ_STR(list->addrs[4].display_name, "Gr\xc3\xbcppe");
	TEST_EQ_INT(list->addrs[4].type, SB_ADDRESS_GROUP_START);
	TEST_EQ_INT(list->addrs[5].type, SB_ADDRESS_GROUP_END);
	sb_address_list_free(&list);
}

static void
test_broken(void)
{
	expect("john@", "(NIL NIL \"john\" \"\")", SB_ADDRESS_ERR_NO_DOMAIN);
	expect("john", "(NIL NIL \"john\" \"\")", SB_ADDRESS_ERR_NO_DOMAIN);
	expect("<>", "(NIL NIL \"\" \"\")", SB_ADDRESS_ERR_NO_DOMAIN);
	expect("John <john@example.com",
	       "(\"John\" NIL \"john\" \"example.com\")",
	       SB_ADDRESS_ERR_NO_ANGLE);
	expect("John <john@example.com, ann@example.org",
	       "(\"John\" NIL \"john\" \"example.com\")"
	       "(NIL NIL \"ann\" \"example.org\")",
	       SB_ADDRESS_ERR_NO_ANGLE);
	expect("John <john@example.com> junk",
	       "(\"John\" NIL \"john\" \"example.com\")",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("John Smith jsmith@example.com",
	       "(\"John Smith\" NIL \"jsmith\" \"example.com\")",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("\"unterminated <a@b.test>",
	       "(NIL NIL \"unterminated <a@b.test>\" \"\")",
	       SB_ADDRESS_ERR_UNTERMINATED | SB_ADDRESS_ERR_NO_DOMAIN);
	expect("a@b.test (unterminated",
	       "(\"unterminated\" NIL \"a\" \"b.test\")",
	       SB_ADDRESS_ERR_UNTERMINATED);
	expect("a@[1.2.3", "(NIL NIL \"a\" \"[1.2.3\")",
	       SB_ADDRESS_ERR_UNTERMINATED);
	expect("a@b.test) c@d.test", "(NIL NIL \"a\" \"b.testc@d.test\")",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("a@b..test", "(NIL NIL \"a\" \"b..test\")",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("a@b@c.test", "(NIL NIL \"a\" \"b@c.test\")",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("<<a@b.test>>", "(NIL NIL \"<a\" \"b.test\")",
	       SB_ADDRESS_ERR_SYNTAX);
}

static void
test_groups_broken(void)
{
	expect("g: a@b.test",
	       "(NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b.test\")(NIL NIL NIL NIL)",
	       SB_ADDRESS_ERR_GROUP);
	expect("a@b.test; d@e.test",
	       "(NIL NIL \"a\" \"b.test\")(NIL NIL \"d\" \"e.test\")",
	       SB_ADDRESS_ERR_GROUP);
	expect("g1: a@b.test, g2: d@e.test;",
	       "(NIL NIL \"g1\" NIL)(NIL NIL \"a\" \"b.test\")"
	       "(NIL NIL NIL NIL)(NIL NIL \"g2\" NIL)"
	       "(NIL NIL \"d\" \"e.test\")(NIL NIL NIL NIL)",
	       SB_ADDRESS_ERR_GROUP);
	expect(":;", "(NIL NIL \"\" NIL)(NIL NIL NIL NIL)",
	       SB_ADDRESS_ERR_SYNTAX);
	expect("g:", "(NIL NIL \"g\" NIL)(NIL NIL NIL NIL)",
	       SB_ADDRESS_ERR_GROUP);
}

static void
test_limits(void)
{
	struct sb_address_list *list;
	char *in;
	size_t i;

	list = expect_list(
	        "a@b.test, c@d.test, e@f.test, g@h.test", 3,
	        "(NIL NIL \"a\" \"b.test\")(NIL NIL \"c\" \"d.test\")"
	        "(NIL NIL \"e\" \"f.test\")",
	        SB_ADDRESS_ERR_TOO_MANY);
	sb_address_list_free(&list);
	/* A group is closed even when its members are cut. */
	list = expect_list("g: a@b.test, c@d.test;", 3,
	                   "(NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b.test\")"
	                   "(NIL NIL NIL NIL)",
	                   SB_ADDRESS_ERR_TOO_MANY);
	sb_address_list_free(&list);

	in = malloc(2100);
	TEST_ASSERT(in != NULL);
	memset(in, 'x', 2000);
	memcpy(in + 2000, "@y.test", 8);
	list = sb_address_list_parse_new(in, strlen(in), 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_UINT(strlen(list->addrs[0].mailbox), SB_ADDRESS_MAX_PART);
	TEST_EQ_STR(list->addrs[0].domain, "y.test");
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_TOO_LONG);
	sb_address_list_free(&list);

	/* Deep comments: flagged, but every ')' closes a '('. */
	for (i = 0; i < 40; i++) {
		in[i] = '(';
		in[40 + i] = ')';
	}
	memcpy(in + 80, "a@b.test", 9);
	list = sb_address_list_parse_new(in, strlen(in), 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_STR(list->addrs[0].mailbox, "a");
	TEST_ASSERT(list->addrs[0].name == NULL);
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_DEPTH);
	sb_address_list_free(&list);
	free(in);
}

/*
 * 33 '(' closed by only 32 ')': the comment goes on, so what looks like
 * an address inside it is not one (as other readers see it).
 */
static void
test_deep_comment_unbalanced(void)
{
	struct sb_address_list *list;
	char in[256];
	size_t i, n = 0;

	for (i = 0; i < 33; i++)
		in[n++] = '(';
	in[n++] = 'x';
	for (i = 0; i < 32; i++)
		in[n++] = ')';
	memcpy(in + n, " evil@attacker.example, ) real@example.com", 43);
	list = sb_address_list_parse_new(in, strlen(in), 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_STR(list->addrs[0].mailbox, "real");
	TEST_EQ_STR(list->addrs[0].domain, "example.com");
	TEST_ASSERT(list->addrs[0].name == NULL);
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_DEPTH);
	sb_address_list_free(&list);

	/* Never closed: all of it is a comment. */
	in[n] = '\0';
	memcpy(in + n, " evil@attacker.example", 23);
	list = sb_address_list_parse_new(in, strlen(in), 10);
	TEST_EQ_UINT(list->count, 0);
	TEST_EQ_UINT(list->flags,
	             SB_ADDRESS_ERR_DEPTH | SB_ADDRESS_ERR_UNTERMINATED);
	sb_address_list_free(&list);
}

/* No CR or LF gets into a part, whatever quoting or literal holds it. */
static void
test_no_line_breaks(void)
{
	struct sb_address_list *list;

	expect("a@[1.2.3.4\r\n ]", "(NIL NIL \"a\" \"[1.2.3.4]\")", 0);
	expect("a@[ 1.2.3.4 ]", "(NIL NIL \"a\" \"[1.2.3.4]\")", 0);
	expect("a@[IPv6:\r\n ::1]", "(NIL NIL \"a\" \"[IPv6:::1]\")", 0);
	expect("a@[1.2\\\r\n .3]", "(NIL NIL \"a\" \"[1.2.3]\")", 0);
	expect("\"a\\\r\n b\"@x.test", "(NIL NIL \"a b\" \"x.test\")", 0);
	expect("\"N\\\r\n ame\" <a@x.test>", "(\"N ame\" NIL \"a\" \"x.test\")",
	       0);
	expect("a@x.test (c\\\r\n d)", "(\"c d\" NIL \"a\" \"x.test\")", 0);
	list = sb_address_list_parse_new("\"a\\\rb\"@x.test", 12, 10);
	TEST_EQ_STR(list->addrs[0].mailbox, "ab");
	sb_address_list_free(&list);
}

/* A NUL never cuts a part short: it becomes U+FFFD, flagged. */
static void
test_nul_in_atom(void)
{
	struct sb_address_list *list;

	list = sb_address_list_parse_new("ab\0cd@x.y", 9, 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_STR(list->addrs[0].mailbox, "ab\xef\xbf\xbd"
	                                    "cd");
	TEST_EQ_STR(list->addrs[0].domain, "x.y");
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_NUL);
	sb_address_list_free(&list);
	list = sb_address_list_parse_new("\"a\0b\" <c@d\0e>", 13, 10);
	TEST_EQ_UINT(list->count, 1);
	TEST_EQ_STR(list->addrs[0].name, "a\xef\xbf\xbd"
	                                 "b");
	TEST_EQ_STR(list->addrs[0].domain, "d\xef\xbf\xbd"
	                                   "e");
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_NUL);
	sb_address_list_free(&list);
}

/* Only a comment after a bare addr-spec names it. */
static void
test_comment_names(void)
{
	expect("(c)d@e.test", "(NIL NIL \"d\" \"e.test\")", 0);
	expect("d(c)@e.test", "(NIL NIL \"d\" \"e.test\")", 0);
	expect("d@e.test(c)", "(\"c\" NIL \"d\" \"e.test\")", 0);
	expect("(a) d@e.test (b)", "(\"b\" NIL \"d\" \"e.test\")", 0);
	expect("<d@e.test> (c)", "(NIL NIL \"d\" \"e.test\")", 0);
	expect("a@b.test, (c) d@e.test",
	       "(NIL NIL \"a\" \"b.test\")(NIL NIL \"d\" \"e.test\")", 0);
}

/* A display name too long to decode still comes out as valid UTF-8. */
static void
test_display_name_fallback(void)
{
	struct sb_address_list *list;
	struct sb_buf in;
	size_t i;
	const char *d;

	sb_buf_init(&in, 4096);
	/* 342 bytes of TSCII 0x82: 4104 bytes of UTF-8, past the bound. */
	TEST_EQ_INT(sb_buf_add_str(&in, "\xe9t\xe9 =?TSCII?B?"), 0);
	for (i = 0; i < 114; i++) {
		/* 0x82 0x82 0x82 in base64 */
		TEST_EQ_INT(sb_buf_add_str(&in, "goKC"), 0);
	}
	TEST_EQ_INT(sb_buf_add_str(&in, "?= <a@b.test>"), 0);
	list = sb_address_list_parse_new(in.data, in.len, 10);
	TEST_EQ_UINT(list->count, 1);
	d = list->addrs[0].display_name;
	TEST_ASSERT(d != NULL);
	TEST_ASSERT(sb_utf8_valid(d, strlen(d)));
	TEST_ASSERT(strncmp(d, "\xef\xbf\xbdt\xef\xbf\xbd =?TSCII?B?goKC",
	                    22) == 0);
	TEST_EQ_UINT(list->flags, SB_ADDRESS_ERR_TOO_LONG);
	sb_address_list_free(&list);

	/* Within the bound, a 12-fold growth decodes as it should. */
	sb_buf_reset(&in);
	TEST_EQ_INT(sb_buf_add_str(&in, "=?TSCII?B?"), 0);
	for (i = 0; i < 100; i++)
		TEST_EQ_INT(sb_buf_add_str(&in, "goKC"), 0);
	TEST_EQ_INT(sb_buf_add_str(&in, "?= <a@b.test>"), 0);
	list = sb_address_list_parse_new(in.data, in.len, 10);
	TEST_EQ_UINT(strlen(list->addrs[0].display_name), 3600);
	TEST_EQ_UINT(list->flags, 0);
	sb_address_list_free(&list);
	sb_buf_free(&in);
}

static void
expect_addr_spec(const char *in, const char *expected)
{
	struct sb_address_list *list;
	struct sb_buf b;

	list = sb_address_list_parse_new(in, strlen(in), 10);
	TEST_ASSERT(list->count >= 1);
	sb_buf_init(&b, 1000);
	TEST_EQ_INT(sb_address_write_addr_spec(&list->addrs[0], &b), 0);
	TEST_EQ_STR(sb_buf_str(&b), expected);
	sb_buf_free(&b);
	sb_address_list_free(&list);
}

static void
test_write_addr_spec(void)
{
	struct sb_address group = {.type = SB_ADDRESS_GROUP_END};
	struct sb_buf b;

	expect_addr_spec("John <john.doe@example.com>", "john.doe@example.com");
	expect_addr_spec("\"john doe\"@example.com",
	                 "\"john doe\"@example.com");
	expect_addr_spec("\"a\\\"b\"@x.test", "\"a\\\"b\"@x.test");
	expect_addr_spec("\"john.\"@x.test", "\"john.\"@x.test");
	expect_addr_spec("nodomain", "nodomain");
	expect_addr_spec("a@[1.2.3.4\r\n ]", "a@[1.2.3.4]");
	sb_buf_init(&b, 100);
	TEST_EQ_INT(sb_address_write_addr_spec(&group, &b), -1);
	sb_buf_free(&b);
}

static void
expect_addr_spec_refused(const char *mailbox, const char *domain)
{
	struct sb_address a = {.type = SB_ADDRESS_MAILBOX};
	struct sb_buf b;

	a.mailbox = (char *)mailbox;
	a.domain = (char *)domain;
	sb_buf_init(&b, 1000);
	TEST_EQ_INT(sb_address_write_addr_spec(&a, &b), -1);
	TEST_EQ_STR(sb_buf_str(&b), "");
	sb_buf_free(&b);
}

/* Nothing that could break a header line or an address is written. */
static void
test_write_addr_spec_refuses(void)
{
	struct sb_address a = {.type = SB_ADDRESS_MAILBOX};
	struct sb_buf b;

	expect_addr_spec_refused("a\rb", "x.test");
	expect_addr_spec_refused("a\nb", "x.test");
	expect_addr_spec_refused("a\x01", "x.test");
	expect_addr_spec_refused("a\x7f", "x.test");
	expect_addr_spec_refused("a", "x.test\r\nBcc: evil@x.test");
	expect_addr_spec_refused("a", "[1.2.3.4\r\n ]");
	expect_addr_spec_refused("a", "x..test");
	expect_addr_spec_refused("a", "x test");
	expect_addr_spec_refused("a", "x.test>, b@y.test");
	expect_addr_spec_refused("a", "[1.2]3]");
	expect_addr_spec_refused("a", "[a\\]");
	/* A tab is a control character too; a space and 8-bit are fine. */
	a.mailbox = "a\tb";
	a.domain = "b\xc3\xbc"
	           "cher.example";
	sb_buf_init(&b, 1000);
	TEST_EQ_INT(sb_address_write_addr_spec(&a, &b), -1);
	sb_buf_free(&b);
	a.mailbox = "a b";
	TEST_EQ_INT(sb_address_write_addr_spec(&a, &b), 0);
	TEST_EQ_STR(sb_buf_str(&b), "\"a b\"@b\xc3\xbc"
	                            "cher.example");
	sb_buf_free(&b);
}

/* A message's addresses are wiped when the list is freed. */
static void
test_wiped(void)
{
	static const char in[] = "=?utf-8?q?Alice_S=C3=A9cret?= "
	                         "<@route.example:alice@example.org>";
	struct sb_address_list *list;
	const struct sb_address *a;
	const void *name, *display, *route, *mailbox, *domain;

	list = sb_address_list_parse_new(in, sizeof(in) - 1, 10);
	TEST_EQ_UINT(list->count, 1);
	a = &list->addrs[0];
	TEST_EQ_STR(a->display_name, "Alice S\xc3\xa9"
	                             "cret");
	name = a->name;
	display = a->display_name;
	route = a->route;
	mailbox = a->mailbox;
	domain = a->domain;
	TEST_ASSERT(route != NULL);
	test_secret_watch();
	sb_address_list_free(&list);
	TEST_ASSERT(test_secret_wiped(name));
	TEST_ASSERT(test_secret_wiped(display));
	TEST_ASSERT(test_secret_wiped(route));
	TEST_ASSERT(test_secret_wiped(mailbox));
	TEST_ASSERT(test_secret_wiped(domain));
	test_secret_unwatch();
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"RFC 5322 examples", test_rfc_examples},
	        {"common forms", test_common_forms},
	        {"display names", test_display_names},
	        {"broken input", test_broken},
	        {"broken groups", test_groups_broken},
	        {"limits", test_limits},
	        {"write addr-spec", test_write_addr_spec},
	        {"write addr-spec refuses", test_write_addr_spec_refuses},
	        {"deep comment unbalanced", test_deep_comment_unbalanced},
	        {"no line breaks in parts", test_no_line_breaks},
	        {"NUL in an atom", test_nul_in_atom},
	        {"comment names", test_comment_names},
	        {"display name fallback", test_display_name_fallback},
	        {"wiped when freed", test_wiped},
	        {NULL, NULL},
	};
	return test_run(cases);
}
