"""Fuzz target: the static Nix reader.

Input: the bytes of a package expression. Findings: ``parse`` raising for an
input under ``MAX_NIX_BYTES`` (its one documented failure is a ValueError for
larger files), ``read_maintainers`` raising at all, and, when
``commitguard.nix.fetchers`` is present, ``read_package`` raising (its
docstring: "Never raises on any input").
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import ROOT, fuzz, instrumented, tolerate_known

with instrumented():
    from commitguard.nix.maintainers import read_maintainers
    from commitguard.nix.parser import MAX_NIX_BYTES, parse

    try:
        from commitguard.nix.fetchers import read_package
    except ImportError:  # the fetcher reader is newer than this target
        read_package = None

SANDBOX = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-nix-"))
FILE = SANDBOX / "pkgs" / "by-name" / "he" / "hello" / "package.nix"
FILE.parent.mkdir(parents=True)


def TestOneInput(data: bytes) -> None:
    if len(data) > MAX_NIX_BYTES:
        return
    tree = parse(data)
    assert tree.root_node is not None
    try:
        found = read_maintainers(data)
    except Exception as exc:
        if tolerate_known(exc):
            return
        raise
    assert all(isinstance(h, str) for h in found.handles)
    if read_package is not None:
        read_package(FILE, data, root=SANDBOX)


def _seeds() -> list[bytes]:
    seeds = [b'{ lib, stdenv, fetchurl }: stdenv.mkDerivation { pname = "a"; version = "1"; '
             b'src = fetchurl { url = "mirror://gnu/a/a-1.tar.gz"; hash = "sha256-AAAA"; }; '
             b'meta = with lib; { maintainers = with maintainers; [ alice bob ] ++ [ lib.maintainers.carol ]; }; }']
    corpus = ROOT / "tests" / "data" / "nix-corpus"
    if corpus.is_dir():
        seeds += [p.read_bytes() for p in sorted(corpus.rglob("*.nix"))[:200] if p.stat().st_size < 64 * 1024]
    return seeds


if __name__ == "__main__":
    fuzz(TestOneInput, _seeds())
    sys.exit(0)
