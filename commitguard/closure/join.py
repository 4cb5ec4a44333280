"""Matching derivations to package expressions, and saying how each match was made.

* a fixed-output derivation matches the expression whose fetcher call has
  that very hash (``match: "hash"``): the index says which files write the
  hash, and the static reading of each candidate must show a fetcher call
  with it (SRI, base32 and hex spellings, flat and recursive modes, all
  compared as the same algorithm and digest bytes);
* any other derivation matches through its sources (an input fixed-output
  derivation matched by hash to a fetcher call or a dependency hash such as
  ``vendorHash`` of the expression, or a source hash its SBOM names) and its
  ``pname``-``version`` (``match: "name"``, weaker: the derivation's own
  build instructions are not compared with anything);
* everything else is unmatched (``match: None``) with the reason.

Two expressions that fit equally are never chosen between: a hash pinned by
several expressions is resolved only when a derivation of the closure that
consumes it is matched to one of them; otherwise the derivation is
unmatched, and its candidates are named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from commitguard.closure.model import StoreDerivation

# A pname written in more expressions than this is no way to tell one package from another.
MAX_NAME_CANDIDATES = 50


@dataclass(frozen=True)
class Expression:
    """What the static reading of one candidate expression says that the join needs."""

    path: str
    name: str | None
    version: str | None
    hashes: dict  # SRI -> "fetchurl at line 7" (dependency hashes too: vendorHash, fetchCargoVendor...)
    notes: tuple = ()  # where the static reading stopped (a file too large, an evaluation limit)


@dataclass
class Match:
    kind: str | None  # "hash", "name" or None
    package: str | None
    detail: str
    candidates: tuple[str, ...] = ()
    notes: list = field(default_factory=list)


def expression_from(package) -> Expression:
    """An :class:`Expression` from a :class:`commitguard.model.sources.PackageExpression`."""
    hashes: dict[str, str] = {}
    for call in package.sources:
        if call.hash:
            where = f"{call.fetcher} at line {call.line}" if call.line else call.fetcher
            hashes.setdefault(call.hash, where)
    from commitguard.nix.fetchers import HASH_ATTRS

    for key in HASH_ATTRS:
        value = package.attrs.get(key)
        if isinstance(value, str) and "-" in value:
            hashes.setdefault(value, key)
    return Expression(package.path, package.name, package.version, hashes, tuple(package.notes[:1]))


class Join:
    """The matches of a closure's derivations, given the index's candidates and the expressions read."""

    def __init__(self, derivations: list[StoreDerivation], context: dict[str, StoreDerivation],
                 by_hash: dict[str, list[str]], by_pname: dict[str, list[str]], expressions: dict[str, Expression],
                 rev: str):
        self.derivations = derivations
        self.known = {**context, **{d.key: d for d in derivations}}
        self.by_hash = by_hash
        self.by_pname = by_pname
        self.expressions = expressions
        self.rev = rev[:12]

    def run(self) -> dict[str, Match]:
        matches: dict[str, Match] = {}
        hash_matches: dict[str, Match] = {}
        for key, drv in self.known.items():
            if drv.fixed_output:
                hash_matches[key] = self._by_hash(drv)
        for drv in self.derivations:
            if drv.fixed_output:
                matches[drv.key] = hash_matches[drv.key]
        for drv in self.derivations:
            if not drv.fixed_output:
                matches[drv.key] = self._by_name(drv, hash_matches)
        self._resolve_shared(matches, hash_matches)
        return matches

    # ------------------------------------------------------------------ fixed outputs

    def _by_hash(self, drv: StoreDerivation) -> Match:
        sri = drv.output_hash
        files = self.by_hash.get(sri, [])
        confirmed = [p for p in files if p in self.expressions and sri in self.expressions[p].hashes]
        if len(confirmed) == 1:
            path = confirmed[0]
            return Match("hash", path, f"outputHash {sri} ({drv.output_hash_mode or 'mode not recorded'}) is the "
                                       f"hash of {self.expressions[path].hashes[sri]} in {path}")
        if len(confirmed) > 1:
            return Match(None, None, f"outputHash {sri} is the hash of fetcher calls in {len(confirmed)} expressions "
                                     f"({', '.join(confirmed[:5])}): which one this derivation comes from cannot be "
                                     f"told", tuple(confirmed))
        if files:
            stopped = [f"{p}: {self.expressions[p].notes[0]}" for p in files[:5]
                       if p in self.expressions and self.expressions[p].notes]
            return Match(None, None, f"outputHash {sri} is written in {', '.join(files[:5])}, but no fetcher call "
                                     f"read there has it (a comment, or arguments that cannot be read statically)"
                         + (f"; {'; '.join(stopped)}" if stopped else ""))
        return Match(None, None, f"no file at {self.rev} writes outputHash {sri}")

    def _resolve_shared(self, matches: dict[str, Match], hash_matches: dict[str, Match]) -> None:
        """A hash pinned by several expressions: the one a consumer in the closure is matched to, if exactly one."""
        for drv in self.derivations:
            match = matches[drv.key]
            if not drv.fixed_output or match.kind is not None or len(match.candidates) < 2:
                continue
            used_by = {matches[c.key].package for c in self.derivations
                       if drv.key in c.inputs and c.key in matches and matches[c.key].kind is not None}
            chosen = used_by & set(match.candidates)
            if len(chosen) == 1:
                path = chosen.pop()
                sri = drv.output_hash
                matches[drv.key] = Match("hash", path, f"outputHash {sri} is the hash of "
                                                       f"{self.expressions[path].hashes[sri]} in {path} (also pinned "
                                                       f"by {len(match.candidates) - 1} other expression(s); the "
                                                       f"derivation that uses it comes from {path})",
                                         match.candidates)

    # ------------------------------------------------------------------ other derivations

    def _by_name(self, drv: StoreDerivation, hash_matches: dict[str, Match]) -> Match:
        through_source: dict[str, str] = {}
        for input_key in drv.inputs:
            found = hash_matches.get(input_key)
            if found is None or found.kind != "hash":
                continue
            source = self.known[input_key].output_hash
            if source in self.expressions[found.package].hashes:
                through_source.setdefault(found.package, f"its input {self.known[input_key].name} ({source})")
        for sri in drv.source_hashes:
            for path in self.by_hash.get(sri, []):
                expression = self.expressions.get(path)
                if expression is not None and sri in expression.hashes:
                    through_source.setdefault(path, f"its source hash {sri}")
        by_name = []
        if drv.pname and drv.version:
            candidates = self.by_pname.get(drv.pname, [])
            if len(candidates) <= MAX_NAME_CANDIDATES:
                by_name = [p for p in candidates if p in self.expressions
                           and self.expressions[p].name == drv.pname and self.expressions[p].version == drv.version]
        both = [p for p in by_name if p in through_source]
        label = f"{drv.pname}-{drv.version}" if drv.version else (drv.pname or drv.name)
        if len(both) == 1:
            path = both[0]
            return Match("name", path, f"pname-version {label} and {through_source[path]} are {path}'s")
        if len(both) > 1:
            return Match(None, None, f"{label} fits {len(both)} expressions by name and source "
                                     f"({', '.join(both[:5])})", tuple(both))
        if through_source and by_name:
            listed = sorted(set(through_source) | set(by_name))
            return Match(None, None, f"its sources point to {', '.join(sorted(through_source)[:5])} but its name "
                                     f"{label} to {', '.join(by_name[:5])}", tuple(listed))
        if len(by_name) == 1:
            return Match("name", by_name[0], f"pname-version {label} only (no source of it was matched by hash)")
        if len(by_name) > 1:
            return Match(None, None, f"{label} fits {len(by_name)} expressions by name ({', '.join(by_name[:5])})",
                         tuple(by_name))
        if len(through_source) == 1:
            path, how = next(iter(through_source.items()))
            expression = self.expressions[path]
            contradicts = [f"{what} {mine!r} is not the expression's {theirs!r}" for what, mine, theirs in
                           (("pname", drv.pname, expression.name), ("version", drv.version, expression.version))
                           if mine and theirs and mine != theirs]
            if contradicts:
                return Match(None, None, f"{how} is {path}'s, but {'; '.join(contradicts)}", (path,))
            return Match("name", path, f"{how} is {path}'s (its name {label} is not contradicted by the expression)")
        if len(through_source) > 1:
            return Match(None, None, f"its sources come from {len(through_source)} expressions "
                                     f"({', '.join(sorted(through_source)[:5])})", tuple(sorted(through_source)))
        if drv.notes:
            return Match(None, None, drv.notes[0])
        if not drv.version:
            return Match(None, None, f"{drv.name}: no version to match by name, and no source matched by hash")
        others = [f"{p} is {self.expressions[p].name} {self.expressions[p].version or '(version not read)'}"
                  for p in self.by_pname.get(drv.pname or "", [])[:3] if p in self.expressions
                  and self.expressions[p].name == drv.pname]
        return Match(None, None, f"no expression at {self.rev} is {label}, and no source of it was matched by hash"
                     + (f" ({'; '.join(others)})" if others else ""))
