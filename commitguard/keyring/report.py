"""What a keyring curator and a reviewer of a keyring change need to know.

Verification fails closed: a weak key, an expired certificate or a rule
naming a role nobody holds never lets anything through, it silently
rejects the work of people the curator meant to trust. ``check_keyring``
finds those holes before a pull request does. ``diff_keyrings`` reduces a
keyring change to the statements of trust it adds or removes, and marks
the ones that *loosen* trust, because those are what a reviewer must not
wave through. Nothing here prints; ``commitguard.cli_keyring`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import pygit2

from commitguard.errors import KeyringError
from commitguard.history import open_repository, resolve_commit
from commitguard.keyring.loader import KEYRING_FILE, load_keyring, parse_keyring
from commitguard.keyring.model import KeyEntry, Keyring, Person, Policy, Rule
from commitguard.signatures import openpgp_packets
from commitguard.signatures.openpgp_packets import KeyFacts

GIT_NAMESPACE = "git"
APPROVAL_NAMESPACE = "commitguard-approval"  # SPEC: signed review approvals
PERSON_USES = (GIT_NAMESPACE, APPROVAL_NAMESPACE)
FORGE_USES = (GIT_NAMESPACE,)

ERROR = "error"
WARNING = "warning"


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- OpenPGP facts -------------------------------------------------------------


@dataclass(frozen=True)
class SigningKey:
    """One signing-capable (sub)key of a certificate, judged at one moment."""

    fingerprint: str
    algorithm: str
    bits: int | None
    expires: datetime | None
    revoked: bool
    weak: str | None  # why the algorithm is rejected
    weak_binding: str | None  # why its self-signatures are rejected


def _cert_facts(entry: KeyEntry) -> list[KeyFacts] | None:
    """Facts for every key of the certificate; None when its packets cannot be read.

    The loader accepted the certificate through Sequoia, but the packet reader
    is a separate parser, so a certificate it chokes on is reported rather than
    crashing a check.
    """
    assert entry.openpgp is not None
    facts = []
    for fpr in entry.openpgp.key_fingerprints:
        try:
            fact = openpgp_packets.key_facts(entry.openpgp.cert_bytes, fpr)
        except ValueError:
            return None
        if fact is not None:
            facts.append(fact)
    return facts


def _signing_keys(entry: KeyEntry, policy: Policy) -> list[SigningKey] | None:
    facts = _cert_facts(entry)
    if facts is None:
        return None
    out = []
    for f in facts:
        if not f.signing_capable or not entry.allows_signing_key(f.fingerprint):
            continue
        weak_binding = None
        # the verifier accepts SHA-1 bindings only under openpgp_sha1 = "accept"
        if f.binding_hashes and not (set(f.binding_hashes) == {"SHA-1"} and policy.accept_sha1):
            weak_binding = f"bound by {', '.join(f.binding_hashes)} self-signatures, which are rejected"
        out.append(
            SigningKey(
                fingerprint=f.fingerprint,
                algorithm=f.algorithm,
                bits=f.bits,
                expires=f.expires,
                revoked=f.revoked,
                weak=f.weak_algorithm,
                weak_binding=weak_binding,
            )
        )
    return out


# -- check -------------------------------------------------------------------------


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
        return {
            "severity": self.severity,
            "code": self.code,
            "scope": self.scope,
            "id": self.id,
            "key": self.key,
            "where": self.where,
            "message": self.message,
        }


@dataclass(frozen=True)
class CheckResult:
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


@dataclass(frozen=True)
class _KeyProblem:
    severity: str
    code: str
    message: str


def _key_problems(
    entry: KeyEntry, policy: Policy, now: datetime, *, uses: tuple[str, ...] | None
) -> tuple[list[_KeyProblem], bool]:
    """(problems, usable now) for one key.

    ``uses`` are the SSH namespaces in which the holder's signatures count
    (persons: commits and approvals; forges: commits only; None: any).

    A key the curator has marked ``revoked = true`` is retired on purpose, so
    what else is wrong with it is only a warning: that is how a weak or dead
    key can stay listed (its signatures then read "revoked", not "unknown")
    without failing the check.
    """
    problems: list[_KeyProblem] = []
    usable = True
    retired = entry.revoked

    def add(severity: str, code: str, message: str) -> None:
        problems.append(_KeyProblem(WARNING if retired else severity, code, message))

    if entry.revoked:
        problems.append(_KeyProblem(WARNING, "revoked", "marked revoked = true: every signature by it is rejected"))
        usable = False
    if entry.valid_before is not None and entry.valid_before <= now:
        add(WARNING, "validity-ended", f"valid_before {_when(entry.valid_before)} is past: it cannot sign anything new")
        usable = False
    if entry.valid_after is not None and entry.valid_after > now:
        add(WARNING, "not-yet-valid",
            f"valid_after {_when(entry.valid_after)} is still ahead: its signatures are rejected until then")
        usable = False

    if entry.ssh is not None:
        if entry.ssh.weak:
            add(ERROR, "weak-key", f"{entry.ssh.weak}: its signatures are never trusted")
            usable = False
        if uses is not None and entry.namespaces is not None and GIT_NAMESPACE not in entry.namespaces:
            allowed = ", ".join(entry.namespaces)
            add(WARNING, "namespace-excludes-git", f"namespaces = [{allowed}] exclude \"git\": it cannot sign commits")
            if not any(n in entry.namespaces for n in uses):
                usable = False
        return problems, usable

    if uses is not None and entry.namespaces is not None and GIT_NAMESPACE not in entry.namespaces:
        add(WARNING, "namespace-excludes-git",
            f"namespaces = [{', '.join(entry.namespaces)}] exclude \"git\": it cannot sign commits")
        if not any(n in entry.namespaces for n in uses):
            usable = False
    signing = _signing_keys(entry, policy)
    if signing is None:
        add(ERROR, "unreadable-certificate", "its certificate's packets cannot be read: no signature by it can be judged")
        return problems, False
    if not signing:
        add(ERROR, "no-signing-key", "the certificate has no key marked for signing: no signature by it verifies")
        return problems, False
    for key in signing:
        if key.weak:
            add(ERROR, "weak-key", f"signing key {key.fingerprint}: {key.weak}")
        if key.weak_binding:
            add(ERROR, "weak-binding", f"signing key {key.fingerprint} is {key.weak_binding}")

    def expired(key: SigningKey) -> bool:
        return key.expires is not None and key.expires <= now

    sound = [k for k in signing if not k.weak and not k.weak_binding]
    live = [k for k in sound if not k.revoked and not (expired(k) and not policy.ignore_expiry)]
    if sound and not live:
        if all(k.revoked for k in sound):
            add(WARNING, "revoked-in-certificate", "every signing key is revoked in the certificate")
        else:
            latest = max(k.expires for k in sound if k.expires is not None)  # type: ignore[type-var]
            add(WARNING, "expired", f"every signing key has expired or is revoked (latest expiry {_when(latest)})")
    elif live and all(expired(k) for k in live):  # only possible under openpgp_expiry = "ignore"
        add(WARNING, "expired-ignored",
            "every signing key has expired; still accepted because policy.openpgp_expiry = \"ignore\"")
    if not live:
        usable = False
    return problems, usable


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
        problems, ok = _key_problems(entry, policy, now, uses=uses)
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


# -- show ----------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRow:
    type: str  # "ssh-ed25519", ..., or "openpgp"
    fingerprint: str  # SSH SHA256:..., OpenPGP primary
    display: str
    signing_keys: tuple[SigningKey, ...] | None  # OpenPGP only
    user_ids: tuple[str, ...] | None
    file: str | None
    valid_after: datetime | None
    valid_before: datetime | None
    revoked: bool
    revoked_in_certificate: bool
    namespaces: tuple[str, ...] | None
    source: str | None
    obtained: datetime | None
    usable: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "fingerprint": self.fingerprint,
            "signing_keys": None if self.signing_keys is None else [
                {"fingerprint": k.fingerprint, "algorithm": k.algorithm, "bits": k.bits,
                 "expires": _when(k.expires), "revoked": k.revoked}
                for k in self.signing_keys
            ],
            "user_ids": None if self.user_ids is None else list(self.user_ids),
            "file": self.file,
            "valid_after": _when(self.valid_after),
            "valid_before": _when(self.valid_before),
            "revoked": self.revoked,
            "revoked_in_certificate": self.revoked_in_certificate,
            "namespaces": None if self.namespaces is None else list(self.namespaces),
            "source": self.source,
            "obtained": _when(self.obtained),
            "usable": self.usable,
        }


@dataclass(frozen=True)
class HolderRow:
    """A person (or forge: no name, roles or github) with every key it holds."""

    kind: str  # "person" | "forge"
    id: str
    name: str | None
    emails: tuple[str, ...]
    github: str | None
    roles: tuple[str, ...]
    pins: tuple[str, ...]
    keys: tuple[KeyRow, ...]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id}
        if self.kind == "person":
            data.update(name=self.name, emails=list(self.emails), github=self.github,
                        roles=list(self.roles), pins=list(self.pins))
        data["keys"] = [k.to_json() for k in self.keys]
        return data


def _key_row(entry: KeyEntry, policy: Policy, now: datetime, uses: tuple[str, ...]) -> KeyRow:
    _, usable = _key_problems(entry, policy, now, uses=uses)
    common = dict(
        valid_after=entry.valid_after, valid_before=entry.valid_before, revoked=entry.revoked,
        namespaces=entry.namespaces, source=entry.source, obtained=entry.obtained, usable=usable,
        display=entry.display,
    )
    if entry.ssh is not None:
        return KeyRow(type=entry.ssh.key_type, fingerprint=entry.ssh.fingerprint, signing_keys=None, user_ids=None,
                      file=None, revoked_in_certificate=False, **common)
    assert entry.openpgp is not None
    facts = _cert_facts(entry) or []
    primary_revoked = any(f.primary and f.revoked for f in facts)
    return KeyRow(
        type="openpgp",
        fingerprint=entry.openpgp.fingerprint,
        signing_keys=tuple(_signing_keys(entry, policy) or ()),
        user_ids=entry.openpgp.user_ids,
        file=entry.openpgp.path,
        revoked_in_certificate=primary_revoked,
        **common,
    )


def show_keyring(keyring: Keyring, now: datetime) -> list[HolderRow]:
    """Persons, then forges, each with what a curator checks out of band."""
    rows = [
        HolderRow("person", p.id, p.name, p.emails, p.github, p.roles, p.pins,
                  tuple(_key_row(k, keyring.policy, now, PERSON_USES) for k in p.keys))
        for p in keyring.persons
    ]
    rows += [
        HolderRow("forge", f.id, None, (), None, (), (),
                  tuple(_key_row(k, keyring.policy, now, FORGE_USES) for k in f.keys))
        for f in keyring.forges
    ]
    return rows


# -- diff --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One statement of trust added, removed or altered.

    ``loosens`` is set when the change lets something be trusted that was
    not before (a key, a person, a wider window, a weaker policy): the part
    of a keyring change a reviewer must verify out of band.
    """

    code: str
    scope: str  # "policy" | "person" | "forge" | "upstream" | "rule"
    id: str | None
    key: str | None
    loosens: bool
    message: str
    old: Any = None
    new: Any = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "scope": self.scope,
            "id": self.id,
            "key": self.key,
            "loosens": self.loosens,
            "message": self.message,
            "old": self.old,
            "new": self.new,
        }


@dataclass(frozen=True)
class DiffResult:
    changes: tuple[Change, ...] = field(default_factory=tuple)

    @property
    def loosens(self) -> bool:
        return any(c.loosens for c in self.changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.loosens,
            "loosens": self.loosens,
            "changes": [c.to_json() for c in self.changes],
            "summary": {"total": len(self.changes), "loosening": sum(c.loosens for c in self.changes)},
        }


_POLICY_LOOSER = {"forge": "accept", "openpgp_sha1": "accept", "openpgp_expiry": "ignore"}


def diff_keyrings(old: Keyring, new: Keyring) -> DiffResult:
    """What changed from ``old`` to ``new``, in keyring order: policy, persons,
    forges, upstreams, rules."""
    changes: list[Change] = []
    changes += _policy_changes(old.policy, new.policy)
    changes += _holder_changes("person", {p.id: p for p in old.persons}, {p.id: p for p in new.persons}, old, new)
    changes += _holder_changes("forge", {f.id: f for f in old.forges}, {f.id: f for f in new.forges}, old, new)
    changes += _holder_changes(
        "upstream", {u.match: u for u in old.upstreams}, {u.match: u for u in new.upstreams}, old, new
    )
    changes += _rule_changes(old.rules, new.rules)
    return DiffResult(tuple(changes))


def _policy_changes(old: Policy, new: Policy) -> list[Change]:
    out = []
    if old.trust_root != new.trust_root:
        name = "policy.trust_root"
        if new.trust_root is None:
            out.append(Change("policy-changed", "policy", name, None, False,
                              f"trust_root {old.trust_root} removed: all history is checked", old.trust_root, None))
        else:
            # without the repository we cannot tell whether it moved forward;
            # either way, which commits escape checking has changed
            verb = "set to" if old.trust_root is None else f"moved from {old.trust_root} to"
            out.append(Change("policy-changed", "policy", name, None, True,
                              f"trust_root {verb} {new.trust_root}: its ancestors are no longer checked",
                              old.trust_root, new.trust_root))
    for name, looser in _POLICY_LOOSER.items():
        before, after = getattr(old, name), getattr(new, name)
        if before == after:
            continue
        loosens = after == looser
        tail = " (loosens trust)" if loosens else ""
        out.append(Change("policy-changed", "policy", f"policy.{name}", None, loosens,
                          f"{name}: {before} -> {after}{tail}", before, after))
    return out


def _key_id(entry: KeyEntry) -> str:
    return entry.ssh.fingerprint if entry.ssh is not None else entry.openpgp.fingerprint  # type: ignore[union-attr]


def _group(keys: Iterable[KeyEntry]) -> dict[str, list[KeyEntry]]:
    out: dict[str, list[KeyEntry]] = {}
    for k in keys:
        out.setdefault(_key_id(k), []).append(k)
    return out


def _holder_changes(scope: str, old: dict, new: dict, old_ring: Keyring, new_ring: Keyring) -> list[Change]:
    """Added and removed holders, then what changed for each holder in both."""
    out: list[Change] = []
    # a forge key matters only where forge signatures are accepted
    key_loosens = new_ring.policy.accept_forge if scope == "forge" else True
    for hid, holder in old.items():
        if hid not in new:
            out.append(Change(f"{scope}-removed", scope, hid, None, False, f"{scope} {hid} removed"))
    for hid, holder in new.items():
        if hid not in old:
            out.append(Change(f"{scope}-added", scope, hid, None, key_loosens,
                              f"{scope} {hid} added with {len(holder.keys)} key(s)"))
            for entry in holder.keys:
                out.append(Change("key-added", scope, hid, entry.display, key_loosens,
                                  f"key {entry.display} added{_key_details(entry)}"))
            continue
        before = old[hid]
        if isinstance(holder, Person):
            out += _person_fields(before, holder)
        out += _key_changes(scope, hid, before.keys, holder.keys, old_ring.policy, new_ring.policy, key_loosens)
    return out


def _key_details(entry: KeyEntry) -> str:
    parts = []
    if entry.valid_after or entry.valid_before:
        parts.append(f"valid {_when(entry.valid_after) or '-'} .. {_when(entry.valid_before) or '-'}")
    if entry.namespaces is not None:
        parts.append(f"namespaces {', '.join(entry.namespaces)}")
    if entry.revoked:
        parts.append("revoked")
    if entry.source:
        parts.append(f"from {entry.source}")
    return f" ({'; '.join(parts)})" if parts else ""


def _person_fields(old: Person, new: Person) -> list[Change]:
    out = []
    pid = new.id
    if old.roles != new.roles:
        added = [r for r in new.roles if r not in old.roles]
        removed = [r for r in old.roles if r not in new.roles]
        bits = [f"+{r}" for r in added] + [f"-{r}" for r in removed]
        out.append(Change("roles-changed", "person", pid, None, bool(added),
                          f"roles {', '.join(bits) or 'reordered'}", list(old.roles), list(new.roles)))
    for name in ("github", "github_id"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            # a forge login maps that account's reviews and maintainer entries to this person
            out.append(Change("github-changed", "person", pid, None, after is not None,
                              f"{name}: {before if before is not None else '(none)'} -> "
                              f"{after if after is not None else '(none)'}", before, after))
    if old.name != new.name or old.emails != new.emails:
        out.append(Change("details-changed", "person", pid, None, False, "name or emails changed",
                          {"name": old.name, "emails": list(old.emails)}, {"name": new.name, "emails": list(new.emails)}))
    for pin in new.pins:
        if pin not in old.pins:
            out.append(Change("pin-added", "person", pid, f"openpgp {pin}", False,
                              f"fingerprint pin {pin} added (no certificate: not usable)"))
    for pin in old.pins:
        if pin not in new.pins:
            out.append(Change("pin-removed", "person", pid, f"openpgp {pin}", False, f"fingerprint pin {pin} removed"))
    return out


def _key_changes(scope: str, hid: str, old_keys, new_keys, old_policy: Policy, new_policy: Policy,
                 key_loosens: bool) -> list[Change]:
    out: list[Change] = []
    before, after = _group(old_keys), _group(new_keys)
    for kid, entries in before.items():
        for entry in entries[len(after.get(kid, ())):]:
            out.append(Change("key-removed", scope, hid, entry.display, False, f"key {entry.display} removed"))
    for kid, entries in after.items():
        olds = before.get(kid, [])
        for i, entry in enumerate(entries):
            if i >= len(olds):
                out.append(Change("key-added", scope, hid, entry.display, key_loosens,
                                  f"key {entry.display} added{_key_details(entry)}"))
            else:
                out += _entry_changes(scope, hid, olds[i], entry, old_policy, new_policy, key_loosens)
    return out


def _entry_changes(scope: str, hid: str, old: KeyEntry, new: KeyEntry, old_policy: Policy, new_policy: Policy,
                   key_loosens: bool) -> list[Change]:
    out: list[Change] = []
    shown = new.display

    def add(code: str, loosens: bool, message: str, before=None, after=None) -> None:
        out.append(Change(code, scope, hid, shown, loosens and key_loosens, message, before, after))

    if not old.revoked and new.revoked:
        add("key-revoked", False, f"key {shown} marked revoked", False, True)
    elif old.revoked and not new.revoked:
        add("key-unrevoked", True, f"key {shown} no longer marked revoked: its signatures count again", True, False)

    va_old, va_new = old.valid_after, new.valid_after
    if va_old != va_new:
        looser = va_new is None or (va_old is not None and va_new < va_old)
        add("validity-changed", looser, f"valid_after {_when(va_old) or '(none)'} -> {_when(va_new) or '(none)'}",
            _when(va_old), _when(va_new))
    vb_old, vb_new = old.valid_before, new.valid_before
    if vb_old != vb_new:
        looser = vb_new is None or (vb_old is not None and vb_new > vb_old)
        add("validity-changed", looser, f"valid_before {_when(vb_old) or '(none)'} -> {_when(vb_new) or '(none)'}",
            _when(vb_old), _when(vb_new))

    if old.namespaces != new.namespaces:
        if new.namespaces is None:
            looser = True
        elif old.namespaces is None:
            looser = False
        else:
            looser = any(n not in old.namespaces for n in new.namespaces)
        fmt = lambda ns: "(any)" if ns is None else ", ".join(ns)  # noqa: E731
        add("namespaces-changed", looser, f"namespaces {fmt(old.namespaces)} -> {fmt(new.namespaces)}",
            None if old.namespaces is None else list(old.namespaces),
            None if new.namespaces is None else list(new.namespaces))

    if old.signing_keys != new.signing_keys:
        if new.signing_keys is None:
            looser = True
        elif old.signing_keys is None:
            looser = False
        else:
            looser = any(f not in old.signing_keys for f in new.signing_keys)
        fmt_keys = lambda ks: "(every signing key)" if ks is None else ", ".join(ks)  # noqa: E731
        add("signing-keys-changed", looser, f"signing_keys {fmt_keys(old.signing_keys)} -> {fmt_keys(new.signing_keys)}",
            None if old.signing_keys is None else list(old.signing_keys),
            None if new.signing_keys is None else list(new.signing_keys))

    if old.openpgp is not None and new.openpgp is not None and old.openpgp.cert_bytes != new.openpgp.cert_bytes:
        out += _cert_changes(scope, hid, old, new, old_policy, new_policy, key_loosens)
    return out


def _cert_changes(scope: str, hid: str, old: KeyEntry, new: KeyEntry, old_policy: Policy, new_policy: Policy,
                  key_loosens: bool) -> list[Change]:
    """An updated certificate file can add a signing subkey, a revocation or a
    new expiry without a single line of keyring.toml changing."""
    out: list[Change] = []
    shown = new.display
    before = {k.fingerprint: k for k in (_signing_keys(old, old_policy) or [])}
    after = {k.fingerprint: k for k in (_signing_keys(new, new_policy) or [])}

    def add(code: str, loosens: bool, message: str, b=None, a=None) -> None:
        out.append(Change(code, scope, hid, shown, loosens and key_loosens, message, b, a))

    for fpr in after:
        if fpr not in before:
            add("subkey-added", True, f"signing key {fpr} added to the certificate of {shown}")
    for fpr in before:
        if fpr not in after:
            add("subkey-removed", False, f"signing key {fpr} no longer in the certificate of {shown}")
    for fpr, now_key in after.items():
        was = before.get(fpr)
        if was is None:
            continue
        if now_key.revoked and not was.revoked:
            add("key-revoked", False, f"signing key {fpr} revoked in the certificate", False, True)
        elif was.revoked and not now_key.revoked:
            add("revocation-removed", True,
                f"signing key {fpr} was revoked in the old certificate but not in the new one", True, False)
        if was.expires != now_key.expires:
            looser = now_key.expires is None or (was.expires is not None and now_key.expires > was.expires)
            add("expiry-changed", looser,
                f"signing key {fpr} expiry {_when(was.expires) or '(never)'} -> {_when(now_key.expires) or '(never)'}",
                _when(was.expires), _when(now_key.expires))
    return out


def _rule_changes(old: tuple[Rule, ...], new: tuple[Rule, ...]) -> list[Change]:
    """Rules have no ids: one is matched to another by the paths it protects."""
    out: list[Change] = []
    remaining = list(enumerate(old))
    pairs: list[tuple[int, Rule, Rule]] = []
    added: list[tuple[int, Rule]] = []
    for index, rule in enumerate(new):
        match = next((i for i, (_, r) in enumerate(remaining) if r.paths == rule.paths), None)
        if match is None:
            added.append((index, rule))
        else:
            pairs.append((index, remaining.pop(match)[1], rule))
    for index, rule in remaining:
        out.append(Change("rule-removed", "rule", f"rule[{index}]", None, True,
                          f"rule for {', '.join(rule.paths)} removed: those paths need fewer approvals"))
    for index, rule in added:
        out.append(Change("rule-added", "rule", f"rule[{index}]", None, False,
                          f"rule for {', '.join(rule.paths)} added: {rule.approvals} approval(s) from "
                          f"{', '.join(rule.approvers)}"))
    for index, before, after in pairs:
        rid = f"rule[{index}]"
        paths = ", ".join(after.paths)
        if before.approvals != after.approvals:
            out.append(Change("rule-changed", "rule", rid, None, after.approvals < before.approvals,
                              f"rule for {paths}: approvals {before.approvals} -> {after.approvals}",
                              before.approvals, after.approvals))
        if before.approvers != after.approvers:
            plus = [a for a in after.approvers if a not in before.approvers]
            minus = [a for a in before.approvers if a not in after.approvers]
            bits = [f"+{a}" for a in plus] + [f"-{a}" for a in minus]
            out.append(Change("rule-changed", "rule", rid, None, bool(plus),
                              f"rule for {paths}: approvers {', '.join(bits) or 'reordered'}",
                              list(before.approvers), list(after.approvers)))
        if before.exclude_author != after.exclude_author:
            out.append(Change("rule-changed", "rule", rid, None, not after.exclude_author,
                              f"rule for {paths}: exclude_author {str(before.exclude_author).lower()} -> "
                              f"{str(after.exclude_author).lower()}", before.exclude_author, after.exclude_author))
    return out


# -- keyrings from git revisions ------------------------------------------------------


_REGULAR = {0o100644, 0o100755}


def load_keyring_spec(spec: str, repo: str) -> Keyring:
    """A keyring from a directory, or from ``REV:PATH`` in the repository at ``repo``.

    A directory that exists wins, so a path that happens to hold a colon
    still works; otherwise ``REV:PATH`` names a keyring as committed, which
    is what a reviewer compares (``main:.commitguard/keyring``).
    """
    if Path(spec).is_dir() or ":" not in spec:
        return load_keyring(spec)
    rev, _, path = spec.partition(":")
    if not rev:
        raise KeyringError("REV:PATH needs a revision before the colon (e.g. main:.commitguard/keyring)", field=spec)
    repository = open_repository(repo)
    commit = repository[resolve_commit(repository, rev)]
    root = commit.tree  # type: ignore[attr-defined]
    path = path.strip("/")
    label = Path(f"{rev}:{path}")
    directory = _tree_at(root, path)
    if directory is None:
        raise KeyringError(f"no directory {path or '/'} at {rev}", path=str(label))
    toml = _blob_at(directory, KEYRING_FILE)
    if toml is None:
        raise KeyringError(f"no {KEYRING_FILE} in the keyring directory at {rev}", path=str(label))
    return parse_keyring(toml, label, label / KEYRING_FILE, read_file=lambda rel: _blob_at(directory, rel))


def _tree_at(root: pygit2.Tree, path: str) -> pygit2.Tree | None:
    if not path:
        return root
    try:
        obj = root[path]
    except (KeyError, ValueError):
        return None
    return obj if isinstance(obj, pygit2.Tree) else None


def _blob_at(tree: pygit2.Tree, relative: str) -> bytes | None:
    """A regular file's bytes; symlinks and submodules are not followed, as
    their target is not part of what the commit vouches for."""
    try:
        obj = tree[relative.strip("/")]
    except (KeyError, ValueError):
        return None
    if not isinstance(obj, pygit2.Blob) or obj.filemode not in _REGULAR:
        return None
    return obj.data
