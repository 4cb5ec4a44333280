"""What vouches for each commit in ``verify``: its own signature, or a signed audit (SPEC "Trust through review").

One repository, built with git and ssh-keygen, holds signed, unsigned,
forge-signed and audited commits, and audits that must not count: by the
commit's author, by a key the keyring does not list, naming another commit,
of a range rather than of the commit, by a person the path rules do not let
approve. Each commit's ``trusted`` and ``vouch`` are checked exactly under
``accept = ["signature"]``, ``["signature", "audit"]`` and ``["audit"]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from commitguard.model.verdicts import CommitVerdict, SignatureInfo, Status, Vouch
from commitguard.review.vouching import AnyOf, Refusal, SignatureKind, audit_reason
from tests.fixtures.approvals import (REPOSITORY, hand_approval, hand_sign, make_statement, person_toml, rule_toml,
                                      toml_str, write_keyring_dir)
from tests.fixtures.cli import run_cli
from tests.fixtures.repo import GitRepo
from tests.fixtures.tools import SshKey


@dataclass
class Audited:
    repo: GitRepo
    ids: dict[str, str]
    keys: dict[str, SshKey]
    root: Path

    def keyring(self, name: str, accept: list[str] | None, rules: str = "") -> Path:
        policy = 'forge = "accept"\n' + (f"accept = {toml_str(accept)}\n" if accept is not None else "")
        s = self.keys
        body = "\n".join([
            f"version = 1\n\n[policy]\n{policy}\n[[forge]]\nid = \"examplehub\"\nssh = {toml_str(s['forge'].pub_line)}\n",
            person_toml("alice", roles=["committer"], ssh=[s["alice"]]),
            person_toml("bob", roles=["committer"], ssh=[s["bob"]]),
            person_toml("carol", ssh=[s["carol"]]),
        ]) + "\n" + rules
        return write_keyring_dir(self.root / "keyrings" / name, body)

    def verify(self, keyring: Path, *extra: str) -> tuple[int, dict[str, dict]]:
        res = run_cli(["verify", "--repo", str(self.repo.path), "--keyring", str(keyring), "--format", "json",
                       "--no-cache", *extra, "HEAD"], scratch=self.root / "scratch")
        assert res.code in (0, 1), res.describe()
        by_id = {c["id"]: c for c in res.json["commits"]}
        return res.code, {name: by_id[commit] for name, commit in self.ids.items()}


@pytest.fixture(scope="module")
def audited(tmp_path_factory) -> Audited:
    root = tmp_path_factory.mktemp("vouching")
    (root / "scratch").mkdir()
    keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "bob", "carol", "mallory", "forge")}
    repo = GitRepo(root / "repo", root)
    repo.git("remote", "add", "origin", "https://example.org/nixpkgs.git")  # the name approvals carry
    ids: dict[str, str] = {}
    ids["signed"] = repo.commit("README", {"README.md": "# packages\n"}, signer=keys["alice"])
    ids["audited"] = repo.commit("pkgs: add a", {"pkgs/a/default.nix": "{ }\n"})
    ids["forge"] = repo.commit("pkgs: add f (web editor)", {"pkgs/f/default.nix": "{ }\n"}, signer=keys["forge"])
    repo.env["GIT_AUTHOR_EMAIL"] = "bob@example.org"
    ids["self_audit"] = repo.commit("pkgs: add b, by bob", {"pkgs/b/default.nix": "{ }\n"})
    repo.env["GIT_AUTHOR_EMAIL"] = "author@example.org"
    ids["stranger_audit"] = repo.commit("pkgs: add c", {"pkgs/c/default.nix": "{ }\n"})
    ids["other_commit"] = repo.commit("pkgs: add d", {"pkgs/d/default.nix": "{ }\n"})
    ids["range_review"] = repo.commit("pkgs: add e", {"pkgs/e/default.nix": "{ }\n"})
    ids["carol_audit"] = repo.commit("pkgs: add g", {"pkgs/g/default.nix": "{ }\n"})
    ids["unsigned"] = repo.commit("docs: more", {"README.md": "# packages\n\nMore.\n"})
    ids["signed_and_audited"] = repo.commit("pkgs: add h", {"pkgs/h/default.nix": "{ }\n"}, signer=keys["alice"])

    def parent(name: str) -> str:
        return repo.rev(f"{ids[name]}^")

    for name in ("audited", "self_audit", "signed_and_audited"):
        hand_approval(repo, keys["bob"], ids[name], parent(name))
    hand_approval(repo, keys["mallory"], ids["stranger_audit"], parent("stranger_audit"))
    # bob's audit of "audited", stored on another commit's note: it names "audited", not this one
    misplaced = hand_sign(make_statement(ids["audited"], parent("audited"), repo.tree(ids["audited"])), keys["bob"])
    repo.add_note_lines(ids["other_commit"], [misplaced])
    # bob approves the range signed..range_review: a review, not an audit of range_review
    hand_approval(repo, keys["bob"], ids["range_review"], ids["signed"])
    hand_approval(repo, keys["carol"], ids["carol_audit"], parent("carol_audit"))
    return Audited(repo, ids, keys, root)


def _vouch(kind: str, by: list[str], reason: str) -> dict:
    return {"kind": kind, "by": by, "reason": reason}


def _signature(commit: dict) -> dict:
    return _vouch("signature", [commit["signer"]], commit["reason"])


def _audit(audited: Audited, name: str, by: list[str]) -> dict:
    return _vouch("audit", by, audit_reason(audited.ids[name], by))


def _expect(got: dict[str, dict], expected: dict[str, dict | None]) -> None:
    assert {n: (c["trusted"], c["vouch"]) for n, c in got.items()} == {
        n: (v is not None, v) for n, v in expected.items()
    }
    for commit in got.values():
        assert list(commit)[-1] == "vouch"


def test_signature_only(audited):
    code, got = audited.verify(audited.keyring("signature-only", ["signature"]))
    assert code == 1
    assert got["forge"]["status"] == "forge" and got["forge"]["signer"] == "examplehub"
    signed = {n: _signature(got[n]) for n in ("signed", "forge", "signed_and_audited")}
    _expect(got, {n: signed.get(n) for n in audited.ids})
    assert got["audited"]["status"] == "unsigned" and got["audited"]["reason"] == "commit is not signed"


def test_default_policy_is_signature_only(audited):
    _, default = audited.verify(audited.keyring("default", None))
    _, explicit = audited.verify(audited.keyring("explicit", ["signature"]))
    assert default == explicit


def test_signature_and_audit(audited):
    code, got = audited.verify(audited.keyring("audit", ["signature", "audit"]))
    assert code == 1
    expected = {n: None for n in audited.ids}
    expected.update({n: _signature(got[n]) for n in ("signed", "forge", "signed_and_audited")})
    expected["audited"] = _audit(audited, "audited", ["bob"])
    expected["carol_audit"] = _audit(audited, "carol_audit", ["carol"])
    _expect(got, expected)
    assert expected["audited"]["reason"] == (
        f"audited by bob (signed approval of {audited.ids['audited'][:12]} against its first parent)")
    # status stays the signature's own
    assert got["audited"]["status"] == "unsigned" and got["audited"]["signer"] is None


def test_audits_that_do_not_count_are_reported(audited):
    res = run_cli(["verify", "--repo", str(audited.repo.path), "--keyring",
                   str(audited.keyring("audit-warn", ["signature", "audit"])), "--format", "json", "--no-cache", "HEAD"],
                  scratch=audited.root / "scratch")
    warnings = "\n".join(res.json["warnings"])
    ids = audited.ids
    assert f"commit {ids['self_audit'][:12]}: " in warnings and f"bob wrote {ids['self_audit'][:12]}" in warnings
    assert f"commit {ids['stranger_audit'][:12]}: " in warnings and "not in the keyring" in warnings
    assert f"commit {ids['other_commit'][:12]}: " in warnings and "approves another change" in warnings
    assert f"commit {ids['range_review'][:12]}: " in warnings
    assert ids["unsigned"][:12] not in warnings  # nothing was stored for it: nothing to say


def test_rules_decide_who_may_audit(audited):
    """carol is no committer: under a rule that lets only committers approve pkgs/**, her audit does not count."""
    rules = rule_toml(["pkgs/**"], ["role:committer"]) + "\n" + rule_toml(["*.md"], ["role:committer"])
    _, got = audited.verify(audited.keyring("audit-rules", ["signature", "audit"], rules))
    assert got["carol_audit"]["vouch"] is None and got["carol_audit"]["trusted"] is False
    assert got["audited"]["vouch"] == _audit(audited, "audited", ["bob"])


def test_a_rule_that_names_nobody_lets_nobody_audit(audited):
    """pkgs/** approved by the packages' maintainers, and these packages name none: no audit of them counts."""
    rules = rule_toml(["pkgs/**"], ["maintainers"])
    _, got = audited.verify(audited.keyring("audit-maintainers", ["signature", "audit"], rules))
    assert got["audited"]["vouch"] is None and got["carol_audit"]["vouch"] is None
    assert got["signed"]["vouch"] == _signature(got["signed"])


def test_audit_only_policy(audited):
    """accept = ["audit"]: a signature alone vouches for nothing, and the reason says so."""
    _, got = audited.verify(audited.keyring("audit-only", ["audit"]))
    assert got["signed"]["trusted"] is False and got["signed"]["vouch"] is None
    assert got["signed"]["status"] == "trusted"
    assert got["signed"]["reason"].endswith('(not trusted: policy.accept does not list "signature")')
    assert got["audited"]["vouch"] == _audit(audited, "audited", ["bob"])
    assert got["signed_and_audited"]["vouch"] == _audit(audited, "signed_and_audited", ["bob"])


def test_text_says_what_vouched(audited):
    keyring = audited.keyring("audit-text", ["signature", "audit"])
    short = audited.ids["audited"][:12]
    res = run_cli(["verify", "--repo", str(audited.repo.path), "--keyring", str(keyring), "--format", "text",
                   "--no-cache", "HEAD"], scratch=audited.root / "scratch")
    assert res.code == 1, res.describe()
    lines = res.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {short}  unsigned"))
    assert lines[at + 1].strip() == (f"vouched by audit by bob: audited by bob (signed approval of {short} "
                                     "against its first parent)"), res.describe()
    assert "2 commit(s) trusted without their own signature:" in res.stdout  # bob's and carol's audits
    plain = run_cli(["verify", "--repo", str(audited.repo.path), "--keyring",
                     str(audited.keyring("plain-text", ["signature"])), "--format", "text", "--no-cache", "HEAD"],
                    scratch=audited.root / "scratch")
    assert "vouched by" not in plain.stdout  # a signature is the status itself: nothing more to say


def test_cache_never_serves_another_policys_vouch(audited, tmp_path):
    cache = tmp_path / "cache"
    plain = audited.keyring("cache-plain", ["signature"])
    with_audit = audited.keyring("cache-audit", ["signature", "audit"])
    for keyring, expected in ((plain, None), (with_audit, _audit(audited, "audited", ["bob"])), (plain, None)):
        res = run_cli(["verify", "--repo", str(audited.repo.path), "--keyring", str(keyring), "--format", "json",
                       "--cache", str(cache), "HEAD"], scratch=audited.root / "scratch")
        got = {c["id"]: c for c in res.json["commits"]}
        assert got[audited.ids["audited"]]["vouch"] == expected


def test_any_of_refuses_to_be_empty():
    with pytest.raises(ValueError, match="at least one kind"):
        AnyOf([])


def test_signature_kind_reads_the_verdict():
    vouch = Vouch("signature", ("alice",), "signed by alice")
    trusted = CommitVerdict("a" * 40, Status.TRUSTED, True, SignatureInfo(None), "alice", "signed by alice", vouch=vouch)
    assert SignatureKind().vouch(trusted) is vouch
    unsigned = CommitVerdict("b" * 40, Status.UNSIGNED, False, SignatureInfo(None), None, "commit is not signed")
    assert SignatureKind().vouch(unsigned) == Refusal("signature", "commit is not signed")
    answer = AnyOf([SignatureKind()]).vouch(unsigned)
    assert answer == Refusal("any-of", "signature: commit is not signed")


def test_commit_verdict_json_round_trip():
    vouch = Vouch("audit", ("bob",), "audited by bob")
    verdict = CommitVerdict("c" * 40, Status.UNSIGNED, True, SignatureInfo(None), None, "commit is not signed",
                            vouch=vouch)
    data = verdict.to_json()
    assert list(data) == ["id", "status", "trusted", "signature", "signer", "reason", "vouch"]
    assert data["vouch"] == {"kind": "audit", "by": ["bob"], "reason": "audited by bob"}
    assert CommitVerdict.from_json(data) == verdict
    assert CommitVerdict.from_json({**data, "vouch": None}).vouch is None


def _check_report(vouch: Vouch | None):
    from commitguard.review.check_pr import CheckReport, PullRequest

    commit = CommitVerdict("d" * 40, Status.UNSIGNED, vouch is not None, SignatureInfo(None), None,
                           "commit is not signed", "pkgs: add a", vouch)
    return CheckReport(PullRequest("a" * 40, "d" * 40, REPOSITORY), (commit,), ("pkgs/a/default.nix",), (), (), (), (),
                       "kr")


def test_check_pr_formats_say_what_vouched():
    """check-pr's commits carry vouches too: markdown, SARIF and text name one that is not the signature."""
    from commitguard.output.markdown import MarkdownFormatter
    from commitguard.output.sarif import SarifFormatter
    from commitguard.output.text import TextFormatter

    audit = Vouch("audit", ("bob",), audit_reason("d" * 40, ["bob"]))
    vouched, plain = _check_report(audit), _check_report(None)
    assert "vouched by audit by bob: audited by bob" in MarkdownFormatter().check_pr(vouched)
    assert "vouched by" not in MarkdownFormatter().check_pr(plain)
    sarif = json.loads(SarifFormatter().check_pr(vouched))["runs"][0]
    assert sarif["properties"]["vouched"] == [{"commit": "d" * 40, "vouched_by": "audit by bob",
                                               "reason": audit.reason}]
    assert sarif["results"] == []
    assert "vouched" not in json.loads(SarifFormatter().check_pr(plain))["runs"][0]["properties"]
    assert "vouched by audit by bob" in TextFormatter().check_pr(vouched)
    assert json.loads(json.dumps(vouched.to_json()))["commits"][0]["vouch"] == audit.to_json()
