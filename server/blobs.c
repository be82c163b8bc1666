/* Blobs: upload, download, storage, references, quota (to be written). */
#include "server-private.h"

int srv_h_blob_upload(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_blob_download(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
char *srv_blob_path_in(const char *blob_dir, const char *blob_id) { (void)blob_dir; (void)blob_id; return NULL; }
int srv_blob_claim(struct srv_req *req, const char *blob_id, uint64_t *size_r) { (void)blob_id; (void)size_r; return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_blob_ref(sqlite3 *db, const char *blob_id) { (void)db; (void)blob_id; return -1; }
int srv_blob_unref(struct srv_req *req, sqlite3 *db, const char *blob_dir, const char *blob_id, char **path_r) { (void)req; (void)db; (void)blob_dir; (void)blob_id; (void)path_r; return -1; }
int srv_quota_add(struct srv_req *req, const char *account_id, uint64_t bytes) { (void)account_id; (void)bytes; return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
