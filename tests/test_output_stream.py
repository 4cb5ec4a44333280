"""``verify --format json`` is written in pieces; the bytes must be those of one ``json.dumps``."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone

from commitguard.model import CommitVerdict, SignatureInfo, SignatureType, Status, VerifyReport
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
