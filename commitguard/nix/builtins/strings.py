"""String builtins: ``toString``, ``concatStringsSep``, ``replaceStrings``,
prefixes and suffixes, ``splitString``, ``substring``, case.

Each result's size is checked before or as it is built (``string_fits``,
``build``): a pull request's expression must not grow a string past the
evaluator's limits, however it combines these.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from commitguard.nix.builtins.args import INT, LIST, STRING, checked, first_unresolved, strings
from commitguard.nix.builtins.lists import map_
from commitguard.nix.limits import MAX_DATA_DEPTH
from commitguard.nix.values import NixPath, Unresolved

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


def to_string(ev: Evaluator, value, depth: int = 0):
    """``toString``: every list is walked and charged (``walk``) each time it
    is met, so a list shared with itself a million times over
    (``a1 = [ a0 a0 ]``) costs what walking it costs; the result counts as
    characters built."""
    if depth > MAX_DATA_DEPTH:
        return Unresolved("toString of a list nested too deeply")
    value = ev.force(value)
    if isinstance(value, bool):
        return "1" if value else ""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, list):
        if not ev.walk(len(value)):
            return ev._budget
        parts = []
        size = 0
        for item in value:
            part = to_string(ev, item, depth + 1)
            if isinstance(part, Unresolved):
                return part
            size += len(part) + 1
            if not ev.string_fits(size):
                return ev._budget
            parts.append(part)
        if not ev.build(chars=size):
            return ev._budget
        return " ".join(parts)
    if isinstance(value, NixPath):
        return Unresolved("toString of a path depends on where the repository is checked out")
    return ev.coerce_to_string(value)


def throw(ev: Evaluator, message):
    """``throw`` and ``abort``: the evaluation Nix would stop, with its message."""
    message = ev.force(message)
    shown = message if isinstance(message, str) else "..."
    return Unresolved(f"throw: {shown[:200]}")


@checked("concatStringsSep", STRING, LIST)
def concat_strings_sep(ev: Evaluator, sep, items):
    if not ev.walk(len(items)):
        return ev._budget
    parts = []
    size = 0
    for item in items:
        item = ev.coerce_to_string(ev.force(item))
        if isinstance(item, Unresolved):
            return item
        size += len(item) + len(sep)
        if not ev.string_fits(size):
            return ev._budget
        parts.append(item)
    if not (ev.charge(size // 4096) and ev.build(chars=size)):
        return ev._budget
    return sep.join(parts)


def concat_strings(ev: Evaluator, items):
    return concat_strings_sep(ev, "", items)


def concat_map_strings(ev: Evaluator, fn, items):
    return concat_strings_sep(ev, "", map_(ev, fn, items))


def concat_map_strings_sep(ev: Evaluator, sep, fn, items):
    return concat_strings_sep(ev, sep, map_(ev, fn, items))


@checked("replaceStrings", LIST, LIST, STRING)
def replace_strings(ev: Evaluator, old, new, s):
    old = strings(ev, old, "replaceStrings")
    new = strings(ev, new, "replaceStrings")
    bad = first_unresolved(old, new)
    if bad:
        return bad
    if len(old) != len(new):
        return Unresolved("replaceStrings lists of different lengths")
    if "" not in old:
        return _replace_nonempty(ev, old, new, s) if old else s
    # An empty pattern matches between every two characters; Nix's own loop.
    if not ev.charge(len(s) * len(old) // 16 + 1):
        return ev._budget
    out: list[str] = []
    size = 0
    p = 0
    n = len(s)
    while p <= n:
        for pattern, replacement in zip(old, new):
            if s.startswith(pattern, p):
                out.append(replacement)
                size += len(replacement)
                if pattern:
                    p += len(pattern)
                else:
                    if p < n:
                        out.append(s[p])
                    p += 1
                break
        else:
            if p < n:
                out.append(s[p])
            p += 1
        size += 1
        if not ev.string_fits(size):
            return ev._budget
    if not ev.build(chars=size):
        return ev._budget
    return "".join(out)


def _replace_nonempty(ev: Evaluator, old: list[str], new: list[str], s: str):
    """``replaceStrings`` where no pattern is empty, at C speed."""
    # Python's alternation tries the patterns in order at each position,
    # which is Nix's rule: the first pattern in the list that matches wins.
    # Each match costs a Python call below; count them (at C speed) first.
    matches = sum(s.count(p) for p in set(old))
    if not ev.charge(len(s) * len(old) // 4096 + matches // 16 + 1):
        return ev._budget
    table = {}
    for pattern, replacement in zip(old, new):
        table.setdefault(pattern, replacement)
    # The result's size is known before it is made: each match changes it
    # by its replacement's length minus its own (an upper bound when matches overlap).
    grow = sum(s.count(p) * max(0, len(table[p]) - len(p)) for p in table)
    if not ev.string_fits(len(s) + grow):
        return ev._budget
    regex = re.compile("|".join(re.escape(p) for p in old))
    out = regex.sub(lambda m: table[m.group(0)], s)
    if not (ev.string_fits(len(out)) and ev.build(chars=len(out))):
        return ev._budget
    return out


@checked("removePrefix", STRING, STRING)
def remove_prefix(ev: Evaluator, prefix, s):
    return s[len(prefix) :] if s.startswith(prefix) else s


@checked("removeSuffix", STRING, STRING)
def remove_suffix(ev: Evaluator, suffix, s):
    return s[: len(s) - len(suffix)] if suffix and s.endswith(suffix) else s


@checked("hasPrefix", STRING, STRING)
def has_prefix(ev: Evaluator, prefix, s):
    return s.startswith(prefix)


@checked("hasSuffix", STRING, STRING)
def has_suffix(ev: Evaluator, suffix, s):
    return s.endswith(suffix)


@checked("splitString", STRING, STRING)
def split_string(ev: Evaluator, sep, s):
    if not sep:
        return Unresolved("splitString with an empty separator")
    if not (ev.list_fits(s.count(sep) + 1) and ev.build(cells=s.count(sep) + 1, chars=len(s))):
        return ev._budget
    return s.split(sep)


@checked("substring", INT, INT, STRING)
def substring(ev: Evaluator, start, length, s):
    if start < 0:
        return Unresolved("substring with a negative start")
    out = s[start:] if length < 0 else s[start : start + length]
    return out if ev.build(chars=len(out)) else ev._budget


@checked("stringLength", STRING)
def string_length(ev: Evaluator, s):
    return len(s.encode("utf-8"))


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _change_case(what: str, table: dict):
    """``toLower``/``toUpper``: ASCII letters only, as Nix's."""

    @checked(what, STRING)
    def change(ev: Evaluator, s):
        if not ev.build(chars=len(s)):
            return ev._budget
        return s.translate(table)

    return change


to_lower = _change_case("toLower", str.maketrans(_UPPER, _LOWER))
to_upper = _change_case("toUpper", str.maketrans(_LOWER, _UPPER))
