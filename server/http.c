/*
 * saltmaild's HTTP layer on libmicrohttpd: routing, request bodies (JSON in
 * memory, blobs streamed to a file), authentication, idempotency keys, one
 * transaction per write, and JSON answers and errors (docs/api.md).
 */
#include "server-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"

static const struct srv_route srv_routes[] = {
        {"POST", "/api/v1/auth/prelogin", SRV_JSON, srv_h_prelogin, NULL},
        {"POST", "/api/v1/auth/login", SRV_JSON, srv_h_login, NULL},
        {"POST", "/api/v1/auth/refresh", SRV_JSON | SRV_WRITE, srv_h_refresh,
         srv_refresh_replay},
        {"POST", "/api/v1/auth/logout", SRV_AUTH | SRV_WRITE, srv_h_logout,
         NULL},
        {"POST", "/api/v1/signup", SRV_JSON | SRV_WRITE, srv_h_signup, NULL},
        {"GET", "/api/v1/account", SRV_AUTH, srv_h_account, NULL},
        {"PUT", "/api/v1/account/password", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_password, NULL},
        {"GET", "/api/v1/keys", SRV_AUTH, srv_h_keys, NULL},
        {"GET", "/api/v1/mailboxes", SRV_AUTH, srv_h_mailboxes_list, NULL},
        {"POST", "/api/v1/mailboxes", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_mailbox_create, NULL},
        {"PATCH", "/api/v1/mailboxes/{}", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_mailbox_update, NULL},
        {"DELETE", "/api/v1/mailboxes/{}", SRV_AUTH | SRV_WRITE,
         srv_h_mailbox_delete, NULL},
        {"GET", "/api/v1/messages", SRV_AUTH, srv_h_messages_list, NULL},
        {"POST", "/api/v1/messages/import", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_messages_import, NULL},
        {"POST", "/api/v1/messages/update", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_messages_update, NULL},
        {"POST", "/api/v1/messages/destroy", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_messages_destroy, NULL},
        {"GET", "/api/v1/messages/{}", SRV_AUTH, srv_h_message_get, NULL},
        {"POST", "/api/v1/blobs", SRV_AUTH | SRV_UPLOAD | SRV_WRITE,
         srv_h_blob_upload, NULL},
        {"GET", "/api/v1/blobs/{}", SRV_AUTH, srv_h_blob_download, NULL},
        {"POST", "/api/v1/submissions", SRV_AUTH | SRV_JSON | SRV_WRITE,
         srv_h_submission, NULL},
        {"GET", "/api/v1/changes", SRV_AUTH, srv_h_changes, NULL},
        {"GET", "/api/v1/events", SRV_AUTH, srv_h_events, NULL},
};

int
srv_fail(struct srv_req *req, enum api_error_type type, const char *fmt, ...)
{
	va_list ap;

	req->failed = true;
	req->error_type = type;
	va_start(ap, fmt);
	vsnprintf(req->error_message, sizeof(req->error_message), fmt, ap);
	va_end(ap);
	return -1;
}

void
srv_reply(struct srv_req *req, unsigned status, struct json_object *obj)
{
	json_object_put(req->reply);
	req->status = status;
	req->reply = obj;
}

const char *
srv_query(struct srv_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND,
	                                   name);
}

const char *
srv_header(struct srv_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

int
srv_parse_number(const char *s, size_t len, uint64_t max, uint64_t *value_r)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*value_r = v;
	return 0;
}

/*
 * Matches a path against a pattern; each "{}" takes one id into params.
 * Returns true on a match.
 */
static bool
srv_route_match(const char *pattern, const char *path,
                char params[SRV_MAX_PARAMS][API_ID_MAX + 1])
{
	size_t n = 0, len;

	while (*pattern != '\0') {
		if (pattern[0] == '{' && pattern[1] == '}') {
			len = strcspn(path, "/");
			if (n == SRV_MAX_PARAMS || !api_is_id(path, len))
				return false;
			memcpy(params[n], path, len);
			params[n++][len] = '\0';
			path += len;
			pattern += 2;
		} else if (*pattern++ != *path++) {
			return false;
		}
	}
	return *path == '\0';
}

/* Finds the route; *known_path_r tells a wrong method from no route. */
static const struct srv_route *
srv_route_find(struct srv_req *req, const char *method, bool *known_path_r)
{
	size_t i;

	*known_path_r = false;
	for (i = 0; i < SB_N_ELEMENTS(srv_routes); i++) {
		if (!srv_route_match(srv_routes[i].pattern, req->path,
		                     req->params))
			continue;
		*known_path_r = true;
		if (strcmp(srv_routes[i].method, method) == 0)
			return &srv_routes[i];
	}
	return NULL;
}

/* Sends a JSON object with a status; takes obj. */
static enum MHD_Result
srv_send_json(struct MHD_Connection *conn, unsigned status,
              struct json_object *obj, unsigned retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	const char *text;
	size_t len;

	text = api_json_text(obj, &len);
	resp = MHD_create_response_from_buffer(len, (void *)text,
	                                       MHD_RESPMEM_MUST_COPY);
	json_object_put(obj);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (retry_after > 0) {
		char value[16];

		snprintf(value, sizeof(value), "%u", retry_after);
		MHD_add_response_header(resp, "Retry-After", value);
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
srv_send_error(struct srv_req *req)
{
	unsigned status = api_error_status(req->error_type);

	req->responded = true;
	if (req->error_type == API_ERR_SERVER_ERROR)
		sb_log_error("%s %s: %s", req->method, req->path,
		             req->error_message);
	return srv_send_json(
	        req->conn, status,
	        api_error_to_json(req->error_type, req->error_message),
	        req->retry_after);
}

void
srv_req_unlink_later(struct srv_req *req, char *path)
{
	req->unlink_after = sb_reallocarray(req->unlink_after,
	                                    req->n_unlink + 1, sizeof(char *));
	req->unlink_after[req->n_unlink++] = path;
}

void
srv_req_unlink_on_rollback(struct srv_req *req, char *path)
{
	req->unlink_undo = sb_reallocarray(req->unlink_undo, req->n_undo + 1,
	                                   sizeof(char *));
	req->unlink_undo[req->n_undo++] = path;
}

/*
 * Settles the files of a request: once committed, those it let go are
 * unlinked; once rolled back, those it had put in place are.
 */
static void
srv_req_unlink_files(struct srv_req *req, bool committed)
{
	size_t i;

	for (i = 0; i < req->n_unlink; i++) {
		if (committed)
			unlink(req->unlink_after[i]);
		free(req->unlink_after[i]);
	}
	for (i = 0; i < req->n_undo; i++) {
		if (!committed)
			unlink(req->unlink_undo[i]);
		free(req->unlink_undo[i]);
	}
	free(req->unlink_after);
	free(req->unlink_undo);
	req->unlink_after = NULL;
	req->unlink_undo = NULL;
	req->n_unlink = req->n_undo = 0;
}

/* Frees what a request holds; unlinks an upload that was not kept. */
static void
srv_req_free(struct srv_req *req)
{
	srv_req_unlink_files(req, false);
	if (req->upload_fd >= 0)
		close(req->upload_fd);
	if (req->upload_path != NULL) {
		unlink(req->upload_path);
		free(req->upload_path);
	}
	sb_buf_free(&req->body);
	json_object_put(req->json);
	json_object_put(req->reply);
	json_object_put(req->idem_record);
	if (req->response != NULL)
		MHD_destroy_response(req->response);
	free(req->hash_state);
	free(req);
}

void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe);

void
srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
              enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	if (*con_cls != NULL)
		srv_req_free(*con_cls);
	*con_cls = NULL;
}

static void
srv_remote(struct srv_req *req)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	snprintf(req->remote, sizeof(req->remote), "unknown");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		          req->remote, sizeof(req->remote));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		          &((const struct sockaddr_in6 *)sa)->sin6_addr,
		          req->remote, sizeof(req->remote));
}

/* Adds one query parameter to the request's hash. */
static enum MHD_Result
srv_hash_query(void *cls, enum MHD_ValueKind kind, const char *key,
               const char *value)
{
	struct srv_req *req = cls;

	(void)kind;
	crypto_generichash_update(req->hash_state, (const unsigned char *)"?",
	                          1);
	crypto_generichash_update(req->hash_state, (const unsigned char *)key,
	                          strlen(key) + 1);
	if (value != NULL)
		crypto_generichash_update(req->hash_state,
		                          (const unsigned char *)value,
		                          strlen(value) + 1);
	return MHD_YES;
}

/*
 * Checks what can be checked before the body arrives: the route, the
 * token, the Idempotency-Key and the announced size. Returns 0, or -1
 * with the error recorded.
 */
static int SB_WUR
srv_req_start(struct srv_req *req, const char *url, const char *method)
{
	const struct srv_route *route;
	const char *key, *length;
	bool known;

	if (strlen(url) >= sizeof(req->path))
		return srv_fail(req, API_ERR_NOT_FOUND, "no such resource");
	snprintf(req->path, sizeof(req->path), "%s", url);
	route = srv_route_find(req, method, &known);
	if (route == NULL)
		return srv_fail(
		        req,
		        known ? API_ERR_INVALID_REQUEST : API_ERR_NOT_FOUND,
		        known ? "method not allowed here" : "no such resource");
	req->route = route;
	req->db = srv_db(req->srv);
	if (req->db == NULL)
		return srv_fail(req, API_ERR_UNAVAILABLE,
		                "the database is not available");
	if ((route->flags & SRV_AUTH) != 0 && srv_authenticate(req) != 0)
		return -1;
	if ((route->flags & SRV_WRITE) != 0) {
		key = srv_header(req, "Idempotency-Key");
		if (key == NULL || !api_is_id(key, strlen(key)))
			return srv_fail(req, API_ERR_INVALID_REQUEST,
			                "a write needs an Idempotency-Key of "
			                "1 to 64 characters [A-Za-z0-9_-]");
		snprintf(req->idem_key, sizeof(req->idem_key), "%s", key);
	}
	length = srv_header(req, "Content-Length");
	if (length != NULL && (route->flags & SRV_UPLOAD) != 0 &&
	    strtoull(length, NULL, 10) > req->srv->config.max_blob)
		return srv_fail(req, API_ERR_TOO_LARGE,
		                "the blob is larger than %llu bytes",
		                (unsigned long long)req->srv->config.max_blob);
	if (length != NULL && (route->flags & SRV_UPLOAD) == 0 &&
	    strtoull(length, NULL, 10) > API_MAX_JSON_BODY)
		return srv_fail(req, API_ERR_TOO_LARGE,
		                "the body is larger than 1 MiB");
	req->hash_state = sb_malloc(sizeof(crypto_generichash_state));
	crypto_generichash_init(req->hash_state, NULL, 0, 32);
	crypto_generichash_update(req->hash_state,
	                          (const unsigned char *)method,
	                          strlen(method) + 1);
	crypto_generichash_update(req->hash_state, (const unsigned char *)url,
	                          strlen(url) + 1);
	/* The query too: /blobs and /blobs?transient=true differ. */
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND,
	                          srv_hash_query, req);
	return 0;
}

/* Takes a piece of the body: JSON into memory, a blob into its file. */
static void
srv_req_body(struct srv_req *req, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	if (req->failed || req->too_large)
		return;
	crypto_generichash_update(req->hash_state, p, len);
	if ((req->route->flags & SRV_UPLOAD) == 0) {
		if (sb_buf_add(&req->body, data, len) != 0)
			req->too_large = true;
		return;
	}
	if (srv_upload_open(req) != 0)
		return;
	if (len > req->srv->config.max_blob - req->upload_size) {
		req->too_large = true;
		return;
	}
	req->upload_size += len;
	while (len > 0) {
		ssize_t n = write(req->upload_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			(void)srv_fail(req, API_ERR_SERVER_ERROR,
			               "cannot store the upload: %s",
			               strerrordesc_np(errno));
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

/*
 * Looks up the Idempotency-Key. Returns 1 when an answer was replayed
 * (or refused as reused), 0 when the request is new, -1 on error.
 */
static int SB_WUR
srv_idem_replay(struct srv_req *req, const char *scope)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db, "SELECT req_hash, status, body FROM idempotency "
	                 "WHERE scope = ?1 AND key = ?2");
	struct json_object *obj = NULL;
	const char *error;
	unsigned status;
	int rc, ret = 0;

	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->idem_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		status = (unsigned)sqlite3_column_int(st, 1);
		if (sqlite3_column_bytes(st, 0) != 32 ||
		    sodium_memcmp(sqlite3_column_blob(st, 0), req->req_hash,
		                  32) != 0) {
			(void)srv_fail(req, API_ERR_IDEMPOTENCY_KEY_REUSED,
			               "this Idempotency-Key was used for "
			               "another request");
			ret = 1;
		} else if (status == 204) {
			srv_reply(req, 204, NULL);
			ret = 1;
		} else if (api_json_parse(sqlite3_column_blob(st, 2),
		                          (size_t)sqlite3_column_bytes(st, 2),
		                          &obj, &error) == 0 &&
		           (req->route->replay == NULL ||
		            req->route->replay(req, &obj) == 0)) {
			srv_reply(req, status, obj);
			ret = 1;
		} else {
			json_object_put(obj);
			ret = -1;
		}
	} else if (rc != SQLITE_DONE) {
		ret = -1;
	}
	sqlite3_finalize(st);
	return ret;
}

/*
 * Records the answer under the Idempotency-Key: its status and body (a
 * 204 with an empty body), or what the handler chose to keep instead of a
 * body holding a secret (req->idem_record).
 */
static int SB_WUR
srv_idem_store(struct srv_req *req, const char *scope)
{
	sqlite3_stmt *st = srv_db_prepare(
	        req->db,
	        "INSERT INTO idempotency(scope, key, req_hash, status, "
	        "body, created_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	struct json_object *record =
	        req->idem_record != NULL ? req->idem_record : req->reply;
	const char *text = "";
	size_t len = 0;

	if (req->status != 204 && record != NULL)
		text = api_json_text(record, &len);
	sqlite3_bind_text(st, 1, scope, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, req->idem_key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, req->req_hash, 32, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)req->status);
	sqlite3_bind_blob(st, 5, text, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, (int64_t)srv_now());
	return srv_db_step_done(st);
}

/*
 * Runs a write handler in one transaction with its idempotency record, so
 * that a retried request either replays the first answer or runs anew,
 * never half.
 */
static void
srv_run_write(struct srv_req *req)
{
	char scope[96];
	int rc;

	if (req->account_id[0] != '\0')
		snprintf(scope, sizeof(scope), "a:%s", req->account_id);
	else
		snprintf(scope, sizeof(scope), "ip:%s", req->remote);
	if (srv_db_exec(req->db, "BEGIN IMMEDIATE") != 0) {
		srv_fail(req, API_ERR_UNAVAILABLE, "the database is busy");
		return;
	}
	rc = srv_idem_replay(req, scope);
	if (rc == 0)
		rc = req->route->handler(req) != 0 ? -1 : 0;
	if (rc == 0 && req->status >= 200 && req->status < 300 &&
	    (req->reply != NULL || req->status == 204) &&
	    srv_idem_store(req, scope) != 0)
		rc = srv_fail(req, API_ERR_SERVER_ERROR,
		              "cannot record the Idempotency-Key");
	if (rc >= 0 && !req->failed) {
		if (srv_db_exec(req->db, "COMMIT") != 0) {
			srv_fail(req, API_ERR_SERVER_ERROR,
			         "cannot commit the change");
			(void)!srv_db_exec(req->db, "ROLLBACK");
			srv_req_unlink_files(req, false);
			return;
		}
		srv_req_unlink_files(req, true);
		return;
	}
	if (!req->failed)
		srv_fail(req, API_ERR_SERVER_ERROR, "database error");
	/* Some refusals change state too: a reused refresh token. */
	if (req->keep_changes && srv_db_exec(req->db, "COMMIT") == 0) {
		srv_req_unlink_files(req, true);
		return;
	}
	(void)!srv_db_exec(req->db, "ROLLBACK");
	srv_req_unlink_files(req, false);
}

/* The request is whole: parse its body and run its handler. */
static void
srv_req_run(struct srv_req *req)
{
	const char *error;

	crypto_generichash_final(req->hash_state, req->req_hash, 32);
	if (req->too_large) {
		srv_fail(req, API_ERR_TOO_LARGE, "the body is too large");
		return;
	}
	if ((req->route->flags & SRV_JSON) != 0 &&
	    api_json_parse(req->body.data != NULL ? req->body.data : "",
	                   req->body.len, &req->json, &error) != 0) {
		srv_fail(req, API_ERR_INVALID_REQUEST, "%s", error);
		return;
	}
	if ((req->route->flags & SRV_WRITE) != 0)
		srv_run_write(req);
	else
		(void)req->route->handler(req);
}

static enum MHD_Result
srv_respond(struct srv_req *req)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (req->failed)
		return srv_send_error(req);
	req->responded = true;
	if (req->response != NULL) {
		resp = req->response;
		req->response = NULL;
		ret = MHD_queue_response(req->conn, req->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (req->reply == NULL || req->status == 204) {
		resp = MHD_create_response_from_buffer(0, NULL,
		                                       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(req->conn, 204, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	ret = srv_send_json(req->conn, req->status, req->reply, 0);
	req->reply = NULL;
	return ret;
}

/* Writes all of data into the connection's TLS session; -1 if it cannot. */
static int SB_WUR
srv_tls_write_all(struct MHD_Connection *conn, const char *data, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const union MHD_ConnectionInfo *fdi = MHD_get_connection_info(
	        conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	gnutls_session_t session;
	struct pollfd pfd;
	int tries = 0;
	ssize_t n;

	if (ci == NULL || ci->tls_session == NULL || fdi == NULL)
		return -1;
	session = (gnutls_session_t)ci->tls_session;
	pfd.fd = fdi->connect_fd;
	pfd.events = POLLOUT;
	while (len > 0) {
		n = gnutls_record_send(session, data, len);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* A non-blocking socket: wait a little. */
			if (++tries > 20 || poll(&pfd, 1, 100) < 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Answers the error of a request whose body is still arriving (past its
 * limit, or not storable), and ends the connection. libmicrohttpd (0.9.75)
 * queues a response only before the body or once all of it is read, so
 * the answer would otherwise wait for the end of a body of any length: it
 * is written into the TLS session here, and returning MHD_NO closes the
 * connection, so that reading stops at once.
 */
static enum MHD_Result
srv_send_error_now(struct srv_req *req)
{
	unsigned status = api_error_status(req->error_type);
	struct json_object *err;
	struct sb_buf out;
	const char *text, *reason;
	size_t len;

	req->responded = true;
	if (req->error_type == API_ERR_SERVER_ERROR)
		sb_log_error("%s %s: %s", req->method, req->path,
		             req->error_message);
	err = api_error_to_json(req->error_type, req->error_message);
	text = api_json_text(err, &len);
	reason = MHD_get_reason_phrase_for(status);
	sb_buf_init(&out, 4096);
	if (sb_buf_add_printf(&out,
	                      "HTTP/1.1 %u %s\r\n"
	                      "Content-Type: application/json\r\n"
	                      "Cache-Control: no-store\r\n"
	                      "Connection: close\r\n"
	                      "Content-Length: %zu\r\n\r\n%s",
	                      status, reason != NULL ? reason : "Error", len,
	                      text) == 0)
		(void)!srv_tls_write_all(req->conn, out.data, out.len);
	sb_buf_free(&out);
	json_object_put(err);
	return MHD_NO;
}

enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn,
                           const char *url, const char *method,
                           const char *version, const char *upload_data,
                           size_t *upload_data_size, void **con_cls);

enum MHD_Result
srv_access(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
	struct srv_req *req = *con_cls;

	(void)version;
	if (req == NULL) {
		req = sb_calloc(1, sizeof(*req));
		req->srv = cls;
		req->conn = conn;
		req->method = method;
		req->upload_fd = -1;
		sb_buf_init(&req->body, API_MAX_JSON_BODY);
		srv_remote(req);
		*con_cls = req;
		/* A refusal goes out before the body is read. */
		if (srv_req_start(req, url, method) != 0)
			return srv_send_error(req);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		srv_req_body(req, upload_data, *upload_data_size);
		*upload_data_size = 0;
		if (req->too_large && !req->failed)
			(void)srv_fail(req, API_ERR_TOO_LARGE,
			               "the body is too large");
		if (req->failed && !req->responded)
			return srv_send_error_now(req);
		return MHD_YES;
	}
	if (req->responded)
		return MHD_YES;
	if (req->failed)
		return srv_send_error(req);
	srv_req_run(req);
	return srv_respond(req);
}
