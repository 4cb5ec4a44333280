"""``keyring check``: the holes in a keyring, found before a pull request finds them.

Verification fails closed: a weak key, an expired certificate or a rule
naming a role nobody holds never lets anything through, it silently
rejects the work of people the curator meant to trust. ``check_keyring``
lists those states as findings; errors are what make verification reject
someone the curator listed, warnings describe deliberate or harmless
states. Nothing here prints; ``commitguard.cli.keyring`` renders.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from commitguard.keyring.keystate import ERROR, FORGE_USES, PERSON_USES, WARNING, key_problems
from commitguard.keyring.model import KeyEntry, Keyring, Policy


@dataclass(frozen=True)
class Finding:
    """One problem in a keyring.

    ``scope`` says what it is about (person, forge, upstream, rule, policy,
    keyring), ``id`` which one (a person or forge id, an upstream's match, a
    rule's index), ``where`` the keyring.toml field to edit.
    """

    severity: str  # "error" | "warning"
    code: str
    scope: str
    id: str | None
    key: str | None
    where: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # the fields, in order, are the JSON object


@dataclass(frozen=True)
class CheckResult:
    """Every finding of one check, in the order the keyring lists what they are about."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)

    @property
    def ok(self) -> bool:
        """Errors are what make verification fail closed for someone the curator
        listed; warnings describe deliberate or harmless states."""
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "findings": [f.to_json() for f in self.findings],
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings)},
        }


def check_keyring(keyring: Keyring, now: datetime) -> CheckResult:
    """Every problem in ``keyring`` as of ``now``, most specific first."""
    findings: list[Finding] = []
    policy = keyring.policy

    if policy.accept_forge:
        findings.append(Finding(
            WARNING, "policy-forge-accept", "policy", "policy.forge", None, "policy.forge",
            "forge = \"accept\": a forge signature says only that someone with a forge account pushed a change, "
            "not who wrote it",
        ))
    if policy.accept_sha1:
        findings.append(Finding(
            WARNING, "policy-sha1-accept", "policy", "policy.openpgp_sha1", None, "policy.openpgp_sha1",
            "openpgp_sha1 = \"accept\": SHA-1 signatures can be forged by chosen-prefix collisions",
        ))
    if policy.accepts("forge-review"):
        findings.append(Finding(
            WARNING, "policy-forge-review-accept", "policy", "policy.accept", None, "policy.accept",
            "accept lists \"forge-review\": a review recorded by the forge is the word of a forge account, "
            "not a signature by a keyring key",
        ))
    if not keyring.persons:
        findings.append(Finding(ERROR, "no-persons", "keyring", None, None, "person",
                                "the keyring lists no person: no commit can be trusted"))

    usable_persons: set[str] = set()
    for index, person in enumerate(keyring.persons):
        where = f"person[{index}]"
        usable = _keys_findings(findings, "person", person.id, person.keys, policy, now, uses=PERSON_USES)
        for pin in person.pins:
            findings.append(Finding(
                WARNING, "pin-without-certificate", "person", person.id, f"openpgp {pin}", where,
                "a fingerprint without a certificate: signatures by it read as unknown-key until its certificate is added",
            ))
        if usable:
            usable_persons.add(person.id)
            continue
        if not person.keys and not person.pins:
            why = "has no key at all"
        elif not person.keys:
            why = "has only fingerprint pins without certificates"
        else:
            why = "has no usable key (see the findings for each key)"
        findings.append(Finding(ERROR, "no-usable-key", "person", person.id, None, where,
                                f"{person.id} {why}: every commit and approval of theirs is rejected"))

    for index, forge in enumerate(keyring.forges):
        usable = _keys_findings(findings, "forge", forge.id, forge.keys, policy, now, uses=FORGE_USES)
        if not usable:
            # with forge = "reject" a forge signature is untrusted either way
            severity = ERROR if policy.accept_forge else WARNING
            findings.append(Finding(severity, "no-usable-key", "forge", forge.id, None, f"forge[{index}]",
                                    f"forge {forge.id} has no usable key: its signatures are not recognised"))

    for index, upstream in enumerate(keyring.upstreams):
        # release signatures carry no git namespace, so scoping does not matter here
        usable = _keys_findings(findings, "upstream", upstream.match, upstream.keys, policy, now, uses=None)
        if not usable:
            findings.append(Finding(ERROR, "no-usable-key", "upstream", upstream.match, None, f"upstream[{index}]",
                                    f"upstream {upstream.match} has no usable key: none of its releases can be verified"))

    findings.extend(_rule_findings(keyring, usable_persons))
    return CheckResult(tuple(findings))


def _keys_findings(findings: list[Finding], scope: str, hid: str, keys: Iterable[KeyEntry], policy: Policy,
                   now: datetime, *, uses: tuple[str, ...] | None) -> int:
    """Append the problems of each key; return how many keys are usable now."""
    usable = 0
    for entry in keys:
        problems, ok = key_problems(entry, policy, now, uses=uses)
        usable += ok
        findings.extend(Finding(p.severity, p.code, scope, hid, entry.display, entry.where, p.message) for p in problems)
    return usable


def _rule_findings(keyring: Keyring, usable_persons: set[str]) -> list[Finding]:
    findings: list[Finding] = []
    person_ids = {p.id for p in keyring.persons}
    forge_ids = {f.id for f in keyring.forges}
    for index, rule in enumerate(keyring.rules):
        rid = f"rule[{index}]"
        where = f"{rid}.approvers"
        candidates: set[str] = set()
        for approver in rule.approvers:
            if approver == "maintainers":
                continue
            if approver.startswith("role:"):
                role = approver[len("role:"):]
                holders = {p.id for p in keyring.persons if role in p.roles}
                if not holders:
                    findings.append(Finding(ERROR, "unknown-role", "rule", rid, None, where,
                                            f"approver {approver!r}: no person has role {role!r}"))
                candidates |= holders
            elif approver in person_ids:
                candidates.add(approver)
            elif approver in forge_ids:
                findings.append(Finding(ERROR, "unknown-approver", "rule", rid, None, where,
                                        f"approver {approver!r} is a forge, not a person: forges cannot approve"))
            else:
                findings.append(Finding(ERROR, "unknown-approver", "rule", rid, None, where,
                                        f"approver {approver!r} is not a person in the keyring"))
        if "maintainers" in rule.approvers:
            continue  # who the maintainers are depends on the packages touched
        able = candidates & usable_persons
        if len(able) < rule.approvals:
            findings.append(Finding(
                ERROR, "rule-unsatisfiable", "rule", rid, None, f"{rid}.approvals",
                f"needs {rule.approvals} approval(s) for {', '.join(rule.paths)} but only {len(able)} listed "
                f"person(s) with a usable key may approve: every change there is rejected",
            ))
    return findings
