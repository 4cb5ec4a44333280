"""Which paths every commit changed: one pass over history, kept between runs.

``annotate`` and ``pin`` ask, for thousands of packages at once, which
commits touched each package's files. One ``git log -- PATH`` per package
would walk the whole history thousands of times; instead every commit's
changed paths are computed once and kept in SQLite in the cache directory.
A commit id names its tree and parents exactly, so what it changed is a
pure function of the id: rows never go stale, the index is shared by every
repository that holds the commit, and after new commits only those are
diffed.

What "changed" means is what authorship means: a path a commit made differ
from its parent, and for a merge a path whose content differs from *every*
parent (an evil merge, a conflict resolution). A path a merge took unchanged
from one side was written by that side's commits, which the index holds on
their own. Renames are recorded only for single-parent commits, and found
only where a commit both adds and deletes files, so the slow similarity
search runs on the few commits that may move a package.

The tree walk compares raw tree objects entry by entry and descends only
into subtrees whose ids differ; raw trees are kept for the next commit,
whose parent tree is this commit's tree, and only the stretch where two
versions of a directory differ is parsed (:mod:`commitguard.git.tree_middles`).
On a nixpkgs-sized history this is many times faster than libgit2's general
diff, which costs milliseconds per commit even when one file changed.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pygit2

from commitguard.errors import RepositoryError
from commitguard.git.tree_middles import TreeMiddles
from commitguard.git.trees import TREE_MODE, TreeReader, decode_path, split_entry

# history-2: a merge's own deletion of a name both parents hold is recorded (history-1
# missed it when the merge took other entries from each side), and a file one parent
# holds where another holds a directory is judged path by path. Rows of another version
# are dropped, and history snapshots of another version are another lineage.
INDEX_VERSION = "history-2"
INDEX_FILE = "history-index.sqlite3"
# Below this many commits to index, starting workers costs more than it saves.
PARALLEL_THRESHOLD = 2000
CHUNK = 1000
_QUERY_BATCH = 900

_RENAMES = pygit2.enums.DiffFind.FIND_RENAMES
# libgit2's own default for trees (src/libgit2/cache.c).
_LIBGIT2_TREE_CACHE_LIMIT = 4096


@contextmanager
def _trees_uncached() -> Iterator[None]:
    """Keep libgit2 from caching the raw trees the index reads itself.

    libgit2 keeps every raw object under 4 KiB it reads in the object
    database's cache (up to 256 MiB): while history is indexed that is
    every small tree of every commit, which :class:`TreeMiddles` already
    keeps as much of as is worth keeping. Process-wide, so restored
    afterwards; workers forked inside inherit it.
    """
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, 0)
    try:
        yield
    finally:
        pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.TREE, _LIBGIT2_TREE_CACHE_LIMIT)


@dataclass(frozen=True)
class CommitChanges:
    """What one commit itself changed (see the module docstring for merges)."""

    id: str
    parents: tuple[str, ...]
    paths: tuple[str, ...]
    renames: tuple[tuple[str, str], ...] = ()  # (old path, new path)


def _changed(reader: TreeMiddles | TreeReader, new: bytes | None, olds: list[bytes | None], prefix: bytes,
             out: list) -> None:
    """Append (path, status) for paths under ``prefix`` whose entry in ``new``
    differs from their entry in every tree of ``olds``; status is ``A`` (no
    parent has it), ``D`` (gone from ``new``) or ``M``.

    Each parent is compared through ``reader.middles``: the entries ``new``
    and that parent do not share at their ends (all of them, from a
    :class:`TreeReader`). An entry outside a middle is byte for byte in both,
    so it differs from that parent in neither direction.
    """
    pairs = [reader.middles(new, old) for old in olds]
    differing = None
    for mine, theirs in pairs:
        differing = mine - theirs if differing is None else differing & (mine - theirs)
    removed = [theirs - mine for mine, theirs in pairs]
    if not differing and not any(removed):
        return
    by_name = []
    for entries in removed:
        table = {}
        for entry in entries:
            mode, name, oid = split_entry(entry)
            table[name] = (mode, oid)
        by_name.append(table)
    seen: set[bytes] = set()
    for entry in differing:
        mode, name, oid = split_entry(entry)
        seen.add(name)
        path = prefix + name
        olds_here = [table.get(name) for table in by_name]
        old_subtrees = [o[1] if o is not None and o[0] == TREE_MODE else None for o in olds_here]
        old_files = any(o is not None and o[0] != TREE_MODE for o in olds_here)
        if mode == TREE_MODE:
            _changed(reader, oid, old_subtrees, path + b"/", out)
            if all(o is not None and o[0] != TREE_MODE for o in olds_here):
                out.append((path, "D"))  # a file became a directory (in every parent)
        else:
            out.append((path, "M" if old_files else "A"))
            if any(s is not None for s in old_subtrees):
                _changed(reader, None, old_subtrees, path + b"/", out)  # a directory became a file
    # Names gone from ``new``: changed only if every parent had them.
    gone = {name for table in by_name for name in table if name not in seen}
    if gone and len(by_name) > 1:
        # A merge may keep a name unchanged from one parent while another parent differs.
        # A name is in ``new`` exactly when it is in some parent's middle of ``new``.
        gone -= {split_entry(entry)[1] for mine, _ in pairs for entry in mine}
    for name in gone:
        olds_here = [table.get(name) for table in by_name]
        if any(o is None for o in olds_here):
            continue  # some parent lacks it too: the merge took that side
        path = prefix + name
        subtrees = [o[1] if o[0] == TREE_MODE else None for o in olds_here]
        if any(s is not None for s in subtrees):
            _changed(reader, None, subtrees, path + b"/", out)
        if all(o[0] != TREE_MODE for o in olds_here):
            out.append((path, "D"))  # a file gone (a parent that had a directory there has no such file)


def changed_paths(reader: TreeMiddles | TreeReader, old_tree: bytes | None, new_tree: bytes | None) -> frozenset[str]:
    """Every path whose entry differs between two trees (raw ids; None is the empty tree)."""
    raw: list[tuple[bytes, str]] = []
    if new_tree is None:
        _changed(reader, None, [old_tree], b"", raw)
    else:
        _changed(reader, new_tree, [old_tree], b"", raw)
    return frozenset(decode_path(p) for p, _ in raw)


def commit_changes(repo: pygit2.Repository, reader: TreeMiddles | TreeReader, commit_id: str) -> CommitChanges:
    try:
        commit = repo[commit_id]
    except (KeyError, ValueError):
        raise RepositoryError(
            f"commit {commit_id} is missing from the object database (shallow or partial clone?)", path=repo.path
        ) from None
    parent_ids = [str(p) for p in commit.parent_ids]
    tree = commit.tree_id.raw
    if parent_ids:
        try:
            olds: list[bytes | None] = [repo[p].tree_id.raw for p in parent_ids]
        except (KeyError, ValueError):
            raise RepositoryError(
                f"a parent of {commit_id} is missing from the object database (shallow clone?)", path=repo.path
            ) from None
    else:
        olds = [None]
    raw: list[tuple[bytes, str]] = []
    _changed(reader, tree, olds, b"", raw)
    paths = sorted({decode_path(p) for p, _ in raw})
    renames: tuple[tuple[str, str], ...] = ()
    statuses = {status for _, status in raw}
    if len(parent_ids) == 1 and "A" in statuses and "D" in statuses:
        renames = _renames(repo, olds[0], tree)
    return CommitChanges(commit_id, tuple(parent_ids), tuple(paths), renames)


def _renames(repo: pygit2.Repository, old_tree: bytes | None, new_tree: bytes) -> tuple[tuple[str, str], ...]:
    """Rename pairs, asked of libgit2 only for commits that both add and delete files."""
    old_root = repo[pygit2.Oid(raw=old_tree)] if old_tree else None
    new_root = repo[pygit2.Oid(raw=new_tree)]
    diff = repo.diff(old_root, new_root)
    diff.find_similar(flags=_RENAMES)
    return tuple(
        (d.old_file.path, d.new_file.path)
        for d in diff.deltas
        if d.status == pygit2.enums.DeltaStatus.RENAMED and d.old_file.path != d.new_file.path
    )


class HistoryIndex:
    """The SQLite store of :class:`CommitChanges`; ``directory=None`` keeps it in memory."""

    def __init__(self, directory: str | os.PathLike | None):
        if directory is None:
            self.path = None
            self._db = sqlite3.connect(":memory:")
        else:
            folder = Path(directory)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.path = folder / INDEX_FILE
            self._db = sqlite3.connect(self.path, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None or row[0] != INDEX_VERSION:
            with self._db:
                self._db.execute("DROP TABLE IF EXISTS commits")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (INDEX_VERSION,))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS commits (id TEXT PRIMARY KEY, parents TEXT NOT NULL, "
            "paths TEXT NOT NULL, renames TEXT NOT NULL) WITHOUT ROWID"
        )
        self.newly_indexed = 0  # commits diffed by the last update(), for reports and tests

    def close(self) -> None:
        self._db.close()

    def load(self, ids: Iterable[str]) -> dict[str, CommitChanges]:
        return {row[0]: _decode(row) for row in self.rows(list(ids))}

    def rows(self, ids: list[str]) -> Iterator[tuple[str, str, str, str]]:
        """Raw rows (id, parents, paths, renames) of the indexed commits among
        ``ids``, in the order of ``ids``: read a batch at a time, so a million
        commits never sit in memory as objects."""
        for start in range(0, len(ids), _QUERY_BATCH):
            part = ids[start : start + _QUERY_BATCH]
            marks = ",".join("?" * len(part))
            found = {row[0]: row for row in
                     self._db.execute(f"SELECT id, parents, paths, renames FROM commits WHERE id IN ({marks})", part)}
            for commit_id in part:
                row = found.get(commit_id)
                if row is not None:
                    yield row

    def missing(self, ids: list[str]) -> list[str]:
        """The commits of ``ids`` not indexed yet, in the order of ``ids``."""
        todo = []
        for start in range(0, len(ids), _QUERY_BATCH):
            part = ids[start : start + _QUERY_BATCH]
            marks = ",".join("?" * len(part))
            known = {row[0] for row in self._db.execute(f"SELECT id FROM commits WHERE id IN ({marks})", part)}
            todo.extend(i for i in part if i not in known)
        return todo

    def update(
        self,
        repo: pygit2.Repository,
        ids: Iterable[str],
        *,
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[str, CommitChanges]:
        """The changes of every commit in ``ids``, diffing only those not yet indexed."""
        ids = list(ids)
        self.ensure(repo, ids, jobs=jobs, progress=progress)
        return self.load(ids)

    def ensure(
        self,
        repo: pygit2.Repository,
        ids: list[str],
        *,
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Index every commit of ``ids`` not indexed yet; what is diffed is
        stored as it comes and not kept (read it back with :meth:`rows`)."""
        todo = self.missing(ids)
        # Oldest first: each commit's parent tree is then the tree just parsed.
        todo.reverse()
        self.newly_indexed = len(todo)
        if todo:
            with _trees_uncached():
                self._index(repo, todo, jobs, progress)

    def _index(self, repo: pygit2.Repository, todo: list[str], jobs: int,
               progress: Callable[[int, int], None] | None) -> None:
        done = 0
        if jobs > 1 and len(todo) >= PARALLEL_THRESHOLD and "fork" in multiprocessing.get_all_start_methods():
            chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(processes=jobs, initializer=_worker_init, initargs=(repo.path,)) as pool:
                for part in pool.imap_unordered(_worker_run, chunks):
                    self._store(part)
                    done += len(part)
                    if progress:
                        progress(done, len(todo))
        else:
            reader = TreeMiddles(repo)
            for start in range(0, len(todo), CHUNK):
                part = [commit_changes(repo, reader, i) for i in todo[start : start + CHUNK]]
                self._store(part)
                done += len(part)
                if progress:
                    progress(done, len(todo))

    def _store(self, changes: list[CommitChanges]) -> None:
        rows = [
            (c.id, " ".join(c.parents), "\0".join(c.paths), "\0".join(p for pair in c.renames for p in pair))
            for c in changes
        ]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO commits VALUES (?, ?, ?, ?)", rows)


def _decode(row) -> CommitChanges:
    commit_id, parents, paths, renames = row
    flat = renames.split("\0") if renames else []
    return CommitChanges(
        commit_id,
        tuple(parents.split()) if parents else (),
        tuple(paths.split("\0")) if paths else (),
        tuple(zip(flat[0::2], flat[1::2])),
    )


_worker: dict = {}


def _worker_init(repo_path: str) -> None:
    repo = pygit2.Repository(repo_path)
    _worker["repo"] = repo
    _worker["reader"] = TreeMiddles(repo)


def _worker_run(ids: list[str]) -> list[CommitChanges]:
    return [commit_changes(_worker["repo"], _worker["reader"], i) for i in ids]
