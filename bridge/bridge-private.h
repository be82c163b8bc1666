/*
 * The bridge's internals shared by its files and its unit tests; the
 * commands use bridge.h.
 */
#ifndef SB_BRIDGE_PRIVATE_H
#define SB_BRIDGE_PRIVATE_H

#include "bridge/bridge.h"
#include "common/buf.h"

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

/* Appends one account (the info block, a table row, or JSON) to b. */
int bridge_format_one(struct sb_buf *b, const struct sb_vault *v,
                      const char *account_id, enum bridge_format format,
                      const char **error_r) SB_WUR;

/* Whether another process holds the vault's lock now (serve, a login). */
bool bridge_vault_busy(const struct bridge_paths *p);

/* Writes all of b to fd (write(2), no stdio buffer holds a copy). */
int bridge_write_all(int fd, const void *data, size_t len) SB_WUR;

#endif
