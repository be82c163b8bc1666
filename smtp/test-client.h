/*
 * The client's end of a session for the SMTP tests: a session of
 * session.c run in a thread on one end of a socketpair, with the fake
 * backend of test-backend.h, and helpers that send lines and check the
 * replies exactly. A client that waits for a reply waits at most a
 * minute, so a session that hangs fails its test instead of the run.
 */
#ifndef SB_SMTP_TEST_CLIENT_H
#define SB_SMTP_TEST_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/net.h"
#include "smtp/smtp-private.h"
#include "test-backend.h"

struct tc {
	struct test_backend tb;
	struct smtp_config cfg;
	struct smtp_shared shared;
	bool implicit_tls; /* the session starts with a TLS handshake */
	bool on_tls;       /* the client's end is TLS now */
	struct sb_conn *conn;
	pthread_t thread;
	int server_fd;
	bool running;
};

/*
 * Once per test program: a certificate and TLS contexts in the test's
 * folder, and the replica's path.
 */
void tc_setup(void);
void tc_cleanup(void);
struct sb_tls_ctx *tc_server_tls(void);
struct sb_tls_ctx *tc_client_tls(void);
const char *tc_replica(void);

/*
 * A session's configuration (hostname mx.test, SIZE 1048576, 100
 * recipients, timers of a minute, 1 ms login delay, AUTH in the clear),
 * not started: change it, then tc_start.
 */
void tc_init(struct tc *c);
/* Starts the session and reads its greeting. */
void tc_start(struct tc *c);
/* Closes the client's end and waits for the session to end. */
void tc_finish(struct tc *c);
/* Frees the backend (read what it got before). */
void tc_free(struct tc *c);

void tc_send(struct tc *c, const char *text);
void tc_send_len(struct tc *c, const void *data, size_t len);
/* The next reply line must be want. */
#define tc_expect(c, want) tc_expect_at(__FILE__, __LINE__, (c), (want))
void tc_expect_at(const char *file, int line, struct tc *c, const char *want);
/* The session closed the connection. */
#define tc_expect_eof(c) tc_expect_eof_at(__FILE__, __LINE__, (c))
void tc_expect_eof_at(const char *file, int line, struct tc *c);
/* Switches the client's end to TLS (after "220 Ready to start TLS"). */
void tc_starttls(struct tc *c);

/* EHLO and its reply, as the session's state should make it. */
void tc_ehlo(struct tc *c);
/* EHLO and AUTH PLAIN as TB_USER. */
void tc_login(struct tc *c);
/* base64 of "authz NUL user NUL password" (a static buffer). */
const char *tc_plain(const char *authz, const char *user, const char *password);
/* base64 of text (a static buffer). */
const char *tc_b64(const char *text);

#endif
