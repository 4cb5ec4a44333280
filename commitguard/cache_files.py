"""Snapshot files in the cache directory: written whole or not at all, listed by lineage.

The verified frontier (:mod:`commitguard.verify.frontier`) and the history
snapshots (:mod:`commitguard.chain.history_snapshot`) both keep files named
``<lineage>-<name>.bin`` that a concurrent run may read while another writes:
a file is written under a temporary name and renamed into place, so a reader
sees a whole file or none.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_whole(directory: Path, name: str, parts: Iterable[bytes]) -> None:
    """Write ``parts`` to ``directory/name`` through a temporary file and a rename
    (OSError when the directory cannot be written)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                out.write(part)
        os.replace(temporary, directory / name)
    except BaseException:
        os.unlink(temporary)
        raise


def lineage_files(directory: Path, lineage: str) -> list[Path]:
    """The files of one lineage, newest first (none when the directory cannot be read)."""
    try:
        found = [p for p in directory.iterdir() if p.name.startswith(lineage + "-")]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []


# Lineages kept in one directory: a lineage is a keyring digest, range, trust root and
# repository, so a CI cache would otherwise keep every keyring it was ever run with.
LINEAGES_KEPT = 8


def prune_lineages(directory: Path, current: str, keep: int = LINEAGES_KEPT) -> None:
    """Remove every file of all but the ``keep`` most recently used lineages.

    A lineage's use is the newest modification time among its files (a run
    touches the snapshot it reads), and ``current``, the lineage just
    written, is always kept. Files are named ``<lineage>-<name>.bin``; nothing
    else in the directory is touched. Removing a file only costs the next run
    of that lineage a full walk.
    """
    newest: dict[str, float] = {}
    files: list[tuple[str, Path]] = []
    try:
        for path in directory.iterdir():
            lineage, dash, _ = path.name.partition("-")
            if not dash or not path.name.endswith(".bin") or path.name.startswith("."):
                continue
            try:
                when = path.stat().st_mtime
            except OSError:
                continue  # removed meanwhile
            newest[lineage] = max(when, newest.get(lineage, when))
            files.append((lineage, path))
    except OSError:
        return
    others = sorted((lineage for lineage in newest if lineage != current), key=newest.__getitem__, reverse=True)
    stale = set(others[max(keep - 1, 0):])
    for lineage, path in files:
        if lineage in stale:
            path.unlink(missing_ok=True)


def touch(path: Path) -> None:
    """Mark a snapshot as used now, so that pruning keeps it (a read-only cache is fine)."""
    try:
        os.utime(path)
    except OSError:
        pass
