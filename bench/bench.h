/*
 * Shared pieces of the benchmark programs. Every benchmark measures the
 * code under test and a baseline in the same run on the same input, and
 * reports both and their ratio:
 *
 *   NAME: VALUE UNIT; baseline BASELINE-NAME: VALUE UNIT; ratio R
 *
 * With `--json FILE` the same results are also written as a JSON array of
 * objects {name, value, unit, baseline, baseline_value, ratio}. Results are
 * for people to read; no benchmark passes or fails.
 */
#ifndef SB_BENCH_H
#define SB_BENCH_H

#include <stddef.h>

struct bench_report;

/* Parses the command line (--json FILE, --quick); exits on a bad option. */
struct bench_report *bench_report_new(int argc, char **argv);
/* True with --quick: the caller should use a smaller input. */
int bench_report_quick(const struct bench_report *r);

/* Records one result and prints its line. ratio = value / baseline_value. */
void bench_report_add(struct bench_report *r, const char *name, double value,
                      const char *unit, const char *baseline_name,
                      double baseline_value);

/* Writes the JSON file if one was asked for, frees r; returns exit code. */
int bench_report_finish(struct bench_report **r);

/* Monotonic clock in seconds. */
double bench_now(void);

/*
 * Runs fn(arg) `rounds` times and returns the fastest run in seconds: the
 * least disturbed by the rest of the machine.
 */
double bench_best_of(int rounds, void (*fn)(void *arg), void *arg);

/* Peak resident set size of this process so far, in KiB. */
long bench_peak_rss_kib(void);

#endif
