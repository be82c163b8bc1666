/*
 * Progress of long work, for people: how much is done out of how much,
 * the rate and the time left.
 *
 * On a terminal (sb_progress_terminal), one line is redrawn in place with
 * '\r', at most every SB_PROGRESS_DRAW_MS, and finished with a newline at
 * the end. The process has one such line: the first reporter to begin
 * while it is free draws it until it ends; the others, meanwhile, write
 * log lines, as every reporter does when there is no terminal. Log lines
 * are info lines (sb_log), one when another tenth of the total is done
 * but at most every SB_PROGRESS_LOG_MIN_MS, one at least every
 * SB_PROGRESS_LOG_MS, and one at the end.
 *
 * The drawn line leaves the cursor at its start. A log line (sb_log)
 * written meanwhile, by any thread, first clears it ("\r\033[K") and
 * draws it again below itself, through log.h's hook, which
 * sb_progress_terminal sets: the log line's row keeps nothing of it, and
 * the line stays the last one on the terminal. Other writes to the
 * terminal call sb_progress_hide first.
 *
 *   struct sb_progress p;
 *   sb_progress_begin(&p, "alice@example.org", "messages listed", 0, n);
 *   for (...) sb_progress_update(&p, done);
 *   sb_progress_end(&p, "done");
 *
 * A reporter is used by one thread at a time; the terminal's line is
 * shared under a lock. Only counts and the caller's label are shown: the
 * label must hold nothing secret.
 */
#ifndef SB_PROGRESS_H
#define SB_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The terminal's line: redrawn at most this often. */
#define SB_PROGRESS_DRAW_MS 100
/* Log lines: one at least this often ... */
#define SB_PROGRESS_LOG_MS 5000
/* ... and, at each tenth of the total, at most this often. */
#define SB_PROGRESS_LOG_MIN_MS 1000
/* The longest line, without its end: fits an 80-column terminal. */
#define SB_PROGRESS_WIDTH 79
/* Bytes kept of the label. */
#define SB_PROGRESS_LABEL_MAX 64

struct sb_progress {
	char label[SB_PROGRESS_LABEL_MAX]; /* printable ASCII only */
	const char *unit;     /* static text after the counts; NULL: none */
	bool bytes;           /* the counts are bytes, shown in MiB */
	bool active;          /* between begin and end */
	bool tty;             /* this one draws the terminal's line */
	uint64_t done, total; /* total 0: not known */
	uint64_t first;       /* done at begin: the rate counts from it */
	uint64_t start_ms;
	uint64_t shown_ms;   /* the last draw or log line; 0: none yet */
	uint64_t shown_done; /* done at the last log line */
};

/*
 * The stream the line is drawn on, for the whole process: the caller
 * passes stderr when isatty() says it is a terminal. NULL (the default):
 * log lines only. A reporter that began before keeps its way. While a
 * stream is set, log lines clear the drawn line and draw it again after
 * them (sb_log_set_hook), on this stream.
 */
void sb_progress_terminal(FILE *f);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t sb_progress_now_ms(void);

/*
 * Begins a report; label (cut to SB_PROGRESS_LABEL_MAX, every byte that is
 * not printable ASCII made '?') names the work, unit (kept as a pointer:
 * a static string) follows the counts. done may start above 0 (resumed
 * work). Draws the line at once when it takes the terminal.
 */
void sb_progress_begin(struct sb_progress *p, const char *label,
                       const char *unit, uint64_t done, uint64_t total);
/* As sb_progress_begin, for byte counts (shown in MiB). */
void sb_progress_begin_bytes(struct sb_progress *p, const char *label,
                             const char *unit, uint64_t done, uint64_t total);
/* A new total (an estimate made better); one below done is raised. */
void sb_progress_set_total(struct sb_progress *p, uint64_t total);
/* The work done so far; shown when a draw or a log line is due. */
void sb_progress_update(struct sb_progress *p, uint64_t done);
/*
 * Ends a report with its last line ("LABEL: counts, ..., HOW in 3.2 s")
 * and frees the terminal's line. A no-op when not active.
 */
void sb_progress_end(struct sb_progress *p, const char *how);
/*
 * Clears the terminal's line, if one is drawn, so that the caller can
 * write a line of its own; the next update draws it again.
 */
void sb_progress_hide(void);

/* The same with the clock given, for tests. */
void sb_progress_begin_at(struct sb_progress *p, const char *label,
                          const char *unit, bool bytes, uint64_t done,
                          uint64_t total, uint64_t now_ms);
void sb_progress_update_at(struct sb_progress *p, uint64_t done,
                           uint64_t now_ms);
void sb_progress_end_at(struct sb_progress *p, const char *how,
                        uint64_t now_ms);

/*
 * Formats the report's line at now_ms into buf (always NUL-terminated,
 * at most SB_PROGRESS_WIDTH characters; the label is cut first):
 *   "LABEL: 1200/2000 UNIT (60%), 350/s, ETA 0:03"
 *   "LABEL: 1.2/4.0 MiB UNIT (30%), 0.8 MiB/s, ETA 1:02:03"
 *   "LABEL: 1200 UNIT, 350/s"                    (total not known)
 *   "LABEL: 2000/2000 UNIT (100%), 625/s, HOW in 3.2 s"  (how given)
 * The rate shows after a second, counted from begin; the ETA when the
 * total is known and the rate is not 0. Returns the line's length.
 */
size_t sb_progress_format(const struct sb_progress *p, uint64_t now_ms,
                          const char *how, char *buf, size_t size);

/*
 * True when a draw (tty) or a log line is due at now_ms with p->done,
 * following the rules at the top.
 */
bool sb_progress_due(const struct sb_progress *p, uint64_t now_ms);

#endif
