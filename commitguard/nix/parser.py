"""One shared tree-sitter parser for Nix, and small helpers over its nodes."""

from __future__ import annotations

import functools

import tree_sitter
import tree_sitter_nix

# Inputs come from pull requests; a file this large is not a package expression.
MAX_NIX_BYTES = 2 * 1024 * 1024


@functools.lru_cache(maxsize=1)
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_nix.language()))


def parse(source: bytes) -> tree_sitter.Tree:
    if len(source) > MAX_NIX_BYTES:
        raise ValueError(f"Nix file of {len(source)} bytes is larger than {MAX_NIX_BYTES}")
    return _parser().parse(source)


def text(node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def attrpath(node, source: bytes) -> list[str] | None:
    """The names of an attrpath node, or None if a part is dynamic."""
    parts = []
    for child in node.named_children:
        if child.type == "identifier":
            parts.append(text(child, source))
        elif child.type == "string_expression" and all(c.type == "string_fragment" for c in child.named_children):
            parts.append("".join(text(c, source) for c in child.named_children))
        else:
            return None
    return parts


def walk(node):
    """Every node below ``node``, iteratively (deep files must not blow the stack)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def callee_path(node, source: bytes) -> str | None:
    """The function of a call as written (``fetchurl``, ``pkgs.fetchurl``,
    ``python3Packages.fetchPypi``) for plain names and selections only; None
    for anything computed, whose callee a reader cannot name without evaluating."""
    if node is None:
        return None
    if node.type == "variable_expression":
        return text(node, source)
    if node.type == "select_expression" and node.child_by_field_name("default") is None:
        base = node.child_by_field_name("expression")
        path = node.child_by_field_name("attrpath")
        if base is None or base.type != "variable_expression" or path is None:
            return None
        parts = [text(base, source)]
        for part in path.named_children:
            if part.type != "identifier":
                return None
            parts.append(text(part, source))
        return ".".join(parts)
    return None
