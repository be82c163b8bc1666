#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sv.h"

/* A logged message is cut to this many bytes before escaping. */
#define SB_LOG_MAX_MESSAGE 2048

static enum sb_log_level sb_log_threshold = SB_LOG_INFO;
static const char *sb_log_ident = "saltbridge";

static const char *const sb_log_names[] = {
	[SB_LOG_DEBUG] = "debug",
	[SB_LOG_INFO] = "info",
	[SB_LOG_WARN] = "warn",
	[SB_LOG_ERROR] = "error",
	[SB_LOG_NONE] = "none",
};

void
sb_log_set_level(enum sb_log_level level)
{
	sb_log_threshold = level;
}

enum sb_log_level
sb_log_get_level(void)
{
	return sb_log_threshold;
}

bool
sb_log_enabled(enum sb_log_level level)
{
	return level >= sb_log_threshold && level != SB_LOG_NONE;
}

int
sb_log_level_parse(const char *name, enum sb_log_level *level_r)
{
	size_t i;

	if (strcasecmp(name, "warning") == 0) {
		*level_r = SB_LOG_WARN;
		return 0;
	}
	for (i = 0; i < SB_N_ELEMENTS(sb_log_names); i++) {
		if (strcasecmp(name, sb_log_names[i]) == 0) {
			*level_r = (enum sb_log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
sb_log_level_name(enum sb_log_level level)
{
	if ((size_t)level >= SB_N_ELEMENTS(sb_log_names))
		return "?";
	return sb_log_names[level];
}

void
sb_log_set_ident(const char *ident)
{
	sb_log_ident = ident;
}

/* Escapes everything but printable ASCII, so one message is one line. */
static void
sb_log_put_escaped(FILE *f, const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			putc_unlocked(c, f);
		else if (c == '\\')
			fputs("\\\\", f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

void
sb_logv(enum sb_log_level level, const char *fmt, va_list ap)
{
	char msg[SB_LOG_MAX_MESSAGE], stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;

	if (!sb_log_enabled(level))
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s %s: ", stamp, ts.tv_nsec / 1000000,
		sb_log_ident, sb_log_level_name(level));
	sb_log_put_escaped(stderr, msg,
			   (size_t)n < sizeof(msg) ? (size_t)n
						   : sizeof(msg) - 1);
	if ((size_t)n >= sizeof(msg))
		fputs("...", stderr);
	putc_unlocked('\n', stderr);
	funlockfile(stderr);
}

void
sb_log(enum sb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_logv(level, fmt, ap);
	va_end(ap);
}

static bool
sb_log_is_word(char c)
{
	return c != ' ' && c != '\t' && c != '\r' && c != '\n';
}

/* Copies `keep` followed by " <redacted>" (or only keep) into out. */
static void
sb_log_put_redacted(struct sb_sv keep, bool redacted, char *out,
		    size_t outsize)
{
	snprintf(out, outsize, "%.*s%s", (int)keep.len, keep.p,
		 redacted ? " <redacted>" : "");
}

void
sb_log_redact_command(const char *line, size_t len, bool in_sasl, char *out,
		      size_t outsize)
{
	struct sb_sv cur = sb_sv(line, len), w1, w2, w3;
	struct sb_sv all;

	if (outsize == 0)
		return;
	/* Without the line end. */
	while (cur.len > 0 &&
	       (cur.p[cur.len - 1] == '\n' || cur.p[cur.len - 1] == '\r'))
		cur.len--;
	all = cur;
	if (in_sasl) {
		sb_log_put_redacted(sb_sv("", 0), true, out, outsize);
		return;
	}
	/* Up to three words: [tag] command [mechanism]. */
	w1 = w2 = w3 = sb_sv("", 0);
	if (sb_sv_take_while(&cur, sb_log_is_word, SIZE_MAX, &w1) == 0) {
		sb_sv_skip_ws(&cur, SIZE_MAX);
		if (sb_sv_take_while(&cur, sb_log_is_word, SIZE_MAX, &w2) == 0) {
			sb_sv_skip_ws(&cur, SIZE_MAX);
			if (sb_sv_take_while(&cur, sb_log_is_word, SIZE_MAX,
					     &w3) != 0)
				w3 = sb_sv("", 0);
		}
	}
	/* SMTP "AUTH mech [initial]", POP3 "PASS secret". */
	if (sb_sv_eq_cstr_ci(w1, "AUTH") && w3.len > 0) {
		sb_log_put_redacted(sb_sv(all.p, (size_t)(w2.p + w2.len - all.p)),
				    true, out, outsize);
	} else if (sb_sv_eq_cstr_ci(w1, "PASS") && w2.len > 0) {
		sb_log_put_redacted(w1, true, out, outsize);
	} else if (sb_sv_eq_cstr_ci(w2, "LOGIN") && w3.len > 0) {
		/* IMAP "tag LOGIN user password": the user stays hidden too. */
		sb_log_put_redacted(sb_sv(all.p, (size_t)(w2.p + w2.len - all.p)),
				    true, out, outsize);
	} else if (sb_sv_eq_cstr_ci(w2, "AUTHENTICATE") && cur.len > 0) {
		/* IMAP SASL-IR: "tag AUTHENTICATE mech initial-response". */
		sb_log_put_redacted(sb_sv(all.p, (size_t)(w3.p + w3.len - all.p)),
				    true, out, outsize);
	} else {
		sb_log_put_redacted(all, false, out, outsize);
	}
}
