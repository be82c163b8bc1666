/*
 * Delivery from outside (saltmaild deliver): mail encrypted on arrival to
 * the recipient's key, exactly as a client would, so that nothing is
 * stored in clear. The steps (srv_inbound_*) are shared with saltmaild
 * import, which files many messages per transaction.
 */
#include "server-private.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/net.h"
#include "common/sv.h"
#include "crypto/crypto.h"
#include "crypto/seal.h"

#define SRV_DELIVER_READ 65536

/* Where the encrypted body goes: the blob's temporary file. */
struct srv_deliver_sink {
	int fd;
	uint64_t written;
};

static int SB_WUR
srv_deliver_write(void *ctx, const void *data, size_t len)
{
	struct srv_deliver_sink *sink = ctx;
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(sink->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		sink->written += (uint64_t)n;
	}
	return 0;
}

/* The error text of a failed delivery (this thread's, until the next). */
static _Thread_local char srv_deliver_error[512];

/*
 * Seals the message given by read into the file out (crypto/seal.h: the
 * body stream, and the summary with the header section, unsigned) and the
 * key packet to the account's key. A message past max bytes fails with
 * in->too_large set; the rest of it is left unread.
 */
static int SB_WUR
srv_deliver_encrypt(ssize_t (*read_fn)(void *ctx, void *buf, size_t len),
                    void *ctx, int out, uint64_t max,
                    const unsigned char enc_pk[SB_KEY_BYTES],
                    struct srv_inbound *in, const char **error_r)
{
	struct srv_deliver_sink sink = {out, 0};
	char *buf = sb_secure_alloc(SRV_DELIVER_READ);
	struct sb_sealer *sealer = NULL;
	struct sb_sealed sealed;
	uint64_t total = 0;
	ssize_t n;
	int ret = -1;

	*error_r = "cannot write the encrypted message";
	if (sb_sealer_new(srv_deliver_write, &sink, &sealer) != 0)
		goto out;
	for (;;) {
		n = read_fn(ctx, buf, SRV_DELIVER_READ);
		if (n < 0) {
			*error_r = "cannot read the message";
			goto out;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max) {
			snprintf(srv_deliver_error, sizeof(srv_deliver_error),
			         "the message is larger than %llu bytes",
			         (unsigned long long)max);
			*error_r = srv_deliver_error;
			in->too_large = true;
			goto out;
		}
		if (sb_sealer_write(sealer, buf, (size_t)n) != 0)
			goto out;
	}
	if (sb_sealer_finish(&sealer, NULL, &sealed, error_r) != 0)
		goto out;
	if (fsync(out) != 0) {
		*error_r = "cannot write the encrypted message";
	} else if (sb_buf_add(&in->summary, sealed.summary.data,
	                      sealed.summary.len) != 0) {
		*error_r = "the summary is too large";
	} else if (sb_key_packet_seal(sealed.key, enc_pk, in->packet,
	                              error_r) == 0) {
		in->size = sealed.size;
		in->blob_size = sink.written;
		ret = 0;
	}
	sb_sealed_clear(&sealed);
out:
	sb_sealer_free(&sealer);
	sb_secure_free(&buf);
	return ret;
}

int
srv_inbound_account(sqlite3 *db, const char *email, struct srv_inbound_to *to,
                    const char **error_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT id, enc_pk FROM accounts WHERE email = ?1");
	int rc;

	sqlite3_bind_text(st, 1, email, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 1) == SB_KEY_BYTES) {
		snprintf(to->account_id, sizeof(to->account_id), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		memcpy(to->enc_pk, sqlite3_column_blob(st, 1), SB_KEY_BYTES);
	} else if (rc == SQLITE_DONE) {
		snprintf(srv_deliver_error, sizeof(srv_deliver_error),
		         "no account for %s", email);
		*error_r = srv_deliver_error;
	} else {
		*error_r = "cannot read the account";
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW && to->account_id[0] != '\0' ? 0 : -1;
}

int
srv_inbound_mailbox(sqlite3 *db, const struct srv_inbound_to *to,
                    char id_r[SRV_ID_SIZE], const char **error_r)
{
	int rc;

	rc = to->mailbox != NULL
	             ? srv_mailbox_by_name(db, to->account_id, to->mailbox,
	                                   id_r)
	             : srv_mailbox_by_role(db, to->account_id, "inbox", id_r);
	if (rc <= 0) {
		*error_r = rc < 0 ? "cannot find the mailbox"
		                  : "the account has no such mailbox";
		return -1;
	}
	return 0;
}

/* Inside the transaction: the blob row, the quota and the message. */
static int SB_WUR
srv_deliver_file(sqlite3 *db, const struct srv_inbound_to *to,
                 const struct srv_inbound *in, const char *blob_id,
                 const char **error_r)
{
	struct api_strings mailboxes = {NULL, 0};
	struct srv_new_message m;
	char mailbox[SRV_ID_SIZE], id[SRV_ID_SIZE];
	sqlite3_stmt *st;
	int64_t modseq;
	int rc;

	if (srv_inbound_mailbox(db, to, mailbox, error_r) != 0)
		return -1;
	*error_r = "cannot store the message";
	st = srv_db_prepare(db, "INSERT INTO blobs(id, account_id, size, "
	                        "created_at, transient, refs) VALUES(?1, ?2, "
	                        "?3, ?4, 0, 1)");
	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)in->blob_size);
	sqlite3_bind_int64(st, 4, (int64_t)srv_now());
	if (srv_db_step_done(st) != 0)
		return -1;
	/* Mail from outside is counted, never refused here for quota. */
	st = srv_db_prepare(db, "UPDATE accounts SET quota_used = "
	                        "quota_used + ?2 WHERE id = ?1");
	sqlite3_bind_text(st, 1, to->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)in->blob_size);
	if (srv_db_step_done(st) != 0 ||
	    srv_bump(db, to->account_id, &modseq) != 0)
		return -1;
	api_strings_add(&mailboxes, mailbox);
	memset(&m, 0, sizeof(m));
	m.account_id = to->account_id;
	m.blob_id = blob_id;
	m.size = in->blob_size;
	m.received_at = in->received_at != 0 ? in->received_at : srv_now();
	m.summary = in->summary.data;
	m.summary_len = in->summary.len;
	m.key_packet = in->packet;
	m.mailbox_ids = &mailboxes;
	m.keywords = &in->keywords;
	rc = srv_message_insert(db, &m, modseq, id);
	api_strings_free(&mailboxes);
	return rc;
}

int
srv_inbound_file(sqlite3 *db, const char *blob_dir,
                 const struct srv_inbound_to *to, struct srv_inbound *in,
                 char **path_r, const char **error_r)
{
	char blob_id[SRV_ID_SIZE];

	*path_r = NULL;
	srv_new_id("b", blob_id);
	if (srv_deliver_file(db, to, in, blob_id, error_r) != 0 ||
	    srv_blob_place(blob_dir, blob_id, in->tmp_path, path_r, error_r) !=
	            0)
		return -1;
	free(in->tmp_path);
	in->tmp_path = NULL;
	return 0;
}

void
srv_inbound_init(struct srv_inbound *in)
{
	memset(in, 0, sizeof(*in));
	sb_buf_init(&in->summary, API_MAX_SUMMARY);
}

void
srv_inbound_clear(struct srv_inbound *in)
{
	if (in->tmp_path != NULL)
		unlink(in->tmp_path);
	free(in->tmp_path);
	in->tmp_path = NULL;
	sb_buf_free(&in->summary);
	api_strings_free(&in->keywords);
	in->blob_size = 0;
	in->size = 0;
	in->received_at = 0;
	in->too_large = false;
}

int
srv_inbound_encrypt(const char *blob_dir, const struct srv_inbound_to *to,
                    ssize_t (*read_fn)(void *ctx, void *buf, size_t len),
                    void *ctx, uint64_t max, struct srv_inbound *in,
                    const char **error_r)
{
	size_t len = strlen(blob_dir) + 32;
	int fd, ret = -1;

	in->tmp_path = sb_malloc(len);
	snprintf(in->tmp_path, len, "%s/tmp/dl.XXXXXX", blob_dir);
	fd = mkostemp(in->tmp_path, O_CLOEXEC);
	if (fd < 0) {
		*error_r = "cannot create a file in the data folder";
		free(in->tmp_path);
		in->tmp_path = NULL;
	} else if (srv_deliver_encrypt(read_fn, ctx, fd, max, to->enc_pk, in,
	                               error_r) == 0) {
		ret = 0;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int
srv_inbound_open(const char *data_dir, const char *email, sqlite3 **db_r,
                 char **blob_dir_r, struct srv_inbound_to *to,
                 const char **error_r)
{
	size_t len = strlen(data_dir) + 32;
	char *db_path = sb_malloc(len), *lower = sb_strdup(email);
	size_t i;
	int ret = -1;

	*db_r = NULL;
	*blob_dir_r = NULL;
	memset(to->account_id, 0, sizeof(to->account_id));
	snprintf(db_path, len, "%s/saltmaild.db", data_dir);
	for (i = 0; lower[i] != '\0'; i++) {
		if (lower[i] >= 'A' && lower[i] <= 'Z')
			lower[i] = (char)(lower[i] - 'A' + 'a');
	}
	if (access(db_path, F_OK) != 0) {
		*error_r = "not a saltmaild data folder (run saltmaild init)";
	} else if (!api_is_email(lower, strlen(lower))) {
		*error_r = "that is not an address";
	} else if (srv_db_open(db_path, db_r, error_r) == 0 &&
	           srv_inbound_account(*db_r, lower, to, error_r) == 0) {
		*blob_dir_r = sb_malloc(len);
		snprintf(*blob_dir_r, len, "%s/blobs", data_dir);
		ret = 0;
	}
	if (ret != 0) {
		sqlite3_close(*db_r);
		*db_r = NULL;
	}
	free(lower);
	free(db_path);
	return ret;
}

/* Reads the message from a file descriptor. */
static ssize_t SB_WUR
srv_deliver_read_fd(void *ctx, void *buf, size_t len)
{
	int fd = *(const int *)ctx;
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* Files the encrypted message in one transaction, the file moved last. */
static int SB_WUR
srv_deliver_commit(sqlite3 *db, const char *blob_dir,
                   const struct srv_inbound_to *to, struct srv_inbound *in,
                   const char **error_r)
{
	char *path = NULL;

	if (srv_db_exec(db, "BEGIN IMMEDIATE") != 0) {
		*error_r = "the database is busy";
		return -1;
	}
	if (srv_inbound_file(db, blob_dir, to, in, &path, error_r) == 0) {
		if (srv_db_exec(db, "COMMIT") == 0) {
			free(path);
			return 0;
		}
		*error_r = "cannot commit the delivery";
	}
	if (path != NULL)
		unlink(path);
	free(path);
	(void)!srv_db_exec(db, "ROLLBACK");
	return -1;
}

int
srv_deliver(const char *data_dir, const char *email, const char *mailbox,
            int fd, const char **error_r)
{
	struct srv_inbound_to to;
	struct srv_inbound in;
	struct srv_config defaults;
	char *blob_dir = NULL;
	sqlite3 *db = NULL;
	int ret = -1;

	srv_config_default(&defaults);
	srv_inbound_init(&in);
	to.mailbox = mailbox;
	if (srv_inbound_open(data_dir, email, &db, &blob_dir, &to, error_r) ==
	            0 &&
	    srv_inbound_encrypt(blob_dir, &to, srv_deliver_read_fd, &fd,
	                        defaults.max_blob, &in, error_r) == 0 &&
	    srv_deliver_commit(db, blob_dir, &to, &in, error_r) == 0)
		ret = 0;
	srv_inbound_clear(&in);
	sqlite3_close(db);
	free(blob_dir);
	return ret;
}
