/*
 * Submissions (docs/api.md, Submissions): one encrypted message filed in
 * each recipient's INBOX, the sender's Sent copy, and the cleartext for
 * other services queued for the smarthost relay (relay.c).
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

#include "common/address.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/mime.h"
#include "common/sv.h"
#include "crypto/crypto.h"

/* The most of a cleartext message read for its header section. */
#define SRV_SUB_MAX_HEADER (256 * 1024)

/* `from` must be the account's own address. */
static int SB_WUR
srv_sub_check_from(struct srv_req *req, const char *from)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT 1 FROM accounts WHERE id = ?1 AND email = ?2");
	int rc;

	sqlite3_bind_text(st, 1, req->account_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	return srv_fail(req, API_ERR_FORBIDDEN,
	                "'from' is not an address of this account");
}

/*
 * Finds the account of every recipient; any without one makes the whole
 * request unknown_recipient, naming them.
 */
static int SB_WUR
srv_sub_resolve(struct srv_req *req, const struct api_submission *s,
                char (*ids)[API_ACCOUNT_ID_LEN + 1])
{
	struct sb_buf names;
	size_t i, unknown = 0;
	int rc;

	sb_buf_init(&names, 200);
	for (i = 0; i < s->n_recipients; i++) {
		rc = srv_account_by_email(req->db, s->recipients[i].email,
		                          ids[i]);
		if (rc < 0) {
			sb_buf_free(&names);
			return srv_fail(req, API_ERR_SERVER_ERROR,
			                "database error");
		}
		if (rc > 0)
			continue;
		/* The buffer frees itself past its maximum: note the cut. */
		if (sb_buf_add_printf(&names, "%s%s", unknown > 0 ? ", " : "",
		                      s->recipients[i].email) != 0)
			(void)!sb_buf_add_str(&names, "...");
		unknown++;
	}
	if (unknown > 0)
		srv_fail(req, API_ERR_UNKNOWN_RECIPIENT,
		         "no account on this service for %s",
		         sb_buf_str(&names));
	sb_buf_free(&names);
	return unknown > 0 ? -1 : 0;
}

/* The external part's blob must be an unused transient upload of ours. */
static int SB_WUR
srv_sub_claim_external(struct srv_req *req, const char *blob_id)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT transient, refs FROM blobs WHERE id = ?1 AND "
	                 "account_id = ?2");
	int rc;

	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0 &&
	    sqlite3_column_int64(st, 1) == 0)
		rc = 0;
	else if (rc == SQLITE_ROW)
		rc = srv_fail(req, API_ERR_INVALID_REQUEST,
		              "blob %s must be an unused transient upload",
		              blob_id);
	else if (rc == SQLITE_DONE)
		rc = srv_fail(req, API_ERR_NOT_FOUND, "no such blob: %s",
		              blob_id);
	else
		rc = srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	sqlite3_finalize(st);
	if (rc != 0)
		return -1;
	return srv_blob_ref(req->db, blob_id) == 0
	               ? 0
	               : srv_fail(req, API_ERR_SERVER_ERROR, "database error");
}

/* Files one message in an account's mailbox with that role. */
static int SB_WUR
srv_sub_file(struct srv_req *req, const char *account_id, const char *role,
             struct srv_new_message *m, char id_r[SRV_ID_SIZE])
{
	struct api_strings mailboxes = {NULL, 0};
	char mailbox[SRV_ID_SIZE];
	int64_t modseq;
	int rc;

	rc = srv_mailbox_by_role(req->db, account_id, role, mailbox);
	if (rc == 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "an account has no %s mailbox", role);
	if (rc < 0 || srv_bump(req->db, account_id, &modseq) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	api_strings_add(&mailboxes, mailbox);
	m->account_id = account_id;
	m->mailbox_ids = &mailboxes;
	rc = srv_message_insert(req->db, m, modseq, id_r);
	api_strings_free(&mailboxes);
	if (rc != 0 && !req->failed)
		srv_fail(req, API_ERR_SERVER_ERROR, "cannot file the message");
	return rc != 0 ? -1 : 0;
}

/*
 * Files the message in every recipient's INBOX, each with its own key
 * packet: one claimed reference to the blob, one more per extra copy.
 */
static int SB_WUR
srv_sub_deliver(struct srv_req *req, const struct api_submission *s,
                char (*ids)[API_ACCOUNT_ID_LEN + 1],
                struct json_object *delivered)
{
	struct api_strings no_keywords = {NULL, 0};
	struct srv_new_message m;
	char id[SRV_ID_SIZE];
	uint64_t size;
	size_t i;

	if (srv_blob_claim(req, s->blob_id, &size) != 0)
		return -1;
	if (s->n_recipients == 0)
		return srv_blob_unref(req, req->db, req->srv->blob_dir,
		                      s->blob_id, NULL) == 0
		               ? 0
		               : srv_fail(req, API_ERR_SERVER_ERROR,
		                          "database error");
	/*
	 * Every copy's summary is charged to the sender, within its quota:
	 * an account cannot fill another's.
	 */
	if (srv_quota_add(req, req->account_id,
	                  (uint64_t)s->summary.len * s->n_recipients) != 0)
		return -1;
	memset(&m, 0, sizeof(m));
	m.blob_id = s->blob_id;
	m.size = size;
	m.received_at = srv_now();
	m.summary = s->summary.data;
	m.summary_len = s->summary.len;
	m.keywords = &no_keywords;
	m.charged_to = req->account_id;
	for (i = 0; i < s->n_recipients; i++) {
		if (i > 0 && srv_blob_ref(req->db, s->blob_id) != 0)
			return srv_fail(req, API_ERR_SERVER_ERROR,
			                "database error");
		m.key_packet = s->recipients[i].key_packet;
		if (srv_sub_file(req, ids[i], "inbox", &m, id) != 0)
			return -1;
		json_object_array_add(
		        delivered,
		        json_object_new_string(s->recipients[i].email));
	}
	return 0;
}

/* Files the sender's own copy in Sent; keywords default to $seen. */
static int SB_WUR
srv_sub_sent_copy(struct srv_req *req, const struct api_submission *s,
                  char id_r[SRV_ID_SIZE])
{
	struct api_strings seen = {NULL, 0};
	struct json_object *part = NULL;
	struct srv_new_message m;
	bool given;
	int rc;

	memset(&m, 0, sizeof(m));
	if (srv_blob_claim(req, s->sent_blob_id, &m.size) != 0 ||
	    srv_quota_add(req, req->account_id, s->sent_summary.len) != 0)
		return -1;
	m.charged_to = req->account_id;
	given = json_object_object_get_ex(req->json, "sent_copy", &part) &&
	        json_object_object_get_ex(part, "keywords", NULL);
	if (!given)
		api_strings_add(&seen, "$seen");
	m.blob_id = s->sent_blob_id;
	m.received_at = srv_now();
	m.summary = s->sent_summary.data;
	m.summary_len = s->sent_summary.len;
	m.key_packet = s->sent_key_packet;
	m.keywords = given ? &s->sent_keywords : &seen;
	rc = srv_sub_file(req, req->account_id, "sent", &m, id_r);
	api_strings_free(&seen);
	return rc;
}

/* The LF ending the header section's empty line, or NULL. */
static const char *
srv_sub_header_end(const struct sb_buf *h)
{
	const char *a, *b;

	if (h->len == 0)
		return NULL;
	a = memmem(h->data, h->len, "\n\r\n", 3);
	b = memmem(h->data, h->len, "\n\n", 2);
	if (a != NULL && (b == NULL || a < b))
		return a + 2;
	return b != NULL ? b + 1 : NULL;
}

/*
 * Reads the header section of a cleartext blob: the bytes up to the first
 * empty line, at most SRV_SUB_MAX_HEADER. 0, or -1 with the error.
 */
static int SB_WUR
srv_sub_read_header(struct srv_req *req, const char *blob_id,
                    struct sb_buf *out)
{
	char *path = srv_blob_path_in(req->srv->blob_dir, blob_id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[8192];
	ssize_t n;

	free(path);
	if (fd < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot read blob %s: %s", blob_id,
		                strerrordesc_np(errno));
	while (out->len < SRV_SUB_MAX_HEADER &&
	       (n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || sb_buf_add(out, chunk, (size_t)n) != 0) {
			close(fd);
			return srv_fail(req, API_ERR_SERVER_ERROR,
			                "cannot read blob %s", blob_id);
		}
		if (srv_sub_header_end(out) != NULL)
			break;
	}
	close(fd);
	return 0;
}

/*
 * Whether a header section has a CR that does not start a CRLF: a
 * smarthost may take it for a line end where this server did not.
 */
static bool
srv_sub_has_bare_cr(const struct sb_buf *h, size_t end)
{
	size_t i;

	for (i = 0; i < end; i++) {
		if (h->data[i] == '\r' &&
		    (i + 1 >= h->len || h->data[i + 1] != '\n'))
			return true;
	}
	return false;
}

/*
 * Whether one From field's value is exactly one well-formed mailbox whose
 * address is from (lower case).
 */
static bool
srv_sub_from_is(struct sb_sv value, const char *from)
{
	struct sb_address_list *list = NULL;
	struct sb_buf unfolded, addr;
	bool ok = false;
	size_t i;

	sb_buf_init(&unfolded, SRV_SUB_MAX_HEADER);
	sb_buf_init(&addr, API_EMAIL_MAX + 8);
	if (mime_unfold(value, &unfolded) != 0)
		goto out;
	list = sb_address_list_parse_new(
	        unfolded.data != NULL ? unfolded.data : "", unfolded.len, 4);
	if (list->count != 1 || list->flags != 0 ||
	    list->addrs[0].type != SB_ADDRESS_MAILBOX ||
	    sb_address_write_addr_spec(&list->addrs[0], &addr) != 0)
		goto out;
	for (i = 0; i < addr.len; i++) {
		if (addr.data[i] >= 'A' && addr.data[i] <= 'Z')
			addr.data[i] = (char)(addr.data[i] - 'A' + 'a');
	}
	ok = strcmp(sb_buf_str(&addr), from) == 0;
out:
	sb_address_list_free(&list);
	sb_buf_free(&unfolded);
	sb_buf_free(&addr);
	return ok;
}

/*
 * The cleartext for other services must be from the submission's `from`:
 * exactly one From field, holding exactly that address, in a header
 * section without bare CRs. Otherwise an account could send mail in
 * another's name through the smarthost.
 */
static int SB_WUR
srv_sub_check_external_from(struct srv_req *req, const char *blob_id,
                            const char *from)
{
	struct mime_header_field f;
	struct mime_header_iter it;
	struct sb_buf h;
	const char *end;
	size_t header_len, n_from = 0;
	bool ok = true;

	sb_buf_init(&h, SRV_SUB_MAX_HEADER + 8192);
	if (srv_sub_read_header(req, blob_id, &h) != 0) {
		sb_buf_free(&h);
		return -1;
	}
	end = srv_sub_header_end(&h);
	header_len = end != NULL ? (size_t)(end - h.data) + 1 : h.len;
	if (srv_sub_has_bare_cr(&h, header_len))
		ok = false;
	mime_header_iter_init(&it, h.data != NULL ? h.data : "", header_len);
	while (ok && mime_header_iter_next(&it, &f) == 1) {
		if (!sb_sv_eq_cstr_ci(f.name, "From"))
			continue;
		n_from++;
		ok = n_from == 1 && srv_sub_from_is(f.value, from);
	}
	sb_buf_free(&h);
	if (ok && n_from == 1)
		return 0;
	return srv_fail(req, API_ERR_INVALID_REQUEST,
	                "the external message must have one From header "
	                "field with the address '%s', and no bare CR in its "
	                "header",
	                from);
}

/* Queues the cleartext for each external recipient. */
static int SB_WUR
srv_sub_queue(struct srv_req *req, const struct api_submission *s,
              struct json_object *list)
{
	sqlite3_stmt *st;
	uint64_t now = srv_now();
	size_t i;

	if (srv_sub_claim_external(req, s->external_blob_id) != 0 ||
	    srv_sub_check_external_from(req, s->external_blob_id, s->from) != 0)
		return -1;
	for (i = 0; i < s->external.count; i++) {
		st = srv_db_prepare(req->db,
		                    "INSERT INTO relay_queue(blob_id, sender, "
		                    "rcpt, next_at, created_at) VALUES(?1, ?2, "
		                    "?3, ?4, ?4)");
		sqlite3_bind_text(st, 1, s->external_blob_id, -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->external.items[i], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)now);
		if (srv_db_step_done(st) != 0)
			return srv_fail(req, API_ERR_SERVER_ERROR,
			                "database error");
		json_object_array_add(
		        list, json_object_new_string(s->external.items[i]));
	}
	return 0;
}

/* Runs the checks and the filing of a decoded submission. */
static int SB_WUR
srv_sub_run(struct srv_req *req, const struct api_submission *s,
            struct json_object *out)
{
	struct json_object *delivered = json_object_new_array();
	struct json_object *relayed = json_object_new_array();
	struct json_object *deferred = json_object_new_array();
	char sent_id[SRV_ID_SIZE] = "";
	char(*ids)[API_ACCOUNT_ID_LEN + 1];
	int rc;

	json_object_object_add(out, "delivered", delivered);
	json_object_object_add(out, "relayed", relayed);
	json_object_object_add(out, "deferred", deferred);
	ids = sb_calloc(s->n_recipients + 1, sizeof(*ids));
	rc = srv_sub_check_from(req, s->from);
	if (rc == 0)
		rc = srv_sub_resolve(req, s, ids);
	if (rc == 0)
		rc = srv_sub_deliver(req, s, ids, delivered);
	free(ids);
	if (rc == 0 && s->has_sent_copy)
		rc = srv_sub_sent_copy(req, s, sent_id);
	/* Without a smarthost the mail waits in the queue: deferred. */
	if (rc == 0 && s->external_blob_id != NULL)
		rc = srv_sub_queue(req, s,
		                   req->srv->config.smarthost != NULL
		                           ? relayed
		                           : deferred);
	api_json_add_string_or_null(out, "sent_message_id",
	                            sent_id[0] != '\0' ? sent_id : NULL);
	return rc;
}

int
srv_h_submission(struct srv_req *req)
{
	struct api_submission s;
	struct json_object *out;
	char id[SRV_ID_SIZE];
	const char *error;

	if (api_submission_decode(req->json, API_STRICT, &s, &error) != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
	out = json_object_new_object();
	srv_new_id("s", id);
	api_json_add_string(out, "submission_id", id);
	if (srv_sub_run(req, &s, out) != 0) {
		json_object_put(out);
		api_submission_free(&s);
		return -1;
	}
	api_submission_free(&s);
	srv_reply(req, 202, out);
	return 0;
}
