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
