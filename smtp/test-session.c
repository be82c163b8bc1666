/*
 * Whole SMTP sessions over a socketpair with the fake backend: the exact
 * reply to every command and every error path, AUTH PLAIN and LOGIN,
 * the sender check, the limits, pipelining, and DATA: the message the
 * backend gets, the 250 only once data_finish returned, and data_abort
 * for every message that is not queued. AUTH is taken in the clear here
 * (shared.auth_in_clear); test-server.c has TLS, timers and shutdown.
 */
#include <stdio.h>
#include <string.h>

#include "test-client.h"
#include "test.h"

#define OK_354 "354 End data with <CR><LF>.<CR><LF>"
#define BAD_CREDENTIALS                                          \
	"535 5.7.8 Authentication credentials invalid (use the " \
	"bridge password that 'saltbridge info' shows)"

/* MAIL FROM:<TB_USER>, RCPT TO:<rcpt>, DATA: 354. */
static void
tc_envelope(struct tc *c, const char *rcpt)
{
	char line[512];

	tc_send(c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(c, "250 2.1.0 Ok");
	snprintf(line, sizeof(line), "RCPT TO:<%s>\r\n", rcpt);
	tc_send(c, line);
	tc_expect(c, "250 2.1.5 Ok");
	tc_send(c, "DATA\r\n");
	tc_expect(c, OK_354);
}

static void
test_greeting_and_simple_commands(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	/* Before EHLO: plain replies, no enhanced status codes. */
	tc_send(&c, "NOOP\r\n");
	tc_expect(&c, "250 Ok");
	tc_send(&c, "RSET\r\n");
	tc_expect(&c, "250 Ok");
	tc_send(&c, "RSET now\r\n");
	tc_expect(&c, "501 This command takes no arguments");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "503 Send EHLO first");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "503 Send EHLO first");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "503 Need MAIL before RCPT");
	tc_send(&c, "DATA\r\n");
	tc_expect(&c, "503 Need MAIL before DATA");
	tc_send(&c, "EHLO\r\n");
	tc_expect(&c, "501 Syntax: EHLO hostname");
	tc_send(&c, "HELO\r\n");
	tc_expect(&c, "501 Syntax: HELO hostname");
	tc_send(&c, "FOO bar\r\n");
	tc_expect(&c, "500 Command unrecognized");
	tc_send(&c, "\r\n");
	tc_expect(&c, "500 Syntax error: no command");
	tc_send(&c, "EXPN staff\r\n");
	tc_expect(&c, "502 Command not implemented");
	/* HELO: still no extensions, no enhanced codes; AUTH needs EHLO. */
	tc_send(&c, "HELO client.test\r\n");
	tc_expect(&c, "250 mx.test");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "530 Authentication required");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "503 Send EHLO first");
	/* EHLO: enhanced status codes from here on. */
	tc_ehlo(&c);
	tc_send(&c, "noop anything\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_send(&c, "HELP\r\n");
	tc_expect(&c, "214 2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT "
	              "DATA RSET NOOP QUIT VRFY HELP");
	tc_send(&c, "VRFY bob\r\n");
	tc_expect(&c, "252 2.5.0 Addresses are not verified here; send the "
	              "message to try one");
	tc_send(&c, "VRFY\r\n");
	tc_expect(&c, "501 5.5.4 Syntax: VRFY address");
	tc_send(&c, "BDAT 10 LAST\r\n");
	tc_expect(&c, "502 5.5.1 Command not implemented");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "530 5.7.0 Authentication required");
	tc_send(&c, "quit\r\nNOOP\r\n");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);
}

static void
test_auth_plain(void)
{
	char line[512];
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_ehlo(&c);
	/* After "334 ", in a line of its own. */
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "334 ");
	tc_send(&c, tc_plain("", TB_USER, "wrong"));
	tc_send(&c, "\r\n");
	tc_expect(&c, BAD_CREDENTIALS);
	tc_send(&c, "AUTH PLAIN\r\n*\r\n");
	tc_expect(&c, "334 ");
	tc_expect(&c, "501 5.7.0 Authentication cancelled");
	tc_send(&c, "AUTH PLAIN !!!!\r\n");
	tc_expect(&c, "501 5.5.2 Cannot decode the response");
	tc_send(&c, "AUTH PLAIN =\r\n");
	tc_expect(&c, "501 5.5.2 Not a PLAIN response");
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_b64(TB_USER " " TB_PASSWORD));
	tc_send(&c, line);
	tc_expect(&c, "501 5.5.2 Not a PLAIN response");
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_plain("bob@example.org", TB_USER, TB_PASSWORD));
	tc_send(&c, line);
	tc_expect(&c, "535 5.7.8 Cannot act as another user");
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_plain("", TB_USER_DOWN, TB_PASSWORD));
	tc_send(&c, line);
	tc_expect(&c, "454 4.7.0 Temporary authentication failure: the login "
	              "cannot be checked now");
	tc_send(&c, "AUTH CRAM-MD5\r\n");
	tc_expect(&c, "504 5.5.4 Unrecognized authentication mechanism: use "
	              "PLAIN or LOGIN");
	tc_send(&c, "AUTH\r\n");
	tc_expect(&c, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
	tc_send(&c, "AUTH PLAIN abc def\r\n");
	tc_expect(&c, "501 5.5.4 Syntax: AUTH mechanism [initial-response]");
	/* An authzid that is the user is fine; any case of the mechanism. */
	snprintf(line, sizeof(line), "auth plain %s\r\n",
	         tc_plain(TB_USER, TB_USER, TB_PASSWORD));
	tc_send(&c, line);
	tc_expect(&c, "235 2.7.0 Authentication successful");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "503 5.5.1 Already authenticated");
	tc_send(&c, "QUIT\r\n");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.logins, 3);
	tc_free(&c);
}

static void
test_auth_login(void)
{
	char line[512];
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_ehlo(&c);
	tc_send(&c, "AUTH LOGIN\r\n");
	tc_expect(&c, "334 VXNlcm5hbWU6");
	tc_send(&c, tc_b64(TB_USER));
	tc_send(&c, "\r\n");
	tc_expect(&c, "334 UGFzc3dvcmQ6");
	tc_send(&c, "*\r\n");
	tc_expect(&c, "501 5.7.0 Authentication cancelled");
	/* The user name as an initial response, a wrong password. */
	snprintf(line, sizeof(line), "AUTH LOGIN %s\r\n", tc_b64(TB_USER));
	tc_send(&c, line);
	tc_expect(&c, "334 UGFzc3dvcmQ6");
	snprintf(line, sizeof(line), "%s\r\n", tc_b64("guess"));
	tc_send(&c, line);
	tc_expect(&c, BAD_CREDENTIALS);
	tc_send(&c, "AUTH LOGIN\r\n#\r\n");
	tc_expect(&c, "334 VXNlcm5hbWU6");
	tc_expect(&c, "501 5.5.2 Cannot decode the response");
	tc_send(&c, "AUTH LOGIN\r\n=\r\n=\r\n");
	tc_expect(&c, "334 VXNlcm5hbWU6");
	tc_expect(&c, "334 UGFzc3dvcmQ6");
	tc_expect(&c, "535 5.7.8 Authentication credentials invalid");
	/* A response longer than any AUTH line: the exchange ends. */
	tc_send(&c, "AUTH LOGIN\r\n");
	tc_expect(&c, "334 VXNlcm5hbWU6");
	{
		static char longline[13000];

		memset(longline, 'A', sizeof(longline) - 2);
		memcpy(longline + sizeof(longline) - 2, "\r\n", 2);
		tc_send_len(&c, longline, sizeof(longline));
	}
	tc_expect(&c, "500 5.5.2 Line too long");
	tc_send(&c, "NOOP\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	/* The alias logs in too, byte by byte. */
	tc_send(&c, "AUTH LOGIN\r\n");
	tc_expect(&c, "334 VXNlcm5hbWU6");
	tc_send(&c, tc_b64(TB_ALIAS));
	tc_send(&c, "\r\n");
	tc_expect(&c, "334 UGFzc3dvcmQ6");
	snprintf(line, sizeof(line), "%s\r\n", tc_b64(TB_PASSWORD));
	for (size_t i = 0; line[i] != '\0'; i++)
		tc_send_len(&c, line + i, 1);
	tc_expect(&c, "235 2.7.0 Authentication successful");
	tc_send(&c, "MAIL FROM:<" TB_ALIAS ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_finish(&c);
	tc_free(&c);
}

/* The fifth failure closes the connection. */
static void
test_auth_failures(void)
{
	char line[512];
	struct tc c;
	int i;

	tc_init(&c);
	tc_start(&c);
	tc_ehlo(&c);
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_plain("", TB_USER, "guess"));
	for (i = 0; i < SMTP_MAX_LOGIN_FAILURES; i++) {
		tc_send(&c, line);
		tc_expect(&c, BAD_CREDENTIALS);
	}
	tc_expect(&c, "421 4.7.0 Too many failed authentications");
	tc_expect_eof(&c);
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.logins, SMTP_MAX_LOGIN_FAILURES);
	tc_free(&c);
}

/* Without TLS (and not in the clear for tests): no AUTH. */
static void
test_auth_needs_tls(void)
{
	struct tc c;

	tc_init(&c);
	c.shared.auth_in_clear = false;
	tc_start(&c);
	tc_ehlo(&c);
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "538 5.7.11 Encryption required: use STARTTLS first");
	tc_send(&c, "AUTH LOGIN\r\n");
	tc_expect(&c, "538 5.7.11 Encryption required: use STARTTLS first");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "530 5.7.0 Authentication required");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.logins, 0);
	tc_free(&c);
}

static void
test_sender(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<bob@example.com>\r\n");
	tc_expect(&c, "550 5.7.1 Sender <bob@example.com> is not one of this "
	              "account's addresses: send as <" TB_USER ">");
	tc_send(&c, "MAIL FROM:<>\r\n");
	tc_expect(&c, "550 5.7.1 The null sender <> is not one of this "
	              "account's addresses: send as <" TB_USER ">");
	tc_send(&c, "MAIL FROM:<" TB_SENDER_DOWN ">\r\n");
	tc_expect(&c, "451 4.3.0 Cannot check the sender now: the account's "
	              "addresses are not known yet");
	tc_send(&c, "MAIL FROM:<al..ice@example.org>\r\n");
	tc_expect(&c, "501 5.1.7 Bad sender address syntax");
	tc_send(&c, "MAIL FROM:" TB_USER "\r\n");
	tc_expect(&c, "501 5.1.7 Bad sender address syntax");
	tc_send(&c, "MAIL TO:<" TB_USER ">\r\n");
	tc_expect(&c, "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]");
	tc_send(&c, "MAIL FROM:<j\xc3\xa9@example.org>\r\n");
	tc_expect(&c, "553 5.6.7 A non-ASCII address needs the SMTPUTF8 "
	              "parameter");
	tc_send(&c, "MAIL FROM:<j\xc3\xa9@example.org> SMTPUTF8\r\n");
	tc_expect(&c, "550 5.7.1 Sender <j\xc3\xa9@example.org> is not one of "
	              "this account's addresses: send as <" TB_USER ">");
	tc_send(&c, "MAIL FROM:<" TB_USER "> SIZE=1048577\r\n");
	tc_expect(&c, "552 5.3.4 Message too large: at most 1048576 bytes");
	tc_send(&c, "MAIL FROM:<" TB_USER "> RET=HDRS\r\n");
	tc_expect(&c, "555 5.5.4 Unsupported MAIL FROM parameter");
	tc_send(&c, "MAIL FROM:<" TB_USER "> BODY=BINARYMIME\r\n");
	tc_expect(&c, "501 5.5.4 BODY takes 7BIT or 8BITMIME");
	/* Quoted, any case: the backend decides what is the account's. */
	tc_send(&c, "MAIL FROM:<\"Alice\"@Example.ORG> SIZE=1048576 "
	            "BODY=8BITMIME SMTPUTF8 AUTH=<>\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "503 5.5.1 Nested MAIL command");
	tc_finish(&c);
	tc_free(&c);
}

static void
test_recipients(void)
{
	struct tc c;

	tc_init(&c);
	c.cfg.recipients_max = 3;
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "503 5.5.1 Need MAIL before RCPT");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "DATA\r\n");
	tc_expect(&c, "503 5.5.1 Need RCPT before DATA");
	tc_send(&c, "RCPT TO:<>\r\n");
	tc_expect(&c, "501 5.1.3 The null path <> is not a recipient");
	tc_send(&c, "RCPT TO:<bob@>\r\n");
	tc_expect(&c, "501 5.1.3 Bad recipient address syntax");
	tc_send(&c, "RCPT TO:<bob@example.com> NOTIFY=NEVER\r\n");
	tc_expect(&c, "555 5.5.4 RCPT TO takes no parameters");
	tc_send(&c, "RCPT FROM:<bob@example.com>\r\n");
	tc_expect(&c, "501 5.5.4 Syntax: RCPT TO:<address>");
	tc_send(&c, "RCPT TO:<j\xc3\xa9@example.com>\r\n");
	tc_expect(&c, "553 5.6.7 A non-ASCII address needs SMTPUTF8 in MAIL "
	              "FROM");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "RCPT TO:<Bob@Example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "RCPT TO:<carol@example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "RCPT TO:<dave@example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "RCPT TO:<erin@example.com>\r\n");
	tc_expect(&c, "452 4.5.3 Too many recipients: at most 3 per message");
	tc_send(&c, "RCPT TO:<carol@example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "DATA now\r\n");
	tc_expect(&c, "501 5.5.4 DATA takes no arguments");
	tc_send(&c, "DATA\r\nhi\r\n.\r\n");
	tc_expect(&c, OK_354);
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	TEST_EQ_STR(c.tb.sender, TB_USER);
	TEST_EQ_STR(c.tb.recipients,
	            "bob@example.com carol@example.com dave@example.com");
	/* SMTPUTF8 lets UTF-8 in. */
	tc_send(&c, "MAIL FROM:<" TB_USER "> SMTPUTF8\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "RCPT TO:<j\xc3\xa9@\xc3\xa9t\xc3\xa9.example>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_finish(&c);
	tc_free(&c);
}

/* RSET and a new greeting end the transaction; logging in stays. */
static void
test_rset(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_send(&c, "RSET\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "503 5.5.1 Need MAIL before RCPT");
	tc_send(&c, "DATA\r\n");
	tc_expect(&c, "503 5.5.1 Need MAIL before DATA");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "503 5.5.1 Already authenticated");
	tc_ehlo(&c);
	tc_send(&c, "RCPT TO:<bob@example.com>\r\n");
	tc_expect(&c, "503 5.5.1 Need MAIL before RCPT");
	tc_envelope(&c, "bob@example.com");
	tc_send(&c, "x\r\n.\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.begins, 1);
	tc_free(&c);
}

/* What the client sends, and what the backend must get. */
static const char msg_sent[] = "From: Alice <alice@example.org>\r\n"
                               "To: Bob <bob@example.com>\r\n"
                               "Subject: Lunch\r\n"
                               "\r\n"
                               "Hi Bob,\r\n"
                               "..a line that starts with a dot\r\n"
                               "...\r\n"
                               "a line that ends in a bare LF\n"
                               "\r\n"
                               "Alice.\r\n"
                               ".\r\n";
static const char msg_got[] = "From: Alice <alice@example.org>\r\n"
                              "To: Bob <bob@example.com>\r\n"
                              "Subject: Lunch\r\n"
                              "\r\n"
                              "Hi Bob,\r\n"
                              ".a line that starts with a dot\r\n"
                              "..\r\n"
                              "a line that ends in a bare LF\r\n"
                              "\r\n"
                              "Alice.\r\n";

static void
test_message(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_envelope(&c, "bob@example.com");
	tc_send(&c, msg_sent);
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	TEST_EQ_MEM(c.tb.message.data, c.tb.message.len, msg_got,
	            sizeof(msg_got) - 1);
	/* A message of its own, with the awkward lines. */
	tc_envelope(&c, "carol@example.com");
	tc_send(&c, "Subject: dots\r\n\r\n..\r\n...\r\n. x\r\n"
	            "bare\nCR\rinside\r\n\r\n.\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0002");
	TEST_EQ_STR(sb_buf_str(&c.tb.message),
	            "Subject: dots\r\n\r\n.\r\n..\r\n x\r\n"
	            "bare\r\nCR\rinside\r\n\r\n");
	/* An empty message is the backend's to judge. */
	tc_envelope(&c, "dave@example.com");
	tc_send(&c, ".\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0003");
	TEST_EQ_UINT(c.tb.message.len, 0);
	tc_send(&c, "QUIT\r\n");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.finishes, 3);
	TEST_EQ_UINT(c.tb.aborts, 0);
	tc_free(&c);
}

/* RFC 2920: a group in one packet, answered in order. */
static void
test_pipelining(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n"
	            "RCPT TO:<bob@example.com>\r\n"
	            "RCPT TO:<nobody>\r\n"
	            "RCPT TO:<carol@example.com>\r\n"
	            "DATA\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, "501 5.1.3 Bad recipient address syntax");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	tc_send(&c, "Subject: one\r\n\r\nfirst\r\n.\r\n"
	            "MAIL FROM:<" TB_USER ">\r\n"
	            "RCPT TO:<dave@example.com>\r\n"
	            "DATA\r\n"
	            "Subject: two\r\n\r\nsecond\r\n.\r\n"
	            "RSET\r\nQUIT\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0002");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_expect_eof(&c);
	tc_finish(&c);
	TEST_EQ_STR(sb_buf_str(&c.tb.message),
	            "Subject: two\r\n\r\nsecond\r\n");
	TEST_EQ_STR(c.tb.recipients, "dave@example.com");
	tc_free(&c);
}

/* A whole session sent one byte at a time, LF line ends for some. */
static void
test_byte_at_a_time(void)
{
	static const char *const replies[] = {
	        "250-mx.test",
	        "250-SIZE 1048576",
	        "250-PIPELINING",
	        "250-8BITMIME",
	        "250-ENHANCEDSTATUSCODES",
	        "250-SMTPUTF8",
	        "250-STARTTLS",
	        "250 AUTH PLAIN LOGIN",
	        "235 2.7.0 Authentication successful",
	        "250 2.1.0 Ok",
	        "250 2.1.5 Ok",
	        OK_354,
	        "250 2.0.0 Ok: queued as Q0001",
	        "221 2.0.0 Bye",
	};
	char session[1024];
	struct tc c;
	size_t i, len;

	len = (size_t)snprintf(session, sizeof(session),
	                       "EHLO client.test\n"
	                       "AUTH PLAIN %s\r\n"
	                       "MAIL FROM:<" TB_USER "> BODY=8BITMIME\n"
	                       "RCPT TO:<bob@example.com>\r\n"
	                       "DATA\r\n"
	                       "Subject: slow\r\n\r\n..dot\nbody\r\n.\n"
	                       "QUIT\r\n",
	                       tc_plain("", TB_USER, TB_PASSWORD));
	tc_init(&c);
	tc_start(&c);
	for (i = 0; i < len; i++)
		tc_send_len(&c, session + i, 1);
	for (i = 0; i < SB_N_ELEMENTS(replies); i++)
		tc_expect(&c, replies[i]);
	tc_expect_eof(&c);
	tc_finish(&c);
	TEST_EQ_STR(sb_buf_str(&c.tb.message),
	            "Subject: slow\r\n\r\n.dot\r\nbody\r\n");
	tc_free(&c);
}

/* Lines too long: answered once each, and the session stays in step. */
static void
test_long_lines(void)
{
	static char line[20000];
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', 600);
	memcpy(line + 605, "\r\n", 2);
	tc_send_len(&c, line, 607);
	tc_expect(&c, "500 5.5.2 Line too long");
	memset(line + 5, 'x', sizeof(line) - 7);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	tc_send_len(&c, line, sizeof(line));
	tc_expect(&c, "500 5.5.2 Line too long");
	tc_send(&c, "NOOP\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	/* MAIL has room for its parameters. */
	memcpy(line, "MAIL FROM:<" TB_USER "> AUTH=", 35);
	memset(line + 35, 'a', 650);
	memcpy(line + 685, "\r\n", 2);
	tc_send_len(&c, line, 687);
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\nDATA\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	/* A text line of 999 bytes: read to the dot, then refused. */
	memset(line, 'y', 999);
	memcpy(line + 999, "\r\nmore\r\n.\r\nNOOP\r\n", 17);
	tc_send(&c, "Subject: long\r\n\r\n");
	tc_send_len(&c, line, 999 + 17);
	tc_expect(&c, "500 5.5.2 Line too long: a line of a message has at "
	              "most 998 bytes");
	tc_expect(&c, "250 2.0.0 Ok");
	/* 998 bytes are fine. */
	tc_envelope(&c, "bob@example.com");
	memcpy(line + 998, "\r\n.\r\n", 5);
	tc_send_len(&c, line, 998 + 5);
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finishes, 1);
	TEST_EQ_UINT(c.tb.message.len, 1000);
	tc_free(&c);
}

/* SIZE: at MAIL, and during DATA (read to the dot, then 552). */
static void
test_size_limit(void)
{
	char body[2100];
	struct tc c;
	size_t i;

	tc_init(&c);
	c.cfg.size_max = 1000;
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER "> SIZE=1001\r\n");
	tc_expect(&c, "552 5.3.4 Message too large: at most 1000 bytes");
	tc_send(&c, "MAIL FROM:<" TB_USER "> SIZE=99999999999999999999999\r\n");
	tc_expect(&c, "501 5.5.4 SIZE takes a number");
	tc_send(&c, "MAIL FROM:<" TB_USER "> SIZE=1000\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "RCPT TO:<bob@example.com>\r\nDATA\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	/* 20 lines of 100 bytes with their CRLF: 2000 bytes. */
	for (i = 0; i < 20; i++) {
		memset(body + i * 100, 'z', 98);
		memcpy(body + i * 100 + 98, "\r\n", 2);
	}
	tc_send_len(&c, body, 2000);
	tc_send(&c, ".\r\nNOOP\r\n");
	tc_expect(&c, "552 5.3.4 Message too large: at most 1000 bytes");
	tc_expect(&c, "250 2.0.0 Ok");
	/* Exactly the limit is taken. */
	tc_envelope(&c, "bob@example.com");
	tc_send_len(&c, body, 1000);
	tc_send(&c, ".\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finishes, 1);
	TEST_EQ_UINT(c.tb.message.len, 1000);
	tc_free(&c);
}

/* The backend fails: 451, nothing queued, the session goes on. */
static void
test_backend_failures(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "RCPT TO:<" TB_FAIL_BEGIN ">\r\nDATA\r\n");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, "451 4.3.0 the outbox cannot be written");
	tc_send(&c, "RSET\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_envelope(&c, TB_FAIL_WRITE);
	tc_send(&c, "Subject: x\r\n\r\nbody\r\n.\r\n");
	tc_expect(&c, "451 4.3.0 the outbox's disk is full");
	tc_envelope(&c, TB_FAIL_FINISH);
	tc_send(&c, "Subject: x\r\n\r\nbody\r\n.\r\n");
	tc_expect(&c, "451 4.3.0 the outbox cannot be synced to disk");
	tc_envelope(&c, "bob@example.com");
	tc_send(&c, "Subject: x\r\n\r\nbody\r\n.\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.begins, 3);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finish_failures, 1);
	TEST_EQ_UINT(c.tb.finishes, 1);
	tc_free(&c);
}

/* The 250 goes out after data_finish returned, not before. */
static void
test_queued_after_finish(void)
{
	const char *error;
	struct tc c;

	tc_init(&c);
	c.tb.allow_block = true;
	tc_start(&c);
	tc_login(&c);
	tc_envelope(&c, TB_BLOCK_FINISH);
	tc_send(&c, "Subject: wait\r\n\r\nfor it\r\n.\r\n");
	tb_wait_finish(&c.tb);
	/* The session is inside data_finish: nothing may have come. */
	TEST_EQ_INT(sb_conn_wait(c.conn, -1, 0, &error), 0);
	tb_release_finish(&c.tb);
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_finish(&c);
	tc_free(&c);
}

/* The client leaves in the middle of DATA: the message is dropped. */
static void
test_dropped_in_data(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_envelope(&c, "bob@example.com");
	tc_send(&c, "Subject: half\r\n\r\nwritten\r\n");
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.begins, 1);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finishes, 0);
	tc_free(&c);
}

/* A client that keeps making mistakes is sent away. */
static void
test_too_many_errors(void)
{
	struct tc c;
	int i;

	tc_init(&c);
	tc_start(&c);
	tc_ehlo(&c);
	for (i = 0; i < SMTP_MAX_ERRORS - 1; i++) {
		tc_send(&c, "FOO\r\n");
		tc_expect(&c, "500 5.5.1 Command unrecognized");
	}
	tc_send(&c, "DATA\r\nNOOP\r\n");
	tc_expect(&c, "503 5.5.1 Need MAIL before DATA");
	tc_expect(&c, "421 4.7.0 Too many errors");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"greeting_and_simple_commands",
	         test_greeting_and_simple_commands},
	        {"auth_plain", test_auth_plain},
	        {"auth_login", test_auth_login},
	        {"auth_failures", test_auth_failures},
	        {"auth_needs_tls", test_auth_needs_tls},
	        {"sender", test_sender},
	        {"recipients", test_recipients},
	        {"rset", test_rset},
	        {"message", test_message},
	        {"pipelining", test_pipelining},
	        {"byte_at_a_time", test_byte_at_a_time},
	        {"long_lines", test_long_lines},
	        {"size_limit", test_size_limit},
	        {"backend_failures", test_backend_failures},
	        {"queued_after_finish", test_queued_after_finish},
	        {"dropped_in_data", test_dropped_in_data},
	        {"too_many_errors", test_too_many_errors},
	        {NULL, NULL},
	};
	int ret;

	tc_setup();
	ret = test_run(cases);
	tc_cleanup();
	return ret;
}
