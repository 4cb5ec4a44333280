"""Merge checks kept across runs, keyed by commit id.

Whether a merge commit is the clean merge of its parents depends on the
commit id alone (the id names the tree and the parents, and the merge is made
without the work tree, the index or the repository's configuration; see
:mod:`commitguard.git.merges`), never on a keyring, so a merge is checked once
and the answer kept. The libgit2 version and this checker's version are part
of the key, so a different merge algorithm never serves an old answer. Checks
that could not be made (a missing object) are not kept.

The file only saves time: one that is not a database, is damaged or holds
other tables is removed and rebuilt empty, with one warning line; one that
cannot be opened or written at all is left alone and checks are recomputed.
A row that does not read back as a check is recomputed, never trusted.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

import pygit2

from commitguard.git.merges import MergeCheck, MergeChecker

CACHE_FILE = "merges.sqlite3"
# Bump when the checker's answers change.
CHECKER_VERSION = f"merges-1/libgit2-{pygit2.LIBGIT2_VERSION}"
_TABLE = ("CREATE TABLE merges (checker TEXT NOT NULL, commit_id TEXT NOT NULL, "
          "result TEXT NOT NULL, PRIMARY KEY (checker, commit_id)) WITHOUT ROWID")
_DAMAGED = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


class MergeCache:
    """``get``/``put`` of merge checks in ``directory/merges.sqlite3``."""

    def __init__(self, directory: str | os.PathLike):
        self.path = Path(directory) / CACHE_FILE
        self._db: sqlite3.Connection | None = None
        try:
            Path(directory).mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = self._connect()
        except OSError as exc:
            _warn(f"{self.path}: cannot use the merge cache ({exc.strerror or exc}); running without it")
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)

    def get(self, commit_ids: Iterable[str]) -> dict[str, MergeCheck]:
        """The kept checks for those of ``commit_ids`` that have one."""
        wanted = list(dict.fromkeys(commit_ids))
        found: dict[str, MergeCheck] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._run(f"SELECT commit_id, result FROM merges WHERE checker = ? AND commit_id IN "
                             f"({','.join('?' * len(chunk))})", (CHECKER_VERSION, *chunk))
            for commit_id, text in rows:
                check = _decode(commit_id, text)
                if check is not None:
                    found[commit_id] = check
        return found

    def put(self, checks: Iterable[MergeCheck]) -> None:
        rows = [(CHECKER_VERSION, c.commit, _encode(c)) for c in checks]
        if rows:
            self._run("INSERT OR REPLACE INTO merges VALUES (?, ?, ?)", rows, many=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # ----------------------------------------------------------------------- sqlite

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            tables = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
            if not tables:
                db.execute(_TABLE)
            elif tables != [("table", "merges", _TABLE)]:
                raise sqlite3.DatabaseError("holds other tables than this cache's")
        except BaseException:
            db.close()
            raise
        return db

    def _run(self, sql: str, args, *, many: bool = False) -> list:
        if self._db is None:
            return []
        try:
            with self._db:
                if many:
                    self._db.executemany(sql, args)
                    return []
                return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            self._rebuild(exc)
            return []

    def _rebuild(self, exc: sqlite3.DatabaseError) -> None:
        """Remove a damaged or foreign cache file and start empty; otherwise go on without a cache."""
        self.close()
        text = " ".join(str(exc).split())
        damaged = getattr(exc, "sqlite_errorcode", None) in _DAMAGED or "other tables" in text
        if not damaged or self.path.is_symlink() or not self.path.is_file():
            _warn(f"{self.path}: merge cache unusable ({text}); running without it")
            return
        try:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self._db = self._connect()
        except (OSError, sqlite3.Error) as again:
            _warn(f"{self.path}: merge cache damaged ({text}) and cannot be rebuilt ({again}); running without it")
            return
        _warn(f"{self.path}: merge cache damaged ({text}); rebuilt empty, merges are checked again")


def check_merges(repo: pygit2.Repository, commit_ids: Iterable[str],
                 cache: MergeCache | None = None, *, jobs: int = 1) -> dict[str, MergeCheck]:
    """Each merge commit of ``commit_ids`` (full hex ids: the cache's key) checked,
    from ``cache`` where it holds the answer; new answers are put there.
    ValueError for an id that is not a merge commit. With ``jobs`` > 1 and
    many merges to check, worker processes (fork) share them."""
    ids = [str(c) for c in dict.fromkeys(commit_ids)]
    found = cache.get(ids) if cache is not None else {}
    missing = [c for c in ids if c not in found]
    results: list[tuple[MergeCheck, bool]] = []
    if jobs > 1 and len(missing) >= PARALLEL_THRESHOLD:
        ctx = multiprocessing.get_context("fork")
        chunks = [missing[i:i + CHUNK] for i in range(0, len(missing), CHUNK)]
        with ctx.Pool(processes=jobs, initializer=_worker_init, initargs=(repo.path,)) as pool:
            for chunk in pool.imap(_worker_run, chunks):
                results.extend(chunk)
    elif missing:
        checker = MergeChecker(repo)
        results = [checker.check_merge(commit_id) for commit_id in missing]
    fresh: list[MergeCheck] = []
    for check, keep in results:
        found[check.commit] = check
        if keep:
            fresh.append(check)
    if cache is not None:
        cache.put(fresh)
    return {c: found[c] for c in ids}


class MergeCheckBatch:
    """Merge checks started in worker processes (fork) while the caller does other work.

    ``start`` hands the merges the cache does not hold to the workers;
    ``get`` answers one merge, waiting for the workers only as long as that
    merge needs (a merge nobody started is checked in this process). ``close``
    waits for what is still under way and keeps every answer in the cache.
    """

    def __init__(self, repo: pygit2.Repository, cache: MergeCache | None = None, *, jobs: int = 1):
        self.repo = repo
        self.cache = cache
        self.jobs = jobs
        self.known: dict[str, MergeCheck] = {}
        self._fresh: list[MergeCheck] = []
        self._pool = None
        self._results = None
        self._under_way: set[str] = set()
        self._checker: MergeChecker | None = None

    def start(self, commit_ids: Iterable[str]) -> None:
        ids = [c for c in dict.fromkeys(str(c) for c in commit_ids) if c not in self.known and c not in self._under_way]
        if self.cache is not None and ids:
            self.known.update(self.cache.get(ids))
        missing = [c for c in ids if c not in self.known]
        if self.jobs > 1 and len(missing) >= PARALLEL_THRESHOLD and self._pool is None:
            ctx = multiprocessing.get_context("fork")
            self._pool = ctx.Pool(processes=self.jobs, initializer=_worker_init, initargs=(self.repo.path,))
            chunks = [missing[i:i + CHUNK] for i in range(0, len(missing), CHUNK)]
            self._results = self._pool.imap_unordered(_worker_run, chunks)
            self._under_way.update(missing)

    def get(self, commit_id: str) -> MergeCheck:
        while commit_id not in self.known and commit_id in self._under_way:
            self._take(next(self._results))
        if commit_id not in self.known:
            self._checker = self._checker or MergeChecker(self.repo)
            self._take([self._checker.check_merge(commit_id)])
        return self.known[commit_id]

    def close(self) -> None:
        if self._pool is not None:
            for chunk in self._results:
                self._take(chunk)
            self._pool.close()
            self._pool.join()
            self._pool = None
        if self.cache is not None:
            self.cache.put(self._fresh)
            self._fresh = []

    def _take(self, chunk: list[tuple[MergeCheck, bool]]) -> None:
        for check, keep in chunk:
            self.known[check.commit] = check
            self._under_way.discard(check.commit)
            if keep:
                self._fresh.append(check)


# Below this many merges to check, starting workers costs more than it saves.
PARALLEL_THRESHOLD = 300
CHUNK = 100
_worker: dict = {}


def _worker_init(repo_path: str) -> None:
    _worker["checker"] = MergeChecker(pygit2.Repository(repo_path))


def _worker_run(ids: list[str]) -> list[tuple[MergeCheck, bool]]:
    checker = _worker["checker"]
    return [checker.check_merge(commit_id) for commit_id in ids]


def _encode(check: MergeCheck) -> str:
    return json.dumps([check.clean, list(check.differing), check.reason], separators=(",", ":"))


def _decode(commit_id: str, text: str) -> MergeCheck | None:
    try:
        clean, differing, reason = json.loads(text)
    except (ValueError, TypeError):
        return None
    if (not isinstance(clean, bool) or not isinstance(reason, str) or not isinstance(differing, list)
            or not all(isinstance(p, str) for p in differing) or (clean and differing)):
        return None
    return MergeCheck(commit_id, clean, tuple(differing), reason)


def _warn(message: str) -> None:
    line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    print(f"commitguard: warning: {line}", file=sys.stderr)
