"""Is a signed verification summary one this keyring may start from?

A summary counts only when every one of these holds, each failure with its
own reason: the envelope is a well-formed DSSE envelope; its signature, over
DSSE's pre-authentication encoding, is by a key of a ``[[verifier]]`` the
*consumer's* keyring lists, in the ``commitguard-vsa`` namespace (so a commit
signature or a review approval can never stand in for a summary); the
statement is a SLSA VSA v1 (:mod:`commitguard.attest.vsa`) whose
``verifier.id`` is the signer's; its subject is the commit asked about; it
was made under this very keyring (``policy.digest.sha256`` equals the
keyring's digest: a summary made under other trust decisions says nothing
about these); and its result is ``PASSED``. The repository's own notes, the
summary's claims and the tool's caches vouch for nothing here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone

from commitguard.attest.vsa import PASSED, Summary, SummaryError, parse_statement
from commitguard.keyring.model import Keyring, Person, Policy
from commitguard.model.verdicts import Status
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.statement import EnvelopeError, pae, parse_envelope
from commitguard.signatures.dispatch import schemes_for

VSA_NAMESPACE = "commitguard-vsa"
VSA_REF = "refs/notes/commitguard-vsa"


class CheckStatus(str, enum.Enum):
    VALID = "valid"
    INVALID = "invalid"


@dataclass(frozen=True)
class AttestationCheck:
    status: CheckStatus
    reason: str
    summary: Summary | None = None
    verifier: str | None = None  # the [[verifier]] whose key signed it

    @property
    def valid(self) -> bool:
        return self.status is CheckStatus.VALID

    def to_json(self) -> dict:
        s = self.summary
        return {
            "valid": self.valid,
            "reason": self.reason,
            "verifier": self.verifier,
            "commit": s.commit if s else None,
            "verification_result": s.result if s else None,
            "verified_levels": list(s.levels) if s else [],
            "keyring_digest": s.keyring_digest if s else None,
            "trust_root": s.trust_root if s else None,
            "time_verified": s.time_verified if s else None,
        }


class AttestationChecker:
    """Checks summaries against one keyring's ``[[verifier]]``s."""

    def __init__(self, keyring: Keyring):
        self.keyring = keyring
        # the verifiers as the only holders of a keyring of their own: their keys sign nothing
        # else, and a person's or a forge's key never signs a summary that counts
        verifiers_only = Keyring(keyring.path, keyring.digest, Policy(),
                                 tuple(Person(v.id, keys=v.keys) for v in keyring.verifiers))
        self.ssh, self.openpgp = schemes_for(verifiers_only, namespace=VSA_NAMESPACE)

    def check(self, text: str, commit: str | None, now: datetime | None = None) -> AttestationCheck:
        """``commit``: the commit the summary must be about (None: any)."""
        now = now or datetime.now(timezone.utc)
        if not self.keyring.verifiers:
            return AttestationCheck(CheckStatus.INVALID, "the keyring lists no [[verifier]]: no summary can count")
        try:
            envelope = parse_envelope(text)
        except EnvelopeError as exc:
            return AttestationCheck(CheckStatus.INVALID, f"not a readable envelope: {exc}")
        try:
            summary = parse_statement(envelope.payload)
        except SummaryError as exc:
            return AttestationCheck(CheckStatus.INVALID, f"not a verification summary: {exc}")
        signed = pae(envelope.payload)
        try:
            if self.ssh.recognizes(envelope.signature):
                verdict = self.ssh.verify(envelope.signature, signed, now)
            elif self.openpgp.recognizes(envelope.signature):
                verdict = self.openpgp.verify(envelope.signature, signed, now)
            else:
                return AttestationCheck(CheckStatus.INVALID, "signature is neither SSH nor OpenPGP", summary)
        except Exception as exc:  # anyone can write a note: a bad one never stops the run
            return AttestationCheck(CheckStatus.INVALID, f"signature could not be checked ({type(exc).__name__})", summary)
        if verdict.status is not Status.TRUSTED or verdict.signer is None:
            return AttestationCheck(CheckStatus.INVALID, f"not signed by a listed [[verifier]]: {verdict.status.value}: "
                                                         f"{verdict.reason}", summary)
        signer = verdict.signer
        if summary.verifier != signer:
            return AttestationCheck(CheckStatus.INVALID, f"names verifier {summary.verifier!r} but is signed by "
                                                         f"{signer!r}", summary, signer)
        if commit is not None and summary.commit != commit:
            return AttestationCheck(CheckStatus.INVALID, f"is about commit {summary.commit[:12]}, not {commit[:12]}",
                                    summary, signer)
        if summary.keyring_digest != self.keyring.digest:
            return AttestationCheck(CheckStatus.INVALID, f"was made under another keyring (digest "
                                                         f"{summary.keyring_digest[:16]}..., this one "
                                                         f"{self.keyring.digest[:16]}...)", summary, signer)
        if summary.result != PASSED:
            return AttestationCheck(CheckStatus.INVALID, f"verification result is {summary.result}", summary, signer)
        return AttestationCheck(CheckStatus.VALID, f"signed by verifier {signer}, made under this keyring", summary,
                                signer)


def stored_summaries(repo, commit: str) -> list[str]:
    """The envelopes stored for ``commit`` in ``refs/notes/commitguard-vsa`` (text only: nothing checked)."""
    return [raw.text for raw in GitNotesStore(repo, VSA_REF).collect(commit)]
