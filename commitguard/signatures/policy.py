"""What the keyring says about one key used for one signature: every per-key trust check, once.

The SSH and OpenPGP schemes differ in the mathematics and in what a signature
names (an SSH signature embeds its key and namespace; an OpenPGP one names an
issuer and carries its creation time), but once a signature has been matched
to a keyring key, the keyring's own word on that key is the same for both:
is it marked revoked, inside its validity window, allowed in this namespace,
weak? Those questions are answered here, each by one small policy object in
the manner of sigstore-python's verification policies: ``verify(use)``
returns a :class:`PolicyResult` carrying the verdict status a refusal maps to
and the reason the report prints, word for word.

:class:`AllOf` chains checks in order of precedence and answers with the first
refusal; an ``AllOf`` with no checks is refused at construction, because "no
check failed" must never be confused with "nothing was checked". There is no
policy that passes everything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Literal, Protocol

from commitguard.keyring.index import Candidate
from commitguard.keyring.model import KeyEntry
from commitguard.model.verdicts import Status
from commitguard.signatures.openpgp_packets import KeyFacts

_STAMP = "%Y-%m-%dT%H:%M:%SZ"
MAX_KEYS_REMEMBERED = 4096  # keys whose timeless answers AllOf keeps (a keyring has tens)


@dataclass(frozen=True)
class KeyUse:
    """One keyring key as one signature used it.

    ``when`` is the moment the key's validity window is judged at: the
    signature's own creation time for OpenPGP (``dated_by="signature"``), the
    committer time for SSH, whose signatures carry no time
    (``dated_by="commit"``), as ``git verify-commit`` does. ``facts`` are the
    OpenPGP certificate's packets about the key (None for SSH keys, and for an
    OpenPGP key with no usable binding); ``note`` is what the reason of an
    accepted signature adds (a relaxing policy that applied).
    """

    candidate: Candidate
    when: datetime
    dated_by: Literal["signature", "commit"]
    facts: KeyFacts | None = None
    note: str = ""

    @property
    def entry(self) -> KeyEntry:
        return self.candidate.entry

    @property
    def who(self) -> str:
        return self.candidate.holder.id

    @property
    def key_desc(self) -> str:
        """The key as reasons name it: ``openpgp FPR`` (the (sub)key that signed) or ``TYPE SHA256:...``."""
        ssh = self.entry.ssh
        kind = ssh.key_type if ssh is not None else "sigstore" if self.entry.sigstore is not None else "openpgp"
        return f"{kind} {self.candidate.key_fingerprint}"

    @property
    def owned(self) -> str:
        return f"{self.key_desc} of {self.who}"


@dataclass(frozen=True)
class PolicyResult:
    """A check's answer: ``status`` is TRUSTED when it passes, otherwise the verdict
    status the refusal becomes; ``reason`` is the human sentence either way."""

    status: Status
    reason: str

    @property
    def passed(self) -> bool:
        return self.status is Status.TRUSTED


class _Passed:
    """A check's pass. Every signature passes a dozen checks and almost no one
    reads why, so the sentence is written only when ``reason`` is read (writing
    them all cost 9 us a signature, a tenth of an Ed25519 verification)."""

    __slots__ = ("_sentence",)
    status = Status.TRUSTED
    passed = True

    def __init__(self, sentence: Callable[[], str]):
        self._sentence = sentence

    @property
    def reason(self) -> str:
        return self._sentence()


def _pass(sentence: Callable[[], str]) -> PolicyResult:
    return _Passed(sentence)  # type: ignore[return-value]  # reads as a passing PolicyResult


class KeyPolicy(Protocol):
    """What every check here is: one question about one key use.

    A check whose class sets ``timeless = True`` reads only the key (the
    candidate, its keyring entry, its certificate's facts), never the moment
    or the note: :class:`AllOf` then asks it once per key.
    """

    def verify(self, use: KeyUse) -> PolicyResult: ...


# -- where a key may sign -------------------------------------------------------


@dataclass(frozen=True)
class SigningKeyAllowed:
    """An OpenPGP entry's ``signing_keys`` names the only keys of the certificate
    whose signatures count (Guix authorizes the signing key itself)."""

    timeless = True  # reads the key, never the moment: AllOf answers it once per key

    def verify(self, use: KeyUse) -> PolicyResult:
        entry = use.entry
        if entry.allows_signing_key(use.candidate.key_fingerprint):
            return _pass(lambda: f"{use.owned} may sign for its certificate")
        allowed = ", ".join(entry.signing_keys or ())
        primary = entry.openpgp.fingerprint if entry.openpgp is not None else "?"
        return PolicyResult(Status.UNKNOWN_KEY, f"{use.owned} is a key of certificate {primary}, but the keyring "
                                                f"lets only {allowed} of it sign (signing_keys)")


@dataclass(frozen=True)
class NamespaceAllowed:
    """A key's ``namespaces`` say where it may sign; ``namespace`` is what the
    verifier checks (``git``: commits and tags; ``commitguard-approval``)."""

    timeless = True  # reads the key, never the moment: AllOf answers it once per key

    namespace: str

    def verify(self, use: KeyUse) -> PolicyResult:
        entry = use.entry
        if entry.allows_namespace(self.namespace):
            return _pass(lambda: f"{use.owned} may sign in namespace {self.namespace!r}")
        return PolicyResult(Status.UNKNOWN_KEY, f"{use.owned} is trusted only for namespaces "
                                                f"{', '.join(entry.namespaces or ())}, not {self.namespace!r}")


# -- the key itself ---------------------------------------------------------------


@dataclass(frozen=True)
class KeyringNotRevoked:
    """``revoked = true`` in keyring.toml retires a key whatever its certificate says."""

    timeless = True  # reads the key, never the moment: AllOf answers it once per key

    def verify(self, use: KeyUse) -> PolicyResult:
        if use.entry.revoked:
            return PolicyResult(Status.REVOKED_KEY, f"{use.owned} is marked revoked in the keyring")
        return _pass(lambda: f"{use.owned} is not marked revoked in the keyring")


@dataclass(frozen=True)
class CertificateBound:
    """An OpenPGP key with no binding the primary key made is not the holder's key."""

    timeless = True  # reads the key, never the moment: AllOf answers it once per key

    def verify(self, use: KeyUse) -> PolicyResult:
        if use.entry.openpgp is not None and use.facts is None:
            return PolicyResult(Status.BAD_SIGNATURE, f"{use.key_desc} has no usable binding in its certificate")
        return _pass(lambda: f"{use.key_desc} is bound in its certificate")


class _CertificateCheck(ABC):
    """A check on what an OpenPGP certificate's packets say about the key.

    A key without facts has nothing here to read: an SSH key, or an OpenPGP
    key with no usable binding, which :class:`CertificateBound` refuses where
    that matters (after a valid signature Sequoia has already vouched for the binding).
    """

    _passes = ""  # the reason when the certificate says nothing against the key

    def verify(self, use: KeyUse) -> PolicyResult:
        refusal = None if use.facts is None else self._refusal(use, use.facts)
        return refusal if refusal is not None else _pass(lambda: self._passes.format(use=use))

    @abstractmethod
    def _refusal(self, use: KeyUse, facts: KeyFacts) -> PolicyResult | None:
        """The refusal this check makes of ``facts``, or None."""


@dataclass(frozen=True)
class CertificateNotRevoked(_CertificateCheck):
    """A revocation in the certificate counts even unverified: it can only narrow trust."""

    timeless = True

    _passes = "{use.owned} is not revoked in its certificate"

    def _refusal(self, use: KeyUse, facts: KeyFacts) -> PolicyResult | None:
        return PolicyResult(Status.REVOKED_KEY, f"{use.owned} is revoked in its certificate") if facts.revoked else None


def key_weakness(use: KeyUse) -> str | None:
    """Why the key's algorithm is rejected (DSA, short RSA, ElGamal), wherever the keyring records it."""
    if use.entry.ssh is not None:
        return use.entry.ssh.weak
    return use.facts.weak_algorithm if use.facts is not None else None


@dataclass(frozen=True)
class StrongKey:
    """Weak keys stay listed so their signatures read as weak, not unknown; they never count."""

    timeless = True  # reads the key, never the moment: AllOf answers it once per key

    def verify(self, use: KeyUse) -> PolicyResult:
        weak = key_weakness(use)
        if weak:
            return PolicyResult(Status.WEAK_SIGNATURE, f"{use.owned}: {weak}")
        return _pass(lambda: f"{use.owned} uses an accepted algorithm")


def weak_bindings(binding_hashes: tuple[str, ...], accept_sha1: bool) -> bool:
    """True when self-signatures made with these weak hashes disqualify the key:
    any weak hash, unless they are all SHA-1 under ``openpgp_sha1 = "accept"``.
    ``keyring check`` asks the same question (:mod:`commitguard.keyring.keystate`)."""
    return bool(binding_hashes) and not (set(binding_hashes) == {"SHA-1"} and accept_sha1)


@dataclass(frozen=True)
class StrongBindings(_CertificateCheck):
    """A certificate bound by weak-hash self-signatures could have been rebound by anyone."""

    timeless = True

    accept_sha1: bool
    _passes = "the certificate of {use.who} is bound with accepted hashes"

    def _refusal(self, use: KeyUse, facts: KeyFacts) -> PolicyResult | None:
        if not weak_bindings(facts.binding_hashes, self.accept_sha1):
            return None
        return PolicyResult(Status.WEAK_SIGNATURE,
                            f"the certificate of {use.who} is bound with {', '.join(facts.binding_hashes)} self-signatures")


@dataclass(frozen=True)
class SigningCapable(_CertificateCheck):
    """Only a key the certificate marks for signing may sign (not a certify- or encrypt-only one)."""

    timeless = True

    _passes = "{use.owned} is marked for signing"

    def _refusal(self, use: KeyUse, facts: KeyFacts) -> PolicyResult | None:
        if facts.signing_capable:
            return None
        kind = "primary key" if facts.primary else "subkey"
        return PolicyResult(Status.BAD_SIGNATURE,
                            f"made by {kind} {use.candidate.key_fingerprint} of {use.who}, which is not marked for signing")


@dataclass(frozen=True)
class SignedAfterKeyCreation(_CertificateCheck):
    """A signature older than its key is backdated or forged."""

    _passes = "signature is not older than {use.owned}"

    def _refusal(self, use: KeyUse, facts: KeyFacts) -> PolicyResult | None:
        if facts.created is None or use.when >= facts.created:
            return None
        return PolicyResult(Status.BAD_SIGNATURE,
                            f"signature predates its key {use.candidate.key_fingerprint} (created {facts.created:%Y-%m-%d})")


# -- the validity window -------------------------------------------------------------

# How a window refusal reads: OpenPGP signatures are judged at the moment they
# claim, SSH ones at the committer time.
_OUTSIDE = {
    ("signature", "after"): "{key} signed at {when}, before its valid_after {limit}",
    ("signature", "before"): "{key} signed at {when}, after its valid_before {limit}",
    ("commit", "after"): "{key} is valid only after {limit}; committed {when}",
    ("commit", "before"): "{key} is valid only before {limit}; committed {when}",
}


def _outside(use: KeyUse, side: str, limit: datetime) -> PolicyResult:
    text = _OUTSIDE[(use.dated_by, side)]
    return PolicyResult(Status.EXPIRED_KEY, text.format(key=use.owned, when=f"{use.when:{_STAMP}}", limit=f"{limit:{_STAMP}}"))


@dataclass(frozen=True)
class ValidAfter:
    """``valid_after``: the key counts from this moment on (inclusive)."""

    def verify(self, use: KeyUse) -> PolicyResult:
        if use.entry.not_yet_valid(use.when):
            return _outside(use, "after", use.entry.valid_after)  # type: ignore[arg-type]
        return _pass(lambda: f"{use.owned} was already valid")


@dataclass(frozen=True)
class ValidBefore:
    """``valid_before``: the key counts until just before this moment (exclusive)."""

    def verify(self, use: KeyUse) -> PolicyResult:
        if use.entry.no_longer_valid(use.when):
            return _outside(use, "before", use.entry.valid_before)  # type: ignore[arg-type]
        return _pass(lambda: f"{use.owned} was still valid")


# -- composition and attribution -------------------------------------------------------


class AllOf:
    """Every check, in order of precedence; the first refusal is the answer.

    Unlike sigstore's ``AllOf``, which reports every failure, this one stops at
    the first: a verdict carries one status and one reason, and the order of
    the checks is the order in which reasons take precedence.
    """

    def __init__(self, *checks: KeyPolicy):
        if not checks:
            # An empty conjunction is vacuously true: a misuse that would trust every key.
            raise ValueError("AllOf needs at least one check: with none it would trust every key")
        self.checks: tuple[KeyPolicy, ...] = checks
        self._timeless = tuple(getattr(check, "timeless", False) is True for check in checks)
        # (candidate, facts) by identity -> (the use first asked about, each timeless check's answer)
        self._answers: dict[tuple[int, int], tuple[KeyUse, tuple]] = {}

    def verify(self, use: KeyUse) -> PolicyResult:
        known = self._timeless_answers(use) if any(self._timeless) else None
        for n, check in enumerate(self.checks):
            result = known[n] if known is not None and self._timeless[n] else check.verify(use)
            if not result.passed:
                return result
        return _pass(lambda: f"{use.owned} passes {len(self.checks)} check(s)")

    def _timeless_answers(self, use: KeyUse) -> tuple:
        """What the timeless checks answer for this key: a key signs thousands of
        commits, and these answers cost more than an Ed25519 verification's tenth."""
        slot = (id(use.candidate), id(use.facts))
        found = self._answers.get(slot)
        if found is not None and found[0].candidate is use.candidate and found[0].facts is use.facts:
            return found[1]  # the first use is kept, so neither id can be another object's
        answers = tuple(check.verify(use) if timeless else None for check, timeless in zip(self.checks, self._timeless))
        if len(self._answers) >= MAX_KEYS_REMEMBERED:
            self._answers.clear()
        self._answers[slot] = (use, answers)
        return answers


def attribute(use: KeyUse) -> PolicyResult:
    """Whose word an accepted signature is: a person's key gives TRUSTED; a ``[[forge]]``
    key gives FORGE, which ``verify`` then judges by ``policy.forge``. Called only
    after the key's checks passed."""
    if use.candidate.holder.kind == "forge":
        return PolicyResult(Status.FORGE, f"signed by forge {use.who} ({use.key_desc}){use.note}")
    return PolicyResult(Status.TRUSTED, f"signed by {use.who} ({use.key_desc}){use.note}")


def where_key_may_sign(namespace: str) -> AllOf:
    """Checked before any mathematics: a key scoped away from here is as good as unknown."""
    return AllOf(SigningKeyAllowed(), NamespaceAllowed(namespace))


def valid_key() -> AllOf:
    """The keyring's word on a key whose signature verified: revoked, weak, outside its window."""
    return AllOf(KeyringNotRevoked(), CertificateNotRevoked(), StrongKey(), ValidAfter(), ValidBefore())
