/*
 * Getting in: STARTTLS (RFC 3207) and AUTH (RFC 4954) with PLAIN
 * (RFC 4616) and LOGIN, each with an initial response or after "334".
 * AUTH needs TLS. The password is the account's bridge password, checked
 * by the backend; failures are answered after a delay that doubles, and
 * a connection that keeps failing is closed. What the client sent of a
 * password, and what was decoded of it, is wiped.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/tls.h"
#include "smtp-private.h"

/* "Username:" and "Password:" in base64, LOGIN's challenges. */
#define SMTP_LOGIN_USER_CHALLENGE "VXNlcm5hbWU6"
#define SMTP_LOGIN_PASS_CHALLENGE "UGFzc3dvcmQ6"

bool
smtp_state_is_auth(enum smtp_state state)
{
	return state == SMTP_STATE_AUTH_PLAIN ||
	       state == SMTP_STATE_AUTH_USER || state == SMTP_STATE_AUTH_PASS;
}

static bool
smtp_in_transaction(const struct smtp_session *s)
{
	return s->state == SMTP_STATE_MAIL || s->state == SMTP_STATE_RCPT;
}

bool
smtp_check_starttls(struct smtp_session *s, struct sb_sv args)
{
	if (args.len > 0) {
		smtp_reply(s, 501, "5.5.4", "STARTTLS takes no arguments");
		return false;
	}
	if (s->tls) {
		smtp_reply(s, 503, "5.5.1", "TLS is on already");
		return false;
	}
	if (smtp_in_transaction(s)) {
		smtp_reply(s, 503, "5.5.1",
		           "STARTTLS is not allowed in a mail transaction");
		return false;
	}
	/*
	 * Bytes sent after the command, before TLS: they must not count as
	 * if they came through it (the command injection attack), so TLS
	 * is refused and they are read as the plain commands they are.
	 */
	if (s->in_pos < s->in_len) {
		sb_log_warn("smtp %lu: %zu bytes after STARTTLS: refused",
		            s->id, s->in_len - s->in_pos);
		smtp_reply(s, 554, "5.5.1",
		           "Nothing may follow STARTTLS before the TLS "
		           "handshake: TLS refused");
		return false;
	}
	return true;
}

/* TLS starts over: no greeting, no transaction (RFC 3207 4.2). */
void
smtp_proceed_starttls(struct smtp_session *s, struct sb_sv args)
{
	const char *error;

	(void)args;
	smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (!smtp_flush(s))
		return;
	if (sb_conn_tls_accept(s->conn, s->cfg->tls, &error) < 0) {
		sb_log_info("smtp %lu: TLS handshake failed: %s", s->id, error);
		s->broken = true;
		smtp_session_set_state(s, SMTP_STATE_QUIT);
		return;
	}
	s->tls = true;
	s->esmtp = false;
	smtp_transaction_reset(s);
	smtp_session_set_state(s, SMTP_STATE_CONNECTED);
	sb_log_info("smtp %lu: TLS on (%s)", s->id,
	            sb_conn_tls_version(s->conn));
}

bool
smtp_check_auth(struct smtp_session *s, struct sb_sv args)
{
	if (!s->esmtp) {
		smtp_reply(s, 503, "5.5.1", "Send EHLO first");
		return false;
	}
	if (s->authenticated) {
		smtp_reply(s, 503, "5.5.1", "Already authenticated");
		return false;
	}
	if (smtp_in_transaction(s)) {
		smtp_reply(s, 503, "5.5.1",
		           "AUTH is not allowed in a mail transaction");
		return false;
	}
	if (!smtp_secure(s)) {
		smtp_reply(s, 538, "5.7.11",
		           "Encryption required: use STARTTLS first");
		return false;
	}
	if (args.len == 0) {
		smtp_reply(s, 501, "5.5.4",
		           "Syntax: AUTH mechanism [initial-response]");
		return false;
	}
	return true;
}

/* Waits for the delay, or until the server stops. */
static void
smtp_sleep_ms(struct smtp_session *s, int ms)
{
	struct pollfd p = {.fd = s->shared->stop_fd, .events = POLLIN};

	(void)poll(&p, 1, ms);
}

/* The credentials were wrong: later, and maybe the end. */
static void
smtp_login_failed(struct smtp_session *s)
{
	s->login_failures++;
	sb_log_info("smtp %lu: login failed (%u)", s->id, s->login_failures);
	/* Guessing costs time: 0.5 s, 1 s, 2 s, then 4 s each. */
	(void)smtp_flush(s);
	smtp_sleep_ms(s, s->login_delay_ms);
	if (s->login_delay_ms < SMTP_LOGIN_DELAY_MAX_MS)
		s->login_delay_ms *= 2;
	if (s->login_delay_ms > SMTP_LOGIN_DELAY_MAX_MS)
		s->login_delay_ms = SMTP_LOGIN_DELAY_MAX_MS;
	smtp_reply(s, 535, "5.7.8",
	           "Authentication credentials invalid (use the bridge "
	           "password that 'saltbridge info' shows)");
	if (s->login_failures >= SMTP_MAX_LOGIN_FAILURES) {
		smtp_reply(s, 421, "4.7.0", "Too many failed authentications");
		smtp_session_set_state(s, SMTP_STATE_QUIT);
	}
}

/* Checks the credentials and answers AUTH. */
static void
smtp_login(struct smtp_session *s, const char *user, const char *password)
{
	const struct smtp_backend *b = &s->cfg->backend;
	const char *error = NULL;
	int64_t account;
	int ret;

	smtp_session_set_state(s, SMTP_STATE_HELO);
	ret = b->login(b->ctx, user, password, &account, &error);
	if (ret < 0) {
		sb_log_warn("smtp %lu: cannot check a login: %s", s->id,
		            smtp_backend_error(error));
		smtp_reply(s, 454, "4.7.0",
		           "Temporary authentication failure: the login "
		           "cannot be checked now");
		return;
	}
	if (ret == 0) {
		smtp_login_failed(s);
		return;
	}
	if (store_open(s->cfg->replica_path, s->cfg->hub, &s->st, &error) < 0) {
		sb_log_warn("smtp %lu: cannot open the replica: %s", s->id,
		            error);
		smtp_reply(s, 454, "4.7.0",
		           "Temporary authentication failure: the local copy "
		           "cannot be opened");
		return;
	}
	s->authenticated = true;
	s->account = account;
	s->user = sb_strdup(user);
	sb_log_info("smtp %lu: logged in as %s", s->id, user);
	smtp_reply(s, 235, "2.7.0", "Authentication successful");
}

/* A credential as a C string: no NUL inside, not empty, not too long. */
static bool
smtp_credential_ok(const char *p, size_t len)
{
	return len > 0 && len <= SMTP_CREDENTIAL_MAX &&
	       memchr(p, '\0', len) == NULL;
}

/*
 * A response in base64 into out (a secret buffer); "=" is an empty one
 * (RFC 4954 4). -1 after answering 501 (the exchange is over).
 */
static int
smtp_auth_decode(struct smtp_session *s, struct sb_sv b64, struct sb_buf *out)
{
	unsigned int flags = 0;

	if (b64.len == 1 && b64.p[0] == '=')
		return 0;
	if (b64.len == 0 || sb_base64_decode(b64.p, b64.len, out, &flags) < 0 ||
	    flags != 0) {
		smtp_session_set_state(s, SMTP_STATE_HELO);
		smtp_reply(s, 501, "5.5.2", "Cannot decode the response");
		return -1;
	}
	return 0;
}

/*
 * The PLAIN response (RFC 4616): authzid NUL authcid NUL passwd, the
 * authzid empty or the authcid itself.
 */
static void
smtp_auth_plain(struct smtp_session *s, struct sb_sv b64)
{
	struct sb_buf raw;
	size_t user, password;
	const char *p;

	sb_buf_init_secret(&raw, 3 * SMTP_CREDENTIAL_MAX);
	if (smtp_auth_decode(s, b64, &raw) < 0) {
		sb_buf_free(&raw);
		return;
	}
	p = raw.len > 0 ? memchr(raw.data, '\0', raw.len) : NULL;
	user = p != NULL ? (size_t)(p - raw.data) + 1 : 0;
	p = p != NULL ? memchr(raw.data + user, '\0', raw.len - user) : NULL;
	password = p != NULL ? (size_t)(p - raw.data) + 1 : 0;
	if (p == NULL ||
	    !smtp_credential_ok(raw.data + user, password - 1 - user) ||
	    !smtp_credential_ok(raw.data + password, raw.len - password)) {
		smtp_session_set_state(s, SMTP_STATE_HELO);
		smtp_reply(s, 501, "5.5.2", "Not a PLAIN response");
	} else if (user > 1 && strcmp(raw.data, raw.data + user) != 0) {
		smtp_session_set_state(s, SMTP_STATE_HELO);
		smtp_reply(s, 535, "5.7.8", "Cannot act as another user");
	} else {
		/* The data ends in the buffer's NUL. */
		smtp_login(s, raw.data + user, raw.data + password);
	}
	sb_buf_free(&raw);
}

/* AUTH LOGIN's user name: kept until the password comes. */
static void
smtp_auth_login_user(struct smtp_session *s, struct sb_sv b64)
{
	sb_buf_reset(&s->auth_user);
	if (smtp_auth_decode(s, b64, &s->auth_user) < 0)
		return;
	smtp_session_set_state(s, SMTP_STATE_AUTH_PASS);
	smtp_reply(s, 334, NULL, SMTP_LOGIN_PASS_CHALLENGE);
}

static void
smtp_auth_login_password(struct smtp_session *s, struct sb_sv b64)
{
	struct sb_buf password;

	sb_buf_init_secret(&password, SMTP_CREDENTIAL_MAX);
	if (smtp_auth_decode(s, b64, &password) == 0) {
		if (smtp_credential_ok(s->auth_user.data, s->auth_user.len) &&
		    smtp_credential_ok(password.data, password.len)) {
			smtp_login(s, sb_buf_str(&s->auth_user),
			           sb_buf_str(&password));
		} else {
			smtp_session_set_state(s, SMTP_STATE_HELO);
			smtp_reply(s, 535, "5.7.8",
			           "Authentication credentials invalid");
		}
	}
	sb_buf_free(&password);
	sb_buf_free(&s->auth_user);
}

void
smtp_proceed_auth(struct smtp_session *s, struct sb_sv args)
{
	struct sb_sv mech = args, ir = {NULL, 0};
	ptrdiff_t sp = sb_sv_find_char(args, ' ');

	if (sp >= 0) {
		mech = sb_sv(args.p, (size_t)sp);
		ir = sb_sv(args.p + sp + 1, args.len - (size_t)sp - 1);
		if (ir.len == 0 || sb_sv_find_char(ir, ' ') >= 0) {
			smtp_reply(s, 501, "5.5.4",
			           "Syntax: AUTH mechanism [initial-response]");
			return;
		}
	}
	if (sb_sv_eq_cstr_ci(mech, "PLAIN")) {
		if (ir.p != NULL) {
			smtp_auth_plain(s, ir);
			return;
		}
		smtp_session_set_state(s, SMTP_STATE_AUTH_PLAIN);
		smtp_reply(s, 334, NULL, "%s", "");
	} else if (sb_sv_eq_cstr_ci(mech, "LOGIN")) {
		smtp_session_set_state(s, SMTP_STATE_AUTH_USER);
		if (ir.p != NULL) {
			smtp_auth_login_user(s, ir);
			return;
		}
		smtp_reply(s, 334, NULL, SMTP_LOGIN_USER_CHALLENGE);
	} else {
		smtp_reply(s, 504, "5.5.4",
		           "Unrecognized authentication mechanism: use PLAIN "
		           "or LOGIN");
	}
}

void
smtp_auth_response(struct smtp_session *s, struct sb_sv line)
{
	if (line.len == 1 && line.p[0] == '*') {
		smtp_auth_abandon(s);
		smtp_reply(s, 501, "5.7.0", "Authentication cancelled");
		return;
	}
	switch (s->state) {
	case SMTP_STATE_AUTH_PLAIN:
		smtp_auth_plain(s, line);
		break;
	case SMTP_STATE_AUTH_USER:
		smtp_auth_login_user(s, line);
		break;
	case SMTP_STATE_AUTH_PASS:
		smtp_auth_login_password(s, line);
		break;
	default:
		sb_log_error("smtp %lu: a SASL response in state %s", s->id,
		             smtp_state_name(s->state));
		abort();
	}
}

void
smtp_auth_abandon(struct smtp_session *s)
{
	sb_buf_free(&s->auth_user);
	smtp_session_set_state(s, SMTP_STATE_HELO);
}
