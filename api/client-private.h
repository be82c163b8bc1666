/*
 * Internals of the HTTPS client shared by client.c and events.c: the
 * client, one exchange's state, and the steps of an exchange that a
 * streaming call drives itself.
 */
#ifndef SB_API_CLIENT_PRIVATE_H
#define SB_API_CLIENT_PRIVATE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include <pthread.h>
#include <stdbool.h>

#include "common/buf.h"
#include "common/compiler.h"

#define API_IDEM_BYTES 16
#define API_URL_MAX    2048

struct api_client {
	CURL *curl;
	char *base_url;
	char *ca_file;
	struct api_client_options o;
	char *access_token;
	char *refresh_token;
	api_tokens_fn *on_tokens;
	void *on_tokens_ctx;
	/* A session shared with other clients, and the version seen. */
	struct api_session_share *share;
	unsigned share_gen;
	bool refreshing; /* inside api_refresh: do not sync from share */
};

/* Several clients' one session (see api_client_share_session). */
struct api_session_share {
	pthread_mutex_t lock;
	char *access_token;
	char *refresh_token;
	unsigned gen; /* bumped by every refresh */
};

/*
 * Whether a 401 in r can be cured by renewing the session: the token
 * expired, or another client sharing the session renewed it meanwhile.
 */
bool api_session_renewable(struct api_client *c, const struct api_reply *r);

/* Takes the shared session's tokens when another client renewed them. */
void api_share_sync(struct api_client *c);

/* One HTTP exchange: what goes out, and what came back. */
struct api_xfer {
	/* The request body: bytes in memory, or a file from an offset. */
	const char *body;
	size_t body_len, body_off;
	int upload_fd;
	uint64_t upload_start, upload_len, upload_off;
	/* The Accept header's value; NULL: application/json. */
	const char *accept;
	/* True when the caller watches for stalls itself. */
	bool own_stall;
	/* Called by libcurl while the exchange runs (may be NULL). */
	curl_xferinfo_callback progress;
	void *progress_ctx;
	/* The answer. */
	long status;
	struct sb_buf resp; /* a JSON or error body */
	bool too_large;     /* resp passed its maximum */
	unsigned retry_after;
	uint64_t range_start; /* from Content-Range, for a 206 */
	bool range_seen;
	CURL *handle;
	/* Where a 2xx answer's body goes, when set. */
	api_sink_fn *sink;
	void *sink_ctx;
	uint64_t sink_got, sink_max;
	uint64_t resume_at; /* the offset a resumed download asked for */
	uint64_t skip_left; /* bytes of a full answer already delivered */
	bool sink_failed;
	bool wrong_offset; /* a 206 that does not start at resume_at */
};

/* An exchange with no body, whose error answers may be max bytes. */
void api_xfer_init(struct api_xfer *x, size_t max);

/*
 * Sets up the client's handle for one exchange (resetting it first) and
 * returns the header list the handle uses: the caller runs the handle and
 * then frees the list with api_headers_free.
 */
struct curl_slist *api_prepare(struct api_client *c, const char *method,
                               const char *path, const char *idem_key,
                               bool json, const char *range,
                               struct api_xfer *x);

/* Wipes the header list (it holds the bearer token) and frees it. */
void api_headers_free(struct curl_slist *h);

/* Reads an error answer (status and body in x) into r. */
void api_reply_error(struct api_reply *r, const struct api_xfer *x);

/*
 * Trades the refresh token for a new session (one retry loop of its own),
 * keeps it, and tells the owner.
 */
int api_refresh(struct api_client *c, struct api_reply *r) SB_WUR;

#endif
