"""The verification cache: reused only for the same commit under the same keyring."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def _git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture()
def signed_repo(tmp_path: Path):
    key = tmp_path / "alice"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)], check=True)
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    _git(repo, "init", "-q", env=env)
    for i in range(3):
        (repo / "f").write_text(str(i))
        _git(repo, "add", "f", env=env)
        _git(
            repo,
            "-c", "user.name=A", "-c", "user.email=a@x", "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}",
            "commit", "-q", "-S", "-m", f"c{i}",
            env=env,
        )
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    pub = key.with_suffix(".pub").read_text().strip()
    (keyring / "keyring.toml").write_text(f'version = 1\n[[person]]\nid = "alice"\n[[person.key]]\nssh = "{pub}"\n')
    return repo, keyring, key, env


def _verify(repo: Path, keyring: Path, cache: Path) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if k != "COMMITGUARD_KEYRING"}
    done = subprocess.run(
        [sys.executable, "-m", "commitguard", "verify", "--repo", str(repo), "--keyring", str(keyring),
         "--cache", str(cache), "--format", "json"],
        capture_output=True, text=True, env=env,
    )
    assert "Traceback" not in done.stderr
    return done.returncode, json.loads(done.stdout)


def test_cache_is_filled_and_reused(signed_repo, tmp_path):
    repo, keyring, _, _ = signed_repo
    cache = tmp_path / "cache"
    code, first = _verify(repo, keyring, cache)
    assert code == 0 and first["summary"]["trusted"] == 3
    rows = sqlite3.connect(cache / "verdicts.sqlite3").execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert rows == 3
    code, second = _verify(repo, keyring, cache)
    assert code == 0 and second == first


def test_changed_keyring_never_reuses_verdicts(signed_repo, tmp_path):
    repo, keyring, _, _ = signed_repo
    cache = tmp_path / "cache"
    assert _verify(repo, keyring, cache)[0] == 0
    toml = keyring / "keyring.toml"
    toml.write_text(toml.read_text() + "revoked = true\n")
    code, report = _verify(repo, keyring, cache)
    assert code == 1
    assert report["summary"]["by_status"] == {"revoked-key": 3}
    # back to the original keyring: the original verdicts come back
    toml.write_text(toml.read_text().replace("revoked = true\n", ""))
    code, report = _verify(repo, keyring, cache)
    assert code == 0 and report["summary"]["by_status"] == {"trusted": 3}


def test_any_keyring_byte_changes_digest(tmp_path):
    """The cache key covers the keyring file byte for byte."""
    from commitguard.keyring import load_keyring

    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    kr = tmp_path / "kr"
    kr.mkdir()
    (kr / "keyring.toml").write_text(
        f'version = 1\n[[person]]\nid = "a"\n[[person.key]]\nssh = "{key.with_suffix(".pub").read_text().strip()}"\n'
    )
    first = load_keyring(kr).digest
    (kr / "keyring.toml").write_text((kr / "keyring.toml").read_text() + "# reviewed\n")
    assert load_keyring(kr).digest != first


def test_new_commit_costs_one_verification(signed_repo, tmp_path):
    repo, keyring, key, env = signed_repo
    cache = tmp_path / "cache"
    assert _verify(repo, keyring, cache)[0] == 0
    _git(repo, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", "new", env=env)
    code, report = _verify(repo, keyring, cache)
    assert code == 1
    assert report["summary"]["by_status"] == {"trusted": 3, "unsigned": 1}
    rows = sqlite3.connect(cache / "verdicts.sqlite3").execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert rows == 4
