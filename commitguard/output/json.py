"""JSON: the stable, scriptable form (SPEC lists the keys scripts rely on)."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone

from commitguard.model.verdicts import CommitVerdict, CommitVerdictTable, SignatureInfo, VerifyReport, utc_iso
from commitguard.output.interface import Formatter, KeyringComparison, KeyringImported, KeyringListing


_PIECE = 2048  # commits per write


class _CommitEncoder:
    """``dumps(commit.to_json())``, three times faster.

    Thousands of commits share a key, signer and reason, so the text around
    the two fields that differ per commit (id and signature time) is encoded
    once per distinct verdict and reused. The output is byte for byte that of
    ``to_json`` (tests/cli/test_output_stream.py holds it to that).
    """

    def __init__(self, dumps):
        self._dumps = dumps
        self._around: dict[tuple, tuple[str, str]] = {}

    def around(self, c) -> tuple[str, str]:
        """The text before and after the signature time, for a verdict of ``c``'s shape."""
        sig = c.signature
        shape = (c.status, c.trusted, sig.type, sig.key, c.signer, c.reason, c.vouch)
        around = self._around.get(shape)
        if around is None:
            d = self._dumps
            around = (
                ',"status":%s,"trusted":%s,"signature":{"type":%s,"key":%s,"created":'
                % (d(c.status.value), d(c.trusted), d(sig.type.value if sig.type else None), d(sig.key)),
                '},"signer":%s,"reason":%s,"vouch":%s}'
                % (d(c.signer), d(c.reason), d(c.vouch.to_json() if c.vouch is not None else None)),
            )
            if len(self._around) < 65_536:
                self._around[shape] = around
        return around

    def encode(self, c: CommitVerdict) -> str:
        around = self.around(c)
        return '{"id":' + self._dumps(c.id) + around[0] + self._dumps(utc_iso(c.signature.created)) + around[1]


def _write_table(table: CommitVerdictTable, dumps, stream) -> None:
    """The commits of a column table, in :class:`_CommitEncoder`'s bytes, read from the
    columns: no CommitVerdict, datetime or dict per commit (a warm ``verify`` of
    100,000 commits is mostly this; comprehensions over the columns run three
    times faster than one loop doing it all)."""
    ids, shape, created, shapes, _ = table.columns()
    encoder = _CommitEncoder(dumps)
    before, after = zip(*(encoder.around(_Shape(*s)) for s in shapes)) if shapes else ((), ())
    every = list(ids)
    hexadecimal = not "".join(every).encode("utf-8", "replace").translate(None, b"0123456789abcdef")
    row = '{"id":"%s"%s%s%s' if hexadecimal else '{"id":%s%s%s%s'  # git ids need no escapes
    if not hexadecimal:
        every = list(map(dumps, every))
    times = _iso_times(created, dumps)
    for start in range(0, len(every), _PIECE):
        stop = start + _PIECE
        piece = ",".join([
            row % (i, before[k], w, after[k])
            for i, k, w in zip(every[start:stop], shape[start:stop], times[start:stop])
        ])
        stream.write(piece if start == 0 else "," + piece)


def _iso_times(created, dumps) -> list[str]:
    """``dumps(utc_iso(t))`` for each epoch second count (NaN: null); the date is made
    once per day, hours, minutes and seconds looked up (two comprehensions, no call per time)."""
    days: dict[int, str] = {}
    hours = ["%02d:" % h for h in range(24)]
    minutes = ['%02d:%02dZ"' % divmod(s, 60) for s in range(3600)]

    def day_text(day: int) -> str:
        text = days[day] = dumps(utc_iso(datetime.fromtimestamp(day * 86400, timezone.utc)))[:12]
        return text

    seconds = [math.floor(t) if t == t else None for t in created]  # NaN != NaN: no signature time
    return ["null" if s is None else
            (days.get(s // 86400) or day_text(s // 86400)) + hours[s % 86400 // 3600] + minutes[s % 3600]
            for s in seconds]  # fmt: skip


class _Shape:
    """A verdict shape read as the attributes :meth:`_CommitEncoder.around` uses."""

    __slots__ = ("status", "trusted", "signature", "signer", "reason", "vouch")

    def __init__(self, status, trusted, stype, key, signer, reason, vouch):
        self.status, self.trusted, self.signer, self.reason, self.vouch = status, trusted, signer, reason, vouch
        self.signature = SignatureInfo(stype, key)


class JsonFormatter(Formatter):
    name = "json"

    def verify(self, report: VerifyReport) -> str:
        # No indent: the C encoder is ten times faster on 100,000 commits.
        return _compact(report.to_json())

    def write_verify(self, report: VerifyReport, stream) -> None:
        """The same bytes as :meth:`verify`, written in pieces: a million commits
        as one dict and one string would take more memory than the verdicts."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        commits = report.commits
        if isinstance(commits, CommitVerdictTable):
            commits.columns()  # a stored table is read (and may fail) before anything is written
        stream.write('{"ok":%s,"commits":[' % dumps(report.ok))
        if isinstance(commits, CommitVerdictTable):
            _write_table(commits, dumps, stream)
        else:
            encode = _CommitEncoder(dumps).encode
            for start in range(0, len(commits), _PIECE):
                piece = ",".join(map(encode, commits[start : start + _PIECE]))
                stream.write(piece if start == 0 else "," + piece)
        stream.write('],"summary":%s,"warnings":%s' % (dumps(report.summary()), dumps(list(report.warnings))))
        if report.merges is not None:
            stream.write(',"merges":%s' % dumps([m.to_json() for m in report.merges]))
        if report.checkpointing:
            stream.write(',"checkpoint":%s' % dumps(report.checkpoint))
        stream.write("}\n")

    def write_annotate(self, report, stream) -> None:
        """The same bytes as :meth:`annotate`, a package at a time: at 100,000
        packages the whole report as dicts and one string took a gigabyte."""
        dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
        head = report.to_json(packages=False)
        stream.write("{")
        for n, (key, value) in enumerate(head.items()):
            stream.write(("," if n else "") + dumps(key) + ":")
            if key != "packages":
                stream.write(dumps(value))
                continue
            stream.write("[")
            for i, package in enumerate(report.packages):
                stream.write(("," if i else "") + dumps(package.to_json()))
            stream.write("]")
        stream.write("}\n")

    def check_pr(self, report) -> str:
        return _compact(report.to_json())

    def sources(self, report) -> str:
        return _compact(report.to_json())

    def audit_bump(self, report) -> str:
        return _compact(report.to_json())

    def annotate(self, report) -> str:
        return _compact(report.to_json())

    def annotate_closure(self, report) -> str:
        return _compact(report.to_json())

    def pin(self, report) -> str:
        return _indented(report.to_json())

    def keyring_check(self, result) -> str:
        return _indented(result.to_json())

    def keyring_show(self, listing: KeyringListing) -> str:
        policy = listing.policy
        return _indented({
            "persons": [r.to_json() for r in listing.rows if r.kind == "person"],
            "forges": [r.to_json() for r in listing.rows if r.kind == "forge"],
            "policy": {"trust_root": policy.trust_root, "forge": policy.forge,
                       "openpgp_sha1": policy.openpgp_sha1, "openpgp_expiry": policy.openpgp_expiry,
                       "accept": list(policy.accept), "reviews": policy.reviews},
        })

    def keyring_diff(self, comparison: KeyringComparison) -> str:
        return _indented(comparison.result.to_json())

    def keyring_import(self, imported: KeyringImported) -> str:
        report = imported.report
        return _indented({"ok": True, "keyring": imported.keyring, "created": report.created,
                          "changes": list(report.changes), "notes": list(report.notes)})


def _compact(data) -> str:
    """One line, no spaces: the report commands (scripts parse them; the C encoder is fast)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def _indented(data) -> str:
    """Indented: what people also read (pin's lock report, keyring commands)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
