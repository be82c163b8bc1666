/* The replica's file: migrations, the version check, transactions. */
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-store-util.h"

static int64_t
test_pragma_int(const char *path, const char *pragma)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;
	int64_t value = -1;

	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_prepare_v2(db, pragma, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return value;
}

static void
test_store_fresh_and_reopen(void)
{
	const char *path = test_store_path("fresh");
	struct store_account a;
	const char *error;
	struct store *st;
	int64_t id;

	st = test_store_open(path);
	TEST_EQ_INT(
	        store_account_add(st, "acc1", "Alice@Example.org", &id, &error),
	        0);
	store_close(&st);
	TEST_ASSERT(st == NULL);
	test_store_verify(path);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"),
	            STORE_SCHEMA_VERSION);

	/* Reopening migrates nothing and keeps the data. */
	st = test_store_open(path);
	TEST_EQ_INT(
	        store_account_find_email(st, "alice@example.org", &a, &error),
	        1);
	TEST_EQ_INT(a.id, id);
	TEST_EQ_STR(a.email, "alice@example.org");
	TEST_ASSERT(a.feed_state == NULL);
	store_account_free_contents(&a);
	store_close(&st);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"),
	            STORE_SCHEMA_VERSION);
	/* The file stays in WAL mode. */
	{
		sqlite3 *db;
		sqlite3_stmt *stmt;

		TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
		TEST_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1,
		                               &stmt, NULL),
		            SQLITE_OK);
		TEST_EQ_INT(sqlite3_step(stmt), SQLITE_ROW);
		TEST_EQ_STR((const char *)sqlite3_column_text(stmt, 0), "wal");
		sqlite3_finalize(stmt);
		sqlite3_close(db);
	}
}

static char *
test_slurp(const char *path, size_t *len_r)
{
	return test_read_file(path, len_r);
}

static void
test_store_newer_refused(void)
{
	const char *path = test_store_path("newer");
	char wal[600];
	struct store *st = NULL;
	const char *error = NULL;
	sqlite3 *db;
	char *before, *after;
	size_t before_len, after_len;
	struct stat sb;

	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "CREATE TABLE future(x);"
	                         "INSERT INTO future VALUES(42);"
	                         "PRAGMA user_version=99;",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	sqlite3_close(db);
	before = test_slurp(path, &before_len);

	TEST_EQ_INT(store_open(path, NULL, &st, &error), -1);
	TEST_ASSERT(st == NULL);
	TEST_ASSERT(error != NULL);
	TEST_ASSERT(strstr(error, "version 99") != NULL);
	TEST_ASSERT(strstr(error, "newer") != NULL);

	after = test_slurp(path, &after_len);
	TEST_EQ_MEM(before, before_len, after, after_len);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	TEST_ASSERT(stat(wal, &sb) < 0);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"), 99);
	free(before);
	free(after);
}

/* A newer file in WAL mode, with data still in its -wal: untouched too. */
static void
test_store_newer_wal_refused(void)
{
	const char *path = test_store_path("newer-wal");
	char wal[600];
	struct store *st = NULL;
	const char *error = NULL;
	sqlite3 *db;
	char *main_before, *main_after, *wal_before, *wal_after;
	size_t main_before_len, main_after_len, wal_before_len, wal_after_len;

	snprintf(wal, sizeof(wal), "%s-wal", path);
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "PRAGMA journal_mode=WAL;"
	                         "PRAGMA wal_autocheckpoint=0;"
	                         "CREATE TABLE future(x);"
	                         "INSERT INTO future VALUES(42);"
	                         "PRAGMA user_version=99;",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	TEST_EQ_INT(sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	                              NULL),
	            SQLITE_OK);
	sqlite3_close(db);
	main_before = test_slurp(path, &main_before_len);
	wal_before = test_slurp(wal, &wal_before_len);
	TEST_ASSERT(wal_before_len > 0);

	TEST_EQ_INT(store_open(path, NULL, &st, &error), -1);
	TEST_ASSERT(strstr(error, "version 99") != NULL);

	main_after = test_slurp(path, &main_after_len);
	wal_after = test_slurp(wal, &wal_after_len);
	TEST_EQ_MEM(main_before, main_before_len, main_after, main_after_len);
	TEST_EQ_MEM(wal_before, wal_before_len, wal_after, wal_after_len);
	free(main_before);
	free(main_after);
	free(wal_before);
	free(wal_after);
}

/* Version 1 files are brought up to this version, their data kept. */
static void
test_store_migrate_v1(void)
{
	const char *path = test_store_path("v1");
	struct store_account a;
	const char *error;
	struct store *st;
	sqlite3 *db;

	st = test_store_open(path);
	store_close(&st);
	/* Back to what version 1 had, as a file of version 1 would be. */
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(
	        sqlite3_exec(db,
	                     "DROP INDEX messages_bodies_missing;"
	                     "DROP TABLE resync_keep; DROP TABLE resync_scope;"
	                     "ALTER TABLE op_queue DROP COLUMN failed;"
	                     "ALTER TABLE mailboxes DROP COLUMN"
	                     " expunged_floor;"
	                     "INSERT INTO accounts(api_id, email)"
	                     " VALUES('old', 'old@x.org');"
	                     "DROP TABLE sent_log; DROP INDEX outbox_msgid;"
	                     "ALTER TABLE outbox DROP COLUMN msgid_hash;"
	                     "ALTER TABLE outbox DROP COLUMN sent_copy;"
	                     "ALTER TABLE outbox DROP COLUMN posted_at;"
	                     "ALTER TABLE outbox DROP COLUMN prepared;"
	                     "ALTER TABLE outbox DROP COLUMN prepared_at;"
	                     "PRAGMA user_version=1;",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	st = test_store_open(path);
	TEST_EQ_INT(store_account_find_api_id(st, "old", &a, &error), 1);
	store_account_free_contents(&a);
	store_close(&st);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"),
	            STORE_SCHEMA_VERSION);
	test_store_verify(path);
}

/*
 * Version 2 files get the index of the bodies to download, built from the
 * messages they hold.
 */
static void
test_store_migrate_v2(void)
{
	const char *path = test_store_path("v2");
	struct store_body_cursor c = {0};
	struct store_message m = {0};
	int64_t acc, box, old, cached, ids[4];
	uint64_t count, bytes;
	const char *error;
	struct store *st;
	size_t n;
	sqlite3 *db;

	st = test_store_open(path);
	acc = test_store_account(st, "v2@x.org");
	box = test_store_mailbox(st, acc, "INBOX");
	old = test_store_message(st, acc, "m1", "", &box, 1);
	m.account_id = acc;
	m.remote_id = (char *)"m2";
	m.received_at = 1800000000;
	TEST_EQ_INT(store_message_add(st, &m, &box, 1, &cached, &error), 0);
	store_close(&st);
	/* Back to version 2: no index; m2's body cached (an empty one). */
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "DROP INDEX messages_bodies_missing;"
	                         "UPDATE messages SET body_cached = 1"
	                         " WHERE remote_id = 'm2';"
	                         "DROP TABLE sent_log; DROP INDEX outbox_msgid;"
	                         "ALTER TABLE outbox DROP COLUMN msgid_hash;"
	                         "ALTER TABLE outbox DROP COLUMN sent_copy;"
	                         "ALTER TABLE outbox DROP COLUMN posted_at;"
	                         "ALTER TABLE outbox DROP COLUMN prepared;"
	                         "ALTER TABLE outbox DROP COLUMN prepared_at;"
	                         "PRAGMA user_version=2;",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	sqlite3_close(db);
	TEST_EQ_INT(test_pragma_int(path,
	                            "SELECT count(*) FROM sqlite_master"
	                            " WHERE name = 'messages_bodies_missing'"),
	            0);

	st = test_store_open(path);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"),
	            STORE_SCHEMA_VERSION);
	TEST_EQ_INT(test_pragma_int(path,
	                            "SELECT count(*) FROM sqlite_master"
	                            " WHERE name = 'messages_bodies_missing'"),
	            1);
	TEST_EQ_INT(store_bodies_missing_count(st, acc, &count, &bytes, &error),
	            0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_UINT(bytes, 100);
	TEST_EQ_INT(store_bodies_missing(st, acc, &c, 4, ids, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_INT(ids[0], old);
	store_close(&st);
	test_store_verify(path);
}

/* Version 3 files get All Mail, filled in the order messages arrived. */
static void
test_store_migrate_v3(void)
{
	const char *path = test_store_path("v3");
	struct store_message m = {0};
	struct store_mailbox all;
	int64_t acc, inbox, junk, trash, work, pair[2], ids[3];
	const char *error;
	struct store *st;
	sqlite3 *db;

	st = test_store_open(path);
	acc = test_store_account(st, "v3@x.org");
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "r1", "INBOX", NULL,
	                                        "inbox", &inbox, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "r2", "Junk", NULL,
	                                        "junk", &junk, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, acc, "r3", "Trash", NULL,
	                                        "trash", &trash, &error),
	            0);
	work = test_store_mailbox(st, acc, "Work");
	m.account_id = acc;
	m.remote_id = (char *)"late";
	m.received_at = 1800000000;
	TEST_EQ_INT(store_message_add(st, &m, &inbox, 1, &ids[0], &error), 0);
	ids[1] = test_store_message(st, acc, "trash", "", &trash, 1);
	pair[0] = junk;
	pair[1] = work;
	ids[2] = test_store_message(st, acc, "early", "", pair, 2);
	store_close(&st);
	/* Back to version 3: no All Mail. */
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "PRAGMA foreign_keys=ON;"
	                         "DELETE FROM mailboxes WHERE role = 'all';"
	                         "DROP TABLE sent_log; DROP INDEX outbox_msgid;"
	                         "ALTER TABLE outbox DROP COLUMN msgid_hash;"
	                         "ALTER TABLE outbox DROP COLUMN sent_copy;"
	                         "ALTER TABLE outbox DROP COLUMN posted_at;"
	                         "ALTER TABLE outbox DROP COLUMN prepared;"
	                         "ALTER TABLE outbox DROP COLUMN prepared_at;"
	                         "PRAGMA user_version=3;",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	sqlite3_close(db);

	st = test_store_open(path);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"),
	            STORE_SCHEMA_VERSION);
	TEST_EQ_INT(
	        store_mailbox_find_role(st, acc, STORE_ROLE_ALL, &all, &error),
	        1);
	TEST_EQ_UINT(all.uidnext, 3);
	TEST_EQ_UINT(test_store_entry(st, all.id, ids[2]).uid, 1);
	TEST_EQ_UINT(test_store_entry(st, all.id, ids[0]).uid, 2);
	TEST_EQ_UINT(test_store_entry(st, all.id, ids[1]).uid, 0);
	store_mailbox_free_contents(&all);
	store_close(&st);
	test_store_verify(path);
}

static void
test_store_not_a_database(void)
{
	const char *path = test_store_path("garbage");
	struct store *st = NULL;
	const char *error = NULL;
	FILE *f = fopen(path, "w");

	TEST_ASSERT(f != NULL);
	fputs("this is not an SQLite file, not at all, no indeed\n", f);
	fclose(f);
	TEST_EQ_INT(store_open(path, NULL, &st, &error), -1);
	TEST_ASSERT(error != NULL && strstr(error, "replica") != NULL);
}

static void
test_store_transactions(void)
{
	struct store *st = test_store_open(test_store_path("tx"));
	struct store_account a;
	const char *error;
	int64_t id, id2;

	/* A rollback undoes everything. */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_begin(st, &error), -1);
	TEST_EQ_INT(store_account_add(st, "a1", "a@x.org", &id, &error), 0);
	store_rollback(st);
	TEST_EQ_INT(store_account_find_api_id(st, "a1", &a, &error), 0);
	TEST_EQ_INT(store_commit(st, &error), -1);

	/*
	 * A failed operation inside a transaction undoes only itself: the
	 * caller may still commit the rest.
	 */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_account_add(st, "a1", "a@x.org", &id, &error), 0);
	id2 = 777;
	TEST_EQ_INT(store_account_add(st, "a2", "A@x.org", &id2, &error), -1);
	TEST_ASSERT(strstr(error, "already") != NULL);
	/* A failure leaves the output alone. */
	TEST_EQ_INT(id2, 777);
	TEST_EQ_INT(store_account_add(st, "a3", "c@x.org", &id2, &error), 0);
	TEST_EQ_INT(store_commit(st, &error), 0);
	TEST_EQ_INT(store_account_find_api_id(st, "a1", &a, &error), 1);
	store_account_free_contents(&a);
	TEST_EQ_INT(store_account_find_api_id(st, "a3", &a, &error), 1);
	store_account_free_contents(&a);
	TEST_EQ_INT(store_account_find_api_id(st, "a2", &a, &error), 0);

	/* Feed state and sync values. */
	{
		char *value = NULL;

		TEST_EQ_INT(store_account_set_feed_state(st, id, "s42", &error),
		            0);
		TEST_EQ_INT(store_account_set_feed_state(st, 999, "s", &error),
		            -1);
		TEST_EQ_INT(store_account_find_email(st, "A@X.ORG", &a, &error),
		            1);
		TEST_EQ_STR(a.feed_state, "s42");
		store_account_free_contents(&a);
		TEST_EQ_INT(store_sync_get(st, id, "phase", &value, &error), 0);
		TEST_EQ_INT(store_sync_set(st, id, "phase", "bodies", &error),
		            0);
		TEST_EQ_INT(store_sync_set(st, id, "phase", "steady", &error),
		            0);
		TEST_EQ_INT(store_sync_get(st, id, "phase", &value, &error), 1);
		TEST_EQ_STR(value, "steady");
		free(value);
		TEST_EQ_INT(store_sync_unset(st, id, "phase", &error), 0);
		TEST_EQ_INT(store_sync_get(st, id, "phase", &value, &error), 0);
	}
	store_close(&st);
}

static void
test_store_account_remove(void)
{
	struct store *st = test_store_open(test_store_path("remove"));
	int64_t acc = test_store_account(st, "r@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	int64_t child, grandchild;
	struct store_account a;
	const char *error;
	uint64_t count;
	int64_t op;

	(void)test_store_message(st, acc, "m1", "", &box, 1);
	TEST_EQ_INT(store_mailbox_create(st, acc, box, "c", &child, &error), 0);
	TEST_EQ_INT(
	        store_mailbox_create(st, acc, child, "g", &grandchild, &error),
	        0);
	TEST_EQ_INT(store_op_push(st, acc, "k", "{}", 1, &op, &error), 0);
	/* Unsent mail is counted, so that the caller can ask first. */
	TEST_EQ_INT(store_account_outbox_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 0);
	TEST_EQ_INT(store_outbox_add(st, acc, "Q1", "r@x.org", "b@x.org", "k",
	                             1, 1, &op, &error),
	            0);
	TEST_EQ_INT(store_account_outbox_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_INT(store_account_remove(st, acc, &error), 0);
	TEST_EQ_INT(store_account_find_api_id(st, "r@x.org", &a, &error), 0);
	TEST_EQ_INT(store_op_count(st, 0, &count, &error), 0);
	TEST_EQ_UINT(count, 0);
	TEST_EQ_INT(store_account_outbox_count(st, acc, &count, &error), 0);
	TEST_EQ_UINT(count, 0);
	store_close(&st);
	test_store_verify(test_store_path("remove"));
}

/* Stores a body of the message's size (100 bytes, test_store_message). */
static void
test_store_body(struct store *st, int64_t message)
{
	struct store_body_writer *w = NULL;
	const char *error = NULL;
	char body[100];

	memset(body, 'x', sizeof(body));
	TEST_EQ_INT(store_body_write_begin(st, message, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, body, sizeof(body), &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
}

/* What saltbridge status reads, while another connection writes. */
static void
test_store_readonly(void)
{
	const char *path = test_store_path("readonly");
	struct store *st = test_store_open(path), *ro = NULL;
	int64_t b = test_store_account(st, "b@x.org");
	int64_t a = test_store_account(st, "a@x.org");
	int64_t box = test_store_mailbox(st, b, "INBOX");
	struct store_account *list = NULL;
	const char *error = NULL;
	struct store_message m;
	uint64_t n, bodies;
	size_t count = 0;
	int64_t id, op;
	struct stat sb;
	sqlite3 *db;

	test_store_body(st, test_store_message(st, b, "m1", "", &box, 1));
	(void)test_store_message(st, b, "m2", "", &box, 1);
	/* A message made here, not on the service yet, is not counted. */
	memset(&m, 0, sizeof(m));
	m.account_id = b;
	m.size = 1;
	m.received_at = 1;
	TEST_EQ_INT(store_message_add(st, &m, &box, 1, &id, &error), 0);
	TEST_EQ_INT(store_op_push(st, b, "k", "{}", 1, &op, &error), 0);
	TEST_EQ_INT(store_op_push(st, b, "k", "{}", 1, &op, &error), 0);
	TEST_EQ_INT(store_op_set_aside(st, op, "no", &error), 0);
	/* Read while the writer holds a transaction open. */
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_sync_set(st, a, "phase", "initial", &error), 0);
	TEST_EQ_INT(store_open_readonly(path, &ro, &error), 0);
	TEST_EQ_INT(store_account_list(ro, &list, &count, &error), 0);
	TEST_EQ_UINT(count, 2);
	TEST_EQ_STR(list[0].email, "a@x.org");
	TEST_EQ_INT(list[0].id, a);
	TEST_EQ_STR(list[1].email, "b@x.org");
	store_account_list_free(&list, count);
	TEST_ASSERT(list == NULL);
	TEST_EQ_INT(store_account_message_count(ro, b, &n, &bodies, &error), 0);
	TEST_EQ_UINT(n, 2);
	TEST_EQ_UINT(bodies, 1);
	TEST_EQ_INT(store_account_message_count(ro, a, &n, &bodies, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_UINT(bodies, 0);
	TEST_EQ_INT(store_op_count(ro, b, &n, &error), 0);
	TEST_EQ_UINT(n, 2);
	TEST_EQ_INT(store_op_count_failed(ro, b, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_INT(store_op_count_failed(ro, a, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	/* The writer's transaction is not seen, and nothing is written. */
	TEST_EQ_INT(store_sync_get(ro, a, "phase", &(char *){NULL}, &error), 0);
	TEST_EQ_INT(store_sync_set(ro, a, "phase", "steady", &error), -1);
	TEST_EQ_INT(store_commit(st, &error), 0);
	store_close(&ro);
	store_close(&st);
	/* A missing file is not made. */
	TEST_EQ_INT(
	        store_open_readonly(test_store_path("ro-missing"), &ro, &error),
	        -1);
	TEST_ASSERT(strstr(error, "cannot open") != NULL);
	TEST_ASSERT(stat(test_store_path("ro-missing"), &sb) < 0);
	/* Another version is refused, an older one with what to do. */
	path = test_store_path("ro-old");
	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db,
	                         "CREATE TABLE t(x); PRAGMA user_version=1;",
	                         NULL, NULL, NULL),
	            SQLITE_OK);
	sqlite3_close(db);
	TEST_EQ_INT(store_open_readonly(path, &ro, &error), -1);
	TEST_ASSERT(strstr(error, "older") != NULL);
	TEST_ASSERT(strstr(error, "saltbridge serve") != NULL);
	TEST_EQ_INT(test_pragma_int(path, "PRAGMA user_version"), 1);
	test_store_verify(test_store_path("readonly"));
}

static const struct test_case cases[] = {
        {"fresh file and reopen", test_store_fresh_and_reopen},
        {"newer schema refused, file untouched", test_store_newer_refused},
        {"newer WAL file refused, untouched", test_store_newer_wal_refused},
        {"version 1 migrated", test_store_migrate_v1},
        {"version 2 migrated", test_store_migrate_v2},
        {"version 3 migrated", test_store_migrate_v3},
        {"not a database", test_store_not_a_database},
        {"transactions and savepoints", test_store_transactions},
        {"account removal", test_store_account_remove},
        {"read-only connection", test_store_readonly},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
