/*
 * TCP listeners and connections, plain or TLS, with limits and timeouts.
 *
 * A connection (struct sb_conn) owns a non-blocking socket, a line reader
 * with a maximum line length, and two time limits. It starts in plain text
 * and can switch to TLS in place: right away for implicit TLS, or after a
 * STARTTLS exchange.
 *
 * Time limits. The idle timeout bounds every single wait for the peer. As
 * a peer that sends or takes one byte now and then would reset it forever,
 * every call also has a total deadline, counted from its start:
 *  - sb_conn_read_line, sb_conn_read, sb_conn_write and sb_conn_printf:
 *    the call deadline, by default SB_CONN_DEADLINE_FACTOR times the idle
 *    timeout (so never shorter than it; none when the idle timeout is -1),
 *    or what sb_conn_set_deadline set. A line that is not complete by
 *    then, or the rest of a too long line that has not ended by then, gives
 *    SB_CONN_TIMEOUT; a write that has not finished by then fails.
 *  - sb_conn_tls_accept and sb_conn_tls_connect: the whole handshake,
 *    SB_CONN_HANDSHAKE_MS unless sb_conn_set_handshake_timeout set another.
 * A deadline is per call: a protocol that sends a large body in several
 * writes gives each of them the full deadline.
 *
 * Cancelling. A server that stops cannot wait hours for a peer that takes
 * nothing: with sb_conn_set_cancel, once its event fires, every wait for
 * the peer ends at once as if a time limit had passed ("cancelled").
 * Work that needs no wait still gets done: a goodbye that fits in the
 * socket's buffer is still written.
 *
 * Reading a line returns 1, 0 or -1, with a status that says which
 * outcome it was:
 *   1  SB_CONN_OK             a line, without its CRLF or LF
 *   0  SB_CONN_EOF            the peer closed the connection
 *   0  SB_CONN_TIMEOUT        nothing arrived within the idle timeout, or
 *                             the line was not complete by the deadline
 *   0  SB_CONN_LINE_TOO_LONG  the line passed the maximum; the connection
 *                             skips it and the next read returns the line
 *                             after it (or SB_CONN_TIMEOUT when the rest
 *                             of it keeps coming past the deadline)
 *  -1  SB_CONN_ERROR          an I/O or TLS error; the connection can only
 *                             be freed
 * After a read timeout the connection can still be used: to write a
 * goodbye, or to read again (the bytes of an unfinished line are kept).
 *
 * A write that failed or timed out may have left part of its data on the
 * wire, or, with TLS, inside OpenSSL waiting for that same buffer. The
 * connection is then broken for writing: every later write or printf
 * fails at once ("write refused: an earlier write failed"), and STARTTLS
 * is refused. Reading still works, for a caller that wants to see what
 * the peer sent before it frees the connection; sb_conn_free then sends
 * no TLS close_notify.
 *
 * SIGPIPE never comes from here: plain writes use send(MSG_NOSIGNAL), TLS
 * writes a socket BIO that does the same (tls.h).
 *
 * Strings returned through error_r live in the connection until its next
 * call; for the other functions they live in thread-local storage until
 * the next failing call of this module in the same thread.
 */
#ifndef SB_NET_H
#define SB_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"
#include "sv.h"

struct sb_tls_ctx;

/* The address listeners use when none is given. */
#define SB_NET_DEFAULT_ADDR "127.0.0.1"

/*
 * Listeners
 */
struct sb_listener;

/*
 * Listens on addr (an IPv4 or IPv6 literal, such as "127.0.0.1" or "::1";
 * NULL means SB_NET_DEFAULT_ADDR) and port (0 picks a free port: see
 * sb_listener_port). The socket has SO_REUSEADDR and close-on-exec.
 */
int sb_listener_new(const char *addr, unsigned port,
                    struct sb_listener **listener_r,
                    const char **error_r) SB_WUR;
void sb_listener_free(struct sb_listener **listener);
/* The port really bound, also when 0 was asked for. */
unsigned sb_listener_port(const struct sb_listener *listener);
/* "127.0.0.1:1143" or "[::1]:1143", for logs and messages. */
const char *sb_listener_name(const struct sb_listener *listener);
/* The listening socket, to wait on it with other fds in poll(). */
int sb_listener_fd(const struct sb_listener *listener);
/*
 * Accepts one connection, waiting at most timeout_ms (-1: no limit).
 * Returns 1 with *fd_r a non-blocking close-on-exec socket, 0 on timeout,
 * -1 on error. An error concerns that one attempt: the listener stays
 * usable.
 */
int sb_listener_accept(struct sb_listener *listener, int timeout_ms, int *fd_r,
                       const char **error_r) SB_WUR;

/*
 * Connects to host (a name or an IP literal) and port within timeout_ms
 * (-1: no limit). *fd_r is a non-blocking close-on-exec socket.
 */
int sb_net_connect(const char *host, unsigned port, int timeout_ms, int *fd_r,
                   const char **error_r) SB_WUR;

/*
 * Events: an eventfd another thread signals to wake up a waiting one (the
 * store wakes IMAP IDLE this way).
 */
/* A non-blocking close-on-exec eventfd. */
int sb_event_new(int *fd_r, const char **error_r) SB_WUR;
/* Wakes the waiter. Signals not yet drained add up into one wake-up. */
void sb_event_signal(int fd);
/* Clears all signals received so far. Never blocks. */
void sb_event_drain(int fd);
/* Closes the eventfd (when not -1) and sets *fd to -1. */
void sb_event_close(int *fd);

/*
 * Connections
 */
struct sb_conn;

enum sb_conn_status {
	SB_CONN_OK,
	SB_CONN_EOF,
	SB_CONN_TIMEOUT,
	SB_CONN_LINE_TOO_LONG,
	SB_CONN_ERROR,
};

/* Longest output of one sb_conn_printf call. */
#define SB_CONN_PRINTF_MAX 16384

/* The call deadline by default: this many times the idle timeout. */
#define SB_CONN_DEADLINE_FACTOR 4
/* For sb_conn_set_deadline: back to the default. */
#define SB_CONN_DEADLINE_DEFAULT 0
/* The longest a TLS handshake may take by default, in milliseconds. */
#define SB_CONN_HANDSHAKE_MS 30000

/* Bits of the result of sb_conn_wait. */
#define SB_CONN_WAIT_INPUT 0x1
#define SB_CONN_WAIT_EVENT 0x2

/*
 * A plain-text connection on the connected socket fd, which it takes over
 * and makes non-blocking. Lines may be up to max_line bytes (see
 * linereader.h); every wait for the peer ends after timeout_ms without
 * progress (-1: never), and every call has a deadline (see the top of
 * this file).
 */
struct sb_conn *sb_conn_new(int fd, size_t max_line, int timeout_ms);
/*
 * Sends a TLS close_notify when it can do so without waiting (and no
 * write failed), closes.
 */
void sb_conn_free(struct sb_conn **conn);
/* The idle timeout; a default call deadline follows it. */
void sb_conn_set_timeout(struct sb_conn *conn, int timeout_ms);
/*
 * The total time one read or write call may take, in milliseconds: -1 for
 * none, SB_CONN_DEADLINE_DEFAULT for SB_CONN_DEADLINE_FACTOR times the
 * idle timeout. A deadline shorter than the idle timeout wins over it.
 */
void sb_conn_set_deadline(struct sb_conn *conn, int deadline_ms);
/*
 * An sb_event (-1: none, the default) that cancels the connection's waits
 * once signalled: a write or printf that must wait then fails as on a
 * timeout ("write failed: cancelled", and the connection is broken for
 * writing), a read returns 0 with SB_CONN_TIMEOUT ("cancelled"), a TLS
 * handshake fails. The event is only looked at, never drained; the
 * caller keeps it open as long as the connection.
 */
void sb_conn_set_cancel(struct sb_conn *conn, int event_fd);
/* The total time a TLS handshake may take (-1: none). */
void sb_conn_set_handshake_timeout(struct sb_conn *conn, int timeout_ms);
int sb_conn_fd(const struct sb_conn *conn);
bool sb_conn_is_tls(const struct sb_conn *conn);
/* "TLSv1.3" and the like, or NULL on a plain connection. */
const char *sb_conn_tls_version(const struct sb_conn *conn);

/*
 * Switches to TLS as the server (ctx from sb_tls_server_ctx_new), for
 * implicit TLS right after accepting, or after answering STARTTLS.
 *
 * Refuses, with the connection still in plain text and nothing lost, when
 * bytes the peer sent after the STARTTLS line are already buffered: they
 * were sent before TLS and must not be taken as if they came through it
 * (the STARTTLS command injection attack). The caller then answers with
 * an error and may go on reading them as plain-text commands.
 *
 * When the handshake fails, also when it takes longer than the handshake
 * timeout, the connection is unusable: free it.
 */
int sb_conn_tls_accept(struct sb_conn *conn, struct sb_tls_ctx *ctx,
                       const char **error_r) SB_WUR;
/*
 * Switches to TLS as the client (ctx from sb_tls_client_ctx_new),
 * checking that the certificate is valid for host (a DNS name or an IP
 * literal). Refuses like sb_conn_tls_accept when the server sent bytes
 * after its answer to STARTTLS.
 */
int sb_conn_tls_connect(struct sb_conn *conn, struct sb_tls_ctx *ctx,
                        const char *host, const char **error_r) SB_WUR;

/*
 * Reads one line (see the top of this file). *line_r, NUL-terminated,
 * stays valid until the next call on the connection. At EOF the bytes of
 * an unfinished last line stay buffered and can be read with
 * sb_conn_read.
 */
int sb_conn_read_line(struct sb_conn *conn, struct sb_sv *line_r,
                      enum sb_conn_status *status_r,
                      const char **error_r) SB_WUR;
/*
 * Reads 1..size raw bytes: what is buffered after the last line first,
 * then from the socket. Returns 1 with *got_r > 0, or 0 (EOF, TIMEOUT) and
 * -1 (ERROR) as sb_conn_read_line. Call it after a whole line only, not
 * after SB_CONN_LINE_TOO_LONG.
 */
int sb_conn_read(struct sb_conn *conn, void *buf, size_t size, size_t *got_r,
                 enum sb_conn_status *status_r, const char **error_r) SB_WUR;

/*
 * Writes all of data. Fails when the peer has taken nothing for the idle
 * timeout, when the call deadline passes first, or on an I/O or TLS
 * error; the connection is then broken for writing (see the top of this
 * file).
 */
int sb_conn_write(struct sb_conn *conn, const void *data, size_t len,
                  const char **error_r) SB_WUR;
/*
 * Formats and writes. Output longer than SB_CONN_PRINTF_MAX fails before
 * anything is written (and does not break the connection).
 */
int sb_conn_printf(struct sb_conn *conn, const char **error_r, const char *fmt,
                   ...) SB_WUR SB_PRINTF(3, 4);

/*
 * Waits until the peer sent something or event_fd (an sb_event; -1 for
 * none) fired, for at most timeout_ms (-1: no limit; the connection's own
 * timeout does not apply). Bytes already buffered, by the line reader or
 * inside OpenSSL, count as input. Returns a mask of SB_CONN_WAIT_INPUT and
 * SB_CONN_WAIT_EVENT, 0 on timeout, -1 on error. The event is not drained.
 * EOF counts as input: the next read reports it.
 */
int sb_conn_wait(struct sb_conn *conn, int event_fd, int timeout_ms,
                 const char **error_r) SB_WUR;

#endif
