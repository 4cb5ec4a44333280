"""Review rules (``[[rule]]``): which paths need how many approvals, from whom.

Every rule whose paths match a changed file applies, so the strictest set of
rules holds. A changed path that no rule covers fails the check: an empty or
partial policy is not a vacuous "yes".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from commitguard.keyring.model import Keyring, Rule


@functools.lru_cache(maxsize=256)
def glob_regex(pattern: str) -> re.Pattern:
    """Git-style globs: ``**`` crosses directories, ``*`` and ``?`` do not."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def matches(pattern: str, path: str) -> bool:
    pattern = pattern.lstrip("/")
    if pattern.endswith("/"):
        pattern += "**"
    return glob_regex(pattern).match(path) is not None


@dataclass(frozen=True)
class RuleResult:
    paths: tuple[str, ...]
    required: int
    files: tuple[str, ...]
    eligible: tuple[str, ...]  # person ids who may approve
    approved_by: tuple[str, ...]
    stale: tuple[str, ...]
    excluded_authors: tuple[str, ...]
    unresolved: tuple[str, ...] = ()  # approver entries that name nobody (e.g. unreadable maintainers)

    @property
    def missing(self) -> int:
        return max(0, self.required - len(self.approved_by))

    @property
    def ok(self) -> bool:
        return self.missing == 0

    def to_json(self) -> dict:
        return {
            "paths": list(self.paths),
            "required": self.required,
            "approved_by": list(self.approved_by),
            "missing": self.missing,
            "stale": list(self.stale),
            "files": list(self.files),
            "eligible": list(self.eligible),
            "excluded_authors": list(self.excluded_authors),
            "unresolved": list(self.unresolved),
        }


def eligible_persons(
    rule: Rule, keyring: Keyring, files: list[str], maintainers_of: dict[str, tuple[str, ...]]
) -> tuple[list[str], list[str]]:
    """(person ids, unresolved notes) that the rule's ``approvers`` name for these files."""
    persons: list[str] = []
    unresolved: list[str] = []
    by_github = {p.github.lower(): p.id for p in keyring.persons if p.github}
    ids = {p.id for p in keyring.persons}
    for entry in rule.approvers:
        if entry.startswith("role:"):
            role = entry[5:]
            found = [p.id for p in keyring.persons if role in p.roles]
            if not found:
                unresolved.append(f"{entry}: no person has this role")
            persons.extend(found)
        elif entry == "maintainers":
            for path in files:
                for handle in maintainers_of.get(path, ()):
                    person = by_github.get(handle.lower()) or (handle if handle in ids else None)
                    if person:
                        persons.append(person)
                    else:
                        unresolved.append(f"maintainer {handle} of {path}: not a keyring person")
        elif entry in ids:
            persons.append(entry)
        else:
            unresolved.append(f"{entry}: no such person in the keyring")
    return list(dict.fromkeys(persons)), list(dict.fromkeys(unresolved))


def evaluate_rules(
    keyring: Keyring,
    changed: list[str],
    approvers: dict[str, str],  # person -> "valid" | "stale" (valid wins)
    authors: set[str],
    maintainers_of: dict[str, tuple[str, ...]],
) -> tuple[list[RuleResult], list[str]]:
    """Results per matching rule, and the changed files no rule covers."""
    results = []
    covered: set[str] = set()
    for rule in keyring.rules:
        files = [f for f in changed if any(matches(p, f) for p in rule.paths)]
        if not files:
            continue
        covered.update(files)
        eligible, unresolved = eligible_persons(rule, keyring, files, maintainers_of)
        excluded = sorted(a for a in authors if a in eligible) if rule.exclude_author else []
        counting = [p for p in eligible if p not in excluded]
        approved = sorted(p for p in counting if approvers.get(p) == "valid")
        stale = sorted(p for p in counting if approvers.get(p) == "stale")
        results.append(
            RuleResult(
                paths=rule.paths,
                required=rule.approvals,
                files=tuple(files),
                eligible=tuple(counting),
                approved_by=tuple(approved),
                stale=tuple(stale),
                excluded_authors=tuple(excluded),
                unresolved=tuple(unresolved),
            )
        )
    uncovered = [f for f in changed if f not in covered]
    return results, uncovered
