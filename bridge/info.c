/*
 * `saltbridge accounts` and `info`: what a mail client needs to connect,
 * as text or as JSON (docs/bridge.md). The output holds bridge
 * passwords, so it is built in a buffer that is wiped after use.
 */
#include "bridge-private.h"
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/charset.h"

#define BRIDGE_OUTPUT_MAX (16 * 1024 * 1024)

/* How mail clients reach the bridge; fixed until settings exist. */
struct bridge_listener {
	const char *name;
	const char *host;
	unsigned port;
	const char *security; /* "starttls" or "tls" */
};

static const struct bridge_listener bridge_listeners[] = {
        {"imap", "127.0.0.1", 1143, "starttls"},
        {"smtp", "127.0.0.1", 1025, "starttls"},
};

/*
 * The table above, for `saltbridge config` (config.h): the files it writes
 * show what info shows. The home (p) will hold the settings once they
 * exist; nothing can fail yet.
 */
int
bridge_client_settings_get(const struct bridge_paths *p,
                           struct bridge_client_settings *s_r,
                           const char **error_r)
{
	const struct bridge_listener *li;
	unsigned *port;
	size_t i;

	(void)p;
	(void)error_r;
	memset(s_r, 0, sizeof(*s_r));
	for (i = 0; i < SB_N_ELEMENTS(bridge_listeners); i++) {
		li = &bridge_listeners[i];
		if (strcmp(li->name, "imap") == 0)
			port = strcmp(li->security, "tls") == 0
			               ? &s_r->imaps_port
			               : &s_r->imap_port;
		else
			port = strcmp(li->security, "tls") == 0
			               ? &s_r->smtps_port
			               : &s_r->smtp_port;
		*port = li->port;
		s_r->host = li->host;
	}
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
                    const struct bridge_shown *s, const char *indent)
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
	for (i = 0; i < SB_N_ELEMENTS(bridge_listeners); i++) {
		li = &bridge_listeners[i];
		if (sb_buf_add_printf(b,
		                      "%s\"%s\": {\"host\": \"%s\", \"port\": "
		                      "%u, \"security\": \"%s\"},\n",
		                      indent, li->name, li->host, li->port,
		                      li->security) != 0)
			return -1;
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
bridge_text_info(struct sb_buf *b, const struct bridge_shown *s)
{
	const struct bridge_listener *li;
	size_t i;

	if (sb_buf_add_printf(b, "%s\n", s->email) != 0)
		return -1;
	for (i = 0; i < SB_N_ELEMENTS(bridge_listeners); i++) {
		li = &bridge_listeners[i];
		if (sb_buf_add_printf(
		            b, "  %-12s host %s, port %u, security %s\n",
		            i == 0 ? "IMAP" : "SMTP", li->host, li->port,
		            bridge_security_name(li->security)) != 0)
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

static int SB_WUR
bridge_text_row(struct sb_buf *b, const struct bridge_shown *s, int width)
{
	const struct bridge_listener *imap = &bridge_listeners[0];
	const struct bridge_listener *smtp = &bridge_listeners[1];
	size_t len = strlen(s->email);

	/* printf pads by bytes: add what a multi-byte address lacks. */
	width += (int)(len - bridge_text_width(s->email, len));
	return sb_buf_add_printf(
	        b, "%-*s  %s:%u %-9s  %s:%u %-9s  %s\n", width, s->email,
	        imap->host, imap->port, bridge_security_name(imap->security),
	        smtp->host, smtp->port, bridge_security_name(smtp->security),
	        s->password != NULL ? s->password : "");
}

/* One account in the chosen format; first tells whether it opens. */
static int SB_WUR
bridge_format_account(struct sb_buf *b, const struct sb_vault *v,
                      const char *id, enum bridge_format format, bool single,
                      bool first, int width)
{
	struct bridge_shown s;
	int ret;

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
		      bridge_json_account(b, id, &s, single ? "  " : "      ");
		break;
	case BRIDGE_FORMAT_INFO:
		ret = (first ? 0 : sb_buf_add_char(b, '\n')) ||
		      bridge_text_info(b, &s);
		break;
	default:
		ret = bridge_text_row(b, &s, width);
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
                  enum bridge_format format)
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
		if (bridge_format_account(b, v, ids->ids[i], format, false,
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
                  const char *account_id, enum bridge_format format,
                  const char **error_r)
{
	char *email = bridge_entry_str(v, account_id, BRIDGE_ENTRY_EMAIL);
	int ret;

	bridge_bad_utf8 = false;
	ret = bridge_format_account(
	        b, v, account_id, format, true, true,
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
	struct bridge_vault bv;
	struct sb_buf b;
	int opened, ret = -1;

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
		if (bridge_format_one(&b, bv.v, id, format, error_r) != 0)
			goto out;
	} else {
		if (opened > 0)
			bridge_account_ids_get(bv.v, &ids);
		if (bridge_format_all(&b, opened > 0 ? bv.v : NULL, &ids,
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
