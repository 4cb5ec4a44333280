"""``meta.maintainers`` of a package expression, read statically.

Used by review rules that let a package's maintainers approve changes to it.
Only the shapes nixpkgs uses are understood (``with lib.maintainers; [ a b ]``,
``[ lib.maintainers.a maintainers.b ]``, ``++`` of those, inside ``meta = { }``
or as ``meta.maintainers = ...``); anything else is reported as unresolved,
never guessed: a guess here would hand approval rights to the wrong people.
"""

from __future__ import annotations

from dataclasses import dataclass

from commitguard.nix.parser import attrpath, parse, text, walk


@dataclass(frozen=True)
class Maintainers:
    handles: tuple[str, ...]
    unresolved: tuple[str, ...] = ()  # source snippets we could not read


def read_maintainers(source: bytes) -> Maintainers:
    try:
        tree = parse(source)
    except ValueError as exc:
        return Maintainers((), (str(exc),))
    handles: list[str] = []
    unresolved: list[str] = []
    for node in walk(tree.root_node):
        if node.type in ("inherit", "inherit_from"):
            names = [text(c, source) for c in walk(node) if c.type == "identifier"]
            if "maintainers" in names and _inside_meta(node, source):
                unresolved.append(text(node, source)[:80])
            continue
        if node.type != "binding":
            continue
        path_node = node.child_by_field_name("attrpath")
        value = node.child_by_field_name("expression")
        if path_node is None or value is None:
            continue
        path = attrpath(path_node, source)
        if path is None:
            continue
        if path == ["meta", "maintainers"] or (path == ["maintainers"] and _inside_meta(node, source)):
            try:
                _collect(value, source, handles, unresolved)
            except RecursionError:
                unresolved.append("maintainers nested too deeply to read")
    return Maintainers(tuple(dict.fromkeys(handles)), tuple(unresolved))


def _inside_meta(binding, source: bytes) -> bool:
    """True for a binding directly inside ``meta = { ... }``, also through
    ``meta = with lib; { ... }`` and parentheses."""
    parent = binding.parent  # binding_set
    attrset = parent.parent if parent is not None else None
    outer = attrset.parent if attrset is not None else None
    while outer is not None and outer.type in ("with_expression", "parenthesized_expression", "let_expression"):
        outer = outer.parent
    if outer is None or outer.type != "binding":
        return False
    path_node = outer.child_by_field_name("attrpath")
    return path_node is not None and attrpath(path_node, source) == ["meta"]


def _collect(node, source: bytes, handles: list[str], unresolved: list[str], in_with: bool = False) -> None:
    kind = node.type
    if kind == "with_expression":
        env = node.child_by_field_name("environment")
        body = node.child_by_field_name("body")
        scope = text(env, source) if env is not None else ""
        if body is None:
            unresolved.append(text(node, source)[:80])
            return
        _collect(body, source, handles, unresolved, in_with=scope in ("lib.maintainers", "maintainers"))
    elif kind == "binary_expression" and node.child_by_field_name("operator") is not None and text(
        node.child_by_field_name("operator"), source
    ) == "++":
        _collect(node.child_by_field_name("left"), source, handles, unresolved, in_with)
        _collect(node.child_by_field_name("right"), source, handles, unresolved, in_with)
    elif kind == "parenthesized_expression" and node.named_children:
        _collect(node.named_children[0], source, handles, unresolved, in_with)
    elif kind == "list_expression":
        for element in node.named_children:
            if element.type == "variable_expression" and in_with:
                handles.append(text(element, source))
            elif element.type == "select_expression":
                handle = _selected_handle(element, source)
                if handle:
                    handles.append(handle)
                else:
                    unresolved.append(text(element, source)[:80])
            elif element.type == "comment":
                continue
            else:
                unresolved.append(text(element, source)[:80])
    else:
        unresolved.append(text(node, source)[:80])


def _selected_handle(node, source: bytes) -> str | None:
    """``lib.maintainers.alice`` or ``maintainers.alice`` -> ``alice``."""
    base = node.child_by_field_name("expression")
    path_node = node.child_by_field_name("attrpath")
    if base is None or path_node is None or node.child_by_field_name("default") is not None:
        return None
    path = attrpath(path_node, source)
    if path is None:
        return None
    full = [text(base, source)] + path
    if full[:2] == ["lib", "maintainers"] and len(full) == 3:
        return full[2]
    if full[0] == "maintainers" and len(full) == 2:
        return full[1]
    return None
