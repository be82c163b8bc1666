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



class Mismatch(Exception):
    """A value that does not match docs/crypto.md."""


def check(ok, what):
    # Explicit, so the checks hold under python3 -O too.
    if not ok:
        raise Mismatch(what)


def load(path):
    kat = {}
    with open(path, encoding="ascii") as f:
        for line in f:
            name, value = line.split(" ", 1)
            value = value.strip()
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
    check(len(wrapped) == 78, "wrapped key size")
    check(wrapped[:5] == b"SBWK\x01" and wrapped[5] == kind,
          "wrapped key header")
    ad = wrapped[:6] + account_id
    return aead_open(wrapped[30:], ad, wrapped[6:30], key)


def fingerprint(enc_pk, sign_pk):
    h = hashlib.blake2b(b"SBFP" + enc_pk + sign_pk, digest_size=20).hexdigest()
    return " ".join(h[i:i + 4] for i in range(0, 40, 4))


def h32(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def body_open(ct, key):
    check(ct[:5] == b"SBMB\x01", "body header")
    chunk = struct.unpack(">I", ct[5:9])[0]
    prefix = ct[:9]
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    nb.crypto_secretstream_xchacha20poly1305_init_pull(state, ct[9:33], key)
    pos, out, final = 33, b"", False
    while pos < len(ct):
        check(not final, "data after the final chunk")
        piece = ct[pos:pos + chunk + 17]
        pos += len(piece)
        plain, tag = nb.crypto_secretstream_xchacha20poly1305_pull(
            state, piece, prefix)
        out += plain
        if tag == nb.crypto_secretstream_xchacha20poly1305_TAG_FINAL:
            final = True
        else:
            check(tag == nb.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
                  "chunk tag")
    check(final, "no final chunk")
    return out


def summary_records(plain):
    records, pos = [], 0
    while pos < len(plain):
        rtype = plain[pos]
        length = struct.unpack(">I", plain[pos + 1:pos + 5])[0]
        records.append((rtype, plain[pos + 5:pos + 5 + length]))
        pos += 5 + length
    check(pos == len(plain), "summary records end")
    return records


def signed_bytes(body_hash, size, sender, recipients, headers, structure):
    out = b"SBSG\x01" + body_hash + struct.pack(">Q", size)
    out += struct.pack(">H", len(sender)) + sender
    out += struct.pack(">H", len(recipients))
    for r in recipients:
        out += struct.pack(">H", len(r)) + r
    return out + h32(headers) + h32(structure)


def check_keys(k):
    root = nb.crypto_pwhash_alg(32, k["password"], k["kdf.salt"],
                                struct.unpack(">Q", k["kdf.opslimit"])[0],
                                struct.unpack(">Q", k["kdf.memlimit"])[0],
                                nb.crypto_pwhash_ALG_ARGON2ID13)
    check(kdf(root, 1, b"sbpass01") == k["auth_key"], "auth key")
    check(kdf(root, 2, b"sbpass01") == k["kek"], "key-encryption key")
    acct = k["account_id"]
    account_key = unwrap(k["wrapped.account_key"], k["kek"], 1, acct)
    check(account_key == k["account_key"], "account key")
    enc_sk = unwrap(k["wrapped.enc_sk"], account_key, 2, acct)
    check(nb.crypto_scalarmult_base(enc_sk) == k["enc_pk"], "X25519 key")
    seed = unwrap(k["wrapped.sign_seed"], account_key, 3, acct)
    sign_pk, _ = nb.crypto_sign_seed_keypair(seed)
    check(sign_pk == k["sign_pk"], "Ed25519 key")
    check(fingerprint(k["enc_pk"], sign_pk).encode() == k["fingerprint"],
          "fingerprint")
    return sign_pk


def check_bodies(k, long_body, exact_body):
    key = k["message_key"]
    plain = body_open(k["body.cipher"], key)
    check(plain == k["body.plain"], "body")
    check(h32(plain) == k["body.hash"], "body hash")
    check(body_open(k["empty_body.cipher"], key) == b"", "empty body")
    check(len(k["empty_body.cipher"]) == 33 + 17, "empty body size")
    size = struct.unpack(">Q", k["long_body.size"])[0]
    expected = bytes(i % 251 for i in range(size))
    check(body_open(long_body, key) == expected, "long body")
    check(h32(expected) == k["long_body.hash"], "long body hash")
    exact_size = struct.unpack(">Q", k["exact_body.size"])[0]
    check(exact_size == 65536, "exact body is one chunk")
    check(len(exact_body) == 33 + 65536 + 17, "exact body: one full chunk")
    check(body_open(exact_body, key) == expected[:exact_size], "exact body")
    return plain


def check_summary(k, plain, sign_pk):
    sealed = k["summary.sealed"]
    check(sealed[:5] == b"SBMS\x01", "summary header")
    recs = summary_records(aead_open(sealed[29:], sealed[:5], sealed[5:29],
                                     k["message_key"]))
    fields, recipients = {}, []
    for rtype, value in recs:
        if rtype == 4:
            recipients.append(value)
        else:
            fields[rtype] = value
    size = struct.unpack(">Q", fields[1])[0]
    check(size == len(plain) and fields[2] == k["body.hash"], "size, hash")
    check(fields[3] == b"alice@example.org", "sender")
    check(recipients == [b"bob@example.org", b"carol@example.org"],
          "recipients: lower case, sorted")
    check(fields[5] == plain[:plain.index(b"\r\n\r\n") + 4], "headers")
    check(fields[7] == b"(text plain)", "structure")
    signer, signature = fields[6][:32], fields[6][32:]
    check(signer == sign_pk, "signer key")
    msg = signed_bytes(fields[2], size, fields[3], recipients, fields[5],
                       fields[7])
    check(nb.crypto_sign_open(signature + msg, signer) == msg, "signature")


def check_small_formats(k):
    packet = k["key_packet"]
    check(packet[:5] == b"SBKP\x01" and len(packet) == 85, "key packet")
    check(nb.crypto_box_seal_open(packet[5:], k["recipient.enc_pk"],
                                  k["recipient.enc_sk"]) == k["message_key"],
          "key packet opens to the message key")
    c = k["cache.sealed"]
    check(c[:5] == b"SBCE\x01", "cache header")
    check(aead_open(c[29:], c[:5] + k["cache.context"], c[5:29],
                    k["cache.key"]) == k["cache.plain"], "cache value")
    v = k["vault.file"]
    check(v[:5] == b"SBVT\x01", "vault header")
    vp = aead_open(v[29:], v[:5], v[5:29], k["vault.key"])
    entries, pos = {}, 0
    while pos < len(vp):
        nlen = struct.unpack(">H", vp[pos:pos + 2])[0]
        name = vp[pos + 2:pos + 2 + nlen]
        vlen = struct.unpack(">I", vp[pos + 2 + nlen:pos + 6 + nlen])[0]
        entries[name] = vp[pos + 6 + nlen:pos + 6 + nlen + vlen]
        pos += 6 + nlen + vlen
    check(entries == {b"account/acct-kat/refresh-token": b"rt-1",
                      b"account/acct-kat/bridge-password": b"bp-1"},
          "vault entries")
    check(k["vault.key_file"] == b"SBVK\x01" + k["vault.key"],
          "vault key file")


def main():
    folder = sys.argv[1]
    kat = load(folder + "/kat-v1.txt")
    with open(folder + "/kat-v1-long-body.bin", "rb") as f:
        long_body = f.read()
    with open(folder + "/kat-v1-exact-body.bin", "rb") as f:
        exact_body = f.read()
    sign_pk = check_keys(kat)
    plain = check_bodies(kat, long_body, exact_body)
    check_summary(kat, plain, sign_pk)
    check_small_formats(kat)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
