"""A URL from a package expression, split once and one way.

Every URL here comes from a pull request. ``urlsplit`` refuses some of them
(a malformed IPv6 host) with ``ValueError``, and checks the port only when
it is read: matching a source to ``[[upstream]]`` entries
(:mod:`commitguard.upstream.matching`), laying it out in the mirror
(:mod:`commitguard.upstream.mirror`) and reading a release URL for its tag
(:mod:`commitguard.bump.tarball`) must treat such a URL alike, as naming
nothing, rather than each catching a different subset of the failures.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def split_url(url: str, *, port: bool = False) -> tuple[SplitResult, str, int | None] | None:
    """(parts, lower-case host, port) of ``url``; None when it does not parse.

    The port is read (and a bad one makes the URL unusable) only when asked:
    a caller that ignores ports keeps a URL whose port alone is malformed.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        return parts, host, (parts.port if port else None)
    except ValueError:
        return None
