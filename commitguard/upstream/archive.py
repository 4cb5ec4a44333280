"""Unpack a release archive as fetchzip would, without trusting it.

fetchzip's hash is the NAR of the unpacked tree, so the archive must be
unpacked to know whether it is what the expression pins. Nix does not
sniff the archive: stdenv's ``unpackFile`` chooses the tool by the file's
name (``*.tar``, ``*.tar.*``, ``*.tgz``, ``*.tbz2``, ``*.tbz`` go to GNU
tar, which then detects the compression itself; ``*.zip`` goes to Info-ZIP
``unzip``; anything else fails the fetch). The same name decides here, and
each member becomes what that tool would make of it:

* GNU tar creates the parent directories a member needs, whether or not the
  archive lists them; a later member of the same name replaces an earlier one.
* ``unzip`` makes a directory of a name ending in ``/`` and a regular file of
  anything else; a symlink only from a Unix (or consistent MS-DOS) entry; the
  executable bit only from a Unix entry's mode. Mode bits without a file type
  (``zipfile.writestr`` writes ``0o600``) are an ordinary file.

The archive comes from upstream (through the mirror), so it is unpacked by
hand rather than with ``extractall``: every member name is checked before
anything is written, nothing is ever written through a symlink the archive
made, and symlinks are recreated as they are (their targets are data in a
NAR, never followed). Work is linear in the total length of member names
(a tree of names, not a walk of every parent per member), and bounded by the
limits below; past any of them the archive is refused with the limit named,
and the caller reports the hash as not checked.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path

# Limits a CI runner can afford (SECURITY.md "Upstream archives").
MAX_MEMBERS = 250_000  # members and the directories they imply
MAX_UNPACKED_BYTES = 2 << 30  # file contents written, in total
MAX_RATIO = 100  # unpacked bytes per archive byte ...
RATIO_ALLOWANCE = 128 << 20  # ... once more than this has been written
MAX_DEPTH = 256  # path components of one member
MAX_PATH_BYTES = 4095  # PATH_MAX: longer names cannot be written by tar either
MAX_SYMLINK_BYTES = 4095

# Info-ZIP's "made by" hosts: the two whose external attributes unzip reads.
_ZIP_MSDOS = 0
_ZIP_UNIX = 3


class ArchiveError(ValueError):
    """An archive that cannot be unpacked safely, or not at all."""


class FetchzipRefuses(Exception):
    """fetchzip itself would fail on this archive: no hash can ever match it."""


def unpack_format(name: str) -> str | None:
    """``"tar"``, ``"zip"`` or None: what stdenv's ``unpackFile`` does with a file of this name.

    Its default unpacker comes first (``*.tar``, ``*.tar.*``, ``*.tgz``,
    ``*.tbz2``, ``*.tbz``; ``*.txz``/``*.tar.lzma`` through ``xz -d``), then
    the unzip hook (``\\.zip$``). Both match case-sensitively.
    """
    if name.endswith((".tar", ".tgz", ".tbz2", ".tbz", ".txz")) or ".tar." in name:
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    return None


class _Node:
    __slots__ = ("kind", "children")

    def __init__(self, kind: str):
        self.kind = kind  # "dir" | "file" | "link"
        self.children: dict[str, _Node] | None = {} if kind == "dir" else None


class _Tree:
    """What has been unpacked so far: a tree of names, so each member costs the length of its name."""

    def __init__(self, root: Path, archive_bytes: int):
        self.root = os.fspath(root)
        self.top = _Node("dir")
        self.total = 0
        self.entries = 0
        self.limit = min(MAX_UNPACKED_BYTES, max(RATIO_ALLOWANCE, MAX_RATIO * archive_bytes))
        self.archive_bytes = archive_bytes

    def _entry(self) -> None:
        self.entries += 1
        if self.entries > MAX_MEMBERS:
            raise ArchiveError(f"archive has more than {MAX_MEMBERS} members (limit)")

    def parts(self, raw_name: str) -> list[str]:
        if "\0" in raw_name or "\\" in raw_name:
            raise ArchiveError(f"member {raw_name[:200]!r} has a name no unpacker reads the same way")
        if raw_name.startswith("/"):
            raise ArchiveError(f"member {raw_name[:200]!r} has an absolute path")
        if len(raw_name.encode("utf-8", "surrogateescape")) > MAX_PATH_BYTES:
            raise ArchiveError(f"member {raw_name[:80]!r}... has a name longer than {MAX_PATH_BYTES} bytes (limit)")
        parts = [p for p in raw_name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ArchiveError(f"member {raw_name[:200]!r} climbs out of the archive with '..'")
        if len(parts) > MAX_DEPTH:
            raise ArchiveError(f"member {raw_name[:80]!r}... is nested {len(parts)} deep, more than {MAX_DEPTH} (limit)")
        return parts

    def leaf(self, raw_name: str) -> list[str]:
        """The parts of a member that is not a directory: its name must end in a name, as tar needs
        (``top/.`` or ``top/`` cannot be opened as a file)."""
        parts = self.parts(raw_name)
        last = raw_name.rsplit("/", 1)[-1]
        if not parts or last in ("", "."):
            raise ArchiveError(f"member {raw_name[:200]!r} is not a directory but its name ends in a directory")
        return parts

    def parent(self, parts: list[str], raw_name: str) -> _Node:
        """The directory node that holds the member, creating missing directories shallowest first."""
        node = self.top
        for i, part in enumerate(parts[:-1]):
            child = node.children.get(part)  # type: ignore[union-attr]
            if child is None:
                self._entry()
                os.mkdir(os.path.join(self.root, *parts[: i + 1]), 0o755)
                child = node.children[part] = _Node("dir")  # type: ignore[index]
            elif child.kind != "dir":
                raise ArchiveError(f"member {raw_name[:200]!r} would be written through a {child.kind} "
                                   f"{'/'.join(parts[: i + 1])[:200]}")
            node = child
        return node

    def _replace(self, parts: list[str], raw_name: str, new_kind: str) -> tuple[str, bool]:
        """(the path to write, whether it already exists as a directory of the same kind)."""
        node = self.parent(parts, raw_name)
        name = parts[-1]
        target = os.path.join(self.root, *parts)
        existing = node.children.get(name)  # type: ignore[union-attr]
        if existing is not None:
            if existing.kind == "dir" or new_kind == "dir":
                if existing.kind == new_kind:
                    return target, True
                raise ArchiveError(f"member {'/'.join(parts)[:200]} is both a directory and a file")
            if existing.kind == "link":
                # GNU tar delays symlinks it deems unsafe (placeholders replaced at the end), so what a
                # later member of the same name becomes depends on that heuristic: not reproduced
                raise ArchiveError(f"member {'/'.join(parts)[:200]} replaces a symlink of the same name")
            os.unlink(target)  # a later member of the same name replaces it, as tar does
        else:
            self._entry()
        node.children[name] = _Node(new_kind)  # type: ignore[index]
        return target, False

    def count(self, size: int) -> None:
        self.total += size
        if self.total > self.limit:
            if self.limit == MAX_UNPACKED_BYTES:
                raise ArchiveError(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes (limit)")
            raise ArchiveError(f"archive of {self.archive_bytes} bytes unpacks to more than {self.limit} bytes "
                               f"(limit: {MAX_RATIO} times its size beyond {RATIO_ALLOWANCE} bytes)")

    def directory(self, parts: list[str], raw_name: str) -> None:
        if not parts:
            return
        target, exists = self._replace(parts, raw_name, "dir")
        if not exists:
            os.mkdir(target, 0o755)

    def file(self, parts: list[str], raw_name: str, source, executable: bool) -> None:
        target, _ = self._replace(parts, raw_name, "file")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                self.count(len(chunk))
                out.write(chunk)
        os.chmod(target, 0o755 if executable else 0o644)

    def symlink(self, parts: list[str], raw_name: str, target_text: str) -> None:
        if "\0" in target_text or not target_text:
            raise ArchiveError(f"symlink {raw_name[:200]!r} has an empty target or a NUL in it")
        if len(target_text.encode("utf-8", "surrogateescape")) > MAX_SYMLINK_BYTES:
            raise ArchiveError(f"symlink {raw_name[:200]!r} has a target longer than {MAX_SYMLINK_BYTES} bytes")
        target, _ = self._replace(parts, raw_name, "link")
        os.symlink(target_text, target)

    def hardlink(self, parts: list[str], raw_name: str, link_name: str) -> None:
        source_parts = self.parts(link_name)
        node = self.top
        for part in source_parts:
            node = node.children.get(part) if node.children is not None else None  # type: ignore[assignment]
            if node is None:
                break
        if not source_parts or node is None or node.kind != "file":
            raise ArchiveError(f"hard link {raw_name[:200]!r} points at {link_name[:200]!r}, which is no file "
                               "unpacked before it")
        source_path = os.path.join(self.root, *source_parts)
        executable = bool(os.lstat(source_path).st_mode & stat.S_IXUSR)
        with open(source_path, "rb") as handle:
            self.file(parts, raw_name, handle, executable)


def _unpack_tar(path: Path, tree: _Tree) -> None:
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"not a tar archive this Python can read ({exc})") from None
    with archive:
        while (member := archive.next()) is not None:
            archive.members = []  # tarfile keeps every member it has seen; nothing here needs them
            if member.isdir():
                if not member.name:
                    # tarfile strips a directory's trailing slashes, so "/" (absolute) arrives as ""
                    raise ArchiveError("a directory member named '/' or nothing: an absolute or empty path")
                tree.directory(tree.parts(member.name), member.name)
                continue
            parts = tree.leaf(member.name)
            if member.issym():
                tree.symlink(parts, member.name, member.linkname)
            elif member.islnk():
                tree.hardlink(parts, member.name, member.linkname)
            elif member.isreg():
                source = archive.extractfile(member)
                if source is None:
                    raise ArchiveError(f"member {member.name!r} cannot be read")
                with source:
                    tree.file(parts, member.name, source, bool(member.mode & 0o100))
            else:
                raise ArchiveError(f"member {member.name!r} is a device or fifo, which no Nix store path holds")


def _zip_kind(info: zipfile.ZipInfo) -> tuple[str, bool]:
    """(``dir``/``file``/``link``, executable) as Info-ZIP unzip 6.0 decides them (unix/unix.c mapattr)."""
    if info.filename.endswith("/"):
        return "dir", False
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if info.external_attr & 0x10:
        raise ArchiveError(f"member {info.filename!r} carries the MS-DOS directory attribute without a name "
                           "ending in '/'; unzip's reading of it is not reproduced")
    if info.create_system == _ZIP_UNIX:
        if kind == stat.S_IFLNK:
            return "link", False
        if kind in (0, stat.S_IFREG):
            return "file", bool(mode & stat.S_IXUSR)
        raise ArchiveError(f"member {info.filename!r} has file type {kind >> 12:o} in its mode, which unzip does "
                           "not unpack as any store path holds it")
    # Other hosts: the MS-DOS attributes rule. unzip keeps the Unix mode only when
    # its owner bits agree with the read-only bit, and then never with an owner
    # execute bit (files are r-- or rw-); a consistent symlink only from MS-DOS.
    dos = info.external_attr & 0xFF
    owner = 0o400 | ((0 if dos & 1 else 0o2) << 6)
    if info.create_system == _ZIP_MSDOS and kind == stat.S_IFLNK and mode & 0o700 == owner:
        return "link", False
    return "file", False


def _unpack_zip(path: Path, tree: _Tree) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ArchiveError(f"archive has more than {MAX_MEMBERS} members (limit)")
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            if not info.flag_bits & 0x800 and not name.isascii():
                # zipfile reads such names as cp437; unzip writes their raw bytes
                raise ArchiveError(f"member {name!r} has a non-UTF-8 name whose bytes on disk are not known here")
            if name in seen:
                raise ArchiveError(f"member {name!r} appears twice; unzip would ask which to keep")
            seen.add(name)
            kind, executable = _zip_kind(info)
            if kind == "dir":
                tree.directory(tree.parts(name), name)
                continue
            parts = tree.leaf(name)
            if kind == "link":
                if info.file_size > MAX_SYMLINK_BYTES:
                    raise ArchiveError(f"symlink {name!r} has a {info.file_size}-byte target")
                tree.symlink(parts, name, archive.read(info).decode("utf-8", "surrogateescape"))
            else:
                with archive.open(info) as source:
                    tree.file(parts, name, source, executable)


def unpack(path: Path, dest: Path, name: str | None = None) -> None:
    """Unpack ``path`` into the empty ``dest`` as ``unpackFile`` would unpack a file called ``name``
    (default: the file's own name); a name stdenv does not unpack is an :class:`ArchiveError`."""
    name = name if name is not None else Path(path).name
    kind = unpack_format(name)
    if kind is None:
        # stdenv alone fails on it; a hook a fetcher adds might not: not claimed as certain either way
        raise ArchiveError(f"stdenv's unpackFile knows no way to unpack a file named {name!r}")
    tree = _Tree(dest, os.path.getsize(path))
    try:
        if kind == "zip":
            _unpack_zip(path, tree)
        else:
            _unpack_tar(path, tree)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError,
            zlib.error, lzma.LZMAError) as exc:
        raise ArchiveError(f"archive is damaged or uses an unsupported feature ({exc})") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, ArchiveError):
            raise
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ArchiveError(f"archive cannot be unpacked ({detail})") from None


def fetchzip_root(unpacked: Path, strip_root: bool, wrap: Path) -> Path:
    """The directory whose NAR fetchzip pins.

    With ``stripRoot`` (the default) the archive must hold exactly one entry:
    a directory becomes the output, a single file is put inside a new
    directory (nixpkgs' fetchzip does ``mkdir $out; mv $fn $out``).
    """
    if not strip_root:
        return unpacked
    entries = os.listdir(unpacked)
    if len(entries) != 1:
        raise FetchzipRefuses(f"the archive has {len(entries)} top-level entries; fetchzip with stripRoot needs exactly one")
    only = unpacked / entries[0]
    st = os.lstat(only)
    if stat.S_ISDIR(st.st_mode):
        return only
    if stat.S_ISREG(st.st_mode):
        wrap.mkdir()
        shutil.move(str(only), str(wrap / entries[0]))
        return wrap
    raise ArchiveError("the archive's only top-level entry is a symlink, which fetchzip resolves in ways not reproduced here")
