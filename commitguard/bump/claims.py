"""What the change says it is (``NAME: OLD -> NEW``), and which bot says it.

A reviewer reads the title, not the diff: a title or commit subject that
names another package or another version than the change makes is a
finding. Recognising the bot that opened the change (r-ryantm, a ``[bot]``
login, an ``update/`` branch) only labels the report; it never lowers a
finding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from commitguard.bump.model import Bot, Finding, PackageAudit, finding

BOT_LOGINS = ("r-ryantm",)
BOT_BRANCH_PREFIXES = ("auto-update/", "update/")

_TITLE = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?P<name>[A-Za-z0-9_.+\-]+)\s*:\s*(?P<old>[^\s]+)\s*(?:->|→)\s*(?P<new>[^\s]+)\s*$")


@dataclass(frozen=True)
class Claim:
    """``NAME: OLD -> NEW`` as nixpkgs-update writes it, and where it was said."""

    name: str
    old: str
    new: str
    source: str

    def text(self) -> str:
        return f"{self.name}: {self.old} -> {self.new}"


def parse_claim(text: str | None, source: str) -> Claim | None:
    if not text:
        return None
    match = _TITLE.match(text.splitlines()[0] if text.splitlines() else text)
    if match is None:
        return None
    return Claim(match["name"], match["old"], match["new"], source)


def _names_package(claim: Claim, audit: PackageAudit) -> bool:
    wanted = {claim.name.lower(), claim.name.rpartition(".")[2].lower()}
    have = {n.lower() for n in (audit.name, PurePosixPath(audit.path).parent.name) if n}
    return bool(wanted & have)


def gather_claims(title: str | None, commits) -> list[Claim]:
    """The title's claim, then each non-merge commit subject's, each claim once."""
    claims: list[Claim] = []
    title_claim = parse_claim(title, "the title")
    if title_claim is not None:
        claims.append(title_claim)
    for commit in commits:
        if len(commit.parents) > 1:
            continue
        claim = parse_claim(commit.message, f"commit {str(commit.id)[:12]}")
        if claim is not None and not any(c.text() == claim.text() for c in claims):
            claims.append(claim)
    return claims


def check_claims(claims: list[Claim], packages: list[PackageAudit]) -> tuple[list[PackageAudit], list[Finding]]:
    """The packages with a ``title-mismatch`` finding added where a claim disagrees with them, and the
    findings of claims that name no package of the change."""
    if not claims:
        return packages, []
    checked = []
    for audit in packages:
        mine = [c for c in claims if _names_package(c, audit)]
        actual = _versions(audit.old_version, audit.new_version)
        added = None
        if not mine:
            said = "; ".join(sorted({f"{c.source} says {c.text()!r}" for c in claims}))
            added = finding("title-mismatch", f"{said}, but the change also touches "
                                              f"{audit.name or audit.path} ({actual})")
        elif audit.old_version is None or audit.new_version is None:
            # what the claim's versions are checked against is not known: said, not judged
            said = "; ".join(f"{c.source}'s {c.text()!r}" for c in mine)
            audit = replace(audit, notes=(*audit.notes, f"{said} not checked: {actual}"))
        elif wrong := _off_path(mine, audit.old_version, audit.new_version):
            said = "; ".join(f"{c.source} says {c.text()!r}" for c in wrong)
            added = finding("title-mismatch", f"{said}, but the change is {audit.name or audit.path}: {actual}")
        checked.append(audit if added is None else replace(audit, findings=(*audit.findings, added)))
    unnamed = [finding("title-mismatch", f"{claim.source} says {claim.text()!r}, but the change "
                                         f"touches no package named {claim.name}")
               for claim in claims if not any(_names_package(claim, p) for p in packages)]
    return checked, unnamed


def _off_path(claims: list[Claim], old: str | None, new: str | None) -> list[Claim]:
    """The claims that do not lie on a way from the old version to the new one.

    One pull request may bump twice (``1.0 -> 1.1`` then ``1.1 -> 1.2``) under a
    title that says ``1.0 -> 1.2``: every claim is then on a way from 1.0 to
    1.2, and none disagrees. Without any such way, every claim disagrees.
    """
    if old is None or new is None:
        return list(claims)
    if old == new:
        # the version did not move (a rev bump of an unstable package): a claim
        # that says so agrees; one that names a move does not
        return [c for c in claims if not (c.old == old and c.new == new)]

    def reachable(start: str) -> set[str]:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for claim in claims:
                if claim.old == current and claim.new not in seen:
                    seen.add(claim.new)
                    frontier.append(claim.new)
        return seen

    if new not in reachable(old):
        return list(claims)
    from_old = reachable(old)
    return [c for c in claims if c.old not in from_old or new not in reachable(c.new)]


def _versions(old: str | None, new: str | None) -> str:
    """The change's versions as a finding says them: never ``? -> ?`` nor ``X -> X``."""
    if old is None and new is None:
        return "neither version can be read statically"
    if old is None or new is None:
        side = "old" if old is None else "new"
        return f"{old or new}, the {side} version cannot be read statically"
    return f"{old}, unchanged" if old == new else f"{old} -> {new}"


def detect_bot(author: str | None, branch: str | None, commit_authors: list[tuple[str, str]]) -> Bot | None:
    """Which automation proposed the change: the forge login, the branch, or the commits' authors."""
    if author:
        login = author.strip()
        if login.lower() in BOT_LOGINS:
            return Bot(login, f"pull request opened by {login}")
        if login.lower().endswith("[bot]"):
            return Bot(login, f"pull request opened by {login}")
    if branch:
        short = branch.removeprefix("refs/heads/")
        for prefix in BOT_BRANCH_PREFIXES:
            if short.startswith(prefix):
                return Bot(prefix.rstrip("/"), f"branch {short}")
    for name, email in commit_authors:
        lowered = f"{name} {email}".lower()
        if "ryantm" in lowered:
            return Bot("r-ryantm", f"commits authored by {name} <{email}>")
        if name.lower().endswith("[bot]") or "[bot]@" in email.lower():
            return Bot(name, f"commits authored by {name} <{email}>")
    return None

