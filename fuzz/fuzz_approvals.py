"""Fuzz target: approval envelopes (DSSE + in-toto Statement) and their verification.

Input: the text of one approval (a git note line or review body). Findings:
``parse_envelope``/``parse_statement`` raising anything but ``EnvelopeError``;
``ApprovalVerifier.verify`` raising at all; an approval judged ``valid`` whose
payload is not exactly the one alice signed.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import datetime, timezone

from common import build_world, fuzz, instrumented

with instrumented():
    from commitguard.review.approvals.interface import RawApproval
    from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
    from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerifier, ReviewContext
    from commitguard.keyring.loader import load_keyring

WORLD = build_world()
VERIFIER = ApprovalVerifier(load_keyring(WORLD.keyring_dir))
CONTEXT = ReviewContext("example.org/nixpkgs", "1" * 40, "2" * 40, "3" * 40, 7)
SIGNED_PAYLOAD = base64.b64decode(json.loads(WORLD.approval)["payload"])
WHEN = datetime(2025, 1, 2, tzinfo=timezone.utc)


def TestOneInput(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        envelope = parse_envelope(data if data[:1] == b"\xff" else text)
        parse_statement(envelope.payload)
    except EnvelopeError:
        pass
    verdict = VERIFIER.verify(RawApproval(text, "fuzz"), CONTEXT, WHEN)
    assert isinstance(verdict.reason, str)
    if verdict.status is ApprovalStatus.VALID:
        assert parse_envelope(text).payload == SIGNED_PAYLOAD, f"valid approval of another payload: {text!r}"


def _with(sig: bytes, payload: bytes = SIGNED_PAYLOAD) -> bytes:
    doc = json.loads(WORLD.approval)
    doc["payload"] = base64.b64encode(payload).decode()
    doc["signatures"][0]["sig"] = base64.b64encode(sig).decode()
    return json.dumps(doc).encode()


SEEDS = [
    WORLD.approval.encode(),
    _with(WORLD.pgp.signature),
    _with(b"-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n"),
    _with(base64.b64decode(json.loads(WORLD.approval)["signatures"][0]["sig"]), SIGNED_PAYLOAD.replace(b"2222", b"2223")),
    b'{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}',
]

if __name__ == "__main__":
    fuzz(TestOneInput, SEEDS)
    sys.exit(0)
