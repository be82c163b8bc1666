/*
 * The op queue (local changes waiting to be replayed to the service) and
 * the outbox (mail accepted by SMTP waiting to be submitted).
 */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* Retries back off from 5 s, doubling, to at most an hour. */
#define STORE_RETRY_FIRST 5
#define STORE_RETRY_MAX   3600

int64_t
store_retry_delay(uint32_t attempts)
{
	int64_t delay = STORE_RETRY_FIRST;
	uint32_t i;

	for (i = 1; i < attempts && delay < STORE_RETRY_MAX; i++)
		delay *= 2;
	return delay < STORE_RETRY_MAX ? delay : STORE_RETRY_MAX;
}

/* ---- Op queue ---- */

void
store_op_free_contents(struct store_op *op)
{
	free(op->kind);
	free(op->payload);
	free(op->idempotency_key);
	free(op->last_error);
	memset(op, 0, sizeof(*op));
}

int
store_op_push(struct store *st, int64_t account_id, const char *kind,
              const char *payload, int64_t now, int64_t *id_r,
              const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	/*
	 * SQLite's randomness is seeded by the system's; the key only has
	 * to be unique, it protects nothing.
	 */
	ret = store_run(
	        st, error_r,
	        "INSERT INTO op_queue(account, kind, payload,"
	        " idempotency_key, created_at, next_at)"
	        " VALUES(?1, ?2, ?3, lower(hex(randomblob(16))), ?4, ?4)",
	        "itti", account_id, kind, payload, now);
	if (ret == 0) {
		*id_r = sqlite3_last_insert_rowid(st->db);
		/* The replayer wakes when the transaction commits. */
		store_changed(st, store_ops_key(account_id));
	}
	return store_tx_end(st, mark, ret, error_r);
}

static void
store_op_read(sqlite3_stmt *stmt, struct store_op *op)
{
	op->id = sqlite3_column_int64(stmt, 0);
	op->account_id = sqlite3_column_int64(stmt, 1);
	op->kind = store_col_str(stmt, 2);
	op->payload = store_col_str(stmt, 3);
	op->idempotency_key = store_col_str(stmt, 4);
	op->created_at = sqlite3_column_int64(stmt, 5);
	op->attempts = (uint32_t)sqlite3_column_int64(stmt, 6);
	op->next_at = sqlite3_column_int64(stmt, 7);
	op->last_error = store_col_str(stmt, 8);
}

int
store_op_peek(struct store *st, int64_t account_id, int64_t now,
              struct store_op *op_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	/* Only the head of each account's queue may go. */
	if (store_stmt(st, &stmt, error_r,
	               "SELECT id, account, kind, payload, idempotency_key,"
	               " created_at, attempts, next_at, last_error"
	               " FROM op_queue q"
	               " WHERE (?1 = 0 OR account = ?1) AND next_at <= ?2"
	               " AND id = (SELECT min(id) FROM op_queue"
	               "  WHERE account = q.account AND NOT failed)"
	               " ORDER BY id LIMIT 1",
	               "ii", account_id, now) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		store_op_read(stmt, op_r);
	sqlite3_finalize(stmt);
	return ret;
}

void
store_op_list_free(struct store_op **list, size_t count)
{
	size_t i;

	if (*list == NULL)
		return;
	for (i = 0; i < count; i++)
		store_op_free_contents(&(*list)[i]);
	free(*list);
	*list = NULL;
}

int
store_op_list_failed(struct store *st, int64_t account_id,
                     struct store_op **list_r, size_t *count_r,
                     const char **error_r)
{
	struct store_op *list = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT id, account, kind, payload, idempotency_key,"
	               " created_at, attempts, next_at, last_error"
	               " FROM op_queue WHERE failed"
	               " AND (?1 = 0 OR account = ?1) ORDER BY id",
	               "i", account_id) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 8;
			list = sb_reallocarray(list, alloc, sizeof(*list));
		}
		store_op_read(stmt, &list[count++]);
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		store_op_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

int
store_op_done(struct store *st, int64_t op_id, const char **error_r)
{
	if (store_run(st, error_r, "DELETE FROM op_queue WHERE id = ?", "i",
	              op_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no op %lld", (long long)op_id);
	return 0;
}

/*
 * The next retry's time for `attempts` (the count before this failure),
 * as store_retry_delay(attempts + 1) in SQL: 5 s doubling, at most 1 h.
 */
#define STORE_SQL_NEXT_AT "?2 + min(3600, 5 << min(attempts, 12))"
/* Mail waits at most 5 minutes between tries: people wait for it. */
#define STORE_SQL_OUTBOX_NEXT_AT "?2 + min(300, 5 << min(attempts, 6))"

int
store_op_failed(struct store *st, int64_t op_id, int64_t now, const char *error,
                const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE op_queue SET attempts = attempts + 1,"
	              " next_at = " STORE_SQL_NEXT_AT ", last_error = ?3,"
	              " failed = attempts + 1 >= ?4"
	              " WHERE id = ?1 AND NOT failed",
	              "iiti", op_id, now, error,
	              (int64_t)STORE_OP_MAX_ATTEMPTS) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no op %lld waiting for a retry",
		                  (long long)op_id);
	return 0;
}

int
store_op_set_aside(struct store *st, int64_t op_id, const char *error,
                   const char **error_r)
{
	if (store_run(
	            st, error_r,
	            "UPDATE op_queue SET attempts = attempts + 1,"
	            " last_error = ?2, failed = 1 WHERE id = ?1 AND NOT failed",
	            "it", op_id, error) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no op %lld waiting for a retry",
		                  (long long)op_id);
	return 0;
}

int
store_op_count(struct store *st, int64_t account_id, uint64_t *count_r,
               const char **error_r)
{
	int64_t count = 0;

	if (store_int(st, &count, error_r,
	              "SELECT count(*) FROM op_queue WHERE ?1 = 0 OR account = "
	              "?1",
	              "i", account_id) < 0)
		return -1;
	*count_r = (uint64_t)count;
	return 0;
}

int
store_op_count_failed(struct store *st, int64_t account_id, uint64_t *count_r,
                      const char **error_r)
{
	int64_t count = 0;

	if (store_int(st, &count, error_r,
	              "SELECT count(*) FROM op_queue WHERE failed AND"
	              " (?1 = 0 OR account = ?1)",
	              "i", account_id) < 0)
		return -1;
	*count_r = (uint64_t)count;
	return 0;
}

/* ---- Outbox ---- */

void
store_outbox_free_contents(struct store_outbox *o)
{
	free(o->queue_id);
	free(o->sender);
	free(o->recipients);
	free(o->sealed_key);
	free(o->last_error);
	free(o->msgid_hash);
	free(o->prepared);
	memset(o, 0, sizeof(*o));
}

void
store_outbox_list_free(struct store_outbox **list, size_t count)
{
	size_t i;

	if (*list == NULL)
		return;
	for (i = 0; i < count; i++)
		store_outbox_free_contents(&(*list)[i]);
	free(*list);
	*list = NULL;
}

int
store_outbox_add(struct store *st, int64_t account_id, const char *queue_id,
                 const char *sender, const char *recipients,
                 const void *sealed_key, size_t sealed_key_len, int64_t now,
                 int64_t *id_r, const char **error_r)
{
	if (store_run(
	            st, error_r,
	            "INSERT INTO outbox(account, queue_id, sender, recipients,"
	            " sealed_key, created_at, next_at)"
	            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6)",
	            "itttbi", account_id, queue_id, sender, recipients,
	            sealed_key, sealed_key_len, now) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static void
store_outbox_read_row(sqlite3_stmt *stmt, struct store_outbox *o)
{
	o->id = sqlite3_column_int64(stmt, 0);
	o->account_id = sqlite3_column_int64(stmt, 1);
	o->queue_id = store_col_str(stmt, 2);
	o->sender = store_col_str(stmt, 3);
	o->recipients = store_col_str(stmt, 4);
	o->sealed_key = store_col_blob(stmt, 5, &o->sealed_key_len);
	o->size = (uint64_t)sqlite3_column_int64(stmt, 6);
	o->state = (enum store_outbox_state)sqlite3_column_int(stmt, 7);
	o->attempts = (uint32_t)sqlite3_column_int64(stmt, 8);
	o->next_at = sqlite3_column_int64(stmt, 9);
	o->last_error = store_col_str(stmt, 10);
	o->created_at = sqlite3_column_int64(stmt, 11);
	o->posted_at = sqlite3_column_int64(stmt, 12);
	o->msgid_hash = store_col_blob(stmt, 13, &o->msgid_hash_len);
	o->prepared = store_col_str(stmt, 14);
	o->prepared_at = sqlite3_column_int64(stmt, 15);
}

int
store_outbox_list_due(struct store *st, int64_t account_id, int64_t now,
                      struct store_outbox **list_r, size_t *count_r,
                      const char **error_r)
{
	struct store_outbox *list = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(
	            st, &stmt, error_r,
	            "SELECT id, account, queue_id, sender, recipients,"
	            " sealed_key, size, state, attempts, next_at, last_error,"
	            " created_at, posted_at, msgid_hash, prepared,"
	            " prepared_at"
	            " FROM outbox WHERE state = ? AND next_at <= ?"
	            " AND (? = 0 OR account = ?)"
	            " ORDER BY id",
	            "iiii", (int64_t)STORE_OUTBOX_QUEUED, now, account_id,
	            account_id) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 8;
			list = sb_reallocarray(list, alloc, sizeof(*list));
		}
		store_outbox_read_row(stmt, &list[count++]);
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		store_outbox_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

int
store_outbox_set_msgid(struct store *st, int64_t outbox_id, const void *hash,
                       size_t len, const char **error_r)
{
	return store_run(st, error_r,
	                 "UPDATE outbox SET msgid_hash = ? WHERE id = ?", "bi",
	                 hash, len, outbox_id);
}

/* sent_copy: 1 the submission files the Sent copy, 0 the client, 2 posting. */
int
store_outbox_client_files_sent(struct store *st, int64_t account_id,
                               const void *hash, size_t len,
                               enum store_sent_state *state_r,
                               const char **error_r)
{
	int64_t posting = 0;

	*state_r = STORE_SENT_NONE;
	if (store_run(st, error_r,
	              "UPDATE outbox SET sent_copy = 0"
	              " WHERE account = ? AND msgid_hash = ? AND state = ?"
	              " AND sent_copy = 1",
	              "ibi", account_id, hash, len,
	              (int64_t)STORE_OUTBOX_QUEUED) < 0)
		return -1;
	if (sqlite3_changes(st->db) > 0) {
		*state_r = STORE_SENT_CLIENT;
		return 0;
	}
	if (store_int(st, &posting, error_r,
	              "SELECT count(*) FROM outbox WHERE account = ?"
	              " AND msgid_hash = ? AND state = ? AND sent_copy = 2",
	              "ibi", account_id, hash, len,
	              (int64_t)STORE_OUTBOX_QUEUED) < 0)
		return -1;
	if (posting > 0)
		*state_r = STORE_SENT_POSTING;
	return 0;
}

int
store_outbox_begin_post(struct store *st, int64_t outbox_id, int64_t now,
                        int64_t *posted_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "UPDATE outbox SET sent_copy = CASE sent_copy"
	               " WHEN 1 THEN 2 ELSE sent_copy END,"
	               " posted_at = CASE posted_at WHEN 0 THEN ?2"
	               " ELSE posted_at END"
	               " WHERE id = ?1 AND state = ?3"
	               " RETURNING sent_copy, posted_at",
	               "iii", outbox_id, now, (int64_t)STORE_OUTBOX_QUEUED) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		ret = sqlite3_column_int(stmt, 0) != 0 ? 1 : 0;
		*posted_r = sqlite3_column_int64(stmt, 1);
	} else if (ret == 0) {
		ret = store_fail(st, error_r, "no queued outbox entry %lld",
		                 (long long)outbox_id);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_sent_log_add(struct store *st, int64_t account_id, const void *hash,
                   size_t len, const char *remote_id, int64_t now,
                   int64_t forget_before, const char **error_r)
{
	if (store_run(st, error_r, "DELETE FROM sent_log WHERE at < ?", "i",
	              forget_before) < 0)
		return -1;
	return store_run(st, error_r,
	                 "INSERT OR REPLACE INTO sent_log(account, msgid_hash,"
	                 " remote_id, at) VALUES(?, ?, ?, ?)",
	                 "ibti", account_id, hash, len, remote_id, now);
}

int
store_sent_log_find(struct store *st, int64_t account_id, const void *hash,
                    size_t len, char **remote_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT remote_id FROM sent_log"
	               " WHERE account = ? AND msgid_hash = ?",
	               "ib", account_id, hash, len) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		*remote_r = store_col_str(stmt, 0);
	sqlite3_finalize(stmt);
	return ret;
}

int
store_outbox_set_prepared(struct store *st, int64_t outbox_id,
                          const char *prepared, int64_t now,
                          const char **error_r)
{
	return store_run(st, error_r,
	                 "UPDATE outbox SET prepared = ?, prepared_at = ?"
	                 " WHERE id = ?",
	                 "tii", prepared, prepared != NULL ? now : 0,
	                 outbox_id);
}

int
store_outbox_next_at(struct store *st, int64_t account_id, int64_t *at_r,
                     const char **error_r)
{
	return store_int(st, at_r, error_r,
	                 "SELECT min(next_at) FROM outbox"
	                 " WHERE account = ? AND state = ?"
	                 " HAVING count(*) > 0",
	                 "ii", account_id, (int64_t)STORE_OUTBOX_QUEUED);
}

int
store_outbox_sent(struct store *st, int64_t outbox_id, const char **error_r)
{
	/* The body goes with it (ON DELETE CASCADE). */
	if (store_run(st, error_r, "DELETE FROM outbox WHERE id = ?", "i",
	              outbox_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no outbox entry %lld",
		                  (long long)outbox_id);
	return 0;
}

int
store_outbox_failed(struct store *st, int64_t outbox_id, int64_t now,
                    const char *error, bool permanent, const char **error_r)
{
	/* Only a QUEUED entry: a FAILED one never comes back. */
	if (store_run(st, error_r,
	              "UPDATE outbox SET attempts = attempts + 1,"
	              " next_at = " STORE_SQL_OUTBOX_NEXT_AT
	              ", last_error = ?3, state = ?4,"
	              " sent_copy = CASE sent_copy WHEN 2 THEN 1"
	              " ELSE sent_copy END WHERE id = ?1 AND state = ?5",
	              "iitii", outbox_id, now, error,
	              (int64_t)(permanent ? STORE_OUTBOX_FAILED
	                                  : STORE_OUTBOX_QUEUED),
	              (int64_t)STORE_OUTBOX_QUEUED) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no queued outbox entry %lld",
		                  (long long)outbox_id);
	return 0;
}

int
store_outbox_sweep_receiving(struct store *st, int64_t now, int64_t max_age,
                             uint64_t *removed_r, const char **error_r)
{
	/* Their pieces go with them (ON DELETE CASCADE). */
	if (store_run(st, error_r,
	              "DELETE FROM outbox WHERE state = ? AND created_at <= ?",
	              "ii", (int64_t)STORE_OUTBOX_RECEIVING, now - max_age) < 0)
		return -1;
	*removed_r = (uint64_t)sqlite3_changes64(st->db);
	return 0;
}

int
store_account_outbox_count(struct store *st, int64_t account_id,
                           uint64_t *count_r, const char **error_r)
{
	int64_t count = 0;

	if (store_int(st, &count, error_r,
	              "SELECT count(*) FROM outbox WHERE account = ?"
	              " AND state IN (?, ?)",
	              "iii", account_id, (int64_t)STORE_OUTBOX_RECEIVING,
	              (int64_t)STORE_OUTBOX_QUEUED) < 0)
		return -1;
	*count_r = (uint64_t)count;
	return 0;
}

int
store_outbox_count(struct store *st, int64_t account_id,
                   enum store_outbox_state state, uint64_t *count_r,
                   const char **error_r)
{
	int64_t count = 0;

	if (store_int(st, &count, error_r,
	              "SELECT count(*) FROM outbox"
	              " WHERE (?1 = 0 OR account = ?1) AND state = ?2",
	              "ii", account_id, (int64_t)state) < 0)
		return -1;
	*count_r = (uint64_t)count;
	return 0;
}
