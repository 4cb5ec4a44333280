"""SSH public key algorithms that the ``sshsig`` library does not know.

``sshsig`` 0.3 verifies only ``ssh-ed25519`` and ``ssh-rsa`` signatures, but
git users sign with ECDSA keys and with FIDO hardware keys too; without these
algorithms such commits would be reported as unverifiable rather than judged.
The classes here plug into sshsig's own registry
(``sshsig.ssh_public_key.PublicKeyAlgorithm.supported``) so every sshsig entry
point (``PublicKey.do_from_ssh_encoding``, ``check_signature``, ``verify``,
allowed-signers parsing) handles them like the built-in types.

Signature blobs come from commits anyone can push, so all parsing here is
strict and mirrors OpenSSH (``sshkey.c``, ``ssh-ecdsa.c``, ``ssh-ecdsa-sk.c``,
``ssh-ed25519-sk.c``): truncated fields, trailing bytes, compressed or invalid
points, negative integers and mismatched algorithm names are all rejected, and
the only exception that can escape is ``ValueError`` (from key loading, which
sshsig catches); ``do_verify`` returns its failures instead of raising them.

FIDO signatures (OpenSSH ``PROTOCOL.u2f``) must carry the user-presence flag,
as ``ssh-keygen -Y verify`` demands unless an allowed-signers entry says
``no-touch-required``; this module has no such per-key option, so a signature
made without touching the token never verifies.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from abc import abstractmethod
from typing import Any

import nacl.bindings
import nacl.exceptions
import cryptography.exceptions
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sshsig.binary_io import SshReader
from sshsig.ssh_public_key import PublicKey, PublicKeyAlgorithm
from sshsig.unexceptional import unexceptional

__all__ = [
    "EcdsaAlgorithm",
    "EcdsaPublicKey",
    "MissingUserPresence",
    "SkEcdsaAlgorithm",
    "SkEcdsaPublicKey",
    "SkEd25519Algorithm",
    "SkEd25519PublicKey",
    "register",
]

# Flag bit set by the authenticator when the user touched it (PROTOCOL.u2f,
# SSH_SK_USER_PRESENCE_REQD in OpenSSH's sk-api.h).
_SK_USER_PRESENCE = 0x01


class MissingUserPresence(cryptography.exceptions.InvalidSignature):
    """A FIDO signature is mathematically valid but the token was not touched.

    A separate type lets callers tell "forged" from "signed without touch" in
    their reports; it stays an ``InvalidSignature`` so code that only asks
    "valid or not" needs no change.
    """


class _Fields:
    """Strict reader for the SSH wire encoding (RFC 4251, section 5).

    sshsig's ``SshReader`` returns short reads for truncated strings instead
    of failing, which would let a cut-off blob parse as a different, shorter
    one; everything here therefore goes through this reader, which raises
    ``ValueError`` (and only that) on any malformation.
    """

    def __init__(self, data: bytes):
        self._data = bytes(data)
        self._pos = 0

    def _take(self, length: int) -> bytes:
        end = self._pos + length
        if end > len(self._data):
            raise ValueError("Truncated SSH field.")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def byte(self) -> int:
        return self._take(1)[0]

    def uint32(self) -> int:
        return struct.unpack("!L", self._take(4))[0]

    def string(self) -> bytes:
        return self._take(self.uint32())

    def cstring(self) -> bytes:
        # OpenSSH reads text fields with sshbuf_get_cstring, which refuses
        # embedded NULs; accepting them would let two distinct blobs denote
        # what OpenSSH treats as the same (NUL-truncated) application.
        value = self.string()
        if b"\0" in value:
            raise ValueError("NUL byte inside SSH text field.")
        return value

    def mpint(self, max_bits: int) -> int:
        # Same limits as sshbuf_get_bignum2: no negative values; and values
        # wider than the curve order cannot be valid ECDSA scalars, so they are
        # refused before any big-number work is spent on them.
        raw = self.string()
        if raw and raw[0] & 0x80:
            raise ValueError("Negative SSH mpint.")
        value = int.from_bytes(raw, "big")
        if value.bit_length() > max_bits:
            raise ValueError("SSH mpint out of range.")
        return value

    def end(self) -> None:
        if self._pos != len(self._data):
            raise ValueError("Trailing bytes after SSH structure.")


def _ssh_string(value: bytes) -> bytes:
    return struct.pack("!L", len(value)) + value


def _rest(pkt: SshReader) -> _Fields:
    """Take over parsing from sshsig's reader for the remainder of a key blob.

    sshsig consumes the algorithm name and hands the rest to
    ``load_public_key``; reading it all at once is what allows detecting
    trailing bytes, which sshsig itself never checks.
    """
    return _Fields(pkt.read())  # raises ValueError if nothing is left


class _SshBlobKey(PublicKey):
    """Shared identity logic: a key *is* its canonical SSH encoding.

    Comparing blobs (rather than ``cryptography`` key objects) also covers the
    FIDO application string, which is part of the key's identity but unknown
    to ``cryptography``.
    """

    _ALGO: str = ""

    def __init__(self, blob: bytes):
        self._blob = blob

    @property
    def algo_name(self) -> str:
        return self._ALGO

    @property
    def blob(self) -> bytes:
        """The SSH wire encoding, as embedded in signatures and .pub files."""
        return self._blob

    def openssh_str(self) -> str:
        return f"{self._ALGO} {base64.b64encode(self._blob).decode('ascii')}"

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, _SshBlobKey):
            return self._blob == other._blob
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._blob)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sha256_str()}>"

    def _open_signature(self, signature: bytes) -> _Fields:
        """Check the outer ``string(algo)`` and return a reader positioned after it.

        OpenSSH refuses a signature whose algorithm name differs from the key
        type (SSH_ERR_KEY_TYPE_MISMATCH); doing the same stops a blob meant
        for one algorithm being reinterpreted under another.
        """
        fields = _Fields(signature)
        sig_algo = fields.string()
        if sig_algo != self._ALGO.encode("ascii"):
            raise ValueError(f"Signature algorithm {sig_algo!r} does not match key type {self._ALGO}.")
        return fields


##############################################################################
# Curves shared by plain and FIDO ECDSA keys.

# SSH curve identifier -> (cryptography curve, hash OpenSSH pairs with it,
# byte length of one coordinate).
_CURVES: dict[bytes, tuple[ec.EllipticCurve, hashes.HashAlgorithm, int]] = {
    b"nistp256": (ec.SECP256R1(), hashes.SHA256(), 32),
    b"nistp384": (ec.SECP384R1(), hashes.SHA384(), 48),
    b"nistp521": (ec.SECP521R1(), hashes.SHA512(), 66),
}


def _load_ec_point(curve_id: bytes, point: bytes) -> ec.EllipticCurvePublicKey:
    """Decode an SEC1 point the way OpenSSH does: uncompressed form only.

    ``cryptography`` would also accept compressed points, but OpenSSH never
    emits them and refuses them on input, so accepting them would give one
    key two blob encodings (and two fingerprints).
    """
    curve, _, size = _CURVES[curve_id]
    if len(point) != 1 + 2 * size or point[0] != 0x04:
        raise ValueError("ECDSA public key point is not an uncompressed point of the right size.")
    # Raises ValueError for points not on the curve.
    return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)


def _read_ecdsa_rs(sig: bytes, key_bits: int) -> bytes:
    """Turn SSH ``mpint r, mpint s`` into the DER form ``cryptography`` verifies."""
    fields = _Fields(sig)
    r = fields.mpint(key_bits)
    s = fields.mpint(key_bits)
    fields.end()
    if r == 0 or s == 0:
        raise ValueError("ECDSA signature scalar is zero.")
    return encode_dss_signature(r, s)


def _verify_returning(verify: Any, *args: Any) -> None | Exception:
    try:
        verify(*args)
    except cryptography.exceptions.InvalidSignature as ex:
        return ex
    return None


##############################################################################
# ecdsa-sha2-nistp{256,384,521}  (RFC 5656, sections 3.1 and 3.1.2)


class EcdsaAlgorithm(PublicKeyAlgorithm):
    """One instance per curve, because sshsig's registry is keyed by name."""

    def __init__(self, curve_id: bytes):
        if curve_id not in _CURVES:
            raise ValueError(f"Unsupported ECDSA curve {curve_id!r}.")
        self._curve_id = curve_id

    @property
    def name(self) -> str:
        return "ecdsa-sha2-" + self._curve_id.decode("ascii")

    def load_public_key(self, pkt: SshReader) -> PublicKey:
        fields = _rest(pkt)
        curve_id = fields.string()
        if curve_id != self._curve_id:
            # RFC 5656 lets the two names differ in principle, but OpenSSH
            # requires them to match and so do we: a mismatch is a forgery
            # attempt or corruption, never a real key.
            raise ValueError(f"Curve {curve_id!r} does not match key type {self.name}.")
        point = fields.string()
        fields.end()
        blob = _ssh_string(self.name.encode("ascii")) + _ssh_string(curve_id) + _ssh_string(point)
        return EcdsaPublicKey(blob, curve_id, point)


class EcdsaPublicKey(_SshBlobKey):
    def __init__(self, blob: bytes, curve_id: bytes, point: bytes):
        super().__init__(blob)
        self._ALGO = "ecdsa-sha2-" + curve_id.decode("ascii")
        self._impl = _load_ec_point(curve_id, point)
        _, self._hash, _ = _CURVES[curve_id]

    def do_verify(self, signature: bytes, message: bytes) -> None | Exception:
        try:
            fields = self._open_signature(signature)
            der = _read_ecdsa_rs(fields.string(), self._impl.curve.key_size)
            fields.end()
        except ValueError as ex:
            return ex
        return _verify_returning(self._impl.verify, der, message, ec.ECDSA(self._hash))


##############################################################################
# FIDO keys: sk-ecdsa-sha2-nistp256@openssh.com, sk-ssh-ed25519@openssh.com
# (OpenSSH PROTOCOL.u2f)


def _sk_signed_data(application: bytes, flags: int, counter: int, message: bytes) -> bytes:
    """Rebuild what the authenticator actually signed.

    The token never sees the message itself, only its hash, bound to the
    application (relying-party id) and to the flags and counter it reports.
    """
    return (
        hashlib.sha256(application).digest()
        + struct.pack("!BL", flags, counter)
        + hashlib.sha256(message).digest()
    )


class _SkPublicKey(_SshBlobKey):
    """Common signature framing of both FIDO key types."""

    def __init__(self, blob: bytes, application: bytes):
        super().__init__(blob)
        self._application = application

    @property
    def application(self) -> bytes:
        """The FIDO relying-party id the key was created for (usually ``ssh:``).

        Exposed because OpenSSH does not restrict it when verifying, so a
        caller wanting a policy on it has to apply that policy itself.
        """
        return self._application

    @abstractmethod
    def _check_inner(self, inner: bytes, signed: bytes) -> None | Exception:
        """Verify the authenticator's own signature over ``signed``.

        Returns the verification failure; raises ValueError if ``inner`` is
        malformed.
        """

    def do_verify(self, signature: bytes, message: bytes) -> None | Exception:
        try:
            fields = self._open_signature(signature)
            inner = fields.string()
            flags = fields.byte()
            counter = fields.uint32()
            fields.end()
            signed = _sk_signed_data(self._application, flags, counter, message)
            failure = self._check_inner(inner, signed)
        except ValueError as ex:
            return ex
        if failure is not None:
            return failure
        # Checked only after the signature itself so that a forged signature
        # is reported as forged, not as a missing touch.
        if not flags & _SK_USER_PRESENCE:
            return unexceptional(
                MissingUserPresence("FIDO signature made without user presence (token not touched).")
            )
        return None


class _OneNameAlgorithm(PublicKeyAlgorithm):
    """An algorithm with one fixed name (sshsig's registry is keyed by it), whose keys'
    canonical blob is that name followed by the key's fields."""

    _NAME: str = ""

    @property
    def name(self) -> str:
        return self._NAME

    def _blob(self, *fields: bytes) -> bytes:
        return _ssh_string(self._NAME.encode("ascii")) + b"".join(_ssh_string(f) for f in fields)


class SkEcdsaAlgorithm(_OneNameAlgorithm):
    _NAME = "sk-ecdsa-sha2-nistp256@openssh.com"

    def load_public_key(self, pkt: SshReader) -> PublicKey:
        fields = _rest(pkt)
        curve_id = fields.string()
        if curve_id != b"nistp256":
            raise ValueError(f"Curve {curve_id!r} does not match key type {self.name}.")
        point = fields.string()
        application = fields.cstring()
        fields.end()
        return SkEcdsaPublicKey(self._blob(curve_id, point, application), point, application)


class SkEcdsaPublicKey(_SkPublicKey):
    _ALGO = SkEcdsaAlgorithm._NAME

    def __init__(self, blob: bytes, point: bytes, application: bytes):
        super().__init__(blob, application)
        self._impl = _load_ec_point(b"nistp256", point)

    def _check_inner(self, inner: bytes, signed: bytes) -> None | Exception:
        der = _read_ecdsa_rs(inner, self._impl.curve.key_size)
        # U2F always uses SHA-256, whatever the message hash of the wrapper.
        return _verify_returning(self._impl.verify, der, signed, ec.ECDSA(hashes.SHA256()))


class SkEd25519Algorithm(_OneNameAlgorithm):
    _NAME = "sk-ssh-ed25519@openssh.com"

    def load_public_key(self, pkt: SshReader) -> PublicKey:
        fields = _rest(pkt)
        raw_key = fields.string()
        application = fields.cstring()
        fields.end()
        return SkEd25519PublicKey(self._blob(raw_key, application), raw_key, application)


class SkEd25519PublicKey(_SkPublicKey):
    _ALGO = SkEd25519Algorithm._NAME

    def __init__(self, blob: bytes, raw_key: bytes, application: bytes):
        super().__init__(blob, application)
        # Raises ValueError unless exactly 32 bytes.
        self._impl = ed25519.Ed25519PublicKey.from_public_bytes(raw_key)

    def _check_inner(self, inner: bytes, signed: bytes) -> None | Exception:
        if len(inner) != 64:
            raise ValueError("Ed25519 signature is not 64 bytes.")
        return _verify_returning(self._impl.verify, inner, signed)


##############################################################################
# Plain Ed25519, through libsodium.


class Ed25519Algorithm(_OneNameAlgorithm):
    """Replaces sshsig's own ssh-ed25519, for two reasons.

    Speed: this is the most common commit signature, and libsodium verifies
    Ed25519 in about half the time OpenSSL 3 takes here (60-70 us against
    120-130 us per signature, measured in one process on this machine).
    Robustness: sshsig's version ``assert``s on the signature's algorithm
    name, which hostile input turns into an AssertionError (or, under -O,
    into no check at all).
    """

    _NAME = "ssh-ed25519"

    def load_public_key(self, pkt: SshReader) -> PublicKey:
        fields = _rest(pkt)
        raw_key = fields.string()
        fields.end()
        return Ed25519PublicKey(self._blob(raw_key), raw_key)


# string("ssh-ed25519") string(64 signature bytes)
_ED25519_SIG_PREFIX = b"\0\0\0\x0bssh-ed25519\0\0\0\x40"
_ED25519_SIG_LEN = len(_ED25519_SIG_PREFIX) + 64


class Ed25519PublicKey(_SshBlobKey):
    _ALGO = Ed25519Algorithm._NAME

    def __init__(self, blob: bytes, raw_key: bytes):
        super().__init__(blob)
        if len(raw_key) != 32:
            raise ValueError("Ed25519 public key is not 32 bytes.")
        self._raw = raw_key

    def do_verify(self, signature: bytes, message: bytes) -> None | Exception:
        if len(signature) == _ED25519_SIG_LEN and signature.startswith(_ED25519_SIG_PREFIX):
            raw_sig = signature[len(_ED25519_SIG_PREFIX) :]  # the only well-formed shape, read at once
        else:
            try:
                fields = self._open_signature(signature)
                raw_sig = fields.string()
                fields.end()
            except ValueError as exc:
                return exc
        if len(raw_sig) != 64:
            return ValueError("Ed25519 signature is not 64 bytes.")
        try:
            nacl.bindings.crypto_sign_open(raw_sig + message, self._raw)
        except nacl.exceptions.BadSignatureError as exc:
            return cryptography.exceptions.InvalidSignature(str(exc))
        except (nacl.exceptions.CryptoError, ValueError, TypeError) as exc:
            return ValueError(f"Ed25519 verification failed: {exc}")
        return None


##############################################################################
# Registration


def _extra_algorithms() -> list[PublicKeyAlgorithm]:
    return [
        Ed25519Algorithm(),
        EcdsaAlgorithm(b"nistp256"),
        EcdsaAlgorithm(b"nistp384"),
        EcdsaAlgorithm(b"nistp521"),
        SkEcdsaAlgorithm(),
        SkEd25519Algorithm(),
    ]


def register() -> None:
    """Make sshsig accept the algorithms of this module; safe to call repeatedly.

    sshsig fills ``PublicKeyAlgorithm.supported`` from its built-ins only when
    the dict is empty, so adding ours to an empty dict would silently drop
    ed25519 and RSA. The built-ins are therefore merged in first (without
    replacing anything already there), then ours are added. The dict is
    updated in place, because sshsig reads it through the base class.
    """
    supported = PublicKeyAlgorithm.supported
    for algo in PublicKeyAlgorithm.supported_algos():
        supported.setdefault(algo.name, algo)
    for algo in _extra_algorithms():
        # Keep an instance registered earlier so repeated calls change nothing.
        if not isinstance(supported.get(algo.name), type(algo)):
            supported[algo.name] = algo
