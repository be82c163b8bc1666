/* Messages: list, get, import, update, destroy (to be written). */
#include "server-private.h"

int srv_h_messages_list(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_message_get(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_messages_import(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_messages_update(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_messages_destroy(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_message_insert(sqlite3 *db, const struct srv_new_message *m, int64_t modseq, char id_r[SRV_ID_SIZE]) { (void)db; (void)m; (void)modseq; (void)id_r; return -1; }
