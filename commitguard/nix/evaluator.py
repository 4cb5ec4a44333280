"""A small, lazy, bounded evaluator for the Nix that package expressions use.

Package expressions build their fetcher arguments with a handful of
idioms (``rec``, ``let``, ``finalAttrs``, interpolation, ``lib.versions``,
JSON files beside the expression, per-platform attribute sets); reading
them needs those evaluated, not pattern-matched. Nix itself is not
required (CI machines and reviewers' laptops often lack it) and must not
be run on a pull request's code anyway.

Two rules shape everything here:

* Nothing is guessed. Whatever depends on something outside the file
  (``callPackage`` results, the store, ``lib`` functions not listed in
  :data:`BUILTINS`) evaluates to :class:`Unresolved` carrying the reason,
  and that propagates; a caller reports it instead of a value.
* The input is hostile. Evaluation is lazy like Nix (an unused attribute
  that cannot be evaluated costs nothing), every step and every value built
  is counted against the allowances of :mod:`commitguard.nix.limits`,
  nesting depth, string, list and file sizes are capped, and files are
  only read below ``root``. Exceeding a limit stops evaluation: the rest is
  :class:`Unresolved`, never an exception or a hang.

Values are plain Python where Nix has an obvious counterpart (``str``,
``int``, ``float``, ``bool``, ``None`` for null, ``list`` of thunks); the
classes below cover the rest.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from pathlib import Path

from commitguard.nix.limits import (  # noqa: F401  (MAX_* re-exported: callers import them from here)
    MAX_ATTRPATH,
    MAX_COLLECTION,
    MAX_DATA_DEPTH,
    MAX_DEPTH,
    MAX_READ_BYTES,
    MAX_STEPS,
    MAX_STRING,
    Limits,
)
from commitguard.nix.parser import text as node_text

# Fetchers named by the last component of the callee (``fetchurl``,
# ``pkgs.fetchurl``, ``python3Packages.fetchPypi``); any other ``fetch*``
# function of the package set is a fetcher too, read generically.
FETCHERS = frozenset(
    {
        "fetchurl",
        "fetchzip",
        "fetchpatch",
        "fetchpatch2",
        "fetchFromGitHub",
        "fetchFromGitLab",
        "fetchFromGitea",
        "fetchFromCodeberg",
        "fetchFromSourcehut",
        "fetchFromBitbucket",
        "fetchgit",
        "fetchsvn",
        "fetchhg",
        "fetchPypi",
        "fetchCrate",
    }
)
_FETCHER_RE = re.compile(r"^fetch[A-Z0-9][A-Za-z0-9]*$|^fetch(?:url|zip|git|svn|hg|patch2?|darcs|bzr|fossil)\w*$")
_BUILTIN_FETCHERS = {"fetchurl", "fetchTarball", "fetchGit", "fetchTree"}

BUILDERS = frozenset(
    {
        "mkDerivation",
        "buildPythonPackage",
        "buildPythonApplication",
        "buildGoModule",
        "buildGoPackage",
        "buildRustPackage",
        "buildNpmPackage",
        "buildDunePackage",
        "buildPerlPackage",
        "buildPerlModule",
        "buildRubyGem",
        "buildDotnetModule",
        "buildNimPackage",
        "buildLuarocksPackage",
        "buildPecl",
        "buildComposerProject",
        "buildComposerProject2",
        "buildMix",
        "mixRelease",
        "buildRebar3",
        "mkYarnPackage",
        "buildBazelPackage",
        "buildMavenPackage",
        "buildDartApplication",
        "buildFlutterApplication",
        "buildDenoPackage",
        "buildVimPlugin",
        "buildKodiAddon",
        "buildOctavePackage",
        "buildRPackage",
        "buildHomeAssistantComponent",
        "buildZigPackage",
        "buildGoApplication",
    }
)
_BUILDER_RE = re.compile(
    r"^build[A-Z]\w*(?:Package|Module|Application|Project|Plugin|Component|Gem|Extension|Crate)$|^mk\w*Derivation$"
)


def is_fetcher_name(path: str) -> str | None:
    """The fetcher a callee path names (``builtins.fetchurl`` keeps its
    prefix: it is Nix's own fetcher, not nixpkgs'), or None."""
    parts = path.split(".")
    if parts[0] == "builtins":
        return "builtins." + parts[1] if len(parts) == 2 and parts[1] in _BUILTIN_FETCHERS else None
    if parts[0] == "lib":
        return None
    last = parts[-1]
    if last in FETCHERS or _FETCHER_RE.match(last):
        return last
    return None


def is_builder_name(path: str) -> str | None:
    parts = path.split(".")
    if parts[0] in ("lib", "builtins"):
        return None
    last = parts[-1]
    if last in BUILDERS or _BUILDER_RE.match(last):
        return last
    return None


class Unresolved:
    """A value that cannot be known statically; ``reason`` says why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unresolved({self.reason!r})"


class _Missing:
    """An attribute that is certainly absent (so ``or`` defaults apply)."""

    __slots__ = ()


MISSING = _Missing()


class _NotASet:
    __slots__ = ()


NOT_A_SET = _NotASet()


class Thunk:
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


class Attrs:
    """An attribute set; ``incomplete`` when a dynamic key could not be
    evaluated, so that a missing name is unknown rather than absent."""

    __slots__ = ("items", "incomplete")

    def __init__(self, items: dict, incomplete: bool = False):
        self.items = items
        self.incomplete = incomplete


class Lambda:
    __slots__ = ("node", "env")

    def __init__(self, node, env: Env):
        self.node = node
        self.env = env


class Builtin:
    __slots__ = ("name", "arity", "fn", "args")

    def __init__(self, name: str, arity: int, fn, args: tuple = ()):
        self.name = name
        self.arity = arity
        self.fn = fn
        self.args = args


class External:
    """Something the package set passes in (``lib``, ``stdenv``, ``fetchurl``,
    ``python3Packages``...), known only by its attribute path."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path

    def __repr__(self) -> str:
        return f"External({self.path})"


class NixPath:
    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


class FetcherValue:
    """The result of calling a fetcher: its arguments, kept lazy, and the call site."""

    __slots__ = ("fetcher", "args", "node", "index")

    def __init__(self, fetcher: str, args, node, index: int):
        self.fetcher = fetcher
        self.args = args
        self.node = node
        self.index = index


class Derivation:
    """The result of a builder such as ``stdenv.mkDerivation``; also what
    ``finalAttrs`` is bound to, since both read the same final attributes."""

    __slots__ = ("builder", "attrs", "node")

    def __init__(self, builder: str, attrs, node):
        self.builder = builder
        self.attrs = attrs  # a Thunk of the final attribute set
        self.node = node


# Attributes a fetcher's result exposes that are its own arguments, by
# fetcher family; anything else (``outPath``...) depends on the store.
_GIT_FORGES = {
    "fetchFromGitHub",
    "fetchFromGitLab",
    "fetchFromGitea",
    "fetchFromCodeberg",
    "fetchFromSourcehut",
    "fetchFromBitbucket",
}
_FETCHER_RESULT_ATTRS = {
    "forge": ("owner", "repo", "tag"),
    "url": ("url", "urls"),
    "vcs": ("url", "rev", "tag"),
    "crate": ("pname", "version"),
}

_LINUX_LIKE = {"linux", "darwin", "freebsd", "openbsd", "netbsd", "cygwin", "solaris", "illumos"}


def _platform_attr(system: str, name: str):
    arch, _, kernel = system.partition("-")
    is_i686 = arch in ("i686", "i586", "i486", "i386")
    is_arm32 = arch.startswith("arm")
    is_64 = arch in ("x86_64", "aarch64", "riscv64", "powerpc64", "powerpc64le", "mips64el", "s390x", "loongarch64")
    table = {
        "system": system,
        "isLinux": kernel == "linux",
        "isDarwin": kernel == "darwin",
        "isFreeBSD": kernel == "freebsd",
        "isOpenBSD": kernel == "openbsd",
        "isWindows": kernel in ("windows", "mingw32", "w64-mingw32"),
        "isCygwin": kernel == "cygwin",
        "isUnix": kernel in _LINUX_LIKE,
        "isx86_64": arch == "x86_64",
        "isi686": is_i686,
        "isx86": arch == "x86_64" or is_i686,
        "isAarch64": arch == "aarch64",
        "isAarch32": is_arm32,
        "isAarch": arch == "aarch64" or is_arm32,
        "isRiscV": arch.startswith("riscv"),
        "is64bit": is_64,
        "is32bit": not is_64,
    }
    return table.get(name, MISSING)


_PLATFORM_NAMES = ("hostPlatform", "buildPlatform", "targetPlatform")

_CONSTANTS = {
    "fakeHash": "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "fakeSha256": "0" * 52,
    "fakeSha512": "0" * 128,
}


def _canonical_lib(path: str) -> str | None:
    """``lib.strings.toLower`` / ``builtins.toLower`` / ``pkgs.lib.toLower`` -> ``toLower``;
    None for paths that are not into ``lib`` or ``builtins``."""
    parts = path.split(".")
    if parts and parts[0] == "pkgs":
        parts = parts[1:]
    if not parts or parts[0] not in ("lib", "builtins"):
        return None
    parts = parts[1:]
    while parts and parts[0] in ("strings", "lists", "attrsets", "trivial", "fileset_internal"):
        parts = parts[1:]
    return ".".join(parts) if parts else None


class Evaluator(Limits):
    """Evaluates one parsed file; ``fetches`` collects every fetcher result
    created, in creation order. The accounting (``charge``, ``build``,
    ``stop``, ``exhausted``, ``limit_note``) is :class:`Limits`."""

    def __init__(
        self,
        source: bytes,
        tree,
        path: Path,
        *,
        root: Path | None = None,
        system: str = "x86_64-linux",
        max_steps: int = MAX_STEPS,
    ):
        self.source = source
        self.tree = tree
        self.file = Path(os.path.abspath(path))
        self.base_dir = str(self.file.parent)
        self.root = os.path.realpath(root if root is not None else self.file.parent)
        self.system = system
        self._init_limits(max_steps)
        self.depth = 0
        self.fetches: list[FetcherValue] = []
        self.scopes: dict[int, Env] = {}
        self._indented_plans: dict[int, object] = {}
        self.global_env = Env(None, self._globals())
        self._handlers = {
            "source_code": self._eval_source,
            "integer_expression": self._eval_int,
            "float_expression": self._eval_float,
            "string_expression": self._eval_string,
            "indented_string_expression": self._eval_indented,
            "path_expression": self._eval_path,
            "hpath_expression": lambda n, e: Unresolved("a path in the home directory"),
            "spath_expression": lambda n, e: Unresolved(f"search path {self.text(n)}"),
            "uri_expression": lambda n, e: self.text(n),
            "variable_expression": self._eval_variable,
            "select_expression": self._eval_select,
            "has_attr_expression": self._eval_has_attr,
            "apply_expression": self._eval_apply,
            "function_expression": lambda n, e: Lambda(n, e),
            "let_expression": self._eval_let,
            "let_attrset_expression": self._eval_let_attrset,
            "attrset_expression": self._eval_attrset,
            "rec_attrset_expression": self._eval_rec_attrset,
            "with_expression": self._eval_with,
            "assert_expression": self._eval_assert,
            "if_expression": self._eval_if,
            "unary_expression": self._eval_unary,
            "binary_expression": self._eval_binary,
            "parenthesized_expression": self._eval_parens,
            "list_expression": self._eval_list,
        }

    # ----------------------------------------------------------------- core

    def text(self, node) -> str:
        return node_text(node, self.source)

    def eval(self, node, env: Env):
        """The value of ``node`` in ``env``, in weak head normal form."""
        if not self.charge():
            return self._budget
        if self.depth >= MAX_DEPTH:
            return Unresolved(f"expression nested deeper than {MAX_DEPTH} evaluation levels")
        handler = self._handlers.get(node.type)
        if handler is None:
            if node.type == "ERROR" or node.is_missing:
                return Unresolved("syntax error")
            return Unresolved(f"unsupported Nix construct {node.type}")
        self.depth += 1
        try:
            return handler(node, env)
        finally:
            self.depth -= 1

    def force(self, value):
        if type(value) is not Thunk:
            return value
        if value.state == 2:
            return value.value
        if value.state == 1:
            return Unresolved("infinite recursion")
        if self.depth >= MAX_DEPTH:
            return Unresolved(f"expression nested deeper than {MAX_DEPTH} evaluation levels")
        value.state = 1
        self.depth += 1
        try:
            result = self.eval(value.node, value.env) if value.fn is None else value.fn()
        finally:
            self.depth -= 1
        value.value = result
        value.state = 2
        value.node = value.env = value.fn = None
        return result

    def evaluate_file(self):
        """The file's value; a file that is a function is called the way
        ``callPackage`` calls it."""
        value = self.eval(self.tree.root_node, self.global_env)
        if isinstance(value, Lambda):
            value = self.call_package(value)
        return value

    def call_package(self, lam: Lambda):
        """Apply ``{ lib, stdenv, fetchurl, withFoo ? true, ... }:`` as
        callPackage would: names the package set provides stay
        :class:`External`; a formal with a default takes it (callPackage
        passes only what the set has, and flags like ``withFoo`` are not in
        it); a default that cannot be evaluated (``pkgs ? import <nixpkgs> {}``)
        stands for the package set's attribute of that name."""
        node = lam.node
        env = Env(lam.env, {})
        formals = node.child_by_field_name("formals")
        universal = node.child_by_field_name("universal")
        items: dict = {}
        if formals is not None:
            for formal in formals.named_children:
                if formal.type != "formal":
                    continue
                name_node = formal.child_by_field_name("name")
                if name_node is None or name_node.is_missing:
                    continue
                name = self.text(name_node)
                default = formal.child_by_field_name("default")
                if default is None:
                    items[name] = self.system if name == "system" else External(name)
                else:
                    items[name] = Thunk(fn=self._default_or_external(default, env, name))
            env.vars.update(items)
        if universal is not None:
            name = self.text(universal)
            env.vars[name] = Attrs(dict(items), incomplete=True) if formals is not None else External(name)
        self.scopes.setdefault(node.id, env)
        body = node.child_by_field_name("body")
        return self.eval(body, env) if body is not None else Unresolved("function without a body")

    def _default_or_external(self, default, env, name):
        def compute():
            value = self.eval(default, env)
            return External(name) if isinstance(value, Unresolved) and not self.exhausted else value

        return compute

    # ------------------------------------------------------------ literals

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
        parts: list[str] = []
        size = 0
        for child in node.named_children:
            kind = child.type
            if kind == "string_fragment":
                piece = self.text(child)
            elif kind == "escape_sequence":
                raw = self.text(child)
                piece = self._ESCAPES.get(raw[1:], raw[1:])
            elif kind == "dollar_escape":
                # tree-sitter-nix covers only the backslash (or '') here; the
                # escaped "$" follows as an ordinary fragment.
                continue
            elif kind == "interpolation":
                piece = self._interpolate(child, env)
                if isinstance(piece, Unresolved):
                    return piece
            else:
                continue
            size += len(piece)
            if not self.string_fits(size):
                return self._budget
            parts.append(piece)
        if not (self.charge(size // 4096) and self.build(chars=size)):
            return self._budget
        return "".join(parts)

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
        out: list[str] = []
        size = 0
        for piece in plan:
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

    # ----------------------------------------------------------- variables

    def _globals(self) -> dict:
        values = {"true": True, "false": False, "null": None, "builtins": External("builtins")}
        for name in (
            "toString",
            "map",
            "throw",
            "abort",
            "import",
            "baseNameOf",
            "dirOf",
            "isNull",
            "removeAttrs",
            "placeholder",
            "derivation",
            "fetchTarball",
            "fetchGit",
        ):
            values[name] = External("builtins." + name)
        return values

    def lookup(self, name: str, env: Env):
        scope = env
        while scope is not None:
            if scope.vars is not None and name in scope.vars:
                return self.force(scope.vars[name])
            scope = scope.parent
        scope = env
        while scope is not None:
            if scope.with_value is not None:
                namespace = self.force(scope.with_value)
                found = self.get_attr(namespace, name, definite=True)
                if found is not MISSING and found is not NOT_A_SET:
                    return found
            scope = scope.parent
        return Unresolved(f"undefined variable {name}")

    def _eval_variable(self, node, env):
        name_node = node.child_by_field_name("name")
        return self.lookup(self.text(name_node if name_node is not None else node), env)

    # ----------------------------------------------------------- selection

    def attr_key(self, part, env):
        """The name an attrpath element stands for: a str, None (``${null}``,
        which Nix skips) or Unresolved."""
        if part.type == "identifier":
            return self.text(part)
        if part.type == "string_expression":
            return self._eval_string(part, env)
        if part.type == "interpolation":
            expr = part.child_by_field_name("expression")
            value = self.eval(expr, env) if expr is not None else Unresolved("empty interpolation")
            if value is None or isinstance(value, (str, Unresolved)):
                return value
            return Unresolved(f"attribute name is {self.type_name(value)}, not a string")
        return Unresolved(f"unsupported attribute name {part.type}")

    def _attrpath_parts(self, node):
        """The parts of an attribute path, or the limit's Unresolved for a path
        longer than ``MAX_ATTRPATH``."""
        if node is None:
            return []
        if not self.path_fits(node.named_child_count) or not self.walk(node.named_child_count):
            return self._budget
        return [c for c in node.named_children if c.type != "comment"]

    def _eval_select(self, node, env):
        base = node.child_by_field_name("expression")
        path = node.child_by_field_name("attrpath")
        default = node.child_by_field_name("default")
        value = self.eval(base, env)
        parts = self._attrpath_parts(path)
        if isinstance(parts, Unresolved):
            return parts
        for part in parts:
            key = self.attr_key(part, env)
            if isinstance(key, Unresolved):
                return key
            if key is None:
                return Unresolved("attribute name is null")
            found = self.get_attr(value, key)
            if found is MISSING or found is NOT_A_SET:
                if default is not None:
                    return self.eval(default, env)
                if found is NOT_A_SET:
                    return Unresolved(f"cannot select '{key}' from {self.type_name(value)}")
                return Unresolved(f"attribute '{key}' missing")
            value = found
            if isinstance(value, Unresolved):
                return value
        return value

    def _eval_has_attr(self, node, env):
        value = self.eval(node.child_by_field_name("expression"), env)
        parts = self._attrpath_parts(node.child_by_field_name("attrpath"))
        if isinstance(parts, Unresolved):
            return parts
        for part in parts:
            key = self.attr_key(part, env)
            if isinstance(key, Unresolved):
                return key
            found = self.get_attr(value, key) if key is not None else MISSING
            if found is MISSING or found is NOT_A_SET:
                return False
            if isinstance(found, Unresolved):
                return found
            value = found
        return True

    def get_attr(self, value, key: str, definite: bool = False):
        """``value.key``: the value, :data:`MISSING`, :data:`NOT_A_SET` or Unresolved.

        ``definite`` is for ``with`` lookups, where a name the namespace does
        not certainly have must fall through to the next ``with``.
        """
        if isinstance(value, Attrs):
            item = value.items.get(key)
            if item is None:
                if key in value.items:
                    return None
                return Unresolved(f"attribute '{key}' of a set with dynamic attributes") if value.incomplete else MISSING
            return self.force(item)
        if isinstance(value, External):
            return self._external_attr(value, key)
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, Derivation):
            return self._derivation_attr(value, key, definite)
        if isinstance(value, FetcherValue):
            return self._fetcher_attr(value, key, definite)
        return NOT_A_SET

    def _external_attr(self, value: External, key: str):
        path = f"{value.path}.{key}"
        parts = path.split(".")
        if parts[0] == "pkgs":
            parts = parts[1:]
        owner = parts[-2] if len(parts) >= 2 else ""
        if owner in _PLATFORM_NAMES or owner.endswith("tdenv") or owner.endswith("tdenvNoCC"):
            # stdenv.hostPlatform.system, stdenv.isLinux, hostPlatform.isDarwin:
            # all follow from the system being evaluated for.
            result = _platform_attr(self.system, key)
            if result is not MISSING:
                return result
        if len(parts) >= 4 and parts[-4] in _PLATFORM_NAMES and parts[-3] == "parsed" and key == "name":
            if parts[-2] == "cpu":
                return self.system.partition("-")[0]
            if parts[-2] == "kernel":
                return self.system.partition("-")[2]
        canonical = _canonical_lib(path)
        if canonical in _CONSTANTS:
            return _CONSTANTS[canonical]
        if canonical == "currentSystem" or parts == ["system"]:
            return self.system
        return External(path)

    def _derivation_attrs(self, drv: Derivation):
        attrs = self.force(drv.attrs)
        return attrs

    def _derivation_attr(self, drv: Derivation, key: str, definite: bool):
        attrs = self._derivation_attrs(drv)
        if isinstance(attrs, Unresolved):
            return attrs
        if not isinstance(attrs, Attrs):
            return Unresolved(f"{drv.builder} was given {self.type_name(attrs)}")
        if key in attrs.items:
            return self.force(attrs.items[key])
        if key == "finalPackage":
            return drv
        if key == "name" and drv.builder == "mkDerivation":
            pname = self.force(attrs.items["pname"]) if "pname" in attrs.items else MISSING
            version = self.force(attrs.items["version"]) if "version" in attrs.items else MISSING
            if isinstance(pname, str) and isinstance(version, str):
                return f"{pname}-{version}"
            if isinstance(pname, Unresolved):
                return pname
            if isinstance(version, Unresolved):
                return version
        passthru = self.force(attrs.items["passthru"]) if "passthru" in attrs.items else None
        if isinstance(passthru, Attrs) and key in passthru.items:
            return self.force(passthru.items[key])
        if definite:
            return MISSING
        return Unresolved(f"attribute '{key}' of a {drv.builder} result is not known statically")

    def _fetcher_family(self, fetcher: str) -> str:
        if fetcher in _GIT_FORGES:
            return "forge"
        if fetcher in ("fetchgit", "fetchsvn", "fetchhg", "builtins.fetchGit"):
            return "vcs"
        if fetcher == "fetchCrate":
            return "crate"
        return "url"

    def _fetcher_attr(self, fv: FetcherValue, key: str, definite: bool):
        args = self.force(fv.args)
        if isinstance(args, Unresolved):
            return args
        if not isinstance(args, Attrs):
            return Unresolved(f"{fv.fetcher} was given {self.type_name(args)}")
        family = self._fetcher_family(fv.fetcher)
        if family == "forge" and key == "rev":
            # fetchFromGitHub/GitLab expose the tag as the ref they fetched.
            tag = self.force(args.items["tag"]) if "tag" in args.items else None
            if isinstance(tag, Unresolved):
                return tag
            if isinstance(tag, str):
                return f"refs/tags/{tag}"
            return self.force(args.items["rev"]) if "rev" in args.items else None
        if key in _FETCHER_RESULT_ATTRS[family]:
            if key in args.items:
                return self.force(args.items[key])
            if family == "forge" and key == "tag":
                return None
        if definite:
            return MISSING
        return Unresolved(f"attribute '{key}' of a {fv.fetcher} result is not known statically")

    # --------------------------------------------------------- application

    def _eval_apply(self, node, env):
        fn = self.eval(node.child_by_field_name("function"), env)
        arg_node = node.child_by_field_name("argument")
        return self.apply(fn, Thunk(arg_node, env), node)

    def apply(self, fn, arg, node=None):
        if isinstance(fn, Lambda):
            return self._apply_lambda(fn, arg)
        if isinstance(fn, Builtin):
            args = fn.args + (arg,)
            if len(args) < fn.arity:
                return Builtin(fn.name, fn.arity, fn.fn, args)
            if not self.charge():
                return self._budget
            if self.depth >= MAX_DEPTH:
                return Unresolved(f"expression nested deeper than {MAX_DEPTH} evaluation levels")
            self.depth += 1
            try:
                return fn.fn(self, *args)
            finally:
                self.depth -= 1
        if isinstance(fn, External):
            return self._apply_external(fn, arg, node)
        if isinstance(fn, Unresolved):
            return fn
        if isinstance(fn, Attrs) and "__functor" in fn.items:
            functor = self.force(fn.items["__functor"])
            return self.apply(self.apply(functor, fn), arg, node)
        return Unresolved(f"cannot call {self.type_name(fn)}")

    def _apply_lambda(self, fn: Lambda, arg):
        node = fn.node
        env = Env(fn.env, {})
        universal = node.child_by_field_name("universal")
        formals = node.child_by_field_name("formals")
        if universal is not None:
            env.vars[self.text(universal)] = arg
        if formals is not None:
            given = self.force(arg)
            for formal in formals.named_children:
                if formal.type != "formal":
                    continue
                name_node = formal.child_by_field_name("name")
                if name_node is None or name_node.is_missing:
                    continue
                name = self.text(name_node)
                default = formal.child_by_field_name("default")
                found = self.get_attr(given, name, definite=isinstance(given, Derivation))
                if found is NOT_A_SET:
                    env.vars[name] = Unresolved(f"function called with {self.type_name(given)}, not a set")
                elif found is MISSING:
                    env.vars[name] = (
                        Thunk(default, env) if default is not None else Unresolved(f"argument '{name}' missing")
                    )
                else:
                    env.vars[name] = found
        self.scopes.setdefault(node.id, env)
        body = node.child_by_field_name("body")
        return self.eval(body, env)

    def _apply_external(self, fn: External, arg, node):
        fetcher = is_fetcher_name(fn.path)
        if fetcher is not None:
            value = FetcherValue(fetcher, arg, node, len(self.fetches))
            if len(self.fetches) < MAX_COLLECTION:
                self.fetches.append(value)
            return value
        builder = is_builder_name(fn.path)
        if builder is not None:
            return self._derivation(builder, arg, node)
        canonical = _canonical_lib(fn.path)
        spec = BUILTINS.get(canonical) if canonical is not None else None
        if spec is not None:
            arity, impl = spec
            return self.apply(Builtin(canonical, arity, impl), arg, node)
        return Unresolved(f"call to {fn.path}, which is not known statically")

    def _derivation(self, builder: str, arg, node):
        holder: list = []

        def final_attrs():
            given = self.force(arg)
            if isinstance(given, Lambda):
                # finalAttrs: the function receives the final attributes,
                # i.e. its own result (lazily, so this is a fixed point).
                return self.apply(given, holder[0])
            return given

        drv = Derivation(builder, Thunk(fn=final_attrs), node)
        holder.append(drv)
        return drv

    # -------------------------------------------------------------- scopes

    def _binding_set(self, node):
        for child in node.children:
            if child.type == "binding_set":
                return child
        return None

    def _bind(self, binding_set, value_env: Env, inherit_env: Env, inherit_from_env: Env) -> Attrs:
        """The attribute set a binding set defines; values stay lazy."""
        items: dict = {}
        nested: dict[str, list] = {}
        incomplete = False
        if binding_set is None:
            return Attrs(items)
        for binding in binding_set.named_children:
            self.charge()
            kind = binding.type
            if kind == "binding":
                path_node = binding.child_by_field_name("attrpath")
                expr = binding.child_by_field_name("expression")
                if path_node is None or expr is None:
                    incomplete = True
                    continue
                parts = self._attrpath_parts(path_node)
                if not parts or isinstance(parts, Unresolved):
                    incomplete = incomplete or isinstance(parts, Unresolved)
                    continue
                key = self.attr_key(parts[0], inherit_env)
                if key is None:
                    continue
                if isinstance(key, Unresolved):
                    incomplete = True
                    continue
                if len(parts) == 1:
                    if key in items or key in nested:
                        items[key] = Unresolved(f"attribute '{key}' defined more than once")
                        nested.pop(key, None)
                    else:
                        items[key] = Thunk(expr, value_env)
                else:
                    if key in items and key not in nested:
                        items[key] = Unresolved(f"attribute '{key}' defined both whole and by path")
                        continue
                    nested.setdefault(key, []).append((parts, 1, expr))
                    items[key] = None  # placeholder, replaced below
            elif kind == "inherit":
                names = self._inherited_names(binding, inherit_env)
                if not self.walk(len(names)):
                    break
                for name in names:
                    if isinstance(name, Unresolved):
                        incomplete = True
                        continue
                    items[name] = Thunk(fn=self._lookup_later(name, inherit_env))
            elif kind == "inherit_from":
                source_node = binding.child_by_field_name("expression")
                source = Thunk(source_node, inherit_from_env)
                names = self._inherited_names(binding, inherit_env)
                if not self.walk(len(names)):
                    break
                for name in names:
                    if isinstance(name, Unresolved):
                        incomplete = True
                        continue
                    items[name] = Thunk(fn=self._select_later(source, name))
        for key, entries in nested.items():
            items[key] = Thunk(fn=self._nested_later(entries, value_env, inherit_env))
        if not (self.set_fits(len(items)) and self.build(cells=len(items))):
            return Attrs({}, incomplete=True)
        return Attrs(items, incomplete)

    def _inherited_names(self, binding, env):
        attrs = binding.child_by_field_name("attrs")
        if attrs is None:
            return []
        names = []
        for part in attrs.named_children:
            if part.type == "comment":
                continue
            key = self.attr_key(part, env)
            if key is not None:
                names.append(key)
        return names

    def _lookup_later(self, name, env):
        return lambda: self.lookup(name, env)

    def _select_later(self, source: Thunk, name: str):
        def select():
            found = self.get_attr(self.force(source), name)
            if found is MISSING or found is NOT_A_SET:
                return Unresolved(f"inherited attribute '{name}' missing")
            return found

        return select

    def _nested_later(self, entries, value_env, key_env):
        """``a.b = 1; a.c = 2;`` as ``a = { b = 1; c = 2; }``, built when ``a``
        is used. ``entries`` are (path parts, index of the next part, value):
        a long path is walked by index, never copied per level."""

        def build():
            items: dict = {}
            deeper: dict[str, list] = {}
            incomplete = False
            if not self.build(cells=len(entries)):
                return self._budget
            for parts, at, expr in entries:
                if not self.charge():
                    return self._budget
                key = self.attr_key(parts[at], key_env)
                if key is None:
                    continue
                if isinstance(key, Unresolved):
                    incomplete = True
                    continue
                if at == len(parts) - 1:
                    if key in items or key in deeper:
                        items[key] = Unresolved(f"attribute '{key}' defined more than once")
                        deeper.pop(key, None)
                    else:
                        items[key] = Thunk(expr, value_env)
                else:
                    deeper.setdefault(key, []).append((parts, at + 1, expr))
            for key, more in deeper.items():
                if key in items and isinstance(items[key], Unresolved):
                    continue
                items[key] = Thunk(fn=self._nested_later(more, value_env, key_env))
            return Attrs(items, incomplete)

        return build

    def _rec_env(self, node, env: Env) -> tuple[Env, Attrs]:
        inner = Env(env, {})
        attrs = self._bind(self._binding_set(node), inner, env, inner)
        inner.vars = attrs.items
        self.scopes.setdefault(node.id, inner)
        return inner, attrs

    def _eval_attrset(self, node, env):
        return self._bind(self._binding_set(node), env, env, env)

    def _eval_rec_attrset(self, node, env):
        return self._rec_env(node, env)[1]

    def _eval_let(self, node, env):
        inner, _ = self._rec_env(node, env)
        body = node.child_by_field_name("body")
        return self.eval(body, inner) if body is not None else Unresolved("let without a body")

    def _eval_let_attrset(self, node, env):
        inner, attrs = self._rec_env(node, env)
        if "body" not in attrs.items:
            return Unresolved("let { } without body")
        return self.force(attrs.items["body"])

    def _eval_with(self, node, env):
        inner = Env(env, with_value=Thunk(node.child_by_field_name("environment"), env))
        self.scopes.setdefault(node.id, inner)
        return self.eval(node.child_by_field_name("body"), inner)

    def scope_into(self, parent, child, env: Env) -> Env:
        """The scope ``child`` is evaluated in, given ``parent``'s.

        Used for code that evaluation never reached (a fetcher inside a
        function nobody calls in this file, the other platforms' sources):
        the scopes evaluation did build are reused, the others are built
        here, with the arguments of never-called functions unresolved.
        """
        kind = parent.type
        if kind in ("let_expression", "rec_attrset_expression", "let_attrset_expression"):
            known = self.scopes.get(parent.id)
            return known if known is not None else self._rec_env(parent, env)[0]
        if kind == "function_expression":
            body = parent.child_by_field_name("body")
            if body is not None and body.id != child.id and child.type != "formals":
                return env
            known = self.scopes.get(parent.id)
            if known is not None:
                return known
            inner = Env(env, {})
            reason = Unresolved("argument of a function that is not called in this file")
            universal = parent.child_by_field_name("universal")
            if universal is not None:
                inner.vars[self.text(universal)] = reason
            formals = parent.child_by_field_name("formals")
            if formals is not None:
                for formal in formals.named_children:
                    name_node = formal.child_by_field_name("name") if formal.type == "formal" else None
                    if name_node is not None and not name_node.is_missing:
                        inner.vars[self.text(name_node)] = reason
            self.scopes[parent.id] = inner
            return inner
        if kind == "with_expression":
            body = parent.child_by_field_name("body")
            if body is None or body.id != child.id:
                return env
            known = self.scopes.get(parent.id)
            if known is not None:
                return known
            inner = Env(env, with_value=Thunk(parent.child_by_field_name("environment"), env))
            self.scopes[parent.id] = inner
            return inner
        return env

    # ------------------------------------------------------------ control

    def _eval_assert(self, node, env):
        condition = self.eval(node.child_by_field_name("condition"), env)
        if condition is False:
            return Unresolved("assertion failed")
        # An assertion that holds, or that cannot be checked here, does not
        # change the value; only a failing one stops evaluation.
        return self.eval(node.child_by_field_name("body"), env)

    def _eval_if(self, node, env):
        condition = self.eval(node.child_by_field_name("condition"), env)
        if condition is True:
            return self.eval(node.child_by_field_name("consequence"), env)
        if condition is False:
            return self.eval(node.child_by_field_name("alternative"), env)
        if isinstance(condition, Unresolved):
            return Unresolved(f"condition: {condition.reason}")
        if isinstance(condition, External):
            return Unresolved(f"condition {condition.path} is not known statically")
        return Unresolved(f"condition is {self.type_name(condition)}, not a Boolean")

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
            if not (_is_number(left) and _is_number(right)):
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
        if _is_number(left) and _is_number(right):
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
            left = self._derivation_attrs(left)
        if isinstance(right, Derivation):
            right = self._derivation_attrs(right)
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
        if _is_number(left) and _is_number(right):
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
        if _is_number(left) and _is_number(right):
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

    # ------------------------------------------------------------- helpers

    @staticmethod
    def type_name(value) -> str:
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

    def read_file(self, value) -> str | Unresolved:
        """A file's text, only below ``root`` and only small ones: the
        expression is untrusted and must not make us read ``/etc/shadow``
        or a multi-gigabyte file."""
        if isinstance(value, Unresolved):
            return value
        if isinstance(value, str) and value.startswith("/"):
            value = NixPath(value)
        if not isinstance(value, NixPath):
            return Unresolved(f"cannot read {self.type_name(value)} as a file")
        real = os.path.realpath(value.path)
        if os.path.commonpath([real, self.root]) != self.root:
            return Unresolved(f"{value.path} is outside the repository")
        try:
            if not os.path.isfile(real):
                return Unresolved(f"{self.display_path(value)} is not a file")
            with open(real, "rb") as handle:
                data = handle.read(MAX_READ_BYTES + 1)
        except OSError as exc:
            return Unresolved(f"cannot read {self.display_path(value)}: {exc.strerror}")
        if len(data) > MAX_READ_BYTES:
            return Unresolved(f"{self.display_path(value)} is larger than {MAX_READ_BYTES} bytes")
        if not self.charge(len(data) // 1024):
            return self._budget
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return Unresolved(f"{self.display_path(value)} is not UTF-8")

    def display_path(self, value: NixPath) -> str:
        rel = os.path.relpath(value.path, self.base_dir)
        return rel if rel.startswith("..") else "./" + rel

    def from_data(self, data, depth: int = 0):
        """JSON/TOML data as Nix values."""
        if depth > MAX_DATA_DEPTH:
            return Unresolved(f"data nested deeper than {MAX_DATA_DEPTH}")
        if not self.charge():
            return self._budget
        if isinstance(data, dict):
            if not (self.set_fits(len(data)) and self.build(cells=len(data))):
                return self._budget
            return Attrs({str(k): self.from_data(v, depth + 1) for k, v in data.items()})
        if isinstance(data, list):
            if not (self.list_fits(len(data)) and self.build(cells=len(data))):
                return self._budget
            return [self.from_data(v, depth + 1) for v in data]
        if isinstance(data, (str, bool, int, float)) or data is None:
            return data
        return str(data)  # TOML dates and times, as Nix's fromTOML gives them

    def to_python(self, value, depth: int = 0, fetcher_refs: bool = False):
        """A fully evaluated plain-Python copy of ``value``, or Unresolved.

        With ``fetcher_refs`` a fetcher result (``fetchCargoVendor { inherit
        src; }``) becomes ``{"fetcher": ..., "line": ...}``: it is reported as
        a call of its own, so naming it is enough to know what it is.
        """
        value = self.force(value)
        if depth > MAX_DATA_DEPTH:
            return Unresolved("value nested too deeply")
        if not self.charge():
            return self._budget
        if value is None or isinstance(value, (str, bool, int, float, Unresolved)):
            return value
        if isinstance(value, NixPath):
            return self.display_path(value)
        if isinstance(value, list):
            out = []
            for item in value:
                item = self.to_python(item, depth + 1, fetcher_refs)
                if isinstance(item, Unresolved):
                    return item
                out.append(item)
            return out
        if isinstance(value, Attrs):
            if value.incomplete:
                return Unresolved("set with dynamic attributes")
            out = {}
            for key, item in value.items.items():
                item = self.to_python(item, depth + 1, fetcher_refs)
                if isinstance(item, Unresolved):
                    return item
                out[key] = item
            return out
        if isinstance(value, External):
            return Unresolved(f"{value.path} is not known statically")
        if fetcher_refs and isinstance(value, FetcherValue):
            line = value.node.start_point[0] + 1 if value.node is not None else None
            return {"fetcher": value.fetcher, "line": line}
        return Unresolved(f"{self.type_name(value)} is not plain data")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------- builtins
#
# Each takes the evaluator and its arguments (thunks), forces what it needs
# and returns a value. Only pure functions whose result is fully determined
# by their arguments belong here.


def _str_arg(ev: Evaluator, value, what: str):
    value = ev.force(value)
    if isinstance(value, str):
        # Builtins walk their strings; long ones cost budget accordingly.
        return value if ev.charge(len(value) // 1024) else ev._budget
    if isinstance(value, Unresolved):
        return value
    if isinstance(value, External):
        return Unresolved(f"{value.path} is not known statically")
    return Unresolved(f"{what} expects a string, got {ev.type_name(value)}")


def _list_arg(ev: Evaluator, value, what: str):
    value = ev.force(value)
    if isinstance(value, list) or isinstance(value, Unresolved):
        return value
    if isinstance(value, External):
        return Unresolved(f"{value.path} is not known statically")
    return Unresolved(f"{what} expects a list, got {ev.type_name(value)}")


def _int_arg(ev: Evaluator, value, what: str):
    value = ev.force(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Unresolved):
        return value
    return Unresolved(f"{what} expects an integer, got {ev.type_name(value)}")


def _bool_arg(ev: Evaluator, value, what: str):
    value = ev.force(value)
    if isinstance(value, bool) or isinstance(value, Unresolved):
        return value
    if isinstance(value, External):
        return Unresolved(f"{value.path} is not known statically")
    return Unresolved(f"{what} expects a Boolean, got {ev.type_name(value)}")


def _attrs_arg(ev: Evaluator, value, what: str):
    value = ev.force(value)
    if isinstance(value, Derivation):
        value = ev._derivation_attrs(value)
    if isinstance(value, Attrs) or isinstance(value, Unresolved):
        return value
    if isinstance(value, External):
        return Unresolved(f"{value.path} is not known statically")
    return Unresolved(f"{what} expects a set, got {ev.type_name(value)}")


def _strings(ev: Evaluator, items, what: str):
    if not ev.walk(len(items)):
        return ev._budget
    out = []
    for item in items:
        item = _str_arg(ev, item, what)
        if isinstance(item, Unresolved):
            return item
        out.append(item)
    return out


def _first_unresolved(*values):
    for value in values:
        if isinstance(value, Unresolved):
            return value
    return None


def _to_string(ev: Evaluator, value, depth: int = 0):
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
            part = _to_string(ev, item, depth + 1)
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


def _throw(ev, message):
    message = ev.force(message)
    shown = message if isinstance(message, str) else "..."
    return Unresolved(f"throw: {shown[:200]}")


def _map(ev, fn, items):
    items = _list_arg(ev, items, "map")
    if isinstance(items, Unresolved):
        return items
    if not ev.build(cells=len(items)):
        return ev._budget
    return [Thunk(fn=_apply_later(ev, fn, item)) for item in items]


def _apply_later(ev, fn, arg):
    return lambda: ev.apply(ev.force(fn), arg)


def _filter(ev, fn, items):
    items = _list_arg(ev, items, "filter")
    if isinstance(items, Unresolved):
        return items
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


def _concat_map_strings_sep(ev, sep, fn, items):
    return _concat_strings_sep(ev, sep, _map(ev, fn, items))


def _concat_strings_sep(ev, sep, items):
    sep = _str_arg(ev, sep, "concatStringsSep")
    items = _list_arg(ev, items, "concatStringsSep")
    bad = _first_unresolved(sep, items)
    if bad:
        return bad
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


def _replace_strings(ev, old, new, s):
    old = _list_arg(ev, old, "replaceStrings")
    new = _list_arg(ev, new, "replaceStrings")
    s = _str_arg(ev, s, "replaceStrings")
    bad = _first_unresolved(old, new, s)
    if bad:
        return bad
    old = _strings(ev, old, "replaceStrings")
    new = _strings(ev, new, "replaceStrings")
    bad = _first_unresolved(old, new)
    if bad:
        return bad
    if len(old) != len(new):
        return Unresolved("replaceStrings lists of different lengths")
    if "" not in old:
        if not old:
            return s
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


def _remove_prefix(ev, prefix, s):
    prefix, s = _str_arg(ev, prefix, "removePrefix"), _str_arg(ev, s, "removePrefix")
    bad = _first_unresolved(prefix, s)
    if bad:
        return bad
    return s[len(prefix) :] if s.startswith(prefix) else s


def _remove_suffix(ev, suffix, s):
    suffix, s = _str_arg(ev, suffix, "removeSuffix"), _str_arg(ev, s, "removeSuffix")
    bad = _first_unresolved(suffix, s)
    if bad:
        return bad
    return s[: len(s) - len(suffix)] if suffix and s.endswith(suffix) else s


def _has_prefix(ev, prefix, s):
    prefix, s = _str_arg(ev, prefix, "hasPrefix"), _str_arg(ev, s, "hasPrefix")
    return _first_unresolved(prefix, s) or s.startswith(prefix)


def _has_suffix(ev, suffix, s):
    suffix, s = _str_arg(ev, suffix, "hasSuffix"), _str_arg(ev, s, "hasSuffix")
    return _first_unresolved(suffix, s) or s.endswith(suffix)


def _split_string(ev, sep, s):
    sep, s = _str_arg(ev, sep, "splitString"), _str_arg(ev, s, "splitString")
    bad = _first_unresolved(sep, s)
    if bad:
        return bad
    if not sep:
        return Unresolved("splitString with an empty separator")
    if not (ev.list_fits(s.count(sep) + 1) and ev.build(cells=s.count(sep) + 1, chars=len(s))):
        return ev._budget
    return s.split(sep)


def _substring(ev, start, length, s):
    start = _int_arg(ev, start, "substring")
    length = _int_arg(ev, length, "substring")
    s = _str_arg(ev, s, "substring")
    bad = _first_unresolved(start, length, s)
    if bad:
        return bad
    if start < 0:
        return Unresolved("substring with a negative start")
    out = s[start:] if length < 0 else s[start : start + length]
    return out if ev.build(chars=len(out)) else ev._budget


def _string_length(ev, s):
    s = _str_arg(ev, s, "stringLength")
    return s if isinstance(s, Unresolved) else len(s.encode("utf-8"))


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _to_lower(ev, s):
    s = _str_arg(ev, s, "toLower")
    if not isinstance(s, Unresolved) and not ev.build(chars=len(s)):
        return ev._budget
    return s if isinstance(s, Unresolved) else s.translate(str.maketrans(_UPPER, _LOWER))


def _to_upper(ev, s):
    s = _str_arg(ev, s, "toUpper")
    if not isinstance(s, Unresolved) and not ev.build(chars=len(s)):
        return ev._budget
    return s if isinstance(s, Unresolved) else s.translate(str.maketrans(_LOWER, _UPPER))


_VERSION_COMPONENT = re.compile(r"[0-9]+|[^0-9.\-]+")


def split_version(version: str) -> list[str]:
    """Nix's ``builtins.splitVersion``: runs of digits and runs of other
    characters, with ``.`` and ``-`` separating."""
    return _VERSION_COMPONENT.findall(version)


def _split_version(ev, v):
    v = _str_arg(ev, v, "splitVersion")
    return v if isinstance(v, Unresolved) else split_version(v)


def _version_part(index: int, name: str):
    def part(ev, v):
        v = _str_arg(ev, v, name)
        if isinstance(v, Unresolved):
            return v
        parts = split_version(v)
        if index >= len(parts):
            return Unresolved(f"{name} of version {v!r}: too few components")
        return parts[index]

    return part


def _major_minor(ev, v):
    v = _str_arg(ev, v, "majorMinor")
    if isinstance(v, Unresolved):
        return v
    parts = split_version(v)
    if len(parts) < 2:
        return Unresolved(f"majorMinor of version {v!r}: too few components")
    return ".".join(parts[:2])


def _version_pad(ev, n, v):
    n, v = _int_arg(ev, n, "versions.pad"), _str_arg(ev, v, "versions.pad")
    bad = _first_unresolved(n, v)
    if bad:
        return bad
    parts = split_version(v)[: max(n, 0)]
    if not (ev.string_fits(len(v) + 2 * max(0, n - len(parts))) and ev.build(cells=max(n, 0))):
        return ev._budget
    parts += ["0"] * (n - len(parts))
    return ".".join(parts)


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


def _compare_versions(ev, a, b):
    a, b = _str_arg(ev, a, "compareVersions"), _str_arg(ev, b, "compareVersions")
    return _first_unresolved(a, b) or compare_versions(a, b)


def _version_older(ev, a, b):
    result = _compare_versions(ev, a, b)
    return result if isinstance(result, Unresolved) else result < 0


def _version_at_least(ev, a, b):
    result = _compare_versions(ev, a, b)
    return result if isinstance(result, Unresolved) else result >= 0


def parse_drv_name(name: str) -> tuple[str, str]:
    """Nix's ``builtins.parseDrvName``: the version starts at the first dash
    followed by something other than a letter."""
    for i, ch in enumerate(name):
        if ch == "-" and i + 1 < len(name) and not name[i + 1].isalpha():
            return name[:i], name[i + 1 :]
    return name, ""


def _parse_drv_name(ev, s):
    s = _str_arg(ev, s, "parseDrvName")
    if isinstance(s, Unresolved):
        return s
    name, version = parse_drv_name(s)
    return Attrs({"name": name, "version": version})


def _get_name(ev, x):
    x = ev.force(x)
    if isinstance(x, str):
        return parse_drv_name(x)[0]
    name = ev.get_attr(x, "name")
    return name if isinstance(name, (str, Unresolved)) else Unresolved("getName of a value without a name")


def _elem_at(ev, items, index):
    items, index = _list_arg(ev, items, "elemAt"), _int_arg(ev, index, "elemAt")
    bad = _first_unresolved(items, index)
    if bad:
        return bad
    if not 0 <= index < len(items):
        return Unresolved(f"elemAt index {index} out of range")
    return ev.force(items[index])


def _head(ev, items):
    items = _list_arg(ev, items, "head")
    if isinstance(items, Unresolved):
        return items
    return ev.force(items[0]) if items else Unresolved("head of an empty list")


def _tail(ev, items):
    items = _list_arg(ev, items, "tail")
    if isinstance(items, Unresolved):
        return items
    if items and not ev.build(cells=len(items) - 1):
        return ev._budget
    return items[1:] if items else Unresolved("tail of an empty list")


def _last(ev, items):
    items = _list_arg(ev, items, "last")
    if isinstance(items, Unresolved):
        return items
    return ev.force(items[-1]) if items else Unresolved("last of an empty list")


def _length(ev, items):
    items = _list_arg(ev, items, "length")
    return items if isinstance(items, Unresolved) else len(items)


def _take(ev, n, items):
    n, items = _int_arg(ev, n, "take"), _list_arg(ev, items, "take")
    bad = _first_unresolved(n, items)
    if bad:
        return bad
    out = items[: max(n, 0)]
    return out if ev.build(cells=len(out)) else ev._budget


def _drop(ev, n, items):
    n, items = _int_arg(ev, n, "drop"), _list_arg(ev, items, "drop")
    bad = _first_unresolved(n, items)
    if bad:
        return bad
    out = items[max(n, 0) :]
    return out if ev.build(cells=len(out)) else ev._budget


def _concat_lists(ev, lists):
    lists = _list_arg(ev, lists, "concatLists")
    if isinstance(lists, Unresolved):
        return lists
    if not ev.walk(len(lists)):
        return ev._budget
    out = []
    for item in lists:
        item = _list_arg(ev, item, "concatLists")
        if isinstance(item, Unresolved):
            return item
        if not (ev.list_fits(len(out) + len(item)) and ev.build(cells=len(item))):
            return ev._budget
        out.extend(item)
    return out


def _elem(ev, x, items):
    items = _list_arg(ev, items, "elem")
    if isinstance(items, Unresolved):
        return items
    if not ev.walk(len(items)):
        return ev._budget
    for item in items:
        eq = ev.equal(x, item)
        if eq is True or isinstance(eq, Unresolved):
            return eq
    return False


def _optional_string(ev, cond, s):
    cond = _bool_arg(ev, cond, "optionalString")
    if isinstance(cond, Unresolved):
        return cond
    return ev.force(s) if cond else ""


def _optional(ev, cond, x):
    cond = _bool_arg(ev, cond, "optional")
    if isinstance(cond, Unresolved):
        return cond
    return [x] if cond else []


def _optionals(ev, cond, items):
    cond = _bool_arg(ev, cond, "optionals")
    if isinstance(cond, Unresolved):
        return cond
    return _list_arg(ev, items, "optionals") if cond else []


def _optional_attrs(ev, cond, attrs):
    cond = _bool_arg(ev, cond, "optionalAttrs")
    if isinstance(cond, Unresolved):
        return cond
    return _attrs_arg(ev, attrs, "optionalAttrs") if cond else Attrs({})


def _from_json(ev, s):
    s = _str_arg(ev, s, "fromJSON")
    if isinstance(s, Unresolved):
        return s
    try:
        data = json.loads(s)
    except RecursionError:
        return Unresolved("JSON nested too deeply")
    except ValueError as exc:
        return Unresolved(f"invalid JSON: {exc}")
    return ev.from_data(data)


def _from_toml(ev, s):
    s = _str_arg(ev, s, "fromTOML")
    if isinstance(s, Unresolved):
        return s
    try:
        data = tomllib.loads(s)
    except RecursionError:
        return Unresolved("TOML nested too deeply")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        return Unresolved(f"invalid TOML: {exc}")
    return ev.from_data(data)


def _read_file(ev, p):
    return ev.read_file(ev.force(p))


def _import_json(ev, p):
    content = ev.read_file(ev.force(p))
    return content if isinstance(content, Unresolved) else _from_json(ev, content)


def _import_toml(ev, p):
    content = ev.read_file(ev.force(p))
    return content if isinstance(content, Unresolved) else _from_toml(ev, content)


def _file_contents(ev, p):
    content = ev.read_file(ev.force(p))
    if isinstance(content, Unresolved):
        return content
    return content[:-1] if content.endswith("\n") else content


def _import(ev, p):
    p = ev.force(p)
    if isinstance(p, Unresolved):
        return p
    return Unresolved("import of another Nix file")


def _base_name_of(ev, s):
    s = ev.force(s)
    if isinstance(s, NixPath):
        return os.path.basename(s.path)
    s = _str_arg(ev, s, "baseNameOf")
    return s if isinstance(s, Unresolved) else s.rstrip("/").rsplit("/", 1)[-1]


def _is_null(ev, x):
    x = ev.force(x)
    return x if isinstance(x, Unresolved) else x is None


def _type_check(kind):
    def check(ev, x):
        x = ev.force(x)
        if isinstance(x, (Unresolved,)):
            return x
        if isinstance(x, External):
            return Unresolved(f"{x.path} is not known statically")
        if kind == "string":
            return isinstance(x, str)
        if kind == "list":
            return isinstance(x, list)
        if kind == "attrs":
            return isinstance(x, (Attrs, Derivation, FetcherValue))
        if kind == "bool":
            return isinstance(x, bool)
        if kind == "int":
            return isinstance(x, int) and not isinstance(x, bool)
        if kind == "function":
            return isinstance(x, (Lambda, Builtin))
        return Unresolved("unknown type check")

    return check


def _remove_attrs(ev, attrs, names):
    attrs, names = _attrs_arg(ev, attrs, "removeAttrs"), _list_arg(ev, names, "removeAttrs")
    bad = _first_unresolved(attrs, names)
    if bad:
        return bad
    names = _strings(ev, names, "removeAttrs")
    if isinstance(names, Unresolved):
        return names
    if attrs.incomplete:
        return Unresolved("removeAttrs on a set with dynamic attributes")
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    gone = set(names)
    return Attrs({k: v for k, v in attrs.items.items() if k not in gone})


def _attr_names(ev, attrs):
    attrs = _attrs_arg(ev, attrs, "attrNames")
    if isinstance(attrs, Unresolved):
        return attrs
    if attrs.incomplete:
        return Unresolved("attrNames of a set with dynamic attributes")
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    return sorted(attrs.items)


def _attr_values(ev, attrs):
    attrs = _attrs_arg(ev, attrs, "attrValues")
    if isinstance(attrs, Unresolved):
        return attrs
    if attrs.incomplete:
        return Unresolved("attrValues of a set with dynamic attributes")
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    return [attrs.items[k] for k in sorted(attrs.items)]


def _has_attr_fn(ev, name, attrs):
    name = _str_arg(ev, name, "hasAttr")
    if isinstance(name, Unresolved):
        return name
    found = ev.get_attr(ev.force(attrs), name)
    if found is NOT_A_SET:
        return Unresolved("hasAttr on a value that is not a set")
    if isinstance(found, Unresolved) and not isinstance(ev.force(attrs), Attrs):
        return found
    return found is not MISSING


def _get_attr_fn(ev, name, attrs):
    name = _str_arg(ev, name, "getAttr")
    if isinstance(name, Unresolved):
        return name
    found = ev.get_attr(ev.force(attrs), name)
    if found is MISSING or found is NOT_A_SET:
        return Unresolved(f"attribute '{name}' missing")
    return found


def _list_to_attrs(ev, items):
    items = _list_arg(ev, items, "listToAttrs")
    if isinstance(items, Unresolved):
        return items
    if not ev.build(cells=len(items)):
        return ev._budget
    out: dict = {}
    for item in items:
        pair = _attrs_arg(ev, item, "listToAttrs")
        if isinstance(pair, Unresolved):
            return pair
        name = _str_arg(ev, pair.items.get("name"), "listToAttrs")
        if isinstance(name, Unresolved):
            return name
        if name not in out and "value" in pair.items:
            out[name] = pair.items["value"]
    return Attrs(out)


def _name_value_pair(ev, name, value):
    return Attrs({"name": name, "value": value})


def _map_attrs(ev, fn, attrs):
    attrs = _attrs_arg(ev, attrs, "mapAttrs")
    if isinstance(attrs, Unresolved):
        return attrs
    if not ev.build(cells=len(attrs.items)):
        return ev._budget
    return Attrs(
        {k: Thunk(fn=_apply2_later(ev, fn, k, v)) for k, v in attrs.items.items()},
        attrs.incomplete,
    )


def _apply2_later(ev, fn, a, b):
    return lambda: ev.apply(ev.apply(ev.force(fn), a), b)


def _gen_attrs(ev, names, fn):
    names = _list_arg(ev, names, "genAttrs")
    if isinstance(names, Unresolved):
        return names
    names = _strings(ev, names, "genAttrs")
    if isinstance(names, Unresolved):
        return names
    if not ev.build(cells=len(names)):
        return ev._budget
    return Attrs({name: Thunk(fn=_apply_later(ev, fn, name)) for name in names})


def _identity(ev, x):
    return ev.force(x)


def _second(ev, _a, b):
    return ev.force(b)


def _placeholder(ev, _name):
    return Unresolved("placeholder is a build-time path")


BUILTINS: dict[str, tuple[int, object]] = {
    "toString": (1, _to_string),
    "throw": (1, _throw),
    "abort": (1, _throw),
    "map": (2, _map),
    "filter": (2, _filter),
    "import": (1, _import),
    "baseNameOf": (1, _base_name_of),
    "isNull": (1, _is_null),
    "isString": (1, _type_check("string")),
    "isList": (1, _type_check("list")),
    "isAttrs": (1, _type_check("attrs")),
    "isBool": (1, _type_check("bool")),
    "isInt": (1, _type_check("int")),
    "isFunction": (1, _type_check("function")),
    "removeAttrs": (2, _remove_attrs),
    "placeholder": (1, _placeholder),
    "replaceStrings": (3, _replace_strings),
    "replaceChars": (3, _replace_strings),
    "removePrefix": (2, _remove_prefix),
    "removeSuffix": (2, _remove_suffix),
    "hasPrefix": (2, _has_prefix),
    "hasSuffix": (2, _has_suffix),
    "splitString": (2, _split_string),
    "concatStringsSep": (2, _concat_strings_sep),
    "concatStrings": (1, lambda ev, items: _concat_strings_sep(ev, "", items)),
    "concatMapStrings": (2, lambda ev, fn, items: _concat_strings_sep(ev, "", _map(ev, fn, items))),
    "concatMapStringsSep": (3, _concat_map_strings_sep),
    "substring": (3, _substring),
    "stringLength": (1, _string_length),
    "toLower": (1, _to_lower),
    "toUpper": (1, _to_upper),
    "splitVersion": (1, _split_version),
    "versions.splitVersion": (1, _split_version),
    "versions.major": (1, _version_part(0, "versions.major")),
    "versions.minor": (1, _version_part(1, "versions.minor")),
    "versions.patch": (1, _version_part(2, "versions.patch")),
    "versions.majorMinor": (1, _major_minor),
    "versions.pad": (2, _version_pad),
    "compareVersions": (2, _compare_versions),
    "versionOlder": (2, _version_older),
    "versionAtLeast": (2, _version_at_least),
    "parseDrvName": (1, _parse_drv_name),
    "getName": (1, _get_name),
    "elemAt": (2, _elem_at),
    "head": (1, _head),
    "tail": (1, _tail),
    "last": (1, _last),
    "length": (1, _length),
    "take": (2, _take),
    "drop": (2, _drop),
    "concatLists": (1, _concat_lists),
    "elem": (2, _elem),
    "optionalString": (2, _optional_string),
    "optional": (2, _optional),
    "optionals": (2, _optionals),
    "optionalAttrs": (2, _optional_attrs),
    "fromJSON": (1, _from_json),
    "fromTOML": (1, _from_toml),
    "readFile": (1, _read_file),
    "importJSON": (1, _import_json),
    "importTOML": (1, _import_toml),
    "fileContents": (1, _file_contents),
    "attrNames": (1, _attr_names),
    "attrValues": (1, _attr_values),
    "hasAttr": (2, _has_attr_fn),
    "getAttr": (2, _get_attr_fn),
    "listToAttrs": (1, _list_to_attrs),
    "nameValuePair": (2, _name_value_pair),
    "mapAttrs": (2, _map_attrs),
    "genAttrs": (2, _gen_attrs),
    "id": (1, _identity),
    "seq": (2, _second),
    "deepSeq": (2, _second),
    "trace": (2, _second),
    "warn": (2, _second),
}
