"""The command line: parsing and printing only; the work is in the library."""

from __future__ import annotations

import os
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from commitguard import __version__
from commitguard.cli.keyring import keyring_app
from commitguard.cli.options import CONTEXT, Command, Group, examples, format_option, require_commits, why_exit_1
from commitguard.errors import CommitguardError
from commitguard.git.revisions import DEFAULT_MAX_COMMITS, open_repository
from commitguard.keyring import choose_keyring_dir, load_keyring
from commitguard.output import formatter_for
from commitguard.verify.in_repository import verify_with_repository_keyring
from commitguard.verify.commits import VerifyOptions, verify_revisions

app = typer.Typer(
    cls=Group,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
    help="Check who wrote, signed and reviewed the commits of a nixpkgs-style repository.",
    epilog=examples(
        "commitguard demo",
        "commitguard verify --keyring my-keyring HEAD",
        "commitguard check-pr --base origin/master --head HEAD --format markdown",
        "commitguard COMMAND -h",
    ) + "\n\nExit codes: 0 all checks hold, 1 a violation was found, 2 could not run. Reference: docs/reference.md",
)
app.add_typer(keyring_app, name="keyring", help="Curate keyrings: check, show, diff, import SOURCE.")


def _print_version(value: bool) -> None:
    if value:
        print(f"commitguard {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the version (commitguard X.Y.Z) and exit."),
) -> None:
    """Check who wrote, signed and reviewed the commits of a nixpkgs-style repository."""


RepoOpt = typer.Option(".", "--repo", metavar="DIR", help="Repository to check (default: current directory).")
KeyringOpt = typer.Option(None, "--keyring", metavar="DIR",
                          help="Keyring directory (default: $COMMITGUARD_KEYRING, else .commitguard/keyring).")
TrustRootOpt = typer.Option(None, "--trust-root", metavar="COMMIT", help="Commit whose ancestors are not checked.")
JobsOpt = typer.Option(None, "--jobs", min=1, metavar="N", help="Worker processes (default: all cores).")
NoCacheOpt = typer.Option(False, "--no-cache", help="Verify everything afresh; store nothing.")
RepositoryOpt = typer.Option(None, "--repository", metavar="NAME",
                             help="Repository name approvals must carry (default: origin URL).")
GithubOpt = typer.Option(None, "--github", metavar="OWNER/REPO", help="Read the pull request through the GitHub API.")
PrOpt = typer.Option(None, "--pr", metavar="N", help="Pull request number (with --github).")
MirrorOpt = typer.Option(None, "--upstream-mirror", envvar="COMMITGUARD_UPSTREAM_MIRROR", metavar="DIR",
                         help="Offline mirror of upstream sources: DIR/github.com/OWNER/REPO, DIR/HOST/PATH.")
SystemOpt = typer.Option("x86_64-linux", "--system", metavar="SYSTEM", help="Platform for per-system sources.")
PACKAGE_HELP = ("Package names (hello, python3Packages.requests) or paths (relative to the current directory); "
                "default: every package.")


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


@app.command(cls=Command, epilog=examples(
    "commitguard verify --keyring my-keyring",
    "commitguard verify --keyring my-keyring origin/master..my-branch --format json",
    "commitguard verify --trust-root COMMIT HEAD      # keyring kept in .commitguard/keyring",
))
def verify(
    revs: Optional[list[str]] = typer.Argument(None, metavar="REV",
                                               help="Revisions (default HEAD); A..B ranges and ^A as in git."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("verify"),
    trust_root: Optional[str] = TrustRootOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = typer.Option(None, "--cache", metavar="DIR", help="Cache directory (default: the user cache dir)."),
    no_cache: bool = NoCacheOpt,
    max_commits: int = typer.Option(
        DEFAULT_MAX_COMMITS, "--max-commits", min=1, metavar="N", help="Stop with an error past this many commits."
    ),
) -> None:
    """Verify every commit reachable from REV down to the keyring's trust root."""
    formatter = formatter_for(format, color=sys.stdout.isatty())
    repository = open_repository(repo)
    require_commits(repository, revs or ["HEAD"])
    keyring_dir, in_repo = choose_keyring_dir(keyring, repository.workdir)
    loaded = None if in_repo else load_keyring(keyring_dir)
    if cache is None and not no_cache:
        from commitguard.verify.cache import default_cache_dir

        cache = str(default_cache_dir())
    update, stop = _progress_printer(format == "text" and sys.stderr.isatty())
    options = VerifyOptions(
        revs=tuple(revs or ["HEAD"]),
        trust_root=trust_root,
        jobs=jobs,
        cache_dir=None if no_cache else cache,
        max_commits=max_commits,
        progress=update,
    )
    try:
        if loaded is None:
            report = verify_with_repository_keyring(repository, options)
        else:
            report = verify_revisions(repository, loaded, options)
    finally:
        if stop:
            stop()
    formatter.write_verify(report, sys.stdout)
    _exit("verify", report)


@app.command(cls=Command, epilog=examples("commitguard demo", "commitguard demo /tmp/commitguard-demo"))
def demo(
    directory: Optional[str] = typer.Argument(None, metavar="DIR",
                                              help="Where to build the demo (default: a new temporary directory)."),
) -> None:
    """Build a small signed nixpkgs-style repository with throwaway keys and verify it."""
    from commitguard.cli.demo import run_demo

    raise typer.Exit(run_demo(directory, Console()))


@app.command("check-pr", cls=Command, epilog=examples(
    "commitguard check-pr --base origin/master --head HEAD --format markdown",
    "commitguard check-pr --github OWNER/REPO --pr 123",
))
def check_pr(
    base: Optional[str] = typer.Option(None, "--base", metavar="REV", help="Base revision the pull request merges into."),
    head: Optional[str] = typer.Option(None, "--head", metavar="REV", help="Head revision of the pull request."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("check-pr"),
    repository: Optional[str] = RepositoryOpt,
    github: Optional[str] = GithubOpt,
    pr: Optional[int] = PrOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = typer.Option(None, "--cache", metavar="DIR", help="Cache directory (default: the user cache dir)."),
    no_cache: bool = NoCacheOpt,
) -> None:
    """Pre-merge check: every commit signed by a keyring person, enough signed approvals per rule."""
    from commitguard.review.check_pr import PullRequest, check_pull_request, repository_name

    formatter = formatter_for(format, color=sys.stdout.isatty())
    if github:
        from commitguard.forge.github_pr import run_github_check

        code = run_github_check(github, pr, repo, keyring, formatter, jobs=jobs, cache=_cache_dir(cache, no_cache))
        _exit_code("check-pr", code, "the pull request is not OK to merge (untrusted commits or missing approvals: "
                                     "see the report)")
    if not base or not head:
        raise CommitguardError("check-pr needs --base REV and --head REV (or --github OWNER/REPO --pr N)", field="--base")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [base, head])
    loaded = _keyring_for_pull_request(keyring, repository_obj)
    report = check_pull_request(
        repository_obj,
        PullRequest(base=base, head=head, repository=repository_name(repository_obj, repository), number=pr),
        loaded,
        options=VerifyOptions(jobs=jobs, cache_dir=_cache_dir(cache, no_cache)),
    )
    sys.stdout.write(formatter.check_pr(report))
    _exit("check-pr", report)


@app.command(cls=Command, epilog=examples(
    "commitguard approve --base origin/master --head pr-branch --ssh-key ~/.ssh/id_ed25519",
    "commitguard approve --head COMMIT --openpgp-key FPR          # an audit of a merged commit",
    "commitguard approve --github OWNER/REPO --pr 123 --ssh-key ~/.ssh/id_ed25519",
))
def approve(
    head: str = typer.Option("HEAD", "--head", metavar="REV",
                             help="The commit you reviewed (a pull request head, or a merged commit)."),
    base: Optional[str] = typer.Option(None, "--base", metavar="REV",
                                       help="What it merges into (default: the head's first parent)."),
    repo: str = RepoOpt,
    ssh_key: Optional[str] = typer.Option(None, "--ssh-key", metavar="PATH",
                                          help="Your SSH key (private key file, or public key with ssh-agent)."),
    openpgp_key: Optional[str] = typer.Option(None, "--openpgp-key", metavar="FPR",
                                              help="Your OpenPGP key fingerprint (GnuPG, $GNUPGHOME)."),
    repository: Optional[str] = typer.Option(None, "--repository", metavar="NAME",
                                             help="Repository name (default: origin URL)."),
    github: Optional[str] = typer.Option(None, "--github", metavar="OWNER/REPO",
                                         help="Also post the approval as a pull request review."),
    pr: Optional[int] = PrOpt,
    no_store: bool = typer.Option(False, "--no-store", help="Do not write refs/notes/commitguard; print the approval."),
) -> None:
    """Sign an approval of exactly this head with your own key; store it in git notes and/or post it."""
    from commitguard.review.approvals.create import build_approval, sign_approval
    from commitguard.review.approvals.notes import GitNotesStore
    from commitguard.review.check_pr import repository_name

    repository_obj = open_repository(repo)
    if github:
        from commitguard.forge.github_pr import approve_on_github

        raise typer.Exit(approve_on_github(github, pr, repository_obj, ssh_key, openpgp_key, store=not no_store))
    require_commits(repository_obj, [head] + ([base] if base else []))
    approval = build_approval(repository_obj, repository_name(repository_obj, repository), head, base, pr)
    envelope = sign_approval(approval, ssh_key=ssh_key, openpgp_key=openpgp_key)
    if no_store:
        sys.stdout.write(envelope.to_json() + "\n")
    else:
        where = GitNotesStore(repository_obj).store(approval.head, envelope.to_json())
        print(f"approved {approval.head[:12]} (base {approval.base[:12]}) in {approval.repository}: stored in {where}")
        print("share it with: git push origin refs/notes/commitguard")


@app.command(cls=Command, epilog=examples(
    "commitguard sources hello --keyring my-keyring --upstream-mirror ~/mirror",
    "commitguard sources pkgs/by-name/he/hello --format json",
    "commitguard sources --repo ~/nixpkgs ~/nixpkgs/pkgs/by-name/jq/jq",
))
def sources(
    paths: Optional[list[str]] = typer.Argument(None, metavar="PACKAGE", help=PACKAGE_HELP),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("sources"),
    upstream_mirror: Optional[str] = MirrorOpt,
    online: bool = typer.Option(False, "--online", help="Fetch upstream evidence from the network when not mirrored."),
    system: str = SystemOpt,
    nix_eval: bool = typer.Option(False, "--eval", help="Also evaluate each src with nix-instantiate and report disagreements."),
) -> None:
    """Map package expressions to their upstream sources and check upstream's signatures."""
    from pathlib import Path

    from commitguard.upstream.scan import scan_sources
    from commitguard.nix.selection import select_in_worktree

    formatter = formatter_for(format, color=sys.stdout.isatty())
    repository_obj = open_repository(repo)
    root = Path(repository_obj.workdir or repo)
    selected = _nonempty(select_in_worktree(root, list(paths)), paths) if paths else []
    # Only a keyring the user names: the working tree's own .commitguard/keyring
    # could come from the very change under review and vouch for its upstream.
    loaded = _keyring_for_pull_request(keyring, repository_obj)
    from commitguard.upstream.mirror import check_mirror  # not imported for verify/check-pr: 0.14 s

    mirror = check_mirror(upstream_mirror)
    # SPEC: with a mirror set, nothing is fetched from the network.
    report = scan_sources(root, selected, loaded, mirror=mirror, online=online and mirror is None, system=system,
        nix_eval=nix_eval,
    )
    sys.stdout.write(formatter.sources(report))
    _exit("sources", report)


@app.command("audit-bump", cls=Command, epilog=examples(
    "commitguard audit-bump --base origin/master --head pr --upstream-mirror ~/mirror --keyring my-keyring",
    "commitguard audit-bump hello --base origin/master --head pr       # only this package",
    "commitguard audit-bump --github OWNER/REPO --pr 123 --comment",
))
def audit_bump_command(
    packages: Optional[list[str]] = typer.Argument(
        None, metavar="PACKAGE",
        help="Audit only these packages (names or paths, as in sources); default: every package the change touches."),
    base: Optional[str] = typer.Option(None, "--base", metavar="REV", help="Base revision the change merges into."),
    head: Optional[str] = typer.Option(None, "--head", metavar="REV", help="Head revision of the change."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("audit-bump"),
    upstream_mirror: Optional[str] = MirrorOpt,
    online: bool = typer.Option(False, "--online", help="Ask the forge for upstream evidence when there is no mirror."),
    fail_on: Optional[str] = typer.Option(
        None, "--fail-on", metavar="LIST",
        help="Comma-separated kinds, finding codes or severities that fail the audit (default: high)."
    ),
    title: Optional[str] = typer.Option(None, "--title", metavar="TEXT",
                                        help="A pull request title to check, besides the commit subjects."),
    github: Optional[str] = GithubOpt,
    pr: Optional[int] = PrOpt,
    comment: bool = typer.Option(False, "--comment", help="Post the report as a pull request comment, or update ours (with --github)."),
    continuity: Optional[str] = typer.Option(
        None, "--continuity", metavar="FILE",
        help="Record of which key signed which upstream version (a file, kept across runs)."
    ),
    system: str = SystemOpt,
) -> None:
    """Audit a version-bump change: only version and hashes changed, and upstream signed by the same key?"""
    from commitguard.bump import audit_bump, keyring_for_audit, parse_fail_on
    from commitguard.upstream import ContinuityStore

    formatter = formatter_for(format, color=sys.stdout.isatty())
    policy = parse_fail_on(fail_on)
    from commitguard.upstream.mirror import check_mirror  # not imported for verify/check-pr: 0.14 s

    mirror = check_mirror(upstream_mirror)
    # SPEC: with a mirror set, nothing is fetched from the network.
    ask_forge = online and mirror is None
    if comment and not github:
        raise CommitguardError("--comment needs --github OWNER/REPO", field="--comment")
    if github and packages:
        raise CommitguardError("package arguments are not supported with --github: the whole pull request is audited",
                               field="PACKAGE")
    store = ContinuityStore(continuity) if continuity else None
    try:
        if github:
            from commitguard.forge.github_bump import run_github_audit

            code = run_github_audit(github, pr, repo, keyring, formatter, mirror=mirror, online=ask_forge,
                                    fail_on=policy, comment=comment, continuity=store, system=system)
            _exit_code("audit-bump", code, f"the change needs review: a finding matches --fail-on "
                                           f"{','.join(policy.names())} (see the report)")
        if not base or not head:
            raise CommitguardError("audit-bump needs --base REV and --head REV (or --github OWNER/REPO --pr N)", field="--base")
        repository_obj = open_repository(repo)
        require_commits(repository_obj, [base, head])
        only = _bump_selection(repository_obj, base, head, packages) if packages else None
        report = audit_bump(repository_obj, base, head, keyring=keyring_for_audit(keyring, repository_obj, base),
                            mirror=mirror, online=ask_forge, title=title, fail_on=policy, continuity=store,
                            system=system, **({"only": only} if only is not None else {}))
    finally:
        if store is not None:
            store.close()
    sys.stdout.write(formatter.audit_bump(report))
    _exit("audit-bump", report)


@app.command(cls=Command, epilog=examples(
    "commitguard annotate hello --keyring my-keyring --trust-root COMMIT --upstream-mirror ~/mirror",
    "commitguard annotate --keyring my-keyring --trust-root COMMIT --format cyclonedx > sbom.json",
))
def annotate(
    paths: Optional[list[str]] = typer.Argument(None, metavar="PACKAGE", help=PACKAGE_HELP),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("annotate", help="Output format (cyclonedx: a CycloneDX 1.6 SBOM; cyclonedx-1.5)."),
    rev: str = typer.Option("HEAD", "--rev", metavar="REV", help="Revision whose packages and history are annotated."),
    trust_root: Optional[str] = TrustRootOpt,
    upstream_mirror: Optional[str] = MirrorOpt,
    online: bool = typer.Option(False, "--online", help="Ask the forge for upstream evidence when there is no mirror."),
    repository: Optional[str] = RepositoryOpt,
    system: str = SystemOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = typer.Option(None, "--cache", metavar="DIR", help="Cache directory: verdicts and the history index."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Verify and index afresh; store nothing."),
) -> None:
    """For each package: upstream signer, the signers of every commit that touched it, approvers, mergers."""
    from commitguard.chain.annotate import AnnotateOptions, annotate as annotate_packages
    from commitguard.git.revisions import resolve_commit
    from commitguard.nix.selection import select_in_revision

    formatter = _formatter_supporting(format, "annotate")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [rev])
    selected: list[str] = []
    if paths:
        commit_id = str(resolve_commit(repository_obj, rev))
        selected = _nonempty(select_in_revision(repository_obj, commit_id, list(paths)), paths)
    loaded = _keyring_or_repository(keyring, repository_obj)
    from commitguard.upstream.mirror import check_mirror  # not imported for verify/check-pr: 0.14 s

    mirror = check_mirror(upstream_mirror)
    options = AnnotateOptions(
        rev=rev, paths=tuple(selected), trust_root=trust_root, mirror=mirror, online=online and mirror is None,
        repository=repository, cache_dir=_cache_dir(cache, no_cache), jobs=jobs, system=system,
    )
    report = annotate_packages(repository_obj, loaded, options)
    sys.stdout.write(formatter.annotate(report))
    _exit("annotate", report)


@app.command(cls=Command, epilog=examples(
    "commitguard pin hello jq --keyring my-keyring --trust-root COMMIT --lock commitguard.lock",
    "commitguard pin --check --lock commitguard.lock --keyring my-keyring --trust-root COMMIT --branch main",
))
def pin(
    packages: Optional[list[str]] = typer.Argument(
        None, metavar="PACKAGE",
        help="Package names (hello, python3Packages.requests) or paths (relative to the current directory); "
             "with --check, names in the lock (default: all)."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("pin"),
    branch: Optional[str] = typer.Option(None, "--branch", metavar="BRANCH",
                                         help="Branch to pin or check against (default: the checked-out branch; "
                                              "--check fails when the lock names another)."),
    lock: str = typer.Option("commitguard.lock", "--lock", metavar="FILE", help="Lock file to write, or to check."),
    check: bool = typer.Option(False, "--check", help="Check an existing lock instead of writing one."),
    trust_root: Optional[str] = TrustRootOpt,
    repository: Optional[str] = RepositoryOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = typer.Option(None, "--cache", metavar="DIR", help="Cache directory: verdicts and the history index."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Verify and index afresh; store nothing."),
) -> None:
    """The newest revision whose history for these packages is fully trusted; writes or checks a lock file."""
    from commitguard.chain.pin import PinOptions, check_lock, pin as pin_packages

    formatter = _formatter_supporting(format, "pin")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [branch or "HEAD"] if not check else [])
    loaded = _keyring_or_repository(keyring, repository_obj)
    names = list(packages or ())
    if names and not check:
        names = _pin_selection(repository_obj, branch or "HEAD", names)
    options = PinOptions(branch=branch, lock=lock, trust_root=trust_root, repository=repository,
                         cache_dir=_cache_dir(cache, no_cache), jobs=jobs)
    run = check_lock if check else pin_packages
    report = run(repository_obj, loaded, names, options)
    sys.stdout.write(formatter.pin(report))
    _exit("pin", report)


def _exit(command: str, report) -> None:
    """Exit 0 when everything checked holds; else exit 1 with one stderr line saying why."""
    if report.ok:
        raise typer.Exit(0)
    sys.stdout.flush()
    print(why_exit_1(command, report), file=sys.stderr)
    raise typer.Exit(1)


def _exit_code(command: str, code: int, why: str) -> None:
    """Exit with ``code`` from the GitHub mode, saying why on stderr when it is 1."""
    if code == 1:
        sys.stdout.flush()
        print(f"commitguard: {command}: exit 1: {why}", file=sys.stderr)
    raise typer.Exit(code)


def _nonempty(selected: list[str], arguments) -> list[str]:
    """An empty selection must never widen to "every package"."""
    if not selected:
        raise CommitguardError(f"no package expression (package.nix, default.nix or a .nix file) in "
                               f"{', '.join(arguments)}", field="PACKAGE")
    return selected


def _pin_selection(repository_obj, branch: str, arguments: list[str]) -> list[str]:
    """Paths made repository-relative and names nixpkgs would resolve; by-name names and
    directory names are left to pin, which locks them under the name given."""
    from commitguard.git.revisions import resolve_commit
    from commitguard.nix.selection import resolve_in_revision

    commit_id = str(resolve_commit(repository_obj, branch, "branch"))
    out = []
    for item in resolve_in_revision(repository_obj, commit_id, arguments):
        out.append(item.path if item.how in ("path", "attribute") else item.argument)
    return out


def _bump_selection(repository_obj, base: str, head: str, arguments: list[str]) -> tuple[str, ...]:
    """The chosen packages' expression files, looked up in the head (a package the
    change removes: in the base)."""
    from commitguard.git.revisions import resolve_commit
    from commitguard.nix.selection import select_in_revision

    out: dict[str, None] = {}
    for argument in arguments:
        try:
            found = select_in_revision(repository_obj, str(resolve_commit(repository_obj, head, "head")), [argument])
        except CommitguardError:
            found = select_in_revision(repository_obj, str(resolve_commit(repository_obj, base, "base")), [argument])
        out.update(dict.fromkeys(_nonempty(found, [argument])))
    return tuple(out)


def _formatter_supporting(name: str, command: str):
    """The formatter, refused (exit 2) before any work if it cannot render ``command``."""
    from commitguard.output.interface import Formatter

    formatter = formatter_for(name, color=sys.stdout.isatty())
    if getattr(type(formatter), command) is getattr(Formatter, command):
        getattr(formatter, command)(None)  # the base class raises the usage error
    return formatter


def _keyring_or_repository(explicit: str | None, repository) -> "object | None":
    """The keyring named by --keyring or $COMMITGUARD_KEYRING; None: the one kept in the repository."""
    directory, in_repo = choose_keyring_dir(explicit, repository.workdir)
    return None if in_repo else load_keyring(directory)


def _cache_dir(cache: str | None, no_cache: bool) -> str | None:
    if no_cache:
        return None
    if cache:
        return cache
    from commitguard.verify.cache import default_cache_dir

    return str(default_cache_dir())


def _keyring_for_pull_request(explicit: str | None, repository) -> "object | None":
    """An external keyring when named; else None: the base's own keyring is read."""
    import os as _os

    if explicit or _os.environ.get("COMMITGUARD_KEYRING"):
        directory, _ = choose_keyring_dir(explicit, repository.workdir)
        return load_keyring(directory)
    return None


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(args=argv, prog_name="commitguard", standalone_mode=False)
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
            if type(exc).__name__ == "NoArgsIsHelpError":  # no command given: the help is the message
                print(message, file=sys.stderr)
            elif message:  # empty after no_args_is_help printed the help
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
