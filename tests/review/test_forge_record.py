"""``forge-sync`` and the local forge record, against the one fake GitHub (tests/fixtures/forge.py).

The server answers with static routes: pages of closed pull requests (Link
headers to the next page), pages of reviews, a rate-limited 403. No network.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commitguard.errors import CommitguardError
from commitguard.forge.record import (ForgeRecord, SyncProgress, approvals_of, default_record_path,
                                      sync_forge_record)
from tests.fixtures.cli import run_cli
from tests.fixtures.forge import FakeGitHub, account_json, serving

SLUG = "octo/pkgs"
REPO = f"/repos/{SLUG}"
RESET = 4102444800  # 2100-01-01 00:00:00 UTC


def sha(n: int) -> str:
    return f"{n:040x}"


def pull_json(base: str, number: int, updated: str, *, merged: bool = True, author: str = "alice",
              head: str | None = None) -> dict:
    """A closed pull request as GET /repos/O/R/pulls lists it."""
    return {
        "url": f"{base}{REPO}/pulls/{number}", "id": 1000 + number, "number": number, "state": "closed",
        "title": f"change {number}", "user": account_json(base, author, 7),
        "base": {"ref": "master", "sha": sha(100 + number), "label": "octo:master"},
        "head": {"ref": f"pr-{number}", "sha": head or sha(200 + number), "label": f"{author}:pr-{number}"},
        "merged_at": "2026-01-02T03:04:05Z" if merged else None,
        "merge_commit_sha": sha(300 + number) if merged else None,
        "created_at": "2026-01-01T00:00:00Z", "updated_at": updated, "closed_at": updated,
    }


def review_json(base: str, id_: int, login: str, state: str, commit: str | None, at: str | None) -> dict:
    return {"id": id_, "user": account_json(base, login, id_), "state": state, "commit_id": commit,
            "submitted_at": at, "body": ""}


def paged(fake: FakeGitHub, path: str, pages: list[list]) -> None:
    """``path`` answered in pages, each pointing at the next with a Link header."""
    for i, items in enumerate(pages, start=1):
        headers = {"Link": f'<{{base}}{path}?page={i + 1}>; rel="next"'} if i < len(pages) else {}
        fake.route(path if i == 1 else f"{path}?page={i}", items, headers=headers)


@pytest.fixture
def fake():
    yield from serving(FakeGitHub())


@pytest.fixture
def env(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_API_URL", fake.base_url)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("COMMITGUARD_CACHE_DIR", str(tmp_path / "cache"))
    return {"GITHUB_API_URL": fake.base_url, "COMMITGUARD_GITHUB_REQUEST_INTERVAL": "0",
            "COMMITGUARD_CACHE_DIR": str(tmp_path / "cache")}


def world(fake: FakeGitHub) -> None:
    """Pull requests 3 and 2 on page 1, 1 and an unmerged 4 on page 2; #3's reviews in two pages."""
    b = fake.base_url
    paged(fake, f"{REPO}/pulls", [
        [pull_json(b, 3, "2026-03-03T00:00:00Z"), pull_json(b, 2, "2026-02-02T00:00:00Z")],
        [pull_json(b, 4, "2026-01-20T00:00:00Z", merged=False), pull_json(b, 1, "2026-01-10T00:00:00Z")],
    ])
    head = sha(203)
    paged(fake, f"{REPO}/pulls/3/reviews", [[
        review_json(b, 10, "alice", "APPROVED", head, "2026-03-01T00:00:00Z"),
        review_json(b, 11, "bob", "DISMISSED", head, "2026-03-01T00:01:00Z"),  # a dismissed approval
        review_json(b, 12, "carol", "APPROVED", head, "2026-03-01T00:02:00Z"),
    ], [
        review_json(b, 13, "carol", "CHANGES_REQUESTED", head, "2026-03-01T00:03:00Z"),  # cancels carol's approval
        review_json(b, 14, "dave", "APPROVED", sha(999), "2026-03-01T00:04:00Z"),  # an earlier head
        review_json(b, 15, "alice", "COMMENTED", head, "2026-03-01T00:05:00Z"),  # changes no verdict
        review_json(b, 16, "erin", "PENDING", None, None),
    ]])
    fake.route(f"{REPO}/pulls/2/reviews", [])
    fake.route(f"{REPO}/pulls/1/reviews", [review_json(b, 20, "bob", "APPROVED", sha(201), "2026-01-09T00:00:00Z")])


def sync(tmp_path: Path, **kw):
    return sync_forge_record(SLUG, tmp_path / "record.jsonl", **kw)


# --------------------------------------------------------------------------- reading GitHub


def test_pages_of_pulls_and_reviews_are_recorded(fake, env, tmp_path):
    world(fake)
    seen: list[SyncProgress] = []
    summary = sync(tmp_path, progress=seen.append)
    assert (summary.listed, summary.read, summary.pulls, summary.complete) == (4, 3, 3, True)
    assert (summary.complete_since, summary.complete_through) == (None, "2026-03-03T00:00:00Z")
    assert seen[-1] == SyncProgress(listed=4, read=3)
    paths = [p for _, p in fake.requests]
    assert any(p.startswith(f"{REPO}/pulls?") and "page=2" in p for p in paths)
    assert any(p.startswith(f"{REPO}/pulls/3/reviews?") and "page=2" in p for p in paths)
    assert all(not p.startswith(f"{REPO}/pulls/4") for p in paths)  # not merged: no reviews asked for

    record = ForgeRecord.load(tmp_path / "record.jsonl")
    assert [p.number for p in record.pulls] == [1, 2, 3]
    pr3 = record.pull(3)
    assert (pr3.base, pr3.base_ref, pr3.head, pr3.merge_commit, pr3.author) == (
        sha(103), "master", sha(203), sha(303), "alice")
    assert [r.login for r in approvals_of(pr3)] == ["alice"]  # bob dismissed, carol changes, dave stale
    assert [r.state for r in pr3.reviews] == ["APPROVED", "DISMISSED", "APPROVED", "CHANGES_REQUESTED", "APPROVED",
                                             "COMMENTED", "PENDING"]
    assert record.pulls_merged_as(sha(303)) == [pr3]  # by merge commit
    assert record.pulls_merged_as(sha(203)) == [pr3]  # by head (rebase, fast-forward)
    assert record.pulls_merged_as(sha(404)) == []
    assert [r.login for r in approvals_of(record.pull(1))] == ["bob"]


def test_a_later_approval_of_the_head_restores_a_verdict():
    from commitguard.forge.record import PullRecord, ReviewRecord

    head = sha(1)
    reviews = (ReviewRecord(1, "carol", "CHANGES_REQUESTED", head, "2026-01-01T00:00:00Z"),
               ReviewRecord(2, "carol", "APPROVED", head, "2026-01-01T00:01:00Z"),
               ReviewRecord(3, "bob", "APPROVED", head, "2026-01-01T00:02:00Z"),
               ReviewRecord(4, "bob", "APPROVED", sha(2), "2026-01-01T00:03:00Z"))  # bob's latest: another head
    pull = PullRecord(1, sha(3), "master", head, sha(4), "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z", "alice",
                      reviews)
    assert [r.login for r in approvals_of(pull)] == ["carol"]


def test_a_second_sync_reads_only_what_is_newer(fake, env, tmp_path):
    world(fake)
    sync(tmp_path)
    b = fake.base_url
    fake.log.clear()
    paged(fake, f"{REPO}/pulls", [
        [pull_json(b, 5, "2026-04-04T00:00:00Z"), pull_json(b, 3, "2026-03-03T00:00:00Z"),
         pull_json(b, 2, "2026-02-02T00:00:00Z")],
        [pull_json(b, 4, "2026-01-20T00:00:00Z", merged=False), pull_json(b, 1, "2026-01-10T00:00:00Z")],
    ])
    fake.route(f"{REPO}/pulls/5/reviews", [review_json(b, 30, "bob", "APPROVED", sha(205), "2026-04-01T00:00:00Z")])
    summary = sync(tmp_path)
    assert (summary.listed, summary.read, summary.pulls, summary.complete) == (3, 1, 4, True)
    assert summary.complete_through == "2026-04-04T00:00:00Z"
    paths = [p.split("?")[0] for _, p in fake.requests]
    assert paths == [f"{REPO}/pulls", f"{REPO}/pulls/5/reviews"]  # one page, one pull request's reviews
    record = ForgeRecord.load(tmp_path / "record.jsonl")
    assert [p.number for p in record.pulls] == [1, 2, 3, 5]
    assert [r.login for r in approvals_of(record.pull(3))] == ["alice"]  # kept as it was


def test_max_pulls_stops_and_the_next_run_continues(fake, env, tmp_path):
    world(fake)
    summary = sync(tmp_path, max_pulls=2)
    assert (summary.read, summary.pulls, summary.complete) == (2, 2, False)
    assert summary.stopped == "--max-pulls 2 pull requests read"
    assert summary.complete_through is None  # nothing claimed until a walk reaches its end
    summary = sync(tmp_path, max_pulls=2)
    assert (summary.read, summary.pulls, summary.complete) == (1, 3, True)


def test_since_bounds_the_first_walk(fake, env, tmp_path):
    world(fake)
    summary = sync(tmp_path, since="2026-02-01")
    assert (summary.read, summary.complete, summary.complete_since) == (2, True, "2026-02-01T00:00:00Z")
    assert all(not p.startswith(f"{REPO}/pulls/1/") for _, p in fake.requests)  # older: not read
    with pytest.raises(CommitguardError, match=r"^--since: 'yesterday' is not a date"):
        sync(tmp_path, since="yesterday")


def test_the_default_record_lives_beside_the_cache(fake, env, tmp_path):
    world(fake)
    host = fake.base_url.removeprefix("http://")
    assert default_record_path(SLUG) == tmp_path / "cache" / "forge" / host / "octo" / "pkgs.jsonl"
    summary = sync_forge_record(SLUG)
    assert summary.path == str(default_record_path(SLUG)) and Path(summary.path).is_file()


def test_a_record_of_another_repository_is_not_updated(fake, env, tmp_path):
    world(fake)
    sync(tmp_path)
    with pytest.raises(CommitguardError, match=r"this record is of .*/octo/pkgs, not .*/octo/other$"):
        sync_forge_record("octo/other", tmp_path / "record.jsonl")


# --------------------------------------------------------------------------- rate limits


def rate_limited(fake: FakeGitHub, path: str) -> None:
    fake.route(path, {"message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: ...)",
                      "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
               status=403, headers={"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                                    "X-RateLimit-Reset": str(RESET), "X-RateLimit-Used": "60"})


def test_a_rate_limit_stops_with_the_reset_time(fake, env, tmp_path):
    rate_limited(fake, f"{REPO}/pulls")
    res = run_cli(["forge-sync", "--github", SLUG, "--record", tmp_path / "r.jsonl"], scratch=tmp_path, env=env)
    assert res.code == 2, res.describe()
    assert res.stderr == (
        f"commitguard: error: {fake.base_url}: reading the merged pull requests of {SLUG}: GitHub's rate limit is "
        "used up until 2100-01-01 00:00:00 UTC; 0 pull requests read were saved, run again then "
        "(or pass --wait-on-rate-limit); set GITHUB_TOKEN for a larger limit\n")
    assert len(fake.requests) == 1  # asked once, no silent retries
    assert not (tmp_path / "r.jsonl").exists()


def test_what_was_read_before_a_rate_limit_is_kept(fake, env, tmp_path):
    world(fake)
    rate_limited(fake, f"{REPO}/pulls/2/reviews")
    with pytest.raises(CommitguardError, match="1 pull requests read were saved"):
        sync(tmp_path)
    record = ForgeRecord.load(tmp_path / "record.jsonl")
    assert ([p.number for p in record.pulls], record.complete_through) == ([3], None)


def test_waiting_for_the_reset_only_when_asked(fake, env, tmp_path):
    world(fake)
    rate_limited(fake, f"{REPO}/pulls/2/reviews")
    slept: list[float] = []
    seen: list[SyncProgress] = []

    def sleep(seconds: float) -> None:  # the reset comes: GitHub answers again
        slept.append(seconds)
        fake.route(f"{REPO}/pulls/2/reviews", [])

    summary = sync(tmp_path, wait_on_rate_limit=True, sleep=sleep, clock=lambda: RESET - 100, progress=seen.append)
    assert (slept, summary.read, summary.complete) == ([101], 3, True)
    assert SyncProgress(listed=2, read=1, waiting_until="2100-01-01 00:00:00 UTC") in seen
    reads = [p for _, p in fake.requests if p.startswith(f"{REPO}/pulls/3/reviews") and "page=2" not in p]
    assert len(reads) == 1  # the restarted walk did not read #3 again


def test_a_reset_too_far_away_is_not_waited_for(fake, env, tmp_path):
    rate_limited(fake, f"{REPO}/pulls")
    with pytest.raises(CommitguardError, match="used up until 2100-01-01 00:00:00 UTC"):
        sync(tmp_path, wait_on_rate_limit=True, sleep=pytest.fail, clock=lambda: RESET - 10_000)


# --------------------------------------------------------------------------- a damaged or hostile record


def test_a_damaged_record_is_refused_naming_file_and_line(fake, env, tmp_path):
    world(fake)
    sync(tmp_path)
    path = tmp_path / "record.jsonl"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(sha(202), "zz" + sha(202)[2:])
    path.write_text("\n".join(lines) + "\n")
    expected = f"{path}: line 3: the forge record is damaged: head: 'zz{sha(202)[2:]}' is not a 40-hex commit id"
    with pytest.raises(CommitguardError) as caught:
        ForgeRecord.load(path)
    assert str(caught.value) == expected
    res = run_cli(["forge-sync", "--github", SLUG, "--record", path], scratch=tmp_path, env=env)
    assert (res.code, res.stderr) == (2, f"commitguard: error: {expected}\n"), res.describe()


@pytest.mark.parametrize("damage, message", [
    (lambda ls: ls.__setitem__(1, ls[1][:-5]), "line 2: the forge record is damaged: not JSON"),
    (lambda ls: ls.__setitem__(1, ls[1].replace('"APPROVED"', '"LGTM"', 1)),
     "line 2: the forge record is damaged: reviews[0].state: 'LGTM' is not one of APPROVED, CHANGES_REQUESTED, "
     "COMMENTED, DISMISSED, PENDING"),
    (lambda ls: ls.__setitem__(1, ls[1].replace('"login":"bob"', '"login":"bob\\nmallory"')),
     "line 2: the forge record is damaged: reviews[0].login: 'bob\\nmallory' is not a GitHub login"),
    (lambda ls: ls.__setitem__(0, ls[0].replace('"version":1', '"version":2')),
     "line 1: the forge record is damaged: header: not a commitguard-forge-record version 1"),
    (lambda ls: ls.append(ls[1]), "line 5: the forge record is damaged: number: pull request 1 is out of order"),
    (lambda ls: ls.__setitem__(1, ls[1].replace('"author":"alice"', '"author":"alice","trusted":true')),
     "line 2: the forge record is damaged: pull request: unexpected or missing fields: trusted"),
    (lambda ls: ls.clear(), "line 1: the forge record is empty"),
])
def test_every_field_of_the_record_is_checked(fake, env, tmp_path, damage, message):
    world(fake)
    sync(tmp_path)
    path = tmp_path / "record.jsonl"
    lines = path.read_text().splitlines()
    damage(lines)
    path.write_text("".join(line + "\n" for line in lines))
    with pytest.raises(CommitguardError) as caught:
        ForgeRecord.load(path)
    assert str(caught.value).startswith(f"{path}: {message}"), str(caught.value)


@pytest.mark.parametrize("where, hostile, message", [
    ("pull", {"head": {"ref": "x", "sha": "abc"}}, "head: 'abc' is not a 40-hex commit id"),
    ("pull", {"merge_commit_sha": "A" * 40}, f"merge_commit: '{'A' * 40}' is not a 40-hex commit id"),
    ("pull", {"user": {"login": "alice\nbob", "id": 1}}, "author: 'alice\\nbob' is not a GitHub login"),
    ("review", {"user": {"login": "bob\n::error::x", "id": 2}},
     "reviews[0].login: 'bob\\n::error::x' is not a GitHub login"),
    ("review", {"commit_id": "1" * 39}, f"reviews[0].commit: '{'1' * 39}' is not a 40-hex commit id"),
    ("review", {"state": "approved"}, "reviews[0].state: 'approved' is not one of"),
])
def test_hostile_answers_are_refused_and_nothing_is_written(fake, env, tmp_path, where, hostile, message):
    b = fake.base_url
    pull = pull_json(b, 1, "2026-01-10T00:00:00Z")
    review = review_json(b, 20, "bob", "APPROVED", sha(201), "2026-01-09T00:00:00Z")
    (pull if where == "pull" else review).update(hostile)
    fake.route(f"{REPO}/pulls", [pull])
    fake.route(f"{REPO}/pulls/1/reviews", [review])
    with pytest.raises(CommitguardError) as caught:
        sync(tmp_path)
    said = str(caught.value)
    assert said.startswith(f"{SLUG}#1: GitHub's answer is refused: {message}") and "\n" not in said, said
    assert not (tmp_path / "record.jsonl").exists()


def test_a_server_paging_reviews_without_end_leaves_the_pull_approving_nothing(fake, env, tmp_path, monkeypatch):
    import commitguard.forge.record as record_module

    monkeypatch.setattr(record_module, "MAX_REVIEWS_PER_PULL", 3)
    world(fake)
    sync(tmp_path)
    pr3 = ForgeRecord.load(tmp_path / "record.jsonl").pull(3)
    assert (pr3.reviews, pr3.reviews_complete, approvals_of(pr3)) == ((), False, [])


# --------------------------------------------------------------------------- the command


def test_the_command_prints_text_and_json(fake, env, tmp_path):
    world(fake)
    record = tmp_path / "r.jsonl"
    res = run_cli(["forge-sync", "--github", SLUG, "--record", record], scratch=tmp_path, env=env)
    assert res.code == 0, res.describe()
    host = fake.base_url.removeprefix("http://")
    assert res.stdout == (f"{host}/{SLUG}: 3 pull requests read, 4 listed, 3 recorded; complete\n"
                          f"record: {record}\n")
    res = run_cli(["forge-sync", "--github", SLUG, "--record", record, "--format", "JSON"], scratch=tmp_path, env=env)
    assert res.code == 0, res.describe()
    assert res.json == {"repository": SLUG, "forge": host, "record": str(record), "listed": 2, "read": 0,
                        "pulls": 3, "complete": True, "complete_since": None,
                        "complete_through": "2026-03-03T00:00:00Z", "stopped": None}
    res = run_cli(["forge-sync", "--github", "not a slug"], scratch=tmp_path, env=env)
    assert (res.code, res.stderr) == (2, "commitguard: error: --github: 'not a slug' is not OWNER/REPO\n")
    json.loads(record.read_text().splitlines()[0])  # the header is one JSON line
