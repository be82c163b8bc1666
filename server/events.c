/* The server-sent events stream (to be written). */
#include "server-private.h"

int srv_h_events(struct srv_req *req) { return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); }
