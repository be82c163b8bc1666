/*
 * Local-first changes: a client's change applied to the replica and its op
 * queued, in one transaction (docs/replica.md, "Local changes and their
 * ops"). The store writes the ops' JSON payloads itself, so that the IMAP
 * server (which makes the changes) and the sync engine (which replays
 * them) share one format without depending on each other.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "store-private.h"

/* ---- Payloads ---- */

static void
store_json_raw(struct sb_buf *b, const char *s)
{
	if (sb_buf_add_str(b, s) < 0)
		abort(); /* the buffer has no maximum */
}

/* A JSON string: the store's values are ASCII, but escape what needs it. */
static void
store_json_str(struct sb_buf *b, const char *s)
{
	char esc[8];

	store_json_raw(b, "\"");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			esc[2] = '\0';
			store_json_raw(b, esc);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			store_json_raw(b, esc);
		} else if (sb_buf_add_char(b, (char)c) < 0) {
			abort();
		}
	}
	store_json_raw(b, "\"");
}

static void
store_json_int(struct sb_buf *b, int64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%" PRId64, v);
	store_json_raw(b, num);
}

/* ,"name":[ids] */
static void
store_json_ids(struct sb_buf *b, const char *name, const int64_t *ids,
               size_t count)
{
	size_t i;

	store_json_raw(b, ",");
	store_json_str(b, name);
	store_json_raw(b, ":[");
	for (i = 0; i < count; i++) {
		if (i > 0)
			store_json_raw(b, ",");
		store_json_int(b, ids[i]);
	}
	store_json_raw(b, "]");
}

/* ,"name":["word",...] from a space-separated list (NULL: none). */
static void
store_json_words(struct sb_buf *b, const char *name, const char *list)
{
	const char *p = list != NULL ? list : "";
	bool first = true;
	size_t i;
	char *w;

	store_json_raw(b, ",");
	store_json_str(b, name);
	store_json_raw(b, ":[");
	while (*p != '\0') {
		size_t len = strcspn(p, " ");

		if (len > 0) {
			if (!first)
				store_json_raw(b, ",");
			w = sb_strndup(p, len);
			/* Keywords are lower case, here as in the replica. */
			for (i = 0; i < len; i++) {
				if (w[i] >= 'A' && w[i] <= 'Z')
					w[i] = (char)(w[i] - 'A' + 'a');
			}
			store_json_str(b, w);
			free(w);
			first = false;
		}
		p += len + strspn(p + len, " ");
	}
	store_json_raw(b, "]");
}

static char *
store_json_finish(struct sb_buf *b)
{
	store_json_raw(b, "}");
	return sb_buf_take(b, NULL);
}

static void
store_json_begin(struct sb_buf *b)
{
	sb_buf_init(b, SIZE_MAX);
	store_json_raw(b, "{\"v\":1");
}

char *
store_op_update_payload(const int64_t *messages, size_t count,
                        const struct store_patch *p)
{
	struct sb_buf b;

	store_json_begin(&b);
	store_json_ids(&b, "messages", messages, count);
	store_json_words(&b, "add_keywords", p->add_keywords);
	store_json_words(&b, "remove_keywords", p->remove_keywords);
	if (p->add_mailbox != 0) {
		store_json_raw(&b, ",\"add_mailbox\":");
		store_json_int(&b, p->add_mailbox);
	}
	if (p->remove_mailbox != 0) {
		store_json_raw(&b, ",\"remove_mailbox\":");
		store_json_int(&b, p->remove_mailbox);
	}
	return store_json_finish(&b);
}

/* {"v":1,"field":id} */
static char *
store_op_id_payload(const char *field, int64_t id)
{
	struct sb_buf b;

	store_json_begin(&b);
	store_json_raw(&b, ",");
	store_json_str(&b, field);
	store_json_raw(&b, ":");
	store_json_int(&b, id);
	return store_json_finish(&b);
}

/* Pushes an op whose payload is malloc'd here; frees it. */
static int SB_WUR
store_op_push_owned(struct store *st, int64_t account_id, const char *kind,
                    char *payload, int64_t now, const char **error_r)
{
	int64_t op;
	int ret;

	ret = store_op_push(st, account_id, kind, payload, now, &op, error_r);
	free(payload);
	return ret;
}

/* ---- Messages ---- */

/* The account of a message or a mailbox (kind: "message", "mailbox"). */
static int SB_WUR
store_owner(struct store *st, const char *kind, int64_t id, int64_t *account_r,
            const char **error_r)
{
	bool message = strcmp(kind, "message") == 0;
	int ret = store_int(
	        st, account_r, error_r,
	        message ? "SELECT account FROM messages WHERE id = ?"
	                : "SELECT account FROM mailboxes WHERE id = ?",
	        "i", id);

	if (ret == 0)
		return store_fail(st, error_r, "no %s %lld", kind,
		                  (long long)id);
	return ret < 0 ? -1 : 0;
}

static int SB_WUR
store_message_account(struct store *st, int64_t message_id, int64_t *account_r,
                      const char **error_r)
{
	return store_owner(st, "message", message_id, account_r, error_r);
}

static int SB_WUR
store_mailbox_account(struct store *st, int64_t mailbox_id, int64_t *account_r,
                      const char **error_r)
{
	return store_owner(st, "mailbox", mailbox_id, account_r, error_r);
}

/* Applies the patch to one message of the account. */
static int SB_WUR
store_local_patch_one(struct store *st, int64_t account_id, int64_t message_id,
                      const struct store_patch *p, uint32_t *uid_r,
                      const char **error_r)
{
	int64_t account, others;

	if (store_message_account(st, message_id, &account, error_r) < 0)
		return -1;
	if (account != account_id)
		return store_fail(
		        st, error_r,
		        "the messages of one change are of one account");
	if ((p->add_keywords != NULL || p->remove_keywords != NULL) &&
	    store_message_change_keywords(st, message_id, p->add_keywords,
	                                  p->remove_keywords, error_r) < 0)
		return -1;
	if (p->add_mailbox != 0 &&
	    store_entry_add(st, p->add_mailbox, message_id, uid_r, error_r) < 0)
		return -1;
	if (p->remove_mailbox == 0)
		return 0;
	if (store_int(st, &others, error_r,
	              "SELECT count(*) FROM mailbox_messages"
	              " WHERE message = ? AND mailbox <> ? "
	              "AND " STORE_NOT_ALL_MAIL,
	              "ii", message_id, p->remove_mailbox) < 0)
		return -1;
	/* The service keeps a message in at least one mailbox too. */
	if (others == 0)
		return store_fail(st, error_r,
		                  "message %lld would be in no mailbox",
		                  (long long)message_id);
	return store_entry_remove(st, p->remove_mailbox, message_id, error_r);
}

/*
 * A move out of All Mail files the messages in the target alone; nothing
 * is added to All Mail. 1 when it was handled here, 0 when not, -1.
 */
static int SB_WUR
store_local_all_mail(struct store *st, const int64_t *messages, size_t count,
                     const struct store_patch *p, int64_t now, uint32_t *uids_r,
                     const char **error_r)
{
	int ret = 0;

	if (p->add_mailbox != 0) {
		ret = store_all_mail_is(st, p->add_mailbox, error_r);
		if (ret > 0)
			return store_fail(st, error_r,
			                  "All Mail holds every message by "
			                  "itself: copy or move to another "
			                  "mailbox");
	}
	if (ret == 0 && p->remove_mailbox != 0)
		ret = store_all_mail_is(st, p->remove_mailbox, error_r);
	if (ret <= 0)
		return ret;
	if (p->add_mailbox == 0 || p->add_keywords != NULL ||
	    p->remove_keywords != NULL)
		return store_fail(st, error_r,
		                  "messages leave All Mail only by a move to "
		                  "another mailbox or an expunge");
	if (store_all_mail_refile(st, p->remove_mailbox, messages, count,
	                          p->add_mailbox, now, uids_r, error_r) < 0)
		return -1;
	return 1;
}

int
store_local_do_update(struct store *st, const int64_t *messages, size_t count,
                      const struct store_patch *p, int64_t now,
                      uint32_t *uids_r, const char **error_r)
{
	int64_t account_id, other;
	uint32_t uid;
	size_t i;
	int ret;

	if (count == 0)
		return 0;
	if (p->add_mailbox != 0 && p->add_mailbox == p->remove_mailbox)
		return store_fail(st, error_r, "a move needs two mailboxes");
	ret = store_local_all_mail(st, messages, count, p, now, uids_r,
	                           error_r);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	if (store_message_account(st, messages[0], &account_id, error_r) < 0)
		return -1;
	if (p->add_mailbox != 0) {
		if (store_mailbox_account(st, p->add_mailbox, &other, error_r) <
		    0)
			return -1;
		if (other != account_id)
			return store_fail(st, error_r,
			                  "mailbox %lld is of another account",
			                  (long long)p->add_mailbox);
	}
	for (i = 0; i < count; i++) {
		uid = 0;
		if (store_local_patch_one(st, account_id, messages[i], p, &uid,
		                          error_r) < 0)
			return -1;
		if (uids_r != NULL)
			uids_r[i] = uid;
	}
	return store_op_push_owned(st, account_id, STORE_OP_UPDATE,
	                           store_op_update_payload(messages, count, p),
	                           now, error_r);
}

int
store_local_update(struct store *st, const int64_t *messages, size_t count,
                   const struct store_patch *p, int64_t now, uint32_t *uids_r,
                   const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_local_do_update(st, messages, count, p, now, uids_r,
	                            error_r);
	return store_tx_end(st, mark, ret, error_r);
}

/* The remote ids of messages (those that have one), as a destroy op. */
static int SB_WUR
store_local_destroy_op(struct store *st, int64_t account_id,
                       const int64_t *messages, size_t count, int64_t now,
                       const char **error_r)
{
	sqlite3_stmt *stmt;
	struct sb_buf b;
	size_t i, n = 0;
	char *remote;
	int ret = 0;

	store_json_begin(&b);
	store_json_raw(&b, ",\"remote_ids\":[");
	for (i = 0; i < count && ret == 0; i++) {
		ret = store_stmt(st, &stmt, error_r,
		                 "SELECT remote_id FROM messages"
		                 " WHERE id = ? AND remote_id IS NOT NULL",
		                 "i", messages[i]);
		if (ret < 0)
			break;
		ret = store_step(st, stmt, error_r);
		if (ret == 1) {
			remote = store_col_str(stmt, 0);
			if (n++ > 0)
				store_json_raw(&b, ",");
			store_json_str(&b, remote);
			free(remote);
			ret = 0;
		}
		sqlite3_finalize(stmt);
	}
	store_json_raw(&b, "]");
	if (ret < 0 || n == 0) {
		/* None reached the service: their imports become moot. */
		sb_buf_free(&b);
		return ret;
	}
	return store_op_push_owned(st, account_id, STORE_OP_DESTROY,
	                           store_json_finish(&b), now, error_r);
}

int
store_local_do_destroy(struct store *st, const int64_t *messages, size_t count,
                       int64_t now, const char **error_r)
{
	int64_t account_id, other;
	size_t i;

	if (count == 0)
		return 0;
	if (store_message_account(st, messages[0], &account_id, error_r) < 0)
		return -1;
	for (i = 1; i < count; i++) {
		if (store_message_account(st, messages[i], &other, error_r) < 0)
			return -1;
		if (other != account_id)
			return store_fail(
			        st, error_r,
			        "the messages of one change are of one "
			        "account");
	}
	if (store_local_destroy_op(st, account_id, messages, count, now,
	                           error_r) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (store_message_delete(st, messages[i], error_r) < 0)
			return -1;
	}
	return 0;
}

int
store_local_destroy(struct store *st, const int64_t *messages, size_t count,
                    int64_t now, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_local_do_destroy(st, messages, count, now, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

/*
 * Sorts the messages to expunge from mailbox into three lists: in another
 * mailbox too (only leave this one), here alone (go to Trash), and here
 * alone in Trash itself (destroyed).
 */
struct store_expunge_plan {
	int64_t *leave, *to_trash, *destroy;
	size_t n_leave, n_to_trash, n_destroy;
};

static void
store_expunge_plan_free(struct store_expunge_plan *plan)
{
	free(plan->leave);
	free(plan->to_trash);
	free(plan->destroy);
}

static int SB_WUR
store_expunge_plan(struct store *st, int64_t mailbox_id, int64_t trash_id,
                   bool drafts, const uint32_t *uids, size_t n_uids,
                   struct store_expunge_plan *plan, const char **error_r)
{
	sqlite3_stmt *stmt;
	int64_t message, others;
	size_t i, alloc;
	int ret;

	memset(plan, 0, sizeof(*plan));
	ret = store_stmt(
	        st, &stmt, error_r,
	        "SELECT e.uid, e.message, (SELECT count(*) FROM"
	        " mailbox_messages o WHERE o.message = e.message"
	        " AND o.mailbox <> e.mailbox AND " STORE_NOT_ALL_MAIL_COL(
	                "o.mailbox") ")"
	                             " FROM mailbox_messages e"
	                             " WHERE e.mailbox = ? AND e.deleted ORDER "
	                             "BY e.uid",
	        "i", mailbox_id);
	if (ret < 0)
		return -1;
	alloc = 0;
	while ((ret = store_step(st, stmt, error_r)) == 1) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);
		int64_t **list;
		size_t *n;

		if (uids != NULL) {
			for (i = 0; i < n_uids && uids[i] != uid; i++)
				;
			if (i == n_uids)
				continue;
		}
		message = sqlite3_column_int64(stmt, 1);
		others = sqlite3_column_int64(stmt, 2);
		if (others > 0) {
			list = &plan->leave;
			n = &plan->n_leave;
		} else if (mailbox_id != trash_id && trash_id != 0 && !drafts) {
			list = &plan->to_trash;
			n = &plan->n_to_trash;
		} else {
			list = &plan->destroy;
			n = &plan->n_destroy;
		}
		/* One array size for all three: at most the rows read. */
		alloc++;
		*list = sb_reallocarray(*list, alloc, sizeof(**list));
		(*list)[(*n)++] = message;
	}
	sqlite3_finalize(stmt);
	if (ret < 0) {
		store_expunge_plan_free(plan);
		return -1;
	}
	return 0;
}

static int SB_WUR
store_local_do_expunge(struct store *st, int64_t mailbox_id,
                       const uint32_t *uids, size_t n_uids, int64_t now,
                       const char **error_r)
{
	struct store_expunge_plan plan;
	struct store_mailbox trash, box;
	struct store_patch p;
	int64_t account_id, trash_id = 0;
	bool drafts;
	int ret;

	if (store_mailbox_account(st, mailbox_id, &account_id, error_r) < 0)
		return -1;
	/* A draft replaced by a newer one goes for good, not to Trash. */
	ret = store_mailbox_get(st, mailbox_id, &box, error_r);
	if (ret < 0)
		return -1;
	drafts = ret > 0 && box.role != NULL && strcmp(box.role, "drafts") == 0;
	if (ret > 0)
		store_mailbox_free_contents(&box);
	ret = store_mailbox_find_role(st, account_id, "trash", &trash, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		trash_id = trash.id;
		store_mailbox_free_contents(&trash);
	}
	if (store_expunge_plan(st, mailbox_id, trash_id, drafts, uids, n_uids,
	                       &plan, error_r) < 0)
		return -1;
	ret = store_all_mail_is(st, mailbox_id, error_r);
	if (ret != 0) {
		/* From All Mail: to Trash, out of every other mailbox. */
		if (ret > 0)
			ret = store_all_mail_refile(st, mailbox_id, plan.leave,
			                            plan.n_leave, trash_id, now,
			                            NULL, error_r);
		store_expunge_plan_free(&plan);
		return ret;
	}
	memset(&p, 0, sizeof(p));
	p.remove_mailbox = mailbox_id;
	ret = store_local_do_update(st, plan.leave, plan.n_leave, &p, now, NULL,
	                            error_r);
	p.add_mailbox = trash_id;
	if (ret == 0)
		ret = store_local_do_update(st, plan.to_trash, plan.n_to_trash,
		                            &p, now, NULL, error_r);
	if (ret == 0)
		ret = store_local_do_destroy(st, plan.destroy, plan.n_destroy,
		                             now, error_r);
	store_expunge_plan_free(&plan);
	return ret;
}

int
store_local_expunge(struct store *st, int64_t mailbox_id, const uint32_t *uids,
                    size_t n_uids, int64_t now, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_local_do_expunge(st, mailbox_id, uids, n_uids, now,
	                             error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_local_import(struct store *st, int64_t message_id, int64_t mailbox_id,
                   int64_t now, const char **error_r)
{
	int64_t account_id, in;
	int ret;

	if (store_message_account(st, message_id, &account_id, error_r) < 0)
		return -1;
	ret = store_int(st, &in, error_r,
	                "SELECT count(*) FROM mailbox_messages"
	                " WHERE mailbox = ? AND message = ?",
	                "ii", mailbox_id, message_id);
	if (ret < 0)
		return -1;
	if (in == 0)
		return store_fail(st, error_r,
		                  "message %lld is not in mailbox %lld",
		                  (long long)message_id, (long long)mailbox_id);
	return store_op_push_owned(
	        st, account_id, STORE_OP_IMPORT,
	        store_op_import_payload(message_id, mailbox_id), now, error_r);
}

char *
store_op_import_payload(int64_t message_id, int64_t mailbox_id)
{
	struct sb_buf b;

	store_json_begin(&b);
	store_json_raw(&b, ",\"message\":");
	store_json_int(&b, message_id);
	store_json_raw(&b, ",\"mailbox\":");
	store_json_int(&b, mailbox_id);
	return store_json_finish(&b);
}

/* ---- Mailboxes ---- */

int
store_local_mailbox_create(struct store *st, int64_t account_id,
                           int64_t parent_id, const char *name, int64_t now,
                           int64_t *id_r, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_mailbox_create(st, account_id, parent_id, name, id_r,
	                           error_r);
	if (ret == 0)
		ret = store_op_push_owned(
		        st, account_id, STORE_OP_MAILBOX_CREATE,
		        store_op_id_payload("mailbox", *id_r), now, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

/* Fails for a mailbox with a role: the service keeps those as they are. */
static int SB_WUR
store_local_mailbox_get(struct store *st, int64_t mailbox_id, const char *what,
                        struct store_mailbox *mb_r, const char **error_r)
{
	int ret = store_mailbox_get(st, mailbox_id, mb_r, error_r);

	if (ret == 0)
		return store_fail(st, error_r, "no mailbox %lld",
		                  (long long)mailbox_id);
	if (ret < 0)
		return -1;
	if (mb_r->role != NULL) {
		store_fail(st, error_r, "the %s mailbox cannot be %s",
		           mb_r->role, what);
		store_mailbox_free_contents(mb_r);
		return -1;
	}
	return 0;
}

int
store_local_mailbox_rename(struct store *st, int64_t mailbox_id,
                           int64_t new_parent_id, const char *new_name,
                           int64_t now, const char **error_r)
{
	struct store_mailbox mb;
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_local_mailbox_get(st, mailbox_id, "renamed", &mb, error_r);
	if (ret == 0) {
		ret = store_mailbox_rename(st, mailbox_id, new_parent_id,
		                           new_name, error_r);
		if (ret == 0)
			ret = store_op_push_owned(
			        st, mb.account_id, STORE_OP_MAILBOX_UPDATE,
			        store_op_id_payload("mailbox", mailbox_id), now,
			        error_r);
		store_mailbox_free_contents(&mb);
	}
	return store_tx_end(st, mark, ret, error_r);
}

int
store_local_mailbox_delete(struct store *st, int64_t mailbox_id, int64_t now,
                           const char **error_r)
{
	struct store_mailbox mb;
	struct sb_buf b;
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_local_mailbox_get(st, mailbox_id, "deleted", &mb, error_r);
	if (ret == 0) {
		ret = store_mailbox_delete(st, mailbox_id, error_r);
		/*
		 * One the service never had needs no op: its create, still
		 * queued, finds it gone.
		 */
		if (ret == 0 && mb.remote_id != NULL) {
			store_json_begin(&b);
			store_json_raw(&b, ",\"remote_id\":");
			store_json_str(&b, mb.remote_id);
			ret = store_op_push_owned(
			        st, mb.account_id, STORE_OP_MAILBOX_DELETE,
			        store_json_finish(&b), now, error_r);
		}
		store_mailbox_free_contents(&mb);
	}
	return store_tx_end(st, mark, ret, error_r);
}

int
store_op_live(struct store *st, int64_t account_id, const char *kind,
              const char *field, int64_t id, bool *live_r, const char **error_r)
{
	char path[64];
	int64_t n;

	snprintf(path, sizeof(path), "$.%s", field);
	if (store_int(st, &n, error_r,
	              "SELECT count(*) FROM op_queue WHERE account = ?"
	              " AND kind = ? AND NOT failed"
	              " AND json_valid(payload)"
	              " AND json_extract(payload, ?) = ?",
	              "itti", account_id, kind, path, id) < 0)
		return -1;
	*live_r = n > 0;
	return 0;
}

int
store_message_mailboxes(struct store *st, int64_t message_id, int64_t **ids_r,
                        size_t *count_r, const char **error_r)
{
	return store_ids(st, ids_r, count_r, error_r,
	                 "SELECT mailbox FROM mailbox_messages"
	                 " WHERE message = ? AND " STORE_NOT_ALL_MAIL
	                 " ORDER BY mailbox",
	                 "i", message_id);
}

/* ---- APPEND: staged, then appended ---- */

/* A staged message: no remote id and in no mailbox. */
#define STORE_STAGED                                       \
	" remote_id IS NULL AND NOT EXISTS (SELECT 1 FROM" \
	" mailbox_messages WHERE message = messages.id)"

int
store_stage_message(struct store *st, int64_t account_id, uint64_t size,
                    int64_t now, int64_t *id_r, const char **error_r)
{
	if (size > INT64_MAX)
		return store_fail(st, error_r, "too large");
	if (store_run(st, error_r,
	              "INSERT INTO messages(account, size, received_at)"
	              " VALUES(?, ?, ?)",
	              "iii", account_id, (int64_t)size, now) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static int SB_WUR
store_do_append(struct store *st, int64_t message_id, int64_t mailbox_id,
                const struct store_append *a, int64_t now, uint32_t *uid_r,
                const char **error_r)
{
	int64_t account_id, box_account, staged = 0, cached = 0;
	char *keywords;
	int ret;

	if (store_message_account(st, message_id, &account_id, error_r) < 0 ||
	    store_mailbox_account(st, mailbox_id, &box_account, error_r) < 0)
		return -1;
	if (account_id != box_account)
		return store_fail(st, error_r,
		                  "mailbox %lld is of another account",
		                  (long long)mailbox_id);
	if (store_int(st, &staged, error_r,
	              "SELECT count(*) FROM messages"
	              " WHERE id = ? AND" STORE_STAGED,
	              "i", message_id) < 0 ||
	    store_int(st, &cached, error_r,
	              "SELECT body_cached FROM messages WHERE id = ?", "i",
	              message_id) < 0)
		return -1;
	if (staged == 0)
		return store_fail(st, error_r, "message %lld is not staged",
		                  (long long)message_id);
	if (cached == 0)
		return store_fail(st, error_r,
		                  "the body of message %lld is not whole",
		                  (long long)message_id);
	if (store_keywords_normalize(a->keywords, &keywords, error_r) < 0)
		return -1;
	ret = store_run(st, error_r,
	                "UPDATE messages SET summary = ?, key_packet = ?,"
	                " keywords = ?, received_at = ? WHERE id = ?",
	                "bbtii", a->summary, a->summary_len, a->key_packet,
	                a->key_packet_len, keywords, a->received_at,
	                message_id);
	free(keywords);
	if (ret == 0)
		ret = store_entry_add(st, mailbox_id, message_id, uid_r,
		                      error_r);
	if (ret == 0)
		ret = store_local_import(st, message_id, mailbox_id, now,
		                         error_r);
	return ret;
}

int
store_local_append(struct store *st, int64_t message_id, int64_t mailbox_id,
                   const struct store_append *a, int64_t now, uint32_t *uid_r,
                   const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_do_append(st, message_id, mailbox_id, a, now, uid_r,
	                      error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_stage_drop(struct store *st, int64_t message_id, const char **error_r)
{
	return store_run(st, error_r,
	                 "DELETE FROM messages WHERE id = ? AND" STORE_STAGED,
	                 "i", message_id);
}

int
store_stage_sweep(struct store *st, uint64_t *removed_r, const char **error_r)
{
	if (store_run(st, error_r, "DELETE FROM messages WHERE" STORE_STAGED,
	              "") < 0)
		return -1;
	*removed_r = (uint64_t)sqlite3_changes64(st->db);
	return 0;
}
