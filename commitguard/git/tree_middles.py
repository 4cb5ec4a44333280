"""Where two versions of a directory differ, found without parsing what they share.

Indexing history diffs every commit against its parents, directory by
directory. In a nixpkgs-shaped tree nearly every commit rewrites one
``pkgs/by-name`` shard of thousands of entries to change one of them;
parsing both versions whole and subtracting them as sets cost about 1 ms a
commit, most of the cold ``annotate`` at a million commits.

A git tree object lists its entries sorted by name, so two versions of one
directory are the same bytes except for one stretch in the middle. This
reader keeps each raw tree with the offsets where its entries start; the
entries the two versions share at either end are found by comparing bytes
(a binary search over the older version's entry offsets, ``startswith`` and
``endswith`` on a memoryview, so nothing is copied), and only the middle
of the newer version is parsed. The newer version's offsets are then those
of the older one around its parsed middle, so the next commit starts from
them in turn.

Only the canonical parse counts: the middle must parse into whole entries
that end exactly where the shared tail begins. A tree that does not (a
hostile object, entries that cannot be told apart) is compared whole, as
sets, the way :class:`commitguard.git.trees.TreeReader` does. What is
reported can then only grow: an entry found in a shared end is byte for byte
in both versions, so it never differs; everything else is compared as
before.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from itertools import accumulate

import pygit2

# A whole entry, "MODE NAME\0" and the 20-byte id (the same rule as git.trees).
from commitguard.git.objects import ObjectReader
from commitguard.git.trees import ENTRY_PATTERN, read_tree_bytes

_EMPTY: frozenset = frozenset()
# Tree entries kept (two generations of at most this many each): about 45
# bytes an entry with its offset, so some 15 MB at most per process.
ENTRY_BUDGET = 150_000


class _Tree:
    """One raw tree: its bytes, and where each entry starts (with ``len(data)``
    last), or ``starts`` None when the bytes do not parse into whole entries."""

    __slots__ = ("data", "starts")

    def __init__(self, data: bytes, starts: array | None):
        self.data = data
        self.starts = starts

    def count(self) -> int:
        return len(self.starts) - 1 if self.starts is not None else 1

    def entries(self, first: int = 0, last: int | None = None) -> frozenset:
        """The entries from index ``first`` up to ``last`` (every entry of an irregular tree)."""
        if self.starts is None:
            return frozenset(ENTRY_PATTERN.findall(self.data))
        starts, data = self.starts, self.data
        if last is None:
            last = len(starts) - 1
        return frozenset(data[starts[k]:starts[k + 1]] for k in range(first, last))


def _parse(data: bytes, start: int = 0, end: int | None = None) -> list[bytes] | None:
    """The entries of ``data[start:end]`` if they cover it exactly, else None."""
    if end is None:
        end = len(data)
    found = ENTRY_PATTERN.findall(data, start, end)
    return found if sum(map(len, found)) == end - start else None


def _shared_ends(old: _Tree, new: bytes) -> tuple[int, int]:
    """(i, j): ``old``'s entries before ``i`` open ``new`` and those from ``j`` on
    close it, as bytes, with the two ends not overlapping in ``new``."""
    starts = old.starts
    view = memoryview(old.data)
    count = len(starts) - 1
    lo, hi = 0, count  # the largest i whose entries before it open new
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if new.startswith(view[:starts[mid]]):
            lo = mid
        else:
            hi = mid - 1
    first = lo
    room = len(new) - starts[first]  # bytes of new after the shared opening
    old_len = len(old.data)
    lo, hi = first, count  # the smallest j whose entries from it on close new
    while lo < hi:
        mid = (lo + hi) // 2
        if old_len - starts[mid] <= room and new.endswith(view[starts[mid]:]):
            hi = mid
        else:
            lo = mid + 1
    return first, lo


class TreeMiddles:
    """Raw trees of one repository, read once and kept while they are likely
    to be a later commit's parent: the current generation, and the one before
    it (still looked up, and what is found there moves back), each bounded by
    entries, since one big directory copied in every commit would otherwise
    fill memory."""

    def __init__(self, repo: pygit2.Repository, budget: int = ENTRY_BUDGET):
        self.odb = ObjectReader(repo)  # packs first: no loose-object stat per tree
        self._budget = budget
        self._cache: dict[bytes, _Tree] = {}
        self._old: dict[bytes, _Tree] = {}
        self._size = 0

    def middles(self, new: bytes | None, old: bytes | None) -> tuple[frozenset, frozenset]:
        """(entries of ``new``, entries of ``old``) less those both versions
        share at their ends; ids are raw, None is the empty tree."""
        if new is None:
            return _EMPTY, (self._tree(old).entries() if old is not None else _EMPTY)
        if old is None:
            return self._tree(new).entries(), _EMPTY
        before = self._tree(old)
        after = self._cached(new)
        if before.starts is None or (after is not None and after.starts is None):
            return (after or self._tree(new)).entries(), before.entries()
        if after is None:
            data = self._read(new)
            after = self._derive(before, data)
            if after is None:
                after = self._keep(new, _Tree(data, _starts(data)))
                return after.entries(), before.entries()
            self._keep(new, after[0])
            return after[1], after[2]
        first, last = _shared_ends(before, after.data)
        tail = before.starts[last] + len(after.data) - len(before.data)
        at = bisect_left(after.starts, tail)
        if (first >= len(after.starts) or after.starts[first] != before.starts[first]
                or at == len(after.starts) or after.starts[at] != tail):
            return after.entries(), before.entries()
        return after.entries(first, at), before.entries(first, last)

    def _derive(self, before: _Tree, data: bytes):
        """(the new tree with its offsets, its middle, ``before``'s middle), or
        None when the middle does not parse into whole entries."""
        first, last = _shared_ends(before, data)
        starts = before.starts
        shift = len(data) - len(before.data)
        begin, tail = starts[first], starts[last] + shift
        middle = _parse(data, begin, tail)
        if middle is None:
            return None
        opening = starts[:first]
        opening.extend(accumulate(map(len, middle[:-1]), initial=begin) if middle else ())
        closing = starts[last:]
        if shift:
            closing = array("q", [s + shift for s in closing])
        opening.extend(closing)
        return _Tree(data, opening), frozenset(middle), before.entries(first, last)

    def _cached(self, raw_oid: bytes) -> _Tree | None:
        found = self._cache.get(raw_oid)
        if found is None:
            found = self._old.get(raw_oid)
            if found is not None:
                self._keep(raw_oid, found)
        return found

    def _tree(self, raw_oid: bytes) -> _Tree:
        found = self._cached(raw_oid)
        if found is None:
            data = self._read(raw_oid)
            found = self._keep(raw_oid, _Tree(data, _starts(data)))
        return found

    def _keep(self, raw_oid: bytes, tree: _Tree) -> _Tree:
        self._cache[raw_oid] = tree
        self._size += tree.count() + 1
        if self._size > self._budget:
            self._old, self._cache, self._size = self._cache, {}, 0
        return tree

    def _read(self, raw_oid: bytes) -> bytes:
        return read_tree_bytes(self.odb, raw_oid)


def _starts(data: bytes) -> array | None:
    entries = _parse(data)
    if entries is None:
        return None
    return array("q", accumulate(map(len, entries), initial=0))
