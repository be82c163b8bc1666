/*
 * Progress reports (progress.h): the line's text, when it is due, the one
 * terminal line the process shares, and the log hook that keeps log lines
 * off it.
 */
#include "progress.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define SB_MIB 1048576.0

/*
 * The terminal's line: its stream, the reporter drawing it, whether
 * something is drawn on it now and what (to draw it again after a log
 * line), and whether a log line has it cleared now.
 *
 * Locking: sb_progress_lock guards these, and is taken before the
 * stream's own lock (flockfile) wherever both are held: when a line is
 * drawn, and around each log line, where log.c calls the hook below
 * before it takes stderr's lock and after it released it (log.h). The
 * hook holds sb_progress_lock from before() to after(), so that no line
 * is drawn between the clearing and the log line. Nothing here calls
 * sb_log while holding sb_progress_lock: the hook would wait for it.
 */
static pthread_mutex_t sb_progress_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *sb_progress_term;
static const struct sb_progress *sb_progress_owner;
static bool sb_progress_drawn;
static char sb_progress_text[SB_PROGRESS_WIDTH + 1];
static bool sb_progress_cleared;

/* Writes the line from its start, the rest of the row cleared, then end. */
static void
sb_progress_put_line(const char *line, const char *end)
{
	flockfile(sb_progress_term);
	fputs("\r", sb_progress_term);
	fputs(line, sb_progress_term);
	fputs("\033[K", sb_progress_term);
	fputs(end, sb_progress_term);
	funlockfile(sb_progress_term);
	fflush(sb_progress_term);
}

/* Before a log line: the lock taken, the line cleared if one is drawn. */
static void
sb_progress_log_before(void)
{
	pthread_mutex_lock(&sb_progress_lock);
	sb_progress_cleared = sb_progress_drawn && sb_progress_term != NULL;
	if (sb_progress_cleared) {
		fputs("\r\033[K", sb_progress_term);
		fflush(sb_progress_term);
	}
}

/* After it: the line drawn again below it, the lock released. */
static void
sb_progress_log_after(void)
{
	if (sb_progress_cleared && sb_progress_term != NULL)
		sb_progress_put_line(sb_progress_text, "\r");
	sb_progress_cleared = false;
	pthread_mutex_unlock(&sb_progress_lock);
}

static const struct sb_log_hook sb_progress_log_hook = {
        sb_progress_log_before,
        sb_progress_log_after,
};

void
sb_progress_terminal(FILE *f)
{
	pthread_mutex_lock(&sb_progress_lock);
	sb_progress_term = f;
	pthread_mutex_unlock(&sb_progress_lock);
	/* Log lines clear the line first only while there is one. */
	sb_log_set_hook(f != NULL ? &sb_progress_log_hook : NULL);
}

uint64_t
sb_progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Appends to buf at *pos, never past size; *pos counts what was wanted. */
static void SB_PRINTF(4, 5) sb_progress_put(char *buf, size_t size, size_t *pos,
                                            const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*pos < size ? buf + *pos : NULL,
	              *pos < size ? size - *pos : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

/* "2:03" or "1:02:03". */
static void
sb_progress_put_duration(char *buf, size_t size, size_t *pos, uint64_t s)
{
	if (s >= 3600)
		sb_progress_put(buf, size, pos, "%llu:%02u:%02u",
		                (unsigned long long)(s / 3600),
		                (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else
		sb_progress_put(buf, size, pos, "%u:%02u", (unsigned)(s / 60),
		                (unsigned)(s % 60));
}

/* The counts and what follows them: ": 1200/2000 UNIT (60%), ...". */
static void
sb_progress_tail(const struct sb_progress *p, uint64_t now_ms, const char *how,
                 char *buf, size_t size, size_t *pos)
{
	uint64_t elapsed = now_ms > p->start_ms ? now_ms - p->start_ms : 0;
	double rate = 0;

	if (p->bytes && p->total > 0)
		sb_progress_put(buf, size, pos, ": %.1f/%.1f MiB",
		                (double)p->done / SB_MIB,
		                (double)p->total / SB_MIB);
	else if (p->bytes)
		sb_progress_put(buf, size, pos, ": %.1f MiB",
		                (double)p->done / SB_MIB);
	else if (p->total > 0)
		sb_progress_put(buf, size, pos, ": %llu/%llu",
		                (unsigned long long)p->done,
		                (unsigned long long)p->total);
	else
		sb_progress_put(buf, size, pos, ": %llu",
		                (unsigned long long)p->done);
	if (p->unit != NULL && p->unit[0] != '\0')
		sb_progress_put(buf, size, pos, " %s", p->unit);
	if (p->total > 0)
		sb_progress_put(
		        buf, size, pos, " (%u%%)",
		        (unsigned)(100.0 * (double)p->done / (double)p->total));
	if (elapsed >= 1000 && p->done > p->first) {
		rate = (double)(p->done - p->first) * 1000.0 / (double)elapsed;
		if (p->bytes)
			sb_progress_put(buf, size, pos, ", %.1f MiB/s",
			                rate / SB_MIB);
		else
			sb_progress_put(buf, size, pos,
			                rate < 10 ? ", %.1f/s" : ", %.0f/s",
			                rate);
	}
	if (how != NULL) {
		sb_progress_put(buf, size, pos, ", %s in ", how);
		if (elapsed < 60000)
			sb_progress_put(buf, size, pos, "%.1f s",
			                (double)elapsed / 1000.0);
		else
			sb_progress_put_duration(buf, size, pos,
			                         elapsed / 1000);
	} else if (p->total > p->done && rate > 0) {
		double left = (double)(p->total - p->done) / rate;
		uint64_t s = (uint64_t)left;

		sb_progress_put(buf, size, pos, ", ETA ");
		/* Rounded up: "0:00" only once nothing is left. */
		sb_progress_put_duration(buf, size, pos,
		                         s + ((double)s < left ? 1 : 0));
	}
}

/*
 * The line, at most width characters (and size - 1): the label is cut
 * first, then the tail.
 */
static size_t
sb_progress_line(const struct sb_progress *p, uint64_t now_ms, const char *how,
                 size_t width, char *buf, size_t size)
{
	char tail[256];
	size_t tail_len = 0, label_len = strlen(p->label), room;

	if (size == 0)
		return 0;
	if (width > size - 1)
		width = size - 1;
	sb_progress_tail(p, now_ms, how, tail, sizeof(tail), &tail_len);
	if (tail_len >= sizeof(tail))
		tail_len = sizeof(tail) - 1;
	if (tail_len > width)
		tail_len = width;
	room = width - tail_len;
	if (label_len > room)
		label_len = room;
	memcpy(buf, p->label, label_len);
	memcpy(buf + label_len, tail, tail_len);
	buf[label_len + tail_len] = '\0';
	return label_len + tail_len;
}

size_t
sb_progress_format(const struct sb_progress *p, uint64_t now_ms,
                   const char *how, char *buf, size_t size)
{
	return sb_progress_line(p, now_ms, how, SB_PROGRESS_WIDTH, buf, size);
}

/* Tenths of the total done: 0 to 10. */
static uint64_t
sb_progress_tenths(const struct sb_progress *p, uint64_t done)
{
	if (done >= p->total)
		return 10;
	return (uint64_t)(10.0 * (double)done / (double)p->total);
}

bool
sb_progress_due(const struct sb_progress *p, uint64_t now_ms)
{
	uint64_t since;

	if (!p->active)
		return false;
	since = now_ms > p->shown_ms ? now_ms - p->shown_ms : 0;
	if (p->tty)
		return since >= SB_PROGRESS_DRAW_MS;
	if (since >= SB_PROGRESS_LOG_MS)
		return true;
	return p->total > 0 && since >= SB_PROGRESS_LOG_MIN_MS &&
	       sb_progress_tenths(p, p->done) >
	               sb_progress_tenths(p, p->shown_done);
}

/*
 * Writes the line on the terminal: from its start, the rest of the row
 * cleared, and the cursor back at its start (end NULL), or followed by
 * end. Only the owner draws.
 */
static void
sb_progress_draw(const struct sb_progress *p, const char *line, const char *end)
{
	size_t len;

	pthread_mutex_lock(&sb_progress_lock);
	if (sb_progress_owner == p && sb_progress_term != NULL) {
		sb_progress_put_line(line, end != NULL ? end : "\r");
		sb_progress_drawn = end == NULL;
		/* Kept to draw it again: a drawn line fits (progress.h). */
		len = strlen(line);
		if (len > sizeof(sb_progress_text) - 1)
			len = sizeof(sb_progress_text) - 1;
		memcpy(sb_progress_text, line, len);
		sb_progress_text[len] = '\0';
	}
	pthread_mutex_unlock(&sb_progress_lock);
}

/* Draws the line, or logs it (an info line). */
static void
sb_progress_show(struct sb_progress *p, uint64_t now_ms, const char *how)
{
	char line[SB_PROGRESS_LABEL_MAX + 256];

	if (p->tty) {
		sb_progress_line(p, now_ms, how, SB_PROGRESS_WIDTH, line,
		                 sizeof(line));
		sb_progress_draw(p, line, how != NULL ? "\n" : NULL);
	} else if (sb_log_enabled(SB_LOG_INFO)) {
		sb_progress_line(p, now_ms, how, sizeof(line) - 1, line,
		                 sizeof(line));
		sb_log(SB_LOG_INFO, "%s", line);
	}
	p->shown_ms = now_ms;
	p->shown_done = p->done;
}

void
sb_progress_begin_at(struct sb_progress *p, const char *label, const char *unit,
                     bool bytes, uint64_t done, uint64_t total, uint64_t now_ms)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; label[i] != '\0' && i < sizeof(p->label) - 1; i++)
		p->label[i] =
		        label[i] >= 0x20 && label[i] < 0x7f ? label[i] : '?';
	p->unit = unit;
	p->bytes = bytes;
	p->active = true;
	p->done = p->first = p->shown_done = done;
	p->total = total > 0 && total < done ? done : total;
	p->start_ms = p->shown_ms = now_ms;
	pthread_mutex_lock(&sb_progress_lock);
	if (sb_progress_term != NULL &&
	    (sb_progress_owner == NULL || sb_progress_owner == p)) {
		sb_progress_owner = p;
		p->tty = true;
	}
	pthread_mutex_unlock(&sb_progress_lock);
	if (p->tty)
		sb_progress_show(p, now_ms, NULL);
}

void
sb_progress_begin(struct sb_progress *p, const char *label, const char *unit,
                  uint64_t done, uint64_t total)
{
	sb_progress_begin_at(p, label, unit, false, done, total,
	                     sb_progress_now_ms());
}

void
sb_progress_begin_bytes(struct sb_progress *p, const char *label,
                        const char *unit, uint64_t done, uint64_t total)
{
	sb_progress_begin_at(p, label, unit, true, done, total,
	                     sb_progress_now_ms());
}

void
sb_progress_set_total(struct sb_progress *p, uint64_t total)
{
	p->total = total > 0 && total < p->done ? p->done : total;
}

void
sb_progress_update_at(struct sb_progress *p, uint64_t done, uint64_t now_ms)
{
	if (!p->active)
		return;
	p->done = done;
	if (p->total > 0 && p->total < done)
		p->total = done;
	if (sb_progress_due(p, now_ms))
		sb_progress_show(p, now_ms, NULL);
}

void
sb_progress_update(struct sb_progress *p, uint64_t done)
{
	sb_progress_update_at(p, done, sb_progress_now_ms());
}

void
sb_progress_end_at(struct sb_progress *p, const char *how, uint64_t now_ms)
{
	if (!p->active)
		return;
	sb_progress_show(p, now_ms, how);
	if (p->tty) {
		pthread_mutex_lock(&sb_progress_lock);
		if (sb_progress_owner == p) {
			sb_progress_owner = NULL;
			sb_progress_drawn = false;
		}
		pthread_mutex_unlock(&sb_progress_lock);
	}
	p->active = false;
	p->tty = false;
}

void
sb_progress_end(struct sb_progress *p, const char *how)
{
	sb_progress_end_at(p, how, sb_progress_now_ms());
}

void
sb_progress_hide(void)
{
	pthread_mutex_lock(&sb_progress_lock);
	if (sb_progress_drawn && sb_progress_term != NULL) {
		fputs("\r\033[K", sb_progress_term);
		fflush(sb_progress_term);
		sb_progress_drawn = false;
	}
	pthread_mutex_unlock(&sb_progress_lock);
}
