#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "alloc.h"

struct sb_tls_ctx {
	/* Swapped by sb_tls_server_ctx_reload: read under lock. */
	pthread_mutex_t lock;
	SSL_CTX *ssl_ctx;
	bool server;
};

struct sb_tls {
	SSL *ssl;
	bool server;
	char error[256];
};

static _Thread_local char tls_error_buf[256];
static _Thread_local char tls_errno_buf[128];

/*
 * strerror() for threaded code: the text goes to a thread-local buffer
 * (GNU strerror_r returns either it or a static string). Valid until the
 * next call in the same thread.
 */
static const char *
tls_strerror(int err)
{
	return strerror_r(err, tls_errno_buf, sizeof(tls_errno_buf));
}

/*
 * The reason of the most recent OpenSSL error, or `fallback` when the
 * queue is empty. Empties the queue, so the next call starts clean.
 */
static const char *
tls_openssl_reason(const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return reason != NULL ? reason : fallback;
}

static const char *SB_PRINTF(1, 2) tls_ctx_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tls_error_buf, sizeof(tls_error_buf), fmt, ap);
	va_end(ap);
	return tls_error_buf;
}

/* The settings both sides share: TLS 1.2 or newer, no renegotiation. */
static SSL_CTX *SB_WUR
tls_ctx_base(const SSL_METHOD *method, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(method);

	if (ctx == NULL) {
		*error_r = tls_ctx_error("cannot create a TLS context: %s",
		                         tls_openssl_reason("unknown error"));
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		*error_r = tls_ctx_error("cannot require TLS 1.2: %s",
		                         tls_openssl_reason("unknown error"));
		SSL_CTX_free(ctx);
		return NULL;
	}
	/*
	 * SSL_OP_IGNORE_UNEXPECTED_EOF: a peer that closes the socket
	 * without a close_notify alert reads as a plain EOF, not as an
	 * error. Many mail clients leave that way, and the alert adds no
	 * safety here: IMAP (LOGOUT, tagged completions, literal sizes)
	 * and SMTP (QUIT, the "." ending DATA) end their sessions and
	 * their data at the protocol level, so a stream cut short by an
	 * attacker is seen as an unfinished command or transaction, and
	 * is never taken for a complete one.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	                                 SSL_OP_NO_RENEGOTIATION |
	                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

/* A server's OpenSSL context with the certificate and key of the files. */
static SSL_CTX *SB_WUR
tls_server_ssl_ctx(const char *cert_path, const char *key_path,
                   const char **error_r)
{
	SSL_CTX *ctx = tls_ctx_base(TLS_server_method(), error_r);

	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		*error_r = tls_ctx_error("cannot load certificate %s: %s",
		                         cert_path,
		                         tls_openssl_reason("unknown error"));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
		*error_r = tls_ctx_error("cannot load private key %s: %s",
		                         key_path,
		                         tls_openssl_reason("unknown error"));
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = tls_ctx_error("private key %s does not match "
		                         "certificate %s",
		                         key_path, cert_path);
		ERR_clear_error();
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static struct sb_tls_ctx *
tls_ctx_wrap(SSL_CTX *ssl_ctx, bool server)
{
	struct sb_tls_ctx *ctx = sb_calloc(1, sizeof(*ctx));

	pthread_mutex_init(&ctx->lock, NULL);
	ctx->ssl_ctx = ssl_ctx;
	ctx->server = server;
	return ctx;
}

int
sb_tls_server_ctx_new(const char *cert_path, const char *key_path,
                      struct sb_tls_ctx **ctx_r, const char **error_r)
{
	SSL_CTX *ctx = tls_server_ssl_ctx(cert_path, key_path, error_r);

	if (ctx == NULL)
		return -1;
	*ctx_r = tls_ctx_wrap(ctx, true);
	return 0;
}

/*
 * The new OpenSSL context replaces the old one under the lock; sessions
 * made from the old one hold a reference to it (SSL_new takes one), so
 * it lives on until the last of them is freed.
 */
int
sb_tls_server_ctx_reload(struct sb_tls_ctx *ctx, const char *cert_path,
                         const char *key_path, const char **error_r)
{
	SSL_CTX *fresh, *old;

	if (!ctx->server) {
		*error_r = "only a server context has a certificate to reload";
		return -1;
	}
	fresh = tls_server_ssl_ctx(cert_path, key_path, error_r);
	if (fresh == NULL)
		return -1;
	pthread_mutex_lock(&ctx->lock);
	old = ctx->ssl_ctx;
	ctx->ssl_ctx = fresh;
	pthread_mutex_unlock(&ctx->lock);
	SSL_CTX_free(old);
	return 0;
}

int
sb_tls_client_ctx_new(const char *ca_file, struct sb_tls_ctx **ctx_r,
                      const char **error_r)
{
	SSL_CTX *ctx = tls_ctx_base(TLS_client_method(), error_r);
	int ret;

	if (ctx == NULL)
		return -1;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca_file != NULL)
		ret = SSL_CTX_load_verify_locations(ctx, ca_file, NULL);
	else
		ret = SSL_CTX_set_default_verify_paths(ctx);
	if (ret != 1) {
		*error_r =
		        tls_ctx_error("cannot load trusted CAs from %s: %s",
		                      ca_file != NULL ? ca_file : "the system",
		                      tls_openssl_reason("unknown error"));
		SSL_CTX_free(ctx);
		return -1;
	}
	*ctx_r = tls_ctx_wrap(ctx, false);
	return 0;
}

void
sb_tls_ctx_free(struct sb_tls_ctx **ctx)
{
	if (*ctx == NULL)
		return;
	SSL_CTX_free((*ctx)->ssl_ctx);
	pthread_mutex_destroy(&(*ctx)->lock);
	free(*ctx);
	*ctx = NULL;
}

bool
sb_tls_ctx_is_server(const struct sb_tls_ctx *ctx)
{
	return ctx->server;
}

/*
 * A BIO on a socket that sends with MSG_NOSIGNAL, so that writing to a
 * connection the peer has closed cannot raise SIGPIPE. OpenSSL's own
 * socket BIO uses write(), which does. The fd is kept in the BIO's data.
 */
static int
tls_bio_fd(BIO *bio)
{
	return (int)(intptr_t)BIO_get_data(bio);
}

static int
tls_bio_write(BIO *bio, const char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(bio);
	n = send(tls_bio_fd(bio), data, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(bio);
	return (int)n;
}

static int
tls_bio_read(BIO *bio, char *data, int len)
{
	ssize_t n;

	BIO_clear_retry_flags(bio);
	n = recv(tls_bio_fd(bio), data, (size_t)len, 0);
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(bio);
	return (int)n;
}

static long
tls_bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_C_GET_FD:
		/* As BIO_get_fd(): the fd is returned, and stored in ptr. */
		if (ptr != NULL)
			*(int *)ptr = tls_bio_fd(bio);
		return tls_bio_fd(bio);
	default:
		return 0;
	}
}

static int
tls_bio_create(BIO *bio)
{
	BIO_set_init(bio, 1);
	return 1;
}

static BIO_METHOD *tls_bio_method;
static CRYPTO_ONCE tls_bio_once = CRYPTO_ONCE_STATIC_INIT;

static void
tls_bio_method_init(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	                             "sb_socket");

	if (m == NULL || BIO_meth_set_write(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read(m, tls_bio_read) != 1 ||
	    BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1 ||
	    BIO_meth_set_create(m, tls_bio_create) != 1)
		sb_oom(0);
	tls_bio_method = m;
}

/* Sets what the client checks the certificate against: a name or an IP. */
static int SB_WUR
tls_set_host(struct sb_tls *t, const char *host, const char **error_r)
{
	unsigned char addr[16];
	X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);

	if (inet_pton(AF_INET, host, addr) == 1 ||
	    inet_pton(AF_INET6, host, addr) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(param, host) == 1)
			return 0;
	} else {
		SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set_tlsext_host_name(t->ssl, host) == 1 &&
		    SSL_set1_host(t->ssl, host) == 1)
			return 0;
	}
	snprintf(t->error, sizeof(t->error), "invalid TLS host name %s: %s",
	         host, tls_openssl_reason("unknown error"));
	*error_r = t->error;
	return -1;
}

int
sb_tls_new(struct sb_tls_ctx *ctx, int fd, const char *host,
           struct sb_tls **tls_r, const char **error_r)
{
	struct sb_tls *t;
	BIO *bio;

	if (ctx->server != (host == NULL)) {
		*error_r = ctx->server ? "a TLS server checks no host name"
		                       : "a TLS client needs a host name";
		return -1;
	}
	if (!CRYPTO_THREAD_run_once(&tls_bio_once, tls_bio_method_init) ||
	    tls_bio_method == NULL)
		sb_oom(0);
	t = sb_calloc(1, sizeof(*t));
	t->server = ctx->server;
	pthread_mutex_lock(&ctx->lock);
	t->ssl = SSL_new(ctx->ssl_ctx);
	pthread_mutex_unlock(&ctx->lock);
	bio = BIO_new(tls_bio_method);
	if (t->ssl == NULL || bio == NULL) {
		*error_r = tls_ctx_error("cannot create a TLS session: %s",
		                         tls_openssl_reason("unknown error"));
		BIO_free(bio);
		SSL_free(t->ssl);
		free(t);
		return -1;
	}
	BIO_set_data(bio, (void *)(intptr_t)fd);
	SSL_set_bio(t->ssl, bio, bio);
	if (ctx->server) {
		SSL_set_accept_state(t->ssl);
	} else {
		SSL_set_connect_state(t->ssl);
		if (tls_set_host(t, host, error_r) != 0) {
			*error_r = tls_ctx_error("%s", *error_r);
			sb_tls_free(&t, false);
			return -1;
		}
	}
	*tls_r = t;
	return 0;
}

void
sb_tls_free(struct sb_tls **tls, bool notify)
{
	if (*tls == NULL)
		return;
	if (notify) {
		/* One attempt: a peer that does not read gets no wait. */
		(void)SSL_shutdown((*tls)->ssl);
		ERR_clear_error();
	}
	SSL_free((*tls)->ssl);
	free(*tls);
	*tls = NULL;
}

/*
 * Turns the result of an SSL call into what comes next. `ret` is what the
 * call returned and `saved_errno` the errno right after it.
 */
static enum sb_tls_io SB_WUR
tls_result(struct sb_tls *t, int ret, int saved_errno, const char *what,
           const char **error_r)
{
	long verify;

	switch (SSL_get_error(t->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return SB_TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return SB_TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return SB_TLS_IO_EOF;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0) {
			if (saved_errno == 0)
				return SB_TLS_IO_EOF;
			snprintf(t->error, sizeof(t->error), "%s: %s", what,
			         tls_strerror(saved_errno));
			break;
		}
		/* fall through */
	default:
		verify = SSL_get_verify_result(t->ssl);
		if (verify != X509_V_OK) {
			snprintf(t->error, sizeof(t->error), "%s: %s (%s)",
			         what, tls_openssl_reason("error"),
			         X509_verify_cert_error_string(verify));
		} else {
			snprintf(t->error, sizeof(t->error), "%s: %s", what,
			         tls_openssl_reason("protocol error"));
		}
		break;
	}
	ERR_clear_error();
	*error_r = t->error;
	return SB_TLS_IO_ERROR;
}

enum sb_tls_io
sb_tls_handshake(struct sb_tls *tls, const char **error_r)
{
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(tls->ssl);
	if (ret == 1)
		return SB_TLS_IO_OK;
	return tls_result(tls, ret, errno, "TLS handshake failed", error_r);
}

enum sb_tls_io
sb_tls_read(struct sb_tls *tls, void *buf, size_t size, size_t *got_r,
            const char **error_r)
{
	int ret;

	*got_r = 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(tls->ssl, buf, size, got_r);
	if (ret == 1)
		return SB_TLS_IO_OK;
	return tls_result(tls, ret, errno, "TLS read failed", error_r);
}

enum sb_tls_io
sb_tls_write(struct sb_tls *tls, const void *buf, size_t size, size_t *done_r,
             const char **error_r)
{
	int ret;

	*done_r = 0;
	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(tls->ssl, buf, size, done_r);
	if (ret == 1)
		return SB_TLS_IO_OK;
	return tls_result(tls, ret, errno, "TLS write failed", error_r);
}

bool
sb_tls_has_pending(const struct sb_tls *tls)
{
	return SSL_pending(tls->ssl) > 0;
}

const char *
sb_tls_version(const struct sb_tls *tls)
{
	return SSL_get_version(tls->ssl);
}
