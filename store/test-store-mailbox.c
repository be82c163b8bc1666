/* Mailboxes: hierarchy, lookups, UIDVALIDITY, remote upserts, status. */
#include <string.h>

#include "test-store-util.h"

static void
test_mailbox_hierarchy(void)
{
	struct store *st = test_store_open(test_store_path("tree"));
	int64_t acc = test_store_account(st, "t@x.org");
	int64_t inbox, archive, y2024, y2025, id;
	struct store_mailbox *list, mb;
	const char *error;
	size_t n;

	inbox = test_store_mailbox(st, acc, "INBOX");
	archive = test_store_mailbox(st, acc, "Archive");
	TEST_EQ_INT(
	        store_mailbox_create(st, acc, archive, "2024", &y2024, &error),
	        0);
	TEST_EQ_INT(
	        store_mailbox_create(st, acc, archive, "2025", &y2025, &error),
	        0);
	/* Siblings have distinct names; names have no separator. */
	TEST_EQ_INT(store_mailbox_create(st, acc, archive, "2024", &id, &error),
	            -1);
	TEST_ASSERT(strstr(error, "exists") != NULL);
	TEST_EQ_INT(store_mailbox_create(st, acc, 0, "a/b", &id, &error), -1);
	TEST_EQ_INT(store_mailbox_create(st, acc, 0, "", &id, &error), -1);
	TEST_EQ_INT(store_mailbox_create(st, acc, 12345, "x", &id, &error), -1);

	TEST_EQ_INT(store_mailbox_list(st, acc, &list, &n, &error), 0);
	/* Every account has All Mail, the replica's own. */
	TEST_EQ_UINT(n, 5);
	TEST_EQ_STR(list[0].path, "All Mail");
	TEST_EQ_STR(list[0].role, STORE_ROLE_ALL);
	TEST_EQ_STR(list[1].path, "Archive");
	TEST_EQ_STR(list[2].path, "Archive/2024");
	TEST_EQ_STR(list[3].path, "Archive/2025");
	TEST_EQ_STR(list[4].path, "INBOX");
	TEST_EQ_INT(list[2].parent_id, archive);
	TEST_EQ_UINT(list[4].uidnext, 1);
	TEST_EQ_UINT(list[4].highestmodseq, 1);
	TEST_ASSERT(list[4].remote_id == NULL);
	store_mailbox_list_free(&list, n);

	TEST_EQ_INT(
	        store_mailbox_find_path(st, acc, "Archive/2025", &mb, &error),
	        1);
	TEST_EQ_INT(mb.id, y2025);
	TEST_EQ_STR(mb.name, "2025");
	store_mailbox_free_contents(&mb);
	TEST_EQ_INT(store_mailbox_find_path(st, acc, "Nope", &mb, &error), 0);

	/* Rename and move keep the UIDVALIDITY; no cycles. */
	TEST_EQ_INT(store_mailbox_get(st, y2024, &mb, &error), 1);
	{
		uint32_t validity = mb.uidvalidity;

		store_mailbox_free_contents(&mb);
		TEST_EQ_INT(
		        store_mailbox_rename(st, y2024, y2025, "old", &error),
		        0);
		TEST_EQ_INT(store_mailbox_get(st, y2024, &mb, &error), 1);
		TEST_EQ_STR(mb.path, "Archive/2025/old");
		TEST_EQ_UINT(mb.uidvalidity, validity);
		store_mailbox_free_contents(&mb);
	}
	TEST_EQ_INT(store_mailbox_rename(st, archive, y2024, "A", &error), -1);
	TEST_EQ_INT(store_mailbox_rename(st, archive, archive, "A", &error),
	            -1);
	TEST_EQ_INT(store_mailbox_rename(st, archive, 0, "INBOX", &error), -1);

	/* A mailbox with children stays. */
	TEST_EQ_INT(store_mailbox_delete(st, archive, &error), -1);
	TEST_ASSERT(strstr(error, "children") != NULL);
	TEST_EQ_INT(store_mailbox_delete(st, y2024, &error), 0);
	TEST_EQ_INT(store_mailbox_get(st, y2024, &mb, &error), 0);
	TEST_EQ_INT(store_mailbox_set_subscribed(st, inbox, false, &error), 0);
	TEST_EQ_INT(store_mailbox_get(st, inbox, &mb, &error), 1);
	TEST_ASSERT(!mb.subscribed);
	store_mailbox_free_contents(&mb);
	store_close(&st);
}

static void
test_mailbox_uidvalidity(void)
{
	struct store *st = test_store_open(test_store_path("validity"));
	int64_t acc = test_store_account(st, "v@x.org");
	uint32_t seen[8];
	struct store_mailbox mb;
	const char *error;
	int64_t id;
	int i, j;

	/* Deleting and making "Work" again never gives an old value. */
	for (i = 0; i < 8; i++) {
		id = test_store_mailbox(st, acc, "Work");
		TEST_EQ_INT(store_mailbox_get(st, id, &mb, &error), 1);
		TEST_ASSERT(mb.uidvalidity != 0);
		seen[i] = mb.uidvalidity;
		store_mailbox_free_contents(&mb);
		for (j = 0; j < i; j++)
			TEST_ASSERT(seen[j] < seen[i]);
		TEST_EQ_INT(store_mailbox_delete(st, id, &error), 0);
	}
	/* Also across a reopen. */
	store_close(&st);
	st = test_store_open(test_store_path("validity"));
	id = test_store_mailbox(st, acc, "Work");
	TEST_EQ_INT(store_mailbox_get(st, id, &mb, &error), 1);
	TEST_ASSERT(mb.uidvalidity > seen[7]);
	store_mailbox_free_contents(&mb);
	store_close(&st);
}

static void
test_mailbox_remote(void)
{
	struct store *st = test_store_open(test_store_path("remote"));
	int64_t acc = test_store_account(st, "u@x.org");
	int64_t inbox, again, child, local;
	struct store_mailbox mb;
	const char *error;

	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_in", "INBOX", NULL,
	                                        "inbox", &inbox, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_c", "Child",
	                                        "mb_unknown", NULL, &child,
	                                        &error),
	            -1);
	TEST_ASSERT(strstr(error, "not known") != NULL);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_c", "Child",
	                                        "mb_in", NULL, &child, &error),
	            0);
	/* An upsert of a known id updates it in place. */
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_in", "Inbox", NULL,
	                                        "inbox", &again, &error),
	            0);
	TEST_EQ_INT(again, inbox);
	TEST_EQ_INT(store_mailbox_find_remote(st, acc, "mb_c", &mb, &error), 1);
	TEST_EQ_STR(mb.path, "Inbox/Child");
	store_mailbox_free_contents(&mb);
	TEST_EQ_INT(store_mailbox_find_role(st, acc, "inbox", &mb, &error), 1);
	TEST_EQ_INT(mb.id, inbox);
	TEST_EQ_STR(mb.remote_id, "mb_in");
	store_mailbox_free_contents(&mb);
	/* One mailbox per role. */
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_x", "X", NULL,
	                                        "inbox", &again, &error),
	            -1);
	TEST_ASSERT(strstr(error, "role") != NULL);

	/* A mailbox made here gets its remote id later. */
	local = test_store_mailbox(st, acc, "Local");
	TEST_EQ_INT(store_mailbox_set_remote_id(st, local, "mb_l", &error), 0);
	TEST_EQ_INT(store_mailbox_find_remote(st, acc, "mb_l", &mb, &error), 1);
	TEST_EQ_INT(mb.id, local);
	store_mailbox_free_contents(&mb);
	store_close(&st);
}

static void
test_mailbox_status(void)
{
	struct store *st = test_store_open(test_store_path("status"));
	int64_t acc = test_store_account(st, "s@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	struct store_mailbox_status s;
	const char *error;
	int64_t m1, m2;

	m1 = test_store_message(st, acc, "m1", "$seen", &box, 1);
	m2 = test_store_message(st, acc, "m2", "$flagged", &box, 1);
	(void)test_store_message(st, acc, "m3", "", &box, 1);
	TEST_EQ_INT(store_mailbox_set_deleted(st, box, 2, true, &error), 0);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.messages, 3);
	TEST_EQ_UINT(s.unseen, 2);
	TEST_EQ_UINT(s.deleted, 1);
	TEST_EQ_UINT(s.uidnext, 4);
	TEST_ASSERT(s.uidvalidity != 0);
	TEST_EQ_UINT(s.highestmodseq, 5);
	TEST_EQ_INT(
	        store_message_set_keywords(st, m2, "$SEEN $flagged", &error),
	        0);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.unseen, 1);
	(void)m1;
	TEST_EQ_INT(store_mailbox_status(st, 4242, &s, &error), -1);

	/* Deleting a mailbox deletes the messages left in no mailbox. */
	TEST_EQ_INT(store_mailbox_delete(st, box, &error), 0);
	{
		struct store_message m;

		TEST_EQ_INT(store_message_get(st, m1, &m, &error), 0);
	}
	store_close(&st);
}

static void
test_mailbox_rules(void)
{
	const char *path = test_store_path("rules");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "r@x.org");
	int64_t acc2 = test_store_account(st, "q@x.org");
	int64_t theirs = test_store_mailbox(st, acc2, "Theirs");
	int64_t top = test_store_mailbox(st, acc, "Top");
	int64_t other = test_store_mailbox(st, acc, "Other");
	int64_t chain[64], id, a, b;
	struct store_mailbox mb;
	const char *error;
	char name[16];
	size_t i;

	/* Another account's mailbox is no parent, for a move either. */
	TEST_EQ_INT(store_mailbox_create(st, acc, theirs, "x", &id, &error),
	            -1);
	TEST_EQ_INT(store_mailbox_rename(st, top, theirs, "Top", &error), -1);
	TEST_ASSERT(strstr(error, "parent") != NULL);
	TEST_EQ_INT(store_mailbox_get(st, top, &mb, &error), 1);
	TEST_EQ_INT(mb.parent_id, 0);
	store_mailbox_free_contents(&mb);
	TEST_EQ_INT(store_mailbox_rename(st, 4242, 0, "x", &error), -1);
	TEST_ASSERT(strstr(error, "no mailbox") != NULL);

	/* 64 levels, not 65. */
	chain[0] = top;
	for (i = 1; i < 64; i++) {
		snprintf(name, sizeof(name), "l%zu", i + 1);
		TEST_EQ_INT(store_mailbox_create(st, acc, chain[i - 1], name,
		                                 &chain[i], &error),
		            0);
	}
	TEST_EQ_INT(
	        store_mailbox_create(st, acc, chain[63], "l65", &id, &error),
	        -1);
	TEST_ASSERT(strstr(error, "64 levels") != NULL);
	TEST_EQ_INT(store_mailbox_get(st, chain[63], &mb, &error), 1);
	TEST_EQ_INT(mb.id, chain[63]);
	store_mailbox_free_contents(&mb);
	/* Moving a subtree of two levels under level 63 would make 65. */
	TEST_EQ_INT(store_mailbox_create(st, acc, other, "kid", &id, &error),
	            0);
	TEST_EQ_INT(store_mailbox_rename(st, other, chain[62], "o", &error),
	            -1);
	TEST_EQ_INT(store_mailbox_rename(st, other, chain[61], "o", &error), 0);
	TEST_EQ_INT(store_mailbox_rename(st, other, 0, "Other", &error), 0);

	/* Upserts: the depth limit, and no loops. */
	TEST_EQ_INT(store_mailbox_set_remote_id(st, chain[63], "deep", &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "r65", "l65", "deep",
	                                        NULL, &id, &error),
	            -1);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "ra", "A", NULL, NULL,
	                                        &a, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "rb", "B", "ra", NULL,
	                                        &b, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "ra", "A", "rb", NULL,
	                                        &id, &error),
	            -1);
	TEST_ASSERT(strstr(error, "into itself") != NULL);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "ra", "A", "ra", NULL,
	                                        &id, &error),
	            -1);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "rb", "B", "deep",
	                                        NULL, &id, &error),
	            -1);

	/* A missing mailbox is said so. */
	TEST_EQ_INT(store_mailbox_set_subscribed(st, 4242, true, &error), -1);
	TEST_ASSERT(strstr(error, "no mailbox") != NULL);
	TEST_EQ_INT(store_mailbox_delete(st, 4242, &error), -1);
	TEST_ASSERT(strstr(error, "no mailbox") != NULL);
	store_close(&st);
	test_store_verify(path);
}

static const struct test_case cases[] = {
        {"hierarchy, rename, delete", test_mailbox_hierarchy},
        {"UIDVALIDITY never reused", test_mailbox_uidvalidity},
        {"remote upserts and roles", test_mailbox_remote},
        {"status counts", test_mailbox_status},
        {"parents, depth and loops", test_mailbox_rules},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
