#!/usr/bin/python3
"""Checks crypto/testdata/kat-v1.txt against docs/crypto.md.

This is a second, independent reading of the formats: it uses PyNaCl (a
different libsodium binding) and only what docs/crypto.md says, so a change
to the C code that drifts from the written contract fails here even when the
C known-answer test is regenerated. Run from the repository root:

    /usr/bin/python3 tests/crypto/kat_check.py crypto/testdata
"""
import hashlib
import struct
import sys

import nacl.bindings as nb

SS = "crypto_secretstream_xchacha20poly1305_"


def load(path):
    kat = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            name, value = line.split()
            kat[name] = bytes.fromhex(value)
    return kat


def aead_open(ct, ad, nonce, key):
    return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce, key)


def kdf(root, subkey_id, context):
    # crypto_kdf (BLAKE2b): the subkey id as salt, the context as person.
    salt = struct.pack("<Q", subkey_id) + bytes(8)
    return hashlib.blake2b(b"", digest_size=32, key=root, salt=salt,
                           person=context + bytes(8)).digest()


def unwrap(wrapped, key, kind, account_id):
    assert len(wrapped) == 78
    assert wrapped[:4] == b"SBWK" and wrapped[4] == 1 and wrapped[5] == kind
    ad = wrapped[:6] + account_id
    return aead_open(wrapped[30:], ad, wrapped[6:30], key)


def fingerprint(enc_pk, sign_pk):
    h = hashlib.blake2b(b"SBFP" + enc_pk + sign_pk, digest_size=20).hexdigest()
    return " ".join(h[i:i + 4] for i in range(0, 40, 4))


def body_open(ct, key):
    assert ct[:4] == b"SBMB" and ct[4] == 1
    chunk = struct.unpack(">I", ct[5:9])[0]
    prefix = ct[:9]
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    nb.crypto_secretstream_xchacha20poly1305_init_pull(state, ct[9:33], key)
    pos, out, final = 33, b"", False
    while pos < len(ct):
        assert not final, "data after the final chunk"
        piece = ct[pos:pos + chunk + 17]
        pos += len(piece)
        plain, tag = nb.crypto_secretstream_xchacha20poly1305_pull(
            state, piece, prefix)
        out += plain
        if tag == nb.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            final = True
        else:
            assert tag == nb.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
    assert final, "no final chunk"
    return out


def summary_records(plain):
    records, pos = [], 0
    while pos < len(plain):
        rtype = plain[pos]
        length = struct.unpack(">I", plain[pos + 1:pos + 5])[0]
        records.append((rtype, plain[pos + 5:pos + 5 + length]))
        pos += 5 + length
    assert pos == len(plain)
    return records


def signed_bytes(body_hash, size, sender, recipients):
    out = b"SBSG\x01" + body_hash + struct.pack(">Q", size)
    out += struct.pack(">H", len(sender)) + sender
    out += struct.pack(">H", len(recipients))
    for r in recipients:
        out += struct.pack(">H", len(r)) + r
    return out


def check(kat, long_body):
    k = kat
    root = nb.crypto_pwhash_alg(32, k["password"], k["kdf.salt"],
                                struct.unpack(">Q", k["kdf.opslimit"])[0],
                                struct.unpack(">Q", k["kdf.memlimit"])[0],
                                nb.crypto_pwhash_ALG_ARGON2ID13)
    assert kdf(root, 1, b"sbpass01") == k["auth_key"], "auth key"
    assert kdf(root, 2, b"sbpass01") == k["kek"], "key-encryption key"

    acct = k["account_id"]
    account_key = unwrap(k["wrapped.account_key"], k["kek"], 1, acct)
    assert account_key == k["account_key"], "account key"
    enc_sk = unwrap(k["wrapped.enc_sk"], account_key, 2, acct)
    assert nb.crypto_scalarmult_base(enc_sk) == k["enc_pk"], "X25519 key"
    seed = unwrap(k["wrapped.sign_seed"], account_key, 3, acct)
    sign_pk, _ = nb.crypto_sign_seed_keypair(seed)
    assert sign_pk == k["sign_pk"], "Ed25519 key"
    assert fingerprint(k["enc_pk"], sign_pk).encode() == k["fingerprint"]

    key = k["message_key"]
    plain = body_open(k["body.cipher"], key)
    assert plain == k["body.plain"], "body"
    assert hashlib.blake2b(plain, digest_size=32).digest() == k["body.hash"]
    expected_long = bytes(i % 251 for i in range(
        struct.unpack(">Q", k["long_body.size"])[0]))
    assert body_open(long_body, key) == expected_long, "long body"
    assert hashlib.blake2b(expected_long,
                           digest_size=32).digest() == k["long_body.hash"]

    sealed = k["summary.sealed"]
    assert sealed[:5] == b"SBMS\x01"
    recs = summary_records(aead_open(sealed[29:], sealed[:5], sealed[5:29],
                                     key))
    fields = {}
    recipients = []
    for rtype, value in recs:
        if rtype == 4:
            recipients.append(value)
        else:
            fields[rtype] = value
    size = struct.unpack(">Q", fields[1])[0]
    assert size == len(plain) and fields[2] == k["body.hash"]
    assert fields[3] == b"alice@example.org"
    assert recipients == [b"bob@example.org", b"carol@example.org"]
    assert fields[5] == plain[:plain.index(b"\r\n\r\n") + 4], "headers"
    signer, signature = fields[6][:32], fields[6][32:]
    assert signer == sign_pk
    msg = signed_bytes(fields[2], size, fields[3], recipients)
    assert nb.crypto_sign_open(signature + msg, signer) == msg, "signature"

    packet = k["key_packet"]
    assert packet[:5] == b"SBKP\x01" and len(packet) == 85
    assert nb.crypto_box_seal_open(packet[5:], k["recipient.enc_pk"],
                                   k["recipient.enc_sk"]) == key

    c = k["cache.sealed"]
    assert c[:5] == b"SBCE\x01"
    assert aead_open(c[29:], c[:5] + k["cache.context"], c[5:29],
                     k["cache.key"]) == k["cache.plain"], "cache"

    v = k["vault.file"]
    assert v[:5] == b"SBVT\x01"
    vp = aead_open(v[29:], v[:5], v[5:29], k["vault.key"])
    entries, pos = {}, 0
    while pos < len(vp):
        nlen = struct.unpack(">H", vp[pos:pos + 2])[0]
        name = vp[pos + 2:pos + 2 + nlen]
        vlen = struct.unpack(">I", vp[pos + 2 + nlen:pos + 6 + nlen])[0]
        entries[name] = vp[pos + 6 + nlen:pos + 6 + nlen + vlen]
        pos += 6 + nlen + vlen
    assert entries == {b"account/acct-kat/refresh-token": b"rt-1",
                       b"account/acct-kat/bridge-password": b"bp-1"}


def main():
    folder = sys.argv[1]
    kat = load(folder + "/kat-v1.txt")
    with open(folder + "/kat-v1-long-body.bin", "rb") as f:
        long_body = f.read()
    check(kat, long_body)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
