/*
 * The SMTP submission server (docs/smtp.md): listeners on loopback, one
 * thread per connection, ESMTP with the extensions mail clients use.
 * It never calls the API or crypto/: checking a login and a sender, and
 * putting a message into the outbox, are the callbacks of struct
 * smtp_backend, which the bridge hands over.
 *
 * Mail accepted with a 250 is on disk first: the session sends the 250
 * after data_finish returned, and data_finish returns once the message
 * is durable in the outbox.
 *
 * Threads: smtp_server_start() runs an accept thread; each connection
 * gets a thread of its own with its own store connection. The backend's
 * callbacks are called from those threads, at the same time.
 */
#ifndef SB_SMTP_H
#define SB_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "store/store.h"

struct sb_tls_ctx;

/* A listener that is not wanted. */
#define SMTP_PORT_OFF 0xffffffffu

/* The largest message taken (SIZE), and the recipients of one message. */
#define SMTP_SIZE_MAX       (64u * 1024 * 1024)
#define SMTP_RECIPIENTS_MAX 500
/* RFC 5321 4.5.3.1: a command line, and a text line of DATA, in bytes. */
#define SMTP_COMMAND_LINE_MAX 512
#define SMTP_TEXT_LINE_MAX    1000
/* Timers (RFC 5321 4.5.3.2 asks 5 minutes for a command). */
#define SMTP_COMMAND_TIMEOUT_MS (5 * 60 * 1000)
#define SMTP_DATA_TIMEOUT_MS    (10 * 60 * 1000)
/* Failed logins of one connection before it is closed. */
#define SMTP_MAX_LOGIN_FAILURES 5
#define SMTP_LOGIN_DELAY_MS     500
#define SMTP_LOGIN_DELAY_MAX_MS 4000
/* A queue id: printable ASCII, NUL-terminated. */
#define SMTP_QUEUE_ID_MAX 64

struct smtp_backend {
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
	 * MAIL FROM: 1 when address (the reverse-path without its angle
	 * brackets, never empty) is one of the account's own addresses, 0
	 * when not, -1 when it cannot be checked.
	 */
	int (*sender_ok)(void *ctx, int64_t account, const char *address,
	                 const char **error_r);
	/*
	 * DATA: the message as the client sent it, dot-unstuffed, every
	 * line ending in CRLF, written in pieces and encrypted into the
	 * outbox as it comes (never held whole). st is the calling
	 * session's connection. finish makes it durable and gives its queue
	 * id; it frees the handle either way. abort abandons it (nothing
	 * stays in the outbox). 0, or -1 with *error_r.
	 */
	int (*data_begin)(void *ctx, struct store *st, int64_t account,
	                  const char *sender, const char *const *recipients,
	                  size_t n_recipients, void **data_r,
	                  const char **error_r);
	int (*data_write)(void *data, const void *p, size_t len,
	                  const char **error_r);
	int (*data_finish)(void *data, char queue_id[SMTP_QUEUE_ID_MAX],
	                   const char **error_r);
	void (*data_abort)(void *data);
};

struct smtp_config {
	const char *addr;     /* NULL: 127.0.0.1 */
	const char *hostname; /* in the greeting and EHLO; NULL: localhost */
	/* STARTTLS port and implicit TLS port: 0 picks a free one. */
	unsigned port, tls_port;
	struct sb_tls_ctx *tls; /* the server's certificate; required */
	const char *replica_path;
	struct store_hub *hub;
	struct smtp_backend backend;
	/* 0: the defaults above. */
	uint64_t size_max;
	unsigned recipients_max;
	int command_timeout_ms, data_timeout_ms;
	/*
	 * Delay before answering a failed login, doubling up to
	 * SMTP_LOGIN_DELAY_MAX_MS; 0: SMTP_LOGIN_DELAY_MS.
	 */
	int login_delay_ms;
};

struct smtp_server;

/* Binds the listeners; nothing is accepted before smtp_server_start. */
int smtp_server_new(const struct smtp_config *cfg, struct smtp_server **srv_r,
                    const char **error_r) SB_WUR;
int smtp_server_start(struct smtp_server *srv, const char **error_r) SB_WUR;
/* "127.0.0.1:1025", or NULL for a listener that is off. */
const char *smtp_server_name(const struct smtp_server *srv, bool tls);
unsigned smtp_server_port(const struct smtp_server *srv, bool tls);
/*
 * Stops accepting, tells every session to end (421) and waits for them,
 * then frees. A message in the middle of DATA is abandoned (no 250 was
 * sent for it). NULL is fine.
 */
void smtp_server_free(struct smtp_server **srv);

#endif
