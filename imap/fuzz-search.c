/*
 * Fuzz target for SEARCH's keys and their test of a message. The first
 * byte picks the mailbox (message count, highest UID) and the message's
 * flags and numbers; the input up to the first NUL is the key list of
 * "a SEARCH ...", framed and parsed as a session would (literals kept),
 * and the rest is the message. When the keys parse, the tree is
 * described and the message matched twice: loading the summary when
 * asked and the message after, and the message alone; both must agree,
 * and "NOT (keys)" must give the opposite answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "imap/search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-search: %s\n", what);
	abort();
}

/* Frames and parses "a SEARCH <keys>\r\n"; 0, or -1 when it is not one. */
static int
fuzz_command(const char *keys, size_t len, bool negate,
             struct imap_command *cmd)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	struct sb_buf line;
	const char *error;
	size_t pos = 0, used;
	int ret = -1;

	imap_limits_default(&l);
	r = imap_reader_new(&l);
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, negate ? "a SEARCH NOT (" : "a SEARCH ") <
	            0 ||
	    sb_buf_add(&line, keys, len) < 0 ||
	    sb_buf_add_str(&line, negate ? ")\r\n" : "\r\n") < 0)
		abort();
	for (;;) {
		enum imap_event_type t = imap_reader_feed(
		        r, line.data + pos, line.len - pos, &used, &ev);

		pos += used;
		if (t == IMAP_EV_LITERAL) {
			if (imap_reader_literal_accept(r, IMAP_LITERAL_BUFFER,
			                               &error) < 0)
				break;
			continue;
		}
		if (t == IMAP_EV_COMMAND) {
			ret = imap_parse_command(ev.command, cmd, &error);
			if (ret < 0)
				imap_command_free(cmd);
		}
		break;
	}
	imap_reader_free(&r);
	sb_buf_free(&line);
	return ret;
}

/*
 * Matches, loading what is asked. message_only: the message comes
 * instead of the summary, as when it was there first.
 */
static bool
fuzz_match(const struct imap_search *search, const uint8_t *msg, size_t len,
           uint8_t pick, bool message_only)
{
	struct imap_search_msg m;
	enum imap_search_result r;
	enum imap_search_cost need;
	const char *text = len > 0 ? (const char *)msg : "";
	const char *end;
	unsigned loads = 0;

	imap_search_msg_init(&m);
	m.seq = 1 + (pick >> 4) % 8;
	m.uid = m.seq * 3;
	m.keywords = pick & 1 ? "$seen $Label1" : "$answered";
	m.deleted = (pick & 2) != 0;
	m.received_at = (int64_t)(pick & 0x0c) * 400000000 - 100000;
	while ((r = imap_search_match(search, &m, &need)) == IMAP_SEARCH_NEED) {
		if (++loads > 2)
			fuzz_fail("asked more than twice");
		if (need == IMAP_SEARCH_COST_SUMMARY && !message_only) {
			if (m.have_summary || m.have_message)
				fuzz_fail("asked for the summary again");
			end = memmem(text, len, "\r\n\r\n", 4);
			m.headers = text;
			m.headers_len =
			        end != NULL ? (size_t)(end - text) + 4 : len;
			m.size = len;
			m.have_summary = true;
		} else {
			if (m.have_message)
				fuzz_fail("asked for the message again");
			m.message = text;
			m.message_len = len;
			m.have_message = true;
		}
	}
	imap_search_msg_free(&m);
	return r == IMAP_SEARCH_YES;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_search_params params[] = {
	        {0, 1}, {1, 3}, {8, 24}, {100000, 4000000000u}};
	const struct imap_search_params *p;
	struct imap_search *search, *negated;
	struct imap_command cmd;
	enum imap_search_error kind;
	const char *error = NULL;
	const uint8_t *nul, *msg;
	struct sb_buf out;
	size_t keys_len, msg_len;
	bool yes;

	if (size < 1)
		return 0;
	p = &params[data[0] % SB_N_ELEMENTS(params)];
	nul = memchr(data + 1, '\0', size - 1);
	keys_len = nul != NULL ? (size_t)(nul - data) - 1 : size - 1;
	msg = nul != NULL ? nul + 1 : data + size;
	msg_len = (size_t)(data + size - msg);
	if (fuzz_command((const char *)data + 1, keys_len, false, &cmd) < 0)
		return 0;
	if (imap_search_parse(cmd.args, cmd.arg_count, p, &search, &kind,
	                      &error) < 0) {
		imap_command_free(&cmd);
		if (error == NULL || search != NULL)
			fuzz_fail("an error without its text, or a tree");
		return 0;
	}
	imap_command_free(&cmd);
	if (search->count == 0 || search->count > IMAP_SEARCH_MAX_NODES)
		fuzz_fail("node count");
	sb_buf_init(&out, SIZE_MAX);
	imap_search_describe(search, &out);
	sb_buf_free(&out);
	yes = fuzz_match(search, msg, msg_len, data[0], false);
	if (fuzz_match(search, msg, msg_len, data[0], true) != yes)
		fuzz_fail("the summary and the message disagree");
	if (fuzz_command((const char *)data + 1, keys_len, true, &cmd) == 0) {
		if (imap_search_parse(cmd.args, cmd.arg_count, p, &negated,
		                      &kind, &error) == 0) {
			if (fuzz_match(negated, msg, msg_len, data[0], false) ==
			    yes)
				fuzz_fail("NOT gives the same answer");
			imap_search_free(&negated);
		}
		imap_command_free(&cmd);
	}
	imap_search_free(&search);
	return 0;
}
