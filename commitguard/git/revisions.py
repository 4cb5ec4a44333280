"""Which commits a command must judge: git's revision semantics, plus the trust root.

``REV`` means everything reachable from it, ``A..B`` and ``^A`` exclude
what A reaches, and a trust root cuts history below itself (the root itself
is still judged). Commits that reach past the trust root by another path (a
side branch forked before it and merged later) are judged too: the cut only
removes the root's own ancestors.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pygit2

from commitguard.errors import RepositoryError
from commitguard.git.raw_walk import RawWalk, WalkRefused, walkable


# nixpkgs has under a million commits; twice that is a typo or a repository
# built to exhaust us. ``verify --max-commits`` raises it.
DEFAULT_MAX_COMMITS = 2_000_000


@dataclass(frozen=True)
class Selection:
    ids: tuple[str, ...]  # newest first (topological)
    warnings: tuple[str, ...] = ()


# libgit2's own default for commits (src/libgit2/cache.c).
_LIBGIT2_COMMIT_CACHE_LIMIT = 4096
_WINDOW = 16 * 1024 * 1024
_MAPPED = 64 * 1024 * 1024


@contextmanager
def pack_windows_bounded() -> Iterator[None]:
    """Keep what libgit2 maps of pack files to 64 MiB while history is read.

    libgit2 maps pack files in windows of 1 GiB, up to 8 GiB, and every page
    read stays resident: reading a million commits, or the newest expression
    of 100,000 packages scattered through a 2 GB pack, made a gigabyte of
    the process's resident memory mapped pack file. Windows of 16 MiB, at
    most four of them, cost a few percent of speed. Process-wide, so
    restored afterwards; workers forked inside inherit it.
    """
    settings = pygit2.settings
    window, mapped = settings.mwindow_size, settings.mwindow_mapped_limit
    settings.mwindow_size = min(window, _WINDOW)
    settings.mwindow_mapped_limit = min(mapped, _MAPPED)
    try:
        yield
    finally:
        settings.mwindow_size, settings.mwindow_mapped_limit = window, mapped


@contextmanager
def commits_read_once() -> Iterator[None]:
    """Keep libgit2 from caching commits while a long history is walked.

    libgit2 keeps every commit it parses in the repository's object cache (up
    to 256 MiB). A verification run reads each commit once or twice, so at
    100,000 commits that cache is 100 MB of memory and saves about 1 s; at a
    million it would be the largest thing in memory. The setting is
    process-wide, so it is restored afterwards. Pack windows are bounded too
    (:func:`pack_windows_bounded`).
    """
    pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.COMMIT, 0)
    try:
        with pack_windows_bounded():
            yield
    finally:
        pygit2.settings.cache_object_limit(pygit2.enums.ObjectType.COMMIT, _LIBGIT2_COMMIT_CACHE_LIMIT)


def open_repository(path: str) -> pygit2.Repository:
    try:
        found = pygit2.discover_repository(path)
    except pygit2.GitError as exc:
        raise RepositoryError(f"cannot open: {exc}", path=path) from None
    if found is None:
        raise RepositoryError("not a git repository", path=path)
    try:
        return pygit2.Repository(found)
    except pygit2.GitError as exc:
        raise RepositoryError(f"cannot open: {exc}", path=path) from None


def resolve_commit(repo: pygit2.Repository, rev: str, what: str = "revision") -> pygit2.Oid:
    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "not found"
        raise RepositoryError(f"unknown {what} {rev!r} ({detail})", path=repo.workdir or repo.path) from None
    return commit.id


def parse_revisions(repo: pygit2.Repository, revs: list[str]) -> tuple[list[pygit2.Oid], list[pygit2.Oid]]:
    """Split git-style revision arguments into (include, exclude) commit ids."""
    include: list[pygit2.Oid] = []
    exclude: list[pygit2.Oid] = []
    for rev in revs or ["HEAD"]:
        if "..." in rev:
            raise RepositoryError(f"symmetric ranges are not supported ({rev!r}); use A..B", field="REV")
        if ".." in rev:
            left, right = rev.split("..", 1)
            exclude.append(resolve_commit(repo, left or "HEAD"))
            include.append(resolve_commit(repo, right or "HEAD"))
        elif rev.startswith("^"):
            exclude.append(resolve_commit(repo, rev[1:]))
        else:
            include.append(resolve_commit(repo, rev))
    return include, exclude


def select_commits(
    repo: pygit2.Repository,
    revs: list[str],
    trust_root: str | None = None,
    *,
    max_commits: int | None = None,
) -> Selection:
    walk = HistoryWalk(repo, revs, trust_root, max_commits=max_commits)
    for _ in walk:
        pass
    return walk.selection


class HistoryWalk:
    """The commits a selection names, handed out as the walk reaches them.

    Iterating yields each selected commit id once, so work on the first ones
    can start while the walk goes on; once the iteration is over,
    ``selection`` holds them all in history order (newest first,
    topological) with the warnings. Revisions and the trust root are resolved
    when the walk is made, so a bad revision fails before anything starts.
    """

    def __init__(self, repo: pygit2.Repository, revs: list[str], trust_root: str | None = None, *,
                 max_commits: int | None = None, keep_objects: bool = False):  # fmt: skip
        self._repo = repo
        self._keep_objects = keep_objects
        self._raw: RawWalk | None = None
        self._include, self._exclude = parse_revisions(repo, revs)
        self._limit = max_commits if max_commits is not None else DEFAULT_MAX_COMMITS
        self._warnings: list[str] = []
        self._root = None
        if trust_root:
            self._root = resolve_commit(repo, trust_root, "trust root")
            if not any(_is_ancestor(repo, self._root, tip) for tip in self._include):
                self._warnings.append(
                    f"trust root {self._root} is not an ancestor of the checked revisions: "
                    "history is checked down to its first commit"
                )
        self._selection: Selection | None = None
        self._counted = 0

    @property
    def include(self) -> list[pygit2.Oid]:
        return list(self._include)

    @property
    def exclude(self) -> list[pygit2.Oid]:
        return list(self._exclude)

    @property
    def root(self) -> pygit2.Oid | None:
        return self._root

    def hide_known(self, tips, counted: int) -> None:
        """Leave out everything ``tips`` reach: ``counted`` commits judged already (a verified
        frontier), which still count towards ``max_commits``."""
        if self._selection is not None:
            raise RuntimeError("the walk has already run")
        self._exclude.extend(pygit2.Oid(hex=str(t)) for t in tips)
        self._counted = counted
        if counted > self._limit:
            raise _too_many(self._limit)

    @property
    def selection(self) -> Selection:
        if self._selection is None:
            raise RuntimeError("the walk has not been run to its end")
        return self._selection

    def pop_object(self, commit_id: str) -> bytes | None:
        """The bytes of a commit just handed out, once, when the walk was made with
        ``keep_objects`` and read them itself (None otherwise: read them from the repository)."""
        return self._raw.pop_object(commit_id) if self._raw is not None else None

    def __iter__(self) -> Iterator[str]:
        limit = self._limit - self._counted
        handed_out: list[str] = []
        if walkable(self._repo, self._include, self._exclude, self._root):
            # one tip, nothing hidden: walked from the commits' bytes, in libgit2's order
            self._raw = RawWalk(self._repo, str(self._include[0]), keep_objects=self._keep_objects)
            try:
                for commit_id in self._raw:
                    handed_out.append(commit_id)
                    if len(handed_out) > limit:
                        raise _too_many(self._limit)
                    yield commit_id
            except WalkRefused:
                self._raw = None  # libgit2's walk takes over, and says what is wrong
            else:
                self._selection = Selection(ids=tuple(self._raw.order()), warnings=tuple(self._warnings))
                return
        yield from self._libgit2_walk(limit, set(handed_out))

    def _libgit2_walk(self, limit: int, handed_out: set[str]) -> Iterator[str]:
        repo = self._repo
        ids: list[str] = []
        try:
            walker = repo.walk(None, pygit2.GIT_SORT_TOPOLOGICAL)
            for oid in self._include:
                walker.push(oid)
            for oid in self._exclude:
                walker.hide(oid)
            if self._root is not None:
                for parent in repo[self._root].parent_ids:
                    walker.hide(parent)
            for commit in walker:  # counted as it goes: a hostile range stops at the limit, not at its end
                commit_id = str(commit.id)
                ids.append(commit_id)
                if len(ids) > limit:
                    raise _too_many(self._limit)
                if commit_id not in handed_out:
                    yield commit_id
        except (KeyError, pygit2.GitError):
            # libgit2 refuses walks that touch a missing object (shallow clones,
            # objects copied alone); walk by hand and report what is missing.
            handed_out.update(ids)
            ids = _walk_by_hand(repo, self._include, self._exclude, self._root, limit, self._limit)
            for commit_id in ids:
                if commit_id not in handed_out:
                    yield commit_id
        self._selection = Selection(ids=tuple(ids), warnings=tuple(self._warnings))


def _too_many(limit: int) -> RepositoryError:
    return RepositoryError(
        f"more than {limit:,} commits selected: pass --trust-root or a narrower range (A..B), "
        "or raise --max-commits if the whole history is meant",
        field="REV",
    )


def _walk_by_hand(repo, include, exclude, root_oid, limit: int, shown_limit: int) -> list[str]:
    hidden = _ancestors(repo, exclude, tolerate_missing=True)
    order: list[str] = []
    seen: set = set()
    queue = deque(include)
    while queue:
        oid = queue.popleft()
        if oid in seen or oid in hidden:
            continue
        seen.add(oid)
        if len(order) >= limit:
            raise _too_many(shown_limit)
        try:
            commit = repo[oid]
        except KeyError:
            raise RepositoryError(
                f"commit {oid} is missing from the object database (shallow or partial clone?): "
                "fetch more history or pass --trust-root at a commit whose history is complete",
                path=repo.path,
            ) from None
        order.append(str(oid))
        if oid == root_oid:
            continue
        queue.extend(commit.parent_ids)
    return order


def _ancestors(repo, tips, *, tolerate_missing: bool) -> set:
    out: set = set()
    queue = deque(tips)
    while queue:
        oid = queue.popleft()
        if oid in out:
            continue
        try:
            commit = repo[oid]
        except KeyError:
            if tolerate_missing:
                continue
            raise
        out.add(oid)
        queue.extend(commit.parent_ids)
    return out


def _is_ancestor(repo, ancestor, tip) -> bool:
    if ancestor == tip:
        return True
    try:
        return repo.descendant_of(tip, ancestor)
    except (KeyError, pygit2.GitError):
        return ancestor in _ancestors(repo, [tip], tolerate_missing=True)


def topological_order(repo: pygit2.Repository, ids) -> list[str]:
    """``ids`` ordered parents first (every commit after all its parents in ``ids``)."""
    wanted = set(ids)
    order: list[str] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: emitted
    for start in ids:
        if state.get(start):
            continue
        stack = [(start, False)]
        while stack:
            commit_id, expanded = stack.pop()
            if expanded:
                if state.get(commit_id) != 2:
                    state[commit_id] = 2
                    order.append(commit_id)
                continue
            if state.get(commit_id):
                continue
            state[commit_id] = 1
            stack.append((commit_id, True))
            for parent in repo[commit_id].parent_ids:
                p = str(parent)
                if p in wanted and not state.get(p):
                    stack.append((p, False))
    return order
