/*
 * Body downloads: the messages whose body is not cached, newest first as
 * the replica lists them (store_bodies_missing), one at a time, streamed
 * from the service into the replica's chunked body writer so that at most
 * one chunk of a body is ever in memory.
 */
#include <inttypes.h>
#include <string.h>

#include "api/client.h"
#include "common/log.h"
#include "sync-private.h"

/* Bodies looked up per query of the replica. */
#define SYNC_BODIES_BATCH 32
/* Bodies that may fail in one run; past this many the run ends. */
#define SYNC_BODIES_FAILED_MAX 256

/*
 * Begins the run's progress report when it has enough bodies to fetch:
 * the account's bodies missing now (at most max, when given), counted
 * exactly by the replica. *total_r 0: nothing to download.
 */
static int
sync_bodies_progress(struct bridge_sync *s, struct store *st, size_t max,
                     struct sb_progress *bar, uint64_t *total_r,
                     const char **error_r)
{
	uint64_t total, bytes;

	if (store_bodies_missing_count(st, s->cfg.account_id, &total, &bytes,
	                               error_r) < 0)
		return -1;
	*total_r = total;
	if (max > 0 && total > max)
		*total_r = max;
	if (*total_r < SYNC_PROGRESS_MIN)
		return 0;
	sb_log(SB_LOG_INFO,
	       "sync: account %" PRId64 ": %" PRIu64 " bodies missing"
	       " (%.1f MiB)",
	       s->cfg.account_id, total, (double)bytes / 1048576.0);
	sb_progress_begin(bar, s->label, "bodies stored", 0, *total_r);
	return 0;
}

struct sync_sink {
	struct bridge_sync *s;
	struct store_body_writer *w;
	uint64_t skip; /* bytes stored already: a resumed body */
	uint64_t seen;
	const char *error;
};

static int
sync_body_sink(void *ctx, const void *data, size_t len)
{
	struct sync_sink *k = ctx;
	const unsigned char *p = data;
	uint64_t off = 0;

	if (sync_stopping(k->s)) {
		k->error = sync_errorf("stopped");
		return -1;
	}
	if (k->seen < k->skip)
		off = k->skip - k->seen < len ? k->skip - k->seen : len;
	k->seen += len;
	if (off == len)
		return 0;
	return store_body_write_chunk(k->w, p + off, len - off, &k->error);
}

/* True when the body is stored whole (by another writer, say). */
static bool
sync_body_now_cached(struct store *st, int64_t message_id)
{
	struct store_message m;
	const char *error;
	bool cached;

	if (store_message_get(st, message_id, &m, &error) <= 0)
		return false;
	cached = m.body_cached;
	store_message_free_contents(&m);
	return cached;
}

/*
 * Downloads one body: 0 stored, 1 nothing to download (cached meanwhile,
 * gone, or not on the service), -1 failed. The API starts every download at
 * byte 0, so a body resumed after a stop skips, without storing them again, the
 * bytes its committed pieces hold.
 */
static int
sync_body_download(struct bridge_sync *s, struct store *st,
                   struct api_client *c, int64_t message_id,
                   const char **error_r)
{
	struct store_message m;
	struct sync_sink k;
	struct api_reply r;
	int ret;

	ret = store_message_get(st, message_id, &m, error_r);
	if (ret <= 0)
		return ret < 0 ? -1 : 1;
	if (m.body_cached || m.blob_id == NULL) {
		store_message_free_contents(&m);
		return 1;
	}
	memset(&k, 0, sizeof(k));
	k.s = s;
	if (store_body_write_begin(st, message_id, &k.w, error_r) < 0) {
		store_message_free_contents(&m);
		return -1;
	}
	k.skip = store_body_writer_offset(k.w);
	api_reply_init(&r);
	ret = api_blob_download(c, m.blob_id, m.size, sync_body_sink, &k, &r);
	if (ret < 0) {
		*error_r = k.error != NULL ? k.error
		                           : sync_api_error("downloading", &r);
		store_body_write_abort(&k.w);
	} else {
		ret = store_body_write_end(&k.w, error_r);
	}
	api_reply_clear(&r);
	store_message_free_contents(&m);
	/*
	 * Two writers of one body (the body run, and a session that needs
	 * it now): the one that loses finds it stored by the other. That is
	 * what was wanted, not a failure.
	 */
	if (ret < 0 && sync_body_now_cached(st, message_id))
		return 1;
	return ret;
}

int
bridge_sync_body_download(struct bridge_sync *s, struct store *st,
                          struct api_client *c, int64_t message_id,
                          const char **error_r)
{
	return sync_body_download(s, st, c, message_id, error_r);
}

/* What one run did so far. */
struct sync_bodies_tally {
	size_t done;   /* stored */
	size_t failed; /* failed, logged, skipped until the next run */
};

/*
 * Downloads the bodies of one batch of ids, in order, until max are done
 * (0: no limit). A body that fails is logged and left behind: the run's
 * cursor is past it, so it waits for the next run.
 */
static int
sync_bodies_batch(struct bridge_sync *s, struct store *st, struct api_client *c,
                  const int64_t *ids, size_t n, size_t max,
                  struct sb_progress *bar, struct sync_bodies_tally *t,
                  const char **error_r)
{
	const char *error;
	size_t i;
	int ret;

	for (i = 0; i < n && (max == 0 || t->done < max); i++) {
		if (sync_stopping(s)) {
			*error_r = sync_errorf("stopped");
			return -1;
		}
		ret = sync_body_download(s, st, c, ids[i], &error);
		if (ret == 0) {
			t->done++;
			sb_progress_update(bar, t->done);
		}
		if (ret >= 0)
			continue;
		/* A download the stop cut short is no failure. */
		if (sync_stopping(s)) {
			*error_r = sync_errorf("stopped");
			return -1;
		}
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": body of message %" PRId64
		       ": %s",
		       s->cfg.account_id, ids[i], error);
		if (++t->failed == SYNC_BODIES_FAILED_MAX) {
			*error_r = sync_errorf("too many bodies failed");
			return -1;
		}
	}
	return 0;
}

/*
 * One run goes once through the bodies missing when it begins, newest
 * first across the account's mailboxes, a batch at a time from a cursor
 * (store_bodies_missing): each batch costs the same however far the run
 * is. Messages that arrive meanwhile wait for the next run, which the
 * sync thread asks for when it added some.
 */
int
sync_bodies_run(struct bridge_sync *s, struct store *st, struct api_client *c,
                size_t max, size_t *done_r, const char **error_r)
{
	struct store_body_cursor cursor = {0};
	struct sync_bodies_tally t = {0};
	int64_t ids[SYNC_BODIES_BATCH];
	struct sb_progress bar = {0};
	uint64_t total;
	size_t n;
	int ret;

	*done_r = 0;
	if (sync_bodies_progress(s, st, max, &bar, &total, error_r) < 0)
		return -1;
	ret = 0;
	while (total > 0 && ret == 0 && (max == 0 || t.done < max)) {
		ret = store_bodies_missing(st, s->cfg.account_id, &cursor,
		                           SB_N_ELEMENTS(ids), ids, &n,
		                           error_r);
		if (ret < 0 || n == 0)
			break;
		ret = sync_bodies_batch(s, st, c, ids, n, max, &bar, &t,
		                        error_r);
	}
	if (bar.active)
		sb_progress_end(&bar, ret == 0 ? "done" : "stopped");
	else if (t.done > 0)
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": %zu bodies downloaded",
		       s->cfg.account_id, t.done);
	*done_r = t.done;
	return ret;
}
