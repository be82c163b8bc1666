/*
 * The API client against a real saltmaild (sessions, refresh, blobs,
 * errors) and against a hostile stand-in server over TLS that answers with
 * scripted bytes: retries, Retry-After, malformed and oversized answers,
 * broken transfers and their resumption.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/client.h"
#include "api/events.h"
#include "common/alloc.h"
#include "common/cert.h"
#include "common/net.h"
#include "common/tls.h"
#include "crypto/crypto.h"
#include "helpers.h"
#include "test.h"

/* ---- A scripted HTTPS server ---- */

#define SCRIPT_MAX 8

struct script {
	struct sb_listener *listener;
	struct sb_tls_ctx *tls;
	const char *answers[SCRIPT_MAX]; /* one per connection, raw bytes */
	size_t lengths[SCRIPT_MAX];
	unsigned n, served;
	char last_request[4096]; /* the head of the last request */
	pthread_t thread;
};

/* Reads a request head and its body (by Content-Length). */
static void
script_read_request(struct script *s, struct sb_conn *conn)
{
	enum sb_conn_status st;
	const char *error;
	struct sb_sv line;
	size_t body = 0, used = 0;

	s->last_request[0] = '\0';
	while (sb_conn_read_line(conn, &line, &st, &error) == 1 &&
	       line.len > 0) {
		if (sb_sv_starts_with_ci(line, "content-length:"))
			body = strtoul(line.p + 15, NULL, 10);
		if (used + line.len + 2 < sizeof(s->last_request)) {
			memcpy(s->last_request + used, line.p, line.len);
			used += line.len;
			memcpy(s->last_request + used, "\n", 2);
			used++;
		}
	}
	while (body > 0) {
		char buf[4096];
		size_t got = 0;

		if (sb_conn_read(conn, buf,
		                 body < sizeof(buf) ? body : sizeof(buf), &got,
		                 &st, &error) != 1)
			break;
		body -= got;
	}
}

static void *
script_main(void *arg)
{
	struct script *s = arg;
	const char *error;
	int fd;

	while (s->served < s->n) {
		struct sb_conn *conn;

		if (sb_listener_accept(s->listener, 10000, &fd, &error) != 1)
			break;
		conn = sb_conn_new(fd, 8192, 5000);
		if (sb_conn_tls_accept(conn, s->tls, &error) == 0) {
			script_read_request(s, conn);
			(void)!sb_conn_write(conn, s->answers[s->served],
			                     s->lengths[s->served], &error);
		}
		s->served++;
		sb_conn_free(&conn);
	}
	return NULL;
}

static char script_cert[512], script_key[512];

static void
script_start(struct script *s, const char *const *answers, unsigned n)
{
	const char *error;
	bool created;
	unsigned i;

	memset(s, 0, sizeof(*s));
	snprintf(script_cert, sizeof(script_cert), "%s/fake.pem",
	         test_tmpdir());
	snprintf(script_key, sizeof(script_key), "%s/fake.key", test_tmpdir());
	TEST_EQ_INT(
	        sb_cert_ensure(script_cert, script_key, 1, &created, &error),
	        0);
	TEST_EQ_INT(
	        sb_tls_server_ctx_new(script_cert, script_key, &s->tls, &error),
	        0);
	TEST_EQ_INT(sb_listener_new(NULL, 0, &s->listener, &error), 0);
	for (i = 0; i < n; i++) {
		s->answers[i] = answers[i];
		s->lengths[i] = strlen(answers[i]);
	}
	s->n = n;
	TEST_EQ_INT(pthread_create(&s->thread, NULL, script_main, s), 0);
}

static void
script_stop(struct script *s)
{
	pthread_join(s->thread, NULL);
	sb_listener_free(&s->listener);
	sb_tls_ctx_free(&s->tls);
}

#define OK_JSON                                                 \
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
	"Content-Length: 10\r\nConnection: close\r\n\r\n{\"a\":\"ok\"}"

static void
test_retry_after_then_success(void)
{
	static const char *const answers[] = {
	        "HTTP/1.1 503 Unavailable\r\nRetry-After: 1\r\n"
	        "Content-Length: 0\r\nConnection: close\r\n\r\n",
	        OK_JSON,
	};
	struct script s;
	struct api_client *c;
	struct api_reply r;

	script_start(&s, answers, 2);
	c = client_for(sb_listener_port(s.listener), script_cert);
	api_reply_init(&r);
	{
		struct json_object *body = json_object_new_object();
		int rc = api_call(c, "POST", "/api/v1/mailboxes", body, &r);

		json_object_put(body);
		if (rc != 0)
			test_fail(__FILE__, __LINE__, "call failed: %s",
			          r.message);
	}
	TEST_EQ_UINT(r.attempts, 2);
	TEST_EQ_UINT(r.status, 200);
	TEST_ASSERT(r.json != NULL);
	/* A write carries an Idempotency-Key (the same on both tries). */
	TEST_ASSERT(strstr(s.last_request, "Idempotency-Key: ") != NULL);
	api_reply_clear(&r);
	api_client_free(&c);
	script_stop(&s);
}

static void
test_hostile_answers(void)
{
	static const char *const answers[] = {
	        /* Malformed JSON with a 200. */
	        "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close"
	        "\r\n\r\n{\"a\": [1,",
	        /* An error of a known type. */
	        "HTTP/1.1 404 Not Found\r\nContent-Length: 47\r\nConnection: "
	        "close\r\n\r\n{\"error\":{\"type\":\"not_found\",\"message\":"
	        "\"gone\"}}",
	        /* Larger than max_json (4096): filled in below. */
	        NULL,
	        /* Cut off: shorter than announced, three times. */
	        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close"
	        "\r\n\r\n{\"a\"",
	        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close"
	        "\r\n\r\n{\"a\"",
	        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close"
	        "\r\n\r\n{\"a\"",
	};
	static char big[6000];
	const char *list[6];
	struct script s;
	struct api_client *c;
	struct api_reply r;
	size_t head;

	memcpy(list, answers, sizeof(list));
	head = (size_t)snprintf(big, sizeof(big),
	                        "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n"
	                        "Connection: close\r\n\r\n");
	memset(big + head, 'x', 5000);
	big[head + 5000] = '\0';
	list[2] = big;
	script_start(&s, list, 6);
	c = client_for(sb_listener_port(s.listener), script_cert);
	api_reply_init(&r);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/account", NULL, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_SERVER_ERROR);
	TEST_ASSERT(strstr(r.message, "malformed") != NULL);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/messages/m_1", NULL, &r), -1);
	TEST_EQ_UINT(r.status, 404);
	TEST_EQ_INT(r.error, API_ERR_NOT_FOUND);
	TEST_EQ_STR(r.message, "gone");
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/account", NULL, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_UNAVAILABLE);
	TEST_ASSERT(strstr(r.message, "too large") != NULL);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/account", NULL, &r), -1);
	TEST_EQ_UINT(r.attempts, 3);
	TEST_EQ_UINT(r.status, 0);
	TEST_EQ_INT(r.error, API_ERR_UNAVAILABLE);
	api_reply_clear(&r);
	api_client_free(&c);
	script_stop(&s);
}

static int
sink_buf(void *ctx, const void *data, size_t len)
{
	return sb_buf_add(ctx, data, len);
}

static void
test_download_resumes(void)
{
	static const char *const answers[] = {
	        /* The first 10 of 26 bytes, then the connection drops. */
	        "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close"
	        "\r\n\r\nabcdefghij",
	        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 10-25/26"
	        "\r\nContent-Length: 16\r\nConnection: close\r\n\r\n"
	        "klmnopqrstuvwxyz",
	        /* A resume that starts at the wrong place is refused. */
	        "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close"
	        "\r\n\r\nabcde",
	        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-25/26"
	        "\r\nContent-Length: 26\r\nConnection: close\r\n\r\n"
	        "abcdefghijklmnopqrstuvwxyz",
	        /* A server that ignores Range: the known part is skipped. */
	        "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close"
	        "\r\n\r\nabcdefg",
	        "HTTP/1.1 200 OK\r\nContent-Length: 26\r\nConnection: close"
	        "\r\n\r\nabcdefghijklmnopqrstuvwxyz",
	};
	struct script s;
	struct api_client *c;
	struct api_reply r;
	struct sb_buf got;

	script_start(&s, answers, 6);
	c = client_for(sb_listener_port(s.listener), script_cert);
	api_reply_init(&r);
	sb_buf_init(&got, 1024);
	TEST_EQ_INT(api_blob_download(c, "b_1", 1024, sink_buf, &got, &r), 0);
	TEST_EQ_STR(sb_buf_str(&got), "abcdefghijklmnopqrstuvwxyz");
	TEST_ASSERT(strstr(s.last_request, "Range: bytes=10-") != NULL);
	sb_buf_reset(&got);
	TEST_EQ_INT(api_blob_download(c, "b_1", 1024, sink_buf, &got, &r), -1);
	TEST_ASSERT(strstr(r.message, "wrong offset") != NULL);
	/* What reached the sink is the first part only, never twice. */
	TEST_EQ_STR(sb_buf_str(&got), "abcde");
	sb_buf_reset(&got);
	TEST_EQ_INT(api_blob_download(c, "b_1", 1024, sink_buf, &got, &r), 0);
	TEST_EQ_STR(sb_buf_str(&got), "abcdefghijklmnopqrstuvwxyz");
	sb_buf_free(&got);
	api_reply_clear(&r);
	api_client_free(&c);
	script_stop(&s);
}

static unsigned tokens_seen;

static void
on_tokens(void *ctx, const struct api_session *s)
{
	(void)ctx;
	TEST_ASSERT(s->access_token != NULL && s->refresh_token != NULL);
	tokens_seen++;
}

/* Records events as "type|data" lines. */
static int
record_event(void *ctx, const char *name, const char *data, size_t len)
{
	struct sb_buf *out = ctx;

	TEST_EQ_INT(sb_buf_add_printf(out, "%s|%.*s\n", name, (int)len, data),
	            0);
	return 0;
}

static void
test_events_scripted(void)
{
	static const char *const answers[] = {
	        /* A stream that ends after two events and half a third. */
	        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	        "Connection: close\r\n\r\nevent: state\r\ndata: s1\r\n\r\n"
	        ": ping\n\ndata: x\ndata: y\n\ndata: cut",
	        /* Not an event stream. */
	        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	        "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
	        /* A line past the limit. */
	        NULL,
	        /* An API error. */
	        "HTTP/1.1 429 Too Many\r\nContent-Length: 50\r\nConnection: "
	        "close\r\n\r\n{\"error\":{\"type\":\"rate_limited\","
	        "\"message\":"
	        "\"slow\"}}",
	        /* An expired token: refreshed once, then the stream. */
	        "HTTP/1.1 401 Unauthorized\r\nContent-Length: 50\r\n"
	        "Connection: close\r\n\r\n"
	        "{\"error\":{\"type\":\"token_expired\",\"message\":\"old\"}}",
	        "HTTP/1.1 200 OK\r\nContent-Length: 175\r\n"
	        "Connection: close\r\n\r\n"
	        "{\"account_id\":\"0123456789abcdef0123456789abcdef\",\"access_"
	        "token\":\"new-access-token-0123\",\"expires_in\":900,"
	        "\"refresh_token\":\"new-refresh-token-0123\",\"refresh_"
	        "expires_in\":2592000}",
	        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
	        "Connection: close\r\n\r\ndata: after refresh\n\n",
	};
	static char big[API_SSE_LINE_MAX + 200];
	const char *list[7];
	struct script s;
	struct api_client *c;
	struct api_reply r;
	struct sb_buf got;
	size_t head;

	memcpy(list, answers, sizeof(list));
	head = (size_t)snprintf(big, sizeof(big),
	                        "HTTP/1.1 200 OK\r\nContent-Type: "
	                        "text/event-stream\r\nConnection: close"
	                        "\r\n\r\ndata: ");
	memset(big + head, 'x', API_SSE_LINE_MAX);
	memcpy(big + head + API_SSE_LINE_MAX, "\n\n", 3);
	list[2] = big;
	script_start(&s, list, 7);
	c = client_for(sb_listener_port(s.listener), script_cert);
	api_client_set_session(c, "access-token-0123456789",
	                       "refresh-token-0123456789");
	api_reply_init(&r);
	sb_buf_init(&got, 4096);
	TEST_EQ_INT(api_events_run(c, record_event, &got, -1, &r), 0);
	TEST_EQ_STR(sb_buf_str(&got), "state|s1\nmessage|x\ny\n");
	TEST_ASSERT(strstr(s.last_request, "GET /api/v1/events ") != NULL);
	TEST_ASSERT(strstr(s.last_request, "Accept: text/event-stream") !=
	            NULL);
	TEST_ASSERT(strstr(s.last_request,
	                   "Authorization: Bearer access-token-0123456789") !=
	            NULL);
	sb_buf_reset(&got);
	TEST_EQ_INT(api_events_run(c, record_event, &got, -1, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_SERVER_ERROR);
	TEST_ASSERT(strstr(r.message, "event stream") != NULL);
	TEST_EQ_INT(api_events_run(c, record_event, &got, -1, &r), -1);
	TEST_EQ_INT(r.error, API_ERR_SERVER_ERROR);
	TEST_ASSERT(strstr(r.message, "longer than allowed") != NULL);
	TEST_EQ_INT(api_events_run(c, record_event, &got, -1, &r), -1);
	TEST_EQ_UINT(r.status, 429);
	TEST_EQ_INT(r.error, API_ERR_RATE_LIMITED);
	TEST_EQ_STR(sb_buf_str(&got), "");
	tokens_seen = 0;
	api_client_on_tokens(c, on_tokens, NULL);
	TEST_EQ_INT(api_events_run(c, record_event, &got, -1, &r), 0);
	TEST_EQ_STR(sb_buf_str(&got), "message|after refresh\n");
	TEST_EQ_UINT(tokens_seen, 1);
	TEST_ASSERT(strstr(s.last_request,
	                   "Authorization: Bearer new-access-token-0123") !=
	            NULL);
	sb_buf_free(&got);
	api_reply_clear(&r);
	api_client_free(&c);
	script_stop(&s);
}

/* ---- Against a real saltmaild ---- */

/* Signs up and logs in as a client would; the client keeps the session. */
static void
sign_up(struct api_client *c, const char *email)
{
	unsigned char auth_key[API_KEY_BYTES];
	struct api_signup s;
	struct api_session session;
	struct json_object *body;
	struct api_reply r;
	const char *error;

	signup_make(email, "pw", &s, NULL, auth_key);
	api_reply_init(&r);
	body = api_signup_to_json(&s);
	TEST_EQ_INT(api_call(c, "POST", "/api/v1/signup", body, &r), 0);
	json_object_put(body);
	body = json_object_new_object();
	api_json_add_string(body, "email", email);
	api_json_add_bytes(body, "auth_key", auth_key, API_KEY_BYTES);
	TEST_EQ_INT(api_call(c, "POST", "/api/v1/auth/login", body, &r), 0);
	json_object_put(body);
	TEST_EQ_INT(api_session_decode(r.json, API_LENIENT, &session, &error),
	            0);
	api_client_set_session(c, session.access_token, session.refresh_token);
	api_session_free(&session);
	api_reply_clear(&r);
	api_signup_free(&s);
}

static void
test_real_server(void)
{
	struct server srv;
	struct api_client *c;
	struct api_reply r;
	struct sb_buf got;
	char path[600], blob[API_ID_MAX + 1];
	unsigned char data[300000];
	size_t i;
	int fd;

	server_start(&srv, "ttl2", "2", NULL);
	c = client_for(srv.port, srv.cert);
	tokens_seen = 0;
	api_client_on_tokens(c, on_tokens, NULL);
	sign_up(c, "alice@example.org");
	api_reply_init(&r);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/account", NULL, &r), 0);
	TEST_ASSERT(json_object_object_get(r.json, "keys") != NULL);

	/* The access token expires; the client refreshes on its own. */
	sleep(3);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/mailboxes", NULL, &r), 0);
	TEST_EQ_UINT(tokens_seen, 1);
	TEST_EQ_INT(api_call(c, "GET", "/api/v1/messages/m_nope", NULL, &r),
	            -1);
	TEST_EQ_INT(r.error, API_ERR_NOT_FOUND);

	/* A blob streams up from a file and back down. */
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	snprintf(path, sizeof(path), "%s/blob", test_tmpdir());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	TEST_ASSERT(fd >= 0);
	TEST_EQ_INT(write(fd, data, sizeof(data)), (int)sizeof(data));
	TEST_EQ_INT(lseek(fd, 0, SEEK_SET), 0);
	TEST_EQ_INT(api_blob_upload(c, fd, sizeof(data), false, blob, &r), 0);
	close(fd);
	sb_buf_init(&got, 1 << 20);
	TEST_EQ_INT(api_blob_download(c, blob, 1 << 20, sink_buf, &got, &r), 0);
	TEST_EQ_MEM(got.data, got.len, data, sizeof(data));
	sb_buf_reset(&got);
	TEST_EQ_INT(api_blob_download(c, blob, 1000, sink_buf, &got, &r), -1);
	TEST_ASSERT(strstr(r.message, "too large") != NULL);
	sb_buf_free(&got);
	api_reply_clear(&r);
	api_client_free(&c);
	server_stop(&srv);
}

struct share_call {
	struct api_client *c;
	int rc;
};

static void *
share_call_main(void *arg)
{
	struct share_call *sc = arg;
	struct api_reply r;

	api_reply_init(&r);
	sc->rc = api_call(sc->c, "GET", "/api/v1/mailboxes", NULL, &r);
	api_reply_clear(&r);
	return NULL;
}

/* Two clients at once on one expired session: each still succeeds. */
static void
both_call(struct api_client *a, struct api_client *b)
{
	struct share_call ca = {a, -1}, cb = {b, -1};
	pthread_t ta, tb;

	TEST_EQ_INT(pthread_create(&ta, NULL, share_call_main, &ca), 0);
	TEST_EQ_INT(pthread_create(&tb, NULL, share_call_main, &cb), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	TEST_EQ_INT(ca.rc, 0);
	TEST_EQ_INT(cb.rc, 0);
}

/*
 * Clients sharing a session refresh it once between them: the rotated
 * refresh token is never presented twice, so the service never revokes
 * the session (which it does when a spent refresh token comes back).
 */
static void
test_shared_session(void)
{
	struct api_session_share *share;
	struct api_client *a, *b;
	struct server srv;
	struct api_reply r;

	server_start(&srv, "share", "2", NULL);
	a = client_for(srv.port, srv.cert);
	b = client_for(srv.port, srv.cert);
	tokens_seen = 0;
	api_client_on_tokens(a, on_tokens, NULL);
	api_client_on_tokens(b, on_tokens, NULL);
	sign_up(a, "bob@example.org");
	share = api_client_session_share(a);
	api_client_share_session(b, share);
	api_reply_init(&r);
	sleep(3);
	both_call(a, b);
	TEST_EQ_UINT(tokens_seen, 1);
	sleep(3);
	TEST_EQ_INT(api_call(b, "GET", "/api/v1/account", NULL, &r), 0);
	TEST_EQ_INT(api_call(a, "GET", "/api/v1/account", NULL, &r), 0);
	TEST_EQ_UINT(tokens_seen, 2);
	both_call(a, b);
	api_reply_clear(&r);
	api_client_free(&a);
	api_client_free(&b);
	api_session_share_free(&share);
	server_stop(&srv);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"retry after, then success", test_retry_after_then_success},
	        {"hostile answers", test_hostile_answers},
	        {"download resumes", test_download_resumes},
	        {"event stream, scripted", test_events_scripted},
	        {"real server", test_real_server},
	        {"shared session", test_shared_session},
	        {NULL, NULL},
	};

	signal(SIGPIPE, SIG_IGN);
	if (sb_crypto_init() != 0)
		return 1;
	return test_run(cases);
}
