"""The quick armor reader accepts only what Sequoia's armor reader and packet pile accept, and reads the same packet.

Signatures are made by gpg (ed25519 and RSA keys) and then varied the ways
a hostile commit could: no or a wrong checksum, armor headers, a header
spelling the armor line again, two packets, bytes after the packet,
another packet type, old-format packet headers, line ends and padding out of
place. For each, what :func:`parse_signature` returns (through the quick
reader where it applies) is what Sequoia's armor reader alone returns.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pysequoia
import pytest

from commitguard.signatures.openpgp import _parse_through_packet_pile, parse_signature
from commitguard.signatures.openpgp_armor import signature_packet
from tests.fixtures.tools import Gpg

FOOTER = b"-----END PGP SIGNATURE-----"


@pytest.fixture(scope="module")
def signatures(tmp_path_factory) -> list[bytes]:
    root = tmp_path_factory.mktemp("armor")
    gpg = Gpg(root / "gnupg", root)
    made = []
    for uid, algo in (("ed <ed@example.org>", "ed25519"), ("rsa <rsa@example.org>", "rsa2048")):
        fpr = gpg.gen_key(uid, algo, "sign")
        for n in range(3):
            out = gpg.gpg("--local-user", fpr, "--detach-sign", "--armor", input=f"payload {n}\n".encode()).stdout
            made.append(out.rstrip(b"\n"))  # as git stores it: no final newline
    return made


def armor(binary: bytes, *, headers: bytes = b"", crc: bytes | None = b"=AAAA", width: int = 64,
          newline: bytes = b"\n") -> bytes:  # fmt: skip
    text = base64.b64encode(binary)
    lines = [text[i : i + width] for i in range(0, len(text), width)]
    out = [b"-----BEGIN PGP SIGNATURE-----"] + ([headers] if headers else []) + [b""] + lines
    if crc is not None:
        out.append(crc)
    return newline.join(out + [FOOTER])


def binary_of(armored: bytes) -> bytes:
    return bytes(pysequoia.Sig.from_bytes(armored))


def old_format(packet: bytes, size: int) -> bytes:
    """The packet re-framed with an old-format header whose length takes ``size`` octets."""
    body = pysequoia.Sig.from_bytes(packet)
    raw = bytes(body)
    head = 2 if raw[1] < 192 else 3 if raw[1] < 224 else 6
    content = raw[head:]
    kind = {1: 0, 2: 1, 4: 2}[size]
    return bytes([0x80 | (2 << 2) | kind]) + len(content).to_bytes(size, "big") + content


def variants(sig: bytes) -> dict[str, bytes]:
    binary = binary_of(sig)
    lines = sig.split(b"\n")
    crc_line = next(line for line in lines if line.startswith(b"="))
    return {
        "as gpg wrote it": sig,
        "with a final newline": sig + b"\n",
        "no checksum": b"\n".join(line for line in lines if line != crc_line),
        "a wrong checksum": sig.replace(crc_line, b"=AAAA" if crc_line != b"=AAAA" else b"=BBBB"),
        "armor headers": armor(binary, headers=b"Version: x\nComment: made by hand"),
        "a header that spells the armor line": armor(binary, headers=b"Comment: -----BEGIN PGP SIGNATURE-----"),
        "two signature packets": armor(binary + binary),
        "bytes after the packet": armor(binary + b"\x00\x01\x02"),
        "a marker packet first": armor(bytes([0xCA, 3]) + b"PGP" + binary),
        "a marker packet alone": armor(bytes([0xCA, 3]) + b"PGP"),
        "a truncated packet": armor(binary[:-3]),
        "old format, one-octet length": armor(old_format(binary, 1)) if len(binary) < 258 else armor(binary),
        "old format, two-octet length": armor(old_format(binary, 2)),
        "old format, four-octet length": armor(old_format(binary, 4)),
        "old format, indeterminate length": armor(bytes([0x80 | (2 << 2) | 3]) + old_format(binary, 2)[3:]),
        "CR LF line ends": armor(binary, newline=b"\r\n"),
        "long base64 lines": armor(binary, width=400),
        "padding inside the base64": armor(binary[:4], crc=None)[:-len(FOOTER)] + armor(binary[4:], crc=None).split(b"\n\n", 1)[1],
        "a message, not a signature": sig.replace(b"PGP SIGNATURE", b"PGP MESSAGE"),
        "no blank line after the header": sig.replace(b"-----\n\n", b"-----\n", 1),
        "junk after the footer": sig + b"\njunk",
    }


def test_every_variant_reads_as_through_sequoias_armor_reader(signatures):
    quick = 0
    for sig in signatures:
        for name, text in variants(sig).items():
            mine, problem = parse_signature(text)
            theirs, their_problem = oracle(text)
            if theirs is None:
                assert mine is None, name  # refused either way (a repaired signature aside, as before)
                assert signature_packet(text) is None or _sequoia_refuses(signature_packet(text)), name
            else:
                assert mine is not None and bytes(mine) == bytes(theirs), name
            quick += signature_packet(text) is not None
    assert quick >= 8 * len(signatures)  # the usual shapes take the quick way


def oracle(text: bytes):
    """parse_signature as it was before the quick reader: the same checks, then Sequoia's armor reader."""
    if text.count(b"-----BEGIN PGP SIGNATURE-----") != 1:
        return None, "not one block"
    return _parse_through_packet_pile(text)


def _sequoia_refuses(packet: bytes) -> bool:
    try:
        pysequoia.Sig.from_bytes(packet)
    except Exception:
        return True
    return False


@pytest.mark.parametrize("name", ["two signature packets", "bytes after the packet", "a marker packet first",
                                  "a header that spells the armor line", "padding inside the base64",
                                  "old format, indeterminate length", "CR LF line ends", "junk after the footer"])
def test_what_the_quick_reader_leaves_to_sequoia(signatures, name):
    text = variants(signatures[0])[name]
    assert signature_packet(text) is None


def test_the_quick_reader_returns_the_packet_itself(signatures):
    for sig in signatures:
        packet = signature_packet(sig)
        assert packet is not None and packet[0] in (0x88, 0x89)  # gpg writes old-format headers
        assert bytes(pysequoia.Sig.from_bytes(packet)) == binary_of(sig)
