/* Accounts, the sync engine's named values, and the resync helper. */
#include "store-private.h"

#include <stdlib.h>

#include "common/alloc.h"

void
store_account_free_contents(struct store_account *a)
{
	free(a->api_id);
	free(a->email);
	free(a->feed_state);
	a->api_id = a->email = a->feed_state = NULL;
}

static char *
store_lower(const char *s)
{
	char *copy = sb_strdup(s), *p;

	for (p = copy; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return copy;
}

int
store_account_add(struct store *st, const char *api_id, const char *email,
                  int64_t *id_r, const char **error_r)
{
	char *lower = store_lower(email);
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0) {
		free(lower);
		return -1;
	}
	ret = store_run(st, error_r,
	                "INSERT INTO accounts(api_id, email) VALUES(?, ?)",
	                "tt", api_id, lower);
	if (ret < 0 && sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
		ret = store_fail(st, error_r, "the account %s is already there",
		                 lower);
	if (ret == 0) {
		*id_r = sqlite3_last_insert_rowid(st->db);
		ret = store_all_mail_create(st, *id_r, error_r);
	}
	free(lower);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_account_remove(struct store *st, int64_t account_id, const char **error_r)
{
	int64_t *ids = NULL;
	size_t mark, count = 0, i;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	/* Sessions watching the account's mailboxes learn they are gone. */
	ret = store_ids(st, &ids, &count, error_r,
	                "SELECT id FROM mailboxes WHERE account = ?", "i",
	                account_id);
	for (i = 0; i < count; i++)
		store_changed(st, ids[i]);
	free(ids);
	if (ret == 0) {
		ret = store_run(st, error_r,
		                "DELETE FROM accounts WHERE id = ?", "i",
		                account_id);
	}
	return store_tx_end(st, mark, ret, error_r);
}

static int SB_WUR
store_account_find(struct store *st, const char *sql, const char *key,
                   struct store_account *a_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r, sql, "t", key) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		a_r->id = sqlite3_column_int64(stmt, 0);
		a_r->api_id = store_col_str(stmt, 1);
		a_r->email = store_col_str(stmt, 2);
		a_r->feed_state = store_col_str(stmt, 3);
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_account_find_email(struct store *st, const char *email,
                         struct store_account *a_r, const char **error_r)
{
	char *lower = store_lower(email);
	int ret;

	ret = store_account_find(st,
	                         "SELECT id, api_id, email, feed_state"
	                         " FROM accounts WHERE email = ?",
	                         lower, a_r, error_r);
	free(lower);
	return ret;
}

int
store_account_find_api_id(struct store *st, const char *api_id,
                          struct store_account *a_r, const char **error_r)
{
	return store_account_find(st,
	                          "SELECT id, api_id, email, feed_state"
	                          " FROM accounts WHERE api_id = ?",
	                          api_id, a_r, error_r);
}

void
store_account_list_free(struct store_account **list, size_t count)
{
	size_t i;

	if (*list == NULL)
		return;
	for (i = 0; i < count; i++)
		store_account_free_contents(&(*list)[i]);
	free(*list);
	*list = NULL;
}

int
store_account_list(struct store *st, struct store_account **list_r,
                   size_t *count_r, const char **error_r)
{
	struct store_account *list = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *stmt;
	int ret;

	*list_r = NULL;
	*count_r = 0;
	if (store_stmt(st, &stmt, error_r,
	               "SELECT id, api_id, email, feed_state FROM accounts"
	               " ORDER BY email",
	               "") < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 4;
			list = sb_reallocarray(list, alloc, sizeof(*list));
		}
		list[count].id = sqlite3_column_int64(stmt, 0);
		list[count].api_id = store_col_str(stmt, 1);
		list[count].email = store_col_str(stmt, 2);
		list[count].feed_state = store_col_str(stmt, 3);
		count++;
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		store_account_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

int
store_account_message_count(struct store *st, int64_t account_id,
                            uint64_t *messages_r, uint64_t *bodies_r,
                            const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	*messages_r = *bodies_r = 0;
	if (store_stmt(st, &stmt, error_r,
	               "SELECT count(*), ifnull(sum(body_cached != 0), 0)"
	               " FROM messages WHERE account = ?"
	               " AND remote_id IS NOT NULL",
	               "i", account_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		*messages_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*bodies_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
}

int
store_account_set_feed_state(struct store *st, int64_t account_id,
                             const char *state, const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE accounts SET feed_state = ? WHERE id = ?", "ti",
	              state, account_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no account %lld",
		                  (long long)account_id);
	return 0;
}

int
store_sync_set(struct store *st, int64_t account_id, const char *name,
               const char *value, const char **error_r)
{
	return store_run(
	        st, error_r,
	        "INSERT OR REPLACE INTO sync_state(account, name, value)"
	        " VALUES(?, ?, ?)",
	        "itt", account_id, name, value);
}

int
store_sync_get(struct store *st, int64_t account_id, const char *name,
               char **value_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT value FROM sync_state"
	               " WHERE account = ? AND name = ?",
	               "it", account_id, name) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		*value_r = store_col_str(stmt, 0);
	sqlite3_finalize(stmt);
	return ret;
}

int
store_sync_unset(struct store *st, int64_t account_id, const char *name,
                 const char **error_r)
{
	return store_run(
	        st, error_r,
	        "DELETE FROM sync_state WHERE account = ? AND name = ?", "it",
	        account_id, name);
}

/* ---- Resync ---- */

static int SB_WUR
store_resync_start(struct store *st, int64_t account_id, const char **error_r)
{
	int64_t found;
	int ret;

	ret = store_int(st, &found, error_r,
	                "SELECT 1 FROM accounts WHERE id = ?", "i", account_id);
	if (ret == 0)
		return store_fail(st, error_r, "no account %lld",
		                  (long long)account_id);
	if (ret < 0 ||
	    store_run(st, error_r, "DELETE FROM resync_keep WHERE account = ?",
	              "i", account_id) < 0 ||
	    store_run(st, error_r, "DELETE FROM resync_scope WHERE account = ?",
	              "i", account_id) < 0)
		return -1;
	/* Only these may be deleted: the listing may predate the others. */
	return store_run(st, error_r,
	                 "INSERT INTO resync_scope(message, account)"
	                 " SELECT id, account FROM messages"
	                 " WHERE account = ? AND remote_id IS NOT NULL",
	                 "i", account_id);
}

int
store_resync_begin(struct store *st, int64_t account_id, const char **error_r)
{
	size_t mark;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	return store_tx_end(
	        st, mark, store_resync_start(st, account_id, error_r), error_r);
}

int
store_resync_keep(struct store *st, int64_t account_id, const char *remote_id,
                  const char **error_r)
{
	return store_run(st, error_r,
	                 "INSERT OR IGNORE INTO resync_keep(account, remote_id)"
	                 " VALUES(?, ?)",
	                 "it", account_id, remote_id);
}

int
store_resync_finish(struct store *st, int64_t account_id, size_t *removed_r,
                    const char **error_r)
{
	int64_t *ids = NULL;
	size_t mark, count = 0, i;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_ids(st, &ids, &count, error_r,
	                "SELECT s.message FROM resync_scope s"
	                " JOIN messages m ON m.id = s.message"
	                " WHERE s.account = ?1 AND NOT EXISTS"
	                " (SELECT 1 FROM resync_keep k"
	                "  WHERE k.account = ?1 AND k.remote_id = m.remote_id)",
	                "i", account_id);
	for (i = 0; ret == 0 && i < count; i++)
		ret = store_message_delete(st, ids[i], error_r);
	free(ids);
	if (ret == 0)
		ret = store_run(st, error_r,
		                "DELETE FROM resync_keep WHERE account = ?",
		                "i", account_id);
	if (ret == 0)
		ret = store_run(st, error_r,
		                "DELETE FROM resync_scope WHERE account = ?",
		                "i", account_id);
	*removed_r = ret == 0 ? count : 0;
	return store_tx_end(st, mark, ret, error_r);
}
