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
import math
import os
import sys
import tempfile
from array import array
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pygit2

from commitguard.errors import CommitguardError
from commitguard.model.verdicts import (CommitIds, CommitVerdict, CommitVerdictTable, SignatureInfo, SignatureType,
                                         Status, Vouch)
from commitguard.verify.cache import FRONTIER_DIR, cache_key

_MAGIC = b"commitguard-frontier 3\n"
MAX_HEADER_BYTES = 64 << 20  # the header lists the first FIRST_KEPT commits of each untrusted verdict
FIRST_KEPT = 200  # as many as the text report lists (commitguard.output.text.MAX_LISTED)
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
    counts = Counter(shape)  # in the order each shape first occurs
    # untrusted, or trusted through something other than the commit's own signature (an audit, a review)
    listed = {k for k, s in enumerate(shapes)
              if k in counts and (not s[1] or (s[6] is not None and s[6].kind != "signature"))}
    first: dict[int, list] = {k: [] for k in listed}
    wanted = sum(min(FIRST_KEPT, counts[k]) for k in listed)
    for i in (i for i, k in enumerate(shape) if k in listed) if wanted else ():
        kept = first[shape[i]]
        if len(kept) < FIRST_KEPT:
            t = created[i]
            kept.append([i, ids[i], None if t != t else t, summaries.get(i, "")])
            wanted -= 1
            if not wanted:
                break  # every listed verdict has its first commits: the rest of history is not read
    sections = [text.encode("ascii"), array("i", shape).tobytes(), array("d", created).tobytes(),
                json.dumps({str(pos): line for pos, line in summaries.items()}, separators=(",", ":")).encode()]
    body = b"".join(sections)
    header = json.dumps({
        "lineage": lineage,
        "tips": tips,
        "count": len(ids),
        "id_length": len(ids[0]) if ids else 40,
        "byteorder": sys.byteorder,
        "shapes": [_shape_json(s) for s in shapes],
        "counts": [[k, n] for k, n in counts.items()],
        "first": {str(k): entries for k, entries in first.items()},
        "sections": [len(part) for part in sections],
        "sha256": hashlib.sha256(body).hexdigest(),
    }, separators=(",", ":")).encode()
    return _MAGIC + hashlib.sha256(header).hexdigest().encode() + b"\n" + header + b"\n" + body


def _read(path: Path, lineage: str) -> Snapshot | None:
    """The snapshot in ``path``, or None for anything but an intact one of this lineage.

    Only the header is parsed here; the whole body is read once for its
    checksum, and its columns are parsed when a report asks for them
    (:class:`StoredVerdictTable`).
    """
    try:
        with open(path, "rb") as f:
            if f.read(len(_MAGIC)) != _MAGIC:
                return None
            digest = f.readline(65).rstrip(b"\n")
            header_bytes = f.readline(MAX_HEADER_BYTES)
            if not header_bytes.endswith(b"\n") or hashlib.sha256(header_bytes[:-1]).hexdigest().encode() != digest:
                return None
            offset = f.tell()
            header = json.loads(header_bytes)
            n, width = header["count"], header["id_length"]
            sections = [int(x) for x in header["sections"]]
            if (header["lineage"] != lineage or header["byteorder"] != sys.byteorder or width not in (40, 64)
                    or not isinstance(n, int) or n < 1 or len(sections) != 4 or sections[3] < 2
                    or sections[:3] != [n * (width + 1), 4 * n, 8 * n]
                    or os.fstat(f.fileno()).st_size != offset + sum(sections)):  # fmt: skip
                return None
            if hashlib.file_digest(f, "sha256").hexdigest() != header["sha256"]:
                return None
        shapes = [_shape_from_json(item) for item in header["shapes"]]
        counts = [(int(k), int(c)) for k, c in header["counts"]]
        if (sum(c for _, c in counts) != n or len({k for k, _ in counts}) != len(counts)
                or any(not 0 <= k < len(shapes) or c < 1 for k, c in counts)):  # fmt: skip
            return None
        first = {int(k): [_entry(e, n, width) for e in entries] for k, entries in header["first"].items()}
        if any(not 0 <= k < len(shapes) for k in first):
            return None
        tips = tuple(str(t) for t in header["tips"])
        if not tips:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return Snapshot(tips, StoredVerdictTable(path, offset, sections, header["sha256"], n, width, shapes, counts, first))


def _entry(item: list, n: int, width: int) -> tuple[int, str, float, str]:
    """One stored (position, id, time, subject) of a listed commit, checked."""
    pos, commit_id, t, summary = item
    if (not isinstance(pos, int) or not 0 <= pos < n or not isinstance(commit_id, str) or len(commit_id) != width
            or commit_id.strip("0123456789abcdef") or not isinstance(summary, str)):  # fmt: skip
        raise ValueError("listed commit")
    return pos, commit_id, math.nan if t is None else float(t), summary


class StoredVerdictTable(CommitVerdictTable):
    """A stored snapshot's verdicts, parsed when first read.

    A re-run with nothing new reports from the header alone: how many
    commits have each verdict (what the exit code and the summary need) and
    the first commits of each untrusted or vouched verdict (what the text
    report lists). The columns (ids, verdict per commit, times, subject
    lines) are parsed only when something needs every commit, such as the
    JSON report or new commits to put in front; at a million commits that
    parse is most of a re-run. The body is checked against its checksum
    again when parsed; a file changed since is an error, never a verdict.
    """

    __slots__ = ("_path", "_offset", "_sections", "_digest", "_n", "_width", "_counts", "_first", "_columns")

    def __init__(self, path: Path, offset: int, sections: list[int], digest: str, n: int, width: int,
                 shapes: list[tuple], counts: list[tuple[int, int]], first: dict[int, list]):  # fmt: skip
        self._path, self._offset, self._sections, self._digest = path, offset, sections, digest
        self._n, self._width, self._shapes, self._counts, self._first = n, width, shapes, counts, first
        self._columns = None
        self._memo = {}

    ids = property(lambda self: self._load()[0])
    _shape = property(lambda self: self._load()[1])
    _created = property(lambda self: self._load()[2])
    _summaries = property(lambda self: self._load()[3])

    def __len__(self) -> int:
        return self._n

    def tally(self) -> list[tuple[tuple[Status, bool], int]]:
        return [((self._shapes[k][0], self._shapes[k][1]), c) for k, c in self._counts]

    def listed(self, test, limit: int) -> tuple[int, list[CommitVerdict]]:
        counts = dict(self._counts)
        chosen = [k for k in counts if test(_probe(self._shapes[k]))]
        if any(k not in self._first or (len(self._first[k]) < min(limit, counts[k])) for k in chosen):
            return super().listed(test, limit)  # not all kept in the header: from the columns
        entries = sorted(((e, k) for k in chosen for e in self._first[k][:limit]), key=lambda pair: pair[0][0])
        return sum(counts[k] for k in chosen), [_verdict(self._shapes[k], e) for e, k in entries[:limit]]

    def _load(self):
        if self._columns is None:
            self._columns = self._parse()
        return self._columns

    def _parse(self):
        damaged = CommitguardError("the stored verified frontier changed or is damaged since this run chose it; "
                                   "it was removed: run again", path=str(self._path))
        try:
            with open(self._path, "rb") as f:
                f.seek(self._offset)
                body = f.read(sum(self._sections) + 1)
        except OSError as exc:
            raise CommitguardError(f"the stored verified frontier cannot be read: {exc}", path=str(self._path)) from exc
        n, width = self._n, self._width
        line = width + 1
        ids_end, shape_end, created_end = n * line, n * (line + 4), n * (line + 12)
        ok = len(body) == sum(self._sections) and hashlib.sha256(body).hexdigest() == self._digest
        raw_ids = body[:ids_end]
        ok = ok and not raw_ids.translate(None, _HEX_DIGITS + b"\n")  # nothing but lower-case hex
        if ok:
            text = raw_ids.decode("ascii")
            ok = text.count("\n") == n and text[width::line] == "\n" * n  # n lines, each one id wide
        if ok:
            shape = array("i")
            shape.frombytes(body[ids_end:shape_end])
            created = array("d")
            created.frombytes(body[shape_end:created_end])
            ok = 0 <= min(shape) and max(shape) < len(self._shapes)
        if ok:
            try:
                summaries = {int(pos): str(s) for pos, s in json.loads(body[created_end:]).items()}
            except (ValueError, AttributeError):
                ok = False
        if not ok:
            try:
                self._path.unlink()
            except OSError:
                pass
            raise damaged
        return CommitIds(text, width), shape, created, summaries


def _probe(shape: tuple) -> CommitVerdict:
    status, trusted, stype, key, signer, reason, vouch = shape
    return CommitVerdict("", status, trusted, SignatureInfo(stype, key), signer, reason, "", vouch)


def _verdict(shape: tuple, entry: tuple) -> CommitVerdict:
    status, trusted, stype, key, signer, reason, vouch = shape
    pos, commit_id, t, summary = entry
    created = None if t != t else datetime.fromtimestamp(t, timezone.utc)
    return CommitVerdict(commit_id, status, trusted, SignatureInfo(stype, key, created), signer, reason, summary, vouch)


def _shallow_boundary(repo: pygit2.Repository) -> str:
    """The shallow clone's cut (``.git/shallow``), part of the lineage: a fetch that deepens
    history brings commits behind a stored tip that the stored verdicts never saw."""
    try:
        return hashlib.sha256((Path(repo.path) / "shallow").read_bytes()).hexdigest()
    except OSError:
        return "complete"
