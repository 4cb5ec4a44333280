"""Attribute sets in the static Nix evaluator: building them from bindings
(``rec``, ``let``, ``inherit``, ``a.b.c = ...``), selecting from them
(``x.a.b or d``, ``x ? a``), and rebuilding the scopes of code evaluation
never reached.

A mixin of :class:`~commitguard.nix.evaluator.Evaluator`. Bindings stay lazy
(a thunk per attribute), as in Nix: an attribute that cannot be evaluated
costs nothing unless it is used. A name a set does not certainly have
(a dynamic key could not be evaluated) is :class:`Unresolved`, not absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from commitguard.nix.packageset import (
    CONSTANTS,
    FETCHER_RESULT_ATTRS,
    NOT_KNOWN,
    PLATFORM_NAMES,
    canonical_lib,
    fetcher_family,
    nested_platform_attr,
    platform_attr,
)
from commitguard.nix.derivations import OVERRIDE_ATTRS
from commitguard.nix.values import (
    MISSING,
    NOT_A_SET,
    Attrs,
    Derivation,
    Env,
    External,
    FetcherValue,
    Thunk,
    Unresolved,
)


@dataclass(frozen=True)
class _Absent:
    """Where an attribute path stopped: the name not found (None for
    ``${null}``), :data:`MISSING` or :data:`NOT_A_SET`, and the value that
    lacked it."""

    key: str | None
    why: object
    value: object


class AttrSets:
    """Selection, bindings and scopes."""

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

    def _follow(self, node, env, if_empty=None):
        """``x.a.b.c`` for a select or has-attr ``node``: the value reached (or
        the first Unresolved met on the way), or an :class:`_Absent` for the
        first name that is not there (``key`` None for ``${null}``). A path
        without names (a syntax error) gives ``if_empty``, or ``x`` itself."""
        value = self.eval(node.child_by_field_name("expression"), env)
        parts = self._attrpath_parts(node.child_by_field_name("attrpath"))
        if isinstance(parts, Unresolved):
            return parts
        if not parts and if_empty is not None:
            return if_empty
        for part in parts:
            key = self.attr_key(part, env)
            if isinstance(key, Unresolved):
                return key
            found = self.get_attr(value, key) if key is not None else MISSING
            if found is MISSING or found is NOT_A_SET:
                return _Absent(key, found, value)
            if isinstance(found, Unresolved):
                return found
            value = found
        return value

    def _eval_select(self, node, env):
        found = self._follow(node, env)
        if not isinstance(found, _Absent):
            return found
        if found.key is None:
            return Unresolved("attribute name is null")
        default = node.child_by_field_name("default")
        if default is not None:
            return self.eval(default, env)
        if found.why is NOT_A_SET:
            return Unresolved(f"cannot select '{found.key}' from {self.type_name(found.value)}")
        return Unresolved(f"attribute '{found.key}' missing")

    def _eval_has_attr(self, node, env):
        found = self._follow(node, env, if_empty=True)
        if isinstance(found, _Absent):
            return False
        return found if isinstance(found, Unresolved) else True

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
        found = self._platform_value(parts)
        if found is not NOT_KNOWN:
            return found
        canonical = canonical_lib(path)
        if canonical in CONSTANTS:
            return CONSTANTS[canonical]
        if canonical == "currentSystem" or parts == ["system"]:
            return self.system
        return External(path)

    def _platform_value(self, parts: list[str]):
        """What ``stdenv.hostPlatform.rust.rustcTarget``, ``stdenv.isLinux``,
        ``hostPlatform.go.GOOS``... are for the system evaluated for, or
        :data:`NOT_KNOWN` (including the sets on the way, which stay external)."""
        at = max((i for i, part in enumerate(parts) if part in PLATFORM_NAMES), default=None)
        if at is not None and at < len(parts) - 1:
            found = nested_platform_attr(self.system, ".".join(parts[at + 1 :]))
        elif len(parts) >= 2 and (parts[-2].endswith("tdenv") or parts[-2].endswith("tdenvNoCC")):
            found = platform_attr(self.system, parts[-1])  # stdenv.isLinux, stdenv.system
        else:
            return NOT_KNOWN
        return NOT_KNOWN if found is MISSING else found

    def derivation_attrs(self, drv: Derivation):
        """The final attributes a builder was given (``finalAttrs`` applied);
        builtins and ``//`` read a derivation as that set."""
        return self.force(drv.attrs)

    def _derivation_attr(self, drv: Derivation, key: str, definite: bool):
        attrs = self.derivation_attrs(drv)
        if isinstance(attrs, Unresolved):
            return attrs
        if not isinstance(attrs, Attrs):
            return Unresolved(f"{drv.builder} was given {self.type_name(attrs)}")
        if key in attrs.items:
            return self.force(attrs.items[key])
        if key == "finalPackage":
            return drv
        if key in OVERRIDE_ATTRS:
            return self.override_attrs_of(drv, key)
        if key == "override":
            return Unresolved(f"override of a {drv.builder} result calls its file's function again, not known statically")
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

    def _fetcher_attr(self, fv: FetcherValue, key: str, definite: bool):
        args = self.force(fv.args)
        if isinstance(args, Unresolved):
            return args
        if not isinstance(args, Attrs):
            return Unresolved(f"{fv.fetcher} was given {self.type_name(args)}")
        family = fetcher_family(fv.fetcher)
        if family == "forge" and key == "rev":
            # fetchFromGitHub/GitLab expose the tag as the ref they fetched.
            tag = self.force(args.items["tag"]) if "tag" in args.items else None
            if isinstance(tag, Unresolved):
                return tag
            if isinstance(tag, str):
                return f"refs/tags/{tag}"
            return self.force(args.items["rev"]) if "rev" in args.items else None
        if key == "name" and (family == "forge" or fv.fetcher == "fetchzip") and "name" not in args.items:
            return "source"  # their `name ? "source"` (pkgs/build-support/fetchgithub, fetchzip)
        if key in FETCHER_RESULT_ATTRS[family]:
            if key in args.items:
                return self.force(args.items[key])
            if family == "forge" and key == "tag":
                return None
        if definite:
            return MISSING
        return Unresolved(f"attribute '{key}' of a {fv.fetcher} result is not known statically")

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
                if not self._define(items, nested, (parts, 0, expr), value_env, inherit_env, top=True):
                    incomplete = True
            elif kind in ("inherit", "inherit_from"):
                # inherit (source) a b: each name looked up in the scope, or selected from source.
                source = None
                if kind == "inherit_from":
                    source = Thunk(binding.child_by_field_name("expression"), inherit_from_env)
                names = self._inherited_names(binding, inherit_env)
                if not self.walk(len(names)):
                    break
                for name in names:
                    if isinstance(name, Unresolved):
                        incomplete = True
                        continue
                    if source is None:
                        items[name] = Thunk(fn=self._lookup_later(name, inherit_env))
                    else:
                        items[name] = Thunk(fn=self._select_later(source, name))
        for key, entries in nested.items():
            items[key] = Thunk(fn=self._nested_later(entries, value_env, inherit_env))
        if not (self.set_fits(len(items)) and self.build(cells=len(items))):
            return Attrs({}, incomplete=True)
        return Attrs(items, incomplete)

    def _define(self, items: dict, deeper: dict, entry: tuple, value_env: Env, key_env: Env, top: bool) -> bool:
        """Bind one level of ``a.b.c = expr``: ``entry`` is (path parts, index
        of this level's part, expr). The last part binds ``expr`` in ``items``;
        an earlier one adds the entry to ``deeper`` (built later, by
        :meth:`_nested_later`). A name bound twice is Unresolved. At the ``top``
        level a name bound both whole and by path is Unresolved too, and a
        name bound by path holds a placeholder so that insertion order is the
        file's. False when the name could not be evaluated (the set is then
        incomplete); a ``${null}`` name binds nothing."""
        parts, at, expr = entry
        key = self.attr_key(parts[at], key_env)
        if key is None:
            return True
        if isinstance(key, Unresolved):
            return False
        if at == len(parts) - 1:
            if key in items or key in deeper:
                items[key] = Unresolved(f"attribute '{key}' defined more than once")
                deeper.pop(key, None)
            else:
                items[key] = Thunk(expr, value_env)
        elif top and key in items and key not in deeper:
            items[key] = Unresolved(f"attribute '{key}' defined both whole and by path")
        else:
            deeper.setdefault(key, []).append((parts, at + 1, expr))
            if top:
                items[key] = None  # placeholder, replaced once every binding is read
        return True

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
            for entry in entries:
                if not self.charge():
                    return self._budget
                if not self._define(items, deeper, entry, value_env, key_env, top=False):
                    incomplete = True
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
                for name, _default in self.formals(formals):
                    inner.vars[name] = reason
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

