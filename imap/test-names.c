/* Mailbox names between clients and the replica, and LIST's patterns. */
#include <stdlib.h>
#include <string.h>

#include "imap-private.h"
#include "test.h"

static void
test_to_path(void)
{
	static const struct {
		const char *in, *want; /* want NULL: refused */
	} cases[] = {
	        {"INBOX", "INBOX"},
	        {"inbox", "INBOX"},
	        {"InBoX/Sub", "INBOX/Sub"},
	        {"INBOXES", "INBOXES"},
	        {"Work/", "Work"},
	        {"Work//", "Work"},
	        {"Projets/&AMk-t&AOk-", "Projets/\xc3\x89t\xc3\xa9"},
	        {"a//b", NULL},
	        {"/a", NULL},
	        {"", NULL},
	        {"/", NULL},
	        {"bad&name", NULL},    /* an unterminated shift */
	        {"&AGEAYgBj-", NULL},  /* printable ASCII encoded */
	        {"caf\xc3\xa9", NULL}, /* 8-bit, not modified UTF-7 */
	};
	const char *why;
	char *path;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path = NULL;
		ret = imap_name_to_path(cases[i].in, strlen(cases[i].in), &path,
		                        &why);
		if (cases[i].want == NULL) {
			TEST_EQ_INT(ret, -1);
			TEST_ASSERT(path == NULL);
		} else {
			TEST_EQ_INT(ret, 0);
			TEST_EQ_STR(path, cases[i].want);
		}
		free(path);
	}
}

static void
test_path_name(void)
{
	struct sb_buf out;

	sb_buf_init(&out, SIZE_MAX);
	TEST_EQ_INT(imap_path_name("Projets/\xc3\x89t\xc3\xa9", &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "Projets/&AMk-t&AOk-");
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_write_mailbox("My Box", &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "\"My Box\"");
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_write_mailbox("INBOX", &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), "INBOX");
	sb_buf_free(&out);
}

static void
test_list_match(void)
{
	static const struct {
		const char *pattern, *name;
		bool match;
	} cases[] = {
	        {"*", "INBOX", true},
	        {"*", "a/b/c", true},
	        {"%", "a", true},
	        {"%", "a/b", false},
	        {"a/%", "a/b", true},
	        {"a/%", "a/b/c", false},
	        {"a/*", "a/b/c", true},
	        {"a*", "a", true},
	        {"*c", "a/b/c", true},
	        {"%/c", "a/b/c", false},
	        {"%/%/c", "a/b/c", true},
	        {"inbox", "INBOX", true},
	        {"InBox", "INBOX", true},
	        {"INB*", "INBOX", true},
	        {"inbox/sub", "INBOX/sub", true},
	        {"inbox/SUB", "INBOX/sub", false},
	        {"*inbox", "INBOX", true},
	        {"*inbox/sub", "INBOX/sub", true},
	        {"*inbox/SUB", "INBOX/sub", false},
	        {"*nBoX", "INBOX", true},
	        {"sent", "Sent", false},
	        {"Sent", "Sent", true},
	        {"", "a", false},
	        {"a", "", false},
	        {"***%%%*", "x/y", true},
	        {"%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%x",
	         "aaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (imap_list_match(cases[i].pattern, cases[i].name) !=
		    cases[i].match)
			test_fail(__FILE__, __LINE__, "%s against %s",
			          cases[i].pattern, cases[i].name);
	}
}

static void
test_roles(void)
{
	TEST_EQ_STR(imap_role_attribute("sent"), "\\Sent");
	TEST_EQ_STR(imap_role_attribute("junk"), "\\Junk");
	TEST_ASSERT(imap_role_attribute("inbox") == NULL);
	TEST_ASSERT(imap_role_attribute(NULL) == NULL);
}

static const struct test_case cases[] = {
        {"client names to paths", test_to_path},
        {"paths to client names", test_path_name},
        {"LIST patterns", test_list_match},
        {"special-use attributes", test_roles},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
