#!/usr/bin/python3
"""Sending through saltbridge serve's SMTP, end to end.

    /usr/bin/python3 tests/smtp/test_smtp_send.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

saltmaild runs with an SMTP sink (aiosmtpd) as its smarthost; alice and
bob are signed up and both logged in to one bridge home, whose serve
listens for IMAP and SMTP on free ports. With smtplib (and swaks, a
client nobody here wrote): alice sends to bob, who reads the message
over IMAP with its body byte for byte and a valid signature verdict,
and alice's Sent holds her copy; a message to bob and to addresses
elsewhere reaches the sink in clear without its Bcc, bob encrypted, and
alice's Sent with the Bcc; a message the service refuses for good comes
back as a bounce in alice's INBOX; with saltmaild stopped a message is
accepted (250) and delivered once it is back, exactly once; and serve
killed with SIGKILL right after the 250 delivers it once after a
restart; and a client's APPEND of its own copy to Sent after sending
makes no second copy, before or after the service filed its own. The
last line printed is "N passed, M failed".
"""
import email
import email.policy
import imaplib
import os
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
WAIT = 60
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")

_f = {}


def run(cmd, data=b""):
    r = subprocess.run(cmd, input=data, capture_output=True,
                       timeout=RUN_TIMEOUT)
    r.err = r.stderr.decode("utf-8", "replace")
    return r


def poll(fn, timeout=WAIT):
    return harness.poll(fn, timeout, 0.3)


class User:
    def __init__(self, acct, password):
        self.acct = acct
        self.email = acct.email
        self.password = password


class Bridge:
    """One bridge home with alice and bob logged in, and its serve."""

    def __init__(self, srv):
        self.srv = srv
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-smtp-")
        self.home = os.path.join(self.tmp, "home")
        self.users = [self.login(harness.signup(srv, login=False))
                      for _ in range(2)]
        self.err_path = os.path.join(self.tmp, "serve.stderr")
        self.err_file = open(self.err_path, "ab")
        self.proc = None
        self.start()
        self.cert = os.path.join(self.home, "data", "tls", "cert.pem")

    def login(self, acct):
        r = run([SALTBRIDGE, "--home", self.home, "login", "--api",
                 "https://127.0.0.1:%d" % self.srv.port, "--ca-file",
                 self.srv.cert, "--password-stdin", acct.email],
                acct.ident.password.encode() + b"\n")
        if r.returncode != 0:
            raise AssertionError("login: " + r.err)
        r = run([SALTBRIDGE, "--home", self.home, "info", "--json",
                 acct.email])
        if r.returncode != 0:
            raise AssertionError("info: " + r.err)
        import json
        return User(acct, json.loads(r.stdout)["password"])

    def start(self):
        self.proc, raw, ports = harness.start_bridge_serve(
            SALTBRIDGE, self.home, self.err_file,
            ["--imap-port", "0", "--smtp-port", "0", "--smtps-port", "0"],
            RUN_TIMEOUT)
        if raw is None or not raw.startswith(b"saltbridge: ready"):
            raise AssertionError("serve did not get ready:\n" + self.log())
        self.imap_port = ports["STARTTLS"]
        self.smtp_port = ports["SMTP"]
        self.smtps_port = ports["SMTPS"]

    def stop(self, sig=signal.SIGTERM):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.proc = None
        return rc

    def log(self):
        self.err_file.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def context(self):
        return ssl.create_default_context(cafile=self.cert)


def fixture():
    if "bridge" not in _f:
        _f["sink"] = harness.SmtpSink()
        srv = harness.Server(SALTMAILD, [
            "--open-signup", "--smarthost",
            "127.0.0.1:%d" % _f["sink"].port], "smtp")
        srv.start()
        _f["server"] = srv
        _f["bridge"] = Bridge(srv)
    return _f["bridge"]


def tearDownModule():
    b = _f.get("bridge")
    if b is not None:
        rc = b.stop()
        log = b.log()
        b.err_file.close()
        if not harness.KEEP_DATA:
            shutil.rmtree(b.tmp, ignore_errors=True)
        for mark in SANITIZER_MARKS:
            if mark in log:
                raise AssertionError("serve's log:\n" + log[-6000:])
        for u in b.users:
            if u.password in log or u.acct.ident.password in log:
                raise AssertionError("a password reached the log")
        if "Secret body" in log:
            raise AssertionError("message content reached the log")
        if rc != 0:
            raise AssertionError("serve exited %r:\n%s" % (rc, log[-4000:]))
    if "server" in _f:
        _f["server"].stop()
    if "sink" in _f:
        _f["sink"].stop()


def message(sender, to, subject, cc=None, bcc=None, body=None):
    lines = ["From: Alice <%s>" % sender, "To: %s" % ", ".join(to)]
    if cc:
        lines.append("Cc: %s" % ", ".join(cc))
    if bcc:
        lines.append("Bcc: %s" % ", ".join(bcc))
    lines += ["Subject: %s" % subject,
              "Message-ID: <%s@example.org>" % uuid.uuid4().hex,
              "Date: Mon, 2 Nov 2026 10:00:00 +0000",
              "MIME-Version: 1.0",
              "Content-Type: text/plain; charset=utf-8", ""]
    text = body if body is not None else (
        "Secret body of %s.\r\nLine two, caf\u00e9.\r\n" % subject)
    return ("\r\n".join(lines) + "\r\n" + text).encode()


class Base(unittest.TestCase):
    def setUp(self):
        self.b = fixture()
        self.alice, self.bob = self.b.users

    def smtp(self, user=None, implicit=False):
        user = user or self.alice
        if implicit:
            s = smtplib.SMTP_SSL("127.0.0.1", self.b.smtps_port,
                                 context=self.b.context(),
                                 timeout=RUN_TIMEOUT)
        else:
            s = smtplib.SMTP("127.0.0.1", self.b.smtp_port,
                             timeout=RUN_TIMEOUT)
            s.starttls(context=self.b.context())
        s.login(user.email, user.password)
        return s

    def imap(self, user):
        m = imaplib.IMAP4("127.0.0.1", self.b.imap_port,
                          timeout=RUN_TIMEOUT)
        m.starttls(ssl_context=self.b.context())
        m.login(user.email, user.password)
        return m

    def messages(self, user, box, subject):
        """The whole messages of box whose Subject is subject."""
        m = self.imap(user)
        try:
            typ, _ = m.select('"%s"' % box, readonly=True)
            self.assertEqual(typ, "OK")
            typ, data = m.uid("SEARCH", "HEADER", "Subject", '"%s"' % subject)
            uids = data[0].split() if data and data[0] else []
            out = []
            for uid in uids:
                typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
                self.assertEqual(typ, "OK", data)
                out += [d[1] for d in data if isinstance(d, tuple)]
            return out
        finally:
            m.logout()

    def wait_for(self, user, box, subject, count=1):
        got = []

        def seen():
            got[:] = self.messages(user, box, subject)
            return len(got) >= count
        self.assertTrue(poll(seen), "%s's %s never got %r:\n%s"
                        % (user.email, box, subject, self.b.log()[-3000:]))
        return got

    def body_of(self, raw):
        return raw.split(b"\r\n\r\n", 1)[1]

class SendTest(Base):
    def test_1_to_bob(self):
        subject = "hello bob %s" % uuid.uuid4().hex[:8]
        msg = message(self.alice.email, [self.bob.email], subject)
        with self.smtp() as s:
            # The envelope sender in any case is the account's address.
            refused = s.sendmail(self.alice.email.upper(), [self.bob.email],
                                 msg)
            self.assertEqual(refused, {})
        got = self.wait_for(self.bob, "INBOX", subject)
        self.assertEqual(len(got), 1)
        self.assertEqual(self.body_of(got[0]), self.body_of(msg))
        self.assertIn(b"X-Saltbridge-Signature: valid; signer=%s"
                      % self.alice.email.encode(), got[0])
        sent = self.wait_for(self.alice, "Sent", subject)
        self.assertEqual(self.body_of(sent[0]), self.body_of(msg))

    def test_2_bcc_and_elsewhere(self):
        subject = "mixed %s" % uuid.uuid4().hex[:8]
        carol, dave = "carol@elsewhere.test", "dave@elsewhere.test"
        msg = message(self.alice.email, [self.bob.email], subject,
                      cc=[carol], bcc=[dave])
        with self.smtp(implicit=True) as s:
            s.sendmail(self.alice.email, [self.bob.email, carol, dave], msg)
        got = self.wait_for(self.bob, "INBOX", subject)
        self.assertNotIn(b"Bcc:", got[0])
        self.assertNotIn(dave.encode(), got[0])
        sent = self.wait_for(self.alice, "Sent", subject)
        self.assertIn(b"Bcc: " + dave.encode(), sent[0])

        def relayed():
            return [m for m in _f["sink"].received()
                    if subject.encode() in m[2]]
        self.assertTrue(poll(relayed), "the smarthost got nothing")
        mail_from, rcpts, content = relayed()[0]
        self.assertEqual(sorted(rcpts), [carol, dave])
        self.assertNotIn(b"Bcc:", content)
        self.assertEqual(self.body_of(content.replace(b"\r\n", b"\n")
                                      .replace(b"\n", b"\r\n")),
                         self.body_of(msg))
        self.assertEqual(len(relayed()), 1)

    def test_3_refused_for_good_bounces(self):
        """The service refuses a message to elsewhere whose From is not
        the sender: alice gets a bounce that says so."""
        subject = "forged %s" % uuid.uuid4().hex[:8]
        msg = message("someone@elsewhere.test", ["erin@elsewhere.test"],
                      subject)
        with self.smtp() as s:
            s.sendmail(self.alice.email, ["erin@elsewhere.test"], msg)
        got = self.wait_for(self.alice, "INBOX",
                            "Undelivered Mail Returned to Sender")
        report = got[-1]
        self.assertIn(b"erin@elsewhere.test", report)
        self.assertIn(subject.encode(), report)
        self.assertIn(b"multipart/report", report)
        parsed = email.message_from_bytes(report, policy=email.policy.SMTP)
        self.assertEqual(parsed.get_content_type(), "multipart/report")

    def test_4_swaks(self):
        if shutil.which("swaks") is None:
            self.fail("swaks is not installed (packaging/debian-deps.txt)")
        subject = "swaks %s" % uuid.uuid4().hex[:8]
        r = run(["swaks", "--server", "127.0.0.1", "--port",
                 str(self.b.smtp_port), "--tls", "--tls-verify",
                 "--tls-ca-path", self.b.cert,
                 "--auth", "PLAIN", "--auth-user", self.alice.email,
                 "--auth-password", self.alice.password,
                 "--from", self.alice.email, "--to", self.bob.email,
                 "--header", "Subject: %s" % subject,
                 "--body", "Sent by swaks.", "--pipeline"])
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.err)
        self.assertRegex(r.stdout.decode(), r"<~\s+250 2\.0\.0 .*queued as")
        got = self.wait_for(self.bob, "INBOX", subject)
        self.assertIn(b"Sent by swaks.", got[0])

    def test_5_service_down(self):
        """Accepted with saltmaild stopped; delivered once it is back."""
        subject = "while down %s" % uuid.uuid4().hex[:8]
        srv = _f["server"]
        srv.stop(keep_data=True)
        try:
            msg = message(self.alice.email, [self.bob.email], subject)
            with self.smtp() as s:
                code, text = s.docmd("NOOP")
                self.assertEqual(code, 250)
                self.assertEqual(
                    s.sendmail(self.alice.email, [self.bob.email], msg), {})
        finally:
            srv.restart(same_port=True)
        got = self.wait_for(self.bob, "INBOX", subject)
        time.sleep(2)
        self.assertEqual(len(self.messages(self.bob, "INBOX", subject)), 1)
        self.assertEqual(self.body_of(got[0]), self.body_of(msg))

    def test_6_killed_after_250(self):
        """SIGKILL right after the 250: delivered once after a restart."""
        subject = "killed %s" % uuid.uuid4().hex[:8]
        srv = _f["server"]
        # The service away, so that the 250 cannot race the submission.
        srv.stop(keep_data=True)
        try:
            msg = message(self.alice.email, [self.bob.email], subject)
            with self.smtp() as s:
                self.assertEqual(
                    s.sendmail(self.alice.email, [self.bob.email], msg), {})
            self.b.stop(signal.SIGKILL)
        finally:
            srv.restart(same_port=True)
        self.b.start()
        got = self.wait_for(self.bob, "INBOX", subject)
        time.sleep(2)
        self.assertEqual(len(self.messages(self.bob, "INBOX", subject)), 1)
        self.assertEqual(self.body_of(got[0]), self.body_of(msg))


class SentCopyTest(Base):
    """A client that APPENDs its own copy to Sent after sending does not
    make a second one, whether the service filed its copy already or the
    message still waits in the outbox."""

    def append_sent(self, msg):
        m = self.imap(self.alice)
        try:
            typ, data = m.append("Sent", r"(\Seen)", None, msg)
            self.assertEqual(typ, "OK", data)
            return re.search(rb"APPENDUID \d+ (\d+)", data[0])
        finally:
            m.logout()

    def uids_in_sent(self, subject):
        m = self.imap(self.alice)
        try:
            m.select("Sent", readonly=True)
            typ, data = m.uid("SEARCH", "HEADER", "Subject", '"%s"' % subject)
            return [int(u) for u in data[0].split()]
        finally:
            m.logout()

    def test_after_the_service_filed_it(self):
        subject = "own copy %s" % uuid.uuid4().hex[:8]
        msg = message(self.alice.email, [self.bob.email], subject)
        with self.smtp() as s:
            s.sendmail(self.alice.email, [self.bob.email], msg)
        self.wait_for(self.alice, "Sent", subject)
        before = self.uids_in_sent(subject)
        m = self.append_sent(msg)
        self.assertIsNotNone(m)
        self.assertEqual([int(m.group(1))], before)
        time.sleep(2)
        self.assertEqual(self.uids_in_sent(subject), before)

    def test_while_in_the_outbox(self):
        subject = "own copy offline %s" % uuid.uuid4().hex[:8]
        msg = message(self.alice.email, [self.bob.email], subject)
        srv = _f["server"]
        srv.stop(keep_data=True)
        try:
            with self.smtp() as s:
                s.sendmail(self.alice.email, [self.bob.email], msg)
            self.append_sent(msg)
        finally:
            srv.restart(same_port=True)
        self.wait_for(self.bob, "INBOX", subject)
        got = self.wait_for(self.alice, "Sent", subject)
        time.sleep(3)
        self.assertEqual(len(self.messages(self.alice, "Sent", subject)), 1)
        self.assertEqual(self.body_of(got[0]), self.body_of(msg))


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
