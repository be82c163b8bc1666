/*
 * The SMTP server around its sessions: STARTTLS (the session starts
 * over, AUTH appears, bytes sent ahead of the handshake are refused),
 * implicit TLS, the command and data timers, a session told to stop, and
 * the server itself: its listeners, its defaults, and smtp_server_free
 * ending every session with 421 and abandoning a message in DATA.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/tls.h"
#include "test-client.h"
#include "test.h"

#define OK_354 "354 End data with <CR><LF>.<CR><LF>"

static void
test_starttls(void)
{
	char line[512];
	struct tc c;

	tc_init(&c);
	c.shared.auth_in_clear = false;
	tc_start(&c);
	tc_ehlo(&c);
	tc_send(&c, "STARTTLS now\r\n");
	tc_expect(&c, "501 5.5.4 STARTTLS takes no arguments");
	tc_send(&c, "STARTTLS\r\n");
	tc_expect(&c, "220 2.0.0 Ready to start TLS");
	tc_starttls(&c);
	/* A new start: no greeting said, so no enhanced codes either. */
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "503 Send EHLO first");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "503 Send EHLO first");
	tc_ehlo(&c);
	tc_send(&c, "STARTTLS\r\n");
	tc_expect(&c, "503 5.5.1 TLS is on already");
	snprintf(line, sizeof(line), "AUTH PLAIN %s\r\n",
	         tc_plain("", TB_USER, TB_PASSWORD));
	tc_send(&c, line);
	tc_expect(&c, "235 2.7.0 Authentication successful");
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\nRCPT TO:<bob@example.com>\r\n"
	            "DATA\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	tc_send(&c, "Subject: over TLS\r\n\r\nhi\r\n.\r\nQUIT\r\n");
	tc_expect(&c, "250 2.0.0 Ok: queued as Q0001");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_finish(&c);
	TEST_EQ_STR(sb_buf_str(&c.tb.message),
	            "Subject: over TLS\r\n\r\nhi\r\n");
	tc_free(&c);
}

/*
 * Commands sent with STARTTLS, ahead of the handshake, would be taken as
 * if they came through TLS (the command injection attack): refused, and
 * read as the plain commands they are.
 */
static void
test_starttls_injection(void)
{
	struct tc c;

	tc_init(&c);
	c.shared.auth_in_clear = false;
	tc_start(&c);
	tc_ehlo(&c);
	tc_send(&c, "STARTTLS\r\nNOOP\r\n");
	tc_expect(&c, "554 5.5.1 Nothing may follow STARTTLS before the TLS "
	              "handshake: TLS refused");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_send(&c, "AUTH PLAIN\r\n");
	tc_expect(&c, "538 5.7.11 Encryption required: use STARTTLS first");
	tc_finish(&c);
	tc_free(&c);
}

/* Not in a transaction; a failed handshake ends the session. */
static void
test_starttls_refused(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_send(&c, "STARTTLS\r\n");
	tc_expect(&c, "503 5.5.1 STARTTLS is not allowed in a mail "
	              "transaction");
	tc_send(&c, "RSET\r\nSTARTTLS\r\n");
	tc_expect(&c, "250 2.0.0 Ok");
	tc_expect(&c, "220 2.0.0 Ready to start TLS");
	tc_send(&c, "EHLO not a ClientHello\r\n");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);
}

static void
test_implicit_tls(void)
{
	struct tc c;

	tc_init(&c);
	c.shared.auth_in_clear = false;
	c.implicit_tls = true;
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "QUIT\r\n");
	tc_expect(&c, "221 2.0.0 Bye");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);
}

static void
test_command_timeout(void)
{
	struct tc c;

	tc_init(&c);
	c.cfg.command_timeout_ms = 50;
	tc_start(&c);
	tc_expect(&c, "421 mx.test Timeout: closing the connection");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);
}

/* DATA has a timer of its own; the message is dropped. */
static void
test_data_timeout(void)
{
	struct tc c;

	tc_init(&c);
	c.cfg.data_timeout_ms = 50;
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\nRCPT TO:<bob@example.com>\r\n"
	            "DATA\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	tc_send(&c, "Subject: slow\r\n");
	tc_expect(&c, "421 4.4.2 mx.test Timeout: closing the connection");
	tc_expect_eof(&c);
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finishes, 0);
	tc_free(&c);
}

/* The server stops: 421, and a message in DATA is dropped. */
static void
test_stop(void)
{
	struct tc c;

	tc_init(&c);
	tc_start(&c);
	tc_ehlo(&c);
	sb_event_signal(c.shared.stop_fd);
	tc_expect(&c, "421 4.3.2 Service shutting down");
	tc_expect_eof(&c);
	tc_finish(&c);
	tc_free(&c);

	tc_init(&c);
	tc_start(&c);
	tc_login(&c);
	tc_send(&c, "MAIL FROM:<" TB_USER ">\r\nRCPT TO:<bob@example.com>\r\n"
	            "DATA\r\nSubject: never\r\n");
	tc_expect(&c, "250 2.1.0 Ok");
	tc_expect(&c, "250 2.1.5 Ok");
	tc_expect(&c, OK_354);
	sb_event_signal(c.shared.stop_fd);
	tc_expect(&c, "421 4.3.2 Service shutting down");
	tc_expect_eof(&c);
	tc_finish(&c);
	TEST_EQ_UINT(c.tb.aborts, 1);
	TEST_EQ_UINT(c.tb.finishes, 0);
	tc_free(&c);
}

/* A client of the real listeners. */
static struct sb_conn *
server_client(struct smtp_server *srv, bool tls)
{
	struct sb_conn *conn;
	const char *error;
	int fd;

	if (sb_net_connect("127.0.0.1", smtp_server_port(srv, tls), 10000, &fd,
	                   &error) < 0)
		test_fail(__FILE__, __LINE__, "cannot connect: %s", error);
	conn = sb_conn_new(fd, 4096, 60000);
	if (tls &&
	    sb_conn_tls_connect(conn, tc_client_tls(), "localhost", &error) < 0)
		test_fail(__FILE__, __LINE__, "TLS failed: %s", error);
	return conn;
}

/* The server's listeners, defaults and end (smtp_server_free). */
static void
test_server(void)
{
	struct tc plain, tls;
	struct smtp_config cfg;
	struct smtp_server *srv;
	const char *error;
	char name[64];

	tc_init(&plain);
	cfg = plain.cfg;
	cfg.port = 0;
	cfg.tls_port = 0;
	cfg.hostname = NULL;
	cfg.size_max = 0;
	cfg.recipients_max = 0;
	cfg.command_timeout_ms = 0;
	cfg.data_timeout_ms = 0;
	cfg.backend.data_abort = NULL;
	TEST_EQ_INT(smtp_server_new(&cfg, &srv, &error), -1);
	cfg.backend.data_abort = plain.cfg.backend.data_abort;
	if (smtp_server_new(&cfg, &srv, &error) < 0 ||
	    smtp_server_start(srv, &error) < 0)
		test_fail(__FILE__, __LINE__, "no server: %s", error);
	snprintf(name, sizeof(name), "127.0.0.1:%u",
	         smtp_server_port(srv, false));
	TEST_EQ_STR(smtp_server_name(srv, false), name);
	TEST_ASSERT(smtp_server_port(srv, true) != 0);

	/* The defaults: localhost, SIZE 64 MiB; AUTH after TLS only. */
	plain.conn = server_client(srv, false);
	plain.cfg.hostname = "localhost";
	plain.cfg.size_max = SMTP_SIZE_MAX;
	plain.shared.auth_in_clear = false;
	tc_expect(&plain, "220 localhost ESMTP Saltbridge");
	tc_send(&plain, "EHLO client.test\r\n");
	tc_expect(&plain, "250-localhost");
	tc_expect(&plain, "250-SIZE 67108864");
	tc_expect(&plain, "250-PIPELINING");
	tc_expect(&plain, "250-8BITMIME");
	tc_expect(&plain, "250-ENHANCEDSTATUSCODES");
	tc_expect(&plain, "250-SMTPUTF8");
	tc_expect(&plain, "250 STARTTLS");

	/* The TLS port, in the middle of a message when the server ends. */
	memset(&tls, 0, sizeof(tls));
	tls.cfg.hostname = "localhost";
	tls.cfg.size_max = SMTP_SIZE_MAX;
	tls.conn = server_client(srv, true);
	tls.on_tls = true;
	tc_expect(&tls, "220 localhost ESMTP Saltbridge");
	tc_login(&tls);
	tc_send(&tls, "MAIL FROM:<" TB_USER ">\r\nRCPT TO:<bob@example.com>\r\n"
	              "DATA\r\nSubject: cut\r\n");
	tc_expect(&tls, "250 2.1.0 Ok");
	tc_expect(&tls, "250 2.1.5 Ok");
	tc_expect(&tls, OK_354);

	smtp_server_free(&srv);
	TEST_ASSERT(srv == NULL);
	tc_expect(&plain, "421 4.3.2 Service shutting down");
	tc_expect_eof(&plain);
	tc_expect(&tls, "421 4.3.2 Service shutting down");
	tc_expect_eof(&tls);
	sb_conn_free(&plain.conn);
	sb_conn_free(&tls.conn);
	TEST_EQ_UINT(plain.tb.aborts, 1);
	TEST_EQ_UINT(plain.tb.finishes, 0);
	sb_event_close(&plain.shared.stop_fd);
	tb_free(&plain.tb);
	smtp_server_free(&srv);
}

int
main(void)
{
	static const struct test_case cases[] = {
	        {"starttls", test_starttls},
	        {"starttls_injection", test_starttls_injection},
	        {"starttls_refused", test_starttls_refused},
	        {"implicit_tls", test_implicit_tls},
	        {"command_timeout", test_command_timeout},
	        {"data_timeout", test_data_timeout},
	        {"stop", test_stop},
	        {"server", test_server},
	        {NULL, NULL},
	};
	int ret;

	tc_setup();
	ret = test_run(cases);
	tc_cleanup();
	return ret;
}
