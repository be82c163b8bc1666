/*
 * The SMTP listeners and their threads: one accept thread, one thread per
 * connection (session.c runs it). The same shape as imap/server.c, but
 * the connection threads are joined, not detached: smtp_server_free
 * returns once they are gone, with whatever their libraries keep per
 * thread (OpenSSL's state) released.
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
#include "smtp-private.h"

struct smtp_server {
	struct smtp_config cfg;
	char *addr, *hostname;
	struct smtp_shared shared;
	struct sb_listener *plain, *tls;
	pthread_t accept_thread;
	bool started;
	/*
	 * The connection threads not joined yet, how many of them still
	 * run, and the condition their ends signal.
	 */
	pthread_mutex_t lock;
	pthread_cond_t ended;
	struct smtp_conn *conns;
	unsigned sessions;
	unsigned long next_id;
};

/* A connection's thread. */
struct smtp_conn {
	struct smtp_server *srv;
	int fd;
	bool tls;
	unsigned long id;
	pthread_t thread;
	bool ended; /* its session is over: it can be joined */
	struct smtp_conn *next;
};

/* The backend's callbacks are all there. */
static bool
smtp_backend_complete(const struct smtp_backend *b)
{
	return b->login != NULL && b->sender_ok != NULL &&
	       b->data_begin != NULL && b->data_write != NULL &&
	       b->data_finish != NULL && b->data_abort != NULL;
}

/* The server's own copy of the configuration, with its defaults. */
static void
smtp_config_copy(struct smtp_server *srv, const struct smtp_config *cfg)
{
	srv->cfg = *cfg;
	srv->addr = cfg->addr != NULL ? sb_strdup(cfg->addr) : NULL;
	srv->hostname =
	        sb_strdup(cfg->hostname != NULL ? cfg->hostname : "localhost");
	srv->cfg.addr = srv->addr;
	srv->cfg.hostname = srv->hostname;
	if (srv->cfg.size_max == 0)
		srv->cfg.size_max = SMTP_SIZE_MAX;
	if (srv->cfg.recipients_max == 0)
		srv->cfg.recipients_max = SMTP_RECIPIENTS_MAX;
	if (srv->cfg.command_timeout_ms == 0)
		srv->cfg.command_timeout_ms = SMTP_COMMAND_TIMEOUT_MS;
	if (srv->cfg.data_timeout_ms == 0)
		srv->cfg.data_timeout_ms = SMTP_DATA_TIMEOUT_MS;
	if (srv->cfg.login_delay_ms == 0)
		srv->cfg.login_delay_ms = SMTP_LOGIN_DELAY_MS;
}

int
smtp_server_new(const struct smtp_config *cfg, struct smtp_server **srv_r,
                const char **error_r)
{
	struct smtp_server *srv;

	if (cfg->tls == NULL || cfg->replica_path == NULL ||
	    !smtp_backend_complete(&cfg->backend)) {
		*error_r = "the SMTP server needs a certificate, a replica and"
		           " a backend";
		return -1;
	}
	srv = sb_calloc(1, sizeof(*srv));
	smtp_config_copy(srv, cfg);
	srv->shared.cfg = &srv->cfg;
	srv->shared.stop_fd = -1;
	pthread_mutex_init(&srv->lock, NULL);
	pthread_cond_init(&srv->ended, NULL);
	if (sb_event_new(&srv->shared.stop_fd, error_r) < 0 ||
	    (cfg->port != SMTP_PORT_OFF &&
	     sb_listener_new(srv->addr, cfg->port, &srv->plain, error_r) < 0) ||
	    (cfg->tls_port != SMTP_PORT_OFF &&
	     sb_listener_new(srv->addr, cfg->tls_port, &srv->tls, error_r) <
	             0)) {
		smtp_server_free(&srv);
		return -1;
	}
	*srv_r = srv;
	return 0;
}

const char *
smtp_server_name(const struct smtp_server *srv, bool tls)
{
	const struct sb_listener *l = tls ? srv->tls : srv->plain;

	return l != NULL ? sb_listener_name(l) : NULL;
}

unsigned
smtp_server_port(const struct smtp_server *srv, bool tls)
{
	const struct sb_listener *l = tls ? srv->tls : srv->plain;

	return l != NULL ? sb_listener_port(l) : 0;
}

static void *
smtp_conn_main(void *p)
{
	struct smtp_conn *c = p;
	struct smtp_server *srv = c->srv;

	smtp_session_run(&srv->shared, c->fd, c->tls, c->id);
	pthread_mutex_lock(&srv->lock);
	c->ended = true;
	srv->sessions--;
	pthread_cond_broadcast(&srv->ended);
	pthread_mutex_unlock(&srv->lock);
	return NULL;
}

/* Joins the threads whose sessions ended (all of them with all). */
static void
smtp_server_reap(struct smtp_server *srv, bool all)
{
	struct smtp_conn **p, *c, *done = NULL;

	pthread_mutex_lock(&srv->lock);
	while (all && srv->sessions > 0)
		pthread_cond_wait(&srv->ended, &srv->lock);
	for (p = &srv->conns; (c = *p) != NULL;) {
		if (c->ended) {
			*p = c->next;
			c->next = done;
			done = c;
		} else {
			p = &c->next;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	while ((c = done) != NULL) {
		done = c->next;
		pthread_join(c->thread, NULL);
		free(c);
	}
}

/* Starts the thread of one accepted connection (it owns fd). */
static void
smtp_server_spawn(struct smtp_server *srv, int fd, bool tls)
{
	struct smtp_conn *c = sb_calloc(1, sizeof(*c));
	int err;

	smtp_server_reap(srv, false);
	c->srv = srv;
	c->fd = fd;
	c->tls = tls;
	pthread_mutex_lock(&srv->lock);
	c->id = ++srv->next_id;
	err = pthread_create(&c->thread, NULL, smtp_conn_main, c);
	if (err == 0) {
		srv->sessions++;
		c->next = srv->conns;
		srv->conns = c;
	}
	pthread_mutex_unlock(&srv->lock);
	if (err != 0) {
		sb_log_warn("smtp: cannot start a session thread: %s",
		            strerror(err));
		close(fd);
		free(c);
	}
}

static void *
smtp_accept_main(void *p)
{
	struct smtp_server *srv = p;
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
				smtp_server_spawn(srv, fd, i == 2);
			} else if (n < 0) {
				/*
				 * Out of file descriptors, say: the listener
				 * stays readable, so wait a little instead of
				 * spinning.
				 */
				sb_log_warn("smtp: cannot accept: %s", error);
				poll(fds, 1, 200);
			}
		}
	}
	return NULL;
}

int
smtp_server_start(struct smtp_server *srv, const char **error_r)
{
	int err = pthread_create(&srv->accept_thread, NULL, smtp_accept_main,
	                         srv);

	if (err != 0) {
		*error_r = strerror(err);
		return -1;
	}
	srv->started = true;
	return 0;
}

void
smtp_server_free(struct smtp_server **srvp)
{
	struct smtp_server *srv = *srvp;

	if (srv == NULL)
		return;
	if (srv->shared.stop_fd >= 0)
		sb_event_signal(srv->shared.stop_fd);
	if (srv->started)
		pthread_join(srv->accept_thread, NULL);
	/*
	 * Each session notices the stop fd, says 421 and ends; a message in
	 * DATA is abandoned.
	 */
	smtp_server_reap(srv, true);
	sb_listener_free(&srv->plain);
	sb_listener_free(&srv->tls);
	sb_event_close(&srv->shared.stop_fd);
	pthread_cond_destroy(&srv->ended);
	pthread_mutex_destroy(&srv->lock);
	free(srv->addr);
	free(srv->hostname);
	free(srv);
	*srvp = NULL;
}
