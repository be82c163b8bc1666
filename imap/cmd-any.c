/* Commands of any state: CAPABILITY, NOOP, LOGOUT, ID (RFC 2971). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "imap-private.h"

void
imap_cmd_capability(struct imap_session *s, const struct imap_command *c)
{
	if (c->arg_count != 0) {
		imap_bad_args(s, c, "CAPABILITY takes no arguments");
		return;
	}
	imap_reply(s, "* CAPABILITY %s", imap_capabilities(s));
	imap_reply(s, "%s OK CAPABILITY completed", c->tag);
}

void
imap_cmd_noop(struct imap_session *s, const struct imap_command *c)
{
	if (c->arg_count != 0) {
		imap_bad_args(s, c, "NOOP takes no arguments");
		return;
	}
	imap_reply(s, "%s OK NOOP completed", c->tag);
}

void
imap_cmd_logout(struct imap_session *s, const struct imap_command *c)
{
	if (c->arg_count != 0) {
		imap_bad_args(s, c, "LOGOUT takes no arguments");
		return;
	}
	imap_reply(s, "* BYE Logging out");
	imap_reply(s, "%s OK LOGOUT completed", c->tag);
	s->state = IMAP_STATE_LOGOUT;
}

/* A field of the client's ID worth a log line: short and printable. */
static bool
imap_id_loggable(struct sb_sv v)
{
	size_t i;

	if (v.p == NULL || v.len == 0 || v.len > 64)
		return false;
	for (i = 0; i < v.len; i++) {
		if ((unsigned char)v.p[i] < 0x20 ||
		    (unsigned char)v.p[i] >= 0x7f || v.p[i] == '"')
			return false;
	}
	return true;
}

void
imap_cmd_id(struct imap_session *s, const struct imap_command *c)
{
	const struct imap_value *v = c->args;
	struct sb_sv field, value, name = {NULL, 0}, version = {NULL, 0};
	const char *error;
	size_t i;

	if (c->arg_count != 1 ||
	    (v->type != IMAP_VALUE_NIL && v->type != IMAP_VALUE_LIST) ||
	    (v->type == IMAP_VALUE_LIST &&
	     (v->count % 2 != 0 || v->count > 60))) {
		imap_bad_args(s, c,
		              "ID takes NIL or a list of field-value pairs");
		return;
	}
	for (i = 0; v->type == IMAP_VALUE_LIST && i < v->count; i += 2) {
		if (imap_value_string(&v->list[i], &field, &error) < 0 ||
		    imap_value_nstring(&v->list[i + 1], &value, &error) < 0) {
			imap_bad_args(s, c, error);
			return;
		}
		if (field.len == 4 && strncasecmp(field.p, "name", 4) == 0)
			name = value;
		else if (field.len == 7 &&
		         strncasecmp(field.p, "version", 7) == 0)
			version = value;
	}
	if (imap_id_loggable(name))
		sb_log_info("imap %lu: client %.*s %.*s", s->id, (int)name.len,
		            name.p,
		            imap_id_loggable(version) ? (int)version.len : 0,
		            imap_id_loggable(version) ? version.p : "");
	imap_reply(s,
	           "* ID (\"name\" \"Saltbridge\" \"vendor\" \"Saltbridge\")");
	imap_reply(s, "%s OK ID completed", c->tag);
}

/* ENABLE (RFC 5161) of CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3). */
void
imap_cmd_enable(struct imap_session *s, const struct imap_command *c)
{
	struct sb_buf enabled;
	struct sb_sv cap;
	const char *error;
	size_t i;

	if (c->arg_count == 0) {
		imap_bad_args(s, c, "ENABLE takes capability names");
		return;
	}
	sb_buf_init(&enabled, SIZE_MAX);
	for (i = 0; i < c->arg_count; i++) {
		if (imap_value_atom(&c->args[i], &cap, &error) < 0) {
			imap_bad_args(s, c, error);
			sb_buf_free(&enabled);
			return;
		}
		if (cap.len == 9 && strncasecmp(cap.p, "CONDSTORE", 9) == 0 &&
		    !s->condstore) {
			s->condstore = true;
			if (sb_buf_add_str(&enabled, " CONDSTORE") < 0)
				abort();
		} else if (cap.len == 7 &&
		           strncasecmp(cap.p, "QRESYNC", 7) == 0 &&
		           !s->qresync) {
			/* QRESYNC brings CONDSTORE with it. */
			s->qresync = s->condstore = true;
			if (sb_buf_add_str(&enabled, " QRESYNC") < 0)
				abort();
		}
	}
	imap_reply(s, "* ENABLED%s", sb_buf_str(&enabled));
	imap_reply(s, "%s OK ENABLE completed", c->tag);
	sb_buf_free(&enabled);
}
