"""x509/CMS commit signatures (gitsign, gpgsm): recognised, never trusted.

A keyring lists the people the user trusts by their OpenPGP and SSH keys; an
x509 signature vouches through a certificate authority (for gitsign, a
short-lived certificate issued against an OIDC login), which is exactly the
kind of third-party trust commitguard exists to replace. We name it loudly
instead of calling it malformed.
"""

from __future__ import annotations

from datetime import datetime

from commitguard.model.verdicts import SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures.interface import SignatureScheme

ARMOR_HEADERS = (b"-----BEGIN SIGNED MESSAGE-----", b"-----BEGIN PKCS7-----", b"-----BEGIN CMS-----")


class X509Scheme(SignatureScheme):
    type = SignatureType.X509

    def recognizes(self, signature: bytes) -> bool:
        return signature.lstrip().startswith(ARMOR_HEADERS)

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        return SignatureVerdict(
            status=Status.UNKNOWN_KEY,
            reason="x509/CMS signature (gitsign or gpgsm): commitguard trusts only the OpenPGP and SSH keys "
            "listed in the keyring, not certificate authorities",
            signature=SignatureInfo(self.type, None, None),
        )
