/* The op queue, local-first writes, and the outbox. */
#include <sqlite3.h>
#include <string.h>

#include "test-store-util.h"

static void
test_op_queue(void)
{
	struct store *st = test_store_open(test_store_path("ops"));
	int64_t a = test_store_account(st, "a@x.org");
	int64_t b = test_store_account(st, "b@x.org");
	int64_t a1, a2, b1;
	struct store_op op;
	const char *error;
	uint64_t count;
	char key[40];

	TEST_EQ_INT(
	        store_op_push(st, a, "update", "{\"n\":1}", 100, &a1, &error),
	        0);
	TEST_EQ_INT(
	        store_op_push(st, b, "update", "{\"n\":2}", 101, &b1, &error),
	        0);
	TEST_EQ_INT(
	        store_op_push(st, a, "destroy", "{\"n\":3}", 102, &a2, &error),
	        0);
	TEST_EQ_INT(store_op_count(st, 0, &count, &error), 0);
	TEST_EQ_UINT(count, 3);
	TEST_EQ_INT(store_op_count(st, a, &count, &error), 0);
	TEST_EQ_UINT(count, 2);

	/* Nothing is due before it was made. */
	TEST_EQ_INT(store_op_peek(st, 0, 99, &op, &error), 0);
	/* Oldest first. */
	TEST_EQ_INT(store_op_peek(st, 0, 200, &op, &error), 1);
	TEST_EQ_INT(op.id, a1);
	TEST_EQ_STR(op.kind, "update");
	TEST_EQ_STR(op.payload, "{\"n\":1}");
	TEST_EQ_UINT(strlen(op.idempotency_key), 32);
	TEST_EQ_UINT(strspn(op.idempotency_key, "0123456789abcdef"), 32);
	snprintf(key, sizeof(key), "%s", op.idempotency_key);
	TEST_EQ_UINT(op.attempts, 0);
	store_op_free_contents(&op);

	/* A failure backs off, and holds back a's later op, not b's. */
	TEST_EQ_INT(store_op_failed(st, a1, 200, "HTTP 503", &error), 0);
	TEST_EQ_INT(store_op_peek(st, 0, 200, &op, &error), 1);
	TEST_EQ_INT(op.id, b1);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_peek(st, a, 200, &op, &error), 0);
	TEST_EQ_INT(
	        store_op_peek(st, a, 200 + store_retry_delay(1), &op, &error),
	        1);
	TEST_EQ_INT(op.id, a1);
	TEST_EQ_UINT(op.attempts, 1);
	TEST_EQ_STR(op.last_error, "HTTP 503");
	/* The key stays the same across retries. */
	TEST_EQ_STR(op.idempotency_key, key);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_failed(st, a1, 300, "again", &error), 0);
	TEST_EQ_INT(store_op_peek(st, a, 300 + store_retry_delay(2) - 1, &op,
	                          &error),
	            0);
	TEST_EQ_INT(store_op_failed(st, 4242, 300, "x", &error), -1);

	/* Done: the next op of the account comes up. */
	TEST_EQ_INT(store_op_done(st, a1, &error), 0);
	TEST_EQ_INT(store_op_peek(st, a, 300, &op, &error), 1);
	TEST_EQ_INT(op.id, a2);
	TEST_ASSERT(strcmp(op.idempotency_key, key) != 0);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_done(st, a1, &error), -1);
	TEST_ASSERT(strstr(error, "no op") != NULL);
	store_close(&st);
}

static void
test_op_gives_up(void)
{
	struct store *st = test_store_open(test_store_path("ops2"));
	int64_t a = test_store_account(st, "a@x.org");
	int64_t a1, a2;
	struct store_op op, *list;
	const char *error;
	uint64_t count;
	size_t n;
	int i;

	TEST_EQ_INT(store_op_push(st, a, "move", "{}", 1, &a1, &error), 0);
	TEST_EQ_INT(store_op_push(st, a, "update", "{}", 1, &a2, &error), 0);
	for (i = 1; i < STORE_OP_MAX_ATTEMPTS; i++) {
		TEST_EQ_INT(store_op_failed(st, a1, 1, "409", &error), 0);
		TEST_EQ_INT(store_op_peek(st, a, INT64_MAX, &op, &error), 1);
		TEST_EQ_INT(op.id, a1);
		TEST_EQ_UINT(op.attempts, (uint32_t)i);
		TEST_ASSERT(op.next_at == 1 + store_retry_delay((uint32_t)i));
		store_op_free_contents(&op);
	}
	TEST_EQ_INT(store_op_list_failed(st, a, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	/* The last attempt: failed for good, the next op goes. */
	TEST_EQ_INT(store_op_failed(st, a1, 1, "409", &error), 0);
	TEST_EQ_INT(store_op_peek(st, a, INT64_MAX, &op, &error), 1);
	TEST_EQ_INT(op.id, a2);
	store_op_free_contents(&op);
	TEST_EQ_INT(store_op_failed(st, a1, 1, "409", &error), -1);
	TEST_EQ_INT(store_op_list_failed(st, 0, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_INT(list[0].id, a1);
	TEST_EQ_UINT(list[0].attempts, STORE_OP_MAX_ATTEMPTS);
	TEST_EQ_STR(list[0].last_error, "409");
	store_op_list_free(&list, n);
	TEST_ASSERT(list == NULL);
	TEST_EQ_INT(store_op_count(st, a, &count, &error), 0);
	TEST_EQ_UINT(count, 2);
	TEST_EQ_INT(store_op_done(st, a1, &error), 0);

	/* Set aside at once: failed for good, no longer the head. */
	TEST_EQ_INT(store_op_set_aside(st, a2, "unknown kind", &error), 0);
	TEST_EQ_INT(store_op_peek(st, a, INT64_MAX, &op, &error), 0);
	TEST_EQ_INT(store_op_set_aside(st, a2, "again", &error), -1);
	TEST_EQ_INT(store_op_list_failed(st, a, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_INT(list[0].id, a2);
	TEST_EQ_STR(list[0].last_error, "unknown kind");
	store_op_list_free(&list, n);
	TEST_EQ_INT(store_op_done(st, a2, &error), 0);
	store_close(&st);
}

static void
test_retry_delay(void)
{
	TEST_EQ_INT(store_retry_delay(0), 5);
	TEST_EQ_INT(store_retry_delay(1), 5);
	TEST_EQ_INT(store_retry_delay(2), 10);
	TEST_EQ_INT(store_retry_delay(3), 20);
	TEST_EQ_INT(store_retry_delay(30), 3600);
	TEST_EQ_INT(store_retry_delay(UINT32_MAX), 3600);
}

static void
test_local_first(void)
{
	struct store *st = test_store_open(test_store_path("local"));
	int64_t acc = test_store_account(st, "l@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t m = test_store_message(st, acc, "m1", "", &box, 1);
	struct store_patch seen = {.add_keywords = "$seen"};
	struct store_patch bad = {.add_keywords = "bad("};
	struct store_mailbox_status s0, s;
	struct store_message msg;
	const char *error;
	uint64_t count;

	TEST_EQ_INT(store_mailbox_status(st, box, &s0, &error), 0);
	/* In a transaction rolled back: neither the change nor the op. */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_local_update(st, &m, 1, &seen, 10, NULL, &error), 0);
	store_rollback(st);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "");
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_op_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 0);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.highestmodseq, s0.highestmodseq);

	/* A bad keyword: neither either. */
	TEST_EQ_INT(store_local_update(st, &m, 1, &bad, 10, NULL, &error), -1);
	TEST_EQ_INT(store_op_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 0);

	/* On its own: both. */
	TEST_EQ_INT(store_local_update(st, &m, 1, &seen, 10, NULL, &error), 0);
	TEST_EQ_INT(store_message_get(st, m, &msg, &error), 1);
	TEST_EQ_STR(msg.keywords, "$seen");
	store_message_free_contents(&msg);
	TEST_EQ_INT(store_op_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.highestmodseq, s0.highestmodseq + 1);
	store_close(&st);
}

static const unsigned char test_zeros_big[STORE_BODY_CHUNK + 1];

struct test_collect_body {
	char data[64];
	size_t len;
};

static int
test_collect_sink(void *ctx, const void *data, size_t len, const char **error_r)
{
	struct test_collect_body *c = ctx;

	if (c->len + len > sizeof(c->data)) {
		*error_r = "too long";
		return -1;
	}
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return 0;
}

/* Two queued messages with their bodies: "ciphertext" and "". */
static void
test_outbox_fill(struct store *st, int64_t acc, int64_t *o1, int64_t *o2)
{
	struct store_body_writer *w;
	struct store_outbox *list;
	const char *error;
	uint64_t count;
	size_t n;

	TEST_EQ_INT(store_outbox_add(st, acc, "Q1", "o@x.org",
	                             "b@x.org\nc@y.net", "SBKP-sealed", 11, 50,
	                             o1, &error),
	            0);
	/* Receiving: not due yet. */
	TEST_EQ_INT(store_outbox_list_due(st, 0, 100, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_INT(store_outbox_count(st, acc, STORE_OUTBOX_RECEIVING, &count,
	                               &error),
	            0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_INT(store_outbox_write_begin(st, *o1, 1000, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "cipher", 6, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "text", 4, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	/* Queued: the body can no longer change. */
	TEST_EQ_INT(store_outbox_write_begin(st, *o1, 1000, &w, &error), -1);
	TEST_EQ_INT(store_outbox_add(st, acc, "Q1", "o@x.org", "b@x.org", "k",
	                             1, 51, o2, &error),
	            -1);
	TEST_EQ_INT(store_outbox_add(st, acc, "Q2", "o@x.org", "b@x.org", "k",
	                             1, 51, o2, &error),
	            0);
	TEST_EQ_INT(store_outbox_write_begin(st, *o2, 1000, &w, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
}

static void
test_outbox(void)
{
	struct store *st = test_store_open(test_store_path("outbox"));
	int64_t acc = test_store_account(st, "o@x.org");
	struct store_outbox *list;
	struct test_collect_body c = {0};
	const char *error;
	int64_t o1, o2;
	size_t n;

	test_outbox_fill(st, acc, &o1, &o2);
	TEST_EQ_INT(store_outbox_list_due(st, 0, 100, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 2);
	TEST_EQ_INT(list[0].id, o1);
	TEST_EQ_STR(list[0].queue_id, "Q1");
	TEST_EQ_STR(list[0].recipients, "b@x.org\nc@y.net");
	TEST_EQ_MEM(list[0].sealed_key, list[0].sealed_key_len, "SBKP-sealed",
	            11);
	TEST_EQ_UINT(list[0].size, 10);
	TEST_EQ_INT(list[0].state, STORE_OUTBOX_QUEUED);
	TEST_EQ_INT(list[1].id, o2);
	TEST_EQ_UINT(list[1].size, 0);
	store_outbox_list_free(&list, n);
	TEST_EQ_INT(store_outbox_read(st, o1, 0, UINT64_MAX, test_collect_sink,
	                              &c, &error),
	            1);
	TEST_EQ_MEM(c.data, c.len, "ciphertext", 10);
	store_close(&st);
}

static void
test_outbox_retries(void)
{
	struct store *st = test_store_open(test_store_path("outbox2"));
	int64_t acc = test_store_account(st, "o@x.org");
	struct store_outbox *list;
	struct test_collect_body c = {0};
	const char *error;
	uint64_t count;
	int64_t o1, o2;
	size_t n;

	test_outbox_fill(st, acc, &o1, &o2);
	/* A temporary failure waits; a permanent one stays for the user. */
	TEST_EQ_INT(
	        store_outbox_failed(st, o1, 100, "451 later", false, &error),
	        0);
	TEST_EQ_INT(store_outbox_failed(st, o2, 100, "550 no", true, &error),
	            0);
	TEST_EQ_INT(store_outbox_list_due(st, 0, 100, &list, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_INT(store_outbox_list_due(st, 0, 100 + store_retry_delay(1),
	                                  &list, &n, &error),
	            0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_UINT(list[0].attempts, 1);
	TEST_EQ_STR(list[0].last_error, "451 later");
	store_outbox_list_free(&list, n);
	TEST_EQ_INT(
	        store_outbox_count(st, 0, STORE_OUTBOX_FAILED, &count, &error),
	        0);
	TEST_EQ_UINT(count, 1);

	/* Sent: gone with its body. */
	TEST_EQ_INT(store_outbox_sent(st, o1, &error), 0);
	TEST_EQ_INT(store_outbox_count(st, acc, STORE_OUTBOX_QUEUED, &count,
	                               &error),
	            0);
	TEST_EQ_UINT(count, 0);
	TEST_EQ_INT(store_outbox_read(st, o1, 0, UINT64_MAX, test_collect_sink,
	                              &c, &error),
	            -1);
	TEST_EQ_UINT(c.len, 0);
	TEST_EQ_INT(store_outbox_failed(st, o1, 100, "x", false, &error), -1);
	/* A FAILED entry never comes back to the queue. */
	TEST_EQ_INT(store_outbox_failed(st, o2, 200, "x", false, &error), -1);
	TEST_EQ_INT(store_outbox_count(st, acc, STORE_OUTBOX_FAILED, &count,
	                               &error),
	            0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_INT(store_outbox_list_due(st, 0, INT64_MAX, &list, &n, &error),
	            0);
	TEST_EQ_UINT(n, 0);
	/* The user dismisses it. */
	TEST_EQ_INT(store_outbox_sent(st, o2, &error), 0);
	TEST_EQ_INT(store_outbox_sent(st, o2, &error), -1);
	store_close(&st);
}

static void
test_outbox_receiving(void)
{
	const char *path = test_store_path("outbox3");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "o@x.org");
	struct store_body_writer *w;
	struct test_collect_body c = {0};
	const char *error;
	uint64_t count, removed;
	int64_t o1, o2, o3;

	TEST_EQ_INT(store_outbox_add(st, acc, "Q1", "o@x.org", "b@x.org", "k",
	                             1, 100, &o1, &error),
	            0);
	TEST_EQ_INT(store_outbox_add(st, acc, "Q2", "o@x.org", "b@x.org", "k",
	                             1, 500, &o2, &error),
	            0);
	TEST_EQ_INT(store_outbox_add(st, acc, "Q3", "o@x.org", "b@x.org", "k",
	                             1, 100, &o3, &error),
	            0);
	/* Cut in the middle of DATA, with a piece stored. */
	TEST_EQ_INT(store_outbox_write_begin(st, o1, 1 << 20, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, test_zeros_big,
	                                   sizeof(test_zeros_big), &error),
	            0);
	store_body_write_abort(&w);
	/* Neither read nor failed nor listed while receiving. */
	TEST_EQ_INT(store_outbox_read(st, o1, 0, UINT64_MAX, test_collect_sink,
	                              &c, &error),
	            0);
	TEST_EQ_UINT(c.len, 0);
	TEST_EQ_INT(store_outbox_failed(st, o1, 100, "x", true, &error), -1);
	/* Bigger than SMTP's limit. */
	TEST_EQ_INT(store_outbox_write_begin(st, o3, 5, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "123456", 6, &error), -1);
	TEST_EQ_INT(store_body_write_chunk(w, "12345", 5, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);

	/* The sweep takes the old receiving entries only. */
	TEST_EQ_INT(
	        store_outbox_sweep_receiving(st, 1000, 600, &removed, &error),
	        0);
	TEST_EQ_UINT(removed, 1);
	TEST_EQ_INT(store_outbox_count(st, acc, STORE_OUTBOX_RECEIVING, &count,
	                               &error),
	            0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_INT(store_outbox_count(st, acc, STORE_OUTBOX_QUEUED, &count,
	                               &error),
	            0);
	TEST_EQ_UINT(count, 1);
	store_close(&st);
	test_store_verify(path);
	{
		sqlite3 *db;
		sqlite3_stmt *stmt;

		TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
		TEST_EQ_INT(
		        sqlite3_prepare_v2(db,
		                           "SELECT count(*) FROM outbox_bodies"
		                           " WHERE outbox = 1",
		                           -1, &stmt, NULL),
		        SQLITE_OK);
		TEST_EQ_INT(sqlite3_step(stmt), SQLITE_ROW);
		TEST_EQ_INT(sqlite3_column_int(stmt, 0), 0);
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
}

/* A client's Sent copy and the service's, told apart by Message-ID. */
static void
test_sent_copies(void)
{
	struct store *st = test_store_open(test_store_path("sentcopy"));
	int64_t acc = test_store_account(st, "o@x.org");
	int64_t other = test_store_account(st, "p@x.org");
	const char *error;
	enum store_sent_state state;
	int64_t o1, o2, posted;
	char *remote;

	test_outbox_fill(st, acc, &o1, &o2);
	TEST_EQ_INT(store_outbox_set_msgid(st, o1, "h1", 2, &error), 0);
	TEST_EQ_INT(store_outbox_set_msgid(st, o2, "h2", 2, &error), 0);
	/* Another account's APPEND, or another Message-ID: no change. */
	TEST_EQ_INT(store_outbox_client_files_sent(st, other, "h1", 2, &state,
	                                           &error),
	            0);
	TEST_EQ_INT(state, STORE_SENT_NONE);
	TEST_EQ_INT(store_outbox_client_files_sent(st, acc, "h9", 2, &state,
	                                           &error),
	            0);
	TEST_EQ_INT(state, STORE_SENT_NONE);
	/* Before its submission: the client files the Sent copy. */
	TEST_EQ_INT(store_outbox_client_files_sent(st, acc, "h1", 2, &state,
	                                           &error),
	            0);
	TEST_EQ_INT(state, STORE_SENT_CLIENT);
	TEST_EQ_INT(store_outbox_begin_post(st, o1, 300, &posted, &error), 0);
	TEST_EQ_INT(posted, 300);
	/* During it: the service does; a retry keeps the first post time. */
	TEST_EQ_INT(store_outbox_begin_post(st, o2, 310, &posted, &error), 1);
	TEST_EQ_INT(store_outbox_client_files_sent(st, acc, "h2", 2, &state,
	                                           &error),
	            0);
	TEST_EQ_INT(state, STORE_SENT_POSTING);
	TEST_EQ_INT(store_outbox_failed(st, o2, 320, "down", false, &error), 0);
	TEST_EQ_INT(store_outbox_begin_post(st, o2, 400, &posted, &error), 1);
	TEST_EQ_INT(posted, 310);
	TEST_EQ_INT(store_outbox_failed(st, o2, 420, "down", false, &error), 0);
	TEST_EQ_INT(store_outbox_client_files_sent(st, acc, "h2", 2, &state,
	                                           &error),
	            0);
	TEST_EQ_INT(state, STORE_SENT_CLIENT);

	/* The submission as prepared, kept for the next try. */
	TEST_EQ_INT(store_outbox_set_prepared(st, o2, "{\"p\":1}", 500, &error),
	            0);
	{
		struct store_outbox *list;
		size_t n, i;

		TEST_EQ_INT(
		        store_outbox_list_due(st, 0, 100000, &list, &n, &error),
		        0);
		for (i = 0; i < n && list[i].id != o2; i++)
			;
		TEST_ASSERT(i < n);
		TEST_EQ_STR(list[i].prepared, "{\"p\":1}");
		TEST_EQ_INT(list[i].prepared_at, 500);
		TEST_EQ_UINT(list[i].msgid_hash_len, 2);
		TEST_ASSERT(memcmp(list[i].msgid_hash, "h2", 2) == 0);
		store_outbox_list_free(&list, n);
		/* Another account's: none of these. */
		TEST_EQ_INT(store_outbox_list_due(st, other, 100000, &list, &n,
		                                  &error),
		            0);
		TEST_EQ_UINT(n, 0);
		TEST_EQ_INT(store_outbox_list_due(st, acc, 100000, &list, &n,
		                                  &error),
		            0);
		TEST_EQ_UINT(n, 2);
		store_outbox_list_free(&list, n);
	}
	TEST_EQ_INT(store_outbox_set_prepared(st, o2, NULL, 600, &error), 0);

	/* The log of Sent copies filed; old entries are forgotten. */
	TEST_EQ_INT(store_sent_log_add(st, acc, "h3", 2, "m_3", 100, 0, &error),
	            0);
	TEST_EQ_INT(store_sent_log_find(st, acc, "h3", 2, &remote, &error), 1);
	TEST_EQ_STR(remote, "m_3");
	free(remote);
	TEST_EQ_INT(store_sent_log_find(st, other, "h3", 2, &remote, &error),
	            0);
	TEST_EQ_INT(
	        store_sent_log_add(st, acc, "h4", 2, "m_4", 200, 150, &error),
	        0);
	TEST_EQ_INT(store_sent_log_find(st, acc, "h3", 2, &remote, &error), 0);
	TEST_EQ_INT(store_sent_log_find(st, acc, "h4", 2, &remote, &error), 1);
	free(remote);
	store_close(&st);
	test_store_verify(test_store_path("sentcopy"));
}

static const struct test_case cases[] = {
        {"op queue order and backoff", test_op_queue},
        {"retry delays", test_retry_delay},
        {"local-first: change and op together", test_local_first},
        {"outbox", test_outbox},
        {"outbox retries and sending", test_outbox_retries},
        {"outbox entries cut while receiving", test_outbox_receiving},
        {"an op that keeps failing stops", test_op_gives_up},
        {"Sent copies by Message-ID", test_sent_copies},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
