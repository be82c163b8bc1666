/* Mailboxes and the change feed (to be written). */
#include "server-private.h"

int srv_h_mailboxes_list(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_mailbox_create(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_mailbox_update(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_mailbox_delete(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_h_changes(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_mailbox_by_role(sqlite3 *db, const char *account_id, const char *role, char id_r[SRV_ID_SIZE]) { (void)db; (void)account_id; (void)role; (void)id_r; return -1; }
int srv_mailbox_by_name(sqlite3 *db, const char *account_id, const char *name, char id_r[SRV_ID_SIZE]) { (void)db; (void)account_id; (void)name; (void)id_r; return -1; }
