/* The SMTP server's internals, shared by server.c, session.c and cmd-*.c. */
#ifndef SB_SMTP_PRIVATE_H
#define SB_SMTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/net.h"
#include "common/sv.h"
#include "smtp/data.h"
#include "smtp/parser.h"
#include "smtp/smtp.h"

/* Bytes read from the client at a time. */
#define SMTP_READ_SIZE 16384
/* Bytes of a message handed to the backend at a time, at most. */
#define SMTP_DATA_CHUNK 16384

/*
 * Command lines, without their CRLF. RFC 5321 4.5.3.1.4 counts 512
 * octets with it; the extensions' parameters of MAIL and RCPT make room
 * for themselves (RFC 1870 4, RFC 4954 5, RFC 6531), and AUTH takes
 * 12288 octets (RFC 4954 4).
 */
#define SMTP_CMD_MAX      (SMTP_COMMAND_LINE_MAX - 2)
#define SMTP_CMD_PATH_MAX (SMTP_CMD_MAX + 512)
#define SMTP_CMD_AUTH_MAX SMTP_LINE_MAX
/* A text line of DATA, without its CRLF (RFC 5321 4.5.3.1.6). */
#define SMTP_DATA_LINE_MAX (SMTP_TEXT_LINE_MAX - 2)

/*
 * Syntax and sequence errors (500 to 504, 555) one session may make
 * before it is closed (421); a message queued starts the count again.
 */
#define SMTP_MAX_ERRORS 20
/* Longest user name or password taken. */
#define SMTP_CREDENTIAL_MAX 1024

/* What the server shares with its sessions. */
struct smtp_shared {
	const struct smtp_config *cfg;
	int stop_fd; /* eventfd: the server stops */
	/*
	 * For tests and the fuzz target, which have no TLS client: AUTH is
	 * offered and taken on a plain connection, as after STARTTLS. The
	 * server never sets it.
	 */
	bool auth_in_clear;
};

/*
 * Where a session is. Logging in and TLS are flags beside it: they do
 * not change which commands a state takes, only their answers.
 */
enum smtp_state {
	SMTP_STATE_NEW,        /* before the greeting (a TLS handshake) */
	SMTP_STATE_CONNECTED,  /* greeted; no EHLO or HELO yet */
	SMTP_STATE_HELO,       /* EHLO or HELO done; no transaction */
	SMTP_STATE_AUTH_PLAIN, /* AUTH PLAIN: waiting for the response */
	SMTP_STATE_AUTH_USER,  /* AUTH LOGIN: waiting for the user name */
	SMTP_STATE_AUTH_PASS,  /* AUTH LOGIN: waiting for the password */
	SMTP_STATE_MAIL,       /* MAIL FROM taken */
	SMTP_STATE_RCPT,       /* RCPT TO taken at least once */
	SMTP_STATE_BODY,       /* DATA: reading the message */
	SMTP_STATE_QUIT,       /* the session ends */
};

/* Why a message in DATA is refused at its end. */
enum smtp_data_failure {
	SMTP_DATA_OK,
	SMTP_DATA_LINE_LONG, /* a line longer than SMTP_DATA_LINE_MAX */
	SMTP_DATA_TOO_LARGE, /* past the size limit */
	SMTP_DATA_BACKEND,   /* data_write failed: data_error says why */
};

struct smtp_session {
	const struct smtp_shared *shared;
	const struct smtp_config *cfg;
	struct sb_conn *conn;
	unsigned long id; /* for log lines */
	char peer[64];    /* for log lines */
	enum smtp_state state;
	bool tls;    /* the connection is TLS now */
	bool esmtp;  /* EHLO (not HELO) was the last greeting */
	bool broken; /* a write failed: the session ends */
	/* Bytes read from the client not used yet: in[in_pos..in_len). */
	char in[SMTP_READ_SIZE];
	size_t in_pos, in_len;
	struct smtp_line_reader line;
	/* Replies, written when the input is used up (RFC 2920). */
	struct sb_buf out;
	unsigned errors; /* see SMTP_MAX_ERRORS */
	/* Logging in. */
	bool authenticated;
	int64_t account;
	char *user;       /* the address logged in with */
	struct store *st; /* this session's connection to the replica */
	struct sb_buf
	        auth_user; /* AUTH LOGIN's user name, until its password */
	unsigned login_failures;
	int login_delay_ms;
	/* The transaction: MAIL FROM, RCPT TO. */
	char *sender;
	char **recipients;
	size_t n_recipients, recipients_alloc;
	bool smtputf8;
	/* DATA. */
	void *data; /* the backend's handle, until finish or abort */
	struct smtp_data_reader reader;
	enum smtp_data_failure failure;
	char data_error[256];
	char chunk[SMTP_DATA_CHUNK];
};

/* ---- session.c ---- */

/*
 * Serves one connection on fd (taken over: closed at the end) until the
 * client quits or leaves, a timer fires or shared->stop_fd is signalled;
 * with tls, the TLS handshake comes first. server.c runs it in a thread
 * per connection; tests and fuzz-session.c on one end of a socketpair.
 */
void smtp_session_run(const struct smtp_shared *shared, int fd, bool tls,
                      unsigned long id);

/* Every change of state goes through here (logged at debug level). */
void smtp_session_set_state(struct smtp_session *s, enum smtp_state state);
const char *smtp_state_name(enum smtp_state state);

/*
 * Appends a reply line: the code, the enhanced status code when the
 * client said EHLO (status may be NULL), the text; control characters of
 * the text become '?'. Replies of 500 to 504 and 555 count as errors.
 */
void smtp_reply(struct smtp_session *s, unsigned code, const char *status,
                const char *fmt, ...) SB_PRINTF(4, 5);
/* A line of a multi-line reply ("250-..."): no status code. */
void smtp_reply_more(struct smtp_session *s, unsigned code, const char *fmt,
                     ...) SB_PRINTF(3, 4);
void smtp_reply_error(struct smtp_session *s, const struct smtp_error *e);
/* Writes the replies; false (and s->broken) when that failed. */
bool smtp_flush(struct smtp_session *s);

/* AUTH may be used: on TLS (or in the clear for tests). */
bool smtp_secure(const struct smtp_session *s);
/* Forgets MAIL FROM and RCPT TO (the state is the caller's). */
void smtp_transaction_reset(struct smtp_session *s);
/* A backend's error for a reply: never NULL. */
const char *smtp_backend_error(const char *error);

/* ---- Commands: check answers and returns false when it must not run ---- */

typedef bool smtp_check_fn(struct smtp_session *s, struct sb_sv args);
typedef void smtp_proceed_fn(struct smtp_session *s, struct sb_sv args);

/* cmd-any.c: EHLO, HELO, RSET, NOOP, QUIT, VRFY, HELP and the rest. */
smtp_check_fn smtp_check_ehlo, smtp_check_helo, smtp_check_no_args;
smtp_check_fn smtp_check_vrfy;
smtp_proceed_fn smtp_proceed_ehlo, smtp_proceed_helo, smtp_proceed_rset;
smtp_proceed_fn smtp_proceed_noop, smtp_proceed_quit, smtp_proceed_vrfy;
smtp_proceed_fn smtp_proceed_help, smtp_proceed_not_implemented;

/* cmd-auth.c: STARTTLS, AUTH. */
smtp_check_fn smtp_check_starttls, smtp_check_auth;
smtp_proceed_fn smtp_proceed_starttls, smtp_proceed_auth;
/* A line of the client's in an AUTH state: a SASL response. */
void smtp_auth_response(struct smtp_session *s, struct sb_sv line);
/* The AUTH exchange is abandoned (a line too long): back to HELO. */
void smtp_auth_abandon(struct smtp_session *s);
bool smtp_state_is_auth(enum smtp_state state);

/* cmd-mail.c: MAIL, RCPT, DATA. */
smtp_check_fn smtp_check_mail, smtp_check_rcpt, smtp_check_data;
smtp_proceed_fn smtp_proceed_mail, smtp_proceed_rcpt, smtp_proceed_data;
/* Input in the BODY state: the message, up to its end. */
void smtp_data_input(struct smtp_session *s);

#endif
