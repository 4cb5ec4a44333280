"""The walk from the commits' own bytes selects and orders exactly what libgit2's walk does.

Histories are written by ``git fast-import`` from seeded random scripts:
branches, merges of two and of many parents, several root commits, committer
times out of order. Odd objects (a parent named twice, two author lines) are
written with ``git hash-object --literally``. libgit2's topological walk is the
oracle; where the walk must give way to it (a shallow clone, a missing
object), the selection and errors are libgit2's.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pygit2
import pytest

from commitguard.errors import RepositoryError
from commitguard.git.raw_walk import RawWalk, WalkRefused, walkable
from commitguard.git.revisions import HistoryWalk

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(where: Path, *args: str, input: bytes | None = None) -> str:
    done = subprocess.run(["git", "-C", str(where), *args], env=_ENV, input=input, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


def random_dag(where: Path, seed: int, commits: int) -> None:
    """A bare repository whose ``main`` merges everything a random script made."""
    rng = random.Random(seed)
    git(where.parent, "init", "-q", "--bare", str(where))
    script: list[str] = []
    tips: list[int] = []
    for mark in range(1, commits + 1):
        when = 1_700_000_000 + rng.randrange(-10**6, 10**6)  # clocks out of order
        lines = [f"commit refs/heads/b{mark}", f"mark :{mark}", f"committer t <t@example.org> {when} +0000",
                 f"data {len(str(mark))}", str(mark)]
        roll = rng.random()
        if tips and roll > 0.04:  # now and then a new root
            parents = [rng.choice(tips[-20:]) if rng.random() < 0.8 else rng.choice(tips)]
            if roll > 0.8:
                parents += rng.sample(tips, min(len(tips), rng.choice([1, 1, 1, 2, 4])))
            parents = list(dict.fromkeys(parents))  # fast-import refuses a parent twice
            lines.append(f"from :{parents[0]}")
            lines.extend(f"merge :{p}" for p in parents[1:])
        lines.append(f"M 100644 inline f{mark % 5}")
        lines += [f"data {len(str(mark))}", str(mark)]
        script.append("\n".join(lines) + "\n\n")
        tips.append(mark)
    final = ["commit refs/heads/main", f"mark :{commits + 1}", "committer t <t@example.org> 1700000000 +0000",
             "data 3", "top", f"from :{tips[-1]}"] + [f"merge :{t}" for t in rng.sample(tips[:-1], 6)]  # fmt: skip
    script.append("\n".join(final) + "\n\n")
    git(where, "fast-import", "--quiet", input="".join(script).encode())


def libgit2_order(repo: pygit2.Repository, tip) -> list[str]:
    return [str(c.id) for c in repo.walk(tip, pygit2.GIT_SORT_TOPOLOGICAL)]


def walked(repo: pygit2.Repository, rev: str, **kw) -> tuple[list[str], HistoryWalk]:
    walk = HistoryWalk(repo, [rev], **kw)
    handed = list(walk)
    return handed, walk


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_histories_are_ordered_as_libgit2_orders_them(tmp_path: Path, seed: int):
    where = tmp_path / "dag.git"
    random_dag(where, seed, 400)
    repo = pygit2.Repository(str(where))
    tip = repo.revparse_single("main").id
    assert walkable(repo, [tip], [], None)
    oracle = libgit2_order(repo, tip)
    handed, walk = walked(repo, "main", keep_objects=True)
    assert list(walk.selection.ids) == oracle
    assert sorted(handed) == sorted(oracle)
    for commit_id in handed:  # each commit's bytes, as read by its id, once
        assert walk.pop_object(commit_id) == repo.odb.read(commit_id)[1]
        assert walk.pop_object(commit_id) is None
    for branch in ("b7", "b150", "b399"):  # other tips, each alone
        handed, walk = walked(repo, branch)
        assert list(walk.selection.ids) == libgit2_order(repo, repo.revparse_single(branch).id)
        assert walk.pop_object(handed[0]) is None  # not kept unless asked


def literal_commit(where: Path, text: str) -> str:
    return git(where, "hash-object", "-t", "commit", "-w", "--literally", "--stdin", input=text.encode())


def test_a_parent_named_twice_and_two_author_lines_are_read_as_libgit2_reads_them(tmp_path: Path):
    where = tmp_path / "odd.git"
    random_dag(where, 4, 60)
    repo = pygit2.Repository(str(where))
    tree = str(repo.revparse_single("main").peel(pygit2.Commit).tree_id)
    a, b = str(repo.revparse_single("b20").id), str(repo.revparse_single("b40").id)
    ident = "t <t@example.org> 1700000000 +0000"
    twice = literal_commit(where, f"tree {tree}\nparent {a}\nparent {b}\nparent {a}\n"
                                  f"author {ident}\ncommitter {ident}\n\ntwice\n")  # fmt: skip
    authors = literal_commit(where, f"tree {tree}\nparent {twice}\nparent {b}\nauthor {ident}\nauthor {ident}\n"
                                    f"committer {ident}\n\ntwo authors\n")  # fmt: skip
    top = literal_commit(where, f"tree {tree}\nparent {authors}\nparent {a}\nauthor {ident}\ncommitter {ident}\n\ntop\n")
    oracle = libgit2_order(repo, pygit2.Oid(hex=top))
    handed, walk = walked(repo, top, keep_objects=True)
    assert list(walk.selection.ids) == oracle
    assert walk.pop_object(authors) == repo.odb.read(authors)[1]


def test_the_limit_stops_the_walk(tmp_path: Path):
    where = tmp_path / "dag.git"
    random_dag(where, 5, 120)
    repo = pygit2.Repository(str(where))
    count = len(libgit2_order(repo, repo.revparse_single("main").id))
    assert count > 20
    with pytest.raises(RepositoryError, match=f"more than {count - 1} commits selected"):
        walked(repo, "main", max_commits=count - 1)
    assert len(walked(repo, "main", max_commits=count)[1].selection.ids) == count


def test_a_shallow_clone_is_walked_by_libgit2(tmp_path: Path):
    source = tmp_path / "dag.git"
    random_dag(source, 6, 80)
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--bare", "--depth", "5", "--branch", "main", f"file://{source}", str(clone)],
                   env=_ENV, check=True, capture_output=True)  # fmt: skip
    repo = pygit2.Repository(str(clone))
    tip = repo.revparse_single("main").id
    assert repo.is_shallow and not walkable(repo, [tip], [], None)
    handed, walk = walked(repo, "main", keep_objects=True)
    assert list(walk.selection.ids) == libgit2_order(repo, tip)
    assert walk.pop_object(handed[0]) is None


def test_ranges_and_several_tips_are_walked_by_libgit2(tmp_path: Path):
    where = tmp_path / "dag.git"
    random_dag(where, 7, 50)
    repo = pygit2.Repository(str(where))
    main, b9 = repo.revparse_single("main").id, repo.revparse_single("b9").id
    assert not walkable(repo, [main], [b9], None)
    assert not walkable(repo, [main, b9], [], None)
    assert not walkable(repo, [main], [], b9)


def test_a_missing_commit_is_reported_as_before(tmp_path: Path):
    where = tmp_path / "loose"
    git(tmp_path, "init", "-q", "-b", "main", str(where))
    for n in range(4):
        (where / "f").write_text(f"{n}\n")
        git(where, "add", "f")
        git(where, "commit", "-q", "-m", f"c{n}")
    second = git(where, "rev-parse", "HEAD~2")
    (where / ".git" / "objects" / second[:2] / second[2:]).unlink()
    repo = pygit2.Repository(str(where))
    walk = RawWalk(repo, git(where, "rev-parse", "HEAD"))
    with pytest.raises(WalkRefused, match=f"commit {second} cannot be read"):
        list(walk)
    with pytest.raises(RepositoryError, match=f"commit {second} is missing from the object database"):
        walked(repo, "HEAD")
