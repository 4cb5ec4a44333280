"""Sign an approval with the reviewer's existing key, without ever touching it.

SSH: ``ssh-keygen -Y sign -n commitguard-approval`` with the key file or,
when given a public key, the agent holding its private half. OpenPGP: a
detached signature by GnuPG (python-gnupg) from ``$GNUPGHOME``, so smartcards
and the user's gpg-agent work as they do for commits. commitguard never reads
or stores a private key.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import gnupg

from commitguard.review.approvals.statement import SSH_NAMESPACE, pae
from commitguard.errors import CommitguardError


def sign_ssh(payload: bytes, key_path: str, namespace: str = SSH_NAMESPACE) -> bytes:
    if shutil.which("ssh-keygen") is None:
        raise CommitguardError("ssh-keygen is not installed", field="--ssh-key")
    if not os.path.exists(key_path):
        raise CommitguardError("key file not found", path=key_path, field="--ssh-key")
    done = subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", key_path],
        input=pae(payload),
        capture_output=True,
        check=False,
    )
    if done.returncode != 0 or b"BEGIN SSH SIGNATURE" not in done.stdout:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise CommitguardError(f"ssh-keygen could not sign: {detail[-1] if detail else 'no output'}", path=key_path, field="--ssh-key")
    return done.stdout


def sign_openpgp(payload: bytes, fingerprint: str, gnupg_home: str | None = None) -> bytes:
    if shutil.which("gpg") is None:
        raise CommitguardError("gpg is not installed", field="--openpgp-key")
    gpg = gnupg.GPG(gnupghome=gnupg_home or os.environ.get("GNUPGHOME") or None)
    result = gpg.sign(pae(payload), keyid=fingerprint, detach=True, binary=False)
    data = getattr(result, "data", b"") or b""
    if not data or b"BEGIN PGP SIGNATURE" not in data:
        detail = (getattr(result, "status", None) or getattr(result, "stderr", "") or "no signature").strip().splitlines()
        raise CommitguardError(f"GnuPG could not sign with {fingerprint}: {detail[-1] if detail else 'no signature'}", field="--openpgp-key")
    return data
