"""What a package expression fetches, read statically.

:func:`read_package` evaluates the file with :mod:`commitguard.nix.evaluator`
(the way ``callPackage`` would call it), finds the package (what a builder
such as ``stdenv.mkDerivation`` was given, or a plain package attribute
set), and reports every fetcher call in the file: the ones evaluation
reaches, and the ones it does not (other platforms' sources, fetchers inside
functions nobody calls here), evaluated in the scope they appear in. Each
call's arguments are turned into the URL nixpkgs' fetcher would use, with
the hash normalised to SRI; arguments that cannot be evaluated are named in
``unresolved`` and nothing about them is filled in.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import tree_sitter
import tree_sitter_nix

from commitguard.nix import hashes
from commitguard.nix.evaluator import Evaluator
from commitguard.nix.fetcher_args import essential_args, fetcher_fields, hash_argument, hash_keys, is_dependency_fetcher
from commitguard.nix.limits import MAX_COLLECTION
from commitguard.nix.packageset import is_builder_name, is_fetcher_name
from commitguard.nix.parser import callee_path, parse
from commitguard.nix.values import Attrs, Derivation, External, FetcherValue, NixPath, Unresolved
from commitguard.nix.versions import parse_drv_name
from commitguard.model.sources import FetcherCall, PackageExpression

# Top-level attributes later checks compare across versions (audit-bump:
# a version bump changes these hashes and nothing else).
HASH_ATTRS = ("cargoHash", "vendorHash", "npmDepsHash", "cargoSha256", "vendorSha256")

# Arguments that describe the fetch but never change what is fetched.
_IGNORED_ARGS = frozenset({"passthru", "meta"})

# Cheap text test before looking for builder calls in the syntax tree.
_BUILDER_HINT = re.compile(rb"mk\w*Derivation|build[A-Z]|mixRelease")

# Evaluating fetchers that evaluation did not reach costs budget per call;
# a file with more than this many is not a package expression.
MAX_UNREACHED_FETCHERS = 1000


def read_package(
    path: Path,
    source: bytes,
    *,
    system: str = "x86_64-linux",
    root: Path | None = None,
    files=None,
) -> PackageExpression:
    """The package expression in ``source`` (the file at ``path``).

    ``system`` chooses among per-platform sources (``srcs.${system}``);
    ``root`` bounds which files ``readFile``/``importJSON`` may read (default:
    the file's own directory); ``files``, when given, is where they are read
    from instead of the disk (a revision's tree, see
    :mod:`commitguard.upstream.revision_read`). Never raises on any input: what cannot be
    read is reported in ``notes`` and as unresolved fetcher arguments.
    """
    path = Path(path)
    display = _display_path(path, root)
    try:
        tree = parse(source)
    except ValueError as exc:
        return PackageExpression(display, None, None, (), {}, (str(exc),))
    try:
        evaluator = Evaluator(source, tree, path, root=root, system=system, files=files)
        return _read(evaluator, tree, display)
    except RecursionError:
        return PackageExpression(display, None, None, (), {}, ("expression nested too deeply to read statically",))
    except Exception as exc:  # noqa: BLE001 - a hostile file must never crash a whole `sources` run
        return PackageExpression(
            display, None, None, (), {}, (f"static reading failed: {type(exc).__name__}: {exc}",)
        )


def _display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _read(ev: Evaluator, tree, display: str) -> PackageExpression:
    notes: list[str] = []
    error_line = _first_error_line(tree.root_node) if tree.root_node.has_error else None
    if error_line is not None:
        notes.append(f"syntax error near line {error_line}; the parts around it are read as far as possible")
    top = ev.evaluate_file()
    named_calls = _NamedCalls(ev, tree)
    package = _find_package(ev, top, tree, named_calls)
    if isinstance(package, Derivation) and package is not top and package.node is not None:
        # the file's value is not the package itself: say which call was read instead
        why = top.reason if isinstance(top, Unresolved) else f"the file evaluates to {ev.type_name(top)}"
        notes.append(f"{why}; the package is read from the {package.builder} call at line "
                     f"{package.node.start_point[0] + 1}")
    attrs = _package_attrs(ev, package)

    # The attributes that matter first, while the budget is fresh; then
    # everything else the package and the file's value reach, so that
    # fetchers inside lists and nested sets run with their real arguments.
    if isinstance(attrs, Attrs):
        for key in ("pname", "name", "version", "src", "srcs", *HASH_ATTRS, "patches"):
            if key in attrs.items:
                ev.force(attrs.items[key])
    _deep_force(ev, package)
    _deep_force(ev, top)
    not_taken = _evaluate_unreached_fetchers(ev, tree, named_calls)

    calls, by_value, reasons = _calls(ev, not_taken)
    notes.extend(reasons)

    name = version = None
    extra: dict = {}
    if package is None:
        notes.append(f"no package expression found: {_reason(top)}")
    elif isinstance(attrs, Unresolved):
        notes.append(f"package attributes: {attrs.reason}")
    elif isinstance(attrs, Attrs):
        name, version = _name_version(ev, attrs, notes)
        extra = _extra_attrs(ev, attrs, by_value, calls, notes)
    if ev.exhausted:
        notes.append(ev.limit_note())
    return PackageExpression(display, name, version, tuple(calls), extra, tuple(dict.fromkeys(notes)))


def _first_error_line(root) -> int | None:
    """The line of the first real syntax error, or None.

    tree-sitter-nix does not know the trailing comma Nix allows in formals
    (``{ lib, stdenv, }:``, what nixfmt writes); that recovery is no error.
    """
    stack = [root]
    while stack:
        node = stack.pop()
        if (node.type == "ERROR" or node.is_missing) and not _trailing_formal_comma(node):
            return node.start_point[0] + 1
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _trailing_formal_comma(node) -> bool:
    parent = node.parent
    if node.is_missing and node.type == "identifier" and parent is not None and parent.type == "formal":
        return True
    if node.type == "ERROR" and parent is not None and parent.type == "formals":
        return node.text is not None and node.text.strip() == b","
    return False


def _reason(value) -> str:
    if isinstance(value, Unresolved):
        return value.reason
    return f"the file evaluates to {Evaluator.type_name(value)}"


def _find_package(ev: Evaluator, top, tree, named_calls: _NamedCalls):
    """What the builder was given, or a plain package set; else the first
    builder call in the file (``(mkDerivation {...}).overrideAttrs ...``,
    wrappers around it), evaluated where it stands."""
    if isinstance(top, Derivation):
        return top
    if isinstance(top, Attrs) and any(k in top.items for k in ("pname", "version", "src", "srcs")):
        return top
    if not _BUILDER_HINT.search(ev.source):
        return None
    for node in named_calls.matching(is_builder_name):
        env, not_taken = _env_for(ev, node, tree.root_node)
        if not_taken:
            continue
        value = ev.eval(node, env)
        if isinstance(value, Derivation):
            return value
    return None


def _package_attrs(ev: Evaluator, package):
    if isinstance(package, Derivation):
        attrs = ev.force(package.attrs)
        if isinstance(attrs, (Attrs, Unresolved)):
            return attrs
        return Unresolved(f"{package.builder} was given {ev.type_name(attrs)}")
    return package


@functools.lru_cache(maxsize=1)
def _call_query() -> tree_sitter.Query:
    language = tree_sitter.Language(tree_sitter_nix.language())
    return tree_sitter.Query(language, "(apply_expression function: [(variable_expression) (select_expression)]) @call")


class _NamedCalls:
    """Calls whose callee is a plain name (``fetchurl``, ``stdenv.mkDerivation``),
    in file order, found once by a tree-sitter query: large hostile files
    have millions of nodes, too many to walk in Python, and the query is
    only run when a file needs it."""

    def __init__(self, ev: Evaluator, tree):
        self._ev = ev
        self._tree = tree
        self._calls: list | None = None

    def matching(self, wanted) -> list:
        if self._calls is None:
            captures = tree_sitter.QueryCursor(_call_query()).captures(self._tree.root_node)
            calls = []
            for node in captures.get("call", []):
                path = callee_path(node.child_by_field_name("function"), self._ev.source)
                if path is not None:
                    calls.append((node, path))
            calls.sort(key=lambda item: item[0].start_byte)
            self._calls = calls
        return [node for node, path in self._calls if wanted(path)]


def _env_for(ev: Evaluator, node, root):
    """The scope ``node`` sits in, rebuilt from the root down, and whether
    ``node`` lies in the branch of an ``if`` that this system does not take
    (``if livekitTriple == null then null else fetchzip {...}`` on Linux):
    Nix never evaluates it here. A condition that cannot be decided keeps
    both branches."""
    env = ev.global_env
    current = root
    not_taken = False
    while current is not None and current.id != node.id:
        if not ev.charge():
            break
        child = current.child_with_descendant(node)
        if child is None:
            break
        if current.type == "if_expression" and not not_taken:
            not_taken = _branch_not_taken(ev, current, child, env)
        env = ev.scope_into(current, child, env)
        current = child
    return env, not_taken


def _branch_not_taken(ev: Evaluator, if_node, child, env) -> bool:
    for field, taken_when in (("consequence", True), ("alternative", False)):
        branch = if_node.child_by_field_name(field)
        if branch is not None and branch.id == child.id:
            condition = ev.eval(if_node.child_by_field_name("condition"), env)
            return isinstance(condition, bool) and condition is not taken_when
    return False


def _deep_force(ev: Evaluator, value, limit: int = 50_000) -> None:
    """Evaluate everything ``value`` contains, iteratively (deep data must
    not deepen the Python stack) and once per container."""
    stack = [value]
    seen: set[int] = set()
    count = 0
    while stack and not ev.exhausted and count < limit:
        current = ev.force(stack.pop())
        count += 1
        if not isinstance(current, (Attrs, list, Derivation, FetcherValue)):
            continue
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, Attrs):
            stack.extend(reversed(list(current.items.values())))
        elif isinstance(current, list):
            stack.extend(reversed(current))
        elif isinstance(current, Derivation):
            stack.append(current.attrs)
        else:
            stack.append(current.args)


def _evaluate_unreached_fetchers(ev: Evaluator, tree, named_calls: _NamedCalls) -> set:
    """Evaluate the fetcher calls evaluation did not reach, each in its own
    scope; the ids of those in a branch this system does not take."""
    not_taken_here: set = set()
    if b"fetch" not in ev.source:
        return not_taken_here
    reached = {fv.node.id for fv in ev.fetches if fv.node is not None}
    candidates = [n for n in named_calls.matching(is_fetcher_name) if n.id not in reached]
    for node in candidates[:MAX_UNREACHED_FETCHERS]:
        if ev.exhausted:
            break
        env, not_taken = _env_for(ev, node, tree.root_node)
        if not_taken:
            not_taken_here.add(node.id)
        ev.eval(node, env)
    return not_taken_here


def _calls(ev: Evaluator, not_taken: set):
    """FetcherCalls in file order, each distinct call once; also the call
    for each fetcher value (patches are reported by URL) and the reasons
    behind unresolved arguments. A call in a branch this system does not
    take is listed when its arguments resolve (the other platforms' sources
    are worth seeing); when they do not, it is no call of this system's, and
    a note says so instead of a call that cannot be read."""
    ordered = sorted(
        ev.fetches[:MAX_COLLECTION],
        key=lambda fv: (fv.node.start_byte if fv.node is not None else float("inf"), fv.index),
    )
    calls: list[FetcherCall] = []
    seen: set = set()
    by_value: dict[int, FetcherCall] = {}
    reasons: list[str] = []
    for fv in ordered:
        call, why = build_call(ev, fv)
        by_value[id(fv)] = call
        if not call.resolved and fv.node is not None and fv.node.id in not_taken:
            reasons.append(f"{call.fetcher} at line {call.line}: in a branch not taken on {ev.system}, not fetched here")
            continue
        if call in seen:
            continue
        seen.add(call)
        calls.append(call)
        where = f"{call.fetcher} at line {call.line}" if call.line else call.fetcher
        reasons.extend(f"{where}: {arg}: {reason}" for arg, reason in why.items())
    return calls, by_value, reasons


def build_call(ev: Evaluator, fv: FetcherValue) -> tuple[FetcherCall, dict[str, str]]:
    """The FetcherCall for one fetcher result, and why each unresolved
    argument is unresolved."""
    line = fv.node.start_point[0] + 1 if fv.node is not None else None
    fetcher = fv.fetcher
    given = ev.force(fv.args)
    if isinstance(given, str) and fetcher.startswith("builtins."):
        given = Attrs({"url": given})  # builtins.fetchTarball "https://..."
    if not isinstance(given, Attrs):
        reason = given.reason if isinstance(given, Unresolved) else f"called with {ev.type_name(given)}"
        names = essential_args(fetcher)
        return (
            FetcherCall(fetcher, resolved=False, unresolved=names, line=line),
            {"arguments": reason},
        )
    args: dict = {}
    why: dict[str, str] = {}
    for key, item in given.items.items():
        if key in _IGNORED_ARGS:
            continue
        value = ev.to_python(item, fetcher_refs=True)
        if isinstance(value, Unresolved):
            why[key] = value.reason
        else:
            args[key] = value
    if given.incomplete:
        why["<dynamic attribute>"] = "an attribute name could not be evaluated"
    if is_dependency_fetcher(fetcher):
        return _dependency_call(ev, fetcher, args, given, why, line)
    fields = fetcher_fields(fetcher, args, why)
    digest = hash_argument(args, given, why)
    unresolved = tuple(why)
    call = FetcherCall(
        fetcher,
        url=fields.get("url"),
        urls=fields.get("urls", ()),
        owner=fields.get("owner"),
        repo=fields.get("repo"),
        rev=fields.get("rev"),
        tag=fields.get("tag"),
        domain=fields.get("domain"),
        hash=digest,
        resolved=not unresolved,
        unresolved=unresolved,
        args=args,
        line=line,
    )
    return call, why


def _dependency_call(ev: Evaluator, fetcher: str, args: dict, given: Attrs, why: dict, line) -> tuple[FetcherCall, dict]:
    """A dependency fetcher's call: resolved when its hash is, since the hash
    is what fixes its output; an argument that cannot be evaluated is still
    named, in the notes, as an input. One given no hash at all but a file of
    the repository (``bun2nix.fetchBunDeps { bunNix = ./bun.nix; }``) has its
    dependencies pinned one by one in that file, which is what identifies it."""
    hash_keys_given = [key for key in hash_keys() if key in given.items]
    digest = hash_argument(args, given, why)
    missing = {key: why[key] for key in hash_keys_given if key in why}
    pinned_by = [key for key, item in given.items.items() if key not in why and isinstance(ev.force(item), NixPath)]
    if digest is None and not missing and not (pinned_by and not hash_keys_given):
        missing["hash"] = "missing" if not hash_keys_given else "empty"
    inputs = {
        key: f"{reason} (an input of a dependency fetcher; its hash fixes what it fetches)"
        for key, reason in why.items()
        if key not in missing
    }
    call = FetcherCall(
        fetcher,
        hash=digest,
        resolved=not missing,
        unresolved=tuple(missing),
        args=args,
        line=line,
        kind="dependencies",
    )
    return call, {**missing, **inputs}


def _name_version(ev: Evaluator, attrs: Attrs, notes: list[str]):
    def get(key):
        return ev.force(attrs.items[key]) if key in attrs.items else None

    pname, version, full = get("pname"), get("version"), get("name")
    for key, value in (("pname", pname), ("version", version), ("name", full)):
        if isinstance(value, Unresolved):
            notes.append(f"{key}: {value.reason}")
    name = pname if isinstance(pname, str) else None
    if name is None and isinstance(full, str):
        name = parse_drv_name(full)[0]
    if not isinstance(version, str):
        version = None
        if isinstance(full, str) and "version" not in attrs.items:
            version = parse_drv_name(full)[1] or None
    return name, version


def _extra_attrs(ev: Evaluator, attrs: Attrs, by_value: dict, calls: list, notes: list[str]) -> dict:
    extra: dict = {}
    for key in HASH_ATTRS:
        if key not in attrs.items:
            continue
        value = ev.to_python(attrs.items[key])
        if isinstance(value, Unresolved):
            notes.append(f"{key}: {value.reason}")
            extra[key] = None
        elif isinstance(value, str):
            extra[key] = hashes.try_sri(value) or value
        else:
            extra[key] = value
    if "patches" in attrs.items:
        extra["patches"] = _patches(ev, attrs.items["patches"], by_value, notes)
    if "src" in attrs.items:
        src = ev.force(attrs.items["src"])
        if isinstance(src, FetcherValue):
            extra["src"] = src.fetcher
            call = by_value.get(id(src))
            if call is not None and call in calls:
                # which call is the package's src on this system (``src = if isDarwin
                # then fetchurl {...} else fetchurl {...}`` lists both)
                extra["src_call"] = calls.index(call)
        else:
            extra["src"] = None
            if isinstance(src, NixPath):
                notes.append(f"src: local path {ev.display_path(src)}")
            elif isinstance(src, Unresolved):
                notes.append(f"src: {src.reason}")
            else:
                notes.append(f"src: {ev.type_name(src)}, not a fetcher call")
    return extra


def _patches(ev: Evaluator, value, by_value: dict, notes: list[str]):
    patches = ev.force(value)
    if isinstance(patches, Unresolved):
        notes.append(f"patches: {patches.reason}")
        return None
    if not isinstance(patches, list):
        notes.append(f"patches: {ev.type_name(patches)}, not a list")
        return None
    out = []
    for item in patches:
        item = ev.force(item)
        if isinstance(item, NixPath):
            out.append(ev.display_path(item))
        elif isinstance(item, str):
            out.append(item)
        elif isinstance(item, FetcherValue):
            call = by_value.get(id(item))
            if call is None:
                call = build_call(ev, item)[0]
            out.append(call.url)
        else:
            if isinstance(item, Unresolved):
                notes.append(f"patches: {item.reason}")
            elif isinstance(item, External):
                notes.append(f"patches: {item.path} is not known statically")
            out.append(None)
    return out

