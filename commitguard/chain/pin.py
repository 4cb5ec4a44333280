"""``pin``: the newest revision of a branch whose history for some packages is fully trusted.

Candidates are the branch's first-parent line, newest first: the revisions
the branch actually pointed at. A mainline revision R contains exactly the
commits that reached the mainline at R or before it (see
:class:`commitguard.chain.history.PackageHistory`), so one look at the tip tells, for
every untrusted commit of the packages' chains, from which revision on it is
part of history; the newest candidate older than all of them is then checked
on its own (the packages may have lived under another path there), and the
search goes on below it if that check finds more.

The lock records the revision and, per package, a digest of its chain
(every commit, approval and merge with its signer and status).
``--check`` re-judges the locked revision under today's keyring: a locked
revision that the branch no longer contains is a rollback (a force-push
dropped it, or the branch was moved back), an untrusted chain fails, and a
changed digest is reported. The lock only records: the trust root and the
branch come from the keyring and the command line, never from the lock, which
anyone able to edit it could otherwise use to hide history.

Chains are built by :mod:`commitguard.chain.links`, as ``annotate`` builds them, so
the two commands agree on every package, trust root included.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pygit2

from commitguard.chain.approvals import HistoryApprovals
from commitguard.chain.history import EXPRESSION_NAMES, PackageHistory, Trail, package_prefix
from commitguard.chain.history_snapshot import HistorySnapshots
from commitguard.chain.judge import CommitJudge, resolve_trust_root
from commitguard.chain.links import Chain, build_chain, chain_commits
from commitguard.errors import CommitguardError, RepositoryError
from commitguard.git.path_index import HistoryIndex
from commitguard.git.revisions import pack_windows_bounded, resolve_commit
from commitguard.git.trees import TREE_MODE, TreeReader, entry_at, root_tree, walk_entries
from commitguard.keyring.model import Keyring
from commitguard.verify.commits import VerifyOptions, default_jobs

DEFAULT_LOCK = "commitguard.lock"
BY_NAME = "pkgs/by-name"
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
# Blockers named per package in a report; the rest are counted.
MAX_REASONS = 5


@dataclass(frozen=True)
class PinnedPackage:
    name: str
    path: str | None
    last_change: str | None
    trusted: bool
    chain_digest: str | None
    reason: str = ""
    locked_digest: str | None = None  # --check: what the lock says

    @property
    def chain_changed(self) -> bool:
        return self.locked_digest is not None and self.chain_digest != self.locked_digest

    def lock_json(self) -> dict:
        return {"path": self.path, "last_change": self.last_change, "trusted": self.trusted,
                "chain_digest": self.chain_digest}

    def to_json(self) -> dict:
        out = self.lock_json()
        if self.reason:
            out["reason"] = self.reason
        if self.locked_digest is not None:
            out["locked_chain_digest"] = self.locked_digest
            out["chain_changed"] = self.chain_changed
        return out


@dataclass(frozen=True)
class PinReport:
    mode: str  # "pin" or "check"
    rev: str | None
    branch: str
    tip: str | None
    trust_root: str | None
    packages: dict[str, PinnedPackage]
    lock: str
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    written: bool = False
    checkpoint: dict | None = None  # the checkpoint history was judged from (in JSON when the keyring lists verifiers)
    checkpointing: bool = False

    @property
    def ok(self) -> bool:
        return self.rev is not None and not self.errors and all(p.trusted for p in self.packages.values())

    def lock_json(self) -> dict:
        return {
            "ok": self.ok,
            "rev": self.rev,
            "branch": self.branch,
            "trust_root": self.trust_root,
            "packages": {name: p.lock_json() for name, p in self.packages.items()},
        }

    def to_json(self) -> dict:
        out = self.lock_json()
        out.update({
            "mode": self.mode,
            "tip": self.tip,
            "packages": {name: p.to_json() for name, p in self.packages.items()},
            "lock": self.lock,
            "written": self.written,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
        })
        if self.checkpointing:
            out["checkpoint"] = self.checkpoint
        return out


@dataclass(frozen=True)
class PinOptions:
    branch: str | None = None  # None: HEAD for pin, the lock's branch for --check
    lock: str = DEFAULT_LOCK
    trust_root: str | None = None
    repository: str | None = None
    cache_dir: str | None = None
    jobs: int | None = None


# --------------------------------------------------------------------------- locating packages


def expression_at(repo: pygit2.Repository, commit_id: str, prefix: str) -> str | None:
    """The package expression for ``prefix`` in a revision, if it has one there."""
    tree = root_tree(repo, commit_id)
    candidates = [prefix] if prefix.endswith(".nix") else []
    candidates += [f"{prefix}/{name}" for name in EXPRESSION_NAMES]
    for candidate in candidates:
        if isinstance(entry_at(tree, candidate), pygit2.Blob):
            return candidate
    return None


def resolve_package(repo: pygit2.Repository, commit_id: str, argument: str) -> tuple[str, str]:
    """(lock name, expression path) for a package name or an expression path."""
    clean = argument.strip().strip("/")
    if not clean:
        raise CommitguardError("empty package name", field="PACKAGE")
    if "/" in clean or clean.endswith(".nix"):
        found = expression_at(repo, commit_id, clean)
        if found is None:
            raise RepositoryError(f"no package expression at {clean} in {commit_id[:12]}", field="PACKAGE")
        prefix = package_prefix(found)
        name = PurePosixPath(prefix).name
        return (name[: -len(".nix")] if name.endswith(".nix") else name), found
    by_name = expression_at(repo, commit_id, f"{BY_NAME}/{clean[:2].lower()}/{clean}")
    if by_name is not None:
        return clean, by_name
    matches = _directories_named(repo, commit_id, clean)
    if not matches:
        raise RepositoryError(f"no package {clean!r} in {commit_id[:12]} (neither in {BY_NAME} nor a directory of that "
                              "name holding package.nix or default.nix)", field="PACKAGE")
    if len(matches) > 1:
        shown = ", ".join(matches[:5])
        raise CommitguardError(f"package name {clean!r} is ambiguous ({shown}): name the expression path", field="PACKAGE")
    return clean, matches[0]


def _directories_named(repo: pygit2.Repository, commit_id: str, name: str) -> list[str]:
    """Expressions in directories called ``name`` anywhere in the tree (outside by-name layouts)."""
    found: list[str] = []
    for prefix, child, mode, _ in walk_entries(TreeReader(repo), repo[commit_id].tree_id.raw):
        if mode == TREE_MODE and child == name:
            expression = expression_at(repo, commit_id, f"{prefix}{child}")
            if expression is not None:
                found.append(expression)
    return sorted(found)


def _locate(repo: pygit2.Repository, commit_id: str, trail: Trail) -> str | None:
    """Where a package lived in an older revision: its path, or a path it was moved from."""
    for prefix in [trail.prefix, *(old for old, _ in trail.aliases)]:
        found = expression_at(repo, commit_id, prefix)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- judging


class _Evaluation:
    """Chains of some packages in the history of one revision."""

    def __init__(self, repo, judge: CommitJudge, index: HistoryIndex, tip: str, trust_root: str | None,
                 expressions: dict[str, str], repository: str | None, jobs: int, approval_keyring: Keyring | None = None,
                 snapshots: HistorySnapshots | None = None):
        self.history = PackageHistory(repo, tip, trust_root, index, jobs=jobs, snapshots=snapshots)
        self.expressions = expressions
        self.trails = self.history.trails({name: package_prefix(path) for name, path in expressions.items()})
        self.approval_keyring = approval_keyring or judge.approval_keyring(self.history)
        approvals = HistoryApprovals(repo, self.approval_keyring, self.history, repository)
        self.verdicts = judge.verdicts(self.history, chain_commits(self.history, self.trails))
        self.chains: dict[str, Chain] = {
            name: build_chain(self.history, trail, self.verdicts, approvals) for name, trail in self.trails.items()
        }
        self.warnings = [*self.history.warnings, *approvals.warnings]

    @property
    def trusted(self) -> bool:
        return all(chain.trusted for chain in self.chains.values())

    def boundary(self) -> int:
        """The oldest mainline position from which an untrusted commit is part of history."""
        return max(self.history.entry_index(b) for chain in self.chains.values() for b in chain.blockers)

    @property
    def missing(self) -> list[str]:
        """Packages without any history since the trust root: no older revision has more of it."""
        return [name for name, chain in self.chains.items() if chain.missing]

    def reason(self, name: str) -> str:
        chain = self.chains[name]
        if chain.trusted:
            return ""
        if chain.missing:
            return chain.missing
        described = []
        by_commit = {link.commit: link for link in chain.links if link.role in ("commit", "merge")}
        for blocker in chain.blockers[:MAX_REASONS]:
            link = by_commit[blocker]
            described.append(f"{link.role} {blocker[:12]} is {link.status}" + (f" ({link.reason})" if link.reason else ""))
        more = len(chain.blockers) - MAX_REASONS
        return "; ".join(described) + (f"; and {more} more" if more > 0 else "")

    def pinned(self, name: str, locked_digest: str | None = None) -> PinnedPackage:
        chain = self.chains[name]
        return PinnedPackage(name, self.expressions[name], chain.last_change, chain.trusted,
                             chain.digest, self.reason(name), locked_digest)


def _judge(repo: pygit2.Repository, keyring: Keyring | None, trust_root: str | None, options: PinOptions) -> CommitJudge:
    return CommitJudge(repo, keyring, trust_root, VerifyOptions(trust_root=trust_root, jobs=options.jobs,
                                                                cache_dir=options.cache_dir))


def pin(repo: pygit2.Repository, keyring: Keyring | None, packages: list[str], options: PinOptions) -> PinReport:
    """Choose the revision and write the lock (only when one is found); ``repo`` is open
    (:func:`commitguard.git.revisions.open_repository`)."""
    if not packages:
        raise CommitguardError("name at least one PACKAGE (or use --check)", field="PACKAGE")
    with pack_windows_bounded():  # history and the packages' expressions: all of a pack is read
        return _pin(repo, keyring, packages, options)


def _pin(repo: pygit2.Repository, keyring: Keyring | None, packages: list[str], options: PinOptions) -> PinReport:
    repository, jobs = options.repository, options.jobs or default_jobs()
    branch = options.branch or _checked_out_branch(repo)
    tip = str(resolve_commit(repo, branch, "branch"))
    trust_root = resolve_trust_root(repo, keyring, options.trust_root)
    expressions: dict[str, str] = {}
    for argument in packages:
        name, expression = resolve_package(repo, tip, argument)
        if name in expressions and expressions[name] != expression:
            raise CommitguardError(f"two packages would be locked as {name!r}: name them by different paths",
                                   field="PACKAGE")
        expressions[name] = expression
    judge = _judge(repo, keyring, trust_root, options)
    index = HistoryIndex(options.cache_dir)
    try:
        # Only the branch tip's history is kept as a snapshot: the older revisions pin
        # falls back to are each looked at once, and no snapshot of a descendant serves them.
        snapshots = HistorySnapshots(options.cache_dir, repo, trust_root) if options.cache_dir is not None else None
        first = _Evaluation(repo, judge, index, tip, trust_root, expressions, repository, jobs, snapshots=snapshots)
        mainline = first.history.mainline
        current, position = first, 0
        warnings = list(first.warnings)
        while not current.trusted:
            if current.missing:
                position = len(mainline)  # nothing older has the history this revision lacks
                break
            position += current.boundary() + 1
            located = None
            while position < len(mainline):
                candidate = mainline[position]
                located = {name: _locate(repo, candidate, first.trails[name]) for name in expressions}
                if all(located.values()):
                    break
                position += 1
            if position >= len(mainline) or located is None:
                break
            current = _Evaluation(repo, judge, index, mainline[position], trust_root,
                                  {name: located[name] for name in expressions}, repository, jobs,
                                  first.approval_keyring)
            warnings.extend(current.warnings)
        if not current.trusted:
            packages_out = {name: PinnedPackage(name, expressions[name], None, False, None, first.reason(name)
                                                or "no revision holds all the packages with trusted history")
                            for name in expressions}
            return PinReport("pin", None, branch, tip, trust_root, packages_out, options.lock,
                             errors=(f"no revision of {branch} since the trust root has a fully trusted history "
                                     "for these packages",),
                             warnings=tuple(dict.fromkeys(warnings + judge.warnings)))
    finally:
        index.close()
    rev = current.history.tip
    pinned = {name: current.pinned(name) for name in expressions}
    report = PinReport("pin", rev, branch, tip, trust_root, pinned, options.lock,
                       warnings=tuple(dict.fromkeys(warnings + judge.warnings)))
    write_lock(options.lock, report.lock_json())
    return dataclasses.replace(report, written=True)


def check_lock(repo: pygit2.Repository, keyring: Keyring | None, packages: list[str], options: PinOptions) -> PinReport:
    """Re-judge a lock: still on the branch, still trusted, and what changed.

    The lock only records. The trust root and the branch come from the
    keyring and the command line, as for ``pin``; what the lock says about
    them is compared, never used: an edited lock naming a later trust root
    would hide every commit before it, and one naming another branch would
    accept a revision the followed branch never had.
    """
    lock = read_lock(options.lock)
    repository, jobs = options.repository, options.jobs or default_jobs()
    branch = options.branch or _checked_out_branch(repo)
    tip = str(resolve_commit(repo, branch, "branch"))
    rev = lock["rev"]
    wanted = dict(lock["packages"])
    if packages:
        unknown = [p for p in packages if p not in wanted]
        if unknown:
            raise CommitguardError(f"not in the lock: {', '.join(unknown)}", path=options.lock, field="packages")
        wanted = {name: wanted[name] for name in packages}
    trust_root = resolve_trust_root(repo, keyring, options.trust_root)
    errors: list[str] = []
    warnings: list[str] = []
    recorded_branch = lock.get("branch")
    if recorded_branch is not None and recorded_branch != branch:
        errors.append(f"the lock was written for branch {recorded_branch}, this check follows {branch}: "
                      f"pass --branch {recorded_branch} to check the lock against that branch")
    recorded_root = lock.get("trust_root")
    if recorded_root != trust_root:
        source = "--trust-root" if options.trust_root else "the keyring's policy.trust_root"
        now = f"from trust root {trust_root} ({source})" if trust_root else "down to the first commit (no trust root)"
        warnings.append(f"the lock records trust root {recorded_root or 'none'}; checked {now}")
    locked = {name: PinnedPackage(name, entry["path"], entry.get("last_change"), False, entry.get("chain_digest"),
                                  "not checked: the locked revision is not on the branch")
              for name, entry in wanted.items()}
    rollback = _rollback(repo, rev, tip, branch)
    if rollback:
        return PinReport("check", rev, branch, tip, trust_root, locked, options.lock, errors=(*errors, rollback),
                         warnings=tuple(warnings))
    misplaced = {name: reason for name, entry in wanted.items()
                 if (reason := _misplaced(repo, rev, name, entry["path"]))}
    missing = {name: entry["path"] for name, entry in wanted.items()
               if name not in misplaced and expression_at(repo, rev, package_prefix(entry["path"])) is None}
    present = {name: entry["path"] for name, entry in wanted.items() if name not in missing and name not in misplaced}
    judge = _judge(repo, keyring, trust_root, options)
    index = HistoryIndex(options.cache_dir)
    try:
        evaluation = _Evaluation(repo, judge, index, rev, trust_root, present, repository, jobs)
    finally:
        index.close()
    results: dict[str, PinnedPackage] = {}
    warnings.extend(evaluation.warnings)
    for name, entry in wanted.items():
        if name in missing or name in misplaced:
            reason = misplaced.get(name) or f"{entry['path']} is not in the locked revision"
            results[name] = PinnedPackage(name, entry["path"], entry.get("last_change"), False, None, reason,
                                          entry.get("chain_digest"))
            continue
        result = evaluation.pinned(name, entry.get("chain_digest"))
        results[name] = result
        if result.chain_changed:
            warnings.append(f"{name}: its chain changed since the lock was written "
                            f"({entry.get('chain_digest') or 'none'} -> {result.chain_digest})")
    return PinReport("check", rev, branch, tip, trust_root, results, options.lock, errors=tuple(errors),
                     warnings=tuple(dict.fromkeys(warnings + judge.warnings)))


def _misplaced(repo: pygit2.Repository, rev: str, name: str, path: str) -> str | None:
    """A lock naming a by-name package must check that package's expression, not another path."""
    if "/" in name or not name:
        return None
    by_name = expression_at(repo, rev, f"{BY_NAME}/{name[:2].lower()}/{name}")
    if by_name is None or by_name == path:
        return None
    return f"the lock checks {path} for {name}, whose expression in the locked revision is {by_name}"


def _checked_out_branch(repo: pygit2.Repository) -> str:
    """The branch HEAD stands for, so that ``--check`` later follows the branch, not whatever is checked out then."""
    try:
        if not repo.head_is_detached and not repo.head_is_unborn:
            return repo.head.shorthand
    except (pygit2.GitError, KeyError, ValueError):
        pass
    return "HEAD"


def _rollback(repo: pygit2.Repository, rev: str, tip: str, branch: str) -> str | None:
    try:
        obj = repo.get(rev)
    except (ValueError, pygit2.GitError):
        obj = None
    if not isinstance(obj, pygit2.Commit):
        return (f"rollback: the locked revision {rev} is not in the repository any more "
                f"(a force-push dropped it from {branch}?)")
    if rev == tip:
        return None
    try:
        contained = repo.descendant_of(tip, rev)
    except (KeyError, ValueError, pygit2.GitError):
        contained = False
    if not contained:
        return (f"rollback: the locked revision {rev[:12]} is no longer in the history of {branch} ({tip[:12]}): "
                "the branch was rewritten (force-push) or moved back")
    return None


# --------------------------------------------------------------------------- the lock file


def read_lock(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommitguardError("lock file not found", path=path, field="--lock") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommitguardError(f"cannot read the lock file ({exc})", path=path, field="--lock") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise CommitguardError(f"not JSON ({exc})", path=path) from None
    if not isinstance(data, dict):
        raise CommitguardError("not a JSON object", path=path)
    rev = data.get("rev")
    if not isinstance(rev, str) or not _HEX40.match(rev):
        raise CommitguardError("must be a 40-hex commit id", path=path, field="rev")
    for key in ("branch", "trust_root"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise CommitguardError("must be a string", path=path, field=key)
    packages = data.get("packages")
    if not isinstance(packages, dict) or not packages:
        raise CommitguardError("must be an object naming at least one package", path=path, field="packages")
    for name, entry in packages.items():
        where = f"packages.{name}"
        if not isinstance(entry, dict):
            raise CommitguardError("must be an object", path=path, field=where)
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise CommitguardError("must be a path", path=path, field=f"{where}.path")
        for key in ("chain_digest", "last_change"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                raise CommitguardError("must be a string", path=path, field=f"{where}.{key}")
    return data


def write_lock(path: str, data: dict) -> None:
    """Written whole or not at all: a reader never sees half a lock."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=".commitguard-lock-", dir=directory)
    except OSError as exc:
        raise CommitguardError(f"cannot write the lock file ({exc.strerror})", path=path, field="--lock") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=False)
            handle.write("\n")
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CommitguardError(f"cannot write the lock file ({exc.strerror})", path=path, field="--lock") from None
