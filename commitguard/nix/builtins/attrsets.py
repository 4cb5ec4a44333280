"""Attribute-set builtins (``attrNames``, ``mapAttrs``, ``listToAttrs``,
``removeAttrs``...), type predicates (``isString``...) and the few that
only pass a value through (``id``, ``seq``, ``trace``).

A set with a dynamic attribute that could not be evaluated does not say
which names it has: builtins that list or remove names of such a set are
:class:`Unresolved` rather than wrong.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commitguard.nix.builtins.args import LAZY, LIST, SET, STRING, arg, checked, strings
from commitguard.nix.builtins.lists import apply_later
from commitguard.nix.values import MISSING, NOT_A_SET, Attrs, Builtin, Derivation, External, FetcherValue, Lambda
from commitguard.nix.values import Thunk, Unresolved

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


def is_null(ev: Evaluator, x):
    x = ev.force(x)
    return x if isinstance(x, Unresolved) else x is None


_TYPE_TESTS = {
    "string": lambda x: isinstance(x, str),
    "list": lambda x: isinstance(x, list),
    "attrs": lambda x: isinstance(x, (Attrs, Derivation, FetcherValue)),
    "bool": lambda x: isinstance(x, bool),
    "int": lambda x: isinstance(x, int) and not isinstance(x, bool),
    "function": lambda x: isinstance(x, (Lambda, Builtin)),
}


def type_check(kind: str):
    """``isString``, ``isList``...: whether a value is of ``kind``; an
    external value's type is not known here."""
    test = _TYPE_TESTS[kind]

    def check(ev: Evaluator, x):
        x = ev.force(x)
        if isinstance(x, Unresolved):
            return x
        if isinstance(x, External):
            return Unresolved(f"{x.path} is not known statically")
        return test(x)

    return check


@checked("removeAttrs", SET, LIST)
def remove_attrs(ev: Evaluator, attrs, names):
    names = strings(ev, names, "removeAttrs")
    if isinstance(names, Unresolved):
        return names
    if attrs.incomplete:
        return Unresolved("removeAttrs on a set with dynamic attributes")
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    gone = set(names)
    return Attrs({k: v for k, v in attrs.items.items() if k not in gone})


def _listing(what: str, pick):
    """``attrNames``/``attrValues``: one element per attribute, by name."""

    @checked(what, SET)
    def listing(ev: Evaluator, attrs):
        if attrs.incomplete:
            return Unresolved(f"{what} of a set with dynamic attributes")
        if not ev.build(cells=len(attrs.items)):
            return ev._budget
        return [pick(attrs.items, k) for k in sorted(attrs.items)]

    return listing


attr_names = _listing("attrNames", lambda items, key: key)
attr_values = _listing("attrValues", lambda items, key: items[key])


@checked("hasAttr", STRING, LAZY)
def has_attr(ev: Evaluator, name, attrs):
    found = ev.get_attr(ev.force(attrs), name)
    if found is NOT_A_SET:
        return Unresolved("hasAttr on a value that is not a set")
    if isinstance(found, Unresolved) and not isinstance(ev.force(attrs), Attrs):
        return found
    return found is not MISSING


@checked("getAttr", STRING, LAZY)
def get_attr(ev: Evaluator, name, attrs):
    found = ev.get_attr(ev.force(attrs), name)
    if found is MISSING or found is NOT_A_SET:
        return Unresolved(f"attribute '{name}' missing")
    return found


@checked("listToAttrs", LIST)
def list_to_attrs(ev: Evaluator, items):
    if not ev.build(cells=len(items)):
        return ev._budget
    out: dict = {}
    for item in items:
        pair = arg(ev, item, SET, "listToAttrs")
        if isinstance(pair, Unresolved):
            return pair
        name = arg(ev, pair.items.get("name"), STRING, "listToAttrs")
        if isinstance(name, Unresolved):
            return name
        if name not in out and "value" in pair.items:
            out[name] = pair.items["value"]
    return Attrs(out)


def name_value_pair(ev: Evaluator, name, value):
    return Attrs({"name": name, "value": value})


def _apply2_later(ev: Evaluator, fn, a, b):
    return lambda: ev.apply(ev.apply(ev.force(fn), a), b)


@checked("mapAttrs", LAZY, SET)
def map_attrs(ev: Evaluator, fn, attrs):
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    return Attrs(
        {k: Thunk(fn=_apply2_later(ev, fn, k, v)) for k, v in attrs.items.items()},
        attrs.incomplete,
    )


@checked("genAttrs", LIST, LAZY)
def gen_attrs(ev: Evaluator, names, fn):
    names = strings(ev, names, "genAttrs")
    if isinstance(names, Unresolved):
        return names
    if not ev.build(cells=len(names)):
        return ev._budget
    return Attrs({name: Thunk(fn=apply_later(ev, fn, name)) for name in names})


def identity(ev: Evaluator, x):
    return ev.force(x)


def second(ev: Evaluator, _a, b):
    """``seq``, ``deepSeq``, ``trace``, ``warn``: the second argument (what
    they print or force first does not change it)."""
    return ev.force(b)


def placeholder(ev: Evaluator, _name):
    return Unresolved("placeholder is a build-time path")
