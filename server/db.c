/* saltmaild's database: schema, connections, modseq and the change log. */
#include "server-private.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"

static const char srv_schema[] =
        "CREATE TABLE IF NOT EXISTS meta("
        " key TEXT PRIMARY KEY, value BLOB);"
        "CREATE TABLE IF NOT EXISTS accounts("
        " id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
        " auth_hash BLOB NOT NULL, kdf_ops INTEGER NOT NULL,"
        " kdf_mem INTEGER NOT NULL, kdf_salt BLOB NOT NULL,"
        " enc_pk BLOB NOT NULL, sign_pk BLOB NOT NULL,"
        " wrapped_account_key BLOB NOT NULL, wrapped_enc_sk BLOB NOT NULL,"
        " wrapped_sign_seed BLOB NOT NULL,"
        " modseq INTEGER NOT NULL DEFAULT 1,"
        " changes_floor INTEGER NOT NULL DEFAULT 0,"
        " quota_used INTEGER NOT NULL DEFAULT 0,"
        " created_at INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS sessions("
        " id INTEGER PRIMARY KEY, account_id TEXT NOT NULL,"
        " access_hash BLOB NOT NULL UNIQUE, access_expires INTEGER NOT NULL,"
        " refresh_hash BLOB NOT NULL UNIQUE, refresh_expires INTEGER NOT NULL,"
        " revoked INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX IF NOT EXISTS sessions_account ON sessions(account_id);"
        "CREATE TABLE IF NOT EXISTS old_refresh("
        " hash BLOB PRIMARY KEY, session_id INTEGER NOT NULL);"
        "CREATE TABLE IF NOT EXISTS mailboxes("
        " id TEXT PRIMARY KEY, account_id TEXT NOT NULL, name TEXT NOT NULL,"
        " parent_id TEXT, role TEXT);"
        "CREATE INDEX IF NOT EXISTS mailboxes_account ON mailboxes(account_id);"
        "CREATE TABLE IF NOT EXISTS blobs("
        " id TEXT PRIMARY KEY, account_id TEXT NOT NULL, size INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL, transient INTEGER NOT NULL DEFAULT 0,"
        " refs INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE IF NOT EXISTS messages("
        " id TEXT PRIMARY KEY, account_id TEXT NOT NULL, blob_id TEXT NOT NULL,"
        " size INTEGER NOT NULL, received_at INTEGER NOT NULL,"
        " summary BLOB NOT NULL, key_packet BLOB NOT NULL,"
        " keywords TEXT NOT NULL DEFAULT '', charged_to TEXT);"
        "CREATE INDEX IF NOT EXISTS messages_list"
        " ON messages(account_id, received_at DESC, id DESC);"
        "CREATE TABLE IF NOT EXISTS message_mailboxes("
        " message_id TEXT NOT NULL, mailbox_id TEXT NOT NULL,"
        " PRIMARY KEY(message_id, mailbox_id));"
        "CREATE INDEX IF NOT EXISTS mm_mailbox"
        " ON message_mailboxes(mailbox_id);"
        "CREATE TABLE IF NOT EXISTS changes("
        " account_id TEXT NOT NULL, modseq INTEGER NOT NULL,"
        " kind TEXT NOT NULL, object_id TEXT NOT NULL, op TEXT NOT NULL);"
        "CREATE INDEX IF NOT EXISTS changes_account"
        " ON changes(account_id, modseq);"
        "CREATE TABLE IF NOT EXISTS idempotency("
        " scope TEXT NOT NULL, key TEXT NOT NULL, req_hash BLOB NOT NULL,"
        " status INTEGER NOT NULL, body BLOB NOT NULL,"
        " created_at INTEGER NOT NULL, PRIMARY KEY(scope, key));"
        "CREATE INDEX IF NOT EXISTS idempotency_created"
        " ON idempotency(created_at);"
        "CREATE TABLE IF NOT EXISTS relay_queue("
        " id INTEGER PRIMARY KEY, blob_id TEXT NOT NULL, sender TEXT NOT NULL,"
        " rcpt TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
        " next_at INTEGER NOT NULL, created_at INTEGER NOT NULL DEFAULT 0,"
        " last_reply TEXT);";

/*
 * Columns added since the first schema, for data folders made before:
 * table, column, definition.
 */
static const char *const srv_added_columns[][3] = {
        {"messages", "charged_to", "TEXT"},
        {"relay_queue", "created_at", "INTEGER NOT NULL DEFAULT 0"},
        {"relay_queue", "last_reply", "TEXT"},
};

int
srv_db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sb_log_error("database: %s", msg != NULL ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3_stmt *
srv_db_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		/* Our own SQL failed to compile: a bug, not bad input. */
		sb_log_error("database: cannot prepare: %s",
		             sqlite3_errmsg(db));
		abort();
	}
	return st;
}

int
srv_db_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static _Thread_local char srv_db_error[512];

int
srv_db_open(const char *path, sqlite3 **db_r, const char **error_r)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                            SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		/* The message dies with the handle: keep a copy. */
		snprintf(srv_db_error, sizeof(srv_db_error),
		         "cannot open the database %s: %s", path,
		         db != NULL ? sqlite3_errmsg(db) : "out of memory");
		*error_r = srv_db_error;
		sqlite3_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db, 10000);
	if (srv_db_exec(db, "PRAGMA journal_mode=WAL;"
	                    "PRAGMA synchronous=FULL;"
	                    "PRAGMA foreign_keys=ON;") != 0) {
		*error_r = "cannot set up the database";
		sqlite3_close(db);
		return -1;
	}
	*db_r = db;
	return 0;
}

/* Adds a column that an older data folder lacks. */
static int SB_WUR
srv_db_add_column(sqlite3 *db, const char *table, const char *column,
                  const char *definition)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2");
	char sql[256];
	int rc;

	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return -1;
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", table,
	         column, definition);
	return srv_db_exec(db, sql);
}

int
srv_db_schema(sqlite3 *db, const char **error_r)
{
	sqlite3_stmt *st;
	size_t i;

	if (srv_db_exec(db, srv_schema) != 0) {
		*error_r = "cannot create the database schema";
		return -1;
	}
	for (i = 0; i < SB_N_ELEMENTS(srv_added_columns); i++) {
		if (srv_db_add_column(db, srv_added_columns[i][0],
		                      srv_added_columns[i][1],
		                      srv_added_columns[i][2]) != 0) {
			*error_r = "cannot update the database schema";
			return -1;
		}
	}
	/* Mail queued before its age was kept is as old as now. */
	st = srv_db_prepare(db, "UPDATE relay_queue SET created_at = ?1 "
	                        "WHERE created_at = 0");
	sqlite3_bind_int64(st, 1, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0) {
		*error_r = "cannot update the database schema";
		return -1;
	}
	return 0;
}

/* How long idempotency records and dead sessions are kept. */
#define SRV_KEEP_RECORDS (24 * 3600)

int
srv_db_sweep(sqlite3 *db, uint64_t now)
{
	static const char *const sql[] = {
	        "DELETE FROM idempotency WHERE created_at < ?1",
	        "DELETE FROM sessions WHERE refresh_expires < ?1 OR "
	        "(revoked != 0 AND revoked < ?1)",
	        "DELETE FROM old_refresh WHERE session_id NOT IN "
	        "(SELECT id FROM sessions)",
	};
	sqlite3_stmt *st;
	size_t i;
	int ret = 0;

	if (srv_db_exec(db, "BEGIN IMMEDIATE") != 0)
		return -1;
	for (i = 0; i < SB_N_ELEMENTS(sql) && ret == 0; i++) {
		st = srv_db_prepare(db, sql[i]);
		if (sqlite3_bind_parameter_count(st) > 0)
			sqlite3_bind_int64(st, 1,
			                   (int64_t)(now - SRV_KEEP_RECORDS));
		ret = srv_db_step_done(st);
	}
	if (ret == 0 && srv_db_exec(db, "COMMIT") == 0)
		return 0;
	(void)!srv_db_exec(db, "ROLLBACK");
	return -1;
}

char *
srv_column_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	return s != NULL ? sb_strdup((const char *)s) : NULL;
}

static pthread_key_t srv_db_key;
static pthread_once_t srv_db_once = PTHREAD_ONCE_INIT;

static void
srv_db_close(void *db)
{
	sqlite3_close(db);
}

static void
srv_db_key_init(void)
{
	if (pthread_key_create(&srv_db_key, srv_db_close) != 0)
		abort();
}

sqlite3 *
srv_db(struct srv *srv)
{
	sqlite3 *db;
	const char *error;

	pthread_once(&srv_db_once, srv_db_key_init);
	db = pthread_getspecific(srv_db_key);
	if (db != NULL)
		return db;
	if (srv_db_open(srv->db_path, &db, &error) != 0) {
		sb_log_error("database %s: %s", srv->db_path, error);
		return NULL;
	}
	if (pthread_setspecific(srv_db_key, db) != 0)
		abort();
	return db;
}

void
srv_new_id(const char *prefix, char out[SRV_ID_SIZE])
{
	unsigned char raw[12];
	char hex[sizeof(raw) * 2 + 1];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	snprintf(out, SRV_ID_SIZE, "%s_%s", prefix, hex);
}

uint64_t
srv_now(void)
{
	return (uint64_t)time(NULL);
}

int
srv_bump(sqlite3 *db, const char *account_id, int64_t *modseq_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "UPDATE accounts SET modseq = modseq + 1 WHERE id = ?1 "
	            "RETURNING modseq");
	int ret = -1;

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*modseq_r = sqlite3_column_int64(st, 0);
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

int
srv_change(sqlite3 *db, const char *account_id, int64_t modseq, char kind,
           const char *object_id, char op)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "INSERT INTO changes(account_id, modseq, kind, object_id, "
	            "op) VALUES(?1, ?2, ?3, ?4, ?5)");
	char k[2] = {kind, '\0'}, o[2] = {op, '\0'};

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, modseq);
	sqlite3_bind_text(st, 3, k, 1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, object_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, o, 1, SQLITE_TRANSIENT);
	return srv_db_step_done(st);
}

int
srv_prune_changes(sqlite3 *db, const char *account_id, uint64_t keep)
{
	sqlite3_stmt *st;
	int64_t cut = -1;

	/* The modseq at or below which changes go: keep whole modseqs. */
	st = srv_db_prepare(db, "SELECT modseq FROM changes WHERE "
	                        "account_id = ?1 ORDER BY modseq DESC "
	                        "LIMIT 1 OFFSET ?2");
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)keep);
	if (sqlite3_step(st) == SQLITE_ROW)
		cut = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (cut < 0)
		return 0;
	st = srv_db_prepare(db, "DELETE FROM changes WHERE account_id = ?1 "
	                        "AND modseq <= ?2");
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cut);
	if (srv_db_step_done(st) != 0)
		return -1;
	st = srv_db_prepare(db, "UPDATE accounts SET changes_floor = "
	                        "MAX(changes_floor, ?2) WHERE id = ?1");
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, cut);
	return srv_db_step_done(st);
}

char *
srv_state(sqlite3 *db, const char *account_id)
{
	sqlite3_stmt *st =
	        srv_db_prepare(db, "SELECT modseq FROM accounts WHERE id = ?1");
	char *state = NULL;

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		char buf[32];

		snprintf(buf, sizeof(buf), "s%lld",
		         (long long)sqlite3_column_int64(st, 0));
		state = sb_strdup(buf);
	}
	sqlite3_finalize(st);
	return state;
}

int
srv_account_by_email(sqlite3 *db, const char *email,
                     char account_id_r[API_ACCOUNT_ID_LEN + 1])
{
	sqlite3_stmt *st =
	        srv_db_prepare(db, "SELECT id FROM accounts WHERE email = ?1");
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(account_id_r, API_ACCOUNT_ID_LEN + 1, "%s",
		         (const char *)sqlite3_column_text(st, 0));
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* The mailboxes every account starts with: name and role. */
static const char *const srv_role_mailboxes[][2] = {
        {"INBOX", "inbox"},     {"Drafts", "drafts"}, {"Sent", "sent"},
        {"Archive", "archive"}, {"Junk", "junk"},     {"Trash", "trash"},
};

int
srv_account_create(sqlite3 *db, const struct api_signup *s,
                   const char **error_r)
{
	unsigned char auth_hash[32];
	sqlite3_stmt *st;
	size_t i;

	crypto_generichash(auth_hash, sizeof(auth_hash), s->auth_key,
	                   sizeof(s->auth_key), NULL, 0);
	st = srv_db_prepare(
	        db, "INSERT INTO accounts(id, email, auth_hash, kdf_ops, "
	            "kdf_mem, kdf_salt, enc_pk, sign_pk, wrapped_account_key, "
	            "wrapped_enc_sk, wrapped_sign_seed, created_at) VALUES("
	            "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
	sqlite3_bind_text(st, 1, s->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->email, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, auth_hash, sizeof(auth_hash), SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)s->kdf.opslimit);
	sqlite3_bind_int64(st, 5, (int64_t)s->kdf.memlimit);
	sqlite3_bind_blob(st, 6, s->kdf.salt, API_SALT_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, s->keys.enc_pk, API_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 8, s->keys.sign_pk, API_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 9, s->keys.wrapped_account_key,
	                  API_WRAPPED_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 10, s->keys.wrapped_enc_sk, API_WRAPPED_KEY_BYTES,
	                  SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, s->keys.wrapped_sign_seed,
	                  API_WRAPPED_KEY_BYTES, SQLITE_STATIC);
	sqlite3_bind_int64(st, 12, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0) {
		*error_r = "the address or account id is taken";
		return -1;
	}
	for (i = 0; i < SB_N_ELEMENTS(srv_role_mailboxes); i++) {
		char id[SRV_ID_SIZE];

		srv_new_id("mb", id);
		st = srv_db_prepare(db, "INSERT INTO mailboxes(id, account_id, "
		                        "name, parent_id, role) VALUES(?1, ?2, "
		                        "?3, NULL, ?4)");
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, s->account_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, srv_role_mailboxes[i][0], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 4, srv_role_mailboxes[i][1], -1,
		                  SQLITE_STATIC);
		if (srv_db_step_done(st) != 0) {
			*error_r = "cannot create the mailboxes";
			return -1;
		}
	}
	return 0;
}
