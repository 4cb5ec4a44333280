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


# ------------------------------------------------------------------ a damaged cache (issue 14, item 10)


def _verify_raw(repo: Path, keyring: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COMMITGUARD_KEYRING"}
    return subprocess.run(
        [sys.executable, "-m", "commitguard", "verify", "--repo", str(repo), "--keyring", str(keyring),
         "--cache", str(cache), "--format", "json"],
        capture_output=True, text=True, env=env,
    )


def _filled_cache(repo: Path, keyring: Path, cache: Path) -> Path:
    """A cache with this history's three verdicts in it, written by a first run."""
    done = _verify_raw(repo, keyring, cache)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    db = cache / "verdicts.sqlite3"
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all rows in the main file, no -wal beside it
    con.close()
    return db


def _truncate(db: Path) -> None:
    data = db.read_bytes()
    assert len(data) > 4096
    db.write_bytes(data[: len(data) // 2])


def _random_bytes(db: Path) -> None:
    db.write_bytes(bytes((i * 131 + 7) % 256 for i in range(8192)))


def _wrong_schema(db: Path) -> None:
    db.unlink()
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE verdicts (keyring TEXT, commit_id TEXT, trusted INTEGER)")
    con.execute("INSERT INTO verdicts VALUES ('x', 'y', 1)")
    con.commit()
    con.close()


def _half_header(db: Path) -> None:
    db.write_bytes(db.read_bytes()[:50])


@pytest.mark.parametrize("damage", [_truncate, _random_bytes, _wrong_schema, _half_header],
                         ids=["truncated", "random-bytes", "wrong-schema", "truncated-header"])
def test_damaged_cache_is_rebuilt_with_one_warning(signed_repo, tmp_path, damage):
    """A cache file that is not this cache's database any more is reported,
    rebuilt, and the verdicts are the ones a run without a cache gives."""
    repo, keyring, _, _ = signed_repo
    cache = tmp_path / "cache"
    db = _filled_cache(repo, keyring, cache)
    expected = json.loads(_verify_raw(repo, keyring, tmp_path / "fresh-cache").stdout)
    damage(db)
    done = _verify_raw(repo, keyring, cache)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"commitguard: warning: {db}: cache damaged ("), lines[0]
    assert lines[0].endswith("); rebuilt empty, verdicts are recomputed"), lines[0]
    assert json.loads(done.stdout) == expected
    assert expected["summary"]["by_status"] == {"trusted": 3}
    # the rebuilt cache holds the three verdicts again and serves the next run silently
    rows = sqlite3.connect(db).execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    assert rows == 3
    again = _verify_raw(repo, keyring, cache)
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout) == expected


def test_damaged_cache_never_hides_an_untrusted_commit(signed_repo, tmp_path):
    """The rebuilt run still reports an unsigned commit (exit 1), not a cached pass."""
    repo, keyring, _, env = signed_repo
    cache = tmp_path / "cache"
    db = _filled_cache(repo, keyring, cache)
    _git(repo, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-q", "--allow-empty", "--no-gpg-sign",
         "-m", "new", env=env)
    _random_bytes(db)
    done = _verify_raw(repo, keyring, cache)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["summary"]["by_status"] == {"trusted": 3, "unsigned": 1}
    warnings = [line for line in done.stderr.splitlines() if line.startswith("commitguard: warning:")]
    assert len(warnings) == 1 and "cache damaged" in warnings[0], done.stderr
    assert done.stderr.splitlines()[-1] == "commitguard: verify: exit 1: 1 of 4 commits not trusted (unsigned 1)"


def test_cache_damaged_while_in_use_is_rebuilt(tmp_path, capsys):
    """Damage SQLite only notices on a query (overwritten data pages)
    is handled where the query runs: the load answers nothing, the cache is
    rebuilt, later stores land in the new file."""
    from commitguard.verify.cache import VerdictCache
    from commitguard.model.verdicts import SignatureInfo, SignatureType, SignatureVerdict, Status

    cache = tmp_path / "cache"
    cache.mkdir()
    db = cache / "verdicts.sqlite3"
    con = sqlite3.connect(db)  # the layout the cache writes, filled by hand with 20,000 rows
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE verdicts (keyring TEXT NOT NULL, commit_id TEXT NOT NULL, verdict TEXT NOT NULL, "
                "PRIMARY KEY (keyring, commit_id)) WITHOUT ROWID")
    ids = [f"{i:040x}" for i in range(20_000)]
    row = '["trusted","signed by alice","ssh","SHA256:x",1700000000,"alice"]'
    con.executemany("INSERT INTO verdicts VALUES (?, ?, ?)", [("k", c, row) for c in ids])
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(db.read_bytes())
    middle = len(data) // 2  # ten pages of leaves overwritten; the schema page stays intact
    data[middle : middle + 40960] = b"\xa5" * 40960
    db.write_bytes(bytes(data))
    vc = VerdictCache(cache)  # the schema page is intact: opening works
    assert capsys.readouterr().err == ""
    assert vc.load("k", ids) == {}  # more than 2,000 ids: a scan of the table runs into the damage
    err = capsys.readouterr().err
    assert err == (f"commitguard: warning: {db}: cache damaged (database disk image is malformed); "
                   "rebuilt empty, verdicts are recomputed\n")
    verdict = SignatureVerdict(status=Status.UNSIGNED, reason="no signature",
                               signature=SignatureInfo(SignatureType.SSH, None, None), signer=None)
    vc.store("k", {"a" * 40: verdict})
    assert vc.load("k", ["a" * 40, ids[0]]) == {"a" * 40: verdict}
    vc.close()
    assert sqlite3.connect(db).execute("SELECT commit_id FROM verdicts").fetchall() == [("a" * 40,)]


def test_cache_that_cannot_be_opened_is_skipped_not_deleted(signed_repo, tmp_path):
    """A directory where the database should be is not ours to remove: warn, run without a cache."""
    repo, keyring, _, _ = signed_repo
    cache = tmp_path / "cache"
    (cache / "verdicts.sqlite3").mkdir(parents=True)
    (cache / "verdicts.sqlite3" / "keep").write_text("mine")
    done = _verify_raw(repo, keyring, cache)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["by_status"] == {"trusted": 3}
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"commitguard: warning: {cache / 'verdicts.sqlite3'}: cache unusable ("), done.stderr
    assert lines[0].endswith("); running without a cache"), done.stderr
    assert (cache / "verdicts.sqlite3" / "keep").read_text() == "mine"
