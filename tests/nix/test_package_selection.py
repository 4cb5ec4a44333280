"""Package arguments of ``sources``, ``annotate``, ``pin`` and ``audit-bump`` (issue 13, item 5):
names resolved as nixpkgs resolves them, paths relative to the current directory,
and a ``default.nix`` that only wraps ``package.nix`` counted once.

The repository is built with the real git; commitguard runs through tests/fixtures/cli.py."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.fixtures.repo import ScratchRepo
from tests.fixtures_git import SshKey, run_cli

HASH = "sha256-" + "A" * 43 + "="
HASH2 = "sha256-" + "B" * 43 + "="


def package(name: str, version: str = "1.0", hash: str = HASH) -> str:
    return f"""{{ lib, stdenv, fetchurl }}:

stdenv.mkDerivation rec {{
  pname = "{name}";
  version = "{version}";

  src = fetchurl {{
    url = "https://example.org/{name}/{name}-${{version}}.tar.gz";
    hash = "{hash}";
  }};
}}
"""


WRAPPER = "# a wrapper, as nixpkgs' by-path packages often have\n{ callPackage }:\n\ncallPackage ./package.nix { }\n"
ALL_PACKAGES = """{ lib, pkgs, callPackage }:

with pkgs;

{
  jq = callPackage ../development/tools/jq { };

  oldtool = callPackage ../tools/misc/oldtool.nix { };

  zlib-ng = callPackage ../development/libraries/zlib-ng { };
}
"""
PYTHON_PACKAGES = """self: super: with self; {
  requests = callPackage ../development/python-modules/requests { };
}
"""


class Repo(ScratchRepo):
    def cli(self, *args: str, cwd: Path | None = None):
        return run_cli([str(a) for a in args], scratch=self.scratch, cwd=cwd or self.root)


FILES = {
    "pkgs/by-name/he/hello/package.nix": package("hello"),
    "pkgs/top-level/all-packages.nix": ALL_PACKAGES,
    "pkgs/top-level/python-packages.nix": PYTHON_PACKAGES,
    "pkgs/development/tools/jq/default.nix": WRAPPER,
    "pkgs/development/tools/jq/package.nix": package("jq"),
    "pkgs/tools/misc/oldtool.nix": package("oldtool"),
    "pkgs/development/libraries/zlib-ng/default.nix": package("zlib-ng"),
    "pkgs/development/python-modules/requests/default.nix": package("requests"),
    # two directories named "dup": a name that matches both is ambiguous
    "pkgs/a/dup/default.nix": package("dup"),
    "pkgs/b/dup/default.nix": package("dup"),
    # a default.nix that does more than wrap: two packages
    "pkgs/tools/both/default.nix": package("both-default"),
    "pkgs/tools/both/package.nix": package("both"),
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Repo:
    base = tmp_path_factory.mktemp("selection")
    (base / "scratch").mkdir()
    (base / "nixpkgs").mkdir()
    r = Repo(base / "nixpkgs", base / "scratch")
    r.commit("initial", FILES)
    return r


def sources_paths(res) -> list[str]:
    return [p["path"] for p in json.loads(res.stdout)["packages"]]


# --------------------------------------------------------------------------- sources


def test_name_resolved_by_name(repo):
    res = repo.cli("sources", "hello", "--format", "json")
    assert res.code == 1, res.describe()  # no keyring: nothing is verified
    assert sources_paths(res) == ["pkgs/by-name/he/hello/package.nix"]


def test_name_resolved_through_all_packages_wrapper_counted_once(repo):
    res = repo.cli("sources", "jq", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/development/tools/jq/package.nix"]


def test_attribute_bound_to_a_file_and_to_a_directory(repo):
    res = repo.cli("sources", "oldtool", "zlib-ng", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/tools/misc/oldtool.nix", "pkgs/development/libraries/zlib-ng/default.nix"]


def test_package_set_attribute(repo):
    res = repo.cli("sources", "python3Packages.requests", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/development/python-modules/requests/default.nix"]


def test_directory_with_a_wrapper_is_one_package(repo):
    res = repo.cli("sources", "pkgs/development/tools/jq", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/development/tools/jq/package.nix"]


def test_wrapper_named_selects_its_package(repo):
    res = repo.cli("sources", "pkgs/development/tools/jq/default.nix", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/development/tools/jq/package.nix"]


def test_default_nix_that_is_a_package_of_its_own_stays(repo):
    res = repo.cli("sources", "pkgs/tools/both", "--format", "json")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/tools/both/default.nix", "pkgs/tools/both/package.nix"]


def test_whole_tree_lists_the_wrapped_package_once(repo):
    res = repo.cli("sources", "--format", "json")
    assert res.code == 1, res.describe()
    paths = sources_paths(res)
    assert paths.count("pkgs/development/tools/jq/package.nix") == 1
    assert "pkgs/development/tools/jq/default.nix" not in paths


def test_path_relative_to_the_current_directory(repo):
    res = repo.cli("sources", "by-name/he/hello", "--format", "json", cwd=repo.root / "pkgs")
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/by-name/he/hello/package.nix"]


def test_path_relative_to_the_current_directory_with_repo_elsewhere(repo):
    res = repo.cli("sources", "--repo", repo.root, "nixpkgs/pkgs/by-name/he/hello", "--format", "json",
                   cwd=repo.root.parent)
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/by-name/he/hello/package.nix"]


def test_repository_relative_path_from_outside_still_works(repo):
    """Scripts written for earlier releases pass paths from the repository's top."""
    res = repo.cli("sources", "--repo", repo.root, "pkgs/by-name/he/hello", "--format", "json",
                   cwd=repo.scratch)
    assert res.code == 1, res.describe()
    assert sources_paths(res) == ["pkgs/by-name/he/hello/package.nix"]


def test_inside_the_repository_paths_are_not_taken_from_the_top(repo):
    res = repo.cli("sources", "pkgs/by-name/he/hello", "--format", "json", cwd=repo.root / "pkgs")
    assert res.code == 2, res.describe()
    assert res.stderr == (f"commitguard: error: pkgs/by-name/he/hello: PACKAGE: no such file or directory in the "
                          f"repository (relative to {repo.root.resolve() / 'pkgs'})\n")


def test_unknown_name_is_exit_2(repo):
    res = repo.cli("sources", "nosuchpackage")
    assert res.code == 2, res.describe()
    assert res.stderr == (
        "commitguard: error: PACKAGE: no package 'nosuchpackage': not in pkgs/by-name, not a callPackage attribute "
        "of pkgs/top-level/all-packages.nix, and no directory of that name holds package.nix or default.nix "
        "(a path is taken relative to the current directory)\n")
    assert res.stdout == ""


def test_ambiguous_name_is_exit_2(repo):
    res = repo.cli("sources", "dup")
    assert res.code == 2, res.describe()
    assert res.stderr == ("commitguard: error: PACKAGE: package name 'dup' is ambiguous "
                          "(pkgs/a/dup/default.nix, pkgs/b/dup/default.nix): name the path\n")


def test_path_outside_the_repository_is_exit_2(repo):
    res = repo.cli("sources", "../scratch")
    assert res.code == 2, res.describe()
    assert res.stderr == f"commitguard: error: ../scratch: PACKAGE: outside the repository {repo.root.resolve()}\n"


def test_directory_without_expressions_never_means_everything(repo):
    (repo.root / "docs").mkdir(exist_ok=True)
    (repo.root / "docs" / "readme.md").write_text("docs\n")
    try:
        res = repo.cli("sources", "docs")
        assert res.code == 2, res.describe()
        assert res.stderr == ("commitguard: error: PACKAGE: no package expression (package.nix, default.nix or "
                              "a .nix file) in docs\n")
    finally:
        (repo.root / "docs" / "readme.md").unlink()
        (repo.root / "docs").rmdir()


# --------------------------------------------------------------------------- annotate, pin, audit-bump


def test_annotate_by_name_and_wrapper(repo):
    res = repo.cli("annotate", "hello", "jq", "--keyring", keyring(repo), "--no-cache", "--format", "json")
    assert res.code == 1, res.describe()
    assert [p["path"] for p in res.json["packages"]] == ["pkgs/by-name/he/hello/package.nix",
                                                         "pkgs/development/tools/jq/package.nix"]


def test_annotate_reads_the_revision_from_a_subdirectory(repo):
    res = repo.cli("annotate", "../development/tools/jq", "--keyring", keyring(repo), "--no-cache",
                   "--format", "json", cwd=repo.root / "pkgs" / "top-level")
    assert res.code == 1, res.describe()
    assert [p["path"] for p in res.json["packages"]] == ["pkgs/development/tools/jq/package.nix"]


def test_pin_package_set_attribute(repo):
    lock = repo.scratch / "pin.lock"
    res = repo.cli("pin", "python3Packages.requests", "--keyring", keyring(repo), "--lock", lock, "--no-cache",
                   "--format", "json")
    assert res.code == 1, res.describe()  # nothing is signed: no revision is trusted
    assert list(res.json["packages"]) == ["requests"]
    assert res.json["packages"]["requests"]["path"] == "pkgs/development/python-modules/requests/default.nix"
    assert res.json["packages"]["requests"]["trusted"] is False


def test_pin_unknown_name_is_exit_2(repo):
    res = repo.cli("pin", "nosuchpackage", "--keyring", keyring(repo), "--lock", repo.scratch / "x.lock",
                   "--no-cache")
    assert res.code == 2, res.describe()
    assert res.stderr.startswith("commitguard: error: PACKAGE: no package 'nosuchpackage': not in pkgs/by-name")


@pytest.fixture(scope="module")
def bump(repo) -> tuple[str, str]:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "bump")
    head = repo.commit("hello, jq: bump", {
        "pkgs/by-name/he/hello/package.nix": package("hello", "1.1", HASH2),
        "pkgs/development/tools/jq/package.nix": package("jq", "1.1", HASH2),
    })
    repo.git("checkout", "-q", "main")
    return base, head


def test_audit_bump_only_the_named_package(repo, bump):
    base, head = bump
    res = repo.cli("audit-bump", "hello", "--base", base, "--head", head, "--format", "json")
    assert res.code == 0, res.describe()
    out = res.json
    assert [(p["path"], p["kind"]) for p in out["packages"]] == [("pkgs/by-name/he/hello/package.nix", "version-bump")]
    assert out["findings"] == [{"severity": "medium", "code": "extra-changes",
                                "message": "packages changed but not selected, not audited: pkgs/development/tools/jq"}]


def test_audit_bump_without_packages_audits_all(repo, bump):
    base, head = bump
    res = repo.cli("audit-bump", "--base", base, "--head", head, "--format", "json")
    assert res.code == 0, res.describe()
    assert sorted(p["path"] for p in res.json["packages"]) == ["pkgs/by-name/he/hello/package.nix",
                                                                 "pkgs/development/tools/jq/package.nix"]


def test_audit_bump_package_the_change_does_not_touch(repo, bump):
    base, head = bump
    res = repo.cli("audit-bump", "oldtool", "--base", base, "--head", head)
    assert res.code == 2, res.describe()
    assert res.stderr == "commitguard: error: PACKAGE: the change does not touch pkgs/tools/misc/oldtool.nix\n"


def keyring(repo: Repo) -> Path:
    directory = repo.scratch / "keyring"
    if not directory.exists():
        directory.mkdir()
        key = SshKey.generate(repo.scratch / "ssh", "alice", "ed25519")
        (directory / "keyring.toml").write_text(
            'version = 1\n\n[[person]]\nid = "alice"\nemails = ["alice@example.org"]\n\n[[person.key]]\n'
            f'ssh = "{key.pub_line}"\n')
    return directory


def test_package_set_attribute_not_bound_is_exit_2(repo):
    res = repo.cli("sources", "python3Packages.dup")
    assert res.code == 2, res.describe()
    # no guess from a directory that happens to carry the attribute's name
    assert res.stderr == ("commitguard: error: PACKAGE: no package 'python3Packages.dup': not a callPackage attribute "
                          "of pkgs/top-level/python-packages.nix (a path is taken relative to the current directory)\n")


def test_unknown_dotted_name_is_exit_2(repo):
    res = repo.cli("sources", "lib.strings.foo")
    assert res.code == 2, res.describe()
    assert res.stderr == ("commitguard: error: PACKAGE: no package 'lib.strings.foo': not a NAME or SETPackages.NAME "
                          "nixpkgs resolves (a path is taken relative to the current directory)\n")


def test_symlinked_directory_cycle_is_not_walked(repo):
    loop = repo.root / "pkgs" / "tools" / "loop"
    loop.symlink_to("..")
    try:
        res = repo.cli("sources", "pkgs/tools", "--format", "json")
        assert res.code == 1, res.describe()
        # a directory stands for its package.nix/default.nix files (oldtool.nix is named by attribute)
        assert sources_paths(res) == ["pkgs/tools/both/default.nix", "pkgs/tools/both/package.nix"]
    finally:
        loop.unlink()


def test_pin_path_relative_to_a_subdirectory(repo):
    res = repo.cli("pin", "../development/python-modules/requests", "--keyring", keyring(repo), "--no-cache",
                   "--lock", repo.scratch / "sub.lock", "--format", "json", cwd=repo.root / "pkgs" / "top-level")
    assert res.code == 1, res.describe()
    assert {name: p["path"] for name, p in res.json["packages"].items()} == {
        "requests": "pkgs/development/python-modules/requests/default.nix"}


def test_name_search_in_a_revision_is_bounded_in_time(tmp_path):
    """A name found only by walking the tree: each directory listed once (listing by
    path from the root again took 64 s for 10,000 packages, 0.13 s now)."""
    import time

    from commitguard.git.revisions import open_repository
    from commitguard.nix.selection import select_in_revision

    (tmp_path / "scratch").mkdir()
    (tmp_path / "big").mkdir()
    big = Repo(tmp_path / "big", tmp_path / "scratch")
    # one shard of 4,000 packages (nixpkgs' largest shards hold over a thousand)
    files = {f"pkgs/by-name/pk/pk{i:04d}/package.nix": package(f"pk{i:04d}") for i in range(4000)}
    files["pkgs/tools/misc/oddone/default.nix"] = package("oddone")
    head = big.commit("many packages", files)
    repo_obj = open_repository(str(big.root))
    started = time.perf_counter()
    found = select_in_revision(repo_obj, head, ["oddone"], cwd=big.root)
    whole = select_in_revision(repo_obj, head, ["pkgs/by-name"], cwd=big.root)
    elapsed = time.perf_counter() - started
    assert found == ["pkgs/tools/misc/oddone/default.nix"]
    assert len(whole) == 4000
    assert elapsed < 3, f"{elapsed:.1f} s"
