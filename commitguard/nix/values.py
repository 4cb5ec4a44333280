"""The values of the static Nix evaluator.

Values are plain Python where Nix has an obvious counterpart (``str``,
``int``, ``float``, ``bool``, ``None`` for null, ``list`` of thunks); the
classes here cover the rest, including :class:`Unresolved`, which stands for
whatever cannot be known statically and carries the reason: nothing is
guessed, an unknown value propagates as Unresolved to the caller, which
reports it. They live apart from the evaluator so that the builtins, the
limits' accounting and the fetcher reader can name them without importing
the evaluator itself.
"""

from __future__ import annotations

from dataclasses import dataclass

# Value classes compare by identity (eq=False): Nix equality is the
# evaluator's ``equal``, which knows what cannot be compared statically.
_value = dataclass(frozen=True, slots=True, eq=False)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Unresolved:
    """A value that cannot be known statically; ``reason`` says why."""

    reason: str

    def __repr__(self) -> str:
        return f"Unresolved({self.reason!r})"


class _Missing:
    """An attribute that is certainly absent (so ``or`` defaults apply)."""

    __slots__ = ()


MISSING = _Missing()


class _NotASet:
    """What selecting from a value that is not a set finds (``1.a``)."""

    __slots__ = ()


NOT_A_SET = _NotASet()


class Thunk:
    """A value not evaluated yet: an expression in its scope, or a function
    (``fn``) computing it. Forced at most once, which is what keeps shared
    values cheap and lets a self-reference be told from a value."""

    __slots__ = ("node", "env", "fn", "value", "state")

    def __init__(self, node=None, env=None, fn=None):
        self.node = node
        self.env = env
        self.fn = fn
        self.value = None
        self.state = 0  # 0 pending, 1 evaluating, 2 done


class Env:
    """One scope: lexical ``vars``, or a ``with`` namespace (``with_value``)."""

    __slots__ = ("vars", "parent", "with_value")

    def __init__(self, parent: Env | None, vars: dict | None = None, with_value=None):
        self.parent = parent
        self.vars = vars
        self.with_value = with_value


@_value
class Attrs:
    """An attribute set; ``incomplete`` when a dynamic key could not be
    evaluated, so that a missing name is unknown rather than absent."""

    items: dict
    incomplete: bool = False


@_value
class Lambda:
    """A Nix function: its syntax node and the scope it closes over."""

    node: object
    env: Env


@_value
class Builtin:
    """A builtin, possibly applied to some of its ``arity`` arguments."""

    name: str
    arity: int
    fn: object
    args: tuple = ()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class External:
    """Something the package set passes in (``lib``, ``stdenv``, ``fetchurl``,
    ``python3Packages``...), known only by its attribute path."""

    path: str

    def __repr__(self) -> str:
        return f"External({self.path})"


@_value
class NixPath:
    """A Nix path value, absolute and normalised (not a store path)."""

    path: str


@_value
class FetcherValue:
    """The result of calling a fetcher: its arguments, kept lazy, and the call site."""

    fetcher: str
    args: object
    node: object
    index: int


@_value
class Derivation:
    """The result of a builder such as ``stdenv.mkDerivation``; also what
    ``finalAttrs`` is bound to, since both read the same final attributes."""

    builder: str
    attrs: object  # a Thunk of the final attribute set
    node: object


def is_number(value) -> bool:
    """A Nix integer or float (a Python bool is an int, but not a Nix number)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_name(value) -> str:
    """How messages name the type of ``value`` (``a string``, ``a set``...);
    an external value is named by its path, which says more than its type."""
    if isinstance(value, bool):
        return "a Boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Attrs):
        return "a set"
    if isinstance(value, (Lambda, Builtin)):
        return "a function"
    if isinstance(value, NixPath):
        return "a path"
    if isinstance(value, External):
        return value.path
    if isinstance(value, FetcherValue):
        return f"a {value.fetcher} result"
    if isinstance(value, Derivation):
        return f"a {value.builder} result"
    if isinstance(value, Unresolved):
        return "an unresolved value"
    return type(value).__name__
