"""``audit-bump --github``: a bump pull request read through GitHub's API, and one comment kept up to date.

GitHub says which base and head the pull request is made of, its title (the
``NAME: OLD -> NEW`` claim the audit checks) and who opened it from which
branch (how a bot is recognised). The expressions themselves are read from
the local clone by sha, as ``check-pr --github`` does, so a forge that lies
can only make the audit judge another commit, which the report names.

``--comment`` keeps a single comment per pull request: a bot force-pushes
its branch on every new upstream release, and a new comment per push would
bury the discussion. The comment is found again by a hidden first line and,
where the token's own login can be learned, only among that login's comments,
so a comment someone else wrote with the same line is never the one updated.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from commitguard.bump import COMMENT_MARKER, BumpReport, FailOn, audit_bump, keyring_for_audit
from commitguard.forge import api_url, github_client, github_errors, parse_slug
from commitguard.forge.github_pr import (
    approval_repository,
    in_github_actions,
    pull_request_number,
    read_pull_request,
    require_commits,
)
from commitguard.git.revisions import open_repository
from commitguard.keyring.select import KeyringChoice
from commitguard.output.markdown import MarkdownFormatter
from commitguard.upstream import ContinuityStore

# GitHub refuses comment bodies over 65,536 characters.
MAX_COMMENT_CHARS = 60_000
# Enough pages of comments for any real pull request; a hostile one with
# thousands of comments costs no more than this.
MAX_COMMENTS_SCANNED = 3000
ACTIONS_LOGIN = "github-actions[bot]"


def comment_body(report: BumpReport) -> str:
    markdown = MarkdownFormatter().audit_bump(report)
    if len(markdown) > MAX_COMMENT_CHARS:
        markdown = (markdown[:MAX_COMMENT_CHARS].rsplit("\n", 1)[0]
                    + "\n\n… (truncated: run `commitguard audit-bump` locally for the whole report)\n")
    return f"{COMMENT_MARKER}\n{markdown}"


def _head_branch(pull, where: str) -> str | None:
    with github_errors(f"reading the head branch of {where}"):
        try:
            ref = pull.head.ref
        except (AttributeError, TypeError):
            return None
    return ref if isinstance(ref, str) else None


def _own_login(gh) -> str | None:
    """The token's login, so only our own earlier comment is updated. An Actions token
    cannot read ``/user``; there the comments are the Actions bot's."""
    import github

    try:
        login = gh.get_user().login
        if isinstance(login, str) and login:
            return login
    except (github.GithubException, github.BadAttributeException, OSError, ValueError, AttributeError, TypeError):
        pass
    return ACTIONS_LOGIN if in_github_actions() else None


def post_or_update_comment(gh, pull, body: str, where: str) -> str:
    """Update our earlier comment (the newest one carrying the marker), else post one; returns its URL."""
    import github

    own = _own_login(gh)
    ours = []
    with github_errors(f"listing the comments of {where}"):
        for n, existing in enumerate(pull.get_issue_comments()):
            if n >= MAX_COMMENTS_SCANNED:
                break
            text = existing.body if isinstance(existing.body, str) else ""
            if not text.startswith(COMMENT_MARKER):
                continue
            login = existing.user.login if existing.user is not None else None
            if own is None or login == own:
                ours.append(existing)
    for existing in reversed(ours):
        with github_errors(f"updating the earlier comment on {where}"):
            try:
                existing.edit(body)
            except github.GithubException as exc:
                if exc.status in (403, 404):
                    continue  # not ours to edit after all: try an older one, else post anew
                raise
            return existing.html_url if isinstance(existing.html_url, str) else f"comment {existing.id}"
    with github_errors(f"commenting on {where}"):
        created = pull.create_issue_comment(body)
        url = created.html_url
    return url if isinstance(url, str) else "a new comment"


@dataclass(frozen=True)
class GitHubAudit:
    """A bump pull request audited through GitHub, and where its comment went (with ``comment``)."""

    report: BumpReport
    comment_url: str | None


def audit_github_pull_request(
    github_option: str,
    pr: int | None,
    repo_path: str,
    keyring: KeyringChoice,
    *,
    mirror: Path | None,
    online: bool = False,
    fail_on: FailOn | None = None,
    comment: bool = False,
    continuity: ContinuityStore | None = None,
    system: str = "x86_64-linux",
) -> GitHubAudit:
    """Audit a GitHub pull request against the local clone; with ``comment``, post the
    report as the pull request's commitguard comment (or update ours)."""
    slug = parse_slug(github_option)
    number = pull_request_number(pr)
    repo = open_repository(repo_path)
    gh = github_client()
    gh_repo = gh.get_repo(slug)
    info, pull = read_pull_request(gh_repo, slug, number)
    where = f"{slug}#{number}"
    branch = _head_branch(pull, where)
    require_commits(repo, info)
    report = audit_bump(
        repo, info.base, info.head, keyring=keyring_for_audit(keyring, repo, info.base), mirror=mirror, online=online,
        github_api=api_url(), title=info.title, author=info.author, branch=branch, pull_request=number,
        repository=approval_repository(slug), fail_on=fail_on, continuity=continuity, system=system,
    )
    url = post_or_update_comment(gh, pull, comment_body(report), where) if comment else None
    return GitHubAudit(report=report, comment_url=url)
