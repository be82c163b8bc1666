#include "log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sv.h"

/* A logged message is cut to this many bytes before escaping. */
#define SB_LOG_MAX_MESSAGE 2048

/*
 * Threads read the threshold and the ident while one may set them: both
 * are atomic (relaxed is enough, they guard nothing else).
 */
static _Atomic int sb_log_threshold = SB_LOG_INFO;
static const char *_Atomic sb_log_ident = "saltbridge";
/* Run around each line (log.h); set by progress.c from any thread. */
static const struct sb_log_hook *_Atomic sb_log_hook;

static const char *const sb_log_names[] = {
        [SB_LOG_DEBUG] = "debug", [SB_LOG_INFO] = "info",
        [SB_LOG_WARN] = "warn",   [SB_LOG_ERROR] = "error",
        [SB_LOG_NONE] = "none",
};

void
sb_log_set_level(enum sb_log_level level)
{
	atomic_store_explicit(&sb_log_threshold, (int)level,
	                      memory_order_relaxed);
}

enum sb_log_level
sb_log_get_level(void)
{
	return (enum sb_log_level)atomic_load_explicit(&sb_log_threshold,
	                                               memory_order_relaxed);
}

bool
sb_log_enabled(enum sb_log_level level)
{
	return level >= sb_log_get_level() && level != SB_LOG_NONE;
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
	atomic_store_explicit(&sb_log_ident, ident, memory_order_relaxed);
}

void
sb_log_set_hook(const struct sb_log_hook *hook)
{
	atomic_store_explicit(&sb_log_hook, hook, memory_order_release);
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
	const struct sb_log_hook *hook;
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

	/* The hook's lock, then stderr's: the order log.h gives. */
	hook = atomic_load_explicit(&sb_log_hook, memory_order_acquire);
	if (hook != NULL)
		hook->before();
	flockfile(stderr);
	fprintf(stderr, "%s.%03ldZ %s %s: ", stamp, ts.tv_nsec / 1000000,
	        atomic_load_explicit(&sb_log_ident, memory_order_relaxed),
	        sb_log_level_name(level));
	sb_log_put_escaped(stderr, msg,
	                   (size_t)n < sizeof(msg) ? (size_t)n
	                                           : sizeof(msg) - 1);
	if ((size_t)n >= sizeof(msg))
		fputs("...", stderr);
	putc_unlocked('\n', stderr);
	funlockfile(stderr);
	if (hook != NULL)
		hook->after();
}

void
sb_log(enum sb_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_logv(level, fmt, ap);
	va_end(ap);
}

/* Space, tab, CR and LF all separate words of a command line. */
static bool
sb_log_is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A SASL mechanism name (RFC 4422): letters, digits, '-' and '_'. */
static bool
sb_log_is_mech(const char *p, size_t len)
{
	size_t i;

	if (len == 0 || len > 20)
		return false;
	for (i = 0; i < len; i++) {
		char c = p[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* Where the first words of a command line start and end, as offsets. */
struct sb_log_words {
	size_t start[3], end[3];
	size_t count;
};

static void
sb_log_split(const char *line, size_t len, struct sb_log_words *w)
{
	size_t i = 0;

	w->count = 0;
	while (w->count < SB_N_ELEMENTS(w->start)) {
		while (i < len && sb_log_is_sep(line[i]))
			i++;
		if (i == len)
			break;
		w->start[w->count] = i;
		while (i < len && !sb_log_is_sep(line[i]))
			i++;
		w->end[w->count++] = i;
	}
}

static bool
sb_log_word_is(const char *line, const struct sb_log_words *w, size_t n,
               const char *name)
{
	return n < w->count && sb_sv_eq_cstr_ci(sb_sv(line + w->start[n],
	                                              w->end[n] - w->start[n]),
	                                        name);
}

/* True when something other than separators follows offset `from`. */
static bool
sb_log_has_more(const char *line, size_t len, size_t from)
{
	for (; from < len; from++) {
		if (!sb_log_is_sep(line[from]))
			return true;
	}
	return false;
}

/*
 * How many of the first words stay visible; the rest of the line is
 * redacted. Returns 0 words kept when the line is not sensitive: *redact_r
 * is then false.
 */
static size_t
sb_log_sensitive_words(const char *line, const struct sb_log_words *w,
                       bool *redact_r)
{
	size_t keep;

	*redact_r = true;
	if (sb_log_word_is(line, w, 0, "PASS")) {
		/* POP3 "PASS secret". */
		keep = 1;
	} else if (sb_log_word_is(line, w, 0, "AUTH")) {
		/* SMTP and POP3 "AUTH mech [initial-response]". */
		keep = w->count > 1 && sb_log_is_mech(line + w->start[1],
		                                      w->end[1] - w->start[1])
		               ? 2
		               : 1;
	} else if (sb_log_word_is(line, w, 1, "LOGIN")) {
		/* IMAP "tag LOGIN user password": the user stays hidden. */
		keep = 2;
	} else if (sb_log_word_is(line, w, 1, "AUTHENTICATE")) {
		/* IMAP "tag AUTHENTICATE mech [initial-response]". */
		keep = w->count > 2 && sb_log_is_mech(line + w->start[2],
		                                      w->end[2] - w->start[2])
		               ? 3
		               : 2;
	} else {
		*redact_r = false;
		return 0;
	}
	if (keep > w->count)
		keep = w->count;
	return keep;
}

bool
sb_log_command_is_sensitive(const char *line, size_t len)
{
	struct sb_log_words w;
	bool redact;

	sb_log_split(line, len, &w);
	(void)sb_log_sensitive_words(line, &w, &redact);
	return redact;
}

void
sb_log_redact_command(const char *line, size_t len, bool in_sasl, char *out,
                      size_t outsize)
{
	struct sb_log_words w;
	size_t keep, i, pos = 0, n;
	bool redact;

	if (outsize == 0)
		return;
	out[0] = '\0';
	if (in_sasl) {
		snprintf(out, outsize, " <redacted>");
		return;
	}
	sb_log_split(line, len, &w);
	keep = sb_log_sensitive_words(line, &w, &redact);
	if (!redact) {
		/* Copied as it is, without the line end. */
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		n = len < outsize - 1 ? len : outsize - 1;
		memcpy(out, line, n);
		out[n] = '\0';
		return;
	}
	/* The kept words, joined by single spaces: only offsets in line. */
	for (i = 0; i < keep; i++) {
		n = w.end[i] - w.start[i];
		if (i > 0 && pos < outsize - 1)
			out[pos++] = ' ';
		if (n > outsize - 1 - pos)
			n = outsize - 1 - pos;
		memcpy(out + pos, line + w.start[i], n);
		pos += n;
	}
	out[pos] = '\0';
	if (sb_log_has_more(line, len, keep > 0 ? w.end[keep - 1] : 0))
		snprintf(out + pos, outsize - pos, " <redacted>");
}

void
sb_log_redact_data(size_t len, char *out, size_t outsize)
{
	if (outsize == 0)
		return;
	snprintf(out, outsize, "<redacted %zu bytes>", len);
}
