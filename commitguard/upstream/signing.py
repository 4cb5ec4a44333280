"""Judge an upstream signature with the same schemes that judge commits.

The signature schemes answer for "the persons of a keyring"; an upstream's
keys are put in that place (one person per ``match``, holding every key its
``[[upstream]]`` entries list), so a release tag or tarball is checked by
exactly the code, policy (SHA-1, expiry) and key index that check commits.
The keyring's ``[[forge]]`` keys stay forges: a tag made in a forge's web
interface is the forge's word, never the upstream's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pysequoia

from commitguard.keyring.model import KeyEntry, Keyring, Person, Upstream
from commitguard.model.sources import UpstreamEvidence
from commitguard.model.verdicts import SignatureInfo, SignatureVerdict, Status
from commitguard.signatures.dispatch import SignatureVerifier, schemes_for
from commitguard.signatures.openpgp import OpenPGPScheme

# Signatures cannot be larger than this; anything bigger is not one.
MAX_SIGNATURE_BYTES = 1 << 20

# A release file larger than this is never read into memory to check a
# signature over it: OpenPGP signatures are checked streaming from the file;
# an SSH signature, or an OpenPGP one only GnuPG's second opinion could
# accept, over a larger file is reported as not checked (bad-signature).
MAX_IN_MEMORY_PAYLOAD = 64 << 20

# The per-commit statuses that say "a valid signature, but not one to accept".
# The upstream vocabulary (SPEC) has no room for them, and none of them may
# read as vouched for, so they become bad-signature with the precise cause kept.
_REJECTED = {Status.EXPIRED_KEY, Status.REVOKED_KEY, Status.WEAK_SIGNATURE}


@dataclass(frozen=True)
class SignatureOutcome:
    status: str  # an upstream status (SPEC): verified, forge-verified, unknown-key, bad-signature, unsigned
    reason: str
    signer: str | None = None  # the [[upstream]] match, or the forge id
    key: str | None = None

    def as_evidence(self, kind: str, reason: str) -> UpstreamEvidence:
        """This outcome as upstream evidence of ``kind`` (``signed-tag``, ``detached-signature``...).

        One rule for every evidence kind: a forge's word is ``forge`` evidence
        whatever carried it, no signature is no evidence, and only a signature
        that counts (``verified``, ``forge-verified``) names a signer; the key
        is kept either way, so a reader sees which key made a signature that
        did not count.
        """
        evidence = {"unsigned": None, "forge-verified": "forge"}.get(self.status, kind)
        signer = self.signer if self.status in ("verified", "forge-verified") else None
        return UpstreamEvidence(status=self.status, reason=reason, evidence=evidence, signer=signer, key=self.key)


def upstream_keyring(keyring: Keyring, upstreams: list[Upstream]) -> Keyring:
    keys: dict[str, list[KeyEntry]] = {}
    for upstream in upstreams:
        keys.setdefault(upstream.match, []).extend(upstream.keys)
    persons = tuple(Person(id=match, keys=tuple(entries)) for match, entries in keys.items())
    digest = hashlib.sha256(("upstream\0" + keyring.digest + "\0" + "\0".join(keys)).encode()).hexdigest()
    return Keyring(path=keyring.path, digest=digest, policy=keyring.policy, persons=persons, forges=keyring.forges)


@dataclass(frozen=True)
class PayloadFile:
    """Signed data that stays in a file: a release tarball, a decompressed tar."""

    path: Path
    size: int


class _StreamingOpenPGP(OpenPGPScheme):
    """The OpenPGP scheme, reading a :class:`PayloadFile` from disk (Sequoia's ``file=``) instead of
    holding it in memory; every judgement after the mathematics is the scheme's own."""

    def _fast_path(self, sig, payload, candidates):
        if not isinstance(payload, PayloadFile):
            return super()._fast_path(sig, payload, candidates)
        certs = [self._cert(c) for c in candidates]
        try:
            result = pysequoia.verify(file=os.fspath(payload.path), store=lambda _ids: certs, signature=sig)
        except Exception:
            return None
        for valid in result.valid_sigs:
            primary, signing = valid.certificate.upper(), valid.signing_key.upper()
            for cand in candidates:
                if cand.entry.openpgp.fingerprint == primary and cand.key_fingerprint == signing:  # type: ignore[union-attr]
                    return cand, signing
        return None

    def _slow_path(self, signature, payload, sig, candidates, info, created):
        if isinstance(payload, PayloadFile):
            if payload.size > MAX_IN_MEMORY_PAYLOAD:
                return SignatureVerdict(
                    status=Status.BAD_SIGNATURE,
                    reason=f"Sequoia's standard policy rejects this signature, and a file of {payload.size} bytes "
                    f"is not read into memory for GnuPG's opinion (limit {MAX_IN_MEMORY_PAYLOAD} bytes)",
                    signature=info, cacheable=False)
            payload = payload.path.read_bytes()
        return super()._slow_path(signature, payload, sig, candidates, info, created)


class _NamespacedVerifier(SignatureVerifier):
    """SSH signatures are bound to a namespace: ``git`` for tags and commits,
    ``file`` for ``ssh-keygen -Y sign`` over a release file. A signature made
    for one must never count for the other."""

    def __init__(self, keyring: Keyring, namespace: bytes):
        super().__init__(keyring)
        if namespace != b"git":
            # An OpenPGP key cannot be scoped to "file" (its signatures name no namespace): for
            # OpenPGP keys a release file is checked as "git".
            self.schemes = schemes_for(keyring, namespace=namespace.decode(), openpgp_namespace="git",
                                       openpgp=_StreamingOpenPGP)

    def verify_file(self, signature: bytes, payload: PayloadFile, when: datetime) -> SignatureVerdict:
        """A detached signature over a file: OpenPGP streamed from disk, SSH read only up to the limit."""
        for scheme in self.schemes:
            if isinstance(scheme, _StreamingOpenPGP) and scheme.recognizes(signature):
                try:
                    return scheme.verify(signature, payload, when)  # type: ignore[arg-type]
                except Exception as exc:  # as SignatureVerifier.verify: a crash is never "trusted"
                    return SignatureVerdict(
                        status=Status.MALFORMED,
                        reason=f"openpgp signature could not be checked ({type(exc).__name__}: {exc})",
                        signature=SignatureInfo(scheme.type), cacheable=False)
        if payload.size > MAX_IN_MEMORY_PAYLOAD:
            return SignatureVerdict(
                status=Status.BAD_SIGNATURE,
                reason=f"a non-OpenPGP signature over a file of {payload.size} bytes is not checked "
                f"(limit {MAX_IN_MEMORY_PAYLOAD} bytes in memory)",
                signature=SignatureInfo(None), cacheable=False)
        return self.verify(signature, payload.path.read_bytes(), when)


class UpstreamVerifier:
    def __init__(self, keyring: Keyring, upstreams: list[Upstream], *, namespace: bytes = b"git"):
        self.upstreams = upstreams
        self.matches = list(dict.fromkeys(u.match for u in upstreams))
        self._verifier = _NamespacedVerifier(upstream_keyring(keyring, upstreams), namespace)

    def verify(self, signature: bytes, payload: bytes, when: datetime, *, subject: str) -> SignatureOutcome:
        """``subject`` ("this tag", "this file") names what was signed in the reason: the
        schemes word their reasons for commits."""
        if len(signature) > MAX_SIGNATURE_BYTES:
            return SignatureOutcome("bad-signature", f"a signature of {len(signature)} bytes is not a signature")
        verdict = self._verifier.verify(signature, payload, when)
        if subject != "this commit":
            verdict = dataclasses.replace(verdict, reason=verdict.reason.replace("this commit", subject))
        return self.outcome(verdict)

    def verify_file(self, signature: bytes, path: Path, when: datetime, *, subject: str) -> SignatureOutcome:
        """As :meth:`verify`, over a file's bytes, which are never all held in memory (OpenPGP)."""
        if len(signature) > MAX_SIGNATURE_BYTES:
            return SignatureOutcome("bad-signature", f"a signature of {len(signature)} bytes is not a signature")
        verdict = self._verifier.verify_file(signature, PayloadFile(Path(path), os.path.getsize(path)), when)
        if subject != "this commit":
            verdict = dataclasses.replace(verdict, reason=verdict.reason.replace("this commit", subject))
        return self.outcome(verdict)

    def outcome(self, verdict: SignatureVerdict) -> SignatureOutcome:
        key = verdict.signature.key
        if verdict.status is Status.TRUSTED:
            return SignatureOutcome("verified", verdict.reason, verdict.signer, key)
        if verdict.status is Status.FORGE:
            return SignatureOutcome("forge-verified", verdict.reason, verdict.signer, key)
        if verdict.status is Status.UNKNOWN_KEY:
            reason = verdict.reason
            if not self.matches:
                reason += " (no [[upstream]] entry matches this source)"
            return SignatureOutcome("unknown-key", reason, None, key)
        if verdict.status is Status.UNSIGNED:
            return SignatureOutcome("unsigned", verdict.reason)
        if verdict.status in _REJECTED:
            return SignatureOutcome("bad-signature", f"{verdict.status.value}: {verdict.reason}", None, key)
        return SignatureOutcome("bad-signature", verdict.reason, None, key)

    def continuity_key(self, key: str | None) -> str | None:
        """The identity a version is recorded under: a certificate, not the subkey that
        happened to sign, so routine subkey rotation is not reported as a new signer."""
        if key is None:
            return None
        for upstream in self.upstreams:
            for entry in upstream.keys:
                if entry.openpgp is not None and key.upper() in entry.openpgp.key_fingerprints:
                    return entry.openpgp.fingerprint
        return key


def armored(signature: bytes) -> bytes | None:
    """Detached signatures come armored (``.asc``, SSH) or binary (most ``.sig``);
    the schemes read armor, so binary OpenPGP is armored first."""
    stripped = signature.lstrip()
    if stripped.startswith(b"-----BEGIN "):
        return signature
    if not signature or not signature[0] & 0x80:
        return None
    try:
        return pysequoia.armor(signature, pysequoia.ArmorKind.Signature).encode()
    except Exception:
        return None
