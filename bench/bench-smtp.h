/*
 * The two files of bench-smtp: the benchmark with its SMTP client
 * (bench-smtp.c), and its baselines (bench-smtp-base.c): an SMTP sink in
 * the process, and the API fed messages sealed beforehand.
 */
#ifndef SB_BENCH_SMTP_H
#define SB_BENCH_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "bench-bridge.h"
#include "common/net.h"
#include "common/tls.h"

#define BENCH_ALICE    "alice@example.org"
#define BENCH_BOB      "bob@example.org"
#define BENCH_PASSWORD "correct horse battery staple"

/* A message as DATA sends it: CRLF line ends, then ".\r\n". */
struct bench_smtp_mail {
	char *data;
	size_t len; /* the message itself is len - 3 bytes */
};

struct bench_smtp {
	size_t n, n_alone; /* messages of a flood, sent one at a time */
	struct bench_saltmaild d;
	struct bench_saltbridge b;
	char alice_id[API_ACCOUNT_ID_LEN + 1], bob_id[API_ACCOUNT_ID_LEN + 1];
	char *alice_password; /* the bridge password; secure memory */
	struct bridge_mail_keys alice_keys, bob_keys;
	struct bench_smtp_mail *mail; /* n */
};

/* ---- The SMTP client (bench-smtp.c) ---- */

/* One connection to port: STARTTLS trusting tls, AUTH PLAIN as user. */
struct sb_conn *bench_smtp_open(unsigned port, struct sb_tls_ctx *tls,
                                const char *user, const char *password);
/* QUIT, then frees the connection. */
void bench_smtp_close(struct sb_conn **c);

/* Called after the 250 of message i, before the next is begun. */
typedef void bench_smtp_wait_fn(void *ctx, size_t i);

/*
 * Sends the messages [0, n) from alice to bob; t250[i] is when the 250 of
 * message i was read. The next envelope (MAIL, RCPT and DATA in one
 * write) goes once the 250 was read and wait (may be NULL) returned, or
 * right behind the message's final dot when behind_dot. Returns when the
 * first byte was written.
 */
double bench_smtp_send(struct sb_conn *c, const struct bench_smtp_mail *mail,
                       size_t n, double *t250, bool behind_dot,
                       bench_smtp_wait_fn *wait, void *ctx);

/* ---- The baselines (bench-smtp-base.c) ---- */

/*
 * Floods an SMTP sink with the messages, each envelope sent once the
 * last 250 was read, and returns its messages per second; then, when
 * pipelined_r is not NULL, floods it again with each envelope behind the
 * last final dot, the rate in *pipelined_r.
 */
double bench_sink_flood(const struct bench_smtp *s,
                        struct sb_tls_ctx *client_tls, double *pipelined_r);

struct bench_api_base;

/* Alice logged in to the API, every message sealed; prints the time. */
struct bench_api_base *bench_api_base_new(const struct bench_smtp *s);
/* Message i's two copies uploaded, then submitted to bob. */
void bench_api_submit(struct bench_api_base *ab, size_t i);
void bench_api_base_free(struct bench_api_base **ab);

#endif
