"""Exit code 2: commitguard could not run. SPEC: one clear line on stderr naming
the file/field at fault, never a Python traceback (checked in run_cli)."""

from __future__ import annotations

import pytest

from tests.fixtures_git import run_cli, run_verify, write_keyring


def assert_exit_2(res, *needles, any_of=()):
    assert res.code == 2, res.describe()
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr:\n{res.describe()}"
    for n in needles:
        assert n.lower() in lines[0].lower(), f"stderr should name {n!r}:\n{res.describe()}"
    if any_of:
        assert any(n.lower() in lines[0].lower() for n in any_of), \
            f"stderr should name one of {any_of}:\n{res.describe()}"
    return lines[0]


@pytest.fixture
def target(history):
    """A repository and a revision that verify fine with a valid keyring."""
    return history.repo.path, history.ids["m1"], history.ids["c2"]


def verify_with(keyring, target, scratch):
    repo, rev, root = target
    return run_verify([rev], repo=repo, keyring=keyring, scratch=scratch, trust_root=root)


def alice_person(world, **key_extra):
    return {"id": "alice", "name": "Alice", "keys": [{"ssh": world.ssh["alice_ed25519"].pub_line, **key_extra}]}


def test_control_valid_keyring_runs(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    res = verify_with(kr, target, scratch)
    assert res.code == 0, res.describe()


def test_broken_toml(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    toml = kr / "keyring.toml"
    toml.write_text(toml.read_text().replace("[[person]]", "[[person]\nbroken = = ="))
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml")


def test_missing_keyring_toml(tmp_path, target, scratch):
    kr = tmp_path / "empty-keyring"
    kr.mkdir()
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml")


def test_missing_key_file(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[
        alice_person(world), {"id": "bob", "keys": [{"openpgp": "keys/nothere.asc"}]}])
    assert_exit_2(verify_with(kr, target, scratch), "nothere.asc")


def test_key_file_not_a_certificate(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[
        alice_person(world), {"id": "bob", "keys": [{"openpgp": "keys/garbage.asc"}]}])
    (kr / "keys").mkdir(exist_ok=True)
    (kr / "keys" / "garbage.asc").write_text("this is not an OpenPGP certificate\n")
    assert_exit_2(verify_with(kr, target, scratch), "garbage.asc")


def test_fingerprint_pin_mismatch(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[
        alice_person(world),
        {"id": "bob", "keys": [{"openpgp": world.pgp["bob"].cert, "fingerprint": world.pgp["alice"].primary}]}])
    line = assert_exit_2(verify_with(kr, target, scratch), "fingerprint", any_of=("keyring.toml", "bob.asc"))
    assert "traceback" not in line.lower()


def test_fingerprint_pin_match_runs(world, tmp_path, target, scratch):
    """Control for the mismatch: the right pin, any case, is accepted."""
    kr = write_keyring(tmp_path / "kr", persons=[
        alice_person(world),
        {"id": "bob", "keys": [{"openpgp": world.pgp["bob"].cert, "fingerprint": world.pgp["bob"].primary.lower()}]}])
    res = verify_with(kr, target, scratch)
    assert res.code == 0, res.describe()


def test_unknown_field_in_person(world, tmp_path, target, scratch):
    p = alice_person(world)
    p["revokd"] = True
    kr = write_keyring(tmp_path / "kr", persons=[p])
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "revokd")


def test_unknown_field_in_person_key(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world, revokd=True)])
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "revokd")


def test_revoked_not_a_boolean(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world, revoked="yes")])
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "revoked")


def test_invalid_ssh_key_line(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[
        alice_person(world), {"id": "bob", "keys": [{"ssh": "ssh-ed25519 AAAA-not-base64!! bob@x"}]}])
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "ssh")


def test_invalid_policy_value(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)], policy={"forge": "maybe"})
    assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "forge")


def test_not_a_repository(world, tmp_path, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    notrepo = tmp_path / "not-a-repo"
    notrepo.mkdir()
    res = run_verify(["HEAD"], repo=notrepo, keyring=kr, scratch=scratch)
    assert_exit_2(res, str(notrepo.name))


def test_unknown_revision(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    repo, _, _ = target
    res = run_verify(["no-such-branch-xyz"], repo=repo, keyring=kr, scratch=scratch)
    assert_exit_2(res, "no-such-branch-xyz")


def test_unknown_trust_root(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    repo, rev, _ = target
    res = run_verify([rev], repo=repo, keyring=kr, scratch=scratch, trust_root="0" * 40)
    assert res.code == 2, res.describe()


def test_missing_keyring_directory(tmp_path, target, scratch):
    repo, rev, root = target
    res = run_verify([rev], repo=repo, keyring=tmp_path / "nope", scratch=scratch, trust_root=root)
    assert_exit_2(res, "nope")


def test_bad_format_argument(world, tmp_path, target, scratch):
    kr = write_keyring(tmp_path / "kr", persons=[alice_person(world)])
    repo, rev, root = target
    res = run_cli(["verify", rev, "--repo", repo, "--keyring", kr, "--format", "yaml", "--no-cache"],
                  scratch=scratch)
    assert res.code == 2, res.describe()


def test_key_type_with_a_newline_stays_one_line(tmp_path, target, scratch):
    """Found by fuzz/run.sh keyring: a key blob whose inner type name holds a
    newline made sshpubkeys' message, and so the error, two lines."""
    import base64

    def string(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    blob = string(b"ssh-ed2\n519") + string(b"\x01" * 32)
    line = "ssh-ed25519 " + base64.b64encode(blob).decode()
    kr = write_keyring(tmp_path / "kr", persons=[{"id": "alice", "keys": [{"ssh": line}]}])
    first = assert_exit_2(verify_with(kr, target, scratch), "keyring.toml", "person[0]")
    assert "ssh-ed2\\n519" in first, first
