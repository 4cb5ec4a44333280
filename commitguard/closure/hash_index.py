"""Which files of a revision name which fixed-output hash, and which name a ``pname``: built once per tree.

nixpkgs has ~120,000 fetcher calls in ~40,000 files; reading each with the
static evaluator for every closure would take minutes. The index is textual:
every hash literal in a ``.nix`` or ``.json`` file (SRI, ``sha256:``-prefixed,
bare nix-base32 or hex in quotes), normalised to SRI, mapped to the package
expression it belongs to (the file itself; for a ``.json`` beside a
``package.nix``/``default.nix``, that expression), and every ``pname =
"..."`` literal and ``pkgs/by-name`` directory mapped to its expression. It
only says *where to look*: the join reads each candidate expression with the
static reader and accepts a match only when a fetcher call read there has
that very hash (a hash in a comment matches nothing).

Cached under the cache directory: the literals of each blob by blob id (a
new revision reads only the blobs it changed) and the whole map by tree id
(a second run at the same revision walks nothing).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.git.trees import TREE_MODE, TreeReader, walk_entries
from commitguard.nix.hashes import HashError, to_sri

INDEX_FILE = "closure-hashes.sqlite3"
INDEX_VERSION = "2"
MAX_BLOB_BYTES = 64 << 20  # hackage-packages.nix is the largest file of nixpkgs, ~30 MiB
MAX_FILES = 500_000
EXPRESSION_NAMES = ("package.nix", "default.nix")

_SRI = re.compile(rb"\b(sha256|sha512|sha1|md5)-([A-Za-z0-9+/]{22,86}={0,2})")
_PREFIXED = re.compile(rb"\b(sha256|sha512|sha1|md5):([0-9a-zA-Z+/=]{26,128})")
_BARE = re.compile(rb'"([0-9a-z]{52}|[0-9a-f]{64}|[0-9a-z]{103}|[0-9a-f]{128})"')
_PNAME = re.compile(rb'\bpname\s*=\s*"([A-Za-z0-9_.+-]{1,200})"')


def literals(data: bytes) -> tuple[set[str], set[str]]:
    """(SRI hashes, pnames) written literally in a file's bytes."""
    found: set[str] = set()
    for m in _SRI.finditer(data):
        _add(found, m.group(1).decode() + "-" + m.group(2).decode())
    for m in _PREFIXED.finditer(data):
        _add(found, m.group(1).decode() + ":" + m.group(2).decode())
    for m in _BARE.finditer(data):
        _add(found, m.group(1).decode())
    names = {m.group(1).decode() for m in _PNAME.finditer(data)}
    return found, names


def _add(found: set[str], text: str) -> None:
    try:
        found.add(to_sri(text))
    except HashError:
        pass


class HashIndex:
    """The SQLite store; ``directory=None`` keeps it in memory (``--no-cache``)."""

    def __init__(self, directory: str | Path | None):
        if directory is None:
            self._db = sqlite3.connect(":memory:", isolation_level=None)
        else:
            folder = Path(directory)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._db = sqlite3.connect(folder / INDEX_FILE, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = db.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
        if row is None or row[0] != INDEX_VERSION:
            with db:
                for table in ("blobs", "trees", "tree_hashes", "tree_names"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (INDEX_VERSION,))
        db.execute("CREATE TABLE IF NOT EXISTS blobs (oid BLOB PRIMARY KEY, hashes TEXT NOT NULL, "
                   "names TEXT NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE IF NOT EXISTS trees (tree TEXT PRIMARY KEY, files INTEGER NOT NULL, "
                   "truncated INTEGER NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS tree_hashes (tree TEXT NOT NULL, sri TEXT NOT NULL, path TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS tree_hashes_by_sri ON tree_hashes (tree, sri)")
        db.execute("CREATE TABLE IF NOT EXISTS tree_names (tree TEXT NOT NULL, pname TEXT NOT NULL, path TEXT NOT NULL)")
        db.execute("CREATE INDEX IF NOT EXISTS tree_names_by_pname ON tree_names (tree, pname)")
        self.newly_read = 0  # blobs read by the last ensure(), for reports and tests
        self.built = False
        self.truncated = False  # more than MAX_FILES files: the rest were not indexed

    def close(self) -> None:
        self._db.close()

    def ensure(self, repo: pygit2.Repository, tree_id: str) -> None:
        """Index the tree ``tree_id`` unless it already is."""
        row = self._db.execute("SELECT truncated FROM trees WHERE tree = ?", (tree_id,)).fetchone()
        if row is not None:
            self.truncated = bool(row[0])
            return
        self.built = True
        files: list[tuple[str, bytes]] = []
        expressions: set[str] = set()
        reader = TreeReader(repo)
        for prefix, name, mode, oid in walk_entries(reader, bytes.fromhex(tree_id),
                                                    enter=lambda prefix, name: name != ".git"):
            if mode == TREE_MODE or mode not in (b"100644", b"100755", b"100664"):
                continue
            if name in EXPRESSION_NAMES:
                expressions.add(prefix + name)
            if name.endswith((".nix", ".json")):
                if len(files) >= MAX_FILES:
                    self.truncated = True
                    break
                files.append((prefix + name, oid))
        hash_rows: list[tuple[str, str, str]] = []
        name_rows: list[tuple[str, str, str]] = []
        new_blobs: dict[bytes, tuple[str, str]] = {}
        db = self._db
        for path, oid in files:
            hashes, names = self._blob(repo, oid, new_blobs)
            if not hashes and not names:
                continue
            expression = _expression_of(path, expressions)
            if expression is None:
                continue
            hash_rows.extend((tree_id, sri, expression) for sri in hashes)
            name_rows.extend((tree_id, n, expression) for n in names)
        for path, _oid in files:
            p = PurePosixPath(path)
            if len(p.parts) == 5 and p.parts[:2] == ("pkgs", "by-name") and p.name == "package.nix":
                name_rows.append((tree_id, p.parts[3], path))
        db.execute("BEGIN IMMEDIATE")  # one writer: another run indexing the same tree waits, then finds it done
        try:
            db.executemany("INSERT OR IGNORE INTO blobs VALUES (?, ?, ?)",
                           [(oid, h, n) for oid, (h, n) in new_blobs.items()])
            if not db.execute("SELECT 1 FROM trees WHERE tree = ?", (tree_id,)).fetchone():
                db.executemany("INSERT INTO tree_hashes VALUES (?, ?, ?)", set(hash_rows))
                db.executemany("INSERT INTO tree_names VALUES (?, ?, ?)", set(name_rows))
                db.execute("INSERT INTO trees VALUES (?, ?, ?)", (tree_id, len(files), int(self.truncated)))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _blob(self, repo: pygit2.Repository, oid: bytes, new_blobs: dict) -> tuple[list[str], list[str]]:
        if oid in new_blobs:
            hashes_text, names_text = new_blobs[oid]
            return hashes_text.split(), names_text.split()
        row = self._db.execute("SELECT hashes, names FROM blobs WHERE oid = ?", (oid,)).fetchone()
        if row is not None:
            return row[0].split(), row[1].split()
        self.newly_read += 1
        try:
            size = repo.odb.read_header(pygit2.Oid(raw=oid))[1] if hasattr(repo.odb, "read_header") else 0
        except (KeyError, pygit2.GitError):
            size = 0
        hashes: set[str] = set()
        names: set[str] = set()
        if size <= MAX_BLOB_BYTES:
            try:
                _kind, data = repo.odb.read(pygit2.Oid(raw=oid))
            except (KeyError, pygit2.GitError):
                data = b""
            if len(data) <= MAX_BLOB_BYTES:
                hashes, names = literals(data)
        new_blobs[oid] = (" ".join(sorted(hashes)), " ".join(sorted(names)))
        return sorted(hashes), sorted(names)

    def files_with_hash(self, tree_id: str, sris) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for sri in set(sris):
            rows = self._db.execute("SELECT DISTINCT path FROM tree_hashes WHERE tree = ? AND sri = ? ORDER BY path",
                                    (tree_id, sri)).fetchall()
            if rows:
                out[sri] = [r[0] for r in rows]
        return out

    def files_with_pname(self, tree_id: str, pnames) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for pname in set(pnames):
            rows = self._db.execute("SELECT DISTINCT path FROM tree_names WHERE tree = ? AND pname = ? ORDER BY path",
                                    (tree_id, pname)).fetchall()
            if rows:
                out[pname] = [r[0] for r in rows]
        return out


def _expression_of(path: str, expressions: set[str]) -> str | None:
    """The expression a file with a hash belongs to: a ``.nix`` file is one; a
    ``.json`` file is read by the ``package.nix`` (else ``default.nix``) beside it."""
    if path.endswith(".nix"):
        return path
    parent = str(PurePosixPath(path).parent)
    prefix = "" if parent == "." else parent + "/"
    for name in EXPRESSION_NAMES:
        if prefix + name in expressions:
            return prefix + name
    return None
