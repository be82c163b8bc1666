#!/usr/bin/python3
"""Self-checks of tests/api/saltcrypto.py against crypto/testdata/kat-v1.

Runs without a server:

    /usr/bin/python3 tests/api/test_saltcrypto.py

The builders are checked by reproducing the vectors byte for byte where the
format is deterministic given its random inputs (wrapped keys, summaries),
and by round trips through this module's readers and through the
independent reader tests/crypto/kat_check.py where it is not (body streams
and key packets draw their own randomness inside libsodium).
"""
import importlib.util
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TESTDATA = os.path.join(ROOT, "crypto", "testdata")
sys.path.insert(0, HERE)

import nacl.bindings as nb  # noqa: E402

import saltcrypto as sc  # noqa: E402


def load_kat():
    kat = {}
    with open(os.path.join(TESTDATA, "kat-v1.txt"), encoding="ascii") as f:
        for line in f:
            if line.strip():
                name, value = line.split()
                kat[name] = bytes.fromhex(value)
    return kat


def load_kat_check():
    """tests/crypto/kat_check.py, the repo's second reader, or None."""
    path = os.path.join(ROOT, "tests", "crypto", "kat_check.py")
    if not os.path.exists(path):
        return None
    spec = importlib.util.spec_from_file_location("kat_check", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


KAT = load_kat()
with open(os.path.join(TESTDATA, "kat-v1-long-body.bin"), "rb") as _f:
    LONG_BODY = _f.read()
KAT_CHECK = load_kat_check()


def u64(b):
    return struct.unpack(">Q", b)[0]


class TestKdf(unittest.TestCase):
    def test_auth_key_and_kek(self):
        auth, kek = sc.derive_password_keys(KAT["password"], KAT["kdf.salt"],
                                            u64(KAT["kdf.opslimit"]),
                                            u64(KAT["kdf.memlimit"]))
        self.assertEqual(auth, KAT["auth_key"])
        self.assertEqual(kek, KAT["kek"])

    def test_password_as_str(self):
        auth, _ = sc.derive_password_keys(KAT["password"].decode(),
                                          KAT["kdf.salt"],
                                          u64(KAT["kdf.opslimit"]),
                                          u64(KAT["kdf.memlimit"]))
        self.assertEqual(auth, KAT["auth_key"])


class TestWrappedKeys(unittest.TestCase):
    acct = KAT["account_id"]

    def test_unwrap_vectors(self):
        ak = sc.unwrap_key(KAT["wrapped.account_key"], KAT["kek"],
                           sc.KIND_ACCOUNT_KEY, self.acct)
        self.assertEqual(ak, KAT["account_key"])
        enc_sk = sc.unwrap_key(KAT["wrapped.enc_sk"], ak, sc.KIND_ENC_SK,
                               self.acct)
        self.assertEqual(nb.crypto_scalarmult_base(enc_sk), KAT["enc_pk"])
        seed = sc.unwrap_key(KAT["wrapped.sign_seed"], ak, sc.KIND_SIGN_SEED,
                             self.acct)
        self.assertEqual(nb.crypto_sign_seed_keypair(seed)[0], KAT["sign_pk"])

    def test_wrap_reproduces_vectors(self):
        ak = KAT["account_key"]
        for name, secret_name, key, kind in (
                ("wrapped.account_key", None, KAT["kek"],
                 sc.KIND_ACCOUNT_KEY),
                ("wrapped.enc_sk", "enc_sk", ak, sc.KIND_ENC_SK),
                ("wrapped.sign_seed", "sign_seed", ak, sc.KIND_SIGN_SEED)):
            w = KAT[name]
            if secret_name is None:
                secret = ak
            else:
                secret = sc.unwrap_key(w, key, kind, self.acct)
            again = sc.wrap_key(secret, key, kind, self.acct.decode(),
                                nonce=w[6:30])
            self.assertEqual(again, w, name)

    def test_wrong_kind_or_account_refused(self):
        with self.assertRaises(sc.FormatError):
            sc.unwrap_key(KAT["wrapped.enc_sk"], KAT["account_key"],
                          sc.KIND_SIGN_SEED, self.acct)
        with self.assertRaises(sc.FormatError):
            sc.unwrap_key(KAT["wrapped.account_key"], KAT["kek"],
                          sc.KIND_ACCOUNT_KEY, b"acct-other")

    def test_fingerprint(self):
        self.assertEqual(sc.fingerprint(KAT["enc_pk"], KAT["sign_pk"]),
                         KAT["fingerprint"].decode())

    def test_identity_round_trip(self):
        ident = sc.Identity("0123456789abcdef0123456789abcdef", "pw one",
                            opslimit=1, memlimit=8192)
        keys = ident.keys_json()
        for field in ("wrapped_account_key", "wrapped_enc_sk",
                      "wrapped_sign_seed"):
            raw = sc.b64d(keys[field])
            self.assertEqual(len(raw), 78)
            self.assertEqual(raw[:5], b"SBWK\x01")
        self.assertEqual(sc.b64d(keys["wrapped_account_key"])[5], 1)
        self.assertEqual(sc.b64d(keys["wrapped_enc_sk"])[5], 2)
        self.assertEqual(sc.b64d(keys["wrapped_sign_seed"])[5], 3)
        again = sc.Identity.from_server(ident.account_id, "pw one",
                                        ident.kdf_json(), keys)
        self.assertEqual(again.enc_sk, ident.enc_sk)
        self.assertEqual(again.sign_seed, ident.sign_seed)
        self.assertEqual(again.account_key, ident.account_key)
        old_ak = ident.account_key
        old_auth = ident.auth_key
        body = ident.change_password("pw two")
        self.assertEqual(set(body), {"current_auth_key", "auth_key", "kdf",
                                     "wrapped_account_key"})
        self.assertEqual(sc.b64d(body["current_auth_key"]), old_auth)
        self.assertNotEqual(sc.b64d(body["auth_key"]), old_auth)
        again = sc.Identity.from_server(ident.account_id, "pw two",
                                        body["kdf"], ident.keys_json())
        self.assertEqual(again.account_key, old_ak)

    def test_identity_from_kat(self):
        kdf = {"alg": "argon2id13", "opslimit": u64(KAT["kdf.opslimit"]),
               "memlimit": u64(KAT["kdf.memlimit"]),
               "salt": sc.b64e(KAT["kdf.salt"])}
        keys = {"enc_pk": sc.b64e(KAT["enc_pk"]),
                "sign_pk": sc.b64e(KAT["sign_pk"]),
                "wrapped_account_key": sc.b64e(KAT["wrapped.account_key"]),
                "wrapped_enc_sk": sc.b64e(KAT["wrapped.enc_sk"]),
                "wrapped_sign_seed": sc.b64e(KAT["wrapped.sign_seed"])}
        ident = sc.Identity.from_server(KAT["account_id"].decode(),
                                        KAT["password"], kdf, keys)
        self.assertEqual(ident.fingerprint(), KAT["fingerprint"].decode())


class TestBodyStream(unittest.TestCase):
    def test_open_vector(self):
        self.assertEqual(sc.body_open(KAT["body.cipher"], KAT["message_key"]),
                         KAT["body.plain"])

    def test_open_long_vector(self):
        plain = sc.body_open(LONG_BODY, KAT["message_key"])
        self.assertEqual(len(plain), u64(KAT["long_body.size"]))
        self.assertEqual(plain, bytes(i % 251 for i in range(len(plain))))
        self.assertEqual(sc.h32(plain), KAT["long_body.hash"])

    def test_seal_layout_and_round_trip(self):
        key = os.urandom(32)
        for size in (0, 1, 65535, 65536, 65537, 2 * 65536, 66536):
            plain = os.urandom(size)
            s = sc.body_seal(plain, key)
            self.assertEqual(s[:9], b"SBMB\x01" + struct.pack(">I", 65536))
            full, rest = divmod(size, 65536)
            chunks = full + (1 if rest or size == 0 else 0)
            self.assertEqual(len(s), 33 + size + 17 * chunks, size)
            self.assertEqual(sc.body_open(s, key), plain)
            if KAT_CHECK is not None:
                self.assertEqual(KAT_CHECK.body_open(s, key), plain)

    def test_seal_matches_vector_shape(self):
        key = KAT["message_key"]
        plain = bytes(i % 251 for i in range(u64(KAT["long_body.size"])))
        s = sc.body_seal(plain, key)
        self.assertEqual(len(s), len(LONG_BODY))
        self.assertEqual(s[:9], LONG_BODY[:9])

    def test_refusals(self):
        key = os.urandom(32)
        s = sc.body_seal(os.urandom(70000), key)
        with self.assertRaises(sc.FormatError):
            sc.body_open(s[:-1], key)
        with self.assertRaises(sc.FormatError):
            sc.body_open(s[:33 + 65536 + 17], key)  # no final chunk
        with self.assertRaises(sc.FormatError):
            sc.body_open(s + b"x", key)
        with self.assertRaises(sc.FormatError):
            sc.body_open(s, os.urandom(32))
        with self.assertRaises(sc.FormatError):
            sc.body_open(b"SBMB\x02" + s[5:], key)


class TestSummary(unittest.TestCase):
    def signer(self):
        seed = sc.unwrap_key(KAT["wrapped.sign_seed"], KAT["account_key"],
                             sc.KIND_SIGN_SEED, KAT["account_id"])
        pk, sk = nb.crypto_sign_seed_keypair(seed)
        self.assertEqual(pk, KAT["sign_pk"])
        return pk, sk

    def test_open_vector(self):
        f = sc.summary_open(KAT["summary.sealed"], KAT["message_key"])
        plain = KAT["body.plain"]
        self.assertEqual(f["size"], len(plain))
        self.assertEqual(f["body_hash"], KAT["body.hash"])
        self.assertEqual(f["sender"], b"alice@example.org")
        self.assertEqual(f["recipients"],
                         [b"bob@example.org", b"carol@example.org"])
        self.assertEqual(f["headers"], plain[:plain.index(b"\r\n\r\n") + 4])
        self.assertEqual(f["signer_pk"], KAT["sign_pk"])
        self.assertEqual(sc.verdict(f, plain, KAT["sign_pk"]), "valid")
        self.assertEqual(sc.verdict(f, plain, None), "signer key unknown")
        self.assertEqual(sc.verdict(f, plain + b"x", KAT["sign_pk"]),
                         "invalid")
        self.assertEqual(sc.verdict(f, plain, os.urandom(32)), "invalid")

    def test_seal_reproduces_vector(self):
        pk, sk = self.signer()
        plain = KAT["body.plain"]
        sealed = KAT["summary.sealed"]
        recs = sc.summary_records(
            len(plain), sc.h32(plain), sender="Alice@Example.org",
            recipients=["carol@example.org", "bob@example.org"],
            headers=plain[:plain.index(b"\r\n\r\n") + 4],
            sign_sk=sk, sign_pk=pk, structure=b"(text plain)")
        again = sc.summary_seal(recs, KAT["message_key"], nonce=sealed[5:29])
        self.assertEqual(again, sealed)

    def test_unsigned_and_refusals(self):
        key = os.urandom(32)
        body = b"Subject: x\r\n\r\nhi\r\n"
        s = sc.summary_seal(sc.summary_records(len(body), sc.h32(body)), key)
        f = sc.summary_open(s, key)
        self.assertEqual(sc.verdict(f, body, None), "unsigned")
        with self.assertRaises(sc.FormatError):
            sc.summary_open(s, os.urandom(32))
        bad = sc.summary_seal(sc.summary_records(len(body), sc.h32(body))
                              + b"\x01" + struct.pack(">I", 8) + bytes(8),
                              key)
        with self.assertRaises(sc.FormatError):
            sc.summary_open(bad, key)  # repeated record
        unknown = sc.summary_seal(b"\x42" + struct.pack(">I", 2) + b"zz"
                                  + sc.summary_records(len(body),
                                                       sc.h32(body)), key)
        self.assertEqual(sc.summary_open(unknown, key)["size"], len(body))
        required = sc.summary_seal(b"\x80" + struct.pack(">I", 0)
                                   + sc.summary_records(len(body),
                                                        sc.h32(body)), key)
        with self.assertRaises(sc.FormatError):
            sc.summary_open(required, key)

    def test_kat_check_reads_our_summary(self):
        if KAT_CHECK is None:
            self.skipTest("tests/crypto/kat_check.py not found")
        pk, sk = self.signer()
        key = os.urandom(32)
        body = b"From: a@b.c\r\n\r\nhello\r\n"
        s = sc.summary_seal(sc.summary_records(
            len(body), sc.h32(body), sender="a@b.c", recipients=["x@y.z"],
            sign_sk=sk, sign_pk=pk), key)
        recs = KAT_CHECK.summary_records(KAT_CHECK.aead_open(
            s[29:], s[:5], s[5:29], key))
        self.assertEqual([r[0] for r in recs], [1, 2, 3, 4, 6])
        sig = recs[4][1][32:]
        msg = KAT_CHECK.signed_bytes(sc.h32(body), len(body), b"a@b.c",
                                     [b"x@y.z"], b"", b"")
        self.assertEqual(nb.crypto_sign_open(sig + msg, pk), msg)


class TestKeyPacket(unittest.TestCase):
    def test_open_vector(self):
        self.assertEqual(sc.key_packet_open(KAT["key_packet"],
                                            KAT["recipient.enc_pk"],
                                            KAT["recipient.enc_sk"]),
                         KAT["message_key"])

    def test_seal_round_trip(self):
        p = sc.key_packet_seal(KAT["message_key"], KAT["recipient.enc_pk"])
        self.assertEqual(len(p), 85)
        self.assertEqual(p[:5], b"SBKP\x01")
        self.assertEqual(sc.key_packet_open(p, KAT["recipient.enc_pk"],
                                            KAT["recipient.enc_sk"]),
                         KAT["message_key"])
        with self.assertRaises(sc.FormatError):
            sc.key_packet_open(p[:-1], KAT["recipient.enc_pk"],
                               KAT["recipient.enc_sk"])


class TestMessage(unittest.TestCase):
    def test_whole_message(self):
        alice = sc.Identity("a" * 32, "pw", opslimit=1, memlimit=8192)
        bob = sc.Identity("b" * 32, "pw", opslimit=1, memlimit=8192)
        body = sc.rfc5322("alice@example.org", ["Bob@Example.org"], "hi",
                          "hello")
        m = sc.Message(body, sender="alice@example.org",
                       recipients=["Bob@Example.org"], signer=alice)
        key = sc.key_packet_open(m.key_packet(bob.enc_pk), bob.enc_pk,
                                 bob.enc_sk)
        f = sc.summary_open(m.summary, key)
        self.assertEqual(f["recipients"], [b"bob@example.org"])
        plain = sc.body_open(m.stream, key)
        self.assertEqual(plain, body)
        self.assertEqual(sc.verdict(f, plain, alice.sign_pk), "valid")
        self.assertEqual(sc.verdict(f, plain, bob.sign_pk), "invalid")


if __name__ == "__main__":
    unittest.main()
