/*
 * What the client tests share: a saltmaild started for the test, and a
 * client set up for a test server (short backoff and stall timeout).
 */
#ifndef SB_TEST_CLIENT_HELPERS_H
#define SB_TEST_CLIENT_HELPERS_H

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
 * The signup of a new account as a client makes it: a random account id,
 * the default KDF parameters with a fresh salt, keys derived from password
 * and wrapped per docs/crypto.md. *s_r is freed with api_signup_free;
 * params_r (may be NULL) gets the parameters, auth_key_r the auth key.
 */
void signup_make(const char *email, const char *password,
                 struct api_signup *s_r, struct sb_kdf_params *params_r,
                 unsigned char auth_key_r[API_KEY_BYTES]);

/* A client of https://127.0.0.1:port trusting the certificate ca. */
struct api_client *client_for(unsigned port, const char *ca);

#endif
