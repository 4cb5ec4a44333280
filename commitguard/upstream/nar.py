"""Nix archive (NAR) hashes, computed the way Nix computes a fixed-output hash.

A signed tag vouches for a git tree; the package expression pins a NAR hash
of whatever the fetcher unpacked. Only when the two are the same bytes does
the tag vouch for the expression, so the tree's NAR is computed here straight
from git's objects (no checkout: a checkout would apply the mirror's own
attributes and filters, and cost a disk copy), and an unpacked archive's NAR
from the directory it was unpacked into.

The format (Nix's ``dumpPath``): every string is a little-endian u64 length,
the bytes, and zero padding to 8; a node is ``( type regular [executable ""]
contents <data> )``, ``( type symlink target <t> )`` or ``( type directory
(entry ( name <n> node <node> ))... )`` with entries in byte order of their
names. Serialisation is iterative: a hostile tree nested ten thousand deep
must not exhaust Python's stack.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import pygit2

HASH_ALGORITHMS = ("sha256", "sha512", "sha1")
_PAD = bytes(8)
_CHUNK = 1 << 20

MODE_TREE = 0o040000
MODE_LINK = 0o120000
MODE_GITLINK = 0o160000


class NarError(ValueError):
    """The input cannot be a Nix store path (a name Nix refuses, a device file...)."""


def sri(algorithm: str, digest: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(digest).decode()}"


def parse_sri(text: str | None) -> tuple[str, bytes] | None:
    """(algorithm, digest) of an SRI hash, or None when it is not one we can compute."""
    if not isinstance(text, str):
        return None
    algorithm, sep, b64 = text.strip().partition("-")
    if not sep or algorithm not in HASH_ALGORITHMS:
        return None
    try:
        digest = base64.b64decode(b64, validate=True)
    except ValueError:
        return None
    if len(digest) != hashlib.new(algorithm).digest_size:
        return None
    return algorithm, digest


class _Writer:
    def __init__(self, algorithm: str):
        self.hash = hashlib.new(algorithm)
        self.algorithm = algorithm

    def string(self, data: bytes) -> None:
        self.hash.update(len(data).to_bytes(8, "little"))
        self.hash.update(data)
        if len(data) % 8:
            self.hash.update(_PAD[: 8 - len(data) % 8])

    def contents(self, size: int, chunks: Iterable[bytes]) -> None:
        self.hash.update(size.to_bytes(8, "little"))
        seen = 0
        for chunk in chunks:
            seen += len(chunk)
            if seen > size:
                break
            self.hash.update(chunk)
        if seen != size:
            raise NarError("a file changed size while it was read")
        if size % 8:
            self.hash.update(_PAD[: 8 - size % 8])

    def sri(self) -> str:
        return sri(self.algorithm, self.hash.digest())


@dataclass(frozen=True)
class Regular:
    executable: bool
    size: int
    chunks: Callable[[], Iterator[bytes]]


@dataclass(frozen=True)
class Symlink:
    target: bytes


@dataclass(frozen=True)
class Directory:
    entries: list  # [(name bytes, child node handle)]


def _check_name(name: bytes) -> None:
    if not name or name in (b".", b"..") or b"/" in name or b"\0" in name:
        raise NarError(f"a directory entry named {name!r} cannot be in a Nix archive")


def serialize(writer: _Writer, root, expand: Callable[[object], Regular | Symlink | Directory]) -> None:
    writer.string(b"nix-archive-1")
    stack: list[tuple[bool, object]] = [(False, root)]  # (is_tokens, item)
    while stack:
        is_tokens, item = stack.pop()
        if is_tokens:
            for token in item:  # type: ignore[attr-defined]
                writer.string(token)
            continue
        node = expand(item)
        writer.string(b"(")
        writer.string(b"type")
        if isinstance(node, Regular):
            writer.string(b"regular")
            if node.executable:
                writer.string(b"executable")
                writer.string(b"")
            writer.string(b"contents")
            writer.contents(node.size, node.chunks())
            writer.string(b")")
        elif isinstance(node, Symlink):
            writer.string(b"symlink")
            writer.string(b"target")
            writer.string(node.target)
            writer.string(b")")
        else:
            writer.string(b"directory")
            entries = sorted(node.entries, key=lambda e: e[0])
            for i, (name, _) in enumerate(entries):
                _check_name(name)
                if i and entries[i - 1][0] == name:
                    raise NarError(f"two directory entries named {name!r}")
            stack.append((True, (b")",)))
            for name, child in reversed(entries):
                stack.append((True, (b")",)))
                stack.append((False, child))
                stack.append((True, (b"entry", b"(", b"name", name, b"node")))


# -- a git tree, as a forge's archive or a fetchgit checkout would unpack it ----------

# Attributes that make an archive or a checkout differ from the tree's bytes.
ARCHIVE_ATTRIBUTES = ("export-ignore", "export-subst")
CHECKOUT_ATTRIBUTES = ("eol=crlf", "ident", "filter", "working-tree-encoding")


@dataclass
class TreeNar:
    """The NAR hash of a git tree, and what may make a fetcher's output differ from it."""

    hash: str
    gitlinks: list[str] = field(default_factory=list)  # submodule paths (empty directories here)
    attributes: dict[str, list[str]] = field(default_factory=dict)  # attribute -> .gitattributes paths


def _attributes_in(text: bytes) -> set[str]:
    found: set[str] = set()
    for raw in text.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            end = line.find('"', 1)
            rest = line[end + 1 :] if end > 0 else ""
        else:
            parts = line.split(None, 1)
            rest = parts[1] if len(parts) > 1 else ""
        for token in rest.split():
            if token.startswith(("-", "!")):
                continue
            name, _, value = token.partition("=")
            if name in ("export-ignore", "export-subst", "ident", "filter", "working-tree-encoding"):
                found.add(name)
            elif name == "eol" and value == "crlf":
                found.add("eol=crlf")
    return found


def hash_git_tree(repo: pygit2.Repository, tree_id, algorithm: str = "sha256", *,
                  exclude: Callable[[str], bool] | None = None) -> TreeNar:
    """NAR hash of ``tree_id`` with submodules as empty directories, as ``git archive`` and a
    checkout without submodules both leave them. ``exclude(path)`` leaves an entry (and, for a
    directory, all below it) out, as ``git archive`` leaves out export-ignore paths."""
    result = TreeNar(hash="")

    def blob(oid) -> bytes:
        obj_type, data = repo.odb.read(oid)
        if int(obj_type) != int(pygit2.enums.ObjectType.BLOB):
            raise NarError(f"tree entry {oid} is not a blob")
        return data

    def expand(handle):
        mode, oid, path = handle
        kind = mode & 0o170000
        if kind == MODE_GITLINK:
            result.gitlinks.append(path or "/")
            return Directory([])
        if kind == MODE_TREE:
            tree = repo.get(oid)
            if not isinstance(tree, pygit2.Tree):
                raise NarError(f"tree entry {oid} is not a tree")
            entries = []
            for entry in tree:
                name = entry.raw_name
                child_path = f"{path}/{name.decode('utf-8', 'replace')}" if path else name.decode("utf-8", "replace")
                if exclude is not None and exclude(child_path):
                    continue
                if name == b".gitattributes" and entry.filemode & 0o170000 == 0o100000:
                    for attr in sorted(_attributes_in(blob(entry.id))):
                        result.attributes.setdefault(attr, []).append(child_path)
                entries.append((name, (entry.filemode, entry.id, child_path)))
            return Directory(entries)
        if kind == MODE_LINK:
            return Symlink(blob(oid))
        if kind == 0o100000:
            data = blob(oid)
            return Regular(bool(mode & 0o100), len(data), lambda: iter((data,)))
        raise NarError(f"tree entry {path!r} has mode {mode:o}, which no checkout produces")

    writer = _Writer(algorithm)
    serialize(writer, (MODE_TREE, tree_id, ""), expand)
    result.hash = writer.sri()
    return result


# -- a directory on disk ---------------------------------------------------------------------


def _file_chunks(path: bytes) -> Iterator[bytes]:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def _expand_path(path: bytes):
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        return Directory([(name, os.path.join(path, name)) for name in os.listdir(path)])
    if stat.S_ISLNK(st.st_mode):
        return Symlink(os.readlink(path))
    if stat.S_ISREG(st.st_mode):
        return Regular(bool(st.st_mode & stat.S_IXUSR), st.st_size, lambda: _file_chunks(path))
    raise NarError(f"{os.fsdecode(path)} is neither a file, a directory nor a symlink")


def hash_path(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """What ``nix-hash --type ALGO --sri PATH`` prints; symlinks are recorded, never followed."""
    writer = _Writer(algorithm)
    serialize(writer, os.fsencode(path), _expand_path)
    return writer.sri()


def hash_file_nar(path: str | os.PathLike, executable: bool, algorithm: str = "sha256") -> str:
    """fetchurl's recursive hash (``recursiveHash``/``executable``): the NAR of one regular file,
    whose executable bit is the expression's word, not the mirror copy's mode."""
    size = os.stat(path).st_size
    writer = _Writer(algorithm)
    serialize(writer, None, lambda _: Regular(executable, size, lambda: _file_chunks(os.fsencode(path))))
    return writer.sri()


def hash_flat(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """The flat (file bytes) hash fetchurl pins."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return sri(algorithm, digest.digest())
