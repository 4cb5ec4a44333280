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
