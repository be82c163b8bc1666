#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"

/* Error strings live here: one per thread, good until its next call. */
static _Thread_local char sb_file_error[512];

static const char *
sb_file_err(const char *what, const char *path, int err)
{
	snprintf(sb_file_error, sizeof(sb_file_error), "%s %s: %s", what, path,
	         strerror(err));
	return sb_file_error;
}

static int SB_WUR
sb_write_all_fd(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsyncs the folder that holds path, so a rename in it is durable. */
static int SB_WUR
sb_fsync_parent(const char *path)
{
	char *copy = sb_strdup(path);
	int fd, ret = -1;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	free(copy);
	return ret;
}

/*
 * Writes data to a new temporary file beside path with the given mode and
 * fsyncs it. Returns the temporary's name (free it), or NULL with error_r.
 */
static char *
sb_file_write_temp(const char *path, const void *data, size_t len, mode_t mode,
                   const char **error_r)
{
	size_t tmp_len = strlen(path) + 16;
	char *tmp = sb_malloc(tmp_len);
	int fd, err;

	snprintf(tmp, tmp_len, "%s.tmp.XXXXXX", path);
	/* mkostemp creates the file 0600; fchmod narrows or sets the mode. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		*error_r =
		        sb_file_err("cannot create a file beside", path, errno);
		free(tmp);
		return NULL;
	}
	if (fchmod(fd, mode) != 0 || sb_write_all_fd(fd, data, len) != 0 ||
	    fsync(fd) != 0) {
		err = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		*error_r = sb_file_err("cannot write", path, err);
		return NULL;
	}
	if (close(fd) != 0) {
		err = errno;
		unlink(tmp);
		free(tmp);
		*error_r = sb_file_err("cannot write", path, err);
		return NULL;
	}
	return tmp;
}

int
sb_file_write_atomic(const char *path, const void *data, size_t len,
                     mode_t mode, const char **error_r)
{
	char *tmp = sb_file_write_temp(path, data, len, mode, error_r);
	int err;

	if (tmp == NULL)
		return -1;
	if (rename(tmp, path) != 0) {
		err = errno;
		unlink(tmp);
		free(tmp);
		*error_r = sb_file_err("cannot replace", path, err);
		return -1;
	}
	free(tmp);
	if (sb_fsync_parent(path) != 0) {
		*error_r =
		        sb_file_err("cannot sync the folder of", path, errno);
		return -1;
	}
	return 0;
}

int
sb_file_create_exclusive(const char *path, const void *data, size_t len,
                         mode_t mode, int *errno_r, const char **error_r)
{
	char *tmp = sb_file_write_temp(path, data, len, mode, error_r);
	int err = 0;

	if (tmp == NULL)
		return -1;
	/* link() fails with EEXIST instead of replacing, unlike rename(). */
	if (link(tmp, path) != 0)
		err = errno;
	unlink(tmp);
	free(tmp);
	if (err == 0 && sb_fsync_parent(path) != 0)
		err = errno;
	if (err == 0)
		return 0;
	if (errno_r != NULL)
		*errno_r = err;
	*error_r = sb_file_err(err == EEXIST ? "will not replace"
	                                     : "cannot create",
	                       path, err);
	return -1;
}

int
sb_file_read_fd(int fd, const char *path, struct sb_buf *out, int *errno_r,
                const char **error_r)
{
	unsigned char chunk[8192];
	int err = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			break;
		if (sb_buf_add(out, chunk, (size_t)n) != 0) {
			err = EFBIG;
			break;
		}
	}
	/* The file may hold a secret: leave no copy on the stack. */
	explicit_bzero(chunk, sizeof(chunk));
	if (err == 0)
		return 0;
	if (errno_r != NULL)
		*errno_r = err;
	*error_r = sb_file_err(err == EFBIG ? "too large:" : "cannot read",
	                       path, err);
	return -1;
}

int
sb_file_read_all(const char *path, struct sb_buf *out, int *errno_r,
                 const char **error_r)
{
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno_r != NULL)
			*errno_r = errno;
		*error_r = sb_file_err("cannot read", path, errno);
		return -1;
	}
	ret = sb_file_read_fd(fd, path, out, errno_r, error_r);
	close(fd);
	return ret;
}

int
sb_mkdir_p(const char *path, mode_t mode, const char **error_r)
{
	char *copy, *p;
	struct stat st;

	if (path[0] == '\0') {
		*error_r = "cannot create a folder with an empty name";
		return -1;
	}
	copy = sb_strdup(path);
	/* Each prefix ending before a '/', then the whole path. */
	for (p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			*error_r = sb_file_err("cannot create folder", copy,
			                       errno);
			free(copy);
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			break;
	}
	free(copy);
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		*error_r = sb_file_err("not a folder:", path, ENOTDIR);
		return -1;
	}
	return 0;
}
