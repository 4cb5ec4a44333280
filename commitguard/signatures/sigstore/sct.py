"""Certificate Transparency: the Fulcio certificate was logged before it was issued.

Fulcio embeds signed certificate timestamps (SCTs, RFC 6962) from the CT
logs the trusted root lists; an SCT is a log's signature over the
certificate as it was before the SCTs went in (the precertificate's TBS,
which ``cryptography`` gives as ``tbs_precertificate_bytes``) and the hash
of the issuing CA's key. A certificate that a CA issued outside CT would
have no valid SCT. sigstore-python requires one; so does commitguard when
the trusted root lists CT logs (a private Sigstore may run without).
"""

from __future__ import annotations

import hashlib
import struct
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.certificate_transparency import LogEntryType, Version

from commitguard.signatures.sigstore.trust import TrustRoot

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MAX_SCTS = 16


class NoSct(ValueError):
    """The certificate carries no SCT at all."""


def sct_problem(cert: x509.Certificate, issuer: x509.Certificate, root: TrustRoot) -> str | None:
    """None when one embedded SCT verifies under a CT log key of ``root``, else why not.
    Raises NoSct when the certificate carries none."""
    try:
        scts = list(cert.extensions.get_extension_for_class(x509.PrecertificateSignedCertificateTimestamps).value)
    except x509.ExtensionNotFound:
        raise NoSct("the certificate carries no signed certificate timestamp (it was not logged in Certificate "
                    "Transparency)") from None
    except ValueError as exc:
        return f"the certificate's signed certificate timestamps cannot be read ({exc})"
    if not scts:
        raise NoSct("the certificate's SCT list is empty")
    if len(scts) > MAX_SCTS:
        return f"the certificate carries more than {MAX_SCTS} SCTs"
    try:
        tbs = cert.tbs_precertificate_bytes
    except ValueError as exc:
        return f"the certificate's precertificate cannot be rebuilt ({exc})"
    issuer_key_hash = hashlib.sha256(issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()
    problems = []
    for sct in scts:
        log = next((l for l in root.ct_logs if l.log_id == sct.log_id), None)
        if log is None:
            problems.append(f"an SCT from CT log {sct.log_id.hex()[:16]}..., which the {root.name} does not list")
            continue
        if sct.version != Version.v1 or sct.entry_type != LogEntryType.PRE_CERTIFICATE:
            problems.append("an SCT that is not a version 1 precertificate timestamp")
            continue
        stamp = sct.timestamp.replace(tzinfo=timezone.utc)
        if not log.covers(stamp):
            problems.append(f"an SCT dated outside the validity of CT log {log.base_url}")
            continue
        millis = (stamp - _EPOCH) // timedelta(milliseconds=1)
        signed = (struct.pack(">BBQH", 0, 0, millis, 1) + issuer_key_hash + len(tbs).to_bytes(3, "big") + tbs
                  + struct.pack(">H", len(sct.extension_bytes)) + sct.extension_bytes)
        if not isinstance(log.key, ec.EllipticCurvePublicKey) or not isinstance(sct.signature_hash_algorithm,
                                                                               hashes.SHA256):
            problems.append(f"an SCT of an unsupported algorithm (CT log {log.base_url})")
            continue
        try:
            log.key.verify(sct.signature, signed, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, UnsupportedAlgorithm):
            problems.append(f"an SCT that does not verify under the key of CT log {log.base_url}")
            continue
        return None
    return "no signed certificate timestamp verifies: " + "; ".join(problems)
