"""``attest`` and ``verify-attestation``: thin commands over :mod:`commitguard.attest`.

Registered on the main application by :mod:`commitguard.cli.app`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from commitguard.cli.options import (CacheOpt, JobsOpt, KeyringOpt, NoCacheOpt, RepoOpt, TrustRootOpt, cache_dir,
                                     format_option, require_commits)
from commitguard.errors import CommitguardError
from commitguard.git.revisions import open_repository, resolve_commit
from commitguard.keyring import select_keyring

ATTEST_EXAMPLES = (
    "commitguard attest --keyring my-keyring --verifier ci --ssh-key ~/.ssh/ci_ed25519",
    "commitguard attest origin/master --keyring my-keyring --verifier ci --openpgp-key FPR --format json",
    "git push origin refs/notes/commitguard-vsa      # share the checkpoint",
)
VERIFY_EXAMPLES = (
    "commitguard verify-attestation HEAD --keyring my-keyring",
    "commitguard verify-attestation vsa.json --keyring my-keyring --format json",
)


def _external_keyring(option: str | None):
    keyring = select_keyring(option).load()
    if keyring is None:
        raise CommitguardError("a checkpoint is made and checked under your own keyring: pass --keyring DIR "
                               "(or set $COMMITGUARD_KEYRING)", field="--keyring")
    return keyring


def attest_command(
    rev: str = typer.Argument("HEAD", metavar="REV", help="The revision to verify and attest (default: HEAD)."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    verifier: str = typer.Option("commitguard", "--verifier", metavar="ID",
                                 help="Your [[verifier]] id in the keyrings that will start from this checkpoint."),
    ssh_key: Optional[str] = typer.Option(None, "--ssh-key", metavar="PATH",
                                          help="The verifier's SSH key (private key file, or public key with ssh-agent)."),
    openpgp_key: Optional[str] = typer.Option(None, "--openpgp-key", metavar="FPR",
                                              help="The verifier's OpenPGP key fingerprint (GnuPG, $GNUPGHOME)."),
    format: str = format_option("attest"),
    trust_root: Optional[str] = TrustRootOpt,
    jobs: Optional[int] = JobsOpt,
    cache: Optional[str] = CacheOpt,
    no_cache: bool = NoCacheOpt,
    no_store: bool = typer.Option(False, "--no-store", help="Do not write refs/notes/commitguard-vsa; print it only."),
) -> None:
    """Verify REV as verify does and, only when every commit is trusted, sign a SLSA verification summary of it."""
    from commitguard.attest.make import AttestOptions, attest

    repository = open_repository(repo)
    require_commits(repository, [rev])
    loaded = _external_keyring(keyring)
    done = attest(repository, loaded, AttestOptions(
        rev=rev, verifier=verifier, ssh_key=ssh_key, openpgp_key=openpgp_key, trust_root=trust_root,
        cache_dir=cache_dir(cache, no_cache), jobs=jobs, store=not no_store))
    for line in done.search.ignored:
        print(f"commitguard: warning: {line}", file=sys.stderr)
    if format == "json":
        print(json.dumps(done.to_json(), indent=2, sort_keys=True))
    elif done.ok:
        levels = ", ".join(done.summary.levels) if done.summary else ""
        print(f"attested {done.commit[:12]}: {done.report.summary()['total']} commit(s) verified"
              + (f" after checkpoint {done.search.checkpoint.commit[:12]}" if done.search.checkpoint else "")
              + f"; levels {levels}")
        if done.stored:
            print(f"stored in {done.stored}; share it with: git push origin refs/notes/commitguard-vsa")
        else:
            print(done.envelope)
        if done.self_check:
            print(f"this keyring: {done.self_check}")
    if not done.ok:
        untrusted = len(done.report.untrusted_ids())
        print(f"commitguard: attest: exit 1: {untrusted} commit(s) not trusted: no summary was made", file=sys.stderr)
        raise typer.Exit(1)


def verify_attestation_command(
    target: str = typer.Argument(..., metavar="FILE|REV",
                                 help="A file holding envelopes (one a line), or a revision whose notes hold them."),
    repo: str = RepoOpt,
    keyring: Optional[str] = KeyringOpt,
    format: str = format_option("verify-attestation"),
) -> None:
    """Check signed verification summaries: verifier's signature, subject, keyring digest, result."""
    from commitguard.attest.check import AttestationChecker, stored_summaries

    loaded = _external_keyring(keyring)
    checker = AttestationChecker(loaded)
    path = Path(target)
    if path.is_file() and not _is_revision(repo, target):
        texts = [line for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
        commit = None
        where = str(path)
    else:
        repository = open_repository(repo)
        require_commits(repository, [target])
        commit = str(resolve_commit(repository, target, "revision"))
        texts = stored_summaries(repository, commit)
        where = f"refs/notes/commitguard-vsa on {commit[:12]}"
    checks = [checker.check(text, commit) for text in texts]
    ok = any(c.valid for c in checks)
    if format == "json":
        print(json.dumps({"ok": ok, "source": where, "attestations": [c.to_json() for c in checks]}, indent=2,
                         sort_keys=True))
    else:
        if not checks:
            print(f"{where}: no verification summary")
        for check in checks:
            subject = check.summary.commit[:12] if check.summary else "?"
            print(f"{'valid  ' if check.valid else 'INVALID'}  {subject}  {check.reason}")
    if not ok:
        print(f"commitguard: verify-attestation: exit 1: no valid verification summary in {where}", file=sys.stderr)
        raise typer.Exit(1)


def _is_revision(repo: str, target: str) -> bool:
    """A name that is both a file and a revision is read as the file only when it is not a revision."""
    try:
        repository = open_repository(repo) if os.path.isdir(repo) else None
        return repository is not None and resolve_commit(repository, target, "revision") is not None
    except CommitguardError:
        return False
