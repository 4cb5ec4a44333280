"""The checkpoint's statement: an in-toto Statement v1 whose predicate is a SLSA Verification Summary.

Built and read with the in-toto attestation bindings (``in-toto-attestation``):
the Statement and ResourceDescriptor wrappers validate the envelope's shape,
and the VSA v1 protobuf message (through protobuf's ``json_format``, which
refuses unknown fields and wrong types) validates the predicate, so a
statement that does not match the published schemas is never written nor
read. commitguard adds one field the VSA schema does not have,
``trustRoot``: the commit the verification started from, without which a
summary "every commit since the trust root was vouched for" does not say
since when.

What the levels claim (each only when checked; see the README):

* ``SLSA_SOURCE_LEVEL_1``: every commit from the trust root to the subject
  was verified and vouched for under the keyring (the summary is only ever
  made when that holds);
* ``SLSA_SOURCE_LEVEL_2``: the same, from an explicit trust root (the whole
  history between a chosen root and the subject is continuous and checked);
* ``SLSA_SOURCE_LEVEL_4``: besides, every commit was vouched for by a second
  person: a non-merge commit by ``review`` (a signed approval by someone who
  did not write it), a merge by ``review`` or ``clean-merge``.

``SLSA_SOURCE_LEVEL_3`` (technical controls enforced by the source system) is
never claimed: history shows what was merged, not what the forge enforced.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from google.protobuf import json_format
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2
from in_toto_attestation.v1.resource_descriptor import ResourceDescriptor
from in_toto_attestation.v1.statement import STATEMENT_TYPE_URI, Statement

VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
PASSED = "PASSED"
LEVEL_1, LEVEL_2, LEVEL_4 = "SLSA_SOURCE_LEVEL_1", "SLSA_SOURCE_LEVEL_2", "SLSA_SOURCE_LEVEL_4"
EXTENSIONS = ("trustRoot",)
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_LEVEL = re.compile(r"^SLSA_(SOURCE|BUILD)_LEVEL_[0-4]$")


class SummaryError(ValueError):
    """The payload is not a verification summary of the shape commitguard writes."""


@dataclass(frozen=True)
class Summary:
    """What a verification summary states (not yet checked against anything)."""

    commit: str
    repository_uri: str
    verifier: str
    time_verified: str
    resource_uri: str
    policy_uri: str
    keyring_digest: str
    result: str
    levels: tuple[str, ...]
    trust_root: str | None


def build_statement(summary: Summary) -> bytes:
    """The statement as the bytes that get signed (canonical JSON), validated against both schemas."""
    predicate = {
        "verifier": {"id": summary.verifier},
        "timeVerified": summary.time_verified,
        "resourceUri": summary.resource_uri,
        "policy": {"uri": summary.policy_uri, "digest": {"sha256": summary.keyring_digest}},
        "verificationResult": summary.result,
        "verifiedLevels": list(summary.levels),
    }
    _validate_predicate(predicate)
    if summary.trust_root is not None:
        predicate["trustRoot"] = summary.trust_root
    subject = ResourceDescriptor(uri=summary.repository_uri, digest={"gitCommit": summary.commit})
    statement = Statement([subject.pb], VSA_PREDICATE_TYPE, predicate)
    statement.validate()
    data = json_format.MessageToDict(statement.pb)
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def parse_statement(payload: bytes) -> Summary:
    """The summary a signed payload states; SummaryError unless it is exactly our shape."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SummaryError(f"payload is not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("_type") != STATEMENT_TYPE_URI:
        raise SummaryError("not an in-toto Statement v1")
    try:
        statement = Statement.copy_from_pb(json_format.ParseDict(data, Statement([], "", {}).pb))
        statement.validate()
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise SummaryError(f"not a valid in-toto statement ({exc})") from None
    if statement.pb.predicate_type != VSA_PREDICATE_TYPE:
        raise SummaryError(f"predicate type is {statement.pb.predicate_type!r}, not a SLSA verification summary")
    if len(statement.pb.subject) != 1:
        raise SummaryError("must name exactly one subject")
    subject = statement.pb.subject[0]
    commit = subject.digest.get("gitCommit", "")
    if not _HEX40.match(commit):
        raise SummaryError("subject has no 40-hex gitCommit digest")
    predicate = json_format.MessageToDict(statement.pb.predicate)
    trust_root = predicate.pop("trustRoot", None)
    if trust_root is not None and (not isinstance(trust_root, str) or not _HEX40.match(trust_root)):
        raise SummaryError("predicate.trustRoot is not a 40-hex commit id")
    summary, levels = _validate_predicate(predicate)
    digest = summary.policy.digest.get("sha256", "")
    if not _HEX64.match(digest):
        raise SummaryError("predicate.policy has no sha256 digest")
    return Summary(
        commit=commit, repository_uri=subject.uri, verifier=summary.verifier.id,
        time_verified=predicate.get("timeVerified", ""), resource_uri=summary.resource_uri,
        policy_uri=summary.policy.uri, keyring_digest=digest, result=summary.verification_result,
        levels=levels, trust_root=trust_root,
    )


def _validate_predicate(predicate: dict):
    """The predicate against the VSA v1 message (commitguard's extension fields set aside).

    ``verifiedLevels`` is checked by hand: the VSA v1 specification makes it an
    array of level names, while the bindings' message (0.9) declares a single
    string, so the message is given the rest."""
    levels = predicate.get("verifiedLevels")
    if not isinstance(levels, list) or not all(isinstance(v, str) and _LEVEL.match(v) for v in levels):
        raise SummaryError("predicate.verifiedLevels must be an array of SLSA level names")
    try:
        message = json_format.ParseDict({k: v for k, v in predicate.items() if k not in (*EXTENSIONS, "verifiedLevels")},
                                        vsa_pb2.VerificationSummary())
    except json_format.ParseError as exc:
        raise SummaryError(f"predicate is not a SLSA verification summary v1 ({exc})") from None
    if not message.verifier.id or not message.verification_result or not message.HasField("time_verified"):
        raise SummaryError("predicate needs verifier.id, timeVerified and verificationResult")
    return message, tuple(levels)


def levels_for(vouch_kinds, *, explicit_root: bool) -> tuple[str, ...]:
    """The levels a passed verification may claim (module docstring). ``vouch_kinds``: the kind that
    vouched for each verified commit; ``clean-merge`` only ever vouches for merge commits."""
    kinds = list(vouch_kinds)
    levels = [LEVEL_1]
    if explicit_root:
        levels.append(LEVEL_2)
    if kinds and all(kind in ("review", "clean-merge") for kind in kinds) and "review" in kinds:
        levels.append(LEVEL_4)
    return tuple(levels)
