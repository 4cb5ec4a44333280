#!/usr/bin/env python3
"""Time merge-faithfulness checks over every merge commit of a repository.

    PYTHONPATH=. python bench/merges.py REPO [--rev HEAD] [--show 5]

Checks each merge reachable from REV (commitguard.git.merges) into a fresh
cache in a scratch directory, then again from that cache, and prints the
counts (clean / not clean / not checked), the cold and cached wall times, the
slowest merges, and a few of the merges that are not clean with their
reasons. ``--against-git`` also asks git itself (``git merge-tree
--write-tree``, git 2.38 or later; two-parent merges only) whether each merge
is clean, and prints every merge where the two answers differ. A measurement,
not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time

import pygit2

from commitguard.git.merge_cache import MergeCache, check_merges
from commitguard.git.merges import MergeChecker


def merge_ids(repo: pygit2.Repository, rev: str) -> list[str]:
    walker = repo.walk(repo.revparse_single(rev).id, pygit2.enums.SortMode.TOPOLOGICAL)
    return [str(c.id) for c in walker if len(c.parent_ids) >= 2]


def against_git(path: str, repo: pygit2.Repository, checks: dict) -> None:
    """git merge-tree's answer beside ours, for every two-parent merge."""
    agree = differ = 0
    for commit_id, check in checks.items():
        parents = [str(p) for p in repo[commit_id].parent_ids]
        if len(parents) != 2:
            continue
        done = subprocess.run(["git", "-C", path, "merge-tree", "--write-tree", *parents],
                              capture_output=True, text=True)
        git_clean = done.returncode == 0 and done.stdout.split("\n")[0] == str(repo[commit_id].tree_id)
        if git_clean == check.clean:
            agree += 1
        else:
            differ += 1
            print(f"  differs from git ({'clean' if git_clean else f'exit {done.returncode}'}): {commit_id} {check.reason}")
    print(f"against git merge-tree (two parents): {agree} agree, {differ} differ")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("--against-git", action="store_true")
    args = ap.parse_args()
    repo = pygit2.Repository(args.repo)
    ids = merge_ids(repo, args.rev)
    print(f"{args.repo}: {len(ids)} merge commits reachable from {args.rev}")

    checker = MergeChecker(repo)
    each: list[tuple[float, str]] = []
    for commit_id in ids:
        t0 = time.perf_counter()
        checker.check_merge(commit_id)
        each.append((time.perf_counter() - t0, commit_id))
    times = sorted(t for t, _ in each)
    if times:
        print(f"per merge (no cache): median {statistics.median(times) * 1e3:.1f} ms, "
              f"p95 {times[int(len(times) * 0.95)] * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms")
        for t, commit_id in sorted(each, reverse=True)[:3]:
            print(f"  slow: {commit_id} {t * 1e3:.1f} ms")

    with tempfile.TemporaryDirectory(prefix="commitguard-bench-merges-") as scratch:
        t0 = time.perf_counter()
        cold = check_merges(repo, ids, cache=MergeCache(scratch))
        t1 = time.perf_counter()
        warm = check_merges(repo, ids, cache=MergeCache(scratch))
        t2 = time.perf_counter()
    assert warm == {c: m for c, m in cold.items() if not m.reason.startswith("not checked")} | {
        c: m for c, m in warm.items() if m.reason.startswith("not checked")}
    clean = sum(m.clean for m in cold.values())
    unchecked = [m for m in cold.values() if m.reason.startswith("not checked")]
    print(f"clean {clean}, not clean {len(cold) - clean - len(unchecked)}, not checked {len(unchecked)}")
    print(f"cold (check + store): {t1 - t0:.2f} s; from the cache: {t2 - t1:.3f} s")
    for m in [m for m in cold.values() if not m.clean][: args.show]:
        print(f"  {m.commit[:12]} {m.reason}")
    if args.against_git:
        against_git(args.repo, repo, cold)


if __name__ == "__main__":
    main()
