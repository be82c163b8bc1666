/* Typed calls of the API over api_call; see calls.h. */
#include "calls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "api-private.h"

/* The longest path with its query that a call builds. */
#define API_PATH_MAX 1024

/* Fails before anything is sent: the API would refuse the argument. */
static int SB_WUR
api_refuse(struct api_reply *r, const char *why)
{
	api_reply_clear(r);
	r->error = API_ERR_INVALID_REQUEST;
	snprintf(r->message, sizeof(r->message), "%s", why);
	return -1;
}

/* Fails on an answer that did not decode as what it should be. */
static int SB_WUR
api_malformed(struct api_reply *r, const char *what, const char *error)
{
	r->error = API_ERR_SERVER_ERROR;
	snprintf(r->message, sizeof(r->message),
	         "the service sent a malformed %s: %s", what, error);
	return -1;
}

/* Fails on a 2xx answer without a JSON body. */
static int SB_WUR
api_need_json(struct api_reply *r, const char *what)
{
	if (r->json != NULL)
		return 0;
	return api_malformed(r, what, "no body");
}

static bool
api_id_ok(const char *id)
{
	return id != NULL && api_is_id(id, strlen(id));
}

/* Adds "?name=value" or "&name=value", value percent-encoded. */
static int SB_WUR
api_query_add(struct sb_buf *b, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *v = (const unsigned char *)value;
	char sep = memchr(b->data, '?', b->len) != NULL ? '&' : '?';

	if (sb_buf_add_char(b, sep) != 0 || sb_buf_add_str(b, name) != 0 ||
	    sb_buf_add_char(b, '=') != 0)
		return -1;
	for (; *v != '\0'; v++) {
		bool plain = (*v >= 'a' && *v <= 'z') ||
		             (*v >= 'A' && *v <= 'Z') ||
		             (*v >= '0' && *v <= '9') || *v == '-' ||
		             *v == '.' || *v == '_' || *v == '~';
		char esc[3] = {'%', hex[*v >> 4], hex[*v & 0xf]};

		if ((plain && sb_buf_add_char(b, (char)*v) != 0) ||
		    (!plain && sb_buf_add(b, esc, 3) != 0))
			return -1;
	}
	return 0;
}

/* "/api/v1/<what>/<id>" into b, the id checked first. */
static int SB_WUR
api_id_path(struct sb_buf *b, const char *what, const char *id)
{
	sb_buf_init(b, API_PATH_MAX);
	if (!api_id_ok(id))
		return -1;
	return sb_buf_add_printf(b, "/api/v1/%s/%s", what, id);
}

int
api_prelogin(struct api_client *c, const char *email, struct api_kdf *kdf_r,
             struct api_reply *r)
{
	struct json_object *body, *kdf;
	const char *error;
	int ret;

	if (email == NULL || !api_is_email(email, strlen(email)))
		return api_refuse(r, "not an address");
	body = json_object_new_object();
	api_json_add_string(body, "email", email);
	ret = api_call(c, "POST", "/api/v1/auth/prelogin", body, r);
	json_object_put(body);
	if (ret != 0 || api_need_json(r, "prelogin answer") != 0)
		return -1;
	if (api_json_get_object(r->json, "kdf", true, &kdf, &error) != 0 ||
	    api_kdf_decode(kdf, API_LENIENT, kdf_r, &error) != 0)
		return api_malformed(r, "prelogin answer", error);
	return 0;
}

int
api_login(struct api_client *c, const char *email,
          const unsigned char auth_key[API_KEY_BYTES],
          struct api_session *session_r, struct api_reply *r)
{
	struct json_object *body;
	const char *error, *text;
	size_t len;
	int ret;

	if (email == NULL || !api_is_email(email, strlen(email)))
		return api_refuse(r, "not an address");
	body = json_object_new_object();
	api_json_add_string(body, "email", email);
	api_json_add_bytes(body, "auth_key", auth_key, API_KEY_BYTES);
	/* Drop the old session first: login needs none. */
	api_client_set_session(c, NULL, NULL);
	ret = api_call(c, "POST", "/api/v1/auth/login", body, r);
	/* The body holds the auth key: wipe it, and its text. */
	text = api_json_text(body, &len);
	explicit_bzero((char *)text, len);
	text = json_object_get_string(json_object_object_get(body, "auth_key"));
	explicit_bzero((char *)text, strlen(text));
	json_object_put(body);
	if (ret != 0 || api_need_json(r, "session") != 0)
		return -1;
	if (api_session_decode(r->json, API_LENIENT, session_r, &error) != 0)
		return api_malformed(r, "session", error);
	api_client_set_session(c, session_r->access_token,
	                       session_r->refresh_token);
	return 0;
}

int
api_logout(struct api_client *c, struct api_reply *r)
{
	int ret = api_call(c, "POST", "/api/v1/auth/logout", NULL, r);

	api_client_set_session(c, NULL, NULL);
	return ret;
}

int
api_account_get(struct api_client *c, struct api_account *account_r,
                struct api_reply *r)
{
	const char *error;

	if (api_call(c, "GET", "/api/v1/account", NULL, r) != 0 ||
	    api_need_json(r, "account") != 0)
		return -1;
	if (api_account_decode(r->json, API_LENIENT, account_r, &error) != 0)
		return api_malformed(r, "account", error);
	return 0;
}

int
api_key_lookup_get(struct api_client *c, const char *email,
                   struct api_key_lookup *lookup_r, struct api_reply *r)
{
	struct sb_buf path;
	const char *error;
	int ret;

	if (email == NULL || !api_is_email(email, strlen(email)))
		return api_refuse(r, "not an address");
	sb_buf_init(&path, API_PATH_MAX);
	if (sb_buf_add_str(&path, "/api/v1/keys") != 0 ||
	    api_query_add(&path, "email", email) != 0)
		return api_refuse(r, "the address is too long");
	ret = api_call(c, "GET", sb_buf_str(&path), NULL, r);
	sb_buf_free(&path);
	if (ret != 0 || api_need_json(r, "key lookup") != 0)
		return -1;
	if (api_key_lookup_decode(r->json, API_LENIENT, lookup_r, &error) != 0)
		return api_malformed(r, "key lookup", error);
	return 0;
}

int
api_mailboxes_get(struct api_client *c, struct api_mailbox_list *list_r,
                  struct api_reply *r)
{
	const char *error;

	if (api_call(c, "GET", "/api/v1/mailboxes", NULL, r) != 0 ||
	    api_need_json(r, "mailbox list") != 0)
		return -1;
	if (api_mailbox_list_decode(r->json, API_LENIENT, list_r, &error) != 0)
		return api_malformed(r, "mailbox list", error);
	return 0;
}

/* Sends a mailbox's fields to path and reads the mailbox back. */
static int SB_WUR
api_mailbox_write(struct api_client *c, const char *method, const char *path,
                  struct json_object *body, const char *idem_key,
                  struct api_mailbox *mailbox_r, struct api_reply *r)
{
	const char *error;
	int ret = api_call_idem(c, method, path, body, idem_key, r);

	json_object_put(body);
	if (ret != 0 || api_need_json(r, "mailbox") != 0)
		return -1;
	if (api_mailbox_decode(r->json, API_LENIENT, mailbox_r, &error) != 0)
		return api_malformed(r, "mailbox", error);
	return 0;
}

int
api_mailbox_create(struct api_client *c, const char *name,
                   const char *parent_id, struct api_mailbox *mailbox_r,
                   struct api_reply *r)
{
	return api_mailbox_create_idem(c, name, parent_id, NULL, mailbox_r, r);
}

int
api_mailbox_create_idem(struct api_client *c, const char *name,
                        const char *parent_id, const char *idem_key,
                        struct api_mailbox *mailbox_r, struct api_reply *r)
{
	struct json_object *body;

	if (name == NULL || !api_is_mailbox_name(name, strlen(name)))
		return api_refuse(r, "not a mailbox name");
	if (parent_id != NULL && !api_id_ok(parent_id))
		return api_refuse(r, "not a mailbox id");
	body = json_object_new_object();
	api_json_add_string(body, "name", name);
	api_json_add_string_or_null(body, "parent_id", parent_id);
	return api_mailbox_write(c, "POST", "/api/v1/mailboxes", body, idem_key,
	                         mailbox_r, r);
}

int
api_mailbox_update(struct api_client *c, const char *id, const char *name,
                   bool move, const char *parent_id,
                   struct api_mailbox *mailbox_r, struct api_reply *r)
{
	return api_mailbox_update_idem(c, id, name, move, parent_id, NULL,
	                               mailbox_r, r);
}

int
api_mailbox_update_idem(struct api_client *c, const char *id, const char *name,
                        bool move, const char *parent_id, const char *idem_key,
                        struct api_mailbox *mailbox_r, struct api_reply *r)
{
	struct json_object *body;
	struct sb_buf path;
	int ret;

	if (name != NULL && !api_is_mailbox_name(name, strlen(name)))
		return api_refuse(r, "not a mailbox name");
	if (move && parent_id != NULL && !api_id_ok(parent_id))
		return api_refuse(r, "not a mailbox id");
	if (api_id_path(&path, "mailboxes", id) != 0)
		return api_refuse(r, "not a mailbox id");
	body = json_object_new_object();
	if (name != NULL)
		api_json_add_string(body, "name", name);
	if (move)
		api_json_add_string_or_null(body, "parent_id", parent_id);
	ret = api_mailbox_write(c, "PATCH", sb_buf_str(&path), body, idem_key,
	                        mailbox_r, r);
	sb_buf_free(&path);
	return ret;
}

int
api_mailbox_delete(struct api_client *c, const char *id, bool remove_messages,
                   struct api_reply *r)
{
	return api_mailbox_delete_idem(c, id, remove_messages, NULL, r);
}

int
api_mailbox_delete_idem(struct api_client *c, const char *id,
                        bool remove_messages, const char *idem_key,
                        struct api_reply *r)
{
	struct sb_buf path;
	int ret;

	if (api_id_path(&path, "mailboxes", id) != 0 ||
	    (remove_messages &&
	     api_query_add(&path, "remove_messages", "true") != 0))
		return api_refuse(r, "not a mailbox id");
	ret = api_call_idem(c, "DELETE", sb_buf_str(&path), NULL, idem_key, r);
	sb_buf_free(&path);
	return ret;
}

int
api_messages_page(struct api_client *c, const char *mailbox_id, unsigned limit,
                  const char *cursor, struct api_message_page *page_r,
                  struct api_reply *r)
{
	struct sb_buf path;
	const char *error;
	char num[16];
	int ret;

	if (limit < 1 || limit > API_MAX_PAGE)
		return api_refuse(r, "the limit must be 1 to 500");
	if (mailbox_id != NULL && !api_id_ok(mailbox_id))
		return api_refuse(r, "not a mailbox id");
	if (cursor != NULL &&
	    (cursor[0] == '\0' || strlen(cursor) > API_CURSOR_MAX))
		return api_refuse(r, "not a cursor");
	snprintf(num, sizeof(num), "%u", limit);
	sb_buf_init(&path, API_PATH_MAX);
	if (sb_buf_add_str(&path, "/api/v1/messages") != 0 ||
	    (mailbox_id != NULL &&
	     api_query_add(&path, "mailbox_id", mailbox_id) != 0) ||
	    api_query_add(&path, "limit", num) != 0 ||
	    (cursor != NULL && api_query_add(&path, "cursor", cursor) != 0))
		return api_refuse(r, "the query is too long");
	ret = api_call(c, "GET", sb_buf_str(&path), NULL, r);
	sb_buf_free(&path);
	if (ret != 0 || api_need_json(r, "message page") != 0)
		return -1;
	if (api_message_page_decode(r->json, API_LENIENT, page_r, &error) != 0)
		return api_malformed(r, "message page", error);
	return 0;
}

int
api_message_get(struct api_client *c, const char *id,
                struct api_message *message_r, struct api_reply *r)
{
	struct sb_buf path;
	const char *error;
	int ret;

	if (api_id_path(&path, "messages", id) != 0)
		return api_refuse(r, "not a message id");
	ret = api_call(c, "GET", sb_buf_str(&path), NULL, r);
	sb_buf_free(&path);
	if (ret != 0 || api_need_json(r, "message") != 0)
		return -1;
	if (api_message_decode(r->json, API_LENIENT, message_r, &error) != 0)
		return api_malformed(r, "message", error);
	return 0;
}

int
api_changes_get(struct api_client *c, const char *since, unsigned max,
                struct api_changes *changes_r, struct api_reply *r)
{
	struct sb_buf path;
	const char *error;
	char num[16];
	int ret;

	if (since == NULL || since[0] == '\0' || strlen(since) > API_ID_MAX)
		return api_refuse(r, "not a state");
	if (max > API_MAX_CHANGES)
		return api_refuse(r, "max must be at most 5000");
	snprintf(num, sizeof(num), "%u", max);
	sb_buf_init(&path, API_PATH_MAX);
	if (sb_buf_add_str(&path, "/api/v1/changes") != 0 ||
	    api_query_add(&path, "since", since) != 0 ||
	    (max > 0 && api_query_add(&path, "max", num) != 0))
		return api_refuse(r, "the query is too long");
	ret = api_call(c, "GET", sb_buf_str(&path), NULL, r);
	sb_buf_free(&path);
	if (ret != 0 || api_need_json(r, "change list") != 0)
		return -1;
	if (api_changes_decode(r->json, API_LENIENT, changes_r, &error) != 0)
		return api_malformed(r, "change list", error);
	return 0;
}

int
api_import_post(struct api_client *c, const struct api_import *im,
                struct api_message *message_r, struct api_reply *r)
{
	return api_import_post_idem(c, im, NULL, message_r, r);
}

int
api_import_post_idem(struct api_client *c, const struct api_import *im,
                     const char *idem_key, struct api_message *message_r,
                     struct api_reply *r)
{
	struct json_object *body;
	const char *error;
	int ret;

	if (!api_id_ok(im->blob_id) || im->mailbox_ids.count == 0)
		return api_refuse(r, "an import needs a blob and a mailbox");
	body = api_import_to_json(im);
	ret = api_call_idem(c, "POST", "/api/v1/messages/import", body,
	                    idem_key, r);
	json_object_put(body);
	if (ret != 0 || api_need_json(r, "message") != 0)
		return -1;
	if (api_message_decode(r->json, API_LENIENT, message_r, &error) != 0)
		return api_malformed(r, "message", error);
	return 0;
}

static const char *const api_refusal_fields[] = {"type", "message", NULL};

/* One entry of a "not_updated" or "not_destroyed" map. */
static int SB_WUR
api_set_error_decode(const char *id, struct json_object *val,
                     enum api_mode mode, struct api_set_error *e,
                     const char **error_r)
{
	const char *type = NULL, *message = NULL;

	if (!api_is_id(id, strlen(id)) ||
	    !json_object_is_type(val, json_type_object)) {
		*error_r = "a refusal map must map ids to objects";
		return -1;
	}
	if ((mode == API_STRICT &&
	     api_json_only(val, api_refusal_fields, error_r) != 0) ||
	    api_json_get_string(val, "type", true, 1, 64, &type, error_r) !=
	            0 ||
	    api_json_get_string(val, "message", false, 0, 4096, &message,
	                        error_r) != 0)
		return -1;
	/* A type of a later version counts as a server fault. */
	if (api_error_parse_name(type, &e->type) != 0)
		e->type = API_ERR_SERVER_ERROR;
	e->id = sb_strdup(id);
	e->message = sb_strdup(message != NULL ? message : "");
	return 0;
}

int
api_set_result_decode(struct json_object *obj, enum api_mode mode,
                      const char *done_name, const char *failed_name,
                      struct api_set_result *res, const char **error_r)
{
	const char *const fields[] = {done_name, failed_name, "state", NULL};
	struct json_object *map;
	const char *state = NULL;
	size_t n;

	memset(res, 0, sizeof(*res));
	if ((mode == API_STRICT && api_json_only(obj, fields, error_r) != 0) ||
	    api_json_get_strings(obj, done_name, true, API_MAX_BATCH,
	                         api_check_id, &res->done, error_r) != 0 ||
	    api_json_get_object(obj, failed_name, true, &map, error_r) != 0)
		goto fail;
	n = (size_t)json_object_object_length(map);
	if (n > API_MAX_BATCH) {
		*error_r = api_errorf("field '%s' has more than %d ids",
		                      failed_name, API_MAX_BATCH);
		goto fail;
	}
	res->failed = sb_calloc(n + 1, sizeof(*res->failed));
	json_object_object_foreach(map, id, val)
	{
		if (api_set_error_decode(id, val, mode,
		                         &res->failed[res->n_failed],
		                         error_r) != 0)
			goto fail;
		res->n_failed++;
	}
	if (api_json_get_string(obj, "state", true, 1, API_ID_MAX, &state,
	                        error_r) != 0)
		goto fail;
	res->state = sb_strdup(state);
	return 0;
fail:
	api_set_result_free(res);
	return -1;
}

void
api_set_result_free(struct api_set_result *res)
{
	size_t i;

	api_strings_free(&res->done);
	for (i = 0; i < res->n_failed; i++) {
		free(res->failed[i].id);
		free(res->failed[i].message);
	}
	free(res->failed);
	free(res->state);
	memset(res, 0, sizeof(*res));
}

/* Posts a batch write and reads its set result. */
static int SB_WUR
api_set_post(struct api_client *c, const char *path, struct json_object *body,
             const char *idem_key, const char *done_name,
             const char *failed_name, struct api_set_result *res_r,
             struct api_reply *r)
{
	const char *error;
	int ret = api_call_idem(c, "POST", path, body, idem_key, r);

	json_object_put(body);
	if (ret != 0 || api_need_json(r, "batch answer") != 0)
		return -1;
	if (api_set_result_decode(r->json, API_LENIENT, done_name, failed_name,
	                          res_r, &error) != 0)
		return api_malformed(r, "batch answer", error);
	return 0;
}

int
api_update_post(struct api_client *c, const struct api_update *u,
                struct api_set_result *res_r, struct api_reply *r)
{
	return api_update_post_idem(c, u, NULL, res_r, r);
}

int
api_update_post_idem(struct api_client *c, const struct api_update *u,
                     const char *idem_key, struct api_set_result *res_r,
                     struct api_reply *r)
{
	size_t i;

	if (u->count == 0 || u->count > API_MAX_BATCH)
		return api_refuse(r, "an update names 1 to 500 messages");
	for (i = 0; i < u->count; i++) {
		if (!api_id_ok(u->patches[i].id))
			return api_refuse(r, "not a message id");
	}
	return api_set_post(c, "/api/v1/messages/update", api_update_to_json(u),
	                    idem_key, "updated", "not_updated", res_r, r);
}

int
api_destroy_post(struct api_client *c, const struct api_strings *ids,
                 struct api_set_result *res_r, struct api_reply *r)
{
	return api_destroy_post_idem(c, ids, NULL, res_r, r);
}

int
api_destroy_post_idem(struct api_client *c, const struct api_strings *ids,
                      const char *idem_key, struct api_set_result *res_r,
                      struct api_reply *r)
{
	struct json_object *body;
	size_t i;

	if (ids->count == 0 || ids->count > API_MAX_BATCH)
		return api_refuse(r, "a destroy names 1 to 500 messages");
	for (i = 0; i < ids->count; i++) {
		if (!api_id_ok(ids->items[i]))
			return api_refuse(r, "not a message id");
	}
	body = json_object_new_object();
	json_object_object_add(body, "ids", api_strings_to_json(ids));
	return api_set_post(c, "/api/v1/messages/destroy", body, idem_key,
	                    "destroyed", "not_destroyed", res_r, r);
}

static const char *const api_sub_result_fields[] = {
        "submission_id", "delivered",       "relayed",
        "deferred",      "sent_message_id", NULL};

int
api_submission_result_decode(struct json_object *obj, enum api_mode mode,
                             struct api_submission_result *res,
                             const char **error_r)
{
	const char *id = NULL, *sent = NULL;

	memset(res, 0, sizeof(*res));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_sub_result_fields, error_r) != 0) ||
	    api_json_get_id(obj, "submission_id", true, &id, error_r) != 0 ||
	    api_json_get_strings(obj, "delivered", true, API_MAX_BATCH,
	                         api_check_email, &res->delivered,
	                         error_r) != 0 ||
	    api_json_get_strings(obj, "relayed", true, API_MAX_BATCH,
	                         api_check_email, &res->relayed,
	                         error_r) != 0 ||
	    api_json_get_strings(obj, "deferred", true, API_MAX_BATCH,
	                         api_check_email, &res->deferred,
	                         error_r) != 0 ||
	    api_json_get_id_or_null(obj, "sent_message_id", &sent, error_r) !=
	            0) {
		api_submission_result_free(res);
		return -1;
	}
	res->submission_id = sb_strdup(id);
	res->sent_message_id = sent != NULL ? sb_strdup(sent) : NULL;
	return 0;
}

void
api_submission_result_free(struct api_submission_result *res)
{
	free(res->submission_id);
	free(res->sent_message_id);
	api_strings_free(&res->delivered);
	api_strings_free(&res->relayed);
	api_strings_free(&res->deferred);
	memset(res, 0, sizeof(*res));
}

int
api_submission_post(struct api_client *c, const struct api_submission *s,
                    struct api_submission_result *res_r, struct api_reply *r)
{
	return api_submission_post_idem(c, s, NULL, res_r, r);
}

int
api_submission_post_idem(struct api_client *c, const struct api_submission *s,
                         const char *idem_key,
                         struct api_submission_result *res_r,
                         struct api_reply *r)
{
	struct json_object *body;
	const char *error;
	int ret;

	if (s->from == NULL || !api_id_ok(s->blob_id))
		return api_refuse(r, "a submission needs a sender and a blob");
	body = api_submission_to_json(s);
	ret = api_call_idem(c, "POST", "/api/v1/submissions", body, idem_key,
	                    r);
	json_object_put(body);
	if (ret != 0 || api_need_json(r, "submission answer") != 0)
		return -1;
	if (api_submission_result_decode(r->json, API_LENIENT, res_r, &error) !=
	    0)
		return api_malformed(r, "submission answer", error);
	return 0;
}
