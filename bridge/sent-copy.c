/*
 * One Sent copy per message sent (docs/send.md, "The client's Sent
 * copy"). A submission files the sender's copy in Sent; many clients
 * also APPEND their own copy there after sending. The two are told
 * apart by Message-ID, kept only as a hash keyed with the account's own
 * secret (the replica holds no header in clear):
 *
 * - the message still waits in the outbox: the service is told not to
 *   file its copy, and the client's APPEND stands;
 * - the service filed it already: the APPEND is answered with the UID
 *   of that copy once the sync brought it (a few seconds at most), and
 *   nothing is stored twice.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bridge/send.h"
#include "common/alloc.h"
#include "common/log.h"

/* How long an APPEND waits for the service's copy to reach the replica. */
#define BRIDGE_SENT_WAIT_MS 10000
#define BRIDGE_SENT_STEP_MS 200

void
bridge_msgid_hash(const struct bridge_mail_keys *k, const char *msgid,
                  unsigned char hash_r[BRIDGE_MSGID_HASH_BYTES])
{
	unsigned char key[crypto_generichash_KEYBYTES];

	/* A key of its own, so the hash tells nothing of the secret. */
	crypto_generichash(key, sizeof(key),
	                   (const unsigned char *)"saltbridge sent-log", 19,
	                   k->enc_sk, SB_KEY_BYTES);
	crypto_generichash(hash_r, BRIDGE_MSGID_HASH_BYTES,
	                   (const unsigned char *)msgid, strlen(msgid), key,
	                   sizeof(key));
	sodium_memzero(key, sizeof(key));
}

/* The message's UID in Sent once the sync brought it: 1, 0 not yet, -1. */
static int
bridge_sent_uid(struct store *st, int64_t account_id, int64_t sent,
                const char *remote_id, uint32_t *uid_r, const char **error_r)
{
	struct store_message m;
	int64_t *boxes = NULL;
	size_t n = 0, i;
	int ret;

	ret = store_message_find_remote(st, account_id, remote_id, &m, error_r);
	if (ret <= 0)
		return ret;
	ret = store_message_mailboxes(st, m.id, &boxes, &n, error_r);
	for (i = 0; ret == 0 && i < n; i++) {
		if (boxes[i] == sent)
			ret = store_message_uid(st, sent, m.id, uid_r, error_r);
	}
	free(boxes);
	store_message_free_contents(&m);
	return ret;
}

int
bridge_sent_copy_check(const struct bridge_mail_keys *k, struct store *st,
                       int64_t account_id, int64_t mailbox_id,
                       const char *msgid, uint32_t *uid_r, const char **error_r)
{
	unsigned char hash[BRIDGE_MSGID_HASH_BYTES];
	struct store_mailbox mb;
	enum store_sent_state state;
	char *remote = NULL;
	bool sent;
	int ret, waited;

	if (msgid == NULL || msgid[0] == '\0')
		return 0;
	ret = store_mailbox_get(st, mailbox_id, &mb, error_r);
	if (ret <= 0)
		return ret;
	sent = mb.role != NULL && strcmp(mb.role, "sent") == 0;
	store_mailbox_free_contents(&mb);
	if (!sent)
		return 0;
	bridge_msgid_hash(k, msgid, hash);
	if (store_outbox_client_files_sent(st, account_id, hash, sizeof(hash),
	                                   &state, error_r) < 0)
		return -1;
	if (state == STORE_SENT_CLIENT)
		return 0; /* the service will not file its own */
	/*
	 * Filed by the service, or being submitted: wait for its copy's
	 * record, then for the copy itself.
	 */
	for (waited = 0;; waited += BRIDGE_SENT_STEP_MS) {
		ret = remote != NULL ? 1
		                     : store_sent_log_find(st, account_id, hash,
		                                           sizeof(hash),
		                                           &remote, error_r);
		if (ret > 0)
			ret = bridge_sent_uid(st, account_id, mailbox_id,
			                      remote, uid_r, error_r);
		if (ret != 0 || waited >= BRIDGE_SENT_WAIT_MS ||
		    (remote == NULL && state == STORE_SENT_NONE))
			break;
		usleep(BRIDGE_SENT_STEP_MS * 1000);
	}
	if (ret == 0 && remote == NULL && state == STORE_SENT_NONE)
		return 0; /* not sent through the bridge */
	/* A submission that failed meanwhile files no copy of its own. */
	if (ret == 0 && remote == NULL &&
	    store_outbox_client_files_sent(st, account_id, hash, sizeof(hash),
	                                   &state, error_r) < 0)
		ret = -1;
	if (ret == 0)
		sb_log_info("append: the service's Sent copy of a message "
		            "sent has not arrived; the client's is kept too");
	free(remote);
	return ret;
}
