"""Fuzz target: gitsign (x509/CMS) signatures, the DER reader and the embedded Rekor entry.

Input: ``u32 DER length | DER | payload``; the DER is armored as gitsign does
and judged by :class:`SigstoreScheme` against a Sigstore of the tests' own
(tests/signatures/sigstore_world.py: Fulcio-like chain, Rekor-like log), with
the log entry embedded in the signature so that the seed is ``trusted``. The
real gitsign commit of tests/data/vectors is a second seed (public-good root:
unknown-key). Findings:

* any exception out of ``SigstoreScheme.verify`` (it judges, never raises);
* ``trusted`` for a payload other than the one signed;
* ``trusted`` for a signature whose signed part changed: the signed
  attributes, the signature value or the certificate.
"""

from __future__ import annotations

import struct
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import fuzz, instrumented

with instrumented():
    from commitguard.keyring.loader import load_keyring
    from commitguard.model.verdicts import Status
    from commitguard.signatures.sigstore import cms
    from commitguard.signatures.sigstore.rekor import Transparency
    from commitguard.signatures.sigstore.scheme import SigstoreScheme

from signatures import sigstore_world as sw  # noqa: E402  (tests/ is on the path: common.py)
from security.hostile_x509 import real_signature  # noqa: E402

WORLD = sw.make_world()
_home = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-gitsign-"))
WORLD.write_root(_home)
(_home / "keyring.toml").write_text(
    'version = 1\n[policy]\nsigstore_trusted_root = "trusted_root.json"\n[[person]]\nid = "alice"\n[[person.key]]\n'
    f'sigstore = {{identity = "alice@example.org", issuer = "{sw.ISSUER}"}}\n')
SCHEME = SigstoreScheme(load_keyring(_home), transparency=Transparency())
SIGNED = sw.sign(sw.fulcio_cert(WORLD.intermediate, "alice@example.org"), sw.payload())
SIGNED.entry_proto = sw.entry_proto(WORLD.log.entry(SIGNED, sw.EPOCH + timedelta(minutes=1), proof=True))
ORIGINAL = cms.parse(SIGNED.armored())
WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)


def encode(der: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(der)) + der + payload


def signed_part(message: cms.SignedMessage) -> tuple:
    return message.signed_attributes, message.signature, message.signer_certificate()


def TestOneInput(data: bytes) -> None:
    if len(data) < 4:
        return
    n = struct.unpack(">I", data[:4])[0] % (len(data) + 1)
    der, payload = data[4 : 4 + n], data[4 + n :]
    verdict = SCHEME.verify(sw.armor(der), payload, WHEN)
    assert isinstance(verdict.reason, str) and verdict.reason and "\n" not in verdict.reason
    if verdict.status is not Status.TRUSTED:
        return
    assert payload == SIGNED.payload, f"trusted over a payload that was not signed: {payload!r}"
    assert signed_part(cms.parse(sw.armor(der))) == signed_part(ORIGINAL), "trusted with a changed signed part"


SEEDS = [encode(SIGNED.der(), SIGNED.payload), encode(real_signature(), sw.payload()),
         encode(SIGNED.der(), sw.payload("other"))]

if __name__ == "__main__":
    fuzz(TestOneInput, SEEDS)
    sys.exit(0)
