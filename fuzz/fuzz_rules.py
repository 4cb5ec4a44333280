"""Fuzz target: review rules, approval eligibility and author exclusion.

Input: bytes read as a small world (see ``decode``): persons with ids, GitHub
logins and roles drawn from pools small enough to collide; ``[[rule]]``
tables; changed files; the maintainers each file's package lists; who
approved (valid or stale) and who wrote the change. The keyring is written
as TOML text and loaded with the public loader; ``evaluate_rules`` is then
judged against properties the harness checks on its own:

* coverage fails closed: every changed file is covered by a rule or listed
  uncovered, and a file is uncovered exactly when no rule's glob matches it
  (globs are matched by the independent matcher of ``tests/oracles.py``);
* an approval counts only if it is valid, from an eligible keyring person,
  and (with ``exclude_author``) not from an author of the change;
* a person is eligible only through the rule's ``approvers``: by id, by a
  role they hold, or as a maintainer of a changed file;
* ``ok`` means at least ``approvals`` counted approvals.

Two properties of issue 14 (items 5 and 6) are checked as well and, while
those bugs are not fixed in this tree, tolerated and counted as known
findings (``fuzz/common.py``): a maintainer's approval counts only for the
packages they maintain, and a handle is matched to person ids only, never to
another person's GitHub login.

A finding is any exception (``CommitguardError`` from the loader only means
the generated keyring is refused) or a violated property.
"""

from __future__ import annotations

import sys
from pathlib import Path

from common import fuzz, instrumented, tolerate_known
from oracles import glob_match

with instrumented():
    from commitguard.errors import CommitguardError
    from commitguard.keyring.loader import parse_keyring
    from commitguard.review.rules import evaluate_rules

IDS = ["alice", "bob", "carol", "dave", "Alice", "eve-1"]
LOGINS = ["alice", "bob", "carol", "mallory", "ALICE", "trent"]
ROLES = ["committer", "security", "release"]
PATTERNS = ["**", "pkgs/**", "pkgs/by-name/**", "pkgs/by-name/he/hello/**", "pkgs/*/", "*.nix", "pkgs/by-name/*/*/package.nix",
            "/lib/**", "doc/", "pkgs/?y-name/**", "**/package.nix", "lib/*.nix", "pkgs/by-name/he/**"]
FILES = ["pkgs/by-name/he/hello/package.nix", "pkgs/by-name/he/hello/fix.patch", "pkgs/by-name/wo/world/package.nix",
         "lib/strings.nix", "doc/manual.md", "flake.nix", "pkgs/top-level/all-packages.nix", "README.md"]


class Bytes:
    """Reads small choices from the fuzzer's bytes; zeros once they run out."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def byte(self) -> int:
        if self.at >= len(self.data):
            return 0
        self.at += 1
        return self.data[self.at - 1]

    def pick(self, pool):
        return pool[self.byte() % len(pool)]

    def some(self, pool, most: int) -> list:
        return [self.pick(pool) for _ in range(self.byte() % (most + 1))]


def _toml_list(items) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def decode(data: bytes):
    b = Bytes(data)
    persons = []
    for _ in range(1 + b.byte() % 5):
        person = {"id": b.pick(IDS), "roles": sorted(set(b.some(ROLES, 2)))}
        if b.byte() % 2:
            person["github"] = b.pick(LOGINS)
        persons.append(person)
    rules = []
    for _ in range(1 + b.byte() % 3):
        approvers = b.some(IDS + ["maintainers", "maintainers", "role:committer", "role:security", "nobody"], 3) or ["maintainers"]
        rules.append({"paths": b.some(PATTERNS, 2) or ["**"], "approvers": approvers, "approvals": 1 + b.byte() % 3,
                      "exclude_author": bool(b.byte() % 4)})
    changed = sorted(set(b.some(FILES, 5)))
    maintainers_of = {f: tuple(b.some(IDS + LOGINS + ["zed"], 2)) for f in changed if b.byte() % 3}
    approvers = {b.pick(IDS + LOGINS): b.pick(["valid", "stale", "valid"]) for _ in range(b.byte() % 5)}
    authors = set(b.some(IDS + LOGINS, 2))
    return persons, rules, changed, maintainers_of, approvers, authors


def keyring_toml(persons, rules) -> bytes:
    out = ["version = 1"]
    for p in persons:
        out += ["[[person]]", f'id = "{p["id"]}"', f"roles = {_toml_list(p['roles'])}"]
        if "github" in p:
            out.append(f'github = "{p["github"]}"')
    for r in rules:
        out += ["[[rule]]", f"paths = {_toml_list(r['paths'])}", f"approvers = {_toml_list(r['approvers'])}",
                f"approvals = {r['approvals']}", f"exclude_author = {'true' if r['exclude_author'] else 'false'}"]
    return ("\n".join(out) + "\n").encode()


def _check_per_package(result, maintainers_of, rule_approvers) -> None:
    """Issue 14 item 5: with only ``maintainers`` approving, every file with
    maintainers needs an approval from one of its own maintainers."""
    if result.ok and list(rule_approvers) == ["maintainers"]:
        for f in result.files:
            handles = set(maintainers_of.get(f, ()))
            if handles:
                assert handles & set(result.approved_by), f"{f}: approved only by maintainers of other packages"


def _check_handle_namespace(result, persons, maintainers_of, rule) -> None:
    """Issue 14 item 6: a handle names the person with that id, never the person with that GitHub login."""
    if list(rule["approvers"]) == ["maintainers"]:
        handles = {h for f in result.files for h in maintainers_of.get(f, ())}
        for person in result.eligible:
            assert person in handles, f"{person} eligible through another namespace (handles {sorted(handles)})"


def TestOneInput(data: bytes) -> None:
    persons, rules, changed, maintainers_of, approvers, authors = decode(data)
    try:
        keyring = parse_keyring(keyring_toml(persons, rules), Path("/nonexistent"), Path("/nonexistent/keyring.toml"),
                                read_file=lambda *_: None)
    except CommitguardError as exc:
        assert "\n" not in str(exc)
        return  # a refused keyring (duplicate ids, ...) is a valid answer
    ids = {p.id for p in keyring.persons}
    results, uncovered = evaluate_rules(keyring, changed, approvers, authors, maintainers_of)
    # coverage, against the independent glob matcher
    expected_uncovered = [f for f in changed if not any(glob_match(p, f) for r in keyring.rules for p in r.paths)]
    assert uncovered == expected_uncovered, (uncovered, expected_uncovered)
    matching_rules = [r for r in keyring.rules if any(glob_match(p, f) for p in r.paths for f in changed)]
    assert len(results) == len(matching_rules)
    for rule, result in zip(matching_rules, results):
        assert result.files == tuple(f for f in changed if any(glob_match(p, f) for p in rule.paths))
        assert set(result.approved_by) <= set(result.eligible) <= ids
        assert not set(result.approved_by) & set(result.stale)
        assert all(approvers.get(p) == "valid" for p in result.approved_by)
        assert all(approvers.get(p) == "stale" for p in result.stale)
        if rule.exclude_author:
            assert not set(result.eligible) & authors and not set(result.approved_by) & authors
        assert result.ok == (len(result.approved_by) >= rule.approvals)
        handles = {h.lower() for f in result.files for h in maintainers_of.get(f, ())}
        for pid in result.eligible:
            person = next(p for p in keyring.persons if p.id == pid)
            named = pid in rule.approvers or any(a == f"role:{r}" for r in person.roles for a in rule.approvers)
            maintainer = "maintainers" in rule.approvers and (
                pid.lower() in handles or (person.github or "").lower() in handles)
            assert named or maintainer, f"{pid} eligible for {rule.approvers} without being named by them"
        raw_rule = {"approvers": list(rule.approvers)}
        for check in (lambda: _check_per_package(result, maintainers_of, rule.approvers),
                      lambda: _check_handle_namespace(result, persons, maintainers_of, raw_rule)):
            try:
                check()
            except AssertionError as exc:
                if not tolerate_known(exc):
                    raise


def _seeds() -> list[bytes]:
    return [bytes((i + k * 7) % 256 for k in range(64)) for i in range(0, 256, 16)] + [b"\x01" * 40, b"\x02\x00\x01" * 20]


if __name__ == "__main__":
    fuzz(TestOneInput, _seeds())
    sys.exit(0)
