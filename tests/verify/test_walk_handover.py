"""The bytes the walk read reach the verifier, and the walk never runs far ahead of it.

A cold ``verify`` of one tip reads each commit object once: the walk reads it
for its parents and hands the same bytes to the verifier. The verdicts must
be those of commits read afresh by id, on one core and on two; and the walk
waits while the workers hold as many chunks as they may, so the bytes in
flight stay bounded.
"""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest

import commitguard.verify.commits as commits_module
from commitguard import VerifyOptions, load_keyring, open_repository, verify_revisions
from commitguard.verify.commits import verify_commit_ids
from tests.fixtures.repo import Repo, write_keyring
from tests.fixtures.tools import SshKey, SshSigner


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("handover")
    repo = Repo(root / "repo", root)
    alice = SshKey.generate(root / "ssh", "alice", "ed25519")
    mallory = SshKey.generate(root / "ssh", "mallory", "ed25519")
    signer, stranger = SshSigner(alice), SshSigner(mallory)
    main: list[str] = []
    for i in range(16):
        main.append(repo.commit(f"m{i}", parents=main[-1:], signer=None if i == 3 else signer,
                                when=f"2024-06-{i + 1:02d}T00:00:00Z"))  # fmt: skip
    side = [repo.commit("s0", parents=[main[5]], signer=stranger, when="2024-07-01T00:00:00Z")]
    side.append(repo.commit("s1", parents=side, signer=signer, when="2024-07-02T00:00:00Z"))
    tip = repo.commit("merge", parents=[main[-1], side[-1]], signer=signer, when="2024-07-03T00:00:00Z")
    repo.git("update-ref", "refs/heads/main", tip)
    write_keyring(root / "keyring", persons=[{"id": "alice", "keys": [{"ssh": alice.pub_line}]}])
    return root


def _json(report) -> list[dict]:
    return [c.to_json() for c in report.commits]


def _verify(root: Path, jobs: int):
    options = VerifyOptions(revs=("main",), jobs=jobs)
    return verify_revisions(open_repository(str(root / "repo")), load_keyring(root / "keyring"), options)


@pytest.mark.parametrize("jobs", [1, 2])
def test_verdicts_from_the_walks_bytes_are_those_of_commits_read_afresh(world: Path, monkeypatch, jobs: int):
    monkeypatch.setattr(commits_module, "PARALLEL_THRESHOLD", 1)
    monkeypatch.setattr(commits_module, "CHUNK", 2)
    monkeypatch.setattr(commits_module, "MAX_PENDING", 1)
    handed: list[tuple] = []
    real_submit, real_chunk = commits_module._Workers.submit, commits_module._verify_chunk

    def submit(self, items):
        assert len(self.pending) < commits_module.MAX_PENDING * jobs  # the walk waited before this chunk
        handed.extend(items)
        return real_submit(self, items)

    def chunk(repo, verifier, items, reader=None):
        handed.extend(items)
        return real_chunk(repo, verifier, items, reader)

    monkeypatch.setattr(commits_module._Workers, "submit", submit)
    monkeypatch.setattr(commits_module, "_verify_chunk", chunk)
    report = _verify(world, jobs)
    repo = pygit2.Repository(str(world / "repo"))
    ids = [c.id for c in report.commits]
    assert ids == [str(c.id) for c in repo.walk(repo.revparse_single("main").id, pygit2.GIT_SORT_TOPOLOGICAL)]
    assert sorted(commit_id for _, commit_id, _ in handed) == sorted(ids)
    for _, commit_id, raw in handed:  # every commit went with the bytes the walk read by its id
        assert raw == repo.odb.read(commit_id)[1]
    afresh = verify_commit_ids(repo, load_keyring(world / "keyring"), ids, VerifyOptions(jobs=1))
    assert _json(report) == [c.to_json() for c in afresh]
    statuses = {c.summary or c.id: c.status.value for c in report.commits}
    assert sorted(statuses.values()).count("unsigned") == 1 and "unknown-key" in statuses.values()


def test_on_one_core_commits_are_verified_while_the_walk_goes_on(world: Path, monkeypatch):
    monkeypatch.setattr(commits_module, "CHUNK", 2)
    walked: list[str] = []
    at_each_chunk: list[int] = []
    real_walk_iter = commits_module.HistoryWalk.__iter__
    real_chunk = commits_module._verify_chunk

    def walk_iter(self):
        for commit_id in real_walk_iter(self):
            walked.append(commit_id)
            yield commit_id

    def chunk(repo, verifier, items, reader=None):
        at_each_chunk.append(len(walked))
        return real_chunk(repo, verifier, items, reader)

    monkeypatch.setattr(commits_module.HistoryWalk, "__iter__", walk_iter)
    monkeypatch.setattr(commits_module, "_verify_chunk", chunk)
    report = _verify(world, 1)
    assert len(report.commits) == len(walked) == 19
    assert at_each_chunk[0] <= 4 < len(walked)  # the first chunk went before the walk was done
