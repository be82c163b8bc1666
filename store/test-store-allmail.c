/* All Mail: it follows the other mailboxes, and refiles what leaves it. */
#include <string.h>

#include "common/buf.h"
#include "test-store-util.h"

struct test_all {
	struct store *st;
	int64_t acc, all, inbox, work, trash, junk;
	const char *path;
};

static int64_t
test_role(struct store *st, int64_t acc, const char *remote, const char *name,
          const char *role)
{
	const char *error = NULL;
	int64_t id = 0;

	if (store_mailbox_upsert_remote(st, acc, remote, name, NULL, role, &id,
	                                &error) < 0)
		test_fail(__FILE__, __LINE__, "mailbox: %s", error);
	return id;
}

static void
test_all_open(struct test_all *t, const char *name)
{
	struct store_mailbox mb;
	const char *error;

	t->path = test_store_path(name);
	t->st = test_store_open(t->path);
	t->acc = test_store_account(t->st, "a@x.org");
	TEST_EQ_INT(store_mailbox_find_role(t->st, t->acc, STORE_ROLE_ALL, &mb,
	                                    &error),
	            1);
	TEST_EQ_STR(mb.path, "All Mail");
	TEST_ASSERT(mb.remote_id == NULL);
	t->all = mb.id;
	store_mailbox_free_contents(&mb);
	t->inbox = test_role(t->st, t->acc, "r-in", "INBOX", "inbox");
	t->work = test_role(t->st, t->acc, "r-work", "Work", NULL);
	t->trash = test_role(t->st, t->acc, "r-trash", "Trash", "trash");
	t->junk = test_role(t->st, t->acc, "r-junk", "Junk", "junk");
}

static void
test_all_close(struct test_all *t)
{
	store_close(&t->st);
	test_store_verify(t->path);
}

/* The ops of the account, each payload on its own line; removed. */
static char *
test_all_ops(struct store *st, int64_t acc)
{
	struct sb_buf b;
	struct store_op op;
	const char *error;

	sb_buf_init(&b, SIZE_MAX);
	while (store_op_peek(st, acc, INT64_MAX / 2, &op, &error) == 1) {
		TEST_ASSERT(sb_buf_add_printf(&b, "%s %s\n", op.kind,
		                              op.payload) == 0);
		TEST_EQ_INT(store_op_done(st, op.id, &error), 0);
		store_op_free_contents(&op);
	}
	return sb_buf_take(&b, NULL);
}

static void
test_all_follows(void)
{
	struct test_all t;
	struct store_patch p = {0};
	const char *error;
	int64_t m[3], both[2];
	uint32_t u0, uid;
	uint64_t modseq;
	char *ops;

	test_all_open(&t, "follows");
	m[0] = test_store_message(t.st, t.acc, "m0", "", &t.inbox, 1);
	m[1] = test_store_message(t.st, t.acc, "m1", "", &t.trash, 1);
	both[0] = t.trash;
	both[1] = t.work;
	m[2] = test_store_message(t.st, t.acc, "m2", "", both, 2);
	/* In INBOX, and in Work and Trash: in All Mail; in Trash alone: not. */
	u0 = test_store_entry(t.st, t.all, m[0]).uid;
	TEST_EQ_UINT(u0, 1);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[1]).uid, 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[2]).uid, 2);

	/* A copy keeps the UID; a flag gives the entry a new modseq. */
	p.add_mailbox = t.work;
	TEST_EQ_INT(store_local_update(t.st, m, 1, &p, 10, NULL, &error), 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[0]).uid, u0);
	modseq = test_store_entry(t.st, t.all, m[0]).modseq;
	memset(&p, 0, sizeof(p));
	p.add_keywords = "$seen";
	TEST_EQ_INT(store_local_update(t.st, m, 1, &p, 10, NULL, &error), 0);
	TEST_ASSERT(test_store_entry(t.st, t.all, m[0]).modseq > modseq);

	/* Into Junk alone: out of All Mail; back to INBOX: a new UID. */
	TEST_EQ_INT(store_message_set_mailboxes(t.st, m[0], &t.junk, 1, &error),
	            0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[0]).uid, 0);
	TEST_EQ_INT(
	        store_message_set_mailboxes(t.st, m[0], &t.inbox, 1, &error),
	        0);
	uid = test_store_entry(t.st, t.all, m[0]).uid;
	TEST_EQ_UINT(uid, 3);
	/* The service's lists of mailboxes leave the All Mail UID alone. */
	TEST_EQ_INT(store_message_set_mailboxes(t.st, m[0], both, 2, &error),
	            0);
	TEST_EQ_INT(store_message_set_mailboxes(t.st, m[0], &t.work, 1, &error),
	            0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[0]).uid, uid);

	/* Deleting the message or its only mailbox takes it out too. */
	TEST_EQ_INT(store_message_delete(t.st, m[2], &error), 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[2]).uid, 0);
	TEST_EQ_INT(store_mailbox_delete(t.st, t.work, &error), 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[0]).uid, 0);

	/* Nothing is added to All Mail, and no op names it. */
	p.add_keywords = NULL;
	p.add_mailbox = t.all;
	TEST_EQ_INT(store_local_update(t.st, m + 1, 1, &p, 10, NULL, &error),
	            -1);
	TEST_ASSERT(strstr(error, "All Mail") != NULL);
	TEST_EQ_INT(store_mailbox_add_message(t.st, t.all, m[1], &uid, &error),
	            -1);
	ops = test_all_ops(t.st, t.acc);
	TEST_EQ_STR(ops, "update {\"v\":1,\"messages\":[1],"
	                 "\"add_keywords\":[],\"remove_keywords\":[],"
	                 "\"add_mailbox\":3}\n"
	                 "update {\"v\":1,\"messages\":[1],"
	                 "\"add_keywords\":[\"$seen\"],"
	                 "\"remove_keywords\":[]}\n");
	free(ops);
	test_all_close(&t);
}

static void
test_all_expunge(void)
{
	struct test_all t;
	struct store_patch p = {0};
	const char *error;
	int64_t m[3], both[2];
	uint32_t uids[2], old;
	int64_t ids[1];
	char *ops;
	char want[512];

	test_all_open(&t, "expunge");
	both[0] = t.inbox;
	both[1] = t.work;
	m[0] = test_store_message(t.st, t.acc, "m0", "", both, 2);
	m[1] = test_store_message(t.st, t.acc, "m1", "", &t.inbox, 1);
	m[2] = test_store_message(t.st, t.acc, "m2", "", &t.inbox, 1);

	/* EXPUNGE in All Mail: to Trash, out of INBOX and Work. */
	TEST_EQ_INT(store_mailbox_set_deleted(t.st, t.all, 1, true, &error), 0);
	TEST_EQ_INT(store_local_expunge(t.st, t.all, NULL, 0, 20, &error), 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[0]).uid, 0);
	TEST_ASSERT(test_store_entry(t.st, t.trash, m[0]).uid != 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.inbox, m[0]).uid, 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.work, m[0]).uid, 0);
	snprintf(want, sizeof(want),
	         "update {\"v\":1,\"messages\":[%lld],\"add_keywords\":[],"
	         "\"remove_keywords\":[],\"add_mailbox\":%lld}\n"
	         "update {\"v\":1,\"messages\":[%lld],\"add_keywords\":[],"
	         "\"remove_keywords\":[],\"remove_mailbox\":%lld}\n"
	         "update {\"v\":1,\"messages\":[%lld],\"add_keywords\":[],"
	         "\"remove_keywords\":[],\"remove_mailbox\":%lld}\n",
	         (long long)m[0], (long long)t.trash, (long long)m[0],
	         (long long)t.inbox, (long long)m[0], (long long)t.work);
	ops = test_all_ops(t.st, t.acc);
	TEST_EQ_STR(ops, want);
	free(ops);

	/* MOVE out of All Mail: in the target alone, with a new UID. */
	old = test_store_entry(t.st, t.all, m[1]).uid;
	ids[0] = m[1];
	p.add_mailbox = t.work;
	p.remove_mailbox = t.all;
	TEST_EQ_INT(store_local_update(t.st, ids, 1, &p, 30, uids, &error), 0);
	TEST_EQ_UINT(uids[0], test_store_entry(t.st, t.work, m[1]).uid);
	TEST_EQ_UINT(test_store_entry(t.st, t.inbox, m[1]).uid, 0);
	TEST_ASSERT(test_store_entry(t.st, t.all, m[1]).uid > old);
	/* To Trash: it leaves All Mail for good. */
	ids[0] = m[2];
	p.add_mailbox = t.trash;
	TEST_EQ_INT(store_local_update(t.st, ids, 1, &p, 30, uids, &error), 0);
	TEST_EQ_UINT(test_store_entry(t.st, t.all, m[2]).uid, 0);
	TEST_EQ_UINT(uids[0], test_store_entry(t.st, t.trash, m[2]).uid);
	/* Only a move leaves All Mail; a plain removal is refused. */
	ids[0] = m[1];
	memset(&p, 0, sizeof(p));
	p.remove_mailbox = t.all;
	TEST_EQ_INT(store_local_update(t.st, ids, 1, &p, 30, NULL, &error), -1);
	ops = test_all_ops(t.st, t.acc);
	TEST_ASSERT(strstr(ops, "\"remove_mailbox\":1}") == NULL);
	TEST_ASSERT(strstr(ops, "\"add_mailbox\":1}") == NULL);
	free(ops);

	/* An expunge in INBOX of a message there alone still goes to Trash. */
	m[1] = test_store_message(t.st, t.acc, "m3", "", &t.inbox, 1);
	TEST_EQ_INT(store_mailbox_set_deleted(
	                    t.st, t.inbox,
	                    test_store_entry(t.st, t.inbox, m[1]).uid, true,
	                    &error),
	            0);
	TEST_EQ_INT(store_local_expunge(t.st, t.inbox, NULL, 0, 40, &error), 0);
	TEST_ASSERT(test_store_entry(t.st, t.trash, m[1]).uid != 0);
	/* And expunged from Trash, it is destroyed. */
	TEST_EQ_INT(store_mailbox_set_deleted(
	                    t.st, t.trash,
	                    test_store_entry(t.st, t.trash, m[1]).uid, true,
	                    &error),
	            0);
	TEST_EQ_INT(store_local_expunge(t.st, t.trash, NULL, 0, 40, &error), 0);
	TEST_EQ_INT(store_message_get(t.st, m[1], &(struct store_message){0},
	                              &error),
	            0);
	test_all_close(&t);
}

/* An account without Trash: an expunge in All Mail destroys. */
static void
test_all_no_trash(void)
{
	struct store *st = test_store_open(test_store_path("notrash"));
	int64_t acc = test_store_account(st, "b@x.org");
	int64_t inbox = test_store_mailbox(st, acc, "INBOX");
	int64_t m = test_store_message(st, acc, "m0", "", &inbox, 1);
	struct store_mailbox all;
	struct store_message msg;
	const char *error;

	TEST_EQ_INT(
	        store_mailbox_find_role(st, acc, STORE_ROLE_ALL, &all, &error),
	        1);
	TEST_EQ_INT(store_mailbox_set_deleted(st, all.id, 1, true, &error), 0);
	TEST_EQ_INT(store_local_expunge(st, all.id, NULL, 0, 5, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 0);
	store_mailbox_free_contents(&all);
	store_close(&st);
	test_store_verify(test_store_path("notrash"));
}

/* A mailbox of the user's named All Mail takes the name over. */
static void
test_all_yields(void)
{
	struct test_all t;
	struct store_mailbox mb;
	const char *error;
	int64_t id, m;

	test_all_open(&t, "yields");
	m = test_store_message(t.st, t.acc, "m0", "", &t.inbox, 1);
	TEST_EQ_INT(
	        store_mailbox_create(t.st, t.acc, 0, "All Mail", &id, &error),
	        -1);
	id = test_role(t.st, t.acc, "r-user", "All Mail", NULL);
	TEST_EQ_INT(store_mailbox_find_role(t.st, t.acc, STORE_ROLE_ALL, &mb,
	                                    &error),
	            0);
	TEST_EQ_INT(
	        store_mailbox_find_path(t.st, t.acc, "All Mail", &mb, &error),
	        1);
	TEST_EQ_INT(mb.id, id);
	TEST_EQ_STR(mb.remote_id, "r-user");
	store_mailbox_free_contents(&mb);
	/* Without All Mail, messages come and go as before. */
	TEST_EQ_INT(store_message_delete(t.st, m, &error), 0);
	m = test_store_message(t.st, t.acc, "m1", "", &t.inbox, 1);
	TEST_ASSERT(test_store_entry(t.st, t.inbox, m).uid != 0);
	test_all_close(&t);
}

static const struct test_case cases[] = {
        {"follows", test_all_follows},
        {"expunge and move", test_all_expunge},
        {"no trash", test_all_no_trash},
        {"a mailbox of the user's takes the name", test_all_yields},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
