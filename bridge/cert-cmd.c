/*
 * saltbridge cert: the listeners' self-signed certificate (common/cert.h)
 * shown, exported for a mail client or another program to trust, and
 * installed into the system's trust store where there is one to install
 * into. Only the certificate ever leaves DATA/tls, never its key.
 */
#include "bridge-private.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cert.h"
#include "common/file.h"
#include "common/log.h"

extern char **environ;

/* A PEM certificate is a few KiB; this is plenty. */
#define CERT_PEM_MAX (64 * 1024)

/* "2026-05-04 10:20 UTC" */
static void
cert_date(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "an unknown date");
}

/*
 * The certificate as it is, or, while serve does not run, made or
 * renewed first as serve would make it (serve, when it runs, keeps it
 * fit itself: a certificate changed under it would not be the one it
 * presents).
 */
static int SB_WUR
cert_get(const struct bridge_paths *p, bool ensure, struct sb_buf *pem,
         time_t *expires_r, char fp[SB_CERT_FINGERPRINT_SIZE],
         const char **error_r)
{
	const char *error;
	bool created;
	long pid;
	int running;

	running = bridge_serve_running(p, &pid, NULL, error_r);
	if (running < 0)
		return -1;
	if (ensure && running == 0) {
		if (sb_mkdir_p(p->tls_dir, 0700, error_r) != 0 ||
		    sb_cert_ensure(p->tls_cert, p->tls_key,
		                   BRIDGE_CERT_RENEW_DAYS, &created,
		                   error_r) != 0)
			return -1;
		if (created)
			sb_log_info("made a certificate for the listeners: %s",
			            p->tls_cert);
	}
	if (sb_cert_read(p->tls_cert, pem, expires_r, fp, &error) != 0) {
		*error_r = bridge_errorf("there is no certificate yet (%s): "
		                         "'saltbridge serve' makes it when it "
		                         "starts, and so does 'saltbridge cert "
		                         "export'",
		                         p->tls_cert);
		return -1;
	}
	return 0;
}

int
bridge_cert_show(const struct bridge_paths *p, const char **error_r)
{
	char fp[SB_CERT_FINGERPRINT_SIZE], when[32];
	time_t expires;

	if (cert_get(p, false, NULL, &expires, fp, error_r) != 0)
		return -1;
	cert_date(expires, when);
	printf("%s\n  expires  %s\n  SHA-256  %s\n", p->tls_cert, when, fp);
	return fflush(stdout) == 0 ? 0 : -1;
}

int
bridge_cert_export(const struct bridge_paths *p, const char *file,
                   const char **error_r)
{
	char fp[SB_CERT_FINGERPRINT_SIZE], when[32];
	const char *error;
	struct sb_buf pem;
	time_t expires;
	int ret = -1;

	sb_buf_init(&pem, CERT_PEM_MAX);
	if (cert_get(p, true, &pem, &expires, fp, error_r) != 0)
		goto out;
	if (strcmp(file, "-") == 0) {
		if (bridge_write_all(STDOUT_FILENO, pem.data, pem.len) != 0) {
			*error_r = "cannot write the certificate";
			goto out;
		}
		ret = 0;
		goto out;
	}
	/* Public: others may read it (a system trust store, a client). */
	if (sb_file_write_atomic(file, pem.data, pem.len, 0644, &error) != 0) {
		*error_r = bridge_errorf("%s", error);
		goto out;
	}
	cert_date(expires, when);
	printf("Wrote the listeners' certificate to %s.\n"
	       "It expires %s; its SHA-256 fingerprint is\n  %s\n",
	       file, when, fp);
	ret = fflush(stdout) == 0 ? 0 : -1;
out:
	sb_buf_free(&pem);
	return ret;
}

#ifdef __APPLE__

int
bridge_cert_install(const struct bridge_paths *p, const char **error_r)
{
	if (cert_get(p, false, NULL, NULL, NULL, error_r) != 0)
		return -1;
	printf("To trust the bridge's certificate for your user, run:\n\n"
	       "  security add-trusted-cert -r trustRoot -p ssl \\\n"
	       "    -k ~/Library/Keychains/login.keychain-db %s\n\n"
	       "Apple Mail then trusts it; Thunderbird keeps its own list.\n",
	       p->tls_cert);
	*error_r = "nothing was installed: run the command above";
	return -1;
}

#else

/* A system trust store and the program that rebuilds it. */
struct cert_store {
	const char *tool;
	const char *dir;
	const char *file;
	char *const argv[3];
};

static const struct cert_store cert_stores[] = {
        /* Debian, Ubuntu, Alpine */
        {"/usr/sbin/update-ca-certificates",
         "/usr/local/share/ca-certificates",
         "saltbridge.crt",
         {(char *)"update-ca-certificates", NULL, NULL}},
        /* Fedora, RHEL, Arch */
        {"/usr/bin/update-ca-trust",
         "/etc/pki/ca-trust/source/anchors",
         "saltbridge.pem",
         {(char *)"update-ca-trust", (char *)"extract", NULL}},
};

static const struct cert_store *
cert_store_find(void)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(cert_stores); i++) {
		if (access(cert_stores[i].tool, X_OK) == 0)
			return &cert_stores[i];
	}
	return NULL;
}

/* Runs the store's program, its output going where ours goes. */
static int SB_WUR
cert_store_update(const struct cert_store *cs, const char **error_r)
{
	pid_t pid;
	int status, err;

	(void)fflush(stdout);
	err = posix_spawn(&pid, cs->tool, NULL, NULL, cs->argv, environ);
	if (err != 0) {
		*error_r = bridge_errorf("cannot run %s: %s", cs->tool,
		                         strerror(err));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = bridge_errorf("cannot wait for %s: %s",
			                         cs->tool, strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*error_r = bridge_errorf("%s failed (%s %d)", cs->tool,
		                         WIFEXITED(status) ? "exit code"
		                                           : "signal",
		                         WIFEXITED(status) ? WEXITSTATUS(status)
		                                           : WTERMSIG(status));
		return -1;
	}
	return 0;
}

/*
 * No root: there is no per-user trust store on Linux to install into, so
 * say what can be done instead.
 */
static const char *
cert_install_advice(const struct bridge_paths *p, const struct cert_store *cs)
{
	const struct cert_store *d = cs != NULL ? cs : &cert_stores[0];

	return bridge_errorf(
	        "the system's trust store needs root to change, and Linux "
	        "has none of a user's own. Either let the mail client trust "
	        "the certificate (Thunderbird asks at the first connection, "
	        "or imports it: Settings, Privacy & Security, Certificates), "
	        "or, as root:\n"
	        "  install -m 0644 %s %s/%s\n"
	        "  %s%s%s\n"
	        "(nothing was installed)",
	        p->tls_cert, d->dir, d->file, d->argv[0],
	        d->argv[1] != NULL ? " " : "",
	        d->argv[1] != NULL ? d->argv[1] : "");
}

int
bridge_cert_install(const struct bridge_paths *p, const char **error_r)
{
	const struct cert_store *cs = cert_store_find();
	char path[512];
	const char *error;
	struct sb_buf pem;
	int ret = -1;

	if (geteuid() != 0) {
		*error_r = cert_install_advice(p, cs);
		return -1;
	}
	if (cs == NULL) {
		*error_r = bridge_errorf("neither update-ca-certificates nor "
		                         "update-ca-trust is here: add %s to "
		                         "the system's trust store as its "
		                         "documentation says",
		                         p->tls_cert);
		return -1;
	}
	/* Never made here: root's files have no place in a user's home. */
	sb_buf_init(&pem, CERT_PEM_MAX);
	snprintf(path, sizeof(path), "%s/%s", cs->dir, cs->file);
	if (cert_get(p, false, &pem, NULL, NULL, error_r) != 0)
		goto out;
	if (sb_mkdir_p(cs->dir, 0755, &error) != 0 ||
	    sb_file_write_atomic(path, pem.data, pem.len, 0644, &error) != 0) {
		*error_r = bridge_errorf("%s", error);
		goto out;
	}
	if (cert_store_update(cs, error_r) != 0)
		goto out;
	printf("Installed the certificate as %s and ran %s: programs that "
	       "use the system's trust store now trust the bridge's "
	       "listeners. Mail clients with a list of their own "
	       "(Thunderbird) still need to be told.\n",
	       path, cs->argv[0]);
	ret = fflush(stdout) == 0 ? 0 : -1;
out:
	sb_buf_free(&pem);
	return ret;
}

#endif
