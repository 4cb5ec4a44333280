"""Signed tags and detached signatures judged in-process, module by module.

``test_upstream.py`` reaches these two evidence kinds through
``evaluate_upstream``, which keeps only the strongest answer; here
:mod:`commitguard.upstream.signed_tag` and :mod:`commitguard.upstream.detached`
are imported and called directly, so each status and each reason is pinned
to the module that makes it. The mirror is made in a temporary directory by
the real tools only (``git tag -s``, ``git commit -S``, ``git archive``,
``gpg --detach-sign``, ``xz``); the hashes an expression would pin come from
``hashlib`` (fetchurl) and Nix's own ``nix-hash`` (a tree's NAR), never from
commitguard's code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fixtures_git import Gpg, PgpSigner, Repo, run
from tests.upstream_fixtures import WHEN, archive_hash, flat_sri

from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Keyring
from commitguard.model.sources import FetcherCall
from commitguard.upstream import detached, signed_tag
from commitguard.upstream.detached import DetachedSignatureSource
from commitguard.upstream.interface import EvidenceContext
from commitguard.upstream.signed_tag import SignedTagSource, split_signed_buffer, tag_headers

_TOOLS = ("git", "gpg", "gpgconf", "tar", "xz", "nix-hash")
_MISSING = [t for t in _TOOLS if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(bool(_MISSING) and not os.environ.get("CI"),
                                reason=f"missing tools: {', '.join(_MISSING)}")

RELEASES = "https://releases.example.org/pkg/"
REPO_URL = "https://github.com/owner/repo"
# a well-formed SHA-256 SRI hash that no tree or file here has
OTHER_HASH = "sha256-" + base64.b64encode(hashlib.sha256(b"not this").digest()).decode()


@dataclass
class Mirror:
    root: Path
    mirror: Path
    gpg: Gpg
    repo: Repo
    upstream: str  # fingerprints
    stranger: str
    commits: dict[str, str]
    tree_hashes: dict[str, str]  # commit name -> what fetchFromGitHub pins for it
    keyring: Keyring


def _tag(repo: Repo, gpg: Gpg | None, fpr: str | None, name: str, target: str, message: str | None = None) -> str:
    msg = ["-m", message or f"Release {name}"]
    env = {"GIT_COMMITTER_DATE": WHEN}
    if fpr is None:
        repo.git("tag", "-a", *msg, name, target, env=env)
    else:
        signer = PgpSigner(gpg, fpr)
        env.update(signer.extra_env(WHEN))
        repo.git(*signer.git_config(gpg), "tag", "-u", f"{fpr}!", *msg, name, target, env=env)
    return repo.git("rev-parse", f"refs/tags/{name}")


def _sign(gpg: Gpg, fpr: str, path: Path, out: Path, *, armor: bool) -> None:
    gpg.gpg(*(["--armor"] if armor else []), "--local-user", f"{fpr}!", "--detach-sign", "--output", str(out),
            str(path), at=WHEN)


@pytest.fixture(scope="module")
def m(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence-unit")
    gpg = Gpg(root / "gnupg", root)
    try:
        yield _build(root, gpg)
    finally:
        gpg.kill_agent()


def _build(root: Path, gpg: Gpg) -> Mirror:
    mirror = root / "mirror"
    upstream = gpg.gen_key("Upstream Release <release@upstream.example>", "ed25519", "sign")
    stranger = gpg.gen_key("Stranger <stranger@elsewhere.example>", "ed25519", "sign")
    repo = Repo(mirror / "github.com" / "owner" / "repo", root)
    commits = {
        "c1": repo.commit("release 1.0", tree=repo.tree_with("README", "one\n"), when=WHEN),
    }
    commits["c2"] = repo.commit("release 1.1 (signed commit)", tree=repo.tree_with("README", "two\n"),
                                parents=[commits["c1"]], signer=PgpSigner(gpg, upstream), when=WHEN)
    repo.ref("refs/heads/main", commits["c2"])
    _tag(repo, gpg, upstream, "v1.0", commits["c1"])
    _tag(repo, gpg, stranger, "v1.0-stranger", commits["c1"])
    _tag(repo, None, None, "v1.1-plain", commits["c2"])
    # the text of a signature marker inside the message, before the real signature
    _tag(repo, gpg, upstream, "v1.0-marker", commits["c1"],
         message="Release notes\n\n-----BEGIN PGP SIGNATURE-----\nnot one\n")
    # replay: a new release's ref pointing at the old release's genuinely signed tag object
    repo.ref("refs/tags/v1.1", repo.git("rev-parse", "refs/tags/v1.0"))
    tree_hashes = {name: archive_hash(repo, commit, root / "scratch") for name, commit in commits.items()}

    pkg = mirror / "releases.example.org" / "pkg"
    pkg.mkdir(parents=True)
    tarball = pkg / "pkg-1.0.tar.gz"
    run(["git", "archive", "--format=tar.gz", "--prefix=pkg-1.0/", "-o", str(tarball), commits["c1"]],
        env=repo.env, cwd=repo.path)
    _sign(gpg, upstream, tarball, pkg / "pkg-1.0.tar.gz.sig", armor=False)
    other = root / "other-bytes"
    other.write_bytes(b"not the release\n")
    for name in ("bad-1.0.tar.gz", "two-1.0.tar.gz", "nosig-1.0.tar.gz", "big-sig-1.0.tar.gz"):
        shutil.copyfile(tarball, pkg / name)
    _sign(gpg, upstream, other, pkg / "bad-1.0.tar.gz.sig", armor=False)
    _sign(gpg, upstream, other, pkg / "two-1.0.tar.gz.sig", armor=False)
    _sign(gpg, upstream, tarball, pkg / "two-1.0.tar.gz.asc", armor=True)
    _sign(gpg, upstream, tarball, pkg / "big-sig-1.0.tar.gz.asc", armor=True)
    # kernel.org: one signature over the uncompressed tar serves every compression of it
    tar = root / "linux-1.0.tar"
    run(["git", "archive", "--format=tar", "--prefix=linux-1.0/", "-o", str(tar), commits["c1"]],
        env=repo.env, cwd=repo.path)
    _sign(gpg, upstream, tar, pkg / "linux-1.0.tar.sign", armor=True)
    run(["xz", "-k", "-q", str(tar)])
    shutil.copyfile(str(tar) + ".xz", pkg / "linux-1.0.tar.xz")

    keyring_dir = root / "keyring"
    (keyring_dir / "keys").mkdir(parents=True)
    gpg.export(upstream, keyring_dir / "keys" / "upstream.asc")
    (keyring_dir / "keyring.toml").write_text(
        'version = 1\n\n[[upstream]]\nmatch = "github:owner/repo"\nopenpgp = "keys/upstream.asc"\n\n'
        f'[[upstream]]\nmatch = "{RELEASES}"\nopenpgp = "keys/upstream.asc"\n')
    return Mirror(root, mirror, gpg, repo, upstream, stranger, commits, tree_hashes, load_keyring(keyring_dir))


def context(m: Mirror, *, mirror: bool = True) -> EvidenceContext:
    return EvidenceContext(m.keyring, mirror=m.mirror if mirror else None)


def gh(tag=None, rev=None, *, hash=None, unresolved=()) -> FetcherCall:
    return FetcherCall("fetchFromGitHub", url=REPO_URL, owner="owner", repo="repo", tag=tag, rev=rev, hash=hash,
                       unresolved=tuple(unresolved), resolved=not unresolved)


def fetchurl(*urls: str, hash=None) -> FetcherCall:
    return FetcherCall("fetchurl", url=urls[0], urls=tuple(urls), hash=hash)


def release(m: Mirror, name: str) -> Path:
    return m.mirror / "releases.example.org" / "pkg" / name


# -- signed_tag: the signed buffer, as git splits it ---------------------------------------------


def _raw_tag(m: Mirror, name: str) -> bytes:
    return run(["git", "cat-file", "tag", f"refs/tags/{name}"], env=m.repo.env, cwd=m.repo.path).stdout


def _gpg_accepts(m: Mirror, payload: bytes, signature: bytes, name: str) -> bool:
    sig, data = m.root / f"{name}.sig", m.root / f"{name}.payload"
    sig.write_bytes(signature)
    data.write_bytes(payload)
    return m.gpg.gpg("--verify", str(sig), str(data), check=False).returncode == 0


def test_split_signed_buffer_gives_what_gpg_verifies(m):
    raw = _raw_tag(m, "v1.0")
    payload, signature = split_signed_buffer(raw)
    assert signature is not None and signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    assert payload + signature == raw
    assert _gpg_accepts(m, payload, signature, "split")
    assert not _gpg_accepts(m, payload + b" ", signature, "split-changed")


def test_split_signed_buffer_takes_the_last_marker(m):
    raw = _raw_tag(m, "v1.0-marker")
    assert raw.count(b"-----BEGIN PGP SIGNATURE-----") == 2
    payload, signature = split_signed_buffer(raw)
    assert b"not one" in payload and b"not one" not in signature
    assert _gpg_accepts(m, payload, signature, "marker")


def test_split_signed_buffer_without_signature():
    raw = b"object 00\ntype commit\ntag v1\n\nno signature here\n"
    assert split_signed_buffer(raw) == (raw, None)


def test_tag_headers_read_only_the_header_and_the_first_of_each():
    raw = b"object abc\ntype commit\ntag v1.0\ntag v9.9\ntagger T <t@e> 0 +0000\n\ntag v2.0\nbody\n"
    headers = tag_headers(raw)
    assert headers[b"tag"] == b"v1.0"
    assert headers[b"object"] == b"abc" and headers[b"type"] == b"commit"
    assert b"body" not in headers


# -- signed_tag: the judgement ----------------------------------------------------------------------


def test_signed_tag_with_the_tree_hash_is_verified(m):
    e = SignedTagSource().judge(gh("v1.0", hash=m.tree_hashes["c1"]), context(m))
    assert (e.status, e.evidence, e.signer, e.key) == ("verified", "signed-tag", "github:owner/repo", m.upstream)
    assert e.reason.startswith("tag v1.0: ")
    assert e.reason.endswith("; the expression's hash is the NAR hash of this tree")


def test_replayed_tag_object_is_a_bad_signature(m):
    e = SignedTagSource().judge(gh("v1.1", hash=m.tree_hashes["c1"]), context(m))
    assert (e.status, e.evidence, e.signer) == ("bad-signature", "signed-tag", None)
    assert "signed as tag 'v1.0', not 'v1.1'" in e.reason and "tag name replay" in e.reason


def test_tag_by_a_key_the_keyring_lacks_is_unknown_key(m):
    e = SignedTagSource().judge(gh("v1.0-stranger", hash=m.tree_hashes["c1"]), context(m))
    assert (e.status, e.evidence, e.signer, e.key) == ("unknown-key", "signed-tag", None, m.stranger)


def test_hash_of_another_tree_is_a_mismatch_without_signer(m):
    e = SignedTagSource().judge(gh("v1.0", hash=OTHER_HASH), context(m))
    assert (e.status, e.evidence, e.signer, e.key) == ("hash-mismatch", "signed-tag", None, m.upstream)
    assert e.reason.startswith(f"the expression pins {OTHER_HASH}, the NAR hash of tag v1.0's tree is "
                               f"{m.tree_hashes['c1']}; the signature does not vouch for what the expression "
                               "fetches (verified: tag v1.0: ")


def test_no_hash_leaves_the_signature_unbound(m):
    e = SignedTagSource().judge(gh("v1.0"), context(m))
    assert (e.status, e.signer, e.key) == ("unbound", "github:owner/repo", m.upstream)
    assert "the expression gives no hash, so nothing binds it to this tree" in e.reason


def test_a_hash_that_cannot_be_recomputed_leaves_it_unbound(m):
    e = SignedTagSource().judge(gh("v1.0", hash="blake3-AAAAAAAAAAAAAAAAAAAAAA=="), context(m))
    assert e.status == "unbound"
    assert "the expression's hash blake3-AAAAAAAAAAAAAAAAAAAAAA== is not one that can be recomputed" in e.reason


def test_unsigned_annotated_tag_falls_back_to_its_signed_commit(m):
    e = SignedTagSource().judge(gh("v1.1-plain", hash=m.tree_hashes["c2"]), context(m))
    assert (e.status, e.evidence, e.signer) == ("verified", "signed-commit", "github:owner/repo")
    assert e.reason.startswith(f"tag v1.1-plain is an unsigned annotated tag, commit {m.commits['c2']}: ")


def test_commit_pinned_by_id_is_vouched_for_by_a_signed_tag_on_it(m):
    e = SignedTagSource().judge(gh(rev=m.commits["c1"], hash=m.tree_hashes["c1"]), context(m))
    assert (e.status, e.evidence, e.signer) == ("verified", "signed-tag", "github:owner/repo")
    assert e.reason.startswith(f"commit {m.commits['c1']} is tag ")


def test_branch_rev_says_a_branch_moves(m):
    e = SignedTagSource().judge(gh(rev="main", hash=m.tree_hashes["c2"]), context(m))
    assert (e.status, e.evidence) == ("verified", "signed-commit")
    assert "a branch moves: the mirror's head of it need not be what the expression fetched" in e.reason


@pytest.mark.parametrize("call, kw, reason", [
    (gh("v1.0", unresolved=("owner",)), {}, "the upstream repository cannot be located: owner not known statically"),
    (gh("v1.0"), {"mirror": False}, "no upstream mirror to read the repository from"),
    (gh("v9.9"), {}, f"{REPO_URL}: tag v9.9 is not in the mirror"),
], ids=["unresolved-owner", "no-mirror", "missing-tag"])
def test_signed_tag_unavailable(m, call, kw, reason):
    e = SignedTagSource().judge(call, context(m, **kw))
    assert (e.status, e.reason) == ("unavailable", reason)


def test_archive_mode_reads_git_mode_arguments_by_truthiness():
    """A ``false`` git-mode argument keeps the forge's archive mode (the shared ``truthy``)."""
    assert signed_tag._archive_mode(FetcherCall("fetchFromGitHub", args={"fetchSubmodules": False}))
    assert not signed_tag._archive_mode(FetcherCall("fetchFromGitHub", args={"fetchSubmodules": True}))
    assert not signed_tag._archive_mode(FetcherCall("fetchgit"))


# -- detached: release files and the signatures beside them --------------------------------------


def test_detached_signature_over_the_pinned_file_is_verified(m):
    url = RELEASES + "pkg-1.0.tar.gz"
    e = DetachedSignatureSource().judge(fetchurl(url, hash=flat_sri(release(m, "pkg-1.0.tar.gz"))), context(m))
    assert (e.status, e.evidence, e.signer, e.key) == ("verified", "detached-signature", RELEASES, m.upstream)
    assert e.reason.startswith(f"{url}: pkg-1.0.tar.gz.sig: ")
    assert e.reason.endswith("; the expression's hash is the hash of the file")


def test_detached_hash_mismatch_keeps_the_signatures_answer_in_the_reason(m):
    url = RELEASES + "pkg-1.0.tar.gz"
    e = DetachedSignatureSource().judge(fetchurl(url, hash=OTHER_HASH), context(m))
    assert (e.status, e.evidence, e.signer, e.key) == ("hash-mismatch", "detached-signature", None, m.upstream)
    got = flat_sri(release(m, "pkg-1.0.tar.gz"))
    assert e.reason.startswith(f"{url}: the expression pins {OTHER_HASH}, the hash of the file is {got}; its "
                               "signature does not vouch for what the expression fetches (verified: ")


def test_the_first_listed_url_the_mirror_holds_is_read(m):
    missing, present = RELEASES + "gone-1.0.tar.gz", RELEASES + "pkg-1.0.tar.gz"
    call = fetchurl(missing, present, hash=flat_sri(release(m, "pkg-1.0.tar.gz")))
    e = DetachedSignatureSource().judge(call, context(m))
    assert e.status == "verified" and e.reason.startswith(f"{present}: ")
    both = fetchurl(present, RELEASES + "two-1.0.tar.gz", hash=flat_sri(release(m, "pkg-1.0.tar.gz")))
    assert DetachedSignatureSource().judge(both, context(m)).reason.startswith(f"{present}: pkg-1.0.tar.gz.sig: ")


def test_a_file_the_mirror_lacks_names_where_it_was_looked_for(m):
    url = RELEASES + "gone-1.0.tar.gz"
    e = DetachedSignatureSource().judge(fetchurl(url, hash=OTHER_HASH), context(m))
    assert e.status == "unavailable"
    assert e.reason == (f"{url} is not in the upstream mirror "
                        f"(no file at {m.mirror / 'releases.example.org' / 'pkg' / 'gone-1.0.tar.gz'})")


def test_no_mirror_and_unresolved_url_are_unavailable(m):
    e = DetachedSignatureSource().judge(fetchurl(RELEASES + "pkg-1.0.tar.gz"), context(m, mirror=False))
    assert (e.status, e.reason) == ("unavailable", "no upstream mirror to read the release file from")
    call = FetcherCall("fetchurl", unresolved=("url",), resolved=False)
    e = DetachedSignatureSource().judge(call, context(m))
    assert (e.status, e.reason) == ("unavailable", "the release file cannot be located: url not known statically")


def test_signature_over_other_bytes_is_bad(m):
    e = DetachedSignatureSource().judge(
        fetchurl(RELEASES + "bad-1.0.tar.gz", hash=flat_sri(release(m, "bad-1.0.tar.gz"))), context(m))
    assert (e.status, e.evidence, e.signer) == ("bad-signature", "detached-signature", None)


def test_the_strongest_of_several_signatures_speaks_and_names_the_others(m):
    e = DetachedSignatureSource().judge(
        fetchurl(RELEASES + "two-1.0.tar.gz", hash=flat_sri(release(m, "two-1.0.tar.gz"))), context(m))
    assert (e.status, e.signer) == ("verified", RELEASES)
    assert "two-1.0.tar.gz.asc: " in e.reason and "; also bad-signature: two-1.0.tar.gz.sig: " in e.reason


def test_no_signature_beside_the_file_is_unsigned(m):
    e = DetachedSignatureSource().judge(
        fetchurl(RELEASES + "nosig-1.0.tar.gz", hash=flat_sri(release(m, "nosig-1.0.tar.gz"))), context(m))
    assert (e.status, e.evidence, e.signer) == ("unsigned", None, None)
    assert "no signature (.sig, .asc, .sign) beside nosig-1.0.tar.gz in the mirror" in e.reason


def test_kernel_style_signature_over_the_uncompressed_tar(m):
    path = release(m, "linux-1.0.tar.xz")
    assert detached._signature_files(path) == [(release(m, "linux-1.0.tar.sign"), ".xz")]
    e = DetachedSignatureSource().judge(fetchurl(RELEASES + "linux-1.0.tar.xz", hash=flat_sri(path)), context(m))
    assert (e.status, e.signer) == ("verified", RELEASES)
    assert "linux-1.0.tar.sign (over the uncompressed tar): " in e.reason


def test_uncompressed_tar_beyond_the_limit_is_not_checked(m, monkeypatch):
    monkeypatch.setattr(detached, "MAX_UNCOMPRESSED_BYTES", 1024)
    path = release(m, "linux-1.0.tar.xz")
    e = DetachedSignatureSource().judge(fetchurl(RELEASES + "linux-1.0.tar.xz", hash=flat_sri(path)), context(m))
    assert (e.status, e.signer) == ("unsigned", None)
    assert "which is larger than 1024 bytes" in e.reason and "it was not checked" in e.reason


def test_a_signature_file_too_large_to_be_one(m, monkeypatch):
    monkeypatch.setattr(detached, "MAX_SIGNATURE_BYTES", 16)
    path = release(m, "big-sig-1.0.tar.gz")
    e = DetachedSignatureSource().judge(fetchurl(RELEASES + "big-sig-1.0.tar.gz", hash=flat_sri(path)), context(m))
    assert e.status == "bad-signature"
    assert "big-sig-1.0.tar.gz.asc is too large to be a signature" in e.reason


@pytest.mark.parametrize("call, name", [
    (FetcherCall("fetchzip", url="https://x.example/a/src.zip", args={"extension": "tar.gz"}), "download.tar.gz"),
    (FetcherCall("fetchCrate", url="https://crates.io/api/v1/crates/foo/1.0/download"), "download.tar.gz"),
    (FetcherCall("fetchzip", url="https://x.example/a/src-1.0.tar.xz"), "src-1.0.tar.xz"),
    (FetcherCall("pkgs.fetchzip", urls=("https://x.example/b.zip",)), "b.zip"),
])
def test_fetchzip_name(call, name):
    assert detached.fetchzip_name(call) == name


# -- the rule both kinds share ------------------------------------------------------------------------


@pytest.mark.parametrize("status, evidence, signer", [
    ("verified", "signed-tag", "github:owner/repo"),
    ("forge-verified", "forge", "github:owner/repo"),
    ("unknown-key", "signed-tag", None),
    ("bad-signature", "signed-tag", None),
    ("unsigned", None, None),
])
def test_only_a_signature_that_counts_names_its_signer(status, evidence, signer):
    from commitguard.upstream.signing import SignatureOutcome

    e = SignatureOutcome(status, "why", signer="github:owner/repo", key="KEY").as_evidence("signed-tag", "said")
    assert (e.status, e.evidence, e.signer, e.key, e.reason) == (status, evidence, signer, "KEY", "said")
