/*
 * The sender of one account (send.h, docs/send.md): a thread that wakes
 * when SMTP queues a message (the outbox subscription) or every
 * BRIDGE_SEND_POLL_S, and submits each due message.
 *
 * One submission per message: its recipients looked up (cached for
 * BRIDGE_SEND_KEY_TTL_S), the message read back from the outbox and
 * written once through three copies at a time (send-build.c): sealed
 * for the recipients on the service (no Bcc), sealed for the sender's
 * Sent (Bcc kept), and in clear for those elsewhere (no Bcc), each into
 * memory (memfd: nothing in clear reaches the disk), uploaded, then
 * submitted with the Idempotency-Key "send-QUEUEID".
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "api/calls.h"
#include "bridge/bridge.h"
#include "bridge/send.h"
#include "common/alloc.h"
#include "common/log.h"
#include "common/net.h"
#include "crypto/seal.h"

#define BRIDGE_SEND_POLL_S    30
#define BRIDGE_SEND_KEY_TTL_S 300
#define BRIDGE_SEND_GIVE_UP_S (2 * 24 * 3600)
/* And tried at least this often: a machine asleep is not a failure. */
#define BRIDGE_SEND_GIVE_UP_TRIES 10
/* Within the 24 hours the service keeps an Idempotency-Key. */
#define BRIDGE_SEND_POST_WINDOW_S (23 * 3600)
#define BRIDGE_SEND_KEYS_CACHE    64

struct bridge_send_key {
	char *email;
	bool on_service;
	unsigned char enc_pk[SB_KEY_BYTES];
	time_t at;
};

struct bridge_sender {
	struct bridge_sender_config cfg;
	struct store *st;
	struct store_sub *sub;
	int stop_fd;
	pthread_t thread;
	bool running;
	struct bridge_send_key cache[BRIDGE_SEND_KEYS_CACHE];
};

int
bridge_sender_new(const struct bridge_sender_config *cfg,
                  struct bridge_sender **s_r, const char **error_r)
{
	struct bridge_sender *s = sb_calloc(1, sizeof(*s));

	s->cfg = *cfg;
	if (s->cfg.give_up_s == 0)
		s->cfg.give_up_s = BRIDGE_SEND_GIVE_UP_S;
	s->stop_fd = -1;
	if (store_open(cfg->replica_path, cfg->hub, &s->st, error_r) < 0 ||
	    (cfg->hub != NULL &&
	     store_subscribe_outbox(cfg->hub, cfg->account_id, &s->sub,
	                            error_r) < 0) ||
	    sb_event_new(&s->stop_fd, error_r) < 0) {
		bridge_sender_free(&s);
		return -1;
	}
	*s_r = s;
	return 0;
}

void
bridge_sender_free(struct bridge_sender **sp)
{
	struct bridge_sender *s = *sp;
	size_t i;

	if (s == NULL)
		return;
	bridge_sender_stop(s);
	if (s->sub != NULL)
		store_unsubscribe(s->cfg.hub, &s->sub);
	sb_event_close(&s->stop_fd);
	store_close(&s->st);
	for (i = 0; i < BRIDGE_SEND_KEYS_CACHE; i++)
		free(s->cache[i].email);
	free(s);
	*sp = NULL;
}

/* True once the stop eventfd was signalled (it is not drained). */
static bool
bridge_sender_stopping(const struct bridge_sender *s)
{
	struct pollfd p = {.fd = s->stop_fd, .events = POLLIN};

	return s->stop_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* ---- Recipients ---- */

/*
 * The recipient's key, from the cache or the service: 1 on the service
 * (enc_pk filled), 0 elsewhere, -1 when the service cannot tell now.
 */
static int
bridge_send_lookup(struct bridge_sender *s, const char *email,
                   unsigned char enc_pk[SB_KEY_BYTES], struct api_reply *r)
{
	struct bridge_send_key *slot = &s->cache[0];
	struct api_key_lookup k;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < BRIDGE_SEND_KEYS_CACHE; i++) {
		struct bridge_send_key *e = &s->cache[i];

		if (e->email != NULL && strcmp(e->email, email) == 0 &&
		    now - e->at < BRIDGE_SEND_KEY_TTL_S) {
			memcpy(enc_pk, e->enc_pk, SB_KEY_BYTES);
			return e->on_service ? 1 : 0;
		}
		if (e->email == NULL || e->at < slot->at)
			slot = e; /* an empty one, or the oldest */
	}
	if (api_key_lookup_get(s->cfg.api, email, &k, r) < 0)
		return -1;
	free(slot->email);
	slot->email = sb_strdup(email);
	slot->on_service = k.on_service;
	memcpy(slot->enc_pk, k.enc_pk, SB_KEY_BYTES);
	slot->at = now;
	api_key_lookup_free(&k);
	memcpy(enc_pk, slot->enc_pk, SB_KEY_BYTES);
	return slot->on_service ? 1 : 0;
}

/* The outbox's recipients (one per line) into a list. */
static void
bridge_send_split(const char *lines, struct api_strings *out)
{
	const char *p = lines != NULL ? lines : "";

	memset(out, 0, sizeof(*out));
	while (*p != '\0') {
		size_t len = strcspn(p, "\n");

		if (len > 0) {
			char *one = sb_strndup(p, len);

			api_strings_add(out, one);
			free(one);
		}
		p += len + (p[len] == '\n');
	}
}

/* ---- One message ---- */

/* A copy in memory (memfd), to upload. */
struct bridge_send_file {
	int fd;
	uint64_t size;
};

static int
bridge_send_file_sink(void *ctx, const void *data, size_t len)
{
	struct bridge_send_file *f = ctx;
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(f->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		f->size += (uint64_t)n;
	}
	return 0;
}

static int
bridge_send_sealer_in(void *ctx, const void *data, size_t len)
{
	return sb_sealer_write(ctx, data, len);
}

/* What one attempt makes: three copies and the sealed keys. */
struct bridge_send_job {
	struct bridge_send_file files[3]; /* recipients, Sent, in clear */
	struct sb_sealer *sealers[2];
	struct sb_sealed sealed[2];
	struct api_strings internal, external;
	unsigned char (*pks)[SB_KEY_BYTES];
	struct sb_buf header; /* kept for a bounce; secret */
	bool refused;         /* the message can never be sent */
};

enum { SEND_MINE, SEND_SENT, SEND_CLEAR };

static void
bridge_send_job_free(struct bridge_send_job *j)
{
	size_t i;

	for (i = 0; i < 3; i++) {
		if (j->files[i].fd >= 0)
			close(j->files[i].fd);
	}
	for (i = 0; i < 2; i++) {
		sb_sealer_free(&j->sealers[i]);
		sb_sealed_clear(&j->sealed[i]);
	}
	api_strings_free(&j->internal);
	api_strings_free(&j->external);
	free(j->pks);
	sb_buf_free(&j->header);
}

/* Looks up every recipient: 0, or -1 (r says why) to try again later. */
static int
bridge_send_recipients(struct bridge_sender *s, const struct store_outbox *o,
                       struct bridge_send_job *j, struct api_reply *r)
{
	struct api_strings all;
	unsigned char pk[SB_KEY_BYTES];
	size_t i;
	int ret = 0;

	bridge_send_split(o->recipients, &all);
	j->pks = sb_calloc(all.count + 1, sizeof(*j->pks));
	for (i = 0; i < all.count && ret >= 0; i++) {
		ret = bridge_send_lookup(s, all.items[i], pk, r);
		if (ret > 0) {
			memcpy(j->pks[j->internal.count], pk, SB_KEY_BYTES);
			api_strings_add(&j->internal, all.items[i]);
		} else if (ret == 0) {
			api_strings_add(&j->external, all.items[i]);
		}
	}
	api_strings_free(&all);
	return ret < 0 ? -1 : 0;
}

/*
 * Reads the message back and writes its copies: 0, or -1 with *why_r
 * (j->refused when the message itself can never be sent).
 */
static int
bridge_send_copies(struct bridge_sender *s, const struct store_outbox *o,
                   struct bridge_send_job *j, const char **why_r)
{
	struct bridge_send_out outs[3];
	struct bridge_send_build *b;
	struct sb_signer signer;
	size_t n = 2, i, len;
	const char *hdr;
	int ret;

	for (i = 0; i < 3; i++) {
		if (i == SEND_CLEAR && j->external.count == 0)
			break;
		j->files[i].fd = memfd_create("saltbridge-send", MFD_CLOEXEC);
		if (j->files[i].fd < 0) {
			*why_r = "cannot make room for the message in memory";
			return -1;
		}
	}
	for (i = 0; i < 2; i++) {
		if (sb_sealer_new(bridge_send_file_sink, &j->files[i],
		                  &j->sealers[i]) < 0) {
			*why_r = "cannot start the encryption";
			return -1;
		}
		outs[i].sink = bridge_send_sealer_in;
		outs[i].ctx = j->sealers[i];
		outs[i].keep_bcc = i == SEND_SENT;
	}
	if (j->external.count > 0) {
		outs[n].sink = bridge_send_file_sink;
		outs[n].ctx = &j->files[SEND_CLEAR];
		outs[n++].keep_bcc = false;
	}
	b = bridge_send_build_new(outs, n, o->sender);
	ret = bridge_outbox_read(s->cfg.keys, s->st, o, bridge_send_build_write,
	                         b, why_r);
	if (ret == 0)
		ret = bridge_send_build_finish(b, why_r);
	if (ret < 0 && bridge_send_build_error(b) != NULL) {
		*why_r = bridge_send_build_error(b);
		j->refused = true;
	}
	hdr = bridge_send_build_header(b, &len);
	if (sb_buf_add(&j->header, hdr, len) < 0)
		abort(); /* no maximum */
	bridge_send_build_free(&b);
	signer.sign_sk = s->cfg.keys->sign_sk;
	signer.addresses = (const char *const *)s->cfg.keys->addresses;
	signer.n_addresses = s->cfg.keys->n_addresses;
	for (i = 0; i < 2 && ret == 0; i++)
		ret = sb_sealer_finish(&j->sealers[i],
		                       signer.sign_sk != NULL ? &signer : NULL,
		                       &j->sealed[i], why_r);
	return ret;
}

/* Uploads a copy from the start of its memfd: 0, or -1 (r says why). */
static int
bridge_send_upload(struct bridge_sender *s, struct bridge_send_file *f,
                   bool transient, char id_r[API_ID_MAX + 1],
                   struct api_reply *r)
{
	if (lseek(f->fd, 0, SEEK_SET) != 0) {
		r->error = API_ERR_UNAVAILABLE;
		snprintf(r->message, sizeof(r->message),
		         "cannot read the message back");
		return -1;
	}
	return api_blob_upload(s->cfg.api, f->fd, f->size, transient, id_r, r);
}

/*
 * A submission begins: from here a client's APPEND of the message to
 * Sent waits for the service's copy, unless the client filed its own
 * first (sent-copy.c). 1 when the submission files the Sent copy, 0 when
 * not, -1 (r says why).
 */
static int
bridge_send_begin(struct bridge_sender *s, const struct store_outbox *o,
                  struct api_reply *r)
{
	int64_t now = (int64_t)time(NULL), posted = 0;
	const char *why;
	int ret;

	ret = store_outbox_begin_post(s->st, o->id, now, &posted, &why);
	if (ret < 0) {
		r->error = API_ERR_UNAVAILABLE;
		snprintf(r->message, sizeof(r->message), "%s", why);
		return -1;
	}
	/*
	 * The service keeps an Idempotency-Key for 24 hours: past that, a
	 * submission whose answer never came might be delivered again.
	 */
	if (now - posted >= BRIDGE_SEND_POST_WINDOW_S) {
		r->error = API_ERR_INVALID_REQUEST;
		snprintf(r->message, sizeof(r->message),
		         "the service did not answer for a day whether it "
		         "took this message: it may have been delivered");
		return -1;
	}
	return ret;
}

/*
 * The submission an earlier try prepared (its blobs are on the service
 * for a day): posted again as it was, so that the service answers it as
 * the same request. 0, 1 when there is none to reuse, -1 (r says why).
 */
static int
bridge_send_reuse(struct bridge_sender *s, const struct store_outbox *o,
                  struct api_submission *sub, struct api_reply *r)
{
	struct json_object *obj;
	const char *why;
	int ret;

	if (o->prepared == NULL ||
	    (int64_t)time(NULL) - o->prepared_at >= BRIDGE_SEND_POST_WINDOW_S)
		return 1;
	if (api_json_parse(o->prepared, strlen(o->prepared), &obj, &why) < 0 ||
	    api_submission_decode(obj, API_LENIENT, sub, &why) < 0) {
		sb_log_warn("send: %s: message %s: its prepared submission "
		            "cannot be read (%s): made again",
		            s->cfg.email, o->queue_id, why);
		return 1;
	}
	json_object_put(obj);
	ret = bridge_send_begin(s, o, r);
	if (ret < 0)
		return -1;
	/* The client filed its own copy meanwhile: its blob goes unused. */
	if (ret == 0)
		sub->has_sent_copy = false;
	return 0;
}

/* Keeps the submission for the next try (ciphertext only). */
static void
bridge_send_keep(struct bridge_sender *s, const struct store_outbox *o,
                 const struct api_submission *sub)
{
	struct json_object *obj = api_submission_to_json(sub);
	const char *error;

	if (store_outbox_set_prepared(s->st, o->id, api_json_text(obj, NULL),
	                              (int64_t)time(NULL), &error) < 0)
		sb_log_warn("send: %s: %s", s->cfg.email, error);
	json_object_put(obj);
}

/* The submission of the copies: blobs uploaded, key packets sealed. */
static int
bridge_send_submission(struct bridge_sender *s, const struct store_outbox *o,
                       struct bridge_send_job *j, struct api_submission *sub,
                       struct api_reply *r)
{
	char id[API_ID_MAX + 1];
	const char *why;
	size_t i;
	int ret;

	api_submission_init(sub);
	sub->from = sb_strdup(o->sender);
	ret = bridge_send_begin(s, o, r);
	if (ret < 0)
		return -1;
	sub->has_sent_copy = ret > 0;
	if (bridge_send_upload(s, &j->files[SEND_MINE], false, id, r) < 0)
		return -1;
	sub->blob_id = sb_strdup(id);
	if (sub->has_sent_copy) {
		if (bridge_send_upload(s, &j->files[SEND_SENT], false, id, r) <
		    0)
			return -1;
		sub->sent_blob_id = sb_strdup(id);
	}
	if (j->external.count > 0) {
		if (bridge_send_upload(s, &j->files[SEND_CLEAR], true, id, r) <
		    0)
			return -1;
		sub->external_blob_id = sb_strdup(id);
		for (i = 0; i < j->external.count; i++)
			api_strings_add(&sub->external, j->external.items[i]);
	}
	if (sb_buf_add(&sub->summary, j->sealed[SEND_MINE].summary.data,
	               j->sealed[SEND_MINE].summary.len) < 0)
		goto refused;
	sub->recipients =
	        sb_calloc(j->internal.count + 1, sizeof(*sub->recipients));
	for (i = 0; i < j->internal.count; i++) {
		sub->recipients[i].email = sb_strdup(j->internal.items[i]);
		sub->n_recipients++;
		if (sb_key_packet_seal(j->sealed[SEND_MINE].key, j->pks[i],
		                       sub->recipients[i].key_packet, &why) < 0)
			goto refused;
	}
	if (!sub->has_sent_copy)
		return 0;
	if (sb_buf_add(&sub->sent_summary, j->sealed[SEND_SENT].summary.data,
	               j->sealed[SEND_SENT].summary.len) < 0 ||
	    sb_key_packet_seal(j->sealed[SEND_SENT].key, s->cfg.keys->enc_pk,
	                       sub->sent_key_packet, &why) < 0)
		goto refused;
	api_strings_add(&sub->sent_keywords, "$seen");
	return 0;
refused:
	r->status = 400;
	r->error = API_ERR_INVALID_REQUEST;
	snprintf(r->message, sizeof(r->message),
	         "a recipient's key or the summary cannot be used");
	return -1;
}

/* An answer that no retry can change. */
static bool
bridge_send_permanent(const struct api_reply *r)
{
	switch (r->error) {
	case API_ERR_INVALID_REQUEST:
	case API_ERR_FORBIDDEN:
	case API_ERR_NOT_FOUND:
	case API_ERR_TOO_LARGE:
	case API_ERR_OVER_QUOTA:
	case API_ERR_UNKNOWN_RECIPIENT:
		return true;
	default:
		return false;
	}
}

/*
 * Ends a message that will not be sent: FAILED (kept for the user, never
 * tried again), then a bounce in INBOX. In that order, a crash or a
 * bounce that cannot be filed never makes a second bounce or another
 * try; `saltbridge status` still shows the message.
 */
static void
bridge_send_bounce(struct bridge_sender *s, const struct store_outbox *o,
                   const struct bridge_send_job *j, const char *why)
{
	const char *error;

	sb_log_warn("send: %s: message %s not delivered: %s", s->cfg.email,
	            o->queue_id, why);
	if (store_outbox_failed(s->st, o->id, (int64_t)time(NULL), why, true,
	                        &error) < 0) {
		sb_log_warn("send: %s", error);
		return;
	}
	if (bridge_bounce(s->cfg.keys, s->st, s->cfg.account_id, o->sender,
	                  o->recipients, why, j->header.data, j->header.len,
	                  &error) < 0)
		sb_log_warn("send: %s: cannot file the bounce of %s (it stays "
		            "in the outbox as failed): %s",
		            s->cfg.email, o->queue_id, error);
}

/* A failure: retried later, or a bounce once it failed for too long. */
static void
bridge_send_failed(struct bridge_sender *s, const struct store_outbox *o,
                   const struct bridge_send_job *j, const char *why,
                   bool permanent)
{
	const char *error;
	char text[512];

	if (!permanent &&
	    (int64_t)time(NULL) - o->created_at >= s->cfg.give_up_s &&
	    o->attempts + 1 >= BRIDGE_SEND_GIVE_UP_TRIES) {
		snprintf(text, sizeof(text),
		         "the service could not take the message for %" PRId64
		         " hours; last: %s",
		         s->cfg.give_up_s / 3600, why);
		bridge_send_bounce(s, o, j, text);
		return;
	}
	if (permanent) {
		bridge_send_bounce(s, o, j, why);
		return;
	}
	sb_log_info("send: %s: message %s will be tried again: %s",
	            s->cfg.email, o->queue_id, why);
	if (store_outbox_failed(s->st, o->id, (int64_t)time(NULL), why, false,
	                        &error) < 0)
		sb_log_warn("send: %s", error);
}

/* How long the service's Sent copies are remembered by Message-ID. */
#define BRIDGE_SEND_LOG_S (24 * 3600)

/* The service's Sent copy, for the client's APPEND of it to come. */
static void
bridge_send_remember(struct bridge_sender *s, const struct store_outbox *o,
                     const struct api_submission_result *res)
{
	int64_t now = (int64_t)time(NULL);
	const char *error;

	/* The hash of the client's Message-ID, kept at the end of DATA. */
	if (res->sent_message_id == NULL || o->msgid_hash == NULL)
		return;
	if (store_sent_log_add(s->st, s->cfg.account_id, o->msgid_hash,
	                       o->msgid_hash_len, res->sent_message_id, now,
	                       now - BRIDGE_SEND_LOG_S, &error) < 0)
		sb_log_warn("send: %s: %s", s->cfg.email, error);
}

/* The submission's answer, in the log (addresses are not content). */
static void
bridge_send_log(struct bridge_sender *s, const struct store_outbox *o,
                const struct api_submission_result *res)
{
	sb_log_info("send: %s: message %s submitted: %zu delivered, %zu "
	            "relayed, %zu deferred",
	            s->cfg.email, o->queue_id, res->delivered.count,
	            res->relayed.count, res->deferred.count);
}

/* Posts the submission: true when the service took it (now or before). */
static bool
bridge_send_post(struct bridge_sender *s, const struct store_outbox *o,
                 const struct bridge_send_job *j,
                 const struct api_submission *sub, struct api_reply *r)
{
	struct api_submission_result res;
	char idem[API_IDEM_KEY_MAX + 1];

	/* The same key for every try: delivered once at most. */
	snprintf(idem, sizeof(idem), "send-%s", o->queue_id);
	if (api_submission_post_idem(s->cfg.api, sub, idem, &res, r) == 0) {
		bridge_send_log(s, o, &res);
		bridge_send_remember(s, o, &res);
		api_submission_result_free(&res);
		return true;
	}
	if (r->error == API_ERR_IDEMPOTENCY_KEY_REUSED) {
		/* Only a success is kept with a key: it went. */
		sb_log_info("send: %s: message %s was submitted before",
		            s->cfg.email, o->queue_id);
		return true;
	}
	bridge_send_failed(s, o, j, r->message, bridge_send_permanent(r));
	return false;
}

/* A try that makes the submission afresh: true when it was taken. */
static bool
bridge_send_fresh(struct bridge_sender *s, const struct store_outbox *o,
                  struct bridge_send_job *j, struct api_submission *sub,
                  struct api_reply *r)
{
	const char *why = NULL;

	if (bridge_send_recipients(s, o, j, r) < 0) {
		/* An address the service refuses stays refused. */
		bridge_send_failed(s, o, j, r->message,
		                   bridge_send_permanent(r));
		return false;
	}
	if (bridge_send_copies(s, o, j, &why) < 0) {
		bridge_send_failed(s, o, j, why, j->refused);
		return false;
	}
	if (bridge_send_submission(s, o, j, sub, r) < 0) {
		bridge_send_failed(s, o, j, r->message,
		                   bridge_send_permanent(r));
		return false;
	}
	/* Every later try posts this same request (its blobs last a day). */
	bridge_send_keep(s, o, sub);
	api_reply_clear(r);
	api_reply_init(r);
	return bridge_send_post(s, o, j, sub, r);
}

/* One attempt at one message: 1 sent, 0 failed (retried or bounced). */
static int
bridge_send_one(struct bridge_sender *s, const struct store_outbox *o)
{
	struct bridge_send_job j;
	struct api_submission sub;
	struct api_reply r;
	const char *error;
	bool sent = false;
	int i, ret;

	memset(&j, 0, sizeof(j));
	for (i = 0; i < 3; i++)
		j.files[i].fd = -1;
	sb_buf_init_secret(&j.header, SIZE_MAX);
	api_reply_init(&r);
	api_submission_init(&sub);
	ret = bridge_send_reuse(s, o, &sub, &r);
	if (ret < 0) {
		bridge_send_failed(s, o, &j, r.message,
		                   bridge_send_permanent(&r));
	} else if (ret == 0) {
		sent = bridge_send_post(s, o, &j, &sub, &r);
	} else {
		api_submission_free(&sub);
		sent = bridge_send_fresh(s, o, &j, &sub, &r);
	}
	if (sent && store_outbox_sent(s->st, o->id, &error) < 0)
		sb_log_warn("send: %s: %s", s->cfg.email, error);
	api_submission_free(&sub);
	api_reply_clear(&r);
	bridge_send_job_free(&j);
	return sent ? 1 : 0;
}

int
bridge_sender_run(struct bridge_sender *s, size_t *sent_r, const char **error_r)
{
	struct store_outbox *list;
	size_t n, i;

	*sent_r = 0;
	if (store_outbox_list_due(s->st, s->cfg.account_id, (int64_t)time(NULL),
	                          &list, &n, error_r) < 0)
		return -1;
	for (i = 0; i < n && !bridge_sender_stopping(s); i++) {
		if (bridge_send_one(s, &list[i]) > 0)
			(*sent_r)++;
	}
	store_outbox_list_free(&list, n);
	return 0;
}

/* ---- The thread ---- */

/* Until the next retry is due, at most BRIDGE_SEND_POLL_S. */
static int
bridge_sender_wait_ms(struct bridge_sender *s)
{
	int64_t at, now = (int64_t)time(NULL);
	const char *error;
	int ret;

	ret = store_outbox_next_at(s->st, s->cfg.account_id, &at, &error);
	if (ret <= 0 || at - now >= BRIDGE_SEND_POLL_S)
		return BRIDGE_SEND_POLL_S * 1000;
	/* At least a second: a message that cannot be marked is not spun on. */
	return at <= now ? 1000 : (int)(at - now) * 1000;
}

static void *
bridge_sender_main(void *p)
{
	struct bridge_sender *s = p;
	struct pollfd fds[2];
	const char *error;
	size_t sent;

	for (;;) {
		if (s->sub != NULL)
			sb_event_drain(store_sub_fd(s->sub));
		if (bridge_sender_run(s, &sent, &error) < 0)
			sb_log_warn("send: %s: %s", s->cfg.email, error);
		fds[0].fd = s->stop_fd;
		fds[0].events = POLLIN;
		fds[1].fd = s->sub != NULL ? store_sub_fd(s->sub) : -1;
		fds[1].events = POLLIN;
		if (poll(fds, 2, bridge_sender_wait_ms(s)) < 0 &&
		    errno != EINTR) {
			/* Mail waits: go on after a pause rather than end. */
			sb_log_warn("send: %s: poll: %s", s->cfg.email,
			            strerror(errno));
			sleep(1);
			continue;
		}
		if (fds[0].revents != 0)
			break;
	}
	return NULL;
}

int
bridge_sender_start(struct bridge_sender *s, const char **error_r)
{
	int err;

	if (s->running)
		return 0;
	err = pthread_create(&s->thread, NULL, bridge_sender_main, s);
	if (err != 0) {
		*error_r = bridge_errorf("cannot start the sender: %s",
		                         strerror(err));
		return -1;
	}
	s->running = true;
	return 0;
}

void
bridge_sender_stop(struct bridge_sender *s)
{
	if (!s->running)
		return;
	sb_event_signal(s->stop_fd);
	pthread_join(s->thread, NULL);
	s->running = false;
}
