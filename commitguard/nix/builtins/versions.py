"""Version and name builtins: ``splitVersion``, ``lib.versions.*``,
``compareVersions``, ``versionOlder``/``versionAtLeast``, ``parseDrvName``,
``getName``; the arithmetic is :mod:`commitguard.nix.versions`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commitguard.nix.builtins.args import INT, STRING, checked
from commitguard.nix.values import Attrs, Unresolved
from commitguard.nix.versions import compare_versions, parse_drv_name, split_version

if TYPE_CHECKING:
    from commitguard.nix.evaluator import Evaluator


@checked("splitVersion", STRING)
def split_version_fn(ev: Evaluator, v):
    return split_version(v)


def version_part(index: int, name: str):
    """``versions.major`` (0), ``minor`` (1), ``patch`` (2): one component."""

    @checked(name, STRING)
    def part(ev: Evaluator, v):
        parts = split_version(v)
        if index >= len(parts):
            return Unresolved(f"{name} of version {v!r}: too few components")
        return parts[index]

    return part


@checked("majorMinor", STRING)
def major_minor(ev: Evaluator, v):
    parts = split_version(v)
    if len(parts) < 2:
        return Unresolved(f"majorMinor of version {v!r}: too few components")
    return ".".join(parts[:2])


@checked("versions.pad", INT, STRING)
def version_pad(ev: Evaluator, n, v):
    parts = split_version(v)[: max(n, 0)]
    if not (ev.string_fits(len(v) + 2 * max(0, n - len(parts))) and ev.build(cells=max(n, 0))):
        return ev._budget
    parts += ["0"] * (n - len(parts))
    return ".".join(parts)


@checked("compareVersions", STRING, STRING)
def compare_versions_fn(ev: Evaluator, a, b):
    return compare_versions(a, b)


def version_older(ev: Evaluator, a, b):
    result = compare_versions_fn(ev, a, b)
    return result if isinstance(result, Unresolved) else result < 0


def version_at_least(ev: Evaluator, a, b):
    result = compare_versions_fn(ev, a, b)
    return result if isinstance(result, Unresolved) else result >= 0


@checked("parseDrvName", STRING)
def parse_drv_name_fn(ev: Evaluator, s):
    name, version = parse_drv_name(s)
    return Attrs({"name": name, "version": version})


def get_name(ev: Evaluator, x):
    """``lib.getName``: of a name string or of anything with a ``name``."""
    x = ev.force(x)
    if isinstance(x, str):
        return parse_drv_name(x)[0]
    name = ev.get_attr(x, "name")
    return name if isinstance(name, (str, Unresolved)) else Unresolved("getName of a value without a name")
