/*
 * Mailboxes: the hierarchy, UIDVALIDITY, and lookups. A mailbox's name is
 * one level; its path joins the names of its parents with '/'.
 */
#include "store-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"

#define STORE_MAILBOX_MAX_NAME 255

_Static_assert(STORE_MAILBOX_MAX_DEPTH == 64,
               "the queries below spell out the depth limit");

/*
 * The account's mailboxes with their paths (?1 is the account), followed
 * by a WHERE on m and tree.
 */
#define STORE_MAILBOX_SELECT                                       \
	"WITH RECURSIVE tree(id, path, depth) AS ("                \
	" SELECT id, name, 0 FROM mailboxes"                       \
	"  WHERE account = ?1 AND parent IS NULL"                  \
	" UNION ALL"                                               \
	" SELECT m.id, tree.path || '/' || m.name, tree.depth + 1" \
	"  FROM mailboxes m JOIN tree ON m.parent = tree.id"       \
	"  WHERE tree.depth < 63)"                                 \
	" SELECT m.id, m.account, m.remote_id, m.name, tree.path," \
	" ifnull(m.parent, 0), m.role, m.uidvalidity, m.uidnext,"  \
	" m.highestmodseq, m.subscribed"                           \
	" FROM tree JOIN mailboxes m ON m.id = tree.id "

void
store_mailbox_free_contents(struct store_mailbox *mb)
{
	free(mb->remote_id);
	free(mb->name);
	free(mb->path);
	free(mb->role);
	memset(mb, 0, sizeof(*mb));
}

void
store_mailbox_list_free(struct store_mailbox **list, size_t count)
{
	size_t i;

	if (*list == NULL)
		return;
	for (i = 0; i < count; i++)
		store_mailbox_free_contents(&(*list)[i]);
	free(*list);
	*list = NULL;
}

static void
store_mailbox_read(sqlite3_stmt *stmt, struct store_mailbox *mb)
{
	mb->id = sqlite3_column_int64(stmt, 0);
	mb->account_id = sqlite3_column_int64(stmt, 1);
	mb->remote_id = store_col_str(stmt, 2);
	mb->name = store_col_str(stmt, 3);
	mb->path = store_col_str(stmt, 4);
	mb->parent_id = sqlite3_column_int64(stmt, 5);
	mb->role = store_col_str(stmt, 6);
	mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 7);
	mb->uidnext = (uint64_t)sqlite3_column_int64(stmt, 8);
	mb->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 9);
	mb->subscribed = sqlite3_column_int(stmt, 10) != 0;
}

/*
 * Runs a STORE_MAILBOX_SELECT for at most one mailbox: 1 / 0 / -1. ?2 is
 * key, or the integer ikey when key is NULL.
 */
static int SB_WUR
store_mailbox_find(struct store *st, int64_t account_id, const char *where,
                   const char *key, int64_t ikey, struct store_mailbox *mb_r,
                   const char **error_r)
{
	char sql[1024];
	sqlite3_stmt *stmt;
	int ret;

	snprintf(sql, sizeof(sql), "%s%s", STORE_MAILBOX_SELECT, where);
	ret = key != NULL ? store_stmt(st, &stmt, error_r, sql, "it",
	                               account_id, key)
	                  : store_stmt(st, &stmt, error_r, sql, "ii",
	                               account_id, ikey);
	if (ret < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		store_mailbox_read(stmt, mb_r);
	sqlite3_finalize(stmt);
	return ret;
}

int
store_mailbox_find_path(struct store *st, int64_t account_id, const char *path,
                        struct store_mailbox *mb_r, const char **error_r)
{
	return store_mailbox_find(st, account_id, "WHERE tree.path = ?2", path,
	                          0, mb_r, error_r);
}

int
store_mailbox_find_role(struct store *st, int64_t account_id, const char *role,
                        struct store_mailbox *mb_r, const char **error_r)
{
	return store_mailbox_find(st, account_id, "WHERE m.role = ?2", role, 0,
	                          mb_r, error_r);
}

int
store_mailbox_find_remote(struct store *st, int64_t account_id,
                          const char *remote_id, struct store_mailbox *mb_r,
                          const char **error_r)
{
	return store_mailbox_find(st, account_id, "WHERE m.remote_id = ?2",
	                          remote_id, 0, mb_r, error_r);
}

int
store_mailbox_get(struct store *st, int64_t mailbox_id,
                  struct store_mailbox *mb_r, const char **error_r)
{
	int64_t account_id;
	int ret;

	ret = store_int(st, &account_id, error_r,
	                "SELECT account FROM mailboxes WHERE id = ?", "i",
	                mailbox_id);
	if (ret <= 0)
		return ret;
	return store_mailbox_find(st, account_id, "WHERE m.id = ?2", NULL,
	                          mailbox_id, mb_r, error_r);
}

int
store_mailbox_list(struct store *st, int64_t account_id,
                   struct store_mailbox **list_r, size_t *count_r,
                   const char **error_r)
{
	struct store_mailbox *list = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               STORE_MAILBOX_SELECT "ORDER BY tree.path", "i",
	               account_id) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 8;
			list = sb_reallocarray(list, alloc, sizeof(*list));
		}
		store_mailbox_read(stmt, &list[count++]);
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		store_mailbox_list_free(&list, count);
		return -1;
	}
	*list_r = list;
	*count_r = count;
	return 0;
}

int
store_mailbox_status(struct store *st, int64_t mailbox_id,
                     struct store_mailbox_status *status_r,
                     const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT uidvalidity, uidnext, highestmodseq, "
	               "expunged_floor,"
	               " (SELECT count(*) FROM mailbox_messages e"
	               "  WHERE e.mailbox = b.id),"
	               " (SELECT count(*) FROM mailbox_messages e"
	               "  JOIN messages m ON m.id = e.message"
	               "  WHERE e.mailbox = b.id"
	               "  AND instr(' ' || m.keywords || ' ', ' $seen ') = 0),"
	               " (SELECT count(*) FROM mailbox_messages e"
	               "  WHERE e.mailbox = b.id AND e.deleted)"
	               " FROM mailboxes b WHERE b.id = ?",
	               "i", mailbox_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		status_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 0);
		status_r->uidnext = (uint64_t)sqlite3_column_int64(stmt, 1);
		status_r->highestmodseq =
		        (uint64_t)sqlite3_column_int64(stmt, 2);
		status_r->expunged_floor =
		        (uint64_t)sqlite3_column_int64(stmt, 3);
		status_r->messages = (uint32_t)sqlite3_column_int64(stmt, 4);
		status_r->unseen = (uint32_t)sqlite3_column_int64(stmt, 5);
		status_r->deleted = (uint32_t)sqlite3_column_int64(stmt, 6);
	} else if (ret == 0) {
		ret = store_fail(st, error_r, "no mailbox %lld",
		                 (long long)mailbox_id);
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
}

/* ---- Changes ---- */

static int SB_WUR
store_mailbox_check_name(struct store *st, const char *name,
                         const char **error_r)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > STORE_MAILBOX_MAX_NAME)
		return store_fail(st, error_r,
		                  "a mailbox name has 1 to %d bytes",
		                  STORE_MAILBOX_MAX_NAME);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == STORE_MAILBOX_SEP)
			return store_fail(st, error_r,
			                  "a mailbox name has no control "
			                  "characters and no '%c'",
			                  STORE_MAILBOX_SEP);
	}
	return 0;
}

/*
 * A new UIDVALIDITY, never given before by this replica: the clock's
 * seconds, or one more than the last one when that is later. Seeding from
 * the clock keeps values apart from those of an older replica file that
 * was deleted, whose UIDs clients may still cache.
 */
static int SB_WUR
store_next_uidvalidity(struct store *st, uint32_t *value_r,
                       const char **error_r)
{
	int64_t last = 0, now = (int64_t)time(NULL), next;

	if (store_int(st, &last, error_r,
	              "SELECT value FROM meta WHERE name = 'uidvalidity'",
	              "") < 0)
		return -1;
	next = now > last ? now : last + 1;
	if (next < 1 || next > UINT32_MAX)
		return store_fail(st, error_r, "no UIDVALIDITY left");
	if (store_run(st, error_r,
	              "INSERT OR REPLACE INTO meta(name, value)"
	              " VALUES('uidvalidity', ?)",
	              "i", next) < 0)
		return -1;
	*value_r = (uint32_t)next;
	return 0;
}

/* After a failed write: a refusal put in words a person can read. */
static void
store_mailbox_constraint(struct store *st, const char *name,
                         const char **error_r)
{
	const char *msg = sqlite3_errmsg(st->db);

	if (sqlite3_errcode(st->db) != SQLITE_CONSTRAINT)
		return;
	if (strstr(msg, "mailboxes.role") != NULL)
		store_fail(st, error_r, "another mailbox has that role");
	else if (strstr(msg, "FOREIGN KEY") != NULL)
		store_fail(st, error_r, "no such parent mailbox");
	else
		store_fail(st, error_r, "a mailbox named \"%s\" exists there",
		           name);
}

/*
 * Whether mailbox_id (0: a new one) of the account may go under parent_id
 * (0: the top): a mailbox of the same account, not the mailbox itself or
 * one below it, and the moved subtree stays within
 * STORE_MAILBOX_MAX_DEPTH levels.
 */
static int SB_WUR
store_mailbox_check_parent(struct store *st, int64_t account_id,
                           int64_t mailbox_id, int64_t parent_id,
                           const char **error_r)
{
	int64_t parent_account = 0, loop = 0, level = 0, height = 1;
	int ret;

	if (parent_id != 0) {
		ret = store_int(st, &parent_account, error_r,
		                "SELECT account FROM mailboxes WHERE id = ?",
		                "i", parent_id);
		if (ret < 0)
			return -1;
		if (ret == 0 || parent_account != account_id)
			return store_fail(st, error_r,
			                  "no such parent mailbox");
		ret = store_all_mail_is(st, parent_id, error_r);
		if (ret != 0)
			return ret < 0 ? -1
			               : store_fail(st, error_r,
			                            "All Mail has no mailboxes "
			                            "inside it");
		/* The parent's level, and whether the mailbox is above it. */
		if (store_int(st, &level, error_r,
		              "WITH RECURSIVE up(id, n) AS ("
		              " SELECT ?1, 1 UNION ALL"
		              " SELECT m.parent, up.n + 1 FROM mailboxes m"
		              "  JOIN up ON m.id = up.id"
		              "  WHERE m.parent IS NOT NULL AND up.n <= 64)"
		              " SELECT max(n) FROM up",
		              "i", parent_id) < 0 ||
		    (mailbox_id != 0 &&
		     store_int(st, &loop, error_r,
		               "WITH RECURSIVE up(id, n) AS ("
		               " SELECT ?1, 1 UNION ALL"
		               " SELECT m.parent, up.n + 1 FROM mailboxes m"
		               "  JOIN up ON m.id = up.id"
		               "  WHERE m.parent IS NOT NULL AND up.n <= 64)"
		               " SELECT count(*) FROM up WHERE id = ?2",
		               "ii", parent_id, mailbox_id) < 0))
			return -1;
		if (loop != 0)
			return store_fail(st, error_r,
			                  "a mailbox cannot move into itself");
	}
	/* The levels of the subtree that moves: 1 for a leaf. */
	if (mailbox_id != 0 &&
	    store_int(st, &height, error_r,
	              "WITH RECURSIVE down(id, n) AS ("
	              " SELECT ?1, 1 UNION ALL"
	              " SELECT m.id, down.n + 1 FROM mailboxes m"
	              "  JOIN down ON m.parent = down.id WHERE down.n <= 64)"
	              " SELECT max(n) FROM down",
	              "i", mailbox_id) < 0)
		return -1;
	if (level + height > STORE_MAILBOX_MAX_DEPTH)
		return store_fail(st, error_r,
		                  "mailboxes nest at most %d levels deep",
		                  STORE_MAILBOX_MAX_DEPTH);
	return 0;
}

/* Records a change of the mailbox and of every one below it. */
static int SB_WUR
store_mailbox_changed_tree(struct store *st, int64_t mailbox_id,
                           const char **error_r)
{
	int64_t *ids = NULL;
	size_t count = 0, i;

	if (store_ids(st, &ids, &count, error_r,
	              "WITH RECURSIVE down(id, n) AS ("
	              " SELECT ?1, 1 UNION ALL"
	              " SELECT m.id, down.n + 1 FROM mailboxes m"
	              "  JOIN down ON m.parent = down.id WHERE down.n <= 64)"
	              " SELECT id FROM down",
	              "i", mailbox_id) < 0)
		return -1;
	for (i = 0; i < count; i++)
		store_changed(st, ids[i]);
	free(ids);
	return 0;
}

int
store_mailbox_insert(struct store *st, int64_t account_id, int64_t parent_id,
                     const char *name, const char *remote_id, const char *role,
                     int64_t *id_r, const char **error_r)
{
	uint32_t uidvalidity = 0;

	if (store_mailbox_check_name(st, name, error_r) < 0 ||
	    store_mailbox_check_parent(st, account_id, 0, parent_id, error_r) <
	            0)
		return -1;
	if (store_next_uidvalidity(st, &uidvalidity, error_r) < 0)
		return -1;
	if (store_run(st, error_r,
	              "INSERT INTO mailboxes(account, remote_id, name, parent,"
	              " role, uidvalidity) VALUES(?, ?, ?, nullif(?, 0), ?, ?)",
	              "ittiti", account_id, remote_id, name, parent_id, role,
	              (int64_t)uidvalidity) < 0) {
		store_mailbox_constraint(st, name, error_r);
		return -1;
	}
	*id_r = sqlite3_last_insert_rowid(st->db);
	store_changed(st, *id_r);
	return 0;
}

int
store_mailbox_create(struct store *st, int64_t account_id, int64_t parent_id,
                     const char *name, int64_t *id_r, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_mailbox_insert(st, account_id, parent_id, name, NULL, NULL,
	                           id_r, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

static int store_mailbox_do_delete(struct store *st, int64_t mailbox_id,
                                   const char **error_r) SB_WUR;

static int SB_WUR
store_mailbox_upsert(struct store *st, int64_t account_id,
                     const char *remote_id, const char *name,
                     const char *parent_remote_id, const char *role,
                     int64_t *id_r, const char **error_r)
{
	int64_t parent_id = 0, all;
	int ret;

	if (parent_remote_id != NULL &&
	    store_int(st, &parent_id, error_r,
	              "SELECT id FROM mailboxes"
	              " WHERE account = ? AND remote_id = ?",
	              "it", account_id, parent_remote_id) <= 0)
		return store_fail(st, error_r,
		                  "parent mailbox %s not known yet",
		                  parent_remote_id);
	/* The user's mailbox named All Mail wins over the replica's own. */
	if (parent_id == 0 && strcmp(name, STORE_ALL_MAIL_NAME) == 0) {
		ret = store_all_mail_of(st, account_id, &all, error_r);
		if (ret < 0 ||
		    (ret > 0 && store_mailbox_do_delete(st, all, error_r) < 0))
			return -1;
	}
	ret = store_int(st, id_r, error_r,
	                "SELECT id FROM mailboxes"
	                " WHERE account = ? AND remote_id = ?",
	                "it", account_id, remote_id);
	if (ret < 0)
		return -1;
	if (ret == 0)
		return store_mailbox_insert(st, account_id, parent_id, name,
		                            remote_id, role, id_r, error_r);
	if (store_mailbox_check_name(st, name, error_r) < 0 ||
	    store_mailbox_check_parent(st, account_id, *id_r, parent_id,
	                               error_r) < 0)
		return -1;
	if (store_run(st, error_r,
	              "UPDATE mailboxes SET name = ?, parent = nullif(?, 0),"
	              " role = ? WHERE id = ?",
	              "titi", name, parent_id, role, *id_r) < 0) {
		store_mailbox_constraint(st, name, error_r);
		return -1;
	}
	return store_mailbox_changed_tree(st, *id_r, error_r);
}

int
store_mailbox_upsert_remote(struct store *st, int64_t account_id,
                            const char *remote_id, const char *name,
                            const char *parent_remote_id, const char *role,
                            int64_t *id_r, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_mailbox_upsert(st, account_id, remote_id, name,
	                           parent_remote_id, role, id_r, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_mailbox_set_remote_id(struct store *st, int64_t mailbox_id,
                            const char *remote_id, const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE mailboxes SET remote_id = ? WHERE id = ?", "ti",
	              remote_id, mailbox_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no mailbox %lld",
		                  (long long)mailbox_id);
	return 0;
}

static int SB_WUR
store_mailbox_do_rename(struct store *st, int64_t mailbox_id,
                        int64_t new_parent_id, const char *new_name,
                        const char **error_r)
{
	int64_t account_id;
	int ret;

	if (store_mailbox_check_name(st, new_name, error_r) < 0)
		return -1;
	ret = store_int(st, &account_id, error_r,
	                "SELECT account FROM mailboxes WHERE id = ?", "i",
	                mailbox_id);
	if (ret == 0)
		return store_fail(st, error_r, "no mailbox %lld",
		                  (long long)mailbox_id);
	if (ret < 0 || store_mailbox_check_parent(st, account_id, mailbox_id,
	                                          new_parent_id, error_r) < 0)
		return -1;
	if (store_run(st, error_r,
	              "UPDATE mailboxes SET name = ?, parent = nullif(?, 0)"
	              " WHERE id = ?",
	              "tii", new_name, new_parent_id, mailbox_id) < 0) {
		store_mailbox_constraint(st, new_name, error_r);
		return -1;
	}
	/* The paths below it changed too. */
	return store_mailbox_changed_tree(st, mailbox_id, error_r);
}

int
store_mailbox_rename(struct store *st, int64_t mailbox_id,
                     int64_t new_parent_id, const char *new_name,
                     const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_mailbox_do_rename(st, mailbox_id, new_parent_id, new_name,
	                              error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_mailbox_set_subscribed(struct store *st, int64_t mailbox_id,
                             bool subscribed, const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE mailboxes SET subscribed = ? WHERE id = ?", "ii",
	              (int64_t)subscribed, mailbox_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no mailbox %lld",
		                  (long long)mailbox_id);
	return 0;
}

static int
store_mailbox_do_delete(struct store *st, int64_t mailbox_id,
                        const char **error_r)
{
	int64_t children = 0, *ids = NULL;
	size_t count = 0, i;
	int ret;

	if (store_int(st, &children, error_r,
	              "SELECT count(*) FROM mailboxes WHERE parent = ?", "i",
	              mailbox_id) < 0)
		return -1;
	if (children > 0)
		return store_fail(
		        st, error_r,
		        "the mailbox has children: delete them first");
	if (store_ids(st, &ids, &count, error_r,
	              "SELECT message FROM mailbox_messages WHERE mailbox = ?",
	              "i", mailbox_id) < 0)
		return -1;
	ret = store_run(st, error_r, "DELETE FROM mailboxes WHERE id = ?", "i",
	                mailbox_id);
	if (ret == 0 && sqlite3_changes(st->db) == 0)
		ret = store_fail(st, error_r, "no mailbox %lld",
		                 (long long)mailbox_id);
	for (i = 0; ret == 0 && i < count; i++)
		ret = store_message_drop_orphan(st, ids[i], error_r);
	free(ids);
	store_changed(st, mailbox_id);
	return ret;
}

int
store_mailbox_delete(struct store *st, int64_t mailbox_id, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_mailbox_do_delete(st, mailbox_id, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_mailbox_next_modseq(struct store *st, int64_t mailbox_id,
                          uint64_t *modseq_r, const char **error_r)
{
	int64_t modseq;
	int ret;

	ret = store_int(st, &modseq, error_r,
	                "UPDATE mailboxes SET highestmodseq = highestmodseq + 1"
	                " WHERE id = ? RETURNING highestmodseq",
	                "i", mailbox_id);
	if (ret == 0)
		return store_fail(st, error_r, "no mailbox %lld",
		                  (long long)mailbox_id);
	if (ret < 0)
		return -1;
	store_changed(st, mailbox_id);
	*modseq_r = (uint64_t)modseq;
	return 0;
}

int
store_mailbox_highestmodseq(struct store *st, int64_t mailbox_id,
                            uint64_t *modseq_r, const char **error_r)
{
	int64_t v = 0;
	int ret = store_int(st, &v, error_r,
	                    "SELECT highestmodseq FROM mailboxes WHERE id = ?",
	                    "i", mailbox_id);

	*modseq_r = (uint64_t)v;
	return ret;
}
