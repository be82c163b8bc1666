/*
 * OpenSSL contexts and TLS sessions on non-blocking sockets.
 *
 * A context holds the settings shared by many connections: the server's
 * certificate and key, or the client's trusted CAs. Both refuse anything
 * older than TLS 1.2, renegotiation and compression. Contexts may be used
 * by many threads at once, and sessions keep a reference to theirs, so a
 * context may be freed while its sessions live on.
 *
 * A session (struct sb_tls) is the low layer under struct sb_conn (net.h):
 * each call does one non-blocking step and says whether the socket must
 * become readable or writable before the step is tried again. Protocol
 * code uses struct sb_conn, which waits and applies timeouts.
 *
 * SIGPIPE: sessions write to the socket with send(MSG_NOSIGNAL), so a peer
 * that has gone away gives an error, never a signal.
 *
 * A peer that closes the connection without a TLS close_notify gives
 * SB_TLS_IO_EOF, as a clean close does: IMAP and SMTP end their sessions
 * and data with their own commands, so truncation shows at that level
 * (see tls_ctx_base in tls.c).
 *
 * Strings returned through error_r by the context functions live in
 * thread-local storage until the next failing call of this module in the
 * same thread; those of a session live in the session.
 */
#ifndef SB_TLS_H
#define SB_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"

struct sb_tls_ctx;
struct sb_tls;

/* A server context from a PEM certificate (chain) file and key file. */
int sb_tls_server_ctx_new(const char *cert_path, const char *key_path,
                          struct sb_tls_ctx **ctx_r,
                          const char **error_r) SB_WUR;
/*
 * Loads another certificate and key into a server context, in place (a
 * renewed certificate): sessions made from then on present it, and those
 * made before keep the one they began with. Safe while other threads make
 * sessions from the context. On failure the context is left as it was.
 */
int sb_tls_server_ctx_reload(struct sb_tls_ctx *ctx, const char *cert_path,
                             const char *key_path, const char **error_r) SB_WUR;
/*
 * A client context that verifies servers against the PEM file ca_file, or
 * against the system's CAs when ca_file is NULL.
 */
int sb_tls_client_ctx_new(const char *ca_file, struct sb_tls_ctx **ctx_r,
                          const char **error_r) SB_WUR;
void sb_tls_ctx_free(struct sb_tls_ctx **ctx);
bool sb_tls_ctx_is_server(const struct sb_tls_ctx *ctx);

/* What one step of a session needs next. */
enum sb_tls_io {
	SB_TLS_IO_OK,
	SB_TLS_IO_WANT_READ,  /* wait until the socket is readable */
	SB_TLS_IO_WANT_WRITE, /* wait until the socket is writable */
	SB_TLS_IO_EOF,        /* the peer closed the connection */
	SB_TLS_IO_ERROR,      /* see error_r; the session is unusable */
};

/*
 * A session on the connected non-blocking socket fd (not taken over: the
 * caller still closes it). For a client context, host is the name or IP
 * literal the certificate must match (IP literals are checked against the
 * IP addresses of subjectAltName); for a server context it must be NULL.
 */
int sb_tls_new(struct sb_tls_ctx *ctx, int fd, const char *host,
               struct sb_tls **tls_r, const char **error_r) SB_WUR;
/*
 * Frees the session. When notify is true, first tries once, without
 * waiting, to tell the peer with a close_notify alert.
 */
void sb_tls_free(struct sb_tls **tls, bool notify);

/* One step of the handshake; SB_TLS_IO_OK when it is complete. */
enum sb_tls_io sb_tls_handshake(struct sb_tls *tls,
                                const char **error_r) SB_WUR;
/* Reads 1..size bytes into buf (size > 0); *got_r says how many. */
enum sb_tls_io sb_tls_read(struct sb_tls *tls, void *buf, size_t size,
                           size_t *got_r, const char **error_r) SB_WUR;
/*
 * Writes 1..size bytes (size > 0); *done_r says how many. After a WANT
 * answer, the same call must be repeated with the same buf and size.
 */
enum sb_tls_io sb_tls_write(struct sb_tls *tls, const void *buf, size_t size,
                            size_t *done_r, const char **error_r) SB_WUR;
/* True when decrypted bytes wait inside OpenSSL (SSL_pending). */
bool sb_tls_has_pending(const struct sb_tls *tls);
/* The protocol in use, such as "TLSv1.3". */
const char *sb_tls_version(const struct sb_tls *tls);

#endif
