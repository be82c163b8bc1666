/*
 * The sync engine against a real saltmaild: an account with 300 messages
 * in three mailboxes (one a child), synced into a fresh replica page by
 * page, stopped after the first page and resumed; bodies downloaded and
 * read back; the steady loop following new mail, keyword changes and
 * destroys pushed by the event stream; local keyword changes replayed
 * from the op queue (applied once, kept while the service cannot be
 * reached, dropped and undone when refused); a resync stopped after its
 * first page and resumed, or begun afresh when its saved cursor is
 * refused; and a resync, on a server that keeps two changes, that keeps
 * the UIDs of the messages still there.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/calls.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "helpers.h"
#include "store/store.h"
#include "sync-private.h"
#include "sync.h"
#include "test.h"

#define N_MESSAGES 300
#define BIG_INDEX  7
#define BIG_SIZE   (300 * 1024)

/* Which mailboxes a message is in, as bits. */
#define IN_INBOX 1u
#define IN_WORK  2u
#define IN_SUB   4u

struct account {
	const char *email;
	struct server *srv;
	struct api_client *c; /* the test's own calls */
	unsigned char auth_key[API_KEY_BYTES];
	char account_id[API_ACCOUNT_ID_LEN + 1];
	char inbox[API_ID_MAX + 1], work[API_ID_MAX + 1], sub[API_ID_MAX + 1];
	struct store_hub *hub;
	struct store *st; /* the test's view of the replica */
	char replica[600];
	int64_t replica_id;
};

struct expect {
	char id[API_ID_MAX + 1];
	size_t size;
	unsigned boxes;
	uint32_t uid; /* in its first mailbox, after the first page */
};

static struct server srv, srv2;
static bool srv_up, srv2_up;
static struct account alice = {.email = "alice@example.org"};
static struct account bob = {.email = "bob@example.org"};
static struct expect msgs[N_MESSAGES];
static bool synced;

static struct api_client *
logged_in(const struct account *a)
{
	struct api_client *c = client_for_pages(a->srv->port, a->srv->cert);

	client_login(c, a->email, a->auth_key);
	return c;
}

static void
sign_up(struct account *a)
{
	a->c = client_for_pages(a->srv->port, a->srv->cert);
	signup_post(a->c, a->email, "pw", a->auth_key, a->account_id);
	client_login(a->c, a->email, a->auth_key);
}

/* The replica and the account in it. */
static void
replica_open(struct account *a, const char *name)
{
	const char *error;

	snprintf(a->replica, sizeof(a->replica), "%s/%s.db", test_tmpdir(),
	         name);
	a->hub = store_hub_new();
	TEST_EQ_INT(store_open(a->replica, a->hub, &a->st, &error), 0);
	TEST_EQ_INT(store_account_add(a->st, a->account_id, a->email,
	                              &a->replica_id, &error),
	            0);
}

/* The body of message i: a pattern of its own, of its size. */
static void
body_bytes(size_t i, unsigned char *out, size_t len)
{
	uint32_t x = (uint32_t)i * 2654435761u + 1;
	size_t k;

	for (k = 0; k < len; k++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		out[k] = (unsigned char)x;
	}
}

static size_t
body_size(size_t i)
{
	return i == BIG_INDEX ? BIG_SIZE : 50 + (i * 37) % 2000;
}

/* Imports message i into the mailboxes of `boxes`; the id into id_r. */
static void
import(struct account *a, size_t i, unsigned boxes, const char *keyword,
       char id_r[API_ID_MAX + 1])
{
	const char *mailboxes[4], *keywords[3];
	size_t len = body_size(i), nm = 0, nk = 0;
	unsigned char *body = sb_malloc(len);

	if (boxes & IN_INBOX)
		mailboxes[nm++] = a->inbox;
	if (boxes & IN_WORK)
		mailboxes[nm++] = a->work;
	if (boxes & IN_SUB)
		mailboxes[nm++] = a->sub;
	mailboxes[nm] = NULL;
	if (keyword != NULL)
		keywords[nk++] = keyword;
	if (i % 2 == 1)
		keywords[nk++] = "$seen";
	keywords[nk] = NULL;
	body_bytes(i, body, len);
	message_import(a->c, body, len, mailboxes, keywords, 1795000000 + i,
	               id_r);
	free(body);
}

static const char *
keyword_of(size_t i)
{
	if (i % 5 == 0)
		return "$flagged";
	return i % 7 == 0 ? "project-x" : NULL;
}

/* The mailboxes: INBOX from signup, Work and Work/Sub made here. */
static void
make_mailboxes(struct account *a)
{
	struct api_mailbox m;
	struct api_reply r;

	mailbox_role_id(a->c, "inbox", a->inbox);
	api_reply_init(&r);
	check_call(api_mailbox_create(a->c, "Work", NULL, &m, &r), &r, "Work");
	snprintf(a->work, sizeof(a->work), "%s", m.id);
	api_mailbox_free(&m);
	check_call(api_mailbox_create(a->c, "Sub", a->work, &m, &r), &r, "Sub");
	snprintf(a->sub, sizeof(a->sub), "%s", m.id);
	api_mailbox_free(&m);
	api_reply_clear(&r);
}

static void
fixture(void)
{
	size_t i;

	if (srv_up)
		return;
	server_start(&srv, "sync", "900", NULL);
	srv_up = true;
	alice.srv = &srv;
	sign_up(&alice);
	make_mailboxes(&alice);
	for (i = 0; i < N_MESSAGES; i++) {
		unsigned boxes = (unsigned[]){IN_INBOX, IN_WORK, IN_SUB}[i % 3];

		if (i % 10 == 0)
			boxes |= IN_WORK;
		msgs[i].size = body_size(i);
		msgs[i].boxes = boxes;
		import(&alice, i, boxes, keyword_of(i), msgs[i].id);
	}
	replica_open(&alice, "alice");
}

static struct bridge_sync *
sync_new(struct account *a, struct api_client *api, struct api_client *events,
         struct api_client *bodies)
{
	struct bridge_sync_config cfg = {
	        .replica_path = a->replica,
	        .hub = a->hub,
	        .account_id = a->replica_id,
	        .api_id = a->account_id,
	        .api = api,
	        .events = events,
	        .bodies = bodies,
	};
	struct bridge_sync *s;
	const char *error;

	if (bridge_sync_new(&cfg, &s, &error) < 0)
		test_fail(__FILE__, __LINE__, "sync: %s", error);
	return s;
}

/* Looks a message up by remote id: its replica id, or 0. */
static int64_t
find(struct account *a, const char *remote_id, char **keywords_r)
{
	struct store_message m;
	const char *error;
	int64_t id;
	int ret;

	ret = store_message_find_remote(a->st, a->replica_id, remote_id, &m,
	                                &error);
	TEST_ASSERT(ret >= 0);
	if (ret == 0)
		return 0;
	id = m.id;
	if (keywords_r != NULL)
		*keywords_r = sb_strdup(m.keywords);
	store_message_free_contents(&m);
	return id;
}

struct scan {
	unsigned bit;
	unsigned seen[N_MESSAGES];
	uint32_t uids[N_MESSAGES]; /* in the mailbox scanned */
	size_t entries, unknown;
	bool dup;
};

static int
scan_entry(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct scan *sc = ctx;
	size_t i;

	(void)error_r;
	sc->entries++;
	for (i = 0; i < N_MESSAGES; i++) {
		if (e->remote_id != NULL &&
		    strcmp(e->remote_id, msgs[i].id) == 0) {
			if (sc->seen[i] & sc->bit)
				sc->dup = true;
			sc->seen[i] |= sc->bit;
			sc->uids[i] = e->uid;
			return 0;
		}
	}
	sc->unknown++;
	return 0;
}

/*
 * Scans INBOX, Work and Work/Sub of the replica; uids_r (may be NULL)
 * gets each message's UID in its first mailbox.
 */
static void
scan_replica(struct account *a, struct scan *sc, uint32_t *uids_r)
{
	static const char *const paths[] = {"INBOX", "Work", "Work/Sub"};
	struct store_mailbox mb;
	const char *error;
	size_t k, i;

	memset(sc, 0, sizeof(*sc));
	for (k = 0; k < 3; k++) {
		int ret = store_mailbox_find_path(a->st, a->replica_id,
		                                  paths[k], &mb, &error);

		if (ret == 0 && k == 0)
			ret = store_mailbox_find_role(a->st, a->replica_id,
			                              "inbox", &mb, &error);
		TEST_EQ_INT(ret, 1);
		sc->bit = 1u << k;
		TEST_EQ_INT(store_mailbox_fetch(a->st, mb.id, 1, UINT32_MAX, 0,
		                                scan_entry, sc, &error),
		            0);
		store_mailbox_free_contents(&mb);
		for (i = 0; uids_r != NULL && i < N_MESSAGES; i++) {
			if ((msgs[i].boxes & 7u) != 0 &&
			    (msgs[i].boxes & ((1u << k) - 1)) == 0 &&
			    (sc->seen[i] & (1u << k)))
				uids_r[i] = sc->uids[i];
		}
	}
}

static void
test_initial_resume(void)
{
	static uint32_t first[N_MESSAGES], after[N_MESSAGES];
	struct bridge_sync_state state;
	struct api_client *api;
	struct bridge_sync *s;
	struct scan sc;
	const char *error;
	size_t i, n_first = 0, entries = 0;
	bool done;
	char *kw;

	fixture();
	api = logged_in(&alice);
	s = sync_new(&alice, api, NULL, NULL);
	/* Mailboxes, then one page; then the sync stops. */
	TEST_EQ_INT(bridge_sync_initial_step(s, &done, &error), 0);
	TEST_ASSERT(!done);
	TEST_EQ_INT(bridge_sync_initial_step(s, &done, &error), 0);
	TEST_ASSERT(!done);
	bridge_sync_free(&s);
	/* What saltbridge status tells of it. */
	TEST_EQ_INT(bridge_sync_state_read(alice.st, alice.replica_id, &state,
	                                   &error),
	            0);
	TEST_ASSERT(state.started && !state.steady && !state.resyncing);
	TEST_ASSERT(state.listed >= BRIDGE_SYNC_PAGE);
	TEST_ASSERT(state.total > state.listed);
	TEST_EQ_INT(state.checked_at, 0);
	scan_replica(&alice, &sc, first);
	TEST_EQ_UINT(sc.unknown, 0);
	for (i = 0; i < N_MESSAGES; i++)
		n_first += sc.seen[i] != 0;
	TEST_EQ_UINT(n_first, BRIDGE_SYNC_PAGE);
	/* The newest came first. */
	TEST_ASSERT(sc.seen[N_MESSAGES - 1] != 0 && sc.seen[0] == 0);

	/*
	 * As if the page's commit had not saved its cursor: the page comes
	 * again, and changes nothing.
	 */
	TEST_EQ_INT(store_sync_unset(alice.st, alice.replica_id,
	                             "initial.cursor", &error),
	            0);
	TEST_EQ_INT(store_sync_set(alice.st, alice.replica_id, "initial.listed",
	                           "0", &error),
	            0);
	TEST_EQ_INT(store_sync_set(alice.st, alice.replica_id,
	                           "initial.entries", "0", &error),
	            0);
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_INT(bridge_sync_initial(s, &error), 0);
	TEST_EQ_INT(bridge_sync_initial_done(s, &done, &error), 0);
	TEST_ASSERT(done);
	bridge_sync_free(&s);

	scan_replica(&alice, &sc, after);
	TEST_ASSERT(!sc.dup);
	TEST_EQ_UINT(sc.unknown, 0);
	for (i = 0; i < N_MESSAGES; i++) {
		TEST_EQ_UINT(sc.seen[i], msgs[i].boxes);
		entries += __builtin_popcount(msgs[i].boxes);
		if (first[i] != 0)
			TEST_EQ_UINT(after[i], first[i]);
		msgs[i].uid = after[i];
		TEST_ASSERT(find(&alice, msgs[i].id, &kw) != 0);
		TEST_EQ_INT(strstr(kw, "$seen") != NULL, i % 2 == 1);
		TEST_EQ_INT(strstr(kw, "$flagged") != NULL, i % 5 == 0);
		TEST_EQ_INT(strstr(kw, "project-x") != NULL,
		            i % 5 != 0 && i % 7 == 0);
		free(kw);
	}
	TEST_EQ_UINT(sc.entries, entries);
	api_client_free(&api);
	synced = true;
}

struct collect {
	unsigned char *data;
	size_t len, max;
};

static int
collect(void *ctx, const void *data, size_t len, const char **error_r)
{
	struct collect *c = ctx;

	if (c->len + len > c->max) {
		*error_r = "too long";
		return -1;
	}
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return 0;
}

static void
check_body(struct account *a, size_t i)
{
	unsigned char *want = sb_malloc(msgs[i].size);
	struct collect c = {sb_malloc(msgs[i].size), 0, msgs[i].size};
	const char *error;
	int64_t id = find(a, msgs[i].id, NULL);

	TEST_ASSERT(id != 0);
	body_bytes(i, want, msgs[i].size);
	TEST_EQ_INT(
	        store_body_read(a->st, id, 0, UINT64_MAX, collect, &c, &error),
	        1);
	TEST_EQ_MEM(c.data, c.len, want, msgs[i].size);
	free(c.data);
	free(want);
}

static void
test_bodies(void)
{
	struct api_client *api, *dl;
	struct bridge_sync *s;
	const char *error;
	size_t done, i;

	fixture();
	TEST_ASSERT(synced);
	api = logged_in(&alice);
	dl = logged_in(&alice);
	s = sync_new(&alice, api, NULL, NULL);
	/* The big body was cut short after its first piece: it resumes. */
	{
		struct store_body_writer *w;
		unsigned char *part = sb_malloc(STORE_BODY_CHUNK + 10);
		int64_t id = find(&alice, msgs[BIG_INDEX].id, NULL);

		body_bytes(BIG_INDEX, part, STORE_BODY_CHUNK + 10);
		TEST_EQ_INT(store_body_write_begin(alice.st, id, &w, &error),
		            0);
		TEST_EQ_INT(store_body_write_chunk(
		                    w, part, STORE_BODY_CHUNK + 10, &error),
		            0);
		store_body_write_abort(&w);
		free(part);
		TEST_EQ_INT(store_body_write_begin(alice.st, id, &w, &error),
		            0);
		TEST_EQ_UINT(store_body_writer_offset(w), STORE_BODY_CHUNK);
		store_body_write_abort(&w);
	}
	/* Three, then the rest. */
	TEST_EQ_INT(bridge_sync_bodies(s, dl, 3, &done, &error), 0);
	TEST_EQ_UINT(done, 3);
	TEST_EQ_INT(bridge_sync_bodies(s, dl, 0, &done, &error), 0);
	TEST_EQ_UINT(done, N_MESSAGES - 3);
	TEST_EQ_INT(bridge_sync_bodies(s, dl, 0, &done, &error), 0);
	TEST_EQ_UINT(done, 0);
	for (i = 0; i < N_MESSAGES; i++)
		check_body(&alice, i);
	bridge_sync_free(&s);
	api_client_free(&dl);
	api_client_free(&api);
}

struct wait {
	bool (*cond)(struct account *a, const char *arg);
	struct account *a;
	const char *arg;
};

static bool
wait_cond(void *ctx)
{
	struct wait *w = ctx;

	return w->cond(w->a, w->arg);
}

/* Waits up to 10 s for cond(a, arg) to hold. */
static bool
wait_for(bool (*cond)(struct account *a, const char *arg), struct account *a,
         const char *arg)
{
	struct wait w = {cond, a, arg};

	return wait_until(wait_cond, &w, 10, 50);
}

static bool
is_there(struct account *a, const char *remote_id)
{
	return find(a, remote_id, NULL) != 0;
}

static bool
is_gone(struct account *a, const char *remote_id)
{
	return find(a, remote_id, NULL) == 0;
}

static bool
is_flagged(struct account *a, const char *remote_id)
{
	char *kw = NULL;
	bool yes =
	        find(a, remote_id, &kw) != 0 && strstr(kw, "$flagged") != NULL;

	free(kw);
	return yes;
}

static bool
has_body(struct account *a, const char *remote_id)
{
	struct store_message m;
	const char *error;
	bool yes;

	if (store_message_find_remote(a->st, a->replica_id, remote_id, &m,
	                              &error) <= 0)
		return false;
	yes = m.body_cached;
	store_message_free_contents(&m);
	return yes;
}

static void
destroy(struct account *a, const char *id)
{
	TEST_EQ_UINT(message_destroy(a->c, id), 1);
}

static void
test_steady(void)
{
	struct api_client *api, *ev, *dl;
	struct bridge_sync *s;
	const char *error;
	char fresh[API_ID_MAX + 1];

	fixture();
	TEST_ASSERT(synced);
	api = logged_in(&alice);
	ev = logged_in(&alice);
	dl = logged_in(&alice);
	s = sync_new(&alice, api, ev, dl);
	TEST_EQ_INT(bridge_sync_start(s, &error), 0);

	/* New mail: the event stream wakes the sync, well before its poll. */
	import(&alice, 1000, IN_INBOX | IN_SUB, NULL, fresh);
	TEST_ASSERT(wait_for(is_there, &alice, fresh));
	TEST_ASSERT(wait_for(has_body, &alice, fresh));

	/* Another client's keyword change, then a destroy. */
	TEST_ASSERT(!is_flagged(&alice, msgs[1].id));
	message_keywords_update(alice.c, msgs[1].id, "$flagged", NULL);
	TEST_ASSERT(wait_for(is_flagged, &alice, msgs[1].id));
	destroy(&alice, msgs[2].id);
	TEST_ASSERT(wait_for(is_gone, &alice, msgs[2].id));
	bridge_sync_stop(s);
	bridge_sync_free(&s);
	api_client_free(&dl);
	api_client_free(&ev);
	api_client_free(&api);
}

/* ---- Replaying local changes ---- */

/* A client of a port nobody listens on. */
static struct api_client *
dead_client(void)
{
	struct api_client_options o;
	struct api_client *c;
	const char *error;

	api_client_options_default(&o);
	o.base_url = "https://127.0.0.1:1";
	o.ca_file = srv.cert;
	o.max_attempts = 2;
	o.backoff_base_ms = 10;
	o.backoff_max_ms = 20;
	o.connect_timeout_ms = 1000;
	TEST_EQ_INT(api_client_new(&o, &c, &error), 0);
	return c;
}

/* The id of the account's oldest op waiting (the one just queued). */
static int64_t
oldest_op(struct account *a)
{
	struct store_op op;
	const char *error;
	int64_t id;

	TEST_EQ_INT(store_op_peek(a->st, a->replica_id, INT64_MAX, &op, &error),
	            1);
	id = op.id;
	store_op_free_contents(&op);
	return id;
}

/*
 * The time the replay tests give their ops and passes: one clock, so an
 * op is never "not due yet" because a second went by.
 */
static int64_t replay_now;

/*
 * A local keyword change of message i, as IMAP STORE makes it; with a
 * payload, that op is queued instead of the store's (a request the
 * service refuses). Returns the op's id.
 */
static int64_t
local_change(struct account *a, size_t i, const char *add, const char *remove,
             const char *payload)
{
	struct store_patch p = {.add_keywords = add, .remove_keywords = remove};
	const char *error;
	int64_t id = find(a, msgs[i].id, NULL), op = 0;

	TEST_ASSERT(id != 0);
	if (payload == NULL) {
		TEST_EQ_INT(store_local_update(a->st, &id, 1, &p, replay_now,
		                               NULL, &error),
		            0);
		return oldest_op(a);
	}
	TEST_EQ_INT(store_begin(a->st, &error), 0);
	TEST_EQ_INT(
	        store_message_change_keywords(a->st, id, add, remove, &error),
	        0);
	TEST_EQ_INT(store_op_push(a->st, a->replica_id, STORE_OP_UPDATE,
	                          payload, replay_now, &op, &error),
	            0);
	TEST_EQ_INT(store_commit(a->st, &error), 0);
	return op;
}

static uint64_t
ops(struct account *a)
{
	const char *error;
	uint64_t n;

	TEST_EQ_INT(store_op_count(a->st, a->replica_id, &n, &error), 0);
	return n;
}

static bool
no_ops(struct account *a, const char *arg)
{
	(void)arg;
	return ops(a) == 0;
}

/* The service's keywords of a message, space-separated. */
static char *
remote_keywords(struct account *a, const char *id)
{
	struct api_message m;
	struct api_reply r;
	char *kw, *p;
	size_t i, len = 1;

	api_reply_init(&r);
	check_call(api_message_get(a->c, id, &m, &r), &r, "message");
	for (i = 0; i < m.keywords.count; i++)
		len += strlen(m.keywords.items[i]) + 1;
	p = kw = sb_calloc(1, len);
	for (i = 0; i < m.keywords.count; i++)
		p += snprintf(p, len - (size_t)(p - kw), "%s ",
		              m.keywords.items[i]);
	api_message_free(&m);
	api_reply_clear(&r);
	return kw;
}

static bool
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = strstr(list, w); p != NULL; p = strstr(p + 1, w)) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == ' ' || p[n] == '\0'))
			return true;
	}
	return false;
}

static void
test_replay(void)
{
	struct bridge_sync_state state;
	struct api_client *api, *dead;
	struct bridge_sync *s, *down;
	struct store_op op, *failed;
	const char *error;
	int64_t now = replay_now = (int64_t)time(NULL), id;
	size_t n;
	char *kw, *key, *st1, *st2, payload[128];

	fixture();
	TEST_ASSERT(synced);
	api = logged_in(&alice);
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_INT(bridge_sync_changes(s, NULL, &error), 0);
	TEST_EQ_UINT(ops(&alice), 0);
	/* The feed read through is noted, for saltbridge status. */
	TEST_EQ_INT(bridge_sync_state_read(alice.st, alice.replica_id, &state,
	                                   &error),
	            0);
	TEST_ASSERT(state.started && state.steady && !state.resyncing);
	TEST_ASSERT(state.checked_at >= now && state.checked_at <= time(NULL));

	/* Replayed: the service has it, the queue is empty. */
	local_change(&alice, 3, "$flagged Project-Y", "$seen", NULL);
	TEST_EQ_INT(sync_replay(s, now, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_UINT(ops(&alice), 0);
	kw = remote_keywords(&alice, msgs[3].id);
	TEST_ASSERT(has_word(kw, "$flagged") && has_word(kw, "project-y"));
	TEST_ASSERT(!has_word(kw, "$seen"));
	free(kw);

	/* The service cannot be reached: kept, retried after a backoff. */
	dead = dead_client();
	down = sync_new(&alice, dead, NULL, NULL);
	local_change(&alice, 5, "urgent", NULL, NULL);
	TEST_EQ_INT(sync_replay(down, now, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_UINT(ops(&alice), 1);
	TEST_EQ_INT(store_op_peek(alice.st, alice.replica_id, INT64_MAX, &op,
	                          &error),
	            1);
	TEST_EQ_UINT(op.attempts, 1);
	key = sb_strdup(op.idempotency_key);
	store_op_free_contents(&op);
	/* Not due yet: not tried. */
	TEST_EQ_INT(sync_replay(down, now, &n, &error), 0);
	TEST_EQ_INT(store_op_peek(alice.st, alice.replica_id, INT64_MAX, &op,
	                          &error),
	            1);
	TEST_EQ_UINT(op.attempts, 1);
	store_op_free_contents(&op);
	TEST_EQ_INT(sync_replay(down, now + 3600, &n, &error), 0);
	TEST_EQ_INT(store_op_peek(alice.st, alice.replica_id, INT64_MAX, &op,
	                          &error),
	            1);
	TEST_EQ_UINT(op.attempts, 2);
	store_op_free_contents(&op);
	bridge_sync_free(&down);
	api_client_free(&dead);
	/* Back: applied, once. */
	TEST_EQ_INT(sync_replay(s, now + 7200, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_UINT(ops(&alice), 0);
	kw = remote_keywords(&alice, msgs[5].id);
	TEST_ASSERT(has_word(kw, "urgent"));
	free(kw);
	{
		/* The same request with its key again changes nothing. */
		struct api_update u;
		struct api_set_result res;
		struct api_reply r;

		st1 = account_state(alice.c);
		memset(&u, 0, sizeof(u));
		u.patches = sb_calloc(1, sizeof(*u.patches));
		u.count = 1;
		u.patches[0].id = sb_strdup(msgs[5].id);
		api_strings_add(&u.patches[0].add_keywords, "urgent");
		api_reply_init(&r);
		check_call(api_update_post_idem(alice.c, &u, key, &res, &r), &r,
		           "update again");
		TEST_EQ_UINT(res.done.count, 1);
		api_set_result_free(&res);
		api_update_free(&u);
		api_reply_clear(&r);
		st2 = account_state(alice.c);
		TEST_EQ_STR(st2, st1);
		free(st1);
		free(st2);
		/* A key the service would not take is not sent. */
		api_reply_init(&r);
		TEST_EQ_INT(api_call_idem(alice.c, "POST",
		                          "/api/v1/messages/update", NULL,
		                          "bad key", &r),
		            -1);
		TEST_EQ_INT(r.error, API_ERR_INVALID_REQUEST);
		TEST_EQ_UINT(r.status, 0);
		api_reply_clear(&r);
	}
	free(key);

	/*
	 * A keyword the service refuses (400; the payload is written by
	 * hand): dropped, and the replica corrected.
	 */
	id = find(&alice, msgs[9].id, NULL);
	snprintf(payload, sizeof(payload),
	         "{\"message\":%lld,\"add_keywords\":[\"Bad\"]}",
	         (long long)id);
	local_change(&alice, 9, "bad", NULL, payload);
	TEST_ASSERT(find(&alice, msgs[9].id, &kw) != 0);
	TEST_ASSERT(has_word(kw, "bad"));
	free(kw);
	TEST_EQ_INT(sync_replay(s, now, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_UINT(ops(&alice), 0);
	TEST_ASSERT(find(&alice, msgs[9].id, &kw) != 0);
	TEST_ASSERT(!has_word(kw, "bad") && has_word(kw, "$seen"));
	free(kw);

	/* Destroyed on the service meanwhile: dropped, and gone here too. */
	local_change(&alice, 11, "later", NULL, NULL);
	destroy(&alice, msgs[11].id);
	TEST_EQ_INT(sync_replay(s, now, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_UINT(ops(&alice), 0);
	TEST_ASSERT(find(&alice, msgs[11].id, NULL) == 0);

	/* An op of a kind not known is set aside; the next one goes. */
	TEST_EQ_INT(store_op_push(alice.st, alice.replica_id, "frobnicate",
	                          "{}", now, &id, &error),
	            0);
	local_change(&alice, 13, "$answered", NULL, NULL);
	TEST_EQ_INT(sync_replay(s, now, &n, &error), 0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_UINT(ops(&alice), 1);
	TEST_EQ_INT(store_op_list_failed(alice.st, alice.replica_id, &failed,
	                                 &n, &error),
	            0);
	TEST_EQ_UINT(n, 1);
	TEST_EQ_INT(failed[0].id, id);
	store_op_list_free(&failed, n);
	TEST_EQ_INT(store_op_done(alice.st, id, &error), 0);
	kw = remote_keywords(&alice, msgs[13].id);
	TEST_ASSERT(has_word(kw, "$answered"));
	free(kw);

	/* One that failed for good: the replica takes the service's state. */
	id = local_change(&alice, 17, "never-sent", NULL, NULL);
	for (n = 0; n < STORE_OP_MAX_ATTEMPTS; n++)
		TEST_EQ_INT(store_op_failed(alice.st, id, now, "test", &error),
		            0);
	TEST_EQ_INT(store_op_peek(alice.st, alice.replica_id, INT64_MAX, &op,
	                          &error),
	            0);
	TEST_EQ_INT(sync_replay(s, now, &n, &error), 0);
	TEST_EQ_UINT(ops(&alice), 0);
	TEST_ASSERT(find(&alice, msgs[17].id, &kw) != 0);
	TEST_ASSERT(!has_word(kw, "never-sent") && has_word(kw, "$seen"));
	free(kw);

	/* The running sync replays on its own. */
	TEST_EQ_INT(bridge_sync_start(s, &error), 0);
	local_change(&alice, 15, "$draft", NULL, NULL);
	TEST_ASSERT(wait_for(no_ops, &alice, NULL));
	bridge_sync_stop(s);
	kw = remote_keywords(&alice, msgs[15].id);
	TEST_ASSERT(has_word(kw, "$draft"));
	free(kw);
	bridge_sync_free(&s);
	api_client_free(&api);
}

/* ---- A resync stopped half-way ---- */

static bool
resync_saved(struct account *a, const char *name)
{
	const char *error;
	char *v;
	int ret;

	ret = store_sync_get(a->st, a->replica_id, name, &v, &error);
	TEST_ASSERT(ret >= 0);
	if (ret > 0)
		free(v);
	return ret > 0;
}

/* Steps the resync to its end; returns the steps taken. */
static size_t
resync_steps(struct bridge_sync *s)
{
	const char *error;
	size_t steps = 0;
	bool done = false;

	while (!done) {
		if (bridge_sync_resync_step(s, &done, &error) < 0)
			test_fail(__FILE__, __LINE__, "resync: %s", error);
		TEST_ASSERT(++steps < 20);
	}
	return steps;
}

/* The mailboxes and the scope, then the first page: then it stops. */
static void
resync_first_page(struct account *a, struct api_client *api)
{
	struct bridge_sync *s = sync_new(a, api, NULL, NULL);
	const char *error;
	bool done;

	TEST_EQ_INT(bridge_sync_resync_step(s, &done, &error), 0);
	TEST_ASSERT(!done);
	TEST_ASSERT(resync_saved(a, "resync.state"));
	TEST_ASSERT(!resync_saved(a, "resync.cursor"));
	TEST_EQ_INT(bridge_sync_resync_step(s, &done, &error), 0);
	TEST_ASSERT(!done);
	TEST_ASSERT(resync_saved(a, "resync.cursor"));
	bridge_sync_free(&s);
}

/*
 * Every message of msgs[] is in its mailboxes once with the UID it had,
 * but those in gone[] (indexes, ending with N_MESSAGES), which are not.
 */
static void
check_kept(struct account *a, const uint32_t *uids, const size_t *gone)
{
	static uint32_t now[N_MESSAGES];
	struct scan sc;
	size_t i, k;

	scan_replica(a, &sc, now);
	TEST_ASSERT(!sc.dup);
	for (i = 0; i < N_MESSAGES; i++) {
		bool is_gone = uids[i] == 0;

		for (k = 0; gone[k] != N_MESSAGES; k++)
			is_gone = is_gone || gone[k] == i;
		if (is_gone) {
			TEST_EQ_UINT(sc.seen[i], 0);
			continue;
		}
		TEST_EQ_UINT(sc.seen[i], msgs[i].boxes);
		TEST_EQ_UINT(now[i], uids[i]);
	}
}

static void
test_resync_resume(void)
{
	static uint32_t uids[N_MESSAGES];
	struct api_client *api;
	struct bridge_sync *s;
	struct scan sc;
	const char *error;
	char fresh[API_ID_MAX + 1], later[API_ID_MAX + 1];
	const size_t gone1[] = {0, N_MESSAGES - 1, N_MESSAGES};
	const size_t gone2[] = {0, N_MESSAGES - 2, N_MESSAGES - 1, N_MESSAGES};
	const size_t gone3[] = {0, N_MESSAGES - 3, N_MESSAGES - 2,
	                        N_MESSAGES - 1, N_MESSAGES};

	fixture();
	TEST_ASSERT(synced);
	api = logged_in(&alice);
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_INT(bridge_sync_changes(s, NULL, &error), 0);
	bridge_sync_free(&s);
	/* Those gone in earlier cases have no UID here. */
	scan_replica(&alice, &sc, uids);
	TEST_ASSERT(!sc.dup);
	TEST_ASSERT(uids[0] != 0 && uids[N_MESSAGES - 1] != 0);

	/*
	 * Stopped after its first page (the 100 newest). Meanwhile the
	 * newest message (listed) and the oldest (not yet) are destroyed,
	 * and one arrives.
	 */
	resync_first_page(&alice, api);
	destroy(&alice, msgs[N_MESSAGES - 1].id);
	destroy(&alice, msgs[0].id);
	import(&alice, 2000, IN_WORK, NULL, fresh);

	/* It resumes at its second page: two pages are left, not three. */
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_UINT(resync_steps(s), 2);
	TEST_ASSERT(!resync_saved(&alice, "resync.state"));
	TEST_ASSERT(!resync_saved(&alice, "resync.cursor"));
	/*
	 * As an uninterrupted resync: the one destroyed before it was listed
	 * is gone, the one listed before its destroy is kept, and the new
	 * one is newer than the listing: the feed brings both after.
	 */
	TEST_ASSERT(find(&alice, msgs[0].id, NULL) == 0);
	TEST_ASSERT(find(&alice, msgs[N_MESSAGES - 1].id, NULL) != 0);
	TEST_ASSERT(find(&alice, fresh, NULL) == 0);
	TEST_EQ_INT(bridge_sync_changes(s, NULL, &error), 0);
	TEST_ASSERT(find(&alice, msgs[N_MESSAGES - 1].id, NULL) == 0);
	TEST_ASSERT(find(&alice, fresh, NULL) != 0);
	bridge_sync_free(&s);
	check_kept(&alice, uids, gone1);

	/*
	 * A saved cursor the service does not take: the resync begins
	 * afresh, with a new scope, so the message destroyed meanwhile goes
	 * although the first pass had listed it.
	 */
	resync_first_page(&alice, api);
	TEST_EQ_INT(store_sync_set(alice.st, alice.replica_id, "resync.cursor",
	                           "not-a-cursor", &error),
	            0);
	destroy(&alice, msgs[N_MESSAGES - 2].id);
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_INT(bridge_sync_resync(s, &error), 0);
	TEST_ASSERT(!resync_saved(&alice, "resync.state"));
	TEST_ASSERT(find(&alice, msgs[N_MESSAGES - 2].id, NULL) == 0);
	TEST_ASSERT(find(&alice, fresh, NULL) != 0);
	bridge_sync_free(&s);
	check_kept(&alice, uids, gone2);

	/* The change feed ends a resync left half-way before it reads on. */
	resync_first_page(&alice, api);
	destroy(&alice, msgs[N_MESSAGES - 3].id);
	import(&alice, 2001, IN_INBOX, NULL, later);
	s = sync_new(&alice, api, NULL, NULL);
	TEST_EQ_INT(bridge_sync_changes(s, NULL, &error), 0);
	TEST_ASSERT(!resync_saved(&alice, "resync.state"));
	TEST_ASSERT(find(&alice, msgs[N_MESSAGES - 3].id, NULL) == 0);
	TEST_ASSERT(find(&alice, later, NULL) != 0);
	TEST_ASSERT(find(&alice, fresh, NULL) != 0);
	bridge_sync_free(&s);
	check_kept(&alice, uids, gone3);
	api_client_free(&api);
}

/* UIDs of the messages of bob's INBOX, by remote id. */
static uint32_t
inbox_uid(struct account *a, const char *remote_id)
{
	struct scan sc;
	size_t i;

	scan_replica(a, &sc, NULL);
	for (i = 0; i < N_MESSAGES; i++) {
		if (strcmp(msgs[i].id, remote_id) == 0)
			return sc.uids[i];
	}
	return 0;
}

static void
test_resync(void)
{
	static const char *const extra[] = {"--changes-keep", "2", NULL};
	struct api_client *api, *ev;
	struct bridge_sync *s;
	const char *error;
	char fresh[API_ID_MAX + 1];
	uint32_t uids[5];
	size_t i;

	/* bob's five messages take the place of alice's in msgs[]. */
	server_start(&srv2, "sync2", "900", extra);
	srv2_up = true;
	bob.srv = &srv2;
	sign_up(&bob);
	make_mailboxes(&bob);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < 5; i++) {
		msgs[i].boxes = IN_INBOX;
		msgs[i].size = body_size(i);
		import(&bob, i, IN_INBOX, NULL, msgs[i].id);
	}
	replica_open(&bob, "bob");
	api = logged_in(&bob);
	ev = logged_in(&bob);
	s = sync_new(&bob, api, ev, NULL);
	TEST_EQ_INT(bridge_sync_start(s, &error), 0);
	TEST_ASSERT(wait_for(is_there, &bob, msgs[0].id));
	TEST_ASSERT(wait_for(is_there, &bob, msgs[4].id));
	bridge_sync_stop(s);
	for (i = 0; i < 5; i++) {
		uids[i] = inbox_uid(&bob, msgs[i].id);
		TEST_ASSERT(uids[i] != 0);
	}

	/* More changes than the server keeps, while the sync is stopped. */
	destroy(&bob, msgs[0].id);
	message_keywords_update(bob.c, msgs[1].id, "$flagged", NULL);
	import(&bob, 5, IN_INBOX, NULL, fresh);
	destroy(&bob, msgs[3].id);

	TEST_EQ_INT(bridge_sync_start(s, &error), 0);
	TEST_ASSERT(wait_for(is_there, &bob, fresh));
	TEST_ASSERT(wait_for(is_gone, &bob, msgs[0].id));
	TEST_ASSERT(wait_for(is_gone, &bob, msgs[3].id));
	TEST_ASSERT(wait_for(is_flagged, &bob, msgs[1].id));
	bridge_sync_stop(s);
	/* The survivors keep their UIDs. */
	TEST_EQ_UINT(inbox_uid(&bob, msgs[1].id), uids[1]);
	TEST_EQ_UINT(inbox_uid(&bob, msgs[2].id), uids[2]);
	TEST_EQ_UINT(inbox_uid(&bob, msgs[4].id), uids[4]);
	bridge_sync_free(&s);
	api_client_free(&ev);
	api_client_free(&api);
}

static void
account_free(struct account *a)
{
	api_client_free(&a->c);
	store_close(&a->st);
	if (a->hub != NULL)
		store_hub_free(&a->hub);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"initial sync, stopped and resumed", test_initial_resume},
	        {"bodies", test_bodies},
	        {"steady state", test_steady},
	        {"replaying local changes", test_replay},
	        {"resync stopped and resumed", test_resync_resume},
	        {"resync", test_resync},
	        {NULL, NULL},
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (sb_crypto_init() != 0)
		return 1;
	ret = test_run(cases);
	account_free(&alice);
	account_free(&bob);
	if (srv_up)
		server_stop(&srv);
	if (srv2_up)
		server_stop(&srv2);
	return ret;
}
