"""Which key signed which release: a key change between versions is worth a look.

An upstream that rotates its release key is normal; an attacker who took the
release pipeline and signs with a key they slipped into the keyring is not,
and from one release alone the two look the same. Remembering the key of
every verified version lets a reviewer see "1.1 is signed by another key
than 1.0" at the moment it happens (a TOFU record, like SSH's known_hosts).

Versions are ordered with Nix's own ``builtins.compareVersions``, so
"previous version" means what it means to nixpkgs.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from functools import cmp_to_key
from pathlib import Path

from commitguard.verify.cache import default_cache_dir
# One implementation of Nix's builtins.compareVersions, shared with the evaluator.
from commitguard.nix.versions import compare_versions

DEFAULT_FILE = "upstream-continuity.sqlite3"


class ContinuityStore:
    """Per upstream ``match``: every (version, key) seen verified, with when it was first seen."""

    def __init__(self, path: str | os.PathLike | None = None):
        if path is None:
            directory = default_cache_dir()
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = directory / DEFAULT_FILE
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS signed_versions (match TEXT NOT NULL, version TEXT NOT NULL, "
            "key TEXT NOT NULL, first_seen TEXT NOT NULL, PRIMARY KEY (match, version, key)) WITHOUT ROWID"
        )
        self._db.commit()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ContinuityStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def record(self, match: str, version: str, key: str, *, seen: datetime | None = None) -> None:
        """Remember that ``key`` signed ``version``; the first sighting's time is kept."""
        moment = (seen or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO signed_versions (match, version, key, first_seen) VALUES (?, ?, ?, ?)",
                (match, version, key, moment),
            )

    def keys(self, match: str, version: str) -> list[str]:
        """The keys seen signing ``version``, first seen first."""
        rows = self._db.execute(
            "SELECT key FROM signed_versions WHERE match = ? AND version = ? ORDER BY first_seen, key",
            (match, version),
        )
        return [k for (k,) in rows]

    def previous(self, match: str, before_version: str) -> tuple[str, str] | None:
        """The newest recorded version older than ``before_version``, with the key first seen signing it."""
        rows = self._db.execute(
            "SELECT version, key, first_seen FROM signed_versions WHERE match = ? ORDER BY first_seen, key", (match,)
        ).fetchall()
        older = [(v, k) for v, k, _ in rows if compare_versions(v, before_version) < 0]
        if not older:
            return None
        newest = max((v for v, _ in older), key=cmp_to_key(compare_versions))
        # rows are in first-seen order: the first key of that version is its first signer
        return next((v, k) for v, k in older if v == newest)
