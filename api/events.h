/*
 * The account's event stream (docs/api.md, GET /api/v1/events): an
 * incremental parser of server-sent events, and the call that reads the
 * stream through it.
 *
 * The parser follows the HTML Living Standard's interpretation of an
 * event stream: lines end in CRLF, LF or CR (a CRLF split between two
 * feeds is still one line end); "event", "data", "id" and "retry" fields,
 * one optional space after the colon removed; data lines joined with LF;
 * lines starting with ':' are comments; a blank line dispatches the event
 * (none without data); a leading UTF-8 BOM is skipped. An event not
 * followed by a blank line is never dispatched. Lines and events have a
 * maximum: passing it is an error, and the parser then refuses more input.
 * Any split of the same bytes into feeds gives the same events.
 */
#ifndef SB_API_EVENTS_H
#define SB_API_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "common/buf.h"
#include "common/compiler.h"

/* The bounds api_events_run uses. */
#define API_SSE_LINE_MAX  4096
#define API_SSE_EVENT_MAX (64 * 1024)

/*
 * Called once per dispatched event with its type ("message" when the
 * event named none) and its data (NUL-terminated after len bytes). Returns
 * 0 to go on, non-zero to stop.
 */
typedef int api_event_fn(void *ctx, const char *name, const char *data,
                         size_t len);

struct api_sse_parser {
	api_event_fn *fn;
	void *ctx;
	size_t max_line;
	struct sb_buf line; /* the line read so far */
	struct sb_buf data; /* the event's data lines, each ended by LF */
	struct sb_buf name; /* the event's type; empty: "message" */
	struct sb_buf id;   /* the last event id (kept across events) */
	uint64_t retry_ms;  /* the last "retry" field; 0 when none came */
	unsigned bom_seen;  /* bytes of a leading BOM matched, 3 when done */
	bool after_cr;      /* the last line ended in CR: skip one LF */
	bool failed;        /* a limit was passed: no more input */
};

/*
 * Sets up a parser whose lines may be max_line bytes and events' data
 * max_event bytes, calling fn(ctx, ...) per event.
 */
void api_sse_parser_init(struct api_sse_parser *p, size_t max_line,
                         size_t max_event, api_event_fn *fn, void *ctx);
void api_sse_parser_free(struct api_sse_parser *p);

/*
 * Feeds len bytes of the stream. Returns 0 when every byte was read (an
 * event may be waiting for more), 1 when fn asked to stop (the bytes after
 * that event's blank line are not read), -1 with error_r when a line or
 * an event passed its maximum.
 */
int api_sse_feed(struct api_sse_parser *p, const void *data, size_t len,
                 const char **error_r) SB_WUR;

/* The last event id seen ("" when none). */
const char *api_sse_last_id(const struct api_sse_parser *p);

/* How long a healthy stream may be silent: the server pings every 25 s. */
#define API_EVENTS_STALL_S 60

/*
 * Reads the account's event stream (with the session's token, refreshed
 * once on token_expired as api_call does), calling fn(ctx, name, data,
 * len) per event. Returns:
 *   1 when fn asked to stop, or stop_fd (an eventfd or any fd, -1 for
 *     none) became readable; stop_fd is watched at least every 200 ms
 *     and is not read;
 *   0 when the stream ended or broke after it was open (connect again);
 *   -1 with r saying why when it could not be opened (an API error, a
 *     failure to reach the service), when it sent nothing for
 *     API_EVENTS_STALL_S seconds, or when it passed a parser limit.
 * The call is not retried: the caller connects again, with a delay of
 * its own. A client reading the stream is busy until this returns, so a
 * program that also makes calls uses another api_client for them.
 */
int api_events_run(struct api_client *c, api_event_fn *fn, void *ctx,
                   int stop_fd, struct api_reply *r) SB_WUR;

#endif
