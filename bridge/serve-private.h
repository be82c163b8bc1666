/*
 * saltbridge serve's insides, shared by serve.c (the accounts, their
 * syncs and the IMAP server) and serve-smtp.c (the SMTP server and the
 * senders).
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
	const struct bridge_serve_options *o;
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

/* serve.c */

/* Checks a bridge password (imap_backend.login, smtp_backend.login). */
int serve_login(void *ctx, const char *user, const char *password,
                int64_t *account_r, const char **error_r);
/* The account of a replica id (a session's), or NULL. */
struct serve_account *serve_account_of(struct serve *srv, int64_t replica_id);

/* serve-smtp.c */

/* Sweeps the outbox, starts each account's sender, then SMTP. */
int serve_smtp_start(struct serve *srv, const char **error_r) SB_WUR;
/* Stops SMTP, then the senders (what is queued stays queued). */
void serve_smtp_stop(struct serve *srv);

#endif
