/*
 * The typed calls and the event stream against a real saltmaild that
 * keeps only two changes per account, so that an old state soon cannot
 * be followed: two accounts sign up, and each call is made as a client
 * makes it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api/calls.h"
#include "api/events.h"
#include "common/alloc.h"
#include "crypto/crypto.h"
#include "helpers.h"
#include "test.h"

struct account {
	const char *email;
	struct api_client *c;
	unsigned char auth_key[API_KEY_BYTES];
	struct api_keys keys;
	char account_id[API_ACCOUNT_ID_LEN + 1];
};

static struct server srv;
static bool srv_up;
static struct account alice = {.email = "alice@example.org"};
static struct account bob = {.email = "bob@example.org"};

/*
 * Signs up through api_call, then asks for the KDF parameters and logs
 * in through the typed calls, as a client that only knows the password.
 */
static void
sign_up(struct account *a)
{
	struct sb_kdf_params params;
	struct api_signup s;
	struct api_session session;
	struct api_kdf kdf;
	struct json_object *body;
	struct api_reply r;

	signup_make(a->email, "pw", &s, &params, a->auth_key);
	a->keys = s.keys;
	a->c = client_for(srv.port, srv.cert);
	api_reply_init(&r);
	body = api_signup_to_json(&s);
	check_call(api_call(a->c, "POST", "/api/v1/signup", body, &r), &r,
	           "signup");
	json_object_put(body);

	/* The KDF parameters come back as they were given. */
	check_call(api_prelogin(a->c, a->email, &kdf, &r), &r, "prelogin");
	TEST_EQ_UINT(kdf.opslimit, params.opslimit);
	TEST_EQ_UINT(kdf.memlimit, params.memlimit);
	TEST_EQ_MEM(kdf.salt, 16, params.salt, 16);
	check_call(api_login(a->c, a->email, a->auth_key, &session, &r), &r,
	           "login");
	TEST_EQ_STR(session.account_id, s.account_id);
	memcpy(a->account_id, s.account_id, sizeof(a->account_id));
	api_session_free(&session);
	api_reply_clear(&r);
	api_signup_free(&s);
}

/* The server and both accounts, made by the first case that needs them. */
static void
fixture(void)
{
	static const char *const extra[] = {"--changes-keep", "2", NULL};

	if (srv_up)
		return;
	server_start(&srv, "calls", "900", extra);
	srv_up = true;
	sign_up(&alice);
	sign_up(&bob);
}

static void
test_auth_and_account(void)
{
	struct api_account acct;
	struct api_key_lookup k;
	struct api_session session;
	unsigned char wrong[API_KEY_BYTES] = {0};
	struct api_reply r;

	fixture();
	api_reply_init(&r);
	check_call(api_account_get(alice.c, &acct, &r), &r, "account");
	TEST_EQ_STR(acct.account_id, alice.account_id);
	TEST_EQ_UINT(acct.addresses.count, 1);
	TEST_EQ_STR(acct.addresses.items[0], alice.email);
	TEST_EQ_MEM(acct.keys.enc_pk, 32, alice.keys.enc_pk, 32);
	TEST_EQ_MEM(acct.keys.wrapped_account_key, 78,
	            alice.keys.wrapped_account_key, 78);
	TEST_ASSERT(acct.fingerprint != NULL && strlen(acct.fingerprint) > 8);
	TEST_EQ_UINT(acct.max_page, API_MAX_PAGE);
	TEST_ASSERT(acct.quota_limit > 0);
	api_account_free(&acct);

	/* Key lookups: on the service, elsewhere, and a '+' sent encoded. */
	check_call(api_key_lookup_get(alice.c, bob.email, &k, &r), &r,
	           "lookup");
	TEST_ASSERT(k.on_service);
	TEST_EQ_MEM(k.enc_pk, 32, bob.keys.enc_pk, 32);
	api_key_lookup_free(&k);
	check_call(api_key_lookup_get(alice.c, "Carol+x&y=1@Elsewhere.net", &k,
	                              &r),
	           &r, "lookup elsewhere");
	TEST_ASSERT(!k.on_service);
	TEST_EQ_STR(k.email, "carol+x&y=1@elsewhere.net");
	api_key_lookup_free(&k);
	TEST_EQ_INT(api_key_lookup_get(alice.c, "not an address", &k, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_INVALID_REQUEST);
	TEST_EQ_UINT(r.status, 0);

	/* A wrong auth key, then a second session that logs out. */
	TEST_EQ_INT(api_login(bob.c, bob.email, wrong, &session, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_INVALID_CREDENTIALS);
	check_call(api_login(bob.c, bob.email, bob.auth_key, &session, &r), &r,
	           "login");
	api_session_free(&session);
	{
		struct api_client *c2 = client_for(srv.port, srv.cert);

		check_call(api_login(c2, bob.email, bob.auth_key, &session, &r),
		           &r, "second login");
		check_call(api_logout(c2, &r), &r, "logout");
		TEST_EQ_INT(api_account_get(c2, &acct, &r), -1);
		TEST_EQ_INT(r.error, API_ERR_UNAUTHORIZED);
		/* The old token is revoked, not only forgotten. */
		api_client_set_session(c2, session.access_token, NULL);
		TEST_EQ_INT(api_account_get(c2, &acct, &r), -1);
		TEST_EQ_UINT(r.status, 401);
		api_session_free(&session);
		api_client_free(&c2);
	}
	/* The first session lives on. */
	check_call(api_account_get(bob.c, &acct, &r), &r, "account");
	api_account_free(&acct);
	api_reply_clear(&r);
}

static const char *
role_id(const struct api_mailbox_list *l, const char *role)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		if (l->items[i].role != NULL &&
		    strcmp(l->items[i].role, role) == 0)
			return l->items[i].id;
	}
	return NULL;
}

static void
test_mailboxes(void)
{
	struct api_mailbox_list l;
	struct api_mailbox work, sub, m;
	struct api_reply r;
	char inbox[API_ID_MAX + 1];

	fixture();
	api_reply_init(&r);
	check_call(api_mailboxes_get(alice.c, &l, &r), &r, "mailboxes");
	TEST_EQ_UINT(l.count, 6);
	TEST_ASSERT(role_id(&l, "inbox") != NULL);
	TEST_ASSERT(l.state != NULL);
	snprintf(inbox, sizeof(inbox), "%s", role_id(&l, "inbox"));
	api_mailbox_list_free(&l);

	check_call(api_mailbox_create(alice.c, "Work", NULL, &work, &r), &r,
	           "create");
	TEST_EQ_UINT(r.status, 201);
	TEST_EQ_STR(work.name, "Work");
	TEST_ASSERT(work.parent_id == NULL && work.role == NULL);
	check_call(api_mailbox_create(alice.c, "Sub", work.id, &sub, &r), &r,
	           "create child");
	TEST_EQ_STR(sub.parent_id, work.id);
	check_call(api_mailbox_update(alice.c, sub.id, "Moved", true, NULL, &m,
	                              &r),
	           &r, "update");
	TEST_EQ_STR(m.name, "Moved");
	TEST_ASSERT(m.parent_id == NULL);
	api_mailbox_free(&m);
	check_call(api_mailbox_update(alice.c, sub.id, NULL, true, work.id, &m,
	                              &r),
	           &r, "move");
	TEST_EQ_STR(m.name, "Moved");
	TEST_EQ_STR(m.parent_id, work.id);
	api_mailbox_free(&m);

	/* Ids that would change the path are refused before sending. */
	TEST_EQ_INT(api_mailbox_update(alice.c, "../account", "x", false, NULL,
	                               &m, &r),
	            -1);
	TEST_EQ_INT(r.error, API_ERR_INVALID_REQUEST);
	TEST_EQ_UINT(r.status, 0);
	TEST_EQ_INT(api_mailbox_delete(alice.c, "a?b", false, &r), -1);
	TEST_EQ_UINT(r.status, 0);
	TEST_EQ_INT(api_mailbox_create(alice.c, "a/b", NULL, &m, &r), -1);
	TEST_EQ_UINT(r.status, 0);

	/* The server's refusals come back typed. */
	TEST_EQ_INT(api_mailbox_delete(alice.c, inbox, false, &r), -1);
	TEST_ASSERT(r.status == 409 || r.status == 400);
	TEST_EQ_INT(api_mailbox_create(alice.c, "Work", NULL, &m, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_CONFLICT);
	TEST_EQ_INT(api_mailbox_delete(alice.c, "mb_nope", false, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_NOT_FOUND);
	check_call(api_mailbox_delete(alice.c, sub.id, true, &r), &r, "delete");
	TEST_EQ_UINT(r.status, 204);
	check_call(api_mailbox_delete(alice.c, work.id, false, &r), &r,
	           "delete");
	api_mailbox_free(&work);
	api_mailbox_free(&sub);
	api_reply_clear(&r);
}

/* Uploads len bytes of a pattern as a blob. */
static void
upload(struct api_client *c, size_t len, char id_r[API_ID_MAX + 1])
{
	unsigned char buf[1024];

	memset(buf, 'b', sizeof(buf));
	TEST_ASSERT(len <= sizeof(buf));
	blob_upload(c, buf, len, id_r);
}

/* A stand-in summary and key packet: the service checks only their form. */
static void
fake_sealed(struct sb_buf *summary, unsigned char packet[85])
{
	unsigned char body[64] = "SBMS\x01";

	sb_buf_reset(summary);
	TEST_EQ_INT(sb_buf_add(summary, body, sizeof(body)), 0);
	memset(packet, 0, API_KEY_PACKET_BYTES);
	memcpy(packet, "SBKP\x01", 5);
}

/* Imports a message received at `when` (0: now). */
static void
import_one(const char *mailbox_id, uint64_t when, struct api_message *m_r)
{
	struct api_import im;
	struct api_reply r;
	char blob[API_ID_MAX + 1];

	upload(alice.c, 100, blob);
	api_import_init(&im);
	im.blob_id = sb_strdup(blob);
	fake_sealed(&im.summary, im.key_packet);
	api_strings_add(&im.mailbox_ids, mailbox_id);
	api_strings_add(&im.keywords, "$seen");
	im.received_at = when;
	api_reply_init(&r);
	check_call(api_import_post(alice.c, &im, m_r, &r), &r, "import");
	TEST_EQ_STR(m_r->blob_id, blob);
	TEST_EQ_UINT(m_r->size, 100);
	api_import_free(&im);
	api_reply_clear(&r);
}

/* The state of alice's account now. */
static char *
state_now(void)
{
	struct api_mailbox_list l;
	struct api_reply r;
	char *state;

	api_reply_init(&r);
	check_call(api_mailboxes_get(alice.c, &l, &r), &r, "mailboxes");
	state = sb_strdup(l.state);
	api_mailbox_list_free(&l);
	api_reply_clear(&r);
	return state;
}

/* Updates m1 and an unknown id, follows the change, destroys m2. */
static void
update_and_destroy(const struct api_message *m1, const struct api_message *m2)
{
	struct api_update u;
	struct api_set_result res;
	struct api_changes ch;
	struct api_strings ids = {0};
	struct api_reply r;
	char *before;

	api_reply_init(&r);
	/* An update of one known and one unknown message. */
	before = state_now();
	memset(&u, 0, sizeof(u));
	u.patches = sb_calloc(2, sizeof(*u.patches));
	u.count = 2;
	u.patches[0].id = sb_strdup(m1->id);
	api_strings_add(&u.patches[0].add_keywords, "$flagged");
	u.patches[1].id = sb_strdup("m_nope");
	api_strings_add(&u.patches[1].add_keywords, "$flagged");
	check_call(api_update_post(alice.c, &u, &res, &r), &r, "update");
	TEST_EQ_UINT(res.done.count, 1);
	TEST_EQ_STR(res.done.items[0], m1->id);
	TEST_EQ_UINT(res.n_failed, 1);
	TEST_EQ_STR(res.failed[0].id, "m_nope");
	TEST_EQ_INT(res.failed[0].type, API_ERR_NOT_FOUND);
	api_set_result_free(&res);
	api_update_free(&u);

	/* The change feed from just before it. */
	check_call(api_changes_get(alice.c, before, 0, &ch, &r), &r, "changes");
	TEST_EQ_STR(ch.old_state, before);
	TEST_ASSERT(api_strings_has(&ch.messages.updated, m1->id));
	TEST_ASSERT(!ch.has_more);
	api_changes_free(&ch);
	free(before);

	api_strings_add(&ids, m2->id);
	check_call(api_destroy_post(alice.c, &ids, &res, &r), &r, "destroy");
	TEST_EQ_UINT(res.done.count, 1);
	TEST_EQ_UINT(res.n_failed, 0);
	TEST_ASSERT(res.state != NULL);
	api_set_result_free(&res);
	check_call(api_destroy_post(alice.c, &ids, &res, &r), &r, "destroy");
	TEST_EQ_UINT(res.done.count, 0);
	TEST_EQ_UINT(res.n_failed, 1);
	api_set_result_free(&res);
	api_strings_free(&ids);

	api_reply_clear(&r);
}

static void
test_messages_and_changes(void)
{
	struct api_mailbox box;
	struct api_message m1, m2, got;
	struct api_message_page page;
	struct api_changes ch;
	struct api_reply r;
	char *first;

	fixture();
	api_reply_init(&r);
	first = state_now();
	check_call(api_mailbox_create(alice.c, "Box", NULL, &box, &r), &r,
	           "create");
	import_one(box.id, 1795000000, &m1);
	import_one(box.id, 1795000100, &m2);
	TEST_EQ_UINT(m2.received_at, 1795000100);
	check_call(api_message_get(alice.c, m1.id, &got, &r), &r, "get");
	TEST_EQ_STR(got.id, m1.id);
	TEST_ASSERT(api_strings_has(&got.keywords, "$seen"));
	api_message_free(&got);
	TEST_EQ_INT(api_message_get(alice.c, "m/1", &got, &r), -1);
	TEST_EQ_UINT(r.status, 0);

	/* Two pages of one, newest first, then the end. */
	check_call(api_messages_page(alice.c, box.id, 1, NULL, &page, &r), &r,
	           "page");
	TEST_EQ_UINT(page.count, 1);
	TEST_EQ_STR(page.items[0].id, m2.id);
	TEST_ASSERT(page.next_cursor != NULL);
	{
		struct api_message_page next;

		check_call(api_messages_page(alice.c, box.id, 1,
		                             page.next_cursor, &next, &r),
		           &r, "next page");
		TEST_EQ_UINT(next.count, 1);
		TEST_EQ_STR(next.items[0].id, m1.id);
		api_message_page_free(&next);
	}
	api_message_page_free(&page);
	check_call(api_messages_page(alice.c, NULL, 500, NULL, &page, &r), &r,
	           "all");
	TEST_EQ_UINT(page.count, 2);
	TEST_ASSERT(page.next_cursor == NULL);
	api_message_page_free(&page);
	TEST_EQ_INT(api_messages_page(alice.c, NULL, 501, NULL, &page, &r), -1);
	TEST_EQ_UINT(r.status, 0);
	/* A cursor is percent-encoded: a hostile one cannot add a field. */
	TEST_EQ_INT(api_messages_page(alice.c, NULL, 5, "x&limit=9", &page, &r),
	            -1);
	TEST_EQ_INT(r.error, API_ERR_INVALID_REQUEST);
	TEST_EQ_UINT(r.status, 400);

	update_and_destroy(&m1, &m2);

	/* The first state is older than the two changes kept. */
	TEST_EQ_INT(api_changes_get(alice.c, first, 10, &ch, &r), -1);
	TEST_EQ_UINT(r.status, 410);
	TEST_EQ_INT(r.error, API_ERR_CANNOT_CALCULATE_CHANGES);
	free(first);
	api_message_free(&m1);
	api_message_free(&m2);
	api_mailbox_free(&box);
	api_reply_clear(&r);
}

static void
test_submission(void)
{
	struct api_submission s;
	struct api_submission_result res;
	struct api_message_page page;
	struct api_mailbox_list l;
	struct api_reply r;
	char blob[API_ID_MAX + 1], sent[API_ID_MAX + 1];

	fixture();
	api_reply_init(&r);
	upload(alice.c, 200, blob);
	upload(alice.c, 210, sent);
	api_submission_init(&s);
	s.from = sb_strdup(alice.email);
	s.blob_id = sb_strdup(blob);
	fake_sealed(&s.summary, s.sent_key_packet);
	s.recipients = sb_calloc(1, sizeof(*s.recipients));
	s.n_recipients = 1;
	s.recipients[0].email = sb_strdup(bob.email);
	memcpy(s.recipients[0].key_packet, s.sent_key_packet, 85);
	s.has_sent_copy = true;
	s.sent_blob_id = sb_strdup(sent);
	fake_sealed(&s.sent_summary, s.sent_key_packet);
	api_strings_add(&s.sent_keywords, "$seen");
	check_call(api_submission_post(alice.c, &s, &res, &r), &r, "submit");
	TEST_EQ_UINT(r.status, 202);
	TEST_EQ_UINT(res.delivered.count, 1);
	TEST_EQ_STR(res.delivered.items[0], bob.email);
	TEST_ASSERT(res.sent_message_id != NULL);
	api_submission_result_free(&res);
	api_submission_free(&s);

	/* It is in bob's INBOX. */
	check_call(api_mailboxes_get(bob.c, &l, &r), &r, "mailboxes");
	check_call(api_messages_page(bob.c, role_id(&l, "inbox"), 10, NULL,
	                             &page, &r),
	           &r, "inbox");
	TEST_EQ_UINT(page.count, 1);
	TEST_EQ_UINT(page.items[0].size, 200);
	api_message_page_free(&page);
	api_mailbox_list_free(&l);
	api_reply_clear(&r);
}

/* ---- The event stream ---- */

struct watch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char states[8][API_ID_MAX + 16];
	unsigned n;
	unsigned stop_at; /* fn asks to stop at this many events; 0: never */
	bool bad;         /* an event that is not a state event */
	struct api_client *c;
	int stop_fd;
	int rc;
	struct api_reply r;
};

static int
on_state(void *ctx, const char *name, const char *data, size_t len)
{
	struct watch *w = ctx;
	int stop;

	pthread_mutex_lock(&w->lock);
	/* Checked by the test's thread: a failure here cannot leave. */
	if (strcmp(name, "state") != 0 || len == 0 ||
	    strstr(data, "\"state\"") == NULL)
		w->bad = true;
	if (w->n < 8)
		snprintf(w->states[w->n++], sizeof(w->states[0]), "%s", data);
	stop = w->stop_at != 0 && w->n >= w->stop_at;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return stop;
}

static void *
watch_main(void *arg)
{
	struct watch *w = arg;

	w->rc = api_events_run(w->c, on_state, w, w->stop_fd, &w->r);
	pthread_mutex_lock(&w->lock);
	w->stop_at = 1000; /* done */
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Waits until n events came (or the run ended); false on timeout. */
static bool
watch_wait(struct watch *w, unsigned n, unsigned seconds)
{
	struct timespec until;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&w->lock);
	while (w->n < n && w->stop_at != 1000 &&
	       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
		;
	ok = w->n >= n;
	pthread_mutex_unlock(&w->lock);
	return ok;
}

static void
watch_start(struct watch *w, pthread_t *t, unsigned stop_at)
{
	struct api_session session;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	api_reply_init(&w->r);
	w->stop_at = stop_at;
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	TEST_ASSERT(w->stop_fd >= 0);
	/* A client of its own: the stream keeps it busy. */
	w->c = client_for(srv.port, srv.cert);
	check_call(
	        api_login(w->c, alice.email, alice.auth_key, &session, &w->r),
	        &w->r, "login");
	api_session_free(&session);
	TEST_EQ_INT(pthread_create(t, NULL, watch_main, w), 0);
}

static void
watch_end(struct watch *w, pthread_t t)
{
	pthread_join(t, NULL);
	close(w->stop_fd);
	api_reply_clear(&w->r);
	api_client_free(&w->c);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

static void
test_events(void)
{
	struct api_mailbox m;
	struct api_reply r;
	struct watch w;
	pthread_t t;

	fixture();
	api_reply_init(&r);
	/* A state event at once; another after alice's other client writes. */
	watch_start(&w, &t, 2);
	TEST_ASSERT(watch_wait(&w, 1, 10));
	check_call(api_mailbox_create(alice.c, "Evented", NULL, &m, &r), &r,
	           "create");
	api_mailbox_free(&m);
	if (!watch_wait(&w, 2, 10)) {
		TEST_EQ_INT(eventfd_write(w.stop_fd, 1), 0);
		watch_end(&w, t);
		test_fail(__FILE__, __LINE__, "no second event");
	}
	watch_end(&w, t);
	TEST_EQ_INT(w.rc, 1);
	TEST_ASSERT(!w.bad);
	TEST_ASSERT(strcmp(w.states[0], w.states[1]) != 0);

	/*
	 * stop_fd ends an idle stream: without it the stream would stay open
	 * until the server goes away (no timing is asserted, only that the
	 * run ends well before its 60 s silence limit).
	 */
	watch_start(&w, &t, 0);
	TEST_ASSERT(watch_wait(&w, 1, 10));
	{
		struct timespec until;

		TEST_EQ_INT(eventfd_write(w.stop_fd, 1), 0);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 20;
		TEST_EQ_INT(pthread_timedjoin_np(t, NULL, &until), 0);
		close(w.stop_fd);
		api_reply_clear(&w.r);
		api_client_free(&w.c);
		pthread_cond_destroy(&w.cond);
		pthread_mutex_destroy(&w.lock);
	}
	TEST_EQ_INT(w.rc, 1);
	TEST_EQ_UINT(w.n, 1);
	TEST_ASSERT(!w.bad);
	api_reply_clear(&r);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"auth and account", test_auth_and_account},
	        {"mailboxes", test_mailboxes},
	        {"messages and changes", test_messages_and_changes},
	        {"submission", test_submission},
	        {"events", test_events},
	        {NULL, NULL},
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (sb_crypto_init() != 0)
		return 1;
	ret = test_run(cases);
	api_client_free(&alice.c);
	api_client_free(&bob.c);
	if (srv_up)
		server_stop(&srv);
	return ret;
}
