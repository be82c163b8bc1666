/*
 * The SMTP command parser (RFC 5321 4.1): command lines read from a
 * client's stream, their verb and arguments, the paths of MAIL FROM and
 * RCPT TO and their ESMTP parameters. It does no I/O: the line reader is
 * fed bytes in pieces of any size, down to one, and can stop and resume at
 * any byte; the rest are pure functions of a line.
 *
 * A refusal is a struct smtp_error: the reply code, the enhanced status
 * code (RFC 3463) and a text, for the session to send as they are.
 */
#ifndef SB_SMTP_PARSER_H
#define SB_SMTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/compiler.h"
#include "common/sv.h"

/*
 * The longest line the reader takes, without its CRLF: an AUTH command
 * or SASL response (RFC 4954 4: 12288 octets with the CRLF). The session
 * holds other commands to shorter limits.
 */
#define SMTP_LINE_MAX (12288 - 2)

/* RFC 5321 4.5.3.1: a path, a local part and a domain, in octets. */
#define SMTP_PATH_MAX   256
#define SMTP_LOCAL_MAX  64
#define SMTP_DOMAIN_MAX 255

/* A reply to a line the parser refused. */
struct smtp_error {
	unsigned code;      /* 501, 555, ... */
	const char *status; /* "5.1.7": enhanced status code */
	const char *text;
};

/*
 * The line reader: one line at a time, consumed from the input up to and
 * including its LF, so the bytes after it stay with the caller (the
 * message of a DATA, or the TLS handshake after STARTTLS). A line ends at
 * LF; a CR right before it is part of the ending. A line longer than max
 * is not kept: its bytes are thrown away up to its LF, and its end is
 * reported as too long, so every line gets exactly one answer.
 */
struct smtp_line_reader {
	size_t max;    /* the longest line, without its ending */
	size_t len;    /* bytes in buf */
	bool too_long; /* the current line passed max: skipping it */
	size_t dirty;  /* bytes of buf written since the last wipe */
	char buf[SMTP_LINE_MAX + 2];
};

/* An empty reader for lines of at most max (1..SMTP_LINE_MAX) bytes. */
void smtp_line_init(struct smtp_line_reader *lr, size_t max);
/*
 * Reads from in (len bytes) up to the end of the next line; *consumed_r
 * says how many bytes it took. 1: a line, *line_r without its ending,
 * NUL-terminated, valid until the next call (it may hold NULs). 0: no
 * line ended within in (all of it was taken): feed more. -1: a line
 * ended that was longer than max.
 */
int smtp_line_feed(struct smtp_line_reader *lr, const char *in, size_t len,
                   size_t *consumed_r, struct sb_sv *line_r) SB_WUR;
/*
 * Wipes the lines the reader gave (an AUTH line carries a password); the
 * start of a line not ended yet stays.
 */
void smtp_line_wipe(struct smtp_line_reader *lr);

/*
 * A command line: its verb (1..16 ASCII letters) and its arguments, the
 * rest after the spaces that follow the verb, without trailing spaces.
 * -1 when the line does not start with a verb.
 */
int smtp_parse_verb(struct sb_sv line, struct sb_sv *verb_r,
                    struct sb_sv *args_r) SB_WUR;

/*
 * A reverse-path or forward-path: the Mailbox without its angle brackets
 * and source route, its local part unquoted when it can be a dot-string.
 */
struct smtp_path {
	char addr[SMTP_PATH_MAX + 1]; /* NUL-terminated; "" for <> */
	size_t len;
	bool null; /* <> */
	bool utf8; /* it holds UTF-8 (RFC 6531): SMTPUTF8 is needed */
};

enum smtp_body {
	SMTP_BODY_NONE, /* no BODY= parameter */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

/* The parameters of MAIL FROM this server knows. */
struct smtp_mail_params {
	bool has_size;
	uint64_t size;       /* SIZE= (RFC 1870); UINT64_MAX when larger */
	enum smtp_body body; /* BODY= (RFC 6152) */
	bool smtputf8;       /* SMTPUTF8 (RFC 6531) */
	bool has_auth;       /* AUTH= (RFC 4954 5), taken and ignored */
};

/*
 * The arguments of MAIL: "FROM:<path>" and parameters (spaces are allowed
 * after the colon, as clients send them). 0, or -1 with *error_r.
 */
int smtp_parse_mail(struct sb_sv args, struct smtp_path *path_r,
                    struct smtp_mail_params *params_r,
                    const struct smtp_error **error_r) SB_WUR;
/*
 * The arguments of RCPT: "TO:<path>"; a null path is refused, and so is
 * any parameter (none is advertised). 0, or -1 with *error_r.
 */
int smtp_parse_rcpt(struct sb_sv args, struct smtp_path *path_r,
                    const struct smtp_error **error_r) SB_WUR;

/*
 * The length of the valid UTF-8 sequence (2 to 4 bytes: no overlong
 * form, no surrogate, nothing past U+10FFFF) at the start of p, or 0.
 */
size_t smtp_utf8_len(const unsigned char *p, size_t len);

#endif
