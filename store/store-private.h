/* Internals of the replica shared by the files of store/. */
#ifndef SB_STORE_PRIVATE_H
#define SB_STORE_PRIVATE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "store/store.h"

struct store {
	sqlite3 *db;
	struct store_hub *hub;
	/* 0: no transaction; 1: BEGIN; more: savepoints inside it. */
	unsigned depth;
	/* Mailboxes changed by the open transaction, to notify on commit. */
	int64_t *changed;
	size_t changed_count, changed_alloc;
	/* Where error_r points after a failure. */
	char error[512];
};

/* ---- db.c ---- */

/* Formats the error into st->error, sets *error_r; returns -1. */
int store_fail(struct store *st, const char **error_r, const char *fmt, ...)
        SB_PRINTF(3, 4);
/* "what: SQLite's message"; returns -1. */
int store_fail_db(struct store *st, const char **error_r, const char *what);

/*
 * Prepares sql and binds its parameters, one per letter of types:
 * 'i' int64_t, 't' const char * (NULL binds NULL), 'b' const void * and
 * size_t (a NULL pointer binds NULL).
 */
int store_stmt(struct store *st, sqlite3_stmt **stmt_r, const char **error_r,
               const char *sql, const char *types, ...) SB_WUR;
/* Steps a statement: 1 a row, 0 done, -1 error (error_r set). */
int store_step(struct store *st, sqlite3_stmt *stmt,
               const char **error_r) SB_WUR;
/* Prepares, binds, runs to completion and finalizes. */
int store_run(struct store *st, const char **error_r, const char *sql,
              const char *types, ...) SB_WUR;
/* Runs a query for one integer: 1 and *value_r, 0 no row, -1 error. */
int store_int(struct store *st, int64_t *value_r, const char **error_r,
              const char *sql, const char *types, ...) SB_WUR;
/*
 * Runs a query and collects its first column (integers) into a malloc'd
 * array (NULL when empty), so that the caller may then change the rows.
 */
int store_ids(struct store *st, int64_t **ids_r, size_t *count_r,
              const char **error_r, const char *sql, const char *types,
              ...) SB_WUR;
int store_exec(struct store *st, const char *sql, const char **error_r) SB_WUR;
/* A column as a malloc'd string or NULL; a blob as malloc'd bytes. */
char *store_col_str(sqlite3_stmt *stmt, int col);
void *store_col_blob(sqlite3_stmt *stmt, int col, size_t *len_r);

/*
 * Every writing function brackets its work with these: the outermost
 * opens a transaction (BEGIN IMMEDIATE), an inner one a savepoint.
 * store_tx_end commits or releases when ret is 0, else rolls back to where
 * store_tx_start was; it returns ret, or -1 when committing failed.
 */
int store_tx_start(struct store *st, size_t *mark_r,
                   const char **error_r) SB_WUR;
int store_tx_end(struct store *st, size_t mark, int ret,
                 const char **error_r) SB_WUR;
/* Records that the open transaction changed a mailbox. */
void store_changed(struct store *st, int64_t mailbox_id);
/* The key under which the hub knows an account's op queue. */
static inline int64_t
store_ops_key(int64_t account_id)
{
	return -account_id;
}

/* And its outbox: below every op queue's key. */
#define STORE_OUTBOX_KEY_BASE ((int64_t)1 << 48)
static inline int64_t
store_outbox_key(int64_t account_id)
{
	return -STORE_OUTBOX_KEY_BASE - account_id;
}

/* ---- schema.c ---- */

int store_migrate(struct store *st, const char *path,
                  const char **error_r) SB_WUR;
/* Fails unless the replica's schema version is STORE_SCHEMA_VERSION. */
int store_check_version(struct store *st, const char *path,
                        const char **error_r) SB_WUR;

/* ---- hub.c ---- */

/* Wakes the subscribers of the given mailboxes. */
void store_hub_notify(struct store_hub *hub, const int64_t *mailbox_ids,
                      size_t count);

/* ---- mailbox.c, entry.c ---- */

/* Gives the next modseq of a mailbox (highestmodseq + 1, stored). */
int store_mailbox_next_modseq(struct store *st, int64_t mailbox_id,
                              uint64_t *modseq_r, const char **error_r) SB_WUR;
/*
 * Puts a message into a mailbox with the next UID and a new modseq; one
 * already there keeps its UID. Both must belong to one account.
 */
int store_entry_insert(struct store *st, int64_t mailbox_id, int64_t message_id,
                       uint32_t *uid_r, const char **error_r) SB_WUR;
/* store_entry_insert into a mailbox other than All Mail, which follows. */
int store_entry_add(struct store *st, int64_t mailbox_id, int64_t message_id,
                    uint32_t *uid_r, const char **error_r) SB_WUR;
/* Expunges one entry (recorded in expunged); no orphan handling. */
int store_entry_expunge(struct store *st, int64_t mailbox_id, uint32_t uid,
                        const char **error_r) SB_WUR;
/* Expunges the message from the mailbox; deletes it if then in none. */
int store_entry_remove(struct store *st, int64_t mailbox_id, int64_t message_id,
                       const char **error_r) SB_WUR;
/*
 * Brings the message's All Mail entry in line with its other mailboxes,
 * then deletes the message if it is in no mailbox any more.
 */
int store_message_drop_orphan(struct store *st, int64_t message_id,
                              const char **error_r) SB_WUR;
/* Gives every entry of the message a new modseq in its mailbox. */
int store_message_touch(struct store *st, int64_t message_id,
                        const char **error_r) SB_WUR;

int store_mailbox_insert(struct store *st, int64_t account_id,
                         int64_t parent_id, const char *name,
                         const char *remote_id, const char *role, int64_t *id_r,
                         const char **error_r) SB_WUR;

/* ---- allmail.c ---- */

/* SQL: the column (a mailbox id) is not an All Mail. */
#define STORE_NOT_ALL_MAIL_COL(col) \
	col " NOT IN (SELECT id FROM mailboxes WHERE role = 'all')"
#define STORE_NOT_ALL_MAIL STORE_NOT_ALL_MAIL_COL("mailbox")

/* The account's All Mail: 1 and *id_r, 0 when it has none, -1. */
int store_all_mail_of(struct store *st, int64_t account_id, int64_t *id_r,
                      const char **error_r) SB_WUR;
/* 1 when the mailbox is an All Mail, 0 when not, -1. */
int store_all_mail_is(struct store *st, int64_t mailbox_id,
                      const char **error_r) SB_WUR;
/* Makes the account's All Mail unless it has one. */
int store_all_mail_create(struct store *st, int64_t account_id,
                          const char **error_r) SB_WUR;
/*
 * Adds the message to All Mail or expunges it there, after its other
 * mailboxes changed (nothing for an account without All Mail).
 */
int store_all_mail_follow(struct store *st, int64_t message_id,
                          const char **error_r) SB_WUR;
/*
 * Files the messages (of All Mail all) in target alone, with the ops
 * that replay it; gives their UIDs there in uids_r (may be NULL). Those
 * still in All Mail get a new UID there: the old one is expunged, as a
 * move out of a mailbox must. target 0: they are destroyed.
 */
int store_all_mail_refile(struct store *st, int64_t all,
                          const int64_t *messages, size_t count, int64_t target,
                          int64_t now, uint32_t *uids_r,
                          const char **error_r) SB_WUR;

/* ---- local.c ---- */

/* store_local_update and store_local_destroy inside a transaction. */
int store_local_do_update(struct store *st, const int64_t *messages,
                          size_t count, const struct store_patch *p,
                          int64_t now, uint32_t *uids_r,
                          const char **error_r) SB_WUR;
int store_local_do_destroy(struct store *st, const int64_t *messages,
                           size_t count, int64_t now,
                           const char **error_r) SB_WUR;

#endif
