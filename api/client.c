/* The HTTPS client of the Salt Mail API; see client.h for its rules. */
#include "client.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "client-private.h"

static pthread_once_t api_curl_once = PTHREAD_ONCE_INIT;
static CURLcode api_curl_init_rc;

static void
api_curl_init(void)
{
	api_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
api_client_options_default(struct api_client_options *o)
{
	memset(o, 0, sizeof(*o));
	o->connect_timeout_ms = 10000;
	o->stall_timeout_s = 30;
	o->max_attempts = 6;
	o->backoff_base_ms = 500;
	o->backoff_max_ms = 60000;
	o->max_json = 64 * 1024 * 1024;
}

int
api_client_new(const struct api_client_options *o, struct api_client **c_r,
               const char **error_r)
{
	struct api_client *c;

	pthread_once(&api_curl_once, api_curl_init);
	if (api_curl_init_rc != CURLE_OK) {
		*error_r = "cannot initialise libcurl";
		return -1;
	}
	if (o->base_url == NULL || strncmp(o->base_url, "https://", 8) != 0 ||
	    strlen(o->base_url) > API_URL_MAX / 2) {
		*error_r = "the API address must be an https:// URL";
		return -1;
	}
	c = sb_calloc(1, sizeof(*c));
	c->o = *o;
	if (c->o.max_attempts == 0)
		c->o.max_attempts = 1;
	c->base_url = sb_strdup(o->base_url);
	c->ca_file = o->ca_file != NULL ? sb_strdup(o->ca_file) : NULL;
	c->o.base_url = c->base_url;
	c->o.ca_file = c->ca_file;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		api_client_free(&c);
		*error_r = "cannot make a libcurl handle";
		return -1;
	}
	*c_r = c;
	return 0;
}

static void
api_free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void
api_client_free(struct api_client **cp)
{
	struct api_client *c = *cp;

	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->base_url);
	free(c->ca_file);
	api_free_secret(&c->access_token);
	api_free_secret(&c->refresh_token);
	free(c);
	*cp = NULL;
}

void
api_client_set_session(struct api_client *c, const char *access_token,
                       const char *refresh_token)
{
	api_free_secret(&c->access_token);
	api_free_secret(&c->refresh_token);
	if (access_token != NULL)
		c->access_token = sb_strdup(access_token);
	if (refresh_token != NULL)
		c->refresh_token = sb_strdup(refresh_token);
}

struct api_session_share *
api_session_share_new(const char *access_token, const char *refresh_token)
{
	struct api_session_share *s = sb_calloc(1, sizeof(*s));

	pthread_mutex_init(&s->lock, NULL);
	if (access_token != NULL)
		s->access_token = sb_strdup(access_token);
	if (refresh_token != NULL)
		s->refresh_token = sb_strdup(refresh_token);
	s->gen = 1;
	return s;
}

void
api_session_share_free(struct api_session_share **sp)
{
	struct api_session_share *s = *sp;

	if (s == NULL)
		return;
	api_free_secret(&s->access_token);
	api_free_secret(&s->refresh_token);
	pthread_mutex_destroy(&s->lock);
	free(s);
	*sp = NULL;
}

struct api_session_share *
api_client_session_share(struct api_client *c)
{
	struct api_session_share *s =
	        api_session_share_new(c->access_token, c->refresh_token);

	api_client_share_session(c, s);
	return s;
}

void
api_client_share_session(struct api_client *c, struct api_session_share *share)
{
	c->share = share;
	c->share_gen = 0;
	api_share_sync(c);
}

bool
api_session_renewable(struct api_client *c, const struct api_reply *r)
{
	struct api_session_share *s = c->share;
	bool moved;

	if (r->error == API_ERR_TOKEN_EXPIRED)
		return true;
	if (s == NULL || r->error != API_ERR_UNAUTHORIZED)
		return false;
	/*
	 * Another client renewed the shared session while this request was
	 * on its way with the old token, which the service no longer knows.
	 */
	pthread_mutex_lock(&s->lock);
	moved = s->gen != c->share_gen;
	pthread_mutex_unlock(&s->lock);
	return moved;
}

void
api_share_sync(struct api_client *c)
{
	struct api_session_share *s = c->share;

	if (s == NULL || c->refreshing)
		return;
	pthread_mutex_lock(&s->lock);
	if (s->gen != c->share_gen) {
		api_client_set_session(c, s->access_token, s->refresh_token);
		c->share_gen = s->gen;
	}
	pthread_mutex_unlock(&s->lock);
}

void
api_client_on_tokens(struct api_client *c, api_tokens_fn *fn, void *ctx)
{
	c->on_tokens = fn;
	c->on_tokens_ctx = ctx;
}

void
api_reply_init(struct api_reply *r)
{
	memset(r, 0, sizeof(*r));
}

void
api_reply_clear(struct api_reply *r)
{
	json_object_put(r->json);
	api_reply_init(r);
}

/* ---- libcurl callbacks ---- */

static size_t
api_on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct api_xfer *x = ctx;
	size_t len = size * n;
	char line[256];
	unsigned long long a;

	if (len >= sizeof(line))
		return len;
	memcpy(line, data, len);
	line[len] = '\0';
	if (strncasecmp(line, "Retry-After:", 12) == 0)
		x->retry_after = (unsigned)strtoul(line + 12, NULL, 10);
	else if (strncasecmp(line, "Content-Range:", 14) == 0 &&
	         sscanf(line + 14, " bytes %llu-", &a) == 1) {
		x->range_start = a;
		x->range_seen = true;
	}
	return len;
}

static size_t
api_on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct api_xfer *x = ctx;
	size_t len = size * n;
	long status = 0;

	/* libcurl has read the status line by the time a body arrives. */
	curl_easy_getinfo(x->handle, CURLINFO_RESPONSE_CODE, &status);
	if (x->sink != NULL && status >= 200 && status < 300) {
		/* A resumed answer: nothing reaches the sink twice. */
		if (status == 206 &&
		    (!x->range_seen || x->range_start != x->resume_at)) {
			x->wrong_offset = true;
			return 0;
		}
		if (status == 200 && x->skip_left > 0) {
			size_t skip =
			        len < x->skip_left ? len : (size_t)x->skip_left;

			x->skip_left -= skip;
			data += skip;
			len -= skip;
			if (len == 0)
				return size * n;
		}
		if (len > x->sink_max - x->sink_got) {
			x->too_large = true;
			return 0;
		}
		if (x->sink(x->sink_ctx, data, len) != 0) {
			x->sink_failed = true;
			return 0;
		}
		x->sink_got += len;
		return size * n;
	}
	if (sb_buf_add(&x->resp, data, len) != 0) {
		x->too_large = true;
		return 0;
	}
	return len;
}

static size_t
api_on_read(char *out, size_t size, size_t n, void *ctx)
{
	struct api_xfer *x = ctx;
	size_t room = size * n, len;
	ssize_t got;

	if (x->upload_fd < 0) {
		len = x->body_len - x->body_off;
		len = len < room ? len : room;
		memcpy(out, x->body + x->body_off, len);
		x->body_off += len;
		return len;
	}
	len = x->upload_len - x->upload_off < room
	              ? (size_t)(x->upload_len - x->upload_off)
	              : room;
	if (len == 0)
		return 0;
	got = pread(x->upload_fd, out, len,
	            (off_t)(x->upload_start + x->upload_off));
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	x->upload_off += (uint64_t)got;
	return (size_t)got;
}

/* ---- One exchange ---- */

static struct curl_slist *
api_headers(struct api_client *c, const char *idem_key, bool json,
            const char *range, const char *accept)
{
	struct curl_slist *h = NULL;
	char line[API_TOKEN_MAX + 64];

	snprintf(line, sizeof(line), "Accept: %s",
	         accept != NULL ? accept : "application/json");
	h = curl_slist_append(h, line);
	if (json)
		h = curl_slist_append(h, "Content-Type: application/json");
	else
		h = curl_slist_append(h,
		                      "Content-Type: application/octet-stream");
	/* No "Expect: 100-continue" round trip before bodies. */
	h = curl_slist_append(h, "Expect:");
	api_share_sync(c);
	if (c->access_token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		         c->access_token);
		h = curl_slist_append(h, line);
		explicit_bzero(line, sizeof(line));
	}
	if (idem_key != NULL) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", idem_key);
		h = curl_slist_append(h, line);
	}
	if (range != NULL) {
		snprintf(line, sizeof(line), "Range: %s", range);
		h = curl_slist_append(h, line);
	}
	if (h == NULL)
		sb_oom(64);
	return h;
}

void
api_headers_free(struct curl_slist *h)
{
	struct curl_slist *p;

	/* The list holds the bearer token: wipe it before it is freed. */
	for (p = h; p != NULL; p = p->next) {
		if (p->data != NULL)
			explicit_bzero(p->data, strlen(p->data));
	}
	curl_slist_free_all(h);
}

struct curl_slist *
api_prepare(struct api_client *c, const char *method, const char *path,
            const char *idem_key, bool json, const char *range,
            struct api_xfer *x)
{
	char url[API_URL_MAX];
	struct curl_slist *h;
	CURL *e = c->curl;
	bool has_body = x->body != NULL || x->upload_fd >= 0;

	snprintf(url, sizeof(url), "%s%s", c->base_url, path);
	curl_easy_reset(e);
	h = api_headers(c, idem_key, json, range, x->accept);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (c->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	                 (long)c->o.connect_timeout_ms);
	if (!x->own_stall) {
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
		                 (long)c->o.stall_timeout_s);
	}
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, api_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, api_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	if (x->progress != NULL) {
		curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, x->progress);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, x->progress_ctx);
	}
	if (has_body) {
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, api_on_read);
		curl_easy_setopt(e, CURLOPT_READDATA, x);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)(x->upload_fd >= 0 ? x->upload_len
		                                                : x->body_len));
		/* CUSTOMREQUEST keeps the method; POST sends the body. */
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	}
	x->handle = e;
	x->status = 0;
	x->retry_after = 0;
	x->range_seen = false;
	return h;
}

/*
 * Performs one HTTP exchange. Returns the libcurl result; x->status and
 * x->resp hold what came back.
 */
static CURLcode
api_perform(struct api_client *c, const char *method, const char *path,
            const char *idem_key, bool json, const char *range,
            struct api_xfer *x)
{
	struct curl_slist *h;
	CURLcode rc;

	h = api_prepare(c, method, path, idem_key, json, range, x);
	rc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x->status);
	api_headers_free(h);
	return rc;
}

/* ---- Calls, retries and the session ---- */

static void
api_idem_key(char out[2 * API_IDEM_BYTES + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[API_IDEM_BYTES];
	size_t i;

	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 0xf];
	}
	out[2 * API_IDEM_BYTES] = '\0';
}

static bool
api_is_write(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

/* Sleeps before try number `attempt` (1 for the first retry). */
static void
api_backoff(const struct api_client *c, unsigned attempt, unsigned retry_after)
{
	uint64_t ms = c->o.backoff_base_ms;
	struct timespec ts;
	unsigned i;

	for (i = 1; i < attempt && ms < c->o.backoff_max_ms; i++)
		ms *= 2;
	if (ms > c->o.backoff_max_ms)
		ms = c->o.backoff_max_ms;
	/* Jitter: between half and all of the delay. */
	ms = ms / 2 + arc4random_uniform((uint32_t)(ms / 2 + 1));
	if ((uint64_t)retry_after * 1000 > ms)
		ms = (uint64_t)retry_after * 1000;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
api_reply_error(struct api_reply *r, const struct api_xfer *x)
{
	struct json_object *obj;
	const char *error;
	char *message = NULL;

	r->status = (unsigned)x->status;
	r->error =
	        x->status == 401 ? API_ERR_UNAUTHORIZED : API_ERR_SERVER_ERROR;
	snprintf(r->message, sizeof(r->message), "the service answered %ld",
	         x->status);
	if (x->resp.len == 0 ||
	    api_json_parse(x->resp.data, x->resp.len, &obj, &error) != 0)
		return;
	if (api_error_decode(obj, &r->error, &message, &error) == 0) {
		snprintf(r->message, sizeof(r->message), "%s", message);
		free(message);
	}
	json_object_put(obj);
}

static bool
api_status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 ||
	       status == 503 || status == 504;
}

/*
 * The loop behind every call: tries, refresh on an expired token, backoff.
 * x is reset before each try; for downloads the caller's resume logic
 * lives in api_blob_download. A write carries idem_key, or a key made
 * here when it is NULL.
 */
static int
api_exchange(struct api_client *c, const char *method, const char *path,
             const char *idem_key, bool json, struct api_xfer *x,
             struct api_reply *r)
{
	char idem[API_IDEM_KEY_MAX + 1];
	bool refreshed = false;
	unsigned attempt;
	CURLcode rc;

	if (idem_key != NULL)
		snprintf(idem, sizeof(idem), "%s", idem_key);
	else
		api_idem_key(idem);
	for (attempt = 1;; attempt++) {
		r->attempts = attempt;
		sb_buf_reset(&x->resp);
		x->too_large = false;
		x->body_off = 0;
		x->upload_off = 0;
		rc = api_perform(c, method, path,
		                 api_is_write(method) ? idem : NULL, json, NULL,
		                 x);
		if (rc == CURLE_OK && x->status >= 200 && x->status < 300)
			return 0;
		if (rc == CURLE_OK && x->status == 401 && !refreshed &&
		    c->refresh_token != NULL) {
			api_reply_error(r, x);
			if (!api_session_renewable(c, r))
				return -1;
			refreshed = true;
			if (api_refresh(c, r) != 0)
				return -1;
			attempt--;
			continue;
		}
		if (rc == CURLE_OK && !api_status_retryable(x->status)) {
			api_reply_error(r, x);
			return -1;
		}
		if (x->sink_failed || x->too_large ||
		    attempt >= c->o.max_attempts) {
			if (rc == CURLE_OK)
				api_reply_error(r, x);
			else
				r->status = 0;
			if (rc != CURLE_OK || x->too_large) {
				r->error = API_ERR_UNAVAILABLE;
				snprintf(r->message, sizeof(r->message), "%s",
				         x->too_large
				                 ? "the answer is too large"
				         : x->sink_failed
				                 ? "the download could not be "
				                   "stored"
				                 : curl_easy_strerror(rc));
			}
			return -1;
		}
		/* The query may name a correspondent (a key lookup's). */
		sb_log_debug("%s %.*s: try %u failed (%s), retrying", method,
		             (int)strcspn(path, "?"), path, attempt,
		             rc != CURLE_OK ? curl_easy_strerror(rc)
		                            : "status");
		api_backoff(c, attempt, x->retry_after);
	}
}

void
api_xfer_init(struct api_xfer *x, size_t max)
{
	memset(x, 0, sizeof(*x));
	x->upload_fd = -1;
	sb_buf_init(&x->resp, max);
}

/* Parses a 2xx body into r->json (none for an empty body). */
static int
api_reply_json(struct api_reply *r, const struct api_xfer *x)
{
	const char *error;

	r->status = (unsigned)x->status;
	if (x->resp.len == 0)
		return 0;
	if (api_json_parse(x->resp.data, x->resp.len, &r->json, &error) != 0) {
		r->error = API_ERR_SERVER_ERROR;
		snprintf(r->message, sizeof(r->message),
		         "the service sent a malformed answer: %s", error);
		return -1;
	}
	return 0;
}

/* The Idempotency-Key's alphabet and length (docs/api.md). */
static bool
api_idem_key_ok(const char *key)
{
	size_t len = strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "abcdefghijklmnopqrstuvwxyz0123456789_-");

	return len > 0 && len <= API_IDEM_KEY_MAX && key[len] == '\0';
}

int
api_call(struct api_client *c, const char *method, const char *path,
         struct json_object *body, struct api_reply *r)
{
	return api_call_idem(c, method, path, body, NULL, r);
}

int
api_call_idem(struct api_client *c, const char *method, const char *path,
              struct json_object *body, const char *idem_key,
              struct api_reply *r)
{
	struct api_xfer x;
	size_t len = 0;
	int ret;

	api_reply_clear(r);
	if (idem_key != NULL && !api_idem_key_ok(idem_key)) {
		r->error = API_ERR_INVALID_REQUEST;
		snprintf(r->message, sizeof(r->message),
		         "not an idempotency key");
		return -1;
	}
	api_xfer_init(&x, c->o.max_json);
	/* Answers of the auth endpoints hold tokens: a wiping buffer. */
	if (strncmp(path, "/api/v1/auth/", 13) == 0)
		sb_buf_init_secret(&x.resp, c->o.max_json);
	if (body != NULL)
		x.body = api_json_text(body, &len);
	x.body_len = len;
	ret = api_exchange(c, method, path, idem_key, true, &x, r);
	if (ret == 0)
		ret = api_reply_json(r, &x);
	sb_buf_free_wipe(&x.resp);
	return ret;
}

/* The refresh exchange itself; the new session goes to c. */
static int
api_refresh_once(struct api_client *c, struct api_reply *r)
{
	struct json_object *body = json_object_new_object();
	struct api_reply rr;
	struct api_session s;
	const char *error;
	int ret;

	api_json_add_string(body, "refresh_token", c->refresh_token);
	/* Without the expired access token: refresh needs none. */
	api_free_secret(&c->access_token);
	api_reply_init(&rr);
	ret = api_call(c, "POST", "/api/v1/auth/refresh", body, &rr);
	json_object_put(body);
	if (ret != 0) {
		*r = rr;
		return -1;
	}
	if (rr.json == NULL ||
	    api_session_decode(rr.json, API_LENIENT, &s, &error) != 0) {
		api_reply_clear(&rr);
		r->status = 0;
		r->error = API_ERR_SERVER_ERROR;
		snprintf(r->message, sizeof(r->message),
		         "the service sent a malformed session");
		return -1;
	}
	api_client_set_session(c, s.access_token, s.refresh_token);
	if (c->on_tokens != NULL)
		c->on_tokens(c->on_tokens_ctx, &s);
	api_session_free(&s);
	api_reply_clear(&rr);
	return 0;
}

/*
 * Renews the session. With a share, only one client refreshes at a time;
 * one whose session another client already renewed takes the new tokens.
 */
int
api_refresh(struct api_client *c, struct api_reply *r)
{
	struct api_session_share *s = c->share;
	int ret;

	if (s == NULL)
		return api_refresh_once(c, r);
	pthread_mutex_lock(&s->lock);
	if (s->gen != c->share_gen) {
		api_client_set_session(c, s->access_token, s->refresh_token);
		c->share_gen = s->gen;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	c->refreshing = true;
	ret = api_refresh_once(c, r);
	c->refreshing = false;
	if (ret == 0) {
		api_free_secret(&s->access_token);
		api_free_secret(&s->refresh_token);
		s->access_token = sb_strdup(c->access_token);
		s->refresh_token = sb_strdup(c->refresh_token);
		c->share_gen = ++s->gen;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
api_blob_upload(struct api_client *c, int fd, uint64_t size, bool transient,
                char blob_id_r[API_ID_MAX + 1], struct api_reply *r)
{
	return api_blob_upload_idem(c, fd, size, transient, NULL, blob_id_r, r);
}

int
api_blob_upload_idem(struct api_client *c, int fd, uint64_t size,
                     bool transient, const char *idem_key,
                     char blob_id_r[API_ID_MAX + 1], struct api_reply *r)
{
	const char *id = NULL, *error;
	struct api_xfer x;
	off_t start;
	int ret;

	api_reply_clear(r);
	if (idem_key != NULL && !api_idem_key_ok(idem_key)) {
		r->error = API_ERR_INVALID_REQUEST;
		snprintf(r->message, sizeof(r->message),
		         "not an idempotency key");
		return -1;
	}
	start = lseek(fd, 0, SEEK_CUR);
	if (start < 0) {
		r->error = API_ERR_SERVER_ERROR;
		snprintf(r->message, sizeof(r->message),
		         "cannot read the upload");
		return -1;
	}
	api_xfer_init(&x, 64 * 1024);
	x.upload_fd = fd;
	x.upload_start = (uint64_t)start;
	x.upload_len = size;
	ret = api_exchange(c, "POST",
	                   transient ? "/api/v1/blobs?transient=true"
	                             : "/api/v1/blobs",
	                   idem_key, false, &x, r);
	if (ret == 0 &&
	    (api_reply_json(r, &x) != 0 || r->json == NULL ||
	     api_json_get_id(r->json, "blob_id", true, &id, &error) != 0)) {
		r->error = API_ERR_SERVER_ERROR;
		snprintf(r->message, sizeof(r->message),
		         "the service sent a malformed blob answer");
		ret = -1;
	}
	if (ret == 0)
		snprintf(blob_id_r, API_ID_MAX + 1, "%s", id);
	sb_buf_free(&x.resp);
	return ret;
}

int
api_blob_download(struct api_client *c, const char *blob_id, uint64_t max_size,
                  api_sink_fn *sink, void *ctx, struct api_reply *r)
{
	char path[API_ID_MAX + 32], range[64];
	bool refreshed = false;
	struct api_xfer x;
	unsigned attempt;
	CURLcode rc;
	int ret = -1;

	api_reply_clear(r);
	if (!api_is_id(blob_id, strlen(blob_id))) {
		r->error = API_ERR_INVALID_REQUEST;
		snprintf(r->message, sizeof(r->message), "not a blob id");
		return -1;
	}
	snprintf(path, sizeof(path), "/api/v1/blobs/%s", blob_id);
	api_xfer_init(&x, 64 * 1024);
	x.sink = sink;
	x.sink_ctx = ctx;
	x.sink_max = max_size;
	for (attempt = 1;; attempt++) {
		if (attempt > 1 && x.status == 401 && !refreshed &&
		    c->refresh_token != NULL) {
			api_reply_error(r, &x);
			if (!api_session_renewable(c, r) ||
			    api_refresh(c, r) != 0)
				break;
			refreshed = true;
		}
		r->attempts = attempt;
		sb_buf_reset(&x.resp);
		snprintf(range, sizeof(range), "bytes=%llu-",
		         (unsigned long long)x.sink_got);
		x.resume_at = x.sink_got;
		x.skip_left = x.sink_got;
		rc = api_perform(c, "GET", path, NULL, true,
		                 x.sink_got > 0 ? range : NULL, &x);
		if (x.wrong_offset) {
			r->error = API_ERR_SERVER_ERROR;
			snprintf(r->message, sizeof(r->message),
			         "the service resumed at the wrong offset");
			break;
		}
		if (rc == CURLE_OK && x.status >= 200 && x.status < 300) {
			r->status = (unsigned)x.status;
			ret = 0;
			break;
		}
		if (rc == CURLE_OK && x.status == 401 && !refreshed &&
		    c->refresh_token != NULL)
			continue;
		if ((rc == CURLE_OK && !api_status_retryable(x.status)) ||
		    x.sink_failed || x.too_large ||
		    attempt >= c->o.max_attempts) {
			if (rc == CURLE_OK && !x.sink_failed && !x.too_large) {
				api_reply_error(r, &x);
			} else {
				r->error = API_ERR_UNAVAILABLE;
				snprintf(r->message, sizeof(r->message), "%s",
				         x.too_large ? "the blob is too large"
				         : x.sink_failed
				                 ? "the download could not be "
				                   "stored"
				                 : curl_easy_strerror(rc));
			}
			break;
		}
		api_backoff(c, attempt, x.retry_after);
	}
	sb_buf_free(&x.resp);
	return ret;
}
