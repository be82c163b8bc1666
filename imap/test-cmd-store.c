/*
 * STORE (cmd-store.c) against another connection's change that comes
 * just before STORE's transaction: what STORE reads and what it writes
 * must be in one transaction, so that FLAGS sets exactly its flags and
 * UNCHANGEDSINCE sees the other change.
 *
 * The test links with --wrap=store_begin: __wrap_store_begin makes the
 * other connection's change, when one is armed, then begins. A STORE
 * that read the entries before its transaction works from what they were
 * before that change.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "imap-private.h"
#include "store/store.h"
#include "test.h"

int __real_store_begin(struct store *st, const char **error_r);
int __wrap_store_begin(struct store *st, const char **error_r);

/* The replica, and the change another connection makes, once. */
static struct {
	char path[512];
	int64_t account, inbox, message;
	uint32_t uid;
	struct store *other;
	bool armed;
} t;

/* The other connection's change: \Deleted, and $junk added. */
static void
other_change(void)
{
	struct store_patch p = {.add_keywords = "$junk"};
	const char *error;

	if (store_mailbox_set_deleted(t.other, t.inbox, t.uid, true, &error) <
	            0 ||
	    store_local_update(t.other, &t.message, 1, &p, 1700000000, NULL,
	                       &error) < 0)
		test_fail(__FILE__, __LINE__, "the other change: %s", error);
}

int
__wrap_store_begin(struct store *st, const char **error_r)
{
	if (t.armed) {
		t.armed = false;
		other_change();
	}
	return __real_store_begin(st, error_r);
}

/* A replica with INBOX holding one message with $flagged. */
static void
replica_make(void)
{
	struct store_message m;
	struct store *st;
	const char *error;
	static const char msg[] = "Subject: hi\r\n\r\nbody\r\n";

	snprintf(t.path, sizeof(t.path), "%s/replica.db", test_tmpdir());
	TEST_EQ_INT(store_open(t.path, NULL, &st, &error), 0);
	TEST_EQ_INT(store_account_add(st, "acc-1", "user@example.org",
	                              &t.account, &error),
	            0);
	TEST_EQ_INT(store_mailbox_upsert_remote(st, t.account, "mb-inbox",
	                                        "INBOX", NULL, "inbox",
	                                        &t.inbox, &error),
	            0);
	memset(&m, 0, sizeof(m));
	m.account_id = t.account;
	m.remote_id = (char *)"m-1";
	m.blob_id = (char *)"blob";
	m.size = sizeof(msg) - 1;
	m.received_at = 1700000000;
	m.summary = (void *)msg;
	m.summary_len = 15;
	m.key_packet = (void *)"key";
	m.key_packet_len = 3;
	m.keywords = (char *)"$flagged";
	TEST_EQ_INT(store_message_add(st, &m, &t.inbox, 1, &t.message, &error),
	            0);
	TEST_EQ_INT(store_mailbox_add_message(st, t.inbox, t.message, &t.uid,
	                                      &error),
	            0);
	store_close(&st);
}

/* A session with INBOX selected; no connection: replies stay in s->out. */
static void
session_open(struct imap_session *s, struct imap_shared *shared,
             struct imap_config *cfg)
{
	const char *error;

	memset(cfg, 0, sizeof(*cfg));
	cfg->replica_path = t.path;
	shared->cfg = cfg;
	shared->stop_fd = -1;
	memset(s, 0, sizeof(*s));
	s->shared = shared;
	s->id = 1;
	s->state = IMAP_STATE_SELECTED;
	s->account_id = t.account;
	sb_buf_init(&s->out, SIZE_MAX);
	TEST_EQ_INT(store_open(t.path, NULL, &s->st, &error), 0);
	TEST_EQ_INT(imap_view_open(s, t.inbox, false, &error), 0);
}

static void
session_close(struct imap_session *s)
{
	imap_view_close(s);
	store_close(&s->st);
	sb_buf_free(&s->out);
}

/* Runs one command line (without CRLF) through its handler. */
static void
run(struct imap_session *s, const char *line)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	struct imap_command c;
	struct sb_buf in;
	const char *error;
	size_t used;

	imap_limits_default(&l);
	r = imap_reader_new(&l);
	sb_buf_init(&in, SIZE_MAX);
	if (sb_buf_add_str(&in, line) < 0 || sb_buf_add_str(&in, "\r\n") < 0)
		abort();
	TEST_EQ_INT(imap_reader_feed(r, in.data, in.len, &used, &ev),
	            IMAP_EV_COMMAND);
	TEST_EQ_INT(imap_parse_command(ev.command, &c, &error), 0);
	imap_cmd_store(s, &c);
	imap_command_free(&c);
	imap_reader_free(&r);
	sb_buf_free(&in);
}

struct entry_seen {
	char keywords[256];
	bool deleted;
	uint64_t modseq;
};

static int
entry_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct entry_seen *seen = ctx;

	(void)error_r;
	snprintf(seen->keywords, sizeof(seen->keywords), "%s", e->keywords);
	seen->deleted = e->deleted;
	seen->modseq = e->modseq;
	return 0;
}

/* The message's entry in INBOX as the replica has it now. */
static void
entry_get(struct entry_seen *seen)
{
	const char *error;

	memset(seen, 0, sizeof(*seen));
	TEST_EQ_INT(store_mailbox_fetch(t.other, t.inbox, t.uid, t.uid, 0,
	                                entry_cb, seen, &error),
	            0);
}

/* FLAGS replaces the flags with its own, whatever came just before. */
static void
test_flags_after_another_change(void)
{
	struct imap_session s;
	struct imap_shared shared;
	struct imap_config cfg;
	struct entry_seen e;

	session_open(&s, &shared, &cfg);
	t.armed = true;
	run(&s, "a STORE 1 FLAGS (\\Seen)");
	TEST_ASSERT(!t.armed);
	TEST_ASSERT(strstr(sb_buf_str(&s.out), "a OK") != NULL);
	entry_get(&e);
	TEST_EQ_STR(e.keywords, "$seen");
	TEST_ASSERT(!e.deleted);
	/* Its answer tells the flags it set, \Deleted gone. */
	TEST_ASSERT(strstr(sb_buf_str(&s.out), "FLAGS (\\Seen)") != NULL);
	session_close(&s);
}

/* UNCHANGEDSINCE compares with the modseq the other change gave. */
static void
test_unchangedsince_after_another_change(void)
{
	struct imap_session s;
	struct imap_shared shared;
	struct imap_config cfg;
	struct entry_seen before, after;
	char line[128];

	session_open(&s, &shared, &cfg);
	entry_get(&before);
	t.armed = true;
	snprintf(line, sizeof(line),
	         "b STORE 1 (UNCHANGEDSINCE %llu) +FLAGS (\\Answered)",
	         (unsigned long long)before.modseq);
	run(&s, line);
	TEST_ASSERT(!t.armed);
	TEST_ASSERT(strstr(sb_buf_str(&s.out), "b OK [MODIFIED 1]") != NULL);
	entry_get(&after);
	TEST_ASSERT(strstr(after.keywords, "$answered") == NULL);
	TEST_ASSERT(strstr(after.keywords, "$junk") != NULL);
	session_close(&s);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"FLAGS after another change", test_flags_after_another_change},
	        {"UNCHANGEDSINCE after another change",
	         test_unchangedsince_after_another_change},
	        {NULL, NULL},
	};
	const char *error;
	int ret;

	replica_make();
	if (store_open(t.path, NULL, &t.other, &error) < 0) {
		fprintf(stderr, "%s\n", error);
		return 1;
	}
	ret = test_run(cases);
	store_close(&t.other);
	return ret;
}
