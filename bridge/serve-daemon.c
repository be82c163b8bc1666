/*
 * saltbridge serve as a process: its lock (one serve per home), its
 * settings and their reload on SIGHUP, the listeners' certificate and its
 * renewal, and the signals it waits for. The accounts, syncs and servers
 * are serve.c's and serve-smtp.c's.
 */
#include "bridge/serve-private.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cert.h"
#include "common/file.h"
#include "common/log.h"
#include "common/progress.h"
#include "common/tls.h"

/* How often a running serve checks its certificate, in seconds. */
#define SERVE_CERT_CHECK_S (24 * 60 * 60)

/* "2026-05-04 10:20 UTC" */
static void
serve_date(time_t t, char out[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, 32, "an unknown date");
}

/*
 * Makes sure the listeners' certificate is fit (common/cert.h) and not
 * within BRIDGE_CERT_RENEW_DAYS of its expiry; a new one replaces it at
 * the same paths (the key too), and the listeners' TLS context takes it
 * (new sessions present it). A certificate replaced is logged as a
 * warning: mail clients that trusted the old one must trust this one.
 */
static int SB_WUR
serve_cert_check(struct serve *srv, const char **error_r)
{
	const struct bridge_paths *p = srv->p;
	char when[32];
	time_t before = 0;
	bool had, created;
	const char *why;

	if (sb_mkdir_p(p->tls_dir, 0700, error_r) != 0)
		return -1;
	had = sb_cert_read(p->tls_cert, NULL, &before, NULL, &why) == 0;
	if (sb_cert_ensure(p->tls_cert, p->tls_key, BRIDGE_CERT_RENEW_DAYS,
	                   &created, error_r) != 0)
		return -1;
	if (!created)
		return 0;
	if (!had) {
		sb_log_info("made a certificate for the listeners: %s",
		            p->tls_cert);
	} else if (before < time(NULL) + BRIDGE_CERT_RENEW_DAYS * 86400) {
		serve_date(before, when);
		sb_log_warn("made a new certificate for the listeners, with a "
		            "new key, %s: the old one expires %s; mail clients "
		            "that trusted it must trust this one ('saltbridge "
		            "cert export' gives it)",
		            p->tls_cert, when);
	} else {
		sb_log_warn("made a new certificate for the listeners, with a "
		            "new key, %s: the old one could not be used (the "
		            "info log says why); mail clients that trusted it "
		            "must trust this one ('saltbridge cert export' "
		            "gives it)",
		            p->tls_cert);
	}
	if (srv->tls != NULL &&
	    sb_tls_server_ctx_reload(srv->tls, p->tls_cert, p->tls_key,
	                             error_r) != 0)
		return -1;
	return 0;
}

/* The certificate, then the TLS context of every listener. */
static int SB_WUR
serve_tls(struct serve *srv, const char **error_r)
{
	if (serve_cert_check(srv, error_r) != 0)
		return -1;
	return sb_tls_server_ctx_new(srv->p->tls_cert, srv->p->tls_key,
	                             &srv->tls, error_r);
}

/* The settings file's, with the command line's over them, checked. */
static int SB_WUR
serve_settings(struct serve *srv, struct bridge_settings *s,
               const char **error_r)
{
	if (bridge_settings_load(srv->p->settings, s, error_r) != 0)
		return -1;
	bridge_settings_overlay(s, srv->given);
	return bridge_settings_check(s, error_r);
}

static void
serve_warn_address(const struct bridge_settings *s)
{
	if (!bridge_listen_is_loopback(s->listen))
		sb_log_warn("the listeners bind to %s, not a loopback "
		            "address: other machines can reach them (only the "
		            "bridge passwords keep them out), and the "
		            "certificate names only 127.0.0.1, ::1 and "
		            "localhost",
		            s->listen);
}

/*
 * The settings (which give the log level from here on), then serve's
 * lock, so that a second serve stops at once, before the vault.
 */
static int SB_WUR
serve_begin(struct serve *srv, const char **error_r)
{
	struct stat st;

	if (serve_settings(srv, &srv->cur, error_r) != 0)
		return -1;
	sb_log_set_level(srv->cur.log_level);
	/* No folder, no vault: say so rather than make the folder. */
	if (stat(srv->p->data_dir, &st) != 0 && errno == ENOENT) {
		*error_r = SERVE_NO_ACCOUNT;
		return -1;
	}
	if (bridge_serve_lock(srv->p, &srv->lock_fd, error_r) != 0)
		return -1;
	serve_warn_address(&srv->cur);
	return 0;
}

/* One line of a listener in serve's lock file: "imap ADDR PORT tls". */
static int SB_WUR
serve_note_listener(struct sb_buf *b, const char *kind, const char *addr,
                    unsigned port, const char *security)
{
	return sb_buf_add_printf(b, "%s %s %u %s\n", kind, addr, port,
	                         security);
}

/*
 * Writes serve's pid and listeners into its lock file, for saltbridge
 * status; a failure is only logged (the lock itself is what counts).
 */
static void
serve_note(struct serve *srv)
{
	const char *error;
	struct sb_buf b;
	int ret;

	sb_buf_init(&b, 4096);
	ret = sb_buf_add_printf(&b, "%ld\n", (long)getpid());
	if (ret == 0 && srv->imap != NULL &&
	    imap_server_name(srv->imap, false) != NULL)
		ret = serve_note_listener(&b, "imap", srv->imap_set.listen,
		                          imap_server_port(srv->imap, false),
		                          "starttls");
	if (ret == 0 && srv->imap != NULL &&
	    imap_server_name(srv->imap, true) != NULL)
		ret = serve_note_listener(&b, "imap", srv->imap_set.listen,
		                          imap_server_port(srv->imap, true),
		                          "tls");
	if (ret == 0 && srv->smtp != NULL &&
	    smtp_server_name(srv->smtp, false) != NULL)
		ret = serve_note_listener(&b, "smtp", srv->smtp_set.listen,
		                          smtp_server_port(srv->smtp, false),
		                          "starttls");
	if (ret == 0 && srv->smtp != NULL &&
	    smtp_server_name(srv->smtp, true) != NULL)
		ret = serve_note_listener(&b, "smtp", srv->smtp_set.listen,
		                          smtp_server_port(srv->smtp, true),
		                          "tls");
	if (ret != 0)
		sb_log_warn("cannot note the listeners in %s: too long",
		            srv->p->serve_lock);
	else if (bridge_serve_lock_write(srv->lock_fd, b.data, b.len, &error) !=
	         0)
		sb_log_warn("%s", error);
	sb_buf_free(&b);
}

/* The certificate, the staged APPENDs, then IMAP, the senders and SMTP. */
static int SB_WUR
serve_listen(struct serve *srv, const char **error_r)
{
	if (serve_tls(srv, error_r) != 0)
		return -1;
	if ((srv->cur.imap_port != BRIDGE_PORT_OFF ||
	     srv->cur.imaps_port != BRIDGE_PORT_OFF) &&
	    serve_sweep(srv, error_r) != 0)
		return -1;
	if (serve_imap_listen(srv, &srv->cur, error_r) != 0)
		return -1;
	return serve_smtp_start(srv, error_r);
}

/*
 * One server bound anew to the listeners of s: its sessions are ended
 * (IMAP BYE, SMTP 421), then the new listeners are bound. When they
 * cannot be, the old ones are bound again; when even that fails, the
 * server stays off until a reload binds it.
 */
static void
serve_rebind(struct serve *srv, bool imap, const struct bridge_settings *s)
{
	struct bridge_settings old = imap ? srv->imap_set : srv->smtp_set;
	const char *name = imap ? "IMAP" : "SMTP", *error;
	int ret;

	sb_log_info("%s: new listeners from the settings; its sessions end",
	            name);
	if (imap)
		serve_imap_close(srv);
	else
		serve_smtp_close(srv);
	ret = imap ? serve_imap_listen(srv, s, &error)
	           : serve_smtp_listen(srv, s, &error);
	if (ret == 0)
		return;
	sb_log_error("%s: cannot bind the new listeners (%s); the old ones "
	             "are kept",
	             name, error);
	ret = imap ? serve_imap_listen(srv, &old, &error)
	           : serve_smtp_listen(srv, &old, &error);
	if (ret != 0)
		sb_log_error("%s: cannot bind the old listeners again either "
		             "(%s): %s is off until a reload binds it",
		             name, error, name);
}

/* Logs the settings the command line keeps against the file's. */
static void
serve_note_given(struct serve *srv)
{
	struct bridge_settings file;
	char ours[BRIDGE_SETTING_VALUE_MAX], theirs[BRIDGE_SETTING_VALUE_MAX];
	const char *error;
	size_t i;

	if (bridge_settings_load(srv->p->settings, &file, &error) != 0)
		return;
	for (i = 0; i < BRIDGE_SETTINGS_COUNT; i++) {
		if ((srv->given->given & (1u << i)) == 0)
			continue;
		bridge_setting_format(srv->given, i, ours);
		bridge_setting_format(&file, i, theirs);
		if (strcmp(ours, theirs) != 0)
			sb_log_info(
			        "%s stays %s, as the command line says (the "
			        "settings say %s)",
			        bridge_setting_name(i), ours, theirs);
	}
}

/*
 * SIGHUP: the settings read again. An invalid file changes nothing (the
 * error says why); otherwise the log level changes at once, and each
 * server whose listeners changed is bound anew. Prints
 * "saltbridge: reloaded" once done, after the new listeners' lines.
 */
static void
serve_reload(struct serve *srv)
{
	struct bridge_settings next;
	const char *error;

	sb_progress_hide();
	if (serve_settings(srv, &next, &error) != 0) {
		sb_log_error("cannot reload the settings: %s; the ones in use "
		             "stay",
		             error);
		return;
	}
	sb_log_set_level(next.log_level);
	serve_note_given(srv);
	srv->cur = next;
	if (strcmp(next.listen, srv->imap_set.listen) != 0 ||
	    strcmp(next.listen, srv->smtp_set.listen) != 0)
		serve_warn_address(&next);
	if (bridge_settings_imap_differ(&srv->imap_set, &next))
		serve_rebind(srv, true, &next);
	if (bridge_settings_smtp_differ(&srv->smtp_set, &next))
		serve_rebind(srv, false, &next);
	serve_note(srv);
	sb_log_info("settings reloaded (log level %s)",
	            sb_log_level_name(next.log_level));
	printf("saltbridge: reloaded\n");
	(void)fflush(stdout);
}

static long long
serve_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/*
 * Waits for SIGTERM or SIGINT (then returns), reloading on SIGHUP and
 * checking the certificate every SERVE_CERT_CHECK_S meanwhile. A SIGHUP
 * the kernel sends, because serve's terminal hung up, stops it as
 * before: only one sent by a process (kill -HUP) asks for a reload.
 */
static void
serve_wait(struct serve *srv, const sigset_t *set)
{
	long long next_check = serve_now_s() + SERVE_CERT_CHECK_S, left;
	struct timespec timeout;
	const char *error;
	siginfo_t info;
	int sig;

	for (;;) {
		left = next_check - serve_now_s();
		timeout.tv_sec = left > 0 ? (time_t)left : 0;
		timeout.tv_nsec = 0;
		memset(&info, 0, sizeof(info));
		sig = sigtimedwait(set, &info, &timeout);
		if (sig == SIGTERM || sig == SIGINT ||
		    (sig == SIGHUP && info.si_code == SI_KERNEL)) {
			sb_log_info("stopping (signal %d%s)", sig,
			            sig == SIGHUP ? ": the terminal hung up"
			                          : "");
			return;
		}
		if (sig == SIGHUP) {
			serve_reload(srv);
		} else if (sig < 0 && errno == EAGAIN) {
			if (serve_cert_check(srv, &error) != 0)
				sb_log_error("the listeners' certificate: %s",
				             error);
			next_check = serve_now_s() + SERVE_CERT_CHECK_S;
		}
	}
}

int
bridge_serve(const struct bridge_paths *p, const struct bridge_settings *given,
             const char **error_r)
{
	struct serve srv;
	sigset_t set;
	int ret = -1;

	/* Threads start with these blocked; only sigtimedwait takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	memset(&srv, 0, sizeof(srv));
	srv.p = p;
	srv.given = given;
	srv.lock_fd = -1;
	pthread_mutex_init(&srv.vault_lock, NULL);
	/*
	 * Progress of the syncs: a line on a terminal, taken by one listing
	 * or download at a time (the others log); else info log lines.
	 */
	if (isatty(STDERR_FILENO) == 1)
		sb_progress_terminal(stderr);
	if (serve_begin(&srv, error_r) != 0 ||
	    serve_start(&srv, error_r) != 0 || serve_listen(&srv, error_r) != 0)
		goto out;
	serve_note(&srv);
	/* Not over a progress line drawn meanwhile, when both are a tty. */
	sb_progress_hide();
	printf("saltbridge: ready (%zu accounts)\n", srv.count);
	if (fflush(stdout) != 0) {
		*error_r = "cannot write the ready line";
		goto out;
	}
	sb_log_info("ready: %zu syncs running", srv.count);
	serve_wait(&srv, &set);
	ret = 0;
out:
	serve_free(&srv);
	sb_progress_terminal(NULL);
	if (ret == 0)
		sb_log_info("stopped");
	return ret;
}
