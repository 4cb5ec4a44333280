"""``check-pr --github``: the pull request's author, known to commitguard only by
the GitHub login that opened it, stays among the authors.

bob maintains hello and opens the pull request, but every commit in it is
signed by alice (he pushed her work): the commit signers alone would never
name bob. His signed approval is genuine and must still not count. Runs
against the local stand-in for GitHub's API in test_github_pr.py.
"""

from __future__ import annotations

import pytest

from tests.fixtures.github_pr import HELLO, PACKAGE, api, keys, rule_of, world  # noqa: F401 (fixtures)


@pytest.mark.parametrize("login", ["bob", "BOB"])  # GitHub logins are case-insensitive
def test_pr_author_known_only_by_login_cannot_approve(world, api, login):  # noqa: F811
    world.commit("alice", "hello: init at 2.12.1", {HELLO: PACKAGE.format(version="2.12.1", hash="A" * 43 + "=")})
    base = world.head()
    world.repo.git("checkout", "-q", "-b", "topic")
    world.commit("alice", "hello: 2.12.1 -> 2.12.2", {HELLO: PACKAGE.format(version="2.12.2", hash="B" * 43 + "=")})
    head = world.head()
    api.open_pull(1, base=base, head=head, author=login, title="hello: 2.12.1 -> 2.12.2", files=[HELLO])
    # GitHub attributes the commit to alice's account: only the opener names bob
    api.commit_logins[head] = ("alice", "alice")
    res = world.approve("bob", login=login)
    assert res.code == 0, res.describe()
    assert [p["event"] for p in api.posted] == ["APPROVE", "COMMENT"], "GitHub refuses an author's approval"

    res = world.check()
    assert res.code == 1, res.describe()
    data = res.json
    assert data["ok"] is False
    assert data["authors"] == ["alice", "bob"], data["authors"]
    rule = rule_of(data)
    assert rule["excluded_authors"] == ["alice", "bob"], rule
    assert (rule["approved_by"], rule["missing"], rule["eligible"]) == ([], 1, []), rule
    assert {a["person"]: a["status"] for a in data["approvals"]} == {"bob": "valid"}, data["approvals"]


def test_the_same_approval_counts_on_someone_elses_pull_request(world, api):  # noqa: F811
    """Control: carol opens the same pull request; bob's approval counts."""
    world.commit("alice", "hello: init at 2.12.1", {HELLO: PACKAGE.format(version="2.12.1", hash="A" * 43 + "=")})
    base = world.head()
    world.repo.git("checkout", "-q", "-b", "topic")
    world.commit("alice", "hello: 2.12.1 -> 2.12.2", {HELLO: PACKAGE.format(version="2.12.2", hash="B" * 43 + "=")})
    api.open_pull(1, base=base, head=world.head(), author="Carol-Contrib", title="hello", files=[HELLO])
    assert world.approve("bob").code == 0
    res = world.check()
    assert res.code == 0, res.describe()
    rule = rule_of(res.json)
    assert rule["approved_by"] == ["bob"] and rule["excluded_authors"] == ["alice"], rule
    assert res.json["authors"] == ["alice", "carol"]
