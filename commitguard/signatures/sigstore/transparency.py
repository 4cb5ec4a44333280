"""Where gitsign log entries may be looked for: the options every command reads.

Kept apart from :mod:`.rekor` so that reading ``--upstream-mirror`` and
``--online`` costs no import of ``cryptography``'s serialization and ``rfc8785``:
a warm ``verify`` with nothing new is mostly start-up (issue 19).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Transparency:
    """Where log entries may be looked for besides the signature itself.

    ``mirror``: the offline mirror directory (its ``rekor/`` subdirectory is
    read); ``online``: ask the trusted root's Rekor logs over the network.
    """

    mirror: Path | None = None
    online: bool = False


def transparency_from_environment() -> Transparency:
    """The offline mirror that every command reads, ``$COMMITGUARD_UPSTREAM_MIRROR`` (SPEC); never online."""
    mirror = os.environ.get("COMMITGUARD_UPSTREAM_MIRROR")
    return Transparency(mirror=Path(mirror) if mirror else None, online=False)


def transparency_for(mirror: str | None, online: bool) -> Transparency:
    """``--upstream-mirror DIR`` and ``--online`` as SPEC reads them: with a mirror set,
    nothing is fetched from the network; a mirror that is not a directory is a usage error."""
    if not mirror:  # importing commitguard.upstream loads every evidence source: 30 ms of a warm verify
        return Transparency(mirror=None, online=online)
    from commitguard.upstream.mirror import check_mirror

    directory = check_mirror(mirror)
    return Transparency(mirror=directory, online=online and directory is None)
