"""Text for the keyring commands: the tables a curator reads (check, show, diff, import).

Kept beside :mod:`commitguard.output.text` rather than in it: the keyring
tables are wide (fingerprints, URLs) and have their own cell rules, and the
report commands' text would otherwise pass 700 lines.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Optional

from rich.console import Console
from rich.table import Table
from rich.text import Text

from commitguard.output.interface import KeyringComparison, KeyringImported, KeyringListing

# Piped output has no terminal width; fingerprints and URLs need room.
PIPED_WIDTH = 200


def _cells(*values: Optional[str]) -> list[Text]:
    """Table cells as plain text: keyring values such as namespaces = [file]
    must not be read as rich markup."""
    return [Text(v or "") for v in values]


def _key_cell(display: Optional[str]) -> Optional[str]:
    """Type above fingerprint, so a fingerprint is never folded mid-way: people
    compare it character by character with what its owner tells them."""
    return display.replace(" ", "\n", 1) if display else display


def _who(scope: str, ident: Optional[str]) -> str:
    if not ident:
        return scope
    return ident if ident.startswith(scope) else f"{scope} {ident}"


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d") if moment else ""


def _table(title, columns: tuple[str, ...], **options) -> Table:
    table = Table(title=title, title_justify="left", **options)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column == "key")
    return table


class KeyringText:
    """The keyring commands' methods of :class:`commitguard.output.text.TextFormatter`."""

    color: bool
    terminal: bool

    def _keyring_console(self, buffer: io.StringIO) -> Console:
        return Console(file=buffer, force_terminal=self.color, no_color=not self.color,
                       width=None if self.terminal else PIPED_WIDTH, highlight=False, emoji=False)

    def keyring_check(self, result) -> str:
        buffer = io.StringIO()
        out = self._keyring_console(buffer)
        if result.findings:
            table = _table(f"{len(result.findings)} finding(s)", ("severity", "code", "who", "key", "field", "message"))
            for f in result.findings:
                style = "red" if f.severity == "error" else "yellow"
                cells = _cells(f.severity, f.code, _who(f.scope, f.id), _key_cell(f.key), f.where, f.message)
                table.add_row(*cells, style=style)
            out.print(table)
        errors, warnings = len(result.errors), len(result.warnings)
        if result.ok:
            tail = f" ({warnings} warning(s))" if warnings else ""
            out.print(f"result: keyring OK{tail}", style="bold green")
        else:
            out.print(f"result: {errors} error(s), {warnings} warning(s)", style="bold red")
        return buffer.getvalue()

    def keyring_show(self, listing: KeyringListing) -> str:
        buffer = io.StringIO()
        out = self._keyring_console(buffer)
        table = _table("keyring", ("person", "key", "validity", "status", "namespaces", "source"), show_lines=True)
        for row in listing.rows:
            _holder_rows(table, row)
        out.print(table)
        from commitguard.keyring.show import accept_summary  # not for verify's text: 15 ms of its start-up

        accept = accept_summary(listing.policy)
        if accept:
            out.print(accept, markup=False)
        return buffer.getvalue()

    def keyring_diff(self, comparison: KeyringComparison) -> str:
        result, old, new = comparison.result, comparison.old, comparison.new
        buffer = io.StringIO()
        out = self._keyring_console(buffer)
        if not result.changes:
            out.print(f"no changes between {old} and {new}", markup=False)
            return buffer.getvalue()
        table = _table(Text(f"{old} -> {new}: {len(result.changes)} change(s)"), ("", "change", "who", "key", "detail"))
        for c in result.changes:
            table.add_row(*_cells("!" if c.loosens else "", c.code, _who(c.scope, c.id), _key_cell(c.key), c.message),
                          style="red" if c.loosens else None)
        out.print(table)
        loosening = sum(c.loosens for c in result.changes)
        if loosening:
            out.print(f"{loosening} change(s) marked ! loosen trust: verify them out of band", style="bold red")
        else:
            out.print("nothing loosens trust", style="bold green")
        return buffer.getvalue()

    def keyring_import(self, imported: KeyringImported) -> str:
        report = imported.report
        buffer = io.StringIO()
        out = self._keyring_console(buffer)
        out.print(f"{'created' if report.created else 'updated'} keyring {imported.keyring} from {imported.source}",
                  markup=False)
        for line in report.changes:
            out.print(f"  {line}", markup=False)
        if not report.changes:
            out.print("  nothing to change", markup=False)
        for note in report.notes:
            out.print(f"note: {note}", style="yellow", markup=False)
        return buffer.getvalue()


def _holder_rows(table: Table, row) -> None:
    """One person's or forge's rows: who they are beside their first key, a row per key."""
    who = [row.id if row.kind == "person" else f"{row.id} (forge)"]
    if row.name:
        who.append(row.name)
    if row.github:
        who.append(f"github: {row.github}")
    if row.roles:
        who.append(f"roles: {', '.join(row.roles)}")
    first = ["\n".join(who)]
    pins = "\n".join(f"pin (no certificate)\n{p}" for p in row.pins)
    for i, key in enumerate(list(row.keys) or [None]):
        head = first if i == 0 else [""]
        if key is None:
            table.add_row(*_cells(*head, pins or "no key", "", "unusable", "", ""), style="red")
            continue
        text = f"{key.type}\n{key.fingerprint}"
        validity = []
        if key.valid_after or key.valid_before:
            validity.append(f"{_when(key.valid_after) or '…'} .. {_when(key.valid_before) or '…'}")
        for s in key.signing_keys or ():
            text += f"\nsign {s.fingerprint}"
            if s.expires:
                validity.append(f"{s.fingerprint[-8:]} expires {_when(s.expires)}")
        status = "revoked" if key.revoked or key.revoked_in_certificate else "usable" if key.usable else "unusable"
        namespaces = "any" if key.namespaces is None else "\n".join(key.namespaces)
        source = "\n".join(filter(None, [key.source, key.obtained and f"obtained {_when(key.obtained)}"]))
        table.add_row(*_cells(*head, text, "\n".join(validity), status, namespaces, source),
                      style=None if key.usable else "yellow")
    if row.keys and row.pins:
        table.add_row(*_cells("", pins, "", "unusable", "", ""), style="red")
