/*
 * Applying what the service lists to the replica: mailboxes, messages,
 * the initial sync's pages and the change feed, and the helpers the
 * resync (sync-resync.c) shares with them.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/calls.h"
#include "common/alloc.h"
#include "common/log.h"
#include "sync-private.h"

/* ---- Mailboxes ---- */

int
sync_apply_mailboxes(struct bridge_sync *s, const struct api_mailbox *list,
                     size_t count, const char **error_r)
{
	struct store_mailbox mb;
	const char *error;
	int64_t id;
	bool *done;
	size_t i, left = count;
	bool progress = true;
	int ret;

	done = sb_calloc(count + 1, sizeof(*done));
	/*
	 * Each pass applies those whose parent is known; a list of n needs
	 * at most n passes, and a pass that applies nothing ends it.
	 */
	while (left > 0 && progress) {
		progress = false;
		for (i = 0; i < count; i++) {
			const struct api_mailbox *m = &list[i];

			if (done[i])
				continue;
			if (m->parent_id != NULL) {
				ret = store_mailbox_find_remote(
				        s->st, s->cfg.account_id, m->parent_id,
				        &mb, &error);
				if (ret < 0) {
					free(done);
					*error_r = error;
					return -1;
				}
				if (ret == 0)
					continue;
				store_mailbox_free_contents(&mb);
			}
			if (store_mailbox_upsert_remote(
			            s->st, s->cfg.account_id, m->id, m->name,
			            m->parent_id, m->role, &id, &error) < 0)
				continue;
			done[i] = true;
			left--;
			progress = true;
		}
	}
	if (left > 0)
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": %zu mailboxes refused for"
		       " now (left for the next listing)",
		       s->cfg.account_id, left);
	free(done);
	return 0;
}

int
sync_drop_mailboxes(struct bridge_sync *s, const struct api_mailbox *list,
                    size_t count, size_t *dropped_r, const char **error_r)
{
	struct store_mailbox *local;
	size_t n, i, j;
	int ret = 0;

	*dropped_r = 0;
	if (store_mailbox_list(s->st, s->cfg.account_id, &local, &n, error_r) <
	    0)
		return -1;
	/* Sorted by path: from the end, children come before parents. */
	for (i = n; i-- > 0 && ret == 0;) {
		bool listed = false;

		if (local[i].remote_id == NULL)
			continue;
		for (j = 0; j < count && !listed; j++)
			listed = strcmp(list[j].id, local[i].remote_id) == 0;
		if (listed)
			continue;
		ret = store_mailbox_delete(s->st, local[i].id, error_r);
		if (ret == 0)
			(*dropped_r)++;
	}
	store_mailbox_list_free(&local, n);
	return ret;
}

/* ---- Messages ---- */

static char *
sync_keywords(const struct api_strings *k)
{
	size_t i, len = 1;
	char *s, *p;

	for (i = 0; i < k->count; i++)
		len += strlen(k->items[i]) + 1;
	p = s = sb_malloc(len);
	for (i = 0; i < k->count; i++) {
		size_t l = strlen(k->items[i]);

		if (i > 0)
			*p++ = ' ';
		memcpy(p, k->items[i], l);
		p += l;
	}
	*p = '\0';
	return s;
}

int
sync_apply_message(struct bridge_sync *s, const struct api_message *m,
                   bool *added_r, bool *applied_r, const char **error_r)
{
	struct store_message cur, add;
	struct store_mailbox mb;
	int64_t *ids;
	size_t i, n = 0;
	char *keywords;
	int ret;

	*added_r = false;
	*applied_r = false;
	ids = sb_calloc(m->mailbox_ids.count + 1, sizeof(*ids));
	for (i = 0; i < m->mailbox_ids.count; i++) {
		ret = store_mailbox_find_remote(s->st, s->cfg.account_id,
		                                m->mailbox_ids.items[i], &mb,
		                                error_r);
		if (ret < 0) {
			free(ids);
			return -1;
		}
		if (ret == 0)
			continue;
		ids[n++] = mb.id;
		store_mailbox_free_contents(&mb);
	}
	if (n == 0) {
		/* Its mailbox comes with a later listing or feed batch. */
		free(ids);
		return 0;
	}
	keywords = sync_keywords(&m->keywords);
	ret = store_message_find_remote(s->st, s->cfg.account_id, m->id, &cur,
	                                error_r);
	if (ret > 0) {
		ret = store_message_set_keywords(s->st, cur.id, keywords,
		                                 error_r);
		if (ret == 0)
			ret = store_message_set_mailboxes(s->st, cur.id, ids, n,
			                                  error_r);
		store_message_free_contents(&cur);
	} else if (ret == 0) {
		memset(&add, 0, sizeof(add));
		add.account_id = s->cfg.account_id;
		add.remote_id = m->id;
		add.blob_id = m->blob_id;
		add.size = m->size;
		add.received_at = (int64_t)m->received_at;
		add.summary = m->summary.data;
		add.summary_len = m->summary.len;
		add.key_packet = (void *)m->key_packet;
		add.key_packet_len = sizeof(m->key_packet);
		add.keywords = keywords;
		ret = store_message_add(s->st, &add, ids, n, &add.id, error_r);
		*added_r = ret == 0;
	}
	*applied_r = ret == 0;
	free(keywords);
	free(ids);
	return ret < 0 ? -1 : 0;
}

int
sync_remove_message(struct bridge_sync *s, const char *remote_id,
                    const char **error_r)
{
	struct store_message cur;
	int ret;

	ret = store_message_find_remote(s->st, s->cfg.account_id, remote_id,
	                                &cur, error_r);
	if (ret <= 0)
		return ret;
	ret = store_message_delete(s->st, cur.id, error_r);
	store_message_free_contents(&cur);
	return ret;
}

int
sync_feed_state(struct bridge_sync *s, char **state_r, const char **error_r)
{
	struct store_account a;
	int ret;

	*state_r = NULL;
	ret = store_account_find_api_id(s->st, s->api_id, &a, error_r);
	if (ret < 0)
		return -1;
	if (ret == 0 || a.id != s->cfg.account_id) {
		if (ret > 0)
			store_account_free_contents(&a);
		*error_r = sync_errorf("the account is not in the replica");
		return -1;
	}
	*state_r = a.feed_state;
	a.feed_state = NULL;
	store_account_free_contents(&a);
	return 0;
}

/* ---- The initial sync ---- */

int
sync_get_u64(struct bridge_sync *s, const char *name, uint64_t *value_r,
             const char **error_r)
{
	char *v;
	int ret;

	*value_r = 0;
	ret = store_sync_get(s->st, s->cfg.account_id, name, &v, error_r);
	if (ret <= 0)
		return ret;
	*value_r = strtoull(v, NULL, 10);
	free(v);
	return 0;
}

int
sync_set_u64(struct bridge_sync *s, const char *name, uint64_t value,
             const char **error_r)
{
	char v[24];

	snprintf(v, sizeof(v), "%" PRIu64, value);
	return store_sync_set(s->st, s->cfg.account_id, name, v, error_r);
}

int
sync_end_tx(struct bridge_sync *s, int ret, const char **error_r)
{
	if (ret < 0) {
		store_rollback(s->st);
		return -1;
	}
	return store_commit(s->st, error_r);
}

int
sync_apply_page(struct bridge_sync *s, const struct api_message_page *p,
                bool keep, uint64_t *entries_r, size_t *added_r,
                const char **error_r)
{
	size_t i;
	bool added, applied;

	*entries_r = 0;
	for (i = 0; i < p->count; i++) {
		if (keep && store_resync_keep(s->st, s->cfg.account_id,
		                              p->items[i].id, error_r) < 0)
			return -1;
		if (sync_apply_message(s, &p->items[i], &added, &applied,
		                       error_r) < 0)
			return -1;
		*entries_r += p->items[i].mailbox_ids.count;
		if (added && added_r != NULL)
			(*added_r)++;
	}
	return 0;
}

int
sync_listing_progress(struct bridge_sync *s, const char *unit,
                      const char *done_name, const char *total_name,
                      const char **error_r)
{
	uint64_t done, total;

	if (s->listing.active)
		return 0;
	if (sync_get_u64(s, done_name, &done, error_r) < 0 ||
	    sync_get_u64(s, total_name, &total, error_r) < 0)
		return -1;
	sb_progress_begin(&s->listing, s->label, unit, done, total);
	return 0;
}

bool
sync_cursor_refused(const struct api_reply *r)
{
	return r->error == API_ERR_INVALID_REQUEST;
}

uint64_t
sync_mailboxes_total(const struct api_mailbox_list *l)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < l->count; i++)
		total += l->items[i].total;
	return total;
}

/*
 * The first step: the mailboxes and, from the same answer, the state the
 * change feed starts from. The state predates the listing, so a change
 * made during it comes again from the feed (applied twice: harmless).
 */
static int
sync_initial_begin(struct bridge_sync *s, const char **error_r)
{
	struct api_mailbox_list l;
	struct api_reply r;
	int ret;

	api_reply_init(&r);
	if (api_mailboxes_get(s->cfg.api, &l, &r) < 0) {
		*error_r = sync_api_error("listing mailboxes", &r);
		api_reply_clear(&r);
		return -1;
	}
	api_reply_clear(&r);
	if (store_begin(s->st, error_r) < 0) {
		api_mailbox_list_free(&l);
		return -1;
	}
	ret = sync_apply_mailboxes(s, l.items, l.count, error_r);
	if (ret == 0)
		ret = store_account_set_feed_state(s->st, s->cfg.account_id,
		                                   l.state, error_r);
	if (ret == 0)
		ret = store_sync_unset(s->st, s->cfg.account_id,
		                       SYNC_INITIAL_CURSOR, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_LISTED, 0, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_ENTRIES, 0, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_TOTAL,
		                   sync_mailboxes_total(&l), error_r);
	if (ret == 0)
		ret = store_sync_set(s->st, s->cfg.account_id, SYNC_PHASE,
		                     "initial", error_r);
	if (sync_end_tx(s, ret, error_r) < 0) {
		api_mailbox_list_free(&l);
		return -1;
	}
	sb_log(SB_LOG_INFO,
	       "sync: account %" PRId64 ": %zu mailboxes, listing messages",
	       s->cfg.account_id, l.count);
	api_mailbox_list_free(&l);
	return 0;
}

/* Sums the messages of the account's mailboxes: (message, mailbox) pairs. */
static int
sync_count_entries(struct bridge_sync *s, uint64_t *count_r,
                   const char **error_r)
{
	struct store_mailbox *list;
	struct store_mailbox_status st;
	size_t n, i;
	int ret = 0;

	*count_r = 0;
	if (store_mailbox_list(s->st, s->cfg.account_id, &list, &n, error_r) <
	    0)
		return -1;
	for (i = 0; i < n && ret == 0; i++) {
		/* All Mail is the replica's own: the service lists none. */
		if (list[i].role != NULL &&
		    strcmp(list[i].role, STORE_ROLE_ALL) == 0)
			continue;
		ret = store_mailbox_status(s->st, list[i].id, &st, error_r);
		if (ret == 0)
			*count_r += st.messages;
	}
	store_mailbox_list_free(&list, n);
	return ret;
}

/* Logs the replica's count against what the listing gave. */
static int
sync_initial_check(struct bridge_sync *s, const char **error_r)
{
	uint64_t listed, entries, have;

	if (sync_get_u64(s, SYNC_INITIAL_LISTED, &listed, error_r) < 0 ||
	    sync_get_u64(s, SYNC_INITIAL_ENTRIES, &entries, error_r) < 0 ||
	    sync_count_entries(s, &have, error_r) < 0)
		return -1;
	if (have == entries)
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": initial sync done, %" PRIu64
		       " messages, %" PRIu64 " mailbox entries (as listed)",
		       s->cfg.account_id, listed, entries);
	else
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": initial sync done, %" PRIu64
		       " messages listed, %" PRIu64 " mailbox entries listed"
		       " but %" PRIu64 " in the replica",
		       s->cfg.account_id, listed, entries, have);
	return 0;
}

/*
 * The service refused the saved cursor: the listing starts again from the
 * first page (pages applied again change nothing), under the feed state
 * saved at the start, which still predates it.
 */
static int
sync_initial_restart(struct bridge_sync *s, const char **error_r)
{
	int ret;

	sb_progress_end(&s->listing, "restarted");
	if (store_begin(s->st, error_r) < 0)
		return -1;
	ret = store_sync_unset(s->st, s->cfg.account_id, SYNC_INITIAL_CURSOR,
	                       error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_LISTED, 0, error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_ENTRIES, 0, error_r);
	return sync_end_tx(s, ret, error_r);
}

/*
 * One page of the listing, its cursor and counters in one transaction.
 * *restarted_r: the saved cursor was refused and the listing starts over.
 */
static int
sync_initial_page(struct bridge_sync *s, bool *done_r, bool *restarted_r,
                  const char **error_r)
{
	struct api_message_page p;
	struct api_reply r;
	uint64_t listed = 0, entries = 0, page_entries = 0;
	char *cursor = NULL;
	int ret;

	*restarted_r = false;
	if (store_sync_get(s->st, s->cfg.account_id, SYNC_INITIAL_CURSOR,
	                   &cursor, error_r) < 0)
		return -1;
	if (sync_listing_progress(s, "messages listed", SYNC_INITIAL_ENTRIES,
	                          SYNC_INITIAL_TOTAL, error_r) < 0) {
		free(cursor);
		return -1;
	}
	api_reply_init(&r);
	ret = api_messages_page(s->cfg.api, NULL, BRIDGE_SYNC_PAGE, cursor, &p,
	                        &r);
	if (ret < 0 && cursor != NULL && sync_cursor_refused(&r)) {
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": %s; listing again from the"
		       " first page",
		       s->cfg.account_id,
		       sync_api_error("the saved cursor was refused", &r));
		free(cursor);
		api_reply_clear(&r);
		*restarted_r = true;
		return sync_initial_restart(s, error_r);
	}
	free(cursor);
	if (ret < 0) {
		*error_r = sync_api_error("listing messages", &r);
		api_reply_clear(&r);
		return -1;
	}
	api_reply_clear(&r);
	if (store_begin(s->st, error_r) < 0) {
		api_message_page_free(&p);
		return -1;
	}
	ret = sync_get_u64(s, SYNC_INITIAL_LISTED, &listed, error_r);
	if (ret == 0)
		ret = sync_get_u64(s, SYNC_INITIAL_ENTRIES, &entries, error_r);
	if (ret == 0)
		ret = sync_apply_page(s, &p, false, &page_entries, NULL,
		                      error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_LISTED, listed + p.count,
		                   error_r);
	if (ret == 0)
		ret = sync_set_u64(s, SYNC_INITIAL_ENTRIES,
		                   entries + page_entries, error_r);
	if (ret == 0 && p.next_cursor != NULL)
		ret = store_sync_set(s->st, s->cfg.account_id,
		                     SYNC_INITIAL_CURSOR, p.next_cursor,
		                     error_r);
	if (ret == 0 && p.next_cursor == NULL) {
		ret = store_sync_unset(s->st, s->cfg.account_id,
		                       SYNC_INITIAL_CURSOR, error_r);
		if (ret == 0)
			ret = store_sync_set(s->st, s->cfg.account_id,
			                     SYNC_PHASE, "steady", error_r);
	}
	*done_r = p.next_cursor == NULL;
	api_message_page_free(&p);
	if (sync_end_tx(s, ret, error_r) < 0)
		return -1;
	sb_progress_update(&s->listing, entries + page_entries);
	if (!*done_r)
		return 0;
	/* What was listed is the total: some went meanwhile. */
	sb_progress_set_total(&s->listing, entries + page_entries);
	sb_progress_end(&s->listing, "done");
	return sync_initial_check(s, error_r);
}

int
bridge_sync_initial_done(struct bridge_sync *s, bool *done_r,
                         const char **error_r)
{
	char *phase;
	int ret;

	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_PHASE, &phase,
	                     error_r);
	if (ret < 0)
		return -1;
	*done_r = ret > 0 && strcmp(phase, "steady") == 0;
	if (ret > 0)
		free(phase);
	return 0;
}

/* One step of the initial sync; *restarted_r as sync_initial_page's. */
static int
sync_initial_step(struct bridge_sync *s, bool *done_r, bool *restarted_r,
                  const char **error_r)
{
	char *phase;
	int ret;

	*done_r = false;
	*restarted_r = false;
	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_PHASE, &phase,
	                     error_r);
	if (ret < 0)
		return -1;
	if (ret == 0)
		return sync_initial_begin(s, error_r);
	ret = strcmp(phase, "steady") == 0;
	free(phase);
	if (ret) {
		*done_r = true;
		return 0;
	}
	return sync_initial_page(s, done_r, restarted_r, error_r);
}

int
bridge_sync_initial_step(struct bridge_sync *s, bool *done_r,
                         const char **error_r)
{
	bool restarted;

	return sync_initial_step(s, done_r, &restarted, error_r);
}

int
bridge_sync_initial(struct bridge_sync *s, const char **error_r)
{
	unsigned restarts = 0;
	bool done = false, restarted;

	while (!done) {
		if (sync_stopping(s)) {
			*error_r = sync_errorf("stopped");
			return -1;
		}
		if (sync_initial_step(s, &done, &restarted, error_r) < 0)
			return -1;
		/* A service that refuses the cursors it gives: not forever. */
		if (restarted && ++restarts > 1) {
			*error_r = sync_errorf("the service refused the"
			                       " listing's cursor twice");
			return -1;
		}
	}
	return 0;
}

/* ---- The change feed ---- */

/* What one feed batch brings, fetched before the transaction. */
struct sync_batch {
	struct api_mailbox_list mailboxes; /* when any changed */
	bool have_mailboxes;
	struct api_message *messages; /* created and updated, as they are */
	size_t n_messages;
	struct api_strings gone; /* destroyed, or no longer found */
};

static void
sync_batch_free(struct sync_batch *b)
{
	size_t i;

	if (b->have_mailboxes)
		api_mailbox_list_free(&b->mailboxes);
	for (i = 0; i < b->n_messages; i++)
		api_message_free(&b->messages[i]);
	free(b->messages);
	api_strings_free(&b->gone);
}

static int
sync_fetch_one(struct bridge_sync *s, struct sync_batch *b, const char *id,
               const char **error_r)
{
	struct api_message *m = &b->messages[b->n_messages];
	struct api_reply r;

	api_reply_init(&r);
	if (api_message_get(s->cfg.api, id, m, &r) == 0) {
		b->n_messages++;
	} else if (r.error == API_ERR_NOT_FOUND) {
		if (!api_strings_has(&b->gone, id))
			api_strings_add(&b->gone, id);
	} else {
		*error_r = sync_api_error("fetching a message", &r);
		api_reply_clear(&r);
		return -1;
	}
	api_reply_clear(&r);
	return 0;
}

static int
sync_batch_fetch(struct bridge_sync *s, const struct api_changes *ch,
                 struct sync_batch *b, const char **error_r)
{
	const struct api_change_ids *mb = &ch->mailboxes;
	const struct api_change_ids *msg = &ch->messages;
	struct api_reply r;
	size_t i;

	memset(b, 0, sizeof(*b));
	if (mb->created.count + mb->updated.count + mb->destroyed.count > 0) {
		api_reply_init(&r);
		if (api_mailboxes_get(s->cfg.api, &b->mailboxes, &r) < 0) {
			*error_r = sync_api_error("listing mailboxes", &r);
			api_reply_clear(&r);
			return -1;
		}
		api_reply_clear(&r);
		b->have_mailboxes = true;
	}
	b->messages = sb_calloc(msg->created.count + msg->updated.count + 1,
	                        sizeof(*b->messages));
	for (i = 0; i < msg->created.count; i++) {
		if (sync_fetch_one(s, b, msg->created.items[i], error_r) < 0)
			return -1;
	}
	for (i = 0; i < msg->updated.count; i++) {
		if (sync_fetch_one(s, b, msg->updated.items[i], error_r) < 0)
			return -1;
	}
	for (i = 0; i < msg->destroyed.count; i++) {
		if (!api_strings_has(&b->gone, msg->destroyed.items[i]))
			api_strings_add(&b->gone, msg->destroyed.items[i]);
	}
	return 0;
}

/*
 * Applies a batch and saves new_state in one transaction: mailboxes made
 * or changed first, then messages, then mailboxes gone (their messages
 * moved out first).
 */
static int
sync_batch_apply(struct bridge_sync *s, const struct sync_batch *b,
                 const char *new_state, size_t *created_r, const char **error_r)
{
	size_t i, dropped = 0;
	bool added, applied;
	int ret = 0;

	if (store_begin(s->st, error_r) < 0)
		return -1;
	if (b->have_mailboxes)
		ret = sync_apply_mailboxes(s, b->mailboxes.items,
		                           b->mailboxes.count, error_r);
	for (i = 0; i < b->n_messages && ret == 0; i++) {
		ret = sync_apply_message(s, &b->messages[i], &added, &applied,
		                         error_r);
		if (ret == 0 && added)
			(*created_r)++;
	}
	for (i = 0; i < b->gone.count && ret == 0; i++)
		ret = sync_remove_message(s, b->gone.items[i], error_r);
	if (ret == 0 && b->have_mailboxes)
		ret = sync_drop_mailboxes(s, b->mailboxes.items,
		                          b->mailboxes.count, &dropped,
		                          error_r);
	if (ret == 0)
		ret = store_account_set_feed_state(s->st, s->cfg.account_id,
		                                   new_state, error_r);
	return sync_end_tx(s, ret, error_r);
}

/* Only for people (saltbridge status): a failure is logged, no more. */
static void
sync_note_checked(struct bridge_sync *s)
{
	const char *error;
	char now[24];

	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	if (store_sync_set(s->st, s->cfg.account_id, SYNC_CHECKED_AT, now,
	                   &error) < 0)
		sb_log(SB_LOG_WARN,
		       "sync: account %" PRId64 ": cannot note the time: %s",
		       s->cfg.account_id, error);
}

int
bridge_sync_changes(struct bridge_sync *s, size_t *created_r,
                    const char **error_r)
{
	struct api_changes ch;
	struct sync_batch b;
	struct api_reply r;
	size_t created = 0, updates = 0, gone = 0, added;
	bool more = true, resynced = false;
	char *since;
	int ret;

	if (created_r != NULL)
		*created_r = 0;
	/* A resync stopped half-way ends first: the feed's state is older. */
	ret = store_sync_get(s->st, s->cfg.account_id, SYNC_RESYNC_STATE,
	                     &since, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		free(since);
		if (sync_resync_run(s, &added, error_r) < 0)
			return -1;
		created += added;
		resynced = true;
	}
	while (more) {
		if (sync_feed_state(s, &since, error_r) < 0)
			return -1;
		if (since == NULL) {
			*error_r = sync_errorf("no feed state: initial sync"
			                       " first");
			return -1;
		}
		api_reply_init(&r);
		ret = api_changes_get(s->cfg.api, since,
		                      BRIDGE_SYNC_CHANGES_MAX, &ch, &r);
		free(since);
		if (ret < 0 && r.error == API_ERR_CANNOT_CALCULATE_CHANGES) {
			api_reply_clear(&r);
			/* Once per call: the next call resyncs again. */
			if (resynced) {
				*error_r = sync_errorf(
				        "the feed cannot follow the state a"
				        " resync saved");
				return -1;
			}
			sb_log(SB_LOG_INFO,
			       "sync: account %" PRId64 ": the feed cannot"
			       " follow the saved state, resyncing",
			       s->cfg.account_id);
			if (sync_resync_run(s, &added, error_r) < 0)
				return -1;
			/* Then the changes made during the resync. */
			created += added;
			resynced = true;
			continue;
		}
		if (ret < 0) {
			*error_r =
			        sync_api_error("reading the change feed", &r);
			api_reply_clear(&r);
			return -1;
		}
		api_reply_clear(&r);
		ret = sync_batch_fetch(s, &ch, &b, error_r);
		if (ret == 0)
			ret = sync_batch_apply(s, &b, ch.new_state, &created,
			                       error_r);
		updates += b.n_messages;
		gone += b.gone.count;
		more = ch.has_more;
		sync_batch_free(&b);
		api_changes_free(&ch);
		if (ret < 0)
			return -1;
	}
	if (updates + gone > 0)
		sb_log(SB_LOG_INFO,
		       "sync: account %" PRId64 ": %zu messages added, %zu"
		       " updated, %zu removed",
		       s->cfg.account_id, created, updates - created, gone);
	if (created_r != NULL)
		*created_r = created;
	sync_note_checked(s);
	return 0;
}
