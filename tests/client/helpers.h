/*
 * What the client tests share: a saltmaild started for the test, a client
 * set up for a test server (short backoff and stall timeout), an account
 * signed up and logged in, the calls a test makes as another client of
 * the account, and waiting with a deadline.
 */
#ifndef SB_TEST_CLIENT_HELPERS_H
#define SB_TEST_CLIENT_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/client.h"
#include "crypto/crypto.h"

struct server {
	pid_t pid;
	char data[512], cert[600];
	unsigned port;
};

/*
 * Starts "saltmaild serve" on a free loopback port with open signup,
 * the access token ttl given, and the NULL-ended extra arguments (may be
 * NULL); name makes its data directory unique in the test.
 */
void server_start(struct server *srv, const char *name, const char *ttl,
                  const char *const *extra);
/* Stops it and checks that it exited cleanly. */
void server_stop(struct server *srv);
/*
 * Starts it again after server_stop, on the same data directory and the
 * same port, so that clients logged in to its URL find it again. The port
 * may be taken for a moment (by a client's own connection, say): it tries
 * again for up to timeout_s seconds.
 */
void server_restart(struct server *srv, const char *ttl,
                    const char *const *extra, unsigned timeout_s);

/*
 * The signup of a new account as a client makes it: a random account id,
 * the default KDF parameters with a fresh salt, keys derived from password
 * and wrapped per docs/crypto.md. *s_r is freed with api_signup_free;
 * params_r (may be NULL) gets the parameters, auth_key_r the auth key.
 */
void signup_make(const char *email, const char *password,
                 struct api_signup *s_r, struct sb_kdf_params *params_r,
                 unsigned char auth_key_r[API_KEY_BYTES]);

/*
 * A child process of the test, killed at exit when it still runs (so a
 * failed test never leaves it behind): argv[0] (a path) run with argv,
 * its standard input the text `in` (NULL: /dev/null; through a pipe, so a
 * password never shows on a command line), its standard output and error
 * appended to the files out and err (NULL: the test's own).
 */
pid_t child_start(const char *const *argv, const char *in, const char *out,
                  const char *err);
/*
 * Waits up to timeout_s seconds (0: just looks) for the child to end:
 * true, its wait status in *status_r, once it ended; false while it runs.
 */
bool child_wait(pid_t pid, unsigned timeout_s, int *status_r);
/*
 * SIGTERM, then up to timeout_s seconds for it to end: its wait status,
 * or -1 when it had to be killed.
 */
int child_stop(pid_t pid, unsigned timeout_s);

/* A client of https://127.0.0.1:port trusting the certificate ca. */
struct api_client *client_for(unsigned port, const char *ca);
/*
 * The same for the calls of a whole page of messages: JSON answers as
 * large as the client reads by default, a 10 s stall timeout and a
 * backoff of 50 to 500 ms between its 3 tries.
 */
struct api_client *client_for_pages(unsigned port, const char *ca);

/* Ends the test case unless rc is 0: what failed, with the reply. */
void check_call(int rc, const struct api_reply *r, const char *what);

/*
 * Signs a new account up on c as a client does: signup_make, then POST
 * /api/v1/signup. Its auth key goes to auth_key_r and its id to
 * account_id_r (may be NULL). c is not logged in.
 */
void signup_post(struct api_client *c, const char *email, const char *password,
                 unsigned char auth_key_r[API_KEY_BYTES],
                 char account_id_r[API_ACCOUNT_ID_LEN + 1]);
/* Logs c in (api_login); c keeps the session. */
void client_login(struct api_client *c, const char *email,
                  const unsigned char auth_key[API_KEY_BYTES]);

/* ---- Calls of another client of the account, each checked ---- */

/* Uploads len bytes as a blob, through a file of the test's folder. */
void blob_upload(struct api_client *c, const void *data, size_t len,
                 char id_r[API_ID_MAX + 1]);
/*
 * Imports a message of len bytes of body (uploaded first) with a stand-in
 * summary and key packet (the service checks only their form), into the
 * mailboxes and with the keywords of the NULL-ended lists (keywords may be
 * NULL), received at `when`. Its id goes to id_r.
 */
void message_import(struct api_client *c, const void *body, size_t len,
                    const char *const *mailbox_ids, const char *const *keywords,
                    uint64_t when, char id_r[API_ID_MAX + 1]);
/*
 * Adds and removes keywords of one message (space-separated words,
 * NULL: none); the service must have updated it.
 */
void message_keywords_update(struct api_client *c, const char *id,
                             const char *add, const char *remove);
/* Destroys one message; returns how many the service destroyed. */
size_t message_destroy(struct api_client *c, const char *id);
/* The id of the account's mailbox with that role; it must have one. */
void mailbox_role_id(struct api_client *c, const char *role,
                     char id_r[API_ID_MAX + 1]);
/* The account's state, as the mailbox list gives it (owned). */
char *account_state(struct api_client *c);

/* ---- Waiting ---- */

/* Seconds on the monotonic clock. */
double now_s(void);
/*
 * Calls cond(ctx) every pause_ms milliseconds until it holds or timeout_s
 * seconds have passed: whether it held.
 */
bool wait_until(bool (*cond)(void *ctx), void *ctx, unsigned timeout_s,
                unsigned pause_ms);

#endif
