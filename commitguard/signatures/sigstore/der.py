"""A strict, bounded DER reader: just enough ASN.1 for a CMS SignedData.

Why by hand: ``cryptography`` parses certificates but has no public API for a
CMS ``SignerInfo`` (it only lists a PKCS#7 bundle's certificates), and no
ASN.1 library is among our dependencies. DER is a small format; reading it
strictly (definite minimal lengths only, every byte accounted for, a depth
and size cap) is a few dozen lines and leaves nothing to a lenient BER reader
an attacker could steer.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DEPTH = 16  # CMS SignedData nests about 8 deep; anything deeper is hostile
MAX_ITEMS = 4096  # elements read from one signature (certificates are parsed by cryptography, whole)

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


class DerError(ValueError):
    """The bytes are not the strict DER we read."""


@dataclass(frozen=True)
class Tlv:
    """One element: its tag byte, its content, and the whole encoding (tag, length, content)."""

    tag: int
    content: bytes
    encoded: bytes

    @property
    def constructed(self) -> bool:
        return bool(self.tag & 0x20)


class Reader:
    """Reads elements in order from one buffer, counting them against MAX_ITEMS."""

    def __init__(self, data: bytes, budget: list[int] | None = None):
        self.data = data
        self.pos = 0
        self._budget = budget if budget is not None else [MAX_ITEMS]

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def peek_tag(self) -> int | None:
        return None if self.at_end() else self.data[self.pos]

    def read(self, expected: int | None = None) -> Tlv:
        self._budget[0] -= 1
        if self._budget[0] < 0:
            raise DerError(f"more than {MAX_ITEMS} ASN.1 elements")
        data, start = self.data, self.pos
        if start + 2 > len(data):
            raise DerError("truncated element")
        tag = data[start]
        if tag & 0x1F == 0x1F:
            raise DerError("multi-byte tags are not used in CMS")
        if expected is not None and tag != expected:
            raise DerError(f"expected tag 0x{expected:02x}, found 0x{tag:02x}")
        first = data[start + 1]
        pos = start + 2
        if first < 0x80:
            length = first
        elif first == 0x80:
            raise DerError("indefinite length (BER) is not DER")
        else:
            count = first & 0x7F
            if count > 4 or pos + count > len(data):
                raise DerError("length too long")
            length = int.from_bytes(data[pos : pos + count], "big")
            if data[pos] == 0 or length < 0x80:
                raise DerError("length not minimally encoded")
            pos += count
        end = pos + length
        if end > len(data):
            raise DerError("element runs past its container")
        self.pos = end
        return Tlv(tag, data[pos:end], data[start:end])

    def children(self, tlv: Tlv) -> "Reader":
        """A reader over a constructed element's content, sharing this reader's budget."""
        if not tlv.constructed:
            raise DerError(f"tag 0x{tlv.tag:02x} is not constructed")
        return Reader(tlv.content, self._budget)

    def done(self, what: str) -> None:
        if not self.at_end():
            raise DerError(f"trailing data in {what}")


def oid_text(tlv: Tlv) -> str:
    """Dotted form of an OBJECT IDENTIFIER, refusing non-minimal sub-identifiers."""
    if tlv.tag != OID or not tlv.content:
        raise DerError("expected an object identifier")
    parts: list[int] = []
    value = 0
    fresh = True
    for byte in tlv.content:
        if fresh and byte == 0x80:
            raise DerError("object identifier not minimally encoded")
        value = (value << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            parts.append(value)
            value = 0
        elif value > 1 << 64:
            raise DerError("object identifier component too large")
    if not fresh:
        raise DerError("truncated object identifier")
    first = parts[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(p) for p in head + parts[1:])


def integer(tlv: Tlv) -> int:
    if tlv.tag != INTEGER or not tlv.content:
        raise DerError("expected an integer")
    if len(tlv.content) > 1 and (tlv.content[0], tlv.content[1] & 0x80) in ((0, 0), (0xFF, 0x80)):
        raise DerError("integer not minimally encoded")
    if len(tlv.content) > 64:
        raise DerError("integer too large")
    return int.from_bytes(tlv.content, "big", signed=True)


def algorithm(reader: Reader) -> str:
    """An AlgorithmIdentifier: its OID; parameters may be absent or NULL only."""
    seq = reader.children(reader.read(SEQUENCE))
    oid = oid_text(seq.read(OID))
    if not seq.at_end():
        params = seq.read()
        if params.tag != 0x05 or params.content:
            raise DerError(f"unexpected parameters for algorithm {oid}")
    seq.done("an algorithm identifier")
    return oid
