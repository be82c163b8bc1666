/*
 * The IMAP server (docs/imap.md): listeners on loopback, one thread per
 * connection, sessions served from the replica. It never calls the API or
 * crypto/: what it needs of them (checking a login, and later reading and
 * writing messages) the bridge hands over as the callbacks of struct
 * imap_backend.
 *
 * Threads: imap_server_start() runs an accept thread; each connection
 * gets a thread of its own with its own store connection. The backend's
 * callbacks are called from those threads, at the same time.
 */
#ifndef SB_IMAP_H
#define SB_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "store/store.h"

struct sb_tls_ctx;

/* A listener that is not wanted. */
#define IMAP_PORT_OFF 0xffffffffu

/* Timers (RFC 3501 5.4: at least 30 minutes once logged in). */
#define IMAP_PRELOGIN_TIMEOUT_MS (60 * 1000)
#define IMAP_AUTOLOGOUT_MS       (30 * 60 * 1000)
/* Failed logins of one connection before it is closed. */
#define IMAP_MAX_LOGIN_FAILURES 5
#define IMAP_LOGIN_DELAY_MS     500
#define IMAP_LOGIN_DELAY_MAX_MS 4000

/*
 * What the server caches of a message through the backend: text it
 * computed from the message as message_read gives it, which it would
 * otherwise compute again from the whole message each time.
 */
enum imap_cache_kind {
	IMAP_CACHE_BODYSTRUCTURE, /* FETCH BODYSTRUCTURE's text */
	IMAP_CACHE_BODY,          /* FETCH BODY's text */
	IMAP_CACHE_KINDS
};

struct imap_cache_item {
	enum imap_cache_kind kind;
	const void *data;
	size_t len;
};

struct imap_backend {
	void *ctx;
	/*
	 * Checks a login: user is an address of an account, password its
	 * bridge password (never the account's own password). 1 with the
	 * replica's id of the account, 0 when they do not match, -1 when it
	 * cannot be checked (*error_r says why).
	 */
	int (*login)(void *ctx, const char *user, const char *password,
	             int64_t *account_r, const char **error_r);
	/*
	 * A message's header section (appended to headers) and its size,
	 * from its summary: no body is needed. st is the calling session's
	 * connection. 0, or -1 with *error_r.
	 */
	int (*message_headers)(void *ctx, struct store *st, int64_t account,
	                       int64_t message_id, struct sb_buf *headers,
	                       uint64_t *size_r, const char **error_r);
	/*
	 * The whole message, decrypted, appended to out (a secret buffer).
	 * A body not stored yet is downloaded first: that blocks the
	 * calling session only. 0, or -1 with *error_r.
	 */
	int (*message_read)(void *ctx, struct store *st, int64_t account,
	                    int64_t message_id, struct sb_buf *out,
	                    const char **error_r);
	/*
	 * Optional, both or neither (NULL: nothing is cached). get appends
	 * the text of one kind kept for the message to out (a secret
	 * buffer): 1, 0 when none is kept, -1 with *error_r. put keeps
	 * items; a kind kept already keeps its text (the message never
	 * changes). 0, or -1 with *error_r. The server goes on without the
	 * cache when either fails.
	 */
	int (*message_cache_get)(void *ctx, struct store *st, int64_t account,
	                         int64_t message_id, enum imap_cache_kind kind,
	                         struct sb_buf *out, const char **error_r);
	int (*message_cache_put)(void *ctx, struct store *st, int64_t account,
	                         int64_t message_id,
	                         const struct imap_cache_item *items,
	                         size_t count, const char **error_r);
	/*
	 * APPEND: a message of size bytes, written in pieces, encrypted into
	 * the replica as it comes (never held whole); finish puts it into the
	 * mailbox with its keywords and date, and gives its UID there (the
	 * import to the service is queued). finish frees the handle either
	 * way; abort abandons it. 0 or -1 with *error_r.
	 */
	int (*append_begin)(void *ctx, struct store *st, int64_t account,
	                    uint64_t size, void **append_r,
	                    const char **error_r);
	int (*append_write)(void *append, const void *data, size_t len,
	                    const char **error_r);
	int (*append_finish)(void *append, int64_t mailbox_id,
	                     const char *keywords, int64_t received_at,
	                     uint32_t *uid_r, const char **error_r);
	void (*append_abort)(void *append);
	/*
	 * The account's storage on the service, in bytes: what it uses and
	 * its limit (the last known values when the service cannot be
	 * reached). 0, or -1 with *error_r when none is known.
	 */
	int (*quota)(void *ctx, int64_t account, uint64_t *used_r,
	             uint64_t *limit_r, const char **error_r);
};

/* The largest message APPEND takes (the service's default blob limit). */
#define IMAP_APPEND_MAX (64u * 1024 * 1024)

struct imap_config {
	const char *addr; /* NULL: 127.0.0.1 */
	/* STARTTLS port and implicit TLS port: 0 picks a free one. */
	unsigned port, tls_port;
	struct sb_tls_ctx *tls; /* the server's certificate; required */
	const char *replica_path;
	struct store_hub *hub;
	struct imap_backend backend;
	/* 0: the defaults above. */
	int prelogin_timeout_ms, autologout_ms;
	/*
	 * Delay before answering a failed login, doubling up to
	 * IMAP_LOGIN_DELAY_MAX_MS; 0: IMAP_LOGIN_DELAY_MS.
	 */
	int login_delay_ms;
};

struct imap_server;

/* Binds the listeners; nothing is accepted before imap_server_start. */
int imap_server_new(const struct imap_config *cfg, struct imap_server **srv_r,
                    const char **error_r) SB_WUR;
int imap_server_start(struct imap_server *srv, const char **error_r) SB_WUR;
/* "127.0.0.1:1143", or NULL for a listener that is off. */
const char *imap_server_name(const struct imap_server *srv, bool tls);
unsigned imap_server_port(const struct imap_server *srv, bool tls);
/*
 * Stops accepting, tells every session to end (BYE) and waits for them,
 * then frees. NULL is fine.
 */
void imap_server_free(struct imap_server **srv);

#endif
