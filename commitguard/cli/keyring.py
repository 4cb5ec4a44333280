"""``commitguard keyring``: curate keyrings. Parsing and printing only; the
work is in :mod:`commitguard.keyring.check`, ``.show``, ``.diff``, ``.revision``
and the importers."""

from __future__ import annotations

import io
import json
import os
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from commitguard.cli.options import CONTEXT, Command, Group, examples, format_option
from commitguard.git.revisions import open_repository
from commitguard.keyring import choose_keyring_dir, load_keyring

if TYPE_CHECKING:
    from commitguard.keyring.check import CheckResult
    from commitguard.keyring.diff import DiffResult
    from commitguard.keyring.show import HolderRow

# commitguard.keyring.check/show/diff are imported by the commands that use them: every
# other command (verify, check-pr) would pay for it at start-up.

keyring_app = typer.Typer(
    cls=Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
    help="Curate keyrings: check, show, diff, import.",
    epilog=examples(
        "commitguard keyring import allowed-signers ~/.ssh/allowed_signers --keyring my-keyring",
        "commitguard keyring check --keyring my-keyring",
        "commitguard keyring diff main:.commitguard/keyring .commitguard/keyring",
    ),
)

RepoOpt = typer.Option(".", "--repo", metavar="DIR", help="Repository (default: current directory).")
KeyringOpt = typer.Option(
    None, "--keyring", metavar="DIR",
    help="Keyring directory (default: $COMMITGUARD_KEYRING, else .commitguard/keyring in --repo).",
)
FormatOpt = format_option("keyring")


def _format(value: str) -> str:
    """Already checked (and lower-cased) while the command line was parsed."""
    return value


def _keyring_dir(keyring: Optional[str], repo: str) -> str:
    """The repository is consulted only when nothing else names a keyring, so
    ``check``/``show`` work on a keyring kept outside any repository."""
    if keyring or os.environ.get("COMMITGUARD_KEYRING"):
        return choose_keyring_dir(keyring, None)[0]
    return choose_keyring_dir(None, open_repository(repo).workdir)[0]


def _console(buffer: io.StringIO) -> Console:
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    # piped output has no terminal width; fingerprints and URLs need room
    width = None if sys.stdout.isatty() else 200
    return Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False)


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


def _emit_json(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- check ------------------------------------------------------------------------------


@keyring_app.command(cls=Command, epilog=examples("commitguard keyring check --keyring my-keyring --format json"))
def check(
    keyring: Optional[str] = KeyringOpt,
    repo: str = RepoOpt,
    format: str = FormatOpt,
) -> None:
    """Find what would make verification fail closed for someone you listed.

    Weak, expired or revoked keys, persons without a usable key, rules nobody
    can satisfy, risky policy. Exit 0: no errors (warnings allowed); 1: at
    least one error; 2: the keyring cannot be read.
    """
    fmt = _format(format)
    from commitguard.keyring.check import check_keyring

    result = check_keyring(load_keyring(_keyring_dir(keyring, repo)), _now())
    if fmt == "json":
        _emit_json(result.to_json())
    else:
        sys.stdout.write(_check_text(result))
    if not result.ok:
        codes = ", ".join(dict.fromkeys(f.code for f in result.errors))
        print(f"commitguard: keyring check: exit 1: {len(result.errors)} error finding(s) ({codes})", file=sys.stderr)
        raise typer.Exit(1)


def _check_text(result: CheckResult) -> str:
    buffer = io.StringIO()
    out = _console(buffer)
    if result.findings:
        table = Table(title=f"{len(result.findings)} finding(s)", title_justify="left")
        for column in ("severity", "code", "who", "key", "field", "message"):
            table.add_column(column, overflow="fold", no_wrap=column == "key")
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


# -- show -------------------------------------------------------------------------------


@keyring_app.command(cls=Command, epilog=examples("commitguard keyring show --keyring my-keyring"))
def show(
    keyring: Optional[str] = KeyringOpt,
    repo: str = RepoOpt,
    format: str = FormatOpt,
) -> None:
    """List every person and forge with their keys.

    Fingerprints to compare out of band, validity, revocation, namespaces, and
    where each key was obtained (trust on first use).
    """
    fmt = _format(format)
    loaded = load_keyring(_keyring_dir(keyring, repo))
    from commitguard.keyring.show import show_keyring

    rows = show_keyring(loaded, _now())
    if fmt == "json":
        policy = loaded.policy
        _emit_json({
            "persons": [r.to_json() for r in rows if r.kind == "person"],
            "forges": [r.to_json() for r in rows if r.kind == "forge"],
            "policy": {"trust_root": policy.trust_root, "forge": policy.forge,
                       "openpgp_sha1": policy.openpgp_sha1, "openpgp_expiry": policy.openpgp_expiry},
        })
    else:
        sys.stdout.write(_show_text(rows))


def _when(moment: Optional[datetime]) -> str:
    return moment.strftime("%Y-%m-%d") if moment else ""


def _show_text(rows: list[HolderRow]) -> str:
    buffer = io.StringIO()
    out = _console(buffer)
    table = Table(title="keyring", title_justify="left", show_lines=True)
    for column in ("person", "key", "validity", "status", "namespaces", "source"):
        table.add_column(column, overflow="fold", no_wrap=column == "key")
    for row in rows:
        who = [row.id if row.kind == "person" else f"{row.id} (forge)"]
        if row.name:
            who.append(row.name)
        if row.github:
            who.append(f"github: {row.github}")
        if row.roles:
            who.append(f"roles: {', '.join(row.roles)}")
        first = ["\n".join(who)]
        lines = list(row.keys) or [None]
        for i, key in enumerate(lines):
            head = first if i == 0 else [""]
            if key is None:
                pins = "\n".join(f"pin (no certificate)\n{p}" for p in row.pins) or "no key"
                table.add_row(*_cells(*head, pins, "", "unusable", "", ""), style="red")
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
            pins = "\n".join(f"pin (no certificate)\n{p}" for p in row.pins)
            table.add_row(*_cells("", pins, "", "unusable", "", ""), style="red")
    out.print(table)
    return buffer.getvalue()


# -- diff ---------------------------------------------------------------------------------


@keyring_app.command(cls=Command, epilog=examples(
    "commitguard keyring diff main:.commitguard/keyring .commitguard/keyring",
    "commitguard keyring diff old-keyring new-keyring --strict",
))
def diff(
    old: str = typer.Argument(..., metavar="OLD", help="Old keyring: a directory, or REV:PATH in --repo (e.g. main:.commitguard/keyring)."),
    new: str = typer.Argument(..., metavar="NEW", help="New keyring: a directory, or REV:PATH in --repo."),
    repo: str = RepoOpt,
    format: str = FormatOpt,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when a change loosens trust."),
) -> None:
    """Show what changed between two keyrings, marking what loosens trust.

    Persons and keys added or removed, revocations, validity and scope changes,
    rule and policy changes; a change that loosens trust (a new key, a wider
    window, forge = "accept", ...) is marked. Exit 0 whenever both keyrings can
    be read: the listing is for a reviewer, not a verdict; with --strict, exit
    1 when anything loosens trust. JSON "ok" is false when anything loosens
    trust. Exit 2: a keyring cannot be read.
    """
    fmt = _format(format)
    from commitguard.keyring.diff import diff_keyrings
    from commitguard.keyring.revision import load_keyring_spec

    result = diff_keyrings(load_keyring_spec(old, repo), load_keyring_spec(new, repo))
    if fmt == "json":
        _emit_json(result.to_json())
    else:
        sys.stdout.write(_diff_text(result, old, new))
    if strict and result.loosens:
        loosening = sum(1 for c in result.changes if c.loosens)
        print(f"commitguard: keyring diff: exit 1: {loosening} change(s) loosen trust (--strict)", file=sys.stderr)
        raise typer.Exit(1)


def _diff_text(result: DiffResult, old: str, new: str) -> str:
    buffer = io.StringIO()
    out = _console(buffer)
    if not result.changes:
        out.print(f"no changes between {old} and {new}", markup=False)
        return buffer.getvalue()
    table = Table(title=Text(f"{old} -> {new}: {len(result.changes)} change(s)"), title_justify="left")
    for column in ("", "change", "who", "key", "detail"):
        table.add_column(column, overflow="fold", no_wrap=column == "key")
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


# -- import --------------------------------------------------------------------------------


@keyring_app.command("import", cls=Command, epilog=examples(
    "commitguard keyring import allowed-signers ~/.ssh/allowed_signers --keyring my-keyring",
    "commitguard keyring import gnupg 1CEA9E12E7218C2C95F708F4CA5FBBF28BB623ED --keyring my-keyring",
    "commitguard keyring import github alice bob --keyring my-keyring",
    "commitguard keyring import guix --repo guix-checkout --introduction COMMIT --keyring my-keyring",
    "commitguard keyring import maintainer-list maintainers/maintainer-list.nix --keyring my-keyring",
    "commitguard keyring import sequoia-policy openpgp-policy.toml --keyring my-keyring",
))
def import_(
    source: str = typer.Argument(
        ..., metavar="SOURCE",
        help="allowed-signers|guix|sequoia-policy|gnupg|maintainer-list|github"),
    args: Optional[list[str]] = typer.Argument(None, metavar="ARG",
                                               help="FILE, fingerprints or logins, as SOURCE needs."),
    keyring: str = typer.Option(..., "--keyring", metavar="DIR",
                                help="Keyring directory to import into (created if absent)."),
    repo: str = RepoOpt,
    gnupg_home: Optional[str] = typer.Option(
        None, "--gnupg-home", envvar="GNUPGHOME", metavar="DIR", help="GnuPG home (default: $GNUPGHOME)."
    ),
    introduction: Optional[str] = typer.Option(None, "--introduction", metavar="COMMIT", help="guix: the channel introduction commit."),
    github_api: str = typer.Option("https://api.github.com", "--github-api", metavar="URL", help="GitHub API base URL."),
    format: str = FormatOpt,
) -> None:
    """Import people and keys from SOURCE into --keyring, merging with what is there.

    The GitHub token, where needed, comes from $GITHUB_TOKEN. Review the result
    with "keyring diff" before committing it: an import is trust on first use.
    """
    fmt = _format(format)
    from commitguard.keyring.importers.registry import ImportRequest, importer_for
    from commitguard.keyring.writer import apply_import

    request = ImportRequest(
        args=tuple(args or ()),
        repo=repo,
        gnupg_home=gnupg_home,
        introduction=introduction,
        github_api=github_api,
        github_token=os.environ.get("GITHUB_TOKEN") or None,
        now=_now(),
    )
    imported = importer_for(source, request).load()
    report = apply_import(keyring, imported)
    if fmt == "json":
        _emit_json({"ok": True, "keyring": keyring, "created": report.created,
                    "changes": list(report.changes), "notes": list(report.notes)})
        return
    buffer = io.StringIO()
    out = _console(buffer)
    out.print(f"{'created' if report.created else 'updated'} keyring {keyring} from {source}", markup=False)
    for line in report.changes:
        out.print(f"  {line}", markup=False)
    if not report.changes:
        out.print("  nothing to change", markup=False)
    for note in report.notes:
        out.print(f"note: {note}", style="yellow", markup=False)
    sys.stdout.write(buffer.getvalue())
