"""One kind of upstream evidence per module, behind one small interface.

Each kind knows which fetcher calls it can say something about and how to
say it; :func:`commitguard.upstream.evaluate_upstream` asks them in order
of strength and keeps the strongest answer. A new kind (a transparency log,
another forge) is a new module, not a new branch in the others.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from commitguard.keyring.model import Keyring
from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream.matching import identity, matching_upstreams
from commitguard.upstream.signing import UpstreamVerifier


@dataclass(frozen=True)
class EvidenceContext:
    """What every evidence kind may use; ``mirror`` None means no offline copy of upstream."""

    keyring: Keyring
    mirror: Path | None = None
    online: bool = False
    github_api: str | None = None

    def verifier(self, call: FetcherCall, *, namespace: bytes = b"git") -> UpstreamVerifier:
        """A verifier holding only the keys of the ``[[upstream]]`` entries that match this source."""
        return UpstreamVerifier(self.keyring, matching_upstreams(self.keyring, identity(call)), namespace=namespace)


class EvidenceSource(ABC):
    """One kind of evidence. ``offline`` kinds read only the mirror; the others need the network."""

    name: str
    offline: bool = True

    @abstractmethod
    def applies(self, call: FetcherCall) -> bool:
        """True when this kind can say anything about ``call``'s fetcher at all."""

    @abstractmethod
    def judge(self, call: FetcherCall, context: EvidenceContext) -> UpstreamEvidence | None:
        """The evidence for ``call``, or None when this kind has nothing to add.

        Never raises on hostile input (a damaged mirror, a tag object that
        lies about its name, a forge that answers nonsense): those are
        statuses with a reason, never tracebacks.
        """


def unavailable(reason: str) -> UpstreamEvidence:
    return UpstreamEvidence(status="unavailable", reason=reason)


# Arguments without which nothing about a source can be located; when one of
# these is not known statically, nothing is guessed (SPEC).
LOCATING_ARGS = frozenset(
    {"owner", "repo", "rev", "tag", "url", "urls", "domain", "githubBase", "group"}
)


def unresolved_locators(call: FetcherCall) -> list[str]:
    return [name for name in call.unresolved if name in LOCATING_ARGS]


def unreachable(call: FetcherCall, context: EvidenceContext, what: str, place: str) -> UpstreamEvidence | None:
    """``unavailable`` when an offline kind cannot start: ``what`` (the release file, the upstream
    repository) cannot be located statically, or there is no mirror to read ``place`` from."""
    missing = unresolved_locators(call)
    if missing:
        return unavailable(f"{what} cannot be located: {', '.join(missing)} not known statically")
    if context.mirror is None:
        return unavailable(f"no upstream mirror to read {place} from")
    return None
