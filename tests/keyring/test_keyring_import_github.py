"""``keyring import github LOGIN...``: GPG and SSH signing keys through the GitHub API.

A local HTTP server stands in for api.github.com, answering with the JSON
shapes of GitHub's REST API (users, gpg_keys, ssh_signing_keys, Link-header
pagination, error bodies); the keys in it are real, made by gpg and
ssh-keygen. PyGithub is pointed at it, so nothing touches the network.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.github import GitHubImporter
from commitguard.keyring.importers.registry import ImportRequest, importer_for
from commitguard.signatures.openpgp_packets import split_certs
from tests.fixtures.forge import FakeGitHub, gpg_key_json, serving, user_json
from tests.fixtures_git import Gpg, PgpSigner, Repo, SshKey, SshSigner, run_verify

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None or shutil.which("ssh-keygen") is None,
                                reason="needs gpg and ssh-keygen")

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def api():
    yield from serving(FakeGitHub())


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """Real keys: alice's OpenPGP certificate (certify-only primary, signing subkey), a
    certify-only certificate, a revoked-on-GitHub one, and two SSH keys."""
    root = tmp_path_factory.mktemp("github-keys")
    gpg = Gpg(root / "gnupg", root)
    try:
        m = {"gpg": gpg, "root": root}
        m["alice"] = gpg.gen_key("Alice Example <alice@example.org>", "ed25519", "cert")
        m["alice_sub"] = gpg.add_subkey(m["alice"], "ed25519", "sign")
        m["certonly"] = gpg.gen_key("Alice Certify-only <alice@example.org>", "ed25519", "cert")
        m["oldkey"] = gpg.gen_key("Alice Old <alice@old.example>", "ed25519", "sign")
        for name in ("alice", "certonly", "oldkey"):
            m[name + "_armor"] = gpg.gpg("--armor", "--export", m[name]).stdout.decode()
        m["ssh_ed25519"] = SshKey.generate(root / "ssh", "alice_ed25519", "ed25519")
        m["ssh_ecdsa"] = SshKey.generate(root / "ssh", "alice_ecdsa", "ecdsa", 256)
        yield m
    finally:
        gpg.kill_agent()


def serve_alice(api: FakeGitHub, m: dict) -> None:
    api.route("/users/AliceExample", user_json("AliceExample", 1001, "Alice Example", "alice@public.example"))
    api.route("/users/AliceExample/gpg_keys", [
        gpg_key_json(3, m["alice"], m["alice_armor"], can_sign=False, subkeys=[(m["alice_sub"], True)],
                     emails=[("alice@example.org", True), ("alice@unverified.example", False)]),
        gpg_key_json(4, "3262EFF25BA0D270", None, can_sign=True),  # uploaded before GitHub kept raw keys
        gpg_key_json(5, m["certonly"], m["certonly_armor"], can_sign=False),
        gpg_key_json(6, m["oldkey"], m["oldkey_armor"], can_sign=True, revoked=True,
                     emails=[("alice@old.example", True)]),
    ])
    # two pages, linked as GitHub does
    api.route("/users/AliceExample/ssh_signing_keys", [
        {"key": m["ssh_ed25519"].pub_line.rsplit(" ", 1)[0], "id": 2, "title": "laptop",
         "created_at": "2020-06-11T21:31:57Z"},
        {"key": "ssh-foo AAAAB3NzaC1yc2EAAA", "id": 3, "title": "odd", "created_at": "2020-06-11T21:31:57Z"},
    ], headers={"Link": '<{base}/users/AliceExample/ssh_signing_keys?per_page=100&page=2>; rel="next", '
                        '<{base}/users/AliceExample/ssh_signing_keys?per_page=100&page=2>; rel="last"'})
    api.route("/users/AliceExample/ssh_signing_keys?page=2", [
        {"key": m["ssh_ecdsa"].pub_line.rsplit(" ", 1)[0], "id": 7, "title": "yubikey",
         "created_at": "2021-02-01T10:00:00Z"},
    ], headers={"Link": '<{base}/users/AliceExample/ssh_signing_keys?per_page=100&page=1>; rel="prev", '
                        '<{base}/users/AliceExample/ssh_signing_keys?per_page=100&page=1>; rel="first"'})


def serve_bob_without_keys(api: FakeGitHub) -> None:
    api.route("/users/bob", user_json("bob", 1002, None))
    api.route("/users/bob/gpg_keys", [])
    api.route("/users/bob/ssh_signing_keys", [])


def load(api: FakeGitHub, *logins: str, token: str | None = None):
    req = ImportRequest(args=logins, github_api=api.base_url, github_token=token, now=NOW)
    return GitHubImporter(req).load()


def test_registry_names_the_importer():
    assert isinstance(importer_for("github", ImportRequest(args=("x",))), GitHubImporter)


def test_keys_source_and_obtained(api, material):
    m = material
    serve_alice(api, m)
    serve_bob_without_keys(api)
    result = load(api, "AliceExample", "bob")
    alice, bob = result.persons
    source = f"github:AliceExample via {api.base_url}"

    assert alice.id == "aliceexample" and alice.github == "AliceExample" and alice.github_id == 1001
    assert alice.name == "Alice Example"
    # the public profile email and the verified GPG key emails, never the unverified one
    assert alice.emails == ("alice@public.example", "alice@example.org", "alice@old.example")

    pgp = [k for k in alice.keys if k.openpgp is not None]
    ssh = [k for k in alice.keys if k.ssh is not None]
    assert [k.fingerprint for k in pgp] == [m["alice"], m["oldkey"]]
    (cert,) = split_certs(pgp[0].openpgp)
    assert cert.fingerprint == m["alice"] and m["alice_sub"] in cert.key_fingerprints
    assert pgp[0].revoked is False and pgp[1].revoked is True
    assert [k.ssh for k in ssh] == [m["ssh_ed25519"].pub_line.rsplit(" ", 1)[0],
                                    m["ssh_ecdsa"].pub_line.rsplit(" ", 1)[0]]
    for k in alice.keys:
        assert k.source == source and k.obtained == NOW

    assert bob.id == "bob" and bob.keys == () and bob.name is None and bob.github_id == 1002
    notes = "\n".join(result.notes)
    assert "github:bob: no usable signing keys" in notes
    assert "GPG key 3262EFF25BA0D270 has no raw_key" in notes
    assert f"({m['certonly']}) cannot sign" in notes
    assert f"({m['oldkey']}) is revoked on GitHub" in notes
    assert "SSH signing key 3 (odd): key type 'ssh-foo' cannot be verified" in notes
    assert result.policy == {}

    paths = [r.path for r in api.log]
    assert any(p.startswith("/users/AliceExample/ssh_signing_keys?") and "page=2" in p for p in paths), paths
    assert all("Authorization" not in r.headers for r in api.log)


def test_token_is_sent(api, material):
    serve_bob_without_keys(api)
    load(api, "bob", token="s3cret-token")
    assert api.log and all("s3cret-token" in r.headers.get("Authorization", "") for r in api.log)


@pytest.mark.parametrize("status, needle", [(404, "HTTP 404"), (401, "HTTP 401"), (500, "HTTP 500")])
def test_http_errors_name_login_and_status(api, status, needle):
    api.route("/users/ghost", {"message": "Not Found" if status == 404 else "Bad credentials"}, status=status)
    with pytest.raises(CommitguardError) as err:
        load(api, "ghost")
    message = str(err.value)
    assert needle in message and "'ghost'" in message and "\n" not in message


def test_error_on_a_key_list(api):
    api.route("/users/carol", user_json("carol", 1003, "Carol"))
    api.route("/users/carol/gpg_keys", {"message": "API rate limit exceeded for 127.0.0.1."}, status=403)
    with pytest.raises(CommitguardError) as err:
        load(api, "carol")
    assert "HTTP 403" in str(err.value) and "GPG keys of 'carol'" in str(err.value)


def test_garbage_answers(api):
    api.route("/users/dave", user_json("dave", 1004, "Dave"))
    api.route("/users/dave/gpg_keys", b"{not json")
    with pytest.raises(CommitguardError) as err:
        load(api, "dave")
    assert "not JSON" in str(err.value) and "dave" in str(err.value)

    api.route("/users/dave/gpg_keys", {"not": "a list"})
    with pytest.raises(CommitguardError) as err:
        load(api, "dave")
    assert "expected a JSON list" in str(err.value)

    api.route("/users/dave/gpg_keys", [gpg_key_json(9, "0" * 40, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nxx\n",
                                                    can_sign=True), "junk"])
    api.route("/users/dave/ssh_signing_keys", [{"key": "ssh-ed25519 !!!notbase64", "id": 1}, {"id": 2}])
    result = load(api, "dave")
    (dave,) = result.persons
    assert dave.keys == ()
    notes = "\n".join(result.notes)
    assert "raw_key is not an OpenPGP certificate" in notes
    assert "a GPG key entry is not an object" in notes
    assert "invalid base64" in notes and "has no key line" in notes


def test_unreachable_api(material):
    req = ImportRequest(args=("alice",), github_api="http://127.0.0.1:9", now=NOW)
    with pytest.raises(CommitguardError) as err:
        GitHubImporter(req).load()
    assert "cannot reach http://127.0.0.1:9" in str(err.value) and "'alice'" in str(err.value)


@pytest.mark.parametrize("logins", [(), ("../etc",), ("a b",), ("-x",), ("Alice", "alice")])
def test_bad_logins(logins):
    with pytest.raises(CommitguardError) as err:
        GitHubImporter(ImportRequest(args=logins, github_api="http://127.0.0.1:9")).load()
    assert "LOGIN" in str(err.value)


def test_round_trip_and_verify(api, material, tmp_path):
    """Imported keys verify real commits signed with them."""
    from commitguard.keyring import writer
    from commitguard.keyring.loader import load_keyring

    m = material
    serve_alice(api, m)
    result = load(api, "AliceExample")
    kr = tmp_path / "keyring"
    writer.apply_import(kr, result)
    loaded = load_keyring(kr)
    person = loaded.person("aliceexample")
    assert person.github == "AliceExample" and person.github_id == 1001
    assert {k.source for k in person.keys} == {f"github:AliceExample via {api.base_url}"}
    assert {k.obtained for k in person.keys} == {NOW}

    repo = Repo(tmp_path / "repo", tmp_path)
    c1 = repo.commit("by ssh", signer=SshSigner(m["ssh_ed25519"]))
    c2 = repo.commit("by openpgp", parents=[c1], signer=PgpSigner(m["gpg"], m["alice_sub"]))
    c3 = repo.commit("by ecdsa", parents=[c2], signer=SshSigner(m["ssh_ecdsa"]))
    repo.ref("refs/heads/main", c3)
    res = run_verify([c3], repo=repo.path, keyring=kr, scratch=tmp_path / "scratch")
    data = res.json
    assert res.code == 0, res.describe()
    assert [c["status"] for c in data["commits"]] == ["trusted"] * 3, res.describe()
    assert {c["signer"] for c in data["commits"]} == {"aliceexample"}


def test_cli_import(api, material, tmp_path):
    from tests.fixtures_git import run_cli

    serve_alice(api, material)
    kr = tmp_path / "keyring"
    scratch = tmp_path / "scratch"
    res = run_cli(["keyring", "import", "github", "AliceExample", "--keyring", kr, "--github-api", api.base_url],
                  scratch=scratch, env={"GITHUB_TOKEN": ""})
    assert res.code == 0, res.describe()
    assert "has no raw_key" in res.stdout, res.describe()
    res = run_cli(["keyring", "import", "github", "ghost", "--keyring", tmp_path / "k2", "--github-api",
                   api.base_url], scratch=scratch, env={"GITHUB_TOKEN": ""})
    assert res.code == 2, res.describe()
    (line,) = res.stderr.strip().splitlines()
    assert "HTTP 404" in line and "'ghost'" in line
