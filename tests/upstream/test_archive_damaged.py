"""Damaged compressed data inside an archive is an ArchiveError (so ``unbound``), never a crash.

Found by the archive fuzz target: a zip member whose deflate stream is
corrupt made ``zlib.error`` escape ``archive.unpack``. The archives are made
with the real tools (zip, tar with gzip/xz), then bytes inside the compressed
stream are flipped.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from commitguard.upstream import archive

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in ("zip", "tar", "xz", "gzip")),
                                reason="needs zip, tar, xz and gzip")


def _tree(tmp_path):
    src = tmp_path / "src" / "pkg-1.0"
    src.mkdir(parents=True)
    (src / "data.txt").write_bytes(b"hello world, a compressible line\n" * 4000)
    return src.parent


def _flip(path, start, count):
    data = bytearray(path.read_bytes())
    for i in range(start, min(start + count, len(data) - 30)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar.xz"])
def test_damaged_compressed_member_is_an_archive_error(tmp_path, kind):
    top = _tree(tmp_path)
    out = tmp_path / f"pkg-1.0.{kind}"
    if kind == "zip":
        subprocess.run(["zip", "-q", "-r", str(out), "pkg-1.0"], cwd=top, check=True)
    else:
        flag = "-z" if kind == "tar.gz" else "-J"
        subprocess.run(["tar", flag, "-cf", str(out), "pkg-1.0"], cwd=top, check=True)
    if kind == "zip":
        # just past the first member's local header: inside its deflate stream
        _flip(out, start=out.read_bytes().index(b"data.txt") + len("data.txt") + 5, count=35)
    else:
        _flip(out, start=len(out.read_bytes()) * 2 // 5, count=48)
    dest = tmp_path / "dest"
    dest.mkdir()
    if kind == "zip":
        # the member's deflate stream is corrupt: zlib.error escaped here before
        with pytest.raises(archive.ArchiveError) as caught:
            archive.unpack(out, dest)
        assert "damaged" in str(caught.value), str(caught.value)
        return
    # a damaged tar stream either is refused as an ArchiveError or unpacks to
    # different bytes (then the hash check fails); nothing else may escape
    try:
        archive.unpack(out, dest)
    except archive.ArchiveError:
        pass
