/*
 * The schema and its migrations. PRAGMA user_version is the version of a
 * file; each step below brings it from version - 1 to version in one
 * transaction. docs/replica.md describes every table.
 */
#include "store-private.h"

#include <stdio.h>
#include <string.h>

static const char store_schema_v1[] =
        /* Values of the whole replica, such as the last UIDVALIDITY. */
        "CREATE TABLE meta("
        " name TEXT PRIMARY KEY,"
        " value INTEGER NOT NULL) WITHOUT ROWID;"

        "CREATE TABLE accounts("
        " id INTEGER PRIMARY KEY,"
        " api_id TEXT NOT NULL UNIQUE,"
        " email TEXT NOT NULL UNIQUE,"
        " feed_state TEXT);"

        "CREATE TABLE sync_state("
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " name TEXT NOT NULL,"
        " value TEXT NOT NULL,"
        " PRIMARY KEY(account, name)) WITHOUT ROWID;"

        "CREATE TABLE mailboxes("
        " id INTEGER PRIMARY KEY,"
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " remote_id TEXT,"
        " name TEXT NOT NULL,"
        " parent INTEGER REFERENCES mailboxes(id),"
        " role TEXT,"
        " uidvalidity INTEGER NOT NULL"
        "  CHECK(uidvalidity BETWEEN 1 AND 4294967295),"
        " uidnext INTEGER NOT NULL DEFAULT 1"
        "  CHECK(uidnext BETWEEN 1 AND 4294967296),"
        " highestmodseq INTEGER NOT NULL DEFAULT 1"
        "  CHECK(highestmodseq >= 1),"
        " subscribed INTEGER NOT NULL DEFAULT 1);"
        "CREATE UNIQUE INDEX mailboxes_remote ON mailboxes(account, remote_id);"
        "CREATE UNIQUE INDEX mailboxes_name"
        " ON mailboxes(account, ifnull(parent, 0), name);"
        "CREATE UNIQUE INDEX mailboxes_role ON mailboxes(account, role);"
        "CREATE INDEX mailboxes_parent ON mailboxes(parent);"

        "CREATE TABLE messages("
        " id INTEGER PRIMARY KEY,"
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " remote_id TEXT,"
        " blob_id TEXT,"
        " size INTEGER NOT NULL,"
        " received_at INTEGER NOT NULL,"
        " summary BLOB,"
        " key_packet BLOB,"
        " keywords TEXT NOT NULL DEFAULT '',"
        " cache BLOB,"
        " body_cached INTEGER NOT NULL DEFAULT 0);"
        "CREATE UNIQUE INDEX messages_remote ON messages(account, remote_id);"

        "CREATE TABLE mailbox_messages("
        " mailbox INTEGER NOT NULL"
        "  REFERENCES mailboxes(id) ON DELETE CASCADE,"
        " uid INTEGER NOT NULL CHECK(uid BETWEEN 1 AND 4294967295),"
        " message INTEGER NOT NULL"
        "  REFERENCES messages(id) ON DELETE CASCADE,"
        " modseq INTEGER NOT NULL,"
        " deleted INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY(mailbox, uid),"
        " UNIQUE(mailbox, message)) WITHOUT ROWID;"
        "CREATE INDEX mailbox_messages_modseq"
        " ON mailbox_messages(mailbox, modseq);"
        "CREATE INDEX mailbox_messages_message ON mailbox_messages(message);"

        "CREATE TABLE expunged("
        " mailbox INTEGER NOT NULL"
        "  REFERENCES mailboxes(id) ON DELETE CASCADE,"
        " uid INTEGER NOT NULL,"
        " modseq INTEGER NOT NULL,"
        " PRIMARY KEY(mailbox, uid)) WITHOUT ROWID;"
        "CREATE INDEX expunged_modseq ON expunged(mailbox, modseq);"

        /* Pieces of at most STORE_BODY_CHUNK bytes, at byte pos. */
        "CREATE TABLE bodies("
        " message INTEGER NOT NULL"
        "  REFERENCES messages(id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL,"
        " data BLOB NOT NULL,"
        " PRIMARY KEY(message, pos));"

        "CREATE TABLE op_queue("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " kind TEXT NOT NULL,"
        " payload TEXT NOT NULL,"
        " idempotency_key TEXT NOT NULL UNIQUE,"
        " created_at INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL,"
        " last_error TEXT);"
        "CREATE INDEX op_queue_account ON op_queue(account, id);"

        "CREATE TABLE outbox("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " queue_id TEXT NOT NULL UNIQUE,"
        " sender TEXT NOT NULL,"
        " recipients TEXT NOT NULL,"
        " sealed_key BLOB NOT NULL,"
        " size INTEGER NOT NULL DEFAULT 0,"
        " state INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL,"
        " last_error TEXT);"
        "CREATE INDEX outbox_due ON outbox(state, next_at);"
        "CREATE INDEX outbox_account ON outbox(account);"

        "CREATE TABLE outbox_bodies("
        " outbox INTEGER NOT NULL"
        "  REFERENCES outbox(id) ON DELETE CASCADE,"
        " pos INTEGER NOT NULL,"
        " data BLOB NOT NULL,"
        " PRIMARY KEY(outbox, pos));";

/*
 * Version 2: ops that keep failing stop (op_queue.failed); the modseq
 * below which expunges were forgotten (mailboxes.expunged_floor); the
 * resync's scope and keep-list in tables of the file.
 */
static const char store_schema_v2[] =
        "ALTER TABLE op_queue ADD COLUMN failed INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE mailboxes"
        " ADD COLUMN expunged_floor INTEGER NOT NULL DEFAULT 0;"

        /* The messages a resync may delete: those known at its start. */
        "CREATE TABLE resync_scope("
        " message INTEGER PRIMARY KEY"
        "  REFERENCES messages(id) ON DELETE CASCADE,"
        " account INTEGER NOT NULL);"
        "CREATE INDEX resync_scope_account ON resync_scope(account);"
        "CREATE TABLE resync_keep("
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " remote_id TEXT NOT NULL,"
        " PRIMARY KEY(account, remote_id)) WITHOUT ROWID;";

/*
 * Version 3: the messages whose body is still to download, newest first
 * (store_bodies_missing), in a partial index that holds only those.
 */
static const char store_schema_v3[] =
        "CREATE INDEX messages_bodies_missing"
        " ON messages(account, received_at, id)"
        " WHERE body_cached = 0 AND remote_id IS NOT NULL;";

/*
 * Version 4: every account's All Mail (store.h, STORE_ROLE_ALL), filled
 * with the messages it holds in the order they arrived. An account whose
 * top level has a mailbox of that name already goes without (INSERT OR
 * IGNORE): the name stays the user's.
 */
static const char store_schema_v4[] =
        "INSERT OR IGNORE INTO mailboxes(account, name, role, uidvalidity)"
        " SELECT a.id, 'All Mail', 'all',"
        "  max(ifnull((SELECT value FROM meta WHERE name = 'uidvalidity'),"
        "   0), CAST(strftime('%s', 'now') AS INTEGER))"
        "  + row_number() OVER (ORDER BY a.id)"
        " FROM accounts a WHERE NOT EXISTS (SELECT 1 FROM mailboxes"
        "  WHERE account = a.id AND role = 'all');"
        "INSERT OR REPLACE INTO meta(name, value)"
        " SELECT 'uidvalidity', v FROM (SELECT max(uidvalidity) AS v"
        "  FROM mailboxes)"
        " WHERE v > ifnull((SELECT value FROM meta"
        "  WHERE name = 'uidvalidity'), 0);"
        "INSERT INTO mailbox_messages(mailbox, uid, message, modseq)"
        " SELECT b.id, row_number() OVER w, m.id, 1 + row_number() OVER w"
        " FROM messages m JOIN mailboxes b"
        "  ON b.account = m.account AND b.role = 'all'"
        " WHERE EXISTS (SELECT 1 FROM mailbox_messages e"
        "  JOIN mailboxes r ON r.id = e.mailbox WHERE e.message = m.id"
        "  AND ifnull(r.role, '') NOT IN ('all', 'trash', 'junk'))"
        " AND b.uidnext = 1"
        " WINDOW w AS (PARTITION BY b.id ORDER BY m.received_at, m.id);"
        "UPDATE mailboxes SET uidnext = 1 + (SELECT count(*)"
        " FROM mailbox_messages WHERE mailbox = mailboxes.id),"
        " highestmodseq = 1 + (SELECT count(*)"
        " FROM mailbox_messages WHERE mailbox = mailboxes.id)"
        " WHERE role = 'all' AND uidnext = 1;";

/*
 * Version 5: the Message-ID (keyed hash) of each outbox message and
 * whether the service still files its Sent copy; the Sent copies the
 * service filed lately, by Message-ID, so that a client's APPEND of the
 * same message to Sent is recognized (docs/send.md).
 */
static const char store_schema_v5[] =
        "ALTER TABLE outbox ADD COLUMN msgid_hash BLOB;"
        "ALTER TABLE outbox ADD COLUMN sent_copy INTEGER NOT NULL DEFAULT 1;"
        "CREATE INDEX outbox_msgid ON outbox(account, msgid_hash);"
        "CREATE TABLE sent_log("
        " account INTEGER NOT NULL"
        "  REFERENCES accounts(id) ON DELETE CASCADE,"
        " msgid_hash BLOB NOT NULL,"
        " remote_id TEXT NOT NULL,"
        " at INTEGER NOT NULL,"
        " PRIMARY KEY(account, msgid_hash)) WITHOUT ROWID;";

/*
 * Version 6: when an outbox message's submission was first posted, so
 * that it is not posted again once the service may have forgotten its
 * Idempotency-Key (docs/send.md).
 */
static const char store_schema_v6[] =
        "ALTER TABLE outbox ADD COLUMN posted_at INTEGER NOT NULL DEFAULT 0;";

/*
 * Version 7: an outbox message's submission as prepared (its blobs
 * uploaded, its summaries and key packets: ciphertext only), and when,
 * so that every try posts the same request.
 */
static const char store_schema_v7[] =
        "ALTER TABLE outbox ADD COLUMN prepared TEXT;"
        "ALTER TABLE outbox ADD COLUMN prepared_at INTEGER NOT NULL DEFAULT 0;";

struct store_migration {
	int version;
	const char *sql;
};

/* In order; the last one's version is STORE_SCHEMA_VERSION. */
static const struct store_migration store_migrations[] = {
        {1, store_schema_v1}, {2, store_schema_v2}, {3, store_schema_v3},
        {4, store_schema_v4}, {5, store_schema_v5}, {6, store_schema_v6},
        {7, store_schema_v7},
};

_Static_assert(SB_N_ELEMENTS(store_migrations) == STORE_SCHEMA_VERSION,
               "one migration step per schema version");

static int SB_WUR
store_user_version(struct store *st, int64_t *version_r, const char **error_r)
{
	if (store_int(st, version_r, error_r, "PRAGMA user_version", "") <= 0)
		return store_fail_db(st, error_r,
		                     "cannot read the schema "
		                     "version of the replica");
	return 0;
}

/* Runs one step in a transaction, unless another connection just did. */
static int SB_WUR
store_migrate_step(struct store *st, const struct store_migration *m,
                   const char **error_r)
{
	char pragma[64], why[sizeof(st->error)];
	int64_t version;
	size_t mark;
	int ret = 0;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	if (store_user_version(st, &version, error_r) < 0)
		ret = -1;
	else if (version < m->version) {
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d",
		         m->version);
		if (store_exec(st, m->sql, error_r) < 0 ||
		    store_exec(st, pragma, error_r) < 0) {
			snprintf(why, sizeof(why), "%s", *error_r);
			ret = store_fail(st, error_r,
			                 "cannot upgrade the replica to "
			                 "version %d: %s",
			                 m->version, why);
		}
	}
	return store_tx_end(st, mark, ret, error_r);
}

int
store_check_version(struct store *st, const char *path, const char **error_r)
{
	int64_t version;

	if (store_user_version(st, &version, error_r) < 0)
		return -1;
	if (version == STORE_SCHEMA_VERSION)
		return 0;
	if (version > STORE_SCHEMA_VERSION)
		return store_fail(st, error_r,
		                  "the replica %s has schema version %lld, "
		                  "newer than this program's %d: it was "
		                  "written by a newer Saltbridge",
		                  path, (long long)version,
		                  STORE_SCHEMA_VERSION);
	if (version == 0)
		return store_fail(st, error_r, "the replica %s holds nothing",
		                  path);
	return store_fail(st, error_r,
	                  "the replica %s has schema version %lld, older "
	                  "than this program's %d: 'saltbridge serve' "
	                  "upgrades it when it starts",
	                  path, (long long)version, STORE_SCHEMA_VERSION);
}

/* Switches to WAL and checks that SQLite did: it answers with the mode. */
static int SB_WUR
store_wal(struct store *st, const char **error_r)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int ret;

	if (store_stmt(st, &stmt, error_r, "PRAGMA journal_mode=WAL", "") < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret == 0)
		ret = store_fail(st, error_r,
		                 "the replica has no journal mode");
	if (ret > 0) {
		mode = (const char *)sqlite3_column_text(stmt, 0);
		ret = mode != NULL && strcmp(mode, "wal") == 0
		              ? 0
		              : store_fail(st, error_r,
		                           "the replica cannot use WAL mode "
		                           "(its journal mode stays %s)",
		                           mode != NULL ? mode : "unknown");
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_migrate(struct store *st, const char *path, const char **error_r)
{
	int64_t version;
	size_t i;

	if (store_user_version(st, &version, error_r) < 0)
		return -1;
	if (version > STORE_SCHEMA_VERSION) {
		return store_fail(st, error_r,
		                  "the replica %s has schema version %lld, "
		                  "newer than this program's %d: it was "
		                  "written by a newer Saltbridge; upgrade, or "
		                  "move the file away to sync again",
		                  path, (long long)version,
		                  STORE_SCHEMA_VERSION);
	}
	/* Not newer: closing may checkpoint from now on. */
	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0,
	                      NULL) != SQLITE_OK)
		return store_fail_db(st, error_r,
		                     "cannot configure the replica");
	if (store_wal(st, error_r) < 0)
		return -1;
	for (i = 0; i < SB_N_ELEMENTS(store_migrations); i++) {
		if (store_migrations[i].version <= version)
			continue;
		if (store_migrate_step(st, &store_migrations[i], error_r) < 0)
			return -1;
	}
	return 0;
}
