"""Keyrings: the user's curated statement of whom they trust (SPEC: keyring.toml)."""

from __future__ import annotations

from commitguard.keyring.loader import load_keyring
from commitguard.keyring.model import Keyring
from commitguard.keyring.select import IN_REPO_KEYRING, KeyringChoice, select_keyring

__all__ = ["IN_REPO_KEYRING", "Keyring", "KeyringChoice", "load_keyring", "choose_keyring_dir", "select_keyring"]


def choose_keyring_dir(explicit: str | None, repo_workdir: str | None) -> tuple[str, bool]:
    """(directory, kept_in_repository), by the one rule of :mod:`commitguard.keyring.select`;
    the repository's own keyring as its working tree holds it."""
    choice = select_keyring(explicit)
    return choice.worktree_directory(repo_workdir), choice.in_repository
