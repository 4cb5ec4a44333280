"""``annotate --closure``: every derivation of a closure with its package, its chain and its verdict.

Assembly only: the closure is read (:mod:`.interface`), the revision's hash
and name index asked for candidates (:mod:`.hash_index`), the candidates'
chains computed in one ``annotate`` run (:func:`commitguard.chain.annotate.annotate`,
one pass over history for all of them), and each derivation matched
(:mod:`.join`). A derivation is trusted only when it is matched and its
package's chain is trusted; the closure is ``ok`` only when every
derivation is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pygit2

from commitguard.closure import hash_index
from commitguard.closure.hash_index import HashIndex
from commitguard.closure.interface import read_closure
from commitguard.closure.join import Expression, Join, Match, expression_from
from commitguard.closure.model import Closure, StoreDerivation
from commitguard.git.revisions import resolve_commit
from commitguard.keyring.model import Keyring

MAX_WEAKEST = 20


@dataclass(frozen=True)
class DerivationResult:
    derivation: StoreDerivation
    match: Match
    package: object | None  # commitguard.chain.annotate.PackageChain

    @property
    def trusted(self) -> bool:
        return self.match.kind is not None and self.package is not None and self.package.trusted

    @property
    def reason(self) -> str:
        if self.match.kind is None:
            return self.match.detail
        if self.package is None:
            return "the matched expression could not be read"
        if self.package.trusted:
            return ""
        bad = [link for link in self.package.links if not link.trusted]
        parts = []
        for link in bad[:3]:
            what = f"{link.role} {link.commit[:12]}" if link.commit else link.role
            parts.append(f"{what}: {link.reason or link.status or 'not trusted'}")
        return "; ".join(parts) or "the package's chain is not trusted"

    def to_json(self) -> dict:
        d = self.derivation
        out = {
            "drv": d.drv,
            "name": d.name,
            "pname": d.pname,
            "version": d.version,
            "outputs": list(d.outputs),
            "output_hash": d.output_hash,
            "match": self.match.kind,
            "match_detail": self.match.detail,
            "package": self.match.package if self.match.kind else None,
            "candidates": list(self.match.candidates),
            "chain": [link.to_json() for link in self.package.links] if self.package is not None else [],
            "upstream": self.package.sources.upstream.to_json() if self.package is not None else None,
            "trusted": self.trusted,
            "reason": self.reason,
            "notes": list(d.notes) + (list(self.package.notes) if self.package is not None else []),
        }
        if d.ref is not None:
            out["ref"] = d.ref
        return out


@dataclass(frozen=True)
class ClosureReport:
    rev: str
    trust_root: str | None
    closure: Closure
    results: tuple[DerivationResult, ...]  # untrusted first (unmatched, then matched), then trusted
    warnings: tuple[str, ...] = ()
    index: dict | None = None
    checkpoint: dict | None = None  # as annotate's: in JSON when the keyring lists verifiers
    checkpointing: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.trusted for r in self.results)

    def summary(self) -> dict:
        total = len(self.results)
        trusted = [r for r in self.results if r.trusted]
        by_match = {"hash": 0, "name": 0, "none": 0}
        trusted_by_match = {"hash": 0, "name": 0}
        for r in self.results:
            by_match[r.match.kind or "none"] += 1
            if r.trusted:
                trusted_by_match[r.match.kind] += 1
        by_vouch: dict[str, int] = {}
        for r in trusted:
            kinds = {link.vouch.kind for link in r.package.links if getattr(link, "vouch", None) is not None}
            for kind in sorted(kinds):
                by_vouch[kind] = by_vouch.get(kind, 0) + 1
        return {
            "total": total,
            "trusted": len(trusted),
            "untrusted": total - len(trusted),
            "unmatched": by_match["none"],
            "by_match": by_match,
            "trusted_by_match": trusted_by_match,
            "trusted_by_vouch": by_vouch,
            "packages": len({r.match.package for r in self.results if r.match.kind}),
            "untrusted_derivations": [r.derivation.key for r in self.results if not r.trusted],
            "weakest_links": self.weakest_links(),
        }

    def weakest_links(self) -> list[dict]:
        """The untrusted links that leave the most derivations untrusted, most first.

        An unmatched derivation is its own weakest link (nothing vouches for
        it); a link is named once however many packages' chains it is in.
        """
        links: dict[tuple, dict] = {}
        for r in self.results:
            if r.trusted:
                continue
            if r.match.kind is None:
                entry = links.setdefault(("unmatched",), {"link": "unmatched", "reason": "no package expression "
                                                          "matched: nothing vouches for these", "derivations": 0,
                                                          "packages": []})
                entry["derivations"] += 1
                continue
            if r.package is None:
                continue
            for link in r.package.links:
                if link.trusted:
                    continue
                # a commit is one link whichever packages it touched; an upstream release is each package's own
                key = (link.role, link.commit, link.signer, link.status,
                       r.match.package if link.role == "upstream" else None)
                entry = links.setdefault(key, {
                    "link": link.role, "commit": link.commit, "signer": link.signer, "status": link.status or link.kind,
                    "reason": link.reason, "derivations": 0, "packages": []})
                entry["derivations"] += 1
                if r.match.package not in entry["packages"]:
                    entry["packages"].append(r.match.package)
        ranked = sorted(links.values(), key=lambda e: (-e["derivations"], str(e.get("commit") or "")))
        return ranked[:MAX_WEAKEST]

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "rev": self.rev,
            "trust_root": self.trust_root,
            "target": {"kind": self.closure.kind, "source": self.closure.source, "producer": self.closure.producer},
            "derivations": [r.to_json() for r in self.results],
            "summary": self.summary(),
            "index": self.index,
            "warnings": list(self.warnings),
            **({"checkpoint": self.checkpoint} if self.checkpointing else {}),
        }


@dataclass(frozen=True)
class ClosureOptions:
    target: str
    store: str | None = None
    annotate: object = None  # commitguard.chain.annotate.AnnotateOptions (rev, trust root, mirror, cache...)


def annotate_closure(repo: pygit2.Repository, keyring: Keyring | None, options: ClosureOptions) -> ClosureReport:
    """Every derivation of ``options.target``'s closure, matched and judged at ``options.annotate.rev``."""
    from commitguard.chain.annotate import AnnotateOptions, annotate

    base = options.annotate or AnnotateOptions()
    closure = read_closure(options.target, options.store)
    tip = str(resolve_commit(repo, base.rev))
    tree_id = str(repo[tip].tree_id)
    index = HashIndex(Path(base.cache_dir) if base.cache_dir else None)
    try:
        index.ensure(repo, tree_id)
        known = list(closure.derivations) + list(closure.context.values())
        sris = {d.output_hash for d in known if d.output_hash} | {s for d in known for s in d.source_hashes}
        by_hash = index.files_with_hash(tree_id, sris)
        by_pname = index.files_with_pname(tree_id, {d.pname for d in closure.derivations
                                                    if d.pname and not d.fixed_output})
        stats = {"tree": tree_id, "built": index.built, "blobs_read": index.newly_read}
        if index.truncated:
            closure = dataclasses.replace(closure, warnings=closure.warnings + (
                f"the revision has more than {hash_index.MAX_FILES} .nix/.json files: the rest were not indexed, and what only "
                f"they hold is unmatched",))
    finally:
        index.close()
    from commitguard.closure.join import MAX_NAME_CANDIDATES

    candidates = sorted({p for paths in by_hash.values() for p in paths}
                        | {p for paths in by_pname.values() if len(paths) <= MAX_NAME_CANDIDATES for p in paths})
    chains: dict[str, object] = {}
    expressions: dict[str, Expression] = {}
    warnings = list(closure.warnings)
    trust_root = None
    if candidates:
        annotated = annotate(repo, keyring, dataclasses.replace(base, rev=tip, paths=tuple(candidates)))
        trust_root = annotated.trust_root
        warnings.extend(annotated.warnings)
        for chain in annotated.packages:
            package = chain.sources.package
            chains[package.path] = chain
            expressions[package.path] = expression_from(package)
    else:
        from commitguard.chain.judge import resolve_trust_root

        trust_root = resolve_trust_root(repo, keyring, base.trust_root)
    matches = Join(list(closure.derivations), closure.context, by_hash, by_pname, expressions, tip).run()
    results = [DerivationResult(d, matches[d.key], chains.get(matches[d.key].package) if matches[d.key].kind else None)
               for d in closure.derivations]
    order = {id(r): i for i, r in enumerate(results)}
    results.sort(key=lambda r: (r.trusted, r.match.kind is not None, order[id(r)]))
    return ClosureReport(tip, trust_root, closure, tuple(results), tuple(dict.fromkeys(warnings)), stats)
