"""Fuzz target: commit signature parsing and verification (SSH and OpenPGP).

Input: one mode byte, then ``kind | u32 signature length | signature | payload``.
The seeds are real signed commits (ssh-keygen, gpg), so libFuzzer mutates
genuine signatures and payloads. Findings:

* any exception out of ``SshScheme.verify``/``OpenPGPScheme.verify`` (the
  interface promises to judge, never to raise; the approval verifier calls
  them without a safety net);
* ``trusted`` for a payload other than the one signed;
* ``trusted`` for a changed signature that the reference tool (ssh-keygen,
  gpg) rejects.
"""

from __future__ import annotations

import struct
import sys
from datetime import datetime, timezone

from common import armor_content, build_world, fuzz, instrumented, pgp_armor, pgp_signed_part, sequoia_packet

with instrumented():
    from commitguard.keyring.loader import load_keyring
    from commitguard.model.verdicts import Status
    from commitguard.signatures.dispatch import SignatureVerifier
    from commitguard.signatures.openpgp import OpenPGPScheme
    from commitguard.signatures.ssh import SshScheme

WORLD = build_world()
KEYRING = load_keyring(WORLD.keyring_dir)
SCHEMES = {"ssh": SshScheme(KEYRING), "openpgp": OpenPGPScheme(KEYRING)}
DISPATCH = SignatureVerifier(KEYRING)
ORIGINAL = {"ssh": WORLD.ssh, "openpgp": WORLD.pgp}
WHEN = datetime(2024, 6, 1, tzinfo=timezone.utc)
_agreed: set[tuple[str, bytes, bytes]] = set()


def encode(kind: str, signature: bytes, payload: bytes) -> bytes:
    return (b"S" if kind == "ssh" else b"P") + struct.pack(">I", len(signature)) + signature + payload


def decode(data: bytes) -> tuple[str, bytes, bytes] | None:
    if len(data) < 5:
        return None
    kind = "ssh" if data[0] % 2 == 1 else "openpgp"  # b"S" (83) is ssh, b"P" (80) openpgp
    n = struct.unpack(">I", data[1:5])[0] % (len(data) + 1)
    return kind, data[5 : 5 + n], data[5 + n :]


def TestOneInput(data: bytes) -> None:
    decoded = decode(data)
    if decoded is None:
        return
    kind, signature, payload = decoded
    scheme = SCHEMES[kind]
    verdict = scheme.verify(signature, payload, WHEN) if scheme.recognizes(signature) else None
    whole = DISPATCH.verify(signature, payload, WHEN)
    assert "could not be checked" not in whole.reason, f"a scheme raised: {whole.reason}"
    if verdict is None:  # the other scheme's armor (or none): judge what the dispatcher judged
        verdict = whole
        kind = "ssh" if SCHEMES["ssh"].recognizes(signature) else "openpgp"
    assert verdict.status == whole.status, (verdict, whole)
    assert isinstance(verdict.reason, str) and verdict.reason
    if verdict.status is not Status.TRUSTED:
        return
    original = ORIGINAL[kind]
    assert payload == original.payload, f"trusted over a payload that was not signed: {payload!r}"
    content, before = armor_content(signature), armor_content(original.signature)
    if kind == "openpgp":
        content = sequoia_packet(signature)  # Sequoia's lenient armor reading is not the question here
    if content == before:
        return  # the same signature under another armor (whitespace, CRC): nothing new is claimed
    if kind == "openpgp" and pgp_signed_part(content) is not None and pgp_signed_part(content) == pgp_signed_part(before):
        return  # only unsigned bytes changed (unhashed subpackets, MPI length headers)
    key = (kind, signature, payload)
    if key not in _agreed:
        clean = pgp_armor(content) if kind == "openpgp" and content else signature
        assert WORLD.reference_accepts(kind, clean, payload), (
            f"trusted, but the reference tool rejects {signature!r} (content {armor_content(signature)!r}, "
            f"original {original.signature!r})")
        _agreed.add(key)


SEEDS = [encode("ssh", WORLD.ssh.signature, WORLD.ssh.payload), encode("openpgp", WORLD.pgp.signature, WORLD.pgp.payload),
         encode("ssh", WORLD.pgp.signature, WORLD.ssh.payload), encode("openpgp", b"-----BEGIN PGP SIGNATURE-----\n\n"
                                                                         b"-----END PGP SIGNATURE-----\n", b"")]

if __name__ == "__main__":
    fuzz(TestOneInput, SEEDS)
    sys.exit(0)
