"""``keyring show``: every holder and key, with what a curator checks out of band.

A curator confirms a key with its owner by fingerprint, and an OpenPGP
certificate signs with subkeys whose fingerprints, expiry and revocation
are inside the certificate file, not in keyring.toml. ``show_keyring``
lays those facts out per person and forge, and says whether each key is
usable now, judged exactly as ``keyring check`` and verification judge it.
Nothing here prints; ``commitguard.cli.keyring`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commitguard.keyring.keystate import (
    FORGE_USES,
    PERSON_USES,
    SigningKey,
    cert_facts,
    key_problems,
    signing_keys,
    when,
)
from commitguard.keyring.model import DEFAULT_ACCEPT, KeyEntry, Keyring, Policy


@dataclass(frozen=True)
class KeyRow:
    """One key as a curator verifies it out of band: fingerprints, window, source, usable now."""

    type: str  # "ssh-ed25519", ..., "openpgp" or "sigstore"
    fingerprint: str  # SSH SHA256:..., OpenPGP primary, Sigstore "identity (issuer)"
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
                 "expires": when(k.expires), "revoked": k.revoked}
                for k in self.signing_keys
            ],
            "user_ids": None if self.user_ids is None else list(self.user_ids),
            "file": self.file,
            "valid_after": when(self.valid_after),
            "valid_before": when(self.valid_before),
            "revoked": self.revoked,
            "revoked_in_certificate": self.revoked_in_certificate,
            "namespaces": None if self.namespaces is None else list(self.namespaces),
            "source": self.source,
            "obtained": when(self.obtained),
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
    _, usable = key_problems(entry, policy, now, uses=uses)
    common = dict(
        valid_after=entry.valid_after, valid_before=entry.valid_before, revoked=entry.revoked,
        namespaces=entry.namespaces, source=entry.source, obtained=entry.obtained, usable=usable,
        display=entry.display,
    )
    if entry.ssh is not None:
        return KeyRow(type=entry.ssh.key_type, fingerprint=entry.ssh.fingerprint, signing_keys=None, user_ids=None,
                      file=None, revoked_in_certificate=False, **common)
    if entry.sigstore is not None:  # a keyless identity: what Fulcio certifies, no key material
        return KeyRow(type="sigstore", fingerprint=entry.sigstore.label, signing_keys=None, user_ids=None,
                      file=None, revoked_in_certificate=False, **common)
    assert entry.openpgp is not None
    facts = cert_facts(entry) or []
    primary_revoked = any(f.primary and f.revoked for f in facts)
    return KeyRow(
        type="openpgp",
        fingerprint=entry.openpgp.fingerprint,
        signing_keys=tuple(signing_keys(entry, policy) or ()),
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


def accept_summary(policy: Policy) -> str | None:
    """What may vouch for a commit, in words, when it is not the default (signatures only).

    ``keyring show`` prints it so that a curator reading the keyring sees at
    once that something besides a commit's own signature can make it trusted.
    """
    if policy.accept == DEFAULT_ACCEPT and policy.reviews == 1:
        return None
    tail = f"; {policy.reviews} distinct reviewer(s) needed" if policy.accepts("review") or policy.accepts("forge-review") else ""
    return f"policy.accept: a commit is trusted when vouched for by {', '.join(policy.accept)}{tail}"
