#!/usr/bin/python3
"""saltbridge serve's IMAP listeners against Python's imaplib.

    /usr/bin/python3 tests/imap/test_imap_login.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

One account is signed up on a real saltmaild and logged in to a fresh
bridge home; `saltbridge serve --imap-port 0 --imaps-port 0` prints the
ports it took. Then, with imaplib: the greeting and CAPABILITY before and
after STARTTLS and login; LOGIN and AUTHENTICATE PLAIN (with and without
an initial response) with the bridge password; refusals of a wrong
password and of the account's own password, slowed down, and the
connection closed after too many; implicit TLS; NOOP, ID, LOGOUT;
commands not allowed before login; bad and over-long input answered
with BAD; bytes sent after STARTTLS in the clear not taken as TLS input;
SIGTERM ending a serve of its own while a client takes none of a large
FETCH answer. serve's log must hold no password and no sanitizer report. The last line
printed is "N passed, M failed".
"""
import base64
import imaplib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
_fixture = {}


def run(cmd, data=b""):
    r = subprocess.run(cmd, input=data, capture_output=True,
                       timeout=RUN_TIMEOUT)
    r.err = r.stderr.decode("utf-8", "replace")
    return r


class Bridge:
    """A logged-in bridge home and its serve process."""

    def __init__(self, srv):
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-imap-")
        self.home = os.path.join(self.tmp, "home")
        self.acct = harness.signup(srv, login=False)
        self.email = self.acct.email
        self.account_password = self.acct.ident.password
        r = run([SALTBRIDGE, "--home", self.home, "login", "--api",
                 "https://127.0.0.1:%d" % srv.port, "--ca-file", srv.cert,
                 "--password-stdin", self.email],
                self.account_password.encode() + b"\n")
        if r.returncode != 0:
            raise AssertionError("login: " + r.err)
        r = run([SALTBRIDGE, "--home", self.home, "info", "--json",
                 self.email])
        if r.returncode != 0:
            raise AssertionError("info: " + r.err)
        self.password = json.loads(r.stdout)["password"]
        self.err_path = os.path.join(self.tmp, "serve.stderr")
        self.err_file = open(self.err_path, "wb")
        self.proc, raw, ports = harness.start_bridge_serve(
            SALTBRIDGE, self.home, self.err_file,
            ["--imap-port", "0", "--imaps-port", "0", "--smtp-port", "0",
             "--smtps-port", "0"], RUN_TIMEOUT)
        if raw is None or not raw.startswith(b"saltbridge: ready"):
            raise AssertionError("serve did not get ready:\n" + self.log())
        self.port = ports.get("STARTTLS")
        self.tls_port = ports.get("TLS")
        if self.port is None or self.tls_port is None:
            raise AssertionError("serve printed no IMAP ports")
        self.smtp_port = ports.get("SMTP")
        self.smtps_port = ports.get("SMTPS")
        self.cert = os.path.join(self.home, "data", "tls", "cert.pem")

    def context(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        return ctx

    def log(self):
        self.err_file.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err_file.close()
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)


def fixture():
    if "bridge" not in _fixture:
        srv = harness.Server(SALTMAILD, ["--open-signup"], "imap")
        srv.start()
        _fixture["server"] = srv
        _fixture["bridge"] = Bridge(srv)
    return _fixture["bridge"]


def tearDownModule():
    b = _fixture.get("bridge")
    if b is not None:
        log = b.log()
        rc = None
        b.proc.send_signal(signal.SIGTERM)
        try:
            rc = b.proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        log = b.log()
        b.stop()
        for mark in SANITIZER_MARKS:
            if mark in log:
                raise AssertionError("serve's log:\n" + log)
        for secret in (b.password, b.account_password):
            if secret in log:
                raise AssertionError("a password reached the log")
        if rc != 0:
            raise AssertionError("serve exited %r:\n%s" % (rc, log))
    if "server" in _fixture:
        _fixture["server"].stop()


def raw_connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=RUN_TIMEOUT)
    f = s.makefile("rb")
    return s, f


class ImapLoginTest(unittest.TestCase):
    def setUp(self):
        self.b = fixture()

    def connect(self):
        m = imaplib.IMAP4("127.0.0.1", self.b.port, timeout=RUN_TIMEOUT)
        self.addCleanup(self.close, m)
        return m

    def close(self, m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def test_greeting_and_capabilities(self):
        m = self.connect()
        self.assertIn(b"Saltbridge ready", m.welcome)
        self.assertIn("IMAP4REV1", m.capabilities)
        self.assertIn("STARTTLS", m.capabilities)
        self.assertIn("AUTH=PLAIN", m.capabilities)
        m.starttls(ssl_context=self.b.context())
        typ, data = m.capability()
        self.assertEqual(typ, "OK")
        self.assertNotIn(b"STARTTLS", data[0])
        m.login(self.b.email, self.b.password)
        typ, data = m.capability()
        self.assertNotIn(b"AUTH=PLAIN", data[0])
        self.assertEqual(m.noop()[0], "OK")
        typ, data = m.xatom("ID", '("name" "test-suite" "version" "1")')
        self.assertEqual(typ, "OK")
        self.assertIn(b"Saltbridge", m.untagged_responses["ID"][0])
        typ, _ = m.logout()
        self.assertEqual(typ, "BYE")

    def test_login_forms(self):
        # LOGIN over STARTTLS, with the address in any case.
        m = self.connect()
        m.starttls(ssl_context=self.b.context())
        typ, _ = m.login(self.b.email.upper(), self.b.password)
        self.assertEqual(typ, "OK")
        # AUTHENTICATE PLAIN, with an initial response (SASL-IR).
        m = self.connect()
        m.starttls(ssl_context=self.b.context())
        typ, _ = m.authenticate(
            "PLAIN", lambda _: ("\0%s\0%s" % (self.b.email,
                                              self.b.password)).encode())
        self.assertEqual(typ, "OK")
        # Without one: the response follows the "+".
        s, f = raw_connect(self.b.port)
        with s:
            f.readline()
            s.sendall(b"a1 AUTHENTICATE PLAIN\r\n")
            self.assertTrue(f.readline().startswith(b"+"))
            s.sendall(base64.b64encode(("%s\0%s\0%s" % (
                self.b.email, self.b.email, self.b.password)).encode())
                + b"\r\n")
            line = f.readline()
            self.assertTrue(line.startswith(b"a1 OK"), line)
            s.sendall(b"a2 AUTHENTICATE PLAIN\r\n")
            self.assertTrue(f.readline().startswith(b"a2 BAD"))
        # Implicit TLS.
        m = imaplib.IMAP4_SSL("127.0.0.1", self.b.tls_port,
                              ssl_context=self.b.context(),
                              timeout=RUN_TIMEOUT)
        self.addCleanup(self.close, m)
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertEqual(m.login(self.b.email, self.b.password)[0], "OK")

    def test_refusals(self):
        m = self.connect()
        with self.assertRaises(imaplib.IMAP4.error) as e:
            m.login(self.b.email, "not-the-password")
        self.assertIn("AUTHENTICATIONFAILED", str(e.exception))
        # The account's own password is not a bridge password.
        with self.assertRaises(imaplib.IMAP4.error):
            m.login(self.b.email, self.b.account_password)
        with self.assertRaises(imaplib.IMAP4.error):
            m.login("nobody@example.org", self.b.password)
        # Another user's name in PLAIN's authzid.
        s, f = raw_connect(self.b.port)
        with s:
            f.readline()
            resp = base64.b64encode(("other@example.org\0%s\0%s" % (
                self.b.email, self.b.password)).encode())
            s.sendall(b"z AUTHENTICATE PLAIN " + resp + b"\r\n")
            self.assertIn(b"AUTHORIZATIONFAILED", f.readline())
            s.sendall(b"y AUTHENTICATE CRAM-MD5\r\n")
            self.assertTrue(f.readline().startswith(b"y NO"))
            # A cancelled exchange.
            s.sendall(b"x AUTHENTICATE PLAIN\r\n")
            f.readline()
            s.sendall(b"*\r\n")
            self.assertTrue(f.readline().startswith(b"x BAD"))

    def test_too_many_failures_close(self):
        s, f = raw_connect(self.b.port)
        started = time.monotonic()
        with s:
            f.readline()
            replies = []
            for i in range(5):
                s.sendall(b"t%d LOGIN %s wrong%d\r\n"
                          % (i, self.b.email.encode(), i))
                replies.append(f.readline())
            self.assertTrue(all(b" NO " in r for r in replies), replies)
            self.assertTrue(f.readline().startswith(b"* BYE"))
            self.assertEqual(f.readline(), b"")
        # The delays add up (0.5 + 1 + 2 + 4 + 4 s): answered slowly,
        # not at once.
        self.assertGreater(time.monotonic() - started, 7.0)

    def test_state_and_syntax(self):
        s, f = raw_connect(self.b.port)
        with s:
            f.readline()
            s.sendall(b"a SELECT INBOX\r\n")
            self.assertTrue(f.readline().startswith(b"a BAD"))
            s.sendall(b"b FROBNICATE\r\n")
            self.assertIn(b"Unknown command", f.readline())
            s.sendall(b"c NOOP extra\r\n")
            self.assertTrue(f.readline().startswith(b"c BAD"))
            s.sendall(b"\r\n")
            self.assertTrue(f.readline().startswith(b"* BAD"))
            s.sendall(b"d LOGIN \"unterminated\r\n")
            self.assertTrue(f.readline().startswith(b"d BAD"))
            # Too long before login: refused, and the next command works.
            s.sendall(b"e NOOP " + b"x" * 20000 + b"\r\n")
            self.assertTrue(f.readline().startswith(b"e BAD"))
            # A literal larger than a login may send.
            s.sendall(b"f LOGIN {100000}\r\n")
            line = f.readline()
            self.assertTrue(line.startswith(b"f NO") or
                            line.startswith(b"f BAD"), line)
            s.sendall(b"g NOOP\r\n")
            self.assertTrue(f.readline().startswith(b"g OK"))
            # A literal within the limits, synchronizing.
            s.sendall(b"h LOGIN {%d}\r\n" % len(self.b.email))
            self.assertTrue(f.readline().startswith(b"+"))
            s.sendall(self.b.email.encode() + b" {%d+}\r\n%s\r\n" % (
                len(self.b.password), self.b.password.encode()))
            line = f.readline()
            self.assertTrue(line.startswith(b"h OK"), line)

    def test_starttls_injection(self):
        s, f = raw_connect(self.b.port)
        with s:
            f.readline()
            # A command sent in the clear right after STARTTLS.
            s.sendall(b"a STARTTLS\r\nb LOGIN %s %s\r\n"
                      % (self.b.email.encode(), self.b.password.encode()))
            self.assertTrue(f.readline().startswith(b"a OK"))
            tls = self.b.context().wrap_socket(
                s, server_hostname="127.0.0.1")
            tf = tls.makefile("rb")
            tls.sendall(b"c NOOP\r\n")
            # The injected LOGIN was dropped: only c's answer comes.
            line = tf.readline()
            self.assertTrue(line.startswith(b"c OK"), line)
            tls.sendall(b"d SELECT INBOX\r\n")
            self.assertTrue(tf.readline().startswith(b"d BAD"))
            tls.close()

    def test_stop_with_a_client_that_never_reads(self):
        # A serve of its own, since this one is stopped.
        b = Bridge(_fixture["server"])
        self.addCleanup(b.stop)
        message = (b"From: Alice <alice@example.org>\r\n"
                   b"Subject: Never read\r\n\r\n"
                   + (b"z" * 1022 + b"\r\n") * 256)
        _fixture["server"].deliver(b.email, message)
        m = imaplib.IMAP4("127.0.0.1", b.port, timeout=RUN_TIMEOUT)
        m.login(b.email, b.password)
        self.assertTrue(harness.poll(
            lambda: b"MESSAGES 1" in m.status("INBOX", "(MESSAGES)")[1][0],
            RUN_TIMEOUT, 0.2))
        m.logout()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(RUN_TIMEOUT)
        s.connect(("127.0.0.1", b.port))
        self.addCleanup(s.close)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\n"
                  % (b.email.encode(), b.password.encode()))
        line = f.readline()
        while not line.startswith(b"b "):
            self.assertNotEqual(line, b"")
            line = f.readline()
        self.assertTrue(line.startswith(b"b OK"), line)
        # Hundreds of times more than the socket buffers hold; its start
        # arrives, so the session is writing when the signal comes.
        s.sendall(b"".join(b"f%d FETCH 1 (BODY.PEEK[])\r\n" % i
                           for i in range(400)))
        self.assertTrue(f.readline().startswith(b"* 1 FETCH"))
        b.proc.send_signal(signal.SIGTERM)
        try:
            # A liveness bound, not a measure: a stop that waits for the
            # client never comes.
            rc = b.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.fail("serve waits for a client that reads nothing")
        self.assertEqual(rc, 0, b.log())
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, b.log())


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
