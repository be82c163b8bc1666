/* SEARCH and UID SEARCH (RFC 3501 6.4.4). */
#include "imap-private.h"

void
imap_cmd_search(struct imap_session *s, const struct imap_command *c)
{
	imap_reply(s, "%s NO [CANNOT] SEARCH is not available yet", c->tag);
}
