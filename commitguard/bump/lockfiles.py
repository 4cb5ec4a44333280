"""Dependency lockfiles beside an expression: did a bump only move their versions and hashes?

Package sets that build from lockfiles keep them next to the expression
(``package-lock.json`` for ``npmDepsHash``, ``bun.nix`` for bun2nix,
``Cargo.lock``...), and an update bot regenerates them with every bump: the
dependencies' versions, download URLs and integrity hashes move with the
release. A lockfile whose lines differ only there is part of the bump (its
dependency hash changed with it); one that adds or removes a dependency,
changes a host or a flag, is a change a reviewer must see, and is left to the
detailed comparison. Lines are compared as a multiset, so that a regenerated
file whose entries were reordered is no change either.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from commitguard.bump.limits import MAX_BLOB_BYTES
from commitguard.bump.normalise import HASH_LITERAL, REV_LITERAL

LOCKFILES = frozenset({
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lock", "bun.nix",
    "Cargo.lock", "gomod2nix.toml", "deps.json", "deps.nix", "poetry.lock", "uv.lock", "Gemfile.lock",
    "composer.lock", "gemset.nix", "pubspec.lock",
})

# A version as lockfiles write it: 1.2, 1.2.3, 1.2.3-beta.1, 3.1038.0 (not a lone number).
_VERSION = re.compile(r"(?<![0-9A-Za-z.])v?\d+(?:\.\d+)+(?:-[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*)?(?![0-9])")
# npm's integrity and other base64 hashes without an algorithm prefix
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")


def is_lockfile(path: str) -> bool:
    return PurePosixPath(path).name in LOCKFILES


def _shape(data: bytes) -> Counter | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = Counter()
    for line in text.splitlines():
        line = HASH_LITERAL.sub("#", line)
        line = REV_LITERAL.sub("#", line)
        line = _BASE64.sub("#", line)
        line = _VERSION.sub("V", line).strip().rstrip(",")
        if line:
            lines[line] += 1
    return lines


def only_versions_and_hashes(old: bytes | None, new: bytes | None) -> int | None:
    """How many lines changed when ``old`` and ``new`` differ only in versions
    and hashes (reordering aside); None when anything else differs, or a
    side is missing, too large or not text."""
    if old is None or new is None or len(old) > MAX_BLOB_BYTES or len(new) > MAX_BLOB_BYTES:
        return None
    a, b = _shape(old), _shape(new)
    if a is None or b is None or a != b:
        return None
    old_lines = Counter(line.strip().rstrip(",") for line in old.decode("utf-8").splitlines())
    new_lines = Counter(line.strip().rstrip(",") for line in new.decode("utf-8").splitlines())
    return sum((new_lines - old_lines).values())
