/*
 * saltbridge for the benchmarks: login, the vault, serve, and the replica
 * read directly; see bench-bridge.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench-bridge.h"
#include "bridge/bridge.h"

#define SERVE_START_S 120.0 /* for serve's ready line (sanitizers too) */

void
bench_saltbridge_init(struct bench_saltbridge *b, const char *binary)
{
	struct bridge_paths p;
	const char *error;

	memset(b, 0, sizeof(*b));
	b->binary = binary;
	b->out = -1;
	bench_tmp_path(b->home, sizeof(b->home), "home");
	if (bridge_paths_init(&p, b->home, &error) != 0)
		bench_fail("the bridge's paths: %s", error);
	snprintf(b->replica, sizeof(b->replica), "%s", p.replica);
	snprintf(b->cert, sizeof(b->cert), "%s/tls/cert.pem", p.data_dir);
	snprintf(b->key, sizeof(b->key), "%s/tls/key.pem", p.data_dir);
	bridge_paths_free(&p);
}

void
bench_saltbridge_login(const struct bench_saltbridge *b,
                       const struct bench_saltmaild *d, const char *email,
                       const char *password)
{
	char *argv[] = {(char *)b->binary,
	                "--home",
	                (char *)b->home,
	                "login",
	                "--api",
	                (char *)d->base_url,
	                "--ca-file",
	                (char *)d->cert,
	                "--password-stdin",
	                (char *)email,
	                NULL};

	bench_run_with_password(argv, password, "login.log",
	                        "saltbridge login");
}

void
bench_saltbridge_account(const struct bench_saltbridge *b, const char *email,
                         char *api_id_r, char **password_r,
                         struct bridge_mail_keys *keys_r)
{
	struct bridge_paths p;
	struct bridge_vault bv;
	const char *error = "there is none";

	if (bridge_paths_init(&p, b->home, &error) != 0 ||
	    bridge_vault_open_existing(&bv, &p, &error) != 1)
		bench_fail("the bridge's vault: %s", error);
	if (bridge_account_find(bv.v, email, api_id_r) != 1)
		bench_fail("the vault holds no %s", email);
	if (password_r != NULL) {
		*password_r = bridge_entry_secret_str(
		        bv.v, api_id_r, BRIDGE_ENTRY_BRIDGE_PASSWORD);
		if (*password_r == NULL)
			bench_fail("no bridge password for %s", email);
	}
	if (keys_r != NULL &&
	    bridge_mail_keys_load(bv.v, api_id_r, keys_r, &error) != 0)
		bench_fail("the keys of %s: %s", email, error);
	bridge_vault_close(&bv);
	bridge_paths_free(&p);
}

/* The port of a line "PREFIX127.0.0.1:PORT (STARTTLS)", or 0. */
static unsigned
serve_port(const char *line, const char *prefix)
{
	size_t len = strlen(prefix);
	unsigned long port;
	char *end;

	if (strncmp(line, prefix, len) != 0)
		return 0;
	errno = 0;
	port = strtoul(line + len, &end, 10);
	if (errno != 0 || port == 0 || port > 65535 ||
	    strcmp(end, " (STARTTLS)") != 0)
		bench_fail("unexpected line from serve: %s", line);
	return (unsigned)port;
}

/* A line of serve's stdout: true for the ready line. */
static bool
serve_line(void *ctx, const char *line)
{
	struct bench_saltbridge *b = ctx;
	unsigned port;

	if ((port = serve_port(line, "saltbridge: IMAP on 127.0.0.1:")) != 0)
		b->imap_port = port;
	if ((port = serve_port(line, "saltbridge: SMTP on 127.0.0.1:")) != 0)
		b->smtp_port = port;
	return strncmp(line, "saltbridge: ready", 17) == 0;
}

void
bench_saltbridge_start(struct bench_saltbridge *b, const char *const *args)
{
	char *argv[16] = {(char *)b->binary, "--home", b->home, "serve"};
	size_t n = 4;

	while (args != NULL && *args != NULL && n < SB_N_ELEMENTS(argv) - 1)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	b->imap_port = b->smtp_port = 0;
	b->out = bench_spawn_until(BENCH_CHILD_OTHER, argv, "serve.log",
	                           SERVE_START_S, serve_line, b, &b->pid);
}

void
bench_saltbridge_stop(struct bench_saltbridge *b)
{
	int status = bench_stop(BENCH_CHILD_OTHER, BENCH_STOP_GRACE);

	close(b->out);
	b->out = -1;
	b->pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		bench_print_tail("serve.log");
		bench_fail("saltbridge serve stopped with status %d", status);
	}
}

sqlite3 *
bench_replica_open(const char *path)
{
	sqlite3 *db;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK)
		bench_fail("%s: %s", path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	return db;
}

sqlite3_stmt *
bench_replica_prepare(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		bench_fail("replica: %s", sqlite3_errmsg(db));
	return stmt;
}

int64_t
bench_replica_inbox(sqlite3 *db, const char *api_id)
{
	sqlite3_stmt *q = bench_replica_prepare(
	        db, "SELECT b.id FROM mailboxes b JOIN accounts a"
	            " ON a.id = b.account"
	            " WHERE a.api_id = ? AND b.role = 'inbox'");
	int64_t id;

	sqlite3_bind_text(q, 1, api_id, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		bench_fail("the replica has no INBOX for %s", api_id);
	id = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return id;
}

struct api_client *
bench_api_client_new(const struct bench_saltmaild *d)
{
	struct api_client_options o;
	struct api_client *c;
	const char *error;

	api_client_options_default(&o);
	o.base_url = d->base_url;
	o.ca_file = d->cert;
	if (api_client_new(&o, &c, &error) != 0)
		bench_fail("api client: %s", error);
	return c;
}

struct sb_password_keys *
bench_password_keys(const struct api_kdf *kdf, const char *password)
{
	struct sb_kdf_params params;
	struct sb_password_keys *keys;
	const char *error;

	_Static_assert(sizeof(params.salt) == sizeof(kdf->salt),
	               "the API's salt is the KDF's");
	params.opslimit = kdf->opslimit;
	params.memlimit = kdf->memlimit;
	memcpy(params.salt, kdf->salt, sizeof(params.salt));
	if (sb_kdf_params_check(&params, &error) != 0 ||
	    sb_password_derive(password, strlen(password), &params, &keys,
	                       &error) != 0)
		bench_fail("password keys: %s", error);
	return keys;
}
