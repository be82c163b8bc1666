/*
 * The smarthost relay: a background thread that sends the cleartext
 * queued by submissions for other services over SMTP, with retries, and
 * deletes it once sent. A recipient the smarthost refuses for good (5xx),
 * or still defers after --relay-max-age, is returned to the sender: a
 * bounce filed in the sender's INBOX, encrypted on arrival as `deliver`
 * files mail from outside. The thread also runs the sweeps: unused blobs,
 * idempotency records and dead sessions.
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

/* How often the queue is looked at, and the sweeps run. */
#define SRV_RELAY_TICK_S  1
#define SRV_RELAY_SWEEP_S 600
/* Every wait for the smarthost ends after this long. */
#define SRV_RELAY_TIMEOUT_MS 30000
#define SRV_RELAY_MAX_RCPTS  100
/* Retries wait 60 s, doubling up to an hour. */
#define SRV_RELAY_BACKOFF_MAX 3600
#define SRV_RELAY_CHUNK       16384
/* The text kept of an SMTP reply, and of the header a bounce quotes. */
#define SRV_RELAY_REPLY_MAX  256
#define SRV_RELAY_QUOTE_MAX  (16 * 1024)
#define SRV_RELAY_BOUNCE_MAX (SRV_RELAY_QUOTE_MAX + 64 * 1024)

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
	SRV_RELAY_FAILED, /* refused for good, or retried too long */
};

/* The queued recipients of one message from one sender. */
struct srv_relay_batch {
	char blob_id[API_ID_MAX + 1];
	char sender[API_EMAIL_MAX + 1];
	int64_t rows[SRV_RELAY_MAX_RCPTS];
	uint64_t queued_at[SRV_RELAY_MAX_RCPTS];
	char rcpts[SRV_RELAY_MAX_RCPTS][API_EMAIL_MAX + 1];
	int codes[SRV_RELAY_MAX_RCPTS]; /* RCPT replies */
	char replies[SRV_RELAY_MAX_RCPTS][SRV_RELAY_REPLY_MAX];
	size_t n;
	int mail_code, data_code;
	char mail_reply[SRV_RELAY_REPLY_MAX];
	char data_reply[SRV_RELAY_REPLY_MAX];
	char error[SRV_RELAY_REPLY_MAX]; /* when no reply came at all */
};

/* Keeps a reply line as printable ASCII, for a log line or a bounce. */
static void
srv_smtp_keep_text(struct sb_sv line, char *text, size_t size)
{
	size_t i, n = 0;

	for (i = 0; i < line.len && n + 1 < size; i++) {
		unsigned char c = (unsigned char)line.p[i];

		if (c == '\r' || c == '\n')
			break;
		text[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	text[n] = '\0';
}

/*
 * Reads one SMTP reply, all its lines; returns its code, or -1. text
 * (may be NULL) gets its last line.
 */
static int SB_WUR
srv_smtp_reply(struct sb_conn *conn, char *text, size_t size)
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
		if (text != NULL)
			srv_smtp_keep_text(line, text, size);
		if (line.len == 3 || line.p[3] != '-')
			return code;
	}
	return -1;
}

/* Sends one command line and returns the reply's code, or -1. */
static int SB_WUR
srv_smtp_cmd(struct sb_conn *conn, const char *verb, const char *arg,
             char *text, size_t size)
{
	const char *error;
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%s%s\r\n", verb, arg);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    sb_conn_write(conn, line, (size_t)n, &error) != 0)
		return -1;
	return srv_smtp_reply(conn, text, size);
}

/*
 * Sends the message file as DATA: every line end as CRLF, whatever it was
 * (CRLF, a bare LF or a bare CR: a smarthost that takes a bare CR for a
 * line end must see the same lines as this server, or a "." line could be
 * smuggled), a dot doubled at the start of a line, and the final "." line.
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
			if (in[i] == '\n' && cr) {
				/* The LF of a CRLF already sent. */
				cr = false;
				continue;
			}
			cr = in[i] == '\r';
			if (in[i] == '\r' || in[i] == '\n') {
				out[o++] = '\r';
				out[o++] = '\n';
				bol = true;
				continue;
			}
			if (bol && in[i] == '.')
				out[o++] = '.';
			out[o++] = (char)in[i];
			bol = false;
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

/* One SMTP transaction: the replies land in b's codes and texts. */
static void
srv_relay_session(struct srv_relay *r, struct srv_relay_batch *b,
                  struct sb_conn *conn, int fd)
{
	char arg[API_EMAIL_MAX + 8];
	bool any = false;
	size_t i;

	snprintf(b->error, sizeof(b->error),
	         "the smarthost %.128s:%u broke off", r->host, r->port);
	if (srv_smtp_reply(conn, NULL, 0) != 220)
		return;
	if (srv_smtp_cmd(conn, "EHLO ", r->helo, NULL, 0) != 250 &&
	    srv_smtp_cmd(conn, "HELO ", r->helo, NULL, 0) != 250)
		return;
	snprintf(arg, sizeof(arg), "<%s>", b->sender);
	b->mail_code = srv_smtp_cmd(conn, "MAIL FROM:", arg, b->mail_reply,
	                            sizeof(b->mail_reply));
	if (b->mail_code / 100 != 2)
		return;
	for (i = 0; i < b->n; i++) {
		snprintf(arg, sizeof(arg), "<%s>", b->rcpts[i]);
		b->codes[i] = srv_smtp_cmd(conn, "RCPT TO:", arg, b->replies[i],
		                           sizeof(b->replies[i]));
		if (b->codes[i] < 0)
			return;
		any = any || b->codes[i] / 100 == 2;
	}
	if (!any || srv_smtp_cmd(conn, "DATA", "", b->data_reply,
	                         sizeof(b->data_reply)) != 354)
		return;
	if (srv_smtp_body(conn, fd) == 0)
		b->data_code = srv_smtp_reply(conn, b->data_reply,
		                              sizeof(b->data_reply));
	(void)!srv_smtp_cmd(conn, "QUIT", "", NULL, 0);
}

/* What became of recipient i in this attempt. */
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

/* The reply that decided recipient i's outcome, for a bounce or the queue. */
static const char *
srv_relay_reason(const struct srv_relay_batch *b, size_t i)
{
	if (b->mail_code > 0 && b->mail_code / 100 != 2)
		return b->mail_reply;
	if (b->codes[i] > 0 && b->codes[i] / 100 != 2)
		return b->replies[i];
	if (b->data_code > 0 || b->data_reply[0] != '\0')
		return b->data_reply;
	return b->error;
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
		snprintf(b->mail_reply, sizeof(b->mail_reply),
		         "554 the message was lost on this server");
		return;
	}
	if (sb_net_connect(r->host, r->port, SRV_RELAY_TIMEOUT_MS, &sock,
	                   &error) != 0) {
		sb_log_warn("relay: %s:%u: %s", r->host, r->port, error);
		snprintf(b->error, sizeof(b->error),
		         "cannot reach the smarthost %.128s:%u: %.80s", r->host,
		         r->port, error);
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

/*
 * The next due batch: 1 found, 0 none, -1 error. Without a smarthost only
 * recipients queued for longer than the relay's maximum age are due: they
 * go back to their sender.
 */
static int SB_WUR
srv_relay_next(struct srv_relay *r, uint64_t now, struct srv_relay_batch *b)
{
	uint64_t max_age = r->srv->config.relay_max_age;
	int64_t before = INT64_MAX; /* queued at or before */
	sqlite3_stmt *st = srv_db_prepare(
	        r->db, "SELECT blob_id, sender FROM relay_queue WHERE "
	               "next_at <= ?1 AND created_at <= ?2 ORDER BY id "
	               "LIMIT 1");
	int rc;

	if (r->host[0] == '\0')
		before = now >= max_age ? (int64_t)(now - max_age) : -1;
	memset(b, 0, sizeof(*b));
	sqlite3_bind_int64(st, 1, (int64_t)now);
	sqlite3_bind_int64(st, 2, before);
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
	st = srv_db_prepare(r->db, "SELECT id, rcpt, created_at FROM "
	                           "relay_queue WHERE blob_id = ?1 AND "
	                           "sender = ?2 AND next_at <= ?3 AND "
	                           "created_at <= ?5 ORDER BY id LIMIT ?4");
	sqlite3_bind_text(st, 1, b->blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b->sender, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)now);
	sqlite3_bind_int(st, 4, SRV_RELAY_MAX_RCPTS);
	sqlite3_bind_int64(st, 5, before);
	while (b->n < SRV_RELAY_MAX_RCPTS && sqlite3_step(st) == SQLITE_ROW) {
		b->rows[b->n] = sqlite3_column_int64(st, 0);
		snprintf(b->rcpts[b->n], sizeof(b->rcpts[b->n]), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		b->queued_at[b->n] = (uint64_t)sqlite3_column_int64(st, 2);
		b->n++;
	}
	sqlite3_finalize(st);
	return b->n > 0 ? 1 : -1;
}

/* Records one recipient's outcome: gone from the queue, or retried. */
static int SB_WUR
srv_relay_record(sqlite3 *db, int64_t row, enum srv_relay_outcome o,
                 const char *reason, uint64_t now)
{
	sqlite3_stmt *st;

	if (o != SRV_RELAY_RETRY) {
		st = srv_db_prepare(db, "DELETE FROM relay_queue WHERE "
		                        "id = ?1");
	} else {
		st = srv_db_prepare(
		        db, "UPDATE relay_queue SET attempts = attempts + 1, "
		            "next_at = ?2 + MIN(?3, 60 << MIN(attempts, 6)), "
		            "last_reply = ?4 WHERE id = ?1");
		sqlite3_bind_int64(st, 2, (int64_t)now);
		sqlite3_bind_int(st, 3, SRV_RELAY_BACKOFF_MAX);
		sqlite3_bind_text(st, 4, reason, -1, SQLITE_STATIC);
	}
	sqlite3_bind_int64(st, 1, row);
	return srv_db_step_done(st);
}

/* A bounce being made: its recipient and the message, encrypted. */
struct srv_bounce {
	struct srv_inbound_to to;
	struct srv_inbound in;
	bool ready;
};

/* Reads the bounce's text from memory for srv_inbound_encrypt. */
struct srv_mem_reader {
	const char *p;
	size_t len, pos;
};

static ssize_t
srv_mem_read(void *ctx, void *buf, size_t len)
{
	struct srv_mem_reader *m = ctx;
	size_t n = m->len - m->pos;

	if (n > len)
		n = len;
	memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (ssize_t)n;
}

/* Appends the header section of the message (at most a quote's worth). */
static void
srv_bounce_quote(struct srv_relay *r, const char *blob_id, struct sb_buf *out)
{
	char *path = srv_blob_path_in(r->srv->blob_dir, blob_id);
	char *buf = sb_malloc(SRV_RELAY_QUOTE_MAX);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0, i;
	ssize_t n;

	free(path);
	while (fd >= 0 && len < SRV_RELAY_QUOTE_MAX) {
		n = read(fd, buf + len, SRV_RELAY_QUOTE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	/* Up to the empty line that ends the header. */
	for (i = 0; i + 1 < len; i++) {
		if (buf[i] == '\n' &&
		    (buf[i + 1] == '\n' ||
		     (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')))
			break;
	}
	if (len > 0 && (sb_buf_add_str(out, "\r\n--- The header of your "
	                                    "message ---\r\n\r\n") != 0 ||
	                sb_buf_add(out, buf, i + 1 < len ? i + 1 : len) != 0))
		sb_log_warn("relay: the bounce quotes no header");
	sodium_memzero(buf, SRV_RELAY_QUOTE_MAX);
	free(buf);
}

/*
 * Writes the bounce for the failed recipients of b: from the mail
 * system, to the sender, naming each recipient and the reply that failed
 * it. Returns 0, or -1 when out passed its maximum.
 */
static int SB_WUR
srv_bounce_text(struct srv_relay *r, const struct srv_relay_batch *b,
                const enum srv_relay_outcome *o, const char *const *reasons,
                struct sb_buf *out)
{
	unsigned char id[12];
	char date[64], hex[25];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	int rc;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	randombytes_buf(id, sizeof(id));
	sodium_bin2hex(hex, sizeof(hex), id, sizeof(id));
	rc = sb_buf_add_printf(
	        out,
	        "From: Mail Delivery System <mailer-daemon@%s>\r\n"
	        "To: <%s>\r\n"
	        "Subject: Undelivered Mail Returned to Sender\r\n"
	        "Date: %s\r\n"
	        "Message-ID: <%s@%s>\r\n"
	        "Auto-Submitted: auto-replied\r\n"
	        "MIME-Version: 1.0\r\n"
	        "Content-Type: text/plain; charset=us-ascii\r\n"
	        "\r\n"
	        "This is the mail system at %s.\r\n\r\n"
	        "Your message could not be delivered to these "
	        "recipients:\r\n\r\n",
	        r->helo, b->sender, date, hex, r->helo, r->helo);
	for (i = 0; i < b->n && rc == 0; i++) {
		if (o[i] == SRV_RELAY_FAILED)
			rc = sb_buf_add_printf(out, "<%s>: %s\r\n", b->rcpts[i],
			                       reasons[i]);
	}
	if (rc != 0)
		return -1;
	srv_bounce_quote(r, b->blob_id, out);
	return out->data != NULL ? 0 : -1;
}

/*
 * Makes the bounce of b's failed recipients, encrypted to the sender's
 * key, ready to file (outside any transaction: it takes no lock). bounce
 * is zeroed with its inbound initialised; ready tells whether it worked.
 */
static void
srv_bounce_make(struct srv_relay *r, const struct srv_relay_batch *b,
                const enum srv_relay_outcome *o, const char *const *reasons,
                struct srv_bounce *bounce)
{
	struct srv_mem_reader m;
	const char *error;
	struct sb_buf text;

	sb_buf_init_secret(&text, SRV_RELAY_BOUNCE_MAX);
	if (srv_inbound_account(r->db, b->sender, &bounce->to, &error) != 0 ||
	    srv_bounce_text(r, b, o, reasons, &text) != 0) {
		sb_log_error("relay: no bounce to %s: %s", b->sender,
		             text.data == NULL ? "it is too long" : error);
		sb_buf_free_wipe(&text);
		return;
	}
	m.p = text.data;
	m.len = text.len;
	m.pos = 0;
	if (srv_inbound_encrypt(r->srv->blob_dir, &bounce->to, srv_mem_read, &m,
	                        r->srv->config.max_blob, &bounce->in,
	                        &error) == 0)
		bounce->ready = true;
	else
		sb_log_error("relay: cannot make the bounce: %s", error);
	sb_buf_free_wipe(&text);
}

/*
 * Records the batch's outcomes and files the bounce of its failed
 * recipients; once no recipient of the blob is left in the queue, the
 * cleartext blob goes. One transaction.
 */
static int SB_WUR
srv_relay_commit(struct srv_relay *r, const struct srv_relay_batch *b,
                 const enum srv_relay_outcome *o, const char *const *reasons,
                 struct srv_bounce *bounce)
{
	char *path = NULL, *bounce_path = NULL;
	const char *error;
	sqlite3_stmt *st;
	uint64_t now = srv_now();
	size_t i;
	int left = -1, ret = 0;

	if (srv_db_exec(r->db, "BEGIN IMMEDIATE") != 0)
		return -1;
	for (i = 0; i < b->n && ret == 0; i++)
		ret = srv_relay_record(r->db, b->rows[i], o[i], reasons[i],
		                       now);
	if (ret == 0 && bounce->ready &&
	    srv_inbound_file(r->db, r->srv->blob_dir, &bounce->to, &bounce->in,
	                     &bounce_path, &error) != 0) {
		sb_log_error("relay: cannot file the bounce: %s", error);
		ret = -1;
	}
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
		free(bounce_path);
		return 0;
	}
	if (bounce_path != NULL)
		unlink(bounce_path);
	free(bounce_path);
	free(path);
	(void)!srv_db_exec(r->db, "ROLLBACK");
	return -1;
}

/*
 * Settles a batch after its attempt: a recipient still deferred after
 * the relay's maximum age fails too, and every failed one is told to the
 * sender in one bounce.
 */
static int SB_WUR
srv_relay_finish(struct srv_relay *r, const struct srv_relay_batch *b)
{
	enum srv_relay_outcome o[SRV_RELAY_MAX_RCPTS];
	const char *reasons[SRV_RELAY_MAX_RCPTS];
	char(*expired)[SRV_RELAY_REPLY_MAX + 64];
	uint64_t now = srv_now(), max_age = r->srv->config.relay_max_age;
	struct srv_bounce bounce;
	size_t i, failed = 0;
	int ret;

	expired = sb_calloc(b->n, sizeof(*expired));
	for (i = 0; i < b->n; i++) {
		o[i] = srv_relay_outcome(b, i);
		reasons[i] = srv_relay_reason(b, i);
		if (o[i] == SRV_RELAY_RETRY &&
		    now >= b->queued_at[i] + max_age) {
			snprintf(expired[i], sizeof(expired[i]),
			         "still deferred after %llu hours: %s",
			         (unsigned long long)(max_age / 3600),
			         reasons[i]);
			reasons[i] = expired[i];
			o[i] = SRV_RELAY_FAILED;
		}
		if (o[i] == SRV_RELAY_FAILED)
			failed++;
	}
	memset(&bounce, 0, sizeof(bounce));
	srv_inbound_init(&bounce.in);
	if (failed > 0)
		srv_bounce_make(r, b, o, reasons, &bounce);
	ret = srv_relay_commit(r, b, o, reasons, &bounce);
	srv_inbound_clear(&bounce.in);
	free(expired);
	return ret;
}

/*
 * Sends what is due, batch after batch, until none is or we stop.
 * Without a smarthost nothing is sent; recipients queued too long are
 * returned to their senders.
 */
static void
srv_relay_run(struct srv_relay *r)
{
	struct srv_relay_batch *b = sb_malloc(sizeof(*b));

	while (!r->srv->stopping && srv_relay_next(r, srv_now(), b) > 0) {
		if (r->host[0] != '\0')
			srv_relay_send(r, b);
		else
			snprintf(b->error, sizeof(b->error),
			         "this server has no smarthost to reach other "
			         "services");
		if (srv_relay_finish(r, b) != 0) {
			sb_log_error("relay: cannot update the queue");
			break;
		}
	}
	free(b);
}

/* The background thread: the relay queue, and the sweeps. */
static void *
srv_relay_main(void *arg)
{
	struct srv_relay *r = arg;
	uint64_t last_sweep = 0;
	struct timespec ts;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		pthread_mutex_unlock(&r->lock);
		srv_relay_run(r);
		if (srv_now() >= last_sweep + SRV_RELAY_SWEEP_S) {
			last_sweep = srv_now();
			if (srv_blob_sweep(r->db, r->srv->blob_dir,
			                   last_sweep) != 0)
				sb_log_error("cannot sweep unused blobs");
			if (srv_db_sweep(r->db, last_sweep) != 0)
				sb_log_error("cannot sweep old records");
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
