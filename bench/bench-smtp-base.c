/*
 * The baselines of bench-smtp (bench-smtp.h):
 *   - an SMTP sink: the project's own SMTP server (smtp/) in this
 *     process, on serve's certificate, with a backend that keeps nothing
 *     and answers 250 at once; what is left of serve's accept time
 *     without the outbox;
 *   - the API fed by this process: each message sealed beforehand as the
 *     bridge's sender seals it (send.c: a copy for the recipients and one
 *     for Sent, both signed, a key packet each), then its two copies
 *     uploaded and the submission posted, on one kept-alive connection;
 *     what is left of the sender's work without the outbox, reading the
 *     message back and sealing it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/calls.h"
#include "bench-smtp.h"
#include "crypto/seal.h"
#include "smtp/smtp.h"

/* ---- The sink: smtp/ in this process, keeping nothing ---- */

struct sink {
	struct smtp_server *srv;
	size_t messages; /* one connection at a time: no lock */
	uint64_t bytes;
};

static int
sink_login(void *ctx, const char *user, const char *password,
           int64_t *account_r, const char **error_r)
{
	(void)ctx;
	(void)password;
	(void)error_r;
	*account_r = 1;
	return strcmp(user, BENCH_ALICE) == 0;
}

static int
sink_sender_ok(void *ctx, int64_t account, const char *address,
               const char **error_r)
{
	(void)ctx;
	(void)account;
	(void)error_r;
	return strcmp(address, BENCH_ALICE) == 0;
}

static int
sink_begin(void *ctx, struct store *st, int64_t account, const char *sender,
           const char *const *recipients, size_t n_recipients, void **data_r,
           const char **error_r)
{
	(void)st;
	(void)account;
	(void)sender;
	(void)recipients;
	(void)n_recipients;
	(void)error_r;
	*data_r = ctx;
	return 0;
}

static int
sink_write(void *data, const void *p, size_t len, const char **error_r)
{
	struct sink *k = data;

	(void)p;
	(void)error_r;
	k->bytes += len;
	return 0;
}

static int
sink_finish(void *data, char queue_id[SMTP_QUEUE_ID_MAX], const char **error_r)
{
	struct sink *k = data;

	(void)error_r;
	snprintf(queue_id, SMTP_QUEUE_ID_MAX, "sink%zu", ++k->messages);
	return 0;
}

static void
sink_abort(void *data)
{
	(void)data;
}

double
bench_sink_flood(const struct bench_smtp *s, struct sb_tls_ctx *client_tls,
                 double *pipelined_r)
{
	double *t250 = calloc(s->n, sizeof(double));
	struct sink k = {0};
	struct smtp_config cfg;
	struct sb_tls_ctx *tls;
	struct sb_conn *c;
	const char *error;
	char replica[PATH_MAX + 64];
	double t0;

	if (t250 == NULL)
		abort();
	bench_tmp_path(replica, sizeof(replica), "sink.db");
	if (sb_tls_server_ctx_new(s->b.cert, s->b.key, &tls, &error) != 0)
		bench_fail("the sink's certificate: %s", error);
	memset(&cfg, 0, sizeof(cfg));
	cfg.tls_port = SMTP_PORT_OFF;
	cfg.tls = tls;
	cfg.replica_path = replica;
	cfg.backend = (struct smtp_backend){
	        .ctx = &k,
	        .login = sink_login,
	        .sender_ok = sink_sender_ok,
	        .data_begin = sink_begin,
	        .data_write = sink_write,
	        .data_finish = sink_finish,
	        .data_abort = sink_abort,
	};
	if (smtp_server_new(&cfg, &k.srv, &error) != 0 ||
	    smtp_server_start(k.srv, &error) != 0)
		bench_fail("the sink: %s", error);
	c = bench_smtp_open(smtp_server_port(k.srv, false), client_tls,
	                    BENCH_ALICE, "anything");
	t0 = bench_smtp_send(c, s->mail, s->n, t250, false, NULL, NULL);
	t0 = (double)s->n / (t250[s->n - 1] - t0);
	if (pipelined_r != NULL) {
		*pipelined_r = bench_smtp_send(c, s->mail, s->n, t250, true,
		                               NULL, NULL);
		*pipelined_r = (double)s->n / (t250[s->n - 1] - *pipelined_r);
	}
	free(t250);
	bench_smtp_close(&c);
	smtp_server_free(&k.srv);
	sb_tls_ctx_free(&tls);
	if (k.messages != (pipelined_r != NULL ? 2 : 1) * s->n)
		bench_fail("the sink took %zu of %zu messages", k.messages,
		           s->n);
	return t0;
}

/* ---- The API baseline: sealed beforehand, submitted back to back ---- */

struct sealed {
	uint64_t off[2], size[2]; /* bob's copy, Sent's: in the memfd */
	struct sb_buf summary[2];
	unsigned char packet[2][API_KEY_PACKET_BYTES];
};

struct bench_api_base {
	struct api_client *c;
	size_t n;
	int fd; /* every copy, one after another */
	uint64_t pos;
	struct sealed *sealed;
};

static int
api_base_sink(void *ctx, const void *data, size_t len)
{
	struct bench_api_base *ab = ctx;

	if (write(ab->fd, data, len) != (ssize_t)len)
		return -1;
	ab->pos += len;
	return 0;
}

/* Seals message i twice as the sender does: signed, a key packet each. */
static void
api_seal(const struct bench_smtp *s, struct bench_api_base *ab, size_t i)
{
	const struct bridge_mail_keys *k = &s->alice_keys;
	struct sb_signer signer = {
	        .sign_sk = k->sign_sk,
	        .addresses = (const char *const *)k->addresses,
	        .n_addresses = k->n_addresses,
	};
	struct sealed *m = &ab->sealed[i];
	struct sb_sealer *sealer;
	struct sb_sealed out;
	const char *error = "cannot seal";
	int c;

	for (c = 0; c < 2; c++) {
		m->off[c] = ab->pos;
		sb_buf_init(&m->summary[c], SIZE_MAX);
		if (sb_sealer_new(api_base_sink, ab, &sealer) != 0 ||
		    sb_sealer_write(sealer, s->mail[i].data,
		                    s->mail[i].len - 3) != 0 ||
		    sb_sealer_finish(&sealer, &signer, &out, &error) != 0 ||
		    sb_key_packet_seal(out.key,
		                       c == 0 ? s->bob_keys.enc_pk : k->enc_pk,
		                       m->packet[c], &error) != 0 ||
		    sb_buf_add(&m->summary[c], out.summary.data,
		               out.summary.len) != 0)
			bench_fail("message %zu: %s", i, error);
		m->size[c] = ab->pos - m->off[c];
		sb_sealed_clear(&out);
	}
}

/* Logs alice in with her password, as a client of the API. */
static struct api_client *
api_login_alice(const struct bench_smtp *s)
{
	struct api_client *c = bench_api_client_new(&s->d);
	struct sb_password_keys *pw;
	struct api_session session;
	struct api_reply r;
	struct api_kdf kdf;

	api_reply_init(&r);
	if (api_prelogin(c, BENCH_ALICE, &kdf, &r) != 0)
		bench_fail("prelogin: %u %s", r.status, r.message);
	api_reply_clear(&r);
	pw = bench_password_keys(&kdf, BENCH_PASSWORD);
	if (api_login(c, BENCH_ALICE, pw->auth_key, &session, &r) != 0)
		bench_fail("login: %u %s", r.status, r.message);
	api_reply_clear(&r);
	api_session_free(&session);
	sb_secure_free(&pw);
	return c;
}

/* Every copy goes into one memfd; sealing is timed and printed. */
struct bench_api_base *
bench_api_base_new(const struct bench_smtp *s)
{
	struct bench_api_base *ab = calloc(1, sizeof(*ab));
	double t;
	size_t i;

	if (ab == NULL)
		abort();
	ab->n = s->n;
	ab->c = api_login_alice(s);
	ab->fd = memfd_create("bench-smtp", MFD_CLOEXEC);
	ab->sealed = calloc(s->n, sizeof(*ab->sealed));
	if (ab->fd < 0 || ab->sealed == NULL)
		bench_fail("memfd: %s", strerror(errno));
	t = bench_now();
	for (i = 0; i < s->n; i++)
		api_seal(s, ab, i);
	fprintf(stderr,
	        "bench-smtp: sealing a message (two signed copies, two "
	        "key packets): %.2f ms\n",
	        (bench_now() - t) * 1e3 / (double)s->n);
	return ab;
}

void
bench_api_base_free(struct bench_api_base **abp)
{
	struct bench_api_base *ab = *abp;
	size_t i;

	for (i = 0; i < ab->n; i++) {
		sb_buf_free(&ab->sealed[i].summary[0]);
		sb_buf_free(&ab->sealed[i].summary[1]);
	}
	free(ab->sealed);
	close(ab->fd);
	api_client_free(&ab->c);
	free(ab);
	*abp = NULL;
}

void
bench_api_submit(struct bench_api_base *ab, size_t i)
{
	const struct sealed *m = &ab->sealed[i];
	struct api_submission_result res;
	struct api_recipient to;
	struct api_submission sub;
	char ids[2][API_ID_MAX + 1];
	struct api_reply r;
	int c;

	api_reply_init(&r);
	for (c = 0; c < 2; c++) {
		if (lseek(ab->fd, (off_t)m->off[c], SEEK_SET) < 0 ||
		    api_blob_upload(ab->c, ab->fd, m->size[c], false, ids[c],
		                    &r) != 0)
			bench_fail("blob upload: %u %s", r.status, r.message);
		api_reply_clear(&r);
	}
	api_submission_init(&sub);
	to.email = BENCH_BOB;
	memcpy(to.key_packet, m->packet[0], sizeof(to.key_packet));
	sub.from = BENCH_ALICE;
	sub.blob_id = ids[0];
	sub.recipients = &to;
	sub.n_recipients = 1;
	sub.has_sent_copy = true;
	sub.sent_blob_id = ids[1];
	memcpy(sub.sent_key_packet, m->packet[1], sizeof(sub.sent_key_packet));
	api_strings_add(&sub.sent_keywords, "$seen");
	if (sb_buf_add(&sub.summary, m->summary[0].data, m->summary[0].len) !=
	            0 ||
	    sb_buf_add(&sub.sent_summary, m->summary[1].data,
	               m->summary[1].len) != 0)
		bench_fail("a summary too large");
	if (api_submission_post(ab->c, &sub, &res, &r) != 0)
		bench_fail("submission: %u %s", r.status, r.message);
	if (res.delivered.count != 1)
		bench_fail("the service did not deliver to bob");
	api_submission_result_free(&res);
	api_reply_clear(&r);
	/* Ours, not the submission's to free. */
	sub.from = sub.blob_id = sub.sent_blob_id = NULL;
	sub.recipients = NULL;
	sub.n_recipients = 0;
	api_submission_free(&sub);
}
