/*
 * Progress reports: the line's text (counts, percent, rate, ETA, the end),
 * how often a terminal is redrawn and a log line written, with the clock
 * given, the one terminal line taken by one reporter at a time, and log
 * lines written while it is drawn (cleared first, drawn again after).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/progress.h"
#include "test.h"

/* An arbitrary start, far from 0, as a monotonic clock would be. */
#define T0 5000000

static char line[256];

static const char *
at(const struct sb_progress *p, uint64_t now, const char *how)
{
	sb_progress_format(p, now, how, line, sizeof(line));
	return line;
}

static void
test_format_counts(void)
{
	struct sb_progress p;

	sb_progress_begin_at(&p, "alice@example.org", "messages listed", false,
	                     0, 2000, T0);
	TEST_ASSERT(!p.tty);
	TEST_EQ_STR(at(&p, T0, NULL),
	            "alice@example.org: 0/2000 messages listed (0%)");
	/* No rate in the first second, nor before anything is done. */
	p.done = 10;
	TEST_EQ_STR(at(&p, T0 + 999, NULL),
	            "alice@example.org: 10/2000 messages listed (0%)");
	p.done = 0;
	TEST_EQ_STR(at(&p, T0 + 3000, NULL),
	            "alice@example.org: 0/2000 messages listed (0%)");
	p.done = 1200;
	TEST_EQ_STR(at(&p, T0 + 3000, NULL),
	            "alice@example.org: 1200/2000 messages listed (60%), "
	            "400/s, ETA 0:02");
	/* 1999 of 2000 is not 100%, and the ETA is rounded up. */
	p.done = 1999;
	TEST_EQ_STR(at(&p, T0 + 4000, NULL),
	            "alice@example.org: 1999/2000 messages listed (99%), "
	            "500/s, ETA 0:01");
	p.done = 2000;
	TEST_EQ_STR(at(&p, T0 + 5000, "done"),
	            "alice@example.org: 2000/2000 messages listed (100%), "
	            "400/s, done in 5.0 s");
	TEST_EQ_STR(at(&p, T0 + 125000, "done"),
	            "alice@example.org: 2000/2000 messages listed (100%), "
	            "16/s, done in 2:05");
	/* A slow rate keeps a decimal; hours in the ETA. */
	p.total = 20000;
	p.done = 5;
	TEST_EQ_STR(at(&p, T0 + 2000, NULL),
	            "alice@example.org: 5/20000 messages listed (0%), 2.5/s, "
	            "ETA 2:13:18");
	sb_progress_end_at(&p, "stopped", T0 + 2000);
	TEST_ASSERT(!p.active);
}

static void
test_format_other(void)
{
	struct sb_progress p;

	/* Total not known: no percent, no ETA. */
	sb_progress_begin_at(&p, "x", "bodies stored", false, 0, 0, T0);
	p.done = 1200;
	TEST_EQ_STR(at(&p, T0 + 3000, NULL), "x: 1200 bodies stored, 400/s");
	sb_progress_end_at(&p, "done", T0);

	/* Resumed work: the rate counts from where this run began. */
	sb_progress_begin_at(&p, "x", NULL, false, 1000, 2000, T0);
	p.done = 1400;
	TEST_EQ_STR(at(&p, T0 + 2000, NULL),
	            "x: 1400/2000 (70%), 200/s, ETA 0:03");
	sb_progress_end_at(&p, "done", T0);

	/* Bytes, in MiB. */
	sb_progress_begin_at(&p, "import", "read", true, 0, 4 * 1048576, T0);
	p.done = 1258292;
	TEST_EQ_STR(at(&p, T0 + 2000, NULL),
	            "import: 1.2/4.0 MiB read (30%), 0.6 MiB/s, ETA 0:05");
	sb_progress_end_at(&p, "done", T0);

	/* A total below what is done is raised. */
	sb_progress_begin_at(&p, "x", NULL, false, 0, 10, T0);
	sb_progress_update_at(&p, 12, T0);
	TEST_EQ_UINT(p.total, 12);
	sb_progress_set_total(&p, 5);
	TEST_EQ_UINT(p.total, 12);
	sb_progress_set_total(&p, 0);
	TEST_EQ_UINT(p.total, 0);
	sb_progress_end_at(&p, "done", T0);
}

static void
test_format_width(void)
{
	struct sb_progress p;
	char label[100];

	/* A long label is cut, the counts stay whole. */
	memset(label, 'a', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	sb_progress_begin_at(&p, label, "messages listed", false, 0, 2000, T0);
	TEST_EQ_UINT(strlen(p.label), SB_PROGRESS_LABEL_MAX - 1);
	p.done = 1200;
	TEST_EQ_UINT(
	        sb_progress_format(&p, T0 + 3000, NULL, line, sizeof(line)),
	        SB_PROGRESS_WIDTH);
	TEST_EQ_UINT(strlen(line), SB_PROGRESS_WIDTH);
	TEST_ASSERT(strstr(line, "aaa: 1200/2000 messages listed (60%), "
	                         "400/s, ETA 0:02") != NULL);
	/* A small buffer: cut, terminated. */
	TEST_EQ_UINT(sb_progress_format(&p, T0 + 3000, NULL, line, 10), 9);
	TEST_EQ_UINT(strlen(line), 9);
	sb_progress_end_at(&p, "done", T0);

	/* Nothing but printable ASCII from the label reaches a terminal. */
	sb_progress_begin_at(&p, "a\033[2J\nb\xc3\xa9", NULL, false, 0, 0, T0);
	TEST_EQ_STR(p.label, "a?[2J?b??");
	sb_progress_end_at(&p, "done", T0);
}

static void
test_due(void)
{
	struct sb_progress p;

	/* Log lines: at a new tenth after a second, else after 5 s. */
	sb_progress_begin_at(&p, "x", NULL, false, 0, 100, T0);
	p.done = 5;
	TEST_ASSERT(!sb_progress_due(&p, T0 + 500));
	p.done = 10;
	TEST_ASSERT(!sb_progress_due(&p, T0 + 999));
	TEST_ASSERT(sb_progress_due(&p, T0 + 1000));
	p.shown_ms = T0 + 1000;
	p.shown_done = 10;
	p.done = 19;
	TEST_ASSERT(!sb_progress_due(&p, T0 + 5999));
	TEST_ASSERT(sb_progress_due(&p, T0 + 6000));
	sb_progress_end_at(&p, "done", T0);
	TEST_ASSERT(!sb_progress_due(&p, T0 + 60000));

	/* Total not known: every 5 s. */
	sb_progress_begin_at(&p, "x", NULL, false, 0, 0, T0);
	p.done = 1000;
	TEST_ASSERT(!sb_progress_due(&p, T0 + 4999));
	TEST_ASSERT(sb_progress_due(&p, T0 + 5000));
	sb_progress_end_at(&p, "done", T0);

	/* A terminal: every 100 ms, whatever the counts. */
	sb_progress_begin_at(&p, "x", NULL, false, 0, 100, T0);
	p.tty = true;
	TEST_ASSERT(!sb_progress_due(&p, T0 + 99));
	TEST_ASSERT(sb_progress_due(&p, T0 + 100));
	p.tty = false;
	sb_progress_end_at(&p, "done", T0);
}

/* Where stderr goes while capturing. */
static int saved_stderr = -1;
static char capture_path[512];

static void
capture_begin(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "%s/stderr.txt",
	         test_tmpdir());
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	TEST_ASSERT(saved_stderr >= 0);
	TEST_ASSERT(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

static char *
capture_end(void)
{
	size_t len;

	fflush(stderr);
	TEST_ASSERT(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	saved_stderr = -1;
	return test_read_file(capture_path, &len);
}

static size_t
count(const char *text, const char *what)
{
	size_t n = 0;
	const char *p;

	for (p = strstr(text, what); p != NULL; p = strstr(p + 1, what))
		n++;
	return n;
}

/* Updates done = 1..n, one every step_ms from T0, then ends at the last. */
static void
run(struct sb_progress *p, uint64_t n, uint64_t step_ms)
{
	uint64_t i;

	for (i = 1; i <= n; i++)
		sb_progress_update_at(p, i, T0 + i * step_ms);
	sb_progress_end_at(p, "done", T0 + n * step_ms);
}

static void
test_log_lines(void)
{
	struct sb_progress p;
	char *out;

	sb_log_set_level(SB_LOG_INFO);
	sb_log_set_ident("test");
	/* 1000 in 10 s: a line at each tenth, and the end. */
	capture_begin();
	sb_progress_begin_at(&p, "slow", "messages", false, 0, 1000, T0);
	run(&p, 1000, 10);
	out = capture_end();
	TEST_EQ_UINT(count(out, " test info: slow: "), 11);
	TEST_ASSERT(strstr(out, " test info: slow: 100/1000 messages (10%), "
	                        "100/s, ETA 0:09\n") != NULL);
	TEST_ASSERT(strstr(out, " test info: slow: 1000/1000 messages (100%), "
	                        "100/s, done in 10.0 s\n") != NULL);
	TEST_EQ_UINT(count(out, "\r"), 0);
	free(out);

	/* 1000 in 1 s: the tenths come too fast; one line, and the end. */
	capture_begin();
	sb_progress_begin_at(&p, "fast", NULL, false, 0, 1000, T0);
	run(&p, 1000, 1);
	out = capture_end();
	TEST_EQ_UINT(count(out, " test info: fast: "), 2);
	free(out);

	/* No total, 20 s: every 5 s, and the end. */
	capture_begin();
	sb_progress_begin_at(&p, "open", NULL, false, 0, 0, T0);
	run(&p, 20, 1000);
	out = capture_end();
	TEST_EQ_UINT(count(out, " test info: open: "), 5);
	free(out);

	/* Below the log level: nothing (and the level as the others want). */
	sb_log_set_level(SB_LOG_WARN);
	capture_begin();
	sb_progress_begin_at(&p, "quiet", NULL, false, 0, 1000, T0);
	run(&p, 1000, 10);
	out = capture_end();
	TEST_EQ_STR(out, "");
	free(out);
}

static void
test_terminal(void)
{
	struct sb_progress p, other, third;
	char path[512], *out, *logged;
	size_t len;
	FILE *term;

	sb_log_set_level(SB_LOG_INFO);
	snprintf(path, sizeof(path), "%s/term.txt", test_tmpdir());
	term = fopen(path, "w");
	TEST_ASSERT(term != NULL);
	sb_progress_terminal(term);
	capture_begin();
	sb_progress_begin_at(&p, "one", "messages", false, 0, 1000, T0);
	TEST_ASSERT(p.tty);
	/* The line is taken: another reporter logs meanwhile. */
	sb_progress_begin_at(&other, "two", NULL, false, 0, 0, T0);
	TEST_ASSERT(!other.tty);
	/* 1000 in 10 s: drawn at begin, every 100 ms, and at the end. */
	run(&p, 1000, 10);
	sb_progress_end_at(&other, "done", T0);
	/* Free again. */
	sb_progress_begin_at(&third, "three", NULL, false, 0, 0, T0);
	TEST_ASSERT(third.tty);
	sb_progress_hide();
	sb_progress_hide();
	sb_progress_end_at(&third, "stopped", T0);
	sb_progress_terminal(NULL);
	logged = capture_end();
	TEST_EQ_INT(fclose(term), 0);
	out = test_read_file(path, &len);

	TEST_EQ_UINT(count(out, "one: "), 1 + 100 + 1);
	TEST_EQ_UINT(count(out, "\033[K"), 1 + 100 + 1 + 1 + 1 + 1);
	TEST_ASSERT(strncmp(out,
	                    "\rone: 0/1000 messages (0%)\033[K\r"
	                    "\rone: 10/1000 messages (1%)\033[K\r",
	                    61) == 0);
	TEST_ASSERT(strstr(out, "\rone: 1000/1000 messages (100%), 100/s, "
	                        "done in 10.0 s\033[K\n") != NULL);
	/* Hidden once (nothing drawn the second time), then ended. */
	TEST_ASSERT(strstr(out,
	                   "\rthree: 0\033[K\r\r\033[K"
	                   "\rthree: 0, stopped in 0.0 s\033[K\n") != NULL);
	TEST_EQ_UINT(count(out, "two"), 0);
	/* The other reporter logged its end only. */
	TEST_EQ_UINT(count(logged, " info: two: 0, done in 0.0 s\n"), 1);
	TEST_EQ_UINT(count(logged, "one:"), 0);
	free(logged);
	free(out);
	sb_log_set_level(SB_LOG_WARN);
}

/*
 * A log line while the line is drawn, on the same stream (stderr, sent to
 * a file): the line is cleared first and drawn again after it.
 */
static void
test_log_over_line(void)
{
	static const char first[] = "\rone: 0/10 things (0%)\033[K\r";
	static const char end[] =
	        "one: 5/10 things (50%), done in 0.2 s\033[K\n";
	struct sb_progress p;
	const char *rest;
	char *out;

	sb_log_set_level(SB_LOG_INFO);
	sb_log_set_ident("test");
	capture_begin();
	sb_progress_terminal(stderr);
	sb_progress_begin_at(&p, "one", "things", false, 0, 10, T0);
	sb_log(SB_LOG_INFO, "between");
	sb_progress_update_at(&p, 5, T0 + 100);
	sb_progress_end_at(&p, "done", T0 + 200);
	/* Nothing drawn any more: nothing to clear. */
	sb_log(SB_LOG_INFO, "after");
	sb_progress_terminal(NULL);
	out = capture_end();

	/* Drawn, then cleared for the log line. */
	TEST_ASSERT(strncmp(out, first, strlen(first)) == 0);
	TEST_ASSERT(strncmp(out + strlen(first), "\r\033[K", 4) == 0);
	/* The log line whole, then the line drawn again, then updated. */
	TEST_ASSERT(strstr(out, " test info: between\n"
	                        "\rone: 0/10 things (0%)\033[K\r"
	                        "\rone: 5/10 things (50%)\033[K\r") != NULL);
	rest = strstr(out, end);
	TEST_ASSERT(rest != NULL);
	rest += strlen(end);
	TEST_ASSERT(rest[0] != '\r');
	TEST_ASSERT(strstr(rest, " test info: after\n") != NULL);
	TEST_EQ_UINT(count(out, "\r\033[K"), 1);
	TEST_EQ_UINT(count(out, " test info: "), 2);
	free(out);
	sb_log_set_level(SB_LOG_WARN);
}

#define LOG_LINES 200

static void *
log_lines(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < LOG_LINES; i++)
		sb_log(SB_LOG_INFO, "line %d", i);
	return NULL;
}

/*
 * Reads what the terminal got: drawn lines ("\rbusy: ...\033[K\r", the
 * last one ending in "\n") and log lines, each of which must come after
 * "\r\033[K", whole on its row, and be followed by the line drawn again.
 * Returns how many log lines there were.
 */
static size_t
check_terminal(const char *p)
{
	const char *e;
	size_t logs = 0;
	bool ended = false;

	while (*p != '\0') {
		TEST_ASSERT(!ended);
		if (strncmp(p, "\r\033[K", 4) == 0) {
			p += 4;
			e = strchr(p, '\n');
			TEST_ASSERT(e != NULL);
			TEST_ASSERT(memchr(p, '\r', (size_t)(e - p)) == NULL);
			TEST_ASSERT(memchr(p, '\033', (size_t)(e - p)) == NULL);
			p = strstr(p, " test info: line ");
			TEST_ASSERT(p != NULL && p < e);
			p = e + 1;
			/* Drawn again at once. */
			TEST_ASSERT(p[0] == '\r' && p[1] != '\033');
			logs++;
			continue;
		}
		TEST_ASSERT(strncmp(p, "\rbusy: ", 7) == 0);
		e = strstr(p, "\033[K");
		TEST_ASSERT(e != NULL);
		TEST_ASSERT(memchr(p + 1, '\r', (size_t)(e - p - 1)) == NULL);
		TEST_ASSERT(memchr(p, '\n', (size_t)(e - p)) == NULL);
		p = e + 3;
		TEST_ASSERT(*p == '\r' || *p == '\n');
		ended = *p == '\n';
		p++;
	}
	TEST_ASSERT(ended);
	return logs;
}

/* Another thread logs while this one redraws: no line lands on another. */
static void
test_log_threads(void)
{
	struct sb_progress p;
	pthread_t t;
	uint64_t i;
	char *out;

	sb_log_set_level(SB_LOG_INFO);
	sb_log_set_ident("test");
	capture_begin();
	sb_progress_terminal(stderr);
	sb_progress_begin_at(&p, "busy", NULL, false, 0, LOG_LINES, T0);
	TEST_EQ_INT(pthread_create(&t, NULL, log_lines, NULL), 0);
	/* Each update due (100 ms apart on the clock given): each drawn. */
	for (i = 1; i <= LOG_LINES; i++)
		sb_progress_update_at(&p, i, T0 + i * 100);
	TEST_EQ_INT(pthread_join(t, NULL), 0);
	sb_progress_end_at(&p, "done", T0 + (LOG_LINES + 1) * 100);
	sb_progress_terminal(NULL);
	out = capture_end();
	TEST_EQ_UINT(check_terminal(out), LOG_LINES);
	TEST_EQ_UINT(count(out, "busy: "), 1 + LOG_LINES + LOG_LINES + 1);
	free(out);
	sb_log_set_level(SB_LOG_WARN);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"format: counts, rate, ETA, end", test_format_counts},
	        {"format: no total, resumed, bytes, totals", test_format_other},
	        {"format: width and label", test_format_width},
	        {"due: terminal and log", test_due},
	        {"log lines", test_log_lines},
	        {"the terminal's line", test_terminal},
	        {"a log line over the drawn line", test_log_over_line},
	        {"log lines from another thread", test_log_threads},
	        {NULL, NULL},
	};

	/* Only the cases that read log lines turn them on. */
	sb_log_set_level(SB_LOG_WARN);
	return test_run(cases);
}
