/*
 * A TCP service (service.h): listeners, the accept thread, a joined
 * thread per connection.
 */
#include "common/service.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/log.h"
#include "common/net.h"

/* A connection's thread. */
struct sb_service_conn {
	struct sb_service *svc;
	int fd;
	bool tls;
	unsigned long id;
	pthread_t thread;
	bool ended; /* its session is over: it can be joined */
	struct sb_service_conn *next;
};

struct sb_service {
	struct sb_service_config cfg;
	char *what, *addr;
	int stop_fd;
	struct sb_listener *plain, *tls;
	pthread_t accept_thread;
	bool started;
	/*
	 * The connection threads not joined yet, how many of them still
	 * run, and the condition their ends signal.
	 */
	pthread_mutex_t lock;
	pthread_cond_t ended;
	struct sb_service_conn *conns;
	unsigned sessions;
	unsigned long next_id;
};

int
sb_service_new(const struct sb_service_config *cfg, struct sb_service **svc_r,
               const char **error_r)
{
	struct sb_service *svc = sb_calloc(1, sizeof(*svc));

	svc->cfg = *cfg;
	svc->what = sb_strdup(cfg->what != NULL ? cfg->what : "service");
	svc->addr = cfg->addr != NULL ? sb_strdup(cfg->addr) : NULL;
	svc->cfg.what = svc->what;
	svc->cfg.addr = svc->addr;
	svc->stop_fd = -1;
	pthread_mutex_init(&svc->lock, NULL);
	pthread_cond_init(&svc->ended, NULL);
	if (sb_event_new(&svc->stop_fd, error_r) < 0 ||
	    (cfg->port != SB_SERVICE_OFF &&
	     sb_listener_new(svc->addr, cfg->port, &svc->plain, error_r) < 0) ||
	    (cfg->tls_port != SB_SERVICE_OFF &&
	     sb_listener_new(svc->addr, cfg->tls_port, &svc->tls, error_r) <
	             0)) {
		sb_service_free(&svc);
		return -1;
	}
	*svc_r = svc;
	return 0;
}

int
sb_service_stop_fd(const struct sb_service *svc)
{
	return svc->stop_fd;
}

const char *
sb_service_name(const struct sb_service *svc, bool tls)
{
	const struct sb_listener *l = tls ? svc->tls : svc->plain;

	return l != NULL ? sb_listener_name(l) : NULL;
}

unsigned
sb_service_port(const struct sb_service *svc, bool tls)
{
	const struct sb_listener *l = tls ? svc->tls : svc->plain;

	return l != NULL ? sb_listener_port(l) : 0;
}

static void *
sb_service_conn_main(void *p)
{
	struct sb_service_conn *c = p;
	struct sb_service *svc = c->svc;

	svc->cfg.session(svc->cfg.ctx, c->fd, c->tls, c->id);
	pthread_mutex_lock(&svc->lock);
	c->ended = true;
	svc->sessions--;
	pthread_cond_broadcast(&svc->ended);
	pthread_mutex_unlock(&svc->lock);
	return NULL;
}

/* Joins the threads whose sessions ended (all of them with all). */
static void
sb_service_reap(struct sb_service *svc, bool all)
{
	struct sb_service_conn **p, *c, *done = NULL;

	pthread_mutex_lock(&svc->lock);
	while (all && svc->sessions > 0)
		pthread_cond_wait(&svc->ended, &svc->lock);
	for (p = &svc->conns; (c = *p) != NULL;) {
		if (c->ended) {
			*p = c->next;
			c->next = done;
			done = c;
		} else {
			p = &c->next;
		}
	}
	pthread_mutex_unlock(&svc->lock);
	while ((c = done) != NULL) {
		done = c->next;
		pthread_join(c->thread, NULL);
		free(c);
	}
}

/* Starts the thread of one accepted connection (it owns fd). */
static void
sb_service_spawn(struct sb_service *svc, int fd, bool tls)
{
	struct sb_service_conn *c = sb_calloc(1, sizeof(*c));
	int err;

	sb_service_reap(svc, false);
	c->svc = svc;
	c->fd = fd;
	c->tls = tls;
	pthread_mutex_lock(&svc->lock);
	c->id = ++svc->next_id;
	err = pthread_create(&c->thread, NULL, sb_service_conn_main, c);
	if (err == 0) {
		svc->sessions++;
		c->next = svc->conns;
		svc->conns = c;
	}
	pthread_mutex_unlock(&svc->lock);
	if (err != 0) {
		sb_log_warn("%s: cannot start a session thread: %s", svc->what,
		            strerror(err));
		close(fd);
		free(c);
	}
}

static void *
sb_service_accept_main(void *p)
{
	struct sb_service *svc = p;
	struct sb_listener *ls[3] = {NULL, svc->plain, svc->tls};
	struct pollfd fds[3];
	const char *error;
	int n, fd, i;

	fds[0].fd = svc->stop_fd;
	fds[1].fd = svc->plain != NULL ? sb_listener_fd(svc->plain) : -1;
	fds[2].fd = svc->tls != NULL ? sb_listener_fd(svc->tls) : -1;
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
				sb_service_spawn(svc, fd, i == 2);
			} else if (n < 0) {
				/*
				 * Out of file descriptors, say: the listener
				 * stays readable, so wait a little instead of
				 * spinning.
				 */
				sb_log_warn("%s: cannot accept: %s", svc->what,
				            error);
				poll(fds, 1, 200);
			}
		}
	}
	return NULL;
}

int
sb_service_start(struct sb_service *svc, const char **error_r)
{
	int err = pthread_create(&svc->accept_thread, NULL,
	                         sb_service_accept_main, svc);

	if (err != 0) {
		*error_r = strerror(err);
		return -1;
	}
	svc->started = true;
	return 0;
}

void
sb_service_free(struct sb_service **svcp)
{
	struct sb_service *svc = *svcp;

	if (svc == NULL)
		return;
	if (svc->stop_fd >= 0)
		sb_event_signal(svc->stop_fd);
	if (svc->started)
		pthread_join(svc->accept_thread, NULL);
	/* Each session notices the stop event and ends. */
	sb_service_reap(svc, true);
	sb_listener_free(&svc->plain);
	sb_listener_free(&svc->tls);
	sb_event_close(&svc->stop_fd);
	pthread_cond_destroy(&svc->ended);
	pthread_mutex_destroy(&svc->lock);
	free(svc->what);
	free(svc->addr);
	free(svc);
	*svcp = NULL;
}
