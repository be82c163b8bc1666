/*
 * The bridge's settings (docs/bridge.md, Settings): what serve listens on
 * and how much it logs. They live in a text file, CONFIG/settings, that
 * `saltbridge set` changes and `saltbridge serve` reads at its start and
 * on SIGHUP; options on serve's command line win over them.
 *
 * The file is lines of "KEY = VALUE", read strictly:
 * - lines end with LF (a CR before it is dropped); the last may lack it;
 * - a blank line, or one whose first byte after blanks (space, tab) is
 *   '#', says nothing;
 * - any other line is a known KEY, '=', and a VALUE valid for it, with
 *   blanks allowed around each; a key may appear once;
 * - no control byte (but tab) anywhere, no line over
 *   BRIDGE_SETTINGS_LINE_MAX bytes, no file over BRIDGE_SETTINGS_FILE_MAX;
 * - two listeners may not share a port (0, any free one, aside).
 * The first mistake fails the whole file, with its line's number.
 *
 * Errors: 0 / -1 and *error_r, a sentence valid until the next failing
 * call of this module in the same thread (bridge_errorf), or, for the
 * parser, as long as the parser.
 */
#ifndef SB_BRIDGE_SETTINGS_H
#define SB_BRIDGE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/compiler.h"
#include "common/log.h"

#define BRIDGE_SETTINGS_LINE_MAX 256
#define BRIDGE_SETTINGS_FILE_MAX (64 * 1024)
/* A listener that is off (the value of IMAP_PORT_OFF and SMTP_PORT_OFF). */
#define BRIDGE_PORT_OFF 0xffffffffu
/* The longest address, as inet_ntop writes it, with its NUL. */
#define BRIDGE_LISTEN_MAX 46
/* The longest value a setting is shown with, with its NUL. */
#define BRIDGE_SETTING_VALUE_MAX 64
/* The address listeners use unless told. */
#define BRIDGE_LISTEN_DEFAULT "127.0.0.1"

enum bridge_setting {
	BRIDGE_SETTING_IMAP_PORT,
	BRIDGE_SETTING_IMAPS_PORT,
	BRIDGE_SETTING_SMTP_PORT,
	BRIDGE_SETTING_SMTPS_PORT,
	BRIDGE_SETTING_LISTEN,
	BRIDGE_SETTING_LOG_LEVEL,
	BRIDGE_SETTINGS_COUNT
};

struct bridge_settings {
	unsigned imap_port;  /* STARTTLS; 0 any free port, or off */
	unsigned imaps_port; /* implicit TLS */
	unsigned smtp_port;  /* STARTTLS */
	unsigned smtps_port; /* implicit TLS */
	char listen[BRIDGE_LISTEN_MAX];
	enum sb_log_level log_level;
	/* Bit (1u << key) of each setting given, not left at its default. */
	unsigned given;
};

/* Every setting at its default, none given. */
void bridge_settings_default(struct bridge_settings *s);

/* "imap-port", ...; and a few words on what it is, for listings. */
const char *bridge_setting_name(enum bridge_setting key);
const char *bridge_setting_about(enum bridge_setting key);
/* The setting of that name, or -1. */
int bridge_setting_find(const char *name, size_t len);

/*
 * Sets one setting from its text (len bytes, not NUL-terminated) and
 * marks it given; on failure s is left as it was.
 */
int bridge_setting_parse(struct bridge_settings *s, enum bridge_setting key,
                         const char *value, size_t len,
                         const char **error_r) SB_WUR;
/* Back to its default, not given. */
void bridge_setting_reset(struct bridge_settings *s, enum bridge_setting key);
/* The setting's value as the file spells it ("1143", "off", "info"). */
void bridge_setting_format(const struct bridge_settings *s,
                           enum bridge_setting key,
                           char out[BRIDGE_SETTING_VALUE_MAX]);
/* The rules between settings: listeners on distinct ports. */
int bridge_settings_check(const struct bridge_settings *s,
                          const char **error_r) SB_WUR;
/* Copies into s every setting given in top. */
void bridge_settings_overlay(struct bridge_settings *s,
                             const struct bridge_settings *top);
/* Whether the settings of the listeners (ports, address) differ. */
bool bridge_settings_imap_differ(const struct bridge_settings *a,
                                 const struct bridge_settings *b);
bool bridge_settings_smtp_differ(const struct bridge_settings *a,
                                 const struct bridge_settings *b);
/* Whether addr (as bridge_setting_parse keeps it) is a loopback one. */
bool bridge_listen_is_loopback(const char *addr);

/*
 * The file's parser, incremental: feed it the file in pieces of any size
 * (a byte at a time gives the same result as the whole), then finish it.
 * Once it failed it stays failed, with the first error.
 */
struct bridge_settings_parser {
	struct bridge_settings *s; /* the caller's, filled as lines come */
	char line[BRIDGE_SETTINGS_LINE_MAX + 1];
	size_t len;
	unsigned line_no; /* of the line being read, from 1 */
	unsigned seen[BRIDGE_SETTINGS_COUNT]; /* the line of each key, 0 */
	size_t total;                         /* bytes fed */
	bool failed;
	char error[BRIDGE_SETTINGS_LINE_MAX + 128];
};

/* Sets *s to the defaults; the parser fills it. */
void bridge_settings_parser_init(struct bridge_settings_parser *pp,
                                 struct bridge_settings *s);
int bridge_settings_parser_feed(struct bridge_settings_parser *pp,
                                const void *data, size_t len,
                                const char **error_r) SB_WUR;
/* The last line, if it lacks its LF, and the rules between settings. */
int bridge_settings_parser_finish(struct bridge_settings_parser *pp,
                                  const char **error_r) SB_WUR;

/*
 * A settings file's text with one setting changed: its line rewritten in
 * place (value NULL: removed), or added at the end; every other line,
 * comments included, kept as it is. A text without settings gets a
 * header comment. The text must be valid (it is parsed first); the new
 * settings must be too: *s_r gets them.
 */
int bridge_settings_rewrite(const char *text, size_t len,
                            enum bridge_setting key, const char *value,
                            struct sb_buf *out, struct bridge_settings *s_r,
                            const char **error_r) SB_WUR;

/* Reads the file; a missing one gives the defaults. */
int bridge_settings_load(const char *path, struct bridge_settings *s,
                         const char **error_r) SB_WUR;
/*
 * Changes one setting in the file (value NULL: back to its default),
 * replacing the file atomically (mode 0600); *s_r gets the new settings.
 */
int bridge_settings_change(const char *path, enum bridge_setting key,
                           const char *value, struct bridge_settings *s_r,
                           const char **error_r) SB_WUR;

#endif
