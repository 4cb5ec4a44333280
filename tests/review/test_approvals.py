"""Black-box tests of signed review approvals: ``commitguard approve`` and the
approval verdicts of ``commitguard check-pr``.

Fixtures are made with the real tools only (ssh-keygen, gpg in a throwaway
GNUPGHOME, git with ``commit -S``); keyring.toml files are written by hand;
commitguard runs through tests/fixtures/cli.py (its ``main``, in process) with no
``COMMITGUARD_KEYRING``. Verdicts (status, exit code, who counts) come from
SPEC.md ("Signed review approvals", ``[[rule]]``) and DSSE/in-toto; the reason
texts asserted are commitguard's own wording.

A CLI run costs real work, so each scenario (a repository of
its own, cloned from a small template) is built once per module and read by
several tests, and most approvals besides those under test are made by hand
exactly as SPEC describes them (an in-toto Statement v1 in a DSSE envelope,
signed over the DSSE PAE with ``ssh-keygen -Y sign -n commitguard-approval``
or ``gpg --detach-sign``); ``test_audit_*`` checks that ``commitguard
approve`` writes exactly that shape. The helpers live in
tests/fixtures/approvals.py, shared with ``test_check_pr_local.py``.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from types import SimpleNamespace

import pytest

from tests.fixtures.approvals import (  # noqa: F401 (shared with other approval tests)
    APPROVAL_NAMESPACE,
    HELLO,
    NOTES_REF,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    REPOSITORY,
    STATEMENT_TYPE,
    Job,
    Scenarios,
    World,
    approve_job,
    check_job,
    collect_scenarios,
    commit_with_ssh_gpgsig,
    decode_envelope,
    envelope,
    hand_approval,
    hand_sign,
    hello_nix,
    make_statement,
    ok_json,
    one_line_error,
    pae,
    rule_toml,
    ssh_sign,
    ssh_verify,
    world_fixture,
)

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "gpg", "gpgconf", "ssh-keygen")),
    reason="needs git, gpg, gpgconf and ssh-keygen",
)


def sc_audit(w: World):
    """A merged commit approved after the fact: ``approve`` with neither --head
    (HEAD) nor --base (the first parent), nor --repository (the origin remote)."""
    r = w.repo("audit")
    r.git("remote", "add", "origin", "git@github.com:Example/NixPkgs.git")
    merged = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=w.keys.ssh["alice"])
    approve = w.cli(approve_job(r, ssh=w.keys.ssh["bob"], repository=None))
    note = r.note(merged)
    check = w.cli(check_job(r, w.base, merged, w.keyring, repository=None))
    return SimpleNamespace(repo=r, merged=merged, approve=approve, note=note, check=check)


def sc_root_commit(w: World):
    r = w.repo("root")
    res = w.cli(approve_job(r, ssh=w.keys.ssh["bob"], head=w.c0))
    return SimpleNamespace(res=res, note=r.note(w.c0))


def sc_key_options(w: World):
    r = w.pr("key-options")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=w.keys.ssh["alice"])
    missing = w.cli(Job(approve_job(r, head=head, base=w.base).args + ["--ssh-key", str(w.root / "no-such-key")]))
    return SimpleNamespace(missing=missing, missing_path=str(w.root / "no-such-key"), note=r.note(head))


def sc_openpgp(w: World):
    r = w.pr("openpgp")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=w.keys.ssh["alice"])
    approve = w.cli(approve_job(r, pgp=w.keys.erin, head=head, base=w.base))
    note = r.note(head)
    hand_approval(r, w.keys.stranger_pgp, head, w.base)  # a valid OpenPGP signature by a key not in the keyring
    check = w.cli(check_job(r, w.base, head, w.keyring))
    return SimpleNamespace(repo=r, head=head, approve=approve, note=note, check=check)


def sc_mismatch(w: World):
    """Approvals of something else than (repository, base, head) under review.

    dave (no approval rights) wrote the pull request, so alice may approve it."""
    k = w.keys
    r = w.pr("mismatch")
    other = r.commit("hello: 3.0", {HELLO: hello_nix("3.0")}, signer=k.ssh["dave"])
    r.checkout(w.base, "pr")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.ssh["dave"])
    # alice signs without storing, and the approval is put in the note by hand
    approve = w.cli(approve_job(r, ssh=k.ssh["alice"], head=head, base=w.base, extra=["--pr", "7", "--no-store"]))
    note_after_no_store = r.note(head)
    alice_line = approve.stdout.strip()
    r.add_note_lines(head, [alice_line])
    # carol approved the other pull request's head; the approval is copied here
    r.add_note_lines(head, [hand_sign(make_statement(other, w.base, r.tree(other)), k.ssh["carol"])])
    hand_approval(r, k.ssh["bob"], head, w.base, repository="other")
    hand_approval(r, k.erin, head, w.c0)  # reviewed against an older base
    check = w.cli(check_job(r, w.base, head, w.keyring))
    check_pr8 = w.cli(check_job(r, w.base, head, w.keyring, extra=["--pr", "8"]))
    return SimpleNamespace(head=head, other=other, approve=approve, alice_line=alice_line,
                           note_after_no_store=note_after_no_store, check=check, check_pr8=check_pr8)


def sc_duplicate(w: World):
    """bob approves twice, once with each of his keys; the rule wants two persons."""
    r = w.pr("duplicate")
    head = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=w.keys.ssh["alice"])
    keyring = w.keyring_with("two-approvals", rule_toml(["pkgs/**", "*.md"], ["role:committer", "maintainers"], approvals=2))
    first = hand_approval(r, w.keys.ssh["bob2"], head, w.base)
    approve = w.cli(approve_job(r, ssh=w.keys.ssh["bob"], head=head, base=w.base))
    note = r.note(head)
    check = w.cli(check_job(r, w.base, head, keyring))
    return SimpleNamespace(head=head, first=first, approve=approve, note=note, check=check)


def sc_adversarial(w: World):
    """One valid approval by bob among hostile and malformed lines in the same note."""
    k = w.keys
    r = w.pr("adversarial")
    first = r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}, signer=k.erin)  # an OpenPGP commit signature
    head = r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}, signer=k.ssh["alice"])
    approve = w.cli(approve_job(r, ssh=k.ssh["bob"], head=head, base=w.base))
    good = (r.note(head) or b"").decode().strip()
    payload = base64.b64decode(json.loads(good)["payload"])
    good_sig = base64.b64decode(json.loads(good)["signatures"][0]["sig"])
    statement = make_statement(head, w.base, r.tree(head))
    bob = k.ssh["bob"]
    lines: dict[str, str | bytes] = {
        # signatures that are real, but not approvals
        "ssh-namespace-git": envelope(payload, ssh_sign(bob, pae(payload), "git")),
        "commit-gpgsig-ssh": envelope(payload, r.gpgsig(head)),
        "commit-gpgsig-openpgp": envelope(payload, r.gpgsig(first)),
        "raw-payload-not-pae": hand_sign(payload, bob, use_pae=False),
        "payload-type": json.dumps(json.loads(good) | {"payloadType": "text/plain"}),
        # well signed, but not an approval of this head
        "wrong-tree": hand_sign(make_statement(head, w.base, r.tree(w.base)), bob),
        "verdict-reject": hand_sign(statement | {"predicate": statement["predicate"] | {"verdict": "reject"}}, bob),
        "commit-object-as-payload": hand_sign(r.git_bytes("cat-file", "commit", head), bob),
        "stranger": hand_sign(statement, k.ssh["mallory"]),
        "forge-key": hand_sign(statement, k.ssh["forge"]),  # forges sign commits, never approvals
        "revoked-key": hand_sign(statement, k.ssh["bob_revoked"]),
        # not even an envelope
        "truncated": good[: len(good) // 2],
        "garbage-text": "this is not an approval",
        "empty-object": "{}",
        "json-null": "null",
        "binary": b"\xff\xfe\x00\x01garbage\x80",
        "bad-base64": json.dumps({"payloadType": PAYLOAD_TYPE, "payload": "!!!notbase64",
                                  "signatures": [{"keyid": "", "sig": "AAAA"}]}),
        "two-signatures": envelope(payload, good_sig, extra_sigs=1),
        "huge": json.dumps({"payloadType": PAYLOAD_TYPE, "payload": "A" * 200_000, "signatures": []}),
        "deep-nesting": "[" * 30_000 + "]" * 30_000,
    }
    r.add_note_lines(head, list(lines.values()))
    check = w.cli(check_job(r, w.base, head, w.keyring))
    return SimpleNamespace(head=head, first=first, approve=approve, good=good, lines=lines, check=check)


def sc_approval_signature_as_commit_signature(w: World):
    """PR commits signed with ssh-keygen over their own bytes: in namespace git
    (a normal commit signature, the control) and in the approval namespace."""
    r = w.pr("approval-as-commit")
    alice = w.keys.ssh["alice"]
    c1 = commit_with_ssh_gpgsig(r, r.commit("hello: 2.12.2", {HELLO: hello_nix("2.12.2")}), alice, "git")
    r.git("reset", "-q", "--hard", c1)
    c2 = commit_with_ssh_gpgsig(r, r.commit("hello: 2.12.3", {HELLO: hello_nix("2.12.3")}), alice, APPROVAL_NAMESPACE)
    r.git("reset", "-q", "--hard", c2)
    hand_approval(r, w.keys.ssh["bob"], c2, w.base)
    check = w.cli(check_job(r, w.base, c2, w.keyring))
    return SimpleNamespace(c1=c1, c2=c2, check=check)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    yield from world_fixture(tmp_path_factory, "approvals")


@pytest.fixture(scope="module")
def sc(world):
    return Scenarios(world, collect_scenarios(globals()))


def fp(world: World, name: str) -> str:
    return world.keys.ssh[name].fingerprint


def approval(world: World, status: str, person: str | None, key: str | None, head: str | None, reason: str) -> dict:
    return {"status": status, "person": person, "key": key, "origin": f"notes:{NOTES_REF}", "head": head,
            "reason": reason}


def valid(world: World, person: str, key: str, head: str) -> dict:
    return approval(world, "valid", person, key, head, f"approved by {person} ({key})")


# =========================================================================== approve: an audit of a merged commit

def test_audit_approve_exits_0_and_says_where(sc):
    o = sc("audit")
    assert o.approve.code == 0, o.approve.describe()
    assert o.merged[:12] in o.approve.stdout
    assert NOTES_REF in o.approve.stdout
    assert o.approve.stderr == ""


def test_audit_note_is_one_dsse_envelope_of_an_in_toto_statement(sc, world):
    o = sc("audit")
    assert o.note is not None, "approve stored nothing under refs/notes/commitguard"
    lines = [l for l in o.note.decode().splitlines() if l.strip()]
    assert len(lines) == 1, o.note
    env, st, sig = decode_envelope(lines[0])
    assert set(env) == {"payloadType", "payload", "signatures"}
    assert env["payloadType"] == PAYLOAD_TYPE
    assert len(env["signatures"]) == 1
    assert st["_type"] == STATEMENT_TYPE
    assert st["predicateType"] == PREDICATE_TYPE
    pred = st["predicate"]
    # the repository defaults to the origin remote
    assert "example/nixpkgs" in pred["repository"].lower(), pred
    assert st["subject"] == [{"name": pred["repository"], "digest": {"gitCommit": o.merged}}]
    assert pred["head"] == o.merged
    assert pred["base"] == world.base  # no --base: the first parent
    assert pred["headTree"] == o.repo.tree(o.merged)
    assert pred["verdict"] == "approve"
    assert "pullRequest" not in pred
    if "timestamp" in pred:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", pred["timestamp"]), pred


def test_audit_signature_verifies_with_ssh_keygen_in_the_approval_namespace_only(sc, world, tmp_path):
    o = sc("audit")
    env, _, sig = decode_envelope(o.note.decode().strip())
    payload = base64.b64decode(env["payload"])
    bob = world.keys.ssh["bob"]
    assert sig.startswith(b"-----BEGIN SSH SIGNATURE-----")
    assert ssh_verify(bob, pae(payload), sig, APPROVAL_NAMESPACE, tmp_path)
    assert not ssh_verify(bob, pae(payload), sig, "git", tmp_path), "an approval must not verify as a git signature"
    assert not ssh_verify(bob, payload, sig, APPROVAL_NAMESPACE, tmp_path), "the signature must cover the DSSE PAE"


def test_audit_approval_is_valid_in_check_pr(sc, world):
    o = sc("audit")
    data = ok_json(o.check, 0)
    assert data["approvals"] == [valid(world, "bob", fp(world, "bob"), o.merged)]
    [rule] = data["rules"]
    assert (rule["required"], rule["approved_by"], rule["missing"], rule["stale"]) == (1, ["bob"], 0, [])
    assert data["uncovered"] == []


# =========================================================================== approve: errors

def test_approve_root_commit_without_base_is_exit_2(sc):
    o = sc("root_commit")
    one_line_error(o.res, "--base")
    assert o.note is None


def test_approve_with_missing_key_file_is_exit_2_naming_it(sc):
    o = sc("key_options")
    one_line_error(o.missing, o.missing_path)
    assert o.note is None


# =========================================================================== OpenPGP approvals

def test_openpgp_approval_is_a_detached_signature_over_the_pae(sc, world, tmp_path):
    o = sc("openpgp")
    assert o.approve.code == 0, o.approve.describe()
    env, st, sig = decode_envelope(o.note.decode().strip())
    assert sig.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert st["predicate"]["head"] == o.head and st["predicate"]["base"] == world.base
    (tmp_path / "sig.asc").write_bytes(sig)
    (tmp_path / "data").write_bytes(pae(base64.b64decode(env["payload"])))
    done = world.keys.erin.gpg.gpg("--status-fd", "1", "--verify", str(tmp_path / "sig.asc"), str(tmp_path / "data"),
                                   check=False)
    status = done.stdout.decode()
    assert done.returncode == 0 and "GOODSIG" in status, status
    assert f"VALIDSIG {world.keys.erin.signing}" in status, status


def test_openpgp_approval_is_valid_and_unknown_openpgp_key_is_invalid(sc, world):
    o = sc("openpgp")
    data = ok_json(o.check, 0)
    erin, stranger = world.keys.erin, world.keys.stranger_pgp
    assert data["approvals"][0] == valid(world, "erin", erin.signing, o.head)
    assert len(data["approvals"]) == 2
    bad = data["approvals"][1]
    assert (bad["status"], bad["person"], bad["key"]) == ("invalid", None, stranger.signing), bad
    assert bad["reason"].startswith("signature does not count: unknown-key"), bad
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["stale"]) == (["erin"], 0, [])


# =========================================================================== approvals of something else

def test_approve_no_store_prints_one_envelope_and_stores_nothing(sc):
    o = sc("mismatch")
    assert o.approve.code == 0, o.approve.describe()
    assert len(o.approve.stdout.strip().splitlines()) == 1, o.approve.describe()
    _, st, _ = decode_envelope(o.alice_line)
    assert st["predicate"]["head"] == o.head
    assert o.note_after_no_store is None


def test_approve_pr_number_is_in_the_statement(sc):
    _, st, _ = decode_envelope(sc("mismatch").alice_line)
    assert st["predicate"]["pullRequest"] == 7


def test_mismatched_approvals_do_not_count(sc, world):
    o = sc("mismatch")
    data = ok_json(o.check, 0)
    k, head, base = world.keys, o.head, world.base
    assert data["approvals"] == [
        valid(world, "alice", fp(world, "alice"), head),
        approval(world, "stale", "carol", fp(world, "carol"), o.other,
                 f"approves head {o.other[:12]}, not the current head {head[:12]}"),
        approval(world, "invalid", "bob", fp(world, "bob"), head,
                 f"approval is for repository 'other', not '{REPOSITORY}'"),
        approval(world, "stale", "erin", k.erin.signing, head,
                 f"approves the change against base {world.c0[:12]}, not {base[:12]}"),
    ]
    [rule] = data["rules"]
    assert rule == {
        "paths": ["pkgs/**"], "package": "pkgs/by-name/he/hello", "required": 1, "approved_by": ["alice"],
        "missing": 0, "stale": ["carol", "erin"],
        "files": [HELLO], "eligible": ["alice", "bob", "erin", "carol"], "excluded_authors": [], "unresolved": [],
    }
    assert data["authors"] == ["dave"]


def test_approval_for_another_pull_request_number_does_not_count(sc):
    """check-pr --pr 8 (no --github): either refused as a usage error, or the
    approval signed for pull request #7 is invalid; never silently valid."""
    o = sc("mismatch")
    res = o.check_pr8
    if res.code == 2:
        one_line_error(res, "--pr")
        return
    data = ok_json(res, 1)
    alice = [a for a in data["approvals"] if a["person"] == "alice"]
    assert [(a["status"], a["reason"]) for a in alice] == [
        ("invalid", "approval is for pull request #7, not #8")], json.dumps(data["approvals"], indent=1)
    assert data["rules"][0]["approved_by"] == []


# =========================================================================== one person, two keys

def test_approve_appends_to_the_note_and_keeps_other_approvals(sc):
    o = sc("duplicate")
    assert o.approve.code == 0, o.approve.describe()
    lines = [l for l in o.note.decode().splitlines() if l.strip()]
    assert len(lines) == 2 and lines[0] == o.first, o.note


def test_one_person_with_two_keys_counts_once(sc, world):
    o = sc("duplicate")
    data = ok_json(o.check, 1)
    assert sorted(data["approvals"], key=lambda a: a["key"]) == sorted(
        [valid(world, "bob", fp(world, "bob"), o.head), valid(world, "bob", fp(world, "bob2"), o.head)],
        key=lambda a: a["key"])
    [rule] = data["rules"]
    assert (rule["required"], rule["approved_by"], rule["missing"], rule["stale"]) == (2, ["bob"], 1, [])


# =========================================================================== hostile note contents

ADVERSARIAL = [  # (line, reason pattern); every one of them is invalid
    ("ssh-namespace-git", r"^signature does not count: bad-signature: .*namespace 'git'"),
    ("commit-gpgsig-ssh", r"^signature does not count: bad-signature: .*namespace 'git'"),
    ("commit-gpgsig-openpgp", r"^signature does not count: bad-signature"),
    ("raw-payload-not-pae", r"^signature does not count: bad-signature"),
    ("payload-type", r"payloadType 'text/plain'"),
    ("wrong-tree", r"^names tree "),
    ("verdict-reject", r"verdict 'reject' is not an approval"),
    ("commit-object-as-payload", r"statement is not JSON"),
    ("stranger", r"^signature does not count: unknown-key"),
    ("forge-key", r"^signature does not count: forge"),
    ("revoked-key", r"^signature does not count: revoked-key"),
    ("truncated", r"^not a readable approval"),
    ("garbage-text", r"^not a readable approval"),
    ("empty-object", r"^not a readable approval"),
    ("json-null", r"^not a readable approval"),
    ("binary", r"^not a readable approval"),
    ("bad-base64", r"base64"),
    ("two-signatures", r"exactly one signature"),
    ("huge", r"larger than"),
    ("deep-nesting", r"^not a readable approval"),
]


def test_hostile_note_lines_cost_one_line_each_and_never_the_valid_approval(sc, world):
    o = sc("adversarial")
    data = ok_json(o.check, 0)  # exit 0: the one valid approval still counts
    assert len(data["approvals"]) == 1 + len(ADVERSARIAL), json.dumps(data["approvals"], indent=1)
    assert [a for a in data["approvals"] if a["status"] != "invalid"] == [valid(world, "bob", fp(world, "bob"), o.head)]
    [rule] = data["rules"]
    assert (rule["approved_by"], rule["missing"], rule["stale"]) == (["bob"], 0, [])
    assert rule["excluded_authors"] == ["alice", "erin"]


@pytest.mark.parametrize("name,pattern", ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_hostile_note_line_is_invalid(sc, name, pattern):
    o = sc("adversarial")
    data = o.check.json
    assert set(o.lines) == {a[0] for a in ADVERSARIAL}
    # the note's lines come back in order, after the valid approval that approve wrote first
    index = 1 + list(o.lines).index(name)
    got = data["approvals"][index]
    assert got["status"] == "invalid", got
    assert re.search(pattern, got["reason"]), got
    assert got["person"] is None or name == "wrong-tree", got  # a signature that does not count names nobody


def test_approval_signature_never_stands_in_for_a_commit_signature(sc):
    o = sc("approval_signature_as_commit_signature")
    data = ok_json(o.check, 1)
    commits = {c["id"]: c for c in data["commits"]}
    assert set(commits) == {o.c1, o.c2}
    assert (commits[o.c1]["status"], commits[o.c1]["trusted"], commits[o.c1]["signer"]) == ("trusted", True, "alice")
    assert (commits[o.c2]["status"], commits[o.c2]["trusted"], commits[o.c2]["signer"]) == ("bad-signature", False, None)
    assert APPROVAL_NAMESPACE in commits[o.c2]["reason"]
    # the approval itself is fine: only the untrusted commit fails the check
    assert data["rules"][0]["approved_by"] == ["bob"] and data["rules"][0]["missing"] == 0
