/*
 * `saltbridge config`: files that set a mail client up for the bridge
 * (docs/clients.md), a Thunderbird autoconfig file (config-v1.1.xml) and
 * an Apple configuration profile (.mobileconfig).
 *
 * Neither file holds the bridge password: the client asks for it once,
 * and it stays in `saltbridge info`. The settings are those that
 * `saltbridge info` shows (bridge_client_settings_get, in info.c), so the
 * files follow when the listeners' ports change.
 *
 * Every value is XML-escaped; text XML 1.0 cannot carry (bytes that are
 * not UTF-8, control characters) is refused, never written.
 */
#ifndef SB_BRIDGE_CONFIG_H
#define SB_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "bridge/bridge.h"
#include "common/buf.h"
#include "common/compiler.h"

/* Where mail clients reach the bridge; a port of 0 is a listener off. */
struct bridge_client_settings {
	char host[64];
	unsigned imap_port;  /* STARTTLS */
	unsigned imaps_port; /* implicit TLS */
	unsigned smtp_port;  /* STARTTLS */
	unsigned smtps_port; /* implicit TLS */
};

/* The settings `saltbridge info` shows for every account of the home. */
int bridge_client_settings_get(const struct bridge_paths *p,
                               struct bridge_client_settings *s_r,
                               const char **error_r) SB_WUR;

enum bridge_client {
	BRIDGE_CLIENT_THUNDERBIRD,
	BRIDGE_CLIENT_APPLE_MAIL,
};

/* "thunderbird" or "apple-mail"; -1 for another name. */
int bridge_client_parse(const char *name, enum bridge_client *client_r) SB_WUR;

/*
 * Appends s as XML character data, fit for an element or a quoted
 * attribute: & < > " ' become entities. Fails when s is not UTF-8 or
 * holds a character XML 1.0 does not allow (C0 controls but tab, LF and
 * CR; U+FFFE, U+FFFF), leaving b untouched, or when b passes its maximum
 * (b is then freed, as sb_buf does).
 */
int bridge_xml_escape(struct sb_buf *b, const char *s,
                      const char **error_r) SB_WUR;

/* A random (version 4) UUID in upper case, as Apple's tools write them. */
#define BRIDGE_UUID_LEN 36
void bridge_uuid_new(char out[BRIDGE_UUID_LEN + 1]);

/*
 * The DER bytes of the first CERTIFICATE block of a PEM text, appended to
 * der. Fails when there is none, or its base64 is broken or empty.
 */
int bridge_pem_cert_der(const char *pem, size_t len, struct sb_buf *der,
                        const char **error_r) SB_WUR;

/*
 * A Thunderbird autoconfig file for email (clientConfig version 1.1):
 * one IMAP and one SMTP server, each the STARTTLS listener when it is on,
 * else the TLS one; username email, authentication password-cleartext.
 */
int bridge_config_thunderbird(struct sb_buf *out,
                              const struct bridge_client_settings *s,
                              const char *email, const char **error_r) SB_WUR;

/*
 * An Apple configuration profile for email: a com.apple.security.root
 * payload with the certificate (DER) and a com.apple.mail.managed payload
 * (IMAP and SMTP, the implicit TLS listener when it is on, as Apple's
 * "use SSL" flag means it; else STARTTLS), with fresh UUIDs and no
 * password (OutgoingPasswordSameAsIncomingPassword: asked once, when the
 * profile is installed).
 */
int bridge_config_apple_mail(struct sb_buf *out,
                             const struct bridge_client_settings *s,
                             const char *email, const void *cert_der,
                             size_t cert_len, const char **error_r) SB_WUR;

/*
 * The command: checks that email is an address of an account logged in
 * (unless `serve` holds the vault: then *note_r says it was not checked;
 * otherwise *note_r is NULL), makes the file (for Apple Mail, with the
 * listeners' certificate, made as `serve` makes it when there is none
 * yet) and writes it to path (replaced atomically, mode 0644: it holds
 * no secret), or to fd when path is NULL.
 */
int bridge_config_write(const struct bridge_paths *p, enum bridge_client client,
                        const char *email, const char *path, int fd,
                        const char **note_r, const char **error_r) SB_WUR;

/*
 * `saltbridge config CLIENT EMAIL [--output FILE]`, with argv[0]
 * "config" and home the --home given before the command (or NULL).
 * Returns the exit code: 0, 1 on failure, 2 on wrong usage.
 */
int bridge_cmd_config(const char *home, int argc, char **argv) SB_WUR;

#endif
