/* Internals shared by saltmaild's files. */
#ifndef SB_SERVER_PRIVATE_H
#define SB_SERVER_PRIVATE_H

#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/api.h"
#include "common/buf.h"
#include "common/compiler.h"
#include "server.h"

/* Ids of objects: a prefix, '_', and 24 hex digits. */
#define SRV_ID_SIZE 32

/* Counters per key over one-minute windows (auth.c), at most 4096 keys. */
struct srv_limit_table {
	struct srv_limit *v; /* allocated on first use, never grown */
	size_t n;
};

/* The event streams open for one account (events.c). */
struct srv_stream_count {
	char account_id[API_ACCOUNT_ID_LEN + 1];
	unsigned n;
};

/* The shared state of a running server. */
struct srv {
	struct srv_config config;
	char *data_dir;
	char *db_path;
	char *blob_dir;
	unsigned char secret[32]; /* unknown-address answers, refresh tokens */
	pthread_mutex_t lock;     /* guards the tables below */
	struct srv_limit_table login_limits;  /* failed logins */
	struct srv_limit_table lookup_limits; /* key lookups */
	struct srv_stream_count *streams;     /* accounts with open streams */
	size_t n_streams;
	volatile sig_atomic_t stopping;
};

/* What a route needs. */
enum srv_route_flag {
	SRV_AUTH = 1 << 0,   /* a valid access token */
	SRV_WRITE = 1 << 1,  /* Idempotency-Key, one transaction */
	SRV_UPLOAD = 1 << 2, /* the body is a blob, streamed to a file */
	SRV_JSON = 1 << 3,   /* the body is a JSON object */
};

struct srv_req;

struct srv_route {
	const char *method;
	const char *pattern; /* "/api/v1/mailboxes/{}" */
	unsigned flags;
	int (*handler)(struct srv_req *req);
	/*
	 * For a write whose idempotency record is not its whole answer
	 * (see srv_req.idem_record): rebuilds the answer from the record
	 * and the request, replacing *obj. NULL: the record is the answer.
	 */
	int (*replay)(struct srv_req *req, struct json_object **obj);
};

#define SRV_MAX_PARAMS 2

/* One request, from its first byte to its response. */
struct srv_req {
	struct srv *srv;
	struct MHD_Connection *conn;
	const struct srv_route *route;
	const char *method;
	char path[256];
	char params[SRV_MAX_PARAMS][API_ID_MAX + 1];
	char remote[64];
	sqlite3 *db;

	/* Authentication. */
	char account_id[API_ACCOUNT_ID_LEN + 1];
	int64_t session_id;

	/* The body: JSON, or a blob on its way to a file. */
	struct sb_buf body;
	struct json_object *json;
	int upload_fd;
	char *upload_path;
	uint64_t upload_size;
	bool too_large;

	/* Idempotency: the key and a hash of method, path and body. */
	char idem_key[API_ID_MAX + 1];
	unsigned char req_hash[32];
	void *hash_state; /* crypto_generichash_state while receiving */

	/* The answer. */
	unsigned status;
	struct json_object *reply;
	/*
	 * What the idempotency record keeps instead of reply, when the
	 * answer holds a secret (a refresh's tokens); NULL: reply itself.
	 */
	struct json_object *idem_record;
	struct MHD_Response *response; /* set by raw handlers */
	bool failed;
	enum api_error_type error_type;
	char error_message[256];
	unsigned retry_after;
	bool responded;      /* a response was queued */
	bool keep_changes;   /* commit even though the answer is an error */
	char **unlink_after; /* files to unlink once the change commits */
	size_t n_unlink;
	char **unlink_undo; /* files to unlink if the change rolls back */
	size_t n_undo;
};

/* ---- Requests (http.c) ---- */

/* Records an error answer; returns -1 for handlers to return. */
int srv_fail(struct srv_req *req, enum api_error_type type, const char *fmt,
             ...) SB_PRINTF(3, 4);
/* Sets the JSON answer (owned by the request from now). */
void srv_reply(struct srv_req *req, unsigned status, struct json_object *obj);
/* A query parameter, or NULL. */
const char *srv_query(struct srv_req *req, const char *name);
/* A request header, or NULL. */
const char *srv_header(struct srv_req *req, const char *name);
/*
 * Reads len bytes of decimal digits: 1 to 19 of them, no sign, no leading
 * zero, at most max.
 */
int srv_parse_number(const char *s, size_t len, uint64_t max,
                     uint64_t *value_r) SB_WUR;
/*
 * Opens the temporary file in BLOBDIR/tmp a blob upload streams into
 * (once; a no-op when it is open). 0, or -1 with the error recorded.
 */
int srv_upload_open(struct srv_req *req) SB_WUR;

/* ---- Data (db.c) ---- */

/* This thread's connection to the database (opened on first use). */
sqlite3 *srv_db(struct srv *srv);
/* Opens a connection: WAL, busy timeout, foreign keys. */
int srv_db_open(const char *path, sqlite3 **db_r, const char **error_r) SB_WUR;
int srv_db_schema(sqlite3 *db, const char **error_r) SB_WUR;
int srv_db_exec(sqlite3 *db, const char *sql) SB_WUR;
/* Prepares sql; aborts on a statement that does not compile (a bug). */
sqlite3_stmt *srv_db_prepare(sqlite3 *db, const char *sql);
/* Runs a statement that returns no rows, and finalizes it. */
int srv_db_step_done(sqlite3_stmt *st) SB_WUR;
/* A text column, malloc'd, or NULL when it is NULL. */
char *srv_column_dup(sqlite3_stmt *st, int col);
/*
 * Forgets what is kept for a while only: idempotency records after a day,
 * sessions a day after they were revoked or their refresh token expired,
 * and the rotated refresh tokens of sessions that are gone.
 */
int srv_db_sweep(sqlite3 *db, uint64_t now) SB_WUR;

/* A new random id: prefix "_" 24 hex digits. */
void srv_new_id(const char *prefix, char out[SRV_ID_SIZE]);
/* Seconds since the epoch. */
uint64_t srv_now(void);

/*
 * Starts a change of an account: bumps its modseq (inside the caller's
 * transaction) and returns the new value.
 */
int srv_bump(sqlite3 *db, const char *account_id, int64_t *modseq_r) SB_WUR;
/* Logs one change of that modseq: kind 'm' or 'b', op 'c', 'u' or 'd'. */
int srv_change(sqlite3 *db, const char *account_id, int64_t modseq, char kind,
               const char *object_id, char op) SB_WUR;
/* Drops old changes past the kept number, moving the account's floor. */
int srv_prune_changes(sqlite3 *db, const char *account_id,
                      uint64_t keep) SB_WUR;
/* The account's state string "s<modseq>" (malloc'd), or NULL. */
char *srv_state(sqlite3 *db, const char *account_id);

/* Account lookup by address: 1 found, 0 not, -1 error. */
int srv_account_by_email(sqlite3 *db, const char *email,
                         char account_id_r[API_ACCOUNT_ID_LEN + 1]) SB_WUR;
/* Creates an account and its role mailboxes, inside a transaction. */
int srv_account_create(sqlite3 *db, const struct api_signup *s,
                       const char **error_r) SB_WUR;

/* ---- Blobs (blobs.c) ---- */

/* The file of a blob: BLOBDIR/ab/cd/ID (sharded). malloc'd. */
char *srv_blob_path_in(const char *blob_dir, const char *blob_id);

/*
 * Claims a blob this account uploaded for one message (import, a
 * submission's message or sent copy): fails with not_found when the
 * account did not upload it, and with invalid_request when it is already
 * used or is transient. Counts one reference.
 */
int srv_blob_claim(struct srv_req *req, const char *blob_id,
                   uint64_t *size_r) SB_WUR;
/* Counts one more reference (a copy delivered to another account). */
int srv_blob_ref(sqlite3 *db, const char *blob_id) SB_WUR;
/*
 * Drops one reference. At zero the blob's row goes, its uploader's quota
 * shrinks, and its file is unlinked once the transaction commits (see
 * srv_req_unlink_later); with req NULL (a command, not a request) the
 * caller unlinks the returned path itself: *path_r (may be NULL) gets the
 * malloc'd path of a file to unlink, or NULL.
 */
int srv_blob_unref(struct srv_req *req, sqlite3 *db, const char *blob_dir,
                   const char *blob_id, char **path_r) SB_WUR;
/* Unlinks path (malloc'd, taken) after the request's transaction commits. */
void srv_req_unlink_later(struct srv_req *req, char *path);
/*
 * Unlinks path (malloc'd, taken) if the request's transaction rolls back:
 * a file already moved into place for a change that did not happen.
 */
void srv_req_unlink_on_rollback(struct srv_req *req, char *path);
/*
 * Moves a finished temporary file to a blob's sharded path, creating the
 * shard folders; *path_r (malloc'd) is where it went.
 */
int srv_blob_place(const char *blob_dir, const char *blob_id,
                   const char *tmp_path, char **path_r,
                   const char **error_r) SB_WUR;
/*
 * Deletes blobs unused for a day, transient ones older than an hour that
 * nothing waits to relay, and files in the shard folders older than an
 * hour that have no blob row (a crash between placing and committing).
 */
int srv_blob_sweep(sqlite3 *db, const char *blob_dir, uint64_t now) SB_WUR;

/* ---- Rate limits (auth.c) and event streams (events.c) ---- */

/*
 * Takes one from key's allowance of limit per minute in table t: returns
 * 0 when it was taken, or the seconds to wait when the allowance is used
 * up (nothing is taken then).
 */
unsigned srv_limit_take(struct srv *srv, struct srv_limit_table *t,
                        const char *key, unsigned limit) SB_WUR;
/* Gives back one that srv_limit_take took. */
void srv_limit_give_back(struct srv *srv, struct srv_limit_table *t,
                         const char *key);
/* Answers 429 rate_limited with Retry-After: wait; returns -1. */
int srv_rate_limited(struct srv_req *req, unsigned wait, const char *what);

/* The allowances one login attempt took: per address and per client. */
struct srv_login_attempt {
	char email_key[API_EMAIL_MAX + 3];
	char client_key[80];
};

/*
 * Counts a login attempt (a login, or a password change's check of the
 * current auth key) against the address and the client address as if it
 * failed: 0, or -1 with rate_limited recorded. One that succeeds gives the
 * count back with srv_login_attempt_ok.
 */
int srv_login_attempt_begin(struct srv_req *req, const char *email,
                            struct srv_login_attempt *a) SB_WUR;
void srv_login_attempt_ok(struct srv_req *req,
                          const struct srv_login_attempt *a);

/* ---- The smarthost relay and the sweep (relay.c) ---- */

struct srv_relay;

int srv_relay_start(struct srv *srv, struct srv_relay **relay_r,
                    const char **error_r) SB_WUR;
void srv_relay_stop(struct srv_relay **relay);

/* ---- Messages (messages.c, mail.c) ---- */

/*
 * Files a message in an account: a new id, the given mailboxes (which must
 * be the account's) and keywords, the change logged at modseq for the
 * message and each mailbox whose counts change. The blob reference is the
 * caller's (srv_blob_claim or srv_blob_ref).
 */
struct srv_new_message {
	const char *account_id;
	const char *blob_id;
	uint64_t size;
	uint64_t received_at;
	const void *summary;
	size_t summary_len;
	const unsigned char *key_packet; /* API_KEY_PACKET_BYTES */
	const struct api_strings *mailbox_ids;
	const struct api_strings *keywords;
	/*
	 * The account the summary is charged to, which the caller has
	 * charged already (a submission's sender); NULL: account_id, charged
	 * here without a limit (an import checks first, mail from outside is
	 * never refused).
	 */
	const char *charged_to;
};

int srv_message_insert(sqlite3 *db, const struct srv_new_message *m,
                       int64_t modseq, char id_r[SRV_ID_SIZE]) SB_WUR;
/* The id of the account's mailbox with that role: 1 found, 0 not, -1. */
int srv_mailbox_by_role(sqlite3 *db, const char *account_id, const char *role,
                        char id_r[SRV_ID_SIZE]) SB_WUR;
/* The id of the account's top-level mailbox with that name: 1, 0, -1. */
int srv_mailbox_by_name(sqlite3 *db, const char *account_id, const char *name,
                        char id_r[SRV_ID_SIZE]) SB_WUR;
/* Loads one of the account's messages: 1 found, 0 not, -1 error. */
int srv_message_load(sqlite3 *db, const char *account_id, const char *id,
                     struct api_message *m_r) SB_WUR;
/*
 * Whether each id names a mailbox of the account: 1 all, 0 not (with
 * *missing_r the first that is not), -1 on error.
 */
int srv_mailboxes_owned(sqlite3 *db, const char *account_id,
                        const struct api_strings *ids,
                        const char **missing_r) SB_WUR;
/* Moves bytes (may be negative) of summaries in an account's quota use. */
int srv_summary_quota(sqlite3 *db, const char *account_id,
                      int64_t bytes) SB_WUR;
/* The keywords as stored: sorted, space-separated. malloc'd. */
char *srv_keywords_text(const struct api_strings *keywords);
/*
 * Destroys one of the account's messages: its rows, its summary's bytes
 * given back to the account they were charged to, its blob reference, and
 * the 'd' change at modseq. The changes of the mailboxes it leaves are the
 * caller's.
 */
int srv_message_destroy(struct srv_req *req, const char *id,
                        const char *blob_id, int64_t modseq) SB_WUR;

/* Adds quota to an account's use; fails (over_quota) past the limit. */
int srv_quota_add(struct srv_req *req, const char *account_id,
                  uint64_t bytes) SB_WUR;

/* ---- Mail from outside (deliver.c; deliver and import) ---- */

/* Whom mail from outside is for. */
struct srv_inbound_to {
	char account_id[API_ACCOUNT_ID_LEN + 1];
	unsigned char enc_pk[API_KEY_BYTES];
	const char *mailbox; /* a top-level mailbox's name; NULL: INBOX */
};

/* One message encrypted on arrival, waiting to be filed. */
struct srv_inbound {
	char *tmp_path; /* the body stream, in BLOBDIR/tmp; NULL once placed */
	uint64_t blob_size;    /* of the body stream */
	uint64_t size;         /* of the cleartext */
	struct sb_buf summary; /* unsigned, sealed under the message key */
	unsigned char packet[API_KEY_PACKET_BYTES];
	uint64_t received_at;        /* 0: when it is filed */
	struct api_strings keywords; /* owned */
	bool too_large;              /* why srv_inbound_encrypt failed */
};

/*
 * Finds the account of a lower-case address and its public key; the error
 * says "no account for ADDR" when there is none.
 */
int srv_inbound_account(sqlite3 *db, const char *email,
                        struct srv_inbound_to *to, const char **error_r) SB_WUR;
/*
 * Opens DIR/saltmaild.db and finds the account of an address (any case);
 * the error says "no account for ADDR" when there is none. On success
 * *db_r and *blob_dir_r (malloc'd) are the caller's; to->mailbox is not
 * touched.
 */
int srv_inbound_open(const char *data_dir, const char *email, sqlite3 **db_r,
                     char **blob_dir_r, struct srv_inbound_to *to,
                     const char **error_r) SB_WUR;
/* The id of the mailbox mail for to goes to. */
int srv_inbound_mailbox(sqlite3 *db, const struct srv_inbound_to *to,
                        char id_r[SRV_ID_SIZE], const char **error_r) SB_WUR;
void srv_inbound_init(struct srv_inbound *in);
/* Unlinks a temporary file left and frees; ready for the next message. */
void srv_inbound_clear(struct srv_inbound *in);
/*
 * Encrypts one message, read with read_fn (bytes, 0 at its end, -1 on an
 * error), to the account's key: a new message key, the body stream in a
 * temporary file, the unsigned summary and the key packet. Takes no lock.
 * A message past max bytes fails with in->too_large set, the rest of it
 * unread.
 */
int srv_inbound_encrypt(const char *blob_dir, const struct srv_inbound_to *to,
                        ssize_t (*read_fn)(void *ctx, void *buf, size_t len),
                        void *ctx, uint64_t max, struct srv_inbound *in,
                        const char **error_r) SB_WUR;
/*
 * Files an encrypted message inside the caller's transaction: the blob
 * row, the quota (counted, never refused), the message in its mailbox and
 * its changes at a new modseq, and the body moved into place last.
 * *path_r (malloc'd, may be NULL) is where it went: the caller unlinks it
 * if the transaction does not commit.
 */
int srv_inbound_file(sqlite3 *db, const char *blob_dir,
                     const struct srv_inbound_to *to, struct srv_inbound *in,
                     char **path_r, const char **error_r) SB_WUR;

/* ---- Handlers ---- */

int srv_h_prelogin(struct srv_req *req);
int srv_h_login(struct srv_req *req);
int srv_h_refresh(struct srv_req *req);
int srv_refresh_replay(struct srv_req *req, struct json_object **obj) SB_WUR;
int srv_h_logout(struct srv_req *req);
int srv_h_signup(struct srv_req *req);
int srv_h_account(struct srv_req *req);
int srv_h_password(struct srv_req *req);
int srv_h_keys(struct srv_req *req);

int srv_h_mailboxes_list(struct srv_req *req);
int srv_h_mailbox_create(struct srv_req *req);
int srv_h_mailbox_update(struct srv_req *req);
int srv_h_mailbox_delete(struct srv_req *req);

int srv_h_messages_list(struct srv_req *req);
int srv_h_message_get(struct srv_req *req);
int srv_h_messages_import(struct srv_req *req);
int srv_h_messages_update(struct srv_req *req);
int srv_h_messages_destroy(struct srv_req *req);

int srv_h_blob_upload(struct srv_req *req);
int srv_h_blob_download(struct srv_req *req);

int srv_h_submission(struct srv_req *req);
int srv_h_changes(struct srv_req *req);
int srv_h_events(struct srv_req *req);

/* Checks an access token; fills req->account_id. 0, or -1 with the error. */
int srv_authenticate(struct srv_req *req) SB_WUR;

#endif
