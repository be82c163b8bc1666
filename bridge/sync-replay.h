/*
 * The op replay's internals, shared by bridge/sync-replay*.c: the decoded
 * payloads of docs/replica.md ("Local changes and their ops") and what
 * became of one op.
 */
#ifndef SB_BRIDGE_SYNC_REPLAY_H
#define SB_BRIDGE_SYNC_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "store/store.h"
#include "sync-private.h"

/* What became of one op. */
enum sync_replay_result {
	SYNC_REPLAY_DONE,      /* the service has it; the op is gone */
	SYNC_REPLAY_DROPPED,   /* refused for good or moot; the op is gone */
	SYNC_REPLAY_SET_ASIDE, /* not replayable; failed for good */
	SYNC_REPLAY_RETRY,     /* failed for now; retried after a backoff */
	SYNC_REPLAY_WAIT,      /* waits for an earlier op not replayed yet */
};

struct sync_outcome {
	enum sync_replay_result res;
	/* The op was already removed (in the transaction of its change). */
	bool settled;
	char why[160]; /* for the log and the op's last_error */
};

/* An op's payload, decoded; the fields its kind has. */
struct sync_op {
	int64_t *messages; /* update */
	size_t n_messages;
	struct api_strings add_keywords, remove_keywords; /* update */
	int64_t add_mailbox, remove_mailbox;              /* update; 0 */
	struct api_strings remote_ids;                    /* destroy */
	int64_t message, mailbox; /* import, mailbox_* */
	char *remote_id;          /* mailbox_delete */
};

int sync_op_decode(const char *kind, const char *payload, struct sync_op *op_r,
                   const char **error_r) SB_WUR;
void sync_op_free(struct sync_op *op);

/* Network, 401 (after the client's refresh), 408, 429, 5xx: for now. */
bool sync_reply_transient(const struct api_reply *r);
/* A refusal of one object in a batch that is worth a retry. */
bool sync_type_transient(enum api_error_type type);
/* The outcome of a failed call: RETRY when transient, else *permanent_r. */
void sync_outcome_failed(struct sync_outcome *o, const char *what,
                         const struct api_reply *r, bool *permanent_r);
/* A key derived from the op's: "KEY-suffix", for a second call of it. */
void sync_derived_key(const char *key, const char *suffix, char *out,
                      size_t size);

/*
 * Fetches the messages again and, in one transaction, applies the
 * service's state to the replica (or removes those it no longer has) and
 * removes the op: the local change did not reach the service. A fetch
 * that fails for now makes the op RETRY (when failed is false; one failed
 * for good waits for the next pass).
 */
int sync_correct_messages(struct bridge_sync *s, const struct store_op *op,
                          bool failed, const struct api_strings *remote_ids,
                          int64_t now, struct sync_outcome *o,
                          const char **error_r) SB_WUR;
/* The same for the mailboxes: listed again and applied. */
int sync_correct_mailboxes(struct bridge_sync *s, const struct store_op *op,
                           struct sync_outcome *o, const char **error_r) SB_WUR;

/* The kinds (sync-replay-ops.c). Each fills *o; -1 is a replica error. */
int sync_replay_import(struct bridge_sync *s, const struct store_op *op,
                       const struct sync_op *p, struct sync_outcome *o,
                       const char **error_r) SB_WUR;
int sync_replay_mailbox_create(struct bridge_sync *s, const struct store_op *op,
                               const struct sync_op *p, struct sync_outcome *o,
                               const char **error_r) SB_WUR;
int sync_replay_mailbox_update(struct bridge_sync *s, const struct store_op *op,
                               const struct sync_op *p, struct sync_outcome *o,
                               const char **error_r) SB_WUR;
int sync_replay_mailbox_delete(struct bridge_sync *s, const struct store_op *op,
                               const struct sync_op *p, struct sync_outcome *o,
                               const char **error_r) SB_WUR;

/*
 * A mailbox's remote id for an op: 1 with *remote_r (owned), 0 when it
 * has none or is gone (*wait_r: its create op is still queued), -1.
 */
int sync_mailbox_remote(struct bridge_sync *s, int64_t mailbox_id,
                        char **remote_r, bool *wait_r,
                        const char **error_r) SB_WUR;

#endif
