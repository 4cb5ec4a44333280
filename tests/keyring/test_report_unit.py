"""``keyring check``, ``show`` and ``diff`` in process, on keyrings written to a temporary directory.

The command tests reach these modules through the CLI; here they are
imported directly, so a finding, a row or a change can be pinned together
with the exact JSON object it becomes (field names and order, which the
golden reports compare byte for byte). Keys are made in process: SSH keys
with ``cryptography``, an OpenPGP certificate with Sequoia.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timezone
from pathlib import Path

import pysequoia
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from commitguard.keyring import load_keyring
from commitguard.keyring.check import check_keyring
from commitguard.keyring.diff import diff_keyrings
from commitguard.keyring.keystate import key_problems
from commitguard.keyring.show import show_keyring

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _openssh(public) -> str:
    return public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pysequoia prefers Tsk.generate, which yields no Cert
        cert = pysequoia.Cert.generate("Carol <carol@example.org>")
    return {
        "ed25519": _openssh(ed25519.Ed25519PrivateKey.generate().public_key()),
        "ed25519_2": _openssh(ed25519.Ed25519PrivateKey.generate().public_key()),
        "rsa1024": _openssh(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()),
        "carol_cert": str(cert),
        "carol_fpr": cert.fingerprint.upper(),
    }


def write(directory: Path, body: str, keys: dict[str, str]) -> Path:
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    (directory / "keys" / "carol.asc").write_text(keys["carol_cert"])
    (directory / "keyring.toml").write_text("version = 1\n" + body)
    return directory


def ring(tmp_path: Path, name: str, body: str, keys: dict[str, str]):
    return load_keyring(write(tmp_path / name, body, keys))


def person(pid: str, *key_tables: str, extra: str = "") -> str:
    return f'[[person]]\nid = "{pid}"\n{extra}' + "".join(f"[[person.key]]\n{k}\n" for k in key_tables)


# -- check ---------------------------------------------------------------------------------


def test_check_findings_and_their_json(tmp_path, keys):
    body = (
        person("alice", f'ssh = "{keys["ed25519"]}"', extra='roles = ["committer"]\n')
        + person("bob", f'ssh = "{keys["rsa1024"]}"')
        + person("dora", f'ssh = "{keys["ed25519_2"]}"\nvalid_before = 2025-01-01T00:00:00Z')
        + '[[rule]]\npaths = ["pkgs/**"]\napprovals = 1\napprovers = ["role:release"]\n'
    )
    result = check_keyring(ring(tmp_path, "k", body, keys), NOW)
    codes = [(f.severity, f.code, f.id) for f in result.findings]
    assert codes == [
        ("error", "weak-key", "bob"),
        ("error", "no-usable-key", "bob"),
        ("warning", "validity-ended", "dora"),
        ("error", "no-usable-key", "dora"),
        ("error", "unknown-role", "rule[0]"),
        ("error", "rule-unsatisfiable", "rule[0]"),
    ]
    assert not result.ok and len(result.errors) == 5 and len(result.warnings) == 1
    weak = result.findings[0]
    as_json = json.dumps(weak.to_json())
    assert list(weak.to_json()) == ["severity", "code", "scope", "id", "key", "where", "message"]
    assert as_json == json.dumps({
        "severity": "error", "code": "weak-key", "scope": "person", "id": "bob", "key": weak.key,
        "where": "person[1].key[0]",
        "message": "RSA key of 1024 bits is rejected as weak (minimum 2048): its signatures are never trusted",
    })
    assert result.to_json()["summary"] == {"errors": 5, "warnings": 1}


def test_check_namespace_scoping(tmp_path, keys):
    approvals_only = f'ssh = "{keys["ed25519"]}"\nnamespaces = ["commitguard-approval"]'
    files_only = f'ssh = "{keys["ed25519_2"]}"\nnamespaces = ["file"]'
    result = check_keyring(ring(tmp_path, "k", person("alice", approvals_only) + person("bob", files_only), keys), NOW)
    by_id = {(f.id, f.code): f for f in result.findings}
    # alice may still approve with her key: warned, usable; bob's key signs nothing a person is checked for
    assert by_id[("alice", "namespace-excludes-git")].severity == "warning"
    assert ("alice", "no-usable-key") not in by_id
    assert by_id[("bob", "namespace-excludes-git")].message == (
        'namespaces = [file] exclude "git": it cannot sign commits')
    assert by_id[("bob", "no-usable-key")].severity == "error"


def test_key_problems_window_bounds(tmp_path, keys):
    body = person("alice", f'ssh = "{keys["ed25519"]}"\nvalid_after = 2026-01-01T00:00:00Z\n'
                           f'valid_before = 2026-06-01T00:00:00Z')
    entry = ring(tmp_path, "k", body, keys).persons[0].keys[0]
    policy = ring(tmp_path, "k", body, keys).policy
    assert key_problems(entry, policy, NOW, uses=("git",)) == ([], True)  # valid_after is inclusive
    problems, usable = key_problems(entry, policy, datetime(2026, 6, 1, tzinfo=timezone.utc), uses=("git",))
    assert [p.code for p in problems] == ["validity-ended"] and not usable  # valid_before is exclusive
    problems, usable = key_problems(entry, policy, datetime(2025, 12, 31, 23, 59, 59, tzinfo=timezone.utc), uses=None)
    assert [p.code for p in problems] == ["not-yet-valid"] and not usable


# -- show ------------------------------------------------------------------------------------


def test_show_rows_for_ssh_and_openpgp(tmp_path, keys):
    body = person("alice", f'ssh = "{keys["ed25519"]}"', f'ssh = "{keys["rsa1024"]}"\nrevoked = true') + person(
        "carol", 'openpgp = "keys/carol.asc"')
    rows = show_keyring(ring(tmp_path, "k", body, keys), NOW)
    alice, carol = rows
    assert [k.usable for k in alice.keys] == [True, False]
    assert alice.keys[1].revoked and alice.keys[0].type == "ssh-ed25519"
    (key,) = carol.keys
    assert key.type == "openpgp" and key.fingerprint == keys["carol_fpr"] and key.usable
    assert key.user_ids == ("Carol <carol@example.org>",) and key.file == "keys/carol.asc"
    assert key.signing_keys and all(k.fingerprint != keys["carol_fpr"] for k in key.signing_keys)  # a signing subkey
    data = carol.to_json()
    assert list(data) == ["id", "name", "emails", "github", "roles", "pins", "keys"]
    assert list(data["keys"][0]) == ["type", "fingerprint", "signing_keys", "user_ids", "file", "valid_after",
                                     "valid_before", "revoked", "revoked_in_certificate", "namespaces", "source",
                                     "obtained", "usable"]


def test_show_forge_rows_carry_no_person_fields(tmp_path, keys):
    body = person("alice", f'ssh = "{keys["ed25519"]}"') + f'[[forge]]\nid = "forge"\nssh = "{keys["ed25519_2"]}"\n'
    rows = show_keyring(ring(tmp_path, "k", body, keys), NOW)
    assert rows[1].kind == "forge" and list(rows[1].to_json()) == ["id", "keys"]


# -- diff ------------------------------------------------------------------------------------


def test_diff_restriction_lists(tmp_path, keys):
    fpr = keys["carol_fpr"]
    base = f'openpgp = "keys/carol.asc"\nfingerprint = "{fpr}"\n'
    old = ring(tmp_path, "old", person("carol", base + 'namespaces = ["git"]'), keys)
    signing = [k.fingerprint for k in show_keyring(old, NOW)[0].keys[0].signing_keys]
    new = ring(tmp_path, "new", person("carol", base + f'signing_keys = ["{signing[0]}"]'), keys)

    changes = diff_keyrings(old, new).changes
    assert [(c.code, c.loosens, c.message, c.old, c.new) for c in changes] == [
        ("namespaces-changed", True, "namespaces git -> (any)", ["git"], None),
        ("signing-keys-changed", False, f"signing_keys (every signing key) -> {signing[0]}", None, [signing[0]]),
    ]
    back = diff_keyrings(new, old).changes
    assert [(c.code, c.loosens, c.message) for c in back] == [
        ("namespaces-changed", False, "namespaces (any) -> git"),
        ("signing-keys-changed", True, f"signing_keys {signing[0]} -> (every signing key)"),
    ]


def test_diff_namespaces_widened_and_narrowed(tmp_path, keys):
    line = f'ssh = "{keys["ed25519"]}"\n'
    narrow = ring(tmp_path, "a", person("alice", line + 'namespaces = ["git"]'), keys)
    wide = ring(tmp_path, "b", person("alice", line + 'namespaces = ["git", "file"]'), keys)
    (widen,) = diff_keyrings(narrow, wide).changes
    (tighten,) = diff_keyrings(wide, narrow).changes
    assert (widen.loosens, widen.message) == (True, "namespaces git -> git, file")
    assert (tighten.loosens, tighten.message) == (False, "namespaces git, file -> git")
    assert list(widen.to_json()) == ["code", "scope", "id", "key", "loosens", "message", "old", "new"]
    assert widen.to_json()["old"] == ["git"] and widen.to_json()["new"] == ["git", "file"]


def test_diff_window_and_revocation(tmp_path, keys):
    line = f'ssh = "{keys["ed25519"]}"\n'
    old = ring(tmp_path, "a", person("alice", line + "valid_before = 2025-01-01T00:00:00Z"), keys)
    new = ring(tmp_path, "b", person("alice", line + "valid_before = 2027-01-01T00:00:00Z\nrevoked = true"), keys)
    result = diff_keyrings(old, new)
    assert [(c.code, c.loosens) for c in result.changes] == [("key-revoked", False), ("validity-changed", True)]
    assert result.loosens and result.to_json()["summary"] == {"total": 2, "loosening": 1}
