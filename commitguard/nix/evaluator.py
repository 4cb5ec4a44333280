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
  :data:`~commitguard.nix.builtins.BUILTINS`) evaluates to
  :class:`~commitguard.nix.values.Unresolved` carrying the reason, and that
  propagates; a caller reports it instead of a value.
* The input is hostile. Evaluation is lazy like Nix (an unused attribute
  that cannot be evaluated costs nothing), every step and every value built
  is counted against the allowances of :mod:`commitguard.nix.limits`,
  nesting depth, string, list and file sizes are capped, and files are
  only read below ``root``. Exceeding a limit stops evaluation: the rest is
  :class:`~commitguard.nix.values.Unresolved`, never an exception or a hang.

This module is the core (evaluation, forcing, variables, function
application, ``callPackage``); the rest of the evaluator is mixed in by
concern: :mod:`~commitguard.nix.literals`, :mod:`~commitguard.nix.attrsets`,
:mod:`~commitguard.nix.operators`, :mod:`~commitguard.nix.data`. Values are
in :mod:`~commitguard.nix.values`, the builtins in :mod:`commitguard.nix.builtins`.
"""

from __future__ import annotations

import os
from pathlib import Path

from commitguard.nix.attrsets import AttrSets
from commitguard.nix.builtins import BUILTINS
from commitguard.nix.data import Data
from commitguard.nix.derivations import OVERRIDE_ATTRS, Derivations, wrapper_name
from commitguard.nix.limits import MAX_COLLECTION, MAX_DEPTH, MAX_STEPS, Limits
from commitguard.nix.literals import Literals
from commitguard.nix.operators import Operators
from commitguard.nix.packageset import canonical_lib, is_builder_name, is_fetcher_name
from commitguard.nix.parser import text as node_text
from commitguard.nix.values import (
    MISSING,
    NOT_A_SET,
    Attrs,
    Builtin,
    Derivation,
    Env,
    External,
    FetcherValue,
    Lambda,
    Thunk,
    Unresolved,
    type_name,
)


class Evaluator(Literals, AttrSets, Operators, Data, Derivations, Limits):
    """Evaluates one parsed file; ``fetches`` collects every fetcher result
    created, in creation order. The accounting (``charge``, ``build``,
    ``stop``, ``exhausted``, ``limit_note``) is :class:`Limits`; literals,
    attribute sets, operators and data conversion are the mixins named in
    the module's docstring, one concern each, sharing this state."""

    def __init__(
        self,
        source: bytes,
        tree,
        path: Path,
        *,
        root: Path | None = None,
        system: str = "x86_64-linux",
        max_steps: int = MAX_STEPS,
        files=None,
    ):
        self.source = source
        # where readFile & co. read from: None for the disk, else an object whose
        # read(real path, limit) gives a file's bytes or None (not a file)
        self.files = files
        self.tree = tree
        self.file = Path(os.path.abspath(path))
        self.base_dir = str(self.file.parent)
        self.root = os.path.realpath(root if root is not None else self.file.parent)
        self.system = system
        self._init_limits(max_steps)
        self.depth = 0
        self.fetches: list[FetcherValue] = []
        self.derivation_functions: dict[int, tuple] = {}
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

    def call_package(self, lam: Lambda, given=None):
        """Apply ``{ lib, stdenv, fetchurl, withFoo ? true, ... }:`` as
        callPackage would: names the package set provides stay
        :class:`External`; a formal with a default takes it (callPackage
        passes only what the set has, and flags like ``withFoo`` are not in
        it); a default that cannot be evaluated (``pkgs ? import <nixpkgs> {}``)
        stands for the package set's attribute of that name. ``given`` holds
        the arguments passed explicitly (``callPackage f { inherit src; }``),
        which take precedence over both."""
        node = lam.node
        env = Env(lam.env, {})
        formals = node.child_by_field_name("formals")
        universal = node.child_by_field_name("universal")
        items: dict = {}
        explicit = self.force(given) if given is not None else Attrs({})
        if isinstance(explicit, Unresolved):
            return explicit
        if not isinstance(explicit, Attrs):
            return Unresolved(f"callPackage was given {self.type_name(explicit)} as arguments, not a set")
        if formals is not None:
            for name, default in self.formals(formals):
                if name in explicit.items:
                    items[name] = explicit.items[name]
                elif explicit.incomplete:
                    items[name] = Unresolved(f"argument '{name}' of callPackage, given a set with dynamic attributes")
                elif default is None:
                    items[name] = self.system if name == "system" else External(name)
                else:
                    items[name] = Thunk(fn=self._default_or_external(default, env, name))
            env.vars.update(items)
        if universal is not None:
            name = self.text(universal)
            env.vars[name] = (
                Attrs({**items, **explicit.items}, incomplete=True) if formals is not None else External(name)
            )
        self.scopes.setdefault(node.id, env)
        body = node.child_by_field_name("body")
        return self.eval(body, env) if body is not None else Unresolved("function without a body")

    def formals(self, formals):
        """``(name, default node or None)`` of each formal of a ``{ a, b ? 1 }:``
        pattern, skipping what a syntax error left without a name."""
        for formal in formals.named_children:
            if formal.type != "formal":
                continue
            name_node = formal.child_by_field_name("name")
            if name_node is None or name_node.is_missing:
                continue
            yield self.text(name_node), formal.child_by_field_name("default")

    def _default_or_external(self, default, env, name):
        def compute():
            value = self.eval(default, env)
            return External(name) if isinstance(value, Unresolved) and not self.exhausted else value

        return compute

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
            for name, default in self.formals(formals):
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
        wrapper = wrapper_name(fn.path)
        if wrapper is not None:
            return self.apply(self.wrapper(wrapper, node), arg, node)
        parent, _, last = fn.path.rpartition(".")
        if parent and last == "override":
            return External(parent)  # X with other inputs: the same kind of thing
        if parent and last in OVERRIDE_ATTRS:
            return self.override_attrs(External(parent), arg, node)
        if last == "callPackage" and not fn.path.startswith(("lib.", "builtins.")):
            return self.apply(self.call_package_fn(node), arg, node)
        canonical = canonical_lib(fn.path)
        spec = BUILTINS.get(canonical) if canonical is not None else None
        if spec is not None:
            arity, impl = spec
            return self.apply(Builtin(canonical, arity, impl), arg, node)
        return Unresolved(f"call to {fn.path}, which is not known statically")

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


    # ------------------------------------------------------------- helpers

    type_name = staticmethod(type_name)
