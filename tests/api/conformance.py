#!/usr/bin/python3
"""Conformance suite for the Salt Mail API (docs/api.md), version 1.

Written from docs/api.md and docs/crypto.md alone; it drives a real
saltmaild over HTTPS with real keys and real encrypted objects.

    /usr/bin/python3 tests/api/conformance.py --saltmaild PATH [--keep]
        [unittest options, e.g. -v or -k Mailbox]

--keep leaves the servers' temporary data folders in place. The last line
printed is "N passed, M failed"; the exit status is non-zero on any
failure. The crypto helpers are checked without a server by
tests/api/test_saltcrypto.py.
"""
import base64
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import saltcrypto as sc  # noqa: E402
from harness import qs, new_key, unique_email  # noqa: E402

SALTMAILD = None
INVITE = "invite-7f3c9a"
ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
ROLE_NAMES = {"inbox": "INBOX", "drafts": "Drafts", "sent": "Sent",
              "archive": "Archive", "junk": "Junk", "trash": "Trash"}
DEFAULT_QUOTA = 1 << 30
DEFAULT_MAX_BLOB = 64 << 20
WAIT = 5  # seconds to wait for anything asynchronous

LIMIT_QUOTA = 250000
LIMIT_MAX_BLOB = 100000
LIMIT_LOGINS = 2
LIMIT_CHANGES_KEEP = 5

SERVER_FLAGS = {
    "main": ["--open-signup"],
    "limits": ["--open-signup", "--quota", str(LIMIT_QUOTA),
               "--max-blob", str(LIMIT_MAX_BLOB),
               "--changes-keep", str(LIMIT_CHANGES_KEEP),
               "--login-limit", str(LIMIT_LOGINS)],
    "ttl": ["--open-signup", "--token-ttl", "1"],
    "closed": [],
    "invite": ["--invite-code", INVITE],
}
_started = {}


def server(name):
    """The shared server of that name, started on first use."""
    s = _started.get(name)
    if s is None:
        s = harness.Server(SALTMAILD, SERVER_FLAGS[name], name)
        _started[name] = s
        s.start()
    elif s.port is None:
        raise harness.ServerError("server %s failed to start" % name)
    return s


def tearDownModule():
    for s in list(_started.values()):
        s.stop()


def norm(message):
    """A message with its sets (keywords, mailbox_ids) in a fixed order."""
    m = dict(message)
    for f in ("keywords", "mailbox_ids"):
        if isinstance(m.get(f), list):
            m[f] = sorted(m[f])
    return m


def poll(fn, timeout=WAIT, interval=0.1):
    """harness.poll, waiting WAIT seconds unless told."""
    return harness.poll(fn, timeout, interval)


class ApiTest(unittest.TestCase):
    server_name = "main"

    @classmethod
    def setUpClass(cls):
        cls.srv = server(cls.server_name)

    # accounts
    def account(self, **kw):
        return harness.signup(self.srv, **kw)

    # assertions
    def assertStatus(self, r, status):
        self.assertEqual(r.status, status, "expected %d, got %r"
                         % (status, r))

    def assertJson(self, r, status):
        self.assertStatus(r, status)
        self.assertTrue(r.content_type.startswith("application/json"),
                        "content type %r" % r.content_type)
        self.assertIsNotNone(r.json, "body is not JSON: %r" % r)
        return r.json

    def assertError(self, r, status, etype):
        self.assertEqual((r.status, r.error_type), (status, etype),
                         "expected %d %s, got %r" % (status, etype, r))
        self.assertTrue(r.content_type.startswith("application/json"),
                        "error content type %r" % r.content_type)
        err = r.json["error"]
        self.assertIsInstance(err.get("message"), str)

    def assertId(self, value):
        self.assertIsInstance(value, str)
        self.assertRegex(value, ID_RE)

    def assertB64(self, value, length=None):
        self.assertIsInstance(value, str)
        raw = base64.b64decode(value.encode("ascii"), validate=True)
        self.assertEqual(base64.b64encode(raw).decode(), value,
                         "not canonical padded base64")
        if length is not None:
            self.assertEqual(len(raw), length)
        return raw

    # common calls
    def create_mailbox(self, acct, name, parent_id=None):
        r = acct.post("/api/v1/mailboxes", {"name": name,
                                            "parent_id": parent_id})
        return self.assertJson(r, 201)

    def message_ids(self, acct, mailbox_id=None):
        ids, cursor = [], None
        for _ in range(100):
            r = acct.get("/api/v1/messages?" + qs(mailbox_id=mailbox_id,
                                                  limit=500, cursor=cursor))
            j = self.assertJson(r, 200)
            ids += [m["id"] for m in j["messages"]]
            cursor = j["next_cursor"]
            if cursor is None:
                return ids
        self.fail("message list does not end")

    def get_message(self, acct, mid):
        return self.assertJson(acct.get("/api/v1/messages/" + mid), 200)

    def changes(self, acct, since, max_ids=None):
        return acct.get("/api/v1/changes?" + qs(since=since, max=max_ids))

    def download(self, acct, blob_id, range_=None):
        headers = {"Accept": "application/octet-stream"}
        if range_:
            headers["Range"] = range_
        return acct.get("/api/v1/blobs/" + blob_id, headers=headers)

    def submission(self, sender, to, bcc=(), text="hello", sent_copy=True,
                   from_addr=None, extra=()):
        """A real submission body from sender to accounts `to` (visible)
        and `bcc`; extra: addresses that get a key packet made to a random
        key (for unknown recipients). Returns (body, Message)."""
        to_addrs = [a.email for a in to]
        body = sc.rfc5322(sender.email, to_addrs, "sub " + new_key()[:8],
                          text)
        msg = sc.Message(body, sender=sender.email, recipients=to_addrs,
                         signer=sender.ident)
        blob = sender.upload_ok(msg.stream)
        recipients = [{"email": a.email,
                       "key_packet": sc.b64e(msg.key_packet(a.ident.enc_pk))}
                      for a in list(to) + list(bcc)]
        for addr in extra:
            recipients.append({"email": addr, "key_packet": sc.b64e(
                msg.key_packet(os.urandom(32)))})
        sub = {"from": from_addr or sender.email,
               "message": {"blob_id": blob, "summary": sc.b64e(msg.summary)},
               "recipients": recipients}
        if sent_copy:
            bcc_hdr = ["Bcc: " + ", ".join(a.email for a in bcc)] if bcc \
                else []
            copy_body = sc.rfc5322(sender.email, to_addrs, "copy", text,
                                   bcc_hdr)
            copy = sc.Message(copy_body, sender=sender.email,
                              recipients=to_addrs, signer=sender.ident,
                              key=msg.key)
            copy_blob = sender.upload_ok(copy.stream)
            sub["sent_copy"] = {
                "blob_id": copy_blob, "summary": sc.b64e(copy.summary),
                "key_packet": sc.b64e(copy.key_packet(sender.ident.enc_pk)),
                "keywords": ["$seen"]}
        return sub, msg


# ---------------------------------------------------------------------------


class TestServerProcess(ApiTest):
    """The command line contract: init, the ready line, TLS, SIGTERM."""

    server_name = "main"

    def test_init_ready_and_sigterm(self):
        s = harness.Server(SALTMAILD, ["--open-signup"], "lifecycle")
        try:
            s.start()
            self.assertTrue(os.path.isfile(os.path.join(s.data, "tls",
                                                        "cert.pem")))
            self.assertRegex(s.ready_line,
                             r"^saltmaild: ready https://127\.0\.0\.1:\d+$")
            self.assertNotEqual(s.port, 0)
            r = s.request("POST", "/api/v1/auth/prelogin",
                          {"email": "x@example.org"})
            self.assertJson(r, 200)
            code = s.stop()
            self.assertEqual(code, 0, "exit code after SIGTERM")
        finally:
            s.stop()

    def test_given_certificate(self):
        # --cert and --key serve a certificate made elsewhere (here by the
        # openssl command), not the one in the data folder.
        tmp = tempfile.mkdtemp(prefix="saltmaild-cert-")
        cert = os.path.join(tmp, "c.pem")
        key = os.path.join(tmp, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=given", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        s = harness.Server(SALTMAILD, ["--cert", cert, "--key", key],
                           "given-cert")
        try:
            s.start()
            for cafile, ok in ((cert, True), (s.cert, False)):
                ctx = ssl.create_default_context(cafile=cafile)
                with socket.create_connection(("127.0.0.1", s.port),
                                              timeout=10) as raw:
                    if ok:
                        with ctx.wrap_socket(
                                raw, server_hostname="127.0.0.1") as tls:
                            peer = tls.getpeercert()
                            self.assertIn((("commonName", "given"),),
                                          peer["subject"])
                    else:
                        with self.assertRaises(ssl.SSLError):
                            ctx.wrap_socket(raw,
                                            server_hostname="127.0.0.1")
        finally:
            s.stop()
            shutil.rmtree(tmp, ignore_errors=True)

    def test_certificate_names(self):
        # The certificate verifies for 127.0.0.1 (every request does) and
        # for localhost.
        ctx = ssl.create_default_context(cafile=self.srv.cert)
        with socket.create_connection(("127.0.0.1", self.srv.port),
                                      timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                self.assertIn(tls.version(), ("TLSv1.2", "TLSv1.3"))


class TestConventions(ApiTest):
    """JSON bodies, error shape, invalid_request cases, body size limit,
    authentication required."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acct = harness.signup(cls.srv)

    def test_malformed_json(self):
        for raw in (b"{", b"not json", b"[1, 2", b'{"name": "x",}'):
            r = self.acct.req("POST", "/api/v1/mailboxes", raw=raw,
                              headers={"Content-Type": "application/json"})
            self.assertError(r, 400, "invalid_request")

    def test_unknown_field(self):
        r = self.acct.post("/api/v1/mailboxes", {"name": "U1",
                                                 "parent_id": None,
                                                 "colour": "red"})
        self.assertError(r, 400, "invalid_request")
        r = self.srv.request("POST", "/api/v1/auth/prelogin",
                             {"email": "a@example.org", "x": 1})
        self.assertError(r, 400, "invalid_request")
        r = self.srv.request("POST", "/api/v1/auth/login",
                             {"email": self.acct.email,
                              "auth_key": sc.b64e(self.acct.ident.auth_key),
                              "remember": True})
        self.assertError(r, 400, "invalid_request")
        body = harness.Account(self.srv, unique_email(),
                               harness.make_identity(
                                   harness.new_account_id())).signup_body()
        body["nickname"] = "x"
        r = self.srv.request("POST", "/api/v1/signup", body)
        self.assertError(r, 400, "invalid_request")
        self.assertNotIn("U1", [m["name"] for m in
                                self.acct.mailboxes()["mailboxes"]])

    def test_wrong_types(self):
        for body in ({"name": 5, "parent_id": None},
                     {"name": ["x"], "parent_id": None},
                     {"name": "x", "parent_id": 7}):
            r = self.acct.post("/api/v1/mailboxes", body)
            self.assertError(r, 400, "invalid_request")
        r = self.srv.request("POST", "/api/v1/auth/prelogin", {"email": 5})
        self.assertError(r, 400, "invalid_request")
        r = self.acct.post("/api/v1/messages/destroy", {"ids": "m_1"})
        self.assertError(r, 400, "invalid_request")
        r = self.acct.post("/api/v1/messages/update", {"update": []})
        self.assertError(r, 400, "invalid_request")

    def test_missing_fields(self):
        r = self.acct.post("/api/v1/mailboxes", {"parent_id": None})
        self.assertError(r, 400, "invalid_request")
        r = self.srv.request("POST", "/api/v1/auth/login",
                             {"email": self.acct.email})
        self.assertError(r, 400, "invalid_request")
        r = self.acct.post("/api/v1/messages/destroy", {})
        self.assertError(r, 400, "invalid_request")

    def test_json_body_over_1_mib(self):
        raw = (b'{"name": "Big", "parent_id": null' + b" " * (1 << 20)
               + b"}")
        r = self.acct.req("POST", "/api/v1/mailboxes", raw=raw,
                          headers={"Content-Type": "application/json"})
        self.assertError(r, 413, "too_large")

    def test_authentication_required(self):
        for method, path in (("GET", "/api/v1/account"),
                             ("GET", "/api/v1/mailboxes"),
                             ("GET", "/api/v1/messages"),
                             ("GET", "/api/v1/changes?since=x"),
                             ("GET", "/api/v1/keys?email=a%40example.org"),
                             ("GET", "/api/v1/events"),
                             ("GET", "/api/v1/blobs/b_1"),
                             ("POST", "/api/v1/blobs"),
                             ("POST", "/api/v1/mailboxes"),
                             ("POST", "/api/v1/messages/destroy"),
                             ("POST", "/api/v1/submissions"),
                             ("POST", "/api/v1/auth/logout"),
                             ("PUT", "/api/v1/account/password")):
            r = self.srv.request(method, path)
            self.assertError(r, 401, "unauthorized")
        for token in ("nonsense", "A" * 64, self.acct.refresh_token):
            r = self.srv.request("GET", "/api/v1/account", token=token)
            self.assertError(r, 401, "unauthorized")

    def test_json_content_type(self):
        r = self.acct.get("/api/v1/account")
        self.assertJson(r, 200)


class TestIdempotency(ApiTest):
    """Idempotency-Key: required on writes, replayed responses, reuse
    refused, retried imports and submissions take effect once."""

    def test_missing_key_refused_on_every_write(self):
        acct = self.account()
        mb = self.create_mailbox(acct, "Keep")
        blob = acct.upload_ok(b"SBMB-not-really")
        cases = [
            ("POST", "/api/v1/mailboxes", {"name": "NoKey",
                                           "parent_id": None}, None),
            ("PATCH", "/api/v1/mailboxes/" + mb["id"], {"name": "NoKey2"},
             None),
            ("DELETE", "/api/v1/mailboxes/" + mb["id"], None, None),
            ("POST", "/api/v1/blobs", None, b"data"),
            ("POST", "/api/v1/messages/import", acct.import_body(
                [acct.mailbox_by_role("inbox")["id"]], blob_id=blob)[0],
             None),
            ("POST", "/api/v1/messages/update", {"update": {}}, None),
            ("POST", "/api/v1/messages/destroy", {"ids": []}, None),
            ("POST", "/api/v1/submissions", {"from": acct.email,
                                             "message": {"blob_id": blob,
                                                         "summary": "AA=="},
                                             "recipients": []}, None),
            ("PUT", "/api/v1/account/password",
             {"current_auth_key": sc.b64e(acct.ident.auth_key),
              "auth_key": sc.b64e(os.urandom(32)),
              "kdf": acct.ident.kdf_json(),
              "wrapped_account_key": sc.b64e(acct.ident.wrapped_account_key)},
             None),
            ("POST", "/api/v1/auth/logout", None, None),
        ]
        for method, path, body, raw in cases:
            r = acct.req(method, path, body, raw=raw, idem=False)
            self.assertError(r, 400, "invalid_request")
        r = self.srv.request("POST", "/api/v1/auth/refresh",
                             {"refresh_token": acct.refresh_token},
                             idem=False)
        self.assertError(r, 400, "invalid_request")
        other = harness.Account(self.srv, unique_email(),
                                harness.make_identity(
                                    harness.new_account_id()))
        r = self.srv.request("POST", "/api/v1/signup", other.signup_body(),
                             idem=False)
        self.assertError(r, 400, "invalid_request")
        # Nothing happened.
        names = [m["name"] for m in acct.mailboxes()["mailboxes"]]
        self.assertIn("Keep", names)
        self.assertNotIn("NoKey", names)
        self.assertNotIn("NoKey2", names)
        self.assertEqual(self.message_ids(acct), [])
        self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertStatus(acct.login(), 200)

    def test_malformed_key_refused(self):
        acct = self.account()
        for key in ("x" * 65, "has space", "semi;colon", "dot.ted"):
            r = acct.post("/api/v1/mailboxes", {"name": "Bad",
                                                "parent_id": None}, key=key)
            self.assertError(r, 400, "invalid_request")

    def test_repeat_gives_same_response(self):
        acct = self.account()
        key = new_key()
        body = {"name": "Once", "parent_id": None}
        r1 = acct.post("/api/v1/mailboxes", body, key=key)
        j1 = self.assertJson(r1, 201)
        r2 = acct.post("/api/v1/mailboxes", body, key=key)
        j2 = self.assertJson(r2, 201)
        self.assertEqual(j1, j2)
        names = [m["name"] for m in acct.mailboxes()["mailboxes"]]
        self.assertEqual(names.count("Once"), 1)
        # The same key with another body, method or path.
        r = acct.post("/api/v1/mailboxes", {"name": "Twice",
                                            "parent_id": None}, key=key)
        self.assertError(r, 409, "idempotency_key_reused")
        r = acct.post("/api/v1/messages/destroy", {"ids": []}, key=key)
        self.assertError(r, 409, "idempotency_key_reused")
        r = acct.req("PATCH", "/api/v1/mailboxes/" + j1["id"],
                     {"name": "Once"}, key=key)
        self.assertError(r, 409, "idempotency_key_reused")
        # Keys are per account: another account may use the same key.
        other = self.account()
        r = other.post("/api/v1/mailboxes", body, key=key)
        self.assertJson(r, 201)

    def test_204_answers_replayed(self):
        acct = self.account()
        mb = self.create_mailbox(acct, "Gone")
        key = new_key()
        r1 = acct.req("DELETE", "/api/v1/mailboxes/" + mb["id"], key=key)
        self.assertStatus(r1, 204)
        r2 = acct.req("DELETE", "/api/v1/mailboxes/" + mb["id"], key=key)
        self.assertStatus(r2, 204)
        self.assertEqual(r2.body, b"")
        # Without the key it is a new request: the mailbox is gone.
        r3 = acct.req("DELETE", "/api/v1/mailboxes/" + mb["id"])
        self.assertError(r3, 404, "not_found")

    def test_query_is_part_of_the_request(self):
        acct = self.account()
        key = new_key()
        r1 = acct.upload(b"same bytes", key=key)
        self.assertJson(r1, 201)
        r2 = acct.upload(b"same bytes", transient=True, key=key)
        self.assertError(r2, 409, "idempotency_key_reused")

    def test_import_retry_imports_once(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        body, _ = acct.import_body([inbox], keywords=["$seen"])
        key = new_key()
        r1 = acct.post("/api/v1/messages/import", body, key=key)
        j1 = self.assertJson(r1, 201)
        r2 = acct.post("/api/v1/messages/import", body, key=key)
        self.assertEqual(r2.status, 201)
        self.assertEqual(r2.json, j1)
        self.assertEqual(self.message_ids(acct, inbox), [j1["id"]])
        # A fresh key for the same body is a new request (the blob is used
        # now, so it is refused, and still nothing more is imported).
        r3 = acct.post("/api/v1/messages/import", body)
        self.assertNotEqual(r3.status, 201, r3)
        self.assertEqual(self.message_ids(acct, inbox), [j1["id"]])

    def test_submission_retry_delivers_once(self):
        alice, bob = self.account(), self.account()
        inbox = bob.mailbox_by_role("inbox")["id"]
        sent = alice.mailbox_by_role("sent")["id"]
        sub, _ = self.submission(alice, [bob])
        key = new_key()
        r1 = alice.post("/api/v1/submissions", sub, key=key)
        j1 = self.assertJson(r1, 202)
        r2 = alice.post("/api/v1/submissions", sub, key=key)
        self.assertEqual(r2.status, 202)
        self.assertEqual(r2.json, j1)
        self.assertEqual(len(poll(lambda: self.message_ids(bob, inbox))), 1)
        time.sleep(0.3)  # let a second delivery, if there were one, land
        self.assertEqual(len(self.message_ids(bob, inbox)), 1)
        self.assertEqual(self.message_ids(alice, sent),
                         [j1["sent_message_id"]])
        r = alice.post("/api/v1/submissions", dict(sub, **{"from":
                                                           alice.email}),
                       key=key)
        self.assertEqual(r.status, 202)  # same body again
        sub2 = dict(sub)
        sub2["recipients"] = []
        r = alice.post("/api/v1/submissions", sub2, key=key)
        self.assertError(r, 409, "idempotency_key_reused")


class TestPrelogin(ApiTest):
    """POST /auth/prelogin for real and unknown addresses."""

    def test_real_account(self):
        acct = self.account(login=False)
        r = self.srv.request("POST", "/api/v1/auth/prelogin",
                             {"email": acct.email})
        j = self.assertJson(r, 200)
        self.assertEqual(j["kdf"], acct.ident.kdf_json())
        r = self.srv.request("POST", "/api/v1/auth/prelogin",
                             {"email": acct.email.upper()})
        self.assertEqual(self.assertJson(r, 200)["kdf"], j["kdf"])

    def test_unknown_address_is_stable_and_plausible(self):
        real = self.account(login=False)
        rj = self.srv.request("POST", "/api/v1/auth/prelogin",
                              {"email": real.email}).json
        a, b = unique_email("ghost"), unique_email("ghost")
        r1 = self.srv.request("POST", "/api/v1/auth/prelogin", {"email": a})
        r2 = self.srv.request("POST", "/api/v1/auth/prelogin", {"email": a})
        r3 = self.srv.request("POST", "/api/v1/auth/prelogin", {"email": b})
        r4 = self.srv.request("POST", "/api/v1/auth/prelogin",
                              {"email": a.upper()})
        j1 = self.assertJson(r1, 200)
        self.assertEqual(self.assertJson(r2, 200), j1)
        self.assertEqual(self.assertJson(r4, 200), j1)
        j3 = self.assertJson(r3, 200)
        self.assertNotEqual(j1["kdf"]["salt"], j3["kdf"]["salt"])
        for j in (j1, j3):
            self.assertEqual(set(j), set(rj))
            self.assertEqual(set(j["kdf"]), set(rj["kdf"]))
            self.assertEqual(j["kdf"]["alg"], "argon2id13")
            self.assertEqual(j["kdf"]["opslimit"], sc.DEFAULT_OPSLIMIT)
            self.assertEqual(j["kdf"]["memlimit"], sc.DEFAULT_MEMLIMIT)
            self.assertIs(type(j["kdf"]["opslimit"]), int)
            self.assertB64(j["kdf"]["salt"], 16)
        self.assertNotEqual(j1["kdf"]["salt"], rj["kdf"]["salt"])


class TestSignup(ApiTest):
    """POST /signup: success, lower-casing, form checks, conflicts,
    replay."""

    def fresh(self):
        return harness.Account(self.srv, unique_email(),
                               harness.make_identity(
                                   harness.new_account_id()))

    def test_signup_and_default_mailboxes(self):
        a = self.fresh()
        r = self.srv.request("POST", "/api/v1/signup", a.signup_body())
        j = self.assertJson(r, 201)
        self.assertEqual(j["account_id"], a.account_id)
        self.assertStatus(a.login(), 200)
        mbs = a.mailboxes()["mailboxes"]
        self.assertEqual(sorted(m["role"] for m in mbs),
                         sorted(ROLE_NAMES))
        for m in mbs:
            self.assertEqual(m["name"], ROLE_NAMES[m["role"]])
            self.assertIsNone(m["parent_id"])
            self.assertEqual((m["total"], m["unread"]), (0, 0))
            self.assertId(m["id"])
        self.assertEqual(len({m["id"] for m in mbs}), 6)

    def test_address_lower_cased(self):
        email = unique_email("Mixed.Case", "Example.ORG")
        acct = self.account(email=email)
        self.assertNotEqual(email, email.lower())
        j = self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertEqual(j["addresses"], [email.lower()])
        acct.email = email.upper()
        self.assertStatus(acct.login(), 200)

    def test_form_checks(self):
        def mutate(fn):
            a = self.fresh()
            body = a.signup_body()
            fn(body, a)
            r = self.srv.request("POST", "/api/v1/signup", body)
            self.assertError(r, 400, "invalid_request")
            return a

        def rewrap(field, head):
            def fn(body, a):
                raw = sc.b64d(body["keys"][field])
                body["keys"][field] = sc.b64e(head + raw[len(head):])
            return fn

        def set_key(field, value):
            def fn(body, a):
                body["keys"][field] = value
            return fn
        a = mutate(lambda b, a: b.update(account_id=a.account_id.upper()))
        mutate(lambda b, a: b.update(account_id=a.account_id[:31]))
        mutate(lambda b, a: b.update(account_id=a.account_id + "0"))
        mutate(lambda b, a: b.update(auth_key=sc.b64e(os.urandom(31))))
        mutate(lambda b, a: b.update(auth_key="!!notbase64!!"))
        mutate(lambda b, a: b["kdf"].update(salt=sc.b64e(os.urandom(15))))
        mutate(lambda b, a: b["kdf"].update(alg="scrypt"))
        mutate(lambda b, a: b.update(email="not-an-address"))
        mutate(lambda b, a: b.pop("keys"))
        mutate(set_key("enc_pk", sc.b64e(os.urandom(31))))
        mutate(set_key("sign_pk", sc.b64e(os.urandom(33))))
        mutate(rewrap("wrapped_account_key", b"SBWK\x01\x02"))
        mutate(rewrap("wrapped_enc_sk", b"SBWK\x01\x03"))
        mutate(rewrap("wrapped_sign_seed", b"SBWK\x01\x01"))
        mutate(rewrap("wrapped_enc_sk", b"SBWX"))
        mutate(rewrap("wrapped_sign_seed", b"SBWK\x02"))
        mutate(set_key("wrapped_account_key", sc.b64e(
            sc.wrap_key(os.urandom(32), os.urandom(32), 1, "x")[:77])))
        # The refused address is still free.
        r = self.srv.request("POST", "/api/v1/signup", a.signup_body())
        self.assertJson(r, 201)

    def test_conflicts(self):
        acct = self.account(login=False)
        b = self.fresh()
        body = b.signup_body()
        body["email"] = acct.email
        self.assertError(self.srv.request("POST", "/api/v1/signup", body),
                         409, "conflict")
        body["email"] = acct.email.upper()
        self.assertError(self.srv.request("POST", "/api/v1/signup", body),
                         409, "conflict")
        c = self.fresh()
        c.ident = harness.make_identity(acct.account_id)
        c.account_id = acct.account_id
        self.assertError(self.srv.request("POST", "/api/v1/signup",
                                          c.signup_body()), 409, "conflict")

    def test_repeat_with_same_key(self):
        a = self.fresh()
        key = new_key()
        r1 = self.srv.request("POST", "/api/v1/signup", a.signup_body(),
                              key=key)
        j1 = self.assertJson(r1, 201)
        r2 = self.srv.request("POST", "/api/v1/signup", a.signup_body(),
                              key=key)
        self.assertEqual((r2.status, r2.json), (201, j1))
        r3 = self.srv.request("POST", "/api/v1/signup", a.signup_body())
        self.assertError(r3, 409, "conflict")


class TestSignupModes(ApiTest):
    """Closed signup and invite codes (forbidden); `user add` on a closed
    server."""

    def attempt(self, srv, invite=None):
        a = harness.Account(srv, unique_email(),
                            harness.make_identity(harness.new_account_id()))
        return a, srv.request("POST", "/api/v1/signup", a.signup_body(invite))

    def test_closed(self):
        srv = server("closed")
        self.assertError(self.attempt(srv)[1], 403, "forbidden")
        self.assertError(self.attempt(srv, INVITE)[1], 403, "forbidden")
        # Accounts can still be made by the operator.
        email = unique_email("op")
        srv.user_add(email, "operator password 1")
        kdf = self.assertJson(srv.request("POST", "/api/v1/auth/prelogin",
                                          {"email": email}), 200)["kdf"]
        auth, _ = sc.derive_password_keys("operator password 1",
                                          sc.b64d(kdf["salt"]),
                                          kdf["opslimit"], kdf["memlimit"])
        r = srv.request("POST", "/api/v1/auth/login",
                        {"email": email, "auth_key": sc.b64e(auth)})
        self.assertJson(r, 200)

    def test_invite(self):
        srv = server("invite")
        self.assertError(self.attempt(srv)[1], 403, "forbidden")
        self.assertError(self.attempt(srv, INVITE + "x")[1], 403,
                         "forbidden")
        self.assertError(self.attempt(srv, "")[1], 403, "forbidden")
        a, r = self.attempt(srv, INVITE)
        self.assertEqual(self.assertJson(r, 201)["account_id"],
                         a.account_id)
        self.assertStatus(a.login(), 200)


class TestLogin(ApiTest):
    """POST /auth/login: the token answer and invalid_credentials."""

    def test_login_answer(self):
        acct = self.account()
        j = acct.login_response
        self.assertEqual(j["account_id"], acct.account_id)
        for f in ("access_token", "refresh_token"):
            self.assertIsInstance(j[f], str)
            self.assertTrue(0 < len(j[f].encode()) <= 128, f)
        self.assertNotEqual(j["access_token"], j["refresh_token"])
        self.assertEqual(j["expires_in"], 900)
        self.assertIsInstance(j["refresh_expires_in"], int)
        self.assertGreater(j["refresh_expires_in"], j["expires_in"])
        # A second login is a second session with other tokens.
        r = acct.login()
        self.assertNotEqual(r.json["access_token"], j["access_token"])

    def test_invalid_credentials(self):
        acct = self.account()
        r1 = self.srv.request("POST", "/api/v1/auth/login",
                              {"email": acct.email,
                               "auth_key": sc.b64e(os.urandom(32))})
        self.assertError(r1, 401, "invalid_credentials")
        r2 = self.srv.request("POST", "/api/v1/auth/login",
                              {"email": unique_email("nobody"),
                               "auth_key": sc.b64e(os.urandom(32))})
        self.assertError(r2, 401, "invalid_credentials")
        self.assertStatus(acct.login(), 200)


class TestSessions(ApiTest):
    """Refresh rotation, replay with the same key, reuse detection,
    logout."""

    def refresh(self, token, key=None):
        return self.srv.request("POST", "/api/v1/auth/refresh",
                                {"refresh_token": token}, key=key)

    def test_rotation_and_reuse_detection(self):
        acct = self.account()
        rt0 = acct.refresh_token
        key = new_key()
        r1 = self.refresh(rt0, key)
        j1 = self.assertJson(r1, 200)
        self.assertEqual(j1["account_id"], acct.account_id)
        self.assertNotEqual(j1["refresh_token"], rt0)
        self.assertIsInstance(j1["expires_in"], int)
        self.assertJson(self.srv.request("GET", "/api/v1/account",
                                         token=j1["access_token"]), 200)
        # A retry with the same Idempotency-Key is the same answer, not a
        # reuse of the rotated token.
        r1b = self.refresh(rt0, key)
        self.assertEqual((r1b.status, r1b.json), (200, j1))
        self.assertJson(self.srv.request("GET", "/api/v1/account",
                                         token=j1["access_token"]), 200)
        # The newest refresh token works once more.
        r2 = self.refresh(j1["refresh_token"])
        j2 = self.assertJson(r2, 200)
        # An already-rotated token (with a new key) revokes the session.
        self.assertError(self.refresh(j1["refresh_token"]), 401,
                         "unauthorized")
        self.assertError(self.refresh(j2["refresh_token"]), 401,
                         "unauthorized")
        self.assertError(self.srv.request("GET", "/api/v1/account",
                                          token=j2["access_token"]), 401,
                         "unauthorized")
        self.assertError(self.refresh(rt0), 401, "unauthorized")
        # Another session of the account is not touched; a new login works.
        self.assertStatus(acct.login(), 200)
        self.assertJson(acct.get("/api/v1/account"), 200)

    def test_unknown_refresh_token(self):
        self.assertError(self.refresh("no-such-token"), 401, "unauthorized")

    def test_logout(self):
        acct = self.account()
        other = harness.Account(self.srv, acct.email, acct.ident)
        self.assertStatus(other.login(), 200)
        r = acct.post("/api/v1/auth/logout")
        self.assertStatus(r, 204)
        self.assertError(acct.get("/api/v1/account"), 401, "unauthorized")
        self.assertError(self.refresh(acct.refresh_token), 401,
                         "unauthorized")
        self.assertJson(other.get("/api/v1/account"), 200)
        self.assertJson(self.refresh(other.refresh_token), 200)


class TestTokenExpiry(ApiTest):
    """token_expired with --token-ttl 1, then refresh."""

    server_name = "ttl"

    def test_expiry(self):
        acct = self.account()
        self.assertEqual(acct.login_response["expires_in"], 1)
        time.sleep(2.2)
        self.assertError(acct.get("/api/v1/account"), 401, "token_expired")
        r = self.srv.request("POST", "/api/v1/auth/refresh",
                             {"refresh_token": acct.refresh_token})
        j = self.assertJson(r, 200)
        r = self.srv.request("GET", "/api/v1/account",
                             token=j["access_token"])
        self.assertIn(r.status, (200, 401), r)
        if r.status == 401:  # only if a whole second passed in between
            self.assertEqual(r.error_type, "token_expired")


class TestRateLimit(ApiTest):
    """rate_limited with Retry-After after --login-limit failed logins."""

    server_name = "limits"

    def test_failed_logins(self):
        acct = self.account(login=False)
        bad = {"email": acct.email, "auth_key": sc.b64e(os.urandom(32))}
        for _ in range(LIMIT_LOGINS):
            r = self.srv.request("POST", "/api/v1/auth/login", bad)
            self.assertError(r, 401, "invalid_credentials")
        r = self.srv.request("POST", "/api/v1/auth/login", bad)
        self.assertError(r, 429, "rate_limited")
        self.assertIn("retry-after", r.headers)
        self.assertRegex(r.headers["retry-after"].strip(), r"^\d+$")


class TestAccount(ApiTest):
    """GET /account fields; keys unwrap; PUT /account/password."""

    def test_fields(self):
        acct = self.account()
        j = self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertEqual(j["account_id"], acct.account_id)
        self.assertEqual(j["addresses"], [acct.email])
        self.assertIsInstance(j["quota"]["used"], int)
        self.assertGreaterEqual(j["quota"]["used"], 0)
        self.assertEqual(j["quota"]["limit"], DEFAULT_QUOTA)
        self.assertEqual(j["limits"], {"max_blob": DEFAULT_MAX_BLOB,
                                       "max_batch": 500, "max_page": 500})
        self.assertEqual(j["kdf"], acct.ident.kdf_json())
        want = acct.ident.keys_json()
        want["fingerprint"] = acct.ident.fingerprint()
        for k, v in want.items():
            self.assertIn(k, j["keys"])
            self.assertEqual(j["keys"][k], v, k)
        ident = sc.Identity.from_server(acct.account_id, acct.ident.password,
                                        j["kdf"], j["keys"])
        self.assertEqual(ident.enc_sk, acct.ident.enc_sk)

    def test_password_change(self):
        acct = self.account()
        other = harness.Account(self.srv, acct.email, acct.ident)
        self.assertStatus(other.login(), 200)
        old_auth = acct.ident.auth_key
        old_enc_wrapped = acct.ident.wrapped_enc_sk
        account_key = acct.ident.account_key
        body = acct.ident.change_password("a brand new password")
        r = acct.req("PUT", "/api/v1/account/password", body)
        self.assertStatus(r, 204)
        # This session stays, every other one is revoked.
        j = self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertError(other.get("/api/v1/account"), 401, "unauthorized")
        self.assertEqual(j["kdf"], body["kdf"])
        self.assertEqual(j["keys"]["wrapped_account_key"],
                         body["wrapped_account_key"])
        self.assertEqual(sc.b64d(j["keys"]["wrapped_enc_sk"]),
                         old_enc_wrapped)
        ident = sc.Identity.from_server(acct.account_id,
                                        "a brand new password", j["kdf"],
                                        j["keys"])
        self.assertEqual(ident.account_key, account_key)
        pre = self.srv.request("POST", "/api/v1/auth/prelogin",
                               {"email": acct.email}).json
        self.assertEqual(pre["kdf"], body["kdf"])
        self.assertError(acct.login(old_auth), 401, "invalid_credentials")
        self.assertStatus(acct.login(), 200)
        self.assertJson(acct.get("/api/v1/account"), 200)

    def test_password_change_needs_current_key(self):
        # An access token alone cannot take the account over.
        acct = self.account()
        other = harness.Account(self.srv, acct.email, acct.ident)
        self.assertStatus(other.login(), 200)
        before = self.assertJson(acct.get("/api/v1/account"), 200)
        ident = sc.Identity.from_server(acct.account_id, acct.ident.password,
                                        before["kdf"], before["keys"])
        body = ident.change_password("the thief's password")
        for wrong in (sc.b64e(os.urandom(32)), None):
            bad = dict(body)
            if wrong is None:
                del bad["current_auth_key"]
                r = acct.req("PUT", "/api/v1/account/password", bad)
                self.assertError(r, 400, "invalid_request")
            else:
                bad["current_auth_key"] = wrong
                r = acct.req("PUT", "/api/v1/account/password", bad)
                self.assertError(r, 403, "forbidden")
        # Nothing changed: the old password still logs in, the other
        # session lives, the keys are as they were.
        after = self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertEqual(after["kdf"], before["kdf"])
        self.assertEqual(after["keys"], before["keys"])
        self.assertJson(other.get("/api/v1/account"), 200)
        self.assertStatus(acct.login(), 200)


class TestKeys(ApiTest):
    """GET /keys for on-service and off-service addresses."""

    def test_lookup(self):
        alice, bob = self.account(), self.account()
        r = alice.get("/api/v1/keys?" + qs(email=bob.email.upper()))
        j = self.assertJson(r, 200)
        self.assertEqual(j["email"], bob.email)
        self.assertIs(j["on_service"], True)
        self.assertEqual(sc.b64d(j["enc_pk"]), bob.ident.enc_pk)
        self.assertEqual(sc.b64d(j["sign_pk"]), bob.ident.sign_pk)
        self.assertEqual(j["fingerprint"], bob.ident.fingerprint())
        r = alice.get("/api/v1/keys?" + qs(email="Carol@Elsewhere.Example"))
        j = self.assertJson(r, 200)
        self.assertEqual(j["email"], "carol@elsewhere.example")
        self.assertIs(j["on_service"], False)
        self.assertFalse(j.get("enc_pk"))
        self.assertFalse(j.get("sign_pk"))
        self.assertError(alice.get("/api/v1/keys"), 400, "invalid_request")


class TestMailboxes(ApiTest):
    """Mailbox create, rename, move, delete, roles, names, counts."""

    def mb(self, acct, mid):
        for m in acct.mailboxes()["mailboxes"]:
            if m["id"] == mid:
                return m
        return None

    def patch(self, acct, mid, body):
        return acct.req("PATCH", "/api/v1/mailboxes/" + mid, body)

    def delete(self, acct, mid, remove=False):
        path = "/api/v1/mailboxes/" + mid
        if remove:
            path += "?remove_messages=true"
        return acct.req("DELETE", path)

    def test_create_rename_move_delete(self):
        acct = self.account()
        s0 = acct.state()
        parent = self.create_mailbox(acct, "Projects")
        self.assertId(parent["id"])
        self.assertEqual(parent["name"], "Projects")
        self.assertIsNone(parent["parent_id"])
        self.assertIsNone(parent["role"])
        self.assertEqual((parent["total"], parent["unread"]), (0, 0))
        child = self.create_mailbox(acct, "2024", parent["id"])
        self.assertEqual(child["parent_id"], parent["id"])
        listing = acct.mailboxes()
        self.assertNotEqual(listing["state"], s0)
        self.assertIn(child["id"], [m["id"] for m in listing["mailboxes"]])
        # Rename.
        j = self.assertJson(self.patch(acct, child["id"], {"name": "2025"}),
                            200)
        self.assertEqual((j["id"], j["name"], j["parent_id"]),
                         (child["id"], "2025", parent["id"]))
        # Move to the top and back.
        j = self.assertJson(self.patch(acct, child["id"],
                                       {"parent_id": None}), 200)
        self.assertIsNone(j["parent_id"])
        j = self.assertJson(self.patch(acct, child["id"],
                                       {"parent_id": parent["id"],
                                        "name": "Old"}), 200)
        self.assertEqual((j["name"], j["parent_id"]), ("Old", parent["id"]))
        # A parent with a child cannot be deleted.
        self.assertError(self.delete(acct, parent["id"]), 409, "conflict")
        self.assertStatus(self.delete(acct, child["id"]), 204)
        self.assertStatus(self.delete(acct, parent["id"]), 204)
        ids = [m["id"] for m in acct.mailboxes()["mailboxes"]]
        self.assertNotIn(parent["id"], ids)
        self.assertNotIn(child["id"], ids)
        self.assertError(self.delete(acct, parent["id"]), 404, "not_found")
        self.assertError(self.patch(acct, parent["id"], {"name": "X"}), 404,
                         "not_found")

    def test_no_cycles(self):
        acct = self.account()
        a = self.create_mailbox(acct, "A")
        b = self.create_mailbox(acct, "B", a["id"])
        c = self.create_mailbox(acct, "C", b["id"])
        self.assertError(self.patch(acct, a["id"], {"parent_id": a["id"]}),
                         400, "invalid_request")
        self.assertError(self.patch(acct, a["id"], {"parent_id": c["id"]}),
                         400, "invalid_request")
        self.assertIsNone(self.mb(acct, a["id"])["parent_id"])

    def test_sibling_names(self):
        acct = self.account()
        a = self.create_mailbox(acct, "Same")
        self.assertError(acct.post("/api/v1/mailboxes",
                                   {"name": "Same", "parent_id": None}),
                         409, "conflict")
        under = self.create_mailbox(acct, "Same", a["id"])
        other = self.create_mailbox(acct, "Other")
        self.assertError(self.patch(acct, other["id"], {"name": "Same"}),
                         409, "conflict")
        self.assertError(self.patch(acct, under["id"], {"parent_id": None}),
                         409, "conflict")
        self.assertError(acct.post("/api/v1/mailboxes",
                                   {"name": "INBOX", "parent_id": None}),
                         409, "conflict")

    def test_names(self):
        acct = self.account()
        for bad in ("", "a/b", "tab\there", "nl\n", "del\x7f", "x" * 256,
                    "\u00e9" * 128):
            r = acct.post("/api/v1/mailboxes", {"name": bad,
                                                "parent_id": None})
            self.assertError(r, 400, "invalid_request")
        self.create_mailbox(acct, "x" * 255)
        j = self.create_mailbox(acct, "Caf\u00e9 \u2603")
        self.assertEqual(j["name"], "Caf\u00e9 \u2603")

    def test_role_mailboxes_fixed(self):
        acct = self.account()
        box = self.create_mailbox(acct, "Box")
        for role in ROLE_NAMES:
            mb = acct.mailbox_by_role(role)
            self.assertError(self.patch(acct, mb["id"], {"name": "R" + role}),
                             409, "conflict")
            self.assertError(self.patch(acct, mb["id"],
                                        {"parent_id": box["id"]}),
                             409, "conflict")
            self.assertError(self.delete(acct, mb["id"]), 409, "conflict")
            self.assertError(self.delete(acct, mb["id"], remove=True), 409,
                             "conflict")
        roles = {m["role"]: m["name"] for m in
                 acct.mailboxes()["mailboxes"] if m["role"]}
        self.assertEqual(roles, ROLE_NAMES)
        # A role mailbox may hold children.
        inbox = acct.mailbox_by_role("inbox")
        sub = self.create_mailbox(acct, "Sub", inbox["id"])
        self.assertEqual(sub["parent_id"], inbox["id"])

    def test_counts_and_delete_with_messages(self):
        acct = self.account()
        box = self.create_mailbox(acct, "Full")
        archive = acct.mailbox_by_role("archive")["id"]
        only, _ = acct.import_message([box["id"]], keywords=["$seen"])
        both, _ = acct.import_message([box["id"], archive])
        m = self.mb(acct, box["id"])
        self.assertEqual((m["total"], m["unread"]), (2, 1))
        self.assertError(self.delete(acct, box["id"]), 409, "conflict")
        self.assertEqual(self.mb(acct, box["id"])["total"], 2)
        self.assertStatus(self.delete(acct, box["id"], remove=True), 204)
        self.assertIsNone(self.mb(acct, box["id"]))
        self.assertError(acct.get("/api/v1/messages/" + only["id"]), 404,
                         "not_found")
        j = self.get_message(acct, both["id"])
        self.assertEqual(j["mailbox_ids"], [archive])

    def test_unknown_parent(self):
        acct = self.account()
        r = acct.post("/api/v1/mailboxes", {"name": "Orphan",
                                            "parent_id": "mb_nope"})
        self.assertError(r, 404, "not_found")


class TestBlobs(ApiTest):
    """Blob upload, download, Range, ETag, quota use, transient."""

    def test_upload_download_range(self):
        acct = self.account()
        used0 = acct.get("/api/v1/account").json["quota"]["used"]
        data = os.urandom(100000)
        r = acct.upload(data)
        j = self.assertJson(r, 201)
        self.assertId(j["blob_id"])
        self.assertEqual(j["size"], len(data))
        used1 = acct.get("/api/v1/account").json["quota"]["used"]
        self.assertEqual(used1 - used0, len(data))
        r = self.download(acct, j["blob_id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.body, data)
        self.assertTrue(r.content_type.startswith("application/octet-stream"),
                        r.content_type)
        etag = r.headers.get("etag", "")
        self.assertEqual(etag.replace("W/", "").strip('"'), j["blob_id"])
        for a, b in ((10, 19), (0, 0), (99999, 99999), (0, 99999)):
            r = self.download(acct, j["blob_id"], "bytes=%d-%d" % (a, b))
            self.assertStatus(r, 206)
            self.assertEqual(r.headers.get("content-range"),
                             "bytes %d-%d/%d" % (a, b, len(data)))
            self.assertEqual(r.body, data[a:b + 1])
        for rng in ("bytes=100000-100010", "bytes=200000-200001"):
            r = self.download(acct, j["blob_id"], rng)
            self.assertError(r, 416, "range_not_satisfiable")
        # A second upload adds to the quota too.
        acct.upload_ok(os.urandom(5000))
        used2 = acct.get("/api/v1/account").json["quota"]["used"]
        self.assertEqual(used2 - used1, 5000)

    def test_range_bounds(self):
        acct = self.account()
        data = os.urandom(2000)
        blob = acct.upload_ok(data)
        r = self.download(acct, blob, "bytes=999-99999999999999999999")
        self.assertStatus(r, 206)
        self.assertEqual(r.headers["content-range"], "bytes 999-1999/2000")
        self.assertEqual(r.body, data[999:])
        r = self.download(acct, blob, "bytes=-99999999999999999999")
        self.assertStatus(r, 206)
        self.assertEqual(r.body, data)
        for range_ in ("bytes=2000-", "bytes=99999999999999999999-",
                       "bytes=5000-99999999999999999999"):
            r = self.download(acct, blob, range_)
            self.assertError(r, 416, "range_not_satisfiable")

    def test_unknown_blob(self):
        acct = self.account()
        self.assertError(self.download(acct, "b_nope"), 404, "not_found")

    def test_transient(self):
        acct = self.account()
        clear = sc.rfc5322(acct.email, ["carol@elsewhere.example"], "hi",
                           "clear text")
        r = acct.upload(clear, transient=True)
        j = self.assertJson(r, 201)
        self.assertId(j["blob_id"])
        self.assertEqual(j["size"], len(clear))


class TestLimits(ApiTest):
    """--max-blob (too_large), --quota (over_quota), limits reported."""

    server_name = "limits"

    def test_reported(self):
        acct = self.account()
        j = self.assertJson(acct.get("/api/v1/account"), 200)
        self.assertEqual(j["quota"]["limit"], LIMIT_QUOTA)
        self.assertEqual(j["limits"]["max_blob"], LIMIT_MAX_BLOB)

    def test_too_large(self):
        acct = self.account()
        r = acct.upload(os.urandom(LIMIT_MAX_BLOB + 1))
        self.assertError(r, 413, "too_large")
        used = acct.get("/api/v1/account").json["quota"]["used"]
        self.assertEqual(used, 0)
        r = acct.upload(os.urandom(LIMIT_MAX_BLOB))
        self.assertJson(r, 201)

    def test_over_quota(self):
        acct = self.account()
        size = 90000
        acct.upload_ok(os.urandom(size))
        acct.upload_ok(os.urandom(size))
        r = acct.upload(os.urandom(size))
        self.assertError(r, 413, "over_quota")
        used = acct.get("/api/v1/account").json["quota"]["used"]
        self.assertEqual(used, 2 * size)
        self.assertLessEqual(used, LIMIT_QUOTA)
        # Another account has its own quota.
        other = self.account()
        other.upload_ok(os.urandom(size))


class TestMessages(ApiTest):
    """Message import, get, form checks, update, destroy."""

    def test_import_and_get(self):
        acct = self.account()
        drafts = acct.mailbox_by_role("drafts")["id"]
        body, msg = acct.import_body([drafts], keywords=["$draft", "$seen"],
                                     received_at=1795000000)
        s0 = acct.state()
        r = acct.post("/api/v1/messages/import", body)
        j = self.assertJson(r, 201)
        self.assertId(j["id"])
        self.assertEqual(j["blob_id"], body["blob_id"])
        self.assertEqual(j["size"], len(msg.stream))
        self.assertEqual(j["received_at"], 1795000000)
        self.assertEqual(sc.b64d(j["summary"]), msg.summary)
        self.assertEqual(self.assertB64(j["key_packet"], 85),
                         sc.b64d(body["key_packet"]))
        self.assertEqual(j["mailbox_ids"], [drafts])
        self.assertEqual(sorted(j["keywords"]), ["$draft", "$seen"])
        self.assertNotEqual(acct.state(), s0)
        self.assertEqual(norm(self.get_message(acct, j["id"])), norm(j))
        # The stored objects open.
        key = sc.key_packet_open(sc.b64d(j["key_packet"]), acct.ident.enc_pk,
                                 acct.ident.enc_sk)
        fields = sc.summary_open(sc.b64d(j["summary"]), key)
        blob = self.download(acct, j["blob_id"])
        self.assertStatus(blob, 200)
        plain = sc.body_open(blob.body, key)
        self.assertEqual(sc.verdict(fields, plain, acct.ident.sign_pk),
                         "valid")
        # received_at defaults to now.
        j2, _ = acct.import_message([drafts])
        self.assertLess(abs(j2["received_at"] - time.time()), 3600)
        self.assertEqual(j2["keywords"], [])

    def test_import_form_checks(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]

        def attempt(fn, status=400, etype="invalid_request"):
            body, _ = acct.import_body([inbox])
            fn(body)
            self.assertError(acct.post("/api/v1/messages/import", body),
                             status, etype)
        attempt(lambda b: b.update(summary=sc.b64e(
            b"SBMX\x01" + sc.b64d(b["summary"])[5:])))
        attempt(lambda b: b.update(summary=sc.b64e(
            b"SBMS\x02" + sc.b64d(b["summary"])[5:])))
        attempt(lambda b: b.update(key_packet=sc.b64e(
            sc.b64d(b["key_packet"])[:84])))
        attempt(lambda b: b.update(key_packet=sc.b64e(
            b"SBKQ" + sc.b64d(b["key_packet"])[4:])))
        attempt(lambda b: b.update(mailbox_ids=[]))
        attempt(lambda b: b.update(keywords=["has space"]))
        attempt(lambda b: b.update(keywords=["(paren"]))
        attempt(lambda b: b.update(keywords=["k" * 65]))
        attempt(lambda b: b.update(keywords=["k%d" % i for i in range(101)]))
        attempt(lambda b: b.update(received_at="yesterday"))
        attempt(lambda b: b.update(blob_id="b_nope"), 404, "not_found")
        self.assertEqual(self.message_ids(acct), [])

    def test_blob_used_once(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        body, _ = acct.import_body([inbox])
        self.assertJson(acct.post("/api/v1/messages/import", body), 201)
        again, _ = acct.import_body([inbox], blob_id=body["blob_id"])
        r = acct.post("/api/v1/messages/import", again)
        self.assertGreaterEqual(r.status, 400, r)
        self.assertLess(r.status, 500, r)
        self.assertEqual(len(self.message_ids(acct)), 1)

    def update(self, acct, patches):
        return acct.post("/api/v1/messages/update", {"update": patches})

    def test_update(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        archive = acct.mailbox_by_role("archive")["id"]
        trash = acct.mailbox_by_role("trash")["id"]
        m, _ = acct.import_message([inbox])
        s0 = acct.state()
        r = self.update(acct, {m["id"]: {
            "add_keywords": ["$seen", "$flagged"], "remove_keywords": [],
            "add_mailbox_ids": [archive], "remove_mailbox_ids": [inbox]}})
        j = self.assertJson(r, 200)
        self.assertEqual(j["updated"], [m["id"]])
        self.assertEqual(j["not_updated"], {})
        self.assertIsInstance(j["state"], str)
        self.assertNotEqual(j["state"], s0)
        g = self.get_message(acct, m["id"])
        self.assertEqual(sorted(g["keywords"]), ["$flagged", "$seen"])
        self.assertEqual(g["mailbox_ids"], [archive])
        r = self.update(acct, {m["id"]: {"remove_keywords": ["$flagged"],
                                         "add_keywords": ["$answered",
                                                          "custom-tag"]}})
        self.assertEqual(self.assertJson(r, 200)["updated"], [m["id"]])
        g = self.get_message(acct, m["id"])
        self.assertEqual(sorted(g["keywords"]),
                         ["$answered", "$seen", "custom-tag"])
        # Replace forms.
        r = self.update(acct, {m["id"]: {"keywords": ["$forwarded"],
                                         "mailbox_ids": [inbox, trash]}})
        self.assertEqual(self.assertJson(r, 200)["updated"], [m["id"]])
        g = self.get_message(acct, m["id"])
        self.assertEqual(g["keywords"], ["$forwarded"])
        self.assertEqual(sorted(g["mailbox_ids"]), sorted([inbox, trash]))
        # Content is immutable.
        self.assertEqual((g["blob_id"], g["summary"], g["key_packet"]),
                         (m["blob_id"], m["summary"], m["key_packet"]))

    def test_update_refusals(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        m, _ = acct.import_message([inbox])
        n, _ = acct.import_message([inbox])
        # Leaving a message in no mailbox: refused for that message only.
        r = self.update(acct, {m["id"]: {"remove_mailbox_ids": [inbox]},
                               n["id"]: {"add_keywords": ["$seen"]},
                               "m_nope": {"add_keywords": ["$seen"]}})
        j = self.assertJson(r, 200)
        self.assertEqual(j["updated"], [n["id"]])
        self.assertEqual(j["not_updated"][m["id"]]["type"],
                         "invalid_request")
        self.assertIsInstance(j["not_updated"][m["id"]]["message"], str)
        self.assertEqual(j["not_updated"]["m_nope"]["type"], "not_found")
        self.assertEqual(self.get_message(acct, m["id"])["mailbox_ids"],
                         [inbox])
        # The replace form with no mailbox.
        r = self.update(acct, {m["id"]: {"mailbox_ids": []}})
        self.assertRefusedFor(r, m["id"])
        # Both forms at once.
        r = self.update(acct, {m["id"]: {"keywords": ["$seen"],
                                         "add_keywords": ["$flagged"]}})
        self.assertRefusedFor(r, m["id"])
        # A bad keyword.
        r = self.update(acct, {m["id"]: {"add_keywords": ["bad keyword"]}})
        self.assertRefusedFor(r, m["id"])
        g = self.get_message(acct, m["id"])
        self.assertEqual((g["keywords"], g["mailbox_ids"]), ([], [inbox]))

    def assertRefusedFor(self, r, mid):
        """invalid_request, either for the whole request or for that
        message (docs/api.md does not say which for every case)."""
        if r.status == 400:
            self.assertError(r, 400, "invalid_request")
        else:
            j = self.assertJson(r, 200)
            self.assertNotIn(mid, j["updated"])
            self.assertEqual(j["not_updated"][mid]["type"],
                             "invalid_request")

    def test_destroy(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        m, _ = acct.import_message([inbox])
        keep, _ = acct.import_message([inbox])
        used0 = acct.get("/api/v1/account").json["quota"]["used"]
        s0 = acct.state()
        r = acct.post("/api/v1/messages/destroy", {"ids": [m["id"],
                                                           "m_nope"]})
        j = self.assertJson(r, 200)
        self.assertEqual(j["destroyed"], [m["id"]])
        self.assertEqual(list(j["not_destroyed"]), ["m_nope"])
        self.assertEqual(j["not_destroyed"]["m_nope"]["type"], "not_found")
        self.assertNotEqual(j["state"], s0)
        self.assertError(acct.get("/api/v1/messages/" + m["id"]), 404,
                         "not_found")
        self.assertEqual(self.message_ids(acct), [keep["id"]])
        r = acct.post("/api/v1/messages/destroy", {"ids": [m["id"]]})
        self.assertEqual(self.assertJson(r, 200)["not_destroyed"][m["id"]]
                         ["type"], "not_found")
        # The blob no message uses is gone, and the quota shrinks.
        gone = poll(lambda: self.download(acct, m["blob_id"]).status == 404)
        self.assertTrue(gone, "blob of a destroyed message still readable")
        used1 = acct.get("/api/v1/account").json["quota"]["used"]
        self.assertLess(used1, used0)
        self.assertStatus(self.download(acct, keep["blob_id"]), 200)

    def test_unknown_message(self):
        acct = self.account()
        self.assertError(acct.get("/api/v1/messages/m_nope"), 404,
                         "not_found")


class TestMessageList(ApiTest):
    """GET /messages: order, next_cursor paging, stable cursors, limits."""

    def walk(self, acct, mailbox_id, limit, after_first=None):
        pages, cursor, first = [], None, True
        for _ in range(200):
            r = acct.get("/api/v1/messages?" + qs(mailbox_id=mailbox_id,
                                                  limit=limit,
                                                  cursor=cursor))
            j = self.assertJson(r, 200)
            self.assertIsInstance(j["state"], str)
            self.assertLessEqual(len(j["messages"]), limit)
            pages.append(j["messages"])
            cursor = j["next_cursor"]
            if first and after_first:
                after_first()
            first = False
            if cursor is None:
                return pages
            self.assertIsInstance(cursor, str)
        self.fail("paging does not end")

    def test_paging(self):
        acct = self.account()
        box = self.create_mailbox(acct, "Paged")["id"]
        other = acct.mailbox_by_role("archive")["id"]
        base = 1790000000
        want = []
        for i in range(23):
            # Pairs share a received_at, so the id breaks ties.
            m, _ = acct.import_message([box], received_at=base + i // 2)
            want.append(m["id"])
        acct.import_message([other], received_at=base + 100)
        pages = self.walk(acct, box, 5)
        self.assertGreaterEqual(len(pages), 5)
        got = [m for p in pages for m in p]
        ids = [m["id"] for m in got]
        self.assertEqual(len(ids), len(set(ids)), "duplicates")
        self.assertEqual(set(ids), set(want))
        times = [m["received_at"] for m in got]
        self.assertEqual(times, sorted(times, reverse=True))
        for m in got:
            self.assertEqual(m["mailbox_ids"], [box])
            self.assertNotIn("body", m)
        # A page as large as everything, and all mailboxes together.
        pages = self.walk(acct, box, 500)
        self.assertEqual([m["id"] for m in pages[0]], ids)
        self.assertEqual(len(self.message_ids(acct)), 24)
        self.assertEqual(len(self.message_ids(acct, other)), 1)

    def test_cursor_stable_across_changes(self):
        acct = self.account()
        box = self.create_mailbox(acct, "Stable")["id"]
        base = 1790000000
        want = [acct.import_message([box], received_at=base + i)[0]["id"]
                for i in range(9)]
        added = []

        def add():
            added.append(acct.import_message(
                [box], received_at=base + 1000)[0]["id"])
        pages = self.walk(acct, box, 4, after_first=add)
        ids = [m["id"] for p in pages for m in p]
        self.assertNotIn(added[0], ids)
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(set(ids), set(want))
        self.assertEqual(ids, list(reversed(want)))

    def test_limit_range(self):
        acct = self.account()
        for bad in ("0", "501", "-1", "many"):
            r = acct.get("/api/v1/messages?limit=" + bad)
            self.assertError(r, 400, "invalid_request")
        j = self.assertJson(acct.get("/api/v1/messages?limit=500"), 200)
        self.assertEqual((j["messages"], j["next_cursor"]), ([], None))


class TestChanges(ApiTest):
    """GET /changes: contents, has_more paging, bounds."""

    def ok(self, acct, since, max_ids=None):
        j = self.assertJson(self.changes(acct, since, max_ids), 200)
        self.assertEqual(j["old_state"], since)
        for kind in ("messages", "mailboxes"):
            lists = [j[kind][x] for x in ("created", "updated", "destroyed")]
            flat = [i for lst in lists for i in lst]
            self.assertEqual(len(flat), len(set(flat)),
                             "an id in two lists: %r" % j)
        return j

    def test_contents(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        s0 = acct.state()
        j = self.ok(acct, s0)
        self.assertEqual(j["new_state"], s0)
        self.assertIs(j["has_more"], False)
        for kind in ("messages", "mailboxes"):
            self.assertEqual(j[kind], {"created": [], "updated": [],
                                       "destroyed": []})
        m, _ = acct.import_message([inbox])
        s1 = acct.state()
        j = self.ok(acct, s0)
        self.assertEqual(j["new_state"], s1)
        self.assertEqual(j["messages"]["created"], [m["id"]])
        self.assertIn(inbox, j["mailboxes"]["updated"])
        self.assertJson(acct.post("/api/v1/messages/update", {
            "update": {m["id"]: {"add_keywords": ["$seen"]}}}), 200)
        s2 = acct.state()
        j = self.ok(acct, s1)
        self.assertEqual(j["messages"]["updated"], [m["id"]])
        self.assertEqual(j["messages"]["created"], [])
        self.assertIn(inbox, j["mailboxes"]["updated"])  # unread changed
        j = self.ok(acct, s0)
        self.assertEqual(j["messages"]["created"], [m["id"]])
        self.assertEqual(j["messages"]["updated"], [])
        self.assertJson(acct.post("/api/v1/messages/destroy",
                                  {"ids": [m["id"]]}), 200)
        j = self.ok(acct, s2)
        self.assertEqual(j["messages"]["destroyed"], [m["id"]])
        j = self.ok(acct, s0)
        self.assertNotIn(m["id"], j["messages"]["created"])
        self.assertNotIn(m["id"], j["messages"]["updated"])
        # Mailboxes.
        s3 = acct.state()
        box = self.create_mailbox(acct, "Feed")
        j = self.ok(acct, s3)
        self.assertEqual(j["mailboxes"]["created"], [box["id"]])
        s4 = j["new_state"]
        self.assertJson(acct.req("PATCH", "/api/v1/mailboxes/" + box["id"],
                                 {"name": "Fed"}), 200)
        j = self.ok(acct, s4)
        self.assertEqual(j["mailboxes"]["updated"], [box["id"]])
        s5 = j["new_state"]
        self.assertStatus(acct.req("DELETE",
                                   "/api/v1/mailboxes/" + box["id"]), 204)
        j = self.ok(acct, s5)
        self.assertEqual(j["mailboxes"]["destroyed"], [box["id"]])

    def test_has_more_paging(self):
        acct = self.account()
        inbox = acct.mailbox_by_role("inbox")["id"]
        s0 = acct.state()
        want = {acct.import_message([inbox])[0]["id"] for _ in range(12)}
        final = acct.state()
        since, created, saw_more = s0, [], False
        for _ in range(50):
            j = self.ok(acct, since, 5)
            n = sum(len(j[k][x]) for k in ("messages", "mailboxes")
                    for x in ("created", "updated", "destroyed"))
            self.assertLessEqual(n, 5)
            created += j["messages"]["created"]
            if not j["has_more"]:
                break
            saw_more = True
            self.assertNotEqual(j["new_state"], since)
            since = j["new_state"]
        else:
            self.fail("has_more never ends")
        self.assertTrue(saw_more)
        self.assertEqual(j["new_state"], final)
        self.assertEqual(len(created), len(set(created)))
        self.assertEqual(set(created), want)

    def test_bounds(self):
        acct = self.account()
        s = acct.state()
        for bad in ("0", "5001", "x"):
            self.assertError(self.changes(acct, s, bad), 400,
                             "invalid_request")
        self.ok(acct, s, 5000)
        self.ok(acct, s, 1)


class TestChangesExpired(ApiTest):
    """cannot_calculate_changes past --changes-keep."""

    server_name = "limits"

    def test_resync(self):
        acct = self.account()
        s0 = acct.state()
        for i in range(10 * LIMIT_CHANGES_KEEP):
            self.create_mailbox(acct, "Box%d" % i)
        r = self.changes(acct, s0)
        self.assertError(r, 410, "cannot_calculate_changes")
        s1 = acct.state()
        j = self.assertJson(self.changes(acct, s1), 200)
        self.assertEqual(j["new_state"], s1)


class TestEvents(ApiTest):
    """GET /events: the state on connect, after an API change, after
    `saltmaild deliver`."""

    def test_stream(self):
        acct = self.account()
        stream = harness.EventStream(self.srv, acct.access_token)
        try:
            self.assertEqual(stream.status, 200)
            self.assertTrue(stream.content_type.startswith(
                "text/event-stream"), stream.content_type)
            ev = stream.next(timeout=WAIT)
            self.assertIsNotNone(ev, "no event on connect")
            self.assertEqual(ev[0], "state")
            s0 = json.loads(ev[1])["state"]
            self.assertEqual(s0, acct.state())
            self.create_mailbox(acct, "Pushed")
            s1 = acct.state()
            got = stream.wait_state(lambda s: s == s1, timeout=WAIT)
            self.assertEqual(got, s1, "no state event after a change")
            self.srv.deliver(acct.email, sc.rfc5322(
                "outside@elsewhere.example", [acct.email], "pushed",
                "from outside"))
            got = stream.wait_state(lambda s: s != s1, timeout=WAIT)
            self.assertIsNotNone(got, "no state event after deliver")
            self.assertNotEqual(acct.state(), s1)
        finally:
            stream.close()

    def test_stream_ends_with_its_session(self):
        acct = self.account()
        stream = harness.EventStream(self.srv, acct.access_token)
        try:
            self.assertEqual(stream.status, 200)
            self.assertIsNotNone(stream.next(timeout=WAIT))
            self.assertStatus(acct.post("/api/v1/auth/logout"), 204)
            self.assertTrue(stream.ended(timeout=WAIT),
                            "the stream outlived its session")
        finally:
            stream.close()

    def test_needs_token(self):
        r = self.srv.request("GET", "/api/v1/events",
                             headers={"Accept": "text/event-stream"})
        self.assertError(r, 401, "unauthorized")


class TestSubmissions(ApiTest):
    """Submissions between accounts: delivery with key packets, opening
    and verifying, Sent copy, Bcc, forbidden, unknown_recipient."""

    def test_between_accounts(self):
        alice, bob, carol = self.account(), self.account(), self.account()
        bob_inbox = bob.mailbox_by_role("inbox")["id"]
        alice_sent = alice.mailbox_by_role("sent")["id"]
        # Alice looks up the keys as a client would.
        kb = self.assertJson(alice.get("/api/v1/keys?" + qs(
            email=bob.email)), 200)
        self.assertEqual(sc.b64d(kb["enc_pk"]), bob.ident.enc_pk)
        sub, msg = self.submission(alice, [bob], bcc=[carol],
                                   text="secret text " + new_key())
        r = alice.post("/api/v1/submissions", sub)
        j = self.assertJson(r, 202)
        self.assertId(j["submission_id"])
        self.assertEqual(sorted(j["delivered"]),
                         sorted([bob.email, carol.email]))
        self.assertEqual(j["relayed"], [])
        self.assertEqual(j["deferred"], [])
        self.assertId(j["sent_message_id"])
        # Bob opens it with his own key and verifies Alice's signature
        # with her key from the key lookup.
        ka = self.assertJson(bob.get("/api/v1/keys?" + qs(
            email=alice.email)), 200)
        alice_sign_pk = sc.b64d(ka["sign_pk"])
        ids = poll(lambda: self.message_ids(bob, bob_inbox))
        self.assertEqual(len(ids), 1)
        m = self.get_message(bob, ids[0])
        self.assertEqual(m["mailbox_ids"], [bob_inbox])
        packet = self.assertB64(m["key_packet"], 85)
        self.assertEqual(packet, sc.b64d(sub["recipients"][0]["key_packet"]))
        key = sc.key_packet_open(packet, bob.ident.enc_pk, bob.ident.enc_sk)
        self.assertEqual(key, msg.key)
        fields = sc.summary_open(sc.b64d(m["summary"]), key)
        self.assertEqual(fields["sender"], alice.email.encode())
        blob = self.download(bob, m["blob_id"])
        self.assertStatus(blob, 200)
        self.assertEqual(m["size"], len(blob.body))
        plain = sc.body_open(blob.body, key)
        self.assertEqual(plain, msg.body)
        self.assertEqual(sc.verdict(fields, plain, alice_sign_pk), "valid")
        self.assertIn(bob.email.encode(), fields["recipients"])
        # Carol (Bcc) has her own key packet; she is not named.
        cm = poll(lambda: self.message_ids(
            carol, carol.mailbox_by_role("inbox")["id"]))
        self.assertEqual(len(cm), 1)
        cm = self.get_message(carol, cm[0])
        ckey = sc.key_packet_open(sc.b64d(cm["key_packet"]),
                                  carol.ident.enc_pk, carol.ident.enc_sk)
        cfields = sc.summary_open(sc.b64d(cm["summary"]), ckey)
        cplain = sc.body_open(self.download(carol, cm["blob_id"]).body, ckey)
        self.assertEqual(sc.verdict(cfields, cplain, alice_sign_pk), "valid")
        self.assertNotIn(carol.email.encode(), cfields["recipients"])
        # Alice's copy is in Sent, with its own key packet.
        s = self.get_message(alice, j["sent_message_id"])
        self.assertEqual(s["mailbox_ids"], [alice_sent])
        self.assertIn("$seen", s["keywords"])
        self.assertEqual(s["blob_id"], sub["sent_copy"]["blob_id"])
        skey = sc.key_packet_open(sc.b64d(s["key_packet"]),
                                  alice.ident.enc_pk, alice.ident.enc_sk)
        sfields = sc.summary_open(sc.b64d(s["summary"]), skey)
        splain = sc.body_open(self.download(alice, s["blob_id"]).body, skey)
        self.assertIn(b"Bcc: " + carol.email.encode(), splain)
        self.assertEqual(sc.verdict(sfields, splain, alice.ident.sign_pk),
                         "valid")
        self.assertEqual(self.message_ids(alice, alice_sent),
                         [j["sent_message_id"]])

    def test_without_sent_copy(self):
        alice, bob = self.account(), self.account()
        sub, _ = self.submission(alice, [bob], sent_copy=False)
        j = self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        self.assertEqual(j["delivered"], [bob.email])
        self.assertEqual(self.message_ids(
            alice, alice.mailbox_by_role("sent")["id"]), [])
        self.assertEqual(len(poll(lambda: self.message_ids(bob))), 1)

    def test_from_not_owned(self):
        alice, bob = self.account(), self.account()
        sub, _ = self.submission(alice, [bob], from_addr=bob.email)
        self.assertError(alice.post("/api/v1/submissions", sub), 403,
                         "forbidden")
        time.sleep(0.3)
        self.assertEqual(self.message_ids(bob), [])
        self.assertEqual(self.message_ids(alice), [])

    def test_unknown_recipient(self):
        alice, bob = self.account(), self.account()
        ghost = unique_email("ghost")
        sub, _ = self.submission(alice, [bob], extra=[ghost])
        r = alice.post("/api/v1/submissions", sub)
        self.assertError(r, 422, "unknown_recipient")
        self.assertIn(ghost, r.json["error"]["message"])
        time.sleep(0.3)
        self.assertEqual(self.message_ids(bob), [])
        self.assertEqual(self.message_ids(alice), [])
        # The same blobs in a corrected submission are accepted.
        sub["recipients"] = sub["recipients"][:1]
        j = self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        self.assertEqual(j["delivered"], [bob.email])


class TestIsolation(ApiTest):
    """Another account's message, mailbox and blob ids are not_found."""

    def test_probe_everywhere(self):
        alice, bob = self.account(), self.account()
        private = self.create_mailbox(alice, "Private")
        am, _ = alice.import_message([private["id"]], keywords=["$seen"])
        spare, _ = alice.import_body([private["id"]])  # uploaded, unused
        bob_inbox = bob.mailbox_by_role("inbox")["id"]
        bm, _ = bob.import_message([bob_inbox])
        mid, mbid = am["id"], private["id"]
        alice_inbox = alice.mailbox_by_role("inbox")["id"]
        steal, _ = bob.import_body([bob_inbox], blob_id=spare["blob_id"])
        into_private, _ = bob.import_body([mbid])
        into_inbox, _ = bob.import_body([alice_inbox])
        bob_s0 = bob.state()

        self.assertError(bob.get("/api/v1/messages/" + mid), 404,
                         "not_found")
        r = bob.post("/api/v1/messages/update",
                     {"update": {mid: {"add_keywords": ["$flagged"]}}})
        j = self.assertJson(r, 200)
        self.assertEqual(j["updated"], [])
        self.assertEqual(j["not_updated"][mid]["type"], "not_found")
        r = bob.post("/api/v1/messages/destroy", {"ids": [mid]})
        j = self.assertJson(r, 200)
        self.assertEqual(j["destroyed"], [])
        self.assertEqual(j["not_destroyed"][mid]["type"], "not_found")
        for blob in (am["blob_id"], spare["blob_id"]):
            self.assertError(self.download(bob, blob), 404, "not_found")
            self.assertError(self.download(bob, blob, "bytes=0-3"), 404,
                             "not_found")
        # Importing with another's blob, or into another's mailbox.
        for body in (steal, into_private, into_inbox):
            self.assertError(bob.post("/api/v1/messages/import", body), 404,
                             "not_found")
        # Mailboxes.
        self.assertError(bob.req("PATCH", "/api/v1/mailboxes/" + mbid,
                                 {"name": "Mine"}), 404, "not_found")
        self.assertError(bob.req("DELETE", "/api/v1/mailboxes/" + mbid
                                 + "?remove_messages=true"), 404,
                         "not_found")
        self.assertError(bob.post("/api/v1/mailboxes",
                                  {"name": "Under", "parent_id": mbid}),
                         404, "not_found")
        r = bob.post("/api/v1/messages/update",
                     {"update": {bm["id"]: {"add_mailbox_ids": [mbid]}}})
        j = self.assertJson(r, 200)
        self.assertEqual(j["not_updated"][bm["id"]]["type"], "not_found")
        self.assertError(bob.get("/api/v1/messages?" + qs(mailbox_id=mbid)),
                         404, "not_found")
        # Nothing of Alice's changed, and Bob saw nothing of hers.
        self.assertEqual(norm(self.get_message(alice, mid)), norm(am))
        names = [m["name"] for m in alice.mailboxes()["mailboxes"]]
        self.assertIn("Private", names)
        self.assertNotIn("Under", [m["name"] for m in
                                   bob.mailboxes()["mailboxes"]])
        self.assertEqual(self.message_ids(bob), [bm["id"]])
        self.assertEqual(bob.state(), bob_s0)
        # Alice can still use her blob.
        self.assertJson(alice.post("/api/v1/messages/import", spare), 201)


class TestDelivery(ApiTest):
    """`saltmaild user add` and `saltmaild deliver`: keys made by the
    server follow docs/crypto.md; mail from outside is encrypted to the
    recipient, unsigned, and reaches the change feed."""

    def test_user_add_and_deliver(self):
        email = unique_email("local")
        password = "local password " + new_key()[:6]
        self.srv.user_add(email, password)
        pre = self.assertJson(self.srv.request(
            "POST", "/api/v1/auth/prelogin", {"email": email}), 200)
        auth, _ = sc.derive_password_keys(password, sc.b64d(
            pre["kdf"]["salt"]), pre["kdf"]["opslimit"],
            pre["kdf"]["memlimit"])
        r = self.srv.request("POST", "/api/v1/auth/login",
                             {"email": email, "auth_key": sc.b64e(auth)})
        login = self.assertJson(r, 200)
        token = login["access_token"]
        acct_j = self.assertJson(self.srv.request(
            "GET", "/api/v1/account", token=token), 200)
        self.assertEqual(acct_j["addresses"], [email])
        ident = sc.Identity.from_server(acct_j["account_id"], password,
                                        acct_j["kdf"], acct_j["keys"])
        self.assertEqual(acct_j["keys"]["fingerprint"], ident.fingerprint())
        acct = harness.Account(self.srv, email, ident)
        acct.access_token = token
        roles = sorted(m["role"] for m in acct.mailboxes()["mailboxes"])
        self.assertEqual(roles, sorted(ROLE_NAMES))

        inbox = acct.mailbox_by_role("inbox")["id"]
        archive = acct.mailbox_by_role("archive")["id"]
        s0 = acct.state()
        marker = "marker-" + new_key()
        raw = sc.rfc5322("Someone <someone@elsewhere.example>", [email],
                         "from outside", "outside text " + marker)
        self.srv.deliver(email, raw)

        def created():
            j = self.changes(acct, s0).json or {}
            return (j.get("messages") or {}).get("created")
        ids = poll(created)
        self.assertTrue(ids, "delivered message not in the change feed")
        self.assertEqual(len(ids), 1)
        m = self.get_message(acct, ids[0])
        self.assertEqual(m["mailbox_ids"], [inbox])
        key = sc.key_packet_open(self.assertB64(m["key_packet"], 85),
                                 ident.enc_pk, ident.enc_sk)
        fields = sc.summary_open(sc.b64d(m["summary"]), key)
        blob = self.download(acct, m["blob_id"])
        self.assertStatus(blob, 200)
        self.assertEqual(len(blob.body), m["size"])
        plain = sc.body_open(blob.body, key)
        self.assertIn(marker.encode(), plain)
        self.assertIn(b"Subject: from outside", plain)
        self.assertEqual(sc.verdict(fields, plain, None), "unsigned")
        self.assertIsNone(fields["signature"])
        # --mailbox files it elsewhere.
        s1 = acct.state()
        self.srv.deliver(email, sc.rfc5322("x@elsewhere.example", [email],
                                           "archived", "text"),
                         mailbox="Archive")
        ids = poll(lambda: (self.changes(acct, s1).json or {}).get(
            "messages", {}).get("created"))
        self.assertTrue(ids)
        self.assertEqual(self.get_message(acct, ids[0])["mailbox_ids"],
                         [archive])


class TestSmarthost(ApiTest):
    """Submissions with recipients elsewhere: the cleartext goes to the
    smarthost (an SMTP sink here) once, for exactly those recipients, and
    the transient blob is deleted after; without a smarthost they are
    deferred."""

    EXTERNAL = "carol@elsewhere.example"

    @classmethod
    def setUpClass(cls):
        cls.sink = harness.SmtpSink()
        cls.srv = harness.Server(SALTMAILD, [
            "--open-signup", "--smarthost", "127.0.0.1:%d" % cls.sink.port],
            "smarthost")
        try:
            cls.srv.start()
        except Exception:
            cls.sink.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sink.stop()

    def external_submission(self, alice, bob):
        """To: the external recipient; Bcc: bob (on the service), whose
        header the client strips before it encrypts once and uploads the
        same cleartext as a transient blob."""
        text = ".a line that starts with a dot\r\n..and two\r\n" + new_key()
        clear = sc.rfc5322(alice.email, [self.EXTERNAL], "out " + new_key(),
                           text)
        self.assertNotIn(b"Bcc", clear)
        msg = sc.Message(clear, sender=alice.email,
                         recipients=[self.EXTERNAL], signer=alice.ident)
        sub = {"from": alice.email,
               "message": {"blob_id": alice.upload_ok(msg.stream),
                           "summary": sc.b64e(msg.summary)},
               "recipients": [{"email": bob.email, "key_packet": sc.b64e(
                   msg.key_packet(bob.ident.enc_pk))}],
               "external": {"blob_id": alice.upload_ok(clear,
                                                       transient=True),
                            "recipients": [self.EXTERNAL]}}
        return sub, msg

    def test_relay(self):
        alice, bob = self.account(), self.account()
        sub, msg = self.external_submission(alice, bob)
        transient = sub["external"]["blob_id"]
        j = self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        self.assertEqual(j["delivered"], [bob.email])
        self.assertEqual(j["relayed"], [self.EXTERNAL])
        self.assertEqual(j["deferred"], [])
        got = poll(self.sink.received, timeout=10)
        self.assertTrue(got, "the smarthost received nothing in 10 s")
        time.sleep(2.5)  # more than two relay rounds: a second copy shows
        got = self.sink.received()
        self.assertEqual(len(got), 1, "sent %d times" % len(got))
        mail_from, rcpts, content = got[0]
        self.assertEqual(mail_from, alice.email)
        self.assertEqual(rcpts, [self.EXTERNAL])
        self.assertEqual(content, msg.body)
        # Bob got his copy encrypted, signed by Alice.
        inbox = bob.mailbox_by_role("inbox")["id"]
        ids = poll(lambda: self.message_ids(bob, inbox))
        self.assertEqual(len(ids), 1)
        m = self.get_message(bob, ids[0])
        key = sc.key_packet_open(sc.b64d(m["key_packet"]), bob.ident.enc_pk,
                                 bob.ident.enc_sk)
        fields = sc.summary_open(sc.b64d(m["summary"]), key)
        blob = self.download(bob, m["blob_id"])
        self.assertStatus(blob, 200)
        self.assertNotEqual(blob.body, msg.body)
        plain = sc.body_open(blob.body, key)
        self.assertEqual(plain, msg.body)
        self.assertEqual(sc.verdict(fields, plain, alice.ident.sign_pk),
                         "valid")
        # The cleartext is gone once relayed.
        def gone():
            r = self.download(alice, transient)
            return r if r.status == 404 else None
        r = poll(gone, timeout=10)
        self.assertIsNotNone(r, "the transient blob is still there")
        self.assertError(r, 404, "not_found")

    def test_without_smarthost_deferred(self):
        main = server("main")
        alice, bob = harness.signup(main), harness.signup(main)
        sub, _ = self.external_submission(alice, bob)
        j = self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        self.assertEqual(j["delivered"], [bob.email])
        self.assertEqual(j["relayed"], [])
        self.assertEqual(j["deferred"], [self.EXTERNAL])
        # Queued, not sent: the cleartext waits for a smarthost.
        self.assertStatus(self.download(alice, sub["external"]["blob_id"]),
                          200)
        self.assertNotIn(alice.email, [m[0] for m in self.sink.received()])


# ---------------------------------------------------------------------------


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv, ["saltmaild"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
