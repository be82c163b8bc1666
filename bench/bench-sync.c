/*
 * The initial sync of 10,000 messages (a few hundred with --quick) from a
 * real saltmaild into a fresh replica, against the curl command-line tool
 * downloading the same blobs in the same run.
 *
 * Setup (not timed): `saltmaild serve` on a free loopback port with a
 * temporary data folder; an account signed up as a client does it (keys
 * derived from the password and wrapped, POST /api/v1/signup); a Maildir of
 * generated messages (deterministic: 2-20 KB of text, one in four with an
 * attachment, one in a thousand of 0.25-2 MB) imported with `saltmaild
 * import`, which encrypts each one for the account, so the service holds
 * ciphertext only.
 *
 * Timed, in this process: the sync engine's step API (bridge/sync.h) as
 * `saltbridge serve` would run it on a new account: bridge_sync_new on a
 * fresh replica, bridge_sync_initial (mailboxes, then every page of
 * metadata), then bridge_sync_bodies until every body is stored (serve
 * downloads bodies on a thread of their own while the metadata comes in;
 * the steps run one after the other). Each api client is logged in
 * beforehand, its connection open. The clock stops when all metadata and
 * all bodies are in the replica, which is then checked through the store
 * API (every message there, with its body).
 *
 * Baseline, timed the same way, after the sync: the blob ids the API lists
 * for the account, downloaded by the curl command-line tool one after the
 * other on one reused connection, each saved to a file (as the sync stores
 * each body). The access token goes in curl's config file (mode 0600),
 * never on a command line; curl trusts saltmaild's certificate as the
 * sync's clients do. Its time includes starting curl, reading its config
 * and the TLS handshake. Both sides find the blobs in the page cache: the
 * import has just written them.
 *
 * Reported: messages per second and wall time against curl's, the peak RSS
 * against the RSS before the sync (see run_sync), and the replica's size
 * on disk against the ciphertext the service holds. Without curl the
 * sync's figures are printed alone, with a note on stderr. The children
 * and the temporary folder are removed at exit, on failure and on
 * SIGINT/SIGTERM/SIGHUP (bench.h).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/calls.h"
#include "bench-bridge.h"
#include "bench.h"
#include "bridge/sync.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/log.h"
#include "crypto/crypto.h"
#include "store/store.h"

#ifndef SALTMAILD_PATH
#error "SALTMAILD_PATH must name the saltmaild binary"
#endif
#ifndef CURL_PATH
#define CURL_PATH "/usr/bin/curl"
#endif

#define BENCH_EMAIL    "bench@example.org"
#define BENCH_PASSWORD "correct horse battery staple"
#define N_FULL         10000
#define N_QUICK        300
#define LIST_PAGE      100 /* messages per page of our own listing */

/* ---- saltmaild and the account ---- */

struct setup {
	size_t n; /* messages generated */
	struct bench_saltmaild d;
};

/* What the signup child hands back through a pipe. */
struct account {
	char id[API_ACCOUNT_ID_LEN + 1];
	unsigned char auth_key[API_KEY_BYTES];
};

/*
 * In the signup child: a random account id, keys derived from the
 * password with the default KDF parameters and a fresh salt, the account
 * keys made and wrapped (docs/crypto.md), POST /api/v1/signup; the id and
 * auth key go to fd out.
 */
static void SB_NORETURN
signup_child(const struct setup *s, int out)
{
	struct account *a = sb_secure_alloc(sizeof(*a));
	struct sb_password_keys *pw;
	struct sb_account_keys *keys;
	struct sb_wrapped_account w;
	struct sb_kdf_params params;
	struct json_object *body;
	struct api_signup su;
	struct api_client *c;
	struct api_reply r;
	unsigned char raw[API_ACCOUNT_ID_LEN / 2];
	const char *error;
	size_t i;

	memset(&su, 0, sizeof(su));
	randombytes_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(su.account_id + 2 * i, 3, "%02x", raw[i]);
	sb_kdf_params_new(&params);
	if (sb_password_derive(BENCH_PASSWORD, strlen(BENCH_PASSWORD), &params,
	                       &pw, &error) != 0)
		bench_fail("password keys: %s", error);
	if (sb_account_keys_generate(&keys) != 0)
		bench_fail("cannot make the account keys");
	sb_account_keys_wrap(keys, pw->kek, su.account_id, &w);
	su.email = sb_strdup(BENCH_EMAIL);
	memcpy(su.auth_key, pw->auth_key, API_KEY_BYTES);
	su.kdf.opslimit = params.opslimit;
	su.kdf.memlimit = params.memlimit;
	memcpy(su.kdf.salt, params.salt, API_SALT_BYTES);
	memcpy(su.keys.enc_pk, w.enc_pk, API_KEY_BYTES);
	memcpy(su.keys.sign_pk, w.sign_pk, API_KEY_BYTES);
	memcpy(su.keys.wrapped_account_key, w.account_key,
	       API_WRAPPED_KEY_BYTES);
	memcpy(su.keys.wrapped_enc_sk, w.enc_sk, API_WRAPPED_KEY_BYTES);
	memcpy(su.keys.wrapped_sign_seed, w.sign_seed, API_WRAPPED_KEY_BYTES);
	memcpy(a->id, su.account_id, sizeof(a->id));
	memcpy(a->auth_key, pw->auth_key, API_KEY_BYTES);
	sb_secure_free(&keys);
	sb_secure_free(&pw);
	c = bench_api_client_new(&s->d);
	body = api_signup_to_json(&su);
	api_reply_init(&r);
	if (api_call(c, "POST", "/api/v1/signup", body, &r) != 0)
		bench_fail("signup: %u %s", r.status, r.message);
	if (write(out, a, sizeof(*a)) != (ssize_t)sizeof(*a))
		bench_fail("signup pipe: %s", strerror(errno));
	_exit(0);
}

/*
 * The signup runs in a child process: Argon2id takes 64 MiB, which would
 * otherwise be this process's peak RSS before the sync even starts. The
 * account comes back in secure memory.
 */
static struct account *
sign_up(const struct setup *s)
{
	struct account *a = sb_secure_alloc(sizeof(*a));
	size_t len = 0;
	ssize_t got;
	int p[2], status = -1;

	if (pipe2(p, O_CLOEXEC) != 0)
		bench_fail("pipe: %s", strerror(errno));
	if (bench_fork() == 0) {
		close(p[0]);
		signup_child(s, p[1]);
	}
	close(p[1]);
	while (len < sizeof(*a) &&
	       (got = read(p[0], (char *)a + len, sizeof(*a) - len)) > 0)
		len += (size_t)got;
	close(p[0]);
	status = bench_fork_wait();
	if (len != sizeof(*a) || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		bench_fail("the signup failed (status %d)", status);
	a->id[API_ACCOUNT_ID_LEN] = '\0';
	return a;
}

/* A client of the account, logged in; token_r (may be NULL) is secure. */
static struct api_client *
logged_in(const struct setup *s, const struct account *a, char **token_r)
{
	struct api_client *c = bench_api_client_new(&s->d);
	struct api_session session;
	struct api_reply r;
	size_t len;

	api_reply_init(&r);
	if (api_login(c, BENCH_EMAIL, a->auth_key, &session, &r) != 0)
		bench_fail("login: %u %s", r.status, r.message);
	api_reply_clear(&r);
	if (token_r != NULL) {
		len = strlen(session.access_token);
		*token_r = sb_secure_alloc(len + 1);
		memcpy(*token_r, session.access_token, len + 1);
	}
	api_session_free(&session);
	return c;
}

/* ---- The mail: a generated Maildir, imported ---- */

/*
 * 2-20 KB of text; one in four multipart with a 1-40 KB attachment, one
 * in a thousand with a 0.25-2 MB one.
 */
static const struct bench_mail bench_sync_mail = {
        .to = BENCH_EMAIL,
        .text_min = 2000,
        .text_max = 20000,
        .multi_one_in = 4,
        .attach_min = 1000,
        .attach_max = 40000,
        .big_one_in = 1000,
        .big_min = 256 * 1024,
        .big_max = 2 * 1024 * 1024,
};

/* The Maildir made, imported (encrypted for the account), removed. */
static void
fill_account(const struct setup *s)
{
	char dir[PATH_MAX + 64];
	char *argv[] = {
	        SALTMAILD_PATH, "import",    "--data", (char *)s->d.data,
	        "--to",         BENCH_EMAIL, dir,      NULL};
	double t = bench_now();

	bench_tmp_path(dir, sizeof(dir), "Maildir");
	bench_maildir_write(dir, s->n, &bench_sync_mail);
	fprintf(stderr, "bench-sync: generated %zu messages in %.1f s\n", s->n,
	        bench_now() - t);
	t = bench_now();
	bench_run(argv, -1, "import.out", "import.log", "saltmaild import");
	fprintf(stderr, "bench-sync: saltmaild import: %.1f s\n",
	        bench_now() - t);
	bench_remove_tree(dir);
}

/* ---- The timed sync ---- */

struct replica {
	char path[PATH_MAX + 64];
	struct store_hub *hub;
	struct store *st; /* our own connection, for the checks */
	int64_t account_id;
};

struct sync_result {
	double t_meta, t_total;       /* seconds to the last page, to the end */
	long rss_before, rss_peak;    /* KiB */
	uint64_t db_bytes, wal_bytes; /* the replica's files at the end */
	size_t bodies;
};

/* The replica and the account in it, as `saltbridge login` makes them. */
static void
replica_new(struct replica *rep, const struct account *a)
{
	const char *error;

	bench_tmp_path(rep->path, sizeof(rep->path), "replica.db");
	rep->hub = store_hub_new();
	if (store_open(rep->path, rep->hub, &rep->st, &error) != 0 ||
	    store_account_add(rep->st, a->id, BENCH_EMAIL, &rep->account_id,
	                      &error) != 0)
		bench_fail("replica: %s", error);
}

static uint64_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/*
 * The initial sync, then bodies until every one is stored; the replica's
 * files are measured while the connections are still open.
 *
 * Peak RSS: ru_maxrss is this process's high-water mark since it started.
 * It is read just before the sync, when it holds what setup needed here
 * (the libraries, the logged-in clients, the Maildir written through
 * stdio; the signup's Argon2id and the import ran in child processes), and
 * again at the end. The second is the peak of the sync itself, unless
 * setup peaked higher; their difference is what the sync added to the
 * process.
 */
static void
run_sync(const struct setup *s, const struct account *a,
         const struct replica *rep, struct api_client *api,
         struct api_client *bodies, struct sync_result *res)
{
	struct bridge_sync_config cfg = {
	        .replica_path = rep->path,
	        .hub = rep->hub,
	        .account_id = rep->account_id,
	        .api_id = a->id,
	        .api = api,
	};
	struct bridge_sync *sync;
	const char *error;
	char wal[PATH_MAX + 96];
	size_t done;
	double t0;

	memset(res, 0, sizeof(*res));
	res->rss_before = bench_peak_rss_kib();
	t0 = bench_now();
	if (bridge_sync_new(&cfg, &sync, &error) != 0 ||
	    bridge_sync_initial(sync, &error) != 0)
		bench_fail("initial sync: %s", error);
	res->t_meta = bench_now() - t0;
	do {
		if (bridge_sync_bodies(sync, bodies, 0, &done, &error) != 0)
			bench_fail("bodies: %s", error);
		res->bodies += done;
	} while (done > 0 && res->bodies < s->n);
	res->t_total = bench_now() - t0;
	res->rss_peak = bench_peak_rss_kib();
	snprintf(wal, sizeof(wal), "%s-wal", rep->path);
	res->db_bytes = file_size(rep->path);
	res->wal_bytes = file_size(wal);
	bridge_sync_free(&sync);
}

struct tally {
	size_t messages, cached;
	uint64_t bytes; /* ciphertext sizes the replica recorded */
};

static int
tally_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct tally *t = ctx;

	(void)error_r;
	if (e->remote_id == NULL)
		return 0;
	t->messages++;
	t->cached += e->body_cached ? 1 : 0;
	t->bytes += e->size;
	return 0;
}

/*
 * Every message of the replica's mailboxes, through the store API. Each
 * imported message is in one mailbox (INBOX), so entries are messages.
 */
static void
check_replica(const struct setup *s, const struct replica *rep, struct tally *t)
{
	struct store_mailbox *list;
	const char *error;
	size_t n, i;

	memset(t, 0, sizeof(*t));
	if (store_mailbox_list(rep->st, rep->account_id, &list, &n, &error) !=
	    0)
		bench_fail("replica: %s", error);
	for (i = 0; i < n; i++) {
		/* All Mail holds each message a second time. */
		if (list[i].role != NULL &&
		    strcmp(list[i].role, STORE_ROLE_ALL) == 0)
			continue;
		if (store_mailbox_fetch(rep->st, list[i].id, 1, UINT32_MAX, 0,
		                        tally_entry, t, &error) != 0)
			bench_fail("replica: %s", error);
	}
	store_mailbox_list_free(&list, n);
	if (t->messages != s->n || t->cached != s->n)
		bench_fail(
		        "the replica holds %zu messages and %zu bodies after "
		        "the sync, expected %zu of each",
		        t->messages, t->cached, s->n);
}

/* ---- The baseline: curl downloads the same blobs ---- */

struct blob {
	char id[API_ID_MAX + 1];
	uint64_t size;
};

struct blob_list {
	struct blob *items;
	size_t count, max;
	uint64_t bytes;
};

static const char id_chars[] = "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

static void
blob_add(struct blob_list *l, const char *id, uint64_t size)
{
	size_t len = strlen(id);

	/* It goes into a URL and a file name of curl's config. */
	if (len == 0 || len > API_ID_MAX || strspn(id, id_chars) != len)
		bench_fail(
		        "the API listed a blob id that is not [A-Za-z0-9_-]");
	if (l->count == l->max) {
		l->max = l->max == 0 ? 1024 : 2 * l->max;
		l->items = sb_reallocarray(l->items, l->max, sizeof(*l->items));
	}
	memcpy(l->items[l->count].id, id, len + 1);
	l->items[l->count++].size = size;
	l->bytes += size;
}

/* Every message's blob id and size, as GET /api/v1/messages lists them. */
static void
list_blobs(struct api_client *c, struct blob_list *l)
{
	struct api_message_page p;
	struct api_reply r;
	char *cursor = NULL;
	size_t i;

	memset(l, 0, sizeof(*l));
	api_reply_init(&r);
	do {
		if (api_messages_page(c, NULL, LIST_PAGE, cursor, &p, &r) != 0)
			bench_fail("listing messages: %u %s", r.status,
			           r.message);
		free(cursor);
		cursor =
		        p.next_cursor != NULL ? sb_strdup(p.next_cursor) : NULL;
		for (i = 0; i < p.count; i++)
			blob_add(l, p.items[i].blob_id, p.items[i].size);
		api_message_page_free(&p);
	} while (cursor != NULL);
	api_reply_clear(&r);
}

/*
 * curl's config (mode 0600, it holds the token): one operation, so one
 * connection kept for every URL, each saved to outdir/ID; a line per
 * transfer on stdout with its new connections, status and size.
 */
static void
write_curl_config(const struct setup *s, const struct blob_list *l,
                  const char *token, const char *path, const char *outdir)
{
	struct sb_buf b;
	size_t i;
	FILE *f;
	int fd;

	if (strcspn(token, "\"\\\r\n") != strlen(token))
		bench_fail("an access token curl's config cannot quote");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_fail("%s: %s", path, strerror(errno));
	/* Written apart from stdio, whose buffer is not wiped. */
	sb_buf_init_secret(&b, API_TOKEN_MAX + 64);
	if (sb_buf_add_printf(&b, "header = \"Authorization: Bearer %s\"\n",
	                      token) != 0)
		bench_fail("access token too long");
	if (write(fd, b.data, b.len) != (ssize_t)b.len)
		bench_fail("%s: %s", path, strerror(errno));
	sb_buf_free_wipe(&b);
	f = fdopen(fd, "w");
	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
	fprintf(f,
	        "silent\nshow-error\nfail\nfail-early\ntlsv1.2\n"
	        "cacert = \"%s\"\n"
	        "write-out = \"%%{num_connects} %%{http_code} "
	        "%%{size_download}\\n\"\n",
	        s->d.cert);
	for (i = 0; i < l->count; i++)
		fprintf(f, "url = \"%s/api/v1/blobs/%s\"\noutput = \"%s/%s\"\n",
		        s->d.base_url, l->items[i].id, outdir, l->items[i].id);
	if (fclose(f) != 0)
		bench_fail("%s: write failed", path);
}

/* curl's lines: every blob, in order, 200 and of its size. */
static long
check_curl_out(const struct blob_list *l)
{
	char path[PATH_MAX + 64];
	unsigned long long size;
	long connects = 0, c, status;
	size_t i;
	FILE *f;

	bench_tmp_path(path, sizeof(path), "curl.out");
	f = fopen(path, "r");
	if (f == NULL)
		bench_fail("%s: %s", path, strerror(errno));
	for (i = 0; i < l->count; i++) {
		if (fscanf(f, "%ld %ld %llu", &c, &status, &size) != 3 ||
		    status != 200 || size != l->items[i].size)
			bench_fail("curl: blob %zu of %zu not downloaded whole",
			           i + 1, l->count);
		connects += c;
	}
	fclose(f);
	return connects;
}

struct curl_result {
	double t;      /* seconds from start to exit */
	long connects; /* connections it opened */
};

/* -1 when there is no curl to run. */
static int
run_curl(const struct setup *s, const struct blob_list *l, const char *token,
         struct curl_result *res)
{
	char conf[PATH_MAX + 64], outdir[PATH_MAX + 64];
	/* -q first: no ~/.curlrc. */
	char *argv[] = {CURL_PATH, "-q", "--config", conf, NULL};
	double t;

	if (access(CURL_PATH, X_OK) != 0) {
		fprintf(stderr, "bench-sync: no %s: no baseline in this run\n",
		        CURL_PATH);
		return -1;
	}
	bench_tmp_path(conf, sizeof(conf), "curl.conf");
	bench_tmp_path(outdir, sizeof(outdir), "curl-out");
	if (mkdir(outdir, 0700) != 0)
		bench_fail("mkdir %s: %s", outdir, strerror(errno));
	write_curl_config(s, l, token, conf, outdir);
	t = bench_now();
	bench_run(argv, -1, "curl.out", "curl.log", "curl");
	res->t = bench_now() - t;
	remove(conf);
	res->connects = check_curl_out(l);
	return 0;
}

/* ---- Report and main ---- */

static void
report(struct bench_report *r, const char *name, const char *tag, double value,
       const char *unit, const char *base_name, double base_value,
       int have_base)
{
	char full[96];

	snprintf(full, sizeof(full), "%s_%s", name, tag);
	if (have_base)
		bench_report_add(r, full, value, unit, base_name, base_value);
	else
		printf("%s: %.6g %s\n", full, value, unit);
}

static void
report_all(struct bench_report *r, const struct setup *s,
           const struct sync_result *sr, const struct blob_list *l,
           const struct curl_result *cr, int have_base)
{
	const char *tag = s->n == N_FULL ? "10k" : "quick";
	double n = (double)s->n;

	fprintf(stderr,
	        "bench-sync: sync of %zu messages (%.1f MB of ciphertext): "
	        "metadata %.2f s, then bodies %.2f s\n",
	        s->n, (double)l->bytes / 1e6, sr->t_meta,
	        sr->t_total - sr->t_meta);
	fprintf(stderr,
	        "bench-sync: the sync grew this process's peak RSS by %ld "
	        "KiB; the replica: %.1f MB of .db, %.1f MB of -wal\n",
	        sr->rss_peak - sr->rss_before, (double)sr->db_bytes / 1e6,
	        (double)sr->wal_bytes / 1e6);
	if (have_base)
		fprintf(stderr,
		        "bench-sync: curl: %zu blobs in %.2f s on %ld "
		        "connection(s)\n",
		        l->count, cr->t, cr->connects);
	report(r, "initial_sync", tag, n / sr->t_total, "msg/s", "curl_blobs",
	       have_base ? n / cr->t : 0, have_base);
	report(r, "initial_sync_wall", tag, sr->t_total, "s", "curl_blobs_wall",
	       have_base ? cr->t : 0, have_base);
	report(r, "initial_sync_peak_rss", tag, (double)sr->rss_peak, "KiB",
	       "rss_before_sync", (double)sr->rss_before, 1);
	report(r, "replica_size", tag,
	       (double)(sr->db_bytes + sr->wal_bytes) / 1e6, "MB",
	       "server_ciphertext", (double)l->bytes / 1e6, 1);
}

static void
setup_start(struct setup *s, int quick)
{
	const char *tmp = bench_tmp_dir();

	memset(s, 0, sizeof(*s));
	s->n = quick ? N_QUICK : N_FULL;
	/* Paths go quoted into curl's config. */
	if (strcspn(tmp, "\"\\\r\n") != strlen(tmp))
		bench_fail("TMPDIR holds a quote, a backslash or a line end");
	bench_saltmaild_init(&s->d);
}

int
main(int argc, char **argv)
{
	struct bench_report *r = bench_report_new(argc, argv);
	struct api_client *api, *bodies, *lister;
	struct curl_result cr = {0};
	struct sync_result sr;
	struct blob_list blobs;
	struct replica rep;
	struct account *a;
	struct api_reply ar;
	struct setup s;
	struct tally t;
	char *token;
	int have_base;

	bench_setup("bench-sync");
	sb_log_set_ident("bench-sync");
	/* The engine's progress lines would bury ours; problems still show. */
	sb_log_set_level(SB_LOG_WARN);
	if (sb_crypto_init() != 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
		bench_fail("cannot initialise libsodium or libcurl");
	setup_start(&s, bench_report_quick(r));
	bench_saltmaild_start(
	        &s.d, SALTMAILD_PATH,
	        (const char *const[]){"--token-ttl", "3600", NULL});
	a = sign_up(&s);
	fill_account(&s);
	replica_new(&rep, a);
	api = logged_in(&s, a, NULL);
	bodies = logged_in(&s, a, NULL);
	run_sync(&s, a, &rep, api, bodies, &sr);
	api_client_free(&bodies);
	api_client_free(&api);
	check_replica(&s, &rep, &t);

	lister = logged_in(&s, a, &token);
	sb_secure_free(&a);
	list_blobs(lister, &blobs);
	if (blobs.count != s.n || blobs.bytes != t.bytes)
		bench_fail(
		        "the API lists %zu messages of %llu bytes, the replica "
		        "%zu of %llu",
		        blobs.count, (unsigned long long)blobs.bytes,
		        t.messages, (unsigned long long)t.bytes);
	have_base = run_curl(&s, &blobs, token, &cr) == 0;
	sb_secure_free(&token);
	api_reply_init(&ar);
	if (api_logout(lister, &ar) != 0)
		fprintf(stderr, "bench-sync: logout: %u %s\n", ar.status,
		        ar.message);
	api_reply_clear(&ar);
	api_client_free(&lister);

	report_all(r, &s, &sr, &blobs, &cr, have_base);
	free(blobs.items);
	store_close(&rep.st);
	store_hub_free(&rep.hub);
	curl_global_cleanup();
	bench_saltmaild_stop(&s.d, true);
	return bench_report_finish(&r);
}
