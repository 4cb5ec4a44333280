"""How much of real package expressions the static reader resolves.

Reads every ``package.nix`` (and ``default.nix`` that calls a fetcher) under the
directories given, for each of the four common systems, and prints the resolved
and unresolved fetcher calls with the causes the reader names. Used to measure
issue 18 on a sample of nixpkgs ``pkgs/by-name`` and on numtide/nix-ai-tools:

    python bench/static_reading.py DIR [DIR...] [--system x86_64-linux] [--verbose]

A call counts as resolved for a file when it resolves on the first system; the
per-system figures show where platform attributes decide.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

from commitguard.nix.fetchers import read_package

SYSTEMS = ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")


def _files(dirs: list[str]) -> list[tuple[Path, Path]]:
    out = []
    for d in dirs:
        root = Path(d).resolve()
        for path in sorted(root.rglob("*.nix")):
            if path.name == "package.nix" or (path.name == "default.nix" and b"fetch" in path.read_bytes()):
                out.append((root, path))
    return out


def _cause(note: str) -> str:
    """A note with line numbers and names stripped, to count causes."""
    text = re.sub(r" at line \d+", "", note)
    text = re.sub(r"'[^']*'", "'X'", text)
    return text[:140]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args()
    systems = options.systems.split(",")
    totals = collections.Counter()
    causes = collections.Counter()
    for root, path in _files(options.dirs):
        for system in systems:
            package = read_package(path, path.read_bytes(), system=system, root=root)
            calls = package.sources
            good = sum(1 for c in calls if c.resolved)
            totals[(system, "calls")] += len(calls)
            totals[(system, "resolved")] += good
            if system != systems[0]:
                continue
            totals["files"] += 1
            if not calls:
                totals["files without fetcher"] += 1
            if package.name is None:
                totals["no name"] += 1
                print(f"{path.relative_to(root)}: name not read: {'; '.join(package.notes)[:200]}")
            elif package.version is None:
                totals["no version"] += 1  # hooks and wrappers have none
            bad = [c for c in calls if not c.resolved]
            if bad or options.verbose:
                rel = path.relative_to(root)
                print(f"{rel}: {good}/{len(calls)} resolved")
                for call in bad:
                    print(f"  - {call.fetcher} line {call.line}: unresolved {', '.join(call.unresolved)}")
                for note in package.notes:
                    if bad:
                        print(f"    note: {note}")
            for call in bad:
                mine = [n for n in package.notes if n.startswith(f"{call.fetcher} at line {call.line}:")]
                for note in mine or ["(no note)"]:
                    causes[_cause(note.split(": ", 1)[-1])] += 1
    print()
    print(f"files: {totals['files']} ({totals['files without fetcher']} without a fetcher call, "
          f"{totals['no name']} without a name read, {totals['no version']} more without a version)")
    for system in systems:
        calls, good = totals[(system, "calls")], totals[(system, "resolved")]
        share = 100.0 * good / calls if calls else 100.0
        print(f"{system}: {good}/{calls} fetcher calls resolved ({share:.1f}%)")
    print("causes (first system):")
    for cause, count in causes.most_common():
        print(f"  {count:4d}  {cause}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
