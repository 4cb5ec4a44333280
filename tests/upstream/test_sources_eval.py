"""``sources --eval``: Nix itself evaluates each src and disagreements are reported.

The repository is a miniature nixpkgs whose fetchers return what nixpkgs'
fixed-output fetchers expose (``urls``, ``outputHash``, ``rev``), so Nix (from
Debian's nix-bin) can evaluate it without a store or network.
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

DEFAULT_NIX = r"""
{ system ? "x86_64-linux", config ? { }, overlays ? [ ] }:
let
  lib = {
    versions.majorMinor = v: builtins.concatStringsSep "." (builtins.genList (i: builtins.elemAt (builtins.splitVersion v) i) 2);
  };
  fetchurl = { url ? null, urls ? [ ], hash ? null, sha256 ? null, ... }: {
    urls = if url != null then [ url ] else urls;
    outputHash = if hash != null then hash else sha256;
    outputHashAlgo = if hash != null then null else "sha256";
  };
  stdenv.mkDerivation = a: if builtins.isFunction a then (let self = a self; in self) else a;
  callPackage = path: import path { inherit lib stdenv fetchurl; };
  byName = name: callPackage (./pkgs/by-name + "/${builtins.substring 0 2 name}/${name}/package.nix");
in {
  hello = byName "hello";
  imported = byName "imported";
}
"""

HELLO = """{ lib, stdenv, fetchurl }:
stdenv.mkDerivation (finalAttrs: {
  pname = "hello";
  version = "2.12.1";
  src = fetchurl {
    url = "mirror://gnu/hello/hello-${finalAttrs.version}.tar.gz";
    hash = "sha256-jZkUKv2SV28wsM18tCqNxoCZmLxdYH2Idh9RLibH2yA=";
  };
})
"""

IMPORTED = """{ lib, stdenv, fetchurl }:
stdenv.mkDerivation rec {
  pname = "imported";
  version = "1.0";
  src = fetchurl {
    url = "https://example.org/imported-${version}.tar.gz";
    hash = import ./hash.nix;
  };
}
"""


@pytest.fixture()
def mini_nixpkgs(tmp_path) -> Path:
    root = tmp_path / "nixpkgs"
    (root / "pkgs/by-name/he/hello").mkdir(parents=True)
    (root / "pkgs/by-name/im/imported").mkdir(parents=True)
    (root / "default.nix").write_text(DEFAULT_NIX)
    (root / "pkgs/by-name/he/hello/package.nix").write_text(HELLO)
    (root / "pkgs/by-name/im/imported/package.nix").write_text(IMPORTED)
    (root / "pkgs/by-name/im/imported/hash.nix").write_text('"sha256-R4ycoSn9LjRD/icxS0VeIR4NjGC8j/ffcDhz3ubQ3n0="\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _sources(root: Path, *args: str) -> tuple[int, dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "commitguard", "sources", "--repo", str(root), "--format", "json", *args],
        capture_output=True, text=True, env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_eval_agrees_and_fills_what_static_reading_could_not(mini_nixpkgs):
    _, report, _ = _sources(mini_nixpkgs, "--eval")
    notes = {p["name"]: p["notes"] for p in report["packages"]}
    hello_eval = [n for n in notes["hello"] if n.startswith("--eval")]
    # mirror://gnu is left unexpanded by this miniature fetchurl, so only the url differs
    assert hello_eval == ["--eval: Nix gives url mirror://gnu/hello/hello-2.12.1.tar.gz, "
                          "the static reading https://ftp.gnu.org/gnu/hello/hello-2.12.1.tar.gz"]
    assert "--eval: Nix gives hash sha256-R4ycoSn9LjRD/icxS0VeIR4NjGC8j/ffcDhz3ubQ3n0=; the static reading could not resolve it" in notes["imported"]
    imported = next(p for p in report["packages"] if p["name"] == "imported")
    assert imported["sources"][0]["unresolved"] == ["hash"]


def test_eval_error_is_reported_per_package(mini_nixpkgs):
    (mini_nixpkgs / "default.nix").write_text("{ ... }: { }\n")
    _, report, _ = _sources(mini_nixpkgs, "--eval", "pkgs/by-name/he/hello")
    (note,) = [n for n in report["packages"][0]["notes"] if n.startswith("--eval")]
    assert note.startswith("--eval: Nix could not evaluate src:")


def test_without_nix_eval_is_skipped_in_one_line(mini_nixpkgs, monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git",):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    env["PATH"] = str(bin_dir)
    done = subprocess.run(
        [sys.executable, "-m", "commitguard", "sources", "--repo", str(mini_nixpkgs), "--format", "json", "--eval"],
        capture_output=True, text=True, env=env,
    )
    report = json.loads(done.stdout)
    assert "nix-instantiate not found: --eval skipped" in report["warnings"]
