/*
 * `saltbridge config`: a Thunderbird autoconfig file and an Apple
 * configuration profile for one address (config.h, docs/clients.md).
 */
#include "config.h"

#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge-private.h"
#include "common/alloc.h"
#include "common/cert.h"
#include "common/charset.h"
#include "common/codec.h"
#include "common/file.h"
#include "common/log.h"

/* A file made here is small: two servers, or those and a certificate. */
#define CONFIG_OUTPUT_MAX (1024 * 1024)
/* The listeners' certificate is a few hundred bytes of PEM. */
#define CONFIG_CERT_MAX (64 * 1024)
/* Base64 characters per line of a plist's <data>. */
#define CONFIG_DATA_LINE 64
#define CONFIG_TOO_LARGE "the file is too large"

/* sb_buf_add_printf that says why it failed. */
static int SB_WUR SB_PRINTF(3, 4)
        config_add(struct sb_buf *b, const char **error_r, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = sb_buf_add_vprintf(b, fmt, ap);
	va_end(ap);
	if (ret != 0)
		*error_r = CONFIG_TOO_LARGE;
	return ret;
}

int
bridge_client_parse(const char *name, enum bridge_client *client_r)
{
	if (strcmp(name, "thunderbird") == 0)
		*client_r = BRIDGE_CLIENT_THUNDERBIRD;
	else if (strcmp(name, "apple-mail") == 0)
		*client_r = BRIDGE_CLIENT_APPLE_MAIL;
	else
		return -1;
	return 0;
}

/* Whether s holds a character that XML 1.0 cannot carry (s is UTF-8). */
static bool
config_xml_forbidden(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	for (; *u != '\0'; u++) {
		if (*u < 0x20 && *u != '\t' && *u != '\n' && *u != '\r')
			return true;
		/* U+FFFE and U+FFFF: EF BF BE, EF BF BF. */
		if (u[0] == 0xef && u[1] == 0xbf &&
		    (u[2] == 0xbe || u[2] == 0xbf))
			return true;
	}
	return false;
}

int
bridge_xml_escape(struct sb_buf *b, const char *s, const char **error_r)
{
	int ret = 0;

	if (!sb_utf8_valid(s, strlen(s)) || config_xml_forbidden(s)) {
		*error_r = "a value is not text that XML can carry";
		return -1;
	}
	for (; ret == 0 && *s != '\0'; s++) {
		switch (*s) {
		case '&':
			ret = sb_buf_add_str(b, "&amp;");
			break;
		case '<':
			ret = sb_buf_add_str(b, "&lt;");
			break;
		case '>':
			ret = sb_buf_add_str(b, "&gt;");
			break;
		case '"':
			ret = sb_buf_add_str(b, "&quot;");
			break;
		case '\'':
			ret = sb_buf_add_str(b, "&apos;");
			break;
		default:
			ret = sb_buf_add_char(b, *s);
			break;
		}
	}
	if (ret != 0) {
		*error_r = CONFIG_TOO_LARGE;
		return -1;
	}
	return 0;
}

void
bridge_uuid_new(char out[BRIDGE_UUID_LEN + 1])
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char raw[16];
	size_t i, o = 0;

	randombytes_buf(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40); /* version 4 */
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80); /* RFC 4122 */
	for (i = 0; i < sizeof(raw); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[raw[i] >> 4];
		out[o++] = hex[raw[i] & 0x0f];
	}
	out[o] = '\0';
}

int
bridge_pem_cert_der(const char *pem, size_t len, struct sb_buf *der,
                    const char **error_r)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *from, *to;
	unsigned flags = 0;
	size_t start = der->len;

	from = memmem(pem, len, begin, sizeof(begin) - 1);
	if (from == NULL) {
		*error_r = "the file holds no PEM certificate";
		return -1;
	}
	from += sizeof(begin) - 1;
	to = memmem(from, len - (size_t)(from - pem), end, sizeof(end) - 1);
	if (to == NULL) {
		*error_r = "the PEM certificate has no END line";
		return -1;
	}
	if (sb_base64_decode(from, (size_t)(to - from), der, &flags) != 0) {
		*error_r = "the PEM certificate is too large";
		return -1;
	}
	if (flags != 0 || der->len == start) {
		sb_buf_truncate(der, start);
		*error_r = "the PEM certificate's base64 is broken";
		return -1;
	}
	return 0;
}

/* The part of an address after its '@' (api_is_email checked one). */
static const char *
config_domain(const char *email)
{
	const char *at = strrchr(email, '@');

	return at != NULL ? at + 1 : email;
}

/* "<name>text</name>\n" after indent, the text escaped. */
static int SB_WUR
config_element(struct sb_buf *b, const char *indent, const char *name,
               const char *text, const char **error_r)
{
	if (config_add(b, error_r, "%s<%s>", indent, name) != 0 ||
	    bridge_xml_escape(b, text, error_r) != 0 ||
	    config_add(b, error_r, "</%s>\n", name) != 0)
		return -1;
	return 0;
}

/* One <incomingServer> or <outgoingServer> of an autoconfig file. */
static int SB_WUR
config_tb_server(struct sb_buf *b, const char *tag, const char *type,
                 const char *host, unsigned port, bool tls, const char *email,
                 const char **error_r)
{
	const char *in = "      ";

	if (config_add(b, error_r, "    <%s type=\"%s\">\n", tag, type) != 0 ||
	    config_element(b, in, "hostname", host, error_r) != 0 ||
	    config_add(b, error_r, "%s<port>%u</port>\n", in, port) != 0 ||
	    config_element(b, in, "socketType", tls ? "SSL" : "STARTTLS",
	                   error_r) != 0 ||
	    config_element(b, in, "username", email, error_r) != 0 ||
	    config_element(b, in, "authentication", "password-cleartext",
	                   error_r) != 0 ||
	    config_add(b, error_r, "    </%s>\n", tag) != 0)
		return -1;
	return 0;
}

/*
 * Picks a listener of a protocol: the STARTTLS one, or the implicit TLS
 * one when it is on and preferred, or the only one on. Fails when both
 * are off.
 */
static int SB_WUR
config_pick(unsigned starttls_port, unsigned tls_port, bool prefer_tls,
            const char *what, unsigned *port_r, bool *tls_r,
            const char **error_r)
{
	if (starttls_port == 0 && tls_port == 0) {
		*error_r = bridge_errorf("the bridge has no %s listener", what);
		return -1;
	}
	*tls_r = tls_port != 0 && (prefer_tls || starttls_port == 0);
	*port_r = *tls_r ? tls_port : starttls_port;
	return 0;
}

int
bridge_config_thunderbird(struct sb_buf *out,
                          const struct bridge_client_settings *s,
                          const char *email, const char **error_r)
{
	const char *domain = config_domain(email);
	unsigned imap_port, smtp_port;
	bool imap_tls, smtp_tls;

	if (config_pick(s->imap_port, s->imaps_port, false, "IMAP", &imap_port,
	                &imap_tls, error_r) != 0 ||
	    config_pick(s->smtp_port, s->smtps_port, false, "SMTP", &smtp_port,
	                &smtp_tls, error_r) != 0)
		return -1;
	if (config_add(out, error_r,
	               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<clientConfig version=\"1.1\">\n"
	               "  <emailProvider id=\"") != 0 ||
	    bridge_xml_escape(out, domain, error_r) != 0 ||
	    config_add(out, error_r, "\">\n") != 0 ||
	    config_element(out, "    ", "domain", domain, error_r) != 0 ||
	    config_add(out, error_r, "    <displayName>Saltbridge (") != 0 ||
	    bridge_xml_escape(out, email, error_r) != 0 ||
	    config_add(out, error_r, ")</displayName>\n") != 0 ||
	    config_element(out, "    ", "displayShortName", "Saltbridge",
	                   error_r) != 0 ||
	    config_tb_server(out, "incomingServer", "imap", s->host, imap_port,
	                     imap_tls, email, error_r) != 0 ||
	    config_tb_server(out, "outgoingServer", "smtp", s->host, smtp_port,
	                     smtp_tls, email, error_r) != 0 ||
	    config_add(out, error_r, "  </emailProvider>\n</clientConfig>\n") !=
	            0)
		return -1;
	return 0;
}

/* "<key>name</key>" and a value, in a plist <dict>. */
static int SB_WUR
config_plist_string(struct sb_buf *b, const char *indent, const char *key,
                    const char *value, const char **error_r)
{
	if (config_add(b, error_r, "%s<key>%s</key>\n", indent, key) != 0 ||
	    config_element(b, indent, "string", value, error_r) != 0)
		return -1;
	return 0;
}

static int SB_WUR
config_plist_int(struct sb_buf *b, const char *indent, const char *key,
                 unsigned value, const char **error_r)
{
	return config_add(b, error_r,
	                  "%s<key>%s</key>\n%s<integer>%u</integer>\n", indent,
	                  key, indent, value);
}

static int SB_WUR
config_plist_bool(struct sb_buf *b, const char *indent, const char *key,
                  bool value, const char **error_r)
{
	return config_add(b, error_r, "%s<key>%s</key>\n%s<%s/>\n", indent, key,
	                  indent, value ? "true" : "false");
}

/* The keys every payload has, with a fresh UUID. */
static int SB_WUR
config_plist_payload(struct sb_buf *b, const char *indent, const char *type,
                     const char *display, const char *identifier,
                     const char **error_r)
{
	char uuid[BRIDGE_UUID_LEN + 1];

	bridge_uuid_new(uuid);
	if (config_plist_string(b, indent, "PayloadDisplayName", display,
	                        error_r) != 0 ||
	    config_plist_string(b, indent, "PayloadIdentifier", identifier,
	                        error_r) != 0 ||
	    config_plist_string(b, indent, "PayloadType", type, error_r) != 0 ||
	    config_plist_string(b, indent, "PayloadUUID", uuid, error_r) != 0 ||
	    config_plist_int(b, indent, "PayloadVersion", 1, error_r) != 0)
		return -1;
	return 0;
}

/* Bytes as base64 in lines of CONFIG_DATA_LINE, in <data>. */
static int SB_WUR
config_plist_data(struct sb_buf *b, const char *indent, const char *key,
                  const void *data, size_t len, const char **error_r)
{
	struct sb_buf text;
	size_t i, n;
	int ret;

	sb_buf_init(&text, CONFIG_OUTPUT_MAX);
	if (sb_base64_encode(data, len, &text) != 0) {
		*error_r = CONFIG_TOO_LARGE;
		return -1;
	}
	ret = config_add(b, error_r, "%s<key>%s</key>\n%s<data>\n", indent, key,
	                 indent);
	for (i = 0; ret == 0 && i < text.len; i += n) {
		n = text.len - i < CONFIG_DATA_LINE ? text.len - i
		                                    : CONFIG_DATA_LINE;
		ret = config_add(b, error_r, "%s%.*s\n", indent, (int)n,
		                 text.data + i);
	}
	if (ret == 0)
		ret = config_add(b, error_r, "%s</data>\n", indent);
	sb_buf_free(&text);
	return ret;
}

/* The certificate payload: Apple's platforms trust what it carries. */
static int SB_WUR
config_apple_cert(struct sb_buf *b, const char *id, const void *cert_der,
                  size_t cert_len, const char **error_r)
{
	const char *in = "\t\t\t";
	char *cert_id = sb_strdup(bridge_errorf("%s.certificate", id));
	int ret = -1;

	if (config_add(b, error_r, "\t\t<dict>\n") == 0 &&
	    config_plist_string(b, in, "PayloadCertificateFileName",
	                        "saltbridge.cer", error_r) == 0 &&
	    config_plist_data(b, in, "PayloadContent", cert_der, cert_len,
	                      error_r) == 0 &&
	    config_plist_string(b, in, "PayloadDescription",
	                        "The certificate of the Saltbridge on this "
	                        "computer (127.0.0.1), so that Mail trusts it.",
	                        error_r) == 0 &&
	    config_plist_payload(b, in, "com.apple.security.root",
	                         "Saltbridge certificate", cert_id,
	                         error_r) == 0 &&
	    config_add(b, error_r, "\t\t</dict>\n") == 0)
		ret = 0;
	free(cert_id);
	return ret;
}

/* One server of the mail payload; side is "Incoming" or "Outgoing". */
static int SB_WUR
config_apple_server(struct sb_buf *b, const char *side, const char *host,
                    unsigned port, bool ssl, const char *email,
                    const char **error_r)
{
	const char *in = "\t\t\t";
	char key[64];

	snprintf(key, sizeof(key), "%sMailServerAuthentication", side);
	if (config_plist_string(b, in, key, "EmailAuthPassword", error_r) != 0)
		return -1;
	snprintf(key, sizeof(key), "%sMailServerHostName", side);
	if (config_plist_string(b, in, key, host, error_r) != 0)
		return -1;
	snprintf(key, sizeof(key), "%sMailServerPortNumber", side);
	if (config_plist_int(b, in, key, port, error_r) != 0)
		return -1;
	snprintf(key, sizeof(key), "%sMailServerUseSSL", side);
	if (config_plist_bool(b, in, key, ssl, error_r) != 0)
		return -1;
	snprintf(key, sizeof(key), "%sMailServerUsername", side);
	return config_plist_string(b, in, key, email, error_r);
}

/*
 * The mail payload, with the implicit TLS listeners when they are on
 * (UseSSL true: what Apple's flag means on a port of its own). On the
 * STARTTLS listeners, IMAP says UseSSL false, as the model bridge's
 * profiles do (Mail logs in on the loopback, where the bridge allows it),
 * and SMTP says true: the bridge's SMTP takes AUTH only after STARTTLS,
 * and Mail reads the flag on a submission port as "TLS required".
 */
static int SB_WUR
config_apple_mail(struct sb_buf *b, const struct bridge_client_settings *s,
                  const char *id, const char *email, const char **error_r)
{
	const char *in = "\t\t\t";
	unsigned imap_port, smtp_port;
	bool imap_tls, smtp_tls;
	char *mail_id, *desc;
	int ret = -1;

	if (config_pick(s->imap_port, s->imaps_port, true, "IMAP", &imap_port,
	                &imap_tls, error_r) != 0 ||
	    config_pick(s->smtp_port, s->smtps_port, true, "SMTP", &smtp_port,
	                &smtp_tls, error_r) != 0)
		return -1;
	(void)smtp_tls; /* either way, SMTP says UseSSL (above) */
	mail_id = sb_strdup(bridge_errorf("%s.mail", id));
	desc = sb_strdup(bridge_errorf("Saltbridge (%s)", email));
	if (config_add(b, error_r, "\t\t<dict>\n") == 0 &&
	    config_plist_string(b, in, "EmailAccountDescription", desc,
	                        error_r) == 0 &&
	    config_plist_string(b, in, "EmailAccountType", "EmailTypeIMAP",
	                        error_r) == 0 &&
	    config_plist_string(b, in, "EmailAddress", email, error_r) == 0 &&
	    config_apple_server(b, "Incoming", s->host, imap_port, imap_tls,
	                        email, error_r) == 0 &&
	    config_apple_server(b, "Outgoing", s->host, smtp_port, true, email,
	                        error_r) == 0 &&
	    config_plist_bool(b, in, "OutgoingPasswordSameAsIncomingPassword",
	                      true, error_r) == 0 &&
	    config_plist_string(b, in, "PayloadDescription",
	                        "The mail account, served by the Saltbridge on "
	                        "this computer. Its password is the bridge "
	                        "password that 'saltbridge info' shows.",
	                        error_r) == 0 &&
	    config_plist_payload(b, in, "com.apple.mail.managed", desc, mail_id,
	                         error_r) == 0 &&
	    config_add(b, error_r, "\t\t</dict>\n") == 0)
		ret = 0;
	free(mail_id);
	free(desc);
	return ret;
}

int
bridge_config_apple_mail(struct sb_buf *out,
                         const struct bridge_client_settings *s,
                         const char *email, const void *cert_der,
                         size_t cert_len, const char **error_r)
{
	char *id, *display;
	int ret = -1;

	/* A stable identifier: installing the profile again replaces it. */
	id = sb_strdup(bridge_errorf("org.saltbridge.profile.%s", email));
	display = sb_strdup(bridge_errorf("Saltbridge: %s", email));
	if (config_add(out, error_r,
	               "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	               "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
	               "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	               "<plist version=\"1.0\">\n<dict>\n"
	               "\t<key>PayloadContent</key>\n\t<array>\n") == 0 &&
	    config_apple_cert(out, id, cert_der, cert_len, error_r) == 0 &&
	    config_apple_mail(out, s, id, email, error_r) == 0 &&
	    config_add(out, error_r, "\t</array>\n") == 0 &&
	    config_plist_string(
	            out, "\t", "PayloadDescription",
	            "Sets Mail up for the Saltbridge on this "
	            "computer and trusts its certificate. Mail asks "
	            "for the password: the bridge password that "
	            "'saltbridge info' shows.",
	            error_r) == 0 &&
	    config_plist_bool(out, "\t", "PayloadRemovalDisallowed", false,
	                      error_r) == 0 &&
	    config_plist_payload(out, "\t", "Configuration", display, id,
	                         error_r) == 0 &&
	    config_add(out, error_r, "</dict>\n</plist>\n") == 0)
		ret = 0;
	free(id);
	free(display);
	return ret;
}

/*
 * The listeners' certificate as DER: the one `serve` made, read as it is
 * (renewing it here would not reach a `serve` that runs); made as `serve`
 * makes it when the certificate or its key is missing.
 */
static int SB_WUR
config_cert_der(const struct bridge_paths *p, struct sb_buf *der,
                const char **error_r)
{
	char *dir, *cert, *key;
	const char *why;
	struct sb_buf pem;
	bool created;
	int ret = -1;

	dir = sb_strdup(bridge_errorf("%s/tls", p->data_dir));
	cert = sb_strdup(bridge_errorf("%s/cert.pem", dir));
	key = sb_strdup(bridge_errorf("%s/key.pem", dir));
	sb_buf_init(&pem, CONFIG_CERT_MAX);
	if ((access(cert, F_OK) != 0 || access(key, F_OK) != 0) &&
	    (sb_mkdir_p(dir, 0700, error_r) != 0 ||
	     sb_cert_ensure(cert, key, 30, &created, error_r) != 0))
		goto out;
	if (sb_file_read_all(cert, &pem, NULL, error_r) != 0)
		goto out;
	if (bridge_pem_cert_der(pem.data, pem.len, der, &why) != 0) {
		*error_r = bridge_errorf("%s: %s", cert, why);
		goto out;
	}
	ret = 0;
out:
	sb_buf_free(&pem);
	free(dir);
	free(cert);
	free(key);
	return ret;
}

/*
 * Whether email is an address of an account in the vault. *checked_r is
 * false when `serve` holds the vault (it keeps it for its whole life).
 */
static int SB_WUR
config_check_account(const struct bridge_paths *p, const char *email,
                     bool *checked_r, const char **error_r)
{
	char id[API_ACCOUNT_ID_LEN + 1];
	struct bridge_vault bv;
	int opened, found = 0;

	*checked_r = false;
	if (bridge_vault_busy(p))
		return 0;
	opened = bridge_vault_open_existing(&bv, p, error_r);
	if (opened < 0)
		return -1;
	if (opened > 0) {
		found = bridge_account_find_any(bv.v, email, id);
		bridge_vault_close(&bv);
	}
	if (found != 1) {
		*error_r = bridge_errorf("%s is not logged in; log it in with "
		                         "'saltbridge login %s'",
		                         email, email);
		return -1;
	}
	*checked_r = true;
	return 0;
}

int
bridge_config_write(const struct bridge_paths *p, enum bridge_client client,
                    const char *email, const char *path, int fd,
                    const char **note_r, const char **error_r)
{
	struct bridge_client_settings s;
	struct sb_buf out, der;
	bool checked;
	int ret = -1;

	*note_r = NULL;
	if (config_check_account(p, email, &checked, error_r) != 0 ||
	    bridge_client_settings_get(p, &s, error_r) != 0)
		return -1;
	if (!checked)
		*note_r = "saltbridge serve holds the vault, so the address "
		          "was not checked against the accounts logged in";
	sb_buf_init(&out, CONFIG_OUTPUT_MAX);
	sb_buf_init(&der, CONFIG_CERT_MAX);
	if (client == BRIDGE_CLIENT_THUNDERBIRD) {
		if (bridge_config_thunderbird(&out, &s, email, error_r) != 0)
			goto out;
	} else {
		if (config_cert_der(p, &der, error_r) != 0 ||
		    bridge_config_apple_mail(&out, &s, email, der.data, der.len,
		                             error_r) != 0)
			goto out;
	}
	if (path != NULL) {
		if (sb_file_write_atomic(path, out.data, out.len, 0644,
		                         error_r) != 0)
			goto out;
	} else if (bridge_write_all(fd, out.data, out.len) != 0) {
		*error_r = "cannot write the output";
		goto out;
	}
	ret = 0;
out:
	sb_buf_free(&out);
	sb_buf_free(&der);
	return ret;
}

/* ---- The command ---- */

static const char config_usage[] =
        "usage: saltbridge config thunderbird EMAIL [--output FILE]\n"
        "       saltbridge config apple-mail EMAIL [--output FILE]\n"
        "\n"
        "Writes a file that sets a mail client up for EMAIL, an address of\n"
        "an account logged in, with the settings 'saltbridge info' shows:\n"
        "\n"
        "  thunderbird   a Thunderbird autoconfig file (config-v1.1.xml):\n"
        "                IMAP and SMTP on the bridge, STARTTLS, username\n"
        "                EMAIL; put it in Thunderbird's isp/ folder as\n"
        "                DOMAIN.xml (docs/clients.md)\n"
        "  apple-mail    an Apple configuration profile (.mobileconfig):\n"
        "                the mail account and the bridge's certificate,\n"
        "                so that Apple Mail trusts it\n"
        "\n"
        "Neither file holds the bridge password: the client asks for it\n"
        "once ('saltbridge info' shows it). The Apple profile holds the\n"
        "certificate of the data folder's tls/cert.pem (made there when\n"
        "serve has not made it yet); make the profile again when serve\n"
        "renews the certificate.\n"
        "\n"
        "  --output FILE   write to FILE (replaced; mode 0644) instead of\n"
        "                  standard output\n";

enum {
	CONFIG_OPT_HOME = 256,
	CONFIG_OPT_LOG_LEVEL,
	CONFIG_OPT_OUTPUT,
	CONFIG_OPT_HELP,
};

/* The options; -1 to go on, else the exit code. */
static int SB_WUR
config_parse(int argc, char **argv, const char **home, const char **output)
{
	static const struct option opts[] = {
	        {"home", required_argument, NULL, CONFIG_OPT_HOME},
	        {"log-level", required_argument, NULL, CONFIG_OPT_LOG_LEVEL},
	        {"output", required_argument, NULL, CONFIG_OPT_OUTPUT},
	        {"help", no_argument, NULL, CONFIG_OPT_HELP},
	        {NULL, 0, NULL, 0},
	};
	enum sb_log_level level;
	int o;

	optind = 0;
	while ((o = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (o) {
		case CONFIG_OPT_HOME:
			*home = optarg;
			break;
		case CONFIG_OPT_LOG_LEVEL:
			if (sb_log_level_parse(optarg, &level) != 0) {
				fprintf(stderr,
				        "saltbridge: unknown log level '%s'\n",
				        optarg);
				return 2;
			}
			sb_log_set_level(level);
			break;
		case 'o':
		case CONFIG_OPT_OUTPUT:
			*output = optarg;
			break;
		case 'h':
		case CONFIG_OPT_HELP:
			fputs(config_usage, stdout);
			return 0;
		default:
			fputs(config_usage, stderr);
			return 2;
		}
	}
	return -1;
}

int
bridge_cmd_config(const char *home, int argc, char **argv)
{
	const char *output = NULL, *error, *note;
	enum bridge_client client;
	struct bridge_paths p;
	char *email;
	int ret;

	ret = config_parse(argc, argv, &home, &output);
	if (ret >= 0)
		return ret;
	if (optind + 2 != argc) {
		fputs(config_usage, stderr);
		return 2;
	}
	if (bridge_client_parse(argv[optind], &client) != 0) {
		fprintf(stderr,
		        "saltbridge: unknown client '%s' (thunderbird or "
		        "apple-mail)\n",
		        argv[optind]);
		return 2;
	}
	if (bridge_email_normalize(argv[optind + 1], &email, &error) != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		return 2;
	}
	if (output != NULL && strcmp(output, "-") == 0)
		output = NULL;
	if (bridge_paths_init(&p, home, &error) != 0) {
		fprintf(stderr, "saltbridge: %s\n", error);
		free(email);
		return 1;
	}
	ret = bridge_config_write(&p, client, email, output, STDOUT_FILENO,
	                          &note, &error);
	if (ret != 0)
		fprintf(stderr, "saltbridge: %s\n", error);
	else if (note != NULL)
		fprintf(stderr, "saltbridge: note: %s\n", note);
	if (ret == 0 && output != NULL)
		printf("Wrote the %s for %s to %s.\n",
		       client == BRIDGE_CLIENT_THUNDERBIRD
		               ? "Thunderbird autoconfig file"
		               : "Apple configuration profile",
		       email, output);
	bridge_paths_free(&p);
	free(email);
	return ret != 0 ? 1 : 0;
}
