"""ObjectReader reads what the repository's own object database reads, packed or not.

Repositories are made by git itself: commits packed by ``git gc``, commits
written after it (loose), a linked worktree, and a repository that was never
packed. libgit2's ``repo.odb`` is the oracle.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pygit2
import pytest

from commitguard.git.objects import MAX_MISSES, ObjectReader

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(where: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(where), *args], env=_ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def commits(where: Path, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        (where / f"f{n % 7}").write_text(f"{n}\n")
        git(where, "add", "-A")
        git(where, "commit", "-q", "-m", f"c{n}")


def every_object(repo: pygit2.Repository) -> list[pygit2.Oid]:
    return list(repo.odb)


@pytest.fixture()
def packed(tmp_path: Path) -> Path:
    where = tmp_path / "packed"
    git(tmp_path, "init", "-q", "-b", "main", str(where))
    commits(where, 20)
    git(where, "gc", "-q")
    commits(where, 3, start=20)  # loose, after the pack
    return where


def test_reads_packed_and_loose_objects_as_the_repository_does(packed: Path):
    repo = pygit2.Repository(str(packed))
    loose = [p for p in (packed / ".git" / "objects").glob("??/*")]
    assert loose and list((packed / ".git" / "objects" / "pack").glob("*.pack"))
    reader = ObjectReader(repo)
    assert reader.packs_first
    objects = every_object(repo)
    for oid in objects:
        assert reader.read(oid) == repo.odb.read(oid)
        assert reader.read(str(oid)) == repo.odb.read(str(oid))
    assert reader.packs_first  # 3 commits' loose objects are few against the packed ones


def test_a_missing_object_is_a_key_error_as_from_the_repository(packed: Path):
    repo = pygit2.Repository(str(packed))
    reader = ObjectReader(repo)
    missing = "0" * 39 + "1"
    with pytest.raises(KeyError):
        repo.odb.read(missing)
    with pytest.raises(KeyError):
        reader.read(missing)


def test_a_repository_never_packed_is_read_through_its_own_database(tmp_path: Path):
    where = tmp_path / "loose"
    git(tmp_path, "init", "-q", "-b", "main", str(where))
    commits(where, 5)
    repo = pygit2.Repository(str(where))
    reader = ObjectReader(repo)
    assert not reader.packs_first
    for oid in every_object(repo):
        assert reader.read(oid) == repo.odb.read(oid)


def test_mostly_loose_reads_give_up_the_packs_first_read(tmp_path: Path):
    where = tmp_path / "mostly-loose"
    git(tmp_path, "init", "-q", "-b", "main", str(where))
    commits(where, 2)
    git(where, "gc", "-q")
    commits(where, MAX_MISSES // 3 + 2, start=2)  # three loose objects a commit: more than MAX_MISSES
    repo = pygit2.Repository(str(where))
    packed_ids = {line.split()[0] for line in git(where, "verify-pack", "-v",
                                                  str(next((where / ".git/objects/pack").glob("*.idx")))).splitlines()
                  if len(line.split()) > 2 and len(line.split()[0]) == 40}  # fmt: skip
    loose = [oid for oid in every_object(repo) if str(oid) not in packed_ids]
    assert len(loose) >= MAX_MISSES
    reader = ObjectReader(repo)
    for oid in loose:
        assert reader.read(oid) == repo.odb.read(oid)
    assert not reader.packs_first
    for oid in every_object(repo):  # still right after giving it up
        assert reader.read(oid) == repo.odb.read(oid)


def test_a_linked_worktree_reads_the_common_objects(packed: Path, tmp_path: Path):
    other = tmp_path / "wt"
    git(packed, "worktree", "add", "-q", str(other), "-b", "side")
    repo = pygit2.Repository(str(other))
    assert Path(repo.path).resolve() != (packed / ".git").resolve()
    reader = ObjectReader(repo)
    for oid in every_object(repo):
        assert reader.read(oid) == repo.odb.read(oid)
