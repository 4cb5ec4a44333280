"""Upstream evidence (``commitguard.upstream``) against a mirror made with git, gpg and ssh-keygen.

Each case names the exact status, evidence kind and signer SPEC's
``sources`` JSON would carry. The mirror, the release files and the hashes
an expression would pin are built in ``upstream_fixtures.py`` with the real
tools only; the keyrings are written by hand.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pygit2
import pytest

from tests.fixtures.forge import FakeGitHub, serving
from tests.fixtures_git import Gpg, run
from tests.upstream_fixtures import (
    PYPI_URL,
    RELEASES,
    build,
    flat_sri,
    hostile_tar,
    nix_hash,
    nix_hash_available,
)

from commitguard.keyring.loader import load_keyring
from commitguard.model.sources import UPSTREAM_STATUSES, FetcherCall
from commitguard.upstream import ContinuityStore, compare_versions, evaluate_upstream
from commitguard.upstream import nar

_TOOLS = ("git", "gpg", "gpgconf", "ssh-keygen", "tar", "xz", "unzip", "nix-hash")  # nix-hash: the NAR oracle
_MISSING = [t for t in _TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING) and not os.environ.get("CI"),
                                reason=f"missing tools: {', '.join(_MISSING)}")


@pytest.fixture(scope="module")
def uw(tmp_path_factory):
    root = tmp_path_factory.mktemp("upstream")
    try:
        yield build(root)
    finally:
        Gpg(root / "gnupg", root).kill_agent()


@pytest.fixture(scope="module")
def keyring(uw):
    return load_keyring(uw.keyring)


def gh(tag=None, rev=None, *, repo="repo", hash=None, **args) -> FetcherCall:
    return FetcherCall("fetchFromGitHub", url=f"https://github.com/owner/{repo}", owner="owner", repo=repo,
                       tag=tag, rev=rev, hash=hash, args=args)


def url_call(fetcher: str, url: str, hash: str | None, **args) -> FetcherCall:
    return FetcherCall(fetcher, url=url, urls=(url,), hash=hash, args=args)


def check(evidence, status, evidence_kind, signer, key=None):
    got = (evidence.status, evidence.evidence, evidence.signer)
    assert got == (status, evidence_kind, signer), evidence.reason
    if key is not None:
        assert evidence.key == key, evidence
    assert evidence.status in UPSTREAM_STATUSES
    assert set(evidence.to_json()) == {"status", "signer", "evidence", "key", "reason"}
    json.dumps(evidence.to_json())


def evaluate(uw, keyring, call, **kw):
    return evaluate_upstream(call, keyring, mirror=uw.mirror, **kw)


# -- signed tags and commits ----------------------------------------------------------------------


def test_gpg_signed_tag_with_bound_hash_is_verified(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.0"]))
    check(e, "verified", "signed-tag", "github:owner/repo", uw.pgp["upstream"])
    assert "hash is the NAR hash" in e.reason


def test_ssh_signed_tag_is_verified(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0-ssh", hash=uw.hashes["v1.0"]))
    check(e, "verified", "signed-tag", "github:owner/repo", uw.ssh["upstream"].fingerprint)


def test_rev_naming_a_tag_is_the_tag(uw, keyring):
    for rev in ("v1.0", "refs/tags/v1.0"):
        e = evaluate(uw, keyring, gh(rev=rev, hash=uw.hashes["v1.0"]))
        check(e, "verified", "signed-tag", "github:owner/repo", uw.pgp["upstream"])


def test_unsigned_annotated_tag_on_unsigned_commit(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0-unsigned", hash=uw.hashes["v1.0"]))
    check(e, "unsigned", None, None)
    assert "unsigned annotated tag" in e.reason


def test_lightweight_tag_on_unsigned_commit(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0-light", hash=uw.hashes["v1.0"]))
    check(e, "unsigned", None, None)
    assert "lightweight" in e.reason


def test_lightweight_tag_on_signed_commit_falls_back_to_the_commit(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.1-light", hash=uw.hashes["v1.1"]))
    check(e, "verified", "signed-commit", "github:owner/repo", uw.pgp["upstream"])


def test_tag_signed_by_another_key(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0-stranger", hash=uw.hashes["v1.0"]))
    check(e, "unknown-key", "signed-tag", None, uw.pgp["stranger"])


def test_tampered_tag(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0-tampered", hash=uw.hashes["v1.0"]))
    check(e, "bad-signature", "signed-tag", None)


def test_tag_name_replay_is_a_bad_signature(uw, keyring):
    # refs/tags/v1.1-replay holds v1.0's genuinely signed tag object
    e = evaluate(uw, keyring, gh("v1.1-replay", hash=uw.hashes["v1.0"]))
    check(e, "bad-signature", "signed-tag", None)
    assert "replay" in e.reason and "'v1.0'" in e.reason


def test_signed_commit(uw, keyring):
    e = evaluate(uw, keyring, gh(rev=uw.commits["c2"], hash=uw.hashes["v1.1"]))
    check(e, "verified", "signed-commit", "github:owner/repo", uw.pgp["upstream"])


def test_commit_signed_by_another_key(uw, keyring):
    e = evaluate(uw, keyring, gh(rev=uw.commits["c3"]))
    check(e, "unknown-key", "signed-commit", None, uw.pgp["stranger"])
    assert "no hash" in e.reason


def test_unsigned_commit_pinned_by_id_is_vouched_for_by_its_signed_tag(uw, keyring):
    e = evaluate(uw, keyring, gh(rev=uw.commits["c1"], hash=uw.hashes["v1.0"]))
    check(e, "verified", "signed-tag", "github:owner/repo")
    assert "is tag v1.0" in e.reason


def test_bare_mirror_and_case_insensitive_github_match(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0", repo="bare", hash=uw.hashes["v1.0"]))
    check(e, "verified", "signed-tag", "github:Owner/Bare", uw.pgp["upstream"])


def test_gitlab_with_group(uw, keyring):
    call = FetcherCall("fetchFromGitLab", owner="owner", repo="glrepo", tag="v1.0", hash=uw.hashes["v1.0"],
                       args={"group": "group"})
    check(evaluate(uw, keyring, call), "verified", "signed-tag", "https://gitlab.com/group/owner/glrepo")


def test_fetchgit_url_with_dot_git(uw, keyring):
    call = FetcherCall("fetchgit", url="https://git.example.org/project.git", rev="refs/tags/v1.0",
                       hash=uw.hashes["v1.0"])
    check(evaluate(uw, keyring, call), "verified", "signed-tag", "https://git.example.org/project")


def test_tag_missing_from_mirror(uw, keyring):
    e = evaluate(uw, keyring, gh("v9.9", hash=uw.hashes["v1.0"]))
    check(e, "unavailable", None, None)
    assert "v9.9" in e.reason


def test_repository_missing_from_mirror(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0", repo="absent", hash=uw.hashes["v1.0"]))
    check(e, "unavailable", None, None)
    assert "not in the upstream mirror" in e.reason


def test_no_matching_upstream_entry_is_an_unknown_key(uw):
    empty = load_keyring(uw.bare_keyring)
    e = evaluate(uw, empty, gh("v1.0", hash=uw.hashes["v1.0"]))
    check(e, "unknown-key", "signed-tag", None, uw.pgp["upstream"])
    assert "no [[upstream]] entry matches" in e.reason


# -- hash binding ----------------------------------------------------------------------------------


def test_archive_hash_is_the_tree_nar_hash(uw):
    """fetchFromGitHub's hash (nix-hash over ``git archive`` of the tag, unpacked) is what nar computes."""
    assert nix_hash_available() or not os.environ.get("CI"), "CI must install nix-bin (nix-hash)"
    repo = pygit2.Repository(str(uw.repo.path))
    for rev in ("v1.0", "v1.1"):
        tree = repo.revparse_single(rev).peel(pygit2.Tree)
        assert nar.hash_git_tree(repo, tree.id).hash == uw.hashes[rev]


def test_wrong_hash_is_a_hash_mismatch(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.1"]))
    check(e, "hash-mismatch", "signed-tag", None)
    assert uw.hashes["v1.1"] in e.reason and uw.hashes["v1.0"] in e.reason


def test_submodules_are_empty_directories_as_in_the_archive(uw, keyring):
    e = evaluate(uw, keyring, gh("v3.0", repo="subs", hash=uw.hashes["subs v3.0"]))
    check(e, "verified", "signed-tag", "github:owner/subs")
    assert "hash is the NAR hash" in e.reason


def test_wrong_hash_with_submodules_fetched_is_unbound(uw, keyring):
    e = evaluate(uw, keyring, gh("v3.0", repo="subs", hash=uw.hashes["v1.0"], fetchSubmodules=True))
    check(e, "unbound", "signed-tag", "github:owner/subs", uw.pgp["upstream"])
    assert "fetchSubmodules is set" in e.reason and "vendor/lib" in e.reason
    assert "the hash is not bound" in e.reason


def test_fetch_submodules_without_submodules_changes_nothing(uw, keyring):
    # a tree without gitlinks checks out the same with or without submodules: the mismatch is certain
    e = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.1"], fetchSubmodules=True))
    check(e, "hash-mismatch", "signed-tag", None)


@pytest.mark.parametrize("arg", [{"leaveDotGit": True}, {"postFetch": "rm -r $out/x"}, {"deepClone": True},
                                 {"extraPostFetch": "echo > $out/x"}, {"fetchLFS": True},
                                 {"sparseCheckout": ["src"]}, {"rootDir": "src"}, {"stripRoot": False}])
def test_wrong_hash_with_altering_arguments_is_unbound_never_verified(uw, keyring, arg):
    """The pull request writes these arguments: a wrong hash beside a genuinely signed tag must not read as
    verified (issue 14, item 2)."""
    from commitguard.upstream.scan import PackageSources
    from commitguard.model.sources import PackageExpression

    call = gh("v1.0", hash=uw.hashes["v1.1"], **arg)
    e = evaluate(uw, keyring, call)
    check(e, "unbound", "signed-tag", "github:owner/repo", uw.pgp["upstream"])
    name = next(iter(arg))
    assert (f"{name} is set" in e.reason or "stripRoot = false" in e.reason), e.reason
    assert "the hash is not bound" in e.reason
    package = PackageExpression("pkgs/x/package.nix", "x", "1.0", (call,))
    assert PackageSources(package, e).trusted is False


def test_right_hash_with_altering_arguments_is_verified(uw, keyring):
    # the output must have the pinned hash, and that hash is the signed tree's: the arguments changed nothing
    e = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.0"], postFetch="true"))
    check(e, "verified", "signed-tag", "github:owner/repo", uw.pgp["upstream"])


def test_no_hash_beside_a_good_signature_is_unbound(uw, keyring):
    e = evaluate(uw, keyring, gh("v1.0"))
    check(e, "unbound", "signed-tag", "github:owner/repo", uw.pgp["upstream"])
    assert "gives no hash" in e.reason
    e = evaluate(uw, keyring, gh("v1.0", hash="md5-" + "A" * 22 + "=="))
    check(e, "unbound", "signed-tag", "github:owner/repo", uw.pgp["upstream"])
    assert "is not one that can be recomputed" in e.reason


def test_export_ignore_is_applied_as_git_archive_applies_it(uw, keyring):
    # the hash is nix-hash of `git archive v2.0` unpacked: secret.txt left out
    e = evaluate(uw, keyring, gh("v2.0", repo="attrs", hash=uw.hashes["attrs v2.0"]))
    check(e, "verified", "signed-tag", "github:owner/attrs", uw.pgp["upstream"])
    assert "forge's archive of this tree (export-ignore paths left out" in e.reason


def test_nested_export_ignore_rules_come_from_the_signed_commit_only(uw, keyring):
    """Directory rules, nested .gitattributes, an emptied directory kept; the mirror's checkout (another
    revision with other rules) must not change the answer."""
    e = evaluate(uw, keyring, gh("v2.1", repo="attrs2", hash=uw.hashes["attrs2 v2.1"]))
    check(e, "verified", "signed-tag", "github:owner/attrs2", uw.pgp["upstream"])
    assert "export-ignore paths left out" in e.reason


def test_export_ignore_with_a_wrong_hash_is_unbound(uw, keyring):
    e = evaluate(uw, keyring, gh("v2.1", repo="attrs2", hash=uw.hashes["v1.0"]))
    check(e, "unbound", "signed-tag", "github:owner/attrs2", uw.pgp["upstream"])
    assert "export-ignore" in e.reason
    # fetched with git, no archive is made: the tree itself is what must match
    e = evaluate(uw, keyring, gh("v2.1", repo="attrs2", hash=uw.hashes["attrs2 v2.1"], forceFetchGit=True))
    check(e, "hash-mismatch", "signed-tag", None)


def _nar_fixture_dir(root: Path, *, empty_dir: bool) -> Path:
    d = root / ("with-empty-dir" if empty_dir else "tree")
    (d / "nested" / "deeper").mkdir(parents=True)
    (d / "file.txt").write_text("some text\n")
    (d / "nested" / "deeper" / "odd-length").write_bytes(b"12345")
    (d / "empty").write_bytes(b"")
    (d / "tool").write_text("#!/bin/sh\nexit 0\n")
    (d / "tool").chmod(0o755)
    os.symlink("file.txt", d / "link")
    os.symlink("../file.txt", d / "nested" / "up")
    (d / "B-upper").write_text("sorted bytewise\n")
    if empty_dir:
        (d / "nothing-here").mkdir()
    return d


def test_nar_matches_nix_hash(tmp_path):
    if not nix_hash_available():
        if os.environ.get("CI"):
            pytest.fail("CI must install nix-bin (nix-hash)")
        pytest.skip("nix-hash is not installed")
    d = _nar_fixture_dir(tmp_path, empty_dir=True)
    assert nar.hash_path(d) == nix_hash(d)
    # and straight from git objects, for the same tree committed (git has no empty directories)
    t = _nar_fixture_dir(tmp_path, empty_dir=False)
    gitdir = tmp_path / "objects.git"
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    run(["git", "init", "-q", "--bare", str(gitdir)], env=env)
    git = ["git", "--git-dir", str(gitdir), "--work-tree", str(t)]
    run([*git, "add", "-A"], env=env)
    tree_id = run([*git, "write-tree"], env=env).stdout.decode().strip()
    repo = pygit2.Repository(str(gitdir))
    assert nar.hash_git_tree(repo, pygit2.Oid(hex=tree_id)).hash == nix_hash(t)


def test_nar_of_a_very_deep_tree_does_not_recurse(tmp_path):
    repo = pygit2.init_repository(str(tmp_path / "deep"), bare=True)
    tree = repo.TreeBuilder()
    tree.insert("leaf", repo.create_blob(b"x"), pygit2.enums.FileMode.BLOB)
    oid = tree.write()
    for _ in range(3000):
        builder = repo.TreeBuilder()
        builder.insert("d", oid, pygit2.enums.FileMode.TREE)
        oid = builder.write()
    assert nar.hash_git_tree(repo, oid).hash.startswith("sha256-")


def test_parse_sri_refuses_what_it_cannot_compute():
    assert nar.parse_sri("sha256-" + "A" * 43 + "=") is not None
    for bad in (None, "", "md5-AAAA", "sha256-not base64!", "sha256-AAAA", "1vnccvsvrss3ywqj4ykpgld2vp4wravbv"):
        assert nar.parse_sri(bad) is None


# -- detached signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize("name,status,kind,signer,key", [
    ("good-1.0.tar.gz", "verified", "detached-signature", RELEASES, "upstream"),
    ("asc-1.0.tar.gz", "verified", "detached-signature", RELEASES, "upstream"),
    ("ssh-1.0.tar.gz", "verified", "detached-signature", RELEASES, "ssh"),
    ("bad-1.0.tar.gz", "bad-signature", "detached-signature", None, None),
    ("stranger-1.0.tar.gz", "unknown-key", "detached-signature", None, "stranger"),
    ("sshgit-1.0.tar.gz", "bad-signature", "detached-signature", None, None),
    ("nosig-1.0.tar.gz", "unsigned", None, None, None),
    ("linux-1.0.tar.xz", "verified", "detached-signature", RELEASES, "upstream"),
])
def test_release_file_signatures(uw, keyring, name, status, kind, signer, key):
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + name, flat_sri(uw.files[name])))
    expected_key = {"upstream": uw.pgp["upstream"], "stranger": uw.pgp["stranger"],
                    "ssh": uw.ssh["upstream"].fingerprint}.get(key)
    check(e, status, kind, signer, expected_key)
    if status != "hash-mismatch":
        assert "hash is the hash of the file" in e.reason


def test_ssh_signature_in_the_git_namespace_does_not_count_for_a_file(uw, keyring):
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + "sshgit-1.0.tar.gz", flat_sri(uw.files["sshgit-1.0.tar.gz"])))
    assert "namespace 'git'" in e.reason


def test_release_file_missing(uw, keyring):
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + "missing-1.0.tar.gz", uw.hashes["v1.0"]))
    check(e, "unavailable", None, None)


def test_release_file_with_another_hash(uw, keyring):
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + "good-1.0.tar.gz", uw.hashes["v1.0"]))
    check(e, "hash-mismatch", "detached-signature", None)
    assert flat_sri(uw.files["good-1.0.tar.gz"]) in e.reason


def test_fetchzip_hash_is_the_unpacked_nar(uw, keyring):
    for name in ("good-1.0.tar.gz", "pkg-1.0.zip"):
        e = evaluate(uw, keyring, url_call("fetchzip", RELEASES + name, uw.zip_hashes[name]))
        check(e, "verified", "detached-signature", RELEASES, uw.pgp["upstream"])
        assert "NAR hash of the unpacked archive" in e.reason


def test_fetchzip_with_another_hash(uw, keyring):
    e = evaluate(uw, keyring, url_call("fetchzip", RELEASES + "pkg-1.0.zip", uw.hashes["v1.1"]))
    check(e, "hash-mismatch", "detached-signature", None)


def test_release_file_with_another_hash_beside_post_fetch_is_unbound(uw, keyring):
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + "good-1.0.tar.gz", uw.hashes["v1.0"],
                                       postFetch="tar xf $out"))
    check(e, "unbound", "detached-signature", RELEASES, uw.pgp["upstream"])
    assert "postFetch is set" in e.reason and "not bound" in e.reason
    e = evaluate(uw, keyring, url_call("fetchurl", RELEASES + "good-1.0.tar.gz", flat_sri(uw.files["good-1.0.tar.gz"]),
                                       postFetch="true"))
    check(e, "verified", "detached-signature", RELEASES, uw.pgp["upstream"])


def test_pypi_match(uw, keyring):
    call = FetcherCall("fetchPypi", url=PYPI_URL, hash=flat_sri(uw.files["sdist"]), args={"pname": "demo-pkg"})
    check(evaluate(uw, keyring, call), "verified", "detached-signature", "pypi:Demo_Pkg", uw.pgp["upstream"])


@pytest.mark.parametrize("kind,escaped", [
    ("dotdot", "escaped.txt"),
    ("absolute", "/tmp/commitguard-absolute-escape.txt"),
    ("through-link", "escaped-through-link.txt"),
])
def test_hostile_archive_is_never_unpacked_outside(uw, keyring, tmp_path, kind, escaped):
    mirror = tmp_path / "mirror"
    target = mirror / "evil.example.org" / "x.tar.gz"
    target.parent.mkdir(parents=True)
    hostile_tar(target, kind)
    Path("/tmp/commitguard-absolute-escape.txt").unlink(missing_ok=True)
    e = evaluate_upstream(url_call("fetchzip", "https://evil.example.org/x.tar.gz", uw.hashes["v1.0"]), keyring,
                          mirror=mirror)
    check(e, "unsigned", None, None)
    assert "cannot be unpacked" in e.reason
    assert not Path(escaped).is_absolute() or not Path(escaped).exists()
    found = [p for p in tmp_path.rglob("*") if p.name == Path(escaped).name]
    assert not found, found


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "through-link"])
def test_unpacking_refuses_hostile_members_before_writing_them(tmp_path, kind):
    from commitguard.upstream import archive

    src = tmp_path / "in.tar.gz"
    hostile_tar(src, kind)
    dest = tmp_path / "a" / "b" / "dest"
    dest.mkdir(parents=True)
    Path("/tmp/commitguard-absolute-escape.txt").unlink(missing_ok=True)
    with pytest.raises(archive.ArchiveError):
        archive.unpack(src, dest)
    outside = [p for p in tmp_path.rglob("*") if dest not in p.parents and p != dest and p not in dest.parents]
    assert outside == [src], outside
    assert not Path("/tmp/commitguard-absolute-escape.txt").exists()
    assert not any(p.name.startswith("escaped") for p in dest.rglob("*"))


def test_mirror_paths_never_leave_the_mirror(uw, keyring, tmp_path):
    outside = uw.mirror.parent / "outside.tar.gz"
    outside.write_bytes(b"outside the mirror\n")
    for url in ("https://releases.example.org/../../outside.tar.gz",
                "https://releases.example.org/%2e%2e/%2e%2e/outside.tar.gz"):
        e = evaluate(uw, keyring, url_call("fetchurl", url, flat_sri(outside)))
        check(e, "unavailable", None, None)
    e = evaluate(uw, keyring, FetcherCall("fetchFromGitHub", owner="..", repo="..", tag="v1.0"))
    check(e, "unavailable", None, None)


# -- what cannot be judged ------------------------------------------------------------------------------


def test_unresolved_arguments_are_not_guessed(uw, keyring):
    call = FetcherCall("fetchFromGitHub", owner="owner", repo="repo", rev=None, resolved=False, unresolved=("rev",))
    e = evaluate(uw, keyring, call)
    check(e, "unavailable", None, None)
    assert "rev" in e.reason


def test_no_mirror_and_offline_is_unavailable(keyring):
    e = evaluate_upstream(gh("v1.0"), keyring, mirror=None)
    check(e, "unavailable", None, None)


def test_a_broken_mirror_repository_is_unavailable(uw, keyring, tmp_path):
    mirror = tmp_path / "mirror"
    broken = mirror / "github.com" / "owner" / "repo"
    broken.mkdir(parents=True)
    (broken / "HEAD").write_text("garbage\n")
    (broken / "objects").mkdir()
    e = evaluate_upstream(gh("v1.0"), keyring, mirror=mirror)
    check(e, "unavailable", None, None)


def test_unknown_fetcher(uw, keyring):
    e = evaluate(uw, keyring, FetcherCall("fetchhg", url="https://hg.example.org/x", rev="1"))
    check(e, "unavailable", None, None)


# -- continuity ---------------------------------------------------------------------------------------------


def test_key_change_between_versions_is_reported(uw, keyring, tmp_path):
    with ContinuityStore(tmp_path / "continuity.sqlite3") as store:
        e1 = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.0"]), continuity=store, version="1.0")
        check(e1, "verified", "signed-tag", "github:owner/repo", uw.pgp["upstream"])
        assert "different key" not in e1.reason and e1.version == "1.0"
        e2 = evaluate(uw, keyring, gh("v1.1", hash=uw.hashes["v1.1"]), continuity=store, version="1.1")
        check(e2, "verified", "signed-tag", "github:owner/repo", uw.pgp["rotated"])
        assert "signed by a different key than version 1.0" in e2.reason
        assert uw.pgp["upstream"] in e2.reason and uw.pgp["rotated"] in e2.reason
        e3 = evaluate(uw, keyring, gh("v1.2", hash=uw.hashes["v1.1"]), continuity=store, version="1.2")
        assert "same key as version 1.1" in e3.reason and "different key" not in e3.reason
        # a hash mismatch is not recorded as a signed version
        evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.1"]), continuity=store, version="1.3")
        assert store.keys("github:owner/repo", "1.3") == []


def test_continuity_store_orders_versions_as_nix_does(tmp_path, monkeypatch):
    monkeypatch.setenv("COMMITGUARD_CACHE_DIR", str(tmp_path / "cache"))
    with ContinuityStore() as store:
        assert store.path.parent == tmp_path / "cache"
        store.record("github:o/r", "1.10", "K2")
        store.record("github:o/r", "1.9", "K1")
        store.record("github:o/r", "1.9", "K1")  # first sighting kept, no duplicate
        store.record("pypi:other", "1.8", "K9")
        assert store.previous("github:o/r", "1.11") == ("1.10", "K2")
        assert store.previous("github:o/r", "1.10") == ("1.9", "K1")
        assert store.previous("github:o/r", "1.9") is None
        assert store.keys("github:o/r", "1.9") == ["K1"]
    assert compare_versions("2.3a", "2.3.1") == -1
    assert compare_versions("1.0pre1", "1.0") == -1
    assert compare_versions("1.2.3", "1.2.3") == 0


# -- the forge's word ----------------------------------------------------------------------------------------


TAG_SHA = "1" * 40
REPLAY_SHA = "2" * 40
UNSIGNED_COMMIT = "3" * 40
LIGHT_COMMIT = "4" * 40


@pytest.fixture
def forge():
    yield from serving(FakeGitHub())


@pytest.fixture
def api(monkeypatch, forge):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    base = "/repos/owner/remote"
    routes = {
        f"{base}/git/ref/tags/v3.0": {"ref": "refs/tags/v3.0", "object": {"type": "tag", "sha": TAG_SHA}},
        f"{base}/git/tags/{TAG_SHA}": {"tag": "v3.0", "sha": TAG_SHA,
                                       "verification": {"verified": True, "reason": "valid"}},
        f"{base}/git/ref/tags/v3.1": {"ref": "refs/tags/v3.1", "object": {"type": "tag", "sha": REPLAY_SHA}},
        f"{base}/git/tags/{REPLAY_SHA}": {"tag": "v3.0", "sha": REPLAY_SHA,
                                          "verification": {"verified": True, "reason": "valid"}},
        f"{base}/git/ref/tags/v3.2": {"ref": "refs/tags/v3.2", "object": {"type": "commit", "sha": LIGHT_COMMIT}},
        f"{base}/commits/{LIGHT_COMMIT}": {"sha": LIGHT_COMMIT,
                                           "commit": {"verification": {"verified": True, "reason": "valid"}}},
        f"{base}/commits/{UNSIGNED_COMMIT}": {"sha": UNSIGNED_COMMIT,
                                              "commit": {"verification": {"verified": False, "reason": "unsigned"}}},
        f"{base}/git/ref/tags/v3.3": {"ref": "refs/tags/v3.3", "object": {"type": "tag", "sha": "5" * 40}},
        f"{base}/git/tags/{'5' * 40}": {"tag": "v3.3", "verification": {"verified": False, "reason": "invalid"}},
    }
    for path, answer in routes.items():
        forge.route(path, answer)
    return forge.base_url


def test_forge_verified_tag(uw, keyring, api):
    e = evaluate(uw, keyring, gh("v3.0", repo="remote"), online=True, github_api=api)
    check(e, "forge-verified", "forge", "github")
    assert "GitHub's word only" in e.reason


def test_forge_lightweight_tag_uses_the_commit(uw, keyring, api):
    e = evaluate(uw, keyring, gh("v3.2", repo="remote"), online=True, github_api=api)
    check(e, "forge-verified", "forge", "github")


def test_forge_tag_name_replay(uw, keyring, api):
    e = evaluate(uw, keyring, gh("v3.1", repo="remote"), online=True, github_api=api)
    check(e, "bad-signature", "forge", None)
    assert "replay" in e.reason


def test_forge_unsigned_and_invalid(uw, keyring, api):
    check(evaluate(uw, keyring, gh(rev=UNSIGNED_COMMIT, repo="remote"), online=True, github_api=api),
          "unsigned", None, None)
    check(evaluate(uw, keyring, gh("v3.3", repo="remote"), online=True, github_api=api),
          "bad-signature", "forge", None)


def test_forge_unknown_tag(uw, keyring, api):
    e = evaluate(uw, keyring, gh("v9.9", repo="remote"), online=True, github_api=api)
    check(e, "unavailable", None, None)


def test_forge_not_asked_when_the_mirror_has_evidence_or_offline(uw, keyring, api, forge):
    e = evaluate(uw, keyring, gh("v1.0", hash=uw.hashes["v1.0"]), online=True, github_api=api)
    check(e, "verified", "signed-tag", "github:owner/repo")
    e = evaluate(uw, keyring, gh("v3.0", repo="remote"), online=False, github_api=api)
    check(e, "unavailable", None, None)
    assert forge.log == []


def test_forge_unreachable_is_unavailable(uw, keyring):
    e = evaluate_upstream(gh("v3.0", repo="remote"), keyring, mirror=None, online=True,
                          github_api="http://127.0.0.1:9")
    check(e, "unavailable", None, None)
