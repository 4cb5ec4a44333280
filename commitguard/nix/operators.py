"""Operators of the static Nix evaluator: ``!``, unary ``-``, arithmetic,
``+`` on strings and paths, ``++``, ``//``, comparisons and deep ``==``.

A mixin of :class:`~commitguard.nix.evaluator.Evaluator`. An operand that
is not known statically makes the result :class:`Unresolved` (never a
guess); every list, set and string an operator builds is charged against
the limits, and integers keep Nix's 64-bit range.
"""

from __future__ import annotations

import os

from commitguard.nix.limits import MAX_DATA_DEPTH
from commitguard.nix.values import (
    Attrs,
    Builtin,
    Derivation,
    External,
    FetcherValue,
    Lambda,
    NixPath,
    Unresolved,
    is_number,
)


class Operators:
    """Unary and binary operators, and ``equal`` (Nix ``==``)."""

    def _operator(self, node) -> str:
        op = node.child_by_field_name("operator")
        return self.text(op) if op is not None else ""

    def _eval_unary(self, node, env):
        op = self._operator(node)
        value = self.eval(node.child_by_field_name("argument"), env)
        if isinstance(value, Unresolved):
            return value
        if op == "!":
            return (not value) if isinstance(value, bool) else self._type_error("!", value)
        if op == "-":
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value
            return self._type_error("-", value)
        return Unresolved(f"unsupported operator {op}")

    def _type_error(self, op, *values):
        for value in values:
            if isinstance(value, Unresolved):
                return value
            if isinstance(value, External):
                return Unresolved(f"{value.path} is not known statically")
        kinds = ", ".join(self.type_name(v) for v in values)
        return Unresolved(f"operator {op} on {kinds}")

    def _eval_binary(self, node, env):
        op = self._operator(node)
        left_node = node.child_by_field_name("left")
        right_node = node.child_by_field_name("right")
        if op in ("&&", "||", "->"):
            left = self.eval(left_node, env)
            if not isinstance(left, bool):
                return self._type_error(op, left)
            if op == "&&" and not left:
                return False
            if op == "||" and left:
                return True
            if op == "->" and not left:
                return True
            right = self.eval(right_node, env)
            return right if isinstance(right, bool) else self._type_error(op, right)
        left = self.eval(left_node, env)
        right = self.eval(right_node, env)
        if op in ("==", "!="):
            equal = self.equal(left, right)
            if isinstance(equal, Unresolved):
                return equal
            return equal if op == "==" else not equal
        if isinstance(left, Unresolved):
            return left
        if isinstance(right, Unresolved):
            return right
        if op == "+":
            return self._add(left, right)
        if op == "++":
            if isinstance(left, list) and isinstance(right, list):
                size = len(left) + len(right)
                if not (self.list_fits(size) and self.build(cells=size)):
                    return self._budget
                self.charge(size // 64)
                return left + right
            return self._type_error(op, left, right)
        if op == "//":
            return self._update(left, right)
        if op in ("-", "*", "/"):
            if not (is_number(left) and is_number(right)):
                return self._type_error(op, left, right)
            if op == "-":
                return left - right
            if op == "*":
                result = left * right
                return result if not isinstance(result, int) or abs(result) < 1 << 63 else Unresolved("integer overflow")
            if right == 0:
                return Unresolved("division by zero")
            if isinstance(left, int) and isinstance(right, int):
                quotient = abs(left) // abs(right)
                return quotient if (left >= 0) == (right >= 0) else -quotient
            return left / right
        if op in ("<", "<=", ">", ">="):
            less = self._less
            if op == "<":
                return less(left, right)
            if op == ">":
                return less(right, left)
            result = less(right, left) if op == "<=" else less(left, right)
            return result if isinstance(result, Unresolved) else not result
        return Unresolved(f"unsupported operator {op}")

    def _add(self, left, right):
        if isinstance(left, str) and isinstance(right, str):
            size = len(left) + len(right)
            if not (self.string_fits(size) and self.charge(size // 4096) and self.build(chars=size)):
                return self._budget
            return left + right
        if is_number(left) and is_number(right):
            result = left + right
            return result if not isinstance(result, int) or abs(result) < 1 << 63 else Unresolved("integer overflow")
        if isinstance(left, NixPath) and isinstance(right, str):
            return NixPath(os.path.normpath(left.path + right))
        if isinstance(left, NixPath) and isinstance(right, NixPath):
            return NixPath(os.path.normpath(left.path + right.path))
        if isinstance(left, str):
            right_s = self.coerce_to_string(right)
            if isinstance(right_s, Unresolved):
                return right_s
            return self._add(left, right_s)
        return self._type_error("+", left, right)

    def _update(self, left, right):
        if isinstance(left, Derivation):
            left = self.derivation_attrs(left)
        if isinstance(right, Derivation):
            right = self.derivation_attrs(right)
        if not (isinstance(left, Attrs) and isinstance(right, Attrs)):
            return self._type_error("//", left, right)
        size = len(left.items) + len(right.items)
        if not (self.set_fits(size) and self.build(cells=size)):
            return self._budget
        self.charge(size // 64)
        if right.incomplete:
            doubt = Unresolved("may be overridden by a dynamic attribute")
            items = {k: doubt for k in left.items}
        else:
            items = dict(left.items)
        items.update(right.items)
        return Attrs(items, left.incomplete or right.incomplete)

    def _less(self, left, right):
        if is_number(left) and is_number(right):
            return left < right
        if isinstance(left, str) and isinstance(right, str):
            return left < right
        if isinstance(left, NixPath) and isinstance(right, NixPath):
            return left.path < right.path
        if isinstance(left, list) and isinstance(right, list):
            for a, b in zip(left, right):
                a, b = self.force(a), self.force(b)
                eq = self.equal(a, b)
                if isinstance(eq, Unresolved):
                    return eq
                if not eq:
                    return self._less(a, b)
            return len(left) < len(right)
        return self._type_error("<", left, right)

    def equal(self, left, right, depth: int = 0):
        """Nix ``==``, deep; Unresolved when either side is not fully known."""
        if depth > MAX_DATA_DEPTH or not self.charge():
            return Unresolved("comparison too deep")
        left, right = self.force(left), self.force(right)
        for value in (left, right):
            if isinstance(value, Unresolved):
                return value
            if isinstance(value, (External, FetcherValue, Derivation)):
                return Unresolved(f"comparison with {self.type_name(value)}")
        if is_number(left) and is_number(right):
            return left == right
        if type(left) is not type(right):
            return False
        if isinstance(left, NixPath):
            return left.path == right.path
        if isinstance(left, list):
            if len(left) != len(right):
                return False
            for a, b in zip(left, right):
                eq = self.equal(a, b, depth + 1)
                if eq is not True:
                    return eq
            return True
        if isinstance(left, Attrs):
            if left.incomplete or right.incomplete:
                return Unresolved("comparison of sets with dynamic attributes")
            if left.items.keys() != right.items.keys():
                return False
            for key in left.items:
                eq = self.equal(left.items[key], right.items[key], depth + 1)
                if eq is not True:
                    return eq
            return True
        if isinstance(left, (Lambda, Builtin)):
            return False
        return left == right

