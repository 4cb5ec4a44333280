"""Hashes as Nix expressions write them, normalised to SRI.

nixpkgs spells the same digest four ways (SRI ``sha256-<base64>``, the
``sha256:``-prefixed forms, bare nix-base32 in ``sha256 = "..."`` and bare
hex); comparing an expression's hash with an artifact, or an old version's
with a new one, only works on one spelling. Nix's base32 is not RFC 4648:
its own alphabet (no e, o, t, u) and the bytes read from the last digit
backwards, so it is implemented here rather than taken from ``base64``.
"""

from __future__ import annotations

import base64
import binascii

NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_NIX32_INDEX = {c: i for i, c in enumerate(NIX32_ALPHABET)}

DIGEST_SIZES = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}


class HashError(ValueError):
    """A hash string that is not any encoding Nix accepts for its algorithm."""


def nix32_length(size: int) -> int:
    return (size * 8 - 1) // 5 + 1


def nix32_encode(digest: bytes) -> str:
    out = []
    for n in range(nix32_length(len(digest)) - 1, -1, -1):
        bit = n * 5
        i, j = divmod(bit, 8)
        c = digest[i] >> j
        if i + 1 < len(digest):
            c |= digest[i + 1] << (8 - j)
        out.append(NIX32_ALPHABET[c & 0x1F])
    return "".join(out)


def nix32_decode(text: str, size: int) -> bytes:
    if len(text) != nix32_length(size):
        raise HashError(f"nix base32 of length {len(text)}, expected {nix32_length(size)}")
    out = bytearray(size)
    for n, char in enumerate(reversed(text)):
        digit = _NIX32_INDEX.get(char)
        if digit is None:
            raise HashError(f"character {char!r} is not in the nix base32 alphabet")
        bit = n * 5
        i, j = divmod(bit, 8)
        out[i] |= (digit << j) & 0xFF
        carry = digit >> (8 - j)
        if i + 1 < size:
            out[i + 1] |= carry
        elif carry:
            # Nix rejects the same: the spare top bits must be zero.
            raise HashError("nix base32 value overflows the digest size")
    return bytes(out)


def sri(algo: str, digest: bytes) -> str:
    return f"{algo}-{base64.b64encode(digest).decode('ascii')}"


def _decode_bare(text: str, algo: str) -> bytes:
    size = DIGEST_SIZES[algo]
    if len(text) == size * 2:
        try:
            return bytes.fromhex(text)
        except ValueError as exc:
            raise HashError(f"invalid base16 {algo} hash") from exc
    if len(text) == nix32_length(size):
        return nix32_decode(text, size)
    if len(text) == 4 * ((size + 2) // 3):
        return _b64(text, size, algo)
    raise HashError(f"a {algo} hash of {len(text)} characters is neither base16, nix base32 nor base64")


def _b64(text: str, size: int, algo: str) -> bytes:
    try:
        digest = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HashError(f"invalid base64 {algo} hash") from exc
    if len(digest) != size:
        raise HashError(f"base64 {algo} hash of {len(digest)} bytes, expected {size}")
    return digest


def _algo_from_length(text: str) -> str | None:
    """The algorithm a bare hash must be, where its length says so alone.

    md5 in hex and sha1 in nix base32 are both 32 characters long, so that
    length decides nothing.
    """
    candidates = set()
    for algo, size in DIGEST_SIZES.items():
        if len(text) in (size * 2, nix32_length(size), 4 * ((size + 2) // 3)):
            candidates.add(algo)
    return candidates.pop() if len(candidates) == 1 else None


def to_sri(value: str, algo: str | None = None) -> str:
    """``value`` as SRI; ``algo`` is what the attribute name (``sha256 =``) or
    ``outputHashAlgo`` says, used for unprefixed hashes.

    Raises :class:`HashError` when the text is no valid hash.
    """
    if not isinstance(value, str):
        raise HashError("a hash must be a string")
    text = value.strip()
    if algo is not None and algo not in DIGEST_SIZES:
        raise HashError(f"unknown hash algorithm {algo!r}")
    for name, size in DIGEST_SIZES.items():
        if text.startswith(name + "-"):
            # SRI may carry options after '?'; the digest is what matters.
            body = text[len(name) + 1 :].split("?", 1)[0]
            return sri(name, _b64(body, size, name))
        if text.startswith(name + ":"):
            return sri(name, _decode_bare(text[len(name) + 1 :], name))
    if algo is None:
        algo = _algo_from_length(text)
        if algo is None:
            raise HashError(f"cannot tell the algorithm of the hash {text[:20]!r}")
    return sri(algo, _decode_bare(text, algo))


def try_sri(value, algo: str | None = None) -> str | None:
    try:
        return to_sri(value, algo)
    except HashError:
        return None
