"""Inputs built to be slow stop with a clear error, in bounded time (issue 9).

A commit range larger than ``--max-commits`` is refused while it is walked,
not after: the walk stops one commit past the limit.
"""

from __future__ import annotations

import time

from fixtures_git import Repo, assert_report_shape, run_verify


def test_range_over_the_limit_is_refused(history, main_keyring, scratch):
    res = run_verify(["HEAD"], repo=history.repo.path, keyring=main_keyring, scratch=scratch, extra=["--max-commits", "5"])
    assert res.code == 2, res.describe()
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.describe()
    assert "REV" in lines[0] and "more than 5 commits selected" in lines[0], res.describe()
    assert res.stdout == ""


def test_range_at_the_limit_is_verified(history, main_keyring, scratch):
    res = run_verify(["HEAD"], repo=history.repo.path, keyring=main_keyring, scratch=scratch, extra=["--max-commits", "8"])
    assert_report_shape(res)
    assert len(res.ids()) == 8, res.describe()


def test_a_narrower_range_fits_the_limit(history, main_keyring, scratch):
    ids = history.ids
    res = run_verify([f"{ids['M']}..HEAD"], repo=history.repo.path, keyring=main_keyring, scratch=scratch,
                     extra=["--max-commits", "1"])
    assert_report_shape(res)
    assert res.ids() == {ids["t1"]}, res.describe()


def test_limit_holds_on_the_hand_walk_of_an_incomplete_history(tmp_path, main_keyring, scratch):
    """A root commit whose parent is missing makes libgit2 refuse the walk; the
    hand walk that takes over must apply the same limit."""
    repo = Repo(tmp_path / "repo", tmp_path)
    tree = repo.tree_with("f", "x\n")
    raw = (
        f"tree {tree}\nparent {'1' * 40}\n"
        "author A <a@example.org> 1700000000 +0000\ncommitter A <a@example.org> 1700000000 +0000\n\norphan\n"
    )
    tip = repo.write_raw(raw.encode())
    for i in range(40):
        tip = repo.commit(f"c{i}", parents=[tip])
    repo.ref("refs/heads/main", tip)
    repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    started = time.monotonic()
    res = run_verify(["HEAD"], repo=repo.path, keyring=main_keyring, scratch=scratch, extra=["--max-commits", "10"])
    assert res.code == 2, res.describe()
    assert "more than 10 commits selected" in res.stderr, res.describe()
    assert time.monotonic() - started < 60
    # within the limit, the same history is walked by hand down to the missing parent
    res = run_verify(["HEAD"], repo=repo.path, keyring=main_keyring, scratch=scratch, extra=["--max-commits", "100"])
    assert res.code == 2, res.describe()
    assert "missing from the object database" in res.stderr, res.describe()


def test_max_commits_must_be_positive(history, main_keyring, scratch):
    res = run_verify(["HEAD"], repo=history.repo.path, keyring=main_keyring, scratch=scratch, extra=["--max-commits", "0"])
    assert res.code == 2, res.describe()
    assert "--max-commits" in res.stderr, res.describe()
