"""Reading a commit's tree: one place for how paths, subtrees and blobs are looked up.

Everything commitguard judges is read from git objects, never from the work
tree: the keyring a commit carries, a package's expression at the base of a
pull request, both sides of a version bump, a revision ``annotate`` exports.
Those readers differ only in what they accept, so the lookups live here once,
with the same answers everywhere: a missing path, a malformed path and an
object of the wrong kind are all ``None`` (callers decide whether that is an
error); a blob larger than the caller's limit is ``None`` too, so a hostile
tree cannot make anyone read gigabytes. Symbolic links and submodules are
reported as what they are (``filemode``), since a link's target is not part
of what the commit vouches for.

Two ways to walk a whole tree: :func:`walk_entries` parses raw tree objects
(:class:`TreeReader`, shared with the history index, many times faster than
pygit2's objects on a nixpkgs-sized revision), and :func:`walk_tree` hands out
pygit2 objects for the small directories whose entries a caller inspects.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pygit2

from commitguard.errors import RepositoryError
from commitguard.git.objects import ObjectReader

# Parsed tree objects kept for reuse: consecutive commits share most trees.
TREE_CACHE_SIZE = 50_000
TREE_MODE = b"40000"
REGULAR_MODES = frozenset({pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE})

# A whole entry, "MODE NAME\0" and the 20-byte id, kept as one bytes object: set
# operations on whole entries find what differs without splitting the rest.
ENTRY_PATTERN = re.compile(rb"[^\0]+\0.{20}", re.S)
_EMPTY: frozenset = frozenset()


# --------------------------------------------------------------------------- lookups


Where = pygit2.Object | pygit2.Oid | str  # a tree, or a commit (or tree) by object or id


def root_tree(repo: pygit2.Repository, where: Where) -> pygit2.Tree:
    """The tree itself, or the tree of a commit; KeyError when there is no such object."""
    if isinstance(where, pygit2.Tree):
        return where
    obj = where if isinstance(where, pygit2.Object) else repo[where]
    return obj.peel(pygit2.Tree)


def entry_at(tree: pygit2.Tree, path: str) -> pygit2.Object | None:
    """The object at ``path`` below ``tree`` (with its ``filemode``), or None for no such path."""
    try:
        return tree[path]
    except (KeyError, ValueError):  # ValueError: a path git cannot hold (a NUL byte)
        return None


def tree_at(repo: pygit2.Repository, where: Where, path: str) -> pygit2.Tree | None:
    """The subtree at ``path`` (the root itself for ""), or None when the path is absent or not a directory."""
    root = root_tree(repo, where)
    path = path.strip("/")
    if not path:
        return root
    obj = entry_at(root, path)
    return obj if isinstance(obj, pygit2.Tree) else None


def read_blob(repo: pygit2.Repository, oid: pygit2.Oid, *, limit: int | None = None) -> bytes | None:
    """A blob's bytes; None when the object is missing, not a blob, or over ``limit`` bytes."""
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Blob) or (limit is not None and obj.size > limit):
        return None
    return obj.data


def blob_at(repo: pygit2.Repository, where: Where, path: str, *,
            limit: int | None = None, regular: bool = False) -> bytes | None:
    """The bytes of the file at ``path``, or None (absent, a directory, a submodule, over ``limit``).

    ``regular`` refuses symbolic links too: their blob is a target's name,
    and what they name is not part of what the commit vouches for.
    """
    obj = entry_at(root_tree(repo, where), path.strip("/"))
    if not isinstance(obj, pygit2.Blob) or (regular and obj.filemode not in REGULAR_MODES):
        return None
    return read_blob(repo, obj.id, limit=limit)


# --------------------------------------------------------------------------- whole trees


def decode_path(raw: bytes) -> str:
    """Tree entry names are bytes; every module that compares paths decodes them this way."""
    return raw.decode("utf-8", "replace")


def read_tree_bytes(odb: "pygit2.Odb | ObjectReader", raw_oid: bytes) -> bytes:
    """A raw tree object's bytes; an object that is not a tree has no entries (b"")."""
    try:
        kind, data = odb.read(pygit2.Oid(raw=raw_oid))
    except (KeyError, ValueError, pygit2.GitError):
        raise RepositoryError(
            f"tree {raw_oid.hex()} is missing from the object database (shallow or partial clone?)"
        ) from None
    return data if kind == pygit2.GIT_OBJECT_TREE else b""


class TreeReader:
    """Raw tree objects parsed into sets of (mode, name, raw oid) entries."""

    def __init__(self, repo: pygit2.Repository):
        self.odb = ObjectReader(repo)  # packs first: no loose-object stat per tree
        self._cache: dict[bytes, frozenset] = {}

    def entries(self, raw_oid: bytes | None) -> frozenset:
        if raw_oid is None:
            return _EMPTY
        found = self._cache.get(raw_oid)
        if found is None:
            if len(self._cache) >= TREE_CACHE_SIZE:
                self._cache.clear()
            data = read_tree_bytes(self.odb, raw_oid)
            found = frozenset(ENTRY_PATTERN.findall(data)) if data else _EMPTY
            self._cache[raw_oid] = found
        return found

    def middles(self, new: bytes | None, old: bytes | None) -> tuple[frozenset, frozenset]:
        """Both trees' whole entry sets: what the history walk asks of
        :class:`commitguard.git.tree_middles.TreeMiddles`, answered without its
        shortcut for the few trees a pull request compares."""
        return self.entries(new), self.entries(old)


def split_entry(entry: bytes) -> tuple[bytes, bytes, bytes]:
    """(mode, name, raw id) of one whole entry as :class:`TreeReader` keeps it."""
    mode, _, rest = entry.partition(b" ")
    return mode, rest[:-21], rest[-20:]


def changed_between(reader: TreeReader, old: bytes | None, new: bytes | None) -> list[bytes]:
    """Every path (raw bytes) whose entry differs between two trees (raw ids; None is the
    empty tree): files added, removed or changed in content or mode, submodules, and the
    files below a directory that became a file or the other way round.

    The answer of ``git diff --no-renames OLD NEW``, found by comparing raw tree entries
    and entering only subtrees whose ids differ: a pull request that changes five files
    of a nixpkgs-sized tree reads a few dozen trees, where libgit2's diff reads them all
    (~35 ms, the largest part of a warm check-pr after start-up). An explicit stack, as
    in :func:`walk_entries`.
    """
    out: list[bytes] = []
    stack = [(old, new, b"")]
    while stack:
        old_tree, new_tree, prefix = stack.pop()
        before, after = reader.entries(old_tree), reader.entries(new_tree)
        gone = {name: (mode, oid) for mode, name, oid in map(split_entry, before - after)}
        came = {name: (mode, oid) for mode, name, oid in map(split_entry, after - before)}
        for name in gone.keys() | came.keys():
            was, now = gone.get(name), came.get(name)
            was_tree = was[1] if was is not None and was[0] == TREE_MODE else None
            now_tree = now[1] if now is not None and now[0] == TREE_MODE else None
            if was_tree is not None or now_tree is not None:
                stack.append((was_tree, now_tree, prefix + name + b"/"))
            if (was is not None and was[0] != TREE_MODE) or (now is not None and now[0] != TREE_MODE):
                out.append(prefix + name)
    return out


def walk_entries(reader: TreeReader, root: bytes,
                 enter: Callable[[str, str], bool] = lambda prefix, name: True) -> Iterator[tuple[str, str, bytes, bytes]]:
    """Every entry below the raw tree id ``root`` as (prefix, name, mode, raw id), names decoded.

    ``prefix`` is the entry's directory with a trailing slash ("" at the
    root); a subtree is yielded before what it holds, and entered only when
    ``enter(prefix, name)`` says so. An explicit stack, so a hostile nesting
    depth cannot exhaust Python's own.
    """
    stack = [(root, "")]
    while stack:
        tree, prefix = stack.pop()
        for entry in reader.entries(tree):
            mode, raw_name, oid = split_entry(entry)
            name = decode_path(raw_name)
            yield prefix, name, mode, oid
            if mode == TREE_MODE and enter(prefix, name):
                stack.append((oid, f"{prefix}{name}/"))


def walk_tree(repo: pygit2.Repository, top: pygit2.Tree, keep: Callable[[pygit2.Object], bool] = lambda entry: True,
              descend: Callable[[pygit2.Tree], bool] = lambda tree: True) -> Iterator[tuple[str, pygit2.Object]]:
    """Every entry below ``top`` that is not a tree, as (relative path, entry), lazily.

    ``keep`` drops an entry (and, for a tree, all below it); ``descend`` says
    whether to enter a subtree. An explicit stack, as in :func:`walk_entries`.
    """
    stack = [(top, "")]
    while stack:
        current, prefix = stack.pop()
        for entry in current:
            if not keep(entry):
                continue
            rel = prefix + entry.name
            if entry.type_str == "tree":
                sub = repo.get(entry.id)
                if isinstance(sub, pygit2.Tree) and descend(sub):
                    stack.append((sub, rel + "/"))
            else:
                yield rel, entry
