/*
 * The Salt Mail API's JSON model (docs/api.md), shared by the client in
 * bridge/ and by saltmaild in server/: strict JSON parsing, field
 * validators, and one struct with a decoder and an encoder per object of
 * the API.
 *
 * Decoding is strict in both directions: a field of the wrong type, size
 * or form is an error with a sentence saying which field and why (fit for
 * a 400 answer or a log line). In API_STRICT mode an unknown field is an
 * error too (the server reading requests); in API_LENIENT mode unknown
 * fields are skipped (a client reading responses from a newer server).
 * Decoded structs own their memory; each has a _free function.
 *
 * Error strings returned through error_r live in thread-local storage
 * until the next failing call of this module in the same thread.
 */
#ifndef SB_API_H
#define SB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/buf.h"
#include "common/compiler.h"

/* Sizes docs/api.md and docs/crypto.md fix. */
#define API_ID_MAX            64
#define API_EMAIL_MAX         320
#define API_NAME_MAX          255
#define API_KEY_BYTES         32
#define API_SALT_BYTES        16
#define API_WRAPPED_KEY_BYTES 78
#define API_KEY_PACKET_BYTES  85
#define API_ACCOUNT_ID_LEN    32
#define API_TOKEN_MAX         128
#define API_KEYWORD_MAX       64
#define API_MAX_KEYWORDS      100
#define API_MAX_BATCH         500
#define API_MAX_PAGE          500
#define API_MAX_CHANGES       5000
#define API_MAX_JSON_BODY     (1024 * 1024)
#define API_MAX_SUMMARY       (4 * 1024 * 1024 + 64)
#define API_JSON_MAX_DEPTH    16

enum api_mode {
	API_STRICT,  /* unknown fields are errors */
	API_LENIENT, /* unknown fields are skipped */
};

/* ---- Parsing and field validators ---- */

/*
 * Parses a whole JSON text that must be one object, with a nesting limit
 * and UTF-8 validation. *obj_r is owned by the caller (json_object_put).
 */
int api_json_parse(const void *data, size_t len, struct json_object **obj_r,
                   const char **error_r) SB_WUR;
/* The compact text of obj; valid while obj lives. */
const char *api_json_text(struct json_object *obj, size_t *len_r);

/* Fails on a field of obj whose name is not in the NULL-ended list. */
int api_json_only(struct json_object *obj, const char *const *allowed,
                  const char **error_r) SB_WUR;

/*
 * Field getters. With required false a missing (or null, where noted)
 * field leaves the output untouched and succeeds. Each checks the type and
 * the limits given.
 */
int api_json_get_string(struct json_object *obj, const char *name,
                        bool required, size_t min, size_t max,
                        const char **value_r, const char **error_r) SB_WUR;
/* An id: 1 to 64 bytes of [A-Za-z0-9_-]. */
int api_json_get_id(struct json_object *obj, const char *name, bool required,
                    const char **value_r, const char **error_r) SB_WUR;
/* An id or null (null gives NULL). */
int api_json_get_id_or_null(struct json_object *obj, const char *name,
                            const char **value_r, const char **error_r) SB_WUR;
/* An address, lower-cased into a malloc'd string. */
int api_json_get_email(struct json_object *obj, const char *name, bool required,
                       char **value_r, const char **error_r) SB_WUR;
int api_json_get_u64(struct json_object *obj, const char *name, bool required,
                     uint64_t min, uint64_t max, uint64_t *value_r,
                     const char **error_r) SB_WUR;
int api_json_get_bool(struct json_object *obj, const char *name, bool required,
                      bool *value_r, const char **error_r) SB_WUR;
/* Base64 (padded, RFC 4648 section 4) of exactly len bytes. */
int api_json_get_fixed(struct json_object *obj, const char *name, bool required,
                       void *out, size_t len, const char **error_r) SB_WUR;
/* Base64 of min..max bytes, into out (reset first). */
int api_json_get_bytes(struct json_object *obj, const char *name, bool required,
                       size_t min, size_t max, struct sb_buf *out,
                       const char **error_r) SB_WUR;
/* A nested object (borrowed). */
int api_json_get_object(struct json_object *obj, const char *name,
                        bool required, struct json_object **value_r,
                        const char **error_r) SB_WUR;

/* True for 1..64 bytes of [A-Za-z0-9_-]. */
bool api_is_id(const char *s, size_t len);
/* True for a keyword per docs/api.md (already lower case). */
bool api_is_keyword(const char *s, size_t len);
/* True for a plausible address: local@domain, printable, <= 320 bytes. */
bool api_is_email(const char *s, size_t len);

/*
 * A list of strings (ids, keywords, addresses), owned. Decoding checks
 * each item with `check`, the count against max, and refuses duplicates.
 */
struct api_strings {
	char **items;
	size_t count;
};

int api_json_get_strings(struct json_object *obj, const char *name,
                         bool required, size_t max,
                         bool (*check)(const char *s, size_t len),
                         struct api_strings *list_r,
                         const char **error_r) SB_WUR;
void api_strings_add(struct api_strings *list, const char *s);
bool api_strings_has(const struct api_strings *list, const char *s);
void api_strings_free(struct api_strings *list);
struct json_object *api_strings_to_json(const struct api_strings *list);

/* Adds name: base64(data) to obj. */
void api_json_add_bytes(struct json_object *obj, const char *name,
                        const void *data, size_t len);
void api_json_add_string(struct json_object *obj, const char *name,
                         const char *value);
/* Adds name: value, or name: null when value is NULL. */
void api_json_add_string_or_null(struct json_object *obj, const char *name,
                                 const char *value);
void api_json_add_u64(struct json_object *obj, const char *name,
                      uint64_t value);

/* ---- Errors ---- */

enum api_error_type {
	API_ERR_INVALID_REQUEST,
	API_ERR_UNAUTHORIZED,
	API_ERR_TOKEN_EXPIRED,
	API_ERR_INVALID_CREDENTIALS,
	API_ERR_FORBIDDEN,
	API_ERR_NOT_FOUND,
	API_ERR_CONFLICT,
	API_ERR_IDEMPOTENCY_KEY_REUSED,
	API_ERR_CANNOT_CALCULATE_CHANGES,
	API_ERR_TOO_LARGE,
	API_ERR_OVER_QUOTA,
	API_ERR_RANGE_NOT_SATISFIABLE,
	API_ERR_UNKNOWN_RECIPIENT,
	API_ERR_RATE_LIMITED,
	API_ERR_SERVER_ERROR,
	API_ERR_UNAVAILABLE,
	API_ERR_COUNT
};

/* "invalid_request" and so on; NULL for an out-of-range value. */
const char *api_error_name(enum api_error_type type);
/* The HTTP status docs/api.md gives the type. */
unsigned api_error_status(enum api_error_type type);
int api_error_parse_name(const char *name, enum api_error_type *type_r) SB_WUR;
/* {"error": {"type": ..., "message": ...}} */
struct json_object *api_error_to_json(enum api_error_type type,
                                      const char *message);
/* Reads an error body; message_r is malloc'd. */
int api_error_decode(struct json_object *obj, enum api_error_type *type_r,
                     char **message_r, const char **error_r) SB_WUR;

/* ---- Objects ---- */

/* The Argon2id parameters and salt of an account. */
struct api_kdf {
	uint64_t opslimit;
	uint64_t memlimit;
	unsigned char salt[API_SALT_BYTES];
};

int api_kdf_decode(struct json_object *obj, enum api_mode mode,
                   struct api_kdf *kdf_r, const char **error_r) SB_WUR;
struct json_object *api_kdf_to_json(const struct api_kdf *kdf);

/* An account's public keys and wrapped secret keys. */
struct api_keys {
	unsigned char enc_pk[API_KEY_BYTES];
	unsigned char sign_pk[API_KEY_BYTES];
	unsigned char wrapped_account_key[API_WRAPPED_KEY_BYTES];
	unsigned char wrapped_enc_sk[API_WRAPPED_KEY_BYTES];
	unsigned char wrapped_sign_seed[API_WRAPPED_KEY_BYTES];
};

/* Checks the wrapped keys' magic, version and kind bytes too. */
int api_keys_decode(struct json_object *obj, enum api_mode mode,
                    struct api_keys *keys_r, const char **error_r) SB_WUR;
/* With fingerprint (may be NULL) as "fingerprint". */
struct json_object *api_keys_to_json(const struct api_keys *keys,
                                     const char *fingerprint);

/* GET /api/v1/account */
struct api_account {
	char account_id[API_ACCOUNT_ID_LEN + 1];
	struct api_strings addresses; /* lower case, at least one */
	uint64_t quota_used;
	uint64_t quota_limit;
	uint64_t max_blob;  /* limits.max_blob */
	uint64_t max_batch; /* limits.max_batch */
	uint64_t max_page;  /* limits.max_page */
	struct api_kdf kdf;
	struct api_keys keys;
	char *fingerprint; /* keys.fingerprint */
};

#define API_MAX_ADDRESSES 100

int api_account_decode(struct json_object *obj, enum api_mode mode,
                       struct api_account *a_r, const char **error_r) SB_WUR;
struct json_object *api_account_to_json(const struct api_account *a);
void api_account_free(struct api_account *a);

struct api_signup {
	char *email;
	char account_id[API_ACCOUNT_ID_LEN + 1];
	unsigned char auth_key[API_KEY_BYTES];
	struct api_kdf kdf;
	struct api_keys keys;
	char *invite; /* NULL when absent */
};

int api_signup_decode(struct json_object *obj, enum api_mode mode,
                      struct api_signup *s_r, const char **error_r) SB_WUR;
struct json_object *api_signup_to_json(const struct api_signup *s);
void api_signup_free(struct api_signup *s);

/* The answer to login and refresh. */
struct api_session {
	char account_id[API_ACCOUNT_ID_LEN + 1];
	char *access_token;
	uint64_t expires_in;
	char *refresh_token;
	uint64_t refresh_expires_in;
};

/* Also wipes the token strings inside obj once copied. */
int api_session_decode(struct json_object *obj, enum api_mode mode,
                       struct api_session *s_r, const char **error_r) SB_WUR;
struct json_object *api_session_to_json(const struct api_session *s);
void api_session_free(struct api_session *s);

struct api_mailbox {
	char *id;
	char *name;
	char *parent_id; /* NULL at the top */
	char *role; /* NULL, or inbox, drafts, sent, trash, junk, archive */
	uint64_t total;
	uint64_t unread;
};

/* True for a role name of docs/api.md. */
bool api_is_role(const char *s);
/* True for a mailbox name: 1..255 bytes of UTF-8, no control, no '/'. */
bool api_is_mailbox_name(const char *s, size_t len);
int api_mailbox_decode(struct json_object *obj, enum api_mode mode,
                       struct api_mailbox *m_r, const char **error_r) SB_WUR;
struct json_object *api_mailbox_to_json(const struct api_mailbox *m);
void api_mailbox_free(struct api_mailbox *m);

/* GET /api/v1/mailboxes */
struct api_mailbox_list {
	struct api_mailbox *items;
	size_t count;
	char *state;
};

#define API_MAX_MAILBOXES 10000

int api_mailbox_list_decode(struct json_object *obj, enum api_mode mode,
                            struct api_mailbox_list *l_r,
                            const char **error_r) SB_WUR;
struct json_object *api_mailbox_list_to_json(const struct api_mailbox_list *l);
void api_mailbox_list_free(struct api_mailbox_list *l);

struct api_message {
	char *id;
	char *blob_id;
	uint64_t size;
	uint64_t received_at;
	struct sb_buf summary; /* SBMS..., as docs/crypto.md */
	unsigned char key_packet[API_KEY_PACKET_BYTES];
	struct api_strings mailbox_ids;
	struct api_strings keywords;
};

void api_message_init(struct api_message *m);
int api_message_decode(struct json_object *obj, enum api_mode mode,
                       struct api_message *m_r, const char **error_r) SB_WUR;
struct json_object *api_message_to_json(const struct api_message *m);
void api_message_free(struct api_message *m);

/* GET /api/v1/messages: one page, newest first. */
struct api_message_page {
	struct api_message *items;
	size_t count;      /* at most API_MAX_PAGE */
	char *next_cursor; /* NULL on the last page */
	char *state;
};

#define API_CURSOR_MAX 256

int api_message_page_decode(struct json_object *obj, enum api_mode mode,
                            struct api_message_page *p_r,
                            const char **error_r) SB_WUR;
struct json_object *api_message_page_to_json(const struct api_message_page *p);
void api_message_page_free(struct api_message_page *p);

/* POST /api/v1/messages/import */
struct api_import {
	char *blob_id;
	struct sb_buf summary;
	unsigned char key_packet[API_KEY_PACKET_BYTES];
	struct api_strings mailbox_ids;
	struct api_strings keywords;
	uint64_t received_at; /* 0: now */
};

void api_import_init(struct api_import *im);
int api_import_decode(struct json_object *obj, enum api_mode mode,
                      struct api_import *im_r, const char **error_r) SB_WUR;
struct json_object *api_import_to_json(const struct api_import *im);
void api_import_free(struct api_import *im);

/* One message's change in POST /api/v1/messages/update. */
struct api_patch {
	char *id;
	bool replace_keywords, replace_mailboxes;
	struct api_strings keywords, add_keywords, remove_keywords;
	struct api_strings mailbox_ids, add_mailbox_ids, remove_mailbox_ids;
};

struct api_update {
	struct api_patch *patches;
	size_t count;
};

int api_update_decode(struct json_object *obj, enum api_mode mode,
                      struct api_update *u_r, const char **error_r) SB_WUR;
struct json_object *api_update_to_json(const struct api_update *u);
void api_update_free(struct api_update *u);

/* The ids of one kind in a change feed answer. */
struct api_change_ids {
	struct api_strings created, updated, destroyed;
};

struct api_changes {
	char *old_state;
	char *new_state;
	bool has_more;
	struct api_change_ids messages;
	struct api_change_ids mailboxes;
};

int api_changes_decode(struct json_object *obj, enum api_mode mode,
                       struct api_changes *c_r, const char **error_r) SB_WUR;
struct json_object *api_changes_to_json(const struct api_changes *c);
void api_changes_free(struct api_changes *c);

/* POST /api/v1/submissions */
struct api_recipient {
	char *email;
	unsigned char key_packet[API_KEY_PACKET_BYTES];
};

struct api_submission {
	char *from;
	char *blob_id;
	struct sb_buf summary;
	struct api_recipient *recipients;
	size_t n_recipients;
	char *external_blob_id;      /* NULL: no external part */
	struct api_strings external; /* addresses outside the service */
	bool has_sent_copy;
	char *sent_blob_id;
	struct sb_buf sent_summary;
	unsigned char sent_key_packet[API_KEY_PACKET_BYTES];
	struct api_strings sent_keywords;
};

void api_submission_init(struct api_submission *s);
int api_submission_decode(struct json_object *obj, enum api_mode mode,
                          struct api_submission *s_r,
                          const char **error_r) SB_WUR;
struct json_object *api_submission_to_json(const struct api_submission *s);
void api_submission_free(struct api_submission *s);

/* GET /api/v1/keys */
struct api_key_lookup {
	char *email;
	bool on_service;
	unsigned char enc_pk[API_KEY_BYTES];
	unsigned char sign_pk[API_KEY_BYTES];
	char *fingerprint;
};

int api_key_lookup_decode(struct json_object *obj, enum api_mode mode,
                          struct api_key_lookup *k_r,
                          const char **error_r) SB_WUR;
struct json_object *api_key_lookup_to_json(const struct api_key_lookup *k);
void api_key_lookup_free(struct api_key_lookup *k);

#endif
