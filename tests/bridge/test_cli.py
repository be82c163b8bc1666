#!/usr/bin/python3
"""The saltbridge command line against a real saltmaild.

    /usr/bin/python3 tests/bridge/test_cli.py --saltmaild PATH
        --saltbridge PATH [--keep] [unittest options]

Accounts are signed up with real keys (tests/api/saltcrypto.py), then
logged in, shown, and logged out with saltbridge, each run with its own
--home in a temporary folder. A saltbridge run whose stderr holds a
sanitizer report fails its test. The last line printed is
"N passed, M failed".
"""
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import termios
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "api"))

import harness  # noqa: E402
import saltcrypto as sc  # noqa: E402

SALTMAILD = None
SALTBRIDGE = None
RUN_TIMEOUT = 60
PASSWORD_RE = re.compile(r"^[a-z2-7]{4}(-[a-z2-7]{4}){5}$")
_server = None


def server():
    global _server
    if _server is None:
        _server = harness.Server(SALTMAILD, ["--open-signup"], "bridge")
        _server.start()
    return _server


def tearDownModule():
    if _server is not None:
        _server.stop()


def change_password(acct, password, opslimit=sc.DEFAULT_OPSLIMIT):
    """PUT /account/password as another client would: a new salt (and
    maybe cost), the account key wrapped under the new KEK."""
    r = acct.login()
    assert r.status == 200, r
    salt = os.urandom(16)
    auth_key, kek = sc.derive_password_keys(password, salt, opslimit,
                                            sc.DEFAULT_MEMLIMIT)
    body = {"current_auth_key": sc.b64e(acct.ident.auth_key),
            "auth_key": sc.b64e(auth_key),
            "kdf": {"alg": "argon2id13", "opslimit": opslimit,
                    "memlimit": sc.DEFAULT_MEMLIMIT, "salt": sc.b64e(salt)},
            "wrapped_account_key": sc.b64e(sc.wrap_key(
                acct.ident.account_key, kek, sc.KIND_ACCOUNT_KEY,
                acct.account_id))}
    r = acct.req("PUT", "/api/v1/account/password", body)
    assert r.status == 204, r
    acct.ident.auth_key = auth_key
    acct.ident.password = password


def read_vault(home):
    """The vault's entries, read as docs/crypto.md describes the vault
    file and its key file: {name: value bytes}."""
    with open(os.path.join(home, "config", "vault.key"), "rb") as f:
        keyfile = f.read()
    assert len(keyfile) == 37 and keyfile[:5] == b"SBVK\x01"
    with open(os.path.join(home, "data", "vault"), "rb") as f:
        data = f.read()
    assert data[:5] == b"SBVT\x01"
    plain = sc._aead_open(data[29:], data[:5], data[5:29], keyfile[5:])
    entries, i = {}, 0
    while i < len(plain):
        n = int.from_bytes(plain[i:i + 2], "big")
        name = plain[i + 2:i + 2 + n].decode("ascii")
        i += 2 + n
        n = int.from_bytes(plain[i:i + 4], "big")
        entries[name] = plain[i + 4:i + 4 + n]
        i += 4 + n
    return entries


def replica_accounts(home):
    """(api_id, email) of the accounts in the replica (docs/replica.md)."""
    db = sqlite3.connect("file:%s?mode=ro"
                         % os.path.join(home, "data", "replica.db"),
                         uri=True)
    try:
        return db.execute("SELECT api_id, email FROM accounts "
                          "ORDER BY email").fetchall()
    finally:
        db.close()


def read_pty(fd, out, until, timeout=RUN_TIMEOUT):
    """Reads a pty until `until` is in what was read (None: until the
    other side closes it)."""
    deadline = time.monotonic() + timeout
    while until is None or until not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("timed out on the terminal: %r" % out)
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            if until is None:
                break
            raise AssertionError("the terminal closed: %r" % out)
        out += data
    return out


class BridgeTest(unittest.TestCase):
    def setUp(self):
        self.srv = server()
        self.tmp = tempfile.mkdtemp(prefix="saltbridge-test-")
        self.home = os.path.join(self.tmp, "home")

    def tearDown(self):
        if not harness.KEEP_DATA:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run_bridge(self, *args, password=None, home=True, env=None,
                   new_session=False, umask=None):
        cmd = [SALTBRIDGE]
        if home:
            cmd += ["--home", self.home]
        cmd += list(args)
        r = subprocess.run(cmd, input=(password.encode("utf-8") + b"\n"
                                       if password is not None else b""),
                           capture_output=True, timeout=RUN_TIMEOUT,
                           env=env, start_new_session=new_session,
                           umask=-1 if umask is None else umask)
        r.out = r.stdout.decode("utf-8", "replace")
        r.err = r.stderr.decode("utf-8", "replace")
        for mark in ("Sanitizer", "runtime error:", "LeakSanitizer"):
            self.assertNotIn(mark, r.err, "saltbridge %s:\n%s"
                             % (" ".join(args), r.err))
        return r

    def signup(self):
        return harness.signup(self.srv, login=False)

    def login(self, acct, password=None, *extra):
        return self.run_bridge(
            "login", "--api", "https://127.0.0.1:%d" % self.srv.port,
            "--ca-file", self.srv.cert, "--password-stdin", *extra,
            acct.email, password=password or acct.ident.password)

    def login_ok(self, acct, *extra):
        r = self.login(acct, None, *extra)
        self.assertEqual(r.returncode, 0, r.err)
        return r

    def info(self, email=None):
        args = ["info", "--json"] + ([email] if email else [])
        r = self.run_bridge(*args)
        return r, (json.loads(r.out) if r.returncode == 0 else None)

    def accounts(self):
        r = self.run_bridge("accounts", "--json")
        self.assertEqual(r.returncode, 0, r.err)
        return json.loads(r.out)["accounts"]

    def files(self, root=None):
        for d, _, names in os.walk(root or self.home):
            for n in names:
                yield os.path.join(d, n)


class TestLogin(BridgeTest):
    def test_wrong_password_fails_clearly(self):
        acct = self.signup()
        r = self.login(acct, "not-the-password")
        self.assertEqual(r.returncode, 1)
        self.assertIn("wrong password for %s" % acct.email, r.err)
        self.assertEqual(self.accounts(), [])
        r, _ = self.info(acct.email)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not logged in", r.err)
        # With an account in the vault, the vault file is left as it was.
        other = self.signup()
        self.login_ok(other)
        vault = os.path.join(self.home, "data", "vault")
        with open(vault, "rb") as f:
            before = f.read()
        r = self.login(other, "not-the-password")
        self.assertEqual(r.returncode, 1)
        with open(vault, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_login_then_info_and_accounts(self):
        acct = self.signup()
        r = self.login_ok(acct)
        r2, info = self.info(acct.email)
        self.assertEqual(r2.returncode, 0, r2.err)
        self.assertEqual(info["email"], acct.email)
        self.assertEqual(info["username"], acct.email)
        self.assertEqual(info["account_id"], acct.account_id)
        self.assertEqual(info["api_url"],
                         "https://127.0.0.1:%d" % self.srv.port)
        self.assertEqual(info["fingerprint"],
                         sc.fingerprint(acct.ident.enc_pk,
                                        acct.ident.sign_pk))
        self.assertEqual(info["imap"], {"host": "127.0.0.1", "port": 1143,
                                        "security": "starttls"})
        self.assertEqual(info["smtp"], {"host": "127.0.0.1", "port": 1025,
                                        "security": "starttls"})
        self.assertRegex(info["password"], PASSWORD_RE)
        self.assertNotEqual(info["password"], acct.ident.password)
        # The login's own output shows the settings too.
        self.assertIn(info["password"], r.out)
        self.assertIn("1143", r.out)
        # accounts, as JSON and as a table; info without EMAIL.
        self.assertEqual(self.accounts(), [info])
        r = self.run_bridge("accounts")
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn(acct.email, r.out)
        self.assertIn("127.0.0.1:1143", r.out)
        self.assertIn("127.0.0.1:1025", r.out)
        self.assertIn(info["password"], r.out)
        r = self.run_bridge("info")
        self.assertEqual(r.returncode, 0, r.err)
        for text in (acct.email, "port 1143", "port 1025", "STARTTLS",
                     info["password"]):
            self.assertIn(text, r.out)
        r, every = self.info()
        self.assertEqual(every, {"accounts": [info]})

    def test_address_case_and_two_accounts(self):
        a, b = self.signup(), self.signup()
        self.login_ok(a)
        r = self.run_bridge(
            "login", "--api", "https://127.0.0.1:%d/" % self.srv.port,
            "--ca-file", self.srv.cert, "--password-stdin",
            b.email.upper(), password=b.ident.password)
        self.assertEqual(r.returncode, 0, r.err)
        got = self.accounts()
        self.assertEqual([x["email"] for x in got],
                         sorted([a.email, b.email]))
        self.assertNotEqual(got[0]["password"], got[1]["password"])

    def test_relogin_keeps_bridge_password(self):
        acct = self.signup()
        self.login_ok(acct)
        first = self.info(acct.email)[1]["password"]
        # Without --api: the service remembered from the first login.
        r = self.run_bridge("login", "--password-stdin", acct.email,
                            password=acct.ident.password)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(self.info(acct.email)[1]["password"], first)
        self.login_ok(acct, "--new-password")
        self.assertNotEqual(self.info(acct.email)[1]["password"], first)
        self.assertEqual(len(self.accounts()), 1)

    def test_permissions(self):
        acct = self.signup()
        r = self.run_bridge(
            "login", "--api", "https://127.0.0.1:%d" % self.srv.port,
            "--ca-file", self.srv.cert, "--password-stdin", acct.email,
            password=acct.ident.password, umask=0o022)
        self.assertEqual(r.returncode, 0, r.err)
        for d in (self.home, os.path.join(self.home, "config"),
                  os.path.join(self.home, "data")):
            self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700, d)
        key = os.path.join(self.home, "config", "vault.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertTrue(os.path.exists(
            os.path.join(self.home, "data", "vault")))
        self.assertTrue(os.path.exists(
            os.path.join(self.home, "data", "replica.db")))
        for f in self.files():
            self.assertEqual(stat.S_IMODE(os.stat(f).st_mode) & 0o077, 0, f)

    def assert_no_secret(self, secrets, files=(), outputs=()):
        for what, secret in secrets.items():
            forms = [secret, sc.b64e(secret).encode(), secret.hex().encode()]
            for f in files:
                with open(f, "rb") as fh:
                    data = fh.read()
                for form in forms:
                    self.assertNotIn(form, data, "%s in %s" % (what, f))
            for name, data in outputs:
                for form in forms:
                    self.assertNotIn(form, data, "%s on %s" % (what, name))

    def test_no_secret_in_clear(self):
        acct = self.signup()
        r = self.run_bridge(
            "--log-level", "debug", "login", "--api",
            "https://127.0.0.1:%d" % self.srv.port, "--ca-file",
            self.srv.cert, "--password-stdin", acct.email,
            password=acct.ident.password)
        self.assertEqual(r.returncode, 0, r.err)
        outputs = [("login's stderr", r.stderr)]
        password = self.info(acct.email)[1]["password"]
        v = read_vault(self.home)
        p = "account/%s/" % acct.account_id
        secrets = {"account password": acct.ident.password.encode(),
                   "account key": acct.ident.account_key,
                   "X25519 secret key": acct.ident.enc_sk,
                   "Ed25519 seed": acct.ident.sign_seed,
                   "KEK": acct.ident.kek,
                   "auth key": acct.ident.auth_key,
                   "access token": v[p + "access_token"],
                   "refresh token": v[p + "refresh_token"],
                   "cache key": v[p + "cache_key"]}
        # The login shows the bridge password, nothing else secret.
        outputs.append(("login's stdout", r.stdout))
        secrets_and_password = dict(secrets)
        secrets_and_password["bridge password"] = password.encode()
        files = list(self.files())
        self.assertGreaterEqual(len(files), 3)
        self.assert_no_secret(secrets_and_password, files,
                              [("login's stderr", r.stderr)])
        self.assert_no_secret(secrets, (), outputs)
        # A failed login (wrong password) and a logout, at debug level.
        r = self.run_bridge("--log-level", "debug", "login",
                            "--password-stdin", acct.email,
                            password="wrong-" + acct.ident.password)
        self.assertEqual(r.returncode, 1)
        self.assert_no_secret(secrets_and_password, list(self.files()),
                              [("stdout", r.stdout), ("stderr", r.stderr)])
        r = self.run_bridge("--log-level", "debug", "logout", acct.email)
        self.assertEqual(r.returncode, 0, r.err)
        self.assert_no_secret(secrets_and_password, list(self.files()),
                              [("stdout", r.stdout), ("stderr", r.stderr)])

    def test_xdg_folders(self):
        env = dict(os.environ)
        env.pop("XDG_CONFIG_HOME", None)
        env.pop("XDG_DATA_HOME", None)
        env["HOME"] = self.tmp
        r = self.run_bridge("accounts", "--json", home=False, env=env)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertEqual(json.loads(r.out), {"accounts": []})
        self.assertEqual(os.listdir(self.tmp), [], "accounts created files")
        acct = self.signup()
        r = self.run_bridge(
            "login", "--api", "https://127.0.0.1:%d" % self.srv.port,
            "--ca-file", self.srv.cert, "--password-stdin", acct.email,
            password=acct.ident.password, home=False, env=env)
        self.assertEqual(r.returncode, 0, r.err)
        config = os.path.join(self.tmp, ".config", "saltbridge")
        data = os.path.join(self.tmp, ".local", "share", "saltbridge")
        self.assertTrue(os.path.exists(os.path.join(config, "vault.key")))
        self.assertTrue(os.path.exists(os.path.join(data, "vault")))
        self.assertTrue(os.path.exists(os.path.join(data, "replica.db")))
        self.assertEqual(stat.S_IMODE(os.stat(config).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(data).st_mode), 0o700)


class TestRemembered(BridgeTest):
    """The KDF parameters of the last login are remembered; a change the
    bridge did not make is refused."""

    def test_changed_parameters_refused(self):
        acct = self.signup()
        self.login_ok(acct)
        change_password(acct, "pw-changed-" + os.urandom(4).hex())
        r = self.login(acct)
        self.assertEqual(r.returncode, 1)
        self.assertIn("changed", r.err)
        self.assertIn("saltbridge logout %s" % acct.email, r.err)
        # The way out the message gives.
        self.assertEqual(self.run_bridge("logout", acct.email).returncode, 0)
        self.login_ok(acct)

    def test_weaker_parameters_refused(self):
        acct = self.signup()
        change_password(acct, "pw-strong-" + os.urandom(4).hex(), 4)
        self.login_ok(acct)
        change_password(acct, "pw-weak-" + os.urandom(4).hex(), 3)
        r = self.login(acct)
        self.assertEqual(r.returncode, 1)
        self.assertIn("weaker", r.err)


class TestVault(BridgeTest):
    def test_entries(self):
        acct = self.signup()
        self.login_ok(acct)
        v = read_vault(self.home)
        p = "account/%s/" % acct.account_id
        self.assertEqual(sorted(v), sorted(p + f for f in (
            "email", "addresses", "api_url", "ca_file", "access_token", "refresh_token",
            "account_key", "enc_sk", "sign_sk", "enc_pk", "sign_pk",
            "bridge_password", "cache_key", "kdf")))
        self.assertEqual(v[p + "email"], acct.email.encode())
        self.assertEqual(v[p + "addresses"], acct.email.encode())
        self.assertEqual(v[p + "api_url"],
                         b"https://127.0.0.1:%d" % self.srv.port)
        self.assertEqual(v[p + "ca_file"],
                         os.path.realpath(self.srv.cert).encode())
        self.assertEqual(v[p + "account_key"], acct.ident.account_key)
        self.assertEqual(v[p + "enc_sk"], acct.ident.enc_sk)
        self.assertEqual(v[p + "enc_pk"], acct.ident.enc_pk)
        self.assertEqual(v[p + "sign_sk"], acct.ident.sign_sk)
        self.assertEqual(v[p + "sign_pk"], acct.ident.sign_pk)
        self.assertEqual(len(v[p + "cache_key"]), 32)
        self.assertEqual(v[p + "kdf"],
                         acct.ident.opslimit.to_bytes(8, "big")
                         + acct.ident.memlimit.to_bytes(8, "big")
                         + acct.ident.salt)
        self.assertEqual(v[p + "bridge_password"].decode(),
                         self.info(acct.email)[1]["password"])
        self.assertEqual(replica_accounts(self.home),
                         [(acct.account_id, acct.email)])
        # The session works, and a re-login keeps the cache key.
        r = self.srv.request("GET", "/api/v1/account",
                             token=v[p + "access_token"].decode())
        self.assertEqual(r.status, 200, r)
        self.login_ok(acct, "--new-password")
        self.assertEqual(read_vault(self.home)[p + "cache_key"],
                         v[p + "cache_key"])


class TestRelogin(BridgeTest):
    def test_relogin_ends_the_old_session(self):
        acct = self.signup()
        self.login_ok(acct)
        p = "account/%s/" % acct.account_id
        old = read_vault(self.home)
        r = self.login_ok(acct)
        self.assertNotIn("warning", r.err)
        new = read_vault(self.home)
        self.assertNotEqual(new[p + "refresh_token"], old[p + "refresh_token"])
        r = self.srv.request("POST", "/api/v1/auth/refresh",
                             {"refresh_token":
                              old[p + "refresh_token"].decode()})
        self.assertEqual((r.status, r.error_type), (401, "unauthorized"))
        r = self.srv.request("GET", "/api/v1/account",
                             token=old[p + "access_token"].decode())
        self.assertEqual(r.status, 401, r)
        # The new session works.
        r = self.srv.request("GET", "/api/v1/account",
                             token=new[p + "access_token"].decode())
        self.assertEqual(r.status, 200, r)

    def test_replica_failure_keeps_the_vault(self):
        acct = self.signup()
        os.makedirs(os.path.join(self.home, "data", "replica.db"))
        r = self.login(acct)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.err.count("cannot open the replica"), 1, r.err)
        self.assertEqual(self.accounts(), [])
        if os.path.exists(os.path.join(self.home, "data", "vault")):
            self.assertEqual(read_vault(self.home), {})


class TestLock(BridgeTest):
    def hold_lock(self, seconds):
        """Holds the vault's lock as a login would, for a while."""
        path = os.path.join(self.home, "data", "vault.lock")
        fd = os.open(path, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)

        def release():
            time.sleep(seconds)
            os.close(fd)
        t = threading.Thread(target=release)
        t.start()
        return t

    def test_readers_wait_for_the_lock(self):
        acct = self.signup()
        self.login_ok(acct)
        t = self.hold_lock(1.0)
        try:
            start = time.monotonic()
            got = self.accounts()
            self.assertGreaterEqual(time.monotonic() - start, 0.8)
            self.assertEqual([a["email"] for a in got], [acct.email])
        finally:
            t.join()
        t = self.hold_lock(7.0)
        try:
            r = self.run_bridge("info", acct.email)
            self.assertEqual(r.returncode, 1)
            self.assertIn("in use by another saltbridge", r.err)
            self.assertIn("try again", r.err)
        finally:
            t.join()


class TestLogout(BridgeTest):
    def test_logout_revokes_the_session(self):
        acct = self.signup()
        self.login_ok(acct)
        v = read_vault(self.home)
        p = "account/%s/" % acct.account_id
        access = v[p + "access_token"].decode()
        refresh = v[p + "refresh_token"].decode()
        r = self.run_bridge("logout", acct.email)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertNotIn("warning", r.err)
        self.assertEqual(read_vault(self.home), {})
        self.assertEqual(replica_accounts(self.home), [])
        r = self.srv.request("GET", "/api/v1/account", token=access)
        self.assertEqual((r.status, r.error_type), (401, "unauthorized"))
        r = self.srv.request("POST", "/api/v1/auth/refresh",
                             {"refresh_token": refresh})
        self.assertEqual((r.status, r.error_type), (401, "unauthorized"))

    def test_logout_removes_the_account(self):
        acct = self.signup()
        self.login_ok(acct)
        old = self.info(acct.email)[1]["password"]
        r = self.run_bridge("logout", acct.email)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertNotIn("warning", r.err)
        self.assertEqual(self.accounts(), [])
        r, _ = self.info(acct.email)
        self.assertEqual(r.returncode, 1)
        r = self.run_bridge("logout", acct.email)
        self.assertEqual(r.returncode, 1)
        self.assertIn("not logged in", r.err)
        # A new login starts afresh, with a new bridge password.
        self.login_ok(acct)
        self.assertNotEqual(self.info(acct.email)[1]["password"], old)

    def test_logout_offline_says_so(self):
        srv = harness.Server(SALTMAILD, ["--open-signup"], "bridge-offline")
        srv.start()
        try:
            acct = harness.signup(srv, login=False)
            r = self.run_bridge(
                "login", "--api", "https://127.0.0.1:%d" % srv.port,
                "--ca-file", srv.cert, "--password-stdin", acct.email,
                password=acct.ident.password)
            self.assertEqual(r.returncode, 0, r.err)
        finally:
            srv.stop()
        r = self.run_bridge("logout", acct.email)
        self.assertEqual(r.returncode, 0, r.err)
        self.assertIn("warning", r.err)
        self.assertIn("cannot reach", r.err)
        self.assertEqual(self.accounts(), [])


class TestErrors(BridgeTest):
    def test_unknown_service(self):
        acct = self.signup()
        r = self.run_bridge("login", "--api", "https://127.0.0.1:1",
                            "--password-stdin", acct.email,
                            password=acct.ident.password)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach the service at https://127.0.0.1:1",
                      r.err)
        self.assertEqual(self.accounts(), [])

    def test_untrusted_certificate(self):
        acct = self.signup()
        r = self.run_bridge("login", "--api",
                            "https://127.0.0.1:%d" % self.srv.port,
                            "--password-stdin", acct.email,
                            password=acct.ident.password)
        self.assertEqual(r.returncode, 1)
        self.assertIn("certificate", r.err)
        self.assertIn("--ca-file", r.err)

    def test_no_service_known(self):
        r = self.run_bridge("login", "--password-stdin", "nobody@example.org",
                            password="x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--api", r.err)

    def test_not_https(self):
        r = self.run_bridge("login", "--api", "http://127.0.0.1:1",
                            "--password-stdin", "a@example.org",
                            password="x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("https://", r.err)

    def test_bad_api_creates_nothing(self):
        for url in ("http://127.0.0.1:1", "https://", "https://u@127.0.0.1",
                    "https://127.0.0.1/?x=1", "https://127.0.0.1/#f",
                    "https://127.0.0.1/\x1b[2J", "https://\u00e9.example"):
            r = self.run_bridge("login", "--api", url, "--password-stdin",
                                "a@example.org", password="x")
            self.assertEqual(r.returncode, 1, url)
            self.assertIn("https://", r.err)
            self.assertNotIn("\x1b", r.err)
            self.assertFalse(os.path.exists(self.home), url)

    def test_ca_file_checked_first(self):
        for ca in (self.tmp, os.path.join(self.tmp, "missing.pem")):
            r = self.run_bridge("login", "--api", "https://127.0.0.1:1",
                                "--ca-file", ca, "--password-stdin",
                                "a@example.org", password="x")
            self.assertEqual(r.returncode, 1)
            self.assertIn("CA file", r.err)
            self.assertFalse(os.path.exists(self.home))

    def test_password_stdin_on_a_terminal(self):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(SALTBRIDGE, [
                    SALTBRIDGE, "--home", self.home, "login", "--api",
                    "https://127.0.0.1:1", "--password-stdin",
                    "a@example.org"])
            finally:
                os._exit(127)
        out = b""
        try:
            out = read_pty(fd, out, None)
        finally:
            os.close(fd)
            _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 1, out)
        self.assertIn(b"terminal", out)
        self.assertIn(b"--password-stdin out", out)

    def test_prompt_without_echo(self):
        acct = self.signup()
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execv(SALTBRIDGE, [
                    SALTBRIDGE, "--home", self.home, "login", "--api",
                    "https://127.0.0.1:%d" % self.srv.port, "--ca-file",
                    self.srv.cert, acct.email])
            finally:
                os._exit(127)
        out = b""
        try:
            out = read_pty(fd, out, b"Password for %s: "
                           % acct.email.encode())
            os.write(fd, acct.ident.password.encode() + b"\n")
            out = read_pty(fd, out, None)
        finally:
            os.close(fd)
            _, status = os.waitpid(pid, 0)
        text = out.decode("utf-8", "replace")
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, text)
        self.assertNotIn(acct.ident.password, text)
        self.assertNotIn("Sanitizer", text)
        self.assertIn("Logged in as %s" % acct.email, text)

    def prompt_on_pty(self, acct):
        """saltbridge login asking on a new pty; the test keeps the
        terminal's side open to read its modes after saltbridge ends."""
        master, slave = os.openpty()

        def take_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        p = subprocess.Popen(
            [SALTBRIDGE, "--home", self.home, "login", "--api",
             "https://127.0.0.1:%d" % self.srv.port, "--ca-file",
             self.srv.cert, acct.email],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            preexec_fn=take_terminal)
        self.assertTrue(termios.tcgetattr(slave)[3] & termios.ECHO)
        out = read_pty(master, b"", b"Password for %s: "
                       % acct.email.encode())
        self.assertFalse(termios.tcgetattr(slave)[3] & termios.ECHO)
        return p, master, slave, out

    def test_echo_restored(self):
        acct = self.signup()
        # After a signal that ends the process (and leaves no core).
        p, master, slave, _ = self.prompt_on_pty(acct)
        try:
            p.send_signal(signal.SIGQUIT)
            self.assertEqual(p.wait(RUN_TIMEOUT), -signal.SIGQUIT)
            self.assertTrue(termios.tcgetattr(slave)[3] & termios.ECHO)
        finally:
            os.close(master)
            os.close(slave)
        self.assertFalse([f for f in os.listdir(".")
                          if f.startswith("core")])
        # After the prompt ends normally.
        p, master, slave, out = self.prompt_on_pty(acct)
        try:
            os.write(master, acct.ident.password.encode() + b"\n")
            self.assertEqual(p.wait(RUN_TIMEOUT), 0)
            self.assertTrue(termios.tcgetattr(slave)[3] & termios.ECHO)
        finally:
            os.close(master)
            os.close(slave)

    def test_no_terminal(self):
        acct = self.signup()
        r = self.run_bridge("login", "--api",
                            "https://127.0.0.1:%d" % self.srv.port,
                            acct.email, new_session=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("no terminal", r.err)
        self.assertIn("--password-stdin", r.err)

    def test_empty_password(self):
        r = self.run_bridge("login", "--api", "https://127.0.0.1:1",
                            "--password-stdin", "a@example.org",
                            password="")
        self.assertEqual(r.returncode, 1)
        self.assertIn("empty", r.err)

    def test_usage(self):
        for args in ([], ["nonsense"], ["login"], ["logout"],
                     ["info", "a@example.org", "b@example.org"],
                     ["accounts", "extra"], ["login", "not-an-address"],
                     ["--log-level", "loud", "accounts"],
                     ["accounts", "--bogus"], ["serve", "extra"]):
            r = self.run_bridge(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertTrue(r.err, args)
        for args in (["--help"], ["login", "--help"], ["info", "--help"],
                     ["accounts", "--help"], ["logout", "--help"],
                     ["serve", "--help"]):
            r = self.run_bridge(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("usage: saltbridge", r.out)
        self.assertIn("  serve ", self.run_bridge("--help").out)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv,
                             ["saltmaild", "saltbridge"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
