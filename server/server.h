/*
 * saltmaild, the reference Salt Mail API server (docs/api.md): its data
 * folder, its HTTPS server, and the commands that work on the same data
 * folder beside it (user add, deliver, import).
 */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"

struct srv_config {
	const char *data_dir;
	const char *listen_addr; /* "127.0.0.1" */
	unsigned listen_port;    /* 0: a free port */
	bool open_signup;
	const char *invite_code; /* NULL: no invite codes */
	uint64_t quota;          /* bytes per account */
	uint64_t max_blob;       /* bytes per blob */
	uint64_t token_ttl;      /* seconds an access token lives */
	uint64_t refresh_ttl;    /* seconds a refresh token lives */
	uint64_t changes_keep;   /* changes kept per account, at least */
	unsigned login_limit;    /* failed logins per address per minute */
	unsigned lookup_limit;   /* key lookups per account per minute */
	const char *smarthost;   /* "host:port", or NULL */
	const char *cert_file;   /* PEM chain; NULL: DATA/tls/cert.pem */
	const char *key_file;    /* its key; NULL: DATA/tls/key.pem */
	uint64_t relay_max_age;  /* seconds a deferred recipient is retried */
};

/* The defaults of docs/api.md and saltmaild(8). */
void srv_config_default(struct srv_config *config_r);

/*
 * Creates the data folder: the database with its schema, the server
 * secret, and a self-signed certificate in DIR/tls/. Safe to run again.
 */
int srv_init_data(const char *data_dir, const char **error_r) SB_WUR;

/*
 * Serves the API until SIGTERM or SIGINT. Prints
 * "saltmaild: ready https://ADDR:PORT" on stdout once listening.
 */
int srv_serve(const struct srv_config *config, const char **error_r) SB_WUR;

/* Creates an account as a client would: keys made and wrapped here. */
int srv_user_add(const char *data_dir, const char *email, const char *password,
                 size_t password_len, const char **error_r) SB_WUR;

/*
 * Delivers one message from outside, read from fd, to an account's mailbox
 * (NULL: INBOX), encrypted on arrival: nothing is stored in clear.
 */
int srv_deliver(const char *data_dir, const char *email, const char *mailbox,
                int fd, const char **error_r) SB_WUR;

struct srv_import_stats {
	uint64_t imported;
	uint64_t skipped; /* too large, empty, unreadable or trashed */
	uint64_t trashed; /* Maildir messages marked T, among the skipped */
};

/*
 * Imports an mbox file (mboxrd: ">From " lines unescaped) or a Maildir
 * (cur/ and new/, flags as keywords) into an account's mailbox (NULL:
 * INBOX), each message encrypted on arrival as srv_deliver does, many per
 * transaction. The received time is the mbox "From " line's date or the
 * file's mtime. A message that cannot be imported is skipped with a
 * warning on stderr; progress goes to stderr when progress is set.
 */
int srv_import(const char *data_dir, const char *email, const char *mailbox,
               const char *path, bool progress,
               struct srv_import_stats *stats_r, const char **error_r) SB_WUR;

#endif
