/*
 * The IMAP listeners and their threads: one accept thread, one thread per
 * connection (session.c runs it).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/tls.h"
#include "imap-private.h"

struct imap_server {
	struct imap_config cfg;
	char *addr;
	struct imap_shared shared;
	struct sb_listener *plain, *tls;
	pthread_t accept_thread;
	bool started;
	/* Sessions running, and the condition their ends signal. */
	pthread_mutex_t lock;
	pthread_cond_t ended;
	unsigned sessions;
	unsigned long next_id;
};

/* What a connection thread gets. */
struct imap_conn_arg {
	struct imap_server *srv;
	int fd;
	bool tls;
	unsigned long id;
};

int
imap_server_new(const struct imap_config *cfg, struct imap_server **srv_r,
                const char **error_r)
{
	struct imap_server *srv;

	if (cfg->tls == NULL || cfg->replica_path == NULL ||
	    cfg->backend.login == NULL) {
		*error_r = "the IMAP server needs a certificate, a replica and"
		           " a backend";
		return -1;
	}
	srv = sb_calloc(1, sizeof(*srv));
	srv->cfg = *cfg;
	srv->addr = cfg->addr != NULL ? sb_strdup(cfg->addr) : NULL;
	srv->cfg.addr = srv->addr;
	if (srv->cfg.prelogin_timeout_ms == 0)
		srv->cfg.prelogin_timeout_ms = IMAP_PRELOGIN_TIMEOUT_MS;
	if (srv->cfg.autologout_ms == 0)
		srv->cfg.autologout_ms = IMAP_AUTOLOGOUT_MS;
	if (srv->cfg.login_delay_ms == 0)
		srv->cfg.login_delay_ms = IMAP_LOGIN_DELAY_MS;
	srv->shared.cfg = &srv->cfg;
	srv->shared.stop_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->ended, NULL);
	if (sb_event_new(&srv->shared.stop_fd, error_r) < 0 ||
	    (cfg->port != IMAP_PORT_OFF &&
	     sb_listener_new(srv->addr, cfg->port, &srv->plain, error_r) < 0) ||
	    (cfg->tls_port != IMAP_PORT_OFF &&
	     sb_listener_new(srv->addr, cfg->tls_port, &srv->tls, error_r) <
	             0)) {
		imap_server_free(&srv);
		return -1;
	}
	*srv_r = srv;
	return 0;
}

const char *
imap_server_name(const struct imap_server *srv, bool tls)
{
	const struct sb_listener *l = tls ? srv->tls : srv->plain;

	return l != NULL ? sb_listener_name(l) : NULL;
}

unsigned
imap_server_port(const struct imap_server *srv, bool tls)
{
	const struct sb_listener *l = tls ? srv->tls : srv->plain;

	return l != NULL ? sb_listener_port(l) : 0;
}

static void *
imap_conn_main(void *p)
{
	struct imap_conn_arg *arg = p;
	struct imap_server *srv = arg->srv;

	imap_session_run(&srv->shared, arg->fd, arg->tls, arg->id);
	free(arg);
	pthread_mutex_lock(&srv->lock);
	srv->sessions--;
	pthread_cond_broadcast(&srv->ended);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Starts the thread of one accepted connection (it owns fd). */
static void
imap_server_spawn(struct imap_server *srv, int fd, bool tls)
{
	struct imap_conn_arg *arg = sb_calloc(1, sizeof(*arg));
	pthread_attr_t attr;
	pthread_t t;
	int err;

	arg->srv = srv;
	arg->fd = fd;
	arg->tls = tls;
	pthread_mutex_lock(&srv->lock);
	arg->id = ++srv->next_id;
	srv->sessions++;
	pthread_mutex_unlock(&srv->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&t, &attr, imap_conn_main, arg);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		sb_log_warn("imap: cannot start a session thread: %s",
		            strerror(err));
		close(fd);
		free(arg);
		pthread_mutex_lock(&srv->lock);
		srv->sessions--;
		pthread_mutex_unlock(&srv->lock);
	}
}

static void *
imap_accept_main(void *p)
{
	struct imap_server *srv = p;
	struct pollfd fds[3];
	struct sb_listener *ls[3] = {NULL, srv->plain, srv->tls};
	const char *error;
	int n, fd, i;

	fds[0].fd = srv->shared.stop_fd;
	fds[1].fd = srv->plain != NULL ? sb_listener_fd(srv->plain) : -1;
	fds[2].fd = srv->tls != NULL ? sb_listener_fd(srv->tls) : -1;
	for (;;) {
		for (i = 0; i < 3; i++) {
			fds[i].events = POLLIN;
			fds[i].revents = 0;
		}
		n = poll(fds, 3, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (fds[0].revents & POLLIN))
			break;
		for (i = 1; i < 3; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			n = sb_listener_accept(ls[i], 0, &fd, &error);
			if (n == 1) {
				imap_server_spawn(srv, fd, i == 2);
			} else if (n < 0) {
				/*
				 * Out of file descriptors, say: the listener
				 * stays readable, so wait a little instead of
				 * spinning.
				 */
				sb_log_warn("imap: cannot accept: %s", error);
				poll(fds, 1, 200);
			}
		}
	}
	return NULL;
}

int
imap_server_start(struct imap_server *srv, const char **error_r)
{
	int err = pthread_create(&srv->accept_thread, NULL, imap_accept_main,
	                         srv);

	if (err != 0) {
		*error_r = strerror(err);
		return -1;
	}
	srv->started = true;
	return 0;
}

void
imap_server_free(struct imap_server **srvp)
{
	struct imap_server *srv = *srvp;

	if (srv == NULL)
		return;
	if (srv->shared.stop_fd >= 0)
		sb_event_signal(srv->shared.stop_fd);
	if (srv->started)
		pthread_join(srv->accept_thread, NULL);
	/* Each session notices the stop fd and says BYE. */
	pthread_mutex_lock(&srv->lock);
	while (srv->sessions > 0)
		pthread_cond_wait(&srv->ended, &srv->lock);
	pthread_mutex_unlock(&srv->lock);
	sb_listener_free(&srv->plain);
	sb_listener_free(&srv->tls);
	sb_event_close(&srv->shared.stop_fd);
	pthread_cond_destroy(&srv->ended);
	pthread_mutex_destroy(&srv->lock);
	free(srv->addr);
	free(srv);
	*srvp = NULL;
}
