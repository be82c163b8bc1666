/* Helpers shared by the store's unit tests. */
#ifndef SB_TEST_STORE_UTIL_H
#define SB_TEST_STORE_UTIL_H

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "test.h"

/* A fresh path under the test's directory for each call with a new name. */
static inline const char *
test_store_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s.db", test_tmpdir(), name);
	return path;
}

static inline struct store *
test_store_open(const char *path)
{
	struct store *st = NULL;
	const char *error = NULL;

	if (store_open(path, NULL, &st, &error) < 0)
		test_fail(__FILE__, __LINE__, "store_open: %s", error);
	return st;
}

static inline int64_t
test_store_account(struct store *st, const char *email)
{
	const char *error = NULL;
	int64_t id = 0;

	if (store_account_add(st, email, email, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "account: %s", error);
	return id;
}

static inline int64_t
test_store_mailbox(struct store *st, int64_t account, const char *name)
{
	const char *error = NULL;
	int64_t id = 0;

	if (store_mailbox_create(st, account, 0, name, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "mailbox: %s", error);
	return id;
}

/* A message with remote id `remote` in the given mailboxes. */
static inline int64_t
test_store_message(struct store *st, int64_t account, const char *remote,
                   const char *keywords, const int64_t *boxes, size_t n)
{
	struct store_message m = {0};
	const char *error = NULL;
	int64_t id = 0;

	m.account_id = account;
	m.remote_id = (char *)remote;
	m.blob_id = (char *)"b_1";
	m.size = 100;
	m.received_at = 1700000000;
	m.summary = (void *)"SBMS-cipher";
	m.summary_len = 11;
	m.key_packet = (void *)"SBKP-cipher";
	m.key_packet_len = 11;
	m.keywords = (char *)keywords;
	if (store_message_add(st, &m, boxes, n, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "message: %s", error);
	return id;
}

/* The UID of a message in a mailbox, or 0. */
struct test_store_find {
	int64_t message_id;
	uint32_t uid;
	uint64_t modseq;
	bool deleted;
};

static inline int
test_store_find_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct test_store_find *f = ctx;

	(void)error_r;
	if (e->message_id != f->message_id)
		return 0;
	f->uid = e->uid;
	f->modseq = e->modseq;
	f->deleted = e->deleted;
	return 1;
}

static inline struct test_store_find
test_store_entry(struct store *st, int64_t mailbox, int64_t message)
{
	struct test_store_find f = {.message_id = message};
	const char *error = NULL;

	if (store_mailbox_fetch(st, mailbox, 1, UINT32_MAX, 0,
	                        test_store_find_cb, &f, &error) < 0)
		test_fail(__FILE__, __LINE__, "fetch: %s", error);
	return f;
}

/*
 * The replica's rules, each as a query that counts what breaks it: UIDs
 * below uidnext, modseqs within highestmodseq and never given twice in a
 * mailbox, expunged UIDs gone, messages in a mailbox of their account,
 * cached bodies whole, UIDVALIDITY never given twice, the tree of at most
 * 64 levels without cycles.
 */
static const char *const test_store_rules[] = {
        "SELECT count(*) FROM mailbox_messages e JOIN mailboxes b"
        " ON b.id = e.mailbox WHERE e.uid >= b.uidnext",
        "SELECT count(*) FROM mailbox_messages e JOIN mailboxes b"
        " ON b.id = e.mailbox WHERE e.modseq < 1"
        " OR e.modseq > b.highestmodseq",
        "SELECT count(*) FROM expunged x JOIN mailboxes b ON b.id = x.mailbox"
        " WHERE x.uid >= b.uidnext OR x.modseq > b.highestmodseq",
        "SELECT count(*) FROM expunged x JOIN mailbox_messages e"
        " ON e.mailbox = x.mailbox AND e.uid = x.uid",
        "SELECT count(*) FROM (SELECT mailbox, modseq FROM mailbox_messages"
        " UNION ALL SELECT mailbox, modseq FROM expunged)"
        " GROUP BY mailbox, modseq HAVING count(*) > 1",
        "SELECT count(*) FROM messages m WHERE NOT EXISTS"
        " (SELECT 1 FROM mailbox_messages WHERE message = m.id)",
        "SELECT count(*) FROM mailbox_messages e"
        " JOIN mailboxes b ON b.id = e.mailbox"
        " JOIN messages m ON m.id = e.message WHERE b.account != m.account",
        "SELECT count(*) FROM messages m WHERE body_cached AND"
        " (size != ifnull((SELECT sum(length(data)) FROM bodies"
        " WHERE message = m.id), 0) OR EXISTS (SELECT 1 FROM (SELECT pos,"
        " lag(pos + length(data), 1, 0) OVER (ORDER BY pos) AS prev"
        " FROM bodies WHERE message = m.id) WHERE pos != prev))",
        "SELECT count(*) FROM (SELECT uidvalidity FROM mailboxes"
        " GROUP BY uidvalidity HAVING count(*) > 1)",
        "SELECT count(*) FROM mailboxes WHERE uidvalidity >"
        " (SELECT value FROM meta WHERE name = 'uidvalidity')",
        /* All Mail holds what is in a mailbox but Trash or Junk. */
        "SELECT count(*) FROM messages m JOIN mailboxes a"
        " ON a.account = m.account AND a.role = 'all'"
        " WHERE EXISTS (SELECT 1 FROM mailbox_messages e"
        " JOIN mailboxes r ON r.id = e.mailbox WHERE e.message = m.id"
        " AND ifnull(r.role, '') NOT IN ('all', 'trash', 'junk'))"
        " != EXISTS (SELECT 1 FROM mailbox_messages"
        " WHERE mailbox = a.id AND message = m.id)",
        "WITH RECURSIVE tree(id, depth) AS (SELECT id, 1 FROM mailboxes"
        " WHERE parent IS NULL UNION ALL SELECT m.id, tree.depth + 1"
        " FROM mailboxes m JOIN tree ON m.parent = tree.id"
        " WHERE tree.depth < 64)"
        " SELECT (SELECT count(*) FROM mailboxes) - count(*) FROM tree",
};

/* PRAGMA integrity_check, foreign keys and the rules above all hold. */
static inline void
test_store_verify(const char *path)
{
	struct store *st = test_store_open(path);
	const char *error = NULL;
	char *check = NULL;
	sqlite3 *db = NULL;
	size_t i;

	if (store_integrity_check(st, &check, &error) < 0)
		test_fail(__FILE__, __LINE__, "integrity: %s", error);
	store_close(&st);
	if (strcmp(check, "ok") != 0)
		test_fail(__FILE__, __LINE__, "integrity: %s", check);
	free(check);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
	for (i = 0; i < sizeof(test_store_rules) / sizeof(*test_store_rules);
	     i++) {
		sqlite3_stmt *stmt = NULL;
		int64_t broken = -1;

		if (sqlite3_prepare_v2(db, test_store_rules[i], -1, &stmt,
		                       NULL) != SQLITE_OK)
			test_fail(__FILE__, __LINE__, "rule %zu: %s", i,
			          sqlite3_errmsg(db));
		if (sqlite3_step(stmt) == SQLITE_ROW)
			broken = sqlite3_column_int64(stmt, 0);
		else
			broken = 0; /* GROUP BY ... HAVING: no row */
		sqlite3_finalize(stmt);
		if (broken != 0) {
			sqlite3_close(db);
			test_fail(__FILE__, __LINE__,
			          "rule %zu broken %lld times: %s", i,
			          (long long)broken, test_store_rules[i]);
		}
	}
	sqlite3_close(db);
}

#endif
