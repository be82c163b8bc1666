/*
 * saltmaild import: an mbox file or a Maildir brought into an account,
 * each message encrypted on arrival exactly as saltmaild deliver does
 * (srv_inbound_*), filed many per transaction so that a large import is
 * fast and a running server shows it in its change feed as it goes.
 *
 * Messages stream: the mbox reader hands out one message's bytes at a
 * time through a fixed buffer, and a Maildir is walked twice (count, then
 * import) rather than listed into memory.
 */
#include "server-private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/date.h"
#include "common/progress.h"

/* A transaction files at most this many messages ... */
#define SRV_IMPORT_BATCH 100
/* ... holding at most this many bytes of summaries in memory ... */
#define SRV_IMPORT_BATCH_BYTES (8 * 1024 * 1024)
/* ... and commits once its first message waited this long. */
#define SRV_IMPORT_BATCH_MS 1000

#define SRV_MBOX_BUF      65536
#define SRV_MBOX_FROM_MAX 1000
#define SRV_PATH_MAX      4096

/* The error text of a failed import (this thread's, until the next). */
static _Thread_local char srv_import_error[SRV_PATH_MAX + 128];

/* Set by SIGINT or SIGTERM: stop after the message being read. */
static volatile sig_atomic_t srv_import_stopping;

static void
srv_import_on_signal(int sig)
{
	(void)sig;
	srv_import_stopping = 1;
}

/* ---- The mbox reader ---- */

/*
 * mboxrd (and mboxo): a message starts after a line beginning "From ";
 * the line end just before the next such line (or the end of the file)
 * is the separator's, not the message's; one '>' is taken off lines that
 * match ">+From ". A run of '>' longer than the buffer is left as it is.
 */
struct srv_mbox {
	int fd;
	char *buf;
	size_t pos, len;
	bool eof;
	bool bol;     /* at the start of a line */
	bool held_nl; /* a line end not given out yet: maybe the separator */
	bool in_msg;  /* a message is being read */
	uint64_t read_total; /* bytes read from the file */
	uint64_t index;      /* of the current message, from 1 */
	uint64_t start;      /* of its "From " line in the file */
};

enum srv_mbox_line {
	SRV_MBOX_END,
	SRV_MBOX_PLAIN,
	SRV_MBOX_ESCAPED, /* ">From ", ">>From ", ... */
	SRV_MBOX_FROM,
};

/* Bytes of the file consumed so far. */
static uint64_t
srv_mbox_offset(const struct srv_mbox *mb)
{
	return mb->read_total - (mb->len - mb->pos);
}

/* Reads until need bytes are buffered, the buffer is full, or the end. */
static int SB_WUR
srv_mbox_fill(struct srv_mbox *mb, size_t need)
{
	ssize_t n;

	if (need > SRV_MBOX_BUF)
		need = SRV_MBOX_BUF;
	while (mb->len - mb->pos < need && !mb->eof) {
		if (mb->pos > 0) {
			memmove(mb->buf, mb->buf + mb->pos, mb->len - mb->pos);
			mb->len -= mb->pos;
			mb->pos = 0;
		}
		n = read(mb->fd, mb->buf + mb->len, SRV_MBOX_BUF - mb->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			mb->eof = true;
		mb->len += (size_t)n;
		mb->read_total += (uint64_t)n;
	}
	return 0;
}

/* What the line starting at pos is: an srv_mbox_line, or -1. */
static int SB_WUR
srv_mbox_line_kind(struct srv_mbox *mb)
{
	size_t k = 0, avail;

	do {
		if (srv_mbox_fill(mb, k + 5) != 0)
			return -1;
		avail = mb->len - mb->pos;
		while (k < avail && mb->buf[mb->pos + k] == '>')
			k++;
	} while (avail < k + 5 && !mb->eof && avail < SRV_MBOX_BUF);
	if (avail == 0)
		return SRV_MBOX_END;
	if (avail >= k + 5 && memcmp(mb->buf + mb->pos + k, "From ", 5) == 0)
		return k == 0 ? SRV_MBOX_FROM : SRV_MBOX_ESCAPED;
	return SRV_MBOX_PLAIN;
}

/* The current message's next bytes, unescaped: a count, 0 at its end. */
static ssize_t SB_WUR
srv_mbox_read(struct srv_mbox *mb, char *out, size_t cap)
{
	const char *nl;
	size_t o = 0, n;
	int kind;

	while (o < cap && mb->in_msg) {
		if (mb->bol) {
			kind = srv_mbox_line_kind(mb);
			if (kind < 0)
				return -1;
			if (kind == SRV_MBOX_END || kind == SRV_MBOX_FROM) {
				/* The held line end was the separator. */
				mb->held_nl = false;
				mb->in_msg = false;
			} else if (mb->held_nl) {
				out[o++] = '\n';
				mb->held_nl = false;
			} else {
				if (kind == SRV_MBOX_ESCAPED)
					mb->pos++;
				mb->bol = false;
			}
			continue;
		}
		if (mb->pos == mb->len && srv_mbox_fill(mb, 1) != 0)
			return -1;
		if (mb->pos == mb->len) {
			/* The file ends without a line end. */
			mb->in_msg = false;
			break;
		}
		n = mb->len - mb->pos;
		if (n > cap - o)
			n = cap - o;
		nl = memchr(mb->buf + mb->pos, '\n', n);
		if (nl != NULL) {
			n = (size_t)(nl - (mb->buf + mb->pos));
			mb->held_nl = true;
			mb->bol = true;
		}
		memcpy(out + o, mb->buf + mb->pos, n);
		o += n;
		mb->pos += n + (nl != NULL ? 1 : 0);
	}
	return (ssize_t)o;
}

/* Consumes the rest of the line at pos, its line end included. */
static int SB_WUR
srv_mbox_skip_line(struct srv_mbox *mb)
{
	const char *nl;

	for (;;) {
		if (srv_mbox_fill(mb, 1) != 0)
			return -1;
		if (mb->pos == mb->len)
			return 0;
		nl = memchr(mb->buf + mb->pos, '\n', mb->len - mb->pos);
		if (nl != NULL) {
			mb->pos = (size_t)(nl - mb->buf) + 1;
			return 0;
		}
		mb->pos = mb->len;
	}
}

/*
 * The time of a "From SENDER DATE" line (ctime's date, maybe followed by
 * more), or 0 when it has none that parses.
 */
static uint64_t
srv_mbox_from_time(const char *line, size_t len)
{
	struct sb_date d;
	const char *error;
	size_t i = 5, date;

	while (len > i && (line[len - 1] == '\r' || line[len - 1] == ' '))
		len--;
	while (i < len && line[i] != ' ' && line[i] != '\t')
		i++;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	date = i;
	if ((sb_date_parse_rfc5322(line + date, len - date, &d, &error) == 0 ||
	     (len - date > 24 &&
	      sb_date_parse_rfc5322(line + date, 24, &d, &error) == 0)) &&
	    d.time > 0)
		return (uint64_t)d.time;
	return 0;
}

/*
 * Moves to the next message (skipping what is left of the current one)
 * and reads its "From " line: 1, 0 at the end of the file, or -1.
 */
static int SB_WUR
srv_mbox_next(struct srv_mbox *mb, uint64_t *received_r, const char **error_r)
{
	char scratch[16384], line[SRV_MBOX_FROM_MAX];
	ssize_t n;
	size_t len;
	int kind;

	*error_r = "cannot read the mbox file";
	do
		n = srv_mbox_read(mb, scratch, sizeof(scratch));
	while (n > 0);
	kind = n < 0 ? -1 : srv_mbox_line_kind(mb);
	if (kind < 0)
		return -1;
	if (kind == SRV_MBOX_END)
		return 0;
	mb->start = srv_mbox_offset(mb);
	if (kind != SRV_MBOX_FROM) {
		*error_r = "the file does not start with a \"From \" line: "
		           "not an mbox file";
		return -1;
	}
	if (srv_mbox_fill(mb, SRV_MBOX_FROM_MAX) != 0)
		return -1;
	len = mb->len - mb->pos;
	if (len > sizeof(line))
		len = sizeof(line);
	memcpy(line, mb->buf + mb->pos, len);
	if (memchr(line, '\n', len) != NULL)
		len = (size_t)((char *)memchr(line, '\n', len) - line);
	*received_r = srv_mbox_from_time(line, len);
	if (srv_mbox_skip_line(mb) != 0)
		return -1;
	mb->index++;
	mb->bol = true;
	mb->held_nl = false;
	mb->in_msg = true;
	return 1;
}

/* ---- Batches and progress ---- */

struct srv_import {
	sqlite3 *db;
	char *blob_dir;
	struct srv_inbound_to to;
	uint64_t max;
	struct srv_import_stats *stats;

	struct srv_inbound batch[SRV_IMPORT_BATCH];
	size_t n;
	size_t batch_bytes;
	uint64_t batch_ms; /* when its first message came */

	bool progress;
	struct sb_progress bar;      /* begun at the first bytes read */
	uint64_t bytes, total_bytes; /* of the source */
};

/* Where one message's bytes come from. */
struct srv_import_source {
	struct srv_import *imp;
	struct srv_mbox *mb; /* NULL: fd is one Maildir file */
	int fd;
	uint64_t base; /* source bytes before this file */
	uint64_t got;  /* bytes read from fd */
};

static uint64_t
srv_import_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Shows the bytes read so far out of the source's size
 * (common/progress.h: on a terminal, redrawn at most 10 times a second).
 */
static void
srv_import_draw(struct srv_import *imp)
{
	uint64_t bytes = imp->bytes;

	if (!imp->progress)
		return;
	if (!imp->bar.active)
		sb_progress_begin_bytes(&imp->bar, "saltmaild import", "read",
		                        0, imp->total_bytes);
	if (imp->total_bytes > 0 && bytes > imp->total_bytes)
		bytes = imp->total_bytes;
	sb_progress_update(&imp->bar, bytes);
}

static void SB_PRINTF(2, 3)
        srv_import_warn(struct srv_import *imp, const char *fmt, ...)
{
	va_list ap;

	/* The bar is drawn again by the next bytes read. */
	if (imp->progress)
		sb_progress_hide();
	fputs("saltmaild: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The read_fn of srv_inbound_encrypt: the source's bytes, counted. */
static ssize_t SB_WUR
srv_import_read(void *ctx, void *buf, size_t len)
{
	struct srv_import_source *src = ctx;
	ssize_t n;

	if (src->mb != NULL) {
		n = srv_mbox_read(src->mb, buf, len);
		src->imp->bytes = srv_mbox_offset(src->mb);
	} else {
		do
			n = read(src->fd, buf, len);
		while (n < 0 && errno == EINTR);
		if (n > 0)
			src->got += (uint64_t)n;
		src->imp->bytes = src->base + src->got;
	}
	srv_import_draw(src->imp);
	return n;
}

/*
 * Files the batch in one transaction; the bodies are moved into place
 * inside it and unlinked again if it does not commit.
 */
static int SB_WUR
srv_import_flush(struct srv_import *imp, const char **error_r)
{
	char *placed[SRV_IMPORT_BATCH];
	size_t i, n_placed = 0;
	int ret = -1;

	if (imp->n == 0)
		return 0;
	if (srv_db_exec(imp->db, "BEGIN IMMEDIATE") != 0) {
		*error_r = "the database is busy";
		goto out;
	}
	for (i = 0; i < imp->n; i++) {
		if (srv_inbound_file(imp->db, imp->blob_dir, &imp->to,
		                     &imp->batch[i], &placed[n_placed],
		                     error_r) != 0)
			break;
		n_placed++;
	}
	if (i == imp->n && srv_db_exec(imp->db, "COMMIT") == 0) {
		imp->stats->imported += imp->n;
		ret = 0;
	} else {
		if (i == imp->n)
			*error_r = "cannot commit the import";
		(void)!srv_db_exec(imp->db, "ROLLBACK");
		for (i = 0; i < n_placed; i++)
			unlink(placed[i]);
	}
out:
	for (i = 0; i < n_placed; i++)
		free(placed[i]);
	for (i = 0; i < imp->n; i++)
		srv_inbound_clear(&imp->batch[i]);
	imp->n = 0;
	imp->batch_bytes = 0;
	return ret;
}

/*
 * Encrypts the source's message and adds it to the batch, filing the
 * batch when it is full or old. A message too large or empty is skipped
 * with a warning naming it (what); anything else that fails is fatal.
 */
static int SB_WUR
srv_import_one(struct srv_import *imp, struct srv_import_source *src,
               const char *what, uint64_t received_at,
               const struct api_strings *keywords, const char **error_r)
{
	struct srv_inbound *in = &imp->batch[imp->n];
	const char *error;
	bool too_large;
	size_t i;

	srv_inbound_init(in);
	in->received_at = received_at;
	for (i = 0; keywords != NULL && i < keywords->count; i++)
		api_strings_add(&in->keywords, keywords->items[i]);
	if (srv_inbound_encrypt(imp->blob_dir, &imp->to, srv_import_read, src,
	                        imp->max, in, &error) != 0) {
		too_large = in->too_large;
		srv_inbound_clear(in);
		if (!too_large) {
			*error_r = error;
			return -1;
		}
		srv_import_warn(imp, "%s: %s, skipped", what, error);
		imp->stats->skipped++;
		return 0;
	}
	if (in->size == 0) {
		srv_inbound_clear(in);
		srv_import_warn(imp, "%s: empty, skipped", what);
		imp->stats->skipped++;
		return 0;
	}
	if (imp->n++ == 0)
		imp->batch_ms = srv_import_ms();
	imp->batch_bytes += in->summary.len;
	if (imp->n == SRV_IMPORT_BATCH ||
	    imp->batch_bytes >= SRV_IMPORT_BATCH_BYTES ||
	    srv_import_ms() - imp->batch_ms >= SRV_IMPORT_BATCH_MS)
		return srv_import_flush(imp, error_r);
	return 0;
}

/* ---- Sources ---- */

static int SB_WUR
srv_import_mbox(struct srv_import *imp, int fd, const char **error_r)
{
	struct srv_import_source src = {imp, NULL, -1, 0, 0};
	struct srv_mbox mb;
	uint64_t received;
	char what[64];
	int rc = 0;

	memset(&mb, 0, sizeof(mb));
	mb.fd = fd;
	mb.buf = sb_malloc(SRV_MBOX_BUF);
	mb.bol = true;
	src.mb = &mb;
	while (!srv_import_stopping) {
		rc = srv_mbox_next(&mb, &received, error_r);
		if (rc <= 0)
			break;
		snprintf(what, sizeof(what), "message %llu (at byte %llu)",
		         (unsigned long long)mb.index,
		         (unsigned long long)mb.start);
		rc = srv_import_one(imp, &src, what, received, NULL, error_r);
		if (rc != 0)
			break;
	}
	free(mb.buf);
	return rc < 0 ? -1 : 0;
}

/*
 * The keywords of a Maildir file's flags (the name's ":2,FLAGS" suffix);
 * returns whether it is marked trashed (T).
 */
static bool
srv_maildir_flags(const char *name, struct api_strings *keywords)
{
	static const char *const map[][2] = {
	        {"S", "$seen"},  {"F", "$flagged"},   {"R", "$answered"},
	        {"D", "$draft"}, {"P", "$forwarded"},
	};
	const char *info = strrchr(name, ':');
	bool trashed = false;
	size_t i;

	if (info == NULL || strncmp(info, ":2,", 3) != 0)
		return false;
	for (info += 3; *info != '\0'; info++) {
		trashed = trashed || *info == 'T';
		for (i = 0; i < SB_N_ELEMENTS(map); i++) {
			if (*info == map[i][0][0] &&
			    !api_strings_has(keywords, map[i][1]))
				api_strings_add(keywords, map[i][1]);
		}
	}
	return trashed;
}

/* Imports one Maildir file; what cannot be read is skipped. */
static int SB_WUR
srv_maildir_one(struct srv_import *imp, const char *path, const char *name,
                const char **error_r)
{
	struct srv_import_source src = {imp, NULL, -1, imp->bytes, 0};
	struct api_strings keywords = {NULL, 0};
	struct stat st;
	int fd, ret = 0;

	memset(&st, 0, sizeof(st));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		srv_import_warn(imp, "%s: %s, skipped", path,
		                strerrordesc_np(errno));
		imp->stats->skipped++;
	} else if (!S_ISREG(st.st_mode)) {
		/* Not a message; not counted either. */
	} else if (srv_maildir_flags(name, &keywords)) {
		imp->stats->skipped++;
		imp->stats->trashed++;
	} else if ((uint64_t)st.st_size > imp->max) {
		srv_import_warn(imp, "%s: larger than %llu bytes, skipped",
		                path, (unsigned long long)imp->max);
		imp->stats->skipped++;
	} else {
		src.fd = fd;
		ret = srv_import_one(imp, &src, path,
		                     st.st_mtime > 0 ? (uint64_t)st.st_mtime
		                                     : 0,
		                     &keywords, error_r);
	}
	if (fd >= 0 && S_ISREG(st.st_mode))
		imp->bytes = src.base + (uint64_t)st.st_size;
	if (fd >= 0)
		close(fd);
	api_strings_free(&keywords);
	srv_import_draw(imp);
	return ret;
}

/*
 * Walks DIR/cur and DIR/new: with count set, only adds up the bytes of
 * their message files for the progress bar; otherwise imports them.
 */
static int SB_WUR
srv_maildir_walk(struct srv_import *imp, const char *dir, bool count,
                 const char **error_r)
{
	static const char *const subs[] = {"cur", "new"};
	char sub[SRV_PATH_MAX], path[SRV_PATH_MAX];
	struct dirent *de;
	struct stat st;
	size_t i;
	DIR *d;
	int ret = 0;

	for (i = 0; i < SB_N_ELEMENTS(subs) && ret == 0; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, subs[i]);
		d = opendir(sub);
		if (d == NULL && errno == ENOENT)
			continue;
		if (d == NULL) {
			snprintf(srv_import_error, sizeof(srv_import_error),
			         "cannot read %s: %s", sub,
			         strerrordesc_np(errno));
			*error_r = srv_import_error;
			return -1;
		}
		while (ret == 0 && !srv_import_stopping &&
		       (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", sub,
			             de->d_name) >= (int)sizeof(path)) {
				if (!count)
					srv_import_warn(imp,
					                "%s/%s: the path "
					                "is too long, skipped",
					                sub, de->d_name);
				continue;
			}
			if (!count) {
				ret = srv_maildir_one(imp, path, de->d_name,
				                      error_r);
			} else if (stat(path, &st) == 0 &&
			           S_ISREG(st.st_mode)) {
				imp->total_bytes += (uint64_t)st.st_size;
			}
		}
		closedir(d);
	}
	return ret;
}

static int SB_WUR
srv_import_maildir(struct srv_import *imp, const char *dir,
                   const char **error_r)
{
	char sub[SRV_PATH_MAX];
	struct stat st;
	bool any = false;

	if (strlen(dir) + 5 >= sizeof(sub)) {
		*error_r = "the Maildir's path is too long";
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s/cur", dir);
	any = stat(sub, &st) == 0 && S_ISDIR(st.st_mode);
	snprintf(sub, sizeof(sub), "%s/new", dir);
	any = any || (stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
	if (!any) {
		snprintf(srv_import_error, sizeof(srv_import_error),
		         "%s is a folder without cur/ or new/: not a Maildir",
		         dir);
		*error_r = srv_import_error;
		return -1;
	}
	if (imp->progress && srv_maildir_walk(imp, dir, true, error_r) != 0)
		return -1;
	return srv_maildir_walk(imp, dir, false, error_r);
}

/* Opens the path and imports what it holds. */
static int SB_WUR
srv_import_path(struct srv_import *imp, const char *path, const char **error_r)
{
	struct stat st;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(srv_import_error, sizeof(srv_import_error),
		         "cannot open %s: %s", path, strerrordesc_np(errno));
		*error_r = srv_import_error;
	} else if (S_ISDIR(st.st_mode)) {
		ret = srv_import_maildir(imp, path, error_r);
	} else if (S_ISREG(st.st_mode)) {
		imp->total_bytes = (uint64_t)st.st_size;
		ret = srv_import_mbox(imp, fd, error_r);
	} else {
		snprintf(srv_import_error, sizeof(srv_import_error),
		         "%s is neither an mbox file nor a Maildir", path);
		*error_r = srv_import_error;
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int
srv_import(const char *data_dir, const char *email, const char *mailbox,
           const char *path, bool progress, struct srv_import_stats *stats_r,
           const char **error_r)
{
	struct srv_import *imp = sb_calloc(1, sizeof(*imp));
	struct sigaction sa, old_int, old_term;
	struct srv_config defaults;
	char mailbox_id[SRV_ID_SIZE];
	size_t i;
	int ret = -1;

	memset(stats_r, 0, sizeof(*stats_r));
	srv_config_default(&defaults);
	imp->max = defaults.max_blob;
	imp->stats = stats_r;
	imp->progress = progress;
	if (progress)
		sb_progress_terminal(stderr);
	imp->to.mailbox = mailbox;
	/* An interrupted import keeps what it filed, whole messages only. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = srv_import_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	srv_import_stopping = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if (access(path, F_OK) != 0) {
		snprintf(srv_import_error, sizeof(srv_import_error),
		         "cannot open %s: %s", path, strerrordesc_np(errno));
		*error_r = srv_import_error;
	} else if (srv_inbound_open(data_dir, email, &imp->db, &imp->blob_dir,
	                            &imp->to, error_r) == 0 &&
	           srv_inbound_mailbox(imp->db, &imp->to, mailbox_id,
	                               error_r) == 0 &&
	           srv_import_path(imp, path, error_r) == 0 &&
	           srv_import_flush(imp, error_r) == 0) {
		ret = 0;
	}
	if (ret == 0 && srv_import_stopping) {
		*error_r = "interrupted";
		ret = -1;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sb_progress_end(&imp->bar, ret == 0 ? "done" : "stopped");
	if (progress)
		sb_progress_terminal(NULL);
	for (i = 0; i < imp->n; i++)
		srv_inbound_clear(&imp->batch[i]);
	sqlite3_close(imp->db);
	free(imp->blob_dir);
	free(imp);
	return ret;
}
