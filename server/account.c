/* The account resource, password change and key lookup. */
#include "server-private.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto/crypto.h"

/* Copies a blob column of exactly len bytes; false when it is not. */
static bool
srv_column_fixed(sqlite3_stmt *st, int col, void *out, size_t len)
{
	if ((size_t)sqlite3_column_bytes(st, col) != len)
		return false;
	memcpy(out, sqlite3_column_blob(st, col), len);
	return true;
}

static struct json_object *
srv_limits_json(const struct srv_config *c)
{
	struct json_object *o = json_object_new_object();

	api_json_add_u64(o, "max_blob", c->max_blob);
	api_json_add_u64(o, "max_batch", API_MAX_BATCH);
	api_json_add_u64(o, "max_page", API_MAX_PAGE);
	return o;
}

int
srv_h_account(struct srv_req *req)
{
	struct json_object *out, *addrs, *quota;
	char fp[SB_FINGERPRINT_SIZE];
	struct api_keys keys;
	struct api_kdf kdf;
	sqlite3_stmt *st;
	bool ok;

	st = srv_db_prepare(req->db,
	                    "SELECT email, quota_used, kdf_ops, kdf_mem, "
	                    "kdf_salt, enc_pk, sign_pk, wrapped_account_key, "
	                    "wrapped_enc_sk, wrapped_sign_seed FROM accounts "
	                    "WHERE id = ?1");
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return srv_fail(req, API_ERR_UNAUTHORIZED, "no such account");
	}
	kdf.opslimit = (uint64_t)sqlite3_column_int64(st, 2);
	kdf.memlimit = (uint64_t)sqlite3_column_int64(st, 3);
	ok = srv_column_fixed(st, 4, kdf.salt, API_SALT_BYTES) &&
	     srv_column_fixed(st, 5, keys.enc_pk, API_KEY_BYTES) &&
	     srv_column_fixed(st, 6, keys.sign_pk, API_KEY_BYTES) &&
	     srv_column_fixed(st, 7, keys.wrapped_account_key,
	                      API_WRAPPED_KEY_BYTES) &&
	     srv_column_fixed(st, 8, keys.wrapped_enc_sk,
	                      API_WRAPPED_KEY_BYTES) &&
	     srv_column_fixed(st, 9, keys.wrapped_sign_seed,
	                      API_WRAPPED_KEY_BYTES);
	if (!ok) {
		sqlite3_finalize(st);
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "the account's keys are damaged");
	}
	out = json_object_new_object();
	api_json_add_string(out, "account_id", req->account_id);
	addrs = json_object_new_array();
	json_object_array_add(
	        addrs, json_object_new_string(
	                       (const char *)sqlite3_column_text(st, 0)));
	json_object_object_add(out, "addresses", addrs);
	quota = json_object_new_object();
	api_json_add_u64(quota, "used", (uint64_t)sqlite3_column_int64(st, 1));
	api_json_add_u64(quota, "limit", req->srv->config.quota);
	json_object_object_add(out, "quota", quota);
	sqlite3_finalize(st);
	json_object_object_add(out, "limits",
	                       srv_limits_json(&req->srv->config));
	json_object_object_add(out, "kdf", api_kdf_to_json(&kdf));
	sb_fingerprint(keys.enc_pk, keys.sign_pk, fp);
	json_object_object_add(out, "keys", api_keys_to_json(&keys, fp));
	srv_reply(req, 200, out);
	return 0;
}

static const char *const srv_password_fields[] = {
        "current_auth_key", "auth_key", "kdf", "wrapped_account_key", NULL};

/*
 * Checks the current auth key against the account's, in constant time,
 * counted as a login attempt: a stolen access token alone cannot change
 * the password. 0, or -1 with forbidden or rate_limited.
 */
static int SB_WUR
srv_password_check_current(struct srv_req *req, const unsigned char *key)
{
	unsigned char hash[32], stored[32];
	struct srv_login_attempt attempt;
	char *email = NULL;
	sqlite3_stmt *st;
	bool ok;

	memset(stored, 0, sizeof(stored));
	st = srv_db_prepare(req->db, "SELECT email, auth_hash FROM accounts "
	                             "WHERE id = ?1");
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		email = srv_column_dup(st, 0);
		(void)srv_column_fixed(st, 1, stored, sizeof(stored));
	}
	sqlite3_finalize(st);
	if (email == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (srv_login_attempt_begin(req, email, &attempt) != 0) {
		free(email);
		return -1;
	}
	free(email);
	crypto_generichash(hash, sizeof(hash), key, API_KEY_BYTES, NULL, 0);
	ok = sodium_memcmp(hash, stored, sizeof(hash)) == 0;
	sodium_memzero(hash, sizeof(hash));
	if (!ok)
		return srv_fail(req, API_ERR_FORBIDDEN,
		                "field 'current_auth_key' is not the account's "
		                "auth key");
	srv_login_attempt_ok(req, &attempt);
	return 0;
}

int
srv_h_password(struct srv_req *req)
{
	unsigned char current[API_KEY_BYTES], key[API_KEY_BYTES], hash[32];
	unsigned char wrapped[API_WRAPPED_KEY_BYTES];
	struct json_object *kdf_obj;
	struct api_kdf kdf;
	const char *error;
	sqlite3_stmt *st;
	int rc;

	if (api_json_only(req->json, srv_password_fields, &error) != 0 ||
	    api_json_get_fixed(req->json, "current_auth_key", true, current,
	                       sizeof(current), &error) != 0 ||
	    api_json_get_fixed(req->json, "auth_key", true, key, sizeof(key),
	                       &error) != 0 ||
	    api_json_get_object(req->json, "kdf", true, &kdf_obj, &error) !=
	            0 ||
	    api_kdf_decode(kdf_obj, API_STRICT, &kdf, &error) != 0 ||
	    api_json_get_fixed(req->json, "wrapped_account_key", true, wrapped,
	                       sizeof(wrapped), &error) != 0) {
		sodium_memzero(current, sizeof(current));
		sodium_memzero(key, sizeof(key));
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	}
	if (memcmp(wrapped, "SBWK\x01\x01", 6) != 0) {
		sodium_memzero(current, sizeof(current));
		sodium_memzero(key, sizeof(key));
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "field 'wrapped_account_key' is not a wrapped "
		                "account key");
	}
	rc = srv_password_check_current(req, current);
	sodium_memzero(current, sizeof(current));
	crypto_generichash(hash, sizeof(hash), key, sizeof(key), NULL, 0);
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		return -1;
	st = srv_db_prepare(req->db, "UPDATE accounts SET auth_hash = ?2, "
	                             "kdf_ops = ?3, kdf_mem = ?4, "
	                             "kdf_salt = ?5, wrapped_account_key = ?6 "
	                             "WHERE id = ?1");
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)kdf.opslimit);
	sqlite3_bind_int64(st, 4, (int64_t)kdf.memlimit);
	sqlite3_bind_blob(st, 5, kdf.salt, API_SALT_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 6, wrapped, sizeof(wrapped), SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	/* Every other session of the account ends. */
	st = srv_db_prepare(req->db, "UPDATE sessions SET revoked = ?3 WHERE "
	                             "account_id = ?1 AND id != ?2 AND "
	                             "revoked = 0");
	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, req->session_id);
	sqlite3_bind_int64(st, 3, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	srv_reply(req, 204, NULL);
	return 0;
}

int
srv_h_keys(struct srv_req *req)
{
	const char *email = srv_query(req, "email");
	struct api_key_lookup k;
	char fp[SB_FINGERPRINT_SIZE];
	sqlite3_stmt *st;
	char *lower, limit_key[API_ACCOUNT_ID_LEN + 3];
	unsigned wait;
	size_t i;
	bool ok;

	if (email == NULL || !api_is_email(email, strlen(email)))
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'email' must be an "
		                "address");
	/* Lookups tell who is on the service: limited per account. */
	snprintf(limit_key, sizeof(limit_key), "k:%s", req->account_id);
	wait = srv_limit_take(req->srv, &req->srv->lookup_limits, limit_key,
	                      req->srv->config.lookup_limit);
	if (wait > 0)
		return srv_rate_limited(req, wait, "key lookups");
	lower = sb_strdup(email);
	for (i = 0; lower[i] != '\0'; i++) {
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	}
	memset(&k, 0, sizeof(k));
	k.email = lower;
	st = srv_db_prepare(req->db, "SELECT enc_pk, sign_pk FROM accounts "
	                             "WHERE email = ?1");
	sqlite3_bind_text(st, 1, lower, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		ok = srv_column_fixed(st, 0, k.enc_pk, API_KEY_BYTES) &&
		     srv_column_fixed(st, 1, k.sign_pk, API_KEY_BYTES);
		k.on_service = ok;
		if (ok) {
			sb_fingerprint(k.enc_pk, k.sign_pk, fp);
			k.fingerprint = fp;
		}
	}
	sqlite3_finalize(st);
	srv_reply(req, 200, api_key_lookup_to_json(&k));
	free(lower);
	return 0;
}
