"""Builders and readers for the formats of docs/crypto.md, on PyNaCl.

The API conformance suite uses this module to make the objects a real
client would send (signup keys, wrapped keys, body streams, summaries, key
packets) and to open what the service hands back. It is written from
docs/crypto.md alone; tests/api/test_saltcrypto.py checks it against the
known-answer vectors in crypto/testdata/.

Every function that takes random input (nonces, keys) accepts it as an
optional argument so the known-answer vectors can be reproduced.
"""
import base64
import hashlib
import os
import struct

import nacl.bindings as nb

KDF_CONTEXT = b"sbpass01"
DEFAULT_OPSLIMIT = 3
DEFAULT_MEMLIMIT = 64 * 1024 * 1024
KDF_ALG = "argon2id13"

KIND_ACCOUNT_KEY = 1
KIND_ENC_SK = 2
KIND_SIGN_SEED = 3

WRAPPED_LEN = 78
KEY_PACKET_LEN = 85
BODY_CHUNK = 65536

REC_SIZE = 1
REC_HASH = 2
REC_SENDER = 3
REC_RECIPIENT = 4
REC_HEADERS = 5
REC_SIGNATURE = 6
REC_STRUCTURE = 7

_SS_TAG_MESSAGE = nb.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_SS_TAG_FINAL = nb.crypto_secretstream_xchacha20poly1305_TAG_FINAL


class FormatError(ValueError):
    """A value does not follow docs/crypto.md."""


def b64e(data):
    return base64.b64encode(data).decode("ascii")


def b64d(text):
    return base64.b64decode(text.encode("ascii"), validate=True)


def h32(data):
    return hashlib.blake2b(data, digest_size=32).digest()


def _aead_seal(plain, ad, nonce, key):
    return nb.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, nonce, key)


def _aead_open(ct, ad, nonce, key):
    try:
        return nb.crypto_aead_xchacha20poly1305_ietf_decrypt(ct, ad, nonce,
                                                             key)
    except Exception as e:  # nacl.exceptions.CryptoError
        raise FormatError("AEAD does not verify: %s" % e) from None


# Keys from the password -------------------------------------------------

def kdf_subkey(root, subkey_id, context=KDF_CONTEXT):
    """crypto_kdf_derive_from_key(32, subkey_id, context, root)."""
    salt = struct.pack("<Q", subkey_id) + bytes(8)
    return hashlib.blake2b(b"", digest_size=32, key=root, salt=salt,
                           person=context + bytes(8)).digest()


def derive_password_keys(password, salt, opslimit=DEFAULT_OPSLIMIT,
                         memlimit=DEFAULT_MEMLIMIT):
    """Returns (auth_key, kek) for a password (bytes or str)."""
    if isinstance(password, str):
        password = password.encode("utf-8")
    root = nb.crypto_pwhash_alg(32, password, salt, opslimit, memlimit,
                                nb.crypto_pwhash_ALG_ARGON2ID13)
    return kdf_subkey(root, 1), kdf_subkey(root, 2)


# Wrapped keys ------------------------------------------------------------

def _account_id_bytes(account_id):
    if isinstance(account_id, str):
        return account_id.encode("utf-8")
    return account_id


def wrap_key(secret, wrapping_key, kind, account_id, nonce=None):
    """A 78-byte SBWK wrapped key."""
    if len(secret) != 32 or len(wrapping_key) != 32:
        raise FormatError("wrap_key takes 32-byte keys")
    if nonce is None:
        nonce = os.urandom(24)
    head = b"SBWK\x01" + bytes([kind])
    ad = head + _account_id_bytes(account_id)
    out = head + nonce + _aead_seal(secret, ad, nonce, wrapping_key)
    assert len(out) == WRAPPED_LEN
    return out


def unwrap_key(wrapped, wrapping_key, kind, account_id):
    if len(wrapped) != WRAPPED_LEN:
        raise FormatError("wrapped key is %d bytes" % len(wrapped))
    if wrapped[:5] != b"SBWK\x01":
        raise FormatError("not an SBWK version 1 wrapped key")
    if wrapped[5] != kind:
        raise FormatError("wrapped key kind %d, expected %d"
                          % (wrapped[5], kind))
    ad = wrapped[:6] + _account_id_bytes(account_id)
    return _aead_open(wrapped[30:], ad, wrapped[6:30], wrapping_key)


def fingerprint(enc_pk, sign_pk):
    h = hashlib.blake2b(b"SBFP" + enc_pk + sign_pk,
                        digest_size=20).hexdigest()
    return " ".join(h[i:i + 4] for i in range(0, 40, 4))


class Identity:
    """An account's whole key hierarchy, made on the client as at signup."""

    def __init__(self, account_id, password, salt=None,
                 opslimit=DEFAULT_OPSLIMIT, memlimit=DEFAULT_MEMLIMIT,
                 account_key=None, enc_sk=None, sign_seed=None):
        self.account_id = account_id
        self.password = password
        self.salt = salt if salt is not None else os.urandom(16)
        self.opslimit = opslimit
        self.memlimit = memlimit
        self.auth_key, self.kek = derive_password_keys(
            password, self.salt, opslimit, memlimit)
        self.account_key = account_key or os.urandom(32)
        self.enc_sk = enc_sk or os.urandom(32)
        self.enc_pk = nb.crypto_scalarmult_base(self.enc_sk)
        self.sign_seed = sign_seed or os.urandom(32)
        self.sign_pk, self.sign_sk = nb.crypto_sign_seed_keypair(
            self.sign_seed)
        self.wrapped_account_key = wrap_key(self.account_key, self.kek,
                                            KIND_ACCOUNT_KEY, account_id)
        self.wrapped_enc_sk = wrap_key(self.enc_sk, self.account_key,
                                       KIND_ENC_SK, account_id)
        self.wrapped_sign_seed = wrap_key(self.sign_seed, self.account_key,
                                          KIND_SIGN_SEED, account_id)

    @classmethod
    def from_server(cls, account_id, password, kdf, keys):
        """Rebuilds an identity from GET /api/v1/account's kdf and keys
        (an account whose keys the server made, e.g. `user add`)."""
        self = cls.__new__(cls)
        self.account_id = account_id
        self.password = password
        self.salt = b64d(kdf["salt"])
        self.opslimit = kdf["opslimit"]
        self.memlimit = kdf["memlimit"]
        self.auth_key, self.kek = derive_password_keys(
            password, self.salt, self.opslimit, self.memlimit)
        self.wrapped_account_key = b64d(keys["wrapped_account_key"])
        self.wrapped_enc_sk = b64d(keys["wrapped_enc_sk"])
        self.wrapped_sign_seed = b64d(keys["wrapped_sign_seed"])
        self.account_key = unwrap_key(self.wrapped_account_key, self.kek,
                                      KIND_ACCOUNT_KEY, account_id)
        self.enc_sk = unwrap_key(self.wrapped_enc_sk, self.account_key,
                                 KIND_ENC_SK, account_id)
        self.sign_seed = unwrap_key(self.wrapped_sign_seed, self.account_key,
                                    KIND_SIGN_SEED, account_id)
        self.enc_pk = nb.crypto_scalarmult_base(self.enc_sk)
        self.sign_pk, self.sign_sk = nb.crypto_sign_seed_keypair(
            self.sign_seed)
        if b64d(keys["enc_pk"]) != self.enc_pk:
            raise FormatError("enc_pk does not match the wrapped secret")
        if b64d(keys["sign_pk"]) != self.sign_pk:
            raise FormatError("sign_pk does not match the wrapped seed")
        return self

    def kdf_json(self):
        return {"alg": KDF_ALG, "opslimit": self.opslimit,
                "memlimit": self.memlimit, "salt": b64e(self.salt)}

    def keys_json(self):
        return {"enc_pk": b64e(self.enc_pk), "sign_pk": b64e(self.sign_pk),
                "wrapped_account_key": b64e(self.wrapped_account_key),
                "wrapped_enc_sk": b64e(self.wrapped_enc_sk),
                "wrapped_sign_seed": b64e(self.wrapped_sign_seed)}

    def fingerprint(self):
        return fingerprint(self.enc_pk, self.sign_pk)

    def change_password(self, new_password, salt=None):
        """Re-wraps the account key under a new KEK; returns the body of
        PUT /api/v1/account/password, which proves the current password
        with its auth key."""
        current_auth_key = self.auth_key
        self.password = new_password
        self.salt = salt if salt is not None else os.urandom(16)
        self.auth_key, self.kek = derive_password_keys(
            new_password, self.salt, self.opslimit, self.memlimit)
        self.wrapped_account_key = wrap_key(self.account_key, self.kek,
                                            KIND_ACCOUNT_KEY, self.account_id)
        return {"current_auth_key": b64e(current_auth_key),
                "auth_key": b64e(self.auth_key), "kdf": self.kdf_json(),
                "wrapped_account_key": b64e(self.wrapped_account_key)}


# Body stream --------------------------------------------------------------

def body_seal(plain, key, chunk=BODY_CHUNK):
    """An SBMB body stream of `plain` under the message key."""
    prefix = b"SBMB\x01" + struct.pack(">I", chunk)
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    header = nb.crypto_secretstream_xchacha20poly1305_init_push(state, key)
    out = [prefix, header]
    pos = 0
    while True:
        piece = plain[pos:pos + chunk]
        pos += len(piece)
        # The last chunk holds the rest, 0..C bytes: a whole number of
        # chunks ends in a full FINAL chunk, never an empty one after it.
        last = pos >= len(plain)
        tag = _SS_TAG_FINAL if last else _SS_TAG_MESSAGE
        out.append(nb.crypto_secretstream_xchacha20poly1305_push(
            state, piece, prefix, tag))
        if last:
            break
    return b"".join(out)


def body_open(stream, key, max_chunk=1024 * 1024):
    if stream[:5] != b"SBMB\x01":
        raise FormatError("not an SBMB version 1 body stream")
    if len(stream) < 33:
        raise FormatError("body stream shorter than its header")
    chunk = struct.unpack(">I", stream[5:9])[0]
    if chunk == 0 or chunk > max_chunk:
        raise FormatError("chunk size %d" % chunk)
    prefix = stream[:9]
    state = nb.crypto_secretstream_xchacha20poly1305_state()
    nb.crypto_secretstream_xchacha20poly1305_init_pull(state, stream[9:33],
                                                       key)
    pos, out, final = 33, [], False
    while pos < len(stream):
        if final:
            raise FormatError("bytes after the final chunk")
        piece = stream[pos:pos + chunk + 17]
        pos += len(piece)
        try:
            plain, tag = nb.crypto_secretstream_xchacha20poly1305_pull(
                state, piece, prefix)
        except Exception as e:
            raise FormatError("chunk does not verify: %s" % e) from None
        out.append(plain)
        if tag == _SS_TAG_FINAL:
            final = True
        elif tag != _SS_TAG_MESSAGE:
            raise FormatError("unexpected secretstream tag %d" % tag)
    if not final:
        raise FormatError("body stream truncated (no final chunk)")
    return b"".join(out)


# Summary ------------------------------------------------------------------

def normal_address(addr):
    """An address in the summary's normal form: ASCII letters lower-cased."""
    if isinstance(addr, str):
        addr = addr.encode("utf-8")
    return bytes(c + 32 if 65 <= c <= 90 else c for c in addr)


def signed_bytes(body_hash, size, sender, recipients, headers, structure):
    """What the signature covers; an absent header or structure record
    hashes as empty (docs/crypto.md, Signature)."""
    out = [b"SBSG\x01", body_hash, struct.pack(">Q", size),
           struct.pack(">H", len(sender)), sender,
           struct.pack(">H", len(recipients))]
    for r in recipients:
        out.append(struct.pack(">H", len(r)))
        out.append(r)
    out.append(h32(headers or b""))
    out.append(h32(structure or b""))
    return b"".join(out)


def _record(rtype, value):
    return bytes([rtype]) + struct.pack(">I", len(value)) + value


def summary_records(size, body_hash, sender=None, recipients=(),
                    headers=None, sign_sk=None, sign_pk=None, structure=None):
    """The summary's plaintext records, in type order. With sign_sk, the
    sender signs (sender is then required)."""
    rcpts = sorted(set(normal_address(r) for r in recipients))
    recs = [_record(REC_SIZE, struct.pack(">Q", size)),
            _record(REC_HASH, body_hash)]
    if sender is not None:
        sender = normal_address(sender)
        recs.append(_record(REC_SENDER, sender))
    for r in rcpts:
        recs.append(_record(REC_RECIPIENT, r))
    if headers is not None:
        recs.append(_record(REC_HEADERS, headers))
    if sign_sk is not None:
        if sender is None:
            raise FormatError("a signed summary needs a sender")
        sig = nb.crypto_sign(signed_bytes(body_hash, size, sender, rcpts,
                                          headers, structure),
                             sign_sk)[:64]
        recs.append(_record(REC_SIGNATURE, sign_pk + sig))
    if structure is not None:
        recs.append(_record(REC_STRUCTURE, structure))
    return b"".join(recs)


def summary_seal(records, key, nonce=None):
    if nonce is None:
        nonce = os.urandom(24)
    head = b"SBMS\x01"
    return head + nonce + _aead_seal(records, head, nonce, key)


def summary_open(sealed, key):
    """Opens and parses a summary. Returns a dict: size, body_hash, sender
    (bytes or None), recipients (list of bytes), headers, signer_pk,
    signature, structure (each None when absent)."""
    if sealed[:5] != b"SBMS\x01":
        raise FormatError("not an SBMS version 1 summary")
    if len(sealed) < 29 + 16:
        raise FormatError("summary too short")
    plain = _aead_open(sealed[29:], sealed[:5], sealed[5:29], key)
    fields = {"size": None, "body_hash": None, "sender": None,
              "recipients": [], "headers": None, "signer_pk": None,
              "signature": None, "structure": None}
    seen = set()
    pos = 0
    while pos < len(plain):
        if pos + 5 > len(plain):
            raise FormatError("record header runs past the end")
        rtype = plain[pos]
        length = struct.unpack(">I", plain[pos + 1:pos + 5])[0]
        value = plain[pos + 5:pos + 5 + length]
        if len(value) != length:
            raise FormatError("record runs past the end")
        pos += 5 + length
        if rtype != REC_RECIPIENT:
            if rtype in seen:
                raise FormatError("record %d repeated" % rtype)
            seen.add(rtype)
        if rtype == REC_SIZE:
            if length != 8:
                raise FormatError("size record is %d bytes" % length)
            fields["size"] = struct.unpack(">Q", value)[0]
        elif rtype == REC_HASH:
            if length != 32:
                raise FormatError("hash record is %d bytes" % length)
            fields["body_hash"] = value
        elif rtype == REC_SENDER:
            _check_address(value)
            fields["sender"] = value
        elif rtype == REC_RECIPIENT:
            _check_address(value)
            if fields["recipients"] and value <= fields["recipients"][-1]:
                raise FormatError("recipients not strictly increasing")
            fields["recipients"].append(value)
        elif rtype == REC_HEADERS:
            fields["headers"] = value
        elif rtype == REC_SIGNATURE:
            if length != 96:
                raise FormatError("signature record is %d bytes" % length)
            fields["signer_pk"] = value[:32]
            fields["signature"] = value[32:]
        elif rtype == REC_STRUCTURE:
            fields["structure"] = value
        elif rtype >= 0x80:
            raise FormatError("unknown required record type %d" % rtype)
    if fields["size"] is None or fields["body_hash"] is None:
        raise FormatError("summary lacks size or body hash")
    if fields["signature"] is not None and fields["sender"] is None:
        raise FormatError("signed summary without sender")
    return fields


def _check_address(value):
    if len(value) > 320 or not value:
        raise FormatError("address length %d" % len(value))
    for c in value:
        if c <= 0x20 or c == 0x7f or 65 <= c <= 90:
            raise FormatError("address %r is not in normal form" % value)


def verdict(fields, body, sender_sign_pk):
    """The verdict of docs/crypto.md for an opened summary and body:
    'valid', 'invalid', 'unsigned' or 'signer key unknown'."""
    if h32(body) != fields["body_hash"] or len(body) != fields["size"]:
        return "invalid"
    if fields["signature"] is None:
        return "unsigned"
    if sender_sign_pk is None:
        return "signer key unknown"
    if fields["signer_pk"] != sender_sign_pk:
        return "invalid"
    msg = signed_bytes(fields["body_hash"], fields["size"], fields["sender"],
                       fields["recipients"], fields["headers"],
                       fields["structure"])
    try:
        nb.crypto_sign_open(fields["signature"] + msg, sender_sign_pk)
    except Exception:
        return "invalid"
    return "valid"


# Key packet ---------------------------------------------------------------

def key_packet_seal(message_key, recipient_enc_pk):
    out = b"SBKP\x01" + nb.crypto_box_seal(message_key, recipient_enc_pk)
    assert len(out) == KEY_PACKET_LEN
    return out


def key_packet_open(packet, enc_pk, enc_sk):
    if len(packet) != KEY_PACKET_LEN or packet[:5] != b"SBKP\x01":
        raise FormatError("not an 85-byte SBKP version 1 key packet")
    try:
        return nb.crypto_box_seal_open(packet[5:], enc_pk, enc_sk)
    except Exception as e:
        raise FormatError("key packet does not open: %s" % e) from None


# A whole message ----------------------------------------------------------

class Message:
    """One message encrypted once: body stream, summary, and key packets on
    demand. `body` is the RFC 5322 message (bytes)."""

    def __init__(self, body, sender=None, recipients=(), signer=None,
                 key=None):
        self.body = body
        self.key = key or os.urandom(32)
        self.body_hash = h32(body)
        self.stream = body_seal(body, self.key)
        end = body.find(b"\r\n\r\n")
        headers = body[:end + 4] if end >= 0 else None
        self.summary = summary_seal(summary_records(
            len(body), self.body_hash, sender=sender, recipients=recipients,
            headers=headers,
            sign_sk=signer.sign_sk if signer is not None else None,
            sign_pk=signer.sign_pk if signer is not None else None),
            self.key)

    def key_packet(self, enc_pk):
        return key_packet_seal(self.key, enc_pk)


def rfc5322(sender, to, subject, text, extra_headers=()):
    """A small RFC 5322 message with CRLF line ends."""
    lines = ["From: %s" % sender, "To: %s" % ", ".join(to),
             "Subject: %s" % subject,
             "Message-ID: <%s@saltbridge.test>" % os.urandom(8).hex(),
             "Date: Mon, 01 Jan 2024 00:00:00 +0000"]
    lines.extend(extra_headers)
    return ("\r\n".join(lines) + "\r\n\r\n" + text + "\r\n").encode("utf-8")
