"""List builtins: ``map``, ``filter``, indexing, ``take``/``drop``,
``concatLists``, ``elem``, and the ``optional*`` family.

Lists are lists of thunks: ``map`` builds thunks, never results, so a
mapped element nobody reads is never evaluated (Nix is lazy, and a value
that cannot be evaluated must not spoil the ones around it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commitguard.nix.builtins.args import BOOL, INT, LAZY, LIST, SET, arg, checked
from commitguard.nix.values import Attrs, Thunk, Unresolved

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


def apply_later(ev: Evaluator, fn, value):
    """A thunk's body: ``fn value``, when (if ever) it is forced."""
    return lambda: ev.apply(ev.force(fn), value)


@checked("map", LAZY, LIST)
def map_(ev: Evaluator, fn, items):
    if not ev.build(cells=len(items)):
        return ev._budget
    return [Thunk(fn=apply_later(ev, fn, item)) for item in items]


@checked("filter", LAZY, LIST)
def filter_(ev: Evaluator, fn, items):
    fn = ev.force(fn)
    if not ev.build(cells=len(items)):
        return ev._budget
    out = []
    for item in items:
        keep = ev.apply(fn, item)
        if not isinstance(keep, bool):
            return keep if isinstance(keep, Unresolved) else Unresolved("filter predicate did not return a Boolean")
        if keep:
            out.append(item)
    return out


@checked("elemAt", LIST, INT)
def elem_at(ev: Evaluator, items, index):
    if not 0 <= index < len(items):
        return Unresolved(f"elemAt index {index} out of range")
    return ev.force(items[index])


@checked("head", LIST)
def head(ev: Evaluator, items):
    return ev.force(items[0]) if items else Unresolved("head of an empty list")


@checked("tail", LIST)
def tail(ev: Evaluator, items):
    if items and not ev.build(cells=len(items) - 1):
        return ev._budget
    return items[1:] if items else Unresolved("tail of an empty list")


@checked("last", LIST)
def last(ev: Evaluator, items):
    return ev.force(items[-1]) if items else Unresolved("last of an empty list")


@checked("length", LIST)
def length(ev: Evaluator, items):
    return len(items)


@checked("take", INT, LIST)
def take(ev: Evaluator, n, items):
    out = items[: max(n, 0)]
    return out if ev.build(cells=len(out)) else ev._budget


@checked("drop", INT, LIST)
def drop(ev: Evaluator, n, items):
    out = items[max(n, 0) :]
    return out if ev.build(cells=len(out)) else ev._budget


@checked("concatLists", LIST)
def concat_lists(ev: Evaluator, lists):
    if not ev.walk(len(lists)):
        return ev._budget
    out = []
    for item in lists:
        item = arg(ev, item, LIST, "concatLists")
        if isinstance(item, Unresolved):
            return item
        if not (ev.list_fits(len(out) + len(item)) and ev.build(cells=len(item))):
            return ev._budget
        out.extend(item)
    return out


@checked("elem", LAZY, LIST)
def elem(ev: Evaluator, x, items):
    if not ev.walk(len(items)):
        return ev._budget
    for item in items:
        eq = ev.equal(x, item)
        if eq is True or isinstance(eq, Unresolved):
            return eq
    return False


@checked("optionalString", BOOL, LAZY)
def optional_string(ev: Evaluator, cond, s):
    return ev.force(s) if cond else ""


@checked("optional", BOOL, LAZY)
def optional(ev: Evaluator, cond, x):
    return [x] if cond else []


@checked("optionals", BOOL, LAZY)
def optionals(ev: Evaluator, cond, items):
    return arg(ev, items, LIST, "optionals") if cond else []


@checked("optionalAttrs", BOOL, LAZY)
def optional_attrs(ev: Evaluator, cond, attrs):
    return arg(ev, attrs, SET, "optionalAttrs") if cond else Attrs({})
