"""Snapshots of :class:`~commitguard.chain.history.PackageHistory`'s columns, so a
re-run reads what it already knew instead of walking and indexing history again.

Which commits a tip reaches down to a trust root, what each of them changed
(the commit-to-paths index, :mod:`commitguard.git.path_index`) and through
which first-parent commit each reached the branch are a pure function of the
tip's id, the trust root and the repository's objects. A snapshot stores
exactly that, as :class:`PackageHistory` holds it in memory (columns of
positions and path numbers), keyed by the tip it was built for. A later run
with the same tip reads one file instead of walking history, reading a row
per commit from SQLite and numbering every path: at a million commits that
was most of a warm ``annotate``. With a descendant tip it walks only the
commits the stored tip does not reach (hidden from libgit2's walk, as the
verified frontier does, :mod:`commitguard.verify.frontier`), indexes those,
and puts them before the stored ones: no new commit is an ancestor of the
stored tip, so new-then-stored is still children before parents.

A snapshot never vouches for anything: it holds no verdict, only which
commits there are and which paths they changed; every verdict still comes
from ``verify`` (and its own cache). It is as trusted as the history index
it summarises (the cache directory is the user's own, SECURITY.md), and used
only under the same repository, trust root, shallow boundary and layout, only
when its tip is the requested tip or one of its ancestors (a force-push, or
another branch, finds none and the history is built afresh, through the
index). A file that is damaged, truncated or inconsistent is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

import pygit2

from commitguard.cache_files import lineage_files, prune_lineages, touch, write_whole
from commitguard.git.path_index import INDEX_VERSION

HISTORY_DIR = "history"
_MAGIC = b"commitguard-history 1\n"
_KEEP = 2  # snapshots kept per lineage: about 90 bytes a commit, so some 200 MB at a million commits
_HEX_DIGITS = b"0123456789abcdef"


@dataclass
class Columns:
    """What :class:`PackageHistory` builds from the walk and the index (see its docstring).

    ``entry`` is the position of the mainline commit each commit reached the
    branch through (-1: none); ``mainline_length`` how many of the tip's
    first-parent line are in the history.
    """

    tip: str
    ids: tuple[str, ...]
    parent_start: array  # "I", n + 1
    parent_pos: array  # "i", -1 outside the history
    parent_raw: bytes | bytearray  # 20 bytes a parent (a SHA-256 repository: 32)
    path_start: array  # "I", n + 1
    path_ids: array  # "I"
    path_table: list[str]
    renames: dict[int, tuple[tuple[str, str], ...]]
    entry: array  # "i", n
    mainline_length: int


class HistorySnapshots:
    """The stored snapshots of one lineage: repository, trust root, shallow boundary, index layout."""

    def __init__(self, cache_dir: str | os.PathLike, repo: pygit2.Repository, trust_root: str | None) -> None:
        self.directory = Path(cache_dir) / HISTORY_DIR
        self._repo = repo
        # the index's layout too: what "changed" means is its definition (git.path_index)
        identity = [_MAGIC.decode().strip(), INDEX_VERSION, os.path.realpath(repo.path), trust_root,
                    _shallow_boundary(repo)]
        self.lineage = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]
        self.ignored: list[str] = []  # why stored snapshots were not used (for tests and debugging)

    def usable(self, tip: str) -> Columns | None:
        """The stored history of ``tip`` or of its nearest stored ancestor, or None."""
        candidates = []
        for path in self._files():
            stored_tip = _peek_tip(path, self.lineage)
            if stored_tip is None:
                self.ignored.append(f"{path.name}: not a snapshot of this lineage")
            elif self._reaches(tip, stored_tip):
                candidates.append(path)
        for path in candidates:  # newest first; a damaged one gives way to the next
            columns = _read(path, self.lineage)
            if columns is not None:
                touch(path)  # in use: the last to be evicted, its lineage too
                return columns
            self.ignored.append(f"{path.name}: damaged")
        return None

    def store(self, columns: Columns) -> None:
        """Keep ``columns`` as the history of its tip; a cache that cannot be written is skipped."""
        name = f"{self.lineage}-{columns.tip}.bin"
        try:
            write_whole(self.directory, name, _encode(self.lineage, columns))
            for old in self._files()[_KEEP:]:
                old.unlink(missing_ok=True)
            prune_lineages(self.directory, self.lineage)
        except OSError:
            return  # the snapshot only saves time

    def _files(self) -> list[Path]:
        """This lineage's snapshot files, newest first."""
        return lineage_files(self.directory, self.lineage)

    def _reaches(self, tip: str, old: str) -> bool:
        if old == tip:
            return True
        try:
            return self._repo.descendant_of(pygit2.Oid(hex=tip), pygit2.Oid(hex=old))
        except (KeyError, ValueError, pygit2.GitError):
            return False


def _encode(lineage: str, c: Columns):
    n = len(c.ids)
    width = len(c.ids[0]) if n else len(c.tip)
    renames = json.dumps([[pos, [list(pair) for pair in pairs]] for pos, pairs in sorted(c.renames.items())])
    parts = [
        "".join(c.ids).encode("ascii"),
        c.parent_start.tobytes(),
        c.parent_pos.tobytes(),
        bytes(c.parent_raw),
        c.path_start.tobytes(),
        c.path_ids.tobytes(),
        "\0".join(c.path_table).encode("utf-8"),
        renames.encode("utf-8"),
        c.entry.tobytes(),
    ]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    header = {
        "lineage": lineage,
        "tip": c.tip,
        "count": n,
        "id_length": width,
        "byteorder": sys.byteorder,
        "sizes": [len(p) for p in parts],
        "paths": len(c.path_table),
        "mainline_length": c.mainline_length,
        "sha256": digest.hexdigest(),
    }
    return [_MAGIC, json.dumps(header, separators=(",", ":")).encode(), b"\n", *parts]


def _header(data: bytes, lineage: str) -> tuple[dict, int] | None:
    if not data.startswith(_MAGIC):
        return None
    end = data.find(b"\n", len(_MAGIC))
    if end < 0:
        return None
    header = json.loads(data[len(_MAGIC) : end])
    if not isinstance(header, dict) or header.get("lineage") != lineage:
        return None
    return header, end + 1


def _peek_tip(path: Path, lineage: str) -> str | None:
    """The tip a snapshot file is for, from its header alone (the body is read only when it is used)."""
    try:
        with open(path, "rb") as handle:
            found = _header(handle.read(64 * 1024), lineage)
        if found is None:
            return None
        tip = found[0].get("tip")
        return tip if isinstance(tip, str) and len(tip) in (40, 64) and not tip.encode().translate(None, _HEX_DIGITS) else None
    except (OSError, ValueError):
        return None


def _read(path: Path, lineage: str) -> Columns | None:
    """The snapshot in ``path``, or None for anything but an intact, consistent one of this lineage."""
    try:
        data = path.read_bytes()
        found = _header(data, lineage)
        if found is None:
            return None
        header, start = found
        n, width, sizes = header["count"], header["id_length"], header["sizes"]
        tip, paths, mainline_length = header["tip"], header["paths"], header["mainline_length"]
        if (header["byteorder"] != sys.byteorder or width not in (40, 64) or not isinstance(n, int) or n < 1
                or not isinstance(sizes, list) or len(sizes) != 9 or not all(isinstance(s, int) and s >= 0 for s in sizes)
                or start + sum(sizes) != len(data) or not isinstance(paths, int)
                or not isinstance(mainline_length, int) or not 0 <= mainline_length <= n):  # fmt: skip
            return None
        body = memoryview(data)[start:]
        if hashlib.sha256(body).hexdigest() != header["sha256"]:
            return None
        chunks = []
        at = 0
        for size in sizes:
            chunks.append(body[at : at + size])
            at += size
        raw_ids, p_start, p_pos, p_raw, f_start, f_ids, table, renames_json, entries = chunks
        raw = bytes(raw_ids)
        if len(raw) != n * width or raw.translate(None, _HEX_DIGITS):
            return None
        text = raw.decode("ascii")
        ids = tuple(text[i : i + width] for i in range(0, len(text), width))
        if ids[0] != tip:
            return None
        parent_start, parent_pos = array("I", bytes(p_start)), array("i", bytes(p_pos))
        path_start, path_ids = array("I", bytes(f_start)), array("I", bytes(f_ids))
        entry = array("i", bytes(entries))
        raw_width = width // 2
        if (len(parent_start) != n + 1 or len(path_start) != n + 1 or len(entry) != n
                or parent_start[0] != 0 or parent_start[n] != len(parent_pos) or len(p_raw) != raw_width * len(parent_pos)
                or path_start[0] != 0 or path_start[n] != len(path_ids)):  # fmt: skip
            return None
        if any(b < a for a, b in zip(parent_start, parent_start[1:])) or any(b < a for a, b in zip(path_start, path_start[1:])):
            return None
        if parent_pos and (min(parent_pos) < -1 or max(parent_pos) >= n):
            return None
        if entry and (min(entry) < -1 or max(entry) >= n):
            return None
        path_table = bytes(table).decode("utf-8").split("\0") if paths else []
        if len(path_table) != paths or (path_ids and max(path_ids) >= paths):
            return None
        renames: dict[int, tuple[tuple[str, str], ...]] = {}
        for pos, pairs in json.loads(bytes(renames_json)):
            if not isinstance(pos, int) or not 0 <= pos < n:
                return None
            renames[pos] = tuple((str(old), str(new)) for old, new in pairs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        return None
    return Columns(tip, ids, parent_start, parent_pos, bytes(p_raw), path_start, path_ids, path_table, renames,
                   entry, mainline_length)


def _shallow_boundary(repo: pygit2.Repository) -> str:
    """The shallow clone's cut (``.git/shallow``): deepening history brings commits behind a
    stored tip that its snapshot never listed."""
    try:
        return hashlib.sha256((Path(repo.path) / "shallow").read_bytes()).hexdigest()
    except OSError:
        return "complete"
