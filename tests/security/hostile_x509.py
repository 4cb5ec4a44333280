"""Hostile x509/CMS (gitsign) signatures for the adversarial corpus of test_hostile_commits.py.

Built from the real gitsign commit of tests/data/vectors (its certificate
chains to Sigstore's public-good root, which commitguard ships), so each case
changes one thing about a signature that is otherwise genuine.
"""

from __future__ import annotations

import base64
from pathlib import Path

VECTOR = Path(__file__).resolve().parent.parent / "data" / "vectors" / "0eb7030d71c4c31c6a05a64939568dd1a38b03dc.commit"
BEGIN, END = "-----BEGIN SIGNED MESSAGE-----", "-----END SIGNED MESSAGE-----"

NAMES = [
    "x509_real_other_payload", "x509_indefinite_length", "x509_trailing_bytes",
    "x509_deep_nesting", "x509_huge", "x509_length_overflow", "x509_not_detached",
]


def real_signature() -> bytes:
    """The DER of the vector's signature."""
    head = VECTOR.read_bytes().partition(b"\n\n")[0].decode()
    lines, on = [], False
    for line in head.split("\n"):
        if line.startswith("gpgsig "):
            on = True
            lines.append(line[7:])
        elif on and line.startswith(" "):
            lines.append(line[1:])
        else:
            on = False
    return base64.b64decode("".join(lines[1:-1]))


def armor(der: bytes) -> str:
    text = base64.b64encode(der).decode()
    return "\n".join([BEGIN, *(text[i : i + 64] for i in range(0, len(text), 64)), END])


def add_cases(w, raw_commit, msg) -> None:
    """Register every case of NAMES with ``w`` (the corpus world)."""
    der = real_signature()
    assert der[:2] == b"\x30\x82"  # a SEQUENCE with a two-byte length
    body = der[4:]
    # (the real commit itself, judged unknown-key, is in tests/signatures/test_vectors.py: its parent is
    # not in this corpus, whose commits are all roots)
    p = raw_commit(msg("x509 real signature, other commit"))
    w.case("x509_real_other_payload", w.signed(p, armor(der)), "bad-signature",
           "a genuine gitsign signature moved onto another commit")
    p = raw_commit(msg("x509 indefinite length"))
    w.case("x509_indefinite_length", w.signed(p, armor(b"\x30\x80" + body + b"\x00\x00")), "malformed",
           "BER indefinite length instead of DER")
    p = raw_commit(msg("x509 trailing bytes"))
    w.case("x509_trailing_bytes", w.signed(p, armor(der + b"\x00")), "malformed", "a byte after the signature")
    p = raw_commit(msg("x509 deep nesting"))
    nested = b""
    for _ in range(4000):
        nested = b"\x30\x84" + len(nested).to_bytes(4, "big") + nested
    w.case("x509_deep_nesting", w.signed(p, armor(nested)), "malformed", "4000 nested sequences")
    p = raw_commit(msg("x509 huge"))
    w.case("x509_huge", w.signed(p, armor(der + b"\x00" * 200_000)), "malformed", "a 270 KB signature")
    p = raw_commit(msg("x509 length overflow"))
    w.case("x509_length_overflow", w.signed(p, armor(b"\x30\x84\xff\xff\xff\xff" + body)), "malformed",
           "an outer length far past the data")
    p = raw_commit(msg("x509 not detached"))
    attached = der.replace(bytes.fromhex("300b06092a864886f70d010701"),
                           bytes.fromhex("301106092a864886f70d010701a00404026869"), 1)
    fixed = _relength(attached)
    w.case("x509_not_detached", w.signed(p, armor(fixed)), "malformed", "the signature carries its own content")


def _relength(der: bytes) -> bytes:
    """Fix the three enclosing lengths after the encapsulated content grew by 6 bytes."""
    out = bytearray(der)
    for offset in (2, 17, 21):  # ContentInfo, its [0], SignedData (two-byte lengths in the vector)
        n = int.from_bytes(out[offset : offset + 2], "big") + 6
        out[offset : offset + 2] = n.to_bytes(2, "big")
    return bytes(out)
