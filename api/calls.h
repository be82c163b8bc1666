/*
 * Typed calls of the Salt Mail API (docs/api.md) over api_call: each
 * builds its request from model structs, checks every id it puts into a
 * path and percent-encodes every query value, and decodes the answer
 * (API_LENIENT: unknown fields are skipped, every known one is checked).
 *
 * Each returns 0 with its result filled in (owned by the caller, freed
 * with the type's _free), or -1 with r saying why, as api_call does: r's
 * status and error are the service's answer, or API_ERR_UNAVAILABLE when
 * it could not be reached, API_ERR_INVALID_REQUEST when an argument was
 * refused before anything was sent, and API_ERR_SERVER_ERROR when the
 * answer did not decode. r is cleared first, and holds the answer's JSON
 * until the next call with it or api_reply_clear.
 */
#ifndef SB_API_CALLS_H
#define SB_API_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "client.h"
#include "common/compiler.h"

/* POST /api/v1/auth/prelogin: the KDF parameters for email. */
int api_prelogin(struct api_client *c, const char *email, struct api_kdf *kdf_r,
                 struct api_reply *r) SB_WUR;

/*
 * POST /api/v1/auth/login. On success the client uses the new session
 * too (session_r holds a copy: api_session_free it).
 */
int api_login(struct api_client *c, const char *email,
              const unsigned char auth_key[API_KEY_BYTES],
              struct api_session *session_r, struct api_reply *r) SB_WUR;

/* POST /api/v1/auth/logout; the client forgets its session either way. */
int api_logout(struct api_client *c, struct api_reply *r) SB_WUR;

/* GET /api/v1/account */
int api_account_get(struct api_client *c, struct api_account *account_r,
                    struct api_reply *r) SB_WUR;

/* GET /api/v1/keys?email=... */
int api_key_lookup_get(struct api_client *c, const char *email,
                       struct api_key_lookup *lookup_r,
                       struct api_reply *r) SB_WUR;

/* GET /api/v1/mailboxes: every mailbox and the state. */
int api_mailboxes_get(struct api_client *c, struct api_mailbox_list *list_r,
                      struct api_reply *r) SB_WUR;

/* POST /api/v1/mailboxes: parent_id NULL makes a top-level mailbox. */
int api_mailbox_create(struct api_client *c, const char *name,
                       const char *parent_id, struct api_mailbox *mailbox_r,
                       struct api_reply *r) SB_WUR;

/*
 * The _idem variants of the writes below take the caller's
 * Idempotency-Key (see api_call_idem), e.g. one kept with a queued change.
 */
int api_mailbox_create_idem(struct api_client *c, const char *name,
                            const char *parent_id, const char *idem_key,
                            struct api_mailbox *mailbox_r,
                            struct api_reply *r) SB_WUR;

/*
 * PATCH /api/v1/mailboxes/ID: renames when name is not NULL, and moves
 * under parent_id (NULL: to the top) when move is true.
 */
int api_mailbox_update(struct api_client *c, const char *id, const char *name,
                       bool move, const char *parent_id,
                       struct api_mailbox *mailbox_r,
                       struct api_reply *r) SB_WUR;

int api_mailbox_update_idem(struct api_client *c, const char *id,
                            const char *name, bool move, const char *parent_id,
                            const char *idem_key, struct api_mailbox *mailbox_r,
                            struct api_reply *r) SB_WUR;

/* DELETE /api/v1/mailboxes/ID[?remove_messages=true] */
int api_mailbox_delete(struct api_client *c, const char *id,
                       bool remove_messages, struct api_reply *r) SB_WUR;
int api_mailbox_delete_idem(struct api_client *c, const char *id,
                            bool remove_messages, const char *idem_key,
                            struct api_reply *r) SB_WUR;

/*
 * GET /api/v1/messages: one page of at most limit (1..API_MAX_PAGE)
 * messages of mailbox_id (NULL: all), after cursor (NULL: from the
 * newest).
 */
int api_messages_page(struct api_client *c, const char *mailbox_id,
                      unsigned limit, const char *cursor,
                      struct api_message_page *page_r,
                      struct api_reply *r) SB_WUR;

/* GET /api/v1/messages/ID */
int api_message_get(struct api_client *c, const char *id,
                    struct api_message *message_r, struct api_reply *r) SB_WUR;

/*
 * GET /api/v1/changes?since=STATE&max=N (max 0: the server's default).
 * When since is older than the change log keeps, this fails with r->error
 * API_ERR_CANNOT_CALCULATE_CHANGES (status 410): list everything again.
 */
int api_changes_get(struct api_client *c, const char *since, unsigned max,
                    struct api_changes *changes_r, struct api_reply *r) SB_WUR;

/* POST /api/v1/messages/import: the message made. */
int api_import_post(struct api_client *c, const struct api_import *im,
                    struct api_message *message_r, struct api_reply *r) SB_WUR;
int api_import_post_idem(struct api_client *c, const struct api_import *im,
                         const char *idem_key, struct api_message *message_r,
                         struct api_reply *r) SB_WUR;

/* One id a batch write refused, and why. */
struct api_set_error {
	char *id;
	enum api_error_type type;
	char *message;
};

/* The answer of a batch write: what was done, what not, and the state. */
struct api_set_result {
	struct api_strings done;      /* "updated" or "destroyed" */
	struct api_set_error *failed; /* "not_updated" or "not_destroyed" */
	size_t n_failed;
	char *state;
};

/* Reads {done_name: [...], failed_name: {...}, "state": ...}. */
int api_set_result_decode(struct json_object *obj, enum api_mode mode,
                          const char *done_name, const char *failed_name,
                          struct api_set_result *res_r,
                          const char **error_r) SB_WUR;
void api_set_result_free(struct api_set_result *res);

/* POST /api/v1/messages/update */
int api_update_post(struct api_client *c, const struct api_update *u,
                    struct api_set_result *res_r, struct api_reply *r) SB_WUR;
/* The same with the caller's Idempotency-Key (api_call_idem). */
int api_update_post_idem(struct api_client *c, const struct api_update *u,
                         const char *idem_key, struct api_set_result *res_r,
                         struct api_reply *r) SB_WUR;

/* POST /api/v1/messages/destroy */
int api_destroy_post(struct api_client *c, const struct api_strings *ids,
                     struct api_set_result *res_r, struct api_reply *r) SB_WUR;
int api_destroy_post_idem(struct api_client *c, const struct api_strings *ids,
                          const char *idem_key, struct api_set_result *res_r,
                          struct api_reply *r) SB_WUR;

/* The answer of a submission. */
struct api_submission_result {
	char *submission_id;
	struct api_strings delivered; /* recipients on the service */
	struct api_strings relayed;   /* accepted by the smarthost */
	struct api_strings deferred;  /* still queued for the smarthost */
	char *sent_message_id;        /* NULL without a Sent copy */
};

int api_submission_result_decode(struct json_object *obj, enum api_mode mode,
                                 struct api_submission_result *res_r,
                                 const char **error_r) SB_WUR;
void api_submission_result_free(struct api_submission_result *res);

/* POST /api/v1/submissions */
int api_submission_post(struct api_client *c, const struct api_submission *s,
                        struct api_submission_result *res_r,
                        struct api_reply *r) SB_WUR;
/*
 * The same with the caller's Idempotency-Key, e.g. one kept with an outbox
 * message: a retry never delivers twice, and a retry whose body differs
 * (sealed again after a crash) is refused as idempotency_key_reused,
 * which tells that the first one was delivered.
 */
int api_submission_post_idem(struct api_client *c,
                             const struct api_submission *s,
                             const char *idem_key,
                             struct api_submission_result *res_r,
                             struct api_reply *r) SB_WUR;

#endif
