/*
 * The IMAP server: a service (common/service.h) whose connections run
 * IMAP sessions (session.c), with the configuration they share.
 */
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/service.h"
#include "imap-private.h"

_Static_assert(IMAP_PORT_OFF == SB_SERVICE_OFF, "one word for a listener off");

struct imap_server {
	struct imap_config cfg;
	char *addr;
	struct imap_shared shared;
	struct sb_service *svc;
};

/* sb_service_session_fn: one connection's session. */
static void
imap_server_session(void *ctx, int fd, bool tls, unsigned long id)
{
	struct imap_server *srv = ctx;

	imap_session_run(&srv->shared, fd, tls, id);
}

int
imap_server_new(const struct imap_config *cfg, struct imap_server **srv_r,
                const char **error_r)
{
	struct sb_service_config sc;
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
	memset(&sc, 0, sizeof(sc));
	sc.what = "imap";
	sc.addr = srv->addr;
	sc.port = cfg->port;
	sc.tls_port = cfg->tls_port;
	sc.session = imap_server_session;
	sc.ctx = srv;
	if (sb_service_new(&sc, &srv->svc, error_r) < 0) {
		imap_server_free(&srv);
		return -1;
	}
	srv->shared.stop_fd = sb_service_stop_fd(srv->svc);
	*srv_r = srv;
	return 0;
}

const char *
imap_server_name(const struct imap_server *srv, bool tls)
{
	return sb_service_name(srv->svc, tls);
}

unsigned
imap_server_port(const struct imap_server *srv, bool tls)
{
	return sb_service_port(srv->svc, tls);
}

int
imap_server_start(struct imap_server *srv, const char **error_r)
{
	return sb_service_start(srv->svc, error_r);
}

void
imap_server_free(struct imap_server **srvp)
{
	struct imap_server *srv = *srvp;

	if (srv == NULL)
		return;
	/* Each session notices the stop event and says BYE. */
	sb_service_free(&srv->svc);
	free(srv->addr);
	free(srv);
	*srvp = NULL;
}
