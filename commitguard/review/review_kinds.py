"""``review`` and ``forge-review``: a second person approved the change, and it landed as approved.

Both kinds read an approval of a range ``base..head`` and vouch for the
commits that carry it on the branch (:mod:`commitguard.review.landing`):

* ``review``: a signed approval (``commitguard approve``, kept in
  ``refs/notes/commitguard`` on the head) by a keyring person, verified
  against the keyring like any signature;
* ``forge-review``: the forge recorded an approving review of exactly the
  head by the forge login of a keyring person (``github = ...``), read by
  ``forge-sync`` into the local forge record. A forge account is weaker than a
  key, so this kind exists only when the policy lists it.

For either, the approvers who count are keyring persons the ``[[rule]]``\\s
covering the changed paths let approve (:mod:`commitguard.review.eligibility`),
never an author of any commit of the range nor the pull request's opener
(:mod:`commitguard.review.authorship`), each person once; at least ``[policy]
reviews`` of them (or more, when a covering rule asks for more approvals).

Each kind works out, once per run, which commits it vouches for and why the
others are refused; ``vouch`` then only looks the commit up.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable
from datetime import datetime, timezone

import pygit2

from commitguard.errors import RepositoryError
from commitguard.forge.record import ForgeRecord, PullRecord, approvals_of
from commitguard.git.path_index import changed_paths
from commitguard.git.trees import TreeReader
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, Vouch
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerifier, ReviewContext
from commitguard.review.authorship import IdentityMap, change_authors
from commitguard.review.eligibility import EligibilityRules
from commitguard.review.landing import HistoryView, Landing, Landings
from commitguard.review.vouching import Refusal, VouchKind

# Approvals read at most from the notes in one run (each is a signature check).
MAX_APPROVALS = 100_000


class _RangeKind(VouchKind):
    """What both kinds share: counting approvers of one range, and recording the outcome per commit."""

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, view: HistoryView, landings: Landings,
                 verdict_of: Callable[[Iterable[str]], list[CommitVerdict]]):
        self.repo = repo
        self.keyring = keyring
        self.view = view
        self.landings = landings
        self.verdict_of = verdict_of
        self.rules = EligibilityRules(repo, keyring)
        self.identities = IdentityMap(keyring)
        self.reader = TreeReader(repo)
        self.vouches: dict[str, Vouch] = {}
        self.refusals: dict[str, list[str]] = {}

    def may_vouch(self, commit_id: str) -> bool:
        return commit_id in self.vouches or commit_id in self.refusals

    def vouch(self, commit: CommitVerdict) -> Vouch | Refusal:
        if commit.id in self.vouches:
            return self.vouches[commit.id]
        reasons = self.refusals.get(commit.id)
        return Refusal(self.name, "; ".join(dict.fromkeys(reasons)) if reasons else self._nothing())

    @abstractmethod
    def _nothing(self) -> str:
        """The reason given for a commit no approval of this kind names at all."""

    def _judge_range(self, base: str, head: str, approvers: dict[str, str], what: str,
                     landed_as: str | None = None, opener: str | None = None) -> None:
        """Vouch for what ``base..head`` landed as, when enough eligible approvers remain.

        ``approvers``: person -> how they approved (a phrase for the reason)."""
        approved = self.view.approved_range(base, head)
        if approved is None:
            return  # unreadable or too long: it vouches for nothing, and names no commit to refuse
        try:
            fork = self.repo.merge_base(base, head)
            # the changed paths matter only to [[rule]]s; without any, every keyring person is eligible
            files = sorted(changed_paths(self.reader, self.repo[fork].tree_id.raw if fork else None,
                                         self.repo[head].tree_id.raw)) if self.keyring.rules else []
        except (KeyError, ValueError, pygit2.GitError, RepositoryError):
            return
        forge_logins = [(opener, "opened the pull request")] if opener else []
        authors = change_authors(self.repo, self.keyring, self.verdict_of(approved), forge_logins,
                                 identities=self.identities).persons
        eligibility = self.rules.for_change(str(fork) if fork else base, files)
        required = max(self.keyring.policy.reviews, eligibility.required)
        counted, notes = [], []
        for person in sorted(approvers):
            if person in authors:
                notes.append(f"{person} wrote part of it")
            elif not eligibility.allows(person):
                notes.append(f"the [[rule]]s covering its paths do not let {person} approve")
            else:
                counted.append(person)
        short = head[:12]
        if len(counted) < required:
            said = f"{what} at head {short}: {len(counted)} eligible approver(s) of the {required} needed"
            self._refuse(approved, said + (f" ({'; '.join(notes)})" if notes else ""))
            return
        landing = self.landings.find(base, head, approved, landed_as)
        if not isinstance(landing, Landing):
            self._refuse(approved, f"{what} at head {short}, but {landing.reason}")
            for commit_id, why in landing.near:
                self._refuse([commit_id], f"it changes what the {what} at head {short} approves, but {why}")
            return
        by = ", ".join(approvers[p] for p in counted)
        for commit_id in landing.commits:
            self.vouches.setdefault(commit_id, Vouch(self.name, tuple(counted), f"{by} at head {short}, {landing.how}"))

    def _refuse(self, commits: Iterable[str], reason: str) -> None:
        for commit_id in commits:
            if commit_id in self.view:
                self.refusals.setdefault(commit_id, []).append(reason)


class ReviewKind(_RangeKind):
    """Signed approvals from ``refs/notes/commitguard``."""

    name = "review"

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, repository, view: HistoryView,
                 landings: Landings, verdict_of, now: datetime | None = None):
        super().__init__(repo, keyring, view, landings, verdict_of)
        self.store = GitNotesStore(repo)
        verifier = ApprovalVerifier(keyring)
        now = now or datetime.now(timezone.utc)
        ranges: dict[tuple[str, str], dict[str, str]] = {}
        read = 0
        for head, raws in self.store.each_note():
            try:
                head_tree = str(repo[head].peel(pygit2.Commit).tree_id)
            except (KeyError, ValueError, pygit2.GitError):
                continue
            for raw in raws:
                read += 1
                if read > MAX_APPROVALS:
                    break
                try:
                    stated = parse_statement(parse_envelope(raw.text).payload)
                except EnvelopeError:
                    continue
                if stated.head != head:
                    continue  # a note on one commit naming another approves nothing here
                if callable(repository):
                    repository = repository()  # named once, and only when there is an approval to check
                verdict = verifier.verify(raw, ReviewContext(repository, stated.base, head, head_tree), now)
                if verdict.status is ApprovalStatus.VALID and verdict.person is not None:
                    ranges.setdefault((stated.base, head), {})[verdict.person] = f"approved by {verdict.person}"
        for (base, head), approvers in ranges.items():
            self._judge_range(base, head, approvers, "signed approval")

    def _nothing(self) -> str:
        return f"no signed approval in {self.store.ref} covers it"


class ForgeReviewKind(_RangeKind):
    """Approving reviews the forge recorded, as kept in the local forge record."""

    name = "forge-review"

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, record: ForgeRecord | None, missing: str,
                 view: HistoryView, landings: Landings, verdict_of):
        super().__init__(repo, keyring, view, landings, verdict_of)
        self.record = record
        self.missing = missing
        if record is None:
            return
        identities = self.identities
        pulls = [p for p in record.pulls if p.merge_commit in view or p.head in view]
        landings.checks.start(p.merge_commit for p in pulls if len(view.parents.get(p.merge_commit, ())) > 1)
        for pull in pulls:
            self._pull(pull, identities)

    def _pull(self, pull: PullRecord, identities: IdentityMap) -> None:
        approvers: dict[str, str] = {}
        for review in approvals_of(pull):
            persons = identities.login(review.login)
            if len(persons) == 1:  # a login two persons claim names neither
                approvers.setdefault(persons[0], f"approved on the forge by {review.login} ({persons[0]})")
        self._judge_range(pull.base, pull.head, approvers, f"pull request #{pull.number}",
                          landed_as=pull.merge_commit, opener=pull.author)

    def _nothing(self) -> str:
        if self.record is None:
            return self.missing
        return f"no approved pull request in the forge record {self.record.path} landed it"
