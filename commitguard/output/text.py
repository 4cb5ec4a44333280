"""Text for people: a summary table, then every untrusted commit and why."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from commitguard.model import Status, VerifyReport
from commitguard.output.interface import Formatter

_STYLE = {
    Status.TRUSTED: "green",
    Status.FORGE: "cyan",
    Status.UNSIGNED: "yellow",
}
MAX_LISTED = 200


class TextFormatter(Formatter):
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

    def check_pr(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        pr = report.pull_request
        title = f"pull request #{pr.number}" if pr.number is not None else "change"
        out.print(f"{title} {pr.base[:12]}..{pr.head[:12]} in {pr.repository}", style="bold", markup=False)
        out.print(f"keyring: {report.keyring_source}", markup=False)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        untrusted = [c for c in report.commits if not c.trusted]
        out.print(
            f"\ncommits: {len(report.commits)} checked, {len(report.commits) - len(untrusted)} trusted",
            style="green" if not untrusted else "red",
        )
        for c in untrusted:
            out.print(f"  {c.id[:12]}  {c.status.value:<14} {c.summary}", style="red", markup=False)
            out.print(f"                {c.reason}", markup=False)
        table = Table(title="review rules", title_justify="left")
        for column in ("paths", "files", "required", "approved by", "missing", "stale", "may approve"):
            table.add_column(column)
        for r in report.rules:
            table.add_row(
                ", ".join(r.paths), str(len(r.files)), str(r.required), ", ".join(r.approved_by) or "-",
                str(r.missing), ", ".join(r.stale) or "-", ", ".join(r.eligible) or "nobody",
                style="green" if r.ok else "red",
            )
        out.print(table)
        for r in report.rules:
            for note in r.unresolved:
                out.print(f"  note: {note}", style="yellow", markup=False)
        if report.uncovered:
            out.print(f"{len(report.uncovered)} changed file(s) covered by no rule:", style="red")
            for path in report.uncovered[:MAX_LISTED]:
                out.print(f"  {path}", markup=False)
        rejected = [a for a in report.approvals if a.status.value != "valid"]
        if rejected:
            out.print("approvals that do not count:", style="yellow")
            for a in rejected:
                who = a.person or a.key or "?"
                out.print(f"  {a.status.value:<8} {who}: {a.reason} [{a.origin}]", markup=False)
        if report.ok:
            out.print("\nresult: OK to merge", style="bold green")
        else:
            out.print("\nresult: NOT OK", style="bold red")
        return buffer.getvalue()

    def sources(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        table = Table(title=f"{len(report.packages)} package expressions", title_justify="left")
        for column in ("package", "version", "source", "hash", "upstream", "signer"):
            table.add_column(column, overflow="fold")
        for p in report.packages:
            main = p.package.sources[0] if p.package.sources else None
            where = "-"
            if main is not None:
                where = main.url or main.fetcher
                if main.tag or main.rev:
                    where += f" @ {main.tag or main.rev}"
                if not main.resolved:
                    where = f"{main.fetcher}: unresolved {', '.join(main.unresolved)}"
            table.add_row(
                p.package.name or p.package.path, p.package.version or "-", where,
                (main.hash or "-") if main else "-", p.upstream.status, p.upstream.signer or "-",
                style="green" if p.trusted else ("yellow" if p.upstream.status in ("unsigned", "unavailable") else "red"),
            )
        out.print(table)
        for p in report.packages:
            if not p.trusted:
                out.print(f"  {p.package.path}: {p.upstream.status}: {p.upstream.reason}", markup=False)
        resolved, total = report.resolution()
        out.print(f"\nfetcher calls resolved statically: {resolved}/{total}")
        return buffer.getvalue()
