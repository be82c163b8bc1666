/*
 * SEARCH's keys and their test of a message (search.h): key lists read
 * into trees (shown with imap_search_describe, cheapest keys first),
 * refusals (BAD, and NO [BADCHARSET]), the limits on nesting and size,
 * case folding, and messages matched with the loading steps they asked
 * for: flags without the summary, header keys without the body, encoded
 * headers and bodies decoded before matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "imap/search.h"
#include "test.h"

/* A command "a SEARCH <keys>" framed and parsed, literals kept. */
static void
command_parse(const char *keys, size_t len, struct imap_command *cmd)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	struct sb_buf line;
	const char *error;
	size_t pos = 0, used;
	enum imap_event_type t;

	imap_limits_default(&l);
	r = imap_reader_new(&l);
	sb_buf_init(&line, SIZE_MAX);
	if (sb_buf_add_str(&line, "a SEARCH") < 0 ||
	    (len > 0 && (sb_buf_add_char(&line, ' ') < 0 ||
	                 sb_buf_add(&line, keys, len) < 0)) ||
	    sb_buf_add_str(&line, "\r\n") < 0)
		abort();
	for (;;) {
		t = imap_reader_feed(r, line.data + pos, line.len - pos, &used,
		                     &ev);
		pos += used;
		if (t == IMAP_EV_LITERAL) {
			TEST_EQ_INT(imap_reader_literal_accept(
			                    r, IMAP_LITERAL_BUFFER, &error),
			            0);
			continue;
		}
		if (t == IMAP_EV_COMMAND)
			break;
		test_fail(__FILE__, __LINE__, "the reader said %d for %s",
		          (int)t, keys);
	}
	if (imap_parse_command(ev.command, cmd, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s: %s", keys, error);
	imap_reader_free(&r);
	sb_buf_free(&line);
}

static const struct imap_search_params params10 = {10, 42};

/* Parses keys (len bytes); 0 with *search_r, or -1 with the error. */
static int
parse_keys(const char *keys, size_t len, const struct imap_search_params *p,
           struct imap_search **search_r, enum imap_search_error *kind_r,
           const char **error_r)
{
	struct imap_command cmd;
	int ret;

	command_parse(keys, len, &cmd);
	ret = imap_search_parse(cmd.args, cmd.arg_count, p, search_r, kind_r,
	                        error_r);
	imap_command_free(&cmd);
	return ret;
}

static void
expect_tree_p(const char *keys, const struct imap_search_params *p,
              const char *want, int line)
{
	struct imap_search *search;
	enum imap_search_error kind;
	const char *error = NULL;
	struct sb_buf out;

	if (parse_keys(keys, strlen(keys), p, &search, &kind, &error) != 0)
		test_fail(__FILE__, line, "%s: %s", keys, error);
	sb_buf_init(&out, SIZE_MAX);
	imap_search_describe(search, &out);
	if (strcmp(sb_buf_str(&out), want) != 0)
		test_fail(__FILE__, line, "%s:\n got  %s\n want %s", keys,
		          sb_buf_str(&out), want);
	sb_buf_free(&out);
	imap_search_free(&search);
	TEST_ASSERT(search == NULL);
}

#define expect_tree(keys, want) expect_tree_p(keys, &params10, want, __LINE__)

static void
expect_error_p(const char *keys, size_t len, const struct imap_search_params *p,
               enum imap_search_error want, int line)
{
	struct imap_search *search = NULL;
	enum imap_search_error kind;
	const char *error = NULL;

	if (parse_keys(keys, len, p, &search, &kind, &error) == 0)
		test_fail(__FILE__, line, "%.*s was accepted", (int)len, keys);
	if (search != NULL || error == NULL || kind != want)
		test_fail(__FILE__, line, "%.*s: kind %d, error %s", (int)len,
		          keys, (int)kind, error != NULL ? error : "(none)");
}

#define expect_bad(keys)                                                      \
	expect_error_p(keys, strlen(keys), &params10, IMAP_SEARCH_ERR_SYNTAX, \
	               __LINE__)

static void
test_parse_keys(void)
{
	expect_tree("ALL", "(and true)");
	expect_tree("all", "(and true)");
	expect_tree("SEEN UNSEEN ANSWERED UNANSWERED",
	            "(and keyword:$seen !keyword:$seen keyword:$answered "
	            "!keyword:$answered)");
	expect_tree("DRAFT UNDRAFT FLAGGED UNFLAGGED DELETED UNDELETED",
	            "(and keyword:$draft !keyword:$draft keyword:$flagged "
	            "!keyword:$flagged deleted !deleted)");
	/* \Recent is never set: NEW is nothing, OLD everything. */
	expect_tree("NEW OLD RECENT", "(and false true false)");
	expect_tree("KEYWORD $Label1 UNKEYWORD work",
	            "(and keyword:$Label1 !keyword:work)");
	expect_tree("1:3,5", "(and seq:1:3,5)");
	expect_tree("*", "(and seq:10)");
	expect_tree("5:*", "(and seq:5:10)");
	expect_tree("UID 1:*", "(and uid:1:42)");
	expect_tree("UID 100:*", "(and uid:42:100)");
	expect_tree("UID 7,9", "(and uid:7,9)");
	expect_tree("SINCE 1-Feb-1994", "(and since:8797)");
	expect_tree("BEFORE \"31-Dec-1969\" ON 1-Jul-2003",
	            "(and before:-1 on:12234)");
	expect_tree(
	        "SENTSINCE 3-Nov-2026 SENTON 3-Nov-2026 SENTBEFORE 3-Nov-2026",
	        "(and sentsince:20760 senton:20760 sentbefore:20760)");
	expect_tree("LARGER 100 SMALLER 2000", "(and larger:100 smaller:2000)");
	expect_tree("LARGER 18446744073709551615",
	            "(and larger:18446744073709551615)");
	expect_tree("FROM alice TO \"Bob Smith\" CC c BCC d",
	            "(and header:from:\"alice\" header:to:\"bob smith\" "
	            "header:cc:\"c\" header:bcc:\"d\")");
	expect_tree("SUBJECT HeLLo", "(and header:subject:\"hello\")");
	expect_tree("HEADER X-Spam-Flag YES",
	            "(and header:x-spam-flag:\"yes\")");
	expect_tree("HEADER Subject \"\"", "(and header:subject:\"\")");
	expect_tree("BODY x TEXT \"Two Words\"",
	            "(and body:\"x\" text:\"two words\")");
	expect_bad("NIL");
	/* RFC 7162's MODSEQ, its entry name read and ignored. */
	expect_tree("MODSEQ 620162338", "(and modseq:620162338)");
	expect_tree("MODSEQ \"/flags/\\\\draft\" all 0", "(and modseq:0)");
	expect_tree("MODSEQ \"/FLAGS/$Work\" priv 9223372036854775807",
	            "(and modseq:9223372036854775807)");
}

/* Whether the answer must carry (MODSEQ n). */
static void
test_parse_modseq_flag(void)
{
	static const struct {
		const char *keys;
		bool modseq;
	} cases[] = {
	        {"ALL", false},
	        {"MODSEQ 5", true},
	        {"NOT (SEEN OR ALL MODSEQ 1)", true},
	};
	struct imap_search *search;
	enum imap_search_error kind;
	const char *error;
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(cases); i++) {
		TEST_EQ_INT(parse_keys(cases[i].keys, strlen(cases[i].keys),
		                       &params10, &search, &kind, &error),
		            0);
		TEST_EQ_INT(search->modseq, cases[i].modseq);
		imap_search_free(&search);
	}
}

static void
test_parse_structure(void)
{
	expect_tree("NOT SEEN", "(and (not keyword:$seen))");
	expect_tree("NOT NOT SEEN", "(and (not (not keyword:$seen)))");
	expect_tree("OR SEEN FLAGGED",
	            "(and (or keyword:$seen keyword:$flagged))");
	expect_tree("OR OR SEEN FLAGGED DRAFT",
	            "(and (or (or keyword:$seen keyword:$flagged) "
	            "keyword:$draft))");
	expect_tree("OR SEEN OR FLAGGED DRAFT",
	            "(and (or keyword:$seen (or keyword:$flagged "
	            "keyword:$draft)))");
	expect_tree("(SEEN DELETED)", "(and (and keyword:$seen deleted))");
	expect_tree("(((SEEN)))", "(and (and (and (and keyword:$seen))))");
	expect_tree("OR (SEEN DRAFT) NOT FLAGGED",
	            "(and (or (and keyword:$seen keyword:$draft) "
	            "(not keyword:$flagged)))");
	expect_tree("NOT (SUBJECT a SEEN)",
	            "(and (not (and keyword:$seen header:subject:\"a\")))");
	/* Cheapest first, at every level, keeping the order otherwise. */
	expect_tree(
	        "BODY x SUBJECT y UID 5 SEEN",
	        "(and uid:5 keyword:$seen header:subject:\"y\" body:\"x\")");
	expect_tree("OR BODY x SEEN", "(and (or keyword:$seen body:\"x\"))");
	expect_tree("OR (TEXT a LARGER 5) (FROM b 2)",
	            "(and (or (and seq:2 header:from:\"b\") "
	            "(and larger:5 text:\"a\")))");
	/* CHARSET, and literals. */
	expect_tree("CHARSET UTF-8 SUBJECT {6}\r\nCAF\xc3\x89s",
	            "(and header:subject:\"caf\\xc3\\xa9s\")");
	expect_tree("CHARSET us-ascii TEXT HeLLo", "(and text:\"hello\")");
	expect_tree("CHARSET \"utf-8\" ALL", "(and true)");
	/* No CHARSET: UTF-8 is taken too (a superset of US-ASCII). */
	expect_tree("BODY {5}\r\n\xce\xa3\xce\xb1x",
	            "(and body:\"\\xcf\\x83\\xce\\xb1x\")");
	expect_tree("HEADER {7}\r\nX-Thing {0}\r\n",
	            "(and header:x-thing:\"\")");
}

static void
test_parse_errors(void)
{
	static const struct imap_search_params empty = {0, 1};
	static const char *const bad[] = {
	        "",
	        "FOO",
	        "SEEN FOO",
	        "SUBJECT",
	        "HEADER Subject",
	        "NOT",
	        "OR SEEN",
	        "OR",
	        "()",
	        "SEEN ()",
	        "(SUBJECT) x",
	        "(OR SEEN) DRAFT",
	        "(NOT) SEEN",
	        "BEFORE 32-Jan-2000",
	        "BEFORE yesterday",
	        "SINCE 1-Feb-1994-",
	        "ON (1-Feb-1994)",
	        "LARGER x",
	        "LARGER -1",
	        "SMALLER 18446744073709551616",
	        "SMALLER",
	        "UID",
	        "UID x",
	        "UID 0",
	        "0",
	        "11",
	        "1:11",
	        "$",
	        "1:3,$",
	        "UID $",
	        "1,",
	        "KEYWORD",
	        "KEYWORD \\Seen",
	        "KEYWORD (a)",
	        "\"SEEN\"",
	        "SUBJECT (a)",
	        "CHARSET",
	        "CHARSET UTF-8",
	        "CHARSET (UTF-8) ALL",
	        "SEEN CHARSET UTF-8",
	        "SUBJECT {1}\r\n\xff",
	        "TEXT {3}\r\n\xe2\x82x",
	        "MODSEQ",
	        "MODSEQ x",
	        "MODSEQ 9223372036854775808",
	        "MODSEQ \"/flags/\\\\seen\" 5",
	        "MODSEQ \"/flags/\\\\seen\" mine 5",
	        "MODSEQ \"/other/x\" all 5",
	        "MODSEQ \"/flags/\" all 5",
	        "MODSEQ \"/flags/\\\\seen\" all",
	};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(bad); i++)
		expect_error_p(bad[i], strlen(bad[i]), &params10,
		               IMAP_SEARCH_ERR_SYNTAX, __LINE__);
	/* Sequence numbers in an empty mailbox, as FETCH answers them. */
	expect_error_p("1:*", 3, &empty, IMAP_SEARCH_ERR_SYNTAX, __LINE__);
	expect_error_p("1", 1, &empty, IMAP_SEARCH_ERR_SYNTAX, __LINE__);
	expect_tree_p("UID 1:*", &empty, "(and uid:1)", __LINE__);
	/* Other charsets: NO [BADCHARSET], before the keys are read. */
	expect_error_p("CHARSET ISO-8859-1 SUBJECT x", 28, &params10,
	               IMAP_SEARCH_ERR_CHARSET, __LINE__);
	expect_error_p("CHARSET KOI8-R FOO", 18, &params10,
	               IMAP_SEARCH_ERR_CHARSET, __LINE__);
}

/* A chain of n copies of `unit` followed by `end`. */
static char *
chain(const char *unit, size_t n, const char *end)
{
	struct sb_buf b;

	sb_buf_init(&b, SIZE_MAX);
	while (n-- > 0) {
		if (sb_buf_add_str(&b, unit) < 0)
			abort();
	}
	if (sb_buf_add_str(&b, end) < 0)
		abort();
	return sb_buf_take(&b, NULL);
}

static void
test_parse_limits(void)
{
	char *keys, *want;
	struct sb_buf w;
	size_t i;

	/* The root and 31 NOTs are 32 operators deep: fine; 32 are not. */
	keys = chain("NOT ", IMAP_SEARCH_MAX_DEPTH - 1, "SEEN");
	sb_buf_init(&w, SIZE_MAX);
	if (sb_buf_add_str(&w, "(and ") < 0)
		abort();
	for (i = 0; i < IMAP_SEARCH_MAX_DEPTH - 1; i++) {
		if (sb_buf_add_str(&w, "(not ") < 0)
			abort();
	}
	if (sb_buf_add_str(&w, "keyword:$seen") < 0)
		abort();
	for (i = 0; i < IMAP_SEARCH_MAX_DEPTH; i++) {
		if (sb_buf_add_char(&w, ')') < 0)
			abort();
	}
	want = sb_buf_take(&w, NULL);
	expect_tree(keys, want);
	free(keys);
	free(want);
	keys = chain("NOT ", IMAP_SEARCH_MAX_DEPTH, "SEEN");
	expect_bad(keys);
	free(keys);
	keys = chain("OR SEEN ", 40, "SEEN");
	expect_bad(keys);
	free(keys);
	keys = chain("NOT ", 5000, "SEEN");
	expect_bad(keys);
	free(keys);
	/* Many keys side by side: up to IMAP_SEARCH_MAX_NODES nodes. */
	keys = chain("SEEN ", IMAP_SEARCH_MAX_NODES - 2, "SEEN");
	{
		struct imap_search *search;
		enum imap_search_error kind;
		const char *error;

		TEST_EQ_INT(parse_keys(keys, strlen(keys), &params10, &search,
		                       &kind, &error),
		            0);
		TEST_EQ_UINT(search->count, IMAP_SEARCH_MAX_NODES);
		imap_search_free(&search);
	}
	free(keys);
	keys = chain("SEEN ", IMAP_SEARCH_MAX_NODES, "SEEN");
	expect_bad(keys);
	free(keys);
	/* A large set is read once, as the seqset parser limits it. */
	keys = chain("1,", 3000, "2");
	expect_tree(keys, "(and seq:1:2)");
	free(keys);
}

static void
test_fold(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	        {"ABCxyz[@`{", "abcxyz[@`{"},
	        {"CAF\xc3\x89 \xc3\x9f \xc3\x97",
	         "caf\xc3\xa9 \xc3\x9f \xc3\x97"},
	        /* Latin Extended-A, both pairings; Ÿ; İ and ı stay. */
	        {"\xc4\x80\xc4\xb9\xc5\xb8\xc4\xb0\xc4\xb1",
	         "\xc4\x81\xc4\xba\xc3\xbf\xc4\xb0\xc4\xb1"},
	        /* Greek: ΣΑΣ, final sigma, Ά, Ώ. */
	        {"\xce\xa3\xce\x91\xcf\x82\xce\x86\xce\x8f",
	         "\xcf\x83\xce\xb1\xcf\x83\xce\xac\xcf\x8e"},
	        /* Cyrillic: ЖЁ, Armenian Ա. */
	        {"\xd0\x96\xd0\x81\xd4\xb1", "\xd0\xb6\xd1\x91\xd5\xa1"},
	        /* Three-byte characters and stray bytes stay. */
	        {"\xe2\x82\xac\x80\xc3", "\xe2\x82\xac\x80\xc3"},
	        {"\xc3\xc3\x89", "\xc3\xc3\xa9"},
	};
	size_t i;

	for (i = 0; i < SB_N_ELEMENTS(cases); i++) {
		char *s = strdup(cases[i].in);

		TEST_ASSERT(s != NULL);
		imap_search_fold(s, strlen(s));
		TEST_EQ_STR(s, cases[i].out);
		free(s);
	}
}

/* ---- Messages ---- */

struct tmsg {
	const char *text;
	const char *keywords;
	bool deleted;
	int64_t received_at;
	uint32_t seq, uid;
	uint64_t modseq;
};

/* What a test run loaded. */
enum {
	LOADED_SUMMARY = 1,
	LOADED_MESSAGE = 2,
};

/*
 * Matches keys against a message, loading what is asked for (the
 * summary is the header section and the size). With message_only, a
 * summary asked for is refused and the message loaded instead, as when
 * it came first.
 */
static bool
run_match(const char *keys, const struct tmsg *t, bool message_only,
          unsigned *loaded_r, int line)
{
	struct imap_search *search;
	enum imap_search_error kind;
	enum imap_search_result r;
	enum imap_search_cost need;
	struct imap_search_msg m;
	const char *error = NULL, *end;
	unsigned loads = 0;

	if (parse_keys(keys, strlen(keys), &params10, &search, &kind, &error) !=
	    0)
		test_fail(__FILE__, line, "%s: %s", keys, error);
	imap_search_msg_init(&m);
	m.seq = t->seq;
	m.uid = t->uid;
	m.keywords = t->keywords;
	m.deleted = t->deleted;
	m.received_at = t->received_at;
	m.modseq = t->modseq;
	*loaded_r = 0;
	while ((r = imap_search_match(search, &m, &need)) == IMAP_SEARCH_NEED) {
		if (++loads > 2)
			test_fail(__FILE__, line, "%s: asked too often", keys);
		if (need == IMAP_SEARCH_COST_SUMMARY && !message_only) {
			TEST_ASSERT(!m.have_summary && !m.have_message);
			end = strstr(t->text, "\r\n\r\n");
			m.headers = t->text;
			m.headers_len = end != NULL
			                        ? (size_t)(end - t->text) + 4
			                        : strlen(t->text);
			m.size = strlen(t->text);
			m.have_summary = true;
			*loaded_r |= LOADED_SUMMARY;
		} else {
			TEST_ASSERT(!m.have_message);
			m.message = t->text;
			m.message_len = strlen(t->text);
			m.have_message = true;
			*loaded_r |= LOADED_MESSAGE;
		}
	}
	imap_search_msg_free(&m);
	imap_search_free(&search);
	return r == IMAP_SEARCH_YES;
}

static void
expect_match_l(const char *keys, const struct tmsg *t, bool want,
               unsigned want_loaded, int line)
{
	unsigned loaded;
	bool got = run_match(keys, t, false, &loaded, line);

	if (got != want || loaded != want_loaded)
		test_fail(__FILE__, line, "%s: %s after loading %u", keys,
		          got ? "match" : "no match", loaded);
	/* The message alone gives the same answer. */
	if (run_match(keys, t, true, &loaded, line) != want)
		test_fail(__FILE__, line, "%s: differs with the message only",
		          keys);
}

#define expect_match(keys, t, want, loaded) \
	expect_match_l(keys, t, want, loaded, __LINE__)

/* 3 Nov 2026 23:30 -0500 is 4 Nov 04:30 UTC; received on 5 Nov. */
static const struct tmsg msg_latin1 = {
        "From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>\r\n"
        "To: Bob <bob@example.org>,\r\n"
        " carol@example.org\r\n"
        "Cc: dave@example.org\r\n"
        "Subject: =?ISO-8859-1?Q?Caf=E9?= meeting\r\n"
        "Date: Tue, 3 Nov 2026 23:30:00 -0500\r\n"
        "X-Tag: alpha\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Caf=E9 at noon, bring the =C9CLAIRS, and a long line that is =\r\n"
        "folded softly.\r\n",
        "$seen $Label1",
        false,
        1793856000, /* 2026-11-05 05:20 UTC */
        3,
        17,
        40,
};

/* "Grüße aus Köln" in base64, an attachment, a message attached. */
static const struct tmsg msg_multi = {
        "From: Zoë <zoe@example.net>\r\n"
        "To: team@example.net\r\n"
        "Subject: Plain subject\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=\"xx\"\r\n"
        "\r\n"
        "--xx\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "R3LDvMOfZSBhdXMgS8O2bG4=\r\n"
        "--xx\r\n"
        "Content-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        "c2VjcmV0d29yZA==\r\n"
        "--xx\r\n"
        "Content-Type: message/rfc822\r\n"
        "\r\n"
        "Subject: =?UTF-8?B?SW5uZXIgdG9waWM=?=\r\n"
        "\r\n"
        "Inner body words.\r\n"
        "--xx--\r\n",
        "$answered $flagged",
        true,
        1700000000, /* 2023-11-14 22:13 UTC */
        5,
        30,
        2,
};

static void
test_match_cheap(void)
{
	const struct tmsg *a = &msg_latin1, *b = &msg_multi;

	expect_match("ALL", a, true, 0);
	expect_match("SEEN", a, true, 0);
	expect_match("UNSEEN", a, false, 0);
	expect_match("SEEN", b, false, 0);
	expect_match("ANSWERED FLAGGED DELETED", b, true, 0);
	expect_match("UNDELETED", b, false, 0);
	expect_match("KEYWORD $label1", a, true, 0);
	expect_match("KEYWORD $LABEL1 UNKEYWORD $label2", a, true, 0);
	expect_match("UNKEYWORD $label1", a, false, 0);
	expect_match("KEYWORD $label", a, false, 0);
	expect_match("3", a, true, 0);
	expect_match("1:2,4:*", a, false, 0);
	expect_match("UID 17", a, true, 0);
	expect_match("UID 1:16,18:*", a, false, 0);
	expect_match("NEW", a, false, 0);
	expect_match("OLD", a, true, 0);
	expect_match("RECENT", a, false, 0);
	expect_match("ON 5-Nov-2026", a, true, 0);
	expect_match("SINCE 5-Nov-2026 BEFORE 6-Nov-2026", a, true, 0);
	expect_match("BEFORE 5-Nov-2026", a, false, 0);
	expect_match("SINCE 6-Nov-2026", a, false, 0);
	expect_match("OR SEEN DELETED", b, true, 0);
	expect_match("NOT (SEEN DELETED)", b, true, 0);
	expect_match("OR NOT 3 UID 17", a, true, 0);
	expect_match("MODSEQ 40", a, true, 0);
	expect_match("MODSEQ 41", a, false, 0);
	/* Decided by the flags: the header keys are never read. */
	expect_match("SUBJECT {5}\r\ncaf\xc3\xa9 UNSEEN", a, false, 0);
	expect_match("OR BODY x SEEN", a, true, 0);
	expect_match("NOT (BODY x SEEN)", b, true, 0);
}

static void
test_match_headers(void)
{
	const struct tmsg *a = &msg_latin1, *b = &msg_multi;

	/* Decoded from ISO-8859-1 quoted-printable, and case-folded. */
	expect_match("SUBJECT {5}\r\ncaf\xc3\xa9", a, true, LOADED_SUMMARY);
	expect_match("SUBJECT {5}\r\nCAF\xc3\x89", a, true, LOADED_SUMMARY);
	expect_match("SUBJECT {10}\r\ncaf\xc3\xa9 meet", a, true,
	             LOADED_SUMMARY);
	expect_match("SUBJECT =?ISO", a, false, LOADED_SUMMARY);
	expect_match("FROM {7}\r\nm\xc3\xbcller", a, true, LOADED_SUMMARY);
	expect_match("FROM {7}\r\nM\xc3\x9cLLER", a, true, LOADED_SUMMARY);
	expect_match("FROM JOERG@example.ORG", a, true, LOADED_SUMMARY);
	expect_match("FROM {4}\r\nzo\xc3\xab", b, true, LOADED_SUMMARY);
	/* Unfolded. */
	expect_match("TO \"bob@example.org>, carol\"", a, true, LOADED_SUMMARY);
	expect_match("CC dave", a, true, LOADED_SUMMARY);
	expect_match("CC dave", b, false, LOADED_SUMMARY);
	expect_match("BCC dave", a, false, LOADED_SUMMARY);
	expect_match("HEADER x-tag ALPHA", a, true, LOADED_SUMMARY);
	expect_match("HEADER X-Tag \"\"", a, true, LOADED_SUMMARY);
	expect_match("HEADER X-Tag \"\"", b, false, LOADED_SUMMARY);
	expect_match("HEADER X-Tag beta", a, false, LOADED_SUMMARY);
	expect_match("NOT HEADER X-Tag \"\"", b, true, LOADED_SUMMARY);
	/* The header of an attached message is not the message's. */
	expect_match("SUBJECT inner", b, false, LOADED_SUMMARY);
	/* Sizes. */
	expect_match("LARGER 100", a, true, LOADED_SUMMARY);
	expect_match("SMALLER 100", a, false, LOADED_SUMMARY);
	{
		char keys[64];

		snprintf(keys, sizeof(keys), "LARGER %zu", strlen(a->text) - 1);
		expect_match(keys, a, true, LOADED_SUMMARY);
		snprintf(keys, sizeof(keys), "LARGER %zu", strlen(a->text));
		expect_match(keys, a, false, LOADED_SUMMARY);
		snprintf(keys, sizeof(keys), "SMALLER %zu", strlen(a->text));
		expect_match(keys, a, false, LOADED_SUMMARY);
		snprintf(keys, sizeof(keys), "SMALLER %zu",
		         strlen(a->text) + 1);
		expect_match(keys, a, true, LOADED_SUMMARY);
	}
	/* The Date: header's own day, whatever the time in UTC. */
	expect_match("SENTON 3-Nov-2026", a, true, LOADED_SUMMARY);
	expect_match("SENTBEFORE 4-Nov-2026", a, true, LOADED_SUMMARY);
	expect_match("SENTBEFORE 3-Nov-2026", a, false, LOADED_SUMMARY);
	expect_match("SENTSINCE 4-Nov-2026", a, false, LOADED_SUMMARY);
	expect_match("SENTSINCE 3-Nov-2026", a, true, LOADED_SUMMARY);
	/* No Date: INTERNALDATE's day instead. */
	expect_match("SENTON 14-Nov-2023", b, true, LOADED_SUMMARY);
	/* The summary decides; the body is not read. */
	expect_match("OR SUBJECT {5}\r\ncaf\xc3\xa9 BODY nowhere", a, true,
	             LOADED_SUMMARY);
	expect_match("SUBJECT nowhere BODY noon", a, false, LOADED_SUMMARY);
}

static void
test_match_bodies(void)
{
	const struct tmsg *a = &msg_latin1, *b = &msg_multi;
	const unsigned both = LOADED_SUMMARY | LOADED_MESSAGE;

	/* Quoted-printable, ISO-8859-1, soft line breaks, case. */
	expect_match("BODY {8}\r\n\xc3\xa9"
	             "clairs",
	             a, true, LOADED_MESSAGE);
	expect_match("BODY {13}\r\ncaf\xc3\xa9 at noon", a, true,
	             LOADED_MESSAGE);
	expect_match("BODY \"that is folded softly\"", a, true, LOADED_MESSAGE);
	expect_match("BODY =C9", a, false, LOADED_MESSAGE);
	expect_match("BODY meeting", a, false, LOADED_MESSAGE);
	expect_match("TEXT meeting", a, true, LOADED_MESSAGE);
	expect_match("TEXT {7}\r\nm\xc3\xbcller", a, true, LOADED_MESSAGE);
	expect_match("TEXT noon", a, true, LOADED_MESSAGE);
	expect_match("TEXT nowhere", a, false, LOADED_MESSAGE);
	/* Base64 UTF-8, an attachment that is not text, a message in it. */
	expect_match("BODY {17}\r\ngr\xc3\xbc\xc3\x9f"
	             "e aus k\xc3\xb6ln",
	             b, true, LOADED_MESSAGE);
	expect_match("BODY {7}\r\nGR\xc3\x9c\xc3\x9f"
	             "E",
	             b, true, LOADED_MESSAGE);
	expect_match("BODY secretword", b, false, LOADED_MESSAGE);
	expect_match("BODY \"inner topic\"", b, true, LOADED_MESSAGE);
	expect_match("BODY \"inner body\"", b, true, LOADED_MESSAGE);
	expect_match("BODY \"plain subject\"", b, false, LOADED_MESSAGE);
	expect_match("TEXT \"plain subject\"", b, true, LOADED_MESSAGE);
	expect_match("BODY \"\"", b, true, LOADED_MESSAGE);
	/* The summary first when it could decide, then the message. */
	expect_match("SUBJECT plain BODY inner", b, true, both);
	expect_match("OR SUBJECT nowhere BODY {5}\r\nk\xc3\xb6ln", b, true,
	             both);
	expect_match("NOT (FROM zoe TEXT secretword)", b, true, both);
}

static const struct test_case cases[] = {
        {"parse_keys", test_parse_keys},
        {"parse_structure", test_parse_structure},
        {"parse_modseq_flag", test_parse_modseq_flag},
        {"parse_errors", test_parse_errors},
        {"parse_limits", test_parse_limits},
        {"fold", test_fold},
        {"match_cheap", test_match_cheap},
        {"match_headers", test_match_headers},
        {"match_bodies", test_match_bodies},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
