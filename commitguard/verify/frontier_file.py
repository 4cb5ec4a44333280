"""The verified frontier's files: one snapshot of verdicts, or the verdicts new since another.

A snapshot file is a magic line, the SHA-256 of its header, a JSON header and
a body of four sections for the commits it holds itself: their ids (one per
line), the index of each one's verdict shape (``array('i')``), each one's
signature time (``array('d')``, NaN for none) and the subject lines kept for
some of them (JSON, by position).

A file may hold only the commits new since an earlier snapshot of the same
lineage, its *base* (named in the header with the SHA-256 of the base's
body): after one new commit, a re-run writes one commit, not the million
behind it. Its verdicts are its own commits followed by the base's. The
base's verdict shapes are a prefix of the file's own, so the base's shape
indices stand unchanged. A chain is at most MAX_DEPTH files deep; the next
snapshot after that is written whole.

The header alone carries what a re-run with nothing new reports (see
:class:`StoredVerdictTable`): the number of commits of each verdict shape and
the first FIRST_KEPT commits of each untrusted verdict and of each verdict
vouched for by something other than the commit's own signature.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from array import array
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from commitguard.errors import CommitguardError
from commitguard.model.verdicts import (CommitIds, CommitVerdict, CommitVerdictTable, SignatureInfo, SignatureType,
                                         Status, Vouch)

MAGIC = b"commitguard-frontier 3\n"
MAX_HEADER_BYTES = 64 << 20  # the header lists the first FIRST_KEPT commits of each untrusted verdict
FIRST_KEPT = 200  # as many as the text report lists (commitguard.output.text.MAX_LISTED)
MAX_DEPTH = 16  # files in one chain of snapshots (each read when the chain is chosen)
_HEX_DIGITS = b"0123456789abcdef"
_NAME = re.compile(r"[0-9a-f]{32}-[0-9a-f]{16}\.bin")


def encode(lineage: str, tips: list[str], table: CommitVerdictTable,
           base: "StoredVerdictTable | None" = None) -> tuple[bytes, dict]:  # fmt: skip
    """(the file's bytes, its header) for ``table``'s verdicts, or for ``table``'s
    verdicts followed by ``base``'s when a base is given (``table`` then holds only
    the commits new since the base, which none of the base's commits may be)."""
    ids, shape, created, shapes, summaries = table.columns()
    shape = array("i", shape)
    merged = list(shapes)
    if base is not None:  # the base's shapes keep their indices; this table's are renumbered after them
        merged = list(base._shapes)
        where = {s: k for k, s in enumerate(merged)}
        remap = []
        for s in shapes:
            if s not in where:
                where[s] = len(merged)
                merged.append(s)
            remap.append(where[s])
        shape = array("i", (remap[k] for k in shape))
    own = Counter(shape)  # in the order each shape first occurs
    counts = Counter(own)
    if base is not None:
        for k, c in base._counts:
            counts[k] += c
    listed = {k for k, s in enumerate(merged)
              if k in counts and (not s[1] or (s[6] is not None and s[6].kind != "signature"))}  # fmt: skip
    first: dict[int, list] = {k: [] for k in listed}
    wanted = sum(min(FIRST_KEPT, own[k]) for k in listed if k in own)
    for i in (i for i, k in enumerate(shape) if k in listed) if wanted else ():
        kept = first[shape[i]]
        if len(kept) < FIRST_KEPT:
            t = created[i]
            kept.append([i, ids[i], None if t != t else t, summaries.get(i, "")])
            wanted -= 1
            if not wanted:
                break  # every listed verdict has its first commits: the rest is not read
    if base is not None:
        offset = len(ids)
        for k, entries in first.items():
            for pos, commit_id, t, summary in base._first.get(k, ())[: FIRST_KEPT - len(entries)]:
                entries.append([pos + offset, commit_id, None if t != t else t, summary])
    text = ids.text if isinstance(ids, CommitIds) else "".join(i + "\n" for i in ids)  # one id a line
    sections = [text.encode("ascii"), shape.tobytes(), array("d", created).tobytes(),
                json.dumps({str(pos): line for pos, line in summaries.items()}, separators=(",", ":")).encode()]
    body = b"".join(sections)
    header = {
        "lineage": lineage,
        "tips": tips,
        "count": len(ids) + (len(base) if base is not None else 0),
        "own": len(ids),
        "id_length": len(ids[0]) if ids else 40,
        "byteorder": sys.byteorder,
        "shapes": [_shape_json(s) for s in merged],
        "counts": [[k, n] for k, n in counts.items()],
        "first": {str(k): entries for k, entries in first.items()},
        "sections": [len(part) for part in sections],
        "sha256": hashlib.sha256(body).hexdigest(),
        "base": None if base is None else {"file": base.path.name, "sha256": base.digest, "count": len(base)},
        "depth": 1 if base is None else base.depth + 1,
    }
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    data = MAGIC + hashlib.sha256(header_bytes).hexdigest().encode() + b"\n" + header_bytes + b"\n" + body
    return data, header


def read(path: Path, lineage: str, seen: dict | None = None) -> tuple[tuple[str, ...], "StoredVerdictTable"] | None:
    """(tips, verdicts) of the snapshot in ``path``, or None for anything but an intact
    one of this lineage, with an intact chain of bases.

    Only headers are read here (each with its own checksum, and each body's
    size checked): what a re-run with nothing new reports comes from them
    alone. A body is read, checked against its checksum and parsed only when
    a report asks for every commit; one found damaged then stops the run
    (see :meth:`StoredVerdictTable._own_columns`). Reading every body here
    would make a re-run cost the whole history again (55 MB at a million
    commits). ``seen`` keeps what was read by path, so snapshots that share
    bases (every re-run of a branch adds one) read each file once.
    """
    if seen is None:
        seen = {}
    if path.name not in seen:
        seen[path.name] = None  # while it is read: a chain that comes back to it is no chain
        seen[path.name] = _read(path, lineage, seen)
    return seen[path.name]


def _read(path: Path, lineage: str, seen: dict) -> tuple[tuple[str, ...], "StoredVerdictTable"] | None:
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            digest = f.readline(65).rstrip(b"\n")
            header_bytes = f.readline(MAX_HEADER_BYTES)
            if not header_bytes.endswith(b"\n") or hashlib.sha256(header_bytes[:-1]).hexdigest().encode() != digest:
                return None
            offset = f.tell()
            header = json.loads(header_bytes)
            if header["lineage"] != lineage or header["byteorder"] != sys.byteorder:
                return None
            size = f.seek(0, 2)
            f.seek(offset)
            table = _table(path, offset, size, header)
            if table is None:
                return None
        base = header["base"]
        if base is not None:
            name = str(base["file"])
            if not _NAME.fullmatch(name) or name == path.name:
                return None
            found = read(path.parent / name, lineage, seen)
            if (found is None or found[1].digest != base["sha256"] or len(found[1]) != base["count"]
                    or found[1].depth + 1 != table.depth or table._shapes[: len(found[1]._shapes)] != found[1]._shapes
                    or found[1]._width != table._width):  # fmt: skip
                return None
            table.base = found[1]
        tips = tuple(str(t) for t in header["tips"])
        if not tips:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    return tips, table


def base_name(path: Path) -> str | None:
    """The file name of the base ``path`` is written after, read from its header
    unchecked: only for keeping bases when old snapshots are pruned."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            f.readline(65)
            base = json.loads(f.readline(MAX_HEADER_BYTES))["base"]
        name = str(base["file"]) if base else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if name and _NAME.fullmatch(name) else None


def stored(path: Path, offset: int, header: dict, base: "StoredVerdictTable | None") -> "StoredVerdictTable":
    """The verdicts of a snapshot just written from ``header`` (no need to read it back)."""
    table = _table(path, offset, offset + sum(header["sections"]), header)
    if table is None:
        raise ValueError("a snapshot header this module wrote does not read back")
    table.base = base
    return table


def _table(path: Path, offset: int, size: int, header: dict) -> "StoredVerdictTable | None":
    """The header's verdict table, or None when the header does not hold together."""
    n, own, width = header["count"], header["own"], header["id_length"]
    sections = [int(x) for x in header["sections"]]
    depth = header["depth"]
    base = header["base"]
    if (width not in (40, 64) or not isinstance(n, int) or not isinstance(own, int) or own < 1 or n < own
            or len(sections) != 4 or sections[3] < 2 or sections[:3] != [own * (width + 1), 4 * own, 8 * own]
            or size != offset + sum(sections) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH
            or (base is None) != (n == own and depth == 1) or (base is not None and base["count"] != n - own)):  # fmt: skip
        return None
    shapes = [_shape_from_json(item) for item in header["shapes"]]
    counts = [(int(k), int(c)) for k, c in header["counts"]]
    if (sum(c for _, c in counts) != n or len({k for k, _ in counts}) != len(counts)
            or any(not 0 <= k < len(shapes) or c < 1 for k, c in counts)):  # fmt: skip
        return None
    first = {int(k): [_entry(e, n, width) for e in entries] for k, entries in header["first"].items()}
    if any(not 0 <= k < len(shapes) for k in first):
        return None
    return StoredVerdictTable(path, offset, sections, header["sha256"], n, own, width, depth, shapes, counts, first)


def _entry(item: list, n: int, width: int) -> tuple[int, str, float, str]:
    """One stored (position, id, time, subject) of a listed commit, checked."""
    pos, commit_id, t, summary = item
    if (not isinstance(pos, int) or not 0 <= pos < n or not isinstance(commit_id, str) or len(commit_id) != width
            or commit_id.strip("0123456789abcdef") or not isinstance(summary, str)):  # fmt: skip
        raise ValueError("listed commit")
    return pos, commit_id, math.nan if t is None else float(t), summary


class StoredVerdictTable(CommitVerdictTable):
    """A stored snapshot's verdicts (its own commits, then its base's), parsed when first read.

    A re-run with nothing new reports from the header alone: how many
    commits have each verdict (what the exit code and the summary need) and
    the first commits of each untrusted or vouched verdict (what the text
    report lists). The columns (ids, verdict per commit, times, subject
    lines) are parsed only when something needs every commit, such as the
    JSON report; at a million commits that parse is most of a re-run. The
    body is checked against its checksum when parsed: a body damaged or
    changed since it was written is an error, never a verdict.
    """

    __slots__ = ("path", "_offset", "_sections", "digest", "_n", "_own", "_width", "depth", "_counts", "_first",
                 "_columns", "base")

    def __init__(self, path: Path, offset: int, sections: list[int], digest: str, n: int, own: int, width: int,
                 depth: int, shapes: list[tuple], counts: list[tuple[int, int]], first: dict[int, list]):  # fmt: skip
        self.path, self._offset, self._sections, self.digest = path, offset, sections, digest
        self._n, self._own, self._width, self.depth = n, own, width, depth
        self._shapes, self._counts, self._first = shapes, counts, first
        self._columns = None
        self._memo = {}
        self.base: StoredVerdictTable | None = None

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
        """(ids, shape, created, summaries) of this file's commits followed by its base's."""
        own = self._own_columns()
        if self.base is None:
            return own
        ids, shape, created, summaries = own
        base_ids, base_shape, base_created, base_summaries = self.base._load()
        shape = array("i", shape)
        shape.extend(base_shape)
        created = array("d", created)
        created.extend(base_created)
        summaries = dict(summaries)
        summaries.update((pos + self._own, line) for pos, line in base_summaries.items())
        return CommitIds(ids.text + base_ids.text, self._width), shape, created, summaries

    def _own_columns(self):
        damaged = CommitguardError("the stored verified frontier changed or is damaged since this run chose it; "
                                   "it was removed: run again", path=str(self.path))
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                body = f.read(sum(self._sections) + 1)
        except OSError as exc:
            raise CommitguardError(f"the stored verified frontier cannot be read: {exc}", path=str(self.path)) from exc
        n, width = self._own, self._width
        line = width + 1
        ids_end, shape_end, created_end = n * line, n * (line + 4), n * (line + 12)
        ok = len(body) == sum(self._sections) and hashlib.sha256(body).hexdigest() == self.digest
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
                ok = all(0 <= pos < n for pos in summaries)
            except (ValueError, AttributeError):
                ok = False
        if not ok:
            self.path.unlink(missing_ok=True)
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
