/*
 * Fuzz target for a whole SMTP session: session.c and every command it
 * dispatches, with the fake backend of test-backend.c (a user and its
 * alias, recipients that make the backend fail), fed from bytes.
 *
 * AUTH is taken in the clear (shared.auth_in_clear), as tests do: the
 * fuzzer has no TLS client, and without it nothing past AUTH could be
 * reached. The plain listener's path is taken otherwise: STARTTLS tries
 * a handshake on the bytes that follow, which fails at the first bad
 * record or at EOF. The replica is made once per process; a session only
 * opens it (the fake backend keeps messages in memory). The limits are
 * small (a 64 KiB message, 5 recipients) so that inputs reach them.
 *
 * Each input: byte 0 says how the stream is cut into writes (0xff: one
 * write; n: pieces of 1 to n + 1 bytes); the rest is what the client
 * sends, on one end of a socketpair whose other end runs the session in
 * a thread. Once everything is written the write side is shut down; the
 * session must then end on its own (EOF) and close the socket. What it
 * sends is read as it comes, so it never waits on a full socket.
 *
 * In the environment, FUZZ_SESSION_LOG=1 shows the server's log lines and
 * FUZZ_SESSION_ECHO=1 copies what it sends to stderr (to read a corpus
 * file's transcript).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-session.h"
#include "common/cert.h"
#include "common/log.h"
#include "common/net.h"
#include "common/tls.h"
#include "smtp-private.h"
#include "test-backend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_env {
	struct fuzz_session_files files;
	struct store_hub *hub;
	struct sb_tls_ctx *tls;
	struct test_backend tb;
	struct smtp_config cfg;
	struct smtp_shared shared;
	unsigned long runs;
	bool echo;
};

static struct fuzz_env fuzz;

static void SB_NORETURN
fuzz_die(const char *what, const char *error)
{
	fprintf(stderr, "fuzz-session: %s: %s\n", what,
	        error != NULL ? error : "?");
	abort();
}

static void
fuzz_cleanup(void)
{
	fuzz_session_files_remove(&fuzz.files);
	sb_tls_ctx_free(&fuzz.tls);
	store_hub_free(&fuzz.hub);
	sb_event_close(&fuzz.shared.stop_fd);
	tb_free(&fuzz.tb);
}

static void
fuzz_setup(void)
{
	struct store *st;
	const char *error;
	bool created;

	if (getenv("FUZZ_SESSION_LOG") == NULL)
		sb_log_set_level(SB_LOG_NONE);
	fuzz.echo = getenv("FUZZ_SESSION_ECHO") != NULL;
	fuzz_session_files_make(&fuzz.files, "fuzz-smtp");
	tb_init(&fuzz.tb);
	atexit(fuzz_cleanup);
	if (sb_cert_ensure(fuzz.files.cert, fuzz.files.key, 30, &created,
	                   &error) < 0 ||
	    sb_tls_server_ctx_new(fuzz.files.cert, fuzz.files.key, &fuzz.tls,
	                          &error) < 0)
		fuzz_die("cannot make the certificate", error);
	/* Made once: a session's store_open then only opens it. */
	if (store_open(fuzz.files.replica, NULL, &st, &error) < 0)
		fuzz_die("cannot make the replica", error);
	store_close(&st);
	fuzz.hub = store_hub_new();
	if (sb_event_new(&fuzz.shared.stop_fd, &error) < 0)
		fuzz_die("cannot make the stop event", error);

	fuzz.cfg.hostname = "mx.fuzz";
	fuzz.cfg.port = SMTP_PORT_OFF;
	fuzz.cfg.tls_port = SMTP_PORT_OFF;
	fuzz.cfg.tls = fuzz.tls;
	fuzz.cfg.replica_path = fuzz.files.replica;
	fuzz.cfg.hub = fuzz.hub;
	fuzz.cfg.size_max = 64 * 1024;
	fuzz.cfg.recipients_max = 5;
	/* Input comes at once and EOF ends it: no timer should fire. */
	fuzz.cfg.command_timeout_ms = 5000;
	fuzz.cfg.data_timeout_ms = 5000;
	fuzz.cfg.login_delay_ms = 1;
	tb_backend(&fuzz.tb, &fuzz.cfg.backend);
	fuzz.shared.cfg = &fuzz.cfg;
	fuzz.shared.auth_in_clear = true;
}

/* ---- One input ---- */

/* fuzz_session_fn: one session on the server's end. */
static void
fuzz_session_one(void *ctx, int fd)
{
	(void)ctx;
	smtp_session_run(&fuzz.shared, fd, false, ++fuzz.runs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (size < 1)
		return 0;
	if (!ready) {
		fuzz_setup();
		ready = true;
	}
	fuzz_session_drive(fuzz_session_one, NULL, data + 1, size - 1, data[0],
	                   fuzz.echo);
	/* Every message begun was finished or abandoned. */
	if (fuzz.tb.begins !=
	    fuzz.tb.finishes + fuzz.tb.finish_failures + fuzz.tb.aborts)
		fuzz_die("a message was neither finished nor abandoned", NULL);
	return 0;
}
