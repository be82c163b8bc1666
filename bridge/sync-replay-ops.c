/*
 * Replaying imports (APPEND) and mailbox changes (CREATE, RENAME,
 * DELETE): docs/sync.md, "Replaying local changes".
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/calls.h"
#include "common/alloc.h"
#include "common/log.h"
#include "sync-replay.h"

/* ---- Imports ---- */

/* Writes body pieces to a file descriptor. */
static int
sync_sink_fd(void *ctx, const void *data, size_t len, const char **error_r)
{
	const char *p = data;
	int fd = *(int *)ctx;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = "cannot write the upload's file";
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The stored body (the service's ciphertext) in an unnamed file beside
 * the replica, for the upload to read and re-read on a retry: 1 with
 * *fd_r at offset 0, 0 when the body is not stored, -1.
 */
static int SB_WUR
sync_body_file(struct bridge_sync *s, int64_t message_id, int *fd_r,
               const char **error_r)
{
	char *dir = sb_strdup(s->replica_path);
	int fd, ret;

	fd = open(dirname(dir), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	free(dir);
	if (fd < 0) {
		*error_r = sync_errorf("a file for the upload: %s",
		                       strerror(errno));
		return -1;
	}
	ret = store_body_read(s->st, message_id, 0, UINT64_MAX, sync_sink_fd,
	                      &fd, error_r);
	if (ret <= 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		if (ret > 0)
			*error_r = "cannot read the upload's file back";
		return ret > 0 ? -1 : ret;
	}
	*fd_r = fd;
	return 1;
}

/*
 * The service's ids of the mailboxes that hold the message now, or else
 * of the one it was appended to. *wait_r when none has one yet but one's
 * creation is queued.
 */
static int SB_WUR
sync_import_mailboxes(struct bridge_sync *s, const struct sync_op *p,
                      struct api_strings *out, bool *wait_r,
                      const char **error_r)
{
	int64_t *boxes;
	size_t n, i;
	char *remote;
	bool w;
	int ret;

	*wait_r = false;
	if (store_message_mailboxes(s->st, p->message, &boxes, &n, error_r) < 0)
		return -1;
	for (i = 0, ret = 0; i < n && ret >= 0; i++) {
		ret = sync_mailbox_remote(s, boxes[i], &remote, &w, error_r);
		if (ret > 0)
			api_strings_add(out, remote);
		*wait_r = *wait_r || w;
		free(remote);
	}
	free(boxes);
	if (ret < 0)
		return -1;
	if (out->count > 0) {
		/* Those still to be made get the message with their op. */
		*wait_r = false;
		return 0;
	}
	ret = sync_mailbox_remote(s, p->mailbox, &remote, &w, error_r);
	if (ret > 0)
		api_strings_add(out, remote);
	*wait_r = *wait_r || w;
	free(remote);
	return ret < 0 ? -1 : 0;
}

/* The import request for the stored message m, its body uploaded. */
static int SB_WUR
sync_import_request(const struct store_message *m, const char *blob_id,
                    struct api_import *im, struct sync_outcome *o)
{
	const char *p = m->keywords;

	if (m->key_packet_len != sizeof(im->key_packet)) {
		o->res = SYNC_REPLAY_SET_ASIDE;
		snprintf(o->why, sizeof(o->why), "its key packet is %zu bytes",
		         m->key_packet_len);
		return -1;
	}
	im->blob_id = sb_strdup(blob_id);
	if (sb_buf_add(&im->summary, m->summary, m->summary_len) < 0) {
		o->res = SYNC_REPLAY_SET_ASIDE;
		snprintf(o->why, sizeof(o->why), "its summary is too long");
		return -1;
	}
	memcpy(im->key_packet, m->key_packet, sizeof(im->key_packet));
	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");
		char *w;

		if (len > 0) {
			w = sb_strndup(p, len);
			api_strings_add(&im->keywords, w);
			free(w);
		}
		p += len + strspn(p + len, " ");
	}
	im->received_at = m->received_at > 0 ? (uint64_t)m->received_at : 0;
	return 0;
}

/*
 * The service made the message: the replica's gets its ids, in the
 * transaction that removes the op. A copy the change feed brought in the
 * meantime (after a crash between the import and this) goes, so the
 * message keeps the UIDs the client was given. 1 done, 0 the message was
 * removed here meanwhile.
 */
static int SB_WUR
sync_import_done(struct bridge_sync *s, const struct store_op *op,
                 int64_t message_id, const struct api_message *made,
                 const char **error_r)
{
	struct store_message cur, dup;
	int ret, found;

	if (store_begin(s->st, error_r) < 0)
		return -1;
	ret = store_message_get(s->st, message_id, &cur, error_r);
	if (ret > 0) {
		store_message_free_contents(&cur);
		found = store_message_find_remote(s->st, s->cfg.account_id,
		                                  made->id, &dup, error_r);
		if (found > 0) {
			ret = store_message_delete(s->st, dup.id, error_r);
			store_message_free_contents(&dup);
		} else {
			ret = found;
		}
		if (ret == 0)
			ret = store_message_set_remote(s->st, message_id,
			                               made->id, made->blob_id,
			                               error_r);
		if (ret == 0)
			ret = 1;
	}
	if (ret >= 0 && store_op_done(s->st, op->id, error_r) < 0)
		ret = -1;
	if (ret < 0) {
		store_rollback(s->st);
		return -1;
	}
	if (store_commit(s->st, error_r) < 0)
		return -1;
	return ret;
}

/* Uploads the body and imports; *made_r on success. */
static void
sync_import_send(struct bridge_sync *s, const struct store_op *op,
                 const struct store_message *m, int fd,
                 const struct api_strings *boxes, struct api_message *made_r,
                 bool *made, struct sync_outcome *o)
{
	char blob_id[API_ID_MAX + 1], key[API_IDEM_KEY_MAX + 1];
	struct api_import im;
	struct api_reply r;
	bool permanent = false;
	size_t i;

	*made = false;
	sync_derived_key(op->idempotency_key, "blob", key, sizeof(key));
	api_reply_init(&r);
	if (api_blob_upload_idem(s->cfg.api, fd, m->size, false, key, blob_id,
	                         &r) < 0) {
		sync_outcome_failed(o, "uploading", &r, &permanent);
		api_reply_clear(&r);
		if (permanent)
			o->res = SYNC_REPLAY_SET_ASIDE;
		return;
	}
	api_reply_clear(&r);
	api_import_init(&im);
	if (sync_import_request(m, blob_id, &im, o) < 0) {
		api_import_free(&im);
		return;
	}
	for (i = 0; i < boxes->count; i++)
		api_strings_add(&im.mailbox_ids, boxes->items[i]);
	api_reply_init(&r);
	if (api_import_post_idem(s->cfg.api, &im, op->idempotency_key, made_r,
	                         &r) < 0) {
		sync_outcome_failed(o, "importing", &r, &permanent);
		if (permanent)
			o->res = SYNC_REPLAY_SET_ASIDE;
	} else {
		*made = true;
	}
	api_reply_clear(&r);
	api_import_free(&im);
}

int
sync_replay_import(struct bridge_sync *s, const struct store_op *op,
                   const struct sync_op *p, struct sync_outcome *o,
                   const char **error_r)
{
	struct api_strings boxes = {0};
	struct api_message made;
	struct store_message m;
	bool wait, ok;
	int ret, fd = -1;

	ret = store_message_get(s->st, p->message, &m, error_r);
	if (ret <= 0 || m.account_id != s->cfg.account_id ||
	    m.remote_id != NULL) {
		if (ret > 0)
			store_message_free_contents(&m);
		snprintf(o->why, sizeof(o->why), "the message is gone");
		o->res = SYNC_REPLAY_DROPPED;
		return ret < 0 ? -1 : 0;
	}
	ret = sync_import_mailboxes(s, p, &boxes, &wait, error_r);
	if (ret == 0 && boxes.count == 0) {
		o->res = wait ? SYNC_REPLAY_WAIT : SYNC_REPLAY_SET_ASIDE;
		snprintf(o->why, sizeof(o->why),
		         "none of its mailboxes is on the service");
		goto out;
	}
	if (ret == 0)
		ret = sync_body_file(s, m.id, &fd, error_r);
	if (ret == 0) {
		/* Still being written, or cut short: tried again later. */
		o->res = SYNC_REPLAY_RETRY;
		snprintf(o->why, sizeof(o->why), "its body is not stored");
		goto out;
	}
	if (ret < 0)
		goto out;
	ret = 0;
	sync_import_send(s, op, &m, fd, &boxes, &made, &ok, o);
	if (!ok)
		goto out;
	ret = sync_import_done(s, op, m.id, &made, error_r);
	if (ret == 0) {
		/* Deleted here during the upload: not there either. */
		struct api_strings ids = {0};
		struct api_set_result res;
		struct api_reply r;
		char key[API_IDEM_KEY_MAX + 1];

		sync_derived_key(op->idempotency_key, "undo", key, sizeof(key));
		api_strings_add(&ids, made.id);
		api_reply_init(&r);
		if (api_destroy_post_idem(s->cfg.api, &ids, key, &res, &r) == 0)
			api_set_result_free(&res);
		api_reply_clear(&r);
		api_strings_free(&ids);
		snprintf(o->why, sizeof(o->why),
		         "the message was removed during its import");
		o->res = SYNC_REPLAY_DROPPED;
	} else if (ret > 0) {
		o->res = SYNC_REPLAY_DONE;
		ret = 0;
	}
	o->settled = ret == 0;
	api_message_free(&made);
out:
	if (fd >= 0)
		close(fd);
	api_strings_free(&boxes);
	store_message_free_contents(&m);
	return ret;
}

/* ---- Mailboxes ---- */

/*
 * The mailbox and its parent's remote id (NULL at the top). 1 both
 * known, 0 with *o set (moot, waiting, or not replayable), -1.
 */
static int SB_WUR
sync_mailbox_and_parent(struct bridge_sync *s, const struct sync_op *p,
                        struct store_mailbox *mb, char **parent_r,
                        struct sync_outcome *o, const char **error_r)
{
	bool wait;
	int ret;

	*parent_r = NULL;
	ret = store_mailbox_get(s->st, p->mailbox, mb, error_r);
	if (ret <= 0 || mb->account_id != s->cfg.account_id) {
		if (ret > 0)
			store_mailbox_free_contents(mb);
		snprintf(o->why, sizeof(o->why), "the mailbox is gone");
		o->res = SYNC_REPLAY_DROPPED;
		return ret < 0 ? -1 : 0;
	}
	if (mb->parent_id == 0)
		return 1;
	ret = sync_mailbox_remote(s, mb->parent_id, parent_r, &wait, error_r);
	if (ret > 0)
		return 1;
	store_mailbox_free_contents(mb);
	if (ret < 0)
		return -1;
	o->res = wait ? SYNC_REPLAY_WAIT : SYNC_REPLAY_SET_ASIDE;
	snprintf(o->why, sizeof(o->why), "its parent is not on the service");
	return 0;
}

/*
 * A create the service refused with conflict: a sibling of that name is
 * there (made by another client, or by this op before a lost answer). It
 * becomes this mailbox's. 1 adopted, 0 none found.
 */
static int SB_WUR
sync_mailbox_adopt(struct bridge_sync *s, const struct store_mailbox *mb,
                   const char *parent, const char **error_r)
{
	struct api_mailbox_list l;
	struct store_mailbox other;
	struct api_reply r;
	const char *found = NULL;
	size_t i;
	int ret;

	api_reply_init(&r);
	ret = api_mailboxes_get(s->cfg.api, &l, &r);
	api_reply_clear(&r);
	if (ret < 0)
		return 0;
	for (i = 0; i < l.count && found == NULL; i++) {
		const struct api_mailbox *m = &l.items[i];

		if (strcmp(m->name, mb->name) == 0 &&
		    (parent == NULL
		             ? m->parent_id == NULL
		             : m->parent_id != NULL &&
		                       strcmp(m->parent_id, parent) == 0))
			found = m->id;
	}
	ret = 0;
	if (found != NULL) {
		ret = store_mailbox_find_remote(s->st, s->cfg.account_id, found,
		                                &other, error_r);
		if (ret > 0) {
			/* Another mailbox here is that one already. */
			store_mailbox_free_contents(&other);
			ret = 0;
		} else if (ret == 0) {
			ret = store_mailbox_set_remote_id(s->st, mb->id, found,
			                                  error_r) < 0
			              ? -1
			              : 1;
		}
	}
	api_mailbox_list_free(&l);
	return ret;
}

/*
 * The service made the mailbox: the replica's gets its id. One deleted
 * here while the creation was on its way is deleted there too, so that
 * the change feed does not bring it back.
 */
static int SB_WUR
sync_mailbox_made(struct bridge_sync *s, const struct store_op *op,
                  const struct store_mailbox *mb, const char *remote_id,
                  struct sync_outcome *o, const char **error_r)
{
	struct store_mailbox now;
	struct api_reply r;
	char key[API_IDEM_KEY_MAX + 1];
	int ret;

	if (store_begin(s->st, error_r) < 0)
		return -1;
	ret = store_mailbox_get(s->st, mb->id, &now, error_r);
	if (ret > 0) {
		store_mailbox_free_contents(&now);
		ret = store_mailbox_set_remote_id(s->st, mb->id, remote_id,
		                                  error_r);
		o->res = SYNC_REPLAY_DONE;
	} else if (ret == 0) {
		o->res = SYNC_REPLAY_DROPPED;
	}
	if (ret == 0)
		ret = store_op_done(s->st, op->id, error_r);
	if (ret < 0) {
		store_rollback(s->st);
		return -1;
	}
	if (store_commit(s->st, error_r) < 0)
		return -1;
	o->settled = true;
	if (o->res == SYNC_REPLAY_DROPPED) {
		snprintf(o->why, sizeof(o->why),
		         "the mailbox was deleted during its creation");
		sync_derived_key(op->idempotency_key, "undo", key, sizeof(key));
		api_reply_init(&r);
		if (api_mailbox_delete_idem(s->cfg.api, remote_id, true, key,
		                            &r) < 0)
			sb_log(SB_LOG_WARN,
			       "sync: account %" PRId64
			       ": a mailbox deleted during its creation stays "
			       "on the service: %s (%u)",
			       s->cfg.account_id,
			       api_error_name(r.error) != NULL
			               ? api_error_name(r.error)
			               : "error",
			       r.status);
		api_reply_clear(&r);
	}
	return 0;
}

int
sync_replay_mailbox_create(struct bridge_sync *s, const struct store_op *op,
                           const struct sync_op *p, struct sync_outcome *o,
                           const char **error_r)
{
	struct store_mailbox mb;
	struct api_mailbox made;
	struct api_reply r;
	char *parent = NULL;
	bool permanent;
	int ret;

	ret = sync_mailbox_and_parent(s, p, &mb, &parent, o, error_r);
	if (ret <= 0)
		return ret;
	if (mb.remote_id != NULL) {
		snprintf(o->why, sizeof(o->why), "made already");
		o->res = SYNC_REPLAY_DROPPED;
		goto out;
	}
	ret = 0;
	api_reply_init(&r);
	if (api_mailbox_create_idem(s->cfg.api, mb.name, parent,
	                            op->idempotency_key, &made, &r) == 0) {
		ret = sync_mailbox_made(s, op, &mb, made.id, o, error_r);
		api_mailbox_free(&made);
	} else {
		sync_outcome_failed(o, "creating", &r, &permanent);
		if (permanent && r.error == API_ERR_CONFLICT) {
			ret = sync_mailbox_adopt(s, &mb, parent, error_r);
			o->res = ret > 0 ? SYNC_REPLAY_DONE : SYNC_REPLAY_RETRY;
			if (ret > 0)
				sb_log(SB_LOG_INFO,
				       "sync: account %" PRId64
				       ": mailbox %" PRId64
				       " was on the service already; taken "
				       "over",
				       s->cfg.account_id, mb.id);
			ret = ret < 0 ? -1 : 0;
		} else if (permanent) {
			/* It stays here, a local mailbox. */
			o->res = SYNC_REPLAY_SET_ASIDE;
		}
	}
	api_reply_clear(&r);
out:
	free(parent);
	store_mailbox_free_contents(&mb);
	return ret;
}

int
sync_replay_mailbox_update(struct bridge_sync *s, const struct store_op *op,
                           const struct sync_op *p, struct sync_outcome *o,
                           const char **error_r)
{
	struct store_mailbox mb;
	struct api_mailbox done;
	struct api_reply r;
	char *parent = NULL;
	bool permanent, live;
	int ret;

	ret = sync_mailbox_and_parent(s, p, &mb, &parent, o, error_r);
	if (ret <= 0)
		return ret;
	ret = 0;
	if (mb.remote_id == NULL) {
		if (store_op_live(s->st, s->cfg.account_id,
		                  STORE_OP_MAILBOX_CREATE, "mailbox", mb.id,
		                  &live, error_r) < 0)
			ret = -1;
		/* Its create sends the name it has then. */
		o->res = live ? SYNC_REPLAY_WAIT : SYNC_REPLAY_DROPPED;
		snprintf(o->why, sizeof(o->why), "not on the service");
		goto out;
	}
	api_reply_init(&r);
	if (api_mailbox_update_idem(s->cfg.api, mb.remote_id, mb.name, true,
	                            parent, op->idempotency_key, &done,
	                            &r) == 0) {
		api_mailbox_free(&done);
		o->res = SYNC_REPLAY_DONE;
	} else {
		sync_outcome_failed(o, "renaming", &r, &permanent);
		if (permanent && r.error == API_ERR_NOT_FOUND)
			o->res = SYNC_REPLAY_DROPPED;
		else if (permanent)
			ret = sync_correct_mailboxes(s, op, o, error_r);
	}
	api_reply_clear(&r);
out:
	free(parent);
	store_mailbox_free_contents(&mb);
	return ret;
}

int
sync_replay_mailbox_delete(struct bridge_sync *s, const struct store_op *op,
                           const struct sync_op *p, struct sync_outcome *o,
                           const char **error_r)
{
	struct api_reply r;
	bool permanent;
	int ret = 0;

	api_reply_init(&r);
	if (api_mailbox_delete_idem(s->cfg.api, p->remote_id, true,
	                            op->idempotency_key, &r) == 0) {
		o->res = SYNC_REPLAY_DONE;
	} else {
		sync_outcome_failed(o, "deleting", &r, &permanent);
		if (permanent && r.error == API_ERR_NOT_FOUND) {
			o->res = SYNC_REPLAY_DONE;
		} else if (permanent) {
			/*
			 * The mailbox comes back with the next listing; its
			 * messages, deleted here, with a resync.
			 */
			ret = sync_correct_mailboxes(s, op, o, error_r);
			if (ret == 0 && bridge_sync_resync(s, error_r) < 0) {
				sb_log(SB_LOG_WARN,
				       "sync: account %" PRId64
				       ": resync after a refused delete: %s",
				       s->cfg.account_id, *error_r);
			}
		}
	}
	api_reply_clear(&r);
	return ret;
}
