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
from dataclasses import dataclass
from datetime import datetime

from sshsig.ssh_public_key import PublicKey

from commitguard.keyring.index import KeyIndex
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import UNATTRIBUTED, SignatureInfo, SignatureType, SignatureVerdict, Status
from commitguard.signatures import ssh_algorithms
from commitguard.signatures import policy as checks
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
        # Before the mathematics: a key scoped away from this namespace is as
        # good as unknown, and a weak key is never worth a verification.
        self._may_sign = checks.AllOf(checks.NamespaceAllowed(namespace.decode()), checks.StrongKey())
        self._valid_key = checks.valid_key()
        self._keys: dict[bytes, object] = {}
        self._fingerprints: dict[bytes, str] = {}

    def recognizes(self, signature: bytes) -> bool:
        return signature.lstrip().startswith(ARMOR_HEADER)

    def verify(self, signature: bytes, payload: bytes, committed_at: datetime) -> SignatureVerdict:
        empty = SignatureInfo(self.type, None, committed_at)
        parsed, problem = parse_signature(signature)
        if parsed is None:
            return _verdict(Status.MALFORMED, f"SSH signature cannot be parsed: {problem}", empty)
        fingerprint = self._fingerprints.get(parsed.public_key)
        if fingerprint is None:
            fingerprint = ssh_fingerprint(parsed.public_key)
            if len(self._fingerprints) < 10_000:  # keys are few; hostile blobs must not grow this without end
                self._fingerprints[parsed.public_key] = fingerprint
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
        key = cand.entry.ssh
        assert key is not None
        key_desc = f"{key.key_type} {fingerprint}"
        use = checks.KeyUse(cand, committed_at, "commit")
        refusal = self._may_sign.verify(use)
        if not refusal.passed:
            return _verdict(refusal.status, refusal.reason, info)  # not verified: no signer
        sig_algo = _key_type(parsed.signature)
        if key.key_type == "ssh-rsa" and sig_algo.encode() in _WEAK_SIG_ALGOS:  # another key's label: a forgery
            return _verdict(Status.WEAK_SIGNATURE, f"{key_desc} of {use.who}: {_WEAK_SIG_ALGOS[sig_algo.encode()]}", info)

        problem = _check(parsed, payload, self._public_key(parsed.public_key))
        if problem is not None:
            return _verdict(Status.BAD_SIGNATURE, f"SSH signature by {key_desc} does not verify over this commit: {problem}", info, signer=use.who)

        refusal = self._valid_key.verify(use)
        if not refusal.passed:
            return _verdict(refusal.status, refusal.reason, info, signer=use.who)
        accepted = checks.attribute(use)
        return _verdict(accepted.status, accepted.reason, info, signer=use.who)

    def _public_key(self, blob: bytes):
        """Keyring keys are few and signatures many: decode each key once."""
        key = self._keys.get(blob)
        if key is None:
            try:
                key = PublicKey.do_from_ssh_encoding(blob)
            except Exception as exc:  # hostile blobs
                key = ValueError(f"{type(exc).__name__}: {exc}")
            self._keys[blob] = key
        return key


@dataclass(frozen=True)
class ParsedSshsig:
    public_key: bytes
    namespace: bytes
    reserved: bytes
    hash_algo: bytes
    signature: bytes


def parse_signature(armored: bytes):
    """(ParsedSshsig, None) or (None, problem); strict about armor and framing.

    Written by hand rather than with sshsig's ``SshsigSignature``: that reader
    accepts truncated fields and trailing bytes, and costs more than the
    signature check itself on the hot path. The format (PROTOCOL.sshsig) is
    six fixed bytes, a version and five length-prefixed strings.
    """
    # As OpenSSH's sshsig_dearmor: the header starts the text and the footer
    # starts a line (CR LF line ends pass: CR is base64 whitespace). Anything
    # after the footer, which OpenSSH ignores, is refused here.
    text = armored.rstrip()
    if not text.startswith(ARMOR_HEADER) or not text.endswith(b"\n" + ARMOR_FOOTER):
        return None, "not a single armored SSH SIGNATURE block"
    inner = text[len(ARMOR_HEADER) : -len(ARMOR_FOOTER) - 1]
    if ARMOR_HEADER in inner or ARMOR_FOOTER in inner:
        return None, "more than one SSH SIGNATURE block"
    try:
        raw = base64.b64decode(b"".join(inner.split()), validate=True)
    except ValueError:
        return None, "invalid base64"
    if raw[:6] != b"SSHSIG":
        return None, "missing SSHSIG magic"
    if raw[6:10] != b"\0\0\0\1":
        return None, "unsupported SSHSIG version"
    fields = []
    pos = 10
    for _ in range(5):
        if pos + 4 > len(raw):
            return None, "truncated signature"
        size = int.from_bytes(raw[pos : pos + 4], "big")
        pos += 4
        if pos + size > len(raw):
            return None, "truncated signature"
        fields.append(raw[pos : pos + size])
        pos += size
    if pos != len(raw):
        return None, "trailing data after the signature"
    return ParsedSshsig(*fields), None


def _string(value: bytes) -> bytes:
    return len(value).to_bytes(4, "big") + value


def signed_data(namespace: bytes, hash_algo: bytes, payload: bytes) -> bytes:
    """What an SSHSIG signature signs (PROTOCOL.sshsig), built directly:
    sshsig's own writer is correct but slow on the hot path."""
    digest = _HASHES[hash_algo](payload).digest()
    return b"SSHSIG" + _string(namespace) + _string(b"") + _string(hash_algo) + _string(digest)


def _check(parsed: ParsedSshsig, payload: bytes, key) -> str | None:
    wrapper = signed_data(parsed.namespace, parsed.hash_algo, payload)
    try:
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
