/* The client's end of a test session: see test-client.h. */
#include "test-client.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cert.h"
#include "common/codec.h"
#include "common/tls.h"
#include "test.h"

/* The longest wait for a reply: only a hung session reaches it. */
#define TC_WAIT_MS 60000

static struct sb_tls_ctx *tc_server_ctx, *tc_client_ctx;
static char tc_replica_path[512];

void
tc_setup(void)
{
	char cert[512], key[512];
	const char *error;
	bool created;

	snprintf(cert, sizeof(cert), "%s/cert.pem", test_tmpdir());
	snprintf(key, sizeof(key), "%s/key.pem", test_tmpdir());
	snprintf(tc_replica_path, sizeof(tc_replica_path), "%s/replica.db",
	         test_tmpdir());
	if (sb_cert_ensure(cert, key, 30, &created, &error) < 0 ||
	    sb_tls_server_ctx_new(cert, key, &tc_server_ctx, &error) < 0 ||
	    sb_tls_client_ctx_new(cert, &tc_client_ctx, &error) < 0) {
		fprintf(stderr, "cannot make the certificate: %s\n", error);
		exit(1);
	}
}

void
tc_cleanup(void)
{
	sb_tls_ctx_free(&tc_server_ctx);
	sb_tls_ctx_free(&tc_client_ctx);
}

struct sb_tls_ctx *
tc_server_tls(void)
{
	return tc_server_ctx;
}

struct sb_tls_ctx *
tc_client_tls(void)
{
	return tc_client_ctx;
}

const char *
tc_replica(void)
{
	return tc_replica_path;
}

void
tc_init(struct tc *c)
{
	const char *error;

	memset(c, 0, sizeof(*c));
	tb_init(&c->tb);
	tb_backend(&c->tb, &c->cfg.backend);
	c->cfg.hostname = "mx.test";
	c->cfg.tls = tc_server_ctx;
	c->cfg.replica_path = tc_replica_path;
	c->cfg.size_max = 1024 * 1024;
	c->cfg.recipients_max = 100;
	c->cfg.command_timeout_ms = TC_WAIT_MS;
	c->cfg.data_timeout_ms = TC_WAIT_MS;
	c->cfg.login_delay_ms = 1;
	c->shared.cfg = &c->cfg;
	c->shared.auth_in_clear = true;
	if (sb_event_new(&c->shared.stop_fd, &error) < 0)
		test_fail(__FILE__, __LINE__, "no eventfd: %s", error);
	c->server_fd = -1;
}

static void *
tc_session_main(void *p)
{
	struct tc *c = p;

	smtp_session_run(&c->shared, c->server_fd, c->implicit_tls, 1);
	return NULL;
}

void
tc_start(struct tc *c)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		test_fail(__FILE__, __LINE__, "socketpair failed");
	c->server_fd = fds[0];
	c->conn = sb_conn_new(fds[1], 4096, TC_WAIT_MS);
	if (pthread_create(&c->thread, NULL, tc_session_main, c) != 0)
		test_fail(__FILE__, __LINE__, "cannot start the session");
	c->running = true;
	if (c->implicit_tls)
		tc_starttls(c);
	tc_expect(c, "220 mx.test ESMTP Saltbridge");
}

void
tc_finish(struct tc *c)
{
	sb_conn_free(&c->conn);
	if (c->running)
		pthread_join(c->thread, NULL);
	c->running = false;
}

void
tc_free(struct tc *c)
{
	sb_event_close(&c->shared.stop_fd);
	tb_free(&c->tb);
}

void
tc_send_len(struct tc *c, const void *data, size_t len)
{
	const char *error;

	if (sb_conn_write(c->conn, data, len, &error) < 0)
		test_fail(__FILE__, __LINE__, "cannot send: %s", error);
}

void
tc_send(struct tc *c, const char *text)
{
	tc_send_len(c, text, strlen(text));
}

void
tc_expect_at(const char *file, int line, struct tc *c, const char *want)
{
	enum sb_conn_status status;
	const char *error = "";
	struct sb_sv got;

	if (sb_conn_read_line(c->conn, &got, &status, &error) != 1)
		test_fail(file, line, "no reply (status %d %s), expected %s",
		          (int)status, status == SB_CONN_ERROR ? error : "",
		          want);
	if (!test_mem_eq(got.p, got.len, want, strlen(want)))
		test_fail(file, line, "got \"%.*s\", expected \"%s\"",
		          (int)got.len, got.p, want);
}

void
tc_expect_eof_at(const char *file, int line, struct tc *c)
{
	enum sb_conn_status status;
	const char *error;
	struct sb_sv got;
	int ret = sb_conn_read_line(c->conn, &got, &status, &error);

	/* A reset is a close too: the session may leave input unread. */
	if (ret == 1 || (ret == 0 && status != SB_CONN_EOF))
		test_fail(file, line, "expected the end, got %s",
		          ret == 1 ? got.p : "a timeout");
}

void
tc_starttls(struct tc *c)
{
	const char *error;

	if (sb_conn_tls_connect(c->conn, tc_client_ctx, "localhost", &error) <
	    0)
		test_fail(__FILE__, __LINE__, "TLS failed: %s", error);
	c->on_tls = true;
}

void
tc_ehlo(struct tc *c)
{
	char host[128], size[64];

	tc_send(c, "EHLO client.test\r\n");
	snprintf(host, sizeof(host), "250-%s", c->cfg.hostname);
	snprintf(size, sizeof(size), "250-SIZE %" PRIu64, c->cfg.size_max);
	tc_expect(c, host);
	tc_expect(c, size);
	tc_expect(c, "250-PIPELINING");
	tc_expect(c, "250-8BITMIME");
	tc_expect(c, "250-ENHANCEDSTATUSCODES");
	if (c->on_tls) {
		tc_expect(c, "250-SMTPUTF8");
		tc_expect(c, "250 AUTH PLAIN LOGIN");
	} else if (c->shared.auth_in_clear) {
		tc_expect(c, "250-SMTPUTF8");
		tc_expect(c, "250-STARTTLS");
		tc_expect(c, "250 AUTH PLAIN LOGIN");
	} else {
		tc_expect(c, "250-SMTPUTF8");
		tc_expect(c, "250 STARTTLS");
	}
}

void
tc_login(struct tc *c)
{
	char line[512];

	tc_ehlo(c);
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_plain("", TB_USER, TB_PASSWORD));
	tc_send(c, line);
	tc_expect(c, "235 2.7.0 Authentication successful");
}

const char *
tc_b64(const char *text)
{
	return tc_plain(NULL, text, NULL);
}

const char *
tc_plain(const char *authz, const char *user, const char *password)
{
	static char out[1024];
	struct sb_buf raw, b64;

	sb_buf_init(&raw, 4096);
	sb_buf_init(&b64, sizeof(out) - 1);
	if ((authz != NULL && sb_buf_add(&raw, authz, strlen(authz) + 1) < 0) ||
	    sb_buf_add_str(&raw, user) < 0 ||
	    (password != NULL && (sb_buf_add_char(&raw, '\0') < 0 ||
	                          sb_buf_add_str(&raw, password) < 0)) ||
	    sb_base64_encode(raw.data, raw.len, &b64) < 0)
		test_fail(__FILE__, __LINE__, "credentials too long");
	snprintf(out, sizeof(out), "%s", sb_buf_str(&b64));
	sb_buf_free(&raw);
	sb_buf_free(&b64);
	return out;
}
