"""Verdicts for the commits of a package history, and whom approvals must come from.

``annotate`` and ``pin`` judge the same commits the way ``verify`` does, with
its cache: against an external keyring, or against the keyring kept in the
repository (then the keyring in effect at each commit's parents). Both also
need the trust root resolved the same way, so the chains they build agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pygit2

from commitguard.chain.history import PackageHistory
from commitguard.errors import KeyringError
from commitguard.git.revisions import commits_read_once, resolve_commit
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, Status
from commitguard.review.vouch_history import HISTORY_KINDS, vouch_report
from commitguard.verify.commits import VerifyOptions, judge_table, verify_revisions
from commitguard.verify.in_repository import (IN_REPO_KEYRING, TreeKeyrings, missing_trust_root,
                                              verify_with_repository_keyring)


def resolve_trust_root(repo: pygit2.Repository, keyring: Keyring | None, explicit: str | None) -> str | None:
    """The trust root as a commit id: ``--trust-root``, else the keyring's ``policy.trust_root``.

    A keyring kept in the repository cannot name the commit that introduces
    it, so without an explicit trust root it is refused.
    """
    trust_root = explicit or (keyring.policy.trust_root if keyring is not None else None)
    if keyring is None and not trust_root:
        raise missing_trust_root()
    return str(resolve_commit(repo, trust_root, "trust root")) if trust_root else None


class _Known:
    """Verdicts by commit id, kept as the column tables ``verify`` returns them in.

    A million CommitVerdict objects take more memory than the rest of a run;
    a table holds the same verdicts in a tenth of that and builds each one
    when it is asked for. The first verdict kept for an id wins.
    """

    def __init__(self):
        self._tables: list[Sequence[CommitVerdict]] = []
        self._where: dict[str, int] = {}  # id -> table number << 32 | index in it

    def __contains__(self, commit_id) -> bool:
        return commit_id in self._where

    def __getitem__(self, commit_id: str) -> CommitVerdict:
        where = self._where[commit_id]
        return self._tables[where >> 32][where & 0xFFFFFFFF]

    def add(self, verdicts: Sequence[CommitVerdict], ids: Sequence[str] | None = None) -> None:
        """Keep ``verdicts``; ``ids`` are their ids in order, when known without building them."""
        number = len(self._tables) << 32
        self._tables.append(verdicts)
        where = self._where
        for i, commit_id in enumerate(ids if ids is not None else (v.id for v in verdicts)):
            where.setdefault(commit_id, number | i)


class Verdicts(Mapping):
    """The verdicts of some commits (a read-only mapping by id), built when looked up."""

    def __init__(self, known: _Known, ids: list[str]):
        self._known = known
        self._ids = ids

    def __getitem__(self, commit_id: str) -> CommitVerdict:
        if commit_id not in self._known:
            raise KeyError(commit_id)
        return self._known[commit_id]

    def __iter__(self):
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class CommitJudge:
    """Verdicts for commits of one history, through ``verify`` and its cache.

    With a keyring kept in the repository every commit is judged by the
    keyring in effect at its parents, which takes the whole history down to
    the trust root; that verdict does not depend on the tip, so one run
    serves every older revision ``pin`` looks at.
    """

    def __init__(self, repo: pygit2.Repository, keyring: Keyring | None, trust_root: str | None,
                 options: VerifyOptions):
        self.repo = repo
        self.keyring = keyring
        self.trust_root = trust_root
        self.options = options
        self._known = _Known()
        self._vouched_tips: set[str] = set()
        self._whole: set[str] = set()  # tips whose whole history was judged through the frontier
        self.warnings: list[str] = []

    def _vouch_history(self, tip: str) -> None:
        """Under a policy whose kinds need the history (review, clean-merge, forge-review), judge
        the whole history down to the trust root as ``verify`` does, once per tip: a commit's
        vouch can depend on how its pull request was merged, and a merge's on its parents'."""
        self._vouched_tips.add(tip)
        options = dataclasses.replace(self.options, revs=(tip,), trust_root=self.trust_root)
        report = vouch_report(self.repo, self.keyring, verify_revisions(self.repo, self.keyring, options),
                              trust_root=self.trust_root, cache_dir=options.cache_dir, jobs=options.jobs)
        self._known.add(report.commits, getattr(report.commits, "ids", None))

    def _judge_whole(self, tip: str) -> None:
        """Judge the tip's whole history as ``verify`` does, through its verified frontier
        (:mod:`commitguard.verify.frontier`), when most of it is wanted anyway (every package
        of a repository): a re-run then loads the stored verdicts in one read and judges
        only new commits, instead of looking each of a million commits up in the cache.
        The verdicts are ``verify``'s own (signatures only, the keyring's digest), the
        same as judging the commits one by one gives."""
        self._whole.add(tip)
        options = dataclasses.replace(self.options, revs=(tip,), trust_root=self.trust_root)
        report = verify_revisions(self.repo, self.keyring, options)
        self._known.add(report.commits, getattr(report.commits, "ids", None))

    def verdicts(self, history: PackageHistory, ids) -> Verdicts:
        with commits_read_once():  # each commit is read once
            return self._verdicts(history, ids)

    def _verdicts(self, history: PackageHistory, ids) -> Verdicts:
        ids = list(dict.fromkeys(ids))
        missing = [i for i in ids if i not in self._known]
        if missing and self.keyring is not None and history.tip not in self._vouched_tips and any(
                kind in HISTORY_KINDS for kind in self.keyring.policy.accept):
            self._vouch_history(history.tip)
            missing = [i for i in ids if i not in self._known]
        if (missing and self.keyring is not None and self.options.cache_dir and history.tip not in self._whole
                and 2 * len(missing) >= len(history.ids)):
            self._judge_whole(history.tip)
            missing = [i for i in ids if i not in self._known]
        if missing and self.keyring is not None:
            # verify's column table, as verify_commit_ids would give it before making it a list of objects
            table, _ = judge_table(self.repo, self.keyring, missing, self.options)
            self._known.add(table, table.ids)
        elif missing:
            report = verify_with_repository_keyring(
                self.repo, dataclasses.replace(self.options, revs=(history.tip,), trust_root=self.trust_root)
            )
            self._known.add(report.commits, getattr(report.commits, "ids", None))
            self.warnings.extend(w for w in report.warnings if w not in self.warnings)
        for commit_id in ids:
            if commit_id not in self._known:
                raise KeyError(commit_id)
        return Verdicts(self._known, ids)

    def approval_keyring(self, history: PackageHistory) -> Keyring:
        """Whom approvals must come from: the external keyring, or the one kept in the repository.

        The tip's own keyring is taken only when every commit since the trust
        root that changed it is signed by a keyring person; otherwise someone
        untrusted may have added the very key an approval is signed with, and
        the trust root's keyring (the user's own choice) decides.
        """
        if self.keyring is not None:
            return self.keyring
        keyrings = TreeKeyrings(self.repo)
        changers = history.paths_changed_under(IN_REPO_KEYRING)
        verdicts = self.verdicts(history, changers)
        root = str(resolve_commit(self.repo, self.trust_root or history.tip, "trust root"))
        if all(verdicts[c].status is Status.TRUSTED for c in changers):
            try:
                return keyrings.load(history.tip)
            except KeyringError as exc:
                self.warnings.append(f"the keyring at {history.tip[:12]} cannot be read ({exc}): approvals are judged by the trust root's")
        else:
            self.warnings.append(
                f"{IN_REPO_KEYRING} was changed by an untrusted commit since the trust root: approvals are judged by the "
                "trust root's keyring"
            )
        return keyrings.load(root)
