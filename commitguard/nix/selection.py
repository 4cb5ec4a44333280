"""Which package expressions a command line names.

``sources``, ``annotate``, ``pin`` and ``audit-bump`` take package arguments.
An argument is a path or a package name:

- a **path** is relative to the current directory, as git takes paths, and
  must lie in the repository. When the current directory is outside the
  repository's work tree (``--repo`` elsewhere) and the path does not exist
  there, it is read from the repository's top, as earlier releases did, so
  scripts written for them keep working;
- a **name** is resolved as nixpkgs resolves it: ``pkgs/by-name/he/hello/package.nix``
  for ``hello``; else an attribute bound to ``callPackage ./some/path`` in
  ``pkgs/top-level/all-packages.nix`` (``python3Packages.requests``: in
  ``pkgs/top-level/python-packages.nix``); else the one directory of that name
  holding a ``package.nix`` or ``default.nix``. A name that matches nothing, or
  several directories, is an error (exit 2): nothing is guessed.

A ``default.nix`` that only wraps the ``package.nix`` beside it
(``{ callPackage }: callPackage ./package.nix { }``) is the same package:
it is dropped where both would be listed, and naming it selects ``package.nix``.

Paths are looked up in what the command reads: the working tree for
``sources``, the examined revision for the others. The result is a list of
repository-relative POSIX paths of expression files, in argument order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from commitguard.errors import CommitguardError
from commitguard.git.trees import read_blob

BY_NAME = "pkgs/by-name"
TOP_LEVEL = "pkgs/top-level/all-packages.nix"
EXPRESSION_NAMES = ("package.nix", "default.nix")
SKIP_DIRS = {".git", "node_modules", "result", ".direnv"}
# Bounds on what one selection may walk or read (nixpkgs has ~40,000 .nix files).
MAX_EXPRESSIONS = 200_000
MAX_WALK_ENTRIES = 2_000_000
MAX_TOP_LEVEL_BYTES = 16 << 20
MAX_WRAPPER_BYTES = 4096

_ATTR = re.compile(r"^[A-Za-z_][A-Za-z0-9_'-]*$")
_PACKAGE_SET = re.compile(r"^([a-z]+?)[0-9]*Packages$")
# What a default.nix that "only wraps package.nix" may not mention: anything that
# would make it a package of its own (a fetcher, a source, a version).
_OWN_PACKAGE = re.compile(rb"fetch|\bsrc\b|\bversion\b|\bpname\b|mkDerivation|buildPythonPackage")
_COMMENTS = re.compile(rb"#[^\n]*|/\*.*?\*/", re.S)


@dataclass(frozen=True)
class Selected:
    """One argument, resolved: ``how`` is ``path``, ``by-name``, ``attribute`` or ``directory``."""

    argument: str
    path: str  # repository-relative: an expression file or a directory
    how: str


class _Tree(ABC):
    """What selection reads: the working tree or one revision."""

    @abstractmethod
    def kind(self, path: str) -> str | None:
        """"file", "dir" or None."""

    @abstractmethod
    def children(self, path: str) -> list[tuple[str, str]]:
        """(name, kind) of each entry of a directory."""

    @abstractmethod
    def read(self, path: str, limit: int) -> bytes | None:
        """A file's bytes, or None past ``limit``."""


class WorkTree(_Tree):
    """Files on disk under ``root`` (``sources`` reads the working tree)."""

    def __init__(self, root: Path):
        self.root = Path(os.path.realpath(root))

    def _full(self, path: str) -> Path:
        return self.root / path if path else self.root

    def kind(self, path: str) -> str | None:
        full = self._full(path)
        if full.is_symlink():
            # a link is followed only within the repository, as the reader does
            target = Path(os.path.realpath(full))
            if not target.is_relative_to(self.root):
                return None
        if full.is_file():
            return "file"
        if full.is_dir():
            return "dir"
        return None

    def children(self, path: str) -> list[tuple[str, str]]:
        out = []
        try:
            entries = list(os.scandir(self._full(path)))
        except OSError:
            return []
        for entry in entries:
            try:
                if entry.is_symlink():
                    # a linked file counts when it stays in the repository; a linked
                    # directory is not walked into, as os.walk does not (cycles)
                    if self.kind(f"{path}/{entry.name}" if path else entry.name) == "file":
                        out.append((entry.name, "file"))
                elif entry.is_dir(follow_symlinks=False):
                    out.append((entry.name, "dir"))
                elif entry.is_file(follow_symlinks=False):
                    out.append((entry.name, "file"))
            except OSError:
                continue
        return sorted(out)

    def read(self, path: str, limit: int) -> bytes | None:
        try:
            with open(self._full(path), "rb") as handle:
                return handle.read(limit + 1)
        except OSError:
            return None


class RevisionTree(_Tree):
    """The tree of one commit (``annotate``, ``pin``, ``audit-bump`` read a revision).

    Each directory is listed once and kept: a name search walks every
    directory, and looking each path up from the root again costs minutes
    on a nixpkgs-sized tree."""

    def __init__(self, repo, commit_id: str):
        self.repo = repo
        self.root_id = repo[commit_id].tree_id
        self._listings: dict[str, dict[str, tuple[str, object]] | None] = {}

    def _listing(self, path: str) -> dict[str, tuple[str, object]] | None:
        if path in self._listings:
            return self._listings[path]
        if not path:
            oid = self.root_id
        else:
            parent, _, name = path.rpartition("/")
            above = self._listing(parent)
            entry = above.get(name) if above else None
            oid = entry[1] if entry and entry[0] == "dir" else None
        listing = None
        if oid is not None:
            listing = {}
            for entry in self.repo[oid]:
                if entry.type_str == "tree":
                    listing[entry.name] = ("dir", entry.id)
                elif entry.type_str == "blob" and entry.filemode != 0o120000:
                    listing[entry.name] = ("file", entry.id)
        self._listings[path] = listing
        return listing

    def kind(self, path: str) -> str | None:
        path = path.strip("/")
        if not path:
            return "dir"
        parent, _, name = path.rpartition("/")
        listing = self._listing(parent)
        entry = listing.get(name) if listing else None
        return entry[0] if entry else None

    def children(self, path: str) -> list[tuple[str, str]]:
        listing = self._listing(path.strip("/"))
        return sorted((name, kind) for name, (kind, _) in listing.items()) if listing else []

    def read(self, path: str, limit: int) -> bytes | None:
        parent, _, name = path.strip("/").rpartition("/")
        listing = self._listing(parent)
        entry = listing.get(name) if listing else None
        if not entry or entry[0] != "file":
            return None
        return read_blob(self.repo, entry[1], limit=limit)


# --------------------------------------------------------------------------- arguments


def resolve_arguments(tree: _Tree, top: Path | None, arguments: list[str], cwd: Path | None = None) -> list[Selected]:
    """Each argument as a repository-relative path (see the module docstring).

    ``top`` is the repository's work tree (None for a bare repository: paths
    are then taken from the repository's top)."""
    cwd = Path(os.path.realpath(cwd or os.getcwd()))
    top_real = Path(os.path.realpath(top)) if top is not None else None
    inside = top_real is not None and (cwd == top_real or cwd.is_relative_to(top_real))
    selected = []
    for argument in arguments:
        if not argument.strip():
            raise CommitguardError("an empty package argument", field="PACKAGE")
        path = _as_path(tree, top_real, cwd, inside, argument)
        if path is not None:
            selected.append(Selected(argument, path, "path"))
            continue
        if _looks_like_path(argument):
            where = f"relative to {cwd}" if inside or top_real is None else f"relative to {cwd} or to {top_real}"
            raise CommitguardError(f"no such file or directory in the repository ({where})", path=argument,
                                   field="PACKAGE")
        selected.append(resolve_name(tree, argument))
    return selected


def _looks_like_path(argument: str) -> bool:
    return "/" in argument or os.sep in argument or argument.endswith(".nix") or argument in (".", "..")


def _as_path(tree: _Tree, top: Path | None, cwd: Path, inside: bool, argument: str) -> str | None:
    """The argument's repository-relative path when it names something in the tree."""
    candidates: list[str] = []
    if top is not None:
        absolute = Path(os.path.normpath(cwd / argument))
        for form in (absolute, Path(os.path.realpath(absolute))):
            if form == top or form.is_relative_to(top):
                candidates.append(form.relative_to(top).as_posix())
                break
        else:
            if inside or (_looks_like_path(argument) and os.path.exists(absolute)):
                raise CommitguardError(f"outside the repository {top}", path=argument, field="PACKAGE")
    if not inside and not os.path.isabs(argument):
        # the current directory is outside the work tree: the repository's top, as before
        clean = PurePosixPath(argument.replace(os.sep, "/"))
        if ".." not in clean.parts:
            candidates.append(str(clean))
    for candidate in candidates:
        candidate = "" if candidate == "." else candidate
        if tree.kind(candidate) is not None:
            return candidate
    return None


def resolve_name(tree: _Tree, name: str) -> Selected:
    """A package name: by-name, then a top-level attribute, then a unique directory."""
    if "." not in name and _ATTR.match(name):
        by_name = f"{BY_NAME}/{name[:2].lower()}/{name}/package.nix"
        if tree.kind(by_name) == "file":
            return Selected(name, by_name, "by-name")
    found = _attribute(tree, name)
    if found is not None:
        return Selected(name, found, "attribute")
    # a unique directory of that name, for plain names only: the attribute of a
    # package set need not be its directory's name, and nothing is guessed
    matches = _directories_named(tree, name) if _ATTR.match(name) else []
    if len(matches) == 1:
        return Selected(name, matches[0], "directory")
    if len(matches) > 1:
        raise CommitguardError(f"package name {name!r} is ambiguous ({', '.join(matches[:5])}): name the path",
                               field="PACKAGE")
    if "." in name:
        file = attribute_file(name)
        where = f"not a callPackage attribute of {file}" if file else "not a NAME or SETPackages.NAME nixpkgs resolves"
        raise CommitguardError(f"no package {name!r}: {where} (a path is taken relative to the current directory)",
                               field="PACKAGE")
    raise CommitguardError(
        f"no package {name!r}: not in {BY_NAME}, not a callPackage attribute of {TOP_LEVEL}, and no directory "
        f"of that name holds package.nix or default.nix (a path is taken relative to the current directory)",
        field="PACKAGE")


def attribute_file(name: str) -> str | None:
    """The top-level file that binds ``name``: all-packages.nix, or ``SET-packages.nix``
    for ``SETPackages.NAME`` (``python3Packages.requests``: python-packages.nix)."""
    parts = name.split(".")
    if len(parts) == 1:
        return TOP_LEVEL if _ATTR.match(name) else None
    found = _PACKAGE_SET.match(parts[0])
    if len(parts) == 2 and found and _ATTR.match(parts[1]):
        return f"pkgs/top-level/{found.group(1)}-packages.nix"
    return None


def _attribute(tree: _Tree, name: str) -> str | None:
    """``name = callPackage ./path { ... };`` in the top-level file of its package set."""
    file = attribute_file(name)
    if file is None:
        return None
    attr = name.split(".")[-1]
    text = tree.read(file, MAX_TOP_LEVEL_BYTES)
    if text is None or len(text) > MAX_TOP_LEVEL_BYTES:
        return None
    pattern = re.compile(
        rb"^[ \t]*" + re.escape(attr.encode()) + rb"[ \t]*=[ \t\n]*(?:[A-Za-z0-9_.]*\.)?callPackages?[ \t\n]+"
        rb"(\.{1,2}/[A-Za-z0-9_./+-]+)", re.M)
    match = pattern.search(text)
    if match is None:
        return None
    target = os.path.normpath(f"{PurePosixPath(file).parent}/{match.group(1).decode()}").replace(os.sep, "/")
    if target.startswith("..") or os.path.isabs(target):
        return None
    kind = tree.kind(target)
    if kind == "file":
        return target
    if kind == "dir":
        return _expression_in(tree, target)
    return None


def _expression_in(tree: _Tree, directory: str) -> str | None:
    for name in EXPRESSION_NAMES:
        candidate = f"{directory}/{name}" if directory else name
        if tree.kind(candidate) == "file":
            return candidate
    return None


def _directories_named(tree: _Tree, name: str) -> list[str]:
    found, stack, walked = [], [""], 0
    while stack:
        directory = stack.pop()
        for child, kind in tree.children(directory):
            walked += 1
            if walked > MAX_WALK_ENTRIES:
                raise CommitguardError(f"more than {MAX_WALK_ENTRIES} entries searched for {name!r}: name the path",
                                       field="PACKAGE")
            if kind != "dir" or child in SKIP_DIRS:
                continue
            path = f"{directory}/{child}" if directory else child
            if child == name and not path.startswith(BY_NAME + "/"):
                expression = _expression_in(tree, path)
                if expression is not None:
                    found.append(expression)
            stack.append(path)
    return sorted(found)


# --------------------------------------------------------------------------- expressions


def expressions(tree: _Tree, selected: list[Selected]) -> list[str]:
    """The expression files the selection stands for: a directory's ``package.nix``
    and ``default.nix`` files (a wrapper ``default.nix`` beside a ``package.nix``
    dropped), a named file as it is (a wrapper named: its ``package.nix``)."""
    out: dict[str, None] = {}
    for item in selected:
        if tree.kind(item.path) == "file":
            out.setdefault(_unwrap(tree, item.path), None)
            continue
        for path in _walk(tree, item.path):
            out.setdefault(path, None)
            if len(out) > MAX_EXPRESSIONS:
                raise CommitguardError(f"more than {MAX_EXPRESSIONS} expression files", path=item.argument,
                                       field="PACKAGE")
    return list(out)


def _walk(tree: _Tree, root: str) -> list[str]:
    found, stack, walked = [], [root], 0
    while stack:
        directory = stack.pop()
        entries = tree.children(directory)
        names = {name for name, kind in entries if kind == "file"}
        for name in EXPRESSION_NAMES:
            if name in names:
                path = f"{directory}/{name}" if directory else name
                if name == "default.nix" and "package.nix" in names and is_wrapper(tree, path):
                    continue
                found.append(path)
        for name, kind in reversed(entries):
            walked += 1
            if walked > MAX_WALK_ENTRIES:
                raise CommitguardError(f"more than {MAX_WALK_ENTRIES} entries under it", path=root or ".",
                                       field="PACKAGE")
            if kind == "dir" and name not in SKIP_DIRS:
                stack.append(f"{directory}/{name}" if directory else name)
    return sorted(found)


def _unwrap(tree: _Tree, path: str) -> str:
    p = PurePosixPath(path)
    if p.name == "default.nix":
        sibling = str(p.parent / "package.nix") if str(p.parent) != "." else "package.nix"
        if tree.kind(sibling) == "file" and is_wrapper(tree, path):
            return sibling
    return path


def is_wrapper(tree: _Tree, path: str) -> bool:
    """Whether a ``default.nix`` only wraps the ``package.nix`` beside it: it
    names ``./package.nix`` and nothing that makes a package of its own."""
    text = tree.read(path, MAX_WRAPPER_BYTES)
    if text is None or len(text) > MAX_WRAPPER_BYTES:
        return False
    code = _COMMENTS.sub(b" ", text)
    return re.search(rb"\./package\.nix\b", code) is not None and _OWN_PACKAGE.search(code) is None


# --------------------------------------------------------------------------- entry points


def select_in_worktree(root: Path, arguments: list[str], cwd: Path | None = None) -> list[str]:
    """Expression files (relative to ``root``) that ``arguments`` name in the working tree."""
    tree = WorkTree(root)
    return expressions(tree, resolve_arguments(tree, tree.root, arguments, cwd))


def select_in_revision(repo, commit_id: str, arguments: list[str], cwd: Path | None = None) -> list[str]:
    """Expression files that ``arguments`` name in revision ``commit_id``."""
    tree = RevisionTree(repo, commit_id)
    top = Path(repo.workdir) if repo.workdir else None
    return expressions(tree, resolve_arguments(tree, top, arguments, cwd))


def resolve_in_revision(repo, commit_id: str, arguments: list[str], cwd: Path | None = None) -> list[Selected]:
    """Each argument resolved in ``commit_id``, directories not expanded (``pin`` locks what was named)."""
    tree = RevisionTree(repo, commit_id)
    top = Path(repo.workdir) if repo.workdir else None
    return resolve_arguments(tree, top, arguments, cwd)
