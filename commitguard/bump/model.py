"""The report of ``audit-bump``: what each formatter prints and ``--fail-on`` judges.

Kept apart from the audit so the formatters, the GitHub mode and the tests
read one small set of frozen dataclasses, and so the list of finding codes
(which ``--fail-on`` accepts and SPEC.md documents) lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commitguard.errors import CommitguardError
from commitguard.model.sources import UpstreamEvidence

# ``unknown``: a side could not be evaluated far enough to tell (its version
# is not known statically); the package's ``reason`` says why.
KINDS = ("version-bump", "bump-with-changes", "source-origin-changed", "not-a-bump", "unknown")
SEVERITIES = ("high", "medium", "low")
# Every finding code and its severity; --fail-on accepts these names.
CODES = {
    "source-origin-changed": "high",
    "upstream-signer-changed": "high",
    "signature-gone": "high",
    "new-version-unsigned-by-recorded-key": "high",
    "upstream-hash-mismatch": "high",
    "source-hash-changed": "high",
    "version-downgrade": "high",
    "tarball-differs-from-tag": "high",
    "audit-incomplete": "high",
    "hash-altering-argument-added": "high",
    "upstream-hash-unbound": "medium",
    "title-mismatch": "medium",
    "extra-changes": "medium",
}

# The hidden first line by which the GitHub mode finds its own earlier
# comment and updates it, instead of adding one per push.
COMMENT_MARKER = "<!-- commitguard:audit-bump -->"


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str

    def to_json(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message}


def finding(code: str, message: str) -> Finding:
    return Finding(CODES[code], code, message)


@dataclass(frozen=True)
class TarballComparison:
    """A release tarball read against the tag it claims to be made from."""

    url: str
    repository: str
    tag: str
    only_in_tarball: tuple[str, ...]
    changed: tuple[str, ...]

    def to_json(self) -> dict:
        return {"url": self.url, "repository": self.repository, "tag": self.tag,
                "only_in_tarball": list(self.only_in_tarball), "changed": list(self.changed)}


@dataclass(frozen=True)
class PackageAudit:
    path: str
    name: str | None
    old_version: str | None
    new_version: str | None
    kind: str
    changes: tuple[str, ...] = ()
    details: dict[str, str] = field(default_factory=dict)
    upstream_old: UpstreamEvidence | None = None
    upstream_new: UpstreamEvidence | None = None
    same_signer: bool | None = None
    findings: tuple[Finding, ...] = ()
    tarball: TarballComparison | None = None
    notes: tuple[str, ...] = ()
    reason: str | None = None  # why the kind is ``unknown``

    def to_json(self) -> dict:
        def evidence(e: UpstreamEvidence | None):
            if e is None:
                return None
            return {**e.to_json(), "version": e.version}

        return {
            "path": self.path,
            "name": self.name,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "kind": self.kind,
            "reason": self.reason,
            "changes": list(self.changes),
            "details": dict(self.details),
            "upstream": {"old": evidence(self.upstream_old), "new": evidence(self.upstream_new),
                         "same_signer": self.same_signer},
            "findings": [f.to_json() for f in self.findings],
            "tarball": self.tarball.to_json() if self.tarball else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Bot:
    """Which automation proposed the change, and what gave it away."""

    name: str
    reason: str

    def to_json(self) -> dict:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class FailOn:
    """What makes the audit fail (exit 1): package kinds, finding codes, severities."""

    kinds: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset({"high"})

    def hits(self, package: PackageAudit | None, findings) -> bool:
        if package is not None and package.kind in self.kinds:
            return True
        return any(f.code in self.codes or f.severity in self.severities for f in findings)

    def names(self) -> list[str]:
        return sorted(self.kinds) + sorted(self.codes) + sorted(self.severities)


def parse_fail_on(text: str | None) -> FailOn:
    """``--fail-on``: comma-separated kinds, finding codes and/or severities; default any high finding."""
    if text is None:
        return FailOn()
    kinds, codes, severities = set(), set(), set()
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        if token in KINDS:
            kinds.add(token)
        elif token in CODES:
            codes.add(token)
        elif token in SEVERITIES:
            severities.add(token)
        else:
            known = ", ".join(dict.fromkeys([*KINDS, *CODES, *SEVERITIES]))
            raise CommitguardError(f"unknown kind, code or severity {token!r} (known: {known})", field="--fail-on")
    if not (kinds or codes or severities):
        raise CommitguardError("names nothing to fail on", field="--fail-on")
    return FailOn(frozenset(kinds), frozenset(codes), frozenset(severities))


@dataclass(frozen=True)
class BumpReport:
    base: str
    head: str
    merge_base: str
    title: str | None
    author: str | None
    branch: str | None
    pull_request: int | None
    bot: Bot | None
    packages: tuple[PackageAudit, ...]
    findings: tuple[Finding, ...]
    other_files: tuple[str, ...]
    fail_on: FailOn
    repository: str | None = None

    @property
    def ok(self) -> bool:
        if self.fail_on.hits(None, self.findings):
            return False
        return not any(self.fail_on.hits(p, p.findings) for p in self.packages)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "repository": self.repository,
            "pull_request": self.pull_request,
            "base": self.base,
            "head": self.head,
            "merge_base": self.merge_base,
            "title": self.title,
            "author": self.author,
            "branch": self.branch,
            "bot": self.bot.to_json() if self.bot else None,
            "fail_on": self.fail_on.names(),
            "packages": [p.to_json() for p in self.packages],
            "findings": [f.to_json() for f in self.findings],
            "other_files": list(self.other_files),
        }
