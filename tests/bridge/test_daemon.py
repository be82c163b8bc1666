#!/usr/bin/python3
"""saltbridge as a daemon, against a real saltmaild: settings, serve
reading them and reloading them on SIGHUP, one serve per home, status,
and the listeners' certificate.

    /usr/bin/python3 tests/bridge/test_daemon.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

Each test has its own --home in a temporary folder. A saltbridge run
whose stderr holds a sanitizer report fails its test. The last line
printed is "N passed, M failed".
"""
import datetime
import json
import os
import pty
import queue
import re
import select
import shutil
import signal
import smtplib
import socket
import sqlite3
import ssl
import stat
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
# Liveness bounds: what must happen, at the latest.
LINE_WAIT = 30
SYNC_WAIT = 60
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
LISTEN_RE = re.compile(
    r"^saltbridge: (IMAP|SMTP) on (\S+):(\d+) \((STARTTLS|TLS)\)$")
KEYS = ("imap-port", "imaps-port", "smtp-port", "smtps-port", "listen",
        "log-level")
_server = None


def server():
    global _server
    if _server is None:
        _server = harness.Server(SALTMAILD, ["--open-signup"], "daemon")
        _server.start()
    return _server


def tearDownModule():
    if _server is not None:
        _server.stop()


def free_port():
    """A port nothing listens on now (the kernel's pick, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n):
    ports = set()
    while len(ports) < n:
        ports.add(free_port())
    return sorted(ports)


def imap_greeting(port, timeout=10):
    """The first line a plain connection to port gets."""
    with socket.create_connection(("127.0.0.1", port), timeout) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 5).close()
    except ConnectionRefusedError:
        return True
    return False


def read_to_end(sock, timeout=LINE_WAIT):
    """Everything sock gets until the peer closes it."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk


def message(to, subject):
    return ("From: sender@example.org\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            "Message-ID: <%s@example.org>\r\n\r\nHello.\r\n"
            % (to, subject, os.urandom(8).hex())).encode()


def openssl(*args, data=None):
    r = subprocess.run(["openssl"] + list(args), input=data,
                       capture_output=True, timeout=RUN_TIMEOUT)
    return r


def cert_expires_within(path, days):
    """Whether the certificate expires within that many days (openssl
    x509 -checkend)."""
    r = openssl("x509", "-in", path, "-noout", "-checkend",
                str(days * 86400))
    assert r.returncode in (0, 1), r.stderr
    return r.returncode == 1


class Serve:
    """A `saltbridge serve` run: its stdout lines in a queue, its stderr
    in a file."""

    def __init__(self, test, args, log_level="info"):
        self.err_path = os.path.join(test.tmp, "serve-%d.stderr"
                                     % len(test.serves))
        self.err_file = open(self.err_path, "wb")
        cmd = [SALTBRIDGE, "--home", test.home]
        if log_level is not None:
            cmd += ["--log-level", log_level]
        self.proc = subprocess.Popen(
            cmd + ["serve"] + list(args), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self.err_file)
        self.lines = harness.read_lines(self.proc.stdout)
        self.listeners = {}

    def line(self):
        try:
            raw = self.lines.get(timeout=LINE_WAIT)
        except queue.Empty:
            raise AssertionError("serve printed nothing in %d s:\n%s"
                                 % (LINE_WAIT, self.err()[-3000:]))
        if raw is None:
            raise AssertionError("serve ended:\n%s" % self.err()[-3000:])
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def until(self, last):
        """Reads lines up to `last`; the listeners' lines among them are
        kept in self.listeners: {(IMAP|SMTP, STARTTLS|TLS): (host,
        port)}. Returns the listeners printed on the way."""
        seen = {}
        while True:
            line = self.line()
            if line.startswith(last):
                self.listeners.update(seen)
                return seen
            m = LISTEN_RE.match(line)
            if m is None:
                raise AssertionError("unexpected line %r" % line)
            seen[(m.group(1), m.group(4))] = (m.group(2), int(m.group(3)))

    def ready(self):
        return self.until("saltbridge: ready")

    def port(self, proto, security="STARTTLS"):
        return self.listeners[(proto, security)][1]

    def err(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_err(self, text, timeout=LINE_WAIT):
        return poll(lambda: text in self.err(), timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(RUN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.err_file.close()
        return self.proc.returncode


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-daemon-")
        self.home = os.path.join(self.tmp, "home")
        self.serves = []

    def tearDown(self):
        for s in self.serves:
            s.stop()
            err = s.err()
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, err, "serve:\n%s" % err)
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def bridge(self, *args, home=True, timeout=RUN_TIMEOUT, preexec=None,
               wrap=()):
        cmd = list(wrap) + [SALTBRIDGE]
        if home:
            cmd += ["--home", self.home]
        r = subprocess.run(cmd + list(args), capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL,
                           preexec_fn=preexec)
        r.out = r.stdout.decode("utf-8", "replace")
        r.err = r.stderr.decode("utf-8", "replace")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, r.err, "saltbridge %s:\n%s"
                             % (" ".join(args), r.err))
        return r

    def ok(self, *args):
        r = self.bridge(*args)
        self.assertEqual(r.returncode, 0, "%s: %s" % (args, r.err))
        return r

    def login(self):
        srv = server()
        acct = harness.signup(srv, login=False)
        r = subprocess.run(
            [SALTBRIDGE, "--home", self.home, "login", "--api",
             "https://127.0.0.1:%d" % srv.port, "--ca-file", srv.cert,
             "--password-stdin", acct.email],
            input=acct.ident.password.encode() + b"\n",
            capture_output=True, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return acct

    def serve(self, *args, log_level="info"):
        s = Serve(self, args, log_level)
        self.serves.append(s)
        return s

    def settings_file(self):
        return os.path.join(self.home, "config", "settings")

    def settings(self):
        """{key: (value, given)} from `saltbridge set`."""
        r = self.ok("set")
        out = {}
        for line in r.out.splitlines():
            key, rest = [x.strip() for x in line.split("=", 1)]
            given = not rest.endswith(" (default)")
            out[key] = (rest.replace(" (default)", ""), given)
        return out

    def status(self):
        r = self.ok("status", "--json")
        return json.loads(r.out)


class TestSettings(DaemonTest):
    def test_defaults_listed_and_nothing_made(self):
        got = self.settings()
        self.assertEqual(list(got), list(KEYS))
        self.assertEqual(got, {"imap-port": ("1143", False),
                               "imaps-port": ("off", False),
                               "smtp-port": ("1025", False),
                               "smtps-port": ("off", False),
                               "listen": ("127.0.0.1", False),
                               "log-level": ("warn", False)})
        self.assertFalse(os.path.exists(self.home))
        r = self.ok("set", "imaps-port")
        self.assertEqual(r.out, "imaps-port = off (default)\n")

    def test_set_and_unset(self):
        r = self.ok("set", "imap-port", "2143")
        self.assertEqual(r.out, "imap-port  = 2143\n")
        self.assertEqual(stat.S_IMODE(os.stat(self.settings_file()).st_mode),
                         0o600)
        self.ok("set", "listen", "::1")
        self.ok("set", "log-level", "INFO")
        self.ok("set", "smtps-port", "0")
        got = self.settings()
        self.assertEqual(got["imap-port"], ("2143", True))
        self.assertEqual(got["listen"], ("::1", True))
        self.assertEqual(got["log-level"], ("info", True))
        self.assertEqual(got["smtps-port"], ("0", True))
        self.assertEqual(got["smtp-port"], ("1025", False))
        with open(self.settings_file()) as f:
            text = f.read()
        self.assertIn("imap-port = 2143\n", text)
        self.assertIn("log-level = info\n", text)
        # A comment of one's own stays; a changed line changes in place.
        with open(self.settings_file(), "a") as f:
            f.write("# mine\n")
        self.ok("set", "imap-port", "3143")
        with open(self.settings_file()) as f:
            text = f.read()
        self.assertIn("imap-port = 3143\n", text)
        self.assertNotIn("2143", text)
        self.assertTrue(text.endswith("# mine\n"))
        # Back to the default: unset, or set --reset.
        r = self.ok("unset", "imap-port")
        self.assertEqual(r.out, "imap-port  = 1143 (default)\n")
        r = self.ok("set", "listen", "--reset")
        self.assertEqual(r.out, "listen     = 127.0.0.1 (default)\n")
        with open(self.settings_file()) as f:
            text = f.read()
        self.assertNotIn("imap-port", text)
        self.assertNotIn("listen", text)
        self.assertIn("# mine\n", text)
        self.assertEqual(self.settings()["imap-port"], ("1143", False))

    def test_values_checked(self):
        self.ok("set", "imap-port", "2143")
        with open(self.settings_file(), "rb") as f:
            before = f.read()
        for key, value, why in (
                ("imap-port", "65536", "is not a port"),
                ("smtp-port", "+1", "is not a port"),
                ("smtp-port", "25x", "is not a port"),
                ("imaps-port", "on", "is not a port"),
                ("listen", "localhost", "is not an IP address"),
                ("listen", "127.0.0.1:1143", "is not an IP address"),
                ("log-level", "loud", "is not a level"),
                ("smtp-port", "2143", "imap-port and smtp-port are both "
                                      "2143")):
            r = self.bridge("set", key, value)
            self.assertEqual(r.returncode, 1, (key, value))
            self.assertIn(why, r.err, (key, value))
            self.assertTrue(r.err.startswith("saltbridge: "))
            with open(self.settings_file(), "rb") as f:
                self.assertEqual(f.read(), before)
        # An address other machines reach needs saying so.
        r = self.bridge("set", "listen", "0.0.0.0")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not a loopback address", r.err)
        self.assertIn("--allow-remote", r.err)
        r = self.ok("set", "listen", "0.0.0.0", "--allow-remote")
        self.assertEqual(self.settings()["listen"], ("0.0.0.0", True))
        self.ok("set", "listen", "127.0.0.2")
        # Mistakes of usage.
        for args in (["set", "nonsense", "1"], ["set", "imap_port"],
                     ["unset"], ["unset", "a", "b"], ["set", "--reset"],
                     ["set", "imap-port", "1", "2"],
                     ["set", "imap-port", "1", "--reset"]):
            r = self.bridge(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.err, args)
        r = self.bridge("set", "nonsense", "1")
        self.assertIn("unknown setting 'nonsense'", r.err)

    def test_bad_file_named_with_its_line(self):
        os.makedirs(os.path.dirname(self.settings_file()))
        with open(self.settings_file(), "w") as f:
            f.write("# mine\nimap-port = 2143\nimap-port 1\n")
        for args in (["set"], ["set", "smtp-port", "2025"], ["serve"],
                     ["info"], ["accounts"]):
            r = self.bridge(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(self.settings_file(), r.err, args)
            self.assertIn("line 3: 'imap-port 1' is not KEY = VALUE",
                          r.err, args)
        r = self.bridge("set", "smtp-port", "2025")
        self.assertIn("fix the file first", r.err)

    def test_info_shows_the_ports(self):
        self.login()
        self.ok("set", "imap-port", "2143")
        self.ok("set", "smtp-port", "off")
        self.ok("set", "smtps-port", "1465")
        info = json.loads(self.ok("info", "--json").out)["accounts"][0]
        self.assertEqual(info["imap"], {"host": "127.0.0.1", "port": 2143,
                                        "security": "starttls"})
        self.assertEqual(info["smtp"], {"host": "127.0.0.1", "port": 1465,
                                        "security": "tls"})
        out = self.ok("info").out
        self.assertIn("host 127.0.0.1, port 2143, security STARTTLS", out)
        self.assertIn("host 127.0.0.1, port 1465, security SSL/TLS", out)
        self.assertIn("127.0.0.1:2143 STARTTLS", self.ok("accounts").out)
        # Listening everywhere: clients here still come on loopback.
        self.ok("set", "listen", "::", "--allow-remote")
        self.ok("set", "imap-port", "off")
        info = json.loads(self.ok("info", "--json").out)["accounts"][0]
        self.assertIsNone(info["imap"])
        self.assertEqual(info["smtp"]["host"], "::1")
        self.assertIn("IMAP         off", self.ok("info").out)
        self.assertIn("[::1]:1465 SSL/TLS", self.ok("accounts").out)

    def test_usage(self):
        for args in (["set", "--help"], ["unset", "--help"],
                     ["status", "--help"], ["cert", "--help"]):
            r = self.ok(*args)
            self.assertIn("usage: saltbridge", r.out)
        out = self.ok("--help").out
        for cmd in ("  set ", "  unset ", "  status ", "  cert "):
            self.assertIn(cmd, out)
        for args in (["status", "extra"], ["cert"], ["cert", "show", "x"],
                     ["cert", "export"], ["cert", "bogus"],
                     ["serve", "--imap-port", "x"],
                     ["serve", "--listen", "nowhere"]):
            r = self.bridge(*args)
            self.assertEqual(r.returncode, 2, args)


class TestServe(DaemonTest):
    def test_serve_takes_its_settings(self):
        self.login()
        imap, imaps, smtp = free_ports(3)
        self.ok("set", "imap-port", str(imap))
        self.ok("set", "imaps-port", str(imaps))
        self.ok("set", "smtp-port", str(smtp))
        s = self.serve()
        got = s.ready()
        self.assertEqual(got, {("IMAP", "STARTTLS"): ("127.0.0.1", imap),
                               ("IMAP", "TLS"): ("127.0.0.1", imaps),
                               ("SMTP", "STARTTLS"): ("127.0.0.1", smtp)})
        self.assertTrue(imap_greeting(imap).startswith(b"* OK"))
        self.assertEqual(s.stop(), 0)
        # Options on the command line win.
        s = self.serve("--imap-port", "0", "--imaps-port", "off")
        got = s.ready()
        self.assertNotEqual(s.port("IMAP"), imap)
        self.assertNotIn(("IMAP", "TLS"), got)
        self.assertEqual(s.port("SMTP"), smtp)
        self.assertEqual(s.stop(), 0)
        # Another address; one others reach is warned about.
        s = self.serve("--listen", "::1", "--imaps-port", "off")
        got = s.ready()
        self.assertEqual(got[("IMAP", "STARTTLS")], ("[::1]", imap))
        with socket.create_connection(("::1", imap), 10) as c:
            self.assertTrue(c.recv(100).startswith(b"* OK"))
        self.assertEqual(s.stop(), 0)
        self.assertNotIn("not a loopback address", s.err())
        s = self.serve("--listen", "0.0.0.0", "--imaps-port", "off",
                       log_level=None)
        s.ready()
        self.assertTrue(imap_greeting(imap).startswith(b"* OK"))
        self.assertEqual(s.stop(), 0)
        self.assertIn("warn: the listeners bind to 0.0.0.0, not a "
                      "loopback address", s.err())

    def test_log_level_from_settings(self):
        self.login()
        self.ok("set", "imap-port", "0")
        self.ok("set", "smtp-port", "0")
        # warn, the default: no info line.
        s = self.serve(log_level=None)
        s.ready()
        self.assertEqual(s.stop(), 0)
        self.assertNotIn(" info: ", s.err())
        self.ok("set", "log-level", "info")
        s = self.serve(log_level=None)
        s.ready()
        self.assertEqual(s.stop(), 0)
        self.assertIn(" info: ready", s.err())
        # --log-level wins.
        s = self.serve(log_level="error")
        s.ready()
        self.assertEqual(s.stop(), 0)
        self.assertNotIn(" info: ", s.err())

    def test_sighup_rebinds(self):
        self.login()
        imap1, imap2, smtp1, smtp2 = free_ports(4)
        self.ok("set", "imap-port", str(imap1))
        self.ok("set", "smtp-port", str(smtp1))
        s = self.serve(log_level=None)
        s.ready()
        # A session on each listener.
        old_imap = socket.create_connection(("127.0.0.1", imap1), 10)
        old_imap.settimeout(10)
        self.assertTrue(old_imap.recv(4096).startswith(b"* OK"))
        client = smtplib.SMTP("127.0.0.1", smtp1, timeout=10)
        self.assertEqual(client.ehlo()[0], 250)

        # IMAP moves: its session is told BYE, SMTP's goes on.
        self.ok("set", "imap-port", str(imap2))
        s.proc.send_signal(signal.SIGHUP)
        got = s.until("saltbridge: reloaded")
        self.assertEqual(got, {("IMAP", "STARTTLS"): ("127.0.0.1", imap2)})
        data = read_to_end(old_imap)
        old_imap.close()
        self.assertIn(b"* BYE", data)
        self.assertTrue(refused(imap1))
        self.assertTrue(imap_greeting(imap2).startswith(b"* OK"))
        self.assertEqual(client.noop()[0], 250)

        # The log level, at once; nothing rebound.
        self.ok("set", "log-level", "info")
        s.proc.send_signal(signal.SIGHUP)
        self.assertEqual(s.until("saltbridge: reloaded"), {})
        self.assertIn("info: settings reloaded (log level info)", s.err())
        self.assertEqual(client.noop()[0], 250)

        # SMTP moves: its session gets 421.
        self.ok("set", "smtp-port", str(smtp2))
        s.proc.send_signal(signal.SIGHUP)
        got = s.until("saltbridge: reloaded")
        self.assertEqual(got, {("SMTP", "STARTTLS"): ("127.0.0.1", smtp2)})
        try:
            code = client.noop()[0]
        except smtplib.SMTPServerDisconnected:
            code = 421
        self.assertEqual(code, 421)
        client.close()
        self.assertTrue(refused(smtp1))
        client = smtplib.SMTP("127.0.0.1", smtp2, timeout=10)
        self.assertEqual(client.noop()[0], 250)
        client.quit()

        # A file with a mistake: logged, nothing changes.
        with open(self.settings_file(), "a") as f:
            f.write("imap-port = %d\n" % imap1)
        s.proc.send_signal(signal.SIGHUP)
        self.assertTrue(s.wait_err("cannot reload the settings"), s.err())
        self.assertIn("line", s.err())
        self.assertIn("imap-port again", s.err())
        self.assertTrue(imap_greeting(imap2).startswith(b"* OK"))
        self.assertTrue(refused(imap1))

        # A port taken by someone else: the old listener is kept.
        with open(self.settings_file()) as f:
            lines = f.readlines()
        with open(self.settings_file(), "w") as f:
            f.writelines(lines[:-1])
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = taken.getsockname()[1]
            self.ok("set", "imap-port", str(busy))
            self.ok("set", "smtp-port", str(smtp2))
            s.proc.send_signal(signal.SIGHUP)
            got = s.until("saltbridge: reloaded")
            self.assertEqual(got, {("IMAP", "STARTTLS"):
                                   ("127.0.0.1", imap2)})
            self.assertIn("the old ones are kept", s.err())
            self.assertTrue(imap_greeting(imap2).startswith(b"* OK"))
        self.assertEqual(s.stop(), 0)

    def test_terminal_hangup_stops(self):
        """A SIGHUP from kill reloads; the one of a terminal that hangs
        up stops serve, as it always did."""
        self.login()
        self.ok("set", "imap-port", "0")
        self.ok("set", "smtp-port", "0")
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(SALTBRIDGE, [SALTBRIDGE, "--home", self.home,
                                      "serve"])
            finally:
                os._exit(127)
        out = b""
        try:
            deadline = time.monotonic() + LINE_WAIT
            while b"saltbridge: ready" not in out:
                self.assertLess(time.monotonic(), deadline, out)
                ready, _, _ = select.select([fd], [], [], 1)
                if ready:
                    out += os.read(fd, 4096)
            os.kill(pid, signal.SIGHUP)
            while b"saltbridge: reloaded" not in out:
                self.assertLess(time.monotonic(), deadline, out)
                ready, _, _ = select.select([fd], [], [], 1)
                if ready:
                    out += os.read(fd, 4096)
        finally:
            os.close(fd)
        status = None
        deadline = time.monotonic() + RUN_TIMEOUT
        while status is None and time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done == 0:
                status = None
                time.sleep(0.1)
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            self.fail("serve did not stop when its terminal hung up")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark.encode(), out)

    def test_one_serve_per_home(self):
        self.login()
        self.ok("set", "imap-port", "0")
        self.ok("set", "smtp-port", "0")
        first = self.serve()
        first.ready()
        r = self.bridge("serve", timeout=LINE_WAIT)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.out, "")
        self.assertIn("another saltbridge serve runs on this home (pid %d)"
                      % first.proc.pid, r.err)
        # The lock file says who runs, and on which listeners.
        with open(os.path.join(self.home, "data", "serve.lock")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], str(first.proc.pid))
        self.assertIn("imap 127.0.0.1 %d starttls" % first.port("IMAP"),
                      lines)
        # Commands that need the vault say why they cannot have it.
        r = self.bridge("info", timeout=LINE_WAIT)
        self.assertEqual(r.returncode, 1)
        self.assertIn("saltbridge serve runs on this home (pid %d)"
                      % first.proc.pid, r.err)
        self.assertIn("stop it first", r.err)
        # The first goes on.
        self.assertTrue(imap_greeting(first.port("IMAP")).startswith(b"* OK"))
        self.assertEqual(first.stop(), 0)
        # Once it stopped, another may start.
        again = self.serve()
        again.ready()
        self.assertEqual(again.stop(), 0)


class TestStatus(DaemonTest):
    def test_nothing_yet(self):
        st = self.status()
        self.assertEqual(st, {"serve": {"running": False},
                              "certificate": None, "accounts": []})
        r = self.ok("status")
        self.assertIn("not running", r.out)
        self.assertIn("No account", r.out)
        self.assertFalse(os.path.exists(self.home))

    def test_while_serve_runs_and_after(self):
        acct = self.login()
        srv = server()
        for i in range(3):
            srv.deliver(acct.email, message(acct.email, "m%d" % i))
        st = self.status()
        self.assertEqual(st["serve"], {"running": False})
        a = st["accounts"][0]
        self.assertEqual(a["email"], acct.email)
        self.assertFalse(a["sync"]["started"])
        self.assertEqual(a["messages"], 0)
        self.assertIn("sync      not started yet", self.ok("status").out)

        self.ok("set", "imap-port", "0")
        self.ok("set", "smtp-port", "0")
        s = self.serve()
        s.ready()

        def synced():
            st = self.status()
            a = st["accounts"][0]
            ok = (a["sync"]["initial_done"] and
                  a["sync"]["changes_read_at"] is not None and
                  a["bodies"]["stored"] == 3)
            return st if ok else None
        st = poll(synced, SYNC_WAIT)
        self.assertTrue(st, "status: %r\n%s" % (self.status(), s.err()))
        self.assertEqual(st["serve"]["pid"], s.proc.pid)
        self.assertIn({"protocol": "imap", "address": "127.0.0.1",
                       "port": s.port("IMAP"), "security": "starttls"},
                      st["serve"]["listeners"])
        self.assertIn({"protocol": "smtp", "address": "127.0.0.1",
                       "port": s.port("SMTP"), "security": "starttls"},
                      st["serve"]["listeners"])
        a = st["accounts"][0]
        self.assertEqual(a["messages"], 3)
        self.assertEqual(a["bodies"], {"stored": 3, "missing": 0,
                                       "missing_bytes": 0})
        self.assertEqual(a["ops"], {"queued": 0, "failed": 0})
        self.assertEqual(a["outbox"], {"queued": 0, "failed": 0})
        self.assertFalse(a["sync"]["resync"])
        self.assertRegex(a["sync"]["changes_read_at"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertTrue(os.path.samefile(st["certificate"]["path"],
                                         os.path.join(self.home, "data",
                                                      "tls", "cert.pem")))
        self.assertRegex(st["certificate"]["sha256"],
                         r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
        out = self.ok("status").out
        for text in ("running (pid %d)" % s.proc.pid,
                     "IMAP on 127.0.0.1:%d (STARTTLS)" % s.port("IMAP"),
                     acct.email, "initial sync done; changes last read",
                     "messages  3; bodies 3 stored, 0 missing",
                     "changes   0 waiting for the service, 0 failed",
                     "outbox    0 queued, 0 failed", "certificate  "):
            self.assertIn(text, out)
        self.assertEqual(s.stop(), 0)

        # Stopped: what the replica holds, and failures in it.
        db = sqlite3.connect(os.path.join(self.home, "data", "replica.db"))
        with db:
            acc = db.execute("SELECT id FROM accounts").fetchone()[0]
            db.execute("INSERT INTO op_queue(account, kind, payload,"
                       " idempotency_key, created_at, attempts, next_at,"
                       " failed) VALUES(?, 'update', '{}', 'k1', 1, 20, 1,"
                       " 1)", (acc,))
            db.execute("INSERT INTO op_queue(account, kind, payload,"
                       " idempotency_key, created_at, attempts, next_at)"
                       " VALUES(?, 'update', '{}', 'k2', 1, 0, 1)", (acc,))
            db.execute("INSERT INTO outbox(account, queue_id, sender,"
                       " recipients, sealed_key, size, state, created_at,"
                       " attempts, next_at) VALUES(?, 'Q1', 'a', 'b', x'00',"
                       " 0, 2, 1, 5, 1)", (acc,))
        db.close()
        st = self.status()
        self.assertEqual(st["serve"], {"running": False})
        a = st["accounts"][0]
        self.assertEqual(a["ops"], {"queued": 1, "failed": 1})
        self.assertEqual(a["outbox"], {"queued": 0, "failed": 1})
        out = self.ok("status").out
        self.assertIn("serve        not running", out)
        self.assertIn("changes   1 waiting for the service, 1 failed", out)
        self.assertIn("outbox    0 queued, 1 failed", out)


class TestCert(DaemonTest):
    def cert_path(self):
        return os.path.join(self.home, "data", "tls", "cert.pem")

    def test_export(self):
        out = os.path.join(self.tmp, "bridge.pem")
        r = self.ok("cert", "export", out)
        self.assertIn(out, r.out)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o644)
        with open(out, "rb") as f:
            pem = f.read()
        self.assertTrue(pem.startswith(b"-----BEGIN CERTIFICATE-----\n"))
        self.assertNotIn(b"PRIVATE KEY", pem)
        r = openssl("x509", "-in", out, "-noout", "-subject", "-ext",
                    "subjectAltName,basicConstraints")
        self.assertEqual(r.returncode, 0, r.stderr)
        text = r.stdout.decode()
        self.assertIn("CN = localhost", text)
        self.assertIn("IP Address:127.0.0.1", text)
        self.assertIn("CA:FALSE", text)
        # To stdout; the same certificate, and show agrees.
        r = self.ok("cert", "export", "-")
        self.assertEqual(r.stdout, pem)
        fp = openssl("x509", "-in", out, "-noout", "-fingerprint",
                     "-sha256").stdout.decode().strip().split("=", 1)[1]
        show = self.ok("cert", "show").out
        self.assertIn(self.cert_path(), show)
        self.assertIn(fp, show)
        # What serve presents is what was exported.
        self.login()
        port = free_port()
        s = self.serve("--imap-port", "off", "--imaps-port", str(port),
                       "--smtp-port", "0")
        s.ready()
        served = ssl.get_server_certificate(("127.0.0.1", port))
        self.assertEqual(ssl.PEM_cert_to_DER_cert(served),
                         ssl.PEM_cert_to_DER_cert(pem.decode()))
        # A client that trusts the export verifies the listener.
        ctx = ssl.create_default_context(cafile=out)
        with socket.create_connection(("127.0.0.1", port), 10) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                self.assertTrue(tls.recv(100).startswith(b"* OK"))
        self.assertEqual(s.stop(), 0)
        # A file that cannot be written.
        r = self.bridge("cert", "export", os.path.join(self.tmp, "no", "x"))
        self.assertEqual(r.returncode, 1)

    def test_install_needs_root(self):
        self.ok("cert", "export", os.path.join(self.tmp, "x.pem"))
        wrap = ()
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                self.skipTest("running as root, without setpriv")
            wrap = ("setpriv", "--reuid=65534", "--regid=65534",
                    "--clear-groups")
        r = self.bridge("cert", "install", wrap=wrap)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs root", r.err)
        self.assertIn(self.cert_path(), r.err)
        self.assertIn("nothing was installed", r.err)

    def test_install_as_root(self):
        """In a mount namespace of its own, over empty folders: the
        system's own trust store is never touched."""
        if os.geteuid() != 0 or shutil.which("unshare") is None or \
                not os.path.exists("/usr/sbin/update-ca-certificates"):
            self.skipTest("needs root, unshare and update-ca-certificates")
        probe = subprocess.run(["unshare", "-m", "true"],
                               capture_output=True)
        if probe.returncode != 0:
            self.skipTest("cannot make a mount namespace here")
        self.login()
        port = free_port()
        s = self.serve("--imap-port", "off", "--imaps-port", str(port),
                       "--smtp-port", "0")
        s.ready()
        check = ("import socket, ssl\n"
                 "ctx = ssl.create_default_context()\n"
                 "raw = socket.create_connection(('127.0.0.1', %d), 10)\n"
                 "tls = ctx.wrap_socket(raw, server_hostname='127.0.0.1')\n"
                 "print(tls.recv(100).decode().strip())\n" % port)
        script = (
            "set -e\n"
            "mount -t tmpfs none /usr/local/share/ca-certificates\n"
            "mount -t tmpfs none /etc/ssl/certs\n"
            "if python3 -c \"$CHECK\" 2>/dev/null; then\n"
            "  echo trusted-before; exit 1; fi\n"
            "\"$SB\" --home \"$HOME_DIR\" cert install\n"
            "ls /usr/local/share/ca-certificates\n"
            "python3 -c \"$CHECK\"\n")
        env = dict(os.environ, CHECK=check, SB=SALTBRIDGE,
                   HOME_DIR=self.home)
        r = subprocess.run(["unshare", "-m", "--propagation", "private",
                            "sh", "-c", script], env=env,
                           capture_output=True, timeout=RUN_TIMEOUT * 2)
        out = r.stdout.decode("utf-8", "replace")
        err = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, out + err)
        self.assertIn("Installed the certificate as "
                      "/usr/local/share/ca-certificates/saltbridge.crt", out)
        self.assertIn("saltbridge.crt", out)
        self.assertIn("* OK", out)
        self.assertEqual(s.stop(), 0)

    def test_renewed_at_start(self):
        self.login()
        tls = os.path.join(self.home, "data", "tls")
        os.makedirs(tls, mode=0o700)
        cert, key = self.cert_path(), os.path.join(tls, "key.pem")
        # Fit in every way but its expiry: tomorrow.
        r = openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
                    "-addext", "basicConstraints=critical,CA:FALSE")
        self.assertEqual(r.returncode, 0, r.stderr)
        os.chmod(key, 0o600)
        with open(cert, "rb") as f:
            old = f.read()
        with open(key, "rb") as f:
            old_key = f.read()
        self.assertTrue(cert_expires_within(cert, 2))
        expires = datetime.datetime.strptime(
            self.status()["certificate"]["expires"], "%Y-%m-%dT%H:%M:%SZ")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(expires - now.replace(tzinfo=None),
                        datetime.timedelta(days=2))
        port = free_port()
        s = self.serve("--imap-port", "off", "--imaps-port", str(port),
                       "--smtp-port", "0", log_level=None)
        s.ready()
        err = s.err()
        self.assertIn("warn: made a new certificate for the listeners", err)
        self.assertIn("the old one expires", err)
        with open(cert, "rb") as f:
            new = f.read()
        with open(key, "rb") as f:
            self.assertNotEqual(f.read(), old_key)
        self.assertNotEqual(new, old)
        self.assertFalse(cert_expires_within(cert, 800))
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        served = ssl.get_server_certificate(("127.0.0.1", port))
        self.assertEqual(ssl.PEM_cert_to_DER_cert(served),
                         ssl.PEM_cert_to_DER_cert(new.decode()))
        self.assertEqual(s.stop(), 0)
        # A fit certificate is kept at the next start.
        s = self.serve("--imap-port", "0", "--smtp-port", "0",
                       log_level=None)
        s.ready()
        self.assertEqual(s.stop(), 0)
        self.assertNotIn("certificate", s.err())
        with open(cert, "rb") as f:
            self.assertEqual(f.read(), new)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
