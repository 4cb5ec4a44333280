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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

import pysequoia
from pysequoia.packet import HashAlgorithm, PacketPile, PublicKeyAlgorithm, SignatureType, Tag

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
            fprs = []
            for packet in _packets(raw):
                if packet.tag in (Tag.PublicKey, Tag.PublicSubkey, Tag.SecretKey, Tag.SecretSubkey):
                    if packet.fingerprint:
                        fprs.append(packet.fingerprint.upper())
            fingerprint = cert.fingerprint.upper()
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


def key_facts(cert_bytes: bytes, key_fingerprint: str) -> KeyFacts | None:
    """Facts about the key ``key_fingerprint`` (primary or subkey) of a cert."""
    want = key_fingerprint.upper()
    primary_packet = None
    primary_sigs: list = []
    current = None  # (packet, sigs) of the subkey being read
    subkeys: list[tuple] = []
    for packet in _packets(cert_bytes):
        tag = packet.tag
        if tag in (Tag.PublicKey, Tag.SecretKey):
            primary_packet = packet
        elif tag in (Tag.PublicSubkey, Tag.SecretSubkey):
            current = (packet, [])
            subkeys.append(current)
        elif tag == Tag.Signature:
            if current is None:
                primary_sigs.append(packet)
            else:
                current[1].append(packet)
    if primary_packet is None:
        return None

    primary_fpr = (primary_packet.fingerprint or "").upper()
    primary_expiry, primary_flags, primary_revoked, primary_weak = _self_sig_facts(primary_packet, primary_sigs, _BINDINGS)
    if want == primary_fpr:
        return KeyFacts(
            fingerprint=primary_fpr,
            primary=True,
            created=primary_packet.key_created,
            algorithm=_algorithm(primary_packet),
            bits=_bits(primary_packet),
            signing_capable=bool(primary_flags and primary_flags.signing),
            expires=primary_expiry,
            revoked=primary_revoked,
            binding_hashes=primary_weak,
        )
    for packet, sigs in subkeys:
        if (packet.fingerprint or "").upper() != want:
            continue
        expiry, flags, revoked, weak = _self_sig_facts(
            packet, sigs, {int(SignatureType.SubkeyBinding)}, revocation=SignatureType.SubkeyRevocation
        )
        expires = _earliest(expiry, primary_expiry)
        return KeyFacts(
            fingerprint=want,
            primary=False,
            created=packet.key_created,
            algorithm=_algorithm(packet),
            bits=_bits(packet),
            signing_capable=bool(flags and flags.signing),
            expires=expires,
            revoked=revoked or primary_revoked,
            binding_hashes=tuple(sorted(set(weak) | set(primary_weak))),
        )
    return None


def _self_sig_facts(key_packet, sigs, binding_types, revocation=SignatureType.KeyRevocation):
    """Expiry, flags, revocation and weak hashes from a key's self-signatures.

    The newest binding signature is the one in force, as in RFC 9580 5.2.3.
    """
    newest = None
    revoked = False
    weak: set[str] = set()
    for sig in sigs:
        stype = sig.signature_type
        if stype is None:
            continue
        if int(stype) == int(revocation):
            revoked = True
            continue
        if int(stype) not in binding_types:
            continue
        issuer = (sig.issuer_fingerprint or "").upper()
        if issuer and key_packet.tag in (Tag.PublicKey, Tag.SecretKey) and issuer != (key_packet.fingerprint or "").upper():
            continue  # a third-party certification says nothing about the key's own settings
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
