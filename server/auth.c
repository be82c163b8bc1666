/*
 * Authentication and the account: prelogin, login, refresh, logout,
 * signup, the account resource, password change, key lookup.
 */
#include "server-private.h"

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

/* Failed logins of one address (or client address) in the window. */
struct srv_limit {
	char key[API_EMAIL_MAX + 8];
	uint64_t window_start;
	unsigned failures;
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
	if (rc != SQLITE_ROW || sqlite3_column_int(st, 3) != 0) {
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

/* The rate-limit table holds at most this many keys. */
#define SRV_LIMIT_MAX 4096

/* Drops entries whose window ended; the table is full when none did. */
static void
srv_limit_prune(struct srv *srv, uint64_t now)
{
	size_t i = 0;

	while (i < srv->n_limits) {
		if (now >= srv->limits[i].window_start + SRV_LIMIT_WINDOW)
			srv->limits[i] = srv->limits[--srv->n_limits];
		else
			i++;
	}
}

/*
 * Counts a failed login against key (with fail true), and returns the
 * seconds to wait when the key reached its limit, or 0. The table is
 * bounded: when it is full of live entries, a new key evicts the entry
 * nearest the end of its window.
 */
static unsigned
srv_limit_check(struct srv *srv, const char *key, unsigned limit, bool fail)
{
	struct srv_limit *l = NULL;
	uint64_t now = srv_now();
	unsigned wait = 0;
	size_t i;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->n_limits && l == NULL; i++) {
		if (strcmp(srv->limits[i].key, key) == 0)
			l = &srv->limits[i];
	}
	if (l != NULL && now >= l->window_start + SRV_LIMIT_WINDOW) {
		l->window_start = now;
		l->failures = 0;
	}
	if (l == NULL && fail) {
		if (srv->n_limits == SRV_LIMIT_MAX)
			srv_limit_prune(srv, now);
		if (srv->n_limits == SRV_LIMIT_MAX) {
			size_t oldest = 0;

			for (i = 1; i < srv->n_limits; i++) {
				if (srv->limits[i].window_start <
				    srv->limits[oldest].window_start)
					oldest = i;
			}
			srv->limits[oldest] = srv->limits[--srv->n_limits];
		}
		if (srv->limits == NULL)
			srv->limits = sb_calloc(SRV_LIMIT_MAX,
			                        sizeof(*srv->limits));
		l = &srv->limits[srv->n_limits++];
		snprintf(l->key, sizeof(l->key), "%s", key);
		l->window_start = now;
		l->failures = 0;
	}
	if (l != NULL && fail)
		l->failures++;
	if (l != NULL && l->failures >= limit) {
		wait = (unsigned)(l->window_start + SRV_LIMIT_WINDOW - now);
		if (wait == 0)
			wait = 1;
	}
	pthread_mutex_unlock(&srv->lock);
	return wait;
}

static int
srv_rate_limited(struct srv_req *req, unsigned wait)
{
	req->retry_after = wait > 0 ? wait : 1;
	return srv_fail(req, API_ERR_RATE_LIMITED,
	                "too many failed logins; retry in %u seconds",
	                req->retry_after);
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

/* Makes a session for the account and answers with its tokens. */
static int
srv_session_reply(struct srv_req *req, const char *account_id,
                  int64_t replace_session)
{
	char access[SRV_TOKEN_SIZE], refresh[SRV_TOKEN_SIZE];
	unsigned char ahash[32], rhash[32];
	struct api_session s;
	const struct srv_config *c = &req->srv->config;
	sqlite3_stmt *st;

	srv_token_new("at_", access, ahash);
	srv_token_new("rt_", refresh, rhash);
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
	sqlite3_bind_blob(st, 2, ahash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)(srv_now() + c->token_ttl));
	sqlite3_bind_blob(st, 4, rhash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)(srv_now() + c->refresh_ttl));
	if (replace_session <= 0)
		sqlite3_bind_text(st, 6, account_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot store the session");
	memset(&s, 0, sizeof(s));
	snprintf(s.account_id, sizeof(s.account_id), "%s", account_id);
	s.access_token = access;
	s.expires_in = c->token_ttl;
	s.refresh_token = refresh;
	s.refresh_expires_in = c->refresh_ttl;
	srv_reply(req, 200, api_session_to_json(&s));
	sodium_memzero(access, sizeof(access));
	sodium_memzero(refresh, sizeof(refresh));
	return 0;
}

static const char *const srv_login_fields[] = {"email", "auth_key", NULL};

int
srv_h_login(struct srv_req *req)
{
	unsigned char key[API_KEY_BYTES], hash[32], stored[32];
	char account_id[API_ACCOUNT_ID_LEN + 1] = "", limit_key[400];
	char ip_key[80];
	const struct srv_config *c = &req->srv->config;
	const char *error;
	char *email = NULL;
	sqlite3_stmt *st;
	unsigned wait;
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
	snprintf(limit_key, sizeof(limit_key), "e:%s", email);
	snprintf(ip_key, sizeof(ip_key), "i:%s", req->remote);
	wait = srv_limit_check(req->srv, limit_key, c->login_limit, false);
	if (wait == 0)
		wait = srv_limit_check(req->srv, ip_key,
		                       c->login_limit * SRV_LIMIT_IP_FACTOR,
		                       false);
	if (wait > 0) {
		free(email);
		return srv_rate_limited(req, wait);
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
	crypto_generichash(hash, sizeof(hash), key, sizeof(key), NULL, 0);
	ok = sodium_memcmp(hash, stored, 32) == 0 && account_id[0] != '\0';
	sodium_memzero(key, sizeof(key));
	if (!ok) {
		(void)srv_limit_check(req->srv, limit_key, c->login_limit,
		                      true);
		(void)srv_limit_check(req->srv, ip_key,
		                      c->login_limit * SRV_LIMIT_IP_FACTOR, true);
		free(email);
		return srv_fail(req, API_ERR_INVALID_CREDENTIALS,
		                "the address or the password is wrong");
	}
	free(email);
	ret = srv_session_reply(req, account_id, 0);
	return ret;
}

static const char *const srv_refresh_fields[] = {"refresh_token", NULL};

/* A refresh token seen before: the session it belonged to is revoked. */
static int
srv_refresh_reused(struct srv_req *req, const unsigned char hash[32])
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db,
	        "UPDATE sessions SET revoked = 1 WHERE id = "
	        "(SELECT session_id FROM old_refresh WHERE hash = ?1)");

	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
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
	rc = sqlite3_column_int(st, 3) != 0 ||
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
	return srv_session_reply(req, account_id, session);
}

int
srv_h_logout(struct srv_req *req)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "UPDATE sessions SET revoked = 1 WHERE id = ?1");

	sqlite3_bind_int64(st, 1, req->session_id);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	srv_reply(req, 204, NULL);
	return 0;
}

/* Signup is open, by invite code, or closed, as configured. */
static int
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
