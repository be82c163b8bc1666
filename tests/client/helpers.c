/* What the client tests share; see helpers.h. */
#include "helpers.h"

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/compiler.h"
#include "test.h"

extern char **environ;

/*
 * Servers still running: a test that fails half-way leaves its server
 * behind, and a server left running would keep the test's output open
 * (ctest waits for it). They are killed at exit.
 */
static pid_t running[16];

static void
kill_running(void)
{
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(running); i++) {
		if (running[i] > 0) {
			kill(running[i], SIGKILL);
			waitpid(running[i], NULL, 0);
			running[i] = 0;
		}
	}
}

static void
track(pid_t pid, bool add)
{
	static bool registered;
	size_t i;

	if (!registered) {
		atexit(kill_running);
		registered = true;
	}
	for (i = 0; i < SB_N_ELEMENTS(running); i++) {
		if (add ? running[i] == 0 : running[i] == pid) {
			running[i] = add ? pid : 0;
			return;
		}
	}
}

/*
 * Starts "saltmaild serve" on srv->data listening on addr, and reads
 * its ready line into srv->port: 0, or -1 when it ended without one (it
 * is then reaped).
 */
static int
server_spawn(struct server *srv, const char *addr, const char *ttl,
             const char *const *extra)
{
	char *argv[32] = {(char *)SALTMAILD_PATH,
	                  "serve",
	                  "--data",
	                  srv->data,
	                  "--listen",
	                  (char *)addr,
	                  "--open-signup",
	                  "--token-ttl",
	                  (char *)ttl,
	                  NULL};
	posix_spawn_file_actions_t fa;
	size_t n = 9;
	char line[256];
	bool ready;
	int p[2];
	FILE *f;

	while (extra != NULL && *extra != NULL && n < SB_N_ELEMENTS(argv) - 1)
		argv[n++] = (char *)*extra++;
	argv[n] = NULL;
	TEST_EQ_INT(pipe(p), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	TEST_EQ_INT(posix_spawn(&srv->pid, SALTMAILD_PATH, &fa, NULL, argv,
	                        environ),
	            0);
	posix_spawn_file_actions_destroy(&fa);
	track(srv->pid, true);
	close(p[1]);
	f = fdopen(p[0], "r");
	TEST_ASSERT(f != NULL);
	ready = fgets(line, sizeof(line), f) != NULL;
	fclose(f);
	if (!ready) {
		waitpid(srv->pid, NULL, 0);
		track(srv->pid, false);
		return -1;
	}
	TEST_EQ_INT(sscanf(line, "saltmaild: ready https://127.0.0.1:%u",
	                   &srv->port),
	            1);
	return 0;
}

void
server_start(struct server *srv, const char *name, const char *ttl,
             const char *const *extra)
{
	snprintf(srv->data, sizeof(srv->data), "%s/srv-%s", test_tmpdir(),
	         name);
	snprintf(srv->cert, sizeof(srv->cert), "%s/tls/cert.pem", srv->data);
	TEST_EQ_INT(server_spawn(srv, "127.0.0.1:0", ttl, extra), 0);
}

void
server_stop(struct server *srv)
{
	int status = -1;

	kill(srv->pid, SIGTERM);
	waitpid(srv->pid, &status, 0);
	track(srv->pid, false);
	TEST_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

void
server_restart(struct server *srv, const char *ttl, const char *const *extra,
               unsigned timeout_s)
{
	struct timespec pause = {0, 200 * 1000 * 1000}, start, now;
	unsigned port = srv->port;
	char addr[32];

	clock_gettime(CLOCK_MONOTONIC, &start);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	while (server_spawn(srv, addr, ttl, extra) != 0) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > (time_t)timeout_s)
			test_fail(__FILE__, __LINE__,
			          "saltmaild could not listen on port %u again "
			          "within %u s",
			          port, timeout_s);
		nanosleep(&pause, NULL);
	}
	TEST_EQ_UINT(srv->port, port);
}

pid_t
child_start(const char *const *argv, const char *in, const char *out,
            const char *err)
{
	posix_spawn_file_actions_t fa;
	size_t len = in != NULL ? strlen(in) : 0;
	pid_t pid;
	int p[2] = {-1, -1};

	posix_spawn_file_actions_init(&fa);
	if (in != NULL) {
		/* Written whole before the start: it must fit in the pipe. */
		TEST_ASSERT(len <= 4096);
		TEST_EQ_INT(pipe(p), 0);
		TEST_EQ_INT(write(p[1], in, len), (long long)len);
		close(p[1]);
		posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
		posix_spawn_file_actions_addclose(&fa, p[0]);
	} else {
		posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
		                                 O_RDONLY, 0);
	}
	if (out != NULL)
		posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out,
		                                 O_WRONLY | O_CREAT | O_APPEND,
		                                 0600);
	if (err != NULL)
		posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, err,
		                                 O_WRONLY | O_CREAT | O_APPEND,
		                                 0600);
	if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv,
	                environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (p[0] >= 0)
		close(p[0]);
	if (pid < 0)
		test_fail(__FILE__, __LINE__, "cannot start %s", argv[0]);
	track(pid, true);
	return pid;
}

bool
child_wait(pid_t pid, unsigned timeout_s, int *status_r)
{
	struct timespec pause = {0, 50 * 1000 * 1000}, now, end;
	pid_t got;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)timeout_s;
	for (;;) {
		got = waitpid(pid, status_r, WNOHANG);
		if (got == pid) {
			track(pid, false);
			return true;
		}
		TEST_EQ_INT(got, 0);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return false;
		nanosleep(&pause, NULL);
	}
}

int
child_stop(pid_t pid, unsigned timeout_s)
{
	int status;

	kill(pid, SIGTERM);
	if (child_wait(pid, timeout_s, &status))
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	track(pid, false);
	return -1;
}

void
signup_make(const char *email, const char *password, struct api_signup *s,
            struct sb_kdf_params *params_r,
            unsigned char auth_key_r[API_KEY_BYTES])
{
	struct sb_password_keys *pw;
	struct sb_account_keys *keys;
	struct sb_wrapped_account w;
	struct sb_kdf_params params;
	unsigned char raw[16];
	const char *error;
	size_t i;

	memset(s, 0, sizeof(*s));
	arc4random_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++)
		snprintf(s->account_id + 2 * i, 3, "%02x", raw[i]);
	sb_kdf_params_new(&params);
	TEST_EQ_INT(sb_password_derive(password, strlen(password), &params, &pw,
	                               &error),
	            0);
	TEST_EQ_INT(sb_account_keys_generate(&keys), 0);
	sb_account_keys_wrap(keys, pw->kek, s->account_id, &w);
	s->email = sb_strdup(email);
	memcpy(s->auth_key, pw->auth_key, API_KEY_BYTES);
	memcpy(auth_key_r, pw->auth_key, API_KEY_BYTES);
	s->kdf.opslimit = params.opslimit;
	s->kdf.memlimit = params.memlimit;
	memcpy(s->kdf.salt, params.salt, API_SALT_BYTES);
	memcpy(s->keys.enc_pk, w.enc_pk, API_KEY_BYTES);
	memcpy(s->keys.sign_pk, w.sign_pk, API_KEY_BYTES);
	memcpy(s->keys.wrapped_account_key, w.account_key,
	       API_WRAPPED_KEY_BYTES);
	memcpy(s->keys.wrapped_enc_sk, w.enc_sk, API_WRAPPED_KEY_BYTES);
	memcpy(s->keys.wrapped_sign_seed, w.sign_seed, API_WRAPPED_KEY_BYTES);
	if (params_r != NULL)
		*params_r = params;
	sb_secure_free(&pw);
	sb_secure_free(&keys);
}

struct api_client *
client_for(unsigned port, const char *ca)
{
	struct api_client_options o;
	struct api_client *c;
	const char *error;
	char url[64];

	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	api_client_options_default(&o);
	o.base_url = url;
	o.ca_file = ca;
	o.max_attempts = 3;
	o.backoff_base_ms = 10;
	o.backoff_max_ms = 50;
	o.stall_timeout_s = 2;
	o.max_json = 4096;
	TEST_EQ_INT(api_client_new(&o, &c, &error), 0);
	return c;
}
