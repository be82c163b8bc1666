/*
 * saltbridge serve: the long-running bridge. It keeps the vault open (and
 * locked), runs the sync engine (docs/sync.md) of every account in it, and
 * saves the tokens the API clients refresh on their own.
 */
#include "bridge-private.h"
#include "bridge/serve-private.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api/calls.h"
#include "api/client.h"
#include "bridge/mail.h"
#include "bridge/sync.h"
#include "common/cert.h"
#include "common/file.h"
#include "common/tls.h"
#include "imap/imap.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/progress.h"
#include "store/store.h"

/*
 * api_tokens_fn: a client refreshed its session; the new tokens replace
 * the vault's, saved at once (sb_vault_save writes a new file and renames
 * it). Runs on the thread of the client, so the vault is locked.
 */
static void
serve_on_tokens(void *ctx, const struct api_session *session)
{
	struct serve_account *a = ctx;
	struct bridge_vault *bv = &a->srv->vault;
	const char *error;

	pthread_mutex_lock(&a->srv->vault_lock);
	if (bridge_entry_set(bv->v, a->id, BRIDGE_ENTRY_ACCESS_TOKEN,
	                     session->access_token,
	                     strlen(session->access_token), &error) != 0 ||
	    bridge_entry_set(bv->v, a->id, BRIDGE_ENTRY_REFRESH_TOKEN,
	                     session->refresh_token,
	                     strlen(session->refresh_token), &error) != 0 ||
	    bridge_vault_save(bv, &error) != 0)
		sb_log_warn("cannot keep the refreshed session of %s: %s",
		            a->email, error);
	else
		sb_log_info("kept the refreshed session of %s", a->email);
	pthread_mutex_unlock(&a->srv->vault_lock);
}

/* The account's three clients, from its entries, with its session. */
static int SB_WUR
serve_clients(struct serve_account *a, const char **error_r)
{
	const struct sb_vault *v = a->srv->vault.v;
	struct api_client_options o;
	char *url, *ca_file, *access, *refresh;
	int ret = -1;
	size_t i;

	url = bridge_entry_str(v, a->id, BRIDGE_ENTRY_API_URL);
	ca_file = bridge_entry_str(v, a->id, BRIDGE_ENTRY_CA_FILE);
	access = bridge_entry_secret_str(v, a->id, BRIDGE_ENTRY_ACCESS_TOKEN);
	refresh = bridge_entry_secret_str(v, a->id, BRIDGE_ENTRY_REFRESH_TOKEN);
	if (url == NULL || access == NULL || refresh == NULL) {
		*error_r = bridge_errorf("the vault holds no session for %s: "
		                         "log it in again with 'saltbridge "
		                         "login %s'",
		                         a->email, a->email);
		goto out;
	}
	/*
	 * Login's options: few tries of one call, so that a stop is not
	 * held up by a call's backoff; the sync retries failed passes itself.
	 */
	api_client_options_default(&o);
	o.base_url = url;
	o.ca_file = ca_file;
	o.max_attempts = 3;
	o.backoff_max_ms = 4000;
	/*
	 * The refresh token rotates at each use: the three clients share one
	 * session, so that only one of them refreshes it at a time.
	 */
	a->share = api_session_share_new(access, refresh);
	for (i = 0; i < SERVE_CLIENTS; i++) {
		if (api_client_new(&o, &a->clients[i], error_r) != 0)
			goto out;
		api_client_share_session(a->clients[i], a->share);
		api_client_on_tokens(a->clients[i], serve_on_tokens, a);
	}
	ret = 0;
out:
	free(url);
	free(ca_file);
	if (access != NULL)
		sb_secure_free(&access);
	if (refresh != NULL)
		sb_secure_free(&refresh);
	return ret;
}

/* The replica's id of the account (added there by its login). */
static int SB_WUR
serve_replica_id(struct serve_account *a, int64_t *id_r, const char **error_r)
{
	struct store_account sa;
	struct store *st;
	const char *error;
	int found;

	if (store_open(a->srv->p->replica, a->srv->hub, &st, &error) != 0) {
		*error_r = bridge_errorf("%s", error);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	found = store_account_find_api_id(st, a->id, &sa, &error);
	*id_r = sa.id;
	store_account_free_contents(&sa);
	if (found < 0)
		*error_r = bridge_errorf("cannot read the replica: %s", error);
	else if (found == 0)
		*error_r = bridge_errorf("%s is not in the replica: log it in "
		                         "again with 'saltbridge login %s'",
		                         a->email, a->email);
	store_close(&st);
	return found == 1 ? 0 : -1;
}

/* Clients, replica id, and the sync started. */
static int SB_WUR
serve_account_start(struct serve_account *a, const char **error_r)
{
	struct bridge_sync_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	if (serve_clients(a, error_r) != 0 ||
	    serve_replica_id(a, &cfg.account_id, error_r) != 0)
		return -1;
	a->replica_id = cfg.account_id;
	if (bridge_mail_keys_load(a->srv->vault.v, a->id, &a->keys, error_r) !=
	    0)
		return -1;
	cfg.replica_path = a->srv->p->replica;
	cfg.hub = a->srv->hub;
	cfg.api_id = a->id;
	cfg.api = a->clients[SERVE_API];
	cfg.events = a->clients[SERVE_EVENTS];
	cfg.bodies = a->clients[SERVE_BODIES];
	if (bridge_sync_new(&cfg, &a->sync, error_r) != 0)
		return -1;
	if (bridge_sync_start(a->sync, error_r) != 0) {
		*error_r = bridge_errorf("cannot start the sync of %s: %s",
		                         a->email, *error_r);
		return -1;
	}
	sb_log_info("sync of %s started", a->email);
	return 0;
}

/* Stops every sync first (no thread calls back any more), then frees. */
void
serve_free(struct serve *srv)
{
	size_t i, j;

	/*
	 * SMTP and the senders stop first (what is queued stays in the
	 * outbox). The syncs next: a session waiting on a body download
	 * then sees it end at once. The IMAP sessions go next (they read
	 * the accounts), and only then is anything freed.
	 */
	serve_smtp_stop(srv);
	for (i = 0; i < srv->count; i++) {
		if (srv->accounts[i].sync != NULL)
			bridge_sync_stop(srv->accounts[i].sync);
	}
	imap_server_free(&srv->imap);
	sb_tls_ctx_free(&srv->tls);
	for (i = 0; i < srv->count; i++) {
		struct serve_account *a = &srv->accounts[i];

		bridge_sync_free(&a->sync);
		for (j = 0; j < SERVE_CLIENTS; j++)
			api_client_free(&a->clients[j]);
		bridge_mail_keys_clear(&a->keys);
		for (j = 0; j < SERVE_KEYS; j++)
			free(a->keys_seen[j].email);
		pthread_mutex_destroy(&a->fetch_lock);
		api_session_share_free(&a->share);
		free(a->email);
	}
	free(srv->accounts);
	srv->accounts = NULL;
	srv->count = 0;
	if (srv->hub != NULL)
		store_hub_free(&srv->hub);
	bridge_vault_close(&srv->vault);
	pthread_mutex_destroy(&srv->vault_lock);
	/* Last: another serve may start once everything here is closed. */
	bridge_serve_unlock(&srv->lock_fd);
}

/* Opens the vault and starts a sync per account. */
int
serve_start(struct serve *srv, const char **error_r)
{
	struct bridge_account_ids ids;
	size_t i;
	int ret;

	ret = bridge_vault_open_existing(&srv->vault, srv->p, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0)
		bridge_account_ids_get(srv->vault.v, &ids);
	else
		memset(&ids, 0, sizeof(ids));
	if (ids.count == 0) {
		bridge_account_ids_free(&ids);
		*error_r = SERVE_NO_ACCOUNT;
		return -1;
	}
	sb_log_info("%zu accounts in the vault", ids.count);
	srv->hub = store_hub_new();
	srv->accounts = sb_calloc(ids.count, sizeof(*srv->accounts));
	srv->count = ids.count;
	for (i = 0; i < ids.count; i++) {
		struct serve_account *a = &srv->accounts[i];

		a->srv = srv;
		pthread_mutex_init(&a->fetch_lock, NULL);
		memcpy(a->id, ids.ids[i], sizeof(a->id));
		a->email = bridge_entry_str(srv->vault.v, a->id,
		                            BRIDGE_ENTRY_EMAIL);
		if (a->email == NULL)
			a->email = sb_strdup(a->id);
	}
	bridge_account_ids_free(&ids);
	for (i = 0; i < srv->count; i++) {
		if (serve_account_start(&srv->accounts[i], error_r) != 0)
			return -1;
	}
	return 0;
}

/*
 * imap_backend.login: an address of an account in the vault and its
 * bridge password, compared in constant time. Called from session
 * threads; the vault is read under its lock (the token callback writes
 * it).
 */
int
serve_login(void *ctx, const char *user, const char *password,
            int64_t *account_r, const char **error_r)
{
	struct serve *srv = ctx;
	char id[API_ACCOUNT_ID_LEN + 1];
	const unsigned char *want;
	size_t len, i;
	char *lower;
	int ok = 0;

	(void)error_r;
	/* Addresses are kept in lower case, as the service keeps them. */
	lower = sb_strdup(user);
	for (i = 0; lower[i] != '\0'; i++) {
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	}
	pthread_mutex_lock(&srv->vault_lock);
	if (bridge_account_find_any(srv->vault.v, lower, id) == 1 &&
	    bridge_entry_get(srv->vault.v, id, BRIDGE_ENTRY_BRIDGE_PASSWORD,
	                     &want, &len) &&
	    len == strlen(password) && sodium_memcmp(want, password, len) == 0)
		ok = 1;
	pthread_mutex_unlock(&srv->vault_lock);
	free(lower);
	if (!ok)
		return 0;
	for (i = 0; i < srv->count; i++) {
		if (strcmp(srv->accounts[i].id, id) == 0) {
			*account_r = srv->accounts[i].replica_id;
			return 1;
		}
	}
	return 0;
}

struct serve_account *
serve_account_of(struct serve *srv, int64_t replica_id)
{
	size_t i;

	for (i = 0; i < srv->count; i++) {
		if (srv->accounts[i].replica_id == replica_id)
			return &srv->accounts[i];
	}
	return NULL;
}

/* The slot of a sender, fresh enough to use, or NULL. */
static struct serve_key *
serve_key_find(struct serve_account *a, const char *email, time_t now)
{
	struct serve_key *k;
	size_t i;

	for (i = 0; i < SERVE_KEYS; i++) {
		k = &a->keys_seen[i];
		if (k->email != NULL && strcmp(k->email, email) == 0 &&
		    now - k->at < (k->found < 0 ? SERVE_KEY_RETRY_S
		                                : SERVE_KEY_FRESH_S))
			return k;
	}
	return NULL;
}

/* The slot to keep a sender's answer in: its own, a free or the oldest. */
static struct serve_key *
serve_key_slot(struct serve_account *a, const char *email)
{
	struct serve_key *k, *oldest = &a->keys_seen[0];
	size_t i;

	for (i = 0; i < SERVE_KEYS; i++) {
		k = &a->keys_seen[i];
		if (k->email == NULL || strcmp(k->email, email) == 0)
			return k;
		if (k->at < oldest->at)
			oldest = k;
	}
	return oldest;
}

/*
 * bridge_mail_key_fn: GET /api/v1/keys?email= on the account's fetch
 * client (under fetch_lock, one call at a time). "Not on the service",
 * and an address the service refuses or does not know, are definite
 * answers (no key); anything else is a failure to ask.
 */
static int
serve_sender_key(void *ctx, const char *email,
                 unsigned char sign_pk[SB_KEY_BYTES], const char **error_r)
{
	struct serve_account *a = ctx;
	struct api_key_lookup lookup;
	struct serve_key *k;
	struct api_reply r;
	time_t now = time(NULL);
	int found;

	pthread_mutex_lock(&a->fetch_lock);
	k = serve_key_find(a, email, now);
	if (k == NULL) {
		memset(&lookup, 0, sizeof(lookup));
		api_reply_init(&r);
		if (api_key_lookup_get(a->clients[SERVE_FETCH], email, &lookup,
		                       &r) == 0)
			found = lookup.on_service ? 1 : 0;
		else if (r.error == API_ERR_NOT_FOUND ||
		         r.error == API_ERR_INVALID_REQUEST)
			found = 0;
		else
			found = -1;
		if (found < 0)
			sb_log_warn(
			        "account %s: cannot look up a sender's key: %s "
			        "(%u)",
			        a->email,
			        api_error_name(r.error) != NULL
			                ? api_error_name(r.error)
			                : "error",
			        r.status);
		k = serve_key_slot(a, email);
		if (k->email == NULL || strcmp(k->email, email) != 0) {
			free(k->email);
			k->email = sb_strdup(email);
		}
		k->found = found;
		k->at = now;
		if (found == 1)
			memcpy(k->sign_pk, lookup.sign_pk, SB_KEY_BYTES);
		api_key_lookup_free(&lookup);
		api_reply_clear(&r);
	}
	found = k->found;
	if (found == 1)
		memcpy(sign_pk, k->sign_pk, SB_KEY_BYTES);
	pthread_mutex_unlock(&a->fetch_lock);
	if (found < 0)
		*error_r = "the sender's key cannot be looked up now";
	return found;
}

/*
 * imap_backend.message_headers: from the summary, opened here, with the
 * signature header first.
 */
static int
serve_message_headers(void *ctx, struct store *st, int64_t account,
                      int64_t message_id, struct sb_buf *headers,
                      uint64_t *size_r, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	return bridge_mail_headers(&a->keys, st, message_id, serve_sender_key,
	                           a, headers, size_r, error_r);
}

/*
 * imap_backend.message_read: the stored body decrypted, or downloaded
 * first on the account's fetch client (one download at a time), with
 * the signature header first.
 */
static int
serve_message_read(void *ctx, struct store *st, int64_t account,
                   int64_t message_id, struct sb_buf *out, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	int ret;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	ret = bridge_mail_message(&a->keys, st, message_id, serve_sender_key, a,
	                          out, error_r);
	if (ret != 0)
		return ret > 0 ? 0 : -1;
	pthread_mutex_lock(&a->fetch_lock);
	ret = bridge_sync_body_download(a->sync, st, a->clients[SERVE_FETCH],
	                                message_id, error_r);
	pthread_mutex_unlock(&a->fetch_lock);
	if (ret < 0)
		return -1;
	ret = bridge_mail_message(&a->keys, st, message_id, serve_sender_key, a,
	                          out, error_r);
	if (ret == 0)
		*error_r = "the message's body is not on the service yet";
	return ret > 0 ? 0 : -1;
}

/* The cache record type of what the IMAP server caches. */
static unsigned
serve_cache_type(enum imap_cache_kind kind)
{
	return kind == IMAP_CACHE_BODYSTRUCTURE ? SB_CACHE_BODYSTRUCTURE
	                                        : SB_CACHE_BODY;
}

/* imap_backend.message_cache_get: a record of the message's value. */
static int
serve_message_cache_get(void *ctx, struct store *st, int64_t account,
                        int64_t message_id, enum imap_cache_kind kind,
                        struct sb_buf *out, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	const struct sb_cache_record *r;
	struct bridge_mail_cache c;
	int ret;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	bridge_mail_cache_init(&c);
	ret = bridge_mail_cache_load(&a->keys, st, message_id, &c, error_r);
	if (ret == 1) {
		r = sb_cache_records_find(&c.rs, serve_cache_type(kind));
		ret = 0;
		if (r != NULL && sb_buf_add(out, r->value, r->len) == 0)
			ret = 1;
	}
	bridge_mail_cache_free(&c);
	return ret;
}

/* imap_backend.message_cache_put: records added to the message's value. */
static int
serve_message_cache_put(void *ctx, struct store *st, int64_t account,
                        int64_t message_id, const struct imap_cache_item *items,
                        size_t count, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	struct sb_cache_record recs[IMAP_CACHE_KINDS];
	struct bridge_mail_cache c;
	size_t i;
	int ret;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	if (count > IMAP_CACHE_KINDS) {
		*error_r = "too many items to cache";
		return -1;
	}
	for (i = 0; i < count; i++) {
		recs[i].type = serve_cache_type(items[i].kind);
		recs[i].value = items[i].data;
		recs[i].len = items[i].len;
	}
	bridge_mail_cache_init(&c);
	ret = bridge_mail_cache_add(&a->keys, st, message_id, recs, count, &c,
	                            error_r);
	bridge_mail_cache_free(&c);
	return ret;
}

/* How long a quota the service gave is used before asking again. */
#define SERVE_QUOTA_FRESH_S 60

/*
 * imap_backend.quota: asked of the service on the fetch client, at most
 * once a minute; the last answer serves while it cannot be reached.
 */
static int
serve_quota(void *ctx, int64_t account, uint64_t *used_r, uint64_t *limit_r,
            const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	struct api_account acc;
	struct api_reply r;
	time_t now = time(NULL);
	int ret = 0;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	pthread_mutex_lock(&a->fetch_lock);
	if (a->quota_at == 0 || now - a->quota_at >= SERVE_QUOTA_FRESH_S) {
		api_reply_init(&r);
		if (api_account_get(a->clients[SERVE_FETCH], &acc, &r) == 0) {
			a->quota_used = acc.quota_used;
			a->quota_limit = acc.quota_limit;
			a->quota_at = now;
			api_account_free(&acc);
		} else if (a->quota_at == 0) {
			*error_r =
			        bridge_errorf("the service: %s (%u)",
			                      api_error_name(r.error) != NULL
			                              ? api_error_name(r.error)
			                              : "error",
			                      r.status);
			ret = -1;
		}
		api_reply_clear(&r);
	}
	*used_r = a->quota_used;
	*limit_r = a->quota_limit;
	pthread_mutex_unlock(&a->fetch_lock);
	return ret;
}

/* imap_backend's APPEND calls: bridge/mail.c with the account's keys. */
static int
serve_append_begin(void *ctx, struct store *st, int64_t account, uint64_t size,
                   void **append_r, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	struct bridge_mail_append *app;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	if (bridge_mail_append_begin(&a->keys, st, account, size, &app,
	                             error_r) < 0)
		return -1;
	*append_r = app;
	return 0;
}

static int
serve_append_write(void *append, const void *data, size_t len,
                   const char **error_r)
{
	return bridge_mail_append_write(append, data, len, error_r);
}

static int
serve_append_finish(void *append, int64_t mailbox_id, const char *keywords,
                    int64_t received_at, uint32_t *uid_r, const char **error_r)
{
	struct bridge_mail_append *app = append;

	return bridge_mail_append_finish(&app, mailbox_id, keywords,
	                                 received_at, uid_r, error_r);
}

static void
serve_append_abort(void *append)
{
	struct bridge_mail_append *app = append;

	bridge_mail_append_abort(&app);
}

/* APPENDs a crash cut short: their staged messages go. */
int
serve_sweep(struct serve *srv, const char **error_r)
{
	struct store *st;
	uint64_t removed = 0;
	int ret;

	if (store_open(srv->p->replica, NULL, &st, error_r) < 0)
		return -1;
	ret = store_stage_sweep(st, &removed, error_r);
	store_close(&st);
	if (ret == 0 && removed > 0)
		sb_log_info("removed %llu messages an APPEND left unfinished",
		            (unsigned long long)removed);
	return ret;
}

int
serve_imap_listen(struct serve *srv, const struct bridge_settings *s,
                  const char **error_r)
{
	struct imap_config cfg;

	_Static_assert(IMAP_PORT_OFF == BRIDGE_PORT_OFF,
	               "one word for a listener that is off");
	if (s->imap_port == IMAP_PORT_OFF && s->imaps_port == IMAP_PORT_OFF) {
		srv->imap_set = *s;
		return 0;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.addr = s->listen;
	cfg.port = s->imap_port;
	cfg.tls_port = s->imaps_port;
	cfg.tls = srv->tls;
	cfg.replica_path = srv->p->replica;
	cfg.hub = srv->hub;
	cfg.backend.ctx = srv;
	cfg.backend.login = serve_login;
	cfg.backend.message_headers = serve_message_headers;
	cfg.backend.message_read = serve_message_read;
	cfg.backend.message_cache_get = serve_message_cache_get;
	cfg.backend.message_cache_put = serve_message_cache_put;
	cfg.backend.append_begin = serve_append_begin;
	cfg.backend.append_write = serve_append_write;
	cfg.backend.append_finish = serve_append_finish;
	cfg.backend.append_abort = serve_append_abort;
	cfg.backend.quota = serve_quota;
	if (imap_server_new(&cfg, &srv->imap, error_r) != 0) {
		*error_r = bridge_errorf("IMAP: %s", *error_r);
		return -1;
	}
	if (imap_server_start(srv->imap, error_r) != 0) {
		imap_server_free(&srv->imap);
		return -1;
	}
	if (imap_server_name(srv->imap, false) != NULL)
		printf("saltbridge: IMAP on %s (STARTTLS)\n",
		       imap_server_name(srv->imap, false));
	if (imap_server_name(srv->imap, true) != NULL)
		printf("saltbridge: IMAP on %s (TLS)\n",
		       imap_server_name(srv->imap, true));
	srv->imap_set = *s;
	return 0;
}

void
serve_imap_close(struct serve *srv)
{
	imap_server_free(&srv->imap);
	srv->imap_set.imap_port = srv->imap_set.imaps_port = IMAP_PORT_OFF;
}
