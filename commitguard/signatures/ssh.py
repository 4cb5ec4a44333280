"""SSH commit signatures (git's ``gpg.format = ssh``), verified in-process.

The signature embeds the signer's public key; we look that exact key blob up
in the keyring *before* trusting anything it says, then verify with the
``sshsig`` library, extended with the key types it lacks (ECDSA and the FIDO
``sk-*`` hardware keys) in :mod:`.ssh_algorithms`. Key validity windows are
judged at the committer time, as ``git verify-commit`` does.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from sshsig.ssh_public_key import PublicKey
from sshsig.sshsig import SshsigSignature, SshsigWrapper

from commitguard.keyring.index import KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model import UNATTRIBUTED, SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures import ssh_algorithms
from commitguard.signatures.interface import SignatureScheme

ARMOR_HEADER = b"-----BEGIN SSH SIGNATURE-----"
ARMOR_FOOTER = b"-----END SSH SIGNATURE-----"
GIT_NAMESPACE = b"git"
_HASHES = {b"sha256": hashlib.sha256, b"sha512": hashlib.sha512}
# Signature algorithms refused even when the key is fine: RSA with SHA-1.
_WEAK_SIG_ALGOS = {b"ssh-rsa": "RSA signature with SHA-1 (ssh-rsa) is rejected as weak"}


def ssh_fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class SshScheme(SignatureScheme):
    type = SignatureType.SSH

    def __init__(self, keyring: Keyring, index: KeyIndex | None = None, namespace: bytes = GIT_NAMESPACE):
        ssh_algorithms.register()
        self.keyring = keyring
        self.index = index or KeyIndex(keyring)
        self.namespace = namespace

    def recognizes(self, signature: bytes) -> bool:
        return signature.lstrip().startswith(ARMOR_HEADER)

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        empty = SignatureInfo(self.type, None, committed_at)
        parsed, problem = parse_signature(signature)
        if parsed is None:
            return _verdict(Status.MALFORMED, f"SSH signature cannot be parsed: {problem}", empty)
        fingerprint = ssh_fingerprint(parsed.public_key)
        info = SignatureInfo(self.type, fingerprint, committed_at)
        if parsed.namespace != self.namespace:
            shown = parsed.namespace.decode("utf-8", "replace")
            return _verdict(
                Status.BAD_SIGNATURE,
                f"SSH signature is for namespace {shown!r}, not {self.namespace.decode()!r}",
                info,
            )
        if parsed.hash_algo not in _HASHES:
            shown = parsed.hash_algo.decode("utf-8", "replace")
            return _verdict(Status.BAD_SIGNATURE, f"SSH signature uses unsupported hash {shown!r}", info)
        cand = self.index.ssh(parsed.public_key)
        if cand is None:
            key_type = _key_type(parsed.public_key)
            return _verdict(Status.UNKNOWN_KEY, f"signed by SSH key {key_type} {fingerprint}, which is not in the keyring", info)
        who = cand.holder.id
        key = cand.entry.ssh
        assert key is not None
        key_desc = f"{key.key_type} {fingerprint}"
        if key.weak:
            return _verdict(Status.WEAK_SIGNATURE, f"{key_desc} of {who}: {key.weak}", info, signer=who)
        sig_algo = _key_type(parsed.signature)
        if sig_algo.encode() in _WEAK_SIG_ALGOS:
            return _verdict(Status.WEAK_SIGNATURE, f"{key_desc} of {who}: {_WEAK_SIG_ALGOS[sig_algo.encode()]}", info, signer=who)

        problem = _check(parsed, payload)
        if problem is not None:
            return _verdict(Status.BAD_SIGNATURE, f"SSH signature by {key_desc} does not verify over this commit: {problem}", info, signer=who)

        entry = cand.entry
        if entry.revoked:
            return _verdict(Status.REVOKED_KEY, f"{key_desc} of {who} is marked revoked in the keyring", info, signer=who)
        if entry.valid_after is not None and committed_at < entry.valid_after:
            return _verdict(
                Status.EXPIRED_KEY,
                f"{key_desc} of {who} is valid only after {entry.valid_after:%Y-%m-%dT%H:%M:%SZ}; committed {committed_at:%Y-%m-%dT%H:%M:%SZ}",
                info,
                signer=who,
            )
        if entry.valid_before is not None and committed_at >= entry.valid_before:
            return _verdict(
                Status.EXPIRED_KEY,
                f"{key_desc} of {who} is valid only before {entry.valid_before:%Y-%m-%dT%H:%M:%SZ}; committed {committed_at:%Y-%m-%dT%H:%M:%SZ}",
                info,
                signer=who,
            )
        if cand.holder.kind == "forge":
            return _verdict(Status.FORGE, f"signed by forge {who} ({key_desc})", info, signer=who)
        return _verdict(Status.TRUSTED, f"signed by {who} ({key_desc})", info, signer=who)


def parse_signature(armored: bytes):
    """(SshsigSignature, None) or (None, problem); strict about the armor."""
    text = armored.strip()
    if not text.startswith(ARMOR_HEADER) or not text.endswith(ARMOR_FOOTER):
        return None, "not a single armored SSH SIGNATURE block"
    inner = text[len(ARMOR_HEADER) : -len(ARMOR_FOOTER)]
    if ARMOR_HEADER in inner or ARMOR_FOOTER in inner:
        return None, "more than one SSH SIGNATURE block"
    try:
        raw = base64.b64decode(b"".join(inner.split()), validate=True)
    except ValueError:
        return None, "invalid base64"
    try:
        parsed = SshsigSignature(raw)
    except (ValueError, NotImplementedError, EOFError) as exc:
        return None, str(exc) or type(exc).__name__
    except Exception as exc:  # sshsig's reader may raise struct errors on truncation
        return None, f"{type(exc).__name__}: {exc}"
    if bytes(parsed) != raw:
        return None, "trailing or non-canonical data after the signature"
    return parsed, None


def _check(parsed: SshsigSignature, payload: bytes) -> str | None:
    digest = _HASHES[parsed.hash_algo](payload).digest()
    wrapper = SshsigWrapper(namespace=parsed.namespace, hash_algo=parsed.hash_algo, hash=digest).to_bytes()
    try:
        key = PublicKey.do_from_ssh_encoding(parsed.public_key)
        if not isinstance(key, PublicKey):
            return f"unsupported public key ({key})"
        err = key.do_verify(parsed.signature, wrapper)
    except Exception as exc:  # hostile blobs: any failure is a failed verification
        return f"{type(exc).__name__}: {exc}"
    if err is not None:
        return str(err) or type(err).__name__
    return None


def _key_type(blob: bytes) -> str:
    if len(blob) < 4:
        return "?"
    n = int.from_bytes(blob[:4], "big")
    return blob[4 : 4 + n].decode("ascii", "replace") if n <= len(blob) - 4 else "?"


def _verdict(status: Status, reason: str, info: SignatureInfo, *, signer: str | None = None) -> SignatureVerdict:
    if status in UNATTRIBUTED:
        signer = None  # a signature that does not verify vouches for nobody
    return SignatureVerdict(status=status, reason=reason, signature=info, signer=signer)
