"""Checking a builtin's arguments: the one place that says what a builtin
does with an argument of the wrong type.

Every builtin forces its strict arguments first and stops at the first one
that is not what it needs: an argument that is :class:`Unresolved` stays so
(its reason is the one reported), an :class:`External` one (``stdenv.cc``)
is "not known statically" rather than a type error, and anything else is
"``what`` expects a string, got a set". :func:`checked` does that for a
whole builtin, so that its body only ever sees values of the right types.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from commitguard.nix.values import Attrs, Derivation, External, Unresolved

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


@dataclass(frozen=True)
class Kind:
    """What a builtin expects of one argument."""

    name: str  # as messages say it: "a string"
    accepts: Callable[[object], bool]
    # An External given for it is "not known statically" (rather than the wrong type).
    externals_unknown: bool = True
    # A derivation stands for the attribute set its builder was given.
    derivations_as_sets: bool = False


STRING = Kind("a string", lambda v: isinstance(v, str))
LIST = Kind("a list", lambda v: isinstance(v, list))
INT = Kind("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool), externals_unknown=False)
BOOL = Kind("a Boolean", lambda v: isinstance(v, bool))
SET = Kind("a set", lambda v: isinstance(v, Attrs), derivations_as_sets=True)
LAZY = None  # an argument the builtin forces itself, if at all


def arg(ev: Evaluator, value, kind: Kind, what: str):
    """``value`` forced and checked to be of ``kind``: the value, or the
    Unresolved saying why it cannot be used; ``what`` names the builtin."""
    value = ev.force(value)
    if kind.derivations_as_sets and isinstance(value, Derivation):
        value = ev.derivation_attrs(value)
    if kind.accepts(value):
        if isinstance(value, str):
            # Builtins walk their strings; long ones cost budget accordingly.
            return value if ev.charge(len(value) // 1024) else ev._budget
        return value
    if isinstance(value, Unresolved):
        return value
    if kind.externals_unknown and isinstance(value, External):
        return Unresolved(f"{value.path} is not known statically")
    return Unresolved(f"{what} expects {kind.name}, got {ev.type_name(value)}")


def checked(what: str, *kinds: Kind | None):
    """Decorate a builtin ``fn(ev, a, b, ...)`` whose arguments are of
    ``kinds`` (:data:`LAZY` for one it forces itself): all strict arguments
    are forced and checked, in order, before the first Unresolved among them
    is returned; otherwise ``fn`` is called with the checked values."""

    def wrap(fn):
        if fn.__code__.co_argcount != len(kinds) + 1:
            raise TypeError(f"{fn.__name__} takes {fn.__code__.co_argcount - 1} arguments, not {len(kinds)}")

        @functools.wraps(fn)
        def run(ev: Evaluator, *args):
            values = [value if kind is None else arg(ev, value, kind, what) for kind, value in zip(kinds, args)]
            bad = first_unresolved(*(value for kind, value in zip(kinds, values) if kind is not None))
            return bad if bad is not None else fn(ev, *values)

        return run

    return wrap


def strings(ev: Evaluator, items: list, what: str):
    """Every element of a list, checked to be a string; or the first Unresolved."""
    if not ev.walk(len(items)):
        return ev._budget
    out = []
    for item in items:
        item = arg(ev, item, STRING, what)
        if isinstance(item, Unresolved):
            return item
        out.append(item)
    return out


def first_unresolved(*values):
    """The first of ``values`` that is Unresolved, or None."""
    for value in values:
        if isinstance(value, Unresolved):
            return value
    return None
