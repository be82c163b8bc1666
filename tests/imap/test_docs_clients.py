#!/usr/bin/python3
"""The client snippets of docs/clients.md, run as written.

    /usr/bin/python3 tests/imap/test_docs_clients.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

The fixture of test_imap_login.py (a bridge with STARTTLS and implicit TLS
listeners for IMAP and SMTP). The fenced blocks of docs/clients.md marked
muttrc, mbsyncrc and offlineimaprc are read out of the page; only the
example's address, bridge password and ports are replaced by the
fixture's, and each client runs with a HOME of its own that holds the
files the page tells people to make (the certificate where the bridge
keeps it, its copy for mutt, ~/Mail/saltbridge). Three messages are
delivered to the account first. Then:

- mutt, with the muttrc snippet and only what a test needs on top (no
  caches, keys pushed from the command line): opens the spool file
  (INBOX), finds a message by its Message-ID and pipes it out, the bytes
  delivered; then sends a message in batch mode through the bridge's
  SMTP, which must reach the account's Sent;
- mbsync with the mbsyncrc snippet: `mbsync saltbridge` mirrors the
  mailboxes to Maildirs, All Mail left out, the delivered messages in
  INBOX; a second run succeeds too; with another certificate in the
  place of the bridge's, mbsync refuses to connect;
- offlineimap with the offlineimaprc snippet (its implicit TLS port):
  the same. offlineimap (Debian's offlineimap3) came to the test
  packages with this test; until a machine has it, its test is skipped,
  saying so.

The last line printed is "N passed, M failed".
"""
import imaplib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import test_clients as clients  # noqa: E402
import test_imap_login as base  # noqa: E402

DOC = os.path.join(HERE, "..", "..", "docs", "clients.md")
EXAMPLE_EMAIL = "alice@example.org"
EXAMPLE_PASSWORD = "xxxx-xxxx-xxxx-xxxx-xxxx-xxxx"
CLIENT_TIMEOUT = 120
ARRIVAL_WAIT = 120
_state = {}


def snippets():
    """{info string: text} of the page's fenced blocks."""
    with open(DOC) as f:
        text = f.read()
    return {m.group(1): m.group(2) for m in
            re.finditer(r"^```(\w+)\n(.*?)^```$", text, re.M | re.S)}


def personal(text, b):
    """A snippet with the fixture's address, password and ports."""
    text = text.replace(EXAMPLE_EMAIL, b.email)
    text = text.replace(urllib.parse.quote(EXAMPLE_EMAIL, safe=""),
                        urllib.parse.quote(b.email, safe=""))
    text = text.replace(EXAMPLE_PASSWORD, b.password)
    for default, port in ((1143, b.port), (1025, b.smtp_port),
                          (1993, b.tls_port)):
        text = re.sub(r"\b%d\b" % default, str(port), text)
    return text


def message(i, to):
    """Message i to the address to: its Message-ID and bytes."""
    msgid = "<docs%d.%s@clients.saltbridge.test>" % (i, os.urandom(4).hex())
    data = ("From: Bob <bob@example.net>\n"
            "To: %s\n"
            "Subject: docs/clients.md %d\n"
            "Date: Mon, 23 Nov 2026 10:0%d:00 +0100\n"
            "Message-ID: %s\n"
            "MIME-Version: 1.0\n"
            "Content-Type: text/plain; charset=utf-8\n"
            "\n"
            "Message %d for the snippets.\n" % (to, i, i, msgid, i))
    return msgid.encode(), data.encode()


def imap_login(b):
    m = imaplib.IMAP4("127.0.0.1", b.port, timeout=base.RUN_TIMEOUT)
    m.starttls(ssl_context=b.context())
    m.login(b.email, b.password)
    return m


def search(b, mailbox, criteria):
    m = imap_login(b)
    try:
        typ, _ = m.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            return []
        typ, data = m.search(None, *criteria)
        return data[0].split() if typ == "OK" else []
    finally:
        m.logout()


def delivered():
    """Delivers three messages once; {Message-ID: bytes}, once the
    bridge's INBOX holds them."""
    if "messages" in _state:
        return _state["messages"]
    b = base.fixture()
    srv = base._fixture["server"]
    messages = {}
    for i in range(3):
        msgid, data = message(i, b.email)
        srv.deliver(b.email, data)
        messages[msgid] = data
    for msgid in messages:
        found = harness.poll(lambda: search(
            b, "INBOX", ["HEADER", "Message-ID", msgid.decode()]),
            ARRIVAL_WAIT, 0.5)
        assert found, "%s did not reach the bridge's INBOX" % msgid
    _state["messages"] = messages
    return messages


def maildir_ids(path):
    """The Message-IDs of a Maildir's messages."""
    ids = set()
    for sub in ("cur", "new"):
        for name in os.listdir(os.path.join(path, sub)):
            with open(os.path.join(path, sub, name), "rb") as f:
                m = clients.MSGID_RE.search(f.read())
            if m:
                ids.add(m.group(1))
    return ids


class DocsClientTest(unittest.TestCase):
    program = None

    def setUp(self):
        if shutil.which(self.program) is None:
            self.missing()
        self.b = base.fixture()
        self.messages = delivered()
        self.snippets = snippets()
        self.home = tempfile.mkdtemp(prefix="saltbridge-docs-%s-"
                                     % self.program)
        if not harness.KEEP_DATA:
            self.addCleanup(shutil.rmtree, self.home, True)
        # Where the page says the certificate is.
        tls = os.path.join(self.home, ".local/share/saltbridge/tls")
        os.makedirs(tls)
        shutil.copyfile(self.b.cert, os.path.join(tls, "cert.pem"))
        os.makedirs(os.path.join(self.home, "Mail", "saltbridge"))
        self.env = clients.client_env(self.home)

    def missing(self):
        self.fail("%s is missing: sh packaging/install-deps.sh test"
                  % self.program)

    def snippet(self, name, path):
        """Writes the page's snippet to HOME/path; returns its text."""
        self.assertIn(name, self.snippets, "docs/clients.md lost it")
        text = personal(self.snippets[name], self.b)
        with open(os.path.join(self.home, path), "w") as f:
            f.write(text)
        os.chmod(os.path.join(self.home, path), 0o600)
        return text

    def run_client(self, cmd, **kw):
        r = subprocess.run(cmd, capture_output=True, env=self.env,
                           cwd=self.home, timeout=CLIENT_TIMEOUT, **kw)
        r.out = (r.stdout + r.stderr).decode("utf-8", "replace")
        return r

    def stranger_cert(self):
        """Puts another certificate for the same names where the page
        says the bridge's is: the client must refuse the bridge then."""
        tls = os.path.join(self.home, ".local/share/saltbridge/tls")
        r = self.run_client(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
             "-subj", "/CN=localhost", "-addext",
             "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", os.path.join(tls, "stranger.key"),
             "-out", os.path.join(tls, "cert.pem")],
            stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.out)

    def assert_mirrored(self, root):
        inbox = os.path.join(root, "INBOX")
        self.assertTrue(os.path.isdir(inbox), os.listdir(root))
        self.assertLessEqual(set(self.messages), maildir_ids(inbox))
        folders = set(os.listdir(root))
        self.assertIn("Sent", folders)
        self.assertNotIn("All Mail", folders)


class MuttTest(DocsClientTest):
    program = "mutt"

    def test_mutt_reads_and_sends(self):
        os.makedirs(os.path.join(self.home, ".mutt"))
        shutil.copyfile(self.b.cert,
                        os.path.join(self.home, ".mutt", "certificates"))
        muttrc = self.snippet("muttrc", ".muttrc")
        self.assertIn("ssl_force_tls = yes", muttrc)
        # What the test adds: no caches, no waiting, nothing moved.
        with open(os.path.join(self.home, ".muttrc"), "a") as f:
            f.write('set header_cache = ""\n'
                    'set message_cachedir = ""\n'
                    "set imap_passive = yes\n"
                    "set imap_check_subscribed = no\n"
                    "set mail_check = 3600\n"
                    "set timeout = 3600\n"
                    "set wait_key = no\n"
                    "set quit = yes\n"
                    "set pipe_decode = no\n"
                    "set move = no\n"
                    "set mark_old = no\n")
        msgid, want = sorted(self.messages.items())[1]
        out = os.path.join(self.home, "piped.eml")
        keys = ("<limit>~i '%s'<enter><pipe-message>cat > '%s'<enter>"
                "<quit>" % (msgid[1:-1].decode(), out))
        rc, drawn = clients.run_in_pty(
            ["mutt", "-n", "-F", os.path.join(self.home, ".muttrc"),
             "-e", "push \"%s\"" % keys],
            dict(self.env, TERM="vt100"), CLIENT_TIMEOUT, cwd=self.home)
        self.assertEqual(rc, 0, drawn[-3000:])
        self.assertNotIn("eject", drawn)  # no certificate question
        self.assertTrue(os.path.exists(out), drawn[-3000:])
        with open(out, "rb") as f:
            self.assertEqual(f.read().replace(b"\r\n", b"\n"), want)

        # Sending, in batch mode, through smtp_url.
        token = "docs-send-%s" % os.urandom(4).hex()
        r = self.run_client(
            ["mutt", "-n", "-F", os.path.join(self.home, ".muttrc"),
             "-s", "Sent by mutt %s" % token, "--", self.b.email],
            input=b"Written by the muttrc of docs/clients.md.\n")
        self.assertEqual(r.returncode, 0, r.out)
        got = harness.poll(lambda: search(self.b, "Sent",
                                          ["SUBJECT", token]),
                           ARRIVAL_WAIT, 0.5)
        self.assertTrue(got, "mutt's message is not in Sent")


class MbsyncTest(DocsClientTest):
    program = "mbsync"

    def test_mbsync_mirrors(self):
        self.snippet("mbsyncrc", ".mbsyncrc")
        for run in ("first", "second"):
            r = self.run_client(["mbsync", "saltbridge"],
                                stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, "%s run:\n%s"
                             % (run, r.out[-4000:]))
            self.assert_mirrored(os.path.join(self.home, "Mail",
                                              "saltbridge"))
        # The certificate is checked: another one is refused.
        self.stranger_cert()
        r = self.run_client(["mbsync", "saltbridge"],
                            stdin=subprocess.DEVNULL)
        self.assertNotEqual(r.returncode, 0, r.out)
        self.assertRegex(r.out, r"(?i)certificate", r.out)


class OfflineimapTest(DocsClientTest):
    program = "offlineimap"

    def missing(self):
        self.skipTest("offlineimap is missing (Debian: offlineimap3)")

    def test_offlineimap_mirrors(self):
        rc = self.snippet("offlineimaprc", ".offlineimaprc")
        self.assertIn("ssl = yes", rc)
        for run in ("first", "second"):
            r = self.run_client(["offlineimap", "-o", "-u", "basic"],
                                stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, "%s run:\n%s"
                             % (run, r.out[-4000:]))
            self.assertNotRegex(r.out, r"(?i)\bERROR\b")
            self.assert_mirrored(os.path.join(self.home, "Mail",
                                              "saltbridge"))
        # The certificate is checked: another one is refused.
        self.stranger_cert()
        r = self.run_client(["offlineimap", "-o", "-u", "basic"],
                            stdin=subprocess.DEVNULL)
        self.assertRegex(r.out, r"(?i)certificate verify failed", r.out)


def tearDownModule():
    base.tearDownModule()


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"], [
                                 sys.modules[__name__], base, clients])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
