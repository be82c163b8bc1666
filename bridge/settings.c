/*
 * The settings file: its keys and values, the strict parser, and the
 * rewrite of one line that `saltbridge set` makes. See settings.h.
 */
#include "bridge/settings.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge/bridge.h"
#include "common/file.h"

enum setting_type {
	SETTING_PORT,
	SETTING_ADDRESS,
	SETTING_LOG_LEVEL,
};

struct setting_def {
	const char *name;
	enum setting_type type;
	const char *about;
};

static const struct setting_def setting_defs[BRIDGE_SETTINGS_COUNT] = {
        [BRIDGE_SETTING_IMAP_PORT] = {"imap-port", SETTING_PORT,
                                      "IMAP with STARTTLS"},
        [BRIDGE_SETTING_IMAPS_PORT] = {"imaps-port", SETTING_PORT,
                                       "IMAP with implicit TLS"},
        [BRIDGE_SETTING_SMTP_PORT] = {"smtp-port", SETTING_PORT,
                                      "SMTP submission with STARTTLS"},
        [BRIDGE_SETTING_SMTPS_PORT] = {"smtps-port", SETTING_PORT,
                                       "SMTP submission with implicit TLS"},
        [BRIDGE_SETTING_LISTEN] = {"listen", SETTING_ADDRESS,
                                   "the address the listeners bind to"},
        [BRIDGE_SETTING_LOG_LEVEL] = {"log-level", SETTING_LOG_LEVEL,
                                      "how much serve logs"},
};

/* The listeners, in the order their port conflicts are reported. */
static const enum bridge_setting setting_ports[] = {
        BRIDGE_SETTING_IMAP_PORT,
        BRIDGE_SETTING_IMAPS_PORT,
        BRIDGE_SETTING_SMTP_PORT,
        BRIDGE_SETTING_SMTPS_PORT,
};

/* What the file starts with when `saltbridge set` makes it. */
static const char settings_header[] =
        "# Saltbridge's settings: 'saltbridge set' lists and changes "
        "them, and\n"
        "# 'saltbridge serve' reads them at its start and on SIGHUP "
        "(docs/bridge.md).\n";

void
bridge_settings_default(struct bridge_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->imap_port = 1143;
	s->imaps_port = BRIDGE_PORT_OFF;
	s->smtp_port = 1025;
	s->smtps_port = BRIDGE_PORT_OFF;
	snprintf(s->listen, sizeof(s->listen), "%s", BRIDGE_LISTEN_DEFAULT);
	s->log_level = SB_LOG_WARN;
}

const char *
bridge_setting_name(enum bridge_setting key)
{
	return setting_defs[key].name;
}

const char *
bridge_setting_about(enum bridge_setting key)
{
	return setting_defs[key].about;
}

int
bridge_setting_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		if (strlen(setting_defs[i].name) == len &&
		    memcmp(setting_defs[i].name, name, len) == 0)
			return (int)i;
	}
	return -1;
}

static unsigned *
setting_port(struct bridge_settings *s, enum bridge_setting key)
{
	switch (key) {
	case BRIDGE_SETTING_IMAP_PORT:
		return &s->imap_port;
	case BRIDGE_SETTING_IMAPS_PORT:
		return &s->imaps_port;
	case BRIDGE_SETTING_SMTP_PORT:
		return &s->smtp_port;
	case BRIDGE_SETTING_SMTPS_PORT:
		return &s->smtps_port;
	default:
		return NULL;
	}
}

static unsigned
setting_port_get(const struct bridge_settings *s, enum bridge_setting key)
{
	return *setting_port((struct bridge_settings *)s, key);
}

/*
 * A value for a message: at most 40 bytes, anything but printable ASCII
 * as '?', "..." when cut.
 */
static void
setting_shown(const char *v, size_t len, char out[48])
{
	size_t i, n = len > 40 ? 40 : len;

	for (i = 0; i < n; i++)
		out[i] = v[i] < 0x20 || v[i] > 0x7e ? '?' : v[i];
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* "off", or a port in decimal without sign or leading zero. */
static int SB_WUR
setting_port_parse(const char *v, size_t len, unsigned *port_r)
{
	unsigned long n = 0;
	size_t i;

	if (len == 3 && memcmp(v, "off", 3) == 0) {
		*port_r = BRIDGE_PORT_OFF;
		return 0;
	}
	if (len == 0 || len > 5 || (len > 1 && v[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned long)(v[i] - '0');
	}
	if (n > 65535)
		return -1;
	*port_r = (unsigned)n;
	return 0;
}

/* An IPv4 or IPv6 literal, kept as inet_ntop writes it. */
static int SB_WUR
setting_address_parse(const char *v, size_t len, char out[BRIDGE_LISTEN_MAX])
{
	unsigned char addr[16];
	char copy[BRIDGE_LISTEN_MAX];

	/* Zeroed past the text too: settings compare as bytes. */
	memset(out, 0, BRIDGE_LISTEN_MAX);
	if (len == 0 || len >= sizeof(copy) || memchr(v, '\0', len) != NULL)
		return -1;
	memcpy(copy, v, len);
	copy[len] = '\0';
	if (inet_pton(AF_INET, copy, addr) == 1)
		return inet_ntop(AF_INET, addr, out, BRIDGE_LISTEN_MAX) != NULL
		               ? 0
		               : -1;
	if (inet_pton(AF_INET6, copy, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, BRIDGE_LISTEN_MAX) != NULL
		               ? 0
		               : -1;
	return -1;
}

static int SB_WUR
setting_log_level_parse(const char *v, size_t len, enum sb_log_level *level_r)
{
	char copy[16];

	if (len == 0 || len >= sizeof(copy) || memchr(v, '\0', len) != NULL)
		return -1;
	memcpy(copy, v, len);
	copy[len] = '\0';
	return sb_log_level_parse(copy, level_r);
}

int
bridge_setting_parse(struct bridge_settings *s, enum bridge_setting key,
                     const char *value, size_t len, const char **error_r)
{
	const struct setting_def *d = &setting_defs[key];
	char shown[48], listen[BRIDGE_LISTEN_MAX];
	enum sb_log_level level;
	unsigned port;

	setting_shown(value, len, shown);
	switch (d->type) {
	case SETTING_PORT:
		if (setting_port_parse(value, len, &port) != 0) {
			*error_r = bridge_errorf("%s: '%s' is not a port (0 to "
			                         "65535, 0 for any free one, "
			                         "or off)",
			                         d->name, shown);
			return -1;
		}
		*setting_port(s, key) = port;
		break;
	case SETTING_ADDRESS:
		if (setting_address_parse(value, len, listen) != 0) {
			*error_r =
			        bridge_errorf("%s: '%s' is not an IP address "
			                      "(such as 127.0.0.1 or ::1)",
			                      d->name, shown);
			return -1;
		}
		memcpy(s->listen, listen, sizeof(listen));
		break;
	case SETTING_LOG_LEVEL:
		if (setting_log_level_parse(value, len, &level) != 0) {
			*error_r =
			        bridge_errorf("%s: '%s' is not a level (debug, "
			                      "info, warn or error)",
			                      d->name, shown);
			return -1;
		}
		s->log_level = level;
		break;
	}
	s->given |= 1u << key;
	return 0;
}

void
bridge_setting_reset(struct bridge_settings *s, enum bridge_setting key)
{
	struct bridge_settings d;

	bridge_settings_default(&d);
	switch (setting_defs[key].type) {
	case SETTING_PORT:
		*setting_port(s, key) = setting_port_get(&d, key);
		break;
	case SETTING_ADDRESS:
		memcpy(s->listen, d.listen, sizeof(d.listen));
		break;
	case SETTING_LOG_LEVEL:
		s->log_level = d.log_level;
		break;
	}
	s->given &= ~(1u << key);
}

void
bridge_setting_format(const struct bridge_settings *s, enum bridge_setting key,
                      char out[BRIDGE_SETTING_VALUE_MAX])
{
	unsigned port;

	switch (setting_defs[key].type) {
	case SETTING_PORT:
		port = setting_port_get(s, key);
		if (port == BRIDGE_PORT_OFF)
			snprintf(out, BRIDGE_SETTING_VALUE_MAX, "off");
		else
			snprintf(out, BRIDGE_SETTING_VALUE_MAX, "%u", port);
		break;
	case SETTING_ADDRESS:
		snprintf(out, BRIDGE_SETTING_VALUE_MAX, "%s", s->listen);
		break;
	case SETTING_LOG_LEVEL:
		snprintf(out, BRIDGE_SETTING_VALUE_MAX, "%s",
		         sb_log_level_name(s->log_level));
		break;
	}
}

int
bridge_settings_check(const struct bridge_settings *s, const char **error_r)
{
	size_t i, j;
	unsigned a, b;

	for (i = 0; i < SB_N_ELEMENTS(setting_ports); i++) {
		a = setting_port_get(s, setting_ports[i]);
		for (j = i + 1; j < SB_N_ELEMENTS(setting_ports); j++) {
			b = setting_port_get(s, setting_ports[j]);
			if (a != b || a == 0 || a == BRIDGE_PORT_OFF)
				continue;
			*error_r = bridge_errorf(
			        "%s and %s are both %u: two listeners cannot "
			        "share a port",
			        bridge_setting_name(setting_ports[i]),
			        bridge_setting_name(setting_ports[j]), a);
			return -1;
		}
	}
	return 0;
}

void
bridge_settings_overlay(struct bridge_settings *s,
                        const struct bridge_settings *top)
{
	size_t i;

	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		if ((top->given & (1u << i)) == 0)
			continue;
		switch (setting_defs[i].type) {
		case SETTING_PORT:
			*setting_port(s, i) = setting_port_get(top, i);
			break;
		case SETTING_ADDRESS:
			memcpy(s->listen, top->listen, sizeof(s->listen));
			break;
		case SETTING_LOG_LEVEL:
			s->log_level = top->log_level;
			break;
		}
		s->given |= 1u << i;
	}
}

bool
bridge_settings_imap_differ(const struct bridge_settings *a,
                            const struct bridge_settings *b)
{
	return a->imap_port != b->imap_port || a->imaps_port != b->imaps_port ||
	       strcmp(a->listen, b->listen) != 0;
}

bool
bridge_settings_smtp_differ(const struct bridge_settings *a,
                            const struct bridge_settings *b)
{
	return a->smtp_port != b->smtp_port || a->smtps_port != b->smtps_port ||
	       strcmp(a->listen, b->listen) != 0;
}

bool
bridge_listen_is_loopback(const char *addr)
{
	unsigned char a[16];
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
	                                         0, 0, 0, 0, 0xff, 0xff};

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) != 1)
		return false;
	if (memcmp(a, mapped, sizeof(mapped)) == 0)
		return a[12] == 127;
	return memcmp(a, &in6addr_loopback, 16) == 0;
}

/* ---- The parser ---- */

static bool
setting_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* A line split into its key and value (pointers into the line). */
struct setting_pair {
	const char *key, *value;
	size_t key_len, value_len;
};

/*
 * 0 for a blank or comment line, 1 for KEY = VALUE (either may be empty),
 * -1 when there is no '=' after the key.
 */
static int
setting_split(const char *line, size_t len, struct setting_pair *p)
{
	size_t i = 0, end;

	while (i < len && setting_blank(line[i]))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	p->key = line + i;
	while (i < len && !setting_blank(line[i]) && line[i] != '=')
		i++;
	p->key_len = (size_t)(line + i - p->key);
	while (i < len && setting_blank(line[i]))
		i++;
	if (i == len || line[i] != '=')
		return -1;
	i++;
	while (i < len && setting_blank(line[i]))
		i++;
	end = len;
	while (end > i && setting_blank(line[end - 1]))
		end--;
	p->value = line + i;
	p->value_len = end - i;
	return 1;
}

static int SB_PRINTF(2, 3)
        parser_fail(struct bridge_settings_parser *pp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pp->error, sizeof(pp->error), fmt, ap);
	va_end(ap);
	pp->failed = true;
	return -1;
}

/* The line in pp->line (without its LF): checked, then applied. */
static int SB_WUR
parser_line(struct bridge_settings_parser *pp)
{
	const char *line = pp->line, *why;
	struct setting_pair p;
	size_t len = pp->len, i;
	char shown[48];
	int key;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len > BRIDGE_SETTINGS_LINE_MAX)
		return parser_fail(pp, "line %u: longer than %d bytes",
		                   pp->line_no, BRIDGE_SETTINGS_LINE_MAX);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return parser_fail(pp,
			                   "line %u: a control byte (0x%02x)",
			                   pp->line_no, c);
	}
	switch (setting_split(line, len, &p)) {
	case 0:
		return 0;
	case -1:
		setting_shown(line, len, shown);
		return parser_fail(pp, "line %u: '%s' is not KEY = VALUE",
		                   pp->line_no, shown);
	default:
		break;
	}
	key = bridge_setting_find(p.key, p.key_len);
	if (key < 0) {
		setting_shown(p.key, p.key_len, shown);
		return parser_fail(pp,
		                   "line %u: unknown setting '%s' (there are "
		                   "imap-port, imaps-port, smtp-port, "
		                   "smtps-port, listen and log-level)",
		                   pp->line_no, shown);
	}
	if (pp->seen[key] != 0)
		return parser_fail(
		        pp, "line %u: %s again (it is set on line %u)",
		        pp->line_no, bridge_setting_name(key), pp->seen[key]);
	if (p.value_len == 0)
		return parser_fail(pp, "line %u: %s has no value", pp->line_no,
		                   bridge_setting_name(key));
	if (bridge_setting_parse(pp->s, key, p.value, p.value_len, &why) != 0)
		return parser_fail(pp, "line %u: %s", pp->line_no, why);
	pp->seen[key] = pp->line_no;
	return 0;
}

void
bridge_settings_parser_init(struct bridge_settings_parser *pp,
                            struct bridge_settings *s)
{
	memset(pp, 0, sizeof(*pp));
	bridge_settings_default(s);
	pp->s = s;
	pp->line_no = 1;
}

int
bridge_settings_parser_feed(struct bridge_settings_parser *pp, const void *data,
                            size_t len, const char **error_r)
{
	const char *p = data;
	size_t i;

	for (i = 0; i < len && !pp->failed; i++) {
		if (pp->total++ == BRIDGE_SETTINGS_FILE_MAX) {
			(void)parser_fail(pp, "larger than %d bytes",
			                  BRIDGE_SETTINGS_FILE_MAX);
			break;
		}
		if (p[i] == '\n') {
			if (parser_line(pp) != 0)
				break;
			pp->len = 0;
			pp->line_no++;
		} else if (pp->len == sizeof(pp->line)) {
			(void)parser_fail(pp, "line %u: longer than %d bytes",
			                  pp->line_no,
			                  BRIDGE_SETTINGS_LINE_MAX);
		} else {
			pp->line[pp->len++] = p[i];
		}
	}
	if (pp->failed) {
		*error_r = pp->error;
		return -1;
	}
	return 0;
}

int
bridge_settings_parser_finish(struct bridge_settings_parser *pp,
                              const char **error_r)
{
	const char *why;

	if (!pp->failed && pp->len > 0 && parser_line(pp) == 0)
		pp->len = 0;
	if (!pp->failed && bridge_settings_check(pp->s, &why) != 0)
		(void)parser_fail(pp, "%s", why);
	if (pp->failed) {
		*error_r = pp->error;
		return -1;
	}
	return 0;
}

/* ---- The file ---- */

/*
 * Parses a whole text; the error names the file (path may be NULL) and
 * ends with suffix.
 */
static int SB_WUR
settings_parse_text(const char *text, size_t len, struct bridge_settings *s,
                    const char *path, const char *suffix, const char **error_r)
{
	struct bridge_settings_parser pp;
	const char *error;

	bridge_settings_parser_init(&pp, s);
	if (bridge_settings_parser_feed(&pp, text, len, &error) != 0 ||
	    bridge_settings_parser_finish(&pp, &error) != 0) {
		*error_r = bridge_errorf(
		        "%s%s%s%s%s", path != NULL ? "the settings " : "",
		        path != NULL ? path : "", path != NULL ? ": " : "",
		        pp.error, suffix != NULL ? suffix : "");
		return -1;
	}
	return 0;
}

/* "KEY = VALUE" and the line end given. */
static int SB_WUR
settings_add_pair(struct sb_buf *out, const struct bridge_settings *s,
                  enum bridge_setting key, const char *eol)
{
	char value[BRIDGE_SETTING_VALUE_MAX];

	bridge_setting_format(s, key, value);
	return sb_buf_add_printf(out, "%s = %s%s", bridge_setting_name(key),
	                         value, eol);
}

int
bridge_settings_rewrite(const char *text, size_t len, enum bridge_setting key,
                        const char *value, struct sb_buf *out,
                        struct bridge_settings *s_r, const char **error_r)
{
	struct bridge_settings s;
	struct setting_pair p;
	size_t start, end, line_len;
	bool crlf, found = false;
	int ret = 0;

	if (settings_parse_text(text, len, &s, NULL, NULL, error_r) != 0)
		return -1;
	if (value != NULL) {
		if (bridge_setting_parse(&s, key, value, strlen(value),
		                         error_r) != 0)
			return -1;
	} else {
		bridge_setting_reset(&s, key);
	}
	if (bridge_settings_check(&s, error_r) != 0)
		return -1;
	if (len == 0)
		ret = sb_buf_add_str(out, settings_header);
	for (start = 0; ret == 0 && start < len; start = end + 1) {
		const char *nl = memchr(text + start, '\n', len - start);

		end = nl != NULL ? (size_t)(nl - text) : len;
		line_len = end - start;
		crlf = line_len > 0 && text[end - 1] == '\r';
		if (setting_split(text + start, line_len - crlf, &p) == 1 &&
		    bridge_setting_find(p.key, p.key_len) == (int)key) {
			found = true;
			if (value != NULL)
				ret = settings_add_pair(out, &s, key,
				                        crlf ? "\r\n" : "\n");
			continue;
		}
		ret = sb_buf_add(out, text + start, line_len) ||
		      sb_buf_add_char(out, '\n');
	}
	if (ret == 0 && value != NULL && !found)
		ret = settings_add_pair(out, &s, key, "\n");
	if (ret != 0) {
		*error_r = "the settings would be too large";
		return -1;
	}
	*s_r = s;
	return 0;
}

int
bridge_settings_load(const char *path, struct bridge_settings *s,
                     const char **error_r)
{
	const char *error;
	struct sb_buf b;
	int err = 0;

	sb_buf_init(&b, BRIDGE_SETTINGS_FILE_MAX);
	if (sb_file_read_all(path, &b, &err, &error) != 0) {
		sb_buf_free(&b);
		if (err == ENOENT) {
			bridge_settings_default(s);
			return 0;
		}
		*error_r =
		        err == EFBIG
		                ? bridge_errorf("the settings %s: larger "
		                                "than %d bytes",
		                                path, BRIDGE_SETTINGS_FILE_MAX)
		                : bridge_errorf("cannot read the settings "
		                                "%s: %s",
		                                path, strerror(err));
		return -1;
	}
	if (settings_parse_text(b.data != NULL ? b.data : "", b.len, s, path,
	                        NULL, error_r) != 0) {
		sb_buf_free(&b);
		return -1;
	}
	sb_buf_free(&b);
	return 0;
}

int
bridge_settings_change(const char *path, enum bridge_setting key,
                       const char *value, struct bridge_settings *s_r,
                       const char **error_r)
{
	struct sb_buf in, out;
	const char *error;
	int err = 0, ret = -1;

	sb_buf_init(&in, BRIDGE_SETTINGS_FILE_MAX);
	sb_buf_init(&out, BRIDGE_SETTINGS_FILE_MAX);
	if (sb_file_read_all(path, &in, &err, &error) != 0 && err != ENOENT) {
		*error_r =
		        err == EFBIG
		                ? bridge_errorf("the settings %s: larger "
		                                "than %d bytes",
		                                path, BRIDGE_SETTINGS_FILE_MAX)
		                : bridge_errorf("cannot read the settings "
		                                "%s: %s",
		                                path, strerror(err));
		goto out;
	}
	/* The file's own mistakes first: the value is not to blame. */
	if (settings_parse_text(in.data != NULL ? in.data : "", in.len, s_r,
	                        path, "; fix the file first", error_r) != 0 ||
	    bridge_settings_rewrite(in.data != NULL ? in.data : "", in.len, key,
	                            value, &out, s_r, error_r) != 0)
		goto out;
	if (sb_file_write_atomic(path, out.data, out.len, 0600, &error) != 0) {
		*error_r = bridge_errorf("cannot write the settings %s: %s",
		                         path, error);
		goto out;
	}
	ret = 0;
out:
	sb_buf_free(&in);
	sb_buf_free(&out);
	return ret;
}
