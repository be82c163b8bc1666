/*
 * The server-sent events parser: each case's bytes are fed whole, one
 * byte at a time and at every split into two feeds, and must give the
 * same events.
 */
#include <stdio.h>
#include <string.h>

#include "api/events.h"
#include "common/buf.h"
#include "test.h"

/* Events are recorded as "type|data" lines, data escaped for LF and CR. */
struct seen {
	struct sb_buf text;
	unsigned count;
	unsigned stop_after; /* 0: never stop */
};

static int
on_event(void *ctx, const char *name, const char *data, size_t len)
{
	struct seen *s = ctx;
	size_t i;

	TEST_ASSERT(data[len] == '\0');
	TEST_EQ_INT(sb_buf_add_printf(&s->text, "%s|", name), 0);
	for (i = 0; i < len; i++) {
		const char *esc = data[i] == '\n'   ? "\\n"
		                  : data[i] == '\r' ? "\\r"
		                  : data[i] == '\0' ? "\\0"
		                                    : NULL;

		if (esc != NULL)
			TEST_EQ_INT(sb_buf_add_str(&s->text, esc), 0);
		else
			TEST_EQ_INT(sb_buf_add_char(&s->text, data[i]), 0);
	}
	TEST_EQ_INT(sb_buf_add_char(&s->text, '\n'), 0);
	s->count++;
	return s->stop_after != 0 && s->count >= s->stop_after;
}

/*
 * Feeds input in pieces: whole (step 0), or `step` bytes at a time after
 * a first piece of `first` bytes. Returns the last feed's result.
 */
static int
feed(const char *input, size_t len, size_t first, size_t step, size_t max_line,
     size_t max_event, struct seen *s, const char **error_r)
{
	struct api_sse_parser p;
	size_t off = 0, n;
	int rc = 0;

	sb_buf_init(&s->text, 1 << 20);
	s->count = 0;
	api_sse_parser_init(&p, max_line, max_event, on_event, s);
	while (off < len && rc == 0) {
		n = step == 0 ? len : off == 0 && first > 0 ? first : step;
		if (n > len - off)
			n = len - off;
		rc = api_sse_feed(&p, input + off, n, error_r);
		off += n;
	}
	api_sse_parser_free(&p);
	return rc;
}

/* Checks that every way of feeding input gives expect and result rc. */
static void
check_len(const char *input, size_t len, const char *expect, int rc)
{
	struct seen s = {0};
	const char *error = NULL;
	size_t first;

	TEST_EQ_INT(feed(input, len, 0, 0, 64, 256, &s, &error), rc);
	TEST_EQ_STR(sb_buf_str(&s.text), expect);
	sb_buf_free(&s.text);
	TEST_EQ_INT(feed(input, len, 0, 1, 64, 256, &s, &error), rc);
	TEST_EQ_STR(sb_buf_str(&s.text), expect);
	sb_buf_free(&s.text);
	for (first = 1; first < len; first++) {
		TEST_EQ_INT(feed(input, len, first, len, 64, 256, &s, &error),
		            rc);
		TEST_EQ_STR(sb_buf_str(&s.text), expect);
		sb_buf_free(&s.text);
	}
	if (rc < 0)
		TEST_ASSERT(error != NULL);
}

static void
check(const char *input, const char *expect, int rc)
{
	check_len(input, strlen(input), expect, rc);
}

static void
test_line_endings(void)
{
	static const char expect[] = "state|one\nmessage|two\n";

	check("event: state\ndata: one\n\ndata: two\n\n", expect, 0);
	check("event: state\r\ndata: one\r\n\r\ndata: two\r\n\r\n", expect, 0);
	check("event: state\rdata: one\r\rdata: two\r\r", expect, 0);
	/* Mixed, and a CR then a CRLF: two line ends. */
	check("event: state\r\ndata: one\r\r\ndata: two\n\r", expect, 0);
	/* A blank line at the very start dispatches nothing. */
	check("\r\n\n\revent: state\ndata: one\n\ndata: two\n\n", expect, 0);
}

static void
test_fields(void)
{
	/* Only one space goes; no space is fine; a bare field name. */
	check("data:  two spaces\n\n", "message| two spaces\n", 0);
	check("data:none\n\n", "message|none\n", 0);
	/* One empty data line is an event with empty data. */
	check("data\n\n", "message|\n", 0);
	check("data\ndata\n\n", "message|\\n\n", 0);
	check("data: a:b: c\n\n", "message|a:b: c\n", 0);
	/* Several data lines join with LF; an empty one too. */
	check("data: a\ndata:\ndata: c\n\n", "message|a\\n\\nc\n", 0);
	/* Unknown fields, id and retry do not make an event. */
	check("id: 7\nretry: 1000\nfoo: bar\n\n", "", 0);
	/* An event type without data dispatches nothing, and is reset. */
	check("event: x\n\ndata: y\n\n", "message|y\n", 0);
	/* The type is reset after each event. */
	check("event: x\ndata: 1\n\ndata: 2\n\n", "x|1\nmessage|2\n", 0);
	/* "event:" with an empty value means "message". */
	check("event:\ndata: 1\n\n", "message|1\n", 0);
	/* Field names are case-sensitive. */
	check("Data: 1\n\n", "", 0);
}

static void
test_comments(void)
{
	check(": ping\n\n", "", 0);
	check(":\n:x\ndata: a\n: between\ndata: b\n\n", "message|a\\nb\n", 0);
	/* A comment line does not dispatch the event. */
	check("data: a\n: c\n", "", 0);
}

static void
test_unterminated(void)
{
	check("data: a\n", "", 0);
	check("data: a", "", 0);
	check("data: a\r", "", 0);
	check("data: a\n\ndata: b\n", "message|a\n", 0);
}

static void
test_bom(void)
{
	check("\xef\xbb\xbf"
	      "data: a\n\n",
	      "message|a\n", 0);
	/* Only at the very start. */
	check("data: a\n\n\xef\xbb\xbf"
	      "data: b\n\n",
	      "message|a\n", 0);
	/* A start that is almost a BOM is kept as text. */
	check("\xef\xbb"
	      "data: a\n\n",
	      "", 0);
	check("\xef"
	      ": c\ndata: a\n\n",
	      "message|a\n", 0);
}

static void
test_nul_in_data(void)
{
	static const char input[] = "data: a\0b\n\n";

	check_len(input, sizeof(input) - 1, "message|a\\0b\n", 0);
}

static void
test_id_and_retry(void)
{
	struct api_sse_parser p;
	struct seen s = {0};
	const char *error;
	static const char input[] = "id: 42\nretry: 2500\ndata: x\n\n"
	                            "retry: soon\nid\ndata: y\n\n";

	sb_buf_init(&s.text, 4096);
	api_sse_parser_init(&p, 64, 256, on_event, &s);
	TEST_EQ_INT(api_sse_feed(&p, input, 28, &error), 0);
	TEST_EQ_STR(api_sse_last_id(&p), "42");
	TEST_EQ_UINT(p.retry_ms, 2500);
	TEST_EQ_INT(
	        api_sse_feed(&p, input + 28, sizeof(input) - 1 - 28, &error),
	        0);
	/* A bad retry is ignored; an empty id resets it. */
	TEST_EQ_UINT(p.retry_ms, 2500);
	TEST_EQ_STR(api_sse_last_id(&p), "");
	TEST_EQ_UINT(s.count, 2);
	api_sse_parser_free(&p);
	sb_buf_free(&s.text);
}

static void
test_limits(void)
{
	char line[200], big[600];
	size_t i, off = 0;

	/* A line of 64 bytes is fine, one of 65 is not (max_line 64). */
	memset(line, 'x', sizeof(line));
	memcpy(line, "data: ", 6);
	memcpy(line + 64, "\n\n", 3);
	check(line,
	      "message|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "xxxxxxxx\n",
	      0);
	memcpy(line + 64, "x\n\n", 4);
	check(line, "", -1);
	/* Events before the overlong line are kept; none after it. */
	check("data: a\n\n"
	      ": xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	      "xxxxxxxxxx\ndata: b\n\n",
	      "message|a\n", -1);
	/* Data past max_event (256) in many short lines. */
	for (i = 0; i < 30; i++)
		off += (size_t)snprintf(big + off, sizeof(big) - off,
		                        "data: 0123456789\n");
	snprintf(big + off, sizeof(big) - off, "\n");
	check(big, "", -1);
}

static void
test_failed_stays_failed(void)
{
	struct api_sse_parser p;
	struct seen s = {0};
	const char *error;
	char line[100];

	memset(line, 'x', sizeof(line));
	sb_buf_init(&s.text, 4096);
	api_sse_parser_init(&p, 64, 256, on_event, &s);
	TEST_EQ_INT(api_sse_feed(&p, line, sizeof(line), &error), -1);
	TEST_EQ_INT(api_sse_feed(&p, "\n\ndata: a\n\n", 11, &error), -1);
	TEST_EQ_UINT(s.count, 0);
	api_sse_parser_free(&p);
	sb_buf_free(&s.text);
}

static void
test_stop(void)
{
	struct api_sse_parser p;
	struct seen s = {0};
	const char *error;
	static const char input[] = "data: 1\n\ndata: 2\n\ndata: 3\n\n";

	sb_buf_init(&s.text, 4096);
	s.stop_after = 1;
	api_sse_parser_init(&p, 64, 256, on_event, &s);
	TEST_EQ_INT(api_sse_feed(&p, input, sizeof(input) - 1, &error), 1);
	TEST_EQ_STR(sb_buf_str(&s.text), "message|1\n");
	api_sse_parser_free(&p);
	sb_buf_free(&s.text);
}

static void
test_server_stream(void)
{
	/* What saltmaild sends: a state event, pings, another event. */
	check("event: state\ndata: {\"state\": \"s5\"}\n\n: ping\n\n"
	      ": ping\n\nevent: state\ndata: {\"state\": \"s6\"}\n\n",
	      "state|{\"state\": \"s5\"}\nstate|{\"state\": \"s6\"}\n", 0);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"line endings", test_line_endings},
	        {"fields", test_fields},
	        {"comments", test_comments},
	        {"unterminated event", test_unterminated},
	        {"byte order mark", test_bom},
	        {"NUL in data", test_nul_in_data},
	        {"id and retry", test_id_and_retry},
	        {"limits", test_limits},
	        {"a failed parser stays failed", test_failed_stays_failed},
	        {"stop", test_stop},
	        {"server stream", test_server_stream},
	        {NULL, NULL},
	};

	return test_run(cases);
}
