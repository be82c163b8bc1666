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

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "common/compiler.h"

struct bench_report;

/* Parses the command line (--json FILE, --quick); exits on a bad option. */
struct bench_report *bench_report_new(int argc, char **argv);
/* True with --quick: the caller should use a smaller input. */
int bench_report_quick(const struct bench_report *r);

/*
 * A tag ("10k", "quick") that every later name and baseline name ends
 * with, after an underscore; "" for none, the default.
 */
void bench_report_set_tag(struct bench_report *r, const char *tag);
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

/*
 * ---- Child processes and a temporary folder (bench-server.c) ----
 *
 * For the benchmarks that drive real servers. Every child runs in a slot
 * of its own; at exit (bench_fail included) and on SIGINT, SIGTERM and
 * SIGHUP the children still running are stopped, in the order of the
 * slots, and the temporary folder is removed. Only the process that
 * called bench_setup cleans up: a forked child leaves it all be.
 */

/* Seconds between SIGTERM and SIGKILL when a server is stopped. */
#define BENCH_STOP_GRACE 5.0

enum bench_child {
	BENCH_CHILD_FORK,  /* a fork of this process (bench_fork), killed */
	BENCH_CHILD_CMD,   /* a command run to its end (bench_run), killed */
	BENCH_CHILD_OTHER, /* a baseline's server, stopped with grace */
	BENCH_CHILD_SERVE, /* saltmaild serve, stopped with grace */
	BENCH_N_CHILDREN
};

/*
 * Makes the temporary folder $TMPDIR/NAME-XXXXXX (/tmp without TMPDIR)
 * and sets up the cleanup; SIGPIPE is ignored. NAME also begins the
 * messages of bench_fail and the other notes on stderr.
 */
void bench_setup(const char *name);
/* The temporary folder. */
const char *bench_tmp_dir(void);
/* A path inside the temporary folder; fails when it is too long. */
void bench_tmp_path(char *out, size_t size, const char *name);
/* Removes a folder and all it holds, as far as it can. */
void bench_remove_tree(const char *path);

/*
 * Prints "NAME: " and the message on stderr and exits 1 (the cleanup runs
 * from atexit); in a forked child, _exit(1).
 */
void bench_fail(const char *fmt, ...) SB_NORETURN SB_PRINTF(1, 2);
/* Prints the last bytes of a file of the temporary folder on stderr. */
void bench_print_tail(const char *name);
/* Opens a file of the temporary folder to append a child's output to. */
int bench_open_log(const char *name);
/*
 * bench_run with password and a newline on stdin (through a file of the
 * temporary folder, mode 0600, removed after), stdout and stderr in log.
 */
void bench_run_with_password(char *const argv[], const char *password,
                             const char *log, const char *what);

/*
 * Starts argv (argv[0] a path) in a process group of its own, in the slot
 * (not BENCH_CHILD_FORK), with stdin, stdout and stderr on the given
 * descriptors (-1: /dev/null) and no other descriptor of ours.
 */
pid_t bench_spawn(enum bench_child slot, char *const argv[], int in, int out,
                  int err);
/* Takes a line a child printed; true once it is the one awaited. */
typedef bool bench_line_fn(void *ctx, const char *line);
/*
 * bench_spawn with stdout through a pipe and stderr appended to the file
 * log of the temporary folder; each line the child prints (without its
 * LF) goes to fn until fn returns true. Fails, with the end of log, when
 * that does not happen within `seconds`. Returns the pipe's end, for the
 * caller to keep open while the child runs (what followed the line is
 * lost), and the child's id in *pid_r.
 */
int bench_spawn_until(enum bench_child slot, char *const argv[],
                      const char *log, double seconds, bench_line_fn *fn,
                      void *ctx, pid_t *pid_r);
/*
 * Runs argv to its end in BENCH_CHILD_CMD, stdin from in (-1: /dev/null),
 * stdout and stderr appended to files of the temporary folder (they may
 * be the same); fails unless it exits 0, with the end of err_name.
 */
void bench_run(char *const argv[], int in, const char *out_name,
               const char *err_name, const char *what);
/*
 * Stops the child of the slot: a process group with SIGTERM, then SIGKILL
 * for what is left of it after grace seconds (the leader is reaped last,
 * so its id cannot name someone else); a fork with SIGKILL. Returns its
 * wait status (0 when the slot was empty).
 */
int bench_stop(enum bench_child slot, double grace);
/* Whether the child of the slot has ended (reaped) or there is none. */
bool bench_child_ended(enum bench_child slot);

/*
 * fork() into BENCH_CHILD_FORK; the child has the default signal
 * handlers. bench_fork_wait waits for it and returns its wait status.
 */
pid_t bench_fork(void);
int bench_fork_wait(void);

/* saltmaild serve (BENCH_CHILD_SERVE) on a free loopback port. */
struct bench_saltmaild {
	char data[PATH_MAX + 64]; /* its data folder, "data" of ours */
	char cert[PATH_MAX + 96]; /* its certificate, under data */
	char base_url[32];        /* https://127.0.0.1:PORT */
	unsigned port;
	int out; /* its stdout after the ready line, open, unread; or -1 */
};

/* The paths, in the temporary folder; nothing runs yet. */
void bench_saltmaild_init(struct bench_saltmaild *d);
/*
 * Starts `BINARY serve --data DATA --listen 127.0.0.1:0 --open-signup
 * EXTRA...` (extra NULL-ended, may be NULL), its stderr in saltmaild.log
 * of the temporary folder, and reads "saltmaild: ready
 * https://127.0.0.1:PORT" from its stdout; fails without it.
 */
void bench_saltmaild_start(struct bench_saltmaild *d, const char *binary,
                           const char *const *extra);
/*
 * `BINARY user add --data DATA EMAIL --password-stdin`, before it serves;
 * its output in user-add.log.
 */
void bench_saltmaild_user_add(const struct bench_saltmaild *d,
                              const char *binary, const char *email,
                              const char *password);
/*
 * Stops it; when it did not exit 0, prints the end of its log and its
 * status, and fails if must_be_clean.
 */
void bench_saltmaild_stop(struct bench_saltmaild *d, bool must_be_clean);

/*
 * ---- Generated mail for `saltmaild import` (bench-server.c) ----
 *
 * The same messages on every run and machine: From one of 97 senders (or
 * the one given), a Subject and Message-ID with the message's number
 * ("Message-ID: <bench-N@example.net>"), text in lines of at most 72
 * characters, some multipart/mixed with a base64 attachment.
 */
struct bench_mail {
	const char *to;            /* the To: address */
	const char *from;          /* the From: field; NULL: 97 senders */
	size_t text_min, text_max; /* bytes of text */
	unsigned multi_one_in;     /* one in this many has an attachment */
	size_t attach_min, attach_max;
	/* The 8th of each big_one_in (0: none) has one of big_min..big_max. */
	unsigned big_one_in;
	size_t big_min, big_max;
	bool answered; /* one in twenty-three \Answered, besides the rest */
};

/*
 * Writes n messages into the Maildir dir (made, with cur/, new/ and
 * tmp/), in cur/: received a minute apart (the files' mtimes), with their
 * flags in the file names: two in three \Seen, one in seventeen
 * \Flagged (and \Answered when the mail says so).
 */
void bench_maildir_write(const char *dir, size_t n,
                         const struct bench_mail *mail);

/* The generator's state for message 0; each message moves it on. */
#define BENCH_MAIL_SEED 0x5a17b1d9e0000001ULL

/* Message i, dated `when`, with LF line ends; x: the generator's state. */
void bench_mail_message(FILE *f, uint64_t *x, const struct bench_mail *m,
                        size_t i, time_t when);

#endif
