/*
 * Replaying the op queue: changes made in the replica first (IMAP STORE,
 * COPY, MOVE, EXPUNGE, APPEND, CREATE, RENAME, DELETE) sent to the
 * service in order, each with the Idempotency-Key kept with its op, so
 * that a replay after a crash or a lost answer is never applied twice
 * (docs/sync.md). This file: the payloads, the passes, the corrections,
 * and the message changes (update, destroy); sync-replay-ops.c has the
 * imports and the mailbox ops.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/calls.h"
#include "common/alloc.h"
#include "common/log.h"
#include "sync-replay.h"

/* ---- Payloads ---- */

/*
 * A keyword as the payload may hold it: the service judges the rest, so
 * that a keyword it refuses is a refusal (the replica is corrected), not
 * an op stuck in the queue.
 */
static bool
sync_op_word(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > API_KEYWORD_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	}
	return true;
}

/* A replica id: a positive integer. */
static int SB_WUR
sync_op_id(struct json_object *obj, const char *name, bool required,
           int64_t *id_r, const char **error_r)
{
	uint64_t v = 0;

	if (api_json_get_u64(obj, name, required, 1, INT64_MAX, &v, error_r) !=
	    0)
		return -1;
	*id_r = (int64_t)v;
	return 0;
}

/* "messages": [ids], or the first format's "message": id. */
static int SB_WUR
sync_op_messages(struct json_object *obj, struct sync_op *op,
                 const char **error_r)
{
	struct json_object *a, *v;
	int64_t one = 0;
	size_t i, n;

	if (!json_object_object_get_ex(obj, "messages", &a)) {
		if (sync_op_id(obj, "message", true, &one, error_r) != 0)
			return -1;
		op->messages = sb_calloc(1, sizeof(*op->messages));
		op->messages[0] = one;
		op->n_messages = 1;
		return 0;
	}
	if (!json_object_is_type(a, json_type_array)) {
		*error_r = "messages is not a list";
		return -1;
	}
	n = json_object_array_length(a);
	op->messages = sb_calloc(n + 1, sizeof(*op->messages));
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1) {
			*error_r = "a message id is not a positive integer";
			return -1;
		}
		op->messages[op->n_messages++] = json_object_get_int64(v);
	}
	return 0;
}

static int SB_WUR
sync_op_decode_update(struct json_object *obj, struct sync_op *op,
                      const char **error_r)
{
	static const char *const fields[] = {"v",
	                                     "messages",
	                                     "message",
	                                     "add_keywords",
	                                     "remove_keywords",
	                                     "add_mailbox",
	                                     "remove_mailbox",
	                                     NULL};

	if (api_json_only(obj, fields, error_r) != 0 ||
	    sync_op_messages(obj, op, error_r) != 0 ||
	    api_json_get_strings(obj, "add_keywords", false, API_MAX_KEYWORDS,
	                         sync_op_word, &op->add_keywords,
	                         error_r) != 0 ||
	    api_json_get_strings(obj, "remove_keywords", false,
	                         API_MAX_KEYWORDS, sync_op_word,
	                         &op->remove_keywords, error_r) != 0 ||
	    sync_op_id(obj, "add_mailbox", false, &op->add_mailbox, error_r) !=
	            0 ||
	    sync_op_id(obj, "remove_mailbox", false, &op->remove_mailbox,
	               error_r) != 0)
		return -1;
	return 0;
}

static bool
sync_op_remote(const char *s, size_t len)
{
	return api_is_id(s, len);
}

int
sync_op_decode(const char *kind, const char *payload, struct sync_op *op,
               const char **error_r)
{
	static const char *const destroy[] = {"v", "remote_ids", NULL};
	static const char *const import[] = {"v", "message", "mailbox", NULL};
	static const char *const mailbox[] = {"v", "mailbox", NULL};
	static const char *const mailbox_delete[] = {"v", "remote_id", NULL};
	struct json_object *obj;
	const char *remote = NULL;
	uint64_t v = 1;
	int ret;

	memset(op, 0, sizeof(*op));
	if (api_json_parse(payload, strlen(payload), &obj, error_r) != 0)
		return -1;
	ret = api_json_get_u64(obj, "v", false, 1, 1, &v, error_r);
	if (ret != 0) {
		/* A later version: not this code's to replay. */
	} else if (strcmp(kind, STORE_OP_UPDATE) == 0) {
		ret = sync_op_decode_update(obj, op, error_r);
	} else if (strcmp(kind, STORE_OP_DESTROY) == 0) {
		ret = api_json_only(obj, destroy, error_r);
		if (ret == 0)
			ret = api_json_get_strings(obj, "remote_ids", true,
			                           SIZE_MAX, sync_op_remote,
			                           &op->remote_ids, error_r);
	} else if (strcmp(kind, STORE_OP_IMPORT) == 0) {
		ret = api_json_only(obj, import, error_r);
		if (ret == 0)
			ret = sync_op_id(obj, "message", true, &op->message,
			                 error_r);
		if (ret == 0)
			ret = sync_op_id(obj, "mailbox", true, &op->mailbox,
			                 error_r);
	} else if (strcmp(kind, STORE_OP_MAILBOX_CREATE) == 0 ||
	           strcmp(kind, STORE_OP_MAILBOX_UPDATE) == 0) {
		ret = api_json_only(obj, mailbox, error_r);
		if (ret == 0)
			ret = sync_op_id(obj, "mailbox", true, &op->mailbox,
			                 error_r);
	} else if (strcmp(kind, STORE_OP_MAILBOX_DELETE) == 0) {
		ret = api_json_only(obj, mailbox_delete, error_r);
		if (ret == 0)
			ret = api_json_get_id(obj, "remote_id", true, &remote,
			                      error_r);
		if (ret == 0)
			op->remote_id = sb_strdup(remote);
	} else {
		*error_r = "a kind not known";
		ret = -1;
	}
	json_object_put(obj);
	if (ret != 0) {
		sync_op_free(op);
		return -1;
	}
	return 0;
}

void
sync_op_free(struct sync_op *op)
{
	free(op->messages);
	api_strings_free(&op->add_keywords);
	api_strings_free(&op->remove_keywords);
	api_strings_free(&op->remote_ids);
	free(op->remote_id);
	memset(op, 0, sizeof(*op));
}

/* ---- Answers ---- */

bool
sync_reply_transient(const struct api_reply *r)
{
	if (r->status == 0)
		return r->error != API_ERR_INVALID_REQUEST;
	return r->status < 400 || r->status == 401 || r->status == 408 ||
	       r->status == 429 || r->status >= 500;
}

bool
sync_type_transient(enum api_error_type type)
{
	return type == API_ERR_SERVER_ERROR || type == API_ERR_UNAVAILABLE ||
	       type == API_ERR_RATE_LIMITED;
}

static const char *
sync_type_name(enum api_error_type type)
{
	const char *name = api_error_name(type);

	return name != NULL ? name : "error";
}

void
sync_outcome_failed(struct sync_outcome *o, const char *what,
                    const struct api_reply *r, bool *permanent_r)
{
	snprintf(o->why, sizeof(o->why), "%s: %s (%u)", what,
	         sync_type_name(r->error), r->status);
	*permanent_r = !sync_reply_transient(r);
	if (!*permanent_r)
		o->res = SYNC_REPLAY_RETRY;
}

void
sync_derived_key(const char *key, const char *suffix, char *out, size_t size)
{
	snprintf(out, size, "%s-%s", key, suffix);
}

/* ---- Corrections ---- */

int
sync_correct_messages(struct bridge_sync *s, const struct store_op *op,
                      bool failed, const struct api_strings *remote_ids,
                      int64_t now, struct sync_outcome *o, const char **error_r)
{
	struct api_message *got;
	struct api_reply r;
	bool *found, added, applied;
	size_t i;
	int ret = 0;

	got = sb_calloc(remote_ids->count + 1, sizeof(*got));
	found = sb_calloc(remote_ids->count + 1, sizeof(*found));
	for (i = 0; i < remote_ids->count; i++) {
		api_reply_init(&r);
		if (api_message_get(s->cfg.api, remote_ids->items[i], &got[i],
		                    &r) == 0) {
			found[i] = true;
		} else if (r.error != API_ERR_NOT_FOUND) {
			snprintf(o->why, sizeof(o->why), "fetching: %s (%u)",
			         sync_type_name(r.error), r.status);
			api_reply_clear(&r);
			o->res = SYNC_REPLAY_RETRY;
			/* One failed for good is tried at the next pass. */
			if (!failed)
				ret = store_op_failed(s->st, op->id, now,
				                      o->why, error_r);
			o->settled = true;
			goto out;
		}
		api_reply_clear(&r);
	}
	if (store_begin(s->st, error_r) < 0) {
		ret = -1;
		goto out;
	}
	for (i = 0; i < remote_ids->count && ret == 0; i++) {
		if (found[i])
			ret = sync_apply_message(s, &got[i], &added, &applied,
			                         error_r);
		else
			ret = sync_remove_message(s, remote_ids->items[i],
			                          error_r);
	}
	if (ret == 0)
		ret = store_op_done(s->st, op->id, error_r);
	if (ret < 0)
		store_rollback(s->st);
	else
		ret = store_commit(s->st, error_r);
	o->res = SYNC_REPLAY_DROPPED;
	o->settled = ret == 0;
out:
	for (i = 0; i < remote_ids->count; i++) {
		if (found[i])
			api_message_free(&got[i]);
	}
	free(got);
	free(found);
	return ret;
}

int
sync_correct_mailboxes(struct bridge_sync *s, const struct store_op *op,
                       struct sync_outcome *o, const char **error_r)
{
	struct api_mailbox_list l;
	struct api_reply r;
	bool permanent;
	int ret;

	api_reply_init(&r);
	if (api_mailboxes_get(s->cfg.api, &l, &r) < 0) {
		sync_outcome_failed(o, "listing mailboxes", &r, &permanent);
		/* Even a refusal of a listing is worth a retry. */
		o->res = SYNC_REPLAY_RETRY;
		api_reply_clear(&r);
		return 0;
	}
	api_reply_clear(&r);
	ret = store_begin(s->st, error_r);
	if (ret == 0)
		ret = sync_apply_mailboxes(s, l.items, l.count, error_r);
	if (ret == 0)
		ret = store_op_done(s->st, op->id, error_r);
	if (ret < 0)
		store_rollback(s->st);
	else
		ret = store_commit(s->st, error_r);
	api_mailbox_list_free(&l);
	o->res = SYNC_REPLAY_DROPPED;
	o->settled = ret == 0;
	return ret;
}

/* ---- Message changes ---- */

int
sync_mailbox_remote(struct bridge_sync *s, int64_t mailbox_id, char **remote_r,
                    bool *wait_r, const char **error_r)
{
	struct store_mailbox mb;
	int ret;

	*remote_r = NULL;
	*wait_r = false;
	ret = store_mailbox_get(s->st, mailbox_id, &mb, error_r);
	if (ret <= 0)
		return ret;
	if (mb.account_id != s->cfg.account_id) {
		store_mailbox_free_contents(&mb);
		return 0;
	}
	*remote_r = mb.remote_id;
	mb.remote_id = NULL;
	store_mailbox_free_contents(&mb);
	if (*remote_r != NULL)
		return 1;
	if (store_op_live(s->st, s->cfg.account_id, STORE_OP_MAILBOX_CREATE,
	                  "mailbox", mailbox_id, wait_r, error_r) < 0)
		return -1;
	return 0;
}

/*
 * The remote ids of an update's messages. Those gone from the replica are
 * left out (nothing to change), and so are those the service never got
 * (their import failed for good: the change stays here); *wait_r when
 * one's import is still queued.
 */
static int SB_WUR
sync_update_targets(struct bridge_sync *s, const struct sync_op *p,
                    struct api_strings *ids, bool *wait_r, const char **error_r)
{
	struct store_message m;
	size_t i;
	bool live;
	int ret;

	*wait_r = false;
	for (i = 0; i < p->n_messages; i++) {
		ret = store_message_get(s->st, p->messages[i], &m, error_r);
		if (ret < 0)
			return -1;
		if (ret == 0)
			continue;
		if (m.account_id == s->cfg.account_id && m.remote_id != NULL) {
			api_strings_add(ids, m.remote_id);
		} else if (m.account_id == s->cfg.account_id) {
			if (store_op_live(s->st, s->cfg.account_id,
			                  STORE_OP_IMPORT, "message", m.id,
			                  &live, error_r) < 0) {
				store_message_free_contents(&m);
				return -1;
			}
			if (live)
				*wait_r = true;
		}
		store_message_free_contents(&m);
	}
	return 0;
}

static void
sync_strings_copy(struct api_strings *to, const struct api_strings *from)
{
	size_t i;

	for (i = 0; i < from->count; i++)
		api_strings_add(to, from->items[i]);
}

/*
 * Sends one batch (ids first..first+n) of an update; collects the ids the
 * service refused for good into *refused.
 */
static void
sync_update_batch(struct bridge_sync *s, const struct store_op *op,
                  const struct sync_op *p, const struct api_strings *ids,
                  size_t first, size_t n, const char *add_mb,
                  const char *remove_mb, size_t batch,
                  struct api_strings *refused, struct sync_outcome *o)
{
	struct api_update u;
	struct api_set_result res;
	struct api_reply r;
	char key[API_IDEM_KEY_MAX + 1], num[24];
	bool permanent;
	size_t i;
	int ret;

	memset(&u, 0, sizeof(u));
	u.patches = sb_calloc(n, sizeof(*u.patches));
	u.count = n;
	for (i = 0; i < n; i++) {
		struct api_patch *pt = &u.patches[i];

		pt->id = sb_strdup(ids->items[first + i]);
		sync_strings_copy(&pt->add_keywords, &p->add_keywords);
		sync_strings_copy(&pt->remove_keywords, &p->remove_keywords);
		if (add_mb != NULL)
			api_strings_add(&pt->add_mailbox_ids, add_mb);
		if (remove_mb != NULL)
			api_strings_add(&pt->remove_mailbox_ids, remove_mb);
	}
	if (batch == 0) {
		snprintf(key, sizeof(key), "%s", op->idempotency_key);
	} else {
		snprintf(num, sizeof(num), "%zu", batch);
		sync_derived_key(op->idempotency_key, num, key, sizeof(key));
	}
	memset(&res, 0, sizeof(res));
	api_reply_init(&r);
	ret = api_update_post_idem(s->cfg.api, &u, key, &res, &r);
	if (ret < 0) {
		sync_outcome_failed(o, "updating", &r, &permanent);
		/* Refused whole: each message takes the service's state. */
		for (i = 0; permanent && i < n; i++)
			api_strings_add(refused, ids->items[first + i]);
	} else {
		for (i = 0; i < res.n_failed; i++) {
			if (sync_type_transient(res.failed[i].type)) {
				snprintf(o->why, sizeof(o->why),
				         "not updated: %s",
				         sync_type_name(res.failed[i].type));
				o->res = SYNC_REPLAY_RETRY;
			} else {
				snprintf(o->why, sizeof(o->why),
				         "not updated: %s",
				         sync_type_name(res.failed[i].type));
				api_strings_add(refused, res.failed[i].id);
			}
		}
		api_set_result_free(&res);
	}
	api_reply_clear(&r);
	api_update_free(&u);
}

static int SB_WUR
sync_replay_update(struct bridge_sync *s, const struct store_op *op,
                   const struct sync_op *p, int64_t now, struct sync_outcome *o,
                   const char **error_r)
{
	struct api_strings ids = {0}, refused = {0};
	char *add_mb = NULL, *remove_mb = NULL;
	bool wait = false, w;
	size_t first, batch;
	int ret;

	ret = sync_update_targets(s, p, &ids, &wait, error_r);
	if (ret == 0 && p->add_mailbox != 0) {
		ret = sync_mailbox_remote(s, p->add_mailbox, &add_mb, &w,
		                          error_r);
		wait = wait || w;
	}
	if (ret >= 0 && p->remove_mailbox != 0) {
		/* One the service never had holds nothing there. */
		ret = sync_mailbox_remote(s, p->remove_mailbox, &remove_mb, &w,
		                          error_r);
		wait = wait || w;
	}
	if (ret < 0)
		goto out;
	ret = 0;
	if (wait) {
		o->res = SYNC_REPLAY_WAIT;
		goto out;
	}
	if (ids.count == 0 ||
	    (p->add_keywords.count == 0 && p->remove_keywords.count == 0 &&
	     add_mb == NULL && remove_mb == NULL)) {
		snprintf(o->why, sizeof(o->why), "nothing left to send");
		o->res = SYNC_REPLAY_DROPPED;
		goto out;
	}
	o->res = SYNC_REPLAY_DONE;
	for (first = 0, batch = 0;
	     first < ids.count && o->res == SYNC_REPLAY_DONE;
	     first += API_MAX_BATCH, batch++) {
		size_t n = ids.count - first;

		if (n > API_MAX_BATCH)
			n = API_MAX_BATCH;
		sync_update_batch(s, op, p, &ids, first, n, add_mb, remove_mb,
		                  batch, &refused, o);
	}
	if (o->res != SYNC_REPLAY_RETRY && refused.count > 0) {
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": op %" PRId64
		       " refused for %zu of %zu messages (%s); they take the "
		       "service's state",
		       s->cfg.account_id, op->id, refused.count, ids.count,
		       o->why);
		ret = sync_correct_messages(s, op, false, &refused, now, o,
		                            error_r);
	}
out:
	free(add_mb);
	free(remove_mb);
	api_strings_free(&ids);
	api_strings_free(&refused);
	return ret;
}

static int SB_WUR
sync_replay_destroy(struct bridge_sync *s, const struct store_op *op,
                    const struct sync_op *p, int64_t now,
                    struct sync_outcome *o, const char **error_r)
{
	struct api_strings batch, refused = {0};
	struct api_set_result res;
	struct api_reply r;
	char key[API_IDEM_KEY_MAX + 1], num[24];
	size_t first, i, n, k;
	bool permanent;
	int ret = 0;

	o->res = SYNC_REPLAY_DONE;
	for (first = 0, k = 0;
	     first < p->remote_ids.count && o->res == SYNC_REPLAY_DONE;
	     first += API_MAX_BATCH, k++) {
		n = p->remote_ids.count - first;
		if (n > API_MAX_BATCH)
			n = API_MAX_BATCH;
		batch.items = p->remote_ids.items + first;
		batch.count = n;
		if (k == 0) {
			snprintf(key, sizeof(key), "%s", op->idempotency_key);
		} else {
			snprintf(num, sizeof(num), "%zu", k);
			sync_derived_key(op->idempotency_key, num, key,
			                 sizeof(key));
		}
		memset(&res, 0, sizeof(res));
		api_reply_init(&r);
		if (api_destroy_post_idem(s->cfg.api, &batch, key, &res, &r) <
		    0) {
			sync_outcome_failed(o, "destroying", &r, &permanent);
			for (i = 0; permanent && i < n; i++)
				api_strings_add(&refused, batch.items[i]);
		} else {
			for (i = 0; i < res.n_failed; i++) {
				enum api_error_type t = res.failed[i].type;

				/* Gone already: what was asked. */
				if (t == API_ERR_NOT_FOUND)
					continue;
				snprintf(o->why, sizeof(o->why),
				         "not destroyed: %s",
				         sync_type_name(t));
				if (sync_type_transient(t))
					o->res = SYNC_REPLAY_RETRY;
				else
					api_strings_add(&refused,
					                res.failed[i].id);
			}
			api_set_result_free(&res);
		}
		api_reply_clear(&r);
	}
	if (o->res != SYNC_REPLAY_RETRY && refused.count > 0) {
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": op %" PRId64
		       " could not destroy %zu messages (%s); they come back",
		       s->cfg.account_id, op->id, refused.count, o->why);
		ret = sync_correct_messages(s, op, false, &refused, now, o,
		                            error_r);
	}
	api_strings_free(&refused);
	return ret;
}

/* ---- Passes ---- */

/* Runs one op of a kind known; fills *o. */
static int SB_WUR
sync_replay_one(struct bridge_sync *s, const struct store_op *op,
                const struct sync_op *p, int64_t now, struct sync_outcome *o,
                const char **error_r)
{
	if (strcmp(op->kind, STORE_OP_UPDATE) == 0)
		return sync_replay_update(s, op, p, now, o, error_r);
	if (strcmp(op->kind, STORE_OP_DESTROY) == 0)
		return sync_replay_destroy(s, op, p, now, o, error_r);
	if (strcmp(op->kind, STORE_OP_IMPORT) == 0)
		return sync_replay_import(s, op, p, o, error_r);
	if (strcmp(op->kind, STORE_OP_MAILBOX_CREATE) == 0)
		return sync_replay_mailbox_create(s, op, p, o, error_r);
	if (strcmp(op->kind, STORE_OP_MAILBOX_UPDATE) == 0)
		return sync_replay_mailbox_update(s, op, p, o, error_r);
	return sync_replay_mailbox_delete(s, op, p, o, error_r);
}

/* Records what became of an op that is not settled yet. */
static int SB_WUR
sync_replay_settle(struct bridge_sync *s, const struct store_op *op,
                   int64_t now, const struct sync_outcome *o,
                   const char **error_r)
{
	const char *why = o->why[0] != '\0' ? o->why : "done";

	switch (o->res) {
	case SYNC_REPLAY_DONE:
		return o->settled ? 0 : store_op_done(s->st, op->id, error_r);
	case SYNC_REPLAY_DROPPED:
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": op %" PRId64
		       " (%s) dropped: %s",
		       s->cfg.account_id, op->id, op->kind, why);
		return o->settled ? 0 : store_op_done(s->st, op->id, error_r);
	case SYNC_REPLAY_SET_ASIDE:
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": op %" PRId64
		       " (%s) set aside: %s",
		       s->cfg.account_id, op->id, op->kind, why);
		return o->settled ? 0
		                  : store_op_set_aside(s->st, op->id, why,
		                                       error_r);
	case SYNC_REPLAY_RETRY:
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": op %" PRId64
		       " (%s) failed for now: %s",
		       s->cfg.account_id, op->id, op->kind, why);
		return o->settled ? 0
		                  : store_op_failed(s->st, op->id, now, why,
		                                    error_r);
	case SYNC_REPLAY_WAIT:
		break;
	}
	return 0;
}

/*
 * Ops failed for good after STORE_OP_MAX_ATTEMPTS: their change never
 * reached the service, so the replica takes the service's state again
 * (messages fetched, mailboxes listed) and the op goes. Imports and
 * mailbox creations stay set aside: what they made stays here, local.
 */
static int SB_WUR
sync_replay_failed(struct bridge_sync *s, int64_t now, const char **error_r)
{
	struct sync_outcome o;
	struct api_strings ids;
	struct store_op *list;
	struct sync_op p;
	const char *why;
	bool wait;
	size_t n, i;
	int ret = 0;

	if (store_op_list_failed(s->st, s->cfg.account_id, &list, &n, error_r) <
	    0)
		return -1;
	for (i = 0; i < n && ret == 0 && !sync_stopping(s); i++) {
		if (sync_op_decode(list[i].kind, list[i].payload, &p, &why) < 0)
			continue;
		memset(&o, 0, sizeof(o));
		memset(&ids, 0, sizeof(ids));
		if (strcmp(list[i].kind, STORE_OP_UPDATE) == 0) {
			ret = sync_update_targets(s, &p, &ids, &wait, error_r);
			if (ret == 0)
				ret = sync_correct_messages(s, &list[i], true,
				                            &ids, now, &o,
				                            error_r);
		} else if (strcmp(list[i].kind, STORE_OP_DESTROY) == 0) {
			ret = sync_correct_messages(s, &list[i], true,
			                            &p.remote_ids, now, &o,
			                            error_r);
		} else if (strcmp(list[i].kind, STORE_OP_MAILBOX_UPDATE) == 0 ||
		           strcmp(list[i].kind, STORE_OP_MAILBOX_DELETE) == 0) {
			ret = sync_correct_mailboxes(s, &list[i], &o, error_r);
		}
		api_strings_free(&ids);
		sync_op_free(&p);
	}
	store_op_list_free(&list, n);
	return ret;
}

int
sync_replay(struct bridge_sync *s, int64_t now, size_t *replayed_r,
            const char **error_r)
{
	struct sync_outcome o;
	struct store_op op;
	struct sync_op p;
	const char *why;
	int ret;

	*replayed_r = 0;
	if (sync_replay_failed(s, now, error_r) < 0)
		return -1;
	while (!sync_stopping(s)) {
		ret = store_op_peek(s->st, s->cfg.account_id, now, &op,
		                    error_r);
		if (ret <= 0)
			return ret;
		memset(&o, 0, sizeof(o));
		if (sync_op_decode(op.kind, op.payload, &p, &why) < 0) {
			o.res = SYNC_REPLAY_SET_ASIDE;
			snprintf(o.why, sizeof(o.why), "unreadable: %s", why);
			ret = 0;
		} else {
			ret = sync_replay_one(s, &op, &p, now, &o, error_r);
			sync_op_free(&p);
		}
		if (ret == 0)
			ret = sync_replay_settle(s, &op, now, &o, error_r);
		store_op_free_contents(&op);
		if (ret < 0)
			return -1;
		if (o.res == SYNC_REPLAY_DONE)
			(*replayed_r)++;
		if (o.res == SYNC_REPLAY_RETRY || o.res == SYNC_REPLAY_WAIT)
			break;
	}
	return 0;
}
