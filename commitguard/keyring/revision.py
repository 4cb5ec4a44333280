"""Keyrings as committed: ``REV:PATH`` for ``keyring diff``.

A reviewer compares the keyring a pull request proposes with the one on
the base branch (``main:.commitguard/keyring``). Reading it from the
commit's tree, not the working directory, means the comparison is about
what the commit vouches for: a key file present only on disk, or reached
through a symlink or submodule, is not part of it and is not found.
"""

from __future__ import annotations

from pathlib import Path

from commitguard.errors import KeyringError
from commitguard.git.revisions import open_repository, resolve_commit
from commitguard.git.trees import blob_at, tree_at
from commitguard.keyring.loader import KEYRING_FILE, load_keyring, parse_keyring
from commitguard.keyring.model import Keyring


def load_keyring_spec(spec: str, repo: str) -> Keyring:
    """A keyring from a directory, or from ``REV:PATH`` in the repository at ``repo``.

    A directory that exists wins, so a path that happens to hold a colon
    still works; otherwise ``REV:PATH`` names a keyring as committed, which
    is what a reviewer compares (``main:.commitguard/keyring``).
    """
    if Path(spec).is_dir() or ":" not in spec:
        return load_keyring(spec)
    rev, _, path = spec.partition(":")
    if not rev:
        raise KeyringError("REV:PATH needs a revision before the colon (e.g. main:.commitguard/keyring)", field=spec)
    repository = open_repository(repo)
    commit = resolve_commit(repository, rev)
    path = path.strip("/")
    label = Path(f"{rev}:{path}")
    directory = tree_at(repository, commit, path)
    if directory is None:
        raise KeyringError(f"no directory {path or '/'} at {rev}", path=str(label))

    def read(relative: str) -> bytes | None:
        # regular files only: a symlink's or submodule's target is not part of what the commit vouches for
        return blob_at(repository, directory, relative, regular=True)

    toml = read(KEYRING_FILE)
    if toml is None:
        raise KeyringError(f"no {KEYRING_FILE} in the keyring directory at {rev}", path=str(label))
    return parse_keyring(toml, label, label / KEYRING_FILE, read_file=read)
