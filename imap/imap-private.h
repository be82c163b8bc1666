/* The IMAP server's internals, shared by imap/server.c, session.c, cmd-*.c. */
#ifndef SB_IMAP_PRIVATE_H
#define SB_IMAP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/net.h"
#include "imap/imap.h"
#include "imap/parser.h"
#include "imap/seqset.h"

/* Bytes read from the client at a time. */
#define IMAP_READ_SIZE 16384

enum imap_state {
	IMAP_STATE_NOT_AUTH = 1u << 0,
	IMAP_STATE_AUTH = 1u << 1,
	IMAP_STATE_SELECTED = 1u << 2,
	IMAP_STATE_LOGOUT = 1u << 3,
};

#define IMAP_STATE_ANY \
	(IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* What the server shares with its sessions. */
struct imap_shared {
	const struct imap_config *cfg;
	int stop_fd; /* eventfd: the server stops */
};

/*
 * The selected mailbox as this session has told its client about it:
 * sequence number n is uids[n - 1] (RFC 3501 2.3.1.2). What changed in
 * the replica since is told by imap_view_update.
 */
struct imap_view {
	int64_t mailbox_id;
	uint32_t uidvalidity;
	uint64_t uidnext; /* when selected */
	bool readonly;    /* EXAMINE */
	uint32_t *uids;
	size_t count, alloc;
	/* Flag changes and new messages up to this modseq were told. */
	uint64_t modseq;
	/* Expunges up to this modseq were told (held back in FETCH...). */
	uint64_t expunged_modseq;
};

struct imap_session {
	const struct imap_shared *shared;
	struct sb_conn *conn;
	bool tls;         /* the connection is TLS now */
	char peer[64];    /* for log lines */
	unsigned long id; /* for log lines */
	enum imap_state state;
	struct imap_reader *reader;
	/* Bytes read from the client not yet fed to the reader. */
	char in[IMAP_READ_SIZE];
	size_t in_pos, in_len;
	/* Replies, written to the connection by imap_flush. */
	struct sb_buf out;
	bool broken; /* a write failed: the session ends */
	/* After login. */
	int64_t account_id;
	char *user;
	struct store *st;      /* this session's connection to the replica */
	struct imap_view view; /* SELECTED */
	/* RFC 7162: MODSEQ in FETCH responses; VANISHED for expunges. */
	bool condstore, qresync;
	unsigned login_failures;
	int login_delay_ms;
};

/* ---- session.c ---- */

/*
 * Serves one connection on fd (taken over: closed at the end) until the
 * client logs out or leaves, a timer fires or shared->stop_fd is
 * signalled; with tls, the TLS handshake comes first. server.c runs it
 * in a thread per connection; fuzz-session.c on one end of a socketpair.
 */
void imap_session_run(const struct imap_shared *shared, int fd, bool tls,
                      unsigned long id);

/*
 * The next event of the client's stream: reads as needed, waiting at most
 * the session's timer. Returns 1 with *ev_r, or 0 when the session must
 * end (EOF, timeout, stop, a broken connection: *why_r says which, for
 * the log and the BYE).
 */
int imap_next_event(struct imap_session *s, struct imap_event *ev_r,
                    const char **why_r) SB_WUR;
/*
 * The same, calling on_watch whenever watch_fd (an sb_event) fires while
 * it waits; on_watch returns false when the connection broke.
 */
int imap_next_event_watch(struct imap_session *s, int watch_fd,
                          bool (*on_watch)(struct imap_session *s),
                          struct imap_event *ev_r, const char **why_r) SB_WUR;

/* Appends a reply line (CRLF added) to the output. */
void imap_reply(struct imap_session *s, const char *fmt, ...) SB_PRINTF(2, 3);
/* Appends bytes as they are. */
void imap_reply_raw(struct imap_session *s, const void *data, size_t len);
/* Writes the output; false (and s->broken) when that failed. */
bool imap_flush(struct imap_session *s);

/* The CAPABILITY list for the session's state, after "CAPABILITY ". */
const char *imap_capabilities(const struct imap_session *s);

/* ---- names.c ---- */

/*
 * A client's mailbox name (modified UTF-7, "/" between levels, INBOX in
 * any case, a trailing "/" ignored) as the replica's path (malloc'd), or
 * -1 with *why_r fit for a NO or BAD.
 */
int imap_name_to_path(const char *name, size_t len, char **path_r,
                      const char **why_r) SB_WUR;
/* The name a client sees for a path (modified UTF-7), appended. */
int imap_path_name(const char *path, struct sb_buf *out) SB_WUR;
/* The same, written as an IMAP astring (quoted when it must be). */
int imap_write_mailbox(const char *path, struct sb_buf *out) SB_WUR;
/* LIST's pattern ("*", "%") against a name as the client sees it. */
bool imap_list_match(const char *pattern, const char *name);
/* The SPECIAL-USE attribute of a role (RFC 6154), or NULL. */
const char *imap_role_attribute(const char *role);

/* ---- view.c ---- */

/* Selects: the view of the mailbox as it is now. */
int imap_view_open(struct imap_session *s, int64_t mailbox_id, bool readonly,
                   const char **error_r) SB_WUR;
void imap_view_close(struct imap_session *s);
/*
 * Tells the client what changed in the selected mailbox since the view
 * was last brought up to date: EXPUNGE (only when expunges is true: not
 * during FETCH, STORE and SEARCH, RFC 3501 7.4.1), EXISTS, and FETCH
 * FLAGS for flag changes. -1 on a replica error.
 */
int imap_view_update(struct imap_session *s, bool expunges,
                     const char **error_r) SB_WUR;
/* An entry of the view a command acts on. */
struct imap_target {
	size_t seq;
	uint32_t uid;
	int64_t message_id;
	bool deleted;
	int64_t received_at;
	uint64_t modseq;
	char *keywords; /* owned */
};

struct imap_targets {
	struct imap_target *items;
	size_t count;
};

/*
 * The view's entries named by a sequence set (UID set when uid), read
 * from the replica with their message ids and flags. 0, or -1 after
 * answering the command (BAD for a bad set, NO for the replica).
 */
int imap_targets_get(struct imap_session *s, const struct imap_command *c,
                     const struct imap_value *set, bool uid,
                     struct imap_targets *t) SB_WUR;
/* The same, only the entries changed after changedsince (0: all). */
int imap_targets_get_since(struct imap_session *s, const struct imap_command *c,
                           const struct imap_value *set, bool uid,
                           uint64_t changedsince,
                           struct imap_targets *t) SB_WUR;
void imap_targets_free(struct imap_targets *t);

/* Writes an entry's flags "(\Seen $label1)" into out. */
void imap_write_flags(const char *keywords, bool deleted, struct sb_buf *out);

/* The replica failed: a NO for the command, logged. */
void imap_store_failed(struct imap_session *s, const struct imap_command *c,
                       const char *error);

/* ---- Commands: one file each, dispatched by session.c ---- */

/*
 * A command's handler: it writes its untagged replies and its tagged
 * completion. The command is parsed; handlers check their arguments.
 */
typedef void imap_cmd_fn(struct imap_session *s, const struct imap_command *c);

imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_id;
imap_cmd_fn imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate;
imap_cmd_fn imap_cmd_list, imap_cmd_lsub, imap_cmd_create, imap_cmd_delete;
imap_cmd_fn imap_cmd_rename, imap_cmd_subscribe, imap_cmd_unsubscribe;
imap_cmd_fn imap_cmd_status, imap_cmd_namespace;
imap_cmd_fn imap_cmd_select, imap_cmd_examine, imap_cmd_close;
imap_cmd_fn imap_cmd_unselect, imap_cmd_check, imap_cmd_expunge;
imap_cmd_fn imap_cmd_store, imap_cmd_copy, imap_cmd_move, imap_cmd_uid_expunge;
imap_cmd_fn imap_cmd_fetch, imap_cmd_idle, imap_cmd_append, imap_cmd_search;
imap_cmd_fn imap_cmd_enable, imap_cmd_getquotaroot, imap_cmd_getquota;
imap_cmd_fn imap_cmd_setquota;

/*
 * "* VANISHED [(EARLIER)] uids": the UIDs expunged from the selected
 * mailbox since a modseq (only those of within, when not NULL).
 */
int imap_vanished_reply(struct imap_session *s, bool earlier, uint64_t since,
                        const struct imap_seqset *within,
                        const char **error_r) SB_WUR;

/*
 * APPEND's message literal, announced by ev (c: the command so far):
 * answered in full here. False when the connection must close.
 */
bool imap_append_literal(struct imap_session *s, const struct imap_event *ev,
                         const struct imap_command *c);

/*
 * The mailbox a command names in args[i]: 1 with *mb_r, or 0 after
 * answering (BAD for a bad name, NO [missing] when there is none, e.g.
 * NONEXISTENT or TRYCREATE).
 */
int imap_mailbox_arg(struct imap_session *s, const struct imap_command *c,
                     size_t i, const char *missing, struct store_mailbox *mb_r);

/* Tells the client that the arguments are wrong (tagged BAD). */
void imap_bad_args(struct imap_session *s, const struct imap_command *c,
                   const char *why);

#endif
