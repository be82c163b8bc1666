#!/usr/bin/python3
"""saltbridge config: the client setup files, read by other parsers.

    /usr/bin/python3 tests/bridge/test_config.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

An account whose address holds characters XML must escape (' and &) is
signed up on a real saltmaild and logged in with saltbridge (its own
--home). Then:

- `config thunderbird` must be XML that Python's xml.etree reads, in
  Thunderbird's clientConfig 1.1 shape, with the IMAP and SMTP settings
  `saltbridge info --json` shows and the address as username;
- `config apple-mail` must be a property list that Python's plistlib
  reads: a configuration profile with a com.apple.security.root payload
  holding the bridge's certificate (DER) and a com.apple.mail.managed
  payload, fresh version 4 UUIDs, the same identifier every time;
- neither holds the bridge password;
- the certificate the profile carries, made by `config` before serve ever
  ran, is the one `serve` then presents, and `config` works while serve
  holds the vault;
- mistakes exit 2 (usage) or 1 (an address not logged in).

A saltbridge run whose stderr holds a sanitizer report fails its test.
The last line printed is "N passed, M failed".
"""
import json
import os
import plistlib
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import unittest
import uuid
import imaplib
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
SANITIZER_MARKS = ("Sanitizer", "runtime error:", "LeakSanitizer")
_state = {}


def server():
    if "server" not in _state:
        srv = harness.Server(SALTMAILD, ["--open-signup"], "config")
        srv.start()
        _state["server"] = srv
    return _state["server"]


def tearDownModule():
    if "server" in _state:
        _state["server"].stop()
    if "tmp" in _state and not harness.KEEP_DATA:
        shutil.rmtree(_state["tmp"], ignore_errors=True)


def run_bridge(home, *args):
    r = subprocess.run([SALTBRIDGE, "--home", home] + list(args),
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=RUN_TIMEOUT)
    r.out = r.stdout.decode("utf-8", "replace")
    r.err = r.stderr.decode("utf-8", "replace")
    for mark in SANITIZER_MARKS:
        assert mark not in r.err, "saltbridge %s:\n%s" % (" ".join(args),
                                                          r.err)
    return r


def logged_in():
    """One home with one account logged in, shared by the tests: its
    (home, address, info JSON). The address needs XML escaping."""
    if "home" in _state:
        return _state["home"], _state["email"], _state["info"]
    srv = server()
    tmp = tempfile.mkdtemp(prefix="saltbridge-config-")
    _state["tmp"] = tmp
    home = os.path.join(tmp, "home")
    email = "o'brien&co.%s@example.org" % os.urandom(4).hex()
    acct = harness.signup(srv, email=email, login=False)
    r = subprocess.run(
        [SALTBRIDGE, "--home", home, "login", "--api",
         "https://127.0.0.1:%d" % srv.port, "--ca-file", srv.cert,
         "--password-stdin", acct.email],
        input=acct.ident.password.encode() + b"\n", capture_output=True,
        timeout=RUN_TIMEOUT)
    assert r.returncode == 0, r.stderr
    r = run_bridge(home, "info", "--json", acct.email)
    assert r.returncode == 0, r.err
    _state.update(home=home, email=acct.email, info=json.loads(r.out))
    return home, acct.email, _state["info"]


def text(elem, path):
    found = elem.find(path)
    assert found is not None, path
    return found.text


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.home, self.email, self.info = logged_in()
        self.tmp = tempfile.mkdtemp(prefix="out-", dir=_state["tmp"])

    def config(self, *args, ok=True):
        r = run_bridge(self.home, "config", *args)
        if ok:
            self.assertEqual(r.returncode, 0, r.err)
        return r

    def assert_no_password(self, data):
        self.assertNotIn(self.info["password"].encode(), data)
        self.assertNotIn(self.info["password"].replace("-", "").encode(),
                         data)

    def test_thunderbird(self):
        r = self.config("thunderbird", self.email)
        self.assertEqual(r.err, "")
        root = ET.fromstring(r.stdout)
        self.assertEqual(root.tag, "clientConfig")
        self.assertEqual(root.get("version"), "1.1")
        provider = root.find("emailProvider")
        domain = self.email.split("@")[1]
        self.assertEqual(provider.get("id"), domain)
        self.assertEqual(text(provider, "domain"), domain)
        self.assertIn(self.email, text(provider, "displayName"))
        for tag, kind, name in (("incomingServer", "imap", "imap"),
                                ("outgoingServer", "smtp", "smtp")):
            servers = provider.findall(tag)
            self.assertEqual(len(servers), 1)
            s = servers[0]
            self.assertEqual(s.get("type"), kind)
            want = self.info[name]
            self.assertEqual(text(s, "hostname"), want["host"])
            self.assertEqual(int(text(s, "port")), want["port"])
            self.assertEqual(text(s, "socketType"),
                             {"starttls": "STARTTLS",
                              "tls": "SSL"}[want["security"]])
            self.assertEqual(text(s, "username"), self.email)
            self.assertEqual(text(s, "authentication"),
                             "password-cleartext")
            self.assertIsNone(s.find("password"))
        self.assertEqual(self.info["imap"]["port"], 1143)
        self.assertEqual(self.info["smtp"]["port"], 1025)
        # The address's ' and & are escaped, never raw.
        self.assertNotIn(b"o'brien", r.stdout)
        self.assertIn(b"o&apos;brien&amp;co", r.stdout)
        self.assert_no_password(r.stdout)

        # --output FILE: the same bytes, mode 0644, and a line saying so.
        out = os.path.join(self.tmp, domain + ".xml")
        r2 = self.config("thunderbird", "--output", out, self.email)
        self.assertIn("to %s" % out, r2.out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), r.stdout)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o644)
        # Replaced when it exists; "-" is standard output; any case.
        r3 = self.config("thunderbird", self.email.upper(), "-o", out)
        self.assertEqual(r3.err, "")
        r4 = self.config("thunderbird", "--output", "-", self.email)
        self.assertEqual(r4.stdout, r.stdout)

    def profile(self):
        r = self.config("apple-mail", self.email)
        self.assert_no_password(r.stdout)
        self.assertNotIn(b"o'brien", r.stdout)
        return plistlib.loads(r.stdout), r

    def test_apple_mail(self):
        p, r = self.profile()
        self.assertEqual(p["PayloadType"], "Configuration")
        self.assertEqual(p["PayloadVersion"], 1)
        self.assertIn(self.email, p["PayloadDisplayName"])
        self.assertFalse(p["PayloadRemovalDisallowed"])
        cert, mail = p["PayloadContent"]

        self.assertEqual(cert["PayloadType"], "com.apple.security.root")
        with open(os.path.join(self.home, "data", "tls", "cert.pem")) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(cert["PayloadContent"], der)

        self.assertEqual(mail["PayloadType"], "com.apple.mail.managed")
        self.assertEqual(mail["EmailAccountType"], "EmailTypeIMAP")
        self.assertEqual(mail["EmailAddress"], self.email)
        self.assertEqual(mail["IncomingMailServerHostName"],
                         self.info["imap"]["host"])
        self.assertEqual(mail["IncomingMailServerPortNumber"],
                         self.info["imap"]["port"])
        self.assertIs(mail["IncomingMailServerUseSSL"], False)
        self.assertEqual(mail["OutgoingMailServerHostName"],
                         self.info["smtp"]["host"])
        self.assertEqual(mail["OutgoingMailServerPortNumber"],
                         self.info["smtp"]["port"])
        self.assertIs(mail["OutgoingMailServerUseSSL"], True)
        for side in ("Incoming", "Outgoing"):
            self.assertEqual(mail[side + "MailServerUsername"], self.email)
            self.assertEqual(mail[side + "MailServerAuthentication"],
                             "EmailAuthPassword")
        self.assertIs(mail["OutgoingPasswordSameAsIncomingPassword"], True)
        self.assertNotIn("IncomingPassword", mail)
        self.assertNotIn("OutgoingPassword", mail)

        # Fresh version 4 UUIDs, stable identifiers.
        uuids = [x["PayloadUUID"] for x in (p, cert, mail)]
        for u in uuids:
            self.assertEqual(uuid.UUID(u).version, 4)
            self.assertEqual(u, u.upper())
        self.assertEqual(len(set(uuids)), 3)
        ids = [x["PayloadIdentifier"] for x in (p, cert, mail)]
        self.assertEqual(len(set(ids)), 3)
        again, _ = self.profile()
        self.assertEqual([x["PayloadIdentifier"] for x in
                          (again, *again["PayloadContent"])], ids)
        self.assertTrue(set(uuids).isdisjoint(
            x["PayloadUUID"] for x in (again, *again["PayloadContent"])))

    def test_certificate_is_the_one_serve_presents(self):
        # A home where serve never ran: config makes the certificate.
        home = os.path.join(self.tmp, "home")
        shutil.copytree(self.home, home)
        shutil.rmtree(os.path.join(home, "data", "tls"), ignore_errors=True)
        r = run_bridge(home, "config", "apple-mail", self.email)
        self.assertEqual(r.returncode, 0, r.err)
        der = plistlib.loads(r.stdout)["PayloadContent"][0]["PayloadContent"]
        key = os.path.join(home, "data", "tls", "key.pem")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)

        err_path = os.path.join(self.tmp, "serve.stderr")
        with open(err_path, "wb") as err_file:
            proc, ready, ports = harness.start_bridge_serve(
                SALTBRIDGE, home, err_file, ["--imap-port", "0"],
                RUN_TIMEOUT)
            try:
                self.assertIsNotNone(ready, self.serve_err(err_path))
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                m = imaplib.IMAP4("127.0.0.1", ports["STARTTLS"],
                                  timeout=RUN_TIMEOUT)
                try:
                    m.starttls(ssl_context=ctx)
                    presented = m.sock.getpeercert(binary_form=True)
                finally:
                    m.logout()
                self.assertEqual(presented, der)

                # serve holds the vault: config still works, and says
                # that the address was not checked.
                r = run_bridge(home, "config", "apple-mail", self.email)
                self.assertEqual(r.returncode, 0, r.err)
                self.assertIn("not checked", r.err)
                again = plistlib.loads(r.stdout)
                self.assertEqual(again["PayloadContent"][0]["PayloadContent"],
                                 der)
                r = run_bridge(home, "config", "thunderbird", self.email)
                self.assertEqual(r.returncode, 0, r.err)
                ET.fromstring(r.stdout)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=RUN_TIMEOUT)
                finally:
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
                    proc.stdout.close()
        err = self.serve_err(err_path)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(proc.returncode, 0, err)
        # serve kept the certificate config made.
        with open(os.path.join(home, "data", "tls", "cert.pem")) as f:
            self.assertEqual(ssl.PEM_cert_to_DER_cert(f.read()), der)

    def serve_err(self, path):
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def test_mistakes(self):
        r = self.config("--help")
        self.assertIn("usage: saltbridge config thunderbird", r.out)
        for args in ((), ("thunderbird",), ("outlook", self.email),
                     ("thunderbird", "not-an-address"),
                     ("thunderbird", self.email, "extra"),
                     ("apple-mail", "--bogus", self.email)):
            r = self.config(*args, ok=False)
            self.assertEqual(r.returncode, 2, (args, r.err))
            self.assertEqual(r.out, "")
        r = self.config("thunderbird", "nobody@example.org", ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nobody@example.org is not logged in", r.err)
        self.assertEqual(r.out, "")
        # A home with no vault: nothing is made there.
        empty = os.path.join(self.tmp, "empty")
        r = run_bridge(empty, "config", "apple-mail", self.email)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not logged in", r.err)
        self.assertFalse(os.path.exists(os.path.join(empty, "data", "tls")))
        # An output folder that does not exist.
        r = self.config("thunderbird", self.email, "--output",
                        os.path.join(self.tmp, "no", "such", "file"),
                        ok=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn("saltbridge: ", r.err)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
