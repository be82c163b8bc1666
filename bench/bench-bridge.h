/*
 * `saltbridge` for the benchmarks that drive it (bench-imap, bench-smtp),
 * through its own command line, and its replica read directly; and the
 * client side of saltmaild's API (bench-bridge.c). Children and files follow
 * bench.h: serve runs in BENCH_CHILD_OTHER, stopped before saltmaild; its home
 * is "home" in the temporary folder.
 */
#ifndef SB_BENCH_BRIDGE_H
#define SB_BENCH_BRIDGE_H

#include <limits.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api.h"
#include "api/client.h"
#include "bench.h"
#include "bridge/mail.h"

struct bench_saltbridge {
	const char *binary;
	char home[PATH_MAX + 64];
	char replica[PATH_MAX + 96];   /* its replica.db */
	char cert[PATH_MAX + 96];      /* its listeners' certificate ... */
	char key[PATH_MAX + 96];       /* ... and key, made by serve */
	pid_t pid;                     /* serve's, while it runs */
	int out;                       /* serve's stdout, open while it runs */
	unsigned imap_port, smtp_port; /* plain (STARTTLS) ports; 0: off */
};

/* The paths; nothing runs yet. */
void bench_saltbridge_init(struct bench_saltbridge *b, const char *binary);
/*
 * `saltbridge --home HOME login --api URL --ca-file CERT
 * --password-stdin EMAIL` against d; its output in login.log.
 */
void bench_saltbridge_login(const struct bench_saltbridge *b,
                            const struct bench_saltmaild *d, const char *email,
                            const char *password);
/*
 * From the vault, while no serve holds it: the account's id (api_id_r,
 * API_ACCOUNT_ID_LEN + 1 bytes), its bridge password in secure memory
 * (password_r; NULL: not wanted) and its keys (keys_r; NULL: not wanted).
 */
void bench_saltbridge_account(const struct bench_saltbridge *b,
                              const char *email, char *api_id_r,
                              char **password_r,
                              struct bridge_mail_keys *keys_r);
/*
 * `saltbridge --home HOME serve ARGS...` (args NULL-ended), its stderr in
 * serve.log; returns once it printed its ready line, with the plain IMAP
 * and SMTP ports it printed.
 */
void bench_saltbridge_start(struct bench_saltbridge *b,
                            const char *const *args);
/* Stops serve; anything but a clean exit 0 fails the benchmark. */
void bench_saltbridge_stop(struct bench_saltbridge *b);

/*
 * The replica opened by this process beside serve (read and write: WAL
 * readers need the -shm), with a busy timeout; fails on error.
 */
sqlite3 *bench_replica_open(const char *path);
sqlite3_stmt *bench_replica_prepare(sqlite3 *db, const char *sql);
/* The id of the INBOX of the account with this API id. */
int64_t bench_replica_inbox(sqlite3 *db, const char *api_id);

/* ---- saltmaild's API, as a client ---- */

/* A client of d's API trusting its certificate, not logged in. */
struct api_client *bench_api_client_new(const struct bench_saltmaild *d);
/*
 * The password's keys with the KDF parameters the service gave at
 * prelogin, in secure memory (sb_secure_free); fails on bad ones.
 */
struct sb_password_keys *bench_password_keys(const struct api_kdf *kdf,
                                             const char *password);

#endif
