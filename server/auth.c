/*
 * Authentication and the account: prelogin, login, refresh, logout,
 * signup, the account resource, password change, key lookup.
 */
#include "server-private.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/log.h"
#include "crypto/crypto.h"

#define SRV_TOKEN_BYTES 32
/* "at_" or "rt_" and 64 hex digits. */
#define SRV_TOKEN_SIZE   (3 + 2 * SRV_TOKEN_BYTES + 1)
#define SRV_LIMIT_WINDOW 60
/* A client address may fail this many times more than one address. */
#define SRV_LIMIT_IP_FACTOR 20

/* The count of one key (an address, a client, an account) in its window. */
struct srv_limit {
	char key[API_EMAIL_MAX + 8];
	uint64_t window_start;
	unsigned failures; /* or lookups */
};

static void
srv_token_new(const char *prefix, char out[SRV_TOKEN_SIZE],
              unsigned char hash_r[32])
{
	unsigned char raw[SRV_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, prefix, 3);
	sodium_bin2hex(out + 3, SRV_TOKEN_SIZE - 3, raw, sizeof(raw));
	crypto_generichash(hash_r, 32, (const unsigned char *)out, strlen(out),
	                   NULL, 0);
	sodium_memzero(raw, sizeof(raw));
}

static void
srv_token_hash(const char *token, unsigned char hash_r[32])
{
	crypto_generichash(hash_r, 32, (const unsigned char *)token,
	                   strlen(token), NULL, 0);
}

int
srv_authenticate(struct srv_req *req)
{
	const char *auth = srv_header(req, "Authorization");
	unsigned char hash[32];
	sqlite3_stmt *st;
	int rc, ret = -1;

	if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 ||
	    strlen(auth + 7) > API_TOKEN_MAX)
		return srv_fail(req, API_ERR_UNAUTHORIZED,
		                "a bearer access token is needed");
	srv_token_hash(auth + 7, hash);
	st = srv_db_prepare(req->db, "SELECT id, account_id, access_expires, "
	                             "revoked FROM sessions WHERE "
	                             "access_hash = ?1");
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || sqlite3_column_int64(st, 3) != 0) {
		srv_fail(req, API_ERR_UNAUTHORIZED,
		         "the access token is unknown or revoked");
	} else if ((uint64_t)sqlite3_column_int64(st, 2) <= srv_now()) {
		srv_fail(req, API_ERR_TOKEN_EXPIRED,
		         "the access token expired; refresh it");
	} else {
		req->session_id = sqlite3_column_int64(st, 0);
		snprintf(req->account_id, sizeof(req->account_id), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* A rate-limit table holds at most this many keys. */
#define SRV_LIMIT_MAX 4096

/* Drops entries whose window ended. */
static void
srv_limit_prune(struct srv_limit_table *t, uint64_t now)
{
	size_t i = 0;

	while (i < t->n) {
		if (now >= t->v[i].window_start + SRV_LIMIT_WINDOW)
			t->v[i] = t->v[--t->n];
		else
			i++;
	}
}

/*
 * The entry of key, made when there is none (with the lock held). The
 * table is bounded: when it is full of live windows, the entry whose
 * window started first gives way.
 */
static struct srv_limit *
srv_limit_entry(struct srv_limit_table *t, const char *key, uint64_t now)
{
	struct srv_limit *l;
	size_t i, oldest = 0;

	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	}
	if (t->v == NULL)
		t->v = sb_calloc(SRV_LIMIT_MAX, sizeof(*t->v));
	if (t->n == SRV_LIMIT_MAX)
		srv_limit_prune(t, now);
	if (t->n == SRV_LIMIT_MAX) {
		for (i = 1; i < t->n; i++) {
			if (t->v[i].window_start < t->v[oldest].window_start)
				oldest = i;
		}
		t->v[oldest] = t->v[--t->n];
	}
	l = &t->v[t->n++];
	snprintf(l->key, sizeof(l->key), "%s", key);
	l->window_start = now;
	l->failures = 0;
	return l;
}

/*
 * Everything happens under srv->lock, the time included, so that the
 * count, the window and the wait agree. Counting before the outcome is
 * known (and giving back on success) keeps concurrent attempts from
 * passing the limit together.
 */
unsigned
srv_limit_take(struct srv *srv, struct srv_limit_table *t, const char *key,
               unsigned limit)
{
	struct srv_limit *l;
	unsigned wait = 0;
	uint64_t now;

	pthread_mutex_lock(&srv->lock);
	now = srv_now();
	l = srv_limit_entry(t, key, now);
	if (now >= l->window_start + SRV_LIMIT_WINDOW ||
	    now < l->window_start) {
		l->window_start = now;
		l->failures = 0;
	}
	if (l->failures >= limit) {
		wait = (unsigned)(l->window_start + SRV_LIMIT_WINDOW - now);
		if (wait == 0)
			wait = 1;
	} else {
		l->failures++;
	}
	pthread_mutex_unlock(&srv->lock);
	return wait;
}

void
srv_limit_give_back(struct srv *srv, struct srv_limit_table *t, const char *key)
{
	size_t i;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < t->n; i++) {
		if (strcmp(t->v[i].key, key) == 0) {
			if (t->v[i].failures > 0)
				t->v[i].failures--;
			break;
		}
	}
	pthread_mutex_unlock(&srv->lock);
}

int
srv_rate_limited(struct srv_req *req, unsigned wait, const char *what)
{
	req->retry_after = wait > 0 ? wait : 1;
	return srv_fail(req, API_ERR_RATE_LIMITED,
	                "too many %s; retry in %u seconds", what,
	                req->retry_after);
}

/*
 * The client's key in the login table: its IPv4 address, or the /64 of
 * an IPv6 address, since one host commonly holds a whole /64.
 */
static void
srv_client_key(const struct srv_req *req, char *out, size_t size)
{
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];

	if (strchr(req->remote, ':') != NULL &&
	    inet_pton(AF_INET6, req->remote, &a) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(a.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a, text, sizeof(text)) != NULL) {
			snprintf(out, size, "i:%s/64", text);
			return;
		}
	}
	snprintf(out, size, "i:%s", req->remote);
}

int
srv_login_attempt_begin(struct srv_req *req, const char *email,
                        struct srv_login_attempt *a)
{
	struct srv *srv = req->srv;
	unsigned limit = srv->config.login_limit, wait;

	snprintf(a->email_key, sizeof(a->email_key), "e:%s", email);
	srv_client_key(req, a->client_key, sizeof(a->client_key));
	wait = srv_limit_take(srv, &srv->login_limits, a->email_key, limit);
	if (wait == 0) {
		wait = srv_limit_take(srv, &srv->login_limits, a->client_key,
		                      limit * SRV_LIMIT_IP_FACTOR);
		if (wait > 0)
			srv_limit_give_back(srv, &srv->login_limits,
			                    a->email_key);
	}
	if (wait > 0)
		return srv_rate_limited(req, wait, "failed logins");
	return 0;
}

void
srv_login_attempt_ok(struct srv_req *req, const struct srv_login_attempt *a)
{
	srv_limit_give_back(req->srv, &req->srv->login_limits, a->email_key);
	srv_limit_give_back(req->srv, &req->srv->login_limits, a->client_key);
}

static void
srv_default_kdf(struct api_kdf *kdf)
{
	kdf->opslimit = 3;
	kdf->memlimit = 64ULL * 1024 * 1024;
}

static const char *const srv_prelogin_fields[] = {"email", NULL};

int
srv_h_prelogin(struct srv_req *req)
{
	struct json_object *out;
	struct api_kdf kdf;
	sqlite3_stmt *st;
	const char *error;
	char *email = NULL;
	int rc;

	if (api_json_only(req->json, srv_prelogin_fields, &error) != 0 ||
	    api_json_get_email(req->json, "email", true, &email, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	st = srv_db_prepare(req->db, "SELECT kdf_ops, kdf_mem, kdf_salt "
	                             "FROM accounts WHERE email = ?1");
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 2) == API_SALT_BYTES) {
		kdf.opslimit = (uint64_t)sqlite3_column_int64(st, 0);
		kdf.memlimit = (uint64_t)sqlite3_column_int64(st, 1);
		memcpy(kdf.salt, sqlite3_column_blob(st, 2), API_SALT_BYTES);
	} else {
		/* Stable and plausible: a salt derived from the address. */
		srv_default_kdf(&kdf);
		crypto_generichash(kdf.salt, API_SALT_BYTES,
		                   (const unsigned char *)email, strlen(email),
		                   req->srv->secret, sizeof(req->srv->secret));
	}
	sqlite3_finalize(st);
	free(email);
	out = json_object_new_object();
	json_object_object_add(out, "kdf", api_kdf_to_json(&kdf));
	srv_reply(req, 200, out);
	return 0;
}

/* The tokens of a session, as answered, and their hashes, as stored. */
struct srv_tokens {
	char access[SRV_TOKEN_SIZE];
	char refresh[SRV_TOKEN_SIZE];
	unsigned char access_hash[32];
	unsigned char refresh_hash[32];
};

static void
srv_tokens_wipe(struct srv_tokens *t)
{
	sodium_memzero(t, sizeof(*t));
}

/* The answer of a login or refresh. */
static struct json_object *
srv_session_json(const char *account_id, struct srv_tokens *t,
                 uint64_t expires_in, uint64_t refresh_expires_in)
{
	struct api_session s;

	memset(&s, 0, sizeof(s));
	snprintf(s.account_id, sizeof(s.account_id), "%s", account_id);
	s.access_token = t->access;
	s.expires_in = expires_in;
	s.refresh_token = t->refresh;
	s.refresh_expires_in = refresh_expires_in;
	return api_session_to_json(&s);
}

/*
 * Stores a session with these tokens (a new one, or replace_session's
 * tokens rotated) and answers with them.
 */
static int SB_WUR
srv_session_reply(struct srv_req *req, const char *account_id,
                  int64_t replace_session, struct srv_tokens *t)
{
	const struct srv_config *c = &req->srv->config;
	sqlite3_stmt *st;

	if (replace_session > 0)
		st = srv_db_prepare(req->db,
		                    "UPDATE sessions SET access_hash = ?2, "
		                    "access_expires = ?3, refresh_hash = ?4, "
		                    "refresh_expires = ?5 WHERE id = ?1");
	else
		st = srv_db_prepare(
		        req->db, "INSERT INTO sessions(account_id, "
		                 "access_hash, access_expires, refresh_hash, "
		                 "refresh_expires) VALUES(?6, ?2, ?3, ?4, "
		                 "?5)");
	if (replace_session > 0)
		sqlite3_bind_int64(st, 1, replace_session);
	sqlite3_bind_blob(st, 2, t->access_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)(srv_now() + c->token_ttl));
	sqlite3_bind_blob(st, 4, t->refresh_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)(srv_now() + c->refresh_ttl));
	if (replace_session <= 0)
		sqlite3_bind_text(st, 6, account_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot store the session");
	srv_reply(
	        req, 200,
	        srv_session_json(account_id, t, c->token_ttl, c->refresh_ttl));
	return 0;
}

static const char *const srv_login_fields[] = {"email", "auth_key", NULL};

int
srv_h_login(struct srv_req *req)
{
	unsigned char key[API_KEY_BYTES], hash[32], stored[32];
	char account_id[API_ACCOUNT_ID_LEN + 1] = "";
	struct srv_login_attempt attempt;
	struct srv_tokens tokens;
	const char *error;
	char *email = NULL;
	sqlite3_stmt *st;
	bool ok = false;
	int ret;

	if (api_json_only(req->json, srv_login_fields, &error) != 0 ||
	    api_json_get_email(req->json, "email", true, &email, &error) != 0 ||
	    api_json_get_fixed(req->json, "auth_key", true, key, sizeof(key),
	                       &error) != 0) {
		free(email);
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	}
	/* Per address, and per client address for many addresses at once. */
	ret = srv_login_attempt_begin(req, email, &attempt);
	if (ret != 0) {
		sodium_memzero(key, sizeof(key));
		free(email);
		return -1;
	}
	/* The same work for a known and an unknown address. */
	memset(stored, 0, sizeof(stored));
	st = srv_db_prepare(req->db, "SELECT id, auth_hash FROM accounts "
	                             "WHERE email = ?1");
	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 1) == 32) {
		snprintf(account_id, sizeof(account_id), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		memcpy(stored, sqlite3_column_blob(st, 1), 32);
	}
	sqlite3_finalize(st);
	free(email);
	crypto_generichash(hash, sizeof(hash), key, sizeof(key), NULL, 0);
	ok = sodium_memcmp(hash, stored, 32) == 0 && account_id[0] != '\0';
	sodium_memzero(key, sizeof(key));
	if (!ok)
		return srv_fail(req, API_ERR_INVALID_CREDENTIALS,
		                "the address or the password is wrong");
	srv_login_attempt_ok(req, &attempt);
	srv_token_new("at_", tokens.access, tokens.access_hash);
	srv_token_new("rt_", tokens.refresh, tokens.refresh_hash);
	ret = srv_session_reply(req, account_id, 0, &tokens);
	srv_tokens_wipe(&tokens);
	return ret;
}

static const char *const srv_refresh_fields[] = {"refresh_token", NULL};

/* One token of a refresh's answer; see srv_refresh_tokens. */
static void
srv_token_derive(const struct srv_req *req, const char *label,
                 const char *presented, char out[SRV_TOKEN_SIZE],
                 unsigned char hash_r[32])
{
	static const char domain[] = "saltmaild refresh v1";
	crypto_generichash_state st;
	unsigned char raw[SRV_TOKEN_BYTES];

	crypto_generichash_init(&st, req->srv->secret, sizeof(req->srv->secret),
	                        sizeof(raw));
	crypto_generichash_update(&st, (const unsigned char *)domain,
	                          sizeof(domain));
	crypto_generichash_update(&st, (const unsigned char *)label,
	                          strlen(label) + 1);
	crypto_generichash_update(&st, (const unsigned char *)presented,
	                          strlen(presented) + 1);
	crypto_generichash_update(&st, (const unsigned char *)req->idem_key,
	                          strlen(req->idem_key) + 1);
	crypto_generichash_final(&st, raw, sizeof(raw));
	memcpy(out, strcmp(label, "access") == 0 ? "at_" : "rt_", 3);
	sodium_bin2hex(out + 3, SRV_TOKEN_SIZE - 3, raw, sizeof(raw));
	srv_token_hash(out, hash_r);
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(&st, sizeof(st));
}

/*
 * The tokens a refresh answers with are derived, under the server secret,
 * from the refresh token presented and the Idempotency-Key, so that a
 * replay recomputes the same answer and the idempotency record keeps no
 * token. The presented token is a secret the database does not hold
 * (only its hash), so the database and its secret alone do not give them.
 */
static void
srv_refresh_tokens(const struct srv_req *req, const char *presented,
                   struct srv_tokens *t)
{
	srv_token_derive(req, "access", presented, t->access, t->access_hash);
	srv_token_derive(req, "refresh", presented, t->refresh,
	                 t->refresh_hash);
}

/* A refresh token seen before: the session it belonged to is revoked. */
static int SB_WUR
srv_refresh_reused(struct srv_req *req, const unsigned char hash[32])
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db,
	        "UPDATE sessions SET revoked = ?2 WHERE revoked = 0 AND id = "
	        "(SELECT session_id FROM old_refresh WHERE hash = ?1)");

	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (sqlite3_changes(req->db) > 0) {
		sb_log_warn("a rotated refresh token was used again; its "
		            "session is revoked");
		req->keep_changes = true;
	}
	return srv_fail(req, API_ERR_UNAUTHORIZED,
	                "the refresh token is unknown or revoked");
}

int
srv_h_refresh(struct srv_req *req)
{
	const char *token = NULL, *error;
	char account_id[API_ACCOUNT_ID_LEN + 1];
	const struct srv_config *c = &req->srv->config;
	struct srv_tokens tokens;
	struct json_object *record;
	unsigned char hash[32];
	sqlite3_stmt *st;
	int64_t session;
	int rc;

	if (api_json_only(req->json, srv_refresh_fields, &error) != 0 ||
	    api_json_get_string(req->json, "refresh_token", true, 1,
	                        API_TOKEN_MAX, &token, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	srv_token_hash(token, hash);
	st = srv_db_prepare(req->db, "SELECT id, account_id, refresh_expires, "
	                             "revoked FROM sessions WHERE "
	                             "refresh_hash = ?1");
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return srv_refresh_reused(req, hash);
	}
	session = sqlite3_column_int64(st, 0);
	snprintf(account_id, sizeof(account_id), "%s",
	         (const char *)sqlite3_column_text(st, 1));
	rc = sqlite3_column_int64(st, 3) != 0 ||
	     (uint64_t)sqlite3_column_int64(st, 2) <= srv_now();
	sqlite3_finalize(st);
	if (rc)
		return srv_fail(req, API_ERR_UNAUTHORIZED,
		                "the refresh token expired or was revoked");
	st = srv_db_prepare(req->db, "INSERT OR IGNORE INTO old_refresh(hash, "
	                             "session_id) VALUES(?1, ?2)");
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, session);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	srv_refresh_tokens(req, token, &tokens);
	rc = srv_session_reply(req, account_id, session, &tokens);
	srv_tokens_wipe(&tokens);
	if (rc != 0)
		return -1;
	/* The record keeps the answer without its tokens. */
	record = json_object_new_object();
	api_json_add_string(record, "account_id", account_id);
	api_json_add_u64(record, "expires_in", c->token_ttl);
	api_json_add_u64(record, "refresh_expires_in", c->refresh_ttl);
	req->idem_record = record;
	return 0;
}

/*
 * Rebuilds a refresh's answer from its idempotency record: the tokens are
 * derived again from the same refresh token and Idempotency-Key (the
 * request is the same: its hash matched).
 */
int
srv_refresh_replay(struct srv_req *req, struct json_object **obj)
{
	struct json_object *account, *expires, *refresh_expires, *answer;
	const char *token = NULL, *error;
	struct srv_tokens tokens;

	if (!json_object_object_get_ex(*obj, "account_id", &account) ||
	    !json_object_object_get_ex(*obj, "expires_in", &expires) ||
	    !json_object_object_get_ex(*obj, "refresh_expires_in",
	                               &refresh_expires) ||
	    !json_object_is_type(account, json_type_string) ||
	    api_json_get_string(req->json, "refresh_token", true, 1,
	                        API_TOKEN_MAX, &token, &error) != 0)
		return -1;
	srv_refresh_tokens(req, token, &tokens);
	answer = srv_session_json(
	        json_object_get_string(account), &tokens,
	        (uint64_t)json_object_get_int64(expires),
	        (uint64_t)json_object_get_int64(refresh_expires));
	srv_tokens_wipe(&tokens);
	json_object_put(*obj);
	*obj = answer;
	return 0;
}

int
srv_h_logout(struct srv_req *req)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "UPDATE sessions SET revoked = ?2 WHERE id = ?1");

	sqlite3_bind_int64(st, 1, req->session_id);
	sqlite3_bind_int64(st, 2, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	srv_reply(req, 204, NULL);
	return 0;
}

/* Signup is open, by invite code, or closed, as configured. */
static int SB_WUR
srv_signup_allowed(struct srv_req *req, const char *invite)
{
	const char *code = req->srv->config.invite_code;

	if (req->srv->config.open_signup)
		return 0;
	if (code != NULL && invite != NULL && strlen(code) == strlen(invite) &&
	    sodium_memcmp(code, invite, strlen(code)) == 0)
		return 0;
	return srv_fail(req, API_ERR_FORBIDDEN,
	                code != NULL ? "signup needs a valid invite code"
	                             : "signup is closed on this server");
}

int
srv_h_signup(struct srv_req *req)
{
	char existing[API_ACCOUNT_ID_LEN + 1];
	struct json_object *out;
	struct api_signup s;
	const char *error;
	int ret;

	if (api_signup_decode(req->json, API_STRICT, &s, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	ret = srv_signup_allowed(req, s.invite);
	if (ret == 0 && srv_account_by_email(req->db, s.email, existing) != 0)
		ret = srv_fail(req, API_ERR_CONFLICT, "the address is taken");
	if (ret == 0 && srv_account_create(req->db, &s, &error) != 0)
		ret = srv_fail(req, API_ERR_CONFLICT, "%s", error);
	if (ret == 0) {
		out = json_object_new_object();
		api_json_add_string(out, "account_id", s.account_id);
		srv_reply(req, 201, out);
	}
	api_signup_free(&s);
	return ret;
}
