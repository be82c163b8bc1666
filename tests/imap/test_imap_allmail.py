#!/usr/bin/python3
"""All Mail, the virtual mailbox of saltbridge serve, against imaplib.

    /usr/bin/python3 tests/imap/test_imap_allmail.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

An account with three delivered messages is logged in to a bridge (see
test_imap_login.py for the fixture). All Mail is listed with \\All, holds
every message, and shares flags with the other mailboxes; nothing is
copied, moved or appended into it, and it is not created under, renamed
or deleted. A move out of it files the message in the target alone (the
message stays in All Mail with a new UID); an expunge there sends the
message to Trash, which takes it out of All Mail. The service ends up
with the same mailboxes for each message, and a delivery reaches a
session with All Mail selected. The last line printed is
"N passed, M failed".
"""
import imaplib
import os
import re
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_imap_login as base  # noqa: E402

WAIT = 30
ALL = '"All Mail"'


def message(i):
    return ("From: sender%d@example.org\r\nTo: someone@example.org\r\n"
            "Subject: all %d\r\nDate: Mon, 2 Nov 2026 10:00:%02d +0000\r\n"
            "Message-ID: <a%d.%s@example.org>\r\n\r\nBody %d.\r\n"
            % (i, i, i, i, os.urandom(4).hex(), i)).encode()


def poll(fn, timeout=WAIT):
    return harness.poll(fn, timeout, 0.2)


class AllMailTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = base.fixture()
        cls.srv = base._fixture["server"]
        for i in range(3):
            cls.srv.deliver(cls.b.email, message(i))

    def login(self):
        m = imaplib.IMAP4("127.0.0.1", self.b.port, timeout=base.RUN_TIMEOUT)
        m.starttls(ssl_context=self.b.context())
        m.login(self.b.email, self.b.password)
        self.addCleanup(self.close, m)
        return m

    @staticmethod
    def close(m):
        try:
            m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def count(self, m, box):
        typ, data = m.status(box, "(MESSAGES)")
        self.assertEqual(typ, "OK", data)
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def subjects(self, m):
        """{subject: uid} of the selected mailbox."""
        typ, data = m.uid("FETCH", "1:*",
                          "(UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        self.assertEqual(typ, "OK", data)
        out = {}
        for item in data:
            if isinstance(item, tuple):
                uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
                subject = item[1].decode().split(":", 1)[1].strip()
                out[subject] = uid
        return out

    def service_mailboxes(self):
        """{frozenset of mailbox names} for each message on the service."""
        acct = self.b.acct
        r = acct.get("/api/v1/mailboxes")
        if r.status == 401:
            acct.login()
            r = acct.get("/api/v1/mailboxes")
        self.assertEqual(r.status, 200, r)
        names = {mb["id"]: mb["name"] for mb in r.json["mailboxes"]}
        r = acct.get("/api/v1/messages?limit=500")
        self.assertEqual(r.status, 200, r)
        return sorted(sorted(names[i] for i in msg["mailbox_ids"])
                      for msg in r.json["messages"])

    def test_all_mail(self):
        m = self.login()
        self.assertTrue(poll(lambda: self.count(m, "INBOX") >= 3),
                        "INBOX never got its messages")
        typ, data = m.list('""', ALL)
        self.assertEqual(data[0], b'(\\HasNoChildren \\All) "/" "All Mail"')
        self.assertEqual(self.count(m, ALL), 3)

        typ, data = m.select(ALL)
        self.assertEqual(typ, "OK", data)
        uids = self.subjects(m)
        self.assertEqual(sorted(uids), ["all 0", "all 1", "all 2"])
        # Flags are the message's: set here, seen in INBOX.
        typ, _ = m.uid("STORE", str(uids["all 0"]), "+FLAGS", r"(\Flagged)")
        self.assertEqual(typ, "OK")
        other = self.login()
        other.select("INBOX", readonly=True)
        typ, data = other.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS "
                                "(SUBJECT)])")
        flagged = [item[1] for item in data if isinstance(item, tuple)
                   and b"\\Flagged" in item[0]]
        self.assertEqual(flagged, [b"Subject: all 0\r\n\r\n"])

        # Nothing goes into All Mail, and it stays as it is.
        for cmd, args in (("COPY", (str(uids["all 0"]), ALL)),
                          ("MOVE", (str(uids["all 0"]), ALL))):
            typ, data = m.uid(cmd, *args)
            self.assertEqual(typ, "NO", data)
            self.assertIn(b"[CANNOT]", data[0])
        typ, data = other.append(ALL, None, None, message(9))
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"[CANNOT]", data[0])
        for typ, data in (other.create('"All Mail/Sub"'),
                          other.delete(ALL),
                          other.rename(ALL, "Elsewhere")):
            self.assertEqual(typ, "NO", data)
        self.assertEqual(self.count(m, ALL), 3)

        # A move out files the message in Archive alone, with a new UID
        # in All Mail.
        typ, data = m.uid("MOVE", str(uids["all 1"]), "Archive")
        self.assertEqual(typ, "OK", data)
        copyuid = m.untagged_responses.pop("COPYUID", [b""])[-1]
        self.assertRegex(copyuid, rb"^\d+ %d \d+$" % uids["all 1"])
        self.assertIn("EXPUNGE", m.untagged_responses)
        m.noop()
        after = self.subjects(m)
        self.assertGreater(after["all 1"], max(uids.values()))
        self.assertEqual(after["all 0"], uids["all 0"])
        self.assertEqual(self.count(other, "INBOX"), 2)
        self.assertEqual(self.count(other, "Archive"), 1)

        # An expunge sends the message to Trash, out of All Mail.
        typ, _ = m.uid("STORE", str(after["all 2"]), "+FLAGS", r"(\Deleted)")
        self.assertEqual(typ, "OK")
        typ, data = m.expunge()
        self.assertEqual(typ, "OK", data)
        self.assertEqual(sorted(self.subjects(m)), ["all 0", "all 1"])
        self.assertEqual(self.count(other, "Trash"), 1)
        self.assertEqual(self.count(other, "INBOX"), 1)

        # The service has what the replica has.
        want = [["Archive"], ["INBOX"], ["Trash"]]
        self.assertTrue(poll(lambda: self.service_mailboxes() == want),
                        self.service_mailboxes())

        # A delivery reaches a session with All Mail selected.
        m.untagged_responses.pop("EXISTS", None)
        self.srv.deliver(self.b.email, message(3))

        def exists():
            m.noop()
            got = m.untagged_responses.pop("EXISTS", None)
            return got is not None and int(got[-1]) == 3
        self.assertTrue(poll(exists), "no EXISTS in All Mail")


def tearDownModule():
    base.tearDownModule()


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
