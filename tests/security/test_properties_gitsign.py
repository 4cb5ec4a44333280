"""Properties of gitsign (x509/CMS) verification under mutation, the CI-sized twin of fuzz/fuzz_gitsign.py.

A signature of the tests' own Sigstore, with its log entry embedded, is
trusted; every mutation of its DER (bytes flipped, inserted, removed,
truncated) is judged without raising, and is trusted only when the signed
part (signed attributes, signature value, certificate) is unchanged. A
changed payload is never trusted.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commitguard.keyring.loader import load_keyring
from commitguard.model.verdicts import Status
from commitguard.signatures.sigstore import cms
from commitguard.signatures.sigstore.rekor import Transparency
from commitguard.signatures.sigstore.scheme import SigstoreScheme
from tests.security.hostile_x509 import real_signature
from tests.signatures import sigstore_world as sw

WHEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    home = tmp_path_factory.mktemp("gitsign-properties")
    world = sw.make_world()
    world.write_root(home)
    (home / "keyring.toml").write_text(
        'version = 1\n[policy]\nsigstore_trusted_root = "trusted_root.json"\n[[person]]\nid = "alice"\n'
        f'[[person.key]]\nsigstore = {{identity = "alice@example.org", issuer = "{sw.ISSUER}"}}\n')
    scheme = SigstoreScheme(load_keyring(home), transparency=Transparency())
    signed = sw.sign(sw.fulcio_cert(world.intermediate, "alice@example.org"), sw.payload())
    signed.entry_proto = sw.entry_proto(world.log.entry(signed, sw.EPOCH + timedelta(minutes=1), proof=True))
    assert scheme.verify(signed.armored(), signed.payload, WHEN).status is Status.TRUSTED
    return scheme, signed


def _signed_part(der: bytes):
    message = cms.parse(sw.armor(der))
    return message.signed_attributes, message.signature, message.signer_certificate()


mutation = st.tuples(st.sampled_from(["flip", "insert", "delete", "truncate"]), st.integers(0, 1 << 20),
                     st.integers(0, 255))


def _mutate(der: bytes, steps) -> bytes:
    out = bytearray(der)
    for kind, at, value in steps:
        at %= max(len(out), 1)
        if kind == "flip" and out:
            out[at] ^= value or 1
        elif kind == "insert":
            out[at:at] = bytes([value])
        elif kind == "delete" and out:
            del out[at]
        elif kind == "truncate":
            del out[at:]
    return bytes(out)


@SETTINGS
@given(steps=st.lists(mutation, min_size=1, max_size=3), source=st.sampled_from(["own", "real"]))
def test_mutated_signature_is_judged_and_trusted_only_unchanged(setup, steps, source):
    scheme, signed = setup
    original = signed.der() if source == "own" else real_signature()
    der = _mutate(original, steps)
    verdict = scheme.verify(sw.armor(der), signed.payload, WHEN)
    assert verdict.reason and "\n" not in verdict.reason
    if verdict.status is Status.TRUSTED:
        assert _signed_part(der) == _signed_part(original)


@SETTINGS
@given(payload=st.binary(max_size=400))
def test_other_payload_is_never_trusted(setup, payload):
    scheme, signed = setup
    if payload == signed.payload:
        return
    verdict = scheme.verify(signed.armored(), payload, WHEN)
    assert verdict.status is Status.BAD_SIGNATURE, verdict.reason
