/*
 * Whole-file helpers for small files the daemon owns: settings, the vault,
 * keys, certificates. Not for message bodies, which stream.
 */
#ifndef SB_FILE_H
#define SB_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "compiler.h"

/*
 * Replaces path with the given bytes atomically: writes a temporary file
 * in the same folder with the given mode (never wider, whatever the
 * umask), fsyncs it, renames it over path and fsyncs the folder. After a
 * crash path holds either the old or the new contents, never a mix. A
 * failure to fsync the folder is reported although the new contents are
 * in place: they may not survive a crash.
 */
int sb_file_write_atomic(const char *path, const void *data, size_t len,
                         mode_t mode, const char **error_r) SB_WUR;

/*
 * Creates path with the given bytes and mode, durably (like
 * sb_file_write_atomic), but never replaces a file that exists, even one
 * another process creates at the same moment: fails with *errno_r (may be
 * NULL) EEXIST then.
 */
int sb_file_create_exclusive(const char *path, const void *data, size_t len,
                             mode_t mode, int *errno_r,
                             const char **error_r) SB_WUR;

/*
 * Reads the whole file into out (appending). Fails when it is larger than
 * out's maximum allows. Returns 0, or -1 with error_r; *errno_r (may be
 * NULL) tells why, so that a caller can tell "missing" (ENOENT) from
 * "unreadable".
 */
int sb_file_read_all(const char *path, struct sb_buf *out, int *errno_r,
                     const char **error_r) SB_WUR;

/* Reads everything left in an open file into out (appending), as above. */
int sb_file_read_fd(int fd, const char *path, struct sb_buf *out, int *errno_r,
                    const char **error_r) SB_WUR;

/*
 * Creates the folder and its missing parents with the given mode. Fails on
 * an empty path, and when path exists but is not a folder.
 */
int sb_mkdir_p(const char *path, mode_t mode, const char **error_r) SB_WUR;

#endif
