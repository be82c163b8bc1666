/*
 * Blobs (docs/api.md, Blobs): upload, download with one byte range, the
 * sharded files under BLOBDIR, references from messages, the storage
 * quota, and the sweep of blobs nobody used.
 */
#include "server-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/sv.h"

/* An unused blob lives this long; a transient one this long at most. */
#define SRV_BLOB_UNUSED_TTL    (24 * 3600)
#define SRV_BLOB_TRANSIENT_TTL 3600
/* Leftover temporary files older than this are removed. */
#define SRV_BLOB_TMP_TTL (24 * 3600)
/* Blob files without a row older than this are removed. */
#define SRV_BLOB_ORPHAN_TTL 3600
/* Blobs removed per sweep transaction. */
#define SRV_BLOB_SWEEP_BATCH 100

/* The two shard levels of an id: four characters after its prefix. */
static void
srv_blob_shard(const char *blob_id, char shard_r[6])
{
	const char *p = strchr(blob_id, '_');
	size_t len;

	p = p != NULL ? p + 1 : blob_id;
	len = strlen(p);
	if (len < 4) {
		memcpy(shard_r, "00/00", 6);
		return;
	}
	shard_r[0] = p[0];
	shard_r[1] = p[1];
	shard_r[2] = '/';
	shard_r[3] = p[2];
	shard_r[4] = p[3];
	shard_r[5] = '\0';
}

char *
srv_blob_path_in(const char *blob_dir, const char *blob_id)
{
	size_t len = strlen(blob_dir) + strlen(blob_id) + 16;
	char *path = sb_malloc(len);
	char shard[6];

	srv_blob_shard(blob_id, shard);
	snprintf(path, len, "%s/%s/%s", blob_dir, shard, blob_id);
	return path;
}

/* fsyncs a folder so a rename or mkdir in it survives a crash. */
static void
srv_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)!fsync(fd);
	close(fd);
}

/*
 * mkdir that accepts a folder already there; a new one is made durable
 * in its parent.
 */
static int SB_WUR
srv_mkdir_once(const char *path, const char *parent)
{
	if (mkdir(path, 0700) == 0) {
		srv_sync_dir(parent);
		return 0;
	}
	return errno == EEXIST ? 0 : -1;
}

/*
 * Moves a finished temporary file (already fsynced) to the blob's sharded
 * path, making the shard folders on the way. *path_r gets the malloc'd
 * final path.
 */
int
srv_blob_place(const char *blob_dir, const char *blob_id, const char *tmp_path,
               char **path_r, const char **error_r)
{
	size_t len = strlen(blob_dir) + 8;
	char *path = srv_blob_path_in(blob_dir, blob_id);
	char *dir = sb_malloc(len), *top = sb_malloc(len), shard[6];

	/* BLOBDIR/ab, then BLOBDIR/ab/cd. */
	srv_blob_shard(blob_id, shard);
	snprintf(top, len, "%s/%.2s", blob_dir, shard);
	snprintf(dir, len, "%s/%s", blob_dir, shard);
	if (srv_mkdir_once(top, blob_dir) != 0 ||
	    srv_mkdir_once(dir, top) != 0 || rename(tmp_path, path) != 0)
		goto fail;
	srv_sync_dir(dir);
	free(dir);
	free(top);
	*path_r = path;
	return 0;
fail:
	*error_r = strerrordesc_np(errno);
	free(dir);
	free(top);
	free(path);
	return -1;
}

int
srv_quota_add(struct srv_req *req, const char *account_id, uint64_t bytes)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "UPDATE accounts SET quota_used = quota_used + ?2 "
	                 "WHERE id = ?1 AND quota_used + ?2 <= ?3");
	uint64_t limit = req->srv->config.quota;

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)bytes);
	sqlite3_bind_int64(st, 3,
	                   limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
	if (srv_db_step_done(st) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (sqlite3_changes(req->db) != 1)
		return srv_fail(req, API_ERR_OVER_QUOTA,
		                "this would pass the account's quota of %llu "
		                "bytes",
		                (unsigned long long)limit);
	return 0;
}

/* Gives back quota when a blob goes; never below zero. */
static int SB_WUR
srv_quota_release(sqlite3 *db, const char *account_id, int64_t bytes)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "UPDATE accounts SET quota_used = MAX(0, quota_used - ?2) "
	            "WHERE id = ?1");

	sqlite3_bind_text(st, 1, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, bytes);
	return srv_db_step_done(st);
}

int
srv_upload_open(struct srv_req *req)
{
	size_t len = strlen(req->srv->blob_dir) + 32;

	if (req->upload_fd >= 0)
		return 0;
	req->upload_path = sb_malloc(len);
	snprintf(req->upload_path, len, "%s/tmp/up.XXXXXX", req->srv->blob_dir);
	req->upload_fd = mkostemp(req->upload_path, O_CLOEXEC);
	if (req->upload_fd < 0) {
		free(req->upload_path);
		req->upload_path = NULL;
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot store the upload: %s",
		                strerrordesc_np(errno));
	}
	return 0;
}

static int SB_WUR
srv_blob_insert(sqlite3 *db, const char *id, const char *account_id,
                uint64_t size, bool transient)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "INSERT INTO blobs(id, account_id, size, created_at, "
	            "transient, refs) VALUES(?1, ?2, ?3, ?4, ?5, 0)");

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, account_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)size);
	sqlite3_bind_int64(st, 4, (int64_t)srv_now());
	sqlite3_bind_int(st, 5, transient ? 1 : 0);
	return srv_db_step_done(st);
}

/*
 * POST /api/v1/blobs[?transient=true]: the body is already in its
 * temporary file. Counts the quota, records the blob and moves the file to
 * its place, last, so that nothing after it can fail in the handler.
 */
int
srv_h_blob_upload(struct srv_req *req)
{
	const char *flag = srv_query(req, "transient"), *error;
	struct json_object *out;
	char id[SRV_ID_SIZE], *path;
	bool transient = false;

	if (flag != NULL && strcmp(flag, "true") == 0)
		transient = true;
	else if (flag != NULL && strcmp(flag, "false") != 0)
		return srv_fail(req, API_ERR_INVALID_REQUEST,
		                "the query parameter 'transient' must be "
		                "true or false");
	/* An upload with an empty body never made its file: make it now. */
	if (srv_upload_open(req) != 0)
		return -1;
	if (fsync(req->upload_fd) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot store the upload: %s",
		                strerrordesc_np(errno));
	if (srv_quota_add(req, req->account_id, req->upload_size) != 0)
		return -1;
	srv_new_id("b", id);
	if (srv_blob_insert(req->db, id, req->account_id, req->upload_size,
	                    transient) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (srv_blob_place(req->srv->blob_dir, id, req->upload_path, &path,
	                   &error) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot store the blob: %s", error);
	/* In place now: if the transaction rolls back, it must go again. */
	srv_req_unlink_on_rollback(req, path);
	free(req->upload_path);
	req->upload_path = NULL;
	out = json_object_new_object();
	api_json_add_string(out, "blob_id", id);
	api_json_add_u64(out, "size", req->upload_size);
	srv_reply(req, 201, out);
	return 0;
}

/*
 * Takes the digits of a range bound: 1 or more, a value past UINT64_MAX
 * read as UINT64_MAX (it is past any blob either way). Returns 0, or -1
 * when there is no digit.
 */
static int SB_WUR
srv_range_bound(struct sb_sv *cur, uint64_t *value_r)
{
	uint64_t v = 0;
	size_t i = 0;
	unsigned d;

	while (i < cur->len && cur->p[i] >= '0' && cur->p[i] <= '9') {
		d = (unsigned)(cur->p[i] - '0');
		v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
		i++;
	}
	if (i == 0)
		return -1;
	cur->p += i;
	cur->len -= i;
	*value_r = v;
	return 0;
}

/*
 * Parses one "bytes=" range against a blob of size bytes. Returns 1 with
 * the inclusive range (an end past the blob is its last byte), 0 when the
 * header is to be ignored (malformed or several ranges: RFC 9110 lets the
 * whole blob be sent), -1 when the range starts past the blob.
 */
static int SB_WUR
srv_range_parse(const char *header, uint64_t size, uint64_t *first_r,
                uint64_t *last_r)
{
	struct sb_sv cur = sb_sv_cstr(header);
	uint64_t a, b = UINT64_MAX;

	(void)sb_sv_skip_ws(&cur, 16);
	if (!sb_sv_take_prefix_ci(&cur, "bytes="))
		return 0;
	(void)sb_sv_skip_ws(&cur, 16);
	if (sb_sv_take_char(&cur, '-')) {
		/* A suffix: the last b bytes. */
		if (srv_range_bound(&cur, &b) != 0 || sb_sv_trim(cur).len != 0)
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first_r = b >= size ? 0 : size - b;
		*last_r = size - 1;
		return 1;
	}
	if (srv_range_bound(&cur, &a) != 0 || !sb_sv_take_char(&cur, '-'))
		return 0;
	if (cur.len > 0 && cur.p[0] >= '0' && cur.p[0] <= '9' &&
	    srv_range_bound(&cur, &b) != 0)
		return 0;
	if (sb_sv_trim(cur).len != 0 || b < a)
		return 0;
	if (a >= size)
		return -1;
	*first_r = a;
	*last_r = b >= size ? size - 1 : b;
	return 1;
}

/*
 * The size of a blob the account may read: one it uploaded, or one a
 * message of the account uses. 1 found, 0 not, -1 error.
 */
static int SB_WUR
srv_blob_readable(struct srv_req *req, const char *blob_id, uint64_t *size_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db,
	        "SELECT size FROM blobs b WHERE b.id = ?1 AND "
	        "(b.account_id = ?2 OR EXISTS (SELECT 1 FROM messages m "
	        "WHERE m.blob_id = ?1 AND m.account_id = ?2))");
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->account_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*size_r = (uint64_t)sqlite3_column_int64(st, 0);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/* The 416 answer: the JSON error with "Content-Range: bytes * /SIZE". */
static int SB_WUR
srv_range_refuse(struct srv_req *req, uint64_t size)
{
	struct json_object *err;
	const char *text;
	char value[48];
	size_t len;

	err = api_error_to_json(API_ERR_RANGE_NOT_SATISFIABLE,
	                        "the range is outside the blob");
	text = api_json_text(err, &len);
	req->response = MHD_create_response_from_buffer(len, (void *)text,
	                                                MHD_RESPMEM_MUST_COPY);
	json_object_put(err);
	if (req->response == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "out of memory");
	snprintf(value, sizeof(value), "bytes */%llu",
	         (unsigned long long)size);
	MHD_add_response_header(req->response, "Content-Type",
	                        "application/json");
	MHD_add_response_header(req->response, "Content-Range", value);
	req->status = 416;
	return 0;
}

/* The response for [first, first + len) of the blob file, streamed. */
static int SB_WUR
srv_blob_response(struct srv_req *req, const char *blob_id, uint64_t first,
                  uint64_t len)
{
	char *path = srv_blob_path_in(req->srv->blob_dir, blob_id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	if (fd < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR,
		                "cannot read the blob: %s",
		                strerrordesc_np(errno));
	if (len == 0) {
		close(fd);
		req->response = MHD_create_response_from_buffer(
		        0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		/* The response owns fd from here. */
		req->response =
		        MHD_create_response_from_fd_at_offset64(len, fd, first);
		if (req->response == NULL)
			close(fd);
	}
	if (req->response == NULL)
		return srv_fail(req, API_ERR_SERVER_ERROR, "out of memory");
	return 0;
}

/* GET /api/v1/blobs/{id}, with an optional Range of one range. */
int
srv_h_blob_download(struct srv_req *req)
{
	const char *id = req->params[0], *range = srv_header(req, "Range");
	uint64_t size, first = 0, last = 0;
	char value[96];
	int rc;

	rc = srv_blob_readable(req, id, &size);
	if (rc < 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	if (rc == 0)
		return srv_fail(req, API_ERR_NOT_FOUND, "no such blob");
	rc = range != NULL ? srv_range_parse(range, size, &first, &last) : 0;
	if (rc < 0)
		return srv_range_refuse(req, size);
	if (srv_blob_response(req, id, first,
	                      rc > 0 ? last - first + 1 : size) != 0)
		return -1;
	MHD_add_response_header(req->response, "Content-Type",
	                        "application/octet-stream");
	MHD_add_response_header(req->response, "Accept-Ranges", "bytes");
	MHD_add_response_header(req->response, "Cache-Control", "private");
	snprintf(value, sizeof(value), "\"%s\"", id);
	MHD_add_response_header(req->response, "ETag", value);
	req->status = 200;
	if (rc > 0) {
		snprintf(value, sizeof(value), "bytes %llu-%llu/%llu",
		         (unsigned long long)first, (unsigned long long)last,
		         (unsigned long long)size);
		MHD_add_response_header(req->response, "Content-Range", value);
		req->status = 206;
	}
	return 0;
}

int
srv_blob_claim(struct srv_req *req, const char *blob_id, uint64_t *size_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT account_id, size, transient, refs FROM blobs "
	                 "WHERE id = ?1");
	int rc, ret = -1;

	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		ret = srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	} else if (rc == SQLITE_DONE ||
	           strcmp((const char *)sqlite3_column_text(st, 0),
	                  req->account_id) != 0) {
		ret = srv_fail(req, API_ERR_NOT_FOUND, "no such blob: %s",
		               blob_id);
	} else if (sqlite3_column_int(st, 2) != 0) {
		ret = srv_fail(req, API_ERR_INVALID_REQUEST,
		               "blob %s is a transient upload", blob_id);
	} else if (sqlite3_column_int64(st, 3) != 0) {
		ret = srv_fail(req, API_ERR_INVALID_REQUEST,
		               "blob %s is already used", blob_id);
	} else {
		*size_r = (uint64_t)sqlite3_column_int64(st, 1);
		ret = 0;
	}
	sqlite3_finalize(st);
	if (ret != 0)
		return -1;
	if (srv_blob_ref(req->db, blob_id) != 0)
		return srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	return 0;
}

int
srv_blob_ref(sqlite3 *db, const char *blob_id)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "UPDATE blobs SET refs = refs + 1 WHERE id = ?1");

	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return -1;
	return sqlite3_changes(db) == 1 ? 0 : -1;
}

/* Deletes a blob's row and gives its uploader's quota back. */
static int SB_WUR
srv_blob_drop_row(sqlite3 *db, const char *blob_id, const char *account_id,
                  int64_t size)
{
	sqlite3_stmt *st = srv_db_prepare(db, "DELETE FROM blobs WHERE "
	                                      "id = ?1");

	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0)
		return -1;
	return srv_quota_release(db, account_id, size);
}

int
srv_blob_unref(struct srv_req *req, sqlite3 *db, const char *blob_dir,
               const char *blob_id, char **path_r)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "UPDATE blobs SET refs = MAX(0, refs - 1) WHERE id = ?1 "
	            "RETURNING refs, account_id, size");
	char *account = NULL, *path;
	int64_t refs = -1, size = 0;
	int ret;

	if (path_r != NULL)
		*path_r = NULL;
	sqlite3_bind_text(st, 1, blob_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		refs = sqlite3_column_int64(st, 0);
		account = sb_strdup((const char *)sqlite3_column_text(st, 1));
		size = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (account == NULL)
		return -1;
	if (refs > 0) {
		free(account);
		return 0;
	}
	ret = srv_blob_drop_row(db, blob_id, account, size);
	free(account);
	if (ret != 0)
		return -1;
	path = srv_blob_path_in(blob_dir, blob_id);
	if (req != NULL)
		srv_req_unlink_later(req, path);
	else if (path_r != NULL)
		*path_r = path;
	else
		free(path);
	return 0;
}

/* Removes temporary files a crash or a cut upload left behind. */
static void
srv_blob_sweep_tmp(const char *blob_dir, uint64_t now)
{
	size_t len = strlen(blob_dir) + 8;
	char *dir = sb_malloc(len), path[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	snprintf(dir, len, "%s/tmp", blob_dir);
	d = opendir(dir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		    (uint64_t)sb.st_mtime + SRV_BLOB_TMP_TTL < now)
			unlink(path);
	}
	if (d != NULL)
		closedir(d);
	free(dir);
}

/* An expired blob, collected before it is deleted. */
struct srv_expired {
	char id[API_ID_MAX + 1];
	char account_id[API_ACCOUNT_ID_LEN + 1];
	int64_t size;
};

/* Collects up to SRV_BLOB_SWEEP_BATCH expired blobs; returns how many. */
static size_t
srv_blob_expired(sqlite3 *db, uint64_t now, struct srv_expired *out)
{
	sqlite3_stmt *st = srv_db_prepare(
	        db, "SELECT id, account_id, size FROM blobs b WHERE "
	            "(transient = 0 AND refs = 0 AND created_at < ?1) OR "
	            "(transient = 1 AND created_at < ?2 AND NOT EXISTS "
	            "(SELECT 1 FROM relay_queue q WHERE q.blob_id = b.id)) "
	            "LIMIT ?3");
	size_t n = 0;

	sqlite3_bind_int64(st, 1, (int64_t)(now - SRV_BLOB_UNUSED_TTL));
	sqlite3_bind_int64(st, 2, (int64_t)(now - SRV_BLOB_TRANSIENT_TTL));
	sqlite3_bind_int(st, 3, SRV_BLOB_SWEEP_BATCH);
	while (n < SRV_BLOB_SWEEP_BATCH && sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out[n].id, sizeof(out[n].id), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		snprintf(out[n].account_id, sizeof(out[n].account_id), "%s",
		         (const char *)sqlite3_column_text(st, 1));
		out[n].size = sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

/* Deletes one batch of expired blobs; *n_r gets how many. */
static int SB_WUR
srv_blob_sweep_batch(sqlite3 *db, const char *blob_dir, uint64_t now,
                     size_t *n_r)
{
	struct srv_expired *ex;
	size_t n, i;
	int ret = 0;
	char *path;

	*n_r = 0;
	if (srv_db_exec(db, "BEGIN IMMEDIATE") != 0)
		return -1;
	ex = sb_calloc(SRV_BLOB_SWEEP_BATCH, sizeof(*ex));
	n = srv_blob_expired(db, now, ex);
	for (i = 0; i < n && ret == 0; i++)
		ret = srv_blob_drop_row(db, ex[i].id, ex[i].account_id,
		                        ex[i].size);
	if (ret == 0 && srv_db_exec(db, "COMMIT") != 0)
		ret = -1;
	if (ret != 0)
		(void)!srv_db_exec(db, "ROLLBACK");
	for (i = 0; i < n && ret == 0; i++) {
		path = srv_blob_path_in(blob_dir, ex[i].id);
		unlink(path);
		free(path);
	}
	free(ex);
	*n_r = n;
	return ret;
}

/* Whether a blob row exists: 1, 0, or -1 on error. */
static int SB_WUR
srv_blob_row_exists(sqlite3 *db, const char *id)
{
	sqlite3_stmt *st = srv_db_prepare(db, "SELECT 1 FROM blobs WHERE "
	                                      "id = ?1");
	int rc;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Removes the files of one shard folder (BLOBDIR/ab/cd) older than an
 * hour that have no blob row: placed by a change that never committed.
 * The hour leaves alone a file placed by a transaction still running.
 */
static void
srv_blob_sweep_shard(sqlite3 *db, const char *dir, uint64_t now)
{
	char path[4096];
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		            (int)sizeof(path))
			continue;
		if (lstat(path, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    (uint64_t)sb.st_mtime + SRV_BLOB_ORPHAN_TTL >= now)
			continue;
		if (srv_blob_row_exists(db, de->d_name) == 0) {
			sb_log_warn("removing blob file %s: no blob has it",
			            de->d_name);
			unlink(path);
		}
	}
	if (d != NULL)
		closedir(d);
}

/* Whether a folder name is a shard level: two characters, not "tmp". */
static bool
srv_is_shard_name(const char *name)
{
	return strlen(name) == 2 && name[0] != '.';
}

/* Walks BLOBDIR/ab/cd/ for files without a blob row. */
static void
srv_blob_sweep_orphans(sqlite3 *db, const char *blob_dir, uint64_t now)
{
	char top[4096], shard[4096];
	struct dirent *de, *de2;
	DIR *d = opendir(blob_dir), *d2;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (!srv_is_shard_name(de->d_name) ||
		    snprintf(top, sizeof(top), "%s/%s", blob_dir, de->d_name) >=
		            (int)sizeof(top))
			continue;
		d2 = opendir(top);
		while (d2 != NULL && (de2 = readdir(d2)) != NULL) {
			if (srv_is_shard_name(de2->d_name) &&
			    snprintf(shard, sizeof(shard), "%s/%s", top,
			             de2->d_name) < (int)sizeof(shard))
				srv_blob_sweep_shard(db, shard, now);
		}
		if (d2 != NULL)
			closedir(d2);
	}
	if (d != NULL)
		closedir(d);
}

/*
 * Deletes blobs no message used within a day and transient blobs older
 * than an hour that no relay waits for, giving their quota back; old
 * temporary files; and blob files that no row names.
 */
int
srv_blob_sweep(sqlite3 *db, const char *blob_dir, uint64_t now)
{
	size_t n;

	do {
		if (srv_blob_sweep_batch(db, blob_dir, now, &n) != 0)
			return -1;
	} while (n == SRV_BLOB_SWEEP_BATCH);
	srv_blob_sweep_tmp(blob_dir, now);
	srv_blob_sweep_orphans(db, blob_dir, now);
	return 0;
}
