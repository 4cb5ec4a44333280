"""What a loaded keyring is: the user's statement of whom they trust, with which keys.

These objects are built once by :mod:`commitguard.keyring.loader` and then
only read; verification code never mutates them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class KeyKind(str, enum.Enum):
    SSH = "ssh"
    OPENPGP = "openpgp"
    SIGSTORE = "sigstore"


# What may vouch for a commit (SPEC "Trust through review"), in the order
# SPEC's table lists them. ``SUPPORTED_KINDS`` are those this version can
# check; the loader refuses a keyring that lists any other, so a kind is never
# silently ignored (which would leave commits untrusted that the user meant
# to accept, or worse, let a reader believe a check ran).
VOUCH_KINDS = ("signature", "audit", "review", "clean-merge", "forge-review")
SUPPORTED_KINDS = VOUCH_KINDS
DEFAULT_ACCEPT = ("signature",)


@dataclass(frozen=True)
class Policy:
    trust_root: str | None = None
    forge: str = "reject"  # "reject" | "accept"
    openpgp_sha1: str = "reject"  # "reject" | "accept"
    openpgp_expiry: str = "enforce"  # "enforce" | "ignore"
    accept: tuple[str, ...] = DEFAULT_ACCEPT  # kinds among VOUCH_KINDS, never empty
    reviews: int = 1  # distinct eligible persons needed for review and forge-review
    # ``sigstore_trusted_root``: the bytes of a Sigstore trusted_root.json that
    # replaces the shipped public-good root (a private Sigstore; tests). None: public good.
    sigstore_trusted_root: bytes | None = field(default=None, repr=False)

    def accepts(self, kind: str) -> bool:
        return kind in self.accept

    @property
    def accept_forge(self) -> bool:
        return self.forge == "accept"

    @property
    def accept_sha1(self) -> bool:
        return self.openpgp_sha1 == "accept"

    @property
    def ignore_expiry(self) -> bool:
        return self.openpgp_expiry == "ignore"


@dataclass(frozen=True)
class SshKey:
    """An SSH public key as the keyring lists it.

    ``blob`` is the wire encoding that an SSH signature embeds, so lookup by
    signature is an exact byte comparison; ``weak`` is set for DSA and RSA keys
    under 2048 bits, which stay listed (so their signatures are reported as
    weak rather than unknown) but are never trusted.
    """

    line: str
    key_type: str
    blob: bytes
    fingerprint: str  # OpenSSH SHA256:...
    bits: int
    weak: str | None = None  # reason, when weak


@dataclass(frozen=True)
class OpenPGPKey:
    """An OpenPGP certificate file as the keyring lists it.

    ``cert_bytes`` is the binary certificate; ``key_fingerprints`` lists the
    primary and every subkey fingerprint (uppercase hex), the index by which
    a signature's issuer is looked up.
    """

    path: str
    cert_bytes: bytes
    fingerprint: str  # primary, uppercase hex
    key_fingerprints: tuple[str, ...]
    user_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SigstoreIdentity:
    """A keyless (gitsign) signer as the keyring lists it: the identity Fulcio
    certifies (an email, or a workflow URI) and the OIDC issuer that vouched
    for it. Both are compared exactly: no patterns, so nothing matches by accident."""

    identity: str
    issuer: str

    @property
    def label(self) -> str:
        return f"{self.identity} ({self.issuer})"


@dataclass(frozen=True)
class KeyEntry:
    """One ``[[person.key]]`` or ``[[forge]]`` key with its validity rules."""

    kind: KeyKind
    ssh: SshKey | None = None
    openpgp: OpenPGPKey | None = None
    sigstore: SigstoreIdentity | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    revoked: bool = False
    where: str = ""  # "person[0].key[1]": for messages
    # where the key may sign ("git", "commitguard-approval", ...); None: anywhere.
    # Enforced for every scheme: SSH signatures name their namespace, OpenPGP
    # ones do not, so the verifier is told which one it checks.
    namespaces: tuple[str, ...] | None = None
    source: str | None = None  # where the key was obtained (trust on first use)
    obtained: datetime | None = None  # when
    # OpenPGP: the only keys of the certificate (primary or subkeys, by
    # fingerprint) whose signatures count; None: every signing key bound to
    # the primary. Guix authorizes exactly the key that signs.
    signing_keys: tuple[str, ...] | None = None

    def allows_namespace(self, namespace: str) -> bool:
        return self.namespaces is None or namespace in self.namespaces

    def allows_signing_key(self, fingerprint: str) -> bool:
        return self.signing_keys is None or fingerprint.upper() in self.signing_keys

    # The validity window, asked by verification (at a signature's moment) and
    # by ``keyring check`` (at "now") alike: valid_after inclusive, valid_before exclusive.
    def not_yet_valid(self, moment: datetime) -> bool:
        return self.valid_after is not None and moment < self.valid_after

    def no_longer_valid(self, moment: datetime) -> bool:
        return self.valid_before is not None and moment >= self.valid_before

    @property
    def display(self) -> str:
        if self.ssh is not None:
            return f"{self.ssh.key_type} {self.ssh.fingerprint}"
        if self.sigstore is not None:
            return f"sigstore {self.sigstore.label}"
        assert self.openpgp is not None
        return f"openpgp {self.openpgp.fingerprint}"


@dataclass(frozen=True)
class Person:
    id: str
    name: str | None = None
    emails: tuple[str, ...] = ()
    github: str | None = None
    roles: tuple[str, ...] = ()
    keys: tuple[KeyEntry, ...] = ()
    github_id: int | None = None
    # OpenPGP fingerprints named without a certificate (nixpkgs'
    # maintainer-list gives only fingerprints): listed, never usable.
    pins: tuple[str, ...] = ()
    # The nixpkgs maintainer handle (``meta.maintainers``) this person answers
    # to besides their id, when the two differ. A separate namespace from
    # GitHub logins; the loader refuses a handle another person could claim.
    handle: str | None = None


@dataclass(frozen=True)
class Forge:
    id: str
    keys: tuple[KeyEntry, ...] = ()


@dataclass(frozen=True)
class Verifier:
    """A ``[[verifier]]``: whose signed checkpoints (SLSA Source VSAs, ``commitguard attest``)
    this keyring starts from. Its keys vouch for no commit and no approval."""

    id: str
    keys: tuple[KeyEntry, ...] = ()


@dataclass(frozen=True)
class Rule:
    paths: tuple[str, ...]
    approvals: int = 1
    approvers: tuple[str, ...] = ()
    exclude_author: bool = True


@dataclass(frozen=True)
class Upstream:
    match: str
    keys: tuple[KeyEntry, ...] = ()


@dataclass(frozen=True)
class Holder:
    """Who a key belongs to: a person or a forge. Signatures resolve to this."""

    kind: str  # "person" | "forge"
    id: str


@dataclass(frozen=True)
class Keyring:
    """A validated keyring.

    ``digest`` covers keyring.toml and every file it references, so any
    change to what the user trusts yields a different digest: the
    verification cache is keyed by it and can never serve stale verdicts.
    """

    path: str
    digest: str
    policy: Policy
    persons: tuple[Person, ...]
    forges: tuple[Forge, ...] = ()
    rules: tuple[Rule, ...] = ()
    upstreams: tuple[Upstream, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    verifiers: tuple[Verifier, ...] = ()

    def holders(self):
        """Every (holder, key) pair: persons first, then forges."""
        for person in self.persons:
            for key in person.keys:
                yield Holder("person", person.id), key
        for forge in self.forges:
            for key in forge.keys:
                yield Holder("forge", forge.id), key

    def person(self, person_id: str) -> Person | None:
        for p in self.persons:
            if p.id == person_id:
                return p
        return None
