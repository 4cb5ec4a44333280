"""commitguard: contribution-integrity checks for nixpkgs-style repositories.

The library's front door: the calls the command line makes, for library users
alike. Open the repository once and pass it to every call::

    import commitguard

    repo = commitguard.open_repository("nixpkgs")
    keyring = commitguard.load_keyring("my-keyring")
    report = commitguard.verify_revisions(repo, keyring, commitguard.VerifyOptions(revs=("HEAD",)))

- :func:`open_repository` (a path inside a work tree, or a bare repository)
  and :func:`load_keyring` (a keyring directory);
- :func:`verify_revisions` with :class:`VerifyOptions`: every commit signed by
  a keyring person? :func:`verify_with_repository_keyring` judges by the
  keyring kept in the repository instead (it needs a trust root);
  :func:`vouch_report` then asks the other kinds the keyring's ``[policy]
  accept`` lists (``audit``) about each commit its signature left untrusted,
  as ``commitguard verify`` does;
- :func:`check_pull_request` with :class:`PullRequest`: the pre-merge check;
- :func:`annotate` with :class:`AnnotateOptions`: who vouched for each package;
  :func:`annotate_closure` with :class:`ClosureOptions`: the same for every
  derivation of a closure (a ``.drv``, an output path, Nix's derivation JSON,
  a list of store paths or an sbomnix/bombon SBOM);
- :func:`pin` and :func:`check_lock` with :class:`PinOptions`: the newest
  revision whose packages' history is trusted;
- :func:`audit_bump`: is a version-bump change only that?
- :func:`scan_sources`: each package expression's upstream source, and
  upstream's own signature on it;

Each returns a report (``.ok``, ``.to_json()``) and never prints; a problem
with the input raises :class:`CommitguardError`. The names are imported on
first use, so ``import commitguard`` stays cheap; none of them is the name of
a subpackage (``commitguard.verify`` is the package of verification stages).
"""

import importlib as _importlib
import warnings as _warnings

# sshpubkeys imports cryptography's DSA classes, which cryptography 51 marks
# deprecated on import. commitguard rejects DSA signatures as weak anyway; the
# warning would only break the contract that an error is one line on stderr.
# The filter matches that one message and nothing else.
_warnings.filterwarnings("ignore", message="DSA is deprecated", module="sshpubkeys")
_warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"commitguard\.")
import os as _os

# pysequoia reports errors through Rust's anyhow, which captures a full stack
# backtrace for every error when RUST_BACKTRACE is set. Verification failures
# are ordinary results here, not bugs, so we switch that capture off before the
# extension is loaded: it costs milliseconds per failed signature otherwise.
_os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

__version__ = "0.1.0"

# name -> the module that defines it
_FRONT_DOOR = {
    "CommitguardError": "commitguard.errors",
    "open_repository": "commitguard.git.revisions",
    "load_keyring": "commitguard.keyring",
    "VerifyOptions": "commitguard.verify.commits",
    "verify_revisions": "commitguard.verify.commits",
    "verify_with_repository_keyring": "commitguard.verify.in_repository",
    "vouch_report": "commitguard.review.vouch_history",
    "PullRequest": "commitguard.review.check_pr",
    "check_pull_request": "commitguard.review.check_pr",
    "AnnotateOptions": "commitguard.chain.annotate",
    "annotate": "commitguard.chain.annotate",
    "ClosureOptions": "commitguard.closure.report",
    "annotate_closure": "commitguard.closure.report",
    "PinOptions": "commitguard.chain.pin",
    "pin": "commitguard.chain.pin",
    "check_lock": "commitguard.chain.pin",
    "audit_bump": "commitguard.bump",
    "scan_sources": "commitguard.upstream.scan",
}

__all__ = ["__version__", *_FRONT_DOOR]


def __getattr__(name: str):
    """Import a front-door name on first use (PEP 562), then keep it."""
    module = _FRONT_DOOR.get(name)
    if module is None:
        raise AttributeError(f"module 'commitguard' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FRONT_DOOR})
