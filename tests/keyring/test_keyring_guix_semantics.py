"""``keyring import guix`` judges a channel's history as ``guix git authenticate`` does (issue 13, item 3).

Guix (guix/git-authenticate.scm) looks up the key named by the signature's
issuer, primary or subkey, and authorizes the commit when *that key's*
fingerprint is in ``.guix-authorizations``; it ignores expiry. So:

* an authorization naming a signing subkey authorizes that subkey (the
  layout of Guix's own channel: "primary: ..." in a comment, the subkey listed);
* an authorization naming a primary authorizes signatures by the primary,
  not by its subkeys;
* a key that had expired when it signed still authenticates;
* an authorized fingerprint no certificate holds verifies nothing, and the
  verdict says "pinned ... but no certificate", never "not in the keyring".

Keys and signatures are made by gpg and git, at faked times.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from commitguard.keyring import writer
from commitguard.keyring.importers.guix import GuixImporter
from commitguard.keyring.importers.registry import ImportRequest
from commitguard.keyring.loader import load_keyring
from tests.fixtures_git import Gpg, PgpSigner, Repo, run_cli, run_verify
from tests.fixtures.guix import CHANNEL, authorizations, make_tree

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("git") is None,
                                reason="needs gpg and git")

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def channel(tmp_path_factory):
    root = tmp_path_factory.mktemp("guix-semantics")
    gpg = Gpg(root / "gnupg", root)
    k: dict = {}
    try:
        k["ana"] = gpg.gen_key("Ana <ana@example.org>", "ed25519", "cert")
        k["ana_sub"] = gpg.add_subkey(k["ana"], "ed25519", "sign")
        k["ben"] = gpg.gen_key("Ben <ben@example.org>", "ed25519", "sign")
        k["ben_sub"] = gpg.add_subkey(k["ben"], "ed25519", "sign")
        k["eve"] = gpg.gen_key("Eve <eve@example.org>", "ed25519", "sign")
        k["carol"] = gpg.gen_key("Carol <carol@example.org>", "ed25519", "sign")

        repo = Repo(root / "channel", root)
        auth = authorizations([(k["ana_sub"], "ana"), (k["ben"], "ben"), (k["eve"], "eve"), (k["carol"], "carol")])
        files = {"README": "hello\n", ".guix-authorizations": auth, ".guix-channel": CHANNEL.format(branch="keyring")}
        ids = {}
        ids["c0"] = repo.commit("before authentication", tree=make_tree(repo, {"README": "hello\n"}),
                                when="2024-01-01T00:00:00Z")

        def commit(name, key, when, parent):
            files["README"] = f"{name}\n"
            ids[name] = repo.commit(name, parents=[ids[parent]], tree=make_tree(repo, files),
                                    signer=PgpSigner(gpg, k[key]), when=when)

        commit("intro", "ana_sub", "2024-01-02T00:00:00Z", "c0")
        commit("ben_primary", "ben", "2024-01-03T00:00:00Z", "intro")
        commit("ben_subkey", "ben_sub", "2024-01-04T00:00:00Z", "ben_primary")
        commit("eve_expired", "eve", "2024-01-05T00:00:00Z", "ben_subkey")
        commit("carol_no_cert", "carol", "2024-01-06T00:00:00Z", "eve_expired")
        commit("ana_again", "ana_sub", "2024-01-07T00:00:00Z", "carol_no_cert")
        repo.ref("refs/heads/main", ids["ana_again"])
        repo.git("symbolic-ref", "HEAD", "refs/heads/main")

        # eve's key gets an expiry after the fact (a self-signature of 2020 saying
        # "expires 2021"): her 2024 signature was made by an expired key
        gpg.set_expire(k["eve"], "2021-01-01", at="2020-06-01T00:00:00Z")
        keyring_files = {f"{n}.key": gpg.gpg("--armor", "--export", k[n]).stdout for n in ("ana", "ben", "eve")}
        repo.ref("refs/heads/keyring", repo.commit("keyring", tree=make_tree(repo, keyring_files)))
        yield repo, ids, k
    finally:
        gpg.kill_agent()


# What `guix git authenticate` says of each commit after the introduction.
GUIX_SAYS = {
    "intro": True,           # ana's subkey is authorized
    "ben_primary": True,     # ben's primary is authorized
    "ben_subkey": False,     # "not signed by an authorized key": Guix compares the subkey's fingerprint
    "eve_expired": True,     # Guix ignores expiry
    "carol_no_cert": False,  # "key ... is missing"
    "ana_again": True,
}


def test_guix_import_verifies_as_guix_would(channel, tmp_path):
    repo, ids, k = channel
    kr = tmp_path / "keyring"
    result = GuixImporter(ImportRequest(repo=str(repo.path), introduction=ids["intro"], now=NOW)).load()
    writer.apply_import(kr, result)
    loaded = load_keyring(kr)
    assert [(p.id, [(e.openpgp.fingerprint, e.signing_keys) for e in p.keys], p.pins) for p in loaded.persons] == [
        ("ana", [(k["ana"], (k["ana_sub"],))], ()),
        ("ben", [(k["ben"], (k["ben"],))], ()),
        ("eve", [(k["eve"], (k["eve"],))], ()),
        ("carol", [], (k["carol"],)),
    ]
    res = run_verify(["HEAD"], repo=repo.path, keyring=kr, scratch=tmp_path / "s", trust_root=ids["intro"])
    assert res.code == 1, res.describe()
    got = {c["id"]: c for c in res.json["commits"]}
    by_name = {name: got[ids[name]] for name in GUIX_SAYS}
    assert {n: c["trusted"] for n, c in by_name.items()} == GUIX_SAYS, res.describe()
    assert [by_name[n]["status"] for n in GUIX_SAYS] == [
        "trusted", "trusted", "unknown-key", "trusted", "unknown-key", "trusted"]
    assert by_name["ben_subkey"]["reason"] == (
        f"openpgp {k['ben_sub']} of ben is a key of certificate {k['ben']}, but the keyring lets only {k['ben']} "
        "of it sign (signing_keys)")
    assert by_name["carol_no_cert"]["reason"] == (
        f"signed by OpenPGP fingerprint {k['carol']}, pinned for carol in the keyring, but no certificate holds it "
        f"(add the certificate to verify signatures by {k['carol']})")
    assert by_name["eve_expired"]["signer"] == "eve"
    assert by_name["eve_expired"]["reason"].startswith(f"signed by eve (openpgp {k['eve']}) (its key had expired "
                                                       "when it signed; accepted under policy.openpgp_expiry")
    assert by_name["intro"]["signature"]["key"] == k["ana_sub"]


def test_expiry_is_enforced_once_the_policy_says_so(channel, tmp_path):
    """The same keyring with openpgp_expiry = "enforce": eve's signature is expired, as gpg says."""
    repo, ids, k = channel
    kr = tmp_path / "keyring"
    writer.apply_import(kr, GuixImporter(ImportRequest(repo=str(repo.path), introduction=ids["intro"], now=NOW)).load())
    text = (kr / "keyring.toml").read_text().replace('openpgp_expiry = "ignore"', 'openpgp_expiry = "enforce"')
    (kr / "keyring.toml").write_text(text)
    res = run_verify([ids["eve_expired"]], repo=repo.path, keyring=kr, scratch=tmp_path / "s")
    (c,) = [c for c in res.json["commits"] if c["id"] == ids["eve_expired"]]
    assert (c["status"], c["trusted"]) == ("expired-key", False), res.describe()
    assert c["reason"] == (f"openpgp {k['eve']} of eve had expired (2021-01-01T12:00:00Z) when it signed at "
                           "2024-01-05T00:00:00Z")


def test_reimport_is_idempotent_and_cli_reports_signing_keys(channel, tmp_path):
    repo, ids, k = channel
    kr = tmp_path / "keyring"
    scratch = tmp_path / "s"
    args = ["keyring", "import", "guix", "--repo", repo.path, "--keyring", kr, "--introduction", ids["intro"]]
    first = run_cli(args, scratch=scratch)
    assert first.code == 0, first.describe()
    toml = (kr / "keyring.toml").read_text()
    assert f'signing_keys = ["{k["ana_sub"]}"]' in toml, toml
    second = run_cli(args, scratch=scratch)
    assert second.code == 0 and "nothing to change" in second.stdout, second.describe()
    assert (kr / "keyring.toml").read_text() == toml


def test_sha1_bound_certificate_is_noted_and_judged_weak(tmp_path):
    """Guix accepts a certificate bound by SHA-1 self-signatures (a real channel, guix-bimsb, has one);
    commitguard rejects it unless the policy says otherwise, and the import says so."""
    gpg = Gpg(tmp_path / "gnupg", tmp_path)
    try:
        gpg.gpg("--cert-digest-algo", "SHA1", "--quick-gen-key", "Old <old@example.org>", "ed25519", "sign", "never",
                at=gpg.KEY_TIME)
        old = gpg.keys("old@example.org")[0]
        repo = Repo(tmp_path / "channel", tmp_path)
        repo.ref("refs/heads/keyring", repo.commit("keyring", tree=make_tree(
            repo, {"old.key": gpg.gpg("--armor", "--export", old).stdout})))
        files = {".guix-authorizations": authorizations([(old, "old")]),
                 ".guix-channel": CHANNEL.format(branch="keyring")}
        intro = repo.commit("intro", tree=make_tree(repo, files), signer=PgpSigner(gpg, old),
                            when="2024-01-02T00:00:00Z")
        repo.ref("refs/heads/main", intro)
        repo.git("symbolic-ref", "HEAD", "refs/heads/main")
    finally:
        gpg.kill_agent()
    result = GuixImporter(ImportRequest(repo=str(repo.path), introduction=intro, now=NOW)).load()
    assert (f"certificate {old} of old binds its authorized key(s) with SHA-1 self-signatures: Guix accepts them, "
            "commitguard rejects every signature by such a key (weak-signature) unless policy.openpgp_sha1 = "
            "\"accept\" (which also accepts SHA-1 commit signatures); better, the holder re-signs the bindings with "
            "SHA-256 and the keyring branch is updated") in result.notes, result.notes
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    res = run_verify([intro], repo=repo.path, keyring=kr, scratch=tmp_path / "s")
    assert [(c["status"], c["reason"]) for c in res.json["commits"]] == [
        ("weak-signature", "the certificate of old is bound with SHA-1 self-signatures")], res.describe()
    toml = (kr / "keyring.toml").read_text()
    (kr / "keyring.toml").write_text(toml.replace('openpgp_expiry = "ignore"',
                                                  'openpgp_expiry = "ignore"\nopenpgp_sha1 = "accept"'))
    res = run_verify([intro], repo=repo.path, keyring=kr, scratch=tmp_path / "s2")
    assert [(c["status"], c["signer"]) for c in res.json["commits"]] == [("trusted", "old")], res.describe()
