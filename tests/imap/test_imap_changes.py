#!/usr/bin/python3
"""IMAP changes to messages through saltbridge serve, with imaplib.

    /usr/bin/python3 tests/imap/test_imap_changes.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py, with messages delivered to a fresh
account. STORE (FLAGS, +FLAGS, -FLAGS, .SILENT, UID STORE, \\Deleted,
keywords) answers with the flags, and the keywords reach the service;
COPY and MOVE answer with COPYUID whose UIDs are the ones the target
mailbox then holds; MOVE expunges from the source; EXPUNGE of a message
in one mailbox only puts it in Trash, and from Trash destroys it on the
service; UID EXPUNGE leaves what its set does not name; a second session
with the mailbox selected learns of all this (FETCH FLAGS, EXPUNGE,
EXISTS) at its next NOOP, and at once in IDLE; a read-only mailbox
refuses changes. The last
line printed is "N passed, M failed".
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


def message(tag):
    return ("From: sender@example.org\r\nTo: someone@example.org\r\n"
            "Subject: %s\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n\r\nBody %s.\r\n"
            % (tag, os.urandom(6).hex(), tag)).encode()


def poll(fn, timeout=WAIT):
    """harness.poll with this suite's wait."""
    return harness.poll(fn, timeout, 0.2)


def uid_set(text):
    """The UIDs of an IMAP uid-set such as b"1:3,7", in order."""
    out = []
    for part in text.split(b","):
        lo, _, hi = part.partition(b":")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def tearDownModule():
    base.tearDownModule()


class ImapChangesTest(unittest.TestCase):
    def setUp(self):
        self.b = base.fixture()
        self.srv = base._fixture["server"]
        self.m = self.login()

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.b.port, timeout=base.RUN_TIMEOUT)
        m.starttls(ssl_context=self.b.context())
        m.login(self.b.email, self.b.password)
        self.addCleanup(self.close, m)
        return m

    def close(self, m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def deliver(self, mailbox, n):
        """n new messages in a fresh mailbox; waits for the bridge."""
        self.assertEqual(self.m.create(mailbox)[0], "OK")
        acct = self.b.acct
        self.assertTrue(poll(lambda: self.remote_box(mailbox)))
        for i in range(n):
            self.srv.deliver(self.b.email, message("%s-%d" % (mailbox, i)),
                             mailbox=mailbox)
        self.assertTrue(poll(lambda: self.count(mailbox) == n),
                        "%s has %d of %d" % (mailbox, self.count(mailbox), n))
        return acct

    def count(self, box, item="MESSAGES", m=None):
        typ, data = (m or self.m).status(box, "(%s)" % item)
        self.assertEqual(typ, "OK", data)
        return int(re.search(rb"%s (\d+)" % item.encode(), data[0]).group(1))

    def api(self, path):
        acct = self.b.acct
        r = acct.get(path)
        if r.status == 401:
            acct.login()
            r = acct.get(path)
        return r

    def remote_box(self, name):
        r = self.api("/api/v1/mailboxes")
        self.assertEqual(r.status, 200, r)
        for m in r.json["mailboxes"]:
            if m["name"] == name and m["parent_id"] is None:
                return m["id"]
        return None

    def remote_messages(self, box):
        r = self.api("/api/v1/messages?mailbox_id=%s&limit=500"
                     % self.remote_box(box))
        self.assertEqual(r.status, 200, r)
        return r.json["messages"]

    def fetch_lines(self, data):
        return [d for d in data if d is not None]

    def test_store(self):
        self.deliver("StoreBox", 3)
        typ, data = self.m.select("StoreBox")
        self.assertEqual(int(data[0]), 3)
        typ, data = self.m.store("1:2", "+FLAGS", "(\\Seen \\Flagged)")
        self.assertEqual(typ, "OK")
        lines = self.fetch_lines(data)
        self.assertEqual(len(lines), 2)
        self.assertIn(b"\\Seen", lines[0])
        self.assertIn(b"\\Flagged", lines[0])
        typ, data = self.m.store("2", "-FLAGS", "(\\Flagged)")
        self.assertNotIn(b"\\Flagged", data[0])
        self.assertIn(b"\\Seen", data[0])
        typ, data = self.m.store("3", "FLAGS", "(Todo $Forwarded)")
        self.assertIn(b"todo", data[0].lower())
        typ, data = self.m.store("3", "FLAGS.SILENT", "(\\Answered)")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.fetch_lines(data), [])
        typ, data = self.m.uid("STORE", "1:*", "+FLAGS", "(\\Deleted)")
        self.assertEqual(len(self.fetch_lines(data)), 3)
        self.assertIn(b"UID ", data[0])
        self.assertIn(b"\\Deleted", data[0])
        typ, data = self.m.store("1:*", "-FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.count("StoreBox", "UNSEEN"), 1)
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.store("1", "+FLAGS", "(\\Bogus)")
        with self.assertRaises(imaplib.IMAP4.error):
            self.m.store("9", "+FLAGS", "(\\Seen)")

        # The service gets the keywords; \Deleted stays here.
        def remote_ok():
            kw = sorted(tuple(sorted(m["keywords"]))
                        for m in self.remote_messages("StoreBox"))
            return kw == sorted([("$flagged", "$seen"), ("$seen",),
                                 ("$answered",)])
        self.assertTrue(poll(remote_ok),
                        [m["keywords"] for m in
                         self.remote_messages("StoreBox")])

    def test_copy_move_and_two_sessions(self):
        self.deliver("Source", 3)
        self.assertEqual(self.m.create("Target")[0], "OK")
        other = self.login()
        other.select("Source")
        self.m.select("Source")
        source_uids = self.uids()
        typ, data = self.m.copy("1:2", "Target")
        self.assertEqual(typ, "OK")
        code = self.m.untagged_responses.pop("COPYUID", [b""])[-1]
        m = re.match(rb"(\d+) ([\d,:]+) ([\d,:]+)$", code)
        self.assertIsNotNone(m, code)
        self.assertEqual(uid_set(m.group(2)), source_uids[:2])
        self.assertEqual(self.count("Target"), 2)
        self.assertEqual(int(m.group(1)), self.count("Target",
                                                      "UIDVALIDITY"))
        # COPYUID's target UIDs are the ones Target holds.
        other2 = self.login()
        other2.select("Target")
        typ, data = other2.uid("STORE", "1:*", "+FLAGS", "()")
        held = sorted(int(re.search(rb"UID (\d+)", d).group(1))
                      for d in data if d)
        self.assertEqual(uid_set(m.group(3)), held)
        self.assertEqual(self.count("Source"), 3)
        # The same message in two mailboxes: still one on the service.
        self.assertTrue(poll(lambda: len(self.remote_messages("Target"))
                             == 2))
        self.assertEqual(len(self.remote_messages("Source")), 3)

        typ, data = self.m.uid("MOVE", "1:*", "Target")
        self.assertEqual(typ, "OK")
        self.assertEqual(self.count("Source"), 0)
        self.assertEqual(self.count("Target"), 3)
        # The other session sees the messages go.
        other.noop()
        self.assertEqual(len(other.untagged_responses.get("EXPUNGE", [])),
                         3)
        self.assertTrue(poll(lambda: len(self.remote_messages("Source"))
                             == 0 and len(self.remote_messages("Target"))
                             == 3))

    def test_copy_onto_a_message_already_there(self):
        """A message the target holds keeps its UID there; COPYUID still
        pairs each source UID with its own target UID."""
        self.deliver("Twice", 3)
        self.assertEqual(self.m.create("TwiceTarget")[0], "OK")
        self.m.select("Twice")
        src = self.uids()
        typ, _ = self.m.uid("COPY", str(src[2]), "TwiceTarget")
        self.assertEqual(typ, "OK")
        first = self.m.untagged_responses.pop("COPYUID", [b""])[-1]
        kept = uid_set(first.split()[2])
        typ, _ = self.m.uid("COPY", "%d:%d" % (src[0], src[2]),
                            "TwiceTarget")
        self.assertEqual(typ, "OK")
        code = self.m.untagged_responses.pop("COPYUID", [b""])[-1]
        _, s, d = code.split()
        pairs = dict(zip(uid_set(s), uid_set(d)))
        self.assertEqual(sorted(pairs), src)
        self.assertEqual(pairs[src[2]], kept[0])
        self.assertGreater(pairs[src[0]], kept[0])
        self.assertEqual(pairs[src[1]], pairs[src[0]] + 1)
        self.assertEqual(self.count("TwiceTarget"), 3)

    def test_expunge_trash_and_uid_expunge(self):
        self.deliver("Bin", 3)
        trash_before = self.count("Trash")
        other = self.login()
        other.select("Bin")
        self.m.select("Bin")
        self.m.store("1:3", "+FLAGS.SILENT", "(\\Deleted)")
        # UID EXPUNGE of one: the rest stay, flagged.
        uids = self.uids()
        typ, data = self.m.uid("EXPUNGE", str(uids[0]))
        self.assertEqual(typ, "OK")
        self.assertEqual(self.count("Bin"), 2)
        other.noop()
        self.assertIn(b"1", other.untagged_responses.get("EXPUNGE", []))
        flags = other.untagged_responses.get("FETCH", [])
        self.assertTrue(any(b"\\Deleted" in f for f in flags), flags)
        typ, data = self.m.expunge()
        self.assertEqual(typ, "OK")
        self.assertEqual(self.count("Bin"), 0)
        # Alone in Bin, they went to Trash.
        self.assertEqual(self.count("Trash"), trash_before + 3)
        # Expunged from Trash: gone from the service.
        self.m.select("Trash")
        self.m.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
        self.assertEqual(self.m.expunge()[0], "OK")
        self.assertEqual(self.count("Trash"), 0)
        self.assertTrue(poll(lambda: self.remote_messages("Trash") == []))

    def uids(self):
        """The UIDs of the selected mailbox, from a UID STORE of
        nothing: each FETCH response carries its UID."""
        typ, data = self.m.uid("STORE", "1:*", "+FLAGS", "()")
        return sorted(int(re.search(rb"UID (\d+)", d).group(1))
                      for d in data if d)

    def test_idle(self):
        """A session in IDLE hears of new mail (delivered to the service,
        so through the sync engine), of another session's flag change and
        of its expunge, as they happen, and ends at DONE."""
        self.deliver("Idle", 1)
        other = self.login()
        other.select("Idle")
        self.m.select("Idle")
        self.m.send(b"i1 IDLE\r\n")
        self.assertTrue(self.m.readline().startswith(b"+"))

        def until(pattern):
            deadline = time.monotonic() + WAIT
            while time.monotonic() < deadline:
                line = self.m.readline()
                if re.search(pattern, line):
                    return line
            return None
        self.srv.deliver(self.b.email, message("idle-new"), mailbox="Idle")
        self.assertIsNotNone(until(rb"^\* 2 EXISTS"))
        other.store("1", "+FLAGS", "(\\Flagged)")
        self.assertIsNotNone(until(rb"^\* 1 FETCH .*\\Flagged"))
        other.store("2", "+FLAGS.SILENT", "(\\Deleted)")
        other.expunge()
        self.assertIsNotNone(until(rb"^\* 2 EXPUNGE"))
        self.m.send(b"DONE\r\n")
        self.assertIsNotNone(until(rb"^i1 OK"))
        self.assertEqual(self.m.noop()[0], "OK")

    def test_read_only(self):
        self.deliver("Frozen", 1)
        self.m.select("Frozen", readonly=True)
        typ, data = self.m.store("1", "+FLAGS", "(\\Seen)")
        self.assertEqual(typ, "NO")
        self.assertEqual(self.m.uid("MOVE", "1:*", "INBOX")[0], "NO")
        self.assertEqual(self.count("Frozen", "UNSEEN"), 1)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
