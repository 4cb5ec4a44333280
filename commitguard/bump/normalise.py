"""What a bump changes, replaced by placeholders: versions, hashes, git revisions.

A pure bump differs from its parent only in its version and hash literals.
Replacing them with placeholders lets the syntax-tree comparison
(:mod:`commitguard.bump.syntax`) and the data-file comparison
(:mod:`commitguard.bump.compare`) see nothing where nothing but those moved,
and still name every other change; the raw hashes are handed back so a
hash-only change is still seen.
"""

from __future__ import annotations

import re

_SRI = r"(?:md5|sha1|sha256|sha512)-[A-Za-z0-9+/]{20,}={0,2}"
_PREFIXED = r"(?:md5|sha1|sha256|sha512):[0-9a-zA-Z+/=]{26,}"
_NIX32 = r"(?<![0-9a-z])(?:[0-9abcdfghijklmnpqrsvwxyz]{52}|[0-9abcdfghijklmnpqrsvwxyz]{103})(?![0-9a-z])"
_HEX = r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{128})(?![0-9a-fA-F])"
HASH_LITERAL = re.compile(f"{_SRI}|{_PREFIXED}|{_NIX32}|{_HEX}")
REV_LITERAL = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")


def is_hash_like(value) -> bool:
    return isinstance(value, str) and HASH_LITERAL.fullmatch(value.strip()) is not None


def is_rev_like(value) -> bool:
    return isinstance(value, str) and REV_LITERAL.fullmatch(value.strip()) is not None


class Normaliser:
    """Replaces what a bump changes (the version, hashes, git revisions) by placeholders.

    A version is only replaced where it stands as a version (``foo-1.2.3.tar``,
    ``v1.2.3``), not inside a longer number, and only when it is at least three
    characters: replacing ``2`` everywhere would hide ``-DFOO=1`` becoming
    ``-DFOO=2`` in a bump from 1 to 2.
    """

    def __init__(self, version: str | None):
        variants: list[tuple[str, str]] = []
        if isinstance(version, str) and len(version) >= 3:
            variants.append((version, "\0V"))
            if "." in version:
                variants.append((version.replace(".", "_"), "\0V"))
                variants.append((version.replace(".", "-"), "\0V"))
                parts = version.split(".")
                if len(parts) >= 3 and all(parts[:2]):
                    variants.append((".".join(parts[:2]), "\0MM"))
        self._placeholders = {}
        self._version: re.Pattern | None = None
        if variants:
            ordered = sorted(dict(variants).items(), key=lambda kv: -len(kv[0]))
            self._placeholders = dict(ordered)
            alternation = "|".join(re.escape(v) for v, _ in ordered)
            self._version = re.compile(f"(?<![0-9.])(?:{alternation})(?![0-9]|\\.[0-9])")

    def __call__(self, text: str, found: list[str] | None = None) -> str:
        def placeholder(mark: str):
            def replace(match: re.Match) -> str:
                if found is not None:
                    found.append(match.group(0))
                return mark
            return replace

        text = HASH_LITERAL.sub(placeholder("\0H"), text)
        text = REV_LITERAL.sub(placeholder("\0R"), text)
        return self.version_only(text)

    def version_only(self, text: str) -> str:
        """Only the version replaced: where a source is fetched from, apart from the version."""
        if self._version is None:
            return text
        return self._version.sub(lambda m: self._placeholders[m.group(0)], text)

