"""``check-pr --github`` and ``approve --github``: a pull request read through GitHub's API.

GitHub says which base and head the pull request is made of, who opened it,
and hands over the review bodies that may carry signed approvals. Everything
else comes from the local clone: the commits are read there by sha (GitHub
Actions checks the repository out; a reviewer has it anyway), the keyring is
the base's own or the one the user names, and the verdict is
:func:`commitguard.review.check_pr.check_pull_request`'s. A forge that lies about
the head therefore can only make the check judge another commit, which the
approvals (bound to the exact head) will not cover.

Inside GitHub Actions the same report also lands where a reviewer looks: the
job summary (markdown) and error annotations on the files concerned; this
module makes those, the command line decides what is printed and the exit code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import pygit2

from commitguard.review.approvals.create import build_approval, sign_approval
from commitguard.review.approvals.github_reviews import GitHubReviewStore
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.check_pr import MAX_PR_COMMITS, CheckReport, PullRequest, check_pull_request, normalise_remote
from commitguard.errors import CommitguardError, RepositoryError
from commitguard.forge import github_client, github_errors, parse_slug
from commitguard.git.revisions import open_repository, select_commits
from commitguard.keyring.select import KeyringChoice, require_base_under_trust_root
from commitguard.verify.commits import VerifyOptions

# Listing a pull request's files costs one call per 100 files; beyond this
# the cross-check is not worth a treewide change's API budget.
FILES_CROSS_CHECK_LIMIT = 300
MAX_ANNOTATIONS = 50
MAX_EVENT_BYTES = 16 * 1024 * 1024
# GitHub lists at most 250 commits of a pull request; beyond, commits are read one by one, up to this many.
PR_COMMITS_LISTED = 250
MAX_COMMIT_LOOKUPS = 250


@dataclass(frozen=True)
class GitHubPullRequest:
    """What GitHub says a pull request is, checked for shape, not trusted."""

    slug: str
    number: int
    base: str
    head: str
    author: str | None
    title: str | None
    changed_files: int | None


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def approval_repository(slug: str) -> str:
    """The name approvals carry: the same one ``check-pr --base/--head`` derives
    from a ``github.com`` origin remote, so both find the same approvals."""
    return normalise_remote(f"https://github.com/{slug}")


def pull_request_number(pr: int | None) -> int:
    """``--pr``, else (in GitHub Actions) the number of the pull request that
    triggered the workflow, so the action needs no input for it."""
    if pr is not None:
        if pr < 1:
            raise CommitguardError(f"{pr} is not a pull request number", field="--pr")
        return pr
    path = os.environ.get("GITHUB_EVENT_PATH") if in_github_actions() else None
    if not path:
        raise CommitguardError("name the pull request with --pr N", field="--pr")
    try:
        with open(path, "rb") as handle:
            event = json.loads(handle.read(MAX_EVENT_BYTES + 1)[:MAX_EVENT_BYTES])
    except OSError as exc:
        raise CommitguardError(f"cannot read the workflow event: {exc.strerror or exc}", path=path) from None
    except (ValueError, RecursionError):
        raise CommitguardError("the workflow event is not JSON", path=path) from None
    pull = event.get("pull_request") if isinstance(event, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise CommitguardError("the workflow was not triggered by a pull request; pass --pr N", path=path,
                               field="pull_request.number")
    return number


def _sha(value, what: str, where: str) -> str:
    if not isinstance(value, str) or len(value) != 40 or any(c not in "0123456789abcdef" for c in value):
        raise CommitguardError(f"GitHub's answer has no valid {what} sha", path=where, field=what)
    return value


def read_pull_request(gh_repo, slug: str, number: int) -> tuple[GitHubPullRequest, object]:
    """(the facts we use, the lazy PyGithub pull request for further calls)."""
    where = f"{slug}#{number}"
    with github_errors(f"reading pull request {where}"):
        pull = gh_repo.get_pull(number)
        try:
            base, head = pull.base.sha, pull.head.sha
            user = pull.user
            login = user.login if user is not None else None
            title = pull.title
            changed = pull.changed_files
        except (AttributeError, TypeError):
            raise CommitguardError("GitHub's answer lacks the base or head of the pull request", path=where) from None
    return (
        GitHubPullRequest(
            slug=slug,
            number=number,
            base=_sha(base, "base", where),
            head=_sha(head, "head", where),
            author=login if isinstance(login, str) else None,
            title=title if isinstance(title, str) else None,
            changed_files=changed if isinstance(changed, int) and not isinstance(changed, bool) else None,
        ),
        pull,
    )


def require_commits(repo: pygit2.Repository, info: GitHubPullRequest) -> None:
    """The commits are judged from the local clone, so both must be in it;
    nothing is fetched behind the user's back."""
    for what, sha, hint in (
        ("head", info.head, f"fetch the pull request head first: git fetch origin pull/{info.number}/head"),
        ("base", info.base, f"fetch the base branch first: git fetch origin {info.base}"),
    ):
        try:
            obj = repo.get(sha)
        except (ValueError, pygit2.GitError):
            obj = None
        if not isinstance(obj, pygit2.Commit):
            raise RepositoryError(
                f"the {what} commit {sha} of {info.slug}#{info.number} is not in the local repository; {hint}",
                path=repo.workdir or repo.path,
            )


def _attributed(commit, sha: str, where: str) -> list[tuple[str, str]]:
    """(login, how) for the author and committer accounts GitHub attributes a commit to."""
    out = []
    for role in ("author", "committer"):
        try:
            user = getattr(commit, role)
            login = user.login if user is not None else None
        except (AttributeError, TypeError):
            raise CommitguardError(f"GitHub's answer for commit {sha} has no valid {role}", path=where) from None
        if isinstance(login, str) and login:
            out.append((login, f"{role} of {sha[:12]} on GitHub"))
    return out


def forge_commit_logins(gh_repo, pull, info: GitHubPullRequest, local_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The GitHub accounts every commit of the pull request is attributed to.

    A commit's e-mail address may be one the keyring does not list while
    GitHub knows whose account it is; those logins make their persons
    authors too. GitHub lists at most 250 commits of a pull request; the
    rest are asked for one by one, up to a budget. A commit GitHub cannot
    attribute stops the check (exit 2): an author left out could approve.
    """
    where = f"{info.slug}#{info.number}"
    wanted = set(local_ids)
    seen: set[str] = set()
    logins: list[tuple[str, str]] = []
    with github_errors(f"listing the commits of {where}"):
        for count, commit in enumerate(pull.get_commits()):
            if count >= PR_COMMITS_LISTED:  # a server that pages without end is cut off here
                break
            sha = commit.sha
            if isinstance(sha, str) and sha in wanted and sha not in seen:
                seen.add(sha)
                logins.extend(_attributed(commit, sha, where))
    missing = [c for c in local_ids if c not in seen]
    if len(missing) > MAX_COMMIT_LOOKUPS:
        raise CommitguardError(
            f"GitHub does not list {len(missing)} of the pull request's {len(local_ids)} commits, more than the "
            f"{MAX_COMMIT_LOOKUPS} that are looked up one by one: their authors' accounts cannot be known, so "
            "approvals cannot be told apart from the authors'", path=where, field="commits")
    for sha in missing:
        with github_errors(f"reading commit {sha} of {where}"):
            commit = gh_repo.get_commit(sha)
            logins.extend(_attributed(commit, sha, where))
    return logins


def commit_files(repo: pygit2.Repository, commit_id: str) -> list[str]:
    """What a commit itself changed (against its first parent), to place its annotation."""
    commit = repo[commit_id]
    if commit.parents:
        diff = repo.diff(commit.parents[0].tree, commit.tree)
    else:
        diff = commit.tree.diff_to_tree(swap=True)
    return sorted({d.new_file.path for d in diff.deltas} | {d.old_file.path for d in diff.deltas})


def untrusted_commit_files(repo: pygit2.Repository, report: CheckReport) -> dict[str, tuple[str, ...]]:
    """For each untrusted commit, the files of the pull request it touched."""
    changed = set(report.changed_files)
    out: dict[str, tuple[str, ...]] = {}
    for verdict in report.commits:
        if not verdict.trusted:
            out[verdict.id] = tuple(p for p in commit_files(repo, verdict.id) if p in changed)
    return out


def _files_cross_check(pull, info: GitHubPullRequest, report: CheckReport) -> list[str]:
    """GitHub's own file list should match the local diff; a difference means
    the clone and the forge disagree about what the pull request is."""
    if info.changed_files is None or info.changed_files > FILES_CROSS_CHECK_LIMIT:
        return []
    listed: list[str] = []
    try:
        with github_errors(f"listing the files of {info.slug}#{info.number}"):
            for count, entry in enumerate(pull.get_files()):
                if count >= FILES_CROSS_CHECK_LIMIT:  # a server that pages without end is cut off here
                    return [f"could not cross-check the changed files with GitHub: it lists more than the "
                            f"{info.changed_files} files it announced"]
                if isinstance(entry.filename, str):
                    listed.append(entry.filename)
    except CommitguardError as exc:
        return [f"could not cross-check the changed files with GitHub: {exc}"]
    except (TypeError, AttributeError, KeyError):
        return ["could not cross-check the changed files with GitHub: its answer is not a list of files"]
    checked = set(report.changed_files)
    unseen = [p for p in listed if p not in checked]
    if not unseen:
        return []
    shown = ", ".join(unseen[:5]) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
    return [f"GitHub lists changed files the local diff {info.base[:12]}...{info.head[:12]} does not: {shown}"]


def _escape_data(text: str) -> str:
    """Workflow-command escaping: a message can never end the command early or start another."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(message: str, file: str | None, title: str) -> str:
    if not file:
        return f"::error::{_escape_data(message)}"
    return f"::error file={_escape_property(file)},title={_escape_property(title)}::{_escape_data(message)}"


def annotations(report: CheckReport, touched: dict[str, tuple[str, ...]]) -> list[str]:
    """``::error`` lines: each untrusted commit on a file it changed, each unmet
    rule on its first file, each uncovered file; at most MAX_ANNOTATIONS."""
    lines = []
    for verdict in report.commits:
        if verdict.trusted:
            continue
        files = touched.get(verdict.id, ())
        subject = f" ({verdict.summary})" if verdict.summary else ""
        lines.append(_annotation(
            f"commit {verdict.id[:12]}{subject} is not trusted: {verdict.status.value}: {verdict.reason}",
            files[0] if files else None, "untrusted commit"))
    for rule in report.rules:
        if rule.ok:
            continue
        who = ", ".join(rule.eligible) or "nobody in the keyring"
        stale = f"; stale (approved an earlier head): {', '.join(rule.stale)}" if rule.stale else ""
        excluded = f"; not counted as authors: {', '.join(rule.excluded_authors)}" if rule.excluded_authors else ""
        package = f" (package {rule.package})" if rule.package else ""
        lines.append(_annotation(
            f"{', '.join(rule.paths)}{package}: {len(rule.approved_by)} of {rule.required} signed approval(s); "
            f"may approve: {who}{stale}{excluded}",
            rule.files[0] if rule.files else None, "missing approval"))
    for path in report.uncovered:
        lines.append(_annotation("no review rule covers this file", path, "uncovered path"))
    if len(lines) > MAX_ANNOTATIONS:
        lines = lines[:MAX_ANNOTATIONS] + [f"::error::{len(lines) - MAX_ANNOTATIONS} more problems: see the job summary"]
    return lines


def write_step_summary(markdown: str) -> None:
    """Append, as GitHub expects: other steps share the same summary file."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip("\n") + "\n\n")
    except OSError as exc:
        print(f"commitguard: warning: cannot write the job summary {path}: {exc.strerror or exc}", file=sys.stderr)


@dataclass(frozen=True)
class GitHubCheck:
    """A pull request judged through GitHub: the report, and for each untrusted commit
    the files of the pull request it touched (where its annotation goes)."""

    report: CheckReport
    touched: dict[str, tuple[str, ...]]


def check_github_pull_request(
    github: str,
    pr: int | None,
    repo_path: str,
    keyring: KeyringChoice,
    *,
    options: VerifyOptions,
    trust_root: str | None = None,
) -> GitHubCheck:
    """Check a GitHub pull request against the local clone. The keyring is the user's,
    else the base's own (never the head's); with ``trust_root``, the base GitHub names
    must descend from it."""
    slug = parse_slug(github)
    number = pull_request_number(pr)
    repo = open_repository(repo_path)
    loaded = keyring.load()
    gh_repo = github_client().get_repo(slug)
    info, pull = read_pull_request(gh_repo, slug, number)
    require_commits(repo, info)
    require_base_under_trust_root(repo, trust_root, info.base)
    selection = select_commits(repo, [f"{info.base}..{info.head}"], max_commits=MAX_PR_COMMITS)
    logins = forge_commit_logins(gh_repo, pull, info, selection.ids)
    report = check_pull_request(
        repo,
        PullRequest(info.base, info.head, approval_repository(slug), number, info.author, info.title),
        loaded,
        stores=[GitHubReviewStore(gh_repo, slug, number), GitNotesStore(repo)],
        options=options,
        forge_logins=logins,
    )
    extra = _files_cross_check(pull, info, report)
    if extra:
        report = dataclasses.replace(report, warnings=report.warnings + tuple(extra))
    return GitHubCheck(report=report, touched=untrusted_commit_files(repo, report))


@dataclass(frozen=True)
class GitHubApproval:
    """An approval signed and posted: what the reviewer is told."""

    head: str
    base: str
    where: str  # OWNER/REPO#N
    stored_in: str | None  # the git notes ref, when stored
    posted: str


def approve_on_github(
    github: str,
    pr: int | None,
    repository: pygit2.Repository,
    ssh_key: str | None,
    openpgp_key: str | None,
    *,
    store: bool = True,
) -> GitHubApproval:
    """Sign an approval of the pull request's current head, keep it in git notes
    (unless ``store`` is false) and post it as a review. The head is the one
    GitHub names *now*, and it must be in the local clone: the reviewer signs
    a commit they can see, and the statement names its exact tree."""
    slug = parse_slug(github)
    number = pull_request_number(pr)
    gh_repo = github_client().get_repo(slug)
    info, _ = read_pull_request(gh_repo, slug, number)
    require_commits(repository, info)
    approval = build_approval(repository, approval_repository(slug), info.head, info.base, number)
    envelope = sign_approval(approval, ssh_key=ssh_key, openpgp_key=openpgp_key).to_json()
    stored = GitNotesStore(repository).store(approval.head, envelope) if store else None
    posted = GitHubReviewStore(gh_repo, slug, number).store(approval.head, envelope)
    return GitHubApproval(head=approval.head, base=approval.base, where=f"{slug}#{number}", stored_in=stored,
                          posted=posted)
