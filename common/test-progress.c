/*
 * Progress reports: the line's text (counts, percent, rate, ETA, the end),
 * how often a terminal is redrawn and a log line written, with the clock
 * given, and the one terminal line taken by one reporter at a time.
 */
#include <fcntl.h>
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
	        {NULL, NULL},
	};

	/* Only the cases that read log lines turn them on. */
	sb_log_set_level(SB_LOG_WARN);
	return test_run(cases);
}
