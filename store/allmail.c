/*
 * All Mail: a mailbox of the replica's own (role "all", no remote id,
 * never replayed) holding every message of the account that is in some
 * mailbox other than Trash and Junk, as the All Mail of other mail
 * services does. Its entries are real rows, so UIDs, modseqs, expunge
 * records and notifications work there as everywhere; this file keeps
 * them following the other mailboxes (docs/replica.md, "All Mail").
 *
 * Deleting from All Mail, and moving out of it, refile a message: its
 * mailboxes become the one target alone (Trash for a deletion).
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "store-private.h"

/* The roles whose messages are not in All Mail ('all' itself aside). */
#define STORE_ALL_MAIL_OUT "('all', 'trash', 'junk')"

int
store_all_mail_of(struct store *st, int64_t account_id, int64_t *id_r,
                  const char **error_r)
{
	*id_r = 0;
	return store_int(st, id_r, error_r,
	                 "SELECT id FROM mailboxes"
	                 " WHERE account = ? AND role = '" STORE_ROLE_ALL "'",
	                 "i", account_id);
}

int
store_all_mail_is(struct store *st, int64_t mailbox_id, const char **error_r)
{
	int64_t found;

	return store_int(st, &found, error_r,
	                 "SELECT 1 FROM mailboxes"
	                 " WHERE id = ? AND role = '" STORE_ROLE_ALL "'",
	                 "i", mailbox_id);
}

int
store_all_mail_create(struct store *st, int64_t account_id,
                      const char **error_r)
{
	int64_t id;
	int ret;

	ret = store_all_mail_of(st, account_id, &id, error_r);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	return store_mailbox_insert(st, account_id, 0, STORE_ALL_MAIL_NAME,
	                            NULL, STORE_ROLE_ALL, &id, error_r);
}

int
store_all_mail_follow(struct store *st, int64_t message_id,
                      const char **error_r)
{
	int64_t all, uid = 0, want = 0;
	uint32_t given;
	int ret;

	ret = store_int(st, &all, error_r,
	                "SELECT b.id FROM mailboxes b JOIN messages m"
	                " ON b.account = m.account"
	                " WHERE m.id = ? AND b.role = '" STORE_ROLE_ALL "'",
	                "i", message_id);
	if (ret <= 0)
		return ret; /* no message, or an account without All Mail */
	if (store_int(st, &want, error_r,
	              "SELECT EXISTS (SELECT 1 FROM mailbox_messages e"
	              " JOIN mailboxes b ON b.id = e.mailbox"
	              " WHERE e.message = ? AND ifnull(b.role, '') NOT "
	              "IN " STORE_ALL_MAIL_OUT ")",
	              "i", message_id) < 0)
		return -1;
	ret = store_int(st, &uid, error_r,
	                "SELECT uid FROM mailbox_messages"
	                " WHERE mailbox = ? AND message = ?",
	                "ii", all, message_id);
	if (ret < 0)
		return -1;
	if (want != 0 && ret == 0)
		return store_entry_insert(st, all, message_id, &given, error_r);
	if (want == 0 && ret > 0)
		return store_entry_expunge(st, all, (uint32_t)uid, error_r);
	return 0;
}

/* (mailbox, message) pairs, to group removals by mailbox. */
struct store_pair {
	int64_t mailbox, message;
};

static int
store_pair_cmp(const void *a, const void *b)
{
	const struct store_pair *x = a, *y = b;

	if (x->mailbox != y->mailbox)
		return x->mailbox < y->mailbox ? -1 : 1;
	return x->message < y->message ? -1 : x->message > y->message;
}

/*
 * The mailboxes each message is in, other than All Mail and keep, sorted
 * by mailbox.
 */
static int SB_WUR
store_all_mail_pairs(struct store *st, const int64_t *messages, size_t count,
                     int64_t keep, struct store_pair **pairs_r, size_t *n_r,
                     const char **error_r)
{
	struct store_pair *pairs = NULL;
	size_t n = 0, alloc = 0, i, j, nb;
	int64_t *boxes;

	for (i = 0; i < count; i++) {
		if (store_ids(st, &boxes, &nb, error_r,
		              "SELECT e.mailbox FROM mailbox_messages e"
		              " JOIN mailboxes b ON b.id = e.mailbox"
		              " WHERE e.message = ? AND e.mailbox <> ?"
		              " AND ifnull(b.role, '') <> '" STORE_ROLE_ALL "'",
		              "ii", messages[i], keep) < 0) {
			free(pairs);
			return -1;
		}
		for (j = 0; j < nb; j++) {
			if (n == alloc) {
				alloc = alloc * 2 + 16;
				pairs = sb_reallocarray(pairs, alloc,
				                        sizeof(*pairs));
			}
			pairs[n].mailbox = boxes[j];
			pairs[n++].message = messages[i];
		}
		free(boxes);
	}
	if (n > 0)
		qsort(pairs, n, sizeof(*pairs), store_pair_cmp);
	*pairs_r = pairs;
	*n_r = n;
	return 0;
}

/* A message still in All Mail after a refile is given a new UID there. */
static int SB_WUR
store_all_mail_renumber(struct store *st, int64_t all, int64_t message_id,
                        const char **error_r)
{
	int64_t uid;
	int ret;

	ret = store_int(st, &uid, error_r,
	                "SELECT uid FROM mailbox_messages"
	                " WHERE mailbox = ? AND message = ?",
	                "ii", all, message_id);
	if (ret <= 0)
		return ret;
	if (store_entry_expunge(st, all, (uint32_t)uid, error_r) < 0)
		return -1;
	return store_all_mail_follow(st, message_id, error_r);
}

int
store_all_mail_refile(struct store *st, int64_t all, const int64_t *messages,
                      size_t count, int64_t target, int64_t now,
                      uint32_t *uids_r, const char **error_r)
{
	struct store_patch p;
	struct store_pair *pairs;
	int64_t *group;
	size_t n, i, j;
	int ret;

	if (count == 0)
		return 0;
	if (target == 0)
		return store_local_do_destroy(st, messages, count, now,
		                              error_r);
	/* The target first, so that no message is ever in no mailbox. */
	memset(&p, 0, sizeof(p));
	p.add_mailbox = target;
	if (store_local_do_update(st, messages, count, &p, now, uids_r,
	                          error_r) < 0)
		return -1;
	if (store_all_mail_pairs(st, messages, count, target, &pairs, &n,
	                         error_r) < 0)
		return -1;
	/* One op per mailbox left, for the messages that leave it. */
	group = sb_calloc(count, sizeof(*group));
	ret = 0;
	for (i = 0; i < n && ret == 0; i = j) {
		size_t k = 0;

		for (j = i; j < n && pairs[j].mailbox == pairs[i].mailbox; j++)
			group[k++] = pairs[j].message;
		memset(&p, 0, sizeof(p));
		p.remove_mailbox = pairs[i].mailbox;
		ret = store_local_do_update(st, group, k, &p, now, NULL,
		                            error_r);
	}
	free(group);
	free(pairs);
	for (i = 0; i < count && ret == 0; i++)
		ret = store_all_mail_renumber(st, all, messages[i], error_r);
	return ret;
}
