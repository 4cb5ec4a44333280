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
    "forge": ("owner", "repo", "tag"),
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

