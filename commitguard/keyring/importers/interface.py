"""What every import source produces: people and their keys, plus what to tell the user.

An importer only *reads* its source (a file, a git branch, a GnuPG home, an
API) and describes what it found; :mod:`commitguard.keyring.writer` merges
that into a keyring directory. Keeping the two apart means every source
gets the same merge, idempotence and change report, and an importer can be
tested without touching a keyring.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from commitguard.errors import CommitguardError

if TYPE_CHECKING:  # the registry imports this module
    from commitguard.keyring.importers.registry import ImportRequest


@dataclass(frozen=True)
class ImportedKey:
    """One key as found in a source.

    Exactly one of ``ssh`` (an OpenSSH public key line), ``openpgp``
    (certificate bytes, armored or binary) and ``sigstore`` (the identity
    and OIDC issuer of a keyless gitsign signer) is set, except for a bare
    ``fingerprint`` pin: a source that names an OpenPGP fingerprint but
    holds no certificate (nixpkgs' maintainer-list). Such a key is kept as a
    pin with no usable key, which ``keyring check`` reports.
    ``source`` and ``obtained`` record where and when a key was fetched
    (trust on first use, shown by ``keyring show``).
    """

    ssh: str | None = None
    openpgp: bytes | None = None
    fingerprint: str | None = None
    sigstore: tuple[str, str] | None = None  # (identity, issuer)
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    namespaces: tuple[str, ...] | None = None  # SSH: the namespaces the key may sign in
    # OpenPGP: the only keys of the certificate whose signatures count (Guix
    # authorizes the signing key itself); None: every signing key
    signing_keys: tuple[str, ...] | None = None
    revoked: bool = False
    source: str | None = None
    obtained: datetime | None = None


@dataclass(frozen=True)
class ImportedPerson:
    id: str
    name: str | None = None
    emails: tuple[str, ...] = ()
    github: str | None = None
    github_id: int | None = None
    roles: tuple[str, ...] = ()
    keys: tuple[ImportedKey, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    """Everything an importer found.

    ``policy`` holds policy fields the source implies (Guix: ``trust_root``
    from the channel introduction and ``openpgp_expiry = "ignore"``);
    ``notes`` are lines for the user about what was *not* imported and why
    (a ``cert-authority`` line, a key type that cannot be used), so nothing is
    dropped silently.
    """

    persons: tuple[ImportedPerson, ...]
    policy: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


class Importer(ABC):
    """A source of people and keys. Errors are CommitguardError naming file and line."""

    name: str

    def __init__(self, request: ImportRequest):
        self.request = request

    def only_argument(self, what: str) -> str:
        """The one file a file-format source reads; anything else is a usage error."""
        if len(self.request.args) != 1:
            raise CommitguardError(f"takes exactly one argument: {what}", field=self.name)
        return self.request.args[0]

    @abstractmethod
    def load(self) -> ImportResult:
        """Read the source; never writes anything."""
