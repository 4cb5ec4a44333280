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

:func:`vouch_report` applies the kinds a keyring accepts besides the signature
to a ``verify`` report.
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
from commitguard.review.authorship import change_authors
from commitguard.review.check_pr import package_maintainers, repository_name
from commitguard.review.rules import eligible_persons, handle_index, matches, package_groups


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

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, repository: str, now: datetime | None = None):
        self.repo = repo
        self.keyring = keyring
        self.repository = repository
        self.now = now or datetime.now(timezone.utc)
        self.store = GitNotesStore(repo)
        self.verifier = ApprovalVerifier(keyring)
        self.annotated = set(self.store.all_annotated())
        self._handles: dict[str, str] | None = None

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
        authors = change_authors(self.repo, self.keyring, [commit]).persons
        by: list[str] = []
        refusals: list[str] = []
        for raw in self.store.collect(commit.id):
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

    def _eligible(self, commit: CommitVerdict, parent: str) -> set[str] | None:
        """Who may audit: None (any keyring person) when no rule covers a path the commit changes."""
        diff = self.repo.diff(self.repo[parent].tree, self.repo[commit.id].tree)
        files = sorted({p for d in diff.deltas for p in (d.old_file.path, d.new_file.path)})
        covering = [(rule, [f for f in files if any(matches(p, f) for p in rule.paths)]) for rule in self.keyring.rules]
        covering = [(rule, covered) for rule, covered in covering if covered]
        if not covering:
            return None
        maintainers: dict[str, tuple[str, ...]] = {}
        if any("maintainers" in rule.approvers for rule, _ in covering):
            maintainers, _ = package_maintainers(self.repo, parent, files)  # the side before the change
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
        return allowed or set()


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


def kinds_for(repo: pygit2.Repository, keyring: Keyring, repository: str, now: datetime | None = None) -> list[VouchKind]:
    """The kinds ``keyring.policy.accept`` lists, in its order, as policy objects.

    The loader refuses kinds this version cannot check; a keyring built some
    other way that lists one is refused here too, never skipped.
    """
    kinds: list[VouchKind] = []
    for name in keyring.policy.accept:
        if name == "signature":
            kinds.append(SignatureKind())
        elif name == "audit":
            kinds.append(AuditKind(repo, keyring, repository, now))
        else:
            raise ValueError(f"policy.accept: {name!r} cannot be checked by this version of commitguard")
    return kinds


def vouch_report(repo: pygit2.Repository, keyring: Keyring, report: VerifyReport, *, repository: str | None = None,
                 now: datetime | None = None) -> VerifyReport:
    """``report`` with every commit its signature left untrusted asked of the other accepted kinds.

    A keyring that accepts signatures only returns the report as it is (no
    note is read). Audits that were found but do not count are reported as
    warnings, so a reviewer whose audit was refused learns why.
    """
    if all(kind == "signature" for kind in keyring.policy.accept):
        return report
    untrusted = report.untrusted_ids()
    if not untrusted:
        return report
    kinds = [k for k in kinds_for(repo, keyring, repository_name(repo, repository), now) if k.name != "signature"]
    judge = AnyOf(kinds)
    ids = report.commits.ids if isinstance(report.commits, CommitVerdictTable) else [c.id for c in report.commits]
    wanted = {c for c in untrusted if any(k.may_vouch(c) for k in kinds)}
    vouches: dict[str, Vouch] = {}
    warnings: list[str] = []
    for position, commit_id in enumerate(ids):
        if commit_id not in wanted:
            continue
        answer = judge.vouch(report.commits[position])
        if isinstance(answer, Vouch):
            vouches[commit_id] = answer
        else:
            warnings.append(f"commit {commit_id[:12]}: nothing the policy accepts vouches for it ({answer.reason})")
    return report.vouched(vouches, warnings)
