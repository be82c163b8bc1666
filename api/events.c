/*
 * GET /api/v1/events through the client's handle (events.h). The
 * exchange runs on a multi handle of its own so that the wait for data
 * also watches stop_fd and wakes at least every API_EVENTS_TICK_MS; the
 * progress callback checks stop_fd and the stall timer as well. libcurl's
 * own stall check is off for this call: a healthy stream is quiet for 25 s
 * between pings, and one ping is too few bytes for a speed limit, so the
 * call times the silence itself.
 */
#include "events.h"

#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client-private.h"

#define API_EVENTS_TICK_MS 200

struct api_events_state {
	struct api_sse_parser parser;
	CURL *handle;
	int stop_fd;
	uint64_t last_data_ms; /* when bytes last came, monotonic */
	bool type_checked;     /* the answer is an event stream */
	bool stopped;          /* fn asked to stop, or stop_fd fired */
	bool stalled;
	bool bad_type;
	const char *parse_error; /* set when the parser failed */
};

static uint64_t
api_events_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* True when the exchange must end now: stop_fd fired, or a stall. */
static bool
api_events_check(struct api_events_state *st)
{
	struct pollfd pfd = {.fd = st->stop_fd, .events = POLLIN};

	if (st->stop_fd >= 0 && poll(&pfd, 1, 0) > 0 &&
	    (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
		st->stopped = true;
	else if (api_events_now_ms() - st->last_data_ms >
	         (uint64_t)API_EVENTS_STALL_S * 1000)
		st->stalled = true;
	return st->stopped || st->stalled;
}

static int
api_events_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
                    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return api_events_check(ctx) ? 1 : 0;
}

/* The body of a 2xx answer: checked to be an event stream, then parsed. */
static int
api_events_sink(void *ctx, const void *data, size_t len)
{
	struct api_events_state *st = ctx;
	const char *type = NULL;
	int rc;

	st->last_data_ms = api_events_now_ms();
	if (!st->type_checked) {
		curl_easy_getinfo(st->handle, CURLINFO_CONTENT_TYPE, &type);
		if (type == NULL ||
		    strncasecmp(type, "text/event-stream", 17) != 0) {
			st->bad_type = true;
			return -1;
		}
		st->type_checked = true;
	}
	rc = api_sse_feed(&st->parser, data, len, &st->parse_error);
	if (rc == 1)
		st->stopped = true;
	return rc == 0 ? 0 : -1;
}

/* The result of the one transfer of multi handle m. */
static CURLcode
api_events_result(CURLM *m)
{
	CURLcode rc = CURLE_RECV_ERROR;
	struct CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	}
	return rc;
}

/* Runs the prepared handle until it ends or must stop. */
static CURLcode SB_WUR
api_events_perform(struct api_client *c, struct api_events_state *st,
                   struct api_xfer *x)
{
	CURLM *m = curl_multi_init();
	CURLcode rc = CURLE_OK;
	int running, n;

	if (m == NULL || curl_multi_add_handle(m, c->curl) != CURLM_OK) {
		curl_multi_cleanup(m);
		return CURLE_OUT_OF_MEMORY;
	}
	for (;;) {
		struct curl_waitfd w = {st->stop_fd, CURL_WAIT_POLLIN, 0};

		running = 0;
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
		if (running == 0) {
			rc = api_events_result(m);
			break;
		}
		if (api_events_check(st)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_poll(m, &w, st->stop_fd >= 0 ? 1 : 0,
		                    API_EVENTS_TICK_MS, &n) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &x->status);
	curl_multi_remove_handle(m, c->curl);
	curl_multi_cleanup(m);
	return rc;
}

/* Sets r for a call that ends with -1. */
static int SB_WUR
api_events_fail(struct api_reply *r, enum api_error_type type, const char *why)
{
	r->error = type;
	snprintf(r->message, sizeof(r->message), "%s", why);
	return -1;
}

/* Turns how the exchange ended into the call's result. */
static int SB_WUR
api_events_outcome(const struct api_events_state *st, const struct api_xfer *x,
                   CURLcode rc, struct api_reply *r)
{
	bool ok_status = x->status >= 200 && x->status < 300;

	r->status = (unsigned)x->status;
	if (st->stopped)
		return 1;
	if (st->bad_type)
		return api_events_fail(r, API_ERR_SERVER_ERROR,
		                       "the service did not answer with an "
		                       "event stream");
	if (st->parse_error != NULL)
		return api_events_fail(r, API_ERR_SERVER_ERROR,
		                       st->parse_error);
	if (st->stalled)
		return api_events_fail(r, API_ERR_UNAVAILABLE,
		                       "the event stream stalled");
	if (ok_status) {
		snprintf(r->message, sizeof(r->message), "the stream %s",
		         rc == CURLE_OK ? "ended" : curl_easy_strerror(rc));
		return 0;
	}
	if (rc == CURLE_OK) {
		api_reply_error(r, x);
		return -1;
	}
	r->status = 0;
	return api_events_fail(r, API_ERR_UNAVAILABLE, curl_easy_strerror(rc));
}

/* One try: prepares the handle and runs it. */
static CURLcode SB_WUR
api_events_try(struct api_client *c, struct api_events_state *st,
               struct api_xfer *x)
{
	struct curl_slist *h;
	CURLcode rc;

	api_xfer_init(x, 64 * 1024);
	x->accept = "text/event-stream";
	x->own_stall = true;
	x->progress = api_events_progress;
	x->progress_ctx = st;
	x->sink = api_events_sink;
	x->sink_ctx = st;
	x->sink_max = UINT64_MAX;
	st->handle = c->curl;
	st->last_data_ms = api_events_now_ms();
	h = api_prepare(c, "GET", "/api/v1/events", NULL, true, NULL, x);
	rc = api_events_perform(c, st, x);
	api_headers_free(h);
	return rc;
}

int
api_events_run(struct api_client *c, api_event_fn *fn, void *ctx, int stop_fd,
               struct api_reply *r)
{
	struct api_events_state st;
	struct api_xfer x;
	bool refreshed = false;
	CURLcode rc;
	int ret;

	api_reply_clear(r);
	memset(&st, 0, sizeof(st));
	st.stop_fd = stop_fd;
	api_sse_parser_init(&st.parser, API_SSE_LINE_MAX, API_SSE_EVENT_MAX, fn,
	                    ctx);
	for (;;) {
		r->attempts++;
		rc = api_events_try(c, &st, &x);
		if (rc != CURLE_OK || x.status != 401 || refreshed ||
		    c->refresh_token == NULL)
			break;
		/* An expired token: refresh once and connect again. */
		api_reply_error(r, &x);
		if (!api_session_renewable(c, r))
			break;
		sb_buf_free(&x.resp);
		if (api_refresh(c, r) != 0) {
			api_sse_parser_free(&st.parser);
			return -1;
		}
		refreshed = true;
	}
	ret = api_events_outcome(&st, &x, rc, r);
	sb_buf_free(&x.resp);
	api_sse_parser_free(&st.parser);
	return ret;
}
