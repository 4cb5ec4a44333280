"""Route a commit's signature to the scheme whose armor it carries."""

from __future__ import annotations

from datetime import datetime

from commitguard.keyring.index import KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import SignatureInfo, SignatureVerdict, Status
from commitguard.signatures.interface import SignatureScheme
from commitguard.signatures.openpgp import OpenPGPScheme
from commitguard.signatures.ssh import SshScheme
from commitguard.signatures.x509 import X509Scheme


class SignatureVerifier:
    """Every scheme for one keyring; the single entry point for a signature."""

    def __init__(self, keyring: Keyring):
        index = KeyIndex(keyring)
        self.keyring = keyring
        self.schemes: tuple[SignatureScheme, ...] = (
            SshScheme(keyring, index),
            OpenPGPScheme(keyring, index),
            X509Scheme(),
        )

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        for scheme in self.schemes:
            if scheme.recognizes(signature):
                try:
                    return scheme.verify(signature, payload, committed_at)
                except Exception as exc:  # a crash must never read as anything but "not trusted"
                    return SignatureVerdict(
                        status=Status.MALFORMED,
                        reason=f"{scheme.type.value} signature could not be checked ({type(exc).__name__}: {exc})",
                        signature=SignatureInfo(scheme.type),
                        cacheable=False,
                    )
        head = signature.lstrip()[:40].decode("ascii", "replace").splitlines()
        shown = head[0] if head else ""
        return SignatureVerdict(
            status=Status.MALFORMED,
            reason=f"signature header holds no recognised signature ({shown!r})",
            signature=SignatureInfo(None),
        )
