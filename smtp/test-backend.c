/* The fake SMTP backend of test-backend.h. */
#include "test-backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

/* One message being written. */
struct tb_data {
	struct test_backend *tb;
	bool fail_write, fail_finish, block_finish;
};

void
tb_init(struct test_backend *tb)
{
	memset(tb, 0, sizeof(*tb));
	pthread_mutex_init(&tb->lock, NULL);
	pthread_cond_init(&tb->cond, NULL);
	sb_buf_init(&tb->message, TB_MESSAGE_MAX);
}

void
tb_free(struct test_backend *tb)
{
	sb_buf_free(&tb->message);
	pthread_cond_destroy(&tb->cond);
	pthread_mutex_destroy(&tb->lock);
}

static int
tb_login(void *ctx, const char *user, const char *password, int64_t *account_r,
         const char **error_r)
{
	struct test_backend *tb = ctx;

	pthread_mutex_lock(&tb->lock);
	tb->logins++;
	pthread_mutex_unlock(&tb->lock);
	if (strcasecmp(user, TB_USER_DOWN) == 0) {
		*error_r = "the vault is locked";
		return -1;
	}
	if ((strcasecmp(user, TB_USER) != 0 &&
	     strcasecmp(user, TB_ALIAS) != 0) ||
	    strcmp(password, TB_PASSWORD) != 0)
		return 0;
	*account_r = TB_ACCOUNT;
	return 1;
}

static int
tb_sender_ok(void *ctx, int64_t account, const char *address,
             const char **error_r)
{
	(void)ctx;
	if (strcasecmp(address, TB_SENDER_DOWN) == 0) {
		*error_r = "the account's addresses are not known yet";
		return -1;
	}
	return account == TB_ACCOUNT && (strcasecmp(address, TB_USER) == 0 ||
	                                 strcasecmp(address, TB_ALIAS) == 0);
}

static int
tb_data_begin(void *ctx, struct store *st, int64_t account, const char *sender,
              const char *const *recipients, size_t n_recipients, void **data_r,
              const char **error_r)
{
	struct test_backend *tb = ctx;
	struct tb_data *d;
	size_t i, len = 0;

	(void)st;
	if (account != TB_ACCOUNT || n_recipients == 0)
		abort(); /* the session broke its contract */
	for (i = 0; i < n_recipients; i++) {
		if (strcasecmp(recipients[i], TB_FAIL_BEGIN) == 0) {
			*error_r = "the outbox cannot be written";
			return -1;
		}
	}
	d = sb_calloc(1, sizeof(*d));
	d->tb = tb;
	pthread_mutex_lock(&tb->lock);
	tb->begins++;
	sb_buf_reset(&tb->message);
	snprintf(tb->sender, sizeof(tb->sender), "%s", sender);
	tb->n_recipients = (unsigned)n_recipients;
	tb->recipients[0] = '\0';
	for (i = 0; i < n_recipients; i++) {
		snprintf(tb->recipients + len, sizeof(tb->recipients) - len,
		         "%s%s", i > 0 ? " " : "", recipients[i]);
		len = strlen(tb->recipients);
		d->fail_write |= strcasecmp(recipients[i], TB_FAIL_WRITE) == 0;
		d->fail_finish |=
		        strcasecmp(recipients[i], TB_FAIL_FINISH) == 0;
		d->block_finish |=
		        strcasecmp(recipients[i], TB_BLOCK_FINISH) == 0;
	}
	pthread_mutex_unlock(&tb->lock);
	*data_r = d;
	return 0;
}

static int
tb_data_write(void *data, const void *p, size_t len, const char **error_r)
{
	struct tb_data *d = data;
	struct test_backend *tb = d->tb;
	int ret = 0;

	if (len == 0)
		abort(); /* nothing to write is not written */
	pthread_mutex_lock(&tb->lock);
	tb->writes++;
	if (d->fail_write) {
		*error_r = "the outbox's disk is full";
		ret = -1;
	} else if (sb_buf_add(&tb->message, p, len) < 0) {
		*error_r = "the fake backend keeps no larger message";
		ret = -1;
	}
	pthread_mutex_unlock(&tb->lock);
	return ret;
}

static int
tb_data_finish(void *data, char queue_id[SMTP_QUEUE_ID_MAX],
               const char **error_r)
{
	struct tb_data *d = data;
	struct test_backend *tb = d->tb;
	int ret = 0;

	pthread_mutex_lock(&tb->lock);
	if (d->block_finish && tb->allow_block) {
		tb->finish_waiting = true;
		pthread_cond_broadcast(&tb->cond);
		while (!tb->finish_released)
			pthread_cond_wait(&tb->cond, &tb->lock);
		tb->finish_waiting = false;
		tb->finish_released = false;
	}
	if (d->fail_finish) {
		*error_r = "the outbox cannot be synced to disk";
		tb->finish_failures++;
		ret = -1;
	} else {
		tb->finishes++;
		snprintf(queue_id, SMTP_QUEUE_ID_MAX, "Q%04u", ++tb->next_id);
	}
	pthread_mutex_unlock(&tb->lock);
	free(d);
	return ret;
}

static void
tb_data_abort(void *data)
{
	struct tb_data *d = data;
	struct test_backend *tb = d->tb;

	pthread_mutex_lock(&tb->lock);
	tb->aborts++;
	pthread_mutex_unlock(&tb->lock);
	free(d);
}

void
tb_backend(struct test_backend *tb, struct smtp_backend *b)
{
	memset(b, 0, sizeof(*b));
	b->ctx = tb;
	b->login = tb_login;
	b->sender_ok = tb_sender_ok;
	b->data_begin = tb_data_begin;
	b->data_write = tb_data_write;
	b->data_finish = tb_data_finish;
	b->data_abort = tb_data_abort;
}

void
tb_wait_finish(struct test_backend *tb)
{
	pthread_mutex_lock(&tb->lock);
	while (!tb->finish_waiting)
		pthread_cond_wait(&tb->cond, &tb->lock);
	pthread_mutex_unlock(&tb->lock);
}

void
tb_release_finish(struct test_backend *tb)
{
	pthread_mutex_lock(&tb->lock);
	tb->finish_released = true;
	pthread_cond_broadcast(&tb->cond);
	pthread_mutex_unlock(&tb->lock);
}
