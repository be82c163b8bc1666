/*
 * Bodies: message bodies (the service's ciphertext) and outbox bodies,
 * stored as pieces of at most STORE_BODY_CHUNK bytes, each a row keyed by
 * its byte position. Writing appends piece by piece, each committed on its
 * own, so a download can resume at the stored length and no write holds
 * the lock for long; reading hands pieces to a sink. A body is never
 * whole in memory. Also the listing of the bodies still to download.
 */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

enum store_stream {
	STORE_STREAM_MESSAGE,
	STORE_STREAM_OUTBOX,
};

struct store_stream_sql {
	/*
	 * ?1 owner: one row while it takes a body: the bytes stored (the
	 * end of the last piece) and its size limit (-1: the caller's).
	 */
	const char *open;
	const char *insert;
	/*
	 * ?1 owner, ?2 from, ?3 to: its size and whether the body is
	 * complete, then the pieces over [from, to) (NULLs when none).
	 */
	const char *read;
	/* ?1 owner: pieces not starting where the previous ends; bytes. */
	const char *check;
	const char *drop;
	const char *name;
};

static const struct store_stream_sql store_stream_sql[] = {
        [STORE_STREAM_MESSAGE] =
                {
                        "SELECT ifnull((SELECT max(pos + length(data))"
                        " FROM bodies WHERE message = m.id), 0), m.size"
                        " FROM messages m WHERE m.id = ? AND NOT body_cached",
                        "INSERT INTO bodies(message, pos, data)"
                        " VALUES(?, ?, ?)",
                        "SELECT m.size, m.body_cached, b.pos, b.data"
                        " FROM messages m LEFT JOIN bodies b"
                        " ON b.message = m.id"
                        " AND b.pos + length(b.data) > ?2 AND b.pos < ?3"
                        " WHERE m.id = ?1 ORDER BY b.pos",
                        "SELECT ifnull(sum(pos != prev), 0), ifnull(sum(n), 0)"
                        " FROM (SELECT pos, length(data) AS n,"
                        " lag(pos + length(data), 1, 0) OVER (ORDER BY pos)"
                        " AS prev FROM bodies WHERE message = ?)",
                        "DELETE FROM bodies WHERE message = ?",
                        "message",
                },
        [STORE_STREAM_OUTBOX] =
                {
                        "SELECT ifnull((SELECT max(pos + length(data))"
                        " FROM outbox_bodies WHERE outbox = o.id), 0), -1"
                        " FROM outbox o WHERE o.id = ? AND o.state = 0",
                        "INSERT INTO outbox_bodies(outbox, pos, data)"
                        " VALUES(?, ?, ?)",
                        "SELECT o.size, o.state != 0, b.pos, b.data"
                        " FROM outbox o LEFT JOIN outbox_bodies b"
                        " ON b.outbox = o.id"
                        " AND b.pos + length(b.data) > ?2 AND b.pos < ?3"
                        " WHERE o.id = ?1 ORDER BY b.pos",
                        "SELECT ifnull(sum(pos != prev), 0), ifnull(sum(n), 0)"
                        " FROM (SELECT pos, length(data) AS n,"
                        " lag(pos + length(data), 1, 0) OVER (ORDER BY pos)"
                        " AS prev FROM outbox_bodies WHERE outbox = ?)",
                        "DELETE FROM outbox_bodies WHERE outbox = ?",
                        "outbox entry",
                },
};

struct store_body_writer {
	struct store *st;
	enum store_stream kind;
	int64_t owner;
	uint64_t limit;  /* the body may not pass this many bytes */
	uint64_t offset; /* bytes committed */
	size_t len;      /* bytes waiting in chunk */
	unsigned char chunk[STORE_BODY_CHUNK];
};

/* Runs a query of two integers about one owner: 1 / 0 (no row) / -1. */
static int SB_WUR
store_stream_pair(struct store *st, const char *sql, int64_t owner,
                  int64_t *a_r, int64_t *b_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r, sql, "i", owner) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		*a_r = sqlite3_column_int64(stmt, 0);
		*b_r = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	return ret;
}

/* The owner still takes a body, and has exactly *stored_r bytes. */
static int SB_WUR
store_stream_open(struct store *st, enum store_stream kind, int64_t owner,
                  int64_t *stored_r, int64_t *limit_r, const char **error_r)
{
	int ret;

	ret = store_stream_pair(st, store_stream_sql[kind].open, owner,
	                        stored_r, limit_r, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0)
		return store_fail(
		        st, error_r, "no %s %lld waiting for its body",
		        store_stream_sql[kind].name, (long long)owner);
	return 0;
}

static int SB_WUR
store_stream_begin(struct store *st, enum store_stream kind, int64_t owner,
                   uint64_t max, struct store_body_writer **w_r,
                   const char **error_r)
{
	struct store_body_writer *w;
	int64_t stored = 0, limit = 0;

	if (store_stream_open(st, kind, owner, &stored, &limit, error_r) < 0)
		return -1;
	w = sb_malloc(sizeof(*w));
	w->st = st;
	w->kind = kind;
	w->owner = owner;
	w->limit = limit < 0 ? max : (uint64_t)limit;
	w->offset = (uint64_t)stored;
	w->len = 0;
	*w_r = w;
	return 0;
}

int
store_body_write_begin(struct store *st, int64_t message_id,
                       struct store_body_writer **w_r, const char **error_r)
{
	return store_stream_begin(st, STORE_STREAM_MESSAGE, message_id,
	                          UINT64_MAX, w_r, error_r);
}

int
store_outbox_write_begin(struct store *st, int64_t outbox_id, uint64_t max_size,
                         struct store_body_writer **w_r, const char **error_r)
{
	return store_stream_begin(st, STORE_STREAM_OUTBOX, outbox_id, max_size,
	                          w_r, error_r);
}

uint64_t
store_body_writer_offset(const struct store_body_writer *w)
{
	return w->offset + w->len;
}

/*
 * Commits the waiting bytes as one piece, after checking that the stored
 * body is still the one this writer continues: not dropped, not completed
 * or extended by another writer meanwhile.
 */
static int SB_WUR
store_stream_append(struct store_body_writer *w, const char **error_r)
{
	struct store *st = w->st;
	int64_t stored = 0, limit = 0;

	if (store_stream_open(st, w->kind, w->owner, &stored, &limit, error_r) <
	    0)
		return -1;
	if ((uint64_t)stored != w->offset)
		return store_fail(st, error_r,
		                  "the stored body of %s %lld changed while "
		                  "being written (%lld bytes, not %llu)",
		                  store_stream_sql[w->kind].name,
		                  (long long)w->owner, (long long)stored,
		                  (unsigned long long)w->offset);
	return store_run(st, error_r, store_stream_sql[w->kind].insert, "iib",
	                 w->owner, (int64_t)w->offset, w->chunk, w->len);
}

static int SB_WUR
store_stream_flush(struct store_body_writer *w, const char **error_r)
{
	struct store *st = w->st;
	size_t mark;

	if (w->len == 0)
		return 0;
	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	if (store_tx_end(st, mark, store_stream_append(w, error_r), error_r) <
	    0)
		return -1;
	w->offset += w->len;
	w->len = 0;
	return 0;
}

int
store_body_write_chunk(struct store_body_writer *w, const void *data,
                       size_t len, const char **error_r)
{
	const unsigned char *p = data;
	uint64_t at = w->offset + w->len;
	size_t n;

	if (len > w->limit || at > w->limit - len)
		return store_fail(w->st, error_r,
		                  "the body of %s %lld passes its size of %llu "
		                  "bytes",
		                  store_stream_sql[w->kind].name,
		                  (long long)w->owner,
		                  (unsigned long long)w->limit);
	while (len > 0) {
		n = sizeof(w->chunk) - w->len;
		if (n > len)
			n = len;
		memcpy(w->chunk + w->len, p, n);
		w->len += n;
		p += n;
		len -= n;
		if (w->len == sizeof(w->chunk) &&
		    store_stream_flush(w, error_r) < 0)
			return -1;
	}
	return 0;
}

/*
 * The last step, in the closing transaction: the stored pieces (not the
 * writer's count) must follow each other from byte 0 and, for a message,
 * add up to its size. Then the owner is complete.
 */
static int SB_WUR
store_stream_complete(struct store_body_writer *w, bool *mismatch_r,
                      const char **error_r)
{
	struct store *st = w->st;
	int64_t gaps = 0, total = 0, stored, limit;
	int ret;

	if (store_stream_open(st, w->kind, w->owner, &stored, &limit, error_r) <
	    0)
		return -1;
	ret = store_stream_pair(st, store_stream_sql[w->kind].check, w->owner,
	                        &gaps, &total, error_r);
	if (ret <= 0)
		return store_fail_db(st, error_r, "cannot check the body");
	if (gaps != 0 || (limit >= 0 && total != limit)) {
		/* Wrong bytes: drop them, so the next try starts afresh. */
		if (store_run(st, error_r, store_stream_sql[w->kind].drop, "i",
		              w->owner) < 0)
			return -1;
		*mismatch_r = true;
		if (gaps != 0)
			return store_fail(st, error_r,
			                  "the stored body has gaps");
		return store_fail(st, error_r,
		                  "the body has %lld bytes, not the %lld "
		                  "announced",
		                  (long long)total, (long long)limit);
	}
	if (w->kind == STORE_STREAM_OUTBOX) {
		int64_t account;

		ret = store_int(st, &account, error_r,
		                "UPDATE outbox SET size = ?, state = ?"
		                " WHERE id = ? AND state = 0 RETURNING account",
		                "iii", total, (int64_t)STORE_OUTBOX_QUEUED,
		                w->owner);
		if (ret == 0)
			return store_fail(st, error_r,
			                  "outbox entry %lld is not receiving",
			                  (long long)w->owner);
		if (ret < 0)
			return -1;
		/* The sender wakes once this commits. */
		store_changed(st, store_outbox_key(account));
		return 0;
	}
	return store_run(st, error_r,
	                 "UPDATE messages SET body_cached = 1 WHERE id = ?",
	                 "i", w->owner);
}

int
store_body_write_end(struct store_body_writer **wp, const char **error_r)
{
	struct store_body_writer *w = *wp;
	struct store *st = w->st;
	bool mismatch = false;
	size_t mark;
	int ret;

	/*
	 * The last piece and the completion in one transaction: one sync of
	 * the file per body, not two (what a small body costs most).
	 */
	ret = store_tx_start(st, &mark, error_r);
	if (ret == 0) {
		ret = store_stream_flush(w, error_r);
		if (ret == 0)
			ret = store_stream_complete(w, &mismatch, error_r);
		/*
		 * On a mismatch, commit the dropping of the wrong bytes and
		 * still fail with the mismatch (or the commit's error).
		 */
		if (mismatch)
			ret = store_tx_end(st, mark, 0, error_r) < 0 ? -1 : ret;
		else
			ret = store_tx_end(st, mark, ret, error_r);
	}
	store_body_write_abort(wp);
	return ret;
}

void
store_body_write_abort(struct store_body_writer **wp)
{
	free(*wp);
	*wp = NULL;
}

/*
 * Hands [offset, offset + max) of a complete body to the sink. One
 * statement reads the owner's state and the pieces, so both come from one
 * snapshot of the file; the pieces must follow each other without a gap.
 */
static int SB_WUR
store_stream_read(struct store *st, enum store_stream kind, int64_t owner,
                  uint64_t offset, uint64_t max, store_sink_fn *sink, void *ctx,
                  const char **error_r)
{
	uint64_t end, size, want;
	sqlite3_stmt *stmt;
	bool first = true;
	int ret;

	if (offset > INT64_MAX)
		offset = INT64_MAX;
	end = max > INT64_MAX - offset ? INT64_MAX : offset + max;
	if (store_stmt(st, &stmt, error_r, store_stream_sql[kind].read, "iii",
	               owner, (int64_t)offset, (int64_t)end) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret == 0)
		ret = store_fail(st, error_r, "no %s %lld",
		                 store_stream_sql[kind].name, (long long)owner);
	if (ret < 0 || sqlite3_column_int(stmt, 1) == 0) {
		sqlite3_finalize(stmt);
		return ret < 0 ? -1 : 0; /* 0: not (yet) complete */
	}
	size = (uint64_t)sqlite3_column_int64(stmt, 0);
	if (end > size)
		end = size;
	want = offset;
	for (; ret > 0 && want < end; ret = store_step(st, stmt, error_r)) {
		uint64_t pos = (uint64_t)sqlite3_column_int64(stmt, 2);
		const unsigned char *data = sqlite3_column_blob(stmt, 3);
		uint64_t len = (uint64_t)sqlite3_column_bytes(stmt, 3);
		uint64_t to = end - pos < len ? end - pos : len;

		if (sqlite3_column_type(stmt, 2) == SQLITE_NULL)
			break;
		if (data == NULL || pos > want || (!first && pos != want) ||
		    pos + len > size) {
			ret = store_fail(st, error_r,
			                 "the stored body of %s %lld is broken "
			                 "at byte %llu",
			                 store_stream_sql[kind].name,
			                 (long long)owner,
			                 (unsigned long long)want);
			break;
		}
		first = false;
		ret = sink(ctx, data + (want - pos),
		           (size_t)(to - (want - pos)), error_r);
		if (ret < 0)
			break;
		want = pos + to;
		ret = 1;
	}
	sqlite3_finalize(stmt);
	if (ret < 0)
		return -1;
	if (want < end)
		return store_fail(
		        st, error_r,
		        "the stored body of %s %lld ends at byte %llu "
		        "of %llu",
		        store_stream_sql[kind].name, (long long)owner,
		        (unsigned long long)want, (unsigned long long)size);
	return 1;
}

int
store_body_read(struct store *st, int64_t message_id, uint64_t offset,
                uint64_t max, store_sink_fn *sink, void *ctx,
                const char **error_r)
{
	return store_stream_read(st, STORE_STREAM_MESSAGE, message_id, offset,
	                         max, sink, ctx, error_r);
}

int
store_outbox_read(struct store *st, int64_t outbox_id, uint64_t offset,
                  uint64_t max, store_sink_fn *sink, void *ctx,
                  const char **error_r)
{
	return store_stream_read(st, STORE_STREAM_OUTBOX, outbox_id, offset,
	                         max, sink, ctx, error_r);
}

int
store_body_drop(struct store *st, int64_t message_id, const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_run(st, error_r,
	                "UPDATE messages SET body_cached = 0 WHERE id = ?", "i",
	                message_id);
	if (ret == 0 && sqlite3_changes(st->db) == 0)
		ret = store_fail(st, error_r, "no message %lld",
		                 (long long)message_id);
	/* A writer still at work notices at its next piece (or its end). */
	if (ret == 0)
		ret = store_run(st, error_r,
		                store_stream_sql[STORE_STREAM_MESSAGE].drop,
		                "i", message_id);
	return store_tx_end(st, mark, ret, error_r);
}

/* ---- Bodies to download ---- */

/*
 * Both queries name the terms of the partial index messages_bodies_missing
 * (schema version 3) as it has them, so that SQLite may use it: it holds
 * only the messages still to download, in the listing's order.
 */
#define STORE_MISSING_WHERE \
	" WHERE account = ?1 AND body_cached = 0 AND remote_id IS NOT NULL"

static const char store_missing_first[] =
        "SELECT id, received_at FROM messages" STORE_MISSING_WHERE
        " ORDER BY received_at DESC, id DESC LIMIT ?2";
static const char store_missing_next[] =
        "SELECT id, received_at FROM messages" STORE_MISSING_WHERE
        " AND (received_at, id) < (?3, ?4)"
        " ORDER BY received_at DESC, id DESC LIMIT ?2";
/*
 * Left to itself SQLite reads the count through messages_remote (every
 * message of the account with a remote id); the partial index has only
 * those without a body.
 */
static const char store_missing_count[] =
        "SELECT count(*), ifnull(sum(size), 0)"
        " FROM messages INDEXED BY messages_bodies_missing" STORE_MISSING_WHERE;

int
store_bodies_missing(struct store *st, int64_t account_id,
                     struct store_body_cursor *cursor, size_t max,
                     int64_t *ids_r, size_t *count_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int64_t limit = max > INT64_MAX ? INT64_MAX : (int64_t)max;
	size_t n = 0;
	int ret;

	*count_r = 0;
	if (max == 0)
		return 0;
	if (cursor->message_id == 0)
		ret = store_stmt(st, &stmt, error_r, store_missing_first, "ii",
		                 account_id, limit);
	else
		ret = store_stmt(st, &stmt, error_r, store_missing_next, "iiii",
		                 account_id, limit, cursor->received_at,
		                 cursor->message_id);
	if (ret < 0)
		return -1;
	while (n < max && (ret = store_step(st, stmt, error_r)) > 0) {
		ids_r[n++] = sqlite3_column_int64(stmt, 0);
		cursor->message_id = ids_r[n - 1];
		cursor->received_at = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (ret < 0)
		return -1;
	*count_r = n;
	return 0;
}

int
store_bodies_missing_count(struct store *st, int64_t account_id,
                           uint64_t *count_r, uint64_t *bytes_r,
                           const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	*count_r = *bytes_r = 0;
	if (store_stmt(st, &stmt, error_r, store_missing_count, "i",
	               account_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0) {
		*count_r = (uint64_t)sqlite3_column_int64(stmt, 0);
		*bytes_r = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
}
