"""GnuPG's second opinion on the few OpenPGP signatures Sequoia rejects.

Sequoia's standard policy gives a yes/no; when it says no we still need to
know whether the signature is cryptographically sound (an expired key under
``openpgp_expiry = "ignore"``, SHA-1 under ``openpgp_sha1 = "accept"``) or
simply bad. GnuPG answers that, in a private throwaway home holding only the
keyring's certificates, never the user's own. This is the slow path: one gpg
process per rejected signature, never on the path of valid ones.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gnupg  # imported by _ensure: python-gnupg (with logging and email) only on this slow path


@dataclass(frozen=True)
class Opinion:
    available: bool
    good: bool  # the signature is mathematically valid over the payload
    key_fingerprint: str | None = None
    detail: str = ""


class GnuPGOpinion:
    def __init__(self, certs: list[bytes]):
        self._certs = certs
        self._gpg: gnupg.GPG | None = None
        self._home: str | None = None
        self._failed: str | None = None

    def _ensure(self) -> gnupg.GPG | None:
        if self._gpg is not None or self._failed is not None:
            return self._gpg
        if shutil.which("gpg") is None:
            self._failed = "GnuPG (gpg) is not installed"
            return None
        import gnupg

        self._home = tempfile.mkdtemp(prefix="commitguard-gnupg-")
        atexit.register(shutil.rmtree, self._home, True)
        try:
            # --no-autostart: importing and verifying need no agent, and a started one
            # would outlive this process in the deleted home.
            gpg = gnupg.GPG(gnupghome=self._home, options=["--no-autostart"])
            if self._certs:
                gpg.import_keys(b"".join(self._certs))
        except (OSError, ValueError) as exc:
            self._failed = f"GnuPG could not start: {exc}"
            return None
        self._gpg = gpg
        return gpg

    def judge(self, signature: bytes, payload: bytes) -> Opinion:
        gpg = self._ensure()
        if gpg is None:
            return Opinion(available=False, good=False, detail=self._failed or "GnuPG unavailable")
        fd, sig_path = tempfile.mkstemp(dir=self._home, suffix=".sig")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(signature)
            result = gpg.verify_data(sig_path, payload)
        finally:
            os.unlink(sig_path)
        # VALIDSIG is emitted for every mathematically good signature, whatever
        # gpg then thinks of the key's expiry or revocation.
        good = result.sig_timestamp is not None and result.status != "signature bad"
        detail = result.key_status or result.status or "no answer"
        return Opinion(available=True, good=good, key_fingerprint=result.fingerprint, detail=detail)
