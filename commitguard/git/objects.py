"""Reading objects by their full id without asking every backend whether it holds them.

pygit2's ``Odb.read`` is libgit2's *prefix* read whatever the id's length:
every backend is asked, so that a short prefix cannot match two objects. For
a full id the question is moot, but the loose backend still answers it with
an ``access()`` of ``objects/xx/...`` on every read, found in a pack or not:
1.5-3 us of a 10 us read, paid per commit by verification and several times
per commit by the history index. An object database holding only the
repository's pack files answers at once (libgit2 still hashes what it read
and compares it with the id asked for). What it does not hold (a loose
object, one in an alternate, one in a pack written since) is read through
the repository's own object database, as before.

A repository whose objects are mostly loose (a fresh test fixture, a
repository nobody ran ``git gc`` in) would pay a miss and a rescan of the
pack directory for each read: once MAX_MISSES reads have missed, and more than
one read in MISS_SHARE, the packs-first read is given up for that reader.
"""

from __future__ import annotations

import os

import pygit2

MAX_MISSES = 64
MISS_SHARE = 16


class ObjectReader:
    """``read(oid) -> (type, bytes)``, as ``repo.odb.read``, packs first."""

    def __init__(self, repo: pygit2.Repository):
        self._odb = repo.odb
        self._packs = _pack_database(repo.path)
        self._misses = self._hits = 0

    @property
    def packs_first(self) -> bool:
        """Whether reads still try the pack files alone first."""
        return self._packs is not None

    def read(self, oid) -> tuple[int, bytes]:
        packs = self._packs
        if packs is not None:
            try:
                found = packs.read(oid)
            except KeyError:
                self._misses += 1
                if self._misses >= MAX_MISSES and self._misses * MISS_SHARE > self._hits:
                    self._packs = None
            else:
                self._hits += 1
                return found
        return self._odb.read(oid)


def _pack_database(git_dir: str) -> pygit2.Odb | None:
    """An object database of the repository's own pack files, or None when it has none."""
    packs = os.path.join(git_dir, "objects", "pack")
    try:
        if not any(name.endswith(".pack") for name in os.listdir(packs)):
            return None
        odb = pygit2.Odb()
        odb.add_backend(pygit2.OdbBackendPack(os.path.dirname(packs)), 1)
    except (OSError, pygit2.GitError, ValueError):
        return None  # a worktree's git directory, say: its objects live elsewhere
    return odb
