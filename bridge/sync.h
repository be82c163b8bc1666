/*
 * The sync engine of one account (docs/sync.md): it brings the service's
 * mailboxes, message metadata and bodies into the local replica and keeps
 * them up to date from the change feed, woken by the event stream.
 *
 * Phases: an initial sync (mailboxes, then message pages newest first, each
 * page one transaction whose cursor is saved with it so that a crash
 * resumes at the next page), then the steady state (the change feed from
 * the saved state; a resync when the service cannot calculate the
 * changes). Bodies are downloaded apart, into the replica's chunked body
 * writer, one at a time.
 *
 * Threads: bridge_sync_start() runs three threads, each with its own api
 * client (given by the caller, already logged in) and store connection:
 * the sync thread (initial sync, then the change feed), the event thread
 * (the push stream; it only wakes the sync thread) and the body thread.
 * bridge_sync_stop() signals a stop eventfd and joins them; each notices
 * it within about 200 ms, or after the HTTP call it is in.
 *
 * The step functions (bridge_sync_initial_step, bridge_sync_changes,
 * bridge_sync_bodies...) run on the caller's thread with the sync's own
 * connection and client, and may only be called while the threads are not
 * running.
 */
#ifndef SB_BRIDGE_SYNC_H
#define SB_BRIDGE_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/client.h"
#include "common/compiler.h"
#include "store/store.h"

/* Messages per page of the initial listing and of a resync. */
#define BRIDGE_SYNC_PAGE 100
/* Ids per change feed call: the messages of a batch are held in memory. */
#define BRIDGE_SYNC_CHANGES_MAX 100
/* The change feed is read at least this often without events. */
#define BRIDGE_SYNC_POLL_S 60

struct bridge_sync_config {
	const char *replica_path;
	struct store_hub *hub; /* may be NULL: nobody is notified */
	int64_t account_id;    /* the replica's id of the account */
	const char *api_id;    /* the service's id of the same account */
	/* Clients, each used by one thread only (see above). */
	struct api_client *api;    /* calls of the sync thread and the steps */
	struct api_client *events; /* the event stream; NULL: poll only */
	struct api_client *bodies; /* downloads; NULL: no body thread */
	unsigned poll_s;           /* 0: BRIDGE_SYNC_POLL_S */
};

struct bridge_sync;

/* Opens a connection to the replica; the clients stay the caller's. */
int bridge_sync_new(const struct bridge_sync_config *cfg,
                    struct bridge_sync **sync_r, const char **error_r) SB_WUR;
/* Stops the threads if they run, closes, and sets *sync to NULL. */
void bridge_sync_free(struct bridge_sync **sync);

int bridge_sync_start(struct bridge_sync *sync, const char **error_r) SB_WUR;
/* Signals the stop eventfd and joins the threads (a no-op when stopped). */
void bridge_sync_stop(struct bridge_sync *sync);

/* True once the initial sync finished (the replica says so). */
int bridge_sync_initial_done(struct bridge_sync *sync, bool *done_r,
                             const char **error_r) SB_WUR;

/*
 * One step of the initial sync: the first lists the mailboxes and takes
 * the feed's state, each next one applies one page of messages. *done_r
 * is true once the last page is applied (and the count was checked).
 */
int bridge_sync_initial_step(struct bridge_sync *sync, bool *done_r,
                             const char **error_r) SB_WUR;
/* Every step left, checking the stop eventfd between pages. */
int bridge_sync_initial(struct bridge_sync *sync, const char **error_r) SB_WUR;

/*
 * Reads the change feed from the saved state to its end and applies it,
 * a batch per transaction; resyncs when the service cannot calculate the
 * changes, and first ends a resync that stopped half-way. *created_r (may
 * be NULL) counts the messages added here.
 */
int bridge_sync_changes(struct bridge_sync *sync, size_t *created_r,
                        const char **error_r) SB_WUR;
/*
 * Lists everything again and keeps what still exists (with its UIDs): a
 * resync saved half-way resumes at its next page, else one begins. It
 * runs when the service cannot calculate the changes.
 */
int bridge_sync_resync(struct bridge_sync *sync, const char **error_r) SB_WUR;
/*
 * One step of a resync: the first (none saved) lists the mailboxes and
 * records what may be removed, each next one applies one page; *done_r
 * is true once the last page ended it (a next call begins another).
 */
int bridge_sync_resync_step(struct bridge_sync *sync, bool *done_r,
                            const char **error_r) SB_WUR;

/*
 * Downloads up to max missing bodies (0: all) with client c (the caller's
 * thread, its own connection); *done_r counts those stored. A body that
 * fails is skipped for this call and logged.
 */
int bridge_sync_bodies(struct bridge_sync *sync, struct api_client *c,
                       size_t max, size_t *done_r, const char **error_r) SB_WUR;

/*
 * Downloads one message's body now (a client wants it) on the caller's
 * connection st with client c (the caller's thread): 0 stored, 1 nothing
 * to download (cached, gone, or not on the service yet), -1 failed.
 */
int bridge_sync_body_download(struct bridge_sync *sync, struct store *st,
                              struct api_client *c, int64_t message_id,
                              const char **error_r) SB_WUR;

/*
 * Where an account's sync stands, as the replica tells it (saltbridge
 * status reads it on a read-only connection while serve runs).
 */
struct bridge_sync_state {
	bool started;   /* the initial sync began (the mailboxes are in) */
	bool steady;    /* the initial sync is done */
	bool resyncing; /* a resync is under way */
	/* The listing under way (initial or resync): entries listed, of. */
	uint64_t listed, total;
	/* The last time the change feed was read to its end; 0: never. */
	int64_t checked_at;
};

int bridge_sync_state_read(struct store *st, int64_t account_id,
                           struct bridge_sync_state *state_r,
                           const char **error_r) SB_WUR;

/*
 * Local changes made in the replica first (store_local_*, docs/replica.md)
 * are replayed by the sync thread: at once when the hub tells it one was
 * queued, and at least this often (retries that came due, changes queued
 * by another process).
 */
#define BRIDGE_SYNC_REPLAY_MS 5000

#endif
