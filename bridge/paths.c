/* The bridge's home on disk, and the vault kept there. */
#include "bridge-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/file.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/buf.h"
#include "common/file.h"

#define BRIDGE_PATH_MAX 4096

static _Thread_local char bridge_error[1024];

const char *
bridge_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bridge_error, sizeof(bridge_error), fmt, ap);
	va_end(ap);
	return bridge_error;
}

/* dir + "/" + name, malloc'd; fails when it is too long. */
static int SB_WUR
bridge_join(const char *dir, const char *name, char **path_r,
            const char **error_r)
{
	struct sb_buf b;

	sb_buf_init(&b, BRIDGE_PATH_MAX);
	if (sb_buf_add_printf(&b, "%s/%s", dir, name) != 0) {
		*error_r =
		        bridge_errorf("the path under %.200s is too long", dir);
		return -1;
	}
	*path_r = sb_buf_take(&b, NULL);
	return 0;
}

/*
 * An XDG base folder: the variable when it holds an absolute path (the
 * specification says to ignore a relative one), else $HOME/fallback.
 */
static int SB_WUR
bridge_xdg_dir(const char *var, const char *fallback, char **dir_r,
               const char **error_r)
{
	const char *value = getenv(var), *home;
	char *base;
	int ret;

	if (value != NULL && value[0] == '/')
		return bridge_join(value, "saltbridge", dir_r, error_r);
	home = getenv("HOME");
	if (home == NULL || home[0] != '/') {
		*error_r = "cannot find the home folder: set HOME, or give "
		           "--home DIR";
		return -1;
	}
	if (bridge_join(home, fallback, &base, error_r) != 0)
		return -1;
	ret = bridge_join(base, "saltbridge", dir_r, error_r);
	free(base);
	return ret;
}

int
bridge_paths_init(struct bridge_paths *p, const char *home,
                  const char **error_r)
{
	int ret;

	memset(p, 0, sizeof(*p));
	if (home != NULL && home[0] == '\0') {
		*error_r = "--home needs a folder";
		return -1;
	}
	if (home != NULL)
		ret = bridge_join(home, "config", &p->config_dir, error_r) ||
		      bridge_join(home, "data", &p->data_dir, error_r);
	else
		ret = bridge_xdg_dir("XDG_CONFIG_HOME", ".config",
		                     &p->config_dir, error_r) ||
		      bridge_xdg_dir("XDG_DATA_HOME", ".local/share",
		                     &p->data_dir, error_r);
	if (ret == 0)
		ret = bridge_join(p->config_dir, "vault.key", &p->vault_key,
		                  error_r) ||
		      bridge_join(p->data_dir, "vault", &p->vault, error_r) ||
		      bridge_join(p->data_dir, "replica.db", &p->replica,
		                  error_r);
	if (ret != 0) {
		bridge_paths_free(p);
		return -1;
	}
	return 0;
}

int
bridge_paths_create(const struct bridge_paths *p, const char **error_r)
{
	if (sb_mkdir_p(p->config_dir, 0700, error_r) != 0 ||
	    sb_mkdir_p(p->data_dir, 0700, error_r) != 0)
		return -1;
	return 0;
}

void
bridge_paths_free(struct bridge_paths *p)
{
	free(p->config_dir);
	free(p->data_dir);
	free(p->vault_key);
	free(p->vault);
	free(p->replica);
	memset(p, 0, sizeof(*p));
}

int
bridge_vault_open(struct bridge_vault *bv, const struct bridge_paths *p,
                  const char **error_r)
{
	bool created;

	memset(bv, 0, sizeof(*bv));
	if (bridge_paths_create(p, error_r) != 0)
		return -1;
	sb_vault_keystore_file(&bv->ks, p->vault_key);
	bv->path = p->vault;
	if (sb_vault_open(p->vault, &bv->ks, &bv->v, &bv->key, &created,
	                  error_r) != 0) {
		bv->v = NULL;
		bv->key = NULL;
		return -1;
	}
	return 0;
}

bool
bridge_vault_busy(const struct bridge_paths *p)
{
	const char *error;
	char *lock;
	bool busy = false;
	int fd;

	if (bridge_join(p->data_dir, "vault.lock", &lock, &error) != 0)
		return false;
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0) {
		busy = flock(fd, LOCK_EX | LOCK_NB) != 0 &&
		       errno == EWOULDBLOCK;
		close(fd); /* releases the probe's lock */
	}
	free(lock);
	return busy;
}

static long long
bridge_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
bridge_vault_open_existing(struct bridge_vault *bv,
                           const struct bridge_paths *p, const char **error_r)
{
	const struct timespec pause = {0, 100 * 1000 * 1000};
	long long deadline = bridge_now_ms() + BRIDGE_VAULT_WAIT_MS;
	struct stat st;

	memset(bv, 0, sizeof(*bv));
	for (;;) {
		if (lstat(p->vault, &st) != 0) {
			if (errno == ENOENT)
				return 0;
			*error_r = bridge_errorf("cannot read the vault %s: %s",
			                         p->vault, strerror(errno));
			return -1;
		}
		if (bridge_vault_open(bv, p, error_r) == 0)
			return 1;
		if (!bridge_vault_busy(p))
			return -1;
		if (bridge_now_ms() >= deadline) {
			*error_r = bridge_errorf(
			        "the vault %s is still in use by another "
			        "saltbridge (a login or a logout) after %d "
			        "seconds; try again when it is done",
			        p->vault, BRIDGE_VAULT_WAIT_MS / 1000);
			return -1;
		}
		(void)nanosleep(&pause, NULL);
	}
}

int
bridge_vault_save(const struct bridge_vault *bv, const char **error_r)
{
	return sb_vault_save(bv->v, bv->path, bv->key, error_r);
}

void
bridge_vault_close(struct bridge_vault *bv)
{
	sb_vault_free(&bv->v);
	if (bv->key != NULL)
		sb_secure_free(&bv->key);
	memset(bv, 0, sizeof(*bv));
}

int
bridge_email_normalize(const char *in, char **email_r, const char **error_r)
{
	size_t len = strlen(in), i;
	char *email;

	if (!api_is_email(in, len)) {
		*error_r =
		        bridge_errorf("'%.320s' is not an email address", in);
		return -1;
	}
	email = sb_strdup(in);
	for (i = 0; i < len; i++) {
		if (email[i] >= 'A' && email[i] <= 'Z')
			email[i] = (char)(email[i] - 'A' + 'a');
	}
	*email_r = email;
	return 0;
}
