/*
 * The processes saltbridge demo starts (saltmaild, saltbridge serve,
 * saltmaild's init and deliver) and the signals it takes meanwhile; see
 * demo-private.h.
 */
#include "bridge/demo-private.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"

/* The largest read of a child's output at once. */
#define DEMO_READ_CHUNK 4096
/* The most of a command's output kept to explain its failure. */
#define DEMO_OUTPUT_TAIL 512
/* How often a stop looks whether the child ended. */
#define DEMO_STOP_PAUSE_MS 20

static void
demo_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

int
demo_signals_open(struct demo_signals *s, const char **error_r)
{
	sigset_t set;

	memset(s, 0, sizeof(*s));
	demo_signal_set(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		*error_r = bridge_errorf("cannot block signals: %s",
		                         strerror(errno));
		s->fd = -1;
		return -1;
	}
	s->fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (s->fd < 0) {
		*error_r = bridge_errorf("cannot take signals: %s",
		                         strerror(errno));
		return -1;
	}
	return 0;
}

void
demo_signals_close(struct demo_signals *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

bool
demo_signals_poll(struct demo_signals *s)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(s->fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			s->child = true;
		} else if (!s->stop) {
			s->stop = true;
			s->stopped = (int)si.ssi_signo;
		}
	}
	return s->stop;
}

void
demo_child_init(struct demo_child *c, const char *name)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->out = -1;
	sb_buf_init(&c->pending, 64 * 1024);
}

/*
 * In the child, between fork and exec: only async-signal-safe calls.
 * Never returns.
 */
static void
demo_child_exec(const char *const *argv, int in_fd, int out_fd, int err_fd,
                pid_t parent)
{
	sigset_t none;
	int null_fd;

	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	/* A Ctrl-C on the terminal is the demo's to pass on, in order. */
	(void)setpgid(0, 0);
	/* The demo gone (even killed), its children follow. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(127);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0 ||
	    dup2(in_fd >= 0 ? in_fd : null_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd >= 0 ? out_fd : null_fd, STDOUT_FILENO) < 0 ||
	    (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0))
		_exit(127);
	execv(argv[0], (char *const *)argv);
	_exit(127);
}

int
demo_child_start(struct demo_child *c, const char *const *argv, int in_fd,
                 int out_fd, int err_fd, const char **error_r)
{
	pid_t parent = getpid(), pid;
	int p[2] = {-1, -1};

	if (out_fd == DEMO_CAPTURE && pipe2(p, O_CLOEXEC) != 0) {
		*error_r = bridge_errorf("cannot make a pipe: %s",
		                         strerror(errno));
		return -1;
	}
	/* What stdio holds would be written twice, by the child too. */
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		demo_child_exec(argv, in_fd,
		                out_fd == DEMO_CAPTURE ? p[1] : out_fd, err_fd,
		                parent);
	if (p[1] >= 0)
		close(p[1]);
	if (pid < 0) {
		*error_r = bridge_errorf("cannot start %s: %s", argv[0],
		                         strerror(errno));
		if (p[0] >= 0)
			close(p[0]);
		return -1;
	}
	/* Also here, so that a signal sent at once finds the group. */
	(void)setpgid(pid, pid);
	c->pid = pid;
	c->out = p[0];
	c->status = 0;
	sb_buf_reset(&c->pending);
	return 0;
}

/* A whole line from what was read, if one is there. */
static bool
demo_child_take_line(struct demo_child *c, size_t max_line, struct sb_buf *line)
{
	const char *nl;
	size_t len;

	if (c->pending.len == 0)
		return false;
	nl = memchr(c->pending.data, '\n', c->pending.len);
	if (nl == NULL)
		return false;
	len = (size_t)(nl - c->pending.data);
	sb_buf_reset(line);
	if (len > 0 && nl[-1] == '\r')
		len--;
	if (sb_buf_add(line, c->pending.data,
	               len < max_line ? len : max_line) != 0)
		sb_buf_reset(line);
	sb_buf_consume(&c->pending, (size_t)(nl - c->pending.data) + 1);
	return true;
}

/* Milliseconds on the monotonic clock. */
static int64_t
demo_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum demo_wait
demo_child_line(struct demo_child *c, struct demo_signals *s, int timeout_ms,
                size_t max_line, struct sb_buf *line)
{
	int64_t end = demo_now_ms() + timeout_ms, left;
	char chunk[DEMO_READ_CHUNK];
	struct pollfd fds[2];
	ssize_t n;

	for (;;) {
		if (demo_child_take_line(c, max_line, line))
			return DEMO_WAIT_LINE;
		if (demo_signals_poll(s))
			return DEMO_WAIT_STOP;
		if (c->out < 0)
			return DEMO_WAIT_ENDED;
		left = end - demo_now_ms();
		if (left <= 0)
			return DEMO_WAIT_TIMEOUT;
		fds[0] = (struct pollfd){.fd = c->out, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = s->fd, .events = POLLIN};
		if (poll(fds, 2, (int)left) < 0 && errno != EINTR)
			return DEMO_WAIT_ERROR;
		if (fds[0].revents == 0)
			continue;
		n = read(c->out, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			close(c->out);
			c->out = -1;
			continue;
		}
		/* A child that writes more than a line's worth is cut off. */
		if (sb_buf_add(&c->pending, chunk, (size_t)n) != 0)
			sb_buf_reset(&c->pending);
	}
}

bool
demo_child_ended(struct demo_child *c)
{
	pid_t got;

	if (c->pid <= 0)
		return true;
	got = waitpid(c->pid, &c->status, WNOHANG);
	if (got == c->pid || (got < 0 && errno == ECHILD)) {
		c->pid = 0;
		return true;
	}
	return false;
}

bool
demo_child_stop(struct demo_child *c, unsigned grace_ms)
{
	struct timespec pause = {0, DEMO_STOP_PAUSE_MS * 1000 * 1000};
	int64_t end = demo_now_ms() + grace_ms;
	bool was_running = c->pid > 0;

	if (c->pid > 0 && !demo_child_ended(c)) {
		(void)kill(c->pid, SIGTERM);
		while (!demo_child_ended(c) && demo_now_ms() < end)
			nanosleep(&pause, NULL);
		if (c->pid > 0) {
			fprintf(stderr,
			        "saltbridge demo: %s did not stop within "
			        "%u s: killed\n",
			        c->name, grace_ms / 1000);
			(void)kill(c->pid, SIGKILL);
			(void)waitpid(c->pid, &c->status, 0);
			c->pid = 0;
		}
	}
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	return was_running && WIFEXITED(c->status) &&
	       WEXITSTATUS(c->status) == 0;
}

void
demo_child_free(struct demo_child *c)
{
	if (c->pid > 0)
		(void)demo_child_stop(c, 0);
	if (c->out >= 0)
		close(c->out);
	c->out = -1;
	sb_buf_free(&c->pending);
}

const char *
demo_status_text(int status)
{
	/* Its own buffer: callers put it into a bridge_errorf sentence. */
	static _Thread_local char text[80];

	if (WIFEXITED(status))
		snprintf(text, sizeof(text), "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(text, sizeof(text), "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(text, sizeof(text), "ended");
	return text;
}

/* The last line of what a command wrote (at most max bytes), into out. */
static void
demo_output_tail(int fd, struct sb_buf *out, size_t max)
{
	char buf[DEMO_OUTPUT_TAIL + 1];
	off_t size = lseek(fd, 0, SEEK_END), from;
	ssize_t n;
	char *p, *nl;

	if (size <= 0 || max > DEMO_OUTPUT_TAIL)
		return;
	from = size > (off_t)max ? size - (off_t)max : 0;
	n = pread(fd, buf, (size_t)(size - from), from);
	if (n <= 0)
		return;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	nl = strrchr(buf, '\n');
	p = nl != NULL ? nl + 1 : buf;
	(void)!sb_buf_add_str(out, p);
}

int
demo_run(const char *const *argv, const void *in, size_t len, int *status_r,
         struct sb_buf *output, const char **error_r)
{
	struct sigaction ign, old;
	struct demo_child c;
	const char *p = in;
	int fds[2] = {-1, -1}, out_fd;
	ssize_t n;
	int ret = -1;

	demo_child_init(&c, argv[0]);
	/* What it says goes to a file in memory, read if it fails. */
	out_fd = memfd_create("saltbridge-demo-run", MFD_CLOEXEC);
	if (out_fd < 0 || pipe2(fds, O_CLOEXEC) != 0) {
		*error_r = bridge_errorf("cannot make a pipe: %s",
		                         strerror(errno));
		goto out;
	}
	if (demo_child_start(&c, argv, fds[0], out_fd, out_fd, error_r) != 0)
		goto out;
	close(fds[0]);
	fds[0] = -1;
	/* A child that exits before it read all: EPIPE, not a signal. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	while (len > 0) {
		n = write(fds[1], p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		len -= (size_t)n;
	}
	sigaction(SIGPIPE, &old, NULL);
	close(fds[1]);
	fds[1] = -1;
	while (waitpid(c.pid, &c.status, 0) < 0) {
		if (errno != EINTR) {
			*error_r = bridge_errorf("cannot wait for %s: %s",
			                         argv[0], strerror(errno));
			c.pid = 0;
			goto out;
		}
	}
	c.pid = 0;
	*status_r = c.status;
	demo_output_tail(out_fd, output, DEMO_OUTPUT_TAIL);
	ret = 0;
out:
	if (out_fd >= 0)
		close(out_fd);
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	demo_child_free(&c);
	return ret;
}
