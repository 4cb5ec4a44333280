"""The idioms real package sets write, read statically (issue 18).

Each expression below follows the shape of a real one (nixpkgs
``pkgs/by-name`` and numtide/nix-ai-tools, measured with
``bench/static_reading.py``), rewritten for the test: builders whose inputs
are overridden, ``overrideAttrs`` with ``finalAttrs``/``prev``, wrappers,
``callPackage`` with explicit arguments, the platform attributes nixpkgs
defines per system, a fetcher in a branch another system takes, and the
fixed-output fetchers of dependencies. Every test can fail: each asserts the
value read, or the reason it cannot be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from commitguard.nix.fetchers import read_package

HASH = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
HASH2 = "sha256-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA="


def _read(tmp_path: Path, text: str, system: str = "x86_64-linux", files: dict | None = None):
    for name, content in (files or {}).items():
        (tmp_path / name).write_text(content)
    path = tmp_path / "package.nix"
    path.write_text(text)
    return read_package(path, path.read_bytes(), system=system, root=tmp_path)


# ------------------------------------------------------------- platforms

RUSTY_V8 = """
{ lib, stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "v8"; version = "1.0";
  src = fetchurl {
    url = "https://example.org/librusty_v8_release_${stdenv.hostPlatform.rust.rustcTarget}.a.gz";
    hash = "%s";
  };
}
""" % HASH

GO_BIN = """
{ lib, stdenv, fetchurl }:
let
  platform = with stdenv.hostPlatform.go; "${GOOS}-${if GOARCH == "arm" then "armv6l" else GOARCH}";
in
stdenv.mkDerivation {
  pname = "go-bin"; version = "1.25.0";
  src = fetchurl { url = "https://go.dev/dl/go1.25.0.${platform}.tar.gz"; hash = "%s"; };
}
""" % HASH


@pytest.mark.parametrize(("system", "target", "go"), [
    ("x86_64-linux", "x86_64-unknown-linux-gnu", "linux-amd64"),
    ("aarch64-linux", "aarch64-unknown-linux-gnu", "linux-arm64"),
    ("x86_64-darwin", "x86_64-apple-darwin", "darwin-amd64"),
    ("aarch64-darwin", "aarch64-apple-darwin", "darwin-arm64"),
])
def test_platform_attributes_of_the_four_common_systems(tmp_path, system, target, go):
    rust = _read(tmp_path, RUSTY_V8, system).sources[0]
    assert rust.resolved and rust.url == f"https://example.org/librusty_v8_release_{target}.a.gz"
    golang = _read(tmp_path, GO_BIN, system).sources[0]
    assert golang.resolved and golang.url == f"https://go.dev/dl/go1.25.0.{go}.tar.gz"


def test_platform_attributes_of_other_systems_are_not_guessed(tmp_path):
    call = _read(tmp_path, RUSTY_V8, "riscv64-linux").sources[0]
    assert not call.resolved and call.unresolved == ("url",)
    package = _read(tmp_path, RUSTY_V8, "riscv64-linux")
    assert any("stdenv.hostPlatform.rust.rustcTarget is not known statically" in n for n in package.notes)


LIVEKIT = """
{ stdenv, fetchzip, fetchurl }:
let
  data = builtins.fromJSON (builtins.readFile ./hashes.json);
  triple = { x86_64-darwin = "mac-x64"; aarch64-darwin = "mac-arm64"; }.${stdenv.hostPlatform.system} or null;
  webrtc =
    if triple == null then null
    else fetchzip {
      url = "https://example.org/webrtc-${triple}-release.zip";
      hash = data.webrtc.${stdenv.hostPlatform.system};
    };
in
stdenv.mkDerivation {
  pname = "codex"; version = "1.0";
  src = fetchurl { url = "https://example.org/codex-1.0.tar.gz"; hash = "%s"; };
  env = if webrtc == null then { } else { LK_CUSTOM_WEBRTC = webrtc; };
}
""" % HASH


def test_a_fetcher_in_a_branch_this_system_does_not_take_is_not_one_of_its_calls(tmp_path):
    files = {"hashes.json": json.dumps({"webrtc": {"aarch64-darwin": HASH2, "x86_64-darwin": HASH2}})}
    linux = _read(tmp_path, LIVEKIT, "x86_64-linux", files)
    assert [c.fetcher for c in linux.sources] == ["fetchurl"]
    assert "fetchzip at line 8: in a branch not taken on x86_64-linux, not fetched here" in linux.notes
    darwin = _read(tmp_path, LIVEKIT, "aarch64-darwin", files)
    assert [(c.fetcher, c.resolved, c.hash) for c in darwin.sources] == [
        ("fetchzip", True, HASH2), ("fetchurl", True, HASH)]
    assert darwin.sources[0].url == "https://example.org/webrtc-mac-arm64-release.zip"


# ------------------------------------------------------------- overrides

GO_OVERRIDE = """
{ lib, buildGoModule, fetchFromGitHub, go-bin }:
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


def test_a_builder_with_overridden_inputs_is_still_that_builder(tmp_path):
    files = {"hashes.json": json.dumps({"version": "0.64.0", "hash": HASH, "vendorHash": HASH2})}
    package = _read(tmp_path, GO_OVERRIDE, files=files)
    assert (package.name, package.version) == ("crush", "0.64.0")
    assert package.attrs["vendorHash"] == HASH2 and package.attrs["src"] == "fetchFromGitHub"
    assert package.sources[0].rev == "v0.64.0" and package.notes == ()


def test_an_overridden_interpreter_still_builds_python_packages(tmp_path):
    text = """
{ python3, fetchFromGitHub }:
let python = python3.override { self = python; packageOverrides = _final: prev: { }; };
in python.pkgs.buildPythonApplication rec {
  pname = "code-review-graph"; version = "2.3.2";
  src = fetchFromGitHub { owner = "o"; repo = "r"; rev = "v${version}"; hash = "%s"; };
}""" % HASH
    package = _read(tmp_path, text)
    assert (package.name, package.version, package.sources[0].rev) == ("code-review-graph", "2.3.2", "v2.3.2")


def test_override_attrs_with_final_attrs_and_prev(tmp_path):
    text = """
{ stdenv, fetchurl }:
(stdenv.mkDerivation (finalAttrs: {
  pname = "hello"; version = "2.12";
  src = fetchurl { url = "mirror://gnu/hello/hello-${finalAttrs.version}.tar.gz"; hash = "%s"; };
})).overrideAttrs (finalAttrs: prev: {
  version = "2.12.1";
  pname = prev.pname + "-patched";
})""" % HASH
    package = _read(tmp_path, text)
    assert (package.name, package.version) == ("hello-patched", "2.12.1")
    # the fixed point: src now reads the overridden version
    assert package.sources[0].url == "https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz"


def test_override_attrs_of_a_package_set_package_names_what_is_unknown(tmp_path):
    text = """
{ claude-code, fetchurl }:
claude-code.overrideAttrs (old: {
  version = "2.0.0";
  src = fetchurl { url = "https://example.org/claude-${old.version}.tgz"; hash = "%s"; };
})""" % HASH
    package = _read(tmp_path, text)
    assert package.version == "2.0.0"
    call = package.sources[0]
    assert not call.resolved and call.unresolved == ("url",)
    assert "fetchurl at line 5: url: claude-code.version is not known statically" in package.notes


def test_make_overridable_and_let_bound_builders(tmp_path):
    text = """
{ lib, stdenv, fetchurl }:
let
  build = lib.makeOverridable ({ version, hash }: stdenv.mkDerivation {
    pname = "tool"; inherit version;
    src = fetchurl { url = "https://example.org/tool-${version}.tar.gz"; inherit hash; };
  });
in build { version = "3.1"; hash = "%s"; }""" % HASH
    package = _read(tmp_path, text)
    assert (package.name, package.version, package.sources[0].url) == (
        "tool", "3.1", "https://example.org/tool-3.1.tar.gz")


# -------------------------------------------------------------- wrappers


@pytest.mark.parametrize(("text", "name"), [
    ('{ makeSetupHook }: makeSetupHook { name = "version-check-home-hook"; } ./hook.sh', "version-check-home-hook"),
    ('{ writeShellApplication, fzf }: writeShellApplication { name = "launcher"; runtimeInputs = [ fzf ]; text = "x"; }',
     "launcher"),
    ('{ runCommand, claude-code }: runCommand "claudebox" { buildInputs = [ claude-code ]; } "mkdir $out"',
     "claudebox"),
    ('{ symlinkJoin, a }: symlinkJoin { name = "tools"; paths = [ a ]; }', "tools"),
])
def test_a_wrapper_is_a_package_named_by_its_name(tmp_path, text, name):
    package = _read(tmp_path, text)
    assert (package.name, package.version) == (name, None)
    assert not any("not known statically" in note for note in package.notes)


def test_a_wrapper_around_a_fetched_source_keeps_the_call(tmp_path):
    text = """
{ runCommand, fetchFromGitHub }:
let src = fetchFromGitHub { owner = "o"; repo = "r"; tag = "v1"; hash = "%s"; };
in runCommand "web-src-${src.name}" { inherit src; } "cp -r ${src}/web $out"
""" % HASH
    package = _read(tmp_path, text)
    assert package.name == "web-src-source"  # fetchFromGitHub's `name ? "source"`
    assert package.sources[0].resolved and package.attrs["src"] == "fetchFromGitHub"


# ----------------------------------------------------------- callPackage


def test_call_package_with_explicit_arguments(tmp_path):
    text = """
{ callPackage }:
callPackage ({ stdenv, fetchurl, version ? "0" }: stdenv.mkDerivation {
  pname = "inner"; inherit version;
  src = fetchurl { url = "https://example.org/inner-${version}.tar.gz"; hash = "%s"; };
}) { version = "4.2"; }""" % HASH
    package = _read(tmp_path, text)
    assert (package.name, package.version, package.sources[0].url) == (
        "inner", "4.2", "https://example.org/inner-4.2.tar.gz")


def test_call_package_of_another_file_says_so(tmp_path):
    package = _read(tmp_path, "{ callPackage }: callPackage ./linux.nix { }")
    assert package.name is None
    assert package.notes == ("no package expression found: callPackage ./linux.nix: another file, read on its own",)


# ---------------------------------------------------- dependency fetchers

PNPM = """
{ stdenv, fetchFromGitHub, fetchPnpmDeps, fetchYarnDeps, pnpm_10 }:
stdenv.mkDerivation (finalAttrs: {
  pname = "happy"; version = "1.0";
  src = fetchFromGitHub { owner = "slopus"; repo = "happy"; rev = "v1.0"; hash = "%s"; };
  pnpmDeps = fetchPnpmDeps {
    inherit (finalAttrs) pname version src;
    pnpm = pnpm_10;
    hash = "%s";
    fetcherVersion = 2;
  };
  yarnCache = fetchYarnDeps { yarnLock = finalAttrs.src + "/ui/yarn.lock"; hash = "%s"; };
})""" % (HASH, HASH2, HASH2)


def test_dependency_fetchers_are_resolved_by_their_hash_and_say_what_they_are(tmp_path):
    package = _read(tmp_path, PNPM)
    src, pnpm, yarn = package.sources
    assert (src.kind, src.resolved) == ("source", True)
    assert (pnpm.fetcher, pnpm.kind, pnpm.resolved, pnpm.hash, pnpm.unresolved) == (
        "fetchPnpmDeps", "dependencies", True, HASH2, ())
    assert pnpm.args["src"] == {"fetcher": "fetchFromGitHub", "line": 5}  # derived from the source
    assert (yarn.kind, yarn.resolved) == ("dependencies", True)
    # the inputs that cannot be evaluated are still named
    assert ("fetchPnpmDeps at line 6: pnpm: pnpm_10 is not known statically "
            "(an input of a dependency fetcher; its hash fixes what it fetches)") in package.notes
    assert any(n.startswith("fetchYarnDeps at line 12: yarnLock: ") for n in package.notes)
    assert pnpm.to_json()["kind"] == "dependencies" and "kind" not in src.to_json()


def test_a_dependency_fetcher_without_its_hash_is_unresolved(tmp_path):
    text = '{ fetchNpmDeps, pkgs }: fetchNpmDeps { src = ./.; hash = pkgs.someHash; }'
    call = _read(tmp_path, text).sources[0]
    assert (call.kind, call.resolved, call.unresolved) == ("dependencies", False, ("hash",))
    call = _read(tmp_path, "{ fetchCargoVendor, src }: fetchCargoVendor { inherit src; }").sources[0]
    assert (call.resolved, call.unresolved) == (False, ("hash",))


def test_dependencies_pinned_one_by_one_in_a_file_of_the_repository(tmp_path):
    (tmp_path / "bun.nix").write_text("{ }")
    call = _read(tmp_path, "{ bun2nix }: bun2nix.fetchBunDeps { bunNix = ./bun.nix; }").sources[0]
    assert (call.fetcher, call.kind, call.resolved, call.hash) == ("fetchBunDeps", "dependencies", True, None)
    assert call.args["bunNix"] == "./bun.nix"


def test_sources_reports_dependency_hashes_apart_from_the_upstream_source(tmp_path):
    from commitguard.upstream.scan import scan_sources

    package_dir = tmp_path / "pkgs" / "by-name" / "ha" / "happy"
    package_dir.mkdir(parents=True)
    (package_dir / "package.nix").write_text(PNPM.replace('version = "1.0";', 'version = "1.0"; vendorHash = "%s";' % HASH))
    report = scan_sources(tmp_path, [], None, mirror=None, jobs=1).to_json()
    (entry,) = report["packages"]
    assert [s.get("kind", "source") for s in entry["sources"]] == ["source", "dependencies", "dependencies"]
    assert entry["dependency_hashes"] == {"vendorHash": HASH}
    # the upstream evidence is about the release, never about a dependency fetcher
    assert "fetchPnpmDeps" not in entry["upstream"]["reason"]
    assert report["summary"]["resolved"] == report["summary"]["fetcher_calls"] == 3


@pytest.mark.parametrize(("system", "url"), [("x86_64-linux", "https://example.org/linux.tar.gz"),
                                             ("aarch64-darwin", "https://example.org/mac.zip")])
def test_the_src_of_this_system_is_marked_among_both_branches(tmp_path, system, url):
    text = """{ stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "webrtc"; version = "2.0";
  src = if stdenv.hostPlatform.isDarwin then fetchurl { url = "https://example.org/mac.zip"; hash = "%s"; }
        else fetchurl { url = "https://example.org/linux.tar.gz"; hash = "%s"; };
}""" % (HASH, HASH2)
    package = _read(tmp_path, text, system)
    assert len(package.sources) == 2  # the other platform's source is still listed
    assert package.sources[package.attrs["src_call"]].url == url


def test_a_package_read_from_an_inner_builder_call_says_so(tmp_path):
    # 3000 chained overrideAttrs pass the evaluator's depth limit: the value of the file is not known,
    # and the version read from the innermost call is not presented as the package's without a word
    text = '(stdenv.mkDerivation { pname = "x"; version = "1"; })'
    for _ in range(3000):
        text = f'({text}.overrideAttrs (f: p: {{ version = p.version + "1"; }}))'
    package = _read(tmp_path, "{ stdenv }: " + text)
    assert package.notes == (
        "expression nested deeper than 150 evaluation levels; the package is read from the mkDerivation call at line 1",)
