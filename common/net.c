#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "linereader.h"
#include "log.h"
#include "tls.h"

#define NET_LISTEN_BACKLOG 128
/* Bytes asked of the socket at once when filling the line reader. */
#define NET_READ_CHUNK 4096

struct sb_listener {
	int fd;
	unsigned port;
	char name[INET6_ADDRSTRLEN + 8];
};

/* A deadline that never passes. */
#define NET_NO_DEADLINE INT64_MAX

struct sb_conn {
	int fd;
	int timeout_ms;   /* idle: the longest wait without progress */
	int deadline_ms;  /* total of one read or write call; see net.h */
	int handshake_ms; /* total of a TLS handshake */
	int cancel_fd;    /* an sb_event that ends every wait, or -1 */
	bool broken;      /* a TLS handshake failed: nothing can be trusted */
	/* A write failed or timed out: its bytes may be half sent. */
	bool write_broken;
	struct sb_tls *tls;
	struct sb_linereader reader;
	char error[256];
};

static _Thread_local char net_error_buf[256];
static _Thread_local char net_errno_buf[128];

/*
 * strerror() for threaded code: the text goes to a thread-local buffer
 * (GNU strerror_r returns either it or a static string). Valid until the
 * next call in the same thread.
 */
static const char *
net_strerror(int err)
{
	return strerror_r(err, net_errno_buf, sizeof(net_errno_buf));
}

static const char *SB_PRINTF(1, 2) net_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(net_error_buf, sizeof(net_error_buf), fmt, ap);
	va_end(ap);
	return net_error_buf;
}

static int64_t
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * poll() that restarts after a signal with the time that is left. Returns
 * what poll() returns: the number of ready fds, 0 on timeout, -1 on error.
 */
static int SB_WUR
net_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? 0 : net_now_ms() + timeout_ms;
	int ret, left = timeout_ms;

	for (;;) {
		ret = poll(fds, n, left);
		if (ret >= 0 || errno != EINTR)
			return ret;
		if (timeout_ms >= 0) {
			int64_t now = net_now_ms();

			left = now >= deadline ? 0 : (int)(deadline - now);
		}
	}
}

/* Waits for one fd: 1 ready (or hung up), 0 timeout, -1 error. */
static int SB_WUR
net_wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = events};
	int ret = net_poll(&pfd, 1, timeout_ms);

	if (ret > 0 && (pfd.revents & POLLNVAL) != 0) {
		errno = EBADF;
		return -1;
	}
	return ret;
}

/* "1.2.3.4:5" or "[::1]:5" for the address in sa. */
static void
net_format_addr(const struct sockaddr_storage *sa, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, size, "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, size, "%s:%u", host, port);
	}
}

/* Creates, binds and listens on one resolved address. */
static int SB_WUR
net_listen_on(const struct addrinfo *ai, const char *what, int *fd_r,
              const char **error_r)
{
	int fd, one = 1;

	fd = socket(ai->ai_family,
	            ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	            ai->ai_protocol);
	if (fd < 0) {
		*error_r = net_error("cannot listen on %s: socket: %s", what,
		                     net_strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ai->ai_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) <
	             0)) {
		*error_r = net_error("cannot listen on %s: setsockopt: %s",
		                     what, net_strerror(errno));
		close(fd);
		return -1;
	}
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, NET_LISTEN_BACKLOG) < 0) {
		*error_r = net_error("cannot listen on %s: %s", what,
		                     net_strerror(errno));
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

int
sb_listener_new(const char *addr, unsigned port,
                struct sb_listener **listener_r, const char **error_r)
{
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct sb_listener *l;
	char portstr[16], what[INET6_ADDRSTRLEN + 16];
	int ret, fd;

	if (addr == NULL)
		addr = SB_NET_DEFAULT_ADDR;
	snprintf(what, sizeof(what),
	         strchr(addr, ':') != NULL ? "[%s]:%u" : "%s:%u", addr, port);
	if (port > 65535) {
		*error_r = net_error("cannot listen on %s: invalid port", what);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	ret = getaddrinfo(addr, portstr, &hints, &ai);
	if (ret != 0) {
		*error_r = net_error("cannot listen on %s: not an IP address "
		                     "(%s)",
		                     what, gai_strerror(ret));
		return -1;
	}
	ret = net_listen_on(ai, what, &fd, error_r);
	freeaddrinfo(ai);
	if (ret != 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		*error_r = net_error("cannot listen on %s: getsockname: %s",
		                     what, net_strerror(errno));
		close(fd);
		return -1;
	}
	l = sb_calloc(1, sizeof(*l));
	l->fd = fd;
	l->port = ntohs(ss.ss_family == AF_INET6
	                        ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                        : ((struct sockaddr_in *)&ss)->sin_port);
	net_format_addr(&ss, l->name, sizeof(l->name));
	*listener_r = l;
	return 0;
}

void
sb_listener_free(struct sb_listener **listener)
{
	if (*listener == NULL)
		return;
	close((*listener)->fd);
	free(*listener);
	*listener = NULL;
}

unsigned
sb_listener_port(const struct sb_listener *listener)
{
	return listener->port;
}

const char *
sb_listener_name(const struct sb_listener *listener)
{
	return listener->name;
}

int
sb_listener_fd(const struct sb_listener *listener)
{
	return listener->fd;
}

int
sb_listener_accept(struct sb_listener *listener, int timeout_ms, int *fd_r,
                   const char **error_r)
{
	int fd, ret, one = 1;

	for (;;) {
		fd = accept4(listener->fd, NULL, NULL,
		             SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			/*
			 * Replies go out as soon as they are written: with
			 * Nagle's algorithm, a reply written in two pieces
			 * waited for the client's delayed ACK (about 40 ms)
			 * when the client pipelined behind it. A failure only
			 * costs that delay.
			 */
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			                 sizeof(one));
			*fd_r = fd;
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		ret = net_wait_fd(listener->fd, POLLIN, timeout_ms);
		if (ret == 0)
			return 0;
		if (ret < 0)
			break;
	}
	*error_r = net_error("cannot accept on %s: %s", listener->name,
	                     net_strerror(errno));
	return -1;
}

/* Connects a non-blocking socket to one address within the timeout. */
static int SB_WUR
net_connect_one(const struct addrinfo *ai, int timeout_ms, int *fd_r)
{
	socklen_t len = sizeof(int);
	int fd, err = 0, ret;

	fd = socket(ai->ai_family,
	            ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
	            ai->ai_protocol);
	if (fd < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		*fd_r = fd;
		return 0;
	}
	if (errno != EINPROGRESS && errno != EINTR) {
		err = errno;
	} else {
		ret = net_wait_fd(fd, POLLOUT, timeout_ms);
		if (ret == 0)
			err = ETIMEDOUT;
		else if (ret < 0)
			err = errno;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
	}
	if (err == 0) {
		*fd_r = fd;
		return 0;
	}
	close(fd);
	errno = err;
	return -1;
}

int
sb_net_connect(const char *host, unsigned port, int timeout_ms, int *fd_r,
               const char **error_r)
{
	struct addrinfo hints = {0}, *ai = NULL, *p;
	char portstr[16];
	int ret, err = EADDRNOTAVAIL;

	if (port == 0 || port > 65535) {
		*error_r = net_error("cannot connect to %s:%u: invalid port",
		                     host, port);
		return -1;
	}
	snprintf(portstr, sizeof(portstr), "%u", port);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	ret = getaddrinfo(host, portstr, &hints, &ai);
	if (ret != 0) {
		*error_r = net_error("cannot connect to %s:%u: %s", host, port,
		                     gai_strerror(ret));
		return -1;
	}
	for (p = ai; p != NULL; p = p->ai_next) {
		if (net_connect_one(p, timeout_ms, fd_r) == 0) {
			freeaddrinfo(ai);
			return 0;
		}
		err = errno;
	}
	freeaddrinfo(ai);
	*error_r = net_error("cannot connect to %s:%u: %s", host, port,
	                     net_strerror(err));
	return -1;
}

int
sb_event_new(int *fd_r, const char **error_r)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) {
		*error_r = net_error("eventfd: %s", net_strerror(errno));
		return -1;
	}
	*fd_r = fd;
	return 0;
}

void
sb_event_signal(int fd)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is full: it is signalled anyway. */
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void
sb_event_drain(int fd)
{
	uint64_t value;

	while (read(fd, &value, sizeof(value)) < 0 && errno == EINTR)
		;
}

void
sb_event_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct sb_conn *
sb_conn_new(int fd, size_t max_line, int timeout_ms)
{
	struct sb_conn *c;
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		/* Only a bad fd fails here: a caller's bug. */
		sb_log_error("connection on fd %d: %s", fd,
		             net_strerror(errno));
		abort();
	}
	c = sb_calloc(1, sizeof(*c));
	c->fd = fd;
	c->timeout_ms = timeout_ms;
	c->deadline_ms = SB_CONN_DEADLINE_DEFAULT;
	c->handshake_ms = SB_CONN_HANDSHAKE_MS;
	c->cancel_fd = -1;
	sb_linereader_init(&c->reader, max_line);
	return c;
}

void
sb_conn_free(struct sb_conn **conn)
{
	struct sb_conn *c = *conn;

	if (c == NULL)
		return;
	/* After a failed write the TLS stream may end in half a record. */
	sb_tls_free(&c->tls, !c->broken && !c->write_broken);
	sb_linereader_free(&c->reader);
	close(c->fd);
	free(c);
	*conn = NULL;
}

void
sb_conn_set_timeout(struct sb_conn *conn, int timeout_ms)
{
	conn->timeout_ms = timeout_ms;
}

void
sb_conn_set_deadline(struct sb_conn *conn, int deadline_ms)
{
	conn->deadline_ms = deadline_ms;
}

void
sb_conn_set_handshake_timeout(struct sb_conn *conn, int timeout_ms)
{
	conn->handshake_ms = timeout_ms;
}

void
sb_conn_set_cancel(struct sb_conn *conn, int event_fd)
{
	conn->cancel_fd = event_fd;
}

int
sb_conn_fd(const struct sb_conn *conn)
{
	return conn->fd;
}

bool
sb_conn_is_tls(const struct sb_conn *conn)
{
	return conn->tls != NULL;
}

const char *
sb_conn_tls_version(const struct sb_conn *conn)
{
	return conn->tls != NULL ? sb_tls_version(conn->tls) : NULL;
}

/* Records why the connection failed; returns -1 for the caller to return. */
static int SB_WUR SB_PRINTF(3, 4)
        conn_fail(struct sb_conn *c, const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	*error_r = c->error;
	return -1;
}

/* The absolute deadline of an operation allowed total_ms (-1: none). */
static int64_t
net_deadline(int total_ms)
{
	return total_ms < 0 ? NET_NO_DEADLINE : net_now_ms() + total_ms;
}

static bool
net_deadline_passed(int64_t deadline)
{
	return deadline != NET_NO_DEADLINE && net_now_ms() >= deadline;
}

/* The deadline of a read or write call starting now; see net.h. */
static int64_t
conn_call_deadline(const struct sb_conn *c)
{
	int total = c->deadline_ms;

	if (total == SB_CONN_DEADLINE_DEFAULT) {
		if (c->timeout_ms < 0)
			return NET_NO_DEADLINE;
		total = c->timeout_ms > INT_MAX / SB_CONN_DEADLINE_FACTOR
		                ? INT_MAX
		                : c->timeout_ms * SB_CONN_DEADLINE_FACTOR;
	}
	return net_deadline(total);
}

/*
 * Waits for what a TLS step or a socket call asked for, within the idle
 * timeout and before deadline, and only while the cancel event has not
 * fired: 1 ready, 0 timeout or cancelled (*why_r says which ended the
 * wait), -1 error (errno).
 */
static int SB_WUR
conn_wait_io(struct sb_conn *c, enum sb_tls_io want, int64_t deadline,
             const char **why_r)
{
	struct pollfd pfd[2] = {
	        {.fd = c->fd,
	         .events = want == SB_TLS_IO_WANT_WRITE ? POLLOUT : POLLIN},
	        {.fd = c->cancel_fd, .events = POLLIN},
	};
	int wait = c->timeout_ms, ret;
	bool by_deadline = false;

	if (deadline != NET_NO_DEADLINE) {
		int64_t left = deadline - net_now_ms();

		if (left <= 0) {
			*why_r = "deadline passed";
			return 0;
		}
		if (wait < 0 || left < wait) {
			wait = left > INT_MAX ? INT_MAX : (int)left;
			by_deadline = true;
		}
	}
	ret = net_poll(pfd, c->cancel_fd >= 0 ? 2 : 1, wait);
	if (ret > 0 && ((pfd[0].revents | pfd[1].revents) & POLLNVAL) != 0) {
		errno = EBADF;
		return -1;
	}
	if (ret > 0 && (pfd[1].revents & POLLIN) != 0) {
		*why_r = "cancelled";
		return 0;
	}
	if (ret == 0)
		*why_r = by_deadline ? "deadline passed" : "idle timeout";
	return ret > 0 ? 1 : ret;
}

/* Runs the handshake on a fresh session until it is done or fails. */
static int SB_WUR
conn_handshake(struct sb_conn *c, int64_t deadline, const char **error_r)
{
	enum sb_tls_io io;
	const char *error, *why = NULL;
	int ret;

	for (;;) {
		io = sb_tls_handshake(c->tls, &error);
		if (io == SB_TLS_IO_OK)
			return 0;
		if (io == SB_TLS_IO_EOF)
			return conn_fail(c, error_r,
			                 "TLS handshake failed: "
			                 "connection closed");
		if (io == SB_TLS_IO_ERROR)
			return conn_fail(c, error_r, "%s", error);
		ret = conn_wait_io(c, io, deadline, &why);
		if (ret == 0)
			return conn_fail(c, error_r, "TLS handshake failed: %s",
			                 why);
		if (ret < 0)
			return conn_fail(c, error_r, "TLS handshake failed: %s",
			                 net_strerror(errno));
	}
}

/* Starts TLS in either role; see sb_conn_tls_accept. */
static int SB_WUR
conn_start_tls(struct sb_conn *c, struct sb_tls_ctx *ctx, const char *host,
               const char **error_r)
{
	int64_t deadline = net_deadline(c->handshake_ms);
	const char *error;
	size_t buffered = sb_linereader_buffered_len(&c->reader);

	if (c->broken || c->write_broken)
		return conn_fail(c, error_r, "connection unusable");
	if (c->tls != NULL)
		return conn_fail(c, error_r, "TLS is already active");
	if (buffered > 0 || sb_linereader_skipping(&c->reader))
		return conn_fail(c, error_r,
		                 "refusing TLS: %zu bytes of plain text "
		                 "received after the STARTTLS exchange",
		                 buffered);
	if (sb_tls_new(ctx, c->fd, host, &c->tls, &error) != 0)
		return conn_fail(c, error_r, "%s", error);
	if (conn_handshake(c, deadline, error_r) != 0) {
		sb_tls_free(&c->tls, false);
		c->broken = true;
		return -1;
	}
	return 0;
}

int
sb_conn_tls_accept(struct sb_conn *conn, struct sb_tls_ctx *ctx,
                   const char **error_r)
{
	if (!sb_tls_ctx_is_server(ctx))
		return conn_fail(conn, error_r, "not a TLS server context");
	return conn_start_tls(conn, ctx, NULL, error_r);
}

int
sb_conn_tls_connect(struct sb_conn *conn, struct sb_tls_ctx *ctx,
                    const char *host, const char **error_r)
{
	if (sb_tls_ctx_is_server(ctx) || host == NULL)
		return conn_fail(conn, error_r,
		                 "a TLS client needs a client context "
		                 "and a host name");
	return conn_start_tls(conn, ctx, host, error_r);
}

/* One non-blocking read from the plain socket, told as a TLS step is. */
static enum sb_tls_io SB_WUR
conn_recv_plain(int fd, void *buf, size_t size, size_t *got_r,
                const char **error_r)
{
	ssize_t n = recv(fd, buf, size, 0);

	if (n > 0) {
		*got_r = (size_t)n;
		return SB_TLS_IO_OK;
	}
	if (n == 0)
		return SB_TLS_IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return SB_TLS_IO_WANT_READ;
	*error_r = net_strerror(errno);
	return SB_TLS_IO_ERROR;
}

/*
 * Reads 1..size bytes from the socket (through TLS if active), waiting at
 * most the idle timeout between steps and not past deadline. 1 with
 * *got_r > 0; 0 with status EOF or TIMEOUT; -1 with status ERROR.
 */
static int SB_WUR
conn_recv(struct sb_conn *c, void *buf, size_t size, int64_t deadline,
          size_t *got_r, enum sb_conn_status *status_r, const char **error_r)
{
	enum sb_tls_io io;
	const char *error, *why = NULL;
	int ret;

	*status_r = SB_CONN_ERROR;
	if (c->broken)
		return conn_fail(c, error_r, "connection unusable");
	for (;;) {
		if (c->tls != NULL)
			io = sb_tls_read(c->tls, buf, size, got_r, &error);
		else
			io = conn_recv_plain(c->fd, buf, size, got_r, &error);
		switch (io) {
		case SB_TLS_IO_OK:
			*status_r = SB_CONN_OK;
			return 1;
		case SB_TLS_IO_EOF:
			*status_r = SB_CONN_EOF;
			*error_r = "connection closed by the peer";
			return 0;
		case SB_TLS_IO_ERROR:
			if (c->tls == NULL)
				return conn_fail(c, error_r, "read failed: %s",
				                 error);
			return conn_fail(c, error_r, "%s", error);
		case SB_TLS_IO_WANT_READ:
		case SB_TLS_IO_WANT_WRITE:
			break;
		}
		ret = conn_wait_io(c, io, deadline, &why);
		if (ret == 0) {
			*status_r = SB_CONN_TIMEOUT;
			*error_r = why;
			return 0;
		}
		if (ret < 0)
			return conn_fail(c, error_r, "poll failed: %s",
			                 net_strerror(errno));
	}
}

int
sb_conn_read_line(struct sb_conn *conn, struct sb_sv *line_r,
                  enum sb_conn_status *status_r, const char **error_r)
{
	int64_t deadline = conn_call_deadline(conn);
	char chunk[NET_READ_CHUNK];
	size_t size, got;
	bool fed = false;
	int ret;

	for (;;) {
		ret = sb_linereader_next(&conn->reader, line_r);
		if (ret > 0) {
			*status_r = SB_CONN_OK;
			return 1;
		}
		if (ret < 0) {
			*status_r = SB_CONN_LINE_TOO_LONG;
			*error_r = "line too long";
			return 0;
		}
		/*
		 * Bytes may keep coming without a line end (a trickle, or
		 * the rest of a too long line being skipped): the whole
		 * call has a deadline, not only each wait.
		 */
		if (fed && net_deadline_passed(deadline)) {
			*status_r = SB_CONN_TIMEOUT;
			*error_r = "deadline passed";
			return 0;
		}
		size = sb_linereader_space(&conn->reader);
		if (size > sizeof(chunk))
			size = sizeof(chunk);
		ret = conn_recv(conn, chunk, size, deadline, &got, status_r,
		                error_r);
		if (ret <= 0)
			return ret;
		if (sb_linereader_feed(&conn->reader, chunk, got) != got) {
			sb_log_error("line reader refused promised space");
			abort();
		}
		fed = true;
	}
}

int
sb_conn_read(struct sb_conn *conn, void *buf, size_t size, size_t *got_r,
             enum sb_conn_status *status_r, const char **error_r)
{
	struct sb_sv have = sb_linereader_buffered(&conn->reader);

	if (size == 0) {
		*status_r = SB_CONN_ERROR;
		return conn_fail(conn, error_r, "read of 0 bytes");
	}
	if (have.len > 0) {
		*got_r = have.len < size ? have.len : size;
		memcpy(buf, have.p, *got_r);
		sb_linereader_consume(&conn->reader, *got_r);
		*status_r = SB_CONN_OK;
		return 1;
	}
	return conn_recv(conn, buf, size, conn_call_deadline(conn), got_r,
	                 status_r, error_r);
}

/*
 * Writes some of data: 1..len bytes, or an error or a timeout. A TLS
 * write that was told to wait is repeated with the same data, as OpenSSL
 * requires.
 */
static int SB_WUR
conn_send_some(struct sb_conn *c, const char *data, size_t len,
               int64_t deadline, size_t *done_r, const char **error_r)
{
	enum sb_tls_io io;
	const char *error, *why = NULL;
	ssize_t n;
	int ret;

	for (;;) {
		if (c->tls != NULL) {
			io = sb_tls_write(c->tls, data, len, done_r, &error);
			if (io == SB_TLS_IO_ERROR)
				return conn_fail(c, error_r, "%s", error);
			if (io == SB_TLS_IO_EOF)
				return conn_fail(c, error_r,
				                 "write failed: "
				                 "connection "
				                 "closed");
			if (io == SB_TLS_IO_OK)
				return 0;
		} else {
			n = send(c->fd, data, len, MSG_NOSIGNAL);
			if (n >= 0) {
				*done_r = (size_t)n;
				return 0;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				return conn_fail(c, error_r, "write failed: %s",
				                 net_strerror(errno));
			io = SB_TLS_IO_WANT_WRITE;
		}
		ret = conn_wait_io(c, io, deadline, &why);
		if (ret == 0)
			return conn_fail(c, error_r, "write failed: %s", why);
		if (ret < 0)
			return conn_fail(c, error_r, "poll failed: %s",
			                 net_strerror(errno));
	}
}

int
sb_conn_write(struct sb_conn *conn, const void *data, size_t len,
              const char **error_r)
{
	int64_t deadline = conn_call_deadline(conn);
	const char *p = data;
	size_t done;

	if (conn->broken)
		return conn_fail(conn, error_r, "connection unusable");
	if (conn->write_broken)
		return conn_fail(conn, error_r,
		                 "write refused: an earlier write failed");
	while (len > 0) {
		if (conn_send_some(conn, p, len, deadline, &done, error_r) !=
		    0) {
			/*
			 * Part of the data may be on the wire, or held by
			 * OpenSSL waiting for this very buffer: nothing
			 * written after it could be trusted.
			 */
			conn->write_broken = true;
			return -1;
		}
		p += done;
		len -= done;
	}
	return 0;
}

int
sb_conn_printf(struct sb_conn *conn, const char **error_r, const char *fmt, ...)
{
	struct sb_buf b;
	va_list ap;
	int ret;

	sb_buf_init(&b, SB_CONN_PRINTF_MAX);
	va_start(ap, fmt);
	ret = sb_buf_add_vprintf(&b, fmt, ap);
	va_end(ap);
	if (ret != 0)
		return conn_fail(conn, error_r,
		                 "output line longer than %d bytes",
		                 SB_CONN_PRINTF_MAX);
	ret = sb_conn_write(conn, b.data, b.len, error_r);
	sb_buf_free(&b);
	return ret;
}

int
sb_conn_wait(struct sb_conn *conn, int event_fd, int timeout_ms,
             const char **error_r)
{
	struct pollfd pfd[2] = {
	        {.fd = conn->fd, .events = POLLIN},
	        {.fd = event_fd, .events = POLLIN},
	};
	int ready = 0, ret;

	if (conn->broken)
		return conn_fail(conn, error_r, "connection unusable");
	if (sb_linereader_buffered_len(&conn->reader) > 0 ||
	    (conn->tls != NULL && sb_tls_has_pending(conn->tls))) {
		/* Input is there already; only look at the event. */
		ready = SB_CONN_WAIT_INPUT;
		timeout_ms = 0;
	}
	ret = net_poll(pfd, event_fd >= 0 ? 2 : 1, timeout_ms);
	if (ret < 0)
		return conn_fail(conn, error_r, "poll failed: %s",
		                 net_strerror(errno));
	if (((pfd[0].revents | pfd[1].revents) & POLLNVAL) != 0)
		return conn_fail(conn, error_r, "poll on a closed fd");
	if ((pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0)
		ready |= SB_CONN_WAIT_INPUT;
	if (event_fd >= 0 && (pfd[1].revents & POLLIN) != 0)
		ready |= SB_CONN_WAIT_EVENT;
	return ready;
}
