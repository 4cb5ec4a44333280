"""A branch's history since the trust root, and which commits changed each package.

``annotate`` and ``pin`` both ask, for many packages at once, which commits
wrote each package's files and through which merge each commit reached the
branch. :class:`PackageHistory` answers from one selection of history and the
commit-to-paths index (:mod:`commitguard.git.path_index`), so the two commands
see the same history. A package's files are its directory, minus any deeper
directory that holds a package of its own; a package directory that was moved
keeps the commits made under its old name (renames are followed backwards
from the commit that moved it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pygit2

from commitguard.git.path_index import HistoryIndex
from commitguard.git.revisions import select_commits

EXPRESSION_NAMES = ("package.nix", "default.nix")
# Chained renames followed per run (a package moved this many times is unusual).
MAX_RENAME_ROUNDS = 20


def package_prefix(expression: str) -> str:
    """The files a package consists of: its directory, or the file alone where
    the expression does not own a directory (``pkgs/foo.nix``, a root ``default.nix``)."""
    p = PurePosixPath(expression)
    if p.name in EXPRESSION_NAMES and str(p.parent) not in ("", "."):
        return str(p.parent)
    return str(p)


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _old_prefix(old: str, new: str, prefix: str) -> str:
    """Where the package lived before a rename of ``old`` to ``new`` (inside ``prefix``)."""
    if new == prefix:
        return old
    relative = new[len(prefix) + 1 :]
    if old.endswith("/" + relative) and len(old) > len(relative) + 1:
        return old[: -len(relative) - 1]  # the whole directory moved
    before = PurePosixPath(old)
    if "/" not in relative and relative in EXPRESSION_NAMES and before.name in EXPRESSION_NAMES:
        if str(before.parent) not in ("", "."):
            return str(before.parent)  # default.nix -> package.nix in a new directory
    return old  # one file moved in from elsewhere


@dataclass
class Trail:
    """The commits that changed one package's files, newest first."""

    prefix: str
    commits: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (old prefix, commit that moved it)
    # why the package's history may be incomplete (never trusted then)
    incomplete: str = ""


class PackageHistory:
    """History from a tip down to the trust root, with what each commit changed.

    ``mainline`` is the tip's first-parent line; ``entry`` maps every commit
    to the mainline commit through which it reached the branch (itself for
    mainline commits, else the merge that brought it in). A mainline commit
    R's history is exactly the commits whose entry is R or older, which is
    what lets ``pin`` skip, from the tip's chains alone, every candidate
    revision an untrusted commit is part of.
    """

    def __init__(self, repo: pygit2.Repository, tip: str, trust_root: str | None, index: HistoryIndex,
                 *, jobs: int = 1, progress=None):
        self.repo = repo
        self.tip = tip
        self.trust_root = trust_root
        selection = select_commits(repo, [tip], trust_root)
        self.ids: tuple[str, ...] = selection.ids
        self.warnings: list[str] = list(selection.warnings)
        self.position = {c: i for i, c in enumerate(self.ids)}
        self.changes = index.update(repo, self.ids, jobs=jobs, progress=progress)
        self.newly_indexed = index.newly_indexed
        self.mainline = self._mainline()
        self.mainline_index = {c: i for i, c in enumerate(self.mainline)}
        self.entry = self._entries()
        self._ancestry: dict[tuple[str, str], bool] = {}

    def first_parent(self, commit_id: str) -> str | None:
        parents = self.changes[commit_id].parents if commit_id in self.changes else ()
        return parents[0] if parents else None

    def _mainline(self) -> list[str]:
        line = []
        current: str | None = self.tip
        while current is not None and current in self.position:
            line.append(current)
            current = self.first_parent(current)
        return line

    def _entries(self) -> dict[str, str]:
        entry = {c: c for c in self.mainline}
        for merge in reversed(self.mainline):  # oldest first: a commit enters with the first merge that reaches it
            stack = [p for p in self.changes[merge].parents[1:] if p in self.position and p not in entry]
            while stack:
                commit = stack.pop()
                if commit in entry:
                    continue
                entry[commit] = merge
                stack.extend(p for p in self.changes[commit].parents if p in self.position and p not in entry)
        return entry

    def entry_index(self, commit_id: str) -> int:
        """Position on the mainline (0: the tip) from which the commit is part of history."""
        return self.mainline_index[self.entry[commit_id]]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return False
        if self.position.get(ancestor, -1) <= self.position.get(descendant, len(self.ids)):
            return False  # topological order: ancestors come later
        key = (ancestor, descendant)
        if key not in self._ancestry:
            try:
                self._ancestry[key] = self.repo.descendant_of(descendant, ancestor)
            except (KeyError, ValueError, pygit2.GitError):
                self._ancestry[key] = False
        return self._ancestry[key]

    def trails(self, targets: dict[str, str]) -> dict[str, Trail]:
        """For each key's path prefix, the commits that changed it (see :class:`Trail`)."""
        owners: dict[str, list[str]] = {}
        for key, prefix in targets.items():
            owners.setdefault(prefix, []).append(key)
        found: dict[str, set[str]] = {key: set() for key in targets}
        for commit_id in self.ids:
            for path in self.changes[commit_id].paths:
                hit = _deepest(path, owners)
                if hit:
                    for key in hit:
                        found[key].add(commit_id)
        trails = {key: Trail(prefix) for key, prefix in targets.items()}
        known: set[tuple[str, str, str]] = set()
        pending = self._moves(trails, found, known)
        rounds = 0
        while pending and rounds < MAX_RENAME_ROUNDS:
            rounds += 1
            fresh = self._alias_commits(pending)
            for key, commits in fresh.items():
                found[key] |= commits
            pending = self._moves(trails, fresh, known)
        for key in pending:
            # renames left unfollowed: commits under still older names would be missing from the chain
            trails[key].incomplete = (
                f"{targets[key]} was renamed more than {MAX_RENAME_ROUNDS} times in a row; history under its "
                "older names was not read, so the chain may miss commits: nothing vouches for it")
        for key, trail in trails.items():
            trail.commits = sorted(found[key], key=self.position.__getitem__)
        return trails

    def _moves(self, trails, new_commits, known) -> dict[str, list[tuple[str, str]]]:
        """Aliases (old prefix, bound) from renames into a package among ``new_commits``."""
        pending: dict[str, list[tuple[str, str]]] = {}
        for key, commits in new_commits.items():
            trail = trails[key]
            prefixes = [trail.prefix, *(p for p, _ in trail.aliases)]
            for commit_id in commits:
                for old, new in self.changes[commit_id].renames:
                    for prefix in prefixes:
                        if under(new, prefix) and not under(old, prefix):
                            alias = (key, _old_prefix(old, new, prefix), commit_id)
                            if alias not in known:
                                known.add(alias)
                                trail.aliases.append(alias[1:])
                                pending.setdefault(key, []).append(alias[1:])
        return pending

    def _alias_commits(self, pending: dict[str, list[tuple[str, str]]]) -> dict[str, set[str]]:
        """Commits that changed an old prefix before (as ancestors of) the commit that moved it."""
        table: dict[str, list[tuple[str, str]]] = {}
        for key, aliases in pending.items():
            for prefix, bound in aliases:
                table.setdefault(prefix, []).append((key, bound))
        fresh: dict[str, set[str]] = {key: set() for key in pending}
        for commit_id in self.ids:
            for path in self.changes[commit_id].paths:
                probe = path
                while probe:
                    for key, bound in table.get(probe, ()):
                        if self.is_ancestor(commit_id, bound):
                            fresh[key].add(commit_id)
                    cut = probe.rfind("/")
                    probe = probe[:cut] if cut > 0 else ""
        return fresh

    def paths_changed_under(self, prefix: str) -> list[str]:
        return [c for c in self.ids if any(under(p, prefix) for p in self.changes[c].paths)]


def _deepest(path: str, owners: dict[str, list[str]]) -> list[str] | None:
    probe = path
    while True:
        hit = owners.get(probe)
        if hit:
            return hit
        cut = probe.rfind("/")
        if cut <= 0:
            return None
        probe = probe[:cut]
