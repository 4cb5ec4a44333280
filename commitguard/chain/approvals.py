"""Signed approvals found in the repository's notes for the commits of a package history.

An approval whose base is its head's first parent is an *audit* of that
merged commit; any other is a *review* of the range base..head and covers
every commit of it that is part of the history. Only valid approvals by a
person of the approval keyring count; the others are kept to be reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import pygit2

from commitguard.chain.history import PackageHistory
from commitguard.errors import CommitguardError
from commitguard.git.revisions import select_commits
from commitguard.keyring.model import Keyring
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerdict, ApprovalVerifier, ReviewContext

# A pull request review is followed over at most this many commits.
MAX_REVIEW_RANGE = 10_000


@dataclass(frozen=True)
class ApprovalLink:
    head: str
    base: str
    person: str
    key: str | None
    kind: str  # "audit" (of a merged commit) or "review" (of a range of commits)
    origin: str


class HistoryApprovals:
    """Signed approvals stored in the repository's notes for commits of this history."""

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, history: PackageHistory, repository: str | None = None,
                 now: datetime | None = None):
        """``repository`` is the name approvals must carry; by default it is
        derived as ``approve`` derives it, and only when there is an approval
        to check (naming a repository without a remote walks its history)."""
        from commitguard.review.check_pr import repository_name

        self.covering: dict[str, list[ApprovalLink]] = {}
        self.audits: dict[str, list[ApprovalLink]] = {}
        self.rejected: dict[str, list[ApprovalVerdict]] = {}
        self.warnings: list[str] = []
        store = GitNotesStore(repo)
        heads = [head for head in store.all_annotated() if head in history.position]
        if not heads:
            return
        name = repository_name(repo, repository)
        verifier = ApprovalVerifier(keyring)
        moment = now or datetime.now(timezone.utc)
        for head in heads:
            parent = history.first_parent(head)
            tree = str(repo[head].tree_id)
            for raw in store.collect(head):
                try:
                    base = parse_statement(parse_envelope(raw.text).payload).base
                except EnvelopeError:
                    base = parent or head
                verdict = verifier.verify(raw, ReviewContext(name, base, head, tree), moment)
                if verdict.status is not ApprovalStatus.VALID or verdict.person is None:
                    self.rejected.setdefault(head, []).append(verdict)
                    continue
                kind = "audit" if base == parent else "review"
                link = ApprovalLink(head, base, verdict.person, verdict.key, kind, raw.origin)
                if kind == "audit":
                    self.audits.setdefault(head, []).append(link)
                    self.covering.setdefault(head, []).append(link)
                    continue
                for commit_id in self._range(repo, base, head, history):
                    self.covering.setdefault(commit_id, []).append(link)

    def _range(self, repo, base: str, head: str, history: PackageHistory) -> list[str]:
        try:
            selection = select_commits(repo, [f"{base}..{head}"], max_commits=MAX_REVIEW_RANGE)
        except CommitguardError as exc:
            self.warnings.append(f"approval of {head[:12]} on base {base[:12]}: its range cannot be read ({exc})")
            return [head]
        return [c for c in selection.ids if c in history.position]

    def audited_by(self, commit_id: str) -> list[str]:
        return sorted({link.person for link in self.audits.get(commit_id, ())})
