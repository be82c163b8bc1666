/*
 * saltbridge serve's sending side: the SMTP server (smtp/), whose
 * backend puts each message into the outbox with the account's keys
 * (outbox.c), and the sender of every account (send.c) that submits it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bridge/serve-private.h"
#include "common/log.h"

/* What sealing adds to a message, and fields the sender adds, at most. */
#define SERVE_SMTP_SIZE_MARGIN (256 * 1024)

_Static_assert(SMTP_PORT_OFF == BRIDGE_PORT_OFF,
               "one word for a listener that is off");

/* The account's own spelling of an address it has (any case), or NULL. */
static const char *
serve_smtp_address(const struct serve_account *a, const char *address)
{
	size_t i;

	for (i = 0; i < a->keys.n_addresses; i++) {
		if (strcasecmp(a->keys.addresses[i], address) == 0)
			return a->keys.addresses[i];
	}
	return NULL;
}

/* smtp_backend.sender_ok: one of the account's addresses. */
static int
serve_smtp_sender_ok(void *ctx, int64_t account, const char *address,
                     const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	return serve_smtp_address(a, address) != NULL ? 1 : 0;
}

static int
serve_smtp_data_begin(void *ctx, struct store *st, int64_t account,
                      const char *sender, const char *const *recipients,
                      size_t n_recipients, void **data_r, const char **error_r)
{
	struct serve_account *a = serve_account_of(ctx, account);
	struct bridge_outbox_writer *w;
	const char *own;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	/* The service knows the address as the account spells it. */
	own = serve_smtp_address(a, sender);
	if (own == NULL) {
		*error_r = "the sender is not one of the account's addresses";
		return -1;
	}
	if (bridge_outbox_begin(
	            &a->keys, st, account, own, recipients, n_recipients,
	            SMTP_SIZE_MAX - SERVE_SMTP_SIZE_MARGIN, &w, error_r) < 0)
		return -1;
	*data_r = w;
	return 0;
}

static int
serve_smtp_data_write(void *data, const void *p, size_t len,
                      const char **error_r)
{
	return bridge_outbox_write(data, p, len, error_r);
}

static int
serve_smtp_data_finish(void *data, char queue_id[SMTP_QUEUE_ID_MAX],
                       const char **error_r)
{
	struct bridge_outbox_writer *w = data;
	char id[BRIDGE_QUEUE_ID_MAX];

	_Static_assert(BRIDGE_QUEUE_ID_MAX <= SMTP_QUEUE_ID_MAX,
	               "a queue id fits SMTP's");
	if (bridge_outbox_finish(&w, id, error_r) < 0)
		return -1;
	snprintf(queue_id, SMTP_QUEUE_ID_MAX, "%s", id);
	return 0;
}

static void
serve_smtp_data_abort(void *data)
{
	struct bridge_outbox_writer *w = data;

	bridge_outbox_abort(&w);
}

/*
 * Messages left RECEIVING by a crash in the middle of DATA: no 250 was
 * given for them, so the client still has them.
 */
static int SB_WUR
serve_smtp_sweep(struct serve *srv, const char **error_r)
{
	struct store *st;
	const char *error;
	uint64_t n = 0;
	int ret;

	if (store_open(srv->p->replica, srv->hub, &st, &error) < 0) {
		*error_r = bridge_errorf("%s", error);
		return -1;
	}
	/* serve's lock is held: no other DATA can be under way. */
	ret = store_outbox_sweep_receiving(st, (int64_t)time(NULL), 0, &n,
	                                   &error);
	if (ret < 0)
		*error_r = bridge_errorf("cannot sweep the outbox: %s", error);
	else if (n > 0)
		sb_log_info("outbox: %" PRIu64 " messages cut off in DATA "
		            "dropped",
		            n);
	store_close(&st);
	return ret;
}

static int SB_WUR
serve_senders_start(struct serve *srv, const char **error_r)
{
	struct bridge_sender_config cfg;
	size_t i;

	for (i = 0; i < srv->count; i++) {
		struct serve_account *a = &srv->accounts[i];

		memset(&cfg, 0, sizeof(cfg));
		cfg.replica_path = srv->p->replica;
		cfg.hub = srv->hub;
		cfg.account_id = a->replica_id;
		cfg.email = a->email;
		cfg.api = a->clients[SERVE_SEND];
		cfg.keys = &a->keys;
		if (bridge_sender_new(&cfg, &a->sender, error_r) < 0 ||
		    bridge_sender_start(a->sender, error_r) < 0)
			return -1;
	}
	return 0;
}

static void
serve_smtp_print(struct serve *srv)
{
	if (smtp_server_name(srv->smtp, false) != NULL)
		printf("saltbridge: SMTP on %s (STARTTLS)\n",
		       smtp_server_name(srv->smtp, false));
	if (smtp_server_name(srv->smtp, true) != NULL)
		printf("saltbridge: SMTP on %s (TLS)\n",
		       smtp_server_name(srv->smtp, true));
}

int
serve_smtp_listen(struct serve *srv, const struct bridge_settings *s,
                  const char **error_r)
{
	struct smtp_config cfg;

	if (s->smtp_port == SMTP_PORT_OFF && s->smtps_port == SMTP_PORT_OFF) {
		srv->smtp_set = *s;
		return 0;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.addr = s->listen;
	cfg.port = s->smtp_port;
	cfg.tls_port = s->smtps_port;
	cfg.tls = srv->tls;
	/*
	 * Room for what sealing adds (the body stream's chunks) and for the
	 * fields the sender may add, within the service's blob limit.
	 */
	cfg.size_max = SMTP_SIZE_MAX - SERVE_SMTP_SIZE_MARGIN;
	cfg.replica_path = srv->p->replica;
	cfg.hub = srv->hub;
	cfg.backend.ctx = srv;
	cfg.backend.login = serve_login;
	cfg.backend.sender_ok = serve_smtp_sender_ok;
	cfg.backend.data_begin = serve_smtp_data_begin;
	cfg.backend.data_write = serve_smtp_data_write;
	cfg.backend.data_finish = serve_smtp_data_finish;
	cfg.backend.data_abort = serve_smtp_data_abort;
	if (smtp_server_new(&cfg, &srv->smtp, error_r) != 0) {
		*error_r = bridge_errorf("SMTP: %s", *error_r);
		return -1;
	}
	if (smtp_server_start(srv->smtp, error_r) != 0) {
		smtp_server_free(&srv->smtp);
		return -1;
	}
	serve_smtp_print(srv);
	srv->smtp_set = *s;
	return 0;
}

int
serve_smtp_start(struct serve *srv, const char **error_r)
{
	if (serve_smtp_sweep(srv, error_r) < 0 ||
	    serve_senders_start(srv, error_r) < 0)
		return -1;
	return serve_smtp_listen(srv, &srv->cur, error_r);
}

void
serve_smtp_close(struct serve *srv)
{
	smtp_server_free(&srv->smtp);
	srv->smtp_set.smtp_port = srv->smtp_set.smtps_port = SMTP_PORT_OFF;
}

void
serve_smtp_stop(struct serve *srv)
{
	size_t i;

	serve_smtp_close(srv);
	for (i = 0; i < srv->count; i++)
		bridge_sender_free(&srv->accounts[i].sender);
}
