#!/usr/bin/python3
"""Security properties of saltmaild beyond the API's conformance suite:
limits (logins per client, key lookups, event streams, bodies), what is
kept and for how long (idempotency records, sessions, orphaned blob
files), who pays for a submission's copies, and the smarthost relay
(bounces, line ends, the From of mail for other services).

    /usr/bin/python3 tests/api/test_security.py --saltmaild PATH [--keep]
        [unittest options]

It reuses the conformance suite's helpers (tests/api/conformance.py).
"""
import os
import sqlite3
import ssl
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import conformance as conf  # noqa: E402
import harness  # noqa: E402
import saltcrypto as sc  # noqa: E402
from harness import new_key, qs, unique_email  # noqa: E402

MAX_BLOB = 100000
LOOKUPS = 5
STREAMS = 8
WAIT = conf.WAIT

conf.SERVER_FLAGS.update({
    "sec": ["--open-signup", "--lookup-limit", str(LOOKUPS),
            "--max-blob", str(MAX_BLOB)],
    "clientlimit": ["--open-signup", "--login-limit", "1"],
})


def tearDownModule():
    conf.tearDownModule()


def db(srv):
    return sqlite3.connect(os.path.join(srv.data, "saltmaild.db"),
                           timeout=10)


class TestLoginLimitPerClient(conf.ApiTest):
    """--login-limit 1: one client may fail 20 logins a minute, whatever
    addresses it tries, even all at once."""

    server_name = "clientlimit"

    def test_many_addresses_from_one_client(self):
        results, lock = [], threading.Lock()

        def attempt():
            r = self.srv.request("POST", "/api/v1/auth/login", {
                "email": unique_email("nobody"),
                "auth_key": sc.b64e(os.urandom(32))})
            with lock:
                results.append(r)

        threads = [threading.Thread(target=attempt) for _ in range(25)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses, [401] * 20 + [429] * 5)
        for r in results:
            if r.status == 429:
                self.assertError(r, 429, "rate_limited")
                self.assertRegex(r.headers["retry-after"], r"^\d+$")


class TestKeyLookupLimit(conf.ApiTest):
    """--lookup-limit: key lookups per account per minute."""

    server_name = "sec"

    def test_lookups_limited_per_account(self):
        alice, bob = self.account(), self.account()
        for _ in range(LOOKUPS):
            r = alice.get("/api/v1/keys?" + qs(email=bob.email))
            self.assertJson(r, 200)
        r = alice.get("/api/v1/keys?" + qs(email=bob.email))
        self.assertError(r, 429, "rate_limited")
        self.assertRegex(r.headers.get("retry-after", ""), r"^\d+$")
        # Another account has its own allowance.
        self.assertJson(bob.get("/api/v1/keys?" + qs(email=alice.email)),
                        200)


class TestRecordsHoldNoSecrets(conf.ApiTest):
    """The idempotency record of a refresh keeps no token; a replay still
    answers the same tokens."""

    server_name = "sec"

    def test_refresh_record(self):
        acct = self.account()
        key = new_key()
        body = {"refresh_token": acct.refresh_token}
        r1 = self.srv.request("POST", "/api/v1/auth/refresh", body, key=key)
        j1 = self.assertJson(r1, 200)
        r2 = self.srv.request("POST", "/api/v1/auth/refresh", body, key=key)
        self.assertEqual((r2.status, r2.json), (200, j1))
        self.assertJson(self.srv.request("GET", "/api/v1/account",
                                         token=j1["access_token"]), 200)
        with db(self.srv) as d:
            bodies = [bytes(b) for (b,) in
                      d.execute("SELECT body FROM idempotency")]
        self.assertTrue(bodies)
        for secret in (j1["access_token"], j1["refresh_token"],
                       acct.refresh_token, acct.access_token):
            for b in bodies:
                self.assertNotIn(secret.encode(), b)


class TestQuotaOfSubmissions(conf.ApiTest):
    """The copies a submission files are charged to the sender."""

    server_name = "sec"

    def used(self, acct):
        return acct.get("/api/v1/account").json["quota"]["used"]

    def test_sender_pays(self):
        alice, bob = self.account(), self.account()
        # A large summary: it holds the header section.
        body = sc.rfc5322(alice.email, [bob.email], "large", "hello",
                          ["X-Filler: " + "x" * 30000])
        msg = sc.Message(body, sender=alice.email, recipients=[bob.email],
                         signer=alice.ident)
        sub = {"from": alice.email,
               "message": {"blob_id": alice.upload_ok(msg.stream),
                           "summary": sc.b64e(msg.summary)},
               "recipients": [{"email": bob.email, "key_packet": sc.b64e(
                   msg.key_packet(bob.ident.enc_pk))}]}
        self.assertGreater(len(msg.summary), 30000)
        alice0, bob0 = self.used(alice), self.used(bob)
        self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        self.assertEqual(self.used(bob), bob0)
        self.assertEqual(self.used(alice), alice0 + len(msg.summary))
        # Bob deletes it: Alice gets her bytes back.
        mid = self.message_ids(bob)[0]
        r = bob.post("/api/v1/messages/destroy", {"ids": [mid]})
        self.assertEqual(self.assertJson(r, 200)["destroyed"], [mid])
        self.assertEqual(self.used(bob), bob0)
        # The blob is still Alice's upload until its last copy goes.
        self.assertEqual(self.used(alice), alice0 - len(msg.stream))


class TestEventStreamLimit(conf.ApiTest):
    """At most 8 event streams per account."""

    server_name = "sec"

    def test_ninth_stream_refused(self):
        acct = self.account()
        streams = []
        try:
            for _ in range(STREAMS):
                s = harness.EventStream(self.srv, acct.access_token)
                streams.append(s)
                self.assertEqual(s.status, 200)
            extra = harness.EventStream(self.srv, acct.access_token)
            streams.append(extra)
            self.assertError(extra.error, 429, "rate_limited")
            self.assertIn("retry-after", extra.error.headers)
            # Another account is not limited by this one.
            other = self.account()
            s = harness.EventStream(self.srv, other.access_token)
            streams.append(s)
            self.assertEqual(s.status, 200)
            # One closed makes room for one more.
            streams[0].close()

            def reopen():
                s = harness.EventStream(self.srv, acct.access_token)
                streams.append(s)
                return s.status == 200
            self.assertTrue(conf.poll(reopen, timeout=WAIT, interval=0.3))
        finally:
            for s in streams:
                s.close()


class TestBodiesPastTheLimit(conf.ApiTest):
    """A chunked body past its limit is answered 413 at once, not read to
    its end."""

    server_name = "sec"
    TOTAL = 64 << 20
    # The kernel's socket buffers on loopback hold a few MiB that the
    # client writes before the server reads any of it.
    SLACK = 8 << 20

    def chunked(self, acct, path, first=b""):
        sent = [0]

        def gen():
            chunk = b" " * 65536
            if first:
                sent[0] += len(first)
                yield first
            while sent[0] < self.TOTAL:
                sent[0] += len(chunk)
                yield chunk
        conn = self.srv.connect()
        try:
            try:
                conn.request("POST", path, body=gen(), encode_chunked=True,
                             headers={
                                 "Authorization": "Bearer "
                                 + acct.access_token,
                                 "Idempotency-Key": new_key(),
                                 "Content-Type": "application/json"})
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                pass
            resp = conn.getresponse()
            r = harness.Response(resp.status, resp.getheaders(),
                                 resp.read())
        finally:
            conn.close()
        return r, sent[0]

    def test_chunked_blob(self):
        acct = self.account()
        r, sent = self.chunked(acct, "/api/v1/blobs")
        self.assertError(r, 413, "too_large")
        self.assertLess(sent, MAX_BLOB + self.SLACK)
        self.assertEqual(acct.get("/api/v1/account").json["quota"]["used"],
                         0)

    def test_chunked_json(self):
        acct = self.account()
        r, sent = self.chunked(acct, "/api/v1/mailboxes",
                               b'{"name": "Big", "parent_id": null')
        self.assertError(r, 413, "too_large")
        self.assertLess(sent, (1 << 20) + self.SLACK)


class TestSweep(conf.ApiTest):
    """What the sweep forgets at start: idempotency records and sessions
    dead for a day, rotated refresh tokens of deleted sessions, and blob
    files that no row names."""

    server_name = "sec"

    def test_sweep_at_start(self):
        srv = harness.Server(conf.SALTMAILD, ["--open-signup"], "sweep")
        srv.start()
        try:
            self.check_sweep(srv)
        finally:
            srv.stop()

    def check_sweep(self, srv):
        acct = harness.signup(srv)
        live = harness.Account(srv, acct.email, acct.ident)
        self.assertStatus(live.login(), 200)
        old_key = new_key()
        self.assertJson(acct.post("/api/v1/mailboxes",
                                  {"name": "Old", "parent_id": None},
                                  key=old_key), 201)
        r = srv.request("POST", "/api/v1/auth/refresh",
                        {"refresh_token": acct.refresh_token})
        acct.access_token = self.assertJson(r, 200)["access_token"]
        self.assertStatus(acct.post("/api/v1/auth/logout"), 204)
        kept = acct_blob = live.upload_ok(b"a blob with a row")
        blob_dir = os.path.join(srv.data, "blobs")
        shard = os.path.join(blob_dir, kept[2:4], kept[4:6])
        stray = os.path.join(shard, "b_" + kept[2:6] + "0" * 20)
        with db(srv) as d:
            dead = [s for (s,) in d.execute(
                "SELECT id FROM sessions WHERE revoked != 0")]
        self.assertEqual(len(dead), 1)
        two_days = int(time.time()) - 2 * 86400
        two_hours = time.time() - 7200

        def age():
            with db(srv) as d:
                d.execute("UPDATE idempotency SET created_at = ? WHERE "
                          "key = ?", (two_days, old_key))
                d.execute("UPDATE sessions SET revoked = ? WHERE "
                          "revoked != 0", (two_days,))
            with open(stray, "wb") as f:
                f.write(b"left by a crash")
            os.utime(stray, (two_hours, two_hours))
            os.utime(os.path.join(shard, kept), (two_hours, two_hours))
        srv.restart(before_start=age)

        def swept():
            with db(srv) as d:
                n = d.execute("SELECT COUNT(*) FROM idempotency WHERE "
                              "key = ?", (old_key,)).fetchone()[0]
                s = d.execute("SELECT COUNT(*) FROM sessions WHERE id = ?",
                              (dead[0],)).fetchone()[0]
                o = d.execute("SELECT COUNT(*) FROM old_refresh WHERE "
                              "session_id = ?", (dead[0],)).fetchone()[0]
            return n == 0 and s == 0 and o == 0 and not os.path.exists(stray)
        self.assertTrue(conf.poll(swept, timeout=WAIT),
                        "the sweep at start left old records or files")
        self.assertTrue(os.path.exists(os.path.join(shard, kept)))
        r = live.get("/api/v1/blobs/" + acct_blob)
        self.assertEqual((r.status, r.body), (200, b"a blob with a row"))
        with db(srv) as d:
            self.assertGreater(d.execute(
                "SELECT COUNT(*) FROM idempotency").fetchone()[0], 0)


class TestRelaySecurity(conf.ApiTest):
    """The smarthost relay: refusals come back to the sender as a bounce,
    line ends are CRLF only, and mail for other services is from the
    submission's own address."""

    OK = "carol@elsewhere.example"
    BAD = "nobody@elsewhere.example"

    @classmethod
    def setUpClass(cls):
        cls.sink = harness.SmtpSink()
        cls.sink.refuse.add(cls.BAD)
        cls.srv = harness.Server(conf.SALTMAILD, [
            "--open-signup", "--smarthost", "127.0.0.1:%d" % cls.sink.port],
            "relay")
        try:
            cls.srv.start()
        except Exception:
            cls.sink.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        cls.sink.stop()

    def external(self, alice, clear, rcpts):
        msg = sc.Message(clear, sender=alice.email, recipients=rcpts,
                         signer=alice.ident)
        return {"from": alice.email,
                "message": {"blob_id": alice.upload_ok(msg.stream),
                            "summary": sc.b64e(msg.summary)},
                "recipients": [],
                "external": {"blob_id": alice.upload_ok(clear,
                                                        transient=True),
                             "recipients": rcpts}}

    def sent_to(self, marker):
        return [m for m in self.sink.received() if marker in m[2]]

    def test_refused_recipient_bounces(self):
        alice = self.account()
        marker = new_key()
        clear = sc.rfc5322(alice.email, [self.OK, self.BAD],
                           "bounce " + marker, "hello")
        sub = self.external(alice, clear, [self.OK, self.BAD])
        self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        got = conf.poll(lambda: self.sent_to(marker.encode()), timeout=10)
        self.assertEqual([m[1] for m in got], [[self.OK]])
        inbox = alice.mailbox_by_role("inbox")["id"]
        ids = conf.poll(lambda: self.message_ids(alice, inbox), timeout=10)
        self.assertEqual(len(ids), 1, "no bounce in the sender's INBOX")
        m = self.get_message(alice, ids[0])
        key = sc.key_packet_open(sc.b64d(m["key_packet"]),
                                 alice.ident.enc_pk, alice.ident.enc_sk)
        plain = sc.body_open(self.download(alice, m["blob_id"]).body, key)
        self.assertIn(b"From: Mail Delivery System <mailer-daemon@", plain)
        self.assertIn(("<%s>: 550" % self.BAD).encode(), plain)
        self.assertNotIn(("<%s>:" % self.OK).encode(), plain)
        self.assertIn(marker.encode(), plain)  # the quoted header
        fields = sc.summary_open(sc.b64d(m["summary"]), key)
        self.assertEqual(sc.verdict(fields, plain, None), "unsigned")
        # The cleartext is gone: no recipient is left in the queue.
        blob = sub["external"]["blob_id"]
        self.assertTrue(conf.poll(
            lambda: self.download(alice, blob).status == 404, timeout=10))

    def test_line_ends_normalised(self):
        alice = self.account()
        marker = new_key().encode()
        clear = (b"From: " + alice.email.encode() + b"\r\nTo: " +
                 self.OK.encode() + b"\r\nSubject: " + marker +
                 b"\r\n\r\nfirst\rsecond\nthird\r\n.\rfourth\r\n")
        sub = self.external(alice, clear, [self.OK])
        self.assertJson(alice.post("/api/v1/submissions", sub), 202)
        got = conf.poll(lambda: self.sent_to(marker), timeout=10)
        self.assertEqual(len(got), 1)
        body = got[0][2].split(b"\r\n\r\n", 1)[1]
        self.assertEqual(body, b"first\r\nsecond\r\nthird\r\n.\r\nfourth\r\n")

    def test_from_must_be_the_sender(self):
        alice = self.account()
        marker = new_key()
        for clear in (
                sc.rfc5322("ceo@bank.example", [self.OK], marker, "pay"),
                sc.rfc5322(alice.email, [self.OK], marker, "two",
                           ["From: ceo@bank.example"]),
                sc.rfc5322(alice.email + "\rFrom: ceo@bank.example",
                           [self.OK], marker, "cr"),
                b"To: " + self.OK.encode() + b"\r\nSubject: " +
                marker.encode() + b"\r\n\r\nno From\r\n"):
            sub = self.external(alice, clear, [self.OK])
            r = alice.post("/api/v1/submissions", sub)
            self.assertError(r, 400, "invalid_request")
        # Any case of the same address is the sender.
        ok = sc.rfc5322("Alice <%s>" % alice.email.upper(), [self.OK],
                        marker, "fine")
        self.assertJson(alice.post("/api/v1/submissions",
                                   self.external(alice, ok, [self.OK])), 202)
        got = conf.poll(lambda: self.sent_to(marker.encode()), timeout=10)
        self.assertEqual(len(got), 1)


def main(argv):
    return harness.run_suite(sys.modules[__name__], argv, ["saltmaild"],
                             [conf, sys.modules[__name__]])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
