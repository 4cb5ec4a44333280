"""How ``audit-bump`` classifies real bot bumps (issue 18).

Runs the audit on each of the last N non-merge commits of a repository whose
subject is a bot's ``NAME: OLD -> NEW`` (numtide/nix-ai-tools), its parent
as base, the subject as title, no keyring and no network, and prints the kind,
the changes and the findings, with the diff's changed lines, so that each
classification can be checked against what the diff shows:

    python bench/bump_agreement.py REPO [--count 40]
"""

from __future__ import annotations

import argparse
import collections
import re
import sys

import pygit2

from commitguard.bump.audit import audit_bump, empty_keyring

_SUBJECT = re.compile(r"^[\w.+-]+: \S+ -> \S+$")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--diff", action="store_true", help="print the changed lines of each commit")
    options = parser.parse_args()
    repo = pygit2.Repository(options.repo)
    kinds = collections.Counter()
    seen = 0
    for commit in repo.walk(repo.head.target, pygit2.GIT_SORT_TOPOLOGICAL):
        if seen >= options.count:
            break
        subject = commit.message.splitlines()[0]
        if len(commit.parents) != 1 or not _SUBJECT.match(subject):
            continue
        seen += 1
        report = audit_bump(repo, str(commit.parents[0].id), str(commit.id), keyring=empty_keyring(), title=subject)
        for package in report.packages:
            kinds[package.kind] += 1
            print(f"{str(commit.id)[:8]} {subject}\n  {package.kind}: {package.old_version} -> {package.new_version}"
                  f"  changes={list(package.changes)}")
            for f in package.findings:
                print(f"    [{f.code}] {f.message[:220]}")
        for f in report.findings:
            print(f"    (report) [{f.code}] {f.message[:220]}")
        if options.diff:
            patch = repo.diff(commit.parents[0], commit).patch or ""
            for line in patch.splitlines():
                if line[:1] in "+-" and not line.startswith(("+++", "---")):
                    print(f"      {line[:150]}")
    print(f"\n{seen} commits: " + ", ".join(f"{k} {v}" for k, v in kinds.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
