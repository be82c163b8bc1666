/*
 * `saltbridge accounts` and `info`: what a mail client needs to connect,
 * as text or as JSON (docs/bridge.md). The output holds bridge
 * passwords, so it is built in a buffer that is wiped after use.
 */
#include "bridge-private.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/charset.h"

#define BRIDGE_OUTPUT_MAX (16 * 1024 * 1024)

/* How mail clients reach the bridge, from the settings. */
struct bridge_listener {
	const char *name;     /* "imap" or "smtp" */
	const char *host;     /* where a client on this machine connects */
	unsigned port;        /* BRIDGE_PORT_OFF: neither listener is on */
	const char *security; /* "starttls" or "tls" */
};

/*
 * IMAP's and SMTP's: the STARTTLS listener when it is on, else the TLS
 * one. Listeners on every address are reached on loopback.
 */
static void
bridge_listeners_get(const struct bridge_settings *s,
                     struct bridge_listener out[2])
{
	const char *host = s->listen;

	if (strcmp(host, "0.0.0.0") == 0)
		host = "127.0.0.1";
	else if (strcmp(host, "::") == 0)
		host = "::1";
	out[0].name = "imap";
	out[1].name = "smtp";
	out[0].host = out[1].host = host;
	out[0].port =
	        s->imap_port != BRIDGE_PORT_OFF ? s->imap_port : s->imaps_port;
	out[0].security = s->imap_port != BRIDGE_PORT_OFF ? "starttls" : "tls";
	out[1].port =
	        s->smtp_port != BRIDGE_PORT_OFF ? s->smtp_port : s->smtps_port;
	out[1].security = s->smtp_port != BRIDGE_PORT_OFF ? "starttls" : "tls";
}

/*
 * For `saltbridge config` (config.h): the listeners of the home's
 * settings, so that the files it writes show what info shows.
 */
int
bridge_client_settings_get(const struct bridge_paths *p,
                           struct bridge_client_settings *s_r,
                           const char **error_r)
{
	struct bridge_settings set;

	if (bridge_settings_load(p->settings, &set, error_r) != 0)
		return -1;
	memset(s_r, 0, sizeof(*s_r));
	/* A listener on every address is reached on loopback, as info says. */
	snprintf(s_r->host, sizeof(s_r->host), "%s",
	         strcmp(set.listen, "0.0.0.0") == 0 ? "127.0.0.1"
	         : strcmp(set.listen, "::") == 0    ? "::1"
	                                            : set.listen);
	/* 0 for a listener off, or on a port only serve knows (0). */
	s_r->imap_port = set.imap_port != BRIDGE_PORT_OFF ? set.imap_port : 0;
	s_r->imaps_port =
	        set.imaps_port != BRIDGE_PORT_OFF ? set.imaps_port : 0;
	s_r->smtp_port = set.smtp_port != BRIDGE_PORT_OFF ? set.smtp_port : 0;
	s_r->smtps_port =
	        set.smtps_port != BRIDGE_PORT_OFF ? set.smtps_port : 0;
	return 0;
}

/* What is shown of one account; the password is in secure memory. */
struct bridge_shown {
	char *email;
	char *api_url;
	char *password;
	char fingerprint[SB_FINGERPRINT_SIZE];
};

static void
bridge_shown_free(struct bridge_shown *s)
{
	free(s->email);
	free(s->api_url);
	if (s->password != NULL)
		sb_secure_free(&s->password);
	memset(s, 0, sizeof(*s));
}

static void
bridge_shown_get(const struct sb_vault *v, const char *id,
                 struct bridge_shown *s)
{
	const unsigned char *enc_pk, *sign_pk;
	size_t l1, l2;

	memset(s, 0, sizeof(*s));
	s->email = bridge_entry_str(v, id, BRIDGE_ENTRY_EMAIL);
	s->api_url = bridge_entry_str(v, id, BRIDGE_ENTRY_API_URL);
	s->password =
	        bridge_entry_secret_str(v, id, BRIDGE_ENTRY_BRIDGE_PASSWORD);
	if (bridge_entry_get(v, id, BRIDGE_ENTRY_ENC_PK, &enc_pk, &l1) &&
	    bridge_entry_get(v, id, BRIDGE_ENTRY_SIGN_PK, &sign_pk, &l2) &&
	    l1 == SB_KEY_BYTES && l2 == SB_KEY_BYTES)
		sb_fingerprint(enc_pk, sign_pk, s->fingerprint);
}

int
bridge_json_string(struct sb_buf *b, const char *s, bool *bad_utf8_r)
{
	int ret;

	if (s != NULL && !sb_utf8_valid(s, strlen(s))) {
		*bad_utf8_r = true;
		return -1;
	}
	ret = sb_buf_add_char(b, '"');

	for (; ret == 0 && s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			ret = sb_buf_add_printf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			ret = sb_buf_add_printf(b, "\\u%04x", c);
		else
			ret = sb_buf_add_char(b, (char)c);
	}
	return ret != 0 ? -1 : sb_buf_add_char(b, '"');
}

/* Set when a value is not UTF-8: JSON cannot carry it. */
static _Thread_local bool bridge_bad_utf8;

static int SB_WUR
bridge_json_field(struct sb_buf *b, const char *indent, const char *name,
                  const char *value, bool last)
{
	if (sb_buf_add_printf(b, "%s\"%s\": ", indent, name) != 0 ||
	    bridge_json_string(b, value, &bridge_bad_utf8) != 0)
		return -1;
	return sb_buf_add_str(b, last ? "\n" : ",\n");
}

static int SB_WUR
bridge_json_account(struct sb_buf *b, const char *id,
                    const struct bridge_shown *s,
                    const struct bridge_listener *listeners, const char *indent)
{
	const struct bridge_listener *li;
	size_t i;

	if (sb_buf_add_str(b, "{\n") != 0 ||
	    bridge_json_field(b, indent, "email", s->email, false) != 0 ||
	    bridge_json_field(b, indent, "account_id", id, false) != 0 ||
	    bridge_json_field(b, indent, "api_url", s->api_url, false) != 0 ||
	    bridge_json_field(b, indent, "fingerprint", s->fingerprint,
	                      false) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		li = &listeners[i];
		if (li->port == BRIDGE_PORT_OFF) {
			if (sb_buf_add_printf(b, "%s\"%s\": null,\n", indent,
			                      li->name) != 0)
				return -1;
		} else if (sb_buf_add_printf(
		                   b,
		                   "%s\"%s\": {\"host\": \"%s\", \"port\": "
		                   "%u, \"security\": \"%s\"},\n",
		                   indent, li->name, li->host, li->port,
		                   li->security) != 0) {
			return -1;
		}
	}
	if (bridge_json_field(b, indent, "username", s->email, false) != 0 ||
	    bridge_json_field(b, indent, "password", s->password, true) != 0)
		return -1;
	return sb_buf_add_printf(b, "%.*s}", (int)strlen(indent) - 2, indent);
}

/* Upper-case security names for people. */
static const char *
bridge_security_name(const char *security)
{
	return strcmp(security, "tls") == 0 ? "SSL/TLS" : "STARTTLS";
}

static int SB_WUR
bridge_text_info(struct sb_buf *b, const struct bridge_shown *s,
                 const struct bridge_listener *listeners)
{
	const struct bridge_listener *li;
	size_t i;
	int ret;

	if (sb_buf_add_printf(b, "%s\n", s->email) != 0)
		return -1;
	for (i = 0; i < 2; i++) {
		li = &listeners[i];
		if (li->port == BRIDGE_PORT_OFF)
			ret = sb_buf_add_printf(b, "  %-12s off\n",
			                        i == 0 ? "IMAP" : "SMTP");
		else
			ret = sb_buf_add_printf(
			        b, "  %-12s host %s, port %u, security %s\n",
			        i == 0 ? "IMAP" : "SMTP", li->host, li->port,
			        bridge_security_name(li->security));
		if (ret != 0)
			return -1;
	}
	return sb_buf_add_printf(b,
	                         "  %-12s %s\n  %-12s %s\n  %-12s %s\n"
	                         "  %-12s %s\n",
	                         "Username", s->email, "Password",
	                         s->password != NULL ? s->password : "",
	                         "Service",
	                         s->api_url != NULL ? s->api_url : "",
	                         "Fingerprint", s->fingerprint);
}

/*
 * Characters of UTF-8 text: the bytes that do not continue a sequence.
 * Addresses hold no wide or combining characters often enough to need
 * more for the table's columns.
 */
static size_t
bridge_text_width(const char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* "127.0.0.1:1143 STARTTLS", "[::1]:1143 SSL/TLS" or "off". */
static void
bridge_listener_cell(const struct bridge_listener *li, char out[80])
{
	if (li->port == BRIDGE_PORT_OFF)
		snprintf(out, 80, "off");
	else
		snprintf(out, 80, "%s%s%s:%u %s",
		         strchr(li->host, ':') != NULL ? "[" : "", li->host,
		         strchr(li->host, ':') != NULL ? "]" : "", li->port,
		         bridge_security_name(li->security));
}

static int SB_WUR
bridge_text_row(struct sb_buf *b, const struct bridge_shown *s,
                const struct bridge_listener *listeners, int width)
{
	char imap[80], smtp[80];
	size_t len = strlen(s->email);

	bridge_listener_cell(&listeners[0], imap);
	bridge_listener_cell(&listeners[1], smtp);
	/* printf pads by bytes: add what a multi-byte address lacks. */
	width += (int)(len - bridge_text_width(s->email, len));
	return sb_buf_add_printf(b, "%-*s  %-24s  %-24s  %s\n", width, s->email,
	                         imap, smtp,
	                         s->password != NULL ? s->password : "");
}

/* One account in the chosen format; first tells whether it opens. */
static int SB_WUR
bridge_format_account(struct sb_buf *b, const struct sb_vault *v,
                      const char *id, const struct bridge_settings *set,
                      enum bridge_format format, bool single, bool first,
                      int width)
{
	struct bridge_listener listeners[2];
	struct bridge_shown s;
	int ret;

	bridge_listeners_get(set, listeners);
	bridge_shown_get(v, id, &s);
	if (s.email == NULL) {
		bridge_shown_free(&s);
		return 0;
	}
	switch (format) {
	case BRIDGE_FORMAT_JSON:
		ret = (single ? 0
		              : sb_buf_add_str(b,
		                               first ? "    " : ",\n    ")) ||
		      bridge_json_account(b, id, &s, listeners,
		                          single ? "  " : "      ");
		break;
	case BRIDGE_FORMAT_INFO:
		ret = (first ? 0 : sb_buf_add_char(b, '\n')) ||
		      bridge_text_info(b, &s, listeners);
		break;
	default:
		ret = bridge_text_row(b, &s, listeners, width);
		break;
	}
	bridge_shown_free(&s);
	return ret != 0 ? -1 : 0;
}

/* The widest address, for the table. */
static int
bridge_email_width(const struct sb_vault *v,
                   const struct bridge_account_ids *ids)
{
	const unsigned char *value;
	size_t i, len, width = 7; /* "ADDRESS" */

	for (i = 0; i < ids->count; i++) {
		if (bridge_entry_get(v, ids->ids[i], BRIDGE_ENTRY_EMAIL, &value,
		                     &len) &&
		    bridge_text_width((const char *)value, len) > width)
			width = bridge_text_width((const char *)value, len);
	}
	return width > 320 ? 320 : (int)width;
}

static int SB_WUR
bridge_format_all(struct sb_buf *b, const struct sb_vault *v,
                  const struct bridge_account_ids *ids,
                  const struct bridge_settings *set, enum bridge_format format)
{
	int width = bridge_email_width(v, ids);
	size_t i;

	if (format == BRIDGE_FORMAT_JSON &&
	    sb_buf_add_str(b, ids->count > 0 ? "{\n  \"accounts\": [\n"
	                                     : "{\n  \"accounts\": [") != 0)
		return -1;
	if (format == BRIDGE_FORMAT_TABLE && ids->count > 0 &&
	    sb_buf_add_printf(b, "%-*s  %-24s  %-24s  %s\n", width, "ADDRESS",
	                      "IMAP", "SMTP", "BRIDGE PASSWORD") != 0)
		return -1;
	for (i = 0; i < ids->count; i++) {
		if (bridge_format_account(b, v, ids->ids[i], set, format, false,
		                          i == 0, width) != 0)
			return -1;
	}
	if (format == BRIDGE_FORMAT_JSON)
		return sb_buf_add_str(b,
		                      ids->count > 0 ? "\n  ]\n}\n" : "]\n}\n");
	if (ids->count == 0)
		return sb_buf_add_str(b, "No account is logged in; add one "
		                         "with 'saltbridge login EMAIL'.\n");
	return 0;
}

int
bridge_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bridge_format_one(struct sb_buf *b, const struct sb_vault *v,
                  const char *account_id, const struct bridge_settings *set,
                  enum bridge_format format, const char **error_r)
{
	char *email = bridge_entry_str(v, account_id, BRIDGE_ENTRY_EMAIL);
	int ret;

	bridge_bad_utf8 = false;
	ret = bridge_format_account(
	        b, v, account_id, set, format, true, true,
	        email != NULL ? (int)bridge_text_width(email, strlen(email))
	                      : 0);
	if (ret == 0 && format == BRIDGE_FORMAT_JSON)
		ret = sb_buf_add_char(b, '\n');
	free(email);
	if (ret != 0)
		*error_r = bridge_bad_utf8 ? "a vault entry is not UTF-8 text"
		                           : "the output is too large";
	return ret != 0 ? -1 : 0;
}

/*
 * Opens the vault to read it, waiting while another process holds it;
 * see bridge_vault_open_existing.
 */
int
bridge_print_accounts(const struct bridge_paths *p, const char *email,
                      enum bridge_format format, int fd, const char **error_r)
{
	struct bridge_account_ids ids = {NULL, 0};
	char id[API_ACCOUNT_ID_LEN + 1];
	struct bridge_settings set;
	struct bridge_vault bv;
	struct sb_buf b;
	int opened, ret = -1;

	if (bridge_settings_load(p->settings, &set, error_r) != 0)
		return -1;
	opened = bridge_vault_open_existing(&bv, p, error_r);
	if (opened < 0)
		return -1;
	sb_buf_init_secret(&b, BRIDGE_OUTPUT_MAX);
	bridge_bad_utf8 = false;
	if (email != NULL) {
		if (opened == 0 || bridge_account_find(bv.v, email, id) != 1) {
			*error_r = bridge_errorf("%s is not logged in", email);
			goto out;
		}
		if (bridge_format_one(&b, bv.v, id, &set, format, error_r) != 0)
			goto out;
	} else {
		if (opened > 0)
			bridge_account_ids_get(bv.v, &ids);
		if (bridge_format_all(&b, opened > 0 ? bv.v : NULL, &ids, &set,
		                      format) != 0) {
			*error_r = bridge_bad_utf8
			                   ? "a vault entry is not UTF-8 text"
			                   : "the output is too large";
			goto out;
		}
	}
	/* write(2): no stdio buffer keeps a copy of the passwords. */
	ret = bridge_write_all(fd, b.data != NULL ? b.data : "", b.len);
	if (ret != 0)
		*error_r = "cannot write the output";
out:
	bridge_account_ids_free(&ids);
	sb_buf_free_wipe(&b);
	if (opened > 0)
		bridge_vault_close(&bv);
	return ret;
}
