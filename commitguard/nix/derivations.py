"""Derivations in the static Nix evaluator: builders, wrappers and overrides.

Package expressions rarely call ``stdenv.mkDerivation`` plainly. nixpkgs and
community package sets wrap it (``runCommand``, ``makeSetupHook``,
``writeShellApplication``), change the builder's inputs
(``buildGoModule.override { go = go-bin; }``, ``python3.override {...}``),
rework a result (``drv.overrideAttrs (finalAttrs: prev: {...})``), or call a
function of their own through ``callPackage`` with explicit arguments. Each
of these is modelled here as Nix defines it, so that the attributes the
package is built from (``version``, ``src``, the hashes) are read, and
whatever the file does not say stays unknown:

* ``X.override args`` is ``X`` with other inputs: the same kind of thing
  (a builder stays a builder), whose attributes the package set defines.
* ``X.overrideAttrs f`` is ``prev // f prev`` or ``prev // f final prev``,
  ``final`` being the result itself (a fixed point, kept lazy). For an ``X``
  from the package set, ``prev`` is ``X`` itself: ``prev.version`` is then
  named as ``X.version``, not known statically.
* a wrapper's result is a derivation whose attributes are the ones given
  (its ``name``, its ``env`` set); the script text builds nothing fetched.

A mixin of :class:`~commitguard.nix.evaluator.Evaluator`.
"""

from __future__ import annotations

from commitguard.nix.values import Attrs, Builtin, Derivation, External, Lambda, NixPath, Thunk, Unresolved

# Wrappers of the package set, by name, with what each positional argument
# is: "attrs" (a set whose attributes the result has), "name", "env" (a set
# of environment attributes), or "text" (a script, not an attribute).
WRAPPERS: dict[str, tuple[str, ...]] = {
    "runCommand": ("name", "env", "text"),
    "runCommandLocal": ("name", "env", "text"),
    "runCommandCC": ("name", "env", "text"),
    "runCommandNoCC": ("name", "env", "text"),
    "runCommandNoCCLocal": ("name", "env", "text"),
    "makeSetupHook": ("attrs", "text"),
    "writeShellApplication": ("attrs",),
    "writeTextFile": ("attrs",),
    "symlinkJoin": ("attrs",),
    "buildEnv": ("attrs",),
    "writeText": ("name", "text"),
    "writeTextDir": ("name", "text"),
    "writeScript": ("name", "text"),
    "writeScriptBin": ("name", "text"),
    "writeShellScript": ("name", "text"),
    "writeShellScriptBin": ("name", "text"),
}

# The attributes of a result that override it: ``overrideAttrs`` for every
# stdenv derivation, ``overridePythonAttrs`` for Python packages (the same
# shape: a function of the previous attributes).
OVERRIDE_ATTRS = frozenset({"overrideAttrs", "overridePythonAttrs"})


def wrapper_name(path: str) -> str | None:
    """The wrapper a callee path names (``pkgs.runCommand`` -> ``runCommand``), or None."""
    parts = path.split(".")
    if parts[0] in ("lib", "builtins"):
        return None
    return parts[-1] if parts[-1] in WRAPPERS else None


class Derivations:
    """Builders, wrappers, ``override``/``overrideAttrs`` and ``callPackage``."""

    def _derivation(self, builder: str, arg, node):
        """``builder arg``: ``arg`` is the attribute set, or a function of the
        final attributes (``finalAttrs: {...}``), applied to the result
        itself, lazily, so that this is a fixed point."""

        def attrs_of(final):
            given = self.force(arg)
            return self.apply(given, final) if isinstance(given, Lambda) else given

        return self.make_derivation(builder, attrs_of, node)

    def make_derivation(self, builder: str, attrs_of, node) -> Derivation:
        """A derivation whose attributes are ``attrs_of(final)``, ``final``
        being the derivation itself; ``attrs_of`` is kept so that an override
        can compute the attributes again for the overridden result (whose
        ``finalAttrs`` are the overridden ones, as in nixpkgs)."""
        holder: list = []
        drv = Derivation(builder, Thunk(fn=lambda: attrs_of(holder[0])), node)
        holder.append(drv)
        self.derivation_functions[id(drv)] = (drv, attrs_of)
        return drv

    def wrapper(self, name: str, node) -> Builtin:
        """The wrapper ``name`` as a function of its :data:`WRAPPERS` arguments."""
        kinds = WRAPPERS[name]

        def build(ev, *args):
            def attrs():
                items: dict = {}
                for kind, given in zip(kinds, args):
                    if kind == "name":
                        items["name"] = given
                    elif kind in ("attrs", "env"):
                        value = ev.force(given)
                        if isinstance(value, Unresolved):
                            return value
                        if not isinstance(value, Attrs):
                            return Unresolved(f"{name} was given {ev.type_name(value)}, not a set")
                        items.update(value.items)
                return Attrs(items)

            return ev.make_derivation(name, lambda _final: attrs(), node)

        return Builtin(name, len(kinds), build)

    def override_attrs(self, base, f, node):
        """``base.overrideAttrs f`` (``base`` a :class:`Derivation` built here or
        an :class:`External` package): the previous attributes updated with
        what ``f`` gives, ``f`` called as nixpkgs calls it (``f prev``, or
        ``f final prev`` when that is a function); ``final`` is the new
        result, for the original function's ``finalAttrs`` too."""
        if isinstance(base, Derivation):
            builder = base.builder
            base_attrs_of = self.derivation_functions[id(base)][1]
        else:
            builder = f"{base.path}.overrideAttrs"

            def base_attrs_of(_final):
                return base

        def attrs_of(final):
            prev = self.force(base_attrs_of(final))
            if isinstance(prev, Unresolved):
                return prev
            fn = self.force(f)
            if isinstance(fn, Attrs):
                update = fn
            else:
                update = self.force(self.apply(fn, prev))
                if isinstance(update, (Lambda, Builtin)):
                    update = self.force(self.apply(self.apply(fn, final), prev))
            if isinstance(update, Unresolved):
                return update
            if not isinstance(update, Attrs):
                return Unresolved(f"the overrideAttrs function gave {self.type_name(update)}, not a set")
            if isinstance(prev, Attrs):
                return Attrs({**prev.items, **update.items}, prev.incomplete or update.incomplete)
            if not isinstance(prev, External):
                return Unresolved(f"{builder} was given {self.type_name(prev)}")
            return update  # the other attributes are the package set's: not known statically

        return self.make_derivation(builder, attrs_of, node)

    def override_attrs_of(self, base, name: str) -> Builtin:
        return Builtin(name, 1, lambda ev, f: ev.override_attrs(base, f, None))

    def call_package_fn(self, node) -> Builtin:
        """``callPackage f args``: a function written in this file is called
        the way callPackage calls it, with ``args`` given explicitly; a path
        is another file, which is read on its own, not from here."""

        def call(ev, fn, args):
            target = ev.force(fn)
            if isinstance(target, Lambda):
                return ev.call_package(target, given=args)
            if isinstance(target, NixPath):
                return Unresolved(f"callPackage {ev.display_path(target)}: another file, read on its own")
            if isinstance(target, Unresolved):
                return target
            return Unresolved(f"callPackage of {ev.type_name(target)}")

        return Builtin("callPackage", 2, call)
