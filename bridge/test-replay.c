/*
 * Local changes of every kind replayed to a real saltmaild: copies and
 * moves, EXPUNGE (out of one mailbox, to Trash, destroyed from Trash),
 * keyword changes of several messages with one destroyed meanwhile,
 * mailbox create / rename / delete in an order that needs waiting, a
 * create whose name the service has already, and imports (APPEND) with
 * their bodies, also made while the service cannot be reached. After
 * each, the service's state is read back with the test's own client, and
 * the change feed applied to the replica must not double anything.
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

#define N_MESSAGES 6

static struct server srv;
static bool srv_up;
static unsigned char auth_key[API_KEY_BYTES];
static char account_id[API_ACCOUNT_ID_LEN + 1];
static struct api_client *own; /* the test's calls */
static struct api_client *sync_api;
static struct store_hub *hub;
static struct store *st;
static char replica[600];
static int64_t acc;
static struct bridge_sync *bsync;
static char remote[N_MESSAGES][API_ID_MAX + 1];
static const char *const email = "replay@example.org";

/* A message made with the test's client: a body of its own, in INBOX. */
static void
import_remote(size_t i, char id_r[API_ID_MAX + 1])
{
	char inbox[API_ID_MAX + 1], body[64];

	mailbox_role_id(own, "inbox", inbox);
	snprintf(body, sizeof(body), "ciphertext of message %zu", i);
	message_import(own, body, strlen(body),
	               (const char *const[]){inbox, NULL}, NULL, 1795000000 + i,
	               id_r);
}

static void
fixture(void)
{
	struct bridge_sync_config cfg = {0};
	const char *error;
	size_t i;

	if (srv_up)
		return;
	server_start(&srv, "replay", "900", NULL);
	srv_up = true;
	own = client_for(srv.port, srv.cert);
	signup_post(own, email, "pw", auth_key, account_id);
	client_login(own, email, auth_key);
	for (i = 0; i < N_MESSAGES; i++)
		import_remote(i, remote[i]);
	snprintf(replica, sizeof(replica), "%s/replica.db", test_tmpdir());
	hub = store_hub_new();
	TEST_EQ_INT(store_open(replica, hub, &st, &error), 0);
	TEST_EQ_INT(store_account_add(st, account_id, email, &acc, &error), 0);
	sync_api = client_for(srv.port, srv.cert);
	client_login(sync_api, email, auth_key);
	cfg.replica_path = replica;
	cfg.hub = hub;
	cfg.account_id = acc;
	cfg.api_id = account_id;
	cfg.api = sync_api;
	TEST_EQ_INT(bridge_sync_new(&cfg, &bsync, &error), 0);
	TEST_EQ_INT(bridge_sync_initial(bsync, &error), 0);
}

/* Replays until the queue is empty (at most a few passes). */
static void
replay_all(void)
{
	const char *error;
	uint64_t left = 1;
	size_t n;
	int pass;

	for (pass = 0; pass < 5 && left > 0; pass++) {
		TEST_EQ_INT(sync_replay(bsync,
		                        (int64_t)time(NULL) + 7200 * pass, &n,
		                        &error),
		            0);
		TEST_EQ_INT(store_op_count(st, acc, &left, &error), 0);
	}
	TEST_EQ_UINT(left, 0);
}

/* The replica's id of a message of the service, or 0. */
static int64_t
local_id(const char *remote_id)
{
	struct store_message m;
	const char *error;
	int64_t id;
	int ret;

	ret = store_message_find_remote(st, acc, remote_id, &m, &error);
	TEST_ASSERT(ret >= 0);
	if (ret == 0)
		return 0;
	id = m.id;
	store_message_free_contents(&m);
	return id;
}

static int64_t
local_mailbox(const char *path)
{
	struct store_mailbox mb;
	const char *error;
	int64_t id;

	TEST_EQ_INT(store_mailbox_find_path(st, acc, path, &mb, &error), 1);
	id = mb.id;
	store_mailbox_free_contents(&mb);
	return id;
}

/* The service's message, or false when it has none. */
static bool
remote_get(const char *id, struct api_message *m)
{
	struct api_reply r;
	int ret;

	api_reply_init(&r);
	ret = api_message_get(own, id, m, &r);
	if (ret != 0)
		TEST_EQ_INT(r.error, API_ERR_NOT_FOUND);
	api_reply_clear(&r);
	return ret == 0;
}

/* True when the service's message is in exactly these mailboxes. */
static bool
remote_in(const char *id, const char *a, const char *b)
{
	struct api_message m;
	bool ok;

	if (!remote_get(id, &m))
		return false;
	ok = m.mailbox_ids.count == (size_t)(b != NULL ? 2 : 1) &&
	     api_strings_has(&m.mailbox_ids, a) &&
	     (b == NULL || api_strings_has(&m.mailbox_ids, b));
	api_message_free(&m);
	return ok;
}

static bool
remote_has_keyword(const char *id, const char *kw)
{
	struct api_message m;
	bool ok;

	if (!remote_get(id, &m))
		return false;
	ok = api_strings_has(&m.keywords, kw);
	api_message_free(&m);
	return ok;
}

struct uid_find {
	int64_t message;
	uint32_t uid;
};

static int
uid_find_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct uid_find *f = ctx;

	(void)error_r;
	if (e->message_id != f->message)
		return 0;
	f->uid = e->uid;
	return 1;
}

/* The message's UID in the mailbox, or 0. */
static uint32_t
uid_in(int64_t mailbox, int64_t message)
{
	struct uid_find f = {message, 0};
	const char *error;

	TEST_EQ_INT(store_mailbox_fetch(st, mailbox, 1, UINT32_MAX, 0,
	                                uid_find_cb, &f, &error),
	            0);
	return f.uid;
}

/* Applies the change feed: what the replay did comes back, once. */
static void
feed(void)
{
	const char *error;

	TEST_EQ_INT(bridge_sync_changes(bsync, NULL, &error), 0);
}

static void
test_copy_move_expunge(void)
{
	char inbox[API_ID_MAX + 1], archive[API_ID_MAX + 1],
	        trash[API_ID_MAX + 1];
	struct store_patch p = {0};
	struct api_message m;
	int64_t box_in, box_ar, box_tr, id, two;
	uint32_t uid, uid_two;
	const char *error;

	fixture();
	mailbox_role_id(own, "inbox", inbox);
	mailbox_role_id(own, "archive", archive);
	mailbox_role_id(own, "trash", trash);
	box_in = local_mailbox("INBOX");
	box_ar = local_mailbox("Archive");
	box_tr = local_mailbox("Trash");

	/* COPY 0 to Archive; MOVE 1 there. */
	id = local_id(remote[0]);
	p.add_mailbox = box_ar;
	TEST_EQ_INT(
	        store_local_update(st, &id, 1, &p, time(NULL), &uid, &error),
	        0);
	TEST_EQ_UINT(uid_in(box_ar, id), uid);
	id = local_id(remote[1]);
	p.remove_mailbox = box_in;
	TEST_EQ_INT(
	        store_local_update(st, &id, 1, &p, time(NULL), &uid, &error),
	        0);
	replay_all();
	TEST_ASSERT(remote_in(remote[0], inbox, archive));
	TEST_ASSERT(remote_in(remote[1], archive, NULL));
	feed();
	TEST_EQ_UINT(uid_in(box_ar, id), uid);
	TEST_EQ_UINT(uid_in(box_in, id), 0);

	/* EXPUNGE from INBOX: 0 leaves it, 2 (there alone) goes to Trash. */
	two = local_id(remote[2]);
	uid_two = uid_in(box_in, two);
	TEST_EQ_INT(store_mailbox_set_deleted(
	                    st, box_in, uid_in(box_in, local_id(remote[0])),
	                    true, &error),
	            0);
	TEST_EQ_INT(
	        store_mailbox_set_deleted(st, box_in, uid_two, true, &error),
	        0);
	TEST_EQ_INT(
	        store_local_expunge(st, box_in, NULL, 0, time(NULL), &error),
	        0);
	replay_all();
	TEST_ASSERT(remote_in(remote[0], archive, NULL));
	TEST_ASSERT(remote_in(remote[2], trash, NULL));
	feed();
	TEST_ASSERT(uid_in(box_tr, two) != 0);

	/* EXPUNGE from Trash: destroyed, here and there. */
	TEST_EQ_INT(store_mailbox_set_deleted(st, box_tr, uid_in(box_tr, two),
	                                      true, &error),
	            0);
	TEST_EQ_INT(
	        store_local_expunge(st, box_tr, NULL, 0, time(NULL), &error),
	        0);
	TEST_EQ_INT(local_id(remote[2]), 0);
	replay_all();
	TEST_ASSERT(!remote_get(remote[2], &m));
	feed();
	TEST_EQ_INT(local_id(remote[2]), 0);
}

static void
test_keywords_batch(void)
{
	struct store_patch p = {.add_keywords = "$flagged Todo",
	                        .remove_keywords = "$seen"};
	struct store_message m;
	int64_t ids[3];
	const char *error;

	fixture();
	ids[0] = local_id(remote[3]);
	ids[1] = local_id(remote[4]);
	ids[2] = local_id(remote[5]);
	TEST_EQ_INT(
	        store_local_update(st, ids, 3, &p, time(NULL), NULL, &error),
	        0);
	/* 5 is destroyed by another client before the replay. */
	message_destroy(own, remote[5]);
	replay_all();
	TEST_ASSERT(remote_has_keyword(remote[3], "todo"));
	TEST_ASSERT(remote_has_keyword(remote[4], "$flagged"));
	/* Refused for 5: the replica took the service's word (gone). */
	TEST_EQ_INT(store_message_get(st, ids[2], &m, &error), 0);
	TEST_EQ_INT(store_message_get(st, ids[0], &m, &error), 1);
	TEST_EQ_STR(m.keywords, "$flagged todo");
	store_message_free_contents(&m);
	feed();
}

/* The service's mailbox of that name (and parent: "" at the top). */
static bool
remote_mailbox(const char *name, const char *parent, struct api_mailbox *out)
{
	struct api_mailbox_list l;
	struct api_reply r;
	bool found = false;
	size_t i;

	api_reply_init(&r);
	check_call(api_mailboxes_get(own, &l, &r), &r, "mailboxes");
	for (i = 0; i < l.count && !found; i++) {
		struct api_mailbox *m = &l.items[i];

		if (strcmp(m->name, name) != 0 ||
		    strcmp(m->parent_id != NULL ? m->parent_id : "", parent) !=
		            0)
			continue;
		found = true;
		memset(out, 0, sizeof(*out));
		out->id = sb_strdup(m->id);
		out->name = sb_strdup(m->name);
	}
	api_mailbox_list_free(&l);
	api_reply_clear(&r);
	return found;
}

static void
test_mailboxes(void)
{
	struct api_mailbox top, child, dup, any;
	struct store_patch p = {0};
	struct store_mailbox mb;
	struct api_reply r;
	int64_t projects, year, local_dup, id;
	const char *error;
	time_t now = time(NULL);

	fixture();
	/* A parent and its child, and a copy into the child: one pass. */
	TEST_EQ_INT(store_local_mailbox_create(st, acc, 0, "Projects", now,
	                                       &projects, &error),
	            0);
	TEST_EQ_INT(store_local_mailbox_create(st, acc, projects, "2026", now,
	                                       &year, &error),
	            0);
	id = local_id(remote[3]);
	p.add_mailbox = year;
	TEST_EQ_INT(store_local_update(st, &id, 1, &p, now, NULL, &error), 0);
	replay_all();
	TEST_ASSERT(remote_mailbox("Projects", "", &top));
	TEST_ASSERT(remote_mailbox("2026", top.id, &child));
	TEST_ASSERT(remote_has_keyword(remote[3], "todo"));
	{
		struct api_message m;

		TEST_ASSERT(remote_get(remote[3], &m));
		TEST_ASSERT(api_strings_has(&m.mailbox_ids, child.id));
		api_message_free(&m);
	}
	TEST_EQ_INT(store_mailbox_get(st, year, &mb, &error), 1);
	TEST_EQ_STR(mb.remote_id, child.id);
	store_mailbox_free_contents(&mb);

	/* Renamed and moved to the top. */
	TEST_EQ_INT(store_local_mailbox_rename(st, year, 0, "Old", now, &error),
	            0);
	replay_all();
	TEST_ASSERT(remote_mailbox("Old", "", &any));
	TEST_EQ_STR(any.id, child.id);
	api_mailbox_free(&any);

	/* A name the service has already (made by another client): taken. */
	api_reply_init(&r);
	check_call(api_mailbox_create(own, "Shared", NULL, &dup, &r), &r,
	           "create");
	api_reply_clear(&r);
	TEST_EQ_INT(store_local_mailbox_create(st, acc, 0, "Shared", now,
	                                       &local_dup, &error),
	            0);
	replay_all();
	TEST_EQ_INT(store_mailbox_get(st, local_dup, &mb, &error), 1);
	TEST_EQ_STR(mb.remote_id, dup.id);
	store_mailbox_free_contents(&mb);
	feed();
	TEST_EQ_INT(store_mailbox_get(st, local_dup, &mb, &error), 1);
	store_mailbox_free_contents(&mb);

	/* Deleted: gone on the service, with what only it held. */
	TEST_EQ_INT(store_local_mailbox_delete(st, projects, now, &error), 0);
	TEST_EQ_INT(store_local_mailbox_delete(st, local_dup, now, &error), 0);
	replay_all();
	TEST_ASSERT(!remote_mailbox("Projects", "", &any));
	TEST_ASSERT(!remote_mailbox("Shared", "", &any));
	feed();
	TEST_EQ_INT(store_mailbox_get(st, projects, &mb, &error), 0);

	api_mailbox_free(&top);
	api_mailbox_free(&child);
	api_mailbox_free(&dup);
}

/* A message made here (APPEND): the row, its body and the import op. */
static int64_t
append_local(int64_t mailbox, const char *body, const char *keywords)
{
	unsigned char summary[48] = "SBMS\x01local",
	              kp[API_KEY_PACKET_BYTES] = "SBKP\x01";
	struct store_body_writer *w;
	struct store_message m = {0};
	const char *error;
	int64_t id;

	m.account_id = acc;
	m.size = strlen(body);
	m.received_at = 1796000000;
	m.summary = summary;
	m.summary_len = sizeof(summary);
	m.key_packet = kp;
	m.key_packet_len = sizeof(kp);
	m.keywords = (char *)keywords;
	TEST_EQ_INT(store_begin(st, &error), 0);
	TEST_EQ_INT(store_message_add(st, &m, &mailbox, 1, &id, &error), 0);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, body, strlen(body), &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_EQ_INT(store_local_import(st, id, mailbox, time(NULL), &error), 0);
	TEST_EQ_INT(store_commit(st, &error), 0);
	return id;
}

struct collect {
	struct sb_buf buf;
};

static int
collect_sink(void *ctx, const void *data, size_t len)
{
	struct collect *c = ctx;

	return sb_buf_add(&c->buf, data, len) < 0 ? -1 : 0;
}

/* The service's body of a message, as text. */
static char *
remote_body(const char *id)
{
	struct api_message m;
	struct api_reply r;
	struct collect c;

	TEST_ASSERT(remote_get(id, &m));
	sb_buf_init(&c.buf, 1 << 20);
	api_reply_init(&r);
	check_call(api_blob_download(own, m.blob_id, 1 << 20, collect_sink, &c,
	                             &r),
	           &r, "download");
	api_reply_clear(&r);
	api_message_free(&m);
	return sb_buf_take(&c.buf, NULL);
}

/* How many messages the service lists in all. */
static size_t
remote_count(void)
{
	struct api_message_page page;
	struct api_reply r;
	size_t n;

	api_reply_init(&r);
	check_call(api_messages_page(own, NULL, API_MAX_PAGE, NULL, &page, &r),
	           &r, "list");
	n = page.count;
	TEST_ASSERT(page.next_cursor == NULL);
	api_message_page_free(&page);
	api_reply_clear(&r);
	return n;
}

static void
test_import(void)
{
	struct bridge_sync_config cfg = {0};
	struct store_patch p = {.add_keywords = "$answered"};
	struct bridge_sync *down;
	struct api_client *dead;
	struct store_message m;
	int64_t drafts, made, fresh, id;
	uint32_t uid;
	const char *error;
	size_t n, before;
	char *body;
	time_t now = time(NULL);

	fixture();
	drafts = local_mailbox("Drafts");
	before = remote_count();
	made = append_local(drafts, "the draft's ciphertext", "$draft $seen");
	uid = uid_in(drafts, made);
	/* A change queued behind the import goes after it. */
	TEST_EQ_INT(store_local_update(st, &made, 1, &p, now, NULL, &error), 0);

	/* The service cannot be reached: kept, and retried. */
	dead = client_for(1, srv.cert);
	cfg.replica_path = replica;
	cfg.account_id = acc;
	cfg.api_id = account_id;
	cfg.api = dead;
	TEST_EQ_INT(bridge_sync_new(&cfg, &down, &error), 0);
	TEST_EQ_INT(sync_replay(down, now, &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	bridge_sync_free(&down);
	api_client_free(&dead);
	TEST_EQ_INT(store_message_get(st, made, &m, &error), 1);
	TEST_ASSERT(m.remote_id == NULL);
	store_message_free_contents(&m);

	/* Into a mailbox made here too, in the same pass. */
	TEST_EQ_INT(store_local_mailbox_create(st, acc, 0, "Notes", now, &id,
	                                       &error),
	            0);
	fresh = append_local(id, "a note", "");

	replay_all();
	TEST_EQ_UINT(remote_count(), before + 2);
	TEST_EQ_INT(store_message_get(st, made, &m, &error), 1);
	TEST_ASSERT(m.remote_id != NULL);
	TEST_ASSERT(remote_has_keyword(m.remote_id, "$answered"));
	TEST_ASSERT(remote_has_keyword(m.remote_id, "$draft"));
	body = remote_body(m.remote_id);
	TEST_EQ_STR(body, "the draft's ciphertext");
	free(body);
	store_message_free_contents(&m);
	TEST_EQ_INT(store_message_get(st, fresh, &m, &error), 1);
	TEST_ASSERT(m.remote_id != NULL);
	store_message_free_contents(&m);

	/* The feed brings them back as the same messages, with their UIDs. */
	feed();
	TEST_EQ_UINT(uid_in(drafts, made), uid);
	{
		uint32_t *uids;

		TEST_EQ_INT(store_mailbox_uids(st, drafts, &uids, &n, &error),
		            0);
		TEST_EQ_UINT(n, 1);
		free(uids);
	}
	TEST_EQ_UINT(remote_count(), before + 2);
}

static const struct test_case cases[] = {
        {"copy, move and expunge", test_copy_move_expunge},
        {"keywords of several messages, one destroyed meanwhile",
         test_keywords_batch},
        {"mailboxes made, renamed, taken over and deleted", test_mailboxes},
        {"imports, also while the service is away", test_import},
        {NULL, NULL},
};

int
main(void)
{
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (sb_crypto_init() != 0)
		return 1;
	ret = test_run(cases);
	if (bsync != NULL)
		bridge_sync_free(&bsync);
	store_close(&st);
	if (hub != NULL)
		store_hub_free(&hub);
	api_client_free(&sync_api);
	api_client_free(&own);
	if (srv_up)
		server_stop(&srv);
	return ret;
}
