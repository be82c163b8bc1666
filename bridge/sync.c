/*
 * The sync engine's life: its connection, its eventfds and its three
 * threads (sync, events, bodies). What each applies is in sync-apply.c,
 * sync-resync.c and sync-bodies.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/events.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/net.h"
#include "sync-private.h"

/* Reconnecting the event stream: from 1 s, doubling, up to this. */
#define SYNC_EVENTS_RETRY_MAX_MS 30000
/* After a failed change feed pass: from 1 s, doubling, up to this. */
#define SYNC_RETRY_MAX_MS 60000

static _Thread_local char sync_error[512];

const char *
sync_errorf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sync_error, sizeof(sync_error), fmt, ap);
	va_end(ap);
	return sync_error;
}

const char *
sync_api_error(const char *what, const struct api_reply *r)
{
	const char *type = api_error_name(r->error);

	return sync_errorf("%s: %s (%u): %s", what,
	                   type != NULL ? type : "error", r->status,
	                   r->message);
}

/* Waits up to ms for fd (or the stop fd) to be readable; true if stopping. */
static bool
sync_wait(const struct bridge_sync *s, int fd, int ms)
{
	struct pollfd p[2] = {{.fd = s->stop_fd, .events = POLLIN},
	                      {.fd = fd, .events = POLLIN}};

	while (poll(p, fd >= 0 ? 2 : 1, ms) < 0 && errno == EINTR)
		;
	return (p[0].revents & POLLIN) != 0;
}

bool
sync_stopping(const struct bridge_sync *s)
{
	return sync_wait(s, -1, 0);
}

int
bridge_sync_new(const struct bridge_sync_config *cfg,
                struct bridge_sync **sync_r, const char **error_r)
{
	struct store_account a;
	struct bridge_sync *s;
	char *state;
	int ret;

	if (cfg->api == NULL || cfg->api_id == NULL ||
	    cfg->replica_path == NULL) {
		*error_r = sync_errorf("a sync needs a replica, an account"
		                       " and a client");
		return -1;
	}
	s = sb_calloc(1, sizeof(*s));
	s->cfg = *cfg;
	s->replica_path = sb_strdup(cfg->replica_path);
	s->api_id = sb_strdup(cfg->api_id);
	s->cfg.replica_path = s->replica_path;
	s->cfg.api_id = s->api_id;
	if (s->cfg.poll_s == 0)
		s->cfg.poll_s = BRIDGE_SYNC_POLL_S;
	s->stop_fd = s->wake_fd = s->bodies_fd = s->ops_fd = -1;
	if (sb_event_new(&s->stop_fd, error_r) < 0 ||
	    sb_event_new(&s->wake_fd, error_r) < 0 ||
	    sb_event_new(&s->bodies_fd, error_r) < 0 ||
	    store_open(s->replica_path, cfg->hub, &s->st, error_r) < 0) {
		bridge_sync_free(&s);
		return -1;
	}
	/* Checks that the two ids name the same account. */
	if (sync_feed_state(s, &state, error_r) < 0) {
		bridge_sync_free(&s);
		return -1;
	}
	free(state);
	/* The replayer's wake-up; without a hub it only polls. */
	if (cfg->hub != NULL) {
		if (store_subscribe_ops(cfg->hub, cfg->account_id, &s->ops_sub,
		                        error_r) < 0) {
			bridge_sync_free(&s);
			return -1;
		}
		s->ops_fd = store_sub_fd(s->ops_sub);
	}
	/* Its address names it in progress lines, as serve's log does. */
	ret = store_account_find_api_id(s->st, s->api_id, &a, error_r);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = sync_errorf("the account is not in the"
			                       " replica");
		bridge_sync_free(&s);
		return -1;
	}
	s->label = a.email != NULL ? sb_strdup(a.email)
	                           : sb_strdup(sync_errorf("account %" PRId64,
	                                                   cfg->account_id));
	store_account_free_contents(&a);
	*sync_r = s;
	return 0;
}

void
bridge_sync_free(struct bridge_sync **sync)
{
	struct bridge_sync *s = *sync;

	if (s == NULL)
		return;
	bridge_sync_stop(s);
	/* The steps' listing, when they were left half-way. */
	sb_progress_end(&s->listing, "stopped");
	store_close(&s->st);
	if (s->ops_sub != NULL)
		store_unsubscribe(s->cfg.hub, &s->ops_sub);
	sb_event_close(&s->stop_fd);
	sb_event_close(&s->wake_fd);
	sb_event_close(&s->bodies_fd);
	free(s->replica_path);
	free(s->api_id);
	free(s->label);
	free(s);
	*sync = NULL;
}

int
bridge_sync_bodies(struct bridge_sync *s, struct api_client *c, size_t max,
                   size_t *done_r, const char **error_r)
{
	return sync_bodies_run(s, s->st, c, max, done_r, error_r);
}

/* ---- The event thread: wakes the sync thread on each state event ---- */

static int
sync_on_event(void *ctx, const char *name, const char *data, size_t len)
{
	struct bridge_sync *s = ctx;

	(void)data;
	(void)len;
	if (strcmp(name, "state") == 0)
		sb_event_signal(s->wake_fd);
	return 0;
}

static void *
sync_events_main(void *arg)
{
	struct bridge_sync *s = arg;
	struct api_reply r;
	int delay = 1000, ret;

	for (;;) {
		api_reply_init(&r);
		ret = api_events_run(s->cfg.events, sync_on_event, s,
		                     s->stop_fd, &r);
		if (ret < 0)
			sb_log(SB_LOG_WARN,
			       "sync: account %" PRId64 ": event stream: %s",
			       s->cfg.account_id,
			       sync_api_error("connecting", &r));
		api_reply_clear(&r);
		if (ret == 1 || sync_stopping(s))
			break;
		/* A stream that broke after it was open: again at once. */
		if (ret == 0)
			delay = 1000;
		if (sync_wait(s, -1, delay))
			break;
		delay = delay * 2 > SYNC_EVENTS_RETRY_MAX_MS
		                ? SYNC_EVENTS_RETRY_MAX_MS
		                : delay * 2;
	}
	return NULL;
}

/* ---- The body thread ---- */

static void *
sync_bodies_main(void *arg)
{
	struct bridge_sync *s = arg;
	struct store *st = NULL;
	const char *error;
	size_t done;
	int ret;

	if (store_open(s->replica_path, s->cfg.hub, &st, &error) < 0) {
		sb_log(SB_LOG_ERROR, "sync: bodies: %s", error);
		return NULL;
	}
	for (;;) {
		sb_event_drain(s->bodies_fd);
		ret = sync_bodies_run(s, st, s->cfg.bodies, 0, &done, &error);
		/* A run cut short by the stop is no failure. */
		if (ret < 0 && !sync_stopping(s))
			sb_log(SB_LOG_WARN,
			       "sync: account %" PRId64 ": bodies: %s",
			       s->cfg.account_id, error);
		if (sync_stopping(s) ||
		    sync_wait(s, s->bodies_fd, (int)s->cfg.poll_s * 1000))
			break;
	}
	store_close(&st);
	return NULL;
}

/* ---- The sync thread ---- */

/* One replay pass, its failure logged (the next pass tries again). */
static void
sync_replay_log(struct bridge_sync *s)
{
	const char *error;
	size_t replayed;

	if (sync_replay(s, (int64_t)time(NULL), &replayed, &error) < 0)
		sb_log(SB_LOG_WARN, "sync: account %" PRId64 ": replay: %s",
		       s->cfg.account_id, error);
}

static int64_t
sync_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits up to ms, replaying the op queue when a local change is queued
 * (the ops fd: a commit of this process) and every BRIDGE_SYNC_REPLAY_MS
 * (retries that came due, changes queued by another process). With
 * feed true it returns early when the event stream says the feed's state
 * changed. True if stopping.
 */
static bool
sync_idle(struct bridge_sync *s, int ms, bool feed)
{
	struct pollfd p[3] = {{.fd = s->stop_fd, .events = POLLIN},
	                      {.fd = s->ops_fd, .events = POLLIN},
	                      {.fd = feed ? s->wake_fd : -1, .events = POLLIN}};
	int64_t deadline = sync_now_ms() + ms, left;
	int slice, n;

	for (;;) {
		left = deadline - sync_now_ms();
		if (left <= 0)
			return false;
		slice = left < BRIDGE_SYNC_REPLAY_MS ? (int)left
		                                     : BRIDGE_SYNC_REPLAY_MS;
		n = poll(p, 3, slice);
		if (n < 0 && errno == EINTR)
			continue;
		if (p[0].revents & POLLIN)
			return true;
		if (p[2].revents & POLLIN)
			return false;
		if (p[1].revents & POLLIN)
			sb_event_drain(s->ops_fd);
		if (n == 0 || (p[1].revents & POLLIN))
			sync_replay_log(s);
	}
}

static void *
sync_main(void *arg)
{
	struct bridge_sync *s = arg;
	const char *error;
	size_t created;
	int delay = 1000;

	while (bridge_sync_initial(s, &error) < 0) {
		if (sync_stopping(s))
			return NULL;
		sb_log(SB_LOG_WARN, "sync: account %" PRId64 ": %s",
		       s->cfg.account_id, error);
		if (sync_wait(s, -1, delay))
			return NULL;
		delay = delay * 2 > SYNC_RETRY_MAX_MS ? SYNC_RETRY_MAX_MS
		                                      : delay * 2;
	}
	sb_event_signal(s->bodies_fd);
	delay = 1000;
	for (;;) {
		int wait_ms = (int)s->cfg.poll_s * 1000;

		/* A signal after the drain is kept for the next wait. */
		sb_event_drain(s->wake_fd);
		/*
		 * Local changes first: the feed read after them brings them
		 * back instead of undoing them in the replica for a while.
		 */
		sync_replay_log(s);
		if (bridge_sync_changes(s, &created, &error) < 0) {
			if (sync_stopping(s))
				break;
			sb_log(SB_LOG_WARN, "sync: account %" PRId64 ": %s",
			       s->cfg.account_id, error);
			wait_ms = delay;
			delay = delay * 2 > SYNC_RETRY_MAX_MS
			                ? SYNC_RETRY_MAX_MS
			                : delay * 2;
			/*
			 * Events would only wake it into the same failure;
			 * local changes are still replayed meanwhile.
			 */
			if (sync_idle(s, wait_ms, false))
				break;
			continue;
		}
		delay = 1000;
		if (created > 0)
			sb_event_signal(s->bodies_fd);
		sync_replay_log(s);
		if (sync_idle(s, wait_ms, true))
			break;
	}
	return NULL;
}

int
bridge_sync_start(struct bridge_sync *s, const char **error_r)
{
	int err;

	if (s->running) {
		*error_r = sync_errorf("the sync runs already");
		return -1;
	}
	sb_event_drain(s->stop_fd);
	err = pthread_create(&s->sync_thread, NULL, sync_main, s);
	if (err != 0) {
		*error_r = sync_errorf("starting the sync: %s", strerror(err));
		return -1;
	}
	s->running = true;
	s->events_started = s->bodies_started = false;
	if (s->cfg.events != NULL) {
		err = pthread_create(&s->events_thread, NULL, sync_events_main,
		                     s);
		s->events_started = err == 0;
	}
	if (err == 0 && s->cfg.bodies != NULL) {
		err = pthread_create(&s->bodies_thread, NULL, sync_bodies_main,
		                     s);
		s->bodies_started = err == 0;
	}
	if (err != 0) {
		bridge_sync_stop(s);
		*error_r = sync_errorf("starting the sync: %s", strerror(err));
		return -1;
	}
	sb_log(SB_LOG_INFO, "sync: account %" PRId64 ": started",
	       s->cfg.account_id);
	return 0;
}

void
bridge_sync_stop(struct bridge_sync *s)
{
	if (!s->running)
		return;
	sb_event_signal(s->stop_fd);
	pthread_join(s->sync_thread, NULL);
	if (s->events_started)
		pthread_join(s->events_thread, NULL);
	if (s->bodies_started)
		pthread_join(s->bodies_thread, NULL);
	/* A listing the sync thread left half-way; it resumes on start. */
	sb_progress_end(&s->listing, "stopped");
	s->running = false;
	s->events_started = s->bodies_started = false;
	sb_log(SB_LOG_INFO, "sync: account %" PRId64 ": stopped",
	       s->cfg.account_id);
}

/* A counter of sync_state, 0 when unset. */
static int SB_WUR
sync_state_u64(struct store *st, int64_t account_id, const char *name,
               uint64_t *value_r, const char **error_r)
{
	char *v;
	int ret;

	*value_r = 0;
	ret = store_sync_get(st, account_id, name, &v, error_r);
	if (ret <= 0)
		return ret;
	*value_r = strtoull(v, NULL, 10);
	free(v);
	return 0;
}

int
bridge_sync_state_read(struct store *st, int64_t account_id,
                       struct bridge_sync_state *state_r, const char **error_r)
{
	uint64_t checked = 0;
	char *v;
	int ret;

	memset(state_r, 0, sizeof(*state_r));
	ret = store_sync_get(st, account_id, SYNC_PHASE, &v, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		state_r->started = true;
		state_r->steady = strcmp(v, "steady") == 0;
		free(v);
	}
	ret = store_sync_get(st, account_id, SYNC_RESYNC_STATE, &v, error_r);
	if (ret < 0)
		return -1;
	if (ret > 0) {
		state_r->resyncing = true;
		free(v);
	}
	if (state_r->resyncing)
		ret = sync_state_u64(st, account_id, SYNC_RESYNC_ENTRIES,
		                     &state_r->listed, error_r) ||
		      sync_state_u64(st, account_id, SYNC_RESYNC_TOTAL,
		                     &state_r->total, error_r);
	else if (state_r->started && !state_r->steady)
		ret = sync_state_u64(st, account_id, SYNC_INITIAL_ENTRIES,
		                     &state_r->listed, error_r) ||
		      sync_state_u64(st, account_id, SYNC_INITIAL_TOTAL,
		                     &state_r->total, error_r);
	if (ret != 0 || sync_state_u64(st, account_id, SYNC_CHECKED_AT,
	                               &checked, error_r) != 0)
		return -1;
	state_r->checked_at = (int64_t)checked;
	return 0;
}
