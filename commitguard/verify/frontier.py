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
from dataclasses import dataclass
from pathlib import Path

import pygit2

from commitguard.cache_files import lineage_files, prune_lineages, touch, write_whole
from commitguard.model.verdicts import CommitVerdictTable
from commitguard.verify.cache import FRONTIER_DIR, cache_key
from commitguard.verify.frontier_file import MAX_DEPTH, StoredVerdictTable, base_name, encode, read, stored

_KEEP = 4  # snapshots kept per lineage (branches checked in turn each keep theirs), besides their bases


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
        seen: dict = {}  # snapshots share bases: each file is read once
        for path in self._files():
            found = read(path, self.lineage, seen)
            if found is None or (best is not None and len(found[1]) <= len(best.table)):
                continue
            tips, table = found
            if all(any(self._reaches(tip, old) for tip in include) for old in tips):
                best = Snapshot(tips, table)
        if best is not None and isinstance(best.table, StoredVerdictTable):
            touch(best.table.path)  # in use: pruning keeps it and its lineage
        return best

    def store(self, tips: list, table: CommitVerdictTable, base: Snapshot | None = None) -> CommitVerdictTable | None:
        """Keep ``table`` (followed by ``base``'s verdicts, when given) as the verdicts behind
        ``tips``, and return the whole as stored; None when the cache cannot be written.

        After a base, only ``table``'s commits are written, unless the chain of
        bases is already MAX_DEPTH long: then everything is written once more.
        """
        names = sorted(str(t) for t in tips)
        name = f"{self.lineage}-{hashlib.sha256(' '.join(names).encode()).hexdigest()[:16]}.bin"
        under = base.table if base is not None and isinstance(base.table, StoredVerdictTable) else None
        if base is not None and (under is None or under.depth >= MAX_DEPTH or under.path.name == name):
            table, under = table.followed_by(base.table), None
        data, header = encode(self.lineage, names, table, under)
        try:
            write_whole(self.directory, name, [data])
            self._prune()
            prune_lineages(self.directory, self.lineage)
        except OSError:
            return None  # the frontier only saves time
        return stored(self.directory / name, len(data) - sum(header["sections"]), header, under)

    def _prune(self) -> None:
        """Keep the newest _KEEP snapshots and every base they are written after."""
        files = self._files()
        keep = {p.name for p in files[:_KEEP]}
        for path in files[:_KEEP]:
            for _ in range(MAX_DEPTH):
                name = base_name(path)
                if name is None or name in keep:
                    break
                keep.add(name)
                path = self.directory / name
        for path in files:
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def _files(self) -> list[Path]:
        """This lineage's snapshot files, newest first."""
        return lineage_files(self.directory, self.lineage)

    def _reaches(self, tip, old: str) -> bool:
        try:
            old_oid = pygit2.Oid(hex=old)
            return old_oid == tip or self._repo.descendant_of(tip, old_oid)
        except (KeyError, ValueError, pygit2.GitError):
            return False


def _shallow_boundary(repo: pygit2.Repository) -> str:
    """The shallow clone's cut (``.git/shallow``), part of the lineage: a fetch that deepens
    history brings commits behind a stored tip that the stored verdicts never saw."""
    try:
        return hashlib.sha256((Path(repo.path) / "shallow").read_bytes()).hexdigest()
    except OSError:
        return "complete"
