"""``audit-bump``: is a version-bump change only that, and does upstream still vouch for it the same way?

The package's front door: the CLI, :mod:`commitguard.forge.github_bump` and
the library's users import from here. One module per job:

- :mod:`~commitguard.bump.audit` runs the audit (orchestration);
- :mod:`~commitguard.bump.model` is the report (frozen dataclasses, finding codes, ``--fail-on``);
- :mod:`~commitguard.bump.normalise` and :mod:`~commitguard.bump.syntax` read an expression
  with version, hash and revision literals normalised away;
- :mod:`~commitguard.bump.sides` reads a package directory at one commit from git;
- :mod:`~commitguard.bump.compare` names each change between two sides and says what kind of change it is;
- :mod:`~commitguard.bump.altering` flags hash-altering fetcher arguments a change adds;
- :mod:`~commitguard.bump.signers` compares who signs upstream, across versions and audits;
- :mod:`~commitguard.bump.tarball` reads a release tarball against its tag;
- :mod:`~commitguard.bump.claims` checks titles (``NAME: OLD -> NEW``) and recognises bots.
"""

from commitguard.bump.audit import audit_bump, empty_keyring, keyring_for_audit
from commitguard.bump.claims import Claim, detect_bot, parse_claim
from commitguard.bump.model import (
    CODES,
    COMMENT_MARKER,
    KINDS,
    Bot,
    BumpReport,
    FailOn,
    Finding,
    PackageAudit,
    TarballComparison,
    parse_fail_on,
)
from commitguard.bump.normalise import Normaliser
from commitguard.bump.syntax import ExpressionSummary
from commitguard.bump.tarball import compare_tarball_with_tag

__all__ = [
    "CODES", "COMMENT_MARKER", "KINDS", "Bot", "BumpReport", "Claim", "ExpressionSummary", "FailOn", "Finding",
    "Normaliser", "PackageAudit", "TarballComparison", "audit_bump", "compare_tarball_with_tag",
    "detect_bot", "empty_keyring", "keyring_for_audit", "parse_claim", "parse_fail_on",
]
