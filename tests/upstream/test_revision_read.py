"""``annotate`` reads a revision's expressions from git, and keeps each reading by blob id.

Reading from the trees must say what reading the same files from disk says
(a checkout with no symbolic links is what an export wrote), for any state of
the work tree. A kept reading must be used only while the expression and
every file it read are the same blobs: a changed ``hashes.json`` beside an
unchanged ``package.nix`` is read again. A damaged cache is no cache. The
repositories are made with git.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pygit2
import pytest

from commitguard.upstream import revision_read
from commitguard.upstream.revision_read import READ_CACHE_FILE, read_revision
from commitguard.upstream.scan import scan_sources
from tests.fixtures.approvals import GitRepo

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

HASH = "sha256-" + "B" * 43 + "="
JSON_PKG = """{ lib, stdenv, fetchurl }:
let info = lib.importJSON ./hashes.json; in
stdenv.mkDerivation {
  pname = "jsonpkg";
  version = info.version;
  src = fetchurl { url = "https://example.org/jsonpkg-${info.version}.tar.gz"; hash = info.hash; };
}
"""
TEXT_PKG = """{ stdenv, fetchurl }:
stdenv.mkDerivation rec {
  pname = "textpkg";
  version = builtins.readFile ../../sh/shared/version.txt;
  src = fetchurl { url = "https://example.org/textpkg-${version}.tar.gz"; hash = "%s"; };
}
""" % HASH
MISSING_PKG = """{ stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "missing";
  version = builtins.readFile ./absent.txt;
  src = fetchurl { url = "https://example.org/m.tar.gz"; hash = "%s"; };
}
""" % HASH
PLAIN = """{ stdenv, fetchurl }:
stdenv.mkDerivation {
  pname = "plain%d";
  version = "1.%d";
  src = fetchurl { url = "https://example.org/plain-1.%d.tar.gz"; hash = "%s"; };
}
"""


def make_repo(tmp_path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo", tmp_path)
    files = {
        "pkgs/by-name/js/jsonpkg/package.nix": JSON_PKG,
        "pkgs/by-name/js/jsonpkg/hashes.json": json.dumps({"version": "2.0", "hash": HASH}),
        "pkgs/by-name/te/textpkg/package.nix": TEXT_PKG,
        "pkgs/by-name/sh/shared/version.txt": "3.1",
        "pkgs/by-name/mi/missing/package.nix": MISSING_PKG,
        "pkgs/top/default.nix": "{ }: { }\n",  # an aggregate: fetches nothing, left out
        "README.md": "#\n",
        **{f"pkgs/by-name/pl/plain{i}/package.nix": PLAIN % (i, i, i, HASH) for i in range(5)},
    }
    repo.commit("init", files)
    return repo


def read(repo: GitRepo, rev: str, cache, paths=()):
    git = pygit2.Repository(str(repo.path))
    tip = str(git.revparse_single(rev).id)
    with tempfile.TemporaryDirectory() as scratch:
        reads = list(read_revision(git, tip, Path(scratch), list(paths), "x86_64-linux", 1, cache))
        report = scan_sources(Path(scratch), list(paths), None, mirror=None, reads=iter(reads))
    return [p.to_json() for p in report.packages], [rel for _, (rel, _) in reads]


def from_disk(root: Path, paths=()):
    report = scan_sources(root, list(paths), None, mirror=None, jobs=1)
    return [p.to_json() for p in report.packages]


@pytest.fixture
def counted(monkeypatch):
    """The expressions actually read (not taken from the cache)."""
    seen: list[str] = []
    original = revision_read._read_one

    def counting(files, rel, system):
        seen.append(rel)
        return original(files, rel, system)

    monkeypatch.setattr(revision_read, "_read_one", counting)
    return seen


def test_reading_the_trees_says_what_reading_the_checkout_says(tmp_path):
    repo = make_repo(tmp_path)
    packages, found = read(repo, "HEAD", None)
    assert packages == from_disk(repo.path)
    assert [p["name"] for p in packages] == ["jsonpkg", "missing", "plain0", "plain1", "plain2", "plain3", "plain4",
                                            "textpkg"]
    assert packages[0]["version"] == "2.0" and packages[-1]["version"] == "3.1"
    assert "pkgs/top/default.nix" in found  # found, then left out as an aggregate, as from disk
    # a named directory and a named file
    for paths in (["pkgs/by-name/js"], ["pkgs/by-name/te/textpkg/package.nix"]):
        assert read(repo, "HEAD", None, paths)[0] == from_disk(repo.path, paths)


def test_the_revision_is_read_whatever_the_work_tree_holds(tmp_path):
    repo = make_repo(tmp_path)
    expected = read(repo, "HEAD", None)[0]
    (repo.path / "pkgs/by-name/js/jsonpkg/hashes.json").write_text(json.dumps({"version": "6.6", "hash": HASH}))
    (repo.path / "pkgs/by-name/sh/shared/version.txt").unlink()
    (repo.path / "pkgs/by-name/zz/untracked").mkdir(parents=True)
    (repo.path / "pkgs/by-name/zz/untracked/package.nix").write_text(PLAIN % (9, 9, 9, HASH))
    assert read(repo, "HEAD", None)[0] == expected


def test_symbolic_links_are_not_read_as_an_export_left_them_out(tmp_path):
    repo = make_repo(tmp_path)
    link = repo.path / "pkgs/by-name/js/jsonpkg/hashes.json"
    link.unlink()
    link.symlink_to("../../sh/shared/version.txt")
    repo.git("add", "-A")
    repo.commit("hashes.json becomes a link")
    packages = {p["name"]: p for p in read(repo, "HEAD", None)[0]}
    assert packages["jsonpkg"]["version"] is None
    assert any("./hashes.json is not a file" in u for s in packages["jsonpkg"]["sources"] for u in s["unresolved"]) \
        or any("hashes.json is not a file" in n for n in packages["jsonpkg"]["notes"]), packages["jsonpkg"]


def test_a_kept_reading_is_used_only_while_every_file_it_read_is_the_same(tmp_path, counted):
    repo = make_repo(tmp_path)
    cache = tmp_path / "cache"
    cold, found = read(repo, "HEAD", cache)
    assert sorted(counted) == sorted(found)
    counted.clear()
    assert read(repo, "HEAD", cache)[0] == cold
    assert counted == []  # everything from the cache
    # only the file beside the expression changes, then a file in another directory
    repo.commit("jsonpkg 2.1", {"pkgs/by-name/js/jsonpkg/hashes.json": json.dumps({"version": "2.1", "hash": HASH})})
    warm = read(repo, "HEAD", cache)[0]
    assert counted == ["pkgs/by-name/js/jsonpkg/package.nix"]
    assert warm == read(repo, "HEAD", None)[0] and warm[0]["version"] == "2.1"
    counted.clear()
    repo.commit("shared 3.2", {"pkgs/by-name/sh/shared/version.txt": "3.2"})
    warm = read(repo, "HEAD", cache)[0]
    assert counted == ["pkgs/by-name/te/textpkg/package.nix"] and warm[-1]["version"] == "3.2"
    counted.clear()
    # a file that was missing appears
    repo.commit("absent appears", {"pkgs/by-name/mi/missing/absent.txt": "0.9"})
    warm = read(repo, "HEAD", cache)[0]
    assert counted == ["pkgs/by-name/mi/missing/package.nix"] and warm[1]["version"] == "0.9"
    counted.clear()
    # an older revision is read from its own blobs: the kept readings of both stay usable
    assert read(repo, "HEAD~3", cache)[0] == cold
    assert counted == []


def test_a_damaged_cache_is_no_cache(tmp_path, counted):
    repo = make_repo(tmp_path)
    cache = tmp_path / "cache"
    cold, found = read(repo, "HEAD", cache)
    (cache / READ_CACHE_FILE).write_bytes(b"not a database" * 100)
    counted.clear()
    assert read(repo, "HEAD", cache)[0] == cold
    assert sorted(counted) == sorted(found)
    # a row whose result does not decode is read again
    import sqlite3

    counted.clear()
    db = sqlite3.connect(cache / READ_CACHE_FILE)
    with db:
        db.execute("UPDATE reads2 SET result = '{\"path\": 1}'")
    db.close()
    assert read(repo, "HEAD", cache)[0] == cold
    assert sorted(counted) == sorted(found)


def test_annotate_with_a_cache_prints_what_it_prints_without(tmp_path):
    from tests.fixtures_git import run_cli

    repo = make_repo(tmp_path)
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    (keyring / "keyring.toml").write_text("version = 1\n")

    def annotate(*cache):
        res = run_cli(["annotate", "--repo", str(repo.path), "--keyring", str(keyring), "--format", "json", *cache],
                      scratch=tmp_path / "scratch")
        assert res.code in (0, 1), res.describe()
        out = json.loads(res.stdout)
        out.pop("history")
        return out

    cold = annotate("--no-cache")
    cache = str(tmp_path / "cache")
    assert annotate("--cache", cache) == cold
    assert annotate("--cache", cache) == cold
    repo.commit("jsonpkg 2.2", {"pkgs/by-name/js/jsonpkg/hashes.json": json.dumps({"version": "2.2", "hash": HASH})})
    warm = annotate("--cache", cache)
    assert warm == annotate("--no-cache") and warm["packages"][0]["version"] == "2.2"
