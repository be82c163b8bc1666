/*
 * QUOTA (RFC 9208): the account's storage on the service is one quota
 * root, "", holding every mailbox; STORAGE is counted in units of 1024
 * bytes. The limit is the service's: SETQUOTA cannot change it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "imap-private.h"

/* Writes "* QUOTA "" (STORAGE used limit)"; false after answering NO. */
static bool
imap_quota_line(struct imap_session *s, const struct imap_command *c)
{
	const struct imap_backend *b = &s->shared->cfg->backend;
	uint64_t used, limit;
	const char *error;

	if (b->quota == NULL ||
	    b->quota(b->ctx, s->account_id, &used, &limit, &error) < 0) {
		if (b->quota != NULL)
			sb_log_info("imap %lu: quota: %s", s->id, error);
		imap_reply(s, "%s NO [UNAVAILABLE] The quota is not known now",
		           c->tag);
		return false;
	}
	/* Round up: a byte used is a unit used. */
	imap_reply(s, "* QUOTA \"\" (STORAGE %llu %llu)",
	           (unsigned long long)((used + 1023) / 1024),
	           (unsigned long long)(limit / 1024));
	return true;
}

void
imap_cmd_getquotaroot(struct imap_session *s, const struct imap_command *c)
{
	struct store_mailbox mb;
	struct sb_buf line;

	if (c->arg_count != 1) {
		imap_bad_args(s, c, "GETQUOTAROOT takes a mailbox name");
		return;
	}
	if (imap_mailbox_arg(s, c, 0, "NONEXISTENT", &mb) == 0)
		return;
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, "* QUOTAROOT ") < 0 ||
	    imap_write_mailbox(mb.path, &line) < 0 ||
	    sb_buf_add_str(&line, " \"\"\r\n") < 0)
		abort();
	imap_reply_raw(s, line.data, line.len);
	sb_buf_free(&line);
	store_mailbox_free_contents(&mb);
	if (imap_quota_line(s, c))
		imap_reply(s, "%s OK GETQUOTAROOT completed", c->tag);
}

void
imap_cmd_getquota(struct imap_session *s, const struct imap_command *c)
{
	struct sb_sv root;
	const char *error;

	if (c->arg_count != 1 ||
	    imap_value_astring(&c->args[0], &root, &error) < 0) {
		imap_bad_args(s, c, "GETQUOTA takes a quota root");
		return;
	}
	if (root.len != 0) {
		imap_reply(s, "%s NO [NONEXISTENT] The only quota root is \"\"",
		           c->tag);
		return;
	}
	if (imap_quota_line(s, c))
		imap_reply(s, "%s OK GETQUOTA completed", c->tag);
}

void
imap_cmd_setquota(struct imap_session *s, const struct imap_command *c)
{
	imap_reply(s, "%s NO [CANNOT] The service sets the quota", c->tag);
}
