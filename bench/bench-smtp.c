/*
 * Sending through a real `saltbridge serve`: how fast one SMTP connection
 * gets messages of about 50 KB accepted (250), and how long each then
 * takes to reach the recipient's replica; against baselines measured in
 * the same run. 200 messages by default, `--count N` for another number,
 * 10 with --quick.
 *
 * Setup (not timed): two accounts made with `saltmaild user add`
 * (alice@example.org, bob@example.org), `saltmaild serve`, both logged
 * into one bridge home with `saltbridge login`; the keys of both and
 * alice's bridge password read from the vault; then `saltbridge serve
 * --imap-port 0 --smtp-port 0 --smtps-port off`, until both INBOXes are in
 * its replica. The messages are generated beforehand (bench_mail_message:
 * From alice, so the bridge signs them; 8 KB of text and a 30 KB
 * attachment in base64, about 49 KB on the wire).
 *
 * The SMTP client below is one connection: STARTTLS (trusting serve's
 * certificate), AUTH PLAIN with alice's bridge password, then for each
 * message MAIL, RCPT and DATA in one write (PIPELINING, RFC 2920), the
 * text once DATA was answered 354, and the next envelope once the 250
 * came: a round trip and a half per message, the least DATA allows.
 * RFC 2920 would also let the next envelope go right behind the final
 * dot, but against smtp/ that is a hundred times slower or more: the
 * server then writes the 250 and the envelope's replies in two pieces,
 * and its socket has no TCP_NODELAY, so the second waits for the
 * client's delayed ACK (40 ms on Linux). The sink is flooded that way
 * too, so that the figure shows when this changes.
 *
 * Delivery is seen in the replica: a thread of this process reads the
 * rows of bob's INBOX (mailbox_messages) every 5 ms on a connection of
 * its own, and stamps each new row with the time it first saw it. That is
 * the moment bob's sync committed the message, which is when an IMAP
 * client is told of it (EXISTS); its body may come later. A row is not
 * matched to a message by its order: after each run its summary is
 * opened with bob's keys and its Message-ID gives the message's number
 * (and it must be signed). IMAP IDLE on bob's account would see the same
 * commit, later, after serve's IMAP session woke and wrote, and would need
 * a FETCH to tell which message came; the replica's rows need neither.
 * Latencies are thus late by up to 5 ms, the polling interval.
 *
 * Measured, each against its baseline:
 *   - the flood's accept rate (messages per second from its first byte
 *     to its last 250), against the same client and messages flooding an
 *     SMTP sink in this process: the project's own SMTP server (smtp/)
 *     with the same certificate and a backend that keeps nothing, so the
 *     ratio is what the outbox costs (the encryption and the durable
 *     commit before each 250); and the sink flooded with each envelope
 *     behind the last dot, against the same sink (see above);
 *   - the flood's delivery rate (from its first byte to the last message
 *     in bob's replica), and the latency of each message from its 250 to
 *     its row (p50, p95, max), against the same messages sealed
 *     beforehand by this process as the sender seals them (two copies,
 *     signed, key packets for bob and for alice's Sent) and submitted
 *     back to back on one API connection (the two blob uploads and POST
 *     /api/v1/submissions; bench-smtp-base.c); its latency runs from a
 *     message's first upload to its row in bob's replica. What is left between
 * the two is SMTP, the outbox, the sender's wake-ups, reading the outbox back
 *     and sealing. In a flood the outbox is a queue: SMTP takes messages
 *     faster than the sender submits them, so the later ones wait there;
 *   - the latency of a message alone: min(count, 20) messages one at a
 *     time, each sent 0 to 225 ms after the last one arrived (p50, max),
 *     against the API baseline sent the same way. Both include the
 *     service's own delay: saltmaild looks for new mail to tell bob's
 *     sync about every 200 ms (server/events.c).
 * The machine's load average is printed before and after: on a busy
 * machine every figure is slower, the baselines too.
 *
 * The children and the temporary folder are removed at exit, on failure
 * and on SIGINT/SIGTERM/SIGHUP (bench.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-smtp.h"
#include "common/buf.h"
#include "common/codec.h"
#include "common/log.h"

/* SALTMAILD_PATH and SALTBRIDGE_PATH: see sb_bench_uses_servers. */

#define N_DEFAULT    200
#define N_QUICK      10
#define N_MAX        5000 /* every message is held in memory */
#define N_ALONE      20   /* messages sent one at a time */
#define POLL_MS      5    /* the replica's rows read this often */
#define SMTP_WAIT_MS (10 * 60 * 1000)

static const struct bench_mail bench_smtp_generated = {
        .to = "Bob <" BENCH_BOB ">",
        .from = "Alice <" BENCH_ALICE ">",
        .text_min = 8000,
        .text_max = 8000,
        .multi_one_in = 1,
        .attach_min = 30000,
        .attach_max = 30000,
};

/* ---- Setup ---- */

/* Message i in DATA's form; no line may start with a dot (no stuffing). */
static void
mail_make(struct bench_smtp_mail *m, uint64_t *x, size_t i)
{
	struct sb_buf out;
	char *lf = NULL;
	size_t len = 0, k;
	FILE *f = open_memstream(&lf, &len);

	if (f == NULL)
		bench_fail("open_memstream: %s", strerror(errno));
	bench_mail_message(f, x, &bench_smtp_generated, i, 1700000000);
	if (fclose(f) != 0)
		bench_fail("cannot generate message %zu", i);
	sb_buf_init(&out, SIZE_MAX);
	for (k = 0; k < len; k++) {
		if (lf[k] == '.' && (k == 0 || lf[k - 1] == '\n'))
			bench_fail("message %zu has a line starting with '.'",
			           i);
		if ((lf[k] == '\n' && sb_buf_add(&out, "\r", 1) != 0) ||
		    sb_buf_add(&out, lf + k, 1) != 0)
			abort(); /* no maximum */
	}
	if (sb_buf_add_str(&out, ".\r\n") != 0)
		abort();
	free(lf);
	m->data = sb_buf_take(&out, &m->len);
}

static void
setup_run(struct bench_smtp *s)
{
	static const char *const args[] = {
	        "--imap-port",  "0",   "--smtp-port", "0",
	        "--smtps-port", "off", NULL};
	uint64_t x = BENCH_MAIL_SEED, bytes = 0;
	double until;
	sqlite3 *db;
	size_t i;

	bench_saltmaild_init(&s->d);
	bench_saltbridge_init(&s->b, SALTBRIDGE_PATH);
	bench_saltmaild_user_add(&s->d, SALTMAILD_PATH, BENCH_ALICE,
	                         BENCH_PASSWORD);
	bench_saltmaild_user_add(&s->d, SALTMAILD_PATH, BENCH_BOB,
	                         BENCH_PASSWORD);
	bench_saltmaild_start(&s->d, SALTMAILD_PATH, NULL);
	bench_saltbridge_login(&s->b, &s->d, BENCH_ALICE, BENCH_PASSWORD);
	bench_saltbridge_login(&s->b, &s->d, BENCH_BOB, BENCH_PASSWORD);
	bench_saltbridge_account(&s->b, BENCH_ALICE, s->alice_id,
	                         &s->alice_password, &s->alice_keys);
	bench_saltbridge_account(&s->b, BENCH_BOB, s->bob_id, NULL,
	                         &s->bob_keys);
	s->mail = calloc(s->n, sizeof(*s->mail));
	if (s->mail == NULL)
		abort();
	for (i = 0; i < s->n; i++) {
		mail_make(&s->mail[i], &x, i);
		bytes += s->mail[i].len - 3;
	}
	fprintf(stderr, "bench-smtp: %zu messages of %.1f KB on average\n",
	        s->n, (double)bytes / (double)s->n / 1000);
	bench_saltbridge_start(&s->b, args);
	if (s->b.smtp_port == 0)
		bench_fail("saltbridge serve printed no SMTP port");
	/* The initial syncs, of empty accounts: done once INBOXes are. */
	db = bench_replica_open(s->b.replica);
	for (until = bench_now() + 60;; usleep(50000)) {
		sqlite3_stmt *q = bench_replica_prepare(
		        db,
		        "SELECT count(*) FROM mailboxes WHERE role = 'inbox'");

		i = sqlite3_step(q) == SQLITE_ROW
		            ? (size_t)sqlite3_column_int64(q, 0)
		            : 0;
		sqlite3_finalize(q);
		if (i == 2)
			break;
		if (bench_now() > until)
			bench_fail("serve's syncs made no INBOX in a minute");
	}
	sqlite3_close(db);
}

static void
load_note(const char *when)
{
	char line[128] = "";
	FILE *f = fopen("/proc/loadavg", "r");

	if (f != NULL && fgets(line, sizeof(line), f) != NULL)
		fprintf(stderr, "bench-smtp: load average %s: %s", when, line);
	if (f != NULL)
		fclose(f);
}

/* ---- Deliveries: the rows of bob's INBOX, as they come ---- */

struct arrivals {
	pthread_t thread;
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t last_uid;
	bool stop;
	/* Under lock: each new row's message and when it was first seen. */
	int64_t *messages;
	double *at;
	size_t n, cap;
};

static void *
arrivals_main(void *p)
{
	struct arrivals *a = p;
	bool stop = false;
	double t;

	while (!stop) {
		sqlite3_bind_int64(a->q, 1, a->last_uid);
		for (t = 0; sqlite3_step(a->q) == SQLITE_ROW;) {
			if (t == 0)
				t = bench_now();
			a->last_uid = sqlite3_column_int64(a->q, 0);
			pthread_mutex_lock(&a->lock);
			if (a->n == a->cap) {
				a->cap = a->cap == 0 ? 256 : 2 * a->cap;
				a->messages =
				        realloc(a->messages,
				                a->cap * sizeof(*a->messages));
				a->at = realloc(a->at, a->cap * sizeof(*a->at));
				if (a->messages == NULL || a->at == NULL)
					abort();
			}
			a->messages[a->n] = sqlite3_column_int64(a->q, 1);
			a->at[a->n++] = t;
			pthread_mutex_unlock(&a->lock);
		}
		sqlite3_reset(a->q);
		usleep(POLL_MS * 1000);
		pthread_mutex_lock(&a->lock);
		stop = a->stop;
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

static void
arrivals_start(struct arrivals *a, const struct bench_smtp *s)
{
	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	a->db = bench_replica_open(s->b.replica);
	a->q = bench_replica_prepare(
	        a->db, "SELECT uid, message FROM mailbox_messages"
	               " WHERE mailbox = ?2 AND uid > ?1 ORDER BY uid");
	sqlite3_bind_int64(a->q, 2, bench_replica_inbox(a->db, s->bob_id));
	if (pthread_create(&a->thread, NULL, arrivals_main, a) != 0)
		bench_fail("cannot start the replica's reader");
}

static size_t
arrivals_count(struct arrivals *a)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n;
	pthread_mutex_unlock(&a->lock);
	return n;
}

/* Waits until bob's INBOX got n rows in all since the start. */
static void
arrivals_wait(struct arrivals *a, const struct bench_smtp *s, size_t n)
{
	double until = bench_now() + 120 + 0.5 * (double)s->n;

	while (arrivals_count(a) < n) {
		if (bench_child_ended(BENCH_CHILD_OTHER) ||
		    bench_now() > until) {
			bench_print_tail("serve.log");
			bench_fail("bob's INBOX has %zu of %zu messages",
			           arrivals_count(a), n);
		}
		usleep(1000);
	}
}

static void
arrivals_stop(struct arrivals *a)
{
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	sqlite3_finalize(a->q);
	sqlite3_close(a->db);
	free(a->messages);
	free(a->at);
}

/* N of the "Message-ID: <bench-N@" in a header section, or SIZE_MAX. */
static size_t
message_number(const unsigned char *h, size_t len)
{
	static const char id[] = "Message-ID: <bench-";
	const char *p = memmem(h, len, id, sizeof(id) - 1);
	const char *end = (const char *)h + len;
	size_t k = 0, digits = 0;

	if (p == NULL)
		return SIZE_MAX;
	for (p += sizeof(id) - 1; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++digits > 9)
			return SIZE_MAX;
		k = k * 10 + (size_t)(*p - '0');
	}
	return digits > 0 && p < end && *p == '@' ? k : SIZE_MAX;
}

/*
 * The latency of each of the n messages that arrived from row `from` on:
 * its row's time less start[k] of its number k, read from the Message-ID
 * in its summary (opened with bob's keys). Each must be signed, and come
 * once. Returns the time the last one arrived.
 */
static double
arrivals_latencies(struct arrivals *a, const struct bench_smtp *s, size_t from,
                   size_t n, const double *start, double *lat)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_summary *sum;
	const char *error;
	struct store *st;
	double last = 0;
	size_t i, k;

	if (store_open(s->b.replica, NULL, &st, &error) != 0)
		bench_fail("replica: %s", error);
	for (k = 0; k < n; k++)
		lat[k] = -1;
	/* The reader may not grow the arrays meanwhile. */
	pthread_mutex_lock(&a->lock);
	for (i = from; i < from + n; i++) {
		if (bridge_mail_summary(&s->bob_keys, st, a->messages[i], key,
		                        &sum, NULL, &error) != 0)
			bench_fail("a message bob got: %s", error);
		k = message_number(sum->headers, sum->headers_len);
		if (k >= n || lat[k] >= 0 || !sum->is_signed)
			bench_fail("bob got a message not sent, twice or "
			           "unsigned (%zu)",
			           k);
		lat[k] = a->at[i] - start[k];
		last = a->at[i] > last ? a->at[i] : last;
		sb_summary_free(&sum);
	}
	pthread_mutex_unlock(&a->lock);
	store_close(&st);
	sb_secure_free(&key);
	return last;
}

/* ---- A minimal SMTP client ---- */

static const char envelope[] = "MAIL FROM:<" BENCH_ALICE ">\r\n"
                               "RCPT TO:<" BENCH_BOB ">\r\n"
                               "DATA\r\n";

/* Reads one reply, all its lines; fails unless its code is code. */
static void
smtp_reply(struct sb_conn *c, int code, const char *what)
{
	enum sb_conn_status st;
	const char *error = "the connection closed";
	struct sb_sv line;

	for (;;) {
		if (sb_conn_read_line(c, &line, &st, &error) != 1)
			bench_fail("SMTP %s: no reply: %s", what, error);
		if (line.len < 4 || strtol(line.p, NULL, 10) != code ||
		    (line.p[3] != ' ' && line.p[3] != '-'))
			bench_fail("SMTP %s: %s", what, line.p);
		if (line.p[3] == ' ')
			return;
	}
}

static void
smtp_write(struct sb_conn *c, const void *data, size_t len)
{
	const char *error;

	if (sb_conn_write(c, data, len, &error) != 0)
		bench_fail("SMTP: %s", error);
}

struct sb_conn *
bench_smtp_open(unsigned port, struct sb_tls_ctx *tls, const char *user,
                const char *password)
{
	struct sb_buf plain, cmd;
	const char *error;
	struct sb_conn *c;
	int fd, one = 1;

	if (sb_net_connect("127.0.0.1", port, 10000, &fd, &error) != 0)
		bench_fail("SMTP connection: %s", error);
	/* The next envelope must not wait for the message's ACK. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		bench_fail("TCP_NODELAY: %s", strerror(errno));
	c = sb_conn_new(fd, 4096, SMTP_WAIT_MS);
	smtp_reply(c, 220, "greeting");
	smtp_write(c, "EHLO bench\r\n", 12);
	smtp_reply(c, 250, "EHLO");
	smtp_write(c, "STARTTLS\r\n", 10);
	smtp_reply(c, 220, "STARTTLS");
	if (sb_conn_tls_connect(c, tls, "127.0.0.1", &error) != 0)
		bench_fail("SMTP STARTTLS: %s", error);
	smtp_write(c, "EHLO bench\r\n", 12);
	smtp_reply(c, 250, "EHLO");
	sb_buf_init_secret(&plain, 1024);
	sb_buf_init_secret(&cmd, 2048);
	if (sb_buf_add(&plain, "", 1) != 0 ||
	    sb_buf_add_str(&plain, user) != 0 ||
	    sb_buf_add(&plain, "", 1) != 0 ||
	    sb_buf_add_str(&plain, password) != 0 ||
	    sb_buf_add_str(&cmd, "AUTH PLAIN ") != 0 ||
	    sb_base64_encode(plain.data, plain.len, &cmd) != 0 ||
	    sb_buf_add_str(&cmd, "\r\n") != 0)
		bench_fail("a password too long");
	smtp_write(c, cmd.data, cmd.len);
	sb_buf_free_wipe(&plain);
	sb_buf_free_wipe(&cmd);
	smtp_reply(c, 235, "AUTH");
	return c;
}

void
bench_smtp_close(struct sb_conn **c)
{
	smtp_write(*c, "QUIT\r\n", 6);
	smtp_reply(*c, 221, "QUIT");
	sb_conn_free(c);
}

double
bench_smtp_send(struct sb_conn *c, const struct bench_smtp_mail *mail, size_t n,
                double *t250, bool behind_dot, bench_smtp_wait_fn *wait,
                void *ctx)
{
	double t0 = bench_now();
	size_t i;

	smtp_write(c, envelope, sizeof(envelope) - 1);
	for (i = 0; i < n; i++) {
		smtp_reply(c, 250, "MAIL");
		smtp_reply(c, 250, "RCPT");
		smtp_reply(c, 354, "DATA");
		smtp_write(c, mail[i].data, mail[i].len);
		if (behind_dot && i + 1 < n)
			smtp_write(c, envelope, sizeof(envelope) - 1);
		smtp_reply(c, 250, "the message's end");
		t250[i] = bench_now();
		if (wait != NULL)
			wait(ctx, i);
		if (!behind_dot && i + 1 < n)
			smtp_write(c, envelope, sizeof(envelope) - 1);
	}
	return t0;
}

/* ---- The runs ---- */

struct run {
	double *start; /* of each message: its 250, or its first upload */
	double *lat;
	double t0, accepted, delivered; /* first byte, last 250, last row */
};

struct one_at_a_time {
	struct arrivals *a;
	const struct bench_smtp *s;
	size_t base; /* rows before the run */
};

/*
 * Waits until message i arrived, then 0 to 225 ms more: the service tells
 * of new mail on a 200 ms timer (SRV_EVENTS_POLL_MS in server/events.c),
 * which a message sent right after an arrival would always just miss.
 */
static void
wait_arrival(void *ctx, size_t i)
{
	struct one_at_a_time *w = ctx;

	arrivals_wait(w->a, w->s, w->base + i + 1);
	usleep((useconds_t)(i % 10) * 25000);
}

static void
run_init(struct run *run, size_t n)
{
	run->start = calloc(n, sizeof(double));
	run->lat = calloc(n, sizeof(double));
	if (run->start == NULL || run->lat == NULL)
		abort();
}

/* n messages through serve's SMTP: a flood, or one at a time. */
static void
run_smtp(const struct bench_smtp *s, struct arrivals *a, struct sb_tls_ctx *tls,
         size_t n, bool flood, struct run *run)
{
	struct one_at_a_time w = {a, s, arrivals_count(a)};
	struct sb_conn *c = bench_smtp_open(s->b.smtp_port, tls, BENCH_ALICE,
	                                    s->alice_password);

	run_init(run, n);
	run->t0 = bench_smtp_send(c, s->mail, n, run->start, false,
	                          flood ? NULL : wait_arrival, &w);
	run->accepted = run->start[n - 1];
	bench_smtp_close(&c);
	arrivals_wait(a, s, w.base + n);
	run->delivered =
	        arrivals_latencies(a, s, w.base, n, run->start, run->lat);
}

/* The same through the API, sealed beforehand. */
static void
run_api(const struct bench_smtp *s, struct arrivals *a,
        struct bench_api_base *ab, size_t n, bool flood, struct run *run)
{
	struct one_at_a_time w = {a, s, arrivals_count(a)};
	size_t i;

	run_init(run, n);
	run->t0 = bench_now();
	for (i = 0; i < n; i++) {
		run->start[i] = bench_now();
		bench_api_submit(ab, i);
		if (!flood)
			wait_arrival(&w, i);
	}
	run->accepted = bench_now();
	arrivals_wait(a, s, w.base + n);
	run->delivered =
	        arrivals_latencies(a, s, w.base, n, run->start, run->lat);
}

static void
run_free(struct run *run)
{
	free(run->start);
	free(run->lat);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-th quantile (nearest rank) of the run's latencies, in ms. */
static double
quantile_ms(const struct run *run, size_t n, double q)
{
	size_t rank = (size_t)(q * (double)n + 0.999999);

	qsort(run->lat, n, sizeof(double), cmp_double);
	return run->lat[rank > 0 ? rank - 1 : 0] * 1e3;
}

/* ---- Report and main ---- */

/* Every run's figures. */
struct figures {
	double sink, sink_pipelined; /* messages per second */
	struct run flood, api, alone, api_alone;
};

static void
report_all(struct bench_report *r, const struct bench_smtp *s,
           struct figures *f)
{
	size_t n = s->n, k = s->n_alone;

	fprintf(stderr,
	        "bench-smtp: the API flood's submissions (two uploads and a "
	        "POST each): %.1f msg/s\n",
	        (double)n / (f->api.accepted - f->api.t0));
	bench_report_add(r, "smtp_accept",
	                 (double)n / (f->flood.accepted - f->flood.t0), "msg/s",
	                 "smtp_sink_accept", f->sink);
	bench_report_add(r, "smtp_sink_pipelined_accept", f->sink_pipelined,
	                 "msg/s", "smtp_sink_accept", f->sink);
	bench_report_add(r, "smtp_delivered",
	                 (double)n / (f->flood.delivered - f->flood.t0),
	                 "msg/s", "api_delivered",
	                 (double)n / (f->api.delivered - f->api.t0));
	bench_report_add(r, "smtp_flood_latency_p50",
	                 quantile_ms(&f->flood, n, 0.5), "ms",
	                 "api_flood_latency_p50", quantile_ms(&f->api, n, 0.5));
	bench_report_add(
	        r, "smtp_flood_latency_p95", quantile_ms(&f->flood, n, 0.95),
	        "ms", "api_flood_latency_p95", quantile_ms(&f->api, n, 0.95));
	bench_report_add(r, "smtp_flood_latency_max",
	                 quantile_ms(&f->flood, n, 1), "ms",
	                 "api_flood_latency_max", quantile_ms(&f->api, n, 1));
	bench_report_add(r, "smtp_alone_latency_p50",
	                 quantile_ms(&f->alone, k, 0.5), "ms",
	                 "api_alone_latency_p50",
	                 quantile_ms(&f->api_alone, k, 0.5));
	bench_report_add(
	        r, "smtp_alone_latency_max", quantile_ms(&f->alone, k, 1), "ms",
	        "api_alone_latency_max", quantile_ms(&f->api_alone, k, 1));
}

/* --count N (ours) is taken out; the rest is bench_report_new's. */
static size_t
parse_count(int *argc, char **argv)
{
	unsigned long n = N_DEFAULT;
	char *end = NULL;
	int i, k = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--count") != 0) {
			argv[k++] = argv[i];
			continue;
		}
		errno = 0;
		n = i + 1 < *argc ? strtoul(argv[++i], &end, 10) : 0;
		if (errno != 0 || end == NULL || *end != '\0' || n == 0 ||
		    n > N_MAX) {
			fprintf(stderr, "bench-smtp: --count 1 to %d\n", N_MAX);
			exit(2);
		}
	}
	*argc = k;
	argv[k] = NULL;
	return n;
}

int
main(int argc, char **argv)
{
	size_t n = parse_count(&argc, argv);
	struct bench_report *r = bench_report_new(argc, argv);
	struct sb_tls_ctx *tls;
	struct bench_api_base *ab;
	struct arrivals a;
	const char *error;
	struct bench_smtp s;
	struct figures f;
	char tag[24];

	memset(&s, 0, sizeof(s));
	s.n = bench_report_quick(r) ? N_QUICK : n;
	s.n_alone = s.n < N_ALONE ? s.n : N_ALONE;
	snprintf(tag, sizeof(tag), "%zu", s.n);
	bench_report_set_tag(r, bench_report_quick(r) ? "quick" : tag);
	bench_setup("bench-smtp");
	sb_log_set_ident("bench-smtp");
	sb_log_set_level(SB_LOG_WARN);
	if (sb_crypto_init() != 0)
		bench_fail("cannot initialise libsodium");
	load_note("at the start");
	setup_run(&s);
	if (sb_tls_client_ctx_new(s.b.cert, &tls, &error) != 0)
		bench_fail("TLS: %s", error);
	arrivals_start(&a, &s);
	f.sink = bench_sink_flood(&s, tls, &f.sink_pipelined);
	run_smtp(&s, &a, tls, s.n, true, &f.flood);
	ab = bench_api_base_new(&s);
	run_api(&s, &a, ab, s.n, true, &f.api);
	run_smtp(&s, &a, tls, s.n_alone, false, &f.alone);
	run_api(&s, &a, ab, s.n_alone, false, &f.api_alone);
	arrivals_stop(&a);
	load_note("at the end");
	report_all(r, &s, &f);
	run_free(&f.flood);
	run_free(&f.api);
	run_free(&f.alone);
	run_free(&f.api_alone);
	bench_api_base_free(&ab);
	sb_tls_ctx_free(&tls);
	bench_saltbridge_stop(&s.b);
	bench_saltmaild_stop(&s.d, true);
	bridge_mail_keys_clear(&s.alice_keys);
	bridge_mail_keys_clear(&s.bob_keys);
	sb_secure_free(&s.alice_password);
	for (n = 0; n < s.n; n++)
		free(s.mail[n].data);
	free(s.mail);
	return bench_report_finish(&r);
}
