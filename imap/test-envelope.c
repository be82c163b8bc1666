/*
 * ENVELOPE, BODYSTRUCTURE, BODY and the section map: expected text written
 * by hand from RFC 3501 7.4.2 for representative messages of the MIME
 * corpus (common/testdata/mime) and for broken ones made here; and, for
 * every message of the corpus (and of Python's email tests when
 * installed), text that RFC 3501's grammar accepts whole, with sizes and
 * line counts equal to those counted in the bytes each section names.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/test-secret.h"
#include "imap/bodystructure.h"
#include "imap/envelope.h"
#include "test-imap-syntax.h"
#include "test.h"

#define CORPUS       "../common/testdata/mime"
#define PY_EMAIL_DIR "/usr/lib/python3.11/test/test_email/data"

/* ---- Helpers ---- */

static char *
read_corpus(const char *name, size_t *len_r)
{
	char path[256];

	(void)snprintf(path, sizeof(path), "%s/%s", CORPUS, name);
	return test_read_file(path, len_r);
}

static void
expect_envelope(const char *header, const char *expected)
{
	struct sb_buf out;
	const char *error = NULL;

	sb_buf_init(&out, 1 << 20);
	TEST_EQ_INT(imap_envelope_write(header, strlen(header), &out), 0);
	TEST_EQ_STR(sb_buf_str(&out), expected);
	if (tis_check_envelope(out.data, out.len, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s", error);
	sb_buf_free(&out);
}

/* BODYSTRUCTURE or BODY of msg parsed with limits (NULL: defaults). */
static char *
structure(const char *msg, size_t len, bool extended,
          const struct mime_limits *limits)
{
	struct mime_part *root = mime_parse(msg, len, limits);
	struct sb_buf out;

	sb_buf_init(&out, 1 << 24);
	TEST_EQ_INT(imap_bodystructure_write(root, msg, len, extended, &out),
	            0);
	mime_part_free(&root);
	return sb_buf_take(&out, NULL);
}

static void
expect_structure(const char *msg, size_t len, const char *bodystructure,
                 const char *body)
{
	char *got = structure(msg, len, true, NULL);

	TEST_EQ_STR(got, bodystructure);
	free(got);
	if (body != NULL) {
		got = structure(msg, len, false, NULL);
		TEST_EQ_STR(got, body);
		free(got);
	}
}

/* The bytes of a section, or "ERROR" when it does not exist. */
static void
expect_section(const char *msg, size_t len, const char *spec,
               const char *expected)
{
	struct imap_section_range r;
	const char *error = NULL;

	if (imap_section_range(msg, len, spec, strlen(spec), &r, &error) != 0) {
		TEST_ASSERT(error != NULL);
		if (strcmp(expected, "ERROR") != 0)
			test_fail(__FILE__, __LINE__, "BODY[%s]: %s", spec,
			          error);
		return;
	}
	if (strcmp(expected, "ERROR") == 0)
		test_fail(__FILE__, __LINE__, "BODY[%s] exists", spec);
	TEST_ASSERT(r.offset <= len && r.size <= len - r.offset);
	if (r.size != strlen(expected) ||
	    memcmp(msg + r.offset, expected, r.size) != 0) {
		test_dump("got", msg + r.offset, (size_t)r.size);
		test_fail(__FILE__, __LINE__, "BODY[%s]", spec);
	}
}

/* ---- ENVELOPE ---- */

static void
test_envelope_fields(void)
{
	expect_envelope("Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	                "Subject: Hello\r\n"
	                "From: Alice <alice@example.org>\r\n"
	                "Sender: Bot <bot@example.org>\r\n"
	                "Reply-To: list@example.org\r\n"
	                "To: Bob <bob@example.org>, carol@example.org\r\n"
	                "Cc: Dan <dan@example.org>\r\n"
	                "Bcc: eve@example.org\r\n"
	                "In-Reply-To: <a@example.org>\r\n"
	                "Message-ID: <b@example.org>\r\n"
	                "\r\n"
	                "To: not@read.example\r\n",
	                "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"Hello\" "
	                "((\"Alice\" NIL \"alice\" \"example.org\")) "
	                "((\"Bot\" NIL \"bot\" \"example.org\")) "
	                "((NIL NIL \"list\" \"example.org\")) "
	                "((\"Bob\" NIL \"bob\" \"example.org\")"
	                "(NIL NIL \"carol\" \"example.org\")) "
	                "((\"Dan\" NIL \"dan\" \"example.org\")) "
	                "((NIL NIL \"eve\" \"example.org\")) "
	                "\"<a@example.org>\" \"<b@example.org>\")");
	/* Field names in any case, LF line ends, folding. */
	expect_envelope("SUBJECT: a long\n   subject\nfrom: a@b.example\n"
	                "MESSAGE-id:\n <x@y>\n",
	                "(NIL \"a long   subject\" "
	                "((NIL NIL \"a\" \"b.example\")) "
	                "((NIL NIL \"a\" \"b.example\")) "
	                "((NIL NIL \"a\" \"b.example\")) "
	                "NIL NIL NIL NIL \"<x@y>\")");
}

static void
test_envelope_defaults(void)
{
	/* Nothing: every member NIL. */
	expect_envelope("", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	expect_envelope("X-Other: 1\r\n\r\n",
	                "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* Present but empty: "" for text, and sender and reply-to from
	   from when theirs hold no address. */
	expect_envelope("Subject:\r\nDate: \r\nFrom: a@b.c\r\nSender:\r\n"
	                "Reply-To:  \r\nTo:\r\nIn-Reply-To:\r\n",
	                "(\"\" \"\" ((NIL NIL \"a\" \"b.c\")) "
	                "((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	                "NIL NIL NIL \"\" NIL)");
	/* No From: no defaults either. */
	expect_envelope("To: a@b.c\r\n",
	                "(NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"b.c\")) NIL "
	                "NIL NIL NIL)");
	/* The first of a repeated field counts. */
	expect_envelope("Subject: one\r\nSubject: two\r\nFrom: a@b.c\r\n"
	                "From: d@e.f\r\n",
	                "(NIL \"one\" ((NIL NIL \"a\" \"b.c\")) "
	                "((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) "
	                "NIL NIL NIL NIL NIL)");
}

static void
test_envelope_addresses(void)
{
	/* RFC 3501: a group is (NIL NIL "name" NIL) ... (NIL NIL NIL NIL). */
	expect_envelope("To: undisclosed-recipients:;\r\n",
	                "(NIL NIL NIL NIL NIL "
	                "((NIL NIL \"undisclosed-recipients\" NIL)"
	                "(NIL NIL NIL NIL)) NIL NIL NIL NIL)");
	expect_envelope(
	        "Cc: Friends: a@x.org, \"B, C\" <b@y.org>;, d@z.org\r\n",
	        "(NIL NIL NIL NIL NIL NIL "
	        "((NIL NIL \"Friends\" NIL)"
	        "(NIL NIL \"a\" \"x.org\")"
	        "(\"B, C\" NIL \"b\" \"y.org\")"
	        "(NIL NIL NIL NIL)"
	        "(NIL NIL \"d\" \"z.org\")) NIL NIL NIL)");
	/* A source route, a comment as the name, a missing domain, and a
	   quoted name whose quotes and quoted-pairs go. */
	expect_envelope("From: <@a.example,@b.example:joe@c.example>\r\n"
	                "To: joe@x.org (Joe Q), bob\r\n"
	                "Cc: \"Doe, \\\"J\\\"\" <j@x.org>\r\n",
	                "(NIL NIL "
	                "((NIL \"@a.example,@b.example\" \"joe\" "
	                "\"c.example\")) "
	                "((NIL \"@a.example,@b.example\" \"joe\" "
	                "\"c.example\")) "
	                "((NIL \"@a.example,@b.example\" \"joe\" "
	                "\"c.example\")) "
	                "((\"Joe Q\" NIL \"joe\" \"x.org\")"
	                "(NIL NIL \"bob\" \"\")) "
	                "((\"Doe, \\\"J\\\"\" NIL \"j\" \"x.org\")) "
	                "NIL NIL NIL)");
	/* Encoded words stay as the header has them; 8-bit is a literal. */
	expect_envelope("From: =?utf-8?q?J=C3=BCrgen?= <j@x.de>\r\n"
	                "To: J\xc3\xbcrgen <j@x.de>\r\n"
	                "Subject: =?utf-8?b?w6k=?=\r\n",
	                "(NIL \"=?utf-8?b?w6k=?=\" "
	                "((\"=?utf-8?q?J=C3=BCrgen?=\" NIL \"j\" \"x.de\")) "
	                "((\"=?utf-8?q?J=C3=BCrgen?=\" NIL \"j\" \"x.de\")) "
	                "((\"=?utf-8?q?J=C3=BCrgen?=\" NIL \"j\" \"x.de\")) "
	                "(({7}\r\nJ\xc3\xbcrgen NIL \"j\" \"x.de\")) "
	                "NIL NIL NIL NIL)");
}

/* ---- BODYSTRUCTURE on the corpus ---- */

static void
test_corpus_simple(void)
{
	size_t len;
	char *msg = read_corpus("simple.eml", &len);
	struct mime_part *root = mime_parse(msg, len, NULL);
	struct sb_buf out;

	/* No Content-Type: text/plain; charset=us-ascii (RFC 2045). */
	expect_structure(msg, len,
	                 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
	                 "NIL \"7BIT\" 50 5 NIL NIL NIL NIL)",
	                 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL "
	                 "NIL \"7BIT\" 50 5)");
	sb_buf_init(&out, 4096);
	TEST_EQ_INT(imap_envelope_write(msg, (size_t)root->header.size, &out),
	            0);
	TEST_EQ_STR(sb_buf_str(&out),
	            "(\"Mon, 1 Jan 2024 10:00:00 +0000\" \"Hello\" "
	            "((\"Alice\" NIL \"alice\" \"example.org\")) "
	            "((\"Alice\" NIL \"alice\" \"example.org\")) "
	            "((\"Alice\" NIL \"alice\" \"example.org\")) "
	            "((\"Bob\" NIL \"bob\" \"example.org\")) NIL NIL NIL "
	            "\"<simple@example.org>\")");
	sb_buf_free(&out);
	mime_part_free(&root);

	/* A message that is not multipart has only part 1, its body. */
	expect_section(msg, len, "1",
	               "Hi Bob,\r\n\r\nThis is a simple message.\r\n-- \r\n"
	               "Alice\r\n");
	expect_section(msg, len, "TEXT",
	               "Hi Bob,\r\n\r\nThis is a simple message.\r\n-- \r\n"
	               "Alice\r\n");
	expect_section(msg, len, "1.MIME",
	               "From: Alice <alice@example.org>\r\n"
	               "To: Bob <bob@example.org>\r\n"
	               "Subject: Hello\r\n"
	               "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n"
	               "Message-ID: <simple@example.org>\r\n\r\n");
	expect_section(msg, len, "2", "ERROR");
	expect_section(msg, len, "1.1", "ERROR");
	expect_section(msg, len, "1.HEADER", "ERROR");
	free(msg);
}

static void
test_corpus_alternative(void)
{
	size_t len;
	char *msg = read_corpus("bare-lf.eml", &len);

	/* The LF before a delimiter is the delimiter's (RFC 2046 5.1.1):
	   "plain\nlines\n" is 12 octets, 2 lines; "<b>html</b>" 11, 0. */
	expect_structure(msg, len,
	                 "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 12 2 NIL "
	                 "NIL NIL NIL)"
	                 "(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 11 0 NIL NIL "
	                 "NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"lf\") NIL "
	                 "NIL NIL)",
	                 "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 12 2)"
	                 "(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 11 0) "
	                 "\"ALTERNATIVE\")");
	expect_section(msg, len, "1", "plain\nlines\n");
	expect_section(msg, len, "2", "<b>html</b>");
	expect_section(msg, len, "2.MIME", "Content-Type: text/html\n\n");
	expect_section(msg, len, "HEADER",
	               "From: Alice <alice@example.org>\n"
	               "Subject: Unix line ends\n"
	               "Content-Type: multipart/alternative; "
	               "boundary=\"lf\"\n\n");
	expect_section(msg, len, "3", "ERROR");
	expect_section(msg, len, "0", "ERROR");
	free(msg);
}

static void
test_corpus_nested(void)
{
	size_t len;
	char *msg = read_corpus("nested.eml", &len);

	expect_structure(
	        msg, len,
	        "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	        "\"7BIT\" 27 2 NIL NIL NIL NIL)"
	        "((\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL "
	        "\"QUOTED-PRINTABLE\" 38 1 NIL NIL NIL NIL)"
	        "(\"IMAGE\" \"PNG\" NIL \"<img1@x>\" NIL \"BASE64\" 12 NIL "
	        "(\"INLINE\" NIL) NIL NIL) \"RELATED\" "
	        "(\"BOUNDARY\" \"rel-3\" \"TYPE\" \"text/html\") NIL NIL NIL) "
	        "\"ALTERNATIVE\" (\"BOUNDARY\" \"alt-2\") NIL NIL NIL)"
	        "(\"APPLICATION\" \"PDF\" (\"NAME\" \"doc.pdf\") NIL "
	        "\"A document\" \"BASE64\" 12 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	        "(\"ATTACHMENT\" (\"FILENAME\" \"doc.pdf\")) (\"en\" \"fr\") "
	        "\"http://example.org/doc.pdf\") \"MIXED\" "
	        "(\"BOUNDARY\" \"mixed-1\") NIL NIL NIL)",
	        "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	        "\"7BIT\" 27 2)"
	        "((\"TEXT\" \"HTML\" (\"CHARSET\" \"utf-8\") NIL NIL "
	        "\"QUOTED-PRINTABLE\" 38 1)"
	        "(\"IMAGE\" \"PNG\" NIL \"<img1@x>\" NIL \"BASE64\" 12) "
	        "\"RELATED\") \"ALTERNATIVE\")"
	        "(\"APPLICATION\" \"PDF\" (\"NAME\" \"doc.pdf\") NIL "
	        "\"A document\" \"BASE64\" 12) \"MIXED\")");
	expect_section(msg, len, "1.1", "Plain text.\r\nSecond line.\r\n");
	expect_section(msg, len, "1.1.MIME",
	               "Content-Type: text/plain; charset=utf-8\r\n"
	               "Content-Transfer-Encoding: 7bit\r\n\r\n");
	expect_section(msg, len, "1.2.1",
	               "<p>HTML <img src=3D\"cid:img1@x\"></p>\r\n");
	expect_section(msg, len, "1.2.2", "iVBORw0KGgo=");
	expect_section(msg, len, "2", "JVBERi0xLjQK");
	expect_section(msg, len, "1.2.3", "ERROR");
	expect_section(msg, len, "1.1.1", "ERROR");
	expect_section(msg, len, "2.HEADER", "ERROR");
	expect_section(msg, len, "1.TEXT", "ERROR");
	expect_section(msg, len, "3", "ERROR");
	{
		/* A multipart's body runs from its first delimiter to the end
		   of its close delimiter's line. */
		struct imap_section_range r;
		const char *error = NULL;
		static const char first[] = "--alt-2\r\n";
		static const char last[] = "--alt-2--\r\n";

		TEST_EQ_INT(imap_section_range(msg, len, "1", 1, &r, &error),
		            0);
		TEST_ASSERT(r.size > sizeof(first) + sizeof(last));
		TEST_ASSERT(memcmp(msg + r.offset, first, sizeof(first) - 1) ==
		            0);
		TEST_ASSERT(memcmp(msg + r.offset + r.size - (sizeof(last) - 1),
		                   last, sizeof(last) - 1) == 0);
	}
	free(msg);
}

static void
test_corpus_rfc822(void)
{
	size_t len;
	char *msg = read_corpus("rfc822-attach.eml", &len);

	/* The message holds 14 CRLF-ended lines, 266 octets. */
	expect_structure(
	        msg, len,
	        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 28 1 NIL NIL NIL "
	        "NIL)"
	        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 266 "
	        "(NIL \"Lunch\" ((\"Carol\" NIL \"carol\" \"example.org\")) "
	        "((\"Carol\" NIL \"carol\" \"example.org\")) "
	        "((\"Carol\" NIL \"carol\" \"example.org\")) NIL NIL NIL NIL "
	        "NIL) "
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
	        "\"7BIT\" 14 0 NIL NIL NIL NIL)"
	        "(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 21 0 NIL NIL NIL NIL) "
	        "\"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL) 14 NIL "
	        "(\"ATTACHMENT\" NIL) NIL NIL) \"MIXED\" "
	        "(\"BOUNDARY\" \"outer\") NIL NIL NIL)",
	        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 28 1)"
	        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 266 "
	        "(NIL \"Lunch\" ((\"Carol\" NIL \"carol\" \"example.org\")) "
	        "((\"Carol\" NIL \"carol\" \"example.org\")) "
	        "((\"Carol\" NIL \"carol\" \"example.org\")) NIL NIL NIL NIL "
	        "NIL) "
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL "
	        "\"7BIT\" 14 0)"
	        "(\"TEXT\" \"HTML\" NIL NIL NIL \"7BIT\" 21 0) "
	        "\"ALTERNATIVE\") 14) \"MIXED\")");
	expect_section(msg, len, "2.MIME",
	               "Content-Type: message/rfc822\r\n"
	               "Content-Disposition: attachment\r\n\r\n");
	expect_section(msg, len, "2.HEADER",
	               "From: Carol <carol@example.org>\r\n"
	               "Subject: Lunch\r\n"
	               "MIME-Version: 1.0\r\n"
	               "Content-Type: multipart/alternative; "
	               "boundary=\"inner\"\r\n\r\n");
	expect_section(msg, len, "2.1", "Lunch at noon?");
	expect_section(msg, len, "2.2", "<p>Lunch at noon?</p>");
	expect_section(msg, len, "2.2.MIME", "Content-Type: text/html\r\n\r\n");
	expect_section(msg, len, "2.1.HEADER", "ERROR");
	expect_section(msg, len, "2.3", "ERROR");
	{
		struct imap_section_range whole, header, text;
		const char *error = NULL;

		/* BODY[2] is the whole message: its HEADER then its TEXT. */
		TEST_EQ_INT(
		        imap_section_range(msg, len, "2", 1, &whole, &error),
		        0);
		TEST_EQ_INT(imap_section_range(msg, len, "2.header", 8, &header,
		                               &error),
		            0);
		TEST_EQ_INT(imap_section_range(msg, len, "2.Text", 6, &text,
		                               &error),
		            0);
		TEST_EQ_UINT(whole.size, 266);
		TEST_EQ_UINT(header.offset, whole.offset);
		TEST_EQ_UINT(text.offset, header.offset + header.size);
		TEST_EQ_UINT(text.offset + text.size,
		             whole.offset + whole.size);
	}
	free(msg);
}

static void
test_corpus_broken(void)
{
	size_t len;
	char *msg;

	/* The close delimiter never came: the last part runs to the end. */
	msg = read_corpus("no-final-boundary.eml", &len);
	expect_structure(
	        msg, len,
	        "((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 5 0 NIL NIL "
	        "NIL NIL)"
	        "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 22 1 NIL NIL "
	        "NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)",
	        NULL);
	expect_section(msg, len, "2", "second, never closed\r\n");
	free(msg);

	/* 8-bit header text and parameters go out as literals. */
	msg = read_corpus("8bit-headers.eml", &len);
	expect_structure(
	        msg, len,
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL "
	        "\"7BIT\" 5 0 NIL (\"ATTACHMENT\" (\"FILENAME\" "
	        "{12}\r\nr\xc3\xa9sum\xc3\xa9.txt)) NIL NIL) \"MIXED\" "
	        "(\"BOUNDARY\" \"xyz\") NIL NIL NIL)",
	        NULL);
	/* Subject is Latin-1 and UTF-8 mixed: sent as the bytes are. */
	expect_envelope(msg,
	                "(NIL {15}\r\nGr\xfc\xdf"
	                "e aus K\xc3\xb6ln "
	                "(({7}\r\nJ\xc3\xbcrgen NIL \"j\" \"example.de\")) "
	                "(({7}\r\nJ\xc3\xbcrgen NIL \"j\" \"example.de\")) "
	                "(({7}\r\nJ\xc3\xbcrgen NIL \"j\" \"example.de\")) "
	                "NIL NIL NIL NIL NIL)");
	free(msg);

	/* RFC 2231: continuations joined; "NAME*" only for what needs it. */
	msg = read_corpus("rfc2231.eml", &len);
	expect_structure(
	        msg, len,
	        "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\" \"FORMAT\" "
	        "\"flowed\") NIL NIL \"7BIT\" 3 0 NIL (\"ATTACHMENT\" "
	        "(\"FILENAME\" \"very long name.txt\")) NIL NIL)"
	        "(\"APPLICATION\" \"OCTET-STREAM\" (\"NAME*\" "
	        "\"UTF-8'fr'caf%C3%A9.txt\") NIL NIL \"7BIT\" 3 NIL "
	        "(\"ATTACHMENT\" (\"FILENAME*\" "
	        "\"UTF-8'en'na%C3%AFve%20file%E2%82%AC.txt\")) NIL NIL)"
	        "(\"TEXT\" \"PLAIN\" (\"TITLE\" \"This is ***fun***\" "
	        "\"CHARSET\" \"a \\\"quoted\\\" cs\") NIL NIL \"7BIT\" 5 0 NIL "
	        "NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b2231\") NIL NIL NIL)",
	        NULL);
	free(msg);

	/* Encoded words in Content-Description stay encoded. */
	msg = read_corpus("encoded-words.eml", &len);
	expect_structure(
	        msg, len,
	        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"koi8-r\") NIL "
	        "\"=?utf-8?q?r=C3=A9sum=C3=A9?=\" \"8BIT\" 8 1 NIL NIL "
	        "NIL NIL)",
	        NULL);
	free(msg);

	/* A digest's parts are message/rfc822 by default (RFC 2046). */
	msg = read_corpus("digest.eml", &len);
	expect_structure(
	        msg, len,
	        "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 45 "
	        "(NIL \"one\" ((NIL NIL \"a\" \"example.org\")) "
	        "((NIL NIL \"a\" \"example.org\")) "
	        "((NIL NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL) "
	        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	        "\"7BIT\" 8 1 NIL NIL NIL NIL) 4 NIL NIL NIL NIL)"
	        "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 92 "
	        "(NIL \"two\" ((NIL NIL \"b\" \"example.org\")) "
	        "((NIL NIL \"b\" \"example.org\")) "
	        "((NIL NIL \"b\" \"example.org\")) NIL NIL NIL NIL NIL) "
	        "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"iso-8859-1\") NIL NIL "
	        "\"7BIT\" 9 1 NIL NIL NIL NIL) 5 NIL NIL NIL NIL)"
	        "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 16 1 NIL NIL NIL "
	        "NIL) \"DIGEST\" (\"BOUNDARY\" \"dig\") NIL NIL NIL)",
	        NULL);
	expect_section(msg, len, "1.1", "First.\r\n");
	expect_section(msg, len, "2.TEXT", "Second.\r\n");
	free(msg);
}

/* ---- Broken MIME made here ---- */

static void
expect_made(const char *msg, const char *bodystructure)
{
	expect_structure(msg, strlen(msg), bodystructure, NULL);
}

static void
test_broken_made(void)
{
	static const char bad_type[] = "From: x@example.org\r\n"
	                               "Content-Type: garbage\r\n"
	                               "\r\n"
	                               "body\r\n";
	static const char no_delimiter[] =
	        "Content-Type: multipart/mixed; boundary=\"nope\"\r\n"
	        "\r\n"
	        "just text\r\n";
	static const char no_boundary[] = "Content-Type: multipart/mixed\r\n"
	                                  "\r\n"
	                                  "x\r\n";
	static const char base64_message[] =
	        "Content-Type: multipart/mixed; boundary=b\r\n"
	        "\r\n"
	        "--b\r\n"
	        "Content-Type: message/rfc822\r\n"
	        "Content-Transfer-Encoding: base64\r\n"
	        "\r\n"
	        "RnJvbTogYUBiLmM=\r\n"
	        "--b--\r\n";
	static const char top_message[] = "Content-Type: message/rfc822\r\n"
	                                  "\r\n"
	                                  "Subject: inner\r\n"
	                                  "\r\n"
	                                  "hi\r\n";
	static const char no_body[] = "Subject: only a header\r\n";
	static const char empty[] = "";
	static const char languages[] =
	        "Content-Language: en) fr, (a comment) de ((x)y)\r\n\r\n";
	static const char language[] = "Content-Language: en\r\n\r\n";

	/* An invalid Content-Type is text/plain; charset=us-ascii. */
	expect_made(bad_type, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	                      "NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL)");
	/* A multipart whose delimiter never came holds one text part with
	   an empty header: its whole body. */
	expect_made(no_delimiter,
	            "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	            "\"7BIT\" 11 1 NIL NIL NIL NIL) \"MIXED\" "
	            "(\"BOUNDARY\" \"nope\") NIL NIL NIL)");
	expect_section(no_delimiter, strlen(no_delimiter), "1",
	               "just text\r\n");
	expect_section(no_delimiter, strlen(no_delimiter), "1.MIME", "");
	expect_section(no_delimiter, strlen(no_delimiter), "2", "ERROR");
	/* A multipart without a boundary parameter is text/plain. */
	expect_made(no_boundary,
	            "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 3 1 NIL NIL NIL "
	            "NIL)");
	/* An encoded message/rfc822 holds a message with an empty header. */
	expect_made(base64_message,
	            "((\"MESSAGE\" \"RFC822\" NIL NIL NIL \"BASE64\" 16 "
	            "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	            "\"7BIT\" 16 0 NIL NIL NIL NIL) 0 NIL NIL NIL NIL) "
	            "\"MIXED\" (\"BOUNDARY\" \"b\") NIL NIL NIL)");
	expect_section(base64_message, strlen(base64_message), "1",
	               "RnJvbTogYUBiLmM=");
	expect_section(base64_message, strlen(base64_message), "1.1",
	               "RnJvbTogYUBiLmM=");
	expect_section(base64_message, strlen(base64_message), "1.TEXT",
	               "RnJvbTogYUBiLmM=");
	expect_section(base64_message, strlen(base64_message), "1.HEADER", "");
	expect_section(base64_message, strlen(base64_message), "1.1.1",
	               "ERROR");
	/* A message that is itself message/rfc822. */
	expect_made(top_message,
	            "(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 22 "
	            "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
	            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	            "\"7BIT\" 4 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)");
	expect_section(top_message, strlen(top_message), "1",
	               "Subject: inner\r\n\r\nhi\r\n");
	expect_section(top_message, strlen(top_message), "1.HEADER",
	               "Subject: inner\r\n\r\n");
	expect_section(top_message, strlen(top_message), "1.1", "hi\r\n");
	expect_section(top_message, strlen(top_message), "1.TEXT", "hi\r\n");
	/* A header without its blank line, and nothing at all. */
	expect_made(no_body, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	                     "NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)");
	expect_made(empty, "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") "
	                   "NIL NIL \"7BIT\" 0 0 NIL NIL NIL NIL)");
	/* Content-Language: comments skipped, a stray ')' separates (the
	   fuzzer found that it once made an empty tag forever). */
	expect_made(languages,
	            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	            "\"7BIT\" 0 0 NIL NIL (\"en\" \"fr\" \"de\") NIL)");
	expect_made(language,
	            "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
	            "\"7BIT\" 0 0 NIL NIL \"en\" NIL)");
	expect_section(empty, 0, "", "");
	expect_section(empty, 0, "1", "");
	expect_section(empty, 0, "HEADER", "");
}

/* ---- Section specs ---- */

static void
test_section_parse(void)
{
	static const struct {
		const char *spec;
		unsigned count;
		uint32_t first;
		enum imap_section_text text;
	} good[] = {
	        {"", 0, 0, IMAP_SECTION_WHOLE},
	        {"1", 1, 1, IMAP_SECTION_WHOLE},
	        {"4.2.2.1", 4, 4, IMAP_SECTION_WHOLE},
	        {"HEADER", 0, 0, IMAP_SECTION_HEADER},
	        {"header", 0, 0, IMAP_SECTION_HEADER},
	        {"TEXT", 0, 0, IMAP_SECTION_TEXT},
	        {"HEADER.FIELDS", 0, 0, IMAP_SECTION_HEADER_FIELDS},
	        {"3.HEADER.FIELDS.NOT", 1, 3, IMAP_SECTION_HEADER_FIELDS_NOT},
	        {"1.MIME", 1, 1, IMAP_SECTION_MIME},
	        {"4294967295", 1, 4294967295u, IMAP_SECTION_WHOLE},
	};
	static const char *const bad[] = {
	        "MIME", "0",   "01",         "1.",          ".1",
	        "1..2", "1.0", "1.HEADERS",  "HEADER.",     "TEXT.1",
	        "1 ",   "a",   "4294967296", "1.MIME.TEXT", "HEADER.FIELDS ",
	};
	struct imap_fetch_body s;
	const char *error = NULL;
	struct sb_buf deep;

	for (size_t i = 0; i < SB_N_ELEMENTS(good); i++) {
		if (imap_section_parse(good[i].spec, strlen(good[i].spec), &s,
		                       &error) != 0)
			test_fail(__FILE__, __LINE__, "%s: %s", good[i].spec,
			          error);
		TEST_EQ_UINT(s.part_count, good[i].count);
		if (good[i].count > 0)
			TEST_EQ_UINT(s.parts[0], good[i].first);
		TEST_EQ_INT(s.text, good[i].text);
	}
	for (size_t i = 0; i < SB_N_ELEMENTS(bad); i++) {
		error = NULL;
		if (imap_section_parse(bad[i], strlen(bad[i]), &s, &error) == 0)
			test_fail(__FILE__, __LINE__, "\"%s\" accepted",
			          bad[i]);
		TEST_ASSERT(error != NULL);
	}
	/* At most IMAP_SECTION_MAX_PARTS numbers. */
	sb_buf_init(&deep, 4096);
	for (int i = 0; i < IMAP_SECTION_MAX_PARTS; i++)
		TEST_ASSERT(sb_buf_add_str(&deep, i == 0 ? "1" : ".1") == 0);
	TEST_EQ_INT(imap_section_parse(deep.data, deep.len, &s, &error), 0);
	TEST_ASSERT(sb_buf_add_str(&deep, ".1") == 0);
	TEST_EQ_INT(imap_section_parse(deep.data, deep.len, &s, &error), -1);
	sb_buf_free(&deep);
}

/* ---- Every message: grammar, sizes and lines ---- */

struct check_ctx {
	const struct mime_part *root;
	const char *msg;
	size_t len;
	const char *name;
	unsigned parts;
};

/* What the text says of a part is what its section holds. */
static void
check_part(void *context, const struct tis_part *part)
{
	struct check_ctx *c = context;
	struct imap_fetch_body s;
	struct imap_section_range r;
	const char *error = NULL;
	uint64_t lines = 0;

	c->parts++;
	if (imap_section_parse(part->section, strlen(part->section), &s,
	                       &error) != 0 ||
	    imap_section_find(c->root, c->len, &s, &r, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s: BODY[%s]: %s", c->name,
		          part->section, error);
	if (r.size != part->size)
		test_fail(__FILE__, __LINE__,
		          "%s: BODY[%s]: %llu octets, says "
		          "%llu",
		          c->name, part->section, (unsigned long long)r.size,
		          (unsigned long long)part->size);
	for (uint64_t i = 0; i < r.size; i++)
		lines += c->msg[r.offset + i] == '\n';
	if ((part->text || part->message) && lines != part->lines)
		test_fail(__FILE__, __LINE__,
		          "%s: BODY[%s]: %llu lines, says "
		          "%llu",
		          c->name, part->section, (unsigned long long)lines,
		          (unsigned long long)part->lines);
}

/* Checks a message with the default limits and with tiny ones. */
static void
check_message(const char *name, const char *msg, size_t len)
{
	static const struct mime_limits tiny = {
	        .max_header_size = 40,
	        .max_depth = 1,
	        .max_parts = 3,
	        .max_params = 1,
	};
	const struct mime_limits *limits[] = {NULL, &tiny};

	for (size_t l = 0; l < SB_N_ELEMENTS(limits); l++) {
		struct mime_part *root = mime_parse(msg, len, limits[l]);
		struct check_ctx c = {root, msg, len, name, 0};
		struct sb_buf out;
		const char *error = NULL;

		for (int ext = 0; ext <= 1; ext++) {
			sb_buf_init(&out, 1 << 24);
			TEST_EQ_INT(imap_bodystructure_write(root, msg, len,
			                                     ext == 1, &out),
			            0);
			if (tis_check_balanced(out.data, out.len, &error) !=
			            0 ||
			    tis_check_body(out.data, out.len, ext == 1,
			                   check_part, &c, &error) != 0)
				test_fail(__FILE__, __LINE__, "%s: %s: %s",
				          name, error, sb_buf_str(&out));
			sb_buf_free(&out);
		}
		TEST_ASSERT(c.parts > 0);
		sb_buf_init(&out, 1 << 24);
		TEST_EQ_INT(imap_envelope_write(msg, (size_t)root->header.size,
		                                &out),
		            0);
		if (tis_check_envelope(out.data, out.len, &error) != 0)
			test_fail(__FILE__, __LINE__, "%s: envelope: %s: %s",
			          name, error, sb_buf_str(&out));
		sb_buf_free(&out);
		mime_part_free(&root);
	}
}

/* The same tree, whole or fed one byte at a time, writes the same text. */
static void
check_bytewise(const char *name, const char *msg, size_t len)
{
	struct mime_parser *p = mime_parser_new(NULL);
	struct mime_part *root;
	struct sb_buf out;
	char *whole = structure(msg, len, true, NULL);

	for (size_t i = 0; i < len; i++)
		mime_parser_feed(p, msg + i, 1);
	root = mime_parser_finish(&p);
	sb_buf_init(&out, 1 << 24);
	TEST_EQ_INT(imap_bodystructure_write(root, msg, len, true, &out), 0);
	if (strcmp(sb_buf_str(&out), whole) != 0)
		test_fail(__FILE__, __LINE__, "%s: differs fed bytewise", name);
	sb_buf_free(&out);
	mime_part_free(&root);
	free(whole);
}

static unsigned
check_dir(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned count = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		char path[512];
		size_t len;
		char *msg;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 ||
		    de->d_name[0] == '.')
			continue;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		msg = test_read_file(path, &len);
		check_message(de->d_name, msg, len);
		if (len < 100000)
			check_bytewise(de->d_name, msg, len);
		free(msg);
		count++;
	}
	closedir(d);
	return count;
}

static void
test_every_message(void)
{
	unsigned n = check_dir(CORPUS, "");
	unsigned py;

	TEST_ASSERT(n >= 11);
	py = check_dir(PY_EMAIL_DIR, "msg_");
	if (py == 0)
		printf("note: %s missing; only the corpus checked\n",
		       PY_EMAIL_DIR);
	printf("note: %u corpus and %u python messages checked\n", n, py);
}

static void
test_output_full(void)
{
	size_t len;
	char *msg = read_corpus("nested.eml", &len);
	struct mime_part *root = mime_parse(msg, len, NULL);
	struct sb_buf out;

	/* Every cut fails cleanly (and leaves nothing behind). */
	for (size_t max = 0; max < 700; max += 7) {
		sb_buf_init(&out, max);
		if (imap_bodystructure_write(root, msg, len, true, &out) == 0)
			TEST_ASSERT(out.len <= max);
		else
			TEST_EQ_UINT(out.len, 0);
		sb_buf_free(&out);
		sb_buf_init(&out, max / 4);
		if (imap_envelope_write(msg, (size_t)root->header.size, &out) !=
		    0)
			TEST_EQ_UINT(out.len, 0);
		sb_buf_free(&out);
	}
	mime_part_free(&root);
	free(msg);
}

/*
 * What the writers copy of a decrypted message on the way (a parameter's
 * name in upper case, an RFC 2231 value re-encoded, a header's unfolded
 * text) is wiped when they are done with it; the output is the caller's.
 */
static void
test_copies_wiped(void)
{
	static const char msg[] =
	        "Subject: the secret\r\n plan\r\n"
	        "Content-Type: text/plain; name*=utf-8'fr'caf%C3%A9.txt\r\n"
	        "\r\n"
	        "body\r\n";
	struct mime_part *root = mime_parse(msg, sizeof(msg) - 1, NULL);
	struct sb_buf out;

	sb_buf_init(&out, 1 << 20);
	test_secret_watch();
	TEST_EQ_INT(imap_bodystructure_write(root, msg, sizeof(msg) - 1, true,
	                                     &out),
	            0);
	TEST_ASSERT(strstr(sb_buf_str(&out), "caf%C3%A9.txt") != NULL);
	TEST_ASSERT(test_secret_count >= 2);
	test_secret_watch();
	sb_buf_reset(&out);
	TEST_EQ_INT(imap_envelope_write(msg, sizeof(msg) - 1, &out), 0);
	TEST_ASSERT(strstr(sb_buf_str(&out), "\"the secret plan\"") != NULL);
	TEST_ASSERT(test_secret_count >= 1);
	test_secret_unwatch();
	sb_buf_free(&out);
	mime_part_free(&root);
}

static const struct test_case cases[] = {
        {"envelope fields", test_envelope_fields},
        {"envelope defaults", test_envelope_defaults},
        {"envelope addresses and groups", test_envelope_addresses},
        {"simple text", test_corpus_simple},
        {"multipart/alternative", test_corpus_alternative},
        {"nested multipart/mixed with attachment", test_corpus_nested},
        {"message/rfc822 attached", test_corpus_rfc822},
        {"broken MIME in the corpus", test_corpus_broken},
        {"broken MIME made here", test_broken_made},
        {"section specs", test_section_parse},
        {"every message: grammar, sizes and lines", test_every_message},
        {"output past the maximum", test_output_full},
        {"copies of the message wiped", test_copies_wiped},
        {NULL, NULL},
};

int
main(void)
{
	return test_run(cases);
}
