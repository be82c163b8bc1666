/* The account side of the model: KDF parameters, keys, signup, sessions. */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "api-private.h"

/* What a server may ask of a client's Argon2id; see docs/crypto.md. */
#define API_KDF_MIN_OPS 3
#define API_KDF_MAX_OPS 10
#define API_KDF_MIN_MEM (64ULL * 1024 * 1024)
#define API_KDF_MAX_MEM (1024ULL * 1024 * 1024)

static const char *const api_kdf_fields[] = {"alg", "opslimit", "memlimit",
                                             "salt", NULL};

int
api_kdf_decode(struct json_object *obj, enum api_mode mode,
               struct api_kdf *kdf_r, const char **error_r)
{
	const char *alg = NULL;

	if ((mode == API_STRICT &&
	     api_json_only(obj, api_kdf_fields, error_r) != 0) ||
	    api_json_get_string(obj, "alg", true, 1, 32, &alg, error_r) != 0)
		return -1;
	if (strcmp(alg, "argon2id13") != 0) {
		*error_r = "field 'alg' must be argon2id13";
		return -1;
	}
	return api_json_get_u64(obj, "opslimit", true, API_KDF_MIN_OPS,
	                        API_KDF_MAX_OPS, &kdf_r->opslimit,
	                        error_r) != 0 ||
	                       api_json_get_u64(
	                               obj, "memlimit", true, API_KDF_MIN_MEM,
	                               API_KDF_MAX_MEM, &kdf_r->memlimit,
	                               error_r) != 0 ||
	                       api_json_get_fixed(obj, "salt", true,
	                                          kdf_r->salt, API_SALT_BYTES,
	                                          error_r) != 0
	               ? -1
	               : 0;
}

struct json_object *
api_kdf_to_json(const struct api_kdf *kdf)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "alg", "argon2id13");
	api_json_add_u64(o, "opslimit", kdf->opslimit);
	api_json_add_u64(o, "memlimit", kdf->memlimit);
	api_json_add_bytes(o, "salt", kdf->salt, API_SALT_BYTES);
	return o;
}

/* A wrapped key must start "SBWK", version 1, and name its kind. */
static int
api_check_wrapped(const unsigned char *w, unsigned char kind, const char *name,
                  const char **error_r)
{
	if (memcmp(w, "SBWK", 4) != 0 || w[4] != 1 || w[5] != kind) {
		*error_r = api_errorf("field '%s' is not a wrapped key of "
		                      "kind %u",
		                      name, kind);
		return -1;
	}
	return 0;
}

static const char *const api_keys_fields[] = {"enc_pk",
                                              "sign_pk",
                                              "fingerprint",
                                              "wrapped_account_key",
                                              "wrapped_enc_sk",
                                              "wrapped_sign_seed",
                                              NULL};

int
api_keys_decode(struct json_object *obj, enum api_mode mode, struct api_keys *k,
                const char **error_r)
{
	const char *fp = NULL;

	if (mode == API_STRICT &&
	    api_json_only(obj, api_keys_fields, error_r) != 0)
		return -1;
	if (api_json_get_fixed(obj, "enc_pk", true, k->enc_pk, API_KEY_BYTES,
	                       error_r) != 0 ||
	    api_json_get_fixed(obj, "sign_pk", true, k->sign_pk, API_KEY_BYTES,
	                       error_r) != 0 ||
	    api_json_get_string(obj, "fingerprint", false, 1, 64, &fp,
	                        error_r) != 0 ||
	    api_json_get_fixed(obj, "wrapped_account_key", true,
	                       k->wrapped_account_key, API_WRAPPED_KEY_BYTES,
	                       error_r) != 0 ||
	    api_json_get_fixed(obj, "wrapped_enc_sk", true, k->wrapped_enc_sk,
	                       API_WRAPPED_KEY_BYTES, error_r) != 0 ||
	    api_json_get_fixed(obj, "wrapped_sign_seed", true,
	                       k->wrapped_sign_seed, API_WRAPPED_KEY_BYTES,
	                       error_r) != 0)
		return -1;
	return api_check_wrapped(k->wrapped_account_key, 1,
	                         "wrapped_account_key", error_r) != 0 ||
	                       api_check_wrapped(k->wrapped_enc_sk, 2,
	                                         "wrapped_enc_sk",
	                                         error_r) != 0 ||
	                       api_check_wrapped(k->wrapped_sign_seed, 3,
	                                         "wrapped_sign_seed",
	                                         error_r) != 0
	               ? -1
	               : 0;
}

struct json_object *
api_keys_to_json(const struct api_keys *k, const char *fingerprint)
{
	struct json_object *o = json_object_new_object();

	api_json_add_bytes(o, "enc_pk", k->enc_pk, API_KEY_BYTES);
	api_json_add_bytes(o, "sign_pk", k->sign_pk, API_KEY_BYTES);
	if (fingerprint != NULL)
		api_json_add_string(o, "fingerprint", fingerprint);
	api_json_add_bytes(o, "wrapped_account_key", k->wrapped_account_key,
	                   API_WRAPPED_KEY_BYTES);
	api_json_add_bytes(o, "wrapped_enc_sk", k->wrapped_enc_sk,
	                   API_WRAPPED_KEY_BYTES);
	api_json_add_bytes(o, "wrapped_sign_seed", k->wrapped_sign_seed,
	                   API_WRAPPED_KEY_BYTES);
	return o;
}

/* An account id: 32 lower-case hex digits. */
static bool
api_is_account_id(const char *s)
{
	size_t i;

	for (i = 0; i < API_ACCOUNT_ID_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return s[i] == '\0';
}

static int
api_get_account_id(struct json_object *obj, char out[API_ACCOUNT_ID_LEN + 1],
                   const char **error_r)
{
	const char *id = NULL;

	if (api_json_get_string(obj, "account_id", true, API_ACCOUNT_ID_LEN,
	                        API_ACCOUNT_ID_LEN, &id, error_r) != 0)
		return -1;
	if (!api_is_account_id(id)) {
		*error_r = "field 'account_id' must be 32 lower-case hex "
		           "digits";
		return -1;
	}
	memcpy(out, id, API_ACCOUNT_ID_LEN + 1);
	return 0;
}

static const char *const api_signup_fields[] = {
        "email", "account_id", "auth_key", "kdf", "keys", "invite", NULL};

int
api_signup_decode(struct json_object *obj, enum api_mode mode,
                  struct api_signup *s, const char **error_r)
{
	struct json_object *kdf, *keys;
	const char *invite = NULL;

	memset(s, 0, sizeof(*s));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_signup_fields, error_r) != 0) ||
	    api_json_get_email(obj, "email", true, &s->email, error_r) != 0 ||
	    api_get_account_id(obj, s->account_id, error_r) != 0 ||
	    api_json_get_fixed(obj, "auth_key", true, s->auth_key,
	                       API_KEY_BYTES, error_r) != 0 ||
	    api_json_get_object(obj, "kdf", true, &kdf, error_r) != 0 ||
	    api_kdf_decode(kdf, mode, &s->kdf, error_r) != 0 ||
	    api_json_get_object(obj, "keys", true, &keys, error_r) != 0 ||
	    api_keys_decode(keys, mode, &s->keys, error_r) != 0 ||
	    api_json_get_string(obj, "invite", false, 0, 128, &invite,
	                        error_r) != 0) {
		api_signup_free(s);
		return -1;
	}
	s->invite = invite != NULL ? sb_strdup(invite) : NULL;
	return 0;
}

struct json_object *
api_signup_to_json(const struct api_signup *s)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "email", s->email);
	api_json_add_string(o, "account_id", s->account_id);
	api_json_add_bytes(o, "auth_key", s->auth_key, API_KEY_BYTES);
	json_object_object_add(o, "kdf", api_kdf_to_json(&s->kdf));
	json_object_object_add(o, "keys", api_keys_to_json(&s->keys, NULL));
	if (s->invite != NULL)
		api_json_add_string(o, "invite", s->invite);
	return o;
}

void
api_signup_free(struct api_signup *s)
{
	free(s->email);
	free(s->invite);
	/* The auth key is a secret: wipe it with the rest. */
	explicit_bzero(s, sizeof(*s));
}

static const char *const api_session_fields[] = {
        "account_id",    "access_token",       "expires_in",
        "refresh_token", "refresh_expires_in", NULL};

int
api_session_decode(struct json_object *obj, enum api_mode mode,
                   struct api_session *s, const char **error_r)
{
	const char *access = NULL, *refresh = NULL;

	memset(s, 0, sizeof(*s));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_session_fields, error_r) != 0) ||
	    api_get_account_id(obj, s->account_id, error_r) != 0 ||
	    api_json_get_string(obj, "access_token", true, 16, API_TOKEN_MAX,
	                        &access, error_r) != 0 ||
	    api_json_get_u64(obj, "expires_in", true, 1, 86400 * 366,
	                     &s->expires_in, error_r) != 0 ||
	    api_json_get_string(obj, "refresh_token", true, 16, API_TOKEN_MAX,
	                        &refresh, error_r) != 0 ||
	    api_json_get_u64(obj, "refresh_expires_in", true, 1, 86400 * 3660,
	                     &s->refresh_expires_in, error_r) != 0)
		return -1;
	s->access_token = sb_strdup(access);
	s->refresh_token = sb_strdup(refresh);
	/* The tokens are secrets: leave no copy in the JSON object. */
	explicit_bzero((char *)access, strlen(access));
	explicit_bzero((char *)refresh, strlen(refresh));
	return 0;
}

struct json_object *
api_session_to_json(const struct api_session *s)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "account_id", s->account_id);
	api_json_add_string(o, "access_token", s->access_token);
	api_json_add_u64(o, "expires_in", s->expires_in);
	api_json_add_string(o, "refresh_token", s->refresh_token);
	api_json_add_u64(o, "refresh_expires_in", s->refresh_expires_in);
	return o;
}

static void
api_free_secret_string(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
api_session_free(struct api_session *s)
{
	api_free_secret_string(&s->access_token);
	api_free_secret_string(&s->refresh_token);
}

static const char *const api_lookup_fields[] = {
        "email", "on_service", "enc_pk", "sign_pk", "fingerprint", NULL};

int
api_key_lookup_decode(struct json_object *obj, enum api_mode mode,
                      struct api_key_lookup *k, const char **error_r)
{
	const char *fp = NULL;

	memset(k, 0, sizeof(*k));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_lookup_fields, error_r) != 0) ||
	    api_json_get_email(obj, "email", true, &k->email, error_r) != 0 ||
	    api_json_get_bool(obj, "on_service", true, &k->on_service,
	                      error_r) != 0)
		goto fail;
	if (!k->on_service)
		return 0;
	if (api_json_get_fixed(obj, "enc_pk", true, k->enc_pk, API_KEY_BYTES,
	                       error_r) != 0 ||
	    api_json_get_fixed(obj, "sign_pk", true, k->sign_pk, API_KEY_BYTES,
	                       error_r) != 0 ||
	    api_json_get_string(obj, "fingerprint", true, 1, 64, &fp,
	                        error_r) != 0)
		goto fail;
	k->fingerprint = sb_strdup(fp);
	return 0;
fail:
	api_key_lookup_free(k);
	return -1;
}

struct json_object *
api_key_lookup_to_json(const struct api_key_lookup *k)
{
	struct json_object *o = json_object_new_object();

	api_json_add_string(o, "email", k->email);
	json_object_object_add(o, "on_service",
	                       json_object_new_boolean(k->on_service));
	if (k->on_service) {
		api_json_add_bytes(o, "enc_pk", k->enc_pk, API_KEY_BYTES);
		api_json_add_bytes(o, "sign_pk", k->sign_pk, API_KEY_BYTES);
		api_json_add_string(o, "fingerprint", k->fingerprint);
	}
	return o;
}

void
api_key_lookup_free(struct api_key_lookup *k)
{
	free(k->email);
	free(k->fingerprint);
	k->email = NULL;
	k->fingerprint = NULL;
}

static const char *const api_account_fields[] = {
        "account_id", "addresses", "quota", "limits", "kdf", "keys", NULL};
static const char *const api_quota_fields[] = {"used", "limit", NULL};
static const char *const api_limits_fields[] = {"max_blob", "max_batch",
                                                "max_page", NULL};

/* The "quota" and "limits" objects of the account. */
static int SB_WUR
api_account_numbers(struct json_object *obj, enum api_mode mode,
                    struct api_account *a, const char **error_r)
{
	struct json_object *quota, *limits;

	return api_json_get_object(obj, "quota", true, &quota, error_r) != 0 ||
	                       (mode == API_STRICT &&
	                        api_json_only(quota, api_quota_fields,
	                                      error_r) != 0) ||
	                       api_json_get_u64(quota, "used", true, 0,
	                                        UINT64_C(1) << 60,
	                                        &a->quota_used, error_r) != 0 ||
	                       api_json_get_u64(quota, "limit", true, 0,
	                                        UINT64_C(1) << 60,
	                                        &a->quota_limit,
	                                        error_r) != 0 ||
	                       api_json_get_object(obj, "limits", true, &limits,
	                                           error_r) != 0 ||
	                       (mode == API_STRICT &&
	                        api_json_only(limits, api_limits_fields,
	                                      error_r) != 0) ||
	                       api_json_get_u64(limits, "max_blob", true, 1,
	                                        UINT64_C(1) << 40, &a->max_blob,
	                                        error_r) != 0 ||
	                       api_json_get_u64(limits, "max_batch", true, 1,
	                                        API_MAX_BATCH, &a->max_batch,
	                                        error_r) != 0 ||
	                       api_json_get_u64(limits, "max_page", true, 1,
	                                        API_MAX_PAGE, &a->max_page,
	                                        error_r) != 0
	               ? -1
	               : 0;
}

int
api_account_decode(struct json_object *obj, enum api_mode mode,
                   struct api_account *a, const char **error_r)
{
	struct json_object *kdf, *keys;
	const char *fp = NULL;

	memset(a, 0, sizeof(*a));
	if ((mode == API_STRICT &&
	     api_json_only(obj, api_account_fields, error_r) != 0) ||
	    api_get_account_id(obj, a->account_id, error_r) != 0 ||
	    api_json_get_strings(obj, "addresses", true, API_MAX_ADDRESSES,
	                         api_check_email, &a->addresses,
	                         error_r) != 0 ||
	    api_account_numbers(obj, mode, a, error_r) != 0 ||
	    api_json_get_object(obj, "kdf", true, &kdf, error_r) != 0 ||
	    api_kdf_decode(kdf, mode, &a->kdf, error_r) != 0 ||
	    api_json_get_object(obj, "keys", true, &keys, error_r) != 0 ||
	    api_keys_decode(keys, mode, &a->keys, error_r) != 0 ||
	    api_json_get_string(keys, "fingerprint", true, 1, 64, &fp,
	                        error_r) != 0)
		goto fail;
	if (a->addresses.count == 0) {
		*error_r = "field 'addresses' must not be empty";
		goto fail;
	}
	a->fingerprint = sb_strdup(fp);
	return 0;
fail:
	api_account_free(a);
	return -1;
}

struct json_object *
api_account_to_json(const struct api_account *a)
{
	struct json_object *o = json_object_new_object();
	struct json_object *quota = json_object_new_object();
	struct json_object *limits = json_object_new_object();

	api_json_add_string(o, "account_id", a->account_id);
	json_object_object_add(o, "addresses",
	                       api_strings_to_json(&a->addresses));
	api_json_add_u64(quota, "used", a->quota_used);
	api_json_add_u64(quota, "limit", a->quota_limit);
	json_object_object_add(o, "quota", quota);
	api_json_add_u64(limits, "max_blob", a->max_blob);
	api_json_add_u64(limits, "max_batch", a->max_batch);
	api_json_add_u64(limits, "max_page", a->max_page);
	json_object_object_add(o, "limits", limits);
	json_object_object_add(o, "kdf", api_kdf_to_json(&a->kdf));
	json_object_object_add(o, "keys",
	                       api_keys_to_json(&a->keys, a->fingerprint));
	return o;
}

void
api_account_free(struct api_account *a)
{
	api_strings_free(&a->addresses);
	free(a->fingerprint);
	a->fingerprint = NULL;
}
