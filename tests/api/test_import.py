#!/usr/bin/python3
"""Tests of `saltmaild import`: mbox files and Maildirs brought into an
account while `saltmaild serve` runs on the same data folder.

    /usr/bin/python3 tests/api/test_import.py --saltmaild PATH [--keep]
        [unittest options, e.g. -v or -k Maildir]

Every imported message is read back through the API as a client would:
listed newest first, its key packet opened with the account's key, its
summary and body stream opened (docs/crypto.md) and compared with the
original bytes. The last line printed is "N passed, M failed".
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import saltcrypto as sc  # noqa: E402
from harness import qs  # noqa: E402

SALTMAILD = None
WAIT = 10  # seconds to wait for anything asynchronous
MAX_BLOB = 64 << 20
SUMMARY_RE = re.compile(r"^saltmaild: imported (\d+) messages \((\d+) "
                        r"skipped(?:, (\d+) of them trashed)?\) into (.+)$")
_server = []


def server():
    """The suite's server, started on first use."""
    if not _server:
        _server.append(harness.Server(SALTMAILD, ["--open-signup"],
                                      "import").start())
    return _server[0]


def tearDownModule():
    for s in _server:
        s.stop()


def poll(fn, timeout=WAIT, interval=0.1):
    """harness.poll, waiting WAIT seconds unless told."""
    return harness.poll(fn, timeout, interval)


def mboxrd(messages):
    """An mboxrd file: each (from_line, bytes) as a "From " line, the
    message with ">*From " lines quoted once more, and one line end."""
    out = []
    for from_line, body in messages:
        out.append(from_line.encode() + b"\n")
        lines = body.split(b"\n")
        for i, line in enumerate(lines):
            if re.match(rb"^>*From ", line):
                lines[i] = b">" + line
        out.append(b"\n".join(lines) + b"\n")
    return b"".join(out)


def ctime(t):
    return time.strftime("%a %b %e %H:%M:%S %Y", time.gmtime(t))


class ImportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = server()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="saltmaild-import-")

    def tearDown(self):
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # running saltmaild import ------------------------------------------

    def run_import(self, to, path, mailbox=None, timeout=300):
        cmd = [SALTMAILD, "import", "--data", self.srv.data, "--to", to]
        if mailbox is not None:
            cmd += ["--mailbox", mailbox]
        r = subprocess.run(cmd + [path], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        err = r.stderr.decode("utf-8", "replace")
        self.assertNotIn("Sanitizer", err)
        self.assertNotIn("runtime error:", err)
        return r.returncode, r.stdout.decode("utf-8", "replace"), err

    def import_ok(self, acct, path, imported, skipped=0, trashed=None,
                  mailbox=None):
        rc, out, err = self.run_import(acct.email, path, mailbox)
        self.assertEqual(rc, 0, "import failed: %s%s" % (out, err))
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        m = SUMMARY_RE.match(lines[0])
        self.assertIsNotNone(m, "summary line %r" % lines[0])
        self.assertEqual((int(m.group(1)), int(m.group(2))),
                         (imported, skipped), lines[0])
        self.assertEqual(m.group(3) and int(m.group(3)), trashed, lines[0])
        self.assertEqual(m.group(4), acct.email)
        return err

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # reading back ------------------------------------------------------

    def listed(self, acct, mailbox_id):
        msgs, cursor = [], None
        for _ in range(100):
            r = acct.get("/api/v1/messages?" + qs(mailbox_id=mailbox_id,
                                                  limit=500, cursor=cursor))
            self.assertEqual(r.status, 200, r)
            msgs += r.json["messages"]
            cursor = r.json["next_cursor"]
            if cursor is None:
                return msgs
        self.fail("message list does not end")

    def open_message(self, acct, m):
        """The cleartext of a listed message, checked as a client would."""
        key = sc.key_packet_open(sc.b64d(m["key_packet"]),
                                 acct.ident.enc_pk, acct.ident.enc_sk)
        fields = sc.summary_open(sc.b64d(m["summary"]), key)
        r = acct.get("/api/v1/blobs/" + m["blob_id"],
                     headers={"Accept": "application/octet-stream"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.body), m["size"])
        plain = sc.body_open(r.body, key)
        self.assertEqual(sc.verdict(fields, plain, None), "unsigned")
        self.assertEqual(fields["size"], len(plain))
        return plain, fields

    def check_listed(self, acct, mailbox_id, want):
        """want: (received_at, bytes, keywords) per message; the list is
        newest first and each opens to exactly its bytes."""
        msgs = self.listed(acct, mailbox_id)
        self.assertEqual(len(msgs), len(want))
        times = [m["received_at"] for m in msgs]
        self.assertEqual(times, sorted(times, reverse=True))
        got = []
        for m in msgs:
            self.assertEqual(m["mailbox_ids"], [mailbox_id])
            plain, fields = self.open_message(acct, m)
            got.append((m["received_at"], plain, sorted(m["keywords"])))
        self.assertEqual(sorted(got), sorted(
            (t, body, sorted(kw)) for t, body, kw in want))
        return msgs


class TestMbox(ImportTest):
    def test_mboxrd(self):
        acct = harness.signup(self.srv)
        inbox = acct.mailbox_by_role("inbox")["id"]
        t0 = 1700000000
        bodies = [
            # "From " and ">From " lines in the body, quoted in the file.
            b"From: a@elsewhere.example\nSubject: quoted\n\nFirst line\n"
            b"From the start of a line\n>From a quote\n>>From deeper\n"
            b" From indented\n",
            # No line end at all at its end.
            b"From: b@elsewhere.example\nSubject: open end\n\nno newline",
            # CRLF line ends and a trailing empty line kept.
            sc.rfc5322("c@elsewhere.example", [acct.email], "crlf",
                       "crlf text") + b"\r\n",
            # Ends with empty lines, and a From: header only.
            b"From: d@elsewhere.example\nSubject: blank end\n\nbody\n\n\n",
        ]
        msgs = [("From sender%d@elsewhere.example %s" % (i, ctime(t0 + i)),
                 body) for i, body in enumerate(bodies)]
        data = mboxrd(msgs)
        self.assertIn(b"\n>From the start", data)
        self.assertIn(b"\n>>From a quote", data)
        self.assertIn(b"\n>>>From deeper", data)
        path = self.write("box.mbox", data)
        self.import_ok(acct, path, len(bodies))
        self.check_listed(acct, inbox, [(t0 + i, body, [])
                                        for i, body in enumerate(bodies)])

    def test_dates_and_mailbox(self):
        """A "From " line with extra words after its date, or none, or one
        that does not parse; --mailbox files elsewhere."""
        acct = harness.signup(self.srv)
        archive = acct.mailbox_by_role("archive")["id"]
        before = int(time.time()) - 1
        msgs = [("From x@elsewhere.example Sat Jan  6 12:00:00 2024 "
                 "remote from elsewhere", b"Subject: 1\n\none\n"),
                ("From MAILER-DAEMON", b"Subject: 2\n\ntwo\n"),
                ("From y@elsewhere.example not a date",
                 b"Subject: 3\n\nthree\n")]
        path = self.write("dates.mbox", mboxrd(msgs))
        self.import_ok(acct, path, 3, mailbox="Archive")
        self.assertEqual(self.listed(acct, acct.mailbox_by_role(
            "inbox")["id"]), [])
        got = self.listed(acct, archive)
        self.assertEqual(len(got), 3)
        by_body = {self.open_message(acct, m)[0]: m["received_at"]
                   for m in got}
        self.assertEqual(by_body[b"Subject: 1\n\none\n"], 1704542400)
        after = int(time.time()) + 1
        for body in (b"Subject: 2\n\ntwo\n", b"Subject: 3\n\nthree\n"):
            self.assertTrue(before <= by_body[body] <= after, by_body)

    def test_too_large_skipped(self):
        """A message past the largest blob is skipped with a warning; the
        ones around it are imported."""
        acct = harness.signup(self.srv)
        inbox = acct.mailbox_by_role("inbox")["id"]
        path = os.path.join(self.tmp, "large.mbox")
        first = b"Subject: small 1\n\nbefore\n"
        last = b"Subject: small 2\n\nafter\n"
        with open(path, "wb") as f:
            f.write(b"From a@elsewhere.example Mon Jan  1 00:00:00 2024\n"
                    + first + b"\n")
            f.write(b"From b@elsewhere.example Mon Jan  1 00:00:01 2024\n"
                    b"Subject: huge\n\n")
            f.seek(MAX_BLOB + 4096, os.SEEK_CUR)  # zeros, sparse
            f.write(b"\n\n")
            f.write(b"From c@elsewhere.example Mon Jan  1 00:00:02 2024\n"
                    + last + b"\n")
        err = self.import_ok(acct, path, 2, skipped=1)
        self.assertIn("message 2", err)
        self.assertIn("larger than", err)
        self.check_listed(acct, inbox, [(1704067200, first, []),
                                        (1704067202, last, [])])

    def test_empty_file(self):
        acct = harness.signup(self.srv)
        self.import_ok(acct, self.write("empty.mbox", b""), 0)

    def test_not_an_mbox(self):
        acct = harness.signup(self.srv)
        path = self.write("notes.txt", b"Subject: hi\n\nnot an mbox\n")
        rc, out, err = self.run_import(acct.email, path)
        self.assertEqual(rc, 1)
        self.assertIn("not an mbox file", err)
        self.assertEqual(out, "")


class TestMaildir(ImportTest):
    def test_flags(self):
        acct = harness.signup(self.srv)
        inbox = acct.mailbox_by_role("inbox")["id"]
        md = os.path.join(self.tmp, "Maildir")
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(md, sub))
        t0 = 1710000000
        files = [  # (sub, name, bytes, keywords or None when skipped)
            ("cur", "1710000000.M1P1.host:2,S", b"Subject: seen\n\n1\n",
             ["$seen"]),
            ("cur", "1710000001.M2P1.host,S=20:2,FRS",
             b"Subject: flagged\r\n\r\n2\r\n",
             ["$answered", "$flagged", "$seen"]),
            ("cur", "1710000002.M3P1.host:2,DS", b"Subject: draft\n\n3",
             ["$draft", "$seen"]),
            ("cur", "1710000003.M4P1.host:2,PS", b"Subject: fwd\n\n4\n",
             ["$forwarded", "$seen"]),
            ("cur", "1710000004.M5P1.host:2,ST", b"Subject: trashed\n\n5\n",
             None),
            ("cur", "1710000005.M6P1.host:2,", b"Subject: none\n\n6\n", []),
            ("new", "1710000006.M7P1.host", b"Subject: new\n\nFrom 7\n", []),
        ]
        want = []
        for i, (sub, name, body, kws) in enumerate(files):
            path = os.path.join(md, sub, name)
            with open(path, "wb") as f:
                f.write(body)
            os.utime(path, (t0 + i, t0 + i))
            if kws is not None:
                want.append((t0 + i, body, kws))
        # Not messages: tmp/ and dot files.
        with open(os.path.join(md, "tmp", "1.M1.host"), "wb") as f:
            f.write(b"Subject: tmp\n\nno\n")
        with open(os.path.join(md, "cur", ".hidden"), "wb") as f:
            f.write(b"Subject: hidden\n\nno\n")
        self.import_ok(acct, md, len(want), skipped=1, trashed=1)
        self.check_listed(acct, inbox, want)

    def test_too_large_and_empty(self):
        acct = harness.signup(self.srv)
        inbox = acct.mailbox_by_role("inbox")["id"]
        md = os.path.join(self.tmp, "Maildir")
        os.makedirs(os.path.join(md, "new"))
        big = os.path.join(md, "new", "1.big")
        with open(big, "wb") as f:
            f.truncate(MAX_BLOB + 1)  # sparse
        open(os.path.join(md, "new", "2.empty"), "wb").close()
        small = os.path.join(md, "new", "3.small")
        with open(small, "wb") as f:
            f.write(b"Subject: small\n\nok\n")
        os.utime(small, (1720000000, 1720000000))
        err = self.import_ok(acct, md, 1, skipped=2)
        self.assertIn("1.big", err)
        self.assertIn("2.empty", err)
        self.check_listed(acct, inbox, [(1720000000,
                                         b"Subject: small\n\nok\n", [])])

    def test_not_a_maildir(self):
        acct = harness.signup(self.srv)
        rc, out, err = self.run_import(acct.email, self.tmp)
        self.assertEqual(rc, 1)
        self.assertIn("not a Maildir", err)


class TestWhileServing(ImportTest):
    def test_change_feed_and_events(self):
        """An import of several batches reaches the change feed and the
        event stream of the running server."""
        acct = harness.signup(self.srv)
        inbox = acct.mailbox_by_role("inbox")["id"]
        s0 = acct.state()
        events = harness.EventStream(self.srv, acct.access_token)
        try:
            self.assertEqual(events.status, 200)
            first = events.next(timeout=WAIT)
            self.assertIsNotNone(first)
            self.assertEqual(json.loads(first[1])["state"], s0)
            n = 250
            msgs = [("From s@elsewhere.example %s" % ctime(1690000000 + i),
                     b"Subject: bulk %d\n\nbody %d\n" % (i, i))
                    for i in range(n)]
            self.import_ok(acct, self.write("bulk.mbox", mboxrd(msgs)), n)
            self.assertIsNotNone(events.wait_state(lambda s: s != s0,
                                                   timeout=WAIT),
                                 "no state event after the import")
        finally:
            events.close()
        created, since = [], s0
        for _ in range(50):
            r = acct.get("/api/v1/changes?" + qs(since=since, max=100))
            self.assertEqual(r.status, 200, r)
            created += r.json["messages"]["created"]
            since = r.json["new_state"]
            if not r.json["has_more"]:
                break
        listed = self.listed(acct, inbox)
        self.assertEqual(len(listed), n)
        self.assertEqual(sorted(created), sorted(m["id"] for m in listed))
        self.assertEqual([m["received_at"] for m in listed],
                         [1690000000 + i for i in reversed(range(n))])

    def test_seen_while_running(self):
        """A running import is visible before it ends: its batches commit
        one by one. SIGTERM then stops it with whole messages filed, as
        many as it says."""
        acct = harness.signup(self.srv)
        s0 = acct.state()
        n = 3000
        msgs = [("From s@elsewhere.example %s" % ctime(1680000000 + i),
                 b"Subject: run %d\n\n" % i + b"x" * 2000 + b"\n")
                for i in range(n)]
        path = self.write("running.mbox", mboxrd(msgs))
        proc = subprocess.Popen([SALTMAILD, "import", "--data",
                                 self.srv.data, "--to", acct.email, path],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            def partial():
                r = acct.get("/api/v1/changes?" + qs(since=s0, max=5000))
                ids = (r.json or {}).get("messages", {}).get("created")
                return ids if ids and proc.poll() is None else None
            seen = poll(partial, timeout=60, interval=0.05)
            if proc.poll() is not None and not seen:
                self.skipTest("the import finished before it was seen")
            self.assertTrue(seen)
            self.assertLess(len(seen), n)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
        err = err.decode("utf-8", "replace")
        self.assertNotIn("Sanitizer", err)
        if proc.returncode == 0:
            self.skipTest("the import finished before it was stopped")
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("saltmaild: interrupted", err)
        m = re.search(r"(\d+) messages were imported before the error", err)
        self.assertIsNotNone(m, err)
        listed = self.listed(acct, acct.mailbox_by_role("inbox")["id"])
        self.assertEqual(len(listed), int(m.group(1)))
        self.assertGreaterEqual(len(listed), len(seen))
        # Filed in order, each one whole.
        self.assertEqual(sorted(m["received_at"] for m in listed),
                         [1680000000 + i for i in range(len(listed))])
        for m in listed[:3] + listed[-3:]:
            plain, _ = self.open_message(acct, m)
            i = m["received_at"] - 1680000000
            self.assertEqual(plain, b"Subject: run %d\n\n" % i
                             + b"x" * 2000 + b"\n")


class TestErrors(ImportTest):
    def test_unknown_recipient(self):
        path = self.write("one.mbox", mboxrd([(
            "From a@elsewhere.example Mon Jan  1 00:00:00 2024",
            b"Subject: x\n\ny\n")]))
        rc, out, err = self.run_import(harness.unique_email("ghost"), path)
        self.assertEqual(rc, 67, err)
        self.assertIn("no account", err)
        self.assertEqual(out, "")

    def test_missing_path(self):
        acct = harness.signup(self.srv)
        path = os.path.join(self.tmp, "no-such.mbox")
        rc, out, err = self.run_import(acct.email, path)
        self.assertEqual(rc, 1)
        self.assertEqual(err.strip(), "saltmaild: cannot open %s: "
                         "No such file or directory" % path)
        self.assertEqual(out, "")
        self.assertEqual(self.listed(acct, acct.mailbox_by_role(
            "inbox")["id"]), [])

    def test_unknown_mailbox(self):
        acct = harness.signup(self.srv)
        path = self.write("one.mbox", mboxrd([(
            "From a@elsewhere.example Mon Jan  1 00:00:00 2024",
            b"Subject: x\n\ny\n")]))
        rc, out, err = self.run_import(acct.email, path, mailbox="Nowhere")
        self.assertEqual(rc, 1)
        self.assertIn("no such mailbox", err)

    def test_usage(self):
        r = subprocess.run([SALTMAILD, "import", "--help"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: saltmaild import", r.stdout)
        r = subprocess.run([SALTMAILD, "import", "--data", self.srv.data,
                            "--to", "a@example.org"], capture_output=True,
                           timeout=30)
        self.assertEqual(r.returncode, 2)


# ---------------------------------------------------------------------------


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv, ["saltmaild"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
