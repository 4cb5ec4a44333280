"""commitguard.git.trees.changed_between names exactly the paths ``git diff --no-renames`` names.

check-pr decides which rules apply from these paths, so a path missed is a rule
skipped. git itself is the oracle: fixed trees made with git (a name that is not
UTF-8, a symbolic link, a submodule, a file that became a directory and back, an
executable bit), and random trees written through pygit2's index.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pygit2
from hypothesis import given, settings
from hypothesis import strategies as st

from commitguard.git.trees import TreeReader, changed_between
from commitguard.review.check_pr import changed_files

_ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(where: Path, *args: str | bytes) -> bytes:
    return subprocess.run(["git", "-C", str(where), *args], env=_ENV, check=True, capture_output=True).stdout


def git_names(where: Path, old: str, new: str) -> set[bytes]:
    out = git(where, "diff", "--no-renames", "--name-only", "-z", old, new)
    return {name for name in out.split(b"\0") if name}


def ours(repo: pygit2.Repository, old: str, new: str) -> set[bytes]:
    found = changed_between(TreeReader(repo), repo[old].tree_id.raw, repo[new].tree_id.raw)
    assert len(found) == len(set(found)), "a path is named once"
    return set(found)


def commit_all(where: Path, message: str, *, add: bool = True) -> str:
    if add:
        git(where, "add", "-A")
    git(where, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message)
    return git(where, "rev-parse", "HEAD").decode().strip()


def test_every_kind_of_change_against_git(tmp_path: Path) -> None:
    where = tmp_path / "r"
    where.mkdir()
    git(where, "init", "-q")
    odd = os.fsdecode(b"pkgs/by-name/od/odd\xff")
    (where / odd).mkdir(parents=True)
    (where / odd / "package.nix").write_text("{ }\n")
    (where / "pkgs" / "same").mkdir(parents=True)
    (where / "pkgs" / "same" / "default.nix").write_text("unchanged\n")
    (where / "flip").write_text("a file first\n")
    (where / "script.sh").write_text("echo\n")
    (where / "dir").mkdir()
    (where / "dir" / "a").write_text("a\n")
    (where / "dir" / "b").write_text("b\n")
    os.symlink("script.sh", where / "link")
    first = commit_all(where, "first")

    (where / odd / "package.nix").write_text("{ changed = true; }\n")
    (where / "flip").unlink()
    (where / "flip").mkdir()
    (where / "flip" / "inner.nix").write_text("now a directory\n")
    (where / "script.sh").chmod(0o755)
    (where / "dir" / "a").unlink()
    (where / "link").unlink()
    os.symlink("dir/b", where / "link")
    (where / "new.txt").write_text("added\n")
    git(where, "add", "-A")
    git(where, "update-index", "--add", "--cacheinfo", f"160000,{first},vendored")  # a submodule
    second = commit_all(where, "second", add=False)

    (where / "flip" / "inner.nix").unlink()
    (where / "flip").rmdir()
    (where / "flip").write_text("a file again\n")
    git(where, "rm", "-q", "--cached", "vendored")
    third = commit_all(where, "third")

    repo = pygit2.Repository(str(where))
    pairs = [(first, second), (second, first), (second, third), (third, second), (first, third), (third, first)]
    for old, new in pairs:
        assert ours(repo, old, new) == git_names(where, old, new), (old, new)
    assert ours(repo, first, first) == set()
    assert ours(repo, first, second) == {
        os.fsencode(odd) + b"/package.nix", b"flip", b"flip/inner.nix", b"script.sh", b"dir/a", b"link",
        b"new.txt", b"vendored"}
    # check-pr's own list: decoded as libgit2 decodes, the undecodable byte kept
    assert changed_files(repo, first, second) == sorted(
        ["dir/a", "flip", "flip/inner.nix", "link", "new.txt", f"{odd}/package.nix", "script.sh", "vendored"])


NAMES = ["a", "b", "d/e", "d/f", "d/g/h", "d/g/i", "x/y", "x"]
CONTENTS = ["one\n", "two\n", "three\n"]
MODES = [pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE, pygit2.enums.FileMode.LINK]
files = st.dictionaries(st.sampled_from(NAMES), st.tuples(st.sampled_from(CONTENTS), st.sampled_from(MODES)),
                        max_size=len(NAMES))


def tree_of(repo: pygit2.Repository, chosen: dict) -> str:
    index = pygit2.Index()
    for path, (content, mode) in chosen.items():
        if any(other.startswith(path + "/") for other in chosen):
            continue  # a path cannot be a file and a directory at once
        index.add(pygit2.IndexEntry(path, repo.create_blob(content.encode()), mode))
    tree = index.write_tree(repo)
    me = pygit2.Signature("t", "t@example.org", 0, 0)
    return str(repo.create_commit(None, me, me, "t", tree, []))


@settings(max_examples=60, deadline=None)
@given(old=files, new=files)
def test_random_trees_against_git(tmp_path_factory, old: dict, new: dict) -> None:
    where = tmp_path_factory.mktemp("t")
    repo = pygit2.init_repository(str(where), bare=True)
    a, b = tree_of(repo, old), tree_of(repo, new)
    assert ours(repo, a, b) == git_names(where, a, b)
