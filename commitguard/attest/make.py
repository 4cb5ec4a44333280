"""``commitguard attest``: verify a revision, and only when all of it is trusted, sign a summary of that.

The summary is signed the way ``approve`` signs an approval, with the
verifier's existing key and without commitguard ever reading it: ``ssh-keygen
-Y sign`` in the ``commitguard-vsa`` namespace, or a GnuPG detached signature,
over DSSE's pre-authentication encoding of the statement. It is stored as a
line of the note on the commit in ``refs/notes/commitguard-vsa`` (pushable
like any note; several verifiers' summaries of one commit sit side by side).

A summary is written only after a verification that passed: with the same
keyring, trust root and policy as ``verify``, from the newest valid
checkpoint when the keyring lists verifiers, so a summary can extend a chain
of summaries but never start one on unchecked history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pygit2

from commitguard.attest.check import VSA_NAMESPACE, VSA_REF, AttestationChecker
from commitguard.attest.checkpoint import CheckpointSearch, verify_history
from commitguard.attest.vsa import PASSED, Summary, build_statement, levels_for
from commitguard.errors import CommitguardError
from commitguard.git.revisions import resolve_commit
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import VerifyReport
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.signers import sign_openpgp, sign_ssh
from commitguard.review.approvals.statement import Envelope
from commitguard.verify.commits import VerifyOptions


@dataclass(frozen=True)
class AttestOptions:
    rev: str = "HEAD"
    verifier: str = "commitguard"  # predicate.verifier.id: a [[verifier]] id of the keyrings that will use it
    ssh_key: str | None = None
    openpgp_key: str | None = None
    gnupg_home: str | None = None
    trust_root: str | None = None
    cache_dir: str | None = None
    jobs: int | None = None
    store: bool = True


@dataclass(frozen=True)
class Attestation:
    """What ``attest`` did: the report it judged, and the signed summary when it made one."""

    report: VerifyReport
    search: CheckpointSearch
    commit: str
    envelope: str | None  # the DSSE envelope (JSON), None when the verification did not pass
    summary: Summary | None
    stored: str | None
    self_check: str | None  # the keyring's own verdict on the new summary (None: no [[verifier]])

    @property
    def ok(self) -> bool:
        return self.envelope is not None

    def to_json(self) -> dict:
        import json

        return {
            "ok": self.ok,
            "commit": self.commit,
            "envelope": json.loads(self.envelope) if self.envelope else None,
            "stored": self.stored,
            "checkpoint": self.search.checkpoint.to_json() if self.search.checkpoint else None,
            "summary": self.report.summary(),
            "verified_levels": list(self.summary.levels) if self.summary else [],
            "self_check": self.self_check,
        }


def attest(repo: pygit2.Repository, keyring: Keyring, options: AttestOptions, now: datetime | None = None) -> Attestation:
    if (options.ssh_key is None) == (options.openpgp_key is None):
        raise CommitguardError("name exactly one key: --ssh-key PATH or --openpgp-key FPR", field="--ssh-key")
    commit = str(resolve_commit(repo, options.rev, "revision"))
    trust_root = options.trust_root or keyring.policy.trust_root
    verify_options = VerifyOptions(revs=(commit,), trust_root=trust_root, jobs=options.jobs, cache_dir=options.cache_dir)
    report, search = verify_history(repo, keyring, verify_options, now=now)
    if not report.ok:
        return Attestation(report, search, commit, None, None, None, None)
    now = now or datetime.now(timezone.utc)
    kinds = [c.vouch.kind if c.vouch else None for c in report.commits]
    summary = Summary(
        commit=commit,
        repository_uri=_origin(repo) or "",
        verifier=options.verifier,
        time_verified=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        resource_uri=_resource_uri(repo, options.rev, commit),
        policy_uri=Path(keyring.path).resolve().as_uri(),
        keyring_digest=keyring.digest,
        result=PASSED,
        levels=_levels(kinds, trust_root is not None, search),
        trust_root=str(resolve_commit(repo, trust_root, "trust root")) if trust_root else None,
    )
    payload = build_statement(summary)
    if options.ssh_key is not None:
        envelope = Envelope(payload, sign_ssh(payload, options.ssh_key, namespace=VSA_NAMESPACE), "ssh")
    else:
        envelope = Envelope(payload, sign_openpgp(payload, options.openpgp_key, options.gnupg_home),
                            options.openpgp_key.upper())
    text = envelope.to_json()
    self_check = None
    if keyring.verifiers:
        check = AttestationChecker(keyring).check(text, commit, now)
        self_check = check.reason if check.valid else f"not a checkpoint for this keyring: {check.reason}"
    stored = GitNotesStore(repo, VSA_REF).store(commit, text) if options.store else None
    return Attestation(report, search, commit, text, summary, stored, self_check)


def _levels(kinds, explicit_root: bool, search: CheckpointSearch) -> tuple[str, ...]:
    """What this verification may claim; from a checkpoint, no more than the checkpoint claimed
    (the history behind it was judged by its summary, not again)."""
    levels = levels_for(kinds, explicit_root=explicit_root)
    if search.checkpoint is not None:
        levels = tuple(level for level in levels if level in search.checkpoint.levels)
    return levels


def _origin(repo: pygit2.Repository) -> str | None:
    try:
        return repo.remotes["origin"].url
    except (KeyError, ValueError, pygit2.GitError):
        return None


def _resource_uri(repo: pygit2.Repository, rev: str, commit: str) -> str:
    """``git+URL@refs/...`` when the revision names a ref, ``git+URL@<commit>`` otherwise."""
    origin = _origin(repo)
    where = f"git+{origin}" if origin else f"git+file://{Path(repo.path).resolve()}"
    try:
        ref = repo.lookup_reference_dwim(rev).name
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        ref = None
    return f"{where}@{ref}" if ref and ref.startswith("refs/") and ref != "HEAD" else f"{where}@{commit}"
