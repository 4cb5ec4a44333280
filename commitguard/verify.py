"""Verify the signatures of a selection of commits against a keyring.

The hot path is one signature per commit, all in-process: pygit2 reads the
signature and signed payload, Sequoia or sshsig checks them. Cached verdicts
are reused; what is left is split over worker processes (fork), each with
its own repository handle and verifier, so both cores work.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

import pygit2

from commitguard.cache import VerdictCache, cache_key
from commitguard.commit_object import read_plain_commit
from commitguard.history import commits_read_once, open_repository, select_commits
from commitguard.keyring.model import Keyring
from commitguard.model import CommitVerdict, SignatureInfo, SignatureVerdict, Status, VerifyReport
from commitguard.signatures.dispatch import SignatureVerifier

# Below this many uncached commits, starting workers costs more than it saves.
PARALLEL_THRESHOLD = 400
CHUNK = 256


@dataclass(frozen=True)
class VerifyOptions:
    revs: tuple[str, ...] = ("HEAD",)
    trust_root: str | None = None
    jobs: int | None = None
    cache_dir: str | None = None  # None: no cache
    max_commits: int | None = None  # None: history.DEFAULT_MAX_COMMITS
    progress: Callable[[int, int], None] | None = None


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def verify_revisions(repo_path: str, keyring: Keyring, options: VerifyOptions) -> VerifyReport:
    """Judge every commit selected by ``options.revs`` down to the trust root."""
    repo = open_repository(repo_path)
    trust_root = options.trust_root or keyring.policy.trust_root
    with commits_read_once():
        selection = select_commits(repo, list(options.revs), trust_root, max_commits=options.max_commits)
        verdicts = verify_commit_ids(repo, keyring, selection.ids, options)
    return VerifyReport(commits=tuple(verdicts), warnings=selection.warnings)


def verify_commit_ids(repo: pygit2.Repository, keyring: Keyring, ids, options: VerifyOptions) -> list[CommitVerdict]:
    ids = list(ids)
    cache = VerdictCache(options.cache_dir) if options.cache_dir else None
    key = cache_key(keyring.digest)
    known: dict[str, SignatureVerdict] = cache.load(key, ids) if cache else {}
    todo = [i for i in ids if i not in known]
    jobs = options.jobs or default_jobs()
    done = len(known)
    if options.progress:
        options.progress(done, len(ids))
    fresh: dict[str, SignatureVerdict] = {}
    if jobs > 1 and len(todo) >= PARALLEL_THRESHOLD and "fork" in multiprocessing.get_all_start_methods():
        for chunk_result in _verify_parallel(repo.path, keyring, todo, jobs):
            fresh.update(chunk_result)
            done += len(chunk_result)
            if options.progress:
                options.progress(done, len(ids))
    else:
        verifier = SignatureVerifier(keyring)
        shared: dict = {}
        for start in range(0, len(todo), CHUNK):
            part = todo[start : start + CHUNK]
            fresh.update(_verify_chunk(repo, verifier, part, shared))
            done += len(part)
            if options.progress:
                options.progress(done, len(ids))
    if cache:
        cache.store(key, fresh)
        cache.close()
    known.update(fresh)
    out = []
    for i in ids:
        verdict = to_commit_verdict(i, known[i], keyring)
        if not verdict.trusted:
            verdict = dataclasses.replace(verdict, summary=_summary(repo, i))
        out.append(verdict)
    return out


def to_commit_verdict(commit_id: str, v: SignatureVerdict, keyring: Keyring, summary: str = "") -> CommitVerdict:
    """Apply the keyring's forge policy to a signature verdict."""
    if v.status is Status.FORGE:
        accepted = keyring.policy.accept_forge
        reason = v.reason + (
            " (accepted: policy.forge = \"accept\")" if accepted else " (not trusted: policy.forge = \"reject\")"
        )
        return CommitVerdict(commit_id, v.status, accepted, v.signature, v.signer, reason, summary)
    return CommitVerdict(commit_id, v.status, v.status is Status.TRUSTED, v.signature, v.signer, v.reason, summary)


def verify_commit(repo: pygit2.Repository, verifier: SignatureVerifier, commit_id: str) -> SignatureVerdict:
    try:
        plain = read_plain_commit(repo.odb, commit_id)
    except (KeyError, ValueError, pygit2.GitError):
        plain = None
    if plain is not None:
        signature, payload, seconds = plain
        if signature is None:
            return SignatureVerdict(Status.UNSIGNED, "commit is not signed", SignatureInfo(None))
        return verifier.verify(signature, payload, datetime.fromtimestamp(seconds, timezone.utc))
    try:
        commit = repo[commit_id]
        committed_at = datetime.fromtimestamp(commit.committer.time, timezone.utc)
        signature, payload = commit.gpg_signature
        if b"\0" in commit.read_raw():  # libgit2 reads C strings: a NUL hides the signature or cuts the payload
            raise ValueError("the commit object holds a NUL byte")
    except (pygit2.GitError, ValueError, OverflowError, OSError) as exc:
        # libgit2 refuses some hostile headers (a NUL inside gpgsig, say):
        # that commit is malformed; the rest of history is still judged.
        return SignatureVerdict(
            Status.MALFORMED, f"commit headers cannot be parsed ({exc})", SignatureInfo(None)
        )
    if signature is None:
        return SignatureVerdict(Status.UNSIGNED, "commit is not signed", SignatureInfo(None))
    return verifier.verify(signature, payload, committed_at)


def _verify_chunk(repo, verifier, ids, shared: dict | None = None) -> dict[str, SignatureVerdict]:
    shared = {} if shared is None else shared
    return {i: _share_strings(verify_commit(repo, verifier, i), shared) for i in ids}


def _share_strings(v: SignatureVerdict, shared: dict) -> SignatureVerdict:
    """The same verdict with one copy of each repeated string.

    A key signs thousands of commits and each verdict spells out the same
    reason, signer and fingerprint: shared, they cost memory once, and a
    chunk sent back from a worker pickles each of them once.
    """
    info = v.signature
    key = shared.setdefault(info.key, info.key)
    reason = shared.setdefault(v.reason, v.reason)
    signer = shared.setdefault(v.signer, v.signer)
    if key is info.key and reason is v.reason and signer is v.signer:
        return v
    return SignatureVerdict(v.status, reason, SignatureInfo(info.type, key, info.created), signer, v.cacheable)


# -- workers -----------------------------------------------------------------------

_worker_state: dict = {}


def _worker_init(repo_path: str, keyring: Keyring) -> None:
    _worker_state["repo"] = pygit2.Repository(repo_path)
    _worker_state["verifier"] = SignatureVerifier(keyring)
    _worker_state["shared"] = {}


def _worker_run(ids: list[str]) -> list[tuple]:
    verdicts = _verify_chunk(_worker_state["repo"], _worker_state["verifier"], ids, _worker_state["shared"])
    return [_to_wire(i, v) for i, v in verdicts.items()]


# Verdicts cross from workers as plain tuples: pickling a slotted dataclass
# calls Python code per object (11 us a verdict both ways, 2.4 us as tuples).
def _to_wire(commit_id: str, v: SignatureVerdict) -> tuple:
    info = v.signature
    return commit_id, v.status, v.reason, info.type, info.key, info.created, v.signer, v.cacheable


def _from_wire(row: tuple) -> tuple[str, SignatureVerdict]:
    commit_id, status, reason, stype, key, created, signer, cacheable = row
    return commit_id, SignatureVerdict(status, reason, SignatureInfo(stype, key, created), signer, cacheable)


def _verify_parallel(repo_path: str, keyring: Keyring, todo: list[str], jobs: int):
    ctx = multiprocessing.get_context("fork")
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    with ctx.Pool(processes=jobs, initializer=_worker_init, initargs=(repo_path, keyring)) as pool:
        for rows in pool.imap_unordered(_worker_run, chunks):
            yield dict(map(_from_wire, rows))


def _summary(repo: pygit2.Repository, commit_id: str) -> str:
    try:
        message = repo[commit_id].raw_message
    except (KeyError, ValueError):
        return ""
    first = message.split(b"\n", 1)[0]
    return first.decode("utf-8", "replace")[:120]
