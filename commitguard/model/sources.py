"""What a package expression says about its source, and what upstream says about it.

Read statically from Nix (:mod:`commitguard.nix`), then judged against
upstream evidence (:mod:`commitguard.upstream`). Field names follow SPEC's
JSON of ``sources``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FetcherCall:
    """One fetcher call with its arguments as far as they can be known statically.

    ``url`` is the concrete first URL (``mirror://`` expanded where the
    mirror is known; fetchFromGitHub as ``https://github.com/OWNER/REPO``).
    ``hash`` is normalised to SRI (``sha256-<base64>``) whatever the
    expression used (``sha256 = "<base32>"``, ``hash = "sha256:..."``).
    ``unresolved`` names every argument that could not be evaluated; then
    ``resolved`` is false and nothing about it is guessed. ``args`` keeps
    every argument that was evaluated (fetchSubmodules, leaveDotGit, pname,
    version, ...), for checks that need more than the common fields.
    ``kind`` is ``source``, or ``dependencies`` for a fixed-output fetcher of
    the dependencies a lockfile in the source names (``fetchPnpmDeps``,
    ``fetchCargoVendor``...): a hash over what was derived from the source,
    not an upstream release; it is resolved when its hash is.
    """

    fetcher: str
    url: str | None = None
    urls: tuple[str, ...] = ()
    owner: str | None = None
    repo: str | None = None
    rev: str | None = None
    tag: str | None = None
    domain: str | None = None
    hash: str | None = None
    resolved: bool = True
    unresolved: tuple[str, ...] = ()
    args: dict = field(default_factory=dict, compare=False, hash=False)
    line: int | None = None
    kind: str = "source"

    def to_json(self) -> dict:
        out = {
            "fetcher": self.fetcher,
            "url": self.url,
            "owner": self.owner,
            "repo": self.repo,
            "rev": self.rev,
            "tag": self.tag,
            "hash": self.hash,
            "resolved": self.resolved,
            "unresolved": list(self.unresolved),
        }
        if self.kind != "source":
            out["kind"] = self.kind  # only then: outputs without dependency fetchers stay as they were
        return out


@dataclass(frozen=True)
class PackageExpression:
    """A package expression file and what it evaluates to statically.

    ``attrs`` holds the other evaluated top-level attributes that later
    checks compare (``cargoHash``, ``vendorHash``, ``npmDepsHash``,
    ``patches``...): name -> evaluated value or None when unresolved.
    """

    path: str
    name: str | None
    version: str | None
    sources: tuple[FetcherCall, ...]
    attrs: dict = field(default_factory=dict, compare=False, hash=False)
    notes: tuple[str, ...] = ()


UPSTREAM_STATUSES = (
    "verified",
    "unbound",  # a signature that counts, but the expression's hash is not shown to be what it signed
    "forge-verified",
    "unsigned",
    "unknown-key",
    "bad-signature",
    "hash-mismatch",
    "unavailable",
)


@dataclass(frozen=True)
class UpstreamEvidence:
    """What upstream's own signature says about one fetched source.

    ``status`` is one of :data:`UPSTREAM_STATUSES`; only ``verified`` is
    trusted, and only when the expression's hash was recomputed from the
    signed bytes (``unbound`` keeps the signer and key of a good signature
    whose hash could not be bound to it); ``evidence`` the kind
    that decided it (``signed-tag``, ``signed-commit``,
    ``detached-signature``, ``forge``) or None; ``signer`` the ``[[upstream]]``
    entry's match that holds the key, or the forge for ``forge-verified``.
    """

    status: str
    reason: str
    evidence: str | None = None
    signer: str | None = None
    key: str | None = None
    version: str | None = None

    def to_json(self) -> dict:
        return {
            "status": self.status,
            "signer": self.signer,
            "evidence": self.evidence,
            "key": self.key,
            "reason": self.reason,
        }
