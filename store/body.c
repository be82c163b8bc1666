/*
 * Bodies: message bodies (the service's ciphertext) and outbox bodies,
 * stored as pieces of at most STORE_BODY_CHUNK bytes, each a row keyed by
 * its byte position. Writing appends piece by piece, each committed on its
 * own, so a download can resume at the stored length and no write holds
 * the lock for long; reading hands pieces to a sink. A body is never
 * whole in memory.
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
	const char *exists; /* 1 when the owner may take a body */
	const char *length;
	const char *insert;
	const char *read;
	const char *drop;
};

static const struct store_stream_sql store_stream_sql[] = {
        [STORE_STREAM_MESSAGE] =
                {
                        "SELECT NOT body_cached FROM messages WHERE id = ?",
                        "SELECT pos + length(data) FROM bodies"
                        " WHERE message = ? ORDER BY pos DESC LIMIT 1",
                        "INSERT INTO bodies(message, pos, data)"
                        " VALUES(?, ?, ?)",
                        "SELECT pos, data FROM bodies WHERE message = ?"
                        " AND pos + length(data) > ? AND pos < ?"
                        " ORDER BY pos",
                        "DELETE FROM bodies WHERE message = ?",
                },
        [STORE_STREAM_OUTBOX] =
                {
                        "SELECT state = 0 FROM outbox WHERE id = ?",
                        "SELECT pos + length(data) FROM outbox_bodies"
                        " WHERE outbox = ? ORDER BY pos DESC LIMIT 1",
                        "INSERT INTO outbox_bodies(outbox, pos, data)"
                        " VALUES(?, ?, ?)",
                        "SELECT pos, data FROM outbox_bodies WHERE outbox = ?"
                        " AND pos + length(data) > ? AND pos < ?"
                        " ORDER BY pos",
                        "DELETE FROM outbox_bodies WHERE outbox = ?",
                },
};

struct store_body_writer {
	struct store *st;
	enum store_stream kind;
	int64_t owner;
	uint64_t offset; /* bytes committed */
	size_t len;      /* bytes waiting in chunk */
	unsigned char chunk[STORE_BODY_CHUNK];
};

static int SB_WUR
store_stream_begin(struct store *st, enum store_stream kind, int64_t owner,
                   struct store_body_writer **w_r, const char **error_r)
{
	const struct store_stream_sql *sql = &store_stream_sql[kind];
	struct store_body_writer *w;
	int64_t ok = 0, length = 0;
	int ret;

	ret = store_int(st, &ok, error_r, sql->exists, "i", owner);
	if (ret < 0)
		return -1;
	if (ret == 0 || ok == 0)
		return store_fail(st, error_r,
		                  "no %s %lld waiting for its body",
		                  kind == STORE_STREAM_MESSAGE ? "message"
		                                               : "outbox entry",
		                  (long long)owner);
	if (store_int(st, &length, error_r, sql->length, "i", owner) < 0)
		return -1;
	w = sb_malloc(sizeof(*w));
	w->st = st;
	w->kind = kind;
	w->owner = owner;
	w->offset = (uint64_t)length;
	w->len = 0;
	*w_r = w;
	return 0;
}

int
store_body_write_begin(struct store *st, int64_t message_id,
                       struct store_body_writer **w_r, const char **error_r)
{
	return store_stream_begin(st, STORE_STREAM_MESSAGE, message_id, w_r,
	                          error_r);
}

int
store_outbox_write_begin(struct store *st, int64_t outbox_id,
                         struct store_body_writer **w_r, const char **error_r)
{
	return store_stream_begin(st, STORE_STREAM_OUTBOX, outbox_id, w_r,
	                          error_r);
}

uint64_t
store_body_writer_offset(const struct store_body_writer *w)
{
	return w->offset + w->len;
}

/* Commits the waiting bytes as one piece. */
static int SB_WUR
store_stream_flush(struct store_body_writer *w, const char **error_r)
{
	struct store *st = w->st;
	size_t mark;
	int ret;

	if (w->len == 0)
		return 0;
	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_run(st, error_r, store_stream_sql[w->kind].insert, "iib",
	                w->owner, (int64_t)w->offset, w->chunk, w->len);
	if (store_tx_end(st, mark, ret, error_r) < 0)
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
	size_t n;

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

/* The last step: the length is checked, then the owner is complete. */
static int SB_WUR
store_stream_complete(struct store_body_writer *w, bool *mismatch_r,
                      const char **error_r)
{
	struct store *st = w->st;
	int64_t size = 0;
	int ret;

	if (w->kind == STORE_STREAM_OUTBOX) {
		return store_run(st, error_r,
		                 "UPDATE outbox SET size = ?, state = ?"
		                 " WHERE id = ?",
		                 "iii", (int64_t)w->offset,
		                 (int64_t)STORE_OUTBOX_QUEUED, w->owner);
	}
	ret = store_int(st, &size, error_r,
	                "SELECT size FROM messages WHERE id = ?", "i",
	                w->owner);
	if (ret <= 0)
		return store_fail(st, error_r, "the message is gone");
	if ((uint64_t)size != w->offset) {
		/* Wrong bytes: drop them, so the next try starts afresh. */
		if (store_run(st, error_r, store_stream_sql[w->kind].drop, "i",
		              w->owner) < 0)
			return -1;
		*mismatch_r = true;
		return store_fail(st, error_r,
		                  "the body has %llu bytes, not the %lld "
		                  "announced",
		                  (unsigned long long)w->offset,
		                  (long long)size);
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

	ret = store_stream_flush(w, error_r);
	if (ret == 0 && store_tx_start(st, &mark, error_r) == 0) {
		ret = store_stream_complete(w, &mismatch, error_r);
		if (mismatch) {
			/* Commit the dropping of the wrong bytes. */
			const char *ignored;

			if (store_tx_end(st, mark, 0, &ignored) < 0)
				ret = -1;
			ret = -1;
		} else {
			ret = store_tx_end(st, mark, ret, error_r);
		}
	} else {
		ret = -1;
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

static int SB_WUR
store_stream_read(struct store *st, enum store_stream kind, int64_t owner,
                  uint64_t offset, uint64_t max, store_sink_fn *sink, void *ctx,
                  const char **error_r)
{
	uint64_t end;
	sqlite3_stmt *stmt;
	int ret;

	if (offset >= INT64_MAX)
		return 0; /* past the end of any body */
	end = max > INT64_MAX - offset ? INT64_MAX : offset + max;
	if (store_stmt(st, &stmt, error_r, store_stream_sql[kind].read, "iii",
	               owner, (int64_t)offset, (int64_t)end) < 0)
		return -1;
	while ((ret = store_step(st, stmt, error_r)) > 0) {
		uint64_t pos = (uint64_t)sqlite3_column_int64(stmt, 0);
		const unsigned char *data = sqlite3_column_blob(stmt, 1);
		uint64_t len = (uint64_t)sqlite3_column_bytes(stmt, 1);
		uint64_t from = offset > pos ? offset - pos : 0;
		uint64_t to = end - pos < len ? end - pos : len;

		if (data == NULL || from >= to)
			continue;
		ret = sink(ctx, data + from, (size_t)(to - from), error_r);
		if (ret < 0)
			break;
	}
	sqlite3_finalize(stmt);
	return ret < 0 ? -1 : 0;
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
	                store_stream_sql[STORE_STREAM_MESSAGE].drop, "i",
	                message_id);
	if (ret == 0)
		ret = store_run(
		        st, error_r,
		        "UPDATE messages SET body_cached = 0 WHERE id = ?", "i",
		        message_id);
	return store_tx_end(st, mark, ret, error_r);
}
