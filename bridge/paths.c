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
		      bridge_join(p->config_dir, "settings", &p->settings,
		                  error_r) ||
		      bridge_join(p->data_dir, "vault", &p->vault, error_r) ||
		      bridge_join(p->data_dir, "replica.db", &p->replica,
		                  error_r) ||
		      bridge_join(p->data_dir, "serve.lock", &p->serve_lock,
		                  error_r) ||
		      bridge_join(p->data_dir, "tls", &p->tls_dir, error_r);
	if (ret == 0)
		ret = bridge_join(p->tls_dir, "cert.pem", &p->tls_cert,
		                  error_r) ||
		      bridge_join(p->tls_dir, "key.pem", &p->tls_key, error_r);
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
	free(p->settings);
	free(p->vault);
	free(p->replica);
	free(p->serve_lock);
	free(p->tls_dir);
	free(p->tls_cert);
	free(p->tls_key);
	memset(p, 0, sizeof(*p));
}

/* ---- serve's lock ---- */

/* The whole file, as fcntl's record locks name it. */
static void
bridge_lock_whole(struct flock *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = F_WRLCK;
	fl->l_whence = SEEK_SET;
}

int
bridge_serve_lock(const struct bridge_paths *p, int *fd_r, const char **error_r)
{
	struct flock fl;
	char pid[32];
	int fd, err, n;

	fd = open(p->serve_lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	          0600);
	if (fd < 0) {
		*error_r = bridge_errorf("cannot open %s: %s", p->serve_lock,
		                         strerror(errno));
		return -1;
	}
	bridge_lock_whole(&fl);
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		err = errno;
		bridge_lock_whole(&fl);
		if (err != EACCES && err != EAGAIN)
			*error_r = bridge_errorf("cannot lock %s: %s",
			                         p->serve_lock, strerror(err));
		else if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			*error_r =
			        bridge_errorf("another saltbridge serve runs "
			                      "on this home (pid %ld)",
			                      (long)fl.l_pid);
		else
			*error_r = "another saltbridge serve runs on this home";
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (bridge_serve_lock_write(fd, pid, (size_t)n, error_r) != 0) {
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int
bridge_serve_lock_write(int fd, const char *text, size_t len,
                        const char **error_r)
{
	size_t done = 0;
	ssize_t n;

	if (ftruncate(fd, 0) != 0) {
		*error_r = bridge_errorf("cannot write serve's lock file: %s",
		                         strerror(errno));
		return -1;
	}
	while (done < len) {
		n = pwrite(fd, text + done, len - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*error_r = bridge_errorf("cannot write serve's lock "
			                         "file: %s",
			                         n < 0 ? strerror(errno)
			                               : "nothing written");
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

void
bridge_serve_unlock(int *fd)
{
	if (*fd < 0)
		return;
	/* What it said is no longer true; failing that, the lock says it. */
	(void)!ftruncate(*fd, 0);
	close(*fd);
	*fd = -1;
}

/* The lock file's lines after the first (the pid), up to 4 KiB. */
static void
bridge_serve_lock_text(int fd, const char *path, struct sb_buf *text)
{
	const char *error, *nl;
	struct sb_buf b;

	sb_buf_init(&b, 4096);
	if (sb_file_read_fd(fd, path, &b, NULL, &error) == 0 &&
	    b.data != NULL && (nl = memchr(b.data, '\n', b.len)) != NULL &&
	    sb_buf_add(text, nl + 1, b.len - (size_t)(nl + 1 - b.data)) != 0) {
		/* Too long for the caller: nothing of it is shown. */
	}
	sb_buf_free(&b);
}

int
bridge_serve_running(const struct bridge_paths *p, long *pid_r,
                     struct sb_buf *text, const char **error_r)
{
	struct flock fl;
	int fd, ret = 0;

	fd = open(p->serve_lock, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = bridge_errorf("cannot open %s: %s", p->serve_lock,
		                         strerror(errno));
		return -1;
	}
	bridge_lock_whole(&fl);
	if (fcntl(fd, F_GETLK, &fl) != 0) {
		*error_r = bridge_errorf("cannot ask who locks %s: %s",
		                         p->serve_lock, strerror(errno));
		ret = -1;
	} else if (fl.l_type != F_UNLCK) {
		*pid_r = (long)fl.l_pid;
		if (text != NULL)
			bridge_serve_lock_text(fd, p->serve_lock, text);
		ret = 1;
	}
	close(fd);
	return ret;
}

/* The vault is serve's while it runs: a sentence that says so, or NULL. */
static const char *
bridge_vault_held_by_serve(const struct bridge_paths *p)
{
	const char *error;
	long pid;

	if (bridge_serve_running(p, &pid, NULL, &error) != 1)
		return NULL;
	return bridge_errorf("saltbridge serve runs on this home (pid %ld) "
	                     "and keeps its vault open: stop it first",
	                     pid);
}

int
bridge_vault_open(struct bridge_vault *bv, const struct bridge_paths *p,
                  const char **error_r)
{
	const char *serve;
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
		serve = bridge_vault_held_by_serve(p);
		if (serve != NULL)
			*error_r = serve;
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
		/* Held by serve (error_r says so): no use waiting. */
		if (!bridge_vault_busy(p) ||
		    bridge_vault_held_by_serve(p) != NULL)
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
