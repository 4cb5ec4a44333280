"""``$COMMITGUARD_GITHUB_REQUEST_INTERVAL``: PyGithub's wait between calls, set through
its public constructor options; a bad value is one line and exit 2, before any request."""

from __future__ import annotations

import pytest

from commitguard.errors import CommitguardError
from commitguard.forge import request_spacing
from tests.fixtures_git import run_cli


def test_unset_leaves_pygithubs_defaults(monkeypatch):
    monkeypatch.delenv("COMMITGUARD_GITHUB_REQUEST_INTERVAL", raising=False)
    assert request_spacing() == {}


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("0.5", 0.5), ("60", 60.0)])
def test_a_number_sets_both_waits(monkeypatch, text, seconds):
    monkeypatch.setenv("COMMITGUARD_GITHUB_REQUEST_INTERVAL", text)
    assert request_spacing() == {"seconds_between_requests": seconds, "seconds_between_writes": seconds}


@pytest.mark.parametrize("text", ["abc", "-1", "61", "nan", "inf"])
def test_a_bad_value_is_refused(monkeypatch, text):
    monkeypatch.setenv("COMMITGUARD_GITHUB_REQUEST_INTERVAL", text)
    with pytest.raises(CommitguardError) as caught:
        request_spacing()
    assert str(caught.value) == f"COMMITGUARD_GITHUB_REQUEST_INTERVAL: {text!r} is not a number of seconds from 0 to 60"


def test_keyring_import_github_refuses_it_before_any_request(tmp_path):
    # port 9 (discard): a request would fail differently; the error must come first
    result = run_cli(["keyring", "import", "github", "alice", "--keyring", tmp_path / "k",
                      "--github-api", "http://127.0.0.1:9"], scratch=tmp_path,
                     env={"COMMITGUARD_GITHUB_REQUEST_INTERVAL": "soon"})
    assert result.code == 2
    assert result.stderr == ("commitguard: error: COMMITGUARD_GITHUB_REQUEST_INTERVAL: 'soon' is not a number "
                             "of seconds from 0 to 60\n")
