"""Apply ``[policy] accept`` to a checked history: every kind, in its order, parents first.

``verify`` judges each commit's own signature; this module asks the other
kinds a keyring accepts about every commit the signature left untrusted, and
returns the report with the vouches they gave. Commits are asked
parents-first, because ``clean-merge`` passes on the trust of a merge's
parents and must see them decided; for every other kind the order changes
nothing. Each commit's vouch is the first kind, in the order ``accept`` lists
them, that vouches for it.

What the kinds need of the history is built once and only when a kind needs
it: the shape of the checked commits (parents, merges, the first-parent
line), merge checks (cached in the verify cache directory, computed on both
cores when there are many), the signed approvals in the notes, the forge
record.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pygit2

from commitguard.errors import CommitguardError
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, CommitVerdictTable, MergeFinding, VerifyReport, Vouch
from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.check_pr import repository_name
from commitguard.review.clean_merge import CleanMergeKind
from commitguard.review.landing import HistoryView, Landings, MergeChecks
from commitguard.review.review_kinds import ForgeReviewKind, ReviewKind
from commitguard.review.vouching import AnyOf, AuditKind, SignatureKind, VouchKind
from commitguard.verify.commits import VerifyOptions, default_jobs, verify_commit_ids

# Kinds that need the shape of the history (and merge checks).
HISTORY_KINDS = frozenset({"review", "clean-merge", "forge-review"})


class VouchContext:
    """What the history kinds share for one report."""

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, report: VerifyReport, *, trust_root: str | None,
                 cache_dir: str | os.PathLike | None, jobs: int | None):
        self.repo = repo
        self.keyring = keyring
        self.report = report
        ids = report.commits.ids if isinstance(report.commits, CommitVerdictTable) else [c.id for c in report.commits]
        self.view = HistoryView(repo, ids, trust_root or keyring.policy.trust_root)
        self.checks = MergeChecks(repo, cache_dir, jobs or default_jobs())
        self.untrusted = set(report.untrusted_ids())
        self.vouched = set(ids) - self.untrusted
        self.landings = Landings(self.view, self.checks, self._candidates)

    def start_merge_checks(self, accept: tuple[str, ...]) -> None:
        """Set the workers on the merges the kinds will ask about, before the kinds start:
        the untrusted merges (``clean-merge``), the merges of approved heads (``review``)."""
        view = self.view
        wanted: list[str] = []
        if "clean-merge" in accept:
            wanted += [c for c in self.untrusted if len(view.parents.get(c, ())) > 1]
        if "review" in accept:
            heads = GitNotesStore(self.repo).all_annotated()
            wanted += [m for head in heads for m in view.merge_children.get(head, ())]
        self.checks.start(wanted)

    def _candidates(self) -> list[str]:
        """Commits a squash or a rebase may have landed as: the untrusted ones that are not merges."""
        return [c for c in self.untrusted if len(self.view.parents.get(c, ())) == 1]

    def verdicts(self, ids: Iterable[str]) -> list[CommitVerdict]:
        """Verdicts of ``ids``: the report's, or judged now for commits outside it (an approved
        head squashed away still has authors who must not approve it)."""
        ids = list(ids)
        commits = self.report.commits
        outside = [c for c in ids if c not in self.view]
        judged = {v.id: v for v in verify_commit_ids(self.repo, self.keyring, outside, VerifyOptions(jobs=1))} if outside else {}
        return [commits[self.view.position[c]] if c in self.view else judged[c] for c in ids]


def kinds_for(repo: pygit2.Repository, keyring: Keyring, repository, now: datetime | None = None,
              context: VouchContext | None = None, forge_record: str | os.PathLike | None = None) -> list[VouchKind]:
    """The kinds ``keyring.policy.accept`` lists, in its order, as policy objects.

    ``repository`` is the name approvals carry, or a function giving it. Kinds
    that need the history need ``context``; a kind this version cannot check is
    refused here, never skipped."""
    kinds: list[VouchKind] = []
    for name in keyring.policy.accept:
        if name in HISTORY_KINDS and context is None:
            raise ValueError(f"policy.accept: {name!r} needs the checked history")
        if name == "signature":
            kinds.append(SignatureKind())
        elif name == "audit":
            kinds.append(AuditKind(repo, keyring, repository, now))
        elif name == "review":
            kinds.append(ReviewKind(repo, keyring, repository, context.view, context.landings, context.verdicts, now))
        elif name == "forge-review":
            record, missing = load_forge_record(repository() if callable(repository) else repository, forge_record)
            kinds.append(ForgeReviewKind(repo, keyring, record, missing, context.view, context.landings,
                                         context.verdicts))
        elif name == "clean-merge":
            kinds.append(CleanMergeKind(context.view, context.checks, context.vouched))
        else:
            raise ValueError(f"policy.accept: {name!r} cannot be checked by this version of commitguard")
    return kinds


def load_forge_record(repository: str, explicit: str | os.PathLike | None):
    """(the forge record for ``repository`` or None, the reason a missing one gives).

    The record is the tool's own state: one made for another repository is
    refused (exit 2), never read as this one's."""
    from commitguard.forge.record import ForgeRecord, default_record_path, forge_host

    parts = repository.split("/")
    slug = "/".join(parts[1:3]) if len(parts) == 3 and "." in parts[0] else None
    if explicit is not None:
        path = Path(explicit)
    elif slug is not None and parts[0] == forge_host():
        path = default_record_path(slug)
    else:
        return None, (f"no forge record for {repository}: name one with --forge-record, made by "
                      "`commitguard forge-sync --github OWNER/REPO`")
    if not path.is_file():
        hint = f" --github {slug}" if slug else " --github OWNER/REPO"
        return None, f"no forge record at {path}: run `commitguard forge-sync{hint}` first"
    record = ForgeRecord.load(path)
    # The host is the API's (a GitHub Enterprise or a test server answers for its own host); the
    # repository must be this one, or the record would vouch for another project's reviews.
    if slug is not None and record.repository.lower() != slug.lower():
        raise CommitguardError(f"{path}: the forge record is for {record.forge}/{record.repository}, not {repository}",
                               field="repository")
    return record, ""


def vouch_report(repo: pygit2.Repository, keyring: Keyring, report: VerifyReport, *, repository: str | None = None,
                 now: datetime | None = None, trust_root: str | None = None,
                 cache_dir: str | os.PathLike | None = None, jobs: int | None = None,
                 forge_record: str | os.PathLike | None = None) -> VerifyReport:
    """``report`` with every commit its signature left untrusted asked of the other accepted kinds.

    A keyring that accepts signatures only returns the report as it is (no
    note is read). Commits nothing vouches for are named in warnings with
    every kind's reason; when merges were checked, the report lists those
    that add changes of their own."""
    accept = keyring.policy.accept
    if all(kind == "signature" for kind in accept):
        return report
    untrusted = report.untrusted_ids()
    needs_history = any(kind in HISTORY_KINDS for kind in accept)
    if not untrusted:
        return report.vouched({}, (), () if needs_history else None)
    named: list[str] = []

    def name() -> str:
        """The repository's name, found once and only when a kind needs it (without an origin
        remote, naming walks the whole history to its first commit)."""
        if not named:
            named.append(repository_name(repo, repository))
        return named[0]

    context = None
    if needs_history:
        context = VouchContext(repo, keyring, report, trust_root=trust_root, cache_dir=cache_dir, jobs=jobs)
    try:
        if context is not None:
            context.start_merge_checks(accept)
        kinds = [k for k in kinds_for(repo, keyring, name, now, context, forge_record) if k.name != "signature"]
        vouches, warnings = _ask(report, kinds, untrusted, context)
        merges = None
        if context is not None:
            merges = tuple(MergeFinding(c.commit, c.differing, c.reason)
                           for c in sorted(context.checks.known.values(), key=lambda c: c.commit) if not c.clean)
    finally:
        if context is not None:
            context.checks.close()
    return report.vouched(vouches, warnings, merges)


def _ask(report: VerifyReport, kinds: list[VouchKind], untrusted: list[str],
         context: VouchContext | None) -> tuple[dict[str, Vouch], list[str]]:
    judge = AnyOf(kinds)
    ids = report.commits.ids if isinstance(report.commits, CommitVerdictTable) else [c.id for c in report.commits]
    wanted = {c for c in untrusted if any(k.may_vouch(c) for k in kinds)}
    vouches: dict[str, Vouch] = {}
    warnings: list[str] = []
    for position in range(len(ids) - 1, -1, -1):  # oldest first: parents before children
        commit_id = ids[position]
        if commit_id not in wanted:
            continue
        answer = judge.vouch(report.commits[position])
        if isinstance(answer, Vouch):
            vouches[commit_id] = answer
            if context is not None:
                context.vouched.add(commit_id)
        else:
            warnings.append(f"commit {commit_id[:12]}: nothing the policy accepts vouches for it ({answer.reason})")
    warnings.reverse()  # newest first, as the report lists commits
    return vouches, warnings
