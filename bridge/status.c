/*
 * saltbridge status: whether serve runs (its lock) and on which
 * listeners, the listeners' certificate, and for each account of the
 * replica its sync, messages and bodies, local changes not yet on the
 * service and mail not yet sent. It needs neither the vault nor the
 * service, so it runs while serve does: the replica is opened read-only.
 * Nothing here is secret.
 */
#include "bridge-private.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bridge/sync.h"
#include "common/alloc.h"
#include "common/buf.h"
#include "common/cert.h"
#include "store/store.h"

#define STATUS_OUTPUT_MAX (4 * 1024 * 1024)
#define STATUS_LISTENERS  4

/* One listener of a running serve, from its lock file. */
struct status_listener {
	char protocol[8]; /* "imap", "smtp" */
	char address[BRIDGE_LISTEN_MAX];
	unsigned port;
	char security[16]; /* "starttls", "tls" */
};

struct status_account {
	char *email;
	struct bridge_sync_state sync;
	uint64_t messages, bodies, missing, missing_bytes;
	uint64_t ops, ops_failed, outbox_queued, outbox_failed;
};

struct status {
	bool running;
	long pid;
	struct status_listener listeners[STATUS_LISTENERS];
	size_t n_listeners;
	bool have_cert;
	time_t cert_expires;
	char cert_sha256[SB_CERT_FINGERPRINT_SIZE];
	struct status_account *accounts;
	size_t count;
};

static bool
status_word(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i == max || s[i] <= ' ' || s[i] > '~' || s[i] == '"' ||
		    s[i] == '\\')
			return false;
	}
	return i > 0;
}

/*
 * "imap 127.0.0.1 1143 starttls" lines, as serve writes them; anything
 * else (a file written half-way as it is read) is left out.
 */
static void
status_listeners(struct status *st, const struct sb_buf *text)
{
	const char *p = text->data, *end = p + text->len, *nl;
	char line[128], proto[8], addr[BRIDGE_LISTEN_MAX], sec[16];
	struct status_listener *l;
	unsigned port;

	while (p != NULL && p < end && st->n_listeners < STATUS_LISTENERS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
			break;
		memcpy(line, p, (size_t)(nl - p));
		line[nl - p] = '\0';
		p = nl + 1;
		if (sscanf(line, "%7s %45s %u %15s", proto, addr, &port, sec) !=
		            4 ||
		    !status_word(proto, 7) || !status_word(addr, 45) ||
		    !status_word(sec, 15) || port > 65535)
			continue;
		l = &st->listeners[st->n_listeners++];
		memcpy(l->protocol, proto, sizeof(proto));
		memcpy(l->address, addr, sizeof(addr));
		l->port = port;
		memcpy(l->security, sec, sizeof(sec));
	}
}

static int SB_WUR
status_account_read(struct store *db, const struct store_account *sa,
                    struct status_account *a, const char **error_r)
{
	uint64_t n;

	a->email = sb_strdup(sa->email);
	if (bridge_sync_state_read(db, sa->id, &a->sync, error_r) != 0 ||
	    store_account_message_count(db, sa->id, &a->messages, &a->bodies,
	                                error_r) != 0 ||
	    store_bodies_missing_count(db, sa->id, &a->missing,
	                               &a->missing_bytes, error_r) != 0 ||
	    store_op_count(db, sa->id, &n, error_r) != 0 ||
	    store_op_count_failed(db, sa->id, &a->ops_failed, error_r) != 0 ||
	    store_outbox_count(db, sa->id, STORE_OUTBOX_QUEUED,
	                       &a->outbox_queued, error_r) != 0 ||
	    store_outbox_count(db, sa->id, STORE_OUTBOX_FAILED,
	                       &a->outbox_failed, error_r) != 0)
		return -1;
	a->ops = n - a->ops_failed;
	return 0;
}

/* The accounts of the replica; none when there is no replica yet. */
static int SB_WUR
status_replica(struct status *st, const struct bridge_paths *p,
               const char **error_r)
{
	struct store_account *list = NULL;
	struct store *db;
	struct stat sb;
	size_t count = 0, i;
	int ret = 0;

	if (stat(p->replica, &sb) != 0 && errno == ENOENT)
		return 0;
	if (store_open_readonly(p->replica, &db, error_r) != 0)
		return -1;
	if (store_account_list(db, &list, &count, error_r) != 0) {
		store_close(&db);
		return -1;
	}
	st->accounts = sb_calloc(count + 1, sizeof(*st->accounts));
	for (i = 0; i < count && ret == 0; i++) {
		ret = status_account_read(db, &list[i], &st->accounts[i],
		                          error_r);
		st->count++;
	}
	if (ret != 0)
		*error_r = bridge_errorf("cannot read the replica %s: %s",
		                         p->replica, *error_r);
	store_account_list_free(&list, count);
	store_close(&db);
	return ret;
}

static void
status_free(struct status *st)
{
	size_t i;

	for (i = 0; i < st->count; i++)
		free(st->accounts[i].email);
	free(st->accounts);
	memset(st, 0, sizeof(*st));
}

static int SB_WUR
status_read(struct status *st, const struct bridge_paths *p,
            const char **error_r)
{
	const char *error;
	struct sb_buf text;
	int ret;

	memset(st, 0, sizeof(*st));
	sb_buf_init(&text, 4096);
	ret = bridge_serve_running(p, &st->pid, &text, error_r);
	if (ret > 0) {
		st->running = true;
		status_listeners(st, &text);
	}
	sb_buf_free(&text);
	if (ret < 0)
		return -1;
	st->have_cert = sb_cert_read(p->tls_cert, NULL, &st->cert_expires,
	                             st->cert_sha256, &error) == 0;
	return status_replica(st, p, error_r);
}

/* "2026-05-04 10:20 UTC" (text) or "2026-05-04T10:20:30Z" (JSON). */
static void
status_date(int64_t t, bool json, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32,
	             json ? "%Y-%m-%dT%H:%M:%SZ" : "%Y-%m-%d %H:%M UTC",
	             &tm) == 0)
		snprintf(out, 32, "?");
}

/* ---- Text ---- */

static int SB_WUR
status_text_sync(struct sb_buf *b, const struct bridge_sync_state *s)
{
	char when[32];
	int ret;

	if (!s->started)
		return sb_buf_add_str(b, "  sync      not started yet\n");
	if (s->resyncing || !s->steady) {
		ret = sb_buf_add_printf(
		        b, "  sync      %s: %" PRIu64 " listed",
		        s->resyncing ? "resync" : "initial sync", s->listed);
		if (ret == 0 && s->total > 0)
			ret = sb_buf_add_printf(
			        b, " of %" PRIu64 " (%u%%)", s->total,
			        (unsigned)(s->listed >= s->total
			                           ? 100
			                           : s->listed * 100 /
			                                     s->total));
		return ret != 0 ? -1 : sb_buf_add_char(b, '\n');
	}
	if (s->checked_at == 0)
		return sb_buf_add_str(b, "  sync      initial sync done\n");
	status_date(s->checked_at, false, when);
	return sb_buf_add_printf(b,
	                         "  sync      initial sync done; changes "
	                         "last read %s\n",
	                         when);
}

static int SB_WUR
status_text_account(struct sb_buf *b, const struct status_account *a)
{
	if (sb_buf_add_printf(b, "\n%s\n", a->email) != 0 ||
	    status_text_sync(b, &a->sync) != 0 ||
	    sb_buf_add_printf(b,
	                      "  messages  %" PRIu64 "; bodies %" PRIu64
	                      " stored, %" PRIu64 " missing",
	                      a->messages, a->bodies, a->missing) != 0 ||
	    (a->missing > 0 && sb_buf_add_printf(b, " (%" PRIu64 " bytes)",
	                                         a->missing_bytes) != 0))
		return -1;
	return sb_buf_add_printf(
	        b,
	        "\n  changes   %" PRIu64 " waiting for the service, %" PRIu64
	        " failed\n"
	        "  outbox    %" PRIu64 " queued, %" PRIu64 " failed\n",
	        a->ops, a->ops_failed, a->outbox_queued, a->outbox_failed);
}

static int SB_WUR
status_text(struct sb_buf *b, const struct status *st,
            const struct bridge_paths *p)
{
	const struct status_listener *l;
	char when[32];
	size_t i;
	int ret;

	if (!st->running)
		ret = sb_buf_add_str(b, "serve        not running\n");
	else
		ret = sb_buf_add_printf(b, "serve        running (pid %ld)\n",
		                        st->pid);
	for (i = 0; ret == 0 && i < st->n_listeners; i++) {
		l = &st->listeners[i];
		ret = sb_buf_add_printf(
		        b, "  %s on %s%s%s:%u (%s)\n",
		        strcmp(l->protocol, "imap") == 0 ? "IMAP" : "SMTP",
		        strchr(l->address, ':') != NULL ? "[" : "", l->address,
		        strchr(l->address, ':') != NULL ? "]" : "", l->port,
		        strcmp(l->security, "tls") == 0 ? "TLS" : "STARTTLS");
	}
	if (ret == 0 && st->have_cert) {
		status_date(st->cert_expires, false, when);
		ret = sb_buf_add_printf(b,
		                        "certificate  %s, expires %s\n"
		                        "  SHA-256 %s\n",
		                        p->tls_cert, when, st->cert_sha256);
	}
	for (i = 0; ret == 0 && i < st->count; i++)
		ret = status_text_account(b, &st->accounts[i]);
	if (ret == 0 && st->count == 0)
		ret = sb_buf_add_str(b, "\nNo account is logged in; add one "
		                        "with 'saltbridge login EMAIL'.\n");
	return ret;
}

/* ---- JSON ---- */

static int SB_WUR
status_json_serve(struct sb_buf *b, const struct status *st)
{
	const struct status_listener *l;
	size_t i;

	if (!st->running)
		return sb_buf_add_str(b,
		                      "  \"serve\": {\"running\": false},\n");
	if (sb_buf_add_printf(b,
	                      "  \"serve\": {\"running\": true, \"pid\": %ld, "
	                      "\"listeners\": [",
	                      st->pid) != 0)
		return -1;
	for (i = 0; i < st->n_listeners; i++) {
		l = &st->listeners[i];
		if (sb_buf_add_printf(b,
		                      "%s{\"protocol\": \"%s\", \"address\": "
		                      "\"%s\", \"port\": %u, \"security\": "
		                      "\"%s\"}",
		                      i > 0 ? ", " : "", l->protocol,
		                      l->address, l->port, l->security) != 0)
			return -1;
	}
	return sb_buf_add_str(b, "]},\n");
}

static int SB_WUR
status_json_cert(struct sb_buf *b, const struct status *st,
                 const struct bridge_paths *p, bool *bad_utf8)
{
	char when[32];

	if (!st->have_cert)
		return sb_buf_add_str(b, "  \"certificate\": null,\n");
	status_date(st->cert_expires, true, when);
	if (sb_buf_add_str(b, "  \"certificate\": {\"path\": ") != 0 ||
	    bridge_json_string(b, p->tls_cert, bad_utf8) != 0)
		return -1;
	return sb_buf_add_printf(
	        b, ", \"expires\": \"%s\", \"sha256\": \"%s\"},\n", when,
	        st->cert_sha256);
}

static int SB_WUR
status_json_account(struct sb_buf *b, const struct status_account *a,
                    bool first, bool *bad_utf8)
{
	const struct bridge_sync_state *s = &a->sync;
	char when[32];

	if (s->checked_at != 0)
		status_date(s->checked_at, true, when);
	if (sb_buf_add_str(b, first ? "    {\"email\": "
	                            : ",\n    {\"email\": ") != 0 ||
	    bridge_json_string(b, a->email, bad_utf8) != 0)
		return -1;
	return sb_buf_add_printf(
	        b,
	        ",\n     \"sync\": {\"started\": %s, \"initial_done\": %s, "
	        "\"resync\": %s, \"listed\": %" PRIu64 ", \"total\": %" PRIu64
	        ", \"changes_read_at\": %s%s%s},\n"
	        "     \"messages\": %" PRIu64 ",\n"
	        "     \"bodies\": {\"stored\": %" PRIu64
	        ", \"missing\": %" PRIu64 ", \"missing_bytes\": %" PRIu64 "},\n"
	        "     \"ops\": {\"queued\": %" PRIu64 ", \"failed\": %" PRIu64
	        "},\n"
	        "     \"outbox\": {\"queued\": %" PRIu64
	        ", \"failed\": %" PRIu64 "}}",
	        s->started ? "true" : "false", s->steady ? "true" : "false",
	        s->resyncing ? "true" : "false", s->listed, s->total,
	        s->checked_at != 0 ? "\"" : "",
	        s->checked_at != 0 ? when : "null",
	        s->checked_at != 0 ? "\"" : "", a->messages, a->bodies,
	        a->missing, a->missing_bytes, a->ops, a->ops_failed,
	        a->outbox_queued, a->outbox_failed);
}

static int SB_WUR
status_json(struct sb_buf *b, const struct status *st,
            const struct bridge_paths *p, bool *bad_utf8)
{
	size_t i;

	if (sb_buf_add_str(b, "{\n") != 0 || status_json_serve(b, st) != 0 ||
	    status_json_cert(b, st, p, bad_utf8) != 0 ||
	    sb_buf_add_str(b, "  \"accounts\": [") != 0)
		return -1;
	if (st->count > 0 && sb_buf_add_char(b, '\n') != 0)
		return -1;
	for (i = 0; i < st->count; i++) {
		if (status_json_account(b, &st->accounts[i], i == 0,
		                        bad_utf8) != 0)
			return -1;
	}
	return sb_buf_add_str(b, st->count > 0 ? "\n  ]\n}\n" : "]\n}\n");
}

int
bridge_print_status(const struct bridge_paths *p, bool json, int fd,
                    const char **error_r)
{
	bool bad_utf8 = false;
	struct status st;
	struct sb_buf b;
	int ret;

	if (status_read(&st, p, error_r) != 0) {
		status_free(&st);
		return -1;
	}
	sb_buf_init(&b, STATUS_OUTPUT_MAX);
	ret = json ? status_json(&b, &st, p, &bad_utf8)
	           : status_text(&b, &st, p);
	if (ret != 0)
		*error_r = bad_utf8 ? "an address in the replica is not UTF-8"
		                    : "the output is too large";
	else if (bridge_write_all(fd, b.data, b.len) != 0) {
		*error_r = "cannot write the output";
		ret = -1;
	}
	sb_buf_free(&b);
	status_free(&st);
	return ret;
}
