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
	unsigned login_failures;
	int login_delay_ms;
};

/* ---- session.c ---- */

/*
 * The next event of the client's stream: reads as needed, waiting at most
 * the session's timer. Returns 1 with *ev_r, or 0 when the session must
 * end (EOF, timeout, stop, a broken connection: *why_r says which, for
 * the log and the BYE).
 */
int imap_next_event(struct imap_session *s, struct imap_event *ev_r,
                    const char **why_r) SB_WUR;

/* Appends a reply line (CRLF added) to the output. */
void imap_reply(struct imap_session *s, const char *fmt, ...) SB_PRINTF(2, 3);
/* Appends bytes as they are. */
void imap_reply_raw(struct imap_session *s, const void *data, size_t len);
/* Writes the output; false (and s->broken) when that failed. */
bool imap_flush(struct imap_session *s);

/* The CAPABILITY list for the session's state, after "CAPABILITY ". */
const char *imap_capabilities(const struct imap_session *s);

/* ---- Commands: one file each, dispatched by session.c ---- */

/*
 * A command's handler: it writes its untagged replies and its tagged
 * completion. The command is parsed; handlers check their arguments.
 */
typedef void imap_cmd_fn(struct imap_session *s, const struct imap_command *c);

imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_id;
imap_cmd_fn imap_cmd_starttls, imap_cmd_login, imap_cmd_authenticate;

/* Tells the client that the arguments are wrong (tagged BAD). */
void imap_bad_args(struct imap_session *s, const struct imap_command *c,
                   const char *why);

#endif
