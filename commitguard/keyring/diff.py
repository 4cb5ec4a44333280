"""``keyring diff``: a keyring change reduced to the statements of trust it alters.

A keyring change is reviewed like code, but what matters is not which
lines moved: it is which keys, persons, windows, rules and policies now
let something be trusted that was not before. ``diff_keyrings`` lists each
statement added, removed or altered, and marks the ones that *loosen*
trust, because those are what a reviewer must not wave through. An
updated certificate file is compared key by key, since it can add a
signing subkey or drop a revocation without keyring.toml changing.
Nothing here prints; ``commitguard.cli.keyring`` renders.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable

from commitguard.keyring.keystate import signing_keys, when
from commitguard.keyring.model import KeyEntry, Keyring, Person, Policy, Rule


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
        return dataclasses.asdict(self)  # the fields, in order, are the JSON object


@dataclass(frozen=True)
class DiffResult:
    """Every change, policy first; ``ok`` in JSON means nothing loosens trust."""

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
    if old.accept != new.accept:  # a kind that may now vouch for a commit trusts more commits
        added = [k for k in new.accept if k not in old.accept]
        tail = f" (loosens trust: {', '.join(added)} may now vouch for a commit)" if added else ""
        out.append(Change("policy-changed", "policy", "policy.accept", None, bool(added),
                          f"accept: {', '.join(old.accept)} -> {', '.join(new.accept)}{tail}",
                          list(old.accept), list(new.accept)))
    if old.sigstore_trusted_root != new.sigstore_trusted_root:  # other CAs and logs may now vouch: always looser
        def root(value: bytes | None) -> str:
            return "public good" if value is None else "sha256:" + hashlib.sha256(value).hexdigest()[:16]
        out.append(Change("policy-changed", "policy", "policy.sigstore_trusted_root", None, True,
                          f"sigstore_trusted_root: {root(old.sigstore_trusted_root)} -> "
                          f"{root(new.sigstore_trusted_root)} (loosens trust: other Fulcio CAs and Rekor logs may now "
                          "vouch for gitsign signatures)", root(old.sigstore_trusted_root), root(new.sigstore_trusted_root)))
    if old.reviews != new.reviews:
        loosens = new.reviews < old.reviews
        tail = " (loosens trust)" if loosens else ""
        out.append(Change("policy-changed", "policy", "policy.reviews", None, loosens,
                          f"reviews: {old.reviews} -> {new.reviews}{tail}", old.reviews, new.reviews))
    return out


def _key_id(entry: KeyEntry) -> str:
    if entry.sigstore is not None:
        return entry.display
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
        parts.append(f"valid {when(entry.valid_after) or '-'} .. {when(entry.valid_before) or '-'}")
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
    if old.handle != new.handle:
        # a maintainer handle hands this person the packages whose meta.maintainers name it
        out.append(Change("handle-changed", "person", pid, None, new.handle is not None,
                          f"handle: {old.handle if old.handle is not None else '(none)'} -> "
                          f"{new.handle if new.handle is not None else '(none)'}", old.handle, new.handle))
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
        add("validity-changed", looser, f"valid_after {when(va_old) or '(none)'} -> {when(va_new) or '(none)'}",
            when(va_old), when(va_new))
    vb_old, vb_new = old.valid_before, new.valid_before
    if vb_old != vb_new:
        looser = vb_new is None or (vb_old is not None and vb_new > vb_old)
        add("validity-changed", looser, f"valid_before {when(vb_old) or '(none)'} -> {when(vb_new) or '(none)'}",
            when(vb_old), when(vb_new))

    # Lists that restrict a key (None: no restriction): a longer list, or none, lets it sign more.
    for code, name, unrestricted in (("namespaces-changed", "namespaces", "(any)"),
                                     ("signing-keys-changed", "signing_keys", "(every signing key)")):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            looser = after is None or (before is not None and any(x not in before for x in after))
            was = unrestricted if before is None else ", ".join(before)
            now = unrestricted if after is None else ", ".join(after)
            add(code, looser, f"{name} {was} -> {now}",
                None if before is None else list(before), None if after is None else list(after))

    if old.openpgp is not None and new.openpgp is not None and old.openpgp.cert_bytes != new.openpgp.cert_bytes:
        out += _cert_changes(scope, hid, old, new, old_policy, new_policy, key_loosens)
    return out


def _cert_changes(scope: str, hid: str, old: KeyEntry, new: KeyEntry, old_policy: Policy, new_policy: Policy,
                  key_loosens: bool) -> list[Change]:
    """An updated certificate file can add a signing subkey, a revocation or a
    new expiry without a single line of keyring.toml changing."""
    out: list[Change] = []
    shown = new.display
    before = {k.fingerprint: k for k in (signing_keys(old, old_policy) or [])}
    after = {k.fingerprint: k for k in (signing_keys(new, new_policy) or [])}

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
                f"signing key {fpr} expiry {when(was.expires) or '(never)'} -> {when(now_key.expires) or '(never)'}",
                when(was.expires), when(now_key.expires))
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
