"""``sources --jobs``: expressions read in a pool of processes give the very report
one process gives, in the same order, and the same one-line error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from commitguard.upstream import scan
from tests.fixtures_git import run_cli

PACKAGE = """{{ lib, stdenv, fetchurl }}:

stdenv.mkDerivation rec {{
  pname = "{name}";
  version = "1.{n}";

  src = fetchurl {{
    url = "https://example.org/{name}/{name}-${{version}}.tar.gz";
    hash = "sha256-{digest}=";
  }};
}}
"""

# more files than the pool's threshold, so --jobs 2 really uses two processes
COUNT = scan._PARALLEL_FROM + 16


@pytest.fixture(scope="module")
def package_set(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nixpkgs")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    for n in range(COUNT):
        name = f"pkg{n:03d}"
        directory = root / "pkgs" / "by-name" / name[:2] / name
        directory.mkdir(parents=True)
        digest = (f"{n:03d}" * 15)[:43]
        (directory / "package.nix").write_text(PACKAGE.format(name=name, n=n, digest=digest))
    # a symlink out of the repository: warned about, never read
    outside = tmp_path_factory.mktemp("outside") / "package.nix"
    outside.write_text(PACKAGE.format(name="outside", n=0, digest="0" * 43))
    link = root / "pkgs" / "by-name" / "zz" / "zzlink"
    link.mkdir(parents=True)
    (link / "package.nix").symlink_to(outside)
    return root


def _sources(root: Path, tmp_path: Path, *args: str):
    return run_cli(["sources", "--repo", root, "--format", "json", *args], scratch=tmp_path)


def test_two_processes_give_the_same_report(package_set, tmp_path):
    one = _sources(package_set, tmp_path, "--jobs", "1")
    two = _sources(package_set, tmp_path, "--jobs", "2")
    assert one.code == two.code == 1
    assert two.stdout == one.stdout
    assert two.stderr == one.stderr
    report = __import__("json").loads(two.stdout)
    names = [p["name"] for p in report["packages"]]
    assert names == [f"pkg{n:03d}" for n in range(COUNT)]
    assert any("a symlink to a file outside the repository, not read" in w for w in report["warnings"])


def test_an_unreadable_expression_is_the_same_error_in_a_pool(package_set, tmp_path):
    broken = package_set / "pkgs" / "by-name" / "pk" / "pkg0broken"
    broken.mkdir()
    (broken / "package.nix").symlink_to(package_set / "no-such-file.nix")
    try:
        one = _sources(package_set, tmp_path, "--jobs", "1")
        two = _sources(package_set, tmp_path, "--jobs", "2")
    finally:
        (broken / "package.nix").unlink()
        broken.rmdir()
    assert one.code == two.code == 2
    assert one.stderr == two.stderr
    assert one.stderr.strip().endswith("package.nix: cannot read: No such file or directory")
    assert one.stderr.count("\n") == 1


def test_jobs_zero_is_refused(package_set, tmp_path):
    result = _sources(package_set, tmp_path, "--jobs", "0")
    assert result.code == 2
    assert "--jobs" in result.stderr and result.stderr.count("\n") == 1
