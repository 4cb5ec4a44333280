"""The limits of the static Nix evaluator, and the accounting that holds them.

A package expression comes from a pull request, so its author chooses how
much work reading it costs. Counting evaluation steps alone does not bound
that: one step can copy a list of 100,000 elements (``a ++ a``), and a
value shared a million times over (``a1 = [ a0 a0 ]; a2 = [ a1 a1 ]; ...``)
is cheap to build but exponential to walk. So the evaluator counts three
things, each against a fixed allowance for the whole file:

* **steps**: an expression evaluated, a function applied, and every
  element a builtin walks (``toString``, ``concatStringsSep``, ``==``...);
* **cells** built: every list element and attribute a value is made of,
  counted when the list or set is created (a copy counts again);
* **characters** built: every character of every string created.

Past any of them, or past the size of one value (a string, a list, a set,
an attribute path), evaluation stops for good: the value being built and
everything not yet evaluated is :class:`~commitguard.nix.values.Unresolved`
with the reason ``evaluation limit: ...``, and the reader notes it as
``unresolved: evaluation limit: ...``. Nothing past a limit is guessed.

Nesting depth is bounded separately (``MAX_DEPTH``): a deep value is
unresolved where it is deep, the rest of the file still evaluates.
"""

from __future__ import annotations

from commitguard.nix.values import Unresolved

MAX_STEPS = 200_000  # evaluation steps per file
MAX_BUILT_CELLS = 1_000_000  # list elements and attributes created per file
MAX_BUILT_CHARS = 16 << 20  # string characters created per file (16 Mi)
MAX_STRING = 1 << 20  # characters in one string
MAX_COLLECTION = 100_000  # elements of one list, attributes of one set
MAX_ATTRPATH = 1_000  # components of one attribute path (a.b.c = ...; x.a.b.c)
MAX_DEPTH = 150  # nested evaluation levels
MAX_READ_BYTES = 1 << 20  # bytes of one file read with readFile/importJSON
MAX_DATA_DEPTH = 64  # nesting of data (JSON, ==, conversion to Python)

# Builtins walk elements in tight loops: this many elements cost one step.
WALK_PER_STEP = 8


def note(reason: str) -> str:
    """The reader's note for a file whose evaluation hit a limit."""
    return f"unresolved: evaluation limit: {reason}; what evaluation had not reached is unresolved"


class Limits:
    """The accounting half of the evaluator (mixed into it): ``charge`` for
    steps, ``build`` for values created, ``stop`` for a size limit. Every
    method answers whether evaluation may go on; once one says no, all do."""

    max_steps: int
    steps: int
    cells: int
    chars: int
    exhausted: bool
    limit_reason: str | None

    def _init_limits(self, max_steps: int) -> None:
        self.max_steps = max_steps
        self.steps = 0
        self.cells = 0
        self.chars = 0
        self.exhausted = False
        self.limit_reason = None
        self._limit_value = None

    def charge(self, steps: int = 1) -> bool:
        """Count work; False once any limit is reached (then stay False)."""
        self.steps += steps
        if self.steps > self.max_steps and not self.exhausted:
            self.stop(f"more than {self.max_steps:,} evaluation steps")
        return not self.exhausted

    def walk(self, elements: int) -> bool:
        """Count a builtin walking ``elements`` list elements or attributes."""
        return self.charge(1 + elements // WALK_PER_STEP)

    def build(self, cells: int = 0, chars: int = 0) -> bool:
        """Count a value being created: ``cells`` list elements or
        attributes, ``chars`` string characters."""
        self.cells += cells
        self.chars += chars
        if self.cells > MAX_BUILT_CELLS and not self.exhausted:
            self.stop(f"more than {MAX_BUILT_CELLS:,} list elements and attributes built")
        elif self.chars > MAX_BUILT_CHARS and not self.exhausted:
            self.stop(f"more than {MAX_BUILT_CHARS:,} string characters built")
        return not self.exhausted

    def stop(self, reason: str):
        """Stop evaluation for good (the first reason is the one reported);
        returns the Unresolved value that stands for what was being built."""
        if not self.exhausted:
            self.exhausted = True
            self.limit_reason = reason
        return self._budget

    @property
    def _budget(self):
        """The Unresolved value every evaluation returns once a limit is reached."""
        if not self.exhausted:  # not reached: callers only ask once it is
            return Unresolved("evaluation limit")
        if self._limit_value is None:
            self._limit_value = Unresolved(f"evaluation limit: {self.limit_reason}")
        return self._limit_value

    def limit_note(self) -> str | None:
        """The note for the reader, None while no limit was reached."""
        return note(self.limit_reason) if self.exhausted else None

    # Size checks of one value: each stops evaluation when it fails.

    def string_fits(self, size: int) -> bool:
        return self._fits(size, MAX_STRING, "a string", "characters")

    def list_fits(self, size: int) -> bool:
        return self._fits(size, MAX_COLLECTION, "a list", "elements")

    def set_fits(self, size: int) -> bool:
        return self._fits(size, MAX_COLLECTION, "a set", "attributes")

    def path_fits(self, size: int) -> bool:
        return self._fits(size, MAX_ATTRPATH, "an attribute path", "components")

    def _fits(self, size: int, limit: int, what: str, unit: str) -> bool:
        if size > limit:
            self.stop(f"{what} of more than {limit:,} {unit}")
        return not self.exhausted
