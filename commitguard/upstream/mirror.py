"""Where an upstream source lives in the offline mirror (SPEC "Offline upstream mirror").

Every name that ends up in a mirror path comes from a package expression,
which comes from a pull request: an ``owner = ".."`` or a URL path with
``%2e%2e`` must never reach outside the mirror, so each component is checked
on its own rather than trusting a joined and normalised path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pygit2
from pygit2.enums import RepositoryOpenFlag

from commitguard.upstream.urls import split_url

_BAD_CHARS = ("/", "\\", "\0")


def check_mirror(path: str | None) -> Path | None:
    """The ``--upstream-mirror`` directory, or None; a missing one is a usage error."""
    from commitguard.errors import CommitguardError

    if not path:
        return None
    mirror = Path(path)
    if not mirror.is_dir():
        raise CommitguardError("upstream mirror directory not found", path=str(mirror), field="--upstream-mirror")
    return mirror


@dataclass(frozen=True)
class UpstreamAccess:
    """Where upstream evidence may come from: the mirror, and whether the forge may be asked."""

    mirror: Path | None
    online: bool


def upstream_access(mirror_option: str | None, online: bool) -> UpstreamAccess:
    """SPEC: with a mirror set, nothing is fetched from the network; ``--online`` only
    counts without one. One place for the rule, so no command can forget it."""
    mirror = check_mirror(mirror_option)
    return UpstreamAccess(mirror=mirror, online=online and mirror is None)


def safe_component(part: str) -> bool:
    return bool(part) and part not in (".", "..") and not any(c in part for c in _BAD_CHARS)


def join(mirror: Path, parts: list[str]) -> Path | None:
    """``mirror/parts...``, or None when a part could step outside the mirror."""
    if not parts or not all(safe_component(p) for p in parts):
        return None
    return mirror.joinpath(*parts)


def url_location(url: str) -> tuple[str, list[str]] | None:
    """(host, path components) of a URL, as the mirror lays it out.

    The host is lower-cased (hosts are case-insensitive) and keeps a
    non-default port; the query and fragment are not part of a file's place
    in the mirror. Scp-like git addresses (``git@host:owner/repo``) are read
    as their host and path, as git reads them.
    """
    if "://" not in url:
        head, sep, path = url.partition(":")
        if not sep or "/" in head:
            return None
        host = head.rpartition("@")[2].lower()
        return (host, [p for p in path.split("/") if p]) if host else None
    split = split_url(url, port=True)
    if split is None:
        return None
    parts, host, port = split
    if not host:
        return None
    default = {"http": 80, "https": 443, "ftp": 21, "git": 9418, "ssh": 22}.get(parts.scheme.lower())
    if port is not None and port != default:
        host = f"{host}:{port}"
    return host, [p for p in parts.path.split("/") if p]


def file_candidates(mirror: Path, url: str) -> list[Path]:
    """The mirror paths that may hold the file at ``url``: as written, then percent-decoded."""
    located = url_location(url)
    if located is None:
        return []
    host, parts = located
    out: list[Path] = []
    for variant in (parts, [unquote(p) for p in parts]):
        path = join(mirror, [host, *variant])
        if path is not None and path not in out:
            out.append(path)
    return out


def find_file(mirror: Path, url: str) -> Path | None:
    for path in file_candidates(mirror, url):
        if path.is_file():
            return path
    return None


def first_file(mirror: Path, urls: list[str]) -> tuple[str, Path] | None:
    """(url, mirror path) of the first of ``urls`` the mirror holds a file for, as a fetcher
    tries its ``urls`` in order; None when it holds none."""
    for url in urls:
        path = find_file(mirror, url)
        if path is not None:
            return url, path
    return None


def repository_candidates(mirror: Path, host: str, parts: list[str]) -> list[Path]:
    """``HOST/PATH`` as given, and with or without the ``.git`` suffix people add to clones."""
    variants = [parts]
    if parts and parts[-1].endswith(".git") and len(parts[-1]) > 4:
        variants.append([*parts[:-1], parts[-1][:-4]])
    elif parts:
        variants.append([*parts[:-1], parts[-1] + ".git"])
    out: list[Path] = []
    for variant in variants:
        path = join(mirror, [host.lower(), *variant])
        if path is not None and path not in out:
            out.append(path)
    return out


def open_repository(candidates: list[Path]) -> tuple[pygit2.Repository | None, Path | None]:
    """The first candidate that is a git repository itself (bare or not).

    ``NO_SEARCH``: an empty mirror directory inside some other checkout must
    not silently open that checkout instead.
    """
    for path in candidates:
        if not path.is_dir():
            continue
        try:
            return pygit2.Repository(str(path), RepositoryOpenFlag.NO_SEARCH), path
        except (pygit2.GitError, ValueError, OSError):
            continue
    return None, None
