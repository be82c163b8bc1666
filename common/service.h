/*
 * A TCP service on loopback (or a given address): a listener for plain
 * connections and one for implicit TLS, each optional, an accept thread,
 * and one thread per connection running the caller's session. The IMAP
 * and SMTP servers are each one.
 *
 * Stopping: sb_service_free signals the stop event (sb_service_stop_fd),
 * which the sessions watch to end themselves, then waits for them and
 * joins their threads, so that whatever libraries keep per thread
 * (OpenSSL's state) is released before it returns.
 */
#ifndef SB_COMMON_SERVICE_H
#define SB_COMMON_SERVICE_H

#include <stdbool.h>

#include "common/compiler.h"

/* A listener that is not wanted. */
#define SB_SERVICE_OFF 0xffffffffu

/* Runs one connection's session; it owns fd and closes it. */
typedef void sb_service_session_fn(void *ctx, int fd, bool tls,
                                   unsigned long id);

struct sb_service_config {
	const char *what; /* in log lines: "imap", "smtp" */
	const char *addr; /* NULL: 127.0.0.1 */
	/* 0 picks a free port; SB_SERVICE_OFF: no such listener. */
	unsigned port, tls_port;
	sb_service_session_fn *session;
	void *ctx;
};

struct sb_service;

/* Binds the listeners; nothing is accepted before sb_service_start. */
int sb_service_new(const struct sb_service_config *cfg,
                   struct sb_service **svc_r, const char **error_r) SB_WUR;
int sb_service_start(struct sb_service *svc, const char **error_r) SB_WUR;
/* The eventfd that becomes readable when the service stops. */
int sb_service_stop_fd(const struct sb_service *svc);
/* "127.0.0.1:1143", or NULL for a listener that is off. */
const char *sb_service_name(const struct sb_service *svc, bool tls);
unsigned sb_service_port(const struct sb_service *svc, bool tls);
/*
 * Stops accepting, signals the stop event, waits for every session to
 * end and joins its thread, then frees. NULL is fine.
 */
void sb_service_free(struct sb_service **svc);

#endif
