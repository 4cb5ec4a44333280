"""Text for people: a summary table, then every untrusted commit and why."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from commitguard.model.verdicts import CommitVerdictTable, Status, VerifyReport
from commitguard.output.interface import Formatter, vouched_by
from commitguard.output.text_keyring import KeyringText

_STYLE = {
    Status.TRUSTED: "green",
    Status.FORGE: "cyan",
    Status.UNSIGNED: "yellow",
}
MAX_LISTED = 200


def _print_lines(out: Console, lines: list[tuple[str, str | None]]) -> None:
    """Print (text, style) lines, consecutive lines of one style in one call: the same
    bytes as a call per line (each line is still wrapped on its own), a tenth of the
    time for the 400 lines of a long untrusted listing."""
    plain = out.color_system is None  # no escape codes at all: styles change nothing
    group: list[str] = []
    style = None
    for text, line_style in lines:
        if plain:
            line_style = None
        if group and line_style != style:
            out.print("\n".join(group), style=style, markup=False)
            group = []
        group.append(text)
        style = line_style
    if group:
        out.print("\n".join(group), style=style, markup=False)


def _commit_lines(out: Console, commits, style_of) -> None:
    """Two lines per commit: id, status and subject; then why."""
    lines: list[tuple[str, str | None]] = []
    for c in commits:
        lines.append((f"  {c.id[:12]}  {c.status.value:<14} {c.summary}", style_of(c)))
        lines.append((f"                {c.reason}", None))
    _print_lines(out, lines)


def _listed(commits, test) -> tuple[int, list]:
    """(how many commits ``test`` accepts, the first MAX_LISTED of them); ``test`` reads
    nothing of a commit but its verdict (a column table asks it once per verdict shape)."""
    if isinstance(commits, CommitVerdictTable):
        return commits.listed(test, MAX_LISTED)
    chosen = [c for c in commits if test(c)]
    return len(chosen), chosen[:MAX_LISTED]


def _vouched_lines(out: Console, commits) -> None:
    """The trusted commits that something other than their own signature vouched for, and what did."""
    count, vouched = _listed(commits, lambda c: c.trusted and bool(vouched_by(c.vouch)))
    if not count:
        return
    out.print(f"\n{count} commit(s) trusted without their own signature:", style="bold cyan")
    lines: list[tuple[str, str | None]] = []
    for c in vouched:
        lines.append((f"  {c.id[:12]}  {c.status.value:<14} {c.summary}", "cyan"))
        lines.append((f"                vouched by {vouched_by(c.vouch)}: {c.vouch.reason}", None))
    _print_lines(out, lines)
    if count > MAX_LISTED:
        out.print(f"  ... and {count - MAX_LISTED} more (use --format json for all)")


def _result(out: Console, ok: bool, good: str, bad: str) -> None:
    """The last line of a report: its verdict, in green or red."""
    out.print(f"\nresult: {good if ok else bad}", style="bold green" if ok else "bold red")


class TextFormatter(KeyringText, Formatter):
    name = "text"

    def __init__(self, *, color: bool = False, width: int = 120, terminal: bool = False):
        self.color = color
        self.width = width
        self.terminal = terminal

    def _console(self, buffer: io.StringIO) -> Console:
        # emoji=False: a commit subject ":bug: fix" is printed as written, not as a picture
        return Console(file=buffer, force_terminal=self.color, no_color=not self.color, width=self.width, highlight=False,
                       emoji=False)

    def verify(self, report: VerifyReport) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        counts = report.by_status()
        trusted_flags: dict[Status, set[bool]] = {}
        if isinstance(report.commits, CommitVerdictTable):
            for (status, trusted), _n in report.commits.tally():
                trusted_flags.setdefault(status, set()).add(trusted)
        else:
            for c in report.commits:
                trusted_flags.setdefault(c.status, set()).add(c.trusted)
        table = Table(title=f"{len(report.commits)} commits checked", title_justify="left")
        table.add_column("status")
        table.add_column("commits", justify="right")
        table.add_column("trusted")
        for status in Status:
            if status.value in counts:
                trusted = trusted_flags.get(status, set())
                label = "yes" if trusted == {True} else "no" if trusted == {False} else "mixed"
                table.add_row(status.value, str(counts[status.value]), label, style=_STYLE.get(status, "red"))
        out.print(table)
        count, untrusted = _listed(report.commits, lambda c: not c.trusted)
        if count:
            out.print(f"\n{count} untrusted commit(s):", style="bold red")
            _commit_lines(out, untrusted, lambda c: _STYLE.get(c.status, "red"))
            if count > MAX_LISTED:
                out.print(f"  ... and {count - MAX_LISTED} more (use --format json for all)")
        _vouched_lines(out, report.commits)
        _result(out, not count, "all commits trusted", "NOT TRUSTED")
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
        _commit_lines(out, untrusted, lambda c: "red")
        _vouched_lines(out, report.commits)
        table = Table(title="review rules", title_justify="left")
        for column in ("paths", "files", "required", "approved by", "missing", "stale", "may approve"):
            table.add_column(column)
        for r in report.rules:
            table.add_row(
                ", ".join(r.paths) + (f" ({r.package})" if r.package else ""), str(len(r.files)), str(r.required),
                ", ".join(r.approved_by) or "-",
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
        _result(out, report.ok, "OK to merge", "NOT OK")
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

    def audit_bump(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        head = f"change {report.merge_base[:12]}..{report.head[:12]}"
        if report.pull_request is not None:
            head = f"pull request #{report.pull_request} ({head})"
        out.print(head, style="bold", markup=False)
        if report.title:
            out.print(f"title: {report.title}", markup=False)
        if report.bot is not None:
            out.print(f"bot: {report.bot.name} ({report.bot.reason})", style="cyan", markup=False)
        table = Table(title=f"{len(report.packages)} package expressions", title_justify="left")
        for column in ("package", "version", "kind", "changes", "upstream old -> new", "findings"):
            table.add_column(column, overflow="fold")
        for p in report.packages:
            upstream = "-"
            if p.upstream_old is not None or p.upstream_new is not None:
                upstream = (f"{p.upstream_old.status if p.upstream_old else '-'} -> "
                            f"{p.upstream_new.status if p.upstream_new else '-'}")
                if p.same_signer is not None:
                    upstream += " (same signer)" if p.same_signer else " (signer changed)"
            failing = report.fail_on.hits(p, p.findings)
            style = "red" if failing else ("yellow" if p.findings or p.kind != "version-bump" else "green")
            table.add_row(
                p.name or p.path, f"{p.old_version or '-'} -> {p.new_version or '-'}", p.kind,
                ", ".join(p.changes) or "-", upstream, ", ".join(sorted({f.code for f in p.findings})) or "-",
                style=style,
            )
        out.print(table)
        for f in report.findings:
            out.print(f"  {f.severity:<6} {f.code}: {f.message}", style="red" if f.severity == "high" else "yellow",
                      markup=False)
        for p in report.packages:
            if not p.findings and not p.notes:
                continue
            out.print(f"\n{p.path}: {p.kind}", style="bold", markup=False)
            for f in p.findings:
                out.print(f"  {f.severity:<6} {f.code}: {f.message}",
                          style="red" if f.severity == "high" else "yellow", markup=False)
            for name in p.changes:
                if name in p.details and name != "version":
                    out.print(f"    {name}: {p.details[name]}", markup=False)
            for note in p.notes[:MAX_LISTED]:
                out.print(f"  note: {note}", style="dim", markup=False)
        if report.ok:
            out.print("\nresult: OK" + (" (findings below the --fail-on threshold)" if any(
                p.findings for p in report.packages) or report.findings else ""), style="bold green")
        else:
            out.print("\nresult: NEEDS REVIEW (a finding matches --fail-on)", style="bold red")
        return buffer.getvalue()

    def annotate(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        root = report.trust_root[:12] if report.trust_root else "the first commit"
        out.print(f"chains at {report.rev[:12]}, history since {root} ({report.commits} commits)", style="bold",
                  markup=False)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        for p in report.packages:
            package = p.sources.package
            label = f"{package.name or '?'} {package.version or ''}".strip()
            verdict = "TRUSTED" if p.trusted else "NOT TRUSTED"
            out.print(f"\n{label}  {package.path}  {verdict}", style="bold green" if p.trusted else "bold red",
                      markup=False)
            for link in p.links:
                out.print("  " + self._chain_line(link), style="green" if link.trusted else "red", markup=False)
                if not link.trusted and link.reason:
                    out.print(f"      {link.reason}", markup=False)
            for note in p.notes[:MAX_LISTED]:
                out.print(f"  note: {note}", style="dim", markup=False)
        trusted = sum(1 for p in report.packages if p.trusted)
        out.print(f"\n{trusted} of {len(report.packages)} packages trusted",
                  style="bold green" if report.ok else "bold red")
        return buffer.getvalue()

    def annotate_closure(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        summary = report.summary()
        root = report.trust_root[:12] if report.trust_root else "the first commit"
        out.print(f"{report.closure.kind} {report.closure.source}: {summary['total']} derivations, judged at "
                  f"{report.rev[:12]} (history since {root})", style="bold", markup=False)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        for r in report.results:
            d = r.derivation
            how = f"by {r.match.kind}" if r.match.kind else "unmatched"
            verdict = "TRUSTED" if r.trusted else "NOT TRUSTED"
            out.print(f"\n{d.name}  {how}  {r.match.package or '-'}  {verdict}",
                      style="bold green" if r.trusted else "bold red", markup=False)
            out.print(f"  {d.key}", style="dim", markup=False)
            out.print(f"  match: {r.match.detail}", markup=False)
            if r.package is not None:
                for link in r.package.links:
                    out.print("  " + self._chain_line(link), style="green" if link.trusted else "red", markup=False)
            if not r.trusted and r.reason and r.match.kind:
                out.print(f"  why: {r.reason}", markup=False)
        if summary["weakest_links"]:
            out.print("\nweakest links:", style="bold", markup=False)
            for link in summary["weakest_links"][:MAX_LISTED]:
                parts = [link["link"], (link.get("commit") or "")[:12], link.get("signer") or "",
                         link.get("status") or "", ", ".join(link.get("packages") or [])]
                out.print(f"  {' '.join(p for p in parts if p)}: {link['derivations']} derivation(s): {link['reason']}",
                          markup=False)
        by = summary["trusted_by_match"]
        out.print(f"\n{summary['trusted']} of {summary['total']} derivations trusted (by hash {by['hash']}, by name "
                  f"{by['name']}); {summary['unmatched']} unmatched", style="bold green" if report.ok else "bold red",
                  markup=False)
        return buffer.getvalue()

    def pin(self, report) -> str:
        buffer = io.StringIO()
        out = self._console(buffer)
        tip = f" (tip {report.tip[:12]})" if report.tip else ""
        if report.mode == "check":
            title = f"lock {report.lock}: {report.rev} on {report.branch}{tip}"
        elif report.rev:
            title = f"pinned {report.rev} on {report.branch}{tip}"
        else:
            title = f"nothing to pin on {report.branch}{tip}"
        out.print(title, style="bold", markup=False)
        for error in report.errors:
            out.print(f"error: {error}", style="bold red", markup=False)
        table = Table(title=f"{len(report.packages)} package(s)", title_justify="left")
        for column in ("package", "path", "last change", "trusted", "chain"):
            table.add_column(column, overflow="fold")
        for name, p in report.packages.items():
            chain = (p.chain_digest or "-")[:19]
            if p.chain_changed:
                chain += " (changed)"
            table.add_row(name, p.path or "-", (p.last_change or "-")[:12], "yes" if p.trusted else "no", chain,
                          style="green" if p.trusted else "red")
        out.print(table)
        for name, p in report.packages.items():
            if p.reason:
                out.print(f"  {name}: {p.reason}", markup=False)
        for warning in report.warnings:
            out.print(f"warning: {warning}", style="yellow", markup=False)
        if report.written:
            out.print(f"\nlock written to {report.lock}", style="bold green", markup=False)
        elif report.mode == "check":
            _result(out, report.ok, "lock holds", "LOCK DOES NOT HOLD")
        else:
            out.print("\nresult: no revision is fully trusted; no lock written", style="bold red")
        return buffer.getvalue()

    @staticmethod
    def _chain_line(link) -> str:
        if link.role == "upstream":
            return f"{'upstream':<9} {'':<12}  {link.signer or '-':<14} {link.status}"
        detail = link.status or link.kind or ""
        if link.role == "approval":
            detail = f"{link.kind} (base {link.base[:12]})" if link.base else link.kind
        if link.audited_by:
            detail += f", audited by {', '.join(link.audited_by)}"
        if link.role == "merge" and link.merged:
            detail += f", brought in {len(link.merged)} commit(s)"
        subject = f"  {link.summary}" if link.summary else ""
        return f"{link.role:<9} {link.commit[:12]:<12}  {link.signer or '-':<14} {detail}{subject}"
