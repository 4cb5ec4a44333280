"""Negative cases that kill the hand mutants of issue 14 (see mutation/).

* an approval signed with an SSH key the keyring restricts to ``git`` does
  not count (and a commit signed with an approval-only key is not trusted:
  tests/signatures/test_key_validity.py);
* the human author of a pull request made in the forge's web UI (commits
  signed by the forge key, authored under the person's GitHub noreply
  address or keyring email) is among its authors and cannot approve it
  (local mode; GitHub mode: tests/review/test_pr_author_login.py);
* a merge that edits the in-repository keyring while trusted by one parent's
  keyring only does not put its keyring in effect: a keyring change needs
  every parent's trust.

Fixtures come from tests/fixtures/approvals.py and tests/fixtures/history.py (real
git and ssh-keygen); commitguard runs through tests/fixtures/cli.py.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.approvals import (
    HELLO,
    check_job,
    hand_approval,
    hand_sign,
    hello_nix,
    make_statement,
    ok_json,
    person_toml,
    rule_toml,
    toml_str,
    world_fixture,
    write_keyring_dir,
)
from tests.fixtures.history import History, keys  # noqa: F401 (keys is a fixture)


@pytest.fixture(scope="module")
def aw(tmp_path_factory):
    yield from world_fixture(tmp_path_factory, "mutants")


def dump(data) -> str:
    return json.dumps(data, indent=1)


# =========================================================================== namespaces on approvals

def _bob_restricted_keyring(aw, name: str, namespaces: list[str]):
    s = aw.keys.ssh
    body = "\n".join([
        "version = 1\n",
        person_toml("alice", github="alice", roles=["committer"], ssh=[s["alice"]]),
        person_toml("bob", github="bob", roles=["committer"]),
        "[[person.key]]", f"ssh = {toml_str(s['bob'].pub_line)}", f"namespaces = {toml_str(namespaces)}", "",
        rule_toml(["pkgs/**"], ["role:committer"]),
    ])
    return write_keyring_dir(aw.root / "keyrings" / name, body)


@pytest.fixture(scope="module")
def ns_pr(aw):
    r = aw.pr("namespaces")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=aw.keys.ssh["alice"])
    hand_approval(r, aw.keys.ssh["bob"], head, aw.base)
    return r, head


def test_approval_by_a_key_restricted_to_git_does_not_count(aw, ns_pr):
    r, head = ns_pr
    keyring = _bob_restricted_keyring(aw, "bob-git-only", ["git"])
    data = ok_json(aw.cli(check_job(r, aw.base, head, keyring)), 1)
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["eligible"]) == ([], 1, ["bob"]), dump(rule)
    [approval] = data["approvals"]
    assert approval["status"] == "invalid" and approval["person"] is None, approval
    assert approval["reason"].startswith("signature does not count: unknown-key"), approval
    assert "trusted only for namespaces git, not 'commitguard-approval'" in approval["reason"], approval


def test_approval_by_a_key_allowed_for_approvals_counts(aw, ns_pr):
    """Control: the same approval counts when the key may sign approvals."""
    r, head = ns_pr
    keyring = _bob_restricted_keyring(aw, "bob-both", ["git", "commitguard-approval"])
    data = ok_json(aw.cli(check_job(r, aw.base, head, keyring)), 0)
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"]) == (["bob"], 0), dump(rule)


# =========================================================================== the web UI author (local mode)

def _web_ui_pr(aw, name: str, author_email: str):
    """bob's pull request made in the forge's web UI: the commit is signed by
    the forge key (``policy.forge = "accept"``), authored under ``author_email``;
    bob then signs an approval of it."""
    r = aw.pr(name)
    saved = dict(r.env)
    r.env.update({"GIT_AUTHOR_NAME": "Bob Example", "GIT_AUTHOR_EMAIL": author_email,
                  "GIT_COMMITTER_NAME": "ExampleHub", "GIT_COMMITTER_EMAIL": "noreply@examplehub.test"})
    try:
        head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=aw.keys.ssh["forge"])
    finally:
        r.env = saved
    assert f"<{author_email}>" in r.git("log", "-1", "--format=%an <%ae>", head)
    hand_approval(r, aw.keys.ssh["bob"], head, aw.base)
    return aw.cli(check_job(r, aw.base, head, aw.keyring))


@pytest.mark.parametrize("email", ["4242+bob@users.noreply.github.com", "bob@example.org"],
                         ids=["github-noreply-login", "keyring-email"])
def test_web_ui_author_cannot_approve_own_pull_request(aw, email):
    data = ok_json(_web_ui_pr(aw, "web-ui-" + email.split("@")[0].replace("+", "-"), email), 1)
    assert data["commits"][0]["status"] == "forge" and data["commits"][0]["trusted"] is True, dump(data["commits"])
    assert "bob" in data["authors"], dump(data)
    [rule] = data["rules"]
    assert "bob" in rule["excluded_authors"] and "bob" not in rule["eligible"], dump(rule)
    assert (rule["approved_by"], rule["missing"]) == ([], 1), dump(rule)
    assert [a["status"] for a in data["approvals"]] == ["valid"], "a genuine approval, by an author"


# =========================================================================== in-repository keyring: merges

@pytest.fixture()
def history(tmp_path, keys) -> History:  # noqa: F811
    return History(tmp_path / "repo", keys)


def test_merge_editing_the_keyring_needs_every_parents_trust(history):
    """main's keyring adds carol; side keeps the root's (alice only). carol's
    merge of side edits the keyring to add mallory: trusted under main's
    keyring, unknown under side's, so the edit must not take effect."""
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.git("checkout", "-q", "-b", "side")
    history.commit("alice-on-side", "alice")
    history.git("checkout", "-q", "main")
    history.keyring({"alice": ["alice"], "carol": ["carol"]})
    history.commit("alice-adds-carol", "alice")
    history.merge("carol-merges-adding-mallory", "side", "carol",
                  keyring={"alice": ["alice"], "carol": ["carol"], "mallory": ["mallory"]})
    history.commit("mallory-after-merge", "mallory")
    history.commit("carol-after-merge", "carol")
    code, statuses, report = history.verify("--trust-root", root)
    assert statuses == {
        "root": "trusted",
        "alice-on-side": "trusted",
        "alice-adds-carol": "trusted",
        "carol-merges-adding-mallory": "unknown-key",
        "mallory-after-merge": "unknown-key",
        "carol-after-merge": "trusted",
    }, statuses
    assert code == 1
    merge = next(c for c in report["commits"] if history.names[c["id"]] == "carol-merges-adding-mallory")
    assert "under the keyring of one of its parents" in merge["reason"], merge
    assert any(merge["id"] in w and "is not trusted" in w and "does not take effect" in w
               for w in report["warnings"]), report["warnings"]


def test_merge_editing_the_keyring_trusted_by_both_parents_takes_effect(history):
    """Control for the case above: alice, whom both parents trust, makes the same edit."""
    history.keyring({"alice": ["alice"]})
    root = history.commit("root", "alice")
    history.git("checkout", "-q", "-b", "side")
    history.commit("alice-on-side", "alice")
    history.git("checkout", "-q", "main")
    history.keyring({"alice": ["alice"], "carol": ["carol"]})
    history.commit("alice-adds-carol", "alice")
    history.merge("alice-merges-adding-mallory", "side", "alice",
                  keyring={"alice": ["alice"], "carol": ["carol"], "mallory": ["mallory"]})
    history.commit("mallory-after-merge", "mallory")
    code, statuses, _ = history.verify("--trust-root", root)
    assert statuses["alice-merges-adding-mallory"] == "trusted"
    assert statuses["mallory-after-merge"] == "trusted"
    assert code == 0


# =========================================================================== approvals bound to the pull request number

@pytest.mark.parametrize("number", [6, 8])  # below and above the number signed: '!=' is not '<' or '>'
def test_approval_for_another_pull_request_number_is_invalid(aw, number):
    r = aw.pr(f"pr-number-{number}")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=aw.keys.ssh["alice"])
    hand_approval(r, aw.keys.ssh["bob"], head, aw.base, pull_request=7)
    data = ok_json(aw.cli(check_job(r, aw.base, head, aw.keyring, extra=["--pr", str(number)])), 1)
    assert [(a["status"], a["person"], a["reason"]) for a in data["approvals"]] == [
        ("invalid", "bob", f"approval is for pull request #7, not #{number}")], dump(data["approvals"])
    assert data["rules"][0]["approved_by"] == [] and data["rules"][0]["missing"] == 1, dump(data["rules"])
    # control: the same approval counts for the pull request it names
    data = ok_json(aw.cli(check_job(r, aw.base, head, aw.keyring, extra=["--pr", "7"])), 0)
    assert data["rules"][0]["approved_by"] == ["bob"], dump(data["rules"])


def test_approval_of_another_change_is_invalid_not_stale(aw):
    """An approval naming another head on another base (and no pull request) is of another
    change: invalid, not merely stale."""
    r = aw.pr("another-change")
    other = r.commit("hello: 3.0", {HELLO: hello_nix("3.0")}, signer=aw.keys.ssh["alice"])
    r.checkout(aw.base, "pr")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=aw.keys.ssh["alice"])
    line = hand_sign(make_statement(other, aw.c0, r.tree(other)), aw.keys.ssh["bob"])
    r.add_note_lines(head, [line])
    data = ok_json(aw.cli(check_job(r, aw.base, head, aw.keyring)), 1)
    assert [(a["status"], a["person"], a["reason"]) for a in data["approvals"]] == [
        ("invalid", "bob", f"approves another change (head {other[:12]} on base {aw.c0[:12]})")], dump(data["approvals"])
    assert (data["rules"][0]["approved_by"], data["rules"][0]["stale"]) == ([], []), dump(data["rules"])


@pytest.mark.parametrize("number", [7, 345678])  # small ints are one object in CPython, six-digit ones are not
def test_approval_of_an_earlier_head_of_the_same_pull_request_is_stale(aw, number):
    """An approval of an earlier head on an earlier base, for the same pull request: stale (approve
    again), whatever the number; compared by value, never by identity."""
    r = aw.pr(f"earlier-head-{number}")
    old = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=aw.keys.ssh["alice"])
    r.checkout(aw.base, "pr")
    head = r.commit("hello: 2.12.2 (rebased)", {HELLO: hello_nix("2.12.2") + "\n"}, signer=aw.keys.ssh["alice"])
    r.add_note_lines(head, [hand_sign(make_statement(old, aw.c0, r.tree(old), pull_request=number), aw.keys.ssh["bob"])])
    data = ok_json(aw.cli(check_job(r, aw.base, head, aw.keyring, extra=["--pr", str(number)])), 1)
    assert [(a["status"], a["person"], a["reason"]) for a in data["approvals"]] == [
        ("stale", "bob", f"approves head {old[:12]}, not the current head {head[:12]}")], dump(data["approvals"])
    assert (data["rules"][0]["approved_by"], data["rules"][0]["stale"]) == ([], ["bob"]), dump(data["rules"])
