/*
 * Replaying the op queue: changes made in the replica first (a keyword
 * change from IMAP STORE) sent to the service in order, each with the
 * Idempotency-Key kept with its op, so that a replay after a crash or a
 * lost answer is never applied twice (docs/sync.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api/calls.h"
#include "common/alloc.h"
#include "common/log.h"
#include "sync-private.h"

/* What became of one op. */
enum sync_replay_result {
	SYNC_REPLAY_DONE,      /* the service has it; the op is gone */
	SYNC_REPLAY_DROPPED,   /* refused for good or moot; the op is gone */
	SYNC_REPLAY_SET_ASIDE, /* not replayable; failed for good */
	SYNC_REPLAY_RETRY,     /* failed for now; retried after a backoff */
	SYNC_REPLAY_WAIT,      /* its message is not on the service yet */
};

/* A decoded keyword change: the replica's message id and the patch. */
struct sync_keywords_op {
	int64_t message;
	struct api_strings add, remove;
};

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

/* Adds the space-separated words of list, lower-cased, to a. */
static void
sync_op_words(struct json_object *a, const char *list)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " "), i;
		char *w;

		if (len > 0) {
			w = sb_strndup(p, len);
			for (i = 0; i < len; i++) {
				if (w[i] >= 'A' && w[i] <= 'Z')
					w[i] = (char)(w[i] - 'A' + 'a');
			}
			json_object_array_add(a, json_object_new_string(w));
			free(w);
		}
		p += len + strspn(p + len, " ");
	}
}

char *
bridge_sync_keywords_op(int64_t message_id, const char *add, const char *remove)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *a = json_object_new_array();
	struct json_object *r = json_object_new_array();
	char *text;

	sync_op_words(a, add);
	sync_op_words(r, remove);
	json_object_object_add(obj, "message",
	                       json_object_new_int64(message_id));
	json_object_object_add(obj, "add_keywords", a);
	json_object_object_add(obj, "remove_keywords", r);
	text = sb_strdup(api_json_text(obj, NULL));
	json_object_put(obj);
	return text;
}

static void
sync_keywords_op_free(struct sync_keywords_op *k)
{
	api_strings_free(&k->add);
	api_strings_free(&k->remove);
}

static int
sync_keywords_op_decode(const char *payload, struct sync_keywords_op *k,
                        const char **error_r)
{
	static const char *const fields[] = {"message", "add_keywords",
	                                     "remove_keywords", NULL};
	struct json_object *obj;
	uint64_t id;
	int ret;

	memset(k, 0, sizeof(*k));
	if (api_json_parse(payload, strlen(payload), &obj, error_r) != 0)
		return -1;
	ret = api_json_only(obj, fields, error_r);
	if (ret == 0)
		ret = api_json_get_u64(obj, "message", true, 1, INT64_MAX, &id,
		                       error_r);
	if (ret == 0)
		ret = api_json_get_strings(obj, "add_keywords", false,
		                           API_MAX_KEYWORDS, sync_op_word,
		                           &k->add, error_r);
	if (ret == 0)
		ret = api_json_get_strings(obj, "remove_keywords", false,
		                           API_MAX_KEYWORDS, sync_op_word,
		                           &k->remove, error_r);
	json_object_put(obj);
	if (ret != 0) {
		sync_keywords_op_free(k);
		return -1;
	}
	k->message = (int64_t)id;
	return 0;
}

/* Network, 401 (after the client's refresh), 408, 429, 5xx: for now. */
static bool
sync_reply_transient(const struct api_reply *r)
{
	if (r->status == 0)
		return r->error != API_ERR_INVALID_REQUEST;
	return r->status < 400 || r->status == 401 || r->status == 408 ||
	       r->status == 429 || r->status >= 500;
}

static bool
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

/*
 * Brings the message back to the service's state and removes the op, in
 * one transaction: the local change never reached the service. A failure
 * to fetch it leaves the op for a retry (failed: it already failed for
 * good, and waits for the next pass).
 */
static int
sync_replay_correct(struct bridge_sync *s, const struct store_op *op,
                    bool failed, const char *remote_id, int64_t now,
                    enum sync_replay_result *res_r, const char **error_r)
{
	struct api_message m;
	struct api_reply r;
	bool added, applied;
	char why[128];
	int ret, got;

	api_reply_init(&r);
	got = api_message_get(s->cfg.api, remote_id, &m, &r);
	if (got < 0 && r.error != API_ERR_NOT_FOUND) {
		snprintf(why, sizeof(why), "fetching: %s (%u)",
		         sync_type_name(r.error), r.status);
		api_reply_clear(&r);
		*res_r = SYNC_REPLAY_RETRY;
		/* One failed for good is tried again at the next pass. */
		if (failed)
			return 0;
		return store_op_failed(s->st, op->id, now, why, error_r);
	}
	api_reply_clear(&r);
	if (store_begin(s->st, error_r) < 0) {
		if (got == 0)
			api_message_free(&m);
		return -1;
	}
	if (got == 0) {
		ret = sync_apply_message(s, &m, &added, &applied, error_r);
		api_message_free(&m);
	} else {
		ret = sync_remove_message(s, remote_id, error_r);
	}
	if (ret == 0)
		ret = store_op_done(s->st, op->id, error_r);
	if (ret < 0) {
		store_rollback(s->st);
		return -1;
	}
	*res_r = SYNC_REPLAY_DROPPED;
	return store_commit(s->st, error_r);
}

/* Sends the patch; classifies the answer into *why and *transient_r. */
static int
sync_replay_send(struct bridge_sync *s, const struct store_op *op,
                 const struct sync_keywords_op *k, const char *remote_id,
                 char *why, size_t why_size, bool *transient_r)
{
	struct api_patch patch;
	struct api_update u = {.patches = &patch, .count = 1};
	struct api_set_result res;
	struct api_reply r;
	int ret;

	memset(&patch, 0, sizeof(patch));
	patch.id = (char *)remote_id;
	patch.add_keywords = k->add;
	patch.remove_keywords = k->remove;
	memset(&res, 0, sizeof(res));
	api_reply_init(&r);
	ret = api_update_post_idem(s->cfg.api, &u, op->idempotency_key, &res,
	                           &r);
	if (ret < 0) {
		*transient_r = sync_reply_transient(&r);
		snprintf(why, why_size, "%s (%u)", sync_type_name(r.error),
		         r.status);
	} else {
		if (res.n_failed > 0) {
			*transient_r = sync_type_transient(res.failed[0].type);
			snprintf(why, why_size, "not updated: %s",
			         sync_type_name(res.failed[0].type));
			ret = -1;
		}
		api_set_result_free(&res);
	}
	api_reply_clear(&r);
	return ret;
}

/* Replays a keyword change (kind SYNC_OP_UPDATE). */
static int
sync_replay_update(struct bridge_sync *s, const struct store_op *op,
                   int64_t now, enum sync_replay_result *res_r,
                   const char **error_r)
{
	struct sync_keywords_op k;
	struct store_message msg;
	const char *why_decode;
	char why[128];
	bool transient = false;
	int ret;

	if (sync_keywords_op_decode(op->payload, &k, &why_decode) < 0) {
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": op %" PRId64
		       " is unreadable, set aside",
		       s->cfg.account_id, op->id);
		*res_r = SYNC_REPLAY_SET_ASIDE;
		return store_op_set_aside(s->st, op->id, "unreadable payload",
		                          error_r);
	}
	ret = store_message_get(s->st, k.message, &msg, error_r);
	if (ret <= 0 || msg.account_id != s->cfg.account_id) {
		if (ret > 0)
			store_message_free_contents(&msg);
		sync_keywords_op_free(&k);
		if (ret < 0)
			return -1;
		/* Removed from the replica since: nothing left to change. */
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": op %" PRId64
		       ": message %" PRId64 " is gone, op dropped",
		       s->cfg.account_id, op->id, k.message);
		*res_r = SYNC_REPLAY_DROPPED;
		return store_op_done(s->st, op->id, error_r);
	}
	if (msg.remote_id == NULL) {
		/* Its import is queued before it: later. */
		store_message_free_contents(&msg);
		sync_keywords_op_free(&k);
		*res_r = SYNC_REPLAY_WAIT;
		return 0;
	}
	if (sync_replay_send(s, op, &k, msg.remote_id, why, sizeof(why),
	                     &transient) == 0) {
		*res_r = SYNC_REPLAY_DONE;
		ret = store_op_done(s->st, op->id, error_r);
	} else if (transient) {
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": op %" PRId64
		       " failed for now: %s",
		       s->cfg.account_id, op->id, why);
		*res_r = SYNC_REPLAY_RETRY;
		ret = store_op_failed(s->st, op->id, now, why, error_r);
	} else {
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": op %" PRId64
		       " on message %s refused: %s; op dropped",
		       s->cfg.account_id, op->id, msg.remote_id, why);
		ret = sync_replay_correct(s, op, false, msg.remote_id, now,
		                          res_r, error_r);
	}
	store_message_free_contents(&msg);
	sync_keywords_op_free(&k);
	return ret;
}

/*
 * Ops failed for good after STORE_OP_MAX_ATTEMPTS: their change never
 * reached the service, so the replica takes the service's state again.
 * Those that cannot be read stay set aside.
 */
static int
sync_replay_failed(struct bridge_sync *s, int64_t now, const char **error_r)
{
	enum sync_replay_result res;
	struct sync_keywords_op k;
	struct store_message msg;
	struct store_op *list;
	const char *why;
	size_t n, i;
	int ret = 0, found;

	if (store_op_list_failed(s->st, s->cfg.account_id, &list, &n, error_r) <
	    0)
		return -1;
	for (i = 0; i < n && ret == 0; i++) {
		if (strcmp(list[i].kind, BRIDGE_SYNC_OP_UPDATE) != 0 ||
		    sync_keywords_op_decode(list[i].payload, &k, &why) < 0)
			continue;
		found = store_message_get(s->st, k.message, &msg, error_r);
		sync_keywords_op_free(&k);
		if (found < 0) {
			ret = -1;
		} else if (found == 0) {
			ret = store_op_done(s->st, list[i].id, error_r);
		} else {
			/* Without a remote id it never left: nothing to undo.
			 */
			if (msg.remote_id != NULL)
				ret = sync_replay_correct(s, &list[i], true,
				                          msg.remote_id, now,
				                          &res, error_r);
			store_message_free_contents(&msg);
		}
	}
	store_op_list_free(&list, n);
	return ret;
}

int
sync_replay(struct bridge_sync *s, int64_t now, size_t *replayed_r,
            const char **error_r)
{
	enum sync_replay_result res;
	struct store_op op;
	int ret;

	*replayed_r = 0;
	if (sync_replay_failed(s, now, error_r) < 0)
		return -1;
	while (!sync_stopping(s)) {
		ret = store_op_peek(s->st, s->cfg.account_id, now, &op,
		                    error_r);
		if (ret <= 0)
			return ret;
		if (strcmp(op.kind, BRIDGE_SYNC_OP_UPDATE) == 0) {
			ret = sync_replay_update(s, &op, now, &res, error_r);
		} else {
			sb_log(SB_LOG_WARN,
			       "sync: account %" PRId64 ": op %" PRId64
			       " of an unknown kind, set aside",
			       s->cfg.account_id, op.id);
			res = SYNC_REPLAY_SET_ASIDE;
			ret = store_op_set_aside(s->st, op.id, "unknown kind",
			                         error_r);
		}
		store_op_free_contents(&op);
		if (ret < 0)
			return -1;
		if (res == SYNC_REPLAY_DONE)
			(*replayed_r)++;
		if (res == SYNC_REPLAY_RETRY || res == SYNC_REPLAY_WAIT)
			break;
	}
	return 0;
}
