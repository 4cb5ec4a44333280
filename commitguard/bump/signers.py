"""Does upstream still vouch for the new version the way it vouched for the old one?

A bump is only as good as the release it points to. Both versions' upstream
evidence is gathered (:func:`commitguard.upstream.evaluate_upstream`) and the
signers compared key by key: another key, a signature gone, or a release no
longer signed by a key the keyring or the continuity record of earlier audits
holds is a high finding, whether or not the keyring trusts either key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from commitguard.bump.model import Finding, finding
from commitguard.keyring.model import Keyring
from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream import ContinuityStore, evaluate_upstream
from commitguard.upstream.matching import identity, matching_upstreams
from commitguard.upstream.signing import UpstreamVerifier

_SIGNED = frozenset({"verified", "unbound", "forge-verified", "unknown-key"})


@dataclass(frozen=True)
class _Signer:
    """Who made a signature: the key always, the ``[[upstream]]`` match (or forge) when the keyring knows it."""

    match: str | None
    key: str

    def same(self, other: "_Signer") -> bool:
        # the same key under another match is the same person (a source that moved is reported on its own)
        return self.key == other.key and (self.match == other.match or None in (self.match, other.match))


def _signer(evidence: UpstreamEvidence | None, verifier: UpstreamVerifier) -> _Signer | None:
    """The signer of a signature that was made, known to the keyring or not; None when there is none."""
    if evidence is None or evidence.status not in _SIGNED or not evidence.key:
        return None
    return _Signer(evidence.signer, verifier.continuity_key(evidence.key) or evidence.key)


def _describe_signer(evidence: UpstreamEvidence, signer: _Signer) -> str:
    who = f"{signer.match}'s key {signer.key}" if signer.match else f"key {signer.key}"
    return f"{who} ({evidence.status}, {evidence.evidence or 'no evidence'})"


@dataclass(frozen=True)
class _Record:
    """What is known about the keys an upstream signs with, besides the old version's own signature."""

    keyring: frozenset[str]
    keyring_match: str | None
    previous: tuple[str, frozenset[str]] | None  # (version, keys) from the continuity record

    def describe(self) -> str:
        parts = []
        if self.keyring:
            parts.append(f"the keyring records {len(self.keyring)} key(s) for {self.keyring_match}")
        if self.previous is not None:
            parts.append(f"version {self.previous[0]} was recorded signed by {', '.join(sorted(self.previous[1]))}")
        return "; ".join(parts)


def _record(keyring: Keyring, call: FetcherCall, signer: _Signer | None, continuity: ContinuityStore | None,
            version: str | None) -> _Record | None:
    entries = matching_upstreams(keyring, identity(call))
    keys = set()
    for entry in entries:
        for key in entry.keys:
            if key.openpgp is not None:
                keys.add(key.openpgp.fingerprint)
            elif key.ssh is not None:
                keys.add(key.ssh.fingerprint)
    previous = None
    if continuity is not None and version:
        matches = {e.match for e in entries} | ({signer.match} if signer is not None and signer.match else set())
        for match in sorted(matches):
            found = continuity.previous(match, version)
            if found is not None:
                previous = (found[0], frozenset(continuity.keys(match, found[0])))
                break
    if not keys and previous is None:
        return None
    return _Record(frozenset(keys), entries[0].match if entries else None, previous)


@dataclass(frozen=True)
class UpstreamComparison:
    """Both versions' upstream evidence, whether one signer made both, and the findings."""

    old: UpstreamEvidence | None = None
    new: UpstreamEvidence | None = None
    same_signer: bool | None = None
    findings: tuple[Finding, ...] = ()


def compare_upstream(old_call: FetcherCall | None, new_call: FetcherCall | None, old_version: str | None,
                     new_version: str | None, keyring: Keyring, mirror: Path | None, online: bool,
                     github_api: str | None, continuity: ContinuityStore | None) -> UpstreamComparison:
    """Upstream evidence for both versions, and what changed in who signs.

    The old version's own signature is the first witness; where the mirror no
    longer has it, the keyring's ``[[upstream]]`` keys and the continuity
    record of earlier audits stand in.
    """
    def evaluate(call: FetcherCall | None, version: str | None) -> UpstreamEvidence | None:
        if call is None:
            return None
        return evaluate_upstream(call, keyring, mirror=mirror, online=online, github_api=github_api,
                                 version=version)

    old_e = evaluate(old_call, old_version)
    new_e = evaluate(new_call, new_version)
    if new_e is None or new_call is None:
        return UpstreamComparison(old_e, new_e)
    verifier = UpstreamVerifier(keyring, list(keyring.upstreams))
    old_s, new_s = _signer(old_e, verifier), _signer(new_e, verifier)
    record = _record(keyring, new_call, new_s, continuity, new_version)
    new_label = f"version {new_version}" if new_version else "the new source"
    old_label = f"version {old_version}" if old_version else "the old source"
    accepted = new_e.status in ("verified", "forge-verified")

    same_signer = None
    if old_s is not None:
        same_signer = new_s is not None and new_s.same(old_s)
    elif record is not None and record.previous is not None:
        same_signer = new_s is not None and new_s.key in record.previous[1]

    findings: list[Finding] = []

    if new_e.status == "hash-mismatch":
        findings.append(finding("upstream-hash-mismatch", f"{new_label}: {new_e.reason}"))
    elif new_e.status == "unbound":
        findings.append(finding("upstream-hash-unbound", f"{new_label}: {new_e.reason}"))
    if old_s is not None and new_s is not None and not new_s.same(old_s):
        findings.append(finding(
            "upstream-signer-changed",
            f"{new_label} is signed by {_describe_signer(new_e, new_s)}; {old_label} was signed by "
            f"{_describe_signer(old_e, old_s)}"))
    elif old_s is not None and new_e.status == "unsigned":
        findings.append(finding(
            "signature-gone",
            f"{old_label} was signed by {_describe_signer(old_e, old_s)}; {new_label} is not signed: {new_e.reason}"))
    elif old_s is not None and new_s is None and new_e.status == "bad-signature":
        findings.append(finding(
            "new-version-unsigned-by-recorded-key",
            f"{new_label} carries no valid signature ({new_e.reason}); {old_label} was signed by "
            f"{_describe_signer(old_e, old_s)}"))
    elif old_s is None and record is not None:
        previous = record.previous
        if previous is not None and new_s is not None and accepted and new_s.key not in previous[1]:
            findings.append(finding(
                "upstream-signer-changed",
                f"{new_label} is signed by {_describe_signer(new_e, new_s)}; {record.describe()}"))
        elif not accepted and new_e.status in ("unsigned", "unknown-key", "bad-signature"):
            findings.append(finding(
                "new-version-unsigned-by-recorded-key",
                f"{new_label} is not signed by a recorded key ({new_e.status}: {new_e.reason}); {record.describe()}"))

    if continuity is not None:
        for evidence, signer, version in ((old_e, old_s, old_version), (new_e, new_s, new_version)):
            if evidence is not None and evidence.status == "verified" and signer and signer.match and version:
                continuity.record(signer.match, version, signer.key)
    return UpstreamComparison(old_e, new_e, same_signer, tuple(findings))
