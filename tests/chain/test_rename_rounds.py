"""A package renamed more times in a row than ``annotate`` follows is never trusted.

``annotate`` and ``pin`` follow a package's renames back for at most
``MAX_RENAME_ROUNDS`` rounds. Commits made under a still older name would be
missing from the chain, so a chain cut short that way must not read as a whole
history vouched for: the package is not trusted and a note says why. The
history is made with git and ssh-keygen; every commit is signed by a trusted key
except the first change under the oldest name, which is unsigned.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.fixtures_git import SshKey, run_cli
from tests.fixtures.approvals import GitRepo, person_toml

pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in ("git", "ssh-keygen")), reason="needs git and ssh-keygen"
)

LIMIT = 20  # commitguard.chain.annotate.MAX_RENAME_ROUNDS, as SECURITY.md states it
FINAL = "pkgs/by-name/re/renamed/package.nix"
EXPR = '{ stdenv }:\nstdenv.mkDerivation {\n  pname = "renamed";\n  version = "1.0";\n  src = ./.;\n}\n'


def history(tmp_path, renames: int):
    alice = SshKey.generate(tmp_path / "ssh", "alice", "ed25519")
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text("version = 1\n\n" + person_toml("alice", ssh=[alice]))
    repo = GitRepo(tmp_path / "repo", tmp_path)
    root = repo.commit("init", {"README.md": "# packages\n"}, signer=alice)
    names = [f"pkgs/old{i}/renamed/default.nix" for i in range(renames)] + [FINAL]
    unsigned = repo.commit("add the package under its oldest name", {names[0]: EXPR})  # nobody vouches
    for old, new in zip(names, names[1:]):
        (repo.path / new).parent.mkdir(parents=True, exist_ok=True)
        repo.git("mv", old, new)
        repo.commit(f"move {old} to {new}", signer=alice)
    return repo, keyring, root, unsigned


def annotate(repo, keyring, root, tmp_path):
    res = run_cli(["annotate", FINAL, "--repo", str(repo.path), "--keyring", str(keyring), "--trust-root", root,
                   "--format", "json", "--no-cache"], scratch=tmp_path / "scratch")
    return res, json.loads(res.stdout)["packages"][0]


def test_renames_within_the_limit_are_followed_to_the_unsigned_commit(tmp_path):
    repo, keyring, root, unsigned = history(tmp_path, 3)
    res, package = annotate(repo, keyring, root, tmp_path)
    commits = [link["commit"] for link in package["chain"] if link.get("role", link.get("kind")) != "upstream"]
    assert unsigned in commits, package["chain"]
    assert package["history_trusted"] is False
    assert res.code == 1


def test_renames_past_the_limit_leave_the_package_untrusted_with_a_reason(tmp_path):
    repo, keyring, root, unsigned = history(tmp_path, LIMIT + 3)
    res, package = annotate(repo, keyring, root, tmp_path)
    assert package["history_trusted"] is False, package
    assert package["trusted"] is False
    assert any(f"renamed more than {LIMIT} times in a row" in note for note in package["notes"]), package["notes"]
    assert res.code == 1
