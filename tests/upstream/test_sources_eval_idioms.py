"""``sources --eval`` against the static reading on the idioms of issue 18, for four systems.

A miniature package set written in Nix gives what nixpkgs gives these
expressions: a ``stdenv`` whose ``hostPlatform`` has ``system``, ``isLinux``,
``isDarwin``, ``rust.rustcTarget`` and ``go.GOOS``/``GOARCH`` for the system
it is instantiated for (values as nixpkgs' ``lib.systems`` sets them), a
``mkDerivation`` with ``finalAttrs`` and ``overrideAttrs``, an overridable
``buildGoModule``, ``runCommand``, ``callPackage`` with explicit arguments,
and fetchers returning what nixpkgs' fixed-output fetchers expose (``urls``,
``rev``, ``outputHash``). Nix itself (``nix-instantiate``) evaluates each
package's ``src``; on every call both resolve it must agree with the static
reading: no ``--eval`` note at all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    shutil.which("nix-instantiate") is None and not os.environ.get("CI"), reason="nix-instantiate not installed"
)

SYSTEMS = ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")

DEFAULT_NIX = r"""
{ system ? "x86_64-linux", config ? { }, overlays ? [ ] }:
let
  parts = builtins.match "([^-]+)-(.*)" system;
  arch = builtins.elemAt parts 0;
  kernel = builtins.elemAt parts 1;
  isLinux = kernel == "linux";
  hostPlatform = {
    inherit system isLinux;
    isDarwin = kernel == "darwin";
    rust.rustcTarget = if isLinux then "${arch}-unknown-linux-gnu" else "${arch}-apple-darwin";
    go = { GOOS = kernel; GOARCH = { x86_64 = "amd64"; aarch64 = "arm64"; }.${arch}; };
  };
  lib = {
    optionalString = c: s: if c then s else "";
    makeOverridable = f: f;
  };
  mkDerivation = a:
    let
      mk = fn:
        let self = fn self // {
          overrideAttrs = g: mk (final:
            let prev = fn final; r = g prev;
            in prev // (if builtins.isFunction r then g final prev else r));
        };
        in self;
    in mk (if builtins.isFunction a then a else (_: a));
  stdenv = { inherit hostPlatform mkDerivation isLinux; isDarwin = hostPlatform.isDarwin; };
  fetchurl = { url ? null, urls ? [ ], hash ? null, ... }: {
    urls = if url != null then [ url ] else urls;
    outputHash = hash;
  };
  fetchFromGitHub = { owner, repo, rev ? null, tag ? null, hash, ... }: {
    rev = if tag != null then "refs/tags/${tag}" else rev;
    outputHash = hash;
    name = "source";
  };
  buildGoModule = { __functor = _: args: mkDerivation args; override = _: buildGoModule; };
  runCommand = name: env: _script: env // { inherit name; };
  callPackage = fn: args:
    let f = if builtins.isFunction fn then fn else import fn;
    in f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // args);
  pkgs = {
    inherit lib stdenv fetchurl fetchFromGitHub buildGoModule runCommand callPackage;
    go-bin = { };
  };
  byName = name: callPackage (./pkgs/by-name + "/${builtins.substring 0 2 name}/${name}/package.nix") { };
in {
  rusty-v8 = byName "rusty-v8";
  go-bin = byName "go-bin";
  crush = byName "crush";
  patched = byName "patched";
  webrtc = byName "webrtc";
  inner = byName "inner";
  wrapped = byName "wrapped";
}
"""

H1 = "sha256-jZkUKv2SV28wsM18tCqNxoCZmLxdYH2Idh9RLibH2yA="
H2 = "sha256-R4ycoSn9LjRD/icxS0VeIR4NjGC8j/ffcDhz3ubQ3n0="

PACKAGES = {
    "rusty-v8": """{ stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "rusty-v8"; version = "147.4.0";
  src = fetchurl {
    url = "https://github.com/denoland/rusty_v8/releases/download/v147.4.0/librusty_v8_release_${stdenv.hostPlatform.rust.rustcTarget}.a.gz";
    hash = "%s";
  };
}""" % H1,
    "go-bin": """{ stdenv, fetchurl }:
let
  versionData = builtins.fromJSON (builtins.readFile ./hashes.json);
  inherit (versionData) version hashes;
  platform = with stdenv.hostPlatform.go; "${GOOS}-${if GOARCH == "arm" then "armv6l" else GOARCH}";
in
stdenv.mkDerivation {
  pname = "go-bin";
  inherit version;
  src = fetchurl {
    url = "https://go.dev/dl/go${version}.${platform}.tar.gz";
    hash = hashes.${platform} or (throw "Missing Go hash for platform ${platform}");
  };
}""",
    "crush": """{ lib, buildGoModule, fetchFromGitHub, go-bin }:
let
  versionData = builtins.fromJSON (builtins.readFile ./hashes.json);
  inherit (versionData) version hash;
in
(buildGoModule.override { go = go-bin; }) {
  pname = "crush";
  inherit version;
  src = fetchFromGitHub { owner = "charmbracelet"; repo = "crush"; rev = "v${version}"; inherit hash; };
}""",
    "patched": """{ stdenv, fetchurl }:
(stdenv.mkDerivation (finalAttrs: {
  pname = "patched"; version = "1.0";
  src = fetchurl { url = "https://example.org/patched-${finalAttrs.version}.tar.gz"; hash = "%s"; };
})).overrideAttrs (finalAttrs: prev: { version = "1.1"; })""" % H1,
    "webrtc": """{ stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "webrtc"; version = "2.0";
  src =
    if stdenv.hostPlatform.isDarwin then
      fetchurl { url = "https://example.org/webrtc-mac.zip"; hash = "%s"; }
    else
      fetchurl { url = "https://example.org/webrtc-linux.tar.gz"; hash = "%s"; };
}""" % (H1, H2),
    "inner": """{ callPackage }:
callPackage ({ stdenv, fetchFromGitHub, version ? "0" }: stdenv.mkDerivation {
  pname = "inner"; inherit version;
  src = fetchFromGitHub { owner = "o"; repo = "inner"; tag = "v${version}"; hash = "%s"; };
}) { version = "4.2"; }""" % H2,
    "wrapped": """{ runCommand, fetchurl }:
let src = fetchurl { url = "https://example.org/wrapped-3.0.tar.gz"; hash = "%s"; };
in runCommand "wrapped-3.0" { inherit src; version = "3.0"; } "cp $src $out"
""" % H1,
}

DATA = {
    "go-bin": {"version": "1.25.0", "hashes": {"linux-amd64": H1, "linux-arm64": H2, "darwin-amd64": H2,
                                               "darwin-arm64": H1}},
    "crush": {"version": "0.64.0", "hash": H2},
}


@pytest.fixture(scope="module")
def mini_nixpkgs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eval-idioms") / "nixpkgs"
    root.mkdir()
    (root / "default.nix").write_text(DEFAULT_NIX)
    for name, text in PACKAGES.items():
        directory = root / "pkgs" / "by-name" / name[:2] / name
        directory.mkdir(parents=True)
        (directory / "package.nix").write_text(text)
        if name in DATA:
            (directory / "hashes.json").write_text(json.dumps(DATA[name]))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.mark.parametrize("system", SYSTEMS)
def test_nix_and_the_static_reading_agree_on_every_call_both_resolve(mini_nixpkgs, system):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "commitguard", "sources", "--repo", str(mini_nixpkgs), "--format", "json",
         "--eval", "--system", system],
        capture_output=True, text=True, env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    by_name = {p["name"]: p for p in report["packages"]}
    assert set(by_name) == set(PACKAGES)
    for name, package in by_name.items():
        main = package["sources"][0] if name != "webrtc" else None
        assert all(s["resolved"] for s in package["sources"]), (name, package)
        disagreements = [n for n in package["notes"] if n.startswith("--eval")]
        assert disagreements == [], (system, name, disagreements, main)
    # the platform attributes were really used: the URLs differ per system, as Nix computed them
    rust_url = by_name["rusty-v8"]["sources"][0]["url"]
    target = {"x86_64-linux": "x86_64-unknown-linux-gnu", "aarch64-linux": "aarch64-unknown-linux-gnu",
              "x86_64-darwin": "x86_64-apple-darwin", "aarch64-darwin": "aarch64-apple-darwin"}[system]
    assert rust_url.endswith(f"librusty_v8_release_{target}.a.gz")
    assert by_name["patched"]["version"] == "1.1"
    assert by_name["patched"]["sources"][0]["url"] == "https://example.org/patched-1.1.tar.gz"
