/* Helpers shared by the store's unit tests. */
#ifndef TEST_STORE_UTIL_H
#define TEST_STORE_UTIL_H

#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "test.h"

/* A fresh path under the test's directory for each call with a new name. */
static inline const char *
test_store_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s.db", test_tmpdir(), name);
	return path;
}

static inline struct store *
test_store_open(const char *path)
{
	struct store *st = NULL;
	const char *error = NULL;

	if (store_open(path, NULL, &st, &error) < 0)
		test_fail(__FILE__, __LINE__, "store_open: %s", error);
	return st;
}

static inline int64_t
test_store_account(struct store *st, const char *email)
{
	const char *error = NULL;
	int64_t id = 0;

	if (store_account_add(st, email, email, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "account: %s", error);
	return id;
}

static inline int64_t
test_store_mailbox(struct store *st, int64_t account, const char *name)
{
	const char *error = NULL;
	int64_t id = 0;

	if (store_mailbox_create(st, account, 0, name, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "mailbox: %s", error);
	return id;
}

/* A message with remote id `remote` in the given mailboxes. */
static inline int64_t
test_store_message(struct store *st, int64_t account, const char *remote,
                   const char *keywords, const int64_t *boxes, size_t n)
{
	struct store_message m = {0};
	const char *error = NULL;
	int64_t id = 0;

	m.account_id = account;
	m.remote_id = (char *)remote;
	m.blob_id = (char *)"b_1";
	m.size = 100;
	m.received_at = 1700000000;
	m.summary = (void *)"SBMS-cipher";
	m.summary_len = 11;
	m.key_packet = (void *)"SBKP-cipher";
	m.key_packet_len = 11;
	m.keywords = (char *)keywords;
	if (store_message_add(st, &m, boxes, n, &id, &error) < 0)
		test_fail(__FILE__, __LINE__, "message: %s", error);
	return id;
}

/* The UID of a message in a mailbox, or 0. */
struct test_store_find {
	int64_t message_id;
	uint32_t uid;
	uint64_t modseq;
	bool deleted;
};

static inline int
test_store_find_cb(void *ctx, const struct store_entry *e, const char **error_r)
{
	struct test_store_find *f = ctx;

	(void)error_r;
	if (e->message_id != f->message_id)
		return 0;
	f->uid = e->uid;
	f->modseq = e->modseq;
	f->deleted = e->deleted;
	return 1;
}

static inline struct test_store_find
test_store_entry(struct store *st, int64_t mailbox, int64_t message)
{
	struct test_store_find f = {.message_id = message};
	const char *error = NULL;

	if (store_mailbox_fetch(st, mailbox, 1, UINT32_MAX, 0,
	                        test_store_find_cb, &f, &error) < 0)
		test_fail(__FILE__, __LINE__, "fetch: %s", error);
	return f;
}

#endif
