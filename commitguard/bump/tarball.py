"""A release tarball read against the tag it claims to be made from.

xz-utils 5.6.0's release tarball carried a ``build-to-host.m4`` its tag did
not: a signed tarball vouches for the bytes upstream uploaded, not for their
being the tagged source. Where the mirror holds both the release file and a
repository with a matching tag, every file of the unpacked tarball is hashed
as git would and looked up in the tag's tree.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import pygit2

from commitguard.bump.limits import MAX_LISTED, MAX_TARBALL_FILE_BYTES
from commitguard.bump.model import Finding, TarballComparison, finding
from commitguard.bump.sides import Side, homepage, walk_tree
from commitguard.model.sources import FetcherCall
from commitguard.upstream import archive, mirror as mirror_layout
from commitguard.upstream.matching import fetcher_name, release_urls
from commitguard.upstream.scratch import scratch_directory
from commitguard.upstream.urls import split_url

_URL_FETCHERS = frozenset({"fetchurl", "fetchzip"})


def _tag_candidates(url: str, name: str | None, version: str | None) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(tags, repositories as (host, path)) a release file may have been made from."""
    tags: list[str] = []
    repos: list[tuple[str, list[str]]] = []
    split = split_url(url)
    if split is None:
        return tags, repos
    parts, host, _ = split
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host == "github.com" and len(segments) >= 2:
        repos.append(("github.com", segments[:2]))
        if len(segments) >= 5 and segments[2:4] == ["releases", "download"]:
            tags.append(segments[4])
    if version:
        tags += [f"v{version}", version]
        if name:
            tags += [f"{name}-{version}", f"release-{version}"]
    return list(dict.fromkeys(tags)), repos


def _tag_tree(repo: pygit2.Repository, tag: str):
    try:
        ref = repo.references.get(f"refs/tags/{tag}")
        if ref is None:
            return None
        obj = repo.get(ref.resolve().target)
        return obj.peel(pygit2.Tree) if obj is not None else None
    except (pygit2.GitError, ValueError, KeyError):
        return None


def compare_tarball_with_tag(mirror: Path, call: FetcherCall, name: str | None, version: str | None,
                             homepage: str | None) -> TarballComparison | str | None:
    """The release file against its tag, both from the mirror; None when the mirror lacks either,
    a string when the comparison could not be made (why)."""
    found = mirror_layout.first_file(mirror, release_urls(call))
    if found is None:
        return None
    url, tarball = found
    tags, repos = _tag_candidates(url, name, version)
    if homepage:
        located = mirror_layout.url_location(homepage)
        if located is not None and located[1]:
            host, parts = located
            repos.append((host, parts[:2] if host == "github.com" else parts))
    for host, rest in repos:
        candidates = mirror_layout.repository_candidates(mirror, host, rest)
        repo, _ = mirror_layout.open_repository(candidates)
        if repo is None:
            continue
        for tag in tags:
            tree = _tag_tree(repo, tag)
            if tree is None:
                continue
            return _diff_tarball(repo, tree, tarball, url, f"{host}/{'/'.join(rest)}", tag)
    return None


def _diff_tarball(repo: pygit2.Repository, tree: pygit2.Tree, tarball: Path, url: str, where: str,
                  tag: str) -> TarballComparison | str:
    indexed = {rel: (entry.id, entry.filemode) for rel, entry in walk_tree(repo, tree)}
    with scratch_directory("commitguard-tarball-") as scratch:
        dest = scratch / "unpacked"
        dest.mkdir()
        try:
            archive.unpack(tarball, dest)
        except archive.ArchiveError as exc:
            return f"{url} cannot be unpacked to compare with tag {tag}: {exc}"
        top = dest
        entries = os.listdir(dest)
        if len(entries) == 1 and os.path.isdir(dest / entries[0]) and not os.path.islink(dest / entries[0]):
            top = dest / entries[0]
        only, changed = [], []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]):
                full = os.path.join(dirpath, name)
                rel = PurePosixPath(os.path.relpath(full, top)).as_posix()
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    data = os.readlink(full).encode("utf-8", "surrogateescape")
                elif stat.S_ISREG(st.st_mode):
                    if st.st_size > MAX_TARBALL_FILE_BYTES:
                        changed.append(rel)
                        continue
                    with open(full, "rb") as handle:
                        data = handle.read()
                else:
                    continue
                expected = indexed.get(rel)
                if expected is None:
                    only.append(rel)
                elif pygit2.hash(data) != expected[0] or stat.S_ISLNK(st.st_mode) != (expected[1] == pygit2.GIT_FILEMODE_LINK):
                    changed.append(rel)
    return TarballComparison(url, where, tag, tuple(sorted(only)), tuple(sorted(changed)))


@dataclass(frozen=True)
class TarballCheck:
    """What comparing the new release file with its tag added to a package's audit."""

    comparison: TarballComparison | None = None
    notes: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()


def check_tarball(call: FetcherCall | None, name: str | None, version: str | None, side: Side,
                  mirror: Path | None) -> TarballCheck:
    """The new side's release file against its tag; nothing when there is no mirror or no release file."""
    if mirror is None or call is None or fetcher_name(call) not in _URL_FETCHERS:
        return TarballCheck()
    try:
        result = compare_tarball_with_tag(mirror, call, name, version, homepage(side))
    except (OSError, pygit2.GitError, ValueError) as exc:
        return TarballCheck(notes=(f"release tarball not compared with its tag: {type(exc).__name__}: {exc}",))
    if result is None:
        return TarballCheck()
    if isinstance(result, str):
        return TarballCheck(notes=(result,))
    if not (result.only_in_tarball or result.changed):
        return TarballCheck(result)
    parts = []
    if result.only_in_tarball:
        parts.append("only in the tarball: " + ", ".join(result.only_in_tarball[:MAX_LISTED]))
    if result.changed:
        parts.append("different from the tag: " + ", ".join(result.changed[:MAX_LISTED]))
    count = len(result.only_in_tarball) + len(result.changed)
    more = f" ({count} files in all)" if count > MAX_LISTED else ""
    return TarballCheck(result, findings=(finding(
        "tarball-differs-from-tag",
        f"{result.url} is not what tag {result.tag} of {result.repository} holds: {'; '.join(parts)}{more}"),))
