/*
 * The client's end of a whole-session fuzz target (imap/fuzz-session.c,
 * smtp/fuzz-session.c): a server session runs on one end of a
 * socketpair, in a thread of its own, while the input's bytes are
 * written to the other end, whole or in pieces, and what the server
 * says is read and dropped (or echoed to stderr), until it closes.
 */
#ifndef SB_TEST_FUZZ_SESSION_H
#define SB_TEST_FUZZ_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs one session on fd (it owns fd and closes it). */
typedef void fuzz_session_fn(void *ctx, int fd);

/*
 * Drives one session with the client's bytes: written whole when cut is
 * 0xff, else in pieces of 1 to cut + 1 bytes. A session that neither
 * ends nor talks for a minute aborts the process (a hang is a finding).
 */
void fuzz_session_drive(fuzz_session_fn *run, void *ctx, const uint8_t *data,
                        size_t size, uint8_t cut, bool echo);

#endif
