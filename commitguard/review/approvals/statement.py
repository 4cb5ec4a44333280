"""The approval itself: an in-toto Statement v1 in a DSSE envelope.

The statement names exactly what was reviewed (repository, base, head commit
and head tree) and the verdict; the envelope carries the reviewer's
signature over DSSE's pre-authentication encoding (PAE), which binds the
payload type too. Together with the SSH namespace ``commitguard-approval``
(and, for OpenPGP, a payload that is JSON and never a git commit object) an
approval can never stand in for a commit signature, nor the reverse.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://commitguard.dev/approval/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
SSH_NAMESPACE = "commitguard-approval"
VERDICTS = ("approve",)
# An envelope larger than this is not an approval (a review body or note
# stuffed with data to slow us down).
MAX_ENVELOPE_BYTES = 64 * 1024


class EnvelopeError(ValueError):
    """The text is not a well-formed approval envelope."""


@dataclass(frozen=True)
class Approval:
    """What a reviewer approved, as the statement says it (not yet verified)."""

    repository: str
    base: str
    head: str
    head_tree: str
    verdict: str = "approve"
    pull_request: int | None = None
    reviewer: str | None = None  # informational; the signature decides who
    timestamp: str | None = None

    def statement(self) -> dict:
        predicate = {
            "repository": self.repository,
            "base": self.base,
            "head": self.head,
            "headTree": self.head_tree,
            "verdict": self.verdict,
        }
        if self.pull_request is not None:
            predicate["pullRequest"] = self.pull_request
        if self.reviewer:
            predicate["reviewer"] = self.reviewer
        if self.timestamp:
            predicate["timestamp"] = self.timestamp
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": self.repository, "digest": {"gitCommit": self.head}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        }

    def payload(self) -> bytes:
        return json.dumps(self.statement(), sort_keys=True, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Envelope:
    payload: bytes
    signature: bytes  # armored SSH or OpenPGP signature over pae(payload)
    keyid: str = ""

    def to_json(self) -> str:
        return json.dumps(
            {
                "payloadType": PAYLOAD_TYPE,
                "payload": base64.b64encode(self.payload).decode(),
                "signatures": [{"keyid": self.keyid, "sig": base64.b64encode(self.signature).decode()}],
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def pae(payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    """DSSE v1 pre-authentication encoding: what the signature covers."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def parse_envelope(text: str | bytes) -> Envelope:
    """Strictly parse one DSSE envelope holding exactly one signature."""
    if isinstance(text, str):
        text = text.encode("utf-8", "replace")
    if len(text) > MAX_ENVELOPE_BYTES:
        raise EnvelopeError(f"envelope of {len(text)} bytes is larger than {MAX_ENVELOPE_BYTES}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"not JSON ({exc})") from None
    if not isinstance(data, dict) or set(data) != {"payloadType", "payload", "signatures"}:
        raise EnvelopeError("not a DSSE envelope (expected payloadType, payload, signatures)")
    if data["payloadType"] != PAYLOAD_TYPE:
        raise EnvelopeError(f"payloadType {data['payloadType']!r} is not {PAYLOAD_TYPE}")
    sigs = data["signatures"]
    if not isinstance(sigs, list) or len(sigs) != 1 or not isinstance(sigs[0], dict):
        raise EnvelopeError("an approval envelope carries exactly one signature")
    try:
        payload = base64.b64decode(data["payload"], validate=True)
        signature = base64.b64decode(sigs[0].get("sig", ""), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise EnvelopeError("payload or signature is not valid base64") from None
    keyid = sigs[0].get("keyid", "")
    if not isinstance(keyid, str):
        raise EnvelopeError("keyid must be a string")
    if not signature:
        raise EnvelopeError("empty signature")
    return Envelope(payload=payload, signature=signature, keyid=keyid)


def parse_statement(payload: bytes) -> Approval:
    """The approval a payload states; EnvelopeError unless it is exactly our shape."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"statement is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE:
        raise EnvelopeError("not an in-toto Statement v1")
    if data.get("predicateType") != PREDICATE_TYPE:
        raise EnvelopeError(f"predicateType is not {PREDICATE_TYPE}")
    predicate = data.get("predicate")
    subjects = data.get("subject")
    if not isinstance(predicate, dict) or not isinstance(subjects, list) or len(subjects) != 1:
        raise EnvelopeError("statement needs one subject and a predicate")
    subject = subjects[0]
    digest = subject.get("digest") if isinstance(subject, dict) else None
    head = digest.get("gitCommit") if isinstance(digest, dict) else None
    fields = {}
    for key in ("repository", "base", "head", "headTree", "verdict"):
        value = predicate.get(key)
        if not isinstance(value, str) or not value:
            raise EnvelopeError(f"predicate.{key} is missing")
        fields[key] = value
    if head != fields["head"]:
        raise EnvelopeError("subject digest and predicate.head disagree")
    for key in ("base", "head", "headTree"):
        if len(fields[key]) != 40 or any(c not in "0123456789abcdef" for c in fields[key]):
            raise EnvelopeError(f"predicate.{key} is not a 40-hex object id")
    if fields["verdict"] not in VERDICTS:
        raise EnvelopeError(f"verdict {fields['verdict']!r} is not an approval")
    pull = predicate.get("pullRequest")
    if pull is not None and (not isinstance(pull, int) or isinstance(pull, bool)):
        raise EnvelopeError("predicate.pullRequest must be a number")
    reviewer = predicate.get("reviewer")
    timestamp = predicate.get("timestamp")
    return Approval(
        repository=fields["repository"],
        base=fields["base"],
        head=fields["head"],
        head_tree=fields["headTree"],
        verdict=fields["verdict"],
        pull_request=pull,
        reviewer=reviewer if isinstance(reviewer, str) else None,
        timestamp=timestamp if isinstance(timestamp, str) else None,
    )
