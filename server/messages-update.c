/*
 * Changing and destroying messages in batches: POST /api/v1/messages/update
 * and POST /api/v1/messages/destroy.
 */
#include "server-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static const char *const srv_destroy_fields[] = {"ids", NULL};

/*
 * The changes of one write request: one modseq, taken at the first real
 * change, and the mailboxes already logged under it.
 */
struct srv_batch {
	int64_t modseq; /* 0 until something changes */
	struct api_strings mailboxes;
};

static int SB_WUR
srv_batch_begin(struct srv_req *req, struct srv_batch *b)
{
	if (b->modseq != 0)
		return 0;
	return srv_bump(req->db, req->account_id, &b->modseq);
}

/* Logs a mailbox whose counts change, once per request. */
static int SB_WUR
srv_batch_mailbox(struct srv_req *req, struct srv_batch *b,
                  const char *mailbox_id)
{
	if (api_strings_has(&b->mailboxes, mailbox_id))
		return 0;
	api_strings_add(&b->mailboxes, mailbox_id);
	return srv_change(req->db, req->account_id, b->modseq, 'b', mailbox_id,
	                  'u');
}

/* Ends a batch: prunes the log if it grew, adds "state" to out. */
static int SB_WUR
srv_batch_end(struct srv_req *req, struct srv_batch *b, struct json_object *out)
{
	char *state;

	api_strings_free(&b->mailboxes);
	if (b->modseq != 0 &&
	    srv_prune_changes(req->db, req->account_id,
	                      req->srv->config.changes_keep) != 0)
		return -1;
	state = srv_state(req->db, req->account_id);
	if (state == NULL)
		return -1;
	api_json_add_string(out, "state", state);
	free(state);
	return 0;
}

/* {"type": ..., "message": ...} for one refused id. */
static void
srv_add_refusal(struct json_object *map, const char *id,
                enum api_error_type type, const char *message)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "type", api_error_name(type));
	api_json_add_string(o, "message", message);
	json_object_object_add(map, id, o);
}

static void
srv_strings_copy(struct api_strings *dst, const struct api_strings *src)
{
	size_t i;

	for (i = 0; i < src->count; i++)
		api_strings_add(dst, src->items[i]);
}

/* Removes s from list when it is there. */
static void
srv_strings_remove(struct api_strings *list, const char *s)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		if (strcmp(list->items[i], s) == 0) {
			free(list->items[i]);
			list->items[i] = list->items[--list->count];
			return;
		}
	}
}

/* Sets new_r to old with remove taken out and add put in. */
static void
srv_strings_patch(struct api_strings *new_r, const struct api_strings *old,
                  const struct api_strings *remove,
                  const struct api_strings *add)
{
	size_t i;

	srv_strings_copy(new_r, old);
	for (i = 0; i < remove->count; i++)
		srv_strings_remove(new_r, remove->items[i]);
	for (i = 0; i < add->count; i++) {
		if (!api_strings_has(new_r, add->items[i]))
			api_strings_add(new_r, add->items[i]);
	}
}

/* True when two sets (no repeats in either) hold the same strings. */
static bool
srv_strings_same(const struct api_strings *a, const struct api_strings *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++) {
		if (!api_strings_has(b, a->items[i]))
			return false;
	}
	return true;
}

/* One message's update: the message as it is, and its new sets. */
struct srv_patch_plan {
	struct api_message old;
	struct api_strings keywords;
	struct api_strings mailbox_ids;
};

/*
 * Works out the new sets of one patch, refusing what may not be: returns
 * 0, 1 with *type_r and *why_r when refused, -1 on error.
 */
static int SB_WUR
srv_patch_plan(struct srv_req *req, const struct api_patch *p,
               struct srv_patch_plan *plan, enum api_error_type *type_r,
               const char **why_r)
{
	const struct api_strings *named[] = {
	        &p->mailbox_ids, &p->add_mailbox_ids, &p->remove_mailbox_ids};
	const char *missing;
	size_t i;
	int rc;

	rc = srv_message_load(req->db, req->account_id, p->id, &plan->old);
	if (rc <= 0) {
		*type_r = API_ERR_NOT_FOUND;
		*why_r = "no such message";
		return rc < 0 ? -1 : 1;
	}
	for (i = 0; i < SB_N_ELEMENTS(named); i++) {
		rc = srv_mailboxes_owned(req->db, req->account_id, named[i],
		                         &missing);
		if (rc != 0) {
			*type_r = API_ERR_NOT_FOUND;
			*why_r = "a mailbox named is not one of this account";
			return rc;
		}
	}
	if (p->replace_keywords)
		srv_strings_copy(&plan->keywords, &p->keywords);
	else
		srv_strings_patch(&plan->keywords, &plan->old.keywords,
		                  &p->remove_keywords, &p->add_keywords);
	if (p->replace_mailboxes)
		srv_strings_copy(&plan->mailbox_ids, &p->mailbox_ids);
	else
		srv_strings_patch(&plan->mailbox_ids, &plan->old.mailbox_ids,
		                  &p->remove_mailbox_ids, &p->add_mailbox_ids);
	*type_r = API_ERR_INVALID_REQUEST;
	if (plan->keywords.count > API_MAX_KEYWORDS) {
		*why_r = "a message has at most 100 keywords";
		return 1;
	}
	if (plan->mailbox_ids.count == 0) {
		*why_r = "a message must stay in at least one mailbox";
		return 1;
	}
	return 0;
}

/* Adds (add) or removes a message's place in a mailbox. */
static int SB_WUR
srv_message_place(sqlite3 *db, const char *message_id, const char *mailbox_id,
                  bool add)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, add ? "INSERT INTO message_mailboxes(message_id, "
	                  "mailbox_id) VALUES(?1, ?2)"
	                : "DELETE FROM message_mailboxes WHERE message_id = ?1 "
	                  "AND mailbox_id = ?2");

	sqlite3_bind_text(st, 1, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, mailbox_id, -1, SQLITE_STATIC);
	return srv_db_step_done(st);
}

/* Moves the mailboxes of a plan from old to new, logging each changed. */
static int SB_WUR
srv_patch_mailboxes(struct srv_req *req, struct srv_batch *b,
                    const struct srv_patch_plan *plan)
{
	const struct api_strings *old = &plan->old.mailbox_ids;
	const struct api_strings *new = &plan->mailbox_ids;
	const char *id = plan->old.id;
	size_t i;

	for (i = 0; i < old->count; i++) {
		if (!api_strings_has(new, old->items[i]) &&
		    (srv_message_place(req->db, id, old->items[i], false) !=
		             0 ||
		     srv_batch_mailbox(req, b, old->items[i]) != 0))
			return -1;
	}
	for (i = 0; i < new->count; i++) {
		if (!api_strings_has(old, new->items[i]) &&
		    (srv_message_place(req->db, id, new->items[i], true) != 0 ||
		     srv_batch_mailbox(req, b, new->items[i]) != 0))
			return -1;
	}
	return 0;
}

/*
 * Writes a plan: keywords, mailboxes, and the changes of the message and
 * of each mailbox whose counts move. A plan that changes nothing writes
 * nothing.
 */
static int SB_WUR
srv_patch_apply(struct srv_req *req, struct srv_batch *b,
                const struct srv_patch_plan *plan)
{
	bool seen = api_strings_has(&plan->keywords, "$seen");
	bool kw = !srv_strings_same(&plan->keywords, &plan->old.keywords);
	bool mb = !srv_strings_same(&plan->mailbox_ids, &plan->old.mailbox_ids);
	sqlite3_stmt *st;
	char *text;
	size_t i;
	int rc;

	if (!kw && !mb)
		return 0;
	if (srv_batch_begin(req, b) != 0)
		return -1;
	if (kw) {
		text = srv_keywords_text(&plan->keywords);
		st = srv_db_prepare(req->db, "UPDATE messages SET keywords = "
		                             "?2 WHERE id = ?1");
		sqlite3_bind_text(st, 1, plan->old.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
		rc = srv_db_step_done(st);
		free(text);
		if (rc != 0)
			return -1;
	}
	if (mb && srv_patch_mailboxes(req, b, plan) != 0)
		return -1;
	/* $seen moving changes the unread count of every mailbox it is in. */
	if (seen != api_strings_has(&plan->old.keywords, "$seen")) {
		for (i = 0; i < plan->mailbox_ids.count; i++) {
			if (srv_batch_mailbox(req, b,
			                      plan->mailbox_ids.items[i]) != 0)
				return -1;
		}
	}
	return srv_change(req->db, req->account_id, b->modseq, 'm',
	                  plan->old.id, 'u');
}

/* Updates one message: 0 done, 1 refused (added to refused), -1 error. */
static int SB_WUR
srv_update_one(struct srv_req *req, struct srv_batch *b,
               const struct api_patch *p, struct json_object *refused)
{
	struct srv_patch_plan plan;
	enum api_error_type type;
	const char *why;
	int rc;

	memset(&plan, 0, sizeof(plan));
	rc = srv_patch_plan(req, p, &plan, &type, &why);
	if (rc == 1)
		srv_add_refusal(refused, p->id, type, why);
	else if (rc == 0)
		rc = srv_patch_apply(req, b, &plan);
	api_message_free(&plan.old);
	api_strings_free(&plan.keywords);
	api_strings_free(&plan.mailbox_ids);
	return rc;
}

int
srv_h_messages_update(struct srv_req *req)
{
	struct json_object *out, *updated, *refused;
	struct srv_batch b = {0, {NULL, 0}};
	struct api_update u;
	const char *error;
	size_t i;
	int rc = 0;

	if (api_update_decode(req->json, API_STRICT, &u, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	out = json_object_new_object();
	updated = json_object_new_array();
	refused = json_object_new_object();
	json_object_object_add(out, "updated", updated);
	json_object_object_add(out, "not_updated", refused);
	for (i = 0; i < u.count && rc >= 0; i++) {
		rc = srv_update_one(req, &b, &u.patches[i], refused);
		if (rc == 0)
			json_object_array_add(
			        updated,
			        json_object_new_string(u.patches[i].id));
	}
	api_update_free(&u);
	if (rc < 0 || srv_batch_end(req, &b, out) != 0) {
		api_strings_free(&b.mailboxes);
		json_object_put(out);
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	}
	srv_reply(req, 200, out);
	return 0;
}

/*
 * Destroys one of the account's messages: its mailboxes' counts change,
 * its summary leaves the quota, its blob loses a reference. Returns 1
 * destroyed, 0 no such message, -1 error.
 */
static int SB_WUR
srv_destroy_one(struct srv_req *req, struct srv_batch *b, const char *id)
{
	struct api_message m;
	size_t i;
	int rc;

	rc = srv_message_load(req->db, req->account_id, id, &m);
	if (rc <= 0)
		goto out;
	if (srv_batch_begin(req, b) != 0)
		goto fail;
	for (i = 0; rc > 0 && i < m.mailbox_ids.count; i++) {
		if (srv_message_place(req->db, id, m.mailbox_ids.items[i],
		                      false) != 0 ||
		    srv_batch_mailbox(req, b, m.mailbox_ids.items[i]) != 0)
			rc = -1;
	}
	if (rc < 0 || srv_message_destroy(req, id, m.blob_id, b->modseq) != 0)
		goto fail;
	goto out;
fail:
	rc = -1;
out:
	api_message_free(&m);
	return rc;
}

int
srv_h_messages_destroy(struct srv_req *req)
{
	struct json_object *out, *destroyed, *refused;
	struct srv_batch b = {0, {NULL, 0}};
	struct api_strings ids = {NULL, 0};
	const char *error;
	size_t i;
	int rc = 0;

	if (api_json_only(req->json, srv_destroy_fields, &error) != 0 ||
	    api_json_get_strings(req->json, "ids", true, API_MAX_BATCH,
	                         api_is_id, &ids, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	out = json_object_new_object();
	destroyed = json_object_new_array();
	refused = json_object_new_object();
	json_object_object_add(out, "destroyed", destroyed);
	json_object_object_add(out, "not_destroyed", refused);
	for (i = 0; i < ids.count && rc >= 0; i++) {
		rc = srv_destroy_one(req, &b, ids.items[i]);
		if (rc > 0)
			json_object_array_add(destroyed, json_object_new_string(
			                                         ids.items[i]));
		else if (rc == 0)
			srv_add_refusal(refused, ids.items[i],
			                API_ERR_NOT_FOUND, "no such message");
	}
	api_strings_free(&ids);
	if (rc < 0 || srv_batch_end(req, &b, out) != 0) {
		api_strings_free(&b.mailboxes);
		json_object_put(out);
		return req->failed ? -1
		                   : srv_fail(req, API_ERR_SERVER_ERROR,
		                              "database error");
	}
	srv_reply(req, 200, out);
	return 0;
}
