"""Two sides of a package compared, change by named change: is it only a bump?

Every difference gets a name a reviewer can look up (``src.hash``,
``patches``, ``file:hashes.json:vendorHash``) and a flag saying whether a
version bump explains it. The main source is compared on its evaluated
fetcher call (owner, repository, host: a move is ``source-origin-changed``),
the other fetcher calls pairwise, the rest of the expression on its
normalised syntax tree, and the other files of the package directory by
value (JSON), by syntax (Nix) or by bytes. :func:`compare_sides` then says
what kind of change the whole is (``version-bump``, ``bump-with-changes``,
``source-origin-changed``, ``not-a-bump``) with the findings the two sides
alone make; what upstream says is :mod:`commitguard.bump.signers`' job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pygit2

from commitguard.bump.altering import added_altering_arguments
from commitguard.bump.limits import MAX_ENTRIES, listed
from commitguard.bump.lockfiles import is_lockfile, only_versions_and_hashes
from commitguard.bump.model import Finding, finding
from commitguard.bump.normalise import Normaliser, is_hash_like, is_rev_like
from commitguard.bump.sides import Side, blob
from commitguard.bump.syntax import ExpressionSummary, describe, short
from commitguard.nix.fetchers import HASH_ATTRS
from commitguard.model.sources import FetcherCall, PackageExpression
from commitguard.upstream import compare_versions, mirror as mirror_layout
from commitguard.upstream.matching import fetcher_name, identity


@dataclass
class Changes:
    """Named changes in first-seen order; a name is a bump change only if every sighting says so."""

    order: list[str] = field(default_factory=list)
    extra: set[str] = field(default_factory=set)
    details: dict[str, str] = field(default_factory=dict)
    origin: list[str] = field(default_factory=list)

    def add(self, name: str, bump: bool, detail: str | None = None) -> None:
        if name not in self.order:
            self.order.append(name)
        if not bump:
            self.extra.add(name)
        if detail and name not in self.details:
            self.details[name] = detail

    def names(self) -> list[str]:
        first = [n for n in ("version",) if n in self.order]
        src = [n for n in self.order if n.startswith("src.") or n == "src"]
        rest = [n for n in self.order if n not in first and n not in src]
        return first + src + rest


def main_source(expr: PackageExpression | None, summary: ExpressionSummary | None) -> FetcherCall | None:
    """The call that fetches ``src``: the one evaluation found there, else the one written at the
    ``src`` attribute, else the first call of ``src``'s fetcher that is not a patch."""
    if expr is None or not expr.sources:
        return None
    at = expr.attrs.get("src_call")
    if isinstance(at, int) and 0 <= at < len(expr.sources):
        return expr.sources[at]  # what evaluation found at src, for the system audited
    if summary is not None:
        for call in expr.sources:
            path = summary.fetcher_paths.get(call.line or -1)
            if path in ("src", "let.src"):
                return call
    wanted = expr.attrs.get("src")
    patches = set(p for p in (expr.attrs.get("patches") or []) if isinstance(p, str))
    for call in expr.sources:
        if call.url in patches:
            continue
        if wanted is None or call.fetcher == wanted:
            return call
    return None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    located = mirror_layout.url_location(url)
    return located[0] if located else None


def compare_main(old: FetcherCall, new: FetcherCall, old_norm: Normaliser, new_norm: Normaliser,
                  bump: bool, changes: Changes) -> None:
    old_fetcher, new_fetcher = fetcher_name(old), fetcher_name(new)
    if old_fetcher != new_fetcher:
        changes.origin.append(f"fetcher {old_fetcher} -> {new_fetcher}")
        changes.add("src.fetcher", False, f"{old_fetcher} -> {new_fetcher}")
    for name in ("owner", "repo", "domain"):
        a, b = getattr(old, name), getattr(new, name)
        # forges treat owner and repository names case-insensitively
        if (a or "").lower() != (b or "").lower():
            changes.origin.append(f"{name} {a or '–'} -> {b or '–'}")
            changes.add(f"src.{name}", False, f"{a} -> {b}")
    old_host, new_host = _host(old.url), _host(new.url)
    if old_host != new_host and old_fetcher == new_fetcher and old.domain == new.domain:
        changes.origin.append(f"URL host {old_host or '–'} -> {new_host or '–'}")
        changes.add("src.url", False, f"{old.url} -> {new.url}")
    old_id, new_id = identity(old), identity(new)
    for what, a, b in (("GitHub repository", old_id.github, new_id.github), ("PyPI project", old_id.pypi, new_id.pypi)):
        if a != b and old.owner is None and new.owner is None:
            changes.origin.append(f"{what} {a or '–'} -> {b or '–'}")
            changes.add("src.url", False, f"{old.url} -> {new.url}")
    if old.owner is None and new.owner is None and old.url != new.url and "src.url" not in changes.order:
        same_place = old_norm.version_only(old.url or "") == new_norm.version_only(new.url or "")
        if not same_place or not bump:
            changes.add("src.url", False, f"{old.url} -> {new.url}")
    # rev and tag name one thing (a ref): ``rev = "v${version}"`` becoming ``tag = ...`` is no change
    a, b = _ref_of(old), _ref_of(new)
    if a != b:
        name = "src.rev" if is_rev_like(a) or is_rev_like(b) else "src.tag"
        if a is not None and b is not None and old_norm.version_only(a) == new_norm.version_only(b):
            if not bump:
                changes.add(name, False, f"{a} -> {b}")
        else:
            changes.add(name, bump and is_rev_like(a) and is_rev_like(b), f"{a} -> {b}")
    if old.hash != new.hash:
        changes.add("src.hash", bump, f"{old.hash} -> {new.hash}")


def unstable_rev_bump(old_version: str | None, new_version: str | None, old: FetcherCall, new: FetcherCall) -> bool:
    """A package that follows a branch (``version = "0-unstable-2026-04-30"``)
    moved to another commit: its rev and hash change, its version may not
    (two commits on one day). That is its version bump: the rev is its version."""
    if not old_version or old_version != new_version or "unstable" not in old_version:
        return False
    a, b = _ref_of(old), _ref_of(new)
    return a != b and is_rev_like(a) and is_rev_like(b) and old.hash != new.hash


def unread_versions(old: Side, new: Side) -> str | None:
    """Why a side's version could not be read statically, or None when both were."""
    reasons = []
    for side, label in ((old, "old"), (new, "new")):
        if side.version is not None:
            continue
        notes = side.expression.notes if side.expression is not None else ()
        why = next((n for n in notes if n.startswith(("version:", "no package expression", "package attributes:"))),
                   "the expression sets no version")
        reasons.append(f"the {label} version cannot be read statically ({why})")
    return "; ".join(reasons) or None


def _ref_of(call: FetcherCall) -> str | None:
    ref = call.tag or call.rev
    return ref.removeprefix("refs/tags/") if ref else None


def _locator(call: FetcherCall, norm: Normaliser) -> tuple:
    def n(value):
        return norm.version_only(value) if isinstance(value, str) else value
    return (fetcher_name(call), (call.owner or "").lower(), (call.repo or "").lower(), call.domain,
            n(call.url), n(call.rev), n(call.tag))


def compare_secondary(old: Side, new: Side, old_main, new_main, bump: bool, changes: Changes) -> set[str]:
    """Every other fetcher call, paired across the sides. Returns the attribute paths they were judged under,
    so the syntax-tree comparison does not judge their hashes a second time."""
    assert old.expression is not None and new.expression is not None
    old_norm, new_norm = old.summary.normalise, new.summary.normalise

    def others(side: Side, main) -> list[tuple[FetcherCall, str]]:
        paths = side.summary.fetcher_paths if side.summary else {}
        return [(c, paths.get(c.line or -1) or "sources") for c in side.expression.sources if c is not main]

    olds, news = others(old, old_main), others(new, new_main)
    judged = {p for _, p in olds} | {p for _, p in news}
    pairs = []
    for match in (lambda o, n: _locator(o[0], old_norm) == _locator(n[0], new_norm),
                  lambda o, n: o[1] == n[1] and fetcher_name(o[0]) == fetcher_name(n[0])):
        for o in list(olds):
            for n in news:
                if match(o, n):
                    pairs.append((o, n))
                    olds.remove(o)
                    news.remove(n)
                    break
    for (o, opath), (n, npath) in pairs:
        derived = not (o.url or o.owner or n.url or n.owner)
        same_place = _locator(o, old_norm) == _locator(n, new_norm)
        if not same_place:
            changes.add(npath, False, f"{n.fetcher} now fetches {_moved(o, n)}")
        elif o.hash != n.hash:
            name = f"{npath}.hash" if npath != "sources" else f"{n.fetcher} hash"
            unchanged = (o.url, o.rev, o.tag) == (n.url, n.rev, n.tag)
            if derived or not unchanged:
                changes.add(name, bump, f"{o.hash} -> {n.hash}")
            else:
                changes.add(npath, False, f"the hash of {n.url or n.fetcher} changed while what it fetches did not "
                                          f"({o.hash} -> {n.hash})")
    for call, path in olds:
        changes.add(path, False, f"no longer fetches {call.url or call.fetcher}")
    for call, path in news:
        changes.add(path, False, f"now also fetches {call.url or call.fetcher}")
    return judged


def _moved(old: FetcherCall, new: FetcherCall) -> str:
    """What a fetcher fetches now, named by what differs (``rev v0.1.0 -> v0.2.0``), never
    by a URL that is the same on both sides."""
    moved = [f"{name} {getattr(old, name) or '–'} -> {getattr(new, name) or '–'}"
             for name in ("url", "owner", "repo", "domain", "rev", "tag")
             if getattr(old, name) != getattr(new, name)]
    if fetcher_name(old) != fetcher_name(new):
        moved.insert(0, f"fetcher {fetcher_name(old)} -> {fetcher_name(new)}")
    return "; ".join(moved) or "the same source under another version"


def _under(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


_SRC_LOCATORS = frozenset({"url", "urls", "rev", "tag", "owner", "repo", "domain", "githubBase", "group", "hash",
                           "sha256", "sha512", "outputHash", "version"})


def compare_syntax(old: ExpressionSummary, new: ExpressionSummary, bump: bool, changes: Changes,
                    src_paths: set[str], fetcher_paths: set[str]) -> None:
    """The rest of the syntax tree. ``src_paths`` are where the main source is written (its
    locators and hash were compared on the evaluated call); ``fetcher_paths`` where the
    other fetcher calls are (their hashes too)."""
    paths = list(dict.fromkeys([*old.entries, *new.entries]))
    token_changes: list[str] = []
    for path in paths:
        o, n = old.entries.get(path), new.entries.get(path)
        if o is not None and n is not None and o.tokens == n.tokens:
            if o.hashes != n.hashes:
                if _under(path, src_paths):
                    continue
                if path in HASH_ATTRS or _under(path, fetcher_paths - {"sources"}):
                    continue
                pairs = [f"{a} -> {b}" for a, b in zip(o.hashes, n.hashes) if a != b]
                changes.add(path, bump, "; ".join(pairs) or "hashes changed")
            continue
        token_changes.append(path)
    added_or_removed = {p for p in token_changes if p not in old.entries or p not in new.entries}
    for path in token_changes:
        parent = path.rpartition(".")[0]
        if parent and any(_under(parent, (a,)) for a in added_or_removed if a != path):
            continue  # inside an attribute that is itself new or gone: named once, by its parent
        if _under(path, src_paths):
            last = path.rpartition(".")[2]
            if (path not in src_paths and last in _SRC_LOCATORS) or (path in src_paths and "src.fetcher" in changes.order):
                continue  # what src fetches from was compared on the evaluated call
        if path in HASH_ATTRS:
            continue  # compared on the evaluated value
        changes.add(path, False, describe(old.entries.get(path), new.entries.get(path)))


def hash_attr_changes(old: PackageExpression, new: PackageExpression, bump: bool, changes: Changes) -> None:
    for name in HASH_ATTRS:
        a, b = old.attrs.get(name), new.attrs.get(name)
        if name not in old.attrs and name not in new.attrs or a == b:
            continue
        ok = bump and is_hash_like(a) and is_hash_like(b)
        changes.add(name, ok, f"{a} -> {b}")


def _flatten(value, prefix: str, out: dict, depth: int = 0) -> None:
    if len(out) > MAX_ENTRIES:
        return
    if depth > 32:
        out[prefix] = json.dumps(value, sort_keys=True)[:200]
        return
    if isinstance(value, dict):
        if not value:
            out[prefix] = {}
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), out, depth + 1)
    elif isinstance(value, list):
        if not value:
            out[prefix] = []
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", out, depth + 1)
    else:
        out[prefix] = value


def _load_json(data: bytes | None):
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _json_changes(name: str, old_data: bytes | None, new_data: bytes | None, old: Side, new: Side,
                  bump: bool, known: set, changes: Changes) -> bool:
    """Values of a data file beside the expression; False when it is not JSON (then it is compared as a file)."""
    a, b = _load_json(old_data), _load_json(new_data)
    if a is None or b is None:
        return False
    flat_a, flat_b = {}, {}
    _flatten(a, "", flat_a)
    _flatten(b, "", flat_b)
    old_norm, new_norm = old.summary.normalise, new.summary.normalise
    for key in dict.fromkeys([*flat_a, *flat_b]):
        label = f"{name}:{key}" if key else name
        if key not in flat_a:
            changes.add(label, False, f"added {short(json.dumps(flat_b[key]), 60)}")
            continue
        if key not in flat_b:
            changes.add(label, False, f"removed {short(json.dumps(flat_a[key]), 60)}")
            continue
        x, y = flat_a[key], flat_b[key]
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, str) and old_norm(x) == new_norm(y):
            if y in known:
                continue  # the version or a hash already named where the expression uses it
            changes.add(label, bump, f"{x} -> {y}")
        else:
            changes.add(label, False, f"{short(json.dumps(x), 60)} -> {short(json.dumps(y), 60)}")
    return True


def file_changes(repo: pygit2.Repository, old: Side, new: Side, bump: bool, known: set,
                  changes: Changes) -> None:
    """The other files of the package directory: data files by value, Nix files by syntax, the rest by bytes."""
    names = sorted(set(old.files) | set(new.files))
    for rel in names:
        if rel in (old.main, new.main):
            continue  # the expression itself, compared by its syntax and evaluation
        a, b = old.files.get(rel), new.files.get(rel)
        label = f"file:{rel}"
        if a is None:
            changes.add(label, False, "added")
            continue
        if b is None:
            changes.add(label, False, "removed")
            continue
        if a[0] == b[0]:
            if a[1] != b[1]:
                changes.add(label, False, f"mode {a[1]:o} -> {b[1]:o}")
            continue
        old_data, new_data = blob(repo, a[0]), blob(repo, b[0])
        if bump and is_lockfile(rel) and (moved := only_versions_and_hashes(old_data, new_data)) is not None:
            changes.add(label, True, f"dependency versions and hashes only ({moved} lines)")
            continue
        if rel.endswith(".json") and old.summary and new.summary:
            if _json_changes(rel, old_data, new_data, old, new, bump, known, changes):
                continue
        if rel.endswith(".nix") and old_data is not None and new_data is not None:
            x = ExpressionSummary(old_data, old.version)
            y = ExpressionSummary(new_data, new.version)
            if not x.error and not y.error:
                token = [p for p in dict.fromkeys([*x.entries, *y.entries])
                         if (x.entries.get(p).tokens if p in x.entries else None)
                         != (y.entries.get(p).tokens if p in y.entries else None)]
                if not token:
                    changes.add(label, bump, "hashes changed")
                else:
                    changes.add(label, False, "changed: " + ", ".join(token[:8]))
                continue
        changes.add(label, False, "modified")


def listing(changes: Changes, names: list[str] | None = None) -> str:
    """``names`` (default: every change with a detail) with their details, bounded."""
    names = names if names is not None else [n for n in changes.order if changes.details.get(n)]
    return listed([f"{name} ({detail})" if (detail := changes.details.get(name)) else name for name in names])


def compare_sides(repo: pygit2.Repository, old: Side, new: Side, changes: Changes,
                  findings: list[Finding]) -> tuple[str, FetcherCall | None, FetcherCall | None, bool]:
    """Both sides hold an expression: name every change, add the findings they make, and return
    (kind, old main source, new main source, whether upstream is to be asked)."""
    old_call = main_source(old.expression, old.summary)
    new_call = main_source(new.expression, new.summary)
    main_compared = old_call is not None and new_call is not None
    bump = bool(old.version and new.version and old.version != new.version) or (
        main_compared and unstable_rev_bump(old.version, new.version, old_call, new_call))
    if old.version != new.version:
        changes.add("version", bump, f"{old.version} -> {new.version}")
    if main_compared:
        compare_main(old_call, new_call, old.summary.normalise, new.summary.normalise, bump, changes)
        for message in added_altering_arguments(old_call, new_call):
            findings.append(finding("hash-altering-argument-added",
                                    f"{message}: the new hash need not be what upstream signed"))
    elif (old_call is None) != (new_call is None):
        changes.add("src", False, "no statically known source on one side")
    judged = compare_secondary(old, new, old_call, new_call, bump, changes)
    hash_attr_changes(old.expression, new.expression, bump, changes)
    if old.summary is not None and new.summary is not None and not (old.summary.error or new.summary.error):
        src_paths: set[str] = set()
        if main_compared:
            src_paths = {"src", "let.src"} | {
                p for side, call in ((old, old_call), (new, new_call))
                if (p := side.summary.fetcher_paths.get(call.line or -1)) is not None}
        compare_syntax(old.summary, new.summary, bump, changes, src_paths, judged)
    elif old.source != new.source:
        changes.add("expression", False, "cannot be parsed; compared as text")
    known = {new.version, *(v for c in new.expression.sources for v in (c.hash, c.rev, c.tag, c.url)),
             *(v for v in new.expression.attrs.values() if isinstance(v, str))}
    file_changes(repo, old, new, bump, known, changes)

    names = changes.names()
    extra = [n for n in names if n in changes.extra]
    kind = "not-a-bump"
    unread = unread_versions(old, new)
    if changes.origin:
        kind = "source-origin-changed"
        findings.append(finding("source-origin-changed", "src now comes from elsewhere: " + "; ".join(changes.origin)))
    elif bump:
        kind = "bump-with-changes" if extra else "version-bump"
    elif unread:
        kind = "unknown"  # whether the version moved cannot be told: said, not judged not-a-bump
    if bump and compare_versions(new.version, old.version) < 0:
        findings.append(finding("version-downgrade", f"{old.version} -> {new.version} is a downgrade"))
    if (main_compared and not bump and not changes.origin and old_call.hash != new_call.hash
            and (old_call.url, old_call.rev, old_call.tag) == (new_call.url, new_call.rev, new_call.tag)):
        findings.append(finding(
            "source-hash-changed",
            f"the hash of {new_call.tag or new_call.rev or new_call.url} changed ({old_call.hash} -> {new_call.hash}) "
            "while the version and what is fetched did not: upstream replaced the release, or the hash points elsewhere"))
    extras_beyond_origin = [n for n in extra if n not in ("src.fetcher", "src.owner", "src.repo", "src.domain")
                            and not (changes.origin and n == "src.url")]
    if extras_beyond_origin:
        findings.append(finding("extra-changes", "changes beyond the version and hashes: "
                                + listing(changes, extras_beyond_origin)))
    touched_source = bool(bump or changes.origin or any(n.startswith("src") for n in names))
    return kind, old_call, new_call, touched_source
