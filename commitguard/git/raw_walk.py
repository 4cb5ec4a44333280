"""One tip's whole history walked from the commit objects' own bytes, in libgit2's order.

pygit2's walker hands out a ``Commit`` per step: libgit2 reads and parses each
commit twice (once for its walk, once for the object handed out) and Python
wraps it, about 19 us a commit, the largest cost of a cold verification after
the signature checks. A verification reads every commit's bytes anyway, for
its signature: read once here, they give the parents to the walk and, kept
until the verifier takes them, the signature to the verifier.

Only the plainest selection is walked here: one tip, nothing hidden, no trust
root, in a repository that is not a shallow clone and has no grafts (where
libgit2 reads parents that the objects do not name). A commit whose bytes are
not of the plain shape (:func:`commitguard.git.commit_object.plain_parents`)
has its parents read by libgit2. Anything the walk cannot read (a missing
object, one that is not a commit) stops it with :class:`WalkRefused`, and the
caller walks with libgit2 instead, which reports what is wrong as before.

The order handed out while walking is the order the commits were read in;
:meth:`RawWalk.order` is libgit2's topological order (``revwalk.c``,
``sort_in_topological_order`` without ``GIT_SORT_TIME``): every commit's
in-degree counted, then emitted from a stack onto which each emitted commit's
parents are pushed, in order, as their last child is emitted. The tests hold
it to libgit2's walk on random histories.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pygit2

from commitguard.git.commit_object import plain_parents
from commitguard.git.objects import ObjectReader

_COMMIT = 1  # GIT_OBJECT_COMMIT
_MAX_PARENTS = 65_535  # libgit2 refuses more


class WalkRefused(Exception):
    """The walk met something only libgit2's walk may judge."""


def walkable(repo: pygit2.Repository, include: list, exclude: list, root) -> bool:
    """Whether this selection is one this walk reads exactly as libgit2 does."""
    if len(include) != 1 or exclude or root is not None:
        return False
    git_dir = repo.path
    if not os.path.isdir(os.path.join(git_dir, "objects")):  # a linked worktree: its grafts live elsewhere
        return False
    try:
        shallow = repo.is_shallow
    except (pygit2.GitError, AttributeError):
        return False
    return not shallow and not os.path.lexists(os.path.join(git_dir, "info", "grafts"))


class RawWalk:
    """Iterate for the commit ids as they are read; then :meth:`order` for libgit2's order.

    With ``keep_objects``, each commit's bytes are kept until
    :meth:`pop_object` takes them: whoever walks must take every id it is
    handed, or the bytes stay in memory until the walk is dropped.
    """

    def __init__(self, repo: pygit2.Repository, tip: str, *, keep_objects: bool = False):
        self._repo = repo
        self._reader = ObjectReader(repo)
        self._keep = keep_objects
        self._objects: dict[str, bytes] = {}
        self.ids: list[str] = [tip]  # by first sight, as a parent or the tip
        self._number: dict[str, int] = {tip: 0}
        self._parents: list = [None]  # by number: () for a root, an int for one parent, a tuple for a merge
        self._done = False

    def __iter__(self) -> Iterator[str]:
        ids, number, parents_of = self.ids, self._number, self._parents
        read, keep, objects = self._reader.read, self._keep, self._objects
        stack = [0]
        while stack:
            node = stack.pop()
            if parents_of[node] is not None:
                continue
            commit_id = ids[node]
            try:
                kind, raw = read(commit_id)
            except (KeyError, ValueError, pygit2.GitError):
                raise WalkRefused(f"commit {commit_id} cannot be read") from None
            if kind != _COMMIT:
                raise WalkRefused(f"{commit_id} is not a commit")
            parents = plain_parents(raw)
            if parents is None:
                parents = self._libgit2_parents(commit_id)
            if len(parents) > _MAX_PARENTS:
                raise WalkRefused(f"commit {commit_id} has more than {_MAX_PARENTS} parents")
            numbers = []
            for parent in parents:
                seen = number.get(parent)
                if seen is None:
                    seen = number[parent] = len(ids)
                    ids.append(parent)
                    parents_of.append(None)
                numbers.append(seen)
            parents_of[node] = numbers[0] if len(numbers) == 1 else tuple(numbers)
            # pushed last first: the first parent's line is read first, as a person reads history
            stack.extend(reversed(numbers))
            if keep:
                objects[commit_id] = raw
            yield commit_id
        self._done = True

    def _libgit2_parents(self, commit_id: str) -> list[str]:
        try:
            commit = self._repo[commit_id]
            return [str(p) for p in commit.parent_ids]
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise WalkRefused(f"commit {commit_id} cannot be parsed ({exc})") from None

    def pop_object(self, commit_id: str) -> bytes | None:
        """The commit's bytes, once (None when not kept or already taken)."""
        return self._objects.pop(commit_id, None)

    def order(self) -> list[str]:
        """Every commit read, in libgit2's topological order, once (the walk must have run to its end)."""
        if not self._done:
            raise RuntimeError("the walk has not been run to its end")
        parents_of, ids = self._parents, self.ids
        degree = [1] * len(ids)
        for parents in parents_of:
            if type(parents) is int:
                degree[parents] += 1
            else:
                for p in parents:
                    degree[p] += 1
        order: list[str] = []
        stack = [0]
        while stack:
            node = stack.pop()
            parents = parents_of[node]
            for p in (parents,) if type(parents) is int else parents:
                if degree[p]:
                    degree[p] -= 1
                    if degree[p] == 1:
                        stack.append(p)
            degree[node] = 0
            order.append(ids[node])
        self._number, self._parents, self.ids = {}, [], []  # the graph is no longer needed; kept objects are
        return order
