"""A package expression's syntax tree, read attribute by attribute.

Comparing two expressions as text would flag every reformatting and miss
the name of what changed. Read as ``attribute path -> normalised tokens``
(:class:`ExpressionSummary`), two sides compare attribute by attribute
whatever the style (``rec``, ``finalAttrs``, a ``let`` around a builder
call), and :func:`describe` says in a few words what changed in one.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from commitguard.bump.limits import MAX_DIFF_LINES, MAX_ENTRIES, MAX_PATH_DEPTH
from commitguard.bump.normalise import Normaliser
from commitguard.nix.packageset import is_fetcher_name
from commitguard.nix.parser import callee_path as _callee_path, parse, text as _text, walk

_SPACE = re.compile(r"\s+")


@dataclass
class Entry:
    """One attribute path's normalised tokens, the hashes taken out of them, its source texts
    and, for a list or the formals, its items (tokens, text) so additions and removals can be named."""

    tokens: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    items: list[tuple[tuple[str, ...], str]] | None = None


_STRUCTURED = frozenset({"attrset_expression", "rec_attrset_expression", "let_attrset_expression",
                         "function_expression", "let_expression"})
_FRAGMENTS = frozenset({"string_fragment", "path_fragment", "uri_expression"})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


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
        self.entries: dict[str, Entry] = {}
        self.fetcher_paths: dict[int, str] = {}
        self.error: str | None = None
        try:
            tree = parse(source)
        except ValueError as exc:
            self.error = str(exc)
            return
        self._build(tree.root_node)

    def _entry(self, path: str) -> Entry:
        entry = self.entries.get(path)
        if entry is None:
            if len(self.entries) >= MAX_ENTRIES:
                path = "expression"
                entry = self.entries.setdefault(path, Entry())
            else:
                entry = self.entries[path] = Entry()
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
            sub = Entry()
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
        self._note_fetcher(function, node, path)

    def _note_fetcher(self, function, call, path: str) -> None:
        """Remember under which attribute path a fetcher call (by its line) is written."""
        callee = _callee_path(function, self.source)
        if callee is not None and is_fetcher_name(callee):
            self.fetcher_paths.setdefault(call.start_point[0] + 1, path)

    def _leaf(self, node, path: str) -> None:
        entry = self._entry(path or "expression")
        self._tokens(node, entry)
        entry.texts.append(_text(node, self.source))
        if node.type == "list_expression":
            items = []
            for element in node.named_children:
                if element.type == "comment":
                    continue
                sub = Entry()
                self._tokens(element, sub)
                items.append((tuple(sub.tokens), _text(element, self.source)))
            entry.items = (entry.items or []) + items
        for inner in walk(node):
            if inner.type == "apply_expression":
                self._note_fetcher(inner.child_by_field_name("function"), inner, path)

    def _tokens(self, node, entry: Entry) -> None:
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


def short(text: str, limit: int = 80) -> str:
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def describe(old: Entry | None, new: Entry | None) -> str:
    """A few words a reviewer can act on: what was added, removed, or which lines changed."""
    if old is None:
        return "added: " + short(" ".join(new.texts) if new else "")
    if new is None:
        return "removed: " + short(" ".join(old.texts))
    if old.items is not None and new.items is not None:
        old_keys = [t for t, _ in old.items]
        new_keys = [t for t, _ in new.items]
        added = [short(text, 60) for t, text in new.items if t not in old_keys]
        removed = [short(text, 60) for t, text in old.items if t not in new_keys]
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
    shown = [f"{line[0]} {short(line[2:], 70)}" for line in diff[:6]]
    more = f" (+{len(diff) - 6} more lines)" if len(diff) > 6 else ""
    return "; ".join(shown) + more

