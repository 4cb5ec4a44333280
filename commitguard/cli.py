"""The command line: parsing and printing only; the work is in the library."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from commitguard.errors import CommitguardError
from commitguard.history import open_repository
from commitguard.keyring import choose_keyring_dir, load_keyring
from commitguard.output import formatter_for
from commitguard.repository_keyring import verify_with_repository_keyring
from commitguard.verify import VerifyOptions, verify_revisions

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Check who wrote, signed and reviewed the commits of a nixpkgs-style repository.",
)

RepoOpt = typer.Option(".", "--repo", help="Repository to check (default: current directory).")
KeyringOpt = typer.Option(None, "--keyring", help="Keyring directory (default: $COMMITGUARD_KEYRING).")
FormatOpt = typer.Option("text", "--format", help="text or json.")


def _progress_printer(enabled: bool):
    """A progress bar on stderr for long runs, only when a person is watching."""
    if not enabled:
        return None, None
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console, transient=True
    )
    task = progress.add_task("verify", total=None)
    started = {"on": False}

    def update(done: int, total: int) -> None:
        if total < 2000:
            return
        if not started["on"]:
            progress.start()
            started["on"] = True
        progress.update(task, completed=done, total=total)

    def stop() -> None:
        if started["on"]:
            progress.stop()

    return update, stop


@app.command()
def verify(
    revs: Optional[list[str]] = typer.Argument(None, help="Revisions (default HEAD); A..B ranges as in git."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = FormatOpt,
    trust_root: Optional[str] = typer.Option(None, "--trust-root", help="Commit whose ancestors are not checked."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help="Worker processes (default: all cores)."),
    cache: Optional[str] = typer.Option(None, "--cache", help="Cache directory (default: the user cache dir)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Verify everything afresh; store nothing."),
) -> None:
    """Verify every commit reachable from REV down to the keyring's trust root."""
    formatter = formatter_for(format, color=sys.stdout.isatty())
    repository = open_repository(repo)
    keyring_dir, in_repo = choose_keyring_dir(keyring, repository.workdir)
    loaded = None if in_repo else load_keyring(keyring_dir)
    if cache is None and not no_cache:
        from commitguard.cache import default_cache_dir

        cache = str(default_cache_dir())
    update, stop = _progress_printer(format == "text" and sys.stderr.isatty())
    options = VerifyOptions(
        revs=tuple(revs or ["HEAD"]),
        trust_root=trust_root,
        jobs=jobs,
        cache_dir=None if no_cache else cache,
        progress=update,
    )
    try:
        if loaded is None:
            report = verify_with_repository_keyring(repo, options)
        else:
            report = verify_revisions(repo, loaded, options)
    finally:
        if stop:
            stop()
    sys.stdout.write(formatter.verify(report))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def demo(
    directory: Optional[str] = typer.Argument(None, help="Where to build the demo (default: a new temporary directory)."),
) -> None:
    """Build a small signed nixpkgs-style repository with throwaway keys and verify it."""
    from commitguard.demo import run_demo

    raise typer.Exit(run_demo(directory, Console()))


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, standalone_mode=False)
    except typer.Abort:
        print("commitguard: aborted", file=sys.stderr)
        sys.exit(2)
    except CommitguardError as exc:
        print(f"commitguard: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("commitguard: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:  # a traceback is a bug; still give the user one line
        if _is_usage_error(exc):
            message = exc.format_message()  # type: ignore[attr-defined]
            if message:  # empty after no_args_is_help printed the help
                print(f"commitguard: error: {message}", file=sys.stderr)
            sys.exit(2)
        if os.environ.get("COMMITGUARD_DEBUG"):
            raise
        print(f"commitguard: internal error: {type(exc).__name__}: {exc} (set COMMITGUARD_DEBUG=1 for details)", file=sys.stderr)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)


def _is_usage_error(exc: Exception) -> bool:
    """Typer vendors click, so its UsageError is not importable by a public name."""
    return any(cls.__name__ == "UsageError" for cls in type(exc).__mro__) and hasattr(exc, "format_message")
