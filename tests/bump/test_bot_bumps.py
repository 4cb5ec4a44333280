"""``audit-bump`` on the bot bumps of a community package set (issue 18).

numtide/nix-ai-tools is bumped by a bot whose commits take four shapes,
measured on 150 of them with ``bench/bump_agreement.py``: pure bumps
(versions and hashes in ``hashes.json``), bumps whose regenerated lockfile
moves only dependency versions and hashes, bumps whose lockfile adds or drops
a dependency, and a release that moved to another download host. Its
packages build through ``buildGoModule.override``, and its unstable packages
move their rev under an unchanged ``0-unstable-DATE`` version. The
expressions below follow those shapes (written for the test); the history is
made with real git, one bot commit per case, titled as the bot titles them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path

import pygit2
import pytest

from commitguard.bump import audit_bump, empty_keyring
from tests.fixtures_git import Repo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed")

BOT = {"GIT_AUTHOR_NAME": "github-actions[bot]", "GIT_AUTHOR_EMAIL": "41898282+github-actions[bot]@users.noreply.github.com",
       "GIT_AUTHOR_DATE": "2026-04-30T05:22:37Z", "GIT_COMMITTER_DATE": "2026-04-30T05:22:37Z"}


def sri(label: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


def integrity(label: str) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(label.encode()).digest()).decode()


GO = """{ lib, buildGoModule, fetchFromGitHub, go-bin }:
let
  versionData = builtins.fromJSON (builtins.readFile ./hashes.json);
  inherit (versionData) version hash vendorHash;
in
(buildGoModule.override { go = go-bin; }) {
  pname = "crush";
  inherit version vendorHash;
  src = fetchFromGitHub { owner = "charmbracelet"; repo = "crush"; rev = "v${version}"; inherit hash; };
}
"""

UNSTABLE = """{ lib, stdenv, fetchFromGitHub }:
stdenv.mkDerivation {
  pname = "claw-code";
  version = "0-unstable-%s";
  src = fetchFromGitHub { owner = "ultraworkers"; repo = "claw-code"; rev = "%s"; hash = "%s"; };
}
"""

NPM = """{ lib, buildNpmPackage, fetchzip }:
let
  versionData = builtins.fromJSON (builtins.readFile ./hashes.json);
in
buildNpmPackage {
  pname = "letta-code";
  inherit (versionData) version npmDepsHash;
  src = fetchzip {
    url = "https://registry.npmjs.org/@letta-ai/letta-code/-/letta-code-${versionData.version}.tgz";
    inherit (versionData) hash;
  };
  postPatch = "cp ${./package-lock.json} package-lock.json";
}
"""

BINARY = """{ lib, stdenv, fetchurl }:
let
  versionData = builtins.fromJSON (builtins.readFile ./hashes.json);
  platform = versionData.platforms.${stdenv.hostPlatform.system};
in
stdenv.mkDerivation {
  pname = "qoder-cli";
  inherit (versionData) version;
  src = fetchurl { inherit (platform) url hash; };
}
"""


def lockfile(version: str, deps: dict[str, str]) -> str:
    packages = {"": {"name": "@letta-ai/letta-code", "version": version,
                     "dependencies": {name: f"^{v}" for name, v in deps.items()}}}
    for name, v in deps.items():
        packages[f"node_modules/{name}"] = {
            "version": v, "resolved": f"https://registry.npmjs.org/{name}/-/{name}-{v}.tgz",
            "integrity": integrity(f"{name}@{v}"), "license": "MIT"}
    return json.dumps({"name": "@letta-ai/letta-code", "version": version, "lockfileVersion": 3,
                       "requires": True, "packages": packages}, indent=2) + "\n"


def npm_files(version: str, deps: dict[str, str]) -> dict[str, str]:
    return {"pkgs/letta-code/package.nix": NPM,
            "pkgs/letta-code/hashes.json": json.dumps({"version": version, "hash": sri(f"letta {version}"),
                                                       "npmDepsHash": sri(f"letta deps {version} {sorted(deps.items())}")}),
            "pkgs/letta-code/package-lock.json": lockfile(version, deps)}


def binary_json(version: str, host: str) -> str:
    return json.dumps({"version": version, "platforms": {
        system: {"url": f"https://{host}/qodercli/releases/{version}/qodercli-{system}.tar.gz",
                 "hash": sri(f"qoder {system} {version}")}
        for system in ("x86_64-linux", "aarch64-linux", "aarch64-darwin")}}, indent=2)


class Set:
    def __init__(self, root: Path):
        self.repo = Repo(root / "set", root)
        self.path = self.repo.path

    def commit(self, message: str, files: dict[str, str]) -> str:
        for rel, content in files.items():
            target = self.path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        self.repo.git("add", "-A")
        self.repo.git("commit", "-q", "-m", message, env=BOT)
        return self.repo.git("rev-parse", "HEAD")

    def audit(self, base: str, head: str, title: str):
        report = audit_bump(pygit2.Repository(str(self.path)), base, head, keyring=empty_keyring(), title=title)
        (package,) = report.packages
        return report, package


@pytest.fixture()
def pkgset(tmp_path):
    return Set(tmp_path)


def _messages(package) -> list[str]:
    return [f.message for f in package.findings]


def test_a_plain_bump_of_a_package_built_with_an_overridden_builder(pkgset):
    base = pkgset.commit("crush: init", {"pkgs/crush/package.nix": GO, "pkgs/crush/hashes.json": json.dumps(
        {"version": "0.63.0", "hash": sri("crush 0.63.0"), "vendorHash": sri("crush vendor 0.63.0")})})
    head = pkgset.commit("crush: 0.63.0 -> 0.64.0", {"pkgs/crush/hashes.json": json.dumps(
        {"version": "0.64.0", "hash": sri("crush 0.64.0"), "vendorHash": sri("crush vendor 0.64.0")})})
    report, package = pkgset.audit(base, head, "crush: 0.63.0 -> 0.64.0")
    assert (package.kind, package.old_version, package.new_version) == ("version-bump", "0.63.0", "0.64.0")
    assert list(package.changes) == ["version", "src.hash", "vendorHash"]
    assert package.findings == () and report.findings == ()


def test_an_unstable_rev_bump_under_the_same_version_is_a_version_bump(pkgset):
    old_rev, new_rev = "8e24f3049e6a2fe2c5ab7363276950d1acc7f8c5", "e939777f928d625f9b4c2d5c8b4e95e869b7f850"
    base = pkgset.commit("claw-code: init", {
        "pkgs/claw-code/package.nix": UNSTABLE % ("2026-04-30", old_rev, sri(old_rev))})
    head = pkgset.commit("claw-code: 0-unstable-2026-04-30 -> 0-unstable-2026-04-30", {
        "pkgs/claw-code/package.nix": UNSTABLE % ("2026-04-30", new_rev, sri(new_rev))})
    _, package = pkgset.audit(base, head, "claw-code: 0-unstable-2026-04-30 -> 0-unstable-2026-04-30")
    assert (package.kind, list(package.changes)) == ("version-bump", ["src.rev", "src.hash"])
    # the title agrees with the change: no finding, and none that prints "X -> X" against itself
    assert package.findings == ()


def test_a_rev_moving_under_a_released_version_is_not_a_bump(pkgset):
    text = UNSTABLE.replace("0-unstable-%s", "%s")
    base = pkgset.commit("hub: init", {"pkgs/hub/package.nix": text % ("0.1.3", "a" * 40, sri("a"))})
    head = pkgset.commit("hub: 0.1.3 -> 0.1.3", {"pkgs/hub/package.nix": text % ("0.1.3", "b" * 40, sri("b"))})
    _, package = pkgset.audit(base, head, "hub: 0.1.3 -> 0.1.3")
    assert (package.kind, [f.code for f in package.findings]) == ("not-a-bump", ["extra-changes"])
    assert "src.rev" in package.findings[0].message


def test_a_regenerated_lockfile_moving_only_versions_and_hashes_is_part_of_the_bump(pkgset):
    base = pkgset.commit("letta-code: init", npm_files("0.24.7", {"es-toolkit": "1.46.0", "ws": "8.19.0"}))
    head = pkgset.commit("letta-code: 0.24.7 -> 0.24.8", npm_files("0.24.8", {"es-toolkit": "1.46.1", "ws": "8.19.0"}))
    _, package = pkgset.audit(base, head, "letta-code: 0.24.7 -> 0.24.8")
    assert package.kind == "version-bump", package.findings
    assert list(package.changes) == ["version", "src.hash", "npmDepsHash", "file:package-lock.json"]
    assert package.details["file:package-lock.json"] == "dependency versions and hashes only (6 lines)"


def test_a_lockfile_that_adds_a_dependency_is_a_bump_with_changes(pkgset):
    base = pkgset.commit("letta-code: init", npm_files("0.24.9", {"es-toolkit": "1.46.0"}))
    head = pkgset.commit("letta-code: 0.24.9 -> 0.24.10",
                         npm_files("0.24.10", {"es-toolkit": "1.46.0", "strip-ansi": "7.2.0"}))
    _, package = pkgset.audit(base, head, "letta-code: 0.24.9 -> 0.24.10")
    assert package.kind == "bump-with-changes"
    assert [f.code for f in package.findings] == ["extra-changes"]
    assert "package-lock.json:packages.node_modules/strip-ansi" in _messages(package)[0]


def test_a_release_on_another_download_host_is_a_source_origin_change(pkgset):
    base = pkgset.commit("qoder-cli: init", {"pkgs/qoder-cli/package.nix": BINARY, "pkgs/qoder-cli/hashes.json":
                                              binary_json("0.2.3", "qoder-ide.oss-ap-southeast-1.aliyuncs.com")})
    head = pkgset.commit("qoder-cli: 0.2.3 -> 0.2.4", {"pkgs/qoder-cli/hashes.json":
                                                        binary_json("0.2.4", "qoder-ide.oss-accelerate.aliyuncs.com")})
    _, package = pkgset.audit(base, head, "qoder-cli: 0.2.3 -> 0.2.4")
    assert package.kind == "source-origin-changed"
    assert ("src now comes from elsewhere: URL host qoder-ide.oss-ap-southeast-1.aliyuncs.com -> "
            "qoder-ide.oss-accelerate.aliyuncs.com") in _messages(package)


def test_a_side_that_cannot_be_evaluated_makes_the_kind_unknown_with_the_reason(pkgset):
    text = GO.replace("builtins.fromJSON (builtins.readFile ./hashes.json)", "import ./data.nix")
    base = pkgset.commit("crush: init", {"pkgs/crush/package.nix": text, "pkgs/crush/data.nix": '{ version = "1"; }'})
    head = pkgset.commit("crush: 1 -> 2", {"pkgs/crush/data.nix": '{ version = "2"; }'})
    _, package = pkgset.audit(base, head, "crush: 1 -> 2")
    assert package.kind == "unknown"
    assert package.reason.startswith("the old version cannot be read statically (")
    assert "import of another Nix file" in package.reason
    for message in [*_messages(package), *package.notes]:
        assert "? -> ?" not in message
    assert any(n.endswith("'crush: 1 -> 2' not checked: neither version can be read statically") for n in package.notes)


def test_lockfile_lines_other_than_versions_and_hashes_are_seen():
    from commitguard.bump.lockfiles import only_versions_and_hashes

    old = b'"left-pad@1.3.0" = fetchurl {\n  url = "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz";\n}\n'
    assert only_versions_and_hashes(old, old.replace(b"1.3.0", b"1.3.1")) == 2
    assert only_versions_and_hashes(old, old.replace(b"registry.npmjs.org", b"npm.example.net")) is None
    assert only_versions_and_hashes(old, old + b'"evil@1.0.0" = fetchurl { };\n') is None
    assert only_versions_and_hashes(old, b"\xff" + old) is None


SECONDARY = """{ stdenv, fetchFromGitHub }:
let
  data = builtins.fromJSON (builtins.readFile ./hashes.json);
  sdk = fetchFromGitHub { owner = "parallel-web"; repo = "sdk"; rev = "v${data.sdk.version}"; inherit (data.sdk) hash; };
in
stdenv.mkDerivation {
  pname = "parallel-cli";
  version = "0.2.0";
  src = fetchFromGitHub { owner = "parallel-web"; repo = "cli"; rev = "v0.2.0"; hash = "%s"; };
  inherit sdk;
}
""" % sri("cli 0.2.0")


def test_a_secondary_source_moving_is_named_by_what_moved(pkgset):
    def files(v):
        return {"pkgs/parallel-cli/package.nix": SECONDARY, "pkgs/parallel-cli/hashes.json": json.dumps(
            {"sdk": {"version": v, "hash": sri(f"sdk {v}")}})}

    base = pkgset.commit("parallel-cli: init", files("0.5.0"))
    head = pkgset.commit("parallel-cli: 0.2.0 -> 0.2.0", files("0.5.1"))
    _, package = pkgset.audit(base, head, "parallel-cli: 0.2.0 -> 0.2.0")
    assert package.kind == "not-a-bump"
    assert package.details["let.sdk"] == "fetchFromGitHub now fetches rev v0.5.0 -> v0.5.1"
    assert [f.code for f in package.findings] == ["extra-changes"]
