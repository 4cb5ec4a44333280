"""One side of a change: a package directory as one commit holds it, read from git, never from the work tree.

Each side's directory is written to a temporary directory that becomes the
evaluator's ``root``, so the ``hashes.json`` an expression imports is the one
of the same commit. Only regular files are written, within byte bounds: the
pull request's author controls every byte of the head side. The package
directories a change touches are found here too, on both sides' trees.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.bump.limits import MAX_BLOB_BYTES, MAX_CHECKOUT_BYTES, MAX_PACKAGE_FILES
from commitguard.bump.syntax import ExpressionSummary
from commitguard.errors import CommitguardError
from commitguard.git.trees import read_blob, tree_at, walk_tree
from commitguard.nix.evaluator import Evaluator
from commitguard.nix.fetchers import read_package
from commitguard.nix.parser import parse
from commitguard.nix.values import Attrs, Derivation
from commitguard.model.sources import PackageExpression

MAIN_FILES = ("package.nix", "default.nix")

Files = dict[str, tuple[pygit2.Oid, int]]


@dataclass(frozen=True)
class Side:
    """A package directory at one commit."""

    commit: str
    files: Files
    main: str | None  # the expression's file name inside the directory
    expression: PackageExpression | None = None
    source: bytes | None = None
    summary: ExpressionSummary | None = None
    checkout: Path | None = None  # the temporary copy of the directory the expression was read from
    system: str = "x86_64-linux"
    notes: tuple[str, ...] = ()

    @property
    def version(self) -> str | None:
        return self.expression.version if self.expression is not None else None


def _has_main(tree) -> bool:
    return any(name in tree for name in MAIN_FILES)


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in ("/", "\\", "\0"))


def _directory_files(repo: pygit2.Repository, tree: pygit2.Tree, directory: str, notes: list[str]) -> Files:
    """The blobs of a package directory, without nested package directories (each is a package of its own)."""
    top = tree_at(repo, tree, directory)
    if top is None:
        return {}

    def keep(entry) -> bool:
        if _safe_name(entry.name):
            return True
        notes.append(f"{directory}: skipped an entry with an unsafe name {entry.name!r}")
        return False

    out: Files = {}
    for rel, entry in walk_tree(repo, top, keep, descend=lambda sub: not _has_main(sub)):
        if entry.type_str != "blob":
            continue
        if len(out) >= MAX_PACKAGE_FILES:
            notes.append(f"{directory}: more than {MAX_PACKAGE_FILES} files; the rest are not compared")
            return out
        out[rel] = (entry.id, entry.filemode)
    return out


def blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes | None:
    """A file of either side, within the byte bound an author-controlled blob is read to."""
    return read_blob(repo, oid, limit=MAX_BLOB_BYTES)


def _checkout(repo: pygit2.Repository, files: Files, dest: Path, first: str,
              notes: list[str]) -> None:
    """Regular files only: a symlink from the change could point the evaluator anywhere.
    The expression's own file is written first, then the others while the byte budget lasts."""
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    for rel in sorted(files, key=lambda r: r != first):
        oid, mode = files[rel]
        if stat.S_ISLNK(mode) or mode == pygit2.GIT_FILEMODE_COMMIT:
            continue
        data = blob(repo, oid)
        if data is None:
            continue
        written += len(data)
        if written > MAX_CHECKOUT_BYTES:
            notes.append(f"the package directory holds more than {MAX_CHECKOUT_BYTES} bytes; "
                         "files beyond that are not readable by the expression here")
            return
        target = dest.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def read_side(repo: pygit2.Repository, commit: str, directory: str, main: str | None, scratch: Path,
              system: str) -> Side:
    """``directory`` at ``commit``: its package directory (``main`` None, the expression is
    package.nix or default.nix), or one expression file ``main`` of a directory of several, whose
    siblings belong to other expressions and are then not compared (the expression may still read them)."""
    notes: list[str] = []
    tree = repo[commit].tree
    files = _directory_files(repo, tree, directory, notes)
    alone = main is not None
    if main is None:
        main = next((m for m in MAIN_FILES if m in files), None)
    main = main if main in files else None
    compared = {k: v for k, v in files.items() if k == main} if alone else files
    if main is None:
        return Side(commit, compared, None, system=system, notes=tuple(notes))
    source = blob(repo, files[main][0])
    if source is None:
        notes.append(f"{main} is larger than {MAX_BLOB_BYTES} bytes or not a file; not read")
        return Side(commit, compared, main, system=system, notes=tuple(notes))
    root = scratch / commit[:12] / directory
    _checkout(repo, files, root, main, notes)
    expression = read_package(root / main, source, system=system, root=root)
    summary = ExpressionSummary(source, expression.version)
    if summary.error:
        notes.append(f"{main}: {summary.error}")
    return Side(commit, compared, main, expression=expression, source=source, summary=summary, checkout=root,
                system=system, notes=tuple(notes))


def homepage(side: Side) -> str | None:
    """``meta.homepage``: where a release tarball's tagged repository may be found."""
    if side.checkout is None or side.source is None or side.main is None:
        return None
    try:
        ev = Evaluator(side.source, parse(side.source), side.checkout / side.main, root=side.checkout,
                       system=side.system, max_steps=50_000)
        top = ev.evaluate_file()
        attrs = ev.force(top.attrs) if isinstance(top, Derivation) else top
        if not isinstance(attrs, Attrs) or "meta" not in attrs.items:
            return None
        meta = ev.force(attrs.items["meta"])
        if not isinstance(meta, Attrs) or "homepage" not in meta.items:
            return None
        value = ev.to_python(meta.items["homepage"])
        return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None
    except Exception:  # noqa: BLE001 - a hostile file only loses this hint, never the audit
        return None


def _is_package_dir(repo: pygit2.Repository, trees: list[pygit2.Tree], directory: str) -> bool:
    for tree in trees:
        sub = tree_at(repo, tree, directory)
        if sub is not None and _has_main(sub):
            return True
    return False


def package_dirs(repo: pygit2.Repository, trees: list[pygit2.Tree], files: list[str]):
    """Each changed file's package directory (the nearest one holding package.nix or default.nix
    on either side; the repository root is never one), and the files outside any."""
    dirs: dict[str, str | None] = {}
    outside: list[str] = []
    for path in files:
        parts = PurePosixPath(path).parts
        found = None
        for depth in range(len(parts) - 1, 0, -1):
            directory = "/".join(parts[:depth])
            if _is_package_dir(repo, trees, directory):
                found = directory
                break
        if found is not None:
            dirs.setdefault(found, None)
        elif path.endswith(".nix"):
            # an expression file in a directory of several: audited on its own
            dirs.setdefault(path, PurePosixPath(path).name)
        else:
            outside.append(path)
    return dirs, outside


def select_only(dirs: dict[str, str | None], expressions: tuple[str, ...]) -> tuple[dict[str, str | None], list[str]]:
    """The package directories (or lone expression files) of ``dirs`` that hold one of ``expressions``."""
    wanted = set(expressions)
    keep: dict[str, str | None] = {}
    for key, main in dirs.items():
        if key in wanted or any(e.startswith(key + "/") for e in wanted):
            keep[key] = main
    untouched = [e for e in expressions if not any(e == k or e.startswith(k + "/") for k in keep)]
    if untouched:
        raise CommitguardError(f"the change does not touch {', '.join(untouched)}", field="PACKAGE")
    return keep, [key for key in dirs if key not in keep]


def is_package(expression: PackageExpression | None) -> bool:
    return expression is not None and bool(expression.name or expression.version or expression.sources)

