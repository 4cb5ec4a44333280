"""The small domain model shared by every command: statuses and verdicts.

Everything here is a frozen dataclass so that verdicts can be cached, sent
between worker processes and compared in tests without surprises. The three
made once per commit are slotted: at a million commits, a ``__dict__`` each
is hundreds of megabytes.
"""

from __future__ import annotations

import enum
from collections import Counter
from array import array
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone


class Status(str, enum.Enum):
    """Per-commit status, exactly the values of SPEC's table."""

    TRUSTED = "trusted"
    FORGE = "forge"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad-signature"
    UNKNOWN_KEY = "unknown-key"
    EXPIRED_KEY = "expired-key"
    REVOKED_KEY = "revoked-key"
    WEAK_SIGNATURE = "weak-signature"
    MALFORMED = "malformed"


# Statuses whose signature proves nothing about who made it: no signer is named.
UNATTRIBUTED = frozenset({Status.BAD_SIGNATURE, Status.MALFORMED, Status.UNKNOWN_KEY, Status.UNSIGNED})


class SignatureType(str, enum.Enum):
    SSH = "ssh"
    OPENPGP = "openpgp"
    X509 = "x509"


def utc_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    m = moment.astimezone(timezone.utc)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}Z"


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """What the signature itself says; none of it is trusted on its own.

    ``key`` is the OpenSSH ``SHA256:`` fingerprint or the 40-hex OpenPGP
    fingerprint of the key that made the signature (the subkey where one
    signed); where an OpenPGP signature names only a 16-hex key id and the key
    is unknown, that key id is all we can say. ``created`` is the time the
    signer claims; for SSH signatures, which carry none, it is the committer
    time git itself uses.
    """

    type: SignatureType | None
    key: str | None = None
    created: datetime | None = None

    def to_json(self) -> dict:
        return {
            "type": self.type.value if self.type else None,
            "key": self.key,
            "created": utc_iso(self.created),
        }


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """The answer of one signature scheme about one signed payload.

    ``cacheable`` is false when the answer could change without the commit or
    the keyring changing (a signature that expires, one dated in the future,
    a missing second-opinion tool): such verdicts are recomputed every run.
    """

    status: Status
    reason: str
    signature: SignatureInfo
    signer: str | None = None
    cacheable: bool = True

    @property
    def trusted(self) -> bool:
        # forge-signed commits are judged by policy in verify, not here
        return self.status is Status.TRUSTED


@dataclass(frozen=True, slots=True)
class Vouch:
    """What made a commit trusted: one kind of ``[policy] accept``, by whom, and why.

    ``kind`` is one of SPEC's kinds (``signature``, ``audit``, ...); ``by``
    names the keyring holders whose signature is the evidence (the signer, or
    the auditors); ``reason`` is the sentence a report prints. A commit with
    no vouch is not trusted, whatever its signature says.
    """

    kind: str
    by: tuple[str, ...]
    reason: str

    def to_json(self) -> dict:
        return {"kind": self.kind, "by": list(self.by), "reason": self.reason}

    @classmethod
    def from_json(cls, data: dict | None) -> "Vouch | None":
        if data is None:
            return None
        return cls(data["kind"], tuple(data["by"]), data["reason"])


@dataclass(frozen=True, slots=True)
class CommitVerdict:
    """The verdict on one commit, as reported by ``verify`` (SPEC JSON).

    ``status`` is always the commit's own signature's; ``trusted`` says
    whether a kind the policy accepts vouches for the commit, and ``vouch``
    which one (None when nothing does, so ``trusted`` is false).
    """

    id: str
    status: Status
    trusted: bool
    signature: SignatureInfo
    signer: str | None
    reason: str
    summary: str = ""  # the subject line, for people; filled for untrusted commits only
    vouch: Vouch | None = None

    def to_json(self) -> dict:
        # "vouch" comes last, so consumers that read the keys in order see the old ones unchanged
        return {
            "id": self.id,
            "status": self.status.value,
            "trusted": self.trusted,
            "signature": self.signature.to_json(),
            "signer": self.signer,
            "reason": self.reason,
            "vouch": self.vouch.to_json() if self.vouch is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> "CommitVerdict":
        sig = data["signature"]
        created = sig.get("created")
        return cls(
            id=data["id"],
            status=Status(data["status"]),
            trusted=bool(data["trusted"]),
            signature=SignatureInfo(
                type=SignatureType(sig["type"]) if sig.get("type") else None,
                key=sig.get("key"),
                created=datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
                if created
                else None,
            ),
            signer=data.get("signer"),
            reason=data["reason"],
            summary=data.get("summary", ""),
            vouch=Vouch.from_json(data.get("vouch")),
        )


NO_TIME = float("nan")  # a signature with no time, in a CommitVerdictTable


class CommitIds(Sequence):
    """Commit ids kept as one text, one id a line (each line ``width`` long).

    A stored frontier of a million commits holds a million ids; as str
    objects they cost 90 MB and a tenth of a second to make, while a report
    reads few of them (its untrusted commits) unless it lists every commit.
    """

    __slots__ = ("text", "_line", "_width", "_n")

    def __init__(self, text: str, width: int):
        self.text, self._width, self._line = text, width, width + 1
        self._n = len(text) // self._line
        if len(text) != self._n * self._line:
            raise ValueError("commit id text is not whole lines of one width")

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._n))]
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError("commit id index out of range")
        start = index * self._line
        return self.text[start : start + self._width]

    def __iter__(self):
        return iter(self.text.split("\n")[: self._n])

    def after(self, newer: list[str]) -> "CommitIds":
        """``newer`` ids, then these (ids of another width keep a plain list)."""
        if any(len(i) != self._width for i in newer):
            raise ValueError("commit ids of another width")
        return CommitIds("".join(i + "\n" for i in newer) + self.text, self._width)


class CommitVerdictTable(Sequence):
    """A read-only sequence of CommitVerdicts, stored as columns.

    A long history is mostly the same few verdicts (one per key and status)
    at different times: here each commit costs its id, one index into the
    distinct verdict shapes and one float, about 110 bytes, where objects
    cost about 600. Items are CommitVerdicts built on access.
    """

    __slots__ = ("ids", "_shape", "_created", "_shapes", "_summaries", "_memo")

    def __init__(self, ids, shape, created, shapes: list[tuple], summaries: dict[int, str]):
        # shapes: (status, trusted, signature type, key, signer, reason, vouch)
        self.ids = ids
        self._shape = shape
        self._created = created
        self._shapes = shapes
        self._summaries = summaries
        self._memo: dict = {}  # the columns never change: a million-commit scan is made once

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return tuple(self._item(i) for i in range(*index.indices(len(self.ids))))
        if index < 0:
            index += len(self.ids)
        if not 0 <= index < len(self.ids):
            raise IndexError("commit verdict index out of range")
        return self._item(index)

    def __iter__(self):
        return map(self._item, range(len(self.ids)))

    def _item(self, i: int) -> CommitVerdict:
        status, trusted, stype, key, signer, reason, vouch = self._shapes[self._shape[i]]
        t = self._created[i]
        created = None if t != t else datetime.fromtimestamp(t, timezone.utc)  # NaN: no time
        return CommitVerdict(
            self.ids[i], status, trusted, SignatureInfo(stype, key, created), signer, reason,
            self._summaries.get(i, ""), vouch,
        )

    def columns(self) -> tuple[list[str], array, array, list[tuple], dict[int, str]]:
        """(ids, shape index per commit, signature time per commit (NaN: none), the
        distinct shapes, subject lines by position): what the verified frontier
        stores and the JSON writer reads, without a CommitVerdict per commit."""
        return self.ids, self._shape, self._created, self._shapes, self._summaries

    def followed_by(self, older: "CommitVerdictTable") -> "CommitVerdictTable":
        """This table's verdicts, then ``older``'s: the commits new since a verified
        frontier, then the frontier's (no commit may be in both)."""
        if not self.ids:
            return older
        shapes = list(self._shapes)  # this table's shapes keep their indices
        where: dict[tuple, int] = {}
        for i, s in enumerate(shapes):
            where.setdefault(s, i)
        remap = array("i")
        for s in older._shapes:
            if s not in where:
                where[s] = len(shapes)
                shapes.append(s)
            remap.append(where[s])
        shape = array("i", self._shape)
        if list(remap) == list(range(len(remap))):
            shape.extend(older._shape)
        else:
            shape.extend(remap[i] for i in older._shape)
        created = array("d", self._created)
        created.extend(older._created)
        summaries = dict(self._summaries)
        offset = len(self.ids)
        summaries.update((pos + offset, text) for pos, text in older._summaries.items())
        try:
            ids = older.ids.after(list(self.ids)) if isinstance(older.ids, CommitIds) else [*self.ids, *older.ids]
        except ValueError:
            ids = [*self.ids, *older.ids]
        return CommitVerdictTable(ids, shape, created, shapes, summaries)

    def positions_where(self, test: Callable[[CommitVerdict], bool]) -> list[int]:
        """The positions of the commits ``test`` accepts, asked once per verdict shape:
        ``test`` may read anything of a verdict but its id, time and subject line
        (a report of a million commits lists its untrusted ones without a
        CommitVerdict per commit)."""
        chosen = set()
        for k, (status, trusted, stype, key, signer, reason, vouch) in enumerate(self._shapes):
            if test(CommitVerdict("", status, trusted, SignatureInfo(stype, key), signer, reason, "", vouch)):
                chosen.add(k)
        if not chosen:
            return []
        key = ("positions", frozenset(chosen))
        if key not in self._memo:
            self._memo[key] = [i for i, k in enumerate(self._shape) if k in chosen]
        return list(self._memo[key])

    def listed(self, test: Callable[[CommitVerdict], bool], limit: int) -> tuple[int, list[CommitVerdict]]:
        """(how many commits ``test`` accepts, the first ``limit`` of them): what a report
        that lists some commits needs (``test`` as for :meth:`positions_where`)."""
        positions = self.positions_where(test)
        return len(positions), [self._item(i) for i in positions[:limit]]

    def tally(self) -> list[tuple[tuple[Status, bool], int]]:
        """((status, trusted), count) for each verdict shape present, in the order
        each first occurs: what the report's summary needs, without building
        a CommitVerdict per commit."""
        if "tally" not in self._memo:
            counts = Counter(self._shape)  # insertion order: the order shapes first occur
            self._memo["tally"] = [((self._shapes[s][0], self._shapes[s][1]), n) for s, n in counts.items()]
        return list(self._memo["tally"])

    def untrusted_ids(self) -> list[str]:
        """The commits nothing vouches for yet, in table order."""
        return [self.ids[i] for i in self.positions_where(lambda c: not c.trusted)]

    def vouched(self, vouches: dict[str, Vouch]) -> "CommitVerdictTable":
        """The same verdicts, with these commits (by id) now trusted through these vouches.

        Each changed commit gets a shape of its own (a vouch names its
        commit); every other commit keeps the shape it had.
        """
        if not vouches:
            return self
        shapes = list(self._shapes)
        shape = type(self._shape)(self._shape.typecode, self._shape)
        # Vouches are found for untrusted commits: look there first, everywhere only if one is missing.
        untrusted = self.positions_where(lambda c: not c.trusted)
        found = [(i, vouches[self.ids[i]]) for i in untrusted if self.ids[i] in vouches]
        if len(found) < len(vouches):
            found = [(i, vouches[commit_id]) for i, commit_id in enumerate(self.ids) if commit_id in vouches]
        for i, vouch in found:
            status, _, stype, key, signer, reason, _ = shapes[shape[i]]
            shape[i] = len(shapes)
            shapes.append((status, True, stype, key, signer, reason, vouch))
        return CommitVerdictTable(self.ids, shape, self._created, shapes, self._summaries)

    def reordered(self, ids) -> "CommitVerdictTable":
        """The same verdicts in another order (every id must be present)."""
        where = {commit_id: i for i, commit_id in enumerate(self.ids)}
        order = [where[commit_id] for commit_id in ids]
        shape = type(self._shape)(self._shape.typecode, (self._shape[i] for i in order))
        created = type(self._created)(self._created.typecode, (self._created[i] for i in order))
        summaries = {new: self._summaries[old] for new, old in enumerate(order) if old in self._summaries}
        return CommitVerdictTable(list(ids), shape, created, self._shapes, summaries)


@dataclass(frozen=True, slots=True)
class MergeFinding:
    """A merge commit (or a squash) whose tree is not the clean merge of its parents: what it adds."""

    commit: str
    differing: tuple[str, ...]  # the paths where it differs from that merge (or that conflicted)
    reason: str

    def to_json(self) -> dict:
        return {"commit": self.commit, "clean": False, "differing": list(self.differing), "reason": self.reason}


@dataclass(frozen=True)
class VerifyReport:
    """All verdicts of one ``verify`` run, in history order (newest first)."""

    commits: Sequence[CommitVerdict]  # a tuple, or a CommitVerdictTable for long histories
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # merges found not clean, when the policy had merges checked (None: it did not, and JSON has no "merges")
    merges: tuple[MergeFinding, ...] | None = None
    # the checkpoint verification started from ({"commit", "verifier"}, or None); in the JSON only
    # when the keyring lists verifiers (``checkpointing``)
    checkpoint: dict | None = None
    checkpointing: bool = False

    @property
    def ok(self) -> bool:
        if isinstance(self.commits, CommitVerdictTable):
            return all(trusted for (_, trusted), _n in self.commits.tally())
        return all(c.trusted for c in self.commits)

    def by_status(self) -> dict[str, int]:
        """Commits per status, statuses in the order they first occur."""
        counts: dict[str, int] = {}
        if isinstance(self.commits, CommitVerdictTable):
            for (status, _), n in self.commits.tally():
                counts[status.value] = counts.get(status.value, 0) + n
            return counts
        for c in self.commits:
            counts[c.status.value] = counts.get(c.status.value, 0) + 1
        return counts

    def summary(self) -> dict:
        if isinstance(self.commits, CommitVerdictTable):
            trusted = sum(n for (_, ok), n in self.commits.tally() if ok)
        else:
            trusted = sum(1 for c in self.commits if c.trusted)
        return {"total": len(self.commits), "trusted": trusted, "by_status": self.by_status()}

    def untrusted_ids(self) -> list[str]:
        """The commits nothing vouches for yet, newest first."""
        if isinstance(self.commits, CommitVerdictTable):
            return self.commits.untrusted_ids()
        return [c.id for c in self.commits if not c.trusted]

    def vouched(self, vouches: dict[str, Vouch], warnings: Sequence[str] = (),
                merges: Sequence[MergeFinding] | None = None) -> "VerifyReport":
        """This report with these commits trusted through these vouches, more warnings, and the
        merges found not clean (when merges were checked)."""
        if isinstance(self.commits, CommitVerdictTable):
            commits: Sequence[CommitVerdict] = self.commits.vouched(vouches)
        else:
            commits = tuple(
                replace(c, trusted=True, vouch=vouches[c.id]) if c.id in vouches else c for c in self.commits
            )
        found = self.merges if merges is None else (*(self.merges or ()), *merges)
        return replace(self, commits=commits, warnings=(*self.warnings, *warnings), merges=found)

    def to_json(self) -> dict:
        out = {
            "ok": self.ok,
            "commits": [c.to_json() for c in self.commits],
            "summary": self.summary(),
            "warnings": list(self.warnings),
        }
        if self.merges is not None:
            out["merges"] = [m.to_json() for m in self.merges]
        if self.checkpointing:
            out["checkpoint"] = self.checkpoint
        return out


def as_dict(obj) -> dict:
    return asdict(obj)
