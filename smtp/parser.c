/*
 * Command lines, verbs, paths and ESMTP parameters (RFC 5321 4.1.2, with
 * RFC 6531's UTF-8 for SMTPUTF8). See parser.h.
 */
#include "parser.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* The longest verb (RFC 5321's are 4 letters; STARTTLS is 8). */
#define SMTP_VERB_MAX 16
/* The longest ESMTP keyword taken. */
#define SMTP_KEYWORD_MAX 32

static const struct smtp_error smtp_err_mail_syntax = {
        501, "5.5.4", "Syntax: MAIL FROM:<address> [parameters]"};
static const struct smtp_error smtp_err_rcpt_syntax = {
        501, "5.5.4", "Syntax: RCPT TO:<address>"};
static const struct smtp_error smtp_err_sender = {501, "5.1.7",
                                                  "Bad sender address syntax"};
static const struct smtp_error smtp_err_recipient = {
        501, "5.1.3", "Bad recipient address syntax"};
static const struct smtp_error smtp_err_sender_long = {
        501, "5.1.7", "Sender address too long"};
static const struct smtp_error smtp_err_recipient_long = {
        501, "5.1.3", "Recipient address too long"};
static const struct smtp_error smtp_err_recipient_null = {
        501, "5.1.3", "The null path <> is not a recipient"};
static const struct smtp_error smtp_err_param = {501, "5.5.4",
                                                 "Bad parameter syntax"};
static const struct smtp_error smtp_err_param_twice = {
        501, "5.5.4", "A parameter is given twice"};
static const struct smtp_error smtp_err_size = {501, "5.5.4",
                                                "SIZE takes a number"};
static const struct smtp_error smtp_err_body = {501, "5.5.4",
                                                "BODY takes 7BIT or 8BITMIME"};
static const struct smtp_error smtp_err_smtputf8 = {501, "5.5.4",
                                                    "SMTPUTF8 takes no value"};
static const struct smtp_error smtp_err_mail_unknown = {
        555, "5.5.4", "Unsupported MAIL FROM parameter"};
static const struct smtp_error smtp_err_rcpt_param = {
        555, "5.5.4", "RCPT TO takes no parameters"};

/* ---- Lines ---- */

void
smtp_line_init(struct smtp_line_reader *lr, size_t max)
{
	if (max == 0 || max > SMTP_LINE_MAX) {
		sb_log_error("smtp: invalid line limit %zu", max);
		abort();
	}
	lr->max = max;
	lr->len = 0;
	lr->too_long = false;
	lr->dirty = 0;
}

int
smtp_line_feed(struct smtp_line_reader *lr, const char *in, size_t len,
               size_t *consumed_r, struct sb_sv *line_r)
{
	const char *lf = len > 0 ? memchr(in, '\n', len) : NULL;
	size_t n = lf != NULL ? (size_t)(lf - in) : len;

	*consumed_r = lf != NULL ? n + 1 : len;
	/* Up to max bytes of the line and a CR that may end it. */
	if (!lr->too_long && n > lr->max + 1 - lr->len) {
		explicit_bzero(lr->buf, lr->len);
		lr->len = 0;
		lr->too_long = true;
	}
	if (!lr->too_long && n > 0) {
		memcpy(lr->buf + lr->len, in, n);
		lr->len += n;
		/* With the NUL written after it. */
		if (lr->dirty < lr->len + 1)
			lr->dirty = lr->len + 1;
	}
	if (lf == NULL)
		return 0;
	if (lr->too_long) {
		lr->too_long = false;
		return -1;
	}
	n = lr->len;
	lr->len = 0;
	if (n > 0 && lr->buf[n - 1] == '\r')
		n--;
	if (n > lr->max) {
		explicit_bzero(lr->buf, n);
		return -1;
	}
	lr->buf[n] = '\0';
	*line_r = sb_sv(lr->buf, n);
	return 1;
}

void
smtp_line_wipe(struct smtp_line_reader *lr)
{
	/* A line being read stays. */
	if (lr->dirty > lr->len)
		explicit_bzero(lr->buf + lr->len, lr->dirty - lr->len);
	lr->dirty = lr->len;
}

static bool
smtp_is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
smtp_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

int
smtp_parse_verb(struct sb_sv line, struct sb_sv *verb_r, struct sb_sv *args_r)
{
	size_t i = 0;

	while (i < line.len && i <= SMTP_VERB_MAX &&
	       smtp_is_alpha((unsigned char)line.p[i]))
		i++;
	if (i == 0 || i > SMTP_VERB_MAX || (i < line.len && line.p[i] != ' '))
		return -1;
	*verb_r = sb_sv(line.p, i);
	while (i < line.len && line.p[i] == ' ')
		i++;
	*args_r = sb_sv(line.p + i, line.len - i);
	while (args_r->len > 0 && (args_r->p[args_r->len - 1] == ' ' ||
	                           args_r->p[args_r->len - 1] == '\t'))
		args_r->len--;
	return 0;
}

/* ---- UTF-8 ---- */

size_t
smtp_utf8_len(const unsigned char *p, size_t len)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (len == 0 || p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
	if (p[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (p[0] == 0xed)
		hi = 0x9f; /* surrogates */
	else if (p[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (p[0] == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (len < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* The bytes of one UTF-8 character at the cursor, 0 when it is none. */
static size_t
smtp_utf8_at(const struct sb_sv *cur)
{
	return smtp_utf8_len((const unsigned char *)cur->p, cur->len);
}

/* ---- Paths ---- */

/* What a path's parse carries along. */
struct smtp_path_ctx {
	struct sb_sv cur;
	bool utf8; /* a UTF-8 character was seen */
};

static bool
smtp_is_atext(unsigned char c)
{
	return smtp_is_alpha(c) || smtp_is_digit(c) ||
	       (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* The length of an atext character (or UTF-8 one) at the cursor, or 0. */
static size_t
smtp_atext_at(struct smtp_path_ctx *c)
{
	size_t n;

	if (c->cur.len == 0)
		return 0;
	if ((unsigned char)c->cur.p[0] < 0x80)
		return smtp_is_atext((unsigned char)c->cur.p[0]) ? 1 : 0;
	n = smtp_utf8_at(&c->cur);
	if (n > 0)
		c->utf8 = true;
	return n;
}

/* Dot-string = Atom *("." Atom): takes it, or -1 with nothing taken. */
static int
smtp_take_dot_string(struct smtp_path_ctx *c)
{
	struct sb_sv start = c->cur;
	bool need_atom = true;
	size_t n;

	for (;;) {
		if (c->cur.len > 0 && c->cur.p[0] == '.' && !need_atom) {
			sb_sv_advance(&c->cur, 1);
			need_atom = true;
			continue;
		}
		n = smtp_atext_at(c);
		if (n == 0)
			break;
		sb_sv_advance(&c->cur, n);
		need_atom = false;
	}
	if (need_atom) {
		c->cur = start;
		return -1;
	}
	return 0;
}

/*
 * Quoted-string = DQUOTE *QcontentSMTP DQUOTE: takes it and writes its
 * contents, quoted-pairs undone, into out (NUL-terminated).
 */
static int
smtp_take_quoted(struct smtp_path_ctx *c, char *out, size_t size, size_t *len_r)
{
	size_t len = 0, n;
	unsigned char ch;

	if (!sb_sv_take_char(&c->cur, '"'))
		return -1;
	for (;;) {
		if (c->cur.len == 0)
			return -1;
		ch = (unsigned char)c->cur.p[0];
		n = 1;
		if (ch == '"') {
			sb_sv_advance(&c->cur, 1);
			break;
		} else if (ch == '\\') {
			if (c->cur.len < 2 || c->cur.p[1] < 32 ||
			    c->cur.p[1] > 126)
				return -1;
			sb_sv_advance(&c->cur, 1);
		} else if (ch >= 0x80) {
			n = smtp_utf8_at(&c->cur);
			if (n == 0)
				return -1;
			c->utf8 = true;
		} else if (ch < 32 || ch > 126) {
			return -1;
		}
		if (len + n >= size)
			return -1;
		memcpy(out + len, c->cur.p, n);
		len += n;
		sb_sv_advance(&c->cur, n);
	}
	out[len] = '\0';
	*len_r = len;
	return 0;
}

/* Let-dig, Ldh-str: one label of a domain, 1 to 63 octets. */
static int
smtp_take_label(struct smtp_path_ctx *c)
{
	struct sb_sv start = c->cur;
	bool hyphen =
	        false; /* the last one was a hyphen: a label may not end so */
	size_t n;

	while (c->cur.len > 0) {
		unsigned char ch = (unsigned char)c->cur.p[0];

		if (smtp_is_alpha(ch) || smtp_is_digit(ch)) {
			n = 1;
		} else if (ch == '-' && c->cur.p != start.p) {
			n = 1;
		} else if (ch >= 0x80 && (n = smtp_utf8_at(&c->cur)) > 0) {
			c->utf8 = true; /* a U-label */
		} else {
			break;
		}
		hyphen = ch == '-';
		sb_sv_advance(&c->cur, n);
	}
	n = (size_t)(c->cur.p - start.p);
	if (n == 0 || n > 63 || hyphen)
		return -1;
	return 0;
}

/* dcontent = %d33-90 / %d94-126 */
static bool
smtp_is_dcontent(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';
}

/* A General-address-literal: Standardized-tag ":" 1*dcontent. */
static bool
smtp_general_literal(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len && (smtp_is_alpha((unsigned char)p[i]) ||
	                   smtp_is_digit((unsigned char)p[i]) || p[i] == '-'))
		i++;
	return i > 0 && i + 1 < len && p[i] == ':' && p[i - 1] != '-';
}

/*
 * address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]", every
 * byte of it dcontent (so no NUL cuts the text inet_pton reads).
 */
static int
smtp_take_address_literal(struct smtp_path_ctx *c)
{
	char text[64], addr[16];
	struct sb_sv lit;
	size_t i;

	if (!sb_sv_take_char(&c->cur, '[') ||
	    sb_sv_take_until(&c->cur, ']', SMTP_DOMAIN_MAX, &lit) < 0 ||
	    lit.len == 0)
		return -1;
	for (i = 0; i < lit.len; i++) {
		if (!smtp_is_dcontent((unsigned char)lit.p[i]))
			return -1;
	}
	if (lit.len < sizeof(text)) {
		memcpy(text, lit.p, lit.len);
		text[lit.len] = '\0';
		if (smtp_is_digit((unsigned char)text[0]))
			return inet_pton(AF_INET, text, addr) == 1 ? 0 : -1;
		if (lit.len > 5 && strncasecmp(text, "IPv6:", 5) == 0)
			return inet_pton(AF_INET6, text + 5, addr) == 1 ? 0
			                                                : -1;
	}
	return smtp_general_literal(lit.p, lit.len) ? 0 : -1;
}

/* Domain = sub-domain *("." sub-domain) / address-literal */
static int
smtp_take_domain(struct smtp_path_ctx *c)
{
	const char *start = c->cur.p;

	if (c->cur.len > 0 && c->cur.p[0] == '[')
		return smtp_take_address_literal(c);
	for (;;) {
		if (smtp_take_label(c) < 0)
			return -1;
		if (!sb_sv_take_char(&c->cur, '.'))
			break;
	}
	return (size_t)(c->cur.p - start) <= SMTP_DOMAIN_MAX ? 0 : -1;
}

/* A-d-l = At-domain *( "," At-domain ) ":", taken and forgotten. */
static int
smtp_take_source_route(struct smtp_path_ctx *c)
{
	do {
		if (!sb_sv_take_char(&c->cur, '@') || smtp_take_domain(c) < 0)
			return -1;
	} while (sb_sv_take_char(&c->cur, ','));
	return sb_sv_take_char(&c->cur, ':') ? 0 : -1;
}

/* Is s (len bytes) a dot-string? */
static bool
smtp_is_dot_string(const char *s, size_t len)
{
	struct smtp_path_ctx c = {{s, len}, false};

	return smtp_take_dot_string(&c) == 0 && c.cur.len == 0;
}

/*
 * Local-part "@" Domain into path->addr: a quoted local part that is a
 * dot-string loses its quotes; another keeps them, with only '"' and '\'
 * escaped (never longer than it was written). 0, 1 for bad syntax, 2 when
 * it is too long.
 */
static int
smtp_take_mailbox(struct smtp_path_ctx *c, struct smtp_path *path)
{
	char local[SMTP_LOCAL_MAX + 1];
	const char *start = c->cur.p;
	bool quoted = c->cur.len > 0 && c->cur.p[0] == '"';
	struct sb_sv domain;
	size_t len = 0, i;

	if (quoted ? smtp_take_quoted(c, local, sizeof(local), &len) < 0
	           : smtp_take_dot_string(c) < 0)
		return 1;
	if ((size_t)(c->cur.p - start) > SMTP_LOCAL_MAX)
		return 2;
	if (!quoted) {
		len = (size_t)(c->cur.p - start);
		memcpy(path->addr, start, len);
		path->len = len;
	} else if (smtp_is_dot_string(local, len)) {
		memcpy(path->addr, local, len);
		path->len = len;
	} else {
		path->addr[path->len++] = '"';
		for (i = 0; i < len; i++) {
			if (local[i] == '"' || local[i] == '\\')
				path->addr[path->len++] = '\\';
			path->addr[path->len++] = local[i];
		}
		path->addr[path->len++] = '"';
	}
	domain = c->cur;
	if (!sb_sv_take_char(&c->cur, '@') || smtp_take_domain(c) < 0)
		return 1;
	len = (size_t)(c->cur.p - domain.p);
	if (path->len + len > SMTP_PATH_MAX)
		return 2;
	memcpy(path->addr + path->len, domain.p, len);
	path->len += len;
	path->addr[path->len] = '\0';
	return 0;
}

/*
 * Path = "<" [ A-d-l ":" ] Mailbox ">", or "<>" when null_ok. Errors:
 * 1 for bad syntax, 2 for a path too long, 3 for a null path refused.
 */
static int
smtp_take_path(struct sb_sv *cur, bool null_ok, struct smtp_path *path)
{
	struct smtp_path_ctx c = {*cur, false};
	int ret;

	memset(path, 0, sizeof(*path));
	if (!sb_sv_take_char(&c.cur, '<'))
		return 1;
	if (sb_sv_take_char(&c.cur, '>')) {
		if (!null_ok)
			return 3;
		path->null = true;
		*cur = c.cur;
		return 0;
	}
	if (c.cur.len > 0 && c.cur.p[0] == '@') {
		if (smtp_take_source_route(&c) < 0)
			return 1;
		/* It is dropped: only the mailbox may need SMTPUTF8. */
		c.utf8 = false;
	}
	ret = smtp_take_mailbox(&c, path);
	if (ret != 0)
		return ret;
	if (!sb_sv_take_char(&c.cur, '>'))
		return 1;
	/* RFC 5321 4.5.3.1.3: 256 octets with the punctuation. */
	if ((size_t)(c.cur.p - cur->p) > SMTP_PATH_MAX)
		return 2;
	path->utf8 = c.utf8;
	*cur = c.cur;
	return 0;
}

/* ---- Parameters ---- */

/* esmtp-param = esmtp-keyword ["=" esmtp-value] */
struct smtp_param {
	struct sb_sv keyword;
	struct sb_sv value;
	bool has_value;
};

/*
 * The next parameter after at least one space, into *param_r. 1 with a
 * parameter, 0 at the end, -1 on bad syntax.
 */
static int
smtp_next_param(struct sb_sv *cur, struct smtp_param *param_r)
{
	struct sb_sv token;
	size_t i, n;

	if (cur->len == 0)
		return 0;
	if (sb_sv_skip_ws(cur, cur->len) == 0)
		return -1;
	if (cur->len == 0)
		return 0;
	for (i = 0; i < cur->len && cur->p[i] != ' ' && cur->p[i] != '\t'; i++)
		;
	token = sb_sv(cur->p, i);
	sb_sv_advance(cur, i);
	for (i = 0; i < token.len && token.p[i] != '='; i++) {
		if (!smtp_is_alpha((unsigned char)token.p[i]) &&
		    !smtp_is_digit((unsigned char)token.p[i]) &&
		    (i == 0 || token.p[i] != '-'))
			return -1;
	}
	if (i == 0 || i > SMTP_KEYWORD_MAX)
		return -1;
	param_r->keyword = sb_sv(token.p, i);
	param_r->has_value = i < token.len;
	param_r->value = sb_sv_sub(token, i + 1, token.len);
	if (param_r->has_value && param_r->value.len == 0)
		return -1;
	/* esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii) */
	for (i = 0; i < param_r->value.len; i += n) {
		unsigned char ch = (unsigned char)param_r->value.p[i];

		n = 1;
		if (ch >= 0x80)
			n = smtp_utf8_len(
			        (const unsigned char *)param_r->value.p + i,
			        param_r->value.len - i);
		else if (ch < 33 || ch > 126 || ch == '=')
			return -1;
		if (n == 0)
			return -1;
	}
	return 1;
}

/* SIZE's value: 1 to 20 digits; past UINT64_MAX it stays there. */
static int
smtp_size_value(struct sb_sv v, uint64_t *size_r)
{
	uint64_t size = 0;
	size_t i;

	if (v.len == 0 || v.len > 20)
		return -1;
	for (i = 0; i < v.len; i++) {
		unsigned d = (unsigned char)v.p[i] - '0';

		if (d > 9)
			return -1;
		size = size > (UINT64_MAX - d) / 10 ? UINT64_MAX
		                                    : size * 10 + d;
	}
	*size_r = size;
	return 0;
}

/* One MAIL FROM parameter into params. */
static int
smtp_mail_param(const struct smtp_param *p, struct smtp_mail_params *params,
                const struct smtp_error **error_r)
{
	if (sb_sv_eq_cstr_ci(p->keyword, "SIZE")) {
		if (params->has_size)
			goto twice;
		params->has_size = true;
		if (!p->has_value ||
		    smtp_size_value(p->value, &params->size) < 0)
			goto fail_size;
	} else if (sb_sv_eq_cstr_ci(p->keyword, "BODY")) {
		if (params->body != SMTP_BODY_NONE)
			goto twice;
		if (sb_sv_eq_cstr_ci(p->value, "7BIT"))
			params->body = SMTP_BODY_7BIT;
		else if (sb_sv_eq_cstr_ci(p->value, "8BITMIME"))
			params->body = SMTP_BODY_8BITMIME;
		else
			goto fail_body;
	} else if (sb_sv_eq_cstr_ci(p->keyword, "SMTPUTF8")) {
		if (params->smtputf8)
			goto twice;
		if (p->has_value)
			goto fail_smtputf8;
		params->smtputf8 = true;
	} else if (sb_sv_eq_cstr_ci(p->keyword, "AUTH")) {
		if (params->has_auth)
			goto twice;
		if (!p->has_value)
			goto fail_param;
		params->has_auth = true;
	} else {
		*error_r = &smtp_err_mail_unknown;
		return -1;
	}
	return 0;
twice:
	*error_r = &smtp_err_param_twice;
	return -1;
fail_size:
	*error_r = &smtp_err_size;
	return -1;
fail_body:
	*error_r = &smtp_err_body;
	return -1;
fail_smtputf8:
	*error_r = &smtp_err_smtputf8;
	return -1;
fail_param:
	*error_r = &smtp_err_param;
	return -1;
}

/* "FROM:" or "TO:", then spaces clients put there, then the path. */
static int
smtp_parse_path_arg(struct sb_sv *cur, const char *prefix, bool sender,
                    struct smtp_path *path_r, const struct smtp_error **error_r)
{
	int ret;

	if (!sb_sv_take_prefix_ci(cur, prefix)) {
		*error_r =
		        sender ? &smtp_err_mail_syntax : &smtp_err_rcpt_syntax;
		return -1;
	}
	(void)sb_sv_skip_ws(cur, cur->len);
	ret = smtp_take_path(cur, sender, path_r);
	if (ret == 0 && cur->len > 0 && cur->p[0] != ' ' && cur->p[0] != '\t')
		ret = 1;
	if (ret == 0)
		return 0;
	if (ret == 2)
		*error_r = sender ? &smtp_err_sender_long
		                  : &smtp_err_recipient_long;
	else if (ret == 3)
		*error_r = &smtp_err_recipient_null;
	else
		*error_r = sender ? &smtp_err_sender : &smtp_err_recipient;
	return -1;
}

int
smtp_parse_mail(struct sb_sv args, struct smtp_path *path_r,
                struct smtp_mail_params *params_r,
                const struct smtp_error **error_r)
{
	struct smtp_param p;
	int ret;

	memset(params_r, 0, sizeof(*params_r));
	if (smtp_parse_path_arg(&args, "FROM:", true, path_r, error_r) < 0)
		return -1;
	while ((ret = smtp_next_param(&args, &p)) > 0) {
		if (smtp_mail_param(&p, params_r, error_r) < 0)
			return -1;
	}
	if (ret < 0) {
		*error_r = &smtp_err_param;
		return -1;
	}
	return 0;
}

int
smtp_parse_rcpt(struct sb_sv args, struct smtp_path *path_r,
                const struct smtp_error **error_r)
{
	struct smtp_param p;
	int ret;

	if (smtp_parse_path_arg(&args, "TO:", false, path_r, error_r) < 0)
		return -1;
	ret = smtp_next_param(&args, &p);
	if (ret != 0) {
		*error_r = ret < 0 ? &smtp_err_param : &smtp_err_rcpt_param;
		return -1;
	}
	return 0;
}
