"""Person ids with white space are refused at load: ``alice`` and ``alice `` (or
``alice`` followed by a no-break space) print alike in every report."""

from __future__ import annotations

import pytest

from tests.fixtures_git import run_cli


@pytest.mark.parametrize("other", ["alice ", " alice", "alice\u00a0", "ali\u00a0ce", "ali  ce"])
def test_id_with_white_space_is_refused(tmp_path, other):
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text(
        'version = 1\n\n[[person]]\nid = "alice"\n\n[[person]]\nid = "%s"\n' % other, encoding="utf-8")
    res = run_cli(["keyring", "check", "--keyring", str(keyring)], scratch=tmp_path / "scratch")
    assert res.code == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1, res.stderr
    assert "person[1].id" in res.stderr and "white space" in res.stderr, res.stderr


def test_single_inner_spaces_are_allowed(tmp_path):
    """A Guix import names persons by their name ("Noé Lopez")."""
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text('version = 1\n\n[[person]]\nid = "No\u00e9 Lopez"\n', encoding="utf-8")
    res = run_cli(["keyring", "check", "--keyring", str(keyring)], scratch=tmp_path / "scratch")
    assert "white space" not in res.stderr, res.stderr
