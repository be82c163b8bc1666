#!/usr/bin/python3
"""CONDSTORE and QRESYNC (RFC 7162) of saltbridge serve.

    /usr/bin/python3 tests/imap/test_imap_condstore.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py, and a small line-based client (the
responses here are untagged data imaplib keeps poorly). ENABLE; SELECT's
HIGHESTMODSEQ and (CONDSTORE); FETCH MODSEQ and (CHANGEDSINCE n);
STORE (UNCHANGEDSINCE n) answering MODIFIED; STATUS HIGHESTMODSEQ; a
client that comes back with SELECT (QRESYNC (uidvalidity modseq)) told
exactly what it missed (VANISHED (EARLIER) and FETCH with MODSEQ); UID
FETCH (CHANGEDSINCE n VANISHED); expunges told as VANISHED once QRESYNC
is on; a no-change resync answered with nothing. The last line printed
is "N passed, M failed".
"""
import os
import re
import socket
import ssl
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

WAIT = 30


def message(tag):
    return ("From: sender@example.org\r\nTo: someone@example.org\r\n"
            "Subject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nBody.\r\n"
            % (tag, os.urandom(6).hex())).encode()


def tearDownModule():
    base.tearDownModule()


class Client:
    """One IMAP connection over STARTTLS; cmd() returns (untagged lines,
    tagged line)."""

    def __init__(self, b):
        s = socket.create_connection(("127.0.0.1", b.port),
                                     timeout=base.RUN_TIMEOUT)
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"t STARTTLS\r\n")
        f.readline()
        self.s = b.context().wrap_socket(s, server_hostname="127.0.0.1")
        self.f = self.s.makefile("rb")
        self.n = 0
        _, done = self.cmd("LOGIN %s %s" % (b.email, b.password))
        assert done.startswith(b"c1 OK"), done

    def cmd(self, text):
        self.n += 1
        tag = b"c%d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise AssertionError("connection closed after %r" % text)
            if line.startswith(tag + b" "):
                return lines, line.rstrip(b"\r\n")
            lines.append(line.rstrip(b"\r\n"))

    def close(self):
        try:
            self.cmd("LOGOUT")
        except (OSError, AssertionError):
            pass
        self.s.close()


def grab(lines, pattern):
    for line in lines:
        m = re.search(pattern, line)
        if m:
            return m
    return None


class CondstoreTest(unittest.TestCase):
    def setUp(self):
        self.b = base.fixture()
        self.srv = base._fixture["server"]

    def client(self):
        c = Client(self.b)
        self.addCleanup(c.close)
        return c

    def fill(self, box, n):
        c = self.client()
        self.assertIn(b"OK", c.cmd("CREATE %s" % box)[1])
        acct = self.b.acct

        def on_service():
            r = acct.get("/api/v1/mailboxes")
            if r.status == 401:
                acct.login()
                r = acct.get("/api/v1/mailboxes")
            return any(m["name"] == box for m in r.json["mailboxes"])
        deadline = time.monotonic() + WAIT
        while not on_service() and time.monotonic() < deadline:
            time.sleep(0.2)
        for i in range(n):
            self.srv.deliver(self.b.email, message("%s-%d" % (box, i)),
                             mailbox=box)
        while time.monotonic() < deadline:
            lines, _ = c.cmd("STATUS %s (MESSAGES)" % box)
            if grab(lines, rb"MESSAGES %d\)" % n):
                return
            time.sleep(0.2)
        self.fail("%s did not get its messages" % box)

    def test_condstore(self):
        self.fill("Cond", 3)
        c = self.client()
        lines, done = c.cmd("CAPABILITY")
        for cap in (b"CONDSTORE", b"QRESYNC", b"ENABLE"):
            self.assertIn(cap, lines[0].split())
        lines, done = c.cmd("SELECT Cond (CONDSTORE)")
        self.assertIn(b"OK", done)
        hms = int(grab(lines, rb"HIGHESTMODSEQ (\d+)").group(1))
        lines, _ = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
        self.assertEqual(lines, [])
        lines, _ = c.cmd("FETCH 1 (MODSEQ)")
        self.assertIsNotNone(grab(lines, rb"MODSEQ \(\d+\)"))
        other = self.client()
        other.cmd("SELECT Cond")
        other.cmd("STORE 2 +FLAGS.SILENT (\\Flagged)")
        lines, _ = c.cmd("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
        # Only message 2 (told once as news, once as the answer).
        self.assertEqual({l.split()[1] for l in lines if b"FETCH" in l},
                         {b"2"}, lines)
        self.assertIsNotNone(grab(lines, rb"^\* 2 FETCH .*\\Flagged.*"
                                         rb"MODSEQ \((\d+)\)"))
        # A conditional STORE on a message changed since: MODIFIED.
        lines, done = c.cmd("UID FETCH 1:* (UID)")
        uids = [int(grab([l], rb"UID (\d+)").group(1)) for l in lines]
        lines, done = c.cmd("UID STORE %d,%d (UNCHANGEDSINCE %d) "
                            "+FLAGS (\\Seen)" % (uids[0], uids[1], hms))
        self.assertIn(b"[MODIFIED %d]" % uids[1], done)
        self.assertIsNotNone(grab(lines, rb"UID %d .*\\Seen" % uids[0]))
        lines, _ = c.cmd("STATUS INBOX (HIGHESTMODSEQ)")
        self.assertIsNotNone(grab(lines, rb"HIGHESTMODSEQ \d+"))

    def test_qresync(self):
        self.fill("Qres", 4)
        c = self.client()
        lines, done = c.cmd("SELECT Qres (QRESYNC (1 1))")
        self.assertIn(b"BAD", done)
        lines, _ = c.cmd("ENABLE QRESYNC")
        self.assertIn(b"* ENABLED QRESYNC", lines)
        lines, done = c.cmd("SELECT Qres")
        validity = int(grab(lines, rb"UIDVALIDITY (\d+)").group(1))
        hms = int(grab(lines, rb"HIGHESTMODSEQ (\d+)").group(1))
        lines, _ = c.cmd("UID FETCH 1:* (UID)")
        uids = [int(grab([l], rb"UID (\d+)").group(1)) for l in lines]
        c.cmd("UNSELECT")

        # Another client changes one and expunges another meanwhile.
        other = self.client()
        other.cmd("SELECT Qres")
        other.cmd("UID STORE %d +FLAGS.SILENT (\\Answered)" % uids[0])
        other.cmd("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[1])
        other.cmd("EXPUNGE")

        lines, done = c.cmd("SELECT Qres (QRESYNC (%d %d))"
                            % (validity, hms))
        self.assertIn(b"OK", done)
        self.assertIn(b"* VANISHED (EARLIER) %d" % uids[1], lines)
        fetches = [l for l in lines if b" FETCH " in l]
        self.assertEqual(len(fetches), 1, lines)
        self.assertIn(b"UID %d" % uids[0], fetches[0])
        self.assertIn(b"\\Answered", fetches[0])
        self.assertIn(b"MODSEQ", fetches[0])
        hms2 = int(grab(lines, rb"HIGHESTMODSEQ (\d+)").group(1))
        self.assertGreater(hms2, hms)
        # The same with UID FETCH's VANISHED modifier.
        lines, _ = c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                         % hms)
        self.assertIn(b"* VANISHED (EARLIER) %d" % uids[1], lines)
        # A resync with no change: nothing to tell.
        lines, done = c.cmd("SELECT Qres (QRESYNC (%d %d))"
                            % (validity, hms2))
        self.assertEqual([l for l in lines
                          if b"VANISHED" in l or b" FETCH " in l], [])
        # With QRESYNC on, another session's expunge is a VANISHED.
        other.cmd("UID STORE %d +FLAGS.SILENT (\\Deleted)" % uids[2])
        other.cmd("EXPUNGE")
        lines, _ = c.cmd("NOOP")
        self.assertIn(b"* VANISHED %d" % uids[2], lines)
        self.assertEqual([l for l in lines if b"EXPUNGE" in l], [])


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
