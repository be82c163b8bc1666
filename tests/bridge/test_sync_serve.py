#!/usr/bin/python3
"""saltbridge serve's sync against a real saltmaild, at scale.

    /usr/bin/python3 tests/bridge/test_sync_serve.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

One account is signed up and filled with `saltmaild import` from a
Maildir of MESSAGES messages, some with the Maildir flags S and F (so
$seen and $flagged). Then, each on a fresh bridge home:

- the initial sync brings every message into the replica with the
  keywords and mailboxes the API lists, and its progress goes to the log
  (stderr is not a terminal) as info lines ending with one that says
  every message was listed;
- a bridge killed with SIGKILL in the middle of the initial sync resumes
  on restart: no duplicate, every message already there keeps its UID,
  and the replica passes `PRAGMA integrity_check`;
- with serve running and synced, a delivered message and a keyword
  change made by another client reach the replica within PUSH_WAIT
  seconds (the latency is printed, not asserted beyond that bound).

A saltbridge or saltmaild stderr holding a sanitizer report fails. The
last line printed is "N passed, M failed".
"""
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402
from harness import poll, qs  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
MESSAGES = 2000
SYNC_WAIT = 120
PUSH_WAIT = 10
STOP_WAIT = 30
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
READY = b"saltbridge: ready (1 accounts)\n"
_fixture = {}


def info(text):
    print("info: " + text, file=sys.stderr, flush=True)


def flags_of(i):
    """The Maildir flags of message i (sorted, as Maildir wants)."""
    f = ""
    if i % 5 == 0:
        f += "F"
    if i % 3 == 0:
        f += "S"
    return f


def keywords_of_flags(f):
    return sorted({"F": "$flagged", "S": "$seen"}[c] for c in f)


def fixture():
    """(server, account) with MESSAGES messages, made on first use."""
    if not _fixture:
        srv = harness.Server(SALTMAILD, ["--open-signup"], "syncserve")
        _fixture["server"] = srv
        srv.start()
        acct = harness.signup(srv)
        tmp = tempfile.mkdtemp(prefix="saltbridge-sync-md-")
        try:
            md = os.path.join(tmp, "Maildir")
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(md, sub))
            t0 = 1700000000
            for i in range(MESSAGES):
                name = "%d.M%dP1.host:2,%s" % (t0 + i, i, flags_of(i))
                path = os.path.join(md, "cur", name)
                with open(path, "wb") as f:
                    f.write(("From: sender%d@example.org\nTo: %s\n"
                             "Subject: message %d\nMessage-ID: <%d.%s@"
                             "example.org>\n\nBody %d.\n"
                             % (i, acct.email, i, i, os.urandom(4).hex(),
                                i)).encode())
                os.utime(path, (t0 + i, t0 + i))
            started = time.monotonic()
            r = subprocess.run([SALTMAILD, "import", "--data", srv.data,
                                "--to", acct.email, md],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=300)
            err = r.stderr.decode("utf-8", "replace")
            info("saltmaild import of %d messages: %.1f s"
                 % (MESSAGES, time.monotonic() - started))
            for mark in SANITIZER_MARKS:
                if mark in err:
                    raise AssertionError("saltmaild import:\n" + err)
            if r.returncode != 0:
                raise AssertionError("saltmaild import failed (%d): %s"
                                     % (r.returncode, err))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        _fixture["account"] = acct
    if "account" not in _fixture:
        raise AssertionError("the fixture could not be made")
    return _fixture["server"], _fixture["account"]


def tearDownModule():
    srv = _fixture.get("server")
    if srv is not None:
        srv.stop()


def api_messages(acct):
    """{remote id: (sorted keywords, sorted mailbox ids)} as the API
    lists them."""
    out = {}
    cursor = None
    while True:
        r = acct.get("/api/v1/messages?" + qs(limit=500, cursor=cursor))
        if r.status != 200:
            raise AssertionError("GET messages: %r" % r)
        for m in r.json["messages"]:
            if m["id"] in out:
                raise AssertionError("the API listed %s twice" % m["id"])
            out[m["id"]] = (sorted(m["keywords"]), sorted(m["mailbox_ids"]))
        cursor = r.json["next_cursor"]
        if cursor is None:
            return out


def ro_connect(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


def replica_count(path):
    """Messages with a remote id in the replica, or None while it cannot
    be read."""
    try:
        db = ro_connect(path)
    except sqlite3.Error:
        return None
    try:
        return db.execute("SELECT count(*) FROM messages "
                          "WHERE remote_id IS NOT NULL").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        db.close()


def replica_entries(path):
    """[(remote id, keywords list, mailbox remote id, uid)], one a
    (message, mailbox) entry; All Mail, the replica's own, aside."""
    db = ro_connect(path)
    try:
        return [(rid, sorted((kw or "").split()), mb, uid)
                for rid, kw, mb, uid in db.execute(
                    "SELECT m.remote_id, m.keywords, mb.remote_id, mm.uid "
                    "FROM messages m "
                    "JOIN mailbox_messages mm ON mm.message = m.id "
                    "JOIN mailboxes mb ON mb.id = mm.mailbox "
                    "WHERE m.remote_id IS NOT NULL "
                    "AND ifnull(mb.role, '') <> 'all'")]
    finally:
        db.close()


def replica_keywords(path, remote_id):
    try:
        db = ro_connect(path)
    except sqlite3.Error:
        return None
    try:
        row = db.execute("SELECT keywords FROM messages WHERE remote_id = ?",
                         (remote_id,)).fetchone()
        return None if row is None else sorted((row[0] or "").split())
    except sqlite3.Error:
        return None
    finally:
        db.close()


class SyncServeTest(unittest.TestCase):
    def setUp(self):
        self.srv, self.acct = fixture()
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-sync-")
        self.home = os.path.join(self.tmp, "home")
        self.replica = os.path.join(self.home, "data", "replica.db")
        self.procs = []  # (Popen, stderr file, stderr path)

    def tearDown(self):
        for proc, err_file, _ in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            err_file.close()
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_clean(self, what, err):
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, "%s:\n%s" % (what, err))

    def login(self):
        r = subprocess.run(
            [SALTBRIDGE, "--home", self.home, "login", "--api",
             "https://127.0.0.1:%d" % self.srv.port, "--ca-file",
             self.srv.cert, "--password-stdin", self.acct.email],
            input=self.acct.ident.password.encode() + b"\n",
            capture_output=True, timeout=RUN_TIMEOUT)
        err = r.stderr.decode("utf-8", "replace")
        self.assert_clean("saltbridge login", err)
        self.assertEqual(r.returncode, 0, err)

    def start_serve(self):
        """Starts serve and waits for its ready line; returns (Popen,
        stderr path)."""
        err_path = os.path.join(self.tmp, "serve%d.stderr" % len(self.procs))
        err_file = open(err_path, "wb")
        proc, raw, _ = harness.start_bridge_serve(
            SALTBRIDGE, self.home, err_file, ["--imap-port", "0"],
            RUN_TIMEOUT)
        self.procs.append((proc, err_file, err_path))
        self.assertEqual(raw, READY, self.err_text(err_path)[-4000:])
        return proc, err_path

    def err_text(self, path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop_serve(self, proc, err_path):
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            self.fail("serve did not stop on SIGTERM within %d s"
                      % STOP_WAIT)
        err = self.err_text(err_path)
        self.assert_clean("saltbridge serve", err)
        self.assertEqual(rc, 0, err[-4000:])

    def wait_count(self, want, timeout, err_path):
        started = time.monotonic()
        got = poll(lambda: replica_count(self.replica) == want, timeout)
        took = time.monotonic() - started
        self.assertTrue(got, "replica holds %r of %d messages after %d s:\n"
                        "%s" % (replica_count(self.replica), want, timeout,
                                self.err_text(err_path)[-4000:]))
        return took

    def check_matches_api(self, api):
        """Every message the API lists is in the replica once per mailbox,
        with the same keywords, and nothing else is."""
        entries = replica_entries(self.replica)
        got = {}
        for rid, kws, mb, uid in entries:
            if rid not in got:
                got[rid] = (kws, [])
            self.assertEqual(got[rid][0], kws)
            got[rid][1].append(mb)
        self.assertEqual(len(got), len(api))
        self.assertEqual(set(got), set(api))
        bad = [(rid, got[rid][0], api[rid][0]) for rid in api
               if got[rid][0] != api[rid][0]]
        self.assertEqual(bad[:10], [], "%d messages with other keywords "
                         "(remote id, replica, API)" % len(bad))
        bad = [(rid, sorted(got[rid][1]), api[rid][1]) for rid in api
               if sorted(got[rid][1]) != api[rid][1]]
        self.assertEqual(bad[:10], [], "%d messages in other mailboxes "
                         "(remote id, replica, API)" % len(bad))
        return entries

    def test_1_initial_sync(self):
        api = api_messages(self.acct)
        self.assertEqual(len(api), MESSAGES)
        # The Maildir flags became keywords.
        want = sorted(tuple(keywords_of_flags(flags_of(i)))
                      for i in range(MESSAGES))
        self.assertEqual(sorted(tuple(k) for k, _ in api.values()), want)
        self.login()
        started = time.monotonic()
        proc, err_path = self.start_serve()
        took = self.wait_count(MESSAGES, SYNC_WAIT, err_path)
        info("initial sync of %d messages: %.1f s after ready (%.1f s "
             "from start)" % (MESSAGES, took, time.monotonic() - started))
        self.check_matches_api(api)
        self.stop_serve(proc, err_path)
        self.check_progress_log(self.err_text(err_path), len(api))

    def check_progress_log(self, err, total):
        """The listing's progress lines (common/progress.h): log lines, not
        a terminal's, naming the account, the last one done with every
        message. Each message is in one mailbox, so pairs are messages."""
        lines = re.findall(r" info: (\S+): (\d+)/(\d+) messages listed "
                           r"\((\d+)%\)(.*)", err)
        self.assertTrue(lines, "no progress line:\n" + err[-4000:])
        for who, done, of, _, _ in lines:
            self.assertEqual(who, self.acct.email)
            self.assertLessEqual(int(done), int(of))
        _, done, of, percent, rest = lines[-1]
        self.assertEqual((int(done), int(of), percent),
                         (total, total, "100"), lines[-1])
        self.assertIn(", done in ", rest)
        self.assertNotIn("\r", err)

    def test_2_sigkill_during_initial_sync(self):
        api = api_messages(self.acct)
        total = len(api)
        self.login()
        proc, err_path = self.start_serve()
        partial = poll(lambda: (lambda n: n if n is not None
                                and 0 < n < total else None)(
            replica_count(self.replica)), SYNC_WAIT, interval=0.02)
        proc.kill()
        proc.wait()
        self.assert_clean("saltbridge serve (killed)",
                          self.err_text(err_path))
        if partial is None:
            info("the initial sync was not seen half-way (replica holds "
                 "%r of %d); the restart is checked anyway"
                 % (replica_count(self.replica), total))
        before = {(rid, mb): uid
                  for rid, _, mb, uid in replica_entries(self.replica)}
        info("killed with %d of %d messages in the replica"
             % (len({rid for rid, _ in before}), total))

        proc, err_path = self.start_serve()
        took = self.wait_count(total, SYNC_WAIT, err_path)
        info("resumed initial sync: %.1f s after ready" % took)
        entries = self.check_matches_api(api)
        after = {}
        for rid, _, mb, uid in entries:
            self.assertNotIn((rid, mb), after, "entry twice: %s" % rid)
            after[(rid, mb)] = uid
        db = ro_connect(self.replica)
        try:
            dups = db.execute(
                "SELECT remote_id, count(*) FROM messages WHERE remote_id "
                "IS NOT NULL GROUP BY remote_id HAVING count(*) > 1"
            ).fetchall()
            uid_dups = db.execute(
                "SELECT mailbox, uid, count(*) FROM mailbox_messages "
                "GROUP BY mailbox, uid HAVING count(*) > 1").fetchall()
        finally:
            db.close()
        self.assertEqual(dups, [])
        self.assertEqual(uid_dups, [])
        moved = [(k, v, after.get(k)) for k, v in before.items()
                 if after.get(k) != v]
        self.assertEqual(moved[:10], [], "%d entries changed UID "
                         "((remote id, mailbox), before, after)"
                         % len(moved))
        self.stop_serve(proc, err_path)
        db = sqlite3.connect(self.replica, timeout=10)
        try:
            ok = db.execute("PRAGMA integrity_check").fetchall()
        finally:
            db.close()
        self.assertEqual(ok, [("ok",)])

    def test_3_push(self):
        api = api_messages(self.acct)
        total = len(api)
        self.login()
        proc, err_path = self.start_serve()
        self.wait_count(total, SYNC_WAIT, err_path)

        # A delivery.
        started = time.monotonic()
        self.srv.deliver(self.acct.email, (
            "From: late@example.org\r\nTo: %s\r\nSubject: late\r\n"
            "Message-ID: <late.%s@example.org>\r\n\r\nLate.\r\n"
            % (self.acct.email, os.urandom(4).hex())).encode())
        got = poll(lambda: replica_count(self.replica) == total + 1,
                   PUSH_WAIT, interval=0.05)
        took = time.monotonic() - started
        self.assertTrue(got, "the delivered message did not arrive in %d s "
                        "(replica holds %r):\n%s"
                        % (PUSH_WAIT, replica_count(self.replica),
                           self.err_text(err_path)[-4000:]))
        info("delivery reached the replica in %.2f s" % took)

        # A keyword change by another client.
        target = sorted(api)[len(api) // 2]
        r = self.acct.post("/api/v1/messages/update", {"update": {target: {
            "add_keywords": ["$answered", "sbtestkw"],
            "remove_keywords": ["$seen"]}}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["updated"], [target], r)
        want = sorted((set(api[target][0]) | {"$answered", "sbtestkw"})
                      - {"$seen"})
        started = time.monotonic()
        got = poll(lambda: replica_keywords(self.replica, target) == want,
                   PUSH_WAIT, interval=0.05)
        took = time.monotonic() - started
        self.assertTrue(got, "the keyword change did not arrive in %d s "
                        "(replica has %r, want %r):\n%s"
                        % (PUSH_WAIT, replica_keywords(self.replica, target),
                           want, self.err_text(err_path)[-4000:]))
        info("keyword change reached the replica in %.2f s" % took)
        self.check_matches_api(api_messages(self.acct))
        self.stop_serve(proc, err_path)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
