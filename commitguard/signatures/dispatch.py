"""Route a commit's signature to the scheme whose armor it carries."""

from __future__ import annotations

from datetime import datetime

from commitguard.keyring.index import KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures.interface import SignatureScheme
from commitguard.signatures.openpgp import OpenPGPScheme
from commitguard.signatures.sigstore import armor
from commitguard.signatures.sigstore.transparency import Transparency
from commitguard.signatures.ssh import SshScheme


def schemes_for(
    keyring: Keyring,
    index: KeyIndex | None = None,
    *,
    namespace: str = "git",
    openpgp_namespace: str | None = None,
    openpgp: type[OpenPGPScheme] = OpenPGPScheme,
) -> tuple[SshScheme, OpenPGPScheme]:
    """The SSH and OpenPGP schemes that judge signatures by ``keyring``'s keys in ``namespace``.

    Commits and tags are checked in ``git``, approvals in ``commitguard-approval``,
    detached release signatures in ``file``. Both schemes share one key index.
    An OpenPGP signature names no namespace and an OpenPGP key can be scoped
    only to ``git`` or ``commitguard-approval`` (the loader refuses others), so
    ``openpgp_namespace`` says which of those a namespace such as ``file``
    counts as for OpenPGP keys (default: ``namespace`` itself). ``openpgp``
    lets a caller substitute a subclass (upstream's streaming one, which reads
    a release file from disk).
    """
    index = index or KeyIndex(keyring)
    return (
        SshScheme(keyring, index, namespace=namespace.encode()),
        openpgp(keyring, index, namespace=openpgp_namespace or namespace),
    )


class DeferredSigstoreScheme(SignatureScheme):
    """Gitsign signatures, recognised by their armor; the Sigstore scheme that judges them
    (``cryptography.x509``, the CMS reader, the trusted root: ~40 ms of imports, and a
    trusted root to read) is built on the first one met. Most repositories hold none, and
    every command that verifies a commit builds a verifier.
    """

    type = SignatureType.X509

    def __init__(self, keyring: Keyring, index: KeyIndex | None = None, transparency: Transparency | None = None):
        self.keyring = keyring
        self.index = index
        self.transparency = transparency
        self._scheme: SignatureScheme | None = None

    @property
    def scheme(self) -> SignatureScheme:
        """The :class:`~commitguard.signatures.sigstore.scheme.SigstoreScheme` itself, built once."""
        if self._scheme is None:
            from commitguard.signatures.sigstore.scheme import SigstoreScheme

            self._scheme = SigstoreScheme(self.keyring, self.index, self.transparency)
        return self._scheme

    def recognizes(self, signature: bytes) -> bool:
        return armor.recognizes(signature)

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        return self.scheme.verify(signature, payload, committed_at)


class SignatureVerifier:
    """Every scheme for one keyring; the single entry point for a signature.

    ``transparency`` says where gitsign signatures' log entries may be looked
    for besides the signature itself (default: the offline mirror of
    ``$COMMITGUARD_UPSTREAM_MIRROR``, never online).
    """

    def __init__(self, keyring: Keyring, transparency: Transparency | None = None):
        self.keyring = keyring
        ssh, openpgp = schemes_for(keyring)
        self.schemes: tuple[SignatureScheme, ...] = (ssh, openpgp, DeferredSigstoreScheme(keyring, ssh.index, transparency))

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
