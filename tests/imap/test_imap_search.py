#!/usr/bin/python3
"""IMAP SEARCH and UID SEARCH through saltbridge serve, with imaplib.

    /usr/bin/python3 tests/imap/test_imap_search.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py. Two messages are delivered with
`saltmaild deliver` (an RFC 2047 ISO-8859-1 subject, a non-ASCII name
encoded and one raw in UTF-8, a quoted-printable Latin-1 body, a base64
UTF-8 part and an attachment) and three are appended with their flags
and dates. Every key family must find what it should: flags and
keywords, INTERNALDATE and Date: days, sizes, sequence and UID sets,
header keys after decoding, BODY and TEXT after decoding the parts;
OR, NOT and parenthesized groups; CHARSET UTF-8 with a literal; UID
SEARCH answers UIDs; a bad key is BAD and an unknown charset NO
[BADCHARSET]; SEARCH sends no EXPUNGE, and no search string reaches
serve's log. The last line printed is "N passed, M failed".
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
BOX = "SearchBox"
MARK = os.urandom(5).hex()

# Delivered: encoded words, Latin-1 quoted-printable, a folded To.
M1 = ("From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>\r\n"
      "To: Bob <bob@example.org>,\r\n carol-to@example.org\r\n"
      "Cc: carol@example.org\r\n"
      "Subject: =?ISO-8859-1?Q?Caf=E9?= meeting %s\r\n"
      "Date: Tue, 3 Nov 2026 23:30:00 -0500\r\n"
      "Message-ID: <m1.%s@example.org>\r\n"
      "X-Search-Tag: alpha\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=iso-8859-1\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
      "Caf=E9 at noon, bring the =C9CLAIRS, and a long line that is =\r\n"
      "folded softly.\r\n" % (MARK, MARK)).encode()
# Delivered: a raw UTF-8 name, base64 UTF-8 text, an attachment.
M2 = ("From: Zo\u00eb <zoe@example.net>\r\n"
      "To: team@example.net\r\n"
      "Bcc: hidden@example.net\r\n"
      "Subject: Plain subject %s\r\n"
      "Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
      "Message-ID: <m2.%s@example.org>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
      "--xx\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "R3LDvMOfZSBhdXMgS8O2bG4=\r\n"
      "--xx\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n"
      "c2VjcmV0d29yZA==\r\n"
      "--xx--\r\n" % (MARK, MARK)).encode("utf-8")
# Appended with flags and dates; M3 is large, M4 has no Date:.
M3 = ("From: alice@example.org\r\nTo: bob@example.org\r\n"
      "Subject: Quarterly report %s\r\n"
      "Date: Wed, 1 Jan 2020 11:00:00 +0000\r\n\r\n"
      "The numbers inside.\r\n" % MARK).encode() + b"x" * 5000 + b"\r\n"
M4 = ("From: bob@example.org\r\nTo: alice@example.org\r\n"
      "Subject: Lunch %s\r\n\r\n"
      "A sandwich?\r\n" % MARK).encode()
M5 = ("From: alice@example.org\r\nTo: bob@example.org\r\n"
      "Subject: Draft idea %s\r\n"
      "Date: Sun, 20 Mar 2022 09:00:00 +0100\r\n\r\n"
      "Something unfinished.\r\n" % MARK).encode()
APPENDS = [
    ("m3", "(\\Seen \\Flagged)", '"01-Jan-2020 12:00:00 +0000"', M3),
    ("m4", "(\\Answered $Work)", '"15-Jun-2021 08:00:00 +0000"', M4),
    ("m5", "(\\Draft)", '"20-Mar-2022 10:00:00 +0000"', M5),
]
ALL = {"m1", "m2", "m3", "m4", "m5"}
# What must never reach serve's log.
SECRETS = ["\u00e9clairs", "secretword", "sandwich", "unfinished",
           "gr\u00fc\u00dfe"]


def poll(fn, timeout=WAIT):
    """harness.poll with this suite's wait."""
    return harness.poll(fn, timeout, 0.2)


def tearDownModule():
    b = base._fixture.get("bridge")
    if b is not None:
        log = b.log()
        for word in SECRETS:
            if word in log:
                raise AssertionError("a search string reached the log")
    base.tearDownModule()


_ready = {}


class ImapSearchTest(unittest.TestCase):
    def setUp(self):
        self.b = base.fixture()
        self.srv = base._fixture["server"]
        self.m = self.connect()
        if "box" not in _ready:
            self.assertEqual(self.m.create(BOX)[0], "OK")
            self.assertTrue(poll(self.on_service))
            self.srv.deliver(self.b.email, M1, mailbox=BOX)
            self.assertTrue(poll(lambda: self.count() == 1))
            self.srv.deliver(self.b.email, M2, mailbox=BOX)
            self.assertTrue(poll(lambda: self.count() == 2))
            for _, flags, date, msg in APPENDS:
                typ, data = self.m.append(BOX, flags, date, msg)
                self.assertEqual(typ, "OK", data)
            _ready["box"] = True
        self.assertTrue(poll(lambda: self.count() == 5))
        typ, _ = self.m.select(BOX)
        self.assertEqual(typ, "OK")
        self.seq, self.uid = self.names()

    def connect(self):
        m = imaplib.IMAP4("127.0.0.1", self.b.port, timeout=base.RUN_TIMEOUT)
        m.starttls(ssl_context=self.b.context())
        m.login(self.b.email, self.b.password)
        self.addCleanup(self.close, m)
        return m

    def on_service(self):
        acct = self.b.acct
        r = acct.get("/api/v1/mailboxes")
        if r.status == 401:
            acct.login()
            r = acct.get("/api/v1/mailboxes")
        return any(m["name"] == BOX for m in r.json["mailboxes"])

    def count(self):
        typ, data = self.m.status(BOX, "(MESSAGES)")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def close(self, m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def names(self):
        """Which sequence number and UID each message has."""
        typ, data = self.m.fetch("1:*", "(UID BODY.PEEK[HEADER.FIELDS "
                                        "(MESSAGE-ID SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        seq, uid = {}, {}
        for d in data:
            if not isinstance(d, tuple):
                continue
            n = int(d[0].split()[0])
            u = int(re.search(rb"UID (\d+)", d[0]).group(1))
            head = d[1]
            m = re.search(rb"<(m\d)\.", head)
            if m:
                name = m.group(1).decode()
            else:
                name = {b"Quarterly": "m3", b"Lunch": "m4",
                        b"Draft": "m5"}[re.search(
                            rb"Subject: (\w+)", head).group(1)]
            seq[n] = name
            uid[u] = name
        self.assertEqual(set(seq.values()), ALL)
        return seq, uid

    def search(self, *keys, charset=None, literal=None, uid=False):
        """The names of the messages found, checked against the map."""
        self.m.literal = literal
        if uid:
            typ, data = self.m.uid("SEARCH", *(
                (("CHARSET", charset) if charset else ()) + keys))
        else:
            typ, data = self.m.search(charset, *keys)
        self.assertEqual(typ, "OK", data)
        nums = [int(x) for x in data[-1].split()]
        self.assertEqual(nums, sorted(nums))
        table = self.uid if uid else self.seq
        return {table[n] for n in nums}

    def check(self, want, *keys, **kw):
        got = self.search(*keys, **kw)
        self.assertEqual(got, set(want), keys)

    def test_flags(self):
        self.check(ALL, "ALL")
        self.check(ALL, "OLD")
        self.check([], "NEW")
        self.check([], "RECENT")
        self.check(["m3"], "SEEN")
        self.check(["m1", "m2", "m4", "m5"], "UNSEEN")
        self.check(["m3"], "FLAGGED")
        self.check(ALL - {"m3"}, "UNFLAGGED")
        self.check(["m4"], "ANSWERED")
        self.check(ALL - {"m4"}, "UNANSWERED")
        self.check(["m5"], "DRAFT")
        self.check(ALL - {"m5"}, "UNDRAFT")
        self.check(["m4"], "KEYWORD", "$work")
        self.check(["m4"], "KEYWORD", "$WORK")
        self.check(ALL - {"m4"}, "UNKEYWORD", "$Work")
        self.check([], "KEYWORD", "$other")
        self.check([], "DELETED")
        self.check(ALL, "UNDELETED")
        n5 = [n for n, name in self.seq.items() if name == "m5"][0]
        self.addCleanup(self.m.store, str(n5), "-FLAGS.SILENT",
                        "(\\Deleted)")
        self.m.store(str(n5), "+FLAGS.SILENT", "(\\Deleted)")
        self.check(["m5"], "DELETED")
        self.check(ALL - {"m5"}, "UNDELETED")

    def test_dates_and_sizes(self):
        # INTERNALDATE: the appended ones' dates, the delivered ones' now.
        self.check(["m1", "m2"], "SINCE", "1-Jan-2023")
        self.check(["m3", "m4", "m5"], "BEFORE", "1-Jan-2023")
        self.check(["m4"], "ON", "15-Jun-2021")
        self.check(["m4", "m5"], "SINCE", "15-Jun-2021", "BEFORE",
                   '"21-Mar-2022"')
        # Date: as written (23:30 -0500 is 4 Nov in UTC); M4 has none.
        self.check(["m1"], "SENTON", "3-Nov-2026")
        self.check([], "SENTSINCE", "4-Nov-2026")
        self.check(["m1", "m2"], "SENTSINCE", "2-Nov-2026")
        self.check(["m2", "m3", "m4", "m5"], "SENTBEFORE", "3-Nov-2026")
        self.check(["m4"], "SENTON", "15-Jun-2021")
        self.check(["m5"], "SENTON", "20-Mar-2022")
        self.check(["m3"], "LARGER", "4000")
        self.check(ALL - {"m3"}, "SMALLER", "4000")
        self.check(["m4"], "LARGER", str(len(M4) - 1), "SMALLER",
                   str(len(M4) + 1))

    def test_headers(self):
        self.check(ALL, "SUBJECT", MARK)
        self.check(["m1"], "SUBJECT", "meeting")
        self.check(["m1"], "SUBJECT", charset="UTF-8",
                   literal="CAF\u00c9".encode())
        self.check(["m1"], "FROM", charset="UTF-8",
                   literal="m\u00fcller".encode())
        self.check(["m2"], "FROM", charset="UTF-8",
                   literal="ZO\u00cb".encode())
        self.check(["m1"], "FROM", "JOERG@example.org")
        self.check(["m3", "m5"], "FROM", "alice")
        self.check(["m1"], "TO", '"bob@example.org>, carol-to"')
        self.check(["m1"], "CC", "carol")
        self.check(["m2"], "BCC", "hidden")
        self.check(["m1"], "HEADER", "X-Search-Tag", "ALPHA")
        self.check(["m1"], "HEADER", "x-search-tag", '""')
        self.check([], "HEADER", "X-Search-Tag", "beta")
        self.check([], "SUBJECT", "=?ISO-8859-1?Q?")

    def test_bodies(self):
        self.check(["m1"], "BODY", charset="UTF-8",
                   literal="\u00e9clairs".encode())
        self.check(["m1"], "BODY", '"that is folded softly"')
        self.check(["m2"], "BODY", charset="UTF-8",
                   literal="GR\u00dc\u00dfE AUS K\u00d6LN".encode())
        self.check([], "BODY", "secretword")
        self.check(["m4"], "BODY", "sandwich")
        self.check([], "BODY", "meeting")
        self.check(["m1"], "TEXT", "meeting")
        self.check(["m3"], "TEXT", "quarterly")
        self.check(["m3"], "TEXT", "numbers")
        # A non-ASCII string without CHARSET is taken as UTF-8.
        self.check(["m2"], "BODY", literal="k\u00f6ln".encode())

    def test_sets_and_logic(self):
        by_name = {name: n for n, name in self.seq.items()}
        self.check(["m3"], str(by_name["m3"]))
        self.check([self.seq[5]], "*")
        self.check([self.seq[2], self.seq[3]], "2:3")
        uid3 = [u for u, name in self.uid.items() if name == "m3"][0]
        self.check(["m3"], "UID", str(uid3))
        self.check(ALL - {"m3"}, "NOT", "UID", str(uid3))
        self.check(["m3", "m4"], "OR", "SEEN", "ANSWERED")
        self.check(["m1", "m2", "m4", "m5"], "NOT", "SEEN")
        self.check(["m3"], "(SEEN FLAGGED)")
        self.check(["m3", "m5"], "OR", "(SEEN FLAGGED)",
                   "(DRAFT BODY unfinished)")
        self.check(["m1", "m2", "m4"], "NOT", "(OR SEEN DRAFT)")
        self.check(["m2"], "OR", "SUBJECT", "nowhere", "BODY",
                   charset="UTF-8", literal="K\u00f6ln".encode())
        self.check(["m1"], "UNSEEN", "SUBJECT", MARK, "NOT", "BODY",
                   "secretword", "TEXT", "noon")

    def test_uid_search(self):
        self.check(ALL, "ALL", uid=True)
        self.check(["m4"], "SUBJECT", "Lunch", uid=True)
        uid3 = [u for u, name in self.uid.items() if name == "m3"][0]
        self.check(["m3"], "UID", "%d:%d" % (uid3, uid3), uid=True)
        self.check(["m1"], "BODY", charset="UTF-8",
                   literal="caf\u00e9 at noon".encode(), uid=True)
        typ, data = self.m.uid("SEARCH", "UID", "4000000000")
        self.assertEqual((typ, data), ("OK", [b""]))

    def test_modseq(self):
        # RFC 7162 3.1.5: those changed at or after a modseq, and the
        # highest modseq among them.
        typ, data = self.m.fetch("1:*", "(MODSEQ)")
        mods = {int(d.split()[0]):
                int(re.search(rb"MODSEQ \((\d+)\)", d).group(1))
                for d in data}
        top = max(mods.values())
        low = min(mods.values())
        for since in (top, low):
            typ, data = self.m.search(None, "MODSEQ", str(since))
            self.assertEqual(typ, "OK", data)
            m = re.fullmatch(rb"([\d ]+) \(MODSEQ (\d+)\)", data[-1])
            self.assertIsNotNone(m, data)
            self.assertEqual({int(x) for x in m.group(1).split()},
                             {n for n, v in mods.items() if v >= since})
            self.assertEqual(int(m.group(2)), top)
        typ, data = self.m.search(None, "MODSEQ", '"/flags/\\\\draft"',
                                  "all", "0", "DRAFT")
        self.assertEqual(data[-1], b"%d (MODSEQ %d)" % (
            [n for n, name in self.seq.items() if name == "m5"][0],
            mods[[n for n, name in self.seq.items() if name == "m5"][0]]))
        # Nothing found: no MODSEQ item.
        typ, data = self.m.search(None, "MODSEQ", str(top + 1000))
        self.assertEqual((typ, data), ("OK", [b""]))
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.search(None, "MODSEQ", "x")

    def test_refusals(self):
        for keys in (("FOO",), ("OR", "SEEN"), ("SUBJECT",), ("99",),
                     ("BEFORE", "31-Feb-2020"), ("()",),
                     ("KEYWORD", "\\Seen"), ("$",)):
            with self.assertRaises(imaplib.IMAP4.error, msg=keys):
                self.m.search(None, *keys)
        typ, data = self.m.search("KOI8-R", "ALL")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[BADCHARSET (US-ASCII UTF-8)]", data[0])
        # Nesting and size are limited; the session goes on after.
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.search(None, "NOT " * 100 + "ALL")
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.search(None, " ".join(["SEEN"] * 5000))
        s = socket.create_connection(("127.0.0.1", self.b.port),
                                     timeout=base.RUN_TIMEOUT)
        with s:
            f = s.makefile("rb")
            f.readline()
            s.sendall(b"a LOGIN %s %s\r\n" % (self.b.email.encode(),
                                               self.b.password.encode()))
            self.assertTrue(f.readline().startswith(b"a OK"))
            s.sendall(b"b SEARCH ALL\r\n")
            self.assertTrue(f.readline().startswith(b"b BAD"))
            s.sendall(b"c SELECT %s\r\n" % BOX.encode())
            while not f.readline().startswith(b"c OK"):
                pass
            s.sendall(b"d SEARCH\r\n")
            self.assertTrue(f.readline().startswith(b"d BAD"))
            # A literal with no CHARSET, sent as it comes (LITERAL+).
            s.sendall(b"e SEARCH SUBJECT {5+}\r\ncaf\xc3\xa9\r\n")
            line = f.readline()
            self.assertEqual(line, b"* SEARCH %d\r\n" % [
                n for n, name in self.seq.items() if name == "m1"][0])
            self.assertTrue(f.readline().startswith(b"e OK"))

    def test_no_expunge_during_search(self):
        box = "SearchExpunge"
        self.assertEqual(self.m.create(box)[0], "OK")
        for word in ("first", "second"):
            typ, data = self.m.append(box, None, None,
                                      b"Subject: %s\r\n\r\nx\r\n"
                                      % word.encode())
            self.assertEqual(typ, "OK", data)
        self.m.select(box)
        other = self.connect()
        other.select(box)
        other.store("1", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(other.expunge()[0], "OK")
        self.m.response("EXPUNGE")
        typ, data = self.m.search(None, "ALL")
        self.assertEqual((typ, data), ("OK", [b"2"]))
        self.assertEqual(self.m.response("EXPUNGE"), ("EXPUNGE", [None]))
        self.m.noop()
        self.assertEqual(self.m.response("EXPUNGE"), ("EXPUNGE", [b"1"]))
        typ, data = self.m.search(None, "SUBJECT", "second")
        self.assertEqual((typ, data), ("OK", [b"1"]))


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
