"""The verification cache: verdicts keyed by (keyring digest, commit id).

A commit id names the exact bytes of the commit, signature included, and the
keyring digest names exactly what the user trusted; a verdict is a pure
function of the two (plus this verifier's version, folded into the digest),
so re-verifying a long history after one new commit costs one verification,
and a changed keyring can never reuse a stale verdict. Verdicts that depend
on the clock or on a missing tool are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import platformdirs

from commitguard.model import SignatureInfo, SignatureType, SignatureVerdict, Status

# Bump when verification logic changes, so old verdicts are not served.
VERIFIER_VERSION = "verify-2"


def default_cache_dir() -> Path:
    return Path(os.environ.get("COMMITGUARD_CACHE_DIR") or platformdirs.user_cache_dir("commitguard"))


def cache_key(keyring_digest: str) -> str:
    return hashlib.sha256(f"{VERIFIER_VERSION}\0{keyring_digest}".encode()).hexdigest()


class VerdictCache:
    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.directory / "verdicts.sqlite3"
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS verdicts (keyring TEXT NOT NULL, commit_id TEXT NOT NULL, "
            "verdict TEXT NOT NULL, PRIMARY KEY (keyring, commit_id)) WITHOUT ROWID"
        )

    def load(self, key: str, ids: list[str] | tuple[str, ...]) -> dict[str, SignatureVerdict]:
        """Cached verdicts for those of ``ids`` that have one."""
        found: dict[str, SignatureVerdict] = {}
        if not ids:
            return found
        if len(ids) > 2000:
            wanted = set(ids)
            rows = self._db.execute("SELECT commit_id, verdict FROM verdicts WHERE keyring = ?", (key,))
            rows = ((c, v) for c, v in rows if c in wanted)
        else:
            marks = ",".join("?" * len(ids))
            rows = self._db.execute(
                f"SELECT commit_id, verdict FROM verdicts WHERE keyring = ? AND commit_id IN ({marks})", (key, *ids)
            )
        shared: dict = {}  # one copy of each reason, signer and key (see verify._share_strings)
        for commit_id, text in rows:
            verdict = _decode(text, shared)
            if verdict is not None:
                found[commit_id] = verdict
        return found

    def store(self, key: str, verdicts: dict[str, SignatureVerdict]) -> None:
        rows = [(key, cid, _encode(v)) for cid, v in verdicts.items() if v.cacheable]
        if rows:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()


def _encode(v: SignatureVerdict) -> str:
    return json.dumps(
        [v.status.value, v.reason, v.signature.type.value if v.signature.type else None, v.signature.key,
         int(v.signature.created.timestamp()) if v.signature.created else None, v.signer],
        separators=(",", ":"),
    )


def _decode(text: str, shared: dict) -> SignatureVerdict | None:
    try:
        status, reason, stype, key, created, signer = json.loads(text)
        return SignatureVerdict(
            status=Status(status),
            reason=shared.setdefault(reason, reason),
            signature=SignatureInfo(
                SignatureType(stype) if stype else None,
                shared.setdefault(key, key),
                # epoch seconds: strptime cost more than the rest of a warm run
                datetime.fromtimestamp(created, timezone.utc) if created is not None else None,
            ),
            signer=shared.setdefault(signer, signer),
        )
    except (ValueError, TypeError, OverflowError, OSError):
        return None  # an unreadable row is simply recomputed
