"""A package's chain of history: the links ``annotate`` shows and ``pin`` locks.

Both commands build a package's chain here, from the same history, so they
cannot disagree on a package (``pin`` locks what ``annotate`` shows).

The trust root is judged like any commit (``verify`` judges it too): it is
the commit that vouches for everything before it, so a package that already
existed at the trust root has the trust root as its first link, whether or
not the trust root itself changed the package's files. A package with no link
at all (no commit since the trust root touched it, and it is not in the
trust root either: the trust root is not in the history examined) has no
history anyone vouched for, and is never trusted.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pygit2

from commitguard.git.trees import entry_at, root_tree
from commitguard.model.verdicts import CommitVerdict, Vouch
from commitguard.review.vouching import audit_reason


@dataclass(frozen=True)
class ChainLink:
    role: str  # upstream | commit | approval | merge
    commit: str | None = None
    signer: str | None = None
    status: str | None = None
    trusted: bool = True
    reason: str = ""
    kind: str | None = None  # approvals: audit | review
    base: str | None = None  # approvals: the base they name
    audited_by: tuple[str, ...] = ()
    merged: tuple[str, ...] = ()  # merges: the package's commits they brought in
    summary: str = ""
    trust_root: bool = False  # this commit is the trust root: it vouches for the package's files as they were
    vouch: Vouch | None = None  # commits and merges: what vouched for them (None: nothing did)

    def to_json(self) -> dict:
        out: dict = {"role": self.role}
        if self.role != "upstream":
            out["commit"] = self.commit
        out["signer"] = self.signer
        if self.status is not None:
            out["status"] = self.status
        out["trusted"] = self.trusted
        if self.role == "approval":
            out["kind"] = self.kind
            out["base"] = self.base
        if self.role in ("commit", "merge"):
            out["audited_by"] = list(self.audited_by)
        if self.role == "merge":
            out["merged"] = list(self.merged)
        if self.trust_root:
            out["trust_root"] = True
        if self.reason:
            out["reason"] = self.reason
        if self.role in ("commit", "merge"):
            out["vouch"] = self.vouch.to_json() if self.vouch is not None else None
        return out

    def digest_item(self) -> list:
        return [self.role, self.commit, self.signer, self.kind or self.status]


@dataclass(frozen=True)
class Chain:
    """The history part of a package's chain (everything but upstream)."""

    links: tuple[ChainLink, ...]
    blockers: tuple[str, ...]  # commits (or merges) neither trusted nor audited
    last_change: str | None
    missing: str = ""  # why no history since the trust root was found (never trusted then)

    @property
    def trusted(self) -> bool:
        return not self.blockers and not self.missing

    @property
    def digest(self) -> str:
        """Names every signer and status of the chain, independent of how the history was walked."""
        items = sorted(json.dumps(link.digest_item()) for link in self.links)
        return "sha256:" + hashlib.sha256("\n".join(items).encode()).hexdigest()


def trust_root_in(history) -> str | None:
    """The trust root when it is part of the history examined (it is not when
    it is no ancestor of the tip)."""
    root = history.trust_root
    return root if root is not None and root in history.position else None


def present_at(repo: pygit2.Repository, commit_id: str, prefixes: list[str]) -> bool:
    """Whether any of the package's paths (its own, or one it was moved from) exists in a revision."""
    tree = root_tree(repo, commit_id)
    return any(entry_at(tree, prefix) is not None for prefix in prefixes)


def root_vouches(history, trail) -> bool:
    """Whether the trust root is a link of this package's chain: it changed
    the package, or the package was already there."""
    root = trust_root_in(history)
    if root is None:
        return False
    return root in trail.commits or present_at(history.repo, root, [trail.prefix, *(old for old, _ in trail.aliases)])


def build_chain(history, trail, verdicts: dict[str, CommitVerdict], approvals) -> Chain:
    root = trust_root_in(history)
    commits = list(reversed(trail.commits))  # oldest first
    if root is not None and root not in commits and root_vouches(history, trail):
        commits.insert(0, root)  # the package as it was at the trust root
    if not commits:
        where = f"trust root {history.trust_root[:12]}" if history.trust_root else "the first commit"
        return Chain((), (), None, missing=(
            f"no history of {trail.prefix} since the {where} was found (no commit in it touched the package, and it "
            "is not in the trust root): nothing vouches for it"))
    order = {c: i for i, c in enumerate(commits)}
    later: dict[int, list[ChainLink]] = {}
    blockers: list[str] = []
    brought: dict[str, list[str]] = {}
    reviews: dict[tuple[str, str, str], list[str]] = {}
    for commit_id in commits:
        entry = history.entry_of(commit_id)
        if entry != commit_id:
            brought.setdefault(entry, []).append(commit_id)
        for link in approvals.covering.get(commit_id, ()):
            if link.kind == "review":
                reviews.setdefault((link.head, link.base, link.person), []).append(commit_id)
    for (head, base, person), covered in reviews.items():
        anchor = max(order[c] for c in covered)
        later.setdefault(anchor, []).append(
            ChainLink("approval", head, person, trusted=True, kind="review", base=base)
        )
    for merge, covered in brought.items():
        verdict = verdicts[merge]
        audited = tuple(approvals.audited_by(merge))
        ok = verdict.trusted or bool(audited)
        if not ok:
            blockers.append(merge)
        anchor = max(order[c] for c in covered)
        later.setdefault(anchor, []).append(ChainLink(
            "merge", merge, verdict.signer, verdict.status.value, ok, "" if verdict.trusted else verdict.reason,
            audited_by=audited, merged=tuple(covered), summary=verdict.summary, trust_root=merge == root,
            vouch=_link_vouch(merge, verdict, audited),
        ))
    links: list[ChainLink] = []
    for i, commit_id in enumerate(commits):
        verdict = verdicts[commit_id]
        audits = approvals.audits.get(commit_id, [])
        audited = tuple(approvals.audited_by(commit_id))
        ok = verdict.trusted or bool(audited)
        if not ok:
            blockers.append(commit_id)
        links.append(ChainLink(
            "commit", commit_id, verdict.signer, verdict.status.value, ok, "" if verdict.trusted else verdict.reason,
            audited_by=audited, summary=verdict.summary, trust_root=commit_id == root,
            vouch=_link_vouch(commit_id, verdict, audited),
        ))
        seen = set()
        for link in audits:
            if link.person not in seen:
                seen.add(link.person)
                links.append(ChainLink("approval", commit_id, link.person, trusted=True, kind="audit", base=link.base))
        links.extend(later.get(i, ()))
    last = trail.commits[0] if trail.commits else root
    return Chain(tuple(links), tuple(dict.fromkeys(blockers)), last, missing=trail.incomplete)


def _link_vouch(commit_id: str, verdict: CommitVerdict, audited: tuple[str, ...]) -> Vouch | None:
    """What vouches for a link: its verdict's vouch (its own signature), else the audits found for it."""
    if verdict.trusted:
        return verdict.vouch
    if audited:
        return Vouch("audit", audited, audit_reason(commit_id, audited))
    return None


def chain_commits(history, trails: dict) -> set[str]:
    """Every commit a set of chains needs a verdict for: the commits, the
    merges that brought them, and the trust root (with the merge that brought it)."""
    wanted: set[str] = set()
    root = trust_root_in(history)
    for commit_id in [*(c for trail in trails.values() for c in trail.commits), *([root] if root else [])]:
        wanted.add(commit_id)
        wanted.add(history.entry_of(commit_id))
    return wanted
