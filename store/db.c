/*
 * Connections: opening, SQL helpers, errors, transactions and the
 * bookkeeping of changed mailboxes that commits turn into notifications.
 */
#include "store-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

int
store_fail(struct store *st, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->error, sizeof(st->error), fmt, ap);
	va_end(ap);
	*error_r = st->error;
	return -1;
}

int
store_fail_db(struct store *st, const char **error_r, const char *what)
{
	return store_fail(st, error_r, "%s: %s", what, sqlite3_errmsg(st->db));
}

static int SB_WUR
store_bindv(struct store *st, sqlite3_stmt *stmt, const char *types, va_list ap,
            const char **error_r)
{
	int i, rc = SQLITE_OK;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		const char *s;
		const void *p;
		size_t len;

		switch (types[i]) {
		case 'i':
			rc = sqlite3_bind_int64(stmt, i + 1,
			                        va_arg(ap, int64_t));
			break;
		case 't':
			s = va_arg(ap, const char *);
			rc = s == NULL ? sqlite3_bind_null(stmt, i + 1)
			               : sqlite3_bind_text(stmt, i + 1, s, -1,
			                                   SQLITE_TRANSIENT);
			break;
		case 'b':
			p = va_arg(ap, const void *);
			len = va_arg(ap, size_t);
			rc = p == NULL
			             ? sqlite3_bind_null(stmt, i + 1)
			             : sqlite3_bind_blob64(stmt, i + 1, p, len,
			                                   SQLITE_TRANSIENT);
			break;
		default:
			/* A type letter this file does not know: a bug. */
			abort();
		}
	}
	if (rc != SQLITE_OK)
		return store_fail_db(st, error_r, "cannot bind a value");
	return 0;
}

/*
 * Whether a statement other than `self` is open: a read whose callback is
 * running (every function finalizes its statements before it returns).
 * Its snapshot may be older than the file, so a write could not get the
 * lock ("database is locked") depending on timing; such writes are
 * refused at once instead.
 */
static bool
store_reading(struct store *st, sqlite3_stmt *self)
{
	sqlite3_stmt *s;

	for (s = sqlite3_next_stmt(st->db, NULL); s != NULL;
	     s = sqlite3_next_stmt(st->db, s)) {
		if (s != self)
			return true;
	}
	return false;
}

static int
store_fail_callback(struct store *st, const char **error_r)
{
	return store_fail(st, error_r,
	                  "no writes on a connection from inside its read "
	                  "callback: collect the ids first, or read inside "
	                  "store_begin()");
}

static int SB_WUR
store_stmtv(struct store *st, sqlite3_stmt **stmt_r, const char **error_r,
            const char *sql, const char *types, va_list ap)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return store_fail_db(st, error_r, "cannot prepare a query");
	if (st->depth == 0 && !sqlite3_stmt_readonly(stmt) &&
	    store_reading(st, stmt)) {
		sqlite3_finalize(stmt);
		return store_fail_callback(st, error_r);
	}
	if (store_bindv(st, stmt, types, ap, error_r) < 0) {
		sqlite3_finalize(stmt);
		return -1;
	}
	*stmt_r = stmt;
	return 0;
}

int
store_stmt(struct store *st, sqlite3_stmt **stmt_r, const char **error_r,
           const char *sql, const char *types, ...)
{
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_stmtv(st, stmt_r, error_r, sql, types, ap);
	va_end(ap);
	return ret;
}

int
store_step(struct store *st, sqlite3_stmt *stmt, const char **error_r)
{
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		return 0;
	case SQLITE_CONSTRAINT:
		return store_fail_db(st, error_r, "refused by the replica");
	default:
		return store_fail_db(st, error_r, "replica query failed");
	}
}

int
store_run(struct store *st, const char **error_r, const char *sql,
          const char *types, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_stmtv(st, &stmt, error_r, sql, types, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0)
		;
	sqlite3_finalize(stmt);
	return ret;
}

int
store_int(struct store *st, int64_t *value_r, const char **error_r,
          const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_stmtv(st, &stmt, error_r, sql, types, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		*value_r = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return ret;
}

int
store_ids(struct store *st, int64_t **ids_r, size_t *count_r,
          const char **error_r, const char *sql, const char *types, ...)
{
	sqlite3_stmt *stmt;
	int64_t *ids = NULL;
	size_t count = 0, alloc = 0;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = store_stmtv(st, &stmt, error_r, sql, types, ap);
	va_end(ap);
	if (ret < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 16;
			ids = sb_reallocarray(ids, alloc, sizeof(*ids));
		}
		ids[count++] = sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		free(ids);
		return -1;
	}
	*ids_r = ids;
	*count_r = count;
	return 0;
}

int
store_exec(struct store *st, const char *sql, const char **error_r)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		store_fail(st, error_r, "replica: %s",
		           msg != NULL ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

char *
store_col_str(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	if (s == NULL)
		return NULL;
	return sb_memdupz(s, (size_t)sqlite3_column_bytes(stmt, col));
}

void *
store_col_blob(sqlite3_stmt *stmt, int col, size_t *len_r)
{
	const void *p = sqlite3_column_blob(stmt, col);
	size_t len = (size_t)sqlite3_column_bytes(stmt, col);

	*len_r = len;
	if (p == NULL)
		return NULL;
	return sb_memdup(p, len);
}

/* ---- Opening ---- */

static int SB_WUR
store_setup(struct store *st, const char *path, const char **error_r)
{
	sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(st->db, 0);
	/*
	 * The version check comes before anything that writes (switching
	 * to WAL does), so that a newer file is left untouched. A file
	 * already in WAL mode would still be checkpointed when the refused
	 * connection closes: store_migrate turns that back on only once
	 * the version is known to be ours.
	 */
	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
	                      NULL) != SQLITE_OK)
		return store_fail_db(st, error_r,
		                     "cannot configure the replica");
	if (store_migrate(st, path, error_r) < 0)
		return -1;
	return store_exec(st,
	                  "PRAGMA synchronous=FULL;"
	                  "PRAGMA foreign_keys=ON;"
	                  "PRAGMA temp_store=MEMORY;",
	                  error_r);
}

int
store_open(const char *path, struct store_hub *hub, struct store **st_r,
           const char **error_r)
{
	static _Thread_local char open_error[512];
	struct store *st = sb_calloc(1, sizeof(*st));

	st->hub = hub;
	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                            SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		store_fail(st, error_r, "cannot open the replica %s: %s", path,
		           st->db != NULL ? sqlite3_errmsg(st->db)
		                          : "out of memory");
	} else if (store_setup(st, path, error_r) == 0) {
		*st_r = st;
		return 0;
	}
	/* The message outlives the connection it came from. */
	snprintf(open_error, sizeof(open_error), "%s", *error_r);
	*error_r = open_error;
	store_close(&st);
	return -1;
}

int
store_open_readonly(const char *path, struct store **st_r, const char **error_r)
{
	static _Thread_local char open_error[512];
	struct store *st = sb_calloc(1, sizeof(*st));

	if (sqlite3_open_v2(path, &st->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		store_fail(st, error_r, "cannot open the replica %s: %s", path,
		           st->db != NULL ? sqlite3_errmsg(st->db)
		                          : "out of memory");
	} else {
		sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
		sqlite3_extended_result_codes(st->db, 0);
		if (store_check_version(st, path, error_r) == 0 &&
		    store_exec(st, "PRAGMA query_only=ON;", error_r) == 0) {
			*st_r = st;
			return 0;
		}
	}
	snprintf(open_error, sizeof(open_error), "%s", *error_r);
	*error_r = open_error;
	store_close(&st);
	return -1;
}

void
store_close(struct store **stp)
{
	struct store *st = *stp;

	if (st == NULL)
		return;
	if (st->depth > 0)
		store_rollback(st);
	/* Every statement is finalized by the function that made it. */
	if (sqlite3_close(st->db) != SQLITE_OK)
		abort();
	free(st->changed);
	free(st);
	*stp = NULL;
}

/* Appends each row's first column (the integrity check's lines). */
static int SB_WUR
store_check_lines(struct store *st, struct sb_buf *out, const char *sql,
                  const char *prefix, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r, sql, "") < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		const char *line = (const char *)sqlite3_column_text(stmt, 0);

		if ((out->len > 0 && sb_buf_add_char(out, '\n') < 0) ||
		    sb_buf_add_str(out, prefix) < 0 ||
		    sb_buf_add_str(out, line != NULL ? line : "") < 0) {
			ret = 0; /* long enough to tell what is wrong */
			break;
		}
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_integrity_check(struct store *st, char **result_r, const char **error_r)
{
	struct sb_buf out;

	sb_buf_init(&out, 64 * 1024);
	if (store_check_lines(st, &out, "PRAGMA integrity_check", "", error_r) <
	    0) {
		sb_buf_free(&out);
		return -1;
	}
	if (strcmp(sb_buf_str(&out), "ok") == 0)
		sb_buf_truncate(&out, 0);
	/* Rows whose parent is missing, one line each. */
	if (store_check_lines(st, &out,
	                      "SELECT format('%s row %d has no %s', \"table\","
	                      " rowid, parent) FROM pragma_foreign_key_check",
	                      "foreign key: ", error_r) < 0) {
		sb_buf_free(&out);
		return -1;
	}
	if (out.len == 0 && sb_buf_add_str(&out, "ok") < 0)
		abort(); /* within the maximum */
	*result_r = sb_buf_take(&out, NULL);
	return 0;
}

/* ---- Transactions ---- */

void
store_changed(struct store *st, int64_t mailbox_id)
{
	size_t i;

	for (i = 0; i < st->changed_count; i++) {
		if (st->changed[i] == mailbox_id)
			return;
	}
	if (st->changed_count == st->changed_alloc) {
		st->changed_alloc = st->changed_alloc * 2 + 8;
		st->changed = sb_reallocarray(st->changed, st->changed_alloc,
		                              sizeof(*st->changed));
	}
	st->changed[st->changed_count++] = mailbox_id;
}

int
store_begin(struct store *st, const char **error_r)
{
	if (st->depth > 0)
		return store_fail(st, error_r, "a transaction is already open");
	if (store_reading(st, NULL))
		return store_fail_callback(st, error_r);
	if (store_exec(st, "BEGIN IMMEDIATE", error_r) < 0)
		return -1;
	st->depth = 1;
	st->changed_count = 0;
	return 0;
}

int
store_commit(struct store *st, const char **error_r)
{
	if (st->depth != 1)
		return store_fail(st, error_r, "no transaction to commit");
	if (store_exec(st, "COMMIT", error_r) < 0) {
		store_rollback(st);
		return -1;
	}
	st->depth = 0;
	if (st->hub != NULL && st->changed_count > 0)
		store_hub_notify(st->hub, st->changed, st->changed_count);
	st->changed_count = 0;
	return 0;
}

void
store_rollback(struct store *st)
{
	/* Fails only when SQLite rolled back already (after an error). */
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->depth = 0;
	st->changed_count = 0;
}

int
store_tx_start(struct store *st, size_t *mark_r, const char **error_r)
{
	*mark_r = st->changed_count;
	if (st->depth == 0)
		return store_begin(st, error_r);
	if (store_exec(st, "SAVEPOINT store_op", error_r) < 0)
		return -1;
	st->depth++;
	return 0;
}

int
store_tx_end(struct store *st, size_t mark, int ret, const char **error_r)
{
	const char *ignored;

	if (st->depth == 1) {
		if (ret == 0)
			return store_commit(st, error_r);
		store_rollback(st);
		return ret;
	}
	st->depth--;
	if (ret == 0)
		return store_exec(st, "RELEASE store_op", error_r);
	/* Undo this operation only; the caller's transaction goes on. */
	if (store_exec(st, "ROLLBACK TO store_op; RELEASE store_op", &ignored) <
	    0) {
		/* SQLite ended the whole transaction (a full disk, say). */
		store_rollback(st);
	}
	st->changed_count = mark;
	return ret;
}
