/*
 * A fake SMTP backend in memory, for test-session.c and fuzz-session.c:
 * one account with two addresses and a bridge password, a message kept
 * in a buffer as it comes, and recipients whose names make a call fail,
 * so every error path of a session can be reached from its input.
 *
 * Counters and the last message are read by the test's thread while a
 * session's thread calls the backend: they sit under tb->lock.
 */
#ifndef SB_SMTP_TEST_BACKEND_H
#define SB_SMTP_TEST_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "smtp/smtp.h"

#define TB_USER     "alice@example.org"
#define TB_ALIAS    "alice.alias@example.net"
#define TB_PASSWORD "bridge-secret"
#define TB_ACCOUNT  7
/* A login the backend cannot check (-1). */
#define TB_USER_DOWN "down@example.org"
/* A sender the backend cannot check (-1). */
#define TB_SENDER_DOWN "unchecked@example.org"
/* Recipients that make data_begin, data_write or data_finish fail. */
#define TB_FAIL_BEGIN  "fail-begin@example.com"
#define TB_FAIL_WRITE  "fail-write@example.com"
#define TB_FAIL_FINISH "fail-finish@example.com"
/*
 * A recipient whose data_finish waits for tb_release_finish, when
 * allow_block is set (never in the fuzz target, which would hang).
 */
#define TB_BLOCK_FINISH "block-finish@example.com"
/* The most of a message the fake keeps; past it data_write fails. */
#define TB_MESSAGE_MAX (4u * 1024 * 1024)

struct test_backend {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned logins, begins, writes, finishes, finish_failures, aborts;
	/* The message being written, then the last one finished. */
	struct sb_buf message;
	char sender[300];
	unsigned n_recipients;
	char recipients[1024]; /* space-separated */
	unsigned next_id;
	/* TB_BLOCK_FINISH: the session waits in data_finish. */
	bool allow_block;
	bool finish_waiting, finish_released;
};

void tb_init(struct test_backend *tb);
void tb_free(struct test_backend *tb);
/* The callbacks, with tb as their context. */
void tb_backend(struct test_backend *tb, struct smtp_backend *b);
/* TB_BLOCK_FINISH: waits until a session is in data_finish. */
void tb_wait_finish(struct test_backend *tb);
/* Lets it go on. */
void tb_release_finish(struct test_backend *tb);

#endif
