"""The verified frontier: tips whose whole selected history already has verdicts.

A commit id names its parents, so the commits a tip reaches (minus what the
excluded revisions reach, cut at the trust root) are a pure function of the
tip, the exclusions and the trust root; their verdicts are a pure function of
those commits and the keyring digest (see :mod:`commitguard.verify.cache`).
So once a run has judged everything behind some tips, a later run under the
same keyring, exclusions, trust root and repository can hide those tips from
libgit2's walk, judge only what is new, and append the stored verdicts. A
re-run with nothing new then walks nothing at all, which is what makes a
warm ``verify`` of a long history cost its start-up and its output.

A snapshot is used only when every tip it was made for is the new tip or one
of its ancestors (a force-push that dropped a stored tip, or another branch,
finds no usable snapshot and walks everything, through the verdict cache).
It is written only when every verdict in it may be cached (nothing that
depended on the clock or on a missing tool). It is the user's own cache,
like the verdicts: a file that is damaged, truncated, for another layout or
another repository is ignored, never trusted, and the run walks everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import pygit2

from commitguard.model.verdicts import CommitIds, CommitVerdictTable, SignatureType, Status, Vouch
from commitguard.verify.cache import FRONTIER_DIR, cache_key

_MAGIC = b"commitguard-frontier 2\n"
_KEEP = 4  # snapshots kept per lineage (branches checked in turn each keep theirs)
_HEX_DIGITS = b"0123456789abcdef"


@dataclass(frozen=True)
class Snapshot:
    """The verdicts of every commit behind ``tips`` (newest first)."""

    tips: tuple[str, ...]
    table: CommitVerdictTable


class Frontier:
    """The snapshots of one lineage: one keyring digest, repository, exclusion set and trust root."""

    def __init__(self, cache_dir: str | os.PathLike, repo: pygit2.Repository, keyring_digest: str,
                 exclude: list, trust_root) -> None:  # fmt: skip
        self.directory = Path(cache_dir) / FRONTIER_DIR
        self._repo = repo
        identity = [
            cache_key(keyring_digest),
            os.path.realpath(repo.path),
            sorted(str(oid) for oid in exclude),
            str(trust_root) if trust_root is not None else None,
            _shallow_boundary(repo),
        ]
        self.lineage = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:32]

    def usable(self, include: list) -> Snapshot | None:
        """The largest stored snapshot whose every tip the ``include`` tips reach, or None."""
        best: Snapshot | None = None
        for path in self._files():
            snapshot = _read(path, self.lineage)
            if snapshot is None or (best is not None and len(snapshot.table) <= len(best.table)):
                continue
            if all(any(self._reaches(tip, old) for tip in include) for old in snapshot.tips):
                best = snapshot
        return best

    def store(self, tips: list, table: CommitVerdictTable) -> None:
        """Keep ``table`` as the verdicts behind ``tips``; a cache that cannot be written is skipped."""
        names = sorted(str(t) for t in tips)
        name = f"{self.lineage}-{hashlib.sha256(' '.join(names).encode()).hexdigest()[:16]}.bin"
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            data = _encode(self.lineage, names, table)
            fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                os.replace(temporary, self.directory / name)
            except BaseException:
                os.unlink(temporary)
                raise
            for old in self._files()[_KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            return  # the frontier only saves time

    def _files(self) -> list[Path]:
        """This lineage's snapshot files, newest first."""
        try:
            found = [p for p in self.directory.iterdir() if p.name.startswith(self.lineage + "-")]
            return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)
        except OSError:
            return []

    def _reaches(self, tip, old: str) -> bool:
        try:
            old_oid = pygit2.Oid(hex=old)
            return old_oid == tip or self._repo.descendant_of(tip, old_oid)
        except (KeyError, ValueError, pygit2.GitError):
            return False


def _shape_json(shape: tuple) -> list:
    status, trusted, stype, key, signer, reason, vouch = shape
    return [status.value, trusted, stype.value if stype else None, key, signer, reason,
            vouch.to_json() if vouch is not None else None]  # fmt: skip


def _shape_from_json(item: list) -> tuple:
    status, trusted, stype, key, signer, reason, vouch = item
    if not isinstance(trusted, bool) or not isinstance(reason, str):
        raise ValueError("shape")
    return (Status(status), trusted, SignatureType(stype) if stype else None, key, signer, reason,
            Vouch.from_json(vouch))  # fmt: skip


def _encode(lineage: str, tips: list[str], table: CommitVerdictTable) -> bytes:
    ids, shape, created, shapes, summaries = table.columns()
    text = ids.text if isinstance(ids, CommitIds) else "".join(i + "\n" for i in ids)  # one id a line
    body = text.encode("ascii") + array("i", shape).tobytes() + array("d", created).tobytes()
    header = {
        "lineage": lineage,
        "tips": tips,
        "count": len(ids),
        "id_length": len(ids[0]) if ids else 40,
        "byteorder": sys.byteorder,
        "shapes": [_shape_json(s) for s in shapes],
        "summaries": {str(pos): text for pos, text in summaries.items()},
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    return _MAGIC + json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def _read(path: Path, lineage: str) -> Snapshot | None:
    """The snapshot in ``path``, or None for anything but an intact one of this lineage."""
    try:
        data = path.read_bytes()
        if not data.startswith(_MAGIC):
            return None
        end = data.index(b"\n", len(_MAGIC))
        header = json.loads(data[len(_MAGIC) : end])
        body = memoryview(data)[end + 1 :]
        n, width = header["count"], header["id_length"]
        line = width + 1
        if (header["lineage"] != lineage or header["byteorder"] != sys.byteorder or width not in (40, 64)
                or not isinstance(n, int) or n < 1 or len(body) != n * (line + 4 + 8)
                or hashlib.sha256(body).hexdigest() != header["sha256"]):  # fmt: skip
            return None
        raw_ids = bytes(body[: n * line])
        if raw_ids.translate(None, _HEX_DIGITS + b"\n"):  # anything but lower-case hex
            return None
        text = raw_ids.decode("ascii")
        if text.count("\n") != n or text[width::line] != "\n" * n:  # n lines, each one id wide
            return None
        ids = CommitIds(text, width)
        shape = array("i")
        shape.frombytes(body[n * line : n * (line + 4)])
        created = array("d")
        created.frombytes(body[n * (line + 4) :])
        shapes = [_shape_from_json(item) for item in header["shapes"]]
        if min(shape) < 0 or max(shape) >= len(shapes):
            return None
        summaries = {int(pos): str(line) for pos, line in header["summaries"].items()}
        tips = tuple(str(t) for t in header["tips"])
        if not tips:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Snapshot(tips, CommitVerdictTable(ids, shape, created, shapes, summaries))


def _shallow_boundary(repo: pygit2.Repository) -> str:
    """The shallow clone's cut (``.git/shallow``), part of the lineage: a fetch that deepens
    history brings commits behind a stored tip that the stored verdicts never saw."""
    try:
        return hashlib.sha256((Path(repo.path) / "shallow").read_bytes()).hexdigest()
    except OSError:
        return "complete"
