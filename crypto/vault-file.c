/* The vault on disk, and the key file that holds its key by default. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/file.h"
#include "crypto-private.h"

#define SB_VAULT_KEY_FILE_BYTES (SB_MAGIC_BYTES + 1 + SB_KEY_BYTES)

/* Error strings with paths in them: one per thread. */
static _Thread_local char sb_vault_error[1024];

static const char *SB_PRINTF(1, 2) sb_vault_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sb_vault_error, sizeof(sb_vault_error), fmt, ap);
	va_end(ap);
	return sb_vault_error;
}

/*
 * Checks an open key file: a regular file of this user that no one else
 * can read or write. The checks are on the open file itself, so nothing
 * can be swapped in between checking and reading.
 */
static int SB_WUR
sb_key_file_check(int fd, const char *path, const char **error_r)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		*error_r = sb_vault_errorf("cannot read the vault key file "
		                           "%s: %s",
		                           path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		*error_r = sb_vault_errorf("the vault key file %s is not a "
		                           "regular file of this user",
		                           path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		*error_r = sb_vault_errorf(
		        "the vault key file %s is open to other users (mode "
		        "%03o); make it private with: chmod 600 %s",
		        path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	return 0;
}

static int SB_WUR
sb_key_file_load(const struct sb_vault_keystore *ks,
                 unsigned char key_r[SB_KEY_BYTES], const char **error_r)
{
	const char *path = ks->ctx;
	struct sb_buf b;
	int fd, ret = -1;

	/* No symbolic link, and no FIFO that would block the open. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = sb_vault_errorf("cannot read the vault key file "
		                           "%s: %s",
		                           path, strerror(errno));
		return -1;
	}
	sb_buf_init(&b, SB_VAULT_KEY_FILE_BYTES);
	if (sb_key_file_check(fd, path, error_r) != 0)
		goto out;
	if (sb_file_read_fd(fd, path, &b, NULL, error_r) != 0 ||
	    b.len != SB_VAULT_KEY_FILE_BYTES ||
	    !sb_format_check(b.data, b.len, SB_MAGIC_VAULT_KEY)) {
		*error_r = sb_vault_errorf("the vault key file %s is not a "
		                           "key file of a known version",
		                           path);
		goto out;
	}
	memcpy(key_r, b.data + SB_MAGIC_BYTES + 1, SB_KEY_BYTES);
	ret = 1;
out:
	sb_buf_free_wipe(&b);
	close(fd);
	return ret;
}

static int SB_WUR
sb_key_file_store(const struct sb_vault_keystore *ks,
                  const unsigned char key[SB_KEY_BYTES], const char **error_r)
{
	unsigned char *file = sb_secure_alloc(SB_VAULT_KEY_FILE_BYTES);
	const char *path = ks->ctx;
	int ret;

	memcpy(file, SB_MAGIC_VAULT_KEY, SB_MAGIC_BYTES);
	file[4] = SB_FORMAT_V1;
	memcpy(file + 5, key, SB_KEY_BYTES);
	/* A key file is never replaced: the vault it opens would be lost. */
	ret = sb_file_create_exclusive(path, file, SB_VAULT_KEY_FILE_BYTES,
	                               0600, NULL, error_r);
	sb_secure_free(&file);
	return ret;
}

void
sb_vault_keystore_file(struct sb_vault_keystore *ks, const char *path)
{
	ks->name = "file";
	ks->load = sb_key_file_load;
	ks->store = sb_key_file_store;
	ks->ctx = path;
}

/* Reads and decodes an existing vault file. */
static int SB_WUR
sb_vault_read(const char *path, const unsigned char key[SB_KEY_BYTES],
              struct sb_vault **vault_r, const char **error_r)
{
	struct sb_buf b;
	const char *why;
	int ret;

	sb_buf_init(&b, SB_VAULT_MAX_FILE_BYTES);
	if (sb_file_read_all(path, &b, NULL, error_r) != 0) {
		sb_buf_free(&b);
		return -1;
	}
	ret = sb_vault_decode(key, b.data, b.len, vault_r, &why);
	sb_buf_free(&b);
	if (ret != 0)
		*error_r = sb_vault_errorf("cannot open the vault %s: %s; "
		                           "nothing was changed",
		                           path, why);
	return ret;
}

/*
 * Takes the vault's lock (path.lock, created if missing): one process at a
 * time may hold a vault open. Returns the lock's fd, or -1.
 */
static int
sb_vault_lock(const char *path, const char **error_r)
{
	size_t len = strlen(path) + 6;
	char *lock = sb_malloc(len);
	int fd;

	snprintf(lock, len, "%s.lock", path);
	fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = sb_vault_errorf("cannot lock the vault %s: %s", path,
		                           strerror(errno));
	} else if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		*error_r = sb_vault_errorf(
		        "the vault %s is in use by another process", path);
		close(fd);
		fd = -1;
	}
	free(lock);
	return fd;
}

/* Whether the vault exists; a link or a non-file there is an error. */
static int SB_WUR
sb_vault_exists(const char *path, bool *exists_r, const char **error_r)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno != ENOENT) {
			*error_r = sb_vault_errorf("cannot read the vault %s: "
			                           "%s",
			                           path, strerror(errno));
			return -1;
		}
		*exists_r = false;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		*error_r = sb_vault_errorf(
		        "the vault %s is not a regular file (a symbolic link "
		        "is not followed); nothing was changed",
		        path);
		return -1;
	}
	*exists_r = true;
	return 0;
}

int
sb_vault_open(const char *path, const struct sb_vault_keystore *ks,
              struct sb_vault **vault_r, unsigned char **key_r, bool *created_r,
              const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_vault *v = NULL;
	bool exists;
	int have_key, lock_fd;

	lock_fd = sb_vault_lock(path, error_r);
	if (lock_fd < 0)
		goto fail;
	if (sb_vault_exists(path, &exists, error_r) != 0)
		goto fail;
	have_key = ks->load(ks, key, error_r);
	if (have_key < 0)
		goto fail;
	if (exists && have_key == 0) {
		*error_r = sb_vault_errorf(
		        "the vault %s exists but its key is missing from the "
		        "%s key store; restore the key (nothing was changed)",
		        path, ks->name);
		goto fail;
	}
	if (exists) {
		if (sb_vault_read(path, key, &v, error_r) != 0)
			goto fail;
	} else {
		if (have_key == 0) {
			crypto_aead_xchacha20poly1305_ietf_keygen(key);
			if (ks->store(ks, key, error_r) != 0)
				goto fail;
		}
		v = sb_vault_new_empty();
	}
	sb_vault_hold_lock(v, lock_fd);
	*created_r = !exists;
	*vault_r = v;
	*key_r = key;
	return 0;
fail:
	if (lock_fd >= 0)
		close(lock_fd);
	sb_secure_free(&key);
	return -1;
}

int
sb_vault_save(const struct sb_vault *v, const char *path,
              const unsigned char key[SB_KEY_BYTES], const char **error_r)
{
	struct sb_buf b;
	int ret;

	sb_buf_init(&b, SB_VAULT_MAX_FILE_BYTES);
	if (sb_vault_encode(v, key, &b) != 0) {
		*error_r = "the vault is too large to save";
		return -1;
	}
	ret = sb_file_write_atomic(path, b.data, b.len, 0600, error_r);
	sb_buf_free(&b);
	return ret;
}
