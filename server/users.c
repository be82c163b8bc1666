/* saltmaild user add: an account made here exactly as a client would. */
#include "server-private.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "crypto/crypto.h"

/* Fills the keys part of a signup from freshly made account keys. */
static int SB_WUR
srv_user_keys(const char *password, size_t password_len, struct api_signup *s,
              const char **error_r)
{
	struct sb_password_keys *pw = NULL;
	struct sb_account_keys *keys = NULL;
	struct sb_wrapped_account w;
	struct sb_kdf_params params;

	sb_kdf_params_new(&params);
	if (sb_password_derive(password, password_len, &params, &pw, error_r) !=
	    0)
		return -1;
	if (sb_account_keys_generate(&keys) != 0) {
		sb_secure_free(&pw);
		*error_r = "cannot make the account keys";
		return -1;
	}
	sb_account_keys_wrap(keys, pw->kek, s->account_id, &w);
	memcpy(s->auth_key, pw->auth_key, API_KEY_BYTES);
	s->kdf.opslimit = params.opslimit;
	s->kdf.memlimit = params.memlimit;
	memcpy(s->kdf.salt, params.salt, API_SALT_BYTES);
	memcpy(s->keys.enc_pk, w.enc_pk, API_KEY_BYTES);
	memcpy(s->keys.sign_pk, w.sign_pk, API_KEY_BYTES);
	memcpy(s->keys.wrapped_account_key, w.account_key,
	       API_WRAPPED_KEY_BYTES);
	memcpy(s->keys.wrapped_enc_sk, w.enc_sk, API_WRAPPED_KEY_BYTES);
	memcpy(s->keys.wrapped_sign_seed, w.sign_seed, API_WRAPPED_KEY_BYTES);
	sb_secure_free(&pw);
	sb_secure_free(&keys);
	return 0;
}

int
srv_user_add(const char *data_dir, const char *email, const char *password,
             size_t password_len, const char **error_r)
{
	char path[4096], existing[API_ACCOUNT_ID_LEN + 1];
	unsigned char raw[16];
	struct api_signup s;
	sqlite3 *db = NULL;
	size_t i;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	if (!api_is_email(email, strlen(email))) {
		*error_r = "that is not an address";
		return -1;
	}
	s.email = sb_strdup(email);
	for (i = 0; s.email[i] != '\0'; i++) {
		if (s.email[i] >= 'A' && s.email[i] <= 'Z')
			s.email[i] = (char)(s.email[i] - 'A' + 'a');
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(s.account_id, sizeof(s.account_id), raw, sizeof(raw));
	snprintf(path, sizeof(path), "%s/saltmaild.db", data_dir);
	if (srv_init_data(data_dir, error_r) != 0 ||
	    srv_db_open(path, &db, error_r) != 0 ||
	    srv_user_keys(password, password_len, &s, error_r) != 0)
		goto out;
	if (srv_db_exec(db, "BEGIN IMMEDIATE") != 0) {
		*error_r = "the database is busy";
		goto out;
	}
	if (srv_account_by_email(db, s.email, existing) != 0) {
		*error_r = "the address is taken";
	} else if (srv_account_create(db, &s, error_r) == 0 &&
	           srv_db_exec(db, "COMMIT") == 0) {
		ret = 0;
		goto out;
	}
	(void)!srv_db_exec(db, "ROLLBACK");
out:
	sqlite3_close(db);
	api_signup_free(&s);
	return ret;
}
