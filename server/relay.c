/*
 * The smarthost relay: a background thread that sends the cleartext
 * queued by submissions for other services over SMTP, with retries, and
 * deletes it once sent; it also sweeps unused blobs.
 */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/net.h"
#include "common/sv.h"
#include "crypto/crypto.h"

/* How often the queue is looked at, and the blobs swept. */
#define SRV_RELAY_TICK_S  1
#define SRV_RELAY_SWEEP_S 600
/* Every wait for the smarthost ends after this long. */
#define SRV_RELAY_TIMEOUT_MS 30000
#define SRV_RELAY_MAX_RCPTS  100
/* Retries wait 60 s, doubling up to an hour. */
#define SRV_RELAY_BACKOFF_MAX 3600
#define SRV_RELAY_CHUNK       16384

struct srv_relay {
	struct srv *srv;
	sqlite3 *db;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	char host[256];
	unsigned port;
	char helo[256];
};

enum srv_relay_outcome {
	SRV_RELAY_RETRY,
	SRV_RELAY_SENT,
	SRV_RELAY_FAILED, /* refused for good */
};

/* The queued recipients of one message from one sender. */
struct srv_relay_batch {
	char blob_id[API_ID_MAX + 1];
	char sender[API_EMAIL_MAX + 1];
	int64_t rows[SRV_RELAY_MAX_RCPTS];
	char rcpts[SRV_RELAY_MAX_RCPTS][API_EMAIL_MAX + 1];
	int codes[SRV_RELAY_MAX_RCPTS]; /* RCPT replies */
	size_t n;
	int mail_code, data_code;
};

/* Reads one SMTP reply, all its lines; returns its code, or -1. */
static int SB_WUR
srv_smtp_reply(struct sb_conn *conn)
{
	enum sb_conn_status status;
	const char *error;
	struct sb_sv line;
	int i, code;

	for (i = 0; i < 100; i++) {
		if (sb_conn_read_line(conn, &line, &status, &error) != 1)
			return -1;
		if (line.len < 3 || line.p[0] < '2' || line.p[0] > '5' ||
		    line.p[1] < '0' || line.p[1] > '9' || line.p[2] < '0' ||
		    line.p[2] > '9')
			return -1;
		code = (line.p[0] - '0') * 100 + (line.p[1] - '0') * 10 +
		       (line.p[2] - '0');
		if (line.len == 3 || line.p[3] != '-')
			return code;
	}
	return -1;
}

/* Sends one command line and returns the reply's code, or -1. */
static int SB_WUR
srv_smtp_cmd(struct sb_conn *conn, const char *verb, const char *arg)
{
	const char *error;
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%s%s\r\n", verb, arg);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    sb_conn_write(conn, line, (size_t)n, &error) != 0)
		return -1;
	return srv_smtp_reply(conn);
}

/*
 * Sends the message file as DATA: every line end as CRLF, a dot doubled at
 * the start of a line, and the final "." line.
 */
static int SB_WUR
srv_smtp_body(struct sb_conn *conn, int fd)
{
	unsigned char *in = sb_malloc(SRV_RELAY_CHUNK);
	char *out = sb_malloc(2 * SRV_RELAY_CHUNK + 8);
	bool bol = true, cr = false;
	const char *error;
	size_t o, i;
	ssize_t n;
	int ret = -1;

	for (;;) {
		n = read(fd, in, SRV_RELAY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (i = 0, o = 0; i < (size_t)n; i++) {
			if (bol && in[i] == '.')
				out[o++] = '.';
			if (in[i] == '\n' && !cr)
				out[o++] = '\r';
			out[o++] = (char)in[i];
			bol = in[i] == '\n';
			cr = in[i] == '\r';
		}
		if (sb_conn_write(conn, out, o, &error) != 0)
			goto out;
	}
	if (n == 0 && sb_conn_write(conn, bol ? ".\r\n" : "\r\n.\r\n",
	                            bol ? 3 : 5, &error) == 0)
		ret = 0;
out:
	free(in);
	free(out);
	return ret;
}

/* One SMTP transaction: the replies land in b's codes. */
static void
srv_relay_session(struct srv_relay *r, struct srv_relay_batch *b,
                  struct sb_conn *conn, int fd)
{
	char arg[API_EMAIL_MAX + 8];
	bool any = false;
	size_t i;

	if (srv_smtp_reply(conn) != 220)
		return;
	if (srv_smtp_cmd(conn, "EHLO ", r->helo) != 250 &&
	    srv_smtp_cmd(conn, "HELO ", r->helo) != 250)
		return;
	snprintf(arg, sizeof(arg), "<%s>", b->sender);
	b->mail_code = srv_smtp_cmd(conn, "MAIL FROM:", arg);
	if (b->mail_code / 100 != 2)
		return;
	for (i = 0; i < b->n; i++) {
		snprintf(arg, sizeof(arg), "<%s>", b->rcpts[i]);
		b->codes[i] = srv_smtp_cmd(conn, "RCPT TO:", arg);
		if (b->codes[i] < 0)
			return;
		any = any || b->codes[i] / 100 == 2;
	}
	if (!any || srv_smtp_cmd(conn, "DATA", "") != 354)
		return;
	if (srv_smtp_body(conn, fd) == 0)
		b->data_code = srv_smtp_reply(conn);
	(void)!srv_smtp_cmd(conn, "QUIT", "");
}

/* What became of recipient i. */
static enum srv_relay_outcome
srv_relay_outcome(const struct srv_relay_batch *b, size_t i)
{
	if (b->mail_code / 100 == 5 || b->codes[i] / 100 == 5)
		return SRV_RELAY_FAILED;
	if (b->codes[i] / 100 != 2)
		return SRV_RELAY_RETRY;
	if (b->data_code / 100 == 2)
		return SRV_RELAY_SENT;
	return b->data_code / 100 == 5 ? SRV_RELAY_FAILED : SRV_RELAY_RETRY;
}

/* Connects to the smarthost and sends the batch. */
static void
srv_relay_send(struct srv_relay *r, struct srv_relay_batch *b)
{
	char *path = srv_blob_path_in(r->srv->blob_dir, b->blob_id);
	int fd = open(path, O_RDONLY | O_CLOEXEC), sock;
	struct sb_conn *conn;
	const char *error;
	size_t i;

	free(path);
	if (fd < 0) {
		sb_log_error("relay: blob %s: %s", b->blob_id,
		             strerrordesc_np(errno));
		b->mail_code = 554; /* nothing left to send */
		return;
	}
	if (sb_net_connect(r->host, r->port, SRV_RELAY_TIMEOUT_MS, &sock,
	                   &error) != 0) {
		sb_log_warn("relay: %s:%u: %s", r->host, r->port, error);
		close(fd);
		return;
	}
	conn = sb_conn_new(sock, 2048, SRV_RELAY_TIMEOUT_MS);
	srv_relay_session(r, b, conn, fd);
	sb_conn_free(&conn);
	close(fd);
	for (i = 0; i < b->n; i++) {
		enum srv_relay_outcome o = srv_relay_outcome(b, i);

		if (o != SRV_RELAY_SENT)
			sb_log_warn("relay of %s to a recipient %s (reply %d)",
			            b->blob_id,
			            o == SRV_RELAY_FAILED ? "failed for good"
			                                  : "is deferred",
			            b->codes[i] > 0 ? b->codes[i]
			                            : b->data_code);
	}
}

/* The next due batch: 1 found, 0 none, -1 error. */
static int SB_WUR
srv_relay_next(sqlite3 *db, uint64_t now, struct srv_relay_batch *b)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT blob_id, sender FROM relay_queue WHERE "
	            "next_at <= ?1 ORDER BY id LIMIT 1");
	int rc;

	memset(b, 0, sizeof(*b));
	sqlite3_bind_int64(st, 1, (int64_t)now);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(b->blob_id, sizeof(b->blob_id), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		snprintf(b->sender, sizeof(b->sender), "%s",
		         (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? 0 : -1;
	st = srv_db_prepare(db, "SELECT id, rcpt FROM relay_queue WHERE "
	                        "blob_id = ?1 AND sender = ?2 AND "
	                        "next_at <= ?3 ORDER BY id LIMIT ?4");
	sqlite3_bind_text(st, 1, b->blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)now);
	sqlite3_bind_int(st, 4, SRV_RELAY_MAX_RCPTS);
	while (b->n < SRV_RELAY_MAX_RCPTS && sqlite3_step(st) == SQLITE_ROW) {
		b->rows[b->n] = sqlite3_column_int64(st, 0);
		snprintf(b->rcpts[b->n], sizeof(b->rcpts[b->n]), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		b->n++;
	}
	sqlite3_finalize(st);
	return b->n > 0 ? 1 : -1;
}

/* Records one recipient's outcome: gone from the queue, or retried. */
static int SB_WUR
srv_relay_record(sqlite3 *db, int64_t row, enum srv_relay_outcome o,
                 uint64_t now)
{
	sqlite3_stmt *st;

	if (o != SRV_RELAY_RETRY) {
		st = srv_db_prepare(db, "DELETE FROM relay_queue WHERE "
		                        "id = ?1");
	} else {
		st = srv_db_prepare(
		        db, "UPDATE relay_queue SET attempts = attempts + 1, "
		            "next_at = ?2 + MIN(?3, 60 << MIN(attempts, 6)) "
		            "WHERE id = ?1");
		sqlite3_bind_int64(st, 2, (int64_t)now);
		sqlite3_bind_int(st, 3, SRV_RELAY_BACKOFF_MAX);
	}
	sqlite3_bind_int64(st, 1, row);
	return srv_db_step_done(st);
}

/*
 * Records the batch's outcomes; once no recipient of the blob is left in
 * the queue, the cleartext blob goes.
 */
static int SB_WUR
srv_relay_finish(struct srv_relay *r, const struct srv_relay_batch *b)
{
	char *path = NULL;
	sqlite3_stmt *st;
	uint64_t now = srv_now();
	size_t i;
	int left = -1, ret = 0;

	if (srv_db_exec(r->db, "BEGIN IMMEDIATE") != 0)
		return -1;
	for (i = 0; i < b->n && ret == 0; i++)
		ret = srv_relay_record(r->db, b->rows[i],
		                       srv_relay_outcome(b, i), now);
	st = srv_db_prepare(r->db, "SELECT COUNT(*) FROM relay_queue WHERE "
	                           "blob_id = ?1");
	sqlite3_bind_text(st, 1, b->blob_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		left = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (ret == 0 && left == 0)
		ret = srv_blob_unref(NULL, r->db, r->srv->blob_dir, b->blob_id,
		                     &path);
	if (ret == 0 && left >= 0 && srv_db_exec(r->db, "COMMIT") == 0) {
		if (path != NULL)
			unlink(path);
		free(path);
		return 0;
	}
	free(path);
	(void)!srv_db_exec(r->db, "ROLLBACK");
	return -1;
}

/* Sends what is due, batch after batch, until none is or we stop. */
static void
srv_relay_run(struct srv_relay *r)
{
	struct srv_relay_batch *b = sb_malloc(sizeof(*b));

	while (!r->srv->stopping && srv_relay_next(r->db, srv_now(), b) > 0) {
		srv_relay_send(r, b);
		if (srv_relay_finish(r, b) != 0) {
			sb_log_error("relay: cannot update the queue");
			break;
		}
	}
	free(b);
}

/* The background thread: the relay queue, and the blob sweep. */
static void *
srv_relay_main(void *arg)
{
	struct srv_relay *r = arg;
	uint64_t last_sweep = 0;
	struct timespec ts;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		if (r->host[0] != '\0')
			srv_relay_run(r);
		if (srv_now() >= last_sweep + SRV_RELAY_SWEEP_S) {
			last_sweep = srv_now();
			if (srv_blob_sweep(r->db, r->srv->blob_dir,
			                   last_sweep) != 0)
				sb_log_error("cannot sweep unused blobs");
		}
		pthread_mutex_lock(&r->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SRV_RELAY_TICK_S;
		if (!r->stop)
			pthread_cond_timedwait(&r->cond, &r->lock, &ts);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Splits "host:port" or "[v6]:port" (port 25 when absent). */
static int SB_WUR
srv_relay_parse(const char *spec, struct srv_relay *r, const char **error_r)
{
	const char *host = spec, *colon = strrchr(spec, ':');
	const char *bracket = strrchr(spec, ']');
	size_t len = strlen(spec);
	uint64_t port = 25;

	/* A colon inside "[v6]" is not the port's. */
	if (colon != NULL && (bracket == NULL || bracket < colon)) {
		len = (size_t)(colon - spec);
		if (sb_sv_to_u64(sb_sv_cstr(colon + 1), 65535, &port) != 0)
			port = 0;
	}
	if (len > 1 && host[0] == '[' && host[len - 1] == ']') {
		host++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(r->host) || port == 0) {
		*error_r = "--smarthost must be HOST:PORT";
		return -1;
	}
	memcpy(r->host, host, len);
	r->host[len] = '\0';
	r->port = (unsigned)port;
	return 0;
}

/*
 * Starts the background thread that relays queued mail to the smarthost
 * (when one is configured) and sweeps unused blobs.
 */
int
srv_relay_start(struct srv *srv, struct srv_relay **relay_r,
                const char **error_r)
{
	struct srv_relay *r = sb_calloc(1, sizeof(*r));

	r->srv = srv;
	if ((srv->config.smarthost != NULL &&
	     srv_relay_parse(srv->config.smarthost, r, error_r) != 0) ||
	    srv_db_open(srv->db_path, &r->db, error_r) != 0) {
		free(r);
		return -1;
	}
	if (gethostname(r->helo, sizeof(r->helo) - 1) != 0 ||
	    r->helo[0] == '\0')
		snprintf(r->helo, sizeof(r->helo), "localhost");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, srv_relay_main, r) != 0) {
		*error_r = "cannot start the relay thread";
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		sqlite3_close(r->db);
		free(r);
		return -1;
	}
	*relay_r = r;
	return 0;
}

/* Stops the thread (after its current SMTP exchange) and frees it. */
void
srv_relay_stop(struct srv_relay **relay)
{
	struct srv_relay *r = *relay;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	sqlite3_close(r->db);
	free(r);
	*relay = NULL;
}
