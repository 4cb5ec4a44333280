"""``check-pr --github`` and ``approve --github`` against a local stand-in for GitHub's API.

An ``http.server`` on 127.0.0.1 answers the REST calls a pull-request check
makes (the pull request, its reviews and files, users) with GitHub's own JSON
field names, and records the reviews posted to it; GitHub's rule that nobody
approves their own pull request is enforced as GitHub does (422). The
repository, keys and signatures are real: ssh-keygen keys, commits signed by
git, approvals signed by ``commitguard approve``. The CLI (in process,
tests/fixtures/cli.py) finds the server through ``$GITHUB_API_URL``; the server
and the pull-request model are in tests/fixtures/forge.py and github_pr.py.
"""

from __future__ import annotations

import base64
import json
import shutil
from urllib.parse import urlsplit

import pytest

from commitguard.review.approvals.github_reviews import MARKER_CLOSE, MARKER_OPEN, approval_blocks, review_body
from commitguard.output.markdown import code, text
from tests.fixtures.cli import run_cli
from tests.fixtures.github_pr import (  # noqa: F401 (api, keys, world: fixtures)
    HELLO,
    PACKAGE,
    SLUG,
    World,
    api,
    build_pr,
    keyring_toml,
    keys,
    rule_of,
    world,
)

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None or shutil.which("git") is None,
                                reason="needs git and ssh-keygen")


# --------------------------------------------------------------------------- the round trip

def test_round_trip_missing_then_approved_then_stale(world, api):
    base, head = build_pr(world)

    # 1. no approval yet: exit 1, and the report says who may approve
    res = world.check(fmt="markdown")
    assert res.code == 1, res.describe()
    assert "who may approve:** bob, alice" in res.stdout, res.stdout
    assert "❌ commitguard: pull request #1" in res.stdout
    assert f"commitguard approve --github {SLUG} --pr 1 --ssh-key ~/.ssh/id_ed25519" in res.stdout
    data = world.check().json
    assert data["repository"] == "github.com/o/r" and data["pull_request"] == 1
    assert (data["base"], data["head"]) == (base, head)
    assert rule_of(data)["missing"] == 1 and rule_of(data)["eligible"] == ["bob", "alice"]
    assert "carol" in data["authors"], "the PR author login maps to the keyring person"

    # 2. bob, hello's maintainer, approves through GitHub
    res = world.approve("bob")
    assert res.code == 0, res.describe()
    assert len(api.posted) == 1
    posted = api.posted[0]
    assert posted["login"] == "bob" and posted["event"] == "APPROVE" and posted["commit_id"] == head
    assert f"Signed approval of `{head}` by commitguard" in posted["body"]
    blocks = approval_blocks(posted["body"])
    assert len(blocks) == 1 and json.loads(blocks[0])["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(json.loads(blocks[0])["payload"]))
    assert statement["subject"][0]["digest"] == {"gitCommit": head}
    assert statement["predicate"]["repository"] == "github.com/o/r" and statement["predicate"]["pullRequest"] == 1
    assert statement["predicate"]["base"] == base

    # 3. the check passes, on the review alone (the git note is removed)
    res = world.check()
    assert res.code == 0, res.describe()
    data = res.json
    origins = {a["origin"].split(" ")[0].split("/")[0] for a in data["approvals"] if a["status"] == "valid"}
    assert origins == {"github:review", "notes:refs"}, data["approvals"]
    world.repo.git("update-ref", "-d", "refs/notes/commitguard")
    res = world.check()
    assert res.code == 0, res.describe()
    assert rule_of(res.json)["approved_by"] == ["bob"]
    assert [a["origin"] for a in res.json["approvals"]] == [f"github:review/{api.reviews[1][0]['id']} (@bob)"]
    res = world.check(fmt="markdown")
    assert res.code == 0 and "✅ commitguard: pull request #1 may be merged" in res.stdout, res.stdout

    # 4. a new commit pushed to the pull request: the approval is stale
    new_head = world.commit("carol", "hello: fix the hash", {HELLO: PACKAGE.format(version="2.12.2", hash="C" * 43 + "=")})
    assert new_head != head
    api.push(1, new_head)
    res = world.check()
    assert res.code == 1, res.describe()
    rule = rule_of(res.json)
    assert rule["approved_by"] == [] and rule["stale"] == ["bob"], rule
    assert [a["status"] for a in res.json["approvals"]] == ["stale"]
    md = world.check(fmt="markdown").stdout
    assert "**stale** (approved an earlier head; approve again): bob" in md, md


def test_github_actions_summary_and_annotations(world, api, tmp_path):
    build_pr(world)
    # an empty commit by a stranger: untrusted, and it touches no file
    world.commit("stranger", "chore: nothing", {})
    odd = world.head()
    api.push(1, odd)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "number": 1, "pull_request": {"number": 1}}))
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_PATH": str(event), "GITHUB_STEP_SUMMARY": str(summary)}

    res = world.check(fmt="text", pr=None, env=env)  # no --pr: the number comes from the event
    assert res.code == 1, res.describe()
    written = summary.read_text()
    assert written.startswith("previous step\n"), "the summary is appended to, never overwritten"
    assert "## ❌ commitguard: pull request #1 must not be merged yet" in written
    assert "who may approve:** bob, alice" in written
    lines = res.stdout.splitlines()
    stop = next(i for i, line in enumerate(lines) if line.startswith("::stop-commands::"))
    errors = [line for line in lines[:stop] if line.startswith("::error")]
    assert any(line.startswith(f"::error file={HELLO},title=missing approval::") and "may approve: bob, alice" in line
               for line in errors), errors
    assert any(line.startswith("::error::commit ") and odd[:12] in line and "unknown-key" in line for line in errors), errors
    assert lines[-1] == "::" + lines[stop].split("::")[2] + "::", "the report is fenced off from the runner"

    # a commit that touches the package is annotated on it
    world.commit("stranger", "hello: sneak", {HELLO: PACKAGE.format(version="6.6.6", hash="D" * 43 + "=")})
    api.push(1, world.head())
    res = world.check(fmt="json", pr=None, env=env)
    assert res.code == 1
    assert json.loads(res.stdout)["ok"] is False, "stdout stays one JSON document in Actions"
    assert f"::error file={HELLO},title=untrusted commit::commit " in res.stderr, res.stderr

    # outside a pull request event, --pr is required
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    res = world.check(fmt="text", pr=None, env=env)
    assert res.code == 2 and "pull_request.number" in res.stderr, res.describe()


def test_forged_block_next_to_a_real_one(world, api):
    base, head = build_pr(world)

    def envelope(reviewer: str) -> str:
        res = run_cli(["approve", "--repo", world.repo.path, "--head", head, "--base", base, "--pr", "1",
                       "--repository", "github.com/o/r", "--ssh-key", world.keys[reviewer].path, "--no-store"],
                      scratch=world.root, env=world.env())
        assert res.code == 0, res.describe()
        return res.stdout.strip()

    real = envelope("bob")
    # alice's genuine envelope with one byte of its signature altered
    data = json.loads(envelope("alice"))
    armored = base64.b64decode(data["signatures"][0]["sig"]).decode()
    body = "".join(armored.strip().splitlines()[1:-1])
    blob = bytearray(base64.b64decode(body))
    blob[-1] ^= 0x01
    new_body = base64.b64encode(bytes(blob)).decode()
    forged_sig = "-----BEGIN SSH SIGNATURE-----\n" + "\n".join(
        new_body[i:i + 70] for i in range(0, len(new_body), 70)) + "\n-----END SSH SIGNATURE-----\n"
    data["signatures"][0]["sig"] = base64.b64encode(forged_sig.encode()).decode()
    forged = json.dumps(data)
    api.add_review(1, "mallory", f"LGTM\n\n{MARKER_OPEN}\n{forged}\n{MARKER_CLOSE}\n\n{MARKER_OPEN}\n{real}\n{MARKER_CLOSE}\n")

    res = world.check()
    assert res.code == 0, res.describe()
    out = res.json
    assert rule_of(out)["approved_by"] == ["bob"]
    by_origin = {a["origin"]: a for a in out["approvals"]}
    rid = api.reviews[1][0]["id"]
    assert by_origin[f"github:review/{rid} block 2 (@mallory)"]["status"] == "valid"
    bad = by_origin[f"github:review/{rid} block 1 (@mallory)"]
    assert bad["status"] == "invalid" and bad["person"] is None and "bad-signature" in bad["reason"], bad
    md = world.check(fmt="markdown").stdout
    assert "### Approvals that did not count" in md and "| invalid |" in md, md

    # with two approvals required, the forged one cannot make up the second
    (world.keyring / "keyring.toml").write_text(keyring_toml(world.keys).replace("approvals = 1", "approvals = 2"))
    res = world.check()
    assert res.code == 1 and rule_of(res.json)["missing"] == 1, res.describe()


def test_the_authors_own_approval_does_not_count(world, api):
    build_pr(world, author="bob", login="bob")  # bob maintains hello and opens the pull request
    res = world.approve("bob")
    assert res.code == 0, res.describe()
    # GitHub refuses an approving review on one's own pull request; the signed approval is posted anyway
    assert [p["event"] for p in api.posted] == ["APPROVE", "COMMENT"]
    assert api.reviews[1][0]["state"] == "COMMENTED"
    assert "as a comment" in res.stdout
    world.repo.git("update-ref", "-d", "refs/notes/commitguard")

    res = world.check()
    assert res.code == 1, res.describe()
    rule = rule_of(res.json)
    assert rule["excluded_authors"] == ["bob"] and rule["approved_by"] == [] and rule["eligible"] == ["alice"], rule
    assert [a["status"] for a in res.json["approvals"]] == ["valid"], "a real signature, just not one that counts"
    md = world.check(fmt="markdown").stdout
    assert "**excluded** (authors of this pull request cannot approve it): bob" in md, md
    assert "who may approve:** alice" in md
    assert "| bob | not eligible |" in md, md


def test_a_keyring_change_in_the_pull_request_does_not_count(world, api):
    rules = ('[[rule]]\npaths = ["pkgs/**", ".commitguard/**"]\napprovals = 1\napprovers = ["role:committer"]\n'
             'exclude_author = false\n')
    keyring_path = ".commitguard/keyring/keyring.toml"
    world.commit("alice", "hello: init at 2.12.1", {
        HELLO: PACKAGE.format(version="2.12.1", hash="A" * 43 + "="),
        keyring_path: keyring_toml(world.keys, rules=rules),
    })
    base = world.head()
    world.repo.git("checkout", "-q", "-b", "topic")
    # carol makes herself a committer in the same pull request that she then approves
    world.commit("carol", "hello: 2.12.2; make carol a committer", {
        HELLO: PACKAGE.format(version="2.12.2", hash="B" * 43 + "="),
        keyring_path: keyring_toml(world.keys, carol_roles=("committer",), rules=rules),
    })
    head = world.head()
    api.open_pull(1, base=base, head=head, author="Carol-Contrib", title="hello: 2.12.2",
                  files=[keyring_path, HELLO])
    res = world.approve("carol", login="Carol-Contrib")
    assert res.code == 0, res.describe()

    res = world.check(keyring=False)  # the repository's own keyring, read at the base
    assert res.code == 1, res.describe()
    data = res.json
    assert data["keyring"].startswith(base[:12]) and "(the base)" in data["keyring"], data["keyring"]
    rule = rule_of(data)
    assert rule["eligible"] == ["alice"] and rule["approved_by"] == [], rule
    assert data["commits"][0]["status"] == "trusted"

    # control: judged by the head's keyring, the same approval would have passed
    at_head = world.root / "head-keyring"
    at_head.mkdir()
    (at_head / "keyring.toml").write_text(world.repo.git("show", f"{head}:{keyring_path}") + "\n")
    res = world.check("--keyring", at_head, keyring=False)
    assert res.code == 0, res.describe()


def test_the_head_must_be_in_the_local_clone(world, api):
    base, head = build_pr(world)
    missing = "1234567" * 5 + "89abc"
    api.push(1, missing)
    res = world.check()
    assert res.code == 2, res.describe()
    assert missing in res.stderr and "fetch the pull request head first" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr

    res = world.approve("bob")
    assert res.code == 2 and missing in res.stderr, res.describe()
    assert api.posted == [], "nothing is posted for a head the reviewer cannot see"


def test_api_errors_are_one_line(world, api):
    build_pr(world)
    res = world.check(pr=7)
    assert res.code == 2 and "GitHub answered 404" in res.stderr, res.describe()
    api.reviews[1] = [1, 2]
    res = world.check()
    assert res.code == 2 and "not a list of reviews" in res.stderr, res.describe()
    api.reviews[1] = []
    res = run_cli(["check-pr", "--github", "not a slug", "--pr", "1", "--repo", world.repo.path,
                   "--keyring", world.keyring], scratch=world.root, env=world.env())
    assert res.code == 2 and "OWNER/REPO" in res.stderr, res.describe()
    res = run_cli(["approve", "--github", SLUG, "--pr", "1", "--repo", world.repo.path,
                   "--ssh-key", world.keys["bob"].path], scratch=world.root, env=world.env(None))
    assert res.code == 2 and "401" in res.stderr and "GITHUB_TOKEN" in res.stderr, res.describe()


def test_github_and_the_clone_disagreeing_on_files_is_reported(world, api):
    build_pr(world)
    api.push(1, api.pulls[1]["head"]["sha"], files=[HELLO, "pkgs/ghost.nix"])
    res = world.check()
    assert res.code == 1, res.describe()
    assert any("pkgs/ghost.nix" in w and "GitHub lists changed files" in w for w in res.json["warnings"]), res.json


def test_a_server_paging_files_without_end_is_cut_off(world, api):
    """Resource limit: GitHub's file list is read to the pull request's size
    (at most 300 entries), however many pages a server claims to have.

    The server fills each page with 100 entries (GitHub's largest page), so the
    cut-off after 300 entries is reached on page 4 (entries 300-399) in four
    requests, not after 300 one-entry pages."""
    build_pr(world)
    api.endless_files = True
    api.files_per_page = 100
    res = world.check()
    assert res.code == 1, res.describe()  # carol's pull request has no approval yet
    assert rule_of(res.json)["missing"] == 1 and res.json["changed_files"] == [HELLO], res.describe()
    assert any("lists more than the 1 files it announced" in w for w in res.json["warnings"]), res.json
    pages = [p for m, p in api.requests if m == "GET" and "/files" in p]
    assert len(pages) == 4, pages


def test_sarif_places_findings_on_files(world, api):
    build_pr(world)
    world.commit("stranger", "hello: sneak", {HELLO: PACKAGE.format(version="6.6.6", hash="D" * 43 + "=")})
    world.commit("alice", "README", {"README.md": "hi\n"})
    api.push(1, world.head(), files=[HELLO, "README.md"])
    res = world.check(fmt="sarif")
    assert res.code == 1, res.describe()
    doc = json.loads(res.stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"untrusted-commit", "missing-approval", "uncovered-path"}
    by_rule: dict[str, list] = {}
    for result in run["results"]:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        uris = [loc["physicalLocation"]["artifactLocation"]["uri"] for loc in result["locations"]]
        by_rule.setdefault(result["ruleId"], []).append(uris)
    assert by_rule["untrusted-commit"] == [[HELLO]]
    assert by_rule["missing-approval"] == [[HELLO]]
    assert by_rule["uncovered-path"] == [["README.md"]]


# --------------------------------------------------------------------------- units

def test_blocks_are_read_one_by_one():
    body = review_body('{"not": "an envelope"}', "commitguard check-pr --github o/r --pr 1")
    assert body.index("Signed approval by commitguard") < body.index(MARKER_OPEN)
    assert approval_blocks(body) == ['{"not": "an envelope"}']
    two = f"text\n{MARKER_OPEN}\nA\n{MARKER_CLOSE}\nmore\n<!--commitguard-approval B-->\n<!-- other -->"
    assert approval_blocks(two) == ["A", "B"]
    assert approval_blocks(None) == [] and approval_blocks("<!-- commitguard-approvals X -->") == []
    assert approval_blocks(f"{MARKER_OPEN}\n{MARKER_CLOSE}") == []
    with pytest.raises(ValueError):
        review_body("a --> b")


def test_markdown_escapes_the_authors_text():
    assert "<" not in text("<img src=x onerror=alert(1)>")
    assert text("a|b\nc") == "a&#124;b c"
    assert "@bob" not in text("ping @bob")
    assert code("x`y") == "``x`y``" and code("a|b") == "`a\\|b`"


# --------------------------------------------------------------------------- who wrote the pull request

def _forge_keyring(world: World) -> None:
    """The keyring, plus GitHub's web-flow key (here: the ``stranger`` key) accepted for commits."""
    (world.keyring / "keyring.toml").write_text(
        keyring_toml(world.keys)
        + f'\n[policy]\nforge = "accept"\n\n[[forge]]\nid = "github"\nssh = "{world.keys["stranger"].pub_line}"\n')


def test_web_ui_commit_by_a_github_account_cannot_be_approved_by_it(world, api):
    """bob edits hello in GitHub's web interface: GitHub signs the commit with its
    own key, the author address is one the keyring does not list, and GitHub
    attributes the commit to bob's account. carol opened the pull request; bob approves."""
    _forge_keyring(world)
    world.commit("alice", "hello: init at 2.12.1", {HELLO: PACKAGE.format(version="2.12.1", hash="A" * 43 + "=")})
    base = world.head()
    world.repo.git("checkout", "-q", "-b", "topic")
    world.repo.env.update({"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob-private@example.com",
                           "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"})
    head = world.commit("stranger", "hello: 2.12.1 -> 2.12.2", {HELLO: PACKAGE.format(version="2.12.2", hash="B" * 43 + "=")})
    api.open_pull(1, base=base, head=head, author="Carol-Contrib", title="hello: 2.12.2", files=[HELLO])
    api.commit_logins[head] = ("bob", "web-flow")
    assert world.approve("bob").code == 0

    res = world.check()
    assert res.code == 1, res.describe()
    data = res.json
    assert [(c["status"], c["signer"], c["trusted"]) for c in data["commits"]] == [("forge", "github", True)]
    assert data["authorship"] == {
        "bob": [f"GitHub login bob (author of {head[:12]} on GitHub)"],
        "carol": ["GitHub login Carol-Contrib (opened the pull request)"],
    }, data["authorship"]
    rule = rule_of(data)
    assert (rule["excluded_authors"], rule["approved_by"], rule["eligible"], rule["missing"]) == (
        ["bob"], [], ["alice"], 1), rule
    assert ("GET", "/repos/o/r/pulls/1/commits") in [(m, urlsplit(p).path) for m, p in api.requests]


def test_the_pull_request_opener_known_only_by_login_cannot_approve(world, api):
    """alice signed the commit; bob opened the pull request and is named nowhere else."""
    base, head = build_pr(world, author="alice", login="bob")
    api.commit_logins[head] = (None, None)
    assert world.approve("bob").code == 0
    res = world.check()
    assert res.code == 1, res.describe()
    assert res.json["authorship"] == {"alice": [f"signed {head[:12]}"],
                                      "bob": ["GitHub login bob (opened the pull request)"]}
    rule = rule_of(res.json)
    assert (rule["excluded_authors"], rule["approved_by"], rule["eligible"]) == (["alice", "bob"], [], []), rule


def test_commits_github_does_not_list_are_asked_for_one_by_one(world, api):
    base, head = build_pr(world, author="alice", login="alice")
    api.pr_commits[1] = []
    api.commit_logins[head] = ("bob", "bob")
    res = world.check()
    assert res.code == 1, res.describe()
    assert res.json["authorship"]["bob"] == [f"GitHub login bob (author of {head[:12]} on GitHub)",
                                             f"GitHub login bob (committer of {head[:12]} on GitHub)"]
    assert ("GET", f"/repos/o/r/commits/{head}") in [(m, urlsplit(p).path) for m, p in api.requests]


def test_a_commit_github_cannot_attribute_stops_the_check(world, api):
    base, head = build_pr(world)
    api.pr_commits[1] = []
    api.unknown_commits.add(head)
    res = world.check()
    assert res.code == 2 and res.stdout == "", res.describe()
    lines = res.stderr.strip().splitlines()
    assert lines == [f"commitguard: error: {api.base_url}: reading commit {head} of o/r#1: GitHub answered 422: "
                     f"No commit found for SHA: {head}"], res.describe()
