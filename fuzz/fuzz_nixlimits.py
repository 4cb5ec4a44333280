"""Fuzz target: the Nix evaluator's size limits (issue 14, item 8).

Input: bytes read as a program that builds values level by level, each
level from the one before with an operation chosen from those that grow
values (``[ a a ]``, ``a ++ a``, ``a + a``, ``//``, ``map``, ``toString``,
``replaceStrings``, ``concatLists``, ``versions.pad``, attribute paths...),
up to 40 levels, and hands the last level to the package where the reader
walks it. Random byte mutation would almost never build such chains; this
grammar builds nothing else. Findings:

* ``read_package`` raising, or reporting ``static reading failed``;
* a reading that takes more than 10 s (an unbounded walk: libFuzzer's
  ``-timeout`` catches a hang, this catches a slow one);
* an evaluator that built more than its allowances let it (list elements
  and attributes over ``MAX_BUILT_CELLS`` by more than one list, characters
  over ``MAX_BUILT_CHARS`` by more than one string);
* a limit reached without the reader's exact note, or a note without a limit;
* a fetcher argument left resolved to a value computed past a limit.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import fuzz, instrumented

with instrumented():
    from commitguard.nix import limits
    from commitguard.nix.evaluator import Evaluator
    from commitguard.nix.fetchers import read_package
    from commitguard.nix.parser import parse

SANDBOX = Path(tempfile.mkdtemp(prefix="commitguard-fuzz-nixlimits-"))
atexit.register(shutil.rmtree, SANDBOX, True)
FILE = SANDBOX / "package.nix"
SECONDS = 10.0

BASES = ['[ "x" ]', '"ab"', "{ x = 1; }", "[ 1 2 ]", '{ a = "u"; b = [ 1 ]; }', "1", '""', "[ ]"]
STEPS = [
    "[ a{p} a{p} ]",
    "a{p} ++ a{p}",
    "a{p} + a{p}",
    'a{p} + "y"',
    "a{p} // {{ k{i} = a{p}; }}",
    "{{ l = a{p}; r = a{p}; }}",
    "map (x: a{p}) [ 1 2 ]",
    "map (x: x) a{p}",
    "builtins.concatLists [ a{p} a{p} ]",
    "builtins.attrValues {{ l = a{p}; r = a{p}; }}",
    "toString a{p}",
    'builtins.replaceStrings [ "a" "x" ] [ (toString a{p}) "xx" ] (toString a{p})',
    'builtins.concatStringsSep "," (map toString a{p})',
    "builtins.genAttrs [ \"p\" \"q\" ] (n: a{p})",
    "if a{p} == a{p} then [ a{p} ] else a{p}",
    "builtins.listToAttrs (map (n: {{ name = toString n; value = a{p}; }}) [ 1 2 3 ])",
    "builtins.attrNames a{p}",
    "builtins.length a{p}",
    "builtins.tail (a{p} ++ a{p})",
    "builtins.splitString \"a\" (toString a{p})",
    "lib.versions.pad {n} \"1\"",
    "builtins.substring 0 {n} (toString a{p})",
    "{{ {path} = a{p}; }}",
    "let f = n: if n == 0 then a{p} else [ (f (n - 1)) (f (n - 1)) ]; in f {small}",
]
USES = [
    "passthru.big = a{k};",
    "configureFlags = [ (toString a{k}) ];",
    "dontStrip = a{k} == a{k};",
    'src = fetchurl {{ url = "https://example.org/${{toString a{k}}}"; '
    'hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; }};',
    "passthru.all = [ {all} ];",
]


def program(data: bytes) -> str:
    at = [0]

    def byte() -> int:
        if at[0] >= len(data):
            return 0
        at[0] += 1
        return data[at[0] - 1]

    levels = 1 + byte() % 40
    lines = [f"  a0 = {BASES[byte() % len(BASES)]};"]
    for i in range(1, levels + 1):
        step = STEPS[byte() % len(STEPS)]
        n = [3, 1000, 10**6, 10**9][byte() % 4]
        path = ".".join(f"c{j}" for j in range([2, 50, 2000][byte() % 3]))
        lines.append("  a{i} = ".format(i=i) + step.format(i=i, p=i - 1, n=n, path=path, small=byte() % 24) + ";")
    use = USES[byte() % len(USES)].format(k=levels, all=" ".join(f"a{i}" for i in range(levels + 1)))
    src = "" if use.startswith("src") else (
        'src = fetchurl { url = "https://example.org/p-1.0.tar.gz"; '
        'hash = "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="; };')
    return ("{ lib, stdenv, fetchurl }:\nlet\n" + "\n".join(lines) + "\nin\nstdenv.mkDerivation {\n"
            f'  pname = "p";\n  version = "1.0";\n  {src}\n'
            # every level listed in order: the reader forces each from the one before, not 40 deep at once
            f'  passthru.levels = [ {" ".join(f"a{i}" for i in range(levels + 1))} ];\n  {use}\n}}\n')


def TestOneInput(data: bytes) -> None:
    source = program(data).encode()
    FILE.write_bytes(source)
    started = time.monotonic()
    package = read_package(FILE, source, root=SANDBOX)
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS, f"reading took {elapsed:.1f} s:\n{source.decode()}"
    assert not any(n.startswith("static reading failed") for n in package.notes), package.notes
    limit_notes = [n for n in package.notes if n.startswith("unresolved: evaluation limit: ")]
    assert len(limit_notes) <= 1, limit_notes

    # the same file on a bare evaluator: the accounting itself
    ev = Evaluator(source, parse(source), FILE, root=SANDBOX)
    top = ev.evaluate_file()
    attrs = ev.force(top.attrs) if hasattr(top, "attrs") else top
    for key, value in getattr(attrs, "items", {}).items():
        if key != "src":  # a fetcher result is not plain data: to_python would stop there
            ev.to_python(value)
    assert ev.cells <= limits.MAX_BUILT_CELLS + limits.MAX_COLLECTION, ev.cells
    assert ev.chars <= limits.MAX_BUILT_CHARS + limits.MAX_STRING, ev.chars
    assert ev.exhausted == (ev.limit_reason is not None)
    if ev.exhausted:
        assert ev.limit_note() == limits.note(ev.limit_reason)
        assert ev._budget.reason == f"evaluation limit: {ev.limit_reason}"
    for note in limit_notes:
        assert note.endswith("; what evaluation had not reached is unresolved"), note
    for call in package.sources:
        if call.url is not None:
            assert len(call.url) < limits.MAX_STRING + 100, "a url longer than any string the evaluator may build"


def _seeds() -> list[bytes]:
    # each step alone over 40 levels, then a few mixtures
    # (levels, base, then per level: step, size of n, length of path, depth of the recursive step; then the use)
    seeds = [bytes([39, 0] + [s, 1, 0, 20] * 40 + [u]) for s in range(len(STEPS)) for u in (0, 1)]
    seeds += [bytes([39, i] + [(7 * i + j) % len(STEPS), j % 4, j % 3, j % 24] * 40 + [i % 5])
              for i in range(8) for j in (1, 2)]
    return seeds


if __name__ == "__main__":
    fuzz(TestOneInput, _seeds())
    sys.exit(0)
