/*
 * The header given to each copy of a message being sent (send.h): the
 * header section is gathered (at most BRIDGE_SEND_HEADER_MAX bytes),
 * then written to each copy with or without its Bcc fields and with the
 * Date and Message-ID a submission server adds when the client did not
 * (RFC 6409 8.3, 8.4); the body follows as it comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "bridge/send.h"
#include "common/alloc.h"

struct bridge_send_build {
	const struct bridge_send_out *outs;
	size_t n_outs;
	char *domain;
	struct sb_buf header; /* gathered; secret: it is message content */
	bool in_body;
	bool id_field; /* the client wrote a Message-ID field */
	bool id_added; /* the Message-ID is ours, not the client's */
	const char *error;
	char message_id[256];
};

struct bridge_send_build *
bridge_send_build_new(const struct bridge_send_out *outs, size_t n_outs,
                      const char *sender)
{
	struct bridge_send_build *b = sb_calloc(1, sizeof(*b));
	const char *at = strrchr(sender, '@');

	b->outs = outs;
	b->n_outs = n_outs;
	b->domain = sb_strdup(
	        at != NULL && at[1] != '\0' ? at + 1 : "saltbridge.invalid");
	sb_buf_init_secret(&b->header, BRIDGE_SEND_HEADER_MAX);
	return b;
}

void
bridge_send_build_free(struct bridge_send_build **bp)
{
	struct bridge_send_build *b = *bp;

	if (b == NULL)
		return;
	sb_buf_free(&b->header);
	free(b->domain);
	free(b);
	*bp = NULL;
}

const char *
bridge_send_build_error(const struct bridge_send_build *b)
{
	return b->error;
}

const char *
bridge_send_build_header(const struct bridge_send_build *b, size_t *len_r)
{
	*len_r = b->in_body ? b->header.len : 0;
	return b->in_body ? b->header.data : "";
}

const char *
bridge_send_build_message_id(const struct bridge_send_build *b)
{
	return b->id_added ? "" : b->message_id;
}

/* Writes to every copy, or to those with keep_bcc == bcc only. */
static int
bridge_send_emit(struct bridge_send_build *b, const void *p, size_t len,
                 int only_bcc)
{
	size_t i;

	for (i = 0; i < b->n_outs; i++) {
		if (only_bcc >= 0 && b->outs[i].keep_bcc != (only_bcc != 0))
			continue;
		if (len > 0 && b->outs[i].sink(b->outs[i].ctx, p, len) < 0)
			return -1;
	}
	return 0;
}

/* The field's name is name (case-insensitive), followed by a colon. */
static bool
bridge_send_field_is(const char *field, size_t len, const char *name)
{
	size_t n = strlen(name), i = n;

	if (len <= n || strncasecmp(field, name, n) != 0)
		return false;
	while (i < len && (field[i] == ' ' || field[i] == '\t'))
		i++;
	return i < len && field[i] == ':';
}

/* The length of the field at p: its first line and its continuations. */
static size_t
bridge_send_field_len(const char *p, size_t left)
{
	size_t i = 0;

	for (;;) {
		const char *nl = memchr(p + i, '\n', left - i);

		i = nl != NULL ? (size_t)(nl - p) + 1 : left;
		if (i >= left || (p[i] != ' ' && p[i] != '\t'))
			return i;
	}
}

/* Copies the value of a Message-ID field (without the brackets). */
static void
bridge_send_take_id(struct bridge_send_build *b, const char *f, size_t len)
{
	const char *lt = memchr(f, '<', len), *gt;

	if (lt == NULL)
		return;
	gt = memchr(lt, '>', len - (size_t)(lt - f));
	if (gt != NULL && (size_t)(gt - lt - 1) < sizeof(b->message_id))
		snprintf(b->message_id, sizeof(b->message_id), "%.*s",
		         (int)(gt - lt - 1), lt + 1);
}

/* The fields the client left out, written first to every copy. */
static int
bridge_send_added(struct bridge_send_build *b, bool has_date)
{
	char line[512], date[64];
	unsigned char raw[16];
	char hex[33];
	struct tm tm;
	time_t now = time(NULL);

	if (!has_date) {
		gmtime_r(&now, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000",
		         &tm);
		snprintf(line, sizeof(line), "Date: %s\r\n", date);
		if (bridge_send_emit(b, line, strlen(line), -1) < 0)
			return -1;
	}
	/* One the client wrote, even one we cannot read, is not doubled. */
	if (!b->id_field) {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
		snprintf(b->message_id, sizeof(b->message_id), "%s@%s", hex,
		         b->domain);
		b->id_added = true;
		snprintf(line, sizeof(line), "Message-ID: <%s>\r\n",
		         b->message_id);
		if (bridge_send_emit(b, line, strlen(line), -1) < 0)
			return -1;
	}
	return 0;
}

/* The header section is whole (its empty line included): writes it out. */
static int
bridge_send_header(struct bridge_send_build *b)
{
	const char *p = b->header.data;
	size_t left = b->header.len, len;
	bool has_date = false;

	/* The fields' names first, so that the added ones come on top. */
	for (; left > 0; p += len, left -= len) {
		len = bridge_send_field_len(p, left);
		if (bridge_send_field_is(p, len, "Date"))
			has_date = true;
		else if (bridge_send_field_is(p, len, "Message-ID")) {
			b->id_field = true;
			bridge_send_take_id(b, p, len);
		}
	}
	if (bridge_send_added(b, has_date) < 0)
		return -1;
	p = b->header.data;
	for (left = b->header.len; left > 0; p += len, left -= len) {
		int only = -1;

		len = bridge_send_field_len(p, left);
		if (bridge_send_field_is(p, len, "Bcc") ||
		    bridge_send_field_is(p, len, "Resent-Bcc"))
			only = 1;
		if (bridge_send_emit(b, p, len, only) < 0)
			return -1;
	}
	b->in_body = true;
	return 0;
}

/* The end of the header section in what was gathered, or 0. */
static size_t
bridge_send_header_end(const struct sb_buf *h, size_t from)
{
	size_t i;

	/* From before the new bytes: "\n\r" may end the last piece. */
	for (i = from >= 2 ? from - 2 : 0; i < h->len; i++) {
		if (h->data[i] != '\n')
			continue;
		/* A line start: an empty line ends the header section. */
		if (i + 1 < h->len && h->data[i + 1] == '\n')
			return i + 2;
		if (i + 2 < h->len && h->data[i + 1] == '\r' &&
		    h->data[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Where the header section ends in what was gathered, or 0. */
static size_t
bridge_send_gathered_end(const struct bridge_send_build *b, size_t before)
{
	/* A message starting with its empty line has no fields. */
	if (b->header.len >= 2 && memcmp(b->header.data, "\r\n", 2) == 0)
		return 2;
	if (b->header.len >= 1 && b->header.data[0] == '\n')
		return 1;
	return bridge_send_header_end(&b->header, before);
}

int
bridge_send_build_write(void *ctx, const void *data, size_t len)
{
	struct bridge_send_build *b = ctx;
	const char *p = data;
	size_t before, end, take, room;
	struct sb_buf rest;
	int ret;

	if (b->error != NULL)
		return -1;
	while (!b->in_body && len > 0) {
		/* Only header bytes count against the header's maximum. */
		room = BRIDGE_SEND_HEADER_MAX - b->header.len;
		if (room == 0) {
			b->error = "the header section is too large";
			return -1;
		}
		take = len < room ? len : room;
		before = b->header.len;
		if (sb_buf_add(&b->header, p, take) < 0)
			abort(); /* within the maximum */
		p += take;
		len -= take;
		end = bridge_send_gathered_end(b, before);
		if (end == 0)
			continue;
		/* What came after the empty line is body. */
		sb_buf_init_secret(&rest, SIZE_MAX);
		if (sb_buf_add(&rest, b->header.data + end,
		               b->header.len - end) < 0)
			abort(); /* no maximum */
		sb_buf_truncate(&b->header, end);
		ret = bridge_send_header(b);
		if (ret == 0)
			ret = bridge_send_emit(b, rest.data, rest.len, -1);
		sb_buf_free(&rest);
		if (ret < 0)
			return -1;
	}
	return len > 0 ? bridge_send_emit(b, p, len, -1) : 0;
}

int
bridge_send_build_finish(struct bridge_send_build *b, const char **error_r)
{
	/* A message with no empty line is all header: end it with one. */
	if (!b->in_body) {
		bool open_line = b->header.len > 0 &&
		                 b->header.data[b->header.len - 1] != '\n';

		if ((open_line && sb_buf_add(&b->header, "\r\n", 2) < 0) ||
		    sb_buf_add(&b->header, "\r\n", 2) < 0)
			b->error = "the header section is too large";
		if (b->error != NULL || bridge_send_header(b) < 0) {
			*error_r = b->error != NULL
			                   ? b->error
			                   : "cannot write the message";
			return -1;
		}
	}
	return 0;
}
