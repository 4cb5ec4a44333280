"""``verify --format json`` is written in pieces; the bytes must be those of one ``json.dumps``."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

from commitguard.model.verdicts import CommitVerdict, SignatureInfo, SignatureType, Status, VerifyReport
from commitguard.output.json import JsonFormatter


def _report(n: int) -> VerifyReport:
    commits = []
    for i in range(n):
        status = [Status.TRUSTED, Status.UNSIGNED, Status.BAD_SIGNATURE, Status.FORGE][i % 4]
        commits.append(CommitVerdict(
            id=f"{i:040x}",
            status=status,
            trusted=status is Status.TRUSTED,
            signature=SignatureInfo(None) if i % 5 == 0 else SignatureInfo(
                SignatureType.SSH if i % 2 else SignatureType.OPENPGP, f"KEY{i % 7}",
                datetime.fromtimestamp(1_700_000_000 + i, timezone.utc)),
            signer="zoë" if status is Status.TRUSTED else None,
            reason=f"reason with \"quotes\", a tab\t and ünïcode {i % 3}",
        ))
    return VerifyReport(commits=tuple(commits), warnings=("one warning",))


def test_streamed_json_is_byte_identical():
    fmt = JsonFormatter()
    for n in (0, 1, 2047, 2048, 2049, 5000):
        report = _report(n)
        out = io.StringIO()
        fmt.write_verify(report, out)
        assert out.getvalue() == fmt.verify(report), n
        data = json.loads(out.getvalue())
        assert data["summary"]["total"] == n
        assert [c["id"] for c in data["commits"]] == [c.id for c in report.commits]


def _as_table(report: VerifyReport) -> VerifyReport:
    """The same verdicts as a column table, built the way verify builds it."""
    from array import array

    from commitguard.model.verdicts import NO_TIME, CommitVerdictTable

    shapes: list[tuple] = []
    index: dict[tuple, int] = {}
    shape, created, summaries = array("i"), array("d"), {}
    for pos, c in enumerate(report.commits):
        s = (c.status, c.trusted, c.signature.type, c.signature.key, c.signer, c.reason)
        shape.append(index.setdefault(s, len(shapes)))
        if len(shapes) < len(index):
            shapes.append(s)
        created.append(c.signature.created.timestamp() if c.signature.created else NO_TIME)
        if c.summary:
            summaries[pos] = c.summary
    table = CommitVerdictTable([c.id for c in report.commits], shape, created, shapes, summaries)
    return VerifyReport(commits=table, warnings=report.warnings)


def test_column_table_reads_back_the_same_report():
    fmt = JsonFormatter()
    for n in (0, 1, 9, 5000):
        report = _report(n)
        table = _as_table(report)
        assert list(table.commits) == list(report.commits)
        assert table.ok == report.ok and table.by_status() == report.by_status()
        assert table.summary() == report.summary()
        out = io.StringIO()
        fmt.write_verify(table, out)
        assert out.getvalue() == fmt.verify(report), n
        if n:
            assert table.commits[-1] == report.commits[-1] and table.commits[1:3] == report.commits[1:3]
            reordered = table.commits.reordered([c.id for c in reversed(report.commits)])
            assert list(reordered) == list(reversed(report.commits))
