/* Messages in mailboxes: UIDs, modseq, CHANGEDSINCE, expunges, resync. */
#include <string.h>

#include "test-store-util.h"

struct test_collect {
	uint32_t uids[64];
	uint64_t modseqs[64];
	size_t n;
};

static int
test_collect_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct test_collect *c = ctx;

	(void)error_r;
	if (c->n == SB_N_ELEMENTS(c->uids))
		return 1;
	c->uids[c->n] = e->uid;
	c->modseqs[c->n++] = e->modseq;
	return 0;
}

static int
test_collect_uid(void *ctx, uint32_t uid, const char **error_r)
{
	struct test_collect *c = ctx;

	(void)error_r;
	if (c->n < SB_N_ELEMENTS(c->uids))
		c->uids[c->n++] = uid;
	return 0;
}

static struct test_collect
test_fetch(struct store *st, int64_t box, uint32_t lo, uint32_t hi,
           uint64_t since)
{
	struct test_collect c = {0};
	const char *error = NULL;

	if (store_mailbox_fetch(st, box, lo, hi, since, test_collect_entry, &c,
	                        &error) < 0)
		test_fail(__FILE__, __LINE__, "fetch: %s", error);
	return c;
}

static uint64_t
test_highest(struct store *st, int64_t box)
{
	struct store_mailbox_status s;
	const char *error;

	if (store_mailbox_status(st, box, &s, &error) < 0)
		test_fail(__FILE__, __LINE__, "status: %s", error);
	return s.highestmodseq;
}

static void
test_uids_never_reused(void)
{
	const char *path = test_store_path("uids");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "u@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t m[5];
	struct test_collect c;
	const char *error;
	uint32_t uid, *uids;
	size_t n, i;
	char remote[16];

	for (i = 0; i < 5; i++) {
		snprintf(remote, sizeof(remote), "m%zu", i);
		m[i] = test_store_message(st, acc, remote, "", &box, 1);
	}
	c = test_fetch(st, box, 1, UINT32_MAX, 0);
	TEST_EQ_UINT(c.n, 5);
	for (i = 0; i < 5; i++)
		TEST_EQ_UINT(c.uids[i], i + 1);

	/* Expunge the last two: their UIDs are not given again. */
	TEST_EQ_INT(store_message_delete(st, m[4], &error), 0);
	TEST_EQ_INT(store_mailbox_remove_message(st, box, m[3], &error), 0);
	store_close(&st);

	st = test_store_open(path);
	(void)test_store_message(st, acc, "m5", "", &box, 1);
	c = test_fetch(st, box, 1, UINT32_MAX, 0);
	TEST_EQ_UINT(c.n, 4);
	TEST_EQ_UINT(c.uids[3], 6);
	/* A message keeps its UID across the reopen. */
	TEST_EQ_UINT(test_store_entry(st, box, m[1]).uid, 2);

	/* A copy into the mailbox it is in keeps the UID. */
	TEST_EQ_INT(store_mailbox_add_message(st, box, m[1], &uid, &error), 0);
	TEST_EQ_UINT(uid, 2);

	/* Sequence numbers map to UIDs in order. */
	TEST_EQ_INT(store_mailbox_uids(st, box, &uids, &n, &error), 0);
	TEST_EQ_UINT(n, 4);
	TEST_EQ_UINT(uids[0], 1);
	TEST_EQ_UINT(uids[1], 2);
	TEST_EQ_UINT(uids[2], 3);
	TEST_EQ_UINT(uids[3], 6);
	free(uids);

	/* UID ranges. */
	c = test_fetch(st, box, 2, 5, 0);
	TEST_EQ_UINT(c.n, 2);
	TEST_EQ_UINT(c.uids[0], 2);
	TEST_EQ_UINT(c.uids[1], 3);
	store_close(&st);
}

static void
test_modseq_and_changedsince(void)
{
	struct store *st = test_store_open(test_store_path("modseq"));
	int64_t acc = test_store_account(st, "m@x.org");
	int64_t a = test_store_mailbox(st, acc, "A");
	int64_t b = test_store_mailbox(st, acc, "B");
	int64_t both[2] = {a, b};
	int64_t m1, m2, m3;
	uint64_t h0, h1, h2, hb;
	struct test_collect c;
	const char *error;

	m1 = test_store_message(st, acc, "m1", "", both, 2);
	m2 = test_store_message(st, acc, "m2", "", &a, 1);
	m3 = test_store_message(st, acc, "m3", "", &a, 1);
	h0 = test_highest(st, a);
	TEST_EQ_UINT(h0, 4);

	/* A keyword change gives a new modseq in every mailbox holding it. */
	TEST_EQ_INT(
	        store_message_change_keywords(st, m1, "$seen", NULL, &error),
	        0);
	h1 = test_highest(st, a);
	TEST_ASSERT(h1 > h0);
	TEST_EQ_UINT(test_store_entry(st, b, m1).modseq, test_highest(st, b));
	/* No change, no new modseq. */
	TEST_EQ_INT(
	        store_message_change_keywords(st, m1, "$SEEN", NULL, &error),
	        0);
	TEST_EQ_UINT(test_highest(st, a), h1);

	/* CHANGEDSINCE sees only what changed after. */
	hb = test_highest(st, b);
	c = test_fetch(st, a, 1, UINT32_MAX, h0);
	TEST_EQ_UINT(c.n, 1);
	TEST_EQ_UINT(c.uids[0], 1);
	TEST_EQ_UINT(c.modseqs[0], h1);
	TEST_EQ_INT(store_mailbox_set_deleted(st, a, 3, true, &error), 0);
	TEST_EQ_INT(store_mailbox_set_deleted(st, a, 3, true, &error), 0);
	TEST_EQ_INT(store_mailbox_set_deleted(st, a, 99, true, &error), -1);
	h2 = test_highest(st, a);
	TEST_EQ_UINT(h2, h1 + 1);
	TEST_ASSERT(test_store_entry(st, a, m3).deleted);
	TEST_ASSERT(!test_store_entry(st, a, m2).deleted);
	c = test_fetch(st, a, 1, UINT32_MAX, h1);
	TEST_EQ_UINT(c.n, 1);
	TEST_EQ_UINT(c.uids[0], 3);
	c = test_fetch(st, a, 1, UINT32_MAX, h2);
	TEST_EQ_UINT(c.n, 0);
	/* The \Deleted of A is not B's. */
	TEST_EQ_UINT(test_highest(st, b), hb);

	/* EXPUNGE of \Deleted: recorded for VANISHED with a new modseq. */
	TEST_EQ_INT(store_mailbox_expunge_deleted(st, a, &error), 0);
	TEST_ASSERT(test_highest(st, a) > h2);
	c = (struct test_collect){0};
	TEST_EQ_INT(
	        store_mailbox_vanished(st, a, h2, test_collect_uid, &c, &error),
	        0);
	TEST_EQ_UINT(c.n, 1);
	TEST_EQ_UINT(c.uids[0], 3);
	c = (struct test_collect){0};
	TEST_EQ_INT(store_mailbox_vanished(st, a, test_highest(st, a),
	                                   test_collect_uid, &c, &error),
	            0);
	TEST_EQ_UINT(c.n, 0);
	{
		struct store_message m;

		/* m3 was in A only: it is gone. */
		TEST_EQ_INT(store_message_get(st, m3, &m, &error), 0);
	}
	store_close(&st);
}

static void
test_move_and_mailboxes(void)
{
	struct store *st = test_store_open(test_store_path("move"));
	int64_t acc = test_store_account(st, "mv@x.org");
	int64_t in = test_store_mailbox(st, acc, "INBOX");
	int64_t arch = test_store_mailbox(st, acc, "Archive");
	int64_t trash = test_store_mailbox(st, acc, "Trash");
	int64_t acc2 = test_store_account(st, "other@x.org");
	int64_t other = test_store_mailbox(st, acc2, "INBOX");
	int64_t set[2] = {arch, trash};
	struct store_message msg;
	struct test_collect c;
	const char *error;
	uint32_t uid;
	int64_t m;

	m = test_store_message(st, acc, "m1", "$seen", &in, 1);
	TEST_EQ_INT(store_mailbox_move_message(st, in, arch, m, &uid, &error),
	            0);
	TEST_EQ_UINT(uid, 1);
	TEST_EQ_UINT(test_store_entry(st, in, m).uid, 0);
	c = (struct test_collect){0};
	TEST_EQ_INT(
	        store_mailbox_vanished(st, in, 0, test_collect_uid, &c, &error),
	        0);
	TEST_EQ_UINT(c.n, 1);

	/* Another account's mailbox is refused. */
	TEST_EQ_INT(store_mailbox_add_message(st, other, m, &uid, &error), -1);

	/* The sync engine's form: the exact set of mailboxes. */
	TEST_EQ_INT(store_message_set_mailboxes(st, m, set, 2, &error), 0);
	TEST_EQ_UINT(test_store_entry(st, arch, m).uid, 1);
	TEST_EQ_UINT(test_store_entry(st, trash, m).uid, 1);
	TEST_EQ_INT(store_message_set_mailboxes(st, m, &trash, 1, &error), 0);
	TEST_EQ_UINT(test_store_entry(st, arch, m).uid, 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$seen");
	TEST_EQ_MEM(msg.summary, msg.summary_len, "SBMS-cipher", 11);
	TEST_EQ_STR(msg.remote_id, "m1");
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_message_find_remote(st, acc, "m1", &msg, &error), 1);
	TEST_EQ_INT(msg.id, m);
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_message_find_remote(st, acc2, "m1", &msg, &error), 0);

	/* Removing it from its last mailbox deletes it. */
	TEST_EQ_INT(store_mailbox_remove_message(st, trash, m, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 0);
	TEST_EQ_INT(store_mailbox_remove_message(st, trash, m, &error), -1);
	store_close(&st);
}

static void
test_keywords(void)
{
	struct store *st = test_store_open(test_store_path("keywords"));
	int64_t acc = test_store_account(st, "k@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	struct store_message msg;
	const char *error;
	char *out, many[2000];
	int64_t m;
	size_t i;

	TEST_EQ_INT(store_keywords_normalize("  $Seen  $flagged $seen x ", &out,
	                                     &error),
	            0);
	TEST_EQ_STR(out, "$flagged $seen x");
	free(out);
	TEST_EQ_INT(store_keywords_normalize(NULL, &out, &error), 0);
	TEST_EQ_STR(out, "");
	free(out);
	TEST_EQ_INT(store_keywords_normalize("a(b", &out, &error), -1);
	TEST_EQ_INT(store_keywords_normalize("\\Seen", &out, &error), -1);
	memset(many, 'k', 65);
	many[65] = '\0';
	TEST_EQ_INT(store_keywords_normalize(many, &out, &error), -1);
	for (i = 0; i < 101; i++)
		snprintf(many + i * 5, 6, "k%03zu ", i);
	TEST_EQ_INT(store_keywords_normalize(many, &out, &error), -1);
	many[100 * 5] = '\0';
	TEST_EQ_INT(store_keywords_normalize(many, &out, &error), 0);
	free(out);
	/* 150 words but 3 keywords: counted once merged. */
	for (i = 0; i < 150; i++)
		memcpy(many + i * 3,
		       i % 3 == 0   ? "aa "
		       : i % 3 == 1 ? "bb "
		                    : "cc ",
		       4);
	TEST_EQ_INT(store_keywords_normalize(many, &out, &error), 0);
	TEST_EQ_STR(out, "aa bb cc");
	free(out);

	m = test_store_message(st, acc, "m1", "b a", &box, 1);
	TEST_EQ_INT(
	        store_message_change_keywords(st, m, "c $seen", "a", &error),
	        0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$seen b c");
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_message_set_keywords(st, m, "", &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "");
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_message_set_keywords(st, 999, "x", &error), -1);
	TEST_EQ_INT(store_message_set_keywords(st, m, "bad\"", &error), -1);
	store_close(&st);
}

static void
test_cache_and_remote(void)
{
	struct store *st = test_store_open(test_store_path("cache"));
	int64_t acc = test_store_account(st, "c@x.org");
	int64_t box = test_store_mailbox(st, acc, "Drafts");
	struct store_message msg;
	struct sb_buf b;
	const char *error;
	int64_t m;

	/* APPEND: not on the service yet. */
	m = test_store_message(st, acc, NULL, "$draft", &box, 1);
	sb_buf_init(&b, 1024);
	TEST_EQ_INT(store_message_cache_get(st, m, &b, &error), 0);
	TEST_EQ_UINT(b.len, 0);
	TEST_EQ_INT(
	        store_message_cache_set(st, m, "SBCC\x01sealed", 11, &error),
	        0);
	TEST_EQ_INT(store_message_cache_get(st, m, &b, &error), 0);
	TEST_EQ_MEM(b.data, b.len, "SBCC\x01sealed", 11);
	sb_buf_free(&b);
	sb_buf_init(&b, 4);
	TEST_EQ_INT(store_message_cache_get(st, m, &b, &error), -1);
	TEST_EQ_INT(store_message_cache_get(st, 999, &b, &error), -1);
	TEST_EQ_INT(store_message_cache_set(st, 999, "x", 1, &error), -1);

	TEST_EQ_INT(store_message_set_remote(st, m, "m_new", "b_new", &error),
	            0);
	TEST_EQ_INT(store_message_find_remote(st, acc, "m_new", &msg, &error),
	            1);
	TEST_EQ_STR(msg.blob_id, "b_new");
	store_message_free_contents(&msg);
	/* A remote id is unique within the account. */
	{
		struct store_message dup = {.account_id = acc,
		                            .remote_id = (char *)"m_new"};
		int64_t id;

		TEST_EQ_INT(store_message_add(st, &dup, &box, 1, &id, &error),
		            -1);
		TEST_ASSERT(strstr(error, "already") != NULL);
		TEST_EQ_INT(store_message_add(st, &dup, &box, 0, &id, &error),
		            -1);
	}
	store_close(&st);
}

static void
test_resync(void)
{
	struct store *st = test_store_open(test_store_path("resync"));
	int64_t acc = test_store_account(st, "r@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	struct store_mailbox mb;
	struct test_collect c;
	const char *error;
	uint32_t validity;
	size_t removed;
	int64_t local;

	(void)test_store_message(st, acc, "m1", "", &box, 1);
	(void)test_store_message(st, acc, "m2", "", &box, 1);
	(void)test_store_message(st, acc, "m3", "", &box, 1);
	local = test_store_message(st, acc, NULL, "", &box, 1);
	TEST_EQ_INT(store_mailbox_get(st, box, &mb, &error), 1);
	validity = mb.uidvalidity;
	store_mailbox_free_contents(&mb);

	TEST_EQ_INT(store_resync_begin(st, acc, &error), 0);
	TEST_EQ_INT(store_resync_keep(st, acc, "m1", &error), 0);
	TEST_EQ_INT(store_resync_keep(st, acc, "m3", &error), 0);
	TEST_EQ_INT(store_resync_keep(st, acc, "m9", &error), 0);
	TEST_EQ_INT(store_resync_finish(st, acc, &removed, &error), 0);
	TEST_EQ_UINT(removed, 1);

	c = test_fetch(st, box, 1, UINT32_MAX, 0);
	TEST_EQ_UINT(c.n, 3);
	TEST_EQ_UINT(c.uids[0], 1);
	TEST_EQ_UINT(c.uids[1], 3);
	TEST_EQ_UINT(c.uids[2], 4);
	TEST_EQ_UINT(test_store_entry(st, box, local).uid, 4);
	c = (struct test_collect){0};
	TEST_EQ_INT(store_mailbox_vanished(st, box, 0, test_collect_uid, &c,
	                                   &error),
	            0);
	TEST_EQ_UINT(c.n, 1);
	TEST_EQ_UINT(c.uids[0], 2);
	TEST_EQ_INT(store_mailbox_get(st, box, &mb, &error), 1);
	TEST_EQ_UINT(mb.uidvalidity, validity);
	store_mailbox_free_contents(&mb);

	/* A second resync starts from an empty list. */
	TEST_EQ_INT(store_resync_begin(st, acc, &error), 0);
	TEST_EQ_INT(store_resync_finish(st, acc, &removed, &error), 0);
	TEST_EQ_UINT(removed, 2);
	c = test_fetch(st, box, 1, UINT32_MAX, 0);
	TEST_EQ_UINT(c.n, 1);
	store_close(&st);
}

static void
test_resync_concurrent_import(void)
{
	const char *path = test_store_path("resync2");
	struct store *st = test_store_open(path);
	struct store *other = test_store_open(path);
	int64_t acc = test_store_account(st, "r2@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t old, local, fresh;
	struct store_message m;
	const char *error;
	size_t removed;

	old = test_store_message(st, acc, "m1", "", &box, 1);
	local = test_store_message(st, acc, NULL, "", &box, 1);
	/* The listing starts; meanwhile the feed brings a new message ... */
	TEST_EQ_INT(store_resync_begin(st, acc, &error), 0);
	fresh = test_store_message(other, acc, "m_new", "", &box, 1);
	/* ... and an APPEND's import finishes: neither was listed. */
	TEST_EQ_INT(
	        store_message_set_remote(other, local, "m_app", "b", &error),
	        0);
	/* Another connection, even, may carry on the resync. */
	store_close(&st);
	st = test_store_open(path);
	TEST_EQ_INT(store_resync_finish(other, acc, &removed, &error), 0);
	TEST_EQ_UINT(removed, 1);
	TEST_EQ_INT(store_message_get(st, old, &m, &error), 0);
	TEST_EQ_INT(store_message_get(st, fresh, &m, &error), 1);
	store_message_free_contents(&m);
	TEST_EQ_INT(store_message_get(st, local, &m, &error), 1);
	store_message_free_contents(&m);
	TEST_EQ_INT(store_resync_begin(st, 4242, &error), -1);
	store_close(&other);
	store_close(&st);
	test_store_verify(path);
}

struct test_writing_cb {
	struct store *st;
	int64_t account;
	int calls, failed;
	char error[256];
};

/* Writes to the op queue from inside a fetch. */
static int
test_writing_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct test_writing_cb *w = ctx;
	const char *error;
	int64_t op;

	(void)e;
	(void)error_r;
	w->calls++;
	if (store_op_push(w->st, w->account, "k", "{}", 1, &op, &error) < 0) {
		w->failed++;
		snprintf(w->error, sizeof(w->error), "%s", error);
	}
	return 0;
}

static void
test_write_from_callback(void)
{
	const char *path = test_store_path("callback");
	struct store *st = test_store_open(path);
	struct store *other = test_store_open(path);
	int64_t acc = test_store_account(st, "cb@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	struct test_writing_cb w = {.st = st, .account = acc};
	const char *error;
	uint64_t count;

	(void)test_store_message(st, acc, "m1", "", &box, 1);
	(void)test_store_message(st, acc, "m2", "", &box, 1);
	/* Outside a transaction: refused at once, with a clear reason. */
	TEST_EQ_INT(store_mailbox_fetch(st, box, 1, UINT32_MAX, 0,
	                                test_writing_entry, &w, &error),
	            0);
	TEST_EQ_INT(w.calls, 2);
	TEST_EQ_INT(w.failed, 2);
	TEST_ASSERT(strstr(w.error, "callback") != NULL);
	/* Inside store_begin: the writes join the transaction. */
	w = (struct test_writing_cb){.st = st, .account = acc};
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_mailbox_fetch(st, box, 1, UINT32_MAX, 0,
	                                test_writing_entry, &w, &error),
	            0);
	TEST_EQ_INT(store_commit(st, &error), 0);
	TEST_EQ_INT(w.failed, 0);
	TEST_EQ_INT(store_op_count(other, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 2);
	store_close(&other);
	store_close(&st);
}

static void
test_no_uid_left(void)
{
	const char *path = test_store_path("uidnext");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "n@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t m = test_store_message(st, acc, "m1", "", &box, 1);
	int64_t box2 = test_store_mailbox(st, acc, "Full");
	struct store_mailbox_status status;
	struct store_mailbox mb;
	const char *error;
	sqlite3 *db;
	uint32_t uid;

	/* Missing mailbox or message: said so, not "no UID left". */
	TEST_EQ_INT(store_mailbox_add_message(st, 4242, m, &uid, &error), -1);
	TEST_ASSERT(strstr(error, "no mailbox 4242") != NULL);
	TEST_EQ_INT(store_mailbox_add_message(st, box, 4343, &uid, &error), -1);
	TEST_ASSERT(strstr(error, "no message 4343") != NULL);

	/* The last UID given: uidnext is 2^32, not 0. */
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "UPDATE mailboxes SET uidnext = 4294967295"
	                         " WHERE name = 'Full'",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	sqlite3_close(db);
	TEST_EQ_INT(store_mailbox_add_message(st, box2, m, &uid, &error), 0);
	TEST_EQ_UINT(uid, 4294967295u);
	TEST_EQ_INT(store_mailbox_status(st, box2, &status, &error), 0);
	TEST_EQ_UINT(status.uidnext, 4294967296ull);
	TEST_EQ_INT(store_mailbox_get(st, box2, &mb, &error), 1);
	TEST_EQ_UINT(mb.uidnext, 4294967296ull);
	store_mailbox_free_contents(&mb);
	{
		int64_t m2 = test_store_message(st, acc, "m2", "", &box, 1);

		TEST_EQ_INT(
		        store_mailbox_add_message(st, box2, m2, &uid, &error),
		        -1);
		TEST_ASSERT(strstr(error, "no UID left") != NULL);
	}
	store_close(&st);
	test_store_verify(path);
}

static void
test_forget_expunged(void)
{
	const char *path = test_store_path("forget");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "f@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t m1 = test_store_message(st, acc, "m1", "", &box, 1);
	int64_t m2 = test_store_message(st, acc, "m2", "", &box, 1);
	struct store_mailbox_status s;
	struct test_collect c = {0};
	const char *error;
	uint64_t mid, removed;

	TEST_EQ_INT(store_message_delete(st, m1, &error), 0);
	mid = test_highest(st, box);
	TEST_EQ_INT(store_message_delete(st, m2, &error), 0);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.expunged_floor, 0);
	TEST_EQ_INT(
	        store_mailbox_forget_expunged(st, box, mid, &removed, &error),
	        0);
	TEST_EQ_UINT(removed, 1);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.expunged_floor, mid);
	TEST_EQ_INT(store_mailbox_vanished(st, box, 0, test_collect_uid, &c,
	                                   &error),
	            0);
	TEST_EQ_UINT(c.n, 1);
	TEST_EQ_UINT(c.uids[0], 2);
	/* The floor never goes down. */
	TEST_EQ_INT(store_mailbox_forget_expunged(st, 0, 1, &removed, &error),
	            0);
	TEST_EQ_UINT(removed, 0);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.expunged_floor, mid);
	store_close(&st);
	test_store_verify(path);
}

static void
test_integrity_after(void)
{
	const char *names[] = {"uids",  "modseq", "move",    "keywords",
	                       "cache", "resync", "resync2", "callback"};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(names); i++)
		test_store_verify(test_store_path(names[i]));
}

static const struct test_case cases[] = {
        {"UIDs increase, never reused, kept on reopen", test_uids_never_reused},
        {"modseq, CHANGEDSINCE, VANISHED", test_modseq_and_changedsince},
        {"move, copy, mailbox sets", test_move_and_mailboxes},
        {"keywords", test_keywords},
        {"cache blob and remote ids", test_cache_and_remote},
        {"resync keeps UIDs", test_resync},
        {"resync keeps what came during it", test_resync_concurrent_import},
        {"writes from a fetch callback", test_write_from_callback},
        {"UIDs run out clearly", test_no_uid_left},
        {"expunge records forgotten", test_forget_expunged},
        {"integrity after the tests", test_integrity_after},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
