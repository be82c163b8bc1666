/*
 * Messages: what the service sent about each one (its ciphertext summary
 * and key packet, keywords), their mailboxes, and the caller-sealed cache.
 */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/buf.h"

#define STORE_MESSAGE_COLUMNS                                        \
	"SELECT id, account, remote_id, blob_id, size, received_at," \
	" summary, key_packet, keywords, body_cached FROM messages "

void
store_message_free_contents(struct store_message *m)
{
	free(m->remote_id);
	free(m->blob_id);
	free(m->summary);
	free(m->key_packet);
	free(m->keywords);
	memset(m, 0, sizeof(*m));
}

/* ---- Keywords ---- */

static bool
store_keyword_char(char c)
{
	return c > ' ' && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static int
store_keyword_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Splits s in place into checked, lower-case words; at most max of them.
 */
static int SB_WUR
store_keywords_split(char *s, char **words, size_t max, size_t *count_r,
                     const char **error_r)
{
	size_t count = 0, len, i;
	char *p = s;

	while (*p != '\0') {
		if (*p == ' ') {
			p++;
			continue;
		}
		for (len = 0; p[len] != ' ' && p[len] != '\0'; len++) {
			if (!store_keyword_char(p[len])) {
				*error_r = "a keyword has a character not "
				           "allowed";
				return -1;
			}
			if (p[len] >= 'A' && p[len] <= 'Z')
				p[len] = (char)(p[len] - 'A' + 'a');
		}
		if (len > STORE_MAX_KEYWORD_LEN) {
			*error_r = "a keyword is too long";
			return -1;
		}
		if (p[len] == ' ')
			p[len++] = '\0';
		/* A word said twice counts once. */
		for (i = 0; i < count; i++) {
			if (strcmp(words[i], p) == 0)
				break;
		}
		if (i == count) {
			if (count == max) {
				*error_r = "too many keywords";
				return -1;
			}
			words[count++] = p;
		}
		p += len;
	}
	*count_r = count;
	return 0;
}

/* Sorts, drops duplicates, joins; fails past STORE_MAX_KEYWORDS. */
static int SB_WUR
store_keywords_join(char **words, size_t count, char **out_r,
                    const char **error_r)
{
	struct sb_buf out;
	size_t i, kept = 0;

	qsort(words, count, sizeof(*words), store_keyword_cmp);
	sb_buf_init(&out, STORE_MAX_KEYWORDS * (STORE_MAX_KEYWORD_LEN + 1));
	for (i = 0; i < count; i++) {
		if (i > 0 && strcmp(words[i], words[i - 1]) == 0)
			continue;
		if (++kept > STORE_MAX_KEYWORDS ||
		    (out.len > 0 && sb_buf_add_char(&out, ' ') < 0) ||
		    sb_buf_add_str(&out, words[i]) < 0) {
			sb_buf_free(&out);
			*error_r = "too many keywords";
			return -1;
		}
	}
	*out_r = sb_buf_take(&out, NULL);
	return 0;
}

int
store_keywords_normalize(const char *in, char **out_r, const char **error_r)
{
	char *words[STORE_MAX_KEYWORDS];
	char *copy = sb_strdup(in != NULL ? in : "");
	size_t count;
	int ret;

	ret = store_keywords_split(copy, words, SB_N_ELEMENTS(words), &count,
	                           error_r);
	if (ret == 0)
		ret = store_keywords_join(words, count, out_r, error_r);
	free(copy);
	return ret;
}

/* current + add - remove, normalised. */
static int SB_WUR
store_keywords_merge(const char *current, const char *add, const char *remove,
                     char **out_r, const char **error_r)
{
	char *words[2 * STORE_MAX_KEYWORDS], *drop[STORE_MAX_KEYWORDS];
	size_t count = 0, ndrop = 0, i, j, kept = 0;
	struct sb_buf all;
	char *rm;
	int ret;

	sb_buf_init(&all, SIZE_MAX);
	if (sb_buf_add_str(&all, current) < 0 ||
	    sb_buf_add_char(&all, ' ') < 0 ||
	    sb_buf_add_str(&all, add != NULL ? add : "") < 0)
		abort(); /* no maximum to pass */
	rm = sb_strdup(remove != NULL ? remove : "");
	ret = store_keywords_split(all.data, words, SB_N_ELEMENTS(words),
	                           &count, error_r);
	if (ret == 0)
		ret = store_keywords_split(rm, drop, SB_N_ELEMENTS(drop),
		                           &ndrop, error_r);
	for (i = 0; ret == 0 && i < count; i++) {
		for (j = 0; j < ndrop; j++) {
			if (strcmp(words[i], drop[j]) == 0)
				break;
		}
		if (j == ndrop)
			words[kept++] = words[i];
	}
	if (ret == 0)
		ret = store_keywords_join(words, kept, out_r, error_r);
	sb_buf_free(&all);
	free(rm);
	return ret;
}

/* ---- Reading ---- */

static void
store_message_read(sqlite3_stmt *stmt, struct store_message *m)
{
	m->id = sqlite3_column_int64(stmt, 0);
	m->account_id = sqlite3_column_int64(stmt, 1);
	m->remote_id = store_col_str(stmt, 2);
	m->blob_id = store_col_str(stmt, 3);
	m->size = (uint64_t)sqlite3_column_int64(stmt, 4);
	m->received_at = sqlite3_column_int64(stmt, 5);
	m->summary = store_col_blob(stmt, 6, &m->summary_len);
	m->key_packet = store_col_blob(stmt, 7, &m->key_packet_len);
	m->keywords = store_col_str(stmt, 8);
	m->body_cached = sqlite3_column_int(stmt, 9) != 0;
}

int
store_message_get(struct store *st, int64_t message_id,
                  struct store_message *m_r, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r, STORE_MESSAGE_COLUMNS "WHERE id = ?",
	               "i", message_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		store_message_read(stmt, m_r);
	sqlite3_finalize(stmt);
	return ret;
}

int
store_message_find_remote(struct store *st, int64_t account_id,
                          const char *remote_id, struct store_message *m_r,
                          const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               STORE_MESSAGE_COLUMNS
	               "WHERE account = ? AND remote_id = ?",
	               "it", account_id, remote_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret > 0)
		store_message_read(stmt, m_r);
	sqlite3_finalize(stmt);
	return ret;
}

/* ---- Changes ---- */

static int SB_WUR
store_message_insert(struct store *st, const struct store_message *m,
                     const int64_t *mailbox_ids, size_t count, int64_t *id_r,
                     const char **error_r)
{
	char *keywords;
	uint32_t uid;
	size_t i;
	int ret;

	if (count == 0)
		return store_fail(st, error_r, "a message is in a mailbox");
	if (store_keywords_normalize(m->keywords, &keywords, error_r) < 0)
		return -1;
	ret = store_run(
	        st, error_r,
	        "INSERT INTO messages(account, remote_id, blob_id, size,"
	        " received_at, summary, key_packet, keywords)"
	        " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
	        "ittiibbt", m->account_id, m->remote_id, m->blob_id,
	        (int64_t)m->size, m->received_at, m->summary, m->summary_len,
	        m->key_packet, m->key_packet_len, keywords);
	free(keywords);
	if (ret < 0) {
		if (sqlite3_errcode(st->db) == SQLITE_CONSTRAINT)
			return store_fail(
			        st, error_r, "the message %s is already there",
			        m->remote_id != NULL ? m->remote_id : "");
		return -1;
	}
	*id_r = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < count; i++) {
		if (store_entry_add(st, mailbox_ids[i], *id_r, &uid, error_r) <
		    0)
			return -1;
	}
	return 0;
}

int
store_message_add(struct store *st, const struct store_message *m,
                  const int64_t *mailbox_ids, size_t count, int64_t *id_r,
                  const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_message_insert(st, m, mailbox_ids, count, id_r, error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_message_set_remote(struct store *st, int64_t message_id,
                         const char *remote_id, const char *blob_id,
                         const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE messages SET remote_id = ?, blob_id = ?"
	              " WHERE id = ?",
	              "tti", remote_id, blob_id, message_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no message %lld",
		                  (long long)message_id);
	return 0;
}

int
store_message_touch(struct store *st, int64_t message_id, const char **error_r)
{
	int64_t *boxes = NULL;
	uint64_t modseq;
	size_t count = 0, i;
	int ret;

	ret = store_ids(
	        st, &boxes, &count, error_r,
	        "SELECT mailbox FROM mailbox_messages WHERE message = ?", "i",
	        message_id);
	for (i = 0; ret == 0 && i < count; i++) {
		ret = store_mailbox_next_modseq(st, boxes[i], &modseq, error_r);
		if (ret == 0)
			ret = store_run(st, error_r,
			                "UPDATE mailbox_messages SET modseq = ?"
			                " WHERE mailbox = ? AND message = ?",
			                "iii", (int64_t)modseq, boxes[i],
			                message_id);
	}
	free(boxes);
	return ret;
}

/* Stores normalised keywords; a change touches the message's entries. */
static int SB_WUR
store_message_put_keywords(struct store *st, int64_t message_id,
                           const char *keywords, const char **error_r)
{
	if (store_run(st, error_r,
	              "UPDATE messages SET keywords = ?1"
	              " WHERE id = ?2 AND keywords != ?1",
	              "ti", keywords, message_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return 0;
	return store_message_touch(st, message_id, error_r);
}

static int SB_WUR
store_message_merge_keywords(struct store *st, int64_t message_id,
                             const char *add, const char *remove,
                             const char **error_r)
{
	struct store_message m;
	char *keywords;
	int ret;

	ret = store_message_get(st, message_id, &m, error_r);
	if (ret == 0)
		return store_fail(st, error_r, "no message %lld",
		                  (long long)message_id);
	if (ret < 0)
		return -1;
	ret = store_keywords_merge(m.keywords, add, remove, &keywords, error_r);
	store_message_free_contents(&m);
	if (ret < 0)
		return -1;
	ret = store_message_put_keywords(st, message_id, keywords, error_r);
	free(keywords);
	return ret;
}

static int SB_WUR
store_message_replace_keywords(struct store *st, int64_t message_id,
                               const char *keywords, const char **error_r)
{
	int64_t found;
	int ret;

	ret = store_int(st, &found, error_r,
	                "SELECT 1 FROM messages WHERE id = ?", "i", message_id);
	if (ret == 0)
		return store_fail(st, error_r, "no message %lld",
		                  (long long)message_id);
	if (ret < 0)
		return -1;
	return store_message_put_keywords(st, message_id, keywords, error_r);
}

int
store_message_set_keywords(struct store *st, int64_t message_id,
                           const char *keywords, const char **error_r)
{
	char *normal;
	size_t mark;
	int ret;

	if (store_keywords_normalize(keywords, &normal, error_r) < 0)
		return -1;
	ret = store_tx_start(st, &mark, error_r);
	if (ret == 0) {
		ret = store_message_replace_keywords(st, message_id, normal,
		                                     error_r);
		ret = store_tx_end(st, mark, ret, error_r);
	}
	free(normal);
	return ret;
}

int
store_message_change_keywords(struct store *st, int64_t message_id,
                              const char *add, const char *remove,
                              const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_message_merge_keywords(st, message_id, add, remove,
	                                   error_r);
	return store_tx_end(st, mark, ret, error_r);
}

static int SB_WUR
store_message_do_set_mailboxes(struct store *st, int64_t message_id,
                               const int64_t *mailbox_ids, size_t count,
                               const char **error_r)
{
	int64_t *uids = NULL, *boxes = NULL;
	size_t n = 0, nb = 0, i, j;
	uint32_t uid;
	int ret;

	/* Add first, so that the message is never in no mailbox. */
	for (i = 0; i < count; i++) {
		if (store_entry_add(st, mailbox_ids[i], message_id, &uid,
		                    error_r) < 0)
			return -1;
	}
	/* All Mail is left to follow (in store_message_drop_orphan). */
	ret = store_ids(st, &boxes, &nb, error_r,
	                "SELECT mailbox FROM mailbox_messages"
	                " WHERE message = ? AND " STORE_NOT_ALL_MAIL
	                " ORDER BY mailbox",
	                "i", message_id);
	if (ret == 0)
		ret = store_ids(st, &uids, &n, error_r,
		                "SELECT uid FROM mailbox_messages"
		                " WHERE message = ? AND " STORE_NOT_ALL_MAIL
		                " ORDER BY mailbox",
		                "i", message_id);
	for (i = 0; ret == 0 && i < nb && i < n; i++) {
		for (j = 0; j < count; j++) {
			if (mailbox_ids[j] == boxes[i])
				break;
		}
		if (j == count)
			ret = store_entry_expunge(st, boxes[i],
			                          (uint32_t)uids[i], error_r);
	}
	free(boxes);
	free(uids);
	if (ret == 0)
		ret = store_message_drop_orphan(st, message_id, error_r);
	return ret;
}

int
store_message_set_mailboxes(struct store *st, int64_t message_id,
                            const int64_t *mailbox_ids, size_t count,
                            const char **error_r)
{
	size_t mark;
	int ret;

	if (store_tx_start(st, &mark, error_r) < 0)
		return -1;
	ret = store_message_do_set_mailboxes(st, message_id, mailbox_ids, count,
	                                     error_r);
	return store_tx_end(st, mark, ret, error_r);
}

int
store_message_delete(struct store *st, int64_t message_id, const char **error_r)
{
	return store_message_set_mailboxes(st, message_id, NULL, 0, error_r);
}

int
store_message_drop_orphan(struct store *st, int64_t message_id,
                          const char **error_r)
{
	if (store_all_mail_follow(st, message_id, error_r) < 0)
		return -1;
	/* Bodies go with it (ON DELETE CASCADE). */
	return store_run(st, error_r,
	                 "DELETE FROM messages WHERE id = ?1 AND NOT EXISTS"
	                 " (SELECT 1 FROM mailbox_messages WHERE message = ?1)",
	                 "i", message_id);
}

/* ---- The cache blob ---- */

int
store_message_cache_get(struct store *st, int64_t message_id,
                        struct sb_buf *out, const char **error_r)
{
	sqlite3_stmt *stmt;
	int ret;

	if (store_stmt(st, &stmt, error_r,
	               "SELECT cache FROM messages WHERE id = ?", "i",
	               message_id) < 0)
		return -1;
	ret = store_step(st, stmt, error_r);
	if (ret == 0) {
		ret = store_fail(st, error_r, "no message %lld",
		                 (long long)message_id);
	} else if (ret > 0) {
		const void *p = sqlite3_column_blob(stmt, 0);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 0);

		ret = 0;
		if (p != NULL && sb_buf_add(out, p, len) < 0)
			ret = store_fail(st, error_r,
			                 "the cache entry is too large");
	}
	sqlite3_finalize(stmt);
	return ret;
}

int
store_message_cache_set(struct store *st, int64_t message_id, const void *data,
                        size_t len, const char **error_r)
{
	if (store_run(st, error_r, "UPDATE messages SET cache = ? WHERE id = ?",
	              "bi", data, len, message_id) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0)
		return store_fail(st, error_r, "no message %lld",
		                  (long long)message_id);
	return 0;
}
