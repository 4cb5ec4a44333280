"""Scratch directories for unpacked archives and decompressed tars, removed whatever happens.

An archive that fails half-way leaves a tree built by its author: deep,
read-only, full of symlinks. Removal here never follows a symlink, makes
directories writable before emptying them, and works with an explicit stack
(Python 3.11's ``shutil.rmtree`` recurses once per level). A directory that
still cannot be removed is reported, never silently left behind.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class ScratchLeftBehind(OSError):
    """A scratch directory could not be removed."""


def remove_tree(top: str) -> None:
    """Remove ``top`` and everything below it, iteratively, never through a symlink."""
    stack = [(top, False)]
    while stack:
        path, emptied = stack.pop()
        if emptied:
            os.rmdir(path)
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            continue
        if st.st_mode & 0o700 != 0o700:
            os.chmod(path, st.st_mode | 0o700)
        stack.append((path, True))
        with os.scandir(path) as entries:
            for entry in entries:
                stack.append((entry.path, False))


@contextmanager
def scratch_directory(prefix: str) -> Iterator[Path]:
    """A new private directory under the system's temporary directory, removed on leaving."""
    path = tempfile.mkdtemp(prefix=prefix)
    try:
        yield Path(path)
    finally:
        try:
            remove_tree(path)
        except OSError as exc:
            raise ScratchLeftBehind(f"could not remove scratch directory {path}: {exc}") from None
