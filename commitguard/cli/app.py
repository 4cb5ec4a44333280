"""The command line: parsing and printing only; the work is in the library."""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Optional

import typer

from commitguard import __version__
from commitguard.cli.attest import ATTEST_EXAMPLES, VERIFY_EXAMPLES, attest_command, verify_attestation_command
from commitguard.cli.keyring import keyring_app
from commitguard.cli.options import (BaseOpt, BranchOpt, CacheOpt, Command, ForgeRecordOpt, HeadOpt, JobsOpt,
                                     command_group,
                                     KeyringOpt, NoCacheOpt, RepoOpt, RevOpt, RevsArg, TrustRootOpt, cache_dir,
                                     examples, format_option, formatter_for_command, require_commits, revision_option,
                                     why_exit_1)
from commitguard.errors import CommitguardError
from commitguard import open_repository
from commitguard.git.revisions import DEFAULT_MAX_COMMITS
from commitguard.keyring import select_keyring
from commitguard import VerifyOptions, verify_with_repository_keyring
from commitguard.signatures.sigstore.transparency import transparency_for

app = command_group(
    "Check who wrote, signed and reviewed the commits of a nixpkgs-style repository.",
    examples(
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
    """A progress bar on stderr for long runs, only when a person is watching
    (rich is imported then only: JSON output and pipes do not pay for it)."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

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
    revs: Optional[list[str]] = RevsArg,
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("verify"),
    trust_root: Optional[str] = TrustRootOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = CacheOpt,
    no_cache: bool = NoCacheOpt,
    forge_record: Optional[str] = ForgeRecordOpt,
    max_commits: int = typer.Option(
        DEFAULT_MAX_COMMITS, "--max-commits", min=1, metavar="N", help="Stop with an error past this many commits."
    ),
    upstream_mirror: Optional[str] = MirrorOpt,
    online: bool = typer.Option(False, "--online", help="Ask Rekor for gitsign log entries when there is no mirror."),
) -> None:
    """Verify every commit reachable from REV down to the keyring's trust root."""
    formatter = formatter_for_command(format, "verify")
    repository = open_repository(repo)
    require_commits(repository, revs or ["HEAD"])
    loaded = _keyring_or_repository(keyring, repository)
    update, stop = _progress_printer(format == "text" and sys.stderr.isatty())
    options = VerifyOptions(
        revs=tuple(revs or ["HEAD"]),
        trust_root=trust_root,
        jobs=jobs,
        cache_dir=cache_dir(cache, no_cache),
        max_commits=max_commits,
        progress=update,
        transparency=transparency_for(upstream_mirror, online),  # gitsign: DIR/rekor/, Rekor with --online
    )
    try:
        if loaded is None:
            report = verify_with_repository_keyring(repository, options)
        else:
            from commitguard.attest.checkpoint import verify_history

            report, search = verify_history(repository, loaded, options, forge_record=forge_record)
            for line in search.ignored:
                print(f"commitguard: warning: {line}", file=sys.stderr)
    finally:
        if stop:
            stop()
    formatter.write("verify", report, sys.stdout)
    _exit("verify", report)


@app.command(cls=Command, epilog=examples("commitguard demo", "commitguard demo /tmp/commitguard-demo"))
def demo(
    directory: Optional[str] = typer.Argument(None, metavar="DIR",
                                              help="Where to build the demo (default: a new temporary directory)."),
) -> None:
    """Build a small signed nixpkgs-style repository with throwaway keys and verify it."""
    from rich.console import Console

    from commitguard.cli.demo import run_demo

    raise typer.Exit(run_demo(directory, Console()))


@app.command("check-pr", cls=Command, epilog=examples(
    "commitguard check-pr --base origin/master --head HEAD --format markdown",
    "commitguard check-pr --github OWNER/REPO --pr 123",
))
def check_pr(
    base: Optional[str] = BaseOpt,
    head: Optional[str] = HeadOpt,
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("check-pr"),
    trust_root: Optional[str] = TrustRootOpt,
    repository: Optional[str] = RepositoryOpt,
    github: Optional[str] = GithubOpt,
    pr: Optional[int] = PrOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = CacheOpt,
    no_cache: bool = NoCacheOpt,
) -> None:
    """Pre-merge check: every commit signed by a keyring person, enough signed approvals per rule."""
    from commitguard.keyring.select import require_base_under_trust_root
    from commitguard import PullRequest, check_pull_request
    from commitguard.review.check_pr import repository_name

    formatter = formatter_for_command(format, "check-pr")
    options = VerifyOptions(jobs=jobs, cache_dir=cache_dir(cache, no_cache))
    if github:
        from commitguard.forge.github_pr import annotations, check_github_pull_request
        from commitguard.output.sarif import SarifFormatter

        checked = check_github_pull_request(github, pr, repo, select_keyring(keyring), options=options,
                                            trust_root=trust_root)
        if isinstance(formatter, SarifFormatter):
            formatter.commit_files = checked.touched
        _publish_github("check-pr", formatter, checked.report, annotations(checked.report, checked.touched))
        _exit("check-pr --github", checked.report)
    if not base or not head:
        raise CommitguardError("check-pr needs --base REV and --head REV (or --github OWNER/REPO --pr N)", field="--base")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [base, head])
    loaded = select_keyring(keyring).load()
    # a valid checkpoint below the base stands for the history down to the trust root, which a
    # shallow clone since the checkpoint does not hold
    start, checkpoint = _from_checkpoint(repository_obj, loaded, base, trust_root)
    require_base_under_trust_root(repository_obj, start, base)
    report = check_pull_request(
        repository_obj,
        PullRequest(base=base, head=head, repository=repository_name(repository_obj, repository), number=pr),
        loaded,
        options=options,
    )
    if loaded is not None and loaded.verifiers:
        report = dataclasses.replace(report, checkpoint=checkpoint, checkpointing=True)
    formatter.write("check-pr", report, sys.stdout)
    _exit("check-pr", report)


@app.command(cls=Command, epilog=examples(
    "commitguard approve --base origin/master --head pr-branch --ssh-key ~/.ssh/id_ed25519",
    "commitguard approve --head COMMIT --openpgp-key FPR          # an audit of a merged commit",
    "commitguard approve --github OWNER/REPO --pr 123 --ssh-key ~/.ssh/id_ed25519",
))
def approve(
    head: str = revision_option("--head", "The commit you reviewed: a pull request head, or a merged commit", "HEAD"),
    base: Optional[str] = revision_option("--base", "What it merges into, by default the head's first parent"),
    repo: str = RepoOpt,
    ssh_key: Optional[str] = typer.Option(None, "--ssh-key", metavar="PATH",
                                          help="Your SSH key (private key file, or public key with ssh-agent)."),
    openpgp_key: Optional[str] = typer.Option(None, "--openpgp-key", metavar="FPR",
                                              help="Your OpenPGP key fingerprint (GnuPG, $GNUPGHOME)."),
    repository: Optional[str] = RepositoryOpt,
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

        done = approve_on_github(github, pr, repository_obj, ssh_key, openpgp_key, store=not no_store)
        said = f"approved {done.head[:12]} (base {done.base[:12]}) of {done.where}"
        if done.stored_in:
            print(f"{said}: stored in {done.stored_in}")
        print(f"{said}: posted {done.posted}")
        if done.stored_in:
            print("share the git note too with: git push origin refs/notes/commitguard")
        raise typer.Exit(0)
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
    jobs: Optional[int] = JobsOpt,
) -> None:
    """Map package expressions to their upstream sources and check upstream's signatures."""
    from pathlib import Path

    from commitguard import scan_sources
    from commitguard.nix.selection import select_in_worktree

    formatter = formatter_for_command(format, "sources")
    repository_obj = open_repository(repo)
    root = Path(repository_obj.workdir or repo)
    selected = _nonempty(select_in_worktree(root, list(paths)), paths) if paths else []
    # Only a keyring the user names: the working tree's own .commitguard/keyring
    # could come from the very change under review and vouch for its upstream.
    loaded = select_keyring(keyring).load()
    access = _upstream_access(upstream_mirror, online)
    report = scan_sources(root, selected, loaded, mirror=access.mirror, online=access.online, system=system,
        nix_eval=nix_eval, jobs=jobs,
    )
    formatter.write("sources", report, sys.stdout)
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
    base: Optional[str] = BaseOpt,
    head: Optional[str] = HeadOpt,
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
    from commitguard import audit_bump
    from commitguard.bump import keyring_for_audit, parse_fail_on
    from commitguard.upstream import ContinuityStore

    formatter = formatter_for_command(format, "audit-bump")
    policy = parse_fail_on(fail_on)
    access = _upstream_access(upstream_mirror, online)
    if comment and not github:
        raise CommitguardError("--comment needs --github OWNER/REPO", field="--comment")
    if github and packages:
        raise CommitguardError("package arguments are not supported with --github: the whole pull request is audited",
                               field="PACKAGE")
    store = ContinuityStore(continuity) if continuity else None
    try:
        if github:
            from commitguard.forge.github_bump import audit_github_pull_request

            audited = audit_github_pull_request(github, pr, repo, select_keyring(keyring), mirror=access.mirror,
                                                online=access.online, fail_on=policy, comment=comment,
                                                continuity=store, system=system)
            if audited.comment_url:
                print(f"commitguard: audit posted to {audited.comment_url}", file=sys.stderr)
            _publish_github("audit-bump", formatter, audited.report, [])
            _exit("audit-bump --github", audited.report)
        if not base or not head:
            raise CommitguardError("audit-bump needs --base REV and --head REV (or --github OWNER/REPO --pr N)", field="--base")
        repository_obj = open_repository(repo)
        require_commits(repository_obj, [base, head])
        only = _bump_selection(repository_obj, base, head, packages) if packages else None
        judge = keyring_for_audit(select_keyring(keyring), repository_obj, base)
        report = audit_bump(repository_obj, base, head, keyring=judge,
                            mirror=access.mirror, online=access.online, title=title, fail_on=policy, continuity=store,
                            system=system, **({"only": only} if only is not None else {}))
    finally:
        if store is not None:
            store.close()
    formatter.write("audit-bump", report, sys.stdout)
    _exit("audit-bump", report)


@app.command(cls=Command, epilog=examples(
    "commitguard annotate hello --keyring my-keyring --trust-root COMMIT --upstream-mirror ~/mirror",
    "commitguard annotate --keyring my-keyring --trust-root COMMIT --format cyclonedx > sbom.json",
    "commitguard annotate --closure /nix/store/...-hello-2.12.drv --repo nixpkgs --rev REV --keyring my-keyring",
    "commitguard annotate --closure sbom.cdx.json --repo nixpkgs --rev REV --format cyclonedx > annotated.cdx.json",
))
def annotate(
    paths: Optional[list[str]] = typer.Argument(None, metavar="PACKAGE", help=PACKAGE_HELP),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("annotate", help="Output format (cyclonedx: a CycloneDX 1.6 SBOM; cyclonedx-1.5)."),
    rev: str = RevOpt,
    trust_root: Optional[str] = TrustRootOpt,
    upstream_mirror: Optional[str] = MirrorOpt,
    online: bool = typer.Option(False, "--online", help="Ask the forge for upstream evidence when there is no mirror."),
    repository: Optional[str] = RepositoryOpt,
    system: str = SystemOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = CacheOpt,
    no_cache: bool = NoCacheOpt,
    closure: Optional[str] = typer.Option(
        None, "--closure", metavar="TARGET",
        help="Annotate every derivation of a closure instead of packages: a .drv or output store path, a file of "
             "store paths (nix-store -qR), Nix's derivation JSON, or a CycloneDX SBOM from sbomnix or bombon."),
    store: Optional[str] = typer.Option(
        None, "--store", metavar="STORE",
        help="The Nix store the closure is read from, as nix's --store takes it (a directory or local?root=DIR); "
             "default: the system's."),
) -> None:
    """For each package: upstream signer, the signers of every commit that touched it, approvers, mergers."""
    from commitguard import AnnotateOptions, annotate as annotate_packages
    from commitguard.git.revisions import resolve_commit
    from commitguard.nix.selection import select_in_revision

    formatter = formatter_for_command(format, "annotate")
    if closure is not None and paths:
        raise CommitguardError("--closure annotates a closure's derivations: give no PACKAGE with it", field="PACKAGE")
    if store is not None and closure is None:
        raise CommitguardError("--store is read only with --closure", field="--store")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [rev])
    selected: list[str] = []
    if paths:
        commit_id = str(resolve_commit(repository_obj, rev))
        selected = _nonempty(select_in_revision(repository_obj, commit_id, list(paths)), paths)
    loaded = _keyring_or_repository(keyring, repository_obj)
    access = _upstream_access(upstream_mirror, online)
    start, checkpoint = _from_checkpoint(repository_obj, loaded, rev, trust_root)
    options = AnnotateOptions(
        rev=rev, paths=tuple(selected), trust_root=start, mirror=access.mirror, online=access.online,
        repository=repository, cache_dir=cache_dir(cache, no_cache), jobs=jobs, system=system,
    )
    if closure is not None:
        from commitguard.closure.report import ClosureOptions, annotate_closure

        formatter.require("annotate --closure")
        closure_report = annotate_closure(repository_obj, loaded, ClosureOptions(closure, store, options))
        if loaded is not None and loaded.verifiers:
            closure_report = dataclasses.replace(closure_report, checkpoint=checkpoint, checkpointing=True)
        formatter.write("annotate --closure", closure_report, sys.stdout)
        _exit("annotate --closure", closure_report)
    report = annotate_packages(repository_obj, loaded, options)
    if loaded is not None and loaded.verifiers:
        report = dataclasses.replace(report, checkpoint=checkpoint, checkpointing=True)
    formatter.write("annotate", report, sys.stdout)
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
    branch: Optional[str] = BranchOpt,
    lock: str = typer.Option("commitguard.lock", "--lock", metavar="FILE", help="Lock file to write, or to check."),
    check: bool = typer.Option(False, "--check", help="Check an existing lock instead of writing one."),
    trust_root: Optional[str] = TrustRootOpt,
    repository: Optional[str] = RepositoryOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = CacheOpt,
    no_cache: bool = NoCacheOpt,
) -> None:
    """The newest revision whose history for these packages is fully trusted; writes or checks a lock file."""
    from commitguard import PinOptions, check_lock, pin as pin_packages

    formatter = formatter_for_command(format, "pin")
    repository_obj = open_repository(repo)
    require_commits(repository_obj, [branch or "HEAD"] if not check else [])
    loaded = _keyring_or_repository(keyring, repository_obj)
    names = list(packages or ())
    if names and not check:
        names = _pin_selection(repository_obj, branch or "HEAD", names)
    checkpoint = None
    if not check:  # a lock is checked from the trust root the command line and the keyring name
        trust_root, checkpoint = _from_checkpoint(repository_obj, loaded, branch or "HEAD", trust_root)
    options = PinOptions(branch=branch, lock=lock, trust_root=trust_root, repository=repository,
                         cache_dir=cache_dir(cache, no_cache), jobs=jobs)
    run = check_lock if check else pin_packages
    report = run(repository_obj, loaded, names, options)
    if loaded is not None and loaded.verifiers and not check:
        report = dataclasses.replace(report, checkpoint=checkpoint, checkpointing=True)
    formatter.write("pin", report, sys.stdout)
    _exit("pin", report)


@app.command("forge-sync", cls=Command, epilog=examples(
    "commitguard forge-sync --github NixOS/nixpkgs",
    "commitguard forge-sync --github OWNER/REPO --record forge.jsonl --since 2026-01-01 --format json",
))
def forge_sync(
    github: str = typer.Option(..., "--github", metavar="OWNER/REPO",
                               help="Repository whose merged pull requests and reviews are read."),
    record: Optional[str] = typer.Option(
        None, "--record", metavar="FILE",
        help="Forge record to update (default: CACHE/forge/github.com/OWNER/REPO.jsonl in the cache directory)."),
    format: str = format_option("forge-sync"),
    since: Optional[str] = typer.Option(None, "--since", metavar="DATE",
                                        help="Also read pull requests updated since DATE (YYYY-MM-DD)."),
    max_pulls: Optional[int] = typer.Option(None, "--max-pulls", min=1, metavar="N",
                                            help="Read the reviews of at most N pull requests in this run "
                                                 "(default: 5000)."),
    wait_on_rate_limit: bool = typer.Option(False, "--wait-on-rate-limit",
                                            help="Wait for GitHub's rate limit to reset instead of stopping."),
) -> None:
    """Read merged pull requests and their reviews through GitHub's API into the local forge record."""
    import json

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn

    from commitguard.forge.record import sync_forge_record

    progress = Progress(TextColumn("reading pull requests"), BarColumn(), TextColumn("{task.fields[said]}"),
                        console=Console(stderr=True), transient=True, disable=not sys.stderr.isatty())

    def update(done) -> None:
        if done.waiting_until:
            progress.console.print(f"commitguard: forge-sync: GitHub's rate limit is used up, waiting until "
                                   f"{done.waiting_until}", markup=False, highlight=False, soft_wrap=True)
        progress.update(task, said=f"{done.listed} listed, {done.read} read")

    with progress:
        task = progress.add_task("forge-sync", total=None, said="")
        summary = sync_forge_record(github, record, since=since, progress=update, wait_on_rate_limit=wait_on_rate_limit,
                                    **({"max_pulls": max_pulls} if max_pulls else {}))
    if format == "json":
        print(json.dumps(summary.as_dict(), indent=2, sort_keys=True))
    else:
        said = "complete" if summary.complete else f"incomplete ({summary.stopped}): run again to continue"
        print(f"{summary.forge}/{summary.repository}: {summary.read} pull requests read, {summary.listed} listed, "
              f"{summary.pulls} recorded; {said}")
        print(f"record: {summary.path}")


app.command("attest", cls=Command, epilog=examples(*ATTEST_EXAMPLES))(attest_command)
app.command("verify-attestation", cls=Command, epilog=examples(*VERIFY_EXAMPLES))(verify_attestation_command)


def _exit(command: str, report) -> None:
    """Exit 0 when everything checked holds; else exit 1 with one stderr line saying why."""
    if report.ok:
        raise typer.Exit(0)
    sys.stdout.flush()
    print(why_exit_1(command, report), file=sys.stderr)
    raise typer.Exit(1)


def _publish_github(command: str, formatter, report, annotation_lines: list[str]) -> None:
    """Print a ``--github`` report; inside GitHub Actions also where a reviewer looks: the
    job summary (markdown) and ``::error`` annotations. The pull request's own text
    (subjects, paths, titles) must never be read as a workflow command."""
    import secrets

    from commitguard.forge.github_pr import in_github_actions, write_step_summary
    from commitguard.output.markdown import MarkdownFormatter

    rendered = formatter.render(command, report)
    if not in_github_actions():
        sys.stdout.write(rendered)
        return
    write_step_summary(rendered if formatter.name == "markdown" else MarkdownFormatter().render(command, report))
    lines = "".join(line + "\n" for line in annotation_lines)
    if formatter.name in ("json", "sarif"):
        # stdout stays one JSON document; the runner reads commands on stderr too
        sys.stderr.write(lines)
        sys.stdout.write(rendered)
    else:
        token = secrets.token_hex(16)
        sys.stdout.write(f"{lines}::stop-commands::{token}\n{rendered}::{token}::\n")


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


def _from_checkpoint(repository, loaded, tip: str, trust_root: str | None) -> tuple[str | None, dict | None]:
    """(where history is judged from, the checkpoint taken): the newest valid checkpoint below
    ``tip`` when the keyring lists verifiers, else the trust root. Summaries not taken are named
    on stderr."""
    if loaded is None or not loaded.verifiers:
        return trust_root, None
    from commitguard.attest.checkpoint import find_checkpoint

    search = find_checkpoint(repository, loaded, [tip], trust_root or loaded.policy.trust_root)
    for line in search.ignored:
        print(f"commitguard: warning: {line}", file=sys.stderr)
    if search.checkpoint is None:
        return trust_root, None
    return search.checkpoint.commit, search.checkpoint.to_json()


def _keyring_or_repository(option: str | None, repository) -> "object | None":
    """The user's keyring; None: the repository's own, judged commit by commit, which
    the working tree must show (else "no keyring": the user may have forgotten --keyring)."""
    choice = select_keyring(option)
    choice.require_in_worktree(repository.workdir)
    return choice.load()


def _upstream_access(mirror: str | None, online: bool):
    from commitguard.upstream.mirror import upstream_access  # not imported for verify/check-pr: 0.14 s

    return upstream_access(mirror, online)


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
