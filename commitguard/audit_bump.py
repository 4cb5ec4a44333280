"""audit-bump: is a version-bump change only that, and does upstream still vouch for it the same way?

Most changes to a package set are bots moving a version and its hashes. A
reviewer who sees ``foo: 1.2 -> 1.3`` reads the title, not the diff, so what
needs a human is exactly what the title does not say: a patch slipped in with
the bump, a build step that now downloads something, a source that moved to
another owner, a release signed by another key than the last one, a release
tarball carrying files its tag does not (xz-utils 5.6.0's
``build-to-host.m4``).

Each touched package expression is compared at the merge base and at the
head *semantically*: the fetcher arguments and hash attributes as
:func:`commitguard.nix.fetchers.read_package` evaluates them, and the rest of
the syntax tree with version, hash and revision literals normalised away. A
pure bump then shows nothing but its version and hashes, whatever the style
(``finalAttrs``, ``rec``, a ``hashes.json`` beside the expression), and
anything else shows by the name of the attribute it touches.

Both sides are read from git trees, never from the working tree: each side's
package directory is written to a temporary directory that becomes the
evaluator's ``root``, so the ``hashes.json`` an expression imports is the one
of the same commit.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import pygit2

from commitguard.errors import CommitguardError, RepositoryError
from commitguard.bump.altering import added_altering_arguments
from commitguard.history import resolve_commit
from commitguard.keyring.model import Keyring, Policy
from commitguard.nix.evaluator import Attrs, Derivation, Evaluator, is_fetcher_name
from commitguard.nix.fetchers import HASH_ATTRS, read_package
from commitguard.nix.parser import parse, walk
from commitguard.sources.model import FetcherCall, PackageExpression, UpstreamEvidence
from commitguard.upstream import ContinuityStore, compare_versions, evaluate_upstream
from commitguard.upstream.mirror import check_mirror
from commitguard.upstream import archive, mirror as mirror_layout
from commitguard.upstream.matching import fetcher_name, identity, matching_upstreams
from commitguard.upstream.signing import UpstreamVerifier

KINDS = ("version-bump", "bump-with-changes", "source-origin-changed", "not-a-bump")
SEVERITIES = ("high", "medium", "low")
# Every finding code and its severity; --fail-on accepts these names.
CODES = {
    "source-origin-changed": "high",
    "upstream-signer-changed": "high",
    "signature-gone": "high",
    "new-version-unsigned-by-recorded-key": "high",
    "upstream-hash-mismatch": "high",
    "source-hash-changed": "high",
    "version-downgrade": "high",
    "tarball-differs-from-tag": "high",
    "audit-incomplete": "high",
    "hash-altering-argument-added": "high",
    "upstream-hash-unbound": "medium",
    "title-mismatch": "medium",
    "extra-changes": "medium",
}

MAIN_FILES = ("package.nix", "default.nix")
# Inputs come from pull requests: a treewide change or a huge package
# directory is audited up to these bounds, and says where it stopped.
MAX_PACKAGES = 300
MAX_PACKAGE_FILES = 2000
MAX_BLOB_BYTES = 2 << 20
MAX_COMMITS = 1000
MAX_ENTRIES = 20_000
MAX_PATH_DEPTH = 12
MAX_LISTED = 50
MAX_TARBALL_FILE_BYTES = 256 << 20
MAX_CHECKOUT_BYTES = 64 << 20
MAX_DIFF_LINES = 400

# The hidden first line by which the GitHub mode finds its own earlier
# comment and updates it, instead of adding one per push.
COMMENT_MARKER = "<!-- commitguard:audit-bump -->"

BOT_LOGINS = ("r-ryantm",)
BOT_BRANCH_PREFIXES = ("auto-update/", "update/")


# --------------------------------------------------------------------------- report model


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    message: str

    def to_json(self) -> dict:
        return {"severity": self.severity, "code": self.code, "message": self.message}


def finding(code: str, message: str) -> Finding:
    return Finding(CODES[code], code, message)


@dataclass(frozen=True)
class TarballComparison:
    """A release tarball read against the tag it claims to be made from."""

    url: str
    repository: str
    tag: str
    only_in_tarball: tuple[str, ...]
    changed: tuple[str, ...]

    def to_json(self) -> dict:
        return {"url": self.url, "repository": self.repository, "tag": self.tag,
                "only_in_tarball": list(self.only_in_tarball), "changed": list(self.changed)}


@dataclass
class PackageAudit:
    path: str
    name: str | None
    old_version: str | None
    new_version: str | None
    kind: str
    changes: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    upstream_old: UpstreamEvidence | None = None
    upstream_new: UpstreamEvidence | None = None
    same_signer: bool | None = None
    findings: list[Finding] = field(default_factory=list)
    tarball: TarballComparison | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        def evidence(e: UpstreamEvidence | None):
            if e is None:
                return None
            return {**e.to_json(), "version": e.version}

        return {
            "path": self.path,
            "name": self.name,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "kind": self.kind,
            "changes": list(self.changes),
            "details": dict(self.details),
            "upstream": {"old": evidence(self.upstream_old), "new": evidence(self.upstream_new),
                         "same_signer": self.same_signer},
            "findings": [f.to_json() for f in self.findings],
            "tarball": self.tarball.to_json() if self.tarball else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class Bot:
    """Which automation proposed the change, and what gave it away."""

    name: str
    reason: str

    def to_json(self) -> dict:
        return {"name": self.name, "reason": self.reason}


@dataclass(frozen=True)
class FailOn:
    """What makes the audit fail (exit 1): package kinds, finding codes, severities."""

    kinds: frozenset[str] = frozenset()
    codes: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset({"high"})

    def hits(self, package: PackageAudit | None, findings: list[Finding]) -> bool:
        if package is not None and package.kind in self.kinds:
            return True
        return any(f.code in self.codes or f.severity in self.severities for f in findings)

    def names(self) -> list[str]:
        return sorted(self.kinds) + sorted(self.codes) + sorted(self.severities)


def parse_fail_on(text: str | None) -> FailOn:
    """``--fail-on``: comma-separated kinds, finding codes and/or severities; default any high finding."""
    if text is None:
        return FailOn()
    kinds, codes, severities = set(), set(), set()
    for raw in text.split(","):
        token = raw.strip()
        if not token:
            continue
        if token in KINDS:
            kinds.add(token)
        elif token in CODES:
            codes.add(token)
        elif token in SEVERITIES:
            severities.add(token)
        else:
            known = ", ".join(dict.fromkeys([*KINDS, *CODES, *SEVERITIES]))
            raise CommitguardError(f"unknown kind, code or severity {token!r} (known: {known})", field="--fail-on")
    if not (kinds or codes or severities):
        raise CommitguardError("names nothing to fail on", field="--fail-on")
    return FailOn(frozenset(kinds), frozenset(codes), frozenset(severities))


@dataclass
class BumpReport:
    base: str
    head: str
    merge_base: str
    title: str | None
    author: str | None
    branch: str | None
    pull_request: int | None
    bot: Bot | None
    packages: list[PackageAudit]
    findings: list[Finding]
    other_files: list[str]
    fail_on: FailOn
    repository: str | None = None

    @property
    def ok(self) -> bool:
        if self.fail_on.hits(None, self.findings):
            return False
        return not any(self.fail_on.hits(p, p.findings) for p in self.packages)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "repository": self.repository,
            "pull_request": self.pull_request,
            "base": self.base,
            "head": self.head,
            "merge_base": self.merge_base,
            "title": self.title,
            "author": self.author,
            "branch": self.branch,
            "bot": self.bot.to_json() if self.bot else None,
            "fail_on": self.fail_on.names(),
            "packages": [p.to_json() for p in self.packages],
            "findings": [f.to_json() for f in self.findings],
            "other_files": list(self.other_files),
        }


# --------------------------------------------------------------------------- normalising literals

_SRI = r"(?:md5|sha1|sha256|sha512)-[A-Za-z0-9+/]{20,}={0,2}"
_PREFIXED = r"(?:md5|sha1|sha256|sha512):[0-9a-zA-Z+/=]{26,}"
_NIX32 = r"(?<![0-9a-z])(?:[0-9abcdfghijklmnpqrsvwxyz]{52}|[0-9abcdfghijklmnpqrsvwxyz]{103})(?![0-9a-z])"
_HEX = r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{64}|[0-9a-fA-F]{128})(?![0-9a-fA-F])"
HASH_LITERAL = re.compile(f"{_SRI}|{_PREFIXED}|{_NIX32}|{_HEX}")
REV_LITERAL = re.compile(r"(?<![0-9a-fA-F])[0-9a-f]{40}(?![0-9a-fA-F])")
_SPACE = re.compile(r"\s+")


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
        def hashed(match: re.Match) -> str:
            if found is not None:
                found.append(match.group(0))
            return "\0H"

        def rev(match: re.Match) -> str:
            if found is not None:
                found.append(match.group(0))
            return "\0R"

        text = HASH_LITERAL.sub(hashed, text)
        text = REV_LITERAL.sub(rev, text)
        if self._version is not None:
            text = self._version.sub(lambda m: self._placeholders[m.group(0)], text)
        return text

    def version_only(self, text: str) -> str:
        """Only the version replaced: where a source is fetched from, apart from the version."""
        if self._version is None:
            return text
        return self._version.sub(lambda m: self._placeholders[m.group(0)], text)


# --------------------------------------------------------------------------- the syntax tree, by attribute


@dataclass
class _Entry:
    tokens: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    items: list[tuple[tuple[str, ...], str]] | None = None


_STRUCTURED = frozenset({"attrset_expression", "rec_attrset_expression", "let_attrset_expression",
                         "function_expression", "let_expression"})
_FRAGMENTS = frozenset({"string_fragment", "path_fragment", "uri_expression"})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _callee_path(node, source: bytes) -> str | None:
    if node is None:
        return None
    if node.type == "variable_expression":
        return _text(node, source)
    if node.type == "select_expression" and node.child_by_field_name("default") is None:
        base = node.child_by_field_name("expression")
        attrpath = node.child_by_field_name("attrpath")
        if base is None or base.type != "variable_expression" or attrpath is None:
            return None
        parts = [_text(base, source)]
        for part in attrpath.named_children:
            if part.type != "identifier":
                return None
            parts.append(_text(part, source))
        return ".".join(parts)
    return None


def _text(node, source: bytes) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _strip_parens(node):
    while node is not None and node.type == "parenthesized_expression":
        inner = node.child_by_field_name("expression")
        if inner is None:
            break
        node = inner
    return node


class ExpressionSummary:
    """A package expression's syntax tree as ``attribute path -> normalised tokens``.

    The package's own attributes get their plain names (``patches``,
    ``postPatch``, ``src.owner``, ``meta.description``) whether the file is
    ``rec { }``, ``finalAttrs: { }`` or a builder call wrapped in ``let``; the
    function's formals are ``arguments``; ``let`` bindings are ``let.NAME``;
    whatever else frames the package is ``expression``. Comments and
    whitespace are not tokens; version, hash and revision literals are
    placeholders (the raw hashes are kept apart, so a hash-only change is still
    seen, and named).
    """

    def __init__(self, source: bytes, version: str | None):
        self.source = source
        self.normalise = Normaliser(version)
        self.entries: dict[str, _Entry] = {}
        self.fetcher_paths: dict[int, str] = {}
        self.error: str | None = None
        try:
            tree = parse(source)
        except ValueError as exc:
            self.error = str(exc)
            return
        self._build(tree.root_node)

    def _entry(self, path: str) -> _Entry:
        entry = self.entries.get(path)
        if entry is None:
            if len(self.entries) >= MAX_ENTRIES:
                path = "expression"
                entry = self.entries.setdefault(path, _Entry())
            else:
                entry = self.entries[path] = _Entry()
        return entry

    def _build(self, root) -> None:
        # (node, path, is_root_function): an explicit stack, so hostile nesting
        # cannot exhaust Python's own
        stack = [(root, "", True)]
        while stack:
            node, path, at_root = stack.pop()
            node = _strip_parens(node)
            if node is None:
                continue
            kind = node.type
            if path.count(".") >= MAX_PATH_DEPTH:
                self._leaf(node, path)
            elif kind == "source_code":
                stack.extend((child, path, True) for child in reversed(node.named_children) if child.type != "comment")
            elif kind == "function_expression":
                self._formals(node, "arguments" if at_root and not path else _join(path, "(args)"))
                body = node.child_by_field_name("body")
                if body is not None:
                    stack.append((body, path, False))
            elif kind == "let_expression":
                body = node.child_by_field_name("body")
                if body is not None:
                    stack.append((body, path, at_root))
                bindings = [c for c in node.named_children if c.type == "binding_set"]
                for binding_set in reversed(bindings):
                    stack.extend(self._bindings(binding_set, _join(path, "let"), at_root))
            elif kind in ("attrset_expression", "rec_attrset_expression", "let_attrset_expression"):
                marker = {"attrset_expression": "{", "rec_attrset_expression": "rec{",
                          "let_attrset_expression": "let{"}[kind]
                self._entry(path or "expression").tokens.append(marker)
                for binding_set in reversed([c for c in node.named_children if c.type == "binding_set"]):
                    stack.extend(self._bindings(binding_set, path, False))
            elif kind == "apply_expression":
                function = node.child_by_field_name("function")
                argument = _strip_parens(node.child_by_field_name("argument"))
                if argument is not None and argument.type in _STRUCTURED and function is not None:
                    self._callee(function, node, path)
                    stack.append((argument, path, False))
                else:
                    self._leaf(node, path)
            elif kind in ("with_expression", "assert_expression"):
                head = node.child_by_field_name("environment" if kind == "with_expression" else "condition")
                body = node.child_by_field_name("body")
                entry = self._entry(path or "expression")
                entry.tokens.append("with" if kind == "with_expression" else "assert")
                if head is not None:
                    self._tokens(head, entry)
                if body is not None:
                    stack.append((body, path, at_root))
            else:
                self._leaf(node, path)

    def _bindings(self, binding_set, path: str, at_root: bool) -> list:
        todo = []
        for binding in binding_set.named_children:
            if binding.type == "binding":
                attrpath = binding.child_by_field_name("attrpath")
                value = binding.child_by_field_name("expression")
                if attrpath is None or value is None:
                    continue
                name = ".".join(_text(p, self.source) for p in attrpath.named_children) or _text(attrpath, self.source)
                todo.append((value, _join(path, name), False))
            elif binding.type in ("inherit", "inherit_from"):
                source_node = binding.child_by_field_name("expression")
                attrs = binding.child_by_field_name("attrs")
                names = [_text(a, self.source) for a in attrs.named_children] if attrs is not None else []
                for name in names:
                    entry = self._entry(_join(path, name))
                    entry.tokens.append("inherit")
                    if source_node is not None:
                        self._tokens(source_node, entry)
                    entry.texts.append(_text(binding, self.source))
        return list(reversed(todo))

    def _formals(self, node, path: str) -> None:
        entry = self._entry(path)
        formals = node.child_by_field_name("formals")
        universal = node.child_by_field_name("universal")
        if universal is not None:
            entry.tokens.append("@" + _text(universal, self.source))
        if formals is None:
            return
        items = []
        for formal in formals.named_children:
            if formal.type == "ellipses":
                items.append((("...",), "..."))
                continue
            if formal.type != "formal":
                continue
            name = formal.child_by_field_name("name")
            if name is None or not _text(name, self.source):
                continue  # nixfmt's trailing comma, which tree-sitter-nix reads as a missing name
            sub = _Entry()
            sub.tokens.append(_text(name, self.source))
            default = formal.child_by_field_name("default")
            if default is not None:
                sub.tokens.append("?")
                self._tokens(default, sub)
            items.append((tuple(sub.tokens), _text(formal, self.source)))
        items.sort()
        entry.items = (entry.items or []) + items
        for tokens, _ in items:
            entry.tokens.extend(tokens)
            entry.tokens.append(",")

    def _callee(self, function, node, path: str) -> None:
        entry = self._entry(path or "expression")
        entry.tokens.append("call")
        self._tokens(function, entry)
        entry.texts.append(_text(function, self.source))
        callee = _callee_path(function, self.source)
        if callee is not None and is_fetcher_name(callee):
            self.fetcher_paths.setdefault(node.start_point[0] + 1, path)

    def _leaf(self, node, path: str) -> None:
        entry = self._entry(path or "expression")
        self._tokens(node, entry)
        entry.texts.append(_text(node, self.source))
        if node.type == "list_expression":
            items = []
            for element in node.named_children:
                if element.type == "comment":
                    continue
                sub = _Entry()
                self._tokens(element, sub)
                items.append((tuple(sub.tokens), _text(element, self.source)))
            entry.items = (entry.items or []) + items
        for inner in walk(node):
            if inner.type == "apply_expression":
                callee = _callee_path(inner.child_by_field_name("function"), self.source)
                if callee is not None and is_fetcher_name(callee):
                    self.fetcher_paths.setdefault(inner.start_point[0] + 1, path)

    def _tokens(self, node, entry: _Entry) -> None:
        for leaf in walk(node):
            if leaf.child_count or leaf.type == "comment":
                continue
            raw = _text(leaf, self.source)
            if leaf.type in _FRAGMENTS:
                collapsed = _SPACE.sub(" ", raw)
                if leaf.parent is not None and leaf.parent.type == "indented_string_expression":
                    collapsed = collapsed.strip()
                entry.tokens.append(self.normalise(collapsed, entry.hashes))
            else:
                entry.tokens.append(raw)


def _short(text: str, limit: int = 80) -> str:
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _describe(old: _Entry | None, new: _Entry | None) -> str:
    """A few words a reviewer can act on: what was added, removed, or which lines changed."""
    if old is None:
        return "added: " + _short(" ".join(new.texts) if new else "")
    if new is None:
        return "removed: " + _short(" ".join(old.texts))
    if old.items is not None and new.items is not None:
        old_keys = [t for t, _ in old.items]
        new_keys = [t for t, _ in new.items]
        added = [_short(text, 60) for t, text in new.items if t not in old_keys]
        removed = [_short(text, 60) for t, text in old.items if t not in new_keys]
        parts = []
        if added:
            parts.append("added " + ", ".join(added[:8]))
        if removed:
            parts.append("removed " + ", ".join(removed[:8]))
        if parts:
            return "; ".join(parts)
    # ndiff is quadratic: a hostile build script of a million lines must not stall the audit
    old_lines = [line.strip() for line in "\n".join(old.texts).splitlines() if line.strip()][:MAX_DIFF_LINES]
    new_lines = [line.strip() for line in "\n".join(new.texts).splitlines() if line.strip()][:MAX_DIFF_LINES]
    diff = [line for line in difflib.ndiff(old_lines, new_lines) if line[:1] in "+-"]
    if not diff:
        return "changed"
    shown = [f"{line[0]} {_short(line[2:], 70)}" for line in diff[:6]]
    more = f" (+{len(diff) - 6} more lines)" if len(diff) > 6 else ""
    return "; ".join(shown) + more


# --------------------------------------------------------------------------- one side of a package


@dataclass
class _Side:
    """A package directory at one commit."""

    commit: str
    files: dict[str, tuple[pygit2.Oid, int]]
    main: str | None  # the expression's file name inside the directory
    expression: PackageExpression | None = None
    source: bytes | None = None
    summary: ExpressionSummary | None = None
    checkout: Path | None = None  # the temporary copy of the directory the expression was read from
    system: str = "x86_64-linux"
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str | None:
        return self.expression.version if self.expression is not None else None


def _tree_at(repo: pygit2.Repository, tree: pygit2.Tree, directory: str):
    if not directory:
        return tree
    try:
        entry = tree[directory]
    except (KeyError, ValueError):
        return None
    obj = repo.get(entry.id)
    return obj if isinstance(obj, pygit2.Tree) else None


def _has_main(tree) -> bool:
    return any(name in tree for name in MAIN_FILES)


def _safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not any(c in name for c in ("/", "\\", "\0"))


def _directory_files(repo: pygit2.Repository, tree: pygit2.Tree, directory: str,
                     notes: list[str]) -> dict[str, tuple[pygit2.Oid, int]]:
    """The blobs of a package directory, without nested package directories (each is a package of its own)."""
    top = _tree_at(repo, tree, directory)
    if top is None:
        return {}
    out: dict[str, tuple[pygit2.Oid, int]] = {}
    stack = [(top, "")]
    while stack:
        current, prefix = stack.pop()
        for entry in current:
            if not _safe_name(entry.name):
                notes.append(f"{directory}: skipped an entry with an unsafe name {entry.name!r}")
                continue
            rel = prefix + entry.name
            if entry.type_str == "tree":
                sub = repo.get(entry.id)
                if isinstance(sub, pygit2.Tree) and not _has_main(sub):
                    stack.append((sub, rel + "/"))
            elif entry.type_str == "blob":
                if len(out) >= MAX_PACKAGE_FILES:
                    notes.append(f"{directory}: more than {MAX_PACKAGE_FILES} files; the rest are not compared")
                    return out
                out[rel] = (entry.id, entry.filemode)
    return out


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes | None:
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Blob) or obj.size > MAX_BLOB_BYTES:
        return None
    return obj.data


def _checkout(repo: pygit2.Repository, files: dict[str, tuple[pygit2.Oid, int]], dest: Path, first: str,
              notes: list[str]) -> None:
    """Regular files only: a symlink from the change could point the evaluator anywhere.
    The expression's own file is written first, then the others while the byte budget lasts."""
    dest.mkdir(parents=True, exist_ok=True)
    written = 0
    for rel in sorted(files, key=lambda r: r != first):
        oid, mode = files[rel]
        if stat.S_ISLNK(mode) or mode == pygit2.GIT_FILEMODE_COMMIT:
            continue
        data = _blob(repo, oid)
        if data is None:
            continue
        written += len(data)
        if written > MAX_CHECKOUT_BYTES:
            notes.append(f"the package directory holds more than {MAX_CHECKOUT_BYTES} bytes; "
                         "files beyond that are not readable by the expression here")
            return
        target = dest.joinpath(*rel.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)


def _read_side(repo: pygit2.Repository, commit: str, directory: str, main: str | None, scratch: Path,
               system: str) -> _Side:
    notes: list[str] = []
    tree = repo[commit].tree
    files = _directory_files(repo, tree, directory, notes)
    if main is None:
        main = next((m for m in MAIN_FILES if m in files), None)
    side = _Side(commit, files, main if main in files else None, system=system, notes=notes)
    if side.main is None:
        return side
    source = _blob(repo, files[side.main][0])
    if source is None:
        side.notes.append(f"{side.main} is larger than {MAX_BLOB_BYTES} bytes or not a file; not read")
        return side
    root = scratch / commit[:12] / directory
    _checkout(repo, files, root, side.main, side.notes)
    path = root / side.main
    side.source = source
    side.expression = read_package(path, source, system=system, root=root)
    side.summary = ExpressionSummary(source, side.expression.version)
    side.checkout = root
    if side.summary.error:
        side.notes.append(f"{side.main}: {side.summary.error}")
    return side


def _homepage(side: _Side) -> str | None:
    """``meta.homepage``: where a release tarball's tagged repository may be found."""
    if side.checkout is None or side.source is None or side.main is None:
        return None
    try:
        ev = Evaluator(side.source, parse(side.source), side.checkout / side.main, root=side.checkout,
                       system=side.system, max_steps=50_000)
        top = ev.evaluate_file()
        attrs = ev.force(top.attrs) if isinstance(top, Derivation) else top
        if not isinstance(attrs, Attrs) or "meta" not in attrs.items:
            return None
        meta = ev.force(attrs.items["meta"])
        if not isinstance(meta, Attrs) or "homepage" not in meta.items:
            return None
        value = ev.to_python(meta.items["homepage"])
        return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None
    except Exception:  # noqa: BLE001 - a hostile file only loses this hint, never the audit
        return None


# --------------------------------------------------------------------------- comparing two sides


@dataclass
class _Changes:
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


def _main_source(expr: PackageExpression | None, summary: ExpressionSummary | None) -> FetcherCall | None:
    """The call that fetches ``src``: the one written at the ``src`` attribute, else the first call
    of ``src``'s fetcher that is not a patch."""
    if expr is None or not expr.sources:
        return None
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


def _compare_main(old: FetcherCall, new: FetcherCall, old_norm: Normaliser, new_norm: Normaliser,
                  bump: bool, changes: _Changes) -> None:
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


def _ref_of(call: FetcherCall) -> str | None:
    ref = call.tag or call.rev
    return ref.removeprefix("refs/tags/") if ref else None


def _locator(call: FetcherCall, norm: Normaliser) -> tuple:
    def n(value):
        return norm.version_only(value) if isinstance(value, str) else value
    return (fetcher_name(call), (call.owner or "").lower(), (call.repo or "").lower(), call.domain,
            n(call.url), n(call.rev), n(call.tag))


def _compare_secondary(old: _Side, new: _Side, old_main, new_main, bump: bool, changes: _Changes) -> set[str]:
    """Every other fetcher call, paired across the sides. Returns the attribute paths they were judged under,
    so the syntax-tree comparison does not judge their hashes a second time."""
    assert old.expression is not None and new.expression is not None
    old_norm, new_norm = old.summary.normalise, new.summary.normalise

    def others(side: _Side, main) -> list[tuple[FetcherCall, str]]:
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
            changes.add(npath, False, f"{n.fetcher} now fetches {n.url or n.rev or n.tag} (was {o.url or o.rev or o.tag})")
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


def _under(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p + ".") for p in prefixes)


_SRC_LOCATORS = frozenset({"url", "urls", "rev", "tag", "owner", "repo", "domain", "githubBase", "group", "hash",
                           "sha256", "sha512", "outputHash", "version"})


def _compare_syntax(old: ExpressionSummary, new: ExpressionSummary, bump: bool, changes: _Changes,
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
        changes.add(path, False, _describe(old.entries.get(path), new.entries.get(path)))


def _hash_attr_changes(old: PackageExpression, new: PackageExpression, bump: bool, changes: _Changes) -> None:
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


def _json_changes(name: str, old_data: bytes | None, new_data: bytes | None, old: _Side, new: _Side,
                  bump: bool, known: set, changes: _Changes) -> bool:
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
            changes.add(label, False, f"added {_short(json.dumps(flat_b[key]), 60)}")
            continue
        if key not in flat_b:
            changes.add(label, False, f"removed {_short(json.dumps(flat_a[key]), 60)}")
            continue
        x, y = flat_a[key], flat_b[key]
        if x == y:
            continue
        if isinstance(x, str) and isinstance(y, str) and old_norm(x) == new_norm(y):
            if y in known:
                continue  # the version or a hash already named where the expression uses it
            changes.add(label, bump, f"{x} -> {y}")
        else:
            changes.add(label, False, f"{_short(json.dumps(x), 60)} -> {_short(json.dumps(y), 60)}")
    return True


def _file_changes(repo: pygit2.Repository, old: _Side, new: _Side, bump: bool, known: set,
                  changes: _Changes) -> None:
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
        old_data, new_data = _blob(repo, a[0]), _blob(repo, b[0])
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


# --------------------------------------------------------------------------- upstream


_SIGNED = frozenset({"verified", "unbound", "forge-verified", "unknown-key"})


@dataclass(frozen=True)
class _Signer:
    """Who made a signature: the key always, the ``[[upstream]]`` match (or forge) when the keyring knows it."""

    match: str | None
    key: str

    def same(self, other: "_Signer") -> bool:
        # the same key under another match is the same person (a source that moved is reported on its own)
        return self.key == other.key and (self.match == other.match or None in (self.match, other.match))


def _signer(evidence: UpstreamEvidence | None, verifier: UpstreamVerifier) -> _Signer | None:
    """The signer of a signature that was made, known to the keyring or not; None when there is none."""
    if evidence is None or evidence.status not in _SIGNED or not evidence.key:
        return None
    return _Signer(evidence.signer, verifier.continuity_key(evidence.key) or evidence.key)


def _describe_signer(evidence: UpstreamEvidence, signer: _Signer) -> str:
    who = f"{signer.match}'s key {signer.key}" if signer.match else f"key {signer.key}"
    return f"{who} ({evidence.status}, {evidence.evidence or 'no evidence'})"


@dataclass(frozen=True)
class _Record:
    """What is known about the keys an upstream signs with, besides the old version's own signature."""

    keyring: frozenset[str]
    keyring_match: str | None
    previous: tuple[str, frozenset[str]] | None  # (version, keys) from the continuity record

    def describe(self) -> str:
        parts = []
        if self.keyring:
            parts.append(f"the keyring records {len(self.keyring)} key(s) for {self.keyring_match}")
        if self.previous is not None:
            parts.append(f"version {self.previous[0]} was recorded signed by {', '.join(sorted(self.previous[1]))}")
        return "; ".join(parts)


def _record(keyring: Keyring, call: FetcherCall, signer: _Signer | None, continuity: ContinuityStore | None,
            version: str | None) -> _Record | None:
    entries = matching_upstreams(keyring, identity(call))
    keys = set()
    for entry in entries:
        for key in entry.keys:
            if key.openpgp is not None:
                keys.add(key.openpgp.fingerprint)
            elif key.ssh is not None:
                keys.add(key.ssh.fingerprint)
    previous = None
    if continuity is not None and version:
        matches = {e.match for e in entries} | ({signer.match} if signer is not None and signer.match else set())
        for match in sorted(matches):
            found = continuity.previous(match, version)
            if found is not None:
                previous = (found[0], frozenset(continuity.keys(match, found[0])))
                break
    if not keys and previous is None:
        return None
    return _Record(frozenset(keys), entries[0].match if entries else None, previous)


def _upstream(audit: PackageAudit, old_call: FetcherCall | None, new_call: FetcherCall | None, keyring: Keyring,
              mirror: Path | None, online: bool, github_api: str | None, continuity: ContinuityStore | None) -> None:
    """Upstream evidence for both versions, and what changed in who signs.

    The old version's own signature is the first witness; where the mirror no
    longer has it, the keyring's ``[[upstream]]`` keys and the continuity
    record of earlier audits stand in.
    """
    def evaluate(call: FetcherCall | None, version: str | None) -> UpstreamEvidence | None:
        if call is None:
            return None
        return evaluate_upstream(call, keyring, mirror=mirror, online=online, github_api=github_api,
                                 version=version)

    old_e = evaluate(old_call, audit.old_version)
    new_e = evaluate(new_call, audit.new_version)
    audit.upstream_old, audit.upstream_new = old_e, new_e
    if new_e is None or new_call is None:
        return
    verifier = UpstreamVerifier(keyring, list(keyring.upstreams))
    old_s, new_s = _signer(old_e, verifier), _signer(new_e, verifier)
    record = _record(keyring, new_call, new_s, continuity, audit.new_version)
    new_label = f"version {audit.new_version}" if audit.new_version else "the new source"
    old_label = f"version {audit.old_version}" if audit.old_version else "the old source"
    accepted = new_e.status in ("verified", "forge-verified")

    if old_s is not None:
        audit.same_signer = new_s is not None and new_s.same(old_s)
    elif record is not None and record.previous is not None:
        audit.same_signer = new_s is not None and new_s.key in record.previous[1]

    if new_e.status == "hash-mismatch":
        audit.findings.append(finding("upstream-hash-mismatch", f"{new_label}: {new_e.reason}"))
    elif new_e.status == "unbound":
        audit.findings.append(finding("upstream-hash-unbound", f"{new_label}: {new_e.reason}"))
    if old_s is not None and new_s is not None and not new_s.same(old_s):
        audit.findings.append(finding(
            "upstream-signer-changed",
            f"{new_label} is signed by {_describe_signer(new_e, new_s)}; {old_label} was signed by "
            f"{_describe_signer(old_e, old_s)}"))
    elif old_s is not None and new_e.status == "unsigned":
        audit.findings.append(finding(
            "signature-gone",
            f"{old_label} was signed by {_describe_signer(old_e, old_s)}; {new_label} is not signed: {new_e.reason}"))
    elif old_s is not None and new_s is None and new_e.status == "bad-signature":
        audit.findings.append(finding(
            "new-version-unsigned-by-recorded-key",
            f"{new_label} carries no valid signature ({new_e.reason}); {old_label} was signed by "
            f"{_describe_signer(old_e, old_s)}"))
    elif old_s is None and record is not None:
        previous = record.previous
        if previous is not None and new_s is not None and accepted and new_s.key not in previous[1]:
            audit.findings.append(finding(
                "upstream-signer-changed",
                f"{new_label} is signed by {_describe_signer(new_e, new_s)}; {record.describe()}"))
        elif not accepted and new_e.status in ("unsigned", "unknown-key", "bad-signature"):
            audit.findings.append(finding(
                "new-version-unsigned-by-recorded-key",
                f"{new_label} is not signed by a recorded key ({new_e.status}: {new_e.reason}); {record.describe()}"))

    if continuity is not None:
        for evidence, signer, version in ((old_e, old_s, audit.old_version), (new_e, new_s, audit.new_version)):
            if evidence is not None and evidence.status == "verified" and signer and signer.match and version:
                continuity.record(signer.match, version, signer.key)


# --------------------------------------------------------------------------- tarball against tag


_URL_FETCHERS = frozenset({"fetchurl", "fetchzip"})


def _tag_candidates(url: str, name: str | None, version: str | None) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(tags, repositories as (host, path)) a release file may have been made from."""
    tags: list[str] = []
    repos: list[tuple[str, list[str]]] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return tags, repos
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if (parts.hostname or "").lower() == "github.com" and len(segments) >= 2:
        repos.append(("github.com", segments[:2]))
        if len(segments) >= 5 and segments[2:4] == ["releases", "download"]:
            tags.append(segments[4])
    if version:
        tags += [f"v{version}", version]
        if name:
            tags += [f"{name}-{version}", f"release-{version}"]
    return list(dict.fromkeys(tags)), repos


def _tag_tree(repo: pygit2.Repository, tag: str):
    try:
        ref = repo.references.get(f"refs/tags/{tag}")
        if ref is None:
            return None
        obj = repo.get(ref.resolve().target)
        return obj.peel(pygit2.Tree) if obj is not None else None
    except (pygit2.GitError, ValueError, KeyError):
        return None


def _index_tree(repo: pygit2.Repository, tree: pygit2.Tree) -> dict[str, tuple[pygit2.Oid, int]]:
    out: dict[str, tuple[pygit2.Oid, int]] = {}
    stack = [(tree, "")]
    while stack:
        current, prefix = stack.pop()
        for entry in current:
            rel = prefix + entry.name
            if entry.type_str == "tree":
                sub = repo.get(entry.id)
                if isinstance(sub, pygit2.Tree):
                    stack.append((sub, rel + "/"))
            else:
                out[rel] = (entry.id, entry.filemode)
    return out


def compare_tarball_with_tag(mirror: Path, call: FetcherCall, name: str | None, version: str | None,
                             homepage: str | None) -> TarballComparison | str | None:
    """The release file against its tag, both from the mirror; None when the mirror lacks either,
    a string when the comparison could not be made (why)."""
    urls = [u for u in (call.url, *call.urls) if u]
    found = None
    for url in dict.fromkeys(urls):
        path = mirror_layout.find_file(mirror, url)
        if path is not None:
            found = (url, path)
            break
    if found is None:
        return None
    url, tarball = found
    tags, repos = _tag_candidates(url, name, version)
    if homepage:
        located = mirror_layout.url_location(homepage)
        if located is not None and located[1]:
            host, parts = located
            repos.append((host, parts[:2] if host == "github.com" else parts))
    for host, rest in repos:
        candidates = mirror_layout.repository_candidates(mirror, host, rest)
        repo, _ = mirror_layout.open_repository(candidates)
        if repo is None:
            continue
        for tag in tags:
            tree = _tag_tree(repo, tag)
            if tree is None:
                continue
            return _diff_tarball(repo, tree, tarball, url, f"{host}/{'/'.join(rest)}", tag)
    return None


def _diff_tarball(repo: pygit2.Repository, tree: pygit2.Tree, tarball: Path, url: str, where: str,
                  tag: str) -> TarballComparison | str:
    indexed = _index_tree(repo, tree)
    with tempfile.TemporaryDirectory(prefix="commitguard-tarball-") as scratch:
        dest = Path(scratch) / "unpacked"
        dest.mkdir()
        try:
            archive.unpack(tarball, dest)
        except archive.ArchiveError as exc:
            return f"{url} cannot be unpacked to compare with tag {tag}: {exc}"
        top = dest
        entries = os.listdir(dest)
        if len(entries) == 1 and os.path.isdir(dest / entries[0]) and not os.path.islink(dest / entries[0]):
            top = dest / entries[0]
        only, changed = [], []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                full = os.path.join(dirpath, name)
                rel = PurePosixPath(os.path.relpath(full, top)).as_posix()
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    data = os.readlink(full).encode("utf-8", "surrogateescape")
                elif stat.S_ISREG(st.st_mode):
                    if st.st_size > MAX_TARBALL_FILE_BYTES:
                        changed.append(rel)
                        continue
                    with open(full, "rb") as handle:
                        data = handle.read()
                else:
                    continue
                expected = indexed.get(rel)
                if expected is None:
                    only.append(rel)
                elif pygit2.hash(data) != expected[0] or stat.S_ISLNK(st.st_mode) != (expected[1] == pygit2.GIT_FILEMODE_LINK):
                    changed.append(rel)
    return TarballComparison(url, where, tag, tuple(sorted(only)), tuple(sorted(changed)))


def _tarball(audit: PackageAudit, call: FetcherCall | None, side: _Side, mirror: Path | None) -> None:
    if mirror is None or call is None or fetcher_name(call) not in _URL_FETCHERS:
        return
    try:
        result = compare_tarball_with_tag(mirror, call, audit.name, audit.new_version, _homepage(side))
    except (OSError, pygit2.GitError, ValueError) as exc:
        audit.notes.append(f"release tarball not compared with its tag: {type(exc).__name__}: {exc}")
        return
    if result is None:
        return
    if isinstance(result, str):
        audit.notes.append(result)
        return
    audit.tarball = result
    if result.only_in_tarball or result.changed:
        parts = []
        if result.only_in_tarball:
            parts.append("only in the tarball: " + ", ".join(result.only_in_tarball[:MAX_LISTED]))
        if result.changed:
            parts.append("different from the tag: " + ", ".join(result.changed[:MAX_LISTED]))
        count = len(result.only_in_tarball) + len(result.changed)
        more = f" ({count} files in all)" if count > MAX_LISTED else ""
        audit.findings.append(finding(
            "tarball-differs-from-tag",
            f"{result.url} is not what tag {result.tag} of {result.repository} holds: {'; '.join(parts)}{more}"))


# --------------------------------------------------------------------------- titles and bots


_TITLE = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?P<name>[A-Za-z0-9_.+\-]+)\s*:\s*(?P<old>[^\s]+)\s*(?:->|→)\s*(?P<new>[^\s]+)\s*$")


@dataclass(frozen=True)
class Claim:
    """``NAME: OLD -> NEW`` as nixpkgs-update writes it, and where it was said."""

    name: str
    old: str
    new: str
    source: str

    def text(self) -> str:
        return f"{self.name}: {self.old} -> {self.new}"


def parse_claim(text: str | None, source: str) -> Claim | None:
    if not text:
        return None
    match = _TITLE.match(text.splitlines()[0] if text.splitlines() else text)
    if match is None:
        return None
    return Claim(match["name"], match["old"], match["new"], source)


def _names_package(claim: Claim, audit: PackageAudit) -> bool:
    wanted = {claim.name.lower(), claim.name.rpartition(".")[2].lower()}
    have = {n.lower() for n in (audit.name, PurePosixPath(audit.path).parent.name) if n}
    return bool(wanted & have)


def _check_claims(claims: list[Claim], packages: list[PackageAudit], report_findings: list[Finding]) -> None:
    if not claims:
        return
    for audit in packages:
        mine = [c for c in claims if _names_package(c, audit)]
        actual = f"{audit.old_version or '?'} -> {audit.new_version or '?'}"
        if not mine:
            said = "; ".join(sorted({f"{c.source} says {c.text()!r}" for c in claims}))
            audit.findings.append(finding("title-mismatch", f"{said}, but the change also touches "
                                                            f"{audit.name or audit.path} ({actual})"))
            continue
        wrong = _off_path(mine, audit.old_version, audit.new_version)
        if wrong:
            said = "; ".join(f"{c.source} says {c.text()!r}" for c in wrong)
            audit.findings.append(finding("title-mismatch", f"{said}, but the change is "
                                                            f"{audit.name or audit.path}: {actual}"))
    for claim in claims:
        if not any(_names_package(claim, p) for p in packages):
            report_findings.append(finding("title-mismatch", f"{claim.source} says {claim.text()!r}, but the change "
                                                             f"touches no package named {claim.name}"))


def _off_path(claims: list[Claim], old: str | None, new: str | None) -> list[Claim]:
    """The claims that do not lie on a way from the old version to the new one.

    One pull request may bump twice (``1.0 -> 1.1`` then ``1.1 -> 1.2``) under a
    title that says ``1.0 -> 1.2``: every claim is then on a way from 1.0 to
    1.2, and none disagrees. Without any such way, every claim disagrees.
    """
    if old is None or new is None or old == new:
        return list(claims)

    def reachable(start: str) -> set[str]:
        seen, frontier = {start}, [start]
        while frontier:
            current = frontier.pop()
            for claim in claims:
                if claim.old == current and claim.new not in seen:
                    seen.add(claim.new)
                    frontier.append(claim.new)
        return seen

    if new not in reachable(old):
        return list(claims)
    from_old = reachable(old)
    return [c for c in claims if c.old not in from_old or new not in reachable(c.new)]


def detect_bot(author: str | None, branch: str | None, commit_authors: list[tuple[str, str]]) -> Bot | None:
    """Which automation proposed the change: the forge login, the branch, or the commits' authors."""
    if author:
        login = author.strip()
        if login.lower() in BOT_LOGINS:
            return Bot(login, f"pull request opened by {login}")
        if login.lower().endswith("[bot]"):
            return Bot(login, f"pull request opened by {login}")
    if branch:
        short = branch.removeprefix("refs/heads/")
        for prefix in BOT_BRANCH_PREFIXES:
            if short.startswith(prefix):
                return Bot(prefix.rstrip("/"), f"branch {short}")
    for name, email in commit_authors:
        lowered = f"{name} {email}".lower()
        if "ryantm" in lowered:
            return Bot("r-ryantm", f"commits authored by {name} <{email}>")
        if name.lower().endswith("[bot]") or "[bot]@" in email.lower():
            return Bot(name, f"commits authored by {name} <{email}>")
    return None


# --------------------------------------------------------------------------- the audit


def _is_package_dir(repo: pygit2.Repository, trees: list[pygit2.Tree], directory: str) -> bool:
    for tree in trees:
        sub = _tree_at(repo, tree, directory)
        if sub is not None and _has_main(sub):
            return True
    return False


def _package_dirs(repo: pygit2.Repository, trees: list[pygit2.Tree], files: list[str]):
    """Each changed file's package directory (the nearest one holding package.nix or default.nix
    on either side; the repository root is never one), and the files outside any."""
    dirs: dict[str, str | None] = {}
    outside: list[str] = []
    for path in files:
        parts = PurePosixPath(path).parts
        found = None
        for depth in range(len(parts) - 1, 0, -1):
            directory = "/".join(parts[:depth])
            if _is_package_dir(repo, trees, directory):
                found = directory
                break
        if found is not None:
            dirs.setdefault(found, None)
        elif path.endswith(".nix"):
            # an expression file in a directory of several: audited on its own
            dirs.setdefault(path, PurePosixPath(path).name)
        else:
            outside.append(path)
    return dirs, outside


def _only(dirs: dict[str, str | None], expressions: tuple[str, ...]) -> tuple[dict[str, str | None], list[str]]:
    """The package directories (or lone expression files) of ``dirs`` that hold one of ``expressions``."""
    wanted = set(expressions)
    keep: dict[str, str | None] = {}
    for key, main in dirs.items():
        if key in wanted or any(e.startswith(key + "/") for e in wanted):
            keep[key] = main
    untouched = [e for e in expressions if not any(e == k or e.startswith(k + "/") for k in keep)]
    if untouched:
        raise CommitguardError(f"the change does not touch {', '.join(untouched)}", field="PACKAGE")
    return keep, [key for key in dirs if key not in keep]


def _is_package(expression: PackageExpression | None) -> bool:
    return expression is not None and bool(expression.name or expression.version or expression.sources)


def _audit_package(repo: pygit2.Repository, base: str, head: str, key: str, main: str | None, scratch: Path,
                   keyring: Keyring, mirror: Path | None, online: bool, github_api: str | None,
                   continuity: ContinuityStore | None, system: str) -> PackageAudit | None:
    """One package directory (``main`` None) or one expression file of a directory of several
    (``main`` its name); None when such a file holds no package after all."""
    directory = str(PurePosixPath(key).parent) if main is not None else key
    if directory == ".":
        directory = ""
    old = _read_side(repo, base, directory, main, scratch / "old", system)
    new = _read_side(repo, head, directory, main, scratch / "new", system)
    if main is not None:
        # an expression audited on its own: its siblings belong to other expressions
        old.files = {k: v for k, v in old.files.items() if k == main}
        new.files = {k: v for k, v in new.files.items() if k == main}
    if main is not None and not (_is_package(old.expression) or _is_package(new.expression)):
        return None
    shown = new.main or old.main
    path = f"{directory}/{shown}" if shown and directory else (shown or directory)
    name = (new.expression.name if new.expression else None) or (old.expression.name if old.expression else None)
    audit = PackageAudit(path=path, name=name or PurePosixPath(directory).name or None,
                         old_version=old.version, new_version=new.version, kind="not-a-bump")
    audit.notes.extend(dict.fromkeys([*old.notes, *new.notes]))
    for side, label in ((old, "old"), (new, "new")):
        if side.expression is not None:
            audit.notes.extend(f"{label}: {n}" for n in side.expression.notes[:10])

    changes = _Changes()
    if old.expression is None or new.expression is None:
        what = "expression added" if new.expression is not None else (
            "expression removed" if old.expression is not None else "no expression")
        changes.add(what, False, None)
        _file_changes(repo, old, new, False, set(), changes)
        audit.changes = changes.names()
        audit.details = changes.details
        audit.findings.append(finding("extra-changes", f"not a version bump: {what}" +
                                      (f"; {_listing(changes)}" if len(changes.order) > 1 else "")))
        if new.expression is not None:
            _upstream(audit, None, _main_source(new.expression, new.summary), keyring, mirror, online, github_api,
                      continuity)
        return audit

    bump = bool(old.version and new.version and old.version != new.version)
    if old.version != new.version:
        changes.add("version", bump, f"{old.version} -> {new.version}")
    old_call = _main_source(old.expression, old.summary)
    new_call = _main_source(new.expression, new.summary)
    main_compared = old_call is not None and new_call is not None
    if main_compared:
        _compare_main(old_call, new_call, old.summary.normalise, new.summary.normalise, bump, changes)
        for message in added_altering_arguments(old_call, new_call):
            audit.findings.append(finding("hash-altering-argument-added",
                                          f"{message}: the new hash need not be what upstream signed"))
    elif (old_call is None) != (new_call is None):
        changes.add("src", False, "no statically known source on one side")
    judged = _compare_secondary(old, new, old_call, new_call, bump, changes)
    _hash_attr_changes(old.expression, new.expression, bump, changes)
    if old.summary is not None and new.summary is not None and not (old.summary.error or new.summary.error):
        src_paths: set[str] = set()
        if main_compared:
            src_paths = {"src", "let.src"} | {
                p for side, call in ((old, old_call), (new, new_call))
                if (p := side.summary.fetcher_paths.get(call.line or -1)) is not None}
        _compare_syntax(old.summary, new.summary, bump, changes, src_paths, judged)
    elif old.source != new.source:
        changes.add("expression", False, "cannot be parsed; compared as text")
    known = {new.version, *(v for c in new.expression.sources for v in (c.hash, c.rev, c.tag, c.url)),
             *(v for v in new.expression.attrs.values() if isinstance(v, str))}
    _file_changes(repo, old, new, bump, known, changes)

    audit.changes = changes.names()
    audit.details = changes.details
    extra = [n for n in audit.changes if n in changes.extra]
    if changes.origin:
        audit.kind = "source-origin-changed"
        audit.findings.append(finding("source-origin-changed", "src now comes from elsewhere: " + "; ".join(changes.origin)))
    elif bump:
        audit.kind = "bump-with-changes" if extra else "version-bump"
    if bump and compare_versions(new.version, old.version) < 0:
        audit.findings.append(finding("version-downgrade", f"{old.version} -> {new.version} is a downgrade"))
    if (main_compared and not bump and not changes.origin and old_call.hash != new_call.hash
            and (old_call.url, old_call.rev, old_call.tag) == (new_call.url, new_call.rev, new_call.tag)):
        audit.findings.append(finding(
            "source-hash-changed",
            f"the hash of {new_call.tag or new_call.rev or new_call.url} changed ({old_call.hash} -> {new_call.hash}) "
            "while the version and what is fetched did not: upstream replaced the release, or the hash points elsewhere"))
    extras_beyond_origin = [n for n in extra if n not in ("src.fetcher", "src.owner", "src.repo", "src.domain")
                            and not (changes.origin and n == "src.url")]
    if extras_beyond_origin:
        audit.findings.append(finding("extra-changes", "changes beyond the version and hashes: "
                                      + _listing(changes, extras_beyond_origin)))
    touched_source = bump or changes.origin or any(n.startswith("src") for n in audit.changes)
    if touched_source:
        _upstream(audit, old_call, new_call, keyring, mirror, online, github_api, continuity)
        _tarball(audit, new_call, new, mirror)
    return audit


def _listing(changes: _Changes, names: list[str] | None = None) -> str:
    names = names if names is not None else [n for n in changes.order if changes.details.get(n)]
    parts = []
    for name in names[:MAX_LISTED]:
        detail = changes.details.get(name)
        parts.append(f"{name} ({detail})" if detail else name)
    more = f" and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return ", ".join(parts) + more


def _branch_name(repo: pygit2.Repository, rev: str) -> str | None:
    """The branch ``--head`` names, if it names one (a remote-tracking branch without its remote)."""
    name = rev.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    try:
        if name in repo.branches.local:
            return name
        if name in repo.branches.remote:
            return name.split("/", 1)[1] if "/" in name else name
    except (pygit2.GitError, ValueError):
        return None
    return None


def _range_commits(repo: pygit2.Repository, merge_base: str, head: str) -> list[pygit2.Commit]:
    walker = repo.walk(head, pygit2.GIT_SORT_TOPOLOGICAL | pygit2.GIT_SORT_REVERSE)
    walker.hide(merge_base)
    out = []
    for commit in walker:
        out.append(commit)
        if len(out) >= MAX_COMMITS:
            break
    return out


def audit_bump(
    repo: pygit2.Repository,
    base: str,
    head: str,
    *,
    keyring: Keyring,
    mirror: Path | None = None,
    online: bool = False,
    github_api: str | None = None,
    title: str | None = None,
    author: str | None = None,
    branch: str | None = None,
    pull_request: int | None = None,
    repository: str | None = None,
    fail_on: FailOn | None = None,
    continuity: ContinuityStore | None = None,
    system: str = "x86_64-linux",
    only: tuple[str, ...] | None = None,
) -> BumpReport:
    """Audit what ``head`` changes since its merge base with ``base``.

    ``only`` (expression files) restricts the audit to those packages; the other
    packages the change touches are named in an ``extra-changes`` finding.

    ``title`` is the pull request's title; without it, the subjects of the
    commits in the range are the claims checked against the change. ``author``
    (a forge login) and ``branch`` only serve to recognise a bot.
    """
    base_id = str(resolve_commit(repo, base, "base"))
    head_id = str(resolve_commit(repo, head, "head"))
    merge_base = repo.merge_base(base_id, head_id)
    if merge_base is None:
        raise RepositoryError(f"{base_id[:12]} and {head_id[:12]} share no history", field="--base")
    merge_base_id = str(merge_base)
    diff = repo.diff(repo[merge_base_id].tree, repo[head_id].tree)
    files = sorted({d.old_file.path for d in diff.deltas} | {d.new_file.path for d in diff.deltas})
    trees = [repo[merge_base_id].tree, repo[head_id].tree]
    dirs, outside = _package_dirs(repo, trees, files)
    skipped: list[str] = []
    if only is not None:
        dirs, skipped = _only(dirs, only)

    commits = _range_commits(repo, merge_base_id, head_id)
    claims: list[Claim] = []
    title_claim = parse_claim(title, "the title")
    if title_claim is not None:
        claims.append(title_claim)
    for commit in commits:
        if len(commit.parents) > 1:
            continue
        claim = parse_claim(commit.message, f"commit {str(commit.id)[:12]}")
        if claim is not None and not any(c.text() == claim.text() for c in claims):
            claims.append(claim)
    if branch is None:
        branch = _branch_name(repo, head)
    bot = detect_bot(author, branch, [(c.author.name, c.author.email) for c in commits])

    report_findings: list[Finding] = []
    keys = list(dirs)
    if len(keys) > MAX_PACKAGES:
        report_findings.append(finding("audit-incomplete", f"the change touches {len(keys)} package directories; "
                                                           f"only the first {MAX_PACKAGES} were audited"))
        keys = keys[:MAX_PACKAGES]
    packages: list[PackageAudit] = []
    with tempfile.TemporaryDirectory(prefix="commitguard-audit-") as scratch:
        for n, key in enumerate(keys):
            work = Path(scratch) / str(n)
            try:
                audited = _audit_package(repo, merge_base_id, head_id, key, dirs[key], work, keyring, mirror,
                                         online, github_api, continuity, system)
            except (RecursionError, MemoryError, OSError, pygit2.GitError, ValueError) as exc:
                audited = PackageAudit(path=key, name=None, old_version=None, new_version=None, kind="not-a-bump",
                                       findings=[finding("audit-incomplete", f"{key} could not be audited: "
                                                                             f"{type(exc).__name__}: {exc}")])
            if audited is None:
                outside.append(key)
            else:
                packages.append(audited)
    outside.sort()
    if outside:
        shown = ", ".join(outside[:MAX_LISTED]) + (f" and {len(outside) - MAX_LISTED} more" if len(outside) > MAX_LISTED else "")
        report_findings.insert(0, finding("extra-changes", f"files outside any package directory changed: {shown}"))
    if skipped:
        report_findings.append(finding("extra-changes", "packages changed but not selected, not audited: "
                                                        + ", ".join(skipped[:MAX_LISTED])))
    _check_claims(claims, packages, report_findings)
    return BumpReport(
        base=base_id, head=head_id, merge_base=merge_base_id, title=title, author=author, branch=branch,
        pull_request=pull_request, bot=bot, packages=packages, findings=report_findings, other_files=outside,
        fail_on=fail_on or FailOn(), repository=repository,
    )


def empty_keyring() -> Keyring:
    """No upstream keys: signatures are still compared key by key, none is trusted."""
    return Keyring(path="(no keyring)", digest="0" * 64, policy=Policy(), persons=())


def keyring_for_audit(option: str | None, repo: pygit2.Repository, base: str) -> Keyring:
    """``--keyring`` or ``$COMMITGUARD_KEYRING``; else the base's own keyring, never the head's (a change
    must not bring the upstream keys it is judged by); else none."""
    from commitguard.keyring import choose_keyring_dir, load_keyring
    from commitguard.repository_keyring import TreeKeyrings

    if option or os.environ.get("COMMITGUARD_KEYRING"):
        directory, _ = choose_keyring_dir(option, repo.workdir)
        return load_keyring(directory)
    trees = TreeKeyrings(repo)
    base_id = resolve_commit(repo, base, "base")
    if trees.subtree_id(base_id) is not None:
        return trees.load(base_id)
    return empty_keyring()




__all__ = [
    "CODES", "COMMENT_MARKER", "KINDS", "Bot", "BumpReport", "Claim", "ExpressionSummary", "FailOn", "Finding",
    "Normaliser", "PackageAudit", "TarballComparison", "audit_bump", "check_mirror", "compare_tarball_with_tag",
    "detect_bot", "empty_keyring", "keyring_for_audit", "parse_claim", "parse_fail_on",
]
