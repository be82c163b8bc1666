/*
 * The local replica: one SQLite file that holds what the IMAP and SMTP
 * servers serve, and change notifications for the sessions that watch it.
 * docs/replica.md describes the schema and the rules kept here.
 *
 * Threads: one struct store_hub per process, shared; one struct store
 * (an SQLite connection) per thread, never shared.
 *
 * Errors: fallible functions return 0 / -1 (lookups 1 found / 0 not found /
 * -1), and set *error_r to a message that stays valid until the next call
 * on the same connection.
 *
 * Transactions: every writing function runs in a transaction of its own,
 * or, between store_begin() and store_commit(), inside the caller's. A
 * function that fails inside the caller's transaction has undone its own
 * part (it runs in a savepoint); the caller decides whether to commit the
 * rest or roll back.
 *
 * The store never sees plaintext message content: bodies, summaries and
 * key packets are the service's ciphertext, and the `cache` column holds
 * bytes the caller has sealed with the account's cache key.
 */
#ifndef SB_STORE_H
#define SB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"

/* The schema version this code writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 7
/* How long a connection waits for another one's write lock. */
#define STORE_BUSY_TIMEOUT_MS 10000
/* Bodies are stored and read back in pieces of at most this size. */
#define STORE_BODY_CHUNK (128 * 1024)
/* An op that failed this many times stops (store_op_list_failed). */
#define STORE_OP_MAX_ATTEMPTS 20
/* Mailboxes nest at most this many levels deep (a top one is level 1). */
#define STORE_MAILBOX_MAX_DEPTH 64
/* Keywords of one message: at most this many, each at most this long. */
#define STORE_MAX_KEYWORDS    100
#define STORE_MAX_KEYWORD_LEN 64

struct store_hub;
struct store;
struct store_sub;

/* ---- Hub, connections, transactions ---- */

struct store_hub *store_hub_new(void);
/* All subscriptions must have been ended first. */
void store_hub_free(struct store_hub **hub);

/*
 * Opens a connection to the replica at path, creating it if needed: WAL,
 * synchronous=FULL, a busy timeout, foreign keys on, and the schema brought
 * up to STORE_SCHEMA_VERSION. A file written by a newer version is refused
 * and left as it is. hub may be NULL (nobody is notified).
 */
int store_open(const char *path, struct store_hub *hub, struct store **st_r,
               const char **error_r) SB_WUR;
/*
 * Opens the replica to look at it only (saltbridge status), while another
 * process may write to it: nothing is created, switched or upgraded, and
 * every write on the connection fails. A replica of another schema
 * version is refused (an older one: the next store_open upgrades it).
 */
int store_open_readonly(const char *path, struct store **st_r,
                        const char **error_r) SB_WUR;
/* Rolls back an open transaction, closes, and sets *st to NULL. */
void store_close(struct store **st);

/* BEGIN IMMEDIATE: takes the write lock now, waiting up to the timeout. */
int store_begin(struct store *st, const char **error_r) SB_WUR;
/*
 * Commits, then wakes the subscribers of every mailbox the transaction
 * changed. On failure everything is rolled back.
 */
int store_commit(struct store *st, const char **error_r) SB_WUR;
/* Undoes the transaction; nobody is notified. */
void store_rollback(struct store *st);

/* "ok", or what PRAGMA integrity_check found (malloc'd, free() it). */
int store_integrity_check(struct store *st, char **result_r,
                          const char **error_r) SB_WUR;

/* ---- Change notifications ---- */

/*
 * Subscribes to the changes of a mailbox (0: of every mailbox). The
 * eventfd of the subscription (store_sub_fd) becomes readable after each
 * commit that changed the mailbox: a message added, expunged, a flag or
 * the mailbox itself changed or deleted (a rename: also every mailbox
 * below it). The subscriber first calls sb_event_drain() on the fd, then
 * asks the store what changed (by modseq, store_mailbox_fetch and
 * store_mailbox_vanished): a commit after the drain signals again, so
 * nothing is missed. Signals add up into one wake-up.
 */
int store_subscribe(struct store_hub *hub, int64_t mailbox_id,
                    struct store_sub **sub_r, const char **error_r) SB_WUR;
/*
 * The same for an account's op queue: signalled when a transaction that
 * queued an op of the account commits (the replayer's wake-up). Mailbox
 * subscribers, also those of mailbox 0, are not told of ops.
 */
int store_subscribe_ops(struct store_hub *hub, int64_t account_id,
                        struct store_sub **sub_r, const char **error_r) SB_WUR;
/*
 * The same for an account's outbox: signalled when a message of the
 * account becomes QUEUED (the sender's wake-up).
 */
int store_subscribe_outbox(struct store_hub *hub, int64_t account_id,
                           struct store_sub **sub_r,
                           const char **error_r) SB_WUR;
int store_sub_fd(const struct store_sub *sub);
void store_unsubscribe(struct store_hub *hub, struct store_sub **sub);

/* ---- Accounts and sync state ---- */

struct store_account {
	int64_t id;
	char *api_id;
	char *email;      /* lower case */
	char *feed_state; /* the change feed's state string; NULL before */
};

void store_account_free_contents(struct store_account *a);

int store_account_add(struct store *st, const char *api_id, const char *email,
                      int64_t *id_r, const char **error_r) SB_WUR;
/*
 * Removes the account and everything it has in the replica, including mail
 * in the outbox not sent yet: callers check store_account_outbox_count()
 * first and remove an account with unsent mail only when the user says so.
 */
int store_account_remove(struct store *st, int64_t account_id,
                         const char **error_r) SB_WUR;
/* 1 found, 0 not, -1 error. email is compared in lower case. */
int store_account_find_email(struct store *st, const char *email,
                             struct store_account *a_r,
                             const char **error_r) SB_WUR;
int store_account_find_api_id(struct store *st, const char *api_id,
                              struct store_account *a_r,
                              const char **error_r) SB_WUR;
/* Every account, sorted by address (a malloc'd array, NULL when none). */
int store_account_list(struct store *st, struct store_account **list_r,
                       size_t *count_r, const char **error_r) SB_WUR;
void store_account_list_free(struct store_account **list, size_t count);
/*
 * The account's messages that the service has (a remote id), and how
 * many of them have their body stored.
 */
int store_account_message_count(struct store *st, int64_t account_id,
                                uint64_t *messages_r, uint64_t *bodies_r,
                                const char **error_r) SB_WUR;
/* The account's outbox entries not sent yet (RECEIVING or QUEUED). */
int store_account_outbox_count(struct store *st, int64_t account_id,
                               uint64_t *count_r, const char **error_r) SB_WUR;
int store_account_set_feed_state(struct store *st, int64_t account_id,
                                 const char *state,
                                 const char **error_r) SB_WUR;

/* Named values of the sync engine (phase, page cursor, ...). */
int store_sync_set(struct store *st, int64_t account_id, const char *name,
                   const char *value, const char **error_r) SB_WUR;
/* 1 and a malloc'd *value_r, 0 when unset, -1 on error. */
int store_sync_get(struct store *st, int64_t account_id, const char *name,
                   char **value_r, const char **error_r) SB_WUR;
int store_sync_unset(struct store *st, int64_t account_id, const char *name,
                     const char **error_r) SB_WUR;

/* ---- Mailboxes ---- */

/* IMAP hierarchy separator: names never contain it. */
#define STORE_MAILBOX_SEP '/'

/*
 * Every account has All Mail, a mailbox of the replica's own with this
 * role: it holds every message that is in a mailbox other than Trash and
 * Junk, follows the other mailboxes by itself and never reaches the
 * service. Nothing is copied or appended to it; an expunge there sends
 * the messages to Trash, and a move out of it files them in the target
 * alone (docs/replica.md, "All Mail").
 */
#define STORE_ROLE_ALL      "all"
#define STORE_ALL_MAIL_NAME "All Mail"

struct store_mailbox {
	int64_t id;
	int64_t account_id;
	char *remote_id;   /* NULL until the service made it */
	char *name;        /* this level's name */
	char *path;        /* the full name: parents' names joined by '/' */
	int64_t parent_id; /* 0 at the top */
	char *role;        /* inbox, sent, ...; NULL */
	uint32_t uidvalidity;
	uint64_t uidnext; /* 2^32 once every UID was given */
	uint64_t highestmodseq;
	bool subscribed;
};

struct store_mailbox_status {
	uint32_t messages;
	uint32_t unseen;  /* without $seen */
	uint32_t deleted; /* with this mailbox's \Deleted */
	uint64_t uidnext; /* 2^32 once every UID was given: IMAP shows none */
	uint32_t uidvalidity;
	uint64_t highestmodseq;
	/*
	 * Expunges with a modseq up to this one were forgotten
	 * (store_mailbox_forget_expunged); 0 when none was.
	 */
	uint64_t expunged_floor;
};

void store_mailbox_free_contents(struct store_mailbox *mb);
void store_mailbox_list_free(struct store_mailbox **list, size_t count);

/* A mailbox made by a client here; remote_id stays NULL. */
int store_mailbox_create(struct store *st, int64_t account_id,
                         int64_t parent_id, const char *name, int64_t *id_r,
                         const char **error_r) SB_WUR;
/*
 * Creates or updates the mailbox the service knows as remote_id. The
 * parent (parent_remote_id, NULL at the top) must be known already, the
 * result may not pass STORE_MAILBOX_MAX_DEPTH levels, and a mailbox cannot
 * move under itself. A change feed may list a child before its parent, or
 * two moves in an order that makes a loop for a moment: the sync engine
 * applies the mailboxes of a batch parents first, and keeps those refused
 * to try again once the rest of the batch is applied (and, failing that,
 * lists the mailboxes again).
 */
int store_mailbox_upsert_remote(struct store *st, int64_t account_id,
                                const char *remote_id, const char *name,
                                const char *parent_remote_id, const char *role,
                                int64_t *id_r, const char **error_r) SB_WUR;
/* Records the id the service gave a mailbox made here. */
int store_mailbox_set_remote_id(struct store *st, int64_t mailbox_id,
                                const char *remote_id,
                                const char **error_r) SB_WUR;
/*
 * Renames and/or moves under new_parent_id (0: to the top), a mailbox of
 * the same account; not under itself or a descendant, and the moved
 * subtree may not pass STORE_MAILBOX_MAX_DEPTH levels. UIDs and
 * UIDVALIDITY stay.
 */
int store_mailbox_rename(struct store *st, int64_t mailbox_id,
                         int64_t new_parent_id, const char *new_name,
                         const char **error_r) SB_WUR;
int store_mailbox_set_subscribed(struct store *st, int64_t mailbox_id,
                                 bool subscribed, const char **error_r) SB_WUR;
/*
 * Deletes a mailbox without children: its entries go, and messages left in
 * no mailbox are deleted with their bodies. A missing mailbox is an error
 * (also for set_subscribed).
 */
int store_mailbox_delete(struct store *st, int64_t mailbox_id,
                         const char **error_r) SB_WUR;
/* The account's mailboxes sorted by path (malloc'd array). */
int store_mailbox_list(struct store *st, int64_t account_id,
                       struct store_mailbox **list_r, size_t *count_r,
                       const char **error_r) SB_WUR;
/* Lookups: 1 found, 0 not, -1 error. */
int store_mailbox_get(struct store *st, int64_t mailbox_id,
                      struct store_mailbox *mb_r, const char **error_r) SB_WUR;
int store_mailbox_find_path(struct store *st, int64_t account_id,
                            const char *path, struct store_mailbox *mb_r,
                            const char **error_r) SB_WUR;
int store_mailbox_find_role(struct store *st, int64_t account_id,
                            const char *role, struct store_mailbox *mb_r,
                            const char **error_r) SB_WUR;
int store_mailbox_find_remote(struct store *st, int64_t account_id,
                              const char *remote_id, struct store_mailbox *mb_r,
                              const char **error_r) SB_WUR;
/*
 * The mailbox's highest modseq alone (what an IMAP session checks before
 * each command): 1, 0 when the mailbox is gone, -1.
 */
int store_mailbox_highestmodseq(struct store *st, int64_t mailbox_id,
                                uint64_t *modseq_r,
                                const char **error_r) SB_WUR;
int store_mailbox_status(struct store *st, int64_t mailbox_id,
                         struct store_mailbox_status *status_r,
                         const char **error_r) SB_WUR;

/* ---- Messages ---- */

struct store_message {
	int64_t id;
	int64_t account_id;
	char *remote_id; /* NULL until the service has it */
	char *blob_id;   /* NULL until uploaded */
	uint64_t size;   /* of the body ciphertext */
	int64_t received_at;
	/* The service's ciphertext, as it sent them. */
	void *summary;
	size_t summary_len;
	void *key_packet;
	size_t key_packet_len;
	char *keywords; /* sorted, lower case, space-separated */
	bool body_cached;
};

void store_message_free_contents(struct store_message *m);

/*
 * Adds a message (fields of m but id and body_cached) to `count` mailboxes
 * (at least one): each gives it its next UID and a new modseq. keywords
 * may be in any order and case; they are normalised.
 */
int store_message_add(struct store *st, const struct store_message *m,
                      const int64_t *mailbox_ids, size_t count, int64_t *id_r,
                      const char **error_r) SB_WUR;
/* Lookups: 1 found, 0 not, -1 error. */
int store_message_get(struct store *st, int64_t message_id,
                      struct store_message *m_r, const char **error_r) SB_WUR;
int store_message_find_remote(struct store *st, int64_t account_id,
                              const char *remote_id, struct store_message *m_r,
                              const char **error_r) SB_WUR;
int store_message_set_remote(struct store *st, int64_t message_id,
                             const char *remote_id, const char *blob_id,
                             const char **error_r) SB_WUR;
/*
 * Replaces the keywords; when they change, the message gets a new modseq in
 * every mailbox that holds it.
 */
int store_message_set_keywords(struct store *st, int64_t message_id,
                               const char *keywords,
                               const char **error_r) SB_WUR;
/* Adds and removes keywords (each a space-separated list, may be NULL). */
int store_message_change_keywords(struct store *st, int64_t message_id,
                                  const char *add, const char *remove,
                                  const char **error_r) SB_WUR;
/*
 * Makes the message's mailboxes exactly these: it is added to the new ones
 * and expunged from the others. count 0 deletes the message.
 */
int store_message_set_mailboxes(struct store *st, int64_t message_id,
                                const int64_t *mailbox_ids, size_t count,
                                const char **error_r) SB_WUR;
/* Expunges the message from every mailbox and deletes it. */
int store_message_delete(struct store *st, int64_t message_id,
                         const char **error_r) SB_WUR;
/* The opaque, caller-sealed cache blob. get appends to out; none: 0. */
int store_message_cache_get(struct store *st, int64_t message_id,
                            struct sb_buf *out, const char **error_r) SB_WUR;
int store_message_cache_set(struct store *st, int64_t message_id,
                            const void *data, size_t len,
                            const char **error_r) SB_WUR;

/* Normalises a keyword list: lower case, sorted, no duplicates. */
int store_keywords_normalize(const char *in, char **out_r,
                             const char **error_r) SB_WUR;

/* ---- A mailbox's messages: UIDs, flags, modseq ---- */

struct store_entry {
	uint32_t uid;
	uint64_t modseq;
	int64_t message_id;
	bool deleted;          /* this mailbox's \Deleted */
	const char *keywords;  /* valid during the callback only */
	const char *remote_id; /* likewise; NULL */
	uint64_t size;
	int64_t received_at;
	bool body_cached;
};

/* Returns 0 to go on, 1 to stop, -1 to fail (error_r then set). */
typedef int store_entry_fn(void *ctx, const struct store_entry *e,
                           const char **error_r);
/* Called with each expunged UID in order. Same returns. */
typedef int store_uid_fn(void *ctx, uint32_t uid, const char **error_r);

/*
 * Copies a message into a mailbox: a new UID and modseq there. One already
 * in the mailbox keeps its UID, which is returned.
 */
int store_mailbox_add_message(struct store *st, int64_t mailbox_id,
                              int64_t message_id, uint32_t *uid_r,
                              const char **error_r) SB_WUR;
/*
 * Expunges the message from the mailbox (the UID is recorded for QRESYNC
 * with a new modseq); a message then in no mailbox is deleted.
 */
int store_mailbox_remove_message(struct store *st, int64_t mailbox_id,
                                 int64_t message_id,
                                 const char **error_r) SB_WUR;
/* Moves: added to `to` first, then expunged from `from`. */
int store_mailbox_move_message(struct store *st, int64_t from, int64_t to,
                               int64_t message_id, uint32_t *uid_r,
                               const char **error_r) SB_WUR;
/* Sets or clears this mailbox's \Deleted on a UID: a new modseq if changed. */
int store_mailbox_set_deleted(struct store *st, int64_t mailbox_id,
                              uint32_t uid, bool deleted,
                              const char **error_r) SB_WUR;
/* Expunges every UID of the mailbox that has \Deleted. */
int store_mailbox_expunge_deleted(struct store *st, int64_t mailbox_id,
                                  const char **error_r) SB_WUR;
/*
 * Calls fn for each message of the mailbox with a UID in [uid_lo, uid_hi]
 * and a modseq above changedsince (0: all), in UID order.
 *
 * No writes on this connection from the callback outside a transaction:
 * they fail at once ("no writes ... from inside its read callback"),
 * since the read's snapshot may be older than the file. Collect the ids
 * first and write after, or open store_begin() before the fetch: writes
 * from the callback then run inside that transaction. Even so, the
 * callback must not change this mailbox's entries (a new modseq would
 * bring an entry up again). The same holds for every callback and sink
 * of this API.
 */
int store_mailbox_fetch(struct store *st, int64_t mailbox_id, uint32_t uid_lo,
                        uint32_t uid_hi, uint64_t changedsince,
                        store_entry_fn *fn, void *ctx,
                        const char **error_r) SB_WUR;
/*
 * The UIDs expunged with a modseq above `since`, in order (VANISHED).
 * Complete only when since >= the mailbox's expunged_floor (see
 * store_mailbox_forget_expunged).
 */
int store_mailbox_vanished(struct store *st, int64_t mailbox_id, uint64_t since,
                           store_uid_fn *fn, void *ctx,
                           const char **error_r) SB_WUR;
/*
 * All UIDs of the mailbox in order: sequence number n is (*uids_r)[n - 1].
 * *uids_r is malloc'd (NULL when empty).
 */
/* The message's UID in the mailbox: 1 and *uid_r, 0 when not there. */
int store_message_uid(struct store *st, int64_t mailbox_id, int64_t message_id,
                      uint32_t *uid_r, const char **error_r) SB_WUR;
int store_mailbox_uids(struct store *st, int64_t mailbox_id, uint32_t **uids_r,
                       size_t *count_r, const char **error_r) SB_WUR;

/*
 * Forgets the expunge records of a mailbox (0: of every mailbox) with a
 * modseq up to `upto`, and raises expunged_floor to it; *removed_r is how
 * many went. QRESYNC: a client's VANISHED (EARLIER) since a modseq below
 * the floor cannot be answered from the records; the IMAP session then
 * reports every UID below uidnext that store_mailbox_uids does not list
 * (RFC 7162 allows UIDs the client never saw).
 */
int store_mailbox_forget_expunged(struct store *st, int64_t mailbox_id,
                                  uint64_t upto, uint64_t *removed_r,
                                  const char **error_r) SB_WUR;

/* ---- Resync ("cannot calculate changes") ---- */

/*
 * store_resync_begin, then store_resync_keep for every message id the
 * service lists now, then store_resync_finish: messages of the account
 * that had a remote id at begin and were not listed are expunged
 * everywhere and deleted. Messages imported or given a remote id during
 * the resync are kept (the listing may predate them), and so are those
 * not yet on the service. Kept messages keep their UIDs; UIDVALIDITY does
 * not change. The scope and the list are tables of the file, so the steps
 * need not share a transaction or a connection; begin starts afresh.
 */
int store_resync_begin(struct store *st, int64_t account_id,
                       const char **error_r) SB_WUR;
int store_resync_keep(struct store *st, int64_t account_id,
                      const char *remote_id, const char **error_r) SB_WUR;
int store_resync_finish(struct store *st, int64_t account_id, size_t *removed_r,
                        const char **error_r) SB_WUR;

/* ---- Bodies: the service's ciphertext, by pieces ---- */

struct store_body_writer;

/*
 * Starts or resumes storing a message's body. The writer appends at
 * store_body_writer_offset(), the length already stored, so a download cut
 * short resumes from there. Every STORE_BODY_CHUNK bytes are committed as
 * one piece; only one chunk is ever held in memory. store_body_write_chunk
 * fails once the body would pass the message's size. Each piece checks
 * that the stored body is still the one being continued, so a body
 * dropped (store_body_drop) or written by another writer meanwhile makes
 * this one fail instead of leaving a gap.
 */
int store_body_write_begin(struct store *st, int64_t message_id,
                           struct store_body_writer **w_r,
                           const char **error_r) SB_WUR;
uint64_t store_body_writer_offset(const struct store_body_writer *w);
int store_body_write_chunk(struct store_body_writer *w, const void *data,
                           size_t len, const char **error_r) SB_WUR;
/*
 * Stores what is left and checks, in the closing transaction, that the
 * stored pieces follow each other from byte 0 and add up to the message's
 * size: only then is the body marked as cached. Otherwise the pieces are
 * dropped (the next try starts afresh). Frees the writer either way.
 */
int store_body_write_end(struct store_body_writer **w,
                         const char **error_r) SB_WUR;
/* Frees the writer; the pieces committed so far stay for a resume. */
void store_body_write_abort(struct store_body_writer **w);

/* Receives up to STORE_BODY_CHUNK bytes at a time. 0 or -1 (stops). */
typedef int store_sink_fn(void *ctx, const void *data, size_t len,
                          const char **error_r);

/*
 * Sends bytes [offset, offset + max) of the body (max: UINT64_MAX all)
 * when the whole body is cached: 1 sent (nothing past the end), 0 not
 * cached (nothing sent: download it first), -1 error, also for pieces
 * that do not follow each other.
 */
int store_body_read(struct store *st, int64_t message_id, uint64_t offset,
                    uint64_t max, store_sink_fn *sink, void *ctx,
                    const char **error_r) SB_WUR;
/*
 * Drops a cached or partly downloaded body (it can be downloaded again).
 * A writer still storing it fails at its next piece.
 */
int store_body_drop(struct store *st, int64_t message_id,
                    const char **error_r) SB_WUR;

/*
 * Where a listing of missing bodies goes on: after this message, in the
 * order newest first. Zeroed: from the newest.
 */
struct store_body_cursor {
	int64_t received_at;
	int64_t message_id; /* 0: from the start */
};

/*
 * Bodies to download: up to max ids (ids_r has room for max) of the
 * account's messages that the service has (a remote id) and whose body is
 * not cached, newest first (received_at, then id, both descending), after
 * *cursor, which moves to the last one given. *count_r 0: none is left
 * after the cursor. A keyset cursor, not an offset: each call costs the
 * same however far the listing is, and a body stored or a message removed
 * meanwhile shifts nothing.
 */
int store_bodies_missing(struct store *st, int64_t account_id,
                         struct store_body_cursor *cursor, size_t max,
                         int64_t *ids_r, size_t *count_r,
                         const char **error_r) SB_WUR;
/* How many bodies store_bodies_missing has to give, and their bytes. */
int store_bodies_missing_count(struct store *st, int64_t account_id,
                               uint64_t *count_r, uint64_t *bytes_r,
                               const char **error_r) SB_WUR;

/* ---- The op queue: local changes to replay to the service ---- */

struct store_op {
	int64_t id;
	int64_t account_id;
	char *kind;
	char *payload;         /* the caller's JSON */
	char *idempotency_key; /* 32 hex digits, made by the store */
	int64_t created_at;
	uint32_t attempts;
	int64_t next_at;
	char *last_error; /* NULL */
};

void store_op_free_contents(struct store_op *op);

int store_op_push(struct store *st, int64_t account_id, const char *kind,
                  const char *payload, int64_t now, int64_t *id_r,
                  const char **error_r) SB_WUR;
/*
 * The next op to replay (account_id 0: of any account): the oldest op of
 * an account, when it is due at `now`. An account's ops replay in order,
 * so one waiting for a retry holds back the ones behind it.
 * 1 found, 0 none due, -1 error.
 */
int store_op_peek(struct store *st, int64_t account_id, int64_t now,
                  struct store_op *op_r, const char **error_r) SB_WUR;
/* Replayed (or given up by the sync engine): removes it. */
int store_op_done(struct store *st, int64_t op_id, const char **error_r) SB_WUR;
/*
 * Failed for now: attempts + 1, retried after store_retry_delay(). At
 * STORE_OP_MAX_ATTEMPTS it fails for good: it is not replayed and no
 * longer holds back its account's later ops.
 */
int store_op_failed(struct store *st, int64_t op_id, int64_t now,
                    const char *error, const char **error_r) SB_WUR;
/*
 * Fails it for good at once (an op the engine cannot replay, e.g. of a
 * kind it does not know): as at STORE_OP_MAX_ATTEMPTS.
 */
int store_op_set_aside(struct store *st, int64_t op_id, const char *error,
                       const char **error_r) SB_WUR;
/*
 * The ops failed for good (account 0: of any account), oldest first: the
 * sync engine brings the replica back to the service's state for each
 * (its local change never reached the service), then store_op_done.
 */
int store_op_list_failed(struct store *st, int64_t account_id,
                         struct store_op **list_r, size_t *count_r,
                         const char **error_r) SB_WUR;
void store_op_list_free(struct store_op **list, size_t count);
/* Every op of the account (0: all), failed for good or not. */
int store_op_count(struct store *st, int64_t account_id, uint64_t *count_r,
                   const char **error_r) SB_WUR;
/* The ops of the account (0: all) failed for good. */
int store_op_count_failed(struct store *st, int64_t account_id,
                          uint64_t *count_r, const char **error_r) SB_WUR;
/* Seconds before retry number `attempts`: 5 s doubling up to one hour. */
int64_t store_retry_delay(uint32_t attempts);

/* ---- Local-first changes (docs/replica.md, "Local changes") ---- */

/*
 * A client's change is applied to the replica and its op queued in one
 * transaction; the sync engine replays the op. The store writes the
 * payloads (JSON naming the replica's ids), so that the IMAP server and
 * the sync engine share one format. Kinds:
 */
#define STORE_OP_UPDATE         "update"  /* keywords and mailboxes */
#define STORE_OP_DESTROY        "destroy" /* messages gone for good */
#define STORE_OP_IMPORT         "import"  /* a message made here (APPEND) */
#define STORE_OP_MAILBOX_CREATE "mailbox_create"
#define STORE_OP_MAILBOX_UPDATE "mailbox_update" /* renamed or moved */
#define STORE_OP_MAILBOX_DELETE "mailbox_delete"

/* One change to messages: any of the parts may be left out (NULL, 0). */
struct store_patch {
	const char *add_keywords;    /* space-separated */
	const char *remove_keywords; /* space-separated */
	int64_t add_mailbox;         /* copied into it (COPY, MOVE) */
	int64_t remove_mailbox;      /* expunged from it (MOVE) */
};

/*
 * Applies the patch to messages (of one account; count may be 0) and
 * queues one STORE_OP_UPDATE. Taking a message out of its last mailbox
 * is refused (store_local_expunge has IMAP's rules for that). uids_r (NULL, or
 * count of them) gets each message's UID in add_mailbox.
 */
int store_local_update(struct store *st, const int64_t *messages, size_t count,
                       const struct store_patch *p, int64_t now,
                       uint32_t *uids_r, const char **error_r) SB_WUR;
/* Deletes messages everywhere and queues STORE_OP_DESTROY for them. */
int store_local_destroy(struct store *st, const int64_t *messages, size_t count,
                        int64_t now, const char **error_r) SB_WUR;
/*
 * EXPUNGE: the mailbox's entries with \Deleted (only those of uids when
 * uids is not NULL: UID EXPUNGE) leave it. A message also in another
 * mailbox only leaves this one; one in this mailbox alone goes to Trash;
 * one in Trash or Drafts alone (or with no Trash) is destroyed (a draft
 * saved again replaces the last one, which must not pile up in Trash).
 */
int store_local_expunge(struct store *st, int64_t mailbox_id,
                        const uint32_t *uids, size_t n_uids, int64_t now,
                        const char **error_r) SB_WUR;
/*
 * Queues the import of a message made here (store_message_add with no
 * remote id, its body stored) into mailbox_id, which holds it. Call it in
 * the transaction that adds the message.
 */
int store_local_import(struct store *st, int64_t message_id, int64_t mailbox_id,
                       int64_t now, const char **error_r) SB_WUR;
/* CREATE, RENAME, DELETE of mailboxes, each with its op. */
int store_local_mailbox_create(struct store *st, int64_t account_id,
                               int64_t parent_id, const char *name, int64_t now,
                               int64_t *id_r, const char **error_r) SB_WUR;
/* Refused for a mailbox with a role, as by the service. */
int store_local_mailbox_rename(struct store *st, int64_t mailbox_id,
                               int64_t new_parent_id, const char *new_name,
                               int64_t now, const char **error_r) SB_WUR;
int store_local_mailbox_delete(struct store *st, int64_t mailbox_id,
                               int64_t now, const char **error_r) SB_WUR;

/*
 * APPEND in steps, so that a large message is never held whole: the
 * message is staged (in no mailbox, so nobody sees it) with the size of
 * its body stream; the caller writes the body with store_body_write_*;
 * then store_local_append gives it its summary, key packet, keywords and
 * date, puts it in the mailbox (its UID) and queues its import, in one
 * transaction. store_stage_drop abandons one; a crash between leaves a
 * staged message that store_stage_sweep (at start-up) removes.
 */
struct store_append {
	const void *summary;
	size_t summary_len;
	const void *key_packet;
	size_t key_packet_len;
	const char *keywords;
	int64_t received_at;
};

int store_stage_message(struct store *st, int64_t account_id, uint64_t size,
                        int64_t now, int64_t *id_r,
                        const char **error_r) SB_WUR;
/* Refused unless the message is staged and its body whole. */
int store_local_append(struct store *st, int64_t message_id, int64_t mailbox_id,
                       const struct store_append *a, int64_t now,
                       uint32_t *uid_r, const char **error_r) SB_WUR;
int store_stage_drop(struct store *st, int64_t message_id,
                     const char **error_r) SB_WUR;
/* Removes every staged message; *removed_r says how many. */
int store_stage_sweep(struct store *st, uint64_t *removed_r,
                      const char **error_r) SB_WUR;

/* Payloads, for tests and for ops made by hand. Owned (free). */
char *store_op_update_payload(const int64_t *messages, size_t count,
                              const struct store_patch *p);
char *store_op_import_payload(int64_t message_id, int64_t mailbox_id);
/*
 * True when an op of the account of this kind whose payload has this id
 * in field (e.g. STORE_OP_IMPORT, "message") waits in the queue, not
 * failed for good: a later op on the same object waits for it.
 */
int store_op_live(struct store *st, int64_t account_id, const char *kind,
                  const char *field, int64_t id, bool *live_r,
                  const char **error_r) SB_WUR;
/* The mailboxes that hold a message, All Mail aside (malloc'd, NULL when
 * none). */
int store_message_mailboxes(struct store *st, int64_t message_id,
                            int64_t **ids_r, size_t *count_r,
                            const char **error_r) SB_WUR;

/* ---- The outbox: mail accepted by SMTP, not yet submitted ---- */

enum store_outbox_state {
	STORE_OUTBOX_RECEIVING = 0, /* body being written */
	STORE_OUTBOX_QUEUED = 1,    /* complete: to submit */
	STORE_OUTBOX_FAILED = 2,    /* given up; kept for the user */
};

struct store_outbox {
	int64_t id;
	int64_t account_id;
	char *queue_id; /* said in the 250 reply */
	char *sender;
	char *recipients; /* one address per line */
	void *sealed_key;
	size_t sealed_key_len;
	uint64_t size; /* of the body ciphertext */
	enum store_outbox_state state;
	int64_t created_at;
	int64_t posted_at; /* when a submission was first begun; 0 */
	void *msgid_hash;  /* the client's Message-ID, hashed; NULL */
	size_t msgid_hash_len;
	char *prepared; /* the submission as prepared (JSON); NULL */
	int64_t prepared_at;
	uint32_t attempts;
	int64_t next_at;
	char *last_error;
};

void store_outbox_free_contents(struct store_outbox *o);

/*
 * Adds a message in state RECEIVING; its ciphertext body then goes
 * through store_outbox_write_begin and store_body_write_chunk/end, and
 * write_end makes it QUEUED (after which the 250 may be sent).
 */
int store_outbox_add(struct store *st, int64_t account_id, const char *queue_id,
                     const char *sender, const char *recipients,
                     const void *sealed_key, size_t sealed_key_len, int64_t now,
                     int64_t *id_r, const char **error_r) SB_WUR;
/*
 * The body may not pass max_size bytes (SMTP's SIZE limit); write_end
 * records its length, counted from the stored pieces.
 */
int store_outbox_write_begin(struct store *st, int64_t outbox_id,
                             uint64_t max_size, struct store_body_writer **w_r,
                             const char **error_r) SB_WUR;
/* Reads a QUEUED or FAILED entry's body, as store_body_read. */
int store_outbox_read(struct store *st, int64_t outbox_id, uint64_t offset,
                      uint64_t max, store_sink_fn *sink, void *ctx,
                      const char **error_r) SB_WUR;
/*
 * The QUEUED messages of the account (0: of every account) due at `now`,
 * oldest first (malloc'd array).
 */
int store_outbox_list_due(struct store *st, int64_t account_id, int64_t now,
                          struct store_outbox **list_r, size_t *count_r,
                          const char **error_r) SB_WUR;
void store_outbox_list_free(struct store_outbox **list, size_t count);
/*
 * The outbox message's Message-ID, as a keyed hash (the caller's), so
 * that a client's APPEND of it to Sent is recognized.
 */
int store_outbox_set_msgid(struct store *st, int64_t outbox_id,
                           const void *hash, size_t len,
                           const char **error_r) SB_WUR;
/*
 * A client APPENDs to Sent a message with this Message-ID hash. When a
 * message of the account waits in the outbox with it and its
 * submission has not begun, the service is told not to file its own
 * Sent copy: STORE_SENT_CLIENT. When its submission is under way (it
 * files the Sent copy): STORE_SENT_POSTING. Else STORE_SENT_NONE.
 */
enum store_sent_state {
	STORE_SENT_NONE,
	STORE_SENT_CLIENT,
	STORE_SENT_POSTING,
};
int store_outbox_client_files_sent(struct store *st, int64_t account_id,
                                   const void *hash, size_t len,
                                   enum store_sent_state *state_r,
                                   const char **error_r) SB_WUR;
/*
 * The sender begins a submission: from now on a client's APPEND of the
 * message waits for the Sent copy instead of being stored. 1 when the
 * submission files the Sent copy, 0 when the client does, -1; *posted_r
 * is when a submission of it was first begun (now, the first time).
 */
int store_outbox_begin_post(struct store *st, int64_t outbox_id, int64_t now,
                            int64_t *posted_r, const char **error_r) SB_WUR;
/*
 * The Sent copy the service filed for a message sent (its remote id), by
 * the Message-ID hash; entries older than forget_before go.
 */
int store_sent_log_add(struct store *st, int64_t account_id, const void *hash,
                       size_t len, const char *remote_id, int64_t now,
                       int64_t forget_before, const char **error_r) SB_WUR;
/* The remote id of the Sent copy with this hash: 1 and *remote_r, 0. */
int store_sent_log_find(struct store *st, int64_t account_id, const void *hash,
                        size_t len, char **remote_r,
                        const char **error_r) SB_WUR;
/*
 * Keeps the submission as prepared (the caller's JSON: blob ids,
 * summaries and key packets, all ciphertext), so that a retry posts the
 * same request; NULL forgets it.
 */
int store_outbox_set_prepared(struct store *st, int64_t outbox_id,
                              const char *prepared, int64_t now,
                              const char **error_r) SB_WUR;
/* When the account's next QUEUED message is due: 1 and *at_r, 0 none. */
int store_outbox_next_at(struct store *st, int64_t account_id, int64_t *at_r,
                         const char **error_r) SB_WUR;
/* Submitted (or dismissed by the user): removes it and its body. */
int store_outbox_sent(struct store *st, int64_t outbox_id,
                      const char **error_r) SB_WUR;
/*
 * A QUEUED message failed: retried later, or FAILED for good when
 * `permanent`. Any other state is refused: a FAILED one never comes back.
 * A submission under way (store_outbox_begin_post) is over.
 */
int store_outbox_failed(struct store *st, int64_t outbox_id, int64_t now,
                        const char *error, bool permanent,
                        const char **error_r) SB_WUR;
/*
 * Deletes, with their pieces, the entries still RECEIVING that were added
 * at least max_age seconds before now (a crash in the middle of DATA);
 * *removed_r is how many. Run at start-up with an age above SMTP's DATA
 * timeout.
 */
int store_outbox_sweep_receiving(struct store *st, int64_t now, int64_t max_age,
                                 uint64_t *removed_r,
                                 const char **error_r) SB_WUR;
/* Messages in a state (account 0: all accounts). */
int store_outbox_count(struct store *st, int64_t account_id,
                       enum store_outbox_state state, uint64_t *count_r,
                       const char **error_r) SB_WUR;

#endif
