/*
 * Mailboxes (list, create, rename and move, delete) and the change feed
 * (docs/api.md, Mailboxes and Sync).
 */
#include "server-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* A mailbox with its counts; ?1 is the account. */
#define SRV_MAILBOX_SELECT                                           \
	"SELECT b.id, b.name, b.parent_id, b.role, "                 \
	"(SELECT COUNT(*) FROM message_mailboxes x "                 \
	"WHERE x.mailbox_id = b.id), "                               \
	"(SELECT COUNT(*) FROM message_mailboxes x JOIN messages m " \
	"ON m.id = x.message_id WHERE x.mailbox_id = b.id "          \
	"AND instr(' ' || m.keywords || ' ', ' $seen ') = 0) "       \
	"FROM mailboxes b WHERE b.account_id = ?1"

/* The longest state string: "s" and a 64-bit number. */
#define SRV_STATE_SIZE 24

static const char *const srv_mailbox_fields[] = {"name", "parent_id", NULL};

/* Steps a query that looks for a row, and finalizes it: 1, 0 or -1. */
static int SB_WUR
srv_db_exists(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static void
srv_mailbox_from_row(sqlite3_stmt *st, struct api_mailbox *m)
{
	m->id = srv_column_dup(st, 0);
	m->name = srv_column_dup(st, 1);
	m->parent_id = srv_column_dup(st, 2);
	m->role = srv_column_dup(st, 3);
	m->total = (uint64_t)sqlite3_column_int64(st, 4);
	m->unread = (uint64_t)sqlite3_column_int64(st, 5);
}

/* Loads one of the account's mailboxes: 1 found, 0 not, -1 error. */
static int SB_WUR
srv_mailbox_load(sqlite3 *db, const char *account_id, const char *id,
                 struct api_mailbox *m_r)
{
	sqlite3_stmt *st =
	        srv_db_prepare(db, SRV_MAILBOX_SELECT " AND b.id = ?2");
	int rc;

	memset(m_r, 0, sizeof(*m_r));
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		srv_mailbox_from_row(st, m_r);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Answers 200 (or status) with one of the account's mailboxes. */
static int SB_WUR
srv_mailbox_reply(struct srv_req *req, const char *id, unsigned status)
{
	struct api_mailbox m;

	if (srv_mailbox_load(req->db, req->account_id, id, &m) != 1)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot read the mailbox back");
	srv_reply(req, status, api_mailbox_to_json(&m));
	api_mailbox_free(&m);
	return 0;
}

/* Runs a lookup of one mailbox id by (account, value): 1, 0 or -1. */
static int SB_WUR
srv_mailbox_lookup(sqlite3 *db, const char *sql, const char *account_id,
                   const char *value, char id_r[SRV_ID_SIZE])
{
	sqlite3_stmt *st = srv_db_prepare(db, sql);
	int rc;

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(id_r, SRV_ID_SIZE, "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int
srv_mailbox_by_role(sqlite3 *db, const char *account_id, const char *role,
                    char id_r[SRV_ID_SIZE])
{
	return srv_mailbox_lookup(db,
	                          "SELECT id FROM mailboxes WHERE "
	                          "account_id = ?1 AND role = ?2",
	                          account_id, role, id_r);
}

int
srv_mailbox_by_name(sqlite3 *db, const char *account_id, const char *name,
                    char id_r[SRV_ID_SIZE])
{
	return srv_mailbox_lookup(db,
	                          "SELECT id FROM mailboxes WHERE "
	                          "account_id = ?1 AND name = ?2 AND "
	                          "parent_id IS NULL",
	                          account_id, name, id_r);
}

int
srv_h_mailboxes_list(struct srv_req *req)
{
	struct json_object *out, *list;
	struct api_mailbox m;
	sqlite3_stmt *st;
	char *state;
	int rc;

	/* The state first: an answer may be newer than it, never older. */
	state = srv_state(req->db, req->account_id);
	if (state == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	list = json_object_new_array();
	st = srv_db_prepare(req->db, SRV_MAILBOX_SELECT " ORDER BY b.rowid");
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&m, 0, sizeof(m));
		srv_mailbox_from_row(st, &m);
		json_object_array_add(list, api_mailbox_to_json(&m));
		api_mailbox_free(&m);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_object_put(list);
		free(state);
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	}
	out = json_object_new_object();
	json_object_object_add(out, "mailboxes", list);
	api_json_add_string(out, "state", state);
	free(state);
	srv_reply(req, 200, out);
	return 0;
}

/*
 * Reads the name and parent_id of a create or update body. *has_parent_r
 * tells a null parent_id (the top) from none given.
 */
static int SB_WUR
srv_mailbox_body(struct srv_req *req, bool create, const char **name_r,
                 const char **parent_r, bool *has_parent_r)
{
	const char *error;

	*name_r = NULL;
	*parent_r = NULL;
	*has_parent_r =
	        json_object_object_get_ex(req->json, "parent_id", NULL) != 0;
	if (api_json_only(req->json, srv_mailbox_fields, &error) != 0 ||
	    api_json_get_string(req->json, "name", create, 1, API_NAME_MAX,
	                        name_r, &error) != 0 ||
	    api_json_get_id_or_null(req->json, "parent_id", parent_r, &error) !=
	            0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	if (*name_r != NULL && !api_is_mailbox_name(*name_r, strlen(*name_r)))
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "field 'name' must be 1 to 255 bytes of UTF-8 "
		                "without control characters or '/'");
	return 0;
}

/* Fails with not_found unless parent (NULL: the top) is the account's. */
static int SB_WUR
srv_mailbox_check_parent(struct srv_req *req, const char *parent)
{
	sqlite3_stmt *st;
	int rc;

	if (parent == NULL)
		return 0;
	st = srv_db_prepare(req->db, "SELECT 1 FROM mailboxes WHERE id = ?1 "
	                             "AND account_id = ?2");
	sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	rc = srv_db_exists(st);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no mailbox %s",
		                parent);
	return 0;
}

/*
 * Fails with conflict when a mailbox other than self (NULL: none) under
 * parent already has that name.
 */
static int SB_WUR
srv_mailbox_check_siblings(struct srv_req *req, const char *self,
                           const char *name, const char *parent)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND "
	                 "name = ?2 AND parent_id IS ?3 AND id IS NOT ?4");
	int rc;

	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, self, -1, SQLITE_STATIC);
	rc = srv_db_exists(st);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc > 0)
		return srv_fail(req, API_ERR_CONFLICT,
		                "a mailbox named '%s' is there already", name);
	return 0;
}

/*
 * Fails with invalid_request when moving id under parent would make it
 * its own ancestor. The walk up stops at a repeated id, so even a damaged
 * tree cannot loop.
 */
static int SB_WUR
srv_mailbox_check_cycle(struct srv_req *req, const char *id, const char *parent)
{
	sqlite3_stmt *st;
	int rc;

	if (parent == NULL)
		return 0;
	st = srv_db_prepare(
	        req->db,
	        "WITH RECURSIVE up(id) AS (SELECT ?1 UNION "
	        "SELECT b.parent_id FROM mailboxes b JOIN up ON b.id = up.id "
	        "WHERE b.account_id = ?3 AND b.parent_id IS NOT NULL) "
	        "SELECT 1 FROM up WHERE id = ?2");
	sqlite3_bind_text(st, 1, parent, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, req->account_id, -1, SQLITE_STATIC);
	rc = srv_db_exists(st);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc > 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "a mailbox cannot move under itself");
	return 0;
}

/* Logs one change of a mailbox under a new modseq, and prunes the log. */
static int SB_WUR
srv_mailbox_log(struct srv_req *req, const char *id, char op)
{
	int64_t modseq;

	if (srv_bump(req->db, req->account_id, &modseq) != 0 ||
	    srv_change(req->db, req->account_id, modseq, 'b', id, op) != 0 ||
	    srv_prune_changes(req->db, req->account_id,
	                      req->srv->config.changes_keep) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot log the change");
	return 0;
}

int
srv_h_mailbox_create(struct srv_req *req)
{
	const char *name, *parent;
	char id[SRV_ID_SIZE];
	sqlite3_stmt *st;
	bool has_parent;

	if (srv_mailbox_body(req, true, &name, &parent, &has_parent) != 0 ||
	    srv_mailbox_check_parent(req, parent) != 0 ||
	    srv_mailbox_check_siblings(req, NULL, name, parent) != 0)
		return -1;
	srv_new_id("mb", id);
	st = srv_db_prepare(req->db, "INSERT INTO mailboxes(id, account_id, "
	                             "name, parent_id, role) VALUES(?1, ?2, "
	                             "?3, ?4, NULL)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, parent, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot create the mailbox");
	if (srv_mailbox_log(req, id, 'c') != 0)
		return -1;
	return srv_mailbox_reply(req, id, 201);
}

static bool
srv_str_eq(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/*
 * Renames and moves mailbox m to name under parent, after the checks: a
 * role mailbox stays, the parent exists, no cycle, no sibling of that
 * name. Nothing that does not change is logged.
 */
static int SB_WUR
srv_mailbox_apply(struct srv_req *req, const struct api_mailbox *m,
                  const char *name, const char *parent)
{
	sqlite3_stmt *st;

	if (strcmp(name, m->name) == 0 && srv_str_eq(parent, m->parent_id))
		return srv_mailbox_reply(req, m->id, 200);
	if (m->role != NULL)
		return srv_fail(req, API_ERR_CONFLICT,
		                "the %s mailbox cannot be renamed or moved",
		                m->role);
	if (srv_mailbox_check_parent(req, parent) != 0 ||
	    srv_mailbox_check_cycle(req, m->id, parent) != 0 ||
	    srv_mailbox_check_siblings(req, m->id, name, parent) != 0)
		return -1;
	st = srv_db_prepare(req->db, "UPDATE mailboxes SET name = ?3, "
	                             "parent_id = ?4 WHERE id = ?1 AND "
	                             "account_id = ?2");
	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, parent, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot change the mailbox");
	if (srv_mailbox_log(req, m->id, 'u') != 0)
		return -1;
	return srv_mailbox_reply(req, m->id, 200);
}

int
srv_h_mailbox_update(struct srv_req *req)
{
	const char *name, *parent;
	struct api_mailbox m;
	bool has_parent;
	int rc;

	if (srv_mailbox_body(req, false, &name, &parent, &has_parent) != 0)
		return -1;
	rc = srv_mailbox_load(req->db, req->account_id, req->params[0], &m);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no mailbox %s",
		                req->params[0]);
	rc = srv_mailbox_apply(req, &m, name != NULL ? name : m.name,
	                       has_parent ? parent : m.parent_id);
	api_mailbox_free(&m);
	return rc;
}

/*
 * Destroys a message that the mailbox was the last home of (see
 * srv_message_destroy).
 */
static int SB_WUR
srv_mailbox_drop_message(struct srv_req *req, const char *message_id,
                         int64_t modseq)
{
	sqlite3_stmt *st;
	char *blob_id = NULL;
	int rc;

	st = srv_db_prepare(req->db, "SELECT blob_id FROM messages WHERE "
	                             "id = ?1 AND account_id = ?2");
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		blob_id = srv_column_dup(st, 0);
	sqlite3_finalize(st);
	if (blob_id == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	rc = srv_message_destroy(req, message_id, blob_id, modseq);
	free(blob_id);
	return rc;
}

/* The ids of the messages in a mailbox (all the account's). */
static int SB_WUR
srv_mailbox_message_ids(struct srv_req *req, const char *mailbox_id,
                        struct api_strings *ids_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT x.message_id FROM message_mailboxes x JOIN "
	                 "messages m ON m.id = x.message_id WHERE "
	                 "x.mailbox_id = ?1 AND m.account_id = ?2");
	int rc;

	sqlite3_bind_text(st, 1, mailbox_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		api_strings_add(ids_r,
		                (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* How many mailboxes a message is in, or -1. */
static int64_t SB_WUR
srv_message_mailbox_count(sqlite3 *db, const char *message_id)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT COUNT(*) FROM message_mailboxes WHERE "
	            "message_id = ?1");
	int64_t n = -1;

	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * Takes one message out of a mailbox: it is updated when it is still in
 * another mailbox, destroyed otherwise.
 */
static int SB_WUR
srv_mailbox_take_out(struct srv_req *req, const char *mailbox_id,
                     const char *message_id, int64_t modseq)
{
	sqlite3_stmt *st;
	int64_t left;

	st = srv_db_prepare(req->db, "DELETE FROM message_mailboxes WHERE "
	                             "message_id = ?1 AND mailbox_id = ?2");
	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0 ||
	    (left = srv_message_mailbox_count(req->db, message_id)) < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (left == 0)
		return srv_mailbox_drop_message(req, message_id, modseq);
	if (srv_change(req->db, req->account_id, modseq, 'm', message_id,
	               'u') != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	return 0;
}

/* Takes every message out of a mailbox. */
static int SB_WUR
srv_mailbox_empty(struct srv_req *req, const char *mailbox_id, int64_t modseq)
{
	struct api_strings ids = {NULL, 0};
	size_t i;
	int rc = 0;

	if (srv_mailbox_message_ids(req, mailbox_id, &ids) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	for (i = 0; i < ids.count && rc == 0; i++)
		rc = srv_mailbox_take_out(req, mailbox_id, ids.items[i],
		                          modseq);
	api_strings_free(&ids);
	return rc;
}

/* Fails with conflict when the mailbox has children. */
static int SB_WUR
srv_mailbox_check_leaf(struct srv_req *req, const char *id)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT 1 FROM mailboxes WHERE parent_id = ?1 AND "
	                 "account_id = ?2");
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	rc = srv_db_exists(st);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc > 0)
		return srv_fail(req, API_ERR_CONFLICT,
		                "the mailbox has mailboxes under it");
	return 0;
}

/* Deletes mailbox m, which may be deleted, emptying it first. */
static int SB_WUR
srv_mailbox_remove(struct srv_req *req, const struct api_mailbox *m)
{
	sqlite3_stmt *st;
	int64_t modseq;

	if (srv_bump(req->db, req->account_id, &modseq) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (m->total > 0 && srv_mailbox_empty(req, m->id, modseq) != 0)
		return -1;
	st = srv_db_prepare(req->db, "DELETE FROM mailboxes WHERE id = ?1 AND "
	                             "account_id = ?2");
	sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0 ||
	    srv_change(req->db, req->account_id, modseq, 'b', m->id, 'd') !=
	            0 ||
	    srv_prune_changes(req->db, req->account_id,
	                      req->srv->config.changes_keep) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot delete the mailbox");
	srv_reply(req, 204, NULL);
	return 0;
}

int
srv_h_mailbox_delete(struct srv_req *req)
{
	const char *remove = srv_query(req, "remove_messages");
	struct api_mailbox m;
	int rc;

	if (remove != NULL && strcmp(remove, "true") != 0 &&
	    strcmp(remove, "false") != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'remove_messages' must "
		                "be true or false");
	rc = srv_mailbox_load(req->db, req->account_id, req->params[0], &m);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no mailbox %s",
		                req->params[0]);
	if (m.role != NULL)
		rc = srv_fail(req, API_ERR_CONFLICT,
		              "the %s mailbox cannot be deleted", m.role);
	else if (srv_mailbox_check_leaf(req, m.id) != 0)
		rc = -1;
	else if (m.total > 0 && (remove == NULL || strcmp(remove, "true") != 0))
		rc = srv_fail(req, API_ERR_CONFLICT,
		              "the mailbox holds messages; delete it with "
		              "remove_messages=true");
	else
		rc = srv_mailbox_remove(req, &m);
	api_mailbox_free(&m);
	return rc;
}

/* Reads a state string "s<modseq>". */
static int SB_WUR
srv_parse_state(const char *state, int64_t *modseq_r)
{
	uint64_t v;

	if (state[0] != 's' ||
	    srv_parse_number(state + 1, strlen(state + 1), INT64_MAX, &v) != 0)
		return -1;
	*modseq_r = (int64_t)v;
	return 0;
}

/*
 * Chooses how far an answer goes: whole modseqs after since, until the
 * next would bring the distinct ids past max (at least one is taken).
 * Each id counts once, at the first modseq that names it, so a modseq
 * that only names ids already counted comes for free. *upto_r gets the
 * last modseq taken (current when all are), *has_more_r whether any
 * change lies after it.
 */
static int SB_WUR
srv_changes_cut(struct srv_req *req, int64_t since, uint64_t max,
                int64_t current, int64_t *upto_r, bool *has_more_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT first, COUNT(*) FROM (SELECT MIN(modseq) AS "
	                 "first FROM changes WHERE account_id = ?1 AND "
	                 "modseq > ?2 GROUP BY kind, object_id) "
	                 "GROUP BY first ORDER BY first");
	uint64_t taken = 0, n;
	int rc;

	*upto_r = current;
	*has_more_r = false;
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = (uint64_t)sqlite3_column_int64(st, 1);
		if (taken > 0 && taken + n > max) {
			*upto_r = sqlite3_column_int64(st, 0) - 1;
			*has_more_r = true;
			rc = SQLITE_DONE;
			break;
		}
		taken += n;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Files one object's changes in the window by JMAP's rules. */
static void
srv_changes_file(struct api_changes *c, char kind, const char *id, bool created,
                 char last_op)
{
	struct api_change_ids *ids;

	if (kind == 'm')
		ids = &c->messages;
	else if (kind == 'b')
		ids = &c->mailboxes;
	else
		return;
	/* Made and gone in the window: the client never knew it. */
	if (created && last_op == 'd')
		return;
	if (created)
		api_strings_add(&ids->created, id);
	else if (last_op == 'd')
		api_strings_add(&ids->destroyed, id);
	else
		api_strings_add(&ids->updated, id);
}

/* Collects the changes after since up to upto, one entry per object. */
static int SB_WUR
srv_changes_collect(struct srv_req *req, int64_t since, int64_t upto,
                    struct api_changes *c)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT kind, object_id, op FROM changes WHERE "
	                 "account_id = ?1 AND modseq > ?2 AND modseq <= ?3 "
	                 "ORDER BY kind, object_id, modseq, rowid");
	char id[API_ID_MAX + 1] = "", kind = '\0', last_op = '\0';
	bool created = false;
	const char *row_id, *row_kind, *row_op;
	int rc;

	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_kind = (const char *)sqlite3_column_text(st, 0);
		row_id = (const char *)sqlite3_column_text(st, 1);
		row_op = (const char *)sqlite3_column_text(st, 2);
		if (row_kind == NULL || row_id == NULL || row_op == NULL)
			continue;
		if (row_kind[0] != kind || strcmp(row_id, id) != 0) {
			if (kind != '\0')
				srv_changes_file(c, kind, id, created, last_op);
			kind = row_kind[0];
			snprintf(id, sizeof(id), "%s", row_id);
			created = false;
		}
		created = created || row_op[0] == 'c';
		last_op = row_op[0];
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -1;
	if (kind != '\0')
		srv_changes_file(c, kind, id, created, last_op);
	return 0;
}

/* The account's modseq and the oldest state its change log answers. */
static int SB_WUR
srv_changes_bounds(struct srv_req *req, int64_t *current_r, int64_t *floor_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT modseq, changes_floor FROM accounts WHERE "
	                 "id = ?1");
	int rc;

	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*current_r = sqlite3_column_int64(st, 0);
		*floor_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
srv_h_changes(struct srv_req *req)
{
	const char *since_s = srv_query(req, "since");
	const char *max_s = srv_query(req, "max");
	int64_t since, current, floor, upto;
	char state[SRV_STATE_SIZE];
	struct api_changes c;
	uint64_t max = 500;
	bool has_more;

	if (since_s == NULL || srv_parse_state(since_s, &since) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'since' must be a state");
	if (max_s != NULL && (srv_parse_number(max_s, strlen(max_s),
	                                       API_MAX_CHANGES, &max) != 0 ||
	                      max == 0))
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'max' must be 1..%d",
		                API_MAX_CHANGES);
	if (srv_changes_bounds(req, &current, &floor) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (since > current)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the state '%s' is not one of this account",
		                since_s);
	if (since < floor)
		return srv_fail(req, API_ERR_CANNOT_CALCULATE_CHANGES,
		                "the state '%s' is older than the change log; "
		                "list everything again",
		                since_s);
	memset(&c, 0, sizeof(c));
	if (srv_changes_cut(req, since, max, current, &upto, &has_more) != 0 ||
	    srv_changes_collect(req, since, upto, &c) != 0) {
		api_changes_free(&c);
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	}
	snprintf(state, sizeof(state), "s%lld", (long long)upto);
	c.old_state = sb_strdup(since_s);
	c.new_state = sb_strdup(state);
	c.has_more = has_more;
	srv_reply(req, 200, api_changes_to_json(&c));
	api_changes_free(&c);
	return 0;
}
