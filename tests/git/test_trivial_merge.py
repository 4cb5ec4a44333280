"""The fast path of merge checks (commitguard.git.trivial_merge) never says "clean" where libgit2 would not.

Random trees (files, nested directories, renames, deletions, a file replaced by a
directory, mode changes) are changed on two sides; whenever the fast path calls a
result clean, libgit2's own three-way merge (with rename detection, as the full check
makes it) must be conflict-free and give exactly that tree. Histories where the merge
base is not unique (criss-cross) never take the fast path.
"""

from __future__ import annotations

import pygit2
from hypothesis import given, settings
from hypothesis import strategies as st

from commitguard.git.merges import MergeChecker
from commitguard.git.trees import TreeReader
from commitguard.git.trivial_merge import merge_base_of_chain, trivially_clean
from tests.fixtures.repo import GitRepo

NAMES = ["a", "b", "c", "d/e", "d/f", "d/g/h", "x/y"]
CONTENTS = ["one\n", "two\n", "three\n", "one\ntwo\nthree\nfour\nfive\nsix\n"]
_ME = pygit2.Signature("t", "t@example.org", 0, 0)


def build_tree(repo: pygit2.Repository, files: dict[str, tuple[str, int]]) -> pygit2.Oid:
    index = pygit2.Index()
    for path, (content, mode) in files.items():
        index.add(pygit2.IndexEntry(path, repo.create_blob(content.encode()), mode))
    return index.write_tree(repo)


def apply(files: dict, ops: list) -> dict:
    out = dict(files)
    for op, name, value in ops:
        if op == "set":
            out[name] = (value, pygit2.enums.FileMode.BLOB)
        elif op == "delete":
            out.pop(name, None)
        elif op == "exec" and name in out:
            out[name] = (out[name][0], pygit2.enums.FileMode.BLOB_EXECUTABLE)
        elif op == "rename" and name in out:
            out[name + "." + str(len(value))] = out.pop(name)  # two sides may rename one file to two names
    # a path cannot be both a file and a directory
    for path in list(out):
        if any(other.startswith(path + "/") for other in out):
            out.pop(path)
    return out


ops = st.lists(st.tuples(st.sampled_from(["set", "delete", "exec", "rename"]), st.sampled_from(NAMES + ["d", "x"]),
                         st.sampled_from(CONTENTS)), max_size=4)
base_files = st.dictionaries(st.sampled_from(NAMES), st.sampled_from(CONTENTS), min_size=1)


@settings(max_examples=500, deadline=None)
@given(base=base_files, ours=ops, theirs=ops, extra=ops)
def test_fast_path_agrees_with_libgit2(tmp_path_factory, base, ours, theirs, extra):
    repo = pygit2.init_repository(str(tmp_path_factory.mktemp("trivial")), bare=True)
    files = apply({k: (v, pygit2.enums.FileMode.BLOB) for k, v in base.items()}, [])
    b = build_tree(repo, files)
    o = build_tree(repo, apply(files, ours))
    t = build_tree(repo, apply(files, theirs))
    merged = repo.merge_trees(b, o, t, flags=pygit2.enums.MergeFlag.FIND_RENAMES)
    clean_tree = None if merged.conflicts is not None else merged.write_tree(repo)
    reader = TreeReader(repo)
    candidates = [r for r in (clean_tree, o, t, build_tree(repo, apply(apply(files, theirs), extra))) if r is not None]
    for result in candidates:
        if trivially_clean(reader, b.raw, o.raw, t.raw, result.raw):
            assert clean_tree is not None, "fast path called a conflicting merge clean"
            assert result == clean_tree, "fast path called a tree clean that is not libgit2's merge"


def test_criss_cross_history_never_takes_the_fast_path(tmp_path):
    """Two merge bases: the fast path steps aside (libgit2 merges the bases recursively)."""
    repo = GitRepo(tmp_path / "repo", tmp_path)
    repo.commit("root", {"f": "0\n"})
    repo.git("checkout", "-q", "-b", "side")
    side1 = repo.commit("side 1", {"s": "1\n"})
    repo.git("checkout", "-q", "main")
    main1 = repo.commit("main 1", {"m": "1\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "main takes side", "side")
    repo.git("checkout", "-q", "side")
    repo.git("merge", "-q", "--no-ff", "-m", "side takes main 1", main1)
    side2 = repo.commit("side 2", {"s": "2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main 2", {"m": "2\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "criss-cross", "side")
    pg = pygit2.Repository(str(repo.path))
    merge = pg.revparse_single("HEAD")
    assert merge_base_of_chain(pg, merge.parent_ids[0], merge.parent_ids[1]) is None
    check, _ = MergeChecker(pg).check_merge(str(merge.id))
    assert check.clean and check.reason == "tree is the clean merge of its 2 parents"
    assert side1 and side2


def test_a_pull_request_branch_has_one_merge_base(tmp_path):
    repo = GitRepo(tmp_path / "repo", tmp_path)
    root = repo.commit("root", {"f": "0\n"})
    repo.git("checkout", "-q", "-b", "pr")
    repo.commit("pr 1", {"p": "1\n"})
    repo.commit("pr 2", {"p": "2\n"})
    repo.git("checkout", "-q", "main")
    repo.commit("main 1", {"m": "1\n"})
    repo.git("merge", "-q", "--no-ff", "-m", "merge pr", "pr")
    pg = pygit2.Repository(str(repo.path))
    merge = pg.revparse_single("HEAD")
    assert str(merge_base_of_chain(pg, merge.parent_ids[0], merge.parent_ids[1])) == root
    reader = TreeReader(pg)
    trees = [pg[x].tree_id.raw for x in (root, str(merge.parent_ids[0]), str(merge.parent_ids[1]), str(merge.id))]
    assert trivially_clean(reader, *trees)
    # the same merge with one more file is not the trivial merge
    evil = build_tree(pg, {**{e.name: (pg[e.id].data.decode(), e.filemode) for e in merge.tree}, "evil": ("x\n", 0o100644)})
    assert not trivially_clean(reader, *trees[:3], evil.raw)
