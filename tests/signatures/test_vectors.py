"""Real signed commit objects from public repositories (tests/data/vectors, from ../shared/data/vectors).

Each object is written into a fresh repository; its parents and tree are
missing, so exactly that commit is verified, with itself as the trust root.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.fixtures_git import Raw, Repo, SshKey, assert_report_shape, run_verify, write_keyring

# Copied from ../shared/data (public commit objects and GitHub's public keys).
DATA = Path(__file__).resolve().parent.parent / "data"
VECTORS = DATA / "vectors"
GITHUB_CERT = DATA / "github-web-flow.asc"

WEBFLOW_OLD = "c4e39fb68aa037a2a787718a3477094d6aef76e0"  # key 4AEE18F83AFDEB23, signed before it expired
WEBFLOW_NEW = "034927d0ea301bd64ae1dad562da164faf979ed1"  # key B5690EEEBB952194, issuer key id only
SK_ECDSA = "25144449aa131a3134356a54cd5bef91b3931eef"
SK_ED25519 = "69f306d2eba3746922f415f61edffe26cb366f23"
X509 = "0eb7030d71c4c31c6a05a64939568dd1a38b03dc"
ALL = [WEBFLOW_OLD, WEBFLOW_NEW, SK_ECDSA, SK_ED25519, X509]
KEYID = {WEBFLOW_OLD: "4AEE18F83AFDEB23", WEBFLOW_NEW: "B5690EEEBB952194"}

@pytest.fixture(scope="session")
def vectors_repo(tmp_path_factory) -> Repo:
    root = tmp_path_factory.mktemp("vectors")
    repo = Repo(root / "repo", root)
    for oid in ALL:
        data = (VECTORS / f"{oid}.commit").read_bytes()
        assert hashlib.sha1(b"commit %d\0" % len(data) + data).hexdigest() == oid
        assert repo.write_raw(data, literally=True) == oid
        repo.ref(f"refs/heads/v/{oid[:8]}", oid)
    return repo


@pytest.fixture(scope="session")
def sk_keys() -> dict[str, SshKey]:
    return {oid: SshKey.from_pub(None, VECTORS / f"{oid}.pub") for oid in (SK_ECDSA, SK_ED25519)}


def github_keyring(directory: Path, policy=None, persons=()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    # a copy, so the keyring is self-contained as SPEC describes
    shutil.copyfile(GITHUB_CERT, directory / "github-web-flow.asc")
    return write_keyring(directory, persons=persons, policy=policy,
                         forges=[{"id": "github", "openpgp": "github-web-flow.asc"}])


def sk_person(sk_keys, *oids) -> dict:
    return {"id": "hwkey", "name": "Hardware Key", "keys": [{"ssh": sk_keys[o].pub_line} for o in oids]}


def verify_one(oid, repo, keyring, scratch):
    res = run_verify([oid], repo=repo.path, keyring=keyring, scratch=scratch, trust_root=oid)
    assert_report_shape(res)
    assert res.ids() == {oid}, res.describe()
    return res, res.commit(oid)


@pytest.mark.parametrize("oid", [WEBFLOW_OLD, WEBFLOW_NEW])
def test_web_flow_is_forge(oid, vectors_repo, tmp_path, scratch):
    res, c = verify_one(oid, vectors_repo, github_keyring(tmp_path / "kr"), scratch)
    assert c["status"] == "forge", res.describe()
    assert c["signer"] == "github"
    assert c["trusted"] is False  # forge = "reject" by default
    assert c["signature"]["type"] == "openpgp"
    # the 40-hex fingerprint or, failing that, the key id: either ends in the key id
    assert (c["signature"]["key"] or "").upper().endswith(KEYID[oid]), res.describe()
    assert res.code == 1


@pytest.mark.parametrize("oid", [WEBFLOW_OLD, WEBFLOW_NEW])
def test_web_flow_forge_accept(oid, vectors_repo, tmp_path, scratch):
    res, c = verify_one(oid, vectors_repo, github_keyring(tmp_path / "kr", policy={"forge": "accept"}), scratch)
    assert (c["status"], c["signer"], c["trusted"]) == ("forge", "github", True), res.describe()
    assert res.code == 0


@pytest.mark.parametrize("oid", [WEBFLOW_NEW])
def test_web_flow_without_forge_is_unknown(oid, vectors_repo, tmp_path, scratch, sk_keys):
    kr = write_keyring(tmp_path / "kr", persons=[sk_person(sk_keys, SK_ECDSA)])
    res, c = verify_one(oid, vectors_repo, kr, scratch)
    assert (c["status"], c["signer"], c["trusted"]) == ("unknown-key", None, False), res.describe()


def test_web_flow_tampered_is_bad(vectors_repo, tmp_path, scratch):
    bad = vectors_repo.tamper(WEBFLOW_OLD)
    res = run_verify([bad], repo=vectors_repo.path, keyring=github_keyring(tmp_path / "kr"), scratch=scratch,
                     trust_root=bad)
    assert_report_shape(res)
    c = res.commit(bad)
    assert (c["status"], c["trusted"], c["signer"]) == ("bad-signature", False, None), res.describe()


@pytest.mark.parametrize("oid", [SK_ECDSA, SK_ED25519])
def test_security_key_trusted_when_listed(oid, vectors_repo, tmp_path, scratch, sk_keys):
    kr = write_keyring(tmp_path / "kr", persons=[sk_person(sk_keys, SK_ECDSA, SK_ED25519)])
    res, c = verify_one(oid, vectors_repo, kr, scratch)
    assert (c["status"], c["signer"], c["trusted"]) == ("trusted", "hwkey", True), res.describe()
    assert c["signature"]["type"] == "ssh"
    assert c["signature"]["key"] == sk_keys[oid].fingerprint
    assert res.code == 0


@pytest.mark.parametrize("oid", [SK_ECDSA, SK_ED25519])
def test_security_key_unknown_when_not_listed(oid, vectors_repo, tmp_path, scratch, sk_keys):
    other = SK_ED25519 if oid == SK_ECDSA else SK_ECDSA
    kr = github_keyring(tmp_path / "kr", persons=[sk_person(sk_keys, other)])
    res, c = verify_one(oid, vectors_repo, kr, scratch)
    assert (c["status"], c["signer"], c["trusted"]) == ("unknown-key", None, False), res.describe()
    assert c["signature"]["type"] == "ssh"
    assert c["signature"]["key"] == sk_keys[oid].fingerprint
    assert res.code == 1


def test_security_key_validity_window(vectors_repo, tmp_path, scratch, sk_keys):
    """valid_before earlier than the committer time: expired-key."""
    person = {"id": "hwkey", "keys": [{"ssh": sk_keys[SK_ED25519].pub_line,
                                        "valid_before": Raw("2000-01-01T00:00:00Z")}]}
    kr = write_keyring(tmp_path / "kr", persons=[person])
    res, c = verify_one(SK_ED25519, vectors_repo, kr, scratch)
    assert (c["status"], c["trusted"]) == ("expired-key", False), res.describe()


def test_x509_never_trusted(vectors_repo, tmp_path, scratch, sk_keys):
    kr = github_keyring(tmp_path / "kr", policy={"forge": "accept"}, persons=[sk_person(sk_keys, SK_ECDSA, SK_ED25519)])
    res, c = verify_one(X509, vectors_repo, kr, scratch)
    assert c["trusted"] is False, res.describe()
    assert c["status"] not in ("trusted", "forge", "unsigned"), res.describe()
    assert c["signature"]["type"] == "x509", res.describe()
    assert c["signer"] is None
    assert res.code == 1


def test_x509_real_gitsign_checked_offline(vectors_repo, tmp_path, scratch):
    """Issue 21: certificate chain (to the shipped public-good root), identity, issuer and CMS
    are checked offline; with no log entry the commit is unknown-key, even with its identity listed."""
    person = {"id": "billy", "keys": [{"sigstore": Raw('{identity = "billy@chainguard.dev", '
                                                       'issuer = "https://accounts.google.com"}')}]}
    kr = write_keyring(tmp_path / "kr", persons=[person])
    res, c = verify_one(X509, vectors_repo, kr, scratch)
    assert (c["status"], c["trusted"], c["signer"]) == ("unknown-key", False, None), res.describe()
    assert "no transparency-log entry" in c["reason"], c["reason"]
    assert "billy@chainguard.dev (https://accounts.google.com)" in c["reason"]
    assert c["signature"]["key"] == "billy@chainguard.dev (https://accounts.google.com)"


def test_x509_real_gitsign_one_byte_changed(vectors_repo, tmp_path, scratch):
    oid = vectors_repo.tamper(X509)
    kr = write_keyring(tmp_path / "kr", persons=[{"id": "p", "keys": []}])
    res = run_verify([oid], repo=vectors_repo.path, keyring=kr, scratch=scratch, trust_root=oid)
    c = res.commit(oid)
    assert c["status"] == "bad-signature" and "message digest" in c["reason"], res.describe()


def test_shallow_boundary(vectors_repo, tmp_path, scratch, sk_keys):
    """A CI checkout with fetch-depth 1 is shallow: git's .git/shallow marks where history stops."""
    root = tmp_path / "shallow"
    repo = Repo(root / "repo", root)
    oid = SK_ED25519
    repo.write_raw((VECTORS / f"{oid}.commit").read_bytes(), literally=True)
    repo.ref("refs/heads/main", oid)
    (repo.path / ".git" / "shallow").write_text(oid + "\n")
    assert repo.git("rev-list", "HEAD") == oid
    kr = write_keyring(tmp_path / "kr", persons=[sk_person(sk_keys, SK_ED25519)])
    res = run_verify(["HEAD"], repo=repo.path, keyring=kr, scratch=scratch)
    assert_report_shape(res)
    assert res.ids() == {oid}, res.describe()
    assert res.commit(oid)["status"] == "trusted"
    assert res.code == 0
