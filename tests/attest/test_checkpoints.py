"""Signed checkpoints (SPEC "Checkpoints"): attest, verify-attestation, and verify from a checkpoint.

A repository of commits signed by alice (ssh-keygen), a keyring that lists the
verifier "ci" (its own SSH key), and for each case a fresh copy of the
repository: a checkpoint that counts, and ones that must be ignored with their
reason while verification falls back to the whole history (tampered by one
byte, signed by a key no [[verifier]] holds, made under another keyring, on a
commit that is not an ancestor, made from another trust root).
"""

from __future__ import annotations

import base64
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf import json_format
from in_toto_attestation.v1.statement import Statement

from tests.fixtures.approvals import person_toml, toml_str, write_keyring_dir
from tests.fixtures.cli import CliResult, run_cli
from tests.fixtures.repo import GitRepo
from tests.fixtures.tools import SshKey

VSA_REF = "refs/notes/commitguard-vsa"


@dataclass
class World:
    root: Path
    repo: GitRepo
    ids: dict[str, str]
    keys: dict[str, SshKey]

    def keyring(self, name: str, *, verifiers: tuple[str, ...] = ("ci",), extra: str = "") -> Path:
        body = "version = 1\n\n[policy]\nforge = \"reject\"\n\n" + person_toml("alice", ssh=[self.keys["alice"]])
        for v in verifiers:
            body += f"\n[[verifier]]\nid = {toml_str(v)}\nssh = {toml_str(self.keys[v].pub_line)}\n"
        return write_keyring_dir(self.root / "keyrings" / name, body + extra)

    def copy(self, name: str) -> GitRepo:
        return self.repo.clone_to(self.root / "copies" / name, self.root)

    def cli(self, *args: str) -> CliResult:
        return run_cli([*args], scratch=self.root / "scratch")

    def attest(self, repo: GitRepo, rev: str, keyring: Path, key: str = "ci", *extra: str) -> CliResult:
        return self.cli("attest", rev, "--repo", str(repo.path), "--keyring", str(keyring), "--verifier", "ci",
                        "--ssh-key", str(self.keys[key].path), "--no-cache", "--format", "json", *extra)

    def verify(self, repo: GitRepo, keyring: Path, *extra: str) -> CliResult:
        res = self.cli("verify", "--repo", str(repo.path), "--keyring", str(keyring), "--no-cache", "--format", "json",
                       *extra)
        assert res.code in (0, 1), res.describe()
        return res


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    root = tmp_path_factory.mktemp("checkpoints")
    (root / "scratch").mkdir()
    keys = {n: SshKey.generate(root / "ssh", n, "ed25519") for n in ("alice", "ci", "mallory", "ci2")}
    repo = GitRepo(root / "repo", root)
    repo.git("remote", "add", "origin", "https://example.org/pkgs.git")
    ids = {f"c{i}": repo.commit(f"c{i}", {"f": f"{i}\n"}, signer=keys["alice"]) for i in range(6)}
    repo.git("checkout", "-q", "-b", "side", ids["c2"])
    ids["side"] = repo.commit("side", {"g": "side\n"}, signer=keys["alice"])
    repo.git("checkout", "-q", "main")
    return World(root, repo, ids, keys)


def _ids(res: CliResult) -> list[str]:
    return [c["id"] for c in res.json["commits"]]


def test_attest_then_verify_checks_only_what_lies_after(world):
    repo, kr = world.copy("good"), world.keyring("good")
    made = world.attest(repo, world.ids["c3"], kr)
    assert made.code == 0, made.describe()
    assert made.json["ok"] is True and made.json["stored"] == f"{VSA_REF} on {world.ids['c3']}"
    assert made.json["self_check"] == "signed by verifier ci, made under this keyring"
    res = world.verify(repo, kr)
    assert res.code == 0, res.describe()
    assert _ids(res) == [world.ids["c5"], world.ids["c4"]]
    assert res.json["checkpoint"] == {"commit": world.ids["c3"], "verifier": "ci"}
    assert "ignored" not in res.stderr
    # a keyring without [[verifier]]: the JSON is today's, the whole history checked
    plain = world.verify(repo, world.keyring("plain", verifiers=()))
    assert "checkpoint" not in plain.json and len(_ids(plain)) == 6


def test_the_summary_is_a_valid_slsa_vsa(world):
    repo, kr = world.copy("schema"), world.keyring("schema")
    made = world.attest(repo, "main", kr)
    envelope = made.json["envelope"]
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    parsed = Statement.copy_from_pb(json_format.ParseDict(statement, Statement([], "", {}).pb))
    parsed.validate()  # the in-toto bindings' own check
    assert statement["predicateType"] == "https://slsa.dev/verification_summary/v1"
    assert statement["subject"] == [{"uri": "https://example.org/pkgs.git", "digest": {"gitCommit": world.ids["c5"]}}]
    predicate = statement["predicate"]
    from commitguard import load_keyring

    assert predicate["policy"]["digest"] == {"sha256": load_keyring(kr).digest}
    assert predicate["verifier"] == {"id": "ci"}
    assert predicate["verificationResult"] == "PASSED"
    assert predicate["verifiedLevels"] == ["SLSA_SOURCE_LEVEL_1"]  # no explicit trust root, no review
    assert predicate["resourceUri"] == "git+https://example.org/pkgs.git@refs/heads/main"
    assert "trustRoot" not in predicate
    with_root = world.attest(repo, "main", kr, "ci", "--trust-root", world.ids["c1"])
    predicate = json.loads(base64.b64decode(with_root.json["envelope"]["payload"]))["predicate"]
    assert predicate["verifiedLevels"] == ["SLSA_SOURCE_LEVEL_1", "SLSA_SOURCE_LEVEL_2"]
    assert predicate["trustRoot"] == world.ids["c1"]


def test_attest_refuses_untrusted_history(world):
    repo, kr = world.copy("untrusted"), world.keyring("untrusted")
    repo.git("checkout", "-q", "main")
    unsigned = repo.commit("unsigned", {"f": "x\n"})
    res = world.attest(repo, unsigned, kr)
    assert res.code == 1, res.describe()
    assert res.json["ok"] is False and res.json["envelope"] is None
    assert "1 commit(s) not trusted: no summary was made" in res.stderr
    assert repo.git("notes", "--ref", VSA_REF, "list", check=False) == ""


def _ignored(world: World, name: str, prepare) -> CliResult:
    """Verify a copy whose only summary was made by ``prepare``; it must be ignored."""
    repo, kr = world.copy(name), world.keyring(name)
    reason_kr = prepare(repo, kr)
    res = world.verify(repo, reason_kr or kr)
    assert res.json["checkpoint"] is None
    assert len(_ids(res)) == 6, "verification falls back to the whole history"
    return res


def test_tampered_summary_is_ignored(world):
    def prepare(repo, kr):
        assert world.attest(repo, world.ids["c3"], kr).code == 0
        line = repo.git("notes", "--ref", VSA_REF, "show", world.ids["c3"])
        data = json.loads(line)
        payload = bytearray(base64.b64decode(data["payload"]))
        payload[payload.index(b"PASSED")] ^= 0x01  # one byte: "QASSED"
        data["payload"] = base64.b64encode(bytes(payload)).decode()
        repo.git("notes", "--ref", VSA_REF, "add", "-f", "-m", json.dumps(data), world.ids["c3"])

    res = _ignored(world, "tampered", prepare)
    assert f"warning: checkpoint on {world.ids['c3'][:12]} ignored: not signed by a listed [[verifier]]: " \
           "bad-signature" in res.stderr, res.stderr


def test_foreign_key_summary_is_ignored(world):
    def prepare(repo, kr):
        assert world.attest(repo, world.ids["c3"], kr, "mallory").code == 0

    res = _ignored(world, "foreign", prepare)
    assert f"checkpoint on {world.ids['c3'][:12]} ignored: not signed by a listed [[verifier]]: unknown-key" \
        in res.stderr, res.stderr


def test_other_keyring_summary_is_ignored(world):
    def prepare(repo, kr):
        other = world.keyring("foreign-keyring", verifiers=("ci", "ci2"))  # trusts another verifier too
        assert world.attest(repo, world.ids["c3"], other).code == 0
        return kr

    res = _ignored(world, "otherkeyring", prepare)
    assert f"checkpoint on {world.ids['c3'][:12]} ignored: was made under another keyring" in res.stderr, res.stderr


def test_non_ancestor_summary_is_ignored(world):
    def prepare(repo, kr):
        assert world.attest(repo, world.ids["side"], kr).code == 0

    res = _ignored(world, "side", prepare)
    assert f"checkpoint on {world.ids['side'][:12]} ignored: not an ancestor of what is checked" in res.stderr


def test_summary_from_another_trust_root_is_ignored(world):
    repo, kr = world.copy("root"), world.keyring("root")
    assert world.attest(repo, world.ids["c3"], kr, "ci", "--trust-root", world.ids["c1"]).code == 0
    res = world.verify(repo, kr)  # no trust root: the summary's history started at c1
    assert res.json["checkpoint"] is None and len(_ids(res)) == 6
    assert f"made from trust root {world.ids['c1'][:12]}, not the first commit" in res.stderr
    same = world.verify(repo, kr, "--trust-root", world.ids["c1"])
    assert same.json["checkpoint"] == {"commit": world.ids["c3"], "verifier": "ci"}


def test_newest_valid_checkpoint_wins(world):
    repo, kr = world.copy("newest"), world.keyring("newest")
    assert world.attest(repo, world.ids["c2"], kr).code == 0
    assert world.attest(repo, world.ids["c4"], kr).code == 0
    res = world.verify(repo, kr)
    assert res.json["checkpoint"]["commit"] == world.ids["c4"] and _ids(res) == [world.ids["c5"]]


def test_verify_attestation_of_a_revision_and_a_file(world, tmp_path):
    repo, kr = world.copy("va"), world.keyring("va")
    made = world.attest(repo, world.ids["c4"], kr, "ci", "--no-store")
    assert made.code == 0 and made.json["stored"] is None
    file = tmp_path / "vsa.jsonl"
    file.write_text(json.dumps(made.json["envelope"]) + "\n")
    res = world.cli("verify-attestation", str(file), "--repo", str(repo.path), "--keyring", str(kr), "--format", "json")
    assert res.code == 0, res.describe()
    (check,) = res.json["attestations"]
    assert (check["valid"], check["commit"], check["verifier"]) == (True, world.ids["c4"], "ci")
    # nothing stored on the revision yet
    res = world.cli("verify-attestation", world.ids["c4"], "--repo", str(repo.path), "--keyring", str(kr))
    assert res.code == 1 and "no verification summary" in res.stdout
    repo.git("notes", "--ref", VSA_REF, "add", "-m", json.dumps(made.json["envelope"]), world.ids["c4"])
    res = world.cli("verify-attestation", world.ids["c4"], "--repo", str(repo.path), "--keyring", str(kr))
    assert res.code == 0 and res.stdout.startswith(f"valid    {world.ids['c4'][:12]}  signed by verifier ci")
    # the same summary, asked of another revision (a note copied onto it): about another commit
    repo.git("notes", "--ref", VSA_REF, "add", "-m", json.dumps(made.json["envelope"]), world.ids["c5"])
    res = world.cli("verify-attestation", world.ids["c5"], "--repo", str(repo.path), "--keyring", str(kr))
    assert res.code == 1 and f"is about commit {world.ids['c4'][:12]}, not {world.ids['c5'][:12]}" in res.stdout
    # a keyring without verifiers checks nothing
    res = world.cli("verify-attestation", str(file), "--repo", str(repo.path), "--keyring",
                    str(world.keyring("none", verifiers=())))
    assert res.code == 1 and "lists no [[verifier]]" in res.stdout


def test_annotate_starts_from_the_checkpoint(world):
    repo, kr = world.copy("chain"), world.keyring("chain")
    assert world.attest(repo, world.ids["c3"], kr).code == 0
    res = world.cli("annotate", "--repo", str(repo.path), "--keyring", str(kr), "--format", "json", "--no-cache")
    assert res.json["checkpoint"] == {"commit": world.ids["c3"], "verifier": "ci"}
    assert res.json["trust_root"] == world.ids["c3"]


def test_verifier_keys_vouch_for_no_commit(world):
    """A commit signed with the verifier's key is not trusted: [[verifier]] keys sign summaries only."""
    repo, kr = world.copy("verifier-commit"), world.keyring("verifier-commit")
    repo.git("checkout", "-q", "main")
    commit = repo.commit("by the CI key", {"f": "ci\n"}, signer=world.keys["ci"])
    res = world.verify(repo, kr)
    by_id = {c["id"]: c for c in res.json["commits"]}
    assert by_id[commit]["trusted"] is False and by_id[commit]["status"] == "unknown-key"


def test_verifier_table_is_checked(world):
    bad = world.keyring("bad-verifier", verifiers=()) / "keyring.toml"
    bad.write_text(bad.read_text() + '\n[[verifier]]\nid = "ci"\n')
    res = world.cli("keyring", "check", "--keyring", str(bad.parent))
    assert res.code == 2
    assert res.stderr.strip() == (f"commitguard: error: {bad}: verifier[0]: a verifier needs a key "
                                  "(openpgp = FILE, ssh = LINE or sigstore = {identity, issuer})")


def test_check_pr_in_a_shallow_clone_since_the_checkpoint(world, tmp_path):
    """The pre-merge check needs history down to the trust root; a checkpoint below the base
    stands for it, so a clone of only what lies after the checkpoint is enough."""
    rule = '\n[[rule]]\npaths = ["**"]\napprovals = 1\napprovers = ["alice"]\n'
    origin, kr = world.copy("shallow-origin"), world.keyring("shallow", extra=rule)
    assert world.attest(origin, world.ids["c3"], kr, "ci", "--trust-root", world.ids["c0"]).code == 0
    clone = tmp_path / "clone"
    origin.git("clone", "-q", "--depth", "3", "--no-local", f"file://{origin.path}", str(clone))
    shallow = GitRepo(clone, world.root, init=False)
    shallow.git("fetch", "-q", "origin", f"+{VSA_REF}:{VSA_REF}")
    assert shallow.git("rev-list", "--count", "HEAD") == "3"  # c5, c4, c3
    args = ("check-pr", "--repo", str(clone), "--base", world.ids["c4"], "--head", world.ids["c5"], "--trust-root",
            world.ids["c0"], "--format", "json", "--no-cache")
    res = world.cli(*args, "--keyring", str(kr))
    assert res.code == 1, res.describe()  # checked: alice's commit, no approval yet
    assert res.json["checkpoint"] == {"commit": world.ids["c3"], "verifier": "ci"}
    assert [c["trusted"] for c in res.json["commits"]] == [True]
    without = world.cli(*args, "--keyring", str(world.keyring("shallow-plain", verifiers=(), extra=rule)))
    assert without.code == 2, without.describe()  # the trust root is not in the clone: refused, not passed
