"""Upstream evidence for a fetched source: does upstream itself vouch for what the expression pins?

Each kind of evidence lives in its own module behind
:class:`~commitguard.upstream.interface.EvidenceSource` (signed tags and
commits in the mirror, detached signatures beside release files, the
forge's word). :func:`evaluate_upstream` asks every kind that applies and
keeps the strongest answer: evidence we checked ourselves always outranks
the forge's word, which is asked only when the mirror had nothing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from commitguard.keyring.model import Keyring
from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream.continuity import ContinuityStore, compare_versions
from commitguard.upstream.detached import DetachedSignatureSource
from commitguard.upstream.forge import ForgeSource
from commitguard.upstream.interface import EvidenceContext, EvidenceSource
from commitguard.upstream.matching import fetcher_name
from commitguard.upstream.signed_tag import SignedTagSource
from commitguard.upstream.signing import UpstreamVerifier

__all__ = [
    "ContinuityStore",
    "EvidenceContext",
    "EvidenceSource",
    "SOURCES",
    "compare_versions",
    "evaluate_upstream",
]

SOURCES: tuple[EvidenceSource, ...] = (SignedTagSource(), DetachedSignatureSource(), ForgeSource())

# Which answer wins when several kinds speak. A certain hash mismatch beats
# everything (no signature can vouch for bytes the expression does not
# fetch); a signature whose hash is not bound to what the expression fetches
# comes right after a bound one; a signature we could not accept beats
# having none.
_STRENGTH = {
    "hash-mismatch": 0,
    "verified": 1,
    "unbound": 2,
    "bad-signature": 3,
    "unknown-key": 4,
    "forge-verified": 5,
    "unsigned": 6,
    "unavailable": 7,
}


def _rank(evidence: UpstreamEvidence) -> int:
    return _STRENGTH.get(evidence.status, len(_STRENGTH))


def _judge(source: EvidenceSource, call: FetcherCall, context: EvidenceContext) -> UpstreamEvidence | None:
    try:
        return source.judge(call, context)
    except Exception as exc:  # a damaged mirror or odd object must read as "no evidence", never as a traceback
        return UpstreamEvidence(status="unavailable",
                                reason=f"{source.name}: could not be checked ({type(exc).__name__}: {exc})")


def evaluate_upstream(
    call: FetcherCall,
    keyring: Keyring,
    *,
    mirror: Path | None,
    online: bool = False,
    github_api: str | None = None,
    continuity: ContinuityStore | None = None,
    version: str | None = None,
) -> UpstreamEvidence:
    """The upstream evidence for one fetcher call (SPEC: the ``upstream`` object of ``sources``).

    ``mirror`` is the offline mirror (SPEC); ``online`` allows asking the
    forge, and only the forge (the mirror is the one place upstream content
    is read from). ``version`` is the package version the continuity record
    is kept under (default: the call's ``version`` argument, else its tag).
    """
    version = version or _version_of(call)
    context = EvidenceContext(keyring=keyring, mirror=Path(mirror) if mirror is not None else None,
                              online=online, github_api=github_api)
    applicable = [s for s in SOURCES if s.applies(call)]
    if not applicable:
        return UpstreamEvidence(status="unavailable",
                                reason=f"no kind of upstream evidence is known for {fetcher_name(call)} sources",
                                version=version)
    found = [e for e in (_judge(s, call, context) for s in applicable if s.offline) if e is not None]
    best = min(found, key=_rank) if found else None
    if online and (best is None or best.status == "unavailable"):
        for source in applicable:
            if source.offline:
                continue
            forge = _judge(source, call, context)
            if forge is None:
                continue
            if best is None or _rank(forge) < _rank(best):
                note = f" (offline: {best.reason})" if best is not None else ""
                best = dataclasses.replace(forge, reason=forge.reason + note)
            else:
                best = dataclasses.replace(best, reason=f"{best.reason}; {source.name}: {forge.reason}")
    if best is None:
        best = UpstreamEvidence(status="unavailable", reason="no upstream mirror, and the network is not to be used")
    if continuity is not None:
        best = _continuity(best, keyring, continuity, version)
    return dataclasses.replace(best, version=version)


def _version_of(call: FetcherCall) -> str | None:
    value = call.args.get("version")
    if isinstance(value, str) and value:
        return value
    return call.tag.removeprefix("refs/tags/") if call.tag else None


def _continuity(evidence: UpstreamEvidence, keyring: Keyring, store: ContinuityStore,
                version: str | None) -> UpstreamEvidence:
    """Record a verified version's key, and say when it is not the key of the version before."""
    if evidence.status != "verified" or not evidence.signer or not evidence.key or not version:
        return evidence
    upstreams = [u for u in keyring.upstreams if u.match == evidence.signer]
    key = UpstreamVerifier(keyring, upstreams).continuity_key(evidence.key) or evidence.key
    notes = []
    earlier_same = store.keys(evidence.signer, version)
    if earlier_same and key not in earlier_same:
        notes.append(f"version {version} was earlier seen signed by another key ({earlier_same[0]})")
    previous = store.previous(evidence.signer, version)
    if previous is not None:
        prev_version, prev_key = previous
        prev_keys = store.keys(evidence.signer, prev_version)
        if key in prev_keys:
            notes.append(f"same key as version {prev_version}")
        else:
            notes.append(f"signed by a different key than version {prev_version} (then {prev_key}, now {key})")
    store.record(evidence.signer, version, key)
    if not notes:
        return evidence
    return dataclasses.replace(evidence, reason=f"{evidence.reason}; {'; '.join(notes)}")


def mirror_from_environment() -> Path | None:
    """``$COMMITGUARD_UPSTREAM_MIRROR`` (SPEC), for callers without ``--upstream-mirror``."""
    value = os.environ.get("COMMITGUARD_UPSTREAM_MIRROR")
    return Path(value) if value else None
