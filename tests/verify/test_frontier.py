"""The verified frontier: a warm run judges only what is new, and nothing stale is ever served.

Each test compares a run through the frontier with a run without any cache on
the same repository (the oracle), and counts which commits reached the
verdict stage (``judge_table``): a frontier that is used walks only the new commits.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import commitguard.verify.commits as commits_module
from commitguard import VerifyOptions, load_keyring, open_repository, verify_revisions
from commitguard.errors import CommitguardError, RepositoryError
from tests.fixtures.repo import Repo, write_keyring
from tests.fixtures.tools import Gpg, PgpSigner, SshKey, SshSigner


@pytest.fixture()
def world(tmp_path: Path):
    repo = Repo(tmp_path / "repo", tmp_path)
    alice = SshKey.generate(tmp_path / "ssh", "alice", "ed25519")
    signer = SshSigner(alice)
    ids = []
    parent: list[str] = []
    for i in range(5):
        ids.append(repo.commit(f"c{i}", parents=parent, signer=signer if i != 2 else None,
                               when=f"2024-06-0{i + 1}T00:00:00Z"))
        parent = [ids[-1]]
    repo.git("update-ref", "refs/heads/main", ids[-1])
    write_keyring(tmp_path / "keyring", persons=[{"id": "alice", "keys": [{"ssh": alice.pub_line}]}])
    return tmp_path, repo, signer, ids


@pytest.fixture()
def judged(monkeypatch):
    """The ids each verdict stage was asked about, run by run."""
    seen: list[list[str]] = []
    real = commits_module.judge_table

    def spy(repo, keyring, ids, options, *rest):
        wanted: list[str] = []
        seen.append(wanted)

        def record():
            for commit_id in ids:
                wanted.append(commit_id)
                yield commit_id

        return real(repo, keyring, record(), options, *rest)

    monkeypatch.setattr(commits_module, "judge_table", spy)
    return seen


def _run(root: Path, revs=("main",), cache: bool = True, **extra):
    options = VerifyOptions(revs=tuple(revs), cache_dir=str(root / "cache") if cache else None, jobs=1, **extra)
    return verify_revisions(open_repository(str(root / "repo")), load_keyring(root / "keyring"), options)


def _rows(report) -> list[tuple]:
    return [(c.id, c.status.value, c.trusted, c.signer, c.reason, c.signature.created) for c in report.commits]


def _frontier_files(root: Path) -> list[Path]:
    return sorted((root / "cache" / "frontier").glob("*.bin"))


def test_rerun_walks_nothing_and_reports_everything(world, judged):
    root, _, _, ids = world
    first = _run(root)
    assert len(_frontier_files(root)) == 1
    again = _run(root)
    assert judged[1] == []  # the walk hid the whole history
    assert _rows(again) == _rows(first) == _rows(_run(root, cache=False))
    assert again.summary() == {"total": 5, "trusted": 4, "by_status": {"trusted": 4, "unsigned": 1}}
    assert [c.summary for c in again.commits if not c.trusted] == ["c2"]


def test_one_new_commit_is_the_only_one_judged(world, judged):
    root, repo, signer, ids = world
    _run(root)
    new = repo.commit("c5", parents=[ids[-1]], signer=signer, when="2024-07-01T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", new)
    report = _run(root)
    assert judged[1] == [new]
    assert _rows(report) == _rows(_run(root, cache=False))
    assert [c.id for c in report.commits] == [new, *reversed(ids)]


def test_rewritten_history_never_reuses_the_dropped_tip(world, judged):
    root, repo, signer, ids = world
    _run(root)
    # force-push: main now ends in a commit the old tip is not an ancestor of
    other = repo.commit("rewritten", parents=[ids[1]], when="2024-08-01T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", other)
    report = _run(root)
    assert judged[1] == [other, ids[1], ids[0]]  # everything walked again
    assert _rows(report) == _rows(_run(root, cache=False))
    assert ids[4] not in {c.id for c in report.commits}
    assert report.summary()["by_status"] == {"unsigned": 1, "trusted": 2}


def test_changed_keyring_starts_a_new_frontier(world, judged):
    root, _, _, _ = world
    _run(root)
    toml = root / "keyring" / "keyring.toml"
    toml.write_text(toml.read_text() + "revoked = true\n")
    report = _run(root)
    assert len(judged[1]) == 5
    assert report.summary()["by_status"] == {"revoked-key": 4, "unsigned": 1}
    assert len(_frontier_files(root)) == 2


def test_a_range_is_its_own_lineage(world, judged):
    root, _, _, ids = world
    _run(root)
    report = _run(root, revs=(f"{ids[1]}..main",))
    assert judged[1] == [ids[4], ids[3], ids[2]]
    assert [c.id for c in report.commits] == [ids[4], ids[3], ids[2]]


def test_deepening_a_shallow_clone_walks_what_it_brought(world, judged):
    """A shallow clone's boundary is part of the lineage: after ``fetch --deepen`` the older
    commits are new history, so the frontier stored at depth 2 must not hide them."""
    import subprocess

    root, _, _, ids = world
    clone = root / "clone"
    git = ["git", "-c", "protocol.file.allow=always"]
    subprocess.run([*git, "clone", "-q", "--depth", "2", "--branch", "main", f"file://{root / 'repo'}", str(clone)],
                   check=True, capture_output=True)
    options = VerifyOptions(revs=("HEAD",), cache_dir=str(root / "cache"), jobs=1)
    keyring = load_keyring(root / "keyring")
    shallow = verify_revisions(open_repository(str(clone)), keyring, options)
    assert [c.id for c in shallow.commits] == [ids[4], ids[3]]
    subprocess.run([*git, "-C", str(clone), "fetch", "-q", "--deepen", "2"], check=True, capture_output=True)
    deeper = verify_revisions(open_repository(str(clone)), keyring, options)
    assert judged[1] == [ids[4], ids[3], ids[2], ids[1]]  # walked again from the tip, not hidden
    assert [c.id for c in deeper.commits] == [ids[4], ids[3], ids[2], ids[1]]
    assert deeper.summary()["by_status"] == {"trusted": 3, "unsigned": 1}


@pytest.mark.parametrize("damage", ["truncate", "other lineage", "header edited"])
def test_a_damaged_snapshot_is_ignored(world, judged, damage):
    root, _, _, _ = world
    expected = _rows(_run(root))
    (path,) = _frontier_files(root)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        del data[-10:]
    elif damage == "other lineage":
        data = data.replace(path.name.split("-")[0].encode(), b"0" * 32, 1)
    else:  # an untrusted count claimed trusted: the header's own checksum no longer matches
        data = data.replace(b'"unsigned",false', b'"unsigned",true ', 1)
        assert b'"unsigned",true ' in data
    path.write_bytes(bytes(data))
    report = _run(root)
    assert len(judged[1]) == 5  # walked again, not served from the damaged file
    assert _rows(report) == expected


def test_a_damaged_body_is_never_read_as_verdicts(world, judged):
    """Bodies are not read to choose a snapshot (the header has its own checksum, and what a
    re-run reports comes from it): a byte flipped in the body leaves the summary as it was
    written, and stops, with an error naming the file, the first report that needs every
    commit; the file is removed and the next run walks everything."""
    root, _, _, _ = world
    oracle = _run(root, cache=False)
    _run(root)
    (path,) = _frontier_files(root)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    report = _run(root)
    assert report.summary() == oracle.summary()
    with pytest.raises(CommitguardError, match="verified frontier changed or is damaged") as caught:
        _rows(report)
    assert caught.value.path == str(path)
    assert not path.exists()
    assert _rows(_run(root)) == _rows(oracle)
    assert len(judged[-1]) == 5


def test_the_command_stops_on_a_damaged_body_before_printing(world):
    """``--format json`` reads the body before it writes a byte: exit 2, one line naming the
    file, nothing on stdout; then the next run prints what a run without cache prints."""
    import os
    import subprocess
    import sys

    root, _, _, _ = world
    env = {k: v for k, v in os.environ.items() if k != "COMMITGUARD_KEYRING"}
    args = [sys.executable, "-m", "commitguard", "verify", "--repo", str(root / "repo"), "--keyring",
            str(root / "keyring"), "--format", "json", "main"]
    cache = ["--cache", str(root / "cache")]
    fresh = subprocess.run(args + ["--no-cache"], capture_output=True, text=True, env=env)
    subprocess.run(args + cache, capture_output=True, text=True, env=env, check=False)
    (path,) = _frontier_files(root)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x01
    path.write_bytes(bytes(data))
    damaged = subprocess.run(args + cache, capture_output=True, text=True, env=env)
    assert damaged.returncode == 2
    assert damaged.stdout == ""
    assert str(path) in damaged.stderr and "verified frontier" in damaged.stderr
    assert "Traceback" not in damaged.stderr
    again = subprocess.run(args + cache, capture_output=True, text=True, env=env)
    assert (again.returncode, again.stdout) == (fresh.returncode, fresh.stdout)


def _forge_body(path: Path, body_edit) -> None:
    """Rewrite the snapshot's body and every checksum over it, as only someone writing the cache could."""
    import hashlib
    import json

    magic, _digest, header, body = path.read_bytes().split(b"\n", 3)
    body = body_edit(body)
    meta = json.loads(header)
    meta["sha256"] = hashlib.sha256(body).hexdigest()
    header = json.dumps(meta, separators=(",", ":")).encode()
    path.write_bytes(magic + b"\n" + hashlib.sha256(header).hexdigest().encode() + b"\n" + header + b"\n" + body)


def test_a_body_that_is_not_commit_ids_stops_the_run_and_is_removed(world, judged):
    """The body's checksum matches but its ids are not git ids: found when the columns are
    parsed (after the run chose the snapshot), so the run stops with an error naming the
    file instead of reporting, and the next run walks everything."""
    root, _, _, _ = world
    expected = _rows(_run(root))
    (path,) = _frontier_files(root)
    _forge_body(path, lambda body: b'"' + body[1:])
    report = _run(root)
    assert judged[1] == []
    with pytest.raises(CommitguardError, match="verified frontier changed or is damaged") as caught:
        _rows(report)
    assert caught.value.path == str(path)
    assert not path.exists()
    assert _rows(_run(root)) == expected
    assert len(judged[2]) == 5


def test_the_summary_and_listing_come_from_the_header(world, judged, monkeypatch):
    """A re-run's exit code, counts and untrusted listing need no column of the body."""
    from commitguard.verify import frontier as frontier_module, frontier_file

    root, _, _, ids = world
    oracle = [c for c in _run(root).commits if not c.trusted]
    monkeypatch.setattr(frontier_module.StoredVerdictTable, "_parse",
                        lambda self: pytest.fail("the body was parsed"))  # fmt: skip
    report = _run(root)
    assert report.summary() == {"total": 5, "trusted": 4, "by_status": {"trusted": 4, "unsigned": 1}}
    assert not report.ok
    count, listed = report.commits.listed(lambda c: not c.trusted, 200)
    assert count == 1
    assert listed == oracle
    assert [(c.id, c.status.value, c.summary) for c in listed] == [(ids[2], "unsigned", "c2")]


def test_max_commits_counts_the_frontier(world):
    root, repo, signer, ids = world
    _run(root)
    new = repo.commit("c5", parents=[ids[-1]], signer=signer)
    repo.git("update-ref", "refs/heads/main", new)
    with pytest.raises(RepositoryError, match="more than 5 commits selected"):
        _run(root, max_commits=5)
    assert len(_run(root, max_commits=6).commits) == 6


def test_a_verdict_that_depends_on_the_clock_keeps_the_frontier_out(tmp_path, judged):
    gpg = Gpg(tmp_path / "gnupg", tmp_path)
    fpr = gpg.gen_key("Pat Example <pat@example.org>", "ed25519", "sign")
    repo = Repo(tmp_path / "repo", tmp_path)
    ok = repo.commit("now", signer=PgpSigner(gpg, fpr), when="2024-06-01T00:00:00Z")
    future = repo.commit("later", parents=[ok], signer=PgpSigner(gpg, fpr), when="2099-01-01T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", future)
    write_keyring(tmp_path / "keyring", persons=[{"id": "pat", "keys": [{"openpgp": gpg.export(fpr, tmp_path / "pat.asc")}]}])
    report = _run(tmp_path)
    assert report.summary()["by_status"] == {"bad-signature": 1, "trusted": 1}
    assert "in the future" in report.commits[0].reason
    assert _frontier_files(tmp_path) == []  # the future-dated verdict may change: nothing is stored
    _run(tmp_path)
    assert judged[1] == [future, ok]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_the_command_prints_the_same_bytes_through_the_frontier(world, fmt):
    import os
    import subprocess
    import sys

    root, repo, signer, ids = world
    env = {k: v for k, v in os.environ.items() if k != "COMMITGUARD_KEYRING"}

    def verify(*cache: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "commitguard", "verify", "--repo", str(root / "repo"), "--keyring",
             str(root / "keyring"), "--format", fmt, *cache, "main"],
            capture_output=True, text=True, env=env,
        )

    fresh = verify("--no-cache")
    filled = verify("--cache", str(root / "cache"))
    assert _frontier_files(root)
    served = verify("--cache", str(root / "cache"))
    assert fresh.returncode == filled.returncode == served.returncode == 1
    assert fresh.stdout == filled.stdout == served.stdout
    assert "5 commits checked" in served.stdout if fmt == "text" else '"total":5' in served.stdout
    # one new unsigned commit: written after the stored snapshot, reported from it, then served again
    _new_commit(repo, signer, ids[-1], 3)
    fresh = verify("--no-cache")
    after = verify("--cache", str(root / "cache"))
    served = verify("--cache", str(root / "cache"))
    assert any(h["base"] for h in _headers(root).values())
    assert fresh.returncode == after.returncode == served.returncode == 1
    assert fresh.stdout == after.stdout == served.stdout
    assert "6 commits checked" in served.stdout if fmt == "text" else '"total":6' in served.stdout


def test_commit_ids_kept_as_text():
    from commitguard.model.verdicts import CommitIds

    ids = CommitIds("a" * 40 + "\n" + "b" * 40 + "\n", 40)
    assert len(ids) == 2 and ids[1] == "b" * 40 and ids[-2] == "a" * 40 and list(ids) == ["a" * 40, "b" * 40]
    assert list(ids.after(["c" * 40])) == ["c" * 40, "a" * 40, "b" * 40]
    with pytest.raises(IndexError):
        ids[2]
    with pytest.raises(ValueError, match="another width"):
        ids.after(["c" * 64])
    with pytest.raises(ValueError, match="whole lines"):
        CommitIds("a" * 40 + "\n" + "b" * 39, 40)


def test_a_listing_longer_than_the_header_keeps_reads_the_columns(world, judged, monkeypatch):
    """The header keeps the first FIRST_KEPT commits of each untrusted verdict: a listing
    within that comes from the header, a longer one from the parsed columns, both in
    history order and equal to a run without any cache."""
    from commitguard.verify import frontier as frontier_module, frontier_file

    root, repo, _, ids = world
    tip = ids[-1]
    for i in range(3):  # three more unsigned commits on top
        tip = repo.commit(f"u{i}", parents=[tip], when=f"2024-07-0{i + 1}T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", tip)
    monkeypatch.setattr(frontier_file, "FIRST_KEPT", 2)
    _run(root)
    oracle = [c for c in _run(root, cache=False).commits if not c.trusted]
    assert len(oracle) == 4
    report = _run(root)
    parsed = []
    real_parse = frontier_module.StoredVerdictTable._parse
    monkeypatch.setattr(frontier_module.StoredVerdictTable, "_parse",
                        lambda self: parsed.append(1) or real_parse(self))  # fmt: skip
    assert report.commits.listed(lambda c: not c.trusted, 2) == (4, oracle[:2])
    assert parsed == []
    assert report.commits.listed(lambda c: not c.trusted, 3) == (4, oracle[:3])
    assert parsed == [1]


def _headers(root: Path) -> dict[str, dict]:
    import json

    out = {}
    for path in _frontier_files(root):
        out[path.name] = json.loads(path.read_bytes().split(b"\n", 3)[2])
    return out


def _new_commit(repo, signer, parent: str, n: int) -> str:
    tip = repo.commit(f"n{n}", parents=[parent], signer=signer if n % 3 else None,
                      when=f"2024-08-{n + 1:02d}T00:00:00Z")  # fmt: skip
    repo.git("update-ref", "refs/heads/main", tip)
    return tip


def test_new_commits_are_written_after_the_stored_snapshot(world, judged):
    """After one new commit the new snapshot holds that commit and names the old one as its
    base; read back (header alone, then every column) it is the same as a run without cache."""
    root, repo, signer, ids = world
    _run(root)
    tip = _new_commit(repo, signer, ids[-1], 1)
    first = _run(root)
    assert judged[1] == [tip]
    headers = _headers(root)
    delta = next(h for h in headers.values() if h["base"] is not None)
    assert (delta["own"], delta["count"], delta["depth"], delta["tips"]) == (1, 6, 2, [tip])
    assert headers[delta["base"]["file"]]["own"] == 5
    again = _run(root)  # nothing new: served from the chain
    assert judged[2] == []
    oracle = _run(root, cache=False)
    assert _rows(first) == _rows(oracle)
    assert again.summary() == oracle.summary()
    assert _rows(again) == _rows(oracle)


def test_a_chain_is_written_whole_again_past_its_depth(world, judged, monkeypatch):
    from commitguard.verify import frontier as frontier_module, frontier_file

    monkeypatch.setattr(frontier_module, "MAX_DEPTH", 3)
    monkeypatch.setattr(frontier_file, "MAX_DEPTH", 3)
    root, repo, signer, ids = world
    _run(root)
    tip = ids[-1]
    depths = []
    for n in range(1, 5):
        tip = _new_commit(repo, signer, tip, n)
        report = _run(root)
        assert judged[-1] == [tip]
        assert _rows(report) == _rows(_run(root, cache=False))
        newest = max(_frontier_files(root), key=lambda p: p.stat().st_mtime_ns)
        depths.append(_headers(root)[newest.name]["depth"])
    assert depths == [2, 3, 1, 2]  # the third new commit found the chain full: everything written once more
    assert _rows(_run(root)) == _rows(_run(root, cache=False))


def _chain_of_two(world) -> tuple[str, Path]:
    """A snapshot, then one new commit written after it: (the new tip, the base's file)."""
    root, repo, signer, ids = world
    _run(root)
    tip = _new_commit(repo, signer, ids[-1], 1)
    _run(root)
    headers = _headers(root)
    return tip, root / "cache" / "frontier" / next(h["base"]["file"] for h in headers.values() if h["base"])


def test_a_snapshot_whose_base_is_gone_or_changed_is_not_used(world, judged):
    root, repo, signer, ids = world
    tip, base = _chain_of_two(world)
    base.unlink()
    report = _run(root)
    assert judged[2] == [tip, *reversed(ids)]  # no usable snapshot: everything walked again
    assert _rows(report) == _rows(_run(root, cache=False))


def test_pruning_keeps_the_bases_of_kept_snapshots(world, judged, monkeypatch):
    from commitguard.verify import frontier as frontier_module

    monkeypatch.setattr(frontier_module, "_KEEP", 1)
    root, repo, signer, ids = world
    _run(root, revs=(ids[2],))
    _run(root)  # written after the snapshot of ids[2]
    tip = ids[-1]
    for n in range(1, 4):
        tip = _new_commit(repo, signer, tip, n)
        _run(root)
    headers = _headers(root)
    # one snapshot kept (_KEEP), and the four it is written after, down to the one of ids[2]
    assert sorted(h["depth"] for h in headers.values()) == [1, 2, 3, 4, 5]
    assert [h["tips"] for h in headers.values() if h["depth"] == 1] == [[ids[2]]]
    report = _run(root)
    assert judged[-1] == []
    assert _rows(report) == _rows(_run(root, cache=False))


def test_a_base_rewritten_with_its_own_checksums_is_not_followed(world, judged):
    """A base whose body was rewritten consistently (its own checksums match) is no longer
    the base the newer snapshot was written after: the chain is not used. (The rewritten
    file names a tip off this history, so it cannot serve on its own either.)"""
    import hashlib
    import json

    root, repo, signer, ids = world
    tip, base = _chain_of_two(world)
    magic, _digest, header, body = base.read_bytes().split(b"\n", 3)
    assert body.endswith(b'"c2"}')
    body = body[: -len(b'"c2"}')] + b'"cX"}'  # the stored subject line of the unsigned commit
    meta = json.loads(header)
    meta["sha256"] = hashlib.sha256(body).hexdigest()
    meta["tips"] = [repo.commit("side", parents=[ids[0]], when="2024-09-01T00:00:00Z")]
    header = json.dumps(meta, separators=(",", ":")).encode()
    base.write_bytes(magic + b"\n" + hashlib.sha256(header).hexdigest().encode() + b"\n" + header + b"\n" + body)
    report = _run(root)
    assert judged[-1] == [tip, *reversed(ids)]  # walked again: the rewritten base is used by nothing
    assert _rows(report) == _rows(_run(root, cache=False))


def test_snapshots_that_name_each_other_as_bases_are_not_used(world, judged):
    """Two files each written "after" the other (only a cache writer could make them) are no
    chain: neither is used, and the run walks everything."""
    import hashlib
    import json

    root, repo, signer, ids = world
    tip, base = _chain_of_two(world)
    delta = next(p for p in _frontier_files(root) if p != base)
    for path, other in ((base, delta), (delta, base)):
        magic, _digest, header, body = path.read_bytes().split(b"\n", 3)
        meta = json.loads(header)
        meta["base"] = {"file": other.name, "sha256": meta["sha256"], "count": 1}
        header = json.dumps(meta, separators=(",", ":")).encode()
        path.write_bytes(magic + b"\n" + hashlib.sha256(header).hexdigest().encode() + b"\n" + header + b"\n" + body)
    report = _run(root)
    assert judged[-1] == [tip, *reversed(ids)]
    assert _rows(report) == _rows(_run(root, cache=False))


def test_only_the_most_recently_used_lineages_are_kept(world, judged):
    """A lineage per keyring, range and trust root: a CI cache run with ever new
    keyrings would grow without end. Past LINEAGES_KEPT, the least recently used
    lineages go (all their files), the one just written and the one in use stay."""
    import os

    from commitguard.cache_files import LINEAGES_KEPT

    root, repo, signer, ids = world
    _run(root)
    (mine,) = _frontier_files(root)
    directory = mine.parent
    planted = []
    for n in range(LINEAGES_KEPT + 2):  # older and older lineages, two files each (a base and a delta)
        for part in ("a", "b"):
            path = directory / f"{n:032x}-{part}.bin"
            path.write_bytes(b"not read")
            os.utime(path, (1_700_000_000 - 1000 * n, 1_700_000_000 - 1000 * n))
            planted.append(path)
    (directory / "notes.txt").write_text("not a snapshot\n")
    os.utime(mine, (1_600_000_000, 1_600_000_000))  # the oldest of all until it is used
    _run(root)  # nothing new: reading the snapshot marks its lineage as used
    assert mine.stat().st_mtime > 1_700_000_000
    new = repo.commit("c5", parents=[ids[-1]], signer=signer, when="2024-07-01T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", new)
    _run(root)  # writes a delta, then prunes
    left = {p.name for p in directory.iterdir()}
    kept = {p.name for p in planted[: 2 * (LINEAGES_KEPT - 1)]}
    assert {p.name for p in planted} & left == kept
    assert mine.name in left and "notes.txt" in left
    assert len([n for n in left if n.startswith(mine.name.split("-")[0])]) == 2  # its base and the delta
    assert judged[-1] == [new]


def test_prune_lineages_keeps_the_current_one_however_old(tmp_path):
    import os

    from commitguard.cache_files import prune_lineages

    for n, lineage in enumerate(["aa", "bb", "cc", "dd"]):
        path = tmp_path / f"{lineage}-x.bin"
        path.write_bytes(b"")
        os.utime(path, (1_000 + n, 1_000 + n))
    (tmp_path / ".tmp-aa-x.bin").write_bytes(b"")
    prune_lineages(tmp_path, "aa", keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-aa-x.bin", "aa-x.bin", "dd-x.bin"]
    prune_lineages(tmp_path, "zz", keep=0)  # the current one has no file yet: nothing else is kept
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tmp-aa-x.bin"]
