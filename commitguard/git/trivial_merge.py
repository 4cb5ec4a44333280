"""The fast answer for the common merge: no path changed on both sides.

Checking a merge with libgit2 (:mod:`commitguard.git.merges`) builds an index
of the whole tree, some 7 to 15 ms a merge on a 10,000-package tree, and a
nixpkgs-sized history has tens of thousands of merges. Almost all of them are
forge merges of a pull request that touched a few files nobody else touched
meanwhile. For those, the three-way merge has only trivial outcomes, decided
path by path from the entries (mode and object id) alone: a path the two sides
left equal keeps that entry, a path one side changed takes that side's entry.
Whole subtrees that are equal are never opened, so the cost follows the size
of the change, not of the tree.

This module answers only "certainly clean": ``True`` when the result commit's
tree equals that trivial merge, and ``False`` whenever anything else is the
case (a path changed on both sides, even the same way, a file against a directory, a result that
differs, a history with several merge bases, an octopus). ``False`` means "ask
libgit2", which then gives the full answer with the paths and the reason, so
the fast path can only save time, never change a verdict or its words.

Why the answer equals libgit2's when it is ``True``:

* The merge base is unique by construction: the commits reachable from the
  second parent and not from the first form one chain of single-parent
  commits, so every common ancestor is an ancestor of that chain's parent,
  which is therefore the only best common ancestor (libgit2's recursive
  virtual base never comes into play).
* When no path changed on both sides, a three-way merge with rename detection
  takes each side's change as it is: a rename on one side is a deletion and an
  addition that the other side did not touch. A path both sides changed, even
  identically, is left to libgit2: two deletions of one file may be two
  renames to different names, which libgit2 reports as a conflict.
"""

from __future__ import annotations

import pygit2

from commitguard.git.trees import TREE_MODE, TreeReader, split_entry

# Commits on the merged side walked at most to prove the merge base unique; past it, libgit2 decides.
MAX_SIDE_COMMITS = 10_000
# Directory depth followed at most (a hostile tree nested deeper is left to libgit2).
MAX_DEPTH = 256


def merge_base_of_chain(repo: pygit2.Repository, ours: pygit2.Oid, theirs: pygit2.Oid) -> pygit2.Oid | None:
    """The unique merge base of ``ours`` and ``theirs`` when ``ours..theirs`` is one chain
    of single-parent commits (``theirs`` itself when it is an ancestor of ``ours``); None otherwise."""
    walker = repo.walk(theirs, pygit2.enums.SortMode.NONE)
    walker.hide(ours)
    side: dict[pygit2.Oid, pygit2.Oid] = {}
    for count, commit in enumerate(walker):
        if count >= MAX_SIDE_COMMITS or len(commit.parent_ids) != 1:
            return None
        side[commit.id] = commit.parent_ids[0]
    if not side:
        return theirs
    bottoms = [parent for parent in side.values() if parent not in side]
    if len(bottoms) != 1 or len(side) != len(set(side.values())):
        return None  # not one chain (cannot happen with single parents, but never assumed)
    return bottoms[0]


def trivially_clean(reader: TreeReader, base: bytes | None, ours: bytes, theirs: bytes, result: bytes) -> bool:
    """True when the tree ``result`` (raw ids throughout) is the trivial three-way merge of
    ``ours`` and ``theirs`` from ``base``; False when it is not or the merge is not trivial."""
    stack = [(base, ours, theirs, result, 0)]
    while stack:
        b, o, t, r, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        sides = [reader.entries(x) for x in (b, o, t, r)]
        common = sides[0] & sides[1] & sides[2] & sides[3]
        tables: list[dict[bytes, tuple[bytes, bytes]]] = []
        names: set[bytes] = set()
        for entries in sides:
            table = {}
            for entry in entries - common:
                mode, name, oid = split_entry(entry)
                table[name] = (mode, oid)
            names.update(table)
            tables.append(table)
        for name in names:
            eb, eo, et, er = (table.get(name) for table in tables)
            if eo == et:
                if eo != eb:
                    # the same change on both sides: two deletions may be two renames (or a rename
                    # and a delete), two equal additions a rename meeting an add; libgit2 decides
                    return False
                expected = eo
            elif eb == eo:
                expected = et
            elif eb == et:
                expected = eo
            elif _is_tree(eo) and _is_tree(et) and (eb is None or _is_tree(eb)) and _is_tree(er):
                # both sides changed something inside this directory: merge what is inside
                stack.append((eb[1] if eb else None, eo[1], et[1], er[1], depth + 1))
                continue
            else:
                return False
            if er != expected:
                return False
    return True


def _is_tree(entry: tuple[bytes, bytes] | None) -> bool:
    return entry is not None and entry[0] == TREE_MODE
