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

#include "api/calls.h"
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

struct child_end {
	pid_t pid;
	int *status_r;
};

static bool
child_ended(void *ctx)
{
	struct child_end *e = ctx;
	pid_t got = waitpid(e->pid, e->status_r, WNOHANG);

	if (got == e->pid) {
		track(e->pid, false);
		return true;
	}
	TEST_EQ_INT(got, 0);
	return false;
}

bool
child_wait(pid_t pid, unsigned timeout_s, int *status_r)
{
	struct child_end e = {pid, status_r};

	return wait_until(child_ended, &e, timeout_s, 50);
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

/* A client of https://127.0.0.1:port trusting ca, with o's settings. */
static struct api_client *
client_new_for(unsigned port, const char *ca, struct api_client_options *o)
{
	struct api_client *c;
	const char *error;
	char url[64];

	snprintf(url, sizeof(url), "https://127.0.0.1:%u", port);
	o->base_url = url;
	o->ca_file = ca;
	o->max_attempts = 3;
	TEST_EQ_INT(api_client_new(o, &c, &error), 0);
	return c;
}

struct api_client *
client_for(unsigned port, const char *ca)
{
	struct api_client_options o;

	api_client_options_default(&o);
	o.backoff_base_ms = 10;
	o.backoff_max_ms = 50;
	o.stall_timeout_s = 2;
	o.max_json = 4096;
	return client_new_for(port, ca, &o);
}

struct api_client *
client_for_pages(unsigned port, const char *ca)
{
	struct api_client_options o;

	api_client_options_default(&o);
	o.backoff_base_ms = 50;
	o.backoff_max_ms = 500;
	o.stall_timeout_s = 10;
	return client_new_for(port, ca, &o);
}

void
check_call(int rc, const struct api_reply *r, const char *what)
{
	if (rc != 0)
		test_fail(__FILE__, __LINE__, "%s failed: %u %s", what,
		          r->status, r->message);
}

void
signup_post(struct api_client *c, const char *email, const char *password,
            unsigned char auth_key_r[API_KEY_BYTES],
            char account_id_r[API_ACCOUNT_ID_LEN + 1])
{
	struct json_object *body;
	struct api_signup s;
	struct api_reply r;

	signup_make(email, password, &s, NULL, auth_key_r);
	if (account_id_r != NULL)
		memcpy(account_id_r, s.account_id, API_ACCOUNT_ID_LEN + 1);
	api_reply_init(&r);
	body = api_signup_to_json(&s);
	check_call(api_call(c, "POST", "/api/v1/signup", body, &r), &r,
	           "signup");
	json_object_put(body);
	api_reply_clear(&r);
	api_signup_free(&s);
}

void
client_login(struct api_client *c, const char *email,
             const unsigned char auth_key[API_KEY_BYTES])
{
	struct api_session session;
	struct api_reply r;

	api_reply_init(&r);
	check_call(api_login(c, email, auth_key, &session, &r), &r, "login");
	api_session_free(&session);
	api_reply_clear(&r);
}

/* ---- Calls of another client of the account ---- */

void
blob_upload(struct api_client *c, const void *data, size_t len,
            char id_r[API_ID_MAX + 1])
{
	char path[600];
	struct api_reply r;
	int fd;

	snprintf(path, sizeof(path), "%s/upload", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd >= 0);
	TEST_EQ_INT(write(fd, data, len), (long long)len);
	TEST_EQ_INT(lseek(fd, 0, SEEK_SET), 0);
	api_reply_init(&r);
	check_call(api_blob_upload(c, fd, len, false, id_r, &r), &r, "upload");
	close(fd);
	api_reply_clear(&r);
}

void
message_import(struct api_client *c, const void *body, size_t len,
               const char *const *mailbox_ids, const char *const *keywords,
               uint64_t when, char id_r[API_ID_MAX + 1])
{
	unsigned char summary[64] = "SBMS\x01";
	char blob[API_ID_MAX + 1];
	struct api_import im;
	struct api_message m;
	struct api_reply r;

	blob_upload(c, body, len, blob);
	api_import_init(&im);
	im.blob_id = sb_strdup(blob);
	TEST_EQ_INT(sb_buf_add(&im.summary, summary, sizeof(summary)), 0);
	memcpy(im.key_packet, "SBKP\x01", 5);
	while (*mailbox_ids != NULL)
		api_strings_add(&im.mailbox_ids, *mailbox_ids++);
	while (keywords != NULL && *keywords != NULL)
		api_strings_add(&im.keywords, *keywords++);
	im.received_at = when;
	api_reply_init(&r);
	check_call(api_import_post(c, &im, &m, &r), &r, "import");
	snprintf(id_r, API_ID_MAX + 1, "%s", m.id);
	api_message_free(&m);
	api_import_free(&im);
	api_reply_clear(&r);
}

/* Adds the space-separated words of list (may be NULL) to l. */
static void
words_add(struct api_strings *l, const char *list)
{
	const char *p = list;
	size_t len;
	char *w;

	while (p != NULL && *p != '\0') {
		len = strcspn(p, " ");
		if (len > 0) {
			w = sb_strndup(p, len);
			api_strings_add(l, w);
			free(w);
		}
		p += len + strspn(p + len, " ");
	}
}

void
message_keywords_update(struct api_client *c, const char *id, const char *add,
                        const char *remove)
{
	struct api_set_result res;
	struct api_update u;
	struct api_reply r;

	memset(&u, 0, sizeof(u));
	u.patches = sb_calloc(1, sizeof(*u.patches));
	u.count = 1;
	u.patches[0].id = sb_strdup(id);
	words_add(&u.patches[0].add_keywords, add);
	words_add(&u.patches[0].remove_keywords, remove);
	api_reply_init(&r);
	check_call(api_update_post(c, &u, &res, &r), &r, "update");
	TEST_EQ_UINT(res.done.count, 1);
	TEST_EQ_UINT(res.n_failed, 0);
	api_set_result_free(&res);
	api_update_free(&u);
	api_reply_clear(&r);
}

size_t
message_destroy(struct api_client *c, const char *id)
{
	struct api_strings ids = {0};
	struct api_set_result res;
	struct api_reply r;
	size_t done;

	api_reply_init(&r);
	api_strings_add(&ids, id);
	check_call(api_destroy_post(c, &ids, &res, &r), &r, "destroy");
	done = res.done.count;
	api_set_result_free(&res);
	api_strings_free(&ids);
	api_reply_clear(&r);
	return done;
}

void
mailbox_role_id(struct api_client *c, const char *role,
                char id_r[API_ID_MAX + 1])
{
	struct api_mailbox_list l;
	struct api_reply r;
	size_t i;

	id_r[0] = '\0';
	api_reply_init(&r);
	check_call(api_mailboxes_get(c, &l, &r), &r, "mailboxes");
	for (i = 0; i < l.count; i++) {
		if (l.items[i].role != NULL &&
		    strcmp(l.items[i].role, role) == 0)
			snprintf(id_r, API_ID_MAX + 1, "%s", l.items[i].id);
	}
	api_mailbox_list_free(&l);
	api_reply_clear(&r);
	TEST_ASSERT(id_r[0] != '\0');
}

char *
account_state(struct api_client *c)
{
	struct api_mailbox_list l;
	struct api_reply r;
	char *state;

	api_reply_init(&r);
	check_call(api_mailboxes_get(c, &l, &r), &r, "mailboxes");
	state = sb_strdup(l.state);
	api_mailbox_list_free(&l);
	api_reply_clear(&r);
	return state;
}

/* ---- Waiting ---- */

double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool
wait_until(bool (*cond)(void *ctx), void *ctx, unsigned timeout_s,
           unsigned pause_ms)
{
	struct timespec pause = {pause_ms / 1000,
	                         (long)(pause_ms % 1000) * 1000 * 1000};
	double end = now_s() + timeout_s;

	for (;;) {
		if (cond(ctx))
			return true;
		if (now_s() >= end)
			return false;
		nanosleep(&pause, NULL);
	}
}
