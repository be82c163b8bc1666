/*
 * The bridge's internals shared by its files and its unit tests; the
 * commands use bridge.h.
 */
#ifndef SB_BRIDGE_PRIVATE_H
#define SB_BRIDGE_PRIVATE_H

#include "bridge/bridge.h"
#include "common/buf.h"

struct json_object;
/*
 * The listeners' certificate is made anew when it expires within this
 * many days (serve at its start and daily, cert export).
 */
#define BRIDGE_CERT_RENEW_DAYS 30

/* The longest service message shown, in bytes. */
#define BRIDGE_MESSAGE_MAX 300

/*
 * Copies text from the network for a terminal: bytes below 0x20 and 0x7f
 * become '?', and what is longer than BRIDGE_MESSAGE_MAX bytes is cut (at
 * a UTF-8 boundary) and ends with "...". out holds at least
 * BRIDGE_MESSAGE_MAX + 4 bytes; in may be NULL.
 */
void bridge_text_clean(const char *in, char out[BRIDGE_MESSAGE_MAX + 4]);

/*
 * Checks the service's address: an https URL with a host and nothing
 * else than a port and a path (no user, query or fragment), printable
 * ASCII only. *url_r is a malloc'd copy without trailing '/'.
 */
int bridge_url_check(const char *url, char **url_r,
                     const char **error_r) SB_WUR;

/*
 * Refuses a login of email as account_id when the vault holds that
 * account under another address, or that address as another account.
 */
int bridge_account_claim(const struct sb_vault *v, const char *email,
                         const char *account_id, const char **error_r) SB_WUR;

/* Joins addresses with '\n', the form of the "addresses" entry. */
int bridge_addresses_set(struct sb_vault *v, const char *account_id,
                         const struct api_strings *addresses,
                         const char **error_r) SB_WUR;

/*
 * A JSON string of s: quotes, backslashes and control bytes escaped.
 * -1 when the buffer is full or s is not UTF-8 (*bad_utf8_r true).
 */
int bridge_json_string(struct sb_buf *b, const char *s,
                       bool *bad_utf8_r) SB_WUR;

/*
 * Wipes a secret field of a request body, and the body's text, which
 * json-c keeps, before the object is freed.
 */
void bridge_json_wipe(struct json_object *body, const char *field);

/*
 * Appends one account (the info block, a table row, or JSON) to b, with
 * the listeners of the settings.
 */
int bridge_format_one(struct sb_buf *b, const struct sb_vault *v,
                      const char *account_id, const struct bridge_settings *set,
                      enum bridge_format format, const char **error_r) SB_WUR;

/* Whether another process holds the vault's lock now (serve, a login). */
bool bridge_vault_busy(const struct bridge_paths *p);

/* Writes all of b to fd (write(2), no stdio buffer holds a copy). */
int bridge_write_all(int fd, const void *data, size_t len) SB_WUR;

/*
 * Signs email up on the service at api_url (trusting ca_file, NULL: the
 * system's CAs) as a client does (docs/api.md, POST /api/v1/signup):
 * the account's keys are made here and sent wrapped under a key derived
 * from the password, which never leaves this process. Returns 1 when the
 * account was made, 0 when the address is taken already, -1 on error.
 */
int bridge_signup(const char *api_url, const char *ca_file, const char *email,
                  const char *password, size_t password_len,
                  const char **error_r) SB_WUR;

#endif
