/*
 * Fuzz target for a whole IMAP session: session.c and every command it
 * dispatches, on a replica with mail in it, fed from bytes.
 *
 * Once per process a replica is made in a temporary folder: one account,
 * INBOX, Drafts, Sent, Trash and the user's mailboxes, messages with
 * keywords, \Deleted flags, stored bodies (one without: FETCH of its body
 * fails) and an expunge record for QRESYNC. Its file is kept in memory
 * and written back before each input, so that what one input changed
 * (APPEND, EXPUNGE, CREATE...) never reaches the next one.
 *
 * The backend is a fake: a fixed user and password; a message's "summary"
 * is its header section and its "ciphertext" body is the message itself,
 * so message_headers and message_read hand back what the replica holds.
 * APPEND stores the same way, through the replica's staging as the bridge
 * does, so a message the input appends can be fetched by the same input.
 *
 * The clock stands still (time() is defined here): UIDVALIDITY is the
 * clock's seconds when a mailbox is made, so INBOX's is FUZZ_NOW in
 * every run and an input's SELECT INBOX (QRESYNC (1718000000 ...)) finds
 * it again; APPEND's dates and the op queue's times come from it too.
 *
 * Each input: byte 0 says how the stream is cut into writes (0xff: one
 * write; n: pieces of 1 to n + 1 bytes); the rest is what the client
 * sends, on one end of a socketpair whose other end runs the session in a
 * thread (the plain listener's path: STARTTLS tries a handshake on the
 * bytes that follow, which fails at the first bad record or at EOF). Once
 * everything is written the write side is shut down; the session must
 * then end on its own (EOF) and close the socket. What it sends is read
 * as it comes, so it never waits on a full socket, and thrown away.
 *
 * In the environment, FUZZ_SESSION_LOG=1 shows the server's log lines and
 * FUZZ_SESSION_ECHO=1 copies what it sends to stderr (to read a corpus
 * file's transcript).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz-session.h"
#include "common/alloc.h"
#include "common/cert.h"
#include "common/file.h"
#include "common/log.h"
#include "common/net.h"
#include "common/tls.h"
#include "imap-private.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_USER     "fuzz@example.org"
#define FUZZ_PASSWORD "bridge-secret"
/* A login the backend cannot check (its answer is -1). */
#define FUZZ_USER_UNAVAILABLE "down@example.org"
/* A session that has not ended this long after its input is a hang. */
/* The largest header section an APPEND keeps as the "summary". */
#define FUZZ_SUMMARY_MAX (64 * 1024)

struct fuzz_env {
	struct fuzz_session_files files;
	struct sb_buf pristine; /* the replica's file */
	struct store_hub *hub;
	struct sb_tls_ctx *tls;
	struct imap_config cfg;
	struct imap_shared shared;
	int64_t account;
	/* What fuzz_meanwhile reads and changes. */
	int64_t inbox, work, trigger, flagged, expunged;
	unsigned meanwhile; /* changes made during this input */
	unsigned long runs;
	bool echo;
};

static struct fuzz_env fuzz;

/*
 * The clock, for everything in the program that asks time(): this
 * definition wins over libc's (see the top of the file for why). Nothing
 * waits on it: the connection's timers read CLOCK_MONOTONIC.
 */
#define FUZZ_NOW 1718000000

time_t
time(time_t *t)
{
	if (t != NULL)
		*t = FUZZ_NOW;
	return FUZZ_NOW;
}

static void SB_NORETURN
fuzz_die(const char *what, const char *error)
{
	fprintf(stderr, "fuzz-session: %s: %s\n", what,
	        error != NULL ? error : "?");
	abort();
}

/* ---- The messages of the replica ---- */

/* Each is given whole; its summary is the header section. */
static const char fuzz_msg_plain[] =
        "Return-Path: <alice@example.org>\r\n"
        "From: Alice Example <alice@example.org>\r\n"
        "To: fuzz@example.org\r\n"
        "Subject: Lunch on Friday?\r\n"
        "Date: Fri, 31 May 2024 09:12:44 +0200\r\n"
        "Message-ID: <m1@example.org>\r\n"
        "\r\n"
        "Hi,\r\n"
        "\r\n"
        "are you free for lunch on Friday?\r\n"
        "\r\n"
        "Alice\r\n";

static const char fuzz_msg_multipart[] =
        "From: Alice Example <alice@example.org>\r\n"
        "To: fuzz@example.org, \"Bob, Jr.\" <bob@example.net>\r\n"
        "Cc: undisclosed-recipients:;\r\n"
        "Reply-To: team@example.org\r\n"
        "Subject: =?UTF-8?Q?Caf=C3=A9?= report\r\n"
        "Date: Mon, 3 Jun 2024 10:00:00 +0200\r\n"
        "Message-ID: <m2@example.org>\r\n"
        "In-Reply-To: <m1@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
        "\r\n"
        "This is a multi-part message in MIME format.\r\n"
        "--outer\r\n"
        "Content-Type: multipart/alternative; boundary=inner\r\n"
        "\r\n"
        "--inner\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Caf=C3=A9 at noon.\r\n"
        "--inner\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Language: fr\r\n"
        "\r\n"
        "<p>Caf&eacute; at noon.</p>\r\n"
        "--inner--\r\n"
        "--outer\r\n"
        "Content-Type: application/pdf; name=\"r.pdf\"\r\n"
        "Content-Disposition: attachment;\r\n"
        " filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "Content-ID: <part3@example.org>\r\n"
        "\r\n"
        "JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI+PgpzdHJlYW0K\r\n"
        "--outer\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "From: Bob <bob@example.net>\r\n"
        "Subject: the inner one\r\n"
        "Date: Sun, 2 Jun 2024 18:30:00 +0000\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "inner body\r\n"
        "--outer--\r\n"
        "epilogue\r\n";

/* Not downloaded: its body is not stored (FETCH BODY[] says NO). */
static const char fuzz_msg_remote[] =
        "From: Service <noreply@service.example>\r\n"
        "To: fuzz@example.org\r\n"
        "Subject: Not downloaded yet\r\n"
        "Date: Tue, 4 Jun 2024 07:00:00 +0000\r\n"
        "\r\n"
        "This body is only on the service.\r\n";

static const char fuzz_msg_8bit[] =
        "From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\n"
        "To: \"J\xc3\xa9r\xc3\xb4me\" <jerome@example.fr>\r\n"
        "Subject: =?UTF-8?B?w6l0w6k=?= \xc3\xa9t\xc3\xa9\r\n"
        "Date: 5 Jun 2024 12:00 -0000\r\n"
        "Content-Type: text/plain; charset=\"utf-8\"; format=flowed\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "\xc3\x87"
        "a va ?\r\n";

static const char fuzz_msg_draft[] = "From: fuzz@example.org\r\n"
                                     "To: carol@example.com\r\n"
                                     "Subject: draft\r\n"
                                     "\r\n"
                                     "Half written\r\n";

static const char fuzz_msg_trash[] = "From: spam@example.biz\r\n"
                                     "Subject: You won\r\n"
                                     "Content-Type: text/plain\r\n"
                                     "\r\n"
                                     "Nothing.\r\n";

/* LF line ends, as some clients APPEND them. */
static const char fuzz_msg_lf[] =
        "From: fuzz@example.org\n"
        "To: dave@example.com\n"
        "Subject: notes\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/alternative; boundary=b\n"
        "\n"
        "--b\n"
        "Content-Type: text/plain\n"
        "\n"
        "plain\n"
        "--b\n"
        "Content-Type: text/enriched\n"
        "\n"
        "<bold>rich</bold>\n"
        "--b--\n";

/* Where the header section ends (after its blank line), or len. */
static size_t
fuzz_header_len(const char *msg, size_t len)
{
	size_t i;

	/* An empty header section. */
	if (len > 0 && msg[0] == '\n')
		return 1;
	if (len > 1 && msg[0] == '\r' && msg[1] == '\n')
		return 2;
	for (i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* Adds a message to mailboxes, with its body stored when `cached`. */
static int
fuzz_add_message(struct store *st, const char *remote_id, const char *msg,
                 const char *keywords, const int64_t *boxes, size_t n_boxes,
                 int64_t received_at, bool cached, int64_t *id_r,
                 const char **error_r)
{
	static const char key_packet[] = "fuzz-key-packet";
	struct store_body_writer *w;
	struct store_message m;
	size_t len = strlen(msg);

	memset(&m, 0, sizeof(m));
	m.account_id = fuzz.account;
	m.remote_id = (char *)remote_id;
	m.blob_id = remote_id != NULL ? (char *)"blob" : NULL;
	m.size = len;
	m.received_at = received_at;
	m.summary = (void *)msg;
	m.summary_len = fuzz_header_len(msg, len);
	m.key_packet = (void *)key_packet;
	m.key_packet_len = sizeof(key_packet) - 1;
	m.keywords = (char *)keywords;
	if (store_message_add(st, &m, boxes, n_boxes, id_r, error_r) < 0)
		return -1;
	if (!cached)
		return 0;
	if (store_body_write_begin(st, *id_r, &w, error_r) < 0)
		return -1;
	if (store_body_write_chunk(w, msg, len, error_r) < 0) {
		store_body_write_abort(&w);
		return -1;
	}
	return store_body_write_end(&w, error_r);
}

/* The same while the replica is made: it cannot fail. */
static int64_t
fuzz_fill_message(struct store *st, const char *remote_id, const char *msg,
                  const char *keywords, const int64_t *boxes, size_t n_boxes,
                  int64_t received_at, bool cached)
{
	const char *error;
	int64_t id;

	if (fuzz_add_message(st, remote_id, msg, keywords, boxes, n_boxes,
	                     received_at, cached, &id, &error) < 0)
		fuzz_die("cannot add a message", error);
	return id;
}

/* \Deleted on a message in a mailbox. */
static void
fuzz_set_deleted(struct store *st, int64_t box, int64_t message)
{
	uint32_t uid;
	const char *error;

	/* Already there: store_mailbox_add_message gives its UID. */
	if (store_mailbox_add_message(st, box, message, &uid, &error) < 0 ||
	    store_mailbox_set_deleted(st, box, uid, true, &error) < 0)
		fuzz_die("cannot flag \\Deleted", error);
}

static int64_t
fuzz_mailbox(struct store *st, const char *remote_id, const char *name,
             const char *parent, const char *role, bool subscribed)
{
	const char *error;
	int64_t id;

	if (store_mailbox_upsert_remote(st, fuzz.account, remote_id, name,
	                                parent, role, &id, &error) < 0 ||
	    store_mailbox_set_subscribed(st, id, subscribed, &error) < 0)
		fuzz_die("cannot make a mailbox", error);
	return id;
}

/* The replica every input starts from. */
static void
fuzz_fill(struct store *st)
{
	int64_t inbox, drafts, trash, work, local, m, two[2];
	const char *error;

	if (store_account_add(st, "acc-1", FUZZ_USER, &fuzz.account, &error) <
	    0)
		fuzz_die("cannot add the account", error);
	inbox = fuzz_mailbox(st, "mb-inbox", "INBOX", NULL, "inbox", true);
	fuzz.inbox = inbox;
	drafts = fuzz_mailbox(st, "mb-drafts", "Drafts", NULL, "drafts", true);
	(void)fuzz_mailbox(st, "mb-sent", "Sent", NULL, "sent", true);
	trash = fuzz_mailbox(st, "mb-trash", "Trash", NULL, "trash", true);
	work = fuzz_mailbox(st, "mb-work", "Work", NULL, NULL, true);
	fuzz.work = work;
	(void)fuzz_mailbox(st, "mb-projects", "Projects", "mb-work", NULL,
	                   false);
	/* Made here, not on the service yet, with a name that needs UTF-7. */
	if (store_mailbox_create(st, fuzz.account, 0, "Re\xc3\xa7us", &local,
	                         &error) < 0)
		fuzz_die("cannot make a mailbox", error);

	fuzz.flagged = fuzz_fill_message(st, "m-1", fuzz_msg_plain, "$seen",
	                                 &inbox, 1, 1717139564, true);
	two[0] = inbox;
	two[1] = work;
	m = fuzz_fill_message(st, "m-2", fuzz_msg_multipart,
	                      "$flagged $label1 project", two, 2, 1717401600,
	                      true);
	fuzz_set_deleted(st, inbox, m);
	(void)fuzz_fill_message(st, "m-3", fuzz_msg_remote, "", &inbox, 1,
	                        1717484400, false);
	fuzz.expunged =
	        fuzz_fill_message(st, "m-4", fuzz_msg_8bit, "$answered $seen",
	                          &inbox, 1, 1717588800, true);
	m = fuzz_fill_message(st, "m-5", fuzz_msg_draft, "$draft $seen",
	                      &drafts, 1, 1717600000, true);
	fuzz_set_deleted(st, drafts, m);
	m = fuzz_fill_message(st, "m-6", fuzz_msg_trash, "$seen", &trash, 1,
	                      1717000000, true);
	fuzz_set_deleted(st, trash, m);
	(void)fuzz_fill_message(st, NULL, fuzz_msg_lf, "", &work, 1, 1717700000,
	                        true);
	(void)fuzz_fill_message(st, NULL, fuzz_msg_plain, "$seen", &local, 1,
	                        1717700001, true);
	/* Expunged from INBOX: a record for QRESYNC's VANISHED. */
	two[1] = trash;
	m = fuzz_fill_message(st, "m-7", fuzz_msg_plain, "", two, 2, 1717800000,
	                      true);
	if (store_mailbox_remove_message(st, inbox, m, &error) < 0)
		fuzz_die("cannot expunge", error);
	fuzz.trigger =
	        fuzz_fill_message(st, "m-8", fuzz_msg_lf, "$seen $forwarded",
	                          &inbox, 1, 1717900000, true);
}

/* ---- The fake backend ---- */

static int
fuzz_login(void *ctx, const char *user, const char *password,
           int64_t *account_r, const char **error_r)
{
	(void)ctx;
	if (strcasecmp(user, FUZZ_USER_UNAVAILABLE) == 0) {
		*error_r = "the vault is locked";
		return -1;
	}
	if (strcasecmp(user, FUZZ_USER) != 0 ||
	    strcmp(password, FUZZ_PASSWORD) != 0)
		return 0;
	*account_r = fuzz.account;
	return 1;
}

/* The summary is the header section; the size the stored body's. */
static int
fuzz_message_headers(void *ctx, struct store *st, int64_t account,
                     int64_t message_id, struct sb_buf *headers,
                     uint64_t *size_r, const char **error_r)
{
	struct store_message m;
	int ret;

	(void)ctx;
	ret = store_message_get(st, message_id, &m, error_r);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = "no such message";
		return -1;
	}
	if (m.account_id != account) {
		store_message_free_contents(&m);
		*error_r = "the message is another account's";
		return -1;
	}
	*size_r = m.size;
	ret = sb_buf_add(headers, m.summary != NULL ? m.summary : "",
	                 m.summary_len);
	store_message_free_contents(&m);
	if (ret < 0)
		*error_r = "the header section is too large";
	return ret;
}

static int
fuzz_body_sink(void *ctx, const void *data, size_t len, const char **error_r)
{
	if (sb_buf_add(ctx, data, len) < 0) {
		*error_r = "the message is too large";
		return -1;
	}
	return 0;
}

/*
 * Reading m-8's body stands for the sync engine at work meanwhile: the
 * first three times in an input, another connection changes INBOX (a
 * keyword of m-1, a new message in INBOX and Work, m-4 expunged), so the
 * session has changes it did not make itself to tell its client. It
 * happens in the session's thread at a fixed point of the command
 * stream, so the input alone decides what the session sees.
 */
static void
fuzz_meanwhile(void)
{
	int64_t boxes[2] = {fuzz.inbox, fuzz.work}, id;
	struct store *st;
	const char *error;
	int ret;

	if (fuzz.meanwhile >= 3)
		return;
	if (store_open(fuzz.files.replica, fuzz.hub, &st, &error) < 0)
		fuzz_die("cannot open the replica", error);
	switch (fuzz.meanwhile++) {
	case 0:
		ret = store_message_change_keywords(
		        st, fuzz.flagged, "$external", "$seen", &error);
		break;
	case 1:
		ret = fuzz_add_message(st, "m-9", fuzz_msg_multipart, "", boxes,
		                       2, 1718000000, true, &id, &error);
		break;
	default:
		ret = store_mailbox_remove_message(st, fuzz.inbox,
		                                   fuzz.expunged, &error);
		break;
	}
	/*
	 * A change fails when the input moved, expunged or deleted what it
	 * touches first: it is then not made, as the sync engine would
	 * find.
	 */
	(void)ret;
	store_close(&st);
}

/* The stored body is the message; one not stored cannot be read. */
static int
fuzz_message_read(void *ctx, struct store *st, int64_t account,
                  int64_t message_id, struct sb_buf *out, const char **error_r)
{
	int ret;

	(void)ctx;
	(void)account;
	if (message_id == fuzz.trigger)
		fuzz_meanwhile();
	ret = store_body_read(st, message_id, 0, UINT64_MAX, fuzz_body_sink,
	                      out, error_r);
	if (ret == 0)
		*error_r = "the service cannot be reached";
	return ret > 0 ? 0 : -1;
}

/*
 * The cache: messages.cache holds each kind kept as kind (1) || length
 * (4) || text, unsealed (the bridge seals its own). It goes back with
 * the replica before each input.
 */
static bool
fuzz_cache_find(const struct sb_buf *v, enum imap_cache_kind kind,
                size_t *off_r, size_t *len_r)
{
	const unsigned char *p = (const unsigned char *)v->data;
	size_t at = 0, len;

	while (v->len - at >= 5) {
		len = (size_t)p[at + 1] << 24 | (size_t)p[at + 2] << 16 |
		      (size_t)p[at + 3] << 8 | p[at + 4];
		if (len > v->len - at - 5)
			break;
		if (p[at] == (unsigned char)kind) {
			*off_r = at + 5;
			*len_r = len;
			return true;
		}
		at += 5 + len;
	}
	return false;
}

static int
fuzz_message_cache_get(void *ctx, struct store *st, int64_t account,
                       int64_t message_id, enum imap_cache_kind kind,
                       struct sb_buf *out, const char **error_r)
{
	struct sb_buf v;
	size_t off, len;
	int ret;

	(void)ctx;
	(void)account;
	sb_buf_init(&v, SIZE_MAX);
	ret = store_message_cache_get(st, message_id, &v, error_r);
	if (ret == 0 && fuzz_cache_find(&v, kind, &off, &len))
		ret = sb_buf_add(out, v.data + off, len) == 0 ? 1 : -1;
	sb_buf_free(&v);
	return ret;
}

static int
fuzz_message_cache_put(void *ctx, struct store *st, int64_t account,
                       int64_t message_id, const struct imap_cache_item *items,
                       size_t count, const char **error_r)
{
	unsigned char head[5];
	struct sb_buf v;
	size_t i, off, len;
	int ret;

	(void)ctx;
	(void)account;
	sb_buf_init(&v, SIZE_MAX);
	ret = store_message_cache_get(st, message_id, &v, error_r);
	for (i = 0; ret == 0 && i < count; i++) {
		if (fuzz_cache_find(&v, items[i].kind, &off, &len))
			continue;
		head[0] = (unsigned char)items[i].kind;
		head[1] = (unsigned char)(items[i].len >> 24);
		head[2] = (unsigned char)(items[i].len >> 16);
		head[3] = (unsigned char)(items[i].len >> 8);
		head[4] = (unsigned char)items[i].len;
		if (sb_buf_add(&v, head, sizeof(head)) < 0 ||
		    sb_buf_add(&v, items[i].data, items[i].len) < 0)
			abort();
	}
	if (ret == 0)
		ret = store_message_cache_set(st, message_id, v.data, v.len,
		                              error_r);
	sb_buf_free(&v);
	return ret;
}

/* An APPEND: the message staged, its bytes the body, its header kept. */
struct fuzz_append {
	struct store *st;
	int64_t message_id;
	struct store_body_writer *w;
	struct sb_buf header;
	bool header_done;
};

static void
fuzz_append_abort(void *p)
{
	struct fuzz_append *a = p;
	const char *error;

	store_body_write_abort(&a->w);
	if (store_stage_drop(a->st, a->message_id, &error) < 0) {
		/* The next input starts from the pristine file anyway. */
	}
	sb_buf_free(&a->header);
	free(a);
}

static int
fuzz_append_begin(void *ctx, struct store *st, int64_t account, uint64_t size,
                  void **append_r, const char **error_r)
{
	struct fuzz_append *a = sb_calloc(1, sizeof(*a));

	(void)ctx;
	a->st = st;
	sb_buf_init(&a->header, FUZZ_SUMMARY_MAX);
	if (store_stage_message(st, account, size, (int64_t)time(NULL),
	                        &a->message_id, error_r) < 0) {
		sb_buf_free(&a->header);
		free(a);
		return -1;
	}
	if (store_body_write_begin(st, a->message_id, &a->w, error_r) < 0) {
		fuzz_append_abort(a);
		return -1;
	}
	*append_r = a;
	return 0;
}

static int
fuzz_append_write(void *p, const void *data, size_t len, const char **error_r)
{
	struct fuzz_append *a = p;
	size_t room, n, end;

	if (!a->header_done) {
		room = FUZZ_SUMMARY_MAX - a->header.len;
		n = len < room ? len : room;
		if (sb_buf_add(&a->header, data, n) < 0)
			abort();
		end = fuzz_header_len(a->header.data, a->header.len);
		if (end < a->header.len || a->header.len == FUZZ_SUMMARY_MAX) {
			sb_buf_truncate(&a->header, end);
			a->header_done = true;
		}
	}
	return store_body_write_chunk(a->w, data, len, error_r);
}

static int
fuzz_append_finish(void *p, int64_t mailbox_id, const char *keywords,
                   int64_t received_at, uint32_t *uid_r, const char **error_r)
{
	static const char key_packet[] = "fuzz-key-packet";
	struct fuzz_append *a = p;
	struct store_append app;

	if (store_body_write_end(&a->w, error_r) < 0) {
		fuzz_append_abort(a);
		return -1;
	}
	memset(&app, 0, sizeof(app));
	app.summary = a->header.data != NULL ? a->header.data : "";
	app.summary_len = a->header.len;
	app.key_packet = key_packet;
	app.key_packet_len = sizeof(key_packet) - 1;
	app.keywords = keywords;
	app.received_at = received_at;
	if (store_local_append(a->st, a->message_id, mailbox_id, &app,
	                       (int64_t)time(NULL), uid_r, error_r) < 0) {
		fuzz_append_abort(a);
		return -1;
	}
	sb_buf_free(&a->header);
	free(a);
	return 0;
}

/* The service's storage: used and limit, in bytes. */
static int
fuzz_quota(void *ctx, int64_t account, uint64_t *used_r, uint64_t *limit_r,
           const char **error_r)
{
	(void)ctx;
	if (account != fuzz.account) {
		*error_r = "no such account";
		return -1;
	}
	*used_r = 123456789;
	*limit_r = 1024ull * 1024 * 1024;
	return 0;
}

/* ---- Set-up, once per process ---- */

static void
fuzz_cleanup(void)
{
	fuzz_session_files_remove(&fuzz.files);
	sb_tls_ctx_free(&fuzz.tls);
	store_hub_free(&fuzz.hub);
	sb_event_close(&fuzz.shared.stop_fd);
	sb_buf_free(&fuzz.pristine);
}

static void
fuzz_setup(void)
{
	struct store *st;
	const char *error;
	bool created;

	if (getenv("FUZZ_SESSION_LOG") == NULL)
		sb_log_set_level(SB_LOG_NONE);
	fuzz.echo = getenv("FUZZ_SESSION_ECHO") != NULL;
	fuzz_session_files_make(&fuzz.files, "fuzz-session");
	atexit(fuzz_cleanup);
	if (sb_cert_ensure(fuzz.files.cert, fuzz.files.key, 30, &created,
	                   &error) < 0 ||
	    sb_tls_server_ctx_new(fuzz.files.cert, fuzz.files.key, &fuzz.tls,
	                          &error) < 0)
		fuzz_die("cannot make the certificate", error);
	if (store_open(fuzz.files.replica, NULL, &st, &error) < 0)
		fuzz_die("cannot make the replica", error);
	fuzz_fill(st);
	store_close(&st);
	/* The last connection closed: the WAL is in the file, and gone. */
	if (access(fuzz.files.wal, F_OK) == 0)
		fuzz_die("the replica's WAL outlived its connection",
		         fuzz.files.wal);
	sb_buf_init(&fuzz.pristine, SIZE_MAX);
	if (sb_file_read_all(fuzz.files.replica, &fuzz.pristine, NULL, &error) <
	    0)
		fuzz_die("cannot read the replica", error);
	fuzz.hub = store_hub_new();
	if (sb_event_new(&fuzz.shared.stop_fd, &error) < 0)
		fuzz_die("cannot make the stop event", error);

	fuzz.cfg.port = IMAP_PORT_OFF;
	fuzz.cfg.tls_port = IMAP_PORT_OFF;
	fuzz.cfg.tls = fuzz.tls;
	fuzz.cfg.replica_path = fuzz.files.replica;
	fuzz.cfg.hub = fuzz.hub;
	/* Input comes at once and EOF ends it: no timer should fire. */
	fuzz.cfg.prelogin_timeout_ms = 5000;
	fuzz.cfg.autologout_ms = 5000;
	fuzz.cfg.login_delay_ms = 1;
	fuzz.cfg.backend.login = fuzz_login;
	fuzz.cfg.backend.message_headers = fuzz_message_headers;
	fuzz.cfg.backend.message_read = fuzz_message_read;
	fuzz.cfg.backend.message_cache_get = fuzz_message_cache_get;
	fuzz.cfg.backend.message_cache_put = fuzz_message_cache_put;
	fuzz.cfg.backend.append_begin = fuzz_append_begin;
	fuzz.cfg.backend.append_write = fuzz_append_write;
	fuzz.cfg.backend.append_finish = fuzz_append_finish;
	fuzz.cfg.backend.append_abort = fuzz_append_abort;
	fuzz.cfg.backend.quota = fuzz_quota;
	fuzz.shared.cfg = &fuzz.cfg;
}

/* The pristine replica back in place (nobody has it open now). */
static void
fuzz_reset(void)
{
	const char *error;

	unlink(fuzz.files.wal);
	unlink(fuzz.files.shm);
	if (sb_file_write_atomic(fuzz.files.replica, fuzz.pristine.data,
	                         fuzz.pristine.len, 0600, &error) < 0)
		fuzz_die("cannot write the replica", error);
}

/* ---- One input ---- */

/* fuzz_session_fn: one session on the server's end. */
static void
fuzz_session_one(void *ctx, int fd)
{
	(void)ctx;
	imap_session_run(&fuzz.shared, fd, false, ++fuzz.runs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (size < 1)
		return 0;
	if (!ready) {
		fuzz_setup();
		ready = true;
	}
	fuzz_reset();
	fuzz.meanwhile = 0;
	fuzz_session_drive(fuzz_session_one, NULL, data + 1, size - 1, data[0],
	                   fuzz.echo);
	return 0;
}
