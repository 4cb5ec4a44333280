"""Who may vouch for a change after it landed: one answer for ``audit``, ``review`` and ``forge-review``.

``check-pr`` judges a pull request rule by rule and reports each rule's
result; a vouch for a commit already in history needs a single answer
instead: the persons every ``[[rule]]`` covering a changed path lets approve
(for a ``maintainers`` rule, per package, with the maintainers read at the
side *before* the change, since the change may rewrite its own maintainers),
and how many of them the strictest covering rule asks for. No covering rule:
any keyring person, and one approval (``[policy] reviews`` may ask for more).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from commitguard.keyring.model import Keyring
from commitguard.review.check_pr import package_maintainers
from commitguard.review.rules import eligible_persons, handle_index, matches, package_groups


@dataclass(frozen=True)
class Eligibility:
    """``persons`` None: any keyring person. ``required``: approvals the strictest covering rule asks for."""

    persons: frozenset[str] | None
    required: int = 1

    def allows(self, person: str) -> bool:
        return self.persons is None or person in self.persons


class EligibilityRules:
    """The keyring's rules applied to changed paths; the handle index is built once."""

    def __init__(self, repo: pygit2.Repository, keyring: Keyring):
        self.repo = repo
        self.keyring = keyring
        self._handles: dict[str, str] | None = None

    def for_change(self, before: str, files: list[str]) -> Eligibility:
        """Who may approve a change of ``files`` made on top of commit ``before``."""
        covering = [(rule, [f for f in files if any(matches(p, f) for p in rule.paths)]) for rule in self.keyring.rules]
        covering = [(rule, covered) for rule, covered in covering if covered]
        if not covering:
            return Eligibility(None, 1)
        maintainers: dict[str, tuple[str, ...]] = {}
        if any("maintainers" in rule.approvers for rule, _ in covering):
            maintainers, _ = package_maintainers(self.repo, before, files)
            if self._handles is None:
                self._handles = handle_index(self.keyring)
        allowed: set[str] | None = None
        for rule, covered in covering:
            # a maintainers rule is judged per package, as check-pr judges it: a maintainer
            # of one touched package has no say over another
            groups = package_groups(covered, maintainers) if "maintainers" in rule.approvers else [("", covered)]
            for _, group in groups:
                persons, _ = eligible_persons(rule, self.keyring, group, maintainers, self._handles)
                allowed = set(persons) if allowed is None else allowed & set(persons)
        return Eligibility(frozenset(allowed or ()), max(rule.approvals for rule, _ in covering))
