"""The verification cache: verdicts keyed by (keyring digest, commit id).

A commit id names the exact bytes of the commit, signature included, and the
keyring digest names exactly what the user trusted; a verdict is a pure
function of the two (plus this verifier's version, folded into the digest),
so re-verifying a long history after one new commit costs one verification,
and a changed keyring can never reuse a stale verdict. Verdicts that depend
on the clock or on a missing tool are never stored. The cache only saves
time, so a damaged cache file is rebuilt, never an error.

Only the signature's verdict is stored, never what vouched for the commit:
the ``signature`` vouch is derived from the stored verdict and the keyring's
policy on every load (the policy is part of keyring.toml, so of the digest
too), and the other kinds (an audit in the repository's notes) can change
without the commit or the keyring changing, so they are judged afresh each run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
from datetime import datetime, timezone
from pathlib import Path


from commitguard.model.verdicts import SignatureInfo, SignatureType, SignatureVerdict, Status

# Bump when verification logic changes, so old verdicts are not served.
VERIFIER_VERSION = "verify-2"


def default_cache_dir() -> Path:
    if os.environ.get("COMMITGUARD_CACHE_DIR"):
        return Path(os.environ["COMMITGUARD_CACHE_DIR"])
    import platformdirs  # only when no directory is given: 7 ms of start-up

    return Path(platformdirs.user_cache_dir("commitguard"))


def cache_key(keyring_digest: str) -> str:
    return hashlib.sha256(f"{VERIFIER_VERSION}\0{keyring_digest}".encode()).hexdigest()


class VerdictCache:
    """The verdict store. It is disposable: a cache file that is not a
    database, is damaged, or holds another schema is reported with one
    warning line naming it, removed and rebuilt, and the run carries on
    (verdicts are recomputed); a cache that cannot be opened or written for
    another reason (locked, read-only, a directory in the way) is left alone
    and the run carries on without it. A broken cache never changes a
    verdict or the exit code."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self.path = self.directory / DB_NAME
        self._db: sqlite3.Connection | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            _warn(f"{self.directory}: cannot create the cache directory ({exc.strerror or exc}); running without a cache")
            return
        try:
            self._db = _open(self.path)
        except sqlite3.DatabaseError as exc:
            self._db = None
            self._recover(exc)

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """After ``exc``: rebuild a damaged or foreign cache file, or go on without a cache.

        The verified frontier (:mod:`commitguard.verify.frontier`) summarises
        these verdicts, so it goes with them: "verdicts are recomputed" stays true."""
        self.close()
        shutil.rmtree(self.directory / FRONTIER_DIR, ignore_errors=True)
        if not _damaged(exc):
            _warn(f"{self.path}: cache unusable ({_describe(exc)}); running without a cache")
            return
        try:
            if self.path.is_symlink() or not self.path.is_file():
                raise OSError(f"{self.path} is not a regular file")
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.unlink(f"{self.path}{suffix}")
                except FileNotFoundError:
                    pass
            self._db = _open(self.path)
        except (OSError, sqlite3.Error) as again:
            self._db = None
            _warn(f"{self.path}: cache damaged ({_describe(exc)}) and cannot be rebuilt "
                  f"({_describe(again)}); running without a cache")
            return
        _warn(f"{self.path}: cache damaged ({_describe(exc)}); rebuilt empty, verdicts are recomputed")

    @property
    def usable(self) -> bool:
        """False when the run goes on without a cache (it could not be opened or rebuilt)."""
        return self._db is not None

    def load(self, key: str, ids: list[str] | tuple[str, ...]) -> dict[str, SignatureVerdict]:
        """Cached verdicts for those of ``ids`` that have one."""
        try:
            return self._load(key, ids)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            return {}

    def _load(self, key: str, ids: list[str] | tuple[str, ...]) -> dict[str, SignatureVerdict]:
        found: dict[str, SignatureVerdict] = {}
        if not ids or self._db is None:
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
        shared: dict = {}  # one copy of each reason, signer and key: a key signs thousands of commits
        for commit_id, text in rows:
            verdict = _decode(text, shared) if isinstance(commit_id, str) else None
            if verdict is not None:
                found[commit_id] = verdict
        return found

    def store(self, key: str, verdicts: dict[str, SignatureVerdict]) -> None:
        rows = [(key, cid, _encode(v)) for cid, v in verdicts.items() if v.cacheable]
        if not rows or self._db is None:
            return
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", rows)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)

    def close(self) -> None:
        """Let go of the database (also before a rebuild); closing twice is harmless."""
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None


DB_NAME = "verdicts.sqlite3"
FRONTIER_DIR = "frontier"  # the verified frontier's snapshots, next to the verdicts they summarise
_SCHEMA = (
    "CREATE TABLE verdicts (keyring TEXT NOT NULL, commit_id TEXT NOT NULL, "
    "verdict TEXT NOT NULL, PRIMARY KEY (keyring, commit_id)) WITHOUT ROWID"
)
# SQLite's own words for "this file is not (or no longer) a database".
_DAMAGED_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB


class _ForeignSchema(sqlite3.DatabaseError):
    """A readable SQLite file whose tables are not this cache's."""


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        tables = db.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
        if not tables:
            db.execute(_SCHEMA.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
        elif tables != [("table", "verdicts", _SCHEMA)]:
            names = ", ".join(sorted(str(name) for _, name, _ in tables))
            raise _ForeignSchema(f"holds {names}, not this cache's verdicts table")
    except BaseException:
        db.close()
        raise
    return db


def _damaged(exc: sqlite3.DatabaseError) -> bool:
    return isinstance(exc, _ForeignSchema) or getattr(exc, "sqlite_errorcode", None) in _DAMAGED_CODES


def _describe(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _warn(message: str) -> None:
    """One line on stderr, control characters escaped (the path is the user's, the error SQLite's)."""
    line = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in message)
    print(f"commitguard: warning: {line}", file=sys.stderr)


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
