/*
 * The IMAP command parser on lines real clients send (Thunderbird, Apple
 * Mail, Outlook, mutt, mbsync, Python's imaplib) and on broken input.
 * Every case runs through the transcript driver of
 * test-parser-transcript.h fed whole, one byte at a time, in pieces of
 * 2, 3 and 7 bytes and in random pieces: all must give the expected
 * transcript. The accessors, FETCH and STORE items and the reader's API
 * have tests of their own below.
 */
#include <string.h>

#include "common/alloc.h"
#include "imap/parser.h"
#include "test-parser-transcript.h"
#include "test.h"

enum tl_limits {
	TL_DEFAULT,
	TL_PRELOGIN,
	TL_SMALL, /* 32-byte lines, 64-byte commands, 1 literal of 16 */
};

struct tcase {
	const char *in;
	size_t len;
	const char *expect;
	enum tl_limits limits;
	enum tp_policy policy;
};

#define TC(in, expect)                                                 \
	{                                                              \
		(in), sizeof(in) - 1, (expect), TL_DEFAULT, TP_SESSION \
	}
#define TCL(in, limits, policy, expect)                            \
	{                                                          \
		(in), sizeof(in) - 1, (expect), (limits), (policy) \
	}

static void
tl_get(enum tl_limits which, struct imap_limits *l)
{
	switch (which) {
	case TL_DEFAULT:
		imap_limits_default(l);
		break;
	case TL_PRELOGIN:
		imap_limits_prelogin(l);
		break;
	case TL_SMALL:
		l->max_line = 32;
		l->max_command = 64;
		l->max_literal = 16;
		l->max_literals = 1;
		l->max_discard = 20;
		l->max_values = 8;
		break;
	}
}

/* Runs one input every way and compares each transcript. */
static void
check_transcript(const char *in, size_t len, enum tl_limits which,
                 enum tp_policy policy, const char *expect)
{
	size_t sizes[] = {len > 0 ? len : 1, 1, 2, 3, 7};
	struct imap_limits limits;
	struct sb_buf got;

	tl_get(which, &limits);
	sb_buf_init(&got, 1u << 24);
	for (size_t i = 0; i < SB_N_ELEMENTS(sizes) + 4; i++) {
		uint32_t seed = (uint32_t)i * 7919u;

		sb_buf_reset(&got);
		if (i < SB_N_ELEMENTS(sizes))
			tp_run(in, len, &limits, policy, tp_chunk_fixed,
			       &sizes[i], &got);
		else
			tp_run(in, len, &limits, policy, tp_chunk_random, &seed,
			       &got);
		if (strcmp(sb_buf_str(&got), expect) != 0) {
			test_dump("input", in, len);
			test_fail(
			        __FILE__, __LINE__,
			        "feeding way %zu:\n--- got\n%s--- expected\n%s",
			        i, sb_buf_str(&got), expect);
		}
	}
	sb_buf_free(&got);
}

static void
check_cases(const struct tcase *cases, size_t count)
{
	for (size_t i = 0; i < count; i++)
		check_transcript(cases[i].in, cases[i].len, cases[i].limits,
		                 cases[i].policy, cases[i].expect);
}

/* ---- Real clients ---- */

static const struct tcase client_cases[] = {
        /* Thunderbird */
        TC("1 capability\r\n", "C 1 CAPABILITY\nEND\n"),
        TC("2 authenticate PLAIN\r\nAGpvZQBwdw==\r\n",
           "C 2 AUTHENTICATE PLAIN\nRAGpvZQBwdw==\nEND\n"),
        TC("3 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")\r\n",
           "C 3 ID (\"name\" \"Thunderbird\" \"version\" \"115.3.1\")\n"
           "END\n"),
        TC("4 select \"INBOX\" (CONDSTORE)\r\n",
           "C 4 SELECT \"INBOX\" (CONDSTORE)\nEND\n"),
        TC("5 UID fetch 1:* (FLAGS)\r\n",
           "C 5 UID FETCH 1:* (FLAGS)\nF 0x2 used=1\nEND\n"),
        TC("6 UID fetch 200 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS "
           "(From To Cc Bcc Subject Date Message-ID Priority X-Priority "
           "References Newsgroups In-Reply-To Content-Type "
           "Reply-To)])\r\n",
           "C 6 UID FETCH #200 (UID RFC822.SIZE FLAGS "
           "BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date "
           "Message-ID Priority X-Priority References Newsgroups "
           "In-Reply-To Content-Type Reply-To) ^])\n"
           "F 0x222 BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date "
           "Message-ID Priority X-Priority References Newsgroups "
           "In-Reply-To Content-Type Reply-To)] used=1\nEND\n"),
        TC("7 UID fetch 200 (UID RFC822.SIZE BODY.PEEK[2.1]<0.10240>)\r\n",
           "C 7 UID FETCH #200 (UID RFC822.SIZE BODY.PEEK[2.1]<0.10240>)\n"
           "F 0x220 BODY.PEEK[2.1]<0.10240> used=1\nEND\n"),
        TC("8 IDLE\r\nDONE\r\n", "C 8 IDLE\nRDONE\nEND\n"),
        TC("9 uid store 1:3 +FLAGS.SILENT (\\Deleted)\r\n",
           "C 9 UID STORE 1:3 +FLAGS.SILENT (\\Deleted)\n"
           "T add silent \\Deleted\nEND\n"),
        TC("a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
           "C a1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE #12345 VANISHED)\n"
           "F 0x2 used=1\nEND\n"),
        TC("t SELECT INBOX (QRESYNC (67890007 90060115194045000 "
           "41:211,214:541))\r\n",
           "C t SELECT INBOX (QRESYNC (#67890007 #90060115194045000 "
           "41:211,214:541))\nEND\n"),
        /* Apple Mail */
        TC("1.18 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
           "BODY.PEEK[HEADER.FIELDS (date subject from to cc message-id "
           "in-reply-to references x-priority)]) (CHANGEDSINCE 4)\r\n",
           "C 1.18 UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE "
           "BODY.PEEK[HEADER.FIELDS (date subject from to cc message-id "
           "in-reply-to references x-priority) ^]) (CHANGEDSINCE #4)\n"
           "F 0x226 BODY.PEEK[HEADER.FIELDS (date subject from to cc "
           "message-id in-reply-to references x-priority)] used=1\nEND\n"),
        TC("2.5 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES "
           "UNSEEN))\r\n",
           "C 2.5 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES "
           "UNSEEN))\nEND\n"),
        TC("2.6 UID MOVE 42:45,50 \"Archive/2024\"\r\n",
           "C 2.6 UID MOVE 42:45,50 \"Archive/2024\"\nEND\n"),
        /* Outlook */
        TC("A0012 UID FETCH 1:* (UID RFC822.SIZE FLAGS "
           "BODY.PEEK[HEADER.FIELDS (From Subject)])\r\n",
           "C A0012 UID FETCH 1:* (UID RFC822.SIZE FLAGS "
           "BODY.PEEK[HEADER.FIELDS (From Subject) ^])\n"
           "F 0x222 BODY.PEEK[HEADER.FIELDS (From Subject)] used=1\nEND\n"),
        TC("A0013 STATUS \"Sent Items\" (MESSAGES UIDNEXT UIDVALIDITY "
           "UNSEEN HIGHESTMODSEQ)\r\n",
           "C A0013 STATUS \"Sent Items\" (MESSAGES UIDNEXT UIDVALIDITY "
           "UNSEEN HIGHESTMODSEQ)\nEND\n"),
        /* mutt */
        TC("a0005 UID FETCH 3 BODY.PEEK[]\r\n",
           "C a0005 UID FETCH #3 BODY.PEEK[]\nF 0x0 BODY.PEEK[] used=1\n"
           "END\n"),
        TC("a0006 UID STORE 4 -FLAGS.SILENT (\\Seen $Junk)\r\n",
           "C a0006 UID STORE #4 -FLAGS.SILENT (\\Seen $Junk)\n"
           "T remove silent \\Seen $Junk\nEND\n"),
        TC("a0007 LSUB \"\" %\r\n", "C a0007 LSUB \"\" %\nEND\n"),
        /* mbsync: LITERAL+ APPEND, streamed */
        TC("9 APPEND \"INBOX\" (\\Seen) {11+}\r\nSubject: x\n\r\n",
           "L11+ i0 fits1\nP 9 APPEND \"INBOX\" (\\Seen) {11+:pending} "
           "...\n-> stream\nS11:Subject: x\\x0A\n"
           "C 9 APPEND \"INBOX\" (\\Seen) {11+:stream}\nEND\n"),
        /* Python imaplib: a synchronizing APPEND */
        TC("A003 APPEND \"Sent\" (\\Seen) \"22-Nov-2026 10:00:00 +0000\" "
           "{15}\r\nFrom: a@b\r\n\r\nhi\r\n",
           "L15 i0 fits1\nP A003 APPEND \"Sent\" (\\Seen) \"22-Nov-2026 "
           "10:00:00 +0000\" {15:pending} ...\n-> stream\n"
           "S15:From: a@b\\x0D\\x0A\\x0D\\x0Ahi\nC A003 APPEND \"Sent\" "
           "(\\Seen) \"22-Nov-2026 10:00:00 +0000\" {15:stream}\nEND\n"),
        /* UTF-8 search text in a literal */
        TC("x UID SEARCH CHARSET UTF-8 TEXT {6}\r\n\xC3\x84"
           "rger\r\n",
           "L6 i0 fits1\nP x UID SEARCH CHARSET UTF-8 TEXT {6:pending} "
           "...\n-> buffer\nC x UID SEARCH CHARSET UTF-8 TEXT "
           "{6:\\xC3\\x84rger}\nEND\n"),
        /* SASL-IR (RFC 4959) */
        TC("a AUTHENTICATE PLAIN AGpvZQBwdw==\r\n",
           "C a AUTHENTICATE PLAIN AGpvZQBwdw==\nEND\n"),
        /* LITERAL+ (RFC 7888) LOGIN with two literals */
        TC("a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n",
           "L5+ i0 fits1\nP a LOGIN {5+:pending} ...\n-> buffer\n"
           "L6+ i1 fits1\nP a LOGIN {5+:alice} {6+:pending} ...\n"
           "-> buffer\nC a LOGIN {5+:alice} {6+:secret}\nEND\n"),
        /* A literal inside a list, and a literal at the end of one */
        TC("s SEARCH OR (SUBJECT {2}\r\nhi) (FROM {3}\r\nbob)\r\n",
           "L2 i0 fits1\nP s SEARCH OR (SUBJECT {2:pending}) ...\n"
           "-> buffer\nL3 i1 fits1\nP s SEARCH OR (SUBJECT {2:hi}) (FROM "
           "{3:pending}) ...\n-> buffer\nC s SEARCH OR (SUBJECT {2:hi}) "
           "(FROM {3:bob})\nEND\n"),
        TC("b LOGIN \"al\\\"ice\" \"pa\\\\ss\"\r\n",
           "C b LOGIN \"al\\x22ice\" \"pa\\x5Css\"\nEND\n"),
        TC("c UID SEARCH OR (FROM \"x\") (SUBJECT \"y\") SINCE 1-Jan-2024 "
           "NOT DELETED\r\n",
           "C c UID SEARCH OR (FROM \"x\") (SUBJECT \"y\") SINCE 1-Jan-2024 "
           "NOT DELETED\nEND\n"),
        TC("d LIST (SUBSCRIBED) \"\" \"%\" RETURN (CHILDREN)\r\n",
           "C d LIST (SUBSCRIBED) \"\" \"%\" RETURN (CHILDREN)\nEND\n"),
        TC("e SELECT [Gmail]/Sent\r\n", "C e SELECT [Gmail]/Sent\nEND\n"),
        TC("f X () NIL nil \"\" 007\r\n", "C f X () NIL NIL \"\" #7\nEND\n"),
        TC("g GETQUOTAROOT INBOX\r\ng2 ENABLE QRESYNC CONDSTORE\r\n"
           "g3 UID EXPUNGE 3:5\r\ng4 NAMESPACE\r\n",
           "C g GETQUOTAROOT INBOX\nC g2 ENABLE QRESYNC CONDSTORE\n"
           "C g3 UID EXPUNGE 3:5\nC g4 NAMESPACE\nEND\n"),
        /* A bare LF ends a line too. */
        TC("h NOOP\nh2 NOOP\r\n", "C h NOOP\nC h2 NOOP\nEND\n"),
        /* A command cut short is still being read at the end. */
        TC("i NOOP\r\ni2 NO", "C i NOOP\nEND mid-command\n"),
        /* FETCH items */
        TC("j FETCH 1 BODY[HEADER.FIELDS (Subject)]<0.100>\r\n",
           "C j FETCH #1 BODY[HEADER.FIELDS (Subject) ^]<0.100>\n"
           "F 0x0 BODY[HEADER.FIELDS (Subject)]<0.100> used=3\nEND\n"),
        TC("j FETCH 1 (BODY[1.2.MIME] BODY.PEEK[3.HEADER.FIELDS.NOT "
           "(X-A \"X-B\")]<5.10> RFC822 MODSEQ BODY[3.TEXT])\r\n",
           "C j FETCH #1 (BODY[1.2.MIME] BODY.PEEK[3.HEADER.FIELDS.NOT "
           "(X-A \"X-B\") ^]<5.10> RFC822 MODSEQ BODY[3.TEXT])\n"
           "F 0x408 BODY[1.2.MIME] BODY.PEEK[3.HEADER.FIELDS.NOT (X-A "
           "X-B)]<5.10> BODY[3.TEXT] used=1\nEND\n"),
        TC("j FETCH 1:2 ALL\r\nj FETCH 1 fast\r\nj FETCH 1 FULL\r\n"
           "j FETCH 1 (ENVELOPE BODYSTRUCTURE BODY RFC822.HEADER "
           "RFC822.TEXT)\r\n",
           "C j FETCH 1:2 ALL\nF 0x27 used=1\nC j FETCH #1 fast\n"
           "F 0x26 used=1\nC j FETCH #1 FULL\nF 0xa7 used=1\n"
           "C j FETCH #1 (ENVELOPE BODYSTRUCTURE BODY RFC822.HEADER "
           "RFC822.TEXT)\nF 0x1d1 used=1\nEND\n"),
        TC("k FETCH 1 (BODY[MIME])\r\nk FETCH 1 BODY[1.]\r\n"
           "k FETCH 1 BODY[0]\r\nk FETCH 1 BODY[]<0.0>\r\n"
           "k FETCH 1 BODY[HEADER.FIELDS ()]\r\nk FETCH 1 BODY.PEEK\r\n"
           "k FETCH 1 BINARY[1]\r\nk FETCH 1 (ALL)\r\n"
           "k FETCH 1 BODY[TEXT (A)]\r\nk FETCH 1 BODY[HEADER.FIELDS]\r\n"
           "k FETCH 1 ()\r\nk FETCH 1 BODY[1]<1>\r\n",
           "C k FETCH #1 (BODY[MIME])\nF! MIME needs a part number\n"
           "C k FETCH #1 BODY[1.]\nF! Invalid section\n"
           "C k FETCH #1 BODY[0]\nF! Invalid section part\n"
           "C k FETCH #1 BODY[]<0.0>\nF! Invalid partial\n"
           "C k FETCH #1 BODY[HEADER.FIELDS () ^]\nF! Invalid header list\n"
           "C k FETCH #1 BODY.PEEK\nF! Unknown fetch attribute\n"
           "C k FETCH #1 BINARY[1]\nF! Unknown fetch attribute\n"
           "C k FETCH #1 (ALL)\nF! Unknown fetch attribute\n"
           "C k FETCH #1 BODY[TEXT (A) ^]\nF! Invalid section\n"
           "C k FETCH #1 BODY[HEADER.FIELDS]\nF! Invalid section\n"
           "C k FETCH #1 ()\nF! Empty fetch attribute list\n"
           "C k FETCH #1 BODY[1]<1>\nF! Invalid partial\nEND\n"),
        /* STORE items */
        TC("l STORE 1 FLAGS ()\r\nl STORE 1 -FLAGS \\Seen \\Flagged\r\n"
           "l STORE 1 (UNCHANGEDSINCE 5) +FLAGS ($Junk)\r\n"
           "l STORE 1 +FLAGS \\*\r\nl STORE 1 XFLAGS (\\Seen)\r\n"
           "l STORE 1 FLAGS (\\Seen) x\r\n",
           "C l STORE #1 FLAGS ()\nT set\n"
           "C l STORE #1 -FLAGS \\Seen \\Flagged\n"
           "T remove \\Seen \\Flagged\n"
           "C l STORE #1 (UNCHANGEDSINCE #5) +FLAGS ($Junk)\nT add $Junk\n"
           "C l STORE #1 +FLAGS \\*\nT! Invalid flag\n"
           "C l STORE #1 XFLAGS (\\Seen)\nT! Unknown store item\n"
           "C l STORE #1 FLAGS (\\Seen) x\n"
           "T! Unexpected values after the flag list\nEND\n"),
};

static void
test_clients(void)
{
	check_cases(client_cases, SB_N_ELEMENTS(client_cases));
}

/* ---- Errors, each followed by a command that must parse ---- */

static const struct tcase error_cases[] = {
        /* Grammar errors: the reader frames the command, the parser
           refuses it (tagged when it has a tag). */
        TC("a FETCH 1 (FLAGS\r\nb NOOP\r\n",
           "C! Missing ) tag=a\nC b NOOP\nEND\n"),
        TC("a FETCH 1 FLAGS)\r\nb NOOP\r\n",
           "C! Unexpected ) tag=a\nC b NOOP\nEND\n"),
        TC("a X ((a) b\r\nb NOOP\r\n", "C! Missing ) tag=a\nC b NOOP\nEND\n"),
        TC("a SEARCH SUBJECT \"x\\y\"\r\nb NOOP\r\n",
           "C! Invalid escape in quoted string tag=a\nC b NOOP\nEND\n"),
        TC("a LOGIN \"abc\r\nb NOOP\r\n",
           "C! Unterminated quoted string tag=a\nC b NOOP\nEND\n"),
        TC(" NOOP\r\nb NOOP\r\n", "C! Missing or invalid tag tag=\n"
                                  "C b NOOP\nEND\n"),
        TC("* NOOP\r\n+ NOOP\r\na+b NOOP\r\nb NOOP\r\n",
           "C! Missing or invalid tag tag=\nC! Missing or invalid tag "
           "tag=\nC! Missing or invalid tag tag=\nC b NOOP\nEND\n"),
        TC("\r\nb NOOP\r\n", "C! Empty command line tag=\nC b NOOP\nEND\n"),
        TC("a\r\nb NOOP\r\n", "C! Missing command name tag=a\nC b NOOP\n"
                              "END\n"),
        TC("a UID\r\nb NOOP\r\n",
           "C! Missing command after UID tag=a\nC b NOOP\nEND\n"),
        TC("a NOOP \r\na  NOOP\r\na NO(OP\r\nb NOOP\r\n",
           "C! Extra space tag=a\nC! Invalid command name tag=a\n"
           "C! Invalid command name tag=a\nC b NOOP\nEND\n"),
        TC("a X a  b\r\na X (a )\r\na X a\tb\r\nb NOOP\r\n",
           "C! Extra space tag=a\nC! Extra space tag=a\n"
           "C! Expected a space tag=a\nC b NOOP\nEND\n"),
        TC("a SELECT foo\"bar\"\r\na X a{b\r\nb NOOP\r\n",
           "C! Expected a space tag=a\nC! Expected a space tag=a\n"
           "C b NOOP\nEND\n"),
        TC("a X {3} b\r\nb NOOP\r\n",
           "C! Literal marker not at the end of line tag=a\nC b NOOP\n"
           "END\n"),
        TC("a X \\ b\r\nb NOOP\r\n",
           "C! Unexpected character tag=a\nC b NOOP\nEND\n"),
        /* Framing errors: reported by the reader, with the tag. */
        TC("a NO\0OP\r\nb NOOP\r\n",
           "ENUL byte in command tag=a\nC b NOOP\nEND\n"),
        TC("a NOOP\rb\r\nb NOOP\r\n",
           "ECR without LF in command tag=a\nC b NOOP\nEND\n"),
        TC("a LOGIN {1}\r\nx \0\r\nb NOOP\r\n",
           "L1 i0 fits1\nP a LOGIN {1:pending} ...\n-> buffer\n"
           "ENUL byte in command tag=a\nC b NOOP\nEND\n"),
        /* Literal sizes past 64 bits: a synchronizing one is never sent,
           a non-synchronizing one cannot be skipped. */
        TC("a LOGIN {18446744073709551616}\r\nb NOOP\r\n",
           "ELiteral size too large tag=a\nC b NOOP\nEND\n"),
        TC("a LOGIN {18446744073709551616+}\r\nb NOOP\r\n",
           "ELiteral size too large tag=a close\nEND\n"),
        TC("a LOGIN {18446744073709551615}\r\nb NOOP\r\n",
           "L18446744073709551615 i0 fits0\nP a LOGIN "
           "{18446744073709551615:pending} ...\n-> reject\nC b NOOP\n"
           "END\n"),
        /* Announced literals too large to keep: rejected before any
           byte is read. */
        TCL("a LOGIN {100000}\r\nb NOOP\r\n", TL_PRELOGIN, TP_SESSION,
            "L100000 i0 fits0\nP a LOGIN {100000:pending} ...\n"
            "-> reject\nC b NOOP\nEND\n"),
        TCL("a LOGIN {17+}\r\n01234567890123456 more {3+}\r\nabc\r\n"
            "b NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "L17+ i0 fits0\nP a LOGIN {17+:pending} ...\n-> reject\n"
            "C b NOOP\nEND\n"),
        TCL("a LOGIN {17+}\r\n01234567890123456 more {4+}\r\nabcd\r\n"
            "b NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "L17+ i0 fits0\nP a LOGIN {17+:pending} ...\n-> reject\n"
            "EToo much literal data to skip tag=a close\nEND\n"),
        TCL("a LOGIN {21+}\r\n", TL_SMALL, TP_SESSION,
            "L21+ i0 fits0\nP a LOGIN {21+:pending} ...\n-> close\nEND\n"),
        TCL("a LOGIN {1}\r\nx\r\nb NOOP\r\n", TL_SMALL, TP_REJECT,
            "L1 i0 fits1\nP a LOGIN {1:pending} ...\n-> reject\n"
            "C! Missing command name tag=x\nC b NOOP\nEND\n"),
        /* Too long lines and commands */
        TCL("a NOOP 34567890123456789012345678901234567890\r\nb NOOP\r\n",
            TL_SMALL, TP_SESSION, "ELine too long tag=a\nC b NOOP\nEND\n"),
        TCL("a 3456789012345678901234567890123\r\nb NOOP\r\n", TL_SMALL,
            TP_SESSION, "ELine too long tag=a\nC b NOOP\nEND\n"),
        TCL("a 345678901234567890123456789012\r\nb NOOP\r\n", TL_SMALL,
            TP_SESSION,
            "C a 345678901234567890123456789012\nC b NOOP\n"
            "END\n"),
        TCL("a X {5}\r\n12345 6789012345678901234567890123456789012\r\n"
            "b NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "L5 i0 fits1\nP a X {5:pending} ...\n-> buffer\n"
            "ELine too long tag=a\nC b NOOP\nEND\n"),
        TCL("a X 0123456789012345678901 {16}\r\n0123456789abcdef "
            "0123456789012345678\r\nb NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "L16 i0 fits1\nP a X 0123456789012345678901 {16:pending} ...\n"
            "-> buffer\nECommand too long tag=a\nC b NOOP\nEND\n"),
        /* Past both limits in one piece: the command's is crossed
           first (the report must not depend on the split). */
        TCL("a X 0123456789012345678901 {16}\r\n0123456789abcdef "
            "012345678901234567890123456789012345678\r\nb NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "L16 i0 fits1\nP a X 0123456789012345678901 {16:pending} ...\n"
            "-> buffer\nECommand too long tag=a\nC b NOOP\nEND\n"),
        /* A too long line that ends in a non-synchronizing literal: the
           literal and the line after it are skipped too. */
        TCL("a X 3456789012345678901234567890123 {3+}\r\nabc more\r\n"
            "b NOOP\r\n",
            TL_SMALL, TP_SESSION, "ELine too long tag=a\nC b NOOP\nEND\n"),
        TCL("a X 3456789012345678901234567890123 {300+}\r\n", TL_SMALL,
            TP_SESSION, "ELine too long tag=a close\nEND\n"),
        /* Too many literals: a synchronizing one is not sent. */
        TCL("a LOGIN {1}\r\nx {1}\r\nb NOOP\r\n", TL_SMALL, TP_SESSION,
            "L1 i0 fits1\nP a LOGIN {1:pending} ...\n-> buffer\n"
            "EToo many literals tag=a\nC b NOOP\nEND\n"),
        TCL("a LOGIN {1}\r\nx {1+}\r\ny\r\nb NOOP\r\n", TL_SMALL, TP_SESSION,
            "L1 i0 fits1\nP a LOGIN {1:pending} ...\n-> buffer\n"
            "EToo many literals tag=a\nC b NOOP\nEND\n"),
        /* Too many values */
        TCL("a X 1 2 3 4 5 6 7 8 9\r\na X 1 (2 3) 4 5 6\r\nb NOOP\r\n",
            TL_SMALL, TP_SESSION,
            "C! Too many values in command tag=a\n"
            "C a X #1 (#2 #3) #4 #5 #6\nC b NOOP\nEND\n"),
        /* A raw line that is bad is an error without a tag. */
        TC("a AUTHENTICATE PLAIN\r\nAG\0pw\r\nb NOOP\r\n",
           "C a AUTHENTICATE PLAIN\nENUL byte in command tag=\nC b NOOP\n"
           "END\n"),
        TC("a IDLE\r\n\r\nb NOOP\r\n", "C a IDLE\nR\nC b NOOP\nEND\n"),
        /* A raw line is never a literal */
        TC("a IDLE\r\nDONE {3}\r\nb NOOP\r\n",
           "C a IDLE\nRDONE {3}\nC b NOOP\nEND\n"),
};

static void
test_errors(void)
{
	check_cases(error_cases, SB_N_ELEMENTS(error_cases));
}

/* Long inputs built at run time. */
static void
test_long_lines(void)
{
	struct sb_buf in, want;
	struct imap_limits l;
	size_t start;

	imap_limits_prelogin(&l);
	sb_buf_init(&in, 1u << 20);
	sb_buf_init(&want, 1u << 20);
	/* Just fits, then one byte too many. */
	TEST_EQ_INT(sb_buf_add_str(&in, "a X "), 0);
	for (size_t i = 4; i < l.max_line; i++)
		TEST_EQ_INT(sb_buf_add_char(&in, 'x'), 0);
	TEST_EQ_INT(sb_buf_add_str(&in, "\r\n"), 0);
	start = in.len;
	TEST_EQ_INT(sb_buf_add_str(&in, "b X "), 0);
	while (in.len - start < l.max_line + 1)
		TEST_EQ_INT(sb_buf_add_char(&in, 'y'), 0);
	TEST_EQ_INT(sb_buf_add_str(&in, "\r\nc NOOP\r\n"), 0);
	TEST_EQ_INT(sb_buf_add_str(&want, "C a X "), 0);
	for (size_t i = 4; i < l.max_line; i++)
		TEST_EQ_INT(sb_buf_add_char(&want, 'x'), 0);
	TEST_EQ_INT(sb_buf_add_str(&want, "\nELine too long tag=b\nC c NOOP\n"
	                                  "END\n"),
	            0);
	check_transcript(in.data, in.len, TL_PRELOGIN, TP_SESSION, want.data);

	/* Nesting: IMAP_MAX_DEPTH lists are fine, one more is not. */
	sb_buf_reset(&in);
	sb_buf_reset(&want);
	TEST_EQ_INT(sb_buf_add_str(&in, "a X "), 0);
	TEST_EQ_INT(sb_buf_add_str(&want, "C a X "), 0);
	for (int i = 0; i < IMAP_MAX_DEPTH; i++) {
		TEST_EQ_INT(sb_buf_add_char(&in, '('), 0);
		TEST_EQ_INT(sb_buf_add_char(&want, '('), 0);
	}
	for (int i = 0; i < IMAP_MAX_DEPTH; i++) {
		TEST_EQ_INT(sb_buf_add_char(&in, ')'), 0);
		TEST_EQ_INT(sb_buf_add_char(&want, ')'), 0);
	}
	TEST_EQ_INT(sb_buf_add_str(&in, "\r\nb X "), 0);
	for (int i = 0; i <= IMAP_MAX_DEPTH; i++)
		TEST_EQ_INT(sb_buf_add_char(&in, '('), 0);
	for (int i = 0; i <= IMAP_MAX_DEPTH; i++)
		TEST_EQ_INT(sb_buf_add_char(&in, ')'), 0);
	TEST_EQ_INT(sb_buf_add_str(&in, "\r\nc NOOP\r\n"), 0);
	TEST_EQ_INT(sb_buf_add_str(&want, "\nC! Lists nested too deeply tag=b\n"
	                                  "C c NOOP\nEND\n"),
	            0);
	check_transcript(in.data, in.len, TL_DEFAULT, TP_SESSION, want.data);

	/* Deep nesting in a huge line cannot exhaust anything. */
	sb_buf_reset(&in);
	TEST_EQ_INT(sb_buf_add_str(&in, "a X "), 0);
	for (int i = 0; i < 60000; i++)
		TEST_EQ_INT(sb_buf_add_char(&in, '('), 0);
	TEST_EQ_INT(sb_buf_add_str(&in, "\r\nc NOOP\r\n"), 0);
	check_transcript(in.data, in.len, TL_DEFAULT, TP_SESSION,
	                 "C! Lists nested too deeply tag=a\nC c NOOP\nEND\n");
	sb_buf_free(&in);
	sb_buf_free(&want);
}

/* ---- The reader's API ---- */

static enum imap_event_type
feed_str(struct imap_reader *r, const char *s, size_t *consumed,
         struct imap_event *ev)
{
	return imap_reader_feed(r, s, strlen(s), consumed, ev);
}

static void
test_reader_literal_flow(void)
{
	static const char in[] = "A1 APPEND Drafts {10}\r\n0123456789\r\n";
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_command cmd;
	struct imap_event ev;
	const char *error = NULL;
	size_t consumed, pos = 0, got = 0;

	imap_limits_prelogin(&l);
	l.max_literal = 4;
	r = imap_reader_new(&l);
	TEST_ASSERT(!imap_reader_in_command(r));
	TEST_EQ_INT(imap_reader_feed(r, in, sizeof(in) - 1, &consumed, &ev),
	            IMAP_EV_LITERAL);
	TEST_EQ_UINT(consumed, 23);
	TEST_ASSERT(imap_reader_in_command(r));
	TEST_EQ_MEM(ev.tag.p, ev.tag.len, "A1", 2);
	TEST_EQ_UINT(ev.literal_size, 10);
	TEST_ASSERT(ev.literal_sync);
	TEST_ASSERT(!ev.literal_fits);
	/* The partial command tells the session what the literal is for. */
	TEST_EQ_INT(imap_parse_command(ev.command, &cmd, &error), 0);
	TEST_ASSERT(cmd.partial);
	TEST_EQ_STR(cmd.name, "APPEND");
	TEST_EQ_UINT(cmd.arg_count, 2);
	TEST_EQ_INT(cmd.args[1].type, IMAP_VALUE_LITERAL);
	TEST_EQ_INT(cmd.args[1].literal, IMAP_LITERAL_PENDING);
	TEST_EQ_UINT(cmd.args[1].number, 10);
	imap_command_free(&cmd);
	pos += consumed;
	/* Feeding before deciding gives the same event and takes nothing. */
	TEST_EQ_INT(imap_reader_feed(r, in + pos, 5, &consumed, &ev),
	            IMAP_EV_LITERAL);
	TEST_EQ_UINT(consumed, 0);
	/* Too large to keep: refused, and nothing changed. */
	TEST_EQ_INT(imap_reader_literal_accept(r, IMAP_LITERAL_BUFFER, &error),
	            -1);
	TEST_EQ_STR(error, "Literal too large");
	TEST_EQ_INT(imap_reader_literal_accept(r, IMAP_LITERAL_STREAM, &error),
	            0);
	/* Streamed bytes are views of the caller's buffer. */
	while (got < 10) {
		TEST_EQ_INT(imap_reader_feed(r, in + pos, 3, &consumed, &ev),
		            IMAP_EV_LITERAL_DATA);
		TEST_ASSERT(ev.data.p == in + pos);
		TEST_EQ_UINT(ev.data.len, consumed);
		pos += consumed;
		got += consumed;
		TEST_EQ_UINT(ev.literal_left, 10 - got);
	}
	TEST_EQ_INT(imap_reader_feed(r, in + pos, sizeof(in) - 1 - pos,
	                             &consumed, &ev),
	            IMAP_EV_COMMAND);
	TEST_EQ_UINT(pos + consumed, sizeof(in) - 1);
	TEST_EQ_INT(imap_parse_command(ev.command, &cmd, &error), 0);
	TEST_ASSERT(!cmd.partial);
	TEST_EQ_UINT(cmd.arg_count, 2);
	TEST_EQ_INT(cmd.args[1].literal, IMAP_LITERAL_STREAMED);
	imap_command_free(&cmd);
	TEST_ASSERT(!imap_reader_in_command(r));
	TEST_EQ_INT(imap_reader_feed(r, "", 0, &consumed, &ev),
	            IMAP_EV_NEED_MORE);
	imap_reader_free(&r);
	TEST_ASSERT(r == NULL);
	imap_reader_free(&r);
}

static void
test_reader_zero_literal(void)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	const char *error;
	size_t consumed;
	const char *in = "a X {0}\r\n {0+}\r\n\r\n";

	imap_limits_default(&l);
	r = imap_reader_new(&l);
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_LITERAL);
	TEST_EQ_INT(imap_reader_literal_accept(r, IMAP_LITERAL_STREAM, &error),
	            0);
	in += consumed;
	/* No data event for an empty streamed literal. */
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_LITERAL);
	TEST_ASSERT(!ev.literal_sync);
	TEST_EQ_INT(imap_reader_literal_accept(r, IMAP_LITERAL_BUFFER, &error),
	            0);
	in += consumed;
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_COMMAND);
	TEST_EQ_UINT(ev.command->count, 5);
	TEST_EQ_INT(ev.command->parts[1].type, IMAP_PART_STREAMED);
	TEST_EQ_INT(ev.command->parts[3].type, IMAP_PART_LITERAL);
	TEST_EQ_UINT(ev.command->parts[4].len, 0);
	imap_reader_free(&r);
}

static void
test_reader_limits_change(void)
{
	struct imap_limits pre, post;
	struct imap_reader *r;
	struct imap_event ev;
	struct sb_buf line;
	size_t consumed;

	imap_limits_prelogin(&pre);
	imap_limits_default(&post);
	sb_buf_init(&line, 1u << 20);
	TEST_EQ_INT(sb_buf_add_str(&line, "b X "), 0);
	for (size_t i = 0; i < pre.max_line + 10; i++)
		TEST_EQ_INT(sb_buf_add_char(&line, 'x'), 0);
	TEST_EQ_INT(sb_buf_add_str(&line, "\r\n"), 0);

	r = imap_reader_new(&pre);
	TEST_EQ_INT(imap_reader_feed(r, line.data, line.len, &consumed, &ev),
	            IMAP_EV_ERROR);
	TEST_EQ_INT(ev.error, IMAP_READER_ERR_LINE_TOO_LONG);
	TEST_ASSERT(!ev.must_close);
	TEST_EQ_MEM(ev.tag.p, ev.tag.len, "b", 1);
	TEST_EQ_UINT(consumed, line.len);
	/* LOGIN succeeded: the session widens the limits. The command
	   just returned stays readable until the next feed. */
	TEST_EQ_INT(feed_str(r, "a LOGIN x y\r\n", &consumed, &ev),
	            IMAP_EV_COMMAND);
	imap_reader_set_limits(r, &post);
	TEST_EQ_UINT(ev.command->parts[0].len, 11);
	TEST_EQ_MEM(ev.command->data, 11, "a LOGIN x y", 11);
	TEST_EQ_INT(imap_reader_feed(r, line.data, line.len, &consumed, &ev),
	            IMAP_EV_COMMAND);
	TEST_EQ_UINT(ev.command->parts[0].len, line.len - 2);
	imap_reader_free(&r);

	/* Before anything was read the limits apply at once. */
	r = imap_reader_new(&pre);
	imap_reader_set_limits(r, &post);
	TEST_EQ_INT(imap_reader_feed(r, line.data, line.len, &consumed, &ev),
	            IMAP_EV_COMMAND);
	imap_reader_free(&r);
	sb_buf_free(&line);
}

static void
test_reader_closed(void)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	size_t consumed;

	imap_limits_prelogin(&l);
	r = imap_reader_new(&l);
	TEST_EQ_INT(
	        feed_str(r, "a APPEND x {99999999+}\r\nxxxx", &consumed, &ev),
	        IMAP_EV_LITERAL);
	TEST_EQ_INT(imap_reader_literal_reject(r), -1);
	/* From now on every call says the same and takes nothing. */
	for (int i = 0; i < 2; i++) {
		TEST_EQ_INT(feed_str(r, "b NOOP\r\n", &consumed, &ev),
		            IMAP_EV_ERROR);
		TEST_EQ_UINT(consumed, 0);
		TEST_ASSERT(ev.must_close);
		TEST_EQ_INT(ev.error, IMAP_READER_ERR_DISCARD_LIMIT);
	}
	imap_reader_free(&r);
}

static void
test_reader_raw_line(void)
{
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_event ev;
	size_t consumed;
	const char *in = "a AUTHENTICATE PLAIN\r\n"
	                 "AGFsaWNlAHNlY3JldA==\r\n"
	                 "*\r\n"
	                 "b NOOP\r\n";

	imap_limits_prelogin(&l);
	r = imap_reader_new(&l);
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_COMMAND);
	in += consumed;
	imap_reader_set_raw_line(r);
	/* Setting raw mode keeps the command's views. */
	TEST_EQ_MEM(ev.command->data, 20, "a AUTHENTICATE PLAIN", 20);
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_RAW_LINE);
	TEST_EQ_MEM(ev.line.p, ev.line.len, "AGFsaWNlAHNlY3JldA==", 20);
	TEST_EQ_INT(ev.line.p[ev.line.len], '\0');
	in += consumed;
	/* One line per call: the session asks again for each step. */
	imap_reader_set_raw_line(r);
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_RAW_LINE);
	TEST_EQ_MEM(ev.line.p, ev.line.len, "*", 1);
	in += consumed;
	TEST_EQ_INT(feed_str(r, in, &consumed, &ev), IMAP_EV_COMMAND);
	imap_reader_free(&r);
}

/* ---- Values ---- */

/* Parses one line (no literals) into cmd; fails the test on error. */
static void
parse_line(const char *line, struct imap_command *cmd)
{
	struct imap_limits l;
	struct imap_part part = {IMAP_PART_LINE, 0, strlen(line), 0};
	struct imap_reader_command in = {line, strlen(line), &part, 1, &l};
	const char *error = NULL;

	imap_limits_default(&l);
	if (imap_parse_command(&in, cmd, &error) != 0)
		test_fail(__FILE__, __LINE__, "%s: %s", line, error);
}

static void
test_value_strings(void)
{
	struct imap_command cmd;
	struct sb_sv s;
	const char *error;
	const struct imap_value *a;

	parse_line("t X INBOX \"a b\" NIL foo%* ] \\Seen 12 ()", &cmd);
	a = cmd.args;
	TEST_EQ_UINT(cmd.arg_count, 8);
	TEST_EQ_INT(imap_value_astring(&a[0], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "INBOX", 5);
	TEST_EQ_INT(imap_value_astring(&a[1], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "a b", 3);
	TEST_EQ_INT(s.p[s.len], '\0');
	/* NIL is the astring "NIL" but the nstring NIL. */
	TEST_EQ_INT(imap_value_astring(&a[2], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "NIL", 3);
	TEST_EQ_INT(imap_value_nstring(&a[2], &s, &error), 0);
	TEST_ASSERT(s.p == NULL);
	TEST_EQ_INT(imap_value_nstring(&a[1], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "a b", 3);
	TEST_EQ_INT(imap_value_nstring(&a[0], &s, &error), -1);
	TEST_EQ_INT(imap_value_string(&a[0], &s, &error), -1);
	TEST_EQ_STR(error, "Expected a string");
	/* Wildcards: a list-mailbox but not an astring. */
	TEST_EQ_INT(imap_value_astring(&a[3], &s, &error), -1);
	TEST_EQ_INT(imap_value_mailbox(&a[3], &s, &error), -1);
	TEST_EQ_INT(imap_value_list_mailbox(&a[3], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "foo%*", 5);
	TEST_EQ_INT(imap_value_list_mailbox(&a[1], &s, &error), 0);
	TEST_EQ_INT(imap_value_list_mailbox(&a[5], &s, &error), -1);
	/* "]" is an ASTRING-CHAR. */
	TEST_EQ_INT(imap_value_astring(&a[4], &s, &error), 0);
	TEST_EQ_INT(imap_value_astring(&a[5], &s, &error), -1);
	TEST_EQ_INT(imap_value_astring(&a[6], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "12", 2);
	TEST_EQ_INT(imap_value_astring(&a[7], &s, &error), -1);
	TEST_EQ_INT(imap_value_atom(&a[0], &s, &error), 0);
	TEST_EQ_INT(imap_value_atom(&a[1], &s, &error), -1);
	TEST_ASSERT(imap_value_is_atom(&a[0], "inbox"));
	TEST_ASSERT(imap_value_is_atom(&a[2], "nil"));
	TEST_ASSERT(!imap_value_is_atom(&a[1], "a b"));
	imap_command_free(&cmd);
	/* Freed commands can be freed again. */
	imap_command_free(&cmd);
}

static void
test_value_numbers(void)
{
	struct imap_command cmd;
	const char *error;
	uint64_t n;
	const struct imap_value *a;

	parse_line("t X 0 007 18446744073709551615 18446744073709551616 "
	           "99999999999999999999999 12a \"12\"",
	           &cmd);
	a = cmd.args;
	TEST_EQ_INT(imap_value_number(&a[0], &n, &error), 0);
	TEST_EQ_UINT(n, 0);
	TEST_EQ_INT(imap_value_nz_number(&a[0], &n, &error), -1);
	TEST_EQ_INT(imap_value_number(&a[1], &n, &error), 0);
	TEST_EQ_UINT(n, 7);
	TEST_EQ_INT(imap_value_nz_number(&a[1], &n, &error), -1);
	TEST_EQ_INT(imap_value_number(&a[2], &n, &error), 0);
	TEST_EQ_UINT(n, UINT64_MAX);
	TEST_EQ_INT(imap_value_nz_number(&a[2], &n, &error), 0);
	/* Overflow: kept as an atom (a mailbox may be called so), but not
	   a number. */
	TEST_EQ_INT(a[3].type, IMAP_VALUE_ATOM);
	TEST_EQ_INT(imap_value_number(&a[3], &n, &error), -1);
	TEST_EQ_STR(error, "Number too large");
	TEST_EQ_INT(imap_value_number(&a[4], &n, &error), -1);
	TEST_EQ_STR(error, "Number too large");
	TEST_EQ_INT(imap_value_number(&a[5], &n, &error), -1);
	TEST_EQ_STR(error, "Expected a number");
	TEST_EQ_INT(imap_value_number(&a[6], &n, &error), -1);
	imap_command_free(&cmd);
}

static void
test_value_seqset_flags_dates(void)
{
	struct imap_command cmd;
	const char *error;
	struct sb_sv s;
	struct sb_date d;
	time_t t;
	const struct imap_value *a;

	parse_line("t X 1:*,4 $ 1:a (\\Seen $Forwarded foo) (\\Seen \\*) "
	           "(\"x\") 1-Jul-2003 \"1-Jul-2003\" \"01-Jul-2003 10:52:37 "
	           "+0200\" 01-Jul-2003 \"31-Feb-2003\"",
	           &cmd);
	a = cmd.args;
	TEST_EQ_INT(imap_value_seqset(&a[0], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "1:*,4", 5);
	TEST_EQ_INT(imap_value_seqset(&a[1], &s, &error), 0);
	TEST_EQ_INT(imap_value_seqset(&a[2], &s, &error), -1);
	TEST_EQ_INT(imap_value_flag_list(&a[3], &error), 0);
	TEST_EQ_INT(imap_value_flag_list(&a[4], &error), -1);
	TEST_EQ_INT(imap_value_flag_list(&a[5], &error), -1);
	TEST_EQ_INT(imap_value_flag_list(&a[0], &error), -1);
	TEST_EQ_INT(imap_value_flag(&a[3].list[0], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "\\Seen", 5);
	TEST_EQ_INT(imap_value_date(&a[6], &t, &error), 0);
	TEST_EQ_INT(t, 1057017600);
	TEST_EQ_INT(imap_value_date(&a[7], &t, &error), 0);
	TEST_EQ_INT(t, 1057017600);
	TEST_EQ_INT(imap_value_datetime(&a[8], &d, &error), 0);
	TEST_EQ_INT(d.time, 1057049557);
	TEST_EQ_INT(d.tz_offset, 120);
	/* date-time is quoted only */
	TEST_EQ_INT(imap_value_datetime(&a[9], &d, &error), -1);
	TEST_EQ_INT(imap_value_date(&a[10], &t, &error), -1);
	imap_command_free(&cmd);
}

static void
test_value_literal_binary(void)
{
	static const char data[] = "a X {5}\r\nx\0y\"z (\"q\")\r\n";
	struct imap_limits l;
	struct imap_reader *r;
	struct imap_command cmd;
	struct imap_event ev;
	const char *error;
	struct sb_sv s;
	size_t consumed;

	imap_limits_default(&l);
	r = imap_reader_new(&l);
	TEST_EQ_INT(imap_reader_feed(r, data, sizeof(data) - 1, &consumed, &ev),
	            IMAP_EV_LITERAL);
	TEST_EQ_INT(imap_reader_literal_accept(r, IMAP_LITERAL_BUFFER, &error),
	            0);
	TEST_EQ_INT(imap_reader_feed(r, data + consumed,
	                             sizeof(data) - 1 - consumed, &consumed,
	                             &ev),
	            IMAP_EV_COMMAND);
	TEST_EQ_INT(imap_parse_command(ev.command, &cmd, &error), 0);
	TEST_EQ_UINT(cmd.arg_count, 2);
	/* Literals are binary: a NUL in one is kept, with its length. */
	TEST_EQ_INT(imap_value_string(&cmd.args[0], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "x\0y\"z", 5);
	TEST_EQ_INT(imap_value_astring(&cmd.args[0], &s, &error), 0);
	TEST_EQ_INT(cmd.args[1].type, IMAP_VALUE_LIST);
	TEST_EQ_INT(imap_value_string(&cmd.args[1].list[0], &s, &error), 0);
	TEST_EQ_MEM(s.p, s.len, "q", 1);
	imap_command_free(&cmd);
	imap_reader_free(&r);
}

/* A streamed literal's bytes are gone: string accessors say so. */
static void
test_value_streamed(void)
{
	struct imap_limits l;
	struct imap_part parts[] = {
	        {IMAP_PART_LINE, 0, 7, 0},
	        {IMAP_PART_STREAMED, 0, 0, 3},
	        {IMAP_PART_LINE, 7, 0, 0},
	};
	struct imap_reader_command in = {"a X {3}", 7, parts, 3, &l};
	struct imap_command cmd;
	const char *error;
	struct sb_sv s;

	imap_limits_default(&l);
	TEST_EQ_INT(imap_parse_command(&in, &cmd, &error), 0);
	TEST_EQ_INT(imap_value_string(&cmd.args[0], &s, &error), -1);
	TEST_EQ_STR(error, "Literal not available");
	imap_command_free(&cmd);
	/* A part that does not match its marker is refused. */
	parts[1].size = 4;
	TEST_EQ_INT(imap_parse_command(&in, &cmd, &error), -1);
	TEST_EQ_STR(error, "Literal does not match its marker");
	TEST_EQ_STR(cmd.tag, "a");
	imap_command_free(&cmd);
}

static void
test_fetch_api(void)
{
	struct imap_command cmd;
	struct imap_fetch_atts atts;
	const char *error;
	size_t used;

	parse_line("a FETCH 1 BODY.PEEK[1.2.3.HEADER.FIELDS (A \"B c\")]<7.8> "
	           "(CHANGEDSINCE 1)",
	           &cmd);
	TEST_EQ_UINT(cmd.arg_count, 5);
	TEST_EQ_INT(imap_parse_fetch_atts(cmd.args + 1, cmd.arg_count - 1,
	                                  &atts, &used, &error),
	            0);
	TEST_EQ_UINT(used, 3);
	TEST_EQ_UINT(atts.items, 0);
	TEST_EQ_UINT(atts.body_count, 1);
	TEST_ASSERT(atts.bodies[0].peek);
	TEST_EQ_UINT(atts.bodies[0].part_count, 3);
	TEST_EQ_UINT(atts.bodies[0].parts[2], 3);
	TEST_EQ_INT(atts.bodies[0].text, IMAP_SECTION_HEADER_FIELDS);
	TEST_EQ_UINT(atts.bodies[0].field_count, 2);
	TEST_EQ_MEM(atts.bodies[0].fields[1].p, atts.bodies[0].fields[1].len,
	            "B c", 3);
	TEST_ASSERT(atts.bodies[0].partial);
	TEST_EQ_UINT(atts.bodies[0].origin, 7);
	TEST_EQ_UINT(atts.bodies[0].count, 8);
	imap_fetch_atts_free(&atts);
	TEST_EQ_INT(
	        imap_parse_fetch_atts(cmd.args + 1, 1, &atts, &used, &error),
	        -1);
	TEST_EQ_STR(error, "Invalid section");
	TEST_EQ_INT(
	        imap_parse_fetch_atts(cmd.args + 1, 0, &atts, &used, &error),
	        -1);
	imap_command_free(&cmd);

	/* Part numbers: at most IMAP_SECTION_MAX_PARTS, each 32 bits. */
	parse_line("a FETCH 1 BODY[4294967295.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1."
	           "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1] BODY[4294967296] "
	           "BODY[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1."
	           "1.1.1.1.1.1]",
	           &cmd);
	TEST_EQ_INT(
	        imap_parse_fetch_atts(cmd.args + 1, 1, &atts, &used, &error),
	        0);
	TEST_EQ_UINT(atts.bodies[0].parts[0], 4294967295u);
	TEST_EQ_UINT(atts.bodies[0].part_count, IMAP_SECTION_MAX_PARTS);
	imap_fetch_atts_free(&atts);
	TEST_EQ_INT(
	        imap_parse_fetch_atts(cmd.args + 2, 1, &atts, &used, &error),
	        -1);
	TEST_EQ_INT(
	        imap_parse_fetch_atts(cmd.args + 3, 1, &atts, &used, &error),
	        -1);
	TEST_EQ_STR(error, "Too many section parts");
	imap_command_free(&cmd);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"clients", test_clients},
	        {"errors", test_errors},
	        {"long lines and nesting", test_long_lines},
	        {"reader: literal flow", test_reader_literal_flow},
	        {"reader: empty literals", test_reader_zero_literal},
	        {"reader: limits change", test_reader_limits_change},
	        {"reader: closed", test_reader_closed},
	        {"reader: raw lines", test_reader_raw_line},
	        {"values: strings", test_value_strings},
	        {"values: numbers", test_value_numbers},
	        {"values: sets, flags, dates", test_value_seqset_flags_dates},
	        {"values: binary literal", test_value_literal_binary},
	        {"values: streamed literal", test_value_streamed},
	        {"fetch items", test_fetch_api},
	        {NULL, NULL},
	};

	return test_run(cases);
}
