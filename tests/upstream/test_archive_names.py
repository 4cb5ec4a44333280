"""Directory members whose name is "/" (absolute) or empty: refused like any absolute
path, while "./" (what ``tar -C dir -cf x.tar .`` writes) stays the root. Found by the
archive property test once it drew empty names again: tarfile strips a directory's
trailing slashes, so "/" arrived as "" and was taken for the root."""

from __future__ import annotations

import io
import tarfile

import pytest

from commitguard.upstream.archive import ArchiveError, unpack


def _tar(path, names):
    with tarfile.open(path, "w") as out:
        for name, kind in names:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                out.addfile(info)
            else:
                data = b"content\n"
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize("name", ["/", "//", ""])
def test_a_directory_named_slash_or_nothing_is_refused(tmp_path, name):
    archive = _tar(tmp_path / "in.tar", [(name, "dir"), ("pkg/a.txt", "file")])
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError) as caught:
        unpack(archive, dest)
    assert str(caught.value) == "a directory member named '/' or nothing: an absolute or empty path"


def test_dot_slash_is_the_root(tmp_path):
    archive = _tar(tmp_path / "in.tar", [("./", "dir"), ("./pkg/a.txt", "file")])
    dest = tmp_path / "dest"
    dest.mkdir()
    unpack(archive, dest)
    assert (dest / "pkg" / "a.txt").read_bytes() == b"content\n"
