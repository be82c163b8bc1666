#!/usr/bin/python3
"""IMAP APPEND through saltbridge serve, with imaplib.

    /usr/bin/python3 tests/imap/test_imap_append.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py. APPEND stores the message with its
flags and date and answers APPENDUID; FETCH gives back exactly the bytes
appended; the import reaches the service with its keywords, as the same
message (no copy when the change feed brings it back); a message
appended with LITERAL+, an empty one, and one of several pieces of 64
KiB come back whole; a draft saved again replaces the last one for good
(not into Trash); a missing mailbox is NO [TRYCREATE] and a message over
the limit NO [TOOBIG] before any byte is sent; with saltmaild stopped,
APPEND still works and the import goes through once it is back. The
last line printed is "N passed, M failed".
"""
import imaplib
import os
import re
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

WAIT = 30


def poll(fn, timeout=WAIT):
    """harness.poll with this suite's wait."""
    return harness.poll(fn, timeout, 0.2)


def draft(email, tag, body=b"Draft text.\r\n"):
    return ("From: %s\r\nTo: friend@example.org\r\nSubject: %s\r\n"
            "Message-ID: <%s.%s@example.org>\r\n\r\n"
            % (email, tag, tag, os.urandom(4).hex())).encode() + body


def tearDownModule():
    base.tearDownModule()


class ImapAppendTest(unittest.TestCase):
    def setUp(self):
        self.b = base.fixture()
        self.m = imaplib.IMAP4("127.0.0.1", self.b.port,
                               timeout=base.RUN_TIMEOUT)
        self.m.starttls(ssl_context=self.b.context())
        self.m.login(self.b.email, self.b.password)
        self.addCleanup(self.close)

    def close(self):
        try:
            self.m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def api(self, path):
        acct = self.b.acct
        r = acct.get(path)
        if r.status == 401:
            acct.login()
            r = acct.get(path)
        self.assertEqual(r.status, 200, r)
        return r.json

    def remote_in(self, role):
        boxes = self.api("/api/v1/mailboxes")["mailboxes"]
        box = [m["id"] for m in boxes if m["role"] == role][0]
        return self.api("/api/v1/messages?mailbox_id=%s&limit=500"
                        % box)["messages"]

    def append(self, box, flags, date, msg):
        typ, data = self.m.append(box, flags, date, msg)
        self.assertEqual(typ, "OK", data)
        m = re.search(rb"APPENDUID (\d+) (\d+)", data[0])
        self.assertIsNotNone(m, data)
        return int(m.group(1)), int(m.group(2))

    def fetch_uid(self, uid, items):
        typ, data = self.m.uid("FETCH", str(uid), items)
        self.assertEqual(typ, "OK", data)
        return data

    def test_append_and_fetch_back(self):
        msg = draft(self.b.email, "hello")
        date = imaplib.Time2Internaldate(time.mktime(
            (2026, 5, 17, 8, 30, 0, 0, 0, -1)))
        before = len(self.remote_in("drafts"))
        validity, uid = self.append("Drafts", "(\\Draft \\Seen)", date, msg)
        self.m.select("Drafts")
        self.assertEqual(self.m.untagged_responses["UIDVALIDITY"][-1],
                         str(validity).encode())
        data = self.fetch_uid(uid, "(BODY.PEEK[] FLAGS INTERNALDATE "
                                   "RFC822.SIZE)")
        self.assertEqual(data[0][1], msg)
        head = data[0][0]
        self.assertIn(b"\\Draft", head)
        self.assertIn(b"\\Seen", head)
        self.assertIn(b"RFC822.SIZE %d" % len(msg), head)
        self.assertEqual(imaplib.Internaldate2tuple(head)[:5],
                         time.localtime(time.mktime(
                             (2026, 5, 17, 8, 30, 0, 0, 0, -1)))[:5])
        # On the service, once, with its keywords.
        self.assertTrue(poll(lambda: len(self.remote_in("drafts"))
                             == before + 1))
        got = [m for m in self.remote_in("drafts")
               if sorted(m["keywords"]) == ["$draft", "$seen"]]
        self.assertTrue(got)
        # The feed brings it back as the same message: one, same UID.
        time.sleep(0.5)
        self.m.noop()
        typ, data = self.m.uid("FETCH", "1:*", "(FLAGS)")
        uids = [int(re.search(rb"UID (\d+)", d).group(1))
                for d in data if d]
        self.assertEqual(uids.count(uid), 1)
        self.assertEqual(len(uids), before + 1)

    def test_literal_plus_empty_and_large(self):
        self.m.select("INBOX")
        big = draft(self.b.email, "big", os.urandom(200000).hex().encode()
                    + b"\r\n")
        for msg in (b"", big):
            validity, uid = self.append("INBOX", None, None, msg)
            data = self.fetch_uid(uid, "(BODY.PEEK[])")
            got = data[0][1] if isinstance(data[0], tuple) else b""
            self.assertEqual(got, msg)
        # LITERAL+: no "+" is waited for.
        s = socket.create_connection(("127.0.0.1", self.b.port),
                                     timeout=base.RUN_TIMEOUT)
        with s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN %s %s\r\n" % (self.b.email.encode(),
                                               self.b.password.encode()))
            self.assertTrue(f.readline().startswith(b"a OK"))
            msg = draft(self.b.email, "plus")
            s.sendall(b"b APPEND INBOX {%d+}\r\n%s\r\n" % (len(msg), msg))
            line = f.readline()
            self.assertTrue(line.startswith(b"b OK [APPENDUID"), line)

    def test_draft_saved_again(self):
        trash = len(self.remote_in("trash"))
        _, old = self.append("Drafts", "(\\Draft)", None,
                             draft(self.b.email, "v1"))
        self.m.select("Drafts")
        _, new = self.append("Drafts", "(\\Draft)", None,
                             draft(self.b.email, "v2"))
        self.m.uid("STORE", str(old), "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(self.m.expunge()[0], "OK")
        data = self.fetch_uid(old, "(FLAGS)")
        self.assertEqual([d for d in data if d], [])
        self.assertEqual(len([d for d in self.fetch_uid(new, "(FLAGS)")
                              if d]), 1)
        time.sleep(0.5)
        self.assertEqual(len(self.remote_in("trash")), trash)

    def test_append_offline(self):
        """With saltmaild stopped, APPEND still answers OK with its UID
        and the message reads back; when the service returns the import
        goes through, once."""
        srv = base._fixture["server"]
        msg = draft(self.b.email, "offline")
        self.m.select("Drafts")
        before = len(self.remote_in("drafts"))
        srv.stop(keep_data=True)
        try:
            validity, uid = self.append("Drafts", "(\\Draft)", None, msg)
            data = self.fetch_uid(uid, "(BODY.PEEK[])")
            self.assertEqual(data[0][1], msg)
        finally:
            srv.restart(same_port=True)
        self.assertTrue(poll(lambda: len(self.remote_in("drafts"))
                             == before + 1, timeout=90))
        time.sleep(0.5)
        self.assertEqual(len(self.remote_in("drafts")), before + 1)
        data = self.fetch_uid(uid, "(FLAGS)")
        self.assertEqual(len([d for d in data if d]), 1)

    def test_refusals(self):
        typ, data = self.m.append("Nowhere", None, None, b"x\r\n")
        self.assertEqual(typ, "NO")
        self.assertIn(b"TRYCREATE", data[0])
        s = socket.create_connection(("127.0.0.1", self.b.port),
                                     timeout=base.RUN_TIMEOUT)
        with s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN %s %s\r\n" % (self.b.email.encode(),
                                               self.b.password.encode()))
            f.readline()
            s.sendall(b"b APPEND INBOX {999999999}\r\n")
            line = f.readline()
            self.assertTrue(line.startswith(b"b NO [TOOBIG]"), line)
            s.sendall(b"c NOOP\r\n")
            self.assertTrue(f.readline().startswith(b"c OK"))
            s.sendall(b"d APPEND INBOX \"not a literal\"\r\n")
            self.assertTrue(f.readline().startswith(b"d BAD"))


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
