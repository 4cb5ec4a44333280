"""Nix's ``.drv`` files (ATerm), read directly.

A closure of 3,000 derivations read through ``nix show-derivation`` costs a
process and a JSON round trip; the files are small and their grammar is
fixed, so they are parsed here: ``Derive([outputs],[inputDrvs],[inputSrcs],
system,builder,[args],[env])``. The grammar has no arbitrary nesting, so
parsing is iterative and bounded by the file's size (MAX_DRV_BYTES).
"""

from __future__ import annotations

import re

from commitguard.closure.model import StoreDerivation
from commitguard.nix.hashes import HashError, to_sri
from commitguard.nix.versions import parse_drv_name

_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"', re.S)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


class ATermError(ValueError):
    """A file that is not a derivation as Nix writes it."""


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def expect(self, literal: str) -> None:
        if not self.text.startswith(literal, self.pos):
            raise ATermError(f"expected {literal!r} at byte {self.pos}")
        self.pos += len(literal)

    def peek(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def string(self) -> str:
        m = _STRING.match(self.text, self.pos)
        if m is None:
            raise ATermError(f"expected a string at byte {self.pos}")
        self.pos = m.end()
        raw = m.group(1)
        if "\\" not in raw:
            return raw
        return re.sub(r"\\(.)", lambda e: _ESCAPES.get(e.group(1), e.group(1)), raw, flags=re.S)

    def items(self, item):
        """``[item,item,...]``."""
        self.expect("[")
        out = []
        if self.peek("]"):
            self.pos += 1
            return out
        while True:
            out.append(item())
            if self.peek(","):
                self.pos += 1
                continue
            self.expect("]")
            return out

    def tuple_of(self, *parts):
        self.expect("(")
        out = []
        for i, part in enumerate(parts):
            if i:
                self.expect(",")
            out.append(part())
        self.expect(")")
        return out


def parse_drv(text: str, path: str | None = None) -> StoreDerivation:
    """The derivation in ``text`` (a ``.drv`` file's content); ``path`` its store path."""
    r = _Reader(text)
    r.expect("Derive(")
    outputs = r.items(lambda: r.tuple_of(r.string, r.string, r.string, r.string))
    r.expect(",")
    inputs = r.items(lambda: r.tuple_of(r.string, lambda: r.items(r.string)))
    r.expect(",")
    sources = r.items(r.string)
    r.expect(",")
    r.string()  # system
    r.expect(",")
    r.string()  # builder
    r.expect(",")
    r.items(r.string)  # args
    r.expect(",")
    env = dict(r.items(lambda: r.tuple_of(r.string, r.string)))
    r.expect(")")
    if r.text[r.pos:].strip():
        raise ATermError(f"trailing data at byte {r.pos}")
    return derivation_from(path, env, [(o[0], o[1], o[2], o[3]) for o in outputs], [i[0] for i in inputs], sources)


def derivation_from(path: str | None, env: dict, outputs: list[tuple[str, str, str, str]],
                    inputs: list[str], sources: list[str] = ()) -> StoreDerivation:
    """A StoreDerivation from the parts every derivation format has: ``outputs``
    as (name, path, hashAlgo, hash), ``hashAlgo`` ``r:sha256`` for a recursive
    (NAR) fixed output and ``sha256`` for a flat one, ``hash`` in hex."""
    notes: list[str] = []
    name = env.get("name") or ""
    output_hash = mode = None
    for out_name, _out_path, algo, digest in outputs:
        if not algo or not digest:
            continue
        if algo.startswith("text:"):
            continue  # a text-hashed (content-addressed) output: not a fixed output
        mode = "recursive" if algo.startswith("r:") else "flat"
        algo = algo.split(":", 1)[-1]
        try:
            output_hash = to_sri(digest, algo)
        except HashError as exc:
            notes.append(f"output {out_name}: outputHash {digest[:20]!r} is not a {algo} hash: {exc}")
        break
    pname = env.get("pname")
    version = env.get("version")
    if not pname and name:
        pname, parsed = parse_drv_name(name)
        version = version or parsed or None
    return StoreDerivation(
        drv=path, name=name, pname=pname or None, version=version or None, output_hash=output_hash,
        output_hash_mode=mode, outputs=tuple(o[1] for o in outputs if o[1]), inputs=tuple(inputs),
        input_sources=tuple(sources), notes=tuple(notes),
    )
