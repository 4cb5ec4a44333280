"""The history snapshot behind ``annotate``/``pin`` gives exactly what a cold build gives.

A warm run reads the columns an earlier run stored (same tip) or extends them
with the commits that are new (a descendant tip); anything else (a
force-push, another trust root, a damaged file) builds the history afresh.
Each case is compared field by field with a build that has no snapshot at
all: the commits, in order, their parents, paths, renames, the mainline,
the merge each commit entered through, and the trails of every package.
Histories are made with git (merges of side branches forked from old
commits, a rename of a package directory, an amended tip).
"""

from __future__ import annotations

import json
import shutil

import pygit2
import pytest

from commitguard.chain.history import PackageHistory
from commitguard.chain.history_snapshot import HISTORY_DIR, HistorySnapshots
from commitguard.git.path_index import HistoryIndex
from tests.fixtures.approvals import GitRepo, person_toml
from tests.fixtures_git import SshKey, run_cli

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen")), reason="needs git and ssh-keygen"
)

PACKAGES = {f"p{i}": f"pkgs/by-name/p{i}/pk{i}" for i in range(4)}


def expr(name: str, version: str) -> str:
    return (f'{{ stdenv, fetchurl }}:\nstdenv.mkDerivation {{\n  pname = "{name}";\n  version = "{version}";\n'
            f'  src = fetchurl {{ url = "https://example.org/{name}-{version}.tar.gz"; '
            f'hash = "sha256-{"A" * 43}="; }};\n}}\n')


def files(i: int, version: str) -> dict[str, str]:
    return {f"{PACKAGES[f'p{i}']}/package.nix": expr(f"pk{i}", version)}


def base_history(tmp_path):
    """main: init, p0..p3, a side branch forked at the second commit and merged, a rename."""
    repo = GitRepo(tmp_path / "repo", tmp_path)
    root = repo.commit("init", {"README.md": "# packages\n", **files(0, "1.0"), **files(1, "1.0")})
    fork = repo.commit("p2", files(2, "1.0"))
    repo.commit("p3", files(3, "1.0"))
    repo.git("checkout", "-q", "-b", "side", fork)
    repo.commit("side p1", files(1, "1.1"))
    repo.commit("side p2", files(2, "1.1"))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "side")
    repo.git("mv", "pkgs/by-name/p3/pk3", "pkgs/by-name/p3/moved3")
    repo.commit("move p3")
    return repo, root


def build(repo: GitRepo, tip: str, trust_root: str | None, cache=None) -> PackageHistory:
    git = pygit2.Repository(str(repo.path))
    index = HistoryIndex(cache)
    snapshots = HistorySnapshots(cache, git, trust_root) if cache is not None else None
    try:
        history = PackageHistory(git, tip, trust_root, index, snapshots=snapshots)
    finally:
        index.close()
    history.snapshots = snapshots
    return history


def summary(history: PackageHistory) -> dict:
    """Everything a history answers, by commit id (positions are an implementation detail)."""
    targets = {name: prefix for name, prefix in PACKAGES.items()}
    targets["p3"] = "pkgs/by-name/p3/moved3"
    trails = history.trails(targets)
    return {
        "ids": list(history.ids),
        "parents": {c: history.parents(c) for c in history.ids},
        "paths": {c: sorted(history.paths(history.position[c])) for c in history.ids},
        "renames": {c: history.renames(c) for c in history.ids},
        "mainline": history.mainline,
        "entries": {c: history.entry_of(c) for c in history.ids},
        "entry_index": {c: history.entry_index(c) for c in history.ids},
        "trails": {k: (t.commits, t.aliases, t.incomplete) for k, t in trails.items()},
        "warnings": history.warnings,
    }


def test_the_same_tip_reads_the_snapshot_and_answers_as_a_cold_build(tmp_path):
    repo, root = base_history(tmp_path)
    tip, cache = repo.rev("HEAD"), tmp_path / "cache"
    first = build(repo, tip, root, cache)
    assert first.reused == 0 and first.newly_indexed == len(first.ids)
    again = build(repo, tip, root, cache)
    assert again.reused == len(first.ids) == 7
    assert again.newly_indexed == 0
    assert summary(again) == summary(first) == summary(build(repo, tip, root))
    # the rename is followed from the snapshot as from the index
    assert summary(again)["trails"]["p3"][1] == [("pkgs/by-name/p3/pk3", tip)]


def stored_history(tmp_path):
    """The base history, its snapshot stored for its tip: (repo, root, cache, tip)."""
    repo, root = base_history(tmp_path)
    cache = tmp_path / "cache"
    tip = repo.rev("HEAD")
    build(repo, tip, root, cache)
    return repo, root, cache, tip


def test_new_commits_are_walked_alone_and_put_before_the_stored_ones(tmp_path):
    repo, root, cache, _ = stored_history(tmp_path)
    # a side branch forked from an old commit, merged on top, then a plain commit
    repo.git("checkout", "-q", "-b", "late", root)
    late = repo.commit("late p0", files(0, "2.0"))
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "--no-edit", "late")
    tip = repo.commit("p1 again", files(1, "3.0"))
    warm = build(repo, tip, root, cache)
    assert warm.reused == 7 and warm.newly_indexed == 3
    cold = summary(build(repo, tip, root))
    assert summary(warm) == cold
    assert late in cold["trails"]["p0"][0] and tip in cold["trails"]["p1"][0]
    assert warm.entry_of(late) == warm.mainline[1]  # entered through the new merge
    # and that extension is itself stored: the next run reads all ten commits
    again = build(repo, tip, root, cache)
    assert again.reused == 10 and summary(again) == cold


def test_a_merge_that_would_interleave_stored_and_new_commits_builds_afresh(tmp_path):
    repo, root, cache, stored = stored_history(tmp_path)
    # main merged into a branch forked at the root: libgit2 lists the stored line before the topic
    repo.git("checkout", "-q", "-b", "topic", root)
    repo.commit("topic p0 patch", {"pkgs/by-name/p0/pk0/fix.patch": "a patch\n"})
    repo.git("merge", "-q", "--no-ff", "--no-edit", "main")
    tip = repo.rev("HEAD")
    warm = build(repo, tip, root, cache)
    assert warm.reused == 0
    assert summary(warm) == summary(build(repo, tip, root))
    assert stored not in warm.mainline


def test_any_stored_ancestor_extends_to_what_a_cold_build_gives(tmp_path):
    """A random history of merges: every (stored tip, later tip) pair answers as a cold build,
    whether the snapshot could be extended or the history was built afresh."""
    import random

    rng = random.Random(19)
    git = pygit2.Repository(pygit2.init_repository(str(tmp_path / "dag")).path)
    who = pygit2.Signature("t", "t@example.org", 1_700_000_000, 0)
    commits: list[str] = []
    for n in range(40):
        parents = [commits[-1]] if commits else []
        if len(commits) > 3 and rng.random() < 0.4:
            parents = rng.sample(commits, 2)
        builder = git.TreeBuilder(git[parents[0]].tree) if parents else git.TreeBuilder()
        builder.insert(f"f{n % 7}", git.create_blob(f"{n}\n".encode()), pygit2.GIT_FILEMODE_BLOB)
        when = pygit2.Signature("t", "t@example.org", 1_700_000_000 + rng.randrange(10_000), 0)
        commits.append(str(git.create_commit(None, who, when, f"c{n}", builder.write(), parents)))
    checked = extended = 0
    for tip in commits[30:]:
        for stored in commits[::3]:
            if stored != tip and not git.descendant_of(tip, stored):
                continue
            cache = tmp_path / f"cache-{checked}"
            for at in (stored, tip):
                index = HistoryIndex(cache)
                history = PackageHistory(git, at, None, index, snapshots=HistorySnapshots(cache, git, None))
                index.close()
            cold_index = HistoryIndex(None)
            cold = PackageHistory(git, tip, None, cold_index)
            assert list(history.ids) == list(cold.ids), (stored, tip)
            assert [history.entry_of(c) for c in cold.ids] == [cold.entry_of(c) for c in cold.ids]
            assert [history.paths(i) for i in range(len(cold.ids))] == [cold.paths(i) for i in range(len(cold.ids))]
            assert history.mainline == cold.mainline
            checked += 1
            extended += history.reused > 0
    assert checked > 20 and extended > 5


def test_a_force_push_builds_the_history_afresh(tmp_path):
    repo, root = base_history(tmp_path)
    cache = tmp_path / "cache"
    build(repo, repo.rev("HEAD"), root, cache)
    repo.git("reset", "-q", "--hard", "HEAD~2")  # drop the rename and the merge
    tip = repo.commit("rewritten p2", files(2, "9.9"))
    warm = build(repo, tip, root, cache)
    assert warm.reused == 0
    cold = summary(build(repo, tip, root))
    assert summary(warm) == cold and len(cold["ids"]) == 4


def test_a_damaged_or_truncated_snapshot_is_ignored(tmp_path):
    repo, root = base_history(tmp_path)
    tip, cache = repo.rev("HEAD"), tmp_path / "cache"
    cold = summary(build(repo, tip, root))
    build(repo, tip, root, cache)
    (path,) = (cache / HISTORY_DIR).iterdir()
    data = path.read_bytes()
    for damaged in (data[:-1], data[:-40] + bytes(b ^ 1 for b in data[-40:]), data[: len(data) // 2], b"", b"x" * 100):
        path.write_bytes(damaged)
        warm = build(repo, tip, root, cache)
        assert warm.reused == 0, damaged[:60]
        assert summary(warm) == cold
        assert warm.snapshots.ignored
    # a consistent checksum does not make inconsistent columns usable: a parent past the
    # history, a path number past the table, positions that go backwards, another tip first
    from array import array
    from dataclasses import replace

    from commitguard.chain.history_snapshot import _encode

    good = build(repo, tip, root).columns()
    n = len(good.ids)
    for bad in (replace(good, parent_pos=array("i", [n] * len(good.parent_pos))),
                replace(good, path_ids=array("I", [len(good.path_table)] * len(good.path_ids))),
                replace(good, parent_start=array("I", [0, 2, 1, *good.parent_start[3:]])),
                replace(good, entry=array("i", [n] * n)),
                replace(good, ids=(good.ids[1], good.ids[0], *good.ids[2:]))):
        snapshots = HistorySnapshots(cache, pygit2.Repository(str(repo.path)), root)
        path.write_bytes(b"".join(_encode(snapshots.lineage, bad)))
        warm = build(repo, tip, root, cache)
        assert warm.reused == 0
        assert summary(warm) == cold
    path.write_bytes(b"".join(_encode(snapshots.lineage, good)))  # the same bytes, rewritten: used again
    assert build(repo, tip, root, cache).reused == n


def test_another_trust_root_or_repository_does_not_reuse_it(tmp_path):
    repo, root = base_history(tmp_path)
    tip, cache = repo.rev("HEAD"), tmp_path / "cache"
    build(repo, tip, root, cache)
    other_root = repo.rev("HEAD~1")
    warm = build(repo, tip, other_root, cache)
    assert warm.reused == 0
    assert summary(warm) == summary(build(repo, tip, other_root))
    nothing = build(repo, tip, None, cache)
    assert nothing.reused == 0 and summary(nothing) == summary(build(repo, tip, None))
    copy = repo.clone_to(tmp_path / "copy", tmp_path)
    assert build(copy, tip, root, cache).reused == 0


def test_annotate_warm_and_after_a_new_commit_prints_what_a_cold_run_prints(tmp_path):
    alice = SshKey.generate(tmp_path / "ssh", "alice", "ed25519")
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text("version = 1\n\n" + person_toml("alice", ssh=[alice]))
    repo = GitRepo(tmp_path / "repo", tmp_path)
    root = repo.commit("init", {"README.md": "#\n", **files(0, "1.0")}, signer=alice)
    repo.commit("p1", files(1, "1.0"), signer=alice)
    repo.commit("p0 unsigned", files(0, "1.1"))

    def annotate(cache):
        where = ["--cache", str(cache)] if cache else ["--no-cache"]
        res = run_cli(["annotate", "--repo", str(repo.path), "--keyring", str(keyring), "--trust-root", root,
                       "--format", "json", *where], scratch=tmp_path / "scratch")
        assert res.code in (0, 1), res.describe()
        out = json.loads(res.stdout)
        return out.pop("history"), out

    cache = tmp_path / "cache"
    _, cold = annotate(None)
    assert annotate(cache)[1] == cold
    history, warm = annotate(cache)
    assert warm == cold and history == {"commits": 3, "newly_indexed": 0}
    repo.commit("p1 signed", files(1, "2.0"), signer=alice)
    history, warm = annotate(cache)
    assert history == {"commits": 4, "newly_indexed": 1}
    assert warm == annotate(None)[1]
    assert [p["trusted"] is False for p in warm["packages"]] and warm["packages"][1]["history_trusted"] is True
    assert warm["packages"][0]["history_trusted"] is False
    # every package wanted most of the history: it was judged as verify judges it, through the verified
    # frontier, and verify reading that frontier says what it says without any cache
    assert (cache / "frontier").is_dir() and any((cache / "frontier").iterdir())

    def verify(*where):
        res = run_cli(["verify", "--repo", str(repo.path), "--keyring", str(keyring), "--trust-root", root,
                       "--format", "json", *where], scratch=tmp_path / "scratch")
        return res.code, json.loads(res.stdout)

    assert verify("--cache", str(cache)) == verify("--no-cache")


def test_old_lineages_are_pruned_when_a_snapshot_is_stored(tmp_path):
    import os

    from commitguard.cache_files import LINEAGES_KEPT

    repo, root, cache, tip = stored_history(tmp_path)
    directory = cache / HISTORY_DIR
    (mine,) = directory.glob("*.bin")
    planted = []
    for n in range(LINEAGES_KEPT + 1):
        path = directory / f"{n:032x}-{tip}.bin"
        path.write_bytes(b"not read")
        os.utime(path, (1_700_000_000 - n, 1_700_000_000 - n))
        planted.append(path.name)
    new_tip = repo.commit("p1 again", files(1, "3.0"))
    build(repo, new_tip, root, cache)
    left = {p.name for p in directory.iterdir()}
    assert left == {mine.name, f"{mine.name.split('-')[0]}-{new_tip}.bin", *planted[: LINEAGES_KEPT - 1]}
