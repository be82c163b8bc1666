/*
 * The SMTP server: a service (common/service.h) whose connections run
 * SMTP sessions (session.c), with the configuration they share.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/service.h"
#include "smtp-private.h"

_Static_assert(SMTP_PORT_OFF == SB_SERVICE_OFF, "one word for a listener off");

struct smtp_server {
	struct smtp_config cfg;
	char *addr, *hostname;
	struct smtp_shared shared;
	struct sb_service *svc;
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

/* sb_service_session_fn: one connection's session. */
static void
smtp_server_session(void *ctx, int fd, bool tls, unsigned long id)
{
	struct smtp_server *srv = ctx;

	smtp_session_run(&srv->shared, fd, tls, id);
}

int
smtp_server_new(const struct smtp_config *cfg, struct smtp_server **srv_r,
                const char **error_r)
{
	struct sb_service_config sc;
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
	memset(&sc, 0, sizeof(sc));
	sc.what = "smtp";
	sc.addr = srv->addr;
	sc.port = cfg->port;
	sc.tls_port = cfg->tls_port;
	sc.session = smtp_server_session;
	sc.ctx = srv;
	if (sb_service_new(&sc, &srv->svc, error_r) < 0) {
		smtp_server_free(&srv);
		return -1;
	}
	srv->shared.stop_fd = sb_service_stop_fd(srv->svc);
	*srv_r = srv;
	return 0;
}

const char *
smtp_server_name(const struct smtp_server *srv, bool tls)
{
	return sb_service_name(srv->svc, tls);
}

unsigned
smtp_server_port(const struct smtp_server *srv, bool tls)
{
	return sb_service_port(srv->svc, tls);
}

int
smtp_server_start(struct smtp_server *srv, const char **error_r)
{
	return sb_service_start(srv->svc, error_r);
}

void
smtp_server_free(struct smtp_server **srvp)
{
	struct smtp_server *srv = *srvp;

	if (srv == NULL)
		return;
	/*
	 * Each session notices the stop event, says 421 and ends; a
	 * message in DATA is abandoned.
	 */
	sb_service_free(&srv->svc);
	free(srv->addr);
	free(srv->hostname);
	free(srv);
	*srvp = NULL;
}
