/*
 * Body downloads: the messages whose body is not cached, one at a time,
 * streamed from the service into the replica's chunked body writer so that
 * at most one chunk of a body is ever in memory.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "api/client.h"
#include "common/alloc.h"
#include "common/log.h"
#include "sync-private.h"

/* Bodies looked up per scan of the mailboxes. */
#define SYNC_BODIES_BATCH 32
/* Bodies that failed in one run, skipped until the next one. */
#define SYNC_BODIES_FAILED_MAX 256

struct sync_ids {
	int64_t *ids;
	size_t count, max;
};

static bool
sync_ids_has(const struct sync_ids *l, int64_t id)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		if (l->ids[i] == id)
			return true;
	}
	return false;
}

struct sync_scan {
	struct sync_ids batch;
	const struct sync_ids *failed;
};

static int
sync_scan_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct sync_scan *sc = ctx;

	(void)error_r;
	if (e->body_cached || e->remote_id == NULL ||
	    sync_ids_has(sc->failed, e->message_id) ||
	    sync_ids_has(&sc->batch, e->message_id))
		return 0;
	sc->batch.ids[sc->batch.count++] = e->message_id;
	return sc->batch.count == sc->batch.max ? 1 : 0;
}

/*
 * Finds up to SYNC_BODIES_BATCH messages of the account without a cached
 * body, not in failed: the lowest UIDs of each mailbox first, which the
 * initial sync gave to the newest messages.
 */
static int
sync_bodies_scan(struct bridge_sync *s, struct store *st,
                 const struct sync_ids *failed, struct sync_ids *batch,
                 const char **error_r)
{
	struct store_mailbox *list;
	struct sync_scan sc;
	size_t n, i;
	int ret = 0;

	if (store_mailbox_list(st, s->cfg.account_id, &list, &n, error_r) < 0)
		return -1;
	memset(&sc, 0, sizeof(sc));
	sc.batch = *batch;
	sc.batch.count = 0;
	sc.failed = failed;
	for (i = 0; i < n && ret == 0 && sc.batch.count < sc.batch.max; i++)
		ret = store_mailbox_fetch(st, list[i].id, 1, UINT32_MAX, 0,
		                          sync_scan_entry, &sc, error_r);
	store_mailbox_list_free(&list, n);
	batch->count = sc.batch.count;
	return ret < 0 ? -1 : 0;
}

static int
sync_count_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	uint64_t *count = ctx;

	(void)error_r;
	if (!e->body_cached && e->remote_id != NULL)
		(*count)++;
	return 0;
}

/*
 * Counts the bodies to download, for the progress report: entries, so a
 * message in two mailboxes counts twice (an estimate from above, which
 * the run corrects when none is left).
 */
static int
sync_bodies_count(struct bridge_sync *s, struct store *st, uint64_t *count_r,
                  const char **error_r)
{
	struct store_mailbox *list;
	size_t n, i;
	int ret = 0;

	*count_r = 0;
	if (store_mailbox_list(st, s->cfg.account_id, &list, &n, error_r) < 0)
		return -1;
	for (i = 0; i < n && ret == 0; i++)
		ret = store_mailbox_fetch(st, list[i].id, 1, UINT32_MAX, 0,
		                          sync_count_entry, count_r, error_r);
	store_mailbox_list_free(&list, n);
	return ret < 0 ? -1 : 0;
}

/* Begins the run's progress report when it has enough bodies to fetch. */
static int
sync_bodies_progress(struct bridge_sync *s, struct store *st, size_t max,
                     struct sb_progress *bar, const char **error_r)
{
	uint64_t total;

	if (sync_bodies_count(s, st, &total, error_r) < 0)
		return -1;
	if (max > 0 && total > max)
		total = max;
	if (total >= SYNC_PROGRESS_MIN)
		sb_progress_begin(bar, s->label, "bodies stored", 0, total);
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
	return ret;
}

int
sync_bodies_run(struct bridge_sync *s, struct store *st, struct api_client *c,
                size_t max, size_t *done_r, const char **error_r)
{
	struct sync_ids failed = {0}, batch = {0};
	struct sb_progress bar = {0};
	size_t i, done = 0;
	bool counted = false;
	int ret = 0;

	*done_r = 0;
	failed.max = SYNC_BODIES_FAILED_MAX;
	failed.ids = sb_calloc(failed.max, sizeof(*failed.ids));
	batch.max = SYNC_BODIES_BATCH;
	batch.ids = sb_calloc(batch.max, sizeof(*batch.ids));
	while (ret == 0 && (max == 0 || done < max)) {
		ret = sync_bodies_scan(s, st, &failed, &batch, error_r);
		if (ret < 0 || batch.count == 0)
			break;
		if (!counted) {
			counted = true;
			ret = sync_bodies_progress(s, st, max, &bar, error_r);
			if (ret < 0)
				break;
		}
		for (i = 0; i < batch.count && (max == 0 || done < max); i++) {
			const char *error;

			if (sync_stopping(s)) {
				*error_r = sync_errorf("stopped");
				ret = -1;
				break;
			}
			ret = sync_body_download(s, st, c, batch.ids[i],
			                         &error);
			if (ret == 0) {
				done++;
				sb_progress_update(&bar, done);
				continue;
			}
			if (ret < 0)
				sb_log(SB_LOG_WARN,
				       "sync: account %" PRId64 ": body of"
				       " message %" PRId64 ": %s",
				       s->cfg.account_id, batch.ids[i], error);
			ret = 0;
			if (failed.count == failed.max) {
				*error_r = sync_errorf("too many bodies"
				                       " failed");
				ret = -1;
				break;
			}
			failed.ids[failed.count++] = batch.ids[i];
		}
	}
	/* None left: what was tried is the total, not the estimate. */
	if (ret == 0 && batch.count == 0)
		sb_progress_set_total(&bar, done + failed.count);
	if (bar.active)
		sb_progress_end(&bar, ret == 0 ? "done" : "stopped");
	else if (done > 0)
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": %zu bodies downloaded",
		       s->cfg.account_id, done);
	free(failed.ids);
	free(batch.ids);
	*done_r = done;
	return ret;
}
