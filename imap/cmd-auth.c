/*
 * Getting in: STARTTLS (RFC 3501 6.2.1), LOGIN (6.2.3) and AUTHENTICATE
 * PLAIN (RFC 4616) with an initial response (SASL-IR, RFC 4959). The
 * password is the account's bridge password, checked by the backend;
 * failures are answered after a delay that doubles, and a connection
 * that keeps failing is closed.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/codec.h"
#include "common/log.h"
#include "common/tls.h"
#include "imap-private.h"

/* Longest user name or password taken. */
#define IMAP_CREDENTIAL_MAX 1024

void
imap_cmd_starttls(struct imap_session *s, const struct imap_command *c)
{
	const char *error;

	if (c->arg_count != 0) {
		imap_bad_args(s, c, "STARTTLS takes no arguments");
		return;
	}
	if (s->tls) {
		imap_reply(s, "%s BAD TLS is on already", c->tag);
		return;
	}
	imap_reply(s, "%s OK Begin TLS negotiation now", c->tag);
	if (!imap_flush(s))
		return;
	/*
	 * Bytes sent after the command arrived before TLS: they must not
	 * count as if they came through it (the command injection attack),
	 * so they are dropped.
	 */
	if (s->in_pos < s->in_len) {
		sb_log_warn("imap %lu: %zu bytes after STARTTLS dropped", s->id,
		            s->in_len - s->in_pos);
		s->in_pos = s->in_len = 0;
	}
	if (sb_conn_tls_accept(s->conn, s->shared->cfg->tls, &error) < 0) {
		sb_log_info("imap %lu: TLS handshake failed: %s", s->id, error);
		s->broken = true;
		return;
	}
	s->tls = true;
}

static void
imap_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Checks the credentials and answers the command. */
static void
imap_login(struct imap_session *s, const struct imap_command *c,
           const char *user, const char *password)
{
	const struct imap_backend *b = &s->shared->cfg->backend;
	struct imap_limits limits;
	const char *error = NULL;
	int64_t account;
	int ret;

	ret = b->login(b->ctx, user, password, &account, &error);
	if (ret < 0) {
		sb_log_warn("imap %lu: cannot check a login: %s", s->id,
		            error != NULL ? error : "?");
		imap_reply(s, "%s NO [UNAVAILABLE] Cannot check the login now",
		           c->tag);
		return;
	}
	if (ret == 0) {
		s->login_failures++;
		sb_log_info("imap %lu: login failed (%u)", s->id,
		            s->login_failures);
		/* Guessing costs time: 0.5 s, 1 s, 2 s, then 4 s each. */
		(void)imap_flush(s);
		imap_sleep_ms(s->login_delay_ms);
		if (s->login_delay_ms < IMAP_LOGIN_DELAY_MAX_MS)
			s->login_delay_ms *= 2;
		imap_reply(s,
		           "%s NO [AUTHENTICATIONFAILED] Invalid credentials "
		           "(use the bridge password that 'saltbridge info' "
		           "shows)",
		           c->tag);
		if (s->login_failures >= IMAP_MAX_LOGIN_FAILURES) {
			imap_reply(s, "* BYE Too many failed logins");
			s->state = IMAP_STATE_LOGOUT;
		}
		return;
	}
	if (store_open(s->shared->cfg->replica_path, s->shared->cfg->hub,
	               &s->st, &error) < 0) {
		sb_log_warn("imap %lu: cannot open the replica: %s", s->id,
		            error);
		imap_reply(s,
		           "%s NO [UNAVAILABLE] The local copy cannot be "
		           "opened",
		           c->tag);
		return;
	}
	s->state = IMAP_STATE_AUTH;
	s->account_id = account;
	s->user = sb_strdup(user);
	imap_limits_default(&limits);
	imap_reader_set_limits(s->reader, &limits);
	sb_conn_set_timeout(s->conn, s->shared->cfg->autologout_ms);
	sb_log_info("imap %lu: logged in as %s", s->id, user);
	imap_reply(s, "%s OK [CAPABILITY %s] Logged in", c->tag,
	           imap_capabilities(s));
}

/* A credential as a NUL-terminated string: no NUL inside, not too long. */
static bool
imap_credential(struct sb_sv v)
{
	return v.len > 0 && v.len <= IMAP_CREDENTIAL_MAX &&
	       memchr(v.p, '\0', v.len) == NULL;
}

void
imap_cmd_login(struct imap_session *s, const struct imap_command *c)
{
	struct sb_sv user, password;
	const char *error;

	if (c->arg_count != 2 ||
	    imap_value_astring(&c->args[0], &user, &error) < 0 ||
	    imap_value_astring(&c->args[1], &password, &error) < 0) {
		imap_bad_args(s, c, "LOGIN takes a user name and a password");
		return;
	}
	if (!imap_credential(user) || !imap_credential(password)) {
		imap_reply(s,
		           "%s NO [AUTHENTICATIONFAILED] Invalid credentials",
		           c->tag);
		return;
	}
	/* The command owns both, NUL-terminated, and wipes them. */
	imap_login(s, c, user.p, password.p);
}

/*
 * The PLAIN response (RFC 4616): authzid NUL authcid NUL passwd, the
 * authzid empty or the authcid itself. Logs in or answers NO.
 */
static void
imap_plain(struct imap_session *s, const struct imap_command *c,
           const char *b64, size_t len)
{
	struct sb_buf raw;
	unsigned int flags = 0;
	const char *authz, *user, *password, *end;

	sb_buf_init_secret(&raw, 3 * IMAP_CREDENTIAL_MAX);
	if (sb_base64_decode(b64, len, &raw, &flags) < 0 || flags != 0 ||
	    raw.len == 0) {
		sb_buf_free(&raw);
		imap_reply(s, "%s BAD Not a PLAIN response in base64", c->tag);
		return;
	}
	authz = raw.data;
	end = raw.data + raw.len;
	user = memchr(authz, '\0', raw.len);
	password = user != NULL ? memchr(user + 1, '\0', end - user - 1) : NULL;
	if (user == NULL || password == NULL ||
	    memchr(password + 1, '\0', end - password - 1) != NULL ||
	    password + 1 == end || user + 1 == password) {
		sb_buf_free(&raw);
		imap_reply(s, "%s BAD Not a PLAIN response", c->tag);
		return;
	}
	{
		/* NUL-terminated at the end too; the data may move. */
		size_t u = (size_t)(user + 1 - authz);
		size_t p = (size_t)(password + 1 - authz);

		if (sb_buf_add_char(&raw, '\0') < 0) {
			imap_reply(s,
			           "%s NO [AUTHENTICATIONFAILED] Invalid "
			           "credentials",
			           c->tag);
			return;
		}
		authz = raw.data;
		user = raw.data + u;
		password = raw.data + p;
	}
	if (authz[0] != '\0' && strcmp(authz, user) != 0)
		imap_reply(s,
		           "%s NO [AUTHORIZATIONFAILED] Cannot act as another "
		           "user",
		           c->tag);
	else
		imap_login(s, c, user, password);
	sb_buf_free(&raw);
}

void
imap_cmd_authenticate(struct imap_session *s, const struct imap_command *c)
{
	struct sb_sv mech, ir;
	struct imap_event ev;
	const char *error, *why;

	if (c->arg_count < 1 || c->arg_count > 2 ||
	    imap_value_atom(&c->args[0], &mech, &error) < 0 ||
	    (c->arg_count == 2 &&
	     imap_value_atom(&c->args[1], &ir, &error) < 0)) {
		imap_bad_args(s, c,
		              "AUTHENTICATE takes a mechanism and maybe an "
		              "initial response");
		return;
	}
	if (mech.len != 5 || strncasecmp(mech.p, "PLAIN", 5) != 0) {
		imap_reply(s, "%s NO [CANNOT] Only PLAIN is supported", c->tag);
		return;
	}
	if (c->arg_count == 2) {
		/* "=" is an empty initial response (RFC 4959). */
		if (ir.len == 1 && ir.p[0] == '=')
			ir.len = 0;
		imap_plain(s, c, ir.p, ir.len);
		return;
	}
	imap_reply(s, "+ ");
	imap_reader_set_raw_line(s->reader);
	if (imap_next_event(s, &ev, &why) == 0) {
		s->state = IMAP_STATE_LOGOUT;
		return;
	}
	if (ev.type != IMAP_EV_RAW_LINE) {
		imap_reply(s, "%s BAD %s", c->tag,
		           ev.type == IMAP_EV_ERROR ? ev.error_text
		                                    : "Expected a response");
		return;
	}
	if (ev.line.len == 1 && ev.line.p[0] == '*') {
		imap_reply(s, "%s BAD Authentication cancelled", c->tag);
		return;
	}
	imap_plain(s, c, ev.line.p, ev.line.len);
}
