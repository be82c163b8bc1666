/* The client's end of a whole-session fuzz target (fuzz-session.h). */
#include "fuzz-session.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_HANG_MS 60000

static void
fuzz_session_die(const char *what, const char *error)
{
	fprintf(stderr, "fuzz-session: %s: %s\n", what,
	        error != NULL ? error : "");
	abort();
}

/* The size of the next write: whole, or 1 to cut + 1 bytes. */
static size_t
fuzz_session_piece(uint8_t cut, uint32_t *rnd, size_t left)
{
	size_t n;

	if (cut == 0xff)
		return left;
	*rnd ^= *rnd << 13;
	*rnd ^= *rnd >> 17;
	*rnd ^= *rnd << 5;
	n = 1 + *rnd % ((size_t)cut + 1);
	return n < left ? n : left;
}

/* Reads what the server sent: false once it closed its end. */
static bool
fuzz_session_read(int fd, bool echo)
{
	static char sink[65536];
	ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

	/* EOF, or a reset when it closed with input unread. */
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	               errno != EINTR))
		return false;
	if (n > 0 && echo)
		fwrite(sink, 1, (size_t)n, stderr);
	return true;
}

/*
 * Writes the client's bytes to fd while reading what the server sends,
 * until the server closes its end.
 */
static void
fuzz_session_pump(int fd, const uint8_t *data, size_t size, uint8_t cut,
                  bool echo)
{
	uint32_t rnd = 2463534242u ^ cut;
	bool writing = true;
	struct pollfd p;
	size_t pos = 0;
	ssize_t n;

	if (size == 0) {
		shutdown(fd, SHUT_WR);
		writing = false;
	}
	for (;;) {
		p.fd = fd;
		p.events = POLLIN | (writing ? POLLOUT : 0);
		p.revents = 0;
		n = poll(&p, 1, FUZZ_HANG_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fuzz_session_die("the session did not end",
			                 n == 0 ? "timeout" : strerror(errno));
		if ((p.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !fuzz_session_read(fd, echo))
			return;
		if (!writing || !(p.revents & POLLOUT))
			continue;
		n = send(fd, data + pos,
		         fuzz_session_piece(cut, &rnd, size - pos),
		         MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR) {
			/* The session ended first (LOGOUT, QUIT, BYE). */
			writing = false;
			continue;
		}
		if (n > 0)
			pos += (size_t)n;
		if (pos == size) {
			shutdown(fd, SHUT_WR);
			writing = false;
		} else if (cut != 0xff) {
			/* The session may read this piece alone. */
			sched_yield();
		}
	}
}

struct fuzz_session_run {
	fuzz_session_fn *run;
	void *ctx;
	int fd;
};

static void *
fuzz_session_main(void *p)
{
	struct fuzz_session_run *r = p;

	r->run(r->ctx, r->fd);
	return NULL;
}

void
fuzz_session_drive(fuzz_session_fn *run, void *ctx, const uint8_t *data,
                   size_t size, uint8_t cut, bool echo)
{
	struct fuzz_session_run r;
	pthread_t t;
	int fds[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
		fuzz_session_die("socketpair", strerror(errno));
	r.run = run;
	r.ctx = ctx;
	r.fd = fds[0];
	err = pthread_create(&t, NULL, fuzz_session_main, &r);
	if (err != 0)
		fuzz_session_die("cannot start the session", strerror(err));
	fuzz_session_pump(fds[1], data, size, cut, echo);
	pthread_join(t, NULL);
	close(fds[1]);
}

void
fuzz_session_files_make(struct fuzz_session_files *f, const char *prefix)
{
	const char *base = getenv("TMPDIR");
	struct stat sb;

	if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		base = "/dev/shm";
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/%s-XXXXXX", base, prefix);
	if (mkdtemp(f->dir) == NULL)
		fuzz_session_die("cannot make a folder", strerror(errno));
	snprintf(f->replica, sizeof(f->replica), "%s/replica.db", f->dir);
	snprintf(f->wal, sizeof(f->wal), "%s-wal", f->replica);
	snprintf(f->shm, sizeof(f->shm), "%s-shm", f->replica);
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
}

void
fuzz_session_files_remove(const struct fuzz_session_files *f)
{
	unlink(f->replica);
	unlink(f->wal);
	unlink(f->shm);
	unlink(f->cert);
	unlink(f->key);
	rmdir(f->dir);
}
