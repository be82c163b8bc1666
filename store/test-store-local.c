/* Local-first changes: the replica changed and the op queued together. */
#include <string.h>

#include "test-store-util.h"

/* The account's only op: its kind and payload (the op is removed). */
static void
test_take_op(struct store *st, int64_t account, const char *kind,
             const char *payload)
{
	struct store_op op;
	const char *error;

	TEST_EQ_INT(store_op_peek(st, account, INT64_MAX / 2, &op, &error), 1);
	TEST_EQ_STR(op.kind, kind);
	TEST_EQ_STR(op.payload, payload);
	TEST_EQ_INT(store_op_done(st, op.id, &error), 0);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_peek(st, account, INT64_MAX / 2, &op, &error), 0);
}

static void
test_ops_none(struct store *st, int64_t account)
{
	const char *error;
	uint64_t n;

	TEST_EQ_INT(store_op_count(st, account, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
}

static void
test_payloads(void)
{
	int64_t ids[] = {3, 14};
	struct store_patch p = {.add_keywords = "$seen  $flagged",
	                        .remove_mailbox = 9};
	char *s;

	s = store_op_update_payload(ids, 2, &p);
	TEST_EQ_STR(s, "{\"v\":1,\"messages\":[3,14],"
	               "\"add_keywords\":[\"$seen\",\"$flagged\"],"
	               "\"remove_keywords\":[],\"remove_mailbox\":9}");
	free(s);
	s = store_op_import_payload(7, 2);
	TEST_EQ_STR(s, "{\"v\":1,\"message\":7,\"mailbox\":2}");
	free(s);
}

static void
test_keywords_and_copy(void)
{
	struct store *st = test_store_open(test_store_path("update"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t other = test_store_account(st, "b@x.org");
	int64_t inbox = test_store_mailbox(st, acc, "INBOX");
	int64_t arch = test_store_mailbox(st, acc, "Archive");
	int64_t elsewhere = test_store_mailbox(st, other, "INBOX");
	int64_t m[3], mixed[2];
	struct store_patch p = {0};
	struct store_message msg;
	struct test_store_find f;
	uint32_t uids[3];
	const char *error;
	uint64_t before;

	m[0] = test_store_message(st, acc, "m_0", "", &inbox, 1);
	m[1] = test_store_message(st, acc, "m_1", "$seen", &inbox, 1);
	m[2] = test_store_message(st, acc, NULL, "", &inbox, 1);
	before = test_store_entry(st, inbox, m[1]).modseq;

	p.add_keywords = "$Flagged";
	p.remove_keywords = "$seen";
	TEST_EQ_INT(store_local_update(st, m, 3, &p, 100, NULL, &error), 0);
	TEST_EQ_INT(store_message_get(st, m[1], &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$flagged");
	store_message_free_contents(&msg);
	TEST_ASSERT(test_store_entry(st, inbox, m[1]).modseq > before);
	test_take_op(st, acc, STORE_OP_UPDATE,
	             "{\"v\":1,\"messages\":[1,2,3],"
	             "\"add_keywords\":[\"$flagged\"],"
	             "\"remove_keywords\":[\"$seen\"]}");

	/* COPY: UIDs in the target, the message in both. */
	memset(&p, 0, sizeof(p));
	p.add_mailbox = arch;
	TEST_EQ_INT(store_local_update(st, m, 2, &p, 101, uids, &error), 0);
	TEST_EQ_UINT(uids[0], 1);
	TEST_EQ_UINT(uids[1], 2);
	TEST_EQ_UINT(test_store_entry(st, inbox, m[0]).uid, 1);
	test_take_op(st, acc, STORE_OP_UPDATE,
	             "{\"v\":1,\"messages\":[1,2],\"add_keywords\":[],"
	             "\"remove_keywords\":[],\"add_mailbox\":4}");

	/* MOVE: out of the source. */
	p.add_mailbox = arch;
	p.remove_mailbox = inbox;
	TEST_EQ_INT(store_local_update(st, &m[2], 1, &p, 102, uids, &error), 0);
	TEST_EQ_UINT(uids[0], 3);
	f = test_store_entry(st, inbox, m[2]);
	TEST_EQ_UINT(f.uid, 0);
	test_take_op(st, acc, STORE_OP_UPDATE,
	             "{\"v\":1,\"messages\":[3],\"add_keywords\":[],"
	             "\"remove_keywords\":[],\"add_mailbox\":4,"
	             "\"remove_mailbox\":3}");

	/* A change across accounts is refused whole: nothing changes. */
	mixed[0] = m[0];
	mixed[1] = test_store_message(st, other, "m_b", "", &elsewhere, 1);
	memset(&p, 0, sizeof(p));
	p.add_keywords = "$answered";
	TEST_ASSERT(store_local_update(st, mixed, 2, &p, 103, NULL, &error) <
	            0);
	TEST_ASSERT(strstr(error, "one account") != NULL);
	TEST_EQ_INT(store_message_get(st, m[0], &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$flagged");
	store_message_free_contents(&msg);
	test_ops_none(st, acc);
	test_ops_none(st, other);
	/* So is a copy into another account's mailbox. */
	memset(&p, 0, sizeof(p));
	p.add_mailbox = elsewhere;
	TEST_ASSERT(store_local_update(st, m, 1, &p, 104, NULL, &error) < 0);
	test_ops_none(st, acc);
	/* Out of its last mailbox: refused (that is an expunge). */
	memset(&p, 0, sizeof(p));
	p.remove_mailbox = arch;
	TEST_ASSERT(store_local_update(st, &m[2], 1, &p, 104, NULL, &error) <
	            0);
	TEST_ASSERT(strstr(error, "no mailbox") != NULL);
	TEST_ASSERT(test_store_entry(st, arch, m[2]).uid != 0);
	test_ops_none(st, acc);
	/* A move onto itself means nothing. */
	p.add_mailbox = p.remove_mailbox = arch;
	TEST_ASSERT(store_local_update(st, m, 1, &p, 104, NULL, &error) < 0);
	store_close(&st);
}

/* Flags \Deleted on a message's entry in a mailbox. */
static void
test_mark_deleted(struct store *st, int64_t mailbox, int64_t message)
{
	const char *error;
	struct test_store_find f = test_store_entry(st, mailbox, message);

	TEST_ASSERT(f.uid != 0);
	TEST_EQ_INT(store_mailbox_set_deleted(st, mailbox, f.uid, true, &error),
	            0);
}

static void
test_expunge(void)
{
	struct store *st = test_store_open(test_store_path("expunge"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t inbox, work, trash, both[2], m_work, m_alone, m_kept, m_trash,
	        m_local;
	struct store_message msg;
	const char *error;
	uint32_t only;

	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_in", "INBOX", NULL,
	                                        "inbox", &inbox, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_tr", "Trash", NULL,
	                                        "trash", &trash, &error),
	            0);
	work = test_store_mailbox(st, acc, "Work");
	both[0] = inbox;
	both[1] = work;
	m_work = test_store_message(st, acc, "m_w", "", both, 2);
	m_alone = test_store_message(st, acc, "m_a", "", &inbox, 1);
	m_kept = test_store_message(st, acc, "m_k", "", &inbox, 1);
	m_trash = test_store_message(st, acc, "m_t", "", &trash, 1);
	m_local = test_store_message(st, acc, NULL, "", &trash, 1);

	test_mark_deleted(st, inbox, m_work);
	test_mark_deleted(st, inbox, m_alone);
	/* UID EXPUNGE of a set without m_kept's UID leaves it, flagged. */
	test_mark_deleted(st, inbox, m_kept);
	only = test_store_entry(st, inbox, m_work).uid;
	TEST_EQ_INT(store_local_expunge(st, inbox, &only, 1, 200, &error), 0);
	TEST_EQ_UINT(test_store_entry(st, inbox, m_work).uid, 0);
	TEST_ASSERT(test_store_entry(st, work, m_work).uid != 0);
	TEST_ASSERT(test_store_entry(st, inbox, m_alone).uid != 0);
	test_take_op(st, acc, STORE_OP_UPDATE,
	             "{\"v\":1,\"messages\":[1],\"add_keywords\":[],"
	             "\"remove_keywords\":[],\"remove_mailbox\":2}");

	/* EXPUNGE: alone in INBOX goes to Trash, the rest as before. */
	TEST_EQ_INT(store_mailbox_set_deleted(
	                    st, inbox, test_store_entry(st, inbox, m_kept).uid,
	                    false, &error),
	            0);
	TEST_EQ_INT(store_local_expunge(st, inbox, NULL, 0, 201, &error), 0);
	TEST_EQ_UINT(test_store_entry(st, inbox, m_alone).uid, 0);
	TEST_ASSERT(test_store_entry(st, trash, m_alone).uid != 0);
	TEST_ASSERT(test_store_entry(st, inbox, m_kept).uid != 0);
	test_take_op(st, acc, STORE_OP_UPDATE,
	             "{\"v\":1,\"messages\":[2],\"add_keywords\":[],"
	             "\"remove_keywords\":[],\"add_mailbox\":3,"
	             "\"remove_mailbox\":2}");

	/* In Trash alone: destroyed; only what the service has is named. */
	test_mark_deleted(st, trash, m_trash);
	test_mark_deleted(st, trash, m_local);
	TEST_EQ_INT(store_local_expunge(st, trash, NULL, 0, 202, &error), 0);
	TEST_EQ_INT(store_message_get(st, m_trash, &msg, &error), 0);
	TEST_EQ_INT(store_message_get(st, m_local, &msg, &error), 0);
	TEST_ASSERT(test_store_entry(st, trash, m_alone).uid != 0);
	test_take_op(st, acc, STORE_OP_DESTROY,
	             "{\"v\":1,\"remote_ids\":[\"m_t\"]}");

	/* Nothing flagged: nothing changes, no op. */
	TEST_EQ_INT(store_local_expunge(st, trash, NULL, 0, 203, &error), 0);
	test_ops_none(st, acc);
	store_close(&st);
}

static void
test_expunge_without_trash(void)
{
	struct store *st = test_store_open(test_store_path("notrash"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t inbox = test_store_mailbox(st, acc, "INBOX");
	int64_t m = test_store_message(st, acc, "m_1", "", &inbox, 1);
	struct store_message msg;
	const char *error;

	test_mark_deleted(st, inbox, m);
	TEST_EQ_INT(store_local_expunge(st, inbox, NULL, 0, 1, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 0);
	test_take_op(st, acc, STORE_OP_DESTROY,
	             "{\"v\":1,\"remote_ids\":[\"m_1\"]}");
	store_close(&st);
}

static void
test_mailboxes(void)
{
	struct store *st = test_store_open(test_store_path("mailboxes"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t sent, top, child, m;
	struct store_mailbox mb;
	const char *error;
	char want[64];

	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_s", "Sent", NULL,
	                                        "sent", &sent, &error),
	            0);
	TEST_EQ_INT(store_local_mailbox_create(st, acc, 0, "Projects", 10, &top,
	                                       &error),
	            0);
	snprintf(want, sizeof(want), "{\"v\":1,\"mailbox\":%lld}",
	         (long long)top);
	test_take_op(st, acc, STORE_OP_MAILBOX_CREATE, want);
	TEST_EQ_INT(store_local_mailbox_create(st, acc, top, "2026", 11, &child,
	                                       &error),
	            0);
	snprintf(want, sizeof(want), "{\"v\":1,\"mailbox\":%lld}",
	         (long long)child);
	test_take_op(st, acc, STORE_OP_MAILBOX_CREATE, want);
	/* A name taken is refused with no op. */
	TEST_ASSERT(store_local_mailbox_create(st, acc, 0, "Projects", 12, &m,
	                                       &error) < 0);
	test_ops_none(st, acc);

	TEST_EQ_INT(store_local_mailbox_rename(st, child, 0, "Old", 13, &error),
	            0);
	TEST_EQ_INT(store_mailbox_get(st, child, &mb, &error), 1);
	TEST_EQ_STR(mb.path, "Old");
	store_mailbox_free_contents(&mb);
	test_take_op(st, acc, STORE_OP_MAILBOX_UPDATE, want);
	/* Roles stay as they are. */
	TEST_ASSERT(store_local_mailbox_rename(st, sent, 0, "Gone", 14,
	                                       &error) < 0);
	TEST_ASSERT(strstr(error, "sent") != NULL);
	TEST_ASSERT(store_local_mailbox_delete(st, sent, 14, &error) < 0);
	test_ops_none(st, acc);

	/* Never on the service: deleted with no op; else an op names it. */
	m = test_store_message(st, acc, "m_1", "", &child, 1);
	TEST_EQ_INT(store_local_mailbox_delete(st, child, 15, &error), 0);
	TEST_EQ_INT(store_mailbox_get(st, child, &mb, &error), 0);
	test_ops_none(st, acc);
	TEST_EQ_INT(store_mailbox_set_remote_id(st, top, "mb_p", &error), 0);
	TEST_EQ_INT(store_local_mailbox_delete(st, top, 16, &error), 0);
	test_take_op(st, acc, STORE_OP_MAILBOX_DELETE,
	             "{\"v\":1,\"remote_id\":\"mb_p\"}");
	store_close(&st);
}

static void
test_import(void)
{
	struct store *st = test_store_open(test_store_path("import"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t inbox = test_store_mailbox(st, acc, "INBOX");
	int64_t drafts = test_store_mailbox(st, acc, "Drafts");
	int64_t m;
	struct store_op op;
	const char *error;
	bool live;

	TEST_EQ_INT(store_begin(st, &error), 0);
	m = test_store_message(st, acc, NULL, "$draft", &drafts, 1);
	TEST_EQ_INT(store_local_import(st, m, drafts, 5, &error), 0);
	TEST_EQ_INT(store_commit(st, &error), 0);
	TEST_EQ_INT(store_op_live(st, acc, STORE_OP_IMPORT, "message", m, &live,
	                          &error),
	            0);
	TEST_ASSERT(live);
	TEST_EQ_INT(store_op_live(st, acc, STORE_OP_IMPORT, "message", m + 1,
	                          &live, &error),
	            0);
	TEST_ASSERT(!live);
	TEST_EQ_INT(store_op_live(st, acc, STORE_OP_UPDATE, "message", m, &live,
	                          &error),
	            0);
	TEST_ASSERT(!live);
	{
		int64_t *boxes;
		size_t n;

		TEST_EQ_INT(store_message_mailboxes(st, m, &boxes, &n, &error),
		            0);
		TEST_EQ_UINT(n, 1);
		TEST_EQ_INT(boxes[0], drafts);
		free(boxes);
	}
	/* Not into a mailbox that does not hold it. */
	TEST_ASSERT(store_local_import(st, m, inbox, 6, &error) < 0);
	/* Failed for good, it is no longer live. */
	TEST_EQ_INT(store_op_peek(st, acc, 10, &op, &error), 1);
	TEST_EQ_INT(store_op_set_aside(st, op.id, "refused", &error), 0);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_live(st, acc, STORE_OP_IMPORT, "message", m, &live,
	                          &error),
	            0);
	TEST_ASSERT(!live);
	store_close(&st);
}

static void
test_append(void)
{
	struct store *st = test_store_open(test_store_path("append"));
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t other = test_store_account(st, "b@x.org");
	int64_t drafts, elsewhere, m, cut, left;
	struct store_body_writer *w;
	struct store_append a = {.summary = "SBMS-c",
	                         .summary_len = 6,
	                         .key_packet = "SBKP-c",
	                         .key_packet_len = 6,
	                         .keywords = "$Draft",
	                         .received_at = 1234};
	struct store_message msg;
	const char *error;
	uint64_t removed;
	uint32_t uid = 0;
	char want[64];

	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "mb_d", "Drafts", NULL,
	                                        "drafts", &drafts, &error),
	            0);
	elsewhere = test_store_mailbox(st, other, "INBOX");
	TEST_EQ_INT(store_stage_message(st, acc, 10, 99, &m, &error), 0);
	/* Not whole yet: refused. */
	TEST_ASSERT(store_local_append(st, m, drafts, &a, 100, &uid, &error) <
	            0);
	TEST_EQ_INT(store_body_write_begin(st, m, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "0123456789", 10, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	/* Staged: in no mailbox, so nobody lists it. */
	TEST_EQ_UINT(test_store_entry(st, drafts, m).uid, 0);
	/* Into another account's mailbox: refused. */
	TEST_ASSERT(store_local_append(st, m, elsewhere, &a, 100, &uid,
	                               &error) < 0);
	TEST_EQ_INT(store_local_append(st, m, drafts, &a, 100, &uid, &error),
	            0);
	TEST_EQ_UINT(uid, test_store_entry(st, drafts, m).uid);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$draft");
	TEST_EQ_INT(msg.received_at, 1234);
	TEST_ASSERT(msg.body_cached);
	store_message_free_contents(&msg);
	snprintf(want, sizeof(want),
	         "{\"v\":1,\"message\":%lld,\"mailbox\":%lld}", (long long)m,
	         (long long)drafts);
	test_take_op(st, acc, STORE_OP_IMPORT, want);
	/* Appended once only. */
	TEST_ASSERT(store_local_append(st, m, drafts, &a, 100, &uid, &error) <
	            0);

	/* Abandoned, or left by a crash: dropped, swept. */
	TEST_EQ_INT(store_stage_message(st, acc, 5, 99, &cut, &error), 0);
	TEST_EQ_INT(store_stage_drop(st, cut, &error), 0);
	TEST_EQ_INT(store_message_get(st, cut, &msg, &error), 0);
	TEST_EQ_INT(store_stage_message(st, acc, 5, 99, &left, &error), 0);
	TEST_EQ_INT(store_stage_sweep(st, &removed, &error), 0);
	TEST_EQ_UINT(removed, 1);
	TEST_EQ_INT(store_message_get(st, left, &msg, &error), 0);
	/* Dropping an appended message is not the stage's business. */
	TEST_EQ_INT(store_stage_drop(st, m, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	store_message_free_contents(&msg);

	/* A draft expunged goes for good, not to Trash. */
	test_mark_deleted(st, drafts, m);
	TEST_EQ_INT(store_local_expunge(st, drafts, NULL, 0, 101, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 0);
	store_close(&st);
}

static const struct test_case cases[] = {
        {"payloads", test_payloads},
        {"keywords, copy and move", test_keywords_and_copy},
        {"expunge: leave, to Trash, destroy", test_expunge},
        {"expunge without a Trash", test_expunge_without_trash},
        {"mailboxes", test_mailboxes},
        {"import", test_import},
        {"append: staged, appended, dropped, swept", test_append},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
