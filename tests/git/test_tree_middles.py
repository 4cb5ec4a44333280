"""The history index through :class:`TreeMiddles` names what libgit2's diff names.

The index decides which commits touched a package, so a path it misses is a
commit missing from that package's chain. libgit2's own diff is the oracle:
for a commit, the paths its diff against *every* parent names (what a merge
wrote itself). Histories are written by ``git fast-import`` from a seeded
random script: a directory of hundreds of packages that every commit edits,
packages added, deleted, renamed, turned into files and back, executable
bits, links, and merges whose trees take either side or add edits of their
own. Hostile tree objects are written with ``git hash-object --literally``.
"""

from __future__ import annotations

import os
import random
import subprocess
from pathlib import Path

import pygit2
import pytest

from commitguard.git.path_index import changed_paths, commit_changes
from commitguard.git.tree_middles import TreeMiddles
from commitguard.git.trees import TreeReader

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(where: Path, *args: str, input: bytes | None = None) -> bytes:
    done = subprocess.run(["git", "-C", str(where), *args], env=_ENV, input=input, capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


def random_history(where: Path, seed: int, commits: int) -> list[str]:
    """Commit ids, oldest first, of a random history written by fast-import."""
    rng = random.Random(seed)
    where.mkdir()
    git(where, "init", "-q", "--bare")
    files: dict[str, tuple[str, str]] = {}  # path -> (mode, content)
    for n in range(400):
        files[f"pkgs/by-name/ab/p{n:03d}/package.nix"] = ("100644", f"p{n} v0\n")
    files["README"] = ("100644", "read me\n")
    heads = {"main": dict(files)}
    script: list[bytes] = []
    order: list[int] = []  # marks, oldest first
    mark = 0

    def edit(state: dict) -> None:
        names = sorted({p.split("/")[3] for p in state if p.startswith("pkgs/by-name/ab/")})
        op = rng.random()
        name = rng.choice(names) if names else "p000"
        path = f"pkgs/by-name/ab/{name}/package.nix"
        if op < 0.5 and path in state:
            state[path] = (state[path][0], f"{name} {rng.random()}\n")
        elif op < 0.6:
            state[f"pkgs/by-name/ab/n{rng.randrange(10**6)}/package.nix"] = ("100644", "new\n")
        elif op < 0.68:
            for p in [p for p in state if p.startswith(f"pkgs/by-name/ab/{name}/")]:
                del state[p]
        elif op < 0.76:
            moved = {p: v for p, v in state.items() if p.startswith(f"pkgs/by-name/ab/{name}/")}
            for p, v in moved.items():
                del state[p]
                state[p.replace(f"/{name}/", f"/{name}x/")] = v
        elif op < 0.82:  # a package directory becomes a file, or a file a directory
            inside = [p for p in state if p.startswith(f"pkgs/by-name/ab/{name}/")]
            if inside:
                for p in inside:
                    del state[p]
                state[f"pkgs/by-name/ab/{name}"] = ("100644", "now a file\n")
            elif f"pkgs/by-name/ab/{name}" in state:
                del state[f"pkgs/by-name/ab/{name}"]
                state[path] = ("100644", "a directory again\n")
        elif op < 0.88 and path in state:
            state[path] = ("100755" if state[path][0] == "100644" else "100644", state[path][1])
        elif op < 0.92:
            state[f"pkgs/by-name/ab/{name}/link"] = ("120000", "package.nix")
        else:
            state[f"top{rng.randrange(5)}"] = ("100644", f"{rng.random()}\n")

    def emit(branch: str, state: dict, parents: list[int]) -> None:
        nonlocal mark
        for path in sorted(state):  # a path cannot be a file and a directory at once
            if any(other.startswith(path + "/") for other in state):
                del state[path]
        mark += 1
        message = f"c{mark}"
        lines = [f"commit refs/heads/{branch}", f"mark :{mark}",
                 f"committer t <t@example.org> {1700000000 + mark} +0000",
                 f"data {len(message)}", message]
        if parents:
            lines.append(f"from :{parents[0]}")
            lines.extend(f"merge :{p}" for p in parents[1:])
        lines.append("deleteall")
        for path in sorted(state):
            mode, content = state[path]
            lines += [f"M {mode} inline {path}", f"data {len(content.encode())}", content]
        script.append(("\n".join(lines) + "\n\n").encode())
        order.append(mark)

    tips = {"main": None}
    emit("main", files, [])
    tips["main"] = mark
    for _ in range(commits):
        roll = rng.random()
        if roll < 0.1:  # a new branch from a random tip
            source = rng.choice(sorted(tips))
            name = f"b{len(tips)}"
            heads[name] = dict(heads[source])
            tips[name] = tips[source]
        branch = rng.choice(sorted(tips))
        if roll > 0.85 and len(tips) > 1:  # merge another branch in
            other = rng.choice([b for b in sorted(tips) if b != branch])
            merged = dict(heads[branch])
            for path in sorted(set(heads[other]) | set(merged)):
                if rng.random() < 0.5:
                    if path in heads[other]:
                        merged[path] = heads[other][path]
                    else:
                        merged.pop(path, None)
            if rng.random() < 0.3:
                edit(merged)  # an evil merge
            heads[branch] = merged
            emit(branch, merged, [tips[branch], tips[other]])
        else:
            edit(heads[branch])
            emit(branch, heads[branch], [tips[branch]])
        tips[branch] = mark
    git(where, "fast-import", "--quiet", f"--export-marks={where / 'marks'}", input=b"".join(script))
    marks = dict(line.split(" ") for line in (where / "marks").read_text().splitlines())
    return [marks[f":{m}"] for m in order]


def oracle(repo: pygit2.Repository, commit_id: str) -> tuple[str, ...]:
    commit = repo[commit_id]
    if not commit.parents:
        return tuple(sorted(d.new_file.path for d in commit.tree.diff_to_tree(swap=True).deltas))
    found = None
    for parent in commit.parents:
        paths = {p for d in repo.diff(parent.tree, commit.tree).deltas for p in (d.old_file.path, d.new_file.path)}
        found = paths if found is None else found & paths
    return tuple(sorted(found))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_commit_against_libgit2(tmp_path: Path, seed: int) -> None:
    ids = random_history(tmp_path / "r", seed, 250)
    repo = pygit2.Repository(str(tmp_path / "r"))
    assert sum(len(repo[i].parents) > 1 for i in ids) > 10
    expected = {i: oracle(repo, i) for i in ids}
    # oldest first, as the index walks; a budget so small every tree is read again; any order
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    for budget, order in ((150_000, ids), (50, ids), (150_000, shuffled)):
        reader = TreeMiddles(repo, budget=budget)
        for commit_id in order:
            assert commit_changes(repo, reader, commit_id).paths == expected[commit_id], (budget, commit_id)


def write_tree(where: Path, data: bytes) -> bytes:
    return bytes.fromhex(git(where, "hash-object", "-t", "tree", "-w", "--literally", "--stdin",
                             input=data).decode().strip())


def entry(mode: str, name: bytes, oid: bytes) -> bytes:
    return mode.encode() + b" " + name + b"\0" + oid


@pytest.fixture
def bare(tmp_path: Path):
    where = tmp_path / "h"
    git(where.parent, "init", "-q", "--bare", str(where))
    blobs = [bytes.fromhex(git(where, "hash-object", "-w", "--stdin", input=f"{n}\n".encode()).decode().strip())
             for n in range(4)]
    return where, pygit2.Repository(str(where)), blobs


def both(repo: pygit2.Repository, old: bytes, new: bytes) -> tuple[frozenset, frozenset]:
    reader = TreeMiddles(repo)
    reader.middles(old, None)  # the older version is known first, as in a history walk
    return changed_paths(reader, old, new), changed_paths(TreeReader(repo), old, new)


def test_a_name_that_ends_like_the_old_entry_is_parsed_whole(bare) -> None:
    """new's last entry ends with the bytes of old's last entry ("zz100644 q" ends
    with "100644 q" and the same id): the shared tail is not an entry boundary of
    new, its middle does not parse, and the two trees are compared whole."""
    where, repo, blobs = bare
    first = entry("100644", b"a", blobs[0])
    old = write_tree(where, first + entry("100644", b"q", blobs[1]))
    new = write_tree(where, first + entry("100644", b"zz100644 q", blobs[1]))
    middles, whole = both(repo, old, new)
    assert middles == whole == {"q", "zz100644 q"}
    # and the same once both versions are known
    reader = TreeMiddles(repo)
    reader.middles(new, None)
    assert changed_paths(reader, old, new) == whole


def test_a_tree_that_does_not_parse_is_compared_whole(bare) -> None:
    where, repo, blobs = bare
    good = entry("100644", b"a", blobs[0]) + entry("100644", b"b", blobs[1])
    old = write_tree(where, good)
    new = write_tree(where, good.replace(blobs[1], blobs[2]) + b"100644 trailing")  # a truncated entry
    middles, whole = both(repo, old, new)
    assert middles == whole == {"b"}
    middles, whole = both(repo, new, old)
    assert middles == whole == {"b"}


def test_a_duplicated_name_is_never_reported_less(bare) -> None:
    """git never writes two entries of one name, but a pull request's author can;
    what the middles report may then only be more than a whole comparison."""
    where, repo, blobs = bare
    a, b = entry("100644", b"a", blobs[0]), entry("100644", b"b", blobs[1])
    old = write_tree(where, a + b)
    new = write_tree(where, a + entry("100644", b"a", blobs[3]) + b)
    middles, whole = both(repo, old, new)
    assert middles >= whole and middles == {"a"}


def test_an_entry_that_names_a_blob_as_a_directory_has_nothing_below(bare) -> None:
    where, repo, blobs = bare
    old = write_tree(where, entry("100644", b"a", blobs[0]))
    new = write_tree(where, entry("40000", b"a", blobs[1]))
    middles, whole = both(repo, old, new)
    assert middles == whole == {"a"}


def test_an_index_of_the_earlier_definition_is_rebuilt(tmp_path: Path) -> None:
    """Rows of history-1 may miss a merge's own deletions: they are dropped, not served."""
    import sqlite3

    from commitguard.git.path_index import INDEX_FILE, INDEX_VERSION, HistoryIndex

    ids = random_history(tmp_path / "r", 4, 30)
    repo = pygit2.Repository(str(tmp_path / "r"))
    index = HistoryIndex(tmp_path / "idx")
    index.ensure(repo, ids)
    index.close()
    db = sqlite3.connect(tmp_path / "idx" / INDEX_FILE)
    with db:
        db.execute("UPDATE meta SET value = 'history-1' WHERE key = 'version'")
        db.execute("UPDATE commits SET paths = ''")  # what an older definition might have said
    db.close()
    index = HistoryIndex(tmp_path / "idx")
    assert index.missing(ids) == ids
    changes = index.update(repo, ids)
    assert index.newly_indexed == len(ids) and INDEX_VERSION == "history-2"
    assert all(changes[i].paths == oracle(repo, i) for i in ids)
    index.close()
