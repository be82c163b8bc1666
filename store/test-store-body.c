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

static const struct test_case cases[] = {
        {"5 MB body by pieces", test_body_big},
        {"resume after a cut", test_body_resume},
        {"wrong size refused", test_body_wrong_size},
        {"partial body not served, gaps found", test_body_partial_refused},
        {"body dropped while written", test_body_drop_while_writing},
        {"body longer than its size refused", test_body_too_long},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
