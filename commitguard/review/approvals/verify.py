"""Verify approvals: a signature by a keyring person over exactly this review.

Only a valid signature by a *person* (not a forge) in the approval namespace
counts, and only for the exact repository, pull request, base and head under
review; anything else is reported with the reason it does not count.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone

from commitguard.review.approvals.interface import RawApproval
from commitguard.review.approvals.statement import SSH_NAMESPACE, Approval, EnvelopeError, pae, parse_envelope, parse_statement
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import Status
from commitguard.signatures.dispatch import schemes_for


class ApprovalStatus(str, enum.Enum):
    VALID = "valid"
    STALE = "stale"  # a real approval, but of an earlier head or base
    INVALID = "invalid"


@dataclass(frozen=True)
class ReviewContext:
    repository: str
    base: str
    head: str
    head_tree: str
    pull_request: int | None = None


@dataclass(frozen=True)
class ApprovalVerdict:
    status: ApprovalStatus
    reason: str
    origin: str
    person: str | None = None
    key: str | None = None
    approval: Approval | None = None

    def to_json(self) -> dict:
        return {
            "status": self.status.value,
            "person": self.person,
            "key": self.key,
            "origin": self.origin,
            "head": self.approval.head if self.approval else None,
            "reason": self.reason,
        }


class ApprovalVerifier:
    def __init__(self, keyring: Keyring):
        self.ssh, self.openpgp = schemes_for(keyring, namespace=SSH_NAMESPACE)

    def verify(self, raw: RawApproval, context: ReviewContext, now: datetime | None = None) -> ApprovalVerdict:
        now = now or datetime.now(timezone.utc)
        try:
            envelope = parse_envelope(raw.text)
            approval = parse_statement(envelope.payload)
        except EnvelopeError as exc:
            return ApprovalVerdict(ApprovalStatus.INVALID, f"not a readable approval: {exc}", raw.origin)
        signed = pae(envelope.payload)
        try:
            if self.ssh.recognizes(envelope.signature):
                verdict = self.ssh.verify(envelope.signature, signed, now)
            elif self.openpgp.recognizes(envelope.signature):
                verdict = self.openpgp.verify(envelope.signature, signed, now)
            else:
                return ApprovalVerdict(ApprovalStatus.INVALID, "approval signature is neither SSH nor OpenPGP", raw.origin, approval=approval)
        except Exception as exc:  # an approval anyone can write must never stop the check
            return ApprovalVerdict(
                ApprovalStatus.INVALID, f"approval signature could not be checked ({type(exc).__name__}: {exc})",
                raw.origin, approval=approval,
            )
        key = verdict.signature.key
        if verdict.status is not Status.TRUSTED:
            return ApprovalVerdict(
                ApprovalStatus.INVALID, f"signature does not count: {verdict.status.value}: {verdict.reason}", raw.origin,
                key=key, approval=approval,
            )
        person = verdict.signer
        if approval.repository != context.repository:
            return ApprovalVerdict(
                ApprovalStatus.INVALID, f"approval is for repository {approval.repository!r}, not {context.repository!r}",
                raw.origin, person, key, approval,
            )
        if context.pull_request is not None and approval.pull_request is not None and approval.pull_request != context.pull_request:
            return ApprovalVerdict(
                ApprovalStatus.INVALID, f"approval is for pull request #{approval.pull_request}, not #{context.pull_request}",
                raw.origin, person, key, approval,
            )
        if approval.head != context.head:
            same_change = approval.base == context.base or (
                context.pull_request is not None and approval.pull_request == context.pull_request
            )
            if not same_change:
                return ApprovalVerdict(
                    ApprovalStatus.INVALID,
                    f"approves another change (head {approval.head[:12]} on base {approval.base[:12]})",
                    raw.origin, person, key, approval,
                )
            return ApprovalVerdict(
                ApprovalStatus.STALE, f"approves head {approval.head[:12]}, not the current head {context.head[:12]}",
                raw.origin, person, key, approval,
            )
        if approval.head_tree != context.head_tree:
            return ApprovalVerdict(
                ApprovalStatus.INVALID, f"names tree {approval.head_tree[:12]}, but head {context.head[:12]} has tree {context.head_tree[:12]}",
                raw.origin, person, key, approval,
            )
        if approval.base != context.base:
            return ApprovalVerdict(
                ApprovalStatus.STALE, f"approves the change against base {approval.base[:12]}, not {context.base[:12]}",
                raw.origin, person, key, approval,
            )
        return ApprovalVerdict(ApprovalStatus.VALID, f"approved by {person} ({key})", raw.origin, person, key, approval)
