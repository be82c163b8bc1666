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

/*
 * The files a session target keeps, in a folder of its own on tmpfs when
 * there is one (the replica syncs at every commit): the replica and its
 * WAL and shared-memory files, and the server's certificate and key.
 */
struct fuzz_session_files {
	char dir[256];
	char replica[300], wal[310], shm[310];
	char cert[300], key[300];
};

/* Makes the folder (prefix: its name's start) and names the files. */
void fuzz_session_files_make(struct fuzz_session_files *f, const char *prefix);
/* Removes the files and the folder. */
void fuzz_session_files_remove(const struct fuzz_session_files *f);

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
