"""Verify the signatures of a selection of commits against a keyring.

The hot path is one signature per commit, all in-process: pygit2 reads the
signature and signed payload, Sequoia or sshsig checks them. Cached verdicts
are reused; what is left is split over worker processes (fork), each with
its own repository handle and verifier, so both cores work.
"""

from __future__ import annotations

import multiprocessing
import os
from array import array
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import pygit2

from typing import TYPE_CHECKING

from commitguard.verify.cache import VerdictCache, cache_key
from commitguard.verify.frontier import Frontier
from commitguard.git.commit_object import read_plain_commit, split_plain_commit
from commitguard.git.objects import ObjectReader
from commitguard.git.revisions import HistoryWalk, commits_read_once
from commitguard.keyring.model import Keyring, Policy
from commitguard.model.verdicts import (NO_TIME, CommitVerdict, CommitVerdictTable, SignatureInfo, SignatureVerdict, Status,
                                        VerifyReport, Vouch)

if TYPE_CHECKING:  # the verifiers load when a signature is to be checked: a warm re-run checks none
    from commitguard.signatures.dispatch import SignatureVerifier
    from commitguard.signatures.sigstore.transparency import Transparency

# Below this many uncached commits, starting workers costs more than it saves.
PARALLEL_THRESHOLD = 400
_COMMIT = 1  # GIT_OBJECT_COMMIT: the walk hands over commit objects only
CHUNK = 256
# Chunks double from CHUNK up to this: a long run of one scheme's checks keeps
# its library in the CPU caches, and each chunk costs a round trip (100,000
# commits on 2 cores, three paired runs: 17.0-17.9 s of CPU in chunks of 256,
# 15.0-15.9 s in chunks of 4,096). Small histories still start in small chunks,
# spread over both cores.
MAX_CHUNK = 4096
# Chunks handed to each worker and not yet verified: enough to keep it busy,
# few enough that the commits' bytes they carry stay a few megabytes.
MAX_PENDING = 2


@dataclass(frozen=True)
class VerifyOptions:
    revs: tuple[str, ...] = ("HEAD",)
    trust_root: str | None = None
    jobs: int | None = None
    cache_dir: str | None = None  # None: no cache
    max_commits: int | None = None  # None: history.DEFAULT_MAX_COMMITS
    progress: Callable[[int, int], None] | None = None
    transparency: Transparency | None = None  # gitsign log entries (None: $COMMITGUARD_UPSTREAM_MIRROR, offline)


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def verify_revisions(repo: pygit2.Repository, keyring: Keyring, options: VerifyOptions) -> VerifyReport:
    """Judge every commit selected by ``options.revs`` down to the trust root.

    ``repo`` is open (:func:`commitguard.git.revisions.open_repository`):
    whoever calls opens it once and passes it on, so every stage reads the
    same repository.

    Each commit is vouched for here by its own signature only (the
    ``signature`` kind); the kinds that need the repository's approvals
    (``audit``) are applied afterwards by
    :func:`commitguard.review.vouching.vouch_report`, as the ``verify``
    command does: review is a later stage than signatures.

    Commits are handed to the workers as the walk finds them: on a long
    history the walk is seconds of work that would otherwise leave both
    cores idle before the first signature is checked.
    """
    trust_root = options.trust_root or keyring.policy.trust_root
    with commits_read_once():
        walk = HistoryWalk(repo, list(options.revs), trust_root, max_commits=options.max_commits, keep_objects=True)
        cache = VerdictCache(options.cache_dir) if options.cache_dir else None  # a damaged one drops its frontier
        frontier = known = None
        if cache is not None and cache.usable:
            frontier = Frontier(options.cache_dir, repo, keyring.digest, walk.exclude, walk.root)
            known = frontier.usable(walk.include)
            if known is not None:
                walk.hide_known(known.tips, len(known.table))
        table, cacheable = judge_table(repo, keyring, walk, options, cache, walk.pop_object)
        selection = walk.selection
        if list(table.ids) != list(selection.ids):  # the hand walk took over and ordered them its way
            table = table.reordered(selection.ids)
        if known is not None and not selection.ids:
            table = known.table  # nothing new
        elif known is not None:
            # new commits first (still children before parents), written after the stored ones
            whole = frontier.store(walk.include, table, known) if cacheable else None
            table = whole if whole is not None else table.followed_by(known.table)
        elif frontier is not None and cacheable:
            frontier.store(walk.include, table)
    return VerifyReport(commits=table, warnings=selection.warnings)


def verify_commit_ids(repo: pygit2.Repository, keyring: Keyring, ids, options: VerifyOptions) -> list[CommitVerdict]:
    """Judge exactly these commits, in this order."""
    return list(judge_table(repo, keyring, list(ids), options)[0])


def judge_table(repo: pygit2.Repository, keyring: Keyring, ids: Iterable[str], options: VerifyOptions,
                cache: VerdictCache | None = None,
                objects: Callable[[str], bytes | None] | None = None) -> tuple[CommitVerdictTable, bool]:  # fmt: skip
    """A verdict for every id, from the cache or verified afresh, in the order given,
    and whether every verdict may be cached (none depended on the clock or a missing tool).

    ``objects`` gives the bytes of a commit the walk has read already (taken
    once for every id, None when it has not): they go to the verifier with the
    id, so the commit is not read twice.

    ``ids`` may be a walk still in progress: ids are looked up in the cache
    in batches as they arrive, and once PARALLEL_THRESHOLD of them need
    verifying, worker processes start on them while the walk goes on.
    Verdicts go straight into a column table (ids, one small integer per
    verdict shape, one float per time): at a million commits, objects would
    take most of a gigabyte.
    """
    if cache is None and options.cache_dir:
        cache = VerdictCache(options.cache_dir)
    key = cache_key(keyring.digest)
    jobs = options.jobs or default_jobs()
    may_fork = jobs > 1 and "fork" in multiprocessing.get_all_start_methods()
    table = _TableBuilder(keyring)
    todo: list[tuple[int, str, bytes | None]] = []  # (position, id, the commit's bytes if read) waiting for a verifier
    state = {"done": 0, "cacheable": True, "chunks": 0}
    workers: _Workers | None = None
    local: list = []  # the in-process verifier and object reader, made when first needed

    def verify_here(items: list[tuple[int, str, bytes | None]]) -> None:
        if not local:
            from commitguard.signatures.dispatch import SignatureVerifier

            local.extend((SignatureVerifier(keyring, options.transparency), ObjectReader(repo)))
        keep(_verify_chunk(repo, local[0], items, local[1]))
        state["chunks"] += 1
        report()

    def report() -> None:
        if options.progress:
            options.progress(state["done"], len(table.ids))

    def keep(chunk: tuple[list[tuple], list[tuple]]) -> None:
        rows, shapes = chunk
        numbers = [table.number(shape[:5]) for shape in shapes]
        state["cacheable"] = state["cacheable"] and all(shape[5] for shape in shapes)
        shape_column, created_column = table.shape, table.created
        for pos, k, created in rows:
            shape_column[pos] = numbers[k]
            created_column[pos] = created
        if cache:
            ids = table.ids
            cache.store(key, {ids[pos]: _verdict_of(shapes[k], created) for pos, k, created in rows})
        state["done"] += len(rows)

    def chunk_size() -> int:
        return min(MAX_CHUNK, CHUNK << min(state["chunks"], 8))

    def send(items: list[tuple[int, str, bytes | None]]) -> None:
        assert workers is not None
        while len(workers.pending) >= MAX_PENDING * jobs:  # the walk waits: chunks carry commits' bytes
            for rows in workers.collect(wait=True):
                keep(rows)
        workers.submit(items)
        state["chunks"] += 1

    def take(batch: list[str]) -> None:
        nonlocal workers
        first = table.extend(batch)
        known = cache.load(key, batch) if cache else {}
        for offset, commit_id in enumerate(batch):
            verdict = known.get(commit_id)
            raw = objects(commit_id) if objects is not None else None  # taken even when cached: it is dropped
            if verdict is None:
                todo.append((first + offset, commit_id, raw))
            else:
                table.set(first + offset, verdict)
        state["done"] += len(known)
        if workers is None and may_fork and len(todo) >= PARALLEL_THRESHOLD:
            workers = _Workers(repo.path, keyring, jobs, options.transparency)
        if workers is not None:
            while len(todo) >= (size := chunk_size()):
                send(todo[:size])
                del todo[:size]
            for rows in workers.collect(wait=False):
                keep(rows)
        elif not may_fork:
            while len(todo) >= (size := chunk_size()):  # verified as the walk goes, not held: bytes fill memory
                verify_here(todo[:size])
                del todo[:size]
        report()

    try:
        batch: list[str] = []
        for commit_id in ids:
            batch.append(commit_id)
            if len(batch) >= CHUNK:
                take(batch)
                batch = []
        take(batch)
        if workers is not None:
            while todo:  # the rest, shared between the workers
                piece = -(-len(todo) // jobs)
                send(todo[:piece])
                del todo[:piece]
            while workers.pending:
                for rows in workers.collect(wait=True):
                    keep(rows)
                report()
        else:
            while todo:
                size = chunk_size()
                verify_here(todo[:size])
                del todo[:size]
    finally:
        if workers is not None:
            workers.close()
        if cache:
            cache.close()
    return table.build(repo), state["cacheable"]


class _TableBuilder:
    """Collects verdicts by position; the keyring's policy (forge, and whether a
    signature vouches) is applied once per distinct verdict shape, not once per commit."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        self.ids: list[str] = []
        self.shape = array("i")
        self.created = array("d")
        self.shapes: list[tuple] = []
        self._index: dict[tuple, int] = {}

    def extend(self, batch: list[str]) -> int:
        first = len(self.ids)
        self.ids.extend(batch)
        self.shape.extend([-1] * len(batch))
        self.created.extend([NO_TIME] * len(batch))
        return first

    def set(self, pos: int, v: SignatureVerdict) -> None:
        info = v.signature
        self.shape[pos] = self.number((v.status, v.reason, info.type, info.key, v.signer))
        self.created[pos] = info.created.timestamp() if info.created is not None else NO_TIME

    def number(self, raw: tuple) -> int:
        """The table's number for a signature verdict's shape (status, reason, type, key, signer)."""
        index = self._index.get(raw)
        if index is None:
            status, reason, stype, key, signer = raw
            c = to_commit_verdict("", SignatureVerdict(status, reason, SignatureInfo(stype, key), signer), self.keyring)
            index = self._index[raw] = len(self.shapes)
            self.shapes.append((c.status, c.trusted, stype, key, c.signer, c.reason, c.vouch))
        return index

    def build(self, repo) -> CommitVerdictTable:
        if -1 in self.shape:
            raise RuntimeError("a commit was left without a verdict")  # a bug, never a silent gap
        untrusted = {i for i, s in enumerate(self.shapes) if not s[1]}
        summaries = {pos: _summary(repo, self.ids[pos]) for pos, s in enumerate(self.shape) if s in untrusted}
        return CommitVerdictTable(self.ids, self.shape, self.created, self.shapes, summaries)


def signature_vouch(v: SignatureVerdict, policy: Policy) -> tuple[str, Vouch | None]:
    """The ``signature`` kind, decided once for every stage: (the reason to report, the vouch or None).

    A commit is vouched for by its own signature when that signature is by a
    trusted keyring key: a person's, or a forge's when ``policy.forge =
    "accept"`` (forge-signed commits keep the meaning ``trusted`` always had
    for them: the keyring lists the forge's key and the policy accepts it).
    ``by`` is the signer. When ``policy.accept`` does not list ``signature``,
    no signature vouches, and the reason says so.
    """
    reason = v.reason
    vouches = v.status is Status.TRUSTED
    if v.status is Status.FORGE:
        vouches = policy.accept_forge
        reason += " (accepted: policy.forge = \"accept\")" if vouches else " (not trusted: policy.forge = \"reject\")"
    if not vouches:
        return reason, None
    if not policy.accepts("signature"):
        return reason + " (not trusted: policy.accept does not list \"signature\")", None
    return reason, Vouch("signature", (v.signer,) if v.signer else (), reason)


def to_commit_verdict(commit_id: str, v: SignatureVerdict, keyring: Keyring, summary: str = "") -> CommitVerdict:
    """A signature verdict as a commit verdict, vouched for by its signature where the policy lets it."""
    reason, vouch = signature_vouch(v, keyring.policy)
    return CommitVerdict(commit_id, v.status, vouch is not None, v.signature, v.signer, reason, summary, vouch)


def verify_commit(repo: pygit2.Repository, verifier: SignatureVerifier, commit_id: str) -> SignatureVerdict:
    read = _read(repo, commit_id)
    if isinstance(read, SignatureVerdict):
        return read
    signature, payload, committed_at = read
    return verifier.verify(signature, payload, committed_at)


def _read(repo: pygit2.Repository, commit_id: str, odb=None, raw: bytes | None = None
          ) -> tuple[bytes, bytes, datetime] | SignatureVerdict:  # fmt: skip
    """The signature, signed payload and committer time of a commit, or the
    verdict when there is nothing to verify (unsigned, unreadable); ``raw`` is
    the commit object's bytes when the walk read them (they hash to the id: the
    walk read them by it), else ``odb`` reads them (default: the repository's)."""
    try:
        plain = split_plain_commit(_COMMIT, raw) if raw is not None else read_plain_commit(odb or repo.odb, commit_id)
    except (KeyError, ValueError, pygit2.GitError):
        plain = None
    if plain is not None:
        signature, payload, seconds = plain
        if signature is None:
            return SignatureVerdict(Status.UNSIGNED, "commit is not signed", SignatureInfo(None))
        return signature, payload, datetime.fromtimestamp(seconds, timezone.utc)
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
    return signature, payload, committed_at


def _verify_chunk(repo, verifier, items: list[tuple[int, str, bytes | None]],
                  reader: ObjectReader | None = None) -> tuple[list[tuple], list[tuple]]:  # fmt: skip
    """Read every commit of the chunk, then verify the signatures grouped by
    scheme: alternating SSH and OpenPGP checks commit by commit keeps neither
    library's code and tables in the CPU caches (four paired runs over 100,000
    commits: 21.6 s of CPU grouped, 23.3 s not).

    Returns (rows, shapes): a row is (position, shape number, signature time
    or NO_TIME) and a shape (status, reason, type, key, signer, cacheable). A
    key signs thousands of commits with the same reason: each shape crosses
    from a worker once a chunk, and the rows are three numbers (pickling a
    verdict object calls Python code per object; tuples of strings still
    pickle each string).
    """
    rows: list[tuple] = []
    shapes: list[tuple] = []
    numbers: dict[tuple, int] = {}

    def add(pos: int, v: SignatureVerdict) -> None:
        info = v.signature
        shape = (v.status, v.reason, info.type, info.key, v.signer, v.cacheable)
        k = numbers.get(shape)
        if k is None:
            k = numbers[shape] = len(shapes)
            shapes.append(shape)
        rows.append((pos, k, info.created.timestamp() if info.created is not None else NO_TIME))

    signed = []
    for pos, commit_id, raw in items:
        read = _read(repo, commit_id, reader, raw)
        if isinstance(read, SignatureVerdict):
            add(pos, read)
        else:
            # by the armor's first bytes (one scheme after the other), then short
            # (ed25519, ECDSA) before long (RSA) signatures
            signed.append(((read[0][:12], len(read[0]) > 512), pos, read))
    signed.sort(key=lambda item: item[0])
    for _, pos, (signature, payload, committed_at) in signed:
        add(pos, verifier.verify(signature, payload, committed_at))
    return rows, shapes


def _verdict_of(shape: tuple, created: float) -> SignatureVerdict:
    """A row of :func:`_verify_chunk` as the verdict it was made from."""
    status, reason, stype, key, signer, cacheable = shape
    when = None if created != created else datetime.fromtimestamp(created, timezone.utc)  # NaN: no time
    return SignatureVerdict(status, reason, SignatureInfo(stype, key, when), signer, cacheable)


# -- workers -----------------------------------------------------------------------

_worker_state: dict = {}


def _worker_init(repo_path: str, keyring: Keyring, transparency: Transparency | None = None) -> None:
    _worker_state["repo"] = repo = pygit2.Repository(repo_path)
    _worker_state["reader"] = ObjectReader(repo)
    from commitguard.signatures.dispatch import SignatureVerifier

    _worker_state["verifier"] = SignatureVerifier(keyring, transparency)


def _worker_run(items: list[tuple[int, str, bytes | None]]) -> tuple[list[tuple], list[tuple]]:
    state = _worker_state
    return _verify_chunk(state["repo"], state["verifier"], items, state["reader"])


class _Workers:
    """Fork workers fed chunk by chunk; results are collected as they come."""

    def __init__(self, repo_path: str, keyring: Keyring, jobs: int, transparency: Transparency | None = None):
        ctx = multiprocessing.get_context("fork")
        self._pool = ctx.Pool(processes=jobs, initializer=_worker_init, initargs=(repo_path, keyring, transparency))
        self.pending: deque = deque()

    def submit(self, items: list[tuple[int, str, bytes | None]]) -> None:
        """Queue a chunk of (position, commit id, the commit's bytes or None)."""
        self.pending.append(self._pool.apply_async(_worker_run, (items,)))

    def collect(self, *, wait: bool) -> list[tuple[list[tuple], list[tuple]]]:
        """The finished chunks, in submission order; with ``wait``, at least one."""
        done = []
        while self.pending and (wait or self.pending[0].ready()):
            done.append(self.pending.popleft().get())  # re-raises a worker's exception
            wait = False
        return done

    def close(self) -> None:
        self._pool.terminate()  # every result is in, or an error stops the run
        self._pool.join()


def _summary(repo: pygit2.Repository, commit_id: str) -> str:
    try:
        message = repo[commit_id].raw_message
    except (KeyError, ValueError):
        return ""
    first = message.split(b"\n", 1)[0]
    return first.decode("utf-8", "replace")[:120]
