"""``commitguard keyring``: curate keyrings. Parsing and printing only; the
work is in :mod:`commitguard.keyring.check`, ``.show``, ``.diff``, ``.revision``
and the importers."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from typing import Optional

import typer

from commitguard.cli.options import (Command, KeyringOpt, RepoOpt, command_group, examples, format_option,
                                     formatter_for_command)
from commitguard.git.revisions import open_repository
from commitguard.keyring import load_keyring, select_keyring

# commitguard.keyring.check/show/diff are imported by the commands that use them: every
# other command (verify, check-pr) would pay for it at start-up.

keyring_app = command_group(
    "Curate keyrings: check, show, diff, import.",
    examples(
        "commitguard keyring import allowed-signers ~/.ssh/allowed_signers --keyring my-keyring",
        "commitguard keyring check --keyring my-keyring",
        "commitguard keyring diff main:.commitguard/keyring .commitguard/keyring",
    ),
)

FormatOpt = format_option("keyring")


def _keyring_dir(keyring: Optional[str], repo: str) -> str:
    """The keyring to curate, by the one selection rule: the repository is opened only
    when the user names no keyring, so ``check``/``show`` work on a keyring kept outside
    any repository; the repository's own is the one its working tree holds (it is
    being curated, not trusted)."""
    choice = select_keyring(keyring)
    return choice.worktree_directory(open_repository(repo).workdir if choice.in_repository else None)


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
    formatter = formatter_for_command(format, "keyring check")
    from commitguard.keyring.check import check_keyring

    result = check_keyring(load_keyring(_keyring_dir(keyring, repo)), _now())
    formatter.write("keyring check", result, sys.stdout)
    if not result.ok:
        codes = ", ".join(dict.fromkeys(f.code for f in result.errors))
        print(f"commitguard: keyring check: exit 1: {len(result.errors)} error finding(s) ({codes})", file=sys.stderr)
        raise typer.Exit(1)


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
    formatter = formatter_for_command(format, "keyring show")
    loaded = load_keyring(_keyring_dir(keyring, repo))
    from commitguard.keyring.show import show_keyring
    from commitguard.output.interface import KeyringListing

    listing = KeyringListing(rows=tuple(show_keyring(loaded, _now())), policy=loaded.policy)
    formatter.write("keyring show", listing, sys.stdout)


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
    formatter = formatter_for_command(format, "keyring diff")
    from commitguard.keyring.diff import diff_keyrings
    from commitguard.keyring.revision import load_keyring_spec
    from commitguard.output.interface import KeyringComparison

    result = diff_keyrings(load_keyring_spec(old, repo), load_keyring_spec(new, repo))
    formatter.write("keyring diff", KeyringComparison(result=result, old=old, new=new), sys.stdout)
    if strict and result.loosens:
        loosening = sum(1 for c in result.changes if c.loosens)
        print(f"commitguard: keyring diff: exit 1: {loosening} change(s) loosen trust (--strict)", file=sys.stderr)
        raise typer.Exit(1)


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
    sigstore: bool = typer.Option(False, "--sigstore", help="github: also list each user's public e-mail address as a "
                                  "Sigstore (gitsign) identity, issuer https://github.com/login/oauth."),
    format: str = FormatOpt,
) -> None:
    """Import people and keys from SOURCE into --keyring, merging with what is there.

    The GitHub token, where needed, comes from $GITHUB_TOKEN. Review the result
    with "keyring diff" before committing it: an import is trust on first use.
    """
    formatter = formatter_for_command(format, "keyring import")
    from commitguard.keyring.importers.registry import ImportRequest, importer_for
    from commitguard.keyring.writer import apply_import
    from commitguard.output.interface import KeyringImported

    request = ImportRequest(
        args=tuple(args or ()),
        repo=repo,
        gnupg_home=gnupg_home,
        introduction=introduction,
        github_api=github_api,
        github_token=os.environ.get("GITHUB_TOKEN") or None,
        sigstore=sigstore,
        now=_now(),
    )
    imported = importer_for(source, request).load()
    report = apply_import(keyring, imported)
    formatter.write("keyring import", KeyringImported(keyring=keyring, source=source, report=report), sys.stdout)
