"""``commitguard demo``: the README's first command builds its repository with the real
tools and every commit gets the status it was built to have."""

from __future__ import annotations

import shutil

import pytest

from tests.fixtures_git import run_cli

pytestmark = pytest.mark.skipif(any(shutil.which(t) is None for t in ("git", "gpg", "ssh-keygen")),
                                reason="the demo builds its commits with git, gpg and ssh-keygen")


def test_demo_builds_and_verifies(tmp_path):
    result = run_cli(["demo", tmp_path / "demo"], scratch=tmp_path, timeout=300)
    assert result.code == 0, result.stderr
    assert "All 6 commits got the status the demo built them to have." in result.stdout
    assert "demo check failed" not in result.stdout
    assert (tmp_path / "demo" / "keyring" / "keyring.toml").is_file()
