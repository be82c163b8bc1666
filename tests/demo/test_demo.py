#!/usr/bin/python3
"""saltbridge demo, run as a user would, on one folder, again and again.

    /usr/bin/python3 tests/demo/test_demo.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

`saltbridge demo --dir TMP --imap-port 0 --smtp-port 0` runs with no
terminal: the test waits for its ready line and reads the settings it
printed; logs in as bob with imaplib and the printed password and reads
the sample messages (the attachment too); sends as alice with smtplib
(STARTTLS, the printed certificate, the printed password) to bob and
sees it arrive in bob's INBOX; then sends SIGTERM: the demo exits 0, and
neither saltmaild nor serve (their pids are printed) nor anything with
TMP on its command line is left running. A second run on TMP reuses
it: the same bridge passwords, the samples once each, the mail sent in
the first run; it stops on SIGINT. A run with --no-wait, one with the
default folder under XDG_DATA_HOME, and the help and usage errors
follow. A demo whose stderr holds a sanitizer report fails. The last
line printed is "N passed, M failed".
"""
import email
import email.policy
import imaplib
import os
import queue
import re
import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
READY_WAIT = 120
STOP_WAIT = 60
MAIL_WAIT = 60
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
PASSWORD_RE = re.compile(r"^[a-z2-7]{4}(-[a-z2-7]{4}){5}$")

BOB_SAMPLES = ["Welcome to the Saltbridge demo", "Lunch on Friday?",
               "Q3 budget draft"]
ALICE_SAMPLES = ["Welcome to the Saltbridge demo", "Re: Offsite agenda"]
ATTACHMENT_LINE = b"travel,1800,3200,900\r\n"

_tmp = {}


def tmpdir():
    if "dir" not in _tmp:
        _tmp["dir"] = tempfile.mkdtemp(prefix="saltbridge-demo-test-")
    return _tmp["dir"]


def tearDownModule():
    if "dir" in _tmp and not harness.KEEP_DATA:
        shutil.rmtree(_tmp["dir"], ignore_errors=True)


def processes_mentioning(text):
    """The pids of the processes whose command line holds text."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(name))
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone but for its parent's wait.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Demo:
    """One `saltbridge demo` run: its process, what it printed, and the
    settings parsed from that."""

    def __init__(self, args, env=None, name="run"):
        self.err_path = os.path.join(tmpdir(), "%s.stderr" % name)
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [SALTBRIDGE, "demo"] + list(args), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self.err, env=env)
        self.lines = harness.read_lines(self.proc.stdout)
        self.out = []
        self.accounts = {}
        self.ready = self.read_until("saltbridge demo: ready")
        if self.ready:
            self.parse()

    def read_until(self, wanted, timeout=READY_WAIT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                raw = self.lines.get(timeout=left)
            except queue.Empty:
                return False
            if raw is None:
                return False
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            self.out.append(line)
            if line == wanted:
                return True

    def parse(self):
        account = None
        for i, line in enumerate(self.out):
            m = re.match(r"^saltbridge demo: (setting up|reusing) in (.+)$",
                         line)
            if m:
                self.first_run = m.group(1) == "setting up"
                self.dir = m.group(2)
            m = re.match(r"^saltbridge demo: saltmaild running, pid (\d+), "
                         r"(https://127\.0\.0\.1:\d+)$", line)
            if m:
                self.maild_pid = int(m.group(1))
                self.api_url = m.group(2)
            m = re.match(r"^saltbridge demo: saltbridge serve running, "
                         r"pid (\d+)$", line)
            if m:
                self.serve_pid = int(m.group(1))
            if re.match(r"^\S+@demo\.test$", line):
                account = self.accounts.setdefault(line, {})
                continue
            m = re.match(r"^  (IMAP|SMTP) +host (\S+), port (\d+), "
                         r"security STARTTLS$", line)
            if m and account is not None:
                account[m.group(1)] = (m.group(2), int(m.group(3)))
            m = re.match(r"^  (Username|Password) +(\S+)$", line)
            if m and account is not None:
                account[m.group(1)] = m.group(2)
            if line.startswith("The bridge's certificate"):
                self.cert = self.out[i + 1].strip()
                account = None

    def log(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM):
        """Sends sig, waits for the exit; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=STOP_WAIT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("the demo did not stop on %s:\n%s"
                                 % (sig, self.log()[-3000:]))
        self.read_until("saltbridge demo: stopped", 5)
        self.proc.stdout.close()
        self.err.close()
        return rc

    def context(self):
        return ssl.create_default_context(cafile=self.cert)

    def imap(self, email_):
        a = self.accounts[email_]
        host, port = a["IMAP"]
        m = imaplib.IMAP4(host, port, timeout=MAIL_WAIT)
        m.starttls(ssl_context=self.context())
        m.login(a["Username"], a["Password"])
        return m

    def inbox(self, email_):
        """The messages of the account's INBOX, parsed, in UID order."""
        m = self.imap(email_)
        try:
            typ, _ = m.select("INBOX", readonly=True)
            if typ != "OK":
                raise AssertionError("SELECT INBOX: %s" % typ)
            typ, data = m.uid("SEARCH", "ALL")
            out = []
            for uid in (data[0].split() if data and data[0] else []):
                typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
                for d in data:
                    if isinstance(d, tuple):
                        out.append(email.message_from_bytes(
                            d[1], policy=email.policy.default))
            return out
        finally:
            m.logout()


class DemoTest(unittest.TestCase):
    """The runs share one folder and follow each other (test_1, ...)."""

    folder = None
    first = None

    def assert_clean_log(self, demo, secrets=()):
        log = demo.log()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, log, log[-6000:])
        for secret in secrets:
            self.assertNotIn(secret, log)

    def assert_nothing_left(self, demo, pids):
        for pid in pids:
            self.assertFalse(alive(pid), "pid %d is still running" % pid)
        self.assertEqual(processes_mentioning(demo.dir), [],
                         "processes of the demo's folder are left")

    def assert_started(self, demo):
        self.assertTrue(demo.ready, "no ready line:\n%s\n%s"
                        % ("\n".join(demo.out), demo.log()[-4000:]))
        self.assertEqual(demo.dir, DemoTest.folder)
        self.assertEqual(sorted(demo.accounts),
                         ["alice@demo.test", "bob@demo.test"])
        for address, a in demo.accounts.items():
            self.assertEqual(a["Username"], address)
            self.assertRegex(a["Password"], PASSWORD_RE)
            self.assertEqual(a["IMAP"][0], "127.0.0.1")
            self.assertEqual(a["SMTP"][0], "127.0.0.1")
            # --imap-port 0 --smtp-port 0: never the usual ports.
            self.assertNotIn(a["IMAP"][1], (0, 1143))
            self.assertNotIn(a["SMTP"][1], (0, 1025))
        self.assertTrue(os.path.isfile(demo.cert), demo.cert)
        self.assertTrue(alive(demo.maild_pid))
        self.assertTrue(alive(demo.serve_pid))
        for pid in (demo.maild_pid, demo.serve_pid):
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                self.assertIn(DemoTest.folder.encode(), f.read())

    def subjects(self, messages):
        return sorted(str(m["Subject"]) for m in messages)

    def run_demo(self, name, *extra):
        args = ["--dir", DemoTest.folder, "--imap-port", "0",
                "--smtp-port", "0"] + list(extra)
        return Demo(args, name=name)

    def test_1_first_run(self):
        DemoTest.folder = os.path.join(tmpdir(), "demo")
        d = self.run_demo("first", "--saltmaild", SALTMAILD)
        try:
            self.assert_started(d)
            self.assertTrue(d.first_run)
            state = os.path.join(DemoTest.folder, "demo.state")
            self.assertEqual(stat.S_IMODE(os.stat(state).st_mode), 0o600)
            self.assertIn("saltbridge demo: delivered 5 sample messages",
                          d.out)

            # bob reads his samples, the attachment whole.
            inbox = d.inbox("bob@demo.test")
            self.assertEqual(self.subjects(inbox), sorted(BOB_SAMPLES))
            budget = [m for m in inbox
                      if str(m["Subject"]) == "Q3 budget draft"][0]
            parts = [p for p in budget.iter_attachments()]
            self.assertEqual(len(parts), 1)
            self.assertEqual(parts[0].get_filename(), "budget-q3.csv")
            self.assertIn(ATTACHMENT_LINE, parts[0].get_payload(decode=True))
            self.assertEqual(self.subjects(d.inbox("alice@demo.test")),
                             sorted(ALICE_SAMPLES))

            # alice writes to bob through the bridge's SMTP.
            subject = "Hello from the test %s" % uuid.uuid4().hex[:8]
            alice = d.accounts["alice@demo.test"]
            host, port = alice["SMTP"]
            body = ("From: Alice <alice@demo.test>\r\n"
                    "To: bob@demo.test\r\nSubject: %s\r\n"
                    "Message-ID: <%s@demo.test>\r\n\r\n"
                    "Sent through the demo.\r\n"
                    % (subject, uuid.uuid4().hex))
            with smtplib.SMTP(host, port, timeout=MAIL_WAIT) as s:
                s.starttls(context=d.context())
                s.login(alice["Username"], alice["Password"])
                self.assertEqual(s.sendmail("alice@demo.test",
                                            ["bob@demo.test"], body), {})

            def arrived():
                return [m for m in d.inbox("bob@demo.test")
                        if str(m["Subject"]) == subject]
            got = harness.poll(arrived, MAIL_WAIT, 0.3)
            self.assertEqual(len(got), 1, "bob never got %r:\n%s"
                             % (subject, d.log()[-3000:]))
            self.assertIn("Sent through the demo.", got[0].get_content())
            self.assertTrue(str(got[0]["X-Saltbridge-Signature"])
                            .startswith("valid; signer=alice@demo.test"))
            DemoTest.first = {"subject": subject,
                              "passwords": {k: v["Password"] for k, v
                                            in d.accounts.items()}}
        finally:
            rc = d.stop(signal.SIGTERM)
        self.assertEqual(rc, 0, d.log()[-4000:])
        self.assertIn("saltbridge demo: stopped", d.out)
        self.assert_nothing_left(d, [d.maild_pid, d.serve_pid])
        with open(os.path.join(DemoTest.folder, "demo.state")) as f:
            account_passwords = re.findall(r"^password \S+ (\S+)$", f.read(),
                                           re.M)
        self.assertEqual(len(account_passwords), 2)
        self.assert_clean_log(d, account_passwords)

    def test_2_second_run_reuses(self):
        if DemoTest.first is None:
            self.skipTest("the first run failed")
        extra = []
        # Without --saltmaild: found in the build tree, beside serve's.
        beside = os.path.join(os.path.dirname(SALTBRIDGE), "..", "server",
                              "saltmaild")
        if not (os.path.exists(beside) and os.path.samefile(beside,
                                                            SALTMAILD)):
            extra = ["--saltmaild", SALTMAILD]
        d = self.run_demo("second", *extra)
        try:
            self.assert_started(d)
            self.assertFalse(d.first_run)
            self.assertFalse([line for line in d.out
                              if "delivered" in line or "signed up" in line])
            self.assertEqual({k: v["Password"]
                              for k, v in d.accounts.items()},
                             DemoTest.first["passwords"])
            subjects = self.subjects(d.inbox("bob@demo.test"))
            self.assertEqual(subjects, sorted(
                BOB_SAMPLES + [DemoTest.first["subject"]]))
            self.assertEqual(self.subjects(d.inbox("alice@demo.test")),
                             sorted(ALICE_SAMPLES))
        finally:
            rc = d.stop(signal.SIGINT)
        self.assertEqual(rc, 0, d.log()[-4000:])
        self.assert_nothing_left(d, [d.maild_pid, d.serve_pid])
        self.assert_clean_log(d)

    def test_3_no_wait(self):
        if DemoTest.first is None:
            self.skipTest("the first run failed")
        d = self.run_demo("no-wait", "--saltmaild", SALTMAILD, "--no-wait")
        self.assert_started_and_gone(d)
        self.assertEqual({k: v["Password"] for k, v in d.accounts.items()},
                         DemoTest.first["passwords"])

    def assert_started_and_gone(self, d):
        if not d.ready:
            d.stop()
        self.assertTrue(d.ready, "\n".join(d.out) + d.log()[-4000:])
        try:
            rc = d.proc.wait(timeout=STOP_WAIT)
        finally:
            d.stop()
        self.assertEqual(rc, 0, d.log()[-4000:])
        self.assertIn("saltbridge demo: stopped", d.out)
        self.assert_nothing_left(d, [d.maild_pid, d.serve_pid])
        self.assert_clean_log(d)

    def test_4_default_folder(self):
        xdg = os.path.join(tmpdir(), "xdg")
        env = dict(os.environ, XDG_DATA_HOME=xdg)
        d = Demo(["--saltmaild", SALTMAILD, "--imap-port", "0",
                  "--smtp-port", "0", "--no-wait"], env=env, name="xdg")
        self.assert_started_and_gone(d)
        self.assertEqual(d.dir, os.path.join(xdg, "saltbridge-demo"))

    def test_5_usage(self):
        r = subprocess.run([SALTBRIDGE, "--help"], capture_output=True,
                           text=True, timeout=STOP_WAIT)
        self.assertEqual(r.returncode, 0)
        self.assertIn("demo [--dir DIR]", r.stdout)
        r = subprocess.run([SALTBRIDGE, "demo", "--help"],
                           capture_output=True, text=True, timeout=STOP_WAIT)
        self.assertEqual(r.returncode, 0)
        for word in ("--dir DIR", "--imap-port", "--smtp-port",
                     "--saltmaild", "--no-wait", "saltbridge demo: ready"):
            self.assertIn(word, r.stdout)
        for args in (["demo", "--imap-port", "x"], ["demo", "extra"],
                     ["--home", tmpdir(), "demo"], ["demo", "--bogus"]):
            r = subprocess.run([SALTBRIDGE] + args, capture_output=True,
                               text=True, timeout=STOP_WAIT)
            self.assertEqual(r.returncode, 2, args)
        # A saltmaild that fails: a clear error, nothing left behind.
        folder = os.path.join(tmpdir(), "broken")
        r = subprocess.run([SALTBRIDGE, "demo", "--dir", folder,
                            "--saltmaild", "/bin/false"],
                           capture_output=True, text=True, timeout=STOP_WAIT)
        self.assertEqual(r.returncode, 1)
        self.assertIn("saltmaild init exited 1", r.stderr)
        self.assertEqual(processes_mentioning(folder), [])

    def test_6_serve_fails(self):
        """serve cannot listen: the demo says so, stops saltmaild, and
        exits 1."""
        if DemoTest.first is None:
            self.skipTest("the first run failed")
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        try:
            d = Demo(["--dir", DemoTest.folder, "--saltmaild", SALTMAILD,
                      "--imap-port", str(taken.getsockname()[1]),
                      "--smtp-port", "0"], name="serve-fails")
            rc = d.stop()
        finally:
            taken.close()
        self.assertFalse(d.ready)
        self.assertEqual(rc, 1)
        self.assertIn("saltbridge serve exited 1 before it was ready",
                      d.log())
        pids = [int(m.group(1)) for m in
                (re.match(r"^saltbridge demo: saltmaild running, pid (\d+)",
                          line) for line in d.out) if m]
        self.assertEqual(len(pids), 1, d.out)
        self.assertFalse(alive(pids[0]))
        self.assertEqual(processes_mentioning(DemoTest.folder), [])
        self.assert_clean_log(d)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
