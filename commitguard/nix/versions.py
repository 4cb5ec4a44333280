"""Nix's version arithmetic: ``splitVersion``, ``compareVersions`` and
``parseDrvName``, as plain functions.

They are the evaluator's builtins of those names and also what the upstream
checks compare versions with, so both read a version the way Nix does (one
implementation: ``1.10`` is newer than ``1.9``, ``pre`` sorts first).
"""

from __future__ import annotations

import re

_VERSION_COMPONENT = re.compile(r"[0-9]+|[^0-9.\-]+")


def split_version(version: str) -> list[str]:
    """Nix's ``builtins.splitVersion``: runs of digits and runs of other
    characters, with ``.`` and ``-`` separating."""
    return _VERSION_COMPONENT.findall(version)


def _component_less(a: str, b: str) -> bool:
    a_num = a.isdigit() and a.isascii()
    b_num = b.isdigit() and b.isascii()
    if a_num and b_num:
        return int(a) < int(b)
    if a == "" and b_num:
        return True
    if a == "pre" and b != "pre":
        return True
    if b == "pre":
        return False
    if b_num:
        return True
    if a_num:
        return False
    return a < b


def compare_versions(a: str, b: str) -> int:
    """Nix's ``builtins.compareVersions``."""
    pa, pb = split_version(a), split_version(b)
    for i in range(max(len(pa), len(pb))):
        ca = pa[i] if i < len(pa) else ""
        cb = pb[i] if i < len(pb) else ""
        if _component_less(ca, cb):
            return -1
        if _component_less(cb, ca):
            return 1
    return 0


def parse_drv_name(name: str) -> tuple[str, str]:
    """Nix's ``builtins.parseDrvName``: the version starts at the first dash
    followed by something other than a letter."""
    for i, ch in enumerate(name):
        if ch == "-" and i + 1 < len(name) and not name[i + 1].isalpha():
            return name[:i], name[i + 1 :]
    return name, ""

