/*
 * The signup of an account as a client makes it (docs/api.md, POST
 * /api/v1/signup; docs/crypto.md, Keys): the keys are made on this
 * machine and only their wrapped form and the auth key are sent.
 * saltmaild's `user add` (server/users.c) makes the same request body on
 * the server's side of the arrows, and the client tests theirs
 * (tests/client/helpers.c): api/ and crypto/ do not know each other, so
 * each side that knows both puts the two together.
 */
#include "bridge-private.h"

#include <json-c/json.h>
#include <sodium.h>
#include <string.h>

#include "api/client.h"
#include "common/alloc.h"
#include "crypto/crypto.h"

/* The keys part of a signup, made from the password. */
static int SB_WUR
signup_keys(const char *password, size_t password_len, struct api_signup *s,
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
bridge_signup(const char *api_url, const char *ca_file, const char *email,
              const char *password, size_t password_len, const char **error_r)
{
	struct api_client_options o;
	struct api_client *client = NULL;
	struct json_object *body = NULL;
	char message[BRIDGE_MESSAGE_MAX + 4];
	unsigned char raw[API_ACCOUNT_ID_LEN / 2];
	struct api_signup s;
	struct api_reply r;
	int ret = -1;

	memset(&s, 0, sizeof(s));
	api_reply_init(&r);
	s.email = sb_strdup(email);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(s.account_id, sizeof(s.account_id), raw, sizeof(raw));
	api_client_options_default(&o);
	o.base_url = api_url;
	o.ca_file = ca_file;
	o.max_attempts = 3;
	o.backoff_max_ms = 4000;
	if (signup_keys(password, password_len, &s, error_r) != 0 ||
	    api_client_new(&o, &client, error_r) != 0)
		goto out;
	body = api_signup_to_json(&s);
	if (api_call(client, "POST", "/api/v1/signup", body, &r) == 0) {
		ret = 1;
	} else if (r.error == API_ERR_CONFLICT) {
		ret = 0;
	} else {
		bridge_text_clean(r.message, message);
		*error_r = bridge_errorf(
		        "the signup of %s at %s failed: %u %s: %s", email,
		        api_url, r.status,
		        api_error_name(r.error) != NULL
		                ? api_error_name(r.error)
		                : "",
		        message);
	}
out:
	/* The auth key is as good as the password to the service. */
	if (body != NULL) {
		bridge_json_wipe(body, "auth_key");
		json_object_put(body);
	}
	api_signup_free(&s);
	api_reply_clear(&r);
	api_client_free(&client);
	return ret;
}
