/*
 * Offline operation of the bridge, with real processes only: a saltmaild
 * and a `saltbridge serve`, on loopback ports, started and stopped here.
 *
 * An account with N_MESSAGES messages (`saltmaild import`, so encrypted as
 * mail from outside is) is logged in to a fresh bridge home, and serve
 * syncs it. Then saltmaild is stopped, and keyword changes are made in the
 * replica through the store, on a connection of the test's own, the way
 * the IMAP server makes them (store_local_update): on several messages, with
 * two changes in a row to one message where their order matters. serve keeps
 * running, the replica shows the changes and the queue holds them. saltmaild
 * comes back on the same port with the same data (the URL the bridge was logged
 * in to), and the changes converge: the service and the replica give
 * every message the keywords the changes made (nothing lost, nothing
 * applied twice), no message is doubled, UIDs stay, and the queue is
 * empty with nothing failed. A second round has another client change
 * the same messages right after the restart: the keyword sets merge.
 * serve then stops cleanly, and its log holds no sanitizer report and no
 * secret.
 *
 * Every wait is a loop with a deadline, generous for a sanitizer build on
 * a loaded machine: serve replays its queue every BRIDGE_SYNC_REPLAY_MS,
 * an op that failed waits its backoff (5 s, doubling) before the next
 * try, and the event stream reconnects after up to 30 s.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "api/calls.h"
#include "bridge/sync.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "helpers.h"
#include "store/store.h"
#include "test.h"

#define N_MESSAGES 6
#define EMAIL      "offline@example.org"
#define READY      "saltbridge: ready (1 accounts)\n"

/* Deadlines, in seconds. */
#define START_WAIT    120 /* a command to end (login runs Argon2id) */
#define SYNC_WAIT     60  /* serve ready, and its initial sync done */
#define TRY_WAIT      20  /* a replay tried while saltmaild is down */
#define PORT_WAIT     30  /* saltmaild listening on its port again */
#define CONVERGE_WAIT 90  /* the queue replayed and the replica caught up */
#define STOP_WAIT     30  /* serve stopped by SIGTERM */

struct msg {
	char id[API_ID_MAX + 1]; /* the service's */
	int64_t local;           /* the replica's */
	uint32_t uid;            /* in INBOX, after the initial sync */
	char *want;              /* its keywords, as they should be */
};

static struct server srv;
static bool srv_up;
static char password[64], bridge_password[64];
static unsigned char auth_key[API_KEY_BYTES];
static struct api_client *api; /* the test's own calls: another client */
static char home[600], serve_out[700], serve_log[700], replica[700];
static pid_t serve_pid;
static struct store *st; /* the test's connection to serve's replica */
static int64_t account_id;
static struct msg msgs[N_MESSAGES];
static bool ready;

/* ---- Waiting ---- */

struct wait {
	bool (*cond)(void);
};

static bool
wait_cond(void *ctx)
{
	return ((struct wait *)ctx)->cond();
}

/* Calls cond every 200 ms until it holds or timeout_s passed. */
static bool
wait_for(bool (*cond)(void), unsigned timeout_s)
{
	struct wait w = {cond};

	return wait_until(wait_cond, &w, timeout_s, 200);
}

/* A file's text, or an empty string when it is not there (yet). */
static char *
file_text(const char *path)
{
	size_t len;

	if (access(path, F_OK) != 0)
		return sb_strdup("");
	return test_read_file(path, &len);
}

/* Prints the end of serve's log, for a failure. */
static void
show_log(void)
{
	char *text = file_text(serve_log);
	size_t len = strlen(text);

	fprintf(stderr, "  serve's log, last 6000 bytes:\n%s\n",
	        len > 6000 ? text + len - 6000 : text);
	free(text);
}

#define WAIT_OR_FAIL(cond, timeout_s)                                   \
	do {                                                            \
		if (!wait_for(cond, timeout_s)) {                       \
			show_log();                                     \
			test_fail(__FILE__, __LINE__,                   \
			          "%s did not hold within %u s", #cond, \
			          (unsigned)(timeout_s));               \
		}                                                       \
	} while (0)

/* ---- Keyword lists ---- */

/* Whether the space-separated list holds the word w[0..n), in any case. */
static bool
has_word(const char *list, const char *w, size_t n)
{
	const char *p = list;
	size_t len;

	while (p != NULL && *p != '\0') {
		len = strcspn(p, " ");
		if (len == n && strncasecmp(p, w, n) == 0)
			return true;
		p += len + strspn(p + len, " ");
	}
	return false;
}

/* *set, owned and normalised, with add added and remove taken out. */
static void
kw_apply(char **set, const char *add, const char *remove)
{
	char buf[1024] = "", *norm;
	const char *p = *set != NULL ? *set : "", *error;
	size_t len, used = 0;

	while (*p != '\0') {
		len = strcspn(p, " ");
		if (len > 0 && !has_word(remove, p, len)) {
			TEST_ASSERT(used + len + 1 < sizeof(buf));
			memcpy(buf + used, p, len);
			used += len;
			buf[used++] = ' ';
			buf[used] = '\0';
		}
		p += len + strspn(p + len, " ");
	}
	if (add != NULL) {
		TEST_ASSERT(used + strlen(add) < sizeof(buf));
		memcpy(buf + used, add, strlen(add) + 1);
	}
	TEST_EQ_INT(store_keywords_normalize(buf, &norm, &error), 0);
	free(*set);
	*set = norm;
}

/*
 * Fails unless kw (owned, freed here; NULL: the message is missing) is
 * message i's keywords as they should be; where says whose they are.
 */
static void
expect_keywords(const char *where, size_t i, char *kw)
{
	char got[1024];

	if (kw != NULL && strcmp(kw, msgs[i].want) == 0) {
		free(kw);
		return;
	}
	snprintf(got, sizeof(got), "%s", kw != NULL ? kw : "(no message)");
	free(kw);
	test_fail(__FILE__, __LINE__, "%s: message %zu has \"%s\", not \"%s\"",
	          where, i, got, msgs[i].want);
}

/* ---- The service, through the test's own client ---- */

/* Signs the account up with a random password, and logs the client in. */
static void
sign_up(void)
{
	unsigned char raw[16];
	size_t i;

	arc4random_buf(raw, sizeof(raw));
	memcpy(password, "pw-", 3);
	for (i = 0; i < sizeof(raw); i++)
		snprintf(password + 3 + 2 * i, 3, "%02x", raw[i]);
	api = client_for_pages(srv.port, srv.cert);
	signup_post(api, EMAIL, password, auth_key, NULL);
	client_login(api, EMAIL, auth_key);
}

/* The service's keywords of message i, normalised (owned). */
static char *
service_keywords(size_t i)
{
	struct api_message m;
	struct api_reply r;
	char buf[1024] = "", *norm;
	const char *error;
	size_t k, used = 0, len;

	api_reply_init(&r);
	check_call(api_message_get(api, msgs[i].id, &m, &r), &r, "message");
	for (k = 0; k < m.keywords.count; k++) {
		len = strlen(m.keywords.items[k]);
		TEST_ASSERT(used + len + 1 < sizeof(buf));
		memcpy(buf + used, m.keywords.items[k], len);
		used += len;
		buf[used++] = ' ';
		buf[used] = '\0';
	}
	api_message_free(&m);
	api_reply_clear(&r);
	TEST_EQ_INT(store_keywords_normalize(buf, &norm, &error), 0);
	return norm;
}

/*
 * Lists the account's messages: exactly N_MESSAGES, each once. With
 * fill, their ids go to msgs[] in the listing's order (newest first);
 * without, they must be those ids.
 */
static void
service_list(bool fill)
{
	struct api_message_page page;
	struct api_reply r;
	size_t i, k;

	api_reply_init(&r);
	check_call(api_messages_page(api, NULL, 100, NULL, &page, &r), &r,
	           "messages");
	TEST_EQ_UINT(page.count, N_MESSAGES);
	TEST_ASSERT(page.next_cursor == NULL);
	for (i = 0; i < page.count; i++) {
		for (k = 0; k < i; k++)
			TEST_ASSERT(strcmp(page.items[k].id,
			                   page.items[i].id) != 0);
		if (fill) {
			snprintf(msgs[i].id, sizeof(msgs[i].id), "%s",
			         page.items[i].id);
			continue;
		}
		for (k = 0; k < N_MESSAGES; k++) {
			if (strcmp(msgs[k].id, page.items[i].id) == 0)
				break;
		}
		TEST_ASSERT(k < N_MESSAGES);
	}
	api_message_page_free(&page);
	api_reply_clear(&r);
}

/* Another client's keyword change of message i, on the service. */
static void
service_change(size_t i, const char *add, const char *remove)
{
	message_keywords_update(api, msgs[i].id, add, remove);
	kw_apply(&msgs[i].want, add, remove);
}

/* ---- Processes ---- */

/* Runs saltmaild or saltbridge to its end; fails unless it exits 0. */
static void
run(const char *const *argv, const char *in, const char *name)
{
	char out[700], err[700], *text;
	int status;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/%s.out", test_tmpdir(), name);
	snprintf(err, sizeof(err), "%s/%s.err", test_tmpdir(), name);
	pid = child_start(argv, in, out, err);
	if (!child_wait(pid, START_WAIT, &status)) {
		child_stop(pid, 5);
		test_fail(__FILE__, __LINE__, "%s did not end within %u s",
		          name, START_WAIT);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		text = file_text(err);
		fprintf(stderr, "  %s's stderr:\n%s\n", name, text);
		free(text);
		test_fail(__FILE__, __LINE__, "%s failed (status %d)", name,
		          status);
	}
}

/* An mbox of N_MESSAGES messages an hour apart, imported by saltmaild. */
static void
import_messages(void)
{
	char path[700], from[64], date[64];
	const char *argv[] = {SALTMAILD_PATH, "import", "--data", srv.data,
	                      "--to",         EMAIL,    path,     NULL};
	time_t t;
	size_t i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/in.mbox", test_tmpdir());
	f = fopen(path, "w");
	TEST_ASSERT(f != NULL);
	for (i = 0; i < N_MESSAGES; i++) {
		t = (time_t)(1704067200 + 3600 * i);
		strftime(from, sizeof(from), "%a %b %e %H:%M:%S %Y",
		         gmtime(&t));
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		         gmtime(&t));
		fprintf(f,
		        "From sender@example.org %s\n"
		        "From: sender%zu@example.org\nTo: %s\n"
		        "Subject: offline %zu\nDate: %s\n"
		        "Message-ID: <offline.%zu@example.org>\n\n"
		        "Body %zu.\n\n",
		        from, i, EMAIL, i, date, i, i);
	}
	TEST_EQ_INT(fclose(f), 0);
	run(argv, NULL, "import");
}

/* A string field of the one account `accounts --json` printed. */
static void
account_field(const char *text, const char *name, char *out, size_t size)
{
	struct json_object *obj = json_tokener_parse(text), *list, *a, *v;

	TEST_ASSERT(obj != NULL);
	TEST_ASSERT(json_object_object_get_ex(obj, "accounts", &list));
	TEST_EQ_UINT(json_object_array_length(list), 1);
	a = json_object_array_get_idx(list, 0);
	TEST_ASSERT(json_object_object_get_ex(a, name, &v));
	snprintf(out, size, "%s", json_object_get_string(v));
	json_object_put(obj);
}

/* saltbridge login into a fresh home, the password on standard input. */
static void
bridge_login(void)
{
	char url[64], in[80], path[700], *text;
	const char *login[] = {SALTBRIDGE_PATH, "--home", home,
	                       "login",         "--api",  url,
	                       "--ca-file",     srv.cert, "--password-stdin",
	                       EMAIL,           NULL};
	const char *accounts[] = {SALTBRIDGE_PATH, "--home", home,
	                          "accounts",      "--json", NULL};

	snprintf(home, sizeof(home), "%s/home", test_tmpdir());
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", srv.port);
	snprintf(in, sizeof(in), "%s\n", password);
	run(login, in, "login");
	run(accounts, NULL, "accounts");
	snprintf(path, sizeof(path), "%s/accounts.out", test_tmpdir());
	text = file_text(path);
	account_field(text, "password", bridge_password,
	              sizeof(bridge_password));
	free(text);
	TEST_ASSERT(strlen(bridge_password) >= 20);
	snprintf(replica, sizeof(replica), "%s/data/replica.db", home);
}

/* serve printed its ready line; fails when it ended. */
static bool
serve_ready(void)
{
	char *text = file_text(serve_out);
	bool yes = strstr(text, READY) != NULL;
	int status;

	free(text);
	if (!yes && child_wait(serve_pid, 0, &status)) {
		serve_pid = 0;
		show_log();
		test_fail(__FILE__, __LINE__, "serve ended (status %d)",
		          status);
	}
	return yes;
}

/* serve still runs. */
static void
check_serving(void)
{
	int status;

	TEST_ASSERT(serve_pid > 0);
	if (child_wait(serve_pid, 0, &status)) {
		serve_pid = 0;
		show_log();
		test_fail(__FILE__, __LINE__, "serve ended (status %d)",
		          status);
	}
}

/* ---- The replica, through the test's own store connection ---- */

/* Message i's keywords in the replica (owned); NULL when not there. */
static char *
replica_keywords(size_t i)
{
	struct store_message m;
	const char *error;
	char *kw;
	int ret;

	ret = store_message_get(st, msgs[i].local, &m, &error);
	TEST_ASSERT(ret >= 0);
	if (ret == 0)
		return NULL;
	kw = sb_strdup(m.keywords != NULL ? m.keywords : "");
	store_message_free_contents(&m);
	return kw;
}

static uint64_t
ops(void)
{
	const char *error;
	uint64_t n;

	TEST_EQ_INT(store_op_count(st, account_id, &n, &error), 0);
	return n;
}

struct inbox_scan {
	uint32_t uids[N_MESSAGES];
	size_t entries;
};

static int
inbox_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct inbox_scan *sc = ctx;
	size_t i;

	sc->entries++;
	for (i = 0; i < N_MESSAGES && e->remote_id != NULL; i++) {
		if (strcmp(e->remote_id, msgs[i].id) == 0) {
			if (sc->uids[i] != 0) {
				*error_r = "a message is in INBOX twice";
				return -1;
			}
			sc->uids[i] = e->uid;
			return 0;
		}
	}
	*error_r = "INBOX holds a message the service does not list";
	return -1;
}

/* INBOX of the replica: each message once, and nothing else. */
static void
scan_inbox(struct inbox_scan *sc)
{
	struct store_mailbox mb;
	const char *error;
	size_t i;

	memset(sc, 0, sizeof(*sc));
	TEST_EQ_INT(
	        store_mailbox_find_role(st, account_id, "inbox", &mb, &error),
	        1);
	if (store_mailbox_fetch(st, mb.id, 1, UINT32_MAX, 0, inbox_entry, sc,
	                        &error) < 0)
		test_fail(__FILE__, __LINE__, "INBOX: %s", error);
	store_mailbox_free_contents(&mb);
	TEST_EQ_UINT(sc->entries, N_MESSAGES);
	for (i = 0; i < N_MESSAGES; i++)
		TEST_ASSERT(sc->uids[i] != 0);
}

/* The initial sync is done: every message and body, the keywords. */
static bool
initially_synced(void)
{
	struct store_message m;
	const char *error;
	char *phase = NULL, *kw;
	size_t i;
	bool yes;
	int ret;

	ret = store_sync_get(st, account_id, "phase", &phase, &error);
	TEST_ASSERT(ret >= 0);
	yes = ret == 1 && strcmp(phase, "steady") == 0;
	free(phase);
	for (i = 0; yes && i < N_MESSAGES; i++) {
		ret = store_message_find_remote(st, account_id, msgs[i].id, &m,
		                                &error);
		TEST_ASSERT(ret >= 0);
		if (ret == 0)
			return false;
		msgs[i].local = m.id;
		yes = m.body_cached;
		store_message_free_contents(&m);
		kw = replica_keywords(i);
		yes = yes && kw != NULL && strcmp(kw, msgs[i].want) == 0;
		free(kw);
	}
	return yes;
}

/*
 * A local keyword change of message i: the replica first, with the op
 * that replays it, in one transaction.
 */
static void
local_change(size_t i, const char *add, const char *remove)
{
	struct store_patch p = {.add_keywords = add, .remove_keywords = remove};
	const char *error;

	if (store_local_update(st, &msgs[i].local, 1, &p, (int64_t)time(NULL),
	                       NULL, &error) < 0)
		test_fail(__FILE__, __LINE__, "local change of message %zu: %s",
		          i, error);
	kw_apply(&msgs[i].want, add, remove);
}

/*
 * The same change of n messages in one op, as IMAP STORE makes it: the
 * store writes the payload (store_local_update).
 */
static void
local_update(const size_t *which, size_t n, const char *add, const char *remove)
{
	struct store_patch p = {.add_keywords = add, .remove_keywords = remove};
	int64_t ids[N_MESSAGES];
	const char *error;
	size_t k;

	TEST_ASSERT(n <= N_MESSAGES);
	for (k = 0; k < n; k++)
		ids[k] = msgs[which[k]].local;
	if (store_local_update(st, ids, n, &p, (int64_t)time(NULL), NULL,
	                       &error) < 0)
		test_fail(__FILE__, __LINE__, "local update: %s", error);
	for (k = 0; k < n; k++)
		kw_apply(&msgs[which[k]].want, add, remove);
}

#define LOCAL_UPDATE(add, remove, ...)                                       \
	local_update((const size_t[]){__VA_ARGS__},                          \
	             sizeof((const size_t[]){__VA_ARGS__}) / sizeof(size_t), \
	             add, remove)

/*
 * The replica shows every change made so far, also in what INBOX's
 * status tells an IMAP client.
 */
static void
check_replica(void)
{
	struct store_mailbox_status status;
	struct store_mailbox mb;
	const char *error;
	size_t i, unseen = 0;

	for (i = 0; i < N_MESSAGES; i++) {
		expect_keywords("the replica", i, replica_keywords(i));
		unseen += !has_word(msgs[i].want, "$seen", 5);
	}
	TEST_EQ_INT(
	        store_mailbox_find_role(st, account_id, "inbox", &mb, &error),
	        1);
	TEST_EQ_INT(store_mailbox_status(st, mb.id, &status, &error), 0);
	store_mailbox_free_contents(&mb);
	TEST_EQ_UINT(status.messages, N_MESSAGES);
	TEST_EQ_UINT(status.unseen, unseen);
}

/* serve tried to replay an op, and it failed: the service is down. */
static bool
replay_tried(void)
{
	struct store_op op;
	const char *error;
	bool yes;
	int ret;

	ret = store_op_peek(st, account_id, INT64_MAX, &op, &error);
	TEST_ASSERT(ret >= 0);
	if (ret == 0)
		return false;
	yes = op.attempts > 0;
	store_op_free_contents(&op);
	return yes;
}

/*
 * Converged: the queue is empty, the replica has read the change feed
 * up to the service's state, and both give every message its keywords.
 */
static bool
converged(void)
{
	struct store_account a;
	const char *error;
	char *state, *kw;
	bool yes;
	size_t i;

	if (ops() != 0)
		return false;
	TEST_EQ_INT(store_account_find_email(st, EMAIL, &a, &error), 1);
	state = account_state(api);
	yes = a.feed_state != NULL && strcmp(a.feed_state, state) == 0;
	free(state);
	store_account_free_contents(&a);
	for (i = 0; yes && i < N_MESSAGES; i++) {
		kw = replica_keywords(i);
		yes = kw != NULL && strcmp(kw, msgs[i].want) == 0;
		free(kw);
		if (yes) {
			kw = service_keywords(i);
			yes = strcmp(kw, msgs[i].want) == 0;
			free(kw);
		}
	}
	return yes;
}

/*
 * After the wait: says what differs, if anything. Nothing lost or
 * applied twice (the keywords), nothing doubled (the listing and
 * INBOX), UIDs kept, no op left or failed.
 */
static void
check_converged(void)
{
	struct inbox_scan sc;
	struct store_op *failed;
	const char *error;
	size_t i, n;

	for (i = 0; i < N_MESSAGES; i++) {
		expect_keywords("the service", i, service_keywords(i));
		expect_keywords("the replica", i, replica_keywords(i));
	}
	TEST_EQ_UINT(ops(), 0);
	TEST_EQ_INT(store_op_list_failed(st, account_id, &failed, &n, &error),
	            0);
	store_op_list_free(&failed, n);
	TEST_EQ_UINT(n, 0);
	service_list(false);
	scan_inbox(&sc);
	for (i = 0; i < N_MESSAGES; i++)
		TEST_EQ_UINT(sc.uids[i], msgs[i].uid);
}

/*
 * Whether text[0..len) says why a try failed and nothing more: lower-case
 * words, numbers and punctuation, no long run such as a token or an id.
 */
static bool
plain_reason(const char *text, size_t len)
{
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		if (strchr("abcdefghijklmnopqrstuvwxyz0123456789", text[i]) !=
		    NULL) {
			if (++run > 24)
				return false;
		} else if (strchr("_ :()-", text[i]) != NULL) {
			run = 0;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * What is wrong with serve's log, or NULL: a sanitizer report, a secret,
 * a warning naming an op (one refused or set aside: a change undone), or
 * a failed try that says more than why. *tries_r counts the tries logged
 * as failed for now.
 */
static const char *
log_problem(const char *log, size_t *tries_r)
{
	static const char *const never[] = {
	        "Sanitizer",    "runtime error:", "Bearer",
	        "access_token", "refresh_token",  NULL,
	};
	static const char failed[] = " failed for now: ";
	static char why[400];
	const char *line, *end, *p;
	size_t i, len;

	*tries_r = 0;
	for (i = 0; never[i] != NULL; i++) {
		if (strstr(log, never[i]) != NULL) {
			snprintf(why, sizeof(why), "serve logged \"%s\"",
			         never[i]);
			return why;
		}
	}
	if (strstr(log, password) != NULL)
		return "serve logged the account's password";
	if (strstr(log, bridge_password) != NULL)
		return "serve logged the bridge password";
	for (line = log; *line != '\0'; line = *end != '\0' ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		len = (size_t)(end - line);
		if ((memmem(line, len, " warn: ", 7) != NULL ||
		     memmem(line, len, " error: ", 8) != NULL) &&
		    memmem(line, len, ": op ", 5) != NULL) {
			snprintf(why, sizeof(why), "serve gave up an op: %.*s",
			         (int)len, line);
			return why;
		}
		p = memmem(line, len, failed, sizeof(failed) - 1);
		if (p == NULL)
			continue;
		p += sizeof(failed) - 1;
		if (!plain_reason(p, (size_t)(end - p))) {
			snprintf(why, sizeof(why),
			         "a failed try says more than why: %.*s",
			         (int)len, line);
			return why;
		}
		(*tries_r)++;
	}
	return NULL;
}

/* serve's log is clean; with tried, the failed tries are logged. */
static void
check_log(bool tried)
{
	char *log = file_text(serve_log);
	const char *problem;
	size_t tries;

	problem = log_problem(log, &tries);
	free(log);
	if (problem == NULL && tried && tries == 0)
		problem = "a replay failed and serve did not log it";
	if (problem != NULL) {
		show_log();
		test_fail(__FILE__, __LINE__, "%s", problem);
	}
}

/* ---- The cases ---- */

/*
 * saltmaild with the account and its messages, some keywords set by
 * another client, and serve synced into a fresh home.
 */
static void
fixture(void)
{
	const char *argv[] = {
	        SALTBRIDGE_PATH, "--home", home,          "--log-level",
	        "info",          "serve",  "--imap-port", "0",
	        "--smtp-port",   "0",      NULL};
	struct store_account a;
	struct inbox_scan sc;
	const char *error;
	size_t i;

	server_start(&srv, "offline", "900", NULL);
	srv_up = true;
	sign_up();
	import_messages();
	service_list(true);
	for (i = 0; i < N_MESSAGES; i++)
		msgs[i].want = sb_strdup("");
	service_change(2, "$seen", NULL);
	service_change(3, "$flagged $seen", NULL);
	service_change(4, "project-q", NULL);
	for (i = 0; i < N_MESSAGES; i++)
		expect_keywords("the service", i, service_keywords(i));
	bridge_login();

	snprintf(serve_out, sizeof(serve_out), "%s/serve.out", test_tmpdir());
	snprintf(serve_log, sizeof(serve_log), "%s/serve.err", test_tmpdir());
	serve_pid = child_start(argv, NULL, serve_out, serve_log);
	WAIT_OR_FAIL(serve_ready, SYNC_WAIT);
	TEST_EQ_INT(store_open(replica, NULL, &st, &error), 0);
	TEST_EQ_INT(store_account_find_email(st, EMAIL, &a, &error), 1);
	account_id = a.id;
	store_account_free_contents(&a);
	WAIT_OR_FAIL(initially_synced, SYNC_WAIT);
	scan_inbox(&sc);
	for (i = 0; i < N_MESSAGES; i++)
		msgs[i].uid = sc.uids[i];
	TEST_EQ_UINT(ops(), 0);
	ready = true;
}

static void
test_offline_changes_converge(void)
{
	double started;
	bool tried;

	fixture();

	server_stop(&srv);
	srv_up = false;
	/*
	 * Interleaved, so that the order of the queue matters across
	 * messages too, and both kinds of payload in one queue: 0 gets a
	 * keyword and loses it again; 1 gets $flagged then $seen; 3 loses
	 * $flagged and gets it back; 2 gets $answered and loses $seen in
	 * one change; 4 is left alone.
	 */
	local_change(0, "offline-a", NULL);
	LOCAL_UPDATE("$flagged", NULL, 1);
	local_change(3, NULL, "$flagged");
	LOCAL_UPDATE(NULL, "offline-a", 0);
	local_change(1, "$seen", NULL);
	LOCAL_UPDATE("$flagged", NULL, 3);
	LOCAL_UPDATE("$answered", "$seen", 2);
	local_change(5, "Project-Z", NULL);
	TEST_EQ_UINT(ops(), 8);
	check_replica();

	/*
	 * serve tries to replay while the service is down: every 5 s while
	 * it waits for the feed, but not while it backs off after a failed
	 * feed pass, so the wait may end without a try.
	 */
	tried = wait_for(replay_tried, TRY_WAIT);
	fprintf(stderr, "info: a replay was%s tried while saltmaild was down\n",
	        tried ? "" : " not");
	check_serving();
	check_replica();
	TEST_EQ_UINT(ops(), 8);

	server_restart(&srv, "900", NULL, PORT_WAIT);
	srv_up = true;
	started = now_s();
	if (!wait_for(converged, CONVERGE_WAIT))
		show_log();
	fprintf(stderr, "info: converged %.1f s after the restart\n",
	        now_s() - started);
	check_converged();
	check_serving();
	check_log(tried);
}

static void
test_offline_changes_merge(void)
{
	double started;

	TEST_ASSERT(ready && srv_up);

	server_stop(&srv);
	srv_up = false;
	LOCAL_UPDATE("local-x", NULL, 4);
	local_change(5, "$seen", "project-z");
	LOCAL_UPDATE("$draft", NULL, 0, 1);
	TEST_EQ_UINT(ops(), 3);
	check_replica();
	check_serving();

	server_restart(&srv, "900", NULL, PORT_WAIT);
	srv_up = true;
	started = now_s();
	/* Most likely before the ops are replayed. */
	service_change(4, "remote-y", NULL);
	service_change(5, "$flagged", NULL);
	if (!wait_for(converged, CONVERGE_WAIT))
		show_log();
	fprintf(stderr, "info: converged %.1f s after the restart\n",
	        now_s() - started);
	check_converged();
	check_serving();
	check_log(false);
}

static void
test_serve_stops(void)
{
	const char *error;
	char *result;
	int status;

	TEST_ASSERT(ready && serve_pid > 0);
	status = child_stop(serve_pid, STOP_WAIT);
	serve_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		show_log();
		test_fail(__FILE__, __LINE__, "serve stopped with status %d",
		          status);
	}
	check_log(false);
	TEST_EQ_INT(store_integrity_check(st, &result, &error), 0);
	TEST_EQ_STR(result, "ok");
	free(result);
	store_close(&st);
	if (srv_up) {
		srv_up = false;
		server_stop(&srv);
	}
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"changes made offline converge after the restart",
	         test_offline_changes_converge},
	        {"changes made offline merge with another client's",
	         test_offline_changes_merge},
	        {"serve stops cleanly, its log clean", test_serve_stops},
	        {NULL, NULL},
	};
	size_t i;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (sb_crypto_init() != 0)
		return 1;
	ret = test_run(cases);
	/* Processes a failed case left running are killed at exit. */
	store_close(&st);
	api_client_free(&api);
	for (i = 0; i < N_MESSAGES; i++)
		free(msgs[i].want);
	return ret;
}
