"""Text for people: a summary table, then every untrusted commit and why."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from commitguard.model import Status, VerifyReport

_STYLE = {
    Status.TRUSTED: "green",
    Status.FORGE: "cyan",
    Status.UNSIGNED: "yellow",
}
MAX_LISTED = 200


class TextFormatter:
    name = "text"

    def __init__(self, *, color: bool = False, width: int = 120):
        self.color = color
        self.width = width

    def _console(self, buffer: io.StringIO) -> Console:
        return Console(file=buffer, force_terminal=self.color, no_color=not self.color, width=self.width, highlight=False)

    def verify(self, report: VerifyReport) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow")
        counts = report.by_status()
        table = Table(title=f"{len(report.commits)} commits checked", title_justify="left")
        table.add_column("status")
        table.add_column("commits", justify="right")
        table.add_column("trusted")
        for status in Status:
            if status.value in counts:
                trusted = {c.trusted for c in report.commits if c.status is status}
                label = "yes" if trusted == {True} else "no" if trusted == {False} else "mixed"
                table.add_row(status.value, str(counts[status.value]), label, style=_STYLE.get(status, "red"))
        out.print(table)
        untrusted = [c for c in report.commits if not c.trusted]
        if untrusted:
            out.print(f"\n{len(untrusted)} untrusted commit(s):", style="bold red")
            for c in untrusted[:MAX_LISTED]:
                out.print(f"  {c.id[:12]}  {c.status.value:<14} {c.summary}", style=_STYLE.get(c.status, "red"), markup=False)
                out.print(f"                {c.reason}", markup=False)
            if len(untrusted) > MAX_LISTED:
                out.print(f"  ... and {len(untrusted) - MAX_LISTED} more (use --format json for all)")
            out.print("\nresult: NOT TRUSTED", style="bold red")
        else:
            out.print("\nresult: all commits trusted", style="bold green")
        return buffer.getvalue()
