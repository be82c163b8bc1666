#!/usr/bin/python3
"""IMAP FETCH through saltbridge serve, with imaplib.

    /usr/bin/python3 tests/imap/test_imap_fetch.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py. A multipart message and a plain one
are delivered with `saltmaild deliver` (so encrypted on arrival); FETCH
must give back exactly the bytes delivered: RFC822.SIZE, BODY.PEEK[],
RFC822, BODY[HEADER], BODY[HEADER.FIELDS (...)] and .NOT, BODY[TEXT],
BODY[1], BODY[2.MIME], partial fetches, ENVELOPE, BODYSTRUCTURE, BODY,
INTERNALDATE, FLAGS and UID; a fetch without .PEEK sets \\Seen and says
so; a set naming nothing is fine and a bad item is BAD. The last line
printed is "N passed, M failed".
"""
import imaplib
import os
import re
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

WAIT = 30
MARK = os.urandom(5).hex()
HEADER = ("From: Alice <alice@example.org>\r\n"
          "To: Bob <bob@example.org>, carol@example.org\r\n"
          "Subject: Fetch test %s\r\n"
          "Date: Tue, 3 Nov 2026 09:08:07 +0100\r\n"
          "Message-ID: <fetch.%s@example.org>\r\n"
          "MIME-Version: 1.0\r\n"
          "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
          % (MARK, MARK)).encode()
BODY = (b"Preamble.\r\n"
        b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"First part, caf\xc3\xa9.\r\nSecond line.\r\n"
        b"--b1\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"
        b"AAECAwQFBgc=\r\n"
        b"--b1--\r\n")
MESSAGE = HEADER + BODY


def poll(fn, timeout=WAIT):
    """harness.poll with this suite's wait."""
    return harness.poll(fn, timeout, 0.2)


def tearDownModule():
    base.tearDownModule()


_ready = {}


class ImapFetchTest(unittest.TestCase):
    def setUp(self):
        self.b = base.fixture()
        self.srv = base._fixture["server"]
        self.m = imaplib.IMAP4("127.0.0.1", self.b.port,
                               timeout=base.RUN_TIMEOUT)
        self.m.starttls(ssl_context=self.b.context())
        self.m.login(self.b.email, self.b.password)
        self.addCleanup(self.close)
        if "box" not in _ready:
            self.assertEqual(self.m.create("FetchBox")[0], "OK")
            self.assertTrue(poll(self.on_service))
            self.srv.deliver(self.b.email, MESSAGE, mailbox="FetchBox")
            _ready["box"] = True
        self.assertTrue(poll(lambda: self.count() == 1))
        typ, _ = self.m.select("FetchBox")
        self.assertEqual(typ, "OK")

    def on_service(self):
        acct = self.b.acct
        r = acct.get("/api/v1/mailboxes")
        if r.status == 401:
            acct.login()
            r = acct.get("/api/v1/mailboxes")
        return any(m["name"] == "FetchBox" for m in r.json["mailboxes"])

    def count(self):
        typ, data = self.m.status("FetchBox", "(MESSAGES)")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def close(self):
        try:
            self.m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def fetch(self, items, uid=False):
        if uid:
            typ, data = self.m.uid("FETCH", "1:*", items)
        else:
            typ, data = self.m.fetch("1", items)
        self.assertEqual(typ, "OK", data)
        return data

    def literal(self, items):
        data = self.fetch(items)
        self.assertIsInstance(data[0], tuple, data)
        return data[0][1]

    def test_whole_message(self):
        data = self.fetch("(RFC822.SIZE)")
        self.assertIn(b"RFC822.SIZE %d" % len(MESSAGE), data[0])
        self.assertEqual(self.literal("(BODY.PEEK[])"), MESSAGE)
        self.assertEqual(self.literal("(BODY.PEEK[HEADER])"), HEADER)
        self.assertEqual(self.literal("(BODY.PEEK[TEXT])"), BODY)
        self.assertEqual(self.literal("(RFC822.HEADER)"), HEADER)
        self.assertEqual(self.literal("(BODY.PEEK[]<0.20>)"), MESSAGE[:20])
        self.assertEqual(self.literal("(BODY.PEEK[]<10.5>)"), MESSAGE[10:15])
        self.assertEqual(self.literal("(BODY.PEEK[]<100000.5>)"), b"")

    def test_header_fields(self):
        got = self.literal("(BODY.PEEK[HEADER.FIELDS (SUBJECT to)])")
        self.assertEqual(got, b"To: Bob <bob@example.org>, "
                              b"carol@example.org\r\nSubject: Fetch test "
                         + MARK.encode() + b"\r\n\r\n")
        got = self.literal("(BODY.PEEK[HEADER.FIELDS.NOT (Subject To From "
                           "Date Message-ID MIME-Version)])")
        self.assertEqual(got, b"Content-Type: multipart/mixed; "
                              b"boundary=\"b1\"\r\n\r\n")

    def test_parts(self):
        self.assertEqual(self.literal("(BODY.PEEK[1])"),
                         b"First part, caf\xc3\xa9.\r\nSecond line.")
        self.assertEqual(self.literal("(BODY.PEEK[2])"), b"AAECAwQFBgc=")
        self.assertIn(b"Content-Disposition: attachment",
                      self.literal("(BODY.PEEK[2.MIME])"))
        self.assertEqual(self.literal("(BODY.PEEK[9])"), b"")

    def test_structure_and_envelope(self):
        data = self.fetch("(ENVELOPE INTERNALDATE FLAGS UID)")
        line = data[0]
        self.assertIn(b'"Fetch test ' + MARK.encode() + b'"', line)
        self.assertIn(b'(("Alice" NIL "alice" "example.org"))', line)
        self.assertRegex(line, rb'INTERNALDATE "\d\d-[A-Z][a-z]{2}-\d{4} '
                               rb'\d\d:\d\d:\d\d \+0000"')
        self.assertRegex(line, rb"UID \d+")
        data = self.fetch("(BODYSTRUCTURE)")
        text = b" ".join(d if isinstance(d, bytes) else d[0] for d in data)
        self.assertIn(b'"MIXED"', text)
        self.assertIn(b'"APPLICATION" "OCTET-STREAM"', text)
        self.assertIn(b'"attachment" ("FILENAME" "a.bin")'.upper(),
                      text.upper())
        data = self.fetch("(BODY)")
        self.assertIn(b"BODY ((", data[0])

    def test_seen_and_bad_input(self):
        self.m.store("1", "-FLAGS.SILENT", "(\\Seen)")
        data = self.fetch("(BODY.PEEK[TEXT] FLAGS)")
        self.assertNotIn(b"\\Seen", data[0][0])
        data = self.fetch("(BODY[TEXT])")
        self.assertIn(b"\\Seen", data[0][0])
        data = self.fetch("(FLAGS)")
        self.assertIn(b"\\Seen", data[0])
        typ, data = self.m.uid("FETCH", "4000000000", "(FLAGS)")
        self.assertEqual(typ, "OK")
        self.assertEqual([d for d in data if d], [])
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.fetch("1", "(NOSUCHITEM)")
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.fetch("5", "(FLAGS)")


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
