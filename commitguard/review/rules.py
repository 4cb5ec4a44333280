"""Review rules (``[[rule]]``): which paths need how many approvals, from whom.

Every rule whose paths match a changed file applies, so the strictest set of
rules holds. A changed path that no rule covers fails the check: an empty or
partial policy is not a vacuous "yes".
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from commitguard.errors import KeyringError
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
    # A rule whose approvers include "maintainers" is judged once per touched
    # package (its directory): this names it. None for the other rules.
    package: str | None = None

    @property
    def missing(self) -> int:
        return max(0, self.required - len(self.approved_by))

    @property
    def ok(self) -> bool:
        return self.missing == 0

    def to_json(self) -> dict:
        return {
            "paths": list(self.paths),
            "package": self.package,
            "required": self.required,
            "approved_by": list(self.approved_by),
            "missing": self.missing,
            "stale": list(self.stale),
            "files": list(self.files),
            "eligible": list(self.eligible),
            "excluded_authors": list(self.excluded_authors),
            "unresolved": list(self.unresolved),
        }


def handle_index(keyring: Keyring) -> dict[str, str]:
    """Maintainer handle -> person id.

    ``meta.maintainers`` names people by their nixpkgs handle: that is a
    person's ``id`` (``keyring import maintainer-list`` writes ``id = handle``)
    or the ``handle`` the keyring declares for them. GitHub logins are another
    namespace and are never consulted: a login that happens to equal someone
    else's handle must not inherit their packages. A handle that could name two
    persons makes the keyring ambiguous, and it is refused rather than guessed.
    The loader already refuses such a keyring (and handles that merely look
    alike); this check stays for keyrings built otherwise.
    """
    index: dict[str, str] = {}
    how: dict[str, str] = {}
    for person in keyring.persons:
        names = {person.id: "id"}
        if person.handle is not None:
            names.setdefault(person.handle, "handle")
        for name, kind in names.items():
            other = index.get(name)
            if other is not None and other != person.id:
                raise KeyringError(
                    f"maintainer handle {name!r} could mean person {other!r} (its {how[name]}) or person "
                    f"{person.id!r} (its {kind}): rename one, a handle must name one person",
                    path=keyring.path, field="person.handle",
                )
            index[name] = person.id
            how[name] = kind
    return index


def eligible_persons(
    rule: Rule,
    keyring: Keyring,
    files: list[str],
    maintainers_of: dict[str, tuple[str, ...]],
    handles: dict[str, str] | None = None,
) -> tuple[list[str], list[str]]:
    """(person ids, unresolved notes) that the rule's ``approvers`` name for these files."""
    persons: list[str] = []
    unresolved: list[str] = []
    ids = {p.id for p in keyring.persons}
    for entry in rule.approvers:
        if entry.startswith("role:"):
            role = entry[5:]
            found = [p.id for p in keyring.persons if role in p.roles]
            if not found:
                unresolved.append(f"{entry}: no person has this role")
            persons.extend(found)
        elif entry == "maintainers":
            index = handles if handles is not None else handle_index(keyring)
            for path in files:
                for handle in maintainers_of.get(path, ()):
                    person = index.get(handle)
                    if person:
                        persons.append(person)
                    else:
                        unresolved.append(f"maintainer {handle} of {path}: no keyring person has this handle")
        elif entry in ids:
            persons.append(entry)
        else:
            unresolved.append(f"{entry}: no such person in the keyring")
    return list(dict.fromkeys(persons)), list(dict.fromkeys(unresolved))


def package_groups(files: list[str], maintainers_of: dict[str, tuple[str, ...]]) -> list[tuple[str, list[str]]]:
    """The rule's files by package: their directory, split further where files
    of one directory have different maintainers, so no file's approvers are
    pooled with another's."""
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for path in files:
        directory = str(PurePosixPath(path).parent)
        key = (directory, tuple(sorted(maintainers_of.get(path, ()))))
        groups.setdefault(key, []).append(path)
    return [(directory, members) for (directory, _), members in groups.items()]


def evaluate_rules(
    keyring: Keyring,
    changed: list[str],
    approvers: dict[str, str],  # person -> "valid" | "stale" (valid wins)
    authors: set[str],
    maintainers_of: dict[str, tuple[str, ...]],
) -> tuple[list[RuleResult], list[str]]:
    """Results per matching rule, and the changed files no rule covers.

    A rule that lets "maintainers" approve gives one result per touched
    package: a maintainer of one package has no say over another, so every
    package needs its own ``approvals`` eligible approvals.
    """
    results = []
    covered: set[str] = set()
    handles = handle_index(keyring) if any("maintainers" in r.approvers for r in keyring.rules) else {}
    for rule in keyring.rules:
        files = [f for f in changed if any(matches(p, f) for p in rule.paths)]
        if not files:
            continue
        covered.update(files)
        if "maintainers" in rule.approvers:
            groups: list[tuple[str | None, list[str]]] = list(package_groups(files, maintainers_of))
        else:
            groups = [(None, files)]
        for package, group in groups:
            eligible, unresolved = eligible_persons(rule, keyring, group, maintainers_of, handles)
            excluded = sorted(a for a in authors if a in eligible) if rule.exclude_author else []
            counting = [p for p in eligible if p not in excluded]
            approved = sorted(p for p in counting if approvers.get(p) == "valid")
            stale = sorted(p for p in counting if approvers.get(p) == "stale")
            results.append(
                RuleResult(
                    paths=rule.paths,
                    required=rule.approvals,
                    files=tuple(group),
                    eligible=tuple(counting),
                    approved_by=tuple(approved),
                    stale=tuple(stale),
                    excluded_authors=tuple(excluded),
                    unresolved=tuple(unresolved),
                    package=package,
                )
            )
    uncovered = [f for f in changed if f not in covered]
    return results, uncovered
