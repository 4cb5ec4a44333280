"""Signed tags and signed commits of an upstream git repository, read from the mirror.

A tag signature is checked exactly as ``git verify-tag`` checks it: the
signature is the last armored block of the tag object, the payload every
byte before it. Two things make a valid signature worthless, and both are
checked here rather than left to the reader:

* the tag object must name the tag that was asked for. ``refs/tags/v1.1``
  pointing at the genuinely signed object of ``v1.0`` is a replay (a
  downgrade to a release with known holes) and gets ``bad-signature``;
* the expression's hash must be the NAR of the signed tree; otherwise the
  signature vouches for a tree the package does not build
  (:mod:`commitguard.upstream.nar`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pygit2

from commitguard.model.sources import FetcherCall, UpstreamEvidence
from commitguard.upstream import export, mirror, nar
from commitguard.upstream.binding import mismatched, recomputable, truthy, unbound
from commitguard.upstream.interface import EvidenceContext, EvidenceSource, unavailable, unreachable
from commitguard.upstream.matching import fetcher_name, forge_url
from commitguard.upstream.signing import UpstreamVerifier

GIT_FETCHERS = frozenset({
    "fetchFromGitHub", "fetchFromGitLab", "fetchFromGitea", "fetchFromCodeberg", "fetchFromSourcehut",
    "fetchFromBitbucket", "fetchgit",
})

# Lines that start a signature inside a signed buffer (git's gpg-interface.c).
SIGNATURE_MARKERS = (
    b"-----BEGIN PGP SIGNATURE-----",
    b"-----BEGIN PGP MESSAGE-----",
    b"-----BEGIN SSH SIGNATURE-----",
    b"-----BEGIN SIGNED MESSAGE-----",
)

# Arguments that make a forge fetcher clone with git instead of unpacking the
# forge's archive (nixpkgs' fetchFromGitHub/fetchFromGitLab).
_GIT_MODE_ARGS = ("fetchSubmodules", "leaveDotGit", "deepClone", "forceFetchGit", "fetchLFS", "sparseCheckout")
# Arguments that change the fetched tree in ways not reproduced here.
_ALTERING_ARGS = (
    "fetchSubmodules", "leaveDotGit", "deepClone", "postFetch", "extraPostFetch", "sparseCheckout",
    "nonConeMode", "rootDir", "fetchLFS",
)
# Arguments that cannot change the fetched tree: unresolved, they do not matter.
_INERT_ARGS = frozenset({"name", "pname", "version", "meta", "passthru", "hash", "sha256", "outputHash", "fetchTags"})
_HEX = re.compile(r"^[0-9a-fA-F]{7,64}$")
_MAX_TAG_REFS = 20_000


def split_signed_buffer(buf: bytes) -> tuple[bytes, bytes | None]:
    """(payload, signature): the signature starts at the last line that opens one, as in git."""
    match = len(buf)
    pos = 0
    while pos < len(buf):
        if buf.startswith(SIGNATURE_MARKERS, pos):
            match = pos
        eol = buf.find(b"\n", pos)
        pos = len(buf) if eol < 0 else eol + 1
    if match == len(buf):
        return buf, None
    return buf[:match], buf[match:]


def tag_headers(raw: bytes) -> dict[bytes, bytes]:
    headers: dict[bytes, bytes] = {}
    for line in raw.split(b"\n\n", 1)[0].split(b"\n"):
        key, sep, value = line.partition(b" ")
        if sep and key not in headers:
            headers[key] = value
    return headers


def _when(seconds: int | None, offset_minutes: int | None) -> datetime:
    if seconds is None:
        return datetime.now(timezone.utc)
    return datetime.fromtimestamp(seconds, timezone(timedelta(minutes=offset_minutes or 0))).astimezone(timezone.utc)


@dataclass
class _Target:
    """What the expression's rev or tag names in the mirror."""

    label: str  # "tag v1.0", "commit 1234abcd", "branch main"
    commit: pygit2.Commit | None
    tree_id: pygit2.Oid | None
    tag_name: str | None = None
    tag_oid: pygit2.Oid | None = None  # None: a lightweight tag (or no tag at all)
    note: str = ""


class SignedTagSource(EvidenceSource):
    name = "signed-tag"

    def applies(self, call: FetcherCall) -> bool:
        named = bool(call.tag or call.rev) or bool({"tag", "rev"} & set(call.unresolved))
        return fetcher_name(call) in GIT_FETCHERS and named

    def judge(self, call: FetcherCall, context: EvidenceContext) -> UpstreamEvidence | None:
        refused = unreachable(call, context, "the upstream repository", "the repository")
        if refused is not None:
            return refused
        url = call.url or forge_url(call)
        located = mirror.url_location(url) if url else None
        if located is None:
            return unavailable(f"no repository address for {fetcher_name(call)}")
        candidates = mirror.repository_candidates(context.mirror, *located)
        if not candidates:
            return unavailable(f"{url} cannot name a place inside the mirror")
        repo, _ = mirror.open_repository(candidates)
        if repo is None:
            return unavailable(f"{url} is not in the upstream mirror (no git repository at {candidates[0]})")
        target = _resolve(repo, call)
        if isinstance(target, str):
            return unavailable(f"{url}: {target}")
        verifier = context.verifier(call)
        signature = _signature_evidence(repo, target, verifier)
        return _with_binding(call, repo, target, signature)


# -- resolving the rev or tag ----------------------------------------------------------------


def _ref(repo: pygit2.Repository, name: str):
    try:
        ref = repo.references.get(name)
        return ref.resolve() if ref is not None else None
    except (pygit2.GitError, ValueError, KeyError):
        return None


def _peel_commit(obj) -> pygit2.Commit | None:
    try:
        peeled = obj.peel(pygit2.Commit)
    except (pygit2.GitError, ValueError, KeyError):
        return None
    return peeled if isinstance(peeled, pygit2.Commit) else None


def _from_ref(repo: pygit2.Repository, ref, label: str, tag_name: str | None) -> _Target | str:
    obj = repo.get(ref.target)
    if obj is None:
        return f"{label} points at {ref.target}, which the mirror does not hold"
    commit = _peel_commit(obj)
    tree_id = commit.tree_id if commit is not None else None
    if tree_id is None:
        try:
            tree_id = obj.peel(pygit2.Tree).id
        except (pygit2.GitError, ValueError, KeyError):
            return f"{label} names no tree"
    tag_oid = obj.id if isinstance(obj, pygit2.Tag) else None
    return _Target(label, commit, tree_id, tag_name=tag_name, tag_oid=tag_oid)


def _resolve(repo: pygit2.Repository, call: FetcherCall) -> _Target | str:
    if call.tag:
        name = call.tag.removeprefix("refs/tags/")
        ref = _ref(repo, f"refs/tags/{name}")
        if ref is None:
            return f"tag {name} is not in the mirror"
        return _from_ref(repo, ref, f"tag {name}", name)
    rev = call.rev or ""
    if rev.startswith("refs/tags/"):
        name = rev.removeprefix("refs/tags/")
        ref = _ref(repo, rev)
        return _from_ref(repo, ref, f"tag {name}", name) if ref is not None else f"tag {name} is not in the mirror"
    if not rev.startswith("refs/"):
        ref = _ref(repo, f"refs/tags/{rev}")
        if ref is not None:
            return _from_ref(repo, ref, f"tag {rev}", rev)
    if _HEX.match(rev):
        try:
            obj = repo.get(rev)
        except (pygit2.GitError, ValueError, KeyError):
            obj = None
        commit = _peel_commit(repo.get(obj.id)) if obj is not None else None
        if commit is not None:
            return _Target(f"commit {commit.id}", commit, commit.tree_id)
        return f"commit {rev} is not in the mirror"
    branch = rev.removeprefix("refs/heads/")
    ref = _ref(repo, f"refs/heads/{branch}")
    if ref is not None:
        target = _from_ref(repo, ref, f"branch {branch}", None)
        if isinstance(target, _Target):
            target.note = "a branch moves: the mirror's head of it need not be what the expression fetched"
        return target
    return f"{rev!r} is neither a tag, a commit nor a branch in the mirror"


# -- signatures -------------------------------------------------------------------------------


def _judge_tag_object(repo: pygit2.Repository, oid, asked: str | None,
                      verifier: UpstreamVerifier) -> UpstreamEvidence | None:
    """The tag object's signature, None when it carries none. ``asked``: the tag name the
    expression asked for (None when it pinned a commit and any tag on it may speak)."""
    _type, raw = repo.odb.read(oid)
    name = tag_headers(raw).get(b"tag", b"").decode("utf-8", "replace")
    payload, signature = split_signed_buffer(raw)
    label = f"tag {asked or name}"
    if signature is None:
        return None
    if asked is not None and name != asked:
        return UpstreamEvidence(
            status="bad-signature",
            reason=f"{label}: the tag object is signed as tag {name!r}, not {asked!r}; a signature for another "
            f"tag name cannot vouch for this one (tag name replay)",
            evidence="signed-tag",
        )
    tag = repo.get(oid)
    tagger = getattr(tag, "tagger", None)
    when = _when(tagger.time, tagger.offset) if tagger is not None else _when(None, None)
    outcome = verifier.verify(signature, payload, when, subject="this tag")
    return outcome.as_evidence("signed-tag", f"{label}: {outcome.reason}")


def _judge_commit(commit: pygit2.Commit, verifier: UpstreamVerifier, label: str) -> UpstreamEvidence:
    subject = label if label == f"commit {commit.id}" else f"{label}, commit {commit.id}"
    try:
        signature, payload = commit.gpg_signature
        if b"\0" in commit.read_raw():  # libgit2 reads C strings: a NUL hides or truncates what was signed
            return UpstreamEvidence(status="bad-signature", reason=f"{subject}: the commit object holds a NUL byte")
    except (pygit2.GitError, ValueError):
        signature, payload = None, None
    if not signature:
        return UpstreamEvidence(status="unsigned", reason=f"{subject} is not signed")
    when = _when(commit.commit_time, commit.commit_time_offset)
    outcome = verifier.verify(signature, payload, when, subject="this commit")
    return outcome.as_evidence("signed-commit", f"{subject}: {outcome.reason}")


def _tags_at(repo: pygit2.Repository, commit_id) -> list[pygit2.Oid]:
    """Annotated tags whose commit is ``commit_id``: a rev pinned by commit id is still vouched for by a
    release tag on it."""
    found = []
    for n, name in enumerate(repo.references):
        if n >= _MAX_TAG_REFS:
            break
        if not name.startswith("refs/tags/"):
            continue
        ref = _ref(repo, name)
        obj = repo.get(ref.target) if ref is not None else None
        if isinstance(obj, pygit2.Tag):
            commit = _peel_commit(obj)
            if commit is not None and commit.id == commit_id:
                found.append(obj.id)
    return found


def _signature_evidence(repo: pygit2.Repository, target: _Target, verifier: UpstreamVerifier) -> UpstreamEvidence:
    if target.tag_name is not None:
        why_commit = f"{target.label} is a lightweight tag"
        if target.tag_oid is not None:
            evidence = _judge_tag_object(repo, target.tag_oid, target.tag_name, verifier)
            if evidence is not None:
                return evidence
            why_commit = f"{target.label} is an unsigned annotated tag"
        if target.commit is None:
            return UpstreamEvidence(status="unsigned", reason=f"{why_commit} of a tree")
        # An unsigned tag says nothing; the commit it names may still be signed.
        return _judge_commit(target.commit, verifier, why_commit)
    assert target.commit is not None
    result = _judge_commit(target.commit, verifier, target.label)
    if result.status == "verified":
        return result
    for oid in _tags_at(repo, target.commit.id):
        evidence = _judge_tag_object(repo, oid, None, verifier)
        if evidence is not None and evidence.status == "verified":
            return UpstreamEvidence(status="verified", reason=f"{target.label} is {evidence.reason}",
                                    evidence="signed-tag", signer=evidence.signer, key=evidence.key)
    return result


# -- hash binding -----------------------------------------------------------------------------


def _uncertainties(call: FetcherCall, tree: nar.TreeNar | None) -> list[str]:
    """Why the fetcher's output may differ from the tree's NAR even for an honest expression."""
    name = fetcher_name(call)
    args = call.args
    archive_mode = _archive_mode(call)
    reasons = []
    for arg in _ALTERING_ARGS:
        if truthy(args.get(arg)) and not (arg == "fetchSubmodules" and tree is not None and not tree.gitlinks):
            reasons.append(f"{arg} is set")
    if args.get("stripRoot") is False:
        reasons.append("stripRoot = false")
    unresolved = [u for u in call.unresolved if u not in _INERT_ARGS]
    if unresolved:
        reasons.append(f"{', '.join(unresolved)} not known statically")
    if tree is not None:
        if tree.gitlinks:
            reasons.append(f"the tree has submodules ({', '.join(tree.gitlinks[:3])}), counted as empty directories")
        relevant = nar.CHECKOUT_ATTRIBUTES + (nar.ARCHIVE_ATTRIBUTES if archive_mode else ())
        for attr in relevant:
            if attr in tree.attributes:
                where = ", ".join(tree.attributes[attr][:3])
                what = "the forge's archive" if attr in nar.ARCHIVE_ATTRIBUTES else "the checkout"
                reasons.append(f".gitattributes sets {attr} ({where}), which changes {what}")
    return reasons


def _archive_mode(call: FetcherCall) -> bool:
    return fetcher_name(call) != "fetchgit" and not any(truthy(call.args.get(a)) for a in _GIT_MODE_ARGS)


def _archive_hash(call: FetcherCall, repo: pygit2.Repository, target: _Target, tree: nar.TreeNar,
                  algorithm: str) -> str | None:
    """The NAR of the forge's archive, when it can differ from the tree's only by export-ignore."""
    if not _archive_mode(call) or "export-ignore" not in tree.attributes or target.commit is None:
        return None
    try:
        return export.archive_nar(repo, target.commit.id, target.tree_id, algorithm)
    except (nar.NarError, pygit2.GitError, KeyError, ValueError, OSError):
        return None


def _with_binding(call: FetcherCall, repo: pygit2.Repository, target: _Target,
                  signature: UpstreamEvidence) -> UpstreamEvidence:
    """The signature's answer, if the expression's hash is the NAR of the signed tree; ``hash-mismatch``
    when it certainly is not; ``unbound`` (:mod:`commitguard.upstream.binding`) when that is not shown."""
    notes = [target.note] if target.note else []
    algorithm, why_unbound = recomputable(call, "this tree")
    if algorithm is not None and target.tree_id is None:
        why_unbound = f"{target.label} names no tree to hash"
    elif algorithm is not None:
        try:
            tree = nar.hash_git_tree(repo, target.tree_id, algorithm)
        except (nar.NarError, pygit2.GitError, KeyError, ValueError) as exc:
            why_unbound = f"the tree's NAR hash cannot be computed ({exc}), so the expression's hash is not checked"
        else:
            if tree.hash == call.hash:
                notes.append("the expression's hash is the NAR hash of this tree")
            elif _archive_hash(call, repo, target, tree, algorithm) == call.hash:
                notes.append("the expression's hash is the NAR hash of the forge's archive of this tree "
                             "(export-ignore paths left out, as git archive does)")
            else:
                doubts = _uncertainties(call, tree)
                mismatch = f"the expression pins {call.hash}, the NAR hash of {target.label}'s tree is {tree.hash}"
                if not doubts:
                    return mismatched(signature, mismatch)
                why_unbound = f"{mismatch} and {'; '.join(doubts)}: the fetched output may differ from the signed tree"
    reason = "; ".join([signature.reason, *notes])
    signature = UpstreamEvidence(status=signature.status, reason=reason, evidence=signature.evidence,
                                 signer=signature.signer, key=signature.key)
    return unbound(signature, why_unbound) if why_unbound is not None else signature
