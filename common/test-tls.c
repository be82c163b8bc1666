/*
 * TLS over loopback: STARTTLS in both roles, implicit TLS, certificate
 * and host name checks, TLS 1.1 refused, the STARTTLS injection refused,
 * input pending inside OpenSSL, and a client nobody here wrote (Python's
 * ssl module). The certificate is made by sb_cert_ensure.
 *
 * A handshake needs both ends at once, so the server's side of each
 * handshake runs in a thread; every other step runs in the test's thread,
 * the socket buffers holding what one end sent until the other reads it.
 * Threads never call the TEST_ macros: they record what happened and the
 * test checks it after joining.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/cert.h"
#include "common/net.h"
#include "common/tls.h"
#include "test.h"

extern char **environ;

#define TIMEOUT_MS 5000

static char cert_path[512], key_path[512], other_cert[512], other_key[512];
static struct sb_tls_ctx *server_ctx, *client_ctx, *wrong_ctx;

/* The certificate and contexts, made once for all the test cases. */
static void
setup(void)
{
	const char *error = NULL;
	bool created = false;

	if (server_ctx != NULL)
		return;
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", test_tmpdir());
	snprintf(key_path, sizeof(key_path), "%s/key.pem", test_tmpdir());
	snprintf(other_cert, sizeof(other_cert), "%s/other.pem", test_tmpdir());
	snprintf(other_key, sizeof(other_key), "%s/other-key.pem",
	         test_tmpdir());
	if (sb_cert_ensure(cert_path, key_path, 30, &created, &error) != 0 ||
	    sb_cert_ensure(other_cert, other_key, 30, &created, &error) != 0 ||
	    sb_tls_server_ctx_new(cert_path, key_path, &server_ctx, &error) !=
	            0 ||
	    sb_tls_client_ctx_new(cert_path, &client_ctx, &error) != 0 ||
	    sb_tls_client_ctx_new(other_cert, &wrong_ctx, &error) != 0)
		test_fail(__FILE__, __LINE__, "setup: %s", error);
}

static void
conn_pair(size_t max_line, struct sb_conn **server_r, struct sb_conn **client_r)
{
	struct sb_listener *l = NULL;
	const char *error = NULL;
	int sfd = -1, cfd = -1;

	if (sb_listener_new(NULL, 0, &l, &error) != 0 ||
	    sb_net_connect("127.0.0.1", sb_listener_port(l), TIMEOUT_MS, &cfd,
	                   &error) != 0 ||
	    sb_listener_accept(l, TIMEOUT_MS, &sfd, &error) != 1)
		test_fail(__FILE__, __LINE__, "pair: %s", error);
	sb_listener_free(&l);
	*server_r = sb_conn_new(sfd, max_line, TIMEOUT_MS);
	*client_r = sb_conn_new(cfd, max_line, TIMEOUT_MS);
}

/* The server's handshake, run in a thread. */
struct handshake {
	pthread_t thread;
	struct sb_conn *conn;
	int ret;
	char error[256];
};

static void *
handshake_main(void *arg)
{
	struct handshake *h = arg;
	const char *error = "";

	h->ret = sb_conn_tls_accept(h->conn, server_ctx, &error);
	snprintf(h->error, sizeof(h->error), "%s", h->ret == 0 ? "" : error);
	return NULL;
}

static void
handshake_start(struct handshake *h, struct sb_conn *conn)
{
	h->conn = conn;
	h->ret = -2;
	TEST_EQ_INT(pthread_create(&h->thread, NULL, handshake_main, h), 0);
}

static void
handshake_join(struct handshake *h)
{
	TEST_EQ_INT(pthread_join(h->thread, NULL), 0);
}

static void
send_str(struct sb_conn *c, const char *s)
{
	const char *error = NULL;

	if (sb_conn_write(c, s, strlen(s), &error) != 0)
		test_fail(__FILE__, __LINE__, "write: %s", error);
}

static void
expect_line(struct sb_conn *c, const char *want)
{
	enum sb_conn_status status = SB_CONN_ERROR;
	const char *error = NULL;
	struct sb_sv line;
	int ret = sb_conn_read_line(c, &line, &status, &error);

	if (ret != 1)
		test_fail(__FILE__, __LINE__, "read_line: %d %s", ret,
		          error != NULL ? error : "");
	TEST_EQ_MEM(line.p, line.len, want, strlen(want));
}

/* A plain exchange, STARTTLS, then lines both ways through TLS. */
static void
starttls_with_host(const char *host)
{
	struct sb_conn *s, *c;
	struct handshake h;
	const char *error = NULL;

	conn_pair(256, &s, &c);
	send_str(s, "* OK ready\r\n");
	expect_line(c, "* OK ready");
	send_str(c, "a STARTTLS\r\n");
	expect_line(s, "a STARTTLS");
	send_str(s, "a OK begin TLS\r\n");
	expect_line(c, "a OK begin TLS");
	handshake_start(&h, s);
	if (sb_conn_tls_connect(c, client_ctx, host, &error) != 0)
		test_fail(__FILE__, __LINE__, "connect %s: %s", host, error);
	handshake_join(&h);
	TEST_EQ_STR(h.error, "");
	TEST_EQ_INT(h.ret, 0);
	TEST_ASSERT(sb_conn_is_tls(s) && sb_conn_is_tls(c));
	TEST_ASSERT(strcmp(sb_conn_tls_version(c), "TLSv1.2") == 0 ||
	            strcmp(sb_conn_tls_version(c), "TLSv1.3") == 0);
	send_str(c, "b NOOP\r\n");
	expect_line(s, "b NOOP");
	send_str(s, "b OK through TLS\r\n");
	expect_line(c, "b OK through TLS");
	/* A second upgrade makes no sense. */
	TEST_EQ_INT(sb_conn_tls_connect(c, client_ctx, host, &error), -1);
	sb_conn_free(&c);
	TEST_EQ_INT(sb_conn_read_line(s, &(struct sb_sv){0},
	                              &(enum sb_conn_status){0}, &error),
	            0);
	sb_conn_free(&s);
}

static void
test_tls_starttls(void)
{
	setup();
	starttls_with_host("127.0.0.1");
	starttls_with_host("localhost");
}

static void
test_tls_implicit(void)
{
	struct sb_conn *s, *c;
	struct handshake h;
	const char *error = NULL;

	setup();
	conn_pair(256, &s, &c);
	handshake_start(&h, s);
	if (sb_conn_tls_connect(c, client_ctx, "localhost", &error) != 0)
		test_fail(__FILE__, __LINE__, "connect: %s", error);
	handshake_join(&h);
	TEST_EQ_STR(h.error, "");
	send_str(s, "220 localhost ESMTP\r\n");
	expect_line(c, "220 localhost ESMTP");
	TEST_EQ_INT(sb_conn_printf(c, &error, "EHLO %s\r\n", "client"), 0);
	expect_line(s, "EHLO client");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/* A client handshake that must fail; returns its error. */
static void
expect_refused(struct sb_tls_ctx *ctx, const char *host, const char *why)
{
	struct sb_conn *s, *c;
	struct handshake h;
	const char *error = NULL;

	conn_pair(256, &s, &c);
	handshake_start(&h, s);
	TEST_EQ_INT(sb_conn_tls_connect(c, ctx, host, &error), -1);
	if (strstr(error, why) == NULL)
		test_fail(__FILE__, __LINE__, "unexpected error: %s", error);
	/* Unusable after a failed handshake. */
	TEST_EQ_INT(sb_conn_write(c, "x", 1, &error), -1);
	sb_conn_free(&c);
	handshake_join(&h);
	TEST_EQ_INT(h.ret, -1);
	sb_conn_free(&s);
}

static void
test_tls_refused_certs(void)
{
	setup();
	/* Verified against another certificate: not trusted. */
	expect_refused(wrong_ctx, "localhost", "certificate verify failed");
	/* Trusted, but not issued for that name or address. */
	expect_refused(client_ctx, "example.com", "mismatch");
	expect_refused(client_ctx, "127.0.0.2", "mismatch");
}

/*
 * A handshake from a plain blocking OpenSSL client offering only the given
 * version. Returns 1 when the client completed it, 0 when it failed, -1
 * when this OpenSSL cannot offer that version; *server_r is the server's
 * result, server_error its error.
 */
static int
raw_client_handshake(int version, int *server_r, char *server_error,
                     size_t size)
{
	struct sb_listener *l = NULL;
	struct sb_conn *s;
	struct handshake h;
	const char *error = NULL;
	SSL_CTX *raw;
	SSL *ssl;
	int sfd = -1, cfd = -1, ret;

	raw = SSL_CTX_new(TLS_client_method());
	TEST_ASSERT(raw != NULL);
	/* TLS 1.1 needs security level 0 in OpenSSL 3. */
	SSL_CTX_set_security_level(raw, 0);
	if (SSL_CTX_set_min_proto_version(raw, version) != 1 ||
	    SSL_CTX_set_max_proto_version(raw, version) != 1) {
		SSL_CTX_free(raw);
		return -1;
	}
	if (sb_listener_new(NULL, 0, &l, &error) != 0 ||
	    sb_net_connect("127.0.0.1", sb_listener_port(l), TIMEOUT_MS, &cfd,
	                   &error) != 0 ||
	    sb_listener_accept(l, TIMEOUT_MS, &sfd, &error) != 1)
		test_fail(__FILE__, __LINE__, "pair: %s", error);
	sb_listener_free(&l);
	s = sb_conn_new(sfd, 256, TIMEOUT_MS);
	handshake_start(&h, s);
	TEST_EQ_INT(fcntl(cfd, F_SETFL, 0), 0);
	ssl = SSL_new(raw);
	TEST_EQ_INT(SSL_set_fd(ssl, cfd), 1);
	ret = SSL_connect(ssl) == 1 ? 1 : 0;
	ERR_clear_error();
	SSL_free(ssl);
	SSL_CTX_free(raw);
	close(cfd);
	handshake_join(&h);
	sb_conn_free(&s);
	*server_r = h.ret;
	snprintf(server_error, size, "%s", h.error);
	return ret;
}

static void
test_tls_old_version_refused(void)
{
	char error[256];
	int server = -2, ret;

	setup();
	/* TLS 1.2 is the minimum, and is accepted. */
	TEST_EQ_INT(raw_client_handshake(TLS1_2_VERSION, &server, error,
	                                 sizeof(error)),
	            1);
	TEST_EQ_INT(server, 0);
	ret = raw_client_handshake(TLS1_1_VERSION, &server, error,
	                           sizeof(error));
	if (ret < 0) {
		printf("     skipped: this OpenSSL cannot offer TLS 1.1\n");
		return;
	}
	TEST_EQ_INT(ret, 0);
	TEST_EQ_INT(server, -1);
	if (strstr(error, "connection closed") != NULL) {
		/* The client gave up before sending anything. */
		printf("     skipped: the client could not offer TLS 1.1\n");
		return;
	}
	if (strstr(error, "unsupported protocol") == NULL)
		test_fail(__FILE__, __LINE__, "server: %s", error);
}

/* Plain text sent after STARTTLS is not taken as if it came over TLS. */
static void
test_tls_starttls_injection_server(void)
{
	struct sb_conn *s, *c;
	const char *error = NULL;

	setup();
	conn_pair(256, &s, &c);
	/* One write: both lines reach the server together. */
	send_str(c, "a STARTTLS\r\nb INJECTED\r\n");
	expect_line(s, "a STARTTLS");
	TEST_EQ_INT(sb_conn_tls_accept(s, server_ctx, &error), -1);
	TEST_ASSERT(strstr(error, "plain text") != NULL);
	TEST_ASSERT(!sb_conn_is_tls(s));
	/* The server answers, and nothing was lost. */
	send_str(s, "a BAD data after STARTTLS\r\n");
	expect_line(c, "a BAD data after STARTTLS");
	expect_line(s, "b INJECTED");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

static void
test_tls_starttls_injection_client(void)
{
	struct sb_conn *s, *c;
	const char *error = NULL;

	setup();
	conn_pair(256, &s, &c);
	send_str(s, "a OK begin TLS\r\n* 1 EXISTS\r\n");
	expect_line(c, "a OK begin TLS");
	TEST_EQ_INT(sb_conn_tls_connect(c, client_ctx, "localhost", &error),
	            -1);
	TEST_ASSERT(strstr(error, "plain text") != NULL);
	expect_line(c, "* 1 EXISTS");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/* Decrypted bytes held inside OpenSSL count as input for IDLE. */
static void
test_tls_wait_pending(void)
{
	struct sb_conn *s, *c;
	struct handshake h;
	const char *error = NULL;
	int efd = -1;

	setup();
	/* Lines of 8 bytes: the reader takes 10 bytes at most. */
	conn_pair(8, &s, &c);
	handshake_start(&h, s);
	if (sb_conn_tls_connect(c, client_ctx, "127.0.0.1", &error) != 0)
		test_fail(__FILE__, __LINE__, "connect: %s", error);
	handshake_join(&h);
	TEST_EQ_STR(h.error, "");
	TEST_EQ_INT(sb_event_new(&efd, &error), 0);
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error), 0);
	/* One TLS record with two lines. */
	send_str(c, "12345678\r\nabcdefgh\r\n");
	expect_line(s, "12345678");
	/* The reader is empty, the socket too: the rest is in OpenSSL. */
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error), SB_CONN_WAIT_INPUT);
	sb_event_signal(efd);
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error),
	            SB_CONN_WAIT_INPUT | SB_CONN_WAIT_EVENT);
	sb_event_drain(efd);
	expect_line(s, "abcdefgh");
	TEST_EQ_INT(sb_conn_wait(s, efd, 0, &error), 0);
	sb_event_close(&efd);
	sb_conn_free(&c);
	sb_conn_free(&s);
}

static void
test_tls_no_sigpipe(void)
{
	static char chunk[65536];
	struct sb_conn *s, *c;
	struct handshake h;
	const char *error = NULL;
	int i, ret = 0;

	/* A SIGPIPE would end the test, as it would the daemon. */
	TEST_ASSERT(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	setup();
	conn_pair(256, &s, &c);
	handshake_start(&h, s);
	if (sb_conn_tls_connect(c, client_ctx, "localhost", &error) != 0)
		test_fail(__FILE__, __LINE__, "connect: %s", error);
	handshake_join(&h);
	sb_conn_free(&c);
	for (i = 0; i < 100 && ret == 0; i++)
		ret = sb_conn_write(s, chunk, sizeof(chunk), &error);
	TEST_EQ_INT(ret, -1);
	sb_conn_free(&s);
}

/* A TLS pair: the server's handshake in a thread, the client's here. */
static void
tls_pair(struct sb_conn **server_r, struct sb_conn **client_r)
{
	struct handshake h;
	const char *error = NULL;

	conn_pair(256, server_r, client_r);
	handshake_start(&h, *server_r);
	if (sb_conn_tls_connect(*client_r, client_ctx, "localhost", &error) !=
	    0)
		test_fail(__FILE__, __LINE__, "connect: %s", error);
	handshake_join(&h);
	TEST_EQ_STR(h.error, "");
}

/* A peer that sends one byte every 100 ms for 4 s, in a thread. */
struct trickle {
	pthread_t thread;
	int fd;
	const char *prefix;
	size_t prefix_len;
	atomic_bool stop, finished;
	char error[128];
};

static void *
trickle_main(void *arg)
{
	struct trickle *t = arg;
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
	const char byte = 1;

	if (send(t->fd, t->prefix, t->prefix_len, MSG_NOSIGNAL) !=
	    (ssize_t)t->prefix_len) {
		snprintf(t->error, sizeof(t->error), "send: %s",
		         strerror(errno));
		return NULL;
	}
	for (int i = 0; i < 40; i++) {
		if (atomic_load(&t->stop))
			return NULL;
		nanosleep(&ts, NULL);
		if (send(t->fd, &byte, 1, MSG_NOSIGNAL) != 1) {
			snprintf(t->error, sizeof(t->error), "send: %s",
			         strerror(errno));
			return NULL;
		}
	}
	atomic_store(&t->finished, true);
	return NULL;
}

/*
 * A ClientHello trickled one byte at a time, each before the idle
 * timeout: the handshake's own time limit ends it.
 */
static void
test_tls_trickled_handshake(void)
{
	/* A handshake record of 512 bytes that never all arrive. */
	static const char record[] = "\x16\x03\x01\x02\x00";
	struct sb_conn *s, *c;
	struct trickle t = {0};
	const char *error = NULL;
	int ret;

	setup();
	conn_pair(256, &s, &c);
	sb_conn_set_timeout(s, 200);
	sb_conn_set_handshake_timeout(s, 600);
	t.fd = sb_conn_fd(c);
	t.prefix = record;
	t.prefix_len = sizeof(record) - 1;
	atomic_init(&t.stop, false);
	atomic_init(&t.finished, false);
	TEST_EQ_INT(pthread_create(&t.thread, NULL, trickle_main, &t), 0);
	ret = sb_conn_tls_accept(s, server_ctx, &error);
	/* It gave up while the peer was still sending. */
	TEST_ASSERT(!atomic_load(&t.finished));
	atomic_store(&t.stop, true);
	TEST_EQ_INT(pthread_join(t.thread, NULL), 0);
	TEST_EQ_STR(t.error, "");
	TEST_EQ_INT(ret, -1);
	TEST_EQ_STR(error, "TLS handshake failed: deadline passed");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/*
 * A TLS write that timed out leaves OpenSSL waiting for that same
 * buffer: later writes, of other data, are refused at once.
 */
static void
test_tls_write_broken(void)
{
	static char big[4 * 1024 * 1024];
	struct sb_conn *s, *c;
	const char *error = NULL;

	setup();
	tls_pair(&s, &c);
	sb_conn_set_timeout(s, 100);
	/* The client reads nothing: the write stalls. */
	TEST_EQ_INT(sb_conn_write(s, big, sizeof(big), &error), -1);
	TEST_EQ_STR(error, "write failed: idle timeout");
	TEST_EQ_INT(sb_conn_write(s, "* BYE\r\n", 7, &error), -1);
	TEST_EQ_STR(error, "write refused: an earlier write failed");
	/* Reading still works. */
	send_str(c, "a LOGOUT\r\n");
	expect_line(s, "a LOGOUT");
	sb_conn_free(&c);
	sb_conn_free(&s);
}

/* The server side for Python: two connections, one line each way. */
struct py_server {
	pthread_t thread;
	struct sb_listener *listener;
	char error[256];
};

static void *
py_server_main(void *arg)
{
	struct py_server *p = arg;
	enum sb_conn_status status;
	const char *error = "";
	struct sb_conn *c;
	struct sb_sv line;
	int i, fd = -1;

	for (i = 0; i < 2 && p->error[0] == '\0'; i++) {
		if (sb_listener_accept(p->listener, TIMEOUT_MS, &fd, &error) !=
		    1) {
			snprintf(p->error, sizeof(p->error), "accept: %s",
			         error);
			break;
		}
		c = sb_conn_new(fd, 256, TIMEOUT_MS);
		if (sb_conn_tls_accept(c, server_ctx, &error) != 0 ||
		    sb_conn_write(c, "* OK hello\r\n", 12, &error) != 0 ||
		    sb_conn_read_line(c, &line, &status, &error) != 1 ||
		    sb_conn_write(c, "PONG\r\n", 6, &error) != 0)
			snprintf(p->error, sizeof(p->error), "%s", error);
		else if (!sb_sv_eq(line, SB_SV_LIT("PING")))
			snprintf(p->error, sizeof(p->error), "got %.*s",
			         (int)line.len, line.p);
		sb_conn_free(&c);
	}
	return NULL;
}

static const char py_client[] =
        "import socket, ssl, sys\n"
        "port, ca = int(sys.argv[1]), sys.argv[2]\n"
        "ctx = ssl.create_default_context(cafile=ca)\n"
        "ctx.verify_flags |= ssl.VERIFY_X509_STRICT\n"
        "for host in ('localhost', '127.0.0.1'):\n"
        "    with socket.create_connection(('127.0.0.1', port), 5) as s:\n"
        "        with ctx.wrap_socket(s, server_hostname=host) as t:\n"
        "            f = t.makefile('rb')\n"
        "            assert f.readline() == b'* OK hello\\r\\n'\n"
        "            t.sendall(b'PING\\r\\n')\n"
        "            assert f.readline() == b'PONG\\r\\n'\n";

static void
test_tls_python_client(void)
{
	struct py_server p = {0};
	const char *error = NULL;
	char port[16];
	char *argv[] = {"python3", "-c",      (char *)py_client,
	                port,      cert_path, NULL};
	pid_t pid;
	int status = -1;

	setup();
	if (sb_listener_new(NULL, 0, &p.listener, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s", error);
	snprintf(port, sizeof(port), "%u", sb_listener_port(p.listener));
	if (posix_spawnp(&pid, "python3", NULL, NULL, argv, environ) != 0) {
		printf("     skipped: cannot run python3\n");
		sb_listener_free(&p.listener);
		return;
	}
	TEST_EQ_INT(pthread_create(&p.thread, NULL, py_server_main, &p), 0);
	TEST_EQ_INT(waitpid(pid, &status, 0), pid);
	TEST_EQ_INT(pthread_join(p.thread, NULL), 0);
	sb_listener_free(&p.listener);
	TEST_EQ_STR(p.error, "");
	TEST_ASSERT(WIFEXITED(status));
	TEST_EQ_INT(WEXITSTATUS(status), 0);
}

/* A TLS session to the server context in use, verified with ctx. */
static void
tls_verified_pair(struct sb_tls_ctx *ctx, struct sb_conn **s,
                  struct sb_conn **c)
{
	const char *error = NULL;
	struct handshake h;

	conn_pair(256, s, c);
	handshake_start(&h, *s);
	if (sb_conn_tls_connect(*c, ctx, "localhost", &error) != 0)
		test_fail(__FILE__, __LINE__, "connect: %s", error);
	handshake_join(&h);
	TEST_EQ_STR(h.error, "");
}

static void
test_tls_reload(void)
{
	struct sb_tls_ctx *saved, *ctx = NULL;
	struct sb_conn *s, *c, *s2, *c2;
	const char *error = NULL;

	setup();
	TEST_EQ_INT(sb_tls_server_ctx_new(cert_path, key_path, &ctx, &error),
	            0);
	saved = server_ctx;
	server_ctx = ctx;
	tls_verified_pair(client_ctx, &s, &c);
	TEST_EQ_INT(
	        sb_tls_server_ctx_reload(ctx, other_cert, other_key, &error),
	        0);
	/* New sessions present the other certificate. */
	expect_refused(client_ctx, "localhost", "certificate verify failed");
	tls_verified_pair(wrong_ctx, &s2, &c2);
	sb_conn_free(&c2);
	sb_conn_free(&s2);
	/* The session made before goes on with the first one. */
	send_str(c, "a NOOP\r\n");
	expect_line(s, "a NOOP");
	send_str(s, "a OK\r\n");
	expect_line(c, "a OK");
	sb_conn_free(&c);
	sb_conn_free(&s);
	/* A reload that fails leaves the context as it was. */
	TEST_EQ_INT(sb_tls_server_ctx_reload(ctx, cert_path, other_key, &error),
	            -1);
	TEST_ASSERT(strstr(error, "other-key.pem") != NULL);
	TEST_EQ_INT(sb_tls_server_ctx_reload(ctx, "/nonexistent/cert.pem",
	                                     key_path, &error),
	            -1);
	tls_verified_pair(wrong_ctx, &s2, &c2);
	sb_conn_free(&c2);
	sb_conn_free(&s2);
	/* A client context has no certificate to reload. */
	TEST_EQ_INT(sb_tls_server_ctx_reload(client_ctx, cert_path, key_path,
	                                     &error),
	            -1);
	server_ctx = saved;
	sb_tls_ctx_free(&ctx);
}

static void
test_tls_ctx_errors(void)
{
	struct sb_tls_ctx *ctx = NULL;
	const char *error = NULL;

	setup();
	TEST_EQ_INT(sb_tls_server_ctx_new("/nonexistent/cert.pem", key_path,
	                                  &ctx, &error),
	            -1);
	TEST_ASSERT(strstr(error, "/nonexistent/cert.pem") != NULL);
	TEST_EQ_INT(sb_tls_server_ctx_new(cert_path, other_key, &ctx, &error),
	            -1);
	TEST_ASSERT(strstr(error, "other-key.pem") != NULL);
	TEST_EQ_INT(sb_tls_client_ctx_new("/nonexistent/ca.pem", &ctx, &error),
	            -1);
	TEST_ASSERT(ctx == NULL);
	TEST_EQ_INT(sb_tls_client_ctx_new(NULL, &ctx, &error), 0);
	sb_tls_ctx_free(&ctx);
	TEST_ASSERT(ctx == NULL);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"STARTTLS", test_tls_starttls},
	        {"implicit TLS", test_tls_implicit},
	        {"untrusted or wrong certificate refused",
	         test_tls_refused_certs},
	        {"TLS 1.2 minimum, TLS 1.1 refused",
	         test_tls_old_version_refused},
	        {"STARTTLS injection refused by the server",
	         test_tls_starttls_injection_server},
	        {"STARTTLS injection refused by the client",
	         test_tls_starttls_injection_client},
	        {"wait sees input pending in OpenSSL", test_tls_wait_pending},
	        {"no SIGPIPE through TLS", test_tls_no_sigpipe},
	        {"trickled handshake", test_tls_trickled_handshake},
	        {"broken for writing after a failed TLS write",
	         test_tls_write_broken},
	        {"Python ssl client", test_tls_python_client},
	        {"context errors", test_tls_ctx_errors},
	        {"a server context's certificate reloaded", test_tls_reload},
	        {NULL, NULL},
	};
	int ret = test_run(cases);

	sb_tls_ctx_free(&server_ctx);
	sb_tls_ctx_free(&client_ctx);
	sb_tls_ctx_free(&wrong_ctx);
	return ret;
}
