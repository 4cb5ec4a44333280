"""Which keyring judges: the one rule every command follows.

The user's keyring comes first: ``--keyring DIR``, then ``$COMMITGUARD_KEYRING``.
Only when the user names none does the repository's own
``.commitguard/keyring`` judge, and then it is read at a revision the command
already trusts: commit by commit for ``verify`` (the keyring in effect at each
commit's parents, see :mod:`commitguard.verify.in_repository`), the base for
``check-pr`` and ``audit-bump``, never the head of the change under review
(a change must not bring the keys it is judged by).

The rule used to be written out four times (``verify``, the pull-request
commands, ``annotate``/``pin`` and ``audit-bump``), each with its own idea of
what "no keyring named" meant; a fifth copy in one command would be a way
around the other four. Here it is decided once, and the answer says which
keyring it is, so callers cannot mistake one for the other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from commitguard.errors import CommitguardError, KeyringError
from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Keyring

IN_REPO_KEYRING = ".commitguard/keyring"
ENVIRONMENT = "COMMITGUARD_KEYRING"

_NONE_FOUND = "no keyring: pass --keyring DIR, set COMMITGUARD_KEYRING, or keep one at .commitguard/keyring"


@dataclass(frozen=True)
class KeyringChoice:
    """The keyring a command uses: the user's directory, or the repository's own.

    ``directory`` is the user's keyring (``origin`` says whether ``--keyring``
    or the environment named it); None means the repository's own keyring,
    which the engine reads at the revision it trusts.
    """

    directory: str | None
    origin: str  # "--keyring", "COMMITGUARD_KEYRING" or "repository"

    @property
    def in_repository(self) -> bool:
        return self.directory is None

    def load(self) -> Keyring | None:
        """The user's keyring, parsed; None when the repository's own judges
        (the engine reads it at a trusted revision, never from the work tree)."""
        if self.directory is None:
            return None
        return load_keyring(self.directory)

    def worktree_directory(self, repo_workdir: str | None) -> str:
        """The directory to judge by when a command needs one on disk: the user's,
        else the working tree's ``.commitguard/keyring`` (it must exist)."""
        if self.directory is not None:
            return self.directory
        if repo_workdir:
            candidate = Path(repo_workdir) / IN_REPO_KEYRING
            if candidate.is_dir():
                return str(candidate)
        raise KeyringError(_NONE_FOUND, field="--keyring")

    def require_in_worktree(self, repo_workdir: str | None) -> None:
        """Commands that judge with the repository's keyring commit by commit still
        refuse to start when the working tree shows none (the user may have forgotten
        --keyring); the keyring itself is read from the commits, not from here."""
        self.worktree_directory(repo_workdir)


def select_keyring(option: str | None) -> KeyringChoice:
    """``--keyring``, then ``$COMMITGUARD_KEYRING``, else the repository's own."""
    if option:
        return KeyringChoice(directory=option, origin="--keyring")
    env = os.environ.get(ENVIRONMENT)
    if env:
        return KeyringChoice(directory=env, origin=ENVIRONMENT)
    return KeyringChoice(directory=None, origin="repository")


def require_base_under_trust_root(repo, trust_root: str | None, base: str) -> None:
    """``--trust-root`` for a change (``check-pr``): the base must be the trust root or
    descend from it. ``verify`` leaves the trust root's ancestors unchecked; a change's
    commits are all checked whatever the trust root, so the only use left for it is
    this one, and it fails closed: a base outside the trusted history (a forge naming
    another branch, a stale clone) stops the check (exit 2) instead of being judged."""
    if not trust_root:
        return
    import pygit2

    from commitguard.git.revisions import resolve_commit

    root = resolve_commit(repo, trust_root, "trust root")
    base_id = resolve_commit(repo, base, "base")
    if root == base_id:
        return
    try:
        below = repo.descendant_of(base_id, root)
    except pygit2.GitError:
        below = False
    if not below:
        raise CommitguardError(f"the base {base_id} does not descend from the trust root {root}: "
                               "the change is not on the trusted history", field="--trust-root")
