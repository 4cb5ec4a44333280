"""Keyrings that must not load, and OpenPGP key restrictions that must hold (issue 14).

* a key file that is a symlink leading out of the keyring directory (item 11);
* person ids, forge ids and GitHub logins a reader cannot tell apart
  (Cyrillic look-alikes, zero-width characters, case) or duplicated;
* ``namespaces`` on an OpenPGP key: enforced for commits and approvals
  alike, refused where it names something that cannot be enforced (item 7);
* ``signing_keys``: only the named keys of a certificate sign.

Keys are made by gpg, signatures by gpg and git; nothing here is built with
the code under test.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from commitguard.review.approvals.interface import RawApproval
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerifier, ReviewContext
from commitguard.errors import KeyringError
from commitguard.keyring.loader import load_keyring
from commitguard.signatures.dispatch import SignatureVerifier
from tests.fixtures_git import Gpg, PgpSigner, Raw, Repo, run_cli, run_verify, write_keyring

NOW = datetime(2025, 6, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pgp(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening-gpg")
    gpg = Gpg(root / "gnupg", root)
    try:
        k = {"gpg": gpg, "root": root}
        k["alice"] = gpg.gen_key("Alice <alice@example.org>", "ed25519", "cert")
        k["alice_sub"] = gpg.add_subkey(k["alice"], "ed25519", "sign")
        k["alice_sub2"] = gpg.add_subkey(k["alice"], "ed25519", "sign")
        k["bob"] = gpg.gen_key("Bob <bob@example.org>", "ed25519", "sign")
        for name in ("alice", "bob"):
            k[name + "_cert"] = gpg.export(k[name], root / "certs" / f"{name}.asc")
        yield k
    finally:
        gpg.kill_agent()


def keyring_with(directory: Path, persons: list[dict], **kw) -> Path:
    return write_keyring(directory, persons=persons, **kw)


def error_of(directory: Path) -> str:
    with pytest.raises(KeyringError) as err:
        load_keyring(directory)
    return str(err.value)


# -- item 11: symlinks leading out of the keyring -----------------------------------


def test_symlink_to_a_file_outside_the_keyring_is_refused(pgp, tmp_path, cli_scratch):
    outside = tmp_path / "elsewhere" / "alice.asc"
    outside.parent.mkdir()
    outside.write_bytes(pgp["alice_cert"].read_bytes())
    kr = tmp_path / "keyring"
    (kr / "keys").mkdir(parents=True)
    os.symlink(outside, kr / "keys" / "alice.asc")
    (kr / "keyring.toml").write_text('version = 1\n\n[[person]]\nid = "alice"\n\n[[person.key]]\n'
                                     'openpgp = "keys/alice.asc"\n')
    message = error_of(kr)
    assert message == (f"{kr}/keyring.toml: person[0].key[0].openpgp: key file keys/alice.asc is a symlink leading "
                       f"outside the keyring directory (to {outside.resolve()}); copy the certificate into the keyring")
    res = run_cli(["keyring", "check", "--keyring", kr], scratch=cli_scratch)
    assert res.code == 2, res.describe()
    assert "keys/alice.asc is a symlink leading outside the keyring directory" in res.stderr, res.describe()


def test_symlinked_directory_leading_out_is_refused(pgp, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "alice.asc").write_bytes(pgp["alice_cert"].read_bytes())
    kr = tmp_path / "keyring"
    kr.mkdir()
    os.symlink(outside, kr / "keys")
    (kr / "keyring.toml").write_text('version = 1\n\n[[person]]\nid = "alice"\n\n[[person.key]]\n'
                                     'openpgp = "keys/alice.asc"\n')
    assert "key file keys/alice.asc is a symlink leading outside the keyring directory" in error_of(kr)


def test_symlink_staying_inside_the_keyring_loads(pgp, tmp_path):
    kr = tmp_path / "keyring"
    (kr / "keys").mkdir(parents=True)
    (kr / "keys" / "alice-2025.asc").write_bytes(pgp["alice_cert"].read_bytes())
    os.symlink("alice-2025.asc", kr / "keys" / "alice.asc")
    (kr / "keyring.toml").write_text('version = 1\n\n[[person]]\nid = "alice"\n\n[[person.key]]\n'
                                     'openpgp = "keys/alice.asc"\n')
    assert load_keyring(kr).person("alice").keys[0].openpgp.fingerprint == pgp["alice"]


# -- confusable and duplicate names --------------------------------------------------


@pytest.mark.parametrize("first, second, field, message", [
    ("alice", "alice", "person[1].id", "duplicate id 'alice' (also person[0].id)"),
    ("alice", "Alice", "person[1].id", "id 'Alice' and person[0].id id 'alice' differ only in case; rename one"),
    ("ape", "\u0430\u0440\u0435", "person[1].id", "id 'аре' and person[0].id id 'ape' look alike; rename one"),
    ("alice", "\u0430lice", "person[1].id", "id 'аlice' mixes Latin and Cyrillic letters"),
    ("bob", "bob\u200b", "person[1].id", "id 'bob\\u200b' contains invisible character(s) U+200B"),
    ("noe", "no\u00e9", "person[1].id", "id 'noé' and person[0].id id 'noe' look alike; rename one"),
    ("ops", "\u03bf\u03c1s", "person[1].id", "id 'ορs' mixes Latin and Greek letters"),
])
def test_confusable_person_ids_are_refused_naming_the_pair(tmp_path, first, second, field, message):
    kr = keyring_with(tmp_path / "kr", [{"id": first}, {"id": second}])
    assert error_of(kr) == f"{kr}/keyring.toml: {field}: {message}"


def test_person_id_confusable_with_a_forge_id(pgp, tmp_path):
    kr = keyring_with(tmp_path / "kr", [{"id": "GitHub"}], forges=[{"id": "github", "openpgp": pgp["bob_cert"]}])
    assert error_of(kr) == (f"{kr}/keyring.toml: forge[0].id: id 'github' and person[0].id id 'GitHub' differ only "
                            "in case; rename one")


@pytest.mark.parametrize("first, second, message", [
    ("alice", "alice", "duplicate GitHub login 'alice' (also person[0].github)"),
    ("alice", "ALICE", "GitHub login 'ALICE' and person[0].github GitHub login 'alice' differ only in case; rename one"),
])
def test_duplicate_github_logins_are_refused(tmp_path, first, second, message):
    kr = keyring_with(tmp_path / "kr", [{"id": "a", "github": first}, {"id": "b", "github": second}])
    assert error_of(kr) == f"{kr}/keyring.toml: person[1].github: {message}"


def test_non_ascii_github_login_is_refused(tmp_path):
    kr = keyring_with(tmp_path / "kr", [{"id": "a", "github": "\u0430lice"}])
    assert error_of(kr) == (f"{kr}/keyring.toml: person[0].github: GitHub login 'аlice' is not ASCII (GitHub logins "
                            "are letters, digits and '-')")


def test_same_login_as_another_persons_id_is_fine(tmp_path):
    # handles and logins are different namespaces (maintainer-list: id = handle, github = login)
    kr = keyring_with(tmp_path / "kr", [{"id": "bob", "github": "robert"}, {"id": "robert", "github": "bob"}])
    assert [p.id for p in load_keyring(kr).persons] == ["bob", "robert"]


def test_non_latin_ids_that_differ_load(tmp_path):
    kr = keyring_with(tmp_path / "kr", [{"id": "山田太郎"}, {"id": "иван"}, {"id": "ivan"}, {"id": "noé"}])
    assert [p.id for p in load_keyring(kr).persons] == ["山田太郎", "иван", "ivan", "noé"]


def test_confusable_ids_exit_2_at_the_cli(tmp_path, cli_scratch):
    kr = keyring_with(tmp_path / "kr", [{"id": "alice"}, {"id": "Alice"}])
    res = run_cli(["keyring", "check", "--keyring", kr], scratch=cli_scratch)
    assert res.code == 2, res.describe()
    assert "person[1].id: id 'Alice' and person[0].id id 'alice' differ only in case" in res.stderr, res.describe()


# -- item 7: namespaces on OpenPGP keys -------------------------------------------------


def test_openpgp_namespace_that_cannot_be_enforced_is_refused(pgp, tmp_path):
    kr = keyring_with(tmp_path / "kr", [{"id": "bob", "keys": [{"openpgp": pgp["bob_cert"], "namespaces": ["file"]}]}])
    assert error_of(kr) == (f"{kr}/keyring.toml: person[0].key[0].namespaces: 'file' cannot be enforced for an "
                            "OpenPGP key: an OpenPGP signature names no namespace, and commitguard checks OpenPGP "
                            "keys only for git, commitguard-approval")


@pytest.fixture(scope="module")
def signed(pgp, tmp_path_factory):
    """A commit signed by bob (primary) and alice's first subkey, in one repository."""
    root = tmp_path_factory.mktemp("hardening-repo")
    repo = Repo(root / "repo", root)
    ids = {
        "bob": repo.commit("bob signs", signer=PgpSigner(pgp["gpg"], pgp["bob"]), when="2024-06-01T00:00:00Z"),
        "alice_sub": repo.commit("alice signs", signer=PgpSigner(pgp["gpg"], pgp["alice_sub"]),
                                 when="2024-06-02T00:00:00Z"),
        "alice_sub2": repo.commit("alice signs with her other subkey", signer=PgpSigner(pgp["gpg"], pgp["alice_sub2"]),
                                  when="2024-06-03T00:00:00Z"),
    }
    return repo, ids


def verdict_of(kr: Path, repo: Repo, oid: str):
    keyring = load_keyring(kr)
    data = repo.raw(oid)
    head, _, body = data.partition(b"\n\n")
    sig_lines, kept, on = [], [], False
    for line in head.split(b"\n"):
        if line.startswith(b"gpgsig "):
            on = True
            sig_lines.append(line[len(b"gpgsig "):])
        elif on and line.startswith(b" "):
            sig_lines.append(line[1:])
        else:
            on = False
            kept.append(line)
    payload = b"\n".join(kept) + b"\n\n" + body
    return SignatureVerifier(keyring).verify(b"\n".join(sig_lines) + b"\n", payload, NOW)


def test_openpgp_key_restricted_to_approvals_signs_no_trusted_commit(pgp, signed, tmp_path):
    repo, ids = signed
    kr = keyring_with(tmp_path / "kr", [{"id": "bob", "keys": [
        {"openpgp": pgp["bob_cert"], "namespaces": ["commitguard-approval"]}]}])
    v = verdict_of(kr, repo, ids["bob"])
    assert (v.status.value, v.signer) == ("unknown-key", None)
    assert v.reason == f"openpgp {pgp['bob']} of bob is trusted only for namespaces commitguard-approval, not 'git'"
    res = run_verify([ids["bob"]], repo=repo.path, keyring=kr, scratch=tmp_path / "s")
    assert res.code == 1, res.describe()
    assert res.json["commits"][0]["status"] == "unknown-key" and not res.json["commits"][0]["trusted"]

    kr_git = keyring_with(tmp_path / "kr-git", [{"id": "bob", "keys": [
        {"openpgp": pgp["bob_cert"], "namespaces": ["git"]}]}])
    assert verdict_of(kr_git, repo, ids["bob"]).status.value == "trusted"


def _approval(pgp, head: str, tree: str, base: str) -> tuple[str, bytes]:
    """A DSSE envelope of an in-toto statement, written by hand and signed by gpg (bob's primary)."""
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "example/repo", "digest": {"gitCommit": head}}],
        "predicateType": "https://commitguard.dev/approval/v1",
        "predicate": {"repository": "example/repo", "base": base, "head": head, "headTree": tree,
                      "verdict": "approve"},
    }
    payload = json.dumps(statement).encode()
    kind = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    sig = pgp["gpg"].gpg("--armor", "--detach-sign", "--local-user", pgp["bob"] + "!", input=pae,
                         at="2025-01-01T00:00:00Z").stdout
    envelope = {"payloadType": kind.decode(), "payload": base64.b64encode(payload).decode(),
                "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}
    return json.dumps(envelope), sig


@pytest.mark.parametrize("namespaces, status, reason", [
    (["git"], ApprovalStatus.INVALID,
     "signature does not count: unknown-key: openpgp {bob} of bob is trusted only for namespaces git, "
     "not 'commitguard-approval'"),
    (["commitguard-approval"], ApprovalStatus.VALID, "approved by bob ({bob})"),
    (None, ApprovalStatus.VALID, "approved by bob ({bob})"),
])
def test_openpgp_key_restricted_to_git_signs_no_approval_that_counts(pgp, tmp_path, namespaces, status, reason):
    key = {"openpgp": pgp["bob_cert"]}
    if namespaces is not None:
        key["namespaces"] = namespaces
    kr = keyring_with(tmp_path / "kr", [{"id": "bob", "keys": [key]}])
    head, tree, base = "1" * 40, "2" * 40, "3" * 40
    text, _ = _approval(pgp, head, tree, base)
    verdict = ApprovalVerifier(load_keyring(kr)).verify(
        RawApproval(text, "test"), ReviewContext("example/repo", base, head, tree), now=NOW)
    assert (verdict.status, verdict.reason) == (status, reason.format(bob=pgp["bob"]))


# -- signing_keys -------------------------------------------------------------------------


def test_signing_keys_lets_only_the_named_subkey_sign(pgp, signed, tmp_path):
    repo, ids = signed
    kr = keyring_with(tmp_path / "kr", [{"id": "alice", "keys": [
        {"openpgp": pgp["alice_cert"], "fingerprint": pgp["alice"], "signing_keys": [pgp["alice_sub"]]}]}])
    good = verdict_of(kr, repo, ids["alice_sub"])
    assert (good.status.value, good.signer, good.signature.key) == ("trusted", "alice", pgp["alice_sub"])
    other = verdict_of(kr, repo, ids["alice_sub2"])
    assert (other.status.value, other.signer) == ("unknown-key", None)
    assert other.reason == (f"openpgp {pgp['alice_sub2']} of alice is a key of certificate {pgp['alice']}, but the "
                            f"keyring lets only {pgp['alice_sub']} of it sign (signing_keys)")


@pytest.mark.parametrize("key, field, message", [
    ({"signing_keys": ["{alice_sub}"]}, "signing_keys", "needs fingerprint = PRIMARY: it names keys of one certificate"),
    ({"fingerprint": "{alice}", "signing_keys": ["{bob}"]}, "signing_keys",
     "{bob} is not a key of certificate {alice} in {cert} (or its binding signature does not verify)"),
    ({"fingerprint": "{alice}", "signing_keys": []}, "signing_keys", "must name at least one key of the certificate"),
])
def test_signing_keys_errors(pgp, tmp_path, key, field, message):
    names = {"alice": pgp["alice"], "alice_sub": pgp["alice_sub"], "bob": pgp["bob"], "cert": "keys/alice.asc"}
    table = {"openpgp": pgp["alice_cert"]}
    for k, v in key.items():
        table[k] = [x.format(**names) for x in v] if isinstance(v, list) else v.format(**names)
    kr = keyring_with(tmp_path / "kr", [{"id": "alice", "keys": [table]}])
    assert error_of(kr) == f"{kr}/keyring.toml: person[0].key[0].{field}: {message.format(**names)}"


def test_signing_keys_on_an_ssh_key_is_refused(tmp_path):
    kr = tmp_path / "kr"
    kr.mkdir()
    (kr / "keyring.toml").write_text(
        'version = 1\n\n[[person]]\nid = "a"\n\n[[person.key]]\nssh = "ssh-ed25519 '
        'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a"\nsigning_keys = ["AB"]\n')
    assert error_of(kr) == f"{kr}/keyring.toml: person[0].key[0].signing_keys: applies to OpenPGP certificates only"


# -- a message never contradicts the keyring ---------------------------------------------


def test_pinned_fingerprint_without_certificate_says_so(pgp, signed, tmp_path):
    repo, ids = signed
    kr = keyring_with(tmp_path / "kr", [{"id": "bob", "keys": [{"fingerprint": pgp["bob"]}]}])
    v = verdict_of(kr, repo, ids["bob"])
    assert (v.status.value, v.signer) == ("unknown-key", None)
    assert v.reason == (f"signed by OpenPGP fingerprint {pgp['bob']}, pinned for bob in the keyring, but no "
                        f"certificate holds it (add the certificate to verify signatures by {pgp['bob']})")
    assert "not in the keyring" not in v.reason


@pytest.fixture
def cli_scratch(tmp_path):
    d = tmp_path / "cli-scratch"
    d.mkdir()
    return d


def test_keyring_check_and_diff_see_openpgp_namespaces_and_signing_keys(pgp, tmp_path):
    from commitguard.keyring.check import check_keyring
    from commitguard.keyring.diff import diff_keyrings

    old = keyring_with(tmp_path / "old", [{"id": "alice", "keys": [
        {"openpgp": pgp["alice_cert"], "fingerprint": pgp["alice"], "signing_keys": [pgp["alice_sub"]]}]}])
    new = keyring_with(tmp_path / "new", [{"id": "alice", "keys": [
        {"openpgp": pgp["alice_cert"], "fingerprint": pgp["alice"], "namespaces": ["commitguard-approval"]}]}])
    found = [(f.code, f.message) for f in check_keyring(load_keyring(new), NOW).findings]
    assert ("namespace-excludes-git",
            'namespaces = [commitguard-approval] exclude "git": it cannot sign commits') in found, found
    changes = [(c.code, c.loosens, c.message) for c in diff_keyrings(load_keyring(old), load_keyring(new)).changes]
    assert ("signing-keys-changed", True, f"signing_keys {pgp['alice_sub']} -> (every signing key)") in changes, changes
    assert ("namespaces-changed", False, "namespaces (any) -> commitguard-approval") in changes, changes


def test_symlinked_key_file_in_a_repository_keyring_is_refused(tmp_path):
    """In a keyring kept in the repository, a key file committed as a symlink is refused (exit 2), naming it."""
    import subprocess

    from tests.fixtures.history import History

    key = tmp_path / "keys" / "alice"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(key)], check=True)
    history = History(tmp_path / "repo", {"alice": key})
    keyring_dir = history.path / ".commitguard" / "keyring"
    (keyring_dir / "keys").mkdir(parents=True)
    os.symlink("../../../../outside.asc", keyring_dir / "keys" / "bob.asc")
    history.raw_keyring('version = 1\n\n[[person]]\nid = "bob"\n\n[[person.key]]\nopenpgp = "keys/bob.asc"\n')
    root = history.commit("root", "alice")
    code, _, out = history.verify("--trust-root", root, expect_code=2)
    assert (f"{root}:.commitguard/keyring/keyring.toml: key file keys/bob.asc is a symlink; a keyring kept in the "
            "repository holds its key files themselves") in out["stderr"], out


def test_maintainer_list_leaves_out_names_a_keyring_would_refuse(tmp_path):
    """A maintainer list with a login twice (case aside) and a look-alike handle still imports the rest."""
    from commitguard.keyring import writer
    from commitguard.keyring.importers.maintainer_list import MaintainerListImporter
    from commitguard.keyring.importers.registry import ImportRequest

    path = tmp_path / "maintainer-list.nix"
    path.write_text(
        "{\n"
        '  alice = {\n    name = "Alice";\n    github = "alice";\n    githubId = 1;\n  };\n'
        '  alice2 = {\n    name = "Alice again";\n    github = "Alice";\n    githubId = 1;\n  };\n'
        '  "\u0430lice" = {\n    name = "Not Alice";\n    github = "mallory";\n    githubId = 3;\n  };\n'
        "}\n", encoding="utf-8")
    result = MaintainerListImporter(ImportRequest(args=(str(path),))).load()
    assert [(p.id, p.github, p.github_id) for p in result.persons] == [("alice", "alice", 1), ("alice2", None, None)]
    assert (f"{path}: line 7: alice2: GitHub login 'Alice' cannot be told apart from 'alice' (alice's); imported "
            "without it") in result.notes, result.notes
    assert f"{path}: line 12: handle 'аlice' mixes Latin and Cyrillic letters; skipped" in result.notes, result.notes
    kr = tmp_path / "kr"
    writer.apply_import(kr, result)
    assert [p.id for p in load_keyring(kr).persons] == ["alice", "alice2"]


# -- properties of the confusable-name rule ------------------------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from commitguard.keyring import identifiers  # noqa: E402

_names = st.text(st.characters(codec="utf-8", categories=("Ll", "Lu", "Lo", "Nd")), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(_names)
def test_property_case_variants_are_always_refused(name):
    other = name.swapcase()
    found = identifiers.problems([("a", name), ("b", other)], "id")
    if other != name and other.casefold() == name.casefold():
        assert found is not None, (name, other)  # refused, whether as a pair or for one of them alone


@settings(max_examples=300, deadline=None)
@given(_names, st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]), st.integers(0, 12))
def test_property_an_invisible_character_is_always_refused(name, hidden, at):
    spiked = name[:at] + hidden + name[at:]
    found = identifiers.problems([("a", spiked)], "id")
    assert found == ("a", f"id {spiked!r} contains invisible character(s) U+{ord(hidden):04X}"), found


@settings(max_examples=300, deadline=None)
@given(_names)
def test_property_skeleton_is_stable(name):
    once = identifiers.skeleton(name)
    assert identifiers.skeleton(once) == once
