"""SARIF 2.1.0: the check-pr findings as code-scanning results on the files concerned.

Code scanning shows a result where its location is, so every finding is put
on a file of the pull request: an unmet rule on the files it covers, an
uncovered path on itself, an untrusted commit on the files that commit
changed (when the caller could read them from the repository; otherwise on
the pull request's first changed file, with the commit named in the message).
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

from commitguard import __version__
from commitguard.output.interface import Formatter, vouched_by

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_LOCATIONS = 20


def _rule(rule_id: str, name: str, short: str, full: str, help: str) -> dict:
    """A reporting descriptor: every commitguard finding fails the check, so every level is error."""
    return {"id": rule_id, "name": name, "shortDescription": {"text": short}, "fullDescription": {"text": full},
            "help": {"text": help}, "defaultConfiguration": {"level": "error"}}


RULES = (
    _rule("untrusted-commit", "UntrustedCommit", "A commit is not signed by a person the keyring trusts",
          "Every commit of a pull request must carry a valid signature by a non-revoked key of a keyring person, "
          "valid when it signed.",
          "Re-sign the commit with a key listed in the keyring (git commit --amend -S, "
          "git rebase --exec 'git commit --amend --no-edit -S'), or add the signer's key to the keyring "
          "in a separate, reviewed change."),
    _rule("missing-approval", "MissingApproval", "A review rule lacks signed approvals for the exact head",
          "Files matched by a [[rule]] need that many signed approvals, by distinct eligible persons other than "
          "the pull request's authors, of the current head commit.",
          "An eligible reviewer runs: commitguard approve --github OWNER/REPO --pr N --ssh-key ~/.ssh/id_ed25519"),
    _rule("uncovered-path", "UncoveredPath", "A changed file is covered by no review rule",
          "A changed path that no [[rule]] covers fails the check: an empty or partial policy is not a vacuous yes.",
          "Add a [[rule]] whose paths match this file to the keyring."),
)
_INDEX = {rule["id"]: i for i, rule in enumerate(RULES)}


def _location(path: str) -> dict:
    return {"physicalLocation": {"artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": "%SRCROOT%"},
                                 "region": {"startLine": 1}}}


def _fingerprint(*parts: str) -> str:
    """Stable across runs, so code scanning tracks one finding instead of opening a new one each push."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class SarifFormatter(Formatter):
    name = "sarif"

    def __init__(self):
        # commit id -> the pull request's files it changed; filled by callers
        # that can read the repository (the report alone does not say)
        self.commit_files: dict[str, tuple[str, ...]] = {}

    def check_pr(self, report) -> str:
        pr = report.pull_request
        fallback = report.changed_files[:1]
        results = []
        for c in report.commits:
            if c.trusted:
                continue
            files = self.commit_files.get(c.id) or fallback
            subject = f" ({c.summary})" if c.summary else ""
            results.append(self._result(
                "untrusted-commit",
                f"Commit {c.id[:12]}{subject} is not trusted: {c.status.value}: {c.reason}",
                files, _fingerprint("untrusted-commit", c.id),
                {"commit": c.id, "status": c.status.value, "signer": c.signer},
            ))
        for r in report.rules:
            if r.ok:
                continue
            package = f" (package {r.package})" if r.package else ""
            parts = [f"{len(r.approved_by)} of {r.required} signed approval(s) for {', '.join(r.paths)}{package}"]
            parts.append(f"may approve: {', '.join(r.eligible) or 'nobody in the keyring'}")
            if r.stale:
                parts.append(f"stale (approved an earlier head): {', '.join(r.stale)}")
            if r.excluded_authors:
                parts.append(f"not counted as authors: {', '.join(r.excluded_authors)}")
            results.append(self._result(
                "missing-approval", "; ".join(parts), r.files,
                _fingerprint("missing-approval", pr.repository, str(pr.number), *r.paths, *([r.package] if r.package else [])),
                {"paths": list(r.paths), "package": r.package, "required": r.required, "approved_by": list(r.approved_by),
                 "missing": r.missing, "eligible": list(r.eligible), "stale": list(r.stale),
                 "excluded_authors": list(r.excluded_authors)},
            ))
        for path in report.uncovered:
            results.append(self._result("uncovered-path", f"No review rule covers {path}", [path],
                                        _fingerprint("uncovered-path", path), {}))
        run = {
            "tool": {"driver": {"name": "commitguard", "version": __version__,
                                "rules": [dict(rule) for rule in RULES]}},
            # one code-scanning category for every pull request of the repository
            "automationDetails": {"id": "commitguard/check-pr/"},
            "results": results,
            "properties": {"ok": report.ok, "repository": pr.repository, "pull_request": pr.number,
                           "base": pr.base, "head": pr.head, "keyring": report.keyring_source,
                           "warnings": list(report.warnings)},
        }
        vouched = [{"commit": c.id, "vouched_by": vouched_by(c.vouch), "reason": c.vouch.reason}
                   for c in report.commits if c.trusted and vouched_by(c.vouch)]
        if vouched:  # trusted without their own signature: no finding, but a reviewer should see what vouched
            run["properties"]["vouched"] = vouched
        if pr.repository.startswith("github.com/"):
            run["versionControlProvenance"] = [{"repositoryUri": f"https://{pr.repository}", "revisionId": pr.head}]
        document = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"

    @staticmethod
    def _result(rule_id: str, message: str, files, fingerprint: str, properties: dict) -> dict:
        result = {
            "ruleId": rule_id,
            "ruleIndex": _INDEX[rule_id],
            "level": "error",
            "message": {"text": message},
            "locations": [_location(p) for p in list(files)[:MAX_LOCATIONS]],
            "partialFingerprints": {"commitguard/v1": fingerprint},
        }
        if properties:
            result["properties"] = properties
        return result
