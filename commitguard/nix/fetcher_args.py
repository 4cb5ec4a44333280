"""The arguments of a fetcher call, turned into what nixpkgs' fetcher fetches.

Each fetcher family names its source its own way: a forge fetcher
(``fetchFromGitHub``) by owner, repo and rev or tag, a VCS fetcher by URL and
rev, ``fetchPypi`` and ``fetchCrate`` by name and version (the URL is
computed as nixpkgs computes it), the others by ``url``/``urls``; hashes
are given in any of Nix's spellings. These functions compute the concrete
URL and the SRI hash from evaluated arguments, and record in ``why`` every
argument that is missing or not what the fetcher takes, so that nothing is
filled in.
"""

from __future__ import annotations

from commitguard.nix import hashes, mirrors
from commitguard.nix.values import Attrs

# Fixed-output fetchers of a package's dependencies (``fetchPnpmDeps``,
# ``pnpm.fetchDeps``, ``fetchYarnDeps``, ``fetchNpmDeps``, ``fetchBunDeps``,
# ``fetchCargoVendor``...): what they fetch is computed from a lockfile in the
# source, and their hash is over that result. They are no upstream release:
# their identity is the hash, and their other arguments (the tool that
# fetches, the lockfile's path in the source, overrides) are inputs that
# cannot change the output without changing the hash.
_DEPENDENCY_FETCHERS = frozenset({"fetchCargoVendor", "fetchCargoTarball", "importCargoLock"})


def is_dependency_fetcher(fetcher: str) -> bool:
    return fetcher.endswith("Deps") or fetcher in _DEPENDENCY_FETCHERS


def hash_keys() -> tuple[str, ...]:
    """The argument names a fetcher's hash may be given as."""
    return tuple(key for key, _algo in _HASH_ARGS)

_HASH_ARGS = (
    ("hash", None),
    ("outputHash", None),
    ("sha256", "sha256"),
    ("sha512", "sha512"),
    ("sha1", "sha1"),
    ("md5", "md5"),
)

# Forge fetchers and their default domain (None: the call must give one).
_FORGES = {
    "fetchFromGitHub": "github.com",
    "fetchFromGitLab": "gitlab.com",
    "fetchFromGitea": None,
    "fetchFromCodeberg": "codeberg.org",
    "fetchFromSourcehut": "sr.ht",
    "fetchFromBitbucket": "bitbucket.org",
}
_VCS = {"fetchgit", "fetchsvn", "fetchhg", "builtins.fetchGit"}


def essential_args(fetcher: str) -> tuple[str, ...]:
    if is_dependency_fetcher(fetcher):
        return ("hash",)
    if fetcher in _FORGES:
        return ("owner", "repo", "rev", "hash")
    if fetcher in _VCS:
        return ("url", "rev", "hash")
    if fetcher == "fetchPypi":
        return ("pname", "version", "hash")
    if fetcher == "fetchCrate":
        return ("pname", "version", "hash")
    return ("url", "hash")


def _string(args: dict, key: str, why: dict, default=None, required: bool = False):
    """``args[key]`` when it is a string; unresolved-and-missing bookkeeping otherwise."""
    if key in why:
        return None
    if key not in args:
        if required:
            why[key] = "missing"
        return default
    value = args[key]
    if isinstance(value, str):
        return value
    if value is None and not required:
        return default
    why[key] = f"expected a string, got {type(value).__name__}"
    return None


def fetcher_fields(fetcher: str, args: dict, why: dict) -> dict:
    fields: dict = {}
    if fetcher in _FORGES:
        default_domain = _FORGES[fetcher]
        owner = _string(args, "owner", why, required=True)
        repo = _string(args, "repo", why, required=True)
        rev = _string(args, "rev", why)
        tag = _string(args, "tag", why)
        if rev is None and tag is None and "rev" not in why and "tag" not in why:
            why["rev"] = "missing (neither rev nor tag)"
        if fetcher == "fetchFromGitHub":
            domain = _string(args, "githubBase", why, default=default_domain)
        elif fetcher in ("fetchFromCodeberg", "fetchFromBitbucket"):
            domain = default_domain
        else:
            domain = _string(args, "domain", why, default=default_domain, required=default_domain is None)
        fields.update(owner=owner, repo=repo, rev=rev, tag=tag, domain=domain)
        if owner is not None and repo is not None and domain is not None:
            if fetcher == "fetchFromGitLab":
                protocol = _string(args, "protocol", why, default="https")
                group = _string(args, "group", why)
                slug = "/".join(p for p in (group, owner, repo) if p)
                if protocol is not None and "group" not in why:
                    fields["url"] = f"{protocol}://{domain}/{slug}"
            elif fetcher == "fetchFromSourcehut":
                vc = _string(args, "vc", why, default="git")
                if vc is not None:
                    fields["url"] = f"https://{vc}.{domain}/{owner}/{repo}"
            else:
                fields["url"] = f"https://{domain}/{owner}/{repo}"
    elif fetcher in _VCS:
        fields["url"] = _string(args, "url", why, required=True)
        fields["rev"] = _string(args, "rev", why)
        fields["tag"] = _string(args, "tag", why)
    elif fetcher == "fetchPypi":
        fields["url"] = _pypi_url(args, why)
    elif fetcher == "fetchCrate":
        crate = _string(args, "crateName", why) or _string(args, "pname", why, required="crateName" not in why)
        version = _string(args, "version", why, required=True)
        registry = _string(args, "registryDl", why, default="https://crates.io/api/v1/crates")
        if crate and version and registry:
            fields["url"] = f"{registry}/{crate}/{version}/download"
    else:
        urls = _url_list(args, why)
        if urls:
            fields["urls"] = tuple(urls)
            fields["url"] = urls[0]
        return fields
    if fields.get("url"):
        fields["url"] = mirrors.expand(fields["url"])
        fields["urls"] = (fields["url"],)
    return fields


def _url_list(args: dict, why: dict) -> list[str]:
    if "url" in why or "urls" in why:
        return []
    if "url" in args:
        url = args["url"]
        if isinstance(url, str):
            return [mirrors.expand(url)]
        why["url"] = "expected a string"
        return []
    if "urls" in args:
        urls = args["urls"]
        if isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls):
            return [mirrors.expand(u) for u in urls]
        why["urls"] = "expected a non-empty list of strings"
        return []
    return []


def _pypi_url(args: dict, why: dict) -> str | None:
    """The URL nixpkgs' fetchPypi computes (pkgs/build-support/fetchpypi)."""
    pname = _string(args, "pname", why, required=True)
    version = _string(args, "version", why, required=True)
    fmt = _string(args, "format", why, default="setuptools")
    if not pname or version is None or fmt is None:
        return None
    if fmt == "wheel":
        dist = _string(args, "dist", why, default="py2.py3")
        python = _string(args, "python", why, default="py2.py3")
        abi = _string(args, "abi", why, default="none")
        platform = _string(args, "platform", why, default="any")
        if None in (dist, python, abi, platform):
            return None
        return (
            f"https://files.pythonhosted.org/packages/{dist}/{pname[0]}/{pname}/"
            f"{pname}-{version}-{python}-{abi}-{platform}.whl"
        )
    if fmt == "setuptools":
        extension = _string(args, "extension", why, default="tar.gz")
        if extension is None:
            return None
        return f"mirror://pypi/{pname[0]}/{pname}/{pname}-{version}.{extension}"
    why["format"] = f"fetchPypi does not support format {fmt!r}"
    return None


def hash_argument(args: dict, given: Attrs, why: dict) -> str | None:
    """The SRI form of the first non-empty hash argument; a hash argument
    that is present but not a valid hash is unresolved, not dropped."""
    for key, algo in _HASH_ARGS:
        if key not in given.items or key in why:
            continue
        raw = args.get(key)
        if raw in ("", None):
            continue
        if key == "outputHash":
            algo_arg = args.get("outputHashAlgo")
            algo = algo_arg if isinstance(algo_arg, str) and algo_arg else None
        try:
            return hashes.to_sri(raw, algo)
        except hashes.HashError as exc:
            why[key] = f"not a valid hash: {exc}"
            return None
    return None
