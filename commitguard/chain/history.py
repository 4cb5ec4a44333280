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

from array import array
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import pygit2

from commitguard.errors import RepositoryError
from commitguard.chain.history_snapshot import Columns, HistorySnapshots
from commitguard.git.path_index import HistoryIndex
from commitguard.git.revisions import HistoryWalk, commits_read_once

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

    ``mainline`` is the tip's first-parent line; every commit reached the
    branch through one mainline commit (:meth:`entry_of`: itself for
    mainline commits, else the merge that brought it in). A mainline commit
    R's history is exactly the commits whose entry is R or older, which is
    what lets ``pin`` skip, from the tip's chains alone, every candidate
    revision an untrusted commit is part of.

    Held as columns indexed by position in ``ids`` (parents as positions and
    raw ids, changed paths as numbers into one table of distinct paths), not
    as an object per commit: at a million commits objects took gigabytes.
    """

    def __init__(self, repo: pygit2.Repository, tip: str, trust_root: str | None, index: HistoryIndex,
                 *, jobs: int = 1, progress=None, snapshots: HistorySnapshots | None = None):
        self.repo = repo
        self.tip = tip
        self.trust_root = trust_root
        # What an earlier run built for this tip or an ancestor of it (see history_snapshot)
        base = snapshots.usable(tip) if snapshots is not None else None
        fresh = self._build(index, base, jobs, progress)
        if base is not None and not self._walk_order_kept(len(fresh)):
            base = None  # a full walk would interleave stored and new commits: build it as a cold run does
            fresh = self._build(index, None, jobs, progress)
        self.reused = 0 if base is None else len(base.ids)  # commits read from a snapshot (for tests)
        self.mainline = self._mainline()
        self.mainline_index = {c: i for i, c in enumerate(self.mainline)}
        self._entry = self._entries(base, len(fresh))
        self._ancestry: dict[tuple[str, str], bool] = {}
        if snapshots is not None and (base is None or fresh):
            snapshots.store(self.columns())

    def _build(self, index: HistoryIndex, base: Columns | None, jobs: int, progress) -> tuple[str, ...]:
        """Walk what ``base`` does not hold (everything without one), index it, and load the columns."""
        with commits_read_once():  # every commit is read once: libgit2 would keep them all
            walk = HistoryWalk(self.repo, [self.tip], self.trust_root)
            if base is not None:
                walk.hide_known([base.tip], len(base.ids))  # only what the stored tip does not reach
            for _ in walk:
                pass
            fresh = walk.selection.ids
            self.warnings: list[str] = list(walk.selection.warnings)
            index.ensure(self.repo, list(fresh), jobs=jobs, progress=progress)
        self.newly_indexed = index.newly_indexed
        self.ids: tuple[str, ...] = fresh if base is None else fresh + base.ids
        self.position = {c: i for i, c in enumerate(self.ids)}
        self._load(index, fresh, base)
        return fresh

    def _walk_order_kept(self, shift: int) -> bool:
        """Whether libgit2's topological walk of the whole history lists the ``shift`` new
        commits before every stored one, so that new-then-stored is the very order a cold
        run has (chains list commits in it, and ``last_change`` is the first).

        libgit2 (``sort_in_topological_order``) emits a commit once all its children
        are, from a stack onto which each emitted commit's parents are pushed as they
        become ready, last parent on top. Before any stored commit is emitted the only
        one that can become ready is the stored tip (every other has a stored child),
        so the order is kept exactly when the stored tip comes off that stack last;
        the walk is replayed on the new commits alone to see.
        """
        if shift == 0:
            return True
        starts, parent_pos = self._parent_start, self._parent_pos
        degree = [1] * (shift + 1)
        for p in parent_pos[: starts[shift]]:
            if 0 <= p <= shift:
                degree[p] += 1
        stack, emitted = [0], 0
        while stack:
            node = stack.pop()
            if node == shift:
                return emitted == shift and not stack
            emitted += 1
            for p in parent_pos[starts[node] : starts[node + 1]]:
                if 0 <= p <= shift and degree[p]:
                    degree[p] -= 1
                    if degree[p] == 1:
                        stack.append(p)
            degree[node] = 0
        return False

    def columns(self) -> Columns:
        """What a snapshot keeps of this history."""
        return Columns(self.tip, self.ids, self._parent_start, self._parent_pos, self._parent_raw,
                       self._path_start, self._path_ids, self.path_table, self._renames, self._entry,
                       len(self.mainline))

    def _load(self, index: HistoryIndex, fresh: tuple[str, ...], base: Columns | None) -> None:
        """Columns of the ``fresh`` commits from the index, then the stored ones shifted behind them."""
        position = self.position
        self._parent_start = array("I", [0])
        self._parent_pos = array("i")  # position of each parent, -1 outside the history
        self._parent_raw = bytearray()  # each parent's raw id, 20 bytes
        self._path_start = array("I", [0])
        self._path_ids = array("I")
        self.path_table: list[str] = [] if base is None else list(base.path_table)
        self._renames: dict[int, tuple[tuple[str, str], ...]] = {}
        lookup: dict[str, int] = {path: number for number, path in enumerate(self.path_table)} if fresh else {}
        at = 0
        for commit_id, parents, paths, renames in index.rows(list(fresh)):
            if commit_id != fresh[at]:
                raise RepositoryError(f"commit {fresh[at]} is missing from the history index", path=str(index.path))
            for parent in parents.split():
                self._parent_pos.append(position.get(parent, -1))
                self._parent_raw += bytes.fromhex(parent)
            self._parent_start.append(len(self._parent_pos))
            if paths:
                for path in paths.split("\0"):
                    number = lookup.get(path)
                    if number is None:
                        number = lookup[path] = len(self.path_table)
                        self.path_table.append(path)
                    self._path_ids.append(number)
            self._path_start.append(len(self._path_ids))
            if renames:
                flat = renames.split("\0")
                self._renames[at] = tuple(zip(flat[0::2], flat[1::2]))
            at += 1
        if at != len(fresh):
            raise RepositoryError(f"commit {fresh[at]} is missing from the history index", path=str(index.path))
        if base is not None and not fresh:  # the same tip: the stored columns as they are
            self._parent_start, self._parent_pos, self._parent_raw = base.parent_start, base.parent_pos, base.parent_raw
            self._path_start, self._path_ids, self._renames = base.path_start, base.path_ids, base.renames
        elif base is not None:
            shift, parents_before, paths_before = len(fresh), len(self._parent_pos), len(self._path_ids)
            self._parent_pos.extend(p + shift if p >= 0 else -1 for p in base.parent_pos)
            self._parent_start.extend(s + parents_before for s in base.parent_start[1:])
            self._parent_raw += base.parent_raw
            self._path_ids.extend(base.path_ids)
            self._path_start.extend(s + paths_before for s in base.path_start[1:])
            for i, pairs in base.renames.items():
                self._renames[i + shift] = pairs

    def parents(self, commit_id: str) -> tuple[str, ...]:
        i = self.position.get(commit_id)
        if i is None:
            return ()
        raw = self._parent_raw
        return tuple(raw[20 * k : 20 * k + 20].hex() for k in range(self._parent_start[i], self._parent_start[i + 1]))

    def paths(self, i: int) -> list[str]:
        """The paths the commit at position ``i`` changed."""
        table = self.path_table
        return [table[p] for p in self._path_ids[self._path_start[i] : self._path_start[i + 1]]]

    def renames(self, commit_id: str) -> tuple[tuple[str, str], ...]:
        return self._renames.get(self.position[commit_id], ())

    def first_parent(self, commit_id: str) -> str | None:
        i = self.position.get(commit_id)
        if i is None or self._parent_start[i] == self._parent_start[i + 1]:
            return None
        k = self._parent_start[i]
        return self._parent_raw[20 * k : 20 * k + 20].hex()

    def _mainline(self) -> list[str]:
        line = []
        current = self.position.get(self.tip, -1)
        while current >= 0:
            line.append(self.ids[current])
            k = self._parent_start[current]
            current = self._parent_pos[k] if k < self._parent_start[current + 1] else -1
        return line

    def _entries(self, base: Columns | None = None, shift: int = 0) -> array:
        """For each position, the position of the mainline commit it entered through (-1: none).

        Mainline commits are taken oldest first, so a commit enters with the
        first merge that reaches it. When the mainline runs from the new
        commits into the stored tip, the stored commits' entries are the
        stored ones (an older merge never reaches a new commit), and only the
        new mainline commits are followed."""
        starts, parent_pos = self._parent_start, self._parent_pos
        mainline = self.mainline
        joins = self.mainline_index.get(base.tip) if base is not None else None
        if base is not None and joins is not None and len(mainline) - joins == base.mainline_length:
            entry = array("i", [-1]) * shift
            if shift:
                entry.extend(e + shift if e >= 0 else -1 for e in base.entry)
            else:
                entry.extend(base.entry)
            mainline = mainline[:joins]  # the new part
        else:
            entry = array("i", [-1]) * len(self.ids)
        for commit_id in mainline:
            i = self.position[commit_id]
            entry[i] = i
        for commit_id in reversed(mainline):  # oldest first: a commit enters with the first merge that reaches it
            merge = self.position[commit_id]
            stack = [p for p in parent_pos[starts[merge] + 1 : starts[merge + 1]] if p >= 0 and entry[p] < 0]
            while stack:
                commit = stack.pop()
                if entry[commit] >= 0:
                    continue
                entry[commit] = merge
                stack.extend(p for p in parent_pos[starts[commit] : starts[commit + 1]] if p >= 0 and entry[p] < 0)
        return entry

    def entry_of(self, commit_id: str) -> str:
        """The mainline commit through which ``commit_id`` reached the branch (itself when none is known)."""
        i = self.position.get(commit_id)
        if i is None or self._entry[i] < 0:
            return commit_id
        return self.ids[self._entry[i]]

    def entry_index(self, commit_id: str) -> int:
        """Position on the mainline (0: the tip) from which the commit is part of history."""
        return self.mainline_index[self.ids[self._entry[self.position[commit_id]]]]

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
        found: dict[str, set[int]] = {key: set() for key in targets}
        hits = [_deepest(path, owners) for path in self.path_table]  # per distinct path, not per change
        starts, path_ids = self._path_start, self._path_ids
        for i in range(len(self.ids)):
            for number in path_ids[starts[i] : starts[i + 1]]:
                hit = hits[number]
                if hit:
                    for key in hit:
                        found[key].add(i)
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
        ids = self.ids
        for key, trail in trails.items():
            trail.commits = [ids[i] for i in sorted(found[key])]
        return trails

    def _moves(self, trails, new_commits, known) -> dict[str, list[tuple[str, str]]]:
        """Aliases (old prefix, bound) from renames into a package among ``new_commits``."""
        pending: dict[str, list[tuple[str, str]]] = {}
        for key, commits in new_commits.items():
            trail = trails[key]
            prefixes = [trail.prefix, *(p for p, _ in trail.aliases)]
            for i in sorted(commits):
                commit_id = self.ids[i]
                for old, new in self._renames.get(i, ()):
                    for prefix in prefixes:
                        if under(new, prefix) and not under(old, prefix):
                            alias = (key, _old_prefix(old, new, prefix), commit_id)
                            if alias not in known:
                                known.add(alias)
                                trail.aliases.append(alias[1:])
                                pending.setdefault(key, []).append(alias[1:])
        return pending

    def _alias_commits(self, pending: dict[str, list[tuple[str, str]]]) -> dict[str, set[int]]:
        """Commits that changed an old prefix before (as ancestors of) the commit that moved it."""
        table: dict[str, list[tuple[str, str]]] = {}
        for key, aliases in pending.items():
            for prefix, bound in aliases:
                table.setdefault(prefix, []).append((key, bound))
        fresh: dict[str, set[int]] = {key: set() for key in pending}
        hits: list[list[tuple[str, str]]] = []
        for path in self.path_table:  # each distinct path's aliases, once
            found = []
            probe = path
            while probe:
                found.extend(table.get(probe, ()))
                cut = probe.rfind("/")
                probe = probe[:cut] if cut > 0 else ""
            hits.append(found)
        starts, path_ids = self._path_start, self._path_ids
        for i in range(len(self.ids)):
            for number in path_ids[starts[i] : starts[i + 1]]:
                for key, bound in hits[number]:
                    if self.is_ancestor(self.ids[i], bound):
                        fresh[key].add(i)
        return fresh

    def paths_changed_under(self, prefix: str) -> list[str]:
        inside = {n for n, path in enumerate(self.path_table) if under(path, prefix)}
        if not inside:
            return []
        starts, path_ids = self._path_start, self._path_ids
        return [self.ids[i] for i in range(len(self.ids))
                if any(n in inside for n in path_ids[starts[i] : starts[i + 1]])]


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
