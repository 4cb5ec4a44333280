"""``annotate``: for each package, the humans who vouched for it, link by link.

A package's files are its expression and what lies beside it (patches,
``hashes.json``, other ``.nix`` files in its directory): the package
directory, minus any deeper directory that holds a package of its own. Its
chain is, in history order:

* ``upstream``: who signed the release the expression fetches (``sources``);
* ``commit``: the trust root, when the package was already there (it vouches
  for the files as they were; see :mod:`commitguard.chain.links`), and every commit
  since that changed those files,
  with the signer and status ``verify`` gives it; a package directory that
  was moved keeps the commits made under its old name (renames are followed
  backwards from the commit that moved it);
* ``approval``: signed approvals that cover those commits: an *audit* of a
  merged commit (an approval whose head is that commit and whose base is its
  first parent) and a pull-request review whose range contains the commit;
* ``merge``: for a commit that reached the branch through a merge, that merge
  commit's signer (the forge, or the person who merged).

The package is trusted only when every link is: upstream verified, every
merge trusted, every commit trusted or, failing that, covered by a valid
signed audit of that exact commit (a review of a whole pull request never
makes up for an unsigned commit inside it).

Everything is computed once for all packages: one selection of history,
the commit-to-paths index (:mod:`commitguard.git.path_index`), one batch of
verification through the verdict cache.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.review.approvals.notes import GitNotesStore
from commitguard.review.approvals.statement import EnvelopeError, parse_envelope, parse_statement
from commitguard.review.approvals.verify import ApprovalStatus, ApprovalVerdict, ApprovalVerifier, ReviewContext
from commitguard.chain.links import Chain, ChainLink, build_chain, chain_commits
from commitguard.errors import CommitguardError, KeyringError, RepositoryError
from commitguard.git.revisions import open_repository, resolve_commit, select_commits
from commitguard.git.path_index import HistoryIndex, TreeReader, decode_path, split_entry
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, Status
from commitguard.verify.in_repository import IN_REPO_KEYRING, TreeKeyrings, verify_with_repository_keyring
from commitguard.verify.commits import VerifyOptions, default_jobs, verify_commit_ids

EXPRESSION_NAMES = ("package.nix", "default.nix")
# A pull request review is followed over at most this many commits.
MAX_REVIEW_RANGE = 10_000
# Chained renames followed per run (a package moved this many times is unusual).
MAX_RENAME_ROUNDS = 20
# What is written out of a revision's tree for the static reader.
MAX_EXPORT_FILES = 200_000
MAX_EXPORT_BYTES = 8 << 20


# --------------------------------------------------------------------------- paths


def package_prefix(expression: str) -> str:
    """The files a package consists of: its directory, or the file alone where
    the expression does not own a directory (``pkgs/foo.nix``, a root ``default.nix``)."""
    p = PurePosixPath(expression)
    if p.name in EXPRESSION_NAMES and str(p.parent) not in ("", "."):
        return str(p.parent)
    return str(p)


def under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _old_prefix(old: str, new: str, prefix: str) -> str:
    """Where the package lived before a rename of ``old`` to ``new`` (inside ``prefix``)."""
    if new == prefix:
        return old
    relative = new[len(prefix) + 1 :]
    if old.endswith("/" + relative) and len(old) > len(relative) + 1:
        return old[: -len(relative) - 1]  # the whole directory moved
    before = PurePosixPath(old)
    if "/" not in relative and relative in EXPRESSION_NAMES and before.name in EXPRESSION_NAMES:
        if str(before.parent) not in ("", "."):
            return str(before.parent)  # default.nix -> package.nix in a new directory
    return old  # one file moved in from elsewhere


# --------------------------------------------------------------------------- history


@dataclass
class Trail:
    """The commits that changed one package's files, newest first."""

    prefix: str
    commits: list[str] = field(default_factory=list)
    aliases: list[tuple[str, str]] = field(default_factory=list)  # (old prefix, commit that moved it)
    # why the package's history may be incomplete (never trusted then)
    incomplete: str = ""


class History:
    """History from a tip down to the trust root, with what each commit changed.

    ``mainline`` is the tip's first-parent line; ``entry`` maps every commit
    to the mainline commit through which it reached the branch (itself for
    mainline commits, else the merge that brought it in). A mainline commit
    R's history is exactly the commits whose entry is R or older, which is
    what lets ``pin`` skip, from the tip's chains alone, every candidate
    revision an untrusted commit is part of.
    """

    def __init__(self, repo: pygit2.Repository, tip: str, trust_root: str | None, index: HistoryIndex,
                 *, jobs: int = 1, progress=None):
        self.repo = repo
        self.tip = tip
        self.trust_root = trust_root
        selection = select_commits(repo, [tip], trust_root)
        self.ids: tuple[str, ...] = selection.ids
        self.warnings: list[str] = list(selection.warnings)
        self.position = {c: i for i, c in enumerate(self.ids)}
        self.changes = index.update(repo, self.ids, jobs=jobs, progress=progress)
        self.newly_indexed = index.newly_indexed
        self.mainline = self._mainline()
        self.mainline_index = {c: i for i, c in enumerate(self.mainline)}
        self.entry = self._entries()
        self._ancestry: dict[tuple[str, str], bool] = {}

    def first_parent(self, commit_id: str) -> str | None:
        parents = self.changes[commit_id].parents if commit_id in self.changes else ()
        return parents[0] if parents else None

    def _mainline(self) -> list[str]:
        line = []
        current: str | None = self.tip
        while current is not None and current in self.position:
            line.append(current)
            current = self.first_parent(current)
        return line

    def _entries(self) -> dict[str, str]:
        entry = {c: c for c in self.mainline}
        for merge in reversed(self.mainline):  # oldest first: a commit enters with the first merge that reaches it
            stack = [p for p in self.changes[merge].parents[1:] if p in self.position and p not in entry]
            while stack:
                commit = stack.pop()
                if commit in entry:
                    continue
                entry[commit] = merge
                stack.extend(p for p in self.changes[commit].parents if p in self.position and p not in entry)
        return entry

    def entry_index(self, commit_id: str) -> int:
        """Position on the mainline (0: the tip) from which the commit is part of history."""
        return self.mainline_index[self.entry[commit_id]]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        if ancestor == descendant:
            return False
        if self.position.get(ancestor, -1) <= self.position.get(descendant, len(self.ids)):
            return False  # topological order: ancestors come later
        key = (ancestor, descendant)
        if key not in self._ancestry:
            try:
                self._ancestry[key] = self.repo.descendant_of(descendant, ancestor)
            except (KeyError, ValueError, pygit2.GitError):
                self._ancestry[key] = False
        return self._ancestry[key]

    def trails(self, targets: dict[str, str]) -> dict[str, Trail]:
        """For each key's path prefix, the commits that changed it (see :class:`Trail`)."""
        owners: dict[str, list[str]] = {}
        for key, prefix in targets.items():
            owners.setdefault(prefix, []).append(key)
        found: dict[str, set[str]] = {key: set() for key in targets}
        for commit_id in self.ids:
            for path in self.changes[commit_id].paths:
                hit = _deepest(path, owners)
                if hit:
                    for key in hit:
                        found[key].add(commit_id)
        trails = {key: Trail(prefix) for key, prefix in targets.items()}
        known: set[tuple[str, str, str]] = set()
        pending = self._moves(trails, found, known)
        rounds = 0
        while pending and rounds < MAX_RENAME_ROUNDS:
            rounds += 1
            fresh = self._alias_commits(pending)
            for key, commits in fresh.items():
                found[key] |= commits
            pending = self._moves(trails, fresh, known)
        for key in pending:
            # renames left unfollowed: commits under still older names would be missing from the chain
            trails[key].incomplete = (
                f"{targets[key]} was renamed more than {MAX_RENAME_ROUNDS} times in a row; history under its "
                "older names was not read, so the chain may miss commits: nothing vouches for it")
        for key, trail in trails.items():
            trail.commits = sorted(found[key], key=self.position.__getitem__)
        return trails

    def _moves(self, trails, new_commits, known) -> dict[str, list[tuple[str, str]]]:
        """Aliases (old prefix, bound) from renames into a package among ``new_commits``."""
        pending: dict[str, list[tuple[str, str]]] = {}
        for key, commits in new_commits.items():
            trail = trails[key]
            prefixes = [trail.prefix, *(p for p, _ in trail.aliases)]
            for commit_id in commits:
                for old, new in self.changes[commit_id].renames:
                    for prefix in prefixes:
                        if under(new, prefix) and not under(old, prefix):
                            alias = (key, _old_prefix(old, new, prefix), commit_id)
                            if alias not in known:
                                known.add(alias)
                                trail.aliases.append(alias[1:])
                                pending.setdefault(key, []).append(alias[1:])
        return pending

    def _alias_commits(self, pending: dict[str, list[tuple[str, str]]]) -> dict[str, set[str]]:
        """Commits that changed an old prefix before (as ancestors of) the commit that moved it."""
        table: dict[str, list[tuple[str, str]]] = {}
        for key, aliases in pending.items():
            for prefix, bound in aliases:
                table.setdefault(prefix, []).append((key, bound))
        fresh: dict[str, set[str]] = {key: set() for key in pending}
        for commit_id in self.ids:
            for path in self.changes[commit_id].paths:
                probe = path
                while probe:
                    for key, bound in table.get(probe, ()):
                        if self.is_ancestor(commit_id, bound):
                            fresh[key].add(commit_id)
                    cut = probe.rfind("/")
                    probe = probe[:cut] if cut > 0 else ""
        return fresh

    def paths_changed_under(self, prefix: str) -> list[str]:
        return [c for c in self.ids if any(under(p, prefix) for p in self.changes[c].paths)]


def _deepest(path: str, owners: dict[str, list[str]]) -> list[str] | None:
    probe = path
    while True:
        hit = owners.get(probe)
        if hit:
            return hit
        cut = probe.rfind("/")
        if cut <= 0:
            return None
        probe = probe[:cut]


# --------------------------------------------------------------------------- verdicts


class Judge:
    """Verdicts for commits of one history, through ``verify`` and its cache.

    With a keyring kept in the repository every commit is judged by the
    keyring in effect at its parents, which takes the whole history down to
    the trust root; that verdict does not depend on the tip, so one run
    serves every older revision ``pin`` looks at.
    """

    def __init__(self, repo: pygit2.Repository, keyring: Keyring | None, trust_root: str | None,
                 options: VerifyOptions):
        self.repo = repo
        self.keyring = keyring
        self.trust_root = trust_root
        self.options = options
        self._known: dict[str, CommitVerdict] = {}
        self.warnings: list[str] = []

    def verdicts(self, history: History, ids) -> dict[str, CommitVerdict]:
        ids = list(dict.fromkeys(ids))
        missing = [i for i in ids if i not in self._known]
        if missing and self.keyring is not None:
            for verdict in verify_commit_ids(self.repo, self.keyring, missing, self.options):
                self._known[verdict.id] = verdict
        elif missing:
            report = verify_with_repository_keyring(
                self.repo.path, dataclasses.replace(self.options, revs=(history.tip,), trust_root=self.trust_root)
            )
            for verdict in report.commits:
                self._known[verdict.id] = verdict
            self.warnings.extend(w for w in report.warnings if w not in self.warnings)
        return {i: self._known[i] for i in ids}

    def approval_keyring(self, history: History) -> Keyring:
        """Whom approvals must come from: the external keyring, or the one kept in the repository.

        The tip's own keyring is taken only when every commit since the trust
        root that changed it is signed by a keyring person; otherwise someone
        untrusted may have added the very key an approval is signed with, and
        the trust root's keyring (the user's own choice) decides.
        """
        if self.keyring is not None:
            return self.keyring
        keyrings = TreeKeyrings(self.repo)
        changers = history.paths_changed_under(IN_REPO_KEYRING)
        verdicts = self.verdicts(history, changers)
        root = str(resolve_commit(self.repo, self.trust_root or history.tip, "trust root"))
        if all(verdicts[c].status is Status.TRUSTED for c in changers):
            try:
                return keyrings.load(history.tip)
            except KeyringError as exc:
                self.warnings.append(f"the keyring at {history.tip[:12]} cannot be read ({exc}): approvals are judged by the trust root's")
        else:
            self.warnings.append(
                f"{IN_REPO_KEYRING} was changed by an untrusted commit since the trust root: approvals are judged by the "
                "trust root's keyring"
            )
        return keyrings.load(root)


# --------------------------------------------------------------------------- approvals


@dataclass(frozen=True)
class ApprovalLink:
    head: str
    base: str
    person: str
    key: str | None
    kind: str  # "audit" (of a merged commit) or "review" (of a range of commits)
    origin: str


class Approvals:
    """Signed approvals stored in the repository's notes for commits of this history."""

    def __init__(self, repo: pygit2.Repository, keyring: Keyring, history: History, repository: str | None = None,
                 now: datetime | None = None):
        """``repository`` is the name approvals must carry; by default it is
        derived as ``approve`` derives it, and only when there is an approval
        to check (naming a repository without a remote walks its history)."""
        from commitguard.review.check_pr import repository_name

        self.covering: dict[str, list[ApprovalLink]] = {}
        self.audits: dict[str, list[ApprovalLink]] = {}
        self.rejected: dict[str, list[ApprovalVerdict]] = {}
        self.warnings: list[str] = []
        store = GitNotesStore(repo)
        heads = [head for head in store.all_annotated() if head in history.position]
        if not heads:
            return
        name = repository_name(repo, repository)
        verifier = ApprovalVerifier(keyring)
        moment = now or datetime.now(timezone.utc)
        for head in heads:
            parent = history.first_parent(head)
            tree = str(repo[head].tree_id)
            for raw in store.collect(head):
                try:
                    base = parse_statement(parse_envelope(raw.text).payload).base
                except EnvelopeError:
                    base = parent or head
                verdict = verifier.verify(raw, ReviewContext(name, base, head, tree), moment)
                if verdict.status is not ApprovalStatus.VALID or verdict.person is None:
                    self.rejected.setdefault(head, []).append(verdict)
                    continue
                kind = "audit" if base == parent else "review"
                link = ApprovalLink(head, base, verdict.person, verdict.key, kind, raw.origin)
                if kind == "audit":
                    self.audits.setdefault(head, []).append(link)
                    self.covering.setdefault(head, []).append(link)
                    continue
                for commit_id in self._range(repo, base, head, history):
                    self.covering.setdefault(commit_id, []).append(link)

    def _range(self, repo, base: str, head: str, history: History) -> list[str]:
        try:
            selection = select_commits(repo, [f"{base}..{head}"], max_commits=MAX_REVIEW_RANGE)
        except CommitguardError as exc:
            self.warnings.append(f"approval of {head[:12]} on base {base[:12]}: its range cannot be read ({exc})")
            return [head]
        return [c for c in selection.ids if c in history.position]

    def audited_by(self, commit_id: str) -> list[str]:
        return sorted({link.person for link in self.audits.get(commit_id, ())})


# --------------------------------------------------------------------------- annotate


@dataclass(frozen=True)
class AnnotateOptions:
    rev: str = "HEAD"
    paths: tuple[str, ...] = ()
    trust_root: str | None = None
    mirror: Path | None = None
    online: bool = False
    repository: str | None = None  # the name approvals must carry
    cache_dir: str | None = None
    jobs: int | None = None
    system: str = "x86_64-linux"
    progress: object = None


@dataclass(frozen=True)
class PackageChain:
    sources: object  # commitguard.upstream.scan.PackageSources
    prefix: str
    upstream: ChainLink
    chain: Chain
    notes: tuple[str, ...] = ()

    @property
    def trusted(self) -> bool:
        return self.upstream.trusted and self.chain.trusted

    @property
    def links(self) -> tuple[ChainLink, ...]:
        return (self.upstream, *self.chain.links)

    def to_json(self) -> dict:
        p = self.sources.package
        return {
            "path": p.path,
            "name": p.name,
            "version": p.version,
            "sources": [s.to_json() for s in p.sources],
            "upstream": self.sources.upstream.to_json(),
            "chain": [link.to_json() for link in self.links],
            "trusted": self.trusted,
            "files": self.prefix,
            "history_trusted": self.chain.trusted,
            "last_change": self.chain.last_change,
            "chain_digest": self.chain.digest,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class AnnotateReport:
    rev: str
    trust_root: str | None
    packages: tuple[PackageChain, ...]
    commits: int  # commits of history since the trust root
    newly_indexed: int
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(p.trusted for p in self.packages)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "rev": self.rev,
            "trust_root": self.trust_root,
            "packages": [p.to_json() for p in self.packages],
            "history": {"commits": self.commits, "newly_indexed": self.newly_indexed},
            "warnings": list(self.warnings),
        }


def annotate(repo_path: str, keyring: Keyring | None, options: AnnotateOptions) -> AnnotateReport:
    """Chains for the package expressions under ``options.paths`` at ``options.rev``.

    ``keyring=None`` judges commits by the keyring kept in the repository,
    which needs ``options.trust_root``.
    """
    from commitguard.upstream.scan import scan_sources

    repo = open_repository(repo_path)
    tip = str(resolve_commit(repo, options.rev))
    trust_root = resolve_trust_root(repo, keyring, options.trust_root)
    verify_options = VerifyOptions(trust_root=trust_root, jobs=options.jobs, cache_dir=options.cache_dir)
    index = HistoryIndex(options.cache_dir)
    try:
        history = History(repo, tip, trust_root, index, jobs=options.jobs or default_jobs(), progress=options.progress)
    finally:
        index.close()
    judge = Judge(repo, keyring, trust_root, verify_options)
    approval_keyring = judge.approval_keyring(history)
    for path in options.paths:
        _check_in_tree(repo, tip, path)
    def scan(root: Path):
        return scan_sources(root, list(options.paths), approval_keyring, mirror=options.mirror,
                            online=options.online, system=options.system)

    if _work_tree_is(repo, tip):
        report = scan(Path(repo.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="commitguard-annotate-") as scratch:
            export_tree(repo, tip, Path(scratch))
            report = scan(Path(scratch))
    targets = {str(i): package_prefix(p.package.path) for i, p in enumerate(report.packages)}
    trails = history.trails(targets)
    verdicts = judge.verdicts(history, chain_commits(history, trails))
    approvals = Approvals(repo, approval_keyring, history, options.repository)
    packages = []
    for i, sources in enumerate(report.packages):
        trail = trails[str(i)]
        chain = build_chain(history, trail, verdicts, approvals)
        upstream = sources.upstream
        link = ChainLink("upstream", None, upstream.signer, upstream.status, sources.trusted,
                         "" if sources.trusted else upstream.reason)
        notes = list(sources.package.notes)
        if chain.missing:
            notes.append(chain.missing)
        for commit_id in trail.commits:
            for rejected in approvals.rejected.get(commit_id, ()):
                who = rejected.person or rejected.key or "unknown key"
                notes.append(f"approval of {commit_id[:12]} by {who} does not count: {rejected.reason}")
        for old, moved in trail.aliases:
            notes.append(f"followed {old} across {moved[:12]}, which moved it to {trail.prefix}")
        packages.append(PackageChain(sources, trail.prefix, link, chain, tuple(notes)))
    warnings = [*history.warnings, *report.warnings, *judge.warnings, *approvals.warnings]
    return AnnotateReport(tip, trust_root, tuple(packages), len(history.ids), history.newly_indexed,
                          tuple(dict.fromkeys(warnings)))


def resolve_trust_root(repo: pygit2.Repository, keyring: Keyring | None, explicit: str | None) -> str | None:
    trust_root = explicit or (keyring.policy.trust_root if keyring is not None else None)
    if keyring is None and not trust_root:
        raise KeyringError(
            "a keyring kept inside the repository needs --trust-root COMMIT: the keyring cannot name "
            "the commit that introduces it",
            field="--trust-root",
        )
    return str(resolve_commit(repo, trust_root, "trust root")) if trust_root else None


def _check_in_tree(repo: pygit2.Repository, commit_id: str, path: str) -> None:
    clean = PurePosixPath(path.replace(os.sep, "/"))
    if clean.is_absolute() or ".." in clean.parts:
        raise CommitguardError("a path inside the repository is needed", path=path, field="PATH")
    if str(clean) in ("", "."):
        return
    try:
        repo[commit_id].tree[str(clean)]
    except KeyError:
        raise RepositoryError(f"not in revision {commit_id[:12]}", path=path, field="PATH") from None


def _work_tree_is(repo: pygit2.Repository, commit_id: str) -> bool:
    """Whether the checked-out files are exactly ``commit_id``'s, so they can be read in place.

    Writing out a revision of a large repository costs more than the rest of
    a warm run; a clean checkout of the same commit is the same files.
    """
    if repo.is_bare or not repo.workdir:
        return False
    try:
        if repo.head_is_unborn or str(repo.head.target) != commit_id:
            return False
        return not repo.status()
    except (pygit2.GitError, KeyError, ValueError):
        return False


def export_tree(repo: pygit2.Repository, commit_id: str, dest: Path) -> int:
    """Write a revision's files under ``dest`` for the static reader, which reads files.

    Names are decoded as the history index decodes them, so the paths the
    reader reports are the paths the index knows. Symbolic links and
    submodules are left out: a link could point the reader outside the
    revision, and neither is a file a package expression reads.
    """
    reader = TreeReader(repo)
    count = 0
    stack = [(repo[commit_id].tree_id.raw, dest)]
    while stack:
        tree, directory = stack.pop()
        directory.mkdir(exist_ok=True)
        for entry in reader.entries(tree):
            mode, raw_name, oid = split_entry(entry)
            name = decode_path(raw_name)
            if name in ("", ".", "..", ".git") or "/" in name or "\\" in name:
                continue
            if mode == b"40000":
                stack.append((oid, directory / name))
                continue
            if mode not in (b"100644", b"100755", b"100664"):
                continue
            count += 1
            if count > MAX_EXPORT_FILES:
                raise CommitguardError(f"more than {MAX_EXPORT_FILES} files in the revision", field="--rev")
            kind, data = repo.odb.read(pygit2.Oid(raw=oid))
            if len(data) > MAX_EXPORT_BYTES:
                continue
            (directory / name).write_bytes(data)
    return count

