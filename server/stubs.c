/* Handlers still to be written (temporary). */
#include "server-private.h"

#define STUB(name)                                                          \
	int name(struct srv_req *req)                                       \
	{                                                                   \
		return srv_fail(req, API_ERR_SERVER_ERROR, "not written"); \
	}

STUB(srv_h_mailboxes_list)
STUB(srv_h_mailbox_create)
STUB(srv_h_mailbox_update)
STUB(srv_h_mailbox_delete)
STUB(srv_h_messages_list)
STUB(srv_h_message_get)
STUB(srv_h_messages_import)
STUB(srv_h_messages_update)
STUB(srv_h_messages_destroy)
STUB(srv_h_blob_upload)
STUB(srv_h_blob_download)
STUB(srv_h_submission)
STUB(srv_h_changes)
STUB(srv_h_events)

int
srv_deliver(const char *data_dir, const char *email, const char *mailbox,
	    int fd, const char **error_r)
{
	(void)data_dir;
	(void)email;
	(void)mailbox;
	(void)fd;
	*error_r = "not written";
	return -1;
}
