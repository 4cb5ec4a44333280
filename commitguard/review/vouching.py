"""What may vouch for a commit (SPEC "Trust through review"), one small policy object per kind.

``[policy] accept`` lists the kinds a consumer accepts. Each kind here answers
one question about one commit, in the manner of
:mod:`commitguard.signatures.policy`: ``vouch(commit)`` returns a
:class:`~commitguard.model.verdicts.Vouch` (who vouched, and the sentence a
report prints) or a :class:`Refusal` with the reason it does not. :class:`AnyOf`
asks the kinds in the order the policy lists them and answers with the first
vouch; an ``AnyOf`` of no kinds is refused at construction, because "nothing
refused" must never be read as "something vouched".

The kinds this version checks:

* :class:`SignatureKind`: the commit's own signature is by a trusted keyring
  key. That decision is made once, where every signature is judged
  (:func:`commitguard.verify.commits.signature_vouch`), and read here, so
  ``verify``, ``check-pr`` and ``annotate`` cannot disagree on it.
* :class:`AuditKind`: a signed approval, stored in ``refs/notes/commitguard``,
  by an eligible keyring person names exactly this commit against its first
  parent (an audit made after the commit landed). Eligible: any keyring
  person, or, when ``[[rule]]``\\s cover the paths the commit changes, a person
  every one of those rules lets approve (a ``maintainers`` rule, for every
  package the commit touches); never a person who wrote the commit
  (:mod:`commitguard.review.authorship`), whatever ``exclude_author`` says: an
  audit is a second person's word.

``review``, ``forge-review`` (:mod:`commitguard.review.review_kinds`) and
``clean-merge`` (:mod:`commitguard.review.clean_merge`) need the shape of the
checked history; :mod:`commitguard.review.vouch_history` builds every kind a
keyring accepts and applies them to a ``verify`` report.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import pygit2

from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, CommitVerdictTable, VerifyReport, Vouch
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerifier, ReviewContext
from commitguard.review.authorship import IdentityMap, change_authors
from commitguard.review.check_pr import repository_name
from commitguard.review.eligibility import EligibilityRules


@dataclass(frozen=True)
class Refusal:
    """A kind's "no", with the reason a report (or a test) reads."""

    kind: str
    reason: str


class VouchKind(ABC):
    """One kind of ``[policy] accept``: one question about one commit."""

    name: str

    @abstractmethod
    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        """The vouch for ``commit`` (the verdict its own signature earned), or why there is none."""

    def may_vouch(self, commit_id: str) -> bool:
        """False when this kind surely refuses the commit: lets a long history skip building verdicts."""
        return True


class SignatureKind(VouchKind):
    """Its own signature is by a trusted keyring key (a forge's only under ``policy.forge = "accept"``)."""

    name = "signature"

    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        if commit.vouch is not None and commit.vouch.kind == self.name:
            return commit.vouch
        return Refusal(self.name, commit.reason)


class AuditKind(VouchKind):
    """A valid signed approval of exactly this commit against its first parent, by an eligible person.

    ``repository`` is the name approvals must carry (as ``approve`` derives
    it); ``now`` is the moment the approval keys' validity is judged at (an
    audit is checked as it stands today, like annotate's).
    """

    name = "audit"

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, repository, now: datetime | None = None):
        self.repo = repo
        self.keyring = keyring
        self._repository = repository  # the name, or a function giving it (naming may walk the history)
        self.now = now or datetime.now(timezone.utc)
        self.store = GitNotesStore(repo)
        self.verifier = ApprovalVerifier(keyring)
        # every note read once: a lookup per commit costs libgit2 a read of the whole notes tree
        self.notes = dict(self.store.each_note())
        self.annotated = set(self.notes)
        self.rules = EligibilityRules(repo, keyring)
        self.identities = IdentityMap(keyring)

    @property
    def repository(self) -> str:
        if callable(self._repository):
            self._repository = self._repository()
        return self._repository

    def may_vouch(self, commit_id: str) -> bool:
        return commit_id in self.annotated

    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        short = commit.id[:12]
        if commit.id not in self.annotated:
            return Refusal(self.name, f"no signed approval of {short} in {self.store.ref}")
        head = self.repo[commit.id]
        if not head.parent_ids:
            return Refusal(self.name, f"{short} has no parent: there is no change to audit against its first parent")
        parent = str(head.parent_ids[0])
        context = ReviewContext(self.repository, parent, commit.id, str(head.tree_id))
        eligible = self._eligible(commit, parent)
        authors = change_authors(self.repo, self.keyring, [commit], identities=self.identities).persons
        by: list[str] = []
        refusals: list[str] = []
        for raw in self.notes.get(commit.id, ()):
            # the verifier holds the approval to this commit, its tree and its first parent:
            # an approval of another commit or of a range is not an audit of this one
            verdict = self.verifier.verify(raw, context, self.now)
            if verdict.status is not ApprovalStatus.VALID or verdict.person is None:
                refusals.append(f"audit does not count: {verdict.reason}")
            elif verdict.person in authors:
                refusals.append(f"audit by {verdict.person} does not count: {verdict.person} wrote {short}")
            elif eligible is not None and verdict.person not in eligible:
                refusals.append(f"audit by {verdict.person} does not count: the [[rule]]s covering the paths {short} "
                                "changes do not let them approve")
            elif verdict.person not in by:
                by.append(verdict.person)
        if not by:
            return Refusal(self.name, "; ".join(dict.fromkeys(refusals)) or f"no signed approval of {short}")
        by.sort()
        return Vouch(self.name, tuple(by), audit_reason(commit.id, by))

    def _eligible(self, commit: CommitVerdict, parent: str) -> frozenset[str] | None:
        """Who may audit: None (any keyring person) when no rule covers a path the commit changes."""
        if not self.keyring.rules:
            return None  # no rule: the changed paths do not matter (and a whole-tree diff costs ms)
        diff = self.repo.diff(self.repo[parent].tree, self.repo[commit.id].tree)
        files = sorted({p for d in diff.deltas for p in (d.old_file.path, d.new_file.path)})
        return self.rules.for_change(parent, files).persons


def audit_reason(commit_id: str, by: Sequence[str]) -> str:
    """The sentence an audit vouch carries (``annotate``'s audited links say the same)."""
    approvals = "signed approval" if len(by) == 1 else "signed approvals"
    return f"audited by {', '.join(by)} ({approvals} of {commit_id[:12]} against its first parent)"


class AnyOf(VouchKind):
    """The first vouch of the kinds, in order; a refusal naming every kind's reason otherwise."""

    name = "any-of"

    def __init__(self, kinds: Sequence[VouchKind]):
        if not kinds:
            raise ValueError("AnyOf needs at least one kind: with none, nothing was asked")
        self.kinds = tuple(kinds)

    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        refusals = []
        for kind in self.kinds:
            answer = kind.vouch(commit)
            if isinstance(answer, Vouch):
                return answer
            refusals.append(answer)
        return Refusal(self.name, "; ".join(f"{r.kind}: {r.reason}" for r in refusals))
