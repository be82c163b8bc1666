/* Bodies: stored and read back by pieces, resumed, checked. */
#include <sqlite3.h>
#include <string.h>

#include "test-store-util.h"

#define TEST_BODY_SIZE (5 * 1024 * 1024 + 123)

/* The byte at a position of the test body: no copy of it is needed. */
static unsigned char
test_body_byte(uint64_t pos)
{
	return (unsigned char)((pos * 2654435761u) >> 13);
}

static void
test_body_fill(unsigned char *p, uint64_t pos, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = test_body_byte(pos + i);
}

struct test_sink {
	uint64_t pos;    /* expected position of the next byte */
	size_t max_call; /* largest piece handed over */
	bool mismatch;
};

static int
test_sink_check(void *ctx, const void *data, size_t len, const char **error_r)
{
	struct test_sink *s = ctx;
	const unsigned char *p = data;
	size_t i;

	(void)error_r;
	if (len > s->max_call)
		s->max_call = len;
	for (i = 0; i < len; i++) {
		if (p[i] != test_body_byte(s->pos + i))
			s->mismatch = true;
	}
	s->pos += len;
	return 0;
}

static int64_t
test_body_message(struct store *st, int64_t *acc_r, uint64_t size)
{
	int64_t acc = test_store_account(st, "b@x.org");
	int64_t box = test_store_mailbox(st, acc, "INBOX");
	struct store_message m = {0};
	const char *error;
	int64_t id;

	m.account_id = acc;
	m.remote_id = (char *)"m_big";
	m.size = size;
	TEST_EQ_INT(store_message_add(st, &m, &box, 1, &id, &error), 0);
	*acc_r = acc;
	return id;
}

/* Writes [from, to) of the test body in pieces of `step` bytes. */
static void
test_body_write(struct store_body_writer *w, uint64_t from, uint64_t to,
                size_t step)
{
	static unsigned char piece[70001];
	const char *error = NULL;

	TEST_ASSERT(step <= sizeof(piece));
	while (from < to) {
		size_t n = to - from < step ? (size_t)(to - from) : step;

		test_body_fill(piece, from, n);
		if (store_body_write_chunk(w, piece, n, &error) < 0)
			test_fail(__FILE__, __LINE__, "write: %s", error);
		from += n;
	}
}

static void
test_body_big(void)
{
	struct store *st = test_store_open(test_store_path("big"));
	struct store_body_writer *w;
	struct store_message m;
	struct test_sink s = {0};
	const char *error;
	int64_t acc, id;

	id = test_body_message(st, &acc, TEST_BODY_SIZE);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	TEST_EQ_UINT(store_body_writer_offset(w), 0);
	/* An odd piece size, so that pieces straddle the chunks. */
	test_body_write(w, 0, TEST_BODY_SIZE, 70001);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_ASSERT(w == NULL);
	test_store_verify(test_store_path("big"));
	TEST_EQ_INT(store_message_get(st, id, &m, &error), 1);
	TEST_ASSERT(m.body_cached);
	store_message_free_contents(&m);
	/* A cached body is not written twice. */
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), -1);

	/* Read all of it: never more than a chunk at a time. */
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            1);
	TEST_EQ_UINT(s.pos, TEST_BODY_SIZE);
	TEST_ASSERT(!s.mismatch);
	TEST_ASSERT(s.max_call <= STORE_BODY_CHUNK);

	/* A range across a chunk boundary. */
	s = (struct test_sink){.pos = STORE_BODY_CHUNK - 10};
	TEST_EQ_INT(store_body_read(st, id, STORE_BODY_CHUNK - 10, 3 * 100000,
	                            test_sink_check, &s, &error),
	            1);
	TEST_EQ_UINT(s.pos, STORE_BODY_CHUNK - 10 + 3 * 100000);
	TEST_ASSERT(!s.mismatch);
	/* The tail, and past the end. */
	s = (struct test_sink){.pos = TEST_BODY_SIZE - 5};
	TEST_EQ_INT(store_body_read(st, id, TEST_BODY_SIZE - 5, 100,
	                            test_sink_check, &s, &error),
	            1);
	TEST_EQ_UINT(s.pos, TEST_BODY_SIZE);
	s = (struct test_sink){.pos = TEST_BODY_SIZE + 1};
	TEST_EQ_INT(store_body_read(st, id, TEST_BODY_SIZE + 1, 100,
	                            test_sink_check, &s, &error),
	            1);
	TEST_EQ_UINT(s.pos, TEST_BODY_SIZE + 1);

	/* Dropped from the cache, it can be downloaded again. */
	TEST_EQ_INT(store_body_drop(st, id, &error), 0);
	s = (struct test_sink){0};
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            0);
	TEST_EQ_UINT(s.pos, 0);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	store_body_write_abort(&w);

	test_store_verify(test_store_path("big"));
	store_close(&st);
}

static int
test_sink_fail(void *ctx, const void *data, size_t len, const char **error_r)
{
	(void)ctx;
	(void)data;
	(void)len;
	*error_r = "sink full";
	return -1;
}

static void
test_body_resume(void)
{
	const char *path = test_store_path("resume");
	struct store *st = test_store_open(path);
	struct store_body_writer *w;
	struct test_sink s = {0};
	const char *error;
	uint64_t size = 3 * STORE_BODY_CHUNK + 77, at;
	int64_t acc, id;

	id = test_body_message(st, &acc, size);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, 2 * STORE_BODY_CHUNK + 500, 4096);
	/* Cut short: what was committed stays. */
	store_body_write_abort(&w);
	store_close(&st);

	st = test_store_open(path);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	at = store_body_writer_offset(w);
	TEST_EQ_UINT(at, 2 * STORE_BODY_CHUNK);
	test_body_write(w, at, size, 5000);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            1);
	TEST_EQ_UINT(s.pos, size);
	TEST_ASSERT(!s.mismatch);
	/* A sink's failure stops the read with its error. */
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_fail, NULL,
	                            &error),
	            -1);
	TEST_EQ_STR(error, "sink full");
	store_close(&st);
}

static void
test_body_wrong_size(void)
{
	struct store *st = test_store_open(test_store_path("wrong"));
	struct store_body_writer *w;
	struct store_message m;
	struct test_sink s = {0};
	const char *error;
	int64_t acc, id;

	id = test_body_message(st, &acc, 1000);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, 999, 100);
	TEST_EQ_INT(store_body_write_end(&w, &error), -1);
	TEST_ASSERT(strstr(error, "999") != NULL);
	TEST_EQ_INT(store_message_get(st, id, &m, &error), 1);
	TEST_ASSERT(!m.body_cached);
	store_message_free_contents(&m);
	/* The wrong bytes are gone: the next try starts afresh. */
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            0);
	TEST_EQ_UINT(s.pos, 0);
	TEST_EQ_INT(store_body_write_begin(st, 4242, &w, &error), -1);
	/* Deleting the message deletes its body. */
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, 1000, 1000);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_EQ_INT(store_message_delete(st, id, &error), 0);
	s = (struct test_sink){0};
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            -1);
	TEST_EQ_UINT(s.pos, 0);
	store_close(&st);
}

/* Runs SQL on the file from a connection of its own. */
static void
test_body_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	TEST_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
	TEST_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
test_body_partial_refused(void)
{
	const char *path = test_store_path("partial");
	struct store *st = test_store_open(path);
	struct store_body_writer *w;
	struct test_sink s = {0};
	const char *error;
	uint64_t size = 3 * STORE_BODY_CHUNK;
	int64_t acc, id;

	id = test_body_message(st, &acc, size);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, 2 * STORE_BODY_CHUNK, 4096);
	store_body_write_abort(&w);
	/* Two pieces of three are stored: not served as the body. */
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            0);
	TEST_EQ_UINT(s.pos, 0);
	TEST_EQ_INT(
	        store_body_read(st, id, 10, 10, test_sink_check, &s, &error),
	        0);
	TEST_EQ_UINT(s.pos, 0);

	/* Complete, then a piece goes missing from the file: a gap. */
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 2 * STORE_BODY_CHUNK, size, 4096);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	test_body_sql(path, "DELETE FROM bodies WHERE pos = 131072");
	s = (struct test_sink){0};
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            -1);
	TEST_ASSERT(strstr(error, "broken") != NULL);
	TEST_EQ_UINT(s.pos, STORE_BODY_CHUNK);
	/* The missing tail likewise. */
	test_body_sql(path, "DELETE FROM bodies WHERE pos = 262144");
	s = (struct test_sink){.pos = 10};
	TEST_EQ_INT(store_body_read(st, id, 10, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            -1);
	TEST_ASSERT(strstr(error, "ends at byte") != NULL);
	store_close(&st);
}

static const unsigned char test_zeros[STORE_BODY_CHUNK];

static void
test_body_drop_while_writing(void)
{
	const char *path = test_store_path("dropping");
	struct store *st = test_store_open(path);
	struct store *other = test_store_open(path);
	struct store_body_writer *w, *w2;
	struct store_message m;
	struct test_sink s = {0};
	const char *error;
	uint64_t size = 3 * STORE_BODY_CHUNK + 10;
	int64_t acc, id;

	id = test_body_message(st, &acc, size);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, STORE_BODY_CHUNK + 10, 4096);
	/* Another connection drops what is stored so far. */
	TEST_EQ_INT(store_body_drop(other, id, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, "x", 1, &error), 0);
	/* The next piece to commit finds the body changed. */
	TEST_EQ_INT(
	        store_body_write_chunk(w, test_zeros, STORE_BODY_CHUNK, &error),
	        -1);
	TEST_ASSERT(strstr(error, "changed") != NULL);
	store_body_write_abort(&w);
	TEST_EQ_INT(store_message_get(st, id, &m, &error), 1);
	TEST_ASSERT(!m.body_cached);
	store_message_free_contents(&m);
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            0);

	/* Two writers at once: the one that ends last fails. */
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	TEST_EQ_INT(store_body_write_begin(other, id, &w2, &error), 0);
	test_body_write(w, 0, size, 4096);
	test_body_write(w2, 0, 100, 100);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w2, &error), -1);
	s = (struct test_sink){0};
	TEST_EQ_INT(store_body_read(st, id, 0, UINT64_MAX, test_sink_check, &s,
	                            &error),
	            1);
	TEST_EQ_UINT(s.pos, size);
	TEST_ASSERT(!s.mismatch);

	/* A gap made behind the writer's back is found at the end. */
	TEST_EQ_INT(store_body_drop(st, id, &error), 0);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	test_body_write(w, 0, 2 * STORE_BODY_CHUNK, 4096);
	test_body_sql(path, "DELETE FROM bodies WHERE pos = 0;"
	                    "INSERT INTO bodies VALUES(1, 0, x'00');");
	test_body_write(w, 2 * STORE_BODY_CHUNK, size, 4096);
	TEST_EQ_INT(store_body_write_end(&w, &error), -1);
	TEST_ASSERT(strstr(error, "gaps") != NULL);
	TEST_EQ_INT(store_message_get(st, id, &m, &error), 1);
	TEST_ASSERT(!m.body_cached);
	store_message_free_contents(&m);
	TEST_EQ_INT(store_body_drop(st, 4242, &error), -1);
	test_store_verify(path);
	store_close(&other);
	store_close(&st);
}

static void
test_body_too_long(void)
{
	struct store *st = test_store_open(test_store_path("long"));
	struct store_body_writer *w;
	const char *error;
	unsigned char big[1001] = {0};
	int64_t acc, id;

	id = test_body_message(st, &acc, 1000);
	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, big, 1001, &error), -1);
	TEST_ASSERT(strstr(error, "1000") != NULL);
	TEST_EQ_INT(store_body_write_chunk(w, big, 999, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, big, 2, &error), -1);
	TEST_EQ_INT(store_body_write_chunk(w, big, 1, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, big, 1, &error), -1);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
	store_close(&st);
}

/* A message of `size` bytes received at `at`; remote NULL: a local one. */
static int64_t
test_missing_message(struct store *st, int64_t acc, const char *remote,
                     int64_t at, uint64_t size, const int64_t *boxes, size_t n)
{
	struct store_message m = {0};
	const char *error = NULL;
	int64_t id = 0;

	m.account_id = acc;
	m.remote_id = (char *)remote;
	m.blob_id = remote != NULL ? (char *)"b" : NULL;
	m.size = size;
	m.received_at = at;
	TEST_EQ_INT(store_message_add(st, &m, boxes, n, &id, &error), 0);
	return id;
}

/* Stores a whole body of `size` zero bytes for the message. */
static void
test_missing_cache(struct store *st, int64_t id, size_t size)
{
	struct store_body_writer *w;
	const char *error = NULL;

	TEST_EQ_INT(store_body_write_begin(st, id, &w, &error), 0);
	TEST_EQ_INT(store_body_write_chunk(w, test_zeros, size, &error), 0);
	TEST_EQ_INT(store_body_write_end(&w, &error), 0);
}

/* The next batch of at most max ids into ids; how many. */
static size_t
test_missing_next(struct store *st, int64_t acc, struct store_body_cursor *c,
                  size_t max, int64_t *ids)
{
	const char *error = NULL;
	size_t n = 99;

	if (store_bodies_missing(st, acc, c, max, ids, &n, &error) < 0)
		test_fail(__FILE__, __LINE__, "missing: %s", error);
	return n;
}

static void
test_bodies_missing(void)
{
	const char *path = test_store_path("missing");
	struct store *st = test_store_open(path);
	int64_t acc = test_store_account(st, "a@x.org");
	int64_t other = test_store_account(st, "o@x.org");
	int64_t boxes[2], obox, m1, m2, m3, m4, m6, m7, m8, ids[8];
	struct store_body_cursor c = {0};
	uint64_t count, bytes;
	const char *error;

	boxes[0] = test_store_mailbox(st, acc, "INBOX");
	boxes[1] = test_store_mailbox(st, acc, "Archive");
	obox = test_store_mailbox(st, other, "INBOX");
	TEST_EQ_INT(store_bodies_missing_count(st, acc, &count, &bytes, &error),
	            0);
	TEST_EQ_UINT(count, 0);
	TEST_EQ_UINT(bytes, 0);
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 8, ids), 0);

	m1 = test_missing_message(st, acc, "m1", 100, 10, &boxes[0], 1);
	m2 = test_missing_message(st, acc, "m2", 300, 20, &boxes[1], 1);
	m3 = test_missing_message(st, acc, "m3", 200, 30, &boxes[0], 1);
	/* Received with m2: the larger id comes first. */
	m4 = test_missing_message(st, acc, "m4", 300, 40, &boxes[0], 1);
	/* Newest, but not on the service yet: nothing to download. */
	(void)test_missing_message(st, acc, NULL, 400, 50, &boxes[0], 1);
	/* Cached already. */
	m6 = test_missing_message(st, acc, "m6", 250, 60, &boxes[0], 1);
	test_missing_cache(st, m6, 60);
	/* In two mailboxes: listed and counted once. */
	m7 = test_missing_message(st, acc, "m7", 150, 70, boxes, 2);
	/* Another account's, the newest of all. */
	(void)test_missing_message(st, other, "o1", 500, 80, &obox, 1);

	TEST_EQ_INT(store_bodies_missing_count(st, acc, &count, &bytes, &error),
	            0);
	TEST_EQ_UINT(count, 5);
	TEST_EQ_UINT(bytes, 10 + 20 + 30 + 40 + 70);
	TEST_EQ_INT(
	        store_bodies_missing_count(st, other, &count, &bytes, &error),
	        0);
	TEST_EQ_UINT(count, 1);
	TEST_EQ_UINT(bytes, 80);

	/* All at once, newest first. */
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 8, ids), 5);
	TEST_EQ_INT(ids[0], m4);
	TEST_EQ_INT(ids[1], m2);
	TEST_EQ_INT(ids[2], m3);
	TEST_EQ_INT(ids[3], m7);
	TEST_EQ_INT(ids[4], m1);
	TEST_EQ_INT(c.message_id, m1);
	TEST_EQ_INT(c.received_at, 100);
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 8, ids), 0);
	TEST_EQ_INT(c.message_id, m1);
	/* max 0 gives nothing and leaves the cursor. */
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 0, ids), 0);
	TEST_EQ_INT(c.message_id, m1);

	/* Two at a time: the cursor goes on after the last one given. */
	c = (struct store_body_cursor){0};
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 2, ids), 2);
	TEST_EQ_INT(ids[0], m4);
	TEST_EQ_INT(ids[1], m2);
	/*
	 * The cursor's message gone and the next body stored meanwhile:
	 * the listing goes on after where it was.
	 */
	TEST_EQ_INT(store_message_delete(st, m2, &error), 0);
	test_missing_cache(st, m3, 30);
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 2, ids), 2);
	TEST_EQ_INT(ids[0], m7);
	TEST_EQ_INT(ids[1], m1);
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 2, ids), 0);
	/* A message older than the cursor, added meanwhile, comes too. */
	m8 = test_missing_message(st, acc, "m8", 50, 5, &boxes[1], 1);
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 2, ids), 1);
	TEST_EQ_INT(ids[0], m8);

	/* What is left: m4, m7, m1 and the new one. */
	TEST_EQ_INT(store_bodies_missing_count(st, acc, &count, &bytes, &error),
	            0);
	TEST_EQ_UINT(count, 4);
	TEST_EQ_UINT(bytes, 40 + 70 + 10 + 5);
	c = (struct store_body_cursor){0};
	TEST_EQ_UINT(test_missing_next(st, other, &c, 8, ids), 1);
	/* A body dropped is to download again. */
	TEST_EQ_INT(store_body_drop(st, m6, &error), 0);
	c = (struct store_body_cursor){0};
	TEST_EQ_UINT(test_missing_next(st, acc, &c, 2, ids), 2);
	TEST_EQ_INT(ids[0], m4);
	TEST_EQ_INT(ids[1], m6);
	store_close(&st);
	test_store_verify(path);
}

static const struct test_case cases[] = {
        {"5 MB body by pieces", test_body_big},
        {"resume after a cut", test_body_resume},
        {"wrong size refused", test_body_wrong_size},
        {"partial body not served, gaps found", test_body_partial_refused},
        {"body dropped while written", test_body_drop_while_writing},
        {"body longer than its size refused", test_body_too_long},
        {"bodies to download: order, cursor, accounts", test_bodies_missing},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
