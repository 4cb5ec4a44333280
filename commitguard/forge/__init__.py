"""Forges: where pull requests and their reviews live (GitHub, through its REST API).

A forge is only ever a courier here. It tells us which commits a pull request
proposes and hands over the review bodies that may carry signed approvals;
every verdict still comes from the local repository and the keyring. So a
forge answer that is malformed, missing or hostile is an input error (exit 2)
or an approval that does not count, never a reason to trust anything.
"""

from __future__ import annotations

import contextlib
import os
import re
from typing import Iterator

from commitguard.errors import CommitguardError

DEFAULT_API_URL = "https://api.github.com"
# GitHub's own limits: owner (a login or organisation) and repository names.
_SLUG = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_TIMEOUT = 30
_PER_PAGE = 100


def api_url() -> str:
    """``$GITHUB_API_URL`` is what GitHub Actions sets (and GHES users set); tests point it at a local server."""
    return os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL


def parse_slug(text: str | None, option: str = "--github") -> str:
    """OWNER/REPO, checked before it goes into a URL path."""
    slug = (text or "").strip()
    if slug.startswith(("https://github.com/", "http://github.com/")):
        slug = slug.split("github.com/", 1)[1]
    slug = slug.removesuffix(".git").strip("/")
    if not _SLUG.match(slug) or slug.endswith("/.") or slug.endswith("/.."):
        raise CommitguardError(f"{text!r} is not OWNER/REPO", field=option)
    return slug


def github_client():
    """A lazy PyGithub client: objects are built from what we already know
    (a repository's name, a pull request's number, a commit's sha) and only
    fetched when a field is read, so no call is spent on ``GET /repos/O/R``."""
    import github

    token = os.environ.get("GITHUB_TOKEN")
    options = dict(base_url=api_url(), auth=github.Auth.Token(token) if token else None, timeout=_TIMEOUT,
                   per_page=_PER_PAGE, **request_spacing())
    try:
        return github.Github(**options, lazy=True)
    except TypeError:
        # PyGithub before 2.6 has no lazy mode: the same calls, plus a few fetches
        return github.Github(**options)


def request_spacing() -> dict[str, float]:
    """PyGithub waits between calls (0.25 s, 1 s between writes) to stay clear of GitHub's
    secondary rate limits. ``$COMMITGUARD_GITHUB_REQUEST_INTERVAL`` (seconds, 0 or more) sets both,
    for a forge that is not github.com (a GHES instance, a local test server); unset: PyGithub's."""
    text = os.environ.get("COMMITGUARD_GITHUB_REQUEST_INTERVAL")
    if text is None or text == "":
        return {}
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 60:
        raise CommitguardError(
            f"{text!r} is not a number of seconds from 0 to 60",
            field="COMMITGUARD_GITHUB_REQUEST_INTERVAL",
        )
    return {"seconds_between_requests": seconds, "seconds_between_writes": seconds}


@contextlib.contextmanager
def github_errors(what: str) -> Iterator[None]:
    """Turn every way an API call can fail into one line naming what we asked for."""
    import github
    import requests

    try:
        yield
    except github.GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        hint = ""
        if exc.status in (401, 403) and not os.environ.get("GITHUB_TOKEN"):
            hint = " (set GITHUB_TOKEN)"
        raise CommitguardError(f"{what}: GitHub answered {exc.status}: {message or 'no message'}{hint}",
                               path=api_url()) from None
    except github.BadAttributeException:
        raise CommitguardError(f"{what}: GitHub's answer has a field of the wrong type", path=api_url()) from None
    except (requests.RequestException, OSError) as exc:
        raise CommitguardError(f"{what}: cannot reach GitHub: {type(exc).__name__}", path=api_url()) from None
    except ValueError as exc:
        raise CommitguardError(f"{what}: GitHub's answer is not JSON ({str(exc).splitlines()[0] if str(exc) else ''})",
                               path=api_url()) from None
