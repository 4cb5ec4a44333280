"""Facts about OpenPGP certificates read from their packets.

Sequoia (through pysequoia) answers the question that matters, "is this
signature valid under the standard policy?", but not *why not*, and it
cannot express two policies users ask for (ignore expiry as Guix does,
accept SHA-1). This module reads the certificate's packets (key creation
times, key flags, validity periods, revocations, binding hash algorithms)
so the slow path can name the reason and apply those policies.

These facts come from the user's own keyring file, never from the commit
under test, and they are only ever used to *narrow* what is trusted
(a stray revocation packet makes a key revoked even if unverified) or, for
the two relaxing policies, together with GnuPG's cryptographic verdict.
Anything that could *widen* it (an expiry, the signing flag, which subkeys
belong to the certificate) is read only from binding signatures that verify
with the primary key: pysequoia offers no call for that, so
:mod:`commitguard.signatures.openpgp_bindings` checks them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import pysequoia
from pysequoia.packet import HashAlgorithm, PacketPile, PublicKeyAlgorithm, SignatureType, Tag

from commitguard.signatures import openpgp_bindings

# pysequoia's enums are not hashable; their int() values are.
_WEAK_HASH_NAMES = {int(HashAlgorithm.SHA1): "SHA-1", int(HashAlgorithm.MD5): "MD5", int(HashAlgorithm.RipeMD): "RIPEMD-160"}
_RSA = {int(PublicKeyAlgorithm.RSAEncryptSign), int(PublicKeyAlgorithm.RSASign), int(PublicKeyAlgorithm.RSAEncrypt)}
_BINDINGS = {
    int(SignatureType.PositiveCertification),
    int(SignatureType.CasualCertification),
    int(SignatureType.GenericCertification),
    int(SignatureType.PersonaCertification),
    int(SignatureType.DirectKey),
}


def weak_hash_name(algorithm) -> str | None:
    """"SHA-1", "MD5", "RIPEMD-160" for hashes never good enough by default; else None."""
    if algorithm is None:
        return None
    return _WEAK_HASH_NAMES.get(int(algorithm))


@dataclass(frozen=True)
class CertInfo:
    cert_bytes: bytes
    fingerprint: str
    key_fingerprints: tuple[str, ...]
    user_ids: tuple[str, ...]
    has_secret: bool


@dataclass(frozen=True)
class KeyFacts:
    """What the certificate says about one (sub)key at one moment."""

    fingerprint: str
    primary: bool
    created: datetime | None
    algorithm: str
    bits: int | None
    signing_capable: bool
    expires: datetime | None  # of this key, or of the primary where that is earlier
    revoked: bool
    binding_hashes: tuple[str, ...]  # names of weak hashes used by self-signatures

    @property
    def weak_algorithm(self) -> str | None:
        if self.algorithm == "DSA":
            return "DSA keys are rejected as weak"
        if self.algorithm.startswith("RSA") and self.bits is not None and self.bits < 2048:
            return f"RSA key of {self.bits} bits is rejected as weak (minimum 2048)"
        if self.algorithm.startswith("ElGamal"):
            return "ElGamal signing keys are rejected as weak"
        return None


def split_certs(data: bytes) -> list[CertInfo]:
    """Every certificate in an armored or binary file; ValueError if unreadable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            certs = pysequoia.Cert.split_bytes(data)
    except Exception as exc:  # pysequoia raises RuntimeError/ValueError with anyhow text
        raise ValueError(_first_line(exc)) from None
    out = []
    for cert in certs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                has_secret = bool(cert.has_secret_keys)
            raw = bytes(cert)
            fingerprint = cert.fingerprint.upper()
            # the primary, and the subkeys the primary really bound: a subkey
            # appended with someone else's (or a forged) binding is not the holder's
            primary, _, subkeys = _components(raw)
            fprs = [fingerprint]
            for packet, sigs in subkeys:
                fpr = (packet.fingerprint or "").upper()
                if fpr and fpr not in fprs and _verified(sigs, {int(SignatureType.SubkeyBinding)}):
                    fprs.append(fpr)
        except ValueError:
            raise
        except Exception as exc:  # pysequoia raises RuntimeError with anyhow text
            raise ValueError(_first_line(exc)) from None
        try:
            # Sequoia lists only user IDs valid under its standard policy and
            # raises for some (SHA-1 self-signatures on older keys): names are
            # informational, so such a cert simply has none.
            user_ids = tuple(str(u) for u in cert.user_ids)
        except Exception:
            user_ids = ()
        out.append(
            CertInfo(
                cert_bytes=raw,
                fingerprint=fingerprint,
                key_fingerprints=tuple(fprs),
                user_ids=user_ids,
                has_secret=has_secret,
            )
        )
    return out


def _components(cert_bytes: bytes):
    """(primary packet, [(sig, signed prefix)], [(subkey packet, [(sig, signed prefix)])]).

    Each signature comes with what precedes its trailer in the hash if it is
    a self-signature over the component it follows (the primary alone, the
    primary and a user ID, the primary and a subkey), so it can be verified
    with :mod:`commitguard.signatures.openpgp_bindings`; None where it cannot
    be a binding we read (after a user attribute, or with no primary).
    """
    primary = None
    primary_prefix = b""
    primary_sigs: list[tuple] = []
    subkeys: list[tuple] = []
    target: bytes | None = None  # what the next signatures are over, after the primary's prefix
    current: list | None = None
    for packet in _packets(cert_bytes):
        tag = packet.tag
        if tag in (Tag.PublicKey, Tag.SecretKey):
            primary = packet
            primary_prefix = openpgp_bindings.key_hash_prefix(_public_body(packet))
            target, current = b"", primary_sigs
        elif tag in (Tag.PublicSubkey, Tag.SecretSubkey):
            current = []
            subkeys.append((packet, current))
            target = openpgp_bindings.key_hash_prefix(_public_body(packet))
        elif tag == Tag.UserID:
            current = primary_sigs
            target = openpgp_bindings.user_id_hash_prefix(_user_id_bytes(packet))
        elif tag == Tag.UserAttribute:
            current, target = primary_sigs, None
        elif tag == Tag.Signature:
            if current is None:
                current = primary_sigs
            signed = None if (target is None or primary is None) else primary_prefix + target
            current.append((packet, signed, primary))
    return primary, primary_sigs, subkeys


def _verified(sigs, binding_types) -> list:
    """The binding signatures among ``sigs`` (of the given types) that the primary key made."""
    out = []
    for sig, signed, primary in sigs:
        stype = sig.signature_type
        if stype is None or int(stype) not in binding_types or signed is None or primary is None:
            continue
        if openpgp_bindings.verify_self_signature(_public_body(primary), signed, sig.body):
            out.append(sig)
    return out


def key_facts(cert_bytes: bytes, key_fingerprint: str) -> KeyFacts | None:
    """Facts about the key ``key_fingerprint`` (primary or subkey) of a cert.

    Expiry, key flags and weak binding hashes come only from binding
    signatures the primary key made (verified here, see
    :mod:`commitguard.signatures.openpgp_bindings`); a subkey with no such
    binding has no facts (None): it is not the holder's key.
    """
    want = key_fingerprint.upper()
    primary_packet, primary_sigs, subkeys = _components(cert_bytes)
    if primary_packet is None:
        return None

    primary_fpr = (primary_packet.fingerprint or "").upper()
    primary_expiry, primary_flags, primary_revoked, primary_weak = _self_sig_facts(primary_packet, primary_sigs, _BINDINGS)
    if want == primary_fpr:
        return _facts(primary_packet, primary_fpr, True, primary_flags, primary_expiry, primary_revoked, primary_weak)
    for packet, sigs in subkeys:
        if (packet.fingerprint or "").upper() != want:
            continue
        if not _verified(sigs, {int(SignatureType.SubkeyBinding)}):
            continue  # another copy of the packet may carry a binding that verifies
        expiry, flags, revoked, weak = _self_sig_facts(
            packet, sigs, {int(SignatureType.SubkeyBinding)}, revocation=SignatureType.SubkeyRevocation
        )
        return _facts(packet, want, False, flags, _earliest(expiry, primary_expiry), revoked or primary_revoked,
                      tuple(sorted(set(weak) | set(primary_weak))))
    return None


def _facts(packet, fingerprint: str, primary: bool, flags, expires, revoked: bool, weak: tuple[str, ...]) -> KeyFacts:
    """A key packet's own facts, with what its binding signatures (and, for a subkey, the primary's) say."""
    return KeyFacts(
        fingerprint=fingerprint,
        primary=primary,
        created=packet.key_created,
        algorithm=_algorithm(packet),
        bits=_bits(packet),
        signing_capable=bool(flags and flags.signing),
        expires=expires,
        revoked=revoked,
        binding_hashes=weak,
    )


def _self_sig_facts(key_packet, sigs, binding_types, revocation=SignatureType.KeyRevocation):
    """Expiry, flags, revocation and weak hashes from a key's self-signatures.

    Only binding signatures the primary key made count (a forged or
    third-party one says nothing about the key's own settings); of those,
    the newest is the one in force, as in RFC 9580 5.2.3. A revocation
    counts even unverified: it can only narrow what is trusted.
    """
    revoked = any(
        sig.signature_type is not None and int(sig.signature_type) == int(revocation) for sig, _, _ in sigs
    )
    newest = None
    weak: set[str] = set()
    for sig in _verified(sigs, binding_types):
        if (name := weak_hash_name(sig.hash_algorithm)) is not None:
            weak.add(name)
        created = sig.signature_created
        if newest is None or (created and newest.signature_created and created > newest.signature_created):
            newest = sig
    if newest is None:
        return None, None, revoked, tuple(sorted(weak))
    period = newest.key_validity_period
    expiry = None
    if period is not None and period > timedelta(0) and key_packet.key_created is not None:
        expiry = key_packet.key_created + period
    return expiry, newest.key_flags, revoked, tuple(sorted(weak))


def _public_body(packet) -> bytes:
    """The public part of a key packet's body: what a signature over the key hashes.

    A secret key packet carries its secret material after the public key; a
    keyring refuses those, so they are hashed as they are and never verify.
    """
    return packet.body


def _user_id_bytes(packet) -> bytes:
    return packet.body


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def _algorithm(packet) -> str:
    algo = packet.key_algorithm
    if algo is not None and int(algo) in _RSA:
        return "RSA"
    return repr(algo).split(".")[-1]


def _bits(packet) -> int | None:
    """Modulus size of an RSA/DSA key from its v4 body: version, time, algo, MPI."""
    algo = packet.key_algorithm
    if algo is None or (int(algo) not in _RSA and int(algo) != int(PublicKeyAlgorithm.DSA)):
        return None
    body = packet.body
    if len(body) < 8 or body[0] != 4:
        return None
    return int.from_bytes(body[6:8], "big")


def _packets(data: bytes):
    try:
        return list(PacketPile.from_bytes(data))
    except Exception as exc:
        raise ValueError(_first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
