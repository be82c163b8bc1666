/*
 * The IMAP server of a real `saltbridge serve` on a mailbox of 10,000
 * messages (100,000 with --large, a few hundred with --quick), each
 * measurement against a baseline measured in the same run on the same
 * replica. 100,000 is not the default: importing and syncing them takes
 * four minutes on a quiet two-core machine, twenty on a busy one, and
 * about a gigabyte of disk.
 *
 * Setup (not timed), all through the programs' own command lines: an
 * account made with `saltmaild user add`; a Maildir of generated messages
 * (deterministic: 1-4 KB of text, one in five multipart with a 1-3 KB
 * attachment; two in three \Seen, some \Flagged and \Answered) imported
 * with `saltmaild import`, which encrypts each one for the account (a
 * Maildir rather than an mbox: its file names carry the flags, so FETCH
 * FLAGS has flags to write); `saltmaild serve`; `saltbridge login`; then
 * `saltbridge serve` until its sync has every message and every body in
 * the replica, stopped; the account's keys and bridge password read from
 * the vault while no serve holds it.
 *
 * Timed: a second `saltbridge serve --imap-port 0`, fresh, driven over
 * one plain TCP connection on loopback by the small IMAP client below
 * (LOGIN needs no TLS there; each command is sent whole, its responses
 * read to the tagged reply, literals by their {n}). The clock runs from
 * the command's first byte written to its tagged reply read. Each figure
 * is the best of a few rounds, after a round that warms the caches and
 * checks the answers (EXISTS, one FETCH per message, the 30 bodies the
 * same bytes as the baseline's, nothing told on the resync).
 *
 * The baselines, each the least the command has to do, done in this
 * process on the same replica file while serve sits idle:
 *   - SELECT INBOX: SQLite alone counting the mailbox's rows (SELECT
 *     count(*) over mailbox_messages), with no network and no IMAP;
 *   - UID FETCH 1:* (FLAGS): SQLite alone reading every row's UID and
 *     keywords (mailbox_messages JOIN messages, in UID order);
 *   - UID FETCH of 30 whole messages (BODY.PEEK[]), spread over the
 *     mailbox: the same 30 bodies read and decrypted by the bridge's own
 *     bridge_mail_body, as serve's backend does, without IMAP;
 *   - the no-change QRESYNC resync, two commands (SELECT INBOX (QRESYNC
 *     (uidvalidity highestmodseq)) after ENABLE QRESYNC, then UID FETCH
 *     1:* (FLAGS) (CHANGEDSINCE highestmodseq)): two NOOP round trips
 *     with no mailbox selected, what two commands cost at the least;
 *   - a NOOP with INBOX selected: a NOOP without, so the ratio is what
 *     the selected state adds to every command (the view's check for
 *     changes before each one).
 * Peak RSS: serve's VmHWM (/proc/PID/status) after the runs, against its
 * VmHWM before the first command (what starting it took).
 *
 * The children and the temporary folder are removed at exit, on failure
 * and on SIGINT/SIGTERM/SIGHUP (bench.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-bridge.h"
#include "bench.h"
#include "bridge/bridge.h"
#include "bridge/mail.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/store.h"

#ifndef SALTMAILD_PATH
#error "SALTMAILD_PATH must name the saltmaild binary"
#endif
#ifndef SALTBRIDGE_PATH
#error "SALTBRIDGE_PATH must name the saltbridge binary"
#endif

#define BENCH_EMAIL    "bench@example.org"
#define BENCH_PASSWORD "correct horse battery staple"
#define N_DEFAULT      10000
#define N_LARGE        100000
#define N_QUICK        300
#define N_BODIES       30            /* messages of the whole-message FETCH */
#define IMAP_TIMEOUT_S 600           /* for any one read from the server */
#define RESPONSE_MAX   (1024 * 1024) /* a response without its literals */

/*
 * The mail: 1-4 KB of text, one in five with a 1-3 KB attachment, some
 * \Answered too, so that FETCH FLAGS has every kind of flag to write.
 */
static const struct bench_mail bench_imap_mail = {
        .to = BENCH_EMAIL,
        .text_min = 1000,
        .text_max = 4000,
        .multi_one_in = 5,
        .attach_min = 1000,
        .attach_max = 3000,
        .answered = true,
};

/* ---- The service and the bridge, through their command lines ---- */

struct setup {
	size_t n;
	const char *tag; /* of the result names: "10k", "100k", "quick" */
	struct bench_saltmaild d;
	struct bench_saltbridge b;
	char api_id[API_ACCOUNT_ID_LEN + 1];
	char *bridge_password; /* secure memory */
	struct bridge_mail_keys keys;
};

/* The account, and the Maildir imported into it (encrypted). */
static void
fill_service(struct setup *s)
{
	char dir[PATH_MAX + 64];
	char *import[] = {SALTMAILD_PATH, "import",    "--data", s->d.data,
	                  "--to",         BENCH_EMAIL, dir,      NULL};
	double t = bench_now();

	bench_saltmaild_user_add(&s->d, SALTMAILD_PATH, BENCH_EMAIL,
	                         BENCH_PASSWORD);
	bench_tmp_path(dir, sizeof(dir), "Maildir");
	bench_maildir_write(dir, s->n, &bench_imap_mail);
	fprintf(stderr, "bench-imap: generated %zu messages in %.1f s\n", s->n,
	        bench_now() - t);
	t = bench_now();
	bench_run(import, -1, "import.out", "import.log", "saltmaild import");
	fprintf(stderr, "bench-imap: saltmaild import: %.1f s\n",
	        bench_now() - t);
	bench_remove_tree(dir);
}

/*
 * `saltbridge login`, then from the vault (no serve holds it now): the
 * account's id, its bridge password and its keys.
 */
static void
bridge_setup(struct setup *s)
{
	bench_saltbridge_login(&s->b, &s->d, BENCH_EMAIL, BENCH_PASSWORD);
	bench_saltbridge_account(&s->b, BENCH_EMAIL, s->api_id,
	                         &s->bridge_password, &s->keys);
	if (strcspn(s->bridge_password, "\"\\\r\n") !=
	    strlen(s->bridge_password))
		bench_fail("no bridge password LOGIN can quote in the vault");
}

/*
 * `saltbridge serve` on a free port, plain IMAP only, in the slot of
 * other servers (stopped before saltmaild).
 */
static void
serve_start(struct setup *s)
{
	static const char *const args[] = {
	        "--imap-port", "0", "--imaps-port", "off", "--smtp-port",
	        "off",         NULL};

	bench_saltbridge_start(&s->b, args);
	if (s->b.imap_port == 0)
		bench_fail("saltbridge serve printed no IMAP port");
}

/* ---- The replica, read directly ---- */

struct replica {
	sqlite3 *db;
	struct store *st; /* for bridge_mail_body */
	int64_t mailbox;  /* INBOX */
	uint32_t uids[N_BODIES];
	int64_t messages[N_BODIES];
};

/* Waits until the replica holds every message and every body. */
static void
wait_synced(const struct setup *s)
{
	sqlite3 *db = bench_replica_open(s->b.replica);
	double t0 = bench_now(), until = t0 + 300 + 0.05 * (double)s->n;
	sqlite3_stmt *q;
	int64_t count = 0, cached = 0;

	q = bench_replica_prepare(
	        db, "SELECT count(*), total(m.body_cached)"
	            " FROM messages m JOIN accounts a ON a.id = m.account"
	            " WHERE a.api_id = ?");
	for (;;) {
		sqlite3_bind_text(q, 1, s->api_id, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			count = sqlite3_column_int64(q, 0);
			cached = sqlite3_column_int64(q, 1);
		}
		sqlite3_reset(q);
		if (count == (int64_t)s->n && cached == (int64_t)s->n)
			break;
		if (bench_child_ended(BENCH_CHILD_OTHER) ||
		    bench_now() > until) {
			bench_print_tail("serve.log");
			bench_fail("serve's sync stopped at %lld messages and "
			           "%lld bodies of %zu",
			           (long long)count, (long long)cached, s->n);
		}
		usleep(200000);
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	fprintf(stderr, "bench-imap: serve synced %zu messages in %.1f s\n",
	        s->n, bench_now() - t0);
}

/*
 * INBOX's id, and the N_BODIES messages of the whole-message FETCH:
 * spread evenly over the mailbox, in UID order.
 */
static void
replica_open(const struct setup *s, struct replica *rep)
{
	const char *error;
	sqlite3_stmt *q;
	size_t i = 0, k = 0;

	memset(rep, 0, sizeof(*rep));
	rep->db = bench_replica_open(s->b.replica);
	if (store_open(s->b.replica, NULL, &rep->st, &error) != 0)
		bench_fail("replica: %s", error);
	rep->mailbox = bench_replica_inbox(rep->db, s->api_id);
	q = bench_replica_prepare(rep->db,
	                          "SELECT uid, message FROM mailbox_messages"
	                          " WHERE mailbox = ? ORDER BY uid");
	sqlite3_bind_int64(q, 1, rep->mailbox);
	for (; sqlite3_step(q) == SQLITE_ROW && k < N_BODIES; i++) {
		if (i != k * s->n / N_BODIES + s->n / (2 * N_BODIES))
			continue;
		rep->uids[k] = (uint32_t)sqlite3_column_int64(q, 0);
		rep->messages[k++] = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (k != N_BODIES)
		bench_fail("INBOX holds fewer messages than generated");
}

static void
replica_close(struct replica *rep)
{
	store_close(&rep->st);
	sqlite3_close(rep->db);
}

/* ---- A minimal IMAP client ---- */

struct imap_client {
	int fd;
	unsigned tag;
	size_t pos, len;
	struct sb_buf text; /* the response being read, literals left out */
	/* When not NULL, literal bytes are hashed into it. */
	crypto_generichash_state *hash;
	char in[65536];
};

/* What the responses to one command said. */
struct imap_result {
	size_t fetches;  /* "* n FETCH" */
	size_t vanished; /* "* VANISHED" */
	size_t exists;
	uint32_t uidvalidity;
	uint64_t highestmodseq;
};

static void
client_fill(struct imap_client *c)
{
	ssize_t got;

	do {
		got = read(c->fd, c->in, sizeof(c->in));
	} while (got < 0 && errno == EINTR);
	if (got == 0)
		bench_fail("the IMAP server closed the connection");
	if (got < 0)
		bench_fail("IMAP: %s", strerror(errno));
	c->pos = 0;
	c->len = (size_t)got;
}

/* Appends the next line to c->text, without its CRLF. */
static void
client_line(struct imap_client *c)
{
	const char *nl;
	size_t k;

	for (;;) {
		if (c->pos == c->len)
			client_fill(c);
		nl = memchr(c->in + c->pos, '\n', c->len - c->pos);
		k = nl != NULL ? (size_t)(nl - (c->in + c->pos))
		               : c->len - c->pos;
		if (sb_buf_add(&c->text, c->in + c->pos, k) != 0)
			bench_fail("an IMAP response of over %d bytes",
			           RESPONSE_MAX);
		c->pos += k;
		if (nl != NULL)
			break;
	}
	c->pos++; /* the LF */
	if (c->text.len > 0 && c->text.data[c->text.len - 1] == '\r')
		sb_buf_truncate(&c->text, c->text.len - 1);
}

/* The size of the literal the text ends with ("...{123}"), or false. */
static bool
client_literal_size(const struct sb_buf *t, uint64_t *n_r)
{
	size_t i;

	if (t->len < 3 || t->data[t->len - 1] != '}')
		return false;
	for (i = t->len - 1;
	     i > 0 && t->data[i - 1] >= '0' && t->data[i - 1] <= '9'; i--)
		;
	if (i == t->len - 1 || i == 0 || t->data[i - 1] != '{')
		return false;
	*n_r = strtoull(t->data + i, NULL, 10);
	return true;
}

/* Reads one response; literal bytes are skipped (or hashed). */
static const char *
client_response(struct imap_client *c)
{
	uint64_t n;
	size_t k;

	sb_buf_reset(&c->text);
	for (;;) {
		client_line(c);
		if (!client_literal_size(&c->text, &n))
			break;
		while (n > 0) {
			if (c->pos == c->len)
				client_fill(c);
			k = c->len - c->pos < n ? c->len - c->pos : (size_t)n;
			if (c->hash != NULL)
				crypto_generichash_update(
				        c->hash,
				        (unsigned char *)c->in + c->pos, k);
			c->pos += k;
			n -= k;
		}
	}
	return sb_buf_str(&c->text);
}

static void
client_untagged(const char *t, struct imap_result *res)
{
	const char *p;
	char *end;
	unsigned long n;

	if (strncmp(t, "* VANISHED", 10) == 0) {
		res->vanished++;
	} else if (strncmp(t, "* OK [", 6) == 0) {
		if ((p = strstr(t, "[UIDVALIDITY ")) != NULL)
			res->uidvalidity = (uint32_t)strtoul(p + 13, NULL, 10);
		if ((p = strstr(t, "[HIGHESTMODSEQ ")) != NULL)
			res->highestmodseq = strtoull(p + 15, NULL, 10);
	} else if (t[0] == '*' && t[1] == ' ' && t[2] >= '0' && t[2] <= '9') {
		n = strtoul(t + 2, &end, 10);
		if (strncmp(end, " FETCH ", 7) == 0)
			res->fetches++;
		else if (strcmp(end, " EXISTS") == 0)
			res->exists = n;
	}
}

/*
 * Sends one command (the tag added) and reads to its tagged reply, which
 * must be OK; returns the seconds from the first byte written to the
 * reply read. The command goes through a secret buffer: LOGIN's holds
 * the bridge password.
 */
static double client_cmd(struct imap_client *c, struct imap_result *res,
                         const char *fmt, ...) SB_PRINTF(3, 4);

static double
client_cmd(struct imap_client *c, struct imap_result *res, const char *fmt, ...)
{
	char tag[16];
	struct sb_buf cmd;
	const char *t;
	size_t off = 0;
	ssize_t got;
	va_list ap;
	double t0;

	memset(res, 0, sizeof(*res));
	snprintf(tag, sizeof(tag), "b%u ", ++c->tag);
	sb_buf_init_secret(&cmd, 4096);
	va_start(ap, fmt);
	if (sb_buf_add_str(&cmd, tag) != 0 ||
	    sb_buf_add_vprintf(&cmd, fmt, ap) != 0 ||
	    sb_buf_add_str(&cmd, "\r\n") != 0)
		bench_fail("an IMAP command too long");
	va_end(ap);
	t0 = bench_now();
	while (off < cmd.len) {
		got = write(c->fd, cmd.data + off, cmd.len - off);
		if (got < 0 && errno != EINTR)
			bench_fail("IMAP: %s", strerror(errno));
		off += got > 0 ? (size_t)got : 0;
	}
	sb_buf_free_wipe(&cmd);
	for (;;) {
		t = client_response(c);
		if (strncmp(t, tag, strlen(tag)) == 0)
			break;
		client_untagged(t, res);
	}
	t0 = bench_now() - t0;
	if (strncmp(t + strlen(tag), "OK", 2) != 0)
		bench_fail("IMAP command %u answered: %s", c->tag, t);
	return t0;
}

/* Connects to serve's plain port, reads the greeting, logs in. */
static void
client_open(struct imap_client *c, const struct setup *s)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {.tv_sec = IMAP_TIMEOUT_S};
	struct imap_result res = {0};
	int one = 1;

	memset(c, 0, sizeof(*c));
	sb_buf_init(&c->text, RESPONSE_MAX);
	sa.sin_port = htons((uint16_t)s->b.imap_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) !=
	            0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		bench_fail("IMAP connection: %s", strerror(errno));
	if (strncmp(client_response(c), "* OK", 4) != 0)
		bench_fail("IMAP greeting: %s", sb_buf_str(&c->text));
	client_cmd(c, &res, "LOGIN \"%s\" \"%s\"", BENCH_EMAIL,
	           s->bridge_password);
}

static void
client_close(struct imap_client *c)
{
	struct imap_result res;

	client_cmd(c, &res, "LOGOUT");
	close(c->fd);
	sb_buf_free(&c->text);
}

/* ---- The measurements ---- */

struct figures {
	double select, select_base;
	double flags, flags_base;
	double bodies, bodies_base;
	double resync, resync_base;
	double resync_select, resync_fetch; /* its two commands' best */
	double noop_selected, noop; /* a NOOP with INBOX selected, without */
	long hwm_before, hwm_after, rss_after; /* serve's, KiB */
};

static void
keep_best(double *best, double t, int round)
{
	if (round == 0 || t < *best)
		*best = t;
}

/* A field of /proc/PID/status in KiB ("VmHWM", "VmRSS"). */
static long
proc_kib(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
	while (kib < 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, len) == 0 && line[len] == ':')
			kib = strtol(line + len + 1, NULL, 10);
	}
	fclose(f);
	if (kib < 0)
		bench_fail("%s has no %s", path, field);
	return kib;
}

/* Baseline: SQLite alone counts the mailbox's rows. */
static double
base_count(const struct replica *rep, size_t n)
{
	double t = bench_now();
	sqlite3_stmt *q = bench_replica_prepare(
	        rep->db, "SELECT count(*) FROM"
	                 " mailbox_messages WHERE mailbox = ?");

	sqlite3_bind_int64(q, 1, rep->mailbox);
	if (sqlite3_step(q) != SQLITE_ROW ||
	    sqlite3_column_int64(q, 0) != (int64_t)n)
		bench_fail("INBOX does not hold %zu rows", n);
	sqlite3_finalize(q);
	return bench_now() - t;
}

/* Baseline: SQLite alone reads every row's UID and keywords. */
static double
base_flags(const struct replica *rep, size_t n)
{
	double t = bench_now();
	sqlite3_stmt *q = bench_replica_prepare(
	        rep->db, "SELECT e.uid, m.keywords FROM mailbox_messages e"
	                 " JOIN messages m ON m.id = e.message"
	                 " WHERE e.mailbox = ? ORDER BY e.uid");
	uint64_t uids = 0, bytes = 0;
	size_t rows = 0;

	/* Both columns read, as a FETCH FLAGS writes both. */
	sqlite3_bind_int64(q, 1, rep->mailbox);
	while (sqlite3_step(q) == SQLITE_ROW) {
		uids += (uint64_t)sqlite3_column_int64(q, 0);
		if (sqlite3_column_text(q, 1) != NULL)
			bytes += (uint64_t)sqlite3_column_bytes(q, 1);
		rows++;
	}
	sqlite3_finalize(q);
	t = bench_now() - t;
	if (rows != n || uids == 0 || bytes == 0)
		bench_fail("INBOX gave %zu rows, not %zu", rows, n);
	return t;
}

/*
 * Baseline: the same messages read and decrypted by bridge_mail_body, as
 * serve's backend does; hashed in order into h when it is not NULL.
 */
static double
base_bodies(const struct setup *s, const struct replica *rep,
            crypto_generichash_state *h)
{
	double t = bench_now();
	struct sb_buf body;
	const char *error;
	size_t i;

	sb_buf_init_secret(&body, SIZE_MAX);
	for (i = 0; i < N_BODIES; i++) {
		sb_buf_reset(&body);
		if (bridge_mail_body(&s->keys, rep->st, rep->messages[i], &body,
		                     &error) != 1)
			bench_fail("message %lld: %s",
			           (long long)rep->messages[i],
			           "its body cannot be read");
		if (h != NULL)
			crypto_generichash_update(h, (unsigned char *)body.data,
			                          body.len);
	}
	sb_buf_free_wipe(&body);
	return bench_now() - t;
}

/*
 * The warm-up round: every answer checked, the 30 bodies against the
 * baseline's bytes; gives the UID set of the 30 and the resync's state.
 */
static void
warm_up(struct imap_client *c, const struct setup *s, const struct replica *rep,
        char *set, size_t set_size, struct imap_result *sel)
{
	unsigned char want[32], got[32];
	crypto_generichash_state h;
	struct imap_result res;
	size_t i, len = 0;

	for (i = 0; i < N_BODIES; i++)
		len += (size_t)snprintf(set + len, set_size - len, "%s%u",
		                        i > 0 ? "," : "", rep->uids[i]);
	client_cmd(c, sel, "SELECT INBOX");
	if (sel->exists != s->n || sel->highestmodseq == 0)
		bench_fail("SELECT INBOX: %zu EXISTS of %zu", sel->exists,
		           s->n);
	client_cmd(c, &res, "UID FETCH 1:* (FLAGS)");
	if (res.fetches != s->n)
		bench_fail("UID FETCH 1:* (FLAGS): %zu of %zu", res.fetches,
		           s->n);
	crypto_generichash_init(&h, NULL, 0, sizeof(want));
	base_bodies(s, rep, &h);
	crypto_generichash_final(&h, want, sizeof(want));
	crypto_generichash_init(&h, NULL, 0, sizeof(got));
	c->hash = &h;
	client_cmd(c, &res, "UID FETCH %s (BODY.PEEK[])", set);
	c->hash = NULL;
	crypto_generichash_final(&h, got, sizeof(got));
	if (res.fetches != N_BODIES || memcmp(want, got, sizeof(want)) != 0)
		bench_fail("FETCH BODY.PEEK[] gave other bytes than "
		           "bridge_mail_body");
}

/*
 * The no-change resync and its baseline, on a session with QRESYNC on,
 * each round from the authenticated state: the resync must find nothing
 * to tell. The baseline's NOOPs run with no mailbox selected: a round
 * trip and nothing else. A NOOP with INBOX selected is timed as well:
 * what any command pays for being in the selected state.
 */
static void
measure_resync(struct imap_client *c, const struct imap_result *sel, int rounds,
               struct figures *f)
{
	struct imap_result res;
	double t, b;
	int i;

	/* ENABLE only in the authenticated state (RFC 5161). */
	client_cmd(c, &res, "UNSELECT");
	client_cmd(c, &res, "ENABLE QRESYNC");
	for (i = 0; i < rounds; i++) {
		t = client_cmd(c, &res, "SELECT INBOX (QRESYNC (%u %llu))",
		               sel->uidvalidity,
		               (unsigned long long)sel->highestmodseq);
		if (res.fetches != 0 || res.vanished != 0 ||
		    res.highestmodseq != sel->highestmodseq)
			bench_fail("the resync found changes");
		keep_best(&f->resync_select, t, i);
		b = client_cmd(c, &res,
		               "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %llu)",
		               (unsigned long long)sel->highestmodseq);
		if (res.fetches != 0)
			bench_fail("CHANGEDSINCE found %zu changes",
			           res.fetches);
		keep_best(&f->resync_fetch, b, i);
		keep_best(&f->resync, t + b, i);
		keep_best(&f->noop_selected, client_cmd(c, &res, "NOOP"), i);
		client_cmd(c, &res, "UNSELECT");
		b = client_cmd(c, &res, "NOOP");
		keep_best(&f->noop, b, i);
		b += client_cmd(c, &res, "NOOP");
		keep_best(&f->resync_base, b, i);
	}
}

/* Every measurement on one connection, each beside its baseline. */
static void
measure(const struct setup *s, const struct replica *rep, int rounds,
        struct figures *f)
{
	char set[N_BODIES * 12];
	struct imap_result sel, res;
	struct imap_client c;
	int i;

	memset(f, 0, sizeof(*f));
	f->hwm_before = proc_kib(s->b.pid, "VmHWM");
	client_open(&c, s);
	warm_up(&c, s, rep, set, sizeof(set), &sel);
	for (i = 0; i < rounds; i++) {
		keep_best(&f->select, client_cmd(&c, &res, "SELECT INBOX"), i);
		keep_best(&f->select_base, base_count(rep, s->n), i);
	}
	for (i = 0; i < rounds; i++) {
		keep_best(&f->flags,
		          client_cmd(&c, &res, "UID FETCH 1:* (FLAGS)"), i);
		if (res.fetches != s->n)
			bench_fail("FETCH FLAGS: %zu of %zu", res.fetches,
			           s->n);
		keep_best(&f->flags_base, base_flags(rep, s->n), i);
	}
	for (i = 0; i < rounds; i++) {
		keep_best(
		        &f->bodies,
		        client_cmd(&c, &res, "UID FETCH %s (BODY.PEEK[])", set),
		        i);
		keep_best(&f->bodies_base, base_bodies(s, rep, NULL), i);
	}
	measure_resync(&c, &sel, rounds, f);
	client_close(&c);
	f->hwm_after = proc_kib(s->b.pid, "VmHWM");
	f->rss_after = proc_kib(s->b.pid, "VmRSS");
}

/* ---- Report and main ---- */

static void
report_all(struct bench_report *r, const struct figures *f)
{
	fprintf(stderr,
	        "bench-imap: serve's RSS after the runs %ld KiB; peak %ld "
	        "KiB, %ld KiB before the first command\n",
	        f->rss_after, f->hwm_after, f->hwm_before);
	fprintf(stderr,
	        "bench-imap: the resync's SELECT (QRESYNC) %.3f ms, its UID "
	        "FETCH (CHANGEDSINCE) %.3f ms\n",
	        f->resync_select * 1e3, f->resync_fetch * 1e3);
	bench_report_add(r, "imap_select", f->select * 1e3, "ms",
	                 "sqlite_count", f->select_base * 1e3);
	bench_report_add(r, "imap_fetch_flags", f->flags * 1e3, "ms",
	                 "sqlite_uid_keywords", f->flags_base * 1e3);
	bench_report_add(r, "imap_fetch_30_bodies", f->bodies * 1e3, "ms",
	                 "bridge_mail_body_30", f->bodies_base * 1e3);
	bench_report_add(r, "imap_qresync_nochange", f->resync * 1e3, "ms",
	                 "imap_2_noops", f->resync_base * 1e3);
	bench_report_add(r, "imap_noop_selected", f->noop_selected * 1e3, "ms",
	                 "imap_noop", f->noop * 1e3);
	bench_report_add(r, "imap_serve_peak_rss", (double)f->hwm_after, "KiB",
	                 "serve_peak_rss_before", (double)f->hwm_before);
}

/* --large (ours) is taken out; the rest is bench_report_new's. */
static size_t
parse_size(int *argc, char **argv)
{
	bool large = false;
	int i, k = 1;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--large") == 0)
			large = true;
		else
			argv[k++] = argv[i];
	}
	*argc = k;
	argv[k] = NULL;
	return large ? N_LARGE : N_DEFAULT;
}

static void
setup_init(struct setup *s, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->tag = n == N_LARGE ? "100k" : n == N_DEFAULT ? "10k" : "quick";
	bench_saltmaild_init(&s->d);
	bench_saltbridge_init(&s->b, SALTBRIDGE_PATH);
}

int
main(int argc, char **argv)
{
	size_t n = parse_size(&argc, argv);
	struct bench_report *r = bench_report_new(argc, argv);
	int rounds = n == N_LARGE ? 3 : 5;
	struct replica rep;
	struct figures f;
	struct setup s;

	if (bench_report_quick(r)) {
		if (n == N_LARGE) {
			fprintf(stderr, "bench-imap: --quick or --large\n");
			return 2;
		}
		n = N_QUICK;
		rounds = 2;
	}
	bench_setup("bench-imap");
	sb_log_set_ident("bench-imap");
	sb_log_set_level(SB_LOG_WARN);
	if (sb_crypto_init() != 0)
		bench_fail("cannot initialise libsodium");
	setup_init(&s, n);
	bench_report_set_tag(r, s.tag);
	fill_service(&s);
	bench_saltmaild_start(&s.d, SALTMAILD_PATH, NULL);
	bridge_setup(&s);
	/* The sync, by a serve of its own: the measured one starts fresh. */
	serve_start(&s);
	wait_synced(&s);
	bench_saltbridge_stop(&s.b);
	replica_open(&s, &rep);
	serve_start(&s);
	measure(&s, &rep, rounds, &f);
	bench_saltbridge_stop(&s.b);
	report_all(r, &f);
	replica_close(&rep);
	bridge_mail_keys_clear(&s.keys);
	sb_secure_free(&s.bridge_password);
	bench_saltmaild_stop(&s.d, true);
	return bench_report_finish(&r);
}
