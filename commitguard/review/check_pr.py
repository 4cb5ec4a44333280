"""The pre-merge check: signed commits, and enough signed approvals per rule.

Everything that judges the pull request comes from the *base* side: the
keyring (when it lives in the repository), the rules, and the maintainers of
the packages it touches. The pull request's head can change all of those
files, and a change must never vouch for itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import PurePosixPath

import pygit2

from commitguard.review.approvals.interface import ApprovalStore, RawApproval
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerdict, ApprovalVerifier, ReviewContext
from commitguard.review.authorship import IdentityMap, change_authors
from commitguard.errors import CommitguardError, RepositoryError
from commitguard.git.revisions import resolve_commit, select_commits
from commitguard.git.trees import TreeReader, blob_at, changed_between, root_tree
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict
from commitguard.nix.maintainers import read_maintainers
from commitguard.verify.in_repository import TreeKeyrings
from commitguard.review.rules import RuleResult, evaluate_rules
from commitguard.verify.commits import VerifyOptions, verify_commit_ids

MAX_PR_COMMITS = 10_000


@dataclass(frozen=True)
class PullRequest:
    """What is under review. ``author`` is a forge login when known."""

    base: str
    head: str
    repository: str
    number: int | None = None
    author_login: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class CheckReport:
    pull_request: PullRequest
    commits: tuple[CommitVerdict, ...]
    changed_files: tuple[str, ...]
    rules: tuple[RuleResult, ...]
    uncovered: tuple[str, ...]
    approvals: tuple[ApprovalVerdict, ...]
    authors: tuple[str, ...]
    keyring_source: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    authorship: dict[str, tuple[str, ...]] = field(default_factory=dict)  # author -> how they wrote the change
    checkpoint: dict | None = None  # the checkpoint the base was found under (in JSON when the keyring lists verifiers)
    checkpointing: bool = False

    @property
    def commits_ok(self) -> bool:
        return all(c.trusted for c in self.commits)

    @property
    def ok(self) -> bool:
        return self.commits_ok and all(r.ok for r in self.rules) and not self.uncovered

    def to_json(self) -> dict:
        pr = self.pull_request
        return {
            "ok": self.ok,
            "repository": pr.repository,
            "pull_request": pr.number,
            "base": pr.base,
            "head": pr.head,
            "keyring": self.keyring_source,
            "commits": [c.to_json() for c in self.commits],
            "changed_files": list(self.changed_files),
            "rules": [r.to_json() for r in self.rules],
            "uncovered": list(self.uncovered),
            "approvals": [a.to_json() for a in self.approvals],
            "authors": list(self.authors),
            "authorship": {person: list(how) for person, how in sorted(self.authorship.items())},
            "warnings": list(self.warnings),
        } | ({"checkpoint": self.checkpoint} if self.checkpointing else {})


def repository_name(repo: pygit2.Repository, explicit: str | None) -> str:
    """--repository, else the origin URL normalised, else the first commit along HEAD's first parents."""
    if explicit:
        return explicit
    try:
        url = repo.remotes["origin"].url
    except (KeyError, ValueError, pygit2.GitError):
        url = None
    if url:
        return normalise_remote(url)
    try:
        # the first commit along first parents: found without sorting the whole history
        # (a reverse topological walk reads all of it before it yields anything)
        walker = repo.walk(repo.head.target, pygit2.GIT_SORT_NONE)
        walker.simplify_first_parent()
        root = None
        for root in walker:
            pass
        if root is None:
            raise StopIteration
        return f"root:{root.id}"
    except (pygit2.GitError, KeyError, StopIteration):
        raise RepositoryError("cannot name the repository (no origin remote, no commits): pass --repository NAME", field="--repository") from None


def normalise_remote(url: str) -> str:
    """``git@github.com:o/r.git`` and ``https://github.com/o/r`` both -> ``github.com/o/r``."""
    text = url.strip()
    for prefix in ("https://", "http://", "ssh://", "git://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if "@" in text.split("/")[0]:
        text = text.split("@", 1)[1]
    if ":" in text.split("/")[0]:
        host, rest = text.split(":", 1)
        text = f"{host}/{rest.lstrip('/')}" if not rest.split("/")[0].isdigit() else f"{host}/{rest.split('/', 1)[1]}"
    if text.endswith(".git"):
        text = text[:-4]
    return text.rstrip("/").lower()


def changed_files(repo: pygit2.Repository, base: str, head: str) -> list[str]:
    """What the pull request changes: merge-base(base, head) against head.

    Names are decoded as libgit2's diff decodes them (undecodable bytes kept as
    surrogates), so a package directory with such a name is still found at the base
    and its maintainers read."""
    merge_base = repo.merge_base(base, head)
    if merge_base is None:
        raise RepositoryError(f"{base[:12]} and {head[:12]} share no history", field="--base")
    raw = changed_between(TreeReader(repo), repo[merge_base].tree_id.raw, repo[head].tree_id.raw)
    return sorted({path.decode("utf-8", "surrogateescape") for path in raw})


def package_maintainers(repo: pygit2.Repository, base: str, files: list[str]) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """For each changed file, the maintainers of its package expression *at base*."""
    tree = root_tree(repo, base)
    out: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    cache: dict[str, tuple[str, ...]] = {}
    for path in files:
        candidates = []
        directory = PurePosixPath(path).parent
        if path.endswith(".nix"):
            candidates.append(path)
        candidates += [str(directory / "package.nix"), str(directory / "default.nix")]
        handles: list[str] = []
        for candidate in dict.fromkeys(candidates):
            if candidate not in cache:
                cache[candidate] = ()
                data = blob_at(repo, tree, candidate)
                if data is not None:
                    found = read_maintainers(data)
                    cache[candidate] = found.handles
                    for snippet in found.unresolved:
                        notes.append(f"{candidate}: cannot read maintainer {snippet!r}")
            handles.extend(cache[candidate])
        out[path] = tuple(dict.fromkeys(handles))
    return out, notes


def _earlier_heads(store: GitNotesStore, pr: PullRequest, base: str, seen: set[str]) -> list[RawApproval]:
    """Approvals of heads this pull request no longer contains (amended,
    force-pushed), found by what they name, so they can be reported stale."""
    found = []
    for annotated in store.all_annotated():
        if annotated in seen:
            continue
        for raw in store.collect(annotated):
            try:
                approval = parse_statement(parse_envelope(raw.text).payload)
            except EnvelopeError:
                continue
            same_pr = pr.number is not None and approval.pull_request == pr.number
            if approval.repository == pr.repository and (approval.base == base or same_pr):
                found.append(raw)
    return found


def check_pull_request(
    repo: pygit2.Repository,
    pr: PullRequest,
    keyring: Keyring | None,
    *,
    stores: list[ApprovalStore] | None = None,
    extra_approvals: list[RawApproval] | None = None,
    options: VerifyOptions | None = None,
    forge_logins: Sequence[tuple[str, str]] = (),
    now: datetime | None = None,
) -> CheckReport:
    """Judge a pull request. ``keyring=None`` reads the keyring kept in the
    repository at the base commit. ``forge_logins`` are (login, how) pairs the
    forge attributes the pull request and its commits to: their persons are
    authors too (see :mod:`commitguard.review.authorship`)."""
    base = str(resolve_commit(repo, pr.base, "base"))
    head = str(resolve_commit(repo, pr.head, "head"))
    pr = PullRequest(base, head, pr.repository, pr.number, pr.author_login, pr.title)
    warnings: list[str] = []
    if keyring is None:
        keyring = TreeKeyrings(repo).load(base)
        source = f"{base[:12]}:.commitguard/keyring (the base)"
    else:
        source = keyring.path
    if not keyring.rules:
        raise CommitguardError(
            "the keyring has no [[rule]]: check-pr needs at least one (an empty policy approves nothing)",
            path=source,
            field="rule",
        )
    options = options or VerifyOptions()
    selection = select_commits(repo, [f"{base}..{head}"], max_commits=MAX_PR_COMMITS)
    commits = verify_commit_ids(repo, keyring, selection.ids, options)
    files = changed_files(repo, base, head)

    wrote = change_authors(repo, keyring, commits, forge_logins)
    if pr.author_login:
        for person in IdentityMap(keyring).login(pr.author_login):
            wrote.add(person, f"GitHub login {pr.author_login} (opened the pull request)")
    authors = wrote.persons
    context = ReviewContext(
        repository=pr.repository, base=base, head=head, head_tree=str(repo[head].tree_id), pull_request=pr.number
    )
    raw: list[RawApproval] = list(extra_approvals or [])
    for store in stores if stores is not None else [GitNotesStore(repo)]:
        # Approvals stored on earlier commits of this pull request are stale,
        # and are looked up so the report can say so.
        for commit_id in dict.fromkeys([head, *selection.ids]):
            raw.extend(store.collect(commit_id))
        if isinstance(store, GitNotesStore):
            raw.extend(_earlier_heads(store, pr, base, set(selection.ids) | {head}))
    raw = list({(r.text, r.origin): r for r in raw}.values())
    verifier = ApprovalVerifier(keyring)
    verdicts = [verifier.verify(r, context, now or datetime.now(timezone.utc)) for r in raw]
    state: dict[str, str] = {}
    for v in verdicts:
        if v.person is None:
            continue
        if v.status is ApprovalStatus.VALID:
            state[v.person] = "valid"
        elif v.status is ApprovalStatus.STALE and state.get(v.person) != "valid":
            state[v.person] = "stale"
    maintainers, notes = package_maintainers(repo, base, files)
    warnings.extend(notes)
    rules, uncovered = evaluate_rules(keyring, files, state, authors, maintainers)
    return CheckReport(
        pull_request=pr,
        commits=tuple(commits),
        changed_files=tuple(files),
        rules=tuple(rules),
        uncovered=tuple(uncovered),
        approvals=tuple(verdicts),
        authors=tuple(sorted(authors)),
        keyring_source=source,
        warnings=tuple(warnings),
        authorship={person: tuple(how) for person, how in wrote.evidence.items()},
    )
