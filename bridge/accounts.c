/*
 * Logging an account in and out: the password keys, the service's
 * session, the account's keys, and what the vault and the replica keep
 * of them.
 */
#include "bridge-private.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/client.h"
#include "common/alloc.h"
#include "common/log.h"
#include "store/store.h"

#define BRIDGE_URL_MAX 2048

struct login {
	const struct bridge_login_options *o;
	struct bridge_vault vault;
	bool known; /* the vault already holds this address */
	char known_id[API_ACCOUNT_ID_LEN + 1];
	char *api_url;
	char *ca_file;                /* NULL: the system's CAs */
	char *given_ca_file;          /* --ca-file, resolved and checked */
	struct api_strings addresses; /* the account's, from GET /account */
	struct api_client *client;
	struct sb_kdf_params kdf;
	struct sb_password_keys *pw;
	bool have_session;
	struct api_session session;
	struct api_keys keys;
	struct sb_account_keys *acct;
	struct bridge_settings settings; /* for the listeners shown */
};

/* Why a call failed, as a sentence naming the service. */
static const char *
bridge_call_error(const struct api_reply *r, const char *url, const char *what)
{
	char message[BRIDGE_MESSAGE_MAX + 4];

	bridge_text_clean(r->message, message);
	if (r->status == 0)
		return bridge_errorf("cannot reach the service at %s: %s%s",
		                     url, message,
		                     strstr(message, "certificate") != NULL
		                             ? " (a service with its own "
		                               "certificate needs --ca-file)"
		                             : "");
	if (r->status == 404 && strcmp(what, "prelogin") == 0)
		return bridge_errorf("there is no Salt Mail API at %s "
		                     "(prelogin answered 404)",
		                     url);
	return bridge_errorf("the service at %s answered %s with %u %s: %s",
	                     url, what, r->status,
	                     api_error_name(r->error) != NULL
	                             ? api_error_name(r->error)
	                             : "",
	                     message);
}

void
bridge_text_clean(const char *in, char out[BRIDGE_MESSAGE_MAX + 4])
{
	size_t len = in != NULL ? strlen(in) : 0, i;
	bool cut = len > BRIDGE_MESSAGE_MAX;

	if (cut) {
		len = BRIDGE_MESSAGE_MAX;
		/* Not inside a UTF-8 sequence: back over continuation bytes. */
		while (len > 0 && ((unsigned char)in[len] & 0xc0) == 0x80)
			len--;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (cut) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	out[len] = '\0';
}

/* Why url is refused, or NULL; what curl_url() makes of it. */
static const char *
bridge_url_problem(const char *url)
{
	static const struct {
		CURLUPart part;
		const char *what;
	} forbidden[] = {
	        {CURLUPART_USER, "a user name"},
	        {CURLUPART_PASSWORD, "a password"},
	        {CURLUPART_OPTIONS, "login options"},
	        {CURLUPART_QUERY, "a query"},
	        {CURLUPART_FRAGMENT, "a fragment"},
	};
	const char *problem = NULL;
	char *part = NULL;
	CURLU *u;
	size_t i;

	for (i = 0; url[i] != '\0'; i++) {
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return "it holds a space, a control byte or a "
			       "non-ASCII "
			       "character";
	}
	if (strncmp(url, "https://", 8) != 0)
		return "it is not https://";
	/* curl reads "https:///x" as the host x. */
	if (url[8] == '/' || url[8] == '\0')
		return "it names no host";
	u = curl_url();
	if (u == NULL)
		sb_oom(sizeof(void *));
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		problem = "it is not a URL";
	else if (curl_url_get(u, CURLUPART_SCHEME, &part, 0) != CURLUE_OK ||
	         strcmp(part, "https") != 0)
		problem = "it is not https://";
	curl_free(part);
	part = NULL;
	if (problem == NULL &&
	    (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK ||
	     part[0] == '\0'))
		problem = "it names no host";
	curl_free(part);
	for (i = 0; problem == NULL && i < SB_N_ELEMENTS(forbidden); i++) {
		part = NULL;
		if (curl_url_get(u, forbidden[i].part, &part, 0) == CURLUE_OK)
			problem = forbidden[i].what;
		curl_free(part);
	}
	/* curl drops an empty query or fragment: refuse "?" and "#" too. */
	if (problem == NULL && strpbrk(url, "?#") != NULL)
		problem = "a query or a fragment";
	curl_url_cleanup(u);
	return problem;
}

int
bridge_url_check(const char *url, char **url_r, const char **error_r)
{
	size_t len = strlen(url);
	const char *problem;

	problem = len > BRIDGE_URL_MAX ? "it is too long"
	                               : bridge_url_problem(url);
	if (problem != NULL) {
		char shown[BRIDGE_MESSAGE_MAX + 4];

		bridge_text_clean(url, shown);
		*error_r = bridge_errorf(
		        "the service's address must be an "
		        "https:// URL with a host, and no user, "
		        "query or fragment, not '%.200s' (%s%s)",
		        shown,
		        strncmp(problem, "it ", 3) == 0 ? "" : "it holds ",
		        problem);
		return -1;
	}
	while (len > 8 && url[len - 1] == '/')
		len--;
	*url_r = sb_strndup(url, len);
	return 0;
}

/* --ca-file: an absolute path to a regular file this user can read. */
static int SB_WUR
bridge_ca_file_check(const char *path, char **resolved_r, const char **error_r)
{
	char resolved[PATH_MAX];
	struct stat st;
	int fd;

	if (realpath(path, resolved) == NULL) {
		*error_r = bridge_errorf("cannot use the CA file %s: %s", path,
		                         strerror(errno));
		return -1;
	}
	if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode)) {
		*error_r = bridge_errorf("cannot use the CA file %s: it is not "
		                         "a regular file",
		                         path);
		return -1;
	}
	fd = open(resolved, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		*error_r = bridge_errorf("cannot use the CA file %s: %s", path,
		                         strerror(errno));
		return -1;
	}
	close(fd);
	*resolved_r = sb_strdup(resolved);
	return 0;
}

static int SB_WUR
bridge_client_new(const char *url, const char *ca_file,
                  struct api_client **client_r, const char **error_r)
{
	struct api_client_options o;

	api_client_options_default(&o);
	o.base_url = url;
	o.ca_file = ca_file;
	/* A person is waiting: give up sooner than the daemon would. */
	o.max_attempts = 3;
	o.backoff_max_ms = 4000;
	o.max_json = API_MAX_JSON_BODY;
	return api_client_new(&o, client_r, error_r);
}

/* The service (from the options, else remembered) and its CA file. */
static int SB_WUR
login_resolve_service(struct login *l, const char **error_r)
{
	char *remembered = NULL;
	bool same;
	int ret;

	if (l->known)
		remembered = bridge_entry_str(l->vault.v, l->known_id,
		                              BRIDGE_ENTRY_API_URL);
	if (l->o->api_url == NULL && remembered == NULL) {
		*error_r = bridge_errorf("no service is known for %s: give "
		                         "--api URL",
		                         l->o->email);
		return -1;
	}
	ret = bridge_url_check(l->o->api_url != NULL ? l->o->api_url
	                                             : remembered,
	                       &l->api_url, error_r);
	same = remembered != NULL && ret == 0 &&
	       strcmp(remembered, l->api_url) == 0;
	free(remembered);
	if (ret != 0)
		return -1;
	if (l->given_ca_file != NULL) {
		l->ca_file = sb_strdup(l->given_ca_file);
	} else if (same) {
		l->ca_file = bridge_entry_str(l->vault.v, l->known_id,
		                              BRIDGE_ENTRY_CA_FILE);
	}
	return bridge_client_new(l->api_url, l->ca_file, &l->client, error_r);
}

/* POST /auth/prelogin: the account's KDF parameters, checked. */
static int SB_WUR
login_prelogin(struct login *l, const char **error_r)
{
	struct json_object *body = json_object_new_object(), *kdf;
	struct api_reply r;
	struct api_kdf k;
	const char *error;
	int ret = -1;

	api_reply_init(&r);
	api_json_add_string(body, "email", l->o->email);
	if (api_call(l->client, "POST", "/api/v1/auth/prelogin", body, &r) !=
	    0) {
		*error_r = bridge_call_error(&r, l->api_url, "prelogin");
		goto out;
	}
	if (r.json == NULL ||
	    api_json_get_object(r.json, "kdf", true, &kdf, &error) != 0 ||
	    api_kdf_decode(kdf, API_LENIENT, &k, &error) != 0) {
		*error_r = bridge_errorf("the service at %s gave unusable "
		                         "password hashing parameters: %s",
		                         l->api_url,
		                         r.json == NULL ? "no answer" : error);
		goto out;
	}
	l->kdf.opslimit = k.opslimit;
	l->kdf.memlimit = k.memlimit;
	memcpy(l->kdf.salt, k.salt, SB_SALT_BYTES);
	if (sb_kdf_params_check(&l->kdf, &error) != 0) {
		*error_r = bridge_errorf("refusing the service's password "
		                         "hashing parameters: %s",
		                         error);
		goto out;
	}
	ret = 0;
out:
	json_object_put(body);
	api_reply_clear(&r);
	return ret;
}

/* Refuses parameters that differ from those of the last login. */
static int SB_WUR
login_check_remembered(struct login *l, const char **error_r)
{
	struct sb_kdf_params remembered;
	const unsigned char *value;
	const char *error;
	size_t len;

	if (!l->known || !bridge_entry_get(l->vault.v, l->known_id,
	                                   BRIDGE_ENTRY_KDF, &value, &len))
		return 0;
	if (bridge_kdf_decode(value, len, &remembered, &error) != 0 ||
	    bridge_kdf_check_remembered(&remembered, &l->kdf, &error) != 0) {
		char why[512];

		/* error may be in the buffer bridge_errorf writes. */
		snprintf(why, sizeof(why), "%s", error);
		*error_r = bridge_errorf(
		        "%s. If the password of %s was changed elsewhere, run "
		        "'saltbridge logout %s' and log in again",
		        why, l->o->email, l->o->email);
		return -1;
	}
	return 0;
}

void
bridge_json_wipe(struct json_object *body, const char *field)
{
	struct json_object *value;
	size_t len;
	char *text = (char *)api_json_text(body, &len);

	sodium_memzero(text, len);
	if (json_object_object_get_ex(body, field, &value) &&
	    json_object_is_type(value, json_type_string))
		sodium_memzero((char *)json_object_get_string(value),
		               (size_t)json_object_get_string_len(value));
}

/* Derives the password keys and logs in: the session. */
static int SB_WUR
login_authenticate(struct login *l, const char *password, size_t len,
                   const char **error_r)
{
	struct json_object *body;
	struct api_reply r;
	const char *error;
	int ret = -1;

	if (sb_password_derive(password, len, &l->kdf, &l->pw, &error) != 0) {
		*error_r = bridge_errorf("cannot derive the password keys: %s",
		                         error);
		return -1;
	}
	api_reply_init(&r);
	body = json_object_new_object();
	api_json_add_string(body, "email", l->o->email);
	api_json_add_bytes(body, "auth_key", l->pw->auth_key, SB_KEY_BYTES);
	if (api_call(l->client, "POST", "/api/v1/auth/login", body, &r) != 0) {
		if (r.status != 0 && r.error == API_ERR_INVALID_CREDENTIALS)
			*error_r = bridge_errorf("wrong password for %s (or no "
			                         "such account at %s)",
			                         l->o->email, l->api_url);
		else
			*error_r = bridge_call_error(&r, l->api_url, "login");
		goto out;
	}
	if (r.json == NULL ||
	    api_session_decode(r.json, API_LENIENT, &l->session, &error) != 0) {
		*error_r = bridge_errorf("the service at %s gave a malformed "
		                         "login answer: %s",
		                         l->api_url,
		                         r.json == NULL ? "no answer" : error);
		goto out;
	}
	l->have_session = true;
	api_client_set_session(l->client, l->session.access_token,
	                       l->session.refresh_token);
	ret = 0;
out:
	bridge_json_wipe(body, "auth_key");
	json_object_put(body);
	api_reply_clear(&r);
	return ret;
}

/*
 * Reads GET /account: the same account as the session, the address among
 * its addresses, the KDF parameters prelogin gave, and the keys.
 */
static int SB_WUR
login_decode_account(struct login *l, struct json_object *obj,
                     const char **error_r)
{
	struct api_strings addresses = {NULL, 0};
	struct json_object *kdf_obj, *keys_obj;
	size_t i;
	const char *id;
	struct api_kdf kdf;

	if (api_json_get_string(obj, "account_id", true, 1, API_ID_MAX, &id,
	                        error_r) != 0 ||
	    api_json_get_strings(obj, "addresses", true, API_MAX_BATCH,
	                         api_is_email, &addresses, error_r) != 0 ||
	    api_json_get_object(obj, "kdf", true, &kdf_obj, error_r) != 0 ||
	    api_kdf_decode(kdf_obj, API_LENIENT, &kdf, error_r) != 0 ||
	    api_json_get_object(obj, "keys", true, &keys_obj, error_r) != 0 ||
	    api_keys_decode(keys_obj, API_LENIENT, &l->keys, error_r) != 0) {
		api_strings_free(&addresses);
		return -1;
	}
	if (strcmp(id, l->session.account_id) != 0)
		*error_r = "it names another account than the login did";
	else if (!api_strings_has(&addresses, l->o->email))
		*error_r = "the address is not among the account's";
	else if (kdf.opslimit != l->kdf.opslimit ||
	         kdf.memlimit != l->kdf.memlimit ||
	         memcmp(kdf.salt, l->kdf.salt, SB_SALT_BYTES) != 0)
		*error_r = "its password hashing parameters differ from "
		           "prelogin's";
	else
		id = NULL;
	if (id == NULL) {
		for (i = 0; i < addresses.count; i++)
			api_strings_add(&l->addresses, addresses.items[i]);
	}
	api_strings_free(&addresses);
	return id == NULL ? 0 : -1;
}

/* GET /account, then unwraps the keys with the KEK. */
static int SB_WUR
login_fetch_account(struct login *l, const char **error_r)
{
	struct sb_wrapped_account w;
	struct api_reply r;
	const char *error = "no answer";
	int ret = -1;

	api_reply_init(&r);
	if (api_call(l->client, "GET", "/api/v1/account", NULL, &r) != 0) {
		*error_r = bridge_call_error(&r, l->api_url, "GET account");
		goto out;
	}
	if (r.json == NULL || login_decode_account(l, r.json, &error) != 0) {
		*error_r = bridge_errorf("the service at %s gave an unusable "
		                         "account: %s",
		                         l->api_url, error);
		goto out;
	}
	memcpy(w.account_key, l->keys.wrapped_account_key,
	       SB_WRAPPED_KEY_BYTES);
	memcpy(w.enc_sk, l->keys.wrapped_enc_sk, SB_WRAPPED_KEY_BYTES);
	memcpy(w.sign_seed, l->keys.wrapped_sign_seed, SB_WRAPPED_KEY_BYTES);
	memcpy(w.enc_pk, l->keys.enc_pk, SB_KEY_BYTES);
	memcpy(w.sign_pk, l->keys.sign_pk, SB_KEY_BYTES);
	if (sb_account_keys_unwrap(&w, l->pw->kek, l->session.account_id,
	                           &l->acct, &error) != 0) {
		*error_r = bridge_errorf("the keys the service holds for %s "
		                         "cannot be used: %s",
		                         l->o->email, error);
		goto out;
	}
	ret = 0;
out:
	api_reply_clear(&r);
	return ret;
}

/* Ends the new session again, when the login cannot be kept. */
static void
login_revoke(struct login *l)
{
	struct api_reply r;

	api_reply_init(&r);
	if (api_call(l->client, "POST", "/api/v1/auth/logout", NULL, &r) != 0)
		sb_log_debug("could not end the new session: %s", r.message);
	api_reply_clear(&r);
}

struct login_entry {
	const char *field;
	const void *value;
	size_t len;
};

/* Writes the account's entries into the vault (not saved yet). */
static int SB_WUR
login_store_vault(struct login *l, const char *id, const char **error_r)
{
	const struct sb_account_keys *k = l->acct;
	const unsigned char *old;
	unsigned char kdf[BRIDGE_KDF_ENTRY_BYTES];
	unsigned char *cache_key = sb_secure_alloc(SB_KEY_BYTES);
	char *password = sb_secure_alloc(BRIDGE_PASSWORD_LEN + 1);
	size_t len, i;
	int ret = -1;

	bridge_kdf_encode(&l->kdf, kdf);
	/* Re-login keeps the bridge password and the cache key. */
	if (!l->o->new_password &&
	    bridge_entry_get(l->vault.v, id, BRIDGE_ENTRY_BRIDGE_PASSWORD, &old,
	                     &len) &&
	    len == BRIDGE_PASSWORD_LEN) {
		memcpy(password, old, len);
		password[len] = '\0';
	} else {
		bridge_password_new(password);
	}
	if (bridge_entry_get(l->vault.v, id, BRIDGE_ENTRY_CACHE_KEY, &old,
	                     &len) &&
	    len == SB_KEY_BYTES)
		memcpy(cache_key, old, SB_KEY_BYTES);
	else
		randombytes_buf(cache_key, SB_KEY_BYTES);

	const struct login_entry entries[] = {
	        {BRIDGE_ENTRY_EMAIL, l->o->email, strlen(l->o->email)},
	        {BRIDGE_ENTRY_API_URL, l->api_url, strlen(l->api_url)},
	        {BRIDGE_ENTRY_ACCESS_TOKEN, l->session.access_token,
	         strlen(l->session.access_token)},
	        {BRIDGE_ENTRY_REFRESH_TOKEN, l->session.refresh_token,
	         strlen(l->session.refresh_token)},
	        {BRIDGE_ENTRY_ACCOUNT_KEY, k->account_key, SB_KEY_BYTES},
	        {BRIDGE_ENTRY_ENC_SK, k->enc_sk, SB_KEY_BYTES},
	        {BRIDGE_ENTRY_SIGN_SK, k->sign_sk, SB_SIGN_SECRET_BYTES},
	        {BRIDGE_ENTRY_ENC_PK, k->enc_pk, SB_KEY_BYTES},
	        {BRIDGE_ENTRY_SIGN_PK, k->sign_pk, SB_KEY_BYTES},
	        {BRIDGE_ENTRY_BRIDGE_PASSWORD, password, BRIDGE_PASSWORD_LEN},
	        {BRIDGE_ENTRY_CACHE_KEY, cache_key, SB_KEY_BYTES},
	        {BRIDGE_ENTRY_KDF, kdf, sizeof(kdf)},
	        {BRIDGE_ENTRY_CA_FILE, l->ca_file,
	         l->ca_file != NULL ? strlen(l->ca_file) : 0},
	};
	for (i = 0; i < SB_N_ELEMENTS(entries); i++) {
		if (entries[i].value == NULL) {
			char name[SB_VAULT_MAX_NAME + 1];

			snprintf(name, sizeof(name), "account/%s/%s", id,
			         entries[i].field);
			(void)sb_vault_remove(l->vault.v, name);
		} else if (bridge_entry_set(l->vault.v, id, entries[i].field,
		                            entries[i].value, entries[i].len,
		                            error_r) != 0) {
			goto out;
		}
	}
	ret = bridge_addresses_set(l->vault.v, id, &l->addresses, error_r);
out:
	sb_secure_free(&cache_key);
	sb_secure_free(&password);
	return ret;
}

/* Adds the account to the replica (once), dropping a stale namesake. */
static int SB_WUR
login_store_replica(const struct bridge_paths *p, const char *id,
                    const char *email, const char **error_r)
{
	struct store_account a;
	struct store *st;
	const char *error;
	int64_t new_id;
	int found, ret = -1;

	if (store_open(p->replica, NULL, &st, &error) != 0) {
		/* The store's error names the replica already. */
		*error_r = bridge_errorf("%s", error);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	found = store_account_find_api_id(st, id, &a, &error);
	store_account_free_contents(&a);
	if (found == 0) {
		found = store_account_find_email(st, email, &a, &error);
		if (found == 1 && store_account_remove(st, a.id, &error) != 0)
			found = -1;
		store_account_free_contents(&a);
		if (found >= 0 &&
		    store_account_add(st, id, email, &new_id, &error) != 0)
			found = -1;
	}
	if (found < 0)
		*error_r = bridge_errorf("cannot add %s to the replica: %s",
		                         email, error);
	else
		ret = 0;
	store_close(&st);
	return ret;
}

static void
login_free(struct login *l)
{
	bridge_vault_close(&l->vault);
	free(l->api_url);
	free(l->ca_file);
	free(l->given_ca_file);
	api_strings_free(&l->addresses);
	api_client_free(&l->client);
	if (l->pw != NULL)
		sb_secure_free(&l->pw);
	if (l->have_session)
		api_session_free(&l->session);
	if (l->acct != NULL)
		sb_secure_free(&l->acct);
	sodium_memzero(l, sizeof(*l));
}

/* The session a re-login replaces, to end it once the new one is kept. */
struct old_session {
	char *url, *ca_file;
	char *access, *refresh; /* secure memory */
};

static void
old_session_get(const struct sb_vault *v, const char *id, struct old_session *o)
{
	o->url = bridge_entry_str(v, id, BRIDGE_ENTRY_API_URL);
	o->ca_file = bridge_entry_str(v, id, BRIDGE_ENTRY_CA_FILE);
	o->access = bridge_entry_secret_str(v, id, BRIDGE_ENTRY_ACCESS_TOKEN);
	o->refresh = bridge_entry_secret_str(v, id, BRIDGE_ENTRY_REFRESH_TOKEN);
}

static void
old_session_free(struct old_session *o)
{
	free(o->url);
	free(o->ca_file);
	if (o->access != NULL)
		sb_secure_free(&o->access);
	if (o->refresh != NULL)
		sb_secure_free(&o->refresh);
	memset(o, 0, sizeof(*o));
}

static const char *bridge_session_revoke(const char *url, const char *ca,
                                         const char *access,
                                         const char *refresh);

/*
 * After the session: the keys, then the replica, then the vault, so that
 * a failure leaves the vault as it was. The session the vault held
 * before is ended afterwards, best effort.
 */
static int SB_WUR
login_finish(struct login *l, const struct bridge_paths *p,
             const char **error_r)
{
	const char *id = l->session.account_id, *why;
	struct old_session old;
	int ret = -1;

	memset(&old, 0, sizeof(old));
	if (login_fetch_account(l, error_r) != 0 ||
	    bridge_account_claim(l->vault.v, l->o->email, id, error_r) != 0)
		return -1;
	old_session_get(l->vault.v, id, &old);
	/* Nothing may fail after the save: the caller would end the session. */
	if (login_store_vault(l, id, error_r) != 0 ||
	    login_store_replica(p, id, l->o->email, error_r) != 0 ||
	    (l->o->shown != NULL &&
	     bridge_format_one(l->o->shown, l->vault.v, id, &l->settings,
	                       BRIDGE_FORMAT_INFO, error_r) != 0) ||
	    bridge_vault_save(&l->vault, error_r) != 0)
		goto out;
	ret = 0;
	if (old.url == NULL || old.access == NULL || old.refresh == NULL ||
	    strcmp(old.access, l->session.access_token) == 0)
		goto out;
	why = bridge_session_revoke(old.url, old.ca_file, old.access,
	                            old.refresh);
	if (why != NULL)
		sb_log_warn("the previous session of %s could not be ended "
		            "(%s); it stays valid on the service until it "
		            "expires",
		            l->o->email, why);
out:
	old_session_free(&old);
	return ret;
}

/* What can be checked before anything is created in the home. */
static int SB_WUR
login_check_options(struct login *l, const char **error_r)
{
	char *url;

	if (l->o->api_url != NULL) {
		if (bridge_url_check(l->o->api_url, &url, error_r) != 0)
			return -1;
		free(url);
	}
	if (l->o->ca_file != NULL &&
	    bridge_ca_file_check(l->o->ca_file, &l->given_ca_file, error_r) !=
	            0)
		return -1;
	return 0;
}

int
bridge_login(const struct bridge_paths *p, const struct bridge_login_options *o,
             const char *password, size_t password_len,
             char account_id_r[API_ACCOUNT_ID_LEN + 1], const char **error_r)
{
	struct login l;
	int ret = -1;

	memset(&l, 0, sizeof(l));
	l.o = o;
	if (login_check_options(&l, error_r) != 0 ||
	    bridge_settings_load(p->settings, &l.settings, error_r) != 0 ||
	    bridge_vault_open(&l.vault, p, error_r) != 0) {
		login_free(&l);
		return -1;
	}
	/* Any address the account had: the KDF check covers them all. */
	l.known = bridge_account_find_any(l.vault.v, o->email, l.known_id) == 1;
	if (login_resolve_service(&l, error_r) != 0 ||
	    login_prelogin(&l, error_r) != 0 ||
	    login_check_remembered(&l, error_r) != 0 ||
	    login_authenticate(&l, password, password_len, error_r) != 0)
		goto out;
	if (login_finish(&l, p, error_r) != 0) {
		login_revoke(&l);
		goto out;
	}
	memcpy(account_id_r, l.session.account_id, API_ACCOUNT_ID_LEN + 1);
	ret = 0;
out:
	login_free(&l);
	return ret;
}

/* ---- Logout ---- */

/* POST /auth/logout with a session; NULL when done, else why not. */
static const char *
bridge_session_revoke(const char *url, const char *ca, const char *access,
                      const char *refresh)
{
	struct api_client *client = NULL;
	const char *why = NULL;
	struct api_reply r;

	api_reply_init(&r);
	if (url == NULL || access == NULL || refresh == NULL)
		why = "the vault holds no session for it";
	else if (bridge_client_new(url, ca, &client, &why) != 0)
		client = NULL;
	else {
		api_client_set_session(client, access, refresh);
		if (api_call(client, "POST", "/api/v1/auth/logout", NULL, &r) !=
		            0 &&
		    !(r.status == 401 && r.error == API_ERR_UNAUTHORIZED))
			why = bridge_call_error(&r, url, "logout");
	}
	api_reply_clear(&r);
	api_client_free(&client);
	return why;
}

/* The account's session in the vault, ended. */
static const char *
logout_revoke(const struct sb_vault *v, const char *id)
{
	struct old_session s;
	const char *why;

	old_session_get(v, id, &s);
	why = bridge_session_revoke(s.url, s.ca_file, s.access, s.refresh);
	old_session_free(&s);
	return why;
}

static int SB_WUR
logout_replica(const struct bridge_paths *p, const char *id,
               const char **error_r)
{
	struct store_account a;
	struct store *st;
	const char *error;
	int found;

	if (access(p->replica, F_OK) != 0)
		return 0;
	if (store_open(p->replica, NULL, &st, &error) != 0) {
		*error_r = bridge_errorf("%s", error);
		return -1;
	}
	memset(&a, 0, sizeof(a));
	found = store_account_find_api_id(st, id, &a, &error);
	if (found == 1 && store_account_remove(st, a.id, &error) != 0)
		found = -1;
	store_account_free_contents(&a);
	store_close(&st);
	if (found < 0) {
		*error_r = bridge_errorf("cannot remove the account from the "
		                         "replica: %s",
		                         error);
		return -1;
	}
	return 0;
}

int
bridge_logout(const struct bridge_paths *p, const char *email,
              const char **revoke_error_r, const char **error_r)
{
	static _Thread_local char why[512];
	char id[API_ACCOUNT_ID_LEN + 1];
	struct bridge_vault bv;
	const char *error;
	int ret;

	*revoke_error_r = NULL;
	ret = bridge_vault_open_existing(&bv, p, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0 || bridge_account_find(bv.v, email, id) != 1) {
		if (ret > 0)
			bridge_vault_close(&bv);
		*error_r = bridge_errorf("%s is not logged in", email);
		return -1;
	}
	error = logout_revoke(bv.v, id);
	if (error != NULL) {
		/* Kept apart from the error buffer the next steps may use. */
		snprintf(why, sizeof(why), "%s", error);
		*revoke_error_r = why;
	}
	(void)bridge_entries_remove(bv.v, id);
	/* The lock is held until the replica is done too. */
	ret = bridge_vault_save(&bv, error_r);
	if (ret == 0)
		ret = logout_replica(p, id, error_r);
	bridge_vault_close(&bv);
	return ret;
}
