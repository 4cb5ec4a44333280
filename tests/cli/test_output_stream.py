"""``verify --format json`` is written in pieces; the bytes must be those of one ``json.dumps``."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

from commitguard.model.verdicts import CommitVerdict, SignatureInfo, SignatureType, Status, VerifyReport, Vouch
from commitguard.output.json import JsonFormatter


def _report(n: int) -> VerifyReport:
    commits = []
    for i in range(n):
        status = [Status.TRUSTED, Status.UNSIGNED, Status.BAD_SIGNATURE, Status.FORGE][i % 4]
        reason = f"reason with \"quotes\", a tab\t and ünïcode {i % 3}"
        vouch = None
        if status is Status.TRUSTED:
            vouch = Vouch("signature", ("zoë",), reason)
        elif status is Status.UNSIGNED and i % 3 == 0:  # an audited commit: a vouch naming its commit
            vouch = Vouch("audit", ("bob", "ünï"), f"audited by bob, ünï (signed approvals of {i:012x} ...)")
        commits.append(CommitVerdict(
            id=f"{i:040x}",
            status=status,
            trusted=vouch is not None,
            signature=SignatureInfo(None) if i % 5 == 0 else SignatureInfo(
                SignatureType.SSH if i % 2 else SignatureType.OPENPGP, f"KEY{i % 7}",
                datetime.fromtimestamp(1_700_000_000 + i, timezone.utc)),
            signer="zoë" if status is Status.TRUSTED else None,
            reason=reason,
            vouch=vouch,
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
        s = (c.status, c.trusted, c.signature.type, c.signature.key, c.signer, c.reason, c.vouch)
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


def test_vouched_report_keeps_the_table_and_the_bytes():
    """Vouches added after verification (audits) read back alike from a table and from a tuple."""
    report = _report(40)
    table = _as_table(report)
    assert table.untrusted_ids() == report.untrusted_ids()
    audit = Vouch("audit", ("bob",), "audited by bob")
    chosen = {commit_id: audit for commit_id in report.untrusted_ids()[:3]}
    after, after_table = report.vouched(chosen, ("w",)), table.vouched(chosen, ("w",))
    assert list(after_table.commits) == list(after.commits)
    assert after.warnings == after_table.warnings == ("one warning", "w")
    assert [c.vouch for c in after.commits if c.id in chosen] == [audit] * 3
    assert all(c.trusted for c in after.commits if c.id in chosen)
    assert after_table.summary() == after.summary()
    fmt = JsonFormatter()
    out = io.StringIO()
    fmt.write_verify(after_table, out)
    assert out.getvalue() == fmt.verify(after)
    data = json.loads(out.getvalue())
    assert all(list(c)[-1] == "vouch" for c in data["commits"])
    assert data["commits"][0]["vouch"] == {"kind": "signature", "by": ["zoë"], "reason": report.commits[0].reason}
