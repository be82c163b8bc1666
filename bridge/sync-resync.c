/*
 * The resync, when the service cannot calculate the changes (docs/sync.md):
 * bridge_sync_resync, bridge_sync_resync_step, and sync_resync_run, which
 * the change feed (sync-apply.c) starts.
 *
 * A resync lists every message again and keeps what still exists. It is
 * saved as it goes, so that one stopped half-way resumes at its next page
 * with the same scope: the values resync.* of sync_state, and the
 * replica's resync scope and keep list (store_resync_*), which are tables
 * of the file. Its first step lists the mailboxes, records the scope and
 * keeps the listing's state; each next step applies a page; the last
 * page's transaction also ends it. Pages are applied with the helpers of
 * the initial sync (sync-apply.c).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "api/calls.h"
#include "common/log.h"
#include "sync-private.h"

/* Unsets the resync's values, inside the caller's transaction. */
static int
sync_resync_unset(struct bridge_sync *s, const char **error_r)
{
	static const char *const names[] = {
	        SYNC_RESYNC_STATE,   SYNC_RESYNC_CURSOR, SYNC_RESYNC_LISTED,
	        SYNC_RESYNC_ENTRIES, SYNC_RESYNC_TOTAL,
	};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(names); i++) {
		if (store_sync_unset(s->st, s->cfg.account_id, names[i],
		                     error_r) < 0)
			return -1;
	}
	return 0;
}

static int
sync_list_mailboxes(struct bridge_sync *s, struct api_mailbox_list *l_r,
                    const char **error_r)
{
	struct api_reply r;

	api_reply_init(&r);
	if (api_mailboxes_get(s->cfg.api, l_r, &r) < 0) {
		*error_r = sync_api_error("listing mailboxes", &r);
		api_reply_clear(&r);
		return -1;
	}
	api_reply_clear(&r);
	return 0;
}

/*
 * The first step, in one transaction: the mailboxes listed and applied,
 * the scope recorded (store_resync_begin: the messages with a remote id
 * now; it empties the keep list of a resync given up), and the state of
 * the same answer kept: it predates every page, as in the initial sync.
 */
static int
sync_resync_begin(struct bridge_sync *s, const char **error_r)
{
	struct api_mailbox_list l;
	int ret;

	if (sync_list_mailboxes(s, &l, error_r) < 0)
		return -1;
	if (store_begin(s->st, error_r) < 0) {
		api_mailbox_list_free(&l);
		return -1;
	}
	ret = sync_apply_mailboxes(s, l.items, l.count, error_r);
	if (ret == 0)
		ret = store_resync_begin(s->st, s->cfg.account_id, error_r);
	if (ret == 0)
		ret = sync_resync_unset(s, error_r);
	if (ret == 0)
		ret = store_sync_set(s->st, s->cfg.account_id,
		                     SYNC_RESYNC_STATE, l.state, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_RESYNC_LISTED, 0, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_RESYNC_ENTRIES, 0, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_RESYNC_TOTAL,
		                   sync_mailboxes_total(&l), error_r);
	if (sync_end_tx(s, ret, error_r) < 0) {
		api_mailbox_list_free(&l);
		return -1;
	}
	sb_log(SB_LOG_INFO,
	       "sync: account %" PRId64 ": resync: %zu mailboxes, listing"
	       " messages",
	       s->cfg.account_id, l.count);
	api_mailbox_list_free(&l);
	return 0;
}

/*
 * Ends the resync inside the last page's transaction: the messages of the
 * scope not listed removed, the mailboxes l (listed at the end) no longer
 * has deleted, the kept state saved as the feed's, the values unset.
 */
static int
sync_resync_end(struct bridge_sync *s, const struct api_mailbox_list *l,
                size_t *removed_r, size_t *dropped_r, const char **error_r)
{
	char *state;
	int ret;

	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_RESYNC_STATE,
	                     &state, error_r);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = sync_errorf("no resync to end");
		return -1;
	}
	ret = store_resync_finish(s->st, s->cfg.account_id, removed_r, error_r);
	if (ret == 0)
		ret = sync_drop_mailboxes(s, l->items, l->count, dropped_r,
		                          error_r);
	if (ret == 0)
		ret = store_account_set_feed_state(s->st, s->cfg.account_id,
		                                   state, error_r);
	if (ret == 0)
		ret = sync_resync_unset(s, error_r);
	free(state);
	return ret;
}

/*
 * One page, kept and applied, with its cursor and counts in one
 * transaction; the last also lists the mailboxes again first (those made
 * or deleted meanwhile), applies them and ends the resync. *added_r grows
 * by the messages added. On a failure, *refused_r tells whether the
 * service refused the saved cursor.
 */
static int
sync_resync_page(struct bridge_sync *s, bool *done_r, bool *refused_r,
                 size_t *added_r, const char **error_r)
{
	struct api_mailbox_list l = {0};
	struct api_message_page p;
	struct api_reply r;
	uint64_t listed = 0, entries = 0, page_entries = 0;
	size_t removed = 0, dropped = 0;
	char *cursor = NULL;
	bool last;
	int ret;

	*done_r = *refused_r = false;
	if (store_sync_get(s->st, s->cfg.account_id, SYNC_RESYNC_CURSOR,
	                   &cursor, error_r) < 0)
		return -1;
	if (sync_listing_progress(s, "messages resynced", SYNC_RESYNC_ENTRIES,
	                          SYNC_RESYNC_TOTAL, error_r) < 0) {
		free(cursor);
		return -1;
	}
	api_reply_init(&r);
	ret = api_messages_page(s->cfg.api, NULL, BRIDGE_SYNC_PAGE, cursor, &p,
	                        &r);
	if (ret < 0) {
		*refused_r = cursor != NULL && sync_cursor_refused(&r);
		*error_r = sync_api_error("listing messages", &r);
		free(cursor);
		api_reply_clear(&r);
		return -1;
	}
	free(cursor);
	api_reply_clear(&r);
	last = p.next_cursor == NULL;
	if (last && sync_list_mailboxes(s, &l, error_r) < 0) {
		api_message_page_free(&p);
		return -1;
	}
	if (store_begin(s->st, error_r) < 0) {
		api_message_page_free(&p);
		api_mailbox_list_free(&l);
		return -1;
	}
	ret = sync_get_u64(s, SYNC_RESYNC_LISTED, &listed, error_r);
	if (ret == 0)
		ret = sync_get_u64(s, SYNC_RESYNC_ENTRIES, &entries, error_r);
	if (ret == 0 && last)
		ret = sync_apply_mailboxes(s, l.items, l.count, error_r);
	if (ret == 0)
		ret = sync_apply_page(s, &p, true, &page_entries, added_r,
		                      error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_RESYNC_LISTED, listed + p.count,
		                   error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_RESYNC_ENTRIES,
		                   entries + page_entries, error_r);
	if (ret == 0 && !last)
		ret = store_sync_set(s->st, s->cfg.account_id,
		                     SYNC_RESYNC_CURSOR, p.next_cursor,
		                     error_r);
	if (ret == 0 && last)
		ret = sync_resync_end(s, &l, &removed, &dropped, error_r);
	ret = sync_end_tx(s, ret, error_r);
	listed += p.count;
	api_message_page_free(&p);
	api_mailbox_list_free(&l);
	if (ret < 0)
		return -1;
	sb_progress_update(&s->listing, entries + page_entries);
	if (!last)
		return 0;
	sb_progress_set_total(&s->listing, entries + page_entries);
	sb_progress_end(&s->listing, "done");
	sb_log(SB_LOG_INFO,
	       "sync: account %" PRId64 ": resync done, %" PRIu64
	       " messages listed, %zu removed, %zu mailboxes removed",
	       s->cfg.account_id, listed, removed, dropped);
	*done_r = true;
	return 0;
}

/*
 * One step: begins a resync when none is saved, else applies its next
 * page. A saved cursor the service refuses gives the resync up and
 * begins a new one at once (*restarted_r).
 */
static int
sync_resync_step(struct bridge_sync *s, bool *done_r, bool *restarted_r,
                 size_t *added_r, const char **error_r)
{
	bool refused;
	char *state;
	int ret;

	*done_r = *restarted_r = false;
	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_RESYNC_STATE,
	                     &state, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0)
		return sync_resync_begin(s, error_r);
	free(state);
	if (sync_resync_page(s, done_r, &refused, added_r, error_r) == 0)
		return 0;
	if (!refused)
		return -1;
	sb_log(SB_LOG_WARN,
	       "sync: account %" PRId64 ": resync: %s; resyncing afresh",
	       s->cfg.account_id, *error_r);
	sb_progress_end(&s->listing, "restarted");
	*restarted_r = true;
	return sync_resync_begin(s, error_r);
}

int
bridge_sync_resync_step(struct bridge_sync *s, bool *done_r,
                        const char **error_r)
{
	bool restarted;
	size_t added = 0;

	return sync_resync_step(s, done_r, &restarted, &added, error_r);
}

int
sync_resync_run(struct bridge_sync *s, size_t *added_r, const char **error_r)
{
	unsigned restarts = 0;
	bool done = false, restarted;
	uint64_t listed;
	char *state;
	int ret;

	*added_r = 0;
	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_RESYNC_STATE,
	                     &state, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		free(state);
		if (sync_get_u64(s, SYNC_RESYNC_LISTED, &listed, error_r) < 0)
			return -1;
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": resuming the resync after"
		       " %" PRIu64 " messages listed",
		       s->cfg.account_id, listed);
	}
	while (!done) {
		if (sync_stopping(s)) {
			*error_r = sync_errorf("stopped");
			return -1;
		}
		if (sync_resync_step(s, &done, &restarted, added_r, error_r) <
		    0)
			return -1;
		/* A service that refuses the cursors it gives: not forever. */
		if (restarted && ++restarts > 1) {
			*error_r = sync_errorf("the service refused the"
			                       " resync's cursor twice");
			return -1;
		}
	}
	return 0;
}

int
bridge_sync_resync(struct bridge_sync *s, const char **error_r)
{
	size_t added;

	return sync_resync_run(s, &added, error_r);
}
