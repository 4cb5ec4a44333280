"""audit-bump: is a version-bump change only that, and does upstream still vouch for it the same way?

Most changes to a package set are bots moving a version and its hashes. A
reviewer who sees ``foo: 1.2 -> 1.3`` reads the title, not the diff, so what
needs a human is exactly what the title does not say: a patch slipped in with
the bump, a build step that now downloads something, a source that moved to
another owner, a release signed by another key than the last one, a release
tarball carrying files its tag does not (xz-utils 5.6.0's
``build-to-host.m4``).

This module only runs the audit: it finds the package directories a change
touches, reads both sides of each (:mod:`~commitguard.bump.sides`), compares
them (:mod:`~commitguard.bump.compare`), asks upstream
(:mod:`~commitguard.bump.signers`, :mod:`~commitguard.bump.tarball`), checks
the claims (:mod:`~commitguard.bump.claims`) and assembles the report
(:mod:`~commitguard.bump.model`). Both sides are read from git trees, never
from the working tree.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.bump.claims import check_claims, detect_bot, gather_claims
from commitguard.bump.compare import Changes, compare_sides, file_changes, listing, main_source, unread_versions
from commitguard.bump.limits import MAX_COMMITS, MAX_LISTED, MAX_PACKAGES, listed
from commitguard.bump.model import BumpReport, FailOn, Finding, PackageAudit, finding
from commitguard.bump.sides import is_package, package_dirs, read_side, select_only
from commitguard.bump.signers import UpstreamComparison, compare_upstream
from commitguard.bump.tarball import TarballCheck, check_tarball
from commitguard.errors import RepositoryError
from commitguard.git.revisions import resolve_commit
from commitguard.keyring.model import Keyring, Policy
from commitguard.keyring.select import KeyringChoice
from commitguard.upstream import ContinuityStore


def _audit_package(repo: pygit2.Repository, base: str, head: str, key: str, main: str | None, scratch: Path,
                   keyring: Keyring, mirror: Path | None, online: bool, github_api: str | None,
                   continuity: ContinuityStore | None, system: str) -> PackageAudit | None:
    """One package directory (``main`` None) or one expression file of a directory of several
    (``main`` its name); None when such a file holds no package after all."""
    directory = str(PurePosixPath(key).parent) if main is not None else key
    if directory == ".":
        directory = ""
    old = read_side(repo, base, directory, main, scratch / "old", system)
    new = read_side(repo, head, directory, main, scratch / "new", system)
    if main is not None and not (is_package(old.expression) or is_package(new.expression)):
        return None
    shown = new.main or old.main
    path = f"{directory}/{shown}" if shown and directory else (shown or directory)
    name = (new.expression.name if new.expression else None) or (old.expression.name if old.expression else None)
    name = name or PurePosixPath(directory).name or None
    notes = list(dict.fromkeys([*old.notes, *new.notes]))
    for side, label in ((old, "old"), (new, "new")):
        if side.expression is not None:
            notes.extend(f"{label}: {n}" for n in side.expression.notes[:10])

    def upstream(old_call, new_call) -> UpstreamComparison:
        return compare_upstream(old_call, new_call, old.version, new.version, keyring, mirror, online, github_api,
                                continuity)

    changes = Changes()
    findings: list[Finding] = []
    kind = "not-a-bump"
    reason = None
    checked = UpstreamComparison()
    tarball = TarballCheck()
    if old.expression is None or new.expression is None:
        what = "expression added" if new.expression is not None else (
            "expression removed" if old.expression is not None else "no expression")
        changes.add(what, False, None)
        file_changes(repo, old, new, False, set(), changes)
        findings.append(finding("extra-changes", f"not a version bump: {what}" +
                                (f"; {listing(changes)}" if len(changes.order) > 1 else "")))
        if new.expression is not None:
            checked = upstream(None, main_source(new.expression, new.summary))
    else:
        kind, old_call, new_call, touched_source = compare_sides(repo, old, new, changes, findings)
        reason = unread_versions(old, new) if kind == "unknown" else None
        if touched_source:
            checked = upstream(old_call, new_call)
            tarball = check_tarball(new_call, name, new.version, new, mirror)
    return PackageAudit(path=path, name=name, old_version=old.version, new_version=new.version, kind=kind,
                        changes=tuple(changes.names()), details=changes.details, upstream_old=checked.old,
                        upstream_new=checked.new, same_signer=checked.same_signer,
                        findings=(*findings, *checked.findings, *tarball.findings), tarball=tarball.comparison,
                        notes=(*notes, *tarball.notes), reason=reason)


def _branch_name(repo: pygit2.Repository, rev: str) -> str | None:
    """The branch ``--head`` names, if it names one (a remote-tracking branch without its remote)."""
    name = rev.removeprefix("refs/heads/").removeprefix("refs/remotes/")
    try:
        if name in repo.branches.local:
            return name
        if name in repo.branches.remote:
            return name.split("/", 1)[1] if "/" in name else name
    except (pygit2.GitError, ValueError):
        return None
    return None


def _range_commits(repo: pygit2.Repository, merge_base: str, head: str) -> list[pygit2.Commit]:
    walker = repo.walk(head, pygit2.GIT_SORT_TOPOLOGICAL | pygit2.GIT_SORT_REVERSE)
    walker.hide(merge_base)
    out = []
    for commit in walker:
        out.append(commit)
        if len(out) >= MAX_COMMITS:
            break
    return out


def audit_bump(
    repo: pygit2.Repository,
    base: str,
    head: str,
    *,
    keyring: Keyring,
    mirror: Path | None = None,
    online: bool = False,
    github_api: str | None = None,
    title: str | None = None,
    author: str | None = None,
    branch: str | None = None,
    pull_request: int | None = None,
    repository: str | None = None,
    fail_on: FailOn | None = None,
    continuity: ContinuityStore | None = None,
    system: str = "x86_64-linux",
    only: tuple[str, ...] | None = None,
) -> BumpReport:
    """Audit what ``head`` changes since its merge base with ``base``.

    ``only`` (expression files) restricts the audit to those packages; the other
    packages the change touches are named in an ``extra-changes`` finding.

    ``title`` is the pull request's title; without it, the subjects of the
    commits in the range are the claims checked against the change. ``author``
    (a forge login) and ``branch`` only serve to recognise a bot.
    """
    base_id = str(resolve_commit(repo, base, "base"))
    head_id = str(resolve_commit(repo, head, "head"))
    merge_base = repo.merge_base(base_id, head_id)
    if merge_base is None:
        raise RepositoryError(f"{base_id[:12]} and {head_id[:12]} share no history", field="--base")
    merge_base_id = str(merge_base)
    diff = repo.diff(repo[merge_base_id].tree, repo[head_id].tree)
    files = sorted({d.old_file.path for d in diff.deltas} | {d.new_file.path for d in diff.deltas})
    trees = [repo[merge_base_id].tree, repo[head_id].tree]
    dirs, outside = package_dirs(repo, trees, files)
    skipped: list[str] = []
    if only is not None:
        dirs, skipped = select_only(dirs, only)

    commits = _range_commits(repo, merge_base_id, head_id)
    claims = gather_claims(title, commits)
    if branch is None:
        branch = _branch_name(repo, head)
    bot = detect_bot(author, branch, [(c.author.name, c.author.email) for c in commits])

    report_findings: list[Finding] = []
    keys = list(dirs)
    if len(keys) > MAX_PACKAGES:
        report_findings.append(finding("audit-incomplete", f"the change touches {len(keys)} package directories; "
                                                           f"only the first {MAX_PACKAGES} were audited"))
        keys = keys[:MAX_PACKAGES]
    packages: list[PackageAudit] = []
    with tempfile.TemporaryDirectory(prefix="commitguard-audit-") as scratch:
        for n, key in enumerate(keys):
            work = Path(scratch) / str(n)
            try:
                audited = _audit_package(repo, merge_base_id, head_id, key, dirs[key], work, keyring, mirror,
                                         online, github_api, continuity, system)
            except (RecursionError, MemoryError, OSError, pygit2.GitError, ValueError) as exc:
                why = f"{key} could not be audited: {type(exc).__name__}: {exc}"
                audited = PackageAudit(path=key, name=None, old_version=None, new_version=None, kind="unknown",
                                       findings=(finding("audit-incomplete", why),), reason=why)
            if audited is None:
                outside.append(key)
            else:
                packages.append(audited)
    outside.sort()
    if outside:
        report_findings.insert(0, finding("extra-changes",
                                          f"files outside any package directory changed: {listed(outside)}"))
    if skipped:
        report_findings.append(finding("extra-changes", "packages changed but not selected, not audited: "
                                                        + ", ".join(skipped[:MAX_LISTED])))
    packages, unnamed = check_claims(claims, packages)
    report_findings.extend(unnamed)
    return BumpReport(
        base=base_id, head=head_id, merge_base=merge_base_id, title=title, author=author, branch=branch,
        pull_request=pull_request, bot=bot, packages=tuple(packages), findings=tuple(report_findings),
        other_files=tuple(outside),
        fail_on=fail_on or FailOn(), repository=repository,
    )


def empty_keyring() -> Keyring:
    """No upstream keys: signatures are still compared key by key, none is trusted."""
    return Keyring(path="(no keyring)", digest="0" * 64, policy=Policy(), persons=())


def keyring_for_audit(choice: KeyringChoice, repo: pygit2.Repository, base: str) -> Keyring:
    """The user's keyring (:func:`commitguard.keyring.select.select_keyring`); else the base's own,
    never the head's (a change must not bring the upstream keys it is judged by); else none."""
    from commitguard.verify.in_repository import TreeKeyrings

    if not choice.in_repository:
        return choice.load()
    trees = TreeKeyrings(repo)
    base_id = resolve_commit(repo, base, "base")
    if trees.subtree_id(base_id) is not None:
        return trees.load(base_id)
    return empty_keyring()
