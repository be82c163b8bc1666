#!/usr/bin/python3
"""saltbridge serve against a real saltmaild.

    /usr/bin/python3 tests/bridge/test_serve.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

An account is signed up with real keys (tests/api/saltcrypto.py), filled
with `saltmaild import` from an mbox, and logged in with saltbridge; then
`saltbridge serve` must bring every message and body into the replica,
follow a new delivery, stop on SIGTERM with exit code 0, and leave no
plaintext in its home. A saltbridge or saltmaild stderr holding a
sanitizer report fails. The last line printed is "N passed, M failed".
"""
import os
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
from harness import poll  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
MESSAGES = 200
SYNC_WAIT = 60
DELIVER_WAIT = 10
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
# A word of every body, found nowhere else.
BODY_WORD = b"quixoticpelican"
_server = None


def server():
    global _server
    if _server is None:
        _server = harness.Server(SALTMAILD, ["--open-signup"], "serve")
        _server.start()
    return _server


def tearDownModule():
    if _server is not None:
        _server.stop()


def marker(tag, i):
    return "SBMARK%s%04dX%s" % (tag, i, os.urandom(4).hex())


def message(sender, to, subject, text, date):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
            "Message-ID: <%s@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
            % (sender, to, subject, date, os.urandom(8).hex(),
               text)).encode()


def mbox(messages):
    out = []
    for body in messages:
        out.append(b"From sender@example.org Mon Jan  1 00:00:00 2024\n")
        out.append(body.replace(b"\r\n", b"\n") + b"\n")
    return b"".join(out)


def replica_counts(path):
    """(messages, messages with their body cached) of the replica, or
    None while it cannot be read."""
    try:
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        return db.execute("SELECT count(*), coalesce(sum(body_cached), 0) "
                          "FROM messages WHERE remote_id IS NOT NULL"
                          ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()


class ServeTest(unittest.TestCase):
    def setUp(self):
        self.srv = server()
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-serve-")
        self.home = os.path.join(self.tmp, "home")
        self.proc = None

    def tearDown(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.err_file.close()
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_clean(self, what, err):
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err, "%s:\n%s" % (what, err))

    def run_cmd(self, cmd, data=b""):
        r = subprocess.run(cmd, input=data, capture_output=True,
                           timeout=RUN_TIMEOUT)
        r.err = r.stderr.decode("utf-8", "replace")
        self.assert_clean(" ".join(cmd[:2]), r.err)
        return r

    def bridge(self, *args, data=b""):
        return self.run_cmd([SALTBRIDGE, "--home", self.home] + list(args),
                            data)

    def start_serve(self):
        """Starts serve; returns (its line after the listeners' lines, or
        None, and its stderr path)."""
        err_path = os.path.join(self.tmp, "serve.stderr")
        self.err_file = open(err_path, "wb")
        self.proc, raw, _ = harness.start_bridge_serve(
            SALTBRIDGE, self.home, self.err_file, ["--imap-port", "0"],
            RUN_TIMEOUT)
        return raw, err_path

    def serve_err(self, path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def test_no_account(self):
        r = self.bridge("serve")
        self.assertEqual(r.returncode, 1, r.err)
        self.assertIn("no account is logged in", r.err)
        self.assertEqual(r.stdout, b"")

    def test_serve_syncs_everything(self):
        acct = harness.signup(self.srv, login=False)
        markers = []
        bodies = []
        for i in range(MESSAGES):
            subj, text = marker("S", i), marker("B", i)
            markers += [subj, text]
            bodies.append(message(
                "sender%d@example.org" % i, acct.email, "Subject " + subj,
                "Hello %s, %s.\n" % (text, BODY_WORD.decode()),
                time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                              time.gmtime(1700000000 + i * 60))))
        path = os.path.join(self.tmp, "in.mbox")
        with open(path, "wb") as f:
            f.write(mbox(bodies))
        r = self.run_cmd([SALTMAILD, "import", "--data", self.srv.data,
                          "--to", acct.email, path])
        self.assertEqual(r.returncode, 0, r.err)
        os.unlink(path)

        r = self.bridge(
            "login", "--api", "https://127.0.0.1:%d" % self.srv.port,
            "--ca-file", self.srv.cert, "--password-stdin", acct.email,
            data=acct.ident.password.encode() + b"\n")
        self.assertEqual(r.returncode, 0, r.err)

        raw, err_path = self.start_serve()
        self.assertEqual(raw, b"saltbridge: ready (1 accounts)\n",
                         self.serve_err(err_path))

        replica = os.path.join(self.home, "data", "replica.db")
        got = poll(lambda: (lambda c: c if c and c[0] == MESSAGES
                            and c[1] == MESSAGES else None)(
            replica_counts(replica)), SYNC_WAIT)
        self.assertTrue(got, "replica holds %r of %d messages:\n%s"
                        % (replica_counts(replica), MESSAGES,
                           self.serve_err(err_path)[-4000:]))

        subj, text = marker("S", MESSAGES), marker("B", MESSAGES)
        markers += [subj, text]
        self.srv.deliver(acct.email, message(
            "late@example.org", acct.email, "Subject " + subj,
            "Late %s, %s.\n" % (text, BODY_WORD.decode()),
            time.strftime("%a, %d %b %Y %H:%M:%S +0000")))
        # The message, and its body too.
        got = poll(lambda: (lambda c: c if c and c[0] == MESSAGES + 1
                            and c[1] == MESSAGES + 1 else None)(
            replica_counts(replica)), DELIVER_WAIT)
        self.assertTrue(got, "the delivered message did not arrive: %r\n%s"
                        % (replica_counts(replica),
                           self.serve_err(err_path)[-4000:]))

        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.fail("serve did not stop on SIGTERM")
        err = self.serve_err(err_path)
        self.assert_clean("saltbridge serve", err)
        self.assertEqual(rc, 0, err)
        self.assertIn("ready", err)
        self.assertNotIn(acct.ident.password, err)

        # No plaintext anywhere in the home.
        needles = [m.encode() for m in markers] + [BODY_WORD]
        files = [os.path.join(d, n) for d, _, names in os.walk(self.home)
                 for n in names]
        self.assertTrue(any(f.endswith("replica.db") for f in files))
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            for n in needles:
                self.assertNotIn(n, data, "%r in %s" % (n, f))


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
