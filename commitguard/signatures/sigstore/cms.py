"""Read a gitsign signature: an armored, detached CMS SignedData with one signer.

Only the shape gitsign (and smimesign, gpgsm) make is accepted: one
``SignerInfo`` naming its certificate by issuer and serial number, a detached
``id-data`` content, signed attributes carrying the content type and the
message digest, and an ECDSA signature over those attributes. Anything else
is refused as malformed rather than interpreted: a signature format with
options is a signature format with ways around its checks.

The signature check itself (:func:`verify_signer`) uses ``cryptography``;
the framing is read with the strict DER reader of :mod:`.der` (see there why).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import warnings
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from commitguard.signatures.sigstore import der
from commitguard.signatures.sigstore.armor import ARMORS, recognizes  # noqa: F401 (cms.recognizes, as before)
from commitguard.signatures.sigstore.der import OCTET_STRING, OID, SEQUENCE, SET, DerError, Reader

MAX_ARMORED_BYTES = 64 * 1024  # a gitsign signature is ~1.5 KiB, ~5 KiB with an embedded log entry
MAX_CERTIFICATES = 8
MAX_ATTRIBUTES = 16

SIGNED_DATA = "1.2.840.113549.1.7.2"
ID_DATA = "1.2.840.113549.1.7.1"
ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3"
ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
ATTR_REKOR_ENTRY = "1.3.6.1.4.1.57264.3.1"  # gitsign: a Rekor TransparencyLogEntry (protobuf), unsigned

DIGESTS = {
    "2.16.840.1.101.3.4.2.1": hashes.SHA256,
    "2.16.840.1.101.3.4.2.2": hashes.SHA384,
    "2.16.840.1.101.3.4.2.3": hashes.SHA512,
}
ECDSA_SIGNATURES = {
    "1.2.840.10045.4.3.2": hashes.SHA256,
    "1.2.840.10045.4.3.3": hashes.SHA384,
    "1.2.840.10045.4.3.4": hashes.SHA512,
}


class CmsError(ValueError):
    """The signature is not a CMS SignedData of the shape we accept."""


@dataclass(frozen=True)
class SignedMessage:
    """What one gitsign signature says, none of it checked yet.

    ``signed_attributes`` is the DER that the signature covers (the signed
    attributes re-tagged as a SET, RFC 5652 5.4); ``rekor_entry`` the raw
    embedded transparency-log entry, when the signer stored one.
    """

    certificates: tuple[bytes, ...]
    issuer: bytes  # the signer's certificate issuer Name, DER
    serial: int
    digest_oid: str
    signature_oid: str
    signed_attributes: bytes
    message_digest: bytes
    signature: bytes
    rekor_entry: bytes | None

    def signer_certificate(self) -> x509.Certificate:
        """The embedded certificate that the signer info names (issuer and serial), exactly one."""
        found = []
        for raw in self.certificates:
            try:
                with warnings.catch_warnings():  # a negative serial number: a warning on stderr otherwise
                    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                    cert = x509.load_der_x509_certificate(raw)
                    matches = cert.serial_number == self.serial and cert.issuer.public_bytes() == self.issuer
                    if matches:
                        _read_eagerly(cert)
            except Exception as exc:  # noqa: BLE001 (cryptography parses lazily and raises many types)
                raise CmsError(f"an embedded certificate cannot be read ({type(exc).__name__}: {exc})") from None
            if matches:
                found.append(cert)
        if len(found) != 1:
            raise CmsError(f"{len(found)} embedded certificates match the signer (exactly one must)")
        return found[0]


def load_pem_certificate(pem: bytes) -> x509.Certificate:
    """A PEM certificate, without the deprecation warnings ``cryptography`` prints for
    hostile ones (a negative serial number): a signature must not write to stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return x509.load_pem_x509_certificate(pem)


def _read_eagerly(cert: x509.Certificate) -> None:
    """Parse now every field the checks will read: ``cryptography`` reads a
    certificate's fields lazily, so a hostile one would otherwise raise deep
    inside a check (with any of several exception types) instead of here."""
    cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc, cert.signature_hash_algorithm
    for _ in cert.extensions:
        pass


def dearmor(signature: bytes) -> bytes:
    if len(signature) > MAX_ARMORED_BYTES:
        raise CmsError(f"signature of {len(signature)} bytes exceeds the limit of {MAX_ARMORED_BYTES}")
    text = signature.strip()
    for begin, end in ARMORS:
        if text.startswith(begin):
            if not text.endswith(b"\n" + end):
                raise CmsError("not a single armored block (missing or misplaced footer)")
            inner = text[len(begin) : -len(end)]
            if begin in inner or end in inner:
                raise CmsError("more than one armored block")
            try:
                return base64.b64decode(b"".join(inner.split()), validate=True)
            except (binascii.Error, ValueError):
                raise CmsError("invalid base64") from None
    raise CmsError("no CMS armor")


def parse(signature: bytes) -> SignedMessage:
    """The armored signature as a :class:`SignedMessage`, or CmsError saying why not."""
    try:
        return _parse(dearmor(signature))
    except DerError as exc:
        raise CmsError(f"invalid DER: {exc}") from None


def _parse(data: bytes) -> SignedMessage:
    top = Reader(data)
    info = top.read(SEQUENCE)
    top.done("the signature")
    outer = top.children(info)
    if der.oid_text(outer.read(OID)) != SIGNED_DATA:
        raise CmsError("not a CMS SignedData")
    wrapper = outer.read(0xA0)
    outer.done("the content info")
    inner = outer.children(wrapper)
    signed_data = inner.read(SEQUENCE)
    inner.done("the content")
    sd = inner.children(signed_data)
    der.integer(sd.read())  # version: 1 (issuer and serial) or 3; the signer info's own decides
    digests = sd.children(sd.read(SET))
    while not digests.at_end():
        der.algorithm(digests)
    encap = sd.children(sd.read(SEQUENCE))
    if der.oid_text(encap.read(OID)) != ID_DATA:
        raise CmsError("encapsulated content is not id-data")
    if not encap.at_end():
        raise CmsError("the signature is not detached (it carries its own content)")
    certificates: list[bytes] = []
    if sd.peek_tag() == 0xA0:
        certs = sd.children(sd.read(0xA0))
        while not certs.at_end():
            if len(certificates) >= MAX_CERTIFICATES:
                raise CmsError(f"more than {MAX_CERTIFICATES} certificates")
            certificates.append(certs.read(SEQUENCE).encoded)
    if sd.peek_tag() == 0xA1:
        raise CmsError("revocation lists in a commit signature are not supported")
    signers = sd.children(sd.read(SET))
    sd.done("the signed data")
    signer = signers.read(SEQUENCE)
    if not signers.at_end():
        raise CmsError("more than one signer")
    return _signer(signers.children(signer), tuple(certificates))


def _signer(si: Reader, certificates: tuple[bytes, ...]) -> SignedMessage:
    if der.integer(si.read()) != 1:
        raise CmsError("signer info version is not 1 (the signer must be named by issuer and serial number)")
    sid = si.children(si.read(SEQUENCE))
    issuer = sid.read(SEQUENCE).encoded
    serial = der.integer(sid.read())
    sid.done("the signer identifier")
    digest_oid = der.algorithm(si)
    if digest_oid not in DIGESTS:
        raise CmsError(f"unsupported digest algorithm {digest_oid}")
    if si.peek_tag() != 0xA0:
        raise CmsError("no signed attributes (the signature must cover a message digest attribute)")
    attrs_tlv = si.read(0xA0)
    signed = _attributes(si.children(attrs_tlv))
    signature_oid = der.algorithm(si)
    signature = si.read(OCTET_STRING).content
    unsigned: dict[str, list[bytes]] = {}
    if si.peek_tag() == 0xA1:
        unsigned = _attributes(si.children(si.read(0xA1)))
    si.done("the signer info")
    content_type = _single(signed, ATTR_CONTENT_TYPE, "content type")
    if der.oid_text(_value(content_type, OID)) != ID_DATA:
        raise CmsError("signed content type is not id-data")
    digest = _value(_single(signed, ATTR_MESSAGE_DIGEST, "message digest"), OCTET_STRING).content
    rekor = None
    if ATTR_REKOR_ENTRY in unsigned:
        rekor = _value(_single(unsigned, ATTR_REKOR_ENTRY, "Rekor entry"), OCTET_STRING).content
    return SignedMessage(
        certificates=certificates, issuer=issuer, serial=serial, digest_oid=digest_oid,
        signature_oid=signature_oid, signed_attributes=bytes([SET]) + attrs_tlv.encoded[1:],
        message_digest=digest, signature=signature, rekor_entry=rekor,
    )


def _attributes(reader: Reader) -> dict[str, list[bytes]]:
    """Attribute type to its values (each value's whole DER); a type listed twice is refused."""
    out: dict[str, list[bytes]] = {}
    while not reader.at_end():
        if len(out) >= MAX_ATTRIBUTES:
            raise CmsError(f"more than {MAX_ATTRIBUTES} attributes")
        attr = reader.children(reader.read(SEQUENCE))
        oid = der.oid_text(attr.read(OID))
        values_set = attr.children(attr.read(SET))
        attr.done("an attribute")
        values = []
        while not values_set.at_end():
            values.append(values_set.read().encoded)
        if oid in out:
            raise CmsError(f"attribute {oid} is listed twice")
        out[oid] = values
    return out


def _single(attrs: dict[str, list[bytes]], oid: str, name: str) -> bytes:
    values = attrs.get(oid)
    if values is None:
        raise CmsError(f"no {name} attribute")
    if len(values) != 1:
        raise CmsError(f"the {name} attribute must hold exactly one value")
    return values[0]


def _value(encoded: bytes, tag: int) -> der.Tlv:
    reader = Reader(encoded)
    tlv = reader.read(tag)
    reader.done("an attribute value")
    return tlv


def verify_signer(message: SignedMessage, certificate: x509.Certificate, payload: bytes) -> str | None:
    """None when the signature verifies over ``payload``, else why not.

    Two links, both required: the message digest attribute is the digest of
    the commit payload, and the certificate's key signed the attributes.
    """
    digest = hashlib.new(DIGESTS[message.digest_oid].name, payload).digest()
    if digest != message.message_digest:
        return "the message digest does not match this commit"
    hash_type = ECDSA_SIGNATURES.get(message.signature_oid)
    if hash_type is None:
        return f"unsupported signature algorithm {message.signature_oid}"
    try:
        key = certificate.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        return f"the certificate's key cannot be read ({exc})"
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return f"the certificate's key is not an ECDSA key ({type(key).__name__})"
    try:
        key.verify(message.signature, message.signed_attributes, ec.ECDSA(hash_type()))
    except InvalidSignature:
        return "the signature over the signed attributes does not verify"
    return None
