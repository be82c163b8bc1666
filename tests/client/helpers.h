/*
 * What the client tests share: a saltmaild started for the test, and a
 * client set up for a test server (short backoff and stall timeout).
 */
#ifndef SB_TEST_CLIENT_HELPERS_H
#define SB_TEST_CLIENT_HELPERS_H

#include <sys/types.h>

#include "api/client.h"

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

/* A client of https://127.0.0.1:port trusting the certificate ca. */
struct api_client *client_for(unsigned port, const char *ca);

#endif
