/*
 * One IMAP connection: the greeting, the loop that reads commands and
 * dispatches them to their files (cmd-*.c), the timers, and the end.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/tls.h"
#include "imap-private.h"

/* Longest reply line imap_reply formats. */
#define IMAP_REPLY_MAX 8192
/* Output gathered before it is written without waiting for the end. */
#define IMAP_OUT_FLUSH (64 * 1024)
/*
 * The most output buffer a session keeps between writes: a larger one
 * (a large literal went out in one piece) is given back, so that an idle
 * session does not hold its peak.
 */
#define IMAP_OUT_KEEP (2 * IMAP_OUT_FLUSH)

void
imap_reply(struct imap_session *s, const char *fmt, ...)
{
	char line[IMAP_REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	imap_reply_raw(s, line, (size_t)n);
}

void
imap_reply_raw(struct imap_session *s, const void *data, size_t len)
{
	if (sb_buf_add(&s->out, data, len) < 0)
		abort(); /* the buffer has no maximum */
	/* Large output goes out as it comes. */
	if (s->out.len >= IMAP_OUT_FLUSH)
		(void)imap_flush(s);
}

/* Empties the output, wiped; a block past IMAP_OUT_KEEP goes. */
static void
imap_out_clear(struct imap_session *s)
{
	if (s->out.alloc > IMAP_OUT_KEEP)
		sb_buf_free(&s->out);
	else
		sb_buf_reset(&s->out);
}

bool
imap_flush(struct imap_session *s)
{
	const char *error;

	if (s->out.len > 0 && !s->broken &&
	    sb_conn_write(s->conn, s->out.data, s->out.len, &error) < 0) {
		sb_log_info("imap %lu: cannot write: %s", s->id, error);
		s->broken = true;
	}
	imap_out_clear(s);
	return !s->broken;
}

const char *
imap_capabilities(const struct imap_session *s)
{
	if (s->state == IMAP_STATE_NOT_AUTH)
		return s->tls ? "IMAP4rev1 LITERAL+ SASL-IR ID AUTH=PLAIN"
		              : "IMAP4rev1 LITERAL+ SASL-IR ID STARTTLS "
		                "AUTH=PLAIN";
	return "IMAP4rev1 LITERAL+ SASL-IR ID NAMESPACE UNSELECT CHILDREN "
	       "SPECIAL-USE UIDPLUS MOVE IDLE ENABLE CONDSTORE QRESYNC "
	       "LIST-EXTENDED LIST-STATUS QUOTA QUOTA=RES-STORAGE";
}

/* The timer of the session's state. */
static int
imap_timeout_ms(const struct imap_session *s)
{
	const struct imap_config *cfg = s->shared->cfg;

	return s->state == IMAP_STATE_NOT_AUTH ? cfg->prelogin_timeout_ms
	                                       : cfg->autologout_ms;
}

int
imap_next_event(struct imap_session *s, struct imap_event *ev_r,
                const char **why_r)
{
	return imap_next_event_watch(s, -1, NULL, ev_r, why_r);
}

/* True once the server's stop eventfd fired. */
static bool
imap_stopping(const struct imap_session *s)
{
	struct pollfd p = {.fd = s->shared->stop_fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

int
imap_next_event_watch(struct imap_session *s, int watch_fd,
                      bool (*on_watch)(struct imap_session *s),
                      struct imap_event *ev_r, const char **why_r)
{
	enum sb_conn_status status;
	enum imap_event_type type;
	const char *error;
	size_t consumed, got;
	int64_t waited = 0;
	int w, slice;

	for (;;) {
		if (s->in_pos < s->in_len) {
			type = imap_reader_feed(s->reader, s->in + s->in_pos,
			                        s->in_len - s->in_pos,
			                        &consumed, ev_r);
			s->in_pos += consumed;
			if (type != IMAP_EV_NEED_MORE)
				return 1;
			continue;
		}
		if (!imap_flush(s)) {
			*why_r = "the connection broke";
			return 0;
		}
		if (watch_fd < 0) {
			w = sb_conn_wait(s->conn, s->shared->stop_fd,
			                 imap_timeout_ms(s), &error);
			if (w & SB_CONN_WAIT_EVENT) {
				*why_r = "the server is shutting down";
				return 0;
			}
		} else {
			/*
			 * Two fds to watch besides the client (the watched one
			 * and the stop one): the stop is looked at every
			 * second.
			 */
			slice = imap_timeout_ms(s) - (int)waited;
			if (slice > 1000)
				slice = 1000;
			w = slice > 0 ? sb_conn_wait(s->conn, watch_fd, slice,
			                             &error)
			              : 0;
			if (imap_stopping(s)) {
				*why_r = "the server is shutting down";
				return 0;
			}
			if (w > 0 && (w & SB_CONN_WAIT_EVENT)) {
				sb_event_drain(watch_fd);
				if (!on_watch(s)) {
					*why_r = "the connection broke";
					return 0;
				}
				waited = 0;
				if (!(w & SB_CONN_WAIT_INPUT))
					continue;
			} else if (w == 0 && slice > 0) {
				waited += slice;
				continue;
			}
		}
		if (w < 0) {
			*why_r = "the connection broke";
			return 0;
		}
		if (w == 0) {
			*why_r = "autologout";
			return 0;
		}
		s->in_pos = s->in_len = 0;
		if (sb_conn_read(s->conn, s->in, sizeof(s->in), &got, &status,
		                 &error) != 1) {
			*why_r = status == SB_CONN_EOF ? NULL
			                               : "the connection broke";
			return 0;
		}
		s->in_len = got;
	}
}

void
imap_bad_args(struct imap_session *s, const struct imap_command *c,
              const char *why)
{
	imap_reply(s, "%s BAD %s", c->tag, why);
}

/* ---- Dispatch ---- */

struct imap_cmd_entry {
	const char *name;
	unsigned states; /* enum imap_state bits where it is allowed */
	bool uid;        /* it has a UID form */
	imap_cmd_fn *fn;
};

#define IMAP_LOGGED_IN (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

static const struct imap_cmd_entry imap_cmds[] = {
        {"CAPABILITY", IMAP_STATE_ANY, false, imap_cmd_capability},
        {"NOOP", IMAP_STATE_ANY, false, imap_cmd_noop},
        {"LOGOUT", IMAP_STATE_ANY, false, imap_cmd_logout},
        {"ID", IMAP_STATE_ANY, false, imap_cmd_id},
        {"STARTTLS", IMAP_STATE_NOT_AUTH, false, imap_cmd_starttls},
        {"LOGIN", IMAP_STATE_NOT_AUTH, false, imap_cmd_login},
        {"AUTHENTICATE", IMAP_STATE_NOT_AUTH, false, imap_cmd_authenticate},
        {"LIST", IMAP_LOGGED_IN, false, imap_cmd_list},
        {"LSUB", IMAP_LOGGED_IN, false, imap_cmd_lsub},
        {"NAMESPACE", IMAP_LOGGED_IN, false, imap_cmd_namespace},
        {"CREATE", IMAP_LOGGED_IN, false, imap_cmd_create},
        {"DELETE", IMAP_LOGGED_IN, false, imap_cmd_delete},
        {"RENAME", IMAP_LOGGED_IN, false, imap_cmd_rename},
        {"SUBSCRIBE", IMAP_LOGGED_IN, false, imap_cmd_subscribe},
        {"UNSUBSCRIBE", IMAP_LOGGED_IN, false, imap_cmd_unsubscribe},
        {"STATUS", IMAP_LOGGED_IN, false, imap_cmd_status},
        {"SELECT", IMAP_LOGGED_IN, false, imap_cmd_select},
        {"EXAMINE", IMAP_LOGGED_IN, false, imap_cmd_examine},
        {"CLOSE", IMAP_STATE_SELECTED, false, imap_cmd_close},
        {"UNSELECT", IMAP_STATE_SELECTED, false, imap_cmd_unselect},
        {"CHECK", IMAP_STATE_SELECTED, false, imap_cmd_check},
        {"EXPUNGE", IMAP_STATE_SELECTED, true, imap_cmd_expunge},
        {"STORE", IMAP_STATE_SELECTED, true, imap_cmd_store},
        {"COPY", IMAP_STATE_SELECTED, true, imap_cmd_copy},
        {"MOVE", IMAP_STATE_SELECTED, true, imap_cmd_move},
        {"FETCH", IMAP_STATE_SELECTED, true, imap_cmd_fetch},
        {"IDLE", IMAP_LOGGED_IN, false, imap_cmd_idle},
        {"APPEND", IMAP_LOGGED_IN, false, imap_cmd_append},
        {"SEARCH", IMAP_STATE_SELECTED, true, imap_cmd_search},
        {"ENABLE", IMAP_STATE_AUTH, false, imap_cmd_enable},
        {"GETQUOTAROOT", IMAP_LOGGED_IN, false, imap_cmd_getquotaroot},
        {"GETQUOTA", IMAP_LOGGED_IN, false, imap_cmd_getquota},
        {"SETQUOTA", IMAP_LOGGED_IN, false, imap_cmd_setquota},
};

/*
 * Expunges may not be told during FETCH, STORE and SEARCH (RFC 3501
 * 7.4.1): the client's sequence numbers must hold for them.
 */
static bool
imap_expunges_allowed(const struct imap_command *c)
{
	/* COPY and MOVE too: their set is in the client's numbering. */
	return c->uid ||
	       (strcmp(c->name, "FETCH") != 0 &&
	        strcmp(c->name, "STORE") != 0 &&
	        strcmp(c->name, "SEARCH") != 0 &&
	        strcmp(c->name, "COPY") != 0 && strcmp(c->name, "MOVE") != 0);
}

static void
imap_dispatch(struct imap_session *s, const struct imap_command *c)
{
	const char *error;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(imap_cmds); i++) {
		const struct imap_cmd_entry *e = &imap_cmds[i];

		if (strcmp(e->name, c->name) != 0)
			continue;
		if (c->uid && !e->uid)
			break;
		if (!(e->states & s->state)) {
			imap_reply(s, "%s BAD %s is not allowed %s", c->tag,
			           c->name,
			           s->state == IMAP_STATE_NOT_AUTH
			                   ? "before logging in"
			                   : "in this state");
			return;
		}
		/* What changed meanwhile comes before the command's own. */
		if (s->state == IMAP_STATE_SELECTED &&
		    imap_view_update(s, imap_expunges_allowed(c), &error) < 0) {
			imap_store_failed(s, c, error);
			return;
		}
		if (s->state == IMAP_STATE_LOGOUT)
			return; /* the view said BYE */
		e->fn(s, c);
		return;
	}
	imap_reply(s, "%s BAD Unknown command %s%s", c->tag,
	           c->uid ? "UID " : "", c->name);
}

/*
 * A literal announced: APPEND's message streams into the backend
 * (cmd-append.c); others are kept within the limits, else refused.
 */
static bool
imap_literal(struct imap_session *s, const struct imap_event *ev)
{
	struct imap_command c;
	const char *error;
	bool ok;

	/* A literal after the mailbox: the message (or a MULTIAPPEND's). */
	if (imap_parse_command(ev->command, &c, &error) == 0 && !c.uid &&
	    c.name != NULL && strcmp(c.name, "APPEND") == 0 &&
	    c.arg_count >= 2) {
		ok = imap_append_literal(s, ev, &c);
		imap_command_free(&c);
		return ok;
	}
	imap_command_free(&c);

	if (ev->literal_fits &&
	    imap_reader_literal_accept(s->reader, IMAP_LITERAL_BUFFER,
	                               &error) == 0) {
		if (ev->literal_sync)
			imap_reply(s, "+ Ready for literal data");
		return true;
	}
	if (ev->tag.len > 0)
		imap_reply(s, "%.*s NO [TOOBIG] Literal too large",
		           (int)ev->tag.len, ev->tag.p);
	else
		imap_reply(s, "* BAD Literal too large");
	if (imap_reader_literal_reject(s->reader) < 0) {
		imap_reply(s, "* BYE Too much data");
		return false;
	}
	return true;
}

static void
imap_command(struct imap_session *s, const struct imap_event *ev)
{
	struct imap_command c;
	const char *error;

	if (imap_parse_command(ev->command, &c, &error) < 0) {
		if (c.tag != NULL)
			imap_reply(s, "%s BAD %s", c.tag, error);
		else
			imap_reply(s, "* BAD %s", error);
	} else {
		imap_dispatch(s, &c);
	}
	imap_command_free(&c);
}

static void
imap_peer_name(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
			port = ntohs(in->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, host,
			          sizeof(host));
			port = ntohs(in6->sin6_port);
		}
	}
	snprintf(out, size, "%s:%u", host, port);
}

void
imap_session_run(const struct imap_shared *shared, int fd, bool tls,
                 unsigned long id)
{
	struct imap_session s;
	struct imap_limits limits;
	struct imap_event ev;
	const char *error, *why = NULL;

	memset(&s, 0, sizeof(s));
	s.shared = shared;
	s.id = id;
	s.state = IMAP_STATE_NOT_AUTH;
	s.login_delay_ms = shared->cfg->login_delay_ms;
	imap_peer_name(fd, s.peer, sizeof(s.peer));
	/* Replies carry decrypted mail: wiped as they go. */
	sb_buf_init_secret(&s.out, SIZE_MAX);
	imap_limits_prelogin(&limits);
	s.reader = imap_reader_new(&limits);
	s.conn = sb_conn_new(fd, limits.max_line,
	                     shared->cfg->prelogin_timeout_ms);
	/*
	 * A client that takes nothing must not hold the server's stop: a
	 * write (or a TLS handshake, or a read) that waits gives up.
	 */
	sb_conn_set_cancel(s.conn, shared->stop_fd);
	sb_log_info("imap %lu: connection from %s%s", id, s.peer,
	            tls ? " (TLS)" : "");
	if (tls) {
		if (sb_conn_tls_accept(s.conn, shared->cfg->tls, &error) < 0) {
			sb_log_info("imap %lu: TLS handshake failed: %s", id,
			            error);
			goto out;
		}
		s.tls = true;
	}
	imap_reply(&s, "* OK [CAPABILITY %s] Saltbridge ready",
	           imap_capabilities(&s));
	while (s.state != IMAP_STATE_LOGOUT && !s.broken) {
		if (imap_next_event(&s, &ev, &why) == 0) {
			if (why != NULL)
				imap_reply(&s, "* BYE %s", why);
			break;
		}
		switch (ev.type) {
		case IMAP_EV_LITERAL:
			if (!imap_literal(&s, &ev))
				s.state = IMAP_STATE_LOGOUT;
			break;
		case IMAP_EV_COMMAND:
			imap_command(&s, &ev);
			/* What was read of it (a LOGIN's password...) goes. */
			explicit_bzero(s.in, s.in_pos);
			break;
		case IMAP_EV_ERROR:
			if (ev.tag.len > 0)
				imap_reply(&s, "%.*s BAD %s", (int)ev.tag.len,
				           ev.tag.p, ev.error_text);
			else
				imap_reply(&s, "* BAD %s", ev.error_text);
			if (ev.must_close) {
				imap_reply(&s, "* BYE Too much bad input");
				s.state = IMAP_STATE_LOGOUT;
			}
			break;
		default:
			/* Raw lines and streamed data are asked for by
			 * commands. */
			break;
		}
		if (!imap_flush(&s))
			break;
	}
	(void)imap_flush(&s);
	sb_log_info("imap %lu: closed%s%s", id, why != NULL ? ": " : "",
	            why != NULL ? why : "");
out:
	explicit_bzero(s.in, sizeof(s.in));
	imap_view_close(&s);
	store_close(&s.st);
	sb_conn_free(&s.conn);
	imap_reader_free(&s.reader);
	sb_buf_free(&s.out);
	free(s.user);
}
