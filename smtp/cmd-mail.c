/*
 * A mail transaction: MAIL FROM (one of the account's addresses), RCPT TO
 * (up to the limit), DATA (the message streamed into the backend, 250
 * only once data_finish made it durable).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "common/log.h"
#include "smtp-private.h"

bool
smtp_check_mail(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	if (s->state == SMTP_STATE_CONNECTED) {
		smtp_reply(s, 503, "5.5.1", "Send EHLO first");
		return false;
	}
	if (!s->authenticated) {
		smtp_reply(s, 530, "5.7.0", "Authentication required");
		return false;
	}
	if (s->state != SMTP_STATE_HELO) {
		smtp_reply(s, 503, "5.5.1", "Nested MAIL command");
		return false;
	}
	return true;
}

/* The backend's verdict on the sender; false after answering. */
static bool
smtp_sender_allowed(struct smtp_session *s, const struct smtp_path *path)
{
	const struct smtp_backend *b = &s->cfg->backend;
	const char *error = NULL;
	int ret;

	if (path->null) {
		smtp_reply(s, 550, "5.7.1",
		           "The null sender <> is not one of this account's "
		           "addresses: send as <%s>",
		           s->user);
		return false;
	}
	ret = b->sender_ok(b->ctx, s->account, path->addr, &error);
	if (ret < 0) {
		sb_log_warn("smtp %lu: cannot check a sender: %s", s->id,
		            smtp_backend_error(error));
		smtp_reply(s, 451, "4.3.0", "Cannot check the sender now: %s",
		           smtp_backend_error(error));
		return false;
	}
	if (ret == 0) {
		smtp_reply(
		        s, 550, "5.7.1",
		        "Sender <%s> is not one of this account's addresses: "
		        "send as <%s>",
		        path->addr, s->user);
		return false;
	}
	return true;
}

void
smtp_proceed_mail(struct smtp_session *s, struct sb_sv args)
{
	const struct smtp_error *e;
	struct smtp_mail_params params;
	struct smtp_path path;

	if (smtp_parse_mail(args, &path, &params, &e) < 0) {
		smtp_reply_error(s, e);
		return;
	}
	if (params.has_size && params.size > s->cfg->size_max) {
		smtp_reply(s, 552, "5.3.4",
		           "Message too large: at most %" PRIu64 " bytes",
		           s->cfg->size_max);
		return;
	}
	if (path.utf8 && !params.smtputf8) {
		smtp_reply(s, 553, "5.6.7",
		           "A non-ASCII address needs the SMTPUTF8 parameter");
		return;
	}
	if (!smtp_sender_allowed(s, &path))
		return;
	s->sender = sb_strdup(path.addr);
	s->smtputf8 = params.smtputf8;
	smtp_session_set_state(s, SMTP_STATE_MAIL);
	smtp_reply(s, 250, "2.1.0", "Ok");
}

bool
smtp_check_rcpt(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	if (s->state != SMTP_STATE_MAIL && s->state != SMTP_STATE_RCPT) {
		smtp_reply(s, 503, "5.5.1", "Need MAIL before RCPT");
		return false;
	}
	return true;
}

/* The same recipient twice is one (domains are not case-sensitive). */
static bool
smtp_has_recipient(const struct smtp_session *s, const char *addr)
{
	size_t i;

	for (i = 0; i < s->n_recipients; i++) {
		if (strcasecmp(s->recipients[i], addr) == 0)
			return true;
	}
	return false;
}

void
smtp_proceed_rcpt(struct smtp_session *s, struct sb_sv args)
{
	const struct smtp_error *e;
	struct smtp_path path;

	if (smtp_parse_rcpt(args, &path, &e) < 0) {
		smtp_reply_error(s, e);
		return;
	}
	if (path.utf8 && !s->smtputf8) {
		smtp_reply(s, 553, "5.6.7",
		           "A non-ASCII address needs SMTPUTF8 in MAIL FROM");
		return;
	}
	if (smtp_has_recipient(s, path.addr)) {
		smtp_reply(s, 250, "2.1.5", "Ok");
		return;
	}
	if (s->n_recipients >= s->cfg->recipients_max) {
		smtp_reply(s, 452, "4.5.3",
		           "Too many recipients: at most %u per message",
		           s->cfg->recipients_max);
		return;
	}
	if (s->n_recipients == s->recipients_alloc) {
		s->recipients_alloc =
		        s->recipients_alloc == 0 ? 8 : 2 * s->recipients_alloc;
		s->recipients =
		        sb_reallocarray(s->recipients, s->recipients_alloc,
		                        sizeof(*s->recipients));
	}
	s->recipients[s->n_recipients++] = sb_strdup(path.addr);
	smtp_session_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, 250, "2.1.5", "Ok");
}

bool
smtp_check_data(struct smtp_session *s, struct sb_sv args)
{
	if (s->state != SMTP_STATE_RCPT) {
		smtp_reply(s, 503, "5.5.1", "%s",
		           s->state == SMTP_STATE_MAIL ? "Need RCPT before DATA"
		                                       : "Need MAIL before "
		                                         "DATA");
		return false;
	}
	if (args.len > 0) {
		smtp_reply(s, 501, "5.5.4", "DATA takes no arguments");
		return false;
	}
	return true;
}

/* The backend takes the message before the client may send it. */
void
smtp_proceed_data(struct smtp_session *s, struct sb_sv args)
{
	const struct smtp_backend *b = &s->cfg->backend;
	const char *error = NULL;

	(void)args;
	if (b->data_begin(b->ctx, s->st, s->account, s->sender,
	                  (const char *const *)s->recipients, s->n_recipients,
	                  &s->data, &error) < 0) {
		s->data = NULL;
		sb_log_warn("smtp %lu: cannot take a message: %s", s->id,
		            smtp_backend_error(error));
		smtp_reply(s, 451, "4.3.0", "%s", smtp_backend_error(error));
		return;
	}
	smtp_data_init(&s->reader, SMTP_DATA_LINE_MAX);
	s->failure = SMTP_DATA_OK;
	s->data_error[0] = '\0';
	smtp_session_set_state(s, SMTP_STATE_BODY);
	smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

/*
 * The message cannot be taken: the backend drops it now, and the rest
 * up to the final dot is read and thrown away.
 */
static void
smtp_data_fail(struct smtp_session *s, enum smtp_data_failure why,
               const char *error)
{
	const struct smtp_backend *b = &s->cfg->backend;

	s->failure = why;
	if (error != NULL)
		snprintf(s->data_error, sizeof(s->data_error), "%s", error);
	b->data_abort(s->data);
	s->data = NULL;
}

/* Bytes of the message given by the reader: to the backend. */
static void
smtp_data_chunk(struct smtp_session *s, size_t len)
{
	const struct smtp_backend *b = &s->cfg->backend;
	const char *error = NULL;

	if (s->failure != SMTP_DATA_OK)
		return;
	if (s->reader.line_too_long) {
		smtp_data_fail(s, SMTP_DATA_LINE_LONG, NULL);
	} else if (s->reader.size > s->cfg->size_max) {
		smtp_data_fail(s, SMTP_DATA_TOO_LARGE, NULL);
	} else if (b->data_write(s->data, s->chunk, len, &error) < 0) {
		sb_log_warn("smtp %lu: cannot write a message: %s", s->id,
		            smtp_backend_error(error));
		smtp_data_fail(s, SMTP_DATA_BACKEND, smtp_backend_error(error));
	}
}

/* A queue id for a reply: printable ASCII, or what it was is logged. */
static const char *
smtp_queue_id(struct smtp_session *s, char *id)
{
	size_t i;

	id[SMTP_QUEUE_ID_MAX - 1] = '\0';
	for (i = 0; id[i] != '\0'; i++) {
		if (id[i] <= 0x20 || id[i] >= 0x7f) {
			sb_log_warn("smtp %lu: the backend gave a queue id "
			            "that cannot be shown",
			            s->id);
			return "(unknown)";
		}
	}
	return i > 0 ? id : "(unknown)";
}

/* The final dot: the message is queued, or refused and why. */
static void
smtp_data_end(struct smtp_session *s)
{
	const struct smtp_backend *b = &s->cfg->backend;
	char id[SMTP_QUEUE_ID_MAX] = "";
	const char *error = NULL, *queued;

	if (s->failure == SMTP_DATA_OK && s->reader.line_too_long)
		smtp_data_fail(s, SMTP_DATA_LINE_LONG, NULL);
	if (s->failure == SMTP_DATA_LINE_LONG) {
		smtp_reply(s, 500, "5.5.2",
		           "Line too long: a line of a message has at most %d "
		           "bytes",
		           SMTP_DATA_LINE_MAX);
	} else if (s->failure == SMTP_DATA_TOO_LARGE) {
		smtp_reply(s, 552, "5.3.4",
		           "Message too large: at most %" PRIu64 " bytes",
		           s->cfg->size_max);
	} else if (s->failure == SMTP_DATA_BACKEND) {
		smtp_reply(s, 451, "4.3.0", "%s", s->data_error);
	} else if (b->data_finish(s->data, id, &error) < 0) {
		s->data = NULL;
		sb_log_warn("smtp %lu: cannot queue a message: %s", s->id,
		            smtp_backend_error(error));
		smtp_reply(s, 451, "4.3.0", "%s", smtp_backend_error(error));
	} else {
		s->data = NULL;
		queued = smtp_queue_id(s, id);
		sb_log_info("smtp %lu: queued %s: %" PRIu64
		            " bytes for %zu recipients",
		            s->id, queued, s->reader.size, s->n_recipients);
		smtp_reply(s, 250, "2.0.0", "Ok: queued as %s", queued);
		s->errors = 0;
	}
	if (s->failure != SMTP_DATA_OK)
		sb_log_info(
		        "smtp %lu: message refused: %s", s->id,
		        s->failure == SMTP_DATA_LINE_LONG   ? "a line too long"
		        : s->failure == SMTP_DATA_TOO_LARGE ? "too large"
		                                            : "backend error");
	smtp_transaction_reset(s);
	smtp_session_set_state(s, SMTP_STATE_HELO);
}

void
smtp_data_input(struct smtp_session *s)
{
	size_t consumed, produced;
	int ret;

	ret = smtp_data_feed(&s->reader, s->in + s->in_pos,
	                     s->in_len - s->in_pos, &consumed, s->chunk,
	                     sizeof(s->chunk), &produced);
	s->in_pos += consumed;
	if (produced > 0) {
		smtp_data_chunk(s, produced);
		explicit_bzero(s->chunk, produced);
	}
	if (ret == 1)
		smtp_data_end(s);
}
