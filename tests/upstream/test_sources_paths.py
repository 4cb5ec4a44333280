"""``sources --repo DIR`` reads the files an expression reads from DIR, whatever the current directory
(issue 13, item 5a): ``builtins.readFile ./hashes.json``, ``lib.importJSON ./x.json``; ``import ./x.nix``
is not evaluated by the static reader and stays unresolved, with its reason, from any directory."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HASH_A = "sha256-" + base64.b64encode(bytes([1] * 32)).decode()
HASH_B = "sha256-" + base64.b64encode(bytes([2] * 32)).decode()
HASH_C = "sha256-" + base64.b64encode(bytes([3] * 32)).decode()

READFILE = """{ lib, stdenv, fetchFromGitHub }:
let
  info = builtins.fromJSON (builtins.readFile ./hashes.json);
in
stdenv.mkDerivation {
  pname = "readfile";
  version = info.version;
  src = fetchFromGitHub {
    owner = "owner";
    repo = "readfile";
    tag = "v${info.version}";
    hash = info.hash;
  };
}
"""

IMPORTJSON = """{ lib, stdenv, fetchurl }:
let
  pin = lib.importJSON ./pin.json;
in
stdenv.mkDerivation rec {
  pname = "importjson";
  version = pin.version;
  src = fetchurl {
    url = "https://example.org/importjson-${version}.tar.gz";
    hash = pin.hash;
  };
}
"""

IMPORTNIX = """{ lib, stdenv, fetchFromGitHub }:
let
  source = import ./source.nix;
in
stdenv.mkDerivation {
  pname = "importnix";
  version = source.version;
  src = fetchFromGitHub {
    owner = "owner";
    repo = "importnix";
    rev = source.rev;
    hash = source.hash;
  };
}
"""


@pytest.fixture
def package_set(tmp_path) -> Path:
    root = tmp_path / "nixpkgs"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    files = {
        "pkgs/by-name/re/readfile/package.nix": READFILE,
        "pkgs/by-name/re/readfile/hashes.json": json.dumps({"version": "1.2.3", "hash": HASH_A}),
        "pkgs/by-name/im/importjson/package.nix": IMPORTJSON,
        "pkgs/by-name/im/importjson/pin.json": json.dumps({"version": "4.5", "hash": HASH_B}),
        "pkgs/by-name/im/importnix/package.nix": IMPORTNIX,
        "pkgs/by-name/im/importnix/source.nix": f'{{ version = "0.9"; rev = "{"a" * 40}"; hash = "{HASH_C}"; }}\n',
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    # decoys in the directory the command is run from: never to be read
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "hashes.json").write_text(json.dumps({"version": "6.6.6", "hash": HASH_C}))
    (elsewhere / "pin.json").write_text(json.dumps({"version": "6.6.6", "hash": HASH_C}))
    return root


@pytest.mark.parametrize("cwd_name", ["elsewhere", "nixpkgs/pkgs"])
def test_files_are_read_from_the_repository_not_the_current_directory(package_set, cwd_name):
    cwd = package_set.parent / cwd_name
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    done = subprocess.run([sys.executable, "-m", "commitguard", "sources", "--repo", str(package_set),
                           "--format", "json"], capture_output=True, text=True, env=env, cwd=cwd)
    assert "Traceback" not in done.stderr
    assert done.returncode == 1, done.stderr  # no keyring, no mirror: nothing is verified
    report = json.loads(done.stdout)
    by_name = {p["name"]: p for p in report["packages"]}
    assert set(by_name) == {"readfile", "importjson", "importnix"}, [p["notes"] for p in report["packages"]]
    got = {name: (p["version"], p["sources"][0]["hash"], p["sources"][0]["resolved"]) for name, p in by_name.items()}
    assert got == {
        "readfile": ("1.2.3", HASH_A, True),
        "importjson": ("4.5", HASH_B, True),
        # the static reader does not evaluate other Nix files: unresolved, with the reason, from any directory
        "importnix": (None, None, False),
    }
    assert "version: import of another Nix file" in by_name["importnix"]["notes"]
    assert (report["summary"]["fetcher_calls"], report["summary"]["resolved"]) == (3, 2)
    assert not any("outside the repository" in n for p in report["packages"] for n in p["notes"])


def test_an_expression_symlinked_outside_the_repository_is_not_read(package_set, tmp_path):
    outside = tmp_path / "outside.nix"
    outside.write_text('{ fetchurl }: fetchurl { url = "https://example.org/x.tar.gz"; hash = "%s"; }\n' % HASH_A)
    link = package_set / "pkgs" / "by-name" / "ev" / "evil"
    link.mkdir(parents=True)
    os.symlink(outside, link / "package.nix")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    done = subprocess.run([sys.executable, "-m", "commitguard", "sources", "--repo", str(package_set),
                           "--format", "json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "Traceback" not in done.stderr and done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert "evil" not in {p["name"] for p in report["packages"]}
    assert not any("ev/evil" in p["path"] for p in report["packages"])
    assert "pkgs/by-name/ev/evil/package.nix: a symlink to a file outside the repository, not read" in report["warnings"]
