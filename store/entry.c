/*
 * A mailbox's entries: the UID each message has there, its modseq and the
 * mailbox's own \Deleted flag; the record of expunged UIDs.
 *
 * A UID comes from the mailbox's uidnext, which only grows, so a UID is
 * never given twice in one UIDVALIDITY. Every change to an entry takes a
 * new modseq from the mailbox's highestmodseq, which only grows too.
 */
#include "store-private.h"

#include <stdlib.h>

#include "common/alloc.h"

int
store_entry_insert(struct store *st, int64_t mailbox_id, int64_t message_id,
                   uint32_t *uid_r, const char **error_r)
{
	int64_t value = 0;
	uint64_t modseq;
	int ret;

	ret = store_int(st, &value, error_r,
	                "SELECT uid FROM mailbox_messages"
	                " WHERE mailbox = ? AND message = ?",
	                "ii", mailbox_id, message_id);
	if (ret != 0) {
		*uid_r = (uint32_t)value;
		return ret < 0 ? -1 : 0;
	}
	ret = store_int(
	        st, &value, error_r,
	        "SELECT b.account = m.account"
	        " FROM mailboxes b, messages m WHERE b.id = ? AND m.id = ?",
	        "ii", mailbox_id, message_id);
	if (ret < 0)
		return -1;
	if (ret == 0)
		return store_fail(st, error_r,
		                  "no mailbox %lld or no message %lld",
		                  (long long)mailbox_id, (long long)message_id);
	if (value == 0)
		return store_fail(st, error_r,
		                  "mailbox %lld and message %lld are of two "
		                  "accounts",
		                  (long long)mailbox_id, (long long)message_id);
	/* uidnext may reach 2^32 but no further (CHECK): no UID left. */
	ret = store_int(st, &value, error_r,
	                "UPDATE mailboxes SET uidnext = uidnext + 1"
	                " WHERE id = ? RETURNING uidnext - 1",
	                "i", mailbox_id);
	if (ret < 0 && sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
		return store_fail(st, error_r, "mailbox %lld has no UID left",
		                  (long long)mailbox_id);
	if (ret <= 0)
		return ret < 0 ? -1
		               : store_fail(st, error_r, "no mailbox %lld",
		                            (long long)mailbox_id);
	if (store_mailbox_next_modseq(st, mailbox_id, &modseq, error_r) < 0)
		return -1;
	if (store_run(st, error_r,
	              "INSERT INTO mailbox_messages(mailbox, uid, message,"
	              " modseq) VALUES(?, ?, ?, ?)",
	              "iiii", mailbox_id, value, message_id,
	              (int64_t)modseq) < 0)
		return -1;
	*uid_r = (uint32_t)value;
	return 0;
}

int
store_entry_add(struct store *st, int64_t mailbox_id, int64_t message_id,
                uint32_t *uid_r, const char **error_r)
{
	int ret = store_all_mail_is(st, mailbox_id, error_r);

	if (ret < 0)
		return -1;
	if (ret > 0)
		return store_fail(st, error_r,
		                  "All Mail holds every message by itself: "
		                  "nothing is added to it");
	if (store_entry_insert(st, mailbox_id, message_id, uid_r, error_r) < 0)
		return -1;
	return store_all_mail_follow(st, message_id, error_r);
}

int
store_entry_expunge(struct store *st, int64_t mailbox_id, uint32_t uid,
                    const char **error_r)
{
	uint64_t modseq;

	if (store_mailbox_next_modseq(st, mailbox_id, &modseq, error_r) < 0 ||
	    store_run(st, error_r,
	              "DELETE FROM mailbox_messages WHERE mailbox = ? AND uid "
	              "= ?",
	              "ii", mailbox_id, (int64_t)uid) < 0)
		return -1;
	return store_run(st, error_r,
	                 "INSERT OR REPLACE INTO expunged(mailbox, uid, modseq)"
	                 " VALUES(?, ?, ?)",
	                 "iii", mailbox_id, (int64_t)uid, (int64_t)modseq);
}

int
store_mailbox_add_message(struct store *st, int64_t mailbox_id,
                          int64_t message_id, uint32_t *uid_r,
                          const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_entry_add(st, mailbox_id, message_id, uid_r, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_entry_remove(struct store *st, int64_t mailbox_id, int64_t message_id,
                   const char **error_r)
{
	int64_t uid;
	int ret;

	ret = store_int(st, &uid, error_r,
	                "SELECT uid FROM mailbox_messages"
	                " WHERE mailbox = ? AND message = ?",
	                "ii", mailbox_id, message_id);
	if (ret == 0)
		return store_fail(st, error_r,
		                  "message %lld is not in mailbox %lld",
		                  (long long)message_id, (long long)mailbox_id);
	if (ret < 0 ||
	    store_entry_expunge(st, mailbox_id, (uint32_t)uid, error_r) < 0)
		return -1;
	return store_message_drop_orphan(st, message_id, error_r);
}

int
store_mailbox_remove_message(struct store *st, int64_t mailbox_id,
                             int64_t message_id, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_entry_remove(st, mailbox_id, message_id, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_mailbox_move_message(struct store *st, int64_t from, int64_t to,
                           int64_t message_id, uint32_t *uid_r,
                           const char **error_r)
{
	size_t mark;
	int ret;

	if (from == to)
		return store_fail(st, error_r, "a move needs two mailboxes");
	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_entry_add(st, to, message_id, uid_r, error_r);
	if (ret == 0)
		ret = store_entry_remove(st, from, message_id, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

static int SB_WUR
store_entry_set_deleted(struct store *st, int64_t mailbox_id, uint32_t uid,
                        bool deleted, const char **error_r)
{
	int64_t current;
	uint64_t modseq;
	int ret;

	ret = store_int(st, &current, error_r,
	                "SELECT deleted FROM mailbox_messages"
	                " WHERE mailbox = ? AND uid = ?",
	                "ii", mailbox_id, (int64_t)uid);
	if (ret == 0)
		return store_fail(st, error_r, "no UID %u in mailbox %lld", uid,
		                  (long long)mailbox_id);
	if (ret < 0)
		return -1;
	if ((current != 0) == deleted)
		return 0;
	if (store_mailbox_next_modseq(st, mailbox_id, &modseq, error_r) < 0)
		return -1;
	return store_run(st, error_r,
	                 "UPDATE mailbox_messages SET deleted = ?, modseq = ?"
	                 " WHERE mailbox = ? AND uid = ?",
	                 "iiii", (int64_t)deleted, (int64_t)modseq, mailbox_id,
	                 (int64_t)uid);
}

int
store_mailbox_set_deleted(struct store *st, int64_t mailbox_id, uint32_t uid,
                          bool deleted, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_entry_set_deleted(st, mailbox_id, uid, deleted, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

static int SB_WUR
store_entry_expunge_deleted(struct store *st, int64_t mailbox_id,
                            const char **error_r)
{
	int64_t *messages = NULL;
	size_t count = 0, i;
	int ret;

	ret = store_ids(st, &messages, &count, error_r,
	                "SELECT message FROM mailbox_messages"
	                " WHERE mailbox = ? AND deleted ORDER BY uid",
	                "i", mailbox_id);
	for (i = 0; ret == 0 && i < count; i++)
		ret = store_entry_remove(st, mailbox_id, messages[i], error_r);
	free(messages);
	return ret;
}

int
store_mailbox_expunge_deleted(struct store *st, int64_t mailbox_id,
                              const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_entry_expunge_deleted(st, mailbox_id, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

static int SB_WUR
store_entry_forget(struct store *st, int64_t mailbox_id, uint64_t upto,
                   uint64_t *removed_r, const char **error_r)
{
	if (upto > INT64_MAX)
		upto = INT64_MAX;
	if (store_run(st, error_r,
	              "DELETE FROM expunged WHERE (?1 = 0 OR mailbox = ?1)"
	              " AND modseq <= ?2",
	              "ii", mailbox_id, (int64_t)upto) < 0)
		return -1;
	*removed_r = (uint64_t)sqlite3_changes64(st->db);
	if (store_run(st, error_r,
	              "UPDATE mailboxes SET expunged_floor = ?2"
	              " WHERE (?1 = 0 OR id = ?1) AND expunged_floor < ?2",
	              "ii", mailbox_id, (int64_t)upto) < 0)
		return -1;
	return 0;
}

int
store_mailbox_forget_expunged(struct store *st, int64_t mailbox_id,
                              uint64_t upto, uint64_t *removed_r,
                              const char **error_r)
{
	size_t mark;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	return store_tx_end(
	        st, mark,
	        store_entry_forget(st, mailbox_id, upto, removed_r, error_r),
	        error_r);
}

/* ---- Reading ---- */

int
store_mailbox_fetch(struct store *st, int64_t mailbox_id, uint32_t uid_lo,
                    uint32_t uid_hi, uint64_t changedsince, store_entry_fn *fn,
                    void *ctx, const char **error_r)
{
	struct store_entry e;
	sqlite3_stmt *stmt;
	int ret;

	/* With CHANGEDSINCE the (mailbox, modseq) index may serve. */
	if (store_stmt(st, &stmt, error_r,
	               "SELECT e.uid, e.modseq, e.message, e.deleted,"
	               " m.keywords, m.remote_id, m.size, m.received_at,"
	               " m.body_cached"
	               " FROM mailbox_messages e JOIN messages m"
	               " ON m.id = e.message"
	               " WHERE e.mailbox = ? AND e.uid BETWEEN ? AND ?"
	               " AND e.modseq > ? ORDER BY e.uid",
	               "iiii", mailbox_id, (int64_t)uid_lo, (int64_t)uid_hi,
	               (int64_t)changedsince) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		e.uid = (uint32_t)sqlite3_column_int64(stmt, 0);
		e.modseq = (uint64_t)sqlite3_column_int64(stmt, 1);
		e.message_id = sqlite3_column_int64(stmt, 2);
		e.deleted = sqlite3_column_int(stmt, 3) != 0;
		e.keywords = (const char *)sqlite3_column_text(stmt, 4);
		e.remote_id = (const char *)sqlite3_column_text(stmt, 5);
		e.size = (uint64_t)sqlite3_column_int64(stmt, 6);
		e.received_at = sqlite3_column_int64(stmt, 7);
		e.body_cached = sqlite3_column_int(stmt, 8) != 0;
		if (e.keywords == NULL)
			e.keywords = "";
		ret = fn(ctx, &e, error_r);
		if (ret != 0)
			break;
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
}

int
store_mailbox_vanished(struct store *st, int64_t mailbox_id, uint64_t since,
                       store_uid_fn *fn, void *ctx, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(
	            st, &stmt, error_r,
	            "SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ?"
	            " ORDER BY uid",
	            "ii", mailbox_id, (int64_t)since) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		ret = fn(ctx, (uint32_t)sqlite3_column_int64(stmt, 0), error_r);
		if (ret != 0)
			break;
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
}

int
store_message_uid(struct store *st, int64_t mailbox_id, int64_t message_id,
                  uint32_t *uid_r, const char **error_r)
{
	int64_t uid;
	int ret = store_int(st, &uid, error_r,
	                    "SELECT uid FROM mailbox_messages"
	                    " WHERE mailbox = ? AND message = ?",
	                    "ii", mailbox_id, message_id);

	if (ret > 0)
		*uid_r = (uint32_t)uid;
	return ret;
}

int
store_mailbox_uids(struct store *st, int64_t mailbox_id, uint32_t **uids_r,
                   size_t *count_r, const char **error_r)
{
	uint32_t *uids = NULL;
	size_t count = 0, alloc = 0;
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT uid FROM mailbox_messages WHERE mailbox = ?"
	               " ORDER BY uid",
	               "i", mailbox_id) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		if (count == alloc) {
			alloc = alloc * 2 + 64;
			uids = sb_reallocarray(uids, alloc, sizeof(*uids));
		}
		uids[count++] = (uint32_t)sqlite3_column_int64(stmt, 0);
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		free(uids);
		return -1;
	}
	*uids_r = uids;
	*count_r = count;
	return 0;
}
