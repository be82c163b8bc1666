/*
 * Change notifications between connections of different threads, and two
 * writers at once. The checks are functional: a wake-up arrives or not,
 * with generous time limits, and no timing is measured.
 */
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "common/net.h"
#include "test-store-util.h"

#define TEST_WAIT_MS 10000

/* 1 when the eventfd is readable within timeout_ms, else 0. */
static int
test_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN) ? 1 : 0;
}

static struct store *
test_hub_open(const char *path, struct store_hub *hub)
{
	struct store *st = NULL;
	const char *error = NULL;

	if (store_open(path, hub, &st, &error) < 0)
		test_fail(__FILE__, __LINE__, "store_open: %s", error);
	return st;
}

struct test_writer {
	const char *path;
	struct store_hub *hub;
	int64_t account, mailbox;
	const char *prefix;
	int count;
	int failures;
	char error[256];
};

static void *
test_writer_thread(void *arg)
{
	struct test_writer *w = arg;
	struct store *st = NULL;
	const char *error = NULL;
	struct store_message m = {0};
	char remote[32];
	int64_t id;
	int i;

	if (store_open(w->path, w->hub, &st, &error) < 0) {
		snprintf(w->error, sizeof(w->error), "%s", error);
		w->failures++;
		return NULL;
	}
	m.account_id = w->account;
	m.remote_id = remote;
	for (i = 0; i < w->count; i++) {
		snprintf(remote, sizeof(remote), "%s%d", w->prefix, i);
		if (store_message_add(st, &m, &w->mailbox, 1, &id, &error) <
		    0) {
			snprintf(w->error, sizeof(w->error), "%s", error);
			w->failures++;
		}
	}
	store_close(&st);
	return NULL;
}

struct test_idle {
	int fd;
	int woken; /* set by the thread */
};

static void *
test_idle_thread(void *arg)
{
	struct test_idle *idle = arg;

	idle->woken = test_readable(idle->fd, TEST_WAIT_MS);
	return NULL;
}

static void
test_notify_threads(void)
{
	const char *path = test_store_path("notify");
	struct store_hub *hub = store_hub_new();
	struct store *st = test_hub_open(path, hub);
	struct store_sub *sub_a, *sub_b, *sub_all;
	struct test_writer w;
	struct test_idle idle;
	const char *error;
	pthread_t thread, writer;
	int64_t acc, a, b;

	acc = test_store_account(st, "n@x.org");
	a = test_store_mailbox(st, acc, "A");
	b = test_store_mailbox(st, acc, "B");
	TEST_EQ_INT(store_subscribe(hub, a, &sub_a, &error), 0);
	TEST_EQ_INT(store_subscribe(hub, b, &sub_b, &error), 0);
	TEST_EQ_INT(store_subscribe(hub, 0, &sub_all, &error), 0);

	/* An IDLE-like thread waits on A; another connection writes. */
	idle.fd = store_sub_fd(sub_a);
	idle.woken = -1;
	TEST_EQ_INT(pthread_create(&thread, NULL, test_idle_thread, &idle), 0);
	memset(&w, 0, sizeof(w));
	w.path = path;
	w.hub = hub;
	w.account = acc;
	w.mailbox = a;
	w.prefix = "m";
	w.count = 1;
	TEST_EQ_INT(pthread_create(&writer, NULL, test_writer_thread, &w), 0);
	TEST_EQ_INT(pthread_join(writer, NULL), 0);
	TEST_EQ_INT(pthread_join(thread, NULL), 0);
	TEST_EQ_INT(w.failures, 0);
	TEST_EQ_INT(idle.woken, 1);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_all), 0), 1);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_b), 0), 0);
	sb_event_drain(store_sub_fd(sub_a));
	sb_event_drain(store_sub_fd(sub_all));
	TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 0);

	store_unsubscribe(hub, &sub_a);
	store_unsubscribe(hub, &sub_b);
	store_unsubscribe(hub, &sub_all);
	TEST_ASSERT(sub_a == NULL);
	store_close(&st);
	store_hub_free(&hub);
}

static void
test_notify_commit_only(void)
{
	const char *path = test_store_path("commit");
	struct store_hub *hub = store_hub_new();
	struct store *st = test_hub_open(path, hub);
	struct store *other = test_hub_open(path, hub);
	struct store_sub *sub_a, *sub_b;
	const char *error;
	int64_t acc, a, b, m, id, boxes[2];
	struct store_message msg = {0};

	acc = test_store_account(st, "c@x.org");
	a = test_store_mailbox(st, acc, "A");
	b = test_store_mailbox(st, acc, "B");
	m = test_store_message(st, acc, "m1", "", &a, 1);
	TEST_EQ_INT(store_subscribe(hub, a, &sub_a, &error), 0);
	TEST_EQ_INT(store_subscribe(hub, b, &sub_b, &error), 0);

	/* Nothing before the commit; the commit wakes. */
	TEST_EQ_INT(store_begin(other, &error), 0);
	TEST_EQ_INT(store_message_set_keywords(other, m, "$seen", &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 0);
	TEST_EQ_INT(store_commit(other, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 1);
	sb_event_drain(store_sub_fd(sub_a));

	/* A rollback wakes nobody. */
	TEST_EQ_INT(store_begin(other, &error), 0);
	TEST_EQ_INT(store_message_set_keywords(other, m, "", &error), 0);
	store_rollback(other);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 0);

	/*
	 * An operation that failed inside a transaction does not count: B
	 * was touched by it, then undone.
	 */
	boxes[0] = b;
	boxes[1] = 9999;
	msg.account_id = acc;
	msg.remote_id = (char *)"m2";
	TEST_EQ_INT(store_begin(other, &error), 0);
	TEST_EQ_INT(store_message_add(other, &msg, boxes, 2, &id, &error), -1);
	TEST_EQ_INT(store_message_set_keywords(other, m, "$flagged", &error),
	            0);
	TEST_EQ_INT(store_commit(other, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_b), 0), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 1);
	sb_event_drain(store_sub_fd(sub_a));

	/* Renaming a mailbox tells the watchers of those below it too. */
	{
		struct store_sub *sub_c;
		int64_t c;

		TEST_EQ_INT(
		        store_mailbox_create(other, acc, b, "C", &c, &error),
		        0);
		TEST_EQ_INT(store_subscribe(hub, c, &sub_c, &error), 0);
		sb_event_drain(store_sub_fd(sub_b));
		TEST_EQ_INT(store_mailbox_rename(other, b, 0, "B2", &error), 0);
		TEST_EQ_INT(test_readable(store_sub_fd(sub_b), 0), 1);
		TEST_EQ_INT(test_readable(store_sub_fd(sub_c), 0), 1);
		TEST_EQ_INT(test_readable(store_sub_fd(sub_a), 0), 0);
		store_unsubscribe(hub, &sub_c);
		TEST_EQ_INT(store_mailbox_delete(other, c, &error), 0);
		sb_event_drain(store_sub_fd(sub_b));
	}

	/* Deleting a mailbox tells its watchers. */
	TEST_EQ_INT(store_mailbox_delete(other, b, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(sub_b), 0), 1);

	store_unsubscribe(hub, &sub_a);
	store_unsubscribe(hub, &sub_b);
	store_close(&other);
	store_close(&st);
	store_hub_free(&hub);
}

static void
test_two_writers(void)
{
	const char *path = test_store_path("writers");
	struct store *st = test_store_open(path);
	struct test_writer w[2];
	pthread_t threads[2];
	uint32_t *uids;
	size_t n, i;
	const char *error;
	int64_t acc, box;
	struct store_mailbox_status s;

	acc = test_store_account(st, "w@x.org");
	box = test_store_mailbox(st, acc, "INBOX");
	for (i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].path = path;
		w[i].account = acc;
		w[i].mailbox = box;
		w[i].prefix = i == 0 ? "a" : "b";
		w[i].count = 150;
		TEST_EQ_INT(pthread_create(&threads[i], NULL,
		                           test_writer_thread, &w[i]),
		            0);
	}
	for (i = 0; i < 2; i++)
		TEST_EQ_INT(pthread_join(threads[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		if (w[i].failures != 0)
			test_fail(__FILE__, __LINE__, "writer %zu: %d: %s", i,
			          w[i].failures, w[i].error);
	}

	/* 300 distinct, increasing UIDs from one mailbox. */
	TEST_EQ_INT(store_mailbox_uids(st, box, &uids, &n, &error), 0);
	TEST_EQ_UINT(n, 300);
	for (i = 0; i < n; i++)
		TEST_EQ_UINT(uids[i], i + 1);
	free(uids);
	TEST_EQ_INT(store_mailbox_status(st, box, &s, &error), 0);
	TEST_EQ_UINT(s.uidnext, 301);
	TEST_EQ_UINT(s.highestmodseq, 301);
	store_close(&st);
	test_store_verify(path);
}

/* An account's op queue wakes its replayer, and only it. */
static void
test_notify_ops(void)
{
	const char *path = test_store_path("ops");
	struct store_hub *hub = store_hub_new();
	struct store *st = test_hub_open(path, hub);
	struct store_sub *ops_a, *ops_b, *all;
	struct store_patch p = {.add_keywords = "$seen"};
	const char *error;
	int64_t a, b, box, m, op;

	a = test_store_account(st, "a@x.org");
	b = test_store_account(st, "b@x.org");
	box = test_store_mailbox(st, a, "INBOX");
	m = test_store_message(st, a, "m1", "", &box, 1);
	TEST_EQ_INT(store_subscribe_ops(hub, a, &ops_a, &error), 0);
	TEST_EQ_INT(store_subscribe_ops(hub, b, &ops_b, &error), 0);
	TEST_EQ_INT(store_subscribe(hub, 0, &all, &error), 0);

	/* A push on its own commits at once. */
	TEST_EQ_INT(store_op_push(st, a, "update", "{}", 1, &op, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_a), 0), 1);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_b), 0), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(all), 0), 0);
	sb_event_drain(store_sub_fd(ops_a));

	/* Inside a transaction: at its commit, with the mailbox's. */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_local_update(st, &m, 1, &p, 2, NULL, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_a), 0), 0);
	TEST_EQ_INT(store_commit(st, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_a), 0), 1);
	TEST_EQ_INT(test_readable(store_sub_fd(all), 0), 1);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_b), 0), 0);
	sb_event_drain(store_sub_fd(ops_a));

	/* Rolled back: nobody. */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_op_push(st, a, "update", "{}", 3, &op, &error), 0);
	store_rollback(st);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_a), 0), 0);

	store_unsubscribe(hub, &ops_a);
	store_unsubscribe(hub, &ops_b);
	store_unsubscribe(hub, &all);
	store_close(&st);
	store_hub_free(&hub);
}

static void
test_notify_outbox(void)
{
	const char *path = test_store_path("outbox");
	struct store_hub *hub = store_hub_new();
	struct store *st = test_hub_open(path, hub);
	struct store_sub *out_a, *out_b, *ops_a, *all;
	struct store_body_writer *w;
	const char *error;
	int64_t a, b, id, at;

	a = test_store_account(st, "a@x.org");
	b = test_store_account(st, "b@x.org");
	TEST_EQ_INT(store_subscribe_outbox(hub, a, &out_a, &error), 0);
	TEST_EQ_INT(store_subscribe_outbox(hub, b, &out_b, &error), 0);
	TEST_EQ_INT(store_subscribe_ops(hub, a, &ops_a, &error), 0);
	TEST_EQ_INT(store_subscribe(hub, 0, &all, &error), 0);

	/* Receiving: nobody yet; queued: the account's sender alone. */
	TEST_EQ_INT(store_outbox_add(st, a, "q1", "a@x.org", "b@x.org\n", "k",
	                             1, 10, &id, &error),
	            0);
	TEST_EQ_INT(store_outbox_write_begin(st, id, 1000, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "body", 4, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(out_a), 0), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(out_a), 0), 1);
	TEST_EQ_INT(test_readable(store_sub_fd(out_b), 0), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(ops_a), 0), 0);
	TEST_EQ_INT(test_readable(store_sub_fd(all), 0), 0);

	/* When it is due: at once, then after a failure 5 s later. */
	TEST_EQ_INT(store_outbox_next_at(st, a, &at, &error), 1);
	TEST_EQ_INT(at, 10);
	TEST_EQ_INT(store_outbox_next_at(st, b, &at, &error), 0);
	TEST_EQ_INT(store_outbox_failed(st, id, 20, "down", false, &error), 0);
	TEST_EQ_INT(store_outbox_next_at(st, a, &at, &error), 1);
	TEST_EQ_INT(at, 25);
	TEST_EQ_INT(store_outbox_sent(st, id, &error), 0);
	TEST_EQ_INT(store_outbox_next_at(st, a, &at, &error), 0);

	store_unsubscribe(hub, &out_a);
	store_unsubscribe(hub, &out_b);
	store_unsubscribe(hub, &ops_a);
	store_unsubscribe(hub, &all);
	store_close(&st);
	store_hub_free(&hub);
}

static const struct test_case cases[] = {
        {"a write wakes a subscriber in another thread", test_notify_threads},
        {"notified on commit only", test_notify_commit_only},
        {"two writers at once", test_two_writers},
        {"an op queue wakes its replayer only", test_notify_ops},
        {"a queued message wakes its sender only", test_notify_outbox},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
