/* The vault on disk, and the key file that holds its key by default. */
#include "crypto.h"

#include <errno.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/file.h"
#include "crypto-private.h"

#define SB_VAULT_KEY_FILE_BYTES (SB_MAGIC_BYTES + 1 + SB_KEY_BYTES)
#define SB_VAULT_MAX_FILE_BYTES                                        \
	(SB_MAGIC_BYTES + 1 + SB_AEAD_NONCE_BYTES + SB_VAULT_MAX_PLAINTEXT + \
	 SB_AEAD_TAG_BYTES)

/* Error strings with paths in them: one per thread. */
static _Thread_local char sb_vault_error[1024];

static const char *SB_PRINTF(1, 2)
sb_vault_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sb_vault_error, sizeof(sb_vault_error), fmt, ap);
	va_end(ap);
	return sb_vault_error;
}

static int
sb_key_file_load(const struct sb_vault_keystore *ks,
		 unsigned char key_r[SB_KEY_BYTES], const char **error_r)
{
	const char *path = ks->ctx;
	struct sb_buf b;
	struct stat st;
	int err = 0, ret = -1;

	if (stat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = sb_vault_errorf("cannot read the vault key file "
					   "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		*error_r = sb_vault_errorf(
			"the vault key file %s is open to other users (mode "
			"%03o); make it private with: chmod 600 %s",
			path, (unsigned)(st.st_mode & 0777), path);
		return -1;
	}
	sb_buf_init(&b, SB_VAULT_KEY_FILE_BYTES);
	if (sb_file_read_all(path, &b, &err, error_r) != 0) {
		if (err == EFBIG)
			*error_r = sb_vault_errorf("the vault key file %s is "
						   "not a key file", path);
		return -1;
	}
	if (b.len != SB_VAULT_KEY_FILE_BYTES ||
	    !sb_format_check(b.data, b.len, SB_MAGIC_VAULT_KEY)) {
		*error_r = sb_vault_errorf("the vault key file %s is not a "
					   "key file of a known version", path);
	} else {
		memcpy(key_r, b.data + SB_MAGIC_BYTES + 1, SB_KEY_BYTES);
		ret = 1;
	}
	sb_buf_free_wipe(&b);
	return ret;
}

static int
sb_key_file_store(const struct sb_vault_keystore *ks,
		  const unsigned char key[SB_KEY_BYTES], const char **error_r)
{
	unsigned char *file = sb_secure_alloc(SB_VAULT_KEY_FILE_BYTES);
	const char *path = ks->ctx;
	struct stat st;
	int ret;

	/* A key file is never replaced: the vault it opens would be lost. */
	if (lstat(path, &st) == 0) {
		sb_secure_free(&file);
		*error_r = sb_vault_errorf("the vault key file %s already "
					   "exists; it is not replaced", path);
		return -1;
	}
	memcpy(file, SB_MAGIC_VAULT_KEY, SB_MAGIC_BYTES);
	file[4] = SB_FORMAT_V1;
	memcpy(file + 5, key, SB_KEY_BYTES);
	ret = sb_file_write_atomic(path, file, SB_VAULT_KEY_FILE_BYTES, 0600,
				   error_r);
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
static int
sb_vault_read(const char *path, const unsigned char key[SB_KEY_BYTES],
	      struct sb_vault **vault_r, const char **error_r)
{
	struct sb_buf b;
	const char *why;
	int err = 0, ret;

	sb_buf_init(&b, SB_VAULT_MAX_FILE_BYTES);
	if (sb_file_read_all(path, &b, &err, error_r) != 0)
		return -1;
	ret = sb_vault_decode(key, b.data, b.len, vault_r, &why);
	sb_buf_free(&b);
	if (ret != 0)
		*error_r = sb_vault_errorf("cannot open the vault %s: %s; "
					   "nothing was changed", path, why);
	return ret;
}

int
sb_vault_open(const char *path, const struct sb_vault_keystore *ks,
	      struct sb_vault **vault_r, unsigned char **key_r,
	      bool *created_r, const char **error_r)
{
	unsigned char *key = sb_secure_alloc(SB_KEY_BYTES);
	struct sb_vault *v = NULL;
	bool exists;
	struct stat st;
	int have_key;

	exists = stat(path, &st) == 0;
	if (!exists && errno != ENOENT) {
		*error_r = sb_vault_errorf("cannot read the vault %s: %s", path,
					   strerror(errno));
		goto fail;
	}
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
	*created_r = !exists;
	*vault_r = v;
	*key_r = key;
	return 0;
fail:
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
