#!/usr/bin/python3
"""IMAP mailbox commands of saltbridge serve against Python's imaplib.

    /usr/bin/python3 tests/imap/test_imap_mailboxes.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

An account with a few delivered messages is logged in to a bridge (see
test_imap_login.py for the fixture). Then: LIST and LSUB with patterns,
the special-use and children attributes; NAMESPACE; CREATE (with its
missing parents), RENAME, DELETE, SUBSCRIBE, UNSUBSCRIBE, and the
refusals of each, with a name outside ASCII in modified UTF-7; what the
service has after the bridge replays them; STATUS; SELECT and EXAMINE
(counts, UIDVALIDITY, UIDNEXT, read-only), CLOSE, UNSELECT, CHECK and
EXPUNGE; and a message delivered while a mailbox is selected reaching
the session as EXISTS at its next NOOP. The last line printed is
"N passed, M failed".
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

MESSAGES = 3
WAIT = 30


def message(i):
    return ("From: sender%d@example.org\r\nTo: someone@example.org\r\n"
            "Subject: message %d\r\nDate: Mon, 2 Nov 2026 10:00:%02d +0000\r\n"
            "Message-ID: <m%d.%s@example.org>\r\n\r\nBody %d.\r\n"
            % (i, i, i, i, os.urandom(4).hex(), i)).encode()


def poll(fn, timeout=WAIT):
    """harness.poll with this suite's wait."""
    return harness.poll(fn, timeout, 0.2)


_state = {}


def fixture():
    if "bridge" not in _state:
        b = base.fixture()
        srv = base._fixture["server"]
        _state["bridge"] = b
        _state["server"] = srv
        # Delivered before the first login: the sync brings them.
        for i in range(MESSAGES):
            srv.deliver(b.email, message(i))
    return _state["bridge"], _state["server"]


def tearDownModule():
    base.tearDownModule()


class ImapMailboxTest(unittest.TestCase):
    def setUp(self):
        self.b, self.srv = fixture()
        self.m = self.login()
        got = poll(lambda: self.status("INBOX", "MESSAGES") >= MESSAGES)
        self.assertTrue(got, "INBOX never got its messages")

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

    def status(self, box, item, m=None):
        typ, data = (m or self.m).status(box, "(%s)" % item)
        self.assertEqual(typ, "OK", data)
        return int(re.search(rb"%s (\d+)" % item.encode(), data[0]).group(1))

    def listed(self, pattern="*", ref='""', cmd="list"):
        typ, data = getattr(self.m, cmd)(ref, pattern)
        self.assertEqual(typ, "OK", data)
        out = {}
        for line in data:
            if line is None:
                continue
            attrs, name = re.match(rb'\(([^)]*)\) "/" (.*)$', line).groups()
            out[name.strip(b'"').decode()] = attrs.decode().split()
        return out

    def remote_mailboxes(self):
        """The service's mailboxes, as paths."""
        acct = self.b.acct
        r = acct.get("/api/v1/mailboxes")
        if r.status == 401:
            acct.login()
            r = acct.get("/api/v1/mailboxes")
        self.assertEqual(r.status, 200, r)
        boxes = {m["id"]: m for m in r.json["mailboxes"]}

        def path(m):
            return (path(boxes[m["parent_id"]]) + "/" + m["name"]
                    if m["parent_id"] else m["name"])
        return {path(m) for m in boxes.values()}

    def test_list_and_namespace(self):
        boxes = self.listed()
        for name in ("INBOX", "Drafts", "Sent", "Archive", "Junk", "Trash"):
            self.assertIn(name, boxes)
        self.assertIn("\\Sent", boxes["Sent"])
        self.assertIn("\\Trash", boxes["Trash"])
        self.assertIn("\\HasNoChildren", boxes["INBOX"])
        self.assertEqual(set(self.listed("inbox")), {"INBOX"})
        # INBOX in any case, wherever the pattern's letters for it stand.
        for pattern in ("*inbox", "*nBoX", "%box", "*i*n*b*o*x*", "%X"):
            self.assertIn("INBOX", self.listed(pattern), pattern)
        self.assertNotIn("INBOX", self.listed("*inbo"))
        self.assertEqual(set(self.listed("%r%")),
                         {"Drafts", "Archive", "Trash"})
        typ, data = self.m.list('""', '""')
        self.assertEqual(data[0], b'(\\Noselect) "/" ""')
        typ, data = self.m.namespace()
        self.assertEqual(typ, "OK")
        self.assertEqual(data[0], b'(("" "/")) NIL NIL')
        typ, data = self.m.capability()
        for cap in (b"SPECIAL-USE", b"CHILDREN", b"NAMESPACE", b"UNSELECT"):
            self.assertIn(cap, data[0].split())
        # INBOX as the first level, in any case; the rest as it is.
        self.assertEqual(self.m.create("inbox/Below")[0], "OK")
        # Gone before the next test, whatever happens in this one.
        self.addCleanup(self.m.delete, "Inbox/Below")
        self.assertIn("INBOX/Below", self.listed("*inbox/Below"))
        self.assertNotIn("INBOX/Below", self.listed("*inbox/below"))

    def test_create_rename_delete(self):
        name = "Projets/Été"
        utf7 = "Projets/&AMk-t&AOk-"
        typ, _ = self.m.create('"%s"' % utf7)
        self.assertEqual(typ, "OK")
        boxes = self.listed("Projets*")
        self.assertIn("\\HasChildren", boxes["Projets"])
        self.assertIn(utf7, boxes)
        self.assertEqual(self.m.create('"%s"' % utf7)[0], "NO")
        self.assertEqual(self.m.create("INBOX")[0], "NO")
        self.assertEqual(self.m.create('"bad&-name&"')[0], "NO")
        # The bridge replays them to the service.
        self.assertTrue(poll(lambda: name in self.remote_mailboxes()),
                        self.remote_mailboxes())

        typ, _ = self.m.rename('"%s"' % utf7, "Archive2026/Summer")
        self.assertEqual(typ, "OK")
        self.assertIn("Archive2026/Summer", self.listed())
        self.assertNotIn(utf7, self.listed())
        self.assertEqual(self.m.rename("Sent", "Elsewhere")[0], "NO")
        self.assertEqual(self.m.rename("Nowhere", "Other")[0], "NO")
        self.assertTrue(poll(lambda: "Archive2026/Summer" in
                             self.remote_mailboxes()))

        self.assertEqual(self.m.delete("Trash")[0], "NO")
        self.assertEqual(self.m.delete("Nowhere")[0], "NO")
        # A mailbox with children stays until they go.
        self.assertEqual(self.m.delete("Archive2026")[0], "NO")
        self.assertEqual(self.m.delete("Archive2026/Summer")[0], "OK")
        self.assertEqual(self.m.delete("Archive2026")[0], "OK")
        self.assertEqual(self.m.delete("Projets")[0], "OK")
        self.assertTrue(poll(lambda: not ({"Archive2026", "Projets"}
                                          & self.remote_mailboxes())))

    def raw_list(self, *args):
        typ, data = self.m._simple_command("LIST", *args)
        self.assertEqual(typ, "OK", data)
        lines = self.m.untagged_responses.pop("LIST", [])
        status = self.m.untagged_responses.pop("STATUS", [])
        return lines, status

    def test_list_extended_and_status(self):
        typ, data = self.m.capability()
        for cap in (b"LIST-EXTENDED", b"LIST-STATUS"):
            self.assertIn(cap, data[0].split())
        # New and synced mailboxes start subscribed; two are not now.
        self.assertEqual(self.m.create("Team/Notes")[0], "OK")
        self.assertEqual(self.m.unsubscribe("Team")[0], "OK")
        self.assertEqual(self.m.unsubscribe("Junk")[0], "OK")
        lines, _ = self.raw_list("(SUBSCRIBED)", '""', '"*"')
        names = {l.split(b'"/" ')[1].strip(b'"') for l in lines}
        self.assertIn(b"INBOX", names)
        self.assertIn(b"Team/Notes", names)
        self.assertNotIn(b"Team", names)
        self.assertNotIn(b"Junk", names)
        self.assertTrue(all(b"\\Subscribed" in l for l in lines), lines)
        # A parent of a subscribed mailbox, with RECURSIVEMATCH.
        lines, _ = self.raw_list("(SUBSCRIBED RECURSIVEMATCH)", '""', "%")
        team = [l for l in lines if re.search(
            rb'"/" "?Team"? \("CHILDINFO" \("SUBSCRIBED"\)\)$', l)]
        self.assertEqual(len(team), 1, lines)
        with self.assertRaises(imaplib.IMAP4.error):
            self.raw_list("(RECURSIVEMATCH)", '""', "*")
        lines, _ = self.raw_list("(SPECIAL-USE)", '""', '"*"')
        self.assertEqual(len(lines), 6, lines)
        self.assertIn(b'(\\HasNoChildren \\All) "/" "All Mail"', lines)
        lines, _ = self.raw_list('""', '("INBOX" "Sent")')
        self.assertEqual(len(lines), 2, lines)
        lines, status = self.raw_list('""', "INBOX", "RETURN",
                                      "(STATUS (MESSAGES UNSEEN))")
        self.assertEqual(len(lines), 1)
        self.assertEqual(len(status), 1)
        self.assertRegex(status[0], rb"INBOX \(MESSAGES \d+ UNSEEN \d+\)")
        self.m.subscribe("Junk")
        self.assertEqual(self.m.delete("Team/Notes")[0], "OK")
        self.assertEqual(self.m.delete("Team")[0], "OK")

    def test_quota(self):
        typ, data = self.m.capability()
        self.assertIn(b"QUOTA", data[0].split())
        typ, data = self.m.getquotaroot("INBOX")
        self.assertEqual(typ, "OK", data)
        roots, quotas = data
        self.assertEqual(roots[0], b'INBOX ""')
        m = re.match(rb'"" \(STORAGE (\d+) (\d+)\)', quotas[0])
        self.assertIsNotNone(m, quotas)
        # The service's own figures, in units of 1024 bytes.
        acct = self.b.acct
        r = acct.get("/api/v1/account")
        if r.status == 401:
            acct.login()
            r = acct.get("/api/v1/account")
        q = r.json["quota"]
        self.assertEqual(int(m.group(2)), q["limit"] // 1024)
        self.assertGreater(int(m.group(1)), 0)
        typ, data = self.m.getquota('""')
        self.assertEqual(typ, "OK")
        self.assertEqual(self.m.getquota("other")[0], "NO")
        self.assertEqual(self.m.getquotaroot("Nowhere")[0], "NO")
        self.assertEqual(self.m.setquota('""', "(STORAGE 1)")[0], "NO")

    def test_subscriptions(self):
        self.assertEqual(self.m.create("Lists")[0], "OK")
        self.assertEqual(self.m.subscribe("Lists")[0], "OK")
        self.assertIn("Lists", self.listed(cmd="lsub"))
        self.assertEqual(self.m.unsubscribe("Lists")[0], "OK")
        self.assertNotIn("Lists", self.listed(cmd="lsub"))
        self.assertEqual(self.m.subscribe("Nowhere")[0], "NO")
        self.assertEqual(self.m.delete("Lists")[0], "OK")
        # Made and deleted at once (maybe while its creation was on its
        # way): not left on the service.
        time.sleep(0.5)
        self.assertTrue(poll(lambda: "Lists" not in
                             self.remote_mailboxes()))

    def test_status_select_examine(self):
        n = self.status("INBOX", "MESSAGES")
        typ, data = self.m.status("INBOX", "(MESSAGES RECENT UIDNEXT "
                                           "UIDVALIDITY UNSEEN)")
        self.assertEqual(typ, "OK")
        self.assertRegex(data[0], rb"UIDVALIDITY \d+")
        with self.assertRaises(imaplib.IMAP4.error) as e:
            self.m.status("INBOX", "(BOGUS)")
        self.assertIn("BAD", str(e.exception))
        self.assertEqual(self.m.status("Nowhere", "(MESSAGES)")[0], "NO")

        typ, data = self.m.select("INBOX")
        self.assertEqual(typ, "OK")
        self.assertEqual(int(data[0]), n)
        self.assertIn("READ-WRITE", self.m.untagged_responses)
        uidvalidity = self.m.untagged_responses["UIDVALIDITY"][0]
        self.assertEqual(self.m.check()[0], "OK")
        self.assertEqual(self.m.expunge()[0], "OK")
        self.assertEqual(self.m.unselect()[0], "OK")
        typ, data = self.m.select("INBOX", readonly=True)
        self.assertEqual(typ, "OK")
        self.assertEqual(self.m.untagged_responses["UIDVALIDITY"][0],
                         uidvalidity)
        self.assertEqual(self.m.expunge()[0], "NO")
        self.assertEqual(self.m.close()[0], "OK")
        # Not selected any more.
        self.assertRaises(imaplib.IMAP4.error, self.m.expunge)
        self.assertEqual(self.m.select("Nowhere")[0], "NO")

    def test_new_mail_while_selected(self):
        typ, data = self.m.select("INBOX")
        before = int(data[0])
        self.srv.deliver(self.b.email, message(100))

        def exists():
            self.m.noop()
            got = self.m.untagged_responses.pop("EXISTS", None)
            return got and int(got[-1]) > before
        self.assertTrue(poll(exists), "no EXISTS after a delivery")
        other = self.login()
        self.assertEqual(self.status("INBOX", "MESSAGES", other),
                         before + 1)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
