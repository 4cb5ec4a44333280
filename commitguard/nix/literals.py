"""Literals of the static Nix evaluator: numbers, strings (with their
interpolations and Nix's indentation stripping), paths and lists.

A mixin of :class:`~commitguard.nix.evaluator.Evaluator`: the methods use its
``eval``, ``text`` and the accounting of :class:`~commitguard.nix.limits.Limits`
(every string and list built is charged, so a pull request cannot make
reading its expression arbitrarily expensive).
"""

from __future__ import annotations

import math
import os
import re

from commitguard.nix.limits import MAX_DEPTH
from commitguard.nix.values import Attrs, Derivation, External, FetcherValue, NixPath, Thunk, Unresolved


class Literals:
    """Evaluating literal syntax, and ``coerce_to_string`` (what ``"${x}"`` means)."""

    def _eval_source(self, node, env):
        expr = node.child_by_field_name("expression")
        if expr is None:
            return Unresolved("empty file")
        return self.eval(expr, env)

    def _eval_int(self, node, env):
        try:
            return int(self.text(node))
        except ValueError:
            return Unresolved("malformed integer")

    def _eval_float(self, node, env):
        try:
            return float(self.text(node))
        except ValueError:
            return Unresolved("malformed float")

    _ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}

    def _eval_string(self, node, env):
        return self._join(self._string_pieces(node), env)

    def _string_pieces(self, node):
        """A ``"..."`` string's text, piece by piece, and its interpolation nodes."""
        for child in node.named_children:
            kind = child.type
            if kind == "string_fragment":
                yield self.text(child)
            elif kind == "escape_sequence":
                raw = self.text(child)
                yield self._ESCAPES.get(raw[1:], raw[1:])
            elif kind == "interpolation":
                yield child
            # A dollar_escape: tree-sitter-nix covers only the backslash (or '')
            # there; the escaped "$" follows as an ordinary fragment.

    def _join(self, pieces, env):
        """A string literal's value: its pieces of text and its interpolations
        (nodes, evaluated here, in order) joined, the size checked as it grows."""
        out: list[str] = []
        size = 0
        for piece in pieces:
            if not isinstance(piece, str):
                piece = self._interpolate(piece, env)
                if isinstance(piece, Unresolved):
                    return piece
            size += len(piece)
            if not self.string_fits(size):
                return self._budget
            out.append(piece)
        if not (self.charge(size // 4096) and self.build(chars=size)):
            return self._budget
        return "".join(out)

    def _interpolate(self, node, env):
        expr = node.child_by_field_name("expression")
        if expr is None:
            return Unresolved("empty interpolation")
        return self.coerce_to_string(self.eval(expr, env))

    def coerce_to_string(self, value):
        """What ``"${value}"`` gives, where that does not need the store."""
        if isinstance(value, str):
            return value
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, NixPath):
            return Unresolved("a path interpolated into a string is a store path")
        if isinstance(value, (FetcherValue, Derivation)):
            return Unresolved("the store path of a derivation")
        if isinstance(value, External):
            return Unresolved(f"{value.path} is not known statically")
        if isinstance(value, Attrs):
            for _ in range(MAX_DEPTH):  # { outPath = { outPath = ...; }; }, or a set that is its own outPath
                if "outPath" not in value.items:
                    return Unresolved("cannot coerce an attribute set to a string")
                if not self.charge():
                    return self._budget
                value = self.force(value.items["outPath"])
                if not isinstance(value, Attrs):
                    return self.coerce_to_string(value)
            return Unresolved(f"outPath chain longer than {MAX_DEPTH}")
        return Unresolved(f"cannot coerce {self.type_name(value)} to a string")

    def _eval_indented(self, node, env):
        plan = self._indented_plans.get(node.id)
        if plan is None:
            plan = self._indented_plan(node)
            self._indented_plans[node.id] = plan
        if isinstance(plan, Unresolved):
            return plan
        return self._join(plan, env)

    def _indented_plan(self, node):
        """Nix's indentation stripping, done once per string: the smallest
        indentation of the non-blank lines goes, an interpolation counts as
        text where it starts, an opening line of spaces and a closing line
        of spaces go. None of that depends on the interpolated values, so
        the result is the literal text already stripped with the
        interpolation nodes left in place."""
        parts: list[tuple[str, object]] = []  # (kind, text or node): lit | esc | interp
        size = 0
        first = True
        for child in node.named_children:
            kind = child.type
            if kind == "string_fragment":
                piece = self.text(child)
                if first:
                    m = re.match(r" *\n", piece)
                    if m:
                        piece = piece[m.end() :]
                parts.append(("lit", piece))
            elif kind == "escape_sequence":
                raw = self.text(child)
                piece = "''" if raw == "'''" else self._ESCAPES.get(raw[3:], raw[3:])
                parts.append(("esc", piece))
            elif kind == "dollar_escape":
                continue  # the "$" itself follows as a fragment
            elif kind == "interpolation":
                piece = ""
                parts.append(("interp", child))
            else:
                continue
            first = False
            size += len(piece)
            if not self.string_fits(size):
                return self._budget
        if not (self.charge(size // 256) and self.build(chars=size)):
            return self._budget
        min_indent = math.inf
        at_start, cur = True, 0
        for kind, piece in parts:
            if kind != "lit":
                if at_start:
                    at_start = False
                    min_indent = min(min_indent, cur)
                continue
            lines = piece.split("\n")
            for i, line in enumerate(lines):
                if i > 0:
                    at_start, cur = True, 0
                if not at_start:
                    continue
                stripped = line.lstrip(" ")
                if stripped:
                    min_indent = min(min_indent, cur + len(line) - len(stripped))
                    at_start = False
                else:
                    cur += len(line)
        plan: list = []
        at_start, dropped = True, 0
        for index, (kind, piece) in enumerate(parts):
            if kind != "lit":
                at_start, dropped = False, 0
                plan.append(piece)
                continue
            lines = piece.split("\n")
            out_lines = []
            for i, line in enumerate(lines):
                if i > 0:
                    at_start, dropped = True, 0
                if at_start:
                    spaces = len(line) - len(line.lstrip(" "))
                    keep_from = max(0, min(spaces, min_indent - dropped)) if min_indent != math.inf else spaces
                    dropped += spaces
                    if spaces < len(line):
                        at_start = False
                    line = line[keep_from:]
                out_lines.append(line)
            chunk = "\n".join(out_lines)
            if index == len(parts) - 1:
                cut = chunk.rfind("\n")
                if cut != -1 and chunk[cut + 1 :].strip(" ") == "":
                    chunk = chunk[: cut + 1]
            plan.append(chunk)
        return plan

    def _eval_path(self, node, env):
        pieces = []
        for child in node.named_children:
            if child.type == "path_fragment":
                pieces.append(self.text(child))
            elif child.type == "interpolation":
                piece = self._interpolate(child, env)
                if isinstance(piece, Unresolved):
                    return piece
                pieces.append(piece)
        raw = "".join(pieces)
        if raw.startswith("/"):
            return NixPath(os.path.normpath(raw))
        return NixPath(os.path.normpath(os.path.join(self.base_dir, raw)))

    def _eval_parens(self, node, env):
        expr = node.child_by_field_name("expression")
        return self.eval(expr, env) if expr is not None else Unresolved("empty parentheses")

    def _eval_list(self, node, env):
        if not (self.list_fits(node.named_child_count) and self.build(cells=node.named_child_count)):
            return self._budget
        items = [Thunk(child, env) for child in node.named_children if child.type != "comment"]
        self.charge(len(items) // 64)
        return items
