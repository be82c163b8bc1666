/*
 * saltbridge serve's insides, shared by serve.c (the accounts, their
 * syncs and the IMAP server), serve-smtp.c (the SMTP server and the
 * senders) and serve-daemon.c (the process: its lock, settings, signals,
 * reload and certificate).
 */
#ifndef SB_BRIDGE_SERVE_PRIVATE_H
#define SB_BRIDGE_SERVE_PRIVATE_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "api/client.h"
#include "bridge/bridge-private.h"
#include "bridge/mail.h"
#include "bridge/send.h"
#include "bridge/sync.h"
#include "imap/imap.h"
#include "smtp/smtp.h"
#include "store/store.h"

/*
 * The clients of one account: its sync, event and body threads, the
 * downloads IMAP sessions ask for (one at a time, under fetch_lock), and
 * its sender.
 */
enum {
	SERVE_API,
	SERVE_EVENTS,
	SERVE_BODIES,
	SERVE_FETCH,
	SERVE_SEND,
	SERVE_CLIENTS
};

struct serve;

/*
 * A sender's signing key as the service listed it, kept briefly so that a
 * FETCH of many messages from one sender asks once. A failure to ask is
 * kept too, for less time, so that a FETCH while the service is away
 * fails fast instead of retrying for each message.
 */
struct serve_key {
	char *email; /* NULL: a free slot */
	int found;   /* 1 key, 0 none (definite), -1 could not ask */
	unsigned char sign_pk[SB_KEY_BYTES];
	time_t at;
};

#define SERVE_KEYS        64
#define SERVE_KEY_FRESH_S 300
#define SERVE_KEY_RETRY_S 10

struct serve_account {
	struct serve *srv;
	char id[API_ACCOUNT_ID_LEN + 1];
	char *email;
	struct api_client *clients[SERVE_CLIENTS];
	/* The clients' one session: refreshed once, by one of them. */
	struct api_session_share *share;
	struct bridge_sync *sync;
	struct bridge_sender *sender;
	int64_t replica_id;
	struct bridge_mail_keys keys;
	pthread_mutex_t fetch_lock;
	/* The last quota the service gave (under fetch_lock). */
	uint64_t quota_used, quota_limit;
	time_t quota_at; /* 0: never */
	/* Senders' keys looked up (under fetch_lock). */
	struct serve_key keys_seen[SERVE_KEYS];
};

struct serve {
	const struct bridge_paths *p;
	/* The command line's settings, and those in use (the file's under). */
	const struct bridge_settings *given;
	struct bridge_settings cur;
	/*
	 * What the IMAP and the SMTP server run with (their ports off while
	 * they do not run), to tell whether a reload changes them.
	 */
	struct bridge_settings imap_set, smtp_set;
	int lock_fd; /* serve's lock (bridge_serve_lock), or -1 */
	struct sb_tls_ctx *tls;
	struct imap_server *imap;
	struct smtp_server *smtp;
	struct bridge_vault vault;
	/* Held while the vault is changed and saved (by the token callback). */
	pthread_mutex_t vault_lock;
	struct store_hub *hub;
	struct serve_account *accounts;
	size_t count;
};

/* The error of a home without an account. */
#define SERVE_NO_ACCOUNT                                              \
	"no account is logged in: log one in first with 'saltbridge " \
	"login EMAIL'"

/* serve.c */

/* Opens the vault and starts a sync per account. */
int serve_start(struct serve *srv, const char **error_r) SB_WUR;
/* Stops everything, frees, and lets serve's lock go (last). */
void serve_free(struct serve *srv);
/* Removes the messages an APPEND cut short by a crash left staged. */
int serve_sweep(struct serve *srv, const char **error_r) SB_WUR;
/*
 * The IMAP listeners of s (none when both are off), printed on stdout as
 * they accept: "saltbridge: IMAP on ADDR:PORT (STARTTLS)" or "(TLS)".
 */
int serve_imap_listen(struct serve *srv, const struct bridge_settings *s,
                      const char **error_r) SB_WUR;
/* Ends every IMAP session (BYE) and closes the listeners. */
void serve_imap_close(struct serve *srv);

/* Checks a bridge password (imap_backend.login, smtp_backend.login). */
int serve_login(void *ctx, const char *user, const char *password,
                int64_t *account_r, const char **error_r);
/* The account of a replica id (a session's), or NULL. */
struct serve_account *serve_account_of(struct serve *srv, int64_t replica_id);

/* serve-smtp.c */

/* Sweeps the outbox, starts each account's sender, then SMTP. */
int serve_smtp_start(struct serve *srv, const char **error_r) SB_WUR;
/* The SMTP listeners of s, printed as the IMAP ones. */
int serve_smtp_listen(struct serve *srv, const struct bridge_settings *s,
                      const char **error_r) SB_WUR;
/* Ends every SMTP session (421) and closes the listeners. */
void serve_smtp_close(struct serve *srv);
/* Stops SMTP, then the senders (what is queued stays queued). */
void serve_smtp_stop(struct serve *srv);

#endif
