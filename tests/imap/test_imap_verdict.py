#!/usr/bin/python3
"""The signature header and the structure cache, through saltbridge serve.

    /usr/bin/python3 tests/imap/test_imap_verdict.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

Alice is an account of a real saltmaild that sends through the API's
submissions, sealing and signing with tests/api/saltcrypto.py; Bob reads
his INBOX through `saltbridge serve` (at the debug log level) with
imaplib. Bob's FETCH of each message must show the verdict first in
BODY[HEADER] and BODY[], with RFC822.SIZE the length of BODY[]: valid;
valid with Bob not a signed recipient (Bcc); invalid for another signing
key and for a From that is not the signer; signer-key-unknown for a
sender with no account. Mail delivered unsigned by `saltmaild deliver`,
and Bob's own signed APPEND, come back byte for byte. A message whose
summary's header section is not its body's is not served. BODYSTRUCTURE
and BODY come back the same the second time without the message read
(serve's debug log counts the reads). After serve restarts with
saltmaild stopped, every message is served with the same bytes (the
verdicts are fixed in the replica); a message whose verdict is not fixed
yet is then refused (NO [UNAVAILABLE]) and served once saltmaild is back.
The last line printed is "N passed, M failed".
"""
import imaplib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402
import saltcrypto as sc  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
WAIT = 30
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
FIELD = b"X-Saltbridge-Signature: "
MARK = os.urandom(4).hex()
_fixture = {}


def poll(fn, timeout=WAIT):
    return harness.poll(fn, timeout, 0.2)


def run(cmd, data=b""):
    r = subprocess.run(cmd, input=data, capture_output=True,
                       timeout=RUN_TIMEOUT)
    r.err = r.stderr.decode("utf-8", "replace")
    return r


class Bob:
    """Bob's bridge home and its serve process, which can be restarted."""

    def __init__(self, srv):
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-verdict-")
        self.home = os.path.join(self.tmp, "home")
        self.acct = harness.signup(srv, login=False)
        self.email = self.acct.email
        r = run([SALTBRIDGE, "--home", self.home, "login", "--api",
                 "https://127.0.0.1:%d" % srv.port, "--ca-file", srv.cert,
                 "--password-stdin", self.email],
                self.acct.ident.password.encode() + b"\n")
        if r.returncode != 0:
            raise AssertionError("login: " + r.err)
        r = run([SALTBRIDGE, "--home", self.home, "info", "--json",
                 self.email])
        if r.returncode != 0:
            raise AssertionError("info: " + r.err)
        self.password = json.loads(r.stdout)["password"]
        self.err_path = os.path.join(self.tmp, "serve.stderr")
        self.err_file = open(self.err_path, "ab")
        self.proc = None
        self.start()

    def start(self):
        self.proc, raw, ports = harness.start_bridge_serve(
            SALTBRIDGE, self.home, self.err_file,
            ["--log-level", "debug", "--imap-port", "0",
             "--imaps-port", "off"], RUN_TIMEOUT)
        if raw is None or not raw.startswith(b"saltbridge: ready"):
            raise AssertionError("serve did not get ready:\n" + self.log())
        self.port = ports["STARTTLS"]
        self.cert = os.path.join(self.home, "data", "tls", "cert.pem")

    def stop(self):
        """Stops serve; its exit code and log must be clean."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.proc = None
        log = self.log()
        for mark in SANITIZER_MARKS:
            if mark in log:
                raise AssertionError("serve's log:\n" + log)
        if rc != 0:
            raise AssertionError("serve exited %r:\n%s" % (rc, log))

    def log(self):
        self.err_file.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def reads(self):
        """How many times serve read a whole message for IMAP."""
        return len(re.findall(r"UID \d+: message read", self.log()))

    def imap(self):
        m = imaplib.IMAP4("127.0.0.1", self.port, timeout=RUN_TIMEOUT)
        m.starttls(ssl_context=ssl.create_default_context(cafile=self.cert))
        m.login(self.email, self.password)
        return m

    def close(self):
        try:
            self.stop()
        finally:
            self.err_file.close()
            if not harness.KEEP_DATA:
                shutil.rmtree(self.tmp, ignore_errors=True)


def fixture():
    if "bob" not in _fixture:
        srv = harness.Server(SALTMAILD, ["--open-signup"], "verdict")
        srv.start()
        _fixture["server"] = srv
        _fixture["alice"] = harness.signup(srv)
        _fixture["bob"] = Bob(srv)
    return _fixture


def tearDownModule():
    bob = _fixture.get("bob")
    if bob is not None:
        log = bob.log()
        bob.close()
        # No correspondent's address reaches the log, in any spelling.
        if _fixture["alice"].email.split("@")[0] in log:
            raise AssertionError("a sender's address reached the log")
    if "server" in _fixture:
        _fixture["server"].stop()


def message(sender, to, subject, text="Hello.", extra=()):
    return sc.rfc5322(sender, to, "%s %s" % (subject, MARK), text, extra)


def submit(alice, bob, body, sender=None, recipients=None, signer=None,
           headers=None):
    """Alice sends body to Bob through POST /api/v1/submissions, sealed
    with the summary's sender and signed recipients given (by default
    hers and Bob), signed by signer (default her). headers replaces the
    summary's header section."""
    sender = sender or alice.email
    recipients = recipients if recipients is not None else [bob.email]
    signer = signer or alice.ident
    msg = sc.Message(body, sender=sender, recipients=recipients,
                     signer=signer)
    if headers is not None:
        msg.summary = sc.summary_seal(sc.summary_records(
            len(body), msg.body_hash, sender=sender, recipients=recipients,
            headers=headers, sign_sk=signer.sign_sk,
            sign_pk=signer.sign_pk), msg.key)
    sub = {"from": alice.email,
           "message": {"blob_id": alice.upload_ok(msg.stream),
                       "summary": sc.b64e(msg.summary)},
           "recipients": [{"email": bob.email, "key_packet": sc.b64e(
               msg.key_packet(bob.acct.ident.enc_pk))}]}
    r = alice.post("/api/v1/submissions", sub)
    if r.status == 401:
        alice.login()
        r = alice.post("/api/v1/submissions", sub)
    if r.status != 202:
        raise AssertionError("submission: %r" % r)


MULTIPART = ("multipart/mixed", (
    b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"First part.\r\n"
    b"--b1\r\nContent-Type: application/octet-stream\r\n"
    b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n"
    b"AAECAwQF\r\n--b1--\r\n"))

# name: (what the header says after its name, or None for no header)
_sent = {}
_uids = {}


def send_all(f):
    """Every case of the suite, sent once, and the count in INBOX."""
    if _sent:
        return
    alice, bob, srv = f["alice"], f["bob"], f["server"]
    other = harness.make_identity(harness.new_account_id())
    ghost = harness.unique_email("ghost")
    a = alice.email
    # Valid, multipart.
    body = message(a, [bob.email], "valid", extra=[
        "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"b1\""])
    body = body[:body.index(b"\r\n\r\n") + 4] + MULTIPART[1]
    submit(alice, bob, body)
    _sent["valid"] = (body, b"valid; signer=%s" % a.encode())
    # Bob is not a signed recipient: Bcc.
    body = message(a, ["carol@example.org"], "bcc")
    submit(alice, bob, body, recipients=["carol@example.org"])
    _sent["bcc"] = (body, b"valid; signer=%s; recipient=unlisted"
                    % a.encode())
    # Signed with a key that is not Alice's.
    body = message(a, [bob.email], "otherkey")
    submit(alice, bob, body, signer=other)
    _sent["otherkey"] = (body, b"invalid; signer=%s; reason=\"the message "
                         b"is signed by another key than the sender's\""
                         % a.encode())
    # Signed by Alice as Alice, but From names someone else.
    body = message("mallory@example.org", [bob.email], "from")
    submit(alice, bob, body)
    _sent["from"] = (body, b"invalid; signer=%s; reason=\"the From header "
                     b"does not name the signer\"" % a.encode())
    # A sender with no account: no key to check against.
    body = message(ghost, [bob.email], "ghost")
    submit(alice, bob, body, sender=ghost)
    _sent["ghost"] = (body, b"signer-key-unknown; signer=%s"
                      % ghost.encode())
    # Mail from outside: unsigned, no header.
    body = message("dave@elsewhere.net", [bob.email], "unsigned")
    srv.deliver(bob.email, body)
    _sent["unsigned"] = (body, None)
    # The summary shows another header section than the body has.
    body = message(a, [bob.email], "mismatch")
    shown = body[:body.index(b"\r\n\r\n") + 4].replace(b"mismatch",
                                                       b"harmless")
    submit(alice, bob, body, headers=shown)
    _sent["mismatch"] = (body, shown)
    _sent["count"] = 7


def field(text):
    return FIELD + text + b"\r\n"


class ImapVerdictTest(unittest.TestCase):
    def setUp(self):
        self.f = fixture()
        self.bob = self.f["bob"]
        self.m = self.bob.imap()
        self.addCleanup(self.close)
        send_all(self.f)
        self.assertTrue(poll(lambda: self.count() >= _sent["count"]))
        self.assertEqual(self.m.select("INBOX")[0], "OK")

    def close(self):
        try:
            self.m.logout()
        except (imaplib.IMAP4.error, OSError):
            pass

    def count(self):
        typ, data = self.m.status("INBOX", "(MESSAGES)")
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def uid_of(self, name):
        """The UID of a case, found once (by SEARCH, which reads every
        summary: once a message is not readable it would fail)."""
        if name in _uids:
            return _uids[name]
        word = b"harmless" if name == "mismatch" else name.encode()
        typ, data = self.m.uid("SEARCH", "SUBJECT",
                               '"%s %s"' % (word.decode(), MARK))
        self.assertEqual(typ, "OK", data)
        uids = data[0].split()
        self.assertEqual(len(uids), 1, (name, data))
        _uids[name] = uids[0].decode()
        return _uids[name]

    def fetch(self, uid, items):
        typ, data = self.m.uid("FETCH", uid, items)
        self.assertEqual(typ, "OK", data)
        return data

    def served(self, uid):
        """(RFC822.SIZE, BODY[HEADER], BODY[]) of one message."""
        data = self.fetch(uid, "(RFC822.SIZE BODY.PEEK[HEADER] "
                               "BODY.PEEK[])")
        size = int(re.search(rb"RFC822\.SIZE (\d+)", data[0][0]).group(1))
        return size, data[0][1], data[1][1]

    def check(self, name):
        body, text = _sent[name]
        size, header, whole = self.served(self.uid_of(name))
        head = body[:body.index(b"\r\n\r\n") + 4]
        line = field(text) if text is not None else b""
        self.assertEqual(header, line + head)
        self.assertEqual(whole, line + body)
        self.assertEqual(size, len(whole))
        self.assertLessEqual(len(line), 1000)
        return size, header, whole

    def test_1_verdicts(self):
        for name in ("valid", "bcc", "otherkey", "from", "ghost",
                     "unsigned"):
            with self.subTest(name=name):
                self.check(name)

    def test_1_own_append_is_byte_exact(self):
        msg = message(self.bob.email, ["carol@example.org"], "own")
        typ, data = self.m.append("INBOX", None, None, msg)
        self.assertEqual(typ, "OK", data)
        uid = re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1).decode()
        size, header, whole = self.served(uid)
        self.assertEqual(whole, msg)
        self.assertEqual(size, len(msg))

    def test_1_header_mismatch_not_served(self):
        uid = self.uid_of("mismatch")
        data = self.fetch(uid, "(BODY.PEEK[HEADER])")
        # What the summary shows, signed as it is; the body never goes.
        self.assertEqual(data[0][1], field(b"valid; signer=%s"
                                           % self.f["alice"].email.encode())
                         + _sent["mismatch"][1])
        typ, data = self.m.uid("FETCH", uid, "(BODY.PEEK[])")
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"UNAVAILABLE", data[0])
        self.assertTrue(poll(lambda: "header section differs"
                             in self.bob.log()))
        self.assertNotIn("harmless", self.bob.log())

    def test_2_structure_cached(self):
        uid = self.uid_of("valid")
        first = self.fetch(uid, "(BODYSTRUCTURE)")
        reads = self.bob.reads()
        again = self.fetch(uid, "(BODYSTRUCTURE)")
        self.assertEqual(again, first)
        self.assertIn(b'"MIXED"', first[0])
        body = self.fetch(uid, "(BODY)")
        self.assertIn(b"BODY ((", body[0])
        self.assertEqual(self.bob.reads(), reads)
        # The message itself is still read for its parts.
        self.fetch(uid, "(BODY.PEEK[1])")
        self.assertEqual(self.bob.reads(), reads + 1)
        _sent["structure"] = (first, body)

    def test_3_fixed_across_restart(self):
        """Everything served before is served the same after a restart
        with the service away: nothing is looked up again. A message whose
        verdict is not fixed yet waits for the service."""
        srv, alice = self.f["server"], self.f["alice"]
        before = {name: self.check(name)
                  for name in ("valid", "bcc", "otherkey", "from", "ghost",
                               "unsigned")}
        structure = self.fetch(self.uid_of("valid"), "(BODYSTRUCTURE)")
        late = message(alice.email, [self.bob.email], "late")
        n = self.count()
        submit(alice, self.bob, late)
        self.assertTrue(poll(lambda: self.count() == n + 1))
        # Its UID without reading its summary (SEARCH would).
        data = self.fetch("*", "(UID)")
        late_uid = re.search(rb"UID (\d+)", data[-1]).group(1).decode()
        self.close()
        self.bob.stop()
        srv.stop(keep_data=True)
        try:
            self.bob.start()
            self.m = self.bob.imap()
            self.assertEqual(self.m.select("INBOX")[0], "OK")
            for name, got in before.items():
                with self.subTest(name=name):
                    self.assertEqual(self.check(name), got)
            reads = self.bob.reads()
            self.assertEqual(self.fetch(self.uid_of("valid"),
                                        "(BODYSTRUCTURE)"), structure)
            self.assertEqual(self.bob.reads(), reads)
            typ, data = self.m.uid("FETCH", late_uid, "(BODY.PEEK[HEADER])")
            self.assertEqual(typ, "NO", data)
            self.assertIn(b"UNAVAILABLE", data[0])
        finally:
            srv.restart(same_port=True)
        want = field(b"valid; signer=%s" % alice.email.encode())
        self.assertTrue(poll(lambda: self.try_header(late_uid), 60))
        size, header, whole = self.served(late_uid)
        self.assertEqual(whole, want + late)
        self.assertEqual(size, len(whole))

    def try_header(self, uid):
        typ, data = self.m.uid("FETCH", uid, "(BODY.PEEK[HEADER])")
        return typ == "OK"


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
