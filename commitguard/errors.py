"""Errors that stop a command before it can judge anything (exit code 2)."""

from __future__ import annotations


class CommitguardError(Exception):
    """A problem with the input that the user must fix; never a verdict.

    The message is one line and names the file and field at fault, so the CLI
    can print it as is and exit 2.
    """

    def __init__(self, message: str, *, path: str | None = None, field: str | None = None):
        where = ""
        if path and field:
            where = f"{path}: {field}: "
        elif path:
            where = f"{path}: "
        elif field:
            where = f"{field}: "
        # Messages quote hostile input (a key's text, a library's error about it):
        # control characters are shown escaped so the error stays one line.
        super().__init__(_one_line(f"{where}{message}"))
        self.path = path
        self.field = field


def _one_line(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class KeyringError(CommitguardError):
    """The keyring cannot be loaded or is invalid."""


class RepositoryError(CommitguardError):
    """The repository or a revision in it cannot be read."""
