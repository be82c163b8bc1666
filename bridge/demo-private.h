/*
 * saltbridge demo's insides, shared by its files (bridge/demo*.c) and
 * its unit test: the state file kept between runs, the child processes
 * it supervises, and the sample mail.
 */
#ifndef SB_BRIDGE_DEMO_PRIVATE_H
#define SB_BRIDGE_DEMO_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "bridge/bridge-private.h"
#include "common/buf.h"
#include "common/compiler.h"

/* ---- The accounts ---- */

#define DEMO_ACCOUNTS 2

/* alice@demo.test and bob@demo.test. */
extern const char *const demo_emails[DEMO_ACCOUNTS];

/* ---- The state file, DIR/demo.state ---- */

/*
 * What the next run reuses, one "key value" line each, '#' comments:
 *
 *   password alice@demo.test abcd-efgh-...   the account's password
 *   service-port 40123                       where saltmaild listened
 *   samples 5                                sample deliveries made
 *
 * It holds the account passwords: it is written with mode 0600, and read
 * into secure memory.
 */
#define DEMO_STATE_MAX      4096
#define DEMO_PASSWORD_MAX   128
#define DEMO_STATE_FILENAME "demo.state"

struct demo_state {
	char *passwords[DEMO_ACCOUNTS]; /* secure memory, or NULL */
	unsigned service_port;          /* 0: none remembered */
	unsigned samples;               /* deliveries of demo_samples done */
};

/*
 * Reads the state file: 1 with *st filled, 0 when there is none (*st
 * empty), -1 when it cannot be read or does not parse (the error names
 * the line).
 */
int demo_state_load(const char *path, struct demo_state *st,
                    const char **error_r) SB_WUR;
/* Parses the text of a state file (len bytes) into *st; 0 or -1. */
int demo_state_parse(const char *text, size_t len, struct demo_state *st,
                     const char **error_r) SB_WUR;
/* Replaces the file atomically (mode 0600). */
int demo_state_save(const char *path, const struct demo_state *st,
                    const char **error_r) SB_WUR;
/* Wipes and frees the passwords; *st is empty afterwards. */
void demo_state_clear(struct demo_state *st);

/* ---- Child processes ---- */

/*
 * A process the demo started. Each runs in a process group of its own,
 * so that a Ctrl-C on the terminal reaches only the demo, which then
 * stops them in order; and each gets SIGTERM when the demo dies (Linux's
 * parent-death signal), so that none is left behind even then.
 */
struct demo_child {
	const char *name; /* for messages: "saltmaild", "saltbridge serve" */
	pid_t pid;        /* 0: not running (reaped) */
	int out;          /* the read end of its standard output, or -1 */
	struct sb_buf pending; /* output read after the last line given */
	int status;            /* its wait status, once reaped */
};

/*
 * The signals the demo takes itself, through a signalfd: SIGINT,
 * SIGTERM and SIGHUP ask it to stop; SIGCHLD says a child ended. They
 * are blocked from demo_signals_open on (before any thread or child
 * starts); children start with none blocked.
 */
struct demo_signals {
	int fd;
	bool stop;   /* a stop was asked for */
	bool child;  /* a child may have ended since the last look */
	int stopped; /* the signal that asked for the stop */
};

int demo_signals_open(struct demo_signals *s, const char **error_r) SB_WUR;
void demo_signals_close(struct demo_signals *s);
/* Takes the signals pending, without waiting; returns s->stop. */
bool demo_signals_poll(struct demo_signals *s);

void demo_child_init(struct demo_child *c, const char *name);

/* demo_child_start's out_fd: a pipe read through c->out. */
#define DEMO_CAPTURE (-2)

/*
 * Starts argv[0] (a path) with argv. Its standard input is in_fd (-1:
 * /dev/null), its standard output out_fd (-1: /dev/null; DEMO_CAPTURE),
 * its standard error err_fd (-1: the demo's); the child gets copies.
 */
int demo_child_start(struct demo_child *c, const char *const *argv, int in_fd,
                     int out_fd, int err_fd, const char **error_r) SB_WUR;

enum demo_wait {
	DEMO_WAIT_LINE,    /* a line came (without its line end) */
	DEMO_WAIT_ENDED,   /* its output ended: it exited or is exiting */
	DEMO_WAIT_TIMEOUT, /* nothing within the time given */
	DEMO_WAIT_STOP,    /* a stop was asked for (s->stop) */
	DEMO_WAIT_ERROR,
};

/*
 * Waits up to timeout_ms for the next line of c's output (at most
 * max_line bytes; a longer one is cut), and for the signals meanwhile.
 */
enum demo_wait demo_child_line(struct demo_child *c, struct demo_signals *s,
                               int timeout_ms, size_t max_line,
                               struct sb_buf *line);
/* True once c ended, reaping it (its status in c->status). */
bool demo_child_ended(struct demo_child *c);
/*
 * SIGTERM, up to grace_ms for it to end, then SIGKILL; reaps it and
 * closes its output. True when it was running and exited 0.
 */
bool demo_child_stop(struct demo_child *c, unsigned grace_ms);
/* Closes the output of a child that was reaped. */
void demo_child_free(struct demo_child *c);
/*
 * "exited 3", "was killed by signal 9 (Killed)": the status of a reaped
 * child, in a buffer of its own that the next call reuses.
 */
const char *demo_status_text(int status);

/*
 * Runs argv to its end with `in` (len bytes) on its standard input;
 * *status_r is its wait status, and output gets the last line it wrote
 * on its standard output or error (to explain a failure). Signals stay
 * pending meanwhile: the command is short.
 */
int demo_run(const char *const *argv, const void *in, size_t len, int *status_r,
             struct sb_buf *output, const char **error_r) SB_WUR;

/* ---- The sample mail ---- */

struct demo_sample {
	const char *to;   /* the account it is delivered to */
	const char *name; /* its Message-ID's local part, shared by copies */
	unsigned minutes_ago;
	const char *text; /* the header (no Date, no Message-ID) and body */
};

extern const struct demo_sample demo_samples[];
extern const size_t demo_samples_count;

/*
 * The message of a sample as it is delivered: Date (now minus the
 * sample's minutes), Message-ID (its name and run_id), the rest of its
 * text, with CRLF line ends and its attachment (a %ATTACHMENT% line)
 * encoded. out is not a secret buffer: the samples are public.
 */
int demo_sample_build(const struct demo_sample *sample, time_t now,
                      const char *run_id, struct sb_buf *out) SB_WUR;

/* The attachment of the sample that has one, before its encoding. */
extern const char demo_attachment_csv[];

/* ---- The demo ---- */

/* A port option not given: the usual port when free, else a free one. */
#define DEMO_PORT_USUAL 0xfffffffeu
/* The longest line read from a child. */
#define DEMO_LINE_MAX 1024
/* How long each program may take to say it is ready. */
#define DEMO_SERVICE_READY_MS (60 * 1000)
#define DEMO_SERVE_READY_MS   (120 * 1000)
/* How long each may take to stop before it is killed. */
#define DEMO_SERVE_STOP_MS   (30 * 1000)
#define DEMO_SERVICE_STOP_MS (15 * 1000)

struct demo_options {
	const char *dir;
	const char *saltmaild;
	unsigned imap_port, smtp_port; /* or DEMO_PORT_USUAL */
	bool no_wait;
};

/* One run of the demo (bridge/demo.c). */
struct demo {
	const struct demo_options *o;
	/* DIR, DIR/service, DIR/bridge, DIR/demo.state, serve's cert */
	char *dir, *service_dir, *bridge_home, *state_path, *cert;
	char *self, *saltmaild; /* the programs run */
	char api_url[64];       /* the service, once saltmaild is ready */
	char *ca_file;          /* saltmaild's certificate */
	const char *log_level;
	int lock_fd;
	struct demo_state st;
	struct demo_signals sig;
	struct demo_child maild, serve;
	struct bridge_paths paths;
	char *bridge_passwords[DEMO_ACCOUNTS]; /* secure memory */
	char imap_host[64], smtp_host[64];
	unsigned imap_port, smtp_port; /* where serve listens */
	bool first_run;
	char run_id[17];
};

/* printf to stdout as one line "saltbridge demo: ...", flushed. */
void demo_say(const char *fmt, ...) SB_PRINTF(1, 2);

/* ---- demo-service.c ---- */

/*
 * Initialises the service's folder and starts saltmaild (d->maild) on
 * the port of the last run, or a free one; sets d->api_url.
 */
int demo_service_start(struct demo *d, const char **error_r) SB_WUR;
/* Signs the accounts up where needed, and logs each in to the bridge. */
int demo_accounts(struct demo *d, const char **error_r) SB_WUR;
/* Delivers the samples not delivered yet. */
int demo_deliver_samples(struct demo *d, const char **error_r) SB_WUR;
/* Reads the accounts' bridge passwords from the vault. */
int demo_bridge_passwords(struct demo *d, const char **error_r) SB_WUR;

#endif
