/*
 * What the client tests share: a saltmaild started for the test, and a
 * client set up for a test server (short backoff and stall timeout).
 */
#ifndef SB_TEST_CLIENT_HELPERS_H
#define SB_TEST_CLIENT_HELPERS_H

#include <stdbool.h>
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

#endif
