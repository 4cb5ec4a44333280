"""How an approved change reached the branch, and whether it reached it unchanged.

An approval names a range ``base..head``; what a consumer runs is the branch.
``review`` and ``forge-review`` (SPEC, "Trust through review") vouch only for
what reached the branch exactly as approved:

* **merged**: a merge commit in the checked history has ``head`` as a parent
  and its tree is the clean merge of its parents (it adds nothing of its
  own); the approved commits themselves are in the history;
* **fast-forward**: ``head`` lies on the branch's first-parent line, so the
  approved commits are the branch's own;
* **squashed**: one commit whose change equals ``base..head`` replayed on the
  commit it landed on (its parent);
* **rebased**: as many commits as were approved, each equal to the approved
  commit's own change replayed on the landed commit before it.

A head that is in the history only below commits pushed after the approval,
or only below a merge that adds changes of its own, did not reach the branch
unchanged, and nothing of it is vouched for. "Replayed" and "clean merge" are
:mod:`commitguard.git.merges`' checks (libgit2's merge, in process).

To find a squash or a rebase without the forge's word, the commits nobody
has vouched for yet are indexed by the set of paths they change; an approved
change is looked up by its own set, and only those candidates are merged.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pygit2

from commitguard.errors import RepositoryError
from commitguard.git.merge_cache import MergeCache, MergeCheckBatch
from commitguard.git.merges import MergeCheck, MergeChecker
from commitguard.git.path_index import changed_paths
from commitguard.git.trees import TreeReader

# Commits of one approved range read at most; a longer range is not vouched for.
MAX_APPROVED_COMMITS = 10_000


@dataclass(frozen=True)
class Landing:
    """The commits in the history that carry the approved change, and how they got there."""

    commits: tuple[str, ...]
    how: str


@dataclass(frozen=True)
class NotLanded:
    reason: str
    # commits that change the same paths yet are not the approved change replayed: (commit, why)
    near: tuple[tuple[str, str], ...] = ()


class HistoryView:
    """The checked commits (``ids``, newest first) with what vouching asks of their shape."""

    def __init__(self, repo: pygit2.Repository, ids: Iterable[str], trust_root: str | None = None):
        self.repo = repo
        self.ids = list(ids)
        self.position = {commit_id: i for i, commit_id in enumerate(self.ids)}
        self.parents: dict[str, tuple[str, ...]] = {}
        self.merge_children: dict[str, list[str]] = {}
        has_child: set[str] = set()
        for commit_id in self.ids:
            parents = tuple(str(p) for p in repo[commit_id].parent_ids)
            self.parents[commit_id] = parents
            has_child.update(parents)
            if len(parents) > 1:
                for parent in parents:
                    self.merge_children.setdefault(parent, []).append(commit_id)
        self.first_parent_line: set[str] = set()
        for tip in (c for c in self.ids if c not in has_child):
            current: str | None = tip
            while current is not None and current in self.position and current not in self.first_parent_line:
                self.first_parent_line.add(current)
                parents = self.parents[current]
                current = parents[0] if parents else None
        self.root: str | None = None
        if trust_root:
            try:
                self.root = str(repo.revparse_single(trust_root).peel(pygit2.Commit).id)
            except (KeyError, ValueError, pygit2.GitError):
                self.root = None  # the walk already refused a bad root; here it only grants nothing
        self._behind_root: dict[str, bool] = {}

    def __contains__(self, commit_id: str) -> bool:
        return commit_id in self.position

    def behind_root(self, commit_id: str) -> bool:
        """Outside the selection yet accepted as a starting point: the trust root or one of its ancestors."""
        if self.root is None:
            return False
        if commit_id not in self._behind_root:
            try:
                answer = commit_id == self.root or self.repo.descendant_of(self.root, commit_id)
            except (KeyError, ValueError, pygit2.GitError):
                answer = False
            self._behind_root[commit_id] = answer
        return self._behind_root[commit_id]

    def approved_range(self, base: str, head: str) -> list[str] | None:
        """The commits of ``base..head``, oldest first; None when the range cannot be read or is too long."""
        chain = [head]
        while chain[-1] in self.position and len(self.parents[chain[-1]]) == 1 and len(chain) <= 64:
            below = self.parents[chain[-1]][0]
            if below == base:
                return chain[::-1]  # the usual pull request: single-parent commits right on top of base
            chain.append(below)
        try:
            walker = self.repo.walk(head, pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.REVERSE)
            walker.hide(base)
            commits = []
            for commit in walker:
                commits.append(str(commit.id))
                if len(commits) > MAX_APPROVED_COMMITS:
                    return None
            return commits
        except (KeyError, ValueError, pygit2.GitError):
            return None


class MergeChecks:
    """Merge checks made once per run, kept across runs in the verify cache directory.

    ``start`` sets the workers on every merge a kind will ask about, so they
    run while this process verifies approvals."""

    def __init__(self, repo: pygit2.Repository, cache_dir: str | os.PathLike | None = None, jobs: int = 1):
        self.repo = repo
        self.batch = MergeCheckBatch(repo, MergeCache(cache_dir) if cache_dir else None, jobs=jobs)
        self._checker: MergeChecker | None = None

    @property
    def known(self) -> dict[str, MergeCheck]:
        return self.batch.known

    def start(self, merge_ids: Iterable[str]) -> None:
        self.batch.start(merge_ids)

    def merge(self, merge_id: str) -> MergeCheck:
        return self.batch.get(merge_id)

    def replay(self, base: str, head: str, landed: str, onto: str) -> MergeCheck:
        """Not cached: keyed by four commits, and cheap for the squashes it is asked about."""
        self._checker = self._checker or MergeChecker(self.repo)
        return self._checker.check_replay(base, head, landed, onto=onto)[0]

    def close(self) -> None:
        self.batch.close()
        if self.batch.cache is not None:
            self.batch.cache.close()


class Landings:
    """Where approved ranges landed in one checked history."""

    def __init__(self, view: HistoryView, checks: MergeChecks, candidates: Callable[[], Iterable[str]]):
        self.view = view
        self.checks = checks
        self._candidates = candidates
        self._by_paths: dict[frozenset[str], list[str]] | None = None
        self._reader = TreeReader(view.repo)

    def find(self, base: str, head: str, approved: list[str], landed_as: str | None = None) -> Landing | NotLanded:
        """How ``base..head`` (``approved``, oldest first) reached the branch; ``landed_as`` is the
        forge's word for the commit it landed as (a merge, a squash or a rebase's last commit)."""
        view, short = self.view, head[:12]
        if landed_as is not None:
            return self._landed_as(base, head, approved, landed_as)
        if head in view:
            merges = view.merge_children.get(head, [])
            for merge in merges:
                if self.checks.merge(merge).clean:
                    return Landing(self._in_view(approved), f"merged by {merge[:12]} (clean merge)")
            if head in view.first_parent_line:
                return Landing(self._in_view(approved), "landed on the branch as is (fast-forward)")
            if merges:
                check = self.checks.merge(merges[0])
                return NotLanded(f"head {short} was merged by {merges[0][:12]}, which is not the clean merge of its "
                                 f"parents ({check.reason})")
            return NotLanded(f"head {short} is in the history only below later commits: it was not merged as "
                             "approved (a push after the approval?)")
        return self._search(base, head, approved)

    # ----------------------------------------------------------------------- the forge's word

    def _landed_as(self, base: str, head: str, approved: list[str], landed: str) -> Landing | NotLanded:
        view = self.view
        if landed not in view:
            return NotLanded(f"it landed as {landed[:12]}, which is not in the checked history")
        parents = view.parents[landed]
        if len(parents) > 1:
            if head not in parents:
                return NotLanded(f"merge commit {landed[:12]} does not merge head {head[:12]}")
            check = self.checks.merge(landed)
            if check.clean:
                return Landing(self._in_view(approved), f"merged by {landed[:12]} (clean merge)")
            return NotLanded(f"merge commit {landed[:12]} is not the clean merge of its parents ({check.reason})")
        if landed == head:
            if head in view.first_parent_line:
                return Landing(self._in_view(approved), "landed on the branch as is (fast-forward)")
            return NotLanded(f"head {head[:12]} is in the history but not on the branch's first-parent line")
        found = self._replayed(base, head, approved, landed)
        return found or NotLanded(f"{landed[:12]} is not the approved change replayed on its parent "
                                  "(squash) nor the approved commits replayed one by one (rebase)")

    # ----------------------------------------------------------------------- squash and rebase

    def _search(self, base: str, head: str, approved: list[str]) -> Landing | NotLanded:
        index = self._index()
        repo = self.view.repo
        keys = []
        try:
            fork = repo.merge_base(base, head)
            keys.append(changed_paths(self._reader, repo[fork].tree_id.raw if fork else None, repo[head].tree_id.raw))
            if len(approved) > 1:
                last = repo[approved[-1]]
                if len(last.parent_ids) == 1:
                    keys.append(changed_paths(self._reader, repo[last.parent_ids[0]].tree_id.raw, last.tree_id.raw))
        except (KeyError, ValueError, pygit2.GitError, RepositoryError):
            return NotLanded(f"head {head[:12]} or base {base[:12]} cannot be read")
        near: list[tuple[str, str]] = []
        for key in dict.fromkeys(keys):
            for landed in index.get(key, ()):
                found = self._replayed(base, head, approved, landed)
                if found is not None:
                    return found
                near.append((landed, self._squash_difference(base, head, landed)))
        return NotLanded(f"head {head[:12]} is not in the checked history, and no commit there is the approved change "
                         "replayed (squash or rebase)", tuple(near))

    def _squash_difference(self, base: str, head: str, landed: str) -> str:
        """Why ``landed``, which changes the same paths, is not the approved change squashed."""
        repo = self.view.repo
        try:
            fork = repo.merge_base(base, head)
        except (KeyError, ValueError, pygit2.GitError):
            fork = None
        if fork is None:
            return f"{base[:12]} and {head[:12]} share no history"
        return self.checks.replay(str(fork), head, landed, self.view.parents[landed][0]).reason

    def _replayed(self, base: str, head: str, approved: list[str], landed: str) -> Landing | None:
        """``landed`` as the squash of ``approved``, or as the last of their rebase; None when neither."""
        view, repo = self.view, self.view.repo
        parents = view.parents.get(landed, ())
        if len(parents) != 1:
            return None
        # a rebase first: its last commit alone may also equal the whole change replayed on the
        # commit before it, and taken as a squash it would leave the others unvouched
        rebased = self._rebased(approved, landed) if len(approved) > 1 else None
        if rebased is not None:
            return rebased
        try:
            fork = repo.merge_base(base, head)
        except (KeyError, ValueError, pygit2.GitError):
            fork = None
        if fork is not None:
            check = self.checks.replay(str(fork), head, landed, parents[0])
            if check.clean:
                return Landing((landed,), f"squashed into {landed[:12]}, which is the approved change replayed on "
                                          f"{parents[0][:12]}")
        return None

    def _rebased(self, approved: list[str], landed: str) -> Landing | None:
        """n landed commits ending at ``landed``, each the approved commit's own change replayed on the one before."""
        view, repo = self.view, self.view.repo
        landed_chain = [landed]
        while len(landed_chain) < len(approved):
            below = view.parents.get(landed_chain[-1], ())
            if len(below) != 1 or below[0] not in view or len(view.parents[below[0]]) != 1:
                return None
            landed_chain.append(below[0])
        landed_chain.reverse()
        onto = view.parents[landed_chain[0]][0]
        for approved_id, landed_id in zip(approved, landed_chain):
            own = repo[approved_id].parent_ids
            if len(own) != 1:
                return None
            if not self.checks.replay(str(own[0]), approved_id, landed_id, onto).clean:
                return None
            onto = landed_id
        return Landing(tuple(landed_chain), f"rebased as {landed_chain[0][:12]}..{landed_chain[-1][:12]}, each commit the "
                                            "approved one replayed")

    def _index(self) -> dict[frozenset[str], list[str]]:
        if self._by_paths is None:
            repo, self._by_paths = self.view.repo, {}
            for commit_id in self._candidates():
                parents = self.view.parents.get(commit_id, ())
                if len(parents) != 1:
                    continue
                try:
                    key = changed_paths(self._reader, repo[parents[0]].tree_id.raw, repo[commit_id].tree_id.raw)
                except (KeyError, ValueError, pygit2.GitError, RepositoryError):
                    continue
                self._by_paths.setdefault(key, []).append(commit_id)
        return self._by_paths

    def _in_view(self, approved: list[str]) -> tuple[str, ...]:
        return tuple(c for c in approved if c in self.view)
