/*
 * Messages (docs/api.md, Messages): the list with cursors that survive
 * changes, one message, import, keyword and mailbox updates, destroy; and
 * filing a message for submissions and delivery.
 */
#include "server-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

/* A message with its mailboxes; ?1 is the account. */
#define SRV_MESSAGE_SELECT                                                   \
	"SELECT m.id, m.blob_id, m.size, m.received_at, m.summary, "         \
	"m.key_packet, m.keywords, (SELECT group_concat(x.mailbox_id, ' ') " \
	"FROM message_mailboxes x WHERE x.message_id = m.id) "               \
	"FROM messages m WHERE m.account_id = ?1"

/* The list's filters and page: ?2 mailbox, ?3 and ?4 cursor, ?5 limit. */
#define SRV_IN_MAILBOX                                            \
	" AND m.id IN (SELECT message_id FROM message_mailboxes " \
	"WHERE mailbox_id = ?2)"
#define SRV_AFTER " AND (m.received_at, m.id) < (?3, ?4)"
#define SRV_PAGE  " ORDER BY m.received_at DESC, m.id DESC LIMIT ?5"

static const char *const srv_list_sql[] = {
        SRV_MESSAGE_SELECT SRV_PAGE,
        SRV_MESSAGE_SELECT SRV_IN_MAILBOX SRV_PAGE,
        SRV_MESSAGE_SELECT SRV_AFTER SRV_PAGE,
        SRV_MESSAGE_SELECT SRV_IN_MAILBOX SRV_AFTER SRV_PAGE,
};

/* "c", received_at, "_", the id. */
#define SRV_CURSOR_SIZE  (1 + 20 + 1 + API_ID_MAX + 1)
#define SRV_DEFAULT_PAGE 100

static int
srv_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts a set of strings, so that answers and stored text are stable. */
static void
srv_strings_sort(struct api_strings *list)
{
	if (list->count > 1)
		qsort(list->items, list->count, sizeof(char *), srv_cmp_str);
}

/* Adds the space-separated words of s (NULL: none) to list, sorted. */
static void
srv_strings_split(const char *s, struct api_strings *list)
{
	size_t len;
	char *word;

	while (s != NULL && *s != '\0') {
		len = strcspn(s, " ");
		if (len > 0) {
			word = sb_strndup(s, len);
			api_strings_add(list, word);
			free(word);
		}
		s += len;
		s += strspn(s, " ");
	}
	srv_strings_sort(list);
}

/* The keywords as stored: sorted, space-separated. malloc'd. */
char *
srv_keywords_text(const struct api_strings *keywords)
{
	struct api_strings sorted = {NULL, 0};
	size_t i, len = 1;
	char *text, *p;

	for (i = 0; keywords != NULL && i < keywords->count; i++) {
		api_strings_add(&sorted, keywords->items[i]);
		len += strlen(keywords->items[i]) + 1;
	}
	srv_strings_sort(&sorted);
	text = p = sb_malloc(len);
	*p = '\0';
	for (i = 0; i < sorted.count; i++) {
		len = strlen(sorted.items[i]);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, sorted.items[i], len);
		p += len;
		*p = '\0';
	}
	api_strings_free(&sorted);
	return text;
}

/* Fills m (initialised here) from a row of SRV_MESSAGE_SELECT. */
static int SB_WUR
srv_message_from_row(sqlite3_stmt *st, struct api_message *m)
{
	const void *summary = sqlite3_column_blob(st, 4);
	int summary_len = sqlite3_column_bytes(st, 4);

	api_message_init(m);
	m->id = srv_column_dup(st, 0);
	m->blob_id = srv_column_dup(st, 1);
	m->size = (uint64_t)sqlite3_column_int64(st, 2);
	m->received_at = (uint64_t)sqlite3_column_int64(st, 3);
	if (m->id == NULL || m->blob_id == NULL || summary == NULL ||
	    sb_buf_add(&m->summary, summary, (size_t)summary_len) != 0 ||
	    sqlite3_column_bytes(st, 5) != API_KEY_PACKET_BYTES)
		return -1;
	memcpy(m->key_packet, sqlite3_column_blob(st, 5), API_KEY_PACKET_BYTES);
	srv_strings_split((const char *)sqlite3_column_text(st, 6),
	                  &m->keywords);
	srv_strings_split((const char *)sqlite3_column_text(st, 7),
	                  &m->mailbox_ids);
	return 0;
}

/* Loads one of the account's messages: 1 found, 0 not, -1 error. */
int
srv_message_load(sqlite3 *db, const char *account_id, const char *id,
                 struct api_message *m_r)
{
	sqlite3_stmt *st =
	        srv_db_prepare(db, SRV_MESSAGE_SELECT " AND m.id = ?2");
	int rc, ret;

	api_message_init(m_r);
	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ret = srv_message_from_row(st, m_r) == 0 ? 1 : -1;
	else
		ret = rc == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return ret;
}

/* Whether a mailbox is the account's: 1, 0, or -1 on error. */
static int SB_WUR
srv_mailbox_owned(sqlite3 *db, const char *account_id, const char *id)
{
	sqlite3_stmt *st =
	        srv_db_prepare(db, "SELECT 1 FROM mailboxes WHERE id = ?1 AND "
	                           "account_id = ?2");
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Checks that every mailbox of a list is the account's. Returns 0, 1 with
 * *missing_r set to the first that is not, or -1 on error.
 */
int
srv_mailboxes_owned(sqlite3 *db, const char *account_id,
                    const struct api_strings *ids, const char **missing_r)
{
	size_t i;
	int rc;

	for (i = 0; i < ids->count; i++) {
		rc = srv_mailbox_owned(db, account_id, ids->items[i]);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			*missing_r = ids->items[i];
			return 1;
		}
	}
	return 0;
}

/*
 * Counts a summary's bytes in an account's quota (bytes > 0) or gives
 * them back (bytes < 0). Filing is never refused here: an import and a
 * submission check the limit first, and mail from outside is counted, not
 * refused.
 */
int
srv_summary_quota(sqlite3 *db, const char *account_id, int64_t bytes)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "UPDATE accounts SET quota_used = MAX(0, quota_used + ?2) "
	            "WHERE id = ?1");

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, bytes);
	return srv_db_step_done(st);
}

int
srv_message_insert(sqlite3 *db, const struct srv_new_message *m, int64_t modseq,
                   char id_r[SRV_ID_SIZE])
{
	sqlite3_stmt *st;
	char *keywords;
	size_t i;
	int rc;

	if (m->mailbox_ids == NULL || m->mailbox_ids->count == 0)
		return -1;
	srv_new_id("m", id_r);
	keywords = srv_keywords_text(m->keywords);
	st = srv_db_prepare(db, "INSERT INTO messages(id, account_id, "
	                        "blob_id, size, received_at, summary, "
	                        "key_packet, keywords, charged_to) VALUES(?1, "
	                        "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	sqlite3_bind_text(st, 1, id_r, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, m->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, m->blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)m->size);
	sqlite3_bind_int64(st, 5, (int64_t)m->received_at);
	sqlite3_bind_blob(st, 6, m->summary, (int)m->summary_len,
	                  SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, m->key_packet, API_KEY_PACKET_BYTES,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 8, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, m->charged_to, -1, SQLITE_STATIC);
	rc = srv_db_step_done(st);
	free(keywords);
	if (rc != 0)
		return -1;
	for (i = 0; i < m->mailbox_ids->count; i++) {
		/* Only a mailbox of the account takes the message. */
		st = srv_db_prepare(db, "INSERT INTO message_mailboxes("
		                        "message_id, mailbox_id) SELECT ?1, "
		                        "id FROM mailboxes WHERE id = ?2 AND "
		                        "account_id = ?3");
		sqlite3_bind_text(st, 1, id_r, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, m->mailbox_ids->items[i], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, m->account_id, -1, SQLITE_STATIC);
		if (srv_db_step_done(st) != 0 || sqlite3_changes(db) != 1 ||
		    srv_change(db, m->account_id, modseq, 'b',
		               m->mailbox_ids->items[i], 'u') != 0)
			return -1;
	}
	if (m->charged_to == NULL &&
	    srv_summary_quota(db, m->account_id, (int64_t)m->summary_len) != 0)
		return -1;
	return srv_change(db, m->account_id, modseq, 'm', id_r, 'c');
}

int
srv_h_message_get(struct srv_req *req)
{
	struct api_message m;
	int rc;

	rc = srv_message_load(req->db, req->account_id, req->params[0], &m);
	if (rc > 0)
		srv_reply(req, 200, api_message_to_json(&m));
	api_message_free(&m);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no message %s",
		                req->params[0]);
	return 0;
}

/* Reads a cursor "c<received_at>_<id>" into its position. */
static int SB_WUR
srv_cursor_decode(const char *cursor, uint64_t *received_at_r,
                  char id_r[API_ID_MAX + 1])
{
	const char *sep;

	if (cursor[0] != 'c' || (sep = strchr(cursor, '_')) == NULL ||
	    srv_parse_number(cursor + 1, (size_t)(sep - cursor - 1), INT64_MAX,
	                     received_at_r) != 0 ||
	    !api_is_id(sep + 1, strlen(sep + 1)))
		return -1;
	snprintf(id_r, API_ID_MAX + 1, "%s", sep + 1);
	return 0;
}

/* The list's query parameters, checked. */
struct srv_list_query {
	const char *mailbox_id; /* NULL: every message */
	uint64_t limit;
	bool after; /* a cursor was given */
	uint64_t after_time;
	char after_id[API_ID_MAX + 1];
};

static int SB_WUR
srv_list_query_parse(struct srv_req *req, struct srv_list_query *q)
{
	const char *limit = srv_query(req, "limit");
	const char *cursor = srv_query(req, "cursor");
	int rc;

	memset(q, 0, sizeof(*q));
	q->limit = SRV_DEFAULT_PAGE;
	q->mailbox_id = srv_query(req, "mailbox_id");
	if (limit != NULL && (srv_parse_number(limit, strlen(limit),
	                                       API_MAX_PAGE, &q->limit) != 0 ||
	                      q->limit == 0))
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'limit' must be 1..%d",
		                API_MAX_PAGE);
	if (cursor != NULL &&
	    srv_cursor_decode(cursor, &q->after_time, q->after_id) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'cursor' is not a cursor "
		                "this server gave");
	q->after = cursor != NULL;
	if (q->mailbox_id == NULL)
		return 0;
	if (!api_is_id(q->mailbox_id, strlen(q->mailbox_id)))
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'mailbox_id' must be an "
		                "id");
	rc = srv_mailbox_owned(req->db, req->account_id, q->mailbox_id);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no mailbox %s",
		                q->mailbox_id);
	return 0;
}

/*
 * Runs the list query: up to q->limit messages into list, and the cursor
 * of the last one into next_r when more follow (else next_r is "").
 */
static int SB_WUR
srv_list_page(struct srv_req *req, const struct srv_list_query *q,
              struct json_object *list, char next_r[SRV_CURSOR_SIZE])
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, srv_list_sql[(q->mailbox_id != NULL ? 1 : 0) |
	                              (q->after ? 2 : 0)]);
	struct api_message m;
	uint64_t n = 0;
	int rc;

	next_r[0] = '\0';
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, q->mailbox_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)q->after_time);
	sqlite3_bind_text(st, 4, q->after_id, -1, SQLITE_STATIC);
	/* One more than asked tells whether another page follows. */
	sqlite3_bind_int64(st, 5, (int64_t)q->limit + 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == q->limit) {
			rc = SQLITE_DONE;
			break;
		}
		if (srv_message_from_row(st, &m) != 0) {
			api_message_free(&m);
			break;
		}
		json_object_array_add(list, api_message_to_json(&m));
		snprintf(next_r, SRV_CURSOR_SIZE, "c%llu_%s",
		         (unsigned long long)m.received_at, m.id);
		api_message_free(&m);
	}
	sqlite3_finalize(st);
	if (n <= q->limit)
		next_r[0] = '\0';
	return rc == SQLITE_DONE ? 0 : -1;
}

int
srv_h_messages_list(struct srv_req *req)
{
	struct json_object *out, *list;
	struct srv_list_query q;
	char next[SRV_CURSOR_SIZE];
	char *state;

	if (srv_list_query_parse(req, &q) != 0)
		return -1;
	/* The state first: an answer may be newer than it, never older. */
	state = srv_state(req->db, req->account_id);
	if (state == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	list = json_object_new_array();
	if (srv_list_page(req, &q, list, next) != 0) {
		json_object_put(list);
		free(state);
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	}
	out = json_object_new_object();
	json_object_object_add(out, "messages", list);
	api_json_add_string_or_null(out, "next_cursor",
	                            next[0] != '\0' ? next : NULL);
	api_json_add_string(out, "state", state);
	free(state);
	srv_reply(req, 200, out);
	return 0;
}

/* Fails with over_quota when a summary would pass the account's quota. */
static int SB_WUR
srv_import_check_quota(struct srv_req *req, uint64_t bytes)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT quota_used FROM accounts WHERE id = ?1");
	uint64_t limit = req->srv->config.quota, used = UINT64_MAX;

	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		used = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (used == UINT64_MAX)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (used > limit || bytes > limit - used)
		return srv_fail(req, API_ERR_OVER_QUOTA,
		                "this would pass the account's quota of %llu "
		                "bytes",
		                (unsigned long long)limit);
	return 0;
}

/* Files an import once its mailboxes and blob are checked. */
static int SB_WUR
srv_import_file(struct srv_req *req, const struct api_import *im, uint64_t size,
                char id_r[SRV_ID_SIZE])
{
	struct srv_new_message nm;
	int64_t modseq;

	memset(&nm, 0, sizeof(nm));
	nm.account_id = req->account_id;
	nm.blob_id = im->blob_id;
	nm.size = size;
	nm.received_at = im->received_at != 0 ? im->received_at : srv_now();
	nm.summary = im->summary.data;
	nm.summary_len = im->summary.len;
	nm.key_packet = im->key_packet;
	nm.mailbox_ids = &im->mailbox_ids;
	nm.keywords = &im->keywords;
	if (srv_bump(req->db, req->account_id, &modseq) != 0 ||
	    srv_message_insert(req->db, &nm, modseq, id_r) != 0 ||
	    srv_prune_changes(req->db, req->account_id,
	                      req->srv->config.changes_keep) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot file the message");
	return 0;
}

int
srv_h_messages_import(struct srv_req *req)
{
	const char *error, *missing = NULL;
	struct api_message m;
	struct api_import im;
	char id[SRV_ID_SIZE];
	uint64_t size;
	int rc;

	if (api_import_decode(req->json, API_STRICT, &im, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	rc = srv_mailboxes_owned(req->db, req->account_id, &im.mailbox_ids,
	                         &missing);
	if (rc < 0)
		rc = srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	else if (rc > 0)
		rc = srv_fail(req, API_ERR_NOT_FOUND, "no mailbox %s", missing);
	else if (srv_blob_claim(req, im.blob_id, &size) != 0 ||
	         srv_import_check_quota(req, im.summary.len) != 0 ||
	         srv_import_file(req, &im, size, id) != 0)
		rc = -1;
	api_import_free(&im);
	if (rc != 0)
		return req->failed ? -1
		                   : srv_fail(req, API_ERR_SERVER_ERROR,
		                              "cannot import the message");
	if (srv_message_load(req->db, req->account_id, id, &m) != 1) {
		api_message_free(&m);
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot read the message back");
	}
	srv_reply(req, 201, api_message_to_json(&m));
	api_message_free(&m);
	return 0;
}

int
srv_message_destroy(struct srv_req *req, const char *id, const char *blob_id,
                    int64_t modseq)
{
	char *charged = NULL;
	int64_t bytes = 0;
	sqlite3_stmt *st;
	int rc;

	st = srv_db_prepare(req->db, "DELETE FROM message_mailboxes WHERE "
	                             "message_id = ?1");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	/* The summary's bytes go back to whom they were charged to. */
	st = srv_db_prepare(req->db,
	                    "DELETE FROM messages WHERE id = ?1 AND "
	                    "account_id = ?2 RETURNING COALESCE(charged_to, "
	                    "account_id), length(summary)");
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		charged = srv_column_dup(st, 0);
		bytes = sqlite3_column_int64(st, 1);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || charged == NULL ||
	    srv_summary_quota(req->db, charged, -bytes) != 0 ||
	    srv_blob_unref(req, req->db, req->srv->blob_dir, blob_id, NULL) !=
	            0 ||
	    srv_change(req->db, req->account_id, modseq, 'm', id, 'd') != 0) {
		free(charged);
		return req->failed ? -1
		                   : srv_fail(req, API_ERR_SERVER_ERROR,
		                              "cannot destroy message %s", id);
	}
	free(charged);
	return 0;
}
