"""A keyring kept inside the repository, judged commit by commit (Guix-style).

The repository carries ``.commitguard/keyring``. A commit is judged by the
keyring *in effect at its parents*, never by the one it carries itself (it
could add its own signer); for a merge, by the keyring of every parent. The
keyring in effect changes only when a commit that changes it is trusted,
signed by a person (a forge signature cannot change whom the project trusts):

* the trust root is judged by the keyring it carries (someone outside the
  repository, the user, chose that commit: the role of Guix's channel
  introduction);
* a trusted commit whose tree carries a different, valid keyring puts that
  keyring in effect for its descendants;
* an untrusted commit changes nothing: its descendants are judged by the
  keyring in effect at its first parent. So no key ever enters the keyring
  in effect unless a trusted commit introduced it, however many trusted
  commits are later built on top of an untrusted one (the laundering that
  broke gittuf's policy checks);
* a commit that does not descend from the trust root has no keyring in
  effect at all.

Only the commits whose judgement decides the keyring in effect (keyring
changes, and merges of branches with different keyrings) are verified one by
one in history order; every other commit is then verified in bulk, grouped by
keyring, through the cache and the worker pool.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import PurePosixPath

import pygit2

from commitguard.errors import KeyringError, RepositoryError
from commitguard.git.revisions import parse_revisions, select_commits, topological_order
from commitguard.git.trees import entry_at, read_blob, tree_at
from commitguard.keyring.loader import KEYRING_FILE, parse_keyring
from commitguard.keyring.model import Keyring
from commitguard.model.verdicts import CommitVerdict, SignatureInfo, Status, VerifyReport
from commitguard.verify.commits import VerifyOptions, verify_commit_ids

IN_REPO_KEYRING = ".commitguard/keyring"


class TreeKeyrings:
    """Keyrings read from commits' trees, parsed once per distinct subtree."""

    def __init__(self, repo: pygit2.Repository, path: str = IN_REPO_KEYRING):
        self.repo = repo
        self.path = path
        self._by_tree: dict[pygit2.Oid, Keyring | KeyringError] = {}

    def subtree_id(self, commit_id) -> pygit2.Oid | None:
        subtree = tree_at(self.repo, commit_id, self.path)
        return subtree.id if subtree is not None else None

    def load(self, commit_id) -> Keyring:
        """The keyring in the commit's tree; KeyringError if absent or invalid."""
        subtree = self.subtree_id(commit_id)
        where = f"{commit_id}:{self.path}"
        if subtree is None:
            raise KeyringError(f"commit carries no {self.path} directory", path=where)
        found = self._by_tree.get(subtree)
        if found is None:
            found = self._parse(subtree, where)
            self._by_tree[subtree] = found
        if isinstance(found, KeyringError):
            raise found
        return found

    def _parse(self, subtree_id, where: str) -> Keyring | KeyringError:
        tree = self.repo[subtree_id]

        def read(relative: str) -> bytes | None:
            entry = entry_at(tree, str(PurePosixPath(relative)))
            if entry is None:
                return None
            if entry.filemode == pygit2.enums.FileMode.LINK:
                # a symlink's blob is its target's name, not a certificate; and what it
                # names (possibly outside the keyring) is not what the commit reviewed
                raise KeyringError(f"key file {relative} is a symlink; a keyring kept in the repository holds "
                                   "its key files themselves", path=f"{where}/{KEYRING_FILE}")
            return read_blob(self.repo, entry.id)

        raw = read(KEYRING_FILE)
        if raw is None:
            return KeyringError(f"no {KEYRING_FILE} in the keyring directory", path=where)
        try:
            return parse_keyring(raw, PurePosixPath(where), PurePosixPath(where) / KEYRING_FILE, read_file=read)
        except KeyringError as exc:
            return exc


def missing_trust_root() -> KeyringError:
    """The refusal every command gives when a keyring kept in the repository has no trust root to start from."""
    return KeyringError(
        "a keyring kept inside the repository needs --trust-root COMMIT: the keyring cannot name "
        "the commit that introduces it",
        field="--trust-root",
    )


@dataclass
class _Effective:
    """The keyring in effect after a commit; None where no trust reaches."""

    keyring: Keyring | None
    subtree: pygit2.Oid | None


def verify_with_repository_keyring(repo: pygit2.Repository, options: VerifyOptions) -> VerifyReport:
    """Judge the commits ``options.revs`` selects, each by the keyring in effect at its parents.

    ``repo`` is open (:func:`commitguard.git.revisions.open_repository`); the
    keyring is the one the trust root carries, as the module docstring says.
    """
    if not options.trust_root:
        raise missing_trust_root()
    include, _ = parse_revisions(repo, list(options.revs))
    reported = select_commits(repo, list(options.revs), options.trust_root, max_commits=options.max_commits)
    # The keyring in effect is decided by all history from the trust root to the
    # tips, including commits a range leaves out of the report.
    everything = select_commits(repo, [str(oid) for oid in include], options.trust_root, max_commits=options.max_commits)
    root = str(repo.revparse_single(options.trust_root).peel(pygit2.Commit).id)
    if root not in set(everything.ids):
        raise RepositoryError(f"trust root {root} is not an ancestor of the checked revisions", field="--trust-root")

    keyrings = TreeKeyrings(repo)
    root_keyring = keyrings.load(root)
    order = topological_order(repo, everything.ids)  # parents first
    in_scope = set(order)
    effective: dict[str, _Effective] = {}
    decided: dict[tuple[str, str], object] = {}  # (commit, keyring digest) -> SignatureVerdict
    judged_by: dict[str, list[Keyring | None]] = {}
    warnings: list[str] = list(reported.warnings)

    def verdict_under(commit_id: str, keyring: Keyring) -> object:
        slot = (commit_id, keyring.digest)
        if slot not in decided:
            decided[slot] = verify_commit_ids(
                repo, keyring, [commit_id], dataclasses.replace(options, jobs=1, progress=None)
            )[0]
        return decided[slot]

    tree_subtree: dict[str, pygit2.Oid | None] = {}
    for commit_id in order:
        commit = repo[commit_id]
        subtree = keyrings.subtree_id(commit_id)
        tree_subtree[commit_id] = subtree
        if commit_id == root:
            judged_by[commit_id] = [root_keyring]
            effective[commit_id] = _Effective(root_keyring, subtree)
            continue
        parents = [str(p) for p in commit.parent_ids]
        parent_effects = [effective[p] if p in in_scope else _Effective(None, None) for p in parents] or [
            _Effective(None, None)
        ]
        distinct = _distinct([e.keyring for e in parent_effects])
        judged_by[commit_id] = distinct
        first = parent_effects[0]
        if distinct == [None]:
            effective[commit_id] = _Effective(None, None)  # history outside the trust root stays outside
            continue
        parent_trees = [tree_subtree.get(p) for p in parents]
        authored = all(subtree != t for t in parent_trees)  # this commit itself edits the keyring
        if len(distinct) == 1 and (subtree == first.subtree or not authored):
            # Untouched, or carrying content an untrusted ancestor put there:
            # that content never entered the keyring in effect, and a commit
            # that does not edit the keyring cannot let it in now.
            effective[commit_id] = first
            continue
        # This commit's trust decides the keyring in effect: judge it now.
        verdicts = [verdict_under(commit_id, k) if k is not None else None for k in distinct]
        by_person = all(v is not None and v.status is Status.TRUSTED for v in verdicts)  # type: ignore[union-attr]
        in_effect = [e for e in parent_effects if e.keyring is not None and e.subtree == subtree]
        if by_person and in_effect:
            effective[commit_id] = in_effect[0]
        elif by_person and authored and subtree is not None:
            try:
                effective[commit_id] = _Effective(keyrings.load(commit_id), subtree)
            except KeyringError as exc:
                warnings.append(
                    f"commit {commit_id} changes {IN_REPO_KEYRING} but it is invalid ({exc}): "
                    "the previous keyring stays in effect"
                )
                effective[commit_id] = first
        elif by_person and authored and subtree is None:
            warnings.append(f"commit {commit_id} removes {IN_REPO_KEYRING}: no later commit can be trusted")
            effective[commit_id] = _Effective(None, None)
        else:
            if authored:
                warnings.append(
                    f"commit {commit_id} changes {IN_REPO_KEYRING} but is not trusted (signed by a keyring person): "
                    "the change does not take effect"
                )
            effective[commit_id] = first

    # Bulk verification of every reported commit, grouped by keyring.
    wanted: dict[str, list[str]] = defaultdict(list)
    keyring_by_digest: dict[str, Keyring] = {}
    for commit_id in reported.ids:
        for keyring in judged_by[commit_id]:
            if keyring is not None:
                keyring_by_digest[keyring.digest] = keyring
                if (commit_id, keyring.digest) not in decided:
                    wanted[keyring.digest].append(commit_id)
    for digest, ids in wanted.items():
        for verdict in verify_commit_ids(repo, keyring_by_digest[digest], ids, options):
            decided[(verdict.id, digest)] = verdict

    commits = [_combine(repo, commit_id, judged_by[commit_id], decided, root) for commit_id in reported.ids]
    return VerifyReport(commits=tuple(commits), warnings=tuple(warnings))


def _distinct(keyrings: list[Keyring | None]) -> list[Keyring | None]:
    seen: dict[str | None, Keyring | None] = {}
    for k in keyrings:
        seen.setdefault(k.digest if k is not None else None, k)
    return list(seen.values())


def _combine(repo, commit_id: str, keyrings: list[Keyring | None], decided, root: str) -> CommitVerdict:
    """One verdict per commit: trusted only if every parent's keyring trusts it."""
    verdicts: list[CommitVerdict] = []
    for keyring in keyrings:
        if keyring is None:
            verdicts.append(_outside_trust(repo, commit_id, root))
        else:
            verdicts.append(decided[(commit_id, keyring.digest)])
    untrusted = [v for v in verdicts if not v.trusted]
    chosen = untrusted[0] if untrusted else verdicts[0]
    if len(verdicts) > 1 and untrusted and len(untrusted) < len(verdicts):
        chosen = dataclasses.replace(chosen, reason=chosen.reason + " (under the keyring of one of its parents)")
    return chosen


def _outside_trust(repo, commit_id: str, root: str) -> CommitVerdict:
    signature, _ = repo[commit_id].gpg_signature
    status = Status.UNSIGNED if signature is None else Status.UNKNOWN_KEY
    message = repo[commit_id].raw_message.split(b"\n", 1)[0].decode("utf-8", "replace")[:120]
    return CommitVerdict(
        commit_id,
        status,
        False,
        SignatureInfo(None),
        None,
        f"no keyring in effect: the commit does not descend from the trust root {root[:12]}",
        message,
    )
