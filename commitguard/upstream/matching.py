"""Which ``[[upstream]]`` entries speak for a source.

An entry's ``match`` is ``github:OWNER/REPO``, ``pypi:NAME`` or a URL prefix
(SPEC). A source is known by the names it can be reached under: a
fetchFromGitHub call and a fetchurl of that repository's release asset are
both ``github:OWNER/REPO``, a fetchPypi call and a fetchurl from
files.pythonhosted.org are both ``pypi:NAME``. Matching is by those
identities, never by a loose substring: a prefix ``https://github.com`` must
not lend its keys to ``https://github.com.example.net``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from commitguard.keyring.model import Keyring, Upstream
from commitguard.model.sources import FetcherCall
from commitguard.upstream.urls import split_url

GITHUB_HOSTS = ("github.com", "www.github.com", "codeload.github.com")
_PYPI_SOURCE_HOSTS = ("files.pythonhosted.org", "pypi.org", "pypi.io", "pypi.python.org")


def fetcher_name(call: FetcherCall) -> str:
    """``pkgs.fetchFromGitHub`` and ``fetchFromGitHub`` are the same fetcher."""
    return call.fetcher.rpartition(".")[2]


def pypi_normalize(name: str) -> str:
    """PEP 503: ``Foo_Bar`` and ``foo-bar`` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class SourceIdentity:
    github: str | None = None  # "owner/repo", lower-case
    pypi: str | None = None  # PEP 503 normalised
    urls: tuple[str, ...] = ()

    def names(self) -> list[str]:
        out = []
        if self.github:
            out.append(f"github:{self.github}")
        if self.pypi:
            out.append(f"pypi:{self.pypi}")
        out.extend(self.urls[:1])
        return out


def release_urls(call: FetcherCall) -> list[str]:
    """The addresses a file fetcher tries, in its order, each once."""
    return list(dict.fromkeys(u for u in (call.url, *call.urls) if u))


def forge_url(call: FetcherCall) -> str | None:
    """The web address of a forge repository named by owner/repo, as SPEC prints it."""
    name = fetcher_name(call)
    owner, repo = call.owner, call.repo
    if not owner or not repo:
        return None
    if name == "fetchFromGitHub":
        base = call.args.get("githubBase") or call.domain or "github.com"
        return f"https://{base}/{owner}/{repo}"
    if name in ("fetchFromGitLab", "fetchFromGitea", "fetchFromCodeberg"):
        default = {"fetchFromGitLab": "gitlab.com", "fetchFromCodeberg": "codeberg.org"}.get(name)
        domain = call.domain or call.args.get("domain") or default
        if not domain:
            return None
        group = call.args.get("group") if name == "fetchFromGitLab" else None
        slug = "/".join(p for p in (group, owner, repo) if isinstance(p, str) and p)
        return f"https://{domain}/{slug}"
    return None


def identity(call: FetcherCall) -> SourceIdentity:
    name = fetcher_name(call)
    urls: list[str] = []
    for u in (call.url, *call.urls, forge_url(call)):
        if isinstance(u, str) and u and u not in urls:
            urls.append(u)
    github = None
    if name == "fetchFromGitHub" and call.owner and call.repo:
        base = (call.args.get("githubBase") or call.domain or "github.com").lower()
        if base == "github.com":
            github = f"{call.owner}/{call.repo}".lower()
    pypi = None
    if name.lower() == "fetchpypi" and isinstance(call.args.get("pname"), str):
        pypi = pypi_normalize(call.args["pname"])
    for u in urls:
        github = github or _github_of_url(u)
        pypi = pypi or _pypi_of_url(u)
    return SourceIdentity(github=github, pypi=pypi, urls=tuple(urls))


def _github_of_url(url: str) -> str | None:
    split = split_url(url)
    if split is None:
        return None
    parts, host, _ = split
    if parts.scheme.lower() not in ("https", "http", "git") or host not in GITHUB_HOSTS:
        return None
    segs = [s for s in parts.path.split("/") if s]
    if len(segs) < 2:
        return None
    repo = segs[1].removesuffix(".git")
    return f"{segs[0]}/{repo}".lower() if repo else None


def _pypi_of_url(url: str) -> str | None:
    split = split_url(url)
    if split is None:
        return None
    parts, host, _ = split
    segs = [s for s in parts.path.split("/") if s]
    # .../packages/source/<initial>/<name>/<file>
    if host in _PYPI_SOURCE_HOSTS and len(segs) >= 5 and segs[0] == "packages" and segs[1] == "source":
        return pypi_normalize(segs[3])
    return None


def _split_url(url: str) -> tuple[str, str, str] | None:
    split = split_url(url, port=True)
    if split is None:
        return None
    parts, host, port = split
    if not parts.scheme or not host:
        return None
    netloc = f"{host}:{port}" if port is not None else host
    rest = url.split("://", 1)[1]
    path = rest[len(rest.split("/", 1)[0]) :]  # keeps path, query and fragment as written
    return parts.scheme.lower(), netloc, path


def url_prefix_matches(prefix: str, url: str) -> bool:
    """Scheme and host exactly (case-insensitively), then a plain prefix of the rest."""
    p, u = _split_url(prefix), _split_url(url)
    if p is None or u is None:
        return False
    return p[0] == u[0] and p[1] == u[1] and u[2].startswith(p[2])


def entry_matches(match: str, ident: SourceIdentity) -> bool:
    kind, _, value = match.partition(":")
    if kind == "github" and not value.startswith("//"):
        return ident.github is not None and value.strip("/").lower() == ident.github
    if kind == "pypi":
        return ident.pypi is not None and pypi_normalize(value) == ident.pypi
    if "://" in match:
        return any(url_prefix_matches(match, u) for u in ident.urls)
    return False


def matching_upstreams(keyring: Keyring, ident: SourceIdentity) -> list[Upstream]:
    return [u for u in keyring.upstreams if entry_matches(u.match, ident)]
