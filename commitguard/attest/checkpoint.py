"""Start from a checkpoint: verify only what lies after the newest valid summary.

A keyring that lists ``[[verifier]]``\\s lets ``verify`` (and ``annotate`` and
``pin``) take the newest verification summary stored in
``refs/notes/commitguard-vsa`` on an ancestor of what is checked, signed by a
listed verifier and made under this same keyring and trust root, as the point
below which nothing is checked again. Every summary that is not taken is
named with its reason (for stderr): a tampered or foreign one, one made under
another keyring or from another trust root, one on a commit that is not an
ancestor. None taken: the whole history is checked, as without verifiers.

A summary is never taken on its own word: it is checked against the keyring
the consumer passed (never one read from the repository), and for the
commit it is stored on.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

import pygit2

from commitguard.errors import CommitguardError
from commitguard.git.revisions import parse_revisions, resolve_commit
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import VerifyReport
from commitguard.review.approvals.notes import GitNotesStore

# Summaries considered at most in one run (each is a signature check).
MAX_CHECKPOINT_NOTES = 10_000


@dataclass(frozen=True)
class Checkpoint:
    commit: str
    verifier: str
    levels: tuple[str, ...] = ()  # what its summary claims: a summary built on it claims no more

    def to_json(self) -> dict:
        return {"commit": self.commit, "verifier": self.verifier}


@dataclass(frozen=True)
class CheckpointSearch:
    checkpoint: Checkpoint | None
    ignored: tuple[str, ...]  # one line per summary not taken, with its reason


def find_checkpoint(repo: pygit2.Repository, keyring: Keyring, revs: list[str], trust_root: str | None,
                    now: datetime | None = None) -> CheckpointSearch:
    """The newest valid checkpoint below every revision ``revs`` include (module docstring)."""
    if not keyring.verifiers:
        return CheckpointSearch(None, ())
    # the attestation checks (in-toto, protobuf) load only for a keyring that lists verifiers
    from commitguard.attest.check import VSA_REF, AttestationChecker

    include, _ = parse_revisions(repo, revs)
    root, root_here = _root(repo, trust_root)
    annotated = GitNotesStore(repo, VSA_REF).all_annotated()[:MAX_CHECKPOINT_NOTES]
    ignored: list[str] = []
    candidates: list[tuple[int, str]] = []
    for commit_id in annotated:
        try:
            below = all(str(tip) == commit_id or repo.descendant_of(tip, commit_id) for tip in include)
            # a clone made shallow since the checkpoint lacks the root: the summary's own signed
            # trustRoot, compared below, then says the history it checked began there
            after_root = root is None or not root_here or commit_id == root or repo.descendant_of(commit_id, root)
            when = repo[commit_id].commit_time
        except (KeyError, ValueError, pygit2.GitError):
            ignored.append(f"checkpoint on {commit_id[:12]} ignored: not a commit of this repository")
            continue
        if not below:
            ignored.append(f"checkpoint on {commit_id[:12]} ignored: not an ancestor of what is checked")
        elif not after_root:
            ignored.append(f"checkpoint on {commit_id[:12]} ignored: it lies behind the trust root")
        else:
            candidates.append((when, commit_id))
    checker = AttestationChecker(keyring)
    store = GitNotesStore(repo, VSA_REF)
    # newest first: a candidate that descends from another comes before it, whatever the clocks say
    ordered = sorted(candidates, key=lambda c: c[0], reverse=True)
    ordered = _descendants_first(repo, [c for _, c in ordered])
    for commit_id in ordered:
        for raw in store.collect(commit_id):
            check = checker.check(raw.text, commit_id, now)
            if check.valid and check.summary is not None and check.summary.trust_root != root:
                said = check.summary.trust_root[:12] if check.summary.trust_root else "the first commit"
                ignored.append(f"checkpoint on {commit_id[:12]} ignored: made from trust root {said}, not "
                               f"{root[:12] if root else 'the first commit'}")
            elif check.valid:
                return CheckpointSearch(Checkpoint(commit_id, check.verifier or "", check.summary.levels), tuple(ignored))
            else:
                ignored.append(f"checkpoint on {commit_id[:12]} ignored: {check.reason}")
    return CheckpointSearch(None, tuple(ignored))


def _root(repo: pygit2.Repository, trust_root: str | None) -> tuple[str | None, bool]:
    """(the trust root as a full id, whether it is in this clone): a full id names a root that a
    shallow clone does not hold; anything else must resolve here."""
    if not trust_root:
        return None, False
    try:
        return str(resolve_commit(repo, trust_root, "trust root")), True
    except CommitguardError:
        if re.fullmatch(r"[0-9a-f]{40}", trust_root):
            return trust_root, False
        raise


def _descendants_first(repo: pygit2.Repository, ids: list[str]) -> list[str]:
    ordered: list[str] = []
    for commit_id in ids:
        at = len(ordered)
        for i, other in enumerate(ordered):
            if repo.descendant_of(commit_id, other):
                at = i
                break
        ordered.insert(at, commit_id)
    return ordered


def verify_history(repo: pygit2.Repository, keyring: Keyring, options, *, forge_record=None,
                   now: datetime | None = None) -> tuple[VerifyReport, CheckpointSearch]:
    """``verify`` as a user runs it: from the newest valid checkpoint when the keyring lists
    verifiers, every signature, then the other kinds ``[policy] accept`` lists."""
    from commitguard.verify.commits import verify_revisions

    trust_root = options.trust_root or keyring.policy.trust_root
    search = find_checkpoint(repo, keyring, list(options.revs), trust_root, now)
    if search.checkpoint is not None:
        options = dataclasses.replace(options, revs=(*options.revs, f"^{search.checkpoint.commit}"))
        # behind the checkpoint is as good as behind the trust root for a clean merge's parents
        trust_root = search.checkpoint.commit
    report = verify_revisions(repo, keyring, options)
    if any(kind != "signature" for kind in keyring.policy.accept):  # else vouch_report returns it as it is
        from commitguard.review.vouch_history import vouch_report

        report = vouch_report(repo, keyring, report, trust_root=trust_root,
                              cache_dir=options.cache_dir, jobs=options.jobs, forge_record=forge_record)
    if keyring.verifiers:
        report = dataclasses.replace(report, checkpoint=search.checkpoint.to_json() if search.checkpoint else None,
                                     checkpointing=True)
    return report, search
