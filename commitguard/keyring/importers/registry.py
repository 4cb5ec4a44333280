"""Import sources by name, as ``commitguard keyring import SOURCE`` spells them."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from commitguard.errors import CommitguardError
from commitguard.keyring.importers.interface import Importer

# name -> "module:Class"; modules are imported only when used.
SOURCES: dict[str, str] = {
    "allowed-signers": "commitguard.keyring.importers.allowed_signers:AllowedSignersImporter",
    "guix": "commitguard.keyring.importers.guix:GuixImporter",
    "sequoia-policy": "commitguard.keyring.importers.sequoia_policy:SequoiaPolicyImporter",
    "gnupg": "commitguard.keyring.importers.gnupg:GnuPGImporter",
    "maintainer-list": "commitguard.keyring.importers.maintainer_list:MaintainerListImporter",
    "github": "commitguard.keyring.importers.github:GitHubImporter",
}


@dataclass(frozen=True)
class ImportRequest:
    """Everything an importer may need; each uses what applies to it.

    ``args`` are the words after SOURCE: a file for the file formats,
    fingerprints for ``gnupg``, logins for ``github``.
    """

    args: tuple[str, ...] = ()
    repo: str = "."
    gnupg_home: str | None = None
    introduction: str | None = None
    github_api: str = "https://api.github.com"
    github_token: str | None = None
    # github: also list each user's public e-mail address as a Sigstore (gitsign)
    # identity with GitHub's OIDC issuer; only when the user asks (--sigstore)
    sigstore: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def obtained(self) -> datetime:
        """``now`` as imported keys record it (``obtained``): UTC, whole seconds; a naive time is UTC."""
        now = self.now if self.now.tzinfo else self.now.replace(tzinfo=timezone.utc)
        return now.astimezone(timezone.utc).replace(microsecond=0)


def importer_for(source: str, request: ImportRequest) -> Importer:
    target = SOURCES.get(source)
    if target is None:
        raise CommitguardError(f"unknown import source {source!r} (choose from {', '.join(SOURCES)})", field="SOURCE")
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)(request)
