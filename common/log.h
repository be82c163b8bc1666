/*
 * Logging to stderr with a level and a UTC timestamp.
 *
 * Nothing secret is ever logged: no password, key, token or message content.
 * Protocol lines that may carry credentials go through sb_log_redact_command
 * first. Every message is sanitised: control characters and bytes that are
 * not printable ASCII are escaped, so peer data cannot forge log lines.
 */
#ifndef SB_LOG_H
#define SB_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

enum sb_log_level {
	SB_LOG_DEBUG,
	SB_LOG_INFO,
	SB_LOG_WARN,
	SB_LOG_ERROR,
	SB_LOG_NONE, /* as a threshold: log nothing */
};

/* Messages below the threshold are dropped. The default is SB_LOG_INFO. */
void sb_log_set_level(enum sb_log_level level);
enum sb_log_level sb_log_get_level(void);
bool sb_log_enabled(enum sb_log_level level);

/*
 * Parses a --log-level value: debug, info, warn (or warning), error, none;
 * case-insensitive. Returns -1 on anything else.
 */
int sb_log_level_parse(const char *name, enum sb_log_level *level_r) SB_WUR;
const char *sb_log_level_name(enum sb_log_level level);

/* A short name put in front of every line, such as "saltbridge". */
void sb_log_set_ident(const char *ident);

/*
 * Something else drawn on the terminal (common/progress.h's line) that a
 * log line must not land on: before() runs ahead of each line sb_log
 * writes, after() once it is written. progress.c sets its own while it
 * has a terminal: before() takes its lock and clears its line, after()
 * draws the line again and releases the lock.
 *
 * Locking: both run outside stderr's lock (flockfile), the lock sb_log
 * writes under: before() comes before it is taken and after() after it
 * is released, so a hook may take a lock of its own and then stderr's,
 * the order progress.c takes them in when it draws. A hook must not call
 * sb_log, and nobody may call sb_log while holding a lock the hook takes
 * (progress.c logs outside its lock). NULL: no hook. The struct must
 * outlive its use (a static one).
 */
struct sb_log_hook {
	void (*before)(void);
	void (*after)(void);
};

void sb_log_set_hook(const struct sb_log_hook *hook);

void sb_log(enum sb_log_level level, const char *fmt, ...) SB_PRINTF(2, 3);
void sb_logv(enum sb_log_level level, const char *fmt, va_list ap)
        SB_PRINTF(2, 0);

#define sb_log_debug(...) sb_log(SB_LOG_DEBUG, __VA_ARGS__)
#define sb_log_info(...)  sb_log(SB_LOG_INFO, __VA_ARGS__)
#define sb_log_warn(...)  sb_log(SB_LOG_WARN, __VA_ARGS__)
#define sb_log_error(...) sb_log(SB_LOG_ERROR, __VA_ARGS__)

/*
 * Writes into out (always NUL-terminated, truncated to outsize) a copy of
 * one IMAP, SMTP or POP command line fit for a log. Space, tab, CR and LF
 * all separate words. For the commands that carry credentials only the
 * command word stays visible, plus the mechanism name when it is a plain
 * SASL name, and everything after it becomes " <redacted>":
 *   IMAP "tag LOGIN ...", "tag AUTHENTICATE mech ...",
 *   SMTP and POP3 "AUTH mech ...", POP3 "PASS ...".
 * The kept words are joined by single spaces. A bare SASL continuation
 * line (`in_sasl` true) becomes " <redacted>". Other lines are copied as
 * they are, without the line end.
 */
void sb_log_redact_command(const char *line, size_t len, bool in_sasl,
                           char *out, size_t outsize);

/*
 * True when the command line is one of those whose arguments
 * sb_log_redact_command hides (LOGIN, AUTHENTICATE, AUTH, PASS).
 */
bool sb_log_command_is_sensitive(const char *line, size_t len);

/*
 * Writes "<redacted N bytes>" into out (always NUL-terminated): what to log
 * in place of data that belongs to a sensitive command but does not arrive
 * on its first line.
 *
 * IMAP must use it for literals: when sb_log_command_is_sensitive() is
 * true for the line that opened a command ("a LOGIN {5}", "a LOGIN alice
 * {7}", "a AUTHENTICATE PLAIN {20}"), then every literal of that command
 * and every line that continues it after a literal, up to the end of the
 * command, is logged only through this function, never as text. SASL
 * exchanges after "+ " go through sb_log_redact_command with in_sasl true
 * (or through this function).
 */
void sb_log_redact_data(size_t len, char *out, size_t outsize);

#endif
