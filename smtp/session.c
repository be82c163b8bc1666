/*
 * One SMTP connection: the greeting, the loop that reads the client's
 * bytes and hands them to the line reader or, in DATA, to the message
 * reader, the table of commands with their checks, replies and their
 * flushing, the timers, and the end.
 *
 * A command is looked up in smtp_commands; its check answers the client
 * and returns false when the command may not run now (wrong state, not
 * logged in, not on TLS); otherwise its proceed function does it. Every
 * change of state goes through smtp_session_set_state.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/tls.h"
#include "smtp-private.h"

/* A reply line, with its CRLF (RFC 5321 4.5.3.1.5). */
#define SMTP_REPLY_MAX 512
/* Replies are written once this much waits, whatever the input. */
#define SMTP_OUT_FLUSH (16 * 1024)

static const char *const smtp_state_names[] = {
        [SMTP_STATE_NEW] = "new",
        [SMTP_STATE_CONNECTED] = "connected",
        [SMTP_STATE_HELO] = "helo",
        [SMTP_STATE_AUTH_PLAIN] = "auth-plain",
        [SMTP_STATE_AUTH_USER] = "auth-user",
        [SMTP_STATE_AUTH_PASS] = "auth-pass",
        [SMTP_STATE_MAIL] = "mail",
        [SMTP_STATE_RCPT] = "rcpt",
        [SMTP_STATE_BODY] = "body",
        [SMTP_STATE_QUIT] = "quit",
};

const char *
smtp_state_name(enum smtp_state state)
{
	if ((size_t)state >= SB_N_ELEMENTS(smtp_state_names))
		return "?";
	return smtp_state_names[state];
}

void
smtp_session_set_state(struct smtp_session *s, enum smtp_state state)
{
	if (s->state == state)
		return;
	sb_log_debug("smtp %lu: %s -> %s", s->id, smtp_state_name(s->state),
	             smtp_state_name(state));
	s->state = state;
}

/* ---- Replies ---- */

bool
smtp_flush(struct smtp_session *s)
{
	const char *error;

	if (s->out.len == 0 || s->broken) {
		sb_buf_reset(&s->out);
		return !s->broken;
	}
	if (sb_conn_write(s->conn, s->out.data, s->out.len, &error) < 0) {
		sb_log_info("smtp %lu: cannot write: %s", s->id, error);
		s->broken = true;
	}
	sb_buf_reset(&s->out);
	return !s->broken;
}

static void smtp_reply_line(struct smtp_session *s, unsigned code, char sep,
                            const char *status, const char *fmt, va_list ap)
        SB_PRINTF(5, 0);

/* One line: code, separator, maybe the status code, the text. */
static void
smtp_reply_line(struct smtp_session *s, unsigned code, char sep,
                const char *status, const char *fmt, va_list ap)
{
	char line[SMTP_REPLY_MAX];
	size_t head, len, i;
	int n;

	n = snprintf(line, sizeof(line), "%03u%c", code % 1000, sep);
	if (status != NULL && s->esmtp)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s ",
		              status);
	head = (size_t)n;
	n = vsnprintf(line + head, sizeof(line) - head - 2, fmt, ap);
	len = head + (n < 0 ? 0 : (size_t)n);
	if (len > sizeof(line) - 3)
		len = sizeof(line) - 3;
	/* Peer data (an address) and backend errors go into replies. */
	for (i = head; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\r';
	line[len++] = '\n';
	if (sb_buf_add(&s->out, line, len) < 0)
		abort(); /* flushed long before its maximum */
	if (s->out.len >= SMTP_OUT_FLUSH)
		(void)smtp_flush(s);
}

void
smtp_reply(struct smtp_session *s, unsigned code, const char *status,
           const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_reply_line(s, code, ' ', status, fmt, ap);
	va_end(ap);
	if ((code >= 500 && code <= 504) || code == 555)
		s->errors++;
}

void
smtp_reply_more(struct smtp_session *s, unsigned code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_reply_line(s, code, '-', NULL, fmt, ap);
	va_end(ap);
}

void
smtp_reply_error(struct smtp_session *s, const struct smtp_error *e)
{
	smtp_reply(s, e->code, e->status, "%s", e->text);
}

bool
smtp_secure(const struct smtp_session *s)
{
	return s->tls || s->shared->auth_in_clear;
}

const char *
smtp_backend_error(const char *error)
{
	return error != NULL ? error : "unknown error";
}

void
smtp_transaction_reset(struct smtp_session *s)
{
	size_t i;

	free(s->sender);
	s->sender = NULL;
	for (i = 0; i < s->n_recipients; i++)
		free(s->recipients[i]);
	s->n_recipients = 0;
	s->smtputf8 = false;
}

/* ---- Commands ---- */

struct smtp_command {
	const char *verb;
	size_t line_max;      /* the longest line, without CRLF */
	smtp_check_fn *check; /* NULL: it may always run */
	smtp_proceed_fn *proceed;
};

static const struct smtp_command smtp_commands[] = {
        {"EHLO", SMTP_CMD_MAX, smtp_check_ehlo, smtp_proceed_ehlo},
        {"HELO", SMTP_CMD_MAX, smtp_check_helo, smtp_proceed_helo},
        {"STARTTLS", SMTP_CMD_MAX, smtp_check_starttls, smtp_proceed_starttls},
        {"AUTH", SMTP_CMD_AUTH_MAX, smtp_check_auth, smtp_proceed_auth},
        {"MAIL", SMTP_CMD_PATH_MAX, smtp_check_mail, smtp_proceed_mail},
        {"RCPT", SMTP_CMD_PATH_MAX, smtp_check_rcpt, smtp_proceed_rcpt},
        {"DATA", SMTP_CMD_MAX, smtp_check_data, smtp_proceed_data},
        {"RSET", SMTP_CMD_MAX, smtp_check_no_args, smtp_proceed_rset},
        {"NOOP", SMTP_CMD_MAX, NULL, smtp_proceed_noop},
        {"QUIT", SMTP_CMD_MAX, NULL, smtp_proceed_quit},
        {"VRFY", SMTP_CMD_MAX, smtp_check_vrfy, smtp_proceed_vrfy},
        {"HELP", SMTP_CMD_MAX, NULL, smtp_proceed_help},
        /* Known, and not offered here. */
        {"EXPN", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"BDAT", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"ETRN", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"TURN", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"ATRN", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"SEND", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"SOML", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"SAML", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
        {"VERB", SMTP_CMD_MAX, NULL, smtp_proceed_not_implemented},
};

/* A command line: looked up, checked, run. */
static void
smtp_command(struct smtp_session *s, struct sb_sv line)
{
	const struct smtp_command *c;
	struct sb_sv verb, args;
	char shown[128];
	size_t i;

	if (smtp_parse_verb(line, &verb, &args) < 0) {
		smtp_reply(s, 500, "5.5.2", "Syntax error: no command");
		return;
	}
	if (sb_log_enabled(SB_LOG_DEBUG)) {
		sb_log_redact_command(line.p, line.len, false, shown,
		                      sizeof(shown));
		sb_log_debug("smtp %lu: %s", s->id, shown);
	}
	for (i = 0; i < SB_N_ELEMENTS(smtp_commands); i++) {
		c = &smtp_commands[i];
		if (!sb_sv_eq_cstr_ci(verb, c->verb))
			continue;
		if (line.len > c->line_max) {
			smtp_reply(s, 500, "5.5.2", "Line too long");
			return;
		}
		if (c->check == NULL || c->check(s, args))
			c->proceed(s, args);
		return;
	}
	smtp_reply(s, 500, "5.5.1", "Command unrecognized");
}

/* Input outside DATA: the next line, a command or a SASL response. */
static void
smtp_line_input(struct smtp_session *s)
{
	struct sb_sv line;
	size_t consumed;
	bool secret;
	int ret;

	ret = smtp_line_feed(&s->line, s->in + s->in_pos, s->in_len - s->in_pos,
	                     &consumed, &line);
	s->in_pos += consumed;
	if (ret == 0)
		return;
	/* A line too long is not known: it may have been AUTH's. */
	secret = ret < 0 || smtp_state_is_auth(s->state) ||
	         sb_log_command_is_sensitive(line.p, line.len);
	if (ret < 0) {
		if (smtp_state_is_auth(s->state))
			smtp_auth_abandon(s);
		smtp_reply(s, 500, "5.5.2", "Line too long");
	} else if (smtp_state_is_auth(s->state)) {
		smtp_auth_response(s, line);
	} else {
		smtp_command(s, line);
	}
	if (secret) {
		/* What was read of it (a password) goes. */
		smtp_line_wipe(&s->line);
		explicit_bzero(s->in, s->in_pos);
	}
}

/* ---- Input ---- */

/*
 * Reads more input once all was used, after writing the replies (RFC
 * 2920: a pipelined group is answered at once). False when the session
 * must end: *why_r says why, for the log (NULL: the client left).
 */
static bool
smtp_fill(struct smtp_session *s, const char **why_r)
{
	const struct smtp_config *cfg = s->cfg;
	enum sb_conn_status status;
	const char *error;
	size_t got;
	int w;

	*why_r = "the connection broke";
	if (!smtp_flush(s))
		return false;
	w = sb_conn_wait(s->conn, s->shared->stop_fd,
	                 s->state == SMTP_STATE_BODY ? cfg->data_timeout_ms
	                                             : cfg->command_timeout_ms,
	                 &error);
	if (w < 0)
		return false;
	if (w & SB_CONN_WAIT_EVENT) {
		*why_r = "the server is shutting down";
		smtp_reply(s, 421, "4.3.2", "Service shutting down");
		return false;
	}
	if (w == 0) {
		*why_r = "timeout";
		smtp_reply(s, 421, "4.4.2",
		           "%s Timeout: closing the connection", cfg->hostname);
		return false;
	}
	/* What was used goes before more comes (it may be mail). */
	explicit_bzero(s->in, s->in_len);
	s->in_pos = s->in_len = 0;
	if (sb_conn_read(s->conn, s->in, sizeof(s->in), &got, &status,
	                 &error) != 1) {
		if (status == SB_CONN_EOF)
			*why_r = NULL;
		return false;
	}
	s->in_len = got;
	return true;
}

/* "127.0.0.1:40000" for log lines; "local" for a socketpair. */
static void
smtp_peer_name(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	snprintf(out, size, "local");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	} else {
		return;
	}
	snprintf(out, size, "%s:%u", host, port);
}

/* The commands and the message, until the session ends. */
static void
smtp_session_loop(struct smtp_session *s)
{
	const char *why = NULL;

	while (s->state != SMTP_STATE_QUIT && !s->broken) {
		if (s->in_pos == s->in_len) {
			if (!smtp_fill(s, &why))
				break;
			continue;
		}
		if (s->state == SMTP_STATE_BODY)
			smtp_data_input(s);
		else
			smtp_line_input(s);
		if (s->errors >= SMTP_MAX_ERRORS &&
		    s->state != SMTP_STATE_QUIT) {
			why = "too many errors";
			smtp_reply(s, 421, "4.7.0", "Too many errors");
			break;
		}
	}
	(void)smtp_flush(s);
	sb_log_info("smtp %lu: closed%s%s", s->id, why != NULL ? ": " : "",
	            why != NULL ? why : "");
}

/* Everything the session holds goes; a message not finished is dropped. */
static void
smtp_session_free(struct smtp_session *s)
{
	const struct smtp_backend *b = &s->cfg->backend;

	if (s->data != NULL) {
		sb_log_info("smtp %lu: message abandoned", s->id);
		b->data_abort(s->data);
		s->data = NULL;
	}
	smtp_transaction_reset(s);
	free(s->recipients);
	explicit_bzero(s->in, sizeof(s->in));
	explicit_bzero(s->chunk, sizeof(s->chunk));
	smtp_line_wipe(&s->line);
	sb_buf_free(&s->auth_user);
	sb_buf_free(&s->out);
	store_close(&s->st);
	sb_conn_free(&s->conn);
	free(s->user);
	free(s);
}

void
smtp_session_run(const struct smtp_shared *shared, int fd, bool tls,
                 unsigned long id)
{
	struct smtp_session *s = sb_calloc(1, sizeof(*s));
	const char *error;

	s->shared = shared;
	s->cfg = shared->cfg;
	s->id = id;
	s->state = SMTP_STATE_NEW;
	s->login_delay_ms = s->cfg->login_delay_ms;
	smtp_peer_name(fd, s->peer, sizeof(s->peer));
	smtp_line_init(&s->line, SMTP_LINE_MAX);
	sb_buf_init(&s->out, 4 * SMTP_OUT_FLUSH);
	sb_buf_init_secret(&s->auth_user, SMTP_CREDENTIAL_MAX);
	/* Its own line reader is not used: only a maximum for it. */
	s->conn = sb_conn_new(fd, SMTP_LINE_MAX, s->cfg->command_timeout_ms);
	/*
	 * A client that takes nothing must not hold the server's stop: a
	 * write (or a TLS handshake, or a read) that waits gives up.
	 */
	sb_conn_set_cancel(s->conn, s->shared->stop_fd);
	sb_log_info("smtp %lu: connection from %s%s", id, s->peer,
	            tls ? " (TLS)" : "");
	if (tls) {
		if (sb_conn_tls_accept(s->conn, s->cfg->tls, &error) < 0) {
			sb_log_info("smtp %lu: TLS handshake failed: %s", id,
			            error);
			smtp_session_free(s);
			return;
		}
		s->tls = true;
	}
	smtp_session_set_state(s, SMTP_STATE_CONNECTED);
	smtp_reply(s, 220, NULL, "%s ESMTP Saltbridge", s->cfg->hostname);
	smtp_session_loop(s);
	smtp_session_free(s);
}
