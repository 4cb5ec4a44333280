"""``annotate``'s static reading of a revision, straight from git, kept by blob id.

``annotate`` reads every package expression of the revision it reports on.
It used to read them from the work tree when that was a clean checkout of
the revision, and otherwise write the whole revision out to a scratch
directory first: after one new commit moved the branch, that was a hundred
thousand files written at a million commits, more than the rest of the run.
Here the files are read from the revision's trees with exactly the export's
rules (regular files under safe names, symbolic links and submodules left
out, nothing over 8 MiB), so the answer is the one an export gave, for any
state of the work tree, and nothing is written.

Reading an expression statically is a pure function of its bytes, its path,
the files it reads (``readFile``, ``importJSON``...), the system and the
reader's code. Each result is kept in ``static-reads.sqlite3`` in the cache
directory under (reader digest, system, path, blob id), with the blob id of
every file it read (or that there was no file). A later run takes it only
when every one of those files is still the same blob in the revision, so a
re-run reads again only the expressions that changed. A result is kept only
when it reads back from JSON equal to what was computed, and not when it
names the scratch directory (a message about a path outside the
repository), so a cached answer is always the answer a fresh reading gives.
The cache is the user's own, as trusted as the verdict cache (SECURITY.md);
``--no-cache`` keeps nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.errors import CommitguardError
from commitguard.git.trees import TREE_MODE, TreeReader, decode_path, split_entry
from commitguard.model.sources import FetcherCall, PackageExpression

READ_CACHE_FILE = "static-reads.sqlite3"
_CACHE_VERSION = "static-reads-1"
# What export_tree wrote (chain.annotate): these modes, up to this size.
FILE_MODES = (b"100644", b"100755", b"100664")
MAX_FILE_BYTES = 8 << 20
EXPRESSION_NAMES = ("package.nix", "default.nix")
# Below this many expressions to read, a process pool costs more than it saves.
_PARALLEL_FROM = 64
_QUERY_BATCH = 900
# One row per expression blob and state of the files it read: readings of the
# same expression under different neighbours (two branches) are all kept. The
# table's name carries its layout, so an older file is a cache with nothing in it.
_TABLE = ("CREATE TABLE IF NOT EXISTS reads2 (key TEXT NOT NULL, reads TEXT NOT NULL, result TEXT NOT NULL, "
          "PRIMARY KEY (key, reads)) WITHOUT ROWID")


def _safe(name: str) -> bool:
    return name not in ("", ".", "..", ".git") and "/" not in name and "\\" not in name


class RevisionFiles:
    """A revision's files as the export wrote them, under a scratch ``root`` that stays empty.

    ``read`` is the static reader's file access (:class:`commitguard.nix.data.Data`):
    it records every file asked for with its blob id, which is what a
    cached reading is checked against.
    """

    def __init__(self, repo: pygit2.Repository, commit_id: str, root: Path):
        self.repo = repo
        self.root = os.path.realpath(root)
        self._reader = TreeReader(repo)
        self._top = repo[commit_id].tree_id.raw
        self._listings: dict[str, dict[str, tuple[bool, bytes]] | None] = {}
        self.reads: list[tuple[str, str]] = []

    def listing(self, directory: str) -> dict[str, tuple[bool, bytes]] | None:
        """Name -> (is a directory, raw id) of what the export wrote in ``directory`` ("" is the top)."""
        if directory in self._listings:
            return self._listings[directory]
        if directory == "":
            oid = self._top
        else:
            parent, _, name = directory.rpartition("/")
            above = self.listing(parent)
            found = above.get(name) if above else None
            oid = found[1] if found is not None and found[0] else None
        listing = None
        if oid is not None:
            listing = {}
            for entry in self._reader.entries(oid):
                mode, raw_name, child = split_entry(entry)
                name = decode_path(raw_name)
                if not _safe(name):
                    continue
                if mode == TREE_MODE:
                    listing[name] = (True, child)
                elif mode in FILE_MODES:
                    listing[name] = (False, child)
        self._listings[directory] = listing
        return listing

    def file_id(self, relative: str) -> str:
        """The blob id of a regular file at ``relative``, "" when there is none."""
        parent, _, name = relative.rpartition("/")
        listing = self.listing(parent)
        found = listing.get(name) if listing else None
        return found[1].hex() if found is not None and not found[0] else ""

    def blob(self, relative: str) -> bytes | None:
        """The file's bytes, None where the export wrote no file (none, a directory, over 8 MiB)."""
        oid = self.file_id(relative)
        if not oid:
            return None
        _, data = self._reader.odb.read(pygit2.Oid(hex=oid))  # packs first, as the trees
        return data if len(data) <= MAX_FILE_BYTES else None

    def read(self, real: str, limit: int) -> bytes | None:
        """Data.read_file's access: ``real`` is already known to lie below the root."""
        relative = os.path.relpath(real, self.root).replace(os.sep, "/")
        if relative == "." or relative.startswith("../"):
            self.reads.append((relative, ""))
            return None
        data = self.blob(relative)
        self.reads.append((relative, self.file_id(relative) if data is not None else ""))
        return None if data is None else data[:limit]

    def expressions(self, paths: list[str]) -> list[str]:
        """What :func:`commitguard.upstream.scan.find_expressions` finds in the export, in its order."""
        from commitguard.upstream.scan import _SKIP_DIRS, MAX_FILES

        found: list[str] = []
        for path in paths or [""]:
            clean = str(PurePosixPath(path.replace(os.sep, "/")))
            clean = "" if clean == "." else clean
            oid = self.file_id(clean) if clean else ""
            if oid and self.repo.odb.read_header(pygit2.Oid(hex=oid))[1] <= MAX_FILE_BYTES:
                found.append(clean)
                continue
            if clean and (oid or self.listing(clean) is None):
                raise CommitguardError("no such file or directory", path=os.path.join(self.root, clean), field="PATH")
            stack = [clean]
            while stack:
                directory = stack.pop()
                listing = self.listing(directory) or {}
                prefix = f"{directory}/" if directory else ""
                for name in sorted(n for n, (is_dir, _) in listing.items() if not is_dir):
                    if name in EXPRESSION_NAMES:
                        found.append(prefix + name)
                        if len(found) > MAX_FILES:
                            raise CommitguardError(f"more than {MAX_FILES} expression files", path=path or ".",
                                                   field="PATH")
                subdirs = sorted(n for n, (is_dir, _) in listing.items() if is_dir and n not in _SKIP_DIRS)
                stack.extend(prefix + n for n in reversed(subdirs))
        return found


def reader_digest(system: str) -> str:
    """What a cached reading depends on besides the files: the reader's code, its parser, the system."""
    digest = hashlib.sha256(f"{_CACHE_VERSION}\0{system}\0".encode())
    here = Path(__file__).resolve().parent.parent
    sources = sorted((here / "nix").rglob("*.py")) + [here / "model" / "sources.py", Path(__file__).resolve()]
    for source in sources:
        digest.update(str(source.relative_to(here)).encode() + b"\0" + source.read_bytes() + b"\0")
    for package in ("tree-sitter", "tree-sitter-nix"):
        try:
            digest.update(f"{package}={metadata.version(package)}\0".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package}=?\0".encode())
    return digest.hexdigest()


def _key(digest: str, relative: str, blob: str) -> str:
    return hashlib.sha256(f"{digest}\0{relative}\0{blob}".encode()).hexdigest()


def _encode(package: PackageExpression) -> str:
    return json.dumps({
        "path": package.path, "name": package.name, "version": package.version, "notes": list(package.notes),
        "attrs": package.attrs,
        "sources": [{
            "fetcher": s.fetcher, "url": s.url, "urls": list(s.urls), "owner": s.owner, "repo": s.repo, "rev": s.rev,
            "tag": s.tag, "domain": s.domain, "hash": s.hash, "resolved": s.resolved, "unresolved": list(s.unresolved),
            "args": s.args, "line": s.line, "kind": s.kind,
        } for s in package.sources],
    }, separators=(",", ":"))


def _decode(text: str) -> PackageExpression:
    data = json.loads(text)
    sources = tuple(FetcherCall(
        s["fetcher"], s["url"], tuple(s["urls"]), s["owner"], s["repo"], s["rev"], s["tag"], s["domain"], s["hash"],
        s["resolved"], tuple(s["unresolved"]), s["args"], s["line"], s["kind"],
    ) for s in data["sources"])
    return PackageExpression(data["path"], data["name"], data["version"], sources, data["attrs"], tuple(data["notes"]))


def _same(a: PackageExpression, b: PackageExpression) -> bool:
    """Equal in every field, those dataclass equality leaves out included (and types: a
    tuple that JSON made a list is not the same answer)."""
    def typed(value):
        if isinstance(value, dict):
            return ("d", tuple((k, typed(v)) for k, v in value.items()))
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, tuple(typed(v) for v in value))
        return (type(value).__name__, value)

    return a == b and typed(a.attrs) == typed(b.attrs) and all(
        x == y and typed(x.args) == typed(y.args) and typed(x.urls) == typed(y.urls) for x, y in zip(a.sources, b.sources))


class ReadCache:
    """The readings kept in the cache directory (None: kept nowhere)."""

    def __init__(self, directory: str | os.PathLike | None, system: str):
        self.digest = reader_digest(system)
        self._db = None
        if directory is None:
            return
        try:
            folder = Path(directory)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(folder / READ_CACHE_FILE, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_TABLE)
        except sqlite3.Error:
            self._drop(folder / READ_CACHE_FILE)

    def _drop(self, path: Path) -> None:
        """A file that is not this cache's database is rebuilt empty (it only saves time)."""
        if self._db is not None:
            self._db.close()
            self._db = None
        try:
            path.unlink(missing_ok=True)
            self._db = sqlite3.connect(path, timeout=30)
            self._db.execute(_TABLE)
        except (OSError, sqlite3.Error):
            self._db = None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def lookup(self, keys: list[str]) -> dict[str, list[tuple[str, str]]]:
        """Every kept (files read, result) of each key."""
        found: dict[str, list[tuple[str, str]]] = {}
        if self._db is None:
            return found
        try:
            for start in range(0, len(keys), _QUERY_BATCH):
                part = keys[start : start + _QUERY_BATCH]
                marks = ",".join("?" * len(part))
                for key, reads, result in self._db.execute(
                        f"SELECT key, reads, result FROM reads2 WHERE key IN ({marks})", part):
                    found.setdefault(key, []).append((reads, result))
        except sqlite3.Error:
            return {}
        return found

    def store(self, rows: list[tuple[str, str, str]]) -> None:
        if self._db is None or not rows:
            return
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO reads2 VALUES (?, ?, ?)", rows)
        except sqlite3.Error:
            return


def read_revision(repo: pygit2.Repository, commit_id: str, root: Path, paths: list[str], system: str,
                  jobs: int | None, cache_dir: str | None) -> Iterator[tuple[Path, tuple[str, PackageExpression]]]:
    """Each expression of the revision with what it says, as scan_sources's ``reads`` takes them.

    ``root`` is an empty scratch directory: the paths the reader reports and
    resolves are below it, as they were below an export."""
    files = RevisionFiles(repo, commit_id, root)
    found = files.expressions(paths)
    cache = ReadCache(cache_dir, system)
    try:
        keys = {rel: _key(cache.digest, rel, files.file_id(rel)) for rel in found}
        cached = cache.lookup(list(keys.values()))
        results: dict[str, PackageExpression | None] = {}
        todo = []
        for rel in found:
            for reads, result in cached.get(keys[rel], ()):
                if _still(files, reads):
                    try:
                        results[rel] = _decode(result)
                        break
                    except (ValueError, KeyError, TypeError, IndexError):
                        pass
            else:
                todo.append(rel)
        fresh = []
        for rel, package, reads in _read_all(repo, commit_id, root, todo, system, jobs, files):
            results[rel] = package
            if package is not None:
                try:
                    encoded = _encode(package)
                except (TypeError, ValueError, RecursionError):
                    continue  # a value JSON cannot hold: read again next time
                if files.root not in encoded and _same(_decode(encoded), package):
                    fresh.append((keys[rel], json.dumps(reads), encoded))
        cache.store(fresh)
    finally:
        cache.close()
    base = Path(files.root)
    for rel in found:
        package = results[rel]
        if package is not None:
            yield base / rel, (rel, package)


def _still(files: RevisionFiles, reads: str) -> bool:
    """Whether every file a cached reading read is the same blob (or still no file)."""
    try:
        return all(files.file_id(rel) == blob for rel, blob in json.loads(reads))
    except (ValueError, TypeError):
        return False


def _read_one(files: RevisionFiles, rel: str, system: str):
    from commitguard.nix.fetchers import read_package

    source = files.blob(rel)
    if source is None:
        return rel, None, []  # over 8 MiB: the export wrote no such file
    files.reads = []
    package = read_package(Path(files.root) / rel, source, system=system, root=Path(files.root), files=files)
    return rel, package, files.reads


_worker: dict = {}


def _worker_init(repo_path: str, commit_id: str, root: str, system: str) -> None:
    repo = pygit2.Repository(repo_path)
    _worker["files"] = RevisionFiles(repo, commit_id, Path(root))
    _worker["system"] = system


def _worker_run(rel: str):
    return _read_one(_worker["files"], rel, _worker["system"])


def _read_all(repo, commit_id, root, todo, system, jobs, files):
    """Each expression of ``todo`` read statically, in order; in a pool of processes when
    there are enough (reading is pure and CPU-bound, as in scan_sources)."""
    from commitguard.verify.commits import default_jobs

    workers = min(jobs or default_jobs(), len(todo))
    if workers < 2 or len(todo) < _PARALLEL_FROM:
        for rel in todo:
            yield _read_one(files, rel, system)
        return
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(processes=workers, initializer=_worker_init, initargs=(repo.path, commit_id, str(root), system)) as pool:
        yield from pool.imap(_worker_run, todo, chunksize=max(1, len(todo) // (workers * 8)))
