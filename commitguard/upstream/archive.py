"""Unpack a release archive as fetchzip would, without trusting it.

fetchzip's hash is the NAR of the unpacked tree, so the archive must be
unpacked to know whether it is what the expression pins. The archive comes
from upstream (through the mirror), so it is unpacked by hand rather than
with ``extractall``: every member name is checked before anything is
written, nothing is ever written through a symlink the archive made, and
symlinks are recreated as they are (their targets are data in a NAR, never
followed) so the tree hashes exactly as Nix would hash it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

MAX_MEMBERS = 500_000
MAX_UNPACKED_BYTES = 8 << 30


class ArchiveError(ValueError):
    """An archive that cannot be unpacked safely, or not at all."""


class FetchzipRefuses(Exception):
    """fetchzip itself would fail on this archive: no hash can ever match it."""


class _Tree:
    """What has been unpacked so far, so members can be checked against it."""

    def __init__(self, root: Path):
        self.root = root
        self.kinds: dict[PurePosixPath, str] = {}  # "dir" | "file" | "link"
        self.total = 0

    def place(self, raw_name: str) -> PurePosixPath | None:
        """The member's relative path, None for the archive root itself; refuses escapes."""
        if "\0" in raw_name or "\\" in raw_name:
            raise ArchiveError(f"member {raw_name!r} has a name no unpacker reads the same way")
        if raw_name.startswith("/"):
            raise ArchiveError(f"member {raw_name!r} has an absolute path")
        parts = [p for p in raw_name.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise ArchiveError(f"member {raw_name!r} climbs out of the archive with '..'")
        if not parts:
            return None
        rel = PurePosixPath(*parts)
        for parent in list(rel.parents)[:-1]:
            kind = self.kinds.get(parent)
            if kind is None:
                self.kinds[parent] = "dir"
                (self.root / parent).mkdir(mode=0o755, exist_ok=True)
            elif kind != "dir":
                raise ArchiveError(f"member {raw_name!r} would be written through a {kind} {parent}")
        return rel

    def _replace(self, rel: PurePosixPath, new_kind: str) -> Path:
        target = self.root / rel
        kind = self.kinds.get(rel)
        if kind is not None:
            if kind == "dir" or new_kind == "dir":
                if kind == new_kind:
                    return target
                raise ArchiveError(f"member {rel} is both a directory and a file")
            target.unlink()  # a later member of the same name replaces it, as tar does
        self.kinds[rel] = new_kind
        return target

    def count(self, size: int) -> None:
        self.total += size
        if self.total > MAX_UNPACKED_BYTES:
            raise ArchiveError(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")

    def directory(self, rel: PurePosixPath | None) -> None:
        if rel is None:
            return
        target = self._replace(rel, "dir")
        target.mkdir(mode=0o755, exist_ok=True)

    def file(self, rel: PurePosixPath, source, executable: bool) -> None:
        target = self._replace(rel, "file")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                self.count(len(chunk))
                out.write(chunk)
        os.chmod(target, 0o755 if executable else 0o644)

    def symlink(self, rel: PurePosixPath, target_text: str) -> None:
        if "\0" in target_text:
            raise ArchiveError(f"symlink {rel} has a NUL in its target")
        os.symlink(target_text, self._replace(rel, "link"))

    def hardlink(self, rel: PurePosixPath, link_name: str) -> None:
        source = self.place(link_name)
        if source is None or self.kinds.get(source) != "file":
            raise ArchiveError(f"hard link {rel} points at {link_name!r}, which is no file unpacked before it")
        executable = bool(os.lstat(self.root / source).st_mode & stat.S_IXUSR)
        with open(self.root / source, "rb") as handle:
            self.file(rel, handle, executable)


def _unpack_tar(path: Path, tree: _Tree) -> None:
    try:
        archive = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ArchiveError(f"not a tar archive this Python can read ({exc})") from None
    with archive:
        for n, member in enumerate(archive):
            if n >= MAX_MEMBERS:
                raise ArchiveError(f"archive has more than {MAX_MEMBERS} members")
            rel = tree.place(member.name)
            if member.isdir():
                tree.directory(rel)
                continue
            if rel is None:
                raise ArchiveError(f"member {member.name!r} names the archive root but is not a directory")
            if member.issym():
                tree.symlink(rel, member.linkname)
            elif member.islnk():
                tree.hardlink(rel, member.linkname)
            elif member.isreg():
                source = archive.extractfile(member)
                if source is None:
                    raise ArchiveError(f"member {member.name!r} cannot be read")
                with source:
                    tree.file(rel, source, bool(member.mode & 0o100))
            else:
                raise ArchiveError(f"member {member.name!r} is a device or fifo, which no Nix store path holds")


def _unpack_zip(path: Path, tree: _Tree) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"not a zip archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ArchiveError(f"archive has more than {MAX_MEMBERS} members")
        for info in infos:
            rel = tree.place(info.filename)
            mode = info.external_attr >> 16
            if info.is_dir() or stat.S_ISDIR(mode):
                tree.directory(rel)
                continue
            if rel is None:
                raise ArchiveError(f"member {info.filename!r} names the archive root but is not a directory")
            if stat.S_ISLNK(mode):
                if info.file_size > 4096:
                    raise ArchiveError(f"symlink {info.filename!r} has a {info.file_size}-byte target")
                tree.symlink(rel, archive.read(info).decode("utf-8", "surrogateescape"))
            elif mode == 0 or stat.S_ISREG(mode):
                with archive.open(info) as source:
                    tree.file(rel, source, bool(mode & 0o100))
            else:
                raise ArchiveError(f"member {info.filename!r} is a device or fifo, which no Nix store path holds")


def unpack(path: Path, dest: Path) -> None:
    """Unpack a tar (any compression Python reads) or zip archive into the empty ``dest``."""
    tree = _Tree(dest)
    try:
        if zipfile.is_zipfile(path):
            _unpack_zip(path, tree)
        else:
            _unpack_tar(path, tree)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ArchiveError(f"archive is damaged or uses an unsupported feature ({exc})") from None
    except OSError as exc:
        raise ArchiveError(f"archive cannot be unpacked ({exc.strerror or exc})") from None


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
