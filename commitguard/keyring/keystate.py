"""What one key is worth at one moment: shared by ``keyring check``, ``show`` and ``diff``.

Verification fails closed, so a key the curator listed can still be useless:
revoked, outside its validity window, scoped away from commits, weak, or an
OpenPGP certificate whose signing keys are expired, revoked or bound by
rejected hashes. ``check`` reports those states, ``show`` says whether each
key is usable, and ``diff`` compares the signing keys of an old and a new
certificate; they must all judge a key the same way, so the judging lives
here once. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commitguard.keyring.model import KeyEntry, Policy
from commitguard.signatures import openpgp_packets
from commitguard.signatures.openpgp_packets import KeyFacts
from commitguard.signatures.policy import weak_bindings

GIT_NAMESPACE = "git"
APPROVAL_NAMESPACE = "commitguard-approval"  # SPEC: signed review approvals
PERSON_USES = (GIT_NAMESPACE, APPROVAL_NAMESPACE)
FORGE_USES = (GIT_NAMESPACE,)

ERROR = "error"
WARNING = "warning"


def when(moment: datetime | None) -> str | None:
    """A moment as keyring.toml writes it (UTC, seconds), so output can be pasted back."""
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


def cert_facts(entry: KeyEntry) -> list[KeyFacts] | None:
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


def signing_keys(entry: KeyEntry, policy: Policy) -> list[SigningKey] | None:
    """The certificate's keys that may sign for ``entry`` (its ``signing_keys``
    restriction applied); None when its packets cannot be read."""
    facts = cert_facts(entry)
    if facts is None:
        return None
    out = []
    for f in facts:
        if not f.signing_capable or not entry.allows_signing_key(f.fingerprint):
            continue
        weak_binding = None
        # judged as the verifier judges it: SHA-1 bindings only under openpgp_sha1 = "accept"
        if weak_bindings(f.binding_hashes, policy.accept_sha1):
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


# -- one key's problems ----------------------------------------------------------


def _scoped_away(entry: KeyEntry, uses: tuple[str, ...] | None, add) -> bool:
    """Warn when ``namespaces`` exclude commits; True when they exclude every use of the holder."""
    if uses is None or entry.namespaces is None or GIT_NAMESPACE in entry.namespaces:
        return False
    add(WARNING, "namespace-excludes-git", f"namespaces = [{', '.join(entry.namespaces)}] exclude \"git\": it cannot sign commits")
    return not any(entry.allows_namespace(n) for n in uses)


@dataclass(frozen=True)
class KeyProblem:
    """What is wrong with one key; ``check`` attaches who holds it and where."""

    severity: str
    code: str
    message: str


def key_problems(
    entry: KeyEntry, policy: Policy, now: datetime, *, uses: tuple[str, ...] | None
) -> tuple[list[KeyProblem], bool]:
    """(problems, usable now) for one key.

    ``uses`` are the SSH namespaces in which the holder's signatures count
    (persons: commits and approvals; forges: commits only; None: any).

    A key the curator has marked ``revoked = true`` is retired on purpose, so
    what else is wrong with it is only a warning: that is how a weak or dead
    key can stay listed (its signatures then read "revoked", not "unknown")
    without failing the check.
    """
    problems: list[KeyProblem] = []
    usable = True
    retired = entry.revoked

    def add(severity: str, code: str, message: str) -> None:
        problems.append(KeyProblem(WARNING if retired else severity, code, message))

    if entry.revoked:
        problems.append(KeyProblem(WARNING, "revoked", "marked revoked = true: every signature by it is rejected"))
        usable = False
    if entry.no_longer_valid(now):
        add(WARNING, "validity-ended", f"valid_before {when(entry.valid_before)} is past: it cannot sign anything new")
        usable = False
    if entry.not_yet_valid(now):
        add(WARNING, "not-yet-valid",
            f"valid_after {when(entry.valid_after)} is still ahead: its signatures are rejected until then")
        usable = False

    if entry.sigstore is not None:  # nothing to weigh but the window and scope: Fulcio makes the keys
        if _scoped_away(entry, uses, add):
            usable = False
        return problems, usable

    if entry.ssh is not None:
        if entry.ssh.weak:
            add(ERROR, "weak-key", f"{entry.ssh.weak}: its signatures are never trusted")
            usable = False
        if _scoped_away(entry, uses, add):
            usable = False
        return problems, usable

    if _scoped_away(entry, uses, add):
        usable = False
    signing = signing_keys(entry, policy)
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
            add(WARNING, "expired", f"every signing key has expired or is revoked (latest expiry {when(latest)})")
    elif live and all(expired(k) for k in live):  # only possible under openpgp_expiry = "ignore"
        add(WARNING, "expired-ignored",
            "every signing key has expired; still accepted because policy.openpgp_expiry = \"ignore\"")
    if not live:
        usable = False
    return problems, usable
