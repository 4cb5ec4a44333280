"""In-process commit signers for bench/generate.py, as fast as the machine allows.

Generating a million signed commits is one long chain of signatures: every
commit names its parent's id, which hashes the parent's signature, so the
signatures cannot be made in parallel, and their sum is a floor on the
generation time. The costly one is OpenPGP RSA 4096: Sequoia (through
pysequoia) takes about 10 ms a signature here, OpenSSL (through
``cryptography``) about 4 ms. So RSA signatures are made by OpenSSL over a
signature packet built here, with the secret key read out of the pysequoia
TSK; ed25519 OpenPGP signatures stay with pysequoia (50 us each), and SSH
signatures are SSHSIG blobs signed by ``cryptography`` with the constant
parts precomputed.

Nothing here is trusted blindly: generate.py checks samples of every kind
with ``git verify-commit`` (gpg, ssh-keygen) and the commitguard
benchmarks check every verdict.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import time

import pysequoia
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed


def _sshstr(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


class SshSigner:
    """SSHSIG (PROTOCOL.sshsig) with an ed25519 key, namespace "git", sha512:
    what ``ssh-keygen -Y sign -n git`` makes, armored the same way."""

    def __init__(self, key: Ed25519PrivateKey, namespace: str = "git"):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        pub = _sshstr(b"ssh-ed25519") + _sshstr(raw)
        ns = namespace.encode()
        self._sign = key.sign
        self._signed_prefix = b"SSHSIG" + _sshstr(ns) + _sshstr(b"") + _sshstr(b"sha512") + struct.pack(">I", 64)
        self._blob_prefix = b"SSHSIG" + struct.pack(">I", 1) + _sshstr(pub) + _sshstr(ns) + _sshstr(b"") + _sshstr(b"sha512")
        # signature string: string("ssh-ed25519") + string(64-byte signature)
        self._sig_prefix = struct.pack(">I", 4 + 11 + 4 + 64) + _sshstr(b"ssh-ed25519") + struct.pack(">I", 64)

    def __call__(self, payload: bytes) -> str:
        sig = self._sign(self._signed_prefix + hashlib.sha512(payload).digest())
        b64 = base64.b64encode(self._blob_prefix + self._sig_prefix + sig).decode()
        lines = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
        return "-----BEGIN SSH SIGNATURE-----\n" + lines + "\n-----END SSH SIGNATURE-----\n"


class SequoiaSigner:
    """A detached, armored OpenPGP signature made by pysequoia."""

    def __init__(self, tsk):
        self._signer = tsk.signer()

    def __call__(self, payload: bytes) -> str:
        return pysequoia.sign(self._signer, payload, mode=pysequoia.SignatureMode.DETACHED).decode()


# --------------------------------------------------------------------------
# OpenPGP RSA through OpenSSL
# --------------------------------------------------------------------------


def _packets(data: bytes):
    """(tag, body) of each packet of binary OpenPGP data (RFC 4880 4.2);
    partial lengths never occur in keys, so they are refused."""
    i = 0
    while i < len(data):
        h = data[i]
        i += 1
        if not h & 0x80:
            raise ValueError(f"not an OpenPGP packet header at byte {i - 1}")
        if h & 0x40:
            tag, n = h & 0x3F, data[i]
            i += 1
            if n >= 224 and n != 255:
                raise ValueError("partial body length in a key")
            if 192 <= n < 224:
                n = ((n - 192) << 8) + data[i] + 192
                i += 1
            elif n == 255:
                n = int.from_bytes(data[i : i + 4], "big")
                i += 4
        else:
            tag, lt = (h >> 2) & 0x0F, h & 3
            if lt == 3:
                raise ValueError("indeterminate length in a key")
            w = (1, 2, 4)[lt]
            n = int.from_bytes(data[i : i + w], "big")
            i += w
        yield tag, data[i : i + n]
        i += n


def _mpi(body: bytes, i: int) -> tuple[int, int]:
    bits = int.from_bytes(body[i : i + 2], "big")
    n = (bits + 7) // 8
    return int.from_bytes(body[i + 2 : i + 2 + n], "big"), i + 2 + n


def _enc_mpi(x: int) -> bytes:
    b = x.to_bytes((x.bit_length() + 7) // 8, "big")
    return struct.pack(">H", x.bit_length()) + b


def _rsa_secret_keys(tsk_bytes: bytes) -> dict[bytes, rsa.RSAPrivateKey]:
    """Every unencrypted v4 RSA (sub)key of a TSK, by v4 fingerprint."""
    keys = {}
    for tag, body in _packets(tsk_bytes):
        if tag not in (5, 7) or body[0] != 4 or body[5] not in (1, 3):
            continue
        n, i = _mpi(body, 6)
        e, i = _mpi(body, i)
        public = body[:i]
        if body[i] != 0:
            raise ValueError("encrypted secret key")
        d, i = _mpi(body, i + 1)
        p, i = _mpi(body, i)
        q, i = _mpi(body, i)
        fpr = hashlib.sha1(b"\x99" + struct.pack(">H", len(public)) + public).digest()
        nums = rsa.RSAPrivateNumbers(
            p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n)
        )
        # no validation: the key is Sequoia's own, and checking a 4096-bit key costs half a second
        keys[fpr] = nums.private_key(unsafe_skip_rsa_key_validation=True)
    return keys


def _issuer_fingerprint(armored_sig: bytes) -> bytes:
    """The issuer fingerprint subpacket (33) of a v4 signature."""
    text = armored_sig.decode()
    body = text.split("\n\n", 1)[1].split("\n=", 1)[0]
    (tag, sig), = list(_packets(base64.b64decode("".join(body.split()))))
    if tag != 2 or sig[0] != 4:
        raise ValueError("not a v4 signature")
    hashed_len = int.from_bytes(sig[4:6], "big")
    area = sig[6 : 6 + hashed_len]
    unhashed_len = int.from_bytes(sig[6 + hashed_len : 8 + hashed_len], "big")
    area += sig[8 + hashed_len : 8 + hashed_len + unhashed_len]
    j = 0
    while j < len(area):
        n = area[j]
        j += 1
        if n >= 192:
            n = ((n - 192) << 8) + area[j] + 192
            j += 1
        if area[j] & 0x7F == 33 and area[j + 1] == 4:
            return area[j + 2 : j + n]
        j += n
    raise ValueError("signature without an issuer fingerprint")


def _crc24_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
        table.append(crc & 0xFFFFFF)
    return table


_CRC24 = _crc24_table()


def _crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 6.1), table-driven."""
    crc, t = 0xB704CE, _CRC24
    for b in data:
        crc = ((crc << 8) & 0xFFFFFF) ^ t[(crc >> 16) ^ b]
    return crc


class OpenSslRsaSigner:
    """Detached v4 OpenPGP signatures (binary document, SHA-512, RSA PKCS#1
    v1.5) by the signing subkey pysequoia would use, computed by OpenSSL.

    The signing key is found by letting pysequoia sign once and reading the
    issuer fingerprint of its signature, so the key chosen is the one the
    certificate says signs. Hashed subpackets: signature creation time
    (critical) and issuer fingerprint; issuer key id unhashed. The creation
    time is the signer's construction time, as pysequoia would stamp "now".
    """

    def __init__(self, tsk):
        fpr = _issuer_fingerprint(pysequoia.sign(tsk.signer(), b"probe", mode=pysequoia.SignatureMode.DETACHED))
        keys = _rsa_secret_keys(bytes(tsk))
        if fpr not in keys:
            raise ValueError("the signing key of this TSK is not an unencrypted RSA key")
        self._key = keys[fpr]
        hashed = b"\x05\x82" + struct.pack(">I", int(time.time())) + b"\x16\x21\x04" + fpr
        unhashed = b"\x09\x10" + fpr[-8:]
        # version 4, type 0x00 (binary), algorithm 1 (RSA), hash 10 (SHA-512)
        self._hashed_part = b"\x04\x00\x01\x0a" + struct.pack(">H", len(hashed)) + hashed
        self._trailer = self._hashed_part + b"\x04\xff" + struct.pack(">I", len(self._hashed_part))
        self._unhashed_part = struct.pack(">H", len(unhashed)) + unhashed
        self._pad = padding.PKCS1v15()
        self._alg = Prehashed(hashes.SHA512())

    def __call__(self, payload: bytes) -> str:
        h = hashlib.sha512(payload)
        h.update(self._trailer)
        digest = h.digest()
        sig = self._key.sign(digest, self._pad, self._alg)
        body = self._hashed_part + self._unhashed_part + digest[:2] + _enc_mpi(int.from_bytes(sig, "big"))
        n = len(body)
        if n < 192:
            head = bytes((0xC2, n))
        elif n < 8384:
            n -= 192
            head = bytes((0xC2, (n >> 8) + 192, n & 0xFF))
        else:
            head = b"\xc2\xff" + struct.pack(">I", n)
        packet = head + body
        b64 = base64.b64encode(packet).decode()
        lines = "\n".join(b64[i : i + 64] for i in range(0, len(b64), 64))
        crc = base64.b64encode(_crc24(packet).to_bytes(3, "big")).decode()
        return f"-----BEGIN PGP SIGNATURE-----\n\n{lines}\n={crc}\n-----END PGP SIGNATURE-----\n"
