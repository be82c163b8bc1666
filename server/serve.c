/* saltmaild's data folder and its HTTPS server. */
#include "server-private.h"

#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/cert.h"
#include "common/file.h"
#include "common/log.h"
#include "common/net.h"

enum MHD_Result srv_access(void *cls, struct MHD_Connection *conn,
                           const char *url, const char *method,
                           const char *version, const char *upload_data,
                           size_t *upload_data_size, void **con_cls);
void srv_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe);

void
srv_config_default(struct srv_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_addr = "127.0.0.1";
	c->listen_port = 0;
	c->quota = 1024ULL * 1024 * 1024;
	c->max_blob = 64ULL * 1024 * 1024;
	c->token_ttl = 900;
	c->refresh_ttl = 30ULL * 86400;
	c->changes_keep = 10000;
	c->login_limit = 5;
	c->lookup_limit = 600;
	c->relay_max_age = 5ULL * 86400;
}

/* path = dir + "/" + name, malloc'd. */
static char *
srv_join(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = sb_malloc(len);

	snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/* Loads the server secret, making it on first use. */
static int SB_WUR
srv_load_secret(sqlite3 *db, unsigned char secret[32], const char **error_r)
{
	sqlite3_stmt *st;
	int ret = -1;

	st = srv_db_prepare(db, "INSERT OR IGNORE INTO meta(key, value) "
	                        "VALUES('secret', ?1)");
	randombytes_buf(secret, 32);
	sqlite3_bind_blob(st, 1, secret, 32, SQLITE_STATIC);
	if (srv_db_step_done(st) != 0) {
		*error_r = "cannot store the server secret";
		return -1;
	}
	st = srv_db_prepare(db, "SELECT value FROM meta WHERE key = 'secret'");
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == 32) {
		memcpy(secret, sqlite3_column_blob(st, 0), 32);
		ret = 0;
	} else {
		*error_r = "the server secret is damaged";
	}
	sqlite3_finalize(st);
	return ret;
}

int
srv_init_data(const char *data_dir, const char **error_r)
{
	char *tls = srv_join(data_dir, "tls"),
	     *blobs = srv_join(data_dir, "blobs");
	char *tmp = srv_join(blobs, "tmp"),
	     *db_path = srv_join(data_dir, "saltmaild.db");
	char *cert = srv_join(tls, "cert.pem"), *key = srv_join(tls, "key.pem");
	unsigned char secret[32];
	sqlite3 *db = NULL;
	bool created;
	int ret = -1;

	if (sb_mkdir_p(data_dir, 0700, error_r) != 0 ||
	    sb_mkdir_p(tls, 0700, error_r) != 0 ||
	    sb_mkdir_p(tmp, 0700, error_r) != 0 ||
	    sb_cert_ensure(cert, key, 30, &created, error_r) != 0 ||
	    srv_db_open(db_path, &db, error_r) != 0 ||
	    srv_db_schema(db, error_r) != 0 ||
	    srv_load_secret(db, secret, error_r) != 0)
		goto out;
	ret = 0;
out:
	sodium_memzero(secret, sizeof(secret));
	sqlite3_close(db);
	free(tls);
	free(blobs);
	free(tmp);
	free(db_path);
	free(cert);
	free(key);
	return ret;
}

/* Opens an initialised data folder into srv. */
int srv_open(struct srv *srv, const struct srv_config *config,
             const char **error_r) SB_WUR;

int
srv_open(struct srv *srv, const struct srv_config *config, const char **error_r)
{
	sqlite3 *db;

	memset(srv, 0, sizeof(*srv));
	srv->config = *config;
	srv->data_dir = sb_strdup(config->data_dir);
	srv->db_path = srv_join(config->data_dir, "saltmaild.db");
	srv->blob_dir = srv_join(config->data_dir, "blobs");
	pthread_mutex_init(&srv->lock, NULL);
	if (srv_init_data(config->data_dir, error_r) != 0)
		return -1;
	db = srv_db(srv);
	if (db == NULL) {
		*error_r = "cannot open the database";
		return -1;
	}
	return srv_load_secret(db, srv->secret, error_r);
}

void srv_close(struct srv *srv);

void
srv_close(struct srv *srv)
{
	sodium_memzero(srv->secret, sizeof(srv->secret));
	free(srv->data_dir);
	free(srv->db_path);
	free(srv->blob_dir);
	free(srv->login_limits.v);
	free(srv->lookup_limits.v);
	free(srv->streams);
	pthread_mutex_destroy(&srv->lock);
}

/* Reads a PEM file into a NUL-terminated string. */
static char *
srv_read_pem(const char *path, const char **error_r)
{
	struct sb_buf b;

	sb_buf_init(&b, 1024 * 1024);
	if (sb_file_read_all(path, &b, NULL, error_r) != 0) {
		sb_buf_free(&b);
		return NULL;
	}
	return sb_buf_take(&b, NULL);
}

/*
 * Connections: at most 512 in all and 64 from one client address, each
 * closed after 60 s without traffic (an event stream writes a ping every
 * 25 s).
 */
#define SRV_MAX_CONNECTIONS 512
#define SRV_MAX_PER_CLIENT  64
#define SRV_IDLE_TIMEOUT_S  60

/* Starts libmicrohttpd over TLS on an already listening socket. */
static struct MHD_Daemon *
srv_start_http(struct srv *srv, int fd, const char **error_r)
{
	const struct srv_config *cfg = &srv->config;
	char *cert_path = cfg->cert_file != NULL
	                          ? sb_strdup(cfg->cert_file)
	                          : srv_join(srv->data_dir, "tls/cert.pem");
	char *key_path = cfg->key_file != NULL
	                         ? sb_strdup(cfg->key_file)
	                         : srv_join(srv->data_dir, "tls/key.pem");
	char *cert = srv_read_pem(cert_path, error_r);
	char *key = cert != NULL ? srv_read_pem(key_path, error_r) : NULL;
	struct MHD_Daemon *d = NULL;

	if (key != NULL) {
		d = MHD_start_daemon(
		        MHD_USE_THREAD_PER_CONNECTION |
		                MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS,
		        0, NULL, NULL, srv_access, srv,
		        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_MEM_CERT,
		        cert, MHD_OPTION_HTTPS_MEM_KEY, key,
		        MHD_OPTION_NOTIFY_COMPLETED, srv_completed, NULL,
		        MHD_OPTION_CONNECTION_TIMEOUT,
		        (unsigned)SRV_IDLE_TIMEOUT_S,
		        MHD_OPTION_CONNECTION_LIMIT,
		        (unsigned)SRV_MAX_CONNECTIONS,
		        MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		        (unsigned)SRV_MAX_PER_CLIENT, MHD_OPTION_END);
		if (d == NULL)
			*error_r = "cannot start the HTTPS server";
	}
	if (key != NULL)
		sodium_memzero(key, strlen(key));
	free(key);
	free(cert);
	free(cert_path);
	free(key_path);
	return d;
}

int
srv_serve(const struct srv_config *config, const char **error_r)
{
	struct sb_listener *listener = NULL;
	struct srv_relay *relay = NULL;
	struct MHD_Daemon *d = NULL;
	struct srv srv;
	sigset_t set;
	int sig = 0, fd = -1;

	/* Threads start with these blocked; only sigwait takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (srv_open(&srv, config, error_r) != 0)
		goto fail;
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		*error_r = "libmicrohttpd was built without TLS";
		goto fail;
	}
	if (sb_listener_new(config->listen_addr, config->listen_port, &listener,
	                    error_r) != 0)
		goto fail;
	/* libmicrohttpd owns and closes the socket it is given. */
	fd = dup(sb_listener_fd(listener));
	if (fd < 0 || (d = srv_start_http(&srv, fd, error_r)) == NULL ||
	    srv_relay_start(&srv, &relay, error_r) != 0)
		goto fail;
	printf("saltmaild: ready https://%s\n", sb_listener_name(listener));
	fflush(stdout);
	sb_log_info("listening on https://%s", sb_listener_name(listener));
	while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	sb_log_info("stopping (signal %d)", sig);
	srv.stopping = 1;
	MHD_stop_daemon(d);
	srv_relay_stop(&relay);
	sb_listener_free(&listener);
	srv_close(&srv);
	return 0;
fail:
	if (d != NULL)
		MHD_stop_daemon(d);
	else if (fd >= 0)
		close(fd);
	sb_listener_free(&listener);
	srv_close(&srv);
	return -1;
}
