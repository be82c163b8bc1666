#!/usr/bin/python3
"""saltbridge serve's SMTP commands and refusals, with smtplib and swaks.

    /usr/bin/python3 tests/smtp/test_smtp_commands.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

One account on a real saltmaild, logged in to a bridge whose serve
listens for SMTP with STARTTLS and implicit TLS on free ports. Every
command of the submission server and its errors, by reply code: the
greeting, EHLO before and after STARTTLS (its extensions), HELO, AUTH
PLAIN (with and without an initial response) and LOGIN, refused before
TLS, with a wrong password or the account's own, and closed after too
many; MAIL FROM the account's address or another (5.7.1), SIZE over the
limit, BODY and SMTPUTF8; RCPT before MAIL, bad paths; DATA before RCPT;
RSET, NOOP, VRFY (252), HELP, an unknown command, a line too long;
pipelined commands (RFC 2920) answered in order; a message accepted
with 250 and a queue id; STARTTLS with commands pipelined after it
refused. The last line printed is "N passed, M failed".
"""
import base64
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, os.path.join(HERE, "..", "imap"))

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

RUN_TIMEOUT = 60


def fixture():
    return base.fixture()


def tearDownModule():
    base.tearDownModule()


class SmtpCommandTest(unittest.TestCase):
    def setUp(self):
        self.b = fixture()
        self.port = self.b.smtp_port

    def plain(self):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=RUN_TIMEOUT)
        self.addCleanup(self.close, s)
        return s

    def tls(self):
        s = self.plain()
        s.ehlo("client.test")
        code, _ = s.starttls(context=self.b.context())
        self.assertEqual(code, 220)
        s.ehlo("client.test")
        return s

    def authed(self):
        s = self.tls()
        s.login(self.b.email, self.b.password)
        return s

    @staticmethod
    def close(s):
        try:
            s.quit()
        except (smtplib.SMTPException, OSError):
            pass

    def test_greeting_and_ehlo(self):
        s = smtplib.SMTP(timeout=RUN_TIMEOUT)
        s._host = "127.0.0.1"  # what starttls checks the certificate for
        code, banner = s.connect("127.0.0.1", self.port)
        self.addCleanup(self.close, s)
        self.assertEqual(code, 220)
        self.assertIn(b"ESMTP", banner)
        code, _ = s.ehlo("client.test")
        self.assertEqual(code, 250)
        for ext in ("size", "pipelining", "8bitmime", "enhancedstatuscodes",
                    "smtputf8", "starttls"):
            self.assertTrue(s.has_extn(ext), ext)
        self.assertFalse(s.has_extn("auth"), "AUTH offered in clear")
        self.assertGreater(int(s.esmtp_features["size"]), 1000000)
        s.starttls(context=self.b.context())
        s.ehlo("client.test")
        self.assertFalse(s.has_extn("starttls"))
        self.assertIn("PLAIN", s.esmtp_features["auth"].upper())
        self.assertIn("LOGIN", s.esmtp_features["auth"].upper())
        code, _ = s.helo("client.test")
        self.assertEqual(code, 250)

    def test_auth_needs_tls(self):
        s = self.plain()
        s.ehlo("client.test")
        code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(
            b"\0" + self.b.email.encode() + b"\0"
            + self.b.password.encode()).decode())
        self.assertEqual(code, 538, text)
        code, text = s.docmd("MAIL", "FROM:<%s>" % self.b.email)
        self.assertEqual(code, 530, text)

    def test_auth_forms(self):
        s = self.tls()
        token = base64.b64encode(b"\0" + self.b.email.encode() + b"\0"
                                 + self.b.password.encode()).decode()
        code, _ = s.docmd("AUTH", "PLAIN " + token)
        self.assertEqual(code, 235)
        code, _ = s.docmd("AUTH", "PLAIN " + token)
        self.assertEqual(code, 503)  # once per session
        s = self.tls()
        code, _ = s.docmd("AUTH", "PLAIN")
        self.assertEqual(code, 334)
        code, _ = s.docmd(token)
        self.assertEqual(code, 235)
        s = self.tls()
        code, text = s.docmd("AUTH", "LOGIN")
        self.assertEqual(code, 334)
        self.assertEqual(base64.b64decode(text).lower(), b"username:")
        code, _ = s.docmd(base64.b64encode(self.b.email.encode()).decode())
        self.assertEqual(code, 334)
        code, _ = s.docmd(base64.b64encode(
            self.b.password.encode()).decode())
        self.assertEqual(code, 235)
        s = self.tls()
        code, _ = s.docmd("AUTH", "LOGIN")
        code, _ = s.docmd("*")
        self.assertEqual(code, 501)

    def test_auth_refused(self):
        s = self.tls()
        for password in ("wrong", self.b.account_password):
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.login(self.b.email, password)
            self.assertEqual(cm.exception.smtp_code, 535)
        code, _ = s.docmd("AUTH", "PLAIN !!!")
        self.assertEqual(code, 501)

    def test_too_many_failures_close(self):
        s = self.tls()
        token = base64.b64encode(b"\0" + self.b.email.encode()
                                 + b"\0nope").decode()
        codes = []
        try:
            for _ in range(8):
                codes.append(s.docmd("AUTH", "PLAIN " + token)[0])
        except smtplib.SMTPServerDisconnected:
            pass
        self.assertIn(421, codes)
        self.assertLessEqual(len(codes), 6)

    def test_sender_and_recipients(self):
        s = self.authed()
        code, _ = s.docmd("RCPT", "TO:<bob@example.org>")
        self.assertEqual(code, 503)
        code, text = s.docmd("MAIL", "FROM:<someone@elsewhere.test>")
        self.assertEqual(code, 550, text)
        self.assertIn(b"5.7.1", text)
        code, text = s.docmd("MAIL", "FROM:<>")
        self.assertEqual(code, 550, text)
        code, _ = s.docmd("MAIL", "FROM:<%s> SIZE=999999999999"
                          % self.b.email)
        self.assertEqual(code, 552)
        code, _ = s.docmd("MAIL", "FROM:nobrackets")
        self.assertEqual(code, 501)
        code, _ = s.docmd("MAIL", "FROM:<%s> BODY=8BITMIME SMTPUTF8"
                          % self.b.email.upper())
        self.assertEqual(code, 250)
        code, _ = s.docmd("MAIL", "FROM:<%s>" % self.b.email)
        self.assertEqual(code, 503)  # one transaction at a time
        code, _ = s.docmd("DATA")
        self.assertEqual(code, 503)  # no recipient yet
        code, _ = s.docmd("RCPT", "TO:<bad address>")
        self.assertEqual(code, 501)
        s.command_encoding = "utf-8"
        code, _ = s.docmd("RCPT", "TO:<j\u00f6rg@example.org>")
        self.assertEqual(code, 250)
        code, _ = s.docmd("RSET")
        self.assertEqual(code, 250)
        code, _ = s.docmd("RCPT", "TO:<bob@example.org>")
        self.assertEqual(code, 503)

    def test_small_commands(self):
        s = self.plain()
        s.ehlo("client.test")
        self.assertEqual(s.docmd("NOOP")[0], 250)
        self.assertEqual(s.docmd("VRFY", "bob")[0], 252)
        self.assertEqual(s.docmd("HELP")[0], 214)
        self.assertEqual(s.docmd("FROB")[0], 500)
        # Lines may be long (AUTH's, RFC 4954), but not past 12 KiB.
        self.assertEqual(s.docmd("MAIL", "X" * 13000)[0], 500)
        self.assertEqual(s.docmd("NOOP")[0], 250)
        code, _ = s.docmd("QUIT")
        self.assertEqual(code, 221)

    def test_send_and_pipelining(self):
        s = self.authed()
        msg = (b"From: <%s>\r\nTo: <bob@elsewhere.test>\r\nSubject: pipe"
               b"\r\n\r\n.leading dot\r\nbody\r\n" % self.b.email.encode())
        # Every command in one write; replies come back in order.
        s.send(("MAIL FROM:<%s>\r\nRCPT TO:<bob@elsewhere.test>\r\n"
                "RCPT TO:<carol@elsewhere.test>\r\nDATA\r\n"
                % self.b.email).encode())
        for want in (250, 250, 250, 354):
            code, text = s.getreply()
            self.assertEqual(code, want, text)
        s.send(msg.replace(b"\r\n.", b"\r\n..") + b".\r\n")
        code, text = s.getreply()
        self.assertEqual(code, 250, text)
        self.assertRegex(text, rb"2\.0\.0 .*queued as [0-9A-Za-z]+")

    def test_starttls_injection(self):
        raw = socket.create_connection(("127.0.0.1", self.port),
                                       timeout=RUN_TIMEOUT)
        self.addCleanup(raw.close)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"220"))
        raw.sendall(b"EHLO x\r\n")
        while True:
            line = f.readline()
            if line[3:4] == b" ":
                break
        raw.sendall(b"STARTTLS\r\nNOOP\r\n")
        line = f.readline()
        # Either refused, or TLS starts without the injected NOOP
        # answered in clear.
        if line.startswith(b"220"):
            raw.settimeout(1)
            try:
                extra = raw.recv(100)
            except socket.timeout:
                extra = b""
            self.assertNotIn(b"250", extra)
        else:
            self.assertRegex(line, rb"^5\d\d")

    def test_implicit_tls_and_swaks(self):
        if shutil.which("swaks") is None:
            self.fail("swaks is not installed (packaging/debian-deps.txt)")
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port",
             str(self.b.smtps_port), "--tlsc", "--tls-verify",
             "--tls-ca-path", self.b.cert, "--auth", "LOGIN",
             "--auth-user", self.b.email, "--auth-password",
             self.b.password, "--from", self.b.email,
             "--to", "dan@elsewhere.test", "--body", "swaks on TLS"],
            capture_output=True, timeout=RUN_TIMEOUT)
        out = r.stdout.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode())
        self.assertRegex(out, r"<~\s+250 2\.0\.0 .*queued as")
        # swaks' own refusal path: a sender not the account's.
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.port),
             "--tls", "--tls-verify", "--tls-ca-path", self.b.cert,
             "--auth", "PLAIN", "--auth-user", self.b.email,
             "--auth-password", self.b.password,
             "--from", "mallory@elsewhere.test",
             "--to", "dan@elsewhere.test"],
            capture_output=True, timeout=RUN_TIMEOUT)
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stdout.decode("utf-8", "replace"),
                         r"<~\*\s+550 5\.7\.1")


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
