"""What every command line shares: the options themselves (``--repo``,
``--keyring``, ``--format``, ``--trust-root``, ``--jobs``, ``--cache``/``--no-cache``,
the revision flags), help that names allowed values, ``--format`` checked before
any work, the one line that says why a command exits 1, and a plain message for
a repository without commits.

An option defined once reads the same in every ``COMMAND -h`` and cannot drift:
two spellings of ``--keyring`` with two defaults are two rules.

Kept apart from :mod:`commitguard.cli.app` so ``keyring`` commands use the same
rules without importing every other command.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable

import typer
from typer.core import TyperCommand, TyperGroup

from commitguard.errors import CommitguardError, RepositoryError

if TYPE_CHECKING:
    from commitguard.output.interface import Formatter

# Context settings of every command: "-h" is "--help" everywhere (click hands
# help_option_names from a group down to its subcommands).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# The formats each command renders (SPEC: `--format` lists in --help only these). A test
# checks this table against the formatter classes, so a new renderer cannot be forgotten here.
FORMATS: dict[str, tuple[str, ...]] = {
    "verify": ("text", "json"),
    "check-pr": ("text", "json", "markdown", "sarif"),
    "sources": ("text", "json", "markdown"),
    "annotate": ("text", "json", "markdown", "cyclonedx", "cyclonedx-1.5"),
    "pin": ("text", "json"),
    "audit-bump": ("text", "json", "markdown"),
    "keyring": ("text", "json"),
    "forge-sync": ("text", "json"),
    "attest": ("text", "json"),
    "verify-attestation": ("text", "json"),
}


def format_option(command: str, help: str = "Output format.") -> typer.models.OptionInfo:
    """``--format`` for ``command``: case-insensitive, refused (exit 2) while the
    command line is parsed, so no work is done for output that cannot be made."""
    allowed = FORMATS[command]

    def check(value: str) -> str:
        chosen = (value or "").strip().lower()
        if chosen not in allowed:
            raise CommitguardError(f"--format {value} is not available for {command} (choose from {', '.join(allowed)})")
        return chosen

    return typer.Option("text", "--format", metavar="|".join(allowed), callback=check, help=help)


# --------------------------------------------------------------------------- shared options
# One definition each; a command takes the ones that mean something for it.

RepoOpt = typer.Option(".", "--repo", metavar="DIR", help="Repository (default: current directory).")
KeyringOpt = typer.Option(
    None, "--keyring", metavar="DIR",
    help="Keyring directory (default: $COMMITGUARD_KEYRING, else .commitguard/keyring in the repository, "
         "read at a revision the command trusts).")
TrustRootOpt = typer.Option(
    None, "--trust-root", metavar="COMMIT",
    help="Commit whose ancestors are not checked (default: the keyring's policy.trust_root); "
         "check-pr: the base must be it or descend from it, else exit 2.")
ForgeRecordOpt = typer.Option(
    None, "--forge-record", metavar="FILE",
    help="Forge record read for forge-review (default: the one forge-sync keeps for the origin's repository).")
JobsOpt = typer.Option(None, "--jobs", min=1, metavar="N", help="Worker processes: verifying signatures, reading package expressions (default: all cores).")
CacheOpt = typer.Option(None, "--cache", metavar="DIR",
                        help="Cache directory (default: $COMMITGUARD_CACHE_DIR, else the user cache dir).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Verify afresh; read and store nothing in the cache.")

# Revisions. A command takes them in the way that fits it (positional REV..., --rev,
# --branch, --base/--head); each way is spelled here once, every help says the same syntax.
REV_SYNTAX = "a commit id, branch, tag or HEAD~N"


def revision_option(flag: str, what: str, default: str | None = None) -> typer.models.OptionInfo:
    """A revision flag whose help ends with the syntax every revision flag accepts."""
    said = f"; default: {default}" if default else ""
    return typer.Option(default, flag, metavar="REV", help=f"{what} ({REV_SYNTAX}{said}).")


RevsArg = typer.Argument(None, metavar="REV",
                         help=f"Revisions to verify ({REV_SYNTAX}; default: HEAD); A..B ranges and ^A as in git.")
RevOpt = revision_option("--rev", "Revision whose packages and history are examined", "HEAD")
BranchOpt = typer.Option(None, "--branch", metavar="BRANCH",
                         help="Branch to pin or check against (default: the checked-out branch; "
                              "--check fails when the lock names another).")
BaseOpt = revision_option("--base", "Base revision the change merges into")
HeadOpt = revision_option("--head", "Head revision of the change")


def cache_dir(cache: str | None, no_cache: bool) -> str | None:
    """The one resolver of ``--cache``/``--no-cache``: None stores nothing."""
    if no_cache:
        return None
    if cache:
        return cache
    from commitguard.verify.cache import default_cache_dir

    return str(default_cache_dir())


def formatter_for_command(name: str, command: str) -> "Formatter":
    """The formatter ``--format`` named, refused (exit 2) before any work if it
    cannot render ``command`` (``keyring show``...). Colours only on a terminal,
    and never with ``$NO_COLOR``."""
    from commitguard.output.interface import formatter_for

    terminal = sys.stdout.isatty()
    color = terminal and not os.environ.get("NO_COLOR")
    return formatter_for(name, color=color, terminal=terminal).require(command)


class _PlainHelp:
    """Help lines that show a metavar (DIR, REV, text|json) or nothing, never
    Typer's ``<str>``/``<bool>`` type labels."""

    def format_options(self, ctx, formatter) -> None:  # noqa: D401 - click's hook
        arguments, options = [], []
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                if param.nargs != 1:
                    name += "..."
                arguments.append((name, param.help or ""))
            elif param.param_type_name == "option":
                options.append(_option_row(param))
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
        if hasattr(self, "format_commands"):
            self.format_commands(ctx, formatter)  # type: ignore[attr-defined]


def _option_row(param) -> tuple[str, str]:
    names = sorted(param.opts, key=lambda o: (o.startswith("--"), o))
    head = ", ".join(names)
    if param.secondary_opts:
        head += " / " + ", ".join(param.secondary_opts)
    if not param.is_flag:
        head += f" {param.metavar or param.name.upper()}"
    extra = []
    default = param.default
    said = "default:" in (param.help or "")
    if not param.is_flag and not said and default not in (None, "", ()) and not callable(default):
        extra.append(f"default: {default}")
    if param.envvar:
        extra.append(f"env: {param.envvar}")
    if param.required:
        extra.append("required")
    text = param.help or ""
    if extra:
        text = f"{text}  [{'; '.join(extra)}]".strip()
    return head, text


class Command(_PlainHelp, TyperCommand):
    """A command whose help shows allowed values."""


class Group(_PlainHelp, TyperGroup):
    """A group (``commitguard``, ``commitguard keyring``) whose help shows allowed values."""


def command_group(help: str, epilog: str) -> typer.Typer:
    """A command group (``commitguard``, ``commitguard keyring``): ``-h`` everywhere,
    help that shows allowed values, no shell-completion install, no rich tracebacks
    (an error is one line on stderr)."""
    return typer.Typer(cls=Group, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                       rich_markup_mode=None, context_settings=CONTEXT, help=help, epilog=epilog)


def examples(*lines: str) -> str:
    """An "Examples" epilog, one command a line (click keeps ``\\b`` paragraphs as written)."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


# --------------------------------------------------------------------------- repositories


def require_commits(repo, revs: tuple[str, ...] | list[str]) -> None:
    """Say "no commits yet" instead of libgit2's "unknown revision 'HEAD'" when
    a revision the command needs is HEAD of a repository whose HEAD is unborn."""
    try:
        unborn = repo.head_is_unborn
    except Exception:  # a broken HEAD is reported by the command itself
        return
    # Only HEAD: a commit may exist without any reference (made by `git commit-tree`)
    # and is then named by its id, which libgit2 resolves as usual.
    if not unborn or not any(_names_head(rev) for rev in revs):
        return
    where = repo.workdir or repo.path
    if not list(repo.references):
        raise RepositoryError("the repository has no commits yet: commit something first", path=where)
    branch = repo.references.get("HEAD")
    target = getattr(branch, "target", None) if branch is not None else None
    name = str(target).removeprefix("refs/heads/") if isinstance(target, str) else "HEAD"
    raise RepositoryError(f"HEAD is unborn: branch {name!r} has no commits yet; name a revision", path=where)


def _names_head(rev: str | None) -> bool:
    if rev is None:
        return True
    rev = rev.lstrip("^")
    if ".." in rev:
        left, right = rev.split("..", 1)
        return _names_head(left or None) or _names_head(right or None)
    return rev == "HEAD" or rev.startswith(("HEAD^", "HEAD~", "HEAD@"))


# --------------------------------------------------------------------------- why exit 1


def _counts(values) -> str:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in counts.items())


def _verify(report) -> str:
    summary = report.summary()
    untrusted = {k: n for k, n in summary["by_status"].items() if k != "trusted"}
    detail = ", ".join(f"{k} {n}" for k, n in untrusted.items()) or "forge-signed, not accepted"
    return f"{summary['total'] - summary['trusted']} of {summary['total']} commits not trusted ({detail})"


def _check_pr(report) -> str:
    parts = []
    bad = sum(1 for c in report.commits if not c.trusted)
    if bad:
        parts.append(f"{bad} of {len(report.commits)} commits not trusted")
    for rule in report.rules:
        if not rule.ok:
            scope = f" for package {rule.package}" if getattr(rule, "package", None) else ""
            parts.append(f"rule {', '.join(rule.paths)}{scope} needs {rule.missing} more signed approval(s)")
    if report.uncovered:
        parts.append(f"{len(report.uncovered)} changed file(s) covered by no rule")
    return "not OK to merge: " + ("; ".join(parts) or "see the report")


def _sources(report) -> str:
    bad = [p for p in report.packages if not p.trusted]
    unverified = [p.upstream.status for p in bad if p.upstream.status != "verified"]
    unresolved = sum(1 for p in bad if not all(s.resolved for s in p.package.sources))
    parts = [f"upstream {_counts(unverified)}"] if unverified else []
    if unresolved:
        parts.append(f"{unresolved} with fetcher arguments not resolved")
    return f"{len(bad)} of {len(report.packages)} packages not trusted ({'; '.join(parts)})"


def _annotate(report) -> str:
    bad = [p for p in report.packages if not p.trusted]
    upstream = sum(1 for p in bad if not p.upstream.trusted)
    history = sum(1 for p in bad if not p.chain.trusted)
    parts = []
    if upstream:
        parts.append(f"upstream not verified: {upstream}")
    if history:
        parts.append(f"history not trusted: {history}")
    return f"{len(bad)} of {len(report.packages)} packages not trusted ({', '.join(parts)})"


def _annotate_closure(report) -> str:
    summary = report.summary()
    if not summary["total"]:
        return "the closure has no derivation"
    matched_untrusted = summary["untrusted"] - summary["unmatched"]
    return (f"{summary['untrusted']} of {summary['total']} derivations not trusted (unmatched: {summary['unmatched']}, "
            f"matched but chain not trusted: {matched_untrusted})")


def _pin(report) -> str:
    if report.errors:
        return ("the lock does not hold: " if report.mode == "check" else "") + report.errors[0]
    bad = [name for name, p in report.packages.items() if not p.trusted]
    if report.mode == "check":
        return f"the lock does not hold: not trusted now: {', '.join(bad) or 'see the report'}"
    return f"no revision is fully trusted for {', '.join(bad) or 'these packages'}; no lock written"


def _audit_bump(report) -> str:
    fail_on = report.fail_on
    hits = [f.code for f in report.findings if fail_on.hits(None, [f])]
    for p in report.packages:
        if p.kind in fail_on.kinds:
            hits.append(f"{p.path or p.name}: {p.kind}")
        hits.extend(f.code for f in p.findings if fail_on.hits(None, [f]))
    detail = ", ".join(dict.fromkeys(hits)) or "see the report"
    return f"the change needs review: {detail} (--fail-on {','.join(fail_on.names())})"


def _check_pr_github(report) -> str:
    return "the pull request is not OK to merge (untrusted commits or missing approvals: see the report)"


def _audit_bump_github(report) -> str:
    return f"the change needs review: a finding matches --fail-on {','.join(report.fail_on.names())} (see the report)"


_WHY: dict[str, Callable] = {
    "verify": _verify, "check-pr": _check_pr, "sources": _sources, "annotate": _annotate,
    "annotate --closure": _annotate_closure, "pin": _pin,
    "audit-bump": _audit_bump, "check-pr --github": _check_pr_github, "audit-bump --github": _audit_bump_github,
}


def why_exit_1(command: str, report) -> str:
    """The one stderr line that says why ``command`` exits 1: it is the only
    explanation a reader of ``--format cyclonedx > sbom.json`` gets. ``COMMAND --github``
    names the GitHub mode, whose line points at the report it also posts."""
    return f"commitguard: {command.split(' --')[0]}: exit 1: {_WHY[command](report)}"
