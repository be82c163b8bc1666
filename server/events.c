/*
 * GET /api/v1/events: a server-sent events stream of the account's state
 * (docs/api.md, Sync). The stream outlives the request struct, so it
 * keeps its own copy of what it needs and its own database connection,
 * and polls the account's modseq, which also sees changes other
 * processes (saltmaild deliver) commit to the same database. Each poll
 * also reads its session: the stream ends when the session is revoked
 * (logout, a password change, a reused refresh token) or its access
 * token expired. An account has at most SRV_EVENTS_PER_ACCOUNT streams.
 */
#include "server-private.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "common/alloc.h"
#include "common/log.h"

/* How often the account row is read, in milliseconds. */
#define SRV_EVENTS_POLL_MS 200
/* At most one state event per this many milliseconds. */
#define SRV_EVENTS_COALESCE_MS 100
/* A comment line keeps the connection alive this often. */
#define SRV_EVENTS_PING_MS 25000
/* Streams open at once per account, and the wait suggested past them. */
#define SRV_EVENTS_PER_ACCOUNT 8
#define SRV_EVENTS_RETRY_S     10

/* One stream's state, owned by its response. */
struct srv_events {
	struct srv *srv; /* for srv->stopping; outlives every connection */
	char *db_path;
	char account_id[API_ACCOUNT_ID_LEN + 1];
	int64_t session_id; /* the stream lives while this session does */
	int client_fd;
	sqlite3 *db;
	int64_t sent_modseq; /* the state last sent */
	uint64_t last_event; /* ms, monotonic */
	uint64_t last_write; /* ms, monotonic */
	char out[128];       /* text waiting to be sent */
	size_t out_len, out_pos;
};

static uint64_t
srv_events_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The account's modseq, read with its session: 0 with *modseq_r, 1 when
 * the session is revoked, gone or its access token expired, -1 when it
 * cannot be read.
 */
static int SB_WUR
srv_events_modseq(sqlite3 *db, const char *account_id, int64_t session_id,
                  int64_t *modseq_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT a.modseq, s.revoked, s.access_expires FROM "
	            "accounts a JOIN sessions s ON s.account_id = a.id WHERE "
	            "a.id = ?1 AND s.id = ?2");
	int rc, ret = -1;

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, session_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*modseq_r = sqlite3_column_int64(st, 0);
		ret = sqlite3_column_int64(st, 1) != 0 ||
		                      (uint64_t)sqlite3_column_int64(st, 2) <=
		                              srv_now()
		              ? 1
		              : 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	}
	sqlite3_finalize(st);
	return ret;
}

/*
 * Counts a stream of the account: 0, or -1 when it has as many as it may
 * (with the lock; the table holds one entry per account with streams, so
 * the connection limit bounds it).
 */
static int SB_WUR
srv_events_enter(struct srv *srv, const char *account_id)
{
	struct srv_stream_count *c = NULL;
	size_t i;
	int ret = 0;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->n_streams && c == NULL; i++) {
		if (strcmp(srv->streams[i].account_id, account_id) == 0)
			c = &srv->streams[i];
	}
	if (c == NULL) {
		srv->streams = sb_reallocarray(srv->streams, srv->n_streams + 1,
		                               sizeof(*srv->streams));
		c = &srv->streams[srv->n_streams++];
		snprintf(c->account_id, sizeof(c->account_id), "%s",
		         account_id);
		c->n = 0;
	}
	if (c->n >= SRV_EVENTS_PER_ACCOUNT)
		ret = -1;
	else
		c->n++;
	pthread_mutex_unlock(&srv->lock);
	return ret;
}

/* A stream of the account ended. */
static void
srv_events_leave(struct srv *srv, const char *account_id)
{
	size_t i;

	pthread_mutex_lock(&srv->lock);
	for (i = 0; i < srv->n_streams; i++) {
		if (strcmp(srv->streams[i].account_id, account_id) != 0)
			continue;
		if (--srv->streams[i].n == 0)
			srv->streams[i] = srv->streams[--srv->n_streams];
		break;
	}
	pthread_mutex_unlock(&srv->lock);
}

/* Queues the state event for modseq. */
static void
srv_events_state(struct srv_events *ev, int64_t modseq, uint64_t now)
{
	int n = snprintf(ev->out, sizeof(ev->out),
	                 "event: state\ndata: {\"state\": \"s%lld\"}\n\n",
	                 (long long)modseq);

	ev->out_len = n > 0 && (size_t)n < sizeof(ev->out) ? (size_t)n : 0;
	ev->out_pos = 0;
	ev->sent_modseq = modseq;
	ev->last_event = now;
}

/*
 * Waits up to timeout_ms for the client to go away. Returns true when it
 * did (or sent something a stream does not expect).
 */
static bool
srv_events_client_gone(struct srv_events *ev, int timeout_ms)
{
	struct pollfd pfd = {.fd = ev->client_fd, .events = POLLIN | POLLRDHUP};
	char c;
	int rc;

	if (ev->client_fd < 0) {
		poll(NULL, 0, timeout_ms);
		return false;
	}
	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0)
		return errno != EINTR;
	if (rc == 0)
		return false;
	if ((pfd.revents & (POLLHUP | POLLERR | POLLRDHUP | POLLNVAL)) != 0)
		return true;
	/* EOF, or bytes (a TLS close_notify) the stream will not read. */
	rc = (int)recv(ev->client_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return rc >= 0 ||
	       (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/*
 * Blocks (this is the connection's own thread) until there is something
 * to send: a new state, at most one per SRV_EVENTS_COALESCE_MS, or a ping.
 * Returns 0 with ev->out filled, 1 at the end of the stream, -1 on error.
 */
static int SB_WUR
srv_events_wait(struct srv_events *ev)
{
	const char *error;
	int64_t modseq;
	uint64_t now;
	int rc;

	if (ev->db == NULL && srv_db_open(ev->db_path, &ev->db, &error) != 0) {
		sb_log_error("events: %s", error);
		return -1;
	}
	for (;;) {
		if (ev->srv->stopping)
			return 1;
		now = srv_events_ms();
		rc = srv_events_modseq(ev->db, ev->account_id, ev->session_id,
		                       &modseq);
		if (rc != 0)
			return rc;
		if (modseq != ev->sent_modseq &&
		    now >= ev->last_event + SRV_EVENTS_COALESCE_MS) {
			srv_events_state(ev, modseq, now);
			return 0;
		}
		if (now >= ev->last_write + SRV_EVENTS_PING_MS) {
			memcpy(ev->out, ": ping\n\n", 8);
			ev->out_len = 8;
			ev->out_pos = 0;
			return 0;
		}
		if (srv_events_client_gone(ev, modseq != ev->sent_modseq
		                                       ? SRV_EVENTS_COALESCE_MS
		                                       : SRV_EVENTS_POLL_MS))
			return -1;
	}
}

/* libmicrohttpd's content reader: the next bytes of the stream. */
static ssize_t
srv_events_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv_events *ev = cls;
	size_t n;
	int rc;

	(void)pos;
	if (ev->out_pos == ev->out_len) {
		rc = srv_events_wait(ev);
		if (rc > 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc < 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = ev->out_len - ev->out_pos;
	if (n > max)
		n = max;
	memcpy(buf, ev->out + ev->out_pos, n);
	ev->out_pos += n;
	ev->last_write = srv_events_ms();
	return (ssize_t)n;
}

static void
srv_events_free(void *cls)
{
	struct srv_events *ev = cls;

	srv_events_leave(ev->srv, ev->account_id);
	sqlite3_close(ev->db);
	free(ev->db_path);
	free(ev);
}

/* The client's socket, to notice when it goes away; -1 when unknown. */
static int SB_WUR
srv_events_fd(struct srv_req *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci != NULL ? ci->connect_fd : -1;
}

int
srv_h_events(struct srv_req *req)
{
	struct srv_events *ev;
	int64_t modseq;
	int rc;

	rc = srv_events_modseq(req->db, req->account_id, req->session_id,
	                       &modseq);
	if (rc > 0)
		return srv_fail(req, API_ERR_UNAUTHORIZED,
		                "the session ended; log in again");
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (srv_events_enter(req->srv, req->account_id) != 0) {
		req->retry_after = SRV_EVENTS_RETRY_S;
		return srv_fail(req, API_ERR_RATE_LIMITED,
		                "this account has %d event streams open "
		                "already",
		                SRV_EVENTS_PER_ACCOUNT);
	}
	/* From here srv_events_free counts the stream out. */
	ev = sb_calloc(1, sizeof(*ev));
	ev->srv = req->srv;
	ev->db_path = sb_strdup(req->srv->db_path);
	ev->session_id = req->session_id;
	snprintf(ev->account_id, sizeof(ev->account_id), "%s", req->account_id);
	ev->client_fd = srv_events_fd(req);
	/* The first event goes at once. */
	srv_events_state(ev, modseq, srv_events_ms());
	req->response = MHD_create_response_from_callback(
	        MHD_SIZE_UNKNOWN, 1024, srv_events_read, ev, srv_events_free);
	if (req->response == NULL) {
		srv_events_free(ev);
		return srv_fail(req, API_ERR_SERVER_ERROR, "out of memory");
	}
	MHD_add_response_header(req->response, "Content-Type",
	                        "text/event-stream");
	MHD_add_response_header(req->response, "Cache-Control", "no-store");
	req->status = 200;
	return 0;
}
