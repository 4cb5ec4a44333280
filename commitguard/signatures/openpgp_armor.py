"""An armored OpenPGP signature of the usual shape, decoded without Sequoia's armor reader.

Every OpenPGP commit signature must be exactly one signature packet, so it is
first read as a packet pile: Sequoia's armor reader and pile cost 10 us a
signature, more than the rest of the parse. The armor gpg and git write
(RFC 9580, 6.2: header line, armor headers, blank line, base64 lines, an
optional checksum line, footer) is decoded here by ``binascii`` and its one
packet framed by hand (4.2: old and new packet headers, no partial lengths).
Anything else gives None, and Sequoia reads the armor as before; what this
returns is handed to Sequoia's packet parser all the same. Like Sequoia's
reader, the checksum line is not checked (RFC 9580 no longer requires it);
the tests hold this reader to Sequoia's on every variant they make.
"""

from __future__ import annotations

import binascii
import re

_PLAIN = re.compile(
    rb"-----BEGIN PGP SIGNATURE-----\n"
    rb"(?:[A-Za-z][A-Za-z0-9-]*: [^\n]*\n)*"  # armor headers (Version, Comment, ...)
    rb"\n"
    rb"((?:[A-Za-z0-9+/]+={0,2}\n)+)"  # base64, padding only at the end (checked by strict decoding)
    rb"(?:=[A-Za-z0-9+/]{4}\n)?"  # the checksum
    rb"-----END PGP SIGNATURE-----\n?"
)
_SIGNATURE_TAG = 2


def signature_packet(armored: bytes) -> bytes | None:
    """The binary packet of an armored signature of the usual shape holding exactly one
    signature packet; None for any other armor or content (Sequoia's reader decides those)."""
    shape = _PLAIN.fullmatch(armored) if armored.count(b"-----") == 4 else None  # no armor line but the two
    if shape is None:
        return None
    try:
        data = binascii.a2b_base64(shape.group(1).replace(b"\n", b""), strict_mode=True)
    except binascii.Error:
        return None
    return data if _one_signature_packet(data) else None


def _one_signature_packet(data: bytes) -> bool:
    """Whether ``data`` is one signature packet whose header says it ends where ``data`` ends."""
    if len(data) < 2 or not data[0] & 0x80:
        return False
    ctb = data[0]
    if ctb & 0x40:  # new format: the tag in six bits, then a one-, two- or five-octet length
        if ctb & 0x3F != _SIGNATURE_TAG:
            return False
        first = data[1]
        if first < 192:
            head, body = 2, first
        elif first < 224:
            if len(data) < 3:
                return False
            head, body = 3, ((first - 192) << 8) + data[2] + 192
        elif first == 255:
            if len(data) < 6:
                return False
            head, body = 6, int.from_bytes(data[2:6], "big")
        else:
            return False  # a partial body length: never a signature's
    else:  # old format: the tag in four bits, the length's size in two
        if (ctb >> 2) & 0x0F != _SIGNATURE_TAG or ctb & 3 == 3:
            return False  # another packet, or an indeterminate length
        size = 1 << (ctb & 3)
        if len(data) < 1 + size:
            return False
        head, body = 1 + size, int.from_bytes(data[1 : 1 + size], "big")
    return head + body == len(data)
