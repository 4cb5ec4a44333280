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

Everything is computed once for all packages: one selection of history
over the commit-to-paths index (:mod:`commitguard.chain.history`), one batch
of verification through the verdict cache (:mod:`commitguard.chain.judge`),
one look at the approvals (:mod:`commitguard.chain.approvals`). This module
only assembles the report.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.chain.approvals import HistoryApprovals
from commitguard.chain.history import PackageHistory, package_prefix
from commitguard.chain.history_snapshot import HistorySnapshots
from commitguard.chain.judge import CommitJudge, resolve_trust_root
from commitguard.chain.links import Chain, ChainLink, build_chain, chain_commits
from commitguard.errors import CommitguardError, RepositoryError
from commitguard.git.path_index import HistoryIndex
from commitguard.git.revisions import pack_windows_bounded, resolve_commit
from commitguard.git.trees import TREE_MODE, TreeReader, decode_path, split_entry
from commitguard.keyring.model import Keyring
from commitguard.verify.commits import VerifyOptions, default_jobs


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
    checkpoint: dict | None = None  # the checkpoint history was judged from (in JSON when the keyring lists verifiers)
    checkpointing: bool = False

    @property
    def ok(self) -> bool:
        return all(p.trusted for p in self.packages)

    def to_json(self, packages: bool = True) -> dict:
        """The report; ``packages=False`` leaves the packages list empty, for writers that write it package by package."""
        out = {
            "ok": self.ok,
            "rev": self.rev,
            "trust_root": self.trust_root,
            "packages": [p.to_json() for p in self.packages] if packages else [],
            "history": {"commits": self.commits, "newly_indexed": self.newly_indexed},
            "warnings": list(self.warnings),
        }
        if self.checkpointing:
            out["checkpoint"] = self.checkpoint
        return out


def annotate(repo: pygit2.Repository, keyring: Keyring | None, options: AnnotateOptions) -> AnnotateReport:
    """Chains for the package expressions under ``options.paths`` at ``options.rev``.

    ``repo`` is open (:func:`commitguard.git.revisions.open_repository`).
    ``keyring=None`` judges commits by the keyring kept in the repository,
    which needs ``options.trust_root``.
    """
    with pack_windows_bounded():  # history and every package's expression: all of a pack is read
        return _annotate(repo, keyring, options)


def _annotate(repo: pygit2.Repository, keyring: Keyring | None, options: AnnotateOptions) -> AnnotateReport:
    from commitguard.upstream.revision_read import read_revision
    from commitguard.upstream.scan import scan_sources

    tip = str(resolve_commit(repo, options.rev))
    trust_root = resolve_trust_root(repo, keyring, options.trust_root)
    verify_options = VerifyOptions(trust_root=trust_root, jobs=options.jobs, cache_dir=options.cache_dir)
    index = HistoryIndex(options.cache_dir)
    try:
        snapshots = HistorySnapshots(options.cache_dir, repo, trust_root) if options.cache_dir is not None else None
        history = PackageHistory(repo, tip, trust_root, index, jobs=options.jobs or default_jobs(),
                                 progress=options.progress, snapshots=snapshots)
    finally:
        index.close()
    judge = CommitJudge(repo, keyring, trust_root, verify_options)
    approval_keyring = judge.approval_keyring(history)
    _check_in_tree(repo, tip, options.paths)
    with tempfile.TemporaryDirectory(prefix="commitguard-annotate-") as scratch:
        # Read from git, as an export of the revision would be read, and nothing written
        # (see upstream.revision_read); the scratch directory stays empty.
        reads = read_revision(repo, tip, Path(scratch), list(options.paths), options.system, options.jobs,
                              options.cache_dir)
        report = scan_sources(Path(scratch), list(options.paths), approval_keyring, mirror=options.mirror,
                              online=options.online, system=options.system, jobs=options.jobs, reads=reads)
    targets = {str(i): package_prefix(p.package.path) for i, p in enumerate(report.packages)}
    trails = history.trails(targets)
    verdicts = judge.verdicts(history, chain_commits(history, trails))
    approvals = HistoryApprovals(repo, approval_keyring, history, options.repository)
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


def _check_in_tree(repo: pygit2.Repository, commit_id: str, paths) -> None:
    """Every path names something in the revision. Paths are looked up through
    the directories they share, each directory's listing read once (a closure's
    thousands of expressions sit in a few large directories)."""
    listings: dict[str, set[str] | None] = {}
    reader = TreeReader(repo)
    root_id = repo[commit_id].tree_id.raw

    def names_in(directory: str) -> set[str] | None:
        if directory not in listings:
            if directory == "":
                oid = root_id
            else:
                parent, _, name = directory.rpartition("/")
                ids = names_in(parent)
                oid = None if ids is None else trees_by_dir.get(directory)
            if oid is None:
                listings[directory] = None
            else:
                entries = {}
                for entry in reader.entries(oid):
                    mode, raw_name, child = split_entry(entry)
                    name = decode_path(raw_name)
                    entries[name] = child if mode == TREE_MODE else None
                    if mode == TREE_MODE:
                        trees_by_dir[f"{directory}/{name}" if directory else name] = child
                listings[directory] = set(entries)
        return listings[directory]

    trees_by_dir: dict[str, bytes] = {}
    for path in paths:
        clean = PurePosixPath(path.replace(os.sep, "/"))
        if clean.is_absolute() or ".." in clean.parts:
            raise CommitguardError("a path inside the repository is needed", path=path, field="PATH")
        if str(clean) in ("", "."):
            continue
        parent = "" if str(clean.parent) == "." else str(clean.parent)
        found = names_in(parent)
        if found is None or clean.name not in found:
            raise RepositoryError(f"not in revision {commit_id[:12]}", path=path, field="PATH")
