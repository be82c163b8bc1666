/* The sync engine's internals, shared by bridge/sync*.c. */
#ifndef SB_BRIDGE_SYNC_PRIVATE_H
#define SB_BRIDGE_SYNC_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>

#include "api/api.h"
#include "common/progress.h"
#include "sync.h"

/* Names of the values kept in sync_state (docs/sync.md). */
#define SYNC_PHASE          "phase"          /* "initial" or "steady" */
#define SYNC_INITIAL_CURSOR "initial.cursor" /* the next page's cursor */
#define SYNC_INITIAL_LISTED "initial.listed" /* messages listed so far */
#define SYNC_INITIAL_ENTRIES \
	"initial.entries" /* (message, mailbox) pairs listed so far */
#define SYNC_INITIAL_TOTAL \
	"initial.total" /* the mailboxes' totals: pairs to list */
/* A resync in progress: set from its first step to its last. */
#define SYNC_RESYNC_STATE   "resync.state"   /* the feed state it saves */
#define SYNC_RESYNC_CURSOR  "resync.cursor"  /* the next page's cursor */
#define SYNC_RESYNC_LISTED  "resync.listed"  /* messages listed so far */
#define SYNC_RESYNC_ENTRIES "resync.entries" /* pairs listed so far */
#define SYNC_RESYNC_TOTAL   "resync.total"   /* the mailboxes' totals */
/* When the change feed was last read to its end (Unix time). */
#define SYNC_CHECKED_AT "feed.checked_at"

/* Progress (common/progress.h) of work with at least this many items. */
#define SYNC_PROGRESS_MIN 100

struct bridge_sync {
	struct bridge_sync_config cfg;
	char *replica_path;
	char *api_id;
	char *label;      /* the account's address, for progress lines */
	struct store *st; /* the sync thread's (or the steps') connection */
	int stop_fd;      /* eventfd: stop everything */
	int wake_fd;      /* eventfd: the feed's state changed */
	int bodies_fd;    /* eventfd: new messages may lack bodies */
	struct store_sub *ops_sub; /* the account's op queue (with a hub) */
	int ops_fd;                /* its eventfd, or -1 */
	bool running;
	bool events_started, bodies_started;
	pthread_t sync_thread, events_thread, bodies_thread;
	/* The listing of the initial sync or of a resync (sync thread). */
	struct sb_progress listing;
};

/* Formats into a per-thread buffer and returns it (for error_r). */
const char *sync_errorf(const char *fmt, ...) SB_PRINTF(1, 2);
/* An API failure as a sentence: what, the status and the service's why. */
const char *sync_api_error(const char *what, const struct api_reply *r);
/* True once the stop eventfd was signalled (it is not drained). */
bool sync_stopping(const struct bridge_sync *s);

/*
 * Applies mailboxes listed by the service, parents before children,
 * inside the caller's transaction. Those refused (an unknown parent, a
 * loop for a moment) are tried again after the others; what is still
 * refused is logged and left for the next listing.
 */
int sync_apply_mailboxes(struct bridge_sync *s, const struct api_mailbox *list,
                         size_t count, const char **error_r) SB_WUR;
/*
 * Adds the message the service sent, or updates the one with its remote
 * id (keywords, mailboxes): applying it twice is harmless. A message in
 * no mailbox known here is skipped (*applied_r false).
 */
int sync_apply_message(struct bridge_sync *s, const struct api_message *m,
                       bool *added_r, bool *applied_r,
                       const char **error_r) SB_WUR;
/* Removes the message with that remote id, if there is one. */
int sync_remove_message(struct bridge_sync *s, const char *remote_id,
                        const char **error_r) SB_WUR;
/* Reads the feed state saved for the account; NULL before any. */
int sync_feed_state(struct bridge_sync *s, char **state_r,
                    const char **error_r) SB_WUR;
/*
 * Deletes the account's mailboxes that have a remote id not in the list,
 * deepest first, inside the caller's transaction.
 */
int sync_drop_mailboxes(struct bridge_sync *s, const struct api_mailbox *list,
                        size_t count, size_t *dropped_r,
                        const char **error_r) SB_WUR;

/* ---- Listings: the initial sync's and a resync's (sync-apply.c) ---- */

/* A number kept in sync_state; 0 when unset. */
int sync_get_u64(struct bridge_sync *s, const char *name, uint64_t *value_r,
                 const char **error_r) SB_WUR;
int sync_set_u64(struct bridge_sync *s, const char *name, uint64_t value,
                 const char **error_r) SB_WUR;
/* Commits, or rolls back and fails; ret is the work's result. */
int sync_end_tx(struct bridge_sync *s, int ret, const char **error_r) SB_WUR;
/*
 * Applies one page inside the caller's transaction; keep: each id goes to
 * the resync's keep list too. *entries_r is the page's (message, mailbox)
 * pairs; *added_r (may be NULL) grows by the messages added.
 */
int sync_apply_page(struct bridge_sync *s, const struct api_message_page *p,
                    bool keep, uint64_t *entries_r, size_t *added_r,
                    const char **error_r) SB_WUR;
/*
 * Begins the listing's progress report unless it runs, from the counts
 * saved in sync_state: (message, mailbox) pairs listed, out of the sum of
 * the mailboxes' totals.
 */
int sync_listing_progress(struct bridge_sync *s, const char *unit,
                          const char *done_name, const char *total_name,
                          const char **error_r) SB_WUR;
/*
 * A page refused for its cursor: one the service gave but no longer takes
 * (saltmaild answers invalid_request for a cursor it cannot read).
 */
bool sync_cursor_refused(const struct api_reply *r);
/* The sum of the mailboxes' totals: (message, mailbox) pairs. */
uint64_t sync_mailboxes_total(const struct api_mailbox_list *l);

/* ---- The resync (sync-resync.c) ---- */

/*
 * Runs a resync to its end: the one saved resumes, else one begins.
 * *added_r counts the messages it added.
 */
int sync_resync_run(struct bridge_sync *s, size_t *added_r,
                    const char **error_r) SB_WUR;

/*
 * One replay pass of the account's op queue (sync-replay.c): due ops in
 * order, each sent with its Idempotency-Key. Done: removed. Refused for
 * good (a 4xx but 401, 408 and 429, or the service's not_updated): the
 * message is fetched again and applied, and the op removed. Failed for
 * now: store_op_failed, and the pass ends (later ops wait behind it), as
 * it does at an op whose message is not on the service yet. Of a kind not
 * known, or unreadable: set aside. Ops failed for good are undone first
 * (the replica takes the service's state). *replayed_r counts those the
 * service took. -1 only for a replica error.
 */
int sync_replay(struct bridge_sync *s, int64_t now, size_t *replayed_r,
                const char **error_r) SB_WUR;

/* The body downloads of bridge_sync_bodies on connection st. */
int sync_bodies_run(struct bridge_sync *s, struct store *st,
                    struct api_client *c, size_t max, size_t *done_r,
                    const char **error_r) SB_WUR;

#endif
