"""Which armor marks a gitsign (CMS) signature: known without reading it.

Kept apart from :mod:`.cms` so that routing a signature to its scheme does
not import ``cryptography.x509`` and the rest of the Sigstore checks: most
repositories carry no gitsign signature, and every command routes signatures.
"""

from __future__ import annotations

ARMORS = (
    (b"-----BEGIN SIGNED MESSAGE-----", b"-----END SIGNED MESSAGE-----"),  # gitsign, smimesign
    (b"-----BEGIN PKCS7-----", b"-----END PKCS7-----"),
    (b"-----BEGIN CMS-----", b"-----END CMS-----"),
)


def recognizes(signature: bytes) -> bool:
    """True when the signature opens with a CMS armor (it is then judged as gitsign's, or refused)."""
    head = signature.lstrip()
    return any(head.startswith(begin) for begin, _ in ARMORS)
