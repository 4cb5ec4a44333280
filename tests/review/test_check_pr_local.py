"""Black-box tests of ``commitguard check-pr --base B --head H`` (local mode):
review rules (``[[rule]]``), who may approve (roles, ``maintainers`` of the
touched packages at the base), the PR author's exclusion, stale approvals, a
keyring kept in the repository, uncovered paths and untrusted commits.

Fixtures are built with the real tools (see tests/fixtures/approvals.py, the
helpers this module shares with ``test_approvals.py``); commitguard runs through tests/fixtures/cli.py.
Approvals other than those under test are signed by hand with ssh-keygen,
exactly as SPEC describes them. At the end, unit tests of the rule globs
(``commitguard.review.rules.matches``) and of ``meta.maintainers`` extraction
(``commitguard.nix.maintainers.read_maintainers``).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from tests.fixtures.approvals import (
    HELLO,
    NOTES_REF,
    REPOSITORY,
    WORLD,
    WORLD_NIX,
    GitRepo,
    Scenarios,
    World,
    check_job,
    collect_scenarios,
    hand_approval,
    hello_nix,
    one_line_error,
    ok_json,
    person_toml,
    rule_toml,
    world_fixture,
)

KEYRING_FILE = ".commitguard/keyring/keyring.toml"


# =========================================================================== scenarios

def sc_maintainers(w: World):
    """alice's PR bumps hello and adds dave to its maintainers. carol maintains
    hello at the base (handle ``carolgh``, declared in the keyring; her GitHub login is ``CarolGH``); dave
    only in the PR; mallory is not in the keyring. All three approve."""
    k = w.keys
    r = w.pr("maintainers")
    head = r.commit("hello: 2.12.2, add dave", {HELLO: hello_nix("2.12.2", "carolgh dave")}, signer=k.ssh["alice"])
    for who in ("carol", "dave", "mallory"):
        hand_approval(r, k.ssh[who], head, w.base)
    return SimpleNamespace(head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def sc_committer(w: World):
    """alice's PR touches two packages and README.md; bob (committer) and dave
    (keyring person without approval rights) approve."""
    k = w.keys
    r = w.pr("committer")
    head = r.commit("hello, world: bump; README", {
        HELLO: hello_nix("2.12.2"),
        WORLD: WORLD_NIX.replace('"1.0"', '"1.1"'),
        "README.md": "# packages\n\nMore, and more.\n",
    }, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["bob"], head, w.base)
    hand_approval(r, k.ssh["dave"], head, w.base)
    return SimpleNamespace(head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def sc_exclude_author(w: World):
    """bob and alice both signed commits of the PR, and both approve it."""
    k = w.keys
    r = w.pr("exclude-author")
    r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["bob"])
    head = r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["alice"], head, w.base)
    hand_approval(r, k.ssh["bob"], head, w.base)
    keyring = w.keyring_with("no-exclude", rule_toml(["pkgs/**"], ["role:committer", "maintainers"], exclude_author=False))
    return SimpleNamespace(head=head, excluded=w.cli(check_job(r, w.base, head, w.keyring)),
                           included=w.cli(check_job(r, w.base, head, keyring)))


def sc_new_commit_after_approval(w: World):
    k = w.keys
    r = w.pr("new-commit")
    approved = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["bob"], approved, w.base)
    head = r.commit("hello: also fix the license", {HELLO: hello_nix("2.12.2").replace("gpl3Plus", "mit")},
                    signer=k.ssh["alice"])
    return SimpleNamespace(approved=approved, head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def sc_amend(w: World):
    """The approved head is amended (and force-pushed): same parent, new content."""
    k = w.keys
    r = w.pr("amend")
    approved = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["bob"], approved, w.base)
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2").replace("gpl3Plus", "mit")},
                    signer=k.ssh["alice"], amend=True)
    assert r.rev("HEAD^") == w.base and head != approved
    return SimpleNamespace(approved=approved, head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def in_repo_keyring(w: World, *, alice_roles=(), extra_persons: str = "", rules: str | None = None) -> str:
    k = w.keys
    body = "version = 1\n\n" + "\n".join([
        person_toml("alice", github="alice", roles=list(alice_roles), ssh=[k.ssh["alice"]]),
        person_toml("bob", github="bob", roles=["committer"], ssh=[k.ssh["bob"]]),
        extra_persons,
    ])
    if rules is None:
        rules = rule_toml(["**"], ["role:committer"])
    return body + "\n" + rules


def sc_in_repo_keyring(w: World):
    """The keyring lives at .commitguard/keyring. alice's PR makes her a
    committer, adds mallory as one, and drops exclude_author; both approve.
    The work tree is left at the PR head."""
    k = w.keys
    r = GitRepo(w.root / "repos" / "in-repo", w.root)
    base = r.commit("init", {KEYRING_FILE: in_repo_keyring(w), HELLO: hello_nix()}, signer=k.ssh["alice"])
    r.checkout(base, "pr")
    head = r.commit("make me a committer", {
        KEYRING_FILE: in_repo_keyring(
            w, alice_roles=["committer"],
            extra_persons=person_toml("mallory", github="mallory", roles=["committer"], ssh=[k.ssh["mallory"]]),
            rules=rule_toml(["**"], ["role:committer"], exclude_author=False)),
        HELLO: hello_nix("2.12.2"),
    }, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["alice"], head, base)
    hand_approval(r, k.ssh["mallory"], head, base)
    return SimpleNamespace(base=base, head=head, self_approved=w.cli(check_job(r, base, head, None)))


def sc_no_rule(w: World):
    k = w.keys
    r = w.pr("no-rule")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["bob"], head, w.base)
    keyring = w.keyring_with("no-rule", "")
    external = w.cli(check_job(r, w.base, head, keyring))
    # the same, with the keyring kept in the repository
    r2 = GitRepo(w.root / "repos" / "no-rule-in-repo", w.root)
    base2 = r2.commit("init", {KEYRING_FILE: in_repo_keyring(w, rules=""), HELLO: hello_nix()}, signer=k.ssh["alice"])
    head2 = r2.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    hand_approval(r2, k.ssh["bob"], head2, base2)
    in_repo = w.cli(check_job(r2, base2, head2, None))
    return SimpleNamespace(external=external, keyring=keyring, in_repo=in_repo)


def sc_uncovered(w: World):
    k = w.keys
    r = w.pr("uncovered")
    head = r.commit("hello: 2.12.2, and a CI script", {HELLO: hello_nix("2.12.2"), "ci/build.sh": "#!/bin/sh\nexit 0\n"},
                    signer=k.ssh["alice"])
    hand_approval(r, k.ssh["bob"], head, w.base)
    return SimpleNamespace(head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def sc_untrusted_commit(w: World):
    k = w.keys
    r = w.pr("untrusted")
    c1 = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    c2 = r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}, signer=k.ssh["mallory"])
    c3 = r.commit("hello: 2.12.4", {HELLO: hello_nix("2.12.4")})
    hand_approval(r, k.ssh["bob"], c3, w.base)
    return SimpleNamespace(c1=c1, c2=c2, c3=c3, check=w.cli(check_job(r, w.base, c3, w.keyring)))


def _as(r: GitRepo, *, author: str | None = None, committer: str | None = None) -> None:
    """Commit identities for the next commits, as ``Name <address>``."""
    for role, value in (("AUTHOR", author), ("COMMITTER", committer)):
        if value is not None:
            name, address = value.rstrip(">").split(" <")
            r.env[f"GIT_{role}_NAME"], r.env[f"GIT_{role}_EMAIL"] = name, address


def sc_web_ui(w: World):
    """alice edits hello in the forge's web interface: the forge signs the
    commit, alice is only its author (by e-mail). Then she approves it."""
    k = w.keys
    r = w.pr("web-ui")
    _as(r, author="Alice Example <alice@example.org>", committer="ExampleHub <noreply@examplehub.example>")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["forge"])
    hand_approval(r, k.ssh["alice"], head, w.base)
    return SimpleNamespace(head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


def sc_identities(w: World):
    """Three forge-signed commits: one authored under bob's GitHub noreply
    address, one committed by erin (upper-case address), one with carol as a
    co-author. bob, erin and carol approve; none of them counts."""
    k = w.keys
    r = w.pr("identities")
    forge = k.ssh["forge"]
    _as(r, author="Bob <4242+bob@users.noreply.github.com>", committer="ExampleHub <noreply@examplehub.example>")
    c1 = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=forge)
    _as(r, author="Somebody <somebody@example.net>", committer="Erin <ERIN@Example.ORG>")
    c2 = r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}, signer=forge)
    _as(r, committer="ExampleHub <noreply@examplehub.example>")
    c3 = r.commit("hello: 2.12.4\n\nCo-authored-by: Carol <carol@example.org>", {HELLO: hello_nix("2.12.4")},
                  signer=forge)
    for who in ("bob", "carol"):
        hand_approval(r, k.ssh[who], c3, w.base)
    hand_approval(r, k.erin, c3, w.base)
    return SimpleNamespace(c1=c1, c2=c2, c3=c3, check=w.cli(check_job(r, w.base, c3, w.keyring)))


def sc_revoked_signer(w: World):
    """bob signs a commit of alice's PR with his revoked key: the commit is
    untrusted, and bob still wrote it. He approves."""
    k = w.keys
    r = w.pr("revoked-signer")
    r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    head = r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}, signer=k.ssh["bob_revoked"])
    hand_approval(r, k.ssh["bob"], head, w.base)
    return SimpleNamespace(head=head, check=w.cli(check_job(r, w.base, head, w.keyring)))


OTHER = "pkgs/by-name/ot/other/package.nix"
MAINTAINERS_ONLY = rule_toml(["pkgs/**"], ["maintainers"])


def sc_two_packages(w: World):
    """The base adds ``other``, maintained by dave; alice's PR changes hello
    (carol's) and other. carol approves; later dave too."""
    k = w.keys
    r = w.pr("two-packages")
    base = r.commit("other: init at 1.0", {OTHER: hello_nix("1.0", "dave").replace('"hello"', '"other"')},
                    signer=k.ssh["alice"])
    head = r.commit("hello, other: bump", {HELLO: hello_nix("2.12.2"),
                                           OTHER: hello_nix("1.1", "dave").replace('"hello"', '"other"')},
                    signer=k.ssh["alice"])
    keyring = w.keyring_with("maintainers-only", MAINTAINERS_ONLY)
    rendered = {}
    for fmt in ("text", "markdown", "sarif"):
        job = check_job(r, base, head, keyring)
        job.args[job.args.index("json")] = fmt
        rendered[fmt] = w.cli(job)
    hand_approval(r, k.ssh["carol"], head, base)
    only_carol = w.cli(check_job(r, base, head, keyring))
    hand_approval(r, k.ssh["dave"], head, base)
    both = w.cli(check_job(r, base, head, keyring))
    return SimpleNamespace(base=base, head=head, only_carol=only_carol, both=both, rendered=rendered)


def sc_handle_namespaces(w: World):
    """hello's maintainer handle is ``carolgh``; carol's GitHub login is
    ``carol-gh``, and mallory's GitHub login is ``carolgh``; mallory approves. Once with carol declaring the handle,
    once with nobody declaring it, once with a person whose id is the handle
    besides carol declaring it (ambiguous)."""
    k = w.keys
    r = w.pr("handles")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["alice"])
    hand_approval(r, k.ssh["mallory"], head, w.base)
    mallory = person_toml("mallory", github="carolgh", ssh=[k.ssh["mallory"]])
    alice = person_toml("alice", github="alice", ssh=[k.ssh["alice"]])
    declared = w.keyring_with("handle-declared", MAINTAINERS_ONLY, "version = 1\n\n" + "\n".join([
        alice, mallory, person_toml("carol", github="carol-gh", handle="carolgh", ssh=[k.ssh["carol"]])]))
    undeclared = w.keyring_with("handle-undeclared", MAINTAINERS_ONLY, "version = 1\n\n" + "\n".join([
        alice, mallory, person_toml("carol", github="carol-gh", ssh=[k.ssh["carol"]])]))
    ambiguous = w.keyring_with("handle-ambiguous", MAINTAINERS_ONLY, "version = 1\n\n" + "\n".join([
        alice, person_toml("carolgh", ssh=[k.ssh["dave"]]),
        person_toml("carol", github="carol-gh", handle="carolgh", ssh=[k.ssh["carol"]])]))
    bad_handle = w.keyring_with("handle-bad", MAINTAINERS_ONLY, "version = 1\n\n" + "\n".join([
        alice, person_toml("carol", ssh=[k.ssh["carol"]]).replace('id = "carol"', 'id = "carol"\nhandle = 7')]))
    return SimpleNamespace(head=head, declared=w.cli(check_job(r, w.base, head, declared)),
                           undeclared=w.cli(check_job(r, w.base, head, undeclared)),
                           ambiguous=w.cli(check_job(r, w.base, head, ambiguous)),
                           bad_handle=w.cli(check_job(r, w.base, head, bad_handle)))


def sc_bad_arguments(w: World):
    r = w.pr("bad-arguments")
    return SimpleNamespace(bad_base=w.cli(check_job(r, "no-such-revision", w.base, w.keyring)))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from world_fixture(tmp_path_factory, "checkpr")


@pytest.fixture(scope="module")
def sc(world):
    return Scenarios(world, collect_scenarios(globals()))


def fp(world: World, name: str) -> str:
    return world.keys.ssh[name].fingerprint


def valid(world: World, person: str, head: str) -> dict:
    key = fp(world, person)
    return {"status": "valid", "person": person, "key": key, "origin": f"notes:{NOTES_REF}", "head": head,
            "reason": f"approved by {person} ({key})"}


def dump(data) -> str:
    return json.dumps(data, indent=1)


# =========================================================================== who may approve

def test_maintainer_at_base_approves_through_the_handle_the_keyring_declares(sc, world):
    o = sc("maintainers")
    data = ok_json(o.check, 0)
    assert data["rules"] == [{
        "paths": ["pkgs/**"], "package": "pkgs/by-name/he/hello", "required": 1, "approved_by": ["carol"], "missing": 0, "stale": [],
        "files": [HELLO], "eligible": ["bob", "erin", "carol"], "excluded_authors": ["alice"], "unresolved": [],
    }], dump(data["rules"])
    assert data["uncovered"] == [] and data["changed_files"] == [HELLO]
    assert data["authors"] == ["alice"]
    assert (data["base"], data["head"], data["repository"]) == (world.base, o.head, REPOSITORY)


def test_maintainer_added_by_the_pr_itself_does_not_count(sc, world):
    """dave's approval is a valid signature, but he maintains hello only in the PR's head."""
    o = sc("maintainers")
    data = ok_json(o.check, 0)
    assert valid(world, "dave", o.head) in data["approvals"], dump(data["approvals"])
    assert "dave" not in data["rules"][0]["eligible"]
    assert "dave" not in data["rules"][0]["approved_by"]


def test_approval_by_a_key_outside_the_keyring_is_invalid(sc, world):
    o = sc("maintainers")
    data = ok_json(o.check, 0)
    assert [a["person"] for a in data["approvals"]] == ["carol", "dave", None], dump(data["approvals"])
    bad = data["approvals"][2]
    assert (bad["status"], bad["key"]) == ("invalid", fp(world, "mallory"))
    assert bad["reason"].startswith("signature does not count: unknown-key"), bad


def test_committer_role_approves_every_rule_and_non_approver_does_not_count(sc, world):
    o = sc("committer")
    data = ok_json(o.check, 0)
    assert data["changed_files"] == ["README.md", HELLO, WORLD]
    pkgs, world_rule, md = data["rules"]
    assert {k: v for k, v in pkgs.items() if k != "unresolved"} == {
        "paths": ["pkgs/**"], "package": "pkgs/by-name/he/hello", "required": 1, "approved_by": ["bob"], "missing": 0,
        "stale": [], "files": [HELLO], "eligible": ["bob", "erin", "carol"], "excluded_authors": ["alice"],
    }, dump(pkgs)
    assert {k: v for k, v in world_rule.items() if k != "unresolved"} == {
        "paths": ["pkgs/**"], "package": "pkgs/by-name/wo/world", "required": 1, "approved_by": ["bob"], "missing": 0,
        "stale": [], "files": [WORLD], "eligible": ["bob", "erin"], "excluded_authors": ["alice"],
    }, dump(world_rule)
    assert md == {
        "paths": ["*.md"], "package": None, "required": 1, "approved_by": ["bob"], "missing": 0, "stale": [],
        "files": ["README.md"], "eligible": ["bob", "erin"], "excluded_authors": ["alice"], "unresolved": [],
    }, dump(md)
    assert data["approvals"] == [valid(world, "bob", o.head), valid(world, "dave", o.head)]


def test_unresolvable_maintainers_are_reported(sc):
    """world's maintainers: ``[ lib.maintainers.nobodyknows ] ++ lib.teams.gnome.members``."""
    data = sc("committer").check.json
    unresolved = data["rules"][1]["unresolved"]
    assert len(unresolved) == 1 and "nobodyknows" in unresolved[0], unresolved
    assert any("lib.teams.gnome.members" in w for w in data["warnings"]), data["warnings"]


# =========================================================================== the PR's own authors

def test_authors_approvals_do_not_count_with_exclude_author(sc, world):
    o = sc("exclude_author")
    data = ok_json(o.excluded, 1)
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["excluded_authors"]) == ([], 1, ["alice", "bob"]), dump(rule)
    assert "alice" not in rule["eligible"] and "bob" not in rule["eligible"]
    assert data["authors"] == ["alice", "bob"]
    # the approvals themselves are genuine
    assert sorted(a["person"] for a in data["approvals"] if a["status"] == "valid") == ["alice", "bob"]


def test_authors_approvals_count_without_exclude_author(sc):
    o = sc("exclude_author")
    data = ok_json(o.included, 0)
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["excluded_authors"]) == (["alice", "bob"], 0, []), dump(rule)


# =========================================================================== every identity that wrote the change

def test_web_ui_commit_author_cannot_approve(sc, world):
    """The forge signed the commit; alice, its author by e-mail, approved it."""
    o = sc("web_ui")
    data = ok_json(o.check, 1)
    [commit] = data["commits"]
    assert (commit["status"], commit["trusted"], commit["signer"]) == ("forge", True, "examplehub")
    assert data["authors"] == ["alice"]
    assert data["authorship"] == {"alice": [f"author of {o.head[:12]} (e-mail alice@example.org)"]}
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["excluded_authors"]) == ([], 1, ["alice"]), dump(rule)
    assert [a["status"] for a in data["approvals"]] == ["valid"], "a genuine approval, by an author"


def test_noreply_committer_and_co_author_identities_are_authors(sc, world):
    o = sc("identities")
    data = ok_json(o.check, 1)
    c1, c2, c3 = o.c1[:12], o.c2[:12], o.c3[:12]
    assert data["authorship"] == {
        "bob": [f"author of {c1} (GitHub login bob in 4242+bob@users.noreply.github.com)"],
        "carol": [f"co-author of {c3} (e-mail carol@example.org)"],
        "erin": [f"committer of {c2} (e-mail erin@example.org)"],
    }, dump(data["authorship"])
    assert data["authors"] == ["bob", "carol", "erin"]
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"]) == ([], 1), dump(rule)
    assert rule["excluded_authors"] == ["bob", "carol", "erin"] and rule["eligible"] == ["alice"], dump(rule)
    assert sorted(a["person"] for a in data["approvals"] if a["status"] == "valid") == ["bob", "carol", "erin"]


def test_signer_of_an_untrusted_commit_is_still_an_author(sc):
    o = sc("revoked_signer")
    data = ok_json(o.check, 1)
    assert [(c["status"], c["signer"]) for c in data["commits"] if c["id"] == o.head] == [("revoked-key", "bob")]
    assert data["authorship"]["bob"] == [f"signed {o.head[:12]}"], dump(data["authorship"])
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["excluded_authors"], rule["missing"]) == ([], ["alice", "bob"], 1), dump(rule)


# =========================================================================== maintainers: per package

def test_maintainer_of_one_package_cannot_approve_another(sc):
    o = sc("two_packages")
    data = ok_json(o.only_carol, 1)
    assert data["changed_files"] == [HELLO, OTHER]
    hello, other = data["rules"]
    assert (other["package"], other["files"], other["eligible"], other["approved_by"], other["missing"]) == (
        "pkgs/by-name/ot/other", [OTHER], ["dave"], [], 1), dump(other)
    assert (hello["package"], hello["files"], hello["eligible"], hello["approved_by"], hello["missing"]) == (
        "pkgs/by-name/he/hello", [HELLO], ["carol"], ["carol"], 0), dump(hello)
    assert o.only_carol.stderr.splitlines()[-1] == (
        "commitguard: check-pr: exit 1: not OK to merge: "
        "rule pkgs/** for package pkgs/by-name/ot/other needs 1 more signed approval(s)")


def test_every_package_with_its_own_maintainer_approves(sc):
    o = sc("two_packages")
    data = ok_json(o.both, 0)
    assert [(r["package"], r["approved_by"], r["missing"]) for r in data["rules"]] == [
        ("pkgs/by-name/he/hello", ["carol"], 0), ("pkgs/by-name/ot/other", ["dave"], 0)], dump(data["rules"])


def test_each_package_is_named_where_people_read_the_report(sc):
    """Before any approval both packages lack one: every format names which package, and
    code scanning gets one finding per package (distinct fingerprints)."""
    rendered = sc("two_packages").rendered
    assert rendered["text"].code == 1 and rendered["markdown"].code == 1 and rendered["sarif"].code == 1
    assert "pkgs/** (pkgs/by-name/he/hello)" in rendered["text"].stdout, rendered["text"].stdout
    assert "pkgs/** (pkgs/by-name/ot/other)" in rendered["text"].stdout, rendered["text"].stdout
    md = rendered["markdown"].stdout
    assert "#### ❌ `pkgs/**` (package `pkgs/by-name/he/hello`): 0 of 1 signed approval" in md, md
    assert "#### ❌ `pkgs/**` (package `pkgs/by-name/ot/other`): 0 of 1 signed approval" in md, md
    results = [r for r in json.loads(rendered["sarif"].stdout)["runs"][0]["results"] if r["ruleId"] == "missing-approval"]
    assert sorted(r["properties"]["package"] for r in results) == ["pkgs/by-name/he/hello", "pkgs/by-name/ot/other"]
    assert len({r["partialFingerprints"]["commitguard/v1"] for r in results}) == 2
    assert all(r["message"]["text"].startswith("0 of 1 signed approval(s) for pkgs/** (package pkgs/by-name/")
               for r in results), results


def test_github_login_equal_to_a_handle_gains_nothing(sc):
    o = sc("handle_namespaces")
    data = ok_json(o.declared, 1)
    [rule] = data["rules"]
    assert (rule["eligible"], rule["approved_by"], rule["missing"], rule["unresolved"]) == (
        ["carol"], [], 1, []), dump(rule)
    assert [(a["status"], a["person"]) for a in data["approvals"]] == [("valid", "mallory")]


def test_handle_nobody_declares_is_unresolved_not_a_login(sc):
    o = sc("handle_namespaces")
    data = ok_json(o.undeclared, 1)
    [rule] = data["rules"]
    assert (rule["eligible"], rule["approved_by"], rule["missing"]) == ([], [], 1), dump(rule)
    assert rule["unresolved"] == [f"maintainer carolgh of {HELLO}: no keyring person has this handle"]


def test_handle_that_could_mean_two_persons_is_refused(sc):
    line = one_line_error(sc("handle_namespaces").ambiguous)
    assert line.endswith("person[2].handle: maintainer handle 'carolgh' could mean person 'carolgh' (its id) or person "
                         "'carol' (its handle): rename one, a handle must name one person"), line


def test_handle_that_is_not_a_string_is_refused(sc):
    one_line_error(sc("handle_namespaces").bad_handle, "person[1].handle: must be a non-empty string")


# =========================================================================== stale approvals

def test_new_commit_after_approval_makes_it_stale(sc, world):
    o = sc("new_commit_after_approval")
    data = ok_json(o.check, 1)
    key = fp(world, "bob")
    assert data["approvals"] == [{
        "status": "stale", "person": "bob", "key": key, "origin": f"notes:{NOTES_REF}", "head": o.approved,
        "reason": f"approves head {o.approved[:12]}, not the current head {o.head[:12]}",
    }]
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["stale"]) == ([], 1, ["bob"]), dump(rule)


def test_amended_head_approval_does_not_count(sc):
    o = sc("amend")
    data = ok_json(o.check, 1)
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"]) == ([], 1), dump(rule)
    assert all(a["status"] != "valid" for a in data["approvals"]), dump(data["approvals"])


def test_amended_head_approval_is_reported_stale(sc, world):
    """After a force-push, the reviewer's approval of the previous head is still
    in refs/notes/commitguard (for the same repository and base): the report
    should name it stale, so the PR knows whom to ask again."""
    o = sc("amend")
    data = ok_json(o.check, 1)
    stale = [a for a in data["approvals"] if a["status"] == "stale"]
    assert [(a["person"], a["head"]) for a in stale] == [("bob", o.approved)], dump(data["approvals"])
    assert data["rules"][0]["stale"] == ["bob"], dump(data["rules"])


# =========================================================================== a keyring kept in the repository

def test_in_repo_keyring_is_read_from_the_base(sc, world):
    o = sc("in_repo_keyring")
    data = ok_json(o.self_approved, 1)
    assert o.base[:12] in data["keyring"], data["keyring"]
    [commit] = data["commits"]
    assert (commit["id"], commit["status"], commit["signer"]) == (o.head, "trusted", "alice")
    assert data["rules"] == [{
        "paths": ["**"], "package": None, "required": 1, "approved_by": [], "missing": 1, "stale": [],
        "files": [KEYRING_FILE, HELLO], "eligible": ["bob"], "excluded_authors": [], "unresolved": [],
    }], dump(data["rules"])
    alice, mallory = data["approvals"]
    assert alice == valid(world, "alice", o.head)
    assert (mallory["status"], mallory["person"], mallory["key"]) == ("invalid", None, fp(world, "mallory"))
    assert mallory["reason"].startswith("signature does not count: unknown-key"), mallory


def test_keyring_without_rules_is_exit_2(sc):
    o = sc("no_rule")
    one_line_error(o.external, "rule")


def test_in_repo_keyring_without_rules_is_exit_2(sc):
    o = sc("no_rule")
    one_line_error(o.in_repo, "rule")


# =========================================================================== paths and commits

def test_changed_file_outside_every_rule_fails(sc, world):
    o = sc("uncovered")
    data = ok_json(o.check, 1)
    assert data["uncovered"] == ["ci/build.sh"]
    assert data["changed_files"] == ["ci/build.sh", HELLO]
    [rule] = data["rules"]
    assert (rule["files"], rule["approved_by"], rule["missing"]) == ([HELLO], ["bob"], 0), dump(rule)


def test_untrusted_commit_fails_even_when_approved(sc):
    o = sc("untrusted_commit")
    data = ok_json(o.check, 1)
    statuses = {c["id"]: (c["status"], c["trusted"]) for c in data["commits"]}
    assert statuses == {o.c1: ("trusted", True), o.c2: ("unknown-key", False), o.c3: ("unsigned", False)}
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"]) == (["bob"], 0), dump(rule)
    assert data["uncovered"] == []


def test_unknown_base_revision_is_exit_2(sc):
    one_line_error(sc("bad_arguments").bad_base, "no-such-revision")


# =========================================================================== unit: rule globs

from commitguard.review.rules import matches  # noqa: E402

GLOBS = [
    ("pkgs/**", "pkgs/by-name/he/hello/package.nix", True),
    ("pkgs/**", "pkgs/top-level/all-packages.nix", True),
    ("pkgs/**", "pkgsx/foo.nix", False),
    ("pkgs/**", "nixos/pkgs/foo.nix", False),
    ("pkgs/**", "README.md", False),
    ("/pkgs/**", "pkgs/a.nix", True),
    ("**/*.nix", "default.nix", True),
    ("**/*.nix", "pkgs/by-name/he/hello/package.nix", True),
    ("**/*.nix", "pkgs/hello/package.nix.orig", False),
    ("**/*.nix", "pkgs/hello/package.nixx", False),
    ("**/*.nix", "doc/nix.md", False),
    ("*.md", "README.md", True),
    ("*.md", "CONTRIBUTING.md", True),
    ("*.md", "README.mdx", False),
    # rules are anchored at the repository root and ``*`` stays within one directory
    ("*.md", "doc/manual.md", False),
    ("pkgs/by-name/*/", "pkgs/by-name/he/hello/package.nix", True),
    ("pkgs/by-name/*/", "pkgs/by-name/he/x", True),
    ("pkgs/by-name/*/", "pkgs/by-name/README.md", False),
    ("pkgs/by-name/*/", "pkgs/top-level/all-packages.nix", False),
    ("pkgs/by-name/h?/**", "pkgs/by-name/he/hello/package.nix", True),
    ("pkgs/by-name/h?/**", "pkgs/by-name/hel/hello/package.nix", False),
    ("pkgs/**/default.nix", "pkgs/default.nix", True),
    ("pkgs/**/default.nix", "pkgs/a/b/default.nix", True),
    ("pkgs/**/default.nix", "pkgs/a/b/package.nix", False),
    ("pkgs/a+b/**", "pkgs/a+b/x", True),
    ("pkgs/a+b/**", "pkgs/aab/x", False),
    ("pkgs/[ab]/**", "pkgs/a/x", False),  # no character classes: brackets are literal
    ("pkgs/[ab]/**", "pkgs/[ab]/x", True),
]


@pytest.mark.parametrize("pattern,path,expected", GLOBS)
def test_rule_glob(pattern, path, expected):
    assert matches(pattern, path) is expected


# =========================================================================== unit: meta.maintainers

from commitguard.nix.maintainers import read_maintainers  # noqa: E402

MAINTAINER_CASES = {
    "with-list": ("""
{ lib, stdenv }:
stdenv.mkDerivation {
  pname = "a";
  meta = {
    description = "a";
    maintainers = with lib.maintainers; [ alice bob ];
  };
}""", ("alice", "bob"), 0),
    "meta-dot-maintainers-concat": ("""
{ lib, buildGoModule }:
buildGoModule rec {
  pname = "b";
  meta.maintainers = with lib.maintainers; [ alice ] ++ [ lib.maintainers.carol ];
}""", ("alice", "carol"), 0),
    "select-without-with": ("""
{ lib, stdenv }:
stdenv.mkDerivation (finalAttrs: {
  pname = "c";
  meta = {
    license = lib.licenses.mit;
    maintainers = [
      lib.maintainers.alice # the original packager
      lib.maintainers.bob
    ];
  };
})""", ("alice", "bob"), 0),
    "teams-sibling": ("""
{ lib, stdenv }:
stdenv.mkDerivation {
  pname = "d";
  meta = {
    maintainers = with lib.maintainers; [ dave ];
    teams = [ lib.teams.gnome ];
  };
}""", ("dave",), 0),
    "team-members-unresolved": ("""
{ lib, stdenv }:
stdenv.mkDerivation {
  pname = "e";
  meta.maintainers = with lib.maintainers; [ erin ] ++ lib.teams.gnome.members;
}""", ("erin",), 1),
    "only-team-members": ("""
{ lib, stdenv }:
stdenv.mkDerivation {
  pname = "f";
  meta = { maintainers = lib.teams.rust.members; };
}""", (), 1),
    "string-and-bare-name-unresolved": ("""
{ lib, stdenv }:
stdenv.mkDerivation {
  pname = "g";
  meta.maintainers = [ "alice" bob lib.maintainers.carol ];
}""", ("carol",), 2),
    "maintainers-outside-meta-ignored": ("""
{ lib, stdenv }:
let
  maintainers = with lib.maintainers; [ mallory ];
in
stdenv.mkDerivation {
  pname = "h";
  passthru.maintainers = [ lib.maintainers.mallory ];
  meta.maintainers = with lib.maintainers; [ alice ];
}""", ("alice",), 0),
    "empty": ("""
{ lib, stdenv }:
stdenv.mkDerivation { pname = "i"; meta.maintainers = [ ]; }""", (), 0),
    "no-meta": ("""
{ stdenv }:
stdenv.mkDerivation { pname = "j"; }""", (), 0),
    # the classic nixpkgs shape: ``meta = with lib; { ... maintainers = with maintainers; [ ... ]; }``
    "meta-with-lib": ("""
{ lib, stdenv }:
stdenv.mkDerivation rec {
  pname = "k";
  meta = with lib; {
    license = licenses.mit;
    maintainers = with maintainers; [ alice bob ];
  };
}""", ("alice", "bob"), 0),
}


@pytest.mark.parametrize("name", list(MAINTAINER_CASES))
def test_read_maintainers(name):
    source, handles, unresolved = MAINTAINER_CASES[name]
    found = read_maintainers(source.encode())
    assert found.handles == handles, found
    assert len(found.unresolved) == unresolved, found


def test_read_maintainers_inherited_is_reported_unresolved():
    """``inherit (x.meta) maintainers;`` cannot be resolved statically: it must be
    reported, never silently dropped."""
    found = read_maintainers(b"""
{ lib, python3Packages }:
python3Packages.toPythonApplication (python3Packages.foo.overridePythonAttrs (old: {
  meta = {
    inherit (old.meta) maintainers;
    mainProgram = "foo";
  };
}))""")
    assert found.handles == ()
    assert len(found.unresolved) >= 1, found


def test_read_maintainers_on_garbage_does_not_crash():
    for source in (b"", b"\xff\xfe\x00", b"{ meta.maintainers = [ ", b"(" * 5000, b"meta = { maintainers = [ a"):
        found = read_maintainers(source)
        assert isinstance(found.handles, tuple)
