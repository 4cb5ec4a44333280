"""What the package set passes in, known by name.

A package expression calls ``fetchurl``, ``stdenv.mkDerivation`` and
``lib.versions.majorMinor`` and reads ``stdenv.hostPlatform.isLinux``; none
of them is defined in the file. The evaluator treats them as
:class:`~commitguard.nix.values.External` values and uses the tables here to
know which names are fetchers, which are builders, which ``lib`` paths are
builtins, and which platform attributes follow from the system evaluated
for. Anything not listed stays unknown rather than guessed.
"""

from __future__ import annotations

import re

from commitguard.nix.values import MISSING

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
    """The builder a callee path names (``stdenv.mkDerivation`` ->
    ``mkDerivation``), or None; ``lib`` and ``builtins`` hold none."""
    parts = path.split(".")
    if parts[0] in ("lib", "builtins"):
        return None
    last = parts[-1]
    if last in BUILDERS or _BUILDER_RE.match(last):
        return last
    return None


# Attributes a fetcher's result exposes that are its own arguments, by
# fetcher family; anything else (``outPath``...) depends on the store.
GIT_FORGES = frozenset(name for name in FETCHERS if name.startswith("fetchFrom"))
FETCHER_RESULT_ATTRS = {
    "forge": ("owner", "repo", "tag", "name"),
    "url": ("url", "urls"),
    "vcs": ("url", "rev", "tag"),
    "crate": ("pname", "version"),
}


def fetcher_family(fetcher: str) -> str:
    """Which row of :data:`FETCHER_RESULT_ATTRS` a fetcher's result follows."""
    if fetcher in GIT_FORGES:
        return "forge"
    if fetcher in ("fetchgit", "fetchsvn", "fetchhg", "builtins.fetchGit"):
        return "vcs"
    if fetcher == "fetchCrate":
        return "crate"
    return "url"

_LINUX_LIKE = {"linux", "darwin", "freebsd", "openbsd", "netbsd", "cygwin", "solaris", "illumos"}


def platform_attr(system: str, name: str):
    """``stdenv.hostPlatform.<name>`` for ``system`` (``x86_64-linux``), or
    :data:`MISSING` for an attribute that does not follow from the system."""
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


PLATFORM_NAMES = ("hostPlatform", "buildPlatform", "targetPlatform")


def _common(arch: str, kernel: str) -> dict:
    """The nested attributes nixpkgs' ``lib.systems.elaborate`` gives one of
    the four common systems (``lib/systems/default.nix``, ``parse.nix``,
    ``rust.nix``, ``go``): only values that follow from the system alone."""
    linux = kernel == "linux"
    triple = f"{arch}-unknown-linux-gnu" if linux else f"{arch}-apple-darwin"
    table = {
        "rust.rustcTarget": triple,
        "rust.rustcTargetSpec": triple,
        "rust.cargoShortTarget": triple,
        "rust.cargoEnvVarTarget": triple.upper().replace("-", "_"),
        "go.GOOS": kernel,
        "go.GOARCH": "amd64" if arch == "x86_64" else "arm64",
        "uname.system": "Linux" if linux else "Darwin",
        "uname.processor": arch,
        "linuxArch": "x86_64" if arch == "x86_64" else "arm64",
        "darwinArch": "x86_64" if arch == "x86_64" else "arm64",
        "parsed.cpu.bits": 64,
        "libc": "glibc" if linux else "libSystem",
        "isGnu": linux,
        "isMusl": False,
        "isStatic": False,
        "isPower": False,
        "isMips": False,
        "isS390": False,
        "extensions.sharedLibrary": ".so" if linux else ".dylib",
        "extensions.staticLibrary": ".a",
        "extensions.executable": "",
    }
    if linux or arch == "x86_64":
        # aarch64-darwin's config is spelt two ways in nixpkgs (examples.nix
        # says arm64-apple-darwin): not given rather than guessed.
        table["config"] = triple
    return table


COMMON_SYSTEMS = {
    system: _common(*system.split("-"))
    for system in ("x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin")
}
_NESTED_PREFIXES = frozenset(
    ".".join(key.split(".")[:i]) for table in COMMON_SYSTEMS.values() for key in table for i in range(1, key.count(".") + 1)
) | {"parsed", "parsed.cpu", "parsed.kernel"}


def nested_platform_attr(system: str, path: str):
    """``hostPlatform.<path>`` for a dotted ``path`` (``rust.rustcTarget``,
    ``go.GOOS``, ``parsed.cpu.name``): the value, ``None``-valued attributes
    included; :data:`MISSING` when the path is a set on the way to one
    (``rust``); or ``NOT_KNOWN`` for anything else, or any system other
    than the four common ones (their tables are not written here)."""
    if "." not in path:
        flat = platform_attr(system, path)
        if flat is not MISSING:
            return flat
    if path == "parsed.cpu.name":
        return system.partition("-")[0]
    if path == "parsed.kernel.name":
        return system.partition("-")[2]
    table = COMMON_SYSTEMS.get(system)
    if table is not None and path in table:
        return table[path]
    if path in _NESTED_PREFIXES:
        return MISSING
    return NOT_KNOWN


class _NotKnown:
    """A platform attribute the tables do not give."""

    __slots__ = ()


NOT_KNOWN = _NotKnown()


CONSTANTS = {
    "fakeHash": "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "fakeSha256": "0" * 52,
    "fakeSha512": "0" * 128,
}


def canonical_lib(path: str) -> str | None:
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

