"""The text report prints commit subjects and reasons as written."""

from __future__ import annotations

import pytest

from commitguard.model.verdicts import CommitVerdict, SignatureInfo, Status, VerifyReport
from commitguard.output.text import TextFormatter


def _untrusted(n: int, subject: str) -> CommitVerdict:
    return CommitVerdict(str(n) * 40, Status.UNSIGNED, False, SignatureInfo(None), None, "commit is not signed", subject)


@pytest.mark.parametrize("color", [False, True])
def test_emoji_codes_in_subjects_stay_text(color: bool) -> None:
    """rich would turn ":bug:" into a picture: a subject is evidence, printed as the commit has it."""
    report = VerifyReport(commits=(_untrusted(1, ":bug: fix :rocket: launch"), _untrusted(2, "plain")))
    out = TextFormatter(color=color).verify(report)
    assert ":bug: fix :rocket: launch" in out
    assert "\N{BUG}" not in out and "\N{ROCKET}" not in out
    assert out.index("1" * 12) < out.index("2" * 12)
