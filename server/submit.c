/* Submissions, the smarthost relay and delivery from outside (to be written). */
#include "server-private.h"

int srv_h_submission(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
int srv_deliver(const char *data_dir, const char *email, const char *mailbox, int fd, const char **error_r) { (void)data_dir; (void)email; (void)mailbox; (void)fd; *error_r = "not written"; return -1; }
