"""Keyring commands (show, check, diff) on Sigstore identities and a keyring's own trusted root."""

from __future__ import annotations

import json

from tests.fixtures_git import run_cli
from tests.signatures import sigstore_world as sw

BILLY = 'sigstore = {identity = "billy@chainguard.dev", issuer = "https://accounts.google.com"}'
WORKFLOW = ('sigstore = {identity = "https://github.com/o/r/.github/workflows/ci.yml@refs/heads/main", '
            'issuer = "https://token.actions.githubusercontent.com"}')


def _keyring(directory, policy: str = "", *, forge: bool = True):
    directory.mkdir(parents=True, exist_ok=True)
    body = f'version = 1\n{policy}\n[[person]]\nid = "billy"\n[[person.key]]\n{BILLY}\n'
    if forge:
        body += f'[[forge]]\nid = "ci"\n{WORKFLOW}\n'
    (directory / "keyring.toml").write_text(body)
    return directory


def test_show_lists_identities(tmp_path, scratch):
    kr = _keyring(tmp_path / "kr")
    res = run_cli(["keyring", "show", "--keyring", str(kr), "--format", "json"], scratch=scratch)
    assert res.code == 0, res.describe()
    data = json.loads(res.stdout)
    (key,) = data["persons"][0]["keys"]
    assert (key["type"], key["fingerprint"], key["usable"]) == (
        "sigstore", "billy@chainguard.dev (https://accounts.google.com)", True)
    assert data["forges"][0]["keys"][0]["type"] == "sigstore"


def test_check_is_clean(tmp_path, scratch):
    res = run_cli(["keyring", "check", "--keyring", str(_keyring(tmp_path / "kr"))], scratch=scratch)
    assert res.code == 0, res.describe()


def test_diff_names_added_identities_and_a_new_root(tmp_path, scratch):
    old = _keyring(tmp_path / "old", forge=False)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "root.json").write_bytes(sw.make_world().root_json)
    new = _keyring(tmp_path / "new", '[policy]\nsigstore_trusted_root = "root.json"\n')
    res = run_cli(["keyring", "diff", str(old), str(new), "--format", "json"], scratch=scratch)
    data = json.loads(res.stdout)
    ids = {(c["code"], c["id"], c["loosens"]) for c in data["changes"]}
    assert ("policy-changed", "policy.sigstore_trusted_root", True) in ids, data
    assert any(c["code"] == "key-added" and c["key"].startswith("sigstore https://github.com/o/r/")
               for c in data["changes"]), data
    assert data["loosens"] is True


# -- keyring import github --sigstore ------------------------------------------------------

from datetime import datetime, timezone  # noqa: E402

import pytest  # noqa: E402

from commitguard.keyring import writer  # noqa: E402
from commitguard.keyring.importers.github import GITHUB_OIDC_ISSUER, GitHubImporter  # noqa: E402
from commitguard.keyring.importers.registry import ImportRequest  # noqa: E402
from commitguard.keyring.loader import load_keyring  # noqa: E402
from tests.fixtures.forge import FakeGitHub, serving, user_json  # noqa: E402

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def api():
    yield from serving(FakeGitHub())


def _serve(api: FakeGitHub, login: str, uid: int, email: str | None) -> None:
    api.route(f"/users/{login}", user_json(login, uid, None, email))
    api.route(f"/users/{login}/gpg_keys", [])
    api.route(f"/users/{login}/ssh_signing_keys", [])


def _load(api, *logins, sigstore: bool):
    return GitHubImporter(ImportRequest(args=logins, github_api=api.base_url, now=NOW, sigstore=sigstore)).load()


def test_github_import_lists_no_sigstore_identity_unless_asked(api):
    _serve(api, "alice", 1, "alice@public.example")
    (alice,) = _load(api, "alice", sigstore=False).persons
    assert all(k.sigstore is None for k in alice.keys)


def test_github_import_sigstore_identity_round_trip(api, tmp_path):
    _serve(api, "alice", 1, "alice@public.example")
    _serve(api, "bob", 2, None)
    result = _load(api, "alice", "bob", sigstore=True)
    alice, bob = result.persons
    (key,) = alice.keys
    assert key.sigstore == ("alice@public.example", GITHUB_OIDC_ISSUER) and key.obtained == NOW
    assert bob.keys == () and any("github:bob: no public e-mail address" in n for n in result.notes)
    kr = tmp_path / "kr"
    report = writer.apply_import(kr, result)
    assert any("added Sigstore identity alice@public.example" in c for c in report.changes), report
    (entry,) = load_keyring(kr).person("alice").keys
    assert entry.sigstore.identity == "alice@public.example" and entry.sigstore.issuer == GITHUB_OIDC_ISSUER
    assert entry.source == f"github:alice via {api.base_url}"
    again = writer.apply_import(kr, _load(api, "alice", "bob", sigstore=True))
    assert not again.changes, again  # idempotent


def test_cli_flag(api, tmp_path, scratch):
    _serve(api, "alice", 1, "alice@public.example")
    kr = tmp_path / "kr"
    res = run_cli(["keyring", "import", "github", "alice", "--sigstore", "--keyring", str(kr), "--github-api",
                   api.base_url], scratch=scratch, env={"GITHUB_TOKEN": ""})
    assert res.code == 0, res.describe()
    assert 'sigstore = {identity = "alice@public.example", issuer = "https://github.com/login/oauth"}' in (
        kr / "keyring.toml").read_text()
