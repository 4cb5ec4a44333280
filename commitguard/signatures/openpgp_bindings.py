"""Check that a self-signature in a certificate was made by its primary key.

Why by hand: pysequoia's public API verifies signatures over *documents*
(``pysequoia.verify``), and exposes a certificate's primary expiry, user
IDs and revocation, but not its subkeys' bindings: there is no call that
says "this binding signature over this subkey verifies", nor which binding
is in force. Its parser keeps signatures that fail verification and
re-serialises them after the last component, so reading packets in order
would attribute a forged binding to whatever subkey comes last. Yet the
slow path and ``keyring check`` need per-key facts (expiry, key flags), and
those may only come from bindings the primary really made; otherwise anyone
who can append packets to a certificate file (a keyring branch, a keyserver
copy) could extend an expiry, mark a key for signing, or slip in a subkey
that is then listed as the holder's.

So this module recomputes the hash RFC 9580 (5.2.4) defines for key and
user-ID bindings, checks the hash prefix, and verifies the signature with
the primary's public key through ``cryptography`` (RSA, DSA, ECDSA on the
NIST curves, Ed25519). Only v4 keys
and v4 signatures are read; anything else is "does not verify", which can
only narrow what is trusted. The primary-key binding (back-signature) a
signing subkey should carry is not checked here: Sequoia's fast path and
GnuPG both demand it, and the facts read here never make a signature valid
on their own.
"""

from __future__ import annotations

import hashlib

import cryptography.exceptions
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

# RFC 9580 9.5: hash algorithm ids -> (hashlib name, cryptography class)
_HASHES = {
    1: ("md5", hashes.MD5), 2: ("sha1", hashes.SHA1), 8: ("sha256", hashes.SHA256), 9: ("sha384", hashes.SHA384),
    10: ("sha512", hashes.SHA512), 11: ("sha224", hashes.SHA224), 12: ("sha3_256", hashes.SHA3_256),
    14: ("sha3_512", hashes.SHA3_512),
}
_CURVES = {
    bytes.fromhex("2A8648CE3D030107"): ec.SECP256R1,
    bytes.fromhex("2B81040022"): ec.SECP384R1,
    bytes.fromhex("2B81040023"): ec.SECP521R1,
}
_ED25519_OID = bytes.fromhex("2B06010401DA470F01")
_RSA, _DSA, _ECDSA, _EDDSA_LEGACY, _ED25519 = (1, 2, 3), 17, 19, 22, 27


class _Short(Exception):
    """A field runs past the end of its packet."""


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise _Short
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def mpi(self) -> bytes:
        bits = self.int(2)
        return self.take((bits + 7) // 8)


def key_hash_prefix(key_body: bytes) -> bytes:
    """How a v4 key packet enters a signature's hash (RFC 9580 5.2.4)."""
    return b"\x99" + len(key_body).to_bytes(2, "big") + key_body


def user_id_hash_prefix(user_id: bytes) -> bytes:
    return b"\xb4" + len(user_id).to_bytes(4, "big") + user_id


def verify_self_signature(primary_body: bytes, signed: bytes, sig_body: bytes) -> bool:
    """True when ``sig_body`` (a v4 signature packet body) verifies with the primary key over ``signed``.

    ``signed`` is what precedes the signature's own trailer in the hash: the
    primary key's prefix, then the subkey's or user ID's prefix (see the
    two ``*_hash_prefix`` helpers). Never raises on malformed input.
    """
    try:
        return _verify(primary_body, signed, sig_body)
    except (_Short, ValueError, TypeError, OverflowError, cryptography.exceptions.UnsupportedAlgorithm):
        return False


def _verify(primary_body: bytes, signed: bytes, sig_body: bytes) -> bool:
    sig = _Reader(sig_body)
    if sig.int(1) != 4:
        return False
    _type, pk_algo, hash_algo = sig.int(1), sig.int(1), sig.int(1)
    hashed_len = sig.int(2)
    sig.take(hashed_len)
    trailer = sig_body[:6 + hashed_len]
    sig.take(sig.int(2))  # unhashed subpackets: not covered by the signature
    left16 = sig.take(2)
    if hash_algo not in _HASHES:
        return False
    name, algorithm = _HASHES[hash_algo]
    data = signed + trailer + b"\x04\xff" + len(trailer).to_bytes(4, "big")
    digest = hashlib.new(name, data).digest()
    if digest[:2] != left16:
        return False

    key = _Reader(primary_body)
    if key.int(1) != 4:
        return False
    key.take(4)  # creation time
    if key.int(1) != pk_algo:
        return False
    prehashed = Prehashed(algorithm())
    try:
        if pk_algo in _RSA:
            n, e = key.mpi(), key.mpi()
            modulus = int.from_bytes(n, "big")
            s = sig.mpi().rjust(len(n), b"\0")
            public = rsa.RSAPublicNumbers(int.from_bytes(e, "big"), modulus).public_key()
            public.verify(s, digest, padding.PKCS1v15(), prehashed)
        elif pk_algo == _DSA:
            p, q, g, y = (int.from_bytes(key.mpi(), "big") for _ in range(4))
            r, s_ = int.from_bytes(sig.mpi(), "big"), int.from_bytes(sig.mpi(), "big")
            public = dsa.DSAPublicNumbers(y, dsa.DSAParameterNumbers(p, q, g)).public_key()
            public.verify(encode_dss_signature(r, s_), digest, prehashed)
        elif pk_algo == _ECDSA:
            curve = _CURVES.get(key.take(key.int(1)))
            if curve is None:
                return False
            public = ec.EllipticCurvePublicKey.from_encoded_point(curve(), key.mpi())
            r, s_ = int.from_bytes(sig.mpi(), "big"), int.from_bytes(sig.mpi(), "big")
            public.verify(encode_dss_signature(r, s_), digest, ec.ECDSA(prehashed))
        elif pk_algo == _EDDSA_LEGACY:
            if key.take(key.int(1)) != _ED25519_OID:
                return False
            point = key.mpi()
            if len(point) != 33 or point[0] != 0x40:
                return False
            r, s_ = sig.mpi(), sig.mpi()
            if len(r) > 32 or len(s_) > 32:
                return False
            # OpenPGP EdDSA signs the digest, not the data
            ed25519.Ed25519PublicKey.from_public_bytes(point[1:]).verify(r.rjust(32, b"\0") + s_.rjust(32, b"\0"),
                                                                          digest)
        elif pk_algo == _ED25519:
            ed25519.Ed25519PublicKey.from_public_bytes(key.take(32)).verify(sig.take(64), digest)
        else:
            return False
    except cryptography.exceptions.InvalidSignature:
        return False
    return True
