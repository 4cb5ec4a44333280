"""Merge faithfulness: does a merge commit add anything of its own?

A reviewed pull request reaches a nixpkgs-style branch through a merge the
forge made, or squashed or rebased. Trust can pass through that merge only if
the merge is mechanical: its tree is exactly what merging its parents without
conflicts gives (``check_merge``), or the landed commit is exactly the
reviewed range ``base..head`` replayed on the commit it landed on
(``check_replay``). Anything else (an "evil merge" with an extra edit, a
conflict resolved by hand, a squash with one more line) is the merge's own
change and is reported with the paths where it differs.

How the merge is computed, and why:

* libgit2's merge (the same three-way merge git makes, with rename detection;
  for two parents with several merge bases, libgit2's recursive virtual base,
  as git does). Octopus merges are merged parent by parent, as git's octopus
  strategy does, each step from the merge bases of the next parent and those
  merged so far.
* In a scratch repository in memory that reads the repository's objects (its
  object directory and alternates) and writes nowhere: merged blobs and trees
  stay in memory, so checking never adds objects to the repository (read-only
  clones work; libgit2 may refresh a pack's modification time, as git
  does), and the repository's work tree, index and ``.gitattributes`` play
  no part (a checked-out ``merge=union`` cannot turn a conflict into a
  "clean" merge). The result is therefore a function of the commit id alone,
  which is what lets :mod:`commitguard.git.merge_cache` keep it. The
  scratch repository loads no git configuration file, system or the user's,
  so a ``merge`` attribute or a rename limit set there does not apply either
  (a system-wide ``/etc/gitattributes``, which libgit2 looks up at each
  attribute lookup, may still).
* The merge's result is then compared with the commit's tree entry by entry
  (mode and object id, libgit2's diff without rename detection), so binary
  files, renames (both paths), mode changes, submodule entries and deletions
  are all reported as paths.

Fails closed: a merge that could not be checked (a parent missing from a
shallow clone, an unreadable object, a libgit2 error) is ``clean=False`` with
the reason, and such a result is not cached.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import pygit2

from commitguard.errors import RepositoryError
from commitguard.git.trees import TreeReader
from commitguard.git.trivial_merge import merge_base_of_chain, trivially_clean


# Paths listed in a result; past it the reason says "and N more".
MAX_DIFFERING_PATHS = 1_000
# Parents merged at most (an octopus is merged parent by parent, each a whole-tree merge).
MAX_MERGE_PARENTS = 100
# Paths named in a reason (the full list is in ``differing``).
_NAMED_IN_REASON = 5
_MERGE_FLAGS = pygit2.enums.MergeFlag.FIND_RENAMES
_NOBODY = pygit2.Signature("commitguard", "commitguard", 0, 0)


@dataclass(frozen=True)
class MergeCheck:
    """Whether a merge (or a squash/rebase) added nothing of its own, and where it did."""

    commit: str                  # the merge (or landed) commit id, hex
    clean: bool                  # its tree equals the conflict-free merge of its parents
    differing: tuple[str, ...]   # sorted paths that differ from that merge, or that conflicted
    reason: str                  # one line a person can act on


class CheckFailed(Exception):
    """Internal: the check could not be made (the reason is the message); never cached."""


# --------------------------------------------------------------------------- public entry points


def check_merge(repo: pygit2.Repository, commit) -> MergeCheck:
    """Is ``commit`` (a merge: two parents or more) the clean merge of its parents?

    Raises ValueError for anything that is not a merge commit."""
    return MergeChecker(repo).check_merge(commit)[0]


def check_replay(repo: pygit2.Repository, base, head, landed, *, onto=None) -> MergeCheck:
    """Is ``landed`` exactly ``base..head`` replayed on ``onto`` (default: landed's first parent)?

    A squash lands one commit whose parent is ``onto``; a rebase of several
    commits lands a range whose last commit is ``landed`` and whose first
    commit's parent is ``onto`` (pass it, so the whole range is compared, not
    only its last commit). Clean means tree(landed) equals the conflict-free
    merge of tree(onto) and tree(head) from tree(base).
    """
    return MergeChecker(repo).check_replay(base, head, landed, onto=onto)[0]


class MergeChecker:
    """One scratch repository over ``repo``'s objects, reused for many checks."""

    def __init__(self, repo: pygit2.Repository):
        self.repo = repo
        self._reader = TreeReader(repo)
        self._memory = _MemoryObjects()
        objects = _objects_directory(repo)
        odb = pygit2.Odb()
        # Looked up in this order. The packs first (most objects are there: no
        # call into Python for them); then the memory store, which is the first
        # backend able to write, so every write lands there; then loose objects
        # and the repository's alternates, read only.
        odb.add_backend(pygit2.OdbBackendPack(objects), 3)
        odb.add_backend(self._memory, 2)
        odb.add_backend(pygit2.OdbBackendLoose(objects, 0, False), 1)
        odb.add_disk_alternate(objects)
        with _without_git_configuration():
            self.scratch = pygit2.Repository()
            self.scratch.set_odb(odb)
            # Configuration and the attribute cache are read once, on first use: now, from no file.
            self.scratch.config
            self.scratch.get_attr(".gitattributes", "merge")

    def check_merge(self, commit) -> tuple[MergeCheck, bool]:
        """(the check, whether it may be cached)."""
        merge = _commit(self.repo, commit)
        parents = recorded_parents(self.repo, merge.id)
        if len(parents) < 2:
            raise ValueError(f"{merge.id} is not a merge commit ({len(parents)} parent(s))")
        if len(parents) > MAX_MERGE_PARENTS:
            return MergeCheck(str(merge.id), False, (), f"not checked: {len(parents)} parents, more than the "
                                                        f"{MAX_MERGE_PARENTS} a merge is checked with"), True
        if len(parents) == 2 and self._trivially_clean_merge(merge, parents):
            return MergeCheck(str(merge.id), True, (), _MergeWords(2, 0).clean()), True
        self._memory.clear()
        try:
            index, conflicts, step = self._merge_parents(parents)
            return self._judge(merge, index, conflicts, _MergeWords(len(parents), step)), True
        except CheckFailed as exc:
            return MergeCheck(str(merge.id), False, (), f"not checked: {exc}"), False

    def check_replay(self, base, head, landed, *, onto=None) -> tuple[MergeCheck, bool]:
        land = _commit(self.repo, landed)
        base_c, head_c = _commit(self.repo, base), _commit(self.repo, head)
        if onto is None:
            parents = recorded_parents(self.repo, land.id)
            if not parents:
                raise ValueError(f"{land.id} has no parent: nothing was landed on")
            onto = parents[0]
        onto_c = _commit(self.repo, onto)
        if self._trivially_clean(base_c.tree_id, onto_c.tree_id, head_c.tree_id, land.tree_id):
            return MergeCheck(str(land.id), True, (), _ReplayWords().clean()), True
        self._memory.clear()
        try:
            with _failing_closed():
                index = self.scratch.merge_trees(base_c.tree_id, onto_c.tree_id, head_c.tree_id, flags=_MERGE_FLAGS)
            return self._judge(land, index, _conflicts(index), _ReplayWords()), True
        except CheckFailed as exc:
            return MergeCheck(str(land.id), False, (), f"not checked: {exc}"), False

    # ----------------------------------------------------------------------- merging

    def _trivially_clean_merge(self, merge: pygit2.Commit, parents: list[pygit2.Oid]) -> bool:
        """The fast path (:mod:`commitguard.git.trivial_merge`): True only when certainly clean."""
        try:
            base = merge_base_of_chain(self.repo, parents[0], parents[1])
            if base is None:
                return False
            return self._trivially_clean(self.repo[base].tree_id, self.repo[parents[0]].tree_id,
                                         self.repo[parents[1]].tree_id, merge.tree_id)
        except (KeyError, ValueError, pygit2.GitError):
            return False  # libgit2 decides, and fails closed with the reason

    def _trivially_clean(self, base, ours, theirs, result) -> bool:
        try:
            return trivially_clean(self._reader, base.raw, ours.raw, theirs.raw, result.raw)
        except RepositoryError:
            return False

    def _merge_parents(self, parents: list[pygit2.Oid]):
        """(merged index, conflicted paths, octopus step that conflicted or 0).

        Two parents: one merge. More: parent by parent, as git's octopus
        strategy merges; what is merged so far is a commit made in memory whose
        parents are the parents merged so far, so each merge's bases are those
        of the next parent and all of those (several bases merged recursively)."""
        so_far = parents[0]
        with _failing_closed():
            for step, parent in enumerate(parents[1:], start=2):
                index = self.scratch.merge_commits(so_far, parent, flags=_MERGE_FLAGS)
                conflicts = _conflicts(index)
                if conflicts or step == len(parents):
                    return index, conflicts, step if conflicts and len(parents) > 2 else 0
                tree = index.write_tree(self.scratch)
                so_far = self.scratch.create_commit(None, _NOBODY, _NOBODY, "merged so far", tree, parents[:step])
        raise AssertionError("a merge has two parents or more")

    def _judge(self, commit: pygit2.Commit, merged: pygit2.Index, conflicts: tuple[str, ...], words) -> MergeCheck:
        """Compare ``commit``'s tree with the ``merged`` index entry by entry (conflicts set aside)."""
        with _failing_closed():
            for path in conflicts:
                try:
                    del merged.conflicts[path]
                except KeyError:
                    pass  # a conflict recorded under another of its paths
            paths, count = differing_paths(merged.diff_to_tree(self.scratch[commit.tree_id]))
        if conflicts:
            listed = tuple(sorted(set(conflicts) | set(paths)))
            extra = [p for p in paths if p not in set(conflicts)]
            reason = words.conflicted(conflicts) + (f"; it also changes {_name_paths(extra, count - len(paths))}"
                                                    if extra else "")
            return MergeCheck(str(commit.id), False, _bounded(listed), reason)
        if not count:
            return MergeCheck(str(commit.id), True, (), words.clean())
        return MergeCheck(str(commit.id), False, paths, words.own(_name_paths(paths, count - len(paths)), count))


# --------------------------------------------------------------------------- tree comparison


def differing_paths(diff: pygit2.Diff) -> tuple[tuple[str, ...], int]:
    """(the first MAX_DIFFERING_PATHS paths of ``diff``, sorted; how many paths differ).

    libgit2 compares the two sides entry by entry (object id and mode) and,
    without rename detection, reports each differing path once: a rename is
    its old and its new path, a file replaced by a directory is the file and
    each path below."""
    paths: set[str] = set()
    for number, delta in enumerate(diff.deltas):
        if number >= MAX_DIFFERING_PATHS:
            break
        paths.update(p for p in (delta.old_file.path, delta.new_file.path) if p)
    # A file that became a link is two deltas (deleted, added) of one path: counted once
    # when every delta was read; past the limit, the deltas left are counted.
    total = len(diff)
    counted = len(paths) if total <= MAX_DIFFERING_PATHS else total - MAX_DIFFERING_PATHS + len(paths)
    return _bounded(sorted(paths)), counted


# --------------------------------------------------------------------------- words


class _MergeWords:
    def __init__(self, parents: int, step: int):
        self.parents, self.step = parents, step

    def clean(self) -> str:
        return f"tree is the clean merge of its {self.parents} parents"

    def own(self, named: str, count: int) -> str:
        return f"adds changes of its own in {count} path{'s' if count != 1 else ''}: {named}"

    def conflicted(self, conflicts) -> str:
        where = f" (octopus: merging parent {self.step})" if self.step else ""
        return (f"its parents do not merge cleanly{where} (conflicts in {_name_paths(conflicts, 0)}); "
                "the resolution is the merge's own")


class _ReplayWords:
    def clean(self) -> str:
        return "tree is base..head replayed on the commit it landed on"

    def own(self, named: str, count: int) -> str:
        return (f"differs from base..head replayed on the commit it landed on in {count} "
                f"path{'s' if count != 1 else ''}: {named}")

    def conflicted(self, conflicts) -> str:
        return (f"base..head does not apply cleanly on the commit it landed on (conflicts in "
                f"{_name_paths(conflicts, 0)}); the result is its own")


def _name_paths(paths, beyond: int) -> str:
    """Up to a few paths by name, then how many more."""
    paths = list(paths)
    more = len(paths) - _NAMED_IN_REASON + beyond if len(paths) > _NAMED_IN_REASON else beyond
    text = ", ".join(paths[:_NAMED_IN_REASON])
    if more > 0:
        text += f" and {more} more"
    return text


def _bounded(paths) -> tuple[str, ...]:
    return tuple(paths[:MAX_DIFFERING_PATHS])


# --------------------------------------------------------------------------- plumbing


def _commit(repo: pygit2.Repository, what) -> pygit2.Commit:
    """The commit named by a Commit, an Oid or a hex id; ValueError when there is none."""
    if isinstance(what, pygit2.Commit):
        return what
    try:
        obj = repo.revparse_single(what) if isinstance(what, str) else repo[what]
    except (KeyError, ValueError, TypeError, pygit2.GitError):
        raise ValueError(f"{what}: no such commit in the repository") from None
    if not isinstance(obj, pygit2.Commit):
        raise ValueError(f"{what} is a {obj.type_str}, not a commit")
    return obj


def recorded_parents(repo: pygit2.Repository, oid: pygit2.Oid) -> list[pygit2.Oid]:
    """The parents the commit object names, read from its bytes as git reads
    them (the ``parent`` lines right after ``tree``): libgit2 hides them in a
    shallow clone, where a merge would look like a root commit."""
    _, raw = repo.odb.read(oid)
    lines = raw.split(b"\n\n", 1)[0].split(b"\n")
    parents = []
    for line in lines[1:]:
        if not line.startswith(b"parent "):
            break
        parents.append(pygit2.Oid(hex=line[7:].decode("ascii")))
    return parents


def _conflicts(index: pygit2.Index) -> tuple[str, ...]:
    if index.conflicts is None:
        return ()
    paths = {entry.path for triple in index.conflicts for entry in triple if entry is not None}
    return tuple(sorted(paths))


@contextmanager
def _failing_closed():
    """Turn what libgit2 or a missing object raises into CheckFailed (one line)."""
    try:
        yield
    except (pygit2.GitError, KeyError, OSError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise CheckFailed(f"an object could not be read or merged ({text})") from exc


_SEARCH_LEVELS = (pygit2.enums.ConfigLevel.SYSTEM, pygit2.enums.ConfigLevel.XDG,
                  pygit2.enums.ConfigLevel.GLOBAL, pygit2.enums.ConfigLevel.PROGRAMDATA)


@contextmanager
def _without_git_configuration():
    """While the scratch repository loads its configuration: no system, XDG or
    global git configuration file is found, so neither a ``core.attributesFile``
    nor ``~/.config/git/attributes`` (``* merge=union``) nor a rename limit of
    the user's can change a merge's result. libgit2's search paths are
    process-wide: they are restored at once, and the scratch repository keeps
    what it loaded."""
    paths = pygit2.settings.search_path
    saved = {level: paths[level] for level in _SEARCH_LEVELS}
    try:
        for level in _SEARCH_LEVELS:
            paths[level] = ""
        yield
    finally:
        for level, path in saved.items():
            paths[level] = path


def _objects_directory(repo: pygit2.Repository) -> str:
    """The object directory, shared by linked worktrees through their ``commondir`` file."""
    gitdir = repo.path
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            gitdir = os.path.join(gitdir, f.read().strip())
    except OSError:
        pass
    return os.path.join(gitdir, "objects")


class _MemoryObjects(pygit2.OdbBackend):
    """The scratch repository's writable object store: a dict, cleared before each check."""

    def __init__(self):
        super().__init__()
        self.objects: dict[bytes, tuple[int, bytes]] = {}

    def clear(self) -> None:
        self.objects.clear()

    def _get(self, oid):
        found = self.objects.get(oid.raw)
        if found is None:
            raise KeyError(oid)
        return found

    def read_cb(self, oid):
        return self._get(oid)

    def read_header_cb(self, oid):
        kind, data = self._get(oid)
        return kind, len(data)

    def read_prefix_cb(self, prefix: str):
        oid = self.exists_prefix_cb(prefix)
        return (*self._get(oid), oid)

    def exists_cb(self, oid):
        return oid.raw in self.objects

    def exists_prefix_cb(self, prefix: str) -> pygit2.Oid:
        """Odb.read asks by prefix, even with a whole id; only a few objects live here."""
        found = [raw for raw in self.objects if raw.hex().startswith(prefix)]
        if len(found) != 1:
            raise KeyError(prefix) if not found else ValueError(f"{prefix} is ambiguous")
        return pygit2.Oid(raw=found[0])

    def write_cb(self, oid, data, kind):
        self.objects[oid.raw] = (kind, bytes(data))

    def refresh_cb(self):
        pass
