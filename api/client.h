/*
 * The HTTPS client of the Salt Mail API (docs/api.md), on libcurl.
 *
 * One client holds one reused connection and one session (access and
 * refresh token), and is used by one thread at a time. Every call follows
 * the API's rules for clients:
 *   - a write carries an Idempotency-Key, the same on every retry of it, so
 *     a retry can never apply twice;
 *   - 401 token_expired refreshes the session once and retries;
 *   - 429, 500, 503 and network failures are retried with exponential
 *     backoff and jitter, honouring Retry-After, up to a bounded number of
 *     attempts;
 *   - every answer is decoded strictly (api.h): a hostile or malformed reply
 *     is an error, never a crash; bodies have a maximum.
 * Blobs stream to and from the caller, never whole in memory.
 */
#ifndef SB_API_CLIENT_H
#define SB_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api.h"
#include "common/compiler.h"

struct api_client_options {
	const char *base_url;        /* "https://127.0.0.1:8443", no '/' */
	const char *ca_file;         /* NULL: the system's CAs */
	unsigned connect_timeout_ms; /* per connection attempt */
	unsigned stall_timeout_s;    /* a transfer stalled this long fails */
	unsigned max_attempts;       /* tries of one call, at least 1 */
	unsigned backoff_base_ms;    /* first wait between tries */
	unsigned backoff_max_ms;     /* longest wait between tries */
	size_t max_json;             /* largest JSON answer read */
};

/* 10 s to connect, 30 s stall, 6 tries from 0.5 s to 60 s, 64 MiB. */
void api_client_options_default(struct api_client_options *o_r);

struct api_client;

int api_client_new(const struct api_client_options *o,
                   struct api_client **client_r, const char **error_r) SB_WUR;
void api_client_free(struct api_client **client);

/* Sets the session's tokens (copied; NULL clears one). */
void api_client_set_session(struct api_client *c, const char *access_token,
                            const char *refresh_token);

/*
 * One session used by several clients of one account (one per thread).
 * The refresh token rotates at each use, so the clients must not refresh
 * it each on its own: with a share, one refreshes at a time, and the others
 * take the new tokens instead of presenting the spent refresh token (which
 * the service would treat as theft and answer by revoking the session).
 */
struct api_session_share;

struct api_session_share *api_session_share_new(const char *access_token,
                                                const char *refresh_token);
void api_session_share_free(struct api_session_share **share);
/* A share holding c's session, which c uses from now on. */
struct api_session_share *api_client_session_share(struct api_client *c);
/* The client uses the share's session from now on (share outlives it). */
void api_client_share_session(struct api_client *c,
                              struct api_session_share *share);

/*
 * Called after the client refreshed its session on its own, so that the
 * caller can keep the new tokens (in the vault).
 */
typedef void api_tokens_fn(void *ctx, const struct api_session *session);
void api_client_on_tokens(struct api_client *c, api_tokens_fn *fn, void *ctx);

/* What came back from a call. */
struct api_reply {
	unsigned status;           /* the HTTP status; 0 when none came */
	struct json_object *json;  /* a 2xx JSON body, owned; or NULL */
	enum api_error_type error; /* when the call failed */
	char message[256];         /* why, for people */
	unsigned attempts;         /* tries made */
};

void api_reply_init(struct api_reply *r);
void api_reply_clear(struct api_reply *r);

/*
 * Calls method on path (with its query), sending body (borrowed; NULL for
 * none). Returns 0 with a 2xx answer in r, or -1 with r saying why: an API
 * error (r->status >= 400, r->error), or a failure to reach the service
 * after every try (r->status 0, r->error API_ERR_UNAVAILABLE).
 */
int api_call(struct api_client *c, const char *method, const char *path,
             struct json_object *body, struct api_reply *r) SB_WUR;

/* The longest Idempotency-Key the service takes. */
#define API_IDEM_KEY_MAX 64

/*
 * api_call with the caller's Idempotency-Key (1 to API_IDEM_KEY_MAX of
 * [A-Za-z0-9_-]; another is refused before anything is sent, with
 * API_ERR_INVALID_REQUEST), e.g. one kept with a queued change so that a
 * replay after a crash is never applied twice. NULL: a key made here.
 */
int api_call_idem(struct api_client *c, const char *method, const char *path,
                  struct json_object *body, const char *idem_key,
                  struct api_reply *r) SB_WUR;

/* Where a download goes: returns 0, or -1 to stop. */
typedef int api_sink_fn(void *ctx, const void *data, size_t len);

/*
 * Uploads size bytes read from fd (from its current offset) as a blob;
 * blob_id_r gets its id. Retries re-read fd from where it started.
 */
int api_blob_upload(struct api_client *c, int fd, uint64_t size, bool transient,
                    char blob_id_r[API_ID_MAX + 1], struct api_reply *r) SB_WUR;
/* The same with the caller's Idempotency-Key (as api_call_idem). */
int api_blob_upload_idem(struct api_client *c, int fd, uint64_t size,
                         bool transient, const char *idem_key,
                         char blob_id_r[API_ID_MAX + 1],
                         struct api_reply *r) SB_WUR;

/*
 * Downloads a blob of at most max_size bytes into sink. A transfer that
 * breaks resumes with a Range request where it stopped, so the sink sees
 * every byte once, in order.
 */
int api_blob_download(struct api_client *c, const char *blob_id,
                      uint64_t max_size, api_sink_fn *sink, void *ctx,
                      struct api_reply *r) SB_WUR;

#endif
