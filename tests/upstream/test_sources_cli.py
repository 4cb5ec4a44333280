"""``commitguard sources`` end to end: package expressions in a repository,
judged against an offline upstream mirror built with real git and gpg."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.upstream_fixtures import RELEASES, build, flat_sri

# nix-hash computes the NAR hashes the expressions pin (never commitguard's own code)
_MISSING = [t for t in ("git", "gpg", "gpgconf", "ssh-keygen", "tar", "nix-hash") if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING) and not os.environ.get("CI"),
                                reason=f"missing tools: {', '.join(_MISSING)}")

PACKAGE_GITHUB = """{{ lib, stdenv, fetchFromGitHub }}:

stdenv.mkDerivation (finalAttrs: {{
  pname = "{name}";
  version = "{version}";

  src = fetchFromGitHub {{
    owner = "owner";
    repo = "repo";
    tag = "v${{finalAttrs.version}}";
    hash = "{hash}";
  }};
}})
"""

PACKAGE_RELEASE = """{{ lib, stdenv, fetchurl }}:

stdenv.mkDerivation rec {{
  pname = "{name}";
  version = "1.0";

  src = fetchurl {{
    url = "{releases}{file}";
    hash = "{hash}";
  }};
}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build(tmp_path_factory.mktemp("upstream"))


@pytest.fixture(scope="module")
def nixpkgs(world, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("nixpkgs")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)

    def package(name: str, text: str) -> None:
        directory = root / "pkgs" / "by-name" / name[:2] / name
        directory.mkdir(parents=True)
        (directory / "package.nix").write_text(text)

    package("signed", PACKAGE_GITHUB.format(name="signed", version="1.0", hash=world.hashes["v1.0"]))
    package("wronghash", PACKAGE_GITHUB.format(name="wronghash", version="1.0", hash=world.hashes["v1.1"]))
    package("stranger", PACKAGE_GITHUB.format(name="stranger", version="1.0-stranger", hash=world.hashes["v1.0"]))
    package("unsignedtag", PACKAGE_GITHUB.format(name="unsignedtag", version="1.0-unsigned", hash=world.hashes["v1.0"]))
    for name, file in (("goodrel", "good-1.0.tar.gz"), ("badrel", "bad-1.0.tar.gz"), ("nosigrel", "nosig-1.0.tar.gz")):
        package(name, PACKAGE_RELEASE.format(name=name, releases=RELEASES, file=file, hash=flat_sri(world.files[file])))
    package(
        "missing",
        PACKAGE_RELEASE.format(name="missing", releases=RELEASES, file="absent-1.0.tar.gz", hash="sha256-" + "A" * 43 + "="),
    )
    return root


def _sources(nixpkgs: Path, *args: str) -> tuple[int, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "commitguard", "sources", "--repo", str(nixpkgs), "--format", "json", *args],
        capture_output=True, text=True, env=env,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, (json.loads(done.stdout) if done.stdout else {"stderr": done.stderr})


def test_statuses_against_the_mirror(world, nixpkgs):
    code, report = _sources(nixpkgs, "--keyring", str(world.keyring), "--upstream-mirror", str(world.mirror))
    assert code == 1
    by_name = {p["name"]: p for p in report["packages"]}
    statuses = {name: p["upstream"]["status"] for name, p in by_name.items()}
    assert statuses == {
        "signed": "verified",
        "wronghash": "hash-mismatch",
        "stranger": "unknown-key",
        "unsignedtag": "unsigned",
        "goodrel": "verified",
        "badrel": "bad-signature",
        "nosigrel": "unsigned",
        "missing": "unavailable",
    }
    signed = by_name["signed"]
    assert signed["trusted"] is True
    assert signed["upstream"]["signer"] == "github:owner/repo"
    assert signed["upstream"]["evidence"] == "signed-tag"
    assert signed["sources"][0] == {
        "fetcher": "fetchFromGitHub", "url": "https://github.com/owner/repo", "owner": "owner", "repo": "repo",
        "rev": None, "tag": "v1.0", "hash": world.hashes["v1.0"], "resolved": True, "unresolved": [],
    }
    assert by_name["goodrel"]["upstream"]["evidence"] == "detached-signature"
    assert [p["trusted"] for p in report["packages"]].count(True) == 2


def test_only_named_paths(world, nixpkgs):
    code, report = _sources(
        nixpkgs, "pkgs/by-name/si/signed", "--keyring", str(world.keyring), "--upstream-mirror", str(world.mirror)
    )
    assert code == 0 and report["ok"] is True
    assert [p["name"] for p in report["packages"]] == ["signed"]


def test_without_a_keyring_nothing_is_verified(world, nixpkgs):
    code, report = _sources(nixpkgs, "pkgs/by-name/si/signed", "--upstream-mirror", str(world.mirror))
    assert code == 1
    assert report["packages"][0]["upstream"]["status"] == "unknown-key"
    assert any("no keyring" in w for w in report["warnings"])


def test_missing_mirror_directory_is_exit_2(world, nixpkgs, tmp_path):
    code, out = _sources(nixpkgs, "--upstream-mirror", str(tmp_path / "nope"))
    assert code == 2 and "--upstream-mirror" in out["stderr"]


def _table_statuses(stdout: str, sep: str, status_column: int) -> dict[str, str]:
    """{package: upstream status} from the rows of a markdown (``|``) or rich (``│``) table;
    a rich row's continuation lines have an empty first cell."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip(sep).split(sep)]
        if len(cells) > status_column and cells[0] and line.lstrip().startswith(sep) and cells[0] not in ("package", "---"):
            assert cells[0] not in rows, f"{cells[0]} listed twice:\n{stdout}"
            rows[cells[0]] = cells[status_column]
    return rows


def test_markdown_and_text(world, nixpkgs):
    """Each format shows every package with exactly the status the JSON report gives it."""
    code, report = _sources(nixpkgs, "--keyring", str(world.keyring), "--upstream-mirror", str(world.mirror))
    assert code == 1
    expected = {p["name"]: p["upstream"]["status"] for p in report["packages"]}
    assert expected["wronghash"] == "hash-mismatch" and expected["signed"] == "verified", expected
    verified = sum(s == "verified" for s in expected.values())
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMITGUARD_")}
    env["COLUMNS"] = "200"  # rich wraps table cells to the terminal width
    for fmt, sep, column in (("markdown", "|", 3), ("text", "│", 4)):
        done = subprocess.run(
            [sys.executable, "-m", "commitguard", "sources", "--repo", str(nixpkgs), "--format", fmt,
             "--keyring", str(world.keyring), "--upstream-mirror", str(world.mirror)],
            capture_output=True, text=True, env=env,
        )
        assert done.returncode == 1, done.stderr
        assert _table_statuses(done.stdout, sep, column) == expected, (fmt, done.stdout)
        if fmt == "markdown":
            assert done.stdout.startswith(f"## commitguard sources: {verified} of {len(expected)} packages verified upstream\n")
