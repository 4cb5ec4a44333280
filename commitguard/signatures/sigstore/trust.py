"""Sigstore's roots of trust, and what a Fulcio certificate says about its holder.

The trusted root is Sigstore's own ``trusted_root.json`` format, read with
``sigstore-models`` (the Sigstore project's models of its protobuf specs).
By default it is the public-good instance's root, shipped with commitguard
(``commitguard/data/sigstore/trusted_root.json``, a copy of the one
sigstore-python embeds) so verification never needs the network; a keyring
may name another (``[policy] sigstore_trusted_root``: a private Sigstore, or
tests). It holds the Fulcio certificate authorities (with the time ranges in
which each issued certificates) and the Rekor log keys.

Certificate paths are built and checked by ``cryptography``'s X.509
verifier at the moment the transparency log proves, as sigstore-python does;
the anchors are only the trusted root's certificates, never any that a
signature carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ExtendedKeyUsage
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from commitguard.signatures.sigstore import der

MAX_ROOT_BYTES = 1024 * 1024
MAX_NAME_CHARS = 1024  # an identity or issuer, as in the keyring
OID_ISSUER_V1 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.1")  # raw string (deprecated by Fulcio)
OID_ISSUER_V2 = x509.ObjectIdentifier("1.3.6.1.4.1.57264.1.8")  # DER UTF8String
PUBLIC_GOOD = "Sigstore public-good trusted root"


@dataclass(frozen=True)
class Authority:
    """One Fulcio CA: its chain (leaf-most first, root last) and when it issued certificates."""

    certificates: tuple[x509.Certificate, ...]
    start: datetime | None
    end: datetime | None

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (self.end is None or moment <= self.end)


@dataclass(frozen=True)
class LogKey:
    """One Rekor log: its id (SHA-256 of its key), key, validity range and address."""

    log_id: bytes
    key: object  # a cryptography public key
    start: datetime | None
    end: datetime | None
    base_url: str

    def covers(self, moment: datetime) -> bool:
        return (self.start is None or self.start <= moment) and (self.end is None or moment <= self.end)


@dataclass(frozen=True)
class TrustRoot:
    name: str  # where it came from, for reasons
    authorities: tuple[Authority, ...]
    logs: tuple[LogKey, ...]
    ct_logs: tuple[LogKey, ...] = ()  # Certificate Transparency logs whose SCTs Fulcio embeds

    def issuer_of(self, cert: x509.Certificate) -> x509.Certificate | None:
        """The CA certificate of this root that signed ``cert`` (its key verifies the signature)."""
        for authority in self.authorities:
            for ca in authority.certificates:
                if ca.subject != cert.issuer:
                    continue
                try:
                    cert.verify_directly_issued_by(ca)
                except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                    continue
                return ca
        return None

    def issued_by_known_ca(self, cert: x509.Certificate) -> bool:
        """Does the certificate's issuer name any CA of this root (whatever the signature proves)?"""
        return any(cert.issuer == ca.subject for a in self.authorities for ca in a.certificates)

    def chain_problem(self, cert: x509.Certificate, moment: datetime) -> str | None:
        """None when ``cert`` chains to a CA of this root that was issuing at ``moment``, else why not."""
        authorities = [a for a in self.authorities if a.covers(moment)]
        if not authorities:
            return f"no Fulcio CA of the {self.name} was issuing certificates at {moment:%Y-%m-%dT%H:%M:%SZ}"
        roots = [a.certificates[-1] for a in authorities]
        intermediates = [c for a in authorities for c in a.certificates[:-1]]
        # Client verifiers want the client-auth EKU; Fulcio certificates carry
        # code signing instead, checked below (as sigstore-python does).
        ca_policy = ExtensionPolicy.webpki_defaults_ca().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
        ee_policy = ExtensionPolicy.webpki_defaults_ee().may_be_present(ExtendedKeyUsage, Criticality.NON_CRITICAL, None)
        try:
            verifier = (PolicyBuilder().store(Store(roots)).time(moment)
                        .extension_policies(ca_policy=ca_policy, ee_policy=ee_policy).build_client_verifier())
            verifier.verify(cert, intermediates)
        except (VerificationError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            return f"the certificate does not chain to the {self.name}: {exc}"
        try:
            usages = cert.extensions.get_extension_for_class(ExtendedKeyUsage).value
        except x509.ExtensionNotFound:
            return "the certificate is not marked for code signing"
        if ExtendedKeyUsageOID.CODE_SIGNING not in usages:
            return "the certificate is not marked for code signing"
        return None

    def log_key(self, log_id: bytes) -> LogKey | None:
        for log in self.logs:
            if log.log_id == log_id:
                return log
        return None


def _moment(value) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def load(data: bytes, name: str) -> TrustRoot:
    """A trusted root from ``trusted_root.json`` bytes; ValueError naming what is wrong."""
    # Imported here: pydantic's models cost a tenth of a second, which a run
    # that meets no gitsign signature should not pay.
    from pydantic import ValidationError
    from sigstore_models.trustroot.v1 import TrustedRoot

    if len(data) > MAX_ROOT_BYTES:
        raise ValueError(f"larger than {MAX_ROOT_BYTES} bytes")
    try:
        model = TrustedRoot.from_json(data)
    except ValidationError as exc:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ValueError(f"not a Sigstore trusted root ({where}: {first.get('msg', exc)})") from None
    authorities = []
    for ca in model.certificate_authorities:
        try:
            certs = tuple(x509.load_der_x509_certificate(c.raw_bytes) for c in ca.cert_chain.certificates)
        except ValueError as exc:
            raise ValueError(f"a Fulcio CA certificate cannot be read ({exc})") from None
        if not certs:
            raise ValueError("a certificate authority lists no certificate")
        authorities.append(Authority(certs, _moment(ca.valid_for.start), _moment(ca.valid_for.end)))
    if not authorities:
        raise ValueError("no Fulcio certificate authority")
    return TrustRoot(name, tuple(authorities), _logs(model.tlogs), _logs(model.ctlogs))


def _logs(instances) -> tuple[LogKey, ...]:
    """The keys of a trusted root's transparency logs (Rekor, or Certificate Transparency)."""
    logs = []
    for log in instances:
        key = log.public_key
        if key.raw_bytes is None:
            continue
        try:
            public = serialization.load_der_public_key(key.raw_bytes)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"the key of log {log.base_url} cannot be read ({exc})") from None
        valid = key.valid_for
        logs.append(LogKey(log.log_id.key_id, public, _moment(valid.start) if valid else None,
                           _moment(valid.end) if valid else None, log.base_url.rstrip("/")))
    return tuple(logs)


@functools.lru_cache(maxsize=1)
def public_good() -> TrustRoot:
    """The shipped public-good root, read once per process."""
    data = resources.files("commitguard").joinpath("data/sigstore/trusted_root.json").read_bytes()
    return load(data, PUBLIC_GOOD)


@functools.lru_cache(maxsize=8)
def from_bytes(data: bytes) -> TrustRoot:
    """A keyring's own root (checked when the keyring is loaded, so this does not fail then)."""
    return load(data, "keyring's Sigstore trusted root")


# -- what the certificate says ------------------------------------------------------------


class IdentityError(ValueError):
    """The certificate does not name exactly one identity and one issuer the Fulcio way."""


def identity_of(cert: x509.Certificate) -> tuple[str, str]:
    """(identity, issuer): the one SAN email or URI, and the OIDC issuer extension.

    Fulcio writes exactly one subject alternative name (an email for a person's
    login, a URI for a workflow) and the issuer twice (1.1 raw, 1.8 as UTF8String
    since 2022). Anything else is not a certificate Fulcio made, and is refused.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise IdentityError("the certificate names no identity (no subject alternative name)") from None
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise IdentityError(f"the certificate's extensions cannot be read ({exc})") from None
    names = [*san.get_values_for_type(x509.RFC822Name), *san.get_values_for_type(x509.UniformResourceIdentifier)]
    if len(names) != 1 or len(list(san)) != 1:
        raise IdentityError(f"the certificate names {len(list(san))} subject alternative names (Fulcio writes one)")
    if not _plain(names[0]):  # a keyring identity is plain text (the loader insists): this could match none
        raise IdentityError("the certificate's identity holds white space or control characters, or is too long")
    issuers = set()
    for oid in (OID_ISSUER_V2, OID_ISSUER_V1):
        try:
            raw = cert.extensions.get_extension_for_oid(oid).value.value
        except x509.ExtensionNotFound:
            continue
        except AttributeError:  # cryptography learnt to parse it: not the raw bytes Fulcio writes
            raise IdentityError(f"the certificate's issuer extension {oid.dotted_string} is not a string") from None
        issuers.add(_issuer_text(raw, utf8_string=oid == OID_ISSUER_V2))
    if len(issuers) != 1:
        raise IdentityError("the certificate names no OIDC issuer" if not issuers
                            else "the certificate names two different OIDC issuers")
    return names[0], issuers.pop()


def _issuer_text(raw: bytes, *, utf8_string: bool) -> str:
    try:
        if utf8_string:
            reader = der.Reader(raw)
            raw = reader.read(0x0C).content
            reader.done("the issuer extension")
        text = raw.decode("utf-8")
    except (der.DerError, UnicodeDecodeError) as exc:
        raise IdentityError(f"the certificate's issuer extension cannot be read ({exc})") from None
    if not _plain(text):
        raise IdentityError("the certificate's issuer extension is empty, too long, or holds white space or control characters")
    return text


def _plain(text: str) -> bool:
    return 0 < len(text) <= MAX_NAME_CHARS and text.isprintable() and not any(c.isspace() for c in text)
