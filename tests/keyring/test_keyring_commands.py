"""``commitguard keyring check|show|diff|import`` as a user runs them.

Keys come from ssh-keygen and gpg in temporary directories; keyrings are
written by hand (``write_keyring``), never by commitguard's own writer, so
these tests check the commands against what the tools say about the keys.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_git import Gpg, Raw, Repo, SshKey, run_cli, write_keyring

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "gpg", "ssh-keygen")), reason="needs git, gpg and ssh-keygen"
)


@dataclass
class Pgp:
    primary: str
    signing: list[str]
    cert: Path

    @property
    def display(self) -> str:
        return f"openpgp {self.primary}"


def ssh_display(key: SshKey) -> str:
    return f"{key.type} {key.fingerprint}"


@dataclass
class Keys:
    root: Path
    gpg: Gpg
    ssh: dict[str, SshKey]
    pgp: dict[str, Pgp]


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    root = tmp_path_factory.mktemp("keyring-commands")
    gpg = Gpg(root / "gnupg", root)
    certs = root / "certs"
    ssh_dir = root / "ssh"
    ssh = {name: SshKey.generate(ssh_dir, name, "ed25519")
           for name in ("alice", "alice_new", "bob", "carol", "dan", "eve", "olga", "olga_old", "ronny", "sam",
                        "rev", "ursula")}
    ssh["dsa"] = SshKey.generate(ssh_dir, "dsa", "dsa")
    ssh["rsa1024"] = SshKey.generate(ssh_dir, "rsa1024", "rsa", 1024)

    pgp: dict[str, Pgp] = {}
    # alice: certification-only primary, one signing subkey; a second signing
    # subkey is added later, exported as alice-2.asc (an updated certificate)
    a = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
    a_sub = gpg.add_subkey(a, "ed25519", "sign")
    pgp["alice"] = Pgp(a, [a_sub], gpg.export(a, certs / "alice.asc"))
    a_sub2 = gpg.add_subkey(a, "ed25519", "sign")
    pgp["alice2"] = Pgp(a, [a_sub, a_sub2], gpg.export(a, certs / "alice-2.asc"))
    # erin: her only signing subkey was made in 2019 (faked time) to expire a day later
    e = gpg.gen_key("Erin Expiring <erin@example.org>", "ed25519", "cert")
    e_sub = gpg.add_subkey(e, "ed25519", "sign", expire="1d")
    pgp["erin"] = Pgp(e, [e_sub], gpg.export(e, certs / "erin.asc"))
    # rita: exported before and after importing her stored revocation certificate
    r = gpg.gen_key("Rita Revoked <rita@example.org>", "ed25519", "sign")
    pgp["rita_before"] = Pgp(r, [r], gpg.export(r, certs / "rita-before.asc"))
    gpg.revoke_with_stored_certificate(r)
    pgp["rita"] = Pgp(r, [r], gpg.export(r, certs / "rita.asc"))
    # nora: a primary that may only certify, and no subkey: nothing can sign
    n = gpg.gen_key("Nora Nosign <nora@example.org>", "ed25519", "cert")
    pgp["nora"] = Pgp(n, [], gpg.export(n, certs / "nora.asc"))
    d = gpg.gen_key("Dave DSA <dave@example.org>", "dsa2048", "sign")
    pgp["dave"] = Pgp(d, [d], gpg.export(d, certs / "dave.asc"))
    f = gpg.gen_key("ExampleHub <noreply@examplehub.test>", "ed25519", "sign")
    pgp["forge"] = Pgp(f, [f], gpg.export(f, certs / "forge.asc"))
    return Keys(root, gpg, ssh, pgp)


def keyring_cmd(*args, scratch: Path, env: dict | None = None, cwd: Path | None = None):
    return run_cli(["keyring", *map(str, args)], scratch=scratch, env=env, cwd=cwd)


def assert_exit_2(res, *needles: str) -> str:
    assert res.code == 2, res.describe()
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr:\n{res.describe()}"
    for needle in needles:
        assert needle.lower() in lines[0].lower(), f"stderr should name {needle!r}:\n{res.describe()}"
    assert res.stdout == "", res.describe()
    return lines[0]


RULE_COMMITTERS = '[[rule]]\npaths = ["pkgs/**"]\napprovals = 1\napprovers = ["role:committer"]\n'


# -- check --------------------------------------------------------------------------------


def check_cases(k: Keys) -> dict[str, tuple[dict, list[tuple], int]]:
    """name -> (keyring, [(severity, code, scope, id, key)], exit code)."""
    s, p = k.ssh, k.pgp
    alice = {"id": "alice", "name": "Alice Example", "roles": ["committer"],
             "keys": [{"ssh": s["alice"].pub_line}, {"openpgp": p["alice"].cert}]}
    forge = {"id": "examplehub", "openpgp": p["forge"].cert}
    return {
        "clean": (dict(persons=[alice, {"id": "bob", "keys": [{"ssh": s["bob"].pub_line}]}], forges=[forge],
                       extra=RULE_COMMITTERS), [], 0),
        "weak_ssh": (dict(persons=[alice, {"id": "walter", "keys": [{"ssh": s["dsa"].pub_line},
                                                                    {"ssh": s["rsa1024"].pub_line}]}]),
                     [("error", "weak-key", "person", "walter", ssh_display(s["dsa"])),
                      ("error", "weak-key", "person", "walter", ssh_display(s["rsa1024"])),
                      ("error", "no-usable-key", "person", "walter", None)], 1),
        "weak_openpgp": (dict(persons=[alice, {"id": "dave", "keys": [{"openpgp": p["dave"].cert}]}]),
                         [("error", "weak-key", "person", "dave", p["dave"].display),
                          ("error", "no-usable-key", "person", "dave", None)], 1),
        "weak_but_revoked_flag_is_a_warning": (
            dict(persons=[{"id": "walter", "keys": [{"ssh": s["rsa1024"].pub_line, "revoked": True},
                                                    {"ssh": s["olga"].pub_line}]}]),
            [("warning", "revoked", "person", "walter", ssh_display(s["rsa1024"])),
             ("warning", "weak-key", "person", "walter", ssh_display(s["rsa1024"]))], 0),
        "expired_openpgp_only_key": (dict(persons=[alice, {"id": "erin", "keys": [{"openpgp": p["erin"].cert}]}]),
                                     [("warning", "expired", "person", "erin", p["erin"].display),
                                      ("error", "no-usable-key", "person", "erin", None)], 1),
        "expired_openpgp_with_another_key": (
            dict(persons=[{"id": "erin", "keys": [{"openpgp": p["erin"].cert}, {"ssh": s["olga"].pub_line}]}]),
            [("warning", "expired", "person", "erin", p["erin"].display)], 0),
        "expired_under_policy_ignore": (
            dict(persons=[{"id": "erin", "keys": [{"openpgp": p["erin"].cert}]}],
                 policy={"openpgp_expiry": "ignore"}),
            [("warning", "expired-ignored", "person", "erin", p["erin"].display)], 0),
        "revoked_in_certificate": (dict(persons=[alice, {"id": "rita", "keys": [{"openpgp": p["rita"].cert}]}]),
                                   [("warning", "revoked-in-certificate", "person", "rita", p["rita"].display),
                                    ("error", "no-usable-key", "person", "rita", None)], 1),
        "revoked_flag": (dict(persons=[alice, {"id": "ronny", "keys": [{"ssh": s["ronny"].pub_line, "revoked": True}]}]),
                         [("warning", "revoked", "person", "ronny", ssh_display(s["ronny"])),
                          ("error", "no-usable-key", "person", "ronny", None)], 1),
        "no_signing_key": (dict(persons=[alice, {"id": "nora", "keys": [{"openpgp": p["nora"].cert}]}]),
                           [("error", "no-signing-key", "person", "nora", p["nora"].display),
                            ("error", "no-usable-key", "person", "nora", None)], 1),
        "valid_before_past": (
            dict(persons=[{"id": "olga", "keys": [
                {"ssh": s["olga_old"].pub_line, "valid_before": Raw("2020-01-01T00:00:00Z")},
                {"ssh": s["olga"].pub_line, "valid_after": Raw("2020-01-01T00:00:00Z")}]}]),
            [("warning", "validity-ended", "person", "olga", ssh_display(s["olga_old"]))], 0),
        "valid_after_future": (
            dict(persons=[alice, {"id": "olga", "keys": [
                {"ssh": s["olga"].pub_line, "valid_after": Raw("2999-01-01T00:00:00Z")}]}]),
            [("warning", "not-yet-valid", "person", "olga", ssh_display(s["olga"])),
             ("error", "no-usable-key", "person", "olga", None)], 1),
        "pins_only": (dict(persons=[alice, {"id": "pia", "keys": [{"fingerprint": p["dave"].primary}]}]),
                      [("warning", "pin-without-certificate", "person", "pia", p["dave"].display),
                       ("error", "no-usable-key", "person", "pia", None)], 1),
        "no_keys": (dict(persons=[alice, {"id": "nobody", "name": "No Keys"}]),
                    [("error", "no-usable-key", "person", "nobody", None)], 1),
        "namespaces": (
            dict(persons=[alice,
                          {"id": "sam", "keys": [{"ssh": s["sam"].pub_line, "namespaces": ["file"]}]},
                          {"id": "rev", "keys": [{"ssh": s["rev"].pub_line, "namespaces": ["commitguard-approval"]}]}]),
            [("warning", "namespace-excludes-git", "person", "sam", ssh_display(s["sam"])),
             ("error", "no-usable-key", "person", "sam", None),
             ("warning", "namespace-excludes-git", "person", "rev", ssh_display(s["rev"]))], 1),
        "forge_accept": (dict(persons=[alice], forges=[forge], policy={"forge": "accept"}),
                         [("warning", "policy-forge-accept", "policy", "policy.forge", None)], 0),
        "sha1_accept": (dict(persons=[alice], policy={"openpgp_sha1": "accept"}),
                        [("warning", "policy-sha1-accept", "policy", "policy.openpgp_sha1", None)], 0),
        "forge_without_usable_key_accepted": (
            dict(persons=[alice], forges=[{**forge, "revoked": True}], policy={"forge": "accept"}),
            [("warning", "policy-forge-accept", "policy", "policy.forge", None),
             ("warning", "revoked", "forge", "examplehub", p["forge"].display),
             ("error", "no-usable-key", "forge", "examplehub", None)], 1),
        "forge_without_usable_key_rejected": (
            dict(persons=[alice], forges=[{**forge, "revoked": True}]),
            [("warning", "revoked", "forge", "examplehub", p["forge"].display),
             ("warning", "no-usable-key", "forge", "examplehub", None)], 0),
        "forge_key_scoped_to_approvals": (
            dict(persons=[alice], policy={"forge": "accept"}, extra=(
                f'[[forge]]\nid = "examplehub"\n\n[[forge.key]]\nssh = "{s["sam"].pub_line}"\n'
                'namespaces = ["commitguard-approval"]\n')),
            [("warning", "policy-forge-accept", "policy", "policy.forge", None),
             ("warning", "namespace-excludes-git", "forge", "examplehub", ssh_display(s["sam"])),
             ("error", "no-usable-key", "forge", "examplehub", None)], 1),
        "rules": (
            dict(persons=[alice], forges=[forge], extra=(
                '[[rule]]\npaths = ["pkgs/**"]\napprovers = ["role:ghost", "zed", "examplehub"]\n\n'
                '[[rule]]\npaths = ["lib/**"]\napprovals = 2\napprovers = ["role:committer", "alice"]\n\n'
                '[[rule]]\npaths = ["doc/**"]\napprovals = 3\napprovers = ["maintainers"]\n')),
            [("error", "unknown-role", "rule", "rule[0]", None),
             ("error", "unknown-approver", "rule", "rule[0]", None),
             ("error", "unknown-approver", "rule", "rule[0]", None),
             ("error", "rule-unsatisfiable", "rule", "rule[0]", None),
             ("error", "rule-unsatisfiable", "rule", "rule[1]", None)], 1),
        "no_persons": (dict(persons=[]), [("error", "no-persons", "keyring", None, None)], 1),
    }


CHECK_CASES = [
    "clean", "weak_ssh", "weak_openpgp", "weak_but_revoked_flag_is_a_warning", "expired_openpgp_only_key",
    "expired_openpgp_with_another_key", "expired_under_policy_ignore", "revoked_in_certificate", "revoked_flag",
    "no_signing_key", "valid_before_past", "valid_after_future", "pins_only", "no_keys", "namespaces",
    "forge_accept", "sha1_accept", "forge_without_usable_key_accepted", "forge_without_usable_key_rejected",
    "forge_key_scoped_to_approvals", "rules", "no_persons",
]


@pytest.mark.parametrize("case", CHECK_CASES)
def test_check_findings(keys, tmp_path, case):
    spec, expected, code = check_cases(keys)[case]
    kr = write_keyring(tmp_path / "kr", **spec)
    res = keyring_cmd("check", "--keyring", kr, "--format", "json", scratch=tmp_path)
    assert res.code == code, res.describe()
    data = res.json
    assert data["ok"] is (code == 0)
    found = [(f["severity"], f["code"], f["scope"], f["id"], f["key"]) for f in data["findings"]]
    assert found == expected, res.describe()
    for f in data["findings"]:
        assert set(f) == {"severity", "code", "scope", "id", "key", "where", "message"}
        assert f["message"]
    assert data["summary"] == {"errors": sum(e[0] == "error" for e in expected),
                               "warnings": sum(e[0] == "warning" for e in expected)}


def test_check_messages_name_the_cause(keys, tmp_path):
    spec, _, _ = check_cases(keys)["rules"]
    data = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr", **spec), "--format", "json",
                       scratch=tmp_path).json
    messages = [(f["where"], f["message"]) for f in data["findings"]]
    assert messages[0] == ("rule[0].approvers", "approver 'role:ghost': no person has role 'ghost'")
    assert messages[1] == ("rule[0].approvers", "approver 'zed' is not a person in the keyring")
    assert "forge" in messages[2][1] and "examplehub" in messages[2][1]
    assert messages[4][0] == "rule[1].approvals" and "needs 2 approval(s)" in messages[4][1]

    spec, _, _ = check_cases(keys)["expired_openpgp_only_key"]
    data = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr2", **spec), "--format", "json",
                       scratch=tmp_path).json
    assert "2019-01-02T00:00:00Z" in data["findings"][0]["message"]
    assert data["findings"][0]["where"] == "person[1].key[0]"

    spec, _, _ = check_cases(keys)["pins_only"]
    data = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr3", **spec), "--format", "json",
                       scratch=tmp_path).json
    assert "only fingerprint pins" in data["findings"][1]["message"]


def test_check_text(keys, tmp_path):
    spec, _, _ = check_cases(keys)["weak_ssh"]
    res = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr", **spec), scratch=tmp_path)
    assert res.code == 1, res.describe()
    assert keys.ssh["dsa"].fingerprint in res.stdout
    assert "DSA keys are rejected as weak" in res.stdout
    assert "result: 3 error(s), 0 warning(s)" in res.stdout

    spec, _, _ = check_cases(keys)["namespaces"]
    res = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr2", **spec), scratch=tmp_path)
    assert "namespaces = [file]" in res.stdout  # not eaten as markup

    spec, _, _ = check_cases(keys)["clean"]
    res = keyring_cmd("check", "--keyring", write_keyring(tmp_path / "kr3", **spec), scratch=tmp_path)
    assert res.code == 0 and "result: keyring OK" in res.stdout, res.describe()


def test_check_keyring_from_environment_and_repository(keys, tmp_path):
    spec, _, _ = check_cases(keys)["weak_ssh"]
    kr = write_keyring(tmp_path / "kr", **spec)
    res = keyring_cmd("check", "--format", "json", scratch=tmp_path, env={"COMMITGUARD_KEYRING": str(kr)})
    assert res.code == 1 and len(res.json["findings"]) == 3, res.describe()

    repo = Repo(tmp_path / "repo", tmp_path)
    spec, _, _ = check_cases(keys)["clean"]
    write_keyring(repo.path / ".commitguard" / "keyring", **spec)
    res = keyring_cmd("check", "--repo", repo.path, "--format", "json", scratch=tmp_path)
    assert res.code == 0 and res.json == {"ok": True, "findings": [], "summary": {"errors": 0, "warnings": 0}}
    # an explicit --keyring wins over the repository's own
    res = keyring_cmd("check", "--repo", repo.path, "--keyring", kr, "--format", "json", scratch=tmp_path)
    assert res.code == 1, res.describe()


# -- show -----------------------------------------------------------------------------------


def test_show_json(keys, tmp_path):
    s, p = keys.ssh, keys.pgp
    kr = write_keyring(tmp_path / "kr", persons=[
        {"id": "alice", "name": "Alice Example", "emails": ["alice@example.org"], "github": "alice",
         "roles": ["committer", "admin"],
         "keys": [{"ssh": s["alice"].pub_line, "valid_after": Raw("2024-01-01T00:00:00Z"),
                   "valid_before": Raw("2030-01-01T00:00:00Z"), "namespaces": ["git", "commitguard-approval"],
                   "source": "https://github.com/alice.keys", "obtained": Raw("2025-02-03T04:05:06Z")},
                  {"openpgp": p["alice2"].cert}]},
        {"id": "erin", "keys": [{"openpgp": p["erin"].cert}]},
        {"id": "rita", "keys": [{"openpgp": p["rita"].cert}]},
        {"id": "ronny", "keys": [{"ssh": s["ronny"].pub_line, "revoked": True}]},
        {"id": "pia", "keys": [{"fingerprint": p["dave"].primary.lower()}]},
    ], forges=[{"id": "examplehub", "openpgp": p["forge"].cert}])
    res = keyring_cmd("show", "--keyring", kr, "--format", "json", scratch=tmp_path)
    assert res.code == 0, res.describe()
    data = res.json
    persons = {row["id"]: row for row in data["persons"]}
    assert list(persons) == ["alice", "erin", "rita", "ronny", "pia"]

    alice = persons["alice"]
    assert {k: alice[k] for k in ("name", "emails", "github", "roles", "pins")} == {
        "name": "Alice Example", "emails": ["alice@example.org"], "github": "alice",
        "roles": ["committer", "admin"], "pins": []}
    ssh_row, pgp_row = alice["keys"]
    assert ssh_row == {
        "type": "ssh-ed25519", "fingerprint": s["alice"].fingerprint, "signing_keys": None, "user_ids": None,
        "file": None, "valid_after": "2024-01-01T00:00:00Z", "valid_before": "2030-01-01T00:00:00Z",
        "revoked": False, "revoked_in_certificate": False, "namespaces": ["git", "commitguard-approval"],
        "source": "https://github.com/alice.keys", "obtained": "2025-02-03T04:05:06Z", "usable": True,
    }
    assert pgp_row["type"] == "openpgp"
    assert pgp_row["fingerprint"] == p["alice2"].primary
    # in the certificate's order, which Sequoia canonicalises
    assert sorted(k["fingerprint"] for k in pgp_row["signing_keys"]) == sorted(p["alice2"].signing)
    assert all(k["expires"] is None and k["revoked"] is False for k in pgp_row["signing_keys"])
    assert pgp_row["user_ids"] == ["Alice Example <alice@example.org>"]
    assert pgp_row["file"] == "keys/alice-2.asc"
    assert (pgp_row["revoked"], pgp_row["usable"], pgp_row["namespaces"]) == (False, True, None)

    erin = persons["erin"]["keys"][0]
    assert erin["fingerprint"] == p["erin"].primary
    assert [(k["fingerprint"], k["expires"]) for k in erin["signing_keys"]] == [
        (p["erin"].signing[0], "2019-01-02T00:00:00Z")]
    assert erin["usable"] is False

    rita = persons["rita"]["keys"][0]
    assert (rita["revoked"], rita["revoked_in_certificate"], rita["usable"]) == (False, True, False)
    assert rita["signing_keys"][0]["revoked"] is True

    ronny = persons["ronny"]["keys"][0]
    assert (ronny["fingerprint"], ronny["revoked"], ronny["usable"]) == (s["ronny"].fingerprint, True, False)

    assert persons["pia"]["keys"] == [] and persons["pia"]["pins"] == [p["dave"].primary]
    assert [f["id"] for f in data["forges"]] == ["examplehub"]
    assert data["forges"][0]["keys"][0]["fingerprint"] == p["forge"].primary
    assert data["policy"] == {"trust_root": None, "forge": "reject", "openpgp_sha1": "reject",
                              "openpgp_expiry": "enforce", "accept": ["signature"], "reviews": 1}

    text = keyring_cmd("show", "--keyring", kr, scratch=tmp_path)
    assert text.code == 0, text.describe()
    for needle in (s["alice"].fingerprint, p["alice2"].primary, *p["alice2"].signing, "https://github.com/alice.keys",
                   "expires 2019-01-02", "revoked", "pin (no certificate)", p["dave"].primary):
        assert needle in text.stdout, needle


# -- diff --------------------------------------------------------------------------------------


def diff_pair(k: Keys, root: Path) -> tuple[Path, Path]:
    s, p = k.ssh, k.pgp
    old = write_keyring(root / "old", policy={"forge": "reject", "openpgp_sha1": "reject",
                                              "openpgp_expiry": "enforce"}, persons=[
        {"id": "alice", "roles": ["committer"], "keys": [{"ssh": s["alice"].pub_line}, {"openpgp": p["alice"].cert}]},
        {"id": "bob", "keys": [{"ssh": s["bob"].pub_line}]},
        {"id": "carol", "keys": [{"ssh": s["carol"].pub_line, "valid_before": Raw("2026-01-01T00:00:00Z")}]},
        {"id": "rita", "keys": [{"openpgp": p["rita_before"].cert}]},
        {"id": "ronny", "keys": [{"ssh": s["ronny"].pub_line}]},
        {"id": "dan", "keys": [{"ssh": s["dan"].pub_line}]},
        {"id": "ursula", "keys": [{"ssh": s["ursula"].pub_line, "revoked": True}]},
    ], extra=('[[rule]]\npaths = ["pkgs/**"]\napprovals = 2\napprovers = ["role:committer"]\n\n'
              '[[rule]]\npaths = ["lib/**"]\napprovers = ["alice"]\n'))
    new = write_keyring(root / "new", policy={"trust_root": "a" * 40, "forge": "accept", "openpgp_sha1": "accept",
                                              "openpgp_expiry": "ignore"}, persons=[
        {"id": "alice", "roles": ["committer", "admin"],
         "keys": [{"ssh": s["alice_new"].pub_line}, {"openpgp": p["alice2"].cert}]},
        {"id": "bob", "roles": ["committer"], "keys": [{"ssh": s["bob"].pub_line, "namespaces": ["git"]}]},
        {"id": "carol", "keys": [{"ssh": s["carol"].pub_line, "valid_before": Raw("2030-01-01T00:00:00Z")}]},
        {"id": "rita", "keys": [{"openpgp": p["rita"].cert}]},
        {"id": "ronny", "keys": [{"ssh": s["ronny"].pub_line, "revoked": True}]},
        {"id": "ursula", "keys": [{"ssh": s["ursula"].pub_line}]},
        {"id": "eve", "keys": [{"ssh": s["eve"].pub_line}]},
    ], forges=[{"id": "examplehub", "openpgp": p["forge"].cert}],
        extra=('[[rule]]\npaths = ["pkgs/**"]\napprovals = 1\napprovers = ["role:committer"]\n\n'
               '[[rule]]\npaths = ["doc/**"]\napprovers = ["role:committer"]\n'))
    return old, new


def test_diff_changes(keys, tmp_path):
    s, p = keys.ssh, keys.pgp
    old, new = diff_pair(keys, tmp_path)
    res = keyring_cmd("diff", old, new, "--format", "json", scratch=tmp_path)
    assert res.code == 0, res.describe()
    data = res.json
    got = [(c["code"], c["scope"], c["id"], c["key"], c["loosens"]) for c in data["changes"]]
    assert got == [
        ("policy-changed", "policy", "policy.trust_root", None, True),
        ("policy-changed", "policy", "policy.forge", None, True),
        ("policy-changed", "policy", "policy.openpgp_sha1", None, True),
        ("policy-changed", "policy", "policy.openpgp_expiry", None, True),
        ("person-removed", "person", "dan", None, False),
        # rotation: old key out, new key in; the certificate gained a signing subkey
        ("roles-changed", "person", "alice", None, True),
        ("key-removed", "person", "alice", ssh_display(s["alice"]), False),
        ("key-added", "person", "alice", ssh_display(s["alice_new"]), True),
        ("subkey-added", "person", "alice", p["alice"].display, True),
        # re-scoped: a new role loosens, a narrower namespace does not
        ("roles-changed", "person", "bob", None, True),
        ("namespaces-changed", "person", "bob", ssh_display(s["bob"]), False),
        ("validity-changed", "person", "carol", ssh_display(s["carol"]), True),
        ("key-revoked", "person", "rita", p["rita"].display, False),
        ("key-revoked", "person", "ronny", ssh_display(s["ronny"]), False),
        ("key-unrevoked", "person", "ursula", ssh_display(s["ursula"]), True),
        ("person-added", "person", "eve", None, True),
        ("key-added", "person", "eve", ssh_display(s["eve"]), True),
        ("forge-added", "forge", "examplehub", None, True),
        ("key-added", "forge", "examplehub", p["forge"].display, True),
        ("rule-removed", "rule", "rule[1]", None, True),
        ("rule-added", "rule", "rule[1]", None, False),
        ("rule-changed", "rule", "rule[0]", None, True),
    ], res.describe()
    by = {(c["code"], c["id"]): c for c in data["changes"]}
    assert by[("policy-changed", "policy.forge")]["old"] == "reject"
    assert by[("policy-changed", "policy.forge")]["new"] == "accept"
    assert by[("subkey-added", "alice")]["message"].startswith(f"signing key {p['alice2'].signing[1]} added")
    assert by[("key-revoked", "rita")]["message"] == f"signing key {p['rita'].primary} revoked in the certificate"
    assert (by[("validity-changed", "carol")]["old"], by[("validity-changed", "carol")]["new"]) == (
        "2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z")
    assert (by[("roles-changed", "bob")]["old"], by[("roles-changed", "bob")]["new"]) == ([], ["committer"])
    assert (by[("namespaces-changed", "bob")]["old"], by[("namespaces-changed", "bob")]["new"]) == (None, ["git"])
    assert (by[("rule-changed", "rule[0]")]["old"], by[("rule-changed", "rule[0]")]["new"]) == (2, 1)
    assert data["ok"] is False and data["loosens"] is True
    assert data["summary"] == {"total": 22, "loosening": 16}

    # --strict turns a loosening into exit 1; the text marks what loosens
    assert keyring_cmd("diff", old, new, "--strict", scratch=tmp_path).code == 1
    text = keyring_cmd("diff", old, new, scratch=tmp_path)
    assert text.code == 0, text.describe()
    assert s["alice_new"].fingerprint in text.stdout
    assert "16 change(s) marked ! loosen trust" in text.stdout


def test_diff_reverse_tightens(keys, tmp_path):
    """The same change read backwards: the policy and the rules tighten, keys go away."""
    old, new = diff_pair(keys, tmp_path)
    data = keyring_cmd("diff", new, old, "--format", "json", scratch=tmp_path).json
    got = {(c["code"], c["id"]) for c in data["changes"] if c["loosens"]}
    assert got == {("person-added", "dan"), ("key-added", "dan"), ("key-added", "alice"),
                   ("namespaces-changed", "bob"), ("revocation-removed", "rita"), ("key-unrevoked", "ronny"),
                   ("rule-removed", "rule[1]")}
    tightening = {(c["code"], c["id"]) for c in data["changes"] if not c["loosens"]}
    assert {("validity-changed", "carol"), ("rule-changed", "rule[0]"), ("key-revoked", "ursula"),
            ("person-removed", "eve"), ("forge-removed", "examplehub"), ("roles-changed", "alice"),
            ("subkey-removed", "alice"), ("key-removed", "alice"), ("rule-added", "rule[1]")} <= tightening
    policy = {c["id"]: c["loosens"] for c in data["changes"] if c["scope"] == "policy"}
    assert policy == {"policy.trust_root": False, "policy.forge": False, "policy.openpgp_sha1": False,
                      "policy.openpgp_expiry": False}


def test_diff_identical(keys, tmp_path):
    old, _ = diff_pair(keys, tmp_path)
    res = keyring_cmd("diff", old, old, "--format", "json", scratch=tmp_path)
    assert res.code == 0 and res.json == {"ok": True, "loosens": False, "changes": [],
                                          "summary": {"total": 0, "loosening": 0}}, res.describe()
    res = keyring_cmd("diff", old, old, "--strict", scratch=tmp_path)
    assert res.code == 0 and "no changes" in res.stdout, res.describe()


def test_diff_from_git_revisions(keys, tmp_path):
    s, p = keys.ssh, keys.pgp
    repo = Repo(tmp_path / "repo", tmp_path)
    kr = repo.path / ".commitguard" / "keyring"
    write_keyring(kr, persons=[{"id": "alice", "keys": [{"ssh": s["alice"].pub_line}, {"openpgp": p["alice"].cert}]},
                               {"id": "rita", "keys": [{"openpgp": p["rita_before"].cert}]}])
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "keyring v1")
    (kr / "keys" / "rita-before.asc").write_bytes(p["rita"].cert.read_bytes())  # the revoked certificate
    write_keyring(kr, persons=[{"id": "alice", "keys": [{"ssh": s["alice_new"].pub_line},
                                                        {"openpgp": p["alice"].cert}]},
                               {"id": "rita", "keys": [{"openpgp": p["rita_before"].cert}]}])
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "keyring v2: rotate alice, revoke rita")
    expected = [("key-removed", "alice", ssh_display(s["alice"])),
                ("key-added", "alice", ssh_display(s["alice_new"])),
                ("key-revoked", "rita", p["rita"].display)]

    res = keyring_cmd("diff", "main~1:.commitguard/keyring", "HEAD:.commitguard/keyring", "--repo", repo.path,
                      "--format", "json", scratch=tmp_path)
    assert res.code == 0, res.describe()
    assert [(c["code"], c["id"], c["key"]) for c in res.json["changes"]] == expected

    # a committed keyring against the working directory
    res = keyring_cmd("diff", "HEAD~1:.commitguard/keyring/", kr, "--repo", repo.path, "--format", "json",
                      scratch=tmp_path)
    assert [(c["code"], c["id"], c["key"]) for c in res.json["changes"]] == expected

    # --repo defaults to the current directory
    res = keyring_cmd("diff", "HEAD~1:.commitguard/keyring", "HEAD:.commitguard/keyring", "--format", "json",
                      scratch=tmp_path, cwd=repo.path)
    assert [(c["code"], c["id"], c["key"]) for c in res.json["changes"]] == expected

    # the tree is read, not the working directory: a key file only on disk is not found
    (kr / "keys" / "extra.asc").write_bytes(p["forge"].cert.read_bytes())
    (kr / "keyring.toml").write_text((kr / "keyring.toml").read_text()
                                     + '\n[[forge]]\nid = "examplehub"\nopenpgp = "keys/extra.asc"\n')
    repo.git("add", ".commitguard/keyring/keyring.toml")
    repo.git("commit", "-q", "-m", "refers to a key file that is not committed")
    res = keyring_cmd("diff", "HEAD~1:.commitguard/keyring", "HEAD:.commitguard/keyring", "--repo", repo.path,
                      scratch=tmp_path)
    assert_exit_2(res, "extra.asc", "HEAD:.commitguard/keyring")

    assert_exit_2(keyring_cmd("diff", "nosuchrev:.commitguard/keyring", kr, "--repo", repo.path, scratch=tmp_path),
                  "nosuchrev")
    assert_exit_2(keyring_cmd("diff", "HEAD:no/such/dir", kr, "--repo", repo.path, scratch=tmp_path),
                  "no/such/dir")
    assert_exit_2(keyring_cmd("diff", "HEAD:.commitguard", kr, "--repo", repo.path, scratch=tmp_path),
                  "keyring.toml")
    assert_exit_2(keyring_cmd("diff", "HEAD:.commitguard/keyring", kr, "--repo", tmp_path / "nope",
                              scratch=tmp_path), "nope")


# -- import -------------------------------------------------------------------------------------


def test_import_allowed_signers_then_show_and_check(keys, tmp_path):
    s = keys.ssh
    signers = tmp_path / "allowed_signers"
    signers.write_text(f'alice@example.org namespaces="git" {s["alice"].pub_line}\n'
                       f'bob@example.org {s["bob"].pub_line}\n')
    kr = tmp_path / "new-keyring"
    res = keyring_cmd("import", "allowed-signers", signers, "--keyring", kr,
                      "--format", "json", scratch=tmp_path)
    assert res.code == 0, res.describe()
    data = res.json
    assert data["ok"] is True and data["created"] is True and data["changes"], res.describe()
    assert (kr / "keyring.toml").is_file()

    shown = keyring_cmd("show", "--keyring", kr, "--format", "json", scratch=tmp_path).json
    fingerprints = {k["fingerprint"]: k for row in shown["persons"] for k in row["keys"]}
    assert set(fingerprints) == {s["alice"].fingerprint, s["bob"].fingerprint}
    assert fingerprints[s["alice"].fingerprint]["namespaces"] == ["git"]

    again = keyring_cmd("import", "allowed-signers", signers, "--keyring", kr, scratch=tmp_path)
    assert again.code == 0, again.describe()
    assert "updated keyring" in again.stdout and "nothing to change" in again.stdout


def test_import_gnupg_uses_gnupg_home(keys, tmp_path):
    kr = tmp_path / "kr"
    res = keyring_cmd("import", "gnupg", keys.pgp["alice"].primary, "--keyring", kr, "--gnupg-home",
                      keys.gpg.home, "--format", "json", scratch=tmp_path)
    assert res.code == 0, res.describe()
    shown = keyring_cmd("show", "--keyring", kr, "--format", "json", scratch=tmp_path).json
    assert [k["fingerprint"] for row in shown["persons"] for k in row["keys"]] == [keys.pgp["alice"].primary]
    # $GNUPGHOME is the default
    kr2 = tmp_path / "kr2"
    res = keyring_cmd("import", "gnupg", keys.pgp["alice"].primary, "--keyring", kr2, scratch=tmp_path,
                      env={"GNUPGHOME": str(keys.gpg.home)})
    assert res.code == 0 and "created keyring" in res.stdout, res.describe()


# -- could not run --------------------------------------------------------------------------------


def test_bad_inputs_exit_2(keys, tmp_path):
    good = write_keyring(tmp_path / "good", persons=[{"id": "alice", "keys": [{"ssh": keys.ssh["alice"].pub_line}]}])
    broken = write_keyring(tmp_path / "broken", persons=[{"id": "alice", "keys": [{"ssh": keys.ssh["alice"].pub_line,
                                                                                   "revokd": True}]}])
    not_repo = tmp_path / "not-a-repo"
    not_repo.mkdir()
    for cmd in ("check", "show"):
        assert_exit_2(keyring_cmd(cmd, "--keyring", tmp_path / "missing", scratch=tmp_path), "missing")
        assert_exit_2(keyring_cmd(cmd, "--keyring", broken, scratch=tmp_path), "keyring.toml", "revokd")
        assert_exit_2(keyring_cmd(cmd, "--keyring", good, "--format", "xml", scratch=tmp_path), "--format")
        assert_exit_2(keyring_cmd(cmd, "--repo", not_repo, scratch=tmp_path), "not-a-repo")
    assert_exit_2(keyring_cmd("diff", good, tmp_path / "missing", scratch=tmp_path), "missing")
    assert_exit_2(keyring_cmd("diff", broken, good, scratch=tmp_path), "revokd")
    assert_exit_2(keyring_cmd("diff", good, scratch=tmp_path), "new")
    assert_exit_2(keyring_cmd("diff", ":keyring", good, scratch=tmp_path), "revision")
    assert_exit_2(keyring_cmd("import", "nosuchsource", "x", "--keyring", tmp_path / "k", scratch=tmp_path),
                  "nosuchsource")
    assert_exit_2(keyring_cmd("import", "allowed-signers", tmp_path / "none", scratch=tmp_path), "--keyring")
    assert_exit_2(keyring_cmd("import", "allowed-signers", tmp_path / "none", "--keyring", tmp_path / "k",
                              scratch=tmp_path), "none")
    assert not (tmp_path / "k").exists()
    signers = tmp_path / "allowed_signers"
    signers.write_text(f"bob@example.org {keys.ssh['bob'].pub_line}\n")
    before = (broken / "keyring.toml").read_bytes()
    assert_exit_2(keyring_cmd("import", "allowed-signers", signers, "--keyring", broken, scratch=tmp_path), "revokd")
    assert (broken / "keyring.toml").read_bytes() == before
