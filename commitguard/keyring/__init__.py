"""Keyrings: the user's curated statement of whom they trust (SPEC: keyring.toml)."""

from __future__ import annotations

import os
from pathlib import Path

from commitguard.errors import KeyringError
from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Keyring

IN_REPO_KEYRING = ".commitguard/keyring"

__all__ = ["Keyring", "load_keyring", "choose_keyring_dir"]


def choose_keyring_dir(explicit: str | None, repo_workdir: str | None) -> tuple[str, bool]:
    """(directory, kept_in_repository): ``--keyring``, then $COMMITGUARD_KEYRING,
    then the repository's own ``.commitguard/keyring``."""
    if explicit:
        return explicit, False
    env = os.environ.get("COMMITGUARD_KEYRING")
    if env:
        return env, False
    if repo_workdir:
        candidate = Path(repo_workdir) / IN_REPO_KEYRING
        if candidate.is_dir():
            return str(candidate), True
    raise KeyringError(
        "no keyring: pass --keyring DIR, set COMMITGUARD_KEYRING, or keep one at .commitguard/keyring",
        field="--keyring",
    )
