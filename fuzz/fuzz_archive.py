"""Fuzz target: the release archive reader (``upstream.archive.unpack``).

Input: the bytes of a tar (plain, gzip, bzip2, xz) or zip archive, seeded
with archives made by GNU tar, Info-ZIP ``zip`` (with and without directory
entries), Python's ``zipfile.writestr`` and 7-Zip. Findings:

* any exception but ``ArchiveError`` from ``unpack`` (or ``ArchiveError``/
  ``FetchzipRefuses`` from ``fetchzip_root``);
* anything created, changed or removed outside the destination directory
  (the sandbox around it is listed before and after, without following
  links);
* anything in the destination that is not a directory, regular file or
  symlink (no device, fifo or socket is ever made).

The reader is another branch's code; this target only calls its public
functions. Unpacking is capped at 64 MiB here (the module's own cap is for
real releases), so a decompression bomb costs the fuzzer seconds, not disk.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from common import fuzz, instrumented, tolerate_known

with instrumented():
    from commitguard.upstream import archive
    from commitguard.upstream.archive import ArchiveError, FetchzipRefuses, fetchzip_root, unpack

if hasattr(archive, "MAX_UNPACKED_BYTES"):
    archive.MAX_UNPACKED_BYTES = 64 << 20

SANDBOX = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-archive-"))
atexit.register(shutil.rmtree, SANDBOX, True)
INPUT = SANDBOX / "input.archive"
OUTSIDE = SANDBOX / "outside"  # what a member escaping the destination would hit
OUTSIDE.mkdir()
(OUTSIDE / "keep").write_text("outside\n")


def _listing(root: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if dirpath == str(SANDBOX):
            dirnames[:] = [d for d in dirnames if d != "dest"]
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            out[path] = (stat.S_IFMT(st.st_mode), st.st_size, st.st_mtime_ns)
    return out


BEFORE = None


def TestOneInput(data: bytes) -> None:
    global BEFORE
    INPUT.write_bytes(data)
    dest = SANDBOX / "dest"
    if dest.exists() or dest.is_symlink():
        shutil.rmtree(dest)
    dest.mkdir()
    if BEFORE is None:
        BEFORE = _listing(SANDBOX)
    BEFORE[str(INPUT)] = None  # rewritten every run
    try:
        unpack(INPUT, dest)
        ok = True
    except ArchiveError:
        ok = False
    except Exception as exc:
        if not tolerate_known(exc):
            raise
        ok = False
    after = _listing(SANDBOX)
    after[str(INPUT)] = None
    assert after == BEFORE, f"changed outside the destination: {set(after.items()) ^ set(BEFORE.items())}"
    for dirpath, dirnames, filenames in os.walk(dest, followlinks=False):
        for name in dirnames + filenames:
            mode = os.lstat(os.path.join(dirpath, name)).st_mode
            assert stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode), f"{name}: mode {mode:o}"
    if ok:
        wrap = SANDBOX / "dest" / ".wrap-for-fetchzip"
        try:
            root = fetchzip_root(dest, True, wrap)
            assert root.is_dir() and not root.is_symlink()
        except (ArchiveError, FetchzipRefuses):
            pass


def _seeds() -> list[bytes]:
    work = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-archive-seeds-"))
    try:
        src = work / "pkg-1.0"
        (src / "sub").mkdir(parents=True)
        (src / "README").write_text("hello\n")
        (src / "sub" / "run.sh").write_text("#!/bin/sh\necho hi\n")
        os.chmod(src / "sub" / "run.sh", 0o755)
        os.symlink("sub/run.sh", src / "link")
        os.link(src / "README", src / "README.hard")
        seeds = []

        def made(name: str, *cmd: str) -> None:
            done = subprocess.run(cmd, cwd=work, capture_output=True)
            if done.returncode == 0 and (work / name).exists():
                seeds.append((work / name).read_bytes())

        made("a.tar", "tar", "--format=gnu", "-cf", "a.tar", "pkg-1.0")
        made("b.tar", "tar", "--format=pax", "--no-recursion", "-cf", "b.tar", "pkg-1.0/README", "pkg-1.0/sub/run.sh")
        made("c.tar.gz", "tar", "-czf", "c.tar.gz", "pkg-1.0")
        made("d.tar.xz", "tar", "-cJf", "d.tar.xz", "pkg-1.0")
        made("e.tar.bz2", "tar", "-cjf", "e.tar.bz2", "pkg-1.0")
        made("f.zip", "zip", "-qry", "f.zip", "pkg-1.0")
        made("g.zip", "zip", "-qryD", "g.zip", "pkg-1.0")
        made("h.zip", "7z", "a", "-tzip", "-bd", "-bso0", "h.zip", "pkg-1.0")
        with zipfile.ZipFile(work / "i.zip", "w") as z:
            z.writestr("pkg-1.0/sub/deep/file.txt", "no directory entries\n")
            z.writestr("pkg-1.0/top.txt", "x\n")
        seeds.append((work / "i.zip").read_bytes())
        (work / "evil").mkdir()
        os.symlink("../outside", work / "evil" / "up")
        made("j.tar", "tar", "-cf", "j.tar", "evil/up")
        return seeds
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    fuzz(TestOneInput, _seeds())
    sys.exit(0)
