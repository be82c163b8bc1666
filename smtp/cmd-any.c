/*
 * The commands of any state: EHLO and HELO (RFC 5321 4.1.1.1), RSET,
 * NOOP, QUIT, VRFY (answered 252), HELP, and those not offered here.
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/log.h"
#include "smtp-private.h"

/* A client's name for itself: text without control characters. */
static bool
smtp_helo_name_ok(struct sb_sv name)
{
	size_t i;

	if (name.len == 0)
		return false;
	for (i = 0; i < name.len; i++) {
		if ((unsigned char)name.p[i] < 0x20 || name.p[i] == 0x7f)
			return false;
	}
	return true;
}

bool
smtp_check_ehlo(struct smtp_session *s, struct sb_sv args)
{
	if (!smtp_helo_name_ok(args)) {
		smtp_reply(s, 501, "5.5.4", "Syntax: EHLO hostname");
		return false;
	}
	return true;
}

bool
smtp_check_helo(struct smtp_session *s, struct sb_sv args)
{
	if (!smtp_helo_name_ok(args)) {
		smtp_reply(s, 501, "5.5.4", "Syntax: HELO hostname");
		return false;
	}
	return true;
}

bool
smtp_check_no_args(struct smtp_session *s, struct sb_sv args)
{
	if (args.len > 0) {
		smtp_reply(s, 501, "5.5.4", "This command takes no arguments");
		return false;
	}
	return true;
}

bool
smtp_check_vrfy(struct smtp_session *s, struct sb_sv args)
{
	if (args.len == 0) {
		smtp_reply(s, 501, "5.5.4", "Syntax: VRFY address");
		return false;
	}
	return true;
}

/*
 * EHLO: a greeting resets a transaction (RFC 5321 4.1.4); logging in
 * stays. The extensions follow the state: STARTTLS until TLS is on, AUTH
 * once it is.
 */
void
smtp_proceed_ehlo(struct smtp_session *s, struct sb_sv args)
{
	char size[32];
	const char *ext[8];
	size_t n = 0, i;

	(void)args;
	smtp_transaction_reset(s);
	s->esmtp = true;
	smtp_session_set_state(s, SMTP_STATE_HELO);
	snprintf(size, sizeof(size), "SIZE %" PRIu64, s->cfg->size_max);
	ext[n++] = size;
	ext[n++] = "PIPELINING";
	ext[n++] = "8BITMIME";
	ext[n++] = "ENHANCEDSTATUSCODES";
	ext[n++] = "SMTPUTF8";
	if (!s->tls)
		ext[n++] = "STARTTLS";
	if (smtp_secure(s))
		ext[n++] = "AUTH PLAIN LOGIN";
	smtp_reply_more(s, 250, "%s", s->cfg->hostname);
	for (i = 0; i + 1 < n; i++)
		smtp_reply_more(s, 250, "%s", ext[i]);
	smtp_reply(s, 250, NULL, "%s", ext[n - 1]);
}

/* HELO: plain SMTP, without extensions or enhanced status codes. */
void
smtp_proceed_helo(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_transaction_reset(s);
	s->esmtp = false;
	smtp_session_set_state(s, SMTP_STATE_HELO);
	smtp_reply(s, 250, NULL, "%s", s->cfg->hostname);
}

void
smtp_proceed_rset(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_transaction_reset(s);
	if (s->state == SMTP_STATE_MAIL || s->state == SMTP_STATE_RCPT)
		smtp_session_set_state(s, SMTP_STATE_HELO);
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
smtp_proceed_noop(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_reply(s, 250, "2.0.0", "Ok");
}

void
smtp_proceed_quit(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_reply(s, 221, "2.0.0", "Bye");
	smtp_session_set_state(s, SMTP_STATE_QUIT);
}

void
smtp_proceed_vrfy(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_reply(s, 252, "2.5.0",
	           "Addresses are not verified here; send the message to "
	           "try one");
}

void
smtp_proceed_help(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_reply(s, 214, "2.0.0",
	           "Commands: EHLO HELO STARTTLS AUTH MAIL RCPT DATA RSET "
	           "NOOP QUIT VRFY HELP");
}

void
smtp_proceed_not_implemented(struct smtp_session *s, struct sb_sv args)
{
	(void)args;
	smtp_reply(s, 502, "5.5.1", "Command not implemented");
}
